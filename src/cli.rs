//! Command-line arguments (clap).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::time::Duration;

/// A duration above zero as humantime reads it (`1s`, `500ms`, `2m`): the one parser of the
/// duration flags and of the environment knobs behind them (`GAFORM_TICK`, ...).
pub fn positive_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{text:?} is not a duration above zero (write it like `1s`, `500ms`, `2m`)"))
}

/// Terraform for genetic-algorithm strategy research.
#[derive(Parser)]
#[command(name = "gaform", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Type-check .gaf files and report every error and warning.
    #[command(alias = "validate")]
    Check(CheckArgs),
    /// Rewrite .gaf files in canonical layout.
    Fmt(FmtArgs),
    /// Backtest one strategy on one data file (what you run to re-check a winner).
    Backtest(BacktestArgs),
    /// Run a job on this machine, its islands as threads (or worker processes): no
    /// provisioning. Results go to results/JOB/.
    Run(RunArgs),
    /// Show what would change: observe the stack, diff it with the file, price it.
    Plan(PlanArgs),
    /// Make the stack match the file (or carry out a saved plan), then run its jobs.
    Apply(ApplyArgs),
    /// Remove everything the stack owns (results/ stays).
    Destroy(DestroyArgs),
    /// What the stack runs, how far its jobs are, and what its budgets have spent.
    Status(StatusArgs),
    /// Print a job's log.
    Logs(LogsArgs),
    /// What gaform did on its own (alerts, stops, ...) and why, oldest first.
    Events(EventsArgs),
    /// Write what a team's tools load: Prometheus rules and scrape config, Grafana dashboards.
    Export(ExportArgs),
    /// The language server editors talk to (LSP over stdin and stdout): diagnostics as you
    /// type, identical to `check`, quick fixes, formatting.
    Lsp,
    /// Serve a service's strategy over HTTP: POST bars, get the position and signal after
    /// the last one; a new best of the job is swapped in as it lands.
    Serve(ServeArgs),
    /// Clear the lock left by an apply or destroy that was killed.
    Unlock(StackArgs),
    /// Run one worker: an island of a prepared job, a local cloud instance, or an aws instance's.
    Worker(WorkerArgs),
    /// A compute's head on the local cloud (started by apply).
    #[command(hide = true)]
    Head(HeadArgs),
}

/// `gaform serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// The .gaf file.
    #[arg(required_unless_present_any = ["stack", "s3_stack"])]
    pub file: Option<PathBuf>,
    /// The `service` block to serve.
    #[arg(long, required_unless_present_any = ["stack", "s3_stack"])]
    pub service: Option<String>,
    /// Local cloud, as `apply` starts it: the stack's records directory; the route, port
    /// and job come from the record of `--address` instead of a file.
    #[arg(long, requires = "address", conflicts_with_all = ["file", "service", "results", "s3_stack"])]
    pub stack: Option<PathBuf>,
    /// aws cloud, as an instance's user data starts it: the stack's place on S3
    /// (`s3://BUCKET/stacks/STACK/CLOUD`); the route, port and job come from the service's spec.
    #[arg(long, requires = "address", conflicts_with_all = ["file", "service", "results"])]
    pub s3_stack: Option<String>,
    /// With `--s3-stack`: this instance's id [default: from the instance metadata service].
    #[arg(long)]
    pub instance_id: Option<String>,
    /// With `--stack` or `--s3-stack`: `service.NAME`.
    #[arg(long)]
    pub address: Option<String>,
    /// With `--stack`: the replica's slot.
    #[arg(long, default_value_t = 0)]
    pub index: u64,
    /// Where the job's results are (default: results/JOB, as apply and run write them).
    #[arg(long, value_name = "DIR")]
    pub results: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: std::net::IpAddr,
    /// The port (default: the service's `port`; 0 for any free one).
    #[arg(long)]
    pub port: Option<u16>,
    /// Requests answered at once; past it, 503 with Retry-After.
    #[arg(long, default_value_t = 256)]
    pub max_in_flight: usize,
    /// How often to look for a new best.json.
    #[arg(long, default_value = "250ms", value_parser = humantime::parse_duration)]
    pub poll: Duration,
    /// Streams (PUT ROUTE/streams/ID) followed at once; past it, 429.
    #[arg(long, default_value_t = 10_000)]
    pub max_streams: usize,
    /// A stream sent no bars this long is forgotten (its client is told to seed it again).
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    pub stream_idle: Duration,
}

/// `gaform plan`.
#[derive(Args)]
pub struct PlanArgs {
    /// The .gaf file.
    pub file: PathBuf,
    /// Print the plan as versioned JSON instead.
    #[arg(long)]
    pub json: bool,
    /// Save the plan, for `gaform apply FILE` (Terraform's `-out` is accepted too).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 with no changes, 2 with changes, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Plan the removal of everything the stack owns.
    #[arg(long)]
    pub destroy: bool,
}

/// `gaform apply`.
#[derive(Args)]
pub struct ApplyArgs {
    /// A .gaf file, or a plan saved by `gaform plan --out`.
    pub target: PathBuf,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Changes carried out at once, at most.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
    /// Return once the stack is provisioned; the jobs run on.
    #[arg(long)]
    pub detach: bool,
    /// The heads' tick, which they read from this environment: a bad one is refused here,
    /// before anything starts.
    #[arg(long, env = "GAFORM_TICK", hide = true, value_parser = positive_duration)]
    pub tick: Option<Duration>,
}

/// `gaform destroy`.
#[derive(Args)]
pub struct DestroyArgs {
    /// The .gaf file.
    pub file: PathBuf,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub auto_approve: bool,
    /// Changes carried out at once, at most.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..))]
    pub parallelism: u16,
}

/// `gaform export monitor FILE [--out DIR]`, `gaform export strategy FILE --strategy CALL
/// --data CSV [--out F.py]`.
#[derive(Args, Clone)]
pub struct ExportArgs {
    /// What to export.
    pub what: ExportWhat,
    /// The .gaf file; for `strategy`, or a job's results directory (its `.owner.json`
    /// names the file and the job).
    pub file: PathBuf,
    /// Where to write: a directory for `monitor` [default: monitoring], a file for
    /// `strategy` [default: standard output].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// `strategy`: one value per gene of a strategy of the file: 'ema_rsi(fast = 10, ma = ema)'
    /// [default: the best of the job's results].
    #[arg(long)]
    pub strategy: Option<String>,
    /// `strategy`: the job whose best to export (needed when the file has several).
    #[arg(long)]
    pub job: Option<String>,
    /// `strategy`: the job's results directory [default: results/JOB].
    #[arg(long)]
    pub results: Option<PathBuf>,
    /// `strategy`: the OHLCV CSV file the script backtests.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// `strategy`: only rows FROM..TO of the data, as `gaform backtest --bars`.
    #[arg(long, value_name = "FROM..TO")]
    pub bars: Option<String>,
    /// `strategy`: starting cash.
    #[arg(long, default_value = "$10000")]
    pub cash: String,
    /// `strategy`: commission per side.
    #[arg(long, default_value = "0.1%")]
    pub commission: String,
}

/// What `gaform export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportWhat {
    /// The monitors: rules.yml, prometheus.yml and dashboards/*.json.
    Monitor,
    /// One gene assignment of a strategy written in the file, as a backtesting.py script.
    Strategy,
}

/// Commands on one stack.
#[derive(Args)]
pub struct StackArgs {
    /// The .gaf file [default: the only one in this directory].
    pub file: Option<PathBuf>,
}

/// `gaform status`.
#[derive(Args)]
pub struct StatusArgs {
    /// The .gaf file [default: the only one in this directory].
    pub file: Option<PathBuf>,
    /// One JSON object: instances, jobs and budgets (with their alerts).
    #[arg(long)]
    pub json: bool,
}

/// `gaform events`.
#[derive(Args)]
pub struct EventsArgs {
    /// The .gaf file [default: the only one in this directory].
    pub file: Option<PathBuf>,
    /// One JSON object per line, as the event log holds them.
    #[arg(long)]
    pub json: bool,
}

/// `gaform logs`.
#[derive(Args)]
pub struct LogsArgs {
    /// The job.
    pub job: String,
    /// The .gaf file [default: the only one in this directory].
    pub file: Option<PathBuf>,
}

/// `gaform head`.
#[derive(Args)]
pub struct HeadArgs {
    /// Local cloud: the stack's records directory.
    #[arg(long)]
    pub stack: Option<PathBuf>,
    /// aws cloud: the stack's place on S3 (`s3://BUCKET/stacks/STACK/CLOUD`).
    #[arg(long)]
    pub s3_stack: Option<String>,
    /// aws cloud: this instance's id [default: from the instance metadata service].
    #[arg(long)]
    pub instance_id: Option<String>,
    /// `compute.NAME.head`.
    #[arg(long)]
    pub address: String,
    #[arg(long, default_value_t = 0)]
    pub index: u64,
    /// How often the head measures its budgets and monitors.
    #[arg(long, env = "GAFORM_TICK", default_value = "60s", value_parser = positive_duration)]
    pub tick: Duration,
    /// aws cloud: the address the head's metrics endpoint listens on (the compute's
    /// security group admits only `metrics_from`); tests running heads on one machine
    /// narrow it to loopback.
    #[arg(long, env = "GAFORM_METRICS_BIND", default_value = "0.0.0.0")]
    pub metrics_bind: std::net::IpAddr,
}

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// miette's report, in colour on a terminal.
    Human,
    /// One JSON object per file, one per line; stdout carries nothing else.
    Json,
}

/// `gaform check`.
#[derive(Args)]
pub struct CheckArgs {
    /// Files to check.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// `gaform fmt`.
#[derive(Args)]
pub struct FmtArgs {
    /// Files to format; `-` reads standard input and writes standard output.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Change nothing; list the files that would change and exit 1 if any would.
    #[arg(long)]
    pub check: bool,
}

/// `gaform backtest`.
#[derive(Args)]
pub struct BacktestArgs {
    /// OHLCV CSV file.
    pub data: PathBuf,
    /// The strategy, one value per parameter: 'sma_crossover(fast = 10, slow = 20)', or
    /// one value per gene of a strategy of `--file`: 'ema_rsi(fast = 10, ma = ema)'.
    #[arg(long)]
    pub strategy: String,
    /// A .gaf file whose `strategy` blocks `--strategy` may name (the built-ins too).
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// A job of `--file` whose cash and commission to backtest with (`--cash` and
    /// `--commission` still win).
    #[arg(long, requires = "file")]
    pub job: Option<String>,
    /// Starting cash [default: $10000, or the job's].
    #[arg(long)]
    pub cash: Option<String>,
    /// Commission per side [default: 0.1%, or the job's].
    #[arg(long)]
    pub commission: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also list the closed trades.
    #[arg(long)]
    pub trades: bool,
    /// Backtest only rows FROM..TO of the data (0-based after the header, TO excluded), as
    /// if the file held those rows alone: a window of `windows.csv` or `best.json`.
    #[arg(long, value_name = "FROM..TO")]
    pub bars: Option<String>,
}

/// How `gaform run` runs the job's islands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum IslandsAs {
    /// Threads of this process.
    Threads,
    /// One `gaform worker` process per island, as provisioned workers run them.
    Processes,
}

/// `gaform run`.
#[derive(Args)]
pub struct RunArgs {
    /// The .gaf file.
    pub file: PathBuf,
    /// The job to run (needed when the file has several).
    #[arg(long)]
    pub job: Option<String>,
    /// Results directory [default: results/JOB]. Its `store/` keeps the job and the
    /// islands' checkpoints: running the same job again resumes where it stopped.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// How the islands run.
    #[arg(long, value_enum, default_value_t = IslandsAs::Threads)]
    pub islands_as: IslandsAs,
    /// Only write the job and its data to the store and print the worker commands.
    #[arg(long)]
    pub prepare: bool,
    /// Replace the results (and the run's store) that the output directory holds of
    /// another job, another file or another spec; without it such a directory is refused.
    #[arg(long)]
    pub replace: bool,
    /// Seconds an island waits for its neighbour's checkpoint before giving up.
    #[arg(long, default_value_t = 1800)]
    pub patience: u64,
}

/// `gaform worker`.
#[derive(Args)]
pub struct WorkerArgs {
    /// The run's store: a directory, or file:///path.
    #[arg(long)]
    pub store: Option<String>,
    /// Which island to run (0-based).
    #[arg(long)]
    pub island: Option<u64>,
    /// Local cloud: the stack's records directory.
    #[arg(long)]
    pub stack: Option<PathBuf>,
    /// Local cloud: the worker group's address.
    #[arg(long)]
    pub address: Option<String>,
    /// Local cloud: this worker's slot in its group.
    #[arg(long)]
    pub index: Option<u64>,
    /// Rayon threads [default: the instance type's vCPUs, capped at this machine's cores].
    #[arg(long)]
    pub threads: Option<usize>,
    /// aws cloud: the stack's place on S3 (`s3://BUCKET/stacks/STACK/CLOUD`), with --address.
    #[arg(long)]
    pub s3_stack: Option<String>,
    /// aws cloud: this instance's id [default: from the instance metadata service].
    #[arg(long)]
    pub instance_id: Option<String>,
    /// Seconds to wait for the neighbour island's checkpoint before giving up.
    #[arg(long, default_value_t = 1800)]
    pub patience: u64,
    /// Its head's tick: the worker reports twice a tick, so every tick sees fresh values.
    #[arg(long, env = "GAFORM_TICK", default_value = "60s", value_parser = positive_duration)]
    pub tick: Duration,
    /// aws cloud: how often the instance metadata is asked for spot notices.
    #[arg(long, env = "GAFORM_NOTICE_POLL", default_value = "2s", value_parser = positive_duration)]
    pub notice_poll: Duration,
}
