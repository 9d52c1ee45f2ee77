//! Mutation: small random changes to a child's genes.

use super::space::Range;
use crate::rng::Prng;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

/// Changes some genes of `genome` in place, keeping each within its range.
pub trait Mutate {
    /// Each gene mutates with probability `rate`.
    fn mutate(&self, genome: &mut [i64], ranges: &[Range], rng: &mut Prng);
}

/// Mutation operators, as a job names them; `rate` in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Mutation {
    /// Adds a normal deviate with standard deviation `sigma` times the parameter's range
    /// width, rounded to the nearest integer, clamped to the range (a choice gene is drawn
    /// anew instead).
    Gaussian { sigma: f64, rate: f64 },
    /// Draws the gene anew, uniformly in its range.
    Reset { rate: f64 },
}

impl Mutate for Mutation {
    fn mutate(&self, genome: &mut [i64], ranges: &[Range], rng: &mut Prng) {
        for (gene, range) in genome.iter_mut().zip(ranges) {
            match *self {
                Mutation::Gaussian { sigma, rate } => {
                    // Both draws always happen, so a gene's stream never depends on
                    // whether the gene before it mutated.
                    let (hit, z): (f64, f64) = (rng.random(), StandardNormal.sample(rng));
                    if range.categorical {
                        // Unordered choices have no neighbours: a mutated one is drawn anew.
                        let fresh: i64 = rng.random_range(range.lo..=range.hi);
                        if hit < rate {
                            *gene = fresh;
                        }
                    } else if hit < rate {
                        let moved = *gene as f64 + z * sigma * range.width();
                        *gene = range.clamp(moved.round() as i64);
                    }
                }
                Mutation::Reset { rate } => {
                    let (hit, fresh): (f64, i64) = (rng.random(), rng.random_range(range.lo..=range.hi));
                    if hit < rate {
                        *gene = fresh;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    const RANGES: [Range; 2] =
        [Range { lo: 2, hi: 50, categorical: false }, Range { lo: 10, hi: 200, categorical: false }];

    #[test]
    fn mutated_genes_stay_in_range_and_rate_zero_changes_nothing() {
        for k in 0..500 {
            for m in [Mutation::Gaussian { sigma: 2.0, rate: 1.0 }, Mutation::Reset { rate: 1.0 }] {
                let mut g = [2, 200];
                m.mutate(&mut g, &RANGES, &mut stream(9, 0, 0, k));
                assert!((2..=50).contains(&g[0]) && (10..=200).contains(&g[1]), "{g:?}");
            }
            let mut g = [7, 70];
            Mutation::Gaussian { sigma: 0.5, rate: 0.0 }.mutate(&mut g, &RANGES, &mut stream(9, 0, 0, k));
            assert_eq!(g, [7, 70]);
        }
    }

    #[test]
    fn gaussian_steps_scale_with_sigma_times_range() {
        let mut total = 0.0;
        for k in 0..2000 {
            let mut g = [26, 105];
            Mutation::Gaussian { sigma: 0.1, rate: 1.0 }.mutate(&mut g, &RANGES, &mut stream(10, 0, 0, k));
            total += ((g[1] - 105) as f64).powi(2);
        }
        let sd = (total / 2000.0).sqrt();
        assert!((sd - 19.0).abs() < 1.5, "{sd}");
    }
}
