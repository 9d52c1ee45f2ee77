//! The aws cloud's agents, what the launch templates' user data starts: a compute's head
//! (`gaform head --s3-stack URL`), tending its compute through [`cloud::AwsCloud`], and its
//! workers (`worker`), which claim islands on S3 and watch for EC2's notices (`notices`).

mod autoscale;
mod cloud;
mod heal;
mod notices;
mod spot;
mod worker;

pub use cloud::{work_dir, AwsCloud, SAVE_GRACE};
pub use worker::{worker, WorkerConfig};

use crate::head::{Ended, Head, Settings, SystemClock};
use crate::monitor::Monitoring;
use gaform_compiler::plan::{Addr, Attributes};
use gaform_providers::aws::agent::{self, Agent};
use gaform_providers::CloudError;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How often the head looks at its jobs and its workers' notices, at most.
const PASS: Duration = Duration::from_secs(2);

/// A head on aws.
#[derive(Clone, Debug)]
pub struct HeadConfig {
    /// The stack's place on S3 (`s3://BUCKET/stacks/STACK/CLOUD`).
    pub stack_url: String,
    /// `compute.NAME.head`.
    pub address: Addr,
    /// This instance's id; from the instance metadata service when `None`.
    pub instance_id: Option<String>,
    /// How often it measures its budgets and monitors.
    pub tick: Duration,
    /// Where its metrics endpoint listens (every interface unless narrowed: the compute's
    /// security group admits only `metrics_from` and the compute's members).
    pub metrics_ip: IpAddr,
}

/// Runs an aws head until its compute ends.
pub fn head(config: &HeadConfig) -> Result<Ended, CloudError> {
    let agent = Agent::connect(&config.stack_url)?;
    let me = match &config.instance_id {
        Some(id) => id.clone(),
        None => agent::instance_id()?,
    };
    let address = &config.address;
    let compute = address.compute().ok_or_else(|| format!("{address} is not a compute's head"))?.to_string();
    let (stack, cloud) = agent.stack_and_cloud();
    let attributes: Attributes = agent
        .live_group(&stack, &cloud, &Addr::head(&compute))
        .ok()
        .and_then(|live| live.into_iter().next().map(|(_, a)| a))
        .unwrap_or_default();
    let monitoring = start_monitoring(&attributes, config.metrics_ip, &compute, &stack);
    let cooldown = 5.0 * config.tick.as_secs_f64();
    let noticed = heal::noticed_before(&agent.books());
    let cloud = AwsCloud::new(agent, (compute.clone(), me), attributes, noticed, cooldown);
    let settings = Settings { compute, tick: config.tick, pause: PASS.min(config.tick) };
    Head::new(cloud, SystemClock, settings, monitoring).run()
}

/// Serves the head's metrics at its `metrics_port` on `ip`.
fn start_monitoring(attributes: &Attributes, ip: IpAddr, compute: &str, stack: &str) -> Monitoring {
    let port = attributes
        .get("metrics_port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(gaform_compiler::ir::DEFAULT_METRICS_PORT);
    let (monitoring, served) = Monitoring::start(SocketAddr::new(ip, port), false, stack);
    match served {
        Ok(at) => outln!("compute.{compute}: metrics at http://{at}/metrics"),
        Err(e) => errln!("compute.{compute}: no metrics endpoint: {e}"),
    }
    monitoring
}
