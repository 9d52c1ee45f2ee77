//! What a gaform head or worker on an EC2 instance needs of its stack: the jobs handed
//! over to its group (records on S3), island claims (S3 conditional writes, so two workers
//! never take the same island), results put beside the job, and the compute's instances
//! terminated by tag once its jobs are over.

use super::books::S3Books;
use super::sdk_error as describe;
use super::store::S3Store;
use super::tags;
use crate::local::JobRecord;
use crate::CloudError;
use aws_sdk_s3::primitives::ByteStream;
use gaform_compiler::plan::{Addr, JobStatus};
use gaform_control::ledger::Ledger;
use std::collections::BTreeSet;
use std::path::Path;

/// The stack's place on S3, seen from an instance.
pub struct Agent {
    pub(super) s3: aws_sdk_s3::Client,
    pub(super) ec2: aws_sdk_ec2::Client,
    pub(super) bucket: String,
    /// `stacks/STACK/CLOUD/`.
    pub(super) prefix: String,
    pub(super) runtime: std::sync::Arc<tokio::runtime::Runtime>,
}

impl Agent {
    /// Connects to the stack at `s3://BUCKET/stacks/STACK/CLOUD` with the instance's role
    /// (or the standard chain) in the environment's region.
    pub fn connect(stack_url: &str) -> Result<Agent, CloudError> {
        let runtime = runtime()?;
        let config = runtime.block_on(super::sdk_config(None, None));
        Agent::new(stack_url, super::s3_client(&config), aws_sdk_ec2::Client::new(&config), runtime)
    }

    /// The same, with clients already made (apply fetching results).
    pub(crate) fn connect_with(
        stack_url: &str,
        s3: aws_sdk_s3::Client,
        ec2: aws_sdk_ec2::Client,
    ) -> Result<Agent, CloudError> {
        Agent::new(stack_url, s3, ec2, runtime()?)
    }

    fn new(
        stack_url: &str,
        s3: aws_sdk_s3::Client,
        ec2: aws_sdk_ec2::Client,
        runtime: tokio::runtime::Runtime,
    ) -> Result<Agent, CloudError> {
        let rest =
            stack_url.strip_prefix("s3://").ok_or_else(|| format!("`{stack_url}` is not an s3:// URL"))?;
        let (bucket, prefix) =
            rest.split_once('/').ok_or_else(|| format!("`{stack_url}` names no prefix"))?;
        Ok(Agent {
            s3,
            ec2,
            bucket: bucket.to_string(),
            prefix: format!("{}/", prefix.trim_matches('/')),
            runtime: std::sync::Arc::new(runtime),
        })
    }

    /// The stack and cloud the URL names (`stacks/STACK/CLOUD/`).
    pub fn stack_and_cloud(&self) -> (String, String) {
        let mut parts = self.prefix.trim_end_matches('/').rsplit('/');
        let cloud = parts.next().unwrap_or_default().to_string();
        let stack = parts.next().unwrap_or_default().to_string();
        (stack, cloud)
    }

    pub(super) fn job_prefix(&self, name: &str) -> String {
        format!("{}jobs/{name}/", self.prefix)
    }

    /// The handed-over jobs, running or not.
    pub fn jobs(&self) -> Result<Vec<JobRecord>, CloudError> {
        self.runtime.block_on(async {
            let folders =
                super::listing::folders(&self.s3, &self.bucket, &format!("{}jobs/", self.prefix)).await?;
            let mut out = Vec::new();
            for prefix in &folders {
                let key = format!("{prefix}record.json");
                let Ok(got) = self.s3.get_object().bucket(&self.bucket).key(&key).send().await else {
                    continue;
                };
                let bytes =
                    got.body.collect().await.map_err(|e| CloudError::transient(e.to_string()))?.into_bytes();
                out.push(
                    serde_json::from_slice(&bytes)
                        .map_err(|e| format!("s3://{}/{key} is damaged: {e}", self.bucket))?,
                );
            }
            Ok(out)
        })
    }

    /// One job's record, read afresh.
    pub fn job(&self, name: &str) -> Result<Option<JobRecord>, CloudError> {
        self.get_json(&format!("{}record.json", self.job_prefix(name)))
    }

    /// An object and its ETag; `None` when there is none, or its ETag is still `seen`.
    pub(super) fn get(&self, key: &str, seen: Option<&str>) -> Result<Option<(Vec<u8>, String)>, CloudError> {
        self.runtime.block_on(async {
            let request = self
                .s3
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .set_if_none_match(seen.map(str::to_string));
            match request.send().await {
                Ok(got) => {
                    let etag = got.e_tag().unwrap_or_default().to_string();
                    let bytes = got
                        .body
                        .collect()
                        .await
                        .map_err(|e| CloudError::transient(e.to_string()))?
                        .into_bytes();
                    Ok(Some((bytes.to_vec(), etag)))
                }
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
                Err(e) if e.raw_response().is_some_and(|r| matches!(r.status().as_u16(), 304 | 404)) => {
                    Ok(None)
                }
                Err(e) => Err(describe(e).context(format!("cannot read s3://{}/{key}", self.bucket))),
            }
        })
    }

    /// An object read as JSON; `None` when there is none.
    pub(super) fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        key: &str,
    ) -> Result<Option<T>, CloudError> {
        let Some((bytes, _)) = self.get(key, None)? else { return Ok(None) };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| CloudError::from(format!("s3://{}/{key} is damaged: {e}", self.bucket)))
    }

    /// The stack's books on S3: its cost ledger, budgets and event log.
    pub fn books(&self) -> S3Books {
        S3Books::new(self.s3.clone(), &self.bucket, &self.prefix, self.runtime.clone())
    }

    /// Brings `books`' ledger level with EC2 and returns it (a head, every tick).
    pub fn reconcile(&self, books: &S3Books, now: f64) -> Result<Ledger, CloudError> {
        let (stack, cloud) = self.stack_and_cloud();
        self.runtime.block_on(super::bill::reconcile(&self.ec2, books, &stack, &cloud, now, true))
    }

    /// Terminates the instances `ids` (workers a budget shed) and ends their ledger entries.
    pub fn terminate(&self, books: &S3Books, ids: &[String]) -> Result<(), CloudError> {
        if ids.is_empty() {
            return Ok(());
        }
        self.runtime.block_on(async {
            self.ec2
                .terminate_instances()
                .set_instance_ids(Some(ids.to_vec()))
                .send()
                .await
                .map_err(super::sdk_error)?;
            super::bill::record_ends(books, ids, crate::local::records::now()).await
        })
    }

    /// Writes a job's record back (its status moved on).
    pub fn write_job(&self, record: &JobRecord) -> Result<(), CloudError> {
        let bytes = serde_json::to_vec_pretty(record).map_err(|e| e.to_string())?;
        let key = format!("{}record.json", self.job_prefix(&record.name));
        self.put(&key, bytes, None, None).map(|_| ())
    }

    /// The job's store.
    pub fn store(&self, name: &str) -> Result<S3Store, CloudError> {
        S3Store::open(&format!("s3://{}/{}store", self.bucket, self.job_prefix(name)))
    }

    /// Claims `island` of `job` for `instance`: a new claim, one it holds already, or one
    /// whose holder is not among `live` (its instance died, or its worker let go of it; the
    /// island resumes from its checkpoints). `NotFree` when a live instance has it, or
    /// another won the race.
    pub fn claim(
        &self,
        job: &str,
        island: u64,
        instance: &str,
        live: &BTreeSet<String>,
    ) -> Result<Claim, CloudError> {
        let key = format!("{}claims/island-{island}", self.job_prefix(job));
        if self.put(&key, instance.as_bytes().to_vec(), Some("*"), None)? {
            return Ok(Claim::New);
        }
        let (holder, etag) = self.runtime.block_on(async {
            let got = self.s3.get_object().bucket(&self.bucket).key(&key).send().await.map_err(describe)?;
            let etag = got.e_tag().unwrap_or_default().to_string();
            let bytes =
                got.body.collect().await.map_err(|e| CloudError::transient(e.to_string()))?.into_bytes();
            Ok::<_, CloudError>((String::from_utf8_lossy(&bytes).into_owned(), etag))
        })?;
        if holder == instance {
            return Ok(Claim::Mine);
        }
        if live.contains(&holder) {
            return Ok(Claim::NotFree);
        }
        Ok(if self.put(&key, instance.as_bytes().to_vec(), None, Some(&etag))? {
            Claim::Orphan
        } else {
            Claim::NotFree
        })
    }

    /// The running instances at `address` of the stack.
    pub fn live_instances(
        &self,
        stack: &str,
        cloud: &str,
        address: &Addr,
    ) -> Result<BTreeSet<String>, CloudError> {
        Ok(self.live_group(stack, cloud, address)?.into_iter().map(|(id, _)| id).collect())
    }

    /// The running instances at `address` of the stack, each with the attributes its tags
    /// record (a worker group's `min`, say).
    pub fn live_group(
        &self,
        stack: &str,
        cloud: &str,
        address: &Addr,
    ) -> Result<Vec<(String, gaform_compiler::plan::Attributes)>, CloudError> {
        self.runtime.block_on(async {
            let mut filters = tags::owned_at(stack, cloud, address);
            filters.push(tags::running());
            let out = self
                .ec2
                .describe_instances()
                .set_filters(Some(filters))
                .send()
                .await
                .map_err(super::sdk_error)?;
            Ok(out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .filter_map(|i| Some((i.instance_id()?.to_string(), tags::attributes(i.tags()))))
                .collect())
        })
    }

    /// Puts an object, only if none is there (`if_none_match = "*"`) or only over the
    /// version `if_match` names; false when that condition failed.
    pub(super) fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        if_none_match: Option<&str>,
        if_match: Option<&str>,
    ) -> Result<bool, CloudError> {
        self.runtime.block_on(async {
            let put = self
                .s3
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .body(ByteStream::from(bytes))
                .set_if_none_match(if_none_match.map(str::to_string))
                .set_if_match(if_match.map(str::to_string));
            match put.send().await {
                Ok(_) => Ok(true),
                Err(e) if e.raw_response().is_some_and(|r| matches!(r.status().as_u16(), 409 | 412)) => {
                    Ok(false)
                }
                Err(e) => Err(describe(e).context(format!("cannot write s3://{}/{key}", self.bucket))),
            }
        })
    }

    /// Where a job's results are kept (`upload_results`).
    pub fn results_url(&self, job: &str) -> String {
        format!("s3://{}/{}results/", self.bucket, self.job_prefix(job))
    }

    /// Uploads every file of `dir` under the job's `results/`.
    pub fn upload_results(&self, job: &str, dir: &Path) -> Result<(), CloudError> {
        let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
        for entry in entries.flatten() {
            let path = entry.path();
            let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { continue };
            let bytes = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            self.put(&format!("{}results/{name}", self.job_prefix(job)), bytes, None, None)?;
        }
        Ok(())
    }

    /// Terminates every running instance of `compute` in the stack (the caller last).
    pub fn terminate_compute(
        &self,
        stack: &str,
        cloud: &str,
        compute: &str,
        me: Option<&str>,
    ) -> Result<usize, CloudError> {
        let mut ids = self.compute_instances(stack, cloud, compute)?;
        ids.sort_by_key(|id| Some(id.as_str()) == me);
        self.terminate(&self.books(), &ids)?;
        Ok(ids.len())
    }

    /// The running instances of `compute` in the stack, head and workers.
    pub fn compute_instances(
        &self,
        stack: &str,
        cloud: &str,
        compute: &str,
    ) -> Result<Vec<String>, CloudError> {
        self.runtime.block_on(async {
            let mut filters = tags::owned(stack, cloud);
            filters.push(tags::running());
            let out = self
                .ec2
                .describe_instances()
                .set_filters(Some(filters))
                .send()
                .await
                .map_err(super::sdk_error)?;
            let ids: Vec<String> = out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .filter(|i| {
                    tags::value(i.tags(), tags::ADDRESS)
                        .is_some_and(|a| Addr(a.to_string()).compute() == Some(compute))
                })
                .filter_map(|i| i.instance_id().map(str::to_string))
                .collect();
            Ok(ids)
        })
    }

    /// Downloads a finished job's results into `dir`; how many files.
    pub fn download_results(&self, job: &str, dir: &Path) -> Result<usize, CloudError> {
        self.runtime.block_on(async {
            let prefix = format!("{}results/", self.job_prefix(job));
            let keys = super::listing::keys(&self.s3, &self.bucket, &prefix).await?;
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let mut n = 0;
            for key in &keys {
                let got =
                    self.s3.get_object().bucket(&self.bucket).key(key).send().await.map_err(describe)?;
                let bytes =
                    got.body.collect().await.map_err(|e| CloudError::transient(e.to_string()))?.into_bytes();
                let name = key.trim_start_matches(&prefix);
                crate::state::write_atomically(&dir.join(name), &bytes)?;
                n += 1;
            }
            Ok(n)
        })
    }
}

/// What a claim on an island came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Nobody had claimed it: this worker's share of a fresh deal.
    New,
    /// This instance held it already (claiming again after a new deal).
    Mine,
    /// Taken over from an instance gone, or from a worker that let go of it: its
    /// neighbours wait for it, so it runs now whatever this worker's share.
    Orphan,
    /// A live instance has it.
    NotFree,
}

/// Whether a job record says the run is over.
pub fn is_over(record: &JobRecord) -> bool {
    record.status != JobStatus::Running
}

/// This instance's id from the instance metadata service (IMDSv2, through the SDK's
/// client).
pub fn instance_id() -> Result<String, CloudError> {
    super::imds::Metadata::connect()?.instance_id()
}

fn runtime() -> Result<tokio::runtime::Runtime, CloudError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| CloudError::from(format!("cannot start the aws client: {e}")))
}
