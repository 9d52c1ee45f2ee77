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
use crate::worker::{Next, Pace, Work, WorkerCloud};
use gaform_compiler::plan::Addr;
use gaform_providers::local::agent::{self, Registration};
use gaform_providers::local::StackDir;
use gaform_providers::CloudError;
use gaform_runtime::ga::{RunError, Steer};
use gaform_runtime::store::LocalDir;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
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
/// How often an idle worker looks for a job.
const IDLE_LOOK: Duration = Duration::from_millis(200);

/// Runs a local worker until its slot is taken from it, it is told to stop, or its head is
/// gone. `Err` when its islands failed: the head sees the slot die and starts another.
pub fn worker(config: &WorkerConfig) -> Result<(), CloudError> {
    let stack = StackDir::new(&config.stack);
    let (address, index) = (&config.address, config.index);
    let Some(me) = agent::register(&stack, address, index)? else { return Ok(()) };
    let compute = address.compute().ok_or_else(|| format!("{address} is not a worker group"))?.to_string();
    let threads = config.threads.unwrap_or(me.record.threads).max(1);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| format!("cannot start {threads} threads: {e}"))?;
    outln!("{}: pid {}, {threads} thread(s)", address.instance(index), me.me.pid);
    let report_every = crate::budget::report_every(config.tick);
    let pace = Pace { pool: &pool, threads, report_every, patience: config.patience };
    let mut slot = Slot { config, stack, me, compute, done: None, orphan_since: None };
    let why = crate::worker::work(&mut slot, &pace)?;
    outln!("{}: {why}", address.instance(index));
    Ok(())
}

/// A local worker's slot: the worker loop's cloud on this machine.
struct Slot<'c> {
    config: &'c WorkerConfig,
    stack: StackDir,
    me: Registration,
    compute: String,
    /// The last run whose islands all finished here: (job, when it started, islands).
    done: Option<(String, f64, Vec<u64>)>,
    /// Since when the compute's head has been gone.
    orphan_since: Option<Instant>,
}

/// One run of a slot's share: the job's log, and the share as dealt when it began.
struct SlotRun {
    log: Mutex<std::fs::File>,
    started_at: f64,
    share: Share,
}

impl Slot<'_> {
    fn log(&self, work: &Work<SlotRun>, line: &str) {
        if let Ok(mut f) = work.run.log.lock() {
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
    }
}

impl WorkerCloud for Slot<'_> {
    type Run = SlotRun;

    fn reporter(&self) -> String {
        slot_name(self.config.index)
    }

    fn next(&mut self) -> Result<Next<SlotRun>, CloudError> {
        let (stack, address, index) = (&self.stack, &self.config.address, self.config.index);
        if !self.me.is_current(stack) {
            return Ok(Next::Exit("replaced or removed; exiting".into()));
        }
        if (self.config.told_to_stop)() {
            return Ok(Next::Exit("told to stop; exiting".into()));
        }
        if let Some(job) = agent::running_job(stack, address)? {
            let islands = job.islands_for(index);
            if self.done.as_ref() != Some(&(job.name.clone(), job.started_at, islands.clone())) {
                let path = stack.job_log(&job.name);
                let log = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
                let share = Share {
                    told_to_stop: self.config.told_to_stop,
                    job: job.name.clone(),
                    islands: islands.clone(),
                    last: Mutex::new((Instant::now(), true)),
                };
                return Ok(Next::Run(Work {
                    store: Arc::new(LocalDir::new(stack.job_store(&job.name))),
                    generations: job.attributes.get("generations").and_then(|g| g.parse().ok()).unwrap_or(0),
                    islands,
                    run: SlotRun { log: Mutex::new(log), started_at: job.started_at, share },
                    job: job.name,
                }));
            }
        }
        if agent::head_alive(stack, &self.compute) {
            self.orphan_since = None;
        } else if self.orphan_since.get_or_insert_with(Instant::now).elapsed() > ORPHAN_GRACE {
            if self.me.is_current(stack) {
                let _ = stack.remove_instance(address, index);
            }
            return Ok(Next::Exit(format!("the head of compute `{}` is gone; exiting", self.compute)));
        }
        Ok(Next::Wait(IDLE_LOOK))
    }

    fn steer(&self, work: &Work<SlotRun>) -> Steer {
        work.run.share.steer(&self.stack, &self.config.address, self.config.index)
    }

    fn say(&self, work: &Work<SlotRun>, line: &str) {
        self.log(work, line);
    }

    fn ran(&mut self, work: Work<SlotRun>, ran: Result<(), RunError>) -> Result<Option<String>, CloudError> {
        let name = self.config.address.instance(self.config.index);
        let islands = &work.islands;
        match ran {
            Ok(()) => {
                self.done = Some((work.job.clone(), work.run.started_at, work.islands.clone()));
                Ok(None)
            }
            Err(RunError::Interrupted) => {
                let why = if (self.config.told_to_stop)() {
                    "saved where they were; the worker was told to stop"
                } else {
                    "saved where they were; dealt anew or stopped, going on with what the job's record says"
                };
                self.log(&work, &format!("{name}: islands {islands:?} of {}: {why}", work.job));
                Ok(None)
            }
            Err(e) => {
                // The head sees the slot die and starts a replacement, which resumes.
                let message = format!("{name}: islands {islands:?} of {}: {e}", work.job);
                self.log(&work, &message);
                Err(message.into())
            }
        }
    }
}

/// A slot's share of a running job's islands, re-read from the job's record at most every
/// `SHARE_LOOK` while its islands run.
struct Share {
    told_to_stop: fn() -> bool,
    job: String,
    islands: Vec<u64>,
    /// When it was last read, and whether it was unchanged then.
    last: Mutex<(Instant, bool)>,
}

impl Share {
    /// Save and stop once the process is told to stop, or the job's record deals this slot
    /// other islands (or the job stopped): the islands lose no generation either way.
    fn steer(&self, stack: &StackDir, group: &Addr, slot: u64) -> Steer {
        if (self.told_to_stop)() {
            return Steer::SaveAndStop;
        }
        let Ok(mut last) = self.last.lock() else { return Steer::Go };
        if last.0.elapsed() >= SHARE_LOOK {
            let now = agent::running_job(stack, group).ok().flatten();
            let same = now.is_some_and(|j| j.name == self.job && j.islands_for(slot) == self.islands);
            *last = (Instant::now(), same);
        }
        if last.1 {
            Steer::Go
        } else {
            Steer::SaveAndStop
        }
    }
}
