//! Where an island's state lives in the run's store, and how little of it is kept: each
//! island's epoch checkpoints (only those its ring successor may still read, and those
//! since a small pointer it rewrites every few epochs), the one it saved mid-epoch when
//! stopped, and its history sealed into segments of [`SEGMENT`] generations, so that a
//! checkpoint's size and the time to write it do not grow with the run.

use super::config::JobConfig;
use super::error::{corrupt, read, RunError};
use super::evaluate::Evaluator;
use super::island::Island;
use super::space::Genome;
use super::stats::GenerationStats;
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// An island's state at an epoch end, before it takes in migrants (or where it was
/// stopped). As stored, its history, seconds and counted genomes are those since its last
/// history segment (`sealed`); as read back by [`restore`], whole.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    pub state: Island,
    /// Genomes already counted as evaluations (sorted; as stored, those counted since
    /// generation `sealed` began).
    pub seen: Vec<Genome>,
    /// Wall-clock seconds per generation: informative only, the one thing that differs
    /// between two runs of the same job.
    pub seconds: Vec<f64>,
    /// Generations `0..sealed` of the history are in segments ([`segment_key`]); zero, and
    /// left out, in a run shorter than a segment (whose checkpoints hold everything).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sealed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Generations of history one segment holds: a checkpoint holds at most this many rows
/// (and the genomes first counted over them), however long the run.
pub const SEGMENT: u64 = 1000;

/// The key of the segment of `island`'s history that starts at generation `from`.
pub fn segment_key(island: u64, from: u64) -> String {
    format!("islands/{island}/history-{from:06}.json")
}

/// Generations `from..from + SEGMENT` of an island's history: their statistics, their
/// seconds and the genomes first counted in them (sorted). Written once, when its island's
/// checkpoint would otherwise hold more than a segment's rows; never deleted (it is the
/// run's history, which the results show).
#[derive(Serialize, Deserialize)]
struct Segment {
    history: Vec<GenerationStats>,
    seconds: Vec<f64>,
    seen: Vec<Genome>,
}

/// A checkpoint read back whole.
pub struct Restored {
    pub checkpoint: Checkpoint,
    /// How many of its `seen` genomes (the first ones) came from segments.
    pub from_segments: usize,
}

/// `checkpoint` (of `island`, read from `key`) with its segments read back before it: its
/// history, seconds and counted genomes whole.
pub fn restore(
    store: &dyn Store,
    island: u64,
    key: &str,
    mut checkpoint: Checkpoint,
) -> Result<Restored, RunError> {
    let (mut history, mut seconds, mut seen) = (Vec::new(), Vec::new(), Vec::new());
    let mut from = 0;
    while from < checkpoint.sealed {
        let segment_key = segment_key(island, from);
        let segment: Segment = read(store, &segment_key)?.ok_or_else(|| RunError::Missing {
            store: store.describe(),
            key: segment_key.clone(),
            hint: "a checkpoint of its island names this segment of its history",
        })?;
        history.extend(segment.history);
        seconds.extend(segment.seconds);
        seen.extend(segment.seen);
        from += SEGMENT;
    }
    let from_segments = seen.len();
    history.append(&mut checkpoint.state.history);
    seconds.append(&mut checkpoint.seconds);
    seen.append(&mut checkpoint.seen);
    (checkpoint.state.history, checkpoint.seconds, checkpoint.seen) = (history, seconds, seen);
    if checkpoint.state.history.len() as u64 != checkpoint.state.generation + 1 {
        return Err(corrupt(store, key, &"it and its history segments do not add up to its generations"));
    }
    Ok(Restored { checkpoint, from_segments })
}

/// What an island has sealed into segments, and what it needs to seal the next.
pub struct Sealing {
    island: u64,
    /// Generations `0..sealed` are in segments.
    sealed: u64,
    /// The first `base` genomes the evaluator counted are in segments.
    base: usize,
    /// The evaluator's count after each generation scored since the last segment (from
    /// the generation the island resumed at): where a segment's genomes end.
    counts: BTreeMap<u64, usize>,
}

impl Sealing {
    /// For an island that starts afresh.
    pub fn new(island: u64) -> Sealing {
        Sealing { island, sealed: 0, base: 0, counts: BTreeMap::new() }
    }

    /// For an island resumed from `restored`, once the evaluator counted its genomes.
    pub fn resumed(island: u64, restored: &Restored, evaluator: &Evaluator) -> Sealing {
        let checkpoint = &restored.checkpoint;
        let counts = BTreeMap::from([(checkpoint.state.generation, evaluator.seen_count())]);
        Sealing { island, sealed: checkpoint.sealed, base: restored.from_segments, counts }
    }

    /// After `generation` was scored.
    pub fn scored(&mut self, generation: u64, evaluator: &Evaluator) {
        self.counts.insert(generation, evaluator.seen_count());
    }

    /// Writes `state` with its `seconds` at `key`: first each whole segment of history
    /// beyond the last one (while more than a segment's rows are not in one), then the
    /// checkpoint with the rest. A checkpoint therefore never holds more than [`SEGMENT`]
    /// rows, so the island it resumes always scores (and counts) the rest of the segment
    /// its rows begin.
    pub fn save(
        &mut self,
        store: &dyn Store,
        key: &str,
        state: &mut Island,
        seconds: &mut Vec<f64>,
        evaluator: &Evaluator,
    ) -> Result<(), RunError> {
        let rows = state.history.len() as u64;
        while rows - self.sealed > SEGMENT {
            let (from, to) = (self.sealed, self.sealed + SEGMENT);
            let segment_key = segment_key(self.island, from);
            let end = self.counts.get(&(to - 1)).copied().ok_or_else(|| {
                corrupt(store, &segment_key, &"its last generation was neither scored nor resumed at here")
            })?;
            let range = as_index(from)..as_index(to);
            let segment = Segment {
                history: state.history.get(range.clone()).unwrap_or_default().to_vec(),
                seconds: seconds.get(range).unwrap_or_default().to_vec(),
                seen: evaluator.seen_between(self.base, end),
            };
            let bytes = serde_json::to_vec(&segment).map_err(|e| corrupt(store, &segment_key, &e))?;
            store.put(&segment_key, &bytes)?;
            (self.sealed, self.base) = (to, end);
            self.counts.retain(|&generation, _| generation >= to);
        }
        // The checkpoint of the rows since the last segment: the others are moved aside
        // (not copied) while it is written.
        let sealed = as_index(self.sealed).min(state.history.len());
        let tail = state.history.split_off(sealed);
        let mut history = std::mem::replace(&mut state.history, tail);
        let tail = seconds.split_off(sealed.min(seconds.len()));
        let mut earlier = std::mem::replace(seconds, tail);
        let checkpoint = CheckpointOut {
            state,
            seen: evaluator.seen_between(self.base, evaluator.seen_count()),
            seconds,
            sealed: self.sealed,
        };
        let written = serde_json::to_vec(&checkpoint)
            .map_err(|e| corrupt(store, key, &e))
            .and_then(|bytes| Ok(store.put(key, &bytes)?));
        history.append(&mut state.history);
        state.history = history;
        earlier.append(seconds);
        *seconds = earlier;
        written
    }
}

/// [`Checkpoint`] as written, borrowing the island's state.
#[derive(Serialize)]
struct CheckpointOut<'a> {
    state: &'a Island,
    seen: Vec<Genome>,
    seconds: &'a [f64],
    #[serde(skip_serializing_if = "is_zero")]
    sealed: u64,
}

fn as_index(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// The key of island `island`'s checkpoint at `generation`.
pub fn checkpoint_key(island: u64, generation: u64) -> String {
    format!("islands/{island}/gen-{generation:06}.json")
}

/// The key of island `island`'s pointer to its latest epoch checkpoint ([`Latest`]).
pub fn latest_key(island: u64) -> String {
    format!("islands/{island}/latest.json")
}

/// An island's pointer: the generation of an epoch checkpoint it wrote (its latest when it
/// prunes: every [`PRUNE_EVERY`] epochs and at the end), and the first epoch end whose
/// checkpoint it may still keep (it deleted every one before). An island keeps only the
/// checkpoints its ring successor may still take migrants from, and those since its
/// pointer: a run's store holds a few checkpoints per island, not one per epoch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Latest {
    pub generation: u64,
    pub kept_from: u64,
}

/// Epochs between an island's prunings (its pointer written, its successor's read, what no
/// one reads again deleted). On S3 an epoch costs its checkpoint written, its neighbour's
/// read and, on average, one delete however often the island prunes; the pointer and the
/// successor's are two more each pruning: 5 requests an epoch when it pruned every epoch,
/// 3.5 now.
pub const PRUNE_EVERY: usize = 4;

/// Whether an island prunes at `ends[index]`: every [`PRUNE_EVERY`]th epoch end, and the
/// last (so that a finished run's store is pruned too).
pub(super) fn prunes_at(index: usize, ends: &[u64]) -> bool {
    (index + 1).is_multiple_of(PRUNE_EVERY) || index + 1 == ends.len()
}

/// The key of island `island`'s latest mid-epoch checkpoint: written when its worker must
/// leave before the epoch ends (a spot instance's two-minute notice), read when it resumes
/// if it is further on than the island's last epoch checkpoint.
pub fn interrupted_key(island: u64) -> String {
    format!("islands/{island}/interrupted.json")
}

/// True when every island has written its final checkpoint: the run is ready to gather.
pub fn islands_finished(store: &dyn Store, config: &JobConfig) -> Result<bool, RunError> {
    for island in 0..config.units() {
        if !store.contains(&checkpoint_key(island, config.generations))? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The islands that have not written their final checkpoint yet, in order: the work left.
pub fn unfinished_islands(store: &dyn Store, config: &JobConfig) -> Result<Vec<u64>, RunError> {
    let mut out = Vec::new();
    for island in 0..config.units() {
        if !store.contains(&checkpoint_key(island, config.generations))? {
            out.push(island);
        }
    }
    Ok(out)
}

/// Every island's final checkpoint, in island order.
pub fn final_checkpoints(store: &dyn Store, config: &JobConfig) -> Result<Vec<Checkpoint>, RunError> {
    (0..config.units())
        .map(|island| {
            let key = checkpoint_key(island, config.generations);
            let stored = read::<Checkpoint>(store, &key)?.ok_or_else(|| RunError::Missing {
                store: store.describe(),
                key: key.clone(),
                hint: "that island has not finished; start or restart its worker",
            })?;
            Ok(restore(store, island, &key, stored)?.checkpoint)
        })
        .collect()
}

/// Each island's furthest saved state, in island order (islands with none yet are left
/// out): what a run stopped before its end has to show. A stop saves every island where it
/// is, so this holds every generation done, the first epoch's included.
pub fn latest_checkpoints(store: &dyn Store, config: &JobConfig) -> Result<Vec<Checkpoint>, RunError> {
    let ends = config.epoch_ends();
    let mut out = Vec::new();
    for island in 0..config.units() {
        out.extend(furthest_saved(store, island, &ends, latest(store, island)?)?.map(|r| r.checkpoint));
    }
    Ok(out)
}

/// Records `end` as `island`'s latest epoch checkpoint, then deletes its checkpoints that
/// no one will read again: those before `end` (its own latest, which a restart resumes
/// from) and before its ring `successor`'s pointer (a successor that reached an epoch end
/// took its migrants from every earlier checkpoint of this island: epochs are synchronous
/// through the store; its pointer is at or behind where it is, so this errs on keeping).
/// `kept_from`: where the last pruning stopped; returns the new one.
/// The pointer is written before the deletes, and holds the older `kept_from`, so that a
/// crash anywhere leaves a pointer that names a checkpoint there and a `kept_from` no later
/// than the first one kept.
pub(super) fn prune(
    store: &dyn Store,
    island: u64,
    successor: u64,
    end: u64,
    ends: &[u64],
    kept_from: u64,
) -> Result<u64, RunError> {
    let pointer = Latest { generation: end, kept_from };
    let key = latest_key(island);
    store.put(&key, &serde_json::to_vec(&pointer).map_err(|e| corrupt(store, &key, &e))?)?;
    let consumed =
        if successor == island { end } else { latest(store, successor)?.map_or(0, |l| l.generation) };
    let keep_from = consumed.min(end);
    for &old in ends.iter().filter(|&&e| e >= kept_from && e < keep_from) {
        store.delete(&checkpoint_key(island, old))?;
    }
    Ok(keep_from.max(kept_from))
}

/// `island`'s pointer to its latest epoch checkpoint, if it wrote one.
pub(super) fn latest(store: &dyn Store, island: u64) -> Result<Option<Latest>, RunError> {
    read(store, &latest_key(island))
}

/// The generation of `island`'s latest epoch checkpoint: the last of those written in order
/// after its `pointer`'s (fewer than [`PRUNE_EVERY`]: nothing at or after the pointer is
/// deleted before the next pointer names a later one), or (no pointer yet, or a store an
/// older gaform wrote, which kept every checkpoint) the last of the prefix it wrote.
fn latest_epoch(
    store: &dyn Store,
    island: u64,
    ends: &[u64],
    pointer: Option<Latest>,
) -> Result<Option<u64>, RunError> {
    if let Some(pointer) = pointer {
        let mut latest = pointer.generation;
        for &end in ends.iter().filter(|&&end| end > pointer.generation) {
            if !store.contains(&checkpoint_key(island, end))? {
                break;
            }
            latest = end;
        }
        return Ok(Some(latest));
    }
    Ok(match epochs_written(store, island, ends)? {
        0 => None,
        n => ends.get(n - 1).copied(),
    })
}

/// `island`'s furthest saved state: its last epoch checkpoint, or the one it saved
/// mid-epoch when stopped ([`interrupted_key`]) if that is further on. What it resumes
/// from, and what a stopped run's results show. `pointer`: the island's, read once by the
/// caller.
pub(super) fn furthest_saved(
    store: &dyn Store,
    island: u64,
    ends: &[u64],
    pointer: Option<Latest>,
) -> Result<Option<Restored>, RunError> {
    let mut saved = match latest_epoch(store, island, ends, pointer)? {
        None => None,
        Some(generation) => {
            let key = checkpoint_key(island, generation);
            read::<Checkpoint>(store, &key)?.map(|c| (key, c))
        }
    };
    // Saved mid-epoch after that checkpoint: further on. (One saved at an epoch's first
    // generation holds the migrants already taken in; the epoch checkpoint is the one.)
    let reached = saved.as_ref().map_or(0, |(_, c)| c.state.generation);
    let key = interrupted_key(island);
    if let Some(mid) = read::<Checkpoint>(store, &key)? {
        if mid.state.generation > reached {
            saved = Some((key, mid));
        }
    }
    saved.map(|(key, c)| restore(store, island, &key, c)).transpose()
}

/// How many of the epoch `ends` `island` has written checkpoints for, in a store an older
/// gaform wrote (no pointer, every checkpoint kept).
///
/// Such an island wrote its epochs' checkpoints in order and kept them, so the ones it has
/// are a prefix of the epoch ends: a binary search finds the last in a few look-ups, not
/// one per epoch (each a request, on S3).
pub(crate) fn epochs_written(store: &dyn Store, island: u64, ends: &[u64]) -> Result<usize, RunError> {
    // The first `lo` surely written, `hi` at most.
    let (mut lo, mut hi) = (0, ends.len());
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if store.contains(&checkpoint_key(island, ends[mid - 1]))? {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(lo)
}
