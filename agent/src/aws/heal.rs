//! A head on aws acts on the notices EC2 gives its workers (a spot interruption, a
//! rebalance recommendation): each new one is an event, the worker counts as gone from the
//! notice on, and the fleet's care (`crate::fleet`) starts its replacement before it goes.

use super::cloud::AwsCloud;
use crate::head::Replacements;
use gaform_compiler::plan::Addr;
use gaform_control::event::{Event, Kind};
use gaform_providers::aws::imds::Notice;
use gaform_providers::books::Books;
use gaform_providers::local::records::now;
use gaform_providers::CloudError;
use std::collections::BTreeSet;

impl AwsCloud {
    /// Acts on the notices this compute's workers left (one listing, a read of each new or
    /// rewritten one): each new one is an event, its instance counts as gone from now on,
    /// and the head heals at once (on a ledger made level with EC2 first) rather than at
    /// its next tick.
    pub(super) fn take_notices(&mut self, replacements: &mut Replacements) -> Result<(), CloudError> {
        let mut fresh = Vec::new();
        for notice in self.agent.new_notices(&mut self.notices_read)? {
            if Addr(notice.group.clone()).compute() != Some(self.compute.as_str()) {
                continue;
            }
            self.fleet.leaving.insert(notice.instance.clone());
            if self.noticed.insert((notice.instance.clone(), notice.kind().to_string())) {
                fresh.push(notice);
            }
        }
        if fresh.is_empty() {
            return Ok(());
        }
        for n in &fresh {
            let (what, at) = match &n.notice {
                Notice::Interruption { action, time } => (
                    format!("a spot interruption notice ({action} at {time}); it saves its islands and lets go of them"),
                    time,
                ),
                Notice::Rebalance { time } => {
                    (format!("a rebalance recommendation (at {time}); it takes no new islands"), time)
                }
            };
            let reason = format!(
                "{}[{}]: EC2 gave {what}; its replacement starts before it goes",
                n.group, n.instance
            );
            let kind = Kind::InterruptionNotice {
                instance: n.instance.clone(),
                group: n.group.clone(),
                notice: n.kind().to_string(),
                at: at.clone(),
            };
            self.record(Event { time: n.seen_at, kind, reason });
        }
        let ledger = self.agent.reconcile(&self.books, now())?;
        self.heal(&ledger, replacements)
    }
}

/// The notices a head has acted on before (its events), so that one restarted mid-run does
/// not act twice.
pub fn noticed_before(books: &dyn Books) -> BTreeSet<(String, String)> {
    let events = books.events().unwrap_or_default();
    events
        .into_iter()
        .filter_map(|e| match e.kind {
            Kind::InterruptionNotice { instance, notice, .. } => Some((instance, notice)),
            _ => None,
        })
        .collect()
}
