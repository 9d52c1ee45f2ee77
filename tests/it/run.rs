//! `gaform run` and `gaform worker`: the same bytes whatever the thread count and whether
//! islands run as threads or processes, a worker killed and restarted changes nothing, and
//! bad input is refused with a message.

use crate::support::{ok, Workspace};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Three islands, epochs of 5 generations: small enough to run in a blink.
const JOB: &str = r#"
cloud here { provider = local }
compute box {
  cloud = here
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  max = 3 }
}
job evolve {
  compute     = box
  data        = "GOOG_wiki.csv"
  strategy    = rsi_reversion(period = 2..30, lower = 10..45, upper = 55..90)
  fitness     = sharpe - max_drawdown / 10
  population  = 40
  generations = 20
  selection   = rank()
  crossover   = blend(alpha = 0.3, rate = 0.8)
  mutation    = gaussian(sigma = 0.15, rate = 0.3)
  elitism     = 2
  migration { every = 5  count = 3 }
  seed        = 99
}
"#;

#[test]
fn same_bytes_with_one_thread_two_threads_and_worker_processes() {
    let w = Workspace::new("same", JOB);
    let stdout = ok(&w.gaform(&["run", "job.gaf", "--out", "one"], &[("RAYON_NUM_THREADS", "1")]));
    assert!(stdout.contains("evolve: best rsi_reversion("), "{stdout}");
    ok(&w.gaform(&["run", "job.gaf", "--out", "two"], &[("RAYON_NUM_THREADS", "2")]));
    ok(&w.gaform(&["run", "job.gaf", "--out", "procs", "--islands-as", "processes"], &[]));
    for file in ["best.json", "generations.csv", "hall_of_fame.csv", "fitness.svg", "equity.svg"] {
        let one = w.read(&format!("one/{file}"));
        assert_eq!(one, w.read(&format!("two/{file}")), "{file}: 1 vs 2 threads");
        assert_eq!(one, w.read(&format!("procs/{file}")), "{file}: threads vs processes");
    }
    let best: serde_json::Value = serde_json::from_str(&w.read("one/best.json")).unwrap();
    assert_eq!(best["seed"], 99);
    assert_eq!(best["islands"], 3, "islands default to the worker group's max");
    assert_eq!(best["strategy"]["strategy"], "rsi_reversion");
    for key in ["sharpe", "sortino", "calmar", "total_return", "max_drawdown", "annual_volatility"] {
        assert!(best["metrics"][key].is_number(), "{key}");
    }
    let generations = w.read("one/generations.csv");
    assert_eq!(generations.lines().next(), Some("generation,best,mean,std,evaluations"));
    assert_eq!(generations.lines().count(), 22);
    assert_eq!(w.read("one/timings.csv").lines().count(), 1 + 3 * 21);
    assert_eq!(w.read("one/hall_of_fame.csv").lines().count(), 11);
}

/// The job above on an SMA crossover ranked by Sharpe, required to trade often and fall
/// little (its unconstrained best trades 49 times).
fn constrained_job() -> String {
    JOB.replace(
        "rsi_reversion(period = 2..30, lower = 10..45, upper = 55..90)",
        "sma_crossover(fast = 2..50, slow = 10..200)",
    )
    .replace(
        "fitness     = sharpe - max_drawdown / 10",
        "fitness     = sharpe\n  constraints = [trades >= 60, max_drawdown < 25%]",
    )
}

#[test]
fn constraints_sink_the_genomes_that_break_them_and_best_json_counts_them_the_same_everywhere() {
    let w = Workspace::new("constraints", &constrained_job());
    let stdout = ok(&w.gaform(&["run", "job.gaf", "--out", "one"], &[("RAYON_NUM_THREADS", "1")]));
    assert!(stdout.contains("constraints: of "), "{stdout}");
    ok(&w.gaform(&["run", "job.gaf", "--out", "procs", "--islands-as", "processes"], &[]));
    for file in ["best.json", "generations.csv", "hall_of_fame.csv"] {
        assert_eq!(w.read(&format!("one/{file}")), w.read(&format!("procs/{file}")), "{file}");
    }
    let best: serde_json::Value = serde_json::from_str(&w.read("one/best.json")).unwrap();
    let counts = best["constraints"].as_array().expect("constraints in best.json");
    let evaluations = best["evaluations"].as_u64().unwrap();
    let broken: Vec<u64> = counts.iter().map(|c| c["broken"].as_u64().unwrap()).collect();
    assert_eq!(counts[0]["constraint"], "trades >= 60");
    assert_eq!(counts[1]["constraint"], "max_drawdown < 0.25");
    assert!(broken.iter().all(|&n| n > 0 && n < evaluations), "{broken:?} of {evaluations}");
    // Every genome in the hall of fame meets both.
    let hall = w.read("one/hall_of_fame.csv");
    let header: Vec<&str> = hall.lines().next().unwrap().split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let (trades, drawdown) = (column("trades"), column("max_drawdown"));
    for row in hall.lines().skip(1) {
        let cells: Vec<&str> = row.split(',').collect();
        assert!(cells[trades].parse::<u64>().unwrap() >= 60, "{row}");
        assert!(cells[drawdown].parse::<f64>().unwrap() < 0.25, "{row}");
    }
    // Without the constraints the same search prefers a genome that breaks one.
    let free = constrained_job().replace("\n  constraints = [trades >= 60, max_drawdown < 25%]", "");
    std::fs::write(w.path("free.gaf"), free).unwrap();
    ok(&w.gaform(&["run", "free.gaf", "--out", "free"], &[]));
    let unconstrained: serde_json::Value = serde_json::from_str(&w.read("free/best.json")).unwrap();
    let m = &unconstrained["metrics"];
    assert!(
        m["trades"].as_u64().unwrap() < 60 || m["max_drawdown"].as_f64().unwrap() >= 0.25,
        "the constraints changed nothing: {m}"
    );
    assert!(unconstrained.get("constraints").is_none());
}

#[test]
fn the_compiler_allows_the_constraints_a_genome_can_break() {
    assert_eq!(gaform_compiler::check::MAX_CONSTRAINTS, gaform_runtime::ga::MAX_CONSTRAINTS);
}

fn wait_for_file(path: &Path) {
    let started = Instant::now();
    while !path.exists() {
        assert!(started.elapsed() < Duration::from_secs(60), "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn worker(w: &Workspace, island: &str) -> Child {
    w.command(&["worker", "--store", "killed/store", "--island", island], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_worker_killed_between_epochs_and_restarted_gives_the_same_result() {
    let w = Workspace::new("kill", JOB);
    ok(&w.gaform(&["run", "job.gaf", "--out", "whole"], &[]));
    let prepared = ok(&w.gaform(&["run", "job.gaf", "--out", "killed", "--prepare"], &[]));
    assert!(prepared.contains("gaform worker --store killed/store --island 2"), "{prepared}");
    // Island 1 alone: it finishes its first epoch, checkpoints, then waits for island 0's
    // migrants, which cannot come. Kill it there (SIGKILL: no chance to tidy up).
    let mut island1 = worker(&w, "1");
    wait_for_file(&w.0.join("killed/store/islands/1/gen-000005.json"));
    std::thread::sleep(Duration::from_millis(50));
    island1.kill().unwrap();
    island1.wait().unwrap();
    assert!(!w.0.join("killed/store/islands/1/gen-000010.json").exists());
    let restarted: Vec<Child> = ["0", "1", "2"].iter().map(|k| worker(&w, k)).collect();
    for mut child in restarted {
        assert!(child.wait().unwrap().success());
    }
    // Every island is done: `run` only gathers.
    ok(&w.gaform(&["run", "job.gaf", "--out", "killed"], &[]));
    for file in ["best.json", "generations.csv", "hall_of_fame.csv"] {
        assert_eq!(w.read(&format!("whole/{file}")), w.read(&format!("killed/{file}")), "{file}");
    }
}

#[test]
fn ctrl_c_keeps_every_generation_done_and_the_next_run_ends_as_if_never_stopped() {
    use std::io::BufRead;
    let job =
        JOB.replace("population  = 40", "population  = 1000").replace("generations = 20", "generations = 60");
    let w = Workspace::new("ctrl-c", &job);
    ok(&w.gaform(&["run", "job.gaf", "--out", "whole"], &[]));
    let mut run = w
        .command(&["run", "job.gaf", "--out", "stopped"], &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Its progress lines (stderr is no terminal): Ctrl-C once island 0 bred two generations.
    let mut lines = std::io::BufReader::new(run.stderr.take().unwrap()).lines();
    let mut said = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        said.push_str(&line);
        if line.starts_with("island 0 · generation 2/60") {
            let pid = nix::unistd::Pid::from_raw(run.id() as i32);
            nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
            break;
        }
    }
    said.extend(lines.map_while(Result::ok));
    let out = run.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{said}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("stopped: interrupted"), "{stdout}");
    let best: serde_json::Value = serde_json::from_str(&w.read("stopped/best.json")).unwrap();
    assert!(best["status"].as_str().unwrap().starts_with("stopped: interrupted"), "{best}");
    let rows = w.read("stopped/generations.csv").lines().count() - 1;
    assert!((3..61).contains(&rows), "generations 0 to 2 at least, not the whole run: {rows} rows");
    // Run again: it resumes where each island was saved, and ends as a run never stopped.
    let resumed = w.gaform(&["run", "job.gaf", "--out", "stopped"], &[]);
    assert!(String::from_utf8_lossy(&resumed.stderr).contains("resumed from its checkpoint"));
    ok(&resumed);
    for file in ["best.json", "generations.csv", "hall_of_fame.csv", "windows.csv"] {
        assert_eq!(w.read(&format!("whole/{file}")), w.read(&format!("stopped/{file}")), "{file}");
    }
}

#[test]
fn bad_input_is_refused_with_a_message() {
    let two_jobs =
        format!("{JOB}\n{}", JOB.split("job evolve").nth(1).map(|j| format!("job again{j}")).unwrap());
    let w = Workspace::new("bad", &two_jobs);
    let out = w.gaform(&["run", "job.gaf"], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("several jobs (`evolve`, `again`): choose one with --job"), "{stderr}");
    let out = w.gaform(&["run", "job.gaf", "--job", "evolv"], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no job `evolv`"));

    std::fs::write(w.0.join("job.gaf"), JOB.replace("population  = 40", "population  = 1")).unwrap();
    let out = w.gaform(&["run", "job.gaf"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("E0009"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    std::fs::write(w.0.join("GOOG_wiki.csv"), "Date,Open,High,Low,Close\n2020-01-02,1,2,0.5,x\n").unwrap();
    std::fs::write(w.0.join("job.gaf"), JOB).unwrap();
    let out = w.gaform(&["run", "job.gaf"], &[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("GOOG_wiki.csv:2:"), "{stderr}");

    let out = w.gaform(&["worker", "--store", "nowhere", "--island", "0"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("`job.json` is missing"));
    let out = w.gaform(&["worker", "--store", "gs://bucket/run", "--island", "0"], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported store"));
}

#[test]
fn a_damaged_store_is_an_error_naming_the_blob_never_a_panic() {
    let w = Workspace::new("damaged", JOB);
    ok(&w.gaform(&["run", "job.gaf", "--out", "r", "--prepare"], &[]));
    let out = w.gaform(&["worker", "--store", "r/store", "--island", "7"], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("island 7 does not exist: the job has 3 (0 to 2)"));
    let checkpoint = w.0.join("r/store/islands/0/gen-000005.json");
    std::fs::create_dir_all(checkpoint.parent().unwrap()).unwrap();
    for damage in ["", "{", "{\"state\": 1}", "\u{0}\u{ff}"] {
        std::fs::write(&checkpoint, damage).unwrap();
        let out = w.gaform(&["worker", "--store", "r/store", "--island", "0"], &[]);
        assert_eq!(out.status.code(), Some(2), "{damage:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("`islands/0/gen-000005.json` is not readable"), "{damage:?}: {stderr}");
    }
    std::fs::write(w.0.join("r/store/job.json"), "{\"name\": 3}").unwrap();
    let out = w.gaform(&["worker", "--store", "r/store", "--island", "0"], &[]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("`job.json` is not readable"));
}
