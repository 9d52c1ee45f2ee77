//! `gaform status FILE`, `gaform logs JOB FILE`, `gaform events FILE` and `gaform unlock
//! FILE`: what a stack runs and how far its jobs are, a job's log, what gaform did on its
//! own and why, and clearing a lock left by a killed apply.

use super::budget;
use super::service_status::ServiceStatus;
use super::stack::stack_dir;
use crate::cli::{EventsArgs, LogsArgs, StackArgs, StatusArgs};
use crate::failure::Failure;
use gaform_agent::report::{age, job_detail};
use gaform_compiler::ir::Keyword;
use gaform_compiler::plan::render::money;
use gaform_control::alerts::{MonitorStatus, State};
use gaform_control::ledger::Ledger;
use gaform_providers::books::Books;
use gaform_providers::local::records::{now, timestamp};
use gaform_providers::local::{clear_stale, JobRecord, StackDir};
use gaform_providers::service::{Heartbeat, ServiceSpec};
use gaform_providers::CloudError;
use gaform_providers::Provider;
use gaform_runtime::store::LocalDir;
use gaform_runtime::telemetry::read_reports;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

pub fn status(args: &StatusArgs) -> Result<ExitCode, Failure> {
    let file = file_or_only(args.file.as_deref())?;
    let stack = stack_dir(&file);
    if args.json {
        outln!("{}", json(&file, &stack)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut out = String::new();
    let clouds = aws_clouds(&file);
    if stack.stack()?.is_none() && clouds.is_empty() {
        outln!("{}: nothing is provisioned (run `gaform apply {}`)", file.display(), file.display());
        return Ok(ExitCode::SUCCESS);
    }
    let _ = writeln!(out, "stack {} (records in {})", file.display(), stack.root().display());
    let instances = stack.instances()?;
    if instances.is_empty() {
        let _ = writeln!(out, "\n  no instances running");
    } else {
        let _ = writeln!(out, "\n  instances:");
    }
    for r in &instances {
        let state = match r.process {
            Some(p) if p.is_alive() => format!("pid {} · up {}", p.pid, age(now() - r.started_at)),
            Some(p) => format!("pid {} · gone (the next plan replaces it)", p.pid),
            None => "starting".into(),
        };
        let what = r.instance_type();
        let _ = writeln!(out, "    {:<40} {what:<12} {state}", r.address.instance(r.index));
    }
    let jobs = stack.jobs()?;
    if !jobs.is_empty() || clouds.iter().any(|c| !c.jobs.is_empty()) {
        let _ = writeln!(out, "\n  jobs:");
    }
    for j in &jobs {
        let generations: u64 = j.attributes.get("generations").and_then(|g| g.parse().ok()).unwrap_or(0);
        let reached = progress(&stack, &j.name);
        let done_islands = reached.values().filter(|&&g| g >= generations).count();
        let furthest = reached.values().copied().min().unwrap_or(0);
        let running = format!(
            "generation {furthest}/{generations} on the slowest of {} island(s) ({done_islands} done)",
            j.islands
        );
        let _ = writeln!(out, "    {:<40} {:<12} {}", j.address, j.status.word(), job_detail(j, running));
    }
    for c in &clouds {
        for j in &c.jobs {
            let running = format!("{} island(s) on cloud {}", j.islands, c.name);
            let _ = writeln!(out, "    {:<40} {:<12} {}", j.address, j.status.word(), job_detail(j, running));
        }
    }
    for c in &clouds {
        for e in c.ledger.running() {
            let up = age(now() - e.started_at);
            let what = format!("{} {}", e.instance_type, e.market.keyword());
            let _ = writeln!(out, "    {:<40} {what:<12} {} on {} · up {up}", e.address, e.instance, c.name);
        }
    }
    let services = service_rows(&stack, &clouds)?;
    if !services.is_empty() {
        let _ = writeln!(out, "\n  services:");
    }
    for s in &services {
        let _ = writeln!(out, "    {:<40} {}", s.address, s.summary());
        for r in s.replicas.iter().filter(|r| r.why.is_some()) {
            let who = r.instance.clone().unwrap_or_else(|| format!("[{}]", r.index));
            let why = r.why.as_deref().unwrap_or_default();
            let _ = writeln!(out, "      {who} {:<30} {why}", r.health);
        }
    }
    let budgets = budget_rows(&stack, &clouds)?;
    if !budgets.is_empty() {
        let _ = writeln!(out, "\n  budgets:");
    }
    for b in &budgets {
        let simulated = if b.simulated { " (simulated)" } else { "" };
        let alerts: Vec<String> = b
            .alerts
            .iter()
            .map(|a| {
                let when = a.fired_at.map_or("not fired".into(), |t| format!("fired {}", timestamp(t)));
                format!("{:.0}% {} {when}", a.at * 100.0, a.action)
            })
            .collect();
        let _ = writeln!(
            out,
            "    {:<40} {} of {} this {}{simulated} · {}/h now · {}",
            b.name,
            money(b.spent),
            money(b.amount),
            b.period,
            money(b.per_hour),
            alerts.join(", ")
        );
    }
    let monitors = monitor_rows(&stack, &clouds);
    if !monitors.is_empty() {
        let _ = writeln!(out, "\n  monitors:");
    }
    for m in &monitors {
        let shown = |v: f64| if v.fract() == 0.0 { format!("{v}") } else { format!("{v:.6}") };
        let values: Vec<String> = m.values.iter().map(|(k, v)| format!("{k} {}", shown(*v))).collect();
        let values = if values.is_empty() { "nothing measured yet".into() } else { values.join(" · ") };
        let _ =
            writeln!(out, "    {:<40} job {} · {} · at {}", m.monitor, m.job, values, timestamp(m.updated));
        for a in &m.alerts {
            let since = match a.state {
                State::Inactive => String::new(),
                State::Pending { since } | State::Firing { since, .. } => {
                    format!(" since {}", timestamp(since))
                }
            };
            let what = format!(
                "{} ({})",
                gaform_compiler::ir::alert_title(a.name.as_deref(), a.alert),
                a.expression
            );
            let _ = writeln!(out, "      {what:<38} {}{since} · {}", a.state.word(), a.action.keyword());
        }
    }
    out!("{out}");
    Ok(ExitCode::SUCCESS)
}

/// Every monitor as its head last measured it: the local cloud's, then each aws cloud's.
fn monitor_rows(stack: &StackDir, clouds: &[AwsCloud]) -> Vec<MonitorStatus> {
    let mut rows = readable("local", stack.monitor_statuses()).unwrap_or_default();
    for c in clouds {
        rows.extend(readable(&c.name, c.books.monitor_statuses()).unwrap_or_default());
    }
    rows
}

/// One aws cloud's books, with its ledger read once.
struct AwsCloud {
    name: String,
    books: Arc<dyn Books>,
    ledger: Ledger,
    jobs: Vec<JobRecord>,
    services: Vec<(ServiceSpec, Vec<Heartbeat>)>,
}

/// The file's aws clouds, as their providers, read as they are (nothing is made). Loading
/// the file connects its clouds; a file that does not check has only its local records.
fn aws_providers(file: &Path) -> Vec<(String, Arc<dyn Provider>)> {
    super::stack::load_quietly(file).map(|s| s.aws).unwrap_or_default()
}

/// The books of the file's aws clouds (`events`).
fn aws_books(file: &Path) -> Vec<Arc<dyn Books>> {
    let providers = aws_providers(file);
    providers.iter().filter_map(|(name, p)| readable(name, p.books(false)).flatten()).collect()
}

/// The file's aws clouds with their ledgers and job records, each read once (`status`).
fn aws_clouds(file: &Path) -> Vec<AwsCloud> {
    let mut out = Vec::new();
    for (name, provider) in aws_providers(file) {
        let read = provider.books(false).and_then(|books| {
            let Some(books) = books else { return Ok(None) };
            Ok(Some(AwsCloud {
                ledger: books.ledger()?,
                jobs: provider.jobs()?,
                services: provider.services()?,
                name: name.clone(),
                books,
            }))
        });
        out.extend(readable(&name, read).flatten());
    }
    out
}

/// What an aws cloud gave, or nothing and a warning: a cloud that cannot be reached (no
/// network, no credentials) still leaves the local records to show.
fn readable<T>(cloud: &str, read: Result<T, CloudError>) -> Option<T> {
    read.map_err(|e| errln!("cloud `{cloud}` cannot be read, so it is left out: {e}")).ok()
}

/// Every cloud's services: the local cloud's, then each aws cloud's.
fn service_rows(stack: &StackDir, clouds: &[AwsCloud]) -> Result<Vec<ServiceStatus>, Failure> {
    let mut rows = super::service_status::services(stack)?;
    for c in clouds {
        rows.extend(super::service_status::aws_services(&c.ledger, &c.services, now()));
    }
    Ok(rows)
}

/// Every cloud's budgets: the local cloud's (simulated), then each aws cloud's.
fn budget_rows(stack: &StackDir, clouds: &[AwsCloud]) -> Result<Vec<budget::Row>, Failure> {
    let mut rows = budget::rows(stack, &stack.ledger()?, true, now())?;
    for c in clouds {
        rows.extend(budget::rows(c.books.as_ref(), &c.ledger, false, now())?);
    }
    Ok(rows)
}

/// `status --json`: the instances, the jobs and the budgets, as one object.
fn json(file: &Path, stack: &StackDir) -> Result<String, Failure> {
    let clouds = aws_clouds(file);
    let mut instances: Vec<serde_json::Value> = stack
        .instances()?
        .iter()
        .map(|r| {
            serde_json::json!({
                "address": r.address.instance(r.index),
                "instance_type": r.instance_type(),
                "pid": r.process.map(|p| p.pid),
                "alive": r.process.is_some_and(|p| p.is_alive()),
                "started_at": r.started_at,
                "per_hour": r.per_hour,
            })
        })
        .collect();
    // An aws cloud's instances are its ledger's running starts (kept level with EC2 by its
    // heads and by apply).
    for c in &clouds {
        for e in c.ledger.running() {
            instances.push(serde_json::json!({
                "address": e.address,
                "cloud": c.name,
                "instance_id": e.instance,
                "instance_type": e.instance_type,
                "market": e.market.keyword(),
                "started_at": e.started_at,
                "per_hour": e.per_hour,
            }));
        }
    }
    let local = stack.jobs()?;
    let on_aws = clouds.iter().flat_map(|c| c.jobs.iter().map(move |j| (Some(c.name.as_str()), j)));
    let jobs: Vec<serde_json::Value> = local
        .iter()
        .map(|j| (None, j))
        .chain(on_aws)
        .map(|(cloud, j)| {
            serde_json::json!({
                "address": j.address,
                "cloud": cloud,
                "status": j.status,
                "started_at": j.started_at,
                "finished_at": j.finished_at,
                "results_dir": j.results_dir,
            })
        })
        .collect();
    let value = serde_json::json!({
        "file": file,
        "records": stack.root(),
        "provisioned": stack.stack()?.is_some(),
        "instances": instances,
        "jobs": jobs,
        "services": service_rows(stack, &clouds)?,
        "budgets": budget_rows(stack, &clouds)?,
        "monitors": monitor_rows(stack, &clouds),
    });
    serde_json::to_string_pretty(&value).map_err(|e| Failure::from(e.to_string()))
}

pub fn events(args: &EventsArgs) -> Result<ExitCode, Failure> {
    let file = file_or_only(args.file.as_deref())?;
    let mut events = stack_dir(&file).events()?;
    for books in aws_books(&file) {
        events.extend(books.events()?);
    }
    events.sort_by(|a, b| a.time.total_cmp(&b.time));
    for e in &events {
        if args.json {
            out!("{}", e.to_line());
        } else {
            outln!("{}  {}", timestamp(e.time), e.reason);
        }
    }
    if events.is_empty() && !args.json {
        outln!("{}: no events (gaform has done nothing on its own here)", file.display());
    }
    Ok(ExitCode::SUCCESS)
}

pub fn logs(args: &LogsArgs) -> Result<ExitCode, Failure> {
    let file = file_or_only(args.file.as_deref())?;
    let stack = stack_dir(&file);
    let log = stack.job_log(&args.job);
    match std::fs::read_to_string(&log) {
        Ok(text) => {
            out!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let known: Vec<String> = stack.jobs()?.into_iter().map(|j| j.name).collect();
            Err(if known.is_empty() {
                format!(
                    "no job has run in {} (nothing recorded in {})",
                    file.display(),
                    stack.root().display()
                )
                .into()
            } else {
                format!("no log for job `{}`; recorded jobs: {}", args.job, known.join(", ")).into()
            })
        }
        Err(e) => Err(format!("cannot read {}: {e}", log.display()).into()),
    }
}

/// `gaform unlock [FILE]`: clears the stack's stale locks, the local lock file's and each
/// aws cloud's on S3; refuses one whose holder still runs.
pub fn unlock(args: &StackArgs) -> Result<ExitCode, Failure> {
    let file = file_or_only(args.file.as_deref())?;
    outln!("{}", clear_stale(&stack_dir(&file))?);
    match super::stack::load(&file) {
        Ok(stack) => {
            for (cloud, provider) in &stack.aws {
                match provider.clear_stale_lock().map_err(|e| format!("aws cloud `{cloud}`: {e}"))? {
                    Some(removed) => outln!("{removed}"),
                    None => outln!("aws cloud `{cloud}`: the stack is not locked there"),
                }
            }
        }
        // A file that no longer checks still has its local lock cleared.
        Err(super::stack::LoadError::Reported) => {}
        Err(super::stack::LoadError::Failed(failure)) => return Err(failure),
    }
    Ok(ExitCode::SUCCESS)
}

/// The generation each island has reached, from its workers' reports
/// (`gaform_runtime::telemetry`, rewritten twice a tick): every report in the job's store,
/// those of workers since shed or replaced included, the furthest generation per island.
fn progress(stack: &StackDir, job: &str) -> BTreeMap<u64, u64> {
    let root = stack.job_store(job);
    let workers: Vec<String> = std::fs::read_dir(root.join("reports"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.strip_suffix(".json").map(str::to_string))
        .collect();
    let mut out = BTreeMap::new();
    for report in read_reports(&LocalDir::new(root), &workers).unwrap_or_default() {
        for (island, history) in report.islands {
            if let Some(last) = history.last() {
                let reached = out.entry(island).or_insert(0);
                *reached = last.generation.max(*reached);
            }
        }
    }
    out
}

/// The file given, or the only `.gaf` file in the current directory.
fn file_or_only(file: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(f) = file {
        return Ok(f.to_path_buf());
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(".")
        .map_err(|e| format!("cannot list the current directory: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "gaf"))
        .collect();
    found.sort();
    match found.as_slice() {
        [only] => Ok(only.clone()),
        [] => Err("no .gaf file here: name the file".into()),
        _ => Err(format!(
            "several .gaf files here ({}): name one",
            found.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gaform_runtime::ga::{Event, GenerationStats};
    use gaform_runtime::telemetry::{EvalTiming, Reporter};
    use std::time::Duration;

    fn generation(island: u64, generation: u64) -> Event {
        let stats = GenerationStats {
            generation,
            best: 0.0,
            finite: 1,
            mean: 0.0,
            m2: 0.0,
            evaluations: 1,
            broken: Vec::new(),
        };
        Event::Generation {
            island,
            generation,
            best: 0.0,
            mean: 0.0,
            evaluations: 0,
            seconds: 0.0,
            stats,
            timing: EvalTiming::default(),
        }
    }

    #[test]
    fn progress_is_the_furthest_generation_each_islands_workers_reported() {
        let dir = std::env::temp_dir().join(format!("gaform-status-progress-{}", std::process::id()));
        let stack = StackDir::new(&dir);
        let store = LocalDir::new(stack.job_store("evolve"));
        // slot-0 ran islands 0 and 2, then was shed; slot-1 took island 2 over.
        let shed = Reporter::new(&store, "slot-0", 1, Duration::ZERO);
        for e in [generation(0, 7), generation(2, 5)] {
            shed.event(&e);
        }
        let left = Reporter::new(&store, "slot-1", 1, Duration::ZERO);
        for e in [generation(1, 9), generation(2, 3), generation(2, 6)] {
            left.event(&e);
        }
        assert_eq!(progress(&stack, "evolve"), BTreeMap::from([(0, 7), (1, 9), (2, 6)]));
        assert!(progress(&stack, "other").is_empty(), "a job with no reports yet has no progress");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
