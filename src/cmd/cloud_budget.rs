//! A head on aws measures its budget every `GAFORM_TICK` as the local head does (the
//! decisions are `gaform-control`'s, the books the stack's S3 prefix) and carries out what
//! it decides on EC2: a scale-down terminates the chosen workers, whose islands the
//! workers left claim and resume from their checkpoints; a stop writes the results so far
//! beside the job, marks it stopped and terminates every instance of the compute, itself
//! last. Each act is an event with its reason.

use super::budget::{self, Shed};
use crate::notify::Outbox;
use gaform_compiler::ir::Keyword;
use gaform_compiler::plan::render::money;
use gaform_compiler::plan::JobStatus;
use gaform_control::event::{By, Event, Kind};
use gaform_control::ledger::Ledger;
use gaform_control::scale;
use gaform_providers::aws::agent::Agent;
use gaform_providers::aws::books::S3Books;
use gaform_providers::books::Books;
use gaform_providers::local::records::now;
use gaform_providers::local::JobRecord;
use std::sync::Arc;

/// The head's budget watch on aws.
pub struct Watch<'a> {
    pub agent: &'a Agent,
    pub books: S3Books,
    pub compute: &'a str,
    /// This head's instance id, terminated last.
    pub me: &'a str,
    pub outbox: Outbox,
}

impl Watch<'_> {
    /// One tick: the ledger made level with EC2, the budget decided, its acts carried out.
    /// True once the budget stopped the compute (the head should exit).
    pub fn tick(&mut self) -> Result<bool, String> {
        let ledger = self.agent.reconcile(&self.books, now())?;
        let Some(watched) = super::budget::watch(&self.books, &ledger, self.compute, now())? else {
            return Ok(false);
        };
        if let Some(notify) = &watched.policy.notify {
            let books: Arc<dyn Books> = Arc::new(self.books.clone());
            let (stack, _) = self.agent.stack_and_cloud();
            for event in &watched.events {
                self.outbox.send(&books, &stack, notify, event);
            }
        }
        if let Some(why) = watched.stop {
            self.stop(&why)?;
            return Ok(true);
        }
        let budget = &watched.policy.name;
        if let Some(why) = &watched.scale_down {
            self.scale_down(&ledger, &By::Budget(budget.clone()), why, Shed::ToMin)?;
        }
        if let Some((per_hour, cap)) = watched.over_cap {
            let why =
                format!("budget {budget}: {}/h over max_cost_per_hour {}/h", money(per_hour), money(cap));
            self.scale_down(&ledger, &By::Budget(budget.clone()), &why, Shed::ToRate { per_hour, cap })?;
        }
        Ok(false)
    }

    fn running_jobs(&self) -> Result<Vec<JobRecord>, String> {
        let jobs = self.agent.jobs()?.into_iter();
        Ok(jobs
            .filter(|j| j.status == JobStatus::Running && j.group.compute() == Some(self.compute))
            .collect())
    }

    fn log(&self, event: Event) {
        outln!("{}", event.reason);
        self.books.record_event(&event);
    }

    /// Sheds each running job's group (never below its `min`, and one worker at least),
    /// on-demand and newest first. The victims are terminated before the job's record says
    /// its islands were dealt anew, so that the workers left find their claims free.
    pub(super) fn scale_down(&self, ledger: &Ledger, by: &By, why: &str, how: Shed) -> Result<(), String> {
        let (stack, cloud) = self.agent.stack_and_cloud();
        for mut job in self.running_jobs()? {
            let live = self.agent.live_group(&stack, &cloud, &job.group)?;
            let min: u64 =
                live.first().and_then(|(_, a)| a.get("min")).and_then(|m| m.parse().ok()).unwrap_or(0);
            let workers: Vec<scale::Worker> = live
                .iter()
                .filter_map(|(id, _)| ledger.get(id))
                .map(|e| scale::Worker {
                    instance: e.instance.clone(),
                    group: job.group.to_string(),
                    market: e.market,
                    per_hour: e.per_hour,
                    started_at: e.started_at,
                })
                .collect();
            let chosen = how.victims(&workers, job.group.as_str(), min);
            if job.frozen && chosen.is_empty() {
                continue;
            }
            if !job.frozen {
                self.log(budget::frozen(by, self.compute, why));
            }
            let victims: Vec<String> = chosen.iter().map(|w| w.instance.clone()).collect();
            self.agent.terminate(&self.books, &victims)?;
            job.frozen = true;
            job.dealt += u64::from(!victims.is_empty());
            self.agent.write_job(&job)?;
            let kept = workers.len() - victims.len();
            for w in chosen {
                let market = w.market.keyword();
                let instance = format!("{}[{}]", job.group, w.instance);
                let reason = format!(
                    "{instance} ({market}): shed by {why} ({kept} worker(s) left at min {min}); its islands resume on the others"
                );
                let (budget, monitor) = by.names();
                let kind = Kind::Shed { budget, monitor, instance, kept: kept as u64 };
                self.log(Event { time: now(), kind, reason });
            }
        }
        Ok(())
    }

    /// Stops every running job of the compute with the results its islands reached, then
    /// terminates every instance of the compute, this head last.
    fn stop(&self, why: &str) -> Result<(), String> {
        let (stack, cloud) = self.agent.stack_and_cloud();
        let instances = self.agent.compute_instances(&stack, &cloud, self.compute)?.len() as u64;
        let jobs = self.running_jobs()?;
        // Workers first, so that no checkpoint changes while the results are gathered.
        for job in &jobs {
            let workers: Vec<String> =
                self.agent.live_instances(&stack, &cloud, &job.group)?.into_iter().collect();
            self.agent.terminate(&self.books, &workers)?;
        }
        let mut names = Vec::new();
        for mut job in jobs {
            let store = self.agent.store(&job.name)?;
            let dir =
                std::env::temp_dir().join(format!("gaform-results-{}-{}", job.name, std::process::id()));
            let written = super::head::write_results_so_far(&store, &dir, why)
                .and_then(|()| self.agent.upload_results(&job.name, &dir));
            let _ = std::fs::remove_dir_all(&dir);
            let kept = match written {
                Ok(()) => "the results so far are beside the job".to_string(),
                Err(e) => format!("no results to keep ({e})"),
            };
            job.status = JobStatus::Stopped { reason: why.to_string() };
            job.finished_at = Some(now());
            self.agent.write_job(&job)?;
            outln!("{}: {why}; {kept}", job.address);
            names.push(job.name);
        }
        self.log(budget::compute_stopped(self.compute, why, instances, names));
        self.agent.terminate_compute(&stack, &cloud, self.compute, Some(self.me))?;
        Ok(())
    }
}
