//! Budgets: apply refuses compute that a spent budget pays for, and hands the file's
//! budgets to the heads, which measure them every tick and stop their compute at 100%.
//! The decisions are `gaform-control`'s; this module only reads and writes records.

use super::stack::Stack;
use crate::failure::Failure;
use gaform_compiler::ir::{AlertAction, Keyword};
use gaform_compiler::plan::render::money;
use gaform_compiler::plan::{Action, BudgetSpend, Change, Kind, Plan};
use gaform_control::alerts::Monitor;
use gaform_control::budget::Policy;
use gaform_control::ledger::Ledger;
use gaform_providers::books::Books;
use gaform_providers::local::records::{now, timestamp};
use std::collections::BTreeMap;

/// Refuses the whole apply, before anything changes, when it would start instances or a
/// job of a compute whose budget is spent this period.
pub fn refuse_if_spent(
    stack: &Stack,
    plan: &Plan,
    spend: &BTreeMap<String, BudgetSpend>,
) -> Result<(), Failure> {
    for b in &stack.desired.budgets {
        let Some(s) = spend.get(&b.name).filter(|s| s.spent >= b.amount) else { continue };
        let pays_for = |c: &Change| {
            let compute = match c.kind {
                Kind::Job => c.needs.first().and_then(|g| g.compute()),
                _ => c.address.compute(),
            };
            compute.is_some_and(|x| b.computes.iter().any(|bc| bc == x))
        };
        let starts = |c: &Change| match c.kind {
            Kind::Head | Kind::WorkerGroup => !c.start.is_empty(),
            Kind::Job => matches!(c.action, Action::Create | Action::Replace),
            _ => false,
        };
        let refused: Vec<&str> = plan
            .resource_changes
            .iter()
            .filter(|c| pays_for(c) && starts(c))
            .map(|c| c.address.as_str())
            .collect();
        if refused.is_empty() {
            continue;
        }
        let when = match s.period_end {
            Some(end) => {
                format!("until the {} rolls over at {} or `amount` is raised", b.period, timestamp(end))
            }
            None => "until `amount` is raised".into(),
        };
        return Err(format!(
            "budget `{}` is spent: {} of {} this {}{}; nothing was changed, and {} will not start {when}",
            b.name,
            money(s.spent),
            money(b.amount),
            if b.period == "total" { "far" } else { b.period.as_str() },
            if s.simulated {
                " (simulated: the local cloud prices its processes as their AWS instance types)"
            } else {
                ""
            },
            refused.join(", ")
        )
        .into());
    }
    Ok(())
}

/// Hands the file's budgets and monitors to the heads (the books of every cloud: local records, each
/// aws cloud's S3 prefix), before apply starts anything: a head enforces what the last
/// apply saw. A budget keeps the time it first appeared, where its `total` period starts.
pub fn hand_over(stack: &Stack) -> Result<(), Failure> {
    for (cloud, books) in stack.books(true)? {
        let before = books.budgets()?;
        let first_seen =
            |name: &str| before.iter().find(|p| p.name == name).map_or_else(now, |p| p.first_seen);
        // Each cloud's heads get the budgets of its computes.
        let policies: Vec<Policy> = stack
            .desired
            .budgets
            .iter()
            .filter(|b| b.computes.iter().any(|c| stack.keeps_books(c, cloud.as_deref())))
            .filter_map(Policy::of)
            .map(|p| Policy { first_seen: first_seen(&p.name), ..p })
            .collect();
        if !(policies.is_empty() && before.is_empty()) {
            books.write_budgets(&policies)?;
        }
        // And the monitors of its computes' jobs, which their heads evaluate.
        let monitors: Vec<Monitor> = stack
            .desired
            .monitors
            .iter()
            .filter(|m| stack.keeps_books(&m.compute, cloud.as_deref()))
            .filter_map(Monitor::of)
            .collect();
        if !(monitors.is_empty() && books.monitors()?.is_empty()) {
            books.write_monitors(&monitors)?;
        }
    }
    Ok(())
}

/// One budget as `status` shows it.
#[derive(serde::Serialize)]
pub struct Row {
    pub name: String,
    pub period: String,
    /// US dollars this period, and per hour now.
    pub spent: f64,
    pub per_hour: f64,
    pub amount: f64,
    /// Local cloud: the AWS price of what ran; nothing was billed.
    pub simulated: bool,
    pub alerts: Vec<AlertRow>,
}

/// One alert of a budget, with when it fired this period.
#[derive(serde::Serialize)]
pub struct AlertRow {
    pub at: f64,
    pub action: String,
    /// Unix seconds; absent while it has not fired this period.
    pub fired_at: Option<f64>,
    /// The stop at 100% that every budget has, written or not.
    pub implicit: bool,
}

/// The budgets the heads of one cloud enforce (as of the last apply), measured now from
/// `ledger`; `simulated` for the local cloud's.
pub fn rows(books: &dyn Books, ledger: &Ledger, simulated: bool, now: f64) -> Result<Vec<Row>, Failure> {
    let mut out = Vec::new();
    for p in books.budgets()? {
        let reading = p.reading(ledger, now);
        let state = books.budget_state(&p.name)?;
        let current = state.period_start == Some(reading.window.0);
        let fired_at = |at: f64, action: AlertAction| {
            state.fired.iter().find(|f| current && f.at == at && f.action == action).map(|f| f.fired_at)
        };
        let mut alerts: Vec<AlertRow> = p
            .alerts
            .iter()
            .map(|a| AlertRow {
                at: a.at,
                action: a.action.keyword().into(),
                fired_at: fired_at(a.at, a.action),
                implicit: false,
            })
            .collect();
        if !p.alerts.iter().any(|a| a.action == AlertAction::Stop && a.at == 1.0) {
            let fired = fired_at(1.0, AlertAction::Stop);
            alerts.push(AlertRow { at: 1.0, action: "stop".into(), fired_at: fired, implicit: true });
        }
        out.push(Row {
            name: p.name.clone(),
            period: p.period.keyword().into(),
            spent: reading.spent,
            per_hour: reading.per_hour,
            amount: p.amount,
            simulated,
            alerts,
        });
    }
    Ok(out)
}
