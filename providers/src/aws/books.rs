//! An aws cloud's books under the stack's S3 prefix (`s3://BUCKET/stacks/STACK/CLOUD/`):
//! the cost ledger one object per instance start (`ledger/ID.json`), the budgets and what
//! each has fired (`budgets/`), and the event log one object per event (`events/`). S3's
//! conditional writes do what the local cloud's file locks do: a start is written only if
//! absent (never counted twice), an end or a budget's state only over the version read.

use super::sdk_error as describe;
use crate::books::Books;
use crate::CloudError;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use gaform_control::alerts::{Monitor, MonitorStatus};
use gaform_control::budget::{BudgetState, Policy};
use gaform_control::event::Event;
use gaform_control::ledger::{End, Entry, Ledger};
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;

/// How often a lost race on a budget's state is run again before giving up.
const RACES: usize = 16;

/// The books of one aws cloud of a stack.
#[derive(Clone)]
pub struct S3Books {
    s3: aws_sdk_s3::Client,
    bucket: String,
    /// `stacks/STACK/CLOUD/`.
    prefix: String,
    /// The runtime the client was made in, for the blocking trait's calls; shared, so
    /// that the books outlive the provider or agent that opened them.
    runtime: std::sync::Arc<tokio::runtime::Runtime>,
    /// Ledger entries read, by key, with the version read: a head that reads the ledger
    /// every tick lists it (one request a page) and fetches only the entries whose version
    /// changed since (a start or an end written), not every running instance's.
    read: std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<String, (String, Entry)>>>,
}

/// When a put goes ahead.
enum Only {
    Always,
    IfAbsent,
    /// Over this version (an ETag) only.
    IfMatch(String),
}

impl S3Books {
    /// The books under `prefix` (`stacks/STACK/CLOUD`) of `bucket`.
    pub fn new(
        s3: aws_sdk_s3::Client,
        bucket: &str,
        prefix: &str,
        runtime: std::sync::Arc<tokio::runtime::Runtime>,
    ) -> S3Books {
        let prefix = format!("{}/", prefix.trim_matches('/'));
        S3Books { s3, bucket: bucket.to_string(), prefix, runtime, read: Default::default() }
    }

    fn key(&self, rest: &str) -> String {
        format!("{}{rest}", self.prefix)
    }

    /// An object's bytes and version, if it exists.
    async fn get(&self, rest: &str) -> Result<Option<(Vec<u8>, String)>, CloudError> {
        let key = self.key(rest);
        match self.s3.get_object().bucket(&self.bucket).key(&key).send().await {
            Ok(out) => {
                let etag = out.e_tag().unwrap_or_default().to_string();
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| CloudError::transient(format!("s3://{}/{key}: {e}", self.bucket)))?;
                Ok(Some((bytes.into_bytes().to_vec(), etag)))
            }
            // No bucket yet (a plan before the first apply): nothing was ever written.
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_no_such_key() || s.code() == Some("NoSuchBucket")) =>
            {
                Ok(None)
            }
            Err(e) => Err(describe(e).context(format!("cannot read s3://{}/{key}", self.bucket))),
        }
    }

    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        rest: &str,
    ) -> Result<Option<(T, String)>, CloudError> {
        let Some((bytes, etag)) = self.get(rest).await? else { return Ok(None) };
        let value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("s3://{}/{} is damaged: {e}", self.bucket, self.key(rest)))?;
        Ok(Some((value, etag)))
    }

    /// Writes `value` as JSON; false when the condition failed (another writer was first).
    async fn put_json(
        &self,
        rest: &str,
        value: &impl serde::Serialize,
        only: Only,
    ) -> Result<bool, CloudError> {
        let key = self.key(rest);
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
        let mut put = self.s3.put_object().bucket(&self.bucket).key(&key).body(ByteStream::from(bytes));
        put = match only {
            Only::Always => put,
            Only::IfAbsent => put.if_none_match("*"),
            Only::IfMatch(etag) => put.if_match(etag),
        };
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.raw_response().is_some_and(|r| matches!(r.status().as_u16(), 409 | 412)) => Ok(false),
            Err(e) => Err(describe(e).context(format!("cannot write s3://{}/{key}", self.bucket))),
        }
    }

    /// The keys under `rest`, relative to the books' prefix, sorted.
    async fn keys(&self, rest: &str) -> Result<Vec<String>, CloudError> {
        let keys = super::listing::keys(&self.s3, &self.bucket, &self.key(rest)).await?;
        let mut keys: Vec<String> =
            keys.iter().map(|k| k.trim_start_matches(&self.prefix).to_string()).collect();
        keys.sort();
        Ok(keys)
    }

    /// Every instance start of the cloud.
    pub async fn ledger_async(&self) -> Result<Ledger, CloudError> {
        let mut ledger = Ledger::default();
        let pages = super::listing::pages(&self.s3, &self.bucket, &self.key("ledger/"), false).await?;
        for object in pages.iter().flat_map(|p| p.contents()) {
            let Some(key) = object.key().map(|k| k.trim_start_matches(&self.prefix).to_string()) else {
                continue;
            };
            let listed = object.e_tag().unwrap_or_default();
            let known = self.read.lock().ok().and_then(|r| r.get(&key).filter(|(v, _)| v == listed).cloned());
            let entry = match known {
                Some((_, entry)) => entry,
                None => {
                    let Some((entry, version)) = self.get_json::<Entry>(&key).await? else { continue };
                    if let Ok(mut read) = self.read.lock() {
                        read.insert(key, (version, entry.clone()));
                    }
                    entry
                }
            };
            ledger.start(entry);
        }
        Ok(ledger)
    }

    /// The instance ids the ledger has a start of (one listing, no reads).
    pub async fn billed_ids(&self) -> Result<BTreeSet<String>, CloudError> {
        let keys = self.keys("ledger/").await?;
        Ok(keys
            .iter()
            .filter_map(|k| k.strip_prefix("ledger/")?.strip_suffix(".json"))
            .map(str::to_string)
            .collect())
    }

    /// Records a start; false when it was recorded already (by apply, or a head before).
    pub async fn bill_start(&self, entry: &Entry) -> Result<bool, CloudError> {
        self.put_json(&format!("ledger/{}.json", entry.instance), entry, Only::IfAbsent).await
    }

    /// Ends `instance`'s start at `at`; false when it is unknown or ended already (the
    /// first end written is the one billed).
    pub async fn bill_end(&self, instance: &str, at: f64, end: End) -> Result<bool, CloudError> {
        let rest = format!("ledger/{instance}.json");
        for _ in 0..RACES {
            let Some((mut entry, etag)) = self.get_json::<Entry>(&rest).await? else { return Ok(false) };
            if !entry.is_running() {
                return Ok(false);
            }
            entry.ended_at = Some(at.max(entry.started_at));
            entry.end = Some(end);
            if self.put_json(&rest, &entry, Only::IfMatch(etag)).await? {
                return Ok(true);
            }
        }
        Err(format!("s3://{}/{}: kept changing while its end was written", self.bucket, self.key(&rest))
            .into())
    }

    async fn update_async(
        &self,
        name: &str,
        update: &mut dyn FnMut(&mut BudgetState),
    ) -> Result<BudgetState, CloudError> {
        let rest = format!("budgets/{name}.state.json");
        for _ in 0..RACES {
            let (mut state, only) = match self.get_json::<BudgetState>(&rest).await? {
                Some((state, etag)) => (state, Only::IfMatch(etag)),
                None => (BudgetState::default(), Only::IfAbsent),
            };
            update(&mut state);
            if self.put_json(&rest, &state, only).await? {
                return Ok(state);
            }
        }
        Err(CloudError::busy(format!(
            "budget `{name}`: its state kept changing under {RACES} tries to update it"
        )))
    }

    async fn events_async(&self) -> Result<Vec<Event>, CloudError> {
        let mut out = Vec::new();
        for key in self.keys("events/").await? {
            if let Some((event, _)) = self.get_json::<Event>(&key).await? {
                out.push(event);
            }
        }
        Ok(out)
    }
}

/// An event's key: its time first, so that a listing is the log in order, then a digest
/// of the event, so that two at one millisecond both stay.
fn event_key(event: &Event) -> String {
    let digest = gaform_runtime::hex::hex(&Sha256::digest(event.to_line().as_bytes())[..6]);
    format!("events/{:015}-{digest}.json", (event.time * 1_000.0).max(0.0) as u64)
}

impl Books for S3Books {
    fn ledger(&self) -> Result<Ledger, CloudError> {
        self.runtime.block_on(self.ledger_async())
    }

    fn budgets(&self) -> Result<Vec<Policy>, CloudError> {
        let got = self.runtime.block_on(self.get_json::<Vec<Policy>>("budgets/policies.json"))?;
        Ok(got.map(|(p, _)| p).unwrap_or_default())
    }

    fn write_budgets(&self, policies: &[Policy]) -> Result<(), CloudError> {
        self.runtime.block_on(self.put_json("budgets/policies.json", &policies, Only::Always)).map(|_| ())
    }

    fn monitors(&self) -> Result<Vec<Monitor>, CloudError> {
        let got = self.runtime.block_on(self.get_json::<Vec<Monitor>>("monitors/monitors.json"))?;
        Ok(got.map(|(m, _)| m).unwrap_or_default())
    }

    fn write_monitors(&self, monitors: &[Monitor]) -> Result<(), CloudError> {
        self.runtime.block_on(self.put_json("monitors/monitors.json", &monitors, Only::Always)).map(|_| ())
    }

    fn monitor_statuses(&self) -> Result<Vec<MonitorStatus>, CloudError> {
        self.runtime.block_on(async {
            let mut out = Vec::new();
            for key in self.keys("monitors/").await?.into_iter().filter(|k| k.ends_with(".status.json")) {
                out.extend(self.get_json::<MonitorStatus>(&key).await?.map(|(s, _)| s));
            }
            Ok(out)
        })
    }

    fn write_monitor_status(&self, status: &MonitorStatus) -> Result<(), CloudError> {
        let key = format!("monitors/{}.status.json", status.monitor);
        self.runtime.block_on(self.put_json(&key, status, Only::Always)).map(|_| ())
    }

    fn budget_state(&self, name: &str) -> Result<BudgetState, CloudError> {
        let got =
            self.runtime.block_on(self.get_json::<BudgetState>(&format!("budgets/{name}.state.json")))?;
        Ok(got.map(|(s, _)| s).unwrap_or_default())
    }

    fn update_budget_state(
        &self,
        name: &str,
        update: &mut dyn FnMut(&mut BudgetState),
    ) -> Result<BudgetState, CloudError> {
        self.runtime.block_on(self.update_async(name, update))
    }

    fn record_event(&self, event: &Event) {
        if let Err(e) = self.runtime.block_on(self.put_json(&event_key(event), event, Only::Always)) {
            eprintln!("{}: the event could not be logged ({e}): {}", self.describe(), event.reason);
        }
    }

    fn events(&self) -> Result<Vec<Event>, CloudError> {
        self.runtime.block_on(self.events_async())
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }
}
