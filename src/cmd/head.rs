//! `gaform head --stack DIR --address compute.NAME.head --index 0`: a compute's head on the
//! local cloud. It tends the compute's running jobs: replaces a worker that died (the
//! replacement resumes its islands from their checkpoints), gathers the results when every
//! island is done, stops a job at its `max_runtime`, and terminates the compute when its
//! jobs are over or it has been idle for `auto_terminate`.

use crate::cli::HeadArgs;
use crate::notify::Outbox;
use gaform_compiler::ir::Market;
use gaform_compiler::plan::render::money;
use gaform_compiler::plan::{Addr, JobStatus};
use gaform_control::event::{Event, Kind};
use gaform_control::scale;
use gaform_providers::local::agent::{self, Registration};
use gaform_providers::local::records::now;
use gaform_providers::local::{JobRecord, LocalProvider, StackDir};
use gaform_runtime::ga;
use gaform_runtime::results;
use gaform_runtime::store::{LocalDir, Store};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// A worker slot that keeps dying this often fails its job instead of looping.
const MAX_REPLACEMENTS: u32 = 5;
/// A slot whose process has not registered this long after its start is taken as dead.
const START_GRACE_SECS: f64 = 30.0;
const TICK: Duration = Duration::from_millis(250);
/// How long an exiting head waits for its notifications still under way.
const NOTIFY_DRAIN: Duration = Duration::from_secs(30);

pub fn run(args: &HeadArgs) -> Result<ExitCode, String> {
    let address = Addr(args.address.clone());
    if let Some(url) = &args.s3_stack {
        return cloud_head(url, &address, args.instance_id.as_deref());
    }
    let stack = StackDir::new(args.stack.as_ref().ok_or("give --stack (local cloud) or --s3-stack (aws)")?);
    let Some(me) = agent::register(&stack, &address, args.index)? else { return Ok(ExitCode::SUCCESS) };
    let compute = address.compute().ok_or_else(|| format!("{address} is not a compute's head"))?.to_string();
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the gaform executable: {e}"))?;
    let provider = LocalProvider::new(stack.clone(), exe, Default::default(), None);
    outln!("{address}: pid {} tends compute `{compute}`", me.me.pid);
    let mut outbox = Outbox::default();
    let result = tend_compute(&stack, &provider, &me, &compute, &mut outbox);
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
    outbox: &mut Outbox,
) -> Result<ExitCode, String> {
    let address = &me.record.address;
    let stack_name = stack.root().file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let tick = super::budget::tick()?;
    // Apply refused compute whose budget was spent, so the first look can wait a tick.
    let mut next_watch = Instant::now() + tick;
    let mut seen_running = false;
    let mut idle_since = Instant::now();
    loop {
        if !me.is_current(stack) {
            outln!("{address}: replaced or removed; exiting");
            return Ok(ExitCode::SUCCESS);
        }
        if Instant::now() >= next_watch {
            next_watch = Instant::now() + tick;
            match super::budget::watch(stack, compute, now()) {
                Ok(Some(watched)) => {
                    if let Some(notify) = &watched.policy.notify {
                        for event in &watched.events {
                            outbox.send(stack, &stack_name, &watched.policy.name, notify, event);
                        }
                    }
                    if let Some(why) = watched.stop {
                        return stop(stack, provider, me, compute, &why);
                    }
                    let budget = &watched.policy.name;
                    if let Some(why) = &watched.scale_down {
                        scale_down(stack, provider, compute, budget, why, Shed::ToMin)?;
                    }
                    if let Some((per_hour, cap)) = watched.over_cap {
                        let why = format!(
                            "budget {budget}: {}/h over max_cost_per_hour {}/h",
                            money(per_hour),
                            money(cap)
                        );
                        scale_down(stack, provider, compute, budget, &why, Shed::ToRate { per_hour, cap })?;
                    }
                }
                Ok(None) => {}
                // Not a reason to leave the compute untended: say so, and look again next tick.
                Err(e) => {
                    stack.event(None, &format!("compute.{compute}: the budget could not be measured: {e}"))
                }
            }
        }
        let jobs: Vec<JobRecord> = stack
            .jobs()?
            .into_iter()
            .filter(|j| j.status == JobStatus::Running && j.group.compute() == Some(compute))
            .collect();
        for job in jobs {
            seen_running = true;
            idle_since = Instant::now();
            if let Err(e) = tend(stack, provider, job.clone()) {
                fail(stack, provider, job, &e)?;
            }
        }
        let running = stack
            .jobs()?
            .iter()
            .any(|j| j.status == JobStatus::Running && j.group.compute() == Some(compute));
        if !running {
            let auto = me
                .reload(stack)
                .attributes
                .get("auto_terminate")
                .and_then(|t| gaform_compiler::plan::describe::parse_duration(t));
            if seen_running {
                return terminate(stack, provider, me, compute, "its jobs are over");
            }
            if let Some(limit) = auto.filter(|&l| idle_since.elapsed().as_secs_f64() >= l) {
                return terminate(
                    stack,
                    provider,
                    me,
                    compute,
                    &format!("idle for auto_terminate = {}", describe(limit)),
                );
            }
        }
        std::thread::sleep(TICK);
    }
}

/// One look at a running job: gather it, stop it, or keep its workers alive.
fn tend(stack: &StackDir, provider: &LocalProvider, mut job: JobRecord) -> Result<(), String> {
    let store = LocalDir::new(stack.job_store(&job.name));
    let log = stack.job_log(&job.name);
    let results_dir = job.results_dir.clone();
    if gather_if_done(&store, &mut job, &results_dir)? {
        stop_workers(provider, stack, &job.group)?;
        stack.write_job(&job)?;
        stack.event(
            Some(&log),
            &format!("{}: finished; results in {}", job.address, job.results_dir.display()),
        );
        return Ok(());
    }
    if let Some(limit) = stop_if_over_time(&mut job) {
        stop_workers(provider, stack, &job.group)?;
        stack.write_job(&job)?;
        stack.event(Some(&log), &format!("{}: stopped by max_runtime = {}", job.address, describe(limit)));
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

/// Marks `job` timed out once it has run past its `max_runtime`; the limit if so.
pub(super) fn stop_if_over_time(job: &mut JobRecord) -> Option<f64> {
    let limit = job.max_runtime_secs.filter(|&l| now() - job.started_at > l)?;
    job.status = JobStatus::TimedOut;
    job.finished_at = Some(now());
    Some(limit)
}

fn fail(stack: &StackDir, provider: &LocalProvider, mut job: JobRecord, reason: &str) -> Result<(), String> {
    stop_workers(provider, stack, &job.group)?;
    stack.event(Some(&stack.job_log(&job.name)), &format!("{}: failed: {reason}", job.address));
    job.status = JobStatus::Failed { reason: reason.to_string() };
    job.finished_at = Some(now());
    stack.write_job(&job)
}

fn stop_workers(provider: &LocalProvider, stack: &StackDir, group: &Addr) -> Result<(), String> {
    for r in stack.instances()?.iter().filter(|r| &r.address == group) {
        provider.stop_instance(group, r.index)?;
    }
    Ok(())
}

/// How far a scale-down sheds.
#[derive(Clone, Copy)]
enum Shed {
    /// A `scale_down` alert: each group to its `min`.
    ToMin,
    /// `max_cost_per_hour`: the fewest workers that bring the budget's rate under its cap.
    ToRate { per_hour: f64, cap: f64 },
}

/// A budget said scale down: each running job of the compute is frozen (no replacement,
/// no scale-up) and its group shed (never below its `min`, and at least one worker while
/// the job runs), on-demand and newest first; the job's islands are dealt over the workers
/// left, which resume them from their checkpoints, so the result is the same bytes.
/// Idempotent: a later tick finds nothing left to shed.
fn scale_down(
    stack: &StackDir,
    provider: &LocalProvider,
    compute: &str,
    budget: &str,
    why: &str,
    how: Shed,
) -> Result<(), String> {
    let running = stack.jobs()?.into_iter().filter(|j| j.status == JobStatus::Running);
    for mut job in running.filter(|j| j.group.compute() == Some(compute)) {
        let slots = job.worker_slots();
        let records: Vec<_> = stack
            .instances()?
            .into_iter()
            .filter(|r| r.address == job.group && slots.contains(&r.index))
            .collect();
        let min =
            records.first().and_then(|r| r.attributes.get("min")).and_then(|m| m.parse().ok()).unwrap_or(0);
        let workers: Vec<scale::Worker> = records
            .iter()
            .map(|r| scale::Worker {
                instance: r.index.to_string(),
                group: job.group.to_string(),
                market: if r.spot { Market::Spot } else { Market::OnDemand },
                per_hour: r.per_hour,
                started_at: r.started_at,
            })
            .collect();
        let floor = BTreeMap::from([(job.group.to_string(), u64::max(min, 1))]);
        let chosen = match how {
            Shed::ToMin => scale::to_min(&workers, &floor),
            Shed::ToRate { per_hour, cap } => scale::to_rate(&workers, &floor, per_hour, cap),
        };
        let victims: Vec<u64> = chosen.iter().filter_map(|w| w.instance.parse().ok()).collect();
        if job.frozen && victims.is_empty() {
            continue;
        }
        let kept: Vec<u64> = slots.iter().copied().filter(|s| !victims.contains(s)).collect();
        if !job.frozen {
            let reason =
                format!("compute.{compute}: {why}: frozen (no replacements, no scale-up) this period");
            let kind = Kind::Frozen { budget: budget.to_string(), compute: compute.to_string() };
            stack.log_event(&Event { time: now(), kind, reason }, Some(&stack.job_log(&job.name)));
        }
        // The islands are dealt anew before the shed workers go, so none waits on them.
        job.frozen = true;
        job.slots = Some(kept.clone());
        stack.write_job(&job)?;
        for slot in victims {
            provider.stop_instance(&job.group, slot)?;
            let instance = job.group.instance(slot);
            let reason = format!(
                "{instance}: shed by {why} ({} worker(s) left at min {min}); its islands resume on {:?}",
                kept.len(),
                kept.iter().map(|s| job.group.instance(*s)).collect::<Vec<_>>()
            );
            let kind = Kind::Shed { budget: budget.to_string(), instance, kept: kept.len() as u64 };
            stack.log_event(&Event { time: now(), kind, reason }, Some(&stack.job_log(&job.name)));
        }
    }
    Ok(())
}

/// A budget said stop: each running job of the compute is stopped with the results its
/// islands' latest checkpoints hold (`best.json` says why), then every instance of the
/// compute is terminated, this head last.
fn stop(
    stack: &StackDir,
    provider: &LocalProvider,
    me: &Registration,
    compute: &str,
    why: &str,
) -> Result<ExitCode, String> {
    let instances = stack.instances()?.iter().filter(|r| r.address.compute() == Some(compute)).count() as u64;
    let mut jobs = Vec::new();
    let running = stack.jobs()?.into_iter().filter(|j| j.status == JobStatus::Running);
    for mut job in running.filter(|j| j.group.compute() == Some(compute)) {
        // Workers first, so that no checkpoint changes while the results are gathered.
        stop_workers(provider, stack, &job.group)?;
        let store = LocalDir::new(stack.job_store(&job.name));
        let written = ga::gather_so_far(&store).map_err(|e| e.to_string()).and_then(|o| {
            results::write_with_status(&job.results_dir, &o, Some(why)).map_err(|e| e.to_string())
        });
        let kept = match written {
            Ok(()) => format!("the results so far are in {}", job.results_dir.display()),
            Err(e) => format!("no results to keep ({e})"),
        };
        job.status = JobStatus::Stopped { reason: why.to_string() };
        job.finished_at = Some(now());
        stack.write_job(&job)?;
        stack.event(Some(&stack.job_log(&job.name)), &format!("{}: {why}; {kept}", job.address));
        jobs.push(job.name);
    }
    let kind = Kind::ComputeStopped { compute: compute.to_string(), instances, jobs };
    let reason = format!("compute.{compute}: {why}: terminating its {instances} instance(s), the head last");
    stack.log_event(&Event { time: now(), kind, reason }, None);
    terminate(stack, provider, me, compute, why)
}

/// Stops every instance of the compute, then this head: recorded as gone, on purpose.
fn terminate(
    stack: &StackDir,
    provider: &LocalProvider,
    me: &Registration,
    compute: &str,
    why: &str,
) -> Result<ExitCode, String> {
    for r in stack.instances()? {
        let ours = r.address.compute() == Some(compute);
        if ours && !(r.address == me.record.address && r.index == me.record.index) {
            provider.stop_instance(&r.address, r.index)?;
        }
    }
    stack.remove_instance(&me.record.address, me.record.index)?;
    stack.event(None, &format!("compute.{compute}: terminated ({why})"));
    outln!("compute.{compute}: terminated ({why})");
    Ok(ExitCode::SUCCESS)
}

fn describe(secs: f64) -> String {
    gaform_compiler::plan::describe::duration(secs)
}

#[cfg(feature = "aws")]
fn cloud_head(url: &str, address: &Addr, instance: Option<&str>) -> Result<ExitCode, String> {
    super::cloud_agent::head(url, address, instance)
}

#[cfg(not(feature = "aws"))]
fn cloud_head(_: &str, _: &Addr, _: Option<&str>) -> Result<ExitCode, String> {
    Err("this build leaves out the aws cloud (build with the `aws` feature)".into())
}
