//! Running islands against a store: each island evolves on its own, and at every epoch end
//! writes a checkpoint, then takes its migrants from its ring neighbour's checkpoint of the
//! same generation. Epochs are therefore synchronous, and an island restarted from its last
//! checkpoint redoes exactly what it lost: a killed worker changes nothing in the result.

use super::checkpoint::{
    checkpoint_key, furthest_saved, interrupted_key, latest, prune, prunes_at, Checkpoint, Restored, Sealing,
};
use super::config::{ConfigError, JobConfig};
use super::error::{corrupt, read, RunError};
use super::evaluate::Evaluator;
use super::folds::{Asset, Fold, Window};
use super::hall::{ranked, Scored};
use super::island::Island;
use super::stats::GenerationStats;
use crate::data::{self, Ohlcv};
use crate::store::Store;
use crate::telemetry::EvalTiming;
use std::time::{Duration, Instant};

/// The key of the run's configuration.
pub const JOB_KEY: &str = "job.json";

/// The key of the run's data (`name` is the data's file name).
pub fn data_key(name: &str) -> String {
    let safe: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
        .collect();
    format!("data/{}", safe.trim_start_matches('.'))
}

/// What an island reports as it goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A generation was scored (`stats` in full, as `generations.csv` combines them;
    /// `timing`: its backtests).
    Generation {
        island: u64,
        generation: u64,
        best: f64,
        mean: f64,
        evaluations: u64,
        seconds: f64,
        stats: GenerationStats,
        timing: EvalTiming,
    },
    /// The island picked up from its checkpoint.
    Resumed { island: u64, generation: u64 },
}

impl Event {
    /// The event as one plain line, `generations` being the run's: what logs and runs
    /// off a terminal show.
    pub fn line(&self, generations: u64) -> String {
        match *self {
            Event::Generation { island, generation, best, mean, evaluations, seconds, .. } => format!(
                "island {island} · generation {generation}/{generations} · best {best:.6} · mean {mean:.6} · {evaluations} backtests in {:.1} ms ({:.0}/s)",
                seconds * 1e3,
                evaluations as f64 / seconds.max(1e-9)
            ),
            Event::Resumed { island, generation } => {
                format!("island {island}: resumed from its checkpoint at generation {generation}")
            }
        }
    }
}

/// How long an island waits for its neighbour's checkpoint before giving up.
#[derive(Clone, Copy, Debug)]
pub struct Patience(pub Duration);

/// Writes the job and its data into `store`: what every island then reads. Each file
/// (`(name in the job, CSV text, origin)`, in the job's order; the origin, its path say,
/// names it in errors) is checked first, and so are its windows.
pub fn prepare(store: &dyn Store, config: &JobConfig, files: &[(&str, &str, &str)]) -> Result<(), RunError> {
    config.validate()?;
    let names: Vec<&str> = files.iter().map(|(name, _, _)| *name).collect();
    if names != config.data.iter().map(String::as_str).collect::<Vec<_>>() {
        return Err(RunError::Config(ConfigError::Field {
            field: "data",
            rule: "the files given",
            found: names.join(", "),
        }));
    }
    let mut assets = Vec::new();
    for (name, csv, origin) in files {
        assets.push(Asset::new(name, data::parse(origin, csv)?));
    }
    folds_of(config, &assets)?;
    for (name, csv, _) in files {
        store.put(&data_key(name), csv.as_bytes())?;
    }
    let job = serde_json::to_vec_pretty(config).map_err(|e| corrupt(store, JOB_KEY, &e))?;
    store.put(JOB_KEY, &job)?;
    Ok(())
}

/// The folds the job's validation cuts `assets` into, which must be the number the job
/// was planned with.
pub fn folds_of(config: &JobConfig, assets: &[Asset]) -> Result<Vec<Fold>, RunError> {
    let times: Vec<(&str, &[i64])> =
        assets.iter().map(|a| (a.name.as_str(), a.data.time.as_slice())).collect();
    let splits = config.validation.folds(&times)?;
    if splits.len() as u64 != config.folds {
        return Err(RunError::Config(ConfigError::Field {
            field: "folds",
            rule: "the number the data holds",
            found: format!("{} planned, {} in the data", config.folds, splits.len()),
        }));
    }
    Ok(splits
        .into_iter()
        .map(|per_asset| {
            let (mut train, mut test) = (Vec::new(), Vec::new());
            for (asset, split) in assets.iter().zip(per_asset) {
                train.push(Window::of(asset, split.train));
                test.extend(split.test.map(|range| Window::of(asset, range)));
            }
            Fold { train, test }
        })
        .collect())
}

/// The job in `store`, validated.
pub fn load_job(store: &dyn Store) -> Result<JobConfig, RunError> {
    let config: JobConfig = read(store, JOB_KEY)?.ok_or_else(|| RunError::Missing {
        store: store.describe(),
        key: JOB_KEY.into(),
        hint: "prepare the run first (`gaform run --prepare`)",
    })?;
    config.validate()?;
    Ok(config)
}

/// The job's data files from `store`, in the job's order.
pub fn load_data(store: &dyn Store, config: &JobConfig) -> Result<Vec<Ohlcv>, RunError> {
    config
        .data
        .iter()
        .map(|name| {
            let key = data_key(name);
            let bytes = store.get(&key)?.ok_or_else(|| RunError::Missing {
                store: store.describe(),
                key: key.clone(),
                hint: "prepare the run first (`gaform run --prepare`)",
            })?;
            let text = String::from_utf8(bytes).map_err(|e| corrupt(store, &key, &e))?;
            Ok(data::parse(name, &text)?)
        })
        .collect()
}

/// A prepared job read back from its store: configuration, files and folds, loaded once
/// and shared read-only by every island of the process.
pub struct Loaded {
    pub config: JobConfig,
    pub assets: Vec<Asset>,
    pub folds: Vec<Fold>,
}

impl Loaded {
    /// Reads and validates the job and its data from `store`.
    pub fn from(store: &dyn Store) -> Result<Loaded, RunError> {
        let config = load_job(store)?;
        let assets: Vec<Asset> =
            config.data.iter().zip(load_data(store, &config)?).map(|(name, d)| Asset::new(name, d)).collect();
        let folds = folds_of(&config, &assets)?;
        Ok(Loaded { config, assets, folds })
    }
}

/// What an island is told between generations (and while it waits for a neighbour).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Steer {
    Go,
    /// Stop: the island resumes from its last epoch checkpoint.
    Stop,
    /// Write a checkpoint of the generation reached ([`interrupted_key`]), then stop: a
    /// restart resumes from there, with the same final result.
    SaveAndStop,
}

/// Asked between generations (and while an island waits for a neighbour).
pub type Steering<'a> = &'a (dyn Fn() -> Steer + Sync);

/// Runs island `island` of a job already loaded to its end (or until `steer` stops it),
/// resuming from where it was saved if it was.
fn evolve(
    store: &dyn Store,
    job: &Loaded,
    island: u64,
    patience: Patience,
    pool: Option<&rayon::ThreadPool>,
    on_event: &(dyn Fn(Event) + Sync),
    steer: Steering<'_>,
) -> Result<(), RunError> {
    let Loaded { config, folds, .. } = job;
    let fold = usize::try_from(island / config.islands.max(1)).ok().and_then(|f| folds.get(f));
    let Some(fold) = fold.filter(|_| island < config.units()) else {
        return Err(RunError::NoSuchIsland { island, islands: config.units() });
    };
    let mut evaluator =
        Evaluator::new(&fold.train, config.costs, &config.space, &config.fitness, config.aggregate)
            .with_constraints(&config.constraints)
            .with_pool(pool);
    let ends = config.epoch_ends();
    // The ring runs within the island's fold.
    let first = island - island % config.islands.max(1);
    let ring = config.islands.max(1);
    let neighbour = first + (island - first + ring - 1) % ring;
    let successor = first + (island - first + 1) % ring;
    // Read once: where the island is, and which of its checkpoints it still keeps.
    let pointer = latest(store, island)?;
    let mut kept_from = pointer.map_or(0, |l| l.kept_from);
    let (mut state, mut seconds, mut sealing) = match furthest_saved(store, island, &ends, pointer)? {
        Some(restored) => {
            let c = &restored.checkpoint;
            on_event(Event::Resumed { island, generation: c.state.generation });
            // In the order they were stored: those of the segments first.
            evaluator.mark_seen(c.seen.iter().copied());
            for s in c.state.population.iter().chain(&c.state.hall.entries) {
                evaluator.remember(&s.genome, s.fitness);
            }
            let sealing = Sealing::resumed(island, &restored, &evaluator);
            let Restored { checkpoint, .. } = restored;
            (checkpoint.state, checkpoint.seconds, sealing)
        }
        None => {
            let started = Instant::now();
            let state = Island::initial(config, island, &mut evaluator);
            let seconds = vec![started.elapsed().as_secs_f64()];
            report(on_event, &state, &seconds, evaluator.take_timing());
            let mut sealing = Sealing::new(island);
            sealing.scored(state.generation, &evaluator);
            (state, seconds, sealing)
        }
    };
    for (index, &end) in ends.iter().enumerate() {
        if end < state.generation {
            continue;
        }
        // False only for the epoch end this island resumed at: its checkpoint exists.
        let reached_now = state.generation < end;
        while state.generation < end {
            match steer() {
                Steer::Go => {}
                Steer::Stop => return Err(RunError::Interrupted),
                Steer::SaveAndStop => {
                    sealing.save(store, &interrupted_key(island), &mut state, &mut seconds, &evaluator)?;
                    return Err(RunError::Interrupted);
                }
            }
            let started = Instant::now();
            state.step(config, &mut evaluator);
            seconds.push(started.elapsed().as_secs_f64());
            sealing.scored(state.generation, &evaluator);
            report(on_event, &state, &seconds, evaluator.take_timing());
        }
        if reached_now {
            sealing.save(store, &checkpoint_key(island, end), &mut state, &mut seconds, &evaluator)?;
            if prunes_at(index, &ends) {
                kept_from = prune(store, island, successor, end, &ends, kept_from)?;
            }
        }
        if end < config.generations && config.islands > 1 {
            let from = wait_for(store, neighbour, end, patience, steer)?;
            let migrants: Vec<Scored> = ranked(&from.state.population)
                .into_iter()
                .take(count(config.migration.count))
                .cloned()
                .collect();
            state.receive(&migrants, &mut evaluator);
        }
    }
    Ok(())
}

fn count(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn report(on_event: &(dyn Fn(Event) + Sync), state: &Island, seconds: &[f64], timing: EvalTiming) {
    if let Some(stats) = state.history.last() {
        on_event(Event::Generation {
            island: state.index,
            generation: stats.generation,
            best: stats.best,
            mean: stats.mean,
            evaluations: stats.evaluations,
            seconds: seconds.last().copied().unwrap_or(0.0),
            stats: stats.clone(),
            timing,
        });
    }
}

/// Polls for a checkpoint, backing off from 1 ms to 100 ms between looks.
fn wait_for(
    store: &dyn Store,
    island: u64,
    generation: u64,
    patience: Patience,
    steer: Steering<'_>,
) -> Result<Checkpoint, RunError> {
    let key = checkpoint_key(island, generation);
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if let Some(c) = read::<Checkpoint>(store, &key)? {
            return Ok(c);
        }
        // Waiting at an epoch end: its checkpoint is written, there is nothing more to save.
        if steer() != Steer::Go {
            return Err(RunError::Interrupted);
        }
        if started.elapsed() > patience.0 {
            return Err(RunError::NeighbourTimeout {
                neighbour: island,
                generation,
                waited: started.elapsed(),
                store: store.describe(),
            });
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(100));
    }
}

/// Runs every island of the job in `store` as a thread of this process, and returns the
/// first error, if any. Each island's backtests spread over `pool` (rayon's global pool if
/// `None`).
pub fn run_islands_as_threads(
    store: &dyn Store,
    patience: Patience,
    pool: Option<&rayon::ThreadPool>,
    on_event: &(dyn Fn(Event) + Sync),
) -> Result<(), RunError> {
    let islands = load_job(store)?.units();
    run_islands(store, &(0..islands).collect::<Vec<_>>(), patience, pool, on_event)
}

/// Runs some of a job's islands, one thread each, in this process: what one worker of a
/// group smaller than the island count does (worker k of n runs islands k, k + n, ...).
/// The islands this process does not run must be running elsewhere, or the epochs wait.
pub fn run_islands(
    store: &dyn Store,
    islands: &[u64],
    patience: Patience,
    pool: Option<&rayon::ThreadPool>,
    on_event: &(dyn Fn(Event) + Sync),
) -> Result<(), RunError> {
    run_islands_steered(store, islands, patience, pool, on_event, &|| Steer::Go)
}

/// `run_islands`, steered between generations: `Stop` stops every island
/// (`RunError::Interrupted`) where it resumes from its last epoch checkpoint, `SaveAndStop`
/// has each write where it is first: how a worker on a reclaimed instance keeps its work.
pub fn run_islands_steered(
    store: &dyn Store,
    islands: &[u64],
    patience: Patience,
    pool: Option<&rayon::ThreadPool>,
    on_event: &(dyn Fn(Event) + Sync),
    steer: Steering<'_>,
) -> Result<(), RunError> {
    let job = &Loaded::from(store)?;
    std::thread::scope(|scope| {
        let handles: Vec<_> = islands
            .iter()
            .copied()
            .map(|island| scope.spawn(move || evolve(store, job, island, patience, pool, on_event, steer)))
            .collect();
        let mut first_error = None;
        for handle in handles {
            // A panicking island is a bug; its thread's panic is re-raised here.
            let result = handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            if let Err(e) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    })
}
