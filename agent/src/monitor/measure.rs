//! What a head measures of a running job from its workers' reports: the generation every
//! island has reached and its statistics combined in island order (so they are the row
//! `generations.csv` will have), each island's latest, and, over the last tick, the
//! backtests run, their mean time and the share of the workers' CPU time they took.

use gaform_runtime::ga::GenerationStats;
use gaform_runtime::telemetry::{EvalTiming, WorkerReport};
use std::collections::BTreeMap;

/// One job at one tick.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobMeasure {
    /// The generation every island has reached, combined over the islands.
    pub combined: Option<GenerationStats>,
    /// Each island's latest generation.
    pub islands: BTreeMap<u64, GenerationStats>,
    /// Every backtest the head has seen reported since it started (a counter).
    pub timing: EvalTiming,
    /// Mean seconds per backtest over the last window with any.
    pub eval_seconds: Option<f64>,
    /// Share of the reporting workers' CPU time spent in backtests over the last window.
    pub utilisation: Option<f64>,
}

/// The statistics of generation `g` combined over islands `0..islands` in island order, `g`
/// being the latest generation each of them has reached; `None` until every island has
/// reported it.
pub fn combined(reports: &[WorkerReport], islands: u64) -> Option<GenerationStats> {
    let history = |island: u64| reports.iter().find_map(|r| r.islands.get(&island));
    let latest =
        (0..islands).map(|i| history(i)?.last().map(|s| s.generation)).collect::<Option<Vec<_>>>()?;
    let g = latest.into_iter().min()?;
    let mut out: Option<GenerationStats> = None;
    for island in 0..islands {
        let stats = history(island)?.iter().find(|s| s.generation == g)?;
        out = Some(match out {
            None => stats.clone(),
            Some(so_far) => so_far.combine(stats),
        });
    }
    out
}

/// Each island's latest generation, from whichever report holds it.
pub fn latest_by_island(reports: &[WorkerReport]) -> BTreeMap<u64, GenerationStats> {
    let mut out: BTreeMap<u64, GenerationStats> = BTreeMap::new();
    for report in reports {
        for (island, history) in &report.islands {
            if let Some(last) = history.last() {
                let newer = out.get(island).is_none_or(|s| s.generation < last.generation);
                if newer {
                    out.insert(*island, last.clone());
                }
            }
        }
    }
    out
}

/// What a head has already counted of each worker's report, so that each tick adds only
/// what is new: a replaced worker (a new `started`) counts from nothing again.
#[derive(Debug, Default)]
pub struct Tally {
    seen: BTreeMap<String, WorkerReport>,
    total: EvalTiming,
    eval_seconds: Option<f64>,
    utilisation: Option<f64>,
}

impl Tally {
    /// Takes in this tick's reports of one job's workers; the job's measure.
    pub fn measure(&mut self, reports: &[WorkerReport], islands: u64) -> JobMeasure {
        let (mut new, mut busy, mut available) = (EvalTiming::default(), 0.0, 0.0);
        for report in reports {
            let before = self.seen.get(&report.worker).filter(|b| b.started == report.started);
            let (timing, since) = match before {
                Some(b) if b.updated >= report.updated => continue,
                Some(b) => (minus(&report.timing, &b.timing), b.updated),
                None => (report.timing.clone(), report.started),
            };
            busy += timing.seconds;
            available += report.threads as f64 * (report.updated - since);
            new.add(&timing);
            self.seen.insert(report.worker.clone(), report.clone());
        }
        if new.count > 0 {
            self.eval_seconds = Some(new.seconds / new.count as f64);
        }
        if available > 0.0 {
            self.utilisation = Some((busy / available).clamp(0.0, 1.0));
        }
        self.total.add(&new);
        JobMeasure {
            combined: combined(reports, islands),
            islands: latest_by_island(reports),
            timing: self.total.clone(),
            eval_seconds: self.eval_seconds,
            utilisation: self.utilisation,
        }
    }
}

/// `after - before` of one worker's cumulative timing.
fn minus(after: &EvalTiming, before: &EvalTiming) -> EvalTiming {
    let buckets = if before.buckets.len() == after.buckets.len() {
        after.buckets.iter().zip(&before.buckets).map(|(a, b)| a.saturating_sub(*b)).collect()
    } else {
        after.buckets.clone()
    };
    EvalTiming {
        count: after.count.saturating_sub(before.count),
        seconds: (after.seconds - before.seconds).max(0.0),
        buckets,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(generation: u64, best: f64) -> GenerationStats {
        GenerationStats {
            generation,
            best,
            finite: 2,
            mean: best / 2.0,
            m2: 1.0,
            evaluations: 2,
            broken: Vec::new(),
        }
    }

    fn report(
        worker: &str,
        islands: &[(u64, &[(u64, f64)])],
        started: f64,
        updated: f64,
        busy: f64,
    ) -> WorkerReport {
        let mut timing = EvalTiming::default();
        timing.record(busy);
        WorkerReport {
            worker: worker.into(),
            threads: 2,
            started,
            updated,
            islands: islands
                .iter()
                .map(|(i, gens)| (*i, gens.iter().map(|&(g, b)| stats(g, b)).collect()))
                .collect(),
            timing,
        }
    }

    #[test]
    fn the_job_is_at_the_generation_every_island_has_reached_combined_in_island_order() {
        let a = report("slot-0", &[(0, &[(3, 1.0), (4, 1.5), (5, 1.7)])], 0.0, 1.0, 0.1);
        let b = report("slot-1", &[(1, &[(3, 2.0), (4, 2.5)])], 0.0, 1.0, 0.1);
        let c = combined(&[a.clone(), b.clone()], 2).unwrap();
        assert_eq!((c.generation, c.best), (4, 2.5));
        assert_eq!(c, stats(4, 1.5).combine(&stats(4, 2.5)));
        // An island not yet reported: no job generation.
        assert_eq!(combined(std::slice::from_ref(&a), 2), None);
        assert_eq!(latest_by_island(&[a, b])[&0].generation, 5);
    }

    #[test]
    fn a_tally_counts_each_report_once_and_a_replaced_worker_from_nothing() {
        let mut tally = Tally::default();
        let first = report("slot-0", &[], 0.0, 10.0, 4.0);
        let m = tally.measure(std::slice::from_ref(&first), 1);
        assert_eq!(m.timing.count, 1);
        assert_eq!(m.utilisation, Some(4.0 / 20.0));
        // The same report again adds nothing.
        assert_eq!(tally.measure(&[first], 1).timing.count, 1);
        // A newer report of the same worker: only the difference, over the time since.
        let mut later = report("slot-0", &[], 0.0, 20.0, 4.0);
        later.timing.record(6.0);
        let m = tally.measure(&[later], 1);
        assert_eq!((m.timing.count, m.eval_seconds, m.utilisation), (2, Some(6.0), Some(6.0 / 20.0)));
        // A replacement (new `started`) counts whole.
        let m = tally.measure(&[report("slot-0", &[], 30.0, 35.0, 1.0)], 1);
        assert_eq!(m.timing.count, 3);
    }
}
