//! The stack's lock on aws, beside its state on S3, as Terraform's S3 backend keeps one:
//! `stacks/STACK/CLOUD/lock.json`, made with a conditional write (`If-None-Match: *`), so
//! two applies (two people, or CI and a person) from two machines can never both hold it.
//! Its holder rewrites it every [`HEARTBEAT`] (`If-Match` its own version, so a lock taken
//! from it is not written back). One whose heartbeat stopped for [`STALE_AFTER`] is
//! reported as stale with its holder, and only then cleared by `gaform unlock`. One whose
//! holder ran on this machine and is gone is taken over, saying so: the caller holds this
//! machine's lock file, which a killed apply leaves behind (and `gaform unlock` clears,
//! this lock too), so such a holder let go here and only failed to remove this object (cut
//! off from S3 as it ended).

use super::AwsProvider;
use crate::process::ProcessId;
use crate::CloudError;
use aws_sdk_s3::primitives::ByteStream;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often a holder rewrites its lock.
pub const HEARTBEAT: Duration = Duration::from_secs(10);
/// A lock whose heartbeat is older than this is stale: its holder stopped without letting go.
pub const STALE_AFTER: f64 = 60.0;

/// Who holds a stack's lock: what `gaform` command, where, since when.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub command: String,
    /// `USER@HOST`.
    pub who: String,
    pub pid: u32,
    /// The machine it runs on, and the process (pid and start), to tell at once that a
    /// holder on this machine is gone.
    #[serde(default)]
    pub host: String,
    #[serde(default)]
    pub process: Option<ProcessId>,
    /// Unix seconds.
    pub since: f64,
    /// When the holder last rewrote the lock (unix seconds).
    pub heartbeat: f64,
}

impl Holder {
    fn describe(&self, key: &str, now: f64) -> String {
        format!(
            "`gaform {}` by {} (pid {}) since {}, heartbeat {:.0} s ago, in {key}",
            self.command,
            self.who,
            self.pid,
            crate::local::records::timestamp(self.since),
            (now - self.heartbeat).max(0.0)
        )
    }

    fn stale(&self, now: f64) -> bool {
        now - self.heartbeat > STALE_AFTER || self.gone_from_here()
    }

    /// It ran on this machine, and its process is gone.
    fn gone_from_here(&self) -> bool {
        self.host == hostname() && self.process.is_some_and(|p| !p.is_alive())
    }
}

/// The stack's lock, held until dropped: its heartbeat stops and the object is removed.
pub struct S3Lock {
    shared: Arc<Shared>,
    beating: Option<std::thread::JoinHandle<()>>,
    /// What it took over, if a holder on this machine had left it behind.
    pub took_over: Option<String>,
}

struct Shared {
    s3: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    runtime: Arc<tokio::runtime::Runtime>,
    holder: Mutex<(Holder, String)>,
    done: AtomicBool,
}

impl AwsProvider {
    fn lock_key(&self) -> String {
        format!("{}lock.json", self.stack_prefix())
    }

    /// Takes this cloud's lock of the stack for `command`: refused, naming the holder, when
    /// another holds it (or held it and stopped: a stale lock).
    pub fn take_lock(&self, command: &str) -> Result<S3Lock, CloudError> {
        // The account's bucket, made first if the stack has none yet (as apply would).
        let bucket = self.block_on(async {
            self.writable_books().await?;
            self.bucket().await
        })?;
        let now = crate::local::records::now();
        let holder = Holder {
            command: command.to_string(),
            who: who(),
            pid: std::process::id(),
            host: hostname(),
            process: ProcessId::current(),
            since: now,
            heartbeat: now,
        };
        let shared = Arc::new(Shared {
            s3: self.s3.clone(),
            bucket,
            key: self.lock_key(),
            runtime: self.runtime.clone(),
            holder: Mutex::new((holder.clone(), String::new())),
            done: AtomicBool::new(false),
        });
        let mut took_over = None;
        let etag = match shared.put(&holder, Condition::Absent)? {
            Some(etag) => etag,
            None => match shared.left_here()? {
                Some((left, their_etag)) => match shared.put(&holder, Condition::Ours(their_etag))? {
                    Some(etag) => {
                        let at = format!("s3://{}/{}", shared.bucket, shared.key);
                        took_over = Some(format!(
                            "took over the lock left by {} (it ended here without removing it)",
                            left.describe(&at, now)
                        ));
                        etag
                    }
                    None => return Err(shared.refusal()?),
                },
                None => return Err(shared.refusal()?),
            },
        };
        if let Ok(mut h) = shared.holder.lock() {
            h.1 = etag;
        }
        let beating = {
            let shared = shared.clone();
            std::thread::spawn(move || shared.beat())
        };
        Ok(S3Lock { shared, beating: Some(beating), took_over })
    }

    /// Removes this cloud's lock of the stack if its holder stopped (a stale lock); says
    /// what it removed. A lock whose holder still beats is refused.
    pub fn clear_lock_if_stale(&self) -> Result<Option<String>, CloudError> {
        let key = self.lock_key();
        let found = self.block_on(async {
            let bucket = self.bucket().await?;
            read(&self.s3, &bucket, &key).await.map(|h| h.map(|h| (bucket, h)))
        })?;
        let Some((bucket, (holder, _))) = found else { return Ok(None) };
        let now = crate::local::records::now();
        if !holder.stale(now) {
            return Err(format!(
                "the stack's lock on aws cloud `{}` is held by {}: it is not stale; wait for it to finish",
                self.cloud,
                holder.describe(&format!("s3://{bucket}/{key}"), now)
            )
            .into());
        }
        self.block_on(async {
            self.s3
                .delete_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
                .map_err(|e| super::sdk_error(e).context(format!("cannot remove s3://{bucket}/{key}")))
        })?;
        Ok(Some(format!(
            "removed the stale lock of aws cloud `{}`: {}",
            self.cloud,
            holder.describe(&format!("s3://{bucket}/{key}"), now)
        )))
    }
}

/// What a write of the lock requires of the object there.
enum Condition {
    /// No lock is there.
    Absent,
    /// The version this holder wrote last is still there.
    Ours(String),
}

impl Shared {
    /// Writes `holder` under `condition`; its version, or `None` when the condition failed.
    fn put(&self, holder: &Holder, condition: Condition) -> Result<Option<String>, CloudError> {
        let bytes = serde_json::to_vec(holder).map_err(|e| e.to_string())?;
        self.runtime.block_on(async {
            let mut put =
                self.s3.put_object().bucket(&self.bucket).key(&self.key).body(ByteStream::from(bytes));
            put = match condition {
                Condition::Absent => put.if_none_match("*"),
                Condition::Ours(etag) => put.if_match(etag),
            };
            match put.send().await {
                Ok(out) => Ok(Some(out.e_tag().unwrap_or_default().to_string())),
                Err(e) if e.raw_response().is_some_and(|r| matches!(r.status().as_u16(), 409 | 412)) => {
                    Ok(None)
                }
                Err(e) => Err(super::sdk_error(e)
                    .context(format!("cannot write the stack's lock s3://{}/{}", self.bucket, self.key))),
            }
        })
    }

    /// The lock there and its version, when its holder ran here and is gone.
    fn left_here(&self) -> Result<Option<(Holder, String)>, CloudError> {
        let found = self.runtime.block_on(read(&self.s3, &self.bucket, &self.key))?;
        Ok(found.filter(|(holder, _)| holder.gone_from_here()))
    }

    /// Why the lock cannot be had: who holds it.
    fn refusal(&self) -> Result<CloudError, CloudError> {
        let found = self.runtime.block_on(read(&self.s3, &self.bucket, &self.key))?;
        let now = crate::local::records::now();
        let at = format!("s3://{}/{}", self.bucket, self.key);
        // A stale lock is no one's to wait for: its own message says what to do.
        Ok(match found {
            Some((holder, _)) if holder.stale(now) => CloudError::from(format!(
                "stale lock: the stack is locked by {}, which no longer runs; check `gaform plan` for what it left, then clear the lock with `gaform unlock FILE`",
                holder.describe(&at, now)
            )),
            Some((holder, _)) => CloudError::busy(format!(
                "the stack is locked by {}; wait for it to finish",
                holder.describe(&at, now)
            )),
            // Let go of between the write and the read: say so rather than guess.
            None => CloudError::busy(format!("the stack's lock {at} was held a moment ago; try again")),
        })
    }

    /// Rewrites the lock every [`HEARTBEAT`] until the holder lets go.
    fn beat(&self) {
        let mut slept = Duration::ZERO;
        while !self.done.load(Ordering::SeqCst) {
            // Short sleeps: letting go must not wait a whole heartbeat.
            std::thread::sleep(Duration::from_millis(100));
            slept += Duration::from_millis(100);
            if slept < HEARTBEAT {
                continue;
            }
            slept = Duration::ZERO;
            let Ok(mut held) = self.holder.lock() else { return };
            let mut holder = held.0.clone();
            holder.heartbeat = crate::local::records::now();
            // A failed beat is tried again at the next; a lock taken from this holder (by
            // `gaform unlock` after it looked stale) is not written back.
            if let Ok(Some(etag)) = self.put(&holder, Condition::Ours(held.1.clone())) {
                *held = (holder, etag);
            }
        }
    }
}

impl Drop for S3Lock {
    fn drop(&mut self) {
        self.shared.done.store(true, Ordering::SeqCst);
        if let Some(beating) = self.beating.take() {
            let _ = beating.join();
        }
        let shared = &self.shared;
        let mine = shared.holder.lock().map(|h| h.1.clone()).unwrap_or_default();
        // Only this holder's own version goes: a lock another took after clearing this one
        // as stale stays.
        let _ = shared.runtime.block_on(async {
            if let Ok(Some((_, etag))) = read(&shared.s3, &shared.bucket, &shared.key).await {
                if etag == mine {
                    let _ = shared.s3.delete_object().bucket(&shared.bucket).key(&shared.key).send().await;
                }
            }
            Ok::<(), String>(())
        });
    }
}

/// The lock at `key` and its version, if there is one.
async fn read(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
) -> Result<Option<(Holder, String)>, CloudError> {
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => {
            let etag = out.e_tag().unwrap_or_default().to_string();
            let bytes =
                out.body.collect().await.map_err(|e| CloudError::transient(e.to_string()))?.into_bytes();
            let holder = serde_json::from_slice(&bytes).map_err(|e| {
                format!("s3://{bucket}/{key} is not a lock ({e}); remove it if no apply runs")
            })?;
            Ok(Some((holder, etag)))
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
        // A bucket not made yet holds no lock.
        Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
        Err(e) => Err(super::sdk_error(e).context(format!("cannot read s3://{bucket}/{key}"))),
    }
}

/// `USER@HOST`, as well as this machine can tell.
fn who() -> String {
    let user =
        std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "someone".into());
    format!("{user}@{}", hostname())
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown-host".into())
}
