//! When a head starts workers in the place of lost ones: a group running fewer workers than
//! its jobs were planned with, and not frozen by a budget or monitor, gets the difference.
//! The decision reads only the cost ledger (made level with the cloud's one listing per
//! tick), so it costs no request of its own, and a replacement requested at one tick is in
//! the ledger (pending) at the next: no tick asks twice for the same loss.

use crate::ledger::{Ledger, Timestamp};
use std::collections::BTreeSet;

/// What a group lacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shortfall {
    /// Workers to start.
    pub need: u64,
    /// Workers running now.
    pub running: u64,
    /// The group's workers that ended since `since` and were not reported before, oldest
    /// first: what the event names as lost.
    pub lost: Vec<String>,
}

/// What `group` (its address, as the ledger records it) lacks of `want` running workers;
/// `None` when nothing. Losses in `reported` were named by an earlier event; instances in
/// `leaving` still run but EC2 has given them notice: they count as gone already, so that
/// their replacements start before they go.
pub fn shortfall(
    ledger: &Ledger,
    group: &str,
    want: u64,
    since: Timestamp,
    reported: &BTreeSet<String>,
    leaving: &BTreeSet<String>,
) -> Option<Shortfall> {
    let running =
        ledger.running().filter(|e| e.address == group && !leaving.contains(&e.instance)).count() as u64;
    let need = want.checked_sub(running).filter(|&n| n > 0)?;
    let mut ended: Vec<_> = ledger
        .entries()
        .filter(|e| e.address == group && !reported.contains(&e.instance))
        .filter_map(|e| Some((e.ended_at.filter(|&t| t >= since)?, e.instance.clone())))
        .collect();
    ended.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    Some(Shortfall { need, running, lost: ended.into_iter().map(|(_, id)| id).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{End, Entry};
    use gaform_compiler::ir::Market;

    const T0: Timestamp = 1_800_000_000.0;
    const GROUP: &str = "compute.evo.workers.cpu";

    fn start(ledger: &mut Ledger, id: &str, address: &str, at: Timestamp) {
        ledger.start(Entry {
            instance: id.into(),
            address: address.into(),
            compute: "evo".into(),
            instance_type: "c5.large".into(),
            market: Market::Spot,
            per_hour: 0.03,
            simulated: false,
            started_at: at,
            ended_at: None,
            end: None,
        });
    }

    #[test]
    fn a_full_group_lacks_nothing() {
        let mut ledger = Ledger::default();
        start(&mut ledger, "i-1", GROUP, T0);
        start(&mut ledger, "i-2", GROUP, T0);
        start(&mut ledger, "i-h", "compute.evo.head", T0);
        assert_eq!(shortfall(&ledger, GROUP, 2, T0, &BTreeSet::new(), &BTreeSet::new()), None);
        assert_eq!(
            shortfall(&ledger, GROUP, 1, T0, &BTreeSet::new(), &BTreeSet::new()),
            None,
            "more than planned: not shed here"
        );
    }

    #[test]
    fn losses_since_the_run_started_are_named_once_and_the_difference_is_asked_for() {
        let mut ledger = Ledger::default();
        for id in ["i-1", "i-2", "i-3"] {
            start(&mut ledger, id, GROUP, T0);
        }
        start(&mut ledger, "i-old", GROUP, T0 - 500.0);
        ledger.end("i-old", T0 - 100.0, End::Terminated);
        ledger.end("i-3", T0 + 40.0, End::SpotInterrupted);
        ledger.end("i-2", T0 + 30.0, End::Terminated);
        let got = shortfall(&ledger, GROUP, 3, T0, &BTreeSet::new(), &BTreeSet::new()).unwrap();
        assert_eq!(got, Shortfall { need: 2, running: 1, lost: vec!["i-2".into(), "i-3".into()] });
        // The head asked for two; at the next tick they are in the ledger, pending.
        start(&mut ledger, "i-4", GROUP, T0 + 41.0);
        start(&mut ledger, "i-5", GROUP, T0 + 41.0);
        let reported: BTreeSet<String> = got.lost.into_iter().collect();
        assert_eq!(
            shortfall(&ledger, GROUP, 3, T0, &reported, &BTreeSet::new()),
            None,
            "no second request for the same loss"
        );
        // A replacement lost in its turn is a new loss.
        ledger.end("i-4", T0 + 90.0, End::Terminated);
        let again = shortfall(&ledger, GROUP, 3, T0, &reported, &BTreeSet::new()).unwrap();
        assert_eq!((again.need, again.lost), (1, vec!["i-4".to_string()]));
    }

    #[test]
    fn a_worker_given_notice_is_replaced_while_it_still_runs_and_only_once() {
        let mut ledger = Ledger::default();
        start(&mut ledger, "i-1", GROUP, T0);
        start(&mut ledger, "i-2", GROUP, T0);
        let leaving = BTreeSet::from(["i-2".to_string()]);
        let got = shortfall(&ledger, GROUP, 2, T0, &BTreeSet::new(), &leaving).unwrap();
        assert_eq!((got.need, got.running, got.lost.len()), (1, 1, 0));
        start(&mut ledger, "i-3", GROUP, T0 + 5.0);
        assert_eq!(shortfall(&ledger, GROUP, 2, T0, &BTreeSet::new(), &leaving), None);
        // EC2 takes it back: it was replaced already.
        ledger.end("i-2", T0 + 120.0, End::SpotInterrupted);
        let reported = BTreeSet::from(["i-2".to_string()]);
        assert_eq!(shortfall(&ledger, GROUP, 2, T0, &reported, &leaving), None);
    }

    #[test]
    fn a_shortfall_without_a_loss_seen_is_still_filled() {
        // A worker that vanished before this head's first tick (a head replaced mid-run).
        let mut ledger = Ledger::default();
        start(&mut ledger, "i-1", GROUP, T0);
        let got = shortfall(&ledger, GROUP, 2, T0, &BTreeSet::new(), &BTreeSet::new()).unwrap();
        assert_eq!((got.need, got.running, got.lost.len()), (1, 1, 0));
    }
}
