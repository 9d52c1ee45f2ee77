//! Monitors on the local cloud, end to end: a real Prometheus (Debian's package, installed
//! under target/ on first use) scrapes a head running a job and finds every metric the
//! monitor names, agreeing with `generations.csv`; a `stop` alert stops the compute within
//! two ticks; an alert that fires and resolves notifies a loopback webhook exactly twice.

use crate::apply::{code, processes_of, text};
use crate::support::{free_port, json_lines, ok, Workspace};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A job long enough to be scraped a few times (tens of seconds on two busy cores).
fn stack(port: u16, generations: u64, monitor: &str) -> String {
    let budget = if monitor.contains("budget daily") { "  budget = daily\n" } else { "" };
    format!(
        r#"cloud laptop {{
  provider = local
}}
compute here {{
  cloud = laptop
{budget}  head {{
    instance_type = "m5.large"
    metrics_port  = {port}
  }}
  workers islands {{
    instance_type = "c5.large"
    min           = 2
    max           = 2
  }}
}}
job long {{
  compute     = here
  data        = "GOOG_wiki.csv"
  strategy    = rsi_reversion(period = 2..100, lower = 5..45, upper = 55..95)
  population  = 300
  generations = {generations}
  seed        = 11
}}
{monitor}
"#
    )
}

/// `target/prometheus`: Debian's package unpacked (no root, nothing installed system-wide).
fn prometheus_binaries() -> PathBuf {
    crate::provision::debian_package("prometheus").unwrap_or_else(|e| panic!("{e}")).join("usr/bin")
}

/// A Prometheus server on loopback, killed when dropped.
struct Prometheus {
    child: Child,
    port: u16,
}

impl Prometheus {
    fn start(dir: &Path, target: u16) -> Prometheus {
        let bin = prometheus_binaries();
        let port = free_port();
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n  - job_name: gaform\n    static_configs:\n      - targets: ['127.0.0.1:{target}']\n"
        );
        std::fs::write(dir.join("prometheus.yml"), config).unwrap();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new(bin.join("prometheus"))
            .arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts");
        Prometheus { child, port }
    }

    /// The result of an instant PromQL query (`data.result`), `None` while the server is not up.
    fn query(&self, promql: &str) -> Option<Vec<serde_json::Value>> {
        let url = format!("http://127.0.0.1:{}/api/v1/query", self.port);
        let mut response = ureq::get(&url).query("query", promql).call().ok()?;
        let body: serde_json::Value =
            serde_json::from_str(&response.body_mut().read_to_string().ok()?).ok()?;
        body["data"]["result"].as_array().cloned()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn value(sample: &serde_json::Value) -> f64 {
    sample["value"][1].as_str().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

const ALL_METRICS: &str = r#"budget daily {
  amount = $100
  period = day
}
monitor evolution {
  job     = long
  metrics = [generation, best_fitness, mean_fitness, eval_time_per_strategy, cluster_utilization, cost]
  alert {
    when   = best_fitness < -1000
    for    = 2m
    action = notify
  }
}"#;

#[test]
fn prometheus_scrapes_a_head_and_its_values_agree_with_generations_csv() {
    let port = free_port();
    // Long enough for Prometheus to start and scrape the head for a while: a converged
    // population costs well under a millisecond a generation (its genomes are remembered),
    // and 8,000 generations could end in 3 s, before the first scrape.
    let w = Workspace::new("monitor-prometheus", &stack(port, 40_000, ALL_METRICS));
    let mut apply = w.command(&["apply", "job.gaf", "--auto-approve"], &[("GAFORM_TICK", "1s")]);
    let apply = apply.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // The head serves once it runs; Prometheus starts scraping when it starts.
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < Duration::from_secs(60), "the head never served on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let prometheus = Prometheus::start(&w.0, port);

    // `up` within three scrapes: of the first three samples of `up`, one is 1.
    let mut ups = Vec::new();
    let started = Instant::now();
    while ups.len() < 3 {
        assert!(started.elapsed() < Duration::from_secs(60), "Prometheus never scraped: {ups:?}");
        std::thread::sleep(Duration::from_millis(300));
        let got = prometheus.query(r#"up{job="gaform"}[1m]"#).unwrap_or_default();
        ups = got
            .first()
            .and_then(|s| s["values"].as_array())
            .map(|v| v.iter().map(|p| p[1].as_str().unwrap_or("").to_string()).collect())
            .unwrap_or_default();
    }
    assert!(ups[..3].iter().any(|u| u == "1"), "not up within three scrapes: {ups:?}");

    // Every metric the monitor names has a sample (the histogram's as its count).
    for name in [
        "gaform_generation",
        "gaform_best_fitness",
        "gaform_mean_fitness",
        "gaform_eval_time_per_strategy_seconds_count",
        "gaform_cluster_utilization_ratio",
        "gaform_job_cost_dollars",
    ] {
        let started = Instant::now();
        loop {
            let got = prometheus.query(&format!(r#"{name}{{gaform_job="long"}}"#)).unwrap_or_default();
            if !got.is_empty() {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "no sample of {name}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    // One scrape's generation and best fitness: one instant query evaluates both at one time.
    let both = prometheus
        .query(r#"{__name__=~"gaform_generation|gaform_best_fitness",gaform_job="long"}"#)
        .unwrap_or_default();
    let of = |name: &str| both.iter().find(|s| s["metric"]["__name__"] == name).map(value);
    let (generation, best) = (of("gaform_generation").unwrap() as u64, of("gaform_best_fitness").unwrap());
    // Every panel of the exported dashboards has data from this Prometheus, and the
    // exported rules load into it.
    let exported = w.0.join("monitoring");
    ok(&w.gaform(&["export", "monitor", "job.gaf", "--out", "monitoring"], &[]));
    let promtool = prometheus_binaries().join("promtool");
    let checked =
        Command::new(&promtool).args(["check", "config", "prometheus.yml"]).current_dir(&exported).output();
    let checked = checked.unwrap();
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stdout));
    for board in ["genetic-evolution", "cost-tracking", "performance-analysis"] {
        let json: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(exported.join(format!("dashboards/{board}.json"))).unwrap(),
        )
        .unwrap();
        for panel in json["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                let expr = target["expr"].as_str().unwrap().replace("$gaform_job", "long");
                let started = Instant::now();
                while prometheus.query(&expr).unwrap_or_default().is_empty() {
                    assert!(
                        started.elapsed() < Duration::from_secs(20),
                        "{board}: {} has no data: {expr}",
                        panel["title"]
                    );
                    std::thread::sleep(Duration::from_millis(500));
                }
            }
        }
    }
    drop(prometheus);

    let out = apply.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let row = w
        .read("results/long/generations.csv")
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect::<Vec<_>>())
        .find(|cells| cells[0] == generation.to_string())
        .expect("the scraped generation is in generations.csv");
    assert_eq!(row[1].parse::<f64>().unwrap(), best, "generation {generation}: csv {row:?}, scraped {best}");

    // The same series, without Prometheus: one row per tick.
    let csv = w.read("results/long/metrics.csv");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("time,generation,best_fitness,mean_fitness,backtests_total,eval_time_per_strategy_seconds,cluster_utilization,cost_dollars,cost_per_hour_dollars,instances")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert!(rows.len() >= 3, "{csv}");
    let generations = w.read("results/long/generations.csv");
    for row in rows.iter().filter(|r| !r[1].is_empty()) {
        let line = generations.lines().find(|l| l.split(',').next() == Some(row[1])).unwrap();
        assert_eq!(line.split(',').nth(1), Some(row[2]), "{row:?} against {line}");
    }
}

#[test]
fn a_stop_alert_stops_the_compute_within_two_ticks_of_its_generation() {
    let monitor = r#"monitor guard {
  job = long
  alert {
    when   = generation > 3
    action = stop
  }
}"#;
    let w = Workspace::new("monitor-stop", &stack(free_port(), 20_000, monitor));
    let stopped = w.gaform(&["apply", "job.gaf", "--auto-approve"], &[("GAFORM_TICK", "1s")]);
    assert_eq!(code(&stopped), 1, "{}", text(&stopped));
    let said = text(&stopped);
    assert!(said.contains("long: stopped: monitor guard: alert 0 (generation > 3) fired at"), "{said}");
    assert!(processes_of(&w.0.join(".gaform")).is_empty(), "no process of the stack is left");

    let events = json_lines(&ok(&w.gaform(&["events", "--json", "job.gaf"], &[])));
    let fired = events.iter().find(|e| e["event"] == "monitor_alert" && e["state"] == "firing").unwrap();
    assert!(fired["value"].as_f64().unwrap() > 3.0, "{fired}");
    let stop = events.iter().find(|e| e["event"] == "compute_stopped").unwrap();
    // Every island reached generation 4 this long after the workers started their islands
    // (their reports say when; timings.csv how long each generation took).
    let report: serde_json::Value =
        serde_json::from_str(&w.read(".gaform/job/jobs/long/store/reports/slot-0.json")).unwrap();
    let began = report["started"].as_f64().unwrap();
    let timings = w.read("results/long/timings.csv");
    let mut took = std::collections::BTreeMap::<String, f64>::new();
    for row in timings.lines().skip(1).map(|l| l.split(',').collect::<Vec<_>>()) {
        if row[1].parse::<u64>().unwrap() <= 4 {
            *took.entry(row[0].to_string()).or_default() += row[3].parse::<f64>().unwrap();
        }
    }
    let reached = began + took.values().copied().fold(0.0, f64::max);
    let (fired_at, stopped_at) = (fired["time"].as_f64().unwrap(), stop["time"].as_f64().unwrap());
    assert!(fired_at - reached <= 2.0, "fired {:.2}s after generation 4", fired_at - reached);
    assert!(stopped_at - fired_at <= 1.0, "stopped {:.2}s after firing", stopped_at - fired_at);
    let log = ok(&w.gaform(&["logs", "long", "job.gaf"], &[]));
    assert!(log.contains("the results so far are in"), "{log}");
    let best: serde_json::Value = serde_json::from_str(&w.read("results/long/best.json")).unwrap();
    assert!(best["status"].as_str().unwrap().starts_with("stopped: monitor guard"), "{best}");
    // (A stop before any epoch checkpoint is tested in the runtime,
    // ga::tests::a_stop_before_the_first_checkpoint_keeps_every_generation_done: a population
    // large enough to be stopped before one here slowed the tests running beside it.)
    // Every generation done is in generations.csv (the alert fired past generation 3), and
    // the best genome is the best of them.
    let generations = w.read("results/long/generations.csv");
    let bests: Vec<f64> =
        generations.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().parse().unwrap()).collect();
    assert!(bests.len() >= 5, "{generations}");
    let top = bests.iter().copied().fold(f64::MIN, f64::max);
    assert_eq!(best["fitness"].as_f64(), Some(top), "{best}");
    // `status` shows the monitor's last values and its alert's state.
    let status: serde_json::Value =
        serde_json::from_str(&ok(&w.gaform(&["status", "--json", "job.gaf"], &[]))).unwrap();
    let monitor = &status["monitors"][0];
    assert_eq!(
        (monitor["monitor"].as_str(), monitor["alerts"][0]["state"].as_str()),
        (Some("guard"), Some("firing"))
    );
    assert!(monitor["values"]["generation"].as_f64().unwrap() > 3.0, "{monitor}");
    let human = ok(&w.gaform(&["status", "job.gaf"], &[]));
    assert!(human.contains("alert 0 (generation > 3)") && human.contains("firing since"), "{human}");
    // The report of a stopped job says why it stopped and lists the alert.
    let report = w.read("results/long/report.html");
    assert!(
        report.contains("stopped: monitor guard") && report.contains("<h2>Alerts</h2>\n<table>"),
        "{report}"
    );
}

#[test]
fn an_alert_that_fires_and_resolves_notifies_exactly_twice() {
    let receiver = crate::budgets::Receiver::start(200);
    let monitor = format!(
        r#"monitor early {{
  job = long
  notify {{
    webhook = "http://127.0.0.1:{}/alerts"
  }}
  alert "early-generations" {{
    when   = generation < 1500
    action = notify
  }}
}}"#,
        receiver.port
    );
    let w = Workspace::new("monitor-webhook", &stack(free_port(), 6_000, &monitor));
    ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[("GAFORM_TICK", "1s")]));
    let events = json_lines(&ok(&w.gaform(&["events", "--json", "job.gaf"], &[])));
    let states: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "monitor_alert")
        .map(|e| e["state"].as_str().unwrap())
        .collect();
    assert_eq!(states, ["firing", "resolved"]);
    // A named alert is called by its name, in the event log and in the notification.
    let fired = events.iter().find(|e| e["event"] == "monitor_alert").unwrap();
    assert_eq!(fired["name"], "early-generations");
    let reason = fired["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("monitor early: alert \"early-generations\" (generation < 1500) fired"),
        "{reason}"
    );
    let sent = events.iter().filter(|e| e["event"] == "notification_sent" && e["monitor"] == "early").count();
    assert_eq!(sent, 2, "{events:?}");
    let bodies: Vec<serde_json::Value> =
        receiver.requests.lock().unwrap().iter().map(|(_, b)| serde_json::from_str(b).unwrap()).collect();
    let statuses: Vec<&str> = bodies.iter().map(|b| b["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["firing", "resolved"]);
    assert_eq!(bodies[0]["commonLabels"]["alertname"], "GaformMonitor");
    assert_eq!(bodies[0]["commonLabels"]["alert"], "early-generations");
    assert_eq!(bodies[0]["alerts"][0]["fingerprint"], bodies[1]["alerts"][0]["fingerprint"]);
}

#[test]
fn exported_rules_pass_promtool_and_fire_after_exactly_their_for() {
    let monitor = r#"monitor quality {
  job = long
  alert "fitness floor" {
    when   = best_fitness < 0.1
    for    = 2m
    action = notify
  }
}"#;
    let w = Workspace::new("monitor-export", &stack(free_port(), 10, monitor));
    let said = ok(&w.gaform(&["export", "monitor", "job.gaf", "--out", "out"], &[]));
    assert!(said.contains("1 monitor(s), 1 alert rule(s)"), "{said}");
    let promtool = prometheus_binaries().join("promtool");
    let run = |args: &[&str]| {
        let out = Command::new(&promtool).args(args).current_dir(w.0.join("out")).output().unwrap();
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    let (passed, said) = run(&["check", "rules", "rules.yml"]);
    assert!(passed && said.contains("SUCCESS: 1 rules found"), "{said}");
    // Fitness 0.05 from the start: pending at 1m, firing at exactly 2m (its `for`).
    let labels = r#"alertname: GaformMonitor
              gaform_job: long
              stack: job
              monitor: quality
              alert: fitness floor
              action: notify
              severity: warning"#;
    let tests = format!(
        r#"rule_files: [rules.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'gaform_best_fitness{{gaform_job="long"}}'
        values: '0.05x10'
    alert_rule_test:
      - eval_time: 1m
        alertname: GaformMonitor
        exp_alerts: []
      - eval_time: 2m
        alertname: GaformMonitor
        exp_alerts:
          - exp_labels:
              {labels}
            exp_annotations:
              summary: 'monitor quality: alert "fitness floor" (best_fitness < 0.1): notify'
"#
    );
    std::fs::write(w.0.join("out/rules_test.yml"), tests).unwrap();
    let (passed, said) = run(&["test", "rules", "rules_test.yml"]);
    assert!(passed && said.contains("SUCCESS"), "{said}");
}

#[test]
fn a_scale_down_alert_sheds_one_worker_per_cooldown_to_min_and_the_result_is_the_same_bytes() {
    let monitor = r#"monitor busy {
  job = long
  alert {
    when   = cluster_utilization < 90%
    action = scale_down
  }
}"#;
    // Long enough that the second shed, a cooldown (five ticks of half a second) after the
    // first, comes before the end: a converged population costs about a millisecond a
    // generation (its genomes are remembered), so 4,000 generations ended within 5 s of the
    // first shed with one-second ticks.
    let gaf = stack(free_port(), 8_000, monitor)
        .replace("min           = 2\n    max           = 2", "min           = 1\n    max           = 3");
    let w = Workspace::new("monitor-scale-down", &gaf);
    let never_shed = w.gaform_in_background(&["run", "job.gaf", "--out", "never-shed"]);
    let out = ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[("GAFORM_TICK", "500ms")]));
    assert!(out.contains("long: best rsi_reversion("), "the job went on to its end: {out}");
    let events = json_lines(&ok(&w.gaform(&["events", "--json", "job.gaf"], &[])));
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    // Fired once; one worker at once, one more a cooldown (five ticks) later; then at min,
    // frozen: nothing is started again while the alert keeps firing; the job done, the
    // compute ends.
    assert_eq!(kinds, ["monitor_alert", "frozen", "shed", "shed", "compute_ended"], "{events:?}");
    assert_eq!((events[2]["kept"].as_u64(), events[3]["kept"].as_u64()), (Some(2), Some(1)));
    assert_eq!(events[2]["monitor"], "busy");
    let apart = events[3]["time"].as_f64().unwrap() - events[2]["time"].as_f64().unwrap();
    assert!(apart >= 2.5, "the second shed waited a cooldown: {apart:.2}s");
    let log = std::fs::read_to_string(w.0.join(".gaform/job/jobs/long/log")).unwrap();
    assert!(!log.contains("in its place"), "no worker was started again: {log}");

    ok(&never_shed.output());
    for file in ["best.json", "generations.csv", "hall_of_fame.csv"] {
        assert_eq!(w.read(&format!("results/long/{file}")), w.read(&format!("never-shed/{file}")), "{file}");
    }
}

#[test]
fn a_head_on_a_taken_port_is_exported_where_it_serves_and_refuses_another_stacks_scrape() {
    // Another stack's head holds the port this one asks for.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let asked = taken.local_addr().unwrap().port();
    let w = Workspace::new("monitor-taken", &stack(asked, 16_000, ""));
    ok(&w.gaform(&["apply", "job.gaf", "--auto-approve", "--detach"], &[("GAFORM_TICK", "30s")]));
    let recorded = w.0.join(".gaform/job/metrics/here.json");
    let started = Instant::now();
    while !recorded.exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "the head never recorded where it serves");
        std::thread::sleep(Duration::from_millis(100));
    }
    let record: serde_json::Value = serde_json::from_str(&w.read(".gaform/job/metrics/here.json")).unwrap();
    let at = record["address"].as_str().unwrap().to_string();
    assert_ne!(at, format!("127.0.0.1:{asked}"), "it took another port");

    ok(&w.gaform(&["export", "monitor", "job.gaf", "--out", "monitoring"], &[]));
    let config = w.read("monitoring/prometheus.yml");
    assert!(config.contains(&format!("targets: [\"{at}\"]")), "{config}");
    assert!(config.contains("params:\n      stack: [\"job\"]"), "{config}");

    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let get = |query: &str| {
        let mut r = agent.get(format!("http://{at}/metrics{query}")).call().unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default())
    };
    let (status, body) = get("?stack=other");
    assert_eq!((status, body.as_str()), (404, "this is stack `job`'s head, not stack `other`'s\n"));
    // A tick of 30 s, yet the run's series are served as soon as its workers report.
    let started = Instant::now();
    loop {
        let (status, body) = get("?stack=job");
        assert_eq!(status, 200, "{body}");
        if body.contains("gaform_generation{gaform_job=\"long\"") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no series a tick early: {body}");
        std::thread::sleep(Duration::from_millis(200));
    }
    // The run is not over: destroy says what it throws away before it does.
    let destroyed = ok(&w.gaform(&["destroy", "job.gaf", "--auto-approve"], &[]));
    assert!(destroyed.contains("job.long: still running; destroy deletes its checkpoints"), "{destroyed}");
    drop(taken);
}

#[test]
fn status_shows_a_monitor_where_its_run_ended_after_the_head_is_gone() {
    let monitor = r#"monitor watch {
  job = long
  alert {
    when   = best_fitness < 0.1
    action = notify
  }
}"#;
    let w = Workspace::new("monitor-after", &stack(free_port(), 300, monitor));
    ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[("GAFORM_TICK", "1s")]));
    let status = ok(&w.gaform(&["status", "job.gaf"], &[]));
    assert!(status.contains("no instances running"), "{status}");
    let line =
        status.lines().find(|l| l.trim_start().starts_with("watch ")).unwrap_or_else(|| panic!("{status}"));
    assert!(line.contains(" · generation 300 · "), "the final generation, not a tick's: {line}");
    assert!(status.contains("alert 0 (best_fitness < 0.1)"), "{status}");
}
