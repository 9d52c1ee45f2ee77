//! The local cloud: every instance is a detached `gaform head`, `worker` or `serve` process
//! on this machine, recorded under `.gaform/` beside the `.gaf` file and observed by pid
//! and start time. Jobs run in a runtime store under `.gaform/jobs/NAME/store`.

pub mod agent;
mod lock;
pub mod records;

pub use lock::{clear_stale, Lock};
pub use records::{InstanceRecord, JobRecord, StackDir, StackRecord};

use crate::process::{spawn_detached, ProcessId};
use crate::CloudError;
use crate::{JobSetup, Provider};
use gaform_compiler::plan::{
    Action, Addr, Change, Desired, Facts, Instance, Kind, Observed, ObservedResource, Resource,
};
use records::{now, remove_dir, remove_file};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The provider name in plans.
const LOCAL: &str = "local";

/// How long a stopped process gets to exit on SIGTERM before SIGKILL. A worker saves its
/// islands at the end of the generation under way first (so a stop keeps every generation
/// done), and one generation of a large population can take tens of seconds; a worker
/// between generations exits at once.
const STOP_GRACE: Duration = Duration::from_secs(60);
/// How long a started process gets to register itself.
const START_WAIT: Duration = Duration::from_secs(20);
/// How long a roll's new replica gets to load a strategy before the roll stops.
const READY_WAIT: Duration = Duration::from_secs(15);

/// The local provider of one stack.
#[derive(Clone)]
pub struct LocalProvider {
    stack: StackDir,
    /// The `gaform` executable instances run.
    exe: PathBuf,
    /// Where results land (`results/JOB`), absolute.
    results: PathBuf,
    setup: Option<Arc<dyn JobSetup>>,
}

impl LocalProvider {
    /// The provider for the stack in `stack`, starting instances with `exe`.
    pub fn new(
        stack: StackDir,
        exe: PathBuf,
        results: PathBuf,
        setup: Option<Arc<dyn JobSetup>>,
    ) -> LocalProvider {
        LocalProvider { stack, exe, results, setup }
    }

    /// The stack's directory.
    pub fn stack(&self) -> &StackDir {
        &self.stack
    }

    /// Starts one instance in `slot` from `template` (its address, kind, attributes) and
    /// waits until the process has registered itself.
    pub fn start_instance(&self, template: &InstanceRecord, slot: u64) -> Result<ProcessId, CloudError> {
        // A start in a slot ends whatever started there before (a dead worker, a killed head).
        if let Some(before) = self.stack.instance(&template.address, slot)? {
            self.stack.bill_end(&before, now())?;
        }
        self.launch(template, slot)
    }

    /// `start_instance` without ending what ran in the slot before: a roll's new replica,
    /// whose predecessor serves on until it has taken the slot.
    fn launch(&self, template: &InstanceRecord, slot: u64) -> Result<ProcessId, CloudError> {
        let mut record = template.clone();
        record.index = slot;
        record.process = None;
        record.started_at = now();
        self.stack.write_instance(&record)?;
        self.stack.bill_start(&record)?;
        let mut command = Command::new(&self.exe);
        let role = match record.kind {
            Kind::Head => "head",
            Kind::Service => "serve",
            _ => "worker",
        };
        command.arg(role).arg("--stack").arg(self.stack.root()).arg("--address").arg(record.address.as_str());
        command.arg("--index").arg(slot.to_string());
        if record.kind == Kind::WorkerGroup {
            command.arg("--threads").arg(record.threads.to_string());
        }
        let log = self.stack.instance_log(&record.address, slot);
        let child = spawn_detached(&mut command, &log)
            .map_err(|e| format!("cannot start {}: {e}", record.address.instance(slot)))?;
        let waited = Instant::now();
        loop {
            let registered = self.stack.instance(&record.address, slot)?.and_then(|r| r.process);
            if registered == Some(child) {
                return Ok(child);
            }
            if !child.is_alive() || waited.elapsed() > START_WAIT {
                let _ = child.terminate(STOP_GRACE);
                return Err(format!(
                    "{} (pid {}) did not start: {}",
                    record.address.instance(slot),
                    child.pid,
                    tail(&log)
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops the instance in `slot` of `address` (if it runs) and removes its record.
    pub fn stop_instance(&self, address: &Addr, slot: u64) -> Result<(), CloudError> {
        if let Some(r) = self.stack.instance(address, slot)? {
            if let Some(p) = r.process {
                if !p.terminate(STOP_GRACE) {
                    return Err(format!("{} (pid {}) did not stop", address.instance(slot), p.pid).into());
                }
            }
        }
        self.stack.remove_instance(address, slot)
    }

    /// Stops the instances in `slots` of `address` together (each is asked first, then
    /// waited for: workers save their islands, and an island may wait on another's) and
    /// removes their records.
    pub fn stop_instances(&self, address: &Addr, slots: &[u64]) -> Result<(), CloudError> {
        let mut records = Vec::new();
        for &slot in slots {
            records.extend(self.stack.instance(address, slot)?);
        }
        for p in records.iter().filter_map(|r| r.process) {
            p.ask_to_stop();
        }
        for r in &records {
            if let Some(p) = r.process {
                if !p.finish_stopping(STOP_GRACE) {
                    return Err(format!("{} (pid {}) did not stop", address.instance(r.index), p.pid).into());
                }
            }
            self.stack.remove_instance(address, r.index)?;
        }
        Ok(())
    }

    /// Stops every instance of `address` that runs, keeping the records: what a job's
    /// removal does to its workers (they write into the store a new run of the job is
    /// given). The records of those it stopped.
    fn interrupt(&self, address: &Addr) -> Result<Vec<InstanceRecord>, CloudError> {
        let running: Vec<InstanceRecord> = self
            .stack
            .instances()?
            .into_iter()
            .filter(|r| &r.address == address && r.process.is_some_and(|p| p.is_alive()))
            .collect();
        for p in running.iter().filter_map(|r| r.process) {
            p.ask_to_stop();
        }
        for p in running.iter().filter_map(|r| r.process) {
            p.finish_stopping(STOP_GRACE);
        }
        Ok(running)
    }

    fn counted(&self, change: &Change, desired: &Desired) -> Result<String, CloudError> {
        if let Some(rolled) = self.roll(change, desired)? {
            return Ok(rolled);
        }
        let address = &change.address;
        let mut said = Vec::new();
        for i in &change.stop {
            self.stop_instance(address, i.index)?;
            said.push(format!("stopped [{}] {}", i.index, i.id));
        }
        // Records of dead instances are cleared when their resource changes.
        let records = self.stack.instances()?;
        for r in records.iter().filter(|r| &r.address == address) {
            let live = r.process.is_some_and(|p| p.is_alive());
            if !live || change.action == Action::Delete {
                self.stop_instance(address, r.index)?;
            }
        }
        // The instances kept take the attributes the plan showed, whatever else the change
        // does (a scale that also edits `min`, say): the new ones start with them.
        if matches!(change.action, Action::Update | Action::Scale) && change.before != change.after {
            for mut r in self.stack.instances()?.into_iter().filter(|r| &r.address == address) {
                r.attributes = change.after.clone().unwrap_or_default();
                self.stack.write_instance(&r)?;
            }
            said.push("attributes recorded".into());
        }
        if !change.start.is_empty() {
            let resource =
                desired.get(address).ok_or_else(|| format!("{address} is not in the desired state"))?;
            let template = template(resource);
            for &slot in &change.start {
                let id = self.start_instance(&template, slot)?;
                said.push(format!("started [{slot}] pid {}", id.pid));
            }
        }
        Ok(said.join(", "))
    }

    /// A service replaced one replica at a time, when its port stays and replicas run: in
    /// each slot the new replica starts beside the old one (both listen on the port), and
    /// once it has registered, and has a strategy to answer with if the old one had, the old
    /// one drains (it sees its slot taken by a ready replica, stops taking connections and
    /// finishes those it has). A new replica that does not start or get ready stops the roll: the old one of
    /// its slot is given its slot back and every old replica keeps serving. `None` when the
    /// change is no roll.
    fn roll(&self, change: &Change, desired: &Desired) -> Result<Option<String>, CloudError> {
        let address = &change.address;
        let port =
            |a: &Option<gaform_compiler::plan::Attributes>| a.as_ref().and_then(|a| a.get("port").cloned());
        let live = |r: &Option<InstanceRecord>| r.as_ref().and_then(|r| r.process).filter(|p| p.is_alive());
        let running =
            change.stop.iter().any(|i| live(&self.stack.instance(address, i.index).ok().flatten()).is_some());
        if change.kind != Kind::Service
            || change.action != Action::Replace
            || port(&change.before) != port(&change.after)
            || !running
        {
            return Ok(None);
        }
        let resource =
            desired.get(address).ok_or_else(|| format!("{address} is not in the desired state"))?;
        let template = template(resource);
        let mut said = Vec::new();
        for &slot in &change.start {
            let old = self.stack.instance(address, slot)?;
            let old_live = live(&old);
            let old_ready = old_live.is_some() && old.as_ref().is_some_and(|r| r.ready_at.is_some());
            let failed = |why: String| -> Result<Option<String>, CloudError> {
                // The new replica goes and the old one gets its slot back: nothing changed here.
                if let Some(new) = self.stack.instance(address, slot)? {
                    if let Some(p) = new.process.filter(|p| Some(*p) != old_live) {
                        p.terminate(STOP_GRACE);
                    }
                    self.stack.bill_end(&new, now())?;
                }
                match &old {
                    Some(old) => self.stack.write_instance(old)?,
                    None => self.stack.remove_instance(address, slot)?,
                }
                Err(format!(
                    "{}: {why}; the roll stopped there and the old replicas keep serving{}",
                    address.instance(slot),
                    if said.is_empty() {
                        String::new()
                    } else {
                        format!(" (done before it: {})", said.join(", "))
                    }
                )
                .into())
            };
            let new = match self.launch(&template, slot) {
                Ok(new) => new,
                Err(e) => return failed(format!("the new replica did not start: {e}")),
            };
            if old_ready && !self.wait_ready(address, slot, new) {
                let log = self.stack.instance_log(address, slot);
                return failed(format!(
                    "the new replica (pid {}) had no strategy to answer with after {READY_WAIT:?}: {}",
                    new.pid,
                    tail(&log)
                ));
            }
            // Displaced by a ready successor, the old replica drains by itself (one that does
            // not is stopped); one that had nothing to answer with is stopped at once.
            if let Some(p) = old_live {
                if !old_ready || !p.wait_gone(STOP_GRACE) {
                    p.terminate(STOP_GRACE);
                }
            }
            if let Some(old) = &old {
                self.stack.bill_end(old, now())?;
            }
            let was = old_live.map_or("none".to_string(), |p| format!("pid {}", p.pid));
            said.push(format!("rolled [{slot}] {was} -> pid {}", new.pid));
        }
        for i in change.stop.iter().filter(|i| !change.start.contains(&i.index)) {
            self.stop_instance(address, i.index)?;
            said.push(format!("stopped [{}] {}", i.index, i.id));
        }
        Ok(Some(said.join(", ")))
    }

    /// Waits up to [`READY_WAIT`] for the replica `pid` in `slot` to say it has a strategy.
    fn wait_ready(&self, address: &Addr, slot: u64, pid: ProcessId) -> bool {
        let started = Instant::now();
        while started.elapsed() < READY_WAIT {
            match self.stack.instance(address, slot) {
                Ok(Some(r)) if r.process == Some(pid) && r.ready_at.is_some() => return true,
                Ok(Some(r)) if r.process == Some(pid) && !pid.is_alive() => return false,
                _ => {}
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn job(&self, change: &Change, desired: &Desired) -> Result<String, CloudError> {
        let name = change.address.as_str().trim_start_matches("job.").to_string();
        match change.action {
            Action::Delete => {
                self.remove_job(&name).map(|()| "removed its record and store (results stay)".into())
            }
            Action::Replace => {
                // The old run's workers save their islands and stop, and start again for the
                // new run: a new spec, not a death. The old record stays (marked) until the
                // new one takes its place, so the head never sees the job gone (which would
                // end the compute) nor its workers dead (which it would replace).
                let stopped = match self.stack.job(&name)? {
                    Some(mut old) => {
                        old.replacing = true;
                        self.stack.write_job(&old)?;
                        self.interrupt(&old.group)?
                    }
                    None => vec![],
                };
                self.create_job(&name, change, desired, &stopped)
            }
            Action::Create => self.create_job(&name, change, desired, &[]),
            Action::Update | Action::Scale => {
                let mut record =
                    self.stack.job(&name)?.ok_or_else(|| format!("{} has no record", change.address))?;
                record.attributes = change.after.clone().unwrap_or_default();
                record.max_runtime_secs = runtime_secs(&record.attributes);
                let restarted = record.run_again();
                self.stack.write_job(&record)?;
                Ok(if restarted {
                    "running again from its checkpoints".into()
                } else {
                    "attributes recorded".into()
                })
            }
        }
    }

    /// Removes job `name`'s record and store, its workers stopped first.
    fn remove_job(&self, name: &str) -> Result<(), CloudError> {
        if let Some(record) = self.stack.job(name)? {
            self.interrupt(&record.group)?;
        }
        remove_dir(&self.stack.job_dir(name))
    }

    /// Writes job `name`'s store and record (over a replaced run's, which stays until then);
    /// the `restart` workers (stopped for it) start again before the record is written, so
    /// they idle until it is and take the new run.
    fn create_job(
        &self,
        name: &str,
        change: &Change,
        desired: &Desired,
        restart: &[InstanceRecord],
    ) -> Result<String, CloudError> {
        let record = JobRecord::new_run(change, desired, self.results.join(name))?;
        let setup = self.setup.as_ref().ok_or("this provider cannot prepare jobs")?;
        let store = self.stack.job_store(name);
        remove_dir(&store)?;
        remove_file(&self.stack.job_log(name))?;
        for (key, bytes) in setup.blobs(name, record.islands)? {
            crate::state::write_atomically(&store.join(key), &bytes)?;
        }
        let mut restarted = Vec::new();
        for worker in restart {
            let pid = self.start_instance(worker, worker.index)?.pid;
            restarted.push(format!("{} pid {pid}", worker.address.instance(worker.index)));
        }
        self.stack.write_job(&record)?;
        let again = if restarted.is_empty() {
            String::new()
        } else {
            format!("; its workers restarted for the new spec: {}", restarted.join(", "))
        };
        self.stack.event(
            Some(&self.stack.job_log(name)),
            &format!(
                "{}: started, {} island(s) on {} worker(s){again}",
                change.address, record.islands, record.workers
            ),
        );
        Ok(format!("{} island(s) on {} ({} worker(s)){again}", record.islands, record.group, record.workers))
    }

    fn state_dir(&self, change: &Change) -> Result<String, CloudError> {
        if change.action == Action::Delete {
            for dir in ["instances", "jobs", "logs"] {
                remove_dir(&self.stack.root().join(dir))?;
            }
            remove_file(&self.stack.root().join("events.log"))?;
            remove_file(&self.stack.stack_file())?;
            return Ok(format!("removed the records in {}", self.stack.root().display()));
        }
        let record = StackRecord {
            address: change.address.clone(),
            attributes: change.after.clone().unwrap_or_default(),
        };
        self.stack.write_stack(&record)?;
        Ok(format!("records in {}", self.stack.root().display()))
    }
}

impl Provider for LocalProvider {
    fn observe(&self) -> Result<Observed, CloudError> {
        let mut observed = Observed::default();
        if let Some(stack) = self.stack.stack()? {
            observed.resources.insert(
                stack.address,
                ObservedResource {
                    kind: Kind::StateDir,
                    provider: LOCAL.into(),
                    cloud: String::new(),
                    attributes: stack.attributes,
                    instances: vec![],
                    job: None,
                    depends_on: vec![],
                    frozen: None,
                    mix: None,
                },
            );
        }
        let mut each: std::collections::BTreeMap<Addr, Vec<gaform_compiler::plan::Attributes>> =
            Default::default();
        for r in self.stack.instances()? {
            let Some(p) = r.process.filter(ProcessId::is_alive) else { continue };
            each.entry(r.address.clone()).or_default().push(r.attributes.clone());
            let entry = observed.resources.entry(r.address.clone()).or_insert_with(|| ObservedResource {
                kind: r.kind,
                provider: LOCAL.into(),
                cloud: String::new(),
                attributes: r.attributes.clone(),
                instances: vec![],
                job: None,
                depends_on: r.depends_on.clone(),
                frozen: None,
                mix: None,
            });
            entry.instances.push(Instance { index: r.index, id: format!("pid {}", p.pid) });
        }
        // What each resource is, as all its live instances say (not the first alone).
        for (address, attributes) in each {
            if let Some(resource) = observed.resources.get_mut(&address) {
                resource.attributes = crate::agreed(&attributes);
            }
        }
        for j in self.stack.jobs()? {
            if let Some(group) = observed.resources.get_mut(&j.group).filter(|_| is_frozen(&j)) {
                group.frozen = Some(frozen_reason(&j));
            }
            observed.resources.insert(
                j.address.clone(),
                ObservedResource {
                    kind: Kind::Job,
                    provider: LOCAL.into(),
                    cloud: String::new(),
                    attributes: j.attributes,
                    instances: vec![],
                    job: Some(j.status),
                    depends_on: j.depends_on,
                    frozen: None,
                    mix: None,
                },
            );
        }
        Ok(observed)
    }

    /// The local cloud's one fact: what each budget has spent, from the stack's ledger.
    fn facts(&self, desired: &Desired) -> Result<Facts, CloudError> {
        let local = |compute: &str| {
            desired.resources.iter().any(|r| r.addr.compute() == Some(compute) && r.provider == LOCAL)
        };
        // Nothing is billed here: the prices are what the types would cost on AWS.
        use crate::books::Books;
        let (ledger, handed) = (self.stack.ledger()?, self.stack.budgets()?);
        let spend = crate::books::spend(&ledger, &handed, desired, local, true, now());
        Ok(Facts { spend, ..Facts::default() })
    }

    fn apply(&self, change: &Change, desired: &Desired) -> Result<String, CloudError> {
        match change.kind {
            Kind::StateDir => self.state_dir(change),
            Kind::Head | Kind::WorkerGroup | Kind::Service => self.counted(change, desired),
            Kind::Job => self.job(change, desired),
            Kind::SecurityGroup | Kind::LaunchTemplate | Kind::Artifacts | Kind::Role => {
                Err(format!("{}: the local cloud has no {}", change.address, change.kind.noun()).into())
            }
        }
    }
}

/// Whether a budget's scale-down froze `job`'s current run.
pub(crate) fn is_frozen(job: &JobRecord) -> bool {
    job.frozen && job.status == gaform_compiler::plan::JobStatus::Running
}

/// Why a frozen job's group starts nothing, as plans say it.
pub(crate) fn frozen_reason(job: &JobRecord) -> String {
    format!("a budget's scale-down froze the run of {} (see `gaform events`)", job.address)
}

/// The record every instance of `resource` starts from.
fn template(resource: &Resource) -> InstanceRecord {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let vcpus = resource.footprint.as_ref().map_or(1, |f| f.vcpus.max(1) as usize);
    InstanceRecord {
        address: resource.addr.clone(),
        kind: resource.kind,
        index: 0,
        attributes: resource.attributes.clone(),
        depends_on: resource.depends_on.clone(),
        threads: vcpus.min(cores),
        process: None,
        started_at: now(),
        per_hour: resource.footprint.as_ref().map_or(0.0, |f| f.list_hourly),
        spot: ["market", "purchase"]
            .iter()
            .any(|k| resource.attributes.get(*k).is_some_and(|m| m.starts_with("spot"))),
        ready_at: None,
    }
}

fn runtime_secs(attributes: &gaform_compiler::plan::Attributes) -> Option<f64> {
    gaform_compiler::plan::describe::parse_duration(attributes.get("max_runtime")?)
}

/// The last lines of a log, for a message.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().rev().take(5).collect();
    if lines.is_empty() {
        format!("nothing in {}", log.display())
    } else {
        lines.into_iter().rev().collect::<Vec<_>>().join(" / ")
    }
}
