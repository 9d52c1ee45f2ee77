//! The replacement cap, the same on both clouds: a worker that keeps dying (a crash, a
//! process killed, an instance lost without notice) is replaced [`MAX_REPLACEMENTS`]
//! times; the next death fails its job, with the reason, instead of paying for a loop. A
//! worker EC2 gave notice of does not count: that loss is the market's, not the worker's.

use gaform_providers::local::JobRecord;
use std::collections::BTreeMap;

/// How many times one worker of a run is replaced before its job fails.
pub const MAX_REPLACEMENTS: u32 = 5;

/// The replacements of the head's runs so far, and the jobs that went past the cap.
#[derive(Debug, Default)]
pub struct Replacements {
    /// By run (job name and start) and worker.
    counts: BTreeMap<(String, u64, String), u32>,
    failing: Vec<(String, String)>,
}

impl Replacements {
    /// Counts one more replacement of `worker` of `job`; false, and the job marked to fail
    /// with `why(cap)`, once that worker has been replaced [`MAX_REPLACEMENTS`] times.
    /// `pool` workers share one count where the cloud cannot tell them apart (aws: the
    /// group's instances), its cap then `pool` times as high.
    pub fn allow(
        &mut self,
        job: &JobRecord,
        worker: &str,
        pool: u64,
        why: impl FnOnce(u32) -> String,
    ) -> bool {
        let cap = MAX_REPLACEMENTS * u32::try_from(pool.max(1)).unwrap_or(u32::MAX / MAX_REPLACEMENTS);
        let count =
            self.counts.entry((job.name.clone(), job.started_at.to_bits(), worker.to_string())).or_default();
        if *count >= cap {
            if !self.failing.iter().any(|(name, _)| *name == job.name) {
                self.failing.push((job.name.clone(), why(cap)));
            }
            return false;
        }
        *count += 1;
        true
    }

    /// The jobs past the cap since the last call, with why.
    pub fn take_failing(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.failing)
    }
}
