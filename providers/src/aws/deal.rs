//! Dealing a job's islands again when its head grew the group: a worker that finds no island
//! to take says it waits (`jobs/JOB/waiting/DEAL/INSTANCE`, one empty object), the head
//! lists those of the current deal (one request) and deals again once the new workers are
//! up, and each worker that held more than its new share hands the rest over (its claims
//! say `handed over by INSTANCE`). A handed-over island is left to the workers whose share
//! has room for it, where an orphan (its holder gone) goes to whoever sees it first.

use super::agent::Agent;
use crate::CloudError;

/// What a handed-over claim says: the holder that let it go, for the next deal.
const HANDED_OVER: &str = "handed over by ";

/// Whether a claim's holder is the mark of an island handed over in a new deal.
pub fn is_handed_over(holder: &str) -> bool {
    holder.starts_with(HANDED_OVER)
}

impl Agent {
    /// Hands `instance`'s claim on `island` of `job` over to the next deal, if it still
    /// holds it.
    pub fn hand_over(&self, job: &str, island: u64, instance: &str) -> Result<bool, CloudError> {
        self.write_over_claim(job, island, instance, &format!("{HANDED_OVER}{instance}"))
            .map_err(|e| e.context(format!("cannot hand island {island} of job {job} over")))
    }

    /// Says that `instance` waits for islands of `job` under its deal `dealt`.
    pub fn wait_for_islands(&self, job: &str, dealt: u64, instance: &str) -> Result<(), CloudError> {
        let key = format!("{}waiting/{dealt}/{instance}", self.job_prefix(job));
        self.put(&key, Vec::new(), None, None).map(|_| ())
    }

    /// The workers waiting for islands of `job` under its deal `dealt`: one listing.
    pub fn waiting_for_islands(&self, job: &str, dealt: u64) -> Result<Vec<String>, CloudError> {
        let prefix = format!("{}waiting/{dealt}/", self.job_prefix(job));
        let keys = self.runtime.block_on(super::listing::keys(&self.s3, &self.bucket, &prefix))?;
        Ok(keys.iter().filter_map(|k| k.strip_prefix(&prefix)).map(str::to_string).collect())
    }
}
