//! A monitor's alerts, evaluated each tick with Prometheus' semantics and time passed in: a
//! condition that becomes true makes its alert *pending*; once it has held for the alert's
//! `for` the alert *fires*; when it stops holding, a firing alert is *resolved* and a
//! pending one goes back to *inactive*. A missing value (nothing reported yet) does not
//! hold, as an absent series does not match a Prometheus rule. Notifications go out on
//! firing and on resolved only; every change of state is an event.

use crate::event::{Event, Kind};
use crate::ledger::Timestamp;
use gaform_compiler::ir::{alert_title, AlertAction, Comparison, Keyword, MonitorMetric, Notify};
use gaform_compiler::plan::desired::MonitorUse;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A monitor as its job's head evaluates it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Monitor {
    pub name: String,
    pub job: String,
    pub compute: String,
    #[serde(with = "keywords")]
    pub metrics: Vec<MonitorMetric>,
    pub rules: Vec<Rule>,
    pub notify: Option<Notify>,
}

/// `alert ["NAME"] { when = METRIC OP THRESHOLD  for = DURATION  action = ... }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The alert's name; an unnamed alert is known by its place in the monitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(with = "crate::keyword")]
    pub metric: MonitorMetric,
    #[serde(with = "crate::keyword")]
    pub comparison: Comparison,
    /// In the metric's base unit: a count, a fitness, seconds, a fraction or dollars.
    pub threshold: f64,
    pub for_secs: f64,
    #[serde(with = "crate::keyword")]
    pub action: AlertAction,
}

impl Rule {
    /// Whether `value` meets the condition.
    pub fn holds(&self, value: f64) -> bool {
        match self.comparison {
            Comparison::Lt => value < self.threshold,
            Comparison::Le => value <= self.threshold,
            Comparison::Gt => value > self.threshold,
            Comparison::Ge => value >= self.threshold,
            Comparison::Eq => value == self.threshold,
            Comparison::Ne => value != self.threshold,
        }
    }

    /// The condition as the file writes it, the threshold in its base unit
    /// (`best_fitness < 0.1`, `cluster_utilization < 0.2`).
    pub fn expression(&self) -> String {
        format!("{} {} {}", self.metric.keyword(), self.comparison.keyword(), self.threshold)
    }
}

impl Monitor {
    /// The monitor of a desired state; `None` for a keyword the compiler would not have let through.
    pub fn of(m: &MonitorUse) -> Option<Monitor> {
        let rules = m
            .alerts
            .iter()
            .map(|a| {
                Some(Rule {
                    name: a.name.clone(),
                    metric: MonitorMetric::from_keyword(&a.metric)?,
                    comparison: Comparison::from_keyword(&a.comparison)?,
                    threshold: a.threshold,
                    for_secs: a.for_secs,
                    action: AlertAction::from_keyword(&a.action)?,
                })
            })
            .collect::<Option<Vec<Rule>>>()?;
        let metrics = m.metrics.iter().map(|x| MonitorMetric::from_keyword(x)).collect::<Option<Vec<_>>>()?;
        Some(Monitor {
            name: m.name.clone(),
            job: m.job.clone(),
            compute: m.compute.clone(),
            metrics,
            rules,
            notify: m.notify.clone(),
        })
    }
}

/// Where one alert stands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum State {
    #[default]
    Inactive,
    /// The condition has held since `since`, not yet for `for`.
    Pending { since: Timestamp },
    /// Firing since `since`; `acted` is when its action last ran (a scale-down repeats
    /// once per cooldown while the alert fires).
    Firing { since: Timestamp, acted: Timestamp },
}

impl State {
    /// `inactive`, `pending` or `firing`, as Prometheus names them.
    pub fn word(&self) -> &'static str {
        match self {
            State::Inactive => "inactive",
            State::Pending { .. } => "pending",
            State::Firing { .. } => "firing",
        }
    }
}

/// A monitor as its head last measured it: what `gaform status` shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorStatus {
    pub monitor: String,
    pub job: String,
    /// When the head last measured.
    pub updated: Timestamp,
    /// The latest value of each metric the head has one of, by keyword.
    pub values: BTreeMap<String, f64>,
    pub alerts: Vec<AlertStatus>,
}

/// One alert's state at the head's last tick.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AlertStatus {
    /// Its place in the monitor, from 0.
    pub alert: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub expression: String,
    #[serde(with = "crate::keyword")]
    pub action: AlertAction,
    #[serde(flatten)]
    pub state: State,
}

/// What a tick asks the head to do for one alert.
#[derive(Clone, Debug, PartialEq)]
pub enum Act {
    /// Send this firing or resolved notification.
    Notify(Event),
    /// Terminate one more worker (never below the group's `min`) and freeze growth.
    ShedOne { why: String },
    /// Stop the job with its results so far and terminate the compute.
    Stop { why: String },
}

/// The outcome of one tick: the events to log and the acts to carry out.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Decision {
    pub events: Vec<Event>,
    pub acts: Vec<Act>,
}

/// The latest value of each metric; a metric with nothing reported yet is absent.
pub type Values = BTreeMap<MonitorMetric, f64>;

/// One tick of `monitor`'s alerts: moves each `states[i]` (one per rule) on from what
/// `values` show at `now`. A firing `scale_down` sheds once on firing and again every
/// `cooldown` seconds while it keeps firing; it never starts anything when it resolves.
pub fn evaluate(
    monitor: &Monitor,
    states: &mut [State],
    values: &Values,
    now: Timestamp,
    cooldown: f64,
) -> Decision {
    let mut decision = Decision::default();
    for (index, (rule, state)) in monitor.rules.iter().zip(states.iter_mut()).enumerate() {
        let value = values.get(&rule.metric).copied();
        let holds = value.is_some_and(|v| rule.holds(v));
        let before = *state;
        *state = match (before, holds) {
            (State::Inactive, false) => State::Inactive,
            (State::Inactive, true) if rule.for_secs <= 0.0 => State::Firing { since: now, acted: now },
            (State::Inactive, true) => State::Pending { since: now },
            (State::Pending { since }, true) if now - since >= rule.for_secs => {
                State::Firing { since: now, acted: now }
            }
            (State::Pending { since }, true) => State::Pending { since },
            (State::Pending { .. } | State::Firing { .. }, false) => State::Inactive,
            (State::Firing { since, acted }, true) => State::Firing { since, acted },
        };
        let say = |kind: Kind, reason: String| Event { time: now, kind, reason };
        let value_text = value.map_or_else(|| "no value".to_string(), |v| format!("{v}"));
        let expr = rule.expression();
        let title = alert_title(rule.name.as_deref(), index as u64);
        let what = format!("monitor {}: {title} ({expr})", monitor.name);
        let alert = |word: &str| Kind::MonitorAlert {
            monitor: monitor.name.clone(),
            alert: index as u64,
            name: rule.name.clone(),
            expression: expr.clone(),
            state: word.to_string(),
            value,
            action: rule.action,
        };
        match (before, *state) {
            (State::Inactive, State::Pending { .. }) => decision.events.push(say(
                alert("pending"),
                format!("{what} holds at {value_text}; fires if it holds for {}s", rule.for_secs),
            )),
            (State::Pending { .. }, State::Inactive) => decision.events.push(say(
                alert("inactive"),
                format!("{what} no longer holds ({value_text}) before its `for`"),
            )),
            (State::Inactive | State::Pending { .. }, State::Firing { .. }) => {
                let why = format!("{what} fired at {value_text}: {}", rule.action.keyword());
                let event = say(alert("firing"), why.clone());
                decision.events.push(event.clone());
                decision.acts.push(Act::Notify(event));
                match rule.action {
                    AlertAction::Notify => {}
                    AlertAction::ScaleDown => decision.acts.push(Act::ShedOne { why }),
                    AlertAction::Stop => {
                        let why = format!("stopped: {what} fired at {value_text}");
                        decision.acts.push(Act::Stop { why })
                    }
                }
            }
            (State::Firing { .. }, State::Inactive) => {
                let event = say(alert("resolved"), format!("{what} resolved at {value_text}"));
                decision.events.push(event.clone());
                decision.acts.push(Act::Notify(event));
            }
            (State::Firing { since, acted }, State::Firing { .. })
                if rule.action == AlertAction::ScaleDown && now - acted >= cooldown =>
            {
                *state = State::Firing { since, acted: now };
                let why = format!("{what} still firing at {value_text} after a cooldown of {cooldown}s");
                decision.acts.push(Act::ShedOne { why });
            }
            _ => {}
        }
    }
    decision
}

/// Monitor metrics as their keywords in files.
mod keywords {
    use gaform_compiler::ir::{Keyword, MonitorMetric};
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(metrics: &[MonitorMetric], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(metrics.iter().map(|m| m.keyword()))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<MonitorMetric>, D::Error> {
        Vec::<String>::deserialize(deserializer)?
            .iter()
            .map(|w| {
                MonitorMetric::from_keyword(w).ok_or_else(|| D::Error::custom(format!("`{w}` is no metric")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn monitor(rules: Vec<Rule>) -> Monitor {
        Monitor {
            name: "m".into(),
            job: "j".into(),
            compute: "c".into(),
            metrics: vec![],
            rules,
            notify: None,
        }
    }

    fn rule(
        metric: MonitorMetric,
        comparison: Comparison,
        threshold: f64,
        for_secs: f64,
        action: AlertAction,
    ) -> Rule {
        Rule { name: None, metric, comparison, threshold, for_secs, action }
    }

    fn values(metric: MonitorMetric, v: f64) -> Values {
        Values::from([(metric, v)])
    }

    fn states(d: &Decision) -> Vec<String> {
        d.events
            .iter()
            .map(|e| match &e.kind {
                Kind::MonitorAlert { state, .. } => state.clone(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_rule_with_for_goes_pending_then_fires_after_exactly_its_for_then_resolves() {
        let m =
            monitor(vec![rule(MonitorMetric::BestFitness, Comparison::Lt, 0.1, 60.0, AlertAction::Notify)]);
        let mut s = [State::Inactive];
        let low = values(MonitorMetric::BestFitness, 0.05);
        let d = evaluate(&m, &mut s, &low, 0.0, 300.0);
        assert_eq!((states(&d), d.acts.len()), (vec!["pending".to_string()], 0));
        assert!(evaluate(&m, &mut s, &low, 59.0, 300.0).events.is_empty());
        let d = evaluate(&m, &mut s, &low, 60.0, 300.0);
        assert_eq!(states(&d), vec!["firing"]);
        assert!(matches!(&d.acts[..], [Act::Notify(_)]));
        // Firing on: no event, no notification per tick.
        assert_eq!(evaluate(&m, &mut s, &low, 61.0, 300.0), Decision::default());
        let d = evaluate(&m, &mut s, &values(MonitorMetric::BestFitness, 0.5), 62.0, 300.0);
        assert_eq!(states(&d), vec!["resolved"]);
        assert!(matches!(&d.acts[..], [Act::Notify(_)]));
        assert_eq!(s[0], State::Inactive);
    }

    #[test]
    fn a_condition_that_stops_holding_before_its_for_never_fires() {
        let m = monitor(vec![rule(MonitorMetric::Generation, Comparison::Gt, 3.0, 10.0, AlertAction::Stop)]);
        let mut s = [State::Inactive];
        evaluate(&m, &mut s, &values(MonitorMetric::Generation, 4.0), 0.0, 300.0);
        let d = evaluate(&m, &mut s, &values(MonitorMetric::Generation, 2.0), 5.0, 300.0);
        assert_eq!((states(&d), d.acts), (vec!["inactive".to_string()], vec![]));
    }

    #[test]
    fn without_for_a_rule_fires_at_once_and_stop_asks_to_stop() {
        let m = monitor(vec![rule(MonitorMetric::Generation, Comparison::Gt, 3.0, 0.0, AlertAction::Stop)]);
        let mut s = [State::Inactive];
        assert!(evaluate(&m, &mut s, &values(MonitorMetric::Generation, 3.0), 0.0, 300.0).acts.is_empty());
        let d = evaluate(&m, &mut s, &values(MonitorMetric::Generation, 4.0), 1.0, 300.0);
        assert!(matches!(&d.acts[..], [Act::Notify(_), Act::Stop { .. }]));
    }

    #[test]
    fn a_firing_scale_down_sheds_once_per_cooldown_and_nothing_when_it_resolves() {
        let m = monitor(vec![rule(
            MonitorMetric::ClusterUtilization,
            Comparison::Lt,
            0.2,
            0.0,
            AlertAction::ScaleDown,
        )]);
        let mut s = [State::Inactive];
        let idle = values(MonitorMetric::ClusterUtilization, 0.1);
        let sheds = |d: &Decision| d.acts.iter().filter(|a| matches!(a, Act::ShedOne { .. })).count();
        assert_eq!(sheds(&evaluate(&m, &mut s, &idle, 0.0, 5.0)), 1);
        assert_eq!(sheds(&evaluate(&m, &mut s, &idle, 4.0, 5.0)), 0);
        assert_eq!(sheds(&evaluate(&m, &mut s, &idle, 5.0, 5.0)), 1);
        assert_eq!(sheds(&evaluate(&m, &mut s, &idle, 9.0, 5.0)), 0);
        let d = evaluate(&m, &mut s, &values(MonitorMetric::ClusterUtilization, 0.9), 10.0, 5.0);
        assert_eq!((states(&d), sheds(&d)), (vec!["resolved".to_string()], 0));
    }

    #[test]
    fn a_missing_value_does_not_hold_and_resolves_a_firing_alert() {
        let m = monitor(vec![rule(MonitorMetric::Cost, Comparison::Gt, 5.0, 0.0, AlertAction::Notify)]);
        let mut s = [State::Inactive];
        assert!(evaluate(&m, &mut s, &Values::new(), 0.0, 300.0).events.is_empty());
        evaluate(&m, &mut s, &values(MonitorMetric::Cost, 6.0), 1.0, 300.0);
        assert_eq!(states(&evaluate(&m, &mut s, &Values::new(), 2.0, 300.0)), vec!["resolved"]);
    }

    #[test]
    fn comparisons_follow_their_symbols() {
        let r = |c| rule(MonitorMetric::Generation, c, 3.0, 0.0, AlertAction::Notify);
        let at = |c, v| r(c).holds(v);
        assert!(at(Comparison::Le, 3.0) && !at(Comparison::Lt, 3.0));
        assert!(at(Comparison::Ge, 3.0) && !at(Comparison::Gt, 3.0));
        assert!(at(Comparison::Eq, 3.0) && at(Comparison::Ne, 2.0) && !at(Comparison::Ne, 3.0));
    }
}
