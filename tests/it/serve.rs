//! Services: a job's best strategy over HTTP. After `apply`, the provisioned replica's
//! position and signal equal `gaform backtest`'s on the same bars for 200 windows of the
//! job's data; every bad body is a 4xx JSON error and fuzzed bodies never break it; status,
//! plan and destroy see it. Before a first result it waits and says why. Under load from
//! `hey` while apply re-runs the job, every answer is a 200 from one version and versions
//! never go back.

use crate::support::{free_port, json_lines, ok, Workspace};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const STRATEGY_JOB: &str = "quickstart";

/// The local cloud and the compute every job of these tests runs on.
const HERE: &str = r#"cloud laptop {
  provider = local
}

compute here {
  cloud = laptop
  head {
    instance_type = "m5.large"
  }
  workers islands {
    instance_type = "c5.large"
    min           = 1
    max           = 1
  }
}
"#;

pub(super) fn stack(seed: u64, port: u16) -> String {
    format!(
        r#"{HERE}
job {STRATEGY_JOB} {{
  compute     = here
  data        = "GOOG_wiki.csv"
  strategy    = sma_crossover(fast = 2..50, slow = 10..200)
  population  = 60
  generations = 8
  seed        = {seed}
}}

service signal {{
  job   = {STRATEGY_JOB}
  route = "/strategy/v1"
  port  = {port}
}}
"#
    )
}

/// A service's endpoint: a `gaform serve` started by hand (killed when dropped), or the
/// replica `apply` provisioned (which stops by itself once the workspace and its records go).
pub(super) struct Server {
    child: Option<Child>,
    pub(super) url: String,
}

impl Server {
    /// `gaform serve job.gaf --service signal` by hand, on a free port; ready or not.
    pub(super) fn by_hand(w: &Workspace) -> Server {
        Server::by_hand_with(w, &[])
    }

    /// `by_hand` with more arguments.
    pub(super) fn by_hand_with(w: &Workspace, more: &[&str]) -> Server {
        let mut args = vec!["serve", "job.gaf", "--service", "signal", "--port", "0", "--poll", "50ms"];
        args.extend(more);
        let mut child = w
            .command(&args, &[])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("gaform serve starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let url =
            line.split_whitespace().find(|w| w.starts_with("http://")).expect("the address").to_string();
        Server { child: Some(child), url }
    }

    /// The replica `gaform apply` started for `service.signal` on `port`, once ready.
    fn applied(w: &Workspace, port: u16) -> Server {
        ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));
        let server = Server { child: None, url: format!("http://127.0.0.1:{port}/strategy/v1") };
        server.wait_ready();
        server
    }

    pub(super) fn wait_ready(&self) {
        let started = Instant::now();
        while self.get("/readyz").0 != 200 {
            assert!(started.elapsed() < Duration::from_secs(20), "the service never became ready");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(super) fn base(&self) -> &str {
        self.url.trim_end_matches("/strategy/v1")
    }

    pub(super) fn agent() -> ureq::Agent {
        ureq::Agent::config_builder().http_status_as_error(false).build().into()
    }

    pub(super) fn get(&self, path: &str) -> (u16, String) {
        match Self::agent().get(&format!("{}{path}", self.base())).call() {
            Ok(mut response) => {
                (response.status().as_u16(), response.body_mut().read_to_string().unwrap_or_default())
            }
            // Nothing listening (yet, or any more): no HTTP status at all.
            Err(e) => (0, e.to_string()),
        }
    }

    pub(super) fn post(&self, body: &[u8]) -> (u16, Value) {
        let mut response = Self::agent().post(&self.url).send(body).expect("an answer");
        let status = response.status().as_u16();
        let text = response.body_mut().with_config().limit(1 << 22).read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
    }

    /// A POST that sends `Expect: 100-continue` and its body only if the server asks for it,
    /// as curl does for large bodies: the one way a client can always read an early 413
    /// (one that writes the body anyway races the server's close and may see a broken pipe).
    fn post_expecting_continue(&self, body: &[u8]) -> (u16, Value) {
        let rest = self.url.trim_start_matches("http://");
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut stream = TcpStream::connect(host).expect("connects");
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).unwrap();
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
        let reply = String::from_utf8_lossy(&reply);
        assert!(!reply.starts_with("HTTP/1.1 100"), "the server asked for a body over its limit");
        let status =
            reply.get(9..12).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no status: {reply}"));
        let text = reply.split("\r\n\r\n").nth(1).unwrap_or_default();
        (status, serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {reply}")))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The data's rows as `(date, [o, h, l, c, v])`.
pub(super) fn rows(w: &Workspace) -> Vec<(String, [f64; 5])> {
    let text = w.read("GOOG_wiki.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (d, o, h, l, c, v) = (at("Date"), at("Open"), at("High"), at("Low"), at("Close"), at("Volume"));
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let n = |i: usize| f[i].parse::<f64>().unwrap();
            (f[d].to_string(), [n(o), n(h), n(l), n(c), n(v)])
        })
        .collect()
}

pub(super) fn body(window: &[(String, [f64; 5])]) -> Vec<u8> {
    let bars: Vec<Value> = window.iter().map(|(d, [o, h, l, c, v])| json!([d, o, h, l, c, v])).collect();
    serde_json::to_vec(&bars).unwrap()
}

/// `gaform backtest`'s position and signal after the last bar of `window`.
fn backtested(w: &Workspace, window: &[(String, [f64; 5])], strategy: &str) -> (String, String) {
    let mut csv = String::from("Date,Open,High,Low,Close,Volume\n");
    for (d, [o, h, l, c, v]) in window {
        csv.push_str(&format!("{d},{o},{h},{l},{c},{v}\n"));
    }
    std::fs::write(w.0.join("window.csv"), csv).unwrap();
    let out = w.gaform(&["backtest", "window.csv", "--strategy", strategy, "--format", "json"], &[]);
    let v: Value = serde_json::from_str(&ok(&out)).unwrap();
    (v["position"].as_str().unwrap().to_string(), v["signal"].as_str().unwrap().to_string())
}

#[test]
fn an_applied_service_answers_with_the_backtesters_signals_and_refuses_bad_bodies() {
    let port = free_port();
    let w = Workspace::new("serve", &stack(7, port));
    let server = Server::applied(&w, port);
    let (status, described) = server.get("/strategy/v1");
    assert_eq!(status, 200, "{described}");
    let described: Value = serde_json::from_str(&described).unwrap();
    let strategy = described["parameters"].as_str().unwrap().to_string();
    assert_eq!(described["version"], 1);

    // Windows ending where the whole data's backtest trades (so buys and sells are served)
    // and at random bars, of random lengths.
    let data = rows(&w);
    let full = ok(&w.gaform(
        &["backtest", "GOOG_wiki.csv", "--strategy", &strategy, "--trades", "--format", "json"],
        &[],
    ));
    let trades: Value = serde_json::from_str(&full).unwrap();
    let mut ends: Vec<usize> = trades["trades"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| {
            [t["entry_bar"].as_u64().unwrap() as usize - 1, t["exit_bar"].as_u64().unwrap() as usize - 1]
        })
        .take(60)
        .collect();
    let mut rng = StdRng::seed_from_u64(0x5e7e);
    while ends.len() < 200 {
        ends.push(rng.random_range(100..data.len()));
    }
    let needed =
        described["strategy"]["slow"].as_u64().unwrap().max(described["strategy"]["fast"].as_u64().unwrap())
            as usize
            + 1;
    let (mut buys, mut sells) = (0, 0);
    for end in ends {
        let length = rng.random_range(needed..400).min(end + 1);
        let window = &data[end + 1 - length..=end];
        let (status, served) = server.post(&body(window));
        assert_eq!(status, 200, "{served}");
        let expected = backtested(&w, window, &strategy);
        assert_eq!(
            (served["position"].as_str().unwrap(), served["signal"].as_str().unwrap()),
            (expected.0.as_str(), expected.1.as_str()),
            "window of {length} bars ending at bar {end}"
        );
        assert_eq!(served["time"], json!(window.last().unwrap().0));
        assert_eq!(served["version"], 1);
        buys += usize::from(expected.1 == "buy");
        sells += usize::from(expected.1 == "sell");
    }
    assert!(buys > 5 && sells > 5, "the windows include signals: {buys} buys, {sells} sells");

    // Each kind of bad body: a 4xx with a JSON error saying what is wrong.
    let good = body(&data[..60]);
    let text = String::from_utf8(good.clone()).unwrap();
    let mut unordered: Vec<Value> = serde_json::from_slice(&good).unwrap();
    unordered.swap(10, 11);
    let mut negative: Vec<Value> = serde_json::from_slice(&good).unwrap();
    negative[5][4] = json!(-1.0);
    let huge = format!("[{}]", vec!["[1,1,1,1,1,1]"; 200_000].join(","));
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        ("too few bars", body(&data[..needed - 1]), 422, "needs at least"),
        ("unordered times", serde_json::to_vec(&unordered).unwrap(), 422, "times must increase"),
        ("negative price", serde_json::to_vec(&negative).unwrap(), 422, "prices must be positive"),
        ("NaN", text.replacen("[\"", "[NaN,\"", 1).into_bytes(), 400, "not a JSON list of bars"),
        ("not JSON", b"bars please".to_vec(), 400, "not a JSON list of bars"),
        ("an object", b"{\"bars\": []}".to_vec(), 400, "not a JSON list of bars"),
    ];
    for (case, bytes, status, says) in cases {
        let (got, error) = server.post(&bytes);
        assert_eq!(got, status, "{case}: {error}");
        assert!(error["error"].as_str().unwrap().contains(says), "{case}: {error}");
    }
    let (got, error) = server.post_expecting_continue(huge.as_bytes());
    assert_eq!(got, 413, "over the size limit: {error}");
    assert!(error["error"].as_str().unwrap().contains("bytes"), "over the size limit: {error}");

    // Fuzzed bodies: never a crash, never a 5xx.
    for _ in 0..300 {
        let fuzzed = crate::fuzz::mutate(&mut rng, &text);
        let (status, answer) = server.post(fuzzed.as_bytes());
        assert!(matches!(status, 200 | 400 | 422), "{status}: {answer} for {fuzzed}");
    }
    assert_eq!(server.get("/healthz").0, 200);
    let (_, metrics) = server.get("/metrics");
    for series in [
        "gaform_serve_requests_total{method=\"POST\",code=\"200\"}",
        "gaform_serve_requests_total{method=\"POST\",code=\"422\"}",
        "gaform_serve_request_duration_seconds_bucket",
        "gaform_serve_in_flight",
        "gaform_serve_version 1",
    ] {
        assert!(metrics.contains(series), "{series} missing from:\n{metrics}");
    }

    // The stack as a user sees it: status asks the replica, the next plan has nothing to do,
    // destroy stops it.
    let status = ok(&w.gaform(&["status", "job.gaf"], &[]));
    let line = status.lines().find(|l| l.contains("service.signal ")).unwrap_or_else(|| panic!("{status}"));
    assert!(
        line.contains(&format!(
            "1/1 ready · version 1 (run {}) {strategy}",
            described["run"].as_str().unwrap()
        )),
        "{line}"
    );
    let json: Value = serde_json::from_str(&ok(&w.gaform(&["status", "job.gaf", "--json"], &[]))).unwrap();
    assert_eq!(json["services"][0]["replicas"][0]["health"], "ready", "{json}");
    let plan = w.gaform(&["plan", "job.gaf", "--detailed-exitcode"], &[]);
    assert_eq!(plan.status.code(), Some(0), "{}", String::from_utf8_lossy(&plan.stdout));
    let destroyed = ok(&w.gaform(&["destroy", "job.gaf", "--auto-approve"], &[]));
    assert!(destroyed.contains("service.signal: Destruction complete"), "{destroyed}");
    assert_eq!(server.get("/healthz").0, 0, "nothing answers after destroy");
}

#[test]
fn a_service_waits_for_its_jobs_first_result_and_says_so() {
    let w = Workspace::new("serve-wait", &stack(7, 8080));
    let server = Server::by_hand(&w);
    let (status, said) = server.get("/readyz");
    assert_eq!(status, 503, "{said}");
    assert!(said.contains("best.json does not exist yet: the job has not finished a run"), "{said}");
    let (status, said) = server.get("/strategy/v1");
    assert_eq!(status, 503, "{said}");
    let (status, refused) = server.post(&body(&rows(&w)[..300]));
    assert_eq!(status, 503, "{refused}");
    ok(&w.gaform(&["run", "job.gaf"], &[]));
    server.wait_ready();
    assert_eq!(server.post(&body(&rows(&w)[..300])).0, 200);
}

#[test]
fn a_new_best_swaps_in_under_load_without_a_failed_or_mixed_answer() {
    let hey = crate::provision::debian_package("hey").unwrap_or_else(|e| panic!("{e}")).join("usr/bin/hey");
    let port = free_port();
    let w = Workspace::new("serve-swap", &stack(7, port));
    let server = Server::applied(&w, port);
    let data = rows(&w);
    let window = body(&data[1000..1300]);
    std::fs::write(w.0.join("window.json"), &window).unwrap();
    let load = Command::new(&hey)
        .args(["-z", "20s", "-c", "32", "-m", "POST", "-T", "application/json", "-D"])
        .arg(w.0.join("window.json"))
        .arg(&server.url)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hey starts");
    // A client of its own alongside: each answer names one version, never an older one.
    let watcher = {
        let (url, window) = (server.url.clone(), window.clone());
        std::thread::spawn(move || {
            let agent = Server::agent();
            let mut seen = vec![];
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(19) {
                let mut response = agent.post(&url).send(&window[..]).expect("an answer");
                assert_eq!(response.status().as_u16(), 200);
                let answer: Value =
                    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
                let version = answer["version"].as_u64().expect("every answer names its version");
                assert!(
                    seen.last().is_none_or(|&last| version >= last),
                    "version went back: {seen:?} then {version}"
                );
                seen.push(version);
            }
            seen
        })
    };
    // The job re-run twice by apply with other seeds: two new bests, the replica kept.
    for seed in [8, 9] {
        std::thread::sleep(Duration::from_secs(5));
        std::fs::write(w.0.join("job.gaf"), stack(seed, port)).unwrap();
        let applied = ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));
        assert!(!applied.contains("service.signal"), "the service is not touched:\n{applied}");
    }
    let seen = watcher.join().expect("the watching client");
    let out = load.wait_with_output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}\n{}", String::from_utf8_lossy(&out.stderr));
    let codes = report.split("Status code distribution:").nth(1).unwrap_or("");
    let codes: Vec<&str> = codes.lines().map(str::trim).filter(|l| l.starts_with('[')).collect();
    assert!(codes.len() == 1 && codes[0].starts_with("[200]"), "only 200s under load:\n{report}");
    assert!(!report.contains("Error distribution"), "no failed requests:\n{report}");
    assert_eq!(seen.first(), Some(&1));
    assert_eq!(
        seen.last(),
        Some(&3),
        "both new bests were swapped in: {:?}",
        seen.iter().collect::<std::collections::BTreeSet<_>>()
    );
    eprintln!(
        "serve under load: {}",
        report
            .lines()
            .filter(|l| l.contains("Requests/sec") || l.contains("99%"))
            .collect::<Vec<_>>()
            .join(" | ")
    );
}

/// A stack whose job evolves a long/short strategy written in the file, and its service.
pub(super) fn written_stack(port: u16) -> String {
    let job = stack(3, port);
    let job =
        job.replace("strategy    = sma_crossover(fast = 2..50, slow = 10..200)", "strategy    = both_ways");
    format!(
        "{job}\nstrategy both_ways {{\n  genes {{\n    fast = 5..20\n    slow = 21..60\n    width = 1.0..4.0\n  }}\n  side = both\n  entry = crosses_above(ema(close, fast), ema(close, slow))\n  exit = crosses_below(ema(close, fast), ema(close, slow))\n  entry_short = crosses_below(ema(close, fast), ema(close, slow))\n  exit_short = crosses_above(ema(close, fast), ema(close, slow))\n  trailing_stop = width * atr(14)\n  size = 50%\n}}\n"
    )
}

#[test]
fn a_written_strategy_is_served_with_the_backtesters_position_and_signal_shorts_included() {
    let w = Workspace::new("serve-written", &written_stack(free_port()));
    ok(&w.gaform(&["run", "job.gaf"], &[]));
    let server = Server::by_hand(&w);
    server.wait_ready();
    let (status, described) = server.get("/strategy/v1");
    assert_eq!(status, 200, "{described}");
    let described: Value = serde_json::from_str(&described).unwrap();
    assert_eq!(described["strategy"]["strategy"], "both_ways", "{described}");
    let call = described["parameters"].as_str().unwrap().to_string();
    let rows = rows(&w);
    let mut rng = StdRng::seed_from_u64(25);
    let mut positions = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let len = rng.random_range(80..600);
        let from = rng.random_range(0..rows.len() - len);
        let window = &rows[from..from + len];
        let (status, answer) = server.post(&body(window));
        assert_eq!(status, 200, "{answer}");
        let mut csv = String::from("Date,Open,High,Low,Close,Volume\n");
        for (d, [o, h, l, c, v]) in window {
            csv.push_str(&format!("{d},{o},{h},{l},{c},{v}\n"));
        }
        std::fs::write(w.0.join("window.csv"), csv).unwrap();
        let out = w.gaform(
            &["backtest", "window.csv", "--file", "job.gaf", "--strategy", &call, "--format", "json"],
            &[],
        );
        let expected: Value = serde_json::from_str(&ok(&out)).unwrap();
        assert_eq!(
            (&answer["position"], &answer["signal"]),
            (&expected["position"], &expected["signal"]),
            "{call} on rows {from}..{}",
            from + len
        );
        positions.insert(answer["position"].as_str().unwrap_or_default().to_string());
    }
    assert!(positions.contains("short"), "some windows end short: {positions:?}");
    // Too few bars for the indicators' warm-up: a 422 that says so, not a silent `hold`.
    let (status, refused) = server.post(&body(&rows[..5]));
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"].as_str().unwrap_or_default().contains("too few"), "{refused}");
}

/// Which replica answered a fresh connection's GET of `path` (its `x-gaform-replica`), with
/// the status; why not when nothing answered.
fn replica_of(server: &Server, path: &str) -> Result<(u16, String), String> {
    let response =
        Server::agent().get(&format!("{}{path}", server.base())).call().map_err(|e| e.to_string())?;
    let replica = response.headers().get("x-gaform-replica").ok_or("no replica header")?;
    Ok((response.status().as_u16(), replica.to_str().map_err(|e| e.to_string())?.to_string()))
}

#[test]
fn replicas_share_one_port_and_a_dead_one_is_started_again_while_the_others_answer() {
    let port = free_port();
    let text = stack(3, port).replace("  port  = ", "  replicas = 3\n  port  = ");
    let w = Workspace::new("serve-replicas", &text);
    let server = Server::applied(&w, port);
    // The kernel deals each new connection to one of the replicas listening on the port.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..90 {
        let (status, replica) = replica_of(&server, "/readyz").unwrap_or_else(|e| panic!("no answer: {e}"));
        assert_eq!(status, 200);
        seen.insert(replica);
    }
    assert!(seen.len() >= 2, "connections reached one replica only: {seen:?}");
    assert!(seen.iter().all(|r| ["0", "1", "2"].contains(&r.as_str())), "{seen:?}");
    let plan = ok(&w.gaform(&["plan", "job.gaf"], &[]));
    assert!(plan.contains("No changes"), "three replicas are what the file asks for: {plan}");
    // `status` asks each replica itself, behind the shared port.
    let status = ok(&w.gaform(&["status", "job.gaf"], &[]));
    assert!(status.contains("service.signal") && status.contains("3/3 ready"), "{status}");

    // Replica [1] dies; once it is gone the others answer every request, and the keeper (the
    // live replica of the lowest slot) starts it again within seconds, ready as it listens.
    // (A connection the kernel dealt to the dying one in its last moment dies with it.)
    let record = |slot: u64| -> serde_json::Value {
        serde_json::from_str(&w.read(&format!(".gaform/job/instances/service.signal[{slot}].json"))).unwrap()
    };
    let killed = record(1)["process"]["pid"].as_u64().unwrap();
    let pid = nix::unistd::Pid::from_raw(killed as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL).unwrap();
    let started = Instant::now();
    // Gone, or a zombie waiting for whoever adopted it to reap it. The leader of a threaded
    // process turns zombie while its other threads are still exiting and the listening socket
    // they share is still open (a connection dealt to it then is reset), so every thread must
    // be gone: a zombie leader alone in its task list has closed its files.
    let alive = || {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{killed}/task")) else { return false };
        let tasks: Vec<_> = tasks.flatten().map(|t| t.path()).collect();
        tasks.len() != 1
            || !std::fs::read_to_string(tasks[0].join("stat")).is_ok_and(|s| crate::apply::zombie(&s))
    };
    while alive() {
        assert!(started.elapsed() < Duration::from_secs(5), "pid {killed} outlived SIGKILL");
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut answered = 0;
    let restarted = loop {
        let (status, replica) = replica_of(&server, "/readyz")
            .unwrap_or_else(|e| panic!("the other replicas answer: {e} (after {answered} answers)"));
        assert_eq!(status, 200, "answered by replica {replica}");
        answered += 1;
        let now = record(1)["process"]["pid"].as_u64();
        if now.is_some_and(|p| p != killed) && w.read(".gaform/job/events.log").contains("in its place") {
            break now.unwrap();
        }
        assert!(started.elapsed() < Duration::from_secs(15), "replica [1] was not started again");
        std::thread::sleep(Duration::from_millis(20));
    };
    let events = w.read(".gaform/job/events.log");
    let said =
        format!("service.signal[1]: pid {killed} is gone; replica [0] started pid {restarted} in its place");
    assert!(events.contains(&said), "{events}");
    // An event of the stack's log, with its reason, as every replacement is.
    let logged = json_lines(&ok(&w.gaform(&["events", "--json", "job.gaf"], &[])));
    let replaced = logged.iter().find(|e| e["event"] == "replaced").unwrap_or_else(|| panic!("{logged:?}"));
    assert_eq!(replaced["group"], "service.signal");
    assert!(replaced["reason"].as_str().unwrap().contains(&said), "{replaced}");
    assert!(answered > 10, "requests kept being answered while it was down ({answered})");
    // The new replica answers too, and destroy stops every one of them.
    let answered_by_1 = (0..200).any(|_| replica_of(&server, "/readyz").is_ok_and(|(_, r)| r == "1"));
    assert!(answered_by_1, "the replica started again answers on the shared port");
    ok(&w.gaform(&["destroy", "job.gaf", "--auto-approve"], &[]));
    assert_eq!(server.get("/readyz").0, 0, "nothing listens after destroy");
}

/// Three finished jobs and a service of two replicas answering for `served`.
fn rolling_stack(port: u16, served: &str) -> String {
    let jobs: String = [("alpha", "sma_crossover(fast = 2..50, slow = 10..200)"), ("beta", "breakout"), ("gamma", "rsi_reversion")]
        .iter()
        .map(|(name, strategy)| {
            format!(
                "job {name} {{\n  compute     = here\n  data        = \"GOOG_wiki.csv\"\n  strategy    = {strategy}\n  population  = 30\n  generations = 4\n  seed        = 5\n}}\n\n"
            )
        })
        .collect();
    format!(
        r#"{HERE}
{jobs}service signal {{
  job      = {served}
  route    = "/strategy/v1"
  port     = {port}
  replicas = 2
}}
"#
    )
}

#[test]
fn a_changed_service_rolls_one_replica_at_a_time_and_every_request_is_answered() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let port = free_port();
    let w = Workspace::new("serve-roll", &rolling_stack(port, "alpha"));
    let server = Server::applied(&w, port);
    let job_of = |text: &str| {
        serde_json::from_str::<Value>(text).ok().and_then(|v| v["job"].as_str().map(str::to_string))
    };
    assert_eq!(job_of(&server.get("/strategy/v1").1).as_deref(), Some("alpha"));

    // Requests all along the roll, each on a fresh connection. A connection the kernel dealt
    // an old replica in the instant it drains is cut without an answer (queued as it closed
    // its listener: reset, unless `net.ipv4.tcp_migrate_req` hands it over; accepted as its
    // graceful shutdown began: closed unread): the client retries it once, as clients of a
    // rolling restart do, and the retries are counted.
    let (stop, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())));
    let retried = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let load = {
        let (stop, seen, retried, base) =
            (stop.clone(), seen.clone(), retried.clone(), server.base().to_string());
        std::thread::spawn(move || {
            let ask = || match Server::agent().get(&format!("{base}/strategy/v1")).call() {
                Ok(mut r) => (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default()),
                Err(e) => (0, e.to_string()),
            };
            while !stop.load(Ordering::Relaxed) {
                let mut answer = ask();
                if answer.0 == 0 {
                    retried.fetch_add(1, Ordering::Relaxed);
                    answer = ask();
                }
                seen.lock().unwrap().push(answer);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(w.path("job.gaf"), rolling_stack(port, "beta")).unwrap();
    let rolled = ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    load.join().unwrap();
    assert!(rolled.contains("rolled [0]") && rolled.contains("rolled [1]"), "{rolled}");
    let plan = ok(&w.gaform(&["plan", "job.gaf"], &[]));
    assert!(plan.contains("No changes"), "the roll left what the file asks for: {plan}");
    let seen = seen.lock().unwrap();
    assert!(seen.len() > 50, "only {} requests ran during the roll", seen.len());
    let retried = retried.load(Ordering::Relaxed);
    assert!(retried * 50 <= seen.len(), "{retried} of {} connections were reset", seen.len());
    let failed: Vec<&(u16, String)> = seen.iter().filter(|(status, _)| *status != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} requests failed during the roll: {:?}",
        failed.len(),
        seen.len(),
        &failed[..failed.len().min(3)]
    );
    let jobs: Vec<String> = seen.iter().filter_map(|(_, body)| job_of(body)).collect();
    assert_eq!(jobs.first().map(String::as_str), Some("alpha"), "{} answers", jobs.len());
    assert!(
        jobs.iter().rev().take(10).all(|j| j == "beta"),
        "the last answers are the new job's: {:?}",
        &jobs[jobs.len().saturating_sub(10)..]
    );
    let switched = jobs.iter().position(|j| j == "beta").unwrap();
    assert!(
        jobs[switched..].iter().filter(|j| *j == "alpha").count() < jobs.len() / 2,
        "no going back for long"
    );

    // A replica that cannot get ready stops the roll: gamma's best.json is not one.
    std::fs::write(w.path("results/gamma/best.json"), "{\"not\": \"a best.json\"}\n").unwrap();
    std::fs::write(w.path("job.gaf"), rolling_stack(port, "gamma")).unwrap();
    let refused = w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]);
    let said =
        format!("{}{}", String::from_utf8_lossy(&refused.stdout), String::from_utf8_lossy(&refused.stderr));
    assert!(!refused.status.success(), "{said}");
    assert!(
        said.contains("had no strategy to answer with") && said.contains("the old replicas keep serving"),
        "{said}"
    );
    for _ in 0..40 {
        let (status, body) = server.get("/strategy/v1");
        assert_eq!((status, job_of(&body).as_deref()), (200, Some("beta")), "{body}");
    }
    let status = ok(&w.gaform(&["status", "job.gaf"], &[]));
    assert!(status.contains("2/2 ready"), "{status}");
    let plan = ok(&w.gaform(&["plan", "job.gaf"], &[]));
    assert!(plan.contains("service.signal must be replaced"), "the file still asks for the roll: {plan}");
    ok(&w.gaform(&["destroy", "job.gaf", "--auto-approve"], &[]));
}
