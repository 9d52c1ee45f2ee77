//! What a head measures every tick and what its monitors make of it: the job metrics from
//! the workers' reports (`measure`), the compute's instances and cost from the ledger, its
//! budget's runway; published to the Prometheus endpoint (`crate::metrics`), appended to
//! each job's `results/JOB/metrics.csv`, and fed to the monitors' alerts, whose decisions
//! (`gaform_control::alerts`) come back as orders for the head to carry out.

mod measure;

use crate::metrics::{names, series as metric_name, Shared, Snapshot, Value};
use crate::notify::Outbox;
use gaform_compiler::ir::{Keyword, MonitorMetric};
use gaform_control::alerts::{self, Act, AlertStatus, Monitor, MonitorStatus, State, Values};
use gaform_control::budget::Policy;
use gaform_control::ledger::{Ledger, Timestamp};
use gaform_providers::books::Books;
use gaform_providers::local::JobRecord;
use gaform_runtime::telemetry::{WorkerReport, EVAL_BUCKETS};
use measure::{JobMeasure, Tally};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What a monitor asks the head to do.
#[derive(Debug, PartialEq)]
pub enum Order {
    /// Terminate one worker of the monitored job's group and freeze growth.
    ShedOne { monitor: String, why: String },
    /// Stop the compute with its jobs' results so far.
    Stop { why: String },
}

/// What a head sees at one tick, on either cloud.
pub struct View<'a> {
    pub compute: &'a str,
    /// The compute's running jobs, each with its workers' reports and the directory its
    /// results are written to on this machine (where `metrics.csv` goes).
    pub jobs: Vec<(JobRecord, Vec<WorkerReport>, PathBuf)>,
    pub ledger: &'a Ledger,
    /// The budgets the compute spends.
    pub budgets: Vec<Policy>,
    /// The monitors of the compute's jobs.
    pub monitors: Vec<Monitor>,
    /// The local cloud's prices are what AWS would bill, not a bill.
    pub simulated: bool,
}

/// The head's measuring and alerting state, from one tick to the next.
pub struct Monitoring {
    shared: Shared,
    tallies: BTreeMap<(String, u64), Tally>,
    /// Each alert's state, by monitor, alert and expression (an edited alert starts afresh).
    states: BTreeMap<(String, usize, String), State>,
    /// Runs whose `metrics.csv` this head has started.
    started_csv: Vec<(String, u64)>,
    /// What measuring has cost the head so far, and over how many ticks: its overhead,
    /// which it says when a job ends (BENCHMARKS.md).
    busy: std::time::Duration,
    ticks: u64,
}

impl Monitoring {
    /// Starts serving stack `stack`'s `/metrics` on `address` (any free port of its
    /// interface when that port is taken and `fallback`); a head that cannot serve still
    /// measures and alerts.
    pub fn start(
        address: SocketAddr,
        fallback: bool,
        stack: &str,
    ) -> (Monitoring, Result<SocketAddr, String>) {
        let monitoring = Monitoring::unserved();
        let served = crate::metrics::serve(monitoring.shared.clone(), address, fallback, stack);
        (monitoring, served)
    }

    /// Measuring and alerting that nothing serves (yet).
    pub fn unserved() -> Monitoring {
        Monitoring {
            shared: Shared::default(),
            tallies: BTreeMap::new(),
            states: BTreeMap::new(),
            started_csv: Vec::new(),
            busy: std::time::Duration::ZERO,
            ticks: 0,
        }
    }

    /// One tick: measures, publishes, writes the time series, evaluates the alerts (their
    /// events go to `books`, their notifications through `outbox`), and returns what the
    /// head must do. `cooldown`: how long a firing `scale_down` waits between two sheds.
    pub fn tick(
        &mut self,
        view: &View,
        books: &Arc<dyn Books>,
        outbox: &mut Outbox,
        stack_name: &str,
        now: Timestamp,
        cooldown: f64,
    ) -> Vec<Order> {
        let started = std::time::Instant::now();
        let mut snapshot = Snapshot::default();
        let compute = view.compute;
        let simulated = if view.simulated { "true" } else { "false" };
        let spent = view.ledger.spend(compute, (0.0, now), now);
        let per_hour = view.ledger.burn_rate(compute);
        let instances = view.ledger.running().filter(|e| e.compute == compute).count();
        let mut values_by_job: BTreeMap<String, Values> = BTreeMap::new();
        for (job, reports, dir) in &view.jobs {
            let tally = self.tallies.entry((job.name.clone(), job.started_at.to_bits())).or_default();
            let measure = tally.measure(reports, job.islands);
            let cost = view.ledger.spend(compute, (job.started_at, now), now);
            let values = values_of(&measure, cost);
            add_job(&mut snapshot, &job.name, &measure, &values, simulated);
            let row = Row { values: &values, measure: &measure, per_hour, instances };
            self.append_csv(job, dir, &row, now);
            values_by_job.insert(job.name.clone(), values);
        }
        add_compute(&mut snapshot, view, spent, per_hour, simulated, now);
        let mut orders = Vec::new();
        for monitor in &view.monitors {
            let none = Values::new();
            let values = values_by_job.get(&monitor.job).unwrap_or(&none);
            let keys: Vec<_> = monitor
                .rules
                .iter()
                .enumerate()
                .map(|(i, r)| (monitor.name.clone(), i, r.expression()))
                .collect();
            let mut states: Vec<State> =
                keys.iter().map(|k| self.states.get(k).copied().unwrap_or_default()).collect();
            let decision = alerts::evaluate(monitor, &mut states, values, now, cooldown);
            for (key, state) in keys.into_iter().zip(&states) {
                let firing = f64::from(u8::from(matches!(state, State::Firing { .. })));
                let alert = key.1.to_string();
                let action = monitor.rules[key.1].action.keyword();
                let labels =
                    [("monitor", monitor.name.as_str()), ("alert", alert.as_str()), ("action", action)];
                snapshot.add(
                    names::ALERT_FIRING,
                    "1 while a monitor's alert fires, else 0",
                    &labels,
                    Value::Gauge(firing),
                );
                self.states.insert(key, *state);
            }
            for event in &decision.events {
                books.record_event(event);
            }
            let status = MonitorStatus {
                monitor: monitor.name.clone(),
                job: monitor.job.clone(),
                updated: now,
                values: values.iter().map(|(m, v)| (m.keyword().to_string(), *v)).collect(),
                alerts: monitor
                    .rules
                    .iter()
                    .zip(&states)
                    .enumerate()
                    .map(|(i, (rule, state))| AlertStatus {
                        alert: i as u64,
                        name: rule.name.clone(),
                        expression: rule.expression(),
                        action: rule.action,
                        state: *state,
                    })
                    .collect(),
            };
            // What `status` shows; a lost write costs only a stale line there.
            let _ = books.write_monitor_status(&status);
            for act in decision.acts {
                match act {
                    Act::Notify(event) => {
                        if let Some(notify) = &monitor.notify {
                            outbox.send(books, stack_name, notify, &event);
                        }
                    }
                    Act::ShedOne { why } => {
                        orders.push(Order::ShedOne { monitor: monitor.name.clone(), why })
                    }
                    Act::Stop { why } => orders.push(Order::Stop { why }),
                }
            }
        }
        self.shared.publish(snapshot);
        self.busy += started.elapsed();
        self.ticks += 1;
        orders
    }

    /// The last row of a job that just ended, from its workers' final reports, into `dir`;
    /// its monitors' statuses take the final values too, so that `status` shows where the
    /// run ended, not the tick before (their alerts' states as they were).
    pub fn last_row(
        &mut self,
        (job, reports, dir): (&JobRecord, &[WorkerReport], &Path),
        ledger: &Ledger,
        books: &Arc<dyn Books>,
        now: Timestamp,
    ) {
        let started = std::time::Instant::now();
        let compute = job.group.compute().unwrap_or_default();
        let tally = self.tallies.entry((job.name.clone(), job.started_at.to_bits())).or_default();
        let measure = tally.measure(reports, job.islands);
        let values = values_of(&measure, ledger.spend(compute, (job.started_at, now), now));
        let instances = ledger.running().filter(|e| e.compute == compute).count();
        let row = Row { values: &values, measure: &measure, per_hour: ledger.burn_rate(compute), instances };
        self.append_csv(job, dir, &row, now);
        for mut status in
            books.monitor_statuses().unwrap_or_default().into_iter().filter(|s| s.job == job.name)
        {
            status.updated = now;
            status.values = values.iter().map(|(m, v)| (m.keyword().to_string(), *v)).collect();
            // What `status` shows; a lost write costs only a stale line there.
            let _ = books.write_monitor_status(&status);
        }
        self.busy += started.elapsed();
    }

    /// The head's own cost, in words, with `report` (the time writing the report took).
    pub fn overhead(&self, report: std::time::Duration) -> String {
        format!(
            "the head's measuring took {:.1} ms over {} tick(s), its report {:.1} ms",
            self.busy.as_secs_f64() * 1e3,
            self.ticks,
            report.as_secs_f64() * 1e3
        )
    }

    /// Appends this tick's row to the job's `metrics.csv` in `dir`, starting the file afresh
    /// for a new run. A row that cannot be written is left out: the metrics are still served.
    fn append_csv(&mut self, job: &JobRecord, dir: &Path, row: &Row, now: Timestamp) {
        let Row { values, measure, per_hour, instances } = *row;
        let run = (job.name.clone(), job.started_at.to_bits());
        let path = dir.join("metrics.csv");
        let fresh = !self.started_csv.contains(&run) && !written_since(&path, job.started_at);
        let cell = |m: MonitorMetric| values.get(&m).map_or_else(String::new, |v| v.to_string());
        let mut text = String::new();
        if fresh {
            // The run's start: nothing spent, nothing measured yet.
            text.push_str(CSV_HEADER);
            text.push_str(&format!("{},,,,0,,,0,,\n", millis(job.started_at)));
        }
        text.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            millis(now),
            cell(MonitorMetric::Generation),
            cell(MonitorMetric::BestFitness),
            cell(MonitorMetric::MeanFitness),
            measure.timing.count,
            cell(MonitorMetric::EvalTimePerStrategy),
            cell(MonitorMetric::ClusterUtilization),
            cell(MonitorMetric::Cost),
            per_hour,
            instances,
        ));
        let written = std::fs::create_dir_all(dir).and_then(|()| {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(!fresh)
                .write(true)
                .truncate(fresh)
                .open(&path)?;
            file.write_all(text.as_bytes())
        });
        if written.is_ok() && fresh {
            self.started_csv.push(run);
        }
    }
}

/// One `metrics.csv` row's values.
#[derive(Clone, Copy)]
struct Row<'a> {
    values: &'a Values,
    measure: &'a JobMeasure,
    per_hour: f64,
    instances: usize,
}

/// The columns of `metrics.csv`: one row per head tick while the job runs.
pub const CSV_HEADER: &str = "time,generation,best_fitness,mean_fitness,backtests_total,eval_time_per_strategy_seconds,cluster_utilization,cost_dollars,cost_per_hour_dollars,instances\n";

/// RFC 3339 UTC with milliseconds: ticks can be a second or less apart.
fn millis(unix: f64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(unix.max(0.0));
    humantime::format_rfc3339_millis(at).to_string()
}

/// Whether `path` was written after `since` (Unix seconds): this run's file, which a
/// restarted head goes on appending to.
fn written_since(path: &Path, since: f64) -> bool {
    let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    modified
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .is_some_and(|m| m.as_secs_f64() >= since)
}

/// The monitor metrics of one job (`cost`: its compute's spend since the job started).
fn values_of(measure: &JobMeasure, cost: f64) -> Values {
    let mut values = Values::new();
    if let Some(c) = &measure.combined {
        values.insert(MonitorMetric::Generation, c.generation as f64);
        values.insert(MonitorMetric::BestFitness, c.best);
        values.insert(MonitorMetric::MeanFitness, c.mean());
    }
    if let Some(e) = measure.eval_seconds {
        values.insert(MonitorMetric::EvalTimePerStrategy, e);
    }
    if let Some(u) = measure.utilisation {
        values.insert(MonitorMetric::ClusterUtilization, u);
    }
    values.insert(MonitorMetric::Cost, cost);
    values
}

fn add_job(snapshot: &mut Snapshot, job: &str, measure: &JobMeasure, values: &Values, simulated: &str) {
    let labels = [(names::JOB_LABEL, job)];
    let gauge = |s: &mut Snapshot, m: MonitorMetric, help: &'static str| {
        if let Some(v) = values.get(&m) {
            s.add(metric_name(m), help, &labels, Value::Gauge(*v));
        }
    };
    gauge(snapshot, MonitorMetric::Generation, "The generation every island of the job has reached");
    gauge(snapshot, MonitorMetric::BestFitness, "Best fitness at gaform_generation, over all islands");
    gauge(snapshot, MonitorMetric::MeanFitness, "Mean finite fitness at gaform_generation, over all islands");
    gauge(
        snapshot,
        MonitorMetric::ClusterUtilization,
        "Share of the workers' CPU time spent in backtests over the last tick, from their reports",
    );
    if let Some(cost) = values.get(&MonitorMetric::Cost) {
        let labels = [(names::JOB_LABEL, job), ("simulated", simulated)];
        let help = "What the job's compute cost since the job started (simulated: AWS prices, never billed)";
        snapshot.add(metric_name(MonitorMetric::Cost), help, &labels, Value::Gauge(*cost));
    }
    for (island, stats) in &measure.islands {
        let island = island.to_string();
        let labels = [(names::JOB_LABEL, job), ("island", island.as_str())];
        snapshot.add(
            names::ISLAND_GENERATION,
            "The latest generation each island has scored",
            &labels,
            Value::Gauge(stats.generation as f64),
        );
        snapshot.add(
            names::ISLAND_BEST_FITNESS,
            "Best fitness of each island's latest generation",
            &labels,
            Value::Gauge(stats.best),
        );
    }
    let timing = &measure.timing;
    snapshot.add(
        names::BACKTESTS,
        "Backtests the job's workers have run (as reported to this head)",
        &labels,
        Value::Counter(timing.count as f64),
    );
    // Counts per bucket, the overflow last: the encoder makes them cumulative.
    let mut buckets: Vec<(f64, u64)> =
        EVAL_BUCKETS.iter().copied().zip(timing.buckets.iter().copied()).collect();
    buckets.push((f64::MAX, timing.buckets.get(EVAL_BUCKETS.len()).copied().unwrap_or(0)));
    snapshot.add(
        metric_name(MonitorMetric::EvalTimePerStrategy),
        "Seconds one backtest (one strategy's evaluation) takes on a worker thread",
        &labels,
        Value::Histogram { sum: timing.seconds, count: timing.count, buckets },
    );
}

fn add_compute(
    snapshot: &mut Snapshot,
    view: &View,
    spent: f64,
    per_hour: f64,
    simulated: &str,
    now: Timestamp,
) {
    let compute = view.compute;
    let mut instances: BTreeMap<(String, &'static str), u64> = BTreeMap::new();
    for e in view.ledger.running().filter(|e| e.compute == compute) {
        let group = e.address.split('[').next().unwrap_or(&e.address).to_string();
        *instances.entry((group, e.market.keyword())).or_default() += 1;
    }
    for ((group, market), n) in instances {
        let labels = [("compute", compute), ("group", group.as_str()), ("market", market)];
        snapshot.add(
            names::INSTANCES,
            "Running instances by group and market",
            &labels,
            Value::Gauge(n as f64),
        );
    }
    let labels = [("compute", compute), ("simulated", simulated)];
    snapshot.add(names::COST, "What the compute has cost, from the ledger", &labels, Value::Gauge(spent));
    snapshot.add(
        names::COST_PER_HOUR,
        "What the compute's running instances cost per hour",
        &labels,
        Value::Gauge(per_hour),
    );
    for policy in &view.budgets {
        let reading = policy.reading(view.ledger, now);
        let left = (policy.amount - reading.spent).max(0.0);
        let runway = if reading.per_hour > 0.0 { left / reading.per_hour * 3_600.0 } else { f64::INFINITY };
        let labels = [("budget", policy.name.as_str()), ("simulated", simulated)];
        snapshot.add(
            names::BUDGET_RUNWAY,
            "Seconds until the budget's amount is spent at the current burn rate",
            &labels,
            Value::Gauge(runway),
        );
        snapshot.add(
            names::BUDGET_SPENT,
            "What the budget's computes have spent this period",
            &labels,
            Value::Gauge(reading.spent),
        );
    }
}
