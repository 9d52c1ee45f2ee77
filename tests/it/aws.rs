//! The aws provider against moto's EC2 emulator, through the real aws-sdk-ec2 client: the
//! production example's infrastructure planned, applied, verified by an independent client,
//! planned again, changed and destroyed.

use crate::moto::Moto;
use crate::support::{root, Workspace};
use std::process::Output;

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// examples/seed-production.gaf without its job, service and monitor: the infrastructure.
fn production() -> String {
    let text = std::fs::read_to_string(root().join("examples/seed-production.gaf")).unwrap();
    text[..text.find("job momentum-search").unwrap()].to_string()
}

fn run(w: &Workspace, moto: &Moto, args: &[&str]) -> Output {
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
    let head: Vec<_> = instances.iter().filter(|i| i["tags"]["gaform:address"] == "compute.genetic-evolution-cluster.head").collect();
    assert_eq!(head.len(), 1);
    assert_eq!((head[0]["type"].as_str(), head[0]["lifecycle"].as_str()), (Some("m5.2xlarge"), Some("on-demand")));
    let workers: Vec<_> = instances.iter().filter(|i| i["lifecycle"] == "spot").collect();
    assert_eq!(workers.len(), 2, "the group is spot first: {seen}");
    assert_eq!(seen["security_groups"].as_array().unwrap().len(), 1);
    let ingress = &seen["security_groups"][0]["ingress"];
    assert!(!ingress.to_string().contains("0.0.0.0/0"), "no ingress from anywhere: {ingress}");
    assert_eq!(seen["launch_templates"].as_array().unwrap().len(), 3);

    let again = run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));

    std::fs::write(w.0.join("job.gaf"), production().replace("    min            = 2\n", "    min            = 4\n")).unwrap();
    let scale = run(&w, &moto, &["plan", "job.gaf"]);
    assert!(
        text(&scale).contains("# compute.genetic-evolution-cluster.workers.genetic_evolution will be scaled ([2], [3] not running; min changed)"),
        "{}",
        text(&scale)
    );
    std::fs::write(w.0.join("job.gaf"), production().replace(r#"["c5.4xlarge", "c5a.4xlarge", "c6i.4xlarge"]"#, r#"["c6i.4xlarge"]"#))
        .unwrap();
    let replace = run(&w, &moto, &["plan", "job.gaf"]);
    assert!(text(&replace).contains("workers.genetic_evolution must be replaced (instance_type, instance_types cannot change in place)"), "{}", text(&replace));
    let applied = run(&w, &moto, &["apply", "job.gaf", "--auto-approve"]);
    assert_eq!(applied.status.code(), Some(0), "{}", text(&applied));
    let seen = moto.list("us-west-2");
    let types: Vec<&str> = seen["instances"].as_array().unwrap().iter().filter(|i| i["lifecycle"] == "spot").filter_map(|i| i["type"].as_str()).collect();
    assert_eq!(types, ["c6i.4xlarge", "c6i.4xlarge"]);

    let destroy = run(&w, &moto, &["destroy", "job.gaf", "--auto-approve"]);
    assert_eq!(destroy.status.code(), Some(0), "{}", text(&destroy));
    let seen = moto.list("us-west-2");
    assert_eq!(seen["instances"].as_array().unwrap().len(), 0, "{seen}");
    assert_eq!(seen["security_groups"].as_array().unwrap().len(), 0, "{seen}");
    assert_eq!(seen["launch_templates"].as_array().unwrap().len(), 0, "{seen}");
    assert!(seen["fleets"].as_array().unwrap().iter().all(|f| f["state"].as_str().unwrap().starts_with("deleted")), "{seen}");
    let after = run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]);
    assert_eq!(after.status.code(), Some(2));
}
