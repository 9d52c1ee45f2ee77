//! A head on aws heals its compute (moto, through the real SDK clients): a worker lost
//! mid-job is replaced by the head's own fleet request, with no `apply`; a worker EC2 gives
//! notice (through a stand-in metadata service) saves its islands mid-epoch, lets go of
//! them and tells its head, which starts the replacement before it goes. Either way the
//! replacement takes the islands over and the result is the bytes of an undisturbed run.

use crate::aws::{aws_object, boot, boot_with, boto, instance_ids, run, text};
use crate::aws_budgets::{objects, wait_for};
use crate::imds::Imds;
use crate::moto::Moto;
use crate::support::{ok, Background, Workspace};
use std::time::{Duration, Instant};

const BUCKET: &str = "gaform-123456789012-us-west-2";
const JOB: &str = "stacks/job/west/jobs/duo";

/// The healed job's generations per island.
pub(crate) const GENERATIONS: u64 = 1200;

/// Two on-demand workers, four islands of [`GENERATIONS`] generations: each worker runs
/// two, for long enough (tens of seconds against moto) to be interrupted mid-job with time
/// to spare. Islands meet every 10 generations, not 5: each meeting is a handful of S3
/// requests per island, and moto serving them was the suite's largest use of CPU.
pub(crate) fn healed() -> String {
    crate::aws::DUO
        .replace("  generations = 10\n", &format!("  generations = {GENERATIONS}\n  islands     = 4\n"))
        .replace("migration { every = 5 ", "migration { every = 10 ")
}

/// Who holds each of the job's four islands (`released by …` once let go of).
fn claims(moto: &Moto) -> Vec<String> {
    (0..4).map(|i| aws_object(moto, BUCKET, &format!("{JOB}/claims/island-{i}"))).collect()
}

/// The islands `holder` claims.
fn islands_of(moto: &Moto, holder: &str) -> Vec<u64> {
    claims(moto).iter().enumerate().filter(|(_, h)| *h == holder).map(|(i, _)| i as u64).collect()
}

/// Waits for both workers' claims and the job's first checkpoint: the job is under way.
fn under_way(moto: &Moto, workers: &[String]) {
    wait_for("both workers' claims and a first checkpoint", Duration::from_secs(90), || {
        let held = claims(moto);
        workers.iter().all(|id| held.contains(id))
            && !aws_object(moto, BUCKET, &format!("{JOB}/store/islands/0/latest.json")).is_empty()
    });
}

/// Waits for a worker that is none of `workers`; its id.
fn a_new_worker(moto: &Moto, workers: &[String]) -> String {
    let mut new = None;
    wait_for("a new worker", Duration::from_secs(60), || {
        new = instance_ids(moto, "compute.c.workers.cpu").into_iter().find(|id| !workers.contains(id));
        new.is_some()
    });
    new.unwrap()
}

/// Boots the head with a 1 s tick, its EC2 calls (and no other) through `proxy`: the SDK's
/// per-service endpoint.
pub(crate) fn boot_head_through(
    w: &Workspace,
    moto: &Moto,
    proxy: &crate::fault_proxy::Proxy,
) -> std::process::Child {
    let head_id = instance_ids(moto, "compute.c.head").remove(0);
    let endpoint = proxy.endpoint();
    boot_with(
        w,
        moto,
        "head",
        "compute.c.head",
        &head_id,
        &[("GAFORM_TICK", "1s"), ("AWS_ENDPOINT_URL_EC2", &endpoint)],
    )
}

/// The stack's event log.
fn events(w: &Workspace, moto: &Moto) -> Vec<serde_json::Value> {
    text(&run(w, moto, &["events", "--json", "job.gaf"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `gaform run` of the job here, undisturbed, started beside the test.
pub(crate) fn undisturbed_run(w: &Workspace) -> Background {
    w.gaform_in_background(&["run", "job.gaf", "--out", "undisturbed"])
}

/// The job's `best.json` on S3 is the undisturbed run's.
pub(crate) fn same_as_an_undisturbed_run(w: &Workspace, moto: &Moto, undisturbed: Background) {
    ok(&undisturbed.output());
    assert_eq!(
        aws_object(moto, BUCKET, &format!("{JOB}/results/best.json")),
        w.read("undisturbed/best.json"),
        "the same result as an undisturbed run"
    );
}

/// The head's tick in this test.
const TICK: Duration = Duration::from_secs(2);

#[test]
fn a_worker_lost_mid_job_is_replaced_by_the_head_and_the_result_is_the_same_bytes() {
    let moto = Moto::start();
    let w = Workspace::new("aws-heal", &healed());
    let undisturbed = undisturbed_run(&w);
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    let workers = instance_ids(&moto, "compute.c.workers.cpu");
    assert_eq!(workers.len(), 2, "{workers:?}");
    let head_id = instance_ids(&moto, "compute.c.head").remove(0);
    let mut head = boot_with(&w, &moto, "head", "compute.c.head", &head_id, &[("GAFORM_TICK", "2s")]);
    let mut agents: Vec<_> =
        workers.iter().map(|id| boot(&w, &moto, "worker", "compute.c.workers.cpu", id)).collect();
    under_way(&moto, &workers);

    // The instance of worker 1 dies (EC2 reclaims it): its process and its instance go.
    let dead = workers[1].clone();
    agents.remove(1).kill().unwrap();
    let islands_of_dead = islands_of(&moto, &dead);
    let unfinished = islands_of_dead
        .iter()
        .filter(|i| {
            aws_object(&moto, BUCKET, &format!("{JOB}/store/islands/{i}/gen-{GENERATIONS:06}.json"))
                .is_empty()
        })
        .count();
    boto(&moto, &format!("boto3.client('ec2',**kw).terminate_instances(InstanceIds=['{dead}'])"));
    let lost_at = Instant::now();
    let replacement = a_new_worker(&moto, &workers);
    let took = lost_at.elapsed();
    println!("from the loss to the replacement's request: {:.2} s at a {TICK:?} tick", took.as_secs_f64());
    assert!(took <= TICK * 3, "requested within two ticks (and the listing's latency): {took:?}");
    assert!(unfinished > 0, "lost mid-job: {islands_of_dead:?} had work left");
    // What the instance's user data would start, here.
    agents.push(boot(&w, &moto, "worker", "compute.c.workers.cpu", &replacement));

    assert!(head.wait().unwrap().success());
    for agent in &mut agents {
        assert!(agent.wait().unwrap().success());
    }
    assert_eq!(
        islands_of(&moto, &replacement),
        islands_of_dead,
        "the lost worker's islands went to the replacement"
    );
    assert_eq!(
        moto.list("us-west-2")["instances"].as_array().unwrap().len(),
        0,
        "the job ended; so did its compute"
    );
    let events = events(&w, &moto);
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["replaced", "compute_ended"], "one replacement, once: {events:#?}");
    let e = &events[0];
    assert_eq!(
        (&e["event"], &e["group"], &e["requested"]),
        (&"replaced".into(), &"compute.c.workers.cpu".into(), &1.into())
    );
    assert_eq!(e["lost"], serde_json::json!([dead]), "{e}");
    let reason = e["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("compute.c.workers.cpu[{dead}] gone (1 of 2 running): requested 1 in their place (started 1 on-demand)")),
        "{reason}"
    );
    // Billed: the head, the two workers and the replacement, each start ended.
    let ledger = objects(&moto, "stacks/job/west/ledger/");
    let mut billed: Vec<&str> = ledger.iter().map(|e| e["instance"].as_str().unwrap()).collect();
    billed.sort_unstable();
    let mut started = vec![head_id.as_str(), &workers[0], &workers[1], &replacement];
    started.sort_unstable();
    assert_eq!(billed, started, "{ledger:#?}");
    assert!(ledger.iter().all(|e| !e["ended_at"].is_null()), "{ledger:#?}");

    same_as_an_undisturbed_run(&w, &moto, undisturbed);
}

/// The same job on spot workers that fall back to on-demand.
pub(crate) fn on_spot() -> String {
    healed()
        .replace(
            "compute c {",
            "spot_policy cheap {\n  market   = spot\n  fallback = on_demand\n}\ncompute c {",
        )
        .replace("max = 2 }", "max = 2  spot = cheap }")
}

/// A job on two spot workers under way, each with its own stand-in metadata service, and
/// a head with a long tick: what the tests see comes from the notices, not from its ticks.
struct OnSpot {
    moto: Moto,
    w: Workspace,
    workers: Vec<String>,
    metadata: Vec<Imds>,
    head: std::process::Child,
    agents: Vec<std::process::Child>,
    /// The reference run, started with the job; taken by the comparison.
    undisturbed: Option<Background>,
}

fn under_way_on_spot(name: &str) -> OnSpot {
    let moto = Moto::start();
    let w = Workspace::new(name, &on_spot());
    let undisturbed = Some(undisturbed_run(&w));
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    let workers = instance_ids(&moto, "compute.c.workers.cpu");
    assert_eq!(workers.len(), 2, "{workers:?}");
    let head_id = instance_ids(&moto, "compute.c.head").remove(0);
    let head = boot_with(&w, &moto, "head", "compute.c.head", &head_id, &[("GAFORM_TICK", "30s")]);
    let metadata: Vec<Imds> = workers.iter().map(|id| Imds::start(id)).collect();
    let agents = workers
        .iter()
        .zip(&metadata)
        .map(|(id, imds)| boot_with(&w, &moto, "worker", "compute.c.workers.cpu", id, &[imds.env()]))
        .collect();
    under_way(&moto, &workers);
    OnSpot { moto, w, workers, metadata, head, agents, undisturbed }
}

impl OnSpot {
    /// The job's result on S3 is the undisturbed run's.
    fn same_as_an_undisturbed_run(&mut self) {
        let undisturbed = self.undisturbed.take().expect("compared once");
        same_as_an_undisturbed_run(&self.w, &self.moto, undisturbed);
    }

    /// Waits for the head and the workers left to end well.
    fn ends(&mut self) {
        assert!(self.head.wait().unwrap().success());
        for agent in &mut self.agents {
            assert!(agent.wait().unwrap().success());
        }
    }
}

#[test]
fn a_spot_notice_saves_the_workers_islands_and_its_replacement_starts_before_it_goes() {
    let mut run_ = under_way_on_spot("aws-notice");
    let OnSpot { moto, workers, metadata, .. } = &run_;
    assert!(metadata[1].asked("/latest/meta-data/spot/instance-action") > 0, "the worker asks with a token");

    let leaving = workers[1].clone();
    let islands_of_leaving = islands_of(moto, &leaving);
    metadata[1].interrupt("2026-12-02T10:02:00Z");
    let noticed_at = Instant::now();
    let replacement = a_new_worker(moto, workers);
    let requested = noticed_at.elapsed();
    let notice_key = format!("stacks/job/west/notices/{leaving}-interruption.json");
    wait_for("the islands saved and let go of", Duration::from_secs(60), || {
        aws_object(moto, BUCKET, &notice_key).contains("handed_over_at\": 1")
    });
    let handed_over = noticed_at.elapsed();
    println!(
        "from the notice: replacement requested after {:.2} s, islands saved and let go of after {:.2} s",
        requested.as_secs_f64(),
        handed_over.as_secs_f64()
    );
    assert!(
        requested <= Duration::from_secs(10),
        "AWS gives 120 s; the replacement is asked for within 10: {requested:?}"
    );
    assert!(handed_over <= Duration::from_secs(30), "saved within 30 s: {handed_over:?}");
    let mut agents = std::mem::take(&mut run_.agents);
    assert!(agents.remove(1).wait().unwrap().success(), "the worker leaves once it has handed over");
    let OnSpot { moto, w, .. } = &run_;
    let held = claims(moto);
    // Each island saved where it was (`interrupted.json`) unless it was waiting at an epoch
    // end for its neighbour, whose checkpoint is that place: which one is timing (the
    // runtime's tests check that both resume to the same bytes).
    for i in &islands_of_leaving {
        assert!(held[*i as usize].starts_with("released by "), "island {i}: {held:?}");
    }
    // Two minutes later EC2 takes it; the replacement has been running since.
    boto(moto, &format!("boto3.client('ec2',**kw).terminate_instances(InstanceIds=['{leaving}'])"));
    agents.push(boot(w, moto, "worker", "compute.c.workers.cpu", &replacement));
    run_.agents = agents;
    run_.ends();
    let OnSpot { moto, w, .. } = &run_;
    assert_eq!(
        islands_of(moto, &replacement),
        islands_of_leaving,
        "the islands went to the replacement {replacement}; the claims: {:?}; the events: {:#?}",
        claims(moto),
        events(w, moto)
    );
    let events = events(w, moto);
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["interruption_notice", "replaced", "compute_ended"], "{events:#?}");
    assert_eq!(
        (&events[0]["instance"], &events[0]["notice"]),
        (&leaving.clone().into(), &"interruption".into())
    );
    let reason = events[1]["reason"].as_str().unwrap();
    assert!(
        reason.contains(&format!("compute.c.workers.cpu[{leaving}] given notice (1 of 2 running): requested 1 in their place (started 1 spot)")),
        "{reason}"
    );
    run_.same_as_an_undisturbed_run();
}

#[test]
fn a_rebalance_recommendation_starts_the_replacement_early_and_it_takes_over_at_the_notice() {
    let mut run_ = under_way_on_spot("aws-rebalance");
    // The other worker is held still, so that the one at risk (whose islands take migrants
    // from it) cannot finish before its notice: it waits at its next epoch end.
    let other = run_.agents[0].id().to_string();
    let signal = |sig: &str| {
        assert!(std::process::Command::new("kill").args([sig, &other]).status().unwrap().success())
    };
    signal("-STOP");
    let OnSpot { moto, w, workers, metadata, .. } = &run_;
    let at_risk = workers[1].clone();
    let islands_of_at_risk = islands_of(moto, &at_risk);
    metadata[1].recommend_rebalance("2026-12-02T10:00:00Z");
    let replacement = a_new_worker(moto, workers);
    // It boots while the worker at risk still runs its islands: it finds none to take.
    let replacement_metadata = Imds::start(&replacement);
    let early =
        boot_with(w, moto, "worker", "compute.c.workers.cpu", &replacement, &[replacement_metadata.env()]);
    std::thread::sleep(Duration::from_secs(3));
    let still_held = !claims(moto).contains(&replacement);

    metadata[1].interrupt("2026-12-02T10:05:00Z");
    let noticed_at = Instant::now();
    wait_for("the replacement taking the islands over", Duration::from_secs(60), || {
        islands_of(moto, &replacement) == islands_of_at_risk
    });
    println!(
        "from the interruption notice to the early replacement running the islands: {:.2} s",
        noticed_at.elapsed().as_secs_f64()
    );
    let mut agents = std::mem::take(&mut run_.agents);
    assert!(agents.remove(1).wait().unwrap().success(), "the worker at risk leaves once it has handed over");
    let OnSpot { moto, .. } = &run_;
    boto(moto, &format!("boto3.client('ec2',**kw).terminate_instances(InstanceIds=['{at_risk}'])"));
    signal("-CONT");
    assert!(still_held, "the islands stayed the worker's at risk until its notice");
    agents.push(early);
    run_.agents = agents;
    run_.ends();
    let OnSpot { moto, w, .. } = &run_;
    let events = events(w, moto);
    let kinds: Vec<(&str, &str)> =
        events.iter().map(|e| (e["event"].as_str().unwrap(), e["notice"].as_str().unwrap_or(""))).collect();
    assert_eq!(
        kinds,
        [
            ("interruption_notice", "rebalance"),
            ("replaced", ""),
            ("interruption_notice", "interruption"),
            ("compute_ended", "")
        ],
        "one replacement, started at the recommendation: {events:#?}"
    );
    run_.same_as_an_undisturbed_run();
}

/// Runs a head over a group of `workers` (that never boot: the job just runs on) for a few
/// ticks of 1 s, its EC2 calls through the fault proxy; the EC2 actions it made in a window
/// of `window` ticks, by action.
fn head_requests(workers: u64, window: u32) -> std::collections::BTreeMap<String, u32> {
    let moto = Moto::start();
    let gaf = healed().replace("min = 2  max = 2", &format!("min = {workers}  max = {workers}"));
    let w = Workspace::new(&format!("aws-head-requests-{workers}"), &gaf);
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    assert_eq!(instance_ids(&moto, "compute.c.workers.cpu").len() as u64, workers);
    let proxy = crate::fault_proxy::Proxy::start(moto.port, crate::fault_proxy::Faults::default());
    let mut head = boot_head_through(&w, &moto, &proxy);
    // Its first ticks read what it reads once (the group's attributes, on its first tick
    // that finds on-demand workers): let them pass.
    wait_for("the head's first ticks", Duration::from_secs(60), || {
        proxy.count("DescribeLaunchTemplates") > 0
    });
    std::thread::sleep(Duration::from_secs(2));
    proxy.reset_counts();
    std::thread::sleep(Duration::from_secs(u64::from(window)));
    let counts = proxy.state.lock().unwrap().actions.clone();
    head.kill().unwrap();
    head.wait().unwrap();
    counts
}

#[test]
fn the_heads_ec2_requests_per_tick_do_not_grow_with_its_workers() {
    let window = 6;
    // Both sizes at once, each on its own moto: the test is mostly waiting for ticks.
    let sizes = [10, 100];
    let counted: Vec<_> = std::thread::scope(|scope| {
        let counting: Vec<_> =
            sizes.map(|workers| scope.spawn(move || head_requests(workers, window))).into();
        counting.into_iter().map(|c| c.join().expect("a size's run")).collect()
    });
    for (workers, counts) in sizes.into_iter().zip(counted) {
        println!("{workers} workers: EC2 actions in {window} s: {counts:?}");
        // Each tick lists the stack's instances once (moto answers in one page): the count
        // of listings is the count of ticks, and nothing else is asked of EC2.
        let listings = counts.get("DescribeInstances").copied().unwrap_or(0);
        assert!((1..=window + 1).contains(&listings), "{counts:?}");
        assert_eq!(
            counts.keys().collect::<Vec<_>>(),
            ["DescribeInstances"],
            "nothing per instance: {counts:?}"
        );
    }
}
