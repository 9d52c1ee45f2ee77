//! `compute NAME`: a head node and worker groups on one cloud.

use super::{BudgetId, CloudId, Market, QuotaId, Spanned, SpotPolicyId};
use crate::source::Span;
use serde::Serialize;

/// `compute NAME`.
#[derive(Clone, Debug, Serialize)]
pub struct Compute {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub cloud: CloudId,
    pub quota: Option<Spanned<QuotaId>>,
    pub budget: Option<BudgetId>,
    pub max_cpus: Option<Spanned<u64>>,
    pub max_gpus: Option<Spanned<u64>>,
    /// Idle seconds before everything is terminated.
    pub auto_terminate_secs: Option<f64>,
    pub head: Head,
    /// At least one; names unique within the compute.
    pub workers: Vec<WorkerGroup>,
}

/// Which machine image an instance boots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Image {
    /// An explicit AMI id (`ami-…`).
    Ami(String),
    /// The latest Amazon Linux 2023 for the instance type's architecture.
    Al2023,
    /// The latest Ubuntu 24.04 for the instance type's architecture.
    Ubuntu2404,
}

/// `head { ... }`.
#[derive(Clone, Debug, Serialize)]
pub struct Head {
    pub instance_type: Spanned<String>,
    pub market: Market,
    pub image: Image,
    /// Where the head serves Prometheus metrics (`metrics_port`, default 9464).
    pub metrics_port: u16,
    /// CIDR blocks allowed to reach the metrics port on aws (`metrics_from`); none by default.
    pub metrics_from: Vec<String>,
}

/// The head's metrics port when the file sets none: the port OpenTelemetry's Prometheus
/// exporter uses, clear of Ray's 8080 and Prometheus' own 9090.
pub const DEFAULT_METRICS_PORT: u16 = 9464;

/// How a worker group buys instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Purchase {
    OnDemand,
    /// Spot, with a named policy or the policy defaults.
    Spot(Option<SpotPolicyId>),
}

/// `workers NAME { ... }`.
#[derive(Clone, Debug, Serialize)]
pub struct WorkerGroup {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    /// One type, or several for spot diversification; never empty.
    pub instance_types: Vec<Spanned<String>>,
    pub min: u64,
    /// >= `min`.
    pub max: Spanned<u64>,
    pub purchase: Purchase,
    pub autoscale: bool,
    pub image: Image,
}
