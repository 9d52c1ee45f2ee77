//! Budgets on the aws cloud, against moto through the real SDK: apply bills each instance
//! it starts in the stack's S3 ledger (spot at `DescribeSpotPriceHistory`'s price, which
//! moto fixes at $0.00001/h; on-demand at the catalog's), plan shows the spend as billed,
//! and a head that finds its budget spent stops the job with its results so far and
//! terminates every instance of the compute, which an independent client confirms.

use crate::aws::{aws_object, boot, boot_with, boto, instance_ids, run, text};
use crate::moto::Moto;
use crate::support::{ok, Workspace};
use std::time::{Duration, Instant};

const BUCKET: &str = "gaform-123456789012-us-west-2";

/// A spot group under a budget of a tenth of a cent a day: the head's own 60-second
/// minimum spends it, so the first tick stops the compute.
const SPENT_AT_ONCE: &str = r#"
cloud west { provider = aws  region = "us-west-2" }
budget tiny {
  amount = $0.001
  period = day
  notify { sns = "arn:aws:sns:us-west-2:123456789012:budget-alerts" }
}
spot_policy cheap {
  market   = spot
  fallback = on_demand
}
compute c {
  cloud  = west
  budget = tiny
  head { instance_type = "m5.large" }
  workers cpu {
    instance_type = "c5.large"
    min = 2
    max = 2
    spot = cheap
  }
}
job duo {
  compute     = c
  data        = "GOOG_wiki.csv"
  strategy    = rsi_reversion(period = 2..30, lower = 10..45, upper = 55..90)
  population  = 30
  generations = 3000
  migration { every = 10  count = 2 }
  seed        = 8
}
"#;

/// Every JSON object under `prefix` of the bucket, read by boto3.
pub(crate) fn objects(moto: &Moto, prefix: &str) -> Vec<serde_json::Value> {
    let printed = boto(
        moto,
        &format!(
            "import json\ns3=boto3.client('s3',**kw)\n\
             keys=[o['Key'] for o in s3.list_objects_v2(Bucket='{BUCKET}',Prefix='{prefix}').get('Contents',[])]\n\
             print(json.dumps([json.loads(s3.get_object(Bucket='{BUCKET}',Key=k)['Body'].read()) for k in keys]))"
        ),
    );
    serde_json::from_str(&printed).unwrap()
}

fn json_of(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)))
}

pub(crate) fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn spot_workers_are_billed_at_the_spot_price_and_a_spent_budget_stops_every_instance() {
    let moto = Moto::start();
    let w = Workspace::new("aws-budget-stop", SPENT_AT_ONCE);
    // The budget's topic, and a queue subscribed to it that stands for the user's inbox.
    boto(
        &moto,
        "sns=boto3.client('sns',**kw); sqs=boto3.client('sqs',**kw)\n\
         topic=sns.create_topic(Name='budget-alerts')['TopicArn']\n\
         queue=sqs.create_queue(QueueName='inbox')['QueueUrl']\n\
         arn=sqs.get_queue_attributes(QueueUrl=queue,AttributeNames=['QueueArn'])['Attributes']['QueueArn']\n\
         sns.subscribe(TopicArn=topic,Protocol='sqs',Endpoint=arn)",
    );
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    let policy = boto(
        &moto,
        "print(boto3.client('iam',**kw).get_role_policy(RoleName='gaform-job-west',PolicyName='gaform-stack-access')['PolicyDocument'])",
    );
    assert!(
        policy.contains("sns:Publish") && policy.contains("arn:aws:sns:us-west-2:123456789012:budget-alerts"),
        "the heads may publish to the budget's topic: {policy}"
    );

    let ledger = objects(&moto, "stacks/job/west/ledger/");
    assert_eq!(ledger.len(), 3, "a start each for the head and two workers: {ledger:#?}");
    for e in &ledger {
        assert_eq!(e["simulated"], false, "{e}");
        assert!(e["ended_at"].is_null(), "{e}");
        if e["address"] == "compute.c.workers.cpu" {
            assert_eq!(e["market"], "spot", "{e}");
            assert_eq!(e["per_hour"], 0.00001, "moto's DescribeSpotPriceHistory price: {e}");
        } else {
            assert_eq!(e["address"], "compute.c.head", "{e}");
            assert_eq!(e["market"], "on_demand", "{e}");
            let price = e["per_hour"].as_f64().unwrap();
            assert!(price > 0.05 && price < 0.2, "m5.large on-demand in us-west-2: {e}");
        }
    }
    let plan: serde_json::Value = json_of(&run(&w, &moto, &["plan", "--json", "job.gaf"]));
    let spent = &plan["cost"]["budgets"][0]["spent"];
    assert_eq!(spent["simulated"], false, "{spent}");
    assert!(spent["spent"].as_f64().unwrap() > 0.001, "the head's minute is billed: {spent}");

    // The workers run a while before their head boots, so there are results to keep.
    let mut agents: Vec<_> = instance_ids(&moto, "compute.c.workers.cpu")
        .iter()
        .map(|id| boot(&w, &moto, "worker", "compute.c.workers.cpu", id))
        .collect();
    wait_for("a first checkpoint", Duration::from_secs(90), || {
        !aws_object(&moto, BUCKET, "stacks/job/west/jobs/duo/store/islands/0/latest.json").is_empty()
    });
    let head_id = instance_ids(&moto, "compute.c.head").remove(0);
    let mut head = boot_with(&w, &moto, "head", "compute.c.head", &head_id, &[("GAFORM_TICK", "1s")]);
    let started = Instant::now();
    assert!(head.wait().unwrap().success());
    println!("the head stopped its compute {:.2} s after it booted", started.elapsed().as_secs_f64());
    for agent in &mut agents {
        assert!(agent.wait().unwrap().success(), "a worker leaves once its job is stopped");
    }

    // An independent client: nothing of the stack runs any more.
    assert_eq!(moto.list("us-west-2")["instances"].as_array().unwrap().len(), 0);
    let record = aws_object(&moto, BUCKET, "stacks/job/west/jobs/duo/record.json");
    assert!(record.contains("stopped: budget tiny at 100%"), "{record}");
    let best = aws_object(&moto, BUCKET, "stacks/job/west/jobs/duo/results/best.json");
    assert!(best.contains("stopped: budget tiny at 100%"), "{best}");
    let ledger = objects(&moto, "stacks/job/west/ledger/");
    assert!(ledger.iter().all(|e| e["end"] == "terminated"), "every start ended: {ledger:#?}");
    // BENCHMARKS.md: from the decision (the alert, as logged) to the last instance's end.
    let events = objects(&moto, "stacks/job/west/events/");
    let fired = events.iter().find(|e| e["event"] == "alert_fired").unwrap()["time"].as_f64().unwrap();
    let ended = ledger.iter().map(|e| e["ended_at"].as_f64().unwrap()).fold(f64::MIN, f64::max);
    println!("from the stop decision to the last instance terminated: {:.3} s", ended - fired);

    let status: serde_json::Value = json_of(&run(&w, &moto, &["status", "--json", "job.gaf"]));
    let job = &status["jobs"][0];
    assert_eq!((&job["address"], &job["cloud"]), (&"job.duo".into(), &"west".into()), "{status:#}");
    assert!(job["status"]["reason"].as_str().unwrap().starts_with("stopped: budget tiny"), "{status:#}");
    let budget = &status["budgets"][0];
    assert_eq!((&budget["name"], &budget["simulated"]), (&"tiny".into(), &false.into()), "{status:#}");
    let stop = budget["alerts"].as_array().unwrap().iter().find(|a| a["action"] == "stop").unwrap();
    assert!(stop["fired_at"].is_f64(), "{status:#}");
    let events = text(&run(&w, &moto, &["events", "--json", "job.gaf"]));
    for kind in ["\"alert_fired\"", "\"compute_stopped\"", "\"notification_sent\""] {
        assert_eq!(events.matches(kind).count(), 1, "{kind} once: {events}");
    }
    // The head published the alert (Alertmanager's body) to the topic, once.
    let inbox = boto(
        &moto,
        "import json\nsqs=boto3.client('sqs',**kw)\nurl=sqs.get_queue_url(QueueName='inbox')['QueueUrl']\n\
         got=sqs.receive_message(QueueUrl=url,MaxNumberOfMessages=10).get('Messages',[])\n\
         print(json.dumps([json.loads(json.loads(m['Body'])['Message']) for m in got]))",
    );
    let alerts: Vec<serde_json::Value> = serde_json::from_str(&inbox).unwrap();
    assert_eq!(alerts.len(), 1, "{inbox}");
    let labels = &alerts[0]["commonLabels"];
    assert_eq!((&labels["budget"], &labels["action"]), (&"tiny".into(), &"stop".into()), "{inbox}");

    let again = run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert_eq!(again.status.code(), Some(1), "{}", text(&again));
    assert!(text(&again).contains("budget `tiny` is spent"), "{}", text(&again));
    assert_eq!(moto.list("us-west-2")["instances"].as_array().unwrap().len(), 0, "nothing started");
}

/// Two on-demand workers under a budget whose first minute of billing (head m5.large and
/// two c5.large, $0.0044) crosses its 5% scale-down alert, with 100% a quarter of an hour
/// away at the rate left: the job ends long before, even on a loaded machine.
const SHED_AT_ONCE: &str = r#"
cloud west { provider = aws  region = "us-west-2" }
budget small {
  amount = $0.05
  period = day
  alert { at = 5%  action = scale_down }
}
compute c {
  cloud  = west
  budget = small
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  min = 1  max = 2  autoscale = false }
}
job duo {
  compute     = c
  data        = "GOOG_wiki.csv"
  strategy    = rsi_reversion(period = 2..30, lower = 10..45, upper = 55..90)
  population  = 30
  generations = 1200
  islands     = 4
  migration { every = 10  count = 2 }
  seed        = 8
}
"#;

#[test]
fn a_scale_down_on_aws_sheds_a_worker_mid_job_and_the_result_is_the_same_bytes() {
    let moto = Moto::start();
    let w = Workspace::new("aws-budget-shed", SHED_AT_ONCE);
    let never_shed = w.gaform_in_background(&["run", "job.gaf", "--out", "never-shed"]);
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    let workers = instance_ids(&moto, "compute.c.workers.cpu");
    assert_eq!(workers.len(), 2, "{workers:?}");
    let mut agents: Vec<_> = workers
        .iter()
        .map(|id| (id.clone(), boot(&w, &moto, "worker", "compute.c.workers.cpu", id)))
        .collect();
    wait_for("a first checkpoint", Duration::from_secs(90), || {
        !aws_object(&moto, BUCKET, "stacks/job/west/jobs/duo/store/islands/0/latest.json").is_empty()
    });
    let head_id = instance_ids(&moto, "compute.c.head").remove(0);
    let mut head = boot_with(&w, &moto, "head", "compute.c.head", &head_id, &[("GAFORM_TICK", "1s")]);

    // EC2 terminating an instance stops what runs on it; here the test does that part.
    wait_for("a worker shed", Duration::from_secs(60), || {
        instance_ids(&moto, "compute.c.workers.cpu").len() == 1
    });
    let left = instance_ids(&moto, "compute.c.workers.cpu");
    let shed = agents.iter().position(|(id, _)| !left.contains(id)).unwrap();
    let (shed_id, mut victim) = agents.remove(shed);
    // The worker left is held still from the moment the shed is seen until the plan below has
    // run, so that the job cannot finish under the checks (a fast GA ends the rest in seconds).
    let survivor = agents[0].1.id().to_string();
    let signal = |sig: &str| {
        assert!(std::process::Command::new("kill").args([sig, &survivor]).status().unwrap().success())
    };
    signal("-STOP");
    victim.kill().unwrap();
    victim.wait().unwrap();
    let unfinished = (0..4)
        .filter(|i| {
            aws_object(&moto, BUCKET, &format!("stacks/job/west/jobs/duo/store/islands/{i}/gen-001200.json"))
                .is_empty()
        })
        .count();
    // While the job runs frozen, plan starts nothing in its place.
    let plan = run(&w, &moto, &["plan", "job.gaf", "--detailed-exitcode"]);
    signal("-CONT");
    assert!(unfinished > 0, "shed mid-job: the worker left has islands to take over");
    assert_eq!(plan.status.code(), Some(0), "{}", text(&plan));
    assert!(text(&plan).contains("compute.c.workers.cpu: 1 of 2 running; nothing starts in it while a budget's scale-down froze the run of job.duo"), "{}", text(&plan));

    assert!(head.wait().unwrap().success());
    for (_, agent) in &mut agents {
        assert!(agent.wait().unwrap().success());
    }
    assert_eq!(
        moto.list("us-west-2")["instances"].as_array().unwrap().len(),
        0,
        "the job ended; so did its compute"
    );
    let record: serde_json::Value =
        serde_json::from_str(&aws_object(&moto, BUCKET, "stacks/job/west/jobs/duo/record.json")).unwrap();
    assert_eq!(
        (&record["status"]["state"], &record["frozen"], &record["dealt"]),
        (&"finished".into(), &true.into(), &1.into())
    );
    let events: Vec<serde_json::Value> = text(&run(&w, &moto, &["events", "--json", "job.gaf"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["alert_fired", "frozen", "shed", "compute_ended"], "{events:?}");
    assert_eq!(events[2]["instance"], format!("compute.c.workers.cpu[{shed_id}]"));

    let finals = (0..4).map(|i| format!("stacks/job/west/jobs/duo/store/islands/{i}/gen-001200.json"));
    assert!(
        finals.into_iter().all(|k| !aws_object(&moto, BUCKET, &k).is_empty()),
        "the key looked for above"
    );

    ok(&never_shed.output());
    assert_eq!(
        aws_object(&moto, BUCKET, "stacks/job/west/jobs/duo/results/best.json"),
        w.read("never-shed/best.json"),
        "the same result as a run that was never shed"
    );
}
