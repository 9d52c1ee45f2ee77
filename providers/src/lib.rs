//! Providers: observe what a stack owns, and carry out one plan action at a time. The
//! `local` cloud runs every instance as a `gaform` process on this machine; the apply walk
//! runs a plan's actions in dependency order with bounded concurrency.

#[cfg(feature = "aws")]
pub mod aws;
pub mod books;
pub mod clouds;
pub mod error;
pub mod local;
pub mod process;
pub mod service;
pub mod state;
pub mod walk;

pub use error::CloudError;

use gaform_compiler::plan::{Attributes, Change, Desired, Facts, Observed};

/// What a group's instances say of it, checked across all of them rather than read from
/// one: an attribute they disagree on (an apply that retagged some and was cut) reads
/// `mixed: A | B`, which no file writes, so the next plan updates every instance again.
pub fn agreed<'a>(each: impl IntoIterator<Item = &'a Attributes>) -> Attributes {
    use std::collections::BTreeSet;
    let all: Vec<&Attributes> = each.into_iter().collect();
    let keys: BTreeSet<&String> = all.iter().flat_map(|a| a.keys()).collect();
    keys.into_iter()
        .map(|key| {
            let values: BTreeSet<&str> =
                all.iter().map(|a| a.get(key).map_or("(none)", String::as_str)).collect();
            let value = match values.len() {
                1 => values.into_iter().collect::<String>(),
                _ => format!("mixed: {}", values.into_iter().collect::<Vec<_>>().join(" | ")),
            };
            (key.clone(), value)
        })
        .collect()
}

/// What the runtime needs of a job before workers can run it, written by the binary, which
/// alone knows both the language and the runtime: the store's first blobs (`job.json`,
/// `data/FILE`) by key. Local workers read them from a directory, aws workers from S3.
pub trait JobSetup: Send + Sync {
    /// Job `name`'s blobs, with `units` units of work (its islands times its walk-forward
    /// folds: `JobRecord::islands`).
    fn blobs(&self, name: &str, units: u64) -> Result<Vec<(String, Vec<u8>)>, CloudError>;
}

/// What a cloud must do for plan and apply.
/// A cloud's lock of the stack, released when dropped, with what taking it had to say (a
/// lock left behind that it took over).
pub struct Held {
    pub guard: Box<dyn Send>,
    pub note: Option<String>,
}

pub trait Provider: Send + Sync {
    /// Everything the stack owns, found by the stack's own labels, never by guesswork.
    fn observe(&self) -> Result<Observed, CloudError>;

    /// Carries out one change and says what it made or removed (`started [0] pid 4242`).
    /// `desired` is the whole desired state, for what the change needs of its neighbours
    /// (a job's worker count). The result is recorded before this returns.
    fn apply(&self, change: &Change, desired: &Desired) -> Result<String, CloudError>;

    /// What the cloud says of its market for `desired` at plan time: spot prices, the
    /// images names stand for, vCPU quotas. Nothing, for a cloud with no market.
    fn facts(&self, _desired: &Desired) -> Result<Facts, CloudError> {
        Ok(Facts::default())
    }

    /// Where the cloud keeps its ledger, budgets and events; made ready for writing when
    /// `write` (an aws cloud's bucket exists afterwards). `None` for a cloud that keeps
    /// none of its own.
    fn books(&self, _write: bool) -> Result<Option<std::sync::Arc<dyn books::Books>>, CloudError> {
        Ok(None)
    }

    /// The records of the jobs this cloud runs remotely (the local cloud's are its own
    /// records, read directly).
    fn jobs(&self) -> Result<Vec<local::JobRecord>, CloudError> {
        Ok(vec![])
    }

    /// The services this cloud runs remotely, each with its replicas' last heartbeats.
    fn services(&self) -> Result<Vec<(service::ServiceSpec, Vec<service::Heartbeat>)>, CloudError> {
        Ok(vec![])
    }

    /// A job this cloud runs remotely, once it is over: its record, with its results
    /// fetched into `into`. `None` while it runs, or when it is not this cloud's to fetch
    /// (the local cloud's heads write results in place).
    fn finished(&self, _job: &str, _into: &std::path::Path) -> Result<Option<local::JobRecord>, CloudError> {
        Ok(None)
    }

    /// Takes the stack's lock where this cloud keeps the stack's state, for `command`
    /// (`apply`, `destroy`), held until the guard returned is dropped; refused, naming its
    /// holder, while another holds it. `None` for a cloud that keeps none of its own (the
    /// local cloud's is the stack directory's lock file, `local::Lock`).
    fn lock(&self, _command: &str) -> Result<Option<Held>, CloudError> {
        Ok(None)
    }

    /// Removes this cloud's lock of the stack if its holder stopped without letting go
    /// (refused while it still runs); what it removed.
    fn clear_stale_lock(&self) -> Result<Option<String>, CloudError> {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::agreed;
    use gaform_compiler::plan::Attributes;

    fn attrs(pairs: &[(&str, &str)]) -> Attributes {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_group_is_what_all_its_instances_agree_on_and_mixed_where_they_do_not() {
        let old = attrs(&[("min", "3"), ("max", "3")]);
        let new = attrs(&[("min", "6"), ("max", "3"), ("tags", "team = b")]);
        assert_eq!(agreed([&old, &old]), old);
        assert_eq!(
            agreed([&new, &old, &new]),
            attrs(&[("min", "mixed: 3 | 6"), ("max", "3"), ("tags", "mixed: (none) | team = b")])
        );
        // Which instance comes first changes nothing.
        assert_eq!(agreed([&old, &new]), agreed([&new, &old]));
        assert_eq!(agreed(std::iter::empty()), Attributes::new());
    }
}
