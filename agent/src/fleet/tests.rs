//! The fleet's care on a fake cloud and a clock moved by hand: lost workers replaced within
//! the cap, workers given notice replaced before they go, frozen groups left alone, a
//! failed start said once and asked again, and an autoscaled group grown to its work, its
//! islands dealt again, its idle workers let go after the cool-down.

use super::{Fleet, Workers};
use crate::head::{Replacements, MAX_REPLACEMENTS};
use gaform_compiler::ir::Market;
use gaform_compiler::plan::{Addr, JobStatus};
use gaform_control::autoscale::Sizing;
use gaform_control::event::{Event, Kind};
use gaform_control::ledger::{End, Ledger};
use gaform_providers::local::JobRecord;
use gaform_providers::CloudError;
use std::collections::BTreeMap;

const GROUP: &str = "compute.evo.workers.cpu";
const T0: f64 = 1_800_000_000.0;

/// A cloud of memory: its ledger, its jobs' records, their work left and claims, and every
/// act asked of it.
struct Fake {
    ledger: Ledger,
    jobs: Vec<JobRecord>,
    unfinished: Vec<u64>,
    holders: BTreeMap<u64, String>,
    waiting: Vec<String>,
    clock: f64,
    started: u32,
    acts: Vec<String>,
    events: Vec<Event>,
    /// Why every start fails, while it does.
    starts_fail: Option<String>,
}

impl Fake {
    fn new(workers: u64, running: u64) -> Fake {
        let mut job = crate::testing::running_job("search", GROUP, (workers, 8), std::env::temp_dir(), T0);
        job.dealt_over = running;
        let mut fake = Fake {
            ledger: Ledger::default(),
            jobs: vec![job],
            unfinished: (0..8).collect(),
            holders: BTreeMap::new(),
            waiting: Vec::new(),
            clock: T0,
            started: 0,
            acts: Vec::new(),
            events: Vec::new(),
            starts_fail: None,
        };
        for _ in 0..running {
            fake.launch();
        }
        fake.acts.clear();
        fake
    }

    /// A new worker of the group, running from now: its id.
    fn launch(&mut self) -> String {
        self.started += 1;
        let id = format!("w{}", self.started);
        self.ledger.start(crate::testing::worker(&id, GROUP, Market::OnDemand, 0.1, self.clock));
        // Later workers are newer: the shedding order tells them apart.
        self.clock += 1.0;
        id
    }

    /// Worker `id` is gone (a crash, a kill) as of now.
    fn lose(&mut self, id: &str) {
        self.ledger.end(id, self.clock, End::Terminated);
        self.clock += 1.0;
    }

    fn running(&self) -> Vec<String> {
        self.ledger.running().map(|e| e.instance.clone()).collect()
    }

    fn kinds(&self) -> Vec<&'static str> {
        self.events
            .iter()
            .map(|e| match e.kind {
                Kind::Replaced { .. } => "replaced",
                Kind::ReplacementFailed { .. } => "replacement_failed",
                Kind::ScaledUp { .. } => "scaled_up",
                Kind::ScaledDown { .. } => "scaled_down",
                Kind::IslandsDealt { .. } => "islands_dealt",
                _ => "other",
            })
            .collect()
    }

    /// One tick of the fleet's care, as the head's upkeep runs it.
    fn tick(&mut self, fleet: &mut Fleet, replacements: &mut Replacements) {
        let ledger = self.ledger.clone();
        fleet.heal(self, &ledger, replacements).unwrap();
        let ledger = self.ledger.clone();
        fleet.autoscale(self, &ledger).unwrap();
    }
}

impl Workers for Fake {
    fn jobs(&mut self) -> Result<Vec<JobRecord>, CloudError> {
        Ok(self.jobs.clone())
    }

    fn job(&mut self, name: &str) -> Result<Option<JobRecord>, CloudError> {
        Ok(self.jobs.iter().find(|j| j.name == name).cloned())
    }

    fn write_job(&mut self, job: &JobRecord) -> Result<(), CloudError> {
        self.acts.push(format!("write {} dealt {} over {}", job.name, job.dealt, job.dealt_over));
        if let Some(j) = self.jobs.iter_mut().find(|j| j.name == job.name) {
            *j = job.clone();
        }
        Ok(())
    }

    fn unfinished(&mut self, _: &JobRecord) -> Result<Vec<u64>, CloudError> {
        Ok(self.unfinished.clone())
    }

    fn claim_holder(&mut self, _: &str, island: u64) -> Result<Option<String>, CloudError> {
        Ok(self.holders.get(&island).cloned())
    }

    fn waiting_for_islands(&mut self, _: &str, _: u64) -> Result<Vec<String>, CloudError> {
        Ok(self.waiting.clone())
    }

    fn start(&mut self, group: &Addr, count: u64) -> Result<String, CloudError> {
        self.acts.push(format!("start {count}"));
        if let Some(why) = &self.starts_fail {
            return Err(why.as_str().into());
        }
        assert_eq!(group.as_str(), GROUP);
        let ids: Vec<String> = (0..count).map(|_| self.launch()).collect();
        Ok(ids.join(", "))
    }

    fn terminate(&mut self, workers: &[String]) -> Result<(), CloudError> {
        self.acts.push(format!("terminate {}", workers.join(" ")));
        for id in workers {
            self.ledger.end(id, self.clock, End::Terminated);
        }
        Ok(())
    }

    fn record(&mut self, event: Event) {
        self.events.push(event);
    }

    fn now(&self) -> f64 {
        self.clock
    }
}

#[test]
fn a_lost_worker_is_replaced_and_named_once_and_past_the_cap_its_job_fails() {
    let mut fake = Fake::new(2, 2);
    let (mut fleet, mut replacements) = (Fleet::new(50.0), Replacements::default());
    fake.tick(&mut fleet, &mut replacements);
    assert!(fake.acts.is_empty() && fake.events.is_empty(), "nothing is short: {:?}", fake.acts);
    fake.lose("w2");
    fake.tick(&mut fleet, &mut replacements);
    assert_eq!(fake.acts, ["start 1"]);
    assert_eq!(fake.kinds(), ["replaced"]);
    let reason = &fake.events[0].reason;
    assert!(
        reason.starts_with(&format!("{GROUP}[w2] gone (1 of 2 running): requested 1 in their place (w3)")),
        "{reason}"
    );
    // Whole again: nothing more, and the loss is not named twice.
    fake.tick(&mut fleet, &mut replacements);
    assert_eq!((fake.acts.len(), fake.events.len()), (1, 1));
    // A group of 2 may lose 2 × 5 workers without notice; the next loss fails its job.
    let cap = MAX_REPLACEMENTS as usize * 2;
    for _ in 1..cap {
        let newest = fake.running().pop().unwrap();
        fake.lose(&newest);
        fake.tick(&mut fleet, &mut replacements);
    }
    assert_eq!(fake.kinds().iter().filter(|k| **k == "replaced").count(), cap);
    assert!(replacements.take_failing().is_empty());
    let newest = fake.running().pop().unwrap();
    fake.lose(&newest);
    fake.tick(&mut fleet, &mut replacements);
    assert_eq!(fake.acts.iter().filter(|a| *a == "start 1").count(), cap, "not started past the cap");
    let failing = replacements.take_failing();
    assert_eq!(failing.len(), 1, "{failing:?}");
    assert_eq!(failing[0].0, "search");
    assert!(failing[0].1.contains("lost without notice 10 times"), "{}", failing[0].1);
}

#[test]
fn a_worker_given_notice_is_replaced_before_it_goes_and_its_going_is_no_loss() {
    let mut fake = Fake::new(2, 2);
    let (mut fleet, mut replacements) = (Fleet::new(50.0), Replacements::default());
    fleet.leaving.insert("w1".into());
    fake.tick(&mut fleet, &mut replacements);
    assert_eq!(fake.acts, ["start 1"]);
    assert!(fake.events[0].reason.contains(&format!("{GROUP}[w1] given notice (1 of 2 running)")));
    fake.lose("w1");
    fake.tick(&mut fleet, &mut replacements);
    assert_eq!(fake.acts, ["start 1"], "replaced already");
    assert_eq!(fake.running(), ["w2", "w3"]);
}

#[test]
fn a_frozen_group_is_not_healed_and_a_failed_start_is_said_once_and_asked_again() {
    let mut fake = Fake::new(2, 2);
    let (mut fleet, mut replacements) = (Fleet::new(50.0), Replacements::default());
    fake.jobs[0].frozen = true;
    fake.lose("w2");
    fake.tick(&mut fleet, &mut replacements);
    assert!(fake.acts.is_empty(), "a budget or monitor froze it: {:?}", fake.acts);
    fake.jobs[0].frozen = false;
    fake.starts_fail = Some("InsufficientInstanceCapacity".into());
    for _ in 0..3 {
        fake.tick(&mut fleet, &mut replacements);
    }
    assert_eq!(fake.acts, ["start 1", "start 1", "start 1"]);
    assert_eq!(fake.kinds(), ["replacement_failed"]);
    assert!(fake.events[0].reason.ends_with("(InsufficientInstanceCapacity); asking again every tick"));
    fake.starts_fail = None;
    fake.tick(&mut fleet, &mut replacements);
    assert_eq!(fake.kinds(), ["replacement_failed", "replaced"]);
}

#[test]
fn an_autoscaled_group_grows_to_its_work_deals_its_islands_again_and_sheds_idle_workers_after_the_cooldown() {
    let mut fake = Fake::new(1, 1);
    fake.jobs[0].scaling = Some(Sizing { min: 1, ceiling: 4, per_worker: 2 });
    let (mut fleet, mut replacements) = (Fleet::new(50.0), Replacements::default());
    // 8 islands left at 2 a worker: 4 workers, 3 more than it runs.
    fake.tick(&mut fleet, &mut replacements);
    assert_eq!(fake.acts, ["start 3"]);
    assert_eq!(fake.kinds(), ["scaled_up"]);
    assert!(fake.events[0]
        .reason
        .contains("its unfinished islands need 4 worker(s), it runs 1: requested 3 more"));
    // Not dealt again until the new workers are up and waiting for the deal.
    fake.tick(&mut fleet, &mut replacements);
    assert_eq!(fake.kinds(), ["scaled_up"]);
    fake.waiting = vec!["w2".into(), "w3".into(), "w4".into()];
    fake.tick(&mut fleet, &mut replacements);
    assert_eq!(fake.kinds(), ["scaled_up", "islands_dealt"]);
    assert_eq!(fake.acts.last().unwrap(), "write search dealt 1 over 4");
    // Two islands left, both on w1: the other three are idle, and go once idle 50 s.
    fake.unfinished = vec![6, 7];
    fake.holders = [(6, "w1".to_string()), (7, "w1".to_string())].into();
    fake.tick(&mut fleet, &mut replacements);
    fake.clock += 49.0;
    fake.tick(&mut fleet, &mut replacements);
    assert_eq!(fake.kinds().len(), 2, "not before the cool-down");
    fake.clock += 2.0;
    fake.tick(&mut fleet, &mut replacements);
    assert_eq!(fake.kinds(), ["scaled_up", "islands_dealt", "scaled_down"]);
    assert_eq!(fake.acts.last().unwrap(), "terminate w4 w3 w2");
    let reason = &fake.events[2].reason;
    assert!(reason.contains("2 island(s) left need 1: terminated, 4 -> 1 worker(s) (min = 1)"), "{reason}");
    assert_eq!(fake.running(), ["w1"]);
    // Its work done and the group at its min: nothing more.
    fake.jobs[0].status = JobStatus::Finished;
    fake.tick(&mut fleet, &mut replacements);
    assert_eq!(fake.kinds().len(), 3);
}
