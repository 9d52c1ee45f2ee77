//! Rendered plans (human and JSON) for the examples against chosen live states: empty,
//! everything up, partial, drifted, over-provisioned and done. `plan::diff` is pure, so
//! each state is plain data written here, not a mocked cloud.

use crate::support::root;
use gaform_compiler::plan::{
    self, render, Addr, Desired, Instance, JobStatus, Kind, Observed, ObservedResource,
};
use gaform_compiler::source::SourceFile;
use gaform_compiler::{CheckOptions, DataFile, Host};

/// Data digests that do not change when a data file is re-downloaded with the same bytes.
struct FixedDigest;

impl Host for FixedDigest {
    fn probe_data(&self, _path: &str) -> Result<DataFile, String> {
        Ok(DataFile::default())
    }

    fn data_digest(&self, paths: &[String]) -> Option<String> {
        Some(format!("sha256-of-{}", paths.join("+")))
    }
}

fn desired_of(text: &str, name: &str) -> Desired {
    let checked = gaform_compiler::check(
        &SourceFile::new(name.to_string(), text.to_string()),
        &FixedDigest,
        &CheckOptions::default(),
    );
    let program = checked.program.unwrap_or_else(|| panic!("{name} checks clean: {:?}", checked.diagnostics));
    plan::desired(&program, &FixedDigest)
}

fn example(name: &str) -> Desired {
    let text = std::fs::read_to_string(root().join("examples").join(name)).unwrap();
    desired_of(&text, &format!("examples/{name}"))
}

/// Everything the file asks for, up and running.
fn up(desired: &Desired) -> Observed {
    let mut observed = Observed::default();
    for r in &desired.resources {
        let count = r.count.as_ref().map_or(0, |c| c.value);
        let instances = (0..count).map(|i| Instance { index: i, id: format!("pid {}", 4000 + i) }).collect();
        observed.resources.insert(
            r.addr.clone(),
            ObservedResource {
                provider: r.provider.clone(),
                cloud: r.cloud.clone(),
                kind: r.kind,
                attributes: r.attributes.clone(),
                instances,
                job: (r.kind == Kind::Job).then_some(JobStatus::Running),
                depends_on: r.depends_on.clone(),
                frozen: None,
                mix: None,
            },
        );
    }
    observed
}

fn partial(desired: &Desired) -> Observed {
    let mut o = up(desired);
    o.resources.retain(|_, r| r.kind != Kind::Job && r.kind != Kind::Head);
    for r in o.resources.values_mut() {
        r.instances.pop();
    }
    o
}

fn drifted(desired: &Desired) -> Observed {
    let mut o = up(desired);
    for r in o.resources.values_mut() {
        match r.kind {
            Kind::Head => {
                r.attributes.insert("instance_type".into(), "m5.xlarge".into());
            }
            Kind::WorkerGroup => {
                r.instances.retain(|i| i.index != 0);
                r.attributes.insert("max".into(), "99".into());
            }
            Kind::Job => {
                r.attributes.insert("population".into(), "7".into());
            }
            _ => {}
        }
    }
    o
}

fn over_provisioned(desired: &Desired) -> Observed {
    let mut o = up(desired);
    for r in o.resources.values_mut().filter(|r| r.kind == Kind::WorkerGroup) {
        let n = r.instances.len() as u64;
        r.instances.push(Instance { index: n, id: "pid 9000".into() });
        r.instances.push(Instance { index: 0, id: "pid 9001".into() });
    }
    let old_head = Addr::head("retired");
    o.resources.insert(
        old_head.clone(),
        ObservedResource {
            provider: "local".into(),
            cloud: String::new(),
            kind: Kind::Head,
            attributes: [("instance_type".to_string(), "m5.large".to_string())].into(),
            instances: vec![Instance { index: 0, id: "pid 7000".into() }],
            job: None,
            depends_on: vec![],
            frozen: None,
            mix: None,
        },
    );
    o.resources.insert(
        Addr::workers("retired", "old"),
        ObservedResource {
            provider: "local".into(),
            cloud: String::new(),
            kind: Kind::WorkerGroup,
            attributes: [("instance_type".to_string(), "c5.large".to_string())].into(),
            instances: vec![Instance { index: 0, id: "pid 7001".into() }],
            job: None,
            depends_on: vec![old_head],
            frozen: None,
            mix: None,
        },
    );
    o
}

fn done(desired: &Desired) -> Observed {
    let mut o = up(desired);
    // A job's compute exits with its jobs; a service's replicas (a local process, or the
    // instances of its own compute on aws) go on serving.
    o.resources.retain(|_, r| {
        !r.kind.is_counted() || r.kind == Kind::Service || r.attributes.contains_key("serves")
    });
    for r in o.resources.values_mut().filter(|r| r.kind == Kind::Job) {
        r.job = Some(JobStatus::Finished);
    }
    o
}

fn human(desired: &Desired, observed: &Observed, file: &str) -> String {
    render::human(&plan::diff(desired, observed, file, "sha"), false)
}

fn json(desired: &Desired, observed: &Observed, file: &str) -> String {
    serde_json::to_string_pretty(&plan::diff(desired, observed, file, "sha")).unwrap()
}

type State = fn(&Desired) -> Observed;
const STATES: [(&str, State); 6] = [
    ("empty", |_| Observed::default()),
    ("up", up),
    ("partial", partial),
    ("drifted", drifted),
    ("over_provisioned", over_provisioned),
    ("done", done),
];

#[test]
fn examples_against_chosen_states() {
    for name in ["quickstart.gaf", "seed-production.gaf"] {
        let desired = example(name);
        for (state, observe) in STATES {
            let observed = observe(&desired);
            insta::assert_snapshot!(format!("human-{name}-{state}"), human(&desired, &observed, name));
        }
        for (state, observe) in [STATES[0], STATES[3]] {
            let observed = observe(&desired);
            insta::assert_snapshot!(format!("json-{name}-{state}"), json(&desired, &observed, name));
        }
    }
    for name in ["breakout.gaf", "rsi-reversion.gaf", "sma-crossover.gaf"] {
        let desired = example(name);
        insta::assert_snapshot!(format!("human-{name}-empty"), human(&desired, &Observed::default(), name));
    }
}

#[test]
fn up_means_no_changes_and_done_means_the_compute_stays_down() {
    for name in
        ["quickstart.gaf", "seed-production.gaf", "breakout.gaf", "rsi-reversion.gaf", "sma-crossover.gaf"]
    {
        let desired = example(name);
        assert!(plan::diff(&desired, &up(&desired), name, "sha").is_empty(), "{name} up");
        let after = plan::diff(&desired, &done(&desired), name, "sha");
        assert!(after.is_empty(), "{name} done: {}", render::human(&after, false));
    }
}

#[test]
fn a_group_frozen_by_a_budget_starts_nothing_in_place_of_its_shed_workers() {
    let desired = example("quickstart.gaf");
    let mut shed = up(&desired);
    let group = shed.resources.values_mut().find(|r| r.kind == Kind::WorkerGroup).unwrap();
    group.instances.pop();
    group.frozen = Some("a budget's scale-down froze the run of job.quickstart".into());
    let plan = plan::diff(&desired, &shed, "quickstart.gaf", "sha");
    assert!(plan.resource_changes.is_empty(), "{}", render::human(&plan, false));
    assert!(
        plan.notes
            .iter()
            .any(|n| n.contains("running; nothing starts in it while a budget's scale-down froze")),
        "{:?}",
        plan.notes
    );
    // Once the run is over (nothing frozen), the missing worker is started again.
    for r in shed.resources.values_mut() {
        r.frozen = None;
    }
    let plan = plan::diff(&desired, &shed, "quickstart.gaf", "sha");
    assert_eq!(plan.resource_changes.len(), 1, "{}", render::human(&plan, false));
    assert_eq!(plan.resource_changes[0].start.len(), 1);
}

#[test]
fn a_budget_cuts_the_worker_count_and_says_why() {
    let text = r#"
cloud west { provider = aws  region = "us-west-2" }
budget lean { amount = $500  period = month  max_cost_per_hour = $2 }
compute c {
  cloud  = west
  budget = lean
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.4xlarge"  max = 8 }
}
job j {
  compute     = c
  data        = "x.csv"
  strategy    = sma_crossover(fast = 2..50, slow = 10..200)
  population  = 100
  generations = 10
  islands     = 6
}
"#;
    let desired = desired_of(text, "lean.gaf");
    let group = desired.get(&Addr::workers("c", "cpu")).unwrap().count.clone().unwrap();
    assert_eq!(
        (group.value, group.reason.as_str()),
        (1, "autoscale: starts at 1; its head sizes it to the work (cut from 6 by budget max_cost_per_hour = $2.00), up to 2 (cut from 8 by budget max_cost_per_hour = $2.00)")
    );
    let job = desired.get(&Addr::job("j")).unwrap();
    assert_eq!(job.attributes["islands"], "6", "the job keeps its islands; two workers share them");
    let fixed = desired_of(&text.replace("max = 8 }", "max = 8  autoscale = false }"), "lean.gaf");
    let group = fixed.get(&Addr::workers("c", "cpu")).unwrap().count.clone().unwrap();
    assert_eq!((group.value, group.reason.as_str()), (2, "cut from 8 by budget max_cost_per_hour = $2.00"));
    insta::assert_snapshot!(human(&desired, &Observed::default(), "lean.gaf"));
}

#[test]
fn deletes_run_in_reverse_dependency_order() {
    let desired = example("quickstart.gaf");
    let plan = plan::destroy(&desired, &up(&desired), "quickstart.gaf", "sha");
    let order: Vec<&str> = plan.resource_changes.iter().map(|c| c.address.as_str()).collect();
    assert_eq!(
        order,
        ["job.quickstart", "compute.here.workers.islands", "compute.here.head", "local.state_dir"]
    );
    let deps: Vec<&[usize]> = plan.resource_changes.iter().map(|c| c.depends_on.as_slice()).collect();
    assert_eq!(
        deps,
        [&[][..], &[0], &[0, 1], &[0, 1, 2]],
        "each delete waits for the deletes of all that need it"
    );
}

#[test]
fn live_quotas_too_small_fail_the_plan_before_any_change() {
    let desired = example("seed-production.gaf");
    let mut observed = Observed::default();
    let quota = |limit: f64, used: f64| gaform_compiler::plan::VcpuQuota {
        name: "standard spot".into(),
        limit,
        used,
    };
    // 20 spot workers of 16 vCPUs at max scale: 320.
    observed.facts.quotas.insert("aws_west/L-34B43A08".into(), quota(400.0, 64.0));
    assert_eq!(plan::quota::check(&desired, &observed), Vec::<String>::new());
    observed.facts.quotas.insert("aws_west/L-34B43A08".into(), quota(400.0, 100.0));
    let over = plan::quota::check(&desired, &observed);
    assert_eq!(
        over,
        ["cloud `aws_west`: the account's standard spot vCPU quota (L-34B43A08) is 400, 100 in use by other instances, so 300 are free; the file needs 320 at max scale. Ask AWS for more, or lower the groups' `max`"]
    );
    // What the stack already runs is its own to resize, not someone else's use.
    let mut running = up(&desired);
    running.facts = observed.facts.clone();
    assert_eq!(plan::quota::check(&desired, &running), Vec::<String>::new());
}

#[test]
fn the_ledgers_spend_shows_beside_each_budget() {
    let text = r#"
cloud west { provider = aws  region = "us-west-2" }
budget lean { amount = $500  period = month }
compute c {
  cloud  = west
  budget = lean
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.4xlarge"  max = 2 }
}
"#;
    let desired = desired_of(text, "spend.gaf");
    let spend = |spent: f64| plan::BudgetSpend {
        spent,
        per_hour: 1.5,
        period_start: 1_796_083_200.0,
        period_end: Some(1_798_761_600.0),
        hours_left: Some(400.0),
        simulated: false,
    };
    let mut observed = Observed::default();
    observed.facts.spend.insert("lean".into(), spend(123.456));
    insta::assert_snapshot!("spend_part_used", human(&desired, &observed, "spend.gaf"));
    observed.facts.spend.insert("lean".into(), spend(500.0));
    insta::assert_snapshot!("spend_used_up", human(&desired, &observed, "spend.gaf"));
}

#[test]
fn a_local_budget_and_the_cost_table_say_one_simulated_rate() {
    let text = r#"
cloud laptop { provider = local }
budget daily { amount = $1  period = day }
compute here {
  cloud  = laptop
  budget = daily
  head { instance_type = "m5.large" }
  workers islands { instance_type = "c5.large"  min = 2  max = 2 }
}
"#;
    let said = human(&desired_of(text, "local.gaf"), &Observed::default(), "local.gaf");
    assert!(said.contains("Cost (USD/hour, simulated at AWS on-demand prices"), "{said}");
    assert!(
        said.contains("  total                                               $0.27       $0.27       $0.27"),
        "{said}"
    );
    assert!(said.contains("at $0.27/hour (simulated) it runs out after 3.8 hours"), "{said}");
}

/// A service on each cloud: on the local cloud one `gaform serve` process after its job; on
/// aws its own compute, whose instances boot into `gaform serve`, and the spec they read.
const SERVICES: &str = r#"
cloud laptop { provider = local }
cloud west { provider = aws  region = "us-west-2" }
compute here {
  cloud = laptop
  head { instance_type = "m5.large" }
  workers w { instance_type = "c5.large"  min = 1  max = 1 }
}
compute c {
  cloud = west
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  min = 2  max = 2 }
}
compute edge {
  cloud = west
  head { instance_type = "m5.large" }
  workers replicas { instance_type = "m5.large"  min = 2  max = 2 }
}
job near {
  compute     = here
  data        = "GOOG_wiki.csv"
  strategy    = sma_crossover(fast = 2..50, slow = 10..200)
  population  = 20
  generations = 2
}
job far {
  compute     = c
  data        = "GOOG_wiki.csv"
  strategy    = sma_crossover(fast = 2..50, slow = 10..200)
  population  = 20
  generations = 2
}
service local-signal {
  job   = near
  route = "/near"
  port  = 8081
}
service aws-signal {
  job        = far
  route      = "/far"
  compute    = edge
  allow_from = ["10.20.0.0/16"]
}
"#;

#[test]
fn services_plan_as_resources_on_both_clouds_and_outlive_their_jobs() {
    let desired = desired_of(SERVICES, "services.gaf");
    insta::assert_snapshot!("human-services-empty", human(&desired, &Observed::default(), "services.gaf"));
    assert!(plan::diff(&desired, &up(&desired), "services.gaf", "sha").is_empty());
    let after = plan::diff(&desired, &done(&desired), "services.gaf", "sha");
    assert!(after.is_empty(), "{}", render::human(&after, false));
}
