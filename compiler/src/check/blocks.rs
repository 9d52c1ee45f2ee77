//! The small blocks: cloud, quota, budget, spot_policy, service, monitor.

use super::value::{Value, Want};
use super::{keyword_want, Checker};
use crate::ast::{BinOp, Block, Expr, ExprKind};
use crate::catalog;
use crate::diag::{suggest, Code, Diagnostic};
use crate::ir::*;
use crate::resolve::Kind;
use crate::schema::{BUDGET, BUDGET_ALERT, CLOUD, MONITOR, MONITOR_ALERT, QUOTA, SERVICE, SPOT_POLICY};
use std::collections::BTreeMap;

impl Checker<'_> {
    pub(super) fn cloud(&mut self, block: &Block, name: String) -> Cloud {
        let f = self.fields(block, &CLOUD);
        let provider_attr = self.required(&f, "provider", "aws");
        let provider = self.keyword::<Provider>(provider_attr).map_or(Provider::Local, |p| p.value);
        let region = self.string(f.attr("region"));
        if let Some(r) = &region {
            if !catalog::is_region(&r.value) {
                let help = suggest::did_you_mean(&r.value, catalog::REGIONS.iter().copied())
                    .unwrap_or_else(|| "use an AWS region code such as `us-east-1`".to_string());
                let d = Diagnostic::new(
                    Code::E0009,
                    format!("unknown AWS region `{}`", r.value),
                    r.span,
                    "not a region",
                );
                self.report(d.with_help(help));
            }
        } else if provider == Provider::Aws && provider_attr.is_some() && f.attr("region").is_none() {
            self.missing(block, "region", "an `aws` cloud needs a region: add `region = \"us-east-1\"`");
        }
        let profile = self.string(f.attr("profile")).map(|p| p.value);
        let mut tags = BTreeMap::new();
        for tag_block in f.blocks("tags") {
            self.expect_label(tag_block, false);
            for item in &tag_block.body {
                match item {
                    crate::ast::BodyItem::Attribute(a) => {
                        if let Some(v) = self.string(Some(a)) {
                            if tags.insert(a.name.name.to_string(), v.value).is_some() {
                                let d = Diagnostic::new(
                                    Code::E0004,
                                    format!("tag `{}` is set twice", a.name.name),
                                    a.name.span,
                                    "set again here",
                                );
                                self.report(d);
                            }
                        }
                    }
                    crate::ast::BodyItem::Block(b) => {
                        self.report(Diagnostic::new(
                            Code::E0003,
                            "tags hold only `key = \"value\"` pairs",
                            b.kind.span,
                            "not a tag",
                        ));
                    }
                }
            }
        }
        let region = match provider {
            Provider::Aws => region.map(|r| r.value).or_else(|| Some(String::new())),
            Provider::Local => region.map(|r| r.value),
        };
        Cloud { name, span: block.span, provider, region, profile, tags }
    }

    pub(super) fn quota(&mut self, block: &Block, name: String) -> Quota {
        let f = self.fields(block, &QUOTA);
        Quota {
            name,
            span: block.span,
            max_cpus: self.int(f.attr("max_cpus"), 0),
            max_gpus: self.int(f.attr("max_gpus"), 0),
            max_instances: self.int(f.attr("max_instances"), 0),
        }
    }

    pub(super) fn budget(&mut self, block: &Block, name: String) -> Budget {
        let f = self.fields(block, &BUDGET);
        let amount_attr = self.required(&f, "amount", "$1000");
        let amount = self.money(amount_attr);
        let amount = match amount {
            Some((v, span)) if v <= 0.0 => {
                self.bounds(span, format!("a budget's amount must be above $0, found ${v}"), "not above $0");
                Spanned { value: 0.0, span }
            }
            Some((value, span)) => Spanned { value, span },
            None => Spanned { value: 0.0, span: block.header },
        };
        let period = self.keyword::<Period>(f.attr("period")).map_or(Period::Month, |p| p.value);
        let max_cost_per_hour = match self.money(f.attr("max_cost_per_hour")) {
            Some((v, span)) if v <= 0.0 => {
                self.bounds(span, "`max_cost_per_hour` must be above $0", "not above $0");
                None
            }
            other => other.map(|(v, _)| v),
        };
        let mut alerts = Vec::new();
        let mut previous: Option<(f64, crate::source::Span)> = None;
        for alert in f.blocks("alert") {
            self.expect_label(alert, false);
            let af = self.fields(alert, &BUDGET_ALERT);
            let at_attr = self.required(&af, "at", "80%");
            let at = self.percent(at_attr);
            let action_attr = self.required(&af, "action", "notify");
            let action = self.keyword::<AlertAction>(action_attr);
            let Some((at, span)) = at else { continue };
            if at <= 0.0 || at > 1.0 {
                self.bounds(
                    span,
                    format!("an alert's `at` must be in (0%, 100%], found {}%", at * 100.0),
                    "outside (0%, 100%]",
                );
            } else if let Some((before, before_span)) = previous.filter(|(b, _)| at <= *b) {
                let d = Diagnostic::new(
                    Code::E0009,
                    format!(
                        "alert thresholds must increase: {}% comes after {}%",
                        at * 100.0,
                        before * 100.0
                    ),
                    span,
                    "not above the previous alert",
                )
                .with_label(before_span, "previous alert")
                .with_help("list alerts from the lowest threshold to the highest");
                self.report(d);
            }
            previous = Some((at, span));
            if let Some(action) = action {
                alerts.push(BudgetAlert { at, action: action.value });
            }
        }
        let notify = f.blocks("notify").next().and_then(|b| self.notify(b));
        Budget { name, span: block.span, amount, period, max_cost_per_hour, alerts, notify }
    }

    pub(super) fn spot_policy(&mut self, block: &Block, name: String) -> SpotPolicy {
        let f = self.fields(block, &SPOT_POLICY);
        let market = self.keyword::<Market>(f.attr("market")).map_or(Market::Spot, |m| m.value);
        let fallback = self.keyword::<Fallback>(f.attr("fallback")).map_or(Fallback::OnDemand, |m| m.value);
        let allocation = self
            .keyword::<Allocation>(f.attr("allocation"))
            .map_or(Allocation::PriceCapacityOptimized, |m| m.value);
        let max_price = match self.get(f.attr("max_price"), Want::MoneyOrPercent) {
            Some((Value::Percent(p), span)) => {
                if p <= 0.0 || p > 1.0 {
                    self.bounds(
                        span,
                        "`max_price` as a percentage of on-demand must be in (0%, 100%]",
                        "outside (0%, 100%]",
                    );
                }
                Some(MaxPrice::FractionOfOnDemand(p))
            }
            Some((Value::Money(m), span)) => {
                if m <= 0.0 {
                    self.bounds(span, "`max_price` must be above $0 per hour", "not above $0");
                }
                Some(MaxPrice::PerHour(m))
            }
            _ => None,
        };
        let return_to_spot_secs = match self.get(f.attr("return_to_spot"), Want::DurationOrNever) {
            None => Some(DEFAULT_RETURN_TO_SPOT_SECS),
            Some((Value::Duration(d), _)) if d > 0.0 => Some(d),
            Some((Value::Duration(_), span)) => {
                self.bounds(span, "`return_to_spot` must be a positive duration, or `never`", "not positive");
                None
            }
            Some(_) => None,
        };
        SpotPolicy { name, span: block.span, market, fallback, allocation, max_price, return_to_spot_secs }
    }

    pub(super) fn service(&mut self, block: &Block, name: String) -> Service {
        let f = self.fields(block, &SERVICE);
        let job_attr = self.required(&f, "job", "JOB_NAME");
        let job = self.reference(job_attr, Kind::Job).map_or(JobId(0), |j| JobId(j.value));
        let route_attr = self.required(&f, "route", "\"/strategy\"");
        let route = self.string(route_attr);
        if let Some(r) = &route {
            if !r.value.starts_with('/') {
                self.bounds(
                    r.span,
                    format!("a route must start with `/`, found \"{}\"", r.value),
                    "no leading `/`",
                );
            }
        }
        let compute = self.reference(f.attr("compute"), Kind::Compute);
        let port = self.port(f.attr("port")).unwrap_or(8080);
        let allow_from = self.cidrs(f.attr("allow_from"));
        let replicas = self.int(f.attr("replicas"), 1);
        if let Some(r) = replicas.as_ref().filter(|r| r.value > MAX_REPLICAS) {
            let message =
                format!("`replicas` is at most {MAX_REPLICAS} processes on one machine, found {}", r.value);
            let d = Diagnostic::new(Code::E0009, message, r.span, format!("above {MAX_REPLICAS}")).with_help(
                "each replica is a `gaform serve` process on this machine: about one per core answers the most",
            );
            self.report(d);
        }
        Service {
            name,
            span: block.span,
            job,
            route: route.map(|r| r.value).unwrap_or_default(),
            compute_span: compute.as_ref().map_or(block.header, |c| c.span),
            compute: compute.map(|c| ComputeId(c.value)),
            port,
            allow_from,
            replicas: replicas.as_ref().map_or(1, |r| r.value.min(MAX_REPLICAS)),
            replicas_span: replicas.map(|r| r.span),
        }
    }

    pub(super) fn monitor(&mut self, block: &Block, name: String) -> Monitor {
        let f = self.fields(block, &MONITOR);
        let job_attr = self.required(&f, "job", "JOB_NAME");
        let job = self.reference(job_attr, Kind::Job).map_or(JobId(0), |j| JobId(j.value));
        let want = Want::List(Box::new(keyword_want::<MonitorMetric>()));
        let metrics = match self.get(f.attr("metrics"), want) {
            Some((Value::List(items), _)) => items
                .into_iter()
                .filter_map(|(v, _)| match v {
                    Value::Keyword(k) => MonitorMetric::from_keyword(k),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        };
        let mut alerts = Vec::new();
        let mut names: Vec<&crate::ast::Ident> = Vec::new();
        for alert in f.blocks("alert") {
            let name = self.alert_name(alert, &mut names);
            let af = self.fields(alert, &MONITOR_ALERT);
            let when =
                self.required(&af, "when", "best_fitness < 0.1").and_then(|w| self.condition(&w.value));
            let for_secs = self.duration_or_zero(af.attr("for")).unwrap_or(0.0);
            let action_attr = self.required(&af, "action", "notify");
            let action = self.keyword::<AlertAction>(action_attr);
            if let (Some((metric, comparison, threshold)), Some(action)) = (when, action) {
                alerts.push(MonitorAlert {
                    name,
                    metric,
                    comparison,
                    threshold,
                    for_secs,
                    action: action.value,
                });
            }
        }
        let notify = f.blocks("notify").next().and_then(|b| self.notify(b));
        Monitor { name, span: block.span, job, metrics, alerts, notify }
    }

    /// A monitor alert's name (`alert "low-utilisation"`, or `alert low_utilisation`): not
    /// empty, one line, at most 64 characters, and not another alert's of the same monitor.
    fn alert_name<'b>(&mut self, alert: &'b Block, names: &mut Vec<&'b crate::ast::Ident>) -> Option<String> {
        let label = alert.label.as_ref()?;
        let text = label.name.trim();
        let problem = if text.is_empty() {
            Some("an alert's name is empty")
        } else if text.chars().any(char::is_control) {
            Some("an alert's name is one line of text")
        } else if text.chars().count() > 64 {
            Some("an alert's name is at most 64 characters")
        } else {
            None
        };
        if let Some(problem) = problem {
            let d = Diagnostic::new(Code::E0009, problem, label.span, "not a usable name").with_help(
                "name it in a few words, e.g. `alert \"low-utilisation\" { ... }`, or leave the name out",
            );
            self.report(d);
            return None;
        }
        if let Some(first) = names.iter().find(|n| n.name.trim() == text) {
            let d = Diagnostic::new(
                Code::E0004,
                format!("alert `{text}` is defined twice in this monitor"),
                label.span,
                "defined again here",
            )
            .with_label(first.span, "first defined here")
            .with_help("give each alert of a monitor its own name");
            self.report(d);
            return None;
        }
        names.push(label);
        Some(text.to_string())
    }

    /// `METRIC OP VALUE` (either way round), the value typed by the metric.
    fn condition(&mut self, expr: &Expr) -> Option<(MonitorMetric, Comparison, f64)> {
        let mut expr = expr;
        while let ExprKind::Paren(inner) = &expr.kind {
            expr = inner;
        }
        let ExprKind::Binary(op, l, r) = &expr.kind else {
            let d = Diagnostic::new(
                Code::E0007,
                "expected a comparison such as `best_fitness < 0.1`",
                expr.span,
                "not a comparison",
            );
            self.report(d);
            return None;
        };
        let comparison = match op {
            BinOp::Lt => Comparison::Lt,
            BinOp::Le => Comparison::Le,
            BinOp::Gt => Comparison::Gt,
            BinOp::Ge => Comparison::Ge,
            BinOp::Eq => Comparison::Eq,
            BinOp::Ne => Comparison::Ne,
            _ => {
                let d = Diagnostic::new(
                    Code::E0007,
                    format!("expected a comparison, found `{}`", op.symbol()),
                    expr.span,
                    "not a comparison",
                );
                let help = if op.is_logical() {
                    "`when` takes one comparison (`generation > 3`): give each condition an `alert` block of its own"
                } else {
                    "compare a metric with a value: `cost > $500`"
                };
                self.report(d.with_help(help));
                return None;
            }
        };
        let (metric_expr, value_expr, comparison) = match (metric_name(l), metric_name(r)) {
            (Some(_), _) => (&**l, &**r, comparison),
            (None, Some(_)) => (&**r, &**l, flip(comparison)),
            (None, None) => (&**l, &**r, comparison),
        };
        let Some(word) = metric_name(metric_expr) else {
            let d =
                Diagnostic::new(Code::E0013, "expected a monitor metric", metric_expr.span, "not a metric")
                    .with_help(format!("metrics: {}", MonitorMetric::MEMBERS.join(", ")));
            self.report(d);
            return None;
        };
        let Some(metric) = MonitorMetric::from_keyword(word) else {
            let help = suggest::did_you_mean(word, MonitorMetric::MEMBERS.iter().copied())
                .unwrap_or_else(|| format!("metrics: {}", MonitorMetric::MEMBERS.join(", ")));
            let d = Diagnostic::new(
                Code::E0013,
                format!("unknown monitor metric `{word}`"),
                metric_expr.span,
                "not a metric",
            );
            self.report(d.with_help(help));
            return None;
        };
        let want = match metric {
            MonitorMetric::Generation => Want::Int,
            MonitorMetric::BestFitness | MonitorMetric::MeanFitness => Want::Float,
            MonitorMetric::EvalTimePerStrategy => Want::Duration,
            MonitorMetric::ClusterUtilization => Want::Percent,
            MonitorMetric::Cost => Want::Money,
        };
        let threshold = match self.value(value_expr, &want)? {
            Value::Int(i) => i as f64,
            Value::Float(v) | Value::Duration(v) | Value::Percent(v) | Value::Money(v) => v,
            _ => return None,
        };
        Some((metric, comparison, threshold))
    }
}

/// The bare name an expression is, if it is one and names no let.
fn metric_name(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Path(parts) if parts.len() == 1 => parts.first().map(|p| &*p.name),
        ExprKind::Paren(inner) => metric_name(inner),
        _ => None,
    }
}

fn flip(c: Comparison) -> Comparison {
    match c {
        Comparison::Lt => Comparison::Gt,
        Comparison::Le => Comparison::Ge,
        Comparison::Gt => Comparison::Lt,
        Comparison::Ge => Comparison::Le,
        other => other,
    }
}
