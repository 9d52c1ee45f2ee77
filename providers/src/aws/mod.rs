//! The aws cloud: EC2 through the official SDK, with credentials and region from the
//! standard chain (environment, the cloud block's `profile`, an instance role) and
//! `AWS_ENDPOINT_URL` honoured, so an emulator can stand in. Everything made is tagged with
//! its stack, cloud and address (`tags.rs`); `observe` is three paginated listings.

pub mod agent;
mod artifacts;
pub mod bill;
pub mod books;
pub mod deal;
mod fleet;
mod heal;
pub mod imds;
pub mod lean;
pub(crate) mod listing;
pub mod lock;
pub mod notices;
mod observe;
mod role;
pub mod services;
pub mod sns;
pub mod store;
mod tags;
mod write;

use crate::error::CloudError;
use crate::Provider;
use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::config::Region;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use gaform_compiler::plan::{Change, Desired, JobStatus, Observed};
use std::future::Future;

/// The provider of one aws cloud of one stack.
pub struct AwsProvider {
    ec2: aws_sdk_ec2::Client,
    quotas: aws_sdk_servicequotas::Client,
    s3: aws_sdk_s3::Client,
    sts: aws_sdk_sts::Client,
    iam: aws_sdk_iam::Client,
    /// The account's artifact bucket in the region, named once the account is known.
    bucket: tokio::sync::OnceCell<String>,
    /// The cloud's books on S3, and whether the bucket they need was made (`artifacts.rs`).
    books: tokio::sync::OnceCell<books::S3Books>,
    bucket_ready: tokio::sync::OnceCell<()>,
    /// The stack as its instances see it, for fetching a finished job's results.
    agent: std::sync::OnceLock<agent::Agent>,
    /// Writes a job's first blobs (the binary knows the language and the runtime).
    setup: Option<std::sync::Arc<dyn crate::JobSetup>>,
    stack: String,
    cloud: String,
    /// The cloud block's `tags`, put on everything.
    user_tags: Vec<(String, String)>,
    /// This apply's id, tagged on what it makes (`gaform:plan`).
    apply_id: String,
    pace: Pace,
    runtime: std::sync::Arc<tokio::runtime::Runtime>,
}

/// How many attempts a throttled or failed-on-the-server call gets. The SDK's standard
/// retry (exponential backoff with jitter), not its adaptive mode: after a burst of 3
/// throttles, adaptive mode's client-side limiter slowed the rest of an apply from 6 s to
/// 63 s against moto. Mutating calls are paced by gaform instead (`Pace`).
const ATTEMPTS: u32 = 8;

/// EC2 refills its RunInstances bucket at 2 a second; gaform keeps its mutating calls
/// under that, after a burst of this many.
const WRITES_PER_SECOND: f64 = 2.0;
const WRITE_BURST: f64 = 10.0;

/// A token bucket for mutating calls, shared by the changes an apply runs at once.
struct Pace {
    /// Tokens left (negative: reserved ahead) and when that was true.
    state: std::sync::Mutex<(f64, std::time::Instant)>,
}

impl Pace {
    fn new() -> Pace {
        Pace { state: std::sync::Mutex::new((WRITE_BURST, std::time::Instant::now())) }
    }

    /// Waits for a write slot.
    async fn write(&self) {
        let wait = {
            let Ok(mut s) = self.state.lock() else { return };
            let now = std::time::Instant::now();
            let tokens =
                (s.0 + now.duration_since(s.1).as_secs_f64() * WRITES_PER_SECOND).min(WRITE_BURST) - 1.0;
            *s = (tokens, now);
            if tokens < 0.0 {
                -tokens / WRITES_PER_SECOND
            } else {
                0.0
            }
        };
        if wait > 0.0 {
            tokio::time::sleep(std::time::Duration::from_secs_f64(wait)).await;
        }
    }
}

/// The SDK's configuration: `region` (else the environment's), `profile` (else the
/// default chain), rustls on ring, the standard retry mode.
pub(crate) async fn sdk_config(region: Option<&str>, profile: Option<&str>) -> aws_config::SdkConfig {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(attempts()));
    if let Some(r) = region {
        loader = loader.region(Region::new(r.to_string()));
    }
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    loader.load().await
}

/// An S3 client; path-style addressing when an endpoint is set (an emulator on localhost
/// has no bucket subdomains).
pub(crate) fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let builder = aws_sdk_s3::config::Builder::from(config).force_path_style(config.endpoint_url().is_some());
    aws_sdk_s3::Client::from_conf(builder.build())
}

/// `AWS_MAX_ATTEMPTS` when set (the SDK's own variable), else [`ATTEMPTS`].
fn attempts() -> u32 {
    std::env::var("AWS_MAX_ATTEMPTS").ok().and_then(|v| v.parse().ok()).filter(|&n| n > 0).unwrap_or(ATTEMPTS)
}

impl AwsProvider {
    /// Connects to `region` for `stack`'s cloud `cloud`.
    pub fn connect(
        stack: &str,
        cloud: &str,
        region: &str,
        profile: Option<&str>,
        user_tags: Vec<(String, String)>,
        setup: Option<std::sync::Arc<dyn crate::JobSetup>>,
    ) -> Result<AwsProvider, CloudError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the aws client: {e}"))?;
        let config = runtime.block_on(sdk_config(Some(region), profile));
        let apply_id = format!("{:x}-{}", std::process::id(), crate::local::records::now() as u64);
        Ok(AwsProvider {
            ec2: aws_sdk_ec2::Client::new(&config),
            quotas: aws_sdk_servicequotas::Client::new(&config),
            s3: s3_client(&config),
            sts: aws_sdk_sts::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            bucket: tokio::sync::OnceCell::new(),
            books: tokio::sync::OnceCell::new(),
            bucket_ready: tokio::sync::OnceCell::new(),
            agent: std::sync::OnceLock::new(),
            setup,
            stack: stack.to_string(),
            cloud: cloud.to_string(),
            user_tags,
            apply_id,
            pace: Pace::new(),
            runtime: std::sync::Arc::new(runtime),
        })
    }

    /// The stack as its instances see it (job records on S3): one agent, and its runtime,
    /// for all the calls of this provider (apply asks every few seconds).
    fn agent(&self) -> Result<&agent::Agent, CloudError> {
        if let Some(a) = self.agent.get() {
            return Ok(a);
        }
        let url = format!("s3://{}/stacks/{}/{}", self.block_on(self.bucket())?, self.stack, self.cloud);
        let made = agent::Agent::connect_with(url.as_str(), self.s3.clone(), self.ec2.clone())?;
        Ok(self.agent.get_or_init(|| made))
    }

    fn block_on<T>(&self, future: impl Future<Output = T>) -> T {
        self.runtime.block_on(future)
    }
}

impl Provider for AwsProvider {
    fn observe(&self) -> Result<Observed, CloudError> {
        self.block_on(self.observe_async())
    }

    fn finished(
        &self,
        job: &str,
        into: &std::path::Path,
    ) -> Result<Option<crate::local::JobRecord>, CloudError> {
        let agent = self.agent()?;
        let Some(record) = agent.jobs()?.into_iter().find(|j| j.name == job) else { return Ok(None) };
        if !agent::is_over(&record) {
            return Ok(None);
        }
        // A job a budget stopped has results too: the best its islands had reached.
        if matches!(record.status, JobStatus::Finished | JobStatus::Stopped { .. }) {
            agent.download_results(job, into)?;
        }
        Ok(Some(record))
    }

    fn jobs(&self) -> Result<Vec<crate::local::JobRecord>, CloudError> {
        self.agent()?.jobs()
    }

    fn services(&self) -> Result<Vec<(services::ServiceSpec, Vec<services::Heartbeat>)>, CloudError> {
        let agent = self.agent()?;
        let mut out = Vec::new();
        for address in agent.services()? {
            if let Some(spec) = agent.service_spec(&address)? {
                out.push((spec, agent.heartbeats(&address)?));
            }
        }
        Ok(out)
    }

    /// With each budget's spend, from the ledger reconciled with EC2 (in memory: plan
    /// writes nothing), when a budget's computes are all on this cloud.
    fn facts(&self, desired: &Desired) -> Result<gaform_compiler::plan::Facts, CloudError> {
        use crate::books::Books;
        let mut facts = self.block_on(self.facts_async(desired))?;
        let here = |compute: &str| {
            desired
                .resources
                .iter()
                .any(|r| r.addr.compute() == Some(compute) && r.provider == "aws" && r.cloud == self.cloud)
        };
        if desired.budgets.iter().any(|b| b.computes.iter().all(|c| here(c))) {
            let now = crate::local::records::now();
            let books = self.block_on(self.s3_books())?;
            let ledger =
                self.block_on(bill::reconcile(&self.ec2, &books, &self.stack, &self.cloud, now, false))?;
            facts.spend = crate::books::spend(&ledger, &books.budgets()?, desired, here, false, now);
        }
        Ok(facts)
    }

    /// Reading them makes nothing: a missing bucket reads as empty books.
    fn books(&self, write: bool) -> Result<Option<std::sync::Arc<dyn crate::books::Books>>, CloudError> {
        let books = if write { self.block_on(self.writable_books()) } else { self.block_on(self.s3_books()) };
        Ok(Some(std::sync::Arc::new(books?)))
    }

    fn apply(&self, change: &Change, desired: &Desired) -> Result<String, CloudError> {
        self.block_on(self.apply_async(change, desired)).map_err(|e| e.context(&change.address))
    }

    fn lock(&self, command: &str) -> Result<Option<crate::Held>, CloudError> {
        let mut lock = self.take_lock(command)?;
        let note = lock.took_over.take();
        Ok(Some(crate::Held { guard: Box::new(lock), note }))
    }

    fn clear_stale_lock(&self) -> Result<Option<String>, CloudError> {
        self.clear_lock_if_stale()
    }
}

/// An SDK error, of any service's client, as the user should read it (the service's code
/// and message, not the debug dump) and typed by what trying again can do. Every client's
/// `SdkError` is smithy's one type.
pub(crate) fn sdk_error<E>(e: aws_smithy_runtime_api::client::result::SdkError<E, HttpResponse>) -> CloudError
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::fmt::Debug,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match &e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let message =
                format!("{}: {}", err.code().unwrap_or("error"), err.message().unwrap_or("no message"));
            CloudError::from_service(err.code(), Some(s.raw().status().as_u16()), message)
        }
        SdkError::DispatchFailure(d) if d.is_user() => CloudError::from(format!("cannot call AWS: {d:?}")),
        SdkError::DispatchFailure(d) => CloudError::transient(format!("cannot reach AWS: {d:?}")),
        SdkError::TimeoutError(_) => CloudError::transient("AWS did not answer in time"),
        SdkError::ResponseError(_) => {
            CloudError::transient(format!("AWS's answer was cut or unreadable: {e:?}"))
        }
        other => CloudError::from(format!("{other:?}")),
    }
}
