//! A head on aws heals its compute: at each tick, a group running fewer workers than its
//! jobs were planned with gets the difference from a new fleet request (spot first,
//! on-demand for the shortfall as its policy says), with no `apply`. The new workers claim
//! the islands the lost ones held and resume them from their checkpoints. Nothing is
//! started while a budget or monitor has frozen the run. Each request is an event with its
//! reason; a failed one is asked again at the next tick and logged again only when its
//! error changes.

use super::cloud_budget::Watch;
use gaform_compiler::plan::Addr;
use gaform_control::event::{Event, Kind};
use gaform_control::heal;
use gaform_control::ledger::Ledger;
use gaform_providers::local::records::now;
use std::collections::BTreeMap;

/// A group the running jobs use: how many workers they were planned with, when the
/// earliest of them started, and whether any is frozen.
struct Need {
    want: u64,
    since: f64,
    frozen: bool,
}

impl Watch<'_> {
    /// Starts workers where the ledger (just made level with EC2) shows fewer than planned.
    pub(super) fn heal(&mut self, ledger: &Ledger) -> Result<(), String> {
        let mut groups: BTreeMap<Addr, Need> = BTreeMap::new();
        for job in self.running_jobs()? {
            let need =
                groups.entry(job.group.clone()).or_insert(Need { want: 0, since: f64::MAX, frozen: false });
            need.want = need.want.max(job.workers);
            need.since = need.since.min(job.started_at);
            need.frozen |= job.frozen;
        }
        for (group, need) in groups.into_iter().filter(|(_, n)| !n.frozen) {
            let Some(short) = heal::shortfall(ledger, group.as_str(), need.want, need.since, &self.lost)
            else {
                continue;
            };
            let gone = if short.lost.is_empty() {
                "gone".to_string()
            } else {
                format!(
                    "{} gone",
                    short.lost.iter().map(|id| format!("{group}[{id}]")).collect::<Vec<_>>().join(", ")
                )
            };
            let said = format!("{gone} ({} of {} running)", short.running, need.want);
            match self.agent.replace_workers(&group, short.need) {
                Ok(started) => {
                    self.failed.remove(&group);
                    self.lost.extend(short.lost.iter().cloned());
                    let reason = format!(
                        "{said}: requested {} in their place ({started}); their islands resume from their checkpoints",
                        short.need
                    );
                    let kind =
                        Kind::Replaced { group: group.to_string(), lost: short.lost, requested: short.need };
                    self.log(Event { time: now(), kind, reason });
                }
                Err(error) => {
                    if self.failed.get(&group) == Some(&error) {
                        continue;
                    }
                    self.failed.insert(group.clone(), error.clone());
                    let reason = format!(
                        "{said}: could not start {} in their place ({error}); asking again every tick",
                        short.need
                    );
                    let kind =
                        Kind::ReplacementFailed { group: group.to_string(), requested: short.need, error };
                    self.log(Event { time: now(), kind, reason });
                }
            }
        }
        Ok(())
    }
}
