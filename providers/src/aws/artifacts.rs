//! The stack's artifacts on S3: one bucket per account and region (`gaform-ACCOUNT-REGION`,
//! made on first use, shared by stacks, never deleted by a stack) and, under
//! `stacks/STACK/CLOUD/`, the gaform binary per architecture, `stack.json`, and each job's
//! record and store (`jobs/NAME/record.json`, `jobs/NAME/store/…`). Handing a job over is
//! writing its store's first blobs and its record; workers take it from there.

use super::sdk_error as describe;
use super::AwsProvider;
use crate::local::JobRecord;
use crate::CloudError;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier};
use gaform_compiler::plan::{Action, Addr, Change, Desired, JobStatus, Kind, Observed, ObservedResource};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What `destroy` keeps under the stack's prefix: the books (`books.rs`).
const BOOKS: &[&str] = &["ledger/", "budgets/", "events/"];

/// `stack.json`: that the stack's artifacts exist, and with what attributes.
#[derive(Serialize, Deserialize)]
struct StackObject {
    address: Addr,
    attributes: gaform_compiler::plan::Attributes,
}

impl AwsProvider {
    /// The account's artifact bucket in this region.
    pub(super) async fn bucket(&self) -> Result<String, CloudError> {
        self.bucket
            .get_or_try_init(|| async {
                let me = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| describe(e).context("cannot tell the account"))?;
                let account = me.account().ok_or("STS named no account")?;
                let region = self.region().unwrap_or_default();
                Ok::<String, CloudError>(format!("gaform-{account}-{region}"))
            })
            .await
            .cloned()
    }

    /// The cloud's books (reading needs no bucket: a missing one reads as empty).
    pub(super) async fn s3_books(&self) -> Result<super::books::S3Books, CloudError> {
        self.books
            .get_or_try_init(|| async {
                let bucket = self.bucket().await?;
                let runtime = self.runtime.clone();
                Ok::<_, CloudError>(super::books::S3Books::new(
                    self.s3.clone(),
                    &bucket,
                    &self.stack_prefix(),
                    runtime,
                ))
            })
            .await
            .cloned()
    }

    /// The cloud's books, with the bucket made first (apply writes them).
    pub(super) async fn writable_books(&self) -> Result<super::books::S3Books, CloudError> {
        let books = self.s3_books().await?;
        self.bucket_ready
            .get_or_try_init(|| async { self.ensure_bucket(&self.bucket().await?).await })
            .await?;
        Ok(books)
    }

    pub(super) fn stack_prefix(&self) -> String {
        format!("stacks/{}/{}/", self.stack, self.cloud)
    }

    fn job_prefix(&self, name: &str) -> String {
        format!("{}jobs/{name}/", self.stack_prefix())
    }

    pub(super) async fn artifacts(&self, change: &Change) -> Result<String, CloudError> {
        if change.action == Action::Delete {
            // The books outlive the artifacts, as the local cloud's do its records: a
            // destroyed and re-applied stack still knows what it spent this period.
            let n = self.delete_under(&self.stack_prefix(), BOOKS).await?;
            return Ok(format!(
                "deleted {n} object(s) under {} (kept its ledger, budgets and events)",
                self.stack_prefix()
            ));
        }
        let bucket = self.bucket().await?;
        self.ensure_bucket(&bucket).await?;
        let mut said = Vec::new();
        let archs = change.after.as_ref().and_then(|a| a.get("architectures")).cloned().unwrap_or_default();
        for arch in archs.split(", ").filter(|a| !a.is_empty()) {
            said.push(self.upload_binary(&bucket, arch).await?);
        }
        let object = StackObject {
            address: change.address.clone(),
            attributes: change.after.clone().unwrap_or_default(),
        };
        self.put_json(&bucket, &format!("{}stack.json", self.stack_prefix()), &object).await?;
        said.push(format!("s3://{bucket}/{}", self.stack_prefix()));
        Ok(said.join("; "))
    }

    async fn ensure_bucket(&self, bucket: &str) -> Result<(), CloudError> {
        if self.s3.head_bucket().bucket(bucket).send().await.is_ok() {
            return Ok(());
        }
        let region = self.region().unwrap_or_default();
        let mut create = self.s3.create_bucket().bucket(bucket);
        // us-east-1 is the one region that takes no location constraint.
        if region != "us-east-1" {
            let config = CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build();
            create = create.create_bucket_configuration(config);
        }
        match create.send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_bucket_already_owned_by_you()) => Ok(()),
            Err(e) => Err(describe(e).context(format!("cannot create the artifact bucket {bucket}"))),
        }
    }

    /// Uploads the gaform binary for `arch`, without its debug info, unless the same bytes
    /// are there already.
    async fn upload_binary(&self, bucket: &str, arch: &str) -> Result<String, CloudError> {
        let variable = format!("GAFORM_BINARY_{}", arch.to_ascii_uppercase());
        let host = if std::env::consts::ARCH == "aarch64" { "arm64" } else { std::env::consts::ARCH };
        let path = match std::env::var_os(&variable) {
            Some(p) => std::path::PathBuf::from(p),
            None if host == arch => std::env::current_exe().map_err(|e| format!("cannot find this gaform binary: {e}"))?,
            None => {
                return Err(format!(
                    "the instances need a gaform binary for {arch} and this one is for {host}: build gaform for {arch} Linux and point {variable} at it"
                ).into())
            }
        };
        let built = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let lean = super::lean::lean(&built).map_err(|e| format!("{}: {e}", path.display()))?;
        drop(built);
        // The digest of what the instance runs: the same binary is not packed or sent again.
        let digest = gaform_runtime::hex::hex(&Sha256::digest(&lean.bytes));
        let key = format!("{}bin/gaform-{arch}.gz", self.stack_prefix());
        let there = self.s3.head_object().bucket(bucket).key(&key).send().await.ok();
        if there.as_ref().and_then(|h| h.metadata()).and_then(|m| m.get("sha256")) == Some(&digest) {
            return Ok(format!("{arch} binary up to date"));
        }
        let lean_size = lean.bytes.len();
        let bytes = super::lean::gzip(&lean.bytes)?;
        let size = bytes.len();
        self.s3
            .put_object()
            .bucket(bucket)
            .key(&key)
            .metadata("sha256", &digest)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| describe(e).context(format!("cannot upload {}", path.display())))?;
        let mib = |n: usize| n as f64 / 1_048_576.0;
        Ok(format!(
            "uploaded the {arch} binary ({:.1} MiB gzipped; {:.1} MiB as built, {:.1} MiB without its debug info)",
            mib(size),
            mib(lean.built),
            mib(lean_size)
        ))
    }

    pub(super) async fn job(
        &self,
        change: &Change,
        desired: &Desired,
        setup: Option<&dyn crate::JobSetup>,
    ) -> Result<String, CloudError> {
        let name = change.address.as_str().trim_start_matches("job.").to_string();
        let bucket = self.bucket().await?;
        let record_key = format!("{}record.json", self.job_prefix(&name));
        if matches!(change.action, Action::Delete | Action::Replace) {
            let n = self.delete_under(&self.job_prefix(&name), &[]).await?;
            if change.action == Action::Delete {
                return Ok(format!("deleted its record and store ({n} object(s))"));
            }
        }
        if matches!(change.action, Action::Update | Action::Scale) {
            let mut record: JobRecord = self
                .get_json(&bucket, &record_key)
                .await?
                .ok_or_else(|| format!("{} has no record", change.address))?;
            record.attributes = change.after.clone().unwrap_or_default();
            let restarted = record.run_again();
            self.put_json(&bucket, &record_key, &record).await?;
            return Ok(if restarted { "running again from its checkpoints" } else { "record updated" }.into());
        }
        let setup = setup.ok_or("this provider cannot prepare jobs")?;
        let results = std::env::current_dir().unwrap_or_default().join("results").join(&name);
        let record = JobRecord::new_run(change, desired, results)?;
        let store = self.job_prefix(&name) + "store/";
        for (key, bytes) in setup.blobs(&name, record.islands)? {
            self.s3
                .put_object()
                .bucket(&bucket)
                .key(format!("{store}{key}"))
                .body(ByteStream::from(bytes))
                .send()
                .await
                .map_err(|e| describe(e).context(format!("cannot write s3://{bucket}/{store}{key}")))?;
        }
        self.put_json(&bucket, &record_key, &record).await?;
        Ok(format!(
            "handed over: {} island(s) on {} ({} worker(s)), store s3://{bucket}/{store}",
            record.islands, record.group, record.workers
        ))
    }

    /// The stack's artifacts and job records, if its bucket and prefix exist.
    pub(super) async fn observe_objects(&self, observed: &mut Observed) -> Result<(), CloudError> {
        let bucket = self.bucket().await?;
        let stack: Option<StackObject> =
            self.get_json(&bucket, &format!("{}stack.json", self.stack_prefix())).await?;
        if let Some(s) = stack {
            observed
                .resources
                .insert(s.address, self.object_resource(Kind::Artifacts, s.attributes, vec![], None));
        }
        for prefix in
            super::listing::folders(&self.s3, &bucket, &format!("{}jobs/", self.stack_prefix())).await?
        {
            let record: Option<JobRecord> = self.get_json(&bucket, &format!("{prefix}record.json")).await?;
            if let Some(r) = record {
                let frozen = crate::local::is_frozen(&r).then(|| crate::local::frozen_reason(&r));
                if let Some(group) = observed.resources.get_mut(&r.group).filter(|_| frozen.is_some()) {
                    group.frozen = frozen;
                }
                observed.resources.insert(
                    r.address.clone(),
                    self.object_resource(Kind::Job, r.attributes, r.depends_on, Some(r.status)),
                );
            }
        }
        Ok(())
    }

    fn object_resource(
        &self,
        kind: Kind,
        attributes: gaform_compiler::plan::Attributes,
        depends_on: Vec<Addr>,
        job: Option<JobStatus>,
    ) -> ObservedResource {
        ObservedResource {
            kind,
            provider: "aws".into(),
            cloud: self.cloud.clone(),
            attributes,
            instances: vec![],
            job,
            depends_on,
            frozen: None,
            mix: None,
        }
    }

    pub(super) async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<T>, CloudError> {
        match self.s3.get_object().bucket(bucket).key(key).send().await {
            Ok(out) => {
                let bytes = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| CloudError::transient(format!("s3://{bucket}/{key}: {e}")))?
                    .into_bytes();
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|e| CloudError::from(format!("s3://{bucket}/{key} is damaged: {e}")))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => Ok(None),
            Err(e) => Err(describe(e).context(format!("cannot read s3://{bucket}/{key}"))),
        }
    }

    pub(super) async fn put_json(
        &self,
        bucket: &str,
        key: &str,
        value: &impl Serialize,
    ) -> Result<(), CloudError> {
        let bytes = serde_json::to_vec_pretty(value).map_err(|e| e.to_string())?;
        self.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| describe(e).context(format!("cannot write s3://{bucket}/{key}")))
    }

    /// Deletes every object under `prefix` but those under `keep` (relative to it); how many.
    pub(super) async fn delete_under(&self, prefix: &str, keep: &[&str]) -> Result<usize, CloudError> {
        let bucket = self.bucket().await?;
        let mut deleted = 0;
        let mut pages = self.s3.list_objects_v2().bucket(&bucket).prefix(prefix).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = match page {
                Ok(p) => p,
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_bucket()) => return Ok(0),
                Err(e) => return Err(describe(e).context(format!("cannot list s3://{bucket}/{prefix}"))),
            };
            let keys: Vec<ObjectIdentifier> = page
                .contents()
                .iter()
                .filter_map(|o| o.key())
                .filter(|k| !keep.iter().any(|kept| k.trim_start_matches(prefix).starts_with(kept)))
                .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
                .collect();
            if keys.is_empty() {
                continue;
            }
            deleted += keys.len();
            let batch = Delete::builder().set_objects(Some(keys)).build().map_err(|e| e.to_string())?;
            self.s3
                .delete_objects()
                .bucket(&bucket)
                .delete(batch)
                .send()
                .await
                .map_err(|e| describe(e).context(format!("cannot delete under s3://{bucket}/{prefix}")))?;
        }
        Ok(deleted)
    }
}
