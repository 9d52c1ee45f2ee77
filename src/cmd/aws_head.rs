//! `gaform head --s3-stack URL --address A`: what a compute's head launch template's user
//! data starts on an aws instance. The head gathers a job whose islands are all done, puts
//! the results beside it, marks it finished, and terminates its compute once its jobs are
//! over; every `GAFORM_TICK` its watch (`aws_budget`) measures, heals and sizes the
//! compute. The workers are `aws_worker`.

use crate::notify::Outbox;
use gaform_compiler::plan::{Addr, JobStatus};
use gaform_control::event::{Event, Kind};
use gaform_providers::aws::agent::{self, Agent};
use gaform_providers::local::records::now;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// How often the head's loop looks at its jobs and its workers' notices, at most.
const TICK: Duration = Duration::from_secs(2);

/// A head: gathers its compute's jobs and terminates the compute when they are over.
pub fn head(url: &str, address: &Addr, instance: Option<&str>, tick: Duration) -> Result<ExitCode, String> {
    let agent = Agent::connect(url)?;
    let me = match instance {
        Some(id) => id.to_string(),
        None => agent::instance_id()?,
    };
    let compute = address.compute().ok_or_else(|| format!("{address} is not a compute's head"))?.to_string();
    let (stack, cloud) = agent.stack_and_cloud();
    let mut watch = super::aws_budget::Watch {
        agent: &agent,
        books: agent.books(),
        compute: &compute,
        me: &me,
        outbox: Outbox::default(),
        monitoring: super::aws_budget::start_monitoring(&agent, &compute),
        cooldown: 5.0 * tick.as_secs_f64(),
        stores: BTreeMap::new(),
        lost: Default::default(),
        failed: BTreeMap::new(),
        leaving: Default::default(),
        replaced_early: Default::default(),
        noticed: super::aws_heal::noticed_before(&agent.books()),
        notices_read: BTreeMap::new(),
        spot_tries: BTreeMap::new(),
        retiring: BTreeMap::new(),
        attributes: BTreeMap::new(),
        idle_since: BTreeMap::new(),
        waiting_since: BTreeMap::new(),
        left: BTreeMap::new(),
        configs: BTreeMap::new(),
    };
    let result = tend_compute(&agent, (&stack, &cloud), &compute, &me, tick, &mut watch);
    // Notifications under way (an alert and the stop it led to, say) still go out.
    watch.outbox.drain(super::head::NOTIFY_DRAIN);
    result
}

/// The head's loop, until its compute's jobs are over or its watch stopped it. A pass that
/// fails (S3 or EC2 unreachable a moment) is said and tried again; only
/// [`MAX_FAILED_PASSES`] failures in a row end the head, whose compute would otherwise go
/// untended without anyone told.
fn tend_compute(
    agent: &Agent,
    (stack, cloud): (&str, &str),
    compute: &str,
    me: &str,
    tick: Duration,
    watch: &mut super::aws_budget::Watch,
) -> Result<ExitCode, String> {
    let mut seen_running = false;
    let mut next_watch = Instant::now() + tick;
    let pause = TICK.min(tick);
    let mut failed = 0;
    loop {
        if Instant::now() >= next_watch {
            next_watch = Instant::now() + tick;
            // What cannot be measured now is said, and measured again next tick.
            match watch.tick() {
                Ok(true) => return Ok(ExitCode::SUCCESS),
                Ok(false) => {}
                Err(e) => errln!("compute.{compute}: the budget could not be measured: {e}"),
            }
        }
        // Every pass, not every tick: a notice gives two minutes.
        if let Err(e) = watch.take_notices() {
            errln!("compute.{compute}: could not act on the workers' notices: {e}");
        }
        match pass(agent, (stack, cloud), compute, me, watch, &mut seen_running) {
            Ok(Some(done)) => return Ok(done),
            Ok(None) => failed = 0,
            Err(e) if failed + 1 < MAX_FAILED_PASSES => {
                failed += 1;
                errln!("compute.{compute}: {e}; trying again ({failed} failed in a row)");
            }
            Err(e) => return Err(e),
        }
        std::thread::sleep(pause);
    }
}

/// How many failed passes in a row end a head (at 2 s a pass, about a minute).
const MAX_FAILED_PASSES: u32 = 30;

/// One look at the compute's jobs: gathers those whose islands are all done, stops those
/// past their `max_runtime`, and terminates the compute once its jobs are over (then
/// `Some`).
fn pass(
    agent: &Agent,
    (stack, cloud): (&str, &str),
    compute: &str,
    me: &str,
    watch: &mut super::aws_budget::Watch,
    seen_running: &mut bool,
) -> Result<Option<ExitCode>, String> {
    let jobs: Vec<_> = agent.jobs()?.into_iter().filter(|j| j.group.compute() == Some(compute)).collect();
    for mut job in jobs.iter().filter(|j| j.status == JobStatus::Running).cloned() {
        *seen_running = true;
        let dir = super::aws_budget::work_dir(&job.name);
        // Whether results were written into `dir`, and what to say of the job's end.
        let (written, said) = if super::head::gather_if_done(watch.store(&job.name)?, &mut job, &dir)? {
            (true, "finished".to_string())
        } else if let Some(limit) = super::head::stop_if_over_time(&mut job) {
            let why =
                format!("stopped by max_runtime = {}", gaform_compiler::plan::describe::duration(limit));
            // The record first: its workers save their islands where they are and let go.
            agent.write_job(&job)?;
            if !watch.wait_for_saves(&job)? {
                outln!("{}: some workers did not save their islands in time", job.address);
            }
            let kept = super::head::write_results_so_far(watch.store(&job.name)?, &dir, &why);
            let reason = match &kept {
                Ok(()) => format!("{}: {why}; its results so far go beside it", job.address),
                Err(e) => format!("{}: {why}; no results to keep ({e})", job.address),
            };
            let kind = Kind::JobTimedOut { job: job.name.clone(), max_runtime: limit };
            watch.log(Event { time: now(), kind, reason });
            (kept.is_ok(), why)
        } else {
            continue;
        };
        if written {
            // Listed only when a job ends: one EC2 call, not one per look.
            let workers: Vec<String> = agent.live_instances(stack, cloud, &job.group)?.into_iter().collect();
            watch.wrap_up(&mut job, &workers, &dir);
            agent.upload_results(&job.name, &dir)?;
        }
        let _ = std::fs::remove_dir_all(&dir);
        agent.write_job(&job)?;
        outln!("{}: {said}", job.address);
    }
    let over = agent.jobs()?.iter().filter(|j| j.group.compute() == Some(compute)).all(agent::is_over);
    if *seen_running && over {
        let n = agent.terminate_compute(stack, cloud, compute, Some(me))?;
        let reason = format!("compute.{compute}: its jobs are over; terminated {n} instance(s)");
        watch.log(Event {
            time: now(),
            kind: Kind::ComputeEnded { compute: compute.into(), instances: n as u64 },
            reason,
        });
        return Ok(Some(ExitCode::SUCCESS));
    }
    Ok(None)
}
