//! A head on aws measures its budget and its monitors every `GAFORM_TICK` as the local head
//! does (the decisions are `gaform-control`'s, the books the stack's S3 prefix, the
//! workers' reports their jobs' S3 stores), serves its metrics, and carries out what it
//! decides on EC2: a scale-down terminates the chosen workers, whose islands the
//! workers left claim and resume from their checkpoints; a stop marks the job stopped,
//! waits for its workers to save their islands where they are, writes the results so far
//! beside the job and terminates every instance of the compute, itself last; lost workers
//! are replaced (`aws_heal`). Each act is an event with its reason.

use super::budget::{self, Shed};
use super::head::monitor::{Monitoring, Order, View};
use crate::notify::Outbox;
use gaform_compiler::ir::Keyword;
use gaform_compiler::plan::render::money;
use gaform_compiler::plan::{Addr, JobStatus};
use gaform_control::event::{By, Event, Kind};
use gaform_control::ledger::Ledger;
use gaform_control::scale;
use gaform_providers::aws::agent::Agent;
use gaform_providers::aws::books::S3Books;
use gaform_providers::aws::store::S3Store;
use gaform_providers::books::Books;
use gaform_providers::local::records::now;
use gaform_providers::local::JobRecord;
use gaform_runtime::store::Store;
use gaform_runtime::telemetry::{read_reports, WorkerReport};
use std::collections::btree_map::{BTreeMap, Entry};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How long a head stopping a job waits for its workers to save their islands: they read
/// the job's record every 2 s and save at the end of the generation under way.
pub(super) const SAVE_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// The head's budget and monitor watch on aws.
pub struct Watch<'a> {
    pub agent: &'a Agent,
    pub books: S3Books,
    pub compute: &'a str,
    /// This head's instance id, terminated last.
    pub me: &'a str,
    pub outbox: Outbox,
    pub monitoring: Monitoring,
    /// How long a firing monitor `scale_down` waits between two sheds.
    pub cooldown: f64,
    /// Each job's store, opened once (a store brings its own client).
    pub stores: BTreeMap<String, S3Store>,
    /// Lost workers an event has named already (`aws_heal`).
    pub lost: BTreeSet<String>,
    /// Each group's last failed replacement, so that a failure that repeats every tick is
    /// logged once.
    pub failed: BTreeMap<Addr, String>,
    /// Workers EC2 gave notice: they count as gone (`aws_heal`).
    pub leaving: BTreeSet<String>,
    /// Of those, the ones whose replacement was requested.
    pub replaced_early: BTreeSet<String>,
    /// The notices acted on, by instance and kind.
    pub noticed: BTreeSet<(String, String)>,
    /// The notices read, by key, with the version read: each pass reads only what changed.
    pub notices_read: BTreeMap<String, String>,
    /// When each group last asked for spot again (`aws_spot`).
    pub spot_tries: BTreeMap<Addr, f64>,
    /// On-demand workers moving to spot, with their group and since when.
    pub retiring: BTreeMap<String, (Addr, f64)>,
    /// Each group's attributes as its instances' tags record them, read once.
    pub attributes: BTreeMap<Addr, gaform_compiler::plan::Attributes>,
    /// Workers of autoscaled groups holding no unfinished island, since when (`aws_autoscale`).
    pub idle_since: BTreeMap<String, f64>,
    /// Jobs with new workers waiting for a deal, since when the first was seen waiting.
    pub waiting_since: BTreeMap<String, f64>,
    /// Each running job's unfinished islands, read once a tick.
    pub left: BTreeMap<String, Vec<u64>>,
    /// Each autoscaled run's configuration (by job name and start), read once: it does not
    /// change while the run lasts.
    pub configs: BTreeMap<(String, u64), gaform_runtime::ga::JobConfig>,
}

/// Where a head on aws keeps a job's results (and `metrics.csv`) before they go to S3.
pub fn work_dir(job: &str) -> PathBuf {
    std::env::temp_dir().join(format!("gaform-results-{job}-{}", std::process::id()))
}

/// Serves the head's metrics on every interface at its `metrics_port`: the compute's
/// security group admits only `metrics_from` (and the compute's own members) to it.
pub fn start_monitoring(agent: &Agent, compute: &str) -> Monitoring {
    let (stack, cloud) = agent.stack_and_cloud();
    let head = gaform_compiler::plan::Addr::head(compute);
    let port = agent
        .live_group(&stack, &cloud, &head)
        .ok()
        .and_then(|live| live.first().and_then(|(_, a)| a.get("metrics_port")?.parse().ok()))
        .unwrap_or(gaform_compiler::ir::DEFAULT_METRICS_PORT);
    // GAFORM_METRICS_BIND (an IP address) narrows where it listens: the tests, which run
    // heads on one machine, keep to loopback.
    let ip = std::env::var("GAFORM_METRICS_BIND")
        .ok()
        .and_then(|a| a.parse::<std::net::IpAddr>().ok())
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]));
    let (monitoring, served) = Monitoring::start(SocketAddr::new(ip, port), false);
    match served {
        Ok(at) => outln!("compute.{compute}: metrics at http://{at}/metrics"),
        Err(e) => errln!("compute.{compute}: no metrics endpoint: {e}"),
    }
    monitoring
}

impl Watch<'_> {
    /// One tick: the ledger made level with EC2, the monitors measured and evaluated, the
    /// budget decided, their acts carried out, lost workers replaced. True once a stop
    /// ended the compute (the head should exit).
    pub fn tick(&mut self) -> Result<bool, String> {
        self.left.clear();
        let ledger = self.agent.reconcile(&self.books, now())?;
        match self.monitor(&ledger) {
            Ok(true) => return Ok(true),
            Ok(false) => {}
            Err(e) => errln!("compute.{}: could not measure: {e}", self.compute),
        }
        if self.budget(&ledger)? {
            return Ok(true);
        }
        // After the budget: a scale-down it just made froze the run, and nothing is replaced.
        if let Err(e) = self.heal(&ledger) {
            errln!("compute.{}: could not look for lost workers: {e}", self.compute);
        }
        if let Err(e) = self.autoscale(&ledger) {
            errln!("compute.{}: could not size its autoscaled groups: {e}", self.compute);
        }
        if let Err(e) = self.return_to_spot(&ledger) {
            errln!("compute.{}: could not move on-demand workers back to spot: {e}", self.compute);
        }
        Ok(false)
    }

    /// The budget's decisions carried out; true once a stop ended the compute.
    fn budget(&mut self, ledger: &Ledger) -> Result<bool, String> {
        let Some(watched) = super::budget::watch(&self.books, ledger, self.compute, now())? else {
            return Ok(false);
        };
        if let Some(notify) = &watched.policy.notify {
            let books: Arc<dyn Books> = Arc::new(self.books.clone());
            let (stack, _) = self.agent.stack_and_cloud();
            for event in &watched.events {
                self.outbox.send(&books, &stack, notify, event);
            }
        }
        if let Some(why) = watched.stop {
            self.stop(&why)?;
            return Ok(true);
        }
        let budget = &watched.policy.name;
        if let Some(why) = &watched.scale_down {
            self.scale_down(ledger, &By::Budget(budget.clone()), why, Shed::ToMin)?;
        }
        if let Some((per_hour, cap)) = watched.over_cap {
            let why =
                format!("budget {budget}: {}/h over max_cost_per_hour {}/h", money(per_hour), money(cap));
            self.scale_down(ledger, &By::Budget(budget.clone()), &why, Shed::ToRate { per_hour, cap })?;
        }
        Ok(false)
    }

    /// Measures the compute's running jobs from their workers' reports, publishes the
    /// metrics and carries out what the monitors decide. True once a monitor stopped it.
    fn monitor(&mut self, ledger: &Ledger) -> Result<bool, String> {
        let (stack, _) = self.agent.stack_and_cloud();
        let mut jobs = Vec::new();
        for job in self.running_jobs()? {
            // The ledger was just made level with EC2: its running starts of the group are
            // the live workers, with no listing of its own.
            let workers: Vec<String> = ledger
                .running()
                .filter(|e| e.address == job.group.as_str())
                .map(|e| e.instance.clone())
                .collect();
            let reports = self.reports(&job.name, &workers)?;
            let dir = work_dir(&job.name);
            jobs.push((job, reports, dir));
        }
        let budgets = self
            .books
            .budgets()?
            .into_iter()
            .filter(|b| b.computes.iter().any(|c| c == self.compute))
            .collect();
        let monitors = self.books.monitors()?.into_iter().filter(|m| m.compute == self.compute).collect();
        let view = View { compute: self.compute, jobs, ledger, budgets, monitors, simulated: false };
        let books: Arc<dyn Books> = Arc::new(self.books.clone());
        let orders = self.monitoring.tick(&view, &books, &mut self.outbox, &stack, now(), self.cooldown);
        for order in orders {
            match order {
                Order::ShedOne { monitor, why } => {
                    self.scale_down(ledger, &By::Monitor(monitor), &why, Shed::One)?
                }
                Order::Stop { why } => {
                    self.stop(&why)?;
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The reports `workers` wrote into job `name`'s store.
    fn reports(&mut self, name: &str, workers: &[String]) -> Result<Vec<WorkerReport>, String> {
        read_reports(self.store(name)?, workers).map_err(|e| e.to_string())
    }

    /// After `job`'s record says it no longer runs: waits until no live worker holds an
    /// unfinished island of it (each saves its islands where they are and lets go of them,
    /// `aws_worker`), at most [`SAVE_GRACE`]. False when some did not in time: the
    /// results then hold those islands as far as their last save.
    pub(super) fn wait_for_saves(&mut self, job: &JobRecord) -> Result<bool, String> {
        let (stack, cloud) = self.agent.stack_and_cloud();
        let generations = job.attributes.get("generations").and_then(|g| g.parse().ok()).unwrap_or(0);
        let started = std::time::Instant::now();
        // The unfinished islands a live worker may still hold: each look asks only about
        // those still held at the last one.
        let mut held: Vec<u64> = Vec::new();
        for island in 0..job.islands {
            let key = gaform_runtime::ga::checkpoint_key(island, generations);
            if !self.store(&job.name)?.contains(&key).map_err(|e| e.to_string())? {
                held.push(island);
            }
        }
        loop {
            let live = self.agent.live_instances(&stack, &cloud, &job.group)?;
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
            std::thread::sleep(std::time::Duration::from_secs(1));
        }
    }

    /// Job `name`'s store, opened on first use.
    pub(super) fn store(&mut self, name: &str) -> Result<&S3Store, String> {
        Ok(match self.stores.entry(name.to_string()) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => v.insert(self.agent.store(name)?),
        })
    }

    /// A job that ended here: its last `metrics.csv` row and its `report.html`, written into
    /// `dir` beside its results, which the caller then uploads.
    pub fn wrap_up(&mut self, job: &mut JobRecord, workers: &[String], dir: &Path) {
        let reports = self.reports(&job.name, workers).unwrap_or_default();
        if let Ok(ledger) = self.books.ledger() {
            self.monitoring.last_row((job, &reports, dir), &ledger, now());
        }
        let events = crate::report::events_of(
            self.books.events().unwrap_or_default(),
            job,
            &self.books.monitors().unwrap_or_default(),
            &self.books.budgets().unwrap_or_default(),
        );
        let started = std::time::Instant::now();
        match crate::report::write(dir, &super::status::job_state(job), &events) {
            Ok(()) => {
                outln!("{}: {}", job.address, self.monitoring.overhead(started.elapsed()));
                job.summary = job.summary.take().map(|s| format!("{s}, metrics.csv, report.html"));
            }
            Err(e) => errln!("{}: no report.html: {e}", job.address),
        }
    }

    pub(super) fn running_jobs(&self) -> Result<Vec<JobRecord>, String> {
        let jobs = self.agent.jobs()?.into_iter();
        Ok(jobs
            .filter(|j| j.status == JobStatus::Running && j.group.compute() == Some(self.compute))
            .collect())
    }

    pub(super) fn log(&self, event: Event) {
        outln!("{}", event.reason);
        self.books.record_event(&event);
    }

    /// Sheds each running job's group (never below its `min`, and one worker at least),
    /// on-demand and newest first. The victims are terminated before the job's record says
    /// its islands were dealt anew, so that the workers left find their claims free.
    pub(super) fn scale_down(&self, ledger: &Ledger, by: &By, why: &str, how: Shed) -> Result<(), String> {
        let (stack, cloud) = self.agent.stack_and_cloud();
        for mut job in self.running_jobs()? {
            let live = self.agent.live_group(&stack, &cloud, &job.group)?;
            let min: u64 =
                live.first().and_then(|(_, a)| a.get("min")).and_then(|m| m.parse().ok()).unwrap_or(0);
            let workers: Vec<scale::Worker> = live
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
            let chosen = how.victims(&workers, job.group.as_str(), min);
            if job.frozen && chosen.is_empty() {
                continue;
            }
            if !job.frozen {
                self.log(budget::frozen(by, self.compute, why));
            }
            let victims: Vec<String> = chosen.iter().map(|w| w.instance.clone()).collect();
            self.agent.terminate(&self.books, &victims)?;
            job.frozen = true;
            job.dealt += u64::from(!victims.is_empty());
            job.dealt_over = (workers.len() - victims.len()) as u64;
            self.agent.write_job(&job)?;
            let kept = workers.len() - victims.len();
            for w in chosen {
                let market = w.market.keyword();
                let instance = format!("{}[{}]", job.group, w.instance);
                let reason = format!(
                    "{instance} ({market}): shed by {why} ({kept} worker(s) left at min {min}); its islands resume on the others"
                );
                let kind = Kind::Shed { by: by.origin(), instance, kept: kept as u64 };
                self.log(Event { time: now(), kind, reason });
            }
        }
        Ok(())
    }

    /// Stops every running job of the compute with the results its islands reached, then
    /// terminates every instance of the compute, this head last.
    fn stop(&mut self, why: &str) -> Result<(), String> {
        let (stack, cloud) = self.agent.stack_and_cloud();
        let instances = self.agent.compute_instances(&stack, &cloud, self.compute)?.len() as u64;
        let mut jobs = self.running_jobs()?;
        // The records first: the workers read them, save their islands where they are and
        // let go of them; then they go, so that no checkpoint changes while the results
        // are gathered.
        for job in &mut jobs {
            job.status = JobStatus::Stopped { reason: why.to_string() };
            job.finished_at = Some(now());
            self.agent.write_job(job)?;
        }
        let mut workers_of = Vec::new();
        for job in &jobs {
            if !self.wait_for_saves(job)? {
                outln!("{}: some workers did not save their islands within {SAVE_GRACE:?}", job.address);
            }
            let workers: Vec<String> =
                self.agent.live_instances(&stack, &cloud, &job.group)?.into_iter().collect();
            self.agent.terminate(&self.books, &workers)?;
            workers_of.push(workers);
        }
        let mut names = Vec::new();
        for (mut job, workers) in jobs.into_iter().zip(workers_of) {
            let store = self.agent.store(&job.name)?;
            let dir = work_dir(&job.name);
            let written = super::head::write_results_so_far(&store, &dir, why).and_then(|()| {
                self.wrap_up(&mut job, &workers, &dir);
                self.agent.upload_results(&job.name, &dir)
            });
            let _ = std::fs::remove_dir_all(&dir);
            let kept = match written {
                Ok(()) => "the results so far are beside the job".to_string(),
                Err(e) => format!("no results to keep ({e})"),
            };
            self.agent.write_job(&job)?;
            outln!("{}: {why}; {kept}", job.address);
            names.push(job.name);
        }
        self.log(budget::compute_stopped(self.compute, why, instances, names));
        self.agent.terminate_compute(&stack, &cloud, self.compute, Some(self.me))?;
        Ok(())
    }
}
