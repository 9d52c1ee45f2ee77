//! A strategy written in the file, as the GA searches it. Each gene is coded as one integer
//! so that the GA's operators and its determinism contract hold unchanged:
//! - an int range with step 1: the value itself;
//! - an int range with a step, a float range with a step: the index of its grid point;
//! - a continuous float range: the index of one of `GRID + 1` evenly spaced points, so a
//!   gaussian mutation moves it by `sigma` times its width and a blend lands between its
//!   parents, as for ints;
//! - a choice: the choice's index. Choices are unordered: mutation draws a new one
//!   (`Range::categorical`), blending takes one parent's.
//!
//! A genome whose genes break the strategy's `where` is scored worst without a backtest,
//! as a built-in's broken constraint is.

use super::range::Range;
use crate::backtest::{self, orders, Calendar, Costs, Keep, Report};
use crate::data::Ohlcv;
use crate::rules::series::{Binder, Cond, Series};
use crate::rules::signals::signals;
use crate::rules::{Choice, Domain, Program};
use crate::strategy::Strategy;
use serde::{Deserialize, Serialize, Serializer};

/// Grid intervals of a continuous float gene.
pub const GRID: i64 = 1_000_000;

/// A written strategy's search space: its program, each gene's coding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Written {
    pub program: Program,
}

impl Written {
    /// The genes, named, with the range of their codes.
    pub fn parameters(&self) -> Vec<(&str, Range)> {
        self.program.genes.iter().map(|g| (g.name.as_str(), coding(&g.domain))).collect()
    }

    /// Checks the space can be searched: at most `MAX_GENES` genes (the count, if more).
    pub fn validate(&self) -> Result<(), usize> {
        let genes = self.program.genes.len();
        if genes > super::genome::MAX_GENES {
            return Err(genes);
        }
        Ok(())
    }

    /// The gene values `genome` codes, if they satisfy the strategy's `where`.
    pub fn decode(&self, genome: &[i64]) -> Option<Chosen> {
        if genome.len() != self.program.genes.len() {
            return None;
        }
        let mut values = Vec::with_capacity(genome.len());
        for (gene, &code) in self.program.genes.iter().zip(genome) {
            let range = coding(&gene.domain);
            if code < range.lo || code > range.hi {
                return None;
            }
            values.push(value(&gene.domain, code));
        }
        if let Some(constraint) = &self.program.constraint {
            let binder = Binder { program: &self.program, genome: &values };
            if !binder.condition(constraint).is_ok_and(|c| holds(&c)) {
                return None;
            }
        }
        Some(Chosen { values })
    }

    /// Gene `index` coded `code`, as a results cell: a number (a percent as its fraction),
    /// or a choice's word.
    pub fn cell(&self, index: usize, code: i64) -> String {
        let Some(gene) = self.program.genes.get(index) else { return code.to_string() };
        let v = value(&gene.domain, code);
        match &gene.domain {
            Domain::Choice(choices) => match choices.get(v as usize) {
                Some(Choice::Number(x) | Choice::Percent(x)) => format!("{x}"),
                Some(Choice::Indicator(w) | Choice::Word(w)) => w.clone(),
                None => code.to_string(),
            },
            _ => format!("{v}"),
        }
    }
}

/// The codes a gene's domain takes.
fn coding(domain: &Domain) -> Range {
    let (hi, categorical) = match *domain {
        Domain::Int { lo, hi, step: 1 } => return Range { lo, hi, categorical: false },
        Domain::Int { lo, hi, step } => ((hi - lo) / step.max(1), false),
        Domain::Float { lo, hi, step: Some(s) } => (((hi - lo) / s).floor() as i64, false),
        Domain::Float { step: None, lo, hi } => (if lo == hi { 0 } else { GRID }, false),
        Domain::Choice(ref choices) => (choices.len() as i64 - 1, true),
    };
    Range { lo: 0, hi: hi.max(0), categorical }
}

/// The value code `code` stands for (a choice's index for a choice).
fn value(domain: &Domain, code: i64) -> f64 {
    match *domain {
        Domain::Int { step: 1, .. } => code as f64,
        Domain::Int { lo, step, .. } => (lo + code * step) as f64,
        Domain::Float { lo, step: Some(s), .. } => lo + code as f64 * s,
        Domain::Float { lo, hi, step: None } => lo + (hi - lo) * (code as f64 / GRID as f64),
        Domain::Choice(_) => code as f64,
    }
}

/// A condition over genes alone (a bound `where`).
fn holds(cond: &Cond) -> bool {
    match cond {
        Cond::Bool(b) => *b,
        Cond::Not(a) => !holds(a),
        Cond::And(a, b) => holds(a) && holds(b),
        Cond::Or(a, b) => holds(a) || holds(b),
        Cond::Compare(op, a, b) => match (a.constant(), b.constant()) {
            (Some(x), Some(y)) => op.test(x, y),
            _ => false,
        },
        Cond::CrossesAbove(..) => false,
    }
}

/// A written strategy's genes, decoded. Nothing is rendered here: a generation decodes
/// every new genome, and only the few results show (`Candidate::show`).
#[derive(Clone, Debug, PartialEq)]
pub struct Chosen {
    /// Per gene: its value, or a choice's index (the runtime's `rules::Genome`).
    pub values: Vec<f64>,
}

/// What a genome stands for: a built-in strategy, or a written one's genes.
#[derive(Clone, Debug, PartialEq)]
pub enum Candidate {
    Builtin(Strategy),
    Written(Chosen),
}

impl Candidate {
    /// As a call (`ema_rsi(fast = 10, ma = ema)`; `program`: a written strategy's).
    pub fn show(&self, program: Option<&Program>) -> String {
        match (self, program) {
            (Candidate::Builtin(s), _) => s.to_string(),
            (Candidate::Written(c), Some(program)) => program.show(&c.values),
            (Candidate::Written(c), None) => format!("{:?}", c.values),
        }
    }

    /// Its backtest on `data` (`program`: a written strategy's, which its genes are of).
    pub fn backtest(
        &self,
        program: Option<&Program>,
        data: &Ohlcv,
        calendar: &Calendar,
        costs: Costs,
        keep: Keep,
    ) -> Report {
        let written = match (self, program) {
            (Candidate::Builtin(s), _) => return backtest::run(data, calendar, s, costs, keep),
            (Candidate::Written(c), Some(program)) => {
                signals(program, &c.values, &mut Series::new(data)).ok()
            }
            (Candidate::Written(_), None) => None,
        };
        match written {
            Some(signals) => orders::simulate(data, calendar, &signals, costs, keep).0,
            // A program that does not bind to its own genes (the checker rules it out):
            // a run that never trades.
            None => backtest::simulate(data, calendar, &crate::strategy::Signals::never(), costs, keep),
        }
    }

    /// As results write it: a built-in's `{"strategy": NAME, PARAMETER: VALUE}`, or a
    /// written strategy's name and each gene's value in order (a choice's word).
    pub fn called(&self, program: Option<&Program>) -> Called {
        match (self, program) {
            (Candidate::Builtin(s), _) => Called::Builtin(*s),
            (Candidate::Written(c), Some(program)) => Called::Written {
                name: program.name.clone(),
                genes: program
                    .genes
                    .iter()
                    .zip(&c.values)
                    .map(|(g, &v)| (g.name.clone(), gene_json(&g.domain, v)))
                    .collect(),
            },
            (Candidate::Written(c), None) => {
                Called::Written { name: format!("{:?}", c.values), genes: Vec::new() }
            }
        }
    }
}

/// A gene value in JSON: a number (an int gene's as an int, a percent as its fraction), or
/// a choice's word.
pub fn gene_json(domain: &Domain, value: f64) -> serde_json::Value {
    let number = |v: f64| {
        if v.fract() == 0.0 && v.abs() < 1e15 {
            serde_json::Value::from(v as i64)
        } else {
            v.into()
        }
    };
    match domain {
        Domain::Choice(choices) => match choices.get(value as usize) {
            Some(Choice::Number(x)) => number(*x),
            Some(Choice::Percent(x)) => (*x).into(),
            Some(Choice::Indicator(w) | Choice::Word(w)) => w.clone().into(),
            None => serde_json::Value::Null,
        },
        Domain::Int { .. } => number(value),
        Domain::Float { .. } => value.into(),
    }
}

/// A strategy and its values as JSON: `{"strategy": NAME, GENE: VALUE, ...}`, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Called {
    Builtin(Strategy),
    Written { name: String, genes: Vec<(String, serde_json::Value)> },
}

impl Serialize for Called {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            Called::Builtin(s) => s.serialize(serializer),
            Called::Written { name, genes } => {
                let mut map = serializer.serialize_map(Some(genes.len() + 1))?;
                map.serialize_entry("strategy", name)?;
                for (gene, value) in genes {
                    map.serialize_entry(gene, value)?;
                }
                map.end()
            }
        }
    }
}

/// A built-in as the built-in serialises; a written strategy as its gene values (a results
/// file that needs them by name writes `Candidate::called`).
impl Serialize for Candidate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Candidate::Builtin(s) => s.serialize(serializer),
            Candidate::Written(c) => c.values.serialize(serializer),
        }
    }
}
