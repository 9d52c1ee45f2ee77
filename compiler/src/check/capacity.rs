//! Checks across blocks at max scale: vCPU/GPU/instance totals against quotas and the
//! compute's own caps (E0011), and how long a budget lasts (W0001). Only blocks that
//! checked clean take part, so one mistake does not cascade into these.

use super::Checker;
use crate::catalog::Catalog;
use crate::diag::{Code, Diagnostic};
use crate::ir::{Compute, Provider, Spanned};
use crate::resolve::Kind;
use crate::source::Span;

/// What a compute needs with every group at `max` (the largest type of a diversified group).
#[derive(Clone, Copy, Default)]
struct AtMax {
    vcpus: u64,
    gpus: u64,
    instances: u64,
    /// On-demand USD per hour.
    cost: f64,
    /// Some price came from the fallback region.
    estimated: bool,
}

fn at_max(compute: &Compute, region: Option<&str>) -> AtMax {
    let catalog = Catalog::get();
    let region = region.unwrap_or(crate::catalog::FALLBACK_PRICE_REGION);
    let mut total = AtMax::default();
    let mut add = |types: &mut dyn Iterator<Item = &str>, count: u64| {
        let known: Vec<_> = types.filter_map(|t| catalog.lookup(t)).collect();
        let vcpus = known.iter().map(|t| u64::from(t.vcpus)).max().unwrap_or(0);
        let gpus = known.iter().map(|t| u64::from(t.gpus)).max().unwrap_or(0);
        let mut price = 0.0f64;
        for t in &known {
            if let Some((p, own)) = t.price(region) {
                price = price.max(p);
                total.estimated |= !own;
            }
        }
        total.vcpus = total.vcpus.saturating_add(vcpus.saturating_mul(count));
        total.gpus = total.gpus.saturating_add(gpus.saturating_mul(count));
        total.instances = total.instances.saturating_add(count);
        total.cost += price * count as f64;
    };
    add(&mut std::iter::once(compute.head.instance_type.value.as_str()), 1);
    for group in &compute.workers {
        add(&mut group.instance_types.iter().map(|t| t.value.as_str()), group.max.value);
    }
    total
}

impl Checker<'_> {
    pub(super) fn capacity(&mut self) {
        let clean: Vec<usize> =
            (0..self.program.computes.len()).filter(|&i| self.is_clean(Kind::Compute, i)).collect();
        let totals: Vec<(usize, AtMax)> = clean
            .iter()
            .filter_map(|&i| {
                let c = self.program.computes.get(i)?;
                let region = self.program.clouds.get(c.cloud.0).and_then(|cl| cl.region.as_deref());
                Some((i, at_max(c, region)))
            })
            .collect();
        for &(i, total) in &totals {
            self.compute_caps(i, total);
        }
        self.quotas(&totals);
        self.budgets(&totals);
    }

    /// The compute's own `max_cpus` / `max_gpus`.
    fn compute_caps(&mut self, i: usize, total: AtMax) {
        let Some(c) = self.program.computes.get(i) else {
            return;
        };
        let checks = [
            (c.max_cpus.clone(), total.vcpus, "vCPUs", "max_cpus"),
            (c.max_gpus.clone(), total.gpus, "GPUs", "max_gpus"),
        ];
        let name = c.name.clone();
        let groups = group_labels(c);
        for (cap, need, unit, attr) in checks {
            let Some(cap) = cap else { continue };
            if need > cap.value {
                let mut d = Diagnostic::new(
                    Code::E0011,
                    format!(
                        "compute `{name}` needs {need} {unit} at max scale, {} over its `{attr}` of {}",
                        need - cap.value,
                        cap.value
                    ),
                    cap.span,
                    format!("{need} {unit} needed at max scale"),
                );
                for (span, text) in &groups {
                    d = d.with_label(*span, text.clone());
                }
                self.report(d.with_help(format!("lower the groups' `max`, or raise `{attr}` to {need}")));
            }
        }
    }

    /// Quotas are shared: every clean compute naming one adds to its totals.
    fn quotas(&mut self, totals: &[(usize, AtMax)]) {
        for q in 0..self.program.quotas.len() {
            if !self.is_clean(Kind::Quota, q) {
                continue;
            }
            let users: Vec<(Span, String, AtMax)> = totals
                .iter()
                .filter_map(|(i, t)| {
                    let c = self.program.computes.get(*i)?;
                    let quota = c.quota.as_ref().filter(|r| r.value.0 == q)?;
                    Some((quota.span, c.name.clone(), *t))
                })
                .collect();
            if users.is_empty() {
                continue;
            }
            let Some(quota) = self.program.quotas.get(q) else {
                continue;
            };
            let name = quota.name.clone();
            let limits = [
                (quota.max_cpus.clone(), "vCPUs", "max_cpus"),
                (quota.max_gpus.clone(), "GPUs", "max_gpus"),
                (quota.max_instances.clone(), "instances", "max_instances"),
            ];
            for (limit, unit, attr) in limits {
                let Some(limit) = limit else { continue };
                let need_of = |t: &AtMax| match attr {
                    "max_cpus" => t.vcpus,
                    "max_gpus" => t.gpus,
                    _ => t.instances,
                };
                let need: u64 = users.iter().map(|(_, _, t)| need_of(t)).sum();
                if need <= limit.value {
                    continue;
                }
                self.report_quota(&name, &limit, need, unit, attr, &users, need_of);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn report_quota(
        &mut self,
        quota: &str,
        limit: &Spanned<u64>,
        need: u64,
        unit: &str,
        attr: &str,
        users: &[(Span, String, AtMax)],
        need_of: impl Fn(&AtMax) -> u64,
    ) {
        let mut d = Diagnostic::new(
            Code::E0011,
            format!(
                "quota `{quota}` allows {} {unit}, but its computes need {need} at max scale ({} over)",
                limit.value,
                need - limit.value
            ),
            limit.span,
            format!("limit: {} {unit}", limit.value),
        );
        for (span, compute, t) in users {
            d = d.with_label(*span, format!("compute `{compute}` needs {} {unit} at max scale", need_of(t)));
        }
        self.report(
            d.with_help(format!("lower the worker groups' `max`, or raise the quota's `{attr}` to {need}")),
        );
    }

    /// W0001: at max scale (on-demand prices, capped by `max_cost_per_hour`), does the
    /// budget last its whole period? A local compute counts at the same prices, simulated,
    /// as its head's budget does.
    fn budgets(&mut self, totals: &[(usize, AtMax)]) {
        for b in 0..self.program.budgets.len() {
            if !self.is_clean(Kind::Budget, b) {
                continue;
            }
            let mut cost = 0.0;
            let mut estimated = false;
            let mut users = Vec::new();
            let mut all_local = true;
            for (i, t) in totals {
                let Some(c) = self.program.computes.get(*i) else {
                    continue;
                };
                if c.budget.is_some_and(|id| id.0 == b) {
                    cost += t.cost;
                    estimated |= t.estimated;
                    users.push((c.name.clone(), t.cost));
                    all_local &=
                        self.program.clouds.get(c.cloud.0).is_some_and(|cl| cl.provider == Provider::Local);
                }
            }
            let Some(budget) = self.program.budgets.get(b) else {
                continue;
            };
            let (Some(period_hours), true) = (budget.period.hours(), cost > 0.0) else {
                continue;
            };
            let rate = budget.max_cost_per_hour.map_or(cost, |cap| cost.min(cap));
            let hours = budget.amount.value / rate;
            if hours >= period_hours {
                continue;
            }
            let spend: Vec<String> = users.iter().map(|(n, c)| format!("`{n}` ${c:.2}/hour")).collect();
            let capped = if rate < cost {
                format!(", capped at ${rate:.2}/hour by `max_cost_per_hour`")
            } else {
                String::new()
            };
            let note = if estimated { " (some prices are us-east-1 estimates for this region)" } else { "" };
            let d = Diagnostic::new(
                Code::W0001,
                format!(
                    "at max scale budget `{}` runs out after {hours:.1} hours, before its {} ({period_hours} hours) ends",
                    budget.name,
                    budget.period_name()
                ),
                budget.amount.span,
                format!("${} lasts {hours:.1} hours", budget.amount.value),
            )
            .with_help(if all_local {
                format!(
                    "cost at max scale, simulated at AWS on-demand prices (the local cloud charges nothing, but its budgets count these): {}{capped}{note}; lower the groups' `max`, or raise `amount`",
                    spend.join(", ")
                )
            } else {
                format!(
                    "on-demand cost at max scale: {}{capped}{note}; lower the groups' `max`, use spot, or raise `amount`",
                    spend.join(", ")
                )
            });
            self.report(d);
        }
    }
}

/// One label per worker group and the head: what it contributes at max scale.
fn group_labels(c: &Compute) -> Vec<(Span, String)> {
    let catalog = Catalog::get();
    let mut out = Vec::new();
    for g in &c.workers {
        let largest =
            g.instance_types.iter().filter_map(|t| catalog.lookup(&t.value)).max_by_key(|t| t.vcpus);
        if let Some(t) = largest {
            out.push((
                g.max.span,
                format!("{} × {} ({} vCPUs, {} GPUs each)", g.max.value, t.name, t.vcpus, t.gpus),
            ));
        }
    }
    out
}

impl crate::ir::Budget {
    fn period_name(&self) -> &'static str {
        use crate::ir::Keyword;
        self.period.keyword()
    }
}
