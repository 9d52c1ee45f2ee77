//! The one place the language's IR meets the runtime's types: the compiler and the runtime
//! know nothing of each other. Adding a strategy forces these matches to be updated.

use gaform_compiler::ir;
use gaform_runtime::backtest::Costs;
use gaform_runtime::ga::{
    Aggregate, Bound, Constraint, Crossover, Fitness, JobConfig, Metric, Migration, Mutation, Op, Selection,
    Space,
};
use gaform_runtime::strategy::Strategy;
use gaform_runtime::windows::{Cut, Length, Validation, WalkForward};
use std::path::Path;

/// The built-in strategy with every gene fixed (`fast = 10`, not `fast = 2..50`), for a
/// single backtest; the name of the first gene that is still a range if not.
pub fn fixed_strategy(strategy: &ir::StrategyDef) -> Result<Strategy, String> {
    let mut genome = Vec::new();
    for gene in &strategy.genes {
        match gene.domain {
            ir::Domain::Int { lo, hi, .. } if lo == hi => genome.push(lo),
            ir::Domain::Int { lo, hi, .. } => {
                return Err(format!("`{}` is a range ({lo}..{hi}): a backtest needs one value", gene.name))
            }
            _ => break,
        }
    }
    let space = Space::of(crate::program::program(strategy));
    match (&space, space.decode(&genome)) {
        (Space::Written(_), _) | (_, None) => Err(format!(
            "`{}` is written in a file: backtest it with `--file FILE --strategy '{}(gene = value, ...)'`",
            strategy.name, strategy.name
        )),
        (_, Some(s)) => Ok(s),
    }
}

/// Hall of fame size: the distinct best genomes a run reports.
const HALL_OF_FAME: u64 = 10;

/// The islands a job runs: its own `islands`, or else the worker count the plan chooses
/// for its group.
pub fn planned_islands(program: &ir::Program, job: &ir::Job) -> u64 {
    job.islands.unwrap_or_else(|| {
        let (counts, _) = gaform_compiler::plan::count::choose(program);
        counts.get(job.compute.0).and_then(|c| c.get(job.workers)).map_or(1, |c| c.value.max(1))
    })
}

/// The runtime's configuration for `job`, with `islands` islands (the job's own, or the
/// worker count the plan chose when the job leaves it open).
pub fn job_config(job: &ir::Job, islands: u64) -> JobConfig {
    let space = Space::of(crate::program::program(&job.strategy));
    JobConfig {
        name: job.name.clone(),
        data: data_names(&job.data),
        aggregate: match job.aggregate {
            ir::Aggregate::Mean => Aggregate::Mean,
            ir::Aggregate::Median => Aggregate::Median,
            ir::Aggregate::Min => Aggregate::Min,
        },
        validation: validation(&job.validation),
        folds: job.folds,
        space,
        fitness: fitness(&job.fitness),
        constraints: job.constraints.iter().map(constraint).collect(),
        population: job.population,
        generations: job.generations,
        selection: match job.selection {
            ir::Selection::Tournament { size } => Selection::Tournament { size },
            ir::Selection::Roulette => Selection::Roulette,
            ir::Selection::Rank => Selection::Rank,
        },
        crossover: match job.crossover {
            ir::Crossover::Uniform { rate } => Crossover::Uniform { rate },
            ir::Crossover::OnePoint { rate } => Crossover::OnePoint { rate },
            ir::Crossover::Blend { alpha, rate } => Crossover::Blend { alpha, rate },
        },
        mutation: match job.mutation {
            ir::Mutation::Gaussian { sigma, rate } => Mutation::Gaussian { sigma, rate },
            ir::Mutation::Reset { rate } => Mutation::Reset { rate },
        },
        elitism: job.elitism,
        islands,
        migration: Migration { every: job.migration.every, count: job.migration.count },
        seed: job.seed,
        costs: Costs { cash: job.cash, commission: job.commission },
        hall_of_fame: HALL_OF_FAME,
    }
}

fn fitness(expr: &ir::Fitness) -> Fitness {
    match expr {
        ir::Fitness::Metric(m) => Fitness::Metric(match m {
            ir::Metric::Sharpe => Metric::Sharpe,
            ir::Metric::Sortino => Metric::Sortino,
            ir::Metric::TotalReturn => Metric::TotalReturn,
            ir::Metric::MaxDrawdown => Metric::MaxDrawdown,
            ir::Metric::WinRate => Metric::WinRate,
            ir::Metric::ProfitFactor => Metric::ProfitFactor,
            ir::Metric::Trades => Metric::Trades,
            ir::Metric::Calmar => Metric::Calmar,
            ir::Metric::FinalEquity => Metric::FinalEquity,
            ir::Metric::AnnualReturn => Metric::AnnualReturn,
            ir::Metric::AnnualVolatility => Metric::AnnualVolatility,
        }),
        ir::Fitness::Const(c) => Fitness::Const(*c),
        ir::Fitness::Neg(e) => Fitness::Neg(Box::new(fitness(e))),
        ir::Fitness::Binary(op, a, b) => {
            let op = match op {
                ir::ArithOp::Add => Op::Add,
                ir::ArithOp::Sub => Op::Sub,
                ir::ArithOp::Mul => Op::Mul,
                ir::ArithOp::Div => Op::Div,
            };
            Fitness::Binary(op, Box::new(fitness(a)), Box::new(fitness(b)))
        }
        ir::Fitness::Abs(e) => Fitness::Abs(Box::new(fitness(e))),
        ir::Fitness::Min(args) => Fitness::Min(args.iter().map(fitness).collect()),
        ir::Fitness::Max(args) => Fitness::Max(args.iter().map(fitness).collect()),
    }
}

fn constraint(c: &ir::Constraint) -> Constraint {
    Constraint {
        left: fitness(&c.left),
        op: match c.op {
            ir::Bound::Lt => Bound::Lt,
            ir::Bound::Le => Bound::Le,
            ir::Bound::Gt => Bound::Gt,
            ir::Bound::Ge => Bound::Ge,
        },
        right: fitness(&c.right),
        text: gaform_compiler::plan::describe::constraint(c),
    }
}

/// The names a job's files go by in its store and results: their file names, or the paths
/// as written where two files share a name.
pub fn data_names(paths: &[String]) -> Vec<String> {
    let base =
        |p: &String| Path::new(p).file_name().map_or_else(|| p.clone(), |n| n.to_string_lossy().into_owned());
    let bases: Vec<String> = paths.iter().map(base).collect();
    let shared = |name: &String| bases.iter().filter(|b| *b == name).count() > 1;
    paths.iter().zip(&bases).map(|(p, b)| if shared(b) { p.clone() } else { b.clone() }).collect()
}

/// One data file of a job, read: its name in the job, its text and its path (for messages).
pub struct DataText {
    pub name: String,
    pub csv: String,
    pub path: String,
}

/// Reads a job's data files, relative to `base` (the `.gaf` file's directory).
pub fn read_data(base: &Path, job: &ir::Job) -> Result<Vec<DataText>, String> {
    job.data
        .iter()
        .zip(data_names(&job.data))
        .map(|(written, name)| {
            let path = base.join(written);
            let csv =
                std::fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            Ok(DataText { name, csv, path: path.display().to_string() })
        })
        .collect()
}

/// `ga::prepare`'s view of read files.
pub fn prepared(files: &[DataText]) -> Vec<(&str, &str, &str)> {
    files.iter().map(|f| (f.name.as_str(), f.csv.as_str(), f.path.as_str())).collect()
}

/// The runtime's validation for the language's (dates as the data files' naive seconds;
/// the compiler checked the date's shape, so a failure here cannot happen and reads as
/// nothing held out from before the data).
pub fn validation(v: &ir::Validation) -> Validation {
    let length = |l: ir::WindowLength| match l {
        ir::WindowLength::Bars(b) => Length::Bars(b),
        ir::WindowLength::Seconds(s) => Length::Seconds(s as i64),
        ir::WindowLength::Months(m) => Length::Months(m),
    };
    match v {
        ir::Validation::InSample => Validation::InSample,
        ir::Validation::HoldoutFraction(f) => Validation::Holdout(Cut::Fraction(*f)),
        ir::Validation::HoldoutFrom(date) => {
            Validation::Holdout(Cut::From(gaform_runtime::data::parse_timestamp(date).unwrap_or(i64::MIN)))
        }
        ir::Validation::WalkForward { train, test, step, anchored } => Validation::WalkForward(WalkForward {
            train: length(*train),
            test: length(*test),
            step: length(*step),
            anchored: *anchored,
        }),
    }
}
