//! The local cloud behind the head's loop: the stack's records directory for books, jobs
//! and stores, worker processes of this machine for instances. A worker that dies is
//! started again in its slot (resuming its islands from their checkpoints), within the
//! replacement cap; one that dies while a budget froze the run is not, its islands dealt
//! over the workers left.

use super::slot_name;
use crate::head::{Cloud, Release, Replacements};
use gaform_compiler::ir::Market;
use gaform_compiler::plan::{Addr, JobStatus};
use gaform_control::event::{Event, Kind};
use gaform_control::ledger::Ledger;
use gaform_control::scale;
use gaform_providers::books::Books;
use gaform_providers::local::agent::Registration;
use gaform_providers::local::records::now;
use gaform_providers::local::{InstanceRecord, JobRecord, LocalProvider, StackDir};
use gaform_providers::CloudError;
use gaform_runtime::store::{LocalDir, Store};
use gaform_runtime::telemetry::{read_reports, WorkerReport};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A slot whose process has not registered this long after its start is taken as dead.
const START_GRACE_SECS: f64 = 30.0;

/// One compute of a local stack, seen from its head.
pub struct LocalCloud {
    pub stack: StackDir,
    pub provider: LocalProvider,
    /// This head's slot.
    pub me: Registration,
    pub compute: String,
    stores: BTreeMap<String, LocalDir>,
}

impl LocalCloud {
    /// The compute `compute` of `stack`, whose head `me` is.
    pub fn new(stack: StackDir, provider: LocalProvider, me: Registration, compute: String) -> LocalCloud {
        LocalCloud { stack, provider, me, compute, stores: BTreeMap::new() }
    }

    fn log_path(&self, job: Option<&str>) -> Option<PathBuf> {
        job.map(|name| self.stack.job_log(name))
    }

    /// The instance records of `group`.
    fn group(&self, group: &Addr) -> Result<Vec<InstanceRecord>, CloudError> {
        Ok(self.stack.instances()?.into_iter().filter(|r| &r.address == group).collect())
    }

    /// Replaces the dead workers of running `job`; a slot past the cap fails the job.
    fn replace_dead(
        &mut self,
        mut job: JobRecord,
        replacements: &mut Replacements,
    ) -> Result<(), CloudError> {
        let log = self.stack.job_log(&job.name);
        let group = self.group(&job.group)?;
        let Some(template) = group.first().cloned() else { return Ok(()) };
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
                self.provider.stop_instance(&job.group, slot)?;
                job.slots = Some(kept.clone());
                self.stack.write_job(&job)?;
                let line = format!(
                    "{}: died while its compute is frozen by a budget; not replaced, its islands resume on the {} worker(s) left",
                    job.group.instance(slot),
                    kept.len()
                );
                self.stack.event(Some(&log), &line);
                continue;
            }
            let worker_log = self.stack.instance_log(&job.group, slot);
            let why =
                |cap| format!("worker [{slot}] died {cap} times; see its log in {}", worker_log.display());
            if !replacements.allow(&job, &slot.to_string(), 1, why) {
                return Ok(());
            }
            let gone = record
                .and_then(|r| r.process)
                .map_or("never started".into(), |p| format!("pid {} is gone", p.pid));
            let started = self.provider.start_instance(&template, slot)?;
            let reason = format!(
                "{}: {gone}; started pid {} in its place, resuming its islands from their checkpoints",
                job.group.instance(slot),
                started.pid
            );
            let lost = vec![format!("{} ({gone})", job.group.instance(slot))];
            let kind = Kind::Replaced { group: job.group.to_string(), lost, requested: 1 };
            self.stack.log_event(&Event { time: now(), kind, reason }, Some(&log));
        }
        Ok(())
    }

    /// Stops the workers of `group` together; each saves its islands where they are
    /// first, so the results gathered next hold every generation done.
    fn stop_workers(&self, group: &Addr) -> Result<(), CloudError> {
        let slots: Vec<u64> = self.group(group)?.iter().map(|r| r.index).collect();
        self.provider.stop_instances(group, &slots)
    }
}

impl Cloud for LocalCloud {
    fn stack_name(&self) -> String {
        self.stack.root().file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    }

    fn books(&self) -> Arc<dyn Books> {
        Arc::new(self.stack.clone())
    }

    fn simulated(&self) -> bool {
        true
    }

    fn still_head(&mut self) -> bool {
        self.me.is_current(&self.stack)
    }

    fn auto_terminate(&mut self) -> Option<f64> {
        let attributes = self.me.reload(&self.stack).attributes;
        attributes.get("auto_terminate").and_then(|t| gaform_compiler::plan::describe::parse_duration(t))
    }

    fn ledger(&mut self, _now: f64) -> Result<Ledger, CloudError> {
        self.stack.ledger()
    }

    fn jobs(&mut self) -> Result<Vec<JobRecord>, CloudError> {
        let compute = self.compute.as_str();
        Ok(self.stack.jobs()?.into_iter().filter(|j| j.group.compute() == Some(compute)).collect())
    }

    fn write_job(&mut self, job: &JobRecord) -> Result<(), CloudError> {
        self.stack.write_job(job)
    }

    fn store(&mut self, name: &str) -> Result<&dyn Store, CloudError> {
        let dir = self.stack.job_store(name);
        Ok(self.stores.entry(name.to_string()).or_insert_with(|| LocalDir::new(dir)))
    }

    fn reports(&mut self, job: &JobRecord, _: Option<&Ledger>) -> Result<Vec<WorkerReport>, CloudError> {
        let workers: Vec<String> = job.worker_slots().into_iter().map(slot_name).collect();
        Ok(read_reports(self.store(&job.name)?, &workers)?)
    }

    fn results_dir(&self, job: &JobRecord) -> PathBuf {
        job.results_dir.clone()
    }

    fn results_place(&self, job: &JobRecord) -> String {
        job.results_dir.display().to_string()
    }

    fn keep_results(&mut self, _: &JobRecord, _: &Path, _: bool) -> Result<(), CloudError> {
        Ok(())
    }

    fn workers(&mut self, job: &JobRecord, _: &Ledger) -> Result<(Vec<scale::Worker>, u64), CloudError> {
        let slots = job.worker_slots();
        let records: Vec<_> =
            self.group(&job.group)?.into_iter().filter(|r| slots.contains(&r.index)).collect();
        let min =
            records.first().and_then(|r| r.attributes.get("min")).and_then(|m| m.parse().ok()).unwrap_or(0);
        let workers = records
            .iter()
            .map(|r| scale::Worker {
                instance: r.index.to_string(),
                group: job.group.to_string(),
                market: if r.spot { Market::Spot } else { Market::OnDemand },
                per_hour: r.per_hour,
                started_at: r.started_at,
            })
            .collect();
        Ok((workers, min))
    }

    fn shed(&mut self, job: &mut JobRecord, victims: &[&scale::Worker], _: usize) -> Result<(), CloudError> {
        let victims: Vec<u64> = victims.iter().filter_map(|w| w.instance.parse().ok()).collect();
        // The islands are dealt anew before the shed workers go, so none waits on them.
        job.slots = Some(job.worker_slots().into_iter().filter(|s| !victims.contains(s)).collect());
        self.stack.write_job(job)?;
        for slot in victims {
            self.provider.stop_instance(&job.group, slot)?;
        }
        Ok(())
    }

    /// Once `job` is over, its workers stop, unless another job still runs on the group:
    /// then they run it (its islands, one job after another by name). After a finish they
    /// move on by themselves; after an early end they are restarted, so that none goes on
    /// with the ended job's islands. Either way an event says for which job.
    fn release(&mut self, job: &JobRecord, how: Release) -> Result<(), CloudError> {
        let next = self
            .stack
            .jobs()?
            .into_iter()
            .find(|j| j.group == job.group && j.name != job.name && j.status == JobStatus::Running);
        let Some(next) = next.filter(|_| how != Release::Stopping) else {
            return self.stop_workers(&job.group);
        };
        let workers = self.group(&job.group)?;
        if how == Release::Ended {
            let slots: Vec<u64> = workers.iter().map(|r| r.index).collect();
            self.provider.stop_instances(&job.group, &slots)?;
            for r in &workers {
                self.provider.start_instance(r, r.index)?;
            }
        }
        let verb = if how == Release::Finished { "go on to" } else { "restarted for" };
        let line = format!(
            "{}: {} worker(s) {verb} {} now that {} is over",
            job.group,
            workers.len(),
            next.address,
            job.address
        );
        self.stack.event(Some(&self.stack.job_log(&next.name)), &line);
        Ok(())
    }

    fn instances(&mut self) -> Result<u64, CloudError> {
        let compute = self.compute.as_str();
        Ok(self.stack.instances()?.iter().filter(|r| r.address.compute() == Some(compute)).count() as u64)
    }

    /// Stops every instance of the compute, then this head: recorded as gone, on purpose.
    fn terminate(&mut self) -> Result<(), CloudError> {
        let me = &self.me.record;
        let mut groups: BTreeMap<Addr, Vec<u64>> = BTreeMap::new();
        for r in self.stack.instances()? {
            let ours = r.address.compute() == Some(self.compute.as_str());
            if ours && !(r.address == me.address && r.index == me.index) {
                groups.entry(r.address.clone()).or_default().push(r.index);
            }
        }
        for (group, slots) in &groups {
            self.provider.stop_instances(group, slots)?;
        }
        self.stack.remove_instance(&me.address, me.index)
    }

    fn tend(&mut self, _now: f64, replacements: &mut Replacements) -> Result<(), CloudError> {
        // A job apply is replacing has its workers stopped on purpose: not deaths.
        let running: Vec<JobRecord> =
            self.jobs()?.into_iter().filter(|j| j.status == JobStatus::Running && !j.replacing).collect();
        for job in running {
            self.replace_dead(job, replacements)?;
        }
        Ok(())
    }

    fn upkeep(&mut self, _: &Ledger, _: &mut Replacements) -> Vec<(String, CloudError)> {
        Vec::new()
    }

    fn log(&mut self, event: &Event, job: Option<&str>) {
        self.stack.log_event(event, self.log_path(job).as_deref());
    }

    fn say(&mut self, line: &str, job: Option<&str>) {
        self.stack.event(self.log_path(job).as_deref(), line);
    }
}
