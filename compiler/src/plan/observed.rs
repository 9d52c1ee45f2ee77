//! What a provider found live: plain data, so that the planner stays pure and tests can
//! write any state they like (empty, partial, drifted, over-provisioned) without a cloud.

use super::addr::{Addr, Kind};
use super::desired::Attributes;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything a stack owns, by address, and what its clouds said of their market.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub resources: BTreeMap<Addr, ObservedResource>,
    /// Read at plan time; not part of a saved plan's staleness check (prices move).
    #[serde(default)]
    pub facts: Facts,
}

/// What a cloud said at plan time: live prices, the images names resolve to, vCPU quotas.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    /// Current spot USD per hour, the lowest of the region's zones, by `CLOUD/TYPE`.
    #[serde(default)]
    pub spot_prices: BTreeMap<String, f64>,
    /// The AMI an image name stands for now, by `CLOUD/IMAGE/ARCH` (`west/al2023/x86_64`).
    #[serde(default)]
    pub images: BTreeMap<String, String>,
    /// Live vCPU quotas, by `CLOUD/CODE` (`west/L-1216C47A`).
    #[serde(default)]
    pub quotas: BTreeMap<String, VcpuQuota>,
    /// What could not be read, and what stands in for it.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Each budget's spend this period, from the stack's cost ledger, by budget name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub spend: BTreeMap<String, BudgetSpend>,
}

/// A budget's spend in its current period, as the stack's ledger has it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BudgetSpend {
    /// US dollars billed this period to the computes that name the budget.
    pub spent: f64,
    /// US dollars per hour their running instances cost now.
    pub per_hour: f64,
    /// The period, Unix seconds `[start, end)`; `end` is absent for `total`.
    pub period_start: f64,
    pub period_end: Option<f64>,
    /// Hours from the observation to the period's end; absent for `total`.
    pub hours_left: Option<f64>,
    /// Local cloud: what the instances would have cost on AWS; nothing was billed.
    pub simulated: bool,
}

/// One of an account's vCPU quotas in one region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VcpuQuota {
    /// `standard on-demand`, `standard spot`, `G and VT on-demand`, ...
    pub name: String,
    pub limit: f64,
    /// vCPUs of the account's running instances in this class, this stack's included.
    pub used: f64,
}

/// One resource as found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObservedResource {
    pub kind: Kind,
    /// `local` or `aws`, and the cloud it was found in: where a delete goes.
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub cloud: String,
    /// As recorded when it was made or last updated.
    pub attributes: Attributes,
    /// Heads and worker groups: the live instances (dead ones are not listed).
    #[serde(default)]
    pub instances: Vec<Instance>,
    /// Jobs: how the run stands.
    #[serde(default)]
    pub job: Option<JobStatus>,
    /// As recorded, so that a resource gone from the file is still deleted in order.
    #[serde(default)]
    pub depends_on: Vec<Addr>,
    /// Worker groups: why nothing may start in the group now (a budget's scale-down froze
    /// the run of the job on it: no replacements, no scale-up until that run ends).
    #[serde(default)]
    pub frozen: Option<String>,
    /// Worker groups on aws: how many of the live instances are spot and on-demand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mix: Option<Mix>,
}

/// A worker group's live instances by market.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mix {
    pub spot: u64,
    pub on_demand: u64,
}

/// One live instance.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Instance {
    /// Its slot in the group: worker k runs islands k, k + count, ...
    pub index: u64,
    /// The provider's id (`pid 4242 since tick 99`, `i-0abc…`).
    pub id: String,
}

/// How a job's run stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum JobStatus {
    /// Running, or waiting for its workers.
    Running,
    /// Every island finished and the results were gathered.
    Finished,
    /// Stopped by `max_runtime`; done, like a finished job.
    TimedOut,
    /// Stopped by an error; the next apply resumes it from its checkpoints.
    Failed { reason: String },
    /// Stopped by gaform on its own (a budget reached 100%), with the results gathered so
    /// far; the next apply resumes it from its checkpoints once the budget allows.
    Stopped { reason: String },
}

impl JobStatus {
    /// Finished or timed out: the run is over on purpose and is not started again.
    pub fn is_done(&self) -> bool {
        matches!(self, JobStatus::Finished | JobStatus::TimedOut)
    }

    /// One word for tables.
    pub fn word(&self) -> &'static str {
        match self {
            JobStatus::Running => "running",
            JobStatus::Finished => "finished",
            JobStatus::TimedOut => "timed out",
            JobStatus::Failed { .. } => "failed",
            JobStatus::Stopped { .. } => "stopped",
        }
    }
}

impl ObservedResource {
    /// What must match for a saved plan to still hold: attributes, instance ids and the
    /// job's state, but not progress, which moves while nobody changes anything.
    pub fn fingerprint(&self) -> String {
        let mut ids: Vec<&str> = self.instances.iter().map(|i| i.id.as_str()).collect();
        ids.sort_unstable();
        let attrs: Vec<String> = self.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let job = self.job.as_ref().map_or("", JobStatus::word);
        format!("{:?}|{}|{}|{}", self.kind, attrs.join(";"), ids.join(","), job)
    }
}

impl Observed {
    /// Each resource's fingerprint, by address.
    pub fn fingerprints(&self) -> BTreeMap<Addr, String> {
        self.resources.iter().map(|(a, r)| (a.clone(), r.fingerprint())).collect()
    }
}
