//! The Grafana side of `gaform export monitor`: the three dashboards the research asks for
//! (genetic evolution, cost tracking, performance analysis) as dashboard JSON a team
//! imports, its Prometheus data source asked for on import (`__inputs`). Every panel's
//! query is plain PromQL over the heads' series, with a `gaform_job` variable.

use gaform_agent::metrics::names::{self as n, JOB_LABEL};
use serde_json::{json, Value};

/// One panel: a title, a unit, and its PromQL queries with their legends.
struct Panel {
    title: &'static str,
    unit: &'static str,
    queries: Vec<(String, &'static str)>,
}

impl Panel {
    fn new(title: &'static str, unit: &'static str, queries: &[(String, &'static str)]) -> Panel {
        Panel { title, unit, queries: queries.to_vec() }
    }
}

/// `series` of the jobs the `$gaform_job` variable selects.
fn of_jobs(series: &str) -> String {
    format!("{series}{{{JOB_LABEL}=~\"${JOB_LABEL}\"}}")
}

/// The legend of a per-job series, after `prefix`.
const BY_JOB: &str = "{{gaform_job}}";

fn evolution() -> Vec<Panel> {
    vec![
        Panel::new("Generation", "none", &[(of_jobs(n::GENERATION), BY_JOB)]),
        Panel::new(
            "Best and mean fitness",
            "none",
            &[
                (of_jobs(n::BEST_FITNESS), "best {{gaform_job}}"),
                (of_jobs(n::MEAN_FITNESS), "mean {{gaform_job}}"),
            ],
        ),
        Panel::new(
            "Best fitness by island",
            "none",
            &[(of_jobs(n::ISLAND_BEST_FITNESS), "island {{island}}")],
        ),
        Panel::new("Generation by island", "none", &[(of_jobs(n::ISLAND_GENERATION), "island {{island}}")]),
    ]
}

fn cost() -> Vec<Panel> {
    vec![
        Panel::new("Compute cost", "currencyUSD", &[(n::COST.to_string(), "{{compute}}")]),
        Panel::new("Cost per hour", "currencyUSD", &[(n::COST_PER_HOUR.to_string(), "{{compute}}")]),
        Panel::new("Job cost", "currencyUSD", &[(of_jobs(n::JOB_COST), BY_JOB)]),
        Panel::new("Budget spent this period", "currencyUSD", &[(n::BUDGET_SPENT.to_string(), "{{budget}}")]),
        Panel::new("Budget runway", "s", &[(n::BUDGET_RUNWAY.to_string(), "{{budget}}")]),
        Panel::new(
            "Instances by market",
            "none",
            &[(format!("sum by (market) ({})", n::INSTANCES), "{{market}}")],
        ),
    ]
}

fn performance() -> Vec<Panel> {
    let eval = n::EVAL_TIME_PER_STRATEGY;
    let (sum, count, bucket) = (
        of_jobs(&format!("{eval}_sum")),
        of_jobs(&format!("{eval}_count")),
        of_jobs(&format!("{eval}_bucket")),
    );
    vec![
        Panel::new(
            "Evaluation time per strategy (mean)",
            "s",
            &[(format!("rate({sum}[1m]) / rate({count}[1m])"), BY_JOB)],
        ),
        Panel::new(
            "Evaluation time per strategy (p95)",
            "s",
            &[(format!("histogram_quantile(0.95, sum by (le, {JOB_LABEL}) (rate({bucket}[1m])))"), BY_JOB)],
        ),
        Panel::new(
            "Backtests per second",
            "ops",
            &[(format!("rate({}[1m])", of_jobs(&format!("{}_total", n::BACKTESTS))), BY_JOB)],
        ),
        Panel::new("Cluster utilisation", "percentunit", &[(of_jobs(n::CLUSTER_UTILIZATION), BY_JOB)]),
        Panel::new(
            "Alerts firing",
            "none",
            &[(format!("sum by (monitor) ({})", n::ALERT_FIRING), "{{monitor}}")],
        ),
    ]
}

/// The dashboards, by file name.
pub fn dashboards(stack: &str) -> Vec<(String, Value)> {
    [
        ("genetic-evolution", "Genetic evolution", evolution()),
        ("cost-tracking", "Cost tracking", cost()),
        ("performance-analysis", "Performance analysis", performance()),
    ]
    .into_iter()
    .map(|(file, title, panels)| (format!("{file}.json"), dashboard(stack, file, title, &panels)))
    .collect()
}

fn dashboard(stack: &str, file: &str, title: &str, panels: &[Panel]) -> Value {
    let jobs = format!("label_values({}, {JOB_LABEL})", n::GENERATION);
    let datasource = json!({ "type": "prometheus", "uid": "${DS_PROMETHEUS}" });
    let panels: Vec<Value> = panels
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let targets: Vec<Value> = p
                .queries
                .iter()
                .zip('A'..)
                .map(|((q, legend), ref_id)| {
                    json!({ "refId": ref_id.to_string(), "datasource": datasource, "expr": q, "legendFormat": legend })
                })
                .collect();
            json!({
                "id": i + 1,
                "type": "timeseries",
                "title": p.title,
                "datasource": datasource,
                "gridPos": { "x": (i % 2) * 12, "y": (i / 2) * 8, "w": 12, "h": 8 },
                "fieldConfig": { "defaults": { "unit": p.unit }, "overrides": [] },
                "options": { "legend": { "displayMode": "list", "placement": "bottom", "showLegend": true } },
                "targets": targets,
            })
        })
        .collect();
    json!({
        "__inputs": [{
            "name": "DS_PROMETHEUS", "label": "Prometheus", "type": "datasource",
            "pluginId": "prometheus", "pluginName": "Prometheus"
        }],
        "uid": format!("gaform-{stack}-{file}").chars().take(40).collect::<String>(),
        "title": format!("gaform {stack}: {title}"),
        "tags": ["gaform"],
        "schemaVersion": 39,
        "version": 1,
        "editable": true,
        "refresh": "10s",
        "time": { "from": "now-1h", "to": "now" },
        "templating": { "list": [{
            "name": JOB_LABEL,
            "label": "GA job",
            "type": "query",
            "datasource": datasource,
            "query": { "query": jobs, "refId": "jobs" },
            "definition": jobs,
            "includeAll": true,
            "multi": true,
            "current": { "text": "All", "value": "$__all" },
            "refresh": 2
        }] },
        "panels": panels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_job_query_selects_the_job_variable() {
        let boards = dashboards("s");
        assert_eq!(boards.len(), 3);
        let expr = boards[0].1["panels"][0]["targets"][0]["expr"].as_str().unwrap();
        assert_eq!(expr, r#"gaform_generation{gaform_job=~"$gaform_job"}"#);
        let all = serde_json::to_string(&boards).unwrap();
        assert!(!all.contains("JOB"), "{all}");
    }
}
