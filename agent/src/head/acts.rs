//! What a head does when its budget or a monitor says so, and how a job or the compute
//! ends: shed workers (a `scale_down` alert, a burn rate over `max_cost_per_hour`), stop
//! the compute with its jobs' results so far, terminate it once its work is over. Each act
//! is an event with its reason; the decisions themselves are `gaform-control`'s.

use super::{results, Clock, Cloud, Head, Release};
use crate::budget::{self, Shed};
use gaform_compiler::ir::Keyword;
use gaform_compiler::plan::JobStatus;
use gaform_control::event::{By, Event, Kind};
use gaform_control::ledger::Ledger;
use gaform_providers::local::JobRecord;
use gaform_providers::CloudError;
use std::path::Path;

impl<C: Cloud, K: Clock> Head<C, K> {
    /// Each running job of the compute is frozen (no replacement, no scale-up) and its
    /// group shed (never below its `min`, and at least one worker while the job runs),
    /// on-demand and newest first; the islands of the workers shed resume on the others
    /// from their checkpoints, so the result is the same bytes. Idempotent: a later tick
    /// finds nothing left to shed.
    pub(super) fn scale_down(
        &mut self,
        ledger: &Ledger,
        by: &By,
        why: &str,
        how: Shed,
    ) -> Result<(), CloudError> {
        let compute = self.settings.compute.clone();
        for mut job in self.running_jobs()? {
            let (workers, min) = self.cloud.workers(&job, ledger)?;
            let chosen = how.victims(&workers, job.group.as_str(), min);
            if job.frozen && chosen.is_empty() {
                continue;
            }
            if !job.frozen {
                self.cloud.log(&budget::frozen(by, &compute, why, self.clock.now()), Some(&job.name));
            }
            job.frozen = true;
            let kept = workers.len() - chosen.len();
            self.cloud.shed(&mut job, &chosen, kept)?;
            for w in chosen {
                let instance = format!("{}[{}]", job.group, w.instance);
                let reason = format!(
                    "{instance} ({}): shed by {why} ({kept} worker(s) left at min {min}); its islands resume on the others",
                    w.market.keyword()
                );
                let kind = Kind::Shed { by: by.origin(), instance, kept: kept as u64 };
                self.cloud.log(&Event { time: self.clock.now(), kind, reason }, Some(&job.name));
            }
        }
        Ok(())
    }

    /// Stops every running job of the compute with the results its islands reached
    /// (`best.json` says why), then terminates every instance of the compute, this head
    /// last. True: the head is done, whether or not every step worked (a failure is said).
    pub(super) fn stop(&mut self, why: &str) -> bool {
        match self.stop_all(why) {
            Ok(()) => true,
            Err(e) => {
                self.trouble("stop the compute", &e);
                // The jobs stopped so far stay stopped: the next pass ends what is over.
                false
            }
        }
    }

    fn stop_all(&mut self, why: &str) -> Result<(), CloudError> {
        let compute = self.settings.compute.clone();
        let instances = self.cloud.instances()?;
        let mut jobs = self.running_jobs()?;
        // The records first: the workers read them, save their islands where they are and
        // let go of them; then they go, so that no checkpoint changes while the results
        // are gathered.
        for job in &mut jobs {
            job.status = JobStatus::Stopped { reason: why.to_string() };
            job.finished_at = Some(self.clock.now());
            self.cloud.write_job(job)?;
        }
        for job in &jobs {
            self.cloud.release(job, Release::Stopping)?;
        }
        let mut names = Vec::new();
        for mut job in jobs {
            let dir = self.cloud.results_dir(&job);
            let kept = self.keep_so_far(&mut job, &dir, why)?;
            self.cloud.write_job(&job)?;
            self.cloud.say(&format!("{}: {why}; {kept}", job.address), Some(&job.name));
            names.push(job.name);
        }
        let stopped = budget::compute_stopped(&compute, why, instances, names, self.clock.now());
        self.cloud.log(&stopped, None);
        self.cloud.say(&format!("compute.{compute}: terminated ({why})"), None);
        self.cloud.terminate()
    }

    /// Terminates the compute, whose work is over (`why`): an event, then every instance.
    pub(super) fn end(&mut self, why: &str) -> Result<(), CloudError> {
        let compute = self.settings.compute.clone();
        let instances = self.cloud.instances()?;
        let reason = format!("compute.{compute}: terminated ({why})");
        let kind = Kind::ComputeEnded { compute, instances };
        self.cloud.log(&Event { time: self.clock.now(), kind, reason }, None);
        self.cloud.terminate()
    }

    /// The results an ended run's islands reached, with its report, kept where the user
    /// finds them; what became of them, in words.
    pub(super) fn keep_so_far(
        &mut self,
        job: &mut JobRecord,
        dir: &Path,
        why: &str,
    ) -> Result<String, CloudError> {
        let written = results::write_so_far(self.cloud.store(&job.name)?, dir, why);
        if written.is_ok() {
            self.wrap_up(job, dir);
        }
        self.cloud.keep_results(job, dir, written.is_ok())?;
        Ok(match written {
            Ok(()) => format!("the results so far are in {}", self.cloud.results_place(job)),
            Err(e) => format!("no results to keep ({e})"),
        })
    }

    /// What a head does when one of its jobs ends (finished, timed out, stopped): the
    /// job's last `metrics.csv` row, then `report.html` beside its results in `dir`.
    /// Neither stops the head: a report that cannot be written is said.
    pub(super) fn wrap_up(&mut self, job: &mut JobRecord, dir: &Path) {
        let books = self.cloud.books();
        let reports = self.cloud.reports(job, None).unwrap_or_default();
        if let Ok(ledger) = books.ledger() {
            self.monitoring.last_row((job, &reports, dir), &ledger, &books, self.clock.now());
        }
        let events = crate::report::events_of(
            books.events().unwrap_or_default(),
            job,
            &books.monitors().unwrap_or_default(),
            &books.budgets().unwrap_or_default(),
        );
        let started = std::time::Instant::now();
        match crate::report::write(dir, &crate::report::job_state(job), &events) {
            Ok(()) => {
                let line = format!("{}: {}", job.address, self.monitoring.overhead(started.elapsed()));
                self.cloud.say(&line, Some(&job.name));
                job.summary = job.summary.take().map(|s| format!("{s}, metrics.csv, report.html"));
            }
            Err(e) => self.cloud.say(&format!("{}: no report.html: {e}", job.address), Some(&job.name)),
        }
    }
}
