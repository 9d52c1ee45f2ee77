//! `gaform head --stack DIR --address compute.NAME.head --index 0`: a compute's head on the
//! local cloud. It tends the compute's running jobs: replaces a worker that died (the
//! replacement resumes its islands from their checkpoints), gathers the results when every
//! island is done, stops a job at its `max_runtime`, and terminates the compute when its
//! jobs are over or it has been idle for `auto_terminate`. Every `GAFORM_TICK` it measures
//! the compute's budget and carries out what that decides (`acts`), notifying as it goes.

mod acts;
mod measure;
pub(super) mod monitor;

use super::budget::Shed;
use crate::cli::HeadArgs;
use crate::notify::Outbox;
use gaform_compiler::plan::render::money;
use gaform_compiler::plan::{Addr, JobStatus};
use gaform_control::event::{By, Event, Kind};
use gaform_control::ledger::Ledger;
use gaform_providers::books::Books;
use gaform_providers::local::agent::{self, Registration};
use gaform_providers::local::records::now;
use gaform_providers::local::{JobRecord, LocalProvider, StackDir};
use gaform_runtime::ga;
use gaform_runtime::results;
use gaform_runtime::store::{LocalDir, Store};
use gaform_runtime::telemetry::read_reports;
use monitor::{Monitoring, Order, View};
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A worker slot that keeps dying this often fails its job instead of looping.
const MAX_REPLACEMENTS: u32 = 5;
/// A slot whose process has not registered this long after its start is taken as dead.
const START_GRACE_SECS: f64 = 30.0;
const TICK: Duration = Duration::from_millis(250);
/// How long an exiting head waits for its notifications still under way.
pub(super) const NOTIFY_DRAIN: Duration = Duration::from_secs(30);

/// A head on the local cloud (`--stack`).
pub fn run(args: &HeadArgs) -> Result<ExitCode, String> {
    let address = Addr(args.address.clone());
    let stack = StackDir::new(args.stack.as_ref().ok_or("give --stack (local cloud) or --s3-stack (aws)")?);
    let Some(me) = agent::register(&stack, &address, args.index)? else { return Ok(ExitCode::SUCCESS) };
    let compute = address.compute().ok_or_else(|| format!("{address} is not a compute's head"))?.to_string();
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the gaform executable: {e}"))?;
    let provider = LocalProvider::new(stack.clone(), exe, Default::default(), None);
    outln!("{address}: pid {} tends compute `{compute}`", me.me.pid);
    let mut outbox = Outbox::default();
    let result = tend_compute(&stack, &provider, &me, &compute, args.tick, &mut outbox);
    // Notifications under way (an alert and the stop it led to, say) still go out.
    outbox.drain(NOTIFY_DRAIN);
    result
}

/// The head's loop, until its compute is over or the head is replaced.
fn tend_compute(
    stack: &StackDir,
    provider: &LocalProvider,
    me: &Registration,
    compute: &str,
    tick: Duration,
    outbox: &mut Outbox,
) -> Result<ExitCode, String> {
    let address = &me.record.address;
    let stack_name = stack.root().file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let books: Arc<dyn Books> = Arc::new(stack.clone());
    // Apply refused compute whose budget was spent, so the first look can wait a tick.
    let mut next_watch = Instant::now() + tick;
    let mut seen_running = false;
    let mut idle_since = Instant::now();
    let mut monitoring = start_monitoring(stack, me, compute);
    // A firing `scale_down` sheds one worker per five ticks.
    let cooldown = 5.0 * tick.as_secs_f64();
    loop {
        if !me.is_current(stack) {
            outln!("{address}: replaced or removed; exiting");
            return Ok(ExitCode::SUCCESS);
        }
        if Instant::now() >= next_watch {
            next_watch = Instant::now() + tick;
            let ledger = stack.ledger();
            match ledger.as_ref().map_err(Clone::clone).and_then(|l| local_view(stack, compute, l)) {
                Ok(view) => {
                    for order in monitoring.tick(&view, &books, outbox, &stack_name, now(), cooldown) {
                        match order {
                            Order::ShedOne { monitor, why } => acts::scale_down(
                                stack,
                                provider,
                                compute,
                                &By::Monitor(monitor),
                                &why,
                                Shed::One,
                            )?,
                            Order::Stop { why } => {
                                return acts::stop(stack, provider, me, compute, &why, &mut monitoring)
                            }
                        }
                    }
                }
                Err(e) => stack.event(None, &format!("compute.{compute}: could not measure: {e}")),
            }
            let watched = ledger.and_then(|ledger| super::budget::watch(stack, &ledger, compute, now()));
            match watched {
                Ok(Some(watched)) => {
                    if let Some(notify) = &watched.policy.notify {
                        for event in &watched.events {
                            outbox.send(&books, &stack_name, notify, event);
                        }
                    }
                    if let Some(why) = watched.stop {
                        return acts::stop(stack, provider, me, compute, &why, &mut monitoring);
                    }
                    let budget = &watched.policy.name;
                    if let Some(why) = &watched.scale_down {
                        acts::scale_down(
                            stack,
                            provider,
                            compute,
                            &By::Budget(budget.clone()),
                            why,
                            Shed::ToMin,
                        )?;
                    }
                    if let Some((per_hour, cap)) = watched.over_cap {
                        let why = format!(
                            "budget {budget}: {}/h over max_cost_per_hour {}/h",
                            money(per_hour),
                            money(cap)
                        );
                        acts::scale_down(
                            stack,
                            provider,
                            compute,
                            &By::Budget(budget.clone()),
                            &why,
                            Shed::ToRate { per_hour, cap },
                        )?;
                    }
                }
                Ok(None) => {}
                // Not a reason to leave the compute untended: say so, and look again next tick.
                Err(e) => {
                    stack.event(None, &format!("compute.{compute}: the budget could not be measured: {e}"))
                }
            }
        }
        for job in running_jobs(stack, compute)? {
            seen_running = true;
            idle_since = Instant::now();
            if let Err(e) = tend(stack, provider, job.clone(), &mut monitoring) {
                fail(stack, provider, job, &e)?;
            }
        }
        if running_jobs(stack, compute)?.is_empty() {
            let auto = me
                .reload(stack)
                .attributes
                .get("auto_terminate")
                .and_then(|t| gaform_compiler::plan::describe::parse_duration(t));
            if seen_running {
                return terminate(stack, provider, me, compute, "its jobs are over", true);
            }
            if let Some(limit) = auto.filter(|&l| idle_since.elapsed().as_secs_f64() >= l) {
                return terminate(
                    stack,
                    provider,
                    me,
                    compute,
                    &format!("idle for auto_terminate = {}", describe(limit)),
                    true,
                );
            }
        }
        std::thread::sleep(TICK);
    }
}

/// What a head does when one of its jobs ends (finished, timed out, stopped): the job's last
/// `metrics.csv` row, then `report.html` beside its results. Neither stops the head: a
/// report that cannot be written is an event.
pub(super) fn wrap_up(stack: &StackDir, monitoring: &mut Monitoring, job: &mut JobRecord) {
    let store = LocalDir::new(stack.job_store(&job.name));
    let workers: Vec<String> = job.worker_slots().into_iter().map(super::worker::slot_name).collect();
    let reports = read_reports(&store, &workers).unwrap_or_default();
    if let Ok(ledger) = stack.ledger() {
        monitoring.last_row((job, &reports, &job.results_dir), &ledger, now());
    }
    let events = crate::report::events_of(
        stack.events().unwrap_or_default(),
        job,
        &stack.monitors().unwrap_or_default(),
        &stack.budgets().unwrap_or_default(),
    );
    let status = super::status::job_state(job);
    let started = Instant::now();
    let log = stack.job_log(&job.name);
    match crate::report::write(&job.results_dir, &status, &events) {
        Ok(()) => {
            stack.event(Some(&log), &format!("{}: {}", job.address, monitoring.overhead(started.elapsed())));
            job.summary = job.summary.take().map(|s| format!("{s}, metrics.csv, report.html"));
        }
        Err(e) => stack.event(Some(&log), &format!("{}: no report.html: {e}", job.address)),
    }
}

/// Serves the compute's metrics on loopback (the local cloud's "instances" are processes
/// of this machine) at the head's `metrics_port`, or any free port when another head has it.
fn start_monitoring(stack: &StackDir, me: &Registration, compute: &str) -> Monitoring {
    let port = me
        .record
        .attributes
        .get("metrics_port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(gaform_compiler::ir::DEFAULT_METRICS_PORT);
    let wanted = SocketAddr::from(([127, 0, 0, 1], port));
    let (monitoring, served) = Monitoring::start(wanted, true);
    let line = match served {
        Ok(at) if at == wanted => format!("compute.{compute}: metrics at http://{at}/metrics"),
        Ok(at) => format!("compute.{compute}: metrics at http://{at}/metrics (port {port} was taken)"),
        Err(e) => format!("compute.{compute}: no metrics endpoint: {e}"),
    };
    outln!("{line}");
    stack.event(None, &line);
    monitoring
}

/// What the head sees of `compute` at a tick: its running jobs with their workers'
/// reports, the budgets it spends and the monitors of its jobs.
fn local_view<'a>(stack: &StackDir, compute: &'a str, ledger: &'a Ledger) -> Result<View<'a>, String> {
    let mut jobs = Vec::new();
    for job in running_jobs(stack, compute)? {
        let store = LocalDir::new(stack.job_store(&job.name));
        let workers: Vec<String> = job.worker_slots().into_iter().map(super::worker::slot_name).collect();
        let reports = read_reports(&store, &workers).map_err(|e| e.to_string())?;
        let dir = job.results_dir.clone();
        jobs.push((job, reports, dir));
    }
    let budgets = stack.budgets()?.into_iter().filter(|b| b.computes.iter().any(|c| c == compute)).collect();
    let monitors = stack.monitors()?.into_iter().filter(|m| m.compute == compute).collect();
    Ok(View { compute, jobs, ledger, budgets, monitors, simulated: true })
}

/// The jobs running on `compute`'s workers.
pub(super) fn running_jobs(stack: &StackDir, compute: &str) -> Result<Vec<JobRecord>, String> {
    let jobs = stack.jobs()?.into_iter();
    Ok(jobs.filter(|j| j.status == JobStatus::Running && j.group.compute() == Some(compute)).collect())
}

/// One look at a running job: gather it (with its report), stop it, or keep its workers
/// alive.
fn tend(
    stack: &StackDir,
    provider: &LocalProvider,
    mut job: JobRecord,
    monitoring: &mut Monitoring,
) -> Result<(), String> {
    let store = LocalDir::new(stack.job_store(&job.name));
    let log = stack.job_log(&job.name);
    let results_dir = job.results_dir.clone();
    if gather_if_done(&store, &mut job, &results_dir)? {
        release_workers(stack, provider, &job, true)?;
        // The report before the record: whoever sees the job finished finds it there.
        wrap_up(stack, monitoring, &mut job);
        stack.write_job(&job)?;
        stack.event(
            Some(&log),
            &format!("{}: finished; results in {}", job.address, job.results_dir.display()),
        );
        return Ok(());
    }
    if let Some(limit) = stop_if_over_time(&mut job) {
        release_workers(stack, provider, &job, false)?;
        let why = format!("stopped by max_runtime = {}", describe(limit));
        let kept = match write_results_so_far(&store, &results_dir, &why) {
            Ok(()) => {
                wrap_up(stack, monitoring, &mut job);
                format!("the results so far are in {}", results_dir.display())
            }
            Err(e) => format!("no results to keep ({e})"),
        };
        stack.write_job(&job)?;
        let kind = Kind::JobTimedOut { job: job.name.clone(), max_runtime: limit };
        let reason = format!("{}: {why}; {kept}", job.address);
        stack.log_event(&Event { time: now(), kind, reason }, Some(&log));
        return Ok(());
    }
    let records = stack.instances()?;
    let group: Vec<_> = records.iter().filter(|r| r.address == job.group).collect();
    let Some(template) = group.first() else { return Ok(()) };
    for slot in job.worker_slots() {
        let record = group.iter().find(|r| r.index == slot);
        let dead = match record {
            Some(r) => match r.process {
                Some(p) => !p.is_alive(),
                None => now() - r.started_at > START_GRACE_SECS,
            },
            // A slot without a record was never made (or scaled away): `plan` shows it.
            None => false,
        };
        if !dead {
            continue;
        }
        let slots = job.worker_slots();
        if job.frozen && slots.len() > 1 {
            // Frozen by a budget: nothing is started; the dead worker's islands go to the rest.
            let kept: Vec<u64> = slots.into_iter().filter(|&s| s != slot).collect();
            provider.stop_instance(&job.group, slot)?;
            job.slots = Some(kept.clone());
            stack.write_job(&job)?;
            let line = format!(
                "{}: died while its compute is frozen by a budget; not replaced, its islands resume on the {} worker(s) left",
                job.group.instance(slot),
                kept.len()
            );
            stack.event(Some(&log), &line);
            continue;
        }
        let tries = job.replacements.entry(slot).or_insert(0);
        if *tries >= MAX_REPLACEMENTS {
            return Err(format!(
                "worker [{slot}] died {MAX_REPLACEMENTS} times; see its log in {}",
                stack.instance_log(&job.group, slot).display()
            ));
        }
        *tries += 1;
        let gone = record
            .and_then(|r| r.process)
            .map_or("never started".into(), |p| format!("pid {} is gone", p.pid));
        let started = provider.start_instance(template, slot)?;
        stack.write_job(&job)?;
        stack.event(
            Some(&log),
            &format!(
                "{}: {gone}; started pid {} in its place, resuming its islands from their checkpoints",
                job.group.instance(slot),
                started.pid
            ),
        );
    }
    Ok(())
}

/// When every island of `job` is done: gathers the run, writes its results into `dir`,
/// and marks the record finished with the best strategy. False while islands still run.
/// Both heads, local and on aws, finish a job this way.
pub(super) fn gather_if_done(store: &dyn Store, job: &mut JobRecord, dir: &Path) -> Result<bool, String> {
    let config = ga::load_job(store).map_err(|e| e.to_string())?;
    if !ga::islands_finished(store, &config).map_err(|e| e.to_string())? {
        return Ok(false);
    }
    let outcome = ga::gather(store).map_err(|e| e.to_string())?;
    results::write(dir, &outcome).map_err(|e| e.to_string())?;
    let summary = super::run::summary(&outcome, &job.results_dir, now() - job.started_at);
    job.status = JobStatus::Finished;
    job.finished_at = Some(now());
    job.summary = Some(summary.trim_end().to_string());
    Ok(true)
}

/// Writes into `dir` the results a stopped run's islands reached (their latest
/// checkpoints), with `why` as `best.json`'s status. Both heads stop a job this way.
pub(super) fn write_results_so_far(store: &dyn Store, dir: &Path, why: &str) -> Result<(), String> {
    let outcome = ga::gather_so_far(store).map_err(|e| e.to_string())?;
    results::write_with_status(dir, &outcome, Some(why)).map_err(|e| e.to_string())
}

/// Marks `job` timed out once it has run past its `max_runtime`; the limit if so.
pub(super) fn stop_if_over_time(job: &mut JobRecord) -> Option<f64> {
    let limit = job.max_runtime_secs.filter(|&l| now() - job.started_at > l)?;
    job.status = JobStatus::TimedOut;
    job.finished_at = Some(now());
    Some(limit)
}

fn fail(stack: &StackDir, provider: &LocalProvider, mut job: JobRecord, reason: &str) -> Result<(), String> {
    release_workers(stack, provider, &job, false)?;
    stack.event(Some(&stack.job_log(&job.name)), &format!("{}: failed: {reason}", job.address));
    job.status = JobStatus::Failed { reason: reason.to_string() };
    job.finished_at = Some(now());
    stack.write_job(&job)
}

/// Once `job` is over, its workers stop, unless another job still runs on the group: then
/// they run it (its islands, one job after another by name). After a finish they move on by
/// themselves; after a timeout or a failure they are restarted, so that none goes on with
/// the ended job's islands. Either way an event says for which job.
fn release_workers(
    stack: &StackDir,
    provider: &LocalProvider,
    job: &JobRecord,
    finished: bool,
) -> Result<(), String> {
    let next = stack
        .jobs()?
        .into_iter()
        .find(|j| j.group == job.group && j.name != job.name && j.status == JobStatus::Running);
    let Some(next) = next else { return stop_workers(provider, stack, &job.group) };
    let workers: Vec<_> = stack.instances()?.into_iter().filter(|r| r.address == job.group).collect();
    if !finished {
        let slots: Vec<u64> = workers.iter().map(|r| r.index).collect();
        provider.stop_instances(&job.group, &slots)?;
        for r in &workers {
            provider.start_instance(r, r.index)?;
        }
    }
    let how = if finished { "go on to" } else { "restarted for" };
    stack.event(
        Some(&stack.job_log(&next.name)),
        &format!(
            "{}: {} worker(s) {how} {} now that {} is over",
            job.group,
            workers.len(),
            next.address,
            job.address
        ),
    );
    Ok(())
}

/// Stops the workers of `group` together; each saves its islands where they are first, so
/// the results gathered next hold every generation done.
pub(super) fn stop_workers(provider: &LocalProvider, stack: &StackDir, group: &Addr) -> Result<(), String> {
    let slots: Vec<u64> =
        stack.instances()?.iter().filter(|r| &r.address == group).map(|r| r.index).collect();
    provider.stop_instances(group, &slots)
}

/// Stops every instance of the compute, then this head: recorded as gone, on purpose. A
/// stop (`acts`) has logged its own event; a compute whose jobs are over, or that sat idle
/// for its `auto_terminate` (`ended`), gets one here.
pub(super) fn terminate(
    stack: &StackDir,
    provider: &LocalProvider,
    me: &Registration,
    compute: &str,
    why: &str,
    ended: bool,
) -> Result<ExitCode, String> {
    let mut instances = 1;
    let mut groups: std::collections::BTreeMap<Addr, Vec<u64>> = Default::default();
    for r in stack.instances()? {
        let ours = r.address.compute() == Some(compute);
        if ours && !(r.address == me.record.address && r.index == me.record.index) {
            groups.entry(r.address.clone()).or_default().push(r.index);
            instances += 1;
        }
    }
    for (group, slots) in &groups {
        provider.stop_instances(group, slots)?;
    }
    stack.remove_instance(&me.record.address, me.record.index)?;
    let reason = format!("compute.{compute}: terminated ({why})");
    if ended {
        let kind = Kind::ComputeEnded { compute: compute.to_string(), instances };
        stack.log_event(&Event { time: now(), kind, reason: reason.clone() }, None);
    } else {
        stack.event(None, &reason);
    }
    outln!("{reason}");
    Ok(ExitCode::SUCCESS)
}

fn describe(secs: f64) -> String {
    gaform_compiler::plan::describe::duration(secs)
}
