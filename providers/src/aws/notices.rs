//! Notices between a worker and its head on S3 (`notices/INSTANCE-KIND.json` under the
//! stack's prefix): a worker whose instance EC2 is about to take back says so at once, and
//! says again when it has saved its islands and let go of them; its head lists the prefix
//! (one request) every pass of its loop and starts the replacement (the event it logs is
//! what keeps a restarted head from acting twice). Claims are let go of by
//! writing over them, only while they are still the worker's own (S3 `If-Match`).

use super::agent::Agent;
use super::imds::Notice;
use crate::CloudError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a worker told its head.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceNotice {
    pub instance: String,
    /// The worker group's address.
    pub group: String,
    #[serde(flatten)]
    pub notice: Notice,
    /// Unix seconds: when the worker saw it.
    pub seen_at: f64,
    /// When the worker had saved its islands mid-epoch and let go of their claims.
    #[serde(default)]
    pub handed_over_at: Option<f64>,
}

impl InstanceNotice {
    /// `interruption` or `rebalance`.
    pub fn kind(&self) -> &'static str {
        match self.notice {
            Notice::Interruption { .. } => "interruption",
            Notice::Rebalance { .. } => "rebalance",
        }
    }

    fn key(&self, agent: &Agent) -> String {
        format!("{}notices/{}-{}.json", agent.prefix, self.instance, self.kind())
    }
}

impl Agent {
    /// Writes `notice` (anew, or over its earlier version).
    pub fn put_notice(&self, notice: &InstanceNotice) -> Result<(), CloudError> {
        let bytes = serde_json::to_vec_pretty(notice).map_err(|e| e.to_string())?;
        self.put(&notice.key(self), bytes, None, None).map(|_| ())
    }

    /// The notices of the stack's cloud written or rewritten since `read` (their keys and
    /// versions, kept by the caller): one listing, and a read only of what changed.
    pub fn new_notices(
        &self,
        read: &mut BTreeMap<String, String>,
    ) -> Result<Vec<InstanceNotice>, CloudError> {
        let prefix = format!("{}notices/", self.prefix);
        let pages = self.runtime.block_on(super::listing::pages(&self.s3, &self.bucket, &prefix, false))?;
        let mut out = Vec::new();
        for object in pages.iter().flat_map(|p| p.contents()) {
            let (Some(key), Some(version)) = (object.key(), object.e_tag()) else { continue };
            if read.get(key).is_some_and(|v| v == version) {
                continue;
            }
            // Deleted since the listing (a destroy): nothing to act on.
            if let Some((bytes, version)) = self.get(key, None)? {
                let notice = serde_json::from_slice(&bytes)
                    .map_err(|e| format!("s3://{}/{key} is damaged: {e}", self.bucket))?;
                read.insert(key.to_string(), version);
                out.push(notice);
            }
        }
        Ok(out)
    }

    /// Lets go of `instance`'s claim on `island` of `job`, if it still holds it: the next
    /// worker to look claims it at once (a claim whose holder is no instance id is free).
    pub fn release(&self, job: &str, island: u64, instance: &str) -> Result<bool, CloudError> {
        self.write_over_claim(job, island, instance, &format!("released by {instance}"))
            .map_err(|e| e.context(format!("cannot let go of island {island} of job {job}")))
    }

    /// Writes `mark` over `instance`'s claim on `island` of `job`, only while it is still
    /// the instance's own (`If-Match`); false when it is not.
    pub(super) fn write_over_claim(
        &self,
        job: &str,
        island: u64,
        instance: &str,
        mark: &str,
    ) -> Result<bool, CloudError> {
        let key = format!("{}jobs/{job}/claims/island-{island}", self.prefix);
        let Some((holder, etag)) = self.get(&key, None)? else { return Ok(false) };
        if holder != instance.as_bytes() {
            return Ok(false);
        }
        self.put(&key, mark.as_bytes().to_vec(), None, Some(&etag))
    }
}

impl Agent {
    /// Lets go of every claim `instance` holds on `job`'s `islands` (a worker moved off the
    /// instance).
    pub fn release_all(&self, job: &str, islands: u64, instance: &str) -> Result<(), CloudError> {
        for island in 0..islands {
            self.release(job, island, instance)?;
        }
        Ok(())
    }

    /// Whether `instance` still holds a claim on one of `job`'s `islands`.
    pub fn holds_claims(&self, job: &str, islands: u64, instance: &str) -> Result<bool, CloudError> {
        for island in 0..islands {
            let key = format!("{}jobs/{job}/claims/island-{island}", self.prefix);
            if self.get(&key, None)?.is_some_and(|(holder, _)| holder == instance.as_bytes()) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl Agent {
    /// Who holds `island` of `job` (a released claim names no instance), if anyone.
    pub fn claim_holder(&self, job: &str, island: u64) -> Result<Option<String>, CloudError> {
        let key = format!("{}jobs/{job}/claims/island-{island}", self.prefix);
        Ok(self.get(&key, None)?.map(|(holder, _)| String::from_utf8_lossy(&holder).into_owned()))
    }

    /// The version of `job`'s claims as a whole (one listing: each claim's key and ETag): it
    /// changes whenever an island is claimed, taken over or let go of, so an idle worker
    /// looks for islands to take only when it did.
    pub fn claims_version(&self, job: &str) -> Result<String, CloudError> {
        let prefix = format!("{}jobs/{job}/claims/", self.prefix);
        let pages = self.runtime.block_on(super::listing::pages(&self.s3, &self.bucket, &prefix, false))?;
        let mut version = String::new();
        for o in pages.iter().flat_map(|p| p.contents()) {
            version.push_str(o.key().unwrap_or_default());
            version.push('=');
            version.push_str(o.e_tag().unwrap_or_default());
            version.push('\n');
        }
        Ok(version)
    }
}
