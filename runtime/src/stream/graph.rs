//! A bound strategy's series as a graph computed one bar at a time: one node per distinct
//! series key (as `rules::series` keeps one vector per key), each node after the nodes it
//! reads, each keeping its value at the last bar and the bar before (all a crossing needs).

use super::indicator::{Indicator, Prices};
use super::running::Shift;
use crate::rules::series::{Cond, Key};
use crate::rules::{Arith, Compare, Price};
use std::collections::HashMap;

/// A node's place in the graph.
pub type Node = usize;

#[derive(Clone, Debug)]
enum Op {
    Price(Price),
    /// A number: the same on every bar.
    Const(f64),
    /// An indicator's computation (every output at once), reading one input series.
    Indicator {
        state: Box<Indicator>,
        input: Option<Node>,
        outputs: [f64; 3],
    },
    /// Output `k` of the indicator node `of`.
    Output {
        of: Node,
        k: usize,
    },
    Lag {
        input: Node,
        shift: Shift,
    },
    Neg(Node),
    Arith(Arith, Node, Node),
}

#[derive(Clone, Debug)]
struct Slot {
    op: Op,
    /// A number (not a series): its value never changes and it needs no warm-up.
    scalar: bool,
    now: f64,
    before: f64,
    /// The first bar with a value (a series).
    first_defined: Option<usize>,
}

/// The series of one bound strategy.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    slots: Vec<Slot>,
    /// Indicator computations by name and arguments, so that outputs share one.
    computations: HashMap<(String, Vec<Key>), Node>,
    nodes: HashMap<Key, Node>,
    bars: usize,
}

impl Graph {
    /// The node of `key`, added with what it reads if it is new.
    pub fn add(&mut self, key: &Key) -> Node {
        if let Some(&node) = self.nodes.get(key) {
            return node;
        }
        let op = match key {
            Key::Price(p) => Op::Price(*p),
            Key::Const(bits) => Op::Const(f64::from_bits(*bits)),
            Key::Neg(x) => Op::Neg(self.add(x)),
            Key::Arith(op, a, b) => {
                let (a, b) = (self.add(a), self.add(b));
                Op::Arith(*op, a, b)
            }
            Key::Lag(x, n) => Op::Lag { input: self.add(x), shift: Shift::new(*n) },
            Key::Indicator { name, args, output } => {
                let of = self.computation(name, args);
                Op::Output { of, k: *output }
            }
        };
        let node = self.push(op);
        self.nodes.insert(key.clone(), node);
        node
    }

    fn computation(&mut self, name: &str, args: &[Key]) -> Node {
        let id = (name.to_string(), args.to_vec());
        if let Some(&node) = self.computations.get(&id) {
            return node;
        }
        // Numbers are read once, as the batch reads them; the input series (the first
        // argument of those that take one) is read on every bar.
        let numbers: Vec<f64> = args.iter().map(|a| a.constant().unwrap_or(f64::NAN)).collect();
        let takes_series = matches!(
            name,
            "sma" | "ema" | "wma" | "rsi" | "roc" | "highest" | "lowest" | "macd" | "bollinger"
        );
        let input = match args.first() {
            Some(first) if takes_series => Some(self.add(first)),
            _ => None,
        };
        let state = Box::new(Indicator::new(name, &numbers));
        let node = self.push(Op::Indicator { state, input, outputs: [f64::NAN; 3] });
        self.computations.insert(id, node);
        node
    }

    fn push(&mut self, op: Op) -> Node {
        let scalar = match &op {
            Op::Const(_) => true,
            Op::Neg(x) => self.slots[*x].scalar,
            Op::Arith(_, a, b) => self.slots[*a].scalar && self.slots[*b].scalar,
            _ => false,
        };
        // A number's value is known now; a series has none before its first bar.
        let value = if scalar { self.scalar_value(&op) } else { f64::NAN };
        self.slots.push(Slot { op, scalar, now: value, before: value, first_defined: None });
        self.slots.len() - 1
    }

    fn scalar_value(&self, op: &Op) -> f64 {
        match op {
            Op::Const(v) => *v,
            Op::Neg(x) => -self.slots[*x].now,
            Op::Arith(op, a, b) => op.apply(self.slots[*a].now, self.slots[*b].now),
            _ => f64::NAN,
        }
    }

    /// Forgets the keys the graph was built from (the nodes stay): a graph that only steps
    /// needs none of them, and a server holds many.
    pub fn seal(&mut self) {
        self.nodes = HashMap::new();
        self.computations = HashMap::new();
    }

    /// Computes every node at the next bar.
    pub fn next(&mut self, bar: &Prices) {
        let i = self.bars;
        self.bars += 1;
        for n in 0..self.slots.len() {
            // Every node reads only nodes added before it.
            let (earlier, rest) = self.slots.split_at_mut(n);
            let Some(slot) = rest.first_mut() else { break };
            if slot.scalar {
                continue;
            }
            let value = match &mut slot.op {
                Op::Price(p) => match p {
                    Price::Open => bar.open,
                    Price::High => bar.high,
                    Price::Low => bar.low,
                    Price::Close => bar.close,
                    Price::Volume => bar.volume,
                },
                Op::Indicator { state, input, outputs } => {
                    let x = input.map_or(f64::NAN, |i| earlier[i].now);
                    *outputs = state.next(x, bar);
                    f64::NAN
                }
                Op::Output { of, k } => match &earlier[*of].op {
                    Op::Indicator { outputs, .. } => outputs.get(*k).copied().unwrap_or(f64::NAN),
                    _ => f64::NAN,
                },
                Op::Lag { input, shift } => shift.next(earlier[*input].now),
                Op::Neg(x) => -earlier[*x].now,
                Op::Arith(op, a, b) => op.apply(earlier[*a].now, earlier[*b].now),
                Op::Const(v) => *v,
            };
            slot.before = slot.now;
            slot.now = value;
            if slot.first_defined.is_none() && !value.is_nan() {
                slot.first_defined = Some(i);
            }
        }
    }

    /// The value of `node` at the last bar.
    pub fn now(&self, node: Node) -> f64 {
        self.slots.get(node).map_or(f64::NAN, |s| s.now)
    }

    /// Whether `node` is a number (the same on every bar).
    pub fn is_scalar(&self, node: Node) -> bool {
        self.slots.get(node).is_some_and(|s| s.scalar)
    }

    /// Where `node` is first defined, as backtesting.py's warm-up counts it: 0 for a number,
    /// `None` for a series not defined yet.
    pub fn first_defined(&self, node: Node) -> Option<usize> {
        let slot = self.slots.get(node)?;
        if slot.scalar {
            Some(0)
        } else {
            slot.first_defined
        }
    }

    /// A condition, on the graph's nodes.
    pub fn test(&mut self, cond: &Cond) -> Test {
        match cond {
            Cond::Bool(b) => Test::Bool(*b),
            Cond::Compare(op, a, b) => Test::Compare(*op, self.add(a), self.add(b)),
            Cond::CrossesAbove(a, b) => Test::CrossesAbove(self.add(a), self.add(b)),
            Cond::And(a, b) => Test::And(Box::new(self.test(a)), Box::new(self.test(b))),
            Cond::Or(a, b) => Test::Or(Box::new(self.test(a)), Box::new(self.test(b))),
            Cond::Not(a) => Test::Not(Box::new(self.test(a))),
        }
    }

    /// Whether `test` holds at the last bar (`bar` of them counted from 0).
    pub fn holds(&self, test: &Test) -> bool {
        match test {
            Test::Bool(b) => *b,
            Test::Compare(op, a, b) => op.test(self.now(*a), self.now(*b)),
            Test::CrossesAbove(a, b) => {
                // backtesting.py's `crossover`: a[-2] < b[-2] and a[-1] > b[-1]; never on
                // the first bar.
                let (a, b) = (&self.slots[*a], &self.slots[*b]);
                self.bars > 1 && (a.before < b.before) & (a.now > b.now)
            }
            Test::And(a, b) => self.holds(a) & self.holds(b),
            Test::Or(a, b) => self.holds(a) | self.holds(b),
            Test::Not(a) => !self.holds(a),
        }
    }
}

/// A condition over the graph's nodes.
#[derive(Clone, Debug)]
pub enum Test {
    Bool(bool),
    Compare(Compare, Node, Node),
    CrossesAbove(Node, Node),
    And(Box<Test>, Box<Test>),
    Or(Box<Test>, Box<Test>),
    Not(Box<Test>),
}

impl Test {
    /// The nodes it compares (whose warm-up counts).
    pub fn nodes(&self, out: &mut Vec<Node>) {
        match self {
            Test::Bool(_) => {}
            Test::Compare(_, a, b) | Test::CrossesAbove(a, b) => out.extend([*a, *b]),
            Test::And(a, b) | Test::Or(a, b) => {
                a.nodes(out);
                b.nodes(out);
            }
            Test::Not(a) => a.nodes(out),
        }
    }
}
