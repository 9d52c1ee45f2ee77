//! The worker loop on a fake cloud: a run steered to a stop mid-way and dealt again ends in
//! the bytes of a run never stopped; an island that fails ends the worker with the cloud's
//! word on it.

use super::{work, Next, Pace, Work, WorkerCloud};
use gaform_providers::CloudError;
use gaform_runtime::ga::{self, RunError, Steer};
use gaform_runtime::store::{LocalDir, Store};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

const GENERATIONS: u64 = 12;

/// A prepared job's store in a directory of its own.
fn prepared(name: &str) -> (PathBuf, Arc<LocalDir>) {
    let dir = std::env::temp_dir().join(format!("gaform-worker-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = Arc::new(LocalDir::new(&dir));
    crate::testing::prepare(&*store, &crate::testing::job("search", 2, GENERATIONS));
    (dir, store)
}

/// A cloud that deals both islands, steers the first run to a stop after `stop_after` polls
/// (a new deal, say), and exits once a run ends whole.
struct Deck {
    store: Arc<LocalDir>,
    stop_after: u64,
    polls: AtomicU64,
    runs: u64,
    endings: Vec<String>,
    lines: AtomicU64,
}

impl WorkerCloud for Deck {
    type Run = u64;

    fn reporter(&self) -> String {
        "slot-0".into()
    }

    fn next(&mut self) -> Result<Next<u64>, CloudError> {
        if self.endings.last().is_some_and(|e| e == "finished") {
            return Ok(Next::Exit("every island is done".into()));
        }
        self.runs += 1;
        let store: Arc<dyn Store> = self.store.clone();
        Ok(Next::Run(Work {
            job: "search".into(),
            store,
            islands: vec![0, 1],
            generations: GENERATIONS,
            run: self.runs,
        }))
    }

    fn steer(&self, work: &Work<u64>) -> Steer {
        let polls = self.polls.fetch_add(1, Ordering::Relaxed);
        if work.run == 1 && polls >= self.stop_after {
            Steer::SaveAndStop
        } else {
            Steer::Go
        }
    }

    fn say(&self, _: &Work<u64>, _: &str) {
        self.lines.fetch_add(1, Ordering::Relaxed);
    }

    fn ran(&mut self, _: Work<u64>, ran: Result<(), RunError>) -> Result<Option<String>, CloudError> {
        match ran {
            Ok(()) => self.endings.push("finished".into()),
            Err(RunError::Interrupted) => self.endings.push("interrupted".into()),
            Err(e) => return Err(format!("the islands failed: {e}").into()),
        }
        Ok(None)
    }
}

fn deck(store: Arc<LocalDir>, stop_after: u64) -> Deck {
    Deck {
        store,
        stop_after,
        polls: AtomicU64::new(0),
        runs: 0,
        endings: Vec::new(),
        lines: AtomicU64::new(0),
    }
}

fn pace(pool: &rayon::ThreadPool) -> Pace<'_> {
    Pace { pool, threads: 2, report_every: Duration::from_millis(50), patience: Duration::from_secs(30) }
}

#[test]
fn a_run_steered_to_a_stop_and_dealt_again_gives_the_bytes_of_a_run_never_stopped() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    let (whole_dir, whole) = prepared("whole");
    let mut straight = deck(whole.clone(), u64::MAX);
    assert_eq!(work(&mut straight, &pace(&pool)).unwrap(), "every island is done");
    assert_eq!(straight.endings, ["finished"]);

    let (cut_dir, cut) = prepared("cut");
    let mut stopped = deck(cut.clone(), 9);
    assert_eq!(work(&mut stopped, &pace(&pool)).unwrap(), "every island is done");
    assert_eq!(stopped.endings, ["interrupted", "finished"], "steered to a stop, then dealt again");
    assert!(stopped.lines.load(Ordering::Relaxed) > 0, "the run's lines are said by the cloud");
    assert!(cut.get("reports/slot-0.json").unwrap().is_some(), "the worker reported on the job's store");

    let (a, b) = (ga::gather(&*whole).unwrap(), ga::gather(&*cut).unwrap());
    assert_eq!(a.generations, b.generations, "every generation's statistics");
    assert_eq!(a.hall, b.hall, "the hall of fame");
    let _ = std::fs::remove_dir_all(whole_dir);
    let _ = std::fs::remove_dir_all(cut_dir);
}

#[test]
fn islands_that_fail_end_the_worker_with_the_clouds_word_on_it() {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let (dir, store) = prepared("broken");
    store.put(ga::JOB_KEY, b"{ not a job").unwrap();
    let failed = work(&mut deck(store, u64::MAX), &pace(&pool)).unwrap_err();
    assert!(failed.to_string().starts_with("the islands failed: "), "{failed}");
    let _ = std::fs::remove_dir_all(dir);
}
