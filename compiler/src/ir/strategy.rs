//! `strategy NAME`: a strategy written in the file (STRATEGIES.md), typed. Its genes are
//! what the GA tunes; its rules are trees over price series, indicators and genes, every
//! node already known to be of the right type, so an evaluator only computes.

use super::keyword_enum;
use crate::source::Span;
use serde::Serialize;

/// `strategy NAME { ... }`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StrategyDef {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    /// In declaration order; `Node::Gene` indexes this.
    pub genes: Vec<Gene>,
    /// `where`: a condition over genes alone.
    pub constraint: Option<Node>,
    pub side: Side,
    /// Boolean series; `entry`/`exit` set where the side is long or both, the short pair
    /// where it is short or both (`exit`s optional: stops and the data's end close too).
    pub entry: Option<Node>,
    pub exit: Option<Node>,
    pub entry_short: Option<Node>,
    pub exit_short: Option<Node>,
    pub stop_loss: Option<Distance>,
    pub take_profit: Option<Distance>,
    pub trailing_stop: Option<Distance>,
    /// A fraction of equity in (0, 1]; 1 is backtesting.py's default (all cash, whole units).
    pub size: Node,
    /// One of the prelude's (a built-in: `sma_crossover`, ...), not the file's; a plan
    /// shows it as the call that made it.
    #[serde(skip)]
    pub prelude: bool,
}

impl StrategyDef {
    /// A strategy with no genes and no rules (it never trades): what a job with a broken
    /// `strategy` holds, for the checks after it.
    pub fn empty(name: &str) -> StrategyDef {
        StrategyDef {
            name: name.to_string(),
            span: Span::default(),
            genes: Vec::new(),
            constraint: None,
            side: Side::Long,
            entry: None,
            exit: None,
            entry_short: None,
            exit_short: None,
            stop_loss: None,
            take_profit: None,
            trailing_stop: None,
            size: Node::Const(1.0),
            prelude: false,
        }
    }
}

/// A gene: a name and the values the GA may give it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Gene {
    pub name: String,
    #[serde(skip)]
    pub span: Span,
    pub domain: Domain,
}

/// The values a gene may take.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Domain {
    /// `lo..hi` (inclusive), every `step`-th value from `lo` (1 unless written).
    Int { lo: i64, hi: i64, step: i64 },
    /// `lo..hi` continuous, or on a grid from `lo` when `step` is written.
    Float { lo: f64, hi: f64, step: Option<f64> },
    /// One of the listed values, all of one kind.
    Choice(Vec<Choice>),
}

/// One value of a choice gene.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Choice {
    /// An indicator of the library (`sma`), called like one.
    Indicator(&'static str),
    Int(i64),
    Float(f64),
    /// As a fraction: `2%` is 0.02.
    Percent(f64),
    Word(String),
}

keyword_enum!(/// Which positions a strategy takes.
    Side, "side" { Long = "long", Short = "short", Both = "both" });

/// A stop, target or trailing distance.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Distance {
    /// A fraction of the signal bar's close (`2%`, a percent gene): a constant or per genome.
    Fraction(Node),
    /// A price distance (`2 * atr(14)`): a number or a series.
    Price(Node),
}

/// A price series of the data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Price {
    Open,
    High,
    Low,
    Close,
    Volume,
}

impl Price {
    /// The series written `word`.
    pub fn from_word(word: &str) -> Option<Price> {
        Some(match word {
            "open" => Price::Open,
            "high" => Price::High,
            "low" => Price::Low,
            "close" => Price::Close,
            "volume" => Price::Volume,
            _ => return None,
        })
    }
}

/// Which indicator a call computes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Callee {
    /// An indicator of the library, by name.
    Fixed(&'static str),
    /// The indicator a choice gene picks (every choice takes the same parameters).
    Gene(usize),
}

/// Arithmetic, elementwise over series.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

/// A comparison; any comparison with an undefined value (NaN) is false.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Compare {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

/// A typed expression: a number or series (`Price` … `Arith`) or a condition (the rest).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub enum Node {
    Price(Price),
    Const(f64),
    /// A gene's value (a percent gene as its fraction).
    Gene(usize),
    /// An indicator's series: its arguments in parameter order, and which output (0 for
    /// an indicator with one).
    Indicator {
        callee: Callee,
        args: Vec<Node>,
        output: usize,
    },
    /// `lag(x, n)`: `x` `n` bars earlier.
    Lag(Box<Node>, Box<Node>),
    Neg(Box<Node>),
    Arith(Arith, Box<Node>, Box<Node>),
    Compare(Compare, Box<Node>, Box<Node>),
    /// `crosses_above(a, b)`; `crosses_below(a, b)` is built as `crosses_above(b, a)`.
    CrossesAbove(Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    Bool(bool),
}
