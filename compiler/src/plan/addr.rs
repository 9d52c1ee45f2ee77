//! Resource addresses and kinds: the stable names a plan, a provider's records and the
//! user share (`compute.here.workers.islands`). An address never depends on source order.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A resource's stable address.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Addr(pub String);

impl Addr {
    /// `local.state_dir`: where the local provider keeps the stack's records. One per
    /// stack, whatever its local clouds are called, so renaming a cloud moves nothing.
    pub fn state_dir() -> Addr {
        Addr("local.state_dir".into())
    }

    /// `cloud.NAME.artifacts`: the stack's place in its aws account's artifact bucket (the
    /// gaform binary per architecture, job specs, the islands' store).
    pub fn artifacts(cloud: &str) -> Addr {
        Addr(format!("cloud.{cloud}.artifacts"))
    }

    /// `cloud.NAME.instance_role`: the role (and instance profile) an aws cloud's instances
    /// run as: the stack's artifacts on S3, and terminating the stack's instances.
    pub fn instance_role(cloud: &str) -> Addr {
        Addr(format!("cloud.{cloud}.instance_role"))
    }

    /// `compute.NAME.security_group`: an aws compute's members, who may talk to each other.
    pub fn security_group(compute: &str) -> Addr {
        Addr(format!("compute.{compute}.security_group"))
    }

    /// `compute.NAME.head.launch_template` or `compute.NAME.workers.GROUP.launch_template`:
    /// how the aws instances of `owner` boot.
    pub fn launch_template(owner: &Addr) -> Addr {
        Addr(format!("{owner}.launch_template"))
    }

    /// `compute.NAME.head`.
    pub fn head(compute: &str) -> Addr {
        Addr(format!("compute.{compute}.head"))
    }

    /// `compute.NAME.workers.GROUP`.
    pub fn workers(compute: &str, group: &str) -> Addr {
        Addr(format!("compute.{compute}.workers.{group}"))
    }

    /// `job.NAME`.
    pub fn job(name: &str) -> Addr {
        Addr(format!("job.{name}"))
    }

    /// `service.NAME`.
    pub fn service(name: &str) -> Addr {
        Addr(format!("service.{name}"))
    }

    /// One instance of a counted resource: `compute.here.workers.islands[1]`.
    pub fn instance(&self, index: u64) -> String {
        format!("{}[{index}]", self.0)
    }

    /// The compute this address belongs to, if any.
    pub fn compute(&self) -> Option<&str> {
        let rest = self.0.strip_prefix("compute.")?;
        rest.split('.').next()
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// What a resource is. The order is the dependency order of a stack: a kind depends only
/// on kinds before it, which is how deletions of resources no longer in the file (and so
/// absent from the graph) are still ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    StateDir,
    Artifacts,
    Role,
    SecurityGroup,
    LaunchTemplate,
    Head,
    WorkerGroup,
    Job,
    /// A `service`: on a local cloud its `gaform serve` process; on aws the spec its
    /// compute's replicas read (`services/NAME.json` beside the stack's artifacts).
    Service,
}

impl Kind {
    /// True when the resource is a number of instances rather than one object.
    pub fn is_counted(self) -> bool {
        matches!(self, Kind::Head | Kind::WorkerGroup)
    }

    /// True when a change to `attribute` cannot be made in place: the resource must be
    /// replaced (an instance cannot change type; a job with another spec is another run).
    pub fn forces_replacement(self, attribute: &str) -> bool {
        match self {
            Kind::StateDir => attribute == "path",
            Kind::SecurityGroup | Kind::Artifacts | Kind::Role => attribute == "region",
            Kind::LaunchTemplate => {
                matches!(attribute, "region" | "image" | "bootstrap" | "instance_profile")
            }
            // A running head listens where it started: a new port takes a new head.
            Kind::Head if attribute == "metrics_port" => true,
            // A replica serves the service it booted for, on the port it booted with.
            Kind::Head | Kind::WorkerGroup => matches!(
                attribute,
                "instance_type" | "instance_types" | "market" | "purchase" | "image" | "serves"
            ),
            Kind::Job => !matches!(attribute, "max_runtime"),
            // A running server listens where it started and answers for the job it was
            // started for: any change is a new replica.
            Kind::Service => true,
        }
    }

    /// How the kind reads in messages.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::StateDir => "state directory",
            Kind::Artifacts => "artifact store",
            Kind::Role => "instance role",
            Kind::SecurityGroup => "security group",
            Kind::LaunchTemplate => "launch template",
            Kind::Head => "head node",
            Kind::WorkerGroup => "worker group",
            Kind::Job => "job",
            Kind::Service => "service",
        }
    }
}
