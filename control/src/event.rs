//! What gaform did on its own, and why: one JSON line each in the stack's event log, so a
//! user can always tell afterwards why money was spent or work was stopped.

use crate::ledger::Timestamp;
use gaform_compiler::ir::AlertAction;
use serde::{Deserialize, Serialize};

/// One event: when, what, and the reason in words.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When it happened (the alert's threshold, where there is one, is `at`).
    pub time: Timestamp,
    #[serde(flatten)]
    pub kind: Kind,
    pub reason: String,
}

/// What decided an act: a budget or a monitor, by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum By {
    Budget(String),
    Monitor(String),
}

impl By {
    /// As an event's fields.
    pub fn origin(&self) -> Origin {
        match self {
            By::Budget(b) => Origin { budget: b.clone(), monitor: String::new() },
            By::Monitor(m) => Origin { budget: String::new(), monitor: m.clone() },
        }
    }
}

/// The `budget` or `monitor` field of an event that either can cause: the empty one is
/// left out of the log.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub budget: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub monitor: String,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Kind {
    /// A budget's spend reached an alert's threshold (`implicit`: the 100% stop every
    /// budget has, written or not).
    AlertFired {
        budget: String,
        at: f64,
        #[serde(with = "crate::keyword")]
        action: AlertAction,
        spent: f64,
        amount: f64,
        implicit: bool,
    },
    /// A budget's computes cost more per hour than its `max_cost_per_hour`.
    OverHourlyCap { budget: String, per_hour: f64, cap: f64 },
    /// A budget's or a monitor's scale-down froze a compute: no replacements, no
    /// scale-up, for the rest of the run (the other name is empty and left out).
    Frozen {
        #[serde(flatten)]
        by: Origin,
        compute: String,
    },
    /// A worker terminated to bring its group down (`kept`: the workers left); its islands
    /// were dealt to them and resume from their checkpoints.
    Shed {
        #[serde(flatten)]
        by: Origin,
        instance: String,
        kept: u64,
    },
    /// Workers of a group were lost (terminated, reclaimed, crashed: `lost`, those the
    /// ledger saw end) and its head asked for `requested` in their place; the islands they
    /// ran resume from their checkpoints on the new ones.
    Replaced { group: String, lost: Vec<String>, requested: u64 },
    /// A replacement could not be had (no capacity, a refused request); the head asks again
    /// at its next tick.
    ReplacementFailed { group: String, requested: u64, error: String },
    /// EC2 gave a worker notice (`notice`: `interruption`, the two-minute spot warning, or
    /// `rebalance`, a raised risk of one; `at`: EC2's time for it): the head starts its
    /// replacement before it goes.
    InterruptionNotice { instance: String, group: String, notice: String, at: String },
    /// A group that fell back to on-demand asked for spot again (`return_to_spot`): `asked`
    /// spot workers, `got` of them (`error`: EC2's, when fewer); each one had takes an
    /// on-demand worker's place.
    SpotRetried { group: String, asked: u64, got: u64, error: String },
    /// An on-demand worker handed its islands over (saved where they were) and was
    /// terminated: a spot worker took its place.
    HandedToSpot { group: String, instance: String },
    /// An autoscaled group had more unfinished islands than its workers run: its head
    /// asked for `requested` more, to go from `from` workers to `to`.
    ScaledUp { group: String, from: u64, to: u64, requested: u64 },
    /// An autoscaled group's workers that had been idle its cool-down were terminated,
    /// bringing it from `from` workers to `to` (never below its `min`).
    ScaledDown { group: String, from: u64, to: u64, instances: Vec<String> },
    /// A job's islands were dealt again over `workers` workers once new ones were up: the
    /// workers that held more saved theirs where they were and handed the rest over.
    IslandsDealt { job: String, workers: u64 },
    /// A notification reached its target (`attempts`: 1 unless it was retried). It came
    /// from a budget or from a monitor: the other name is empty and left out.
    NotificationSent {
        #[serde(flatten)]
        by: Origin,
        target: String,
        attempts: u32,
    },
    /// A notification could not be delivered after `attempts` tries; the head carries on.
    NotificationFailed {
        #[serde(flatten)]
        by: Origin,
        target: String,
        attempts: u32,
        error: String,
    },
    /// A monitor's alert changed state: `pending`, `firing`, `resolved`, or `inactive`
    /// (a pending alert whose condition stopped holding before its `for`).
    MonitorAlert {
        monitor: String,
        /// The alert's place in its monitor, from 0.
        alert: u64,
        /// Its name, when the file gives it one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        expression: String,
        state: String,
        /// The metric's value at the change; none when nothing was reported.
        value: Option<f64>,
        #[serde(with = "crate::keyword")]
        action: AlertAction,
    },
    /// A compute's head stopped its jobs (results so far written) and terminated every
    /// instance of it, itself last.
    ComputeStopped { compute: String, instances: u64, jobs: Vec<String> },
    /// A job ran past its `max_runtime` (seconds): its head stopped it, keeping its results
    /// so far where there were any.
    JobTimedOut { job: String, max_runtime: f64 },
    /// A compute's head terminated it, itself last, with nothing left to stop: its jobs were
    /// over, or it sat idle for its `auto_terminate`.
    ComputeEnded { compute: String, instances: u64 },
    /// A job failed (a worker kept dying past the replacement cap, say): its workers were
    /// released and its checkpoints kept, so an apply resumes it.
    JobFailed { job: String, error: String },
    /// A compute's head could not do part of its work this time (`doing`): measure, read the
    /// jobs, heal. It tries again every pass and logs it again only when the error changes.
    HeadTrouble { compute: String, doing: String, error: String },
    /// A head ended itself because it could not do its work for too long: the compute is
    /// left as it is, untended, and this says so.
    HeadGaveUp { compute: String, error: String, seconds: f64 },
}

impl Event {
    /// The event as one line of the log, newline included.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::to_string(self).unwrap_or_else(|e| {
            // Keep the reason rather than lose the event.
            let reason = format!("{}: {e}", self.reason);
            serde_json::json!({ "time": self.time, "event": "unserialisable", "reason": reason }).to_string()
        });
        line.push('\n');
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_events_origin_is_one_field_and_reads_back() {
        let by = By::Monitor("m".into()).origin();
        let e = Event { time: 1.0, kind: Kind::Frozen { by, compute: "c".into() }, reason: "r".into() };
        let line = e.to_line();
        assert_eq!(
            line,
            "{\"time\":1.0,\"event\":\"frozen\",\"monitor\":\"m\",\"compute\":\"c\",\"reason\":\"r\"}\n"
        );
        assert_eq!(serde_json::from_str::<Event>(&line).unwrap(), e);
        let old = "{\"time\":1.0,\"event\":\"shed\",\"budget\":\"b\",\"instance\":\"i\",\"kept\":1,\"reason\":\"r\"}";
        let Kind::Shed { by, .. } = serde_json::from_str::<Event>(old).unwrap().kind else { panic!() };
        assert_eq!((by.budget.as_str(), by.monitor.as_str()), ("b", ""));
    }
}
