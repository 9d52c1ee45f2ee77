//! The local cloud's records under `.gaform/`, one small JSON file per instance and per
//! job, each written atomically: a SIGKILL at any moment leaves every record whole, and
//! the next observe sees exactly what was made.

use crate::process::ProcessId;
use crate::state::{read_json, write_json};
use crate::CloudError;
use gaform_compiler::ir::Market;
use gaform_compiler::plan::{Addr, Attributes, JobStatus, Kind};
use gaform_control::budget::{BudgetState, Policy};
use gaform_control::event::Event;
use gaform_control::ledger::{End, Entry, Ledger};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The `.gaform/` directory of one stack.
#[derive(Clone, Debug)]
pub struct StackDir {
    root: PathBuf,
}

/// The state directory's own record: it exists once `local.state_dir` is created.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StackRecord {
    pub address: Addr,
    pub attributes: Attributes,
}

/// One head, worker or service replica: a `gaform head` / `worker` / `serve` process.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub address: Addr,
    pub kind: Kind,
    pub index: u64,
    pub attributes: Attributes,
    pub depends_on: Vec<Addr>,
    /// Rayon threads for a worker: its type's vCPUs, capped at this machine's cores.
    pub threads: usize,
    /// Filled in by the process itself when it starts, so that a spawner killed between
    /// `spawn` and its next write still leaves a process that is known and not started twice.
    pub process: Option<ProcessId>,
    /// Unix seconds.
    pub started_at: f64,
    /// What one instance would cost on AWS, on-demand, in the cloud's region, US dollars
    /// per hour: the ledger's simulated price.
    #[serde(default)]
    pub per_hour: f64,
    /// Bought on the spot market (as the file says; the local cloud runs it the same).
    #[serde(default)]
    pub spot: bool,
    /// A service replica: when it first had a strategy to answer with (a roll waits for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_at: Option<f64>,
}

impl InstanceRecord {
    /// This start's id in the ledger: its slot and the time it started, so that a slot
    /// restarted is a new start and a start seen twice is the same one.
    pub fn ledger_id(&self) -> String {
        format!("{}@{}", self.address.instance(self.index), (self.started_at * 1_000.0).round() as i64)
    }

    /// Its instance type as the file gives it (a diversified group's list, comma-separated).
    pub fn instance_type(&self) -> &str {
        let attr = |k: &str| self.attributes.get(k);
        attr("instance_type").or_else(|| attr("instance_types")).map_or("", String::as_str)
    }

    /// This start as a ledger entry, still running.
    fn ledger_entry(&self) -> Entry {
        Entry {
            instance: self.ledger_id(),
            address: self.address.instance(self.index),
            compute: self.address.compute().unwrap_or_default().to_string(),
            instance_type: self.instance_type().to_string(),
            market: if self.spot { Market::Spot } else { Market::OnDemand },
            per_hour: self.per_hour,
            simulated: true,
            started_at: self.started_at,
            ended_at: None,
            end: None,
        }
    }
}

/// Where a local head serves its metrics.
#[derive(Serialize, Deserialize)]
struct MetricsAddress {
    address: std::net::SocketAddr,
}

/// One job's run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobRecord {
    pub address: Addr,
    pub name: String,
    pub attributes: Attributes,
    pub depends_on: Vec<Addr>,
    pub status: JobStatus,
    /// The group whose workers run it, and how many there are: worker k runs islands
    /// k, k + workers, …
    pub group: Addr,
    pub workers: u64,
    /// Units of work: the job's islands times its walk-forward folds (unit u is island
    /// u mod islands of fold u / islands); dealt over the workers like islands.
    pub islands: u64,
    pub max_runtime_secs: Option<f64>,
    /// Absolute: where the head writes `best.json` and the rest.
    pub results_dir: PathBuf,
    /// Unix seconds.
    pub started_at: f64,
    pub finished_at: Option<f64>,
    /// The best strategy and its metrics, once finished.
    pub summary: Option<String>,
    /// The worker slots that run it, when a budget's scale-down left fewer than `workers`:
    /// the islands are dealt over these, in order. `None`: slots 0 to `workers - 1`.
    #[serde(default)]
    pub slots: Option<Vec<u64>>,
    /// Frozen by a budget's scale-down: a worker that dies is not replaced (its islands go
    /// to the others) and nothing scales up.
    #[serde(default)]
    pub frozen: bool,
    /// On aws: how many times a budget has shed workers of this run. A worker that sees it
    /// change claims the islands the shed ones left, which resume from their checkpoints.
    #[serde(default)]
    pub dealt: u64,
    /// On aws: on-demand workers the head is moving to spot (`return_to_spot`). Each saves
    /// its islands where they are, lets go of them and leaves; the head then terminates it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retiring: Vec<String>,
    /// On aws, a group its head sizes (`autoscale = true`): the bounds it sizes it within.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<gaform_control::autoscale::Sizing>,
    /// How many workers the islands were last dealt over: when the head grew the group
    /// past it and the new workers are up, it deals them again.
    #[serde(default)]
    pub dealt_over: u64,
    /// Apply is replacing this run with a new spec (local cloud): it stops the workers on
    /// purpose and starts them again for the new run, whose record takes this one's place.
    /// Until then the head leaves the job alone, neither replacing its workers nor
    /// gathering it, and the compute is not over.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replacing: bool,
}

impl JobRecord {
    /// A new run of the job `change` creates: its group (the job's first dependency), that
    /// group's planned worker count, the job's islands, results going to `results_dir`.
    pub fn new_run(
        change: &gaform_compiler::plan::Change,
        desired: &gaform_compiler::plan::Desired,
        results_dir: PathBuf,
    ) -> Result<JobRecord, CloudError> {
        let attributes = change.after.clone().unwrap_or_default();
        let group = change
            .needs
            .first()
            .cloned()
            .ok_or_else(|| format!("{} names no worker group", change.address))?;
        let planned = desired.get(&group);
        let workers = planned.and_then(|g| g.count.as_ref()).map_or(1, |c| c.value.max(1));
        let population = attributes.get("population").and_then(|p| p.parse().ok()).unwrap_or(1);
        let scaling = planned.and_then(|g| {
            let count = g.count.as_ref()?;
            let scale = count.autoscale.as_ref()?;
            let vcpus = g.footprint.as_ref().map_or(1, |f| f.vcpus);
            Some(gaform_control::autoscale::Sizing {
                min: count.min,
                ceiling: scale.ceiling,
                per_worker: gaform_compiler::plan::count::islands_per_worker(vcpus, population),
            })
        });
        Ok(JobRecord {
            address: change.address.clone(),
            name: change.address.as_str().trim_start_matches("job.").to_string(),
            // Units of work: each walk-forward fold runs the job's islands of its own.
            islands: attributes.get("islands").and_then(|v| v.parse::<u64>().ok()).unwrap_or(workers)
                * attributes.get("folds").and_then(|v| v.parse::<u64>().ok()).unwrap_or(1).max(1),
            max_runtime_secs: attributes
                .get("max_runtime")
                .and_then(|t| gaform_compiler::plan::describe::parse_duration(t)),
            attributes,
            depends_on: change.needs.clone(),
            status: JobStatus::Running,
            group,
            workers,
            results_dir,
            started_at: now(),
            finished_at: None,
            summary: None,
            slots: None,
            frozen: false,
            dealt: 0,
            retiring: vec![],
            scaling,
            dealt_over: workers,
            replacing: false,
        })
    }

    /// Starts a failed or stopped job's run again (apply, once its cause is dealt with):
    /// the islands resume from their checkpoints, and a budget's scale-down of the last
    /// run no longer stands. False, and nothing changed, for a job in any other state.
    pub fn run_again(&mut self) -> bool {
        if !matches!(self.status, JobStatus::Failed { .. } | JobStatus::Stopped { .. }) {
            return false;
        }
        self.status = JobStatus::Running;
        self.slots = None;
        self.frozen = false;
        self.dealt = 0;
        self.dealt_over = self.workers;
        self.retiring.clear();
        self.started_at = now();
        self.finished_at = None;
        true
    }

    /// The worker slots that run this job.
    pub fn worker_slots(&self) -> Vec<u64> {
        self.slots.clone().unwrap_or_else(|| (0..self.workers).collect())
    }

    /// The islands the worker in `slot` runs: the job's islands dealt over its slots in
    /// turn (the k-th slot of n runs islands k, k + n, ...); none for a slot not running it.
    pub fn islands_for(&self, slot: u64) -> Vec<u64> {
        let slots = self.worker_slots();
        match slots.iter().position(|&s| s == slot) {
            Some(k) => (k as u64..self.islands).step_by(slots.len().max(1)).collect(),
            None => Vec::new(),
        }
    }
}

/// Unix seconds now.
pub fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

impl StackDir {
    /// The stack whose records live in `root` (`.gaform` beside the `.gaf` file).
    pub fn new(root: impl Into<PathBuf>) -> StackDir {
        StackDir { root: root.into() }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn stack_file(&self) -> PathBuf {
        self.root.join("stack.json")
    }

    fn instances_dir(&self) -> PathBuf {
        self.root.join("instances")
    }

    fn jobs_dir(&self) -> PathBuf {
        self.root.join("jobs")
    }

    /// The cost ledger: one file per instance start, kept by `destroy` (tearing a stack
    /// down must not reset what its budgets have spent).
    fn ledger_dir(&self) -> PathBuf {
        self.root.join("ledger")
    }

    /// Where an instance's record lives.
    pub fn instance_file(&self, address: &Addr, index: u64) -> PathBuf {
        self.instances_dir().join(format!("{}.json", address.instance(index)))
    }

    /// Where an instance's process writes its stdout and stderr.
    pub fn instance_log(&self, address: &Addr, index: u64) -> PathBuf {
        self.root.join("logs").join(format!("{}.log", address.instance(index)))
    }

    /// A job's directory: record, store and log.
    pub fn job_dir(&self, name: &str) -> PathBuf {
        self.jobs_dir().join(name)
    }

    /// A job's runtime store: configuration, data, checkpoints.
    pub fn job_store(&self, name: &str) -> PathBuf {
        self.job_dir(name).join("store")
    }

    /// A job's log: what its head and workers said.
    pub fn job_log(&self, name: &str) -> PathBuf {
        self.job_dir(name).join("log")
    }

    fn job_file(&self, name: &str) -> PathBuf {
        self.job_dir(name).join("record.json")
    }

    /// The lock file.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("lock")
    }

    /// Records where compute `compute`'s head serves its metrics (the port it took).
    pub fn write_metrics_address(&self, compute: &str, at: std::net::SocketAddr) -> Result<(), CloudError> {
        write_json(
            &self.root.join("metrics").join(format!("{compute}.json")),
            &MetricsAddress { address: at },
        )
    }

    /// Where compute `compute`'s head last served its metrics, if it ever did.
    pub fn metrics_address(&self, compute: &str) -> Option<std::net::SocketAddr> {
        let path = self.root.join("metrics").join(format!("{compute}.json"));
        read_json::<MetricsAddress>(&path).ok().flatten().map(|m| m.address)
    }

    /// The state directory's record, if created.
    pub fn stack(&self) -> Result<Option<StackRecord>, CloudError> {
        read_json(&self.stack_file())
    }

    /// Writes the state directory's record.
    pub fn write_stack(&self, record: &StackRecord) -> Result<(), CloudError> {
        write_json(&self.stack_file(), record)
    }

    /// Every instance record, live or not, sorted by address and index.
    pub fn instances(&self) -> Result<Vec<InstanceRecord>, CloudError> {
        let mut out: Vec<InstanceRecord> =
            self.read_all(&self.instances_dir(), |p| p.extension().is_some_and(|e| e == "json"))?;
        out.sort_by(|a, b| (&a.address, a.index).cmp(&(&b.address, b.index)));
        Ok(out)
    }

    /// One instance's record.
    pub fn instance(&self, address: &Addr, index: u64) -> Result<Option<InstanceRecord>, CloudError> {
        read_json(&self.instance_file(address, index))
    }

    /// Writes an instance's record.
    pub fn write_instance(&self, record: &InstanceRecord) -> Result<(), CloudError> {
        write_json(&self.instance_file(&record.address, record.index), record)
    }

    /// Removes an instance's record, ending its start in the ledger.
    pub fn remove_instance(&self, address: &Addr, index: u64) -> Result<(), CloudError> {
        if let Some(record) = self.instance(address, index)? {
            self.bill_end(&record, now())?;
        }
        remove_file(&self.instance_file(address, index))
    }

    /// Appends `event` to the stack's event log (`events.jsonl`, one JSON object a line,
    /// kept by `destroy`) and its reason to `events.log` and `log` if given.
    pub fn log_event(&self, event: &Event, log: Option<&Path>) {
        if let Ok(mut f) =
            std::fs::OpenOptions::new().create(true).append(true).open(self.root.join("events.jsonl"))
        {
            let _ = f.write_all(event.to_line().as_bytes());
        }
        self.event(log, &event.reason);
    }

    fn ledger_file(&self, id: &str) -> PathBuf {
        self.ledger_dir().join(format!("{id}.json"))
    }

    /// Records `record`'s start in the ledger (again is a no-op: the id is the start's).
    pub(crate) fn bill_start(&self, record: &InstanceRecord) -> Result<(), CloudError> {
        let path = self.ledger_file(&record.ledger_id());
        if read_json::<Entry>(&path)?.is_some() {
            return Ok(());
        }
        write_json(&path, &record.ledger_entry())
    }

    /// Ends `record`'s start in the ledger at `at` (the first end recorded is the one billed).
    pub(crate) fn bill_end(&self, record: &InstanceRecord, at: f64) -> Result<(), CloudError> {
        let path = self.ledger_file(&record.ledger_id());
        let mut entry = read_json::<Entry>(&path)?.unwrap_or_else(|| record.ledger_entry());
        if entry.ended_at.is_none() {
            entry.ended_at = Some(at.max(entry.started_at));
            entry.end = Some(End::Terminated);
            write_json(&path, &entry)?;
        }
        Ok(())
    }

    /// Every job record, sorted by name.
    pub fn jobs(&self) -> Result<Vec<JobRecord>, CloudError> {
        let dir = self.jobs_dir();
        let mut out = Vec::new();
        for entry in list(&dir)? {
            if let Some(record) = read_json::<JobRecord>(&entry.join("record.json"))? {
                out.push(record);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// One job's record.
    pub fn job(&self, name: &str) -> Result<Option<JobRecord>, CloudError> {
        read_json(&self.job_file(name))
    }

    /// Writes a job's record.
    pub fn write_job(&self, record: &JobRecord) -> Result<(), CloudError> {
        write_json(&self.job_file(&record.name), record)
    }

    /// Appends a line to `.gaform/events.log` and to `log` if given: what happened to the
    /// stack without anyone asking (a worker replaced, a compute terminated).
    pub fn event(&self, log: Option<&Path>, line: &str) {
        let stamped = format!("{} {line}\n", timestamp(now()));
        for path in std::iter::once(self.root.join("events.log")).chain(log.map(Path::to_path_buf)) {
            if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(&path) {
                let _ = f.write_all(stamped.as_bytes());
            }
        }
    }

    fn read_all<T: serde::de::DeserializeOwned>(
        &self,
        dir: &Path,
        keep: impl Fn(&Path) -> bool,
    ) -> Result<Vec<T>, CloudError> {
        let mut out = Vec::new();
        for path in list(dir)?.into_iter().filter(|p| keep(p)) {
            if let Some(r) = read_json(&path)? {
                out.push(r);
            }
        }
        Ok(out)
    }
}

fn list(dir: &Path) -> Result<Vec<PathBuf>, CloudError> {
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            // Temporary files of atomic writes in flight start with a dot.
            paths.retain(|p| !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')));
            paths.sort();
            Ok(paths)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(format!("cannot list {}: {e}", dir.display()).into()),
    }
}

/// Removes a file; a file already gone is fine.
pub fn remove_file(path: &Path) -> Result<(), CloudError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot remove {}: {e}", path.display()).into())
        }
        _ => Ok(()),
    }
}

/// Removes a directory tree; one already gone is fine.
pub fn remove_dir(path: &Path) -> Result<(), CloudError> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot remove {}: {e}", path.display()).into())
        }
        _ => Ok(()),
    }
}

/// `2026-11-26T05:30:38Z` for Unix seconds (UTC, RFC 3339).
pub fn timestamp(unix: f64) -> String {
    let at = UNIX_EPOCH + std::time::Duration::from_secs_f64(unix.max(0.0));
    humantime::format_rfc3339_seconds(at).to_string()
}

impl crate::books::Books for StackDir {
    fn ledger(&self) -> Result<Ledger, CloudError> {
        let mut ledger = Ledger::default();
        for entry in
            self.read_all::<Entry>(&self.ledger_dir(), |p| p.extension().is_some_and(|e| e == "json"))?
        {
            ledger.start(entry);
        }
        Ok(ledger)
    }

    fn budgets(&self) -> Result<Vec<Policy>, CloudError> {
        Ok(read_json(&self.root.join("budgets").join("policies.json"))?.unwrap_or_default())
    }

    fn write_budgets(&self, policies: &[Policy]) -> Result<(), CloudError> {
        write_json(&self.root.join("budgets").join("policies.json"), &policies)
    }

    fn monitors(&self) -> Result<Vec<gaform_control::alerts::Monitor>, CloudError> {
        Ok(read_json(&self.root.join("monitors").join("monitors.json"))?.unwrap_or_default())
    }

    fn write_monitors(&self, monitors: &[gaform_control::alerts::Monitor]) -> Result<(), CloudError> {
        write_json(&self.root.join("monitors").join("monitors.json"), &monitors)
    }

    fn monitor_statuses(&self) -> Result<Vec<gaform_control::alerts::MonitorStatus>, CloudError> {
        self.read_all(&self.root.join("monitors"), |p| p.to_string_lossy().ends_with(".status.json"))
    }

    fn write_monitor_status(&self, status: &gaform_control::alerts::MonitorStatus) -> Result<(), CloudError> {
        write_json(&self.root.join("monitors").join(format!("{}.status.json", status.monitor)), status)
    }

    fn budget_state(&self, name: &str) -> Result<BudgetState, CloudError> {
        Ok(read_json(&self.root.join("budgets").join(format!("{name}.state.json")))?.unwrap_or_default())
    }

    /// Under a file lock per budget: heads on this machine take turns.
    fn update_budget_state(
        &self,
        name: &str,
        update: &mut dyn FnMut(&mut BudgetState),
    ) -> Result<BudgetState, CloudError> {
        let dir = self.root.join("budgets");
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let lock_path = dir.join(format!("{name}.lock"));
        let lock = std::fs::File::create(&lock_path)
            .map_err(|e| format!("cannot create {}: {e}", lock_path.display()))?;
        lock.lock().map_err(|e| format!("cannot lock {}: {e}", lock_path.display()))?;
        let mut state = self.budget_state(name)?;
        update(&mut state);
        write_json(&dir.join(format!("{name}.state.json")), &state)?;
        Ok(state)
    }

    fn record_event(&self, event: &Event) {
        self.log_event(event, None);
    }

    /// A line that cannot be read (a write cut short) is skipped.
    fn events(&self) -> Result<Vec<Event>, CloudError> {
        let path = self.root.join("events.jsonl");
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
            Err(e) => Err(format!("cannot read {}: {e}", path.display()).into()),
        }
    }

    fn describe(&self) -> String {
        self.root.display().to_string()
    }
}

#[cfg(test)]
mod tests {
    fn job(workers: u64, islands: u64, slots: Option<Vec<u64>>) -> super::JobRecord {
        let text = format!(
            r#"{{"address":"job.j","name":"j","attributes":{{}},"depends_on":[],"status":{{"state":"running"}},
            "group":"compute.c.workers.w","workers":{workers},"islands":{islands},"max_runtime_secs":null,
            "results_dir":"/r","started_at":0.0,"finished_at":null,"summary":null}}"#
        );
        super::JobRecord { slots, ..serde_json::from_str(&text).unwrap() }
    }

    #[test]
    fn islands_are_dealt_round_robin_over_the_slots_that_run_the_job() {
        assert_eq!(job(2, 2, None).islands_for(0), vec![0]);
        assert_eq!(job(2, 5, None).islands_for(1), vec![1, 3]);
        assert_eq!(job(2, 5, None).islands_for(0), vec![0, 2, 4]);
        assert_eq!(job(4, 2, None).islands_for(3), Vec::<u64>::new());
        // Slot 1 shed by a scale-down: slot 0 takes every island, slot 1 none.
        let shed = job(2, 5, Some(vec![0]));
        assert_eq!((shed.islands_for(0), shed.islands_for(1)), (vec![0, 1, 2, 3, 4], vec![]));
        // Slot 0 shed instead: slot 2 is the second of the two left.
        let shed = job(3, 5, Some(vec![1, 2]));
        assert_eq!((shed.islands_for(1), shed.islands_for(2)), (vec![0, 2, 4], vec![1, 3]));
    }

    #[test]
    fn timestamps_are_utc_civil_dates() {
        assert_eq!(super::timestamp(0.0), "1970-01-01T00:00:00Z");
        assert_eq!(super::timestamp(1_795_671_038.0), "2026-11-26T05:30:38Z");
    }
}
