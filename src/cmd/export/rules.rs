//! The Prometheus side of `gaform export monitor`: a rules file with one alerting rule per
//! monitor alert (the file's condition as PromQL over the heads' series, its `for`, its
//! labels), and a configuration that scrapes every compute's head and loads those rules.
//! YAML is written by hand, every string as a JSON string (a valid YAML double-quoted
//! scalar), so no YAML library is needed and nothing needs escaping rules of its own.

use gaform_agent::metrics::names::{series, JOB_LABEL};
use gaform_compiler::ir::{alert_label, alert_title, Comparison, Keyword, MonitorMetric, Program, Provider};

/// A string as a YAML double-quoted scalar.
fn q(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// A Prometheus duration: whole seconds, or milliseconds when it has a fraction.
pub fn duration(secs: f64) -> String {
    if secs.fract() == 0.0 {
        format!("{}s", secs as u64)
    } else {
        format!("{}ms", (secs * 1000.0).round() as u64)
    }
}

/// The PromQL that holds when `metric OP threshold` does for `job`. The head's own alert
/// uses the last tick's mean evaluation time; Prometheus the last five minutes'.
pub fn expression(job: &str, metric: MonitorMetric, comparison: Comparison, threshold: f64) -> String {
    let selector = format!("{{{JOB_LABEL}={}}}", q(job));
    let value = match metric {
        MonitorMetric::EvalTimePerStrategy => {
            let base = series(metric);
            format!("rate({base}_sum{selector}[5m]) / rate({base}_count{selector}[5m])")
        }
        other => format!("{}{selector}", series(other)),
    };
    format!("{value} {} {threshold}", comparison.keyword())
}

/// `rules.yml`: one group per stack, one rule per alert of each monitor.
pub fn rules(stack: &str, program: &Program) -> String {
    let mut out = format!(
        "# Alerting rules of {stack}.gaf's monitors, written by `gaform export monitor`: the same\n\
         # conditions, `for` and actions the heads evaluate. Check with `promtool check rules`.\n\
         groups:\n  - name: {}\n    rules:\n",
        q(&format!("gaform:{stack}"))
    );
    let mut any = false;
    for monitor in &program.monitors {
        let Some(job) = program.jobs.get(monitor.job.0) else { continue };
        for (index, alert) in monitor.alerts.iter().enumerate() {
            any = true;
            let expr = expression(&job.name, alert.metric, alert.comparison, alert.threshold);
            let action = alert.action.keyword();
            let condition =
                format!("{} {} {}", alert.metric.keyword(), alert.comparison.keyword(), alert.threshold);
            let (name, index) = (alert.name.as_deref(), index as u64);
            let summary =
                format!("monitor {}: {} ({condition}): {action}", monitor.name, alert_title(name, index));
            out.push_str(&format!(
                "      - alert: GaformMonitor\n        expr: {}\n        for: {}\n        labels:\n          stack: {}\n          monitor: {}\n          alert: {}\n          action: {}\n          severity: {}\n        annotations:\n          summary: {}\n",
                q(&expr),
                duration(alert.for_secs),
                q(stack),
                q(&monitor.name),
                q(&alert_label(name, index)),
                q(action),
                q(if action == "notify" { "warning" } else { "critical" }),
                q(&summary),
            ));
        }
    }
    if !any {
        // A group needs a list, even an empty one.
        out.push_str("      []\n");
        out = out.replace("    rules:\n      []\n", "    rules: []\n");
    }
    out
}

/// `prometheus.yml`: a scrape job per compute head, and the rules above. A local head is
/// at `127.0.0.1:PORT`, the port it took (`bound`, by compute) or else its `metrics_port`;
/// an aws head is found by EC2 service discovery from the stack's tags (its private
/// address, so Prometheus runs inside the VPC or is admitted by `metrics_from`). Every
/// scrape names the stack (`?stack=NAME`): a head of another stack refuses it.
pub fn scrape_config(stack: &str, program: &Program, bound: &dyn Fn(&str) -> Option<u16>) -> String {
    let mut out = format!(
        "# Scrapes the heads of {stack}.gaf's computes and loads their monitors' rules; written\n\
         # by `gaform export monitor`. Check with `promtool check config prometheus.yml`.\n\
         global:\n  scrape_interval: 15s\n  evaluation_interval: 15s\nrule_files:\n  - rules.yml\nscrape_configs:\n"
    );
    for compute in &program.computes {
        let Some(cloud) = program.clouds.get(compute.cloud.0) else { continue };
        let asked = compute.head.metrics_port;
        out.push_str(&format!("  - job_name: {}\n", q(&format!("gaform-{stack}-{}", compute.name))));
        out.push_str(&format!("    params:\n      stack: [{}]\n", q(stack)));
        match cloud.provider {
            Provider::Local => out.push_str(&format!(
                "    static_configs:\n      - targets: [{}]\n        labels:\n          compute: {}\n",
                q(&format!("127.0.0.1:{}", bound(&compute.name).unwrap_or(asked))),
                q(&compute.name)
            )),
            Provider::Aws => out.push_str(&format!(
                "    ec2_sd_configs:\n      - region: {}\n        port: {asked}\n        filters:\n          - name: {}\n            values: [{}]\n          - name: {}\n            values: [{}]\n          - name: instance-state-name\n            values: [running]\n    relabel_configs:\n      - target_label: compute\n        replacement: {}\n",
                q(cloud.region.as_deref().unwrap_or_default()),
                q("tag:gaform:stack"),
                q(stack),
                q("tag:gaform:address"),
                q(&format!("compute.{}.head", compute.name)),
                q(&compute.name),
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_become_promql_over_the_heads_series() {
        let e = expression("j", MonitorMetric::BestFitness, Comparison::Lt, 0.1);
        assert_eq!(e, r#"gaform_best_fitness{gaform_job="j"} < 0.1"#);
        let e = expression("j", MonitorMetric::EvalTimePerStrategy, Comparison::Ge, 0.5);
        assert!(
            e.starts_with("rate(gaform_eval_time_per_strategy_seconds_sum{gaform_job=\"j\"}[5m]) / rate(")
        );
        assert_eq!(
            (duration(0.0), duration(90.0), duration(1.5)),
            ("0s".into(), "90s".into(), "1500ms".into())
        );
    }
}
