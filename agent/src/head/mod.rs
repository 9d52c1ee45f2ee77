//! A compute's head: one loop for both clouds, behind [`Cloud`]. As it starts, and then
//! every tick, it measures
//! the compute (its monitors and its budget, `gaform-control` deciding) and carries out
//! what they decide: shed workers, stop the compute; then the cloud's own upkeep. Every
//! pass it tends the workers, gathers a job whose islands are done, stops one past its
//! `max_runtime`, and terminates the compute once its jobs are over or it has sat idle for
//! `auto_terminate`. Each act is an event with its reason. In a run's first tick, until a
//! measurement has seen one of its workers' reports, the head measures at every pass (once
//! a second at most, the ticks' cadence unchanged): its metrics are served within a second
//! or two of the first report, not a tick later.
//!
//! What cannot be done now is an event and is tried again: a measurement at the next tick,
//! a pass at the next pass. Only passes failing for long end the head, with an event that
//! says the compute is left untended: for [`TRANSIENT_PATIENCE`] while the failure is
//! transient (throttled, timed out, the connection cut), which time mends; for
//! [`GIVE_UP_AFTER`] when it is not (denied, missing, damaged), which only a change of
//! permissions or records mends.

mod acts;
mod clock;
mod cloud;
mod replacements;
mod results;
#[cfg(test)]
mod tests;
mod trouble;

pub use clock::{Clock, SystemClock};
pub use cloud::{Cloud, Release};
pub use replacements::{Replacements, MAX_REPLACEMENTS};
pub use results::write_so_far;

use crate::monitor::{Monitoring, Order, View};
use crate::notify::Outbox;
use gaform_compiler::plan::render::money;
use gaform_compiler::plan::JobStatus;
use gaform_control::event::{By, Event, Kind};
use gaform_control::ledger::Ledger;
use gaform_providers::local::JobRecord;
use gaform_providers::CloudError;
use std::time::Duration;
use trouble::Trouble;

/// How long the head's passes may keep failing for a reason that waiting does not mend
/// (access denied, a record missing or damaged) before it ends itself: long enough for a
/// role's new permission to reach every region, or a record being replaced to be whole.
pub const GIVE_UP_AFTER: f64 = 60.0;
/// How long the head's passes may keep failing transiently (S3 throttled or out of reach,
/// timeouts) before it ends itself: an outage of the service, not a blip.
pub const TRANSIENT_PATIENCE: f64 = 900.0;
/// The shortest time between two measurements while a run waits for its first one with a
/// worker report.
const EARLY_TICK: f64 = 1.0;
/// How long an exiting head waits for its notifications still under way.
pub const NOTIFY_DRAIN: Duration = Duration::from_secs(30);

/// How a head runs: its compute, how often it measures, how often it looks at its jobs.
#[derive(Clone, Debug)]
pub struct Settings {
    pub compute: String,
    /// Between two measurements (`GAFORM_TICK`).
    pub tick: Duration,
    /// Between two passes over the jobs.
    pub pause: Duration,
}

/// A head of `Settings::compute` on cloud `C`, on clock `K`.
pub struct Head<C, K> {
    cloud: C,
    clock: K,
    settings: Settings,
    monitoring: Monitoring,
    outbox: Outbox,
    replacements: Replacements,
    trouble: Trouble,
    /// Whether a job of the compute has run since the head started.
    seen_running: bool,
    idle_since: f64,
    /// When the passes began failing, if they are.
    failing_since: Option<f64>,
    /// The runs (job, start) a tick has seen a worker report of.
    measured: std::collections::BTreeSet<(String, u64)>,
    /// A running run no tick has seen a report of yet: measure at the next pass.
    measure_soon: bool,
}

/// How a head's loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The compute was terminated (its jobs over, idle, or stopped).
    Terminated,
    /// Another process is the compute's head now.
    Replaced,
}

impl<C: Cloud, K: Clock> Head<C, K> {
    /// A head that publishes its measurements through `monitoring`.
    pub fn new(cloud: C, clock: K, settings: Settings, monitoring: Monitoring) -> Head<C, K> {
        let now = clock.now();
        Head {
            cloud,
            clock,
            settings,
            monitoring,
            outbox: Outbox::default(),
            replacements: Replacements::default(),
            trouble: Trouble::default(),
            seen_running: false,
            idle_since: now,
            failing_since: None,
            measured: Default::default(),
            measure_soon: false,
        }
    }

    /// The loop, until the compute is terminated or the head replaced; then the
    /// notifications under way (an alert and the stop it led to, say) still go out.
    pub fn run(mut self) -> Result<Ended, CloudError> {
        let ended = self.tend_compute();
        self.outbox.drain(NOTIFY_DRAIN);
        ended
    }

    fn tend_compute(&mut self) -> Result<Ended, CloudError> {
        let compute = self.settings.compute.clone();
        // Measured as it starts: `/metrics` has the compute's series at once.
        let mut next_tick = self.clock.now();
        let mut last_tick = f64::NEG_INFINITY;
        loop {
            if !self.cloud.still_head() {
                return Ok(Ended::Replaced);
            }
            let now = self.clock.now();
            let regular = now >= next_tick;
            // Early measurements leave the ticks' cadence as it is.
            if regular || (self.measure_soon && now - last_tick >= EARLY_TICK) {
                if regular {
                    next_tick = now + self.settings.tick.as_secs_f64();
                }
                last_tick = now;
                self.measure_soon = false;
                if self.tick() {
                    return Ok(Ended::Terminated);
                }
            }
            match self.pass() {
                Ok(true) => return Ok(Ended::Terminated),
                Ok(false) => {
                    self.failing_since = None;
                    self.trouble.cleared("look at its jobs");
                }
                Err(error) => {
                    let now = self.clock.now();
                    let since = *self.failing_since.get_or_insert(now);
                    self.trouble("look at its jobs", &error);
                    let patience = if error.is_transient() { TRANSIENT_PATIENCE } else { GIVE_UP_AFTER };
                    if now - since >= patience {
                        let reason = format!(
                            "compute.{compute}: its head could not look at its jobs for {:.0} s ({error}; {}); it ends, leaving the compute untended",
                            now - since,
                            error.kind()
                        );
                        let kind =
                            Kind::HeadGaveUp { compute, error: error.to_string(), seconds: now - since };
                        self.cloud.log(&Event { time: now, kind, reason }, None);
                        return Err(error);
                    }
                }
            }
            self.clock.sleep(self.settings.pause);
        }
    }

    /// One tick: the monitors and the budget measured and carried out, then the cloud's
    /// upkeep. True once a stop ended the compute.
    fn tick(&mut self) -> bool {
        let now = self.clock.now();
        let ledger = match self.cloud.ledger(now) {
            Ok(ledger) => ledger,
            Err(e) => {
                self.trouble("measure", &e);
                return false;
            }
        };
        self.trouble.cleared("measure");
        match self.monitor(&ledger) {
            Ok(Some(why)) => return self.stop(&why),
            Ok(None) => self.trouble.cleared("measure its monitors"),
            Err(e) => self.trouble("measure its monitors", &e),
        }
        match self.budget(&ledger) {
            Ok(Some(why)) => return self.stop(&why),
            Ok(None) => self.trouble.cleared("measure its budget"),
            Err(e) => self.trouble("measure its budget", &e),
        }
        // After the budget: a scale-down it just made froze the run, and nothing is replaced.
        let failed = self.cloud.upkeep(&ledger, &mut self.replacements);
        for (doing, error) in failed {
            self.trouble(&doing, &error);
        }
        false
    }

    /// Measures the running jobs from their workers' reports, publishes the metrics and
    /// carries out what the monitors decide; why to stop, when one says so.
    fn monitor(&mut self, ledger: &Ledger) -> Result<Option<String>, CloudError> {
        let compute = self.settings.compute.clone();
        let books = self.cloud.books();
        let mut jobs = Vec::new();
        for job in self.running_jobs()? {
            let reports = self.cloud.reports(&job, Some(ledger))?;
            if !reports.is_empty() {
                self.measured.insert((job.name.clone(), job.started_at.to_bits()));
            }
            let dir = self.cloud.results_dir(&job);
            jobs.push((job, reports, dir));
        }
        let budgets = books.budgets()?.into_iter().filter(|b| b.computes.contains(&compute)).collect();
        let monitors = books.monitors()?.into_iter().filter(|m| m.compute == compute).collect();
        let simulated = self.cloud.simulated();
        let view = View { compute: &compute, jobs, ledger, budgets, monitors, simulated };
        let (stack, now) = (self.cloud.stack_name(), self.clock.now());
        let cooldown = 5.0 * self.settings.tick.as_secs_f64();
        for order in self.monitoring.tick(&view, &books, &mut self.outbox, &stack, now, cooldown) {
            match order {
                Order::ShedOne { monitor, why } => {
                    self.scale_down(ledger, &By::Monitor(monitor), &why, crate::budget::Shed::One)?
                }
                Order::Stop { why } => return Ok(Some(why)),
            }
        }
        Ok(None)
    }

    /// The budget's decisions carried out; why to stop, when it says so.
    fn budget(&mut self, ledger: &Ledger) -> Result<Option<String>, CloudError> {
        let books = self.cloud.books();
        let now = self.clock.now();
        let Some(watched) = crate::budget::watch(&*books, ledger, &self.settings.compute, now)? else {
            return Ok(None);
        };
        if let Some(notify) = &watched.policy.notify {
            let stack = self.cloud.stack_name();
            for event in &watched.events {
                self.outbox.send(&books, &stack, notify, event);
            }
        }
        if watched.stop.is_some() {
            return Ok(watched.stop);
        }
        let budget = &watched.policy.name;
        if let Some(why) = &watched.scale_down {
            self.scale_down(ledger, &By::Budget(budget.clone()), why, crate::budget::Shed::ToMin)?;
        }
        if let Some((per_hour, cap)) = watched.over_cap {
            let why =
                format!("budget {budget}: {}/h over max_cost_per_hour {}/h", money(per_hour), money(cap));
            let how = crate::budget::Shed::ToRate { per_hour, cap };
            self.scale_down(ledger, &By::Budget(budget.clone()), &why, how)?;
        }
        Ok(None)
    }

    /// One look at the jobs: the workers tended, each running job gathered or stopped when
    /// due, and the compute terminated once its jobs are over or it sat idle too long
    /// (then true).
    fn pass(&mut self) -> Result<bool, CloudError> {
        let now = self.clock.now();
        self.cloud.tend(now, &mut self.replacements)?;
        for (name, reason) in self.replacements.take_failing() {
            if let Some(job) = self.running_jobs()?.into_iter().find(|j| j.name == name) {
                self.fail(job, &reason)?;
            }
        }
        for job in self.running_jobs()? {
            self.seen_running = true;
            self.idle_since = now;
            // Only in a run's first tick: workers that never report cost no more than that.
            let first_tick = now - job.started_at < self.settings.tick.as_secs_f64();
            self.measure_soon |=
                first_tick && !self.measured.contains(&(job.name.clone(), job.started_at.to_bits()));
            // Apply is putting a new run in its place: nothing to gather or stop yet.
            if !job.replacing {
                self.look_at(job)?;
            }
        }
        if !self.running_jobs()?.is_empty() {
            return Ok(false);
        }
        if self.seen_running {
            self.end("its jobs are over")?;
            return Ok(true);
        }
        let auto = self.cloud.auto_terminate();
        if let Some(limit) = auto.filter(|&limit| now - self.idle_since >= limit) {
            self.end(&format!("idle for auto_terminate = {}", describe(limit)))?;
            return Ok(true);
        }
        Ok(false)
    }

    /// A running job: gathered when its islands are done, stopped past its `max_runtime`.
    fn look_at(&mut self, mut job: JobRecord) -> Result<(), CloudError> {
        let now = self.clock.now();
        let dir = self.cloud.results_dir(&job);
        let store = self.cloud.store(&job.name)?;
        if results::gather_if_done(store, &mut job, &dir, now)? {
            self.cloud.release(&job, Release::Finished)?;
            // The report before the record: whoever sees the job finished finds it there.
            self.wrap_up(&mut job, &dir);
            self.cloud.keep_results(&job, &dir, true)?;
            self.cloud.write_job(&job)?;
            let line = format!("{}: finished; results in {}", job.address, self.cloud.results_place(&job));
            self.cloud.say(&line, Some(&job.name));
            return Ok(());
        }
        let Some(limit) = results::over_time(&job, now) else { return Ok(()) };
        job.status = JobStatus::TimedOut;
        job.finished_at = Some(now);
        // The record first: the workers save their islands where they are and let go.
        self.cloud.write_job(&job)?;
        self.cloud.release(&job, Release::Ended)?;
        let why = format!("stopped by max_runtime = {}", describe(limit));
        let kept = self.keep_so_far(&mut job, &dir, &why)?;
        self.cloud.write_job(&job)?;
        let kind = Kind::JobTimedOut { job: job.name.clone(), max_runtime: limit };
        let reason = format!("{}: {why}; {kept}", job.address);
        self.cloud.log(&Event { time: now, kind, reason }, Some(&job.name));
        Ok(())
    }

    /// Fails `job` with `reason`: its workers let go of it, its checkpoints kept.
    fn fail(&mut self, mut job: JobRecord, reason: &str) -> Result<(), CloudError> {
        let now = self.clock.now();
        job.status = JobStatus::Failed { reason: reason.to_string() };
        job.finished_at = Some(now);
        self.cloud.write_job(&job)?;
        self.cloud.release(&job, Release::Ended)?;
        let kind = Kind::JobFailed { job: job.name.clone(), error: reason.to_string() };
        let event = Event { time: now, kind, reason: format!("{}: failed: {reason}", job.address) };
        self.cloud.log(&event, Some(&job.name));
        Ok(())
    }

    /// The compute's running jobs.
    fn running_jobs(&mut self) -> Result<Vec<JobRecord>, CloudError> {
        Ok(self.cloud.jobs()?.into_iter().filter(|j| j.status == JobStatus::Running).collect())
    }

    /// Says what the head could not do, once per distinct error.
    fn trouble(&mut self, doing: &str, error: &CloudError) {
        let error = error.to_string();
        if !self.trouble.is_new(doing, &error) {
            return;
        }
        let compute = self.settings.compute.clone();
        let reason = format!("compute.{compute}: could not {doing}: {error}; trying again");
        let kind = Kind::HeadTrouble { compute, doing: doing.to_string(), error };
        self.cloud.log(&Event { time: self.clock.now(), kind, reason }, None);
    }
}

fn describe(secs: f64) -> String {
    gaform_compiler::plan::describe::duration(secs)
}
