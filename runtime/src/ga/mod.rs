//! The evolution engine: genomes of integer strategy parameters, one trait per operator
//! kind (selection, crossover, mutation) with the random stream passed in, elitism, a
//! fitness expression over backtest metrics, a hall of fame, a per-island genome cache, and
//! islands that exchange migrants through a store at synchronous epoch ends.

mod checkpoint;
mod config;
mod crossover;
mod error;
mod evaluate;
pub mod exact;
mod fitness;
mod folds;
mod genome;
mod hall;
mod island;
mod mutation;
mod outcome;
mod prelude;
mod range;
mod run;
mod selection;
mod space;
mod stats;
mod written;

pub use checkpoint::{
    checkpoint_key, interrupted_key, islands_finished, latest_key, segment_key, unfinished_islands,
    Checkpoint, Latest, PRUNE_EVERY, SEGMENT,
};
pub use config::{ConfigError, JobConfig, Migration};
pub use crossover::{Cross, Crossover};
pub use error::RunError;
pub use evaluate::Evaluator;
pub use fitness::{judge, Aggregate, Bound, Constraint, Fitness, Metric, Op, MAX_CONSTRAINTS};
pub use folds::{Asset, Fold, Window};
pub use genome::MAX_GENES;
pub use hall::{HallOfFame, Scored};
pub use island::Island;
pub use mutation::{Mutate, Mutation};
pub use outcome::{
    gather, gather_so_far, AssetResult, Champion, FoldOutcome, Outcome, Stitched, Timing, WindowResult,
};
pub use prelude::prelude_program;
pub use prelude::program_of;
pub use run::{
    data_key, folds_of, load_data, load_job, prepare, run_islands, run_islands_as_threads,
    run_islands_steered, Event, Loaded, Patience, Steer, Steering, JOB_KEY,
};
pub use selection::{Scores, Select, Selection};
pub use space::{Genome, Range, Space, SpaceError};
pub use stats::GenerationStats;
pub use written::{gene_json, Called, Candidate, Chosen, Written, GRID};

#[cfg(test)]
mod tests;
