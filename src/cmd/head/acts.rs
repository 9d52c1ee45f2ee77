//! What a head does when its budget or a monitor says so: shed workers (a `scale_down`
//! alert, a burn rate over `max_cost_per_hour`) or stop the compute (100%, a `stop` alert). Each act is an event with
//! its reason; the decisions themselves are `gaform-control`'s.

use super::monitor::Monitoring;
use super::{running_jobs, stop_workers, terminate, wrap_up, write_results_so_far};
use crate::cmd::budget::{self, Shed};
use gaform_compiler::ir::Market;
use gaform_compiler::plan::JobStatus;
use gaform_control::event::{By, Event, Kind};
use gaform_control::scale;
use gaform_providers::local::agent::Registration;
use gaform_providers::local::records::now;
use gaform_providers::local::{LocalProvider, StackDir};
use gaform_runtime::store::LocalDir;
use std::process::ExitCode;

/// A budget said scale down: each running job of the compute is frozen (no replacement,
/// no scale-up) and its group shed (never below its `min`, and at least one worker while
/// the job runs), on-demand and newest first; the job's islands are dealt over the workers
/// left, which resume them from their checkpoints, so the result is the same bytes.
/// Idempotent: a later tick finds nothing left to shed.
pub(super) fn scale_down(
    stack: &StackDir,
    provider: &LocalProvider,
    compute: &str,
    by: &By,
    why: &str,
    how: Shed,
) -> Result<(), String> {
    for mut job in running_jobs(stack, compute)? {
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
        let chosen = how.victims(&workers, job.group.as_str(), min);
        let victims: Vec<u64> = chosen.iter().filter_map(|w| w.instance.parse().ok()).collect();
        if job.frozen && victims.is_empty() {
            continue;
        }
        let kept: Vec<u64> = slots.iter().copied().filter(|s| !victims.contains(s)).collect();
        if !job.frozen {
            stack.log_event(&budget::frozen(by, compute, why), Some(&stack.job_log(&job.name)));
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
            let kind = Kind::Shed { by: by.origin(), instance, kept: kept.len() as u64 };
            stack.log_event(&Event { time: now(), kind, reason }, Some(&stack.job_log(&job.name)));
        }
    }
    Ok(())
}

/// A budget said stop: each running job of the compute is stopped with the results its
/// islands' latest checkpoints hold (`best.json` says why), then every instance of the
/// compute is terminated, this head last.
pub(super) fn stop(
    stack: &StackDir,
    provider: &LocalProvider,
    me: &Registration,
    compute: &str,
    why: &str,
    monitoring: &mut Monitoring,
) -> Result<ExitCode, String> {
    let instances = stack.instances()?.iter().filter(|r| r.address.compute() == Some(compute)).count() as u64;
    let mut jobs = Vec::new();
    for mut job in running_jobs(stack, compute)? {
        // Workers first, so that no checkpoint changes while the results are gathered.
        stop_workers(provider, stack, &job.group)?;
        let store = LocalDir::new(stack.job_store(&job.name));
        let kept = match write_results_so_far(&store, &job.results_dir, why) {
            Ok(()) => format!("the results so far are in {}", job.results_dir.display()),
            Err(e) => format!("no results to keep ({e})"),
        };
        job.status = JobStatus::Stopped { reason: why.to_string() };
        job.finished_at = Some(now());
        wrap_up(stack, monitoring, &mut job);
        stack.write_job(&job)?;
        stack.event(Some(&stack.job_log(&job.name)), &format!("{}: {why}; {kept}", job.address));
        jobs.push(job.name);
    }
    stack.log_event(&budget::compute_stopped(compute, why, instances, jobs), None);
    terminate(stack, provider, me, compute, why, false)
}
