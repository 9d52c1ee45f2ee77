//! Publishing a budget's notification to its SNS topic, with the head's credentials (the
//! standard chain: `gaform apply`'s environment on the local cloud, the instance role on
//! aws) in the topic's own region, read from its ARN.

use super::sdk_error as describe;
use crate::CloudError;

/// Publishes `message` (the Alertmanager-shaped JSON) with `subject` to `topic`; the
/// message id SNS gave it.
pub fn publish(topic: &str, subject: &str, message: &str) -> Result<String, CloudError> {
    let region = topic
        .split(':')
        .nth(3)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| format!("`{topic}` names no region"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the SNS client: {e}"))?;
    runtime.block_on(async {
        let config = super::sdk_config(Some(region), None).await;
        let sns = aws_sdk_sns::Client::new(&config);
        // SNS takes subjects up to 100 characters.
        let subject: String = subject.chars().take(100).collect();
        let out = sns
            .publish()
            .topic_arn(topic)
            .subject(subject)
            .message(message)
            .send()
            .await
            .map_err(describe)?;
        Ok(out.message_id().unwrap_or_default().to_string())
    })
}
