//! The local cloud's agents: a compute's head (`gaform head --stack DIR`), tending its
//! compute through [`cloud::LocalCloud`], and its workers (`worker`).

mod cloud;
mod worker;

pub use cloud::LocalCloud;
pub use worker::{worker, WorkerConfig};

use crate::head::{Ended, Head, Settings, SystemClock};
use crate::monitor::Monitoring;
use gaform_compiler::plan::Addr;
use gaform_providers::local::agent::{self, Registration};
use gaform_providers::local::{LocalProvider, StackDir};
use gaform_providers::CloudError;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// How often the local head looks at its jobs between ticks.
const PASS: Duration = Duration::from_millis(250);

/// A local head: the stack's records directory and the slot it was started for.
#[derive(Clone, Debug)]
pub struct HeadConfig {
    pub stack: PathBuf,
    /// `compute.NAME.head`.
    pub address: Addr,
    pub index: u64,
    /// How often it measures its budgets and monitors.
    pub tick: Duration,
}

/// Runs a local head until its compute ends or it is replaced.
pub fn head(config: &HeadConfig) -> Result<Ended, CloudError> {
    let stack = StackDir::new(&config.stack);
    let address = &config.address;
    let Some(me) = agent::register(&stack, address, config.index)? else { return Ok(Ended::Replaced) };
    let compute = address.compute().ok_or_else(|| format!("{address} is not a compute's head"))?.to_string();
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the gaform executable: {e}"))?;
    let provider = LocalProvider::new(stack.clone(), exe, Default::default(), None);
    outln!("{address}: pid {} tends compute `{compute}`", me.me.pid);
    let monitoring = start_monitoring(&stack, &me, &compute);
    let cloud = LocalCloud::new(stack, provider, me, compute.clone());
    let settings = Settings { compute, tick: config.tick, pause: PASS.min(config.tick) };
    Head::new(cloud, SystemClock, settings, monitoring).run()
}

/// The name a local worker slot reports under (`gaform_runtime::telemetry`).
pub fn slot_name(slot: u64) -> String {
    format!("slot-{slot}")
}

/// Serves the compute's metrics on loopback (the local cloud's "instances" are processes
/// of this machine) at the head's `metrics_port`, or any free port when another head has it.
fn start_monitoring(stack: &StackDir, me: &Registration, compute: &str) -> Monitoring {
    let port = me
        .record
        .attributes
        .get("metrics_port")
        .and_then(|p| p.parse().ok())
        .unwrap_or(gaform_compiler::ir::DEFAULT_METRICS_PORT);
    let wanted = SocketAddr::from(([127, 0, 0, 1], port));
    let name = stack.root().file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let (monitoring, served) = Monitoring::start(wanted, true, &name);
    if let Ok(at) = served {
        // Where `gaform export monitor` points Prometheus: the port taken, not the one asked.
        if let Err(e) = stack.write_metrics_address(compute, at) {
            errln!("compute.{compute}: {e}");
        }
    }
    let line = match served {
        Ok(at) if at == wanted => format!("compute.{compute}: metrics at http://{at}/metrics"),
        Ok(at) => format!("compute.{compute}: metrics at http://{at}/metrics (port {port} was taken)"),
        Err(e) => format!("compute.{compute}: no metrics endpoint: {e}"),
    };
    outln!("{line}");
    stack.event(None, &line);
    monitoring
}
