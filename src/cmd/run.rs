//! `gaform run FILE [--job NAME]`: check the file, then run one job on this machine with its
//! islands as threads (or as `gaform worker` processes), and write results/JOB/. The run's
//! store lives in results/JOB/store: running the same job again resumes from the islands'
//! checkpoints instead of starting over. Ctrl-C saves every island at the end of its
//! generation and writes the results so far (`best.json`'s status says so); the next run
//! resumes from there.

use crate::cli::{IslandsAs, RunArgs};
use crate::failure::Failure;
use crate::interrupt;
use crate::job::DataText;
use crate::load::{read_and_check, Checked, Report};
use crate::progress::Progress;
use gaform_compiler::ir;
use gaform_compiler::{CheckOptions, Host};
use gaform_runtime::ga::{self, JobConfig, Patience, RunError};
use gaform_runtime::results;
use gaform_runtime::store::{LocalDir, Store};
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

pub fn run(args: &RunArgs) -> Result<ExitCode, Failure> {
    let Some(Checked { program, base, host, .. }) =
        read_and_check(&args.file, &CheckOptions { data_errors: true }, Report::All)?
    else {
        return Ok(ExitCode::FAILURE);
    };
    let job = pick_job(&program, args.job.as_deref())?;
    let config = crate::job::job_config(job, crate::job::planned_islands(&program, job));
    let files = crate::job::read_data(&base, job)?;
    let out = args.out.clone().unwrap_or_else(|| Path::new("results").join(&job.name));
    let data_sha256 = host.data_digest(&job.data).unwrap_or_default();
    let me = super::owner::owner(&args.file, &config, &data_sha256);
    let store_dir = out.join("store");
    let store = LocalDir::new(&store_dir);
    let resumable = holds_run(&store, &config, &files);
    if let Some(note) = super::owner::refuse_another_run(&out, &me, resumable, args.replace)? {
        outln!("{note}");
        clear_results(&out)?;
    }
    open_run(&store, &store_dir, &config, &files)?;
    super::owner::claim(&out, &me)?;
    if args.prepare {
        outln!("prepared {} in {}; start each island with:", config.name, store_dir.display());
        for island in 0..config.units() {
            outln!("  gaform worker --store {} --island {island}", store_dir.display());
        }
        return Ok(ExitCode::SUCCESS);
    }
    let patience = Patience(Duration::from_secs(args.patience));
    let started = Instant::now();
    match args.islands_as {
        IslandsAs::Threads => {
            let progress = Progress::new(config.units(), config.generations);
            let islands: Vec<u64> = (0..config.units()).collect();
            let result = ga::run_islands_steered(
                &store,
                &islands,
                patience,
                None,
                &|e| progress.event(e),
                &interrupt::steer,
            );
            progress.finish();
            match result {
                Err(RunError::Interrupted) if interrupt::interrupted() => {
                    return stopped(&store, &out, started.elapsed().as_secs_f64())
                }
                result => result.map_err(|e| e.to_string())?,
            }
        }
        IslandsAs::Processes => {
            let ran = run_workers(&store_dir, config.units(), args.patience);
            if interrupt::interrupted() {
                return stopped(&store, &out, started.elapsed().as_secs_f64());
            }
            ran?
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let outcome = ga::gather(&store).map_err(|e| e.to_string())?;
    results::write(&out, &outcome).map_err(|e| e.to_string())?;
    out!("{}", results::summary(&outcome, &out, seconds));
    Ok(ExitCode::SUCCESS)
}

/// What a Ctrl-C'd run leaves: every island saved where it was, the results so far.
fn stopped(store: &LocalDir, out: &Path, seconds: f64) -> Result<ExitCode, Failure> {
    let why = "stopped: interrupted; run again to resume from the generation each island reached";
    let outcome = ga::gather_so_far(store).map_err(|e| format!("{why}; no results to keep ({e})"))?;
    results::write_with_status(out, &outcome, Some(why)).map_err(|e| e.to_string())?;
    let reached = outcome.generations.len().saturating_sub(1);
    out!("{}", results::summary(&outcome, out, seconds));
    outln!("{why} (generation {reached} of {} reached)", outcome.config.generations);
    Ok(ExitCode::from(super::worker::INTERRUPTED))
}

fn pick_job<'p>(program: &'p ir::Program, wanted: Option<&str>) -> Result<&'p ir::Job, Failure> {
    let names = || program.jobs.iter().map(|j| format!("`{}`", j.name)).collect::<Vec<_>>().join(", ");
    match (wanted, program.jobs.as_slice()) {
        (None, [only]) => Ok(only),
        (None, []) => Err("the file declares no job".into()),
        (None, _) => {
            Err(format!("the file declares several jobs ({}): choose one with --job", names()).into())
        }
        (Some(name), jobs) => jobs
            .iter()
            .find(|j| j.name == name)
            .ok_or_else(|| format!("no job `{name}` in the file; it declares {}", names()).into()),
    }
}

/// Whether `store` holds this very job on this very data: a run to resume.
fn holds_run(store: &LocalDir, config: &JobConfig, files: &[DataText]) -> bool {
    let same_job = ga::load_job(store).is_ok_and(|existing| existing == *config);
    same_job
        && files
            .iter()
            .all(|f| store.get(&ga::data_key(&f.name)).ok().flatten().is_some_and(|d| d == f.csv.as_bytes()))
}

/// Resumes the run in `store` if it holds this very job on this very data; otherwise
/// clears it and writes the job afresh.
fn open_run(store: &LocalDir, dir: &Path, config: &JobConfig, files: &[DataText]) -> Result<(), Failure> {
    if holds_run(store, config, files) {
        return Ok(());
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|e| format!("cannot clear the old run in {}: {e}", dir.display()))?;
    }
    ga::prepare(store, config, &crate::job::prepared(files)).map_err(|e| Failure::from(e.to_string()))
}

/// Removes the results files and the run's store from `dir`, and nothing else it holds
/// (`--out .` must not empty the current directory).
fn clear_results(dir: &Path) -> Result<(), Failure> {
    let others = ["report.html", "metrics.csv", results::owner::FILE];
    for name in results::FILES.iter().chain(&others) {
        match std::fs::remove_file(dir.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(format!("cannot remove {}: {e}", dir.join(name).display()).into())
            }
            _ => {}
        }
    }
    match std::fs::remove_dir_all(dir.join("store")) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot remove {}: {e}", dir.join("store").display()).into())
        }
        _ => Ok(()),
    }
}

/// Starts one `gaform worker` per island and waits for all of them.
fn run_workers(store_dir: &Path, islands: u64, patience: u64) -> Result<(), Failure> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the gaform executable: {e}"))?;
    let mut children = Vec::new();
    for island in 0..islands {
        let child = Command::new(&exe)
            .arg("worker")
            .arg("--store")
            .arg(store_dir)
            .args(["--island", &island.to_string(), "--patience", &patience.to_string()])
            .spawn()
            .map_err(|e| format!("cannot start the worker for island {island}: {e}"))?;
        children.push((island, child));
    }
    // A stop reaches the workers too (a terminal's Ctrl-C does by itself; a SIGTERM to this
    // process alone does not), so each saves its island before it exits.
    let mut forwarded = false;
    let mut failed = Vec::new();
    while !children.is_empty() {
        if interrupt::interrupted() && !forwarded {
            forwarded = true;
            for (_, child) in &children {
                let pid = nix::unistd::Pid::from_raw(child.id() as i32);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            }
        }
        let mut running = Vec::new();
        for (island, mut child) in children {
            match child.try_wait() {
                Ok(None) => running.push((island, child)),
                Ok(Some(status)) if status.success() => {}
                Ok(Some(status)) => failed.push(format!("island {island} ({status})")),
                Err(e) => failed.push(format!("island {island} ({e})")),
            }
        }
        children = running;
        std::thread::sleep(Duration::from_millis(20));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("workers failed: {}; run again to resume from their checkpoints", failed.join(", "))
            .into())
    }
}
