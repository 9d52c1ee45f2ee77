//! The apply walk: a plan's changes in dependency order, independent ones at once (at most
//! `parallelism`), each on a blocking thread since providers do blocking work. A failed
//! change's dependents are skipped, not failed (Terraform's `upstreamFailed`); everything
//! independent still runs. Providers record each change as it finishes, so a walk cut
//! short by SIGKILL leaves records of exactly what was done.

use crate::CloudError;
use crate::Provider;
use gaform_compiler::plan::{Change, Desired, Plan};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// How one change ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Done; what the provider made.
    Done(String),
    Failed(CloudError),
    /// Not tried: a change it depends on failed or was skipped (its index).
    Skipped(usize),
    /// Not started: the walk was asked to stop.
    Interrupted,
}

/// What the walk reports as it goes.
#[derive(Clone, Debug)]
pub enum Event {
    Started { index: usize },
    Finished { index: usize, outcome: Outcome, elapsed: Duration },
}

/// Runs `plan`'s changes; returns each change's outcome, in the plan's order.
pub async fn walk(
    plan: &Plan,
    provider: Arc<dyn Provider>,
    desired: Arc<Desired>,
    parallelism: usize,
    stop: &(dyn Fn() -> bool + Sync),
    on_event: &(dyn Fn(&Change, Event) + Sync),
) -> Vec<Option<Outcome>> {
    let changes = &plan.resource_changes;
    let mut outcomes: Vec<Option<Outcome>> = vec![None; changes.len()];
    let mut started = vec![false; changes.len()];
    let permits = Arc::new(Semaphore::new(parallelism.max(1)));
    let mut running = JoinSet::new();
    loop {
        // Skip what can no longer run, start what can.
        for i in 0..changes.len() {
            let Some(change) = changes.get(i) else { continue };
            if started.get(i) != Some(&false) {
                continue;
            }
            if stop() {
                started[i] = true;
                on_event(
                    change,
                    Event::Finished { index: i, outcome: Outcome::Interrupted, elapsed: Duration::ZERO },
                );
                outcomes[i] = Some(Outcome::Interrupted);
                continue;
            }
            let blocked = change.depends_on.iter().find(|&&d| {
                matches!(
                    outcomes.get(d),
                    Some(Some(Outcome::Failed(_) | Outcome::Skipped(_) | Outcome::Interrupted))
                )
            });
            if let Some(&d) = blocked {
                started[i] = true;
                let outcome = Outcome::Skipped(d);
                on_event(
                    change,
                    Event::Finished { index: i, outcome: outcome.clone(), elapsed: Duration::ZERO },
                );
                outcomes[i] = Some(outcome);
                continue;
            }
            let ready =
                change.depends_on.iter().all(|&d| matches!(outcomes.get(d), Some(Some(Outcome::Done(_)))));
            // A change starts (and says so) only once it holds a permit: with parallelism 1,
            // one at a time, and an interrupt stops everything not yet started.
            let permit = if ready { permits.clone().try_acquire_owned().ok() } else { None };
            if let Some(permit) = permit {
                started[i] = true;
                on_event(change, Event::Started { index: i });
                let (provider, desired, change) = (provider.clone(), desired.clone(), change.clone());
                running.spawn(async move {
                    let _permit = permit;
                    let clock = Instant::now();
                    let result = tokio::task::spawn_blocking(move || provider.apply(&change, &desired)).await;
                    let outcome = match result {
                        Ok(Ok(said)) => Outcome::Done(said),
                        Ok(Err(e)) => Outcome::Failed(e),
                        Err(e) => Outcome::Failed(format!("internal error: {e}").into()),
                    };
                    (i, outcome, clock.elapsed())
                });
            }
        }
        let Some(joined) = running.join_next().await else { break };
        if let Ok((i, outcome, elapsed)) = joined {
            if let Some(change) = changes.get(i) {
                on_event(change, Event::Finished { index: i, outcome: outcome.clone(), elapsed });
            }
            if let Some(slot) = outcomes.get_mut(i) {
                *slot = Some(outcome);
            }
        }
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;
    use gaform_compiler::plan::{Action, Addr, Cost, Kind, Mode, Summary};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// Records what ran and how many ran at once; fails the addresses it is told to.
    struct Recorder {
        fail: Vec<&'static str>,
        ran: Mutex<Vec<String>>,
        now: AtomicUsize,
        most: AtomicUsize,
    }

    impl Provider for Recorder {
        fn observe(&self) -> Result<gaform_compiler::plan::Observed, CloudError> {
            Ok(Default::default())
        }

        fn apply(&self, change: &Change, _: &Desired) -> Result<String, CloudError> {
            let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(100));
            self.now.fetch_sub(1, Ordering::SeqCst);
            self.ran.lock().unwrap().push(change.address.to_string());
            if self.fail.contains(&change.address.as_str()) {
                Err("boom".into())
            } else {
                Ok("made".into())
            }
        }
    }

    fn change(address: &str, depends_on: Vec<usize>) -> Change {
        Change {
            address: Addr(address.into()),
            kind: Kind::WorkerGroup,
            provider: "local".into(),
            cloud: String::new(),
            action: Action::Create,
            reason: String::new(),
            forced_by: vec![],
            before: None,
            after: None,
            count: None,
            start: vec![],
            stop: vec![],
            depends_on,
            needs: vec![],
        }
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            format_version: 1,
            configuration: String::new(),
            configuration_sha256: String::new(),
            mode: Mode::Plan,
            observed: Default::default(),
            resource_changes: changes,
            notes: vec![],
            cost: Cost::default(),
            summary: Summary::default(),
        }
    }

    fn run(
        plan: &Plan,
        fail: Vec<&'static str>,
        parallelism: usize,
    ) -> (Vec<Option<Outcome>>, Arc<Recorder>) {
        let recorder = Arc::new(Recorder { fail, ran: Mutex::new(vec![]), now: 0.into(), most: 0.into() });
        let desired = Arc::new(Desired {
            resources: vec![],
            not_provisioned: vec![],
            warnings: vec![],
            budgets: vec![],
            monitors: vec![],
        });
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let outcomes = rt.block_on(walk(plan, recorder.clone(), desired, parallelism, &|| false, &|_, _| {}));
        (outcomes, recorder)
    }

    #[test]
    fn a_failure_skips_its_dependents_and_nothing_else() {
        // root → a → a2, root → b; a fails.
        let p = plan(vec![
            change("root", vec![]),
            change("a", vec![0]),
            change("b", vec![0]),
            change("a2", vec![1]),
        ]);
        let (outcomes, recorder) = run(&p, vec!["a"], 10);
        assert_eq!(outcomes[0], Some(Outcome::Done("made".into())));
        assert_eq!(outcomes[1], Some(Outcome::Failed("boom".into())));
        assert_eq!(outcomes[2], Some(Outcome::Done("made".into())));
        assert_eq!(outcomes[3], Some(Outcome::Skipped(1)));
        assert!(!recorder.ran.lock().unwrap().contains(&"a2".to_string()));
    }

    #[test]
    fn independent_changes_run_together_up_to_the_parallelism() {
        let p = plan((0..8).map(|i| change(&format!("g{i}"), vec![])).collect());
        let (outcomes, recorder) = run(&p, vec![], 3);
        assert!(outcomes.iter().all(|o| matches!(o, Some(Outcome::Done(_)))));
        assert_eq!(recorder.most.load(Ordering::SeqCst), 3);
        let (_, serial) = run(&p, vec![], 1);
        assert_eq!(serial.most.load(Ordering::SeqCst), 1);
    }
}
