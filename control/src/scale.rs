//! Which workers to shed, and in what order: on-demand before spot (they cost more and a
//! spot instance is cheap to keep), newest first (the least work lost), never below a
//! group's `min`. Ties go by instance id, so the choice is the same on every head.

use crate::ledger::Timestamp;
use gaform_compiler::ir::Market;
use std::collections::BTreeMap;

/// A running worker, as the head sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Worker {
    pub instance: String,
    /// Its worker group's address (`compute.evo.workers.cpu`).
    pub group: String,
    pub market: Market,
    pub per_hour: f64,
    pub started_at: Timestamp,
}

/// The workers to terminate to bring every group down to its `min` (a budget's
/// `scale_down`): every worker above it (groups missing from `min` keep none), in the
/// order they should go.
pub fn to_min<'a>(workers: &'a [Worker], min: &BTreeMap<String, u64>) -> Vec<&'a Worker> {
    let mut by_group: BTreeMap<&str, Vec<&Worker>> = BTreeMap::new();
    for w in workers {
        by_group.entry(w.group.as_str()).or_default().push(w);
    }
    let mut out = Vec::new();
    for (group, mut members) in by_group {
        members.sort_by(|a, b| shed_order(a, b));
        let keep = usize::try_from(min.get(group).copied().unwrap_or(0)).unwrap_or(usize::MAX);
        let excess = members.len().saturating_sub(keep);
        out.extend(members.into_iter().take(excess));
    }
    out.sort_by(|a, b| shed_order(a, b));
    out
}

pub(crate) fn shed_order(a: &Worker, b: &Worker) -> std::cmp::Ordering {
    let on_demand_first = |w: &Worker| u8::from(w.market != Market::OnDemand);
    on_demand_first(a)
        .cmp(&on_demand_first(b))
        .then(b.started_at.total_cmp(&a.started_at))
        .then_with(|| a.instance.cmp(&b.instance))
}

/// The fewest workers, in shedding order, whose termination brings `per_hour` (everything
/// the budget's computes cost now) to `cap` or below; as many as `min` allows when that is
/// not enough.
pub fn to_rate<'a>(
    workers: &'a [Worker],
    min: &BTreeMap<String, u64>,
    per_hour: f64,
    cap: f64,
) -> Vec<&'a Worker> {
    let mut rate = per_hour;
    to_min(workers, min)
        .into_iter()
        .take_while(|w| {
            let over = rate > cap;
            rate -= w.per_hour;
            over
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(id: &str, group: &str, market: Market, started_at: f64) -> Worker {
        Worker { instance: id.into(), group: group.into(), market, per_hour: 1.0, started_at }
    }

    fn ids(ws: &[&Worker]) -> Vec<String> {
        ws.iter().map(|w| w.instance.clone()).collect()
    }

    fn fleet() -> Vec<Worker> {
        vec![
            worker("a-spot-old", "a", Market::Spot, 1.0),
            worker("a-spot-new", "a", Market::Spot, 5.0),
            worker("a-od-old", "a", Market::OnDemand, 2.0),
            worker("a-od-new", "a", Market::OnDemand, 4.0),
            worker("b-spot", "b", Market::Spot, 3.0),
        ]
    }

    #[test]
    fn down_to_min_on_demand_and_newest_first() {
        let workers = fleet();
        let min = BTreeMap::from([("a".to_string(), 1), ("b".to_string(), 1)]);
        assert_eq!(ids(&to_min(&workers, &min)), ["a-od-new", "a-od-old", "a-spot-new"]);
        let none_kept = BTreeMap::from([("a".to_string(), 0)]);
        assert_eq!(
            ids(&to_min(&workers, &none_kept)),
            ["a-od-new", "a-od-old", "a-spot-new", "b-spot", "a-spot-old"]
        );
        let all_kept = BTreeMap::from([("a".to_string(), 9), ("b".to_string(), 9)]);
        assert!(to_min(&workers, &all_kept).is_empty());
    }

    #[test]
    fn down_to_a_rate_sheds_the_fewest() {
        let workers = fleet();
        let min = BTreeMap::from([("a".to_string(), 1), ("b".to_string(), 1)]);
        // $6/h with the head ($1); a cap of $4.50 needs two workers gone.
        assert_eq!(ids(&to_rate(&workers, &min, 6.0, 4.5)), ["a-od-new", "a-od-old"]);
        assert!(to_rate(&workers, &min, 6.0, 6.0).is_empty());
        // A cap min cannot meet: everything above min goes, nothing more.
        assert_eq!(ids(&to_rate(&workers, &min, 6.0, 0.5)), ["a-od-new", "a-od-old", "a-spot-new"]);
    }
}
