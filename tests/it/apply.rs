//! plan → apply → plan → destroy → plan on the local cloud, as a user runs them: exit
//! codes, results, processes (found in /proc, not in our own records), a worker killed
//! mid-run, an apply SIGKILLed mid-way, and saved plans gone stale.

use crate::support::{ok, root, Workspace};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// Idle workers: a compute with no job keeps its groups at `min` until destroyed.
const IDLE: &str = r#"
cloud here { provider = local }
compute idle {
  cloud = here
  head { instance_type = "m5.large" }
  workers a { instance_type = "c5.large"  min = 6  max = 6 }
  workers b { instance_type = "c5.large"  min = 6  max = 6 }
  workers c { instance_type = "c5.large"  min = 6  max = 6 }
}
"#;

/// Long enough (a few seconds) to kill a worker while it runs; islands 2 on 2 workers.
const LONG: &str = r#"
cloud here { provider = local }
compute box {
  cloud = here
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  min = 2  max = 2 }
}
job long {
  compute     = box
  data        = "GOOG_wiki.csv"
  strategy    = rsi_reversion(period = 2..200, lower = 1..49, upper = 51..99)
  population  = 2000
  generations = 120
  crossover   = uniform(rate = 0.2)
  mutation    = reset(rate = 0.9)
  migration { every = 10  count = 3 }
  seed        = 3
}
"#;

pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

pub fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Whether a `/proc/PID/stat` (or `/proc/PID/task/TID/stat`) line is a zombie's: its state,
/// the field after the command's closing parenthesis, is `Z`.
pub fn zombie(stat: &str) -> bool {
    stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z'))
}

/// Live (not zombie) processes whose command line names `stack_dir`: (pid, args).
pub fn processes_of(stack_dir: &Path) -> Vec<(u32, Vec<String>)> {
    let needle = stack_dir.display().to_string();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else { continue };
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        if !zombie(&stat) && args.iter().any(|a| a.contains(&needle)) {
            out.push((pid, args));
        }
    }
    out
}

/// Each slot (`address[index]`) with the number of live processes running it.
fn slots(stack_dir: &Path) -> std::collections::BTreeMap<String, usize> {
    let mut out = std::collections::BTreeMap::new();
    for (_, args) in processes_of(stack_dir) {
        let value = |flag: &str| {
            args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned().unwrap_or_default()
        };
        *out.entry(format!("{}[{}]", value("--address"), value("--index"))).or_insert(0) += 1;
    }
    out
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn job_status(w: &Workspace, stack: &str, job: &str) -> String {
    let path = w.0.join(format!(".gaform/{stack}/jobs/{job}/record.json"));
    let record: serde_json::Value =
        std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    record["status"]["state"].as_str().unwrap_or("none").to_string()
}

#[test]
fn quickstart_plan_apply_plan_destroy_plan() {
    let w = Workspace::new("lifecycle", "");
    std::fs::create_dir_all(w.0.join("data")).unwrap();
    std::fs::copy(root().join("examples/data/GOOG_wiki.csv"), w.0.join("data/GOOG_wiki.csv")).unwrap();
    std::fs::copy(root().join("examples/quickstart.gaf"), w.0.join("quickstart.gaf")).unwrap();
    let stack_dir = w.0.join(".gaform/quickstart");

    let plan = w.gaform(&["plan", "quickstart.gaf", "--detailed-exitcode"], &[]);
    assert_eq!(code(&plan), 2, "{}", text(&plan));
    for line in
        ["+ local.state_dir", "+ compute.here.head", "+ compute.here.workers.islands", "+ job.quickstart"]
    {
        assert!(text(&plan).contains(line), "{line} in\n{}", text(&plan));
    }
    assert!(text(&plan).contains("count         = 2 (max = 2, one island per worker)"), "{}", text(&plan));
    assert!(text(&plan).contains("Plan: 4 to add, 0 to change, 0 to destroy."));

    let apply = w.gaform(&["apply", "quickstart.gaf", "--auto-approve"], &[]);
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    assert!(text(&apply).contains("Apply complete! Resources: 4 added, 0 changed, 0 destroyed."));
    assert!(text(&apply).contains("island 1 · generation 40/40"), "progress is streamed:\n{}", text(&apply));
    assert!(text(&apply).contains("quickstart: best sma_crossover("), "{}", text(&apply));
    assert!(processes_of(&stack_dir).is_empty(), "the finished job's compute is terminated");
    // The same job run in one process gives the same bytes: the workers changed nothing.
    ok(&w.gaform(&["run", "quickstart.gaf", "--out", "reference"], &[]));
    for file in ["best.json", "generations.csv", "hall_of_fame.csv", "fitness.svg"] {
        assert_eq!(
            w.read(&format!("results/quickstart/{file}")),
            w.read(&format!("reference/{file}")),
            "{file}"
        );
    }

    let again = w.gaform(&["plan", "quickstart.gaf", "--detailed-exitcode"], &[]);
    assert_eq!(code(&again), 0, "{}", text(&again));
    assert!(text(&again).contains("job.quickstart: finished with this spec; not run again"));
    assert!(text(&again).contains("compute.here: stays down (job.quickstart done)"));

    let destroy = w.gaform(&["destroy", "quickstart.gaf", "--auto-approve"], &[]);
    assert_eq!(code(&destroy), 0, "{}", text(&destroy));
    assert!(processes_of(&stack_dir).is_empty());
    assert!(w.0.join("results/quickstart/best.json").exists(), "results stay");
    let after = w.gaform(&["plan", "quickstart.gaf", "--detailed-exitcode"], &[]);
    assert_eq!(code(&after), 2, "{}", text(&after));
    assert!(text(&after).contains("Plan: 4 to add, 0 to change, 0 to destroy."));
}

#[test]
fn a_killed_worker_is_replaced_and_the_result_is_unchanged() {
    let w = Workspace::new("killworker", LONG);
    let stack_dir = w.0.join(".gaform/job");
    ok(&w.gaform(&["apply", "job.gaf", "--auto-approve", "--detach"], &[]));
    let log = stack_dir.join("jobs/long/log");
    wait_until("island 1 to reach generation 15", Duration::from_secs(120), || {
        std::fs::read_to_string(&log).unwrap_or_default().contains("island 1 · generation 15/")
    });
    let record: serde_json::Value =
        serde_json::from_str(&w.read(".gaform/job/instances/compute.box.workers.cpu[1].json")).unwrap();
    let pid = record["process"]["pid"].as_u64().unwrap() as i32;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    wait_until("the job to finish", Duration::from_secs(300), || job_status(&w, "job", "long") == "finished");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains(&format!("compute.box.workers.cpu[1]: pid {pid} is gone; started pid")), "{log}");
    wait_until("the compute to be terminated", Duration::from_secs(30), || {
        processes_of(&stack_dir).is_empty()
    });
    ok(&w.gaform(&["run", "job.gaf", "--out", "reference"], &[]));
    for file in ["best.json", "generations.csv", "hall_of_fame.csv", "fitness.svg", "equity.svg"] {
        assert_eq!(w.read(&format!("results/long/{file}")), w.read(&format!("reference/{file}")), "{file}");
    }
}

#[test]
fn a_reapply_with_a_new_spec_restarts_the_workers_with_no_phantom_death() {
    let w = Workspace::new("respec", LONG);
    ok(&w.gaform(&["apply", "job.gaf", "--auto-approve", "--detach"], &[]));
    let log = w.0.join(".gaform/job/jobs/long/log");
    wait_until("island 1 to reach generation 5", Duration::from_secs(120), || {
        std::fs::read_to_string(&log).unwrap_or_default().contains("island 1 · generation 5/")
    });
    std::fs::write(w.0.join("job.gaf"), LONG.replace("seed        = 3", "seed        = 4")).unwrap();
    let out = ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));
    assert!(out.contains("its workers restarted for the new spec: compute.box.workers.cpu[0] pid "), "{out}");
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(!log.contains("is gone") && !log.contains("in its place"), "no worker died: {log}");
    let events = ok(&w.gaform(&["events", "job.gaf"], &[]));
    assert!(!events.contains("died") && !events.contains("replace"), "{events}");
    let best: serde_json::Value = serde_json::from_str(&w.read("results/long/best.json")).unwrap();
    assert_eq!(best["seed"], 4, "the new spec ran to its end");
}

#[test]
fn a_sigkilled_apply_leaves_exactly_what_is_left_to_the_next_plan() {
    let w = Workspace::new("killapply", IDLE);
    let stack_dir = w.0.join(".gaform/job");
    let mut apply = w
        .command(&["apply", "job.gaf", "--auto-approve", "--parallelism", "1"], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("a few instances", Duration::from_secs(60), || {
        std::fs::read_dir(stack_dir.join("instances")).map_or(0, |d| d.count()) >= 4
    });
    apply.kill().unwrap();
    apply.wait().unwrap();
    let started = slots(&stack_dir);
    assert!(started.len() < 19, "apply was killed before it finished: {started:?}");

    let plan = w.gaform(&["plan", "job.gaf", "--detailed-exitcode"], &[]);
    assert_eq!(code(&plan), 2, "{}", text(&plan));
    let shown = text(&plan);
    assert!(!shown.contains("+ local.state_dir") && !shown.contains("+ compute.idle.head"), "{shown}");

    let locked = w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]);
    assert_eq!(code(&locked), 1);
    assert!(
        text(&locked).contains("stale lock") && text(&locked).contains("gaform unlock"),
        "{}",
        text(&locked)
    );
    ok(&w.gaform(&["unlock", "job.gaf"], &[]));
    ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));
    let now = slots(&stack_dir);
    assert_eq!(now.len(), 19, "{now:?}");
    assert!(now.values().all(|&n| n == 1), "one process per slot: {now:?}");
    for slot in started.keys() {
        assert!(now.contains_key(slot));
    }
    assert_eq!(code(&w.gaform(&["plan", "job.gaf", "--detailed-exitcode"], &[])), 0);
    ok(&w.gaform(&["destroy", "job.gaf", "--auto-approve"], &[]));
    assert!(processes_of(&stack_dir).is_empty());
}

#[test]
fn a_saved_plan_is_refused_once_stale_and_applied_while_fresh() {
    let w = Workspace::new("stale", IDLE);
    let stack_dir = w.0.join(".gaform/job");
    let saved = w.gaform(&["plan", "job.gaf", "-out", "first.plan"], &[]);
    assert_eq!(code(&saved), 0, "{}", text(&saved));
    assert!(text(&saved).contains("gaform apply first.plan"));
    let applied = w.gaform(&["apply", "first.plan"], &[]);
    assert_eq!(code(&applied), 0, "a fresh saved plan needs no confirmation: {}", text(&applied));
    assert_eq!(slots(&stack_dir).len(), 19);

    let worker = |i: u64| -> i32 {
        let record: serde_json::Value =
            serde_json::from_str(&w.read(&format!(".gaform/job/instances/compute.idle.workers.a[{i}].json")))
                .unwrap();
        record["process"]["pid"].as_u64().unwrap() as i32
    };
    let kill = |pid: i32| {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap()
    };
    kill(worker(0));
    wait_until("worker [0] to die", Duration::from_secs(10), || slots(&stack_dir).len() == 18);
    let plan = w.gaform(&["plan", "job.gaf", "--out", "second.plan"], &[]);
    assert!(text(&plan).contains("~ compute.idle.workers.a"), "{}", text(&plan));
    kill(worker(1));
    wait_until("worker [1] to die", Duration::from_secs(10), || slots(&stack_dir).len() == 17);
    let refused = w.gaform(&["apply", "second.plan"], &[]);
    assert_eq!(code(&refused), 1, "{}", text(&refused));
    assert!(text(&refused).contains("the saved plan is stale"), "{}", text(&refused));
    assert!(text(&refused).contains("compute.idle.workers.a changed"), "{}", text(&refused));
    assert_eq!(slots(&stack_dir).len(), 17, "nothing was changed");

    std::fs::write(
        w.0.join("job.gaf"),
        IDLE.replace("min = 6  max = 6 }\n  workers b", "min = 5  max = 6 }\n  workers b"),
    )
    .unwrap();
    let plan = w.gaform(&["plan", "job.gaf", "--out", "third.plan"], &[]);
    assert_eq!(code(&plan), 0);
    std::fs::write(w.0.join("job.gaf"), IDLE).unwrap();
    let refused = w.gaform(&["apply", "third.plan"], &[]);
    assert!(text(&refused).contains("job.gaf changed since the plan was made"), "{}", text(&refused));
    ok(&w.gaform(&["destroy", "job.gaf", "--auto-approve"], &[]));
    assert!(processes_of(&stack_dir).is_empty());
}

#[test]
fn max_runtime_stops_a_job_and_auto_terminate_stops_an_idle_compute() {
    // Far more generations than a second holds (the 120 of LONG can end in 1.3 s, before
    // the head's tick sees the limit passed).
    let timed = LONG
        .replace("  generations = 120\n", "  generations = 20000\n")
        .replace("  seed        = 3\n", "  seed        = 3\n  max_runtime = 1s\n  workers     = cpu\n")
        .replace(
            "  workers cpu {",
            "  workers spare { instance_type = \"c5.large\"  min = 1  max = 1 }\n  workers cpu {",
        );
    let w = Workspace::new("timeouts", &timed);
    let stack_dir = w.0.join(".gaform/job");
    let out = w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    assert!(text(&out).contains("long: stopped by its max_runtime"), "{}", text(&out));
    assert_eq!(job_status(&w, "job", "long"), "timed_out");
    assert!(processes_of(&stack_dir).is_empty(), "the head stopped its compute, idle group included");
    let again = w.gaform(&["plan", "job.gaf", "--detailed-exitcode"], &[]);
    assert_eq!(code(&again), 0, "a timed-out job is done: {}", text(&again));
    // Why the work stopped, and why the compute went, are in the event log.
    let events = text(&w.gaform(&["events", "--json", "job.gaf"], &[]));
    assert!(events.contains("\"event\":\"job_timed_out\",\"job\":\"long\",\"max_runtime\":1.0"), "{events}");
    // The stopped job's workers went with it: the head and the spare were left.
    assert!(events.contains("\"event\":\"compute_ended\",\"compute\":\"box\",\"instances\":2"), "{events}");

    let idle = IDLE.replace("compute idle {\n", "compute idle {\n  auto_terminate = 1s\n");
    let w = Workspace::new("idle", &idle);
    let stack_dir = w.0.join(".gaform/job");
    ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));
    wait_until("the idle compute to terminate itself", Duration::from_secs(60), || {
        processes_of(&stack_dir).is_empty()
    });
    assert!(w
        .read(".gaform/job/events.log")
        .contains("compute.idle: terminated (idle for auto_terminate = 1s)"));
    let events = text(&w.gaform(&["events", "--json", "job.gaf"], &[]));
    assert!(events.contains("\"event\":\"compute_ended\",\"compute\":\"idle\""), "{events}");
    let plan = w.gaform(&["plan", "job.gaf", "--detailed-exitcode"], &[]);
    assert_eq!(code(&plan), 2, "a compute without jobs is brought back: {}", text(&plan));
}

#[test]
fn apply_without_yes_changes_nothing() {
    let w = Workspace::new("confirm", IDLE);
    let out = crate::support::gaform_in(&w.0, &["apply", "job.gaf"], Some("no\n"));
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(text(&out).contains("Only 'yes' will be accepted") && text(&out).contains("Apply cancelled."));
    assert!(processes_of(&w.0.join(".gaform/job")).is_empty());
    assert!(!w.0.join(".gaform/job/stack.json").exists());
}

#[test]
fn a_killed_head_is_reported_and_the_next_apply_brings_it_back() {
    let w = Workspace::new("killhead", LONG);
    let stack_dir = w.0.join(".gaform/job");
    let attached = w
        .command(&["apply", "job.gaf", "--auto-approve"], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = stack_dir.join("jobs/long/log");
    wait_until("the job to start", Duration::from_secs(120), || {
        std::fs::read_to_string(&log).unwrap_or_default().contains("generation 5/")
    });
    let record: serde_json::Value =
        serde_json::from_str(&w.read(".gaform/job/instances/compute.box.head[0].json")).unwrap();
    let pid = record["process"]["pid"].as_u64().unwrap() as i32;
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
    let out = attached.wait_with_output().unwrap();
    assert_eq!(code(&out), 1);
    assert!(text(&out).contains("the head of compute `box` is gone"), "{}", text(&out));
    let plan = w.gaform(&["plan", "job.gaf"], &[]);
    assert!(
        text(&plan).contains("+ compute.box.head")
            && text(&plan).contains("Plan: 1 to add, 0 to change, 0 to destroy."),
        "{}",
        text(&plan)
    );
    let again = w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]);
    assert_eq!(code(&again), 0, "{}", text(&again));
    assert!(text(&again).contains("long: best rsi_reversion("), "{}", text(&again));
    assert!(processes_of(&stack_dir).is_empty(), "apply returns once its compute is gone");
}

#[test]
fn ctrl_c_stops_the_walk_cleanly_and_releases_the_lock() {
    let w = Workspace::new("interrupt", IDLE);
    let stack_dir = w.0.join(".gaform/job");
    let apply = w
        .command(&["apply", "job.gaf", "--auto-approve", "--parallelism", "1"], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // As soon as the first instance is recorded: the walk has three groups still to go.
    let started = Instant::now();
    while std::fs::read_dir(stack_dir.join("instances")).map_or(0, |d| d.count()) == 0 {
        assert!(started.elapsed() < Duration::from_secs(60), "apply never started an instance");
        std::thread::sleep(Duration::from_micros(200));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(apply.id() as i32), nix::sys::signal::Signal::SIGINT)
        .unwrap();
    let out = apply.wait_with_output().unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        text(&out).contains("Apply interrupted:") && text(&out).contains("not started (interrupted)"),
        "{}",
        text(&out)
    );
    assert!(!stack_dir.join("lock").exists(), "the lock is released");
    let plan = w.gaform(&["plan", "job.gaf", "--detailed-exitcode"], &[]);
    assert_eq!(code(&plan), 2, "what is left: {}", text(&plan));
    ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));
    let now = slots(&stack_dir);
    assert!(now.len() == 19 && now.values().all(|&n| n == 1), "{now:?}");
    ok(&w.gaform(&["destroy", "job.gaf", "--auto-approve"], &[]));
    assert!(
        processes_of(&stack_dir).is_empty(),
        "workers stop on SIGTERM: they do not inherit apply's blocked signals"
    );
}
