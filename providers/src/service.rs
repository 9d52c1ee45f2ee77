//! What a provisioned service's replicas share with the rest of gaform, whatever the cloud:
//! the service's spec and each replica's heartbeat (on aws both lie on S3, `aws/services.rs`).

use gaform_compiler::plan::{Addr, Attributes};
use serde::{Deserialize, Serialize};

/// `services/NAME/spec.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ServiceSpec {
    pub address: Addr,
    /// `job`, `route`, `port`, `compute` (and `allow_from`), as the plan shows them.
    pub attributes: Attributes,
    pub depends_on: Vec<Addr>,
}

/// What one replica last said of itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Heartbeat {
    pub instance: String,
    pub ready: bool,
    pub version: Option<u64>,
    /// The digest of the `best.json` it serves.
    pub run: Option<String>,
    pub strategy: Option<String>,
    /// Why it is not ready.
    pub waiting: Option<String>,
    /// Unix seconds.
    pub at: f64,
}
