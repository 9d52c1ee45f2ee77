//! IR values written back as `.gaf` text (`sma_crossover(fast = 2..50, slow = 10..200)`),
//! for the attributes a plan compares and shows. Text, not debug output: a user reads a
//! plan's `before` and `after` side by side.

use crate::ir::{self, ArithOp, Keyword};

/// A strategy with its genes' ranges: a built-in as the call that made it
/// (`sma_crossover(fast = 2..50, slow = 10..200)`), a written one whole.
pub fn strategy(s: &ir::StrategyDef) -> String {
    if !s.prelude {
        return written(s);
    }
    let genes: Vec<String> = s.genes.iter().map(|g| format!("{} = {}", g.name, domain(&g.domain))).collect();
    format!("{}({})", s.name, genes.join(", "))
}

/// A strategy written in the file: its genes as the job narrows them, and its rules, so
/// that a plan sees a change to either.
fn written(def: &ir::StrategyDef) -> String {
    let genes: Vec<String> =
        def.genes.iter().map(|g| format!("{} = {}", g.name, domain(&g.domain))).collect();
    let name = |i: usize| def.genes.get(i).map_or("?", |g| g.name.as_str()).to_string();
    let mut rules = Vec::new();
    if let Some(c) = &def.constraint {
        rules.push(format!("where = {}", node(c, &name)));
    }
    rules.push(format!("side = {}", def.side.keyword()));
    for (attr, rule) in [
        ("entry", &def.entry),
        ("exit", &def.exit),
        ("entry_short", &def.entry_short),
        ("exit_short", &def.exit_short),
    ] {
        if let Some(r) = rule {
            rules.push(format!("{attr} = {}", node(r, &name)));
        }
    }
    for (attr, d) in [
        ("stop_loss", &def.stop_loss),
        ("take_profit", &def.take_profit),
        ("trailing_stop", &def.trailing_stop),
    ] {
        match d {
            Some(ir::Distance::Fraction(n)) => rules.push(format!("{attr} = fraction {}", node(n, &name))),
            Some(ir::Distance::Price(n)) => rules.push(format!("{attr} = {}", node(n, &name))),
            None => {}
        }
    }
    rules.push(format!("size = {}", node(&def.size, &name)));
    format!("{}({}) {{ {} }}", def.name, genes.join(", "), rules.join("; "))
}

/// A gene's values as declared: `5..50`, `0.5..2.0 step 0.1`, `[sma, ema]`.
pub fn domain(d: &ir::Domain) -> String {
    match d {
        ir::Domain::Int { lo, hi, step: 1 } if lo == hi => lo.to_string(),
        ir::Domain::Int { lo, hi, step: 1 } => format!("{lo}..{hi}"),
        ir::Domain::Int { lo, hi, step } => format!("{lo}..{hi} step {step}"),
        ir::Domain::Float { lo, hi, step: None } => format!("{lo:?}..{hi:?}"),
        ir::Domain::Float { lo, hi, step: Some(s) } => format!("{lo:?}..{hi:?} step {s:?}"),
        ir::Domain::Choice(choices) => {
            let shown: Vec<String> = choices
                .iter()
                .map(|c| match c {
                    ir::Choice::Indicator(n) => (*n).to_string(),
                    ir::Choice::Int(v) => v.to_string(),
                    ir::Choice::Float(v) => format!("{v:?}"),
                    ir::Choice::Percent(v) => format!("{}%", v * 100.0),
                    ir::Choice::Word(w) => w.clone(),
                })
                .collect();
            format!("[{}]", shown.join(", "))
        }
    }
}

/// A typed rule as text, fully parenthesised.
pub fn node(n: &ir::Node, gene: &dyn Fn(usize) -> String) -> String {
    let two = |a: &ir::Node, b: &ir::Node| (node(a, gene), node(b, gene));
    match n {
        ir::Node::Price(p) => format!("{p:?}").to_ascii_lowercase(),
        ir::Node::Const(v) => format!("{v}"),
        ir::Node::Gene(i) => gene(*i),
        ir::Node::Bool(b) => b.to_string(),
        ir::Node::Indicator { callee, args, output } => {
            let name = match callee {
                ir::Callee::Fixed(n) => (*n).to_string(),
                ir::Callee::Gene(i) => gene(*i),
            };
            let args: Vec<String> = args.iter().map(|a| node(a, gene)).collect();
            format!("{name}({})#{output}", args.join(", "))
        }
        ir::Node::Lag(x, k) => format!("lag({}, {})", node(x, gene), node(k, gene)),
        ir::Node::Neg(x) => format!("(-{})", node(x, gene)),
        ir::Node::Not(x) => format!("(not {})", node(x, gene)),
        ir::Node::Arith(op, a, b) => {
            let (a, b) = two(a, b);
            format!(
                "({a} {} {b})",
                match op {
                    ir::Arith::Add => "+",
                    ir::Arith::Sub => "-",
                    ir::Arith::Mul => "*",
                    ir::Arith::Div => "/",
                }
            )
        }
        ir::Node::Compare(op, a, b) => {
            let (a, b) = two(a, b);
            let op = match op {
                ir::Compare::Lt => "<",
                ir::Compare::Le => "<=",
                ir::Compare::Gt => ">",
                ir::Compare::Ge => ">=",
                ir::Compare::Eq => "==",
                ir::Compare::Ne => "!=",
            };
            format!("({a} {op} {b})")
        }
        ir::Node::CrossesAbove(a, b) => {
            let (a, b) = two(a, b);
            format!("crosses_above({a}, {b})")
        }
        ir::Node::And(a, b) => {
            let (a, b) = two(a, b);
            format!("({a} and {b})")
        }
        ir::Node::Or(a, b) => {
            let (a, b) = two(a, b);
            format!("({a} or {b})")
        }
    }
}

/// A fitness expression, parenthesised only where precedence needs it.
pub fn fitness(f: &ir::Fitness) -> String {
    fn prec(f: &ir::Fitness) -> u8 {
        match f {
            ir::Fitness::Binary(ArithOp::Add | ArithOp::Sub, ..) => 1,
            ir::Fitness::Binary(..) => 2,
            ir::Fitness::Neg(_) => 3,
            _ => 4,
        }
    }
    fn go(f: &ir::Fitness, out: &mut String) {
        match f {
            ir::Fitness::Metric(m) => out.push_str(m.keyword()),
            ir::Fitness::Const(c) => out.push_str(&c.to_string()),
            ir::Fitness::Neg(e) => {
                out.push('-');
                wrap(e, prec(e) < 3, out);
            }
            ir::Fitness::Binary(op, a, b) => {
                let p = prec(f);
                wrap(a, prec(a) < p, out);
                out.push_str(match op {
                    ArithOp::Add => " + ",
                    ArithOp::Sub => " - ",
                    ArithOp::Mul => " * ",
                    ArithOp::Div => " / ",
                });
                // Subtraction and division are left-associative: an equal-precedence right
                // operand needs its parentheses back.
                wrap(b, prec(b) <= p, out);
            }
            ir::Fitness::Abs(e) => {
                out.push_str("abs(");
                go(e, out);
                out.push(')');
            }
            ir::Fitness::Min(args) | ir::Fitness::Max(args) => {
                out.push_str(if matches!(f, ir::Fitness::Min(_)) { "min(" } else { "max(" });
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    go(a, out);
                }
                out.push(')');
            }
        }
    }
    fn wrap(f: &ir::Fitness, parens: bool, out: &mut String) {
        if parens {
            out.push('(');
        }
        go(f, out);
        if parens {
            out.push(')');
        }
    }
    let mut out = String::new();
    go(f, &mut out);
    out
}

/// A constraint as written (`trades >= 20`, `max_drawdown < 0.25`).
pub fn constraint(c: &ir::Constraint) -> String {
    let op = match c.op {
        ir::Bound::Lt => "<",
        ir::Bound::Le => "<=",
        ir::Bound::Gt => ">",
        ir::Bound::Ge => ">=",
    };
    format!("{} {op} {}", fitness(&c.left), fitness(&c.right))
}

/// A selection operator call.
pub fn selection(s: &ir::Selection) -> String {
    match s {
        ir::Selection::Tournament { size } => format!("tournament(size = {size})"),
        ir::Selection::Roulette => "roulette()".into(),
        ir::Selection::Rank => "rank()".into(),
    }
}

/// A crossover operator call.
pub fn crossover(c: &ir::Crossover) -> String {
    match c {
        ir::Crossover::Uniform { rate } => format!("uniform(rate = {rate})"),
        ir::Crossover::OnePoint { rate } => format!("one_point(rate = {rate})"),
        ir::Crossover::Blend { alpha, rate } => format!("blend(alpha = {alpha}, rate = {rate})"),
    }
}

/// A mutation operator call.
pub fn mutation(m: &ir::Mutation) -> String {
    match m {
        ir::Mutation::Gaussian { sigma, rate } => format!("gaussian(sigma = {sigma}, rate = {rate})"),
        ir::Mutation::Reset { rate } => format!("reset(rate = {rate})"),
    }
}

/// Seconds as the shortest exact duration literal (`30m`, `90s`).
pub fn duration(secs: f64) -> String {
    for (unit, size) in [("d", 86_400.0), ("h", 3_600.0), ("m", 60.0)] {
        if secs >= size && (secs / size).fract() == 0.0 {
            return format!("{}{unit}", secs / size);
        }
    }
    format!("{secs}s")
}

/// A duration written by [`duration`] (`5m`) back in seconds.
pub fn parse_duration(text: &str) -> Option<f64> {
    let (number, unit) = text.split_at(text.find(|c: char| c.is_ascii_alphabetic())?);
    let scale = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3_600.0,
        "d" => 86_400.0,
        _ => return None,
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// Dollars as written in `.gaf` files.
pub fn money(dollars: f64) -> String {
    if dollars.fract() == 0.0 {
        format!("${dollars}")
    } else {
        format!("${dollars:.2}")
    }
}

/// A job's validation as the plan shows it (`holdout 20%`, `walk_forward(train = 504 bars,
/// test = 126 bars, step = 126 bars, rolling)`); `None` when it trains on everything.
pub fn validation(v: &ir::Validation) -> Option<String> {
    let length = |l: &ir::WindowLength| match *l {
        ir::WindowLength::Bars(b) => format!("{b} bars"),
        ir::WindowLength::Seconds(s) => duration(s),
        ir::WindowLength::Months(m) if m % 12 == 0 => format!("{}y", m / 12),
        ir::WindowLength::Months(m) => format!("{m}mo"),
    };
    match v {
        ir::Validation::InSample => None,
        ir::Validation::HoldoutFraction(f) => Some(format!("holdout {}%", f * 100.0)),
        ir::Validation::HoldoutFrom(date) => Some(format!("holdout from {date}")),
        ir::Validation::WalkForward { train, test, step, anchored } => Some(format!(
            "walk_forward(train = {}, test = {}, step = {}, {})",
            length(train),
            length(test),
            length(step),
            if *anchored { "anchored" } else { "rolling" }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Fitness, Metric};

    #[test]
    fn fitness_keeps_needed_parentheses_only() {
        let m = |m| Box::new(Fitness::Metric(m));
        let e = Fitness::Binary(
            ArithOp::Sub,
            m(Metric::Sharpe),
            Box::new(Fitness::Binary(ArithOp::Mul, Box::new(Fitness::Const(0.5)), m(Metric::MaxDrawdown))),
        );
        assert_eq!(fitness(&e), "sharpe - 0.5 * max_drawdown");
        let e = Fitness::Binary(
            ArithOp::Sub,
            m(Metric::Sharpe),
            Box::new(Fitness::Binary(ArithOp::Sub, m(Metric::Sortino), m(Metric::Calmar))),
        );
        assert_eq!(fitness(&e), "sharpe - (sortino - calmar)");
        let e = Fitness::Neg(Box::new(Fitness::Binary(ArithOp::Add, m(Metric::Sharpe), m(Metric::Calmar))));
        assert_eq!(fitness(&e), "-(sharpe + calmar)");
    }

    #[test]
    fn durations_use_the_largest_exact_unit() {
        assert_eq!(duration(300.0), "5m");
        assert_eq!(duration(1800.0), "30m");
        assert_eq!(duration(7200.0), "2h");
        assert_eq!(duration(90.0), "90s");
        for secs in [300.0, 1800.0, 7200.0, 90.0, 1.5] {
            assert_eq!(parse_duration(&duration(secs)), Some(secs));
        }
    }
}
