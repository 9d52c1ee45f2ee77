//! The typed IR: what later stages (graph, plan, providers, the job runner) consume.
//! References are ids into `Program`'s vectors; no strings are left to re-parse. Spans
//! are kept so that plan-time errors can still point into the source.

mod compute;
mod job;
mod strategy;

pub use compute::*;
pub use job::*;
pub use strategy::*;

use crate::source::Span;
use serde::Serialize;
use std::collections::BTreeMap;

/// Keyword enumerations: the Rust enum, its members as written in `.gaf` files, and what
/// the enumeration is called in messages.
pub trait Keyword: Sized + Copy + 'static {
    /// What a member of this enumeration is, in messages (`market`).
    const WHAT: &'static str;
    /// Every member as written.
    const MEMBERS: &'static [&'static str];
    /// The member written `word`.
    fn from_keyword(word: &str) -> Option<Self>;
    /// How the member is written.
    fn keyword(self) -> &'static str;
}

macro_rules! keyword_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        pub enum $name { $(#[doc = $text] $variant),+ }
        impl $crate::ir::Keyword for $name {
            const WHAT: &'static str = $what;
            const MEMBERS: &'static [&'static str] = &[$($text),+];
            fn from_keyword(word: &str) -> Option<Self> {
                match word { $($text => Some(Self::$variant),)+ _ => None }
            }
            fn keyword(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }
    };
}
pub(crate) use keyword_enum;

macro_rules! id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        pub struct $name(pub usize);
    };
}

id!(/// Index into `Program::clouds`.
    CloudId);
id!(/// Index into `Program::quotas`.
    QuotaId);
id!(/// Index into `Program::budgets`.
    BudgetId);
id!(/// Index into `Program::spot_policies`.
    SpotPolicyId);
id!(/// Index into `Program::computes`.
    ComputeId);
id!(/// Index into `Program::jobs`.
    JobId);

/// A checked program. Every vector is in source order within its kind.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Program {
    pub clouds: Vec<Cloud>,
    pub quotas: Vec<Quota>,
    pub budgets: Vec<Budget>,
    pub spot_policies: Vec<SpotPolicy>,
    /// Strategies written in the file (`strategy NAME`).
    pub strategies: Vec<StrategyDef>,
    pub computes: Vec<Compute>,
    pub jobs: Vec<Job>,
    pub services: Vec<Service>,
    pub monitors: Vec<Monitor>,
}

/// A value with the span it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Spanned<T> {
    pub value: T,
    #[serde(skip)]
    pub span: Span,
}

keyword_enum!(/// Which provider a cloud uses.
    Provider, "provider" { Aws = "aws", Local = "local" });

/// `cloud NAME`.
#[derive(Clone, Debug, Serialize)]
pub struct Cloud {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub provider: Provider,
    /// Always set for `aws`; `None` for `local`.
    pub region: Option<String>,
    pub profile: Option<String>,
    pub tags: BTreeMap<String, String>,
}

/// `quota NAME`: account-level caps shared by every compute that names it.
#[derive(Clone, Debug, Serialize)]
pub struct Quota {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub max_cpus: Option<Spanned<u64>>,
    pub max_gpus: Option<Spanned<u64>>,
    pub max_instances: Option<Spanned<u64>>,
}

keyword_enum!(/// The window a budget's amount applies to.
    Period, "budget period" { Day = "day", Week = "week", Month = "month", Total = "total" });

impl Period {
    /// The period written `word`.
    pub fn from_keyword_str(word: &str) -> Option<Period> {
        <Period as Keyword>::from_keyword(word)
    }

    /// Hours in the period (a month is AWS's 730 hours); `None` for `total`.
    pub fn hours(self) -> Option<f64> {
        match self {
            Period::Day => Some(24.0),
            Period::Week => Some(168.0),
            Period::Month => Some(730.0),
            Period::Total => None,
        }
    }
}

keyword_enum!(/// What an alert does when it fires.
    AlertAction, "alert action" { Notify = "notify", ScaleDown = "scale_down", Stop = "stop" });

/// `budget NAME`.
#[derive(Clone, Debug, Serialize)]
pub struct Budget {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    /// US dollars, > 0.
    pub amount: Spanned<f64>,
    pub period: Period,
    pub max_cost_per_hour: Option<f64>,
    /// Strictly increasing `at`, each in (0, 1].
    pub alerts: Vec<BudgetAlert>,
    /// Where its notifications go, if anywhere beyond the event log.
    pub notify: Option<Notify>,
}

/// `notify { webhook = ...  token = env("NAME")  sns = "arn:..." }` in a budget.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct Notify {
    /// An HTTP(S) URL that receives a JSON POST per notification.
    pub webhook: Option<FromEnv>,
    /// The environment variable holding the webhook's bearer token: a secret is never in
    /// the file, a plan or a record, only its name.
    pub token_env: Option<String>,
    /// An SNS topic ARN (aws clouds).
    pub sns: Option<String>,
}

/// A setting written in the file, or the name of the environment variable that holds it
/// (`env("SLACK_WEBHOOK")`), read where it is used.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromEnv {
    Literal(String),
    Env(String),
}

/// `alert { at = PERCENT action = ... }` in a budget.
#[derive(Clone, Debug, Serialize)]
pub struct BudgetAlert {
    /// Fraction of the amount, in (0, 1].
    pub at: f64,
    pub action: AlertAction,
}

keyword_enum!(/// How instances are bought.
    Market, "market" { Spot = "spot", OnDemand = "on_demand" });

keyword_enum!(/// What to do when spot capacity is not available.
    Fallback, "fallback" { OnDemand = "on_demand", None = "none" });

keyword_enum!(/// EC2 Fleet allocation strategy for spot.
Allocation, "allocation strategy" {
    PriceCapacityOptimized = "price_capacity_optimized",
    CapacityOptimized = "capacity_optimized",
    LowestPrice = "lowest_price",
});

/// The most a spot policy pays.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum MaxPrice {
    /// Fraction of the on-demand price, in (0, 1].
    FractionOfOnDemand(f64),
    /// US dollars per hour.
    PerHour(f64),
}

/// `spot_policy NAME`.
#[derive(Clone, Debug, Serialize)]
pub struct SpotPolicy {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub market: Market,
    pub fallback: Fallback,
    pub allocation: Allocation,
    pub max_price: Option<MaxPrice>,
    /// After a fall back to on-demand, how long until spot is tried again (seconds); `None`
    /// for `never`.
    pub return_to_spot_secs: Option<f64>,
}

/// `return_to_spot` when a spot policy leaves it out: Anyscale's recheck interval.
pub const DEFAULT_RETURN_TO_SPOT_SECS: f64 = 3600.0;

/// `service NAME`: the best strategy of a job over HTTP.
#[derive(Clone, Debug, Serialize)]
pub struct Service {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub job: JobId,
    /// Starts with `/`.
    pub route: String,
    /// A compute that only serves: its head and workers are the replicas (on aws).
    pub compute: Option<ComputeId>,
    /// Where `compute = ...` is written, for messages about it.
    #[serde(skip)]
    pub compute_span: Span,
    pub port: u16,
    /// CIDR blocks allowed to reach the port on aws (`allow_from`); none by default.
    pub allow_from: Vec<String>,
    /// `gaform serve` processes behind the one port on a local cloud (default 1).
    pub replicas: u64,
    /// Where `replicas = ...` is written, for messages about it.
    #[serde(skip)]
    pub replicas_span: Option<Span>,
}

keyword_enum!(/// What a monitor can watch.
MonitorMetric, "monitor metric" {
    Generation = "generation",
    BestFitness = "best_fitness",
    MeanFitness = "mean_fitness",
    EvalTimePerStrategy = "eval_time_per_strategy",
    ClusterUtilization = "cluster_utilization",
    Cost = "cost",
});

keyword_enum!(/// Comparison in a monitor alert.
    Comparison, "comparison" { Lt = "<", Le = "<=", Gt = ">", Ge = ">=", Eq = "==", Ne = "!=" });

/// `monitor NAME`: what a job's head measures, and the alerts it evaluates every tick.
#[derive(Clone, Debug, Serialize)]
pub struct Monitor {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub job: JobId,
    pub metrics: Vec<MonitorMetric>,
    pub alerts: Vec<MonitorAlert>,
    /// Where its alerts' notifications go besides the event log.
    pub notify: Option<Notify>,
}

/// `alert ["NAME"] { when = METRIC OP VALUE action = ... }` in a monitor.
#[derive(Clone, Debug, Serialize)]
pub struct MonitorAlert {
    /// `alert "low-utilisation" { ... }`; an unnamed alert is known by its place.
    pub name: Option<String>,
    pub metric: MonitorMetric,
    pub comparison: Comparison,
    /// In the metric's unit: a count, a fitness, seconds, a fraction, or dollars.
    pub threshold: f64,
    /// Seconds the condition must hold before the alert fires (`for`, default 0).
    pub for_secs: f64,
    pub action: AlertAction,
}

/// How messages call a monitor's alert: `alert "low-utilisation"`, or `alert 2` (its place in
/// the monitor, from 0) when it has no name.
pub fn alert_title(name: Option<&str>, index: u64) -> String {
    match name {
        Some(name) => format!("alert {name:?}"),
        None => format!("alert {index}"),
    }
}

/// The alert's `alert` label in notifications and exported rules: its name, else its place.
pub fn alert_label(name: Option<&str>, index: u64) -> String {
    name.map_or_else(|| index.to_string(), str::to_string)
}

/// The most `replicas` a service may ask of one machine.
pub const MAX_REPLICAS: u64 = 64;
