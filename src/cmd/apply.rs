//! `gaform apply FILE|PLANFILE` and `gaform destroy FILE`: plan (or load a saved plan and
//! refuse it if stale), confirm, walk the changes under the stack's lock, then follow the
//! jobs that run until they finish (unless `--detach`).

use super::plan::make;
use super::stack::{self, LoadError, Stack};
use crate::cli::{ApplyArgs, DestroyArgs};
use crate::failure::Failure;
use crate::render::diagnostics::colour_wanted;
use gaform_compiler::plan::{render, Action, Change, JobStatus, Plan, FORMAT_VERSION};
use gaform_providers::local::{agent, JobRecord, Lock};
use gaform_providers::process::ProcessId;
use gaform_providers::walk::{self, Event, Outcome};
use gaform_providers::CloudError;
use gaform_providers::Provider;
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Read, Seek, SeekFrom};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long `apply` follows a running job whose compute has no head before it says so.
const HEADLESS_GRACE: Duration = Duration::from_secs(5);

pub fn apply(args: &ApplyArgs) -> Result<ExitCode, Failure> {
    let saved = read_saved_plan(&args.target)?;
    let file = match &saved {
        Some(plan) => Path::new(&plan.configuration).to_path_buf(),
        None => args.target.clone(),
    };
    let stack = match stack::load(&file) {
        Ok(s) => s,
        Err(LoadError::Reported) => return Ok(ExitCode::FAILURE),
        Err(LoadError::Failed(failure)) => return Err(failure),
    };
    let lock = Lock::acquire(stack.local.stack(), "apply")?;
    crate::interrupt::holding(Some(stack.local.stack().lock_file()));
    // Held from the plan's refresh through the prompt to the end of the walk, as Terraform
    // holds its state lock.
    let cloud_locks = lock_clouds(&stack, "apply")?;
    // Before any plan is shown (or a saved one is taken): a job whose results directory
    // another file's job owns is refused.
    let owned = super::owner::check_stack(&stack)?;
    let plan = match saved {
        Some(plan) => {
            refuse_if_stale(&stack, &plan)?;
            // The spend now, not when the plan was saved.
            super::budget::refuse_if_spent(&stack, &plan, &stack.provider.facts(&stack.desired)?.spend)?;
            plan
        }
        None => {
            let plan = make(&stack, false)?;
            out!("{}", render::human(&plan, colour_wanted()));
            let spend =
                plan.cost.budgets.iter().filter_map(|b| Some((b.budget.clone(), b.spent.clone()?))).collect();
            super::budget::refuse_if_spent(&stack, &plan, &spend)?;
            if !plan.is_empty() && !args.auto_approve && !confirm("apply")? {
                outln!("\nApply cancelled.");
                return Ok(ExitCode::FAILURE);
            }
            plan
        }
    };
    for note in &owned.notes {
        outln!("{note}");
    }
    for (dir, me) in &owned.dirs {
        super::owner::claim(dir, me)?;
    }
    super::budget::hand_over(&stack)?;
    let ok = run_walk(&stack, &plan, usize::from(args.parallelism), "Apply")?;
    drop(cloud_locks);
    drop(lock);
    crate::interrupt::holding(None);
    if !ok {
        return Ok(ExitCode::FAILURE);
    }
    if plan.is_empty() {
        // Nothing to do because the jobs are done: show what they found.
        for job in stack.local.stack().jobs()? {
            if let (JobStatus::Finished, Some(summary)) = (&job.status, &job.summary) {
                outln!("\n{} finished earlier with this spec (`gaform destroy` or a changed spec runs it again):\n{summary}", job.address);
            }
        }
    }
    if args.detach {
        let running = running_jobs(&stack)?;
        if !running.is_empty() {
            outln!(
                "\nJobs running detached: {}. See `gaform status {}` and `gaform logs JOB {}`.",
                running.join(", "),
                file.display(),
                file.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let local = follow(&stack)?;
    let remote = follow_remote(&stack)?;
    Ok(if local == ExitCode::SUCCESS { remote } else { local })
}

/// Waits for the jobs handed over to remote clouds, then fetches their results: those still
/// running, and those that finished there since an apply that did not wait (a short job
/// can end between the apply that handed it over and this one's look) whose results are
/// not here yet.
fn follow_remote(stack: &Stack) -> Result<ExitCode, Failure> {
    let observed = stack.provider.observe()?;
    let not_fetched = |name: &str| !stack.results.join(name).join("best.json").exists();
    let remote: Vec<String> = observed
        .resources
        .iter()
        .filter(|(_, r)| r.provider == "aws")
        .filter_map(|(a, r)| {
            let name = a.as_str().trim_start_matches("job.");
            match r.job.as_ref()? {
                JobStatus::Running => Some(name.to_string()),
                JobStatus::Finished if not_fetched(name) => Some(name.to_string()),
                _ => None,
            }
        })
        .collect();
    if remote.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    outln!("\nWaiting for {} on their instances (Ctrl-C detaches; the run goes on):", remote.join(", "));
    let mut ok = true;
    for name in remote {
        let into = stack.results.join(&name);
        let record = loop {
            if let Some(record) = stack.provider.finished(&name, &into)? {
                break record;
            }
            std::thread::sleep(Duration::from_secs(2));
        };
        match &record.status {
            JobStatus::Finished => outln!(
                "\n{}\nresults fetched into {}",
                record.summary.as_deref().unwrap_or(&name),
                into.display()
            ),
            JobStatus::TimedOut => outln!("\n{name}: stopped by its max_runtime"),
            JobStatus::Failed { reason } => {
                ok = false;
                outln!("\n{name}: failed: {reason}");
            }
            JobStatus::Stopped { reason } => {
                ok = false;
                outln!("\n{name}: {reason}; the results so far are in {}", into.display());
            }
            JobStatus::Running => {}
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub fn destroy(args: &DestroyArgs) -> Result<ExitCode, Failure> {
    let stack = match stack::load(&args.file) {
        Ok(s) => s,
        Err(LoadError::Reported) => return Ok(ExitCode::FAILURE),
        Err(LoadError::Failed(failure)) => return Err(failure),
    };
    let lock = Lock::acquire(stack.local.stack(), "destroy")?;
    crate::interrupt::holding(Some(stack.local.stack().lock_file()));
    let cloud_locks = lock_clouds(&stack, "destroy")?;
    let plan = make(&stack, true)?;
    out!("{}", render::human(&plan, colour_wanted()));
    if plan.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.auto_approve && !confirm("destroy")? {
        outln!("\nDestroy cancelled.");
        return Ok(ExitCode::FAILURE);
    }
    let ok = run_walk(&stack, &plan, usize::from(args.parallelism), "Destroy")?;
    drop(cloud_locks);
    drop(lock);
    crate::interrupt::holding(None);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// The stack's lock on every remote cloud that keeps the stack's state (an aws cloud: on
/// S3, so two machines applying one stack exclude each other, where the local lock file
/// excludes only applies on this one). Each is released when its guard is dropped.
fn lock_clouds(stack: &Stack, command: &str) -> Result<Vec<Box<dyn Send>>, Failure> {
    let mut held = Vec::new();
    for (cloud, provider) in &stack.aws {
        if let Some(lock) = provider.lock(command).map_err(|e| format!("aws cloud `{cloud}`: {e}"))? {
            if let Some(note) = &lock.note {
                outln!("aws cloud `{cloud}`: {note}");
            }
            held.push(lock.guard);
        }
    }
    Ok(held)
}

/// A saved plan, if `path` holds one (a `.gaf` file does not parse as JSON).
fn read_saved_plan(path: &Path) -> Result<Option<Plan>, Failure> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes) else { return Ok(None) };
    let version = value.get("format_version").and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(FORMAT_VERSION)) {
        return Err(format!(
            "{} is not a gaform plan of format version {FORMAT_VERSION} (found {}); make it again with `gaform plan --out`",
            path.display(),
            version.map_or("none".into(), |v| v.to_string())
        ).into());
    }
    serde_json::from_value(value)
        .map(Some)
        .map_err(|e| format!("{} is a damaged plan: {e}", path.display()).into())
}

/// A saved plan holds only while the file and the live state are as the plan saw them.
fn refuse_if_stale(stack: &Stack, plan: &Plan) -> Result<(), Failure> {
    if stack.sha256 != plan.configuration_sha256 {
        return Err(format!(
            "the saved plan is stale: {} changed since the plan was made; nothing was changed. Run `gaform plan` again",
            stack.file.display()
        ).into());
    }
    let now = stack.provider.observe()?.fingerprints();
    let addresses: std::collections::BTreeSet<_> = now.keys().chain(plan.observed.keys()).collect();
    let changed: Vec<String> = addresses
        .into_iter()
        .filter(|a| now.get(*a) != plan.observed.get(*a))
        .map(|a| match (plan.observed.get(a), now.get(a)) {
            (None, _) => format!("{a} appeared"),
            (_, None) => format!("{a} is gone"),
            _ => format!("{a} changed"),
        })
        .collect();
    if changed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "the saved plan is stale: the live state changed since the plan was made ({}); nothing was changed. Run `gaform plan` again",
            changed.join(", ")
        ).into())
    }
}

fn confirm(what: &str) -> Result<bool, Failure> {
    out!("\nDo you want to {what} these changes?\n  Only 'yes' will be accepted (or pass --auto-approve).\n\n  Enter a value: ");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).map_err(|e| format!("cannot read the answer: {e}"))?;
    Ok(line.trim() == "yes")
}

/// Walks the plan, printing one line per change; false if any change failed.
fn run_walk(stack: &Stack, plan: &Plan, parallelism: usize, what: &str) -> Result<bool, Failure> {
    if plan.is_empty() {
        return Ok(true);
    }
    outln!();
    let bar = std::io::stdout().is_terminal().then(|| {
        let bar = ProgressBar::new(plan.resource_changes.len() as u64);
        if let Ok(style) = ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} changes") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar
    });
    let say = |line: String| match &bar {
        Some(bar) => bar.println(line),
        None => outln!("{line}"),
    };
    let on_event = |change: &Change, event: Event| match event {
        Event::Started { .. } => say(format!("{}: {}...", change.address, verbs(change.action).0)),
        Event::Finished { outcome, elapsed, .. } => {
            if let Some(bar) = &bar {
                bar.inc(1);
            }
            let secs = elapsed.as_secs_f64();
            say(match outcome {
                Outcome::Done(made) => {
                    format!("{}: {} after {secs:.1}s [{made}]", change.address, verbs(change.action).1)
                }
                Outcome::Failed(e) => {
                    format!("{}: failed after {secs:.1}s ({}): {e}", change.address, e.kind())
                }
                Outcome::Interrupted => format!("{}: not started (interrupted)", change.address),
                Outcome::Skipped(d) => format!(
                    "{}: skipped, because {} did not complete",
                    change.address,
                    plan.resource_changes
                        .get(d)
                        .map_or("a change it needs".into(), |c| c.address.to_string())
                ),
            })
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the apply walk: {e}"))?;
    let provider: Arc<dyn Provider> = stack.provider.clone();
    crate::interrupt::walking(true);
    let outcomes = runtime.block_on(walk::walk(
        plan,
        provider,
        stack.desired.clone(),
        parallelism,
        &crate::interrupt::interrupted,
        &on_event,
    ));
    crate::interrupt::walking(false);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let failed = outcomes.iter().filter(|o| matches!(o, Some(Outcome::Failed(_)))).count();
    let interrupted = outcomes.iter().filter(|o| matches!(o, Some(Outcome::Interrupted))).count();
    let skipped = outcomes.iter().filter(|o| matches!(o, Some(Outcome::Skipped(_)))).count();
    let mut counts = [0usize; 3];
    for (c, o) in plan.resource_changes.iter().zip(&outcomes) {
        if matches!(o, Some(Outcome::Done(_))) {
            match c.action {
                Action::Create => counts[0] += 1,
                Action::Update | Action::Scale => counts[1] += 1,
                Action::Replace => {
                    counts[0] += 1;
                    counts[2] += 1;
                }
                Action::Delete => counts[2] += 1,
            }
        }
    }
    if interrupted > 0 {
        outln!(
            "\n{what} interrupted: {interrupted} change(s) not started; {} added, {} changed, {} destroyed. \
             What was done is recorded: `gaform plan {}` shows what is left.",
            counts[0],
            counts[1],
            counts[2],
            stack.file.display()
        );
        Ok(false)
    } else if failed == 0 {
        outln!(
            "\n{what} complete! Resources: {} added, {} changed, {} destroyed.",
            counts[0],
            counts[1],
            counts[2]
        );
        Ok(true)
    } else {
        outln!(
            "\n{what} failed: {failed} change(s) failed, {skipped} skipped; {} added, {} changed, {} destroyed. \
             What was done is recorded: `gaform plan {}` shows what is left.",
            counts[0],
            counts[1],
            counts[2],
            stack.file.display()
        );
        Ok(false)
    }
}

fn verbs(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Create => ("Creating", "Creation complete"),
        Action::Update => ("Modifying", "Modifications complete"),
        Action::Scale => ("Scaling", "Scaling complete"),
        Action::Replace => ("Replacing", "Replacement complete"),
        Action::Delete => ("Destroying", "Destruction complete"),
    }
}

fn running_jobs(stack: &Stack) -> Result<Vec<String>, Failure> {
    Ok(stack
        .local
        .stack()
        .jobs()?
        .into_iter()
        .filter(|j| j.status == JobStatus::Running)
        .map(|j| j.name)
        .collect())
}

/// Streams the running jobs' logs until each is over, waits for their computes to be
/// terminated, then prints each job's best strategy.
fn follow(stack: &Stack) -> Result<ExitCode, Failure> {
    let names = running_jobs(stack)?;
    if names.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    outln!("\nFollowing {} (Ctrl-C detaches; the run goes on, see `gaform status`):", names.join(", "));
    let dir = stack.local.stack().clone();
    let mut offsets: BTreeMap<String, u64> = BTreeMap::new();
    let mut finals: BTreeMap<String, JobRecord> = BTreeMap::new();
    let mut headless_since: Option<Instant> = None;
    let mut seen: Vec<ProcessId> = Vec::new();
    let job_computes: Vec<String> =
        names.iter().filter_map(|n| dir.job(n).ok().flatten()?.group.compute().map(str::to_string)).collect();
    let processes = || -> Result<Vec<ProcessId>, CloudError> {
        Ok(dir
            .instances()?
            .iter()
            .filter(|r| r.address.compute().is_some_and(|c| job_computes.iter().any(|j| j == c)))
            .filter_map(|r| r.process)
            .collect())
    };
    loop {
        seen.extend(processes()?);
        seen.sort_by_key(|p| (p.pid, p.start_ticks));
        seen.dedup();
        for name in &names {
            let offset = offsets.entry(name.clone()).or_insert(0);
            print_new_lines(&dir.job_log(name), offset, if names.len() > 1 { name } else { "" });
            match dir.job(name)? {
                Some(record) if record.status != JobStatus::Running => {
                    finals.insert(name.clone(), record);
                }
                None => {
                    return Err(
                        format!("job `{name}`'s record disappeared (destroyed by another command?)").into()
                    );
                }
                _ => {}
            }
        }
        if finals.len() == names.len() {
            break;
        }
        // A running job needs its head; without one nothing finishes it.
        let computes: Vec<String> = names
            .iter()
            .filter(|n| !finals.contains_key(*n))
            .filter_map(|n| dir.job(n).ok().flatten())
            .filter_map(|j| j.group.compute().map(str::to_string))
            .collect();
        let headless: Vec<&String> = computes.iter().filter(|c| !agent::head_alive(&dir, c)).collect();
        if headless.is_empty() {
            headless_since = None;
        } else if headless_since.get_or_insert_with(Instant::now).elapsed() > HEADLESS_GRACE {
            return Err(format!(
                "the head of compute `{}` is gone, so its running jobs cannot finish; run `gaform apply {}` to start it again (the jobs resume from their checkpoints)",
                headless[0],
                stack.file.display()
            ).into());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // The head terminates the workers, then itself, once its jobs are over: wait for every
    // process seen while following to be gone, so that apply leaves none behind.
    let waited = Instant::now();
    while waited.elapsed() < Duration::from_secs(30) {
        seen.extend(processes()?);
        if !seen.iter().any(|p| p.is_alive()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut ok = true;
    for (name, record) in &finals {
        match &record.status {
            JobStatus::Finished => {
                outln!("\n{}", record.summary.as_deref().unwrap_or(name));
            }
            JobStatus::TimedOut => outln!("\n{name}: stopped by its max_runtime; its checkpoints are kept"),
            JobStatus::Failed { reason } => {
                ok = false;
                outln!("\n{name}: failed: {reason}\n  see `gaform logs {name} {}`", stack.file.display());
            }
            JobStatus::Stopped { reason } => {
                ok = false;
                outln!(
                    "\n{name}: {reason}; the results so far are in {}\n  see `gaform events {}`",
                    record.results_dir.display(),
                    stack.file.display()
                );
            }
            JobStatus::Running => {}
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn print_new_lines(log: &Path, offset: &mut u64, prefix: &str) {
    let Ok(mut file) = std::fs::File::open(log) else { return };
    if file.seek(SeekFrom::Start(*offset)).is_err() {
        return;
    }
    let mut text = String::new();
    if file.read_to_string(&mut text).is_err() {
        return;
    }
    // Only whole lines; a line being written is read next time.
    let end = text.rfind('\n').map_or(0, |i| i + 1);
    for line in text.get(..end).unwrap_or("").lines() {
        if prefix.is_empty() {
            outln!("  {line}");
        } else {
            outln!("  [{prefix}] {line}");
        }
    }
    *offset += end as u64;
}
