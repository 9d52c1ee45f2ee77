//! A strategy written in a `.gaf` file, as the runtime runs it (STRATEGIES.md): genes,
//! rules over price series and indicators, and risk (stops, targets, a trailing stop, size,
//! shorts). The compiler checks and types a strategy; the binary turns its IR into a
//! `Program` (the runtime knows no `.gaf`). A genome gives each gene a value; `series`
//! binds a program to a genome and computes each indicator once per data set, whatever
//! number of genomes share it; `signals` evaluates the rules into the orders the
//! backtester (`backtest::orders`) places, bar by bar, as backtesting.py places them.

pub mod bits;
pub mod series;
pub mod signals;

use serde::{Deserialize, Serialize};
use std::fmt;

/// A checked strategy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Program {
    pub name: String,
    pub genes: Vec<Gene>,
    /// `where`: a condition over genes alone.
    pub constraint: Option<Expr>,
    pub side: Side,
    pub entry: Option<Expr>,
    pub exit: Option<Expr>,
    pub entry_short: Option<Expr>,
    pub exit_short: Option<Expr>,
    pub stop_loss: Option<Distance>,
    pub take_profit: Option<Distance>,
    pub trailing_stop: Option<Distance>,
    /// A fraction of equity in (0, 1]; 1 is backtesting.py's default order size.
    pub size: Expr,
}

/// A gene and the values it may take.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Gene {
    pub name: String,
    pub domain: Domain,
}

/// The values of a gene.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Domain {
    /// `lo..hi`, every `step`-th value from `lo`.
    Int { lo: i64, hi: i64, step: i64 },
    /// `lo..hi`, continuous, or on a grid from `lo` by `step`.
    Float { lo: f64, hi: f64, step: Option<f64> },
    /// One of the values; a genome holds the index of its choice.
    Choice(Vec<Choice>),
}

/// One value of a choice gene.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Choice {
    /// An indicator of the library, by name.
    Indicator(String),
    Number(f64),
    /// A fraction, written as a percent (`2%` is 0.02).
    Percent(f64),
    Word(String),
}

/// Which positions a strategy takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    Long,
    Short,
    Both,
}

/// A stop, target or trailing distance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Distance {
    /// A fraction of the deciding bar's close, fixed per genome.
    Fraction(Expr),
    /// A price distance, a number or a series.
    Price(Expr),
}

/// A price series of the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Price {
    Open,
    High,
    Low,
    Close,
    Volume,
}

/// Which indicator a call computes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Callee {
    Fixed(String),
    /// The indicator a choice gene picks.
    Gene(usize),
}

/// Elementwise arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

/// A comparison: false wherever either side is undefined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Compare {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Compare {
    /// The operator with its sides swapped: `x OP y` is `y OP.flipped() x`.
    pub fn flipped(self) -> Compare {
        match self {
            Compare::Lt => Compare::Gt,
            Compare::Le => Compare::Ge,
            Compare::Gt => Compare::Lt,
            Compare::Ge => Compare::Le,
            Compare::Eq => Compare::Eq,
            Compare::Ne => Compare::Ne,
        }
    }

    /// `x OP y`; false when either is undefined (NaN), as Python's comparisons are.
    #[inline(always)]
    pub fn test(self, x: f64, y: f64) -> bool {
        match self {
            Compare::Lt => x < y,
            Compare::Le => x <= y,
            Compare::Gt => x > y,
            Compare::Ge => x >= y,
            Compare::Eq => x == y,
            Compare::Ne => x != y,
        }
    }
}

impl Arith {
    /// `x OP y`.
    #[inline(always)]
    pub fn apply(self, x: f64, y: f64) -> f64 {
        match self {
            Arith::Add => x + y,
            Arith::Sub => x - y,
            Arith::Mul => x * y,
            Arith::Div => x / y,
        }
    }
}

/// A typed expression: a number or series (`Price` … `Arith`), or a condition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    Price(Price),
    Const(f64),
    Gene(usize),
    Indicator { callee: Callee, args: Vec<Expr>, output: usize },
    Lag(Box<Expr>, Box<Expr>),
    Neg(Box<Expr>),
    Arith(Arith, Box<Expr>, Box<Expr>),
    Compare(Compare, Box<Expr>, Box<Expr>),
    CrossesAbove(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Bool(bool),
}

/// A value for every gene of a program, in its order: an int or float gene's value, a
/// choice gene's index.
pub type Genome = Vec<f64>;

/// What is wrong with a genome for a program.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenomeError {
    #[error("`{0}` expects {1} gene value(s), got {2}")]
    Length(String, usize, usize),
    #[error("gene `{gene}` = {value} is not one of its values ({domain})")]
    OutOfDomain { gene: String, value: String, domain: String },
}

impl Program {
    /// Checks that `genome` gives each gene one of its values.
    pub fn check(&self, genome: &[f64]) -> Result<(), GenomeError> {
        if genome.len() != self.genes.len() {
            return Err(GenomeError::Length(self.name.clone(), self.genes.len(), genome.len()));
        }
        for (gene, &value) in self.genes.iter().zip(genome) {
            if !gene.domain.holds(value) {
                return Err(GenomeError::OutOfDomain {
                    gene: gene.name.clone(),
                    value: format!("{value}"),
                    domain: gene.domain.to_string(),
                });
            }
        }
        Ok(())
    }

    /// The genome as a call: `ema_rsi(fast = 10, level = 70.5, ma = ema, stop = 2%)`.
    pub fn show(&self, genome: &[f64]) -> String {
        let genes: Vec<String> = self
            .genes
            .iter()
            .zip(genome)
            .map(|(gene, &value)| format!("{} = {}", gene.name, gene.domain.show(value)))
            .collect();
        format!("{}({})", self.name, genes.join(", "))
    }
}

impl Domain {
    /// Whether `value` is one of the domain's (a choice's index for a choice).
    pub fn holds(&self, value: f64) -> bool {
        match *self {
            Domain::Int { lo, hi, step } => {
                value.fract() == 0.0
                    && value >= lo as f64
                    && value <= hi as f64
                    && (value as i64 - lo) % step.max(1) == 0
            }
            Domain::Float { lo, hi, step } => {
                value >= lo
                    && value <= hi
                    && step.is_none_or(|s| {
                        let k = ((value - lo) / s).round();
                        (lo + k * s - value).abs() <= 1e-9 * s
                    })
            }
            Domain::Choice(ref choices) => {
                value.fract() == 0.0 && value >= 0.0 && (value as usize) < choices.len()
            }
        }
    }

    /// A gene value as written in a call (`10`, `70.5`, `ema`, `2%`).
    pub fn show(&self, value: f64) -> String {
        match self {
            Domain::Int { .. } => format!("{}", value as i64),
            Domain::Float { .. } => format!("{value:?}"),
            Domain::Choice(choices) => match choices.get(value as usize) {
                Some(Choice::Indicator(name) | Choice::Word(name)) => name.clone(),
                Some(Choice::Number(v)) => format!("{v}"),
                Some(Choice::Percent(v)) => format!("{}%", v * 100.0),
                None => format!("{value}"),
            },
        }
    }
}

impl fmt::Display for Domain {
    /// As declared: `5..50`, `0.5..2.0 step 0.1`, `[sma, ema]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Domain::Int { lo, hi, step: 1 } => write!(f, "{lo}..{hi}"),
            Domain::Int { lo, hi, step } => write!(f, "{lo}..{hi} step {step}"),
            Domain::Float { lo, hi, step: None } => write!(f, "{lo:?}..{hi:?}"),
            Domain::Float { lo, hi, step: Some(s) } => write!(f, "{lo:?}..{hi:?} step {s:?}"),
            Domain::Choice(choices) => {
                let shown: Vec<String> = (0..choices.len()).map(|i| self.show(i as f64)).collect();
                write!(f, "[{}]", shown.join(", "))
            }
        }
    }
}
