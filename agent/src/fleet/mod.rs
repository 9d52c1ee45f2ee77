//! A compute's workers kept to what its running jobs need, at every tick of its head: a
//! group running fewer workers than its jobs were planned with gets the difference started
//! (`heal`: lost workers replaced within the replacement cap, workers given notice replaced
//! before they go), and an autoscaled group is sized to its work (`autoscale`: grown through
//! the same starts, its islands dealt again once the new workers are up, idle workers
//! beyond its target let go after a cool-down). What it decides is written once here; what
//! it does goes through [`Workers`], which aws implements with EC2 fleets and S3 claims
//! (`aws::cloud`) and the head's tests with a fake (`head/tests`). Every act is an event
//! with its reason.

mod autoscale;
mod heal;

#[cfg(test)]
mod tests;

use gaform_compiler::plan::Addr;
use gaform_control::event::Event;
use gaform_providers::local::JobRecord;
use gaform_providers::CloudError;
use std::collections::{BTreeMap, BTreeSet};

/// What the fleet's care needs of a cloud.
pub trait Workers {
    /// The compute's jobs, whatever their status.
    fn jobs(&mut self) -> Result<Vec<JobRecord>, CloudError>;
    /// Job `name`'s record as it is now.
    fn job(&mut self, name: &str) -> Result<Option<JobRecord>, CloudError>;
    /// Writes a job's record, which its workers read.
    fn write_job(&mut self, job: &JobRecord) -> Result<(), CloudError>;
    /// `job`'s islands without their final checkpoint.
    fn unfinished(&mut self, job: &JobRecord) -> Result<Vec<u64>, CloudError>;
    /// The worker that holds `island` of `job`, if one does.
    fn claim_holder(&mut self, job: &str, island: u64) -> Result<Option<String>, CloudError>;
    /// The workers up and waiting for deal `dealt` of `job`'s islands.
    fn waiting_for_islands(&mut self, job: &str, dealt: u64) -> Result<Vec<String>, CloudError>;
    /// Starts `count` workers in `group`; what was started, in words.
    fn start(&mut self, group: &Addr, count: u64) -> Result<String, CloudError>;
    /// Terminates `workers`.
    fn terminate(&mut self, workers: &[String]) -> Result<(), CloudError>;
    /// Logs an act in the stack's event log (and where the operator reads).
    fn record(&mut self, event: Event);
    /// The time now, in Unix seconds.
    fn now(&self) -> f64;
}

/// What the fleet's care remembers from one tick to the next.
#[derive(Debug, Default)]
pub struct Fleet {
    /// Lost workers an event has named already.
    pub lost: BTreeSet<String>,
    /// Each group's last failed start, so that a failure that repeats every tick is logged
    /// once.
    pub failed: BTreeMap<Addr, String>,
    /// Workers the cloud gave notice: they count as gone.
    pub leaving: BTreeSet<String>,
    /// Of those, the ones whose replacement was requested.
    pub replaced_early: BTreeSet<String>,
    /// Workers of autoscaled groups holding no unfinished island, since when.
    pub idle_since: BTreeMap<String, f64>,
    /// Jobs with new workers waiting for a deal, since when the first was seen waiting.
    pub waiting_since: BTreeMap<String, f64>,
    /// How long an idle autoscaled worker waits before it goes, in seconds.
    pub cooldown: f64,
}

impl Fleet {
    /// A fleet whose idle autoscaled workers go after `cooldown` seconds.
    pub fn new(cooldown: f64) -> Fleet {
        Fleet { cooldown, ..Fleet::default() }
    }
}
