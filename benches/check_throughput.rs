//! `cargo bench --bench check_throughput`: checks (and formats) a generated program of
//! 10,000 blocks in this process, on one thread, and prints MB/s and peak memory.
//!
//! Peak memory is the process's resident high-water mark (`VmHWM`), reset just before the
//! check through `/proc/self/clear_refs`, so it counts the source, the AST, the IR and the
//! diagnostics, less what the process held before (the generated text is counted in both).

use gaform_compiler::source::SourceFile;
use gaform_compiler::{check, CheckOptions, NoHost};
use std::fmt::Write;
use std::time::Instant;

/// A program of `computes * 3 + shared` blocks: every compute has a job and a monitor.
fn generate(blocks: usize) -> String {
    let mut out = String::new();
    let groups = blocks / 10;
    for g in 0..groups {
        let _ = write!(
            out,
            r#"# group {g}
let limit_{g} = $5_000

cloud aws_{g} {{
  provider = aws
  region   = "us-east-1"
  tags {{
    team = "research-{g}"
  }}
}}

quota q_{g} {{
  max_cpus = 10000
  max_gpus = 64
}}

budget b_{g} {{
  amount            = limit_{g}
  period            = month
  max_cost_per_hour = limit_{g} / 100
  alert {{
    at     = 80%
    action = notify
  }}
}}

spot_policy spot_{g} {{
  market     = spot
  fallback   = on_demand
  allocation = price_capacity_optimized
}}
"#
        );
        for c in 0..2 {
            let _ = write!(
                out,
                r#"
compute cluster_{g}_{c} {{
  cloud          = aws_{g}
  quota          = q_{g}
  budget         = b_{g}
  auto_terminate = 30m
  head {{
    instance_type = "m5.2xlarge"
  }}
  workers cpu {{
    instance_types = ["c5.4xlarge", "c5a.4xlarge", "c6i.4xlarge"]
    min            = 1
    max            = 4
    spot           = spot_{g}
  }}
}}

job search_{g}_{c} {{
  compute     = cluster_{g}_{c}
  data        = "data/GOOG_wiki.csv"
  strategy    = sma_crossover(fast = 2..50, slow = 10..200)
  fitness     = sharpe - 0.5 * max_drawdown
  population  = 500
  generations = 100
  selection   = tournament(size = 3)
  crossover   = uniform(rate = 0.9)
  mutation    = gaussian(sigma = 0.1, rate = 0.2)
  migration {{
    every = 10
    count = 2
  }}
  seed = {c}
}}
"#
            );
        }
        let _ = write!(
            out,
            r#"
service serve_{g} {{
  job   = search_{g}_0
  route = "/strategy/{g}"
}}

monitor watch_{g} {{
  job     = search_{g}_1
  metrics = [generation, best_fitness, cost]
  alert {{
    when   = cost > $500
    action = stop
  }}
}}
"#
        );
    }
    out
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn current_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let text = generate(10_000);
    let blocks = text.lines().filter(|l| !l.starts_with(' ') && l.ends_with('{')).count();
    let mb = text.len() as f64 / 1e6;
    println!("program: {blocks} top-level blocks, {:.2} MB", mb);
    let source = SourceFile::new("bench.gaf", text.clone());
    if let Ok(path) = std::env::var("GAFORM_BENCH_WRITE") {
        let _ = std::fs::write(path, &text);
    }

    let before = current_rss_kib();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let first = check(&source, &NoHost, &CheckOptions::default());
    let peak = peak_rss_kib();
    assert!(first.program.is_some(), "generated program must check clean: {:?}", first.diagnostics.first());
    drop(first);

    let mut times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let checked = check(&source, &NoHost, &CheckOptions::default());
        times.push(start.elapsed().as_secs_f64());
        assert!(checked.program.is_some());
    }
    times.sort_by(f64::total_cmp);
    let best = times[0];
    let median = times[times.len() / 2];
    println!(
        "check: best {:.3} s ({:.1} MB/s), median {:.3} s ({:.1} MB/s)",
        best,
        mb / best,
        median,
        mb / median
    );
    if let (Some(before), Some(peak)) = (before, peak) {
        let grown = peak.saturating_sub(before) as f64 / 1024.0;
        println!(
            "memory: peak RSS {:.1} MiB during check, {:.1} MiB above the {:.1} MiB held before ({:.1}x the source)",
            peak as f64 / 1024.0,
            grown,
            before as f64 / 1024.0,
            grown / (text.len() as f64 / 1048576.0)
        );
    }

    let mut parse_times = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        let file = gaform_compiler::parse::parse(&source, &mut gaform_compiler::diag::Problems::default());
        parse_times.push(start.elapsed().as_secs_f64());
        assert!(!file.items.is_empty());
    }
    parse_times.sort_by(f64::total_cmp);
    println!("of which parsing: best {:.3} s ({:.1} MB/s)", parse_times[0], mb / parse_times[0]);

    let start = Instant::now();
    let formatted = gaform_compiler::fmt::format(&source).map(|s| s.len());
    let took = start.elapsed().as_secs_f64();
    println!("fmt: {:.3} s ({:.1} MB/s), output {} bytes", took, mb / took, formatted.unwrap_or(0));
}
