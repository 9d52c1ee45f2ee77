//! Why an island, a preparation or a gathering failed, and the two ways a blob read from a
//! store fails (missing, unreadable), shared by the modules that read the store.

use super::config::ConfigError;
use crate::data::DataError;
use crate::store::{Store, StoreError};
use crate::windows::WindowError;
use serde::Deserialize;
use std::time::Duration;

/// Why an island or a gathering failed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Window(#[from] WindowError),
    #[error("invalid job: {0}")]
    Config(#[from] ConfigError),
    #[error("{store}: `{key}` is missing: {hint}")]
    Missing { store: String, key: String, hint: &'static str },
    #[error("{store}: `{key}` is not readable: {message}")]
    Corrupt { store: String, key: String, message: String },
    #[error("island {island} does not exist: the job has {islands} (0 to {last})", last = islands.saturating_sub(1))]
    NoSuchIsland { island: u64, islands: u64 },
    #[error("no genome scored better than negative infinity: every one broke a constraint or had an undefined fitness (a Sharpe ratio with no trades, say){broken}")]
    NoChampion {
        /// With the job's constraints: how many genomes broke each, after a `; `.
        broken: String,
    },
    #[error("waited {waited:?} for island {neighbour}'s checkpoint at generation {generation} in {store}; is its worker running?")]
    NeighbourTimeout { neighbour: u64, generation: u64, waited: Duration, store: String },
    /// The caller asked the islands to stop; each resumes from its last checkpoint.
    #[error("interrupted; the islands resume from their last checkpoints")]
    Interrupted,
}

/// `key` in `store` is there but is not what it should be.
pub(super) fn corrupt(store: &dyn Store, key: &str, e: &dyn std::fmt::Display) -> RunError {
    RunError::Corrupt { store: store.describe(), key: key.to_string(), message: e.to_string() }
}

/// The JSON blob at `key`, if there is one.
pub(super) fn read<T: for<'de> Deserialize<'de>>(
    store: &dyn Store,
    key: &str,
) -> Result<Option<T>, RunError> {
    match store.get(key)? {
        None => Ok(None),
        Some(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| corrupt(store, key, &e)),
    }
}
