//! `gaform worker`: one worker.
//! - `--store URL --island K`: one island of a prepared job, resumed from its last
//!   checkpoint if it has one (by hand, or `gaform run --islands-as processes`).
//! - `--stack DIR --address A --index K`: an instance of the local cloud, started by apply
//!   or by its head. It runs its share of the group's running job (islands K, K + n, …),
//!   waits while there is none, and exits when its slot is taken from it or its head is gone.
//!   When its share changes as it runs (a budget's scale-down dealt the islands over fewer
//!   workers), it saves its islands at the next generation and runs its new share, every
//!   island resuming from where it was saved: the result is the same bytes.
//!
//! Either way, SIGTERM (a head's stop, a shed, `destroy`) or Ctrl-C has every island save
//! where it is at the end of its generation before the worker exits, and so does a job
//! whose record says it no longer runs: a stop keeps every generation done.

use crate::cli::WorkerArgs;
use crate::interrupt;
use crate::progress::Progress;
use gaform_compiler::plan::Addr;
use gaform_providers::local::agent;
use gaform_providers::local::StackDir;
use gaform_runtime::ga::{self, Event, Patience, RunError, Steer};
use gaform_runtime::store::{self, LocalDir};
use gaform_runtime::telemetry::Reporter;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a worker outlives its compute's head before it takes itself down.
const ORPHAN_GRACE: Duration = Duration::from_secs(10);
/// How often a running worker looks whether its share of islands changed.
const SHARE_LOOK: Duration = Duration::from_millis(200);

/// A worker's share of a running job's islands, re-read from the job's record at most
/// every `SHARE_LOOK` while its islands run.
struct Share<'a> {
    stack: &'a StackDir,
    group: &'a Addr,
    job: &'a str,
    slot: u64,
    islands: &'a [u64],
    /// When it was last read, and whether it was unchanged then.
    last: Mutex<(Instant, bool)>,
}

impl<'a> Share<'a> {
    fn new(stack: &'a StackDir, group: &'a Addr, job: &'a str, slot: u64, islands: &'a [u64]) -> Share<'a> {
        Share { stack, group, job, slot, islands, last: Mutex::new((Instant::now(), true)) }
    }

    /// Save and stop once the process is told to stop, or the job's record deals this slot
    /// other islands (or the job stopped): the islands lose no generation either way.
    fn steer(&self) -> Steer {
        if interrupt::steer() == Steer::SaveAndStop {
            return Steer::SaveAndStop;
        }
        let Ok(mut last) = self.last.lock() else { return Steer::Go };
        if last.0.elapsed() >= SHARE_LOOK {
            let now = agent::running_job(self.stack, self.group).ok().flatten();
            let same = now.is_some_and(|j| j.name == self.job && j.islands_for(self.slot) == self.islands);
            *last = (Instant::now(), same);
        }
        if last.1 {
            Steer::Go
        } else {
            Steer::SaveAndStop
        }
    }
}

pub fn run(args: &WorkerArgs) -> Result<ExitCode, String> {
    if let Some(url) = &args.s3_stack {
        let address = Addr(args.address.clone().ok_or("--s3-stack needs --address")?);
        return aws_worker(url, &address, args);
    }
    match (&args.store, args.island, &args.stack, &args.address, args.index) {
        (Some(url), Some(island), None, None, None) => island_worker(url, island, args.patience),
        (None, None, Some(stack), Some(address), Some(index)) => {
            instance(&StackDir::new(stack), &Addr(address.clone()), index, args)
        }
        _ => Err("give either --store and --island, or --stack, --address and --index".into()),
    }
}

fn island_worker(url: &str, island: u64, patience: u64) -> Result<ExitCode, String> {
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
fn aws_worker(url: &str, address: &Addr, args: &WorkerArgs) -> Result<ExitCode, String> {
    super::aws_worker::worker(url, address, args)
}

#[cfg(not(feature = "aws"))]
fn aws_worker(_: &str, _: &Addr, _: &WorkerArgs) -> Result<ExitCode, String> {
    Err("this build leaves out the aws cloud (build with the `aws` feature)".into())
}

/// A directory, `file://` URL or (with the aws feature) `s3://BUCKET/PREFIX`.
fn open_store(url: &str) -> Result<Box<dyn gaform_runtime::store::Store>, String> {
    #[cfg(feature = "aws")]
    if url.starts_with("s3://") {
        return Ok(Box::new(gaform_providers::aws::store::S3Store::open(url)?));
    }
    Ok(Box::new(store::open(url).map_err(|e| e.to_string())?))
}

fn instance(stack: &StackDir, address: &Addr, index: u64, args: &WorkerArgs) -> Result<ExitCode, String> {
    let (threads, patience) = (args.threads, args.patience);
    let Some(me) = agent::register(stack, address, index)? else { return Ok(ExitCode::SUCCESS) };
    let compute = address.compute().ok_or_else(|| format!("{address} is not a worker group"))?.to_string();
    let threads = threads.unwrap_or(me.record.threads).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| format!("cannot start {threads} threads: {e}"))?;
    outln!("{}: pid {}, {threads} thread(s)", address.instance(index), me.me.pid);
    let mut done: Option<(String, f64, Vec<u64>)> = None;
    let mut orphan_since: Option<Instant> = None;
    loop {
        if !me.is_current(stack) {
            outln!("{}: replaced or removed; exiting", address.instance(index));
            return Ok(ExitCode::SUCCESS);
        }
        if interrupt::interrupted() {
            outln!("{}: told to stop; exiting", address.instance(index));
            return Ok(ExitCode::SUCCESS);
        }
        if let Some(job) = agent::running_job(stack, address)? {
            let islands = job.islands_for(index);
            let run = (job.name.clone(), job.started_at, islands.clone());
            if done.as_ref() != Some(&run) {
                let store = LocalDir::new(stack.job_store(&job.name));
                let log = Mutex::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(stack.job_log(&job.name))
                        .map_err(|e| format!("cannot open {}: {e}", stack.job_log(&job.name).display()))?,
                );
                let generations = job.attributes.get("generations").and_then(|g| g.parse().ok()).unwrap_or(0);
                let reporter =
                    Reporter::new(&store, &slot_name(index), threads, super::budget::report_every(args.tick));
                let say = |e: Event| {
                    reporter.event(&e);
                    let line = format!("{}\n", crate::progress::line(&e, generations));
                    if let Ok(mut f) = log.lock() {
                        let _ = f.write_all(line.as_bytes());
                    }
                };
                let patience = Patience(Duration::from_secs(patience));
                let share = Share::new(stack, address, &job.name, index, &islands);
                let steer = || share.steer();
                let result = ga::run_islands_steered(&store, &islands, patience, Some(&pool), &say, &steer);
                reporter.flush();
                if let Err(RunError::Interrupted) = result {
                    let why = if interrupt::interrupted() {
                        "saved where they were; the worker was told to stop"
                    } else {
                        "saved where they were; dealt anew or stopped, going on with what the job's record says"
                    };
                    let message =
                        format!("{}: islands {islands:?} of {}: {why}\n", address.instance(index), job.name);
                    if let Ok(mut f) = log.lock() {
                        let _ = f.write_all(message.as_bytes());
                    }
                    continue;
                }
                if let Err(e) = result {
                    // The head sees the slot die and starts a replacement, which resumes.
                    let message =
                        format!("{}: islands {islands:?} of {}: {e}\n", address.instance(index), job.name);
                    err!("{message}");
                    if let Ok(mut f) = log.lock() {
                        let _ = f.write_all(message.as_bytes());
                    }
                    return Ok(ExitCode::FAILURE);
                }
                done = Some(run);
            }
        }
        if agent::head_alive(stack, &compute) {
            orphan_since = None;
        } else if orphan_since.get_or_insert_with(Instant::now).elapsed() > ORPHAN_GRACE {
            outln!("{}: the head of compute `{compute}` is gone; exiting", address.instance(index));
            if me.is_current(stack) {
                let _ = stack.remove_instance(address, index);
            }
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The name a local worker slot reports under (`gaform_runtime::telemetry`).
pub fn slot_name(slot: u64) -> String {
    format!("slot-{slot}")
}
