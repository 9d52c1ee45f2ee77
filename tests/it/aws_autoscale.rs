//! `autoscale` on aws (moto, through the real SDK clients): a job with more islands than its
//! group's `min` starts on `min` workers; the head grows the group toward `max` for the
//! work, deals the islands again over the new workers once they are up, and brings the
//! group back to `min` after the cool-down once the work is done, with no relaunch. The
//! counts are in the event log, and the result is the bytes of a run on one machine.

use crate::aws::{aws_object, boot, boot_with, boto, instance_ids, run, text};
use crate::aws_budgets::wait_for;
use crate::moto::Moto;
use crate::support::{ok, Workspace};
use std::time::{Duration, Instant};

const BUCKET: &str = "gaform-123456789012-us-west-2";
const JOB: &str = "stacks/job/west/jobs/wide";
const GROUP: &str = "compute.c.workers.cpu";

/// Six islands on a group of one to three workers, long enough (tens of seconds on one worker)
/// that the new workers join before it ends; a second group whose job keeps the
/// compute up after the first job is done (its worker is booted only at the end).
const WIDE: &str = r#"
cloud west { provider = aws  region = "us-west-2" }
compute c {
  cloud = west
  head { instance_type = "m5.large" }
  workers cpu  { instance_type = "c5.large"  min = 1  max = 3 }
  workers last { instance_type = "c5.large"  min = 1  max = 1 }
}
job wide {
  compute     = c
  workers     = cpu
  data        = "GOOG_wiki.csv"
  strategy    = rsi_reversion(period = 2..30, lower = 10..45, upper = 55..90)
  population  = 30
  generations = 800
  islands     = 6
  migration { every = 10  count = 2 }
  seed        = 8
}
job after {
  compute     = c
  workers     = last
  data        = "GOOG_wiki.csv"
  strategy    = sma_crossover(fast = 2..50, slow = 10..200)
  population  = 20
  generations = 5
  seed        = 3
}
"#;

/// The stack's events of one kind.
fn events_of(w: &Workspace, moto: &Moto, kind: &str) -> Vec<serde_json::Value> {
    text(&run(w, moto, &["events", "--json", "job.gaf"]))
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == kind)
        .collect()
}

/// Who holds each of the job's six islands (one look, however many islands).
fn holders(moto: &Moto) -> Vec<String> {
    let printed = boto(
        moto,
        &format!(
            "s3=boto3.client('s3',**kw)\n\
             for i in range(6):\n\
             \ttry: print(s3.get_object(Bucket='{BUCKET}',Key=f'{JOB}/claims/island-{{i}}')['Body'].read().decode())\n\
             \texcept s3.exceptions.NoSuchKey: print('')"
        ),
    );
    printed.lines().map(str::to_string).collect()
}

#[test]
fn a_job_wider_than_min_grows_the_group_toward_max_and_it_shrinks_back_to_min_when_done() {
    let moto = Moto::start();
    let w = Workspace::new("aws-autoscale", WIDE);
    let one_machine = w.gaform_in_background(&["run", "job.gaf", "--job", "wide", "--out", "one-machine"]);
    let plan = run(&w, &moto, &["plan", "job.gaf"]);
    assert!(
        text(&plan).contains(
            "count         = 1 (autoscale: starts at min = 1; its head sizes it to the work (max = 3; 6 islands share the workers), up to 3)"
        ),
        "{}",
        text(&plan)
    );
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    let first = instance_ids(&moto, GROUP);
    assert_eq!(first.len(), 1, "apply starts min: {first:?}");
    let head_id = instance_ids(&moto, "compute.c.head").remove(0);
    // A 1 s tick: a 5 s cool-down.
    let mut head = boot_with(&w, &moto, "head", "compute.c.head", &head_id, &[("GAFORM_TICK", "1s")]);
    let mut agents = vec![boot(&w, &moto, "worker", GROUP, &first[0])];
    let started = Instant::now();

    // The head grows the group for six islands: one a worker (30 genomes keep more than a
    // c5.large's two vCPUs busy), at most three.
    wait_for("the group grown to three", Duration::from_secs(60), || instance_ids(&moto, GROUP).len() == 3);
    println!("from the head's start to the growth asked: {:.2} s", started.elapsed().as_secs_f64());
    let grown: Vec<String> =
        instance_ids(&moto, GROUP).into_iter().filter(|id| !first.contains(id)).collect();
    // What the new instances' user data would start, here.
    let mut extra: Vec<_> = grown.iter().map(|id| boot(&w, &moto, "worker", GROUP, id)).collect();
    let booted = Instant::now();
    wait_for("the islands dealt over three workers", Duration::from_secs(60), || {
        let held = holders(&moto);
        [&first[0], &grown[0], &grown[1]].iter().all(|id| held.iter().filter(|h| h == id).count() == 2)
    });
    println!("from the new workers' boot to two islands each: {:.2} s", booted.elapsed().as_secs_f64());
    // A plan now leaves the head's count alone: three is within its range.
    let mid_run = run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]);
    assert_eq!(mid_run.status.code(), Some(0), "no change while the head sizes it:\n{}", text(&mid_run));
    let up = events_of(&w, &moto, "scaled_up");
    assert_eq!(up.len(), 1, "{up:#?}");
    assert_eq!(
        (up[0]["from"].as_u64(), up[0]["to"].as_u64(), up[0]["requested"].as_u64()),
        (Some(1), Some(3), Some(2))
    );
    let dealt = events_of(&w, &moto, "islands_dealt");
    assert_eq!(dealt.len(), 1, "{dealt:#?}");
    assert_eq!(dealt[0]["workers"], 3);

    // The work done, the idle workers go after the cool-down: back to min, and no more.
    wait_for("the job finished", Duration::from_secs(300), || {
        !aws_object(&moto, BUCKET, &format!("{JOB}/results/best.json")).is_empty()
    });
    wait_for("the group back at min", Duration::from_secs(60), || instance_ids(&moto, GROUP).len() == 1);
    let kept = instance_ids(&moto, GROUP);
    // EC2 would end the processes of the instances it terminated.
    for (agent, id) in extra.iter_mut().zip(&grown).chain(agents.iter_mut().zip(&first)) {
        if !kept.contains(id) {
            agent.kill().unwrap();
        }
    }
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(instance_ids(&moto, GROUP), kept, "no relaunch once the work is done");
    let down = events_of(&w, &moto, "scaled_down");
    let shed: u64 = down.iter().map(|e| e["instances"].as_array().unwrap().len() as u64).sum();
    assert_eq!(shed, 2, "{down:#?}");
    assert_eq!(down.last().unwrap()["to"], 1);
    assert_eq!(events_of(&w, &moto, "scaled_up").len(), 1, "grown once");

    // The other job runs; then the compute ends.
    let last = instance_ids(&moto, "compute.c.workers.last").remove(0);
    agents.push(boot(&w, &moto, "worker", "compute.c.workers.last", &last));
    assert!(head.wait().unwrap().success());
    for agent in agents.iter_mut().chain(extra.iter_mut()) {
        let _ = agent.wait();
    }
    ok(&one_machine.output());
    assert_eq!(
        aws_object(&moto, BUCKET, &format!("{JOB}/results/best.json")),
        w.read("one-machine/best.json"),
        "the same result as a run on one machine"
    );
}
