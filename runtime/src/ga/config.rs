//! Everything a run needs besides its data: the one document a coordinator hands to every
//! island (serialised as `job.json` in the run's store).

use super::crossover::Crossover;
use super::fitness::{Aggregate, Fitness};
use super::mutation::Mutation;
use super::selection::Selection;
use super::space::{Space, SpaceError};
use crate::backtest::Costs;
use crate::windows::Validation;
use serde::{Deserialize, Serialize};

/// A GA run, fully specified.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobConfig {
    /// For results and messages.
    pub name: String,
    /// The data files' names (one or more assets): each one's key in the store is
    /// `data/NAME`.
    pub data: Vec<String>,
    /// How the fitness of one genome on each file makes its fitness.
    #[serde(default)]
    pub aggregate: Aggregate,
    /// What is trained on and what is held out.
    #[serde(default)]
    pub validation: Validation,
    /// Walk-forward folds the data holds (1 otherwise): each runs `islands` islands of its
    /// own, so the job's units of work are `islands × folds` (`units`).
    #[serde(default = "one")]
    pub folds: u64,
    pub space: Space,
    pub fitness: Fitness,
    /// What a genome's backtest must meet (`trades >= 20`); on every file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub constraints: Vec<super::fitness::Constraint>,
    /// Individuals per island.
    pub population: u64,
    /// Generations bred after the initial (random) one.
    pub generations: u64,
    pub selection: Selection,
    pub crossover: Crossover,
    pub mutation: Mutation,
    /// The best `elitism` of each generation pass unchanged into the next.
    pub elitism: u64,
    pub islands: u64,
    pub migration: Migration,
    pub seed: u64,
    pub costs: Costs,
    /// Distinct best genomes kept across the run.
    pub hall_of_fame: u64,
}

/// Ring migration: after every `every` generations, island `k` receives the best `count`
/// of island `k - 1` (island 0 those of the last island), in place of its worst `count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migration {
    pub every: u64,
    pub count: u64,
}

/// A configuration that cannot run, named by the field at fault.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Space(#[from] SpaceError),
    #[error("`{field}` must be {rule}, found {found}")]
    Field { field: &'static str, rule: &'static str, found: String },
}

fn one() -> u64 {
    1
}

impl JobConfig {
    /// The job's units of work, each an island of one fold: `islands × folds`. Unit `u` is
    /// island `u % islands` of fold `u / islands`.
    pub fn units(&self) -> u64 {
        self.islands.saturating_mul(self.folds)
    }

    /// Checks every bound the engine relies on (the compiler checks them too, with spans;
    /// this guards configurations that arrive from elsewhere, such as a store).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.space.validate()?;
        let rule = |ok: bool, field, rule, found: String| {
            if ok {
                Ok(())
            } else {
                Err(ConfigError::Field { field, rule, found })
            }
        };
        let rate = |r: f64| (0.0..=1.0).contains(&r);
        rule(self.population >= 2, "population", "at least 2", self.population.to_string())?;
        rule(self.generations >= 1, "generations", "at least 1", self.generations.to_string())?;
        rule(self.elitism < self.population, "elitism", "below the population", self.elitism.to_string())?;
        rule(self.islands >= 1, "islands", "at least 1", self.islands.to_string())?;
        rule(self.folds >= 1, "folds", "at least 1", self.folds.to_string())?;
        rule(!self.data.is_empty(), "data", "at least one file", "none".into())?;
        rule(self.migration.every >= 1, "migration.every", "at least 1", self.migration.every.to_string())?;
        rule(
            self.migration.count <= self.population,
            "migration.count",
            "at most the population",
            self.migration.count.to_string(),
        )?;
        rule(self.hall_of_fame >= 1, "hall_of_fame", "at least 1", self.hall_of_fame.to_string())?;
        if let Selection::Tournament { size } = self.selection {
            rule(size >= 1, "selection.size", "at least 1", size.to_string())?;
        }
        let (crossover_rate, alpha) = match self.crossover {
            Crossover::Uniform { rate } | Crossover::OnePoint { rate } => (rate, 0.0),
            Crossover::Blend { alpha, rate } => (rate, alpha),
        };
        rule(rate(crossover_rate), "crossover.rate", "in [0, 1]", crossover_rate.to_string())?;
        rule(alpha >= 0.0, "crossover.alpha", "at least 0", alpha.to_string())?;
        let mutation_rate = match self.mutation {
            Mutation::Gaussian { sigma, rate } => {
                rule(sigma > 0.0 && sigma.is_finite(), "mutation.sigma", "above 0", sigma.to_string())?;
                rate
            }
            Mutation::Reset { rate } => rate,
        };
        rule(rate(mutation_rate), "mutation.rate", "in [0, 1]", mutation_rate.to_string())?;
        let costs = self.costs;
        rule(costs.cash > 0.0, "cash", "above 0", costs.cash.to_string())?;
        rule((0.0..1.0).contains(&costs.commission), "commission", "in [0, 1)", costs.commission.to_string())
    }

    /// The generations after which islands exchange migrants and write checkpoints, the
    /// last one being the end of the run.
    pub fn epoch_ends(&self) -> Vec<u64> {
        let every = self.migration.every.max(1);
        let mut ends: Vec<u64> = (1..).map(|k| k * every).take_while(|&g| g < self.generations).collect();
        ends.push(self.generations);
        ends
    }
}
