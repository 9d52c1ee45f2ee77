//! A group running fewer workers than its jobs were planned with gets the difference
//! started (on aws, a fleet request: spot first, on-demand for the shortfall as its policy
//! says), with no `apply`. The new workers claim the islands the lost ones held and resume
//! them from their checkpoints. Nothing is started while a budget or monitor has frozen the
//! run. A worker lost without notice counts against the replacement cap; one given notice
//! (a spot interruption, a rebalance recommendation) counts as gone from the notice on, and
//! its replacement starts before it goes. A failed start is asked again at the next tick and
//! logged again only when its error changes. An autoscaled group short of what its work
//! needs grows the same way.

use super::{Fleet, Workers};
use crate::head::Replacements;
use gaform_compiler::plan::{Addr, JobStatus};
use gaform_control::event::{Event, Kind};
use gaform_control::heal;
use gaform_control::ledger::Ledger;
use gaform_providers::local::JobRecord;
use gaform_providers::CloudError;
use std::collections::BTreeMap;

/// A group the running jobs use: how many workers they were planned with, when the
/// earliest of them started, and whether any is frozen.
struct Need {
    want: u64,
    since: f64,
    frozen: bool,
    /// Sized by the head (`autoscale`): a shortfall with nothing lost is growth.
    autoscaled: bool,
    /// The running jobs on it, whose replacement caps its losses count against.
    jobs: Vec<JobRecord>,
}

impl Fleet {
    /// Starts workers where `ledger` (level with the cloud) shows fewer than planned.
    pub fn heal(
        &mut self,
        workers: &mut impl Workers,
        ledger: &Ledger,
        replacements: &mut Replacements,
    ) -> Result<(), CloudError> {
        let mut groups: BTreeMap<Addr, Need> = BTreeMap::new();
        let running: Vec<JobRecord> =
            workers.jobs()?.into_iter().filter(|j| j.status == JobStatus::Running).collect();
        for job in running {
            let want = self.wanted(workers, &job)?;
            let need = groups.entry(job.group.clone()).or_insert(Need {
                want: 0,
                since: f64::MAX,
                frozen: false,
                autoscaled: false,
                jobs: Vec::new(),
            });
            need.want = need.want.max(want);
            need.since = need.since.min(job.started_at);
            need.frozen |= job.frozen;
            need.autoscaled |= job.scaling.is_some();
            need.jobs.push(job);
        }
        for (group, need) in groups.into_iter().filter(|(_, n)| !n.frozen) {
            let short =
                heal::shortfall(ledger, group.as_str(), need.want, need.since, &self.lost, &self.leaving);
            let Some(short) = short else { continue };
            // Given notice, still running, not replaced yet: what this request is also for.
            let leaving: Vec<String> = ledger
                .running()
                .filter(|e| e.address == group.as_str() && self.leaving.contains(&e.instance))
                .map(|e| e.instance.clone())
                .filter(|id| !self.replaced_early.contains(id))
                .collect();
            let grows = need.autoscaled && short.lost.is_empty() && leaving.is_empty();
            if grows {
                self.grow(workers, &group, &short, need.want);
                continue;
            }
            // Lost without notice: a crash or a kill, which the cap bounds (per worker the
            // group was planned with, as a cloud gives lost workers no lasting names).
            let mut capped = false;
            for job in &need.jobs {
                for id in &short.lost {
                    let why = |cap| {
                        format!("{group}: its workers were lost without notice {cap} times (the last {group}[{id}]); see their console output")
                    };
                    capped |= !replacements.allow(job, group.as_str(), job.workers, why);
                }
            }
            if capped {
                continue;
            }
            let said = format!(
                "{} ({} of {} running)",
                why(&group, &short.lost, &leaving),
                short.running,
                need.want
            );
            match workers.start(&group, short.need) {
                Ok(started) => {
                    self.failed.remove(&group);
                    self.lost.extend(short.lost.iter().cloned());
                    // When they go, they were replaced already: not a loss to name again.
                    self.lost.extend(leaving.iter().cloned());
                    self.replaced_early.extend(leaving);
                    let reason = format!(
                        "{said}: requested {} in their place ({started}); their islands resume from their checkpoints",
                        short.need
                    );
                    let kind =
                        Kind::Replaced { group: group.to_string(), lost: short.lost, requested: short.need };
                    workers.record(Event { time: workers.now(), kind, reason });
                }
                Err(error) => self.not_started(
                    workers,
                    &group,
                    short.need,
                    &format!("{said}: could not start {} in their place", short.need),
                    error,
                ),
            }
        }
        Ok(())
    }

    /// Asks for the workers an autoscaled group's work needs beyond those it runs.
    fn grow(&mut self, workers: &mut impl Workers, group: &Addr, short: &heal::Shortfall, want: u64) {
        let said =
            format!("{group}: its unfinished islands need {want} worker(s), it runs {}", short.running);
        match workers.start(group, short.need) {
            Ok(started) => {
                self.failed.remove(group);
                let reason = format!("{said}: requested {} more ({started})", short.need);
                let kind = Kind::ScaledUp {
                    group: group.to_string(),
                    from: short.running,
                    to: want,
                    requested: short.need,
                };
                workers.record(Event { time: workers.now(), kind, reason });
            }
            Err(error) => self.not_started(
                workers,
                group,
                short.need,
                &format!("{said}: could not start {} more", short.need),
                error,
            ),
        }
    }

    /// A start for `group` that failed: an event, unless it failed the same way last time
    /// (it is asked again every tick).
    fn not_started(
        &mut self,
        workers: &mut impl Workers,
        group: &Addr,
        requested: u64,
        said: &str,
        error: CloudError,
    ) {
        let error = error.to_string();
        if self.failed.get(group) == Some(&error) {
            return;
        }
        self.failed.insert(group.clone(), error.clone());
        let reason = format!("{said} ({error}); asking again every tick");
        let kind = Kind::ReplacementFailed { group: group.to_string(), requested, error };
        workers.record(Event { time: workers.now(), kind, reason });
    }
}

/// Why a group is short, in words: the workers gone and those given notice.
fn why(group: &Addr, lost: &[String], leaving: &[String]) -> String {
    let named = |ids: &[String]| ids.iter().map(|id| format!("{group}[{id}]")).collect::<Vec<_>>().join(", ");
    match (lost.is_empty(), leaving.is_empty()) {
        (true, true) => "gone".to_string(),
        (false, true) => format!("{} gone", named(lost)),
        (true, false) => format!("{} given notice", named(leaving)),
        (false, false) => format!("{} gone, {} given notice", named(lost), named(leaving)),
    }
}
