//! `job NAME`: a GA run, with its strategy, fitness and operators fully typed.

use super::{keyword_enum, ComputeId};
use crate::source::Span;
use serde::Serialize;

/// `job NAME`.
#[derive(Clone, Debug, Serialize)]
pub struct Job {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub compute: ComputeId,
    /// Index into the compute's `workers`.
    pub workers: usize,
    /// The data files, relative to the `.gaf` file: as written, or what a pattern matched
    /// (sorted). At least one.
    pub data: Vec<String>,
    /// Where each file is named (a pattern's span for every file it matched).
    #[serde(skip)]
    pub data_spans: Vec<Span>,
    /// How the fitness on each file makes the fitness.
    pub aggregate: Aggregate,
    pub validation: Validation,
    /// The folds the validation cuts the data into (1 unless walk-forward; 1 too when the
    /// host could not read the data).
    pub folds: u64,
    /// The strategy the GA evolves, the file's or the prelude's, its genes as the job
    /// narrows them.
    pub strategy: Box<super::StrategyDef>,
    pub fitness: Fitness,
    pub constraints: Vec<Constraint>,
    pub population: u64,
    pub generations: u64,
    pub selection: Selection,
    pub crossover: Crossover,
    pub mutation: Mutation,
    /// < `population`.
    pub elitism: u64,
    /// `None`: the plan chooses (the worker count).
    pub islands: Option<u64>,
    pub migration: Migration,
    pub seed: u64,
    /// Starting cash, US dollars.
    pub cash: f64,
    /// Per side, as a fraction.
    pub commission: f64,
    pub max_runtime_secs: Option<f64>,
}

keyword_enum!(/// How a job's fitness on each data file makes its fitness.
    Aggregate, "aggregation" { Mean = "mean", Median = "median", Min = "min" });

/// What a job trains on and what it holds out.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Validation {
    InSample,
    /// The last fraction of each file's bars (in (0, 1)).
    HoldoutFraction(f64),
    /// Each file's bars from this date on (`YYYY-MM-DD`, checked), as written.
    HoldoutFrom(String),
    WalkForward {
        train: WindowLength,
        test: WindowLength,
        step: WindowLength,
        anchored: bool,
    },
}

/// A walk-forward window's length.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum WindowLength {
    Bars(u64),
    Seconds(f64),
    /// Calendar months (`6mo`, `2y`): back from a bar's date to the same day of an earlier
    /// month (the month's last day when it has no such day).
    Months(u32),
}

/// An inclusive integer range a strategy parameter is searched in; `lo <= hi`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct ParamRange {
    pub lo: i64,
    pub hi: i64,
}

/// Bars a strategy needs from its first decision on for one closed trade: the entry signal
/// at a bar's close, its fill at the next open, the exit signal at that bar's close at the
/// earliest, and the exit's fill at the open after (BACKTEST.md's order conventions).
pub const BARS_FOR_A_TRADE: i64 = 3;

/// The most genes a job evolves: the runtime's genome holds them inline
/// (`gaform_runtime::ga::MAX_GENES`; a test keeps the two equal).
pub const MAX_GENES: usize = 8;

keyword_enum!(/// A backtest metric a fitness expression can use.
Metric, "metric" {
    Sharpe = "sharpe",
    Sortino = "sortino",
    TotalReturn = "total_return",
    MaxDrawdown = "max_drawdown",
    WinRate = "win_rate",
    ProfitFactor = "profit_factor",
    Trades = "trades",
    Calmar = "calmar",
    FinalEquity = "final_equity",
    AnnualReturn = "annual_return",
    AnnualVolatility = "annual_volatility",
});

/// Arithmetic in a fitness expression.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// A fitness expression over metrics; the runtime evaluates it per backtest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Fitness {
    Metric(Metric),
    Const(f64),
    Neg(Box<Fitness>),
    Binary(ArithOp, Box<Fitness>, Box<Fitness>),
    /// `abs(x)`.
    Abs(Box<Fitness>),
    /// `min(a, b, ...)`, at least two.
    Min(Vec<Fitness>),
    /// `max(a, b, ...)`, at least two.
    Max(Vec<Fitness>),
}

/// `constraints = [trades >= 20, max_drawdown < 25%]`: what a genome's backtest must meet;
/// one that breaks any scores below every one that does not.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Constraint {
    pub left: Fitness,
    pub op: Bound,
    pub right: Fitness,
}

/// How a constraint's sides compare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Bound {
    Lt,
    Le,
    Gt,
    Ge,
}

/// Parent selection.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Selection {
    Tournament { size: u64 },
    Roulette,
    Rank,
}

/// Recombination of two parents; `rate` in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Crossover {
    Uniform { rate: f64 },
    OnePoint { rate: f64 },
    Blend { alpha: f64, rate: f64 },
}

/// Mutation; `sigma` is a fraction of each parameter's range, `rate` in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub enum Mutation {
    Gaussian { sigma: f64, rate: f64 },
    Reset { rate: f64 },
}

/// Ring migration between islands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Migration {
    /// Generations between migrations, >= 1.
    pub every: u64,
    /// Migrants per island.
    pub count: u64,
}
