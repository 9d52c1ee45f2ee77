//! An autoscaled group (`autoscale = true`) is sized to its work at every tick
//! (`gaform-control`'s `autoscale`). Growth goes through the heal: a group short of its
//! target gets the difference started, as a group short of lost workers does. Once the new
//! workers are up and waiting, the job's islands are dealt again over all of them. Workers
//! beyond the target that hold no unfinished island go after the cool-down, and a group
//! whose jobs are done is brought back to its `min`. The work left is read from the job's
//! store (its final checkpoints), who holds it from the claims, and only where the group
//! runs more workers than it needs.

use super::{Fleet, Workers};
use gaform_compiler::plan::{Addr, JobStatus};
use gaform_control::autoscale::{self, Sizing};
use gaform_control::event::{Event, Kind};
use gaform_control::ledger::Ledger;
use gaform_providers::local::JobRecord;
use gaform_providers::CloudError;
use std::collections::{BTreeMap, BTreeSet};

/// How long new workers that were asked for may keep the others waiting for a new deal:
/// one that never boots does not hold the job to the workers it had.
pub const DEAL_GRACE: f64 = 120.0;

impl Fleet {
    /// The workers a running job needs now: its autoscaled target for the islands it has
    /// not finished, or the count it was planned with.
    pub fn wanted(&self, workers: &mut impl Workers, job: &JobRecord) -> Result<u64, CloudError> {
        match job.scaling {
            Some(sizing) => Ok(sizing.target(workers.unfinished(job)?.len() as u64)),
            None => Ok(job.workers),
        }
    }

    /// Deals the islands again where new workers are up, then sheds the idle workers beyond
    /// each autoscaled group's target.
    pub fn autoscale(&mut self, workers: &mut impl Workers, ledger: &Ledger) -> Result<(), CloudError> {
        let jobs: Vec<JobRecord> = workers.jobs()?.into_iter().filter(|j| j.scaling.is_some()).collect();
        let mut groups: BTreeMap<Addr, (Sizing, Vec<&JobRecord>)> = BTreeMap::new();
        for job in &jobs {
            let Some(sizing) = job.scaling else { continue };
            let entry = groups.entry(job.group.clone()).or_insert((sizing, Vec::new()));
            if job.status == JobStatus::Running {
                entry.1.push(job);
            }
        }
        for (group, (sizing, running)) in groups {
            let live: Vec<String> = ledger
                .running()
                .filter(|e| e.address == group.as_str() && !self.leaving.contains(&e.instance))
                .map(|e| e.instance.clone())
                .collect();
            for job in &running {
                self.deal_again(workers, job, &live)?;
            }
            self.shed_idle(workers, ledger, &group, sizing, &running, &live)?;
        }
        Ok(())
    }

    /// Deals `job`'s islands again over the `live` workers once those the head added are
    /// up (or the first of them has waited [`DEAL_GRACE`]).
    fn deal_again(
        &mut self,
        workers: &mut impl Workers,
        job: &JobRecord,
        live: &[String],
    ) -> Result<(), CloudError> {
        let count = live.len() as u64;
        if count <= job.dealt_over {
            self.waiting_since.remove(&job.name);
            return Ok(());
        }
        let ready = workers
            .waiting_for_islands(&job.name, job.dealt)?
            .into_iter()
            .filter(|id| live.contains(id))
            .count() as u64;
        let now = workers.now();
        let since = if ready > 0 { *self.waiting_since.entry(job.name.clone()).or_insert(now) } else { now };
        if !autoscale::deal_again(job.islands, job.dealt_over, count, ready, now - since, DEAL_GRACE) {
            return Ok(());
        }
        // Read again: the record may have moved on since this tick began.
        let Some(mut fresh) = workers.job(&job.name)? else { return Ok(()) };
        fresh.dealt += 1;
        fresh.dealt_over = count;
        workers.write_job(&fresh)?;
        self.waiting_since.remove(&job.name);
        let reason = format!(
            "{}: {} island(s) dealt again over {count} workers ({ready} new one(s) up and waiting); those that held more save theirs where they are and hand the rest over",
            job.address, job.islands
        );
        workers.record(Event {
            time: workers.now(),
            kind: Kind::IslandsDealt { job: job.name.clone(), workers: count },
            reason,
        });
        Ok(())
    }

    /// Terminates `group`'s workers that have held no unfinished island for the cool-down,
    /// down to its target (its `min` once its jobs are done).
    fn shed_idle(
        &mut self,
        workers: &mut impl Workers,
        ledger: &Ledger,
        group: &Addr,
        sizing: Sizing,
        running: &[&JobRecord],
        live: &[String],
    ) -> Result<(), CloudError> {
        let mut busy = BTreeSet::new();
        let mut unfinished = 0;
        // Nothing to read while the group runs no more than it needs: the usual case.
        let mut target = sizing.min;
        for job in running {
            target = target.max(sizing.target(workers.unfinished(job)?.len() as u64));
        }
        if live.len() as u64 <= target {
            self.idle_since.retain(|id, _| !live.contains(id));
            return Ok(());
        }
        for job in running {
            let left = workers.unfinished(job)?;
            unfinished += left.len();
            for island in left {
                if let Some(holder) = workers.claim_holder(&job.name, island)? {
                    busy.insert(holder);
                }
            }
        }
        let t = workers.now();
        for id in live {
            if busy.contains(id) {
                self.idle_since.remove(id);
            } else {
                self.idle_since.entry(id.clone()).or_insert(t);
            }
        }
        let victims = autoscale::to_shed(
            ledger,
            group.as_str(),
            target,
            &self.idle_since,
            &self.leaving,
            t,
            self.cooldown,
        );
        if victims.is_empty() {
            return Ok(());
        }
        workers.terminate(&victims)?;
        let from = live.len() as u64;
        let to = from - victims.len() as u64;
        let work = match (running.is_empty(), unfinished) {
            (true, _) => "its jobs are done".to_string(),
            (false, n) => format!("{n} island(s) left need {target}"),
        };
        let named: Vec<String> = victims.iter().map(|id| format!("{group}[{id}]")).collect();
        let reason = format!(
            "{group}: {} idle for the cool-down of {:.0} s and {work}: terminated, {from} -> {to} worker(s) (min = {})",
            named.join(", "),
            self.cooldown,
            sizing.min
        );
        for id in &victims {
            self.idle_since.remove(id);
        }
        let kind = Kind::ScaledDown { group: group.to_string(), from, to, instances: victims };
        workers.record(Event { time: workers.now(), kind, reason });
        Ok(())
    }
}
