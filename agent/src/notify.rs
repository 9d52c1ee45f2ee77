//! Notifications: each budget alert that fires, and each monitor alert that fires or
//! resolves, is POSTed as JSON to its block's webhook,
//! in the shape of Alertmanager's webhook body (version 4), so receivers written for
//! Alertmanager work unchanged, and published with the same body to its SNS topic
//! (docs/notifications.md). Delivery runs on its own thread,
//! retried with backoff while the failure is transient (a timeout, a 5xx or 429; not a 4xx,
//! which the next try would meet again), and every outcome is an event; a failed delivery never stops the
//! head. A secret (the bearer token, a webhook URL given by `env(...)`) is read from the
//! environment at delivery and never written anywhere.

use gaform_compiler::ir::{FromEnv, Notify};
use gaform_control::event::{By, Event, Kind};
use gaform_providers::books::Books;
use gaform_providers::local::records::{now, timestamp};
use gaform_providers::CloudError;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Tries per notification, and the pause before each retry (doubling).
const ATTEMPTS: u32 = 4;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// One try's limit, connection included.
const TRY_TIMEOUT: Duration = Duration::from_secs(10);

/// Deliveries under way; a head waits for them (bounded) before it exits.
#[derive(Default)]
pub struct Outbox {
    sending: Vec<JoinHandle<()>>,
}

impl Outbox {
    /// Sends `event` (a budget's alert that fired, a monitor's alert that fired or
    /// resolved) to `notify`'s targets, logging the outcome in the stack's event log
    /// (`books`). `stack_name` labels the alert.
    pub fn send(&mut self, books: &Arc<dyn Books>, stack_name: &str, notify: &Notify, event: &Event) {
        let Some(source) = source(event) else { return };
        let body = alertmanager_body(stack_name, event);
        if let Some(webhook) = &notify.webhook {
            let (books, source, webhook, token, body) =
                (books.clone(), source.clone(), webhook.clone(), notify.token_env.clone(), body.clone());
            self.sending.push(std::thread::spawn(move || {
                let outcome = deliver(&webhook, token.as_deref(), &body);
                books.record_event(&outcome_event(&source, &describe(&webhook), outcome));
            }));
        }
        if let Some(topic) = &notify.sns {
            let (books, topic) = (books.clone(), topic.clone());
            let subject = format!("gaform: {}", event.reason);
            self.sending.push(std::thread::spawn(move || {
                let outcome = with_retries(|| publish(&topic, &subject, &body));
                books.record_event(&outcome_event(&source, &format!("sns {topic}"), outcome));
            }));
        }
    }

    /// Waits for the deliveries under way, `limit` at most (the rest are abandoned).
    pub fn drain(self, limit: Duration) {
        let started = Instant::now();
        for handle in self.sending {
            while !handle.is_finished() && started.elapsed() < limit {
                std::thread::sleep(Duration::from_millis(20));
            }
            if handle.is_finished() {
                let _ = handle.join();
            }
        }
    }
}

/// A webhook as the event log may name it: the URL as written, or only the variable it
/// comes from (such a URL may hold a secret).
fn describe(webhook: &FromEnv) -> String {
    match webhook {
        FromEnv::Literal(url) => format!("webhook {url}"),
        FromEnv::Env(name) => format!("webhook from ${name}"),
    }
}

/// Whose alert `event` is, for an event that notifies (a budget's alert, a monitor's
/// alert firing or resolving); `None` for the others.
fn source(event: &Event) -> Option<By> {
    match &event.kind {
        Kind::AlertFired { budget, .. } => Some(By::Budget(budget.clone())),
        Kind::MonitorAlert { monitor, state, .. } if state == "firing" || state == "resolved" => {
            Some(By::Monitor(monitor.clone()))
        }
        _ => None,
    }
}

fn outcome_event(source: &By, target: &str, outcome: Result<u32, (u32, CloudError)>) -> Event {
    let by = source.origin();
    let who = match source {
        By::Budget(b) => format!("budget `{b}`"),
        By::Monitor(m) => format!("monitor `{m}`"),
    };
    let (kind, reason) = match outcome {
        Ok(attempts) => (
            Kind::NotificationSent { by, target: target.into(), attempts },
            format!("{who}: notification sent to {target} ({attempts} attempt(s))"),
        ),
        Err((attempts, error)) => (
            Kind::NotificationFailed { by, target: target.into(), attempts, error: error.to_string() },
            format!("{who}: notification to {target} failed after {attempts} attempt(s): {error}"),
        ),
    };
    Event { time: now(), kind, reason }
}

/// POSTs `body`, retrying with backoff; the attempts it took, or the last error.
fn deliver(webhook: &FromEnv, token_env: Option<&str>, body: &str) -> Result<u32, (u32, CloudError)> {
    let from_env = |name: &str| {
        std::env::var(name)
            .map_err(|_| (0, CloudError::from(format!("${name} is not set where the head runs"))))
    };
    let url = match webhook {
        FromEnv::Literal(url) => url.clone(),
        FromEnv::Env(name) => from_env(name)?,
    };
    let token = token_env.map(from_env).transpose()?;
    let agent: ureq::Agent = ureq::Agent::config_builder().timeout_global(Some(TRY_TIMEOUT)).build().into();
    with_retries(|| {
        let mut request = agent.post(&url).header("Content-Type", "application/json");
        if let Some(token) = &token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        // The error names the URL: say only what went wrong, a URL from the environment
        // may hold a secret.
        request.send(body).map(|_| ()).map_err(|e| webhook_error(&e, &url))
    })
}

/// A failed POST, typed by whether the next try may work: a timeout, a cut connection,
/// a 5xx or 429 may pass; another 4xx will be refused again.
fn webhook_error(error: &ureq::Error, url: &str) -> CloudError {
    let message = redact(&error.to_string(), url);
    match error {
        ureq::Error::StatusCode(status) => CloudError::from_service(None, Some(*status), message),
        ureq::Error::Timeout(_)
        | ureq::Error::Io(_)
        | ureq::Error::ConnectionFailed
        | ureq::Error::HostNotFound => CloudError::transient(message),
        _ => CloudError::from(message),
    }
}

/// Runs `attempt` until it succeeds, [`ATTEMPTS`] times at most with doubling pauses, as
/// long as it fails transiently; the attempts it took, or those and the last error.
fn with_retries(attempt: impl Fn() -> Result<(), CloudError>) -> Result<u32, (u32, CloudError)> {
    let mut pause = FIRST_BACKOFF;
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt() {
            Ok(()) => return Ok(tries),
            Err(e) if tries >= ATTEMPTS || !e.is_transient() => return Err((tries, e)),
            Err(_) => {
                std::thread::sleep(pause);
                pause *= 2;
            }
        }
    }
}

/// Publishes to an SNS topic (the SDK's own retries run inside each attempt).
#[cfg(feature = "aws")]
fn publish(topic: &str, subject: &str, body: &str) -> Result<(), CloudError> {
    gaform_providers::aws::sns::publish(topic, subject, body).map(|_| ())
}

#[cfg(not(feature = "aws"))]
fn publish(_: &str, _: &str, _: &str) -> Result<(), CloudError> {
    Err("this build leaves out the aws cloud, and SNS with it (build with the `aws` feature)".into())
}

fn redact(message: &str, url: &str) -> String {
    message.replace(url, "<webhook>")
}

/// Alertmanager's webhook body (version 4) for one alert that fired or resolved.
fn alertmanager_body(stack: &str, event: &Event) -> String {
    let (labels, annotations, group, status, id) = match &event.kind {
        Kind::AlertFired { budget, at, action, spent, amount, implicit } => {
            let action = gaform_compiler::ir::Keyword::keyword(*action);
            let labels = serde_json::json!({
                "alertname": "GaformBudget",
                "stack": stack,
                "budget": budget,
                "action": action,
                "threshold": format!("{:.0}%", at * 100.0),
                "severity": severity(action),
            });
            let annotations = serde_json::json!({
                "summary": event.reason,
                "spent": format!("{spent}"),
                "amount": format!("{amount}"),
                "implicit": implicit.to_string(),
            });
            (labels, annotations, ("budget", budget), "firing", format!("{stack}/{budget}/{at}/{action}"))
        }
        Kind::MonitorAlert { monitor, alert, name, expression, state, value, action } => {
            let action = gaform_compiler::ir::Keyword::keyword(*action);
            let alert = gaform_compiler::ir::alert_label(name.as_deref(), *alert);
            let labels = serde_json::json!({
                "alertname": "GaformMonitor",
                "stack": stack,
                "monitor": monitor,
                "alert": alert,
                "action": action,
                "severity": severity(action),
            });
            let annotations = serde_json::json!({
                "summary": event.reason,
                "expression": expression,
                "value": value.map_or_else(String::new, |v| v.to_string()),
            });
            let status = if state == "resolved" { "resolved" } else { "firing" };
            (labels, annotations, ("monitor", monitor), status, format!("{stack}/monitor/{monitor}/{alert}"))
        }
        _ => return String::new(),
    };
    let (group_label, group_value) = group;
    // A resolved alert ends when it resolved; a firing one has not ended (Alertmanager's zero time).
    let ends = if status == "resolved" { timestamp(event.time) } else { "0001-01-01T00:00:00Z".into() };
    serde_json::json!({
        "version": "4",
        "groupKey": format!("{{}}:{{stack=\"{stack}\",{group_label}=\"{group_value}\"}}"),
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "gaform",
        "groupLabels": { group_label: group_value },
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "",
        "alerts": [{
            "status": status,
            "labels": labels,
            "annotations": annotations,
            "startsAt": timestamp(event.time),
            "endsAt": ends,
            "generatorURL": "",
            "fingerprint": format!("{:016x}", fingerprint(&id)),
        }],
    })
    .to_string()
}

fn severity(action: &str) -> &'static str {
    if action == "notify" {
        "warning"
    } else {
        "critical"
    }
}

/// FNV-1a: a stable id for one alert of one budget (Alertmanager's is a label hash too).
fn fingerprint(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::with_retries;
    use gaform_providers::CloudError;
    use std::cell::Cell;

    #[test]
    fn a_refusal_the_next_try_would_meet_again_is_not_retried() {
        let tries = Cell::new(0);
        let refused = with_retries(|| {
            tries.set(tries.get() + 1);
            Err(CloudError::from_service(None, Some(404), "http status: 404".into()))
        });
        assert_eq!(refused.map_err(|(n, e)| (n, e.kind())), Err((1, "missing")));
        assert_eq!(tries.get(), 1);
    }
}
