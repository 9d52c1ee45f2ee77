//! The engine end to end on real data: reproducibility whatever the thread count, resuming
//! from checkpoints, elitism, and finding the optimum of a space small enough to sweep.

use super::*;
use crate::backtest::{self, Calendar, Costs, Keep};
use crate::store::{LocalDir, Store};
use crate::windows::Validation;
use std::path::{Path, PathBuf};
use std::time::Duration;

const PATIENCE: Patience = Patience(Duration::from_secs(60));

fn goog() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/GOOG_wiki.csv");
    std::fs::read_to_string(path).unwrap()
}

fn config(islands: u64) -> JobConfig {
    JobConfig {
        name: "test".into(),
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
        population: 40,
        generations: 12,
        selection: Selection::Tournament { size: 3 },
        crossover: Crossover::Blend { alpha: 0.5, rate: 0.9 },
        mutation: Mutation::Gaussian { sigma: 0.1, rate: 0.3 },
        elitism: 2,
        islands,
        migration: Migration { every: 4, count: 3 },
        seed: 11,
        costs: Costs::default(),
        hall_of_fame: 5,
    }
}

/// A fresh directory under the target dir, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("gaform-ga-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }
    fn store(&self) -> LocalDir {
        LocalDir::new(&self.0)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run_with_threads(config: &JobConfig, threads: usize, name: &str) -> (Outcome, Scratch) {
    let scratch = Scratch::new(name);
    let store = scratch.store();
    prepare(&store, config, &[("GOOG_wiki.csv", &goog(), "GOOG_wiki.csv")]).unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    run_islands_as_threads(&store, PATIENCE, Some(&pool), &|_| {}).unwrap();
    (gather(&store).unwrap(), scratch)
}

/// Runs islands 0 and 1 until island 1 has scored `generation`, then stops both the way a
/// dying worker does: saving nothing.
fn kill_island_1_at(store: &LocalDir, generation: u64) {
    let island1 = std::sync::atomic::AtomicU64::new(0);
    let on_event = |e: Event| {
        if let Event::Generation { island: 1, generation, .. } = e {
            island1.store(generation, std::sync::atomic::Ordering::SeqCst);
        }
    };
    let dies = || {
        if island1.load(std::sync::atomic::Ordering::SeqCst) >= generation {
            Steer::Stop
        } else {
            Steer::Go
        }
    };
    let died = run_islands_steered(store, &[0, 1], PATIENCE, None, &on_event, &dies);
    assert!(matches!(died, Err(RunError::Interrupted)), "{died:?}");
}

/// Runs islands 0 and 1 to the end; the generations island 1 resumed at.
fn resume_island_1(store: &LocalDir) -> Vec<u64> {
    let resumed = std::sync::Mutex::new(Vec::new());
    run_islands(store, &[0, 1], PATIENCE, None, &|e| {
        if let Event::Resumed { island: 1, generation } = e {
            resumed.lock().unwrap().push(generation);
        }
    })
    .unwrap();
    resumed.into_inner().unwrap()
}

/// Equal bit for bit (NaN metrics included, which `==` would call unequal).
fn same(a: &Outcome, b: &Outcome) {
    assert_eq!(format!("{:?}", a.hall), format!("{:?}", b.hall));
    assert_eq!(a.generations, b.generations);
    assert_eq!(
        a.equity.iter().map(|e| e.to_bits()).collect::<Vec<_>>(),
        b.equity.iter().map(|e| e.to_bits()).collect::<Vec<_>>()
    );
}

#[test]
fn one_thread_or_two_give_the_same_run() {
    let config = config(3);
    let (one, _a) = run_with_threads(&config, 1, "one");
    let (two, _b) = run_with_threads(&config, 2, "two");
    same(&one, &two);
    assert_eq!(one.generations.len(), 13);
    assert!(one.evaluations() > 0);
    // A different seed is a different run.
    let (other, _c) = run_with_threads(&JobConfig { seed: 12, ..config }, 2, "other");
    assert_ne!(one.generations, other.generations);
}

#[test]
fn an_island_restarted_from_a_checkpoint_ends_as_if_never_stopped() {
    let config = config(2);
    let (whole, _a) = run_with_threads(&config, 2, "whole");
    // Island 1 "dies" partway through its second epoch, saving nothing: its checkpoint at
    // generation 4 is all it leaves (island 0 can get no further than generation 8, where
    // it waits for island 1's migrants).
    let scratch = Scratch::new("killed");
    let store = scratch.store();
    prepare(&store, &config, &[("GOOG_wiki.csv", &goog(), "GOOG_wiki.csv")]).unwrap();
    kill_island_1_at(&store, 6);
    let resumed = resume_island_1(&store);
    assert_eq!(resumed, [4]);
    same(&whole, &gather(&store).unwrap());
}

#[test]
fn an_island_killed_between_its_pointers_resumes_from_its_last_checkpoint_not_its_pointer() {
    // Epochs of 2: island 1 prunes (and points) at generation 8, then writes checkpoints at
    // 10 and 12 and dies in the epoch after, saving nothing.
    let config = JobConfig { generations: 40, migration: Migration { every: 2, count: 3 }, ..config(2) };
    assert_eq!(PRUNE_EVERY, 4, "the generations below assume it");
    let (whole, _a) = run_with_threads(&config, 2, "pointer-whole");
    let scratch = Scratch::new("pointer-killed");
    let store = scratch.store();
    prepare(&store, &config, &[("GOOG_wiki.csv", &goog(), "GOOG_wiki.csv")]).unwrap();
    kill_island_1_at(&store, 13);
    let pointer: Latest = serde_json::from_slice(&store.get(&latest_key(1)).unwrap().unwrap()).unwrap();
    assert_eq!(pointer.generation, 8);
    let resumed = resume_island_1(&store);
    assert_eq!(resumed, [12], "no epoch done twice");
    same(&whole, &gather(&store).unwrap());
}

#[test]
fn islands_interrupted_mid_run_and_run_again_elsewhere_end_as_if_never_stopped() {
    let config = config(2);
    let (whole, _a) = run_with_threads(&config, 2, "never-interrupted");
    let scratch = Scratch::new("interrupted");
    let store = scratch.store();
    prepare(&store, &config, &[("GOOG_wiki.csv", &goog(), "GOOG_wiki.csv")]).unwrap();
    // Both islands on one "worker", told to stop after a few generations: a worker whose
    // islands were given to another (a budget's scale-down).
    let looks = std::sync::atomic::AtomicU32::new(0);
    let steer =
        || if looks.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 14 { Steer::Go } else { Steer::Stop };
    let stopped = run_islands_steered(&store, &[0, 1], PATIENCE, None, &|_| {}, &steer);
    assert!(matches!(stopped, Err(RunError::Interrupted)), "{stopped:?}");
    assert!(!islands_finished(&store, &config).unwrap());
    // The "other worker" takes both over from their checkpoints.
    run_islands(&store, &[0, 1], PATIENCE, None, &|_| {}).unwrap();
    same(&whole, &gather(&store).unwrap());
}

#[test]
fn islands_saved_mid_epoch_resume_where_they_were_and_end_as_if_never_stopped() {
    // One island: nothing waits for a neighbour, so it is asked once a generation and the
    // place it saves at is exact. (An island waiting at an epoch end when told to save
    // has nothing to save: its epoch checkpoint is where it is. Which of the two a worker
    // of several islands meets is timing; the aws notice tests meet both.)
    let config = config(1);
    let (whole, _a) = run_with_threads(&config, 2, "never-saved");
    let scratch = Scratch::new("saved");
    let store = scratch.store();
    prepare(&store, &config, &[("GOOG_wiki.csv", &goog(), "GOOG_wiki.csv")]).unwrap();
    // A worker on a reclaimed instance: told to save and stop partway through its third
    // epoch (epochs end at generations 4, 8 and 12), before generation 12.
    let looks = std::sync::atomic::AtomicU32::new(0);
    let steer = || {
        if looks.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 11 {
            Steer::Go
        } else {
            Steer::SaveAndStop
        }
    };
    let stopped = run_islands_steered(&store, &[0], PATIENCE, None, &|_| {}, &steer);
    assert!(matches!(stopped, Err(RunError::Interrupted)), "{stopped:?}");
    let bytes = store.get(&interrupted_key(0)).unwrap().expect("saved where it was");
    let saved = serde_json::from_slice::<Checkpoint>(&bytes).unwrap().state.generation;
    assert_eq!(saved, 11, "saved mid-epoch");
    assert!(!islands_finished(&store, &config).unwrap());
    // Another worker takes it over from where it was, not from its epoch end.
    let resumed = std::sync::Mutex::new(Vec::new());
    run_islands(&store, &[0], PATIENCE, None, &|e| {
        if let Event::Resumed { island, generation } = e {
            resumed.lock().unwrap().push((island, generation));
        }
    })
    .unwrap();
    assert_eq!(resumed.into_inner().unwrap(), [(0, 11)]);
    same(&whole, &gather(&store).unwrap());
}

#[test]
fn a_stop_before_the_first_checkpoint_keeps_every_generation_done() {
    // Two islands whose first epoch ends at generation 4: told to save and stop at
    // generation 2, before any epoch checkpoint exists (a budget or monitor stop early in a
    // long epoch, which before lost every generation done).
    let config = config(2);
    let scratch = Scratch::new("stopped-early");
    let store = scratch.store();
    prepare(&store, &config, &[("GOOG_wiki.csv", &goog(), "GOOG_wiki.csv")]).unwrap();
    let scored = std::sync::Mutex::new(std::collections::BTreeMap::<u64, u64>::new());
    let on_event = |e: Event| {
        if let Event::Generation { island, generation, .. } = e {
            scored.lock().unwrap().insert(island, generation);
        }
    };
    // Once either island scored generation 2: each stops at its next look, so neither gets
    // past generation 2, whichever runs ahead.
    let steer = || {
        if scored.lock().unwrap().values().any(|&g| g >= 2) {
            Steer::SaveAndStop
        } else {
            Steer::Go
        }
    };
    let stopped = run_islands_steered(&store, &[0, 1], PATIENCE, None, &on_event, &steer);
    assert!(matches!(stopped, Err(RunError::Interrupted)), "{stopped:?}");
    assert!(!store.contains(&checkpoint_key(0, 4)).unwrap(), "no epoch checkpoint was written");
    let so_far = gather_so_far(&store).expect("the generations done are results");
    let reached = scored.into_inner().unwrap();
    // generations.csv holds generation 0 up to the furthest one an island scored.
    let rows = so_far.generations.len() as u64;
    assert_eq!(rows, reached.values().copied().max().unwrap() + 1, "{reached:?}");
    let best = so_far.best().expect("a best genome so far");
    assert_eq!(best.fitness, so_far.generations.iter().map(|g| g.best).fold(f64::MIN, f64::max));
    // Resumed, the run ends as one never stopped.
    run_islands(&store, &[0, 1], PATIENCE, None, &|_| {}).unwrap();
    let (whole, _a) = run_with_threads(&config, 2, "never-stopped-early");
    same(&whole, &gather(&store).unwrap());
}

#[test]
fn a_long_run_keeps_a_few_checkpoints_per_island_not_one_per_epoch() {
    // 30 epochs of 2 generations on a ring of 3: a successor is at most two epochs behind,
    // so an island needs no more than its last three checkpoints; its successor's pointer
    // lags it by up to PRUNE_EVERY - 1 epochs more, and as many again are written between
    // two prunings.
    let most_kept = 3 + 2 * (PRUNE_EVERY - 1);
    let config = JobConfig { generations: 60, migration: Migration { every: 2, count: 3 }, ..config(3) };
    let scratch = Scratch::new("pruned");
    let store = scratch.store();
    prepare(&store, &config, &[("GOOG_wiki.csv", &goog(), "GOOG_wiki.csv")]).unwrap();
    let most = std::sync::Mutex::new(0);
    let count = |island: u64| {
        std::fs::read_dir(scratch.0.join(format!("islands/{island}"))).map_or(0, |d| {
            d.flatten().filter(|e| e.file_name().to_string_lossy().starts_with("gen-")).count()
        })
    };
    run_islands_as_threads(&store, PATIENCE, None, &|e| {
        if let Event::Generation { island, .. } = e {
            let mut most = most.lock().unwrap();
            *most = (*most).max(count(island));
        }
    })
    .unwrap();
    let most = *most.lock().unwrap();
    assert!(most <= most_kept, "at most {most_kept} checkpoints an island at any time: {most}");
    for island in 0..3 {
        assert!(count(island) <= most_kept, "island {island}");
        let pointer: Latest =
            serde_json::from_slice(&store.get(&latest_key(island)).unwrap().unwrap()).unwrap();
        assert_eq!(pointer.generation, 60);
    }
    // The run is the run it always was: the same as one on a single thread.
    let (whole, _a) = run_with_threads(&config, 1, "pruned-one-thread");
    same(&whole, &gather(&store).unwrap());
}

#[test]
fn history_beyond_a_segment_is_sealed_and_a_run_resumed_from_it_ends_as_if_never_stopped() {
    // 2,500 generations: each island's first two thousand go into segments.
    let config = JobConfig {
        population: 20,
        generations: 2_500,
        migration: Migration { every: 100, count: 3 },
        ..config(2)
    };
    let (whole, _a) = run_with_threads(&config, 2, "segmented-whole");
    assert_eq!(whole.generations.len(), 2_501);
    assert!(whole.generations.iter().enumerate().all(|(i, g)| g.generation == i as u64));
    // Saved mid-epoch past the first segment, then resumed: the counted genomes come back
    // from the segments too (each generation's evaluations depend on them).
    let scratch = Scratch::new("segmented");
    let store = scratch.store();
    prepare(&store, &config, &[("GOOG_wiki.csv", &goog(), "GOOG_wiki.csv")]).unwrap();
    let island0 = std::sync::atomic::AtomicU64::new(0);
    let on_event = |e: Event| {
        if let Event::Generation { island: 0, generation, .. } = e {
            island0.store(generation, std::sync::atomic::Ordering::SeqCst);
        }
    };
    let steer = || {
        if island0.load(std::sync::atomic::Ordering::SeqCst) >= 1_730 {
            Steer::SaveAndStop
        } else {
            Steer::Go
        }
    };
    let stopped = run_islands_steered(&store, &[0, 1], PATIENCE, None, &on_event, &steer);
    assert!(matches!(stopped, Err(RunError::Interrupted)), "{stopped:?}");
    let saved: Checkpoint =
        serde_json::from_slice(&store.get(&interrupted_key(0)).unwrap().unwrap()).unwrap();
    assert_eq!(saved.sealed, 1_000);
    assert_eq!(saved.state.history.first().map(|g| g.generation), Some(1_000), "the rows since the segment");
    assert!(store.get(&segment_key(0, 0)).unwrap().is_some());
    run_islands(&store, &[0, 1], PATIENCE, None, &|_| {}).unwrap();
    same(&whole, &gather(&store).unwrap());
    // However long the run, a checkpoint holds at most a segment's rows.
    let last: Checkpoint =
        serde_json::from_slice(&store.get(&checkpoint_key(1, 2_500)).unwrap().unwrap()).unwrap();
    assert_eq!((last.sealed, last.state.history.len()), (2_000, 501));
}

#[test]
fn elitism_never_loses_the_best_and_the_hall_is_the_best_seen() {
    let config = JobConfig { islands: 1, elitism: 1, ..config(1) };
    let (outcome, _a) = run_with_threads(&config, 2, "elite");
    let bests: Vec<f64> = outcome.generations.iter().map(|g| g.best).collect();
    assert!(bests.windows(2).all(|w| w[1] >= w[0]), "{bests:?}");
    let best = outcome.best().unwrap();
    assert_eq!(best.fitness, *bests.last().unwrap());
    assert_eq!(best.fitness, best.metrics().unwrap().sharpe);
    assert!(outcome.hall.windows(2).all(|w| w[0].fitness >= w[1].fitness));
    // The fitness found in the run (through checkpoints and migrations) is the one a fresh
    // backtest gives, to the bit.
    for c in &outcome.hall {
        assert_eq!(
            c.fitness.to_bits(),
            config.fitness.score(c.metrics().unwrap()).to_bits(),
            "{:?}",
            c.genome
        );
    }
}

#[test]
fn finds_the_optimum_of_a_space_small_enough_to_sweep() {
    let space = Space::SmaCrossover {
        fast: Range { lo: 2, hi: 12, categorical: false },
        slow: Range { lo: 10, hi: 30, categorical: false },
    };
    let data = crate::data::parse("GOOG_wiki.csv", &goog()).unwrap();
    let calendar = Calendar::new(&data.time);
    let mut best = f64::NEG_INFINITY;
    for fast in 2..=12 {
        for slow in 10..=30 {
            if let Some(s) = space.decode(&[fast, slow]) {
                let m = backtest::run(&data, &calendar, &s, Costs::default(), Keep::default()).metrics;
                best = best.max(Fitness::Metric(Metric::Sharpe).score(&m));
            }
        }
    }
    let config = JobConfig { space, population: 30, generations: 25, ..config(2) };
    let (outcome, _a) = run_with_threads(&config, 2, "sweep");
    assert_eq!(outcome.best().unwrap().fitness, best);
}

#[test]
fn invalid_jobs_are_refused_with_the_field_at_fault() {
    let scratch = Scratch::new("invalid");
    let bad = JobConfig { elitism: 40, ..config(1) };
    let e = prepare(&scratch.store(), &bad, &[("GOOG_wiki.csv", &goog(), "GOOG_wiki.csv")]).unwrap_err();
    assert_eq!(e.to_string(), "invalid job: `elitism` must be below the population, found 40");
    let empty = JobConfig {
        space: Space::SmaCrossover {
            fast: Range { lo: 50, hi: 60, categorical: false },
            slow: Range { lo: 10, hi: 50, categorical: false },
        },
        ..config(1)
    };
    let e = prepare(&scratch.store(), &empty, &[("GOOG_wiki.csv", &goog(), "GOOG_wiki.csv")]).unwrap_err();
    assert!(e.to_string().contains("no genome satisfies `fast < slow`"), "{e}");
    assert!(scratch.store().get(JOB_KEY).unwrap().is_none());
}

/// A store in memory that counts its look-ups.
#[derive(Default)]
struct Counting {
    blobs: std::sync::Mutex<std::collections::HashMap<String, Vec<u8>>>,
    looks: std::sync::atomic::AtomicUsize,
}

impl Store for Counting {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, crate::store::StoreError> {
        self.looks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(self.blobs.lock().unwrap().get(key).cloned())
    }
    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), crate::store::StoreError> {
        self.blobs.lock().unwrap().insert(key.to_string(), bytes.to_vec());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<(), crate::store::StoreError> {
        self.blobs.lock().unwrap().remove(key);
        Ok(())
    }
    fn describe(&self) -> String {
        "memory".into()
    }
}

#[test]
fn an_island_finds_where_it_stopped_in_a_few_looks_however_many_epochs_it_ran() {
    // 3000 generations, an epoch every 5: 600 epoch ends.
    let ends: Vec<u64> = (1..=600).map(|e| e * 5).collect();
    for written in [0, 1, 2, 299, 599, 600] {
        let store = Counting::default();
        for &end in &ends[..written] {
            store.put(&checkpoint_key(3, end), b"{}").unwrap();
        }
        assert_eq!(super::checkpoint::epochs_written(&store, 3, &ends).unwrap(), written);
        let looks = store.looks.load(std::sync::atomic::Ordering::Relaxed);
        assert!(looks <= 10, "{written} written: {looks} looks");
    }
}
