//! What the head's loop needs of its cloud: the books, the jobs and their stores, the
//! workers of a group, and the few acts that differ between a process of this machine and
//! an EC2 instance. The local cloud and aws are its two implementations; the tests' fake
//! cloud is a third.

use super::replacements::Replacements;
use gaform_control::event::Event;
use gaform_control::ledger::Ledger;
use gaform_control::scale;
use gaform_providers::books::Books;
use gaform_providers::local::JobRecord;
use gaform_providers::CloudError;
use gaform_runtime::store::Store;
use gaform_runtime::telemetry::WorkerReport;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a job's workers are let go of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Release {
    /// Every island is done: the workers go on to the group's next job, or stop.
    Finished,
    /// The job ended early (timed out, failed): each worker saves its islands where they
    /// are and leaves the job; another running job of the group gets the workers.
    Ended,
    /// The compute stops: each worker saves its islands where they are, then goes.
    Stopping,
}

/// A head's cloud.
pub trait Cloud {
    /// The stack's name, as notifications label their alerts.
    fn stack_name(&self) -> String;
    /// The stack's books: budgets, monitors, their states, the event log.
    fn books(&self) -> Arc<dyn Books>;
    /// The local cloud's prices are what AWS would bill, not a bill.
    fn simulated(&self) -> bool;
    /// False once this process is no longer the compute's head (an apply started another):
    /// it exits at once, touching nothing.
    fn still_head(&mut self) -> bool {
        true
    }
    /// The head's `auto_terminate`, in seconds.
    fn auto_terminate(&mut self) -> Option<f64>;
    /// The ledger at `now`, made level with the cloud first where the cloud bills (aws).
    fn ledger(&mut self, now: f64) -> Result<Ledger, CloudError>;
    /// Every job of the compute, whatever its status.
    fn jobs(&mut self) -> Result<Vec<JobRecord>, CloudError>;
    /// Writes a job's record, which its workers read.
    fn write_job(&mut self, job: &JobRecord) -> Result<(), CloudError>;
    /// Job `name`'s store: its checkpoints and its workers' reports.
    fn store(&mut self, name: &str) -> Result<&dyn Store, CloudError>;
    /// The reports of `job`'s live workers (those the ledger runs, where one is given).
    fn reports(&mut self, job: &JobRecord, ledger: Option<&Ledger>) -> Result<Vec<WorkerReport>, CloudError>;
    /// Where the head writes `job`'s results, `metrics.csv` and `report.html` on this machine.
    fn results_dir(&self, job: &JobRecord) -> PathBuf;
    /// Where the user finds `job`'s results, in words.
    fn results_place(&self, job: &JobRecord) -> String;
    /// Done with `dir`: its results, where `written`, go where the user reads them (aws:
    /// beside the job on S3, and the local copy goes).
    fn keep_results(&mut self, job: &JobRecord, dir: &Path, written: bool) -> Result<(), CloudError>;
    /// The live workers of `job`'s group as a scale-down weighs them, and the group's `min`.
    fn workers(&mut self, job: &JobRecord, ledger: &Ledger) -> Result<(Vec<scale::Worker>, u64), CloudError>;
    /// Takes `victims` out of frozen `job`'s run, `kept` workers left: its record and the
    /// workers themselves, in the order the cloud's workers need to find their islands.
    fn shed(
        &mut self,
        job: &mut JobRecord,
        victims: &[&scale::Worker],
        kept: usize,
    ) -> Result<(), CloudError>;
    /// What becomes of `job`'s workers now that its record says it is over.
    fn release(&mut self, job: &JobRecord, how: Release) -> Result<(), CloudError>;
    /// How many instances the compute has, its head included.
    fn instances(&mut self) -> Result<u64, CloudError>;
    /// Terminates every instance of the compute, this head last.
    fn terminate(&mut self) -> Result<(), CloudError>;
    /// Every pass: what workers need between ticks (local: a dead process replaced, within
    /// `replacements`; aws: the workers' interruption notices acted on).
    fn tend(&mut self, now: f64, replacements: &mut Replacements) -> Result<(), CloudError>;
    /// Every tick, after the budget: the cloud's own care of its workers (aws: heal lost
    /// workers within `replacements`, autoscale, return to spot). What failed, as
    /// (what it was doing, the error): it is tried again next tick.
    fn upkeep(&mut self, ledger: &Ledger, replacements: &mut Replacements) -> Vec<(String, CloudError)>;
    /// Logs `event` in the stack's event log (and `job`'s log, where there is one).
    fn log(&mut self, event: &Event, job: Option<&str>);
    /// Says `line` where the compute's operator reads (local: events.log and `job`'s log;
    /// aws: the instance's log).
    fn say(&mut self, line: &str, job: Option<&str>);
}
