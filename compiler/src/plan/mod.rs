//! Plans: the desired state as a resource graph, what a provider observed, and the diff of
//! the two as a list of actions with reasons and a cost table. Pure data and pure
//! functions: providers observe and act, `src/` renders and saves; nothing here does IO.

pub mod addr;
pub mod cost;
pub mod count;
pub mod describe;
pub mod desired;
mod diff;
pub mod observed;
pub mod quota;
pub mod render;

pub use addr::{Addr, Kind};
pub use cost::Cost;
pub use desired::{desired, Attributes, Desired, Resource};
pub use diff::{destroy, diff};
pub use observed::{BudgetSpend, Facts, Instance, JobStatus, Mix, Observed, ObservedResource, VcpuQuota};

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The version of the plan's JSON form; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// What `apply` will do, and what the plan saw when it was made.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format_version: u32,
    /// The `.gaf` file, as given on the command line.
    pub configuration: String,
    /// SHA-256 of the file's text when planned; a saved plan for another text is stale.
    pub configuration_sha256: String,
    /// `plan` or `destroy`.
    pub mode: Mode,
    /// Each observed resource's fingerprint when planned; `apply` refuses the plan when
    /// the live state no longer matches.
    pub observed: BTreeMap<Addr, String>,
    /// In the order they may run: every change after the changes it depends on.
    pub resource_changes: Vec<Change>,
    /// Lines about resources with no change worth saying (a job done, a compute kept
    /// down, blocks not provisioned, caps not honoured).
    pub notes: Vec<String>,
    pub cost: Cost,
    pub summary: Summary,
}

/// Whether the plan converges on the file or removes everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Plan,
    Destroy,
}

/// One resource's change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub address: Addr,
    pub kind: Kind,
    /// `local` or `aws`.
    pub provider: String,
    /// The cloud that carries it out.
    #[serde(default)]
    pub cloud: String,
    pub action: Action,
    /// Why, in words (`not found`, `instance [1] is gone`, `job done`).
    pub reason: String,
    /// Replace only: the attributes that cannot change in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forced_by: Vec<String>,
    pub before: Option<Attributes>,
    pub after: Option<Attributes>,
    /// Heads and worker groups: instances before and after, and why that many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<CountChange>,
    /// Instance slots to start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub start: Vec<u64>,
    /// Instances (by provider id) to stop.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stop: Vec<Instance>,
    /// Indices into `resource_changes` of the changes that must finish first.
    #[serde(default)]
    pub depends_on: Vec<usize>,
    /// What the resource depends on, recorded with it so a later delete is ordered.
    #[serde(default)]
    pub needs: Vec<Addr>,
}

/// A counted resource's size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CountChange {
    pub before: u64,
    pub after: u64,
    pub reason: String,
}

/// What happens to a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    /// Changed in place.
    Update,
    /// Destroyed and created again, because of `forced_by`.
    Replace,
    /// Instances started or stopped; the group stays.
    Scale,
    Delete,
}

impl Action {
    /// The Terraform symbol.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update | Action::Scale => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
        }
    }

    /// The verb for progress lines and JSON (`create`).
    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Scale => "scale",
            Action::Delete => "delete",
        }
    }
}

/// `Plan: 3 to add, 0 to change, 0 to destroy.`
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
}

impl Plan {
    /// True when applying would change nothing.
    pub fn is_empty(&self) -> bool {
        self.resource_changes.is_empty()
    }
}
