//! `gaform worker`: one worker.
//! - `--store URL --island K`: one island of a prepared job, resumed from its last
//!   checkpoint if it has one (by hand, or `gaform run --islands-as processes`).
//! - `--stack DIR --address A --index K`: an instance of the local cloud
//!   (`gaform_agent::local::worker`).
//! - `--s3-stack URL --address A`: an instance on aws (`gaform_agent::aws::worker`).
//!
//! Either way, SIGTERM or Ctrl-C has every island save where it is at the end of its
//! generation before the worker exits.

use crate::cli::WorkerArgs;
use crate::failure::Failure;
use crate::interrupt;
use crate::progress::Progress;
use gaform_compiler::plan::Addr;
use gaform_providers::CloudError;
use gaform_runtime::ga::{self, Patience, RunError};
use gaform_runtime::store;
use std::process::ExitCode;
use std::time::Duration;

pub fn run(args: &WorkerArgs) -> Result<ExitCode, Failure> {
    if let Some(url) = &args.s3_stack {
        let address = Addr(args.address.clone().ok_or("--s3-stack needs --address")?);
        return aws_worker(url, &address, args);
    }
    match (&args.store, args.island, &args.stack, &args.address, args.index) {
        (Some(url), Some(island), None, None, None) => island_worker(url, island, args.patience),
        (None, None, Some(stack), Some(address), Some(index)) => {
            let config = gaform_agent::local::WorkerConfig {
                stack: stack.clone(),
                address: Addr(address.clone()),
                index,
                threads: args.threads,
                patience: Duration::from_secs(args.patience),
                tick: args.tick,
                told_to_stop: interrupt::interrupted,
            };
            exit_code(gaform_agent::local::worker(&config))
        }
        _ => Err("give either --store and --island, or --stack, --address and --index".into()),
    }
}

fn island_worker(url: &str, island: u64, patience: u64) -> Result<ExitCode, Failure> {
    let store = open_store(url)?;
    let store = store.as_ref();
    let config = ga::load_job(store).map_err(|e| e.to_string())?;
    let progress = Progress::new(1, config.generations);
    let patience = Patience(Duration::from_secs(patience));
    let result =
        ga::run_islands_steered(store, &[island], patience, None, &|e| progress.event(e), &interrupt::steer);
    progress.finish();
    match result {
        // `gaform run --islands-as processes` reads 130 as "saved and stopped".
        Err(RunError::Interrupted) if interrupt::interrupted() => {
            errln!("island {island}: saved where it was; run it again to resume");
            Ok(ExitCode::from(INTERRUPTED))
        }
        result => {
            result.map_err(|e| format!("island {island}: {e}"))?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The exit status of a worker that saved its islands and stopped when told to.
pub const INTERRUPTED: u8 = 130;

#[cfg(feature = "aws")]
fn aws_worker(url: &str, address: &Addr, args: &WorkerArgs) -> Result<ExitCode, Failure> {
    let config = gaform_agent::aws::WorkerConfig {
        stack_url: url.to_string(),
        address: address.clone(),
        instance_id: args.instance_id.clone(),
        threads: args.threads,
        patience: Duration::from_secs(args.patience),
        tick: args.tick,
        notice_poll: args.notice_poll,
    };
    gaform_agent::aws::worker(&config)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(not(feature = "aws"))]
fn aws_worker(_: &str, _: &Addr, _: &WorkerArgs) -> Result<ExitCode, Failure> {
    Err("this build leaves out the aws cloud (build with the `aws` feature)".into())
}

/// A directory, `file://` URL or (with the aws feature) `s3://BUCKET/PREFIX`.
fn open_store(url: &str) -> Result<Box<dyn gaform_runtime::store::Store>, Failure> {
    #[cfg(feature = "aws")]
    if url.starts_with("s3://") {
        return Ok(Box::new(gaform_providers::aws::store::S3Store::open(url)?));
    }
    Ok(Box::new(store::open(url).map_err(|e| e.to_string())?))
}

/// A local worker's end as its exit status: a failure is said and exits 1, so that its
/// head sees the slot die.
fn exit_code(ended: Result<(), CloudError>) -> Result<ExitCode, Failure> {
    match ended {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(message) => {
            errln!("{message}");
            Ok(ExitCode::FAILURE)
        }
    }
}
