//! How a head sizes an autoscaled group (`autoscale = true`) to the work there is: as many
//! workers as its unfinished islands need (each worker runs `per_worker` at once), never
//! fewer than `min` nor more than the ceiling the caps, quota and budget allow. Growth is
//! asked for at once; a worker beyond that goes only after it has been idle a cool-down,
//! so that a dip between two jobs does not shed what the next one needs. When new workers
//! are up, the islands are dealt again over all of them. Reads only what the head already
//! has (the ledger, its own record of who went idle when), with `now` given.

use crate::ledger::{Ledger, Timestamp};
use crate::scale::{self, Worker};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// The bounds a head sizes a group within, fixed by the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizing {
    pub min: u64,
    /// The most the caps, the quota and the budget's `max_cost_per_hour` allow.
    pub ceiling: u64,
    /// Islands one worker runs at once.
    pub per_worker: u64,
}

impl Sizing {
    /// The workers `unfinished` islands need, within the group's bounds.
    pub fn target(&self, unfinished: u64) -> u64 {
        unfinished.div_ceil(self.per_worker.max(1)).clamp(self.min, self.ceiling.max(self.min))
    }
}

/// Of `group`'s running workers (the ledger's, less `leaving`), those to terminate now: the
/// idle ones (in `idle_since`, holding no unfinished island) that have been idle for
/// `cooldown`, in shedding order (on-demand, then newest, first), no more than bring the
/// group down to `target`.
pub fn to_shed(
    ledger: &Ledger,
    group: &str,
    target: u64,
    idle_since: &BTreeMap<String, Timestamp>,
    leaving: &BTreeSet<String>,
    now: Timestamp,
    cooldown: f64,
) -> Vec<String> {
    let running: Vec<Worker> = ledger
        .running()
        .filter(|e| e.address == group && !leaving.contains(&e.instance))
        .map(|e| Worker {
            instance: e.instance.clone(),
            group: group.to_string(),
            market: e.market,
            per_hour: e.per_hour,
            started_at: e.started_at,
        })
        .collect();
    let excess = (running.len() as u64).saturating_sub(target);
    let mut idle: Vec<&Worker> = running
        .iter()
        .filter(|w| idle_since.get(&w.instance).is_some_and(|&t| now - t >= cooldown))
        .collect();
    idle.sort_by(|a, b| scale::shed_order(a, b));
    idle.into_iter().take(usize::try_from(excess).unwrap_or(usize::MAX)).map(|w| w.instance.clone()).collect()
}

/// Whether a job's islands should be dealt again over `live` workers, having last been
/// dealt over `dealt_over`: only when that gives some worker fewer (so a new worker has
/// something to take), and only once the new workers are up and waiting for islands
/// (`ready`) or the earliest of them has waited `grace` (one that never boots does not
/// hold the others back). Never twice for the same count, so no deal loops.
pub fn deal_again(islands: u64, dealt_over: u64, live: u64, ready: u64, waited: f64, grace: f64) -> bool {
    let share = |workers: u64| islands.div_ceil(workers.max(1));
    live > dealt_over
        && share(live) < share(dealt_over)
        && ready > 0
        && (ready >= live - dealt_over || waited >= grace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Entry;
    use gaform_compiler::ir::Market;

    const T0: Timestamp = 1_800_000_000.0;
    const GROUP: &str = "compute.evo.workers.cpu";

    fn ledger(workers: &[(&str, Market, Timestamp)]) -> Ledger {
        let mut ledger = Ledger::default();
        for (id, market, at) in workers {
            ledger.start(Entry {
                instance: id.to_string(),
                address: GROUP.into(),
                compute: "evo".into(),
                instance_type: "c5.large".into(),
                market: *market,
                per_hour: 0.085,
                simulated: false,
                started_at: *at,
                ended_at: None,
                end: None,
            });
        }
        ledger
    }

    #[test]
    fn the_target_follows_the_unfinished_islands_within_min_and_the_ceiling() {
        let s = Sizing { min: 1, ceiling: 3, per_worker: 1 };
        assert_eq!(s.target(6), 3, "more islands than the ceiling: the ceiling");
        assert_eq!(s.target(2), 2);
        assert_eq!(s.target(0), 1, "no work: min");
        let wide = Sizing { min: 0, ceiling: 8, per_worker: 4 };
        assert_eq!(wide.target(9), 3, "four islands a worker");
        assert_eq!(wide.target(0), 0);
        let cut = Sizing { min: 2, ceiling: 1, per_worker: 1 };
        assert_eq!(cut.target(6), 2, "a ceiling below min keeps min");
    }

    #[test]
    fn idle_workers_beyond_the_target_go_after_the_cool_down_on_demand_and_newest_first() {
        let l = ledger(&[
            ("i-old", Market::Spot, T0),
            ("i-mid", Market::Spot, T0 + 10.0),
            ("i-new", Market::Spot, T0 + 20.0),
            ("i-od", Market::OnDemand, T0 + 5.0),
        ]);
        let none = BTreeSet::new();
        let idle = |ids: &[(&str, f64)]| ids.iter().map(|(i, t)| (i.to_string(), *t)).collect();
        // Idle for 50 s at T0 + 100; the cool-down is 60 s: nothing yet.
        let all: BTreeMap<_, _> =
            idle(&[("i-old", T0 + 50.0), ("i-mid", T0 + 50.0), ("i-new", T0 + 50.0), ("i-od", T0 + 50.0)]);
        assert!(to_shed(&l, GROUP, 1, &all, &none, T0 + 100.0, 60.0).is_empty());
        assert_eq!(to_shed(&l, GROUP, 1, &all, &none, T0 + 110.0, 60.0), ["i-od", "i-new", "i-mid"]);
        assert_eq!(to_shed(&l, GROUP, 3, &all, &none, T0 + 110.0, 60.0), ["i-od"], "down to the target only");
        // Only the idle go: the busy stay, although the group stays above its target.
        let some: BTreeMap<_, _> = idle(&[("i-old", T0)]);
        assert_eq!(to_shed(&l, GROUP, 1, &some, &none, T0 + 110.0, 60.0), ["i-old"]);
        // Given notice: already on its way out, neither counted nor chosen.
        let leaving = BTreeSet::from(["i-od".to_string()]);
        assert_eq!(to_shed(&l, GROUP, 1, &all, &leaving, T0 + 110.0, 60.0), ["i-new", "i-mid"]);
    }

    #[test]
    fn islands_are_dealt_again_once_when_new_workers_are_up() {
        // Six islands on one worker; the head grew the group to three.
        assert!(!deal_again(6, 1, 3, 0, 0.0, 120.0), "nobody waits yet");
        assert!(!deal_again(6, 1, 3, 1, 10.0, 120.0), "one of two new workers is up");
        assert!(deal_again(6, 1, 3, 2, 10.0, 120.0), "both are up");
        assert!(deal_again(6, 1, 3, 1, 120.0, 120.0), "the other never came: go on without it");
        assert!(!deal_again(6, 3, 3, 2, 10.0, 120.0), "dealt over three already: no loop");
        assert!(!deal_again(2, 2, 3, 1, 10.0, 120.0), "one island each already: a third gets none");
        assert!(!deal_again(6, 3, 2, 1, 10.0, 120.0), "fewer workers: the orphans are taken, not dealt");
    }
}
