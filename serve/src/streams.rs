//! The streams a server follows: each a client's market, seeded once with its history
//! (`PUT ROUTE/streams/ID`), then sent each new bar (`POST ROUTE/streams/ID/bars`), answered
//! by a `gaform_runtime::stream::Stream` that does the new bars' work only. Bounded: at most
//! `max` streams, one idle past `idle` is forgotten (at the server's next poll, or when it is
//! next sent a bar), and one seeded under another strategy version is dropped; each of those
//! is told to seed again, never answered from a state it does not have. A stream lives in the process that seeded it: another replica, or this
//! one restarted, answers 404 and the client seeds again.

use gaform_runtime::stream::Stream;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A stream and what it was seeded under.
pub struct Followed {
    pub stream: Stream,
    /// The strategy version it was seeded with.
    pub version: u64,
    touched: Instant,
}

/// Why a stream could not be had: each says what the client should do.
#[derive(Debug, PartialEq)]
pub enum Missing {
    /// Never seeded here (or this replica restarted, or it was deleted).
    Unknown,
    /// Forgotten after this long idle.
    Expired(Duration),
    /// Seeded under `was`; the server now serves `now`.
    Changed { was: u64, now: u64 },
}

impl Missing {
    /// The message a client reads.
    pub fn message(&self, id: &str, idle: Duration) -> String {
        let seed = "seed it again (PUT with the history it needs) to go on";
        match self {
            Missing::Unknown => format!(
                "no stream {id} here: never seeded, deleted, forgotten after {} idle, or seeded on \
                 another replica or before this one restarted; {seed}",
                humantime::format_duration(idle)
            ),
            Missing::Expired(after) => {
                format!("stream {id} was forgotten after {} idle; {seed}", humantime::format_duration(*after))
            }
            Missing::Changed { was, now } => format!(
                "stream {id} follows strategy version {was} and the service now serves version {now}: \
                 it was dropped; {seed}"
            ),
        }
    }
}

/// The table of streams.
pub struct Streams {
    table: Mutex<HashMap<String, Arc<Mutex<Followed>>>>,
    /// At most this many streams.
    pub max: usize,
    /// A stream idle this long is forgotten.
    pub idle: Duration,
}

impl Streams {
    pub fn new(max: usize, idle: Duration) -> Streams {
        Streams { table: Mutex::new(HashMap::new()), max, idle }
    }

    /// Streams followed now.
    pub fn len(&self) -> usize {
        self.table.lock().map_or(0, |t| t.len())
    }

    /// Follows `stream` as `id` (replacing any stream of that id); `Err` with the cap when
    /// every place is taken by a stream not idle past its time.
    pub fn seed(&self, id: &str, stream: Stream, version: u64) -> Result<(), usize> {
        let Ok(mut table) = self.table.lock() else { return Err(self.max) };
        if !table.contains_key(id) && table.len() >= self.max {
            forget_idle_in(&mut table, self.idle);
            if table.len() >= self.max {
                return Err(self.max);
            }
        }
        let followed = Followed { stream, version, touched: Instant::now() };
        table.insert(id.to_string(), Arc::new(Mutex::new(followed)));
        Ok(())
    }

    /// Runs `f` on stream `id`, served now at `version`; a stream idle too long, or seeded
    /// under another version, is dropped and told.
    pub fn with<T>(&self, id: &str, version: u64, f: impl FnOnce(&mut Followed) -> T) -> Result<T, Missing> {
        let followed = {
            let table = self.table.lock().map_err(|_| Missing::Unknown)?;
            table.get(id).cloned().ok_or(Missing::Unknown)?
        };
        let mut followed = followed.lock().map_err(|_| Missing::Unknown)?;
        let missing = if followed.touched.elapsed() >= self.idle {
            Some(Missing::Expired(self.idle))
        } else if followed.version != version {
            Some(Missing::Changed { was: followed.version, now: version })
        } else {
            None
        };
        if let Some(missing) = missing {
            drop(followed);
            self.forget(id);
            return Err(missing);
        }
        followed.touched = Instant::now();
        Ok(f(&mut followed))
    }

    /// Forgets every stream idle past its time (one in use now is not idle), so that a
    /// client that went away does not hold a place and its memory until the cap is reached;
    /// how many. A client coming back is told it was forgotten after that long idle.
    pub fn forget_idle(&self) -> usize {
        self.table.lock().map_or(0, |mut table| forget_idle_in(&mut table, self.idle))
    }

    /// Forgets stream `id`; whether there was one.
    pub fn forget(&self, id: &str) -> bool {
        self.table.lock().is_ok_and(|mut t| t.remove(id).is_some())
    }
}

/// Forgets the streams of `table` idle for `idle` or longer (one in use now is not idle); how
/// many.
fn forget_idle_in(table: &mut HashMap<String, Arc<Mutex<Followed>>>, idle: Duration) -> usize {
    let before = table.len();
    table.retain(|_, f| f.try_lock().map_or(true, |f| f.touched.elapsed() < idle));
    before - table.len()
}

/// A stream id: 1 to 128 of `A-Z a-z 0-9 . _ -` (it goes in a path and in messages).
pub fn valid_id(id: &str) -> bool {
    (1..=128).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}
