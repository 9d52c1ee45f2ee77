//! One apply converges on aws (issue 17), against moto through the real SDK: a change that
//! mixes a new count with new attributes or a new cloud tag leaves every kept instance and
//! template as the plan showed, so the next plan has nothing to do.

use crate::aws::{run, text};
use crate::fault_proxy::{Faults, Proxy};
use crate::moto::Moto;
use crate::support::{ok, Workspace};

fn stack(team: &str, count: u32, instance_type: &str) -> String {
    format!(
        r#"
cloud west {{
  provider = aws
  region   = "us-west-2"
  tags {{
    team = "{team}"
  }}
}}
compute c {{
  cloud = west
  head {{ instance_type = "m5.large" }}
  workers cpu {{
    instance_type = "{instance_type}"
    min           = {count}
    max           = {count}
  }}
}}
"#
    )
}

/// Applies `file` once, then says whether the next plan is clean (its text when not).
fn apply_then_plan(w: &Workspace, moto: &Moto, file: &str) -> Result<(), String> {
    std::fs::write(w.0.join("job.gaf"), file).unwrap();
    ok(&run(w, moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    let plan = run(w, moto, &["plan", "job.gaf", "--detailed-exitcode"]);
    match plan.status.code() {
        Some(0) => Ok(()),
        _ => Err(text(&plan)),
    }
}

#[test]
fn a_scale_with_a_new_cloud_tag_converges_in_one_apply() {
    let moto = Moto::start();
    let w = Workspace::new("aws-converge-scale", &stack("a", 3, "c5.large"));
    apply_then_plan(&w, &moto, &stack("a", 3, "c5.large")).unwrap();
    apply_then_plan(&w, &moto, &stack("b", 6, "c5.large")).unwrap_or_else(|plan| panic!("{plan}"));
    let seen = moto.list("us-west-2");
    let instances = seen["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 7, "{seen}");
    for i in instances {
        assert_eq!(i["tags"]["team"], "b", "every instance carries the new cloud tag: {i}");
        if i["tags"]["gaform:address"] == "compute.c.workers.cpu" {
            assert_eq!(i["tags"]["gaform:attr:min"], "6", "kept workers carry the new min: {i}");
        }
    }
    // Only the tag, then back down with it: still one apply each.
    apply_then_plan(&w, &moto, &stack("c", 6, "c5.large")).unwrap_or_else(|plan| panic!("{plan}"));
    apply_then_plan(&w, &moto, &stack("d", 2, "c5.large")).unwrap_or_else(|plan| panic!("{plan}"));
}

#[test]
fn a_new_type_with_a_new_count_converges_in_one_apply() {
    let moto = Moto::start();
    let w = Workspace::new("aws-converge-type", &stack("a", 3, "c5.large"));
    apply_then_plan(&w, &moto, &stack("a", 3, "c5.large")).unwrap();
    apply_then_plan(&w, &moto, &stack("a", 5, "c5.xlarge")).unwrap_or_else(|plan| panic!("{plan}"));
    let types: Vec<String> = moto.list("us-west-2")["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["tags"]["gaform:address"] == "compute.c.workers.cpu")
        .map(|i| i["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, vec!["c5.xlarge"; 5]);
}

#[test]
fn two_jobs_on_one_compute_run_in_one_apply_on_aws() {
    let moto = Moto::start();
    let two = format!(
        "{}{}",
        crate::aws::DUO,
        r#"
job solo {
  compute     = c
  data        = "GOOG_wiki.csv"
  strategy    = sma_crossover(fast = 2..50, slow = 10..200)
  population  = 30
  generations = 10
  seed        = 3
}
"#
    );
    let w = Workspace::new("aws-converge-two-jobs", &two);
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    let mut agents = crate::aws::boot_compute(&w, &moto);
    let attached = text(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve"]));
    for agent in &mut agents {
        assert!(agent.wait().unwrap().success());
    }
    for job in ["duo", "solo"] {
        assert!(attached.contains(&format!("{job}: best ")), "apply reports {job}:\n{attached}");
        assert!(w.0.join(format!("results/{job}/best.json")).exists(), "{job}'s results");
    }
    let plan = run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]);
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
}

/// The property against moto: after any random edit, one `apply` (after a cut one, every
/// fourth edit) then `plan --detailed-exitcode` gives 0; `destroy` at the end leaves nothing
/// tagged. Jobs are handed over (`--detach`; no instance runs them here).
/// `GAFORM_CONVERGE_STEPS` and `GAFORM_CONVERGE_SEED` make a longer or another run.
#[test]
fn random_edits_converge_in_one_apply_each_on_aws() {
    let moto = Moto::start();
    let stack = crate::edits::Stack::new(true, crate::edits::seed());
    let w = Workspace::new("aws-converge-random", &stack.render());
    crate::edits::converge(&w, stack, |step| {
        // Every fourth edit is first applied through a connection cut after a few writes
        // (EC2 did the work, its answer never came): the apply after it must converge.
        let mut cut = String::new();
        if step % 4 == 3 {
            let faults = Faults { cut_at_write: Some(1 + step as u32 % 3), ..Faults::default() };
            let proxy = Proxy::start(moto.port, faults);
            let args = ["apply", "job.gaf", "--auto-approve", "--detach"];
            cut = text(&crate::aws::via(&w, &moto, &proxy, Some("1"), &args));
        }
        let applied = run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]);
        let plan = run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]);
        match (applied.status.success(), plan.status.code()) {
            (true, Some(0)) => Ok(()),
            _ => Err(format!("cut apply:\n{cut}\napply:\n{}\nplan:\n{}", text(&applied), text(&plan))),
        }
    });
    ok(&run(&w, &moto, &["destroy", "job.gaf", "--auto-approve"]));
    let seen = moto.list("us-west-2");
    for kind in ["instances", "security_groups", "launch_templates"] {
        assert_eq!(seen[kind].as_array().map(Vec::len), Some(0), "{kind} left: {seen}");
    }
}

/// Found by the property test: CreateTags only adds, so an attribute the file dropped stayed
/// on the instances and the plan showed it again after every apply.
#[test]
fn an_attribute_dropped_from_the_file_leaves_the_instances_too() {
    let moto = Moto::start();
    let with = stack("a", 2, "c5.large")
        .replace("compute c {\n  cloud = west\n", "compute c {\n  cloud = west\n  auto_terminate = 30m\n");
    let w = Workspace::new("aws-converge-dropped", &with);
    apply_then_plan(&w, &moto, &with).unwrap();
    apply_then_plan(&w, &moto, &stack("a", 2, "c5.large")).unwrap_or_else(|plan| panic!("{plan}"));
    let head = moto.list("us-west-2")["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["tags"]["gaform:address"] == "compute.c.head")
        .cloned()
        .unwrap();
    assert!(head["tags"].get("gaform:attr:auto_terminate").is_none(), "{head}");
}
