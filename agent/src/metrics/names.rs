//! Every series a head serves, by name: the one place the endpoint (`monitor`), the rules
//! and dashboards `gaform export monitor` writes, and their tests take them from. A name
//! changed here changes everywhere at once.

use gaform_compiler::ir::MonitorMetric;

/// The label naming the GA job (Prometheus gives `job` to the scrape job).
pub const JOB_LABEL: &str = "gaform_job";

pub const GENERATION: &str = "gaform_generation";
pub const BEST_FITNESS: &str = "gaform_best_fitness";
pub const MEAN_FITNESS: &str = "gaform_mean_fitness";
/// A histogram: served as `_bucket`, `_sum` and `_count`.
pub const EVAL_TIME_PER_STRATEGY: &str = "gaform_eval_time_per_strategy_seconds";
pub const CLUSTER_UTILIZATION: &str = "gaform_cluster_utilization_ratio";
pub const JOB_COST: &str = "gaform_job_cost_dollars";
pub const ISLAND_GENERATION: &str = "gaform_island_generation";
pub const ISLAND_BEST_FITNESS: &str = "gaform_island_best_fitness";
/// A counter: served as `gaform_backtests_total`.
pub const BACKTESTS: &str = "gaform_backtests";
pub const INSTANCES: &str = "gaform_instances";
pub const COST: &str = "gaform_cost_dollars";
pub const COST_PER_HOUR: &str = "gaform_cost_per_hour_dollars";
pub const BUDGET_RUNWAY: &str = "gaform_budget_runway_seconds";
pub const BUDGET_SPENT: &str = "gaform_budget_spent_dollars";
pub const ALERT_FIRING: &str = "gaform_alert_firing";

/// The series a monitor metric is served as (a histogram's base name for
/// `eval_time_per_strategy`).
pub fn series(metric: MonitorMetric) -> &'static str {
    match metric {
        MonitorMetric::Generation => GENERATION,
        MonitorMetric::BestFitness => BEST_FITNESS,
        MonitorMetric::MeanFitness => MEAN_FITNESS,
        MonitorMetric::EvalTimePerStrategy => EVAL_TIME_PER_STRATEGY,
        MonitorMetric::ClusterUtilization => CLUSTER_UTILIZATION,
        MonitorMetric::Cost => JOB_COST,
    }
}
