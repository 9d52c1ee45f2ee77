//! The Grafana side of `gaform export monitor`: the three dashboards the research asks for
//! (genetic evolution, cost tracking, performance analysis) as dashboard JSON a team
//! imports, its Prometheus data source asked for on import (`__inputs`). Every panel's
//! query is plain PromQL over the heads' series, with a `gaform_job` variable.

use serde_json::{json, Value};

/// One panel: a title, a unit, and its queries with their legends.
struct Panel {
    title: &'static str,
    unit: &'static str,
    queries: &'static [(&'static str, &'static str)],
}

/// The `$gaform_job` variable's selector, written into every job query.
const JOB: &str = r#"gaform_job=~"$gaform_job""#;

const EVOLUTION: &[Panel] = &[
    Panel { title: "Generation", unit: "none", queries: &[("gaform_generation{JOB}", "{{gaform_job}}")] },
    Panel {
        title: "Best and mean fitness",
        unit: "none",
        queries: &[
            ("gaform_best_fitness{JOB}", "best {{gaform_job}}"),
            ("gaform_mean_fitness{JOB}", "mean {{gaform_job}}"),
        ],
    },
    Panel {
        title: "Best fitness by island",
        unit: "none",
        queries: &[("gaform_island_best_fitness{JOB}", "island {{island}}")],
    },
    Panel {
        title: "Generation by island",
        unit: "none",
        queries: &[("gaform_island_generation{JOB}", "island {{island}}")],
    },
];

const COST: &[Panel] = &[
    Panel { title: "Compute cost", unit: "currencyUSD", queries: &[("gaform_cost_dollars", "{{compute}}")] },
    Panel {
        title: "Cost per hour",
        unit: "currencyUSD",
        queries: &[("gaform_cost_per_hour_dollars", "{{compute}}")],
    },
    Panel {
        title: "Job cost",
        unit: "currencyUSD",
        queries: &[("gaform_job_cost_dollars{JOB}", "{{gaform_job}}")],
    },
    Panel {
        title: "Budget spent this period",
        unit: "currencyUSD",
        queries: &[("gaform_budget_spent_dollars", "{{budget}}")],
    },
    Panel { title: "Budget runway", unit: "s", queries: &[("gaform_budget_runway_seconds", "{{budget}}")] },
    Panel {
        title: "Instances by market",
        unit: "none",
        queries: &[("sum by (market) (gaform_instances)", "{{market}}")],
    },
];

const PERFORMANCE: &[Panel] = &[
    Panel {
        title: "Evaluation time per strategy (mean)",
        unit: "s",
        queries: &[(
            "rate(gaform_eval_time_per_strategy_seconds_sum{JOB}[1m]) / rate(gaform_eval_time_per_strategy_seconds_count{JOB}[1m])",
            "{{gaform_job}}",
        )],
    },
    Panel {
        title: "Evaluation time per strategy (p95)",
        unit: "s",
        queries: &[(
            "histogram_quantile(0.95, sum by (le, gaform_job) (rate(gaform_eval_time_per_strategy_seconds_bucket{JOB}[1m])))",
            "{{gaform_job}}",
        )],
    },
    Panel {
        title: "Backtests per second",
        unit: "ops",
        queries: &[("rate(gaform_backtests_total{JOB}[1m])", "{{gaform_job}}")],
    },
    Panel {
        title: "Cluster utilisation",
        unit: "percentunit",
        queries: &[("gaform_cluster_utilization_ratio{JOB}", "{{gaform_job}}")],
    },
    Panel {
        title: "Alerts firing",
        unit: "none",
        queries: &[("sum by (monitor) (gaform_alert_firing)", "{{monitor}}")],
    },
];

/// The dashboards, by file name.
pub fn dashboards(stack: &str) -> Vec<(String, Value)> {
    [
        ("genetic-evolution", "Genetic evolution", EVOLUTION),
        ("cost-tracking", "Cost tracking", COST),
        ("performance-analysis", "Performance analysis", PERFORMANCE),
    ]
    .into_iter()
    .map(|(file, title, panels)| (format!("{file}.json"), dashboard(stack, file, title, panels)))
    .collect()
}

fn promql(query: &str) -> String {
    query.replace("{JOB}", &format!("{{{JOB}}}"))
}

fn dashboard(stack: &str, file: &str, title: &str, panels: &[Panel]) -> Value {
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
                    json!({ "refId": ref_id.to_string(), "datasource": datasource, "expr": promql(q), "legendFormat": legend })
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
            "name": "gaform_job",
            "label": "GA job",
            "type": "query",
            "datasource": datasource,
            "query": { "query": "label_values(gaform_generation, gaform_job)", "refId": "jobs" },
            "definition": "label_values(gaform_generation, gaform_job)",
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
