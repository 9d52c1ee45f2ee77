//! What each block accepts: its attributes and what each takes, its nested blocks, and the
//! strategies, operators and metrics calls and expressions may name, with their meanings.
//! The checker sorts a block's body by these tables; an editor completes from them and
//! explains a word by them, so the two cannot disagree.

use crate::ir::{
    Aggregate, AlertAction, Allocation, Fallback, Keyword, Market, MonitorMetric, Period, Provider, Side,
};
use crate::resolve::Kind;

/// What a block accepts.
pub struct Schema {
    /// The block as named in messages (`workers`).
    pub what: &'static str,
    pub attributes: &'static [Attr],
    /// Nested blocks.
    pub blocks: &'static [Child],
}

/// One attribute a block accepts.
pub struct Attr {
    pub name: &'static str,
    pub takes: Takes,
}

/// A block a block may hold.
pub struct Child {
    pub kind: &'static str,
    pub schema: &'static Schema,
    /// May appear more than once (`workers`, `alert`).
    pub repeatable: bool,
}

/// What an attribute's value is, as far as an editor can offer it.
#[derive(Clone, Copy)]
pub enum Takes {
    /// One member of a keyword enumeration.
    Keyword { what: &'static str, members: &'static [&'static str] },
    /// A list of members of a keyword enumeration.
    Keywords { what: &'static str, members: &'static [&'static str] },
    /// The name of a top-level block of a kind.
    Ref(Kind),
    /// The name of a worker group of the job's compute.
    WorkerGroup,
    /// An instance type of the catalog, as a string.
    InstanceType,
    /// A list of instance types.
    InstanceTypes,
    /// One of a fixed set of strings (regions, images).
    OneOf(&'static [&'static str]),
    /// A call to one of these signatures.
    Call { what: &'static str, signatures: &'static [Signature] },
    /// Arithmetic over backtest metrics.
    Fitness,
    /// A comparison of a monitor metric with a value.
    Condition,
    /// A strategy's rule, stop or size: an expression over series, genes and indicators.
    Rule,
    /// `true` or `false`.
    Bool,
    /// Any other value; an example of one.
    Value(&'static str),
}

impl Schema {
    /// The attribute `name`, if the block accepts it.
    pub fn attribute(&self, name: &str) -> Option<&'static Attr> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The nested block `kind`, if the block accepts it.
    pub fn child(&self, kind: &str) -> Option<&'static Child> {
        self.blocks.iter().find(|c| c.kind == kind)
    }

    /// Every attribute and nested block name, in the order written here.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + Clone {
        self.attributes.iter().map(|a| a.name).chain(self.blocks.iter().map(|c| c.kind))
    }
}

/// The schema of a top-level block kind.
pub fn top_level(kind: Kind) -> &'static Schema {
    match kind {
        Kind::Cloud => &CLOUD,
        Kind::Quota => &QUOTA,
        Kind::Budget => &BUDGET,
        Kind::SpotPolicy => &SPOT_POLICY,
        Kind::Strategy => &STRATEGY,
        Kind::Compute => &COMPUTE,
        Kind::Job => &JOB,
        Kind::Service => &SERVICE,
        Kind::Monitor => &MONITOR,
    }
}

/// The schema of the block at `path` (`["compute", "workers"]`), if there is one.
pub fn at(path: &[&str]) -> Option<&'static Schema> {
    let (first, rest) = path.split_first()?;
    let mut schema = top_level(Kind::from_keyword(first)?);
    for kind in rest {
        schema = schema.child(kind)?.schema;
    }
    Some(schema)
}

const fn keyword<K: Keyword>() -> Takes {
    Takes::Keyword { what: K::WHAT, members: K::MEMBERS }
}

const fn attr(name: &'static str, takes: Takes) -> Attr {
    Attr { name, takes }
}

/// Disk images a head or worker group may boot.
pub const IMAGES: &[&str] = &["al2023", "ubuntu-24.04"];

pub(crate) const CLOUD: Schema = Schema {
    what: "cloud",
    attributes: &[
        attr("provider", keyword::<Provider>()),
        attr("region", Takes::OneOf(crate::catalog::REGIONS)),
        attr("profile", Takes::Value("\"research\"")),
    ],
    blocks: &[Child { kind: "tags", schema: &TAGS, repeatable: false }],
};
/// Tags are free `key = "value"` pairs; the checker reads them itself.
pub(crate) const TAGS: Schema = Schema { what: "tags", attributes: &[], blocks: &[] };
pub(crate) const QUOTA: Schema = Schema {
    what: "quota",
    attributes: &[
        attr("max_cpus", Takes::Value("64")),
        attr("max_gpus", Takes::Value("0")),
        attr("max_instances", Takes::Value("10")),
    ],
    blocks: &[],
};
pub(crate) const BUDGET: Schema = Schema {
    what: "budget",
    attributes: &[
        attr("amount", Takes::Value("$1000")),
        attr("period", keyword::<Period>()),
        attr("max_cost_per_hour", Takes::Value("$5")),
    ],
    blocks: &[
        Child { kind: "alert", schema: &BUDGET_ALERT, repeatable: true },
        Child { kind: "notify", schema: &NOTIFY, repeatable: false },
    ],
};
pub(crate) const BUDGET_ALERT: Schema = Schema {
    what: "alert",
    attributes: &[attr("at", Takes::Value("80%")), attr("action", keyword::<AlertAction>())],
    blocks: &[],
};
pub(crate) const NOTIFY: Schema = Schema {
    what: "notify",
    attributes: &[
        attr("webhook", Takes::Value("env(\"GAFORM_WEBHOOK\")")),
        attr("token", Takes::Value("env(\"GAFORM_TOKEN\")")),
        attr("sns", Takes::Value("\"arn:aws:sns:us-east-1:123456789012:alerts\"")),
    ],
    blocks: &[],
};
pub(crate) const SPOT_POLICY: Schema = Schema {
    what: "spot_policy",
    attributes: &[
        attr("market", keyword::<Market>()),
        attr("fallback", keyword::<Fallback>()),
        attr("allocation", keyword::<Allocation>()),
        attr("max_price", Takes::Value("70%")),
        attr("return_to_spot", Takes::Value("60m")),
    ],
    blocks: &[],
};
/// `strategy NAME`: its genes (any names, checked by `check::strategy`) and its rules.
pub(crate) const STRATEGY: Schema = Schema {
    what: "strategy",
    attributes: &[
        attr("where", Takes::Rule),
        attr("entry", Takes::Rule),
        attr("exit", Takes::Rule),
        attr("side", keyword::<Side>()),
        attr("entry_short", Takes::Rule),
        attr("exit_short", Takes::Rule),
        attr("stop_loss", Takes::Rule),
        attr("take_profit", Takes::Rule),
        attr("trailing_stop", Takes::Rule),
        attr("size", Takes::Rule),
    ],
    blocks: &[Child { kind: "genes", schema: &GENES, repeatable: false }],
};
/// `genes { NAME = RANGE | CHOICES ... }`: every attribute name is a gene.
pub(crate) const GENES: Schema = Schema { what: "genes", attributes: &[], blocks: &[] };
pub(crate) const SERVICE: Schema = Schema {
    what: "service",
    attributes: &[
        attr("job", Takes::Ref(Kind::Job)),
        attr("route", Takes::Value("\"/strategy\"")),
        attr("compute", Takes::Ref(Kind::Compute)),
        attr("port", Takes::Value("8080")),
        attr("allow_from", Takes::Value("[\"10.0.0.0/16\"]")),
        attr("replicas", Takes::Value("3")),
    ],
    blocks: &[],
};
pub(crate) const MONITOR: Schema = Schema {
    what: "monitor",
    attributes: &[
        attr("job", Takes::Ref(Kind::Job)),
        attr("metrics", Takes::Keywords { what: MonitorMetric::WHAT, members: MonitorMetric::MEMBERS }),
    ],
    blocks: &[
        Child { kind: "alert", schema: &MONITOR_ALERT, repeatable: true },
        Child { kind: "notify", schema: &NOTIFY, repeatable: false },
    ],
};
pub(crate) const MONITOR_ALERT: Schema = Schema {
    what: "alert",
    attributes: &[
        attr("when", Takes::Condition),
        attr("for", Takes::Value("5m")),
        attr("action", keyword::<AlertAction>()),
    ],
    blocks: &[],
};
pub(crate) const COMPUTE: Schema = Schema {
    what: "compute",
    attributes: &[
        attr("cloud", Takes::Ref(Kind::Cloud)),
        attr("quota", Takes::Ref(Kind::Quota)),
        attr("budget", Takes::Ref(Kind::Budget)),
        attr("max_cpus", Takes::Value("64")),
        attr("max_gpus", Takes::Value("0")),
        attr("auto_terminate", Takes::Value("30m")),
    ],
    blocks: &[
        Child { kind: "head", schema: &HEAD, repeatable: false },
        Child { kind: "workers", schema: &WORKERS, repeatable: true },
    ],
};
pub(crate) const HEAD: Schema = Schema {
    what: "head",
    attributes: &[
        attr("instance_type", Takes::InstanceType),
        attr("market", keyword::<Market>()),
        attr("image", Takes::OneOf(IMAGES)),
        attr("metrics_port", Takes::Value("9464")),
        attr("metrics_from", Takes::Value("[\"10.0.0.0/16\"]")),
    ],
    blocks: &[],
};
pub(crate) const WORKERS: Schema = Schema {
    what: "workers",
    attributes: &[
        attr("instance_type", Takes::InstanceType),
        attr("instance_types", Takes::InstanceTypes),
        attr("min", Takes::Value("0")),
        attr("max", Takes::Value("4")),
        attr("spot", Takes::Ref(Kind::SpotPolicy)),
        attr("market", keyword::<Market>()),
        attr("autoscale", Takes::Bool),
        attr("image", Takes::OneOf(IMAGES)),
    ],
    blocks: &[],
};
pub(crate) const JOB: Schema = Schema {
    what: "job",
    attributes: &[
        attr("compute", Takes::Ref(Kind::Compute)),
        attr("workers", Takes::WorkerGroup),
        attr("data", Takes::Value("[\"data/GOOG.csv\", \"data/MSFT.csv\"]")),
        attr("aggregate", keyword::<Aggregate>()),
        attr("holdout", Takes::Value("20%")),
        attr("strategy", Takes::Call { what: "strategy", signatures: STRATEGIES }),
        attr("fitness", Takes::Fitness),
        attr("constraints", Takes::Fitness),
        attr("population", Takes::Value("200")),
        attr("generations", Takes::Value("50")),
        attr("selection", Takes::Call { what: "selection operator", signatures: SELECTIONS }),
        attr("crossover", Takes::Call { what: "crossover operator", signatures: CROSSOVERS }),
        attr("mutation", Takes::Call { what: "mutation operator", signatures: MUTATIONS }),
        attr("elitism", Takes::Value("2")),
        attr("islands", Takes::Value("4")),
        attr("seed", Takes::Value("42")),
        attr("cash", Takes::Value("$10000")),
        attr("commission", Takes::Value("0.2%")),
        attr("max_runtime", Takes::Value("2h")),
    ],
    blocks: &[
        Child { kind: "migration", schema: &MIGRATION, repeatable: false },
        Child { kind: "walk_forward", schema: &WALK_FORWARD, repeatable: false },
    ],
};
pub(crate) const WALK_FORWARD: Schema = Schema {
    what: "walk_forward",
    attributes: &[
        attr("train", Takes::Value("504")),
        attr("test", Takes::Value("126")),
        attr("step", Takes::Value("126")),
        attr("anchored", Takes::Bool),
    ],
    blocks: &[],
};
pub(crate) const MIGRATION: Schema = Schema {
    what: "migration",
    attributes: &[attr("every", Takes::Value("10")), attr("count", Takes::Value("2"))],
    blocks: &[],
};

/// What a call argument must be.
#[derive(Clone, Copy, Debug)]
pub enum Arg {
    /// An integer range the GA searches, `lo..hi`; left out, a strategy's parameter is
    /// the range its gene declares in the prelude.
    Range,
    /// An integer, with the default used when it is left out.
    Int(i64),
    /// A number, with the default used when it is left out.
    Float(f64),
}

/// A strategy or operator: its name, parameters and meaning.
pub struct Signature {
    pub name: &'static str,
    /// Name, type, and whether it may be left out (the default is in `Arg`).
    pub params: &'static [(&'static str, Arg, bool)],
    /// What it does, in a sentence or two (Markdown).
    pub meaning: &'static str,
    /// A call to write when nothing is known yet, as `gaform check`'s help suggests.
    pub example: &'static str,
}

impl Signature {
    /// How it is shown to a person: `sma_crossover(fast: range, slow: range)`.
    pub fn line(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(name, arg, _)| match arg {
                Arg::Range => match prelude_range(self.name, name) {
                    Some((lo, hi)) => format!("{name}: range = {lo}..{hi}"),
                    None => format!("{name}: range"),
                },
                Arg::Int(d) => format!("{name}: int = {d}"),
                Arg::Float(d) => format!("{name}: number = {d}"),
            })
            .collect();
        format!("{}({})", self.name, params.join(", "))
    }
}

/// The range the prelude's strategy `strategy` declares for its gene `gene`: what a call
/// that leaves the parameter out searches.
pub fn prelude_range(strategy: &str, gene: &str) -> Option<(i64, i64)> {
    let def = crate::prelude::strategy(strategy)?;
    match def.genes.iter().find(|g| g.name == gene)?.domain {
        crate::ir::Domain::Int { lo, hi, .. } => Some((lo, hi)),
        _ => None,
    }
}

/// The strategies a job can evolve.
pub const STRATEGIES: &[Signature] = &[
    Signature {
        name: "sma_crossover",
        params: &[("fast", Arg::Range, true), ("slow", Arg::Range, true)],
        meaning: "Long when the `fast`-bar simple moving average of Close crosses above the \
                  `slow`-bar one; out when it crosses back below (strict crossings on consecutive bars).",
        example: "sma_crossover(fast = 2..50, slow = 10..200)",
    },
    Signature {
        name: "rsi_reversion",
        params: &[("period", Arg::Range, true), ("lower", Arg::Range, true), ("upper", Arg::Range, true)],
        meaning: "Long when Wilder's `period`-bar RSI crosses up through `lower`; out when it \
                  crosses down through `upper`.",
        example: "rsi_reversion(period = 5..30, lower = 10..40, upper = 60..90)",
    },
    Signature {
        name: "breakout",
        params: &[("lookback", Arg::Range, true), ("exit", Arg::Range, true)],
        meaning: "Long on a Close above the highest High of the `lookback` bars before; out on a \
                  Close below the lowest Low of the `exit` bars before.",
        example: "breakout(lookback = 10..100, exit = 5..50)",
    },
];
/// How parents are picked.
pub const SELECTIONS: &[Signature] = &[
    Signature {
        name: "tournament",
        params: &[("size", Arg::Int(3), true)],
        meaning: "The best of `size` individuals drawn at random (with replacement).",
        example: "tournament(size = 3)",
    },
    Signature {
        name: "roulette",
        params: &[],
        meaning: "Fitness-proportionate: an individual's weight is its fitness above the worst \
                  one's, plus a hundredth of the spread so that the worst still breeds sometimes.",
        example: "roulette()",
    },
    Signature {
        name: "rank",
        params: &[],
        meaning: "Linear ranking: the worst has weight 1, the best weight n.",
        example: "rank()",
    },
];
/// How two parents recombine.
pub const CROSSOVERS: &[Signature] = &[
    Signature {
        name: "uniform",
        params: &[("rate", Arg::Float(0.9), true)],
        meaning: "With probability `rate`, each gene comes from either parent with equal odds; \
                  otherwise the children are copies.",
        example: "uniform(rate = 0.9)",
    },
    Signature {
        name: "one_point",
        params: &[("rate", Arg::Float(0.9), true)],
        meaning: "With probability `rate`, the genes after a random cut point are swapped.",
        example: "one_point(rate = 0.9)",
    },
    Signature {
        name: "blend",
        params: &[("alpha", Arg::Float(0.5), true), ("rate", Arg::Float(0.9), true)],
        meaning: "BLX-alpha: with probability `rate`, each child gene is drawn uniformly from the \
                  parents' interval widened by `alpha` times its width on both sides.",
        example: "blend(alpha = 0.5, rate = 0.9)",
    },
];
/// How a child's genes change.
pub const MUTATIONS: &[Signature] = &[
    Signature {
        name: "gaussian",
        params: &[("sigma", Arg::Float(0.1), true), ("rate", Arg::Float(0.2), true)],
        meaning: "Each gene, with probability `rate`, moves by a normal deviate of `sigma` times \
                  its range's width, kept within the range.",
        example: "gaussian(sigma = 0.1, rate = 0.2)",
    },
    Signature {
        name: "reset",
        params: &[("rate", Arg::Float(0.2), true)],
        meaning: "Each gene, with probability `rate`, is drawn anew, uniformly in its range.",
        example: "reset(rate = 0.2)",
    },
];

/// What each backtest metric a fitness expression reads means (backtesting.py 0.6.6's
/// conventions; fractions, not percent).
pub const METRIC_MEANINGS: &[(&str, &str)] = &[
    ("sharpe", "Annualised Sharpe ratio: annual return over annual volatility, no risk-free rate."),
    ("sortino", "Annualised Sortino ratio: annual return over the downside deviation."),
    ("total_return", "Final equity over the starting cash, less one (0.25 is +25%)."),
    ("max_drawdown", "The deepest fall of equity from a peak, as a positive fraction (0.3 is 30%)."),
    ("win_rate", "The fraction of closed trades that made money."),
    ("profit_factor", "Gross profit of winning trades over gross loss of losing ones."),
    ("trades", "The number of closed trades."),
    ("calmar", "Annual return over the maximum drawdown."),
    ("final_equity", "Equity at the end, in dollars (cash plus the open position's value)."),
    ("annual_return", "Compound annual growth of equity over the backtest's calendar span."),
    ("annual_volatility", "Annualised standard deviation of daily returns."),
];

/// What each metric a monitor watches means.
pub const MONITOR_METRIC_MEANINGS: &[(&str, &str)] = &[
    ("generation", "The last generation every island has finished."),
    ("best_fitness", "The best fitness found so far, over every island."),
    ("mean_fitness", "The mean fitness of the last finished generation, over every island."),
    ("eval_time_per_strategy", "The mean time one backtest took over the last tick."),
    (
        "cluster_utilization",
        "Backtest thread time over the workers' threads × wall time, over the last tick.",
    ),
    ("cost", "What the job's compute has cost so far, in US dollars."),
];

/// Every strategy and operator signature, with what kind of call it is.
const SIGNATURES: [(&str, &[Signature]); 4] =
    [("strategy", STRATEGIES), ("selection", SELECTIONS), ("crossover", CROSSOVERS), ("mutation", MUTATIONS)];

/// The strategy or operator called `name`, and what kind of call it is (`strategy`,
/// `selection`, ...).
pub fn signature(name: &str) -> Option<(&'static str, &'static Signature)> {
    SIGNATURES.into_iter().find_map(|(what, table)| table.iter().find(|s| s.name == name).map(|s| (what, s)))
}

/// The meaning of a metric, strategy or operator named `word`, if it is one.
pub fn meaning(word: &str) -> Option<(&'static str, &'static str)> {
    let metric = |table: &'static [(&'static str, &'static str)], what| {
        table.iter().find(|(w, _)| *w == word).map(|(_, m)| (what, *m))
    };
    metric(METRIC_MEANINGS, "metric")
        .or_else(|| metric(MONITOR_METRIC_MEANINGS, "monitor metric"))
        .or_else(|| signature(word).map(|(what, s)| (what, s.meaning)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::Metric;

    #[test]
    fn every_metric_has_a_meaning() {
        for m in Metric::MEMBERS {
            assert!(METRIC_MEANINGS.iter().any(|(w, _)| w == m), "{m} has no meaning");
        }
        for m in MonitorMetric::MEMBERS {
            assert!(MONITOR_METRIC_MEANINGS.iter().any(|(w, _)| w == m), "{m} has no meaning");
        }
        assert_eq!(METRIC_MEANINGS.len(), Metric::MEMBERS.len());
        assert_eq!(MONITOR_METRIC_MEANINGS.len(), MonitorMetric::MEMBERS.len());
    }

    #[test]
    fn paths_reach_nested_blocks() {
        assert_eq!(at(&["compute", "workers"]).map(|s| s.what), Some("workers"));
        assert_eq!(at(&["monitor", "alert"]).and_then(|s| s.attribute("when")).map(|a| a.name), Some("when"));
        assert!(at(&["budget", "alert"]).and_then(|s| s.attribute("when")).is_none());
        assert!(at(&["compute", "nope"]).is_none());
        assert!(at(&["nope"]).is_none());
    }
}
