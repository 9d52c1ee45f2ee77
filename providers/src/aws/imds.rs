//! What an instance learns from the instance metadata service, through the SDK's IMDSv2
//! client (a session token first, cached and renewed; retries its own): its id, and whether
//! EC2 is about to take it back. The client reads `AWS_EC2_METADATA_SERVICE_ENDPOINT`, so
//! a loopback stand-in serves the tests.

use crate::CloudError;
use aws_config::imds::client::error::ImdsError;
use aws_config::imds::Client;
use aws_config::provider_config::ProviderConfig;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What EC2 told an instance about its future.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "notice", rename_all = "snake_case")]
pub enum Notice {
    /// `spot/instance-action`: the spot instance will be stopped, hibernated or terminated at
    /// `time` (two minutes after the notice).
    Interruption { action: String, time: String },
    /// `events/recommendations/rebalance`: the spot instance is at elevated risk of
    /// interruption (it may come well before a notice, or never turn into one).
    Rebalance { time: String },
}

/// The instance metadata service.
pub struct Metadata {
    client: Client,
    runtime: tokio::runtime::Runtime,
}

impl Metadata {
    /// A client of this instance's metadata service (or of the endpoint the environment
    /// names), with short timeouts: it is asked every few seconds.
    pub fn connect() -> Result<Metadata, CloudError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the metadata client: {e}"))?;
        let client = runtime.block_on(async {
            use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
            let http = aws_smithy_http_client::Builder::new()
                .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
                .build_https();
            Client::builder()
                .configure(&ProviderConfig::without_region().with_http_client(http))
                .connect_timeout(Duration::from_secs(1))
                .read_timeout(Duration::from_secs(1))
                .max_attempts(2)
                .build()
        });
        Ok(Metadata { client, runtime })
    }

    /// This instance's id.
    pub fn instance_id(&self) -> Result<String, CloudError> {
        self.get("/latest/meta-data/instance-id")
            .map_err(|e| CloudError::from(format!("{e}: pass --instance-id off EC2")))?
            .ok_or_else(|| CloudError::from("the metadata service has no instance id"))
    }

    /// The notice EC2 has given this instance, if any: an interruption before a rebalance
    /// recommendation.
    pub fn notice(&self) -> Result<Option<Notice>, CloudError> {
        if let Some(body) = self.get("/latest/meta-data/spot/instance-action")? {
            let action: Action = serde_json::from_str(&body)
                .map_err(|e| format!("an unreadable spot/instance-action ({e}): {body}"))?;
            return Ok(Some(Notice::Interruption { action: action.action, time: action.time }));
        }
        if let Some(body) = self.get("/latest/meta-data/events/recommendations/rebalance")? {
            let rebalance: Rebalance = serde_json::from_str(&body)
                .map_err(|e| format!("an unreadable rebalance recommendation ({e}): {body}"))?;
            return Ok(Some(Notice::Rebalance { time: rebalance.notice_time }));
        }
        Ok(None)
    }

    /// A metadata path; `None` when the service says it has none (404: no notice yet).
    fn get(&self, path: &str) -> Result<Option<String>, CloudError> {
        match self.runtime.block_on(self.client.get(path)) {
            Ok(value) => Ok(Some(value.as_ref().to_string())),
            Err(ImdsError::ErrorResponse(e)) if e.response().status().as_u16() == 404 => Ok(None),
            Err(e) => Err(CloudError::transient(format!(
                "the instance metadata service did not answer {path} ({e})"
            ))),
        }
    }
}

/// `spot/instance-action`'s body.
#[derive(Deserialize)]
struct Action {
    action: String,
    time: String,
}

/// `events/recommendations/rebalance`'s body.
#[derive(Deserialize)]
struct Rebalance {
    #[serde(rename = "noticeTime")]
    notice_time: String,
}
