//! A service on aws, against moto through the real SDK: apply starts the service's own
//! compute with user data that boots each instance into `gaform serve`, opens its port to
//! exactly `allow_from`, and writes the spec the replicas read; a replica run here (emulated
//! instances run nothing) waits for the job's first result on S3, then serves it, and
//! `status` shows it from its heartbeat; the job run again swaps its new best in as version
//! 2 in the same replica process; destroy removes it all.

use crate::aws::{boot_compute, instance_ids, run, text, DUO, DUO_STACK};
use crate::moto::Moto;
use crate::support::{free_port, ok, KillOnDrop, Workspace};
use serde_json::Value;
use std::process::Stdio;
use std::time::{Duration, Instant};

fn stack(port: u16) -> String {
    format!(
        r#"{DUO}
compute edge {{
  cloud = west
  head {{ instance_type = "m5.large" }}
  workers replicas {{ instance_type = "m5.large"  min = 1  max = 1 }}
}}

service signal {{
  job        = duo
  route      = "/strategy/v1"
  compute    = edge
  port       = {port}
  allow_from = ["10.20.0.0/16"]
}}
"#
    )
}

/// Runs job `duo` on its emulated instances (started here: emulated instances run nothing)
/// while an attached apply waits for it and fetches its results.
fn run_the_job(w: &Workspace, moto: &Moto) {
    let mut agents = boot_compute(w, moto);
    ok(&run(w, moto, &["apply", "job.gaf", "--auto-approve"]));
    for agent in &mut agents {
        assert!(agent.wait().unwrap().success());
    }
}

fn get(url: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    match agent.get(url).call() {
        Ok(mut r) => (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

#[test]
fn a_service_on_aws_boots_its_own_compute_into_gaform_serve_and_destroy_removes_it() {
    let moto = Moto::start();
    let port = free_port();
    let w = Workspace::new("aws-serve", &stack(port));
    let plan = text(&run(&w, &moto, &["plan", "job.gaf"]));
    for line in ["+ compute.edge.head ", "+ compute.edge.workers.replicas ", "+ service.signal ", "serves"] {
        assert!(plan.contains(line), "{line:?} in\n{plan}");
    }
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));

    // What an independent client sees: the replicas, their boot script, the port's rule, the spec.
    let seen = moto.list("us-west-2");
    let replicas =
        [instance_ids(&moto, "compute.edge.head"), instance_ids(&moto, "compute.edge.workers.replicas")];
    assert_eq!(replicas.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1], "{seen}");
    for owner in ["compute.edge.head", "compute.edge.workers.replicas"] {
        let boot = &seen["boot"][format!("gaform.job.{owner}.launch_template")];
        let script = boot["user_data"].as_str().unwrap_or_default();
        assert!(
            script.contains(&format!(
                "exec /usr/local/bin/gaform serve --s3-stack {DUO_STACK} --address service.signal --bind 0.0.0.0"
            )),
            "{owner} boots into gaform serve: {script}"
        );
        assert!(boot["profile"].as_str().is_some(), "{owner} reads S3 with the instance role: {boot}");
    }
    let edge = seen["security_groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["tags"]["gaform:address"] == "compute.edge.security_group")
        .unwrap_or_else(|| panic!("{seen}"));
    let ranged: Vec<(i64, &str)> = edge["ingress"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            p["IpRanges"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |r| (p["FromPort"].as_i64().unwrap(), r["CidrIp"].as_str().unwrap()))
        })
        .collect();
    assert_eq!(ranged, vec![(port as i64, "10.20.0.0/16")], "the port, to allow_from only: {edge}");
    let objects = seen["objects"].to_string();
    assert!(objects.contains("stacks/job/west/services/signal/spec.json"), "{objects}");
    let again = run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    // The head instance's replica, run here on loopback: no result yet, so it waits and says so.
    let mut env = moto.env();
    env.push(("AWS_REGION", "us-west-2".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let here = free_port().to_string();
    let replica_id = replicas[0][0].clone();
    let mut replica = KillOnDrop(
        w.command(
            &[
                "serve",
                "--s3-stack",
                DUO_STACK,
                "--address",
                "service.signal",
                "--instance-id",
                &replica_id,
                "--port",
                &here,
                "--poll",
                "200ms",
            ],
            &env,
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap(),
    );
    let base = format!("http://127.0.0.1:{here}");
    let waiting = |what: &dyn Fn() -> bool, why: &str| {
        let started = Instant::now();
        while !what() {
            assert!(started.elapsed() < Duration::from_secs(120), "{why}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    waiting(&|| get(&format!("{base}/readyz")).0 == 503, "the replica never answered");
    assert!(get(&format!("{base}/readyz")).1.contains("jobs/duo/results/best.json does not exist yet"));
    waiting(
        &|| text(&run(&w, &moto, &["status", "job.gaf"])).contains("waiting"),
        "status never showed the replica waiting",
    );

    // The job runs (its instances emulated here too) and apply fetches its results: the
    // replica swaps the new best in from S3.
    run_the_job(&w, &moto);
    waiting(&|| get(&format!("{base}/readyz")).0 == 200, "the replica never served the job's best");
    let best: Value = serde_json::from_str(&w.read("results/duo/best.json")).unwrap();
    let (_, described) = get(&format!("{base}/strategy/v1"));
    let described: Value = serde_json::from_str(&described).unwrap();
    assert_eq!(described["strategy"], best["strategy"], "{described}");
    assert_eq!(described["version"], 1);
    let status = || text(&run(&w, &moto, &["status", "job.gaf"]));
    waiting(&|| status().contains("1/2 ready · version 1"), "status never showed the replica ready");
    let status = status();
    assert!(
        status.contains(&format!("{} booting", replicas[1][0])),
        "the other replica has said nothing: {status}"
    );

    // The job runs again with another seed: its new best, on S3, swaps in as version 2
    // without the replica starting again.
    std::fs::write(w.path("job.gaf"), stack(port).replace("seed        = 8", "seed        = 9")).unwrap();
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    run_the_job(&w, &moto);
    let second: Value = serde_json::from_str(&w.read("results/duo/best.json")).unwrap();
    assert_eq!(second["seed"], 9);
    let swapped = || {
        let described: Value =
            serde_json::from_str(&get(&format!("{base}/strategy/v1")).1).unwrap_or_default();
        described["version"] == 2 && described["strategy"] == second["strategy"] && described["seed"] == 9
    };
    waiting(&swapped, "the replica never swapped in the second run's best");
    assert!(replica.0.try_wait().unwrap().is_none(), "the same replica process serves it");

    let destroyed = run(&w, &moto, &["destroy", "job.gaf", "--auto-approve"]);
    assert_eq!(destroyed.status.code(), Some(0), "{}", text(&destroyed));
    drop(replica);
    let seen = moto.list("us-west-2");
    assert_eq!(seen["instances"].as_array().unwrap().len(), 0, "{seen}");
    assert!(!seen["objects"].to_string().contains("services/"), "{seen}");
}
