//! The runtime's store on S3 (`s3://BUCKET/PREFIX`): what islands on aws workers meet in,
//! and where apply hands a job over. One object per key; S3's puts are atomic, so a reader
//! sees a blob whole or not at all, as the trait asks.

use super::sdk_error as describe;
use crate::CloudError;
use aws_sdk_s3::primitives::ByteStream;
use gaform_runtime::store::{check_key, Store, StoreError};

/// A store under one prefix of one bucket.
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// Ends with `/`, or is empty.
    prefix: String,
    runtime: tokio::runtime::Runtime,
}

impl S3Store {
    /// Opens `s3://BUCKET/PREFIX` with the standard credential chain (an instance role on
    /// a worker) and `AWS_REGION` / `AWS_ENDPOINT_URL` from the environment.
    pub fn open(url: &str) -> Result<S3Store, CloudError> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| format!("`{url}` is not an s3:// URL"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("`{url}` names no bucket").into());
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the S3 client: {e}"))?;
        let config = runtime.block_on(super::sdk_config(None, None));
        Ok(S3Store::new(super::s3_client(&config), bucket, prefix, runtime))
    }

    /// A store in `bucket` under `prefix`, with `client`.
    pub fn new(
        client: aws_sdk_s3::Client,
        bucket: &str,
        prefix: &str,
        runtime: tokio::runtime::Runtime,
    ) -> S3Store {
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() { String::new() } else { format!("{prefix}/") };
        S3Store { client, bucket: bucket.to_string(), prefix, runtime }
    }

    /// The runtime's store error for `key`, its kind kept as the I/O error's kind so that
    /// the runtime can tell a throttled read from a denied one.
    fn fail(&self, key: &str, error: CloudError) -> StoreError {
        use std::io::ErrorKind;
        let kind = match error {
            CloudError::Transient(_) => ErrorKind::TimedOut,
            CloudError::Busy(_) => ErrorKind::ResourceBusy,
            CloudError::Denied(_) => ErrorKind::PermissionDenied,
            CloudError::Missing(_) => ErrorKind::NotFound,
            CloudError::Invalid(_) => ErrorKind::Other,
        };
        StoreError::Io {
            path: format!("s3://{}/{}{key}", self.bucket, self.prefix),
            source: std::io::Error::new(kind, error.to_string()),
        }
    }
}

impl Store for S3Store {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        self.runtime.block_on(async {
            let result = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(format!("{}{key}", self.prefix))
                .send()
                .await;
            match result {
                Ok(out) => {
                    let bytes = out
                        .body
                        .collect()
                        .await
                        .map_err(|e| self.fail(key, CloudError::transient(e.to_string())))?;
                    Ok(Some(bytes.into_bytes().to_vec()))
                }
                Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
                Err(e) => Err(self.fail(key, describe(e))),
            }
        })
    }

    fn put(&self, key: &str, bytes: &[u8]) -> Result<(), StoreError> {
        check_key(key)?;
        self.runtime.block_on(async {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(format!("{}{key}", self.prefix))
                .body(ByteStream::from(bytes.to_vec()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.fail(key, describe(e)))
        })
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        check_key(key)?;
        self.runtime.block_on(async {
            // S3 answers a missing key with success too.
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(format!("{}{key}", self.prefix))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| self.fail(key, describe(e)))
        })
    }

    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
    }

    fn contains(&self, key: &str) -> Result<bool, StoreError> {
        check_key(key)?;
        self.runtime.block_on(async {
            match self
                .client
                .head_object()
                .bucket(&self.bucket)
                .key(format!("{}{key}", self.prefix))
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(false),
                Err(e) => Err(self.fail(key, describe(e))),
            }
        })
    }
}
