//! Monitors on the aws cloud, against moto through the real SDK: the compute's security
//! group admits the head's metrics port from exactly the file's `metrics_from`, a head
//! serves the job's metrics from the workers' reports in its S3 store, and a `stop` alert
//! stops the compute with its results so far, `metrics.csv` and `report.html` beside them.

use crate::aws::{aws_object, boot_with, boto, instance_ids, run, text};
use crate::moto::Moto;
use crate::support::{free_port, ok, Workspace};
use std::time::{Duration, Instant};

const BUCKET: &str = "gaform-123456789012-us-west-2";

fn stack(port: u16, from: &str) -> String {
    format!(
        r#"
cloud west {{ provider = aws  region = "us-west-2" }}
compute c {{
  cloud = west
  head {{
    instance_type = "m5.large"
    metrics_port  = {port}
    {from}
  }}
  workers cpu {{ instance_type = "c5.large"  min = 2  max = 2 }}
}}
job duo {{
  compute     = c
  data        = "GOOG_wiki.csv"
  strategy    = rsi_reversion(period = 2..30, lower = 10..45, upper = 55..90)
  population  = 30
  generations = 4000
  migration {{ every = 10  count = 2 }}
  seed        = 8
}}
monitor guard {{
  job     = duo
  metrics = [generation, best_fitness]
  alert {{
    when   = generation > 400
    action = stop
  }}
}}
"#
    )
}

/// The address-range ingress of the compute's security group: (protocol, port, cidr).
fn ranged_ingress(moto: &Moto) -> Vec<(String, i64, String)> {
    let printed = boto(
        moto,
        "import json\nec2=boto3.client('ec2',**kw)\n\
         gs=ec2.describe_security_groups(Filters=[{'Name':'tag:gaform:address','Values':['compute.c.security_group']}])['SecurityGroups']\n\
         print(json.dumps([[p['IpProtocol'],p.get('FromPort',-1),r['CidrIp']] for g in gs for p in g['IpPermissions'] for r in p.get('IpRanges',[])]))",
    );
    serde_json::from_str(&printed).unwrap()
}

#[test]
fn the_metrics_port_is_open_to_metrics_from_only_and_a_head_on_aws_serves_and_stops() {
    let moto = Moto::start();
    let port = free_port();
    let w = Workspace::new("aws-monitor", &stack(port, ""));
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    assert_eq!(ranged_ingress(&moto), vec![], "no address range reaches the group by default");

    // Named blocks are admitted to the port, and only to it; the plan then has nothing to do.
    std::fs::write(w.0.join("job.gaf"), stack(port, r#"metrics_from = ["10.20.0.0/16"]"#)).unwrap();
    let plan = text(&run(&w, &moto, &["plan", "job.gaf"]));
    assert!(plan.contains("compute.c.security_group will be updated in place"), "{plan}");
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    assert_eq!(ranged_ingress(&moto), vec![("tcp".to_string(), port as i64, "10.20.0.0/16".to_string())]);
    let again = run(&w, &moto, &["plan", "--detailed-exitcode", "job.gaf"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    // The head first, so that it measures the run from its start; loopback only here.
    let env = [("GAFORM_TICK", "1s"), ("GAFORM_METRICS_BIND", "127.0.0.1")];
    let head_id = instance_ids(&moto, "compute.c.head").remove(0);
    let mut head = boot_with(&w, &moto, "head", "compute.c.head", &head_id, &env);
    let mut workers: Vec<_> = instance_ids(&moto, "compute.c.workers.cpu")
        .iter()
        .map(|id| boot_with(&w, &moto, "worker", "compute.c.workers.cpu", id, &env))
        .collect();
    let started = Instant::now();
    let served = loop {
        let body = ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
            .call()
            .ok()
            .and_then(|mut r| r.body_mut().read_to_string().ok())
            .unwrap_or_default();
        if body.contains("gaform_generation{gaform_job=\"duo\"}") {
            break body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the head never served the job's generation:\n{body}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(served.contains("gaform_instances{compute=\"c\""), "{served}");
    assert!(served.contains("simulated=\"false\""), "aws costs are billed, not simulated: {served}");
    assert!(head.wait().unwrap().success());
    for worker in &mut workers {
        assert!(worker.wait().unwrap().success(), "a worker leaves once its job is stopped");
    }

    assert_eq!(moto.list("us-west-2")["instances"].as_array().unwrap().len(), 0, "the compute is gone");
    let record = aws_object(&moto, BUCKET, "stacks/job/west/jobs/duo/record.json");
    assert!(record.contains("stopped: monitor guard: alert 0 (generation > 400) fired at"), "{record}");
    let prefix = "stacks/job/west/jobs/duo/results";
    let csv = aws_object(&moto, BUCKET, &format!("{prefix}/metrics.csv"));
    assert!(csv.starts_with("time,generation,best_fitness,"), "{csv}");
    assert!(csv.lines().count() >= 3, "a start row, ticks and a last row: {csv}");
    let report = aws_object(&moto, BUCKET, &format!("{prefix}/report.html"));
    assert!(report.contains("stopped: monitor guard") && !report.contains("http://"), "{report}");
    let events = text(&run(&w, &moto, &["events", "--json", "job.gaf"]));
    assert_eq!(events.matches("\"monitor_alert\"").count(), 1, "{events}");
    let status: serde_json::Value =
        serde_json::from_slice(&run(&w, &moto, &["status", "--json", "job.gaf"]).stdout).unwrap();
    assert_eq!(status["monitors"][0]["alerts"][0]["state"], "firing", "{status:#}");
}
