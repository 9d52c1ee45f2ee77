//! A run's results as files: `best.json`, `hall_of_fame.csv`, `windows.csv` (every judged
//! champion on every window of every file), `out_of_sample.csv` (the stitched out-of-sample
//! equity, with validation), `generations.csv`, `timings.csv`, `fitness.svg`, `equity.svg`
//! and, with validation, `out_of_sample.svg`. Everything but `timings.csv` is a function of
//! the job alone, so two runs of one job write the same bytes.

mod best;
pub mod owner;
mod plot;
mod summary;
mod tables;
mod ticks;

pub use plot::lines as line_chart;
pub use summary::summary;

use crate::ga::Outcome;
use crate::store::{write_atomically, StoreError};
use std::path::Path;

/// The files written into a results directory, in the order they are written.
pub const FILES: [&str; 9] = [
    "best.json",
    "hall_of_fame.csv",
    "windows.csv",
    "out_of_sample.csv",
    "generations.csv",
    "timings.csv",
    "fitness.svg",
    "equity.svg",
    "out_of_sample.svg",
];

/// The files `write` writes for `outcome`: `FILES`, less `out_of_sample.svg` without
/// validation.
pub fn written(outcome: &Outcome) -> Vec<&'static str> {
    FILES.into_iter().filter(|f| *f != "out_of_sample.svg" || !outcome.stitched.is_empty()).collect()
}

/// Why results could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error(transparent)]
    Write(#[from] StoreError),
    #[error("{path}: {message}")]
    Render { path: String, message: String },
}
/// Makes one results file's text, or says why it could not.
type Render<'a> = Box<dyn FnOnce() -> Result<String, String> + Send + 'a>;

/// Writes every results file into `dir` (created if needed), each atomically.
pub fn write(dir: &Path, outcome: &Outcome) -> Result<(), ResultsError> {
    write_with_status(dir, outcome, None)
}

/// `write`, for a run stopped before its end: `best.json` says why in `status`.
pub fn write_with_status(dir: &Path, outcome: &Outcome, status: Option<&str>) -> Result<(), ResultsError> {
    std::fs::create_dir_all(dir)
        .map_err(|source| StoreError::Io { path: dir.display().to_string(), source })?;
    let render = |name: &str, message: String| ResultsError::Render {
        path: dir.join(name).display().to_string(),
        message,
    };
    let champion = outcome.best().ok_or_else(|| render("best.json", "the run has no best genome".into()))?;
    let text = best::text(outcome, status).map_err(|message| render("best.json", message))?;
    let files: Vec<(&str, Render<'_>)> = vec![
        ("best.json", Box::new(move || Ok(text))),
        ("hall_of_fame.csv", Box::new(|| Ok(tables::hall_of_fame(outcome)))),
        ("windows.csv", Box::new(|| Ok(tables::windows(outcome)))),
        ("out_of_sample.csv", Box::new(|| Ok(tables::stitched_csv(outcome)))),
        ("generations.csv", Box::new(|| Ok(tables::generations(outcome)))),
        ("timings.csv", Box::new(|| Ok(tables::timings(outcome)))),
        ("fitness.svg", Box::new(|| plot::fitness(outcome))),
        ("equity.svg", Box::new(|| plot::equity(outcome, champion))),
        ("out_of_sample.svg", Box::new(|| plot::out_of_sample(outcome))),
    ];
    let written = written(outcome);
    // Each file rendered and written on a thread of its own: their syncs then share the
    // file system's journal commits (one sync after another waited for each in turn, a
    // fifth of a short run's time), and the charts render side by side.
    let results: Vec<Result<(), ResultsError>> = std::thread::scope(|scope| {
        let writers: Vec<_> = files
            .into_iter()
            .filter(|(name, _)| written.contains(name))
            .map(|(name, make)| {
                let path = dir.join(name);
                let writer = scope.spawn(move || {
                    let text = make().map_err(|message| ResultsError::Render {
                        path: path.display().to_string(),
                        message,
                    })?;
                    Ok(write_atomically(&path, text.as_bytes())?)
                });
                (name, writer)
            })
            .collect();
        writers
            .into_iter()
            .map(|(name, w)| w.join().unwrap_or_else(|_| Err(render(name, "its writer panicked".into()))))
            .collect()
    });
    results.into_iter().collect()
}
