//! Back to spot on aws (moto through the real SDK, spot capacity errors from the fault
//! proxy): a group that apply filled on-demand because spot was short asks for spot again
//! `return_to_spot` after the fall back; while spot is still short it asks again that long
//! later, no sooner; once spot is had, each on-demand worker hands its islands over and is
//! terminated, and the result is the bytes of a run that never moved.

use crate::aws::{aws_object, boot, run, text, via};
use crate::aws_budgets::{objects, wait_for};
use crate::fault_proxy::{Faults, Proxy};
use crate::moto::Moto;
use crate::support::Workspace;
use std::time::Duration;

const BUCKET: &str = "gaform-123456789012-us-west-2";
const JOB: &str = "stacks/job/west/jobs/duo";

/// Two spot workers that fall back to on-demand and try spot again after 3 s, on the heal
/// tests' job at twice its length: the spot workers take over some 8 s after the head
/// boots (a try that finds none, 3 s, a try that finds two, their boot, the on-demand
/// workers' next look), and the job must still be running then (at the heal tests' length
/// it once ended first, with moto serving it faster).
fn back_to_spot() -> String {
    let generations = crate::aws_heal::GENERATIONS;
    let heal_tests = format!("generations = {generations}\n");
    let text = crate::aws_heal::on_spot();
    assert!(text.contains(&heal_tests), "the heal tests' job names its generations: {text}");
    text.replace("fallback = on_demand\n", "fallback = on_demand\n  return_to_spot = 3s\n")
        .replace(&heal_tests, &format!("generations = {}\n", 2 * generations))
}

fn lifecycles(moto: &Moto) -> Vec<(String, String)> {
    moto.list("us-west-2")["instances"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["tags"]["gaform:address"] == "compute.c.workers.cpu")
        .map(|i| (i["id"].as_str().unwrap().to_string(), i["lifecycle"].as_str().unwrap().to_string()))
        .collect()
}

#[test]
fn a_group_that_fell_back_to_on_demand_returns_to_spot_with_no_island_lost() {
    let moto = Moto::start();
    let w = Workspace::new("aws-back-to-spot", &back_to_spot());
    let undisturbed = crate::aws_heal::undisturbed_run(&w);
    let proxy = Proxy::start(moto.port, Faults { no_spot: true, ..Faults::default() });
    let apply = via(&w, &moto, &proxy, None, &["apply", "job.gaf", "--auto-approve", "--detach"]);
    assert!(text(&apply).contains("started 0 spot, fallback to on-demand after"), "{}", text(&apply));
    let plan = via(&w, &moto, &proxy, None, &["plan", "job.gaf"]);
    assert!(
        text(&plan).contains("compute.c.workers.cpu: 0 spot and 2 on-demand running (spot capacity was short); its head asks for spot again 3s after the fall back"),
        "the plan shows the mix: {}",
        text(&plan)
    );
    let on_demand: Vec<String> = lifecycles(&moto)
        .into_iter()
        .map(|(id, l)| {
            assert_eq!(l, "on-demand");
            id
        })
        .collect();
    let mut head = crate::aws_heal::boot_head_through(&w, &moto, &proxy);
    let mut agents: Vec<_> =
        on_demand.iter().map(|id| boot(&w, &moto, "worker", "compute.c.workers.cpu", id)).collect();
    let events = || objects(&moto, "stacks/job/west/events/");
    // Spot still short: the head asks, has none, and does not ask again before 3 s.
    wait_for("a try that finds no spot", Duration::from_secs(60), || {
        events().iter().any(|e| e["event"] == "spot_retried" && e["got"] == 0)
    });
    proxy.state.lock().unwrap().faults.no_spot = false;
    let mut spot = Vec::new();
    wait_for("two spot workers", Duration::from_secs(60), || {
        spot = lifecycles(&moto).into_iter().filter(|(_, l)| l == "spot").map(|(id, _)| id).collect();
        spot.len() == 2
    });
    agents.extend(spot.iter().map(|id| boot(&w, &moto, "worker", "compute.c.workers.cpu", id)));
    for agent in agents.drain(..2) {
        let mut agent = agent;
        assert!(agent.wait().unwrap().success(), "an on-demand worker leaves once it has handed over");
    }
    wait_for("the on-demand workers terminated", Duration::from_secs(60), || {
        lifecycles(&moto).iter().all(|(_, l)| l == "spot")
    });

    assert!(head.wait().unwrap().success());
    for agent in &mut agents {
        assert!(agent.wait().unwrap().success());
    }
    let claims: Vec<String> =
        (0..4).map(|i| aws_object(&moto, BUCKET, &format!("{JOB}/claims/island-{i}"))).collect();
    assert!(claims.iter().all(|c| spot.contains(c)), "every island ended on spot: {claims:?}");
    let log: Vec<serde_json::Value> = text(&run(&w, &moto, &["events", "--json", "job.gaf"]))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let tries: Vec<(u64, u64)> = log
        .iter()
        .filter(|e| e["event"] == "spot_retried")
        .map(|e| (e["asked"].as_u64().unwrap(), e["got"].as_u64().unwrap()))
        .collect();
    assert_eq!(tries.last(), Some(&(2, 2)), "{log:#?}");
    assert!(tries[..tries.len() - 1].iter().all(|t| *t == (2, 0)), "{log:#?}");
    let times: Vec<f64> =
        log.iter().filter(|e| e["event"] == "spot_retried").map(|e| e["time"].as_f64().unwrap()).collect();
    assert!(times.windows(2).all(|t| t[1] - t[0] >= 3.0), "never sooner than return_to_spot: {times:?}");
    let handed: Vec<&str> = log
        .iter()
        .filter(|e| e["event"] == "handed_to_spot")
        .map(|e| e["instance"].as_str().unwrap())
        .collect();
    assert_eq!(handed.len(), 2, "{log:#?}");
    assert!(on_demand.iter().all(|id| handed.contains(&id.as_str())), "{log:#?}");
    assert!(log.iter().all(|e| e["event"] != "replaced"), "a hand-over is not a loss: {log:#?}");

    crate::aws_heal::same_as_an_undisturbed_run(&w, &moto, undisturbed);
}
