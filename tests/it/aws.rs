//! The aws provider against moto's EC2 emulator, through the real aws-sdk-ec2 client: the
//! production example's infrastructure planned, applied, verified by an independent client,
//! planned again, changed and destroyed.

use crate::moto::Moto;
use crate::support::{ok, root, Workspace};
use std::process::Output;

pub(crate) fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// examples/seed-production.gaf without its job, service and monitor: the infrastructure.
pub(crate) fn production() -> String {
    let text = std::fs::read_to_string(root().join("examples/seed-production.gaf")).unwrap();
    text[..text.find("job momentum-search").unwrap()].to_string()
}

pub(crate) fn run(w: &Workspace, moto: &Moto, args: &[&str]) -> Output {
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    w.gaform(args, &env)
}

#[test]
fn production_infrastructure_plan_apply_plan_change_destroy() {
    let moto = Moto::start();
    let w = Workspace::new("aws-prod", &production());

    let plan = run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    for line in [
        "+ compute.genetic-evolution-cluster.security_group",
        "+ compute.genetic-evolution-cluster.head.launch_template",
        "+ compute.genetic-evolution-cluster.workers.genetic_evolution.launch_template",
        "+ compute.genetic-evolution-cluster.head ",
        "+ compute.genetic-evolution-cluster.workers.genetic_evolution ",
        "= 2 (min = 2, no job runs on it)",
        "Plan: 6 to add, 0 to change, 0 to destroy.",
        "compute.genetic-evolution-cluster.workers.genetic_evolution  c5.4xlarge      2       $1.36",
        // moto's spot price is a constant, and it has no Service Quotas.
        "workers.genetic_evolution: spot $0.0000/hour each now ($0.0000 at the planned count), against $0.68 on-demand",
        "live vCPU quotas could not be read from Service Quotas (NoSuchResourceException",
        "+ image       = \"al2023 (ami-",
    ] {
        assert!(text(&plan).contains(line), "{line:?} in\n{}", text(&plan));
    }

    let apply = run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert!(text(&apply).contains("[started 2 spot]"), "{}", text(&apply));
    let seen = moto.list("us-west-2");
    let instances = seen["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 3, "{seen}");
    for i in instances {
        assert_eq!(i["tags"]["gaform:stack"], "job");
        assert_eq!(i["tags"]["gaform:cloud"], "aws_west");
        assert_eq!(i["tags"]["project"], "quant-organism", "the cloud block's tags");
        assert!(i["tags"]["gaform:plan"].as_str().is_some_and(|p| !p.is_empty()));
    }
    let head: Vec<_> = instances
        .iter()
        .filter(|i| i["tags"]["gaform:address"] == "compute.genetic-evolution-cluster.head")
        .collect();
    assert_eq!(head.len(), 1);
    assert_eq!(
        (head[0]["type"].as_str(), head[0]["lifecycle"].as_str()),
        (Some("m5.2xlarge"), Some("on-demand"))
    );
    let workers: Vec<_> = instances.iter().filter(|i| i["lifecycle"] == "spot").collect();
    assert_eq!(workers.len(), 2, "the group is spot first: {seen}");
    assert_eq!(seen["security_groups"].as_array().unwrap().len(), 1);
    let ingress = &seen["security_groups"][0]["ingress"];
    assert!(!ingress.to_string().contains("0.0.0.0/0"), "no ingress from anywhere: {ingress}");
    assert_eq!(seen["launch_templates"].as_array().unwrap().len(), 3);

    let again = run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    // Changed by hand, behind gaform's back: the head's type (stopped, modified, started).
    let head = head[0]["id"].as_str().unwrap().to_string();
    boto(
        &moto,
        &format!(
            "ec2=boto3.client('ec2',**kw)\nec2.stop_instances(InstanceIds=['{head}'])\n\
             ec2.modify_instance_attribute(InstanceId='{head}',InstanceType={{'Value':'m5.large'}})\nec2.start_instances(InstanceIds=['{head}'])"
        ),
    );
    let drift = run(&w, &moto, &["plan", "job.gaf"]);
    assert!(
        text(&drift).contains("~ instance_type = \"m5.large\" -> \"m5.2xlarge\" # forces replacement"),
        "{}",
        text(&drift)
    );
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    assert_eq!(run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]).status.code(), Some(0));

    std::fs::write(
        w.0.join("job.gaf"),
        production().replace("    min            = 2\n", "    min            = 4\n"),
    )
    .unwrap();
    let scale = run(&w, &moto, &["plan", "job.gaf"]);
    assert!(
        text(&scale).contains("# compute.genetic-evolution-cluster.workers.genetic_evolution will be scaled ([2], [3] not running; min changed)"),
        "{}",
        text(&scale)
    );
    std::fs::write(
        w.0.join("job.gaf"),
        production().replace(r#"["c5.4xlarge", "c5a.4xlarge", "c6i.4xlarge"]"#, r#"["c6i.4xlarge"]"#),
    )
    .unwrap();
    let replace = run(&w, &moto, &["plan", "job.gaf"]);
    assert!(text(&replace).contains("workers.genetic_evolution must be replaced (instance_type, instance_types cannot change in place)"), "{}", text(&replace));
    let applied = run(&w, &moto, &["apply", "job.gaf", "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    let seen = moto.list("us-west-2");
    let types: Vec<&str> = seen["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["lifecycle"] == "spot")
        .filter_map(|i| i["type"].as_str())
        .collect();
    assert_eq!(types, ["c6i.4xlarge", "c6i.4xlarge"]);

    let destroy = run(&w, &moto, &["destroy", "job.gaf", "--auto-approve"]);
    assert_eq!(destroy.status.code(), Some(0), "{}", text(&destroy));
    let seen = moto.list("us-west-2");
    assert_eq!(seen["instances"].as_array().unwrap().len(), 0, "{seen}");
    assert_eq!(seen["security_groups"].as_array().unwrap().len(), 0, "{seen}");
    assert_eq!(seen["launch_templates"].as_array().unwrap().len(), 0, "{seen}");
    assert!(
        seen["fleets"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["state"].as_str().unwrap().starts_with("deleted")),
        "{seen}"
    );
    let after = run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]);
    assert_eq!(after.status.code(), Some(2));
}

use crate::fault_proxy::{Faults, Proxy};

/// Runs gaform through `proxy` (and, with `attempts`, that many SDK attempts per call).
pub(crate) fn via(
    w: &Workspace,
    moto: &Moto,
    proxy: &Proxy,
    attempts: Option<&str>,
    args: &[&str],
) -> Output {
    let mut env = moto.env();
    env.retain(|(k, _)| *k != "AWS_ENDPOINT_URL");
    env.push(("AWS_ENDPOINT_URL", proxy.endpoint()));
    if let Some(n) = attempts {
        env.push(("AWS_MAX_ATTEMPTS", n.to_string()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    w.gaform(args, &env)
}

#[test]
fn throttling_bursts_are_retried_a_bounded_number_of_times() {
    let moto = Moto::start();
    let w = Workspace::new("aws-throttle", &production());
    let calm = Proxy::start(moto.port, Faults::default());
    let baseline = via(&w, &moto, &calm, None, &["plan", "job.gaf"]);
    assert_eq!(baseline.status.code(), Some(0), "{}", text(&baseline));
    let listing = calm.total();
    let proxy = Proxy::start(moto.port, Faults { throttle: 3, ..Faults::default() });
    let apply = via(&w, &moto, &proxy, None, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert_eq!(proxy.state.lock().unwrap().throttled, 3);
    let calls = proxy.total();
    // The apply's own calls: its plan's listing, then the creates and their look-ups, and
    // the books: the bucket, the budgets handed over, a ledger listing and a write per start.
    println!("apply: {calls} requests {:?}", proxy.state.lock().unwrap().actions);
    assert!(calls <= listing + 3 + 30 + 12, "{calls} requests for a {listing}-request plan and 6 creates");
    assert_eq!(moto.list("us-west-2")["instances"].as_array().unwrap().len(), 3);

    // Throttled past the SDK's attempts: a transient failure, rendered as a diagnostic.
    let storm = Proxy::start(moto.port, Faults { throttle: 50, ..Faults::default() });
    let plan = via(&w, &moto, &storm, Some("1"), &["plan", "job.gaf"]);
    assert_eq!(plan.status.code(), Some(1), "{}", text(&plan));
    let said = text(&plan);
    assert!(said.contains("gaform::cloud::transient") && said.contains("RequestLimitExceeded"), "{said}");
    assert!(said.contains("help: the cloud did not answer, or asked to be called less often"), "{said}");
}

#[test]
fn without_spot_capacity_the_group_is_filled_on_demand_or_fails_clearly() {
    let moto = Moto::start();
    let w = Workspace::new("aws-nospot", &production());
    let proxy = Proxy::start(moto.port, Faults { no_spot: true, ..Faults::default() });
    let apply = via(&w, &moto, &proxy, None, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert!(
        text(&apply).contains("started 0 spot, fallback to on-demand after: InsufficientInstanceCapacity: There is no Spot capacity available that matches your request., 2 on-demand"),
        "{}",
        text(&apply)
    );
    let workers: Vec<String> = moto.list("us-west-2")["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| {
            i["tags"]["gaform:address"] == "compute.genetic-evolution-cluster.workers.genetic_evolution"
        })
        .map(|i| i["lifecycle"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(workers, ["on-demand", "on-demand"]);

    let moto = Moto::start();
    let proxy = Proxy::start(moto.port, Faults { no_spot: true, ..Faults::default() });
    let strict = Workspace::new(
        "aws-nospot-strict",
        &production().replace("fallback   = on_demand", "fallback   = none"),
    );
    let apply = via(&strict, &moto, &proxy, None, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    assert!(
        text(&apply).contains("spot capacity: got 0 of 2 (InsufficientInstanceCapacity: There is no Spot capacity available that matches your request.) and the spot policy's fallback is none"),
        "{}",
        text(&apply)
    );
}

#[test]
fn a_cut_connection_mid_apply_leaves_exactly_the_remainder() {
    let moto = Moto::start();
    let w = Workspace::new("aws-cut", &production());
    // Writes: the books' bucket, the stack's lock, the budgets handed over, security group,
    // its ingress, 3 launch templates, then the head's RunInstances, which EC2 carries out
    // but whose answer never arrives.
    let proxy = Proxy::start(moto.port, Faults { cut_at_write: Some(9), ..Faults::default() });
    let apply = via(&w, &moto, &proxy, Some("2"), &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert_eq!(apply.status.code(), Some(1), "{}", text(&apply));
    // The answer never came: a transient failure, which the next apply mends.
    assert!(
        text(&apply).contains("compute.genetic-evolution-cluster.head: failed after")
            && text(&apply).contains("s (transient): "),
        "{}",
        text(&apply)
    );
    assert_eq!(
        moto.list("us-west-2")["instances"].as_array().unwrap().len(),
        1,
        "the head was made all the same"
    );

    let plan = run(&w, &moto, &["plan", "job.gaf"]);
    assert!(text(&plan).contains("Plan: 1 to add, 0 to change, 0 to destroy."), "{}", text(&plan));
    assert!(
        text(&plan).contains("+ compute.genetic-evolution-cluster.workers.genetic_evolution "),
        "{}",
        text(&plan)
    );
    let apply = run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    // Cut off, the first apply could not remove its lock from S3 as it ended: the next,
    // on this machine, takes it over and says so.
    assert!(text(&apply).contains("took over the lock left by `gaform apply`"), "{}", text(&apply));
    let seen = moto.list("us-west-2");
    let heads = seen["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["tags"]["gaform:address"] == "compute.genetic-evolution-cluster.head")
        .count();
    assert_eq!((heads, seen["instances"].as_array().unwrap().len()), (1, 3), "no duplicate: {seen}");
    assert_eq!(run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]).status.code(), Some(0));
}

#[test]
fn requests_are_counted_not_per_instance() {
    let moto = Moto::start();
    let big = r#"
cloud east { provider = aws  region = "us-east-1" }
compute farm {
  cloud = east
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  min = 100  max = 100 }
}
"#;
    let w = Workspace::new("aws-count", big);
    let proxy = Proxy::start(moto.port, Faults::default());
    let apply = via(&w, &moto, &proxy, None, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert_eq!(proxy.count("CreateFleet"), 1, "one fleet request for a 100-worker group");
    assert_eq!(proxy.count("RunInstances"), 1, "the head");
    println!(
        "apply of a 100-worker group: {} AWS requests {:?}",
        proxy.total(),
        proxy.state.lock().unwrap().actions
    );
    proxy.reset_counts();
    let plan = via(&w, &moto, &proxy, None, &["plan", "job.gaf", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    println!(
        "plan of 101 instances: {} AWS requests {:?}",
        proxy.total(),
        proxy.state.lock().unwrap().actions
    );
    // EC2: 4 listings, the templates' tags, 1 image look-up; Service Quotas: 1; STS: 1 (the
    // account names the artifact bucket); S3: the stack's record, its jobs' and its
    // services' listings. IAM: the stack's roles, one listing.
    assert!(proxy.total() <= 12, "{:?}", proxy.state.lock().unwrap().actions);
}

#[test]
fn the_production_example_with_its_job_is_handed_over_and_destroyed() {
    let moto = Moto::start();
    let example = std::fs::read_to_string(root().join("examples/seed-production.gaf")).unwrap();
    let w = Workspace::new("aws-example", &example);
    std::fs::create_dir_all(w.0.join("data")).unwrap();
    std::fs::copy(root().join("examples/data/GOOG_wiki.csv"), w.0.join("data/GOOG_wiki.csv")).unwrap();

    let plan = run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(2), "{}", text(&plan));
    for line in [
        "+ cloud.aws_west.artifacts",
        "+ compute.genetic-evolution-cluster.security_group",
        "+ compute.genetic-evolution-cluster.workers.genetic_evolution.launch_template",
        "= 2 (autoscale: starts at min = 2; its head sizes it to the work (max = 20, one island per worker), up to 20)",
        "+ job.momentum-search",
        "+ cloud.aws_west.instance_role",
        "Plan: 9 to add, 0 to change, 0 to destroy.",
        "service.strategy-v1: checked, not provisioned",
        "compute.genetic-evolution-cluster.workers.genetic_evolution  c5.4xlarge      2       $1.36   $1.36 (2)  $13.60 (20)",
    ] {
        assert!(text(&plan).contains(line), "{line:?} in\n{}", text(&plan));
    }
    let apply = run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert!(text(&apply).contains("job.momentum-search: Creation complete"), "{}", text(&apply));
    let seen = moto.list("us-west-2");
    assert_eq!(seen["instances"].as_array().unwrap().len(), 3, "the head and min = 2 spot workers");
    let objects: Vec<&str> = seen["objects"].as_array().unwrap().iter().filter_map(|o| o.as_str()).collect();
    for key in [
        "stacks/job/aws_west/bin/gaform-x86_64.gz",
        "stacks/job/aws_west/stack.json",
        "stacks/job/aws_west/jobs/momentum-search/record.json",
        "stacks/job/aws_west/jobs/momentum-search/store/job.json",
    ] {
        assert!(objects.contains(&key), "{key} in {objects:?}");
    }
    let boot = seen["boot"].as_object().unwrap();
    let worker =
        &boot["gaform.job.compute.genetic-evolution-cluster.workers.genetic_evolution.launch_template"];
    assert_eq!(worker["profile"], "gaform-job-aws_west");
    let script = worker["user_data"].as_str().unwrap();
    assert!(
        script.contains("aws s3 cp s3://gaform-123456789012-us-west-2/stacks/job/aws_west/bin/gaform-x86_64.gz - | gunzip > /usr/local/bin/gaform")
            && script.contains("gaform worker --s3-stack s3://gaform-123456789012-us-west-2/stacks/job/aws_west --address compute.genetic-evolution-cluster.workers.genetic_evolution"),
        "{script}"
    );
    assert!(!script.contains("testing"), "no credential in user data");
    // What the instances get is this binary without its debug info, gzipped; unpacked as
    // user data unpacks it, it runs.
    assert!(text(&apply).contains("without its debug info"), "{}", text(&apply));
    let shipped = w.0.join("shipped-gaform");
    let sent = boto(
        &moto,
        &format!(
            "import gzip
body=boto3.client('s3',**kw).get_object(Bucket='gaform-123456789012-us-west-2',Key='stacks/job/aws_west/bin/gaform-x86_64.gz')['Body'].read()
open({:?},'wb').write(gzip.decompress(body))
print(len(body))",
            shipped.display().to_string()
        ),
    );
    let sent: u64 = sent.trim().parse().unwrap();
    let built = std::fs::metadata(env!("CARGO_BIN_EXE_gaform")).unwrap().len();
    let size = std::fs::metadata(&shipped).unwrap().len();
    // A test build's code is unoptimised and large: its debug info is a quarter of it (a
    // release build's four fifths; BENCHMARKS.md), and gzip sends a third of the rest.
    assert!(size < built * 9 / 10, "unpacked {size} bytes of {built}");
    assert!(sent < size / 2, "sent {sent} bytes for {size}");
    std::fs::set_permissions(&shipped, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let checked =
        std::process::Command::new(&shipped).args(["check", "job.gaf"]).current_dir(&w.0).output().unwrap();
    assert!(checked.status.success(), "{}", String::from_utf8_lossy(&checked.stderr));
    let roles = seen["roles"].as_array().unwrap();
    assert_eq!(roles.len(), 1, "{roles:?}");
    assert!(roles[0]["policy"]
        .as_str()
        .unwrap()
        .contains("arn:aws:s3:::gaform-123456789012-us-west-2/stacks/job/aws_west/*"));
    // A head replaces lost workers: it may start instances only tagged with its stack, from
    // its stack's launch templates, passing only its own role.
    let policy: serde_json::Value = serde_json::from_str(roles[0]["policy"].as_str().unwrap()).unwrap();
    let statements = policy["Statement"].as_array().unwrap();
    let allowing = |action: &str| -> Vec<&serde_json::Value> {
        statements
            .iter()
            .filter(|s| {
                s["Action"] == action || s["Action"].as_array().is_some_and(|a| a.iter().any(|x| x == action))
            })
            .collect()
    };
    let fleet = allowing("ec2:CreateFleet");
    assert_eq!(fleet.len(), 1, "{policy:#}");
    assert_eq!(fleet[0]["Condition"]["StringEquals"]["aws:RequestTag/gaform:stack"], "job", "{policy:#}");
    let from_templates = allowing("ec2:RunInstances");
    assert!(
        from_templates.iter().any(|s| s["Resource"] == "arn:aws:ec2:*:*:launch-template/*"
            && s["Condition"]["StringEquals"]["aws:ResourceTag/gaform:stack"] == "job"),
        "{policy:#}"
    );
    assert_eq!(
        allowing("iam:PassRole")[0]["Resource"],
        "arn:aws:iam::*:role/gaform/job/gaform-job-aws_west",
        "{policy:#}"
    );
    assert_eq!(
        allowing("ec2:CreateTags")[0]["Condition"]["StringEquals"]["ec2:CreateAction"],
        serde_json::json!(["CreateFleet", "RunInstances"])
    );

    let again = run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    let destroy = run(&w, &moto, &["destroy", "job.gaf", "--auto-approve"]);
    assert_eq!(destroy.status.code(), Some(0), "{}", text(&destroy));
    let seen = moto.list("us-west-2");
    for kind in ["instances", "security_groups", "launch_templates", "roles"] {
        assert_eq!(seen[kind].as_array().unwrap().len(), 0, "{kind}: {seen}");
    }
    // The books outlive the stack, as the local cloud's records do: its ledger (every
    // start ended) and the budgets last handed over.
    for key in seen["objects"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()) {
        let books = ["ledger/", "budgets/", "events/"].map(|p| format!("stacks/job/aws_west/{p}"));
        assert!(books.iter().any(|b| key.starts_with(b.as_str())), "{key} is left: {seen}");
    }
}

/// One worker, one island of five generations: a job small enough to run on one worker here.
const TINY: &str = r#"
cloud west { provider = aws  region = "us-west-2" }
compute c {
  cloud = west
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  min = 1  max = 1 }
}
job tiny {
  compute     = c
  data        = "GOOG_wiki.csv"
  strategy    = sma_crossover(fast = 2..20, slow = 10..60)
  population  = 20
  generations = 5
  islands     = 1
  seed        = 5
}
"#;

#[test]
fn a_handed_over_job_runs_on_a_worker_through_its_s3_store() {
    let moto = Moto::start();
    let w = Workspace::new("aws-worker", TINY);
    let apply = run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    // What a worker instance runs once booted (emulated instances run nothing): the island,
    // with its store, migrants and checkpoints on S3.
    let store = "s3://gaform-123456789012-us-west-2/stacks/job/west/jobs/tiny/store";
    run_worker(&w, &moto, store, "0");
    let objects = moto.list("us-west-2")["objects"].clone();
    assert!(
        objects
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "stacks/job/west/jobs/tiny/store/islands/0/gen-000005.json"),
        "the final checkpoint is on S3: {objects}"
    );
    // The same job run on this machine gives the same final island.
    ok(&w.gaform(&["run", "job.gaf", "--out", "local"], &[]));
    let local = w.read("local/store/islands/0/gen-000005.json");
    let on_s3 = aws_object(
        &moto,
        "gaform-123456789012-us-west-2",
        "stacks/job/west/jobs/tiny/store/islands/0/gen-000005.json",
    );
    assert_eq!(without_seconds(&local), without_seconds(&on_s3), "checkpoints agree but for wall-clock time");
}

/// Runs `gaform worker` for one island of the job whose store is `store` on moto's S3: what
/// a worker instance runs once booted (emulated instances run nothing).
fn run_worker(w: &Workspace, moto: &Moto, store: &str, island: &str) {
    let mut env = moto.env();
    env.push(("AWS_REGION", "us-west-2".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let worker = w.gaform(&["worker", "--store", store, "--island", island], &env);
    assert_eq!(worker.status.code(), Some(0), "{}", text(&worker));
}

/// A checkpoint without its wall-clock timings, the one thing two runs do not share.
fn without_seconds(checkpoint: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(checkpoint).unwrap();
    v.as_object_mut().unwrap().remove("seconds");
    v
}

#[test]
fn a_walk_forward_job_over_two_files_runs_its_folds_through_the_s3_store() {
    let moto = Moto::start();
    let job = TINY
        .replace("job tiny {", "job folds {")
        .replace(
            "  data        = \"GOOG_wiki.csv\"\n",
            "  data        = [\"GOOG_wiki.csv\", \"IBM_wiki.csv\"]\n  aggregate   = min\n",
        )
        .replace(
            "  seed        = 5\n}",
            "  seed        = 5\n  walk_forward {\n    train = 1000\n    test  = 500\n  }\n}",
        );
    assert!(job.contains("IBM_wiki.csv") && job.contains("walk_forward"), "{job}");
    let w = Workspace::new("aws-folds", &job);
    std::fs::copy(root().join("examples/data/IBM_wiki.csv"), w.0.join("IBM_wiki.csv")).unwrap();
    let plan = run(&w, &moto, &["plan", "job.gaf"]);
    assert!(text(&plan).contains("folds       = 2"), "{}", text(&plan));
    let apply = run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    assert!(text(&apply).contains("2 island(s) on"), "one island per fold: {}", text(&apply));
    // Every unit of work (island 0 of each fold), as the worker instance would run them.
    let store = "s3://gaform-123456789012-us-west-2/stacks/job/west/jobs/folds/store";
    for unit in ["0", "1"] {
        run_worker(&w, &moto, store, unit);
    }
    ok(&w.gaform(&["run", "job.gaf", "--out", "local"], &[]));
    for unit in [0, 1] {
        let key = format!("stacks/job/west/jobs/folds/store/islands/{unit}/gen-000005.json");
        let on_s3 = aws_object(&moto, "gaform-123456789012-us-west-2", &key);
        let local = w.read(&format!("local/store/islands/{unit}/gen-000005.json"));
        assert_eq!(
            without_seconds(&local),
            without_seconds(&on_s3),
            "fold {unit}: the same island on S3 as here"
        );
    }
}

pub(crate) fn aws_object(moto: &Moto, bucket: &str, key: &str) -> String {
    moto.python(
        "import boto3,sys; s3=boto3.client('s3',region_name='us-west-2',endpoint_url=sys.argv[1],aws_access_key_id='t',aws_secret_access_key='t'); sys.stdout.write(s3.get_object(Bucket=sys.argv[2],Key=sys.argv[3])['Body'].read().decode())",
        &[&moto.endpoint(), bucket, key],
    )
    .unwrap_or_default()
}

/// A two-worker job on aws, small enough to run here in a few seconds.
pub(crate) const DUO: &str = r#"
cloud west { provider = aws  region = "us-west-2" }
compute c {
  cloud = west
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  min = 2  max = 2 }
}
job duo {
  compute     = c
  data        = "GOOG_wiki.csv"
  strategy    = rsi_reversion(period = 2..30, lower = 10..45, upper = 55..90)
  population  = 30
  generations = 10
  migration { every = 5  count = 2 }
  seed        = 8
}
"#;

pub(crate) const DUO_STACK: &str = "s3://gaform-123456789012-us-west-2/stacks/job/west";

/// The emulator's instance ids at `address`.
pub(crate) fn instance_ids(moto: &Moto, address: &str) -> Vec<String> {
    moto.instances_of("us-west-2", address)
}

/// Boots here the head and every worker of DUO's compute `c`, as their user data would.
pub(crate) fn boot_compute(w: &Workspace, moto: &Moto) -> Vec<std::process::Child> {
    let head = instance_ids(moto, "compute.c.head").remove(0);
    let mut agents = vec![boot(w, moto, "head", "compute.c.head", &head)];
    for id in instance_ids(moto, "compute.c.workers.cpu") {
        agents.push(boot(w, moto, "worker", "compute.c.workers.cpu", &id));
    }
    agents
}

/// Runs here what an instance's user data starts (emulated instances run nothing).
pub(crate) fn boot(w: &Workspace, moto: &Moto, role: &str, address: &str, id: &str) -> std::process::Child {
    boot_with(w, moto, role, address, id, &[])
}

/// `boot`, with more environment (`GAFORM_TICK`, as the user data exports it).
pub(crate) fn boot_with(
    w: &Workspace,
    moto: &Moto,
    role: &str,
    address: &str,
    id: &str,
    more: &[(&'static str, &str)],
) -> std::process::Child {
    let mut env = moto.env();
    env.push(("AWS_REGION", "us-west-2".into()));
    // Servers in tests listen on loopback only (a head's metrics).
    env.push(("GAFORM_METRICS_BIND", "127.0.0.1".into()));
    env.extend(more.iter().map(|(k, v)| (*k, v.to_string())));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut args = vec![role, "--s3-stack", DUO_STACK, "--address", address, "--instance-id", id];
    if role == "worker" {
        args.extend(["--threads", "1"]);
    }
    w.command(&args, &env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs `code` in boto3 against the emulator (`kw` holds the client arguments); what it
/// printed.
pub(crate) fn boto(moto: &Moto, code: &str) -> String {
    let code = format!("import boto3,sys\nkw=dict(region_name='us-west-2',endpoint_url=sys.argv[1],aws_access_key_id='t',aws_secret_access_key='t')\n{code}");
    moto.python(&code, &[&moto.endpoint()]).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn instances_simulated_here_run_the_job_and_apply_fetches_its_results() {
    let moto = Moto::start();
    let w = Workspace::new("aws-simulated", DUO);
    let apply = run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply));
    let mut agents = boot_compute(&w, &moto);
    let attached = run(&w, &moto, &["apply", "job.gaf", "--auto-approve"]);
    assert_eq!(attached.status.code(), Some(0), "{}", text(&attached));
    assert!(text(&attached).contains("duo: best rsi_reversion("), "{}", text(&attached));
    for agent in &mut agents {
        assert!(agent.wait().unwrap().success());
    }
    assert_eq!(
        moto.list("us-west-2")["instances"].as_array().unwrap().len(),
        0,
        "the head terminated its compute"
    );
    ok(&w.gaform(&["run", "job.gaf", "--out", "local"], &[]));
    for file in ["best.json", "generations.csv", "hall_of_fame.csv", "fitness.svg"] {
        assert_eq!(w.read(&format!("results/duo/{file}")), w.read(&format!("local/{file}")), "{file}");
    }
    let after = run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]);
    assert_eq!(after.status.code(), Some(0), "a finished job is done on aws too: {}", text(&after));
}

#[test]
fn an_apply_after_the_job_finished_on_its_instances_fetches_the_results() {
    let moto = Moto::start();
    let w = Workspace::new("aws-finished-before-apply", DUO);
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    let mut agents = boot_compute(&w, &moto);
    // The whole run ends before the next apply looks (a short job can).
    for agent in &mut agents {
        assert!(agent.wait().unwrap().success());
    }
    let attached = run(&w, &moto, &["apply", "job.gaf", "--auto-approve"]);
    assert_eq!(attached.status.code(), Some(0), "{}", text(&attached));
    assert!(text(&attached).contains("duo: best rsi_reversion("), "{}", text(&attached));
    assert_eq!(
        w.read("results/duo/best.json"),
        aws_object(&moto, "gaform-123456789012-us-west-2", "stacks/job/west/jobs/duo/results/best.json")
    );
    let again = run(&w, &moto, &["apply", "job.gaf", "--auto-approve"]);
    assert!(!text(&again).contains("Waiting for"), "fetched once: {}", text(&again));
}

#[test]
fn a_dead_workers_islands_go_to_its_replacement() {
    let moto = Moto::start();
    let w = Workspace::new("aws-replace", DUO);
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    let workers = instance_ids(&moto, "compute.c.workers.cpu");
    // Worker 1 claimed island 1, then its instance died (a spot reclaim, say).
    boto(
        &moto,
        &format!(
            "boto3.client('s3',**kw).put_object(Bucket='gaform-123456789012-us-west-2',Key='stacks/job/west/jobs/duo/claims/island-1',Body=b'{dead}')\n\
             boto3.client('ec2',**kw).terminate_instances(InstanceIds=['{dead}'])",
            dead = workers[1]
        ),
    );
    let plan = run(&w, &moto, &["plan", "job.gaf"]);
    assert!(text(&plan).contains("will be scaled ([1] not running)"), "{}", text(&plan));
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    let now = instance_ids(&moto, "compute.c.workers.cpu");
    let replacement = now.iter().find(|id| !workers.contains(id)).unwrap().clone();
    let head = instance_ids(&moto, "compute.c.head").remove(0);
    let mut agents = vec![
        boot(&w, &moto, "head", "compute.c.head", &head),
        boot(&w, &moto, "worker", "compute.c.workers.cpu", &workers[0]),
        boot(&w, &moto, "worker", "compute.c.workers.cpu", &replacement),
    ];
    let attached = run(&w, &moto, &["apply", "job.gaf", "--auto-approve"]);
    assert_eq!(attached.status.code(), Some(0), "{}", text(&attached));
    for agent in &mut agents {
        assert!(agent.wait().unwrap().success());
    }
    ok(&w.gaform(&["run", "job.gaf", "--out", "local"], &[]));
    assert_eq!(
        w.read("results/duo/best.json"),
        w.read("local/best.json"),
        "the same result as an unkilled run"
    );
}

#[test]
fn a_job_past_its_max_runtime_on_aws_is_stopped_with_its_results_so_far() {
    let moto = Moto::start();
    // Far more generations than two seconds hold: only the limit ends it.
    let gaf = DUO.replace("  generations = 10\n", "  generations = 20000\n  max_runtime = 2s\n");
    let w = Workspace::new("aws-max-runtime", &gaf);
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    let mut agents = boot_compute(&w, &moto);
    for agent in &mut agents {
        assert!(agent.wait().unwrap().success());
    }
    assert_eq!(moto.list("us-west-2")["instances"].as_array().unwrap().len(), 0, "the compute is gone");
    let bucket = "gaform-123456789012-us-west-2";
    let record = aws_object(&moto, bucket, "stacks/job/west/jobs/duo/record.json");
    assert!(record.contains("timed_out"), "{record}");
    let best = aws_object(&moto, bucket, "stacks/job/west/jobs/duo/results/best.json");
    assert!(best.contains("stopped by max_runtime = 2s"), "the results so far say why: {best}");
    let report = aws_object(&moto, bucket, "stacks/job/west/jobs/duo/results/report.html");
    assert!(report.contains("max_runtime"), "{report}");
    // Why the work stopped, and why the compute went, are in the event log.
    let events = text(&run(&w, &moto, &["events", "--json", "job.gaf"]));
    assert!(events.contains("\"event\":\"job_timed_out\",\"job\":\"duo\",\"max_runtime\":2.0"), "{events}");
    assert!(events.contains("\"event\":\"compute_ended\",\"compute\":\"c\",\"instances\":3"), "{events}");
}
