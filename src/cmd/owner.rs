//! Results belong to their stack: `results/JOB` (or `run --out DIR`) is written by one
//! file's job at a time, and nothing there is replaced without being said or asked.
//! `plan` and `apply` refuse a job whose results directory belongs to another file that
//! still exists; `run` refuses a directory holding another job's or another spec's results
//! unless given `--replace`. The owner is recorded beside the results (`.owner.json`).

use super::stack::Stack;
use crate::failure::Failure;
use gaform_compiler::plan::Addr;
use gaform_runtime::ga::{self, JobConfig};
use gaform_runtime::hex::hex;
use gaform_runtime::results::owner::{self, Owner};
use gaform_runtime::store::LocalDir;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// `file`'s job as run on data whose digest is `data_sha256` (the host's, as the plan's
/// `data_sha256` attribute holds it): who its results directory should belong to.
pub fn owner(file: &Path, config: &JobConfig, data_sha256: &str) -> Owner {
    let mut digest = Sha256::new();
    digest.update(serde_json::to_vec(config).unwrap_or_default());
    digest.update(data_sha256.as_bytes());
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    Owner { file: file.display().to_string(), job: config.name.clone(), spec: hex(&digest.finalize()) }
}

/// For `plan` and `apply`: refuses when `dir` holds results another file's job wrote and
/// that file still exists (a stack of the same job name, applied from this directory).
/// `recorded`: this stack already runs or ran the job (results from before owners were
/// recorded are its own). What to say when it takes over a gone file's results.
pub fn refuse_another_stack(dir: &Path, me: &Owner, recorded: bool) -> Result<Option<String>, Failure> {
    match owner::read(dir) {
        Some(them) if them.file == me.file && them.job == me.job => Ok(None),
        Some(them) if !Path::new(&them.file).exists() => Ok(Some(format!(
            "{}: the results of job `{}` of {}, which is gone, are taken over by {}'s job `{}`",
            shown(dir),
            them.job,
            shown(&them.file),
            shown(&me.file),
            me.job
        ))),
        Some(them) => Err(format!(
            "job `{job}`: {dir} holds the results of job `{other_job}` of {other}, which {me_file}'s job `{job}` would replace; nothing was changed. Give this job another name, or apply {me_file} from another directory (results are written under the directory gaform runs in), or destroy {other}'s stack and move {dir} away",
            job = me.job,
            dir = shown(dir),
            other_job = them.job,
            other = shown(&them.file),
            me_file = shown(&me.file),
        )
        .into()),
        None if recorded || !owner::holds_results(dir) => Ok(None),
        None => Err(format!(
            "job `{}`: {} holds results no file owns (no {}); move them away or remove them, then apply again; nothing was changed",
            me.job,
            shown(dir),
            owner::FILE
        )
        .into()),
    }
}

/// For `run`: refuses `dir` when it holds another job's or another spec's results, unless
/// `replace`; a run of the same spec resumes there. `resumable`: the store under `dir`
/// holds this very run (results from before owners were recorded are then its own). What
/// to say when it replaces them.
pub fn refuse_another_run(
    dir: &Path,
    me: &Owner,
    resumable: bool,
    replace: bool,
) -> Result<Option<String>, Failure> {
    let theirs = match owner::read(dir) {
        Some(them) if them == *me => return Ok(None),
        Some(them) if them.file == me.file && them.job == me.job => {
            format!(
                "another spec of job `{}` of {} (the job or its data changed since)",
                them.job,
                shown(&them.file)
            )
        }
        Some(them) => format!("job `{}` of {}", them.job, shown(&them.file)),
        // A run from before owners were recorded: its store says which job it was.
        None => match ga::load_job(&LocalDir::new(dir.join("store"))) {
            Ok(_) if resumable => return Ok(None),
            Ok(config) => format!("a run of job `{}`", config.name),
            Err(_) if !owner::holds_results(dir) && !dir.join("store").exists() => return Ok(None),
            Err(_) => format!("results no file owns (no {})", owner::FILE),
        },
    };
    if !replace {
        return Err(format!(
            "{} holds the results of {theirs}; nothing was changed. Give --replace to replace them, or --out DIR for another directory",
            dir.display()
        )
        .into());
    }
    Ok(Some(format!("{}: replacing the results of {theirs}", dir.display())))
}

/// A stack's results directories and who should own each, with what to say of those it
/// takes over.
pub struct Owned {
    pub dirs: Vec<(PathBuf, Owner)>,
    pub notes: Vec<String>,
}

/// Every job of `stack` with its results directory and who should own it; refused (see
/// [`refuse_another_stack`]) when another file's job owns one.
pub fn check_stack(stack: &Stack) -> Result<Owned, Failure> {
    let mut dirs = Vec::new();
    let mut notes = Vec::new();
    for job in &stack.program.jobs {
        let config = crate::job::job_config(job, crate::job::planned_islands(&stack.program, job));
        // The data's digest the plan already took: the files are not read again.
        let data = stack.desired.get(&Addr::job(&job.name)).and_then(|r| r.attributes.get("data_sha256"));
        let me = owner(&stack.file, &config, data.map_or("", String::as_str));
        let dir = stack.results.join(&job.name);
        let recorded = stack.local.stack().job(&job.name).ok().flatten().is_some();
        notes.extend(refuse_another_stack(&dir, &me, recorded)?);
        dirs.push((dir, me));
    }
    Ok(Owned { dirs, notes })
}

/// `path` as messages show it: relative to the current directory when under it.
fn shown(path: impl AsRef<Path>) -> String {
    let path = path.as_ref();
    let here = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&here).unwrap_or(path).display().to_string()
}

/// Records `me` as `dir`'s owner.
pub fn claim(dir: &Path, me: &Owner) -> Result<(), Failure> {
    owner::claim(dir, me).map_err(|e| Failure::from(e.to_string()))
}
