//! `cargo bench --bench plan_scale`: plans a generated program of 1,000 worker groups (100
//! computes of 10 groups, one job each) against an observed state of 10,000 instances with
//! some drift, on one thread, and prints the time of each stage and the peak memory.
//!
//! Peak memory is the resident high-water mark (`VmHWM`), reset through
//! `/proc/self/clear_refs` just before the measured run, so it counts the text, the IR,
//! the desired state, the observed state and the plan, less what the process held before.

use gaform_compiler::plan::{self, render, Addr, Instance, JobStatus, Kind, Observed, ObservedResource};
use gaform_compiler::source::SourceFile;
use gaform_compiler::{check, CheckOptions, NoHost};
use std::fmt::Write;
use std::time::{Duration, Instant};

const COMPUTES: usize = 100;
const GROUPS: usize = 10;
const PER_GROUP: u64 = 10;

fn generate() -> String {
    let mut out = String::from("cloud box {\n  provider = local\n}\n");
    for c in 0..COMPUTES {
        let _ = write!(
            out,
            "\ncompute c{c} {{\n  cloud = box\n  head {{\n    instance_type = \"m5.large\"\n  }}\n"
        );
        for g in 0..GROUPS {
            let _ = write!(
                out,
                "  workers g{g} {{\n    instance_type = \"c5.large\"\n    min = {PER_GROUP}\n    max = {PER_GROUP}\n  }}\n"
            );
        }
        let _ = write!(
            out,
            "}}\n\njob j{c} {{\n  compute = c{c}\n  workers = g0\n  data = \"d.csv\"\n  strategy = sma_crossover(fast = 2..50, slow = 10..200)\n  population = 100\n  generations = 10\n}}\n"
        );
    }
    out
}

/// Everything up, except: every 7th group lost an instance, every 13th has a duplicate,
/// and a retired compute of 10 groups is still there.
fn observed(desired: &plan::Desired) -> Observed {
    let mut o = Observed::default();
    let mut pid = 1000u64;
    let mut next = || {
        pid += 1;
        format!("pid {pid}")
    };
    for (i, r) in desired.resources.iter().enumerate() {
        let count = r.count.as_ref().map_or(0, |c| c.value);
        let mut instances: Vec<Instance> = (0..count).map(|k| Instance { index: k, id: next() }).collect();
        if r.kind == Kind::WorkerGroup && i % 7 == 0 {
            instances.pop();
        }
        if r.kind == Kind::WorkerGroup && i % 13 == 0 {
            instances.push(Instance { index: 0, id: next() });
        }
        let job = (r.kind == Kind::Job).then_some(JobStatus::Running);
        let resource = ObservedResource {
            provider: "local".into(),
            cloud: String::new(),
            kind: r.kind,
            attributes: r.attributes.clone(),
            instances,
            job,
            depends_on: r.depends_on.clone(),
            frozen: None,
            mix: None,
        };
        o.resources.insert(r.addr.clone(), resource);
    }
    for g in 0..GROUPS {
        let instances = (0..PER_GROUP).map(|k| Instance { index: k, id: next() }).collect();
        o.resources.insert(
            Addr::workers("retired", &format!("g{g}")),
            ObservedResource {
                provider: "local".into(),
                cloud: String::new(),
                kind: Kind::WorkerGroup,
                attributes: Default::default(),
                instances,
                job: None,
                depends_on: vec![Addr::head("retired")],
                frozen: None,
                mix: None,
            },
        );
    }
    o
}

fn vm(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let text = generate();
    let source = SourceFile::new("scale.gaf".to_string(), text.clone());
    let first =
        check(&source, &NoHost, &CheckOptions::default()).program.expect("generated program checks clean");
    let desired = plan::desired(&first, &NoHost);
    let seen = observed(&desired);
    let instances: usize = seen.resources.values().map(|r| r.instances.len()).sum();
    let groups = desired.resources.iter().filter(|r| r.kind == Kind::WorkerGroup).count();
    println!(
        "program: {} bytes, {groups} worker groups; observed: {} resources, {instances} instances",
        text.len(),
        seen.resources.len()
    );
    drop((first, desired));

    let base = vm("VmRSS:");
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let mut best = [Duration::MAX; 4];
    let mut changes = 0;
    for _ in 0..5 {
        let t0 = Instant::now();
        let program = check(&source, &NoHost, &CheckOptions::default()).program.expect("checks");
        let t1 = Instant::now();
        let desired = plan::desired(&program, &NoHost);
        let t2 = Instant::now();
        let p = plan::diff(&desired, &seen, "scale.gaf", "sha");
        let t3 = Instant::now();
        let shown = render::human(&p, false);
        let t4 = Instant::now();
        changes = p.resource_changes.len();
        std::hint::black_box(shown);
        for (slot, d) in best.iter_mut().zip([t1 - t0, t2 - t1, t3 - t2, t4 - t3]) {
            *slot = (*slot).min(d);
        }
    }
    let peak = vm("VmHWM:");
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("plan: {changes} changes");
    println!(
        "best of 5, one thread: check {:.1} ms · desired state {:.1} ms · diff {:.1} ms · render {:.1} ms · total {:.1} ms",
        ms(best[0]),
        ms(best[1]),
        ms(best[2]),
        ms(best[3]),
        best.iter().map(|d| ms(*d)).sum::<f64>()
    );
    println!(
        "peak memory: {:.1} MiB resident ({:.1} MiB above the {:.1} MiB held before)",
        peak as f64 / 1024.0,
        peak.saturating_sub(base) as f64 / 1024.0,
        base as f64 / 1024.0
    );
}
