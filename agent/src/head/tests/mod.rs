//! The head's loop on a fake cloud and a fake clock: each test is a situation a head
//! meets (a budget that fires, a monitor's `for`, a run past its `max_runtime`, a worker
//! that keeps dying, records out of reach), run to the end of the loop.

mod fake;

use super::{Ended, Head, Settings};
use crate::monitor::Monitoring;
use fake::{store_of, Fake, FakeClock, State, T0};
use gaform_compiler::ir::{AlertAction, Comparison, Market, MonitorMetric, Period};
use gaform_compiler::plan::JobStatus;
use gaform_control::alerts::{Monitor, Rule};
use gaform_control::budget::{Alert, Policy};
use gaform_control::event::{Event, Kind};
use gaform_control::ledger::Ledger;
use gaform_providers::books::Books;
use gaform_providers::local::{JobRecord, StackDir};
use gaform_providers::CloudError;
use gaform_runtime::ga::{self, Patience, Steer};
use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const GROUP: &str = "compute.evo.workers.cpu";
const GENERATIONS: u64 = 6;

/// One test's directory, books and fake cloud.
struct Scene {
    root: PathBuf,
    state: Rc<RefCell<State>>,
}

impl Scene {
    fn new(name: &str) -> Scene {
        let root = std::env::temp_dir().join(format!("gaform-head-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("stack")).unwrap();
        let clock = FakeClock(Rc::new(Cell::new(T0)));
        let state = State {
            root: root.clone(),
            books: StackDir::new(root.join("stack")),
            clock,
            jobs: Vec::new(),
            ledger: Ledger::default(),
            reported: Default::default(),
            acts: Vec::new(),
            auto_terminate: None,
            still_head: true,
            reports_from: 0.0,
            failing_reads: 0,
            read_error: None,
            ledger_down_until: 0.0,
            crashing: Vec::new(),
            fleet: None,
            losing: false,
            started: 0,
        };
        Scene { root, state: Rc::new(RefCell::new(state)) }
    }

    /// A running job of the group with a real run in its store: `done` generations of
    /// its one island saved (all of them: the run is finished).
    fn job(&self, name: &str, done: u64) -> JobRecord {
        let store = store_of(&self.root, name);
        crate::testing::prepare(&store, &crate::testing::job(name, 1, GENERATIONS));
        let reached = AtomicU64::new(0);
        let on_event = |e: ga::Event| {
            if let ga::Event::Generation { generation, .. } = e {
                reached.store(generation, Ordering::SeqCst);
            }
        };
        let steer = || if reached.load(Ordering::SeqCst) >= done { Steer::SaveAndStop } else { Steer::Go };
        let patience = Patience(Duration::from_secs(5));
        let ran = ga::run_islands_steered(&store, &[0], patience, None, &on_event, &steer);
        assert_eq!(ran.is_ok(), done >= GENERATIONS, "{ran:?}");
        let results = self.root.join("results").join(name);
        let mut record = crate::testing::running_job(name, GROUP, (3, 1), results, T0);
        record.attributes = [("generations".to_string(), GENERATIONS.to_string())].into();
        self.state.borrow_mut().jobs.push(record.clone());
        record
    }

    /// Three workers at $3.60 an hour each: spot first, the two on-demand ones newer.
    fn workers(&self) {
        let mut state = self.state.borrow_mut();
        state.start("w-spot", GROUP, Market::Spot, 3.6);
        state.clock.0.set(T0 + 0.5);
        state.start("w-od1", GROUP, Market::OnDemand, 3.6);
        state.clock.0.set(T0 + 0.7);
        state.start("w-od2", GROUP, Market::OnDemand, 3.6);
        state.clock.0.set(T0);
    }

    fn books(&self) -> StackDir {
        self.state.borrow().books.clone()
    }

    /// Runs a head with a 10 s tick and 1 s passes until its loop ends.
    fn run(&self) -> Result<Ended, CloudError> {
        let clock = self.state.borrow().clock.clone();
        let settings =
            Settings { compute: "evo".into(), tick: Duration::from_secs(10), pause: Duration::from_secs(1) };
        Head::new(Fake::new(self.state.clone()), clock, settings, Monitoring::unserved()).run()
    }

    fn events(&self) -> Vec<Event> {
        self.state.borrow().events()
    }

    fn acts(&self) -> Vec<String> {
        self.state.borrow().acts.clone()
    }

    fn status(&self, job: &str) -> JobStatus {
        self.state.borrow().job(job).status.clone()
    }

    fn best(&self, job: &str) -> serde_json::Value {
        let path = self.root.join("results").join(job).join("best.json");
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    /// The generations the job's results hold (`generations.csv`'s rows, generation 0
    /// included).
    fn generations_kept(&self, job: &str) -> usize {
        let path = self.root.join("results").join(job).join("generations.csv");
        std::fs::read_to_string(&path).unwrap().lines().count() - 1
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// A budget of `amount` dollars in all for compute `evo`, with `alerts`.
fn budget(amount: f64, alerts: Vec<Alert>) -> Policy {
    Policy {
        name: "research".into(),
        amount,
        period: Period::Total,
        max_cost_per_hour: None,
        alerts,
        computes: vec!["evo".into()],
        notify: None,
        first_seen: T0,
    }
}

fn kinds(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .map(|e| match e.kind {
            Kind::AlertFired { .. } => "alert_fired",
            Kind::Frozen { .. } => "frozen",
            Kind::Shed { .. } => "shed",
            Kind::ComputeStopped { .. } => "compute_stopped",
            Kind::ComputeEnded { .. } => "compute_ended",
            Kind::JobTimedOut { .. } => "job_timed_out",
            Kind::JobFailed { .. } => "job_failed",
            Kind::HeadTrouble { .. } => "head_trouble",
            Kind::HeadGaveUp { .. } => "head_gave_up",
            Kind::MonitorAlert { .. } => "monitor_alert",
            _ => "other",
        })
        .collect()
}

#[test]
fn a_finished_run_is_gathered_and_the_compute_ends() {
    let scene = Scene::new("finished");
    scene.job("search", GENERATIONS);
    assert_eq!(scene.run(), Ok(Ended::Terminated));
    assert_eq!(scene.status("search"), JobStatus::Finished);
    assert_eq!(scene.generations_kept("search"), GENERATIONS as usize + 1);
    let acts = scene.acts();
    let at =
        |act: &str| acts.iter().position(|a| a == act).unwrap_or_else(|| panic!("no `{act}` in {acts:?}"));
    // Released, its results kept, then the record: whoever sees it finished finds them.
    assert!(at("release search Finished") < at("keep search true"));
    assert!(at("keep search true") < at("write search finished"));
    assert_eq!(acts.last().unwrap(), "terminate");
    assert_eq!(kinds(&scene.events()), ["compute_ended"]);
    assert!(scene.events()[0].reason.ends_with("terminated (its jobs are over)"));
}

#[test]
fn a_budget_scales_down_to_min_once_then_stops_at_its_amount_with_the_results_so_far() {
    let scene = Scene::new("budget");
    scene.job("search", 3);
    scene.workers();
    let policy = budget(1.0, vec![Alert { at: 0.5, action: AlertAction::ScaleDown }]);
    scene.books().write_budgets(&[policy]).unwrap();
    assert_eq!(scene.run(), Ok(Ended::Terminated));
    let events = scene.events();
    // 3 × $0.001/s reach $0.50 at ~167 s: frozen, the two on-demand workers shed (newest
    // first), the spot one kept at min 1; at $0.001/s the amount is reached far later.
    assert_eq!(
        kinds(&events),
        ["alert_fired", "frozen", "shed", "shed", "alert_fired", "compute_stopped"],
        "{events:#?}"
    );
    let acts = scene.acts();
    let shed: Vec<&str> = acts.iter().filter_map(|a| a.strip_prefix("shed ")).collect();
    assert_eq!(shed, ["w-od2", "w-od1"]);
    assert!((170.0..180.0).contains(&(events[2].time - T0)), "shed at {}", events[2].time - T0);
    assert!(events[2].reason.contains("(on_demand): shed by budget research at 50%"), "{}", events[2].reason);
    let stopped = &events[5];
    assert!(stopped.time - T0 > 500.0, "stopped at {}", stopped.time - T0);
    let JobStatus::Stopped { reason } = scene.status("search") else {
        panic!("{:?}", scene.status("search"))
    };
    assert!(reason.starts_with("stopped: budget research at 100%"), "{reason}");
    // The results so far: the three generations done, with the stop as their status.
    assert_eq!(scene.generations_kept("search"), 4);
    assert_eq!(scene.best("search")["status"].as_str(), Some(reason.as_str()));
    let at =
        |act: &str| acts.iter().position(|a| a == act).unwrap_or_else(|| panic!("no `{act}` in {acts:?}"));
    assert!(at("write search stopped") < at("release search Stopping"));
    assert!(at("release search Stopping") < at("keep search true"));
    assert_eq!(acts.last().unwrap(), "terminate");
}

/// A monitor of `job` on compute `evo` that stops it once its generation is past 3 for
/// `for_secs`.
fn stop_past_generation_3(job: &str, for_secs: f64) -> Monitor {
    let rule = Rule {
        name: Some("past generation 3".into()),
        metric: MonitorMetric::Generation,
        comparison: Comparison::Gt,
        threshold: 3.0,
        for_secs,
        action: AlertAction::Stop,
    };
    Monitor {
        name: "progress".into(),
        job: job.into(),
        compute: "evo".into(),
        metrics: vec![MonitorMetric::Generation],
        rules: vec![rule],
        notify: None,
    }
}

#[test]
fn a_runs_first_reports_are_measured_within_a_second_not_a_tick_later() {
    let scene = Scene::new("early");
    scene.job("search", 4);
    {
        let mut state = scene.state.borrow_mut();
        state.reported.insert("search".into(), 4);
        state.reports_from = T0 + 3.5;
    }
    scene.books().write_monitors(&[stop_past_generation_3("search", 0.0)]).unwrap();
    assert_eq!(scene.run(), Ok(Ended::Terminated));
    let events = scene.events();
    let stopped = events.iter().find(|e| matches!(e.kind, Kind::ComputeStopped { .. })).unwrap().time;
    // Ticks every 10 s; the reports from 3.5 s are measured at the next pass (a second).
    assert!((3.5..=4.5).contains(&(stopped - T0)), "stopped at {}", stopped - T0);
}

#[test]
fn a_monitor_stop_waits_out_its_for_and_keeps_every_generation_done() {
    let scene = Scene::new("monitor");
    scene.job("search", 4);
    scene.state.borrow_mut().reported.insert("search".into(), 4);
    scene.books().write_monitors(&[stop_past_generation_3("search", 30.0)]).unwrap();
    assert_eq!(scene.run(), Ok(Ended::Terminated));
    let events = scene.events();
    let pending =
        events.iter().find(|e| matches!(&e.kind, Kind::MonitorAlert { state, .. } if state == "pending"));
    let pending = pending.unwrap_or_else(|| panic!("{events:#?}")).time;
    let stopped = events.iter().find(|e| matches!(e.kind, Kind::ComputeStopped { .. })).unwrap().time;
    // Measured as the head starts, then every tick: it fires at the first tick 30 s on.
    assert_eq!(pending, T0);
    assert_eq!(stopped, T0 + 30.0);
    let JobStatus::Stopped { reason } = scene.status("search") else { panic!("not stopped") };
    // The alert is called by its name in the job's status.
    assert!(
        reason
            .starts_with("stopped: monitor progress: alert \"past generation 3\" (generation > 3) fired at"),
        "{reason}"
    );
    assert_eq!(scene.generations_kept("search"), 5);
}

#[test]
fn a_run_past_its_max_runtime_is_timed_out_after_its_workers_let_go() {
    let scene = Scene::new("timeout");
    scene.job("search", 2);
    scene.state.borrow_mut().jobs[0].max_runtime_secs = Some(100.0);
    assert_eq!(scene.run(), Ok(Ended::Terminated));
    assert_eq!(scene.status("search"), JobStatus::TimedOut);
    let events = scene.events();
    assert_eq!(kinds(&events), ["job_timed_out", "compute_ended"]);
    assert!((100.0..102.0).contains(&(events[0].time - T0)));
    assert!(events[0].reason.contains("stopped by max_runtime = "), "{}", events[0].reason);
    let acts = scene.acts();
    // The record first: the workers read it, save and let go.
    assert_eq!(acts[..2], ["write search timed out", "release search Ended"]);
    assert_eq!(scene.generations_kept("search"), 3);
}

#[test]
fn a_worker_that_keeps_dying_is_replaced_five_times_then_fails_its_job() {
    let scene = Scene::new("crash");
    scene.job("search", 1);
    scene.state.borrow_mut().crashing = vec!["w1".into()];
    assert_eq!(scene.run(), Ok(Ended::Terminated));
    let replaced = scene.acts().iter().filter(|a| *a == "replace w1").count() as u32;
    assert_eq!(replaced, super::MAX_REPLACEMENTS);
    assert_eq!(scene.status("search"), JobStatus::Failed { reason: "worker w1 died 5 times".into() });
    let events = scene.events();
    assert_eq!(kinds(&events), ["job_failed", "compute_ended"]);
    assert!(scene.acts().contains(&"release search Ended".to_string()));
}

#[test]
fn records_out_of_reach_for_a_while_are_said_once_and_the_head_goes_on() {
    let scene = Scene::new("blip");
    scene.job("search", GENERATIONS);
    scene.state.borrow_mut().failing_reads = 5;
    assert_eq!(scene.run(), Ok(Ended::Terminated));
    let events = scene.events();
    // The measurement as it starts reads them too: each said once.
    assert_eq!(kinds(&events), ["head_trouble", "head_trouble", "compute_ended"]);
    assert!(
        events[1].reason.contains("could not look at its jobs: cannot read the job records"),
        "{}",
        events[1].reason
    );
    assert_eq!(scene.status("search"), JobStatus::Finished);
}

#[test]
fn records_out_of_reach_for_a_quarter_of_an_hour_end_the_head_saying_so() {
    let scene = Scene::new("outage");
    scene.job("search", GENERATIONS);
    scene.state.borrow_mut().failing_reads = u32::MAX;
    let ended = scene.run();
    assert!(ended.as_ref().is_err_and(|e| e.to_string().contains("connection reset")), "{ended:?}");
    let events = scene.events();
    // Its passes, and its monitors, which read the jobs too: each said once.
    assert_eq!(kinds(&events), ["head_trouble", "head_trouble", "head_gave_up"]);
    let doing: Vec<&str> = events
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::HeadTrouble { doing, .. } => Some(doing.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(doing, ["measure its monitors", "look at its jobs"]);
    // Transient: waited out for the head's patience, not a minute.
    assert!((900.0..902.0).contains(&(events[2].time - T0)), "{}", events[2].time - T0);
    assert!(events[2].reason.contains("connection reset; transient); it ends, leaving the compute untended"));
    assert!(!scene.acts().contains(&"terminate".to_string()));
}

#[test]
fn records_denied_for_a_minute_end_the_head_saying_so() {
    let scene = Scene::new("denied");
    scene.job("search", GENERATIONS);
    {
        let mut state = scene.state.borrow_mut();
        state.failing_reads = u32::MAX;
        let denied = CloudError::from_service(Some("AccessDenied"), Some(403), "AccessDenied: no".into());
        state.read_error = Some(denied.context("cannot read the job records"));
    }
    let ended = scene.run();
    assert!(ended.as_ref().is_err_and(|e| matches!(e, CloudError::Denied(_))), "{ended:?}");
    let events = scene.events();
    assert_eq!(kinds(&events), ["head_trouble", "head_trouble", "head_gave_up"]);
    // Waiting does not mend a denial: a minute, for a new permission to arrive.
    assert!((60.0..62.0).contains(&(events[2].time - T0)), "{}", events[2].time - T0);
    assert!(events[2].reason.contains("AccessDenied: no; denied); it ends"), "{}", events[2].reason);
}

#[test]
fn a_measurement_that_fails_is_an_event_once_and_measured_again() {
    let scene = Scene::new("measure");
    scene.job("search", 2);
    scene.workers();
    {
        let mut state = scene.state.borrow_mut();
        state.ledger_down_until = T0 + 35.0;
        state.jobs[0].max_runtime_secs = Some(60.0);
    }
    // A budget the first good measurement finds over half spent, where it sheds.
    let policy = budget(0.3, vec![Alert { at: 0.5, action: AlertAction::ScaleDown }]);
    scene.books().write_budgets(&[policy]).unwrap();
    assert_eq!(scene.run(), Ok(Ended::Terminated));
    let events = scene.events();
    let trouble: Vec<&Event> = events.iter().filter(|e| matches!(e.kind, Kind::HeadTrouble { .. })).collect();
    assert_eq!(trouble.len(), 1, "{events:#?}");
    assert_eq!(trouble[0].time, T0, "measured as the head starts");
    assert!(trouble[0].reason.contains("could not measure: the ledger is out of reach"));
    let frozen = events.iter().find(|e| matches!(e.kind, Kind::Frozen { .. })).unwrap();
    assert_eq!(frozen.time, T0 + 40.0);
}

#[test]
fn an_idle_compute_ends_after_its_auto_terminate() {
    let scene = Scene::new("idle");
    scene.state.borrow_mut().auto_terminate = Some(300.0);
    assert_eq!(scene.run(), Ok(Ended::Terminated));
    let events = scene.events();
    assert_eq!(kinds(&events), ["compute_ended"]);
    assert!((300.0..302.0).contains(&(events[0].time - T0)));
    assert!(events[0].reason.contains("(idle for auto_terminate = "), "{}", events[0].reason);
}

#[test]
fn a_replaced_head_leaves_everything_as_it_is() {
    let scene = Scene::new("replaced");
    scene.job("search", 1);
    scene.state.borrow_mut().still_head = false;
    assert_eq!(scene.run(), Ok(Ended::Replaced));
    assert!(scene.events().is_empty());
    assert!(scene.acts().is_empty(), "{:?}", scene.acts());
    assert_eq!(scene.status("search"), JobStatus::Running);
}

#[test]
fn the_upkeep_replaces_lost_workers_each_tick_until_the_cap_fails_the_job() {
    let scene = Scene::new("fleet");
    scene.job("search", 1);
    scene.workers();
    {
        let mut state = scene.state.borrow_mut();
        state.fleet = Some(crate::fleet::Fleet::new(50.0));
        state.losing = true;
    }
    assert_eq!(scene.run(), Ok(Ended::Terminated));
    let events = scene.events();
    let replaced: Vec<&Event> = events.iter().filter(|e| matches!(e.kind, Kind::Replaced { .. })).collect();
    // Three workers planned: 3 × 5 losses without notice are replaced, the next fails the job.
    assert_eq!(replaced.len() as u32, 3 * super::MAX_REPLACEMENTS, "{events:#?}");
    assert!(
        replaced[0].reason.contains("gone (2 of 3 running): requested 1 in their place"),
        "{}",
        replaced[0].reason
    );
    // One at each upkeep: lost at one, replaced at the next.
    assert!(replaced.windows(2).all(|w| w[1].time > w[0].time), "{replaced:#?}");
    let JobStatus::Failed { reason } = scene.status("search") else { panic!("{:?}", scene.status("search")) };
    assert!(reason.contains("its workers were lost without notice 15 times"), "{reason}");
    assert_eq!(kinds(&events).iter().filter(|k| **k == "job_failed").count(), 1);
    assert_eq!(scene.acts().last().unwrap(), "terminate");
}
