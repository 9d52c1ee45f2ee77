//! A head on aws moves a group that fell back to on-demand back to spot (`return_to_spot`):
//! when due (`gaform-control`'s `spot_return`), it asks EC2 for as many spot workers as the
//! group runs on-demand ones, spot only; for each one had, an on-demand worker is told
//! (through its job's record) to save its islands where they are and let go of them, and is
//! terminated once it has, or after [`HAND_OVER_LIMIT`] if it never does (its islands then
//! resume from their last epoch). A try that finds no spot is tried again `return_to_spot`
//! later: no relaunch loop. Each try and each hand-over is an event.

use super::cloud::AwsCloud;
use gaform_compiler::plan::describe::parse_duration;
use gaform_compiler::plan::Addr;
use gaform_control::event::{Event, Kind};
use gaform_control::ledger::Ledger;
use gaform_control::spot_return;
use gaform_providers::local::records::now;
use gaform_providers::CloudError;
use std::collections::BTreeSet;

/// How long an on-demand worker has to hand its islands over before it is terminated.
const HAND_OVER_LIMIT: f64 = 600.0;

impl AwsCloud {
    /// Asks for spot where a group is due, then ends the hand-overs that are done.
    pub(super) fn return_to_spot(&mut self, ledger: &Ledger) -> Result<(), CloudError> {
        let jobs = self.running_jobs()?;
        let groups: BTreeSet<Addr> = jobs.iter().filter(|j| !j.frozen).map(|j| j.group.clone()).collect();
        for group in groups {
            let on_demand = ledger.running().any(|e| {
                e.address == group.as_str()
                    && e.market == gaform_compiler::ir::Market::OnDemand
                    && !self.fleet.leaving.contains(&e.instance)
            });
            // The usual case costs no request: nothing to move.
            if !on_demand {
                continue;
            }
            let attributes = match self.attributes.get(&group) {
                Some(known) => known.clone(),
                None => {
                    let read = self.agent.group_attributes(&group)?;
                    self.attributes.insert(group.clone(), read.clone());
                    read
                }
            };
            if !attributes.get("purchase").is_some_and(|p| p.starts_with("spot")) {
                continue;
            }
            let after = attributes.get("return_to_spot").and_then(|d| parse_duration(d));
            let last = self.spot_tries.get(&group).copied();
            let due = spot_return::due(ledger, group.as_str(), after, last, &self.fleet.leaving, now());
            if due.is_empty() {
                continue;
            }
            self.spot_tries.insert(group.clone(), now());
            let (started, errors) = match self.agent.start_spot(&group, due.len() as u64) {
                Ok(got) => got,
                Err(e) => (vec![], vec![e.to_string()]),
            };
            let moving: Vec<String> = due.iter().take(started.len()).cloned().collect();
            let error = errors.join("; ");
            let again = attributes.get("return_to_spot").map_or("", String::as_str);
            let reason = if moving.is_empty() {
                format!("{group}: asked for {} spot worker(s) to take the on-demand ones' place, had none ({error}); asking again in {again}", due.len())
            } else {
                let names: Vec<String> = moving.iter().map(|id| format!("{group}[{id}]")).collect();
                format!(
                    "{group}: asked for {} spot worker(s), had {} ({}); {} hand(s) its islands over and goes",
                    due.len(),
                    started.len(),
                    started.join(", "),
                    names.join(", ")
                )
            };
            let kind = Kind::SpotRetried {
                group: group.to_string(),
                asked: due.len() as u64,
                got: started.len() as u64,
                error,
            };
            self.record(Event { time: now(), kind, reason });
            for id in &moving {
                // Not lost when it goes: replaced already.
                self.fleet.leaving.insert(id.clone());
                self.fleet.lost.insert(id.clone());
                self.retiring.insert(id.clone(), (group.clone(), now()));
            }
            for mut job in jobs.iter().filter(|j| j.group == group).cloned() {
                job.retiring.extend(moving.iter().cloned());
                self.agent.write_job(&job)?;
            }
        }
        self.end_hand_overs()
    }

    /// Terminates the on-demand workers moving to spot that have let go of their islands
    /// (or took too long to), and takes them off their jobs' records.
    fn end_hand_overs(&mut self) -> Result<(), CloudError> {
        let pending: Vec<(String, Addr, f64)> =
            self.retiring.iter().map(|(id, (group, since))| (id.clone(), group.clone(), *since)).collect();
        if pending.is_empty() {
            return Ok(());
        }
        // Read once; each record is written back as it changes, so a second hand-over in the
        // same job starts from the first one's record.
        let mut running = self.running_jobs()?;
        for (id, group, since) in pending {
            let mut holding = false;
            for job in running.iter().filter(|j| j.group == group) {
                holding |= self.agent.holds_claims(&job.name, job.islands, &id)?;
            }
            let late = now() - since > HAND_OVER_LIMIT;
            if holding && !late {
                continue;
            }
            self.agent.terminate(&self.books, std::slice::from_ref(&id))?;
            for job in running.iter_mut().filter(|j| j.group == group) {
                job.retiring.retain(|r| r != &id);
                self.agent.write_job(job)?;
            }
            self.retiring.remove(&id);
            let how = if holding {
                format!("did not let go of its islands within {HAND_OVER_LIMIT:.0} s; they resume from their last checkpoints")
            } else {
                "handed its islands over (saved where they were)".to_string()
            };
            let reason = format!("{group}[{id}] (on-demand): {how}; terminated, a spot worker has its place");
            self.record(Event {
                time: now(),
                kind: Kind::HandedToSpot { group: group.to_string(), instance: id },
                reason,
            });
        }
        Ok(())
    }
}
