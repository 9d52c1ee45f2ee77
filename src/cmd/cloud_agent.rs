//! `gaform worker --s3-stack URL --address A` and `gaform head --s3-stack URL --address A`:
//! what the launch templates' user data starts on an aws instance. A worker claims its
//! share of the running job's islands (S3 conditional writes) and runs them on the job's
//! S3 store; the head gathers a job whose islands are all done, puts the results beside it,
//! marks it finished, and terminates its compute once its jobs are over.

use gaform_compiler::plan::{Addr, JobStatus};
use gaform_providers::aws::agent::{self, Agent};
use gaform_runtime::ga::{self, Patience};
use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

const TICK: Duration = Duration::from_secs(2);

/// A worker: claims islands of its group's running jobs and runs them.
pub fn worker(
    url: &str,
    address: &Addr,
    instance: Option<&str>,
    threads: Option<usize>,
    patience: u64,
) -> Result<ExitCode, String> {
    let agent = Agent::connect(url)?;
    let me = match instance {
        Some(id) => id.to_string(),
        None => agent::instance_id()?,
    };
    let compute = address.compute().ok_or_else(|| format!("{address} is not a worker group"))?.to_string();
    let threads = threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| e.to_string())?;
    let mut done: BTreeSet<(String, u64)> = BTreeSet::new();
    let mut seen_running = false;
    loop {
        let jobs: Vec<_> =
            agent.jobs()?.into_iter().filter(|j| j.group.compute() == Some(compute.as_str())).collect();
        for job in jobs.iter().filter(|j| &j.group == address && j.status == JobStatus::Running) {
            seen_running = true;
            let run = (job.name.clone(), job.started_at.to_bits());
            if done.contains(&run) {
                continue;
            }
            let share = job.islands.div_ceil(job.workers.max(1));
            let (stack, cloud) = agent.stack_and_cloud();
            let live = agent.live_instances(&stack, &cloud, address)?;
            let mut mine = Vec::new();
            for island in 0..job.islands {
                if mine.len() as u64 == share {
                    break;
                }
                if agent.claim(&job.name, island, &me, &live)? {
                    mine.push(island);
                }
            }
            if !mine.is_empty() {
                outln!("{me}: job {} islands {mine:?}", job.name);
                let store = agent.store(&job.name)?;
                let generations = job.attributes.get("generations").and_then(|g| g.parse().ok()).unwrap_or(0);
                let say = |e: ga::Event| outln!("{}", crate::progress::line(&e, generations));
                ga::run_islands(&store, &mine, Patience(Duration::from_secs(patience)), Some(&pool), &say)
                    .map_err(|e| format!("job {} islands {mine:?}: {e}", job.name))?;
            }
            done.insert(run);
        }
        if seen_running && jobs.iter().all(agent::is_over) {
            outln!("{me}: the jobs of compute `{compute}` are over");
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(TICK);
    }
}

/// A head: gathers its compute's jobs and terminates the compute when they are over.
pub fn head(url: &str, address: &Addr, instance: Option<&str>) -> Result<ExitCode, String> {
    let agent = Agent::connect(url)?;
    let me = match instance {
        Some(id) => id.to_string(),
        None => agent::instance_id()?,
    };
    let compute = address.compute().ok_or_else(|| format!("{address} is not a compute's head"))?.to_string();
    let (stack, cloud) = agent.stack_and_cloud();
    let mut seen_running = false;
    loop {
        let jobs: Vec<_> =
            agent.jobs()?.into_iter().filter(|j| j.group.compute() == Some(compute.as_str())).collect();
        for mut job in jobs.iter().filter(|j| j.status == JobStatus::Running).cloned() {
            seen_running = true;
            let store = agent.store(&job.name)?;
            let dir =
                std::env::temp_dir().join(format!("gaform-results-{}-{}", job.name, std::process::id()));
            if super::head::gather_if_done(&store, &mut job, &dir)? {
                agent.upload_results(&job.name, &dir)?;
                let _ = std::fs::remove_dir_all(&dir);
                agent.write_job(&job)?;
                outln!("{}: finished", job.address);
            } else if super::head::stop_if_over_time(&mut job).is_some() {
                agent.write_job(&job)?;
                outln!("{}: stopped by max_runtime", job.address);
            }
        }
        let over =
            agent.jobs()?.iter().filter(|j| j.group.compute() == Some(compute.as_str())).all(agent::is_over);
        if seen_running && over {
            let n = agent.terminate_compute(&stack, &cloud, &compute, Some(&me))?;
            outln!("compute.{compute}: its jobs are over; terminated {n} instance(s)");
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(TICK);
    }
}
