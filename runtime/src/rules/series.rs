//! The series a strategy's rules use, bound to a genome: every gene replaced by its value,
//! so that two genomes that agree on an indicator's inputs and parameters name the same
//! series (`Key`), which `Series` computes once per data set and shares.

use super::{Arith, Callee, Choice, Compare, Domain, Expr, Price, Program};
use crate::data::Ohlcv;
use crate::indicators::{self, ewm, library, rolling};
use std::collections::HashMap;
use std::sync::Arc;

/// A number or series with its genes bound: what identifies a series across genomes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Price(Price),
    /// A number, by its bits.
    Const(u64),
    /// An indicator of the library: its name, arguments and output.
    Indicator {
        name: String,
        args: Vec<Key>,
        output: usize,
    },
    Lag(Box<Key>, usize),
    Neg(Box<Key>),
    Arith(Arith, Box<Key>, Box<Key>),
}

impl Key {
    /// Its value when it holds no series: a number, or arithmetic over numbers.
    pub fn constant(&self) -> Option<f64> {
        Some(match self {
            Key::Const(bits) => f64::from_bits(*bits),
            Key::Neg(x) => -x.constant()?,
            Key::Arith(op, a, b) => op.apply(a.constant()?, b.constant()?),
            _ => return None,
        })
    }
}

/// A condition with its genes bound.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    Bool(bool),
    Compare(Compare, Key, Key),
    CrossesAbove(Key, Key),
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

impl Cond {
    /// Adds the keys it compares to `keys`.
    pub fn keys<'c>(&'c self, keys: &mut Vec<&'c Key>) {
        match self {
            Cond::Bool(_) => {}
            Cond::Compare(_, a, b) | Cond::CrossesAbove(a, b) => keys.extend([a, b]),
            Cond::And(a, b) | Cond::Or(a, b) => {
                a.keys(keys);
                b.keys(keys);
            }
            Cond::Not(a) => a.keys(keys),
        }
    }
}

/// A program's expression that is not what its place needs: the compiler's checks rule
/// these out, so one means a program built by hand, or a mismatched genome.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("strategy `{strategy}`: {what}")]
pub struct BindError {
    pub strategy: String,
    pub what: String,
}

/// Binds expressions of one program to one genome.
pub struct Binder<'p> {
    pub program: &'p Program,
    pub genome: &'p [f64],
}

impl Binder<'_> {
    fn error<T>(&self, what: impl Into<String>) -> Result<T, BindError> {
        Err(BindError { strategy: self.program.name.clone(), what: what.into() })
    }

    /// The value of gene `i` as a number.
    fn gene_number(&self, i: usize) -> Result<f64, BindError> {
        let (Some(gene), Some(&value)) = (self.program.genes.get(i), self.genome.get(i)) else {
            return self.error(format!("no gene {i}"));
        };
        match &gene.domain {
            Domain::Int { .. } | Domain::Float { .. } => Ok(value),
            Domain::Choice(choices) => match choices.get(value as usize) {
                Some(Choice::Number(v) | Choice::Percent(v)) => Ok(*v),
                _ => self.error(format!("gene `{}` is not a number", gene.name)),
            },
        }
    }

    /// A number or series.
    pub fn number(&self, expr: &Expr) -> Result<Key, BindError> {
        Ok(match expr {
            Expr::Price(p) => Key::Price(*p),
            Expr::Const(v) => Key::Const(v.to_bits()),
            Expr::Gene(i) => Key::Const(self.gene_number(*i)?.to_bits()),
            Expr::Indicator { callee, args, output } => {
                let name = match callee {
                    Callee::Fixed(name) => name.clone(),
                    Callee::Gene(i) => {
                        let picked = self.program.genes.get(*i).zip(self.genome.get(*i));
                        match picked.map(|(g, &v)| (&g.domain, v)) {
                            Some((Domain::Choice(choices), v)) => match choices.get(v as usize) {
                                Some(Choice::Indicator(name)) => name.clone(),
                                _ => return self.error(format!("gene {i} picks no indicator")),
                            },
                            _ => return self.error(format!("gene {i} picks no indicator")),
                        }
                    }
                };
                let args = args.iter().map(|a| self.number(a)).collect::<Result<_, _>>()?;
                Key::Indicator { name, args, output: *output }
            }
            Expr::Lag(x, n) => {
                let Key::Const(bits) = self.number(n)? else {
                    return self.error("a lag's bars vary per bar");
                };
                Key::Lag(Box::new(self.number(x)?), f64::from_bits(bits).max(0.0) as usize)
            }
            Expr::Neg(x) => Key::Neg(Box::new(self.number(x)?)),
            Expr::Arith(op, a, b) => Key::Arith(*op, Box::new(self.number(a)?), Box::new(self.number(b)?)),
            _ => return self.error("a condition where a number belongs"),
        })
    }

    /// A condition.
    pub fn condition(&self, expr: &Expr) -> Result<Cond, BindError> {
        Ok(match expr {
            Expr::Bool(b) => Cond::Bool(*b),
            Expr::Compare(op, a, b) => Cond::Compare(*op, self.number(a)?, self.number(b)?),
            Expr::CrossesAbove(a, b) => Cond::CrossesAbove(self.number(a)?, self.number(b)?),
            Expr::And(a, b) => Cond::And(Box::new(self.condition(a)?), Box::new(self.condition(b)?)),
            Expr::Or(a, b) => Cond::Or(Box::new(self.condition(a)?), Box::new(self.condition(b)?)),
            Expr::Not(a) => Cond::Not(Box::new(self.condition(a)?)),
            _ => return self.error("a number where a condition belongs"),
        })
    }
}

/// A number, or a series of one value per bar.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Scalar(f64),
    Series(Arc<[f64]>),
}

impl Operand {
    /// The value at bar `i` (a scalar's everywhere).
    #[inline(always)]
    pub fn at(&self, i: usize) -> f64 {
        match self {
            Operand::Scalar(v) => *v,
            Operand::Series(s) => s.get(i).copied().unwrap_or(f64::NAN),
        }
    }

    /// The first bar with a value: backtesting.py's warm-up of one indicator
    /// (`np.isnan(x).argmin()`, so 0 for a series that is never defined).
    pub fn first_defined(&self) -> usize {
        match self {
            Operand::Scalar(_) => 0,
            Operand::Series(s) => s.iter().position(|v| !v.is_nan()).unwrap_or(0),
        }
    }
}

/// The series of one data set, each indicator and lag computed once and kept.
pub struct Series<'d> {
    data: &'d Ohlcv,
    prices: [Arc<[f64]>; 5],
    /// Hashed with foldhash's fixed-seed hasher: every genome looks each of its keys up
    /// twice (prepare, evaluate), and nothing iterates the map.
    kept: HashMap<Key, Arc<[f64]>, foldhash::fast::FixedState>,
}

impl<'d> Series<'d> {
    /// An empty cache over `data`.
    pub fn new(data: &'d Ohlcv) -> Series<'d> {
        let prices =
            [&data.open, &data.high, &data.low, &data.close, &data.volume].map(|v| Arc::from(v.as_slice()));
        Series { data, prices, kept: HashMap::default() }
    }

    /// Bars in the data.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True for data with no bars.
    pub fn is_empty(&self) -> bool {
        self.data.len() == 0
    }

    /// Distinct indicator and lag series computed so far.
    pub fn kept(&self) -> usize {
        self.kept.len()
    }

    fn price(&self, p: Price) -> Arc<[f64]> {
        let i = match p {
            Price::Open => 0,
            Price::High => 1,
            Price::Low => 2,
            Price::Close => 3,
            Price::Volume => 4,
        };
        self.prices[i].clone()
    }

    /// The value of `key`, computing (and keeping) what is missing.
    pub fn get(&mut self, key: &Key) -> Operand {
        self.ensure(key);
        self.value(key)
    }

    /// Computes and keeps every indicator and lag series of `keys` (a bound genome's,
    /// `signals::Bound::keys`) that is missing.
    pub fn prepare<'k>(&mut self, keys: impl IntoIterator<Item = &'k Key>) {
        for key in keys {
            self.ensure(key);
        }
    }

    /// Computes and keeps the indicator and lag series `key` needs that are missing.
    pub fn ensure(&mut self, key: &Key) {
        match key {
            Key::Price(_) | Key::Const(_) => {}
            Key::Neg(x) => self.ensure(x),
            Key::Arith(_, a, b) => {
                self.ensure(a);
                self.ensure(b);
            }
            Key::Lag(x, n) => {
                if self.kept.contains_key(key) {
                    return;
                }
                self.ensure(x);
                let x = self.series(Some(x));
                self.kept.insert(key.clone(), Arc::from(rolling::shift(&x, *n)));
            }
            Key::Indicator { name, args, .. } => {
                if self.kept.contains_key(key) {
                    return;
                }
                for arg in args {
                    self.ensure(arg);
                }
                self.indicator(name, args);
            }
        }
    }

    /// The value of `key` from what is kept (`ensure` first: a series not kept reads as
    /// undefined on every bar). Arithmetic is computed anew, not kept.
    pub fn value(&self, key: &Key) -> Operand {
        match key {
            Key::Price(p) => Operand::Series(self.price(*p)),
            Key::Const(bits) => Operand::Scalar(f64::from_bits(*bits)),
            Key::Neg(x) => match self.value(x) {
                Operand::Scalar(v) => Operand::Scalar(-v),
                Operand::Series(s) => Operand::Series(s.iter().map(|v| -v).collect()),
            },
            Key::Arith(op, a, b) => {
                let (a, b) = (self.value(a), self.value(b));
                let apply = |x: f64, y: f64| op.apply(x, y);
                match (&a, &b) {
                    (Operand::Scalar(x), Operand::Scalar(y)) => Operand::Scalar(apply(*x, *y)),
                    _ => Operand::Series((0..self.len()).map(|i| apply(a.at(i), b.at(i))).collect()),
                }
            }
            Key::Lag(..) | Key::Indicator { .. } => match self.kept.get(key) {
                Some(kept) => Operand::Series(kept.clone()),
                None => Operand::Series(Arc::from(vec![f64::NAN; self.len()])),
            },
        }
    }

    /// A series argument (ensured), a scalar spread over every bar.
    fn series(&self, key: Option<&Key>) -> Arc<[f64]> {
        match key.map(|k| self.value(k)) {
            Some(Operand::Series(s)) => s,
            Some(Operand::Scalar(v)) => Arc::from(vec![v; self.len()]),
            None => Arc::from(vec![f64::NAN; self.len()]),
        }
    }

    /// A period or number argument (ensured).
    fn number(&self, key: Option<&Key>) -> f64 {
        match key.map(|k| self.value(k)) {
            Some(Operand::Scalar(v)) => v,
            _ => f64::NAN,
        }
    }

    fn keep_undefined(&mut self, name: &str, args: &[Key], none: Vec<Vec<f64>>) {
        for (k, values) in none.into_iter().enumerate() {
            self.kept.insert(
                Key::Indicator { name: name.to_string(), args: args.to_vec(), output: k },
                Arc::from(values),
            );
        }
    }

    /// Computes every output of indicator `name` on `args` and keeps each (the outputs
    /// not asked for now are there for the genomes that ask next).
    fn indicator(&mut self, name: &str, args: &[Key]) {
        let d = self.data;
        let (h, l, c, v) = (&d.high, &d.low, &d.close, &d.volume);
        // A period: a whole number of bars, at least 1 (the checker's rule); else nothing.
        let period = |x: f64| (x.is_finite() && x >= 1.0).then_some(x as usize);
        let n = |this: &Self, i: usize| period(this.number(args.get(i)));
        let none: Vec<Vec<f64>> = vec![vec![f64::NAN; d.len()]];
        let outputs = match name {
            "sma" | "ema" | "wma" | "rsi" | "roc" | "highest" | "lowest" => {
                let x = self.series(args.first());
                let Some(n) = n(self, 1) else { return self.keep_undefined(name, args, none) };
                vec![match name {
                    "sma" => indicators::sma(&x, n),
                    "ema" => ewm::ema(&x, n),
                    "wma" => library::wma(&x, n),
                    "rsi" => indicators::rsi_of(&x, n),
                    "roc" => library::roc(&x, n),
                    "highest" => rolling::max(&x, n),
                    _ => rolling::min(&x, n),
                }]
            }
            "macd" => {
                let x = self.series(args.first());
                let (Some(f), Some(s), Some(k)) = (n(self, 1), n(self, 2), n(self, 3)) else {
                    return self.keep_undefined(name, args, none);
                };
                let m = library::macd(&x, f, s, k);
                vec![m.line, m.signal, m.hist]
            }
            "bollinger" => {
                let x = self.series(args.first());
                let k = self.number(args.get(2));
                let Some(n) = n(self, 1) else { return self.keep_undefined(name, args, none) };
                let b = library::bollinger(&x, n, k);
                vec![b.middle, b.upper, b.lower]
            }
            "stochastic" => {
                let (Some(n), Some(k)) = (n(self, 0), n(self, 1)) else {
                    return self.keep_undefined(name, args, none);
                };
                let s = library::stochastic(h, l, c, n, k);
                vec![s.k, s.d]
            }
            "atr" | "adx" | "cci" | "vwap" => {
                let Some(n) = n(self, 0) else { return self.keep_undefined(name, args, none) };
                vec![match name {
                    "atr" => library::atr(h, l, c, n),
                    "adx" => library::adx(h, l, c, n),
                    "cci" => library::cci(h, l, c, n),
                    _ => library::vwap(h, l, c, v, n),
                }]
            }
            "obv" => vec![library::obv(c, v)],
            _ => return self.keep_undefined(name, args, none),
        };
        for (k, values) in outputs.into_iter().enumerate() {
            let key = Key::Indicator { name: name.to_string(), args: args.to_vec(), output: k };
            self.kept.entry(key).or_insert_with(|| Arc::from(values));
        }
    }
}
