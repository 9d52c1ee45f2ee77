//! The prelude: `sma_crossover`, `rsi_reversion` and `breakout`, written in the language
//! (`prelude.gaf`) and checked like any file's strategies. A job's call of one with
//! today's syntax becomes that strategy with each gene's range as the call gives it.

use crate::ir::{Domain, ParamRange, StrategyDef};
use crate::source::{SourceFile, Span};
use std::sync::OnceLock;

/// The prelude's text, as shipped.
pub const SOURCE: &str = include_str!("prelude.gaf");

/// The prelude's strategies, checked once per process.
pub fn strategies() -> &'static [StrategyDef] {
    static CHECKED: OnceLock<Vec<StrategyDef>> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let source = SourceFile::new("prelude.gaf", SOURCE);
        let checked = crate::check(&source, &crate::NoHost, &crate::CheckOptions::default());
        let mut strategies = checked.program.map(|p| p.strategies).unwrap_or_default();
        for def in &mut strategies {
            def.prelude = true;
        }
        strategies
    })
}

/// The prelude's strategy `name`.
pub fn strategy(name: &str) -> Option<&'static StrategyDef> {
    strategies().iter().find(|s| s.name == name)
}

/// `file`'s strategies, then the prelude's whose names the file does not take: what a
/// `--strategy` call given with a file may name.
pub fn with(file: &[StrategyDef]) -> Vec<StrategyDef> {
    let mut all = file.to_vec();
    let missing = strategies().iter().filter(|p| !file.iter().any(|s| s.name == p.name));
    all.extend(missing.cloned());
    all
}

/// The prelude's strategy `name` as written there (`strategy name { ... }`).
pub fn text(name: &str) -> Option<&'static str> {
    let span = strategy(name)?.span;
    SOURCE.get(span.start as usize..span.end as usize)
}

/// The prelude's `name` with each named gene's range replaced (`ranges` in any order), its
/// spans all `span` (the call's: the prelude's own text is not the file's).
pub fn instantiate(name: &str, ranges: &[(&str, ParamRange)], span: Span) -> Option<StrategyDef> {
    let mut def = strategy(name)?.clone();
    def.span = span;
    for gene in &mut def.genes {
        gene.span = span;
        if let Some((_, r)) = ranges.iter().find(|(n, _)| *n == gene.name) {
            gene.domain = Domain::Int { lo: r.lo, hi: r.hi, step: 1 };
        }
    }
    Some(def)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prelude_checks_clean_and_holds_the_three_built_ins() {
        let source = SourceFile::new("prelude.gaf", SOURCE);
        let checked = crate::check(&source, &crate::NoHost, &crate::CheckOptions::default());
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        let names: Vec<&str> = strategies().iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["sma_crossover", "rsi_reversion", "breakout"]);
        for signature in crate::schema::STRATEGIES {
            let def = strategy(signature.name).map(|d| d.genes.iter().map(|g| g.name.as_str()).collect());
            let params: Vec<&str> = signature.params.iter().map(|(p, _, _)| *p).collect();
            assert_eq!(
                def,
                Some(params),
                "{}: the call's parameters are the prelude's genes",
                signature.name
            );
        }
    }

    #[test]
    fn a_call_replaces_the_genes_it_names() {
        let r = |lo, hi| ParamRange { lo, hi };
        let span = Span::new(3, 9);
        let Some(def) = instantiate("sma_crossover", &[("slow", r(30, 30)), ("fast", r(5, 20))], span) else {
            panic!("sma_crossover is in the prelude");
        };
        let domains: Vec<&Domain> = def.genes.iter().map(|g| &g.domain).collect();
        assert_eq!(
            domains,
            [&Domain::Int { lo: 5, hi: 20, step: 1 }, &Domain::Int { lo: 30, hi: 30, step: 1 }]
        );
        assert!(def.prelude && def.span == span && def.genes.iter().all(|g| g.span == span));
        assert_eq!(instantiate("ema_rsi", &[], span), None);
    }

    #[test]
    fn a_built_in_called_bare_or_in_part_searches_the_preludes_ranges_for_the_rest() {
        let file = |strategy: &str| {
            format!(
                "cloud c {{\n  provider = local\n}}\ncompute x {{\n  cloud = c\n  head {{ instance_type = \"m5.large\" }}\n  workers w {{\n    instance_type = \"c5.large\"\n    min = 1\n    max = 2\n  }}\n}}\njob j {{\n  compute = x\n  data = \"d.csv\"\n  strategy = {strategy}\n  population = 20\n  generations = 3\n}}\n"
            )
        };
        let genes = |strategy: &str| {
            let source = SourceFile::new("t.gaf", file(strategy));
            let checked = crate::check(&source, &crate::NoHost, &crate::CheckOptions::default());
            let program = checked.program.unwrap_or_else(|| panic!("{strategy}: {:?}", checked.diagnostics));
            let job = program.jobs.first().map(|j| j.strategy.clone());
            job.map(|s| s.genes.iter().map(|g| crate::plan::describe::domain(&g.domain)).collect::<Vec<_>>())
        };
        assert_eq!(genes("sma_crossover"), Some(vec!["2..50".to_string(), "10..200".to_string()]));
        assert_eq!(
            genes("rsi_reversion(lower = 25)"),
            Some(vec!["5..30".to_string(), "25".to_string(), "60..90".to_string()])
        );
        assert_eq!(genes("breakout(5..9, 3..4)"), Some(vec!["5..9".to_string(), "3..4".to_string()]));
    }
}
