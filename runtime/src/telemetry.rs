//! What a worker reports of its run, for its compute's head to measure: each island's
//! recent generations (their statistics in full, so the head combines them exactly as
//! `generations.csv` does) and how the worker's threads spent their time (backtests
//! counted, timed and bucketed). One blob per worker in the job's store, rewritten at most
//! once per interval, so it costs the same on a directory and on S3.

use crate::ga::{Event, GenerationStats};
use crate::store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Upper bounds (seconds) of the evaluation-time histogram's buckets; one more bucket
/// counts the rest. A backtest of a few thousand daily bars takes tens of microseconds.
pub const EVAL_BUCKETS: [f64; 14] =
    [1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1, 1.0];

/// How many generations per island a report keeps: enough to cover islands drifting
/// apart within an epoch and a head that looks once a minute.
const KEPT_GENERATIONS: usize = 256;

/// Backtests counted, their summed seconds (thread time), and a histogram of each one's
/// seconds over `EVAL_BUCKETS` plus one overflow bucket (counts per bucket, not cumulative).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalTiming {
    pub count: u64,
    pub seconds: f64,
    pub buckets: Vec<u64>,
}

impl EvalTiming {
    /// Counts one backtest that took `seconds`.
    pub fn record(&mut self, seconds: f64) {
        if self.buckets.len() != EVAL_BUCKETS.len() + 1 {
            self.buckets = vec![0; EVAL_BUCKETS.len() + 1];
        }
        let bucket = EVAL_BUCKETS.iter().position(|&upper| seconds <= upper).unwrap_or(EVAL_BUCKETS.len());
        self.buckets[bucket] += 1;
        self.count += 1;
        self.seconds += seconds;
    }

    /// Adds `other` into this one.
    pub fn add(&mut self, other: &EvalTiming) {
        if other.buckets.is_empty() {
            return;
        }
        if self.buckets.len() != other.buckets.len() {
            self.buckets = vec![0; other.buckets.len()];
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
        self.count += other.count;
        self.seconds += other.seconds;
    }
}

/// One worker's report.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkerReport {
    /// Which worker (the slot or instance that writes it).
    pub worker: String,
    /// Threads its backtests run on: its share of the machine's CPU time.
    pub threads: u64,
    /// Unix seconds when it started reporting, and when it wrote this report.
    pub started: f64,
    pub updated: f64,
    /// Each of its islands' latest generations, oldest first.
    pub islands: BTreeMap<u64, Vec<GenerationStats>>,
    /// Every backtest since `started`.
    pub timing: EvalTiming,
}

/// The key of `worker`'s report in its job's store.
pub fn report_key(worker: &str) -> String {
    format!("reports/{worker}.json")
}

/// The reports of `workers` found in `store` (a worker that wrote none yet is left out;
/// so is an unreadable one, which the next write replaces).
pub fn read_reports(store: &dyn Store, workers: &[String]) -> Result<Vec<WorkerReport>, StoreError> {
    let mut out = Vec::new();
    for worker in workers {
        if let Some(bytes) = store.get(&report_key(worker))? {
            out.extend(serde_json::from_slice::<WorkerReport>(&bytes).ok());
        }
    }
    Ok(out)
}

/// Gathers a worker's events into its report and writes it to the job's store at most
/// once per `every` (and on `flush`). Writing never fails the run: a lost report costs
/// only a late metric.
pub struct Reporter<'s> {
    store: &'s dyn Store,
    every: Duration,
    inner: Mutex<(WorkerReport, Option<Instant>)>,
}

impl<'s> Reporter<'s> {
    /// A reporter for `worker`, running its backtests on `threads` threads.
    pub fn new(store: &'s dyn Store, worker: &str, threads: usize, every: Duration) -> Reporter<'s> {
        let report = WorkerReport {
            worker: worker.to_string(),
            threads: threads as u64,
            started: unix_now(),
            updated: unix_now(),
            ..WorkerReport::default()
        };
        Reporter { store, every, inner: Mutex::new((report, None)) }
    }

    /// Takes in one island event; writes the report when it is due.
    pub fn event(&self, event: &Event) {
        let Event::Generation { island, stats, timing, .. } = event else { return };
        let Ok(mut inner) = self.inner.lock() else { return };
        let (report, written) = &mut *inner;
        let history = report.islands.entry(*island).or_default();
        history.retain(|s| s.generation < stats.generation);
        history.push(stats.clone());
        if history.len() > KEPT_GENERATIONS {
            history.drain(..history.len() - KEPT_GENERATIONS);
        }
        report.timing.add(timing);
        if written.is_none_or(|at| at.elapsed() >= self.every) {
            self.write(report);
            *written = Some(Instant::now());
        }
    }

    /// Writes the report now (the islands ended, or the worker moves on).
    pub fn flush(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            let (report, written) = &mut *inner;
            self.write(report);
            *written = Some(Instant::now());
        }
    }

    fn write(&self, report: &mut WorkerReport) {
        report.updated = unix_now();
        if let Ok(bytes) = serde_json::to_vec(report) {
            let _ = self.store.put(&report_key(&report.worker), &bytes);
        }
    }
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::LocalDir;

    fn generation(island: u64, generation: u64, best: f64, seconds: &[f64]) -> Event {
        let mut timing = EvalTiming::default();
        seconds.iter().for_each(|&s| timing.record(s));
        let stats = GenerationStats {
            generation,
            best,
            finite: 1,
            mean: best,
            m2: 0.0,
            evaluations: 1,
            broken: Vec::new(),
        };
        Event::Generation {
            island,
            generation,
            best,
            mean: best,
            evaluations: 1,
            seconds: 0.0,
            stats,
            timing,
        }
    }

    #[test]
    fn backtests_fall_in_the_first_bucket_whose_bound_they_do_not_pass() {
        let mut t = EvalTiming::default();
        for s in [5e-6, 1e-5, 3e-5, 2.0] {
            t.record(s);
        }
        assert_eq!((t.count, t.buckets[0], t.buckets[2], t.buckets[EVAL_BUCKETS.len()]), (4, 2, 1, 1));
    }

    #[test]
    fn a_reporter_keeps_each_islands_generations_and_sums_its_backtests() {
        let dir = std::env::temp_dir().join(format!("gaform-telemetry-{}", std::process::id()));
        let store = LocalDir::new(&dir);
        let reporter = Reporter::new(&store, "worker-0", 2, Duration::from_secs(3600));
        reporter.event(&generation(0, 0, 1.0, &[1e-4]));
        reporter.event(&generation(1, 0, 2.0, &[1e-4, 2e-4]));
        reporter.event(&generation(0, 1, 1.5, &[1e-4]));
        // The first event wrote; the rest wait for the interval or a flush.
        let first = &read_reports(&store, &["worker-0".into()]).unwrap()[0];
        assert_eq!(first.timing.count, 1);
        reporter.flush();
        let report = &read_reports(&store, &["worker-0".into(), "worker-9".into()]).unwrap()[..];
        assert_eq!(report.len(), 1);
        assert_eq!(report[0].islands[&0].iter().map(|s| s.generation).collect::<Vec<_>>(), [0, 1]);
        assert_eq!((report[0].timing.count, report[0].threads), (4, 2));
        assert!((report[0].timing.seconds - 5e-4).abs() < 1e-12);
        std::fs::remove_dir_all(dir).ok();
    }
}
