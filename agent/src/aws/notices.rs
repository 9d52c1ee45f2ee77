//! A worker on aws watches its instance's metadata for EC2's notices (every
//! `GAFORM_NOTICE_POLL`, default 2 s: AWS gives two minutes): on a spot interruption
//! notice its islands save where they are and let go of their claims, on a rebalance
//! recommendation it takes no new islands; either way it tells its head at once (a notice on
//! S3), which starts the replacement.

use gaform_compiler::plan::Addr;
use gaform_providers::aws::agent::Agent;
use gaform_providers::aws::imds::{Metadata, Notice};
use gaform_providers::aws::notices::InstanceNotice;
use gaform_providers::local::records::now;
use gaform_providers::CloudError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What the watcher has seen, shared with the worker's loop.
#[derive(Default)]
pub struct Notices {
    /// The interruption notice, once seen (as told to the head).
    interruption: Mutex<Option<InstanceNotice>>,
    at_risk: AtomicBool,
    /// Set by the worker when it leaves: the watcher stops.
    done: AtomicBool,
}

impl Notices {
    /// Whether EC2 is about to take the instance back.
    pub fn interrupted(&self) -> bool {
        self.interruption.lock().is_ok_and(|n| n.is_some())
    }

    /// Whether the instance should take no new islands.
    pub fn at_risk(&self) -> bool {
        self.at_risk.load(Ordering::SeqCst) || self.interrupted()
    }

    /// Tells the head the worker has saved its islands and let go of them.
    pub fn handed_over(&self, agent: &Agent) -> Result<(), CloudError> {
        let notice = self.interruption.lock().ok().and_then(|n| n.clone());
        let Some(mut notice) = notice else { return Ok(()) };
        notice.handed_over_at = Some(now());
        agent.put_notice(&notice)
    }

    pub fn stop(&self) {
        self.done.store(true, Ordering::SeqCst);
    }
}

/// Watches until the worker is done. Off EC2 (no metadata service answers the first
/// look) it says so once and stops watching.
pub fn watch(agent: &Agent, me: &str, group: &Addr, every: Duration, notices: &Notices) {
    let metadata = match Metadata::connect() {
        Ok(got) => got,
        Err(e) => return errln!("{me}: spot notices are not watched: {e}"),
    };
    let mut first = true;
    let mut last_error = None;
    while !notices.done.load(Ordering::SeqCst) {
        let looked = Instant::now();
        match metadata.notice() {
            Ok(Some(notice)) => take(agent, me, group, notices, notice),
            Ok(None) => {}
            Err(e) if first => return errln!("{me}: spot notices are not watched: {e}"),
            Err(e) => {
                if last_error.as_ref() != Some(&e) {
                    errln!("{me}: {e}; asking again");
                }
                last_error = Some(e);
            }
        }
        first = false;
        while looked.elapsed() < every && !notices.done.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(50).min(every));
        }
    }
}

/// Acts on a notice seen, once per kind: the worker's loop first (it saves its islands
/// within a generation), then the head.
fn take(agent: &Agent, me: &str, group: &Addr, notices: &Notices, notice: Notice) {
    let told = InstanceNotice {
        instance: me.to_string(),
        group: group.to_string(),
        notice: notice.clone(),
        seen_at: now(),
        handed_over_at: None,
    };
    match &notice {
        Notice::Interruption { .. } => {
            let Ok(mut held) = notices.interruption.lock() else { return };
            if held.is_some() {
                return;
            }
            *held = Some(told.clone());
        }
        Notice::Rebalance { .. } => {
            if notices.at_risk.swap(true, Ordering::SeqCst) {
                return;
            }
        }
    }
    outln!("{me}: EC2 gave notice: {notice:?}; telling the head");
    // A head that cannot be told still finds the instance gone and replaces it.
    if let Err(e) = agent.put_notice(&told) {
        errln!("{me}: could not tell the head of the notice: {e}");
    }
}
