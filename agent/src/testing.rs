//! What the head's, the fleet's and the worker's loop tests share: a small job prepared on a
//! store, a running job's record, a worker's entry in the ledger.

use gaform_compiler::ir::Market;
use gaform_compiler::plan::{Addr, JobStatus};
use gaform_control::ledger::Entry;
use gaform_providers::local::JobRecord;
use gaform_runtime::backtest::Costs;
use gaform_runtime::ga::{
    self, Aggregate, Crossover, Fitness, JobConfig, Metric, Migration, Mutation, Range, Selection, Space,
};
use gaform_runtime::store::Store;
use gaform_runtime::windows::Validation;
use std::path::{Path, PathBuf};

/// A small RSI-reversion job on GOOG_wiki: `islands` islands of 16 for `generations`
/// generations, migrating every 4.
pub fn job(name: &str, islands: u64, generations: u64) -> JobConfig {
    JobConfig {
        name: name.into(),
        data: vec!["GOOG_wiki.csv".into()],
        aggregate: Aggregate::Mean,
        validation: Validation::InSample,
        folds: 1,
        space: Space::RsiReversion {
            period: Range { lo: 2, hi: 30, categorical: false },
            lower: Range { lo: 10, hi: 45, categorical: false },
            upper: Range { lo: 55, hi: 90, categorical: false },
        },
        fitness: Fitness::Metric(Metric::Sharpe),
        constraints: Vec::new(),
        population: 16,
        generations,
        selection: Selection::Tournament { size: 3 },
        crossover: Crossover::Blend { alpha: 0.5, rate: 0.9 },
        mutation: Mutation::Gaussian { sigma: 0.1, rate: 0.3 },
        elitism: 2,
        islands,
        migration: Migration { every: 4, count: 3 },
        seed: 7,
        costs: Costs::default(),
        hall_of_fame: 3,
    }
}

/// Writes `config`'s job and its data (the bundled GOOG_wiki.csv) on `store`.
pub fn prepare(store: &dyn Store, config: &JobConfig) {
    let csv =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/GOOG_wiki.csv"))
            .expect("the bundled data");
    ga::prepare(store, config, &[("GOOG_wiki.csv", &csv, "GOOG_wiki.csv")]).expect("the job is prepared");
}

/// The record of job `name`, running on `group` since `started_at` with `workers` workers
/// (dealt over all of them) and `islands` islands, its results going to `results_dir`.
pub fn running_job(
    name: &str,
    group: &str,
    (workers, islands): (u64, u64),
    results_dir: PathBuf,
    started_at: f64,
) -> JobRecord {
    JobRecord {
        address: Addr(format!("job.{name}")),
        name: name.to_string(),
        attributes: Default::default(),
        depends_on: vec![Addr(group.into())],
        status: JobStatus::Running,
        group: Addr(group.into()),
        workers,
        islands,
        max_runtime_secs: None,
        results_dir,
        started_at,
        finished_at: None,
        summary: None,
        slots: None,
        frozen: false,
        dealt: 0,
        retiring: vec![],
        scaling: None,
        dealt_over: workers,
        replacing: false,
    }
}

/// Worker `id` of `group` (a `c7i.large`), running from `at`.
pub fn worker(id: &str, group: &str, market: Market, per_hour: f64, at: f64) -> Entry {
    Entry {
        instance: id.to_string(),
        address: group.to_string(),
        compute: Addr(group.to_string()).compute().unwrap_or_default().to_string(),
        instance_type: "c7i.large".into(),
        market,
        per_hour,
        simulated: false,
        started_at: at,
        ended_at: None,
        end: None,
    }
}
