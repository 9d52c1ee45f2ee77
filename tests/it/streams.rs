//! Streams: a client seeds a stream with its history (`PUT ROUTE/streams/ID`), then sends
//! each new bar once (`POST ROUTE/streams/ID/bars`) and gets the position and signal after
//! it, equal after every bar to the backtester's on all the bars so far (the stateless POST,
//! itself held to `gaform backtest` in `serve.rs`, and `gaform backtest` once here), for a
//! written strategy with shorts, a trailing stop and a size, and for a built-in. Bad bars
//! leave a stream as it was; a stream the server cannot go on with (never seeded, deleted,
//! seeded before a restart, under an older strategy version, idle too long) is told to seed
//! again; past the cap, 429.

use super::serve::{body, rows, stack, written_stack, Server};
use super::strategies::{CALLS, CORPUS, FILES};
use crate::support::{free_port, ok, root, Workspace};
use gaform_compiler::source::SourceFile;
use gaform_runtime::backtest::{orders, Costs};
use gaform_runtime::data::Ohlcv;
use gaform_runtime::rules::Program;
use gaform_runtime::stream::{Stream, StreamError};
use gaform_runtime::windows::slice;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// `method` on the service's route + `path`: the status and the JSON answer.
fn call(server: &Server, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let url = format!("{}{path}", server.url);
    let agent = Server::agent();
    let response = match method {
        "PUT" => agent.put(&url).send(body),
        "POST" => agent.post(&url).send(body),
        _ => agent.delete(&url).call(),
    };
    let mut response = response.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let text = response.body_mut().with_config().limit(1 << 22).read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}")))
}

fn stance(answer: &Value) -> (String, String) {
    let field = |k: &str| answer[k].as_str().unwrap_or_else(|| panic!("no {k}: {answer}")).to_string();
    (field("position"), field("signal"))
}

/// The stateless answer for `window`: the backtester on those bars.
fn whole(server: &Server, window: &[(String, [f64; 5])]) -> (String, String) {
    let (status, answer) = server.post(&body(window));
    assert_eq!(status, 200, "{answer}");
    stance(&answer)
}

fn told_to_reseed(status: u16, answer: &Value, code: u16, says: &str) {
    assert_eq!(status, code, "{answer}");
    assert_eq!(answer["reseed"], true, "{answer}");
    let message = answer["error"].as_str().unwrap_or_default();
    assert!(message.contains(says) && message.contains("seed it again"), "{message}");
}

#[test]
fn a_stream_answers_each_new_bar_as_the_backtester_does_on_every_bar_so_far() {
    let w = Workspace::new("streams-written", &written_stack(free_port()));
    ok(&w.gaform(&["run", "job.gaf"], &[]));
    let server = Server::by_hand(&w);
    server.wait_ready();
    let rows = rows(&w);
    // Too few bars for the indicators: refused, and no stream is made.
    let (status, refused) = call(&server, "PUT", "/streams/goog", &body(&rows[..5]));
    assert_eq!(status, 422, "{refused}");
    assert!(refused["error"].as_str().unwrap_or_default().contains("too few"), "{refused}");
    let (status, missing) = call(&server, "POST", "/streams/goog/bars", &body(&rows[5..6]));
    told_to_reseed(status, &missing, 404, "no stream goog here");

    let seed = 120;
    let (status, seeded) = call(&server, "PUT", "/streams/goog", &body(&rows[..seed]));
    assert_eq!(status, 200, "{seeded}");
    assert_eq!(
        (&seeded["stream"], &seeded["bars"], &seeded["version"]),
        (&"goog".into(), &seed.into(), &1.into())
    );
    assert_eq!(stance(&seeded), whole(&server, &rows[..seed]));
    // One bar a request: after every one, the backtester's answer on every bar so far.
    let mut seen = BTreeSet::new();
    let mut k = seed;
    while k < seed + 400 {
        let (status, answer) = call(&server, "POST", "/streams/goog/bars", &body(&rows[k..k + 1]));
        k += 1;
        assert_eq!(status, 200, "{answer}");
        assert_eq!(stance(&answer), whole(&server, &rows[..k]), "after {k} bars");
        assert_eq!((&answer["bars"], &answer["time"]), (&k.into(), &rows[k - 1].0.clone().into()));
        seen.insert(stance(&answer));
    }
    let positions: BTreeSet<_> = seen.iter().map(|s| s.0.as_str()).collect();
    assert!(positions.contains("long") && positions.contains("short"), "{seen:?}");
    // Several bars in one request.
    let (status, answer) = call(&server, "POST", "/streams/goog/bars", &body(&rows[k..k + 7]));
    k += 7;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(stance(&answer), whole(&server, &rows[..k]));
    // `gaform backtest` of the same bars says the same.
    let mut csv = String::from("Date,Open,High,Low,Close,Volume\n");
    for (d, [o, h, l, c, v]) in &rows[..k] {
        csv.push_str(&format!("{d},{o},{h},{l},{c},{v}\n"));
    }
    std::fs::write(w.0.join("so_far.csv"), csv).unwrap();
    let call_text = answer["parameters"].as_str().unwrap().to_string();
    let out = w.gaform(
        &["backtest", "so_far.csv", "--file", "job.gaf", "--strategy", &call_text, "--format", "json"],
        &[],
    );
    let backtested: Value = serde_json::from_str(&ok(&out)).unwrap();
    assert_eq!(stance(&answer), stance(&backtested));

    // Bad bars are refused and leave the stream as it was.
    let (status, again) = call(&server, "POST", "/streams/goog/bars", &body(&rows[k - 1..k]));
    assert_eq!((status, &again["bar"]), (422, &0.into()), "{again}");
    assert!(again["error"].as_str().unwrap_or_default().contains("after the stream's last"), "{again}");
    let (status, broken) = call(&server, "POST", "/streams/goog/bars", b"[[\"2099-01-01\", 1.0, 2");
    assert_eq!(status, 400, "{broken}");
    let (status, empty) = call(&server, "POST", "/streams/goog/bars", b"[]");
    assert_eq!(status, 422, "{empty}");
    let upside_down = br#"[["2099-01-01", 10.0, 9.0, 11.0, 10.0, 100]]"#;
    let (status, bad) = call(&server, "POST", "/streams/goog/bars", upside_down);
    assert_eq!(status, 422, "{bad}");
    let (status, answer) = call(&server, "POST", "/streams/goog/bars", &body(&rows[k..k + 1]));
    k += 1;
    assert_eq!(status, 200, "{answer}");
    assert_eq!((stance(&answer), &answer["bars"]), (whole(&server, &rows[..k]), &k.into()));

    let (status, named) = call(&server, "PUT", "/streams/not%20an%20id", &body(&rows[..seed]));
    assert_eq!(status, 400, "{named}");
    let (_, metrics) = server.get("/metrics");
    assert!(metrics.contains("gaform_serve_streams 1"), "{metrics}");

    // Deleted: gone, and said so.
    let (status, deleted) = call(&server, "DELETE", "/streams/goog", b"");
    assert_eq!((status, &deleted["deleted"]), (200, &true.into()), "{deleted}");
    let (status, gone) = call(&server, "POST", "/streams/goog/bars", &body(&rows[k..k + 1]));
    told_to_reseed(status, &gone, 404, "no stream goog here");

    // A new strategy version: a stream seeded under the old one is dropped and told.
    let (status, _) = call(&server, "PUT", "/streams/goog", &body(&rows[..seed]));
    assert_eq!(status, 200);
    let text = w.read("job.gaf").replace("seed        = 3", "seed        = 4");
    std::fs::write(w.path("job.gaf"), text).unwrap();
    ok(&w.gaform(&["run", "job.gaf", "--replace"], &[]));
    let started = Instant::now();
    while !server.get("/readyz").1.contains("\"version\":2") {
        assert!(started.elapsed() < Duration::from_secs(20), "the new best was never served");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (status, changed) = call(&server, "POST", "/streams/goog/bars", &body(&rows[seed..seed + 1]));
    told_to_reseed(status, &changed, 409, "now serves version 2");
    let (status, reseeded) = call(&server, "PUT", "/streams/goog", &body(&rows[..seed]));
    assert_eq!((status, &reseeded["version"]), (200, &2.into()), "{reseeded}");

    // A server started again knows no stream of the one before it.
    drop(server);
    let server = Server::by_hand(&w);
    server.wait_ready();
    let (status, lost) = call(&server, "POST", "/streams/goog/bars", &body(&rows[seed..seed + 1]));
    told_to_reseed(status, &lost, 404, "restarted");
}

#[test]
fn a_built_in_streams_as_it_backtests_and_streams_are_bounded_in_number_and_idle_time() {
    let w = Workspace::new("streams-bounded", &stack(1, free_port()));
    ok(&w.gaform(&["run", "job.gaf"], &[]));
    let server = Server::by_hand_with(&w, &["--max-streams", "2", "--stream-idle", "1s"]);
    server.wait_ready();
    let rows = rows(&w);
    // sma_crossover, through the prelude's program: the kernel's answers bar by bar.
    let seed = 250;
    let (status, seeded) = call(&server, "PUT", "/streams/a", &body(&rows[..seed]));
    assert_eq!(status, 200, "{seeded}");
    assert!(seeded["parameters"].as_str().unwrap_or_default().starts_with("sma_crossover("), "{seeded}");
    let mut signals = BTreeSet::new();
    for k in seed..seed + 300 {
        let (status, answer) = call(&server, "POST", "/streams/a/bars", &body(&rows[k..k + 1]));
        assert_eq!(status, 200, "{answer}");
        assert_eq!(stance(&answer), whole(&server, &rows[..k + 1]), "after {} bars", k + 1);
        signals.insert(stance(&answer).1);
    }
    assert!(signals.contains("buy") && signals.contains("sell"), "{signals:?}");

    // Two streams at most: a third waits for one to go idle.
    let (status, _) = call(&server, "PUT", "/streams/b", &body(&rows[..seed]));
    assert_eq!(status, 200);
    let (status, full) = call(&server, "PUT", "/streams/c", &body(&rows[..seed]));
    assert_eq!(status, 429, "{full}");
    assert!(full["error"].as_str().unwrap_or_default().contains("2 streams"), "{full}");
    std::thread::sleep(Duration::from_millis(1200));
    let (status, taken) = call(&server, "PUT", "/streams/c", &body(&rows[..seed]));
    assert_eq!(status, 200, "{taken}");
    let (status, forgotten) = call(&server, "POST", "/streams/a/bars", &body(&rows[seed..seed + 1]));
    told_to_reseed(status, &forgotten, 404, "no stream a here");
    // Idle past its time: forgotten when next sent a bar, and told why.
    std::thread::sleep(Duration::from_millis(1200));
    let (status, expired) = call(&server, "POST", "/streams/c/bars", &body(&rows[seed..seed + 1]));
    told_to_reseed(status, &expired, 404, "forgotten after 1s idle");
    // A stream whose client went away does not wait for a bar or the cap to be forgotten:
    // the server forgets it at its next poll past its idle time (`b`, seeded and left).
    let started = Instant::now();
    loop {
        let (_, metrics) = server.get("/metrics");
        if metrics.lines().any(|l| l == "gaform_serve_streams 0") {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "b is still followed:\n{metrics}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, gone) = call(&server, "POST", "/streams/b/bars", &body(&rows[seed..seed + 1]));
    told_to_reseed(status, &gone, 404, "forgotten after 1s idle");
}

// The binary's one translation of a checked strategy into the runtime's program, compiled in
// here as it is there (it is the only place the compiler and the runtime meet for strategies).
#[path = "../../src/program.rs"]
mod program;

/// The backtester's stance after the last of `data`'s bars, `None` when too few to decide.
fn backtested(program: &Program, genome: &[f64], data: &Ohlcv) -> Option<(String, String)> {
    let stance = orders::stance(program, genome, data, Costs::default()).ok()??;
    Some((format!("{:?}", stance.0), format!("{:?}", stance.1)))
}

#[test]
fn every_corpus_strategy_streams_as_it_backtests_on_every_bundled_file() {
    let text = std::fs::read_to_string(root().join(CORPUS)).unwrap();
    let options = gaform_compiler::CheckOptions { data_errors: false };
    let checked =
        gaform_compiler::check(&SourceFile::new(CORPUS, text.as_str()), &gaform_compiler::NoHost, &options);
    let strategies = gaform_compiler::prelude::with(&checked.program.expect("the corpus checks").strategies);
    let cases: Vec<(Program, Vec<f64>)> = CALLS
        .iter()
        .map(|call| {
            let found = gaform_compiler::args::genome(&SourceFile::new("--strategy", *call), &strategies);
            let ((which, genome), _) = found.unwrap_or_else(|e| panic!("{call}: {e:?}"));
            (program::program(&strategies[which]), genome)
        })
        .collect();
    std::thread::scope(|scope| {
        for (f, file) in FILES.iter().enumerate() {
            let cases = &cases;
            scope.spawn(move || {
                let data = gaform_runtime::data::load(&root().join("examples/data").join(file)).unwrap();
                for (c, (program, genome)) in cases.iter().enumerate() {
                    let name = program.show(genome);
                    // A backtest per bar costs the bars so far: each strategy is held to one
                    // after every bar of one file (in turn, so that every file is covered
                    // after every bar) and after every 20th bar of the others.
                    let every = if c % FILES.len() == f { 1 } else { 20 };
                    // Refused while the bars are too few to decide on, as the backtest is.
                    let mut k = 1;
                    let mut stream = loop {
                        assert!(k < data.len(), "{name} never seeds on {file}");
                        match Stream::seed(program, genome, Costs::default(), &slice(&data, 0..k)) {
                            Err(StreamError::TooFew { .. }) => {
                                assert_eq!(backtested(program, genome, &slice(&data, 0..k)), None, "{name}");
                            }
                            Err(e) => panic!("{e}"),
                            Ok(stream) => break stream,
                        }
                        k += 1;
                    };
                    loop {
                        if k % every == 0 || k == data.len() {
                            let (position, signal) = stream.stance();
                            let streamed = Some((format!("{position:?}"), format!("{signal:?}")));
                            let expected = backtested(program, genome, &slice(&data, 0..k));
                            assert_eq!(streamed, expected, "{name} on {file}, after {k} bars");
                        }
                        if k == data.len() {
                            break;
                        }
                        stream.push(&slice(&data, k..k + 1)).unwrap();
                        k += 1;
                    }
                }
            });
        }
    });
}
