//! Budgets on the local cloud, end to end: the ledger bills each start, plan shows the
//! spend, apply refuses a spent budget, and a head stops its compute at 100% with the
//! results so far, every alert logged once; raised, the job resumes to the same bytes as a
//! run that was never stopped.

use crate::apply::{code, processes_of, text};
use crate::support::{json_lines, ok, root, Workspace};

/// The quickstart on a budget of less than a cent a day: one apply spends it (three
/// instances, each billed its 60-second minimum at its type's us-east-1 price).
#[test]
fn the_ledger_bills_each_start_and_apply_refuses_a_spent_budget() {
    let quickstart = std::fs::read_to_string(root().join("examples/quickstart.gaf")).unwrap();
    let gaf = quickstart.replace("data/GOOG_wiki.csv", "GOOG_wiki.csv").replace(
        "compute here {\n  cloud = laptop",
        "budget tiny {\n  amount = $0.004\n  period = day\n}\n\ncompute here {\n  cloud = laptop\n  budget = tiny",
    );
    assert!(gaf.contains("budget = tiny"), "the quickstart's compute block moved");
    let w = Workspace::new("budget-ledger", &gaf);
    ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));

    // One file per start, each ended when its process was stopped.
    let ledger_dir = w.0.join(".gaform/job/ledger");
    let mut billed = 0.0;
    let mut entries = Vec::new();
    for file in std::fs::read_dir(&ledger_dir).unwrap().flatten() {
        let e: serde_json::Value = serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
        let (start, end) = (e["started_at"].as_f64().unwrap(), e["ended_at"].as_f64().expect("ended"));
        assert_eq!((e["simulated"].as_bool(), e["end"].as_str()), (Some(true), Some("terminated")), "{e}");
        billed += (end - start).ceil().max(60.0) * e["per_hour"].as_f64().unwrap() / 3600.0;
        entries.push(e["address"].as_str().unwrap().to_string());
    }
    entries.sort();
    assert_eq!(
        entries,
        ["compute.here.head[0]", "compute.here.workers.islands[0]", "compute.here.workers.islands[1]"]
    );
    assert!(billed > 0.004, "m5.large + 2 c5.large for a minute each: {billed}");

    let plan: serde_json::Value =
        serde_json::from_str(&ok(&w.gaform(&["plan", "--json", "job.gaf"], &[]))).unwrap();
    let spent = &plan["cost"]["budgets"][0]["spent"];
    assert!((spent["spent"].as_f64().unwrap() - billed).abs() < 1e-9, "{spent} vs {billed}");
    assert_eq!(spent["simulated"], true);
    let human = ok(&w.gaform(&["plan", "job.gaf"], &[]));
    assert!(
        human.contains("spent this day (simulated)") && human.contains("apply starts nothing"),
        "{human}"
    );

    // Tearing down keeps the bill: the next apply is refused before anything starts.
    ok(&w.gaform(&["destroy", "job.gaf", "--auto-approve"], &[]));
    assert!(ledger_dir.read_dir().unwrap().count() == 3, "destroy keeps the ledger");
    let refused = w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]);
    assert_eq!(code(&refused), 1, "{}", text(&refused));
    let said = text(&refused);
    assert!(said.contains("budget `tiny` is spent") && said.contains("rolls over at"), "{said}");
    assert!(processes_of(&w.0.join(".gaform")).is_empty(), "nothing started");
    assert!(
        !w.0.join(".gaform/job/instances").exists()
            || w.0.join(".gaform/job/instances").read_dir().unwrap().count() == 0
    );

    // Raised, it runs again.
    std::fs::write(w.0.join("job.gaf"), gaf.replace("$0.004", "$1")).unwrap();
    ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));
    assert_eq!(ledger_dir.read_dir().unwrap().count(), 6);
}

/// A job of a few seconds on a budget spent from the first minute's billing: its head stops
/// it at the first tick.
const STOPPED: &str = r#"
cloud here { provider = local }
budget tiny {
  amount = $0.004
  period = day
  alert { at = 50%  action = notify }
}
compute box {
  cloud  = here
  budget = tiny
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  min = 2  max = 2 }
}
job long {
  compute     = box
  data        = "GOOG_wiki.csv"
  strategy    = rsi_reversion(period = 2..200, lower = 1..49, upper = 51..99)
  population  = 200
  generations = 600
  migration { every = 1  count = 3 }
  seed        = 3
}
"#;

#[test]
fn a_head_stops_its_compute_at_100_percent_and_the_raised_budget_resumes_it() {
    let w = Workspace::new("budget-stop", STOPPED);
    let tick = [("GAFORM_TICK", "1s")];
    let stopped = w.gaform(&["apply", "job.gaf", "--auto-approve"], &tick);
    assert_eq!(code(&stopped), 1, "{}", text(&stopped));
    assert!(text(&stopped).contains("long: stopped: budget tiny at 100% ($0.0044 of $0.0040 this day)"));
    assert!(processes_of(&w.0.join(".gaform")).is_empty(), "no process of the stack is left");

    let events = json_lines(&ok(&w.gaform(&["events", "--json", "job.gaf"], &[])));
    let kinds: Vec<(&str, Option<&str>, Option<bool>)> = events
        .iter()
        .map(|e| (e["event"].as_str().unwrap(), e["action"].as_str(), e["implicit"].as_bool()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("alert_fired", Some("notify"), Some(false)),
            ("alert_fired", Some("stop"), Some(true)),
            ("compute_stopped", None, None)
        ]
    );
    assert_eq!(events[2]["instances"], 3);
    assert!(ok(&w.gaform(&["events", "job.gaf"], &[])).contains("which always stops: stop"));

    let status: serde_json::Value =
        serde_json::from_str(&ok(&w.gaform(&["status", "--json", "job.gaf"], &[]))).unwrap();
    let budget = &status["budgets"][0];
    assert_eq!((budget["name"].as_str(), budget["simulated"].as_bool()), (Some("tiny"), Some(true)));
    assert!(budget["spent"].as_f64().unwrap() >= 0.004);
    let fired: Vec<f64> =
        budget["alerts"].as_array().unwrap().iter().map(|a| a["fired_at"].as_f64().expect("fired")).collect();
    assert_eq!(fired.len(), 2);
    assert_eq!(status["jobs"][0]["status"]["state"], "stopped");
    let best: serde_json::Value = serde_json::from_str(&w.read("results/long/best.json")).unwrap();
    assert!(best["status"].as_str().unwrap().starts_with("stopped: budget tiny at 100%"), "{best}");

    // Spent: refused until raised; raised: the job runs on from its checkpoints to the very
    // bytes of a run that was never stopped.
    let refused = w.gaform(&["apply", "job.gaf", "--auto-approve"], &tick);
    assert_eq!(code(&refused), 1);
    assert!(text(&refused).contains("budget `tiny` is spent"));
    std::fs::write(w.0.join("job.gaf"), STOPPED.replace("$0.004", "$1")).unwrap();
    let resumed = ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &tick));
    assert!(resumed.contains("run on from its checkpoints"), "{resumed}");
    ok(&w.gaform(&["run", "job.gaf", "--out", "never-stopped"], &[]));
    for file in ["best.json", "generations.csv", "hall_of_fame.csv", "fitness.svg", "equity.svg"] {
        assert_eq!(
            w.read(&format!("results/long/{file}")),
            w.read(&format!("never-stopped/{file}")),
            "{file}"
        );
    }
    let events = json_lines(&ok(&w.gaform(&["events", "--json", "job.gaf"], &[])));
    let after_the_stop: Vec<&str> = events[3..].iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(after_the_stop, ["compute_ended"], "nothing fired again; the resumed run ended: {events:?}");
}

/// A webhook receiver on loopback: each request's head and body, answered `status`.
pub(crate) struct Receiver {
    pub(crate) port: u16,
    pub(crate) requests: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl Receiver {
    pub(crate) fn start(status: u16) -> Receiver {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut reader = BufReader::new(stream);
                let mut head = String::new();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    head.push_str(&line);
                    line.clear();
                }
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string())
                    })
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                seen.lock().unwrap().push((head, String::from_utf8_lossy(&body).into_owned()));
                let _ = write!(
                    reader.get_mut(),
                    "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                );
            }
        });
        Receiver { port, requests }
    }
}

fn with_webhook(url: &str) -> String {
    STOPPED.replace(
        "  alert { at = 50%  action = notify }",
        &format!("  notify {{\n    webhook = \"{url}\"\n    token   = env(\"GAFORM_TEST_TOKEN\")\n  }}\n  alert {{ at = 50%  action = notify }}"),
    )
}

#[test]
fn each_alert_reaches_the_webhook_once_and_the_token_stays_secret() {
    let receiver = Receiver::start(200);
    let w =
        Workspace::new("budget-webhook", &with_webhook(&format!("http://127.0.0.1:{}/hook", receiver.port)));
    let env = [("GAFORM_TICK", "1s"), ("GAFORM_TEST_TOKEN", "tok-7f3a")];
    let out = w.gaform(&["apply", "job.gaf", "--auto-approve"], &env);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let requests = receiver.requests.lock().unwrap().clone();
    let actions: Vec<String> = requests
        .iter()
        .map(|(head, body)| {
            assert!(head.starts_with("POST /hook "), "{head}");
            assert!(
                head.contains("Authorization: Bearer tok-7f3a")
                    || head.contains("authorization: Bearer tok-7f3a"),
                "{head}"
            );
            let body: serde_json::Value = serde_json::from_str(body).unwrap();
            assert_eq!((body["version"].as_str(), body["status"].as_str()), (Some("4"), Some("firing")));
            assert_eq!(body["commonLabels"]["budget"], "tiny");
            body["alerts"][0]["labels"]["action"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(actions.len(), 2, "one POST per alert: {actions:?}");
    assert!(actions.contains(&"notify".to_string()) && actions.contains(&"stop".to_string()));
    let events = json_lines(&ok(&w.gaform(&["events", "--json", "job.gaf"], &[])));
    assert_eq!(events.iter().filter(|e| e["event"] == "notification_sent").count(), 2);
    // The secret is in the environment only: not in any record, log, plan or event.
    let plan = ok(&w.gaform(&["plan", "--json", "job.gaf"], &env));
    assert!(!plan.contains("tok-7f3a"));
    for file in walk(&w.0.join(".gaform")) {
        let bytes = std::fs::read(&file).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("tok-7f3a"), "{} holds the token", file.display());
    }
}

#[test]
fn a_failed_delivery_is_retried_recorded_and_never_stops_the_head_from_its_work() {
    let receiver = Receiver::start(503);
    let w = Workspace::new(
        "budget-webhook-down",
        &with_webhook(&format!("http://127.0.0.1:{}/hook", receiver.port)),
    );
    let out = w.gaform(
        &["apply", "job.gaf", "--auto-approve"],
        &[("GAFORM_TICK", "1s"), ("GAFORM_TEST_TOKEN", "t")],
    );
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(text(&out).contains("stopped: budget tiny"), "the stop went ahead: {}", text(&out));
    let events = json_lines(&ok(&w.gaform(&["events", "--json", "job.gaf"], &[])));
    let failed: Vec<&serde_json::Value> =
        events.iter().filter(|e| e["event"] == "notification_failed").collect();
    assert_eq!(failed.len(), 2, "{events:?}");
    assert!(
        failed.iter().all(|e| e["attempts"] == 4 && e["error"].as_str().unwrap().contains("503")),
        "{failed:?}"
    );
    assert_eq!(receiver.requests.lock().unwrap().len(), 8, "4 tries for each of the 2 alerts");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn a_scale_down_sheds_to_min_mid_job_and_the_result_is_the_same_bytes() {
    // 95% of $0.0045 is crossed by the first minute's billing ($0.0044), 100% only after a
    // minute: the head scales down at its first tick and the job finishes on one worker.
    let gaf = STOPPED
        .replace("$0.004", "$0.0045")
        .replace("at = 50%  action = notify", "at = 95%  action = scale_down")
        .replace("min = 2  max = 2", "min = 1  max = 2");
    let w = Workspace::new("budget-scale-down", &gaf);
    let out = ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[("GAFORM_TICK", "1s")]));
    assert!(out.contains("long: best rsi_reversion("), "the job went on to its end: {out}");
    let events = json_lines(&ok(&w.gaform(&["events", "--json", "job.gaf"], &[])));
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["alert_fired", "frozen", "shed", "compute_ended"], "{events:?}");
    assert_eq!((events[0]["action"].as_str(), events[2]["kept"].as_u64()), (Some("scale_down"), Some(1)));
    let shed = events[2]["instance"].as_str().unwrap();
    assert!(shed.starts_with("compute.box.workers.cpu["), "{shed}");
    let log = std::fs::read_to_string(w.0.join(".gaform/job/jobs/long/log")).unwrap();
    assert!(log.contains("dealt anew"), "the worker left took the shed one's islands over: {log}");

    ok(&w.gaform(&["run", "job.gaf", "--out", "never-scaled"], &[]));
    for file in ["best.json", "generations.csv", "hall_of_fame.csv", "fitness.svg", "equity.svg"] {
        assert_eq!(
            w.read(&format!("results/long/{file}")),
            w.read(&format!("never-scaled/{file}")),
            "{file}"
        );
    }
}

#[test]
fn a_burn_rate_over_max_cost_per_hour_sheds_until_it_fits() {
    // m5.large + 2 c5.large cost $0.266/h at AWS prices; under $0.20 one worker must go.
    let gaf = STOPPED
        .replace("$0.004", "$100\n  max_cost_per_hour = $0.20")
        .replace("  alert { at = 50%  action = notify }\n", "")
        .replace("min = 2  max = 2", "min = 1  max = 2");
    let w = Workspace::new("budget-hourly-cap", &gaf);
    ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[("GAFORM_TICK", "1s")]));
    let events = json_lines(&ok(&w.gaform(&["events", "--json", "job.gaf"], &[])));
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["over_hourly_cap", "frozen", "shed", "compute_ended"],
        "shed once, then within the cap: {events:?}"
    );
    assert!((events[0]["per_hour"].as_f64().unwrap() - 0.266).abs() < 1e-9, "{}", events[0]);
    ok(&w.gaform(&["run", "job.gaf", "--out", "never-shed"], &[]));
    assert_eq!(w.read("results/long/best.json"), w.read("never-shed/best.json"));
}
