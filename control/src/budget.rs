//! A budget's thresholds, decided on each tick like a Prometheus alert rule with time passed
//! in: every `alert` fires once per period when the spend reaches its `at`; reaching 100% of
//! the amount always stops, with or without an alert saying so; a burn rate over
//! `max_cost_per_hour` asks for shedding on every tick until it fits.

use crate::event::{Event, Kind};
use crate::ledger::{Ledger, Timestamp};
use gaform_compiler::ir::{AlertAction, Keyword, Notify, Period};
use gaform_compiler::plan::desired::BudgetUse;
use gaform_compiler::plan::render::money;
use serde::{Deserialize, Serialize};

/// A budget as the heads enforce it: what the file said at the last apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Policy {
    pub name: String,
    /// US dollars per period.
    pub amount: f64,
    #[serde(with = "crate::keyword")]
    pub period: Period,
    pub max_cost_per_hour: Option<f64>,
    /// In increasing `at`.
    pub alerts: Vec<Alert>,
    /// The computes that spend it.
    pub computes: Vec<String>,
    /// Where its notifications go besides the event log.
    #[serde(default)]
    pub notify: Option<Notify>,
    /// When an apply first handed it to the heads: where a `total` period starts.
    #[serde(default)]
    pub first_seen: Timestamp,
}

/// `alert { at = 95%  action = scale_down }`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// A fraction of the amount, in (0, 1].
    pub at: f64,
    #[serde(with = "crate::keyword")]
    pub action: AlertAction,
}

impl Policy {
    /// This budget as of `now`, from `ledger`: what its computes were billed this period
    /// and what their running instances cost per hour.
    pub fn reading(&self, ledger: &Ledger, now: Timestamp) -> Reading {
        let window = crate::period::window(self.period, now, self.first_seen);
        // `+ 0.0`: an empty float sum is -0.0.
        let spent = self.computes.iter().map(|c| ledger.spend(c, window, now)).sum::<f64>() + 0.0;
        let per_hour = self.computes.iter().map(|c| ledger.burn_rate(c)).sum::<f64>() + 0.0;
        Reading { spent, per_hour, window }
    }

    /// The policy of a budget in a desired state; `None` for a period or action the
    /// compiler would not have let through.
    pub fn of(b: &BudgetUse) -> Option<Policy> {
        let alerts = b
            .alerts
            .iter()
            .map(|(at, action)| Some(Alert { at: *at, action: AlertAction::from_keyword(action)? }))
            .collect::<Option<Vec<Alert>>>()?;
        Some(Policy {
            name: b.name.clone(),
            amount: b.amount,
            period: Period::from_keyword_str(&b.period)?,
            max_cost_per_hour: b.max_cost_per_hour,
            alerts,
            computes: b.computes.clone(),
            notify: b.notify.clone(),
            first_seen: 0.0,
        })
    }
}

/// What a budget has done in its current period; kept with the stack's records so that a
/// restarted head does not fire again.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BudgetState {
    /// The start of the period the alerts below fired in.
    pub period_start: Option<Timestamp>,
    /// The alerts fired this period, in the order they fired.
    pub fired: Vec<Fired>,
}

/// One alert that fired.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fired {
    /// The threshold, as a fraction of the amount.
    pub at: f64,
    #[serde(with = "crate::keyword")]
    pub action: AlertAction,
    pub fired_at: Timestamp,
}

/// A budget as measured on one tick.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    /// Dollars billed to its computes within `window`.
    pub spent: f64,
    /// Dollars per hour its computes' running instances cost now.
    pub per_hour: f64,
    /// The current period.
    pub window: (Timestamp, Timestamp),
}

/// The events of one tick: each alert reached this period for the first time, the implicit
/// stop at 100%, and the hourly cap when it is exceeded. The caller carries out their
/// actions and logs them. `state` keeps what fired and is still reached: a caller that
/// stops whenever it holds a stop is level-triggered, as a controller should be.
pub fn decide(budget: &Policy, reading: Reading, state: &mut BudgetState, now: Timestamp) -> Vec<Event> {
    if state.period_start != Some(reading.window.0) {
        *state = BudgetState { period_start: Some(reading.window.0), fired: Vec::new() };
    }
    let amount = budget.amount;
    let share = if amount > 0.0 { reading.spent / amount } else { f64::INFINITY };
    // An alert no longer reached (the amount was raised) is resolved: it fires again when
    // the spend crosses it again.
    state.fired.retain(|f| share >= f.at);
    let mut events = Vec::new();
    let mut fire = |state: &mut BudgetState, at: f64, action: AlertAction, implicit: bool| {
        state.fired.push(Fired { at, action, fired_at: now });
        let reason = format!(
            "budget `{}` at {:.0}% of its {} amount ({} of {}){}: {}",
            budget.name,
            share * 100.0,
            budget.period.keyword(),
            money(reading.spent),
            money(amount),
            if implicit { ", which always stops" } else { "" },
            action.keyword()
        );
        let kind = Kind::AlertFired {
            budget: budget.name.clone(),
            at,
            action,
            spent: reading.spent,
            amount,
            implicit,
        };
        events.push(Event { time: now, kind, reason });
    };
    for alert in &budget.alerts {
        let fired = state.fired.iter().any(|f| f.at == alert.at && f.action == alert.action);
        if share >= alert.at && !fired {
            fire(state, alert.at, alert.action, false);
        }
    }
    if share >= 1.0 && !state.fired.iter().any(|f| f.action == AlertAction::Stop) {
        fire(state, 1.0, AlertAction::Stop, true);
    }
    if let Some(cap) = budget.max_cost_per_hour.filter(|cap| reading.per_hour > *cap) {
        let reason = format!(
            "budget `{}`: its computes cost {}/h, over max_cost_per_hour {}/h: shed workers until it fits",
            budget.name,
            money(reading.per_hour),
            money(cap)
        );
        let kind = Kind::OverHourlyCap { budget: budget.name.clone(), per_hour: reading.per_hour, cap };
        events.push(Event { time: now, kind, reason });
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(alerts: &[(f64, AlertAction)], cap: Option<f64>) -> Policy {
        Policy {
            name: "research".into(),
            amount: 100.0,
            period: Period::Day,
            max_cost_per_hour: cap,
            alerts: alerts.iter().map(|&(at, action)| Alert { at, action }).collect(),
            computes: vec!["evo".into()],
            notify: None,
            first_seen: 0.0,
        }
    }

    fn reading(spent: f64, per_hour: f64, day: f64) -> Reading {
        Reading { spent, per_hour, window: (day * 86_400.0, (day + 1.0) * 86_400.0) }
    }

    fn fired(events: &[Event]) -> Vec<(f64, AlertAction, bool)> {
        events
            .iter()
            .filter_map(|e| match e.kind {
                Kind::AlertFired { at, action, implicit, .. } => Some((at, action, implicit)),
                _ => None,
            })
            .collect()
    }

    const ALERTS: [(f64, AlertAction); 3] =
        [(0.8, AlertAction::Notify), (0.95, AlertAction::ScaleDown), (1.0, AlertAction::Stop)];

    #[test]
    fn each_alert_fires_once_per_period_as_spend_crosses_it() {
        let b = budget(&ALERTS, None);
        let mut state = BudgetState::default();
        assert!(decide(&b, reading(79.99, 5.0, 0.0), &mut state, 1.0).is_empty());
        assert_eq!(
            fired(&decide(&b, reading(80.0, 5.0, 0.0), &mut state, 2.0)),
            [(0.8, AlertAction::Notify, false)]
        );
        assert!(decide(&b, reading(85.0, 5.0, 0.0), &mut state, 3.0).is_empty(), "once per period");
        // A tick that jumps past two thresholds fires both, in order.
        assert_eq!(
            fired(&decide(&b, reading(100.5, 5.0, 0.0), &mut state, 4.0)),
            [(0.95, AlertAction::ScaleDown, false), (1.0, AlertAction::Stop, false)]
        );
        assert!(decide(&b, reading(120.0, 5.0, 0.0), &mut state, 5.0).is_empty());
        let times: Vec<f64> = state.fired.iter().map(|f| f.fired_at).collect();
        assert_eq!(times, [2.0, 4.0, 4.0]);
        // The next day starts afresh.
        assert!(decide(&b, reading(0.0, 5.0, 1.0), &mut state, 86_401.0).is_empty());
        assert!(state.fired.is_empty());
        assert_eq!(
            fired(&decide(&b, reading(81.0, 5.0, 1.0), &mut state, 86_402.0)),
            [(0.8, AlertAction::Notify, false)]
        );
    }

    #[test]
    fn reaching_the_amount_always_stops() {
        let b = budget(&[(0.5, AlertAction::Notify)], None);
        let mut state = BudgetState::default();
        let events = decide(&b, reading(100.0, 5.0, 0.0), &mut state, 1.0);
        assert_eq!(fired(&events), [(0.5, AlertAction::Notify, false), (1.0, AlertAction::Stop, true)]);
        assert!(events[1].reason.contains("$100.00 of $100.00") && events[1].reason.contains("always stops"));
        assert!(decide(&b, reading(150.0, 5.0, 0.0), &mut state, 2.0).is_empty());
        // A state read back after a restart remembers it.
        let text = serde_json::to_string(&state).expect("serialise");
        let mut again: BudgetState = serde_json::from_str(&text).expect("parse");
        assert!(decide(&b, reading(150.0, 5.0, 0.0), &mut again, 3.0).is_empty());
    }

    #[test]
    fn raising_the_amount_resolves_what_it_no_longer_reaches() {
        let mut b = budget(&ALERTS, None);
        let mut state = BudgetState::default();
        decide(&b, reading(100.0, 5.0, 0.0), &mut state, 1.0);
        assert_eq!(state.fired.len(), 3);
        b.amount = 200.0;
        assert!(decide(&b, reading(101.0, 5.0, 0.0), &mut state, 2.0).is_empty());
        assert!(state.fired.is_empty(), "50% of the new amount: nothing stands, the stop included");
        assert_eq!(
            fired(&decide(&b, reading(161.0, 5.0, 0.0), &mut state, 3.0)),
            [(0.8, AlertAction::Notify, false)]
        );
    }

    #[test]
    fn a_total_period_counts_from_the_budgets_first_appearance() {
        use crate::ledger::{End, Entry, Ledger};
        let start = |id: &str, at: f64, hours: f64| Entry {
            instance: id.into(),
            address: id.into(),
            compute: "evo".into(),
            instance_type: "c5.large".into(),
            market: gaform_compiler::ir::Market::OnDemand,
            per_hour: 1.0,
            simulated: false,
            started_at: at,
            ended_at: Some(at + hours * 3_600.0),
            end: Some(End::Terminated),
        };
        let mut ledger = Ledger::default();
        ledger.start(start("before", 0.0, 2.0));
        ledger.start(start("across", 10_000.0, 2.0));
        let b = Policy { period: Period::Total, first_seen: 10_000.0 + 3_600.0, ..budget(&[], None) };
        let reading = b.reading(&ledger, 1e9);
        assert_eq!(reading.window, (13_600.0, f64::INFINITY));
        assert!((reading.spent - 1.0).abs() < 1e-9, "only the hour after it appeared: {}", reading.spent);
    }

    #[test]
    fn an_hourly_cap_asks_for_shedding_while_it_is_exceeded() {
        let b = budget(&[], Some(2.0));
        let mut state = BudgetState::default();
        assert!(decide(&b, reading(1.0, 2.0, 0.0), &mut state, 1.0).is_empty(), "at the cap is within it");
        for now in [2.0, 3.0] {
            let events = decide(&b, reading(1.0, 2.5, 0.0), &mut state, now);
            assert!(
                matches!(events[..], [Event { kind: Kind::OverHourlyCap { per_hour, cap, .. }, .. }] if per_hour == 2.5 && cap == 2.0)
            );
        }
    }

    #[test]
    fn events_are_json_lines_with_keywords() {
        let b = budget(&ALERTS, None);
        let events = decide(&b, reading(96.0, 5.0, 0.0), &mut BudgetState::default(), 7.5);
        let line = events[1].to_line();
        assert!(line.ends_with('\n') && !line.trim_end().contains('\n'));
        let value: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(value["event"], "alert_fired");
        assert_eq!(value["action"], "scale_down");
        assert_eq!((value["at"].as_f64(), value["time"].as_f64()), (Some(0.95), Some(7.5)));
        assert_eq!(serde_json::from_str::<Event>(&line).expect("read back"), events[1]);
    }
}
