//! A strategy that answers bar by bar: a stream is seeded with the history its indicators
//! need, then takes each new bar and says the position and signal after it, as a backtest
//! of every bar so far would (`backtest::orders::simulate` on the same bars), doing work
//! for the new bar only. What it keeps is bounded by the strategy, not the history: each
//! indicator's window (at most its period's values), each series' last two values, and the
//! broker's orders (`backtest::orders::Broker`, the very state a backtest steps).

mod graph;
mod indicator;
mod running;

#[cfg(test)]
mod tests;

use crate::backtest::orders::{Broker, LevelAt, Risk, Rules};
use crate::backtest::{Costs, Position, Signal};
use crate::data::Ohlcv;
use crate::rules::series::BindError;
use crate::rules::signals::{bind, BoundDistance};
use crate::rules::Program;
use graph::{Graph, Node, Test};
use indicator::Prices;

/// Why a stream refuses bars (its state is then as it was).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Bind(#[from] BindError),
    #[error("{bars} bars are too few for the strategy's indicators to warm up: send more bars")]
    TooFew { bars: usize },
    #[error("bar {bar}: its time is not after the stream's last bar's: bars arrive oldest first, each once")]
    OutOfOrder { bar: usize },
}

/// A stop, target or trailing distance on the graph.
#[derive(Clone, Debug)]
enum Distance {
    Fraction(f64),
    Price(Node),
}

/// One strategy (a program with its genes) following one market bar by bar.
#[derive(Clone, Debug)]
pub struct Stream {
    graph: Graph,
    entry: Option<Test>,
    exit: Option<Test>,
    entry_short: Option<Test>,
    exit_short: Option<Test>,
    stop_loss: Option<Distance>,
    take_profit: Option<Distance>,
    trailing_stop: Option<Distance>,
    size: f64,
    costs: Costs,
    broker: Broker,
    bars: usize,
    last_time: i64,
}

/// What the rules say at the last bar's close.
struct At {
    entry: bool,
    exit: bool,
    entry_short: bool,
    exit_short: bool,
    levels: [Option<LevelAt>; 3],
}

impl Rules for At {
    fn entry(&self, _: usize) -> bool {
        self.entry
    }
    fn exit(&self, _: usize) -> bool {
        self.exit
    }
    fn entry_short(&self, _: usize) -> bool {
        self.entry_short
    }
    fn exit_short(&self, _: usize) -> bool {
        self.exit_short
    }
    fn level(&self, which: Risk, _: usize) -> Option<LevelAt> {
        match which {
            Risk::StopLoss => self.levels[0],
            Risk::TakeProfit => self.levels[1],
            Risk::TrailingStop => self.levels[2],
        }
    }
}

fn prices(data: &Ohlcv, i: usize) -> Prices {
    Prices {
        open: data.open[i],
        high: data.high[i],
        low: data.low[i],
        close: data.close[i],
        volume: data.volume.get(i).copied().unwrap_or(0.0),
    }
}

impl Stream {
    /// A stream of `program` with `genome`, seeded with the bars of `data` (checked, oldest
    /// first): its position and signal after them are `stance`'s. Refused when the bars are
    /// too few for every series the rules compare to have a value (a backtest of them would
    /// then count another warm-up than a longer one).
    pub fn seed(
        program: &Program,
        genome: &[f64],
        costs: Costs,
        data: &Ohlcv,
    ) -> Result<Stream, StreamError> {
        let bound = bind(program, genome)?;
        let mut graph = Graph::default();
        let mut test = |cond: &Option<_>| cond.as_ref().map(|c| graph.test(c));
        let (entry, exit) = (test(&bound.entry), test(&bound.exit));
        let (entry_short, exit_short) = (test(&bound.entry_short), test(&bound.exit_short));
        let mut distance = |d: &Option<BoundDistance>| -> Result<Option<Distance>, BindError> {
            Ok(match d {
                None => None,
                Some(BoundDistance::Fraction(key)) => {
                    let node = graph.add(key);
                    if !graph.is_scalar(node) {
                        return Err(BindError {
                            strategy: program.name.clone(),
                            what: "a percent distance varies per bar".into(),
                        });
                    }
                    Some(Distance::Fraction(graph.now(node)))
                }
                Some(BoundDistance::Price(key)) => Some(Distance::Price(graph.add(key))),
            })
        };
        let stop_loss = distance(&bound.stop_loss)?;
        let take_profit = distance(&bound.take_profit)?;
        let trailing_stop = distance(&bound.trailing_stop)?;
        let size_node = graph.add(&bound.size);
        let size = match graph.now(size_node) {
            v if graph.is_scalar(size_node) && v > 0.0 && v < 1.0 => v,
            // All equity is backtesting.py's default size, a hair under 1.
            _ => 1.0 - f64::EPSILON,
        };
        graph.seal();
        let mut stream = Stream {
            graph,
            entry,
            exit,
            entry_short,
            exit_short,
            stop_loss,
            take_profit,
            trailing_stop,
            size,
            costs,
            broker: Broker::new(costs.cash),
            bars: 0,
            last_time: i64::MIN,
        };
        // The warm-up is known only once the seed is read: its rules are kept per bar until then.
        let mut said = Vec::with_capacity(data.len());
        for i in 0..data.len() {
            stream.graph.next(&prices(data, i));
            said.push(stream.at());
        }
        let mut compared = Vec::new();
        for test in
            [&stream.entry, &stream.exit, &stream.entry_short, &stream.exit_short].into_iter().flatten()
        {
            test.nodes(&mut compared);
        }
        for d in [&stream.stop_loss, &stream.take_profit, &stream.trailing_stop].into_iter().flatten() {
            if let Distance::Price(node) = d {
                compared.push(*node);
            }
        }
        let defined: Option<Vec<usize>> = compared.iter().map(|&n| stream.graph.first_defined(n)).collect();
        let start = defined.map(|d| d.into_iter().max().unwrap_or(0) + 1);
        let Some(start) = start.filter(|&s| s < data.len()) else {
            return Err(StreamError::TooFew { bars: data.len() });
        };
        for (j, at) in said.iter().enumerate().skip(start) {
            let p = prices(data, j);
            stream.broker.step(j, [p.open, p.high, p.low, p.close], size, costs, at);
        }
        stream.bars = data.len();
        stream.last_time = data.time.last().copied().unwrap_or(i64::MIN);
        Ok(stream)
    }

    /// Takes the bars of `data` (checked, oldest first), each after the last one taken; the
    /// stream is untouched when one is not.
    pub fn push(&mut self, data: &Ohlcv) -> Result<(), StreamError> {
        if data.time.first().is_some_and(|&t| t <= self.last_time) {
            return Err(StreamError::OutOfOrder { bar: 0 });
        }
        for i in 0..data.len() {
            let p = prices(data, i);
            self.graph.next(&p);
            let at = self.at();
            self.broker.step(self.bars, [p.open, p.high, p.low, p.close], self.size, self.costs, &at);
            self.bars += 1;
        }
        self.last_time = data.time.last().copied().unwrap_or(self.last_time);
        Ok(())
    }

    /// The rules at the last bar computed.
    fn at(&self) -> At {
        let holds = |t: &Option<Test>| t.as_ref().is_some_and(|t| self.graph.holds(t));
        let level = |d: &Option<Distance>| {
            d.as_ref().map(|d| match d {
                Distance::Fraction(f) => LevelAt::Fraction(*f),
                Distance::Price(node) => LevelAt::Distance(self.graph.now(*node)),
            })
        };
        At {
            entry: holds(&self.entry),
            exit: holds(&self.exit),
            entry_short: holds(&self.entry_short),
            exit_short: holds(&self.exit_short),
            levels: [level(&self.stop_loss), level(&self.take_profit), level(&self.trailing_stop)],
        }
    }

    /// The position held after the last bar, and the order placed at its close.
    pub fn stance(&self) -> (Position, Signal) {
        self.broker.stance()
    }

    /// Bars taken, the seed's included.
    pub fn bars(&self) -> usize {
        self.bars
    }
}
