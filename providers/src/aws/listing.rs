//! Listing an S3 prefix, every page: what the books, the job records, the artifacts and the
//! results all read. A bucket that does not exist yet lists as empty: a stack that never
//! handed anything over has nothing there.

use super::sdk_error as describe;
use crate::CloudError;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;

/// Every page of the objects under `prefix` in `bucket`; with `folders`, grouped by `/`
/// (the folders are each page's common prefixes).
pub(crate) async fn pages(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    folders: bool,
) -> Result<Vec<ListObjectsV2Output>, CloudError> {
    let mut request = s3.list_objects_v2().bucket(bucket).prefix(prefix);
    if folders {
        request = request.delimiter("/");
    }
    match request.into_paginator().send().collect::<Result<Vec<_>, _>>().await {
        Ok(pages) => Ok(pages),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_bucket()) => Ok(vec![]),
        Err(e) => Err(describe(e).context(format!("cannot list s3://{bucket}/{prefix}"))),
    }
}

/// The keys under `prefix` in `bucket`, in S3's (lexicographic) order.
pub(crate) async fn keys(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, CloudError> {
    let pages = pages(s3, bucket, prefix, false).await?;
    Ok(pages.iter().flat_map(|p| p.contents()).filter_map(|o| o.key()).map(str::to_string).collect())
}

/// The folders directly under `prefix` (each ending in `/`).
pub(crate) async fn folders(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, CloudError> {
    let pages = pages(s3, bucket, prefix, true).await?;
    Ok(pages
        .iter()
        .flat_map(|p| p.common_prefixes())
        .filter_map(|p| p.prefix())
        .map(str::to_string)
        .collect())
}
