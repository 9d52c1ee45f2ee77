//! What a plan costs: $/hour per head and group at the planned count, at min and at max
//! scale, and how long each budget lasts at the planned rate. On-demand prices from the
//! bundled catalog; spot is usually cheaper, so these are upper bounds. The local cloud's
//! rows are simulated at AWS's list prices (nothing is charged), the rate its budgets count.

use super::addr::Kind;
use super::desired::Desired;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The cost table of a plan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cost {
    pub rows: Vec<CostRow>,
    /// USD per hour, all rows.
    pub planned_per_hour: f64,
    pub min_per_hour: f64,
    pub max_per_hour: f64,
    pub budgets: Vec<Runway>,
    /// Some price is the fallback region's.
    pub estimated: bool,
    /// Some rows are the local cloud's, simulated at AWS prices (the totals include them).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
}

/// One head or worker group.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CostRow {
    pub address: String,
    pub instance_type: String,
    /// `local` (no charge: its prices are simulated) or `aws`.
    pub provider: String,
    /// The prices are AWS's list prices for a local process, which nothing charges.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
    pub count: u64,
    pub min: u64,
    pub max: u64,
    /// One instance, USD per hour, on-demand.
    pub each_per_hour: f64,
    /// One instance at the current spot price, for spot groups whose cloud told it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_each_per_hour: Option<f64>,
    pub planned_per_hour: f64,
    pub min_per_hour: f64,
    pub max_per_hour: f64,
}

/// How long a budget lasts at the planned rate.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Runway {
    pub budget: String,
    pub amount: f64,
    pub period: String,
    /// USD per hour at the planned counts of the computes that spend it.
    pub per_hour: f64,
    /// `None` when nothing is charged.
    pub hours: Option<f64>,
    /// Hours in the period; `None` for `total`.
    pub period_hours: Option<f64>,
    /// The rate is what the local cloud's processes would cost on AWS: nothing is billed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub simulated: bool,
    /// What the stack's ledger says was spent this period, when the cloud keeps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spent: Option<super::BudgetSpend>,
    /// USD per hour and hours left once the heads have grown every autoscaled group of its
    /// computes to its ceiling; `None` when none can grow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grown: Option<(f64, f64)>,
}

impl Runway {
    /// Dollars left this period, when the spend is known.
    pub fn remaining(&self) -> Option<f64> {
        self.spent.as_ref().map(|s| (self.amount - s.spent).max(0.0))
    }

    /// Whether this period's amount is used up.
    pub fn is_spent(&self) -> bool {
        self.spent.as_ref().is_some_and(|s| s.spent >= self.amount)
    }
}

/// The cost of `desired` at `planned` counts (address → instances after the plan).
pub fn cost(desired: &Desired, planned: &BTreeMap<String, u64>, facts: &super::observed::Facts) -> Cost {
    let mut out = Cost::default();
    let mut per_compute: BTreeMap<String, f64> = BTreeMap::new();
    // What the local cloud's processes would cost on AWS: the rate its ledger charges.
    let mut simulated_per_compute: BTreeMap<String, f64> = BTreeMap::new();
    // What each compute costs once its heads have grown its autoscaled groups.
    let mut grown_per_compute: BTreeMap<String, f64> = BTreeMap::new();
    for r in &desired.resources {
        let (Some(count), Some(fp)) = (&r.count, &r.footprint) else { continue };
        let now = planned.get(r.addr.as_str()).copied().unwrap_or(0);
        let (min, max) = if r.kind == Kind::Head { (now, now) } else { (count.min, count.max) };
        let simulated = r.provider == "local";
        let each = if simulated { fp.list_hourly } else { fp.hourly };
        let row =
            CostRow {
                address: r.addr.to_string(),
                instance_type: fp.instance_type.clone(),
                provider: r.provider.clone(),
                simulated,
                count: now,
                min,
                max,
                each_per_hour: each,
                spot_each_per_hour: r.attributes.get("purchase").filter(|p| p.starts_with("spot")).and_then(
                    |_| facts.spot_prices.get(&format!("{}/{}", r.cloud, fp.instance_type)).copied(),
                ),
                planned_per_hour: each * now as f64,
                min_per_hour: each * min as f64,
                max_per_hour: each * max as f64,
            };
        out.estimated |= fp.estimated;
        out.simulated |= simulated;
        out.planned_per_hour += row.planned_per_hour;
        out.min_per_hour += row.min_per_hour;
        out.max_per_hour += row.max_per_hour;
        if let Some(c) = r.addr.compute() {
            *per_compute.entry(c.to_string()).or_default() += fp.hourly * now as f64;
            let grown = count.autoscale.as_ref().filter(|_| now > 0).map_or(now, |a| a.ceiling.max(now));
            *grown_per_compute.entry(c.to_string()).or_default() += fp.hourly * grown as f64;
            if r.provider == "local" {
                *simulated_per_compute.entry(c.to_string()).or_default() += fp.list_hourly * now as f64;
            }
        }
        out.rows.push(row);
    }
    for b in &desired.budgets {
        let billed: f64 = b.computes.iter().filter_map(|c| per_compute.get(c)).sum();
        let simulated_rate: f64 = b.computes.iter().filter_map(|c| simulated_per_compute.get(c)).sum();
        let simulated = billed == 0.0 && simulated_rate > 0.0;
        let rate = if simulated { simulated_rate } else { billed };
        let per_hour = b.max_cost_per_hour.map_or(rate, |cap| rate.min(cap));
        let period_hours = crate::ir::Period::from_keyword_str(&b.period).and_then(|p| p.hours());
        let spent = facts.spend.get(&b.name).cloned();
        let left = spent.as_ref().map_or(b.amount, |s| (b.amount - s.spent).max(0.0));
        let grown: f64 = b.computes.iter().filter_map(|c| grown_per_compute.get(c)).sum();
        let grown = b.max_cost_per_hour.map_or(grown, |cap| grown.min(cap));
        out.budgets.push(Runway {
            budget: b.name.clone(),
            amount: b.amount,
            period: b.period.clone(),
            per_hour,
            hours: (per_hour > 0.0).then(|| left / per_hour),
            period_hours,
            simulated,
            spent,
            grown: (grown > per_hour && !simulated).then(|| (grown, left / grown)),
        });
    }
    out
}
