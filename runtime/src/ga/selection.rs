//! Parent selection: which individual of the current generation breeds next.

use crate::rng::Prng;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Picks one parent's index from a scored generation.
pub trait Select {
    /// An index into `scores.fitness`.
    fn select(&self, scores: &Scores, rng: &mut Prng) -> usize;
}

/// Selection operators, as a job names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Selection {
    /// The best of `size` individuals drawn with replacement (ties: the first drawn).
    Tournament { size: u64 },
    /// Fitness-proportionate: the weight of an individual is its fitness minus the worst
    /// finite fitness, plus a hundredth of the spread, so the worst still breeds sometimes;
    /// an individual scored negative infinity has weight zero, positive infinity counts as
    /// the best finite fitness. All weights zero: uniform.
    Roulette,
    /// Linear ranking: the worst has weight 1, the best weight n.
    Rank,
}

/// A generation's fitness with what the selectors need, computed once per generation.
pub struct Scores {
    /// Per individual; never NaN.
    pub fitness: Vec<f64>,
    roulette: Vec<f64>,
    rank: Vec<f64>,
}

impl Scores {
    /// Prepares `fitness` (NaN already mapped to negative infinity) for selection.
    pub fn new(fitness: Vec<f64>) -> Scores {
        Scores::for_selection(fitness, None)
    }

    /// `new`, computing only what `selection` draws from (all of it for `None`): a
    /// tournament needs neither cumulative table, and the ranking is a sort.
    pub fn for_selection(fitness: Vec<f64>, selection: Option<Selection>) -> Scores {
        let wants = |s: Selection| selection.is_none_or(|wanted| wanted == s);
        let roulette = if wants(Selection::Roulette) { roulette_weights(&fitness) } else { Vec::new() };
        let rank = if wants(Selection::Rank) { rank_weights(&fitness) } else { Vec::new() };
        Scores { fitness, roulette, rank }
    }

    /// Number of individuals.
    pub fn len(&self) -> usize {
        self.fitness.len()
    }

    /// True when the generation is empty.
    pub fn is_empty(&self) -> bool {
        self.fitness.is_empty()
    }
}

fn roulette_weights(fitness: &[f64]) -> Vec<f64> {
    let finite = || fitness.iter().copied().filter(|f| f.is_finite());
    let worst = finite().fold(f64::INFINITY, f64::min);
    let best = finite().fold(f64::NEG_INFINITY, f64::max);
    let floor = if best > worst { (best - worst) / 100.0 } else { 1.0 };
    cumulative(fitness.iter().map(|&f| {
        if f == f64::NEG_INFINITY {
            0.0
        } else if best < worst {
            // No finite fitness at all: only the positive infinities count.
            1.0
        } else {
            f.min(best) - worst + floor
        }
    }))
}

fn rank_weights(fitness: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..fitness.len()).collect();
    // Worst first; among equals, the later index ranks lower.
    order.sort_by(|&a, &b| fitness[a].total_cmp(&fitness[b]).then(b.cmp(&a)));
    let mut rank_weight = vec![0.0; fitness.len()];
    for (r, &i) in order.iter().enumerate() {
        if let Some(w) = rank_weight.get_mut(i) {
            *w = (r + 1) as f64;
        }
    }
    cumulative(rank_weight.into_iter())
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut total = 0.0;
    weights
        .map(|w| {
            total += w;
            total
        })
        .collect()
}

/// Draws an index with probability proportional to its weight, from cumulative weights.
fn spin(cumulative: &[f64], rng: &mut Prng) -> usize {
    let n = cumulative.len();
    let total = cumulative.last().copied().unwrap_or(0.0);
    if !(total > 0.0 && total.is_finite()) {
        return rng.random_range(0..n.max(1));
    }
    let target = rng.random::<f64>() * total;
    cumulative.partition_point(|&c| c <= target).min(n.saturating_sub(1))
}

impl Select for Selection {
    fn select(&self, scores: &Scores, rng: &mut Prng) -> usize {
        let n = scores.len().max(1);
        match *self {
            Selection::Tournament { size } => {
                let mut best = rng.random_range(0..n);
                for _ in 1..size.max(1) {
                    let challenger = rng.random_range(0..n);
                    let score = |i: usize| scores.fitness.get(i).copied().unwrap_or(f64::NEG_INFINITY);
                    if score(challenger) > score(best) {
                        best = challenger;
                    }
                }
                best
            }
            Selection::Roulette => spin(&scores.roulette, rng),
            Selection::Rank => spin(&scores.rank, rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn histogram(selection: Selection, fitness: &[f64]) -> Vec<usize> {
        let scores = Scores::new(fitness.to_vec());
        let mut counts = vec![0; fitness.len()];
        let mut rng = stream(1, 0, 0, 0);
        for _ in 0..20_000 {
            counts[selection.select(&scores, &mut rng)] += 1;
        }
        counts
    }

    #[test]
    fn every_selector_prefers_the_fitter_and_never_picks_negative_infinity_by_weight() {
        let fitness = [1.0, 3.0, f64::NEG_INFINITY, 2.0];
        for selection in [Selection::Tournament { size: 3 }, Selection::Roulette, Selection::Rank] {
            let counts = histogram(selection, &fitness);
            assert!(counts[1] > counts[3] && counts[3] > counts[0], "{selection:?}: {counts:?}");
            assert!(counts[2] < counts[0], "{selection:?}: {counts:?}");
        }
        assert_eq!(histogram(Selection::Roulette, &fitness)[2], 0);
    }

    #[test]
    fn roulette_weights_follow_fitness_minus_the_worst() {
        // Weights 0 + 0.02, 1 + 0.02, 2 + 0.02 (spread 2, floor 2/100).
        let counts = histogram(Selection::Roulette, &[-1.0, 0.0, 1.0]);
        let expected = [0.02 / 3.06, 1.02 / 3.06, 2.02 / 3.06];
        for (c, e) in counts.iter().zip(expected) {
            assert!((*c as f64 / 20_000.0 - e).abs() < 0.015, "{counts:?}");
        }
    }

    #[test]
    fn all_worst_falls_back_to_uniform() {
        let counts = histogram(Selection::Roulette, &[f64::NEG_INFINITY; 4]);
        assert!(counts.iter().all(|&c| c > 4_000), "{counts:?}");
    }
}
