//! What a head makes of its budget at each tick: one look (`watch`) measured from the
//! ledger and decided by `gaform-control` under the budget's lock, and the events of the
//! acts it leads to (`frozen`, `compute_stopped`); `Shed` says how far a scale-down goes.

use gaform_compiler::ir::{AlertAction, Keyword, Period};
use gaform_compiler::plan::render::money;
use gaform_control::budget::{self, Policy};
use gaform_control::event::{self, By, Event};
use gaform_control::ledger::Ledger;
use gaform_control::scale;
use gaform_providers::books::Books;
use gaform_providers::CloudError;
use std::collections::BTreeMap;
use std::time::Duration;

/// How often a worker rewrites its report for the head (`gaform_runtime::telemetry`):
/// twice its head's `tick`, so every tick sees fresh values; at most every 30 s, at least
/// 100 ms apart (a report on S3 is one PUT).
pub fn report_every(tick: Duration) -> Duration {
    (tick / 2).clamp(Duration::from_millis(100), Duration::from_secs(30))
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
pub fn frozen(by: &By, compute: &str, why: &str, now: f64) -> Event {
    let reason =
        format!("compute.{compute}: {why}: frozen (no replacements, no scale-up) for the rest of this run");
    Event { time: now, kind: event::Kind::Frozen { by: by.origin(), compute: compute.into() }, reason }
}

/// The event of a budget's stop, before `compute`'s instances are terminated.
pub fn compute_stopped(compute: &str, why: &str, instances: u64, jobs: Vec<String>, now: f64) -> Event {
    let reason = format!("compute.{compute}: {why}: terminating its {instances} instance(s), the head last");
    Event {
        time: now,
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
pub fn watch(
    books: &dyn Books,
    ledger: &Ledger,
    compute: &str,
    now: f64,
) -> Result<Option<Watched>, CloudError> {
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
