//! The cost ledger: one entry per instance start, priced when it started, billed as EC2
//! bills Linux instances: per second with a 60-second minimum per start, and nothing for a
//! spot instance that EC2 itself interrupts within its first hour. Entries are keyed by the
//! provider's instance id, so recording a start twice (a head restarted after a crash
//! replays what it saw) never counts an instance twice.

use gaform_compiler::ir::Market;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Seconds since the Unix epoch, UTC; the caller's clock, never read here.
pub type Timestamp = f64;

/// The shortest a start is billed.
pub const MINIMUM_SECONDS: f64 = 60.0;
/// A spot instance interrupted by EC2 before this is not billed at all.
pub const SPOT_GRACE_SECONDS: f64 = 3_600.0;

/// Why an instance stopped costing money.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum End {
    /// Terminated by gaform or the user (or it exited): billed to that second.
    Terminated,
    /// A spot instance that EC2 reclaimed.
    SpotInterrupted,
}

/// One instance start.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The provider's id for this start: an EC2 instance id, or the local cloud's slot
    /// plus process start time.
    pub instance: String,
    /// The resource it belongs to, as plans write it (`compute.evo.workers.cpu[3]`).
    pub address: String,
    /// The compute it belongs to, whose budget it is charged to.
    pub compute: String,
    pub instance_type: String,
    #[serde(with = "crate::keyword")]
    pub market: Market,
    /// US dollars per hour, fixed at start: the spot price then in effect, or on-demand.
    pub per_hour: f64,
    /// True on the local cloud: the price is what the type would cost on AWS, and nothing
    /// is actually billed.
    pub simulated: bool,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub end: Option<End>,
}

impl Entry {
    /// The interval this start is billed for, as of `now`: from its start to its end (or
    /// `now` while it runs), at least [`MINIMUM_SECONDS`]; empty for a spot instance EC2
    /// interrupted within [`SPOT_GRACE_SECONDS`].
    pub fn billed(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        let until = self.ended_at.unwrap_or(now).max(self.started_at);
        let ran = until - self.started_at;
        if self.end == Some(End::SpotInterrupted) && ran < SPOT_GRACE_SECONDS {
            return (self.started_at, self.started_at);
        }
        // Per second: a started second is a billed second.
        let seconds = ran.ceil().max(MINIMUM_SECONDS);
        (self.started_at, self.started_at + seconds)
    }

    /// Dollars billed for this start within `[from, to)`, as of `now`.
    pub fn cost_within(&self, (from, to): (Timestamp, Timestamp), now: Timestamp) -> f64 {
        let (start, end) = self.billed(now);
        let seconds = (end.min(to) - start.max(from)).max(0.0);
        seconds * self.per_hour / 3_600.0
    }

    /// Whether it still runs.
    pub fn is_running(&self) -> bool {
        self.ended_at.is_none()
    }
}

/// Every instance start of a stack, by instance id.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    entries: BTreeMap<String, Entry>,
}

impl Ledger {
    /// Records a start; `false` (and nothing changed) when this instance is known already.
    pub fn start(&mut self, entry: Entry) -> bool {
        if self.entries.contains_key(&entry.instance) {
            return false;
        }
        self.entries.insert(entry.instance.clone(), entry);
        true
    }

    /// Records the end of a running instance; `false` when it is unknown or ended already
    /// (the first end seen is the one billed).
    pub fn end(&mut self, instance: &str, at: Timestamp, end: End) -> bool {
        match self.entries.get_mut(instance) {
            Some(entry) if entry.is_running() => {
                entry.ended_at = Some(at.max(entry.started_at));
                entry.end = Some(end);
                true
            }
            _ => false,
        }
    }

    /// The entry of `instance`.
    pub fn get(&self, instance: &str) -> Option<&Entry> {
        self.entries.get(instance)
    }

    /// Dollars billed within `window` to the instances of `compute`, as of `now`.
    pub fn spend(&self, compute: &str, window: (Timestamp, Timestamp), now: Timestamp) -> f64 {
        self.of(compute).map(|e| e.cost_within(window, now)).sum()
    }

    /// Dollars per hour the running instances of `compute` cost now.
    pub fn burn_rate(&self, compute: &str) -> f64 {
        self.of(compute).filter(|e| e.is_running()).map(|e| e.per_hour).sum()
    }

    /// Every start, running or ended.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// The starts still running, of every compute.
    pub fn running(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values().filter(|e| e.is_running())
    }

    fn of<'a>(&'a self, compute: &'a str) -> impl Iterator<Item = &'a Entry> + 'a {
        self.entries.values().filter(move |e| e.compute == compute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = 1_800_000_000.0;

    fn entry(instance: &str, market: Market, per_hour: f64, started_at: Timestamp) -> Entry {
        Entry {
            instance: instance.into(),
            address: format!("compute.evo.workers.cpu[{instance}]"),
            compute: "evo".into(),
            instance_type: "c5.large".into(),
            market,
            per_hour,
            simulated: false,
            started_at,
            ended_at: None,
            end: None,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn a_start_is_billed_at_least_a_minute() {
        let mut e = entry("i-1", Market::OnDemand, 3.6, T0);
        let all = (0.0, f64::INFINITY);
        assert!(close(e.cost_within(all, T0 + 1.0), 0.06), "60 s at $3.60/h = $0.06 from the first second");
        assert!(close(e.cost_within(all, T0 + 59.0), 0.06));
        e.ended_at = Some(T0 + 10.0);
        e.end = Some(End::Terminated);
        assert!(close(e.cost_within(all, T0 + 5_000.0), 0.06), "ended after 10 s: still the minute");
    }

    #[test]
    fn per_second_after_the_minute() {
        let e = entry("i-1", Market::OnDemand, 3.6, T0);
        let all = (0.0, f64::INFINITY);
        assert!(close(e.cost_within(all, T0 + 61.0), 0.061));
        assert!(close(e.cost_within(all, T0 + 90.2), 0.091), "a started second is billed whole");
        assert!(close(e.cost_within(all, T0 + 3_600.0), 3.6));
    }

    #[test]
    fn spot_interrupted_by_ec2_in_its_first_hour_is_free() {
        let mut ledger = Ledger::default();
        ledger.start(entry("i-early", Market::Spot, 1.0, T0));
        ledger.start(entry("i-late", Market::Spot, 1.0, T0));
        ledger.start(entry("i-ours", Market::Spot, 1.0, T0));
        assert!(ledger.end("i-early", T0 + 3_599.0, End::SpotInterrupted));
        assert!(ledger.end("i-late", T0 + 3_601.0, End::SpotInterrupted));
        assert!(ledger.end("i-ours", T0 + 1_800.0, End::Terminated));
        let all = (0.0, f64::INFINITY);
        let cost = |id: &str| ledger.get(id).map(|e| e.cost_within(all, T0 + 9_999.0));
        assert_eq!(cost("i-early"), Some(0.0));
        assert!(cost("i-late").is_some_and(|c| close(c, 3_601.0 / 3_600.0)), "past the hour: billed whole");
        assert!(cost("i-ours").is_some_and(|c| close(c, 0.5)), "terminated by us: billed");
    }

    #[test]
    fn no_double_count_when_a_restarted_head_replays_what_it_saw() {
        let mut ledger = Ledger::default();
        assert!(ledger.start(entry("i-1", Market::OnDemand, 3.6, T0)));
        assert!(ledger.start(entry("i-2", Market::OnDemand, 3.6, T0 + 100.0)));
        // The head dies and its successor observes the same instances again.
        assert!(!ledger.start(entry("i-1", Market::OnDemand, 9.9, T0 + 500.0)));
        assert!(ledger.end("i-1", T0 + 3_600.0, End::Terminated));
        assert!(!ledger.end("i-1", T0 + 7_200.0, End::Terminated), "the first end is the one billed");
        let spent = ledger.spend("evo", (0.0, f64::INFINITY), T0 + 3_700.0);
        assert!(close(spent, 3.6 + 3.6 * 3_600.0 / 3_600.0), "{spent}");
        assert!(close(ledger.burn_rate("evo"), 3.6), "only i-2 still runs");
        assert_eq!(ledger.spend("other", (0.0, f64::INFINITY), T0 + 3_700.0), 0.0);
    }

    #[test]
    fn a_window_takes_only_its_share() {
        let e = entry("i-1", Market::OnDemand, 3.6, T0);
        let now = T0 + 7_200.0;
        assert!(close(e.cost_within((T0 + 3_600.0, T0 + 10_000.0), now), 3.6));
        assert!(close(e.cost_within((0.0, T0 + 1_800.0), now), 1.8));
        assert_eq!(e.cost_within((0.0, T0), now), 0.0);
        // The minute's minimum lies in the window where the instance started.
        let brief = Entry { ended_at: Some(T0 + 5.0), end: Some(End::Terminated), ..e };
        assert!(close(brief.cost_within((T0, T0 + 30.0), now), 0.03));
        assert!(close(brief.cost_within((T0 + 30.0, T0 + 90.0), now), 0.03));
    }

    #[test]
    fn survives_a_round_trip_through_its_file() {
        let mut ledger = Ledger::default();
        ledger.start(entry("i-1", Market::Spot, 0.0123, T0));
        ledger.end("i-1", T0 + 61.5, End::SpotInterrupted);
        let text = serde_json::to_string(&ledger).expect("serialise");
        assert_eq!(serde_json::from_str::<Ledger>(&text).expect("parse"), ledger);
    }
}
