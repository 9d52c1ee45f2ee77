//! The apply walk: a plan's changes in dependency order, independent ones at once (at most
//! `parallelism`), each on a blocking thread since providers do blocking work. A failed
//! change's dependents are skipped, not failed (Terraform's `upstreamFailed`); everything
//! independent still runs. Providers record each change as it finishes, so a walk cut
//! short by SIGKILL leaves records of exactly what was done.

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
    Failed(String),
    /// Not tried: a change it depends on failed or was skipped (its index).
    Skipped(usize),
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
            let blocked = change
                .depends_on
                .iter()
                .find(|&&d| matches!(outcomes.get(d), Some(Some(Outcome::Failed(_) | Outcome::Skipped(_)))));
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
            if ready {
                started[i] = true;
                on_event(change, Event::Started { index: i });
                let (provider, desired, change, permits) =
                    (provider.clone(), desired.clone(), change.clone(), permits.clone());
                running.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    let clock = Instant::now();
                    let result = tokio::task::spawn_blocking(move || provider.apply(&change, &desired)).await;
                    let outcome = match result {
                        Ok(Ok(said)) => Outcome::Done(said),
                        Ok(Err(e)) => Outcome::Failed(e),
                        Err(e) => Outcome::Failed(format!("internal error: {e}")),
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
