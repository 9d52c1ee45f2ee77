//! A worker of the local cloud (`gaform worker --stack DIR --address A --index K`), started
//! by apply or by its head. It runs its share of the group's running job (islands K, K + n,
//! …), waits while there is none, and exits when its slot is taken from it or its head is
//! gone. When its share changes as it runs (a budget's scale-down dealt the islands over
//! fewer workers), it saves its islands at the next generation and runs its new share, every
//! island resuming from where it was saved: the result is the same bytes. Told to stop
//! (SIGTERM: a head's stop, a shed, `destroy`), or finding its job's record says it no
//! longer runs, it has every island save where it is first: a stop keeps every generation
//! done.

use super::slot_name;
use gaform_compiler::plan::Addr;
use gaform_providers::local::agent;
use gaform_providers::local::StackDir;
use gaform_providers::CloudError;
use gaform_runtime::ga::{self, Event, Patience, RunError, Steer};
use gaform_runtime::store::LocalDir;
use gaform_runtime::telemetry::Reporter;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A local worker: the stack's records directory and the slot it was started for.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    pub stack: PathBuf,
    /// `compute.NAME.workers.GROUP`.
    pub address: Addr,
    pub index: u64,
    /// Backtest threads; its instance type's vCPUs (capped at this machine's) when `None`.
    pub threads: Option<usize>,
    /// How long an island waits for its neighbour's checkpoint.
    pub patience: Duration,
    /// Its head's tick: how often it reports (`report_every`).
    pub tick: Duration,
    /// Whether the process was told to stop (its signal handler's flag).
    pub told_to_stop: fn() -> bool,
}

/// How long a worker outlives its compute's head before it takes itself down.
const ORPHAN_GRACE: Duration = Duration::from_secs(10);
/// How often a running worker looks whether its share of islands changed.
const SHARE_LOOK: Duration = Duration::from_millis(200);

/// A worker's share of a running job's islands, re-read from the job's record at most
/// every `SHARE_LOOK` while its islands run.
struct Share<'a> {
    told_to_stop: fn() -> bool,
    stack: &'a StackDir,
    group: &'a Addr,
    job: &'a str,
    slot: u64,
    islands: &'a [u64],
    /// When it was last read, and whether it was unchanged then.
    last: Mutex<(Instant, bool)>,
}

impl<'a> Share<'a> {
    fn new(config: &'a WorkerConfig, stack: &'a StackDir, job: &'a str, islands: &'a [u64]) -> Share<'a> {
        let (told_to_stop, group, slot) = (config.told_to_stop, &config.address, config.index);
        Share { told_to_stop, stack, group, job, slot, islands, last: Mutex::new((Instant::now(), true)) }
    }

    /// Save and stop once the process is told to stop, or the job's record deals this slot
    /// other islands (or the job stopped): the islands lose no generation either way.
    fn steer(&self) -> Steer {
        if (self.told_to_stop)() {
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

/// Runs a local worker until its slot is taken from it, it is told to stop, or its head is
/// gone. `Err` when its islands failed: the head sees the slot die and starts another.
pub fn worker(config: &WorkerConfig) -> Result<(), CloudError> {
    let stack = &StackDir::new(&config.stack);
    let (address, index) = (&config.address, config.index);
    let Some(me) = agent::register(stack, address, index)? else { return Ok(()) };
    let compute = address.compute().ok_or_else(|| format!("{address} is not a worker group"))?.to_string();
    let threads = config.threads.unwrap_or(me.record.threads).max(1);
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
            return Ok(());
        }
        if (config.told_to_stop)() {
            outln!("{}: told to stop; exiting", address.instance(index));
            return Ok(());
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
                let reporter = Reporter::new(
                    &store,
                    &slot_name(index),
                    threads,
                    crate::budget::report_every(config.tick),
                );
                let say = |e: Event| {
                    reporter.event(&e);
                    let line = format!("{}\n", e.line(generations));
                    if let Ok(mut f) = log.lock() {
                        let _ = f.write_all(line.as_bytes());
                    }
                };
                let patience = Patience(config.patience);
                let share = Share::new(config, stack, &job.name, &islands);
                let steer = || share.steer();
                let result = ga::run_islands_steered(&store, &islands, patience, Some(&pool), &say, &steer);
                reporter.flush();
                if let Err(RunError::Interrupted) = result {
                    let why = if (config.told_to_stop)() {
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
                        format!("{}: islands {islands:?} of {}: {e}", address.instance(index), job.name);
                    if let Ok(mut f) = log.lock() {
                        let _ = f.write_all(format!("{message}\n").as_bytes());
                    }
                    return Err(message.into());
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
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}
