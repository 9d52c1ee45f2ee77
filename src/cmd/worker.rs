//! `gaform worker --store URL --island K`: one island of a prepared job, resumed from its
//! last checkpoint if it has one. What the local and AWS providers start on each worker.

use crate::cli::WorkerArgs;
use crate::progress::Progress;
use gaform_runtime::ga::{self, Patience};
use gaform_runtime::store;
use std::process::ExitCode;
use std::time::Duration;

pub fn run(args: &WorkerArgs) -> Result<ExitCode, String> {
    let store = store::open(&args.store).map_err(|e| e.to_string())?;
    let config = ga::load_job(&store).map_err(|e| e.to_string())?;
    let progress = Progress::new(1, config.generations);
    let patience = Patience(Duration::from_secs(args.patience));
    let result = ga::run_island(&store, args.island, patience, None, &|e| progress.event(e));
    progress.finish();
    result.map_err(|e| format!("island {}: {e}", args.island))?;
    Ok(ExitCode::SUCCESS)
}
