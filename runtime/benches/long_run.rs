//! `cargo bench -p gaform-runtime --bench long_run [-- GENERATIONS]`: issue 26's long job
//! (the quickstart's SMA crossover, population 200, two islands migrating every 10
//! generations, GOOG) run for 30,000 generations through a store on disk, as a worker runs
//! it. Prints the generations per minute in each tenth of the run (a run whose checkpoints
//! grow with its history slows down as it goes), the store's size and file count at the
//! end, and the total wall time.

use gaform_runtime::backtest::Costs;
use gaform_runtime::ga::{
    self, Aggregate, Crossover, Event, Fitness, JobConfig, Metric, Migration, Mutation, Patience, Range,
    Selection, Space,
};
use gaform_runtime::store::LocalDir;
use gaform_runtime::windows::Validation;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

fn config(generations: u64) -> JobConfig {
    JobConfig {
        name: "long".into(),
        data: vec!["GOOG_wiki.csv".into()],
        aggregate: Aggregate::Mean,
        validation: Validation::InSample,
        folds: 1,
        space: Space::SmaCrossover {
            fast: Range { lo: 2, hi: 50, categorical: false },
            slow: Range { lo: 10, hi: 200, categorical: false },
        },
        fitness: Fitness::Metric(Metric::Sharpe),
        constraints: Vec::new(),
        population: 200,
        generations,
        selection: Selection::Tournament { size: 3 },
        crossover: Crossover::Blend { alpha: 0.5, rate: 0.9 },
        mutation: Mutation::Gaussian { sigma: 0.1, rate: 0.2 },
        elitism: 1,
        islands: 2,
        migration: Migration { every: 10, count: 2 },
        seed: 7,
        costs: Costs::default(),
        hall_of_fame: 10,
    }
}

/// Bytes and files under `dir`.
fn size_of(dir: &Path) -> (u64, u64) {
    let (mut bytes, mut files) = (0, 0);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            let (b, f) = size_of(&path);
            bytes += b;
            files += f;
        } else {
            bytes += entry.metadata().map_or(0, |m| m.len());
            files += 1;
        }
    }
    (bytes, files)
}

fn main() {
    let generations: u64 = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(30_000);
    let csv =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data/GOOG_wiki.csv"))
            .expect("GOOG_wiki.csv");
    let config = config(generations);
    let dir = std::env::temp_dir().join(format!("gaform-long-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = LocalDir::new(&dir);
    ga::prepare(&store, &config, &[("GOOG_wiki.csv", &csv, "GOOG_wiki.csv")]).expect("prepare");
    // When island 0 reached each generation.
    let reached = Mutex::new(Vec::with_capacity(generations as usize + 1));
    let started = Instant::now();
    let on_event = |e: Event| {
        if let Event::Generation { island: 0, .. } = e {
            reached.lock().expect("lock").push(started.elapsed().as_secs_f64());
        }
    };
    ga::run_islands_as_threads(&store, Patience(Duration::from_secs(600)), None, &on_event).expect("run");
    let wall = started.elapsed().as_secs_f64();
    let outcome = ga::gather(&store).expect("gather");
    let reached = reached.into_inner().expect("lock");
    let (bytes, files) = size_of(&dir);
    println!("{generations} generations, 2 islands of 200, migration every 10 (island 0's pace):");
    let tenth = (generations / 10).max(1) as usize;
    for (k, window) in reached.windows(tenth + 1).step_by(tenth).enumerate() {
        let seconds = window[tenth] - window[0];
        println!(
            "  generations {:>6}..{:<6} {:>8.0} generations/minute",
            k * tenth,
            (k + 1) * tenth,
            tenth as f64 / seconds.max(1e-9) * 60.0
        );
    }
    println!("store: {:.1} MiB in {files} files", bytes as f64 / (1 << 20) as f64);
    println!("wall: {wall:.1} s; best {}", outcome.best().map_or(String::new(), |b| b.strategy.show(None)));
    let _ = std::fs::remove_dir_all(&dir);
}
