//! One island's population and how it moves from one generation to the next.

use super::config::JobConfig;
use super::crossover::Cross;
use super::evaluate::Evaluator;
use super::hall::{best, best_first, HallOfFame, Scored};
use super::mutation::Mutate;
use super::selection::{Scores, Select};
use super::space::{Genome, Range};
use super::stats::GenerationStats;
use crate::rng::stream;
use rand::Rng;

/// An island between generations: its scored population, its hall of fame and the
/// statistics of every generation so far.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Island {
    pub index: u64,
    /// The last generation scored (0 is the random initial one).
    pub generation: u64,
    pub population: Vec<Scored>,
    pub hall: HallOfFame,
    pub history: Vec<GenerationStats>,
}

impl Island {
    /// Generation 0: `population` genomes drawn uniformly in their ranges, scored.
    pub fn initial(config: &JobConfig, index: u64, evaluator: &mut Evaluator<'_>) -> Island {
        let ranges = config.space.ranges();
        let genomes: Vec<Genome> = (0..config.population)
            .map(|i| {
                let mut rng = stream(config.seed, index, 0, i);
                ranges.iter().map(|r| rng.random_range(r.lo..=r.hi)).collect()
            })
            .collect();
        let mut island = Island {
            index,
            generation: 0,
            population: Vec::new(),
            hall: HallOfFame::new(usize::try_from(config.hall_of_fame).unwrap_or(usize::MAX)),
            history: Vec::new(),
        };
        island.settle(genomes, evaluator);
        island
    }

    /// Breeds and scores the next generation.
    pub fn step(&mut self, config: &JobConfig, evaluator: &mut Evaluator<'_>) {
        let generation = self.generation + 1;
        let ranges: Vec<Range> = config.space.ranges();
        let n = self.population.len();
        let scores = Scores::for_selection(
            self.population.iter().map(|s| s.fitness).collect(),
            Some(config.selection),
        );
        let elite = usize::try_from(config.elitism).unwrap_or(n).min(n);
        let mut next: Vec<Genome> = Vec::with_capacity(n);
        next.extend(best(&self.population, elite).into_iter().map(|s| s.genome));
        // Children come in pairs; pair `i` draws from stream (seed, island, generation, i).
        let mut pair = elite as u64;
        while next.len() < n {
            let mut rng = stream(config.seed, self.index, generation, pair);
            let genome = |i: usize| self.population.get(i).map_or(&[][..], |s| &s.genome[..]);
            let (a, b) =
                (config.selection.select(&scores, &mut rng), config.selection.select(&scores, &mut rng));
            let (mut x, mut y) = config.crossover.cross(genome(a), genome(b), &ranges, &mut rng);
            config.mutation.mutate(&mut x, &ranges, &mut rng);
            config.mutation.mutate(&mut y, &ranges, &mut rng);
            next.push(x);
            if next.len() < n {
                next.push(y);
            }
            pair += 2;
        }
        self.generation = generation;
        self.settle(next, evaluator);
    }

    fn settle(&mut self, genomes: Vec<Genome>, evaluator: &mut Evaluator<'_>) {
        let scoring = evaluator.score(&genomes);
        self.population = genomes
            .into_iter()
            .zip(scoring.fitness)
            .map(|(genome, fitness)| Scored { genome, fitness })
            .collect();
        self.hall.offer(&self.population);
        self.history.push(GenerationStats::of(
            self.generation,
            &self.population,
            scoring.evaluations,
            scoring.broken,
        ));
    }

    /// Puts `migrants` in place of the worst individuals (the last ones among equals).
    pub fn receive(&mut self, migrants: &[Scored], evaluator: &mut Evaluator<'_>) {
        let mut order: Vec<usize> = (0..self.population.len()).collect();
        order.sort_by(|&a, &b| {
            let (x, y) = (&self.population[a], &self.population[b]);
            best_first(y, x).then(b.cmp(&a))
        });
        for (slot, migrant) in order.into_iter().zip(migrants) {
            evaluator.remember(&migrant.genome, migrant.fitness);
            if let Some(s) = self.population.get_mut(slot) {
                *s = migrant.clone();
            }
        }
        self.hall.offer(migrants);
    }
}
