//! aws behind the head's loop: the books are the stack's S3 prefix, the workers' reports
//! and checkpoints their jobs' S3 stores, the workers EC2 instances. A shed terminates the
//! chosen workers before the job's record says its islands were dealt anew, so the workers
//! left find their claims free; a stop or an early end waits (at most [`SAVE_GRACE`]) for
//! the workers to save their islands and let go of them. Its upkeep heals lost workers
//! (`heal`), sizes autoscaled groups (`autoscale`) and moves on-demand workers back to spot
//! (`spot`).

use crate::fleet::{Fleet, Workers};
use crate::head::{Cloud, Release, Replacements};
use gaform_compiler::plan::{Addr, Attributes, JobStatus};
use gaform_control::event::Event;
use gaform_control::ledger::Ledger;
use gaform_control::scale;
use gaform_providers::aws::agent::Agent;
use gaform_providers::aws::books::S3Books;
use gaform_providers::aws::store::S3Store;
use gaform_providers::books::Books;
use gaform_providers::local::JobRecord;
use gaform_providers::CloudError;
use gaform_runtime::ga::JobConfig;
use gaform_runtime::store::Store;
use gaform_runtime::telemetry::{read_reports, WorkerReport};
use std::collections::btree_map::{BTreeMap, Entry};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How long a head stopping a job waits for its workers to save their islands: they read
/// the job's record every 2 s and save at the end of the generation under way.
pub const SAVE_GRACE: Duration = Duration::from_secs(60);

/// One compute of an aws stack, seen from its head.
pub struct AwsCloud {
    pub agent: Agent,
    pub books: S3Books,
    pub compute: String,
    /// This head's instance id, terminated last.
    pub me: String,
    pub stack: String,
    pub cloud: String,
    /// The head's own attributes (its instance's tags), read once.
    pub head_attributes: Attributes,
    /// Each job's store, opened once (a store brings its own client).
    pub stores: BTreeMap<String, S3Store>,
    /// The care of its workers (`crate::fleet`): lost ones replaced, autoscaled groups
    /// sized, and what that remembers between ticks.
    pub fleet: Fleet,
    /// The notices acted on, by instance and kind.
    pub noticed: BTreeSet<(String, String)>,
    /// The notices read, by key, with the version read: each pass reads only what changed.
    pub notices_read: BTreeMap<String, String>,
    /// When each group last asked for spot again (`spot`).
    pub spot_tries: BTreeMap<Addr, f64>,
    /// On-demand workers moving to spot, with their group and since when.
    pub retiring: BTreeMap<String, (Addr, f64)>,
    /// Each group's attributes as its instances' tags record them, read once.
    pub attributes: BTreeMap<Addr, Attributes>,
    /// Each running job's unfinished islands, read once a tick.
    pub left: BTreeMap<String, Vec<u64>>,
    /// Each autoscaled run's configuration (by job name and start), read once: it does not
    /// change while the run lasts.
    pub configs: BTreeMap<(String, u64), JobConfig>,
}

/// Where a head on aws keeps a job's results (and `metrics.csv`) before they go to S3.
pub fn work_dir(job: &str) -> PathBuf {
    std::env::temp_dir().join(format!("gaform-results-{job}-{}", std::process::id()))
}

impl AwsCloud {
    /// The compute `compute` of the stack `agent` is connected to, whose head is instance
    /// `me`, which has acted on the `noticed` notices before (a head restarted mid-run).
    pub fn new(
        agent: Agent,
        (compute, me): (String, String),
        head_attributes: Attributes,
        noticed: BTreeSet<(String, String)>,
        cooldown: f64,
    ) -> AwsCloud {
        let books = agent.books();
        let (stack, cloud) = agent.stack_and_cloud();
        AwsCloud {
            noticed,
            agent,
            books,
            compute,
            me,
            stack,
            cloud,
            head_attributes,
            stores: BTreeMap::new(),
            fleet: Fleet::new(cooldown),
            notices_read: BTreeMap::new(),
            spot_tries: BTreeMap::new(),
            retiring: BTreeMap::new(),
            attributes: BTreeMap::new(),
            left: BTreeMap::new(),
            configs: BTreeMap::new(),
        }
    }

    /// Job `name`'s store, opened on first use.
    pub(super) fn s3_store(&mut self, name: &str) -> Result<&S3Store, CloudError> {
        Ok(match self.stores.entry(name.to_string()) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => v.insert(self.agent.store(name)?),
        })
    }

    /// The compute's running jobs.
    pub(super) fn running_jobs(&self) -> Result<Vec<JobRecord>, CloudError> {
        let jobs = self.agent.jobs()?.into_iter();
        Ok(jobs
            .filter(|j| j.status == JobStatus::Running && j.group.compute() == Some(self.compute.as_str()))
            .collect())
    }

    /// Logs an act of the upkeep: the instance's log and the stack's event log.
    pub(super) fn record(&self, event: Event) {
        outln!("{}", event.reason);
        self.books.record_event(&event);
    }

    /// The fleet's heal on this cloud (`crate::fleet`).
    pub(super) fn heal(
        &mut self,
        ledger: &Ledger,
        replacements: &mut Replacements,
    ) -> Result<(), CloudError> {
        let mut fleet = std::mem::take(&mut self.fleet);
        let healed = fleet.heal(self, ledger, replacements);
        self.fleet = fleet;
        healed
    }

    /// The fleet's sizing of autoscaled groups on this cloud.
    fn autoscale(&mut self, ledger: &Ledger) -> Result<(), CloudError> {
        let mut fleet = std::mem::take(&mut self.fleet);
        let sized = fleet.autoscale(self, ledger);
        self.fleet = fleet;
        sized
    }

    /// After `job`'s record says it no longer runs: waits until no live worker holds an
    /// unfinished island of it (each saves its islands where they are and lets go of them),
    /// at most [`SAVE_GRACE`]. False when some did not in time: the results then hold
    /// those islands as far as their last save.
    fn wait_for_saves(&mut self, job: &JobRecord) -> Result<bool, CloudError> {
        let generations = job.attributes.get("generations").and_then(|g| g.parse().ok()).unwrap_or(0);
        let started = std::time::Instant::now();
        // The unfinished islands a live worker may still hold: each look asks only about
        // those still held at the last one.
        let mut held: Vec<u64> = Vec::new();
        for island in 0..job.islands {
            let key = gaform_runtime::ga::checkpoint_key(island, generations);
            if !self.s3_store(&job.name)?.contains(&key).map_err(|e| e.to_string())? {
                held.push(island);
            }
        }
        loop {
            let live = self.agent.live_instances(&self.stack, &self.cloud, &job.group)?;
            let mut still = Vec::new();
            for island in held {
                if self.agent.claim_holder(&job.name, island)?.is_some_and(|h| live.contains(&h)) {
                    still.push(island);
                }
            }
            held = still;
            if held.is_empty() {
                return Ok(true);
            }
            if started.elapsed() >= SAVE_GRACE {
                return Ok(false);
            }
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

impl Cloud for AwsCloud {
    fn stack_name(&self) -> String {
        self.stack.clone()
    }

    fn books(&self) -> Arc<dyn Books> {
        Arc::new(self.books.clone())
    }

    fn simulated(&self) -> bool {
        false
    }

    fn auto_terminate(&mut self) -> Option<f64> {
        let limit = self.head_attributes.get("auto_terminate")?;
        gaform_compiler::plan::describe::parse_duration(limit)
    }

    fn ledger(&mut self, now: f64) -> Result<Ledger, CloudError> {
        // A tick reads each job's unfinished islands afresh.
        self.left.clear();
        self.agent.reconcile(&self.books, now)
    }

    fn jobs(&mut self) -> Result<Vec<JobRecord>, CloudError> {
        let compute = self.compute.as_str();
        Ok(self.agent.jobs()?.into_iter().filter(|j| j.group.compute() == Some(compute)).collect())
    }

    fn write_job(&mut self, job: &JobRecord) -> Result<(), CloudError> {
        self.agent.write_job(job)
    }

    fn store(&mut self, name: &str) -> Result<&dyn Store, CloudError> {
        Ok(self.s3_store(name)?)
    }

    fn reports(&mut self, job: &JobRecord, ledger: Option<&Ledger>) -> Result<Vec<WorkerReport>, CloudError> {
        let workers: Vec<String> = match ledger {
            // Made level with EC2 this tick: its running starts of the group are the live
            // workers, with no listing of its own.
            Some(ledger) => ledger
                .running()
                .filter(|e| e.address == job.group.as_str())
                .map(|e| e.instance.clone())
                .collect(),
            None => self.agent.live_instances(&self.stack, &self.cloud, &job.group)?.into_iter().collect(),
        };
        Ok(read_reports(self.s3_store(&job.name)?, &workers)?)
    }

    fn results_dir(&self, job: &JobRecord) -> PathBuf {
        work_dir(&job.name)
    }

    fn results_place(&self, job: &JobRecord) -> String {
        self.agent.results_url(&job.name)
    }

    fn keep_results(&mut self, job: &JobRecord, dir: &Path, written: bool) -> Result<(), CloudError> {
        let uploaded = if written { self.agent.upload_results(&job.name, dir) } else { Ok(()) };
        let _ = std::fs::remove_dir_all(dir);
        uploaded
    }

    fn workers(&mut self, job: &JobRecord, ledger: &Ledger) -> Result<(Vec<scale::Worker>, u64), CloudError> {
        let live = self.agent.live_group(&self.stack, &self.cloud, &job.group)?;
        let min = live.first().and_then(|(_, a)| a.get("min")).and_then(|m| m.parse().ok()).unwrap_or(0);
        let workers = live
            .iter()
            .filter_map(|(id, _)| ledger.get(id))
            .map(|e| scale::Worker {
                instance: e.instance.clone(),
                group: job.group.to_string(),
                market: e.market,
                per_hour: e.per_hour,
                started_at: e.started_at,
            })
            .collect();
        Ok((workers, min))
    }

    fn shed(
        &mut self,
        job: &mut JobRecord,
        victims: &[&scale::Worker],
        kept: usize,
    ) -> Result<(), CloudError> {
        let victims: Vec<String> = victims.iter().map(|w| w.instance.clone()).collect();
        self.agent.terminate(&self.books, &victims)?;
        job.dealt += u64::from(!victims.is_empty());
        job.dealt_over = kept as u64;
        self.agent.write_job(job)
    }

    /// The workers read the job's record: after a finish they go on by themselves; after an
    /// early end they save and let go (waited for here); a stopping compute's workers are
    /// then terminated, so that no checkpoint changes while the results are gathered.
    fn release(&mut self, job: &JobRecord, how: Release) -> Result<(), CloudError> {
        if how == Release::Finished {
            return Ok(());
        }
        if !self.wait_for_saves(job)? {
            outln!("{}: some workers did not save their islands within {SAVE_GRACE:?}", job.address);
        }
        if how == Release::Stopping {
            let workers: Vec<String> =
                self.agent.live_instances(&self.stack, &self.cloud, &job.group)?.into_iter().collect();
            self.agent.terminate(&self.books, &workers)?;
        }
        Ok(())
    }

    fn instances(&mut self) -> Result<u64, CloudError> {
        Ok(self.agent.compute_instances(&self.stack, &self.cloud, &self.compute)?.len() as u64)
    }

    fn terminate(&mut self) -> Result<(), CloudError> {
        self.agent.terminate_compute(&self.stack, &self.cloud, &self.compute, Some(&self.me)).map(|_| ())
    }

    /// Every pass, not every tick: a notice gives two minutes.
    fn tend(&mut self, _now: f64, replacements: &mut Replacements) -> Result<(), CloudError> {
        self.take_notices(replacements)
    }

    fn upkeep(&mut self, ledger: &Ledger, replacements: &mut Replacements) -> Vec<(String, CloudError)> {
        let mut failed = Vec::new();
        if let Err(e) = self.heal(ledger, replacements) {
            failed.push(("look for lost workers".to_string(), e));
        }
        if let Err(e) = self.autoscale(ledger) {
            failed.push(("size its autoscaled groups".to_string(), e));
        }
        if let Err(e) = self.return_to_spot(ledger) {
            failed.push(("move on-demand workers back to spot".to_string(), e));
        }
        failed
    }

    fn log(&mut self, event: &Event, _job: Option<&str>) {
        self.record(event.clone());
    }

    fn say(&mut self, line: &str, _job: Option<&str>) {
        outln!("{line}");
    }
}

/// The fleet's acts on aws: EC2 fleets started and instances terminated, the claims and
/// checkpoints on S3.
impl Workers for AwsCloud {
    fn jobs(&mut self) -> Result<Vec<JobRecord>, CloudError> {
        let compute = self.compute.as_str();
        Ok(self.agent.jobs()?.into_iter().filter(|j| j.group.compute() == Some(compute)).collect())
    }

    fn job(&mut self, name: &str) -> Result<Option<JobRecord>, CloudError> {
        self.agent.job(name)
    }

    fn write_job(&mut self, job: &JobRecord) -> Result<(), CloudError> {
        self.agent.write_job(job)
    }

    fn unfinished(&mut self, job: &JobRecord) -> Result<Vec<u64>, CloudError> {
        self.unfinished_islands(job)
    }

    fn claim_holder(&mut self, job: &str, island: u64) -> Result<Option<String>, CloudError> {
        self.agent.claim_holder(job, island)
    }

    fn waiting_for_islands(&mut self, job: &str, dealt: u64) -> Result<Vec<String>, CloudError> {
        self.agent.waiting_for_islands(job, dealt)
    }

    fn start(&mut self, group: &Addr, count: u64) -> Result<String, CloudError> {
        self.agent.replace_workers(group, count)
    }

    fn terminate(&mut self, workers: &[String]) -> Result<(), CloudError> {
        self.agent.terminate(&self.books, workers)
    }

    fn record(&mut self, event: Event) {
        AwsCloud::record(self, event);
    }

    fn now(&self) -> f64 {
        gaform_providers::local::records::now()
    }
}
