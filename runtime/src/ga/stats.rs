//! Per-generation fitness statistics, kept in a form that combines exactly across islands.

use super::exact;
use super::hall::Scored;
use serde::{Deserialize, Serialize};

/// One generation of one island (or of several, combined). Mean and spread cover finite
/// fitness only: a genome scored negative infinity (no trades under a Sharpe fitness, a
/// broken constraint) would otherwise make both meaningless.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GenerationStats {
    pub generation: u64,
    #[serde(with = "exact")]
    pub best: f64,
    /// How many fitness values were finite.
    pub finite: u64,
    #[serde(with = "exact")]
    pub mean: f64,
    /// Sum of squared deviations from the mean (Welford's M2).
    #[serde(with = "exact")]
    pub m2: f64,
    /// Genomes backtested for this generation (new to their island).
    pub evaluations: u64,
    /// Of those, how many broke each of the job's constraints (empty without any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub broken: Vec<u64>,
}

impl GenerationStats {
    /// The statistics of a scored population.
    pub fn of(generation: u64, population: &[Scored], evaluations: u64, broken: Vec<u64>) -> GenerationStats {
        let mut stats = GenerationStats {
            generation,
            best: f64::NEG_INFINITY,
            finite: 0,
            mean: 0.0,
            m2: 0.0,
            evaluations,
            broken,
        };
        for s in population {
            stats.best = stats.best.max(s.fitness);
            if s.fitness.is_finite() {
                stats.finite += 1;
                let delta = s.fitness - stats.mean;
                stats.mean += delta / stats.finite as f64;
                stats.m2 += delta * (s.fitness - stats.mean);
            }
        }
        stats
    }

    /// Both generations as one (Chan et al.'s pairwise update); combine islands in island
    /// order so the result is the same wherever they ran.
    pub fn combine(&self, other: &GenerationStats) -> GenerationStats {
        let n = self.finite + other.finite;
        let (mean, m2) = if n == 0 {
            (0.0, 0.0)
        } else {
            let (na, nb) = (self.finite as f64, other.finite as f64);
            let delta = other.mean - self.mean;
            (self.mean + delta * nb / n as f64, self.m2 + other.m2 + delta * delta * na * nb / n as f64)
        };
        GenerationStats {
            generation: self.generation,
            best: self.best.max(other.best),
            finite: n,
            mean,
            m2,
            evaluations: self.evaluations + other.evaluations,
            broken: sum(&self.broken, &other.broken),
        }
    }

    /// Population standard deviation of the finite fitness values; NaN when there are none.
    pub fn std(&self) -> f64 {
        if self.finite == 0 {
            f64::NAN
        } else {
            (self.m2 / self.finite as f64).sqrt()
        }
    }

    /// Mean of the finite fitness values; NaN when there are none.
    pub fn mean(&self) -> f64 {
        if self.finite == 0 {
            f64::NAN
        } else {
            self.mean
        }
    }
}

/// Two per-constraint counts added (the longer's length).
fn sum(a: &[u64], b: &[u64]) -> Vec<u64> {
    (0..a.len().max(b.len()))
        .map(|k| a.get(k).copied().unwrap_or(0) + b.get(k).copied().unwrap_or(0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ga::Genome;

    fn scored(values: &[f64]) -> Vec<Scored> {
        values.iter().map(|&fitness| Scored { genome: Genome::default(), fitness }).collect()
    }

    #[test]
    fn combined_islands_match_one_population() {
        let (a, b) = ([1.0, 2.0, f64::NEG_INFINITY, 4.0], [10.0, -3.0, 0.5]);
        let both: Vec<f64> = a.iter().chain(&b).copied().collect();
        let whole = GenerationStats::of(3, &scored(&both), 7, vec![2, 0]);
        let parts = GenerationStats::of(3, &scored(&a), 4, vec![1, 0]).combine(&GenerationStats::of(
            3,
            &scored(&b),
            3,
            vec![1],
        ));
        assert_eq!((parts.best, parts.finite, parts.evaluations), (10.0, 6, 7));
        assert_eq!(parts.broken, whole.broken);
        assert!((parts.mean() - whole.mean()).abs() < 1e-12);
        assert!((parts.std() - whole.std()).abs() < 1e-12);
        let finite = [1.0, 2.0, 4.0, 10.0, -3.0, 0.5];
        let mean = finite.iter().sum::<f64>() / 6.0;
        let var = finite.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 6.0;
        assert!((whole.std() - var.sqrt()).abs() < 1e-12);
    }
}
