//! The watcher beside the server: reads the job's `best.json` every poll, swaps in each new
//! one, (a replica on aws) says how it is in a heartbeat on S3, and (one of several local
//! replicas) keeps its siblings running. A blocking thread: file and S3 reads are its only
//! work, and they never hold up a request.

use super::http::Shared;
use super::served;
use super::setup::Setup;
use gaform_control::event::{Event, Kind};
use gaform_providers::local::agent::Registration;
use gaform_providers::local::{LocalProvider, StackDir};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Loads `best.json` whenever its bytes change and swaps it in; a file that is not a
/// finished run's best is said once and the last good one kept.
pub struct Watcher {
    shared: Arc<Shared>,
    setup: Setup,
    version: u64,
    /// The bytes served now, and the last ones refused: neither is read again until it
    /// changes.
    loaded: Option<Vec<u8>>,
    refused: Option<Vec<u8>>,
    failing: bool,
    keeper: Keeper,
}

impl Watcher {
    pub fn new(shared: Arc<Shared>, setup: Setup) -> Watcher {
        Watcher {
            shared,
            setup,
            version: 0,
            loaded: None,
            refused: None,
            failing: false,
            keeper: Keeper::default(),
        }
    }

    /// Reads `best.json` and swaps it in if it is new and a finished run's. A server looks
    /// once before it listens, so that a replica started while a strategy exists (a dead
    /// one started again, a new one of a roll) never answers 503 for want of it.
    pub fn look(&mut self) {
        let bytes = match self.setup.source.read() {
            Ok(bytes) => {
                self.failing = false;
                bytes
            }
            Err(e) => {
                // Said once per outage; the strategy served stays.
                if !self.failing {
                    errln!("{e}");
                }
                self.failing = true;
                None
            }
        };
        let new = |b: &Vec<u8>| Some(b) != self.loaded.as_ref() && Some(b) != self.refused.as_ref();
        if let Some(bytes) = bytes.filter(new) {
            let setup = &self.setup;
            match served::load(&bytes, self.version + 1, setup.costs, setup.data_digest.as_deref()) {
                Ok(served) => {
                    self.version = served.version;
                    errln!("serving version {} (run {}): {}", self.version, served.run, served.strategy);
                    self.shared.swap(served);
                    (self.loaded, self.refused) = (Some(bytes), None);
                }
                Err(why) => {
                    let why = format!("{} is not served: {why}", setup.source.name());
                    errln!("{why}");
                    self.shared.wait(why);
                    self.refused = Some(bytes);
                }
            }
        }
        self.setup.source.beat(&self.shared);
    }

    /// Looks every `poll` until a local replica's `slot` is no longer its own (its record
    /// gone, or a successor registered in it), keeping its siblings running meanwhile when it
    /// is one of several and saying in its record once it has a strategy to answer with.
    pub fn watch(mut self, slot: Option<(StackDir, Registration)>, poll: Duration) {
        let mut said_ready = false;
        loop {
            if let Some((stack, me)) = &slot {
                if me.displaced(stack) {
                    errln!(
                        "{} was replaced or removed by apply: stopping",
                        me.record.address.instance(me.record.index)
                    );
                    return;
                }
                if !said_ready && self.shared.current().is_some() {
                    said_ready = me.mark_ready(stack).is_ok();
                }
                if self.setup.replicas > 1 {
                    self.keeper.keep(stack, me, self.setup.replicas);
                }
            }
            std::thread::sleep(poll);
            self.look();
            self.shared.forget_idle_streams();
        }
    }
}

/// How long a sibling must have been seen dead before it is started again: apply stops a
/// replica and removes its record a moment later, and that moment is no death.
const DEAD_FOR: Duration = Duration::from_secs(1);
/// How long a started replica has to register itself before it counts as dead.
const START_WAIT: f64 = 20.0;
/// Starts of one slot after which the keeper gives up on it (as a head does for a worker).
const MAX_RESTARTS: u32 = 5;

/// What the keeper of a service's local replicas knows: the live replica of the lowest slot
/// starts a sibling that died again, within a couple of polls, while the others answer.
#[derive(Default)]
struct Keeper {
    /// Since when each sibling has been seen dead.
    dead_since: BTreeMap<u64, Instant>,
    /// How often each slot was started again.
    restarts: BTreeMap<u64, u32>,
}

impl Keeper {
    fn keep(&mut self, stack: &StackDir, me: &Registration, replicas: u64) {
        let (address, mine) = (&me.record.address, me.record.index);
        let record = |i: u64| stack.instance(address, i).ok().flatten();
        let live = |r: &Option<gaform_providers::local::InstanceRecord>| {
            r.as_ref().and_then(|r| r.process).is_some_and(|p| p.is_alive())
        };
        // One keeper at a time: the live replica of the lowest slot, while the slot is its own
        // (in a roll the successor starting in it keeps instead). The others stop reading at
        // the first live slot below theirs: every replica looks every poll.
        let own = record(mine).is_some_and(|r| r.process == Some(me.me));
        if !own || (0..mine).any(|i| live(&record(i))) {
            self.dead_since.clear();
            return;
        }
        // The keeper reads them all: a slot below its own may be dead and want starting.
        let records: Vec<_> = (0..replicas).map(record).collect();
        let now = gaform_providers::local::records::now();
        for (slot, record) in (0..replicas).zip(&records) {
            let Some(record) = record.as_ref().filter(|_| slot != mine) else {
                // No record: apply removed the slot (or never made it); nothing to keep.
                self.dead_since.remove(&slot);
                continue;
            };
            let dead = match record.process {
                Some(p) => !p.is_alive(),
                None => now - record.started_at > START_WAIT,
            };
            if !dead {
                self.dead_since.remove(&slot);
                continue;
            }
            let since = *self.dead_since.entry(slot).or_insert_with(Instant::now);
            if since.elapsed() < DEAD_FOR {
                continue;
            }
            self.dead_since.remove(&slot);
            let starts = self.restarts.entry(slot).or_default();
            let log = stack.instance_log(address, slot);
            if *starts == MAX_RESTARTS {
                *starts += 1;
                let line = format!(
                    "{}: died {MAX_RESTARTS} times; not started again (see {}); the other replicas answer",
                    address.instance(slot),
                    log.display()
                );
                errln!("{line}");
                stack.event(Some(&log), &line);
            }
            if *starts > MAX_RESTARTS {
                continue;
            }
            *starts += 1;
            let gone = record.process.map_or("never registered".into(), |p| format!("pid {} is gone", p.pid));
            let (group, time) = (address.to_string(), gaform_providers::local::records::now());
            let (kind, reason) = match start(stack, record, slot) {
                Ok(pid) => (
                    Kind::Replaced {
                        group,
                        lost: vec![format!("{} ({gone})", address.instance(slot))],
                        requested: 1,
                    },
                    format!(
                        "{}: {gone}; replica [{mine}] started pid {pid} in its place (replicas = {replicas})",
                        address.instance(slot)
                    ),
                ),
                Err(e) => (
                    Kind::ReplacementFailed { group, requested: 1, error: e.to_string() },
                    format!("{}: {gone}; starting it again failed: {e}", address.instance(slot)),
                ),
            };
            errln!("{reason}");
            stack.log_event(&Event { time, kind, reason }, Some(&log));
        }
    }
}

/// Starts `record`'s replica again in `slot`, as apply started it.
fn start(
    stack: &StackDir,
    record: &gaform_providers::local::InstanceRecord,
    slot: u64,
) -> Result<u32, gaform_providers::CloudError> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the gaform executable: {e}"))?;
    let provider = LocalProvider::new(stack.clone(), exe, std::path::PathBuf::new(), None);
    Ok(provider.start_instance(record, slot)?.pid)
}
