//! The hall of fame: the best distinct genomes seen over a whole run.

use super::exact;
use super::space::Genome;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// A genome with its fitness.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Scored {
    pub genome: Genome,
    #[serde(with = "exact")]
    pub fitness: f64,
}

/// Best first: higher fitness, then the smaller genome, so that order never depends on
/// where or when a genome was found.
pub fn best_first(a: &Scored, b: &Scored) -> Ordering {
    b.fitness.total_cmp(&a.fitness).then_with(|| a.genome.cmp(&b.genome))
}

/// `population` best first (stable: equals keep their order).
pub fn ranked(population: &[Scored]) -> Vec<&Scored> {
    let mut order: Vec<&Scored> = population.iter().collect();
    order.sort_by(|a, b| best_first(a, b));
    order
}

/// The best `k` of `population`, best first: `ranked`'s first `k`, without sorting the rest
/// (individuals that tie under `best_first` are identical, so which of them comes first
/// cannot be seen).
pub fn best(population: &[Scored], k: usize) -> Vec<&Scored> {
    let mut order: Vec<&Scored> = population.iter().collect();
    let k = k.min(order.len());
    if k == 0 {
        return Vec::new();
    }
    if k < order.len() {
        order.select_nth_unstable_by(k - 1, |a, b| best_first(a, b));
        order.truncate(k);
    }
    order.sort_by(|a, b| best_first(a, b));
    order
}

/// The best `capacity` distinct genomes, best first. Genomes scored negative infinity
/// (constraint broken, undefined fitness) never enter.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HallOfFame {
    pub capacity: usize,
    pub entries: Vec<Scored>,
}

impl HallOfFame {
    /// An empty hall keeping `capacity` entries.
    pub fn new(capacity: usize) -> HallOfFame {
        HallOfFame { capacity, entries: Vec::new() }
    }

    /// Takes in whichever of `candidates` belong among the best.
    pub fn offer<'a>(&mut self, candidates: impl IntoIterator<Item = &'a Scored>) {
        for c in candidates {
            if c.fitness == f64::NEG_INFINITY || c.fitness.is_nan() {
                continue;
            }
            let full = self.entries.len() >= self.capacity;
            if let Some(worst) = self.entries.last().filter(|_| full) {
                if best_first(c, worst) != Ordering::Less {
                    continue;
                }
            }
            if self.entries.iter().any(|e| e.genome == c.genome) {
                continue;
            }
            let at = self.entries.partition_point(|e| best_first(e, c) == Ordering::Less);
            self.entries.insert(at, c.clone());
            self.entries.truncate(self.capacity);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(genome: &[i64], fitness: f64) -> Scored {
        Scored { genome: genome.iter().copied().collect(), fitness }
    }

    #[test]
    fn keeps_the_best_distinct_genomes_in_a_fixed_order() {
        let mut hall = HallOfFame::new(3);
        hall.offer(&[s(&[5], 1.0), s(&[4], 2.0), s(&[4], 2.0), s(&[9], f64::NEG_INFINITY), s(&[3], 1.0)]);
        hall.offer(&[s(&[1], 0.5), s(&[2], 2.0)]);
        let got: Vec<_> = hall.entries.iter().map(|e| (e.genome[0], e.fitness)).collect();
        assert_eq!(got, [(2, 2.0), (4, 2.0), (3, 1.0)]);
    }
}
