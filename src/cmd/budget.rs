//! Budgets: apply refuses compute that a spent budget pays for, and hands the file's
//! budgets to the heads, which measure them every tick and stop their compute at 100%.
//! The decisions are `gaform-control`'s; this module only reads and writes records.

use super::stack::Stack;
use gaform_compiler::ir::{AlertAction, Keyword, Period};
use gaform_compiler::plan::render::money;
use gaform_compiler::plan::{Action, BudgetSpend, Change, Kind, Plan};
use gaform_control::alerts::Monitor;
use gaform_control::budget::{self, Policy};
use gaform_control::event::{self, By, Event};
use gaform_control::ledger::Ledger;
use gaform_control::scale;
use gaform_providers::books::Books;
use gaform_providers::local::records::{now, timestamp};
use std::collections::BTreeMap;
use std::time::Duration;

/// Refuses the whole apply, before anything changes, when it would start instances or a
/// job of a compute whose budget is spent this period.
pub fn refuse_if_spent(
    stack: &Stack,
    plan: &Plan,
    spend: &BTreeMap<String, BudgetSpend>,
) -> Result<(), String> {
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
        ));
    }
    Ok(())
}

/// How often a worker rewrites its report for the head (`gaform_runtime::telemetry`):
/// twice its head's `tick`, so every tick sees fresh values; at most every 30 s, at least
/// 100 ms apart (a report on S3 is one PUT).
pub fn report_every(tick: Duration) -> Duration {
    (tick / 2).clamp(Duration::from_millis(100), Duration::from_secs(30))
}

/// Hands the file's budgets and monitors to the heads (the books of every cloud: local records, each
/// aws cloud's S3 prefix), before apply starts anything: a head enforces what the last
/// apply saw. A budget keeps the time it first appeared, where its `total` period starts.
pub fn hand_over(stack: &Stack) -> Result<(), String> {
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

/// How far a scale-down sheds.
#[derive(Clone, Copy)]
pub enum Shed {
    /// A `scale_down` alert: each group to its `min`.
    ToMin,
    /// `max_cost_per_hour`: the fewest workers that bring the budget's rate under its cap.
    ToRate { per_hour: f64, cap: f64 },
    /// A monitor's firing `scale_down`: one worker, the first a shed to `min` would take.
    One,
}

impl Shed {
    /// The workers of `group` to shed, from `workers` (never below `min`, and one at least
    /// while its job runs): on-demand and newest first (`gaform-control`'s order).
    pub fn victims<'a>(self, workers: &'a [scale::Worker], group: &str, min: u64) -> Vec<&'a scale::Worker> {
        let floor = BTreeMap::from([(group.to_string(), u64::max(min, 1))]);
        match self {
            Shed::ToMin => scale::to_min(workers, &floor),
            Shed::ToRate { per_hour, cap } => scale::to_rate(workers, &floor, per_hour, cap),
            Shed::One => scale::to_min(workers, &floor).into_iter().take(1).collect(),
        }
    }
}

/// The event of a scale-down freezing `compute` for the rest of its run.
pub fn frozen(by: &By, compute: &str, why: &str) -> Event {
    let reason =
        format!("compute.{compute}: {why}: frozen (no replacements, no scale-up) for the rest of this run");
    Event { time: now(), kind: event::Kind::Frozen { by: by.origin(), compute: compute.into() }, reason }
}

/// The event of a budget's stop, before `compute`'s instances are terminated.
pub fn compute_stopped(compute: &str, why: &str, instances: u64, jobs: Vec<String>) -> Event {
    let reason = format!("compute.{compute}: {why}: terminating its {instances} instance(s), the head last");
    Event {
        time: now(),
        kind: event::Kind::ComputeStopped { compute: compute.into(), instances, jobs },
        reason,
    }
}

/// What one look at a budget found.
pub struct Watched {
    pub policy: Policy,
    /// What fired on this look (already in the event log).
    pub events: Vec<gaform_control::event::Event>,
    /// Why to stop, when a stop stands this period.
    pub stop: Option<String>,
    /// Why to scale down (and stay frozen), when a scale-down stands this period.
    pub scale_down: Option<String>,
    /// The burn rate and `max_cost_per_hour`, when the rate is over it now.
    pub over_cap: Option<(f64, f64)>,
}

/// One look at the budget `compute` spends, if any: measured from `ledger`, decided under
/// the budget's lock (or conditional write), each event logged. Level-triggered: `stop` is
/// set whenever a stop has fired this period, whichever head fired it, so every compute of
/// the budget stops.
pub fn watch(books: &dyn Books, ledger: &Ledger, compute: &str, now: f64) -> Result<Option<Watched>, String> {
    let Some(policy) = books.budgets()?.into_iter().find(|p| p.computes.iter().any(|c| c == compute)) else {
        return Ok(None);
    };
    let reading = policy.reading(ledger, now);
    let mut events = Vec::new();
    let state = books.update_budget_state(&policy.name, &mut |state| {
        events = budget::decide(&policy, reading, state, now);
    })?;
    for event in &events {
        books.record_event(event);
    }
    let period = if policy.period == Period::Total {
        String::new()
    } else {
        format!(" this {}", policy.period.keyword())
    };
    let stop = state.fired.iter().find(|f| f.action == AlertAction::Stop).map(|stop| {
        format!(
            "stopped: budget {} at {:.0}% ({} of {}{period})",
            policy.name,
            stop.at * 100.0,
            money(reading.spent),
            money(policy.amount)
        )
    });
    let scale_down = state.fired.iter().find(|f| f.action == AlertAction::ScaleDown).map(|f| {
        format!(
            "budget {} at {:.0}% ({} of {}{period}): scale_down",
            policy.name,
            f.at * 100.0,
            money(reading.spent),
            money(policy.amount)
        )
    });
    let over_cap = events.iter().find_map(|e| match e.kind {
        gaform_control::event::Kind::OverHourlyCap { per_hour, cap, .. } => Some((per_hour, cap)),
        _ => None,
    });
    Ok(Some(Watched { policy, events, stop, scale_down, over_cap }))
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
pub fn rows(books: &dyn Books, ledger: &Ledger, simulated: bool, now: f64) -> Result<Vec<Row>, String> {
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
