//! The stack's lock on aws lives on S3 beside the stack's state: two applies of one stack
//! from two working directories (two people, or CI and a person) never run at once, and
//! nothing is made twice; a lock whose holder stopped beating is reported with its holder
//! and cleared by `gaform unlock`, which refuses a live one.

use crate::aws::{boto, production, run, text};
use crate::moto::Moto;
use crate::support::{ok, Workspace};
use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

const BUCKET: &str = "gaform-123456789012-us-west-2";
const LOCK: &str = "stacks/job/aws_west/lock.json";

fn instances(moto: &Moto) -> usize {
    moto.list("us-west-2")["instances"].as_array().unwrap().len()
}

#[test]
fn a_second_apply_of_one_stack_is_refused_naming_the_first_and_nothing_is_made_twice() {
    let moto = Moto::start();
    let first = Workspace::new("aws-lock-first", &production());
    let second = Workspace::new("aws-lock-second", &production());
    let env = moto.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // The first plans, then waits at its prompt: it holds the lock all the while.
    let mut waiting = first
        .command(&["apply", "job.gaf", "--detach"], &env)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = waiting.stdout.take().unwrap();
    let mut said = Vec::new();
    let started = Instant::now();
    while !String::from_utf8_lossy(&said).contains("Enter a value:") {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no prompt: {}",
            String::from_utf8_lossy(&said)
        );
        let mut chunk = [0; 4096];
        let n = stdout.read(&mut chunk).unwrap();
        assert!(n > 0, "the first apply ended before its prompt: {}", String::from_utf8_lossy(&said));
        said.extend_from_slice(&chunk[..n]);
    }

    let refused = run(&second, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let why = text(&refused);
    assert!(why.contains("aws cloud `aws_west`: the stack is locked by `gaform apply`"), "{why}");
    assert!(why.contains(&format!("(pid {})", waiting.id())), "the holder is named: {why}");
    assert!(why.contains(&format!("s3://{BUCKET}/{LOCK}")), "{why}");
    assert_eq!(instances(&moto), 0, "the refused apply made nothing");
    let still = run(&second, &moto, &["destroy", "job.gaf", "--auto-approve"]);
    assert_eq!(still.status.code(), Some(1), "destroy is refused too: {}", text(&still));

    // Answered, the first goes ahead and lets go.
    waiting.stdin.take().unwrap().write_all(b"yes\n").unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let done = waiting.wait_with_output().unwrap();
    assert!(done.status.success(), "{rest}{}", String::from_utf8_lossy(&done.stderr));
    assert_eq!(instances(&moto), 3, "the head and two workers, once");
    assert_eq!(boto(&moto, &format!("import sys\ntry:\n  boto3.client('s3',**kw).head_object(Bucket='{BUCKET}',Key='{LOCK}'); print('held')\nexcept Exception: print('free')")).trim(), "free");
    let again = run(&second, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert!(text(&again).contains("No changes."), "{}", text(&again));
    assert_eq!(instances(&moto), 3, "nothing made twice");
}

#[test]
fn a_stale_lock_names_its_holder_and_unlock_clears_it_but_not_a_live_one() {
    let moto = Moto::start();
    let w = Workspace::new("aws-lock-stale", &production());
    // An apply on another machine that died holding the lock: its heartbeat stopped an hour ago.
    let lock = |heartbeat: &str| {
        format!(
            "import json,time\ns3=boto3.client('s3',**kw)\n\
             try:\n  s3.create_bucket(Bucket='{BUCKET}',CreateBucketConfiguration={{'LocationConstraint':'us-west-2'}})\n\
             except Exception: pass\n\
             s3.put_object(Bucket='{BUCKET}',Key='{LOCK}',Body=json.dumps(dict(command='apply',who='ci@runner-7',pid=4242,since=time.time()-3600,heartbeat={heartbeat})))"
        )
    };
    boto(&moto, &lock("time.time()-3600"));
    let refused = run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    let why = text(&refused);
    assert!(why.contains("stale lock") && why.contains("ci@runner-7 (pid 4242)"), "{why}");
    assert!(why.contains("gaform unlock"), "{why}");

    let cleared = ok(&run(&w, &moto, &["unlock", "job.gaf"]));
    assert!(cleared.contains("removed the stale lock of aws cloud `aws_west`"), "{cleared}");
    ok(&run(&w, &moto, &["apply", "job.gaf", "--auto-approve", "--detach"]));
    assert_eq!(instances(&moto), 3);

    // One that beats is nobody's to clear.
    boto(&moto, &lock("time.time()"));
    let live = run(&w, &moto, &["unlock", "job.gaf"]);
    assert!(!live.status.success(), "{}", text(&live));
    assert!(text(&live).contains("it is not stale"), "{}", text(&live));
}
