//! The one worker loop of both clouds. A worker asks its cloud what to do next (run some of
//! a job's islands, wait, or exit), runs the islands on the job's store while the cloud
//! steers them (save where they are and stop, when the cloud says so), reports as it goes,
//! and tells the cloud how the run ended. The clouds differ only in how a worker finds its
//! islands (local: its slot's share of the job's record; aws: claims on S3) and in what ends
//! it (local: its slot taken, its head gone, a signal; aws: EC2's notices, a move to spot,
//! every job of its compute over).

use gaform_providers::CloudError;
use gaform_runtime::ga::{self, Event, Patience, RunError, Steer};
use gaform_runtime::store::Store;
use gaform_runtime::telemetry::Reporter;
use std::sync::Arc;
use std::time::Duration;

/// Some of a job's islands for this worker to run, with what its cloud keeps about the
/// run (`R`: the job's log, the deal the islands were claimed under, ...).
pub struct Work<R> {
    pub job: String,
    pub store: Arc<dyn Store>,
    pub islands: Vec<u64>,
    /// The job's generations, for progress lines.
    pub generations: u64,
    pub run: R,
}

/// What a worker does next.
pub enum Next<R> {
    Run(Work<R>),
    /// Nothing to run now: ask again after this long.
    Wait(Duration),
    /// The worker's part is over: it exits, saying why.
    Exit(String),
}

/// A worker's cloud: where it finds its islands and what ends it.
pub trait WorkerCloud: Sync {
    /// What the cloud keeps about one run of islands.
    type Run: Sync;
    /// The name this worker reports under (its slot, its instance).
    fn reporter(&self) -> String;
    /// What to do next; `Err` ends the worker.
    fn next(&mut self) -> Result<Next<Self::Run>, CloudError>;
    /// Polled by the islands between generations: go on, or save where they are and stop.
    fn steer(&self, work: &Work<Self::Run>) -> Steer;
    /// Says one of the run's progress lines where the worker's operator reads them.
    fn say(&self, work: &Work<Self::Run>, line: &str);
    /// How the islands' run ended (`Err(RunError::Interrupted)` when steered to a stop):
    /// `Some(why)` to exit, `None` to ask for the next work.
    fn ran(&mut self, work: Work<Self::Run>, ran: Result<(), RunError>)
        -> Result<Option<String>, CloudError>;
}

/// How a worker runs islands: its threads, how often it reports (`budget::report_every`
/// of its head's tick), and how long an island waits for its neighbour's checkpoint.
pub struct Pace<'p> {
    pub pool: &'p rayon::ThreadPool,
    pub threads: usize,
    pub report_every: Duration,
    pub patience: Duration,
}

/// The worker loop: runs what `cloud` deals it until the cloud says it is over; returns why.
pub fn work<C: WorkerCloud>(cloud: &mut C, pace: &Pace<'_>) -> Result<String, CloudError> {
    loop {
        match cloud.next()? {
            Next::Exit(why) => return Ok(why),
            Next::Wait(pause) => std::thread::sleep(pause),
            Next::Run(work) => {
                let ran = run(cloud, &work, pace);
                if let Some(why) = cloud.ran(work, ran)? {
                    return Ok(why);
                }
            }
        }
    }
}

/// Runs `work`'s islands, its events reported on its store and said by the cloud.
fn run<C: WorkerCloud>(cloud: &C, work: &Work<C::Run>, pace: &Pace<'_>) -> Result<(), RunError> {
    let reporter = Reporter::new(&*work.store, &cloud.reporter(), pace.threads, pace.report_every);
    let say = |e: Event| {
        reporter.event(&e);
        cloud.say(work, &e.line(work.generations));
    };
    let steer = || cloud.steer(work);
    let patience = Patience(pace.patience);
    let ran = ga::run_islands_steered(&*work.store, &work.islands, patience, Some(pace.pool), &say, &steer);
    reporter.flush();
    ran
}

#[cfg(test)]
mod tests;
