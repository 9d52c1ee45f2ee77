//! When a group that fell back to on-demand asks for spot again (`return_to_spot`): once
//! its oldest on-demand worker has run that long, and again that long after each try. Each
//! spot worker had takes the place of one on-demand worker, the oldest first. Reads only
//! the ledger, like `heal`.

use crate::ledger::{Ledger, Timestamp};
use gaform_compiler::ir::Market;
use std::collections::BTreeSet;

/// The on-demand workers of `group` to move to spot now, oldest first; empty when none is
/// due. `after`: the policy's `return_to_spot` in seconds (`None`: never); `last_try`: when
/// the head last asked; `leaving`: workers already on their way out (given notice, or
/// handing over to spot).
pub fn due(
    ledger: &Ledger,
    group: &str,
    after: Option<f64>,
    last_try: Option<Timestamp>,
    leaving: &BTreeSet<String>,
    now: Timestamp,
) -> Vec<String> {
    let Some(after) = after else { return vec![] };
    let mut on_demand: Vec<(Timestamp, &str)> = ledger
        .running()
        .filter(|e| e.address == group && e.market == Market::OnDemand && !leaving.contains(&e.instance))
        .map(|e| (e.started_at, e.instance.as_str()))
        .collect();
    on_demand.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    let Some(&(oldest, _)) = on_demand.first() else { return vec![] };
    let since = last_try.map_or(oldest, |t| t.max(oldest));
    if now - since < after {
        return vec![];
    }
    on_demand.into_iter().map(|(_, id)| id.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Entry;

    const T0: Timestamp = 1_800_000_000.0;
    const GROUP: &str = "compute.evo.workers.cpu";

    fn start(ledger: &mut Ledger, id: &str, market: Market, at: Timestamp) {
        ledger.start(Entry {
            instance: id.into(),
            address: GROUP.into(),
            compute: "evo".into(),
            instance_type: "c5.large".into(),
            market,
            per_hour: 0.085,
            simulated: false,
            started_at: at,
            ended_at: None,
            end: None,
        });
    }

    #[test]
    fn spot_is_asked_for_again_once_the_oldest_fallback_has_run_return_to_spot() {
        let mut ledger = Ledger::default();
        start(&mut ledger, "i-spot", Market::Spot, T0);
        start(&mut ledger, "i-od2", Market::OnDemand, T0 + 10.0);
        start(&mut ledger, "i-od1", Market::OnDemand, T0 + 5.0);
        let none = BTreeSet::new();
        assert!(due(&ledger, GROUP, Some(3600.0), None, &none, T0 + 3604.0).is_empty(), "59:59 on-demand");
        assert_eq!(due(&ledger, GROUP, Some(3600.0), None, &none, T0 + 3605.0), ["i-od1", "i-od2"]);
        // Tried at T0 + 3605 and spot was still short: the next try an hour later.
        let tried = Some(T0 + 3605.0);
        assert!(due(&ledger, GROUP, Some(3600.0), tried, &none, T0 + 7204.0).is_empty());
        assert_eq!(due(&ledger, GROUP, Some(3600.0), tried, &none, T0 + 7205.0).len(), 2);
        // One of them hands over already: only the other is due.
        let leaving = BTreeSet::from(["i-od1".to_string()]);
        assert_eq!(due(&ledger, GROUP, Some(3600.0), tried, &leaving, T0 + 7205.0), ["i-od2"]);
    }

    #[test]
    fn never_and_all_spot_ask_for_nothing() {
        let mut ledger = Ledger::default();
        start(&mut ledger, "i-od", Market::OnDemand, T0);
        assert!(due(&ledger, GROUP, None, None, &BTreeSet::new(), T0 + 1e6).is_empty());
        let mut spot = Ledger::default();
        start(&mut spot, "i-spot", Market::Spot, T0);
        assert!(due(&spot, GROUP, Some(1.0), None, &BTreeSet::new(), T0 + 1e6).is_empty());
    }
}
