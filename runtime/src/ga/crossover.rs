//! Recombination: two parents give two children.

use super::space::{Genome, Range};
use crate::rng::Prng;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Makes two children from two parents (of equal length).
pub trait Cross {
    /// With probability `rate` the parents recombine; otherwise the children are copies.
    fn cross(&self, a: &[i64], b: &[i64], ranges: &[Range], rng: &mut Prng) -> (Genome, Genome);
}

/// Crossover operators, as a job names them; `rate` in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Crossover {
    /// Each gene comes from either parent with equal odds (the other child gets the other).
    Uniform { rate: f64 },
    /// The genes after a random cut point are swapped.
    OnePoint { rate: f64 },
    /// BLX-alpha: each child gene is uniform in the parents' interval widened by `alpha`
    /// times its width on both sides, rounded to the nearest integer, clamped to the range
    /// (a choice gene takes either parent's).
    Blend { alpha: f64, rate: f64 },
}

impl Crossover {
    fn rate(self) -> f64 {
        match self {
            Crossover::Uniform { rate } | Crossover::OnePoint { rate } | Crossover::Blend { rate, .. } => {
                rate
            }
        }
    }
}

impl Cross for Crossover {
    fn cross(&self, a: &[i64], b: &[i64], ranges: &[Range], rng: &mut Prng) -> (Genome, Genome) {
        let (mut x, mut y): (Genome, Genome) = (a.iter().copied().collect(), b.iter().copied().collect());
        // Drawn even when the rate is 0 or 1, so that the stream's later draws do not shift
        // with the rate.
        if rng.random::<f64>() >= self.rate() {
            return (x, y);
        }
        let n = x.len().min(y.len());
        match *self {
            Crossover::Uniform { .. } => {
                for i in 0..n {
                    if rng.random::<bool>() {
                        std::mem::swap(&mut x[i], &mut y[i]);
                    }
                }
            }
            Crossover::OnePoint { .. } => {
                if n >= 2 {
                    let cut = rng.random_range(1..n);
                    x[cut..n].swap_with_slice(&mut y[cut..n]);
                }
            }
            Crossover::Blend { alpha, .. } => {
                for (i, range) in ranges.iter().enumerate().take(n) {
                    let (lo, hi) = (a[i].min(b[i]) as f64, a[i].max(b[i]) as f64);
                    let spread = alpha * (hi - lo);
                    let (first, second) = (a[i], b[i]);
                    let mut gene = || {
                        let u = rng.random::<f64>();
                        if range.categorical {
                            // Between two choices there is nothing: one parent's, either.
                            return if u < 0.5 { first } else { second };
                        }
                        let v = lo - spread + u * (hi - lo + 2.0 * spread);
                        range.clamp(v.round() as i64)
                    };
                    x[i] = gene();
                    y[i] = gene();
                }
            }
        }
        (x, y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    const RANGES: [Range; 3] = [
        Range { lo: 0, hi: 100, categorical: false },
        Range { lo: 0, hi: 100, categorical: false },
        Range { lo: 0, hi: 100, categorical: false },
    ];

    #[test]
    fn rate_zero_copies_and_uniform_keeps_each_gene_from_a_parent() {
        let (a, b) = ([1, 2, 3], [10, 20, 30]);
        let mut rng = stream(3, 0, 0, 0);
        let copy = Crossover::Uniform { rate: 0.0 }.cross(&a, &b, &RANGES, &mut rng);
        assert_eq!((&copy.0[..], &copy.1[..]), (&a[..], &b[..]));
        for k in 0..100 {
            let (x, y) = Crossover::Uniform { rate: 1.0 }.cross(&a, &b, &RANGES, &mut stream(3, 0, 0, k));
            for i in 0..3 {
                assert!((x[i] == a[i] && y[i] == b[i]) || (x[i] == b[i] && y[i] == a[i]));
            }
        }
    }

    #[test]
    fn one_point_swaps_a_tail() {
        for k in 0..50 {
            let (x, y) = Crossover::OnePoint { rate: 1.0 }.cross(
                &[1, 2, 3],
                &[10, 20, 30],
                &RANGES,
                &mut stream(4, 0, 0, k),
            );
            assert_eq!(x[0], 1);
            assert_eq!(y[0], 10);
            assert!(x == [1, 20, 30] || x == [1, 2, 30], "{x:?}");
            assert_eq!(x.iter().zip(&y).map(|(p, q)| p + q).collect::<Vec<_>>(), [11, 22, 33]);
        }
    }

    #[test]
    fn blend_stays_in_the_widened_interval_and_the_range() {
        for k in 0..200 {
            let (x, y) = Crossover::Blend { alpha: 0.5, rate: 1.0 }.cross(
                &[10, 0, 95],
                &[20, 0, 100],
                &RANGES,
                &mut stream(5, 0, 0, k),
            );
            for g in [&x, &y] {
                assert!((5..=25).contains(&g[0]), "{g:?}");
                assert_eq!(g[1], 0);
                assert!((93..=100).contains(&g[2]), "{g:?}");
            }
        }
    }
}
