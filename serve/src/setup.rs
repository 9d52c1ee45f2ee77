//! What a server serves, and where a provisioned replica learns it: a local stack's record
//! (a replica `apply` started), or the stack's place on S3 (a replica on an aws instance,
//! which reads the spec apply wrote for its service). By hand, the CLI builds a [`Setup`]
//! from the `.gaf` file itself.

use super::source::Source;
use gaform_compiler::plan::{Addr, Attributes};
use gaform_providers::local::StackDir;
use gaform_providers::CloudError;
use gaform_runtime::backtest::Costs;

/// What one `gaform serve` serves.
pub struct Setup {
    pub service: String,
    pub job: String,
    pub route: String,
    pub port: u16,
    /// Where the job's `best.json` is read from, and how it is named in messages.
    pub source: Source,
    /// The job's costs, for a `best.json` that names none; a provisioned replica has none to
    /// offer and refuses such a file.
    pub costs: Option<Costs>,
    pub data_digest: Option<String>,
    /// A local replica's slot, claimed once it listens (so that `apply`, which waits for the
    /// claim, learns of a port it cannot have); it stops once its slot is not its own.
    pub slot: Option<(StackDir, Addr, u64)>,
    /// How many local replicas share the port (`replicas = N`): with more than one, each
    /// binds it with `SO_REUSEPORT` and the live replica of the lowest slot starts a dead
    /// sibling again.
    pub replicas: u64,
}

/// `gaform serve --stack DIR --address service.NAME`: a local replica `apply` started,
/// configured by its record and its job's.
pub fn from_stack(stack: StackDir, address: Addr, index: u64) -> Result<Setup, CloudError> {
    let record = stack.instance(&address, index)?.ok_or_else(|| {
        format!(
            "{} has no record in {}: replicas are started by `gaform apply`",
            address.instance(index),
            stack.root().display()
        )
    })?;
    let (job, route, port) = spec(&address, &record.attributes)?;
    let replicas = match record.attributes.get("replicas") {
        Some(n) => n.parse().map_err(|e| format!("{address}'s replicas: {e}"))?,
        None => 1,
    };
    let job_record = stack.job(&job)?.ok_or_else(|| {
        format!("job.{job} has no record in {}: apply creates it first", stack.root().display())
    })?;
    Ok(Setup {
        service: name(&address),
        route,
        port,
        source: Source::File(job_record.results_dir.join("best.json")),
        costs: None,
        data_digest: job_record.attributes.get("data_sha256").cloned(),
        job,
        slot: Some((stack, address, index)),
        replicas,
    })
}

/// `gaform serve --s3-stack URL --address service.NAME`: a replica on an aws instance. It
/// may boot before apply has written its service's spec, so it waits for it.
#[cfg(feature = "aws")]
pub fn from_s3(url: &str, address: Addr, instance_id: Option<String>) -> Result<Setup, CloudError> {
    use gaform_providers::aws::agent::{self, Agent};
    const SPEC_WAIT: std::time::Duration = std::time::Duration::from_secs(600);
    let cloud = Agent::connect(url)?;
    let instance = match instance_id {
        Some(id) => id,
        None => agent::instance_id()?,
    };
    let waited = std::time::Instant::now();
    let spec_object = loop {
        if let Some(found) = cloud.service_spec(&address)? {
            break found;
        }
        if waited.elapsed() > SPEC_WAIT {
            let missing = format!("{address} has no spec under {url} after {SPEC_WAIT:?}: was it applied?");
            return Err(CloudError::missing(missing));
        }
        std::thread::sleep(std::time::Duration::from_secs(2));
    };
    let (job, route, port) = spec(&address, &spec_object.attributes)?;
    let data_digest = cloud.job(&job)?.and_then(|r| r.attributes.get("data_sha256").cloned());
    Ok(Setup {
        service: name(&address),
        route,
        port,
        source: Source::S3(Box::new(super::source::S3Source {
            name: format!("{url}/jobs/{job}/results/best.json"),
            cloud,
            job: job.clone(),
            etag: None,
            instance,
            address,
            last_beat: None,
        })),
        costs: None,
        data_digest,
        job,
        slot: None,
        replicas: 1,
    })
}

#[cfg(not(feature = "aws"))]
pub fn from_s3(_: &str, _: Addr, _: Option<String>) -> Result<Setup, CloudError> {
    Err("this build leaves out the aws cloud (build with the `aws` feature)".into())
}

/// The job, route and port a provisioned service's attributes name.
fn spec(address: &Addr, attributes: &Attributes) -> Result<(String, String, u16), String> {
    let get =
        |name: &str| attributes.get(name).cloned().ok_or_else(|| format!("{address}'s spec has no `{name}`"));
    let port = get("port")?.parse().map_err(|e| format!("{address}'s port: {e}"))?;
    Ok((get("job")?, get("route")?, port))
}

fn name(address: &Addr) -> String {
    address.as_str().trim_start_matches("service.").to_string()
}
