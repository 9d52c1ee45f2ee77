//! How a head ends a job's run in its store: gathered once every island is done, or
//! written as far as the islands got when the run stops early.

use gaform_compiler::plan::JobStatus;
use gaform_providers::local::JobRecord;
use gaform_providers::CloudError;
use gaform_runtime::ga;
use gaform_runtime::results;
use gaform_runtime::store::Store;
use std::path::Path;

/// When every island of `job` is done: gathers the run, writes its results into `dir`,
/// and marks the record finished at `now` with the best strategy. False while islands
/// still run.
pub fn gather_if_done(
    store: &dyn Store,
    job: &mut JobRecord,
    dir: &Path,
    now: f64,
) -> Result<bool, CloudError> {
    let config = ga::load_job(store).map_err(|e| e.to_string())?;
    if !ga::islands_finished(store, &config).map_err(|e| e.to_string())? {
        return Ok(false);
    }
    let outcome = ga::gather(store).map_err(|e| e.to_string())?;
    results::write(dir, &outcome).map_err(|e| e.to_string())?;
    let summary = results::summary(&outcome, &job.results_dir, now - job.started_at);
    job.status = JobStatus::Finished;
    job.finished_at = Some(now);
    job.summary = Some(summary.trim_end().to_string());
    Ok(true)
}

/// Writes into `dir` the results a stopped run's islands reached (each island's furthest
/// saved state), with `why` as `best.json`'s status.
pub fn write_so_far(store: &dyn Store, dir: &Path, why: &str) -> Result<(), CloudError> {
    let outcome = ga::gather_so_far(store).map_err(|e| e.to_string())?;
    results::write_with_status(dir, &outcome, Some(why)).map_err(|e| CloudError::from(e.to_string()))
}

/// `job`'s `max_runtime` when it has run past it at `now`.
pub fn over_time(job: &JobRecord, now: f64) -> Option<f64> {
    job.max_runtime_secs.filter(|&limit| now - job.started_at > limit)
}
