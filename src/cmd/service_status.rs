//! What `gaform status` says of a stack's services, as Ray's `serve status` does: each
//! service's replicas, whether they are ready, and the version they serve: asked of local
//! replicas themselves (`/readyz`), read from aws replicas' heartbeats on S3.

use crate::failure::Failure;
use gaform_compiler::plan::{Addr, Kind};
use gaform_control::ledger::Ledger;
use gaform_providers::local::{InstanceRecord, StackDir};
use gaform_providers::service::{Heartbeat, ServiceSpec};
use gaform_serve::REPLICA_HEADER;
use serde::Serialize;
use std::time::Duration;

/// How long `status` waits for one replica's answer.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);
/// Connections a probe may open per replica of a service before it gives up on reaching
/// one replica behind a shared port (each reaches one of them, as the kernel deals).
const PROBES_PER_REPLICA: u64 = 16;

/// One service and its replicas.
#[derive(Debug, Serialize)]
pub struct ServiceStatus {
    pub address: Addr,
    /// Where it answers (`http://127.0.0.1:8080/strategy/v1`).
    pub url: String,
    pub replicas: Vec<ReplicaStatus>,
}

/// One replica: a `gaform serve` process or instance, and what it said.
#[derive(Debug, Serialize)]
pub struct ReplicaStatus {
    pub index: u64,
    /// On a local cloud.
    pub pid: Option<u32>,
    /// On aws.
    pub instance: Option<String>,
    /// `ready`, `waiting` (no strategy loaded yet), `unreachable` or `gone` (local);
    /// `ready`, `waiting`, `booting` (no heartbeat yet) or `silent` (none lately) on aws.
    pub health: &'static str,
    pub version: Option<u64>,
    /// The digest of the `best.json` it serves.
    pub run: Option<String>,
    pub strategy: Option<String>,
    /// Why it is not ready, when it is not.
    pub why: Option<String>,
}

impl ServiceStatus {
    /// Replicas ready to answer.
    pub fn ready(&self) -> usize {
        self.replicas.iter().filter(|r| r.health == "ready").count()
    }

    /// One line: `1/1 ready · version 3 (run ab12…) sma_crossover(...) · URL`, and the version
    /// each replica serves when they differ (a swap under way).
    pub fn summary(&self) -> String {
        let mut versions: Vec<String> = self
            .replicas
            .iter()
            .filter_map(|r| {
                Some(format!("version {} (run {}) {}", r.version?, r.run.as_deref()?, r.strategy.as_deref()?))
            })
            .collect();
        versions.dedup();
        let serving =
            if versions.is_empty() { "nothing served yet".to_string() } else { versions.join(" / ") };
        format!("{}/{} ready · {serving} · {}", self.ready(), self.replicas.len(), self.url)
    }
}

/// A heartbeat older than this says its replica is silent.
const HEARTBEAT_STALE_SECS: f64 = 60.0;

/// An aws cloud's services: each running instance of the service's compute (from the
/// cloud's ledger) is a replica, and its heartbeat on S3 says how it is.
pub fn aws_services(
    ledger: &Ledger,
    services: &[(ServiceSpec, Vec<Heartbeat>)],
    now: f64,
) -> Vec<ServiceStatus> {
    let mut out = Vec::new();
    for (spec, beats) in services {
        let attribute = |name: &str| spec.attributes.get(name).map_or("", String::as_str).to_string();
        let compute = attribute("compute");
        let replicas = ledger
            .running()
            .filter(|e| e.compute == compute)
            .enumerate()
            .map(|(index, e)| {
                let beat = beats.iter().find(|b| b.instance == e.instance);
                let (health, why) = match beat {
                    None => {
                        ("booting", Some("no heartbeat yet (it boots, or cannot write to S3)".to_string()))
                    }
                    Some(b) if now - b.at > HEARTBEAT_STALE_SECS => {
                        ("silent", Some(format!("no heartbeat for {:.0} s", now - b.at)))
                    }
                    Some(b) if b.ready => ("ready", None),
                    Some(b) => ("waiting", Some(b.waiting.clone().unwrap_or_else(|| "not ready".into()))),
                };
                ReplicaStatus {
                    index: index as u64,
                    pid: None,
                    instance: Some(e.instance.clone()),
                    health,
                    version: beat.and_then(|b| b.version),
                    run: beat.and_then(|b| b.run.clone()),
                    strategy: beat.and_then(|b| b.strategy.clone()),
                    why,
                }
            })
            .collect();
        out.push(ServiceStatus {
            url: format!("http://REPLICA:{}{} (compute {compute})", attribute("port"), attribute("route")),
            address: spec.address.clone(),
            replicas,
        });
    }
    out
}

/// Every service the stack's records hold, each replica asked over loopback.
pub fn services(stack: &StackDir) -> Result<Vec<ServiceStatus>, Failure> {
    let mut out: Vec<ServiceStatus> = Vec::new();
    for record in stack.instances()?.into_iter().filter(|r| r.kind == Kind::Service) {
        let attribute = |name: &str| record.attributes.get(name).map_or("", String::as_str).to_string();
        let replica = probe(&record, &attribute("port"));
        match out.last_mut().filter(|s| s.address == record.address) {
            Some(service) => service.replicas.push(replica),
            None => out.push(ServiceStatus {
                url: format!("http://127.0.0.1:{}{}", attribute("port"), attribute("route")),
                address: record.address.clone(),
                replicas: vec![replica],
            }),
        }
    }
    Ok(out)
}

fn probe(record: &InstanceRecord, port: &str) -> ReplicaStatus {
    let mut replica = ReplicaStatus {
        index: record.index,
        pid: record.process.map(|p| p.pid),
        instance: None,
        health: "gone",
        version: None,
        run: None,
        strategy: None,
        why: Some("its process is not running (the next plan replaces it)".into()),
    };
    if !record.process.is_some_and(|p| p.is_alive()) {
        return replica;
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(PROBE_TIMEOUT))
        .build()
        .into();
    // Replicas that share a port each answer the connections the kernel deals them: ask
    // until this one answers (it names itself in `x-gaform-replica`), a few times per
    // replica the service may have.
    let slot = record.index.to_string();
    let mut answer = Err(format!("no connection reached replica [{slot}]"));
    for _ in
        0..PROBES_PER_REPLICA * record.attributes.get("replicas").and_then(|n| n.parse().ok()).unwrap_or(1)
    {
        let mut response = match agent.get(&format!("http://127.0.0.1:{port}/readyz")).call() {
            Ok(r) => r,
            Err(e) => {
                answer = Err(e.to_string());
                break;
            }
        };
        let named = response.headers().get(REPLICA_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
        if named.is_some_and(|n| n != slot) {
            continue;
        }
        answer = response
            .body_mut()
            .read_to_string()
            .map_err(|e| e.to_string())
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string()));
        break;
    }
    match answer {
        Ok(said) if said["ready"] == true => {
            replica.health = "ready";
            replica.version = said["version"].as_u64();
            replica.run = said["run"].as_str().map(str::to_string);
            replica.strategy = said["strategy"].as_str().map(str::to_string);
            replica.why = None;
        }
        Ok(said) => {
            replica.health = "waiting";
            replica.why = Some(said["waiting"].as_str().unwrap_or("not ready").to_string());
        }
        Err(e) => {
            replica.health = "unreachable";
            replica.why = Some(format!("port {port} does not answer: {e}"));
        }
    }
    replica
}
