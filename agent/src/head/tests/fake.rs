//! A cloud made of memory and a clock moved by hand, for testing the head's loop: the
//! books are a real local stack directory (budgets, monitors, their state, the event log),
//! each job's store a real directory holding a real (small) GA run; the workers are
//! entries in a ledger, and every act the loop asks of the cloud is written down.

use crate::fleet::{Fleet, Workers};
use crate::head::{Clock, Cloud, Release, Replacements};
use gaform_compiler::ir::Market;
use gaform_compiler::plan::{Addr, JobStatus};
use gaform_control::event::Event;
use gaform_control::ledger::{End, Ledger};
use gaform_control::scale;
use gaform_providers::books::Books;
use gaform_providers::local::{JobRecord, StackDir};
use gaform_providers::CloudError;
use gaform_runtime::ga::GenerationStats;
use gaform_runtime::store::{LocalDir, Store};
use gaform_runtime::telemetry::{EvalTiming, WorkerReport};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// Unix seconds where every test's clock starts.
pub const T0: f64 = 1_800_000_000.0;

/// A clock that moves only when the loop sleeps.
#[derive(Clone)]
pub struct FakeClock(pub Rc<Cell<f64>>);

impl Clock for FakeClock {
    fn now(&self) -> f64 {
        self.0.get()
    }

    fn sleep(&self, duration: Duration) {
        let now = self.0.get() + duration.as_secs_f64();
        assert!(now < T0 + 86_400.0, "the head's loop ran a day of fake time without ending");
        self.0.set(now);
    }
}

/// What the fake cloud holds and what was asked of it; shared with the test.
pub struct State {
    pub root: PathBuf,
    pub books: StackDir,
    pub clock: FakeClock,
    pub jobs: Vec<JobRecord>,
    pub ledger: Ledger,
    /// The generation each job's workers report their islands at, by job.
    pub reported: BTreeMap<String, u64>,
    /// Every act asked of the cloud, in order (`release NAME Ended`, `shed ID`, ...).
    pub acts: Vec<String>,
    pub auto_terminate: Option<f64>,
    pub still_head: bool,
    /// When the workers' first reports appear (none before).
    pub reports_from: f64,
    /// How many of the next reads of the jobs fail.
    pub failing_reads: u32,
    /// How they fail (a connection reset unless a test says otherwise).
    pub read_error: Option<CloudError>,
    /// Until when reading the ledger fails.
    pub ledger_down_until: f64,
    /// Workers (by id) found dead at every pass, replaced within the cap.
    pub crashing: Vec<String>,
    /// The fleet's care runs in the upkeep (as on aws), and after it a running worker is
    /// lost without notice while `losing` is set.
    pub fleet: Option<Fleet>,
    pub losing: bool,
    /// Workers started by the fleet's care so far.
    pub started: u32,
}

/// The fake cloud the loop runs on.
pub struct Fake {
    pub state: Rc<RefCell<State>>,
    stores: BTreeMap<String, LocalDir>,
}

impl State {
    /// Starts worker `id` of `group` at the clock's time.
    pub fn start(&mut self, id: &str, group: &str, market: Market, per_hour: f64) {
        let at = self.clock.now();
        self.ledger.start(crate::testing::worker(id, group, market, per_hour, at));
    }

    /// The events logged so far.
    pub fn events(&self) -> Vec<Event> {
        self.books.events().unwrap()
    }

    pub fn job(&self, name: &str) -> &JobRecord {
        self.jobs.iter().find(|j| j.name == name).unwrap()
    }
}

impl Fake {
    pub fn new(state: Rc<RefCell<State>>) -> Fake {
        Fake { state, stores: BTreeMap::new() }
    }

    fn state(&self) -> std::cell::RefMut<'_, State> {
        self.state.borrow_mut()
    }
}

/// Job `name`'s store under the test's directory.
pub fn store_of(root: &Path, name: &str) -> LocalDir {
    LocalDir::new(root.join("stores").join(name))
}

impl Cloud for Fake {
    fn stack_name(&self) -> String {
        "fake".into()
    }

    fn books(&self) -> Arc<dyn Books> {
        Arc::new(self.state.borrow().books.clone())
    }

    fn simulated(&self) -> bool {
        false
    }

    fn still_head(&mut self) -> bool {
        self.state().still_head
    }

    fn auto_terminate(&mut self) -> Option<f64> {
        self.state().auto_terminate
    }

    fn ledger(&mut self, now: f64) -> Result<Ledger, CloudError> {
        let state = self.state();
        if now < state.ledger_down_until {
            return Err("the ledger is out of reach".into());
        }
        Ok(state.ledger.clone())
    }

    fn jobs(&mut self) -> Result<Vec<JobRecord>, CloudError> {
        let mut state = self.state();
        if state.failing_reads > 0 {
            state.failing_reads -= 1;
            let reset = || CloudError::transient("cannot read the job records: connection reset");
            return Err(state.read_error.clone().unwrap_or_else(reset));
        }
        Ok(state.jobs.clone())
    }

    fn write_job(&mut self, job: &JobRecord) -> Result<(), CloudError> {
        let mut state = self.state();
        state.acts.push(format!("write {} {}", job.name, job.status.word()));
        match state.jobs.iter_mut().find(|j| j.name == job.name) {
            Some(j) => *j = job.clone(),
            None => state.jobs.push(job.clone()),
        }
        Ok(())
    }

    fn store(&mut self, name: &str) -> Result<&dyn Store, CloudError> {
        let root = self.state.borrow().root.clone();
        Ok(self.stores.entry(name.to_string()).or_insert_with(|| store_of(&root, name)))
    }

    fn reports(&mut self, job: &JobRecord, _: Option<&Ledger>) -> Result<Vec<WorkerReport>, CloudError> {
        let state = self.state();
        let Some(&generation) = state.reported.get(&job.name) else { return Ok(vec![]) };
        let now = state.clock.now();
        if now < state.reports_from {
            return Ok(vec![]);
        }
        let stats = |g: u64| GenerationStats {
            generation: g,
            best: 1.0,
            finite: 4,
            mean: 0.5,
            m2: 0.1,
            evaluations: 4,
            broken: Vec::new(),
        };
        let islands = (0..job.islands).map(|i| (i, (0..=generation).map(stats).collect())).collect();
        Ok(vec![WorkerReport {
            worker: "w0".into(),
            threads: 1,
            started: job.started_at,
            updated: now,
            islands,
            timing: EvalTiming::default(),
        }])
    }

    fn results_dir(&self, job: &JobRecord) -> PathBuf {
        job.results_dir.clone()
    }

    fn results_place(&self, job: &JobRecord) -> String {
        job.results_dir.display().to_string()
    }

    fn keep_results(&mut self, job: &JobRecord, _: &Path, written: bool) -> Result<(), CloudError> {
        self.state().acts.push(format!("keep {} {written}", job.name));
        Ok(())
    }

    fn workers(&mut self, job: &JobRecord, ledger: &Ledger) -> Result<(Vec<scale::Worker>, u64), CloudError> {
        let workers = ledger
            .running()
            .filter(|e| e.address == job.group.as_str())
            .map(|e| scale::Worker {
                instance: e.instance.clone(),
                group: e.address.clone(),
                market: e.market,
                per_hour: e.per_hour,
                started_at: e.started_at,
            })
            .collect();
        Ok((workers, 1))
    }

    fn shed(
        &mut self,
        job: &mut JobRecord,
        victims: &[&scale::Worker],
        kept: usize,
    ) -> Result<(), CloudError> {
        let mut state = self.state();
        let now = state.clock.now();
        for w in victims {
            state.ledger.end(&w.instance, now, End::Terminated);
            state.acts.push(format!("shed {}", w.instance));
        }
        job.dealt_over = kept as u64;
        drop(state);
        Cloud::write_job(self, job)
    }

    fn release(&mut self, job: &JobRecord, how: Release) -> Result<(), CloudError> {
        self.state().acts.push(format!("release {} {how:?}", job.name));
        Ok(())
    }

    fn instances(&mut self) -> Result<u64, CloudError> {
        Ok(self.state().ledger.running().count() as u64)
    }

    fn terminate(&mut self) -> Result<(), CloudError> {
        let mut state = self.state();
        let now = state.clock.now();
        let ids: Vec<String> = state.ledger.running().map(|e| e.instance.clone()).collect();
        for id in ids {
            state.ledger.end(&id, now, End::Terminated);
        }
        state.acts.push("terminate".into());
        Ok(())
    }

    /// A crashing worker is found dead at every pass and started again, within the cap.
    fn tend(&mut self, _now: f64, replacements: &mut Replacements) -> Result<(), CloudError> {
        let mut state = self.state();
        let crashing = state.crashing.clone();
        let running: Vec<JobRecord> =
            state.jobs.iter().filter(|j| j.status == JobStatus::Running).cloned().collect();
        for job in &running {
            for id in &crashing {
                let why = |cap| format!("worker {id} died {cap} times");
                if replacements.allow(job, id, 1, why) {
                    state.acts.push(format!("replace {id}"));
                }
            }
        }
        Ok(())
    }

    /// The fleet's care, as aws runs it, where the test asks for it.
    fn upkeep(&mut self, ledger: &Ledger, replacements: &mut Replacements) -> Vec<(String, CloudError)> {
        let Some(mut fleet) = self.state().fleet.take() else { return Vec::new() };
        let mut failed = Vec::new();
        if let Err(e) = fleet.heal(self, ledger, replacements) {
            failed.push(("look for lost workers".to_string(), e));
        }
        if let Err(e) = fleet.autoscale(self, ledger) {
            failed.push(("size its autoscaled groups".to_string(), e));
        }
        let mut state = self.state();
        state.fleet = Some(fleet);
        if state.losing {
            let now = state.clock.now();
            if let Some(lost) = state.ledger.running().last().map(|e| e.instance.clone()) {
                state.ledger.end(&lost, now, End::Terminated);
            }
        }
        failed
    }

    fn log(&mut self, event: &Event, _: Option<&str>) {
        self.state().books.record_event(event);
    }

    fn say(&mut self, line: &str, _: Option<&str>) {
        self.state().acts.push(format!("say {line}"));
    }
}

/// The fleet's acts on the fake: workers are ledger entries, started and ended at the clock.
impl Workers for Fake {
    fn jobs(&mut self) -> Result<Vec<JobRecord>, CloudError> {
        Ok(self.state().jobs.clone())
    }

    fn job(&mut self, name: &str) -> Result<Option<JobRecord>, CloudError> {
        Ok(self.state().jobs.iter().find(|j| j.name == name).cloned())
    }

    fn write_job(&mut self, job: &JobRecord) -> Result<(), CloudError> {
        Cloud::write_job(self, job)
    }

    fn unfinished(&mut self, job: &JobRecord) -> Result<Vec<u64>, CloudError> {
        Ok((0..job.islands).collect())
    }

    fn claim_holder(&mut self, _: &str, _: u64) -> Result<Option<String>, CloudError> {
        Ok(None)
    }

    fn waiting_for_islands(&mut self, _: &str, _: u64) -> Result<Vec<String>, CloudError> {
        Ok(Vec::new())
    }

    fn start(&mut self, group: &Addr, count: u64) -> Result<String, CloudError> {
        let mut state = self.state();
        let mut ids = Vec::new();
        for _ in 0..count {
            state.started += 1;
            let id = format!("n{}", state.started);
            state.start(&id, group.as_str(), Market::Spot, 3.6);
            ids.push(id);
        }
        state.acts.push(format!("start {}", ids.join(" ")));
        Ok(ids.join(", "))
    }

    fn terminate(&mut self, workers: &[String]) -> Result<(), CloudError> {
        let mut state = self.state();
        let now = state.clock.now();
        for id in workers {
            state.ledger.end(id, now, End::Terminated);
        }
        state.acts.push(format!("terminate {}", workers.join(" ")));
        Ok(())
    }

    fn record(&mut self, event: Event) {
        self.state().books.record_event(&event);
    }

    fn now(&self) -> f64 {
        self.state.borrow().clock.now()
    }
}
