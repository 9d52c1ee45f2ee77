//! `job`: strategy and operator calls, the fitness expression, its worker group and its
//! data file (E0014, through the host).

use super::value::Value;
use super::Checker;
use crate::ast::{Attribute, Block, Expr, ExprKind};
use crate::diag::{suggest, Code, Diagnostic};
use crate::ir::*;
use crate::resolve::Kind;
use crate::schema::{CROSSOVERS, JOB, MIGRATION, MUTATIONS, SELECTIONS, STRATEGIES};
use crate::source::Span;

impl Checker<'_> {
    pub(super) fn job(&mut self, block: &Block, name: String) -> Job {
        let f = self.fields(block, &JOB);
        let compute_attr = self.required(&f, "compute", "COMPUTE_NAME");
        let compute = self.reference(compute_attr, Kind::Compute);
        let workers = compute.as_ref().map_or(0, |c| self.worker_group_of(block, c.value, f.attr("workers")));
        let data_attr = self.required(&f, "data", "\"data/GOOG.csv\"");
        let files = self.data_files(data_attr);
        let bars: Vec<Option<usize>> =
            files.iter().map(|(path, span)| self.probe_data(path, *span)).collect();
        let aggregate = self.aggregate(&f);
        let (validation, validation_span) = self.validation(&f);
        let windows = if bars.iter().all(Option::is_some) && !files.is_empty() {
            self.windows(&files, &validation, validation_span)
        } else {
            super::validation::Windows::UNKNOWN
        };
        // W0004 against the fewest bars the GA trains on: the shortest file, or the
        // shortest train window when something is held out.
        let shortest_file = files
            .iter()
            .zip(&bars)
            .filter_map(|((p, _), b)| Some((format!("`{p}`"), (*b)?)))
            .min_by_key(|(_, b)| *b);
        let trained_on = match (&validation, &windows.shortest_train) {
            (Validation::InSample, _) | (_, None) => shortest_file,
            (_, Some((path, bars))) => Some((format!("the shortest train window of `{path}`"), *bars)),
        };
        let strategy = self.required(&f, "strategy", "sma_crossover(fast = 2..50, slow = 10..200)");
        let on = trained_on.as_ref().map(|(p, b)| (p.as_str(), *b));
        let strategy = strategy.and_then(|s| self.strategy(&s.value, on));
        if let Some(strategy) = &strategy {
            // Only a hold-out or a walk-forward has test windows.
            self.test_windows_fit(&windows, validation_span, strategy);
        }
        let constraints = f.attr("constraints").map(|a| self.constraints(&a.value)).unwrap_or_default();
        let fitness = match f.attr("fitness") {
            Some(a) => self.fitness(&a.value),
            None => Some(Fitness::Metric(Metric::Sharpe)),
        };
        let population_attr = self.required(&f, "population", "200");
        let population = self.int(population_attr, 2);
        let generations_attr = self.required(&f, "generations", "50");
        let generations = self.int(generations_attr, 1);
        let selection =
            self.operator(f.attr("selection"), "selection operator", SELECTIONS, "tournament(size = 3)");
        let selection = match selection {
            Some((0, args)) => {
                Some(Selection::Tournament { size: self.positive(args.first(), "size").unwrap_or(3) })
            }
            Some((1, _)) => Some(Selection::Roulette),
            Some(_) => Some(Selection::Rank),
            None => None,
        };
        let crossover =
            self.operator(f.attr("crossover"), "crossover operator", CROSSOVERS, "uniform(rate = 0.9)");
        let crossover = crossover.map(|(i, args)| {
            let rate = |c: &mut Self, k: usize| c.arg_rate(args.get(k), "rate").unwrap_or(0.9);
            match i {
                0 => Crossover::Uniform { rate: rate(self, 0) },
                1 => Crossover::OnePoint { rate: rate(self, 0) },
                _ => {
                    let alpha = match args.first() {
                        Some((Value::Float(a), span)) if *a < 0.0 => {
                            self.bounds(*span, format!("`alpha` must be at least 0, found {a}"), "negative");
                            0.5
                        }
                        Some((Value::Float(a), _)) => *a,
                        _ => 0.5,
                    };
                    Crossover::Blend { alpha, rate: rate(self, 1) }
                }
            }
        });
        let mutation = self.operator(
            f.attr("mutation"),
            "mutation operator",
            MUTATIONS,
            "gaussian(sigma = 0.1, rate = 0.2)",
        );
        let mutation = mutation.map(|(i, args)| match i {
            0 => {
                let sigma = match args.first() {
                    Some((Value::Float(s), span)) if *s <= 0.0 => {
                        self.bounds(*span, format!("`sigma` must be above 0, found {s}"), "not above 0");
                        0.1
                    }
                    Some((Value::Float(s), _)) => *s,
                    _ => 0.1,
                };
                Mutation::Gaussian { sigma, rate: self.arg_rate(args.get(1), "rate").unwrap_or(0.2) }
            }
            _ => Mutation::Reset { rate: self.arg_rate(args.first(), "rate").unwrap_or(0.2) },
        });
        let elitism = self.int(f.attr("elitism"), 0);
        if let (Some(e), Some(p)) = (&elitism, &population) {
            if e.value >= p.value {
                let d = Diagnostic::new(
                    Code::E0009,
                    format!("`elitism` ({}) must be below `population` ({})", e.value, p.value),
                    e.span,
                    "not below population",
                )
                .with_label(p.span, "population set here");
                self.report(d);
            }
        }
        let islands = self.int(f.attr("islands"), 1).map(|i| i.value);
        let migration = self.migration(&f, population.as_ref().map(|p| p.value));
        let seed = self.int(f.attr("seed"), 0).map_or(0, |s| s.value);
        let cash = match self.money(f.attr("cash")) {
            Some((c, span)) if c <= 0.0 => {
                self.bounds(span, "`cash` must be above $0", "not above $0");
                10_000.0
            }
            Some((c, _)) => c,
            None => 10_000.0,
        };
        let commission = match self.percent(f.attr("commission")) {
            Some((c, span)) if !(0.0..1.0).contains(&c) => {
                self.bounds(span, "`commission` must be in [0%, 100%)", "outside [0%, 100%)");
                0.001
            }
            Some((c, _)) => c,
            None => 0.001,
        };
        let max_runtime_secs = self.duration(f.attr("max_runtime"));
        Job {
            name,
            span: block.span,
            compute: ComputeId(compute.map_or(0, |c| c.value)),
            workers,
            data_spans: files.iter().map(|(_, s)| *s).collect(),
            data: files.into_iter().map(|(p, _)| p).collect(),
            aggregate,
            validation,
            folds: windows.folds,
            strategy: strategy.unwrap_or_else(|| Box::new(StrategyDef::empty("sma_crossover"))),
            fitness: fitness.unwrap_or(Fitness::Metric(Metric::Sharpe)),
            constraints,
            population: population.map_or(2, |p| p.value),
            generations: generations.map_or(1, |g| g.value),
            selection: selection.unwrap_or(Selection::Tournament { size: 3 }),
            crossover: crossover.unwrap_or(Crossover::Uniform { rate: 0.9 }),
            mutation: mutation.unwrap_or(Mutation::Gaussian { sigma: 0.1, rate: 0.2 }),
            elitism: elitism.map_or(1, |e| e.value),
            islands,
            migration,
            seed,
            cash,
            commission,
            max_runtime_secs,
        }
    }

    /// The index of the job's worker group in its compute (`cpu` or `evo.cpu`).
    fn worker_group_of(&mut self, job: &Block, compute: usize, attr: Option<&Attribute>) -> usize {
        let Some(c) = self.program.computes.get(compute) else {
            return 0;
        };
        let groups: Vec<String> = c.workers.iter().map(|w| w.name.clone()).collect();
        let compute_name = c.name.clone();
        let Some(attr) = attr else {
            if groups.len() > 1 {
                let help = format!(
                    "add `workers = {}` (groups: {})",
                    groups.first().map_or("", |g| g),
                    groups.join(", ")
                );
                self.missing(job, "workers", &help);
            }
            return 0;
        };
        let ExprKind::Path(parts) = &attr.value.kind else {
            let d = Diagnostic::new(
                Code::E0007,
                "expected a worker group name",
                attr.value.span,
                "expected `GROUP` or `COMPUTE.GROUP`",
            );
            self.report(d);
            return 0;
        };
        let group = match parts.as_slice() {
            [group] => group,
            [owner, group] => {
                if *owner.name != *compute_name {
                    if self.symbols.block(Kind::Compute, &owner.name).is_some() {
                        let d = Diagnostic::new(
                            Code::E0006,
                            format!(
                                "`{}` belongs to compute `{}`, but this job runs on `{compute_name}`",
                                dotted(parts),
                                owner.name
                            ),
                            owner.span,
                            "another compute",
                        );
                        self.report(
                            d.with_help(format!("name a group of `{compute_name}`: {}", groups.join(", "))),
                        );
                    } else {
                        self.unresolved_ref(owner, Kind::Compute);
                    }
                    return 0;
                }
                group
            }
            _ => {
                let d = Diagnostic::new(
                    Code::E0007,
                    "expected `GROUP` or `COMPUTE.GROUP`",
                    attr.value.span,
                    "too many parts",
                );
                self.report(d);
                return 0;
            }
        };
        match groups.iter().position(|g| **g == *group.name) {
            Some(i) => i,
            None => {
                let help = suggest::did_you_mean(&group.name, groups.iter().map(String::as_str))
                    .unwrap_or_else(|| format!("groups of `{compute_name}`: {}", groups.join(", ")));
                let d = Diagnostic::new(
                    Code::E0005,
                    format!("compute `{compute_name}` has no worker group `{}`", group.name),
                    group.span,
                    "no such worker group",
                );
                self.report(d.with_help(help));
                0
            }
        }
    }

    /// Reports a missing or malformed data file (E0014); its bars when the host counted them.
    fn probe_data(&mut self, path: &str, span: Span) -> Option<usize> {
        let why = match self.host.probe_data(path) {
            Ok(file) => return file.bars,
            Err(why) => why,
        };
        let beside = self.host.data_beside(path);
        let nearest = suggest::did_you_mean(path, beside.iter().map(String::as_str));
        let help = "paths are relative to the .gaf file; the CSV needs Open, High, Low and Close columns";
        let d = Diagnostic::new(Code::E0014, format!("data file `{path}` {why}"), span, "no OHLCV data here")
            .with_help(nearest.map_or_else(|| help.to_string(), |n| format!("{n} ({help})")));
        let d = if self.options.data_errors { d } else { d.into_warning() };
        self.report(d);
        None
    }

    fn migration(&mut self, f: &super::fields::Fields<'_>, population: Option<u64>) -> Migration {
        let Some(block) = f.blocks("migration").next() else {
            return Migration { every: 10, count: 2 };
        };
        self.expect_label(block, false);
        let mf = self.fields(block, &MIGRATION);
        let every = self.int(mf.attr("every"), 1).map_or(10, |e| e.value);
        let count = self.int(mf.attr("count"), 0);
        if let (Some(c), Some(p)) = (&count, population) {
            if c.value > p {
                self.bounds(
                    c.span,
                    format!("`count` ({}) exceeds the population ({p})", c.value),
                    "more migrants than individuals",
                );
            }
        }
        Migration { every, count: count.map_or(2, |c| c.value) }
    }

    /// A strategy call; with `data` (its path and bars), W0004 when its warm-up leaves no
    /// room for a trade.
    pub(crate) fn strategy(&mut self, expr: &Expr, data: Option<(&str, usize)>) -> Option<Box<StrategyDef>> {
        if let Some(written) = self.written_strategy(expr) {
            if let (Some(def), Some(data)) = (&written, data) {
                self.written_room_to_trade(def, expr.span, data);
            }
            return written;
        }
        let (which, args) =
            self.call(expr, "strategy", STRATEGIES, "sma_crossover(fast = 2..50, slow = 10..200)")?;
        let ranges: Vec<(ParamRange, Span)> = args
            .iter()
            .filter_map(|(v, span)| match v {
                Value::RangeInt(lo, hi) => Some((ParamRange { lo: *lo, hi: *hi }, *span)),
                _ => None,
            })
            .collect();
        let names = STRATEGIES.get(which).map(|s| s.params).unwrap_or_default();
        let mut ok = ranges.len() == names.len();
        for ((range, span), (param, _, _)) in ranges.iter().zip(names) {
            ok &= self.ordered(*range, *span, param);
        }
        let r = |i: usize| ranges.get(i).copied();
        let built_in = match (which, r(0), r(1), r(2)) {
            (0, Some(fast), Some(slow), _) => {
                ok &= self.periods(&[fast, slow], &["fast", "slow"]);
                if fast.0.lo >= slow.0.hi {
                    let d = Diagnostic::new(
                        Code::E0009,
                        format!(
                            "`fast` starts at {} but `slow` ends at {}: no fast period is below a slow one",
                            fast.0.lo, slow.0.hi
                        ),
                        fast.1,
                        "fast range",
                    )
                    .with_label(slow.1, "slow range");
                    self.report(d.with_help(
                        "the fast range's lower bound must be below the slow range's upper bound",
                    ));
                    ok = false;
                }
                "sma_crossover"
            }
            (1, Some(period), Some(lower), Some(upper)) => {
                ok &= self.periods(&[period], &["period"]);
                for (range, name) in [(lower, "lower"), (upper, "upper")] {
                    if range.0.lo < 0 || range.0.hi > 100 {
                        self.bounds(
                            range.1,
                            format!(
                                "RSI `{name}` must lie within 0..100, found {}..{}",
                                range.0.lo, range.0.hi
                            ),
                            "outside 0..100",
                        );
                        ok = false;
                    }
                }
                if lower.0.lo >= upper.0.hi {
                    let d = Diagnostic::new(
                        Code::E0009,
                        format!("`lower` starts at {} but `upper` ends at {}: no lower level is below an upper one", lower.0.lo, upper.0.hi),
                        lower.1,
                        "lower range",
                    )
                    .with_label(upper.1, "upper range");
                    self.report(d);
                    ok = false;
                }
                "rsi_reversion"
            }
            (2, Some(lookback), Some(exit), _) => {
                ok &= self.periods(&[lookback, exit], &["lookback", "exit"]);
                "breakout"
            }
            _ => return None,
        };
        // The prelude's strategy, each gene's range the call's.
        let called: Vec<(&str, ParamRange)> =
            names.iter().zip(&ranges).map(|((name, _, _), (range, _))| (*name, *range)).collect();
        let strategy = crate::prelude::instantiate(built_in, &called, expr.span)?;
        if ok {
            if let Some(data) = data {
                let spans: Vec<(&str, Span)> =
                    names.iter().zip(&ranges).map(|((name, _, _), (_, span))| (*name, *span)).collect();
                self.room_to_trade(&strategy, &spans, data);
            }
        }
        ok.then(|| Box::new(strategy))
    }

    fn ordered(&mut self, range: ParamRange, span: Span, param: &str) -> bool {
        if range.lo <= range.hi {
            return true;
        }
        let d = Diagnostic::new(
            Code::E0009,
            format!("range `{}..{}` for `{param}` is reversed", range.lo, range.hi),
            span,
            "lower bound above upper bound",
        );
        self.report(d.with_help(format!("write `{}..{}`", range.hi, range.lo)));
        false
    }

    /// Bar counts start at 1.
    fn periods(&mut self, ranges: &[(ParamRange, Span)], names: &[&str]) -> bool {
        let mut ok = true;
        for ((range, span), name) in ranges.iter().zip(names) {
            if range.lo < 1 {
                self.bounds(
                    *span,
                    format!("`{name}` counts bars and must be at least 1, found {}", range.lo),
                    "below 1",
                );
                ok = false;
            }
        }
        ok
    }
}

/// `a.b` as written, for messages.
fn dotted(parts: &[crate::ast::Ident]) -> String {
    parts.iter().map(|p| &*p.name).collect::<Vec<_>>().join(".")
}
