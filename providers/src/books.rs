//! A stack's books: its cost ledger, the budgets its heads enforce with what each has
//! fired this period, the monitors they evaluate, and its event log. The local cloud keeps them in its records
//! directory (`local::StackDir`), an aws cloud under the stack's S3 prefix
//! (`aws::books::S3Books`); the budget logic in the binary reads and writes them only
//! through this trait, so heads on either cloud decide alike.

use crate::CloudError;
use gaform_compiler::plan::{BudgetSpend, Desired};
use gaform_control::alerts::{Monitor, MonitorStatus};
use gaform_control::budget::{BudgetState, Policy, Reading};
use gaform_control::event::Event;
use gaform_control::ledger::Ledger;
use std::collections::BTreeMap;

/// Where one cloud of a stack keeps its ledger, budgets and events.
pub trait Books: Send + Sync {
    /// Every instance start of the cloud's part of the stack.
    fn ledger(&self) -> Result<Ledger, CloudError>;

    /// The budgets the heads enforce: the file's, as of the last apply.
    fn budgets(&self) -> Result<Vec<Policy>, CloudError>;

    /// Records the file's budgets for the heads (apply, before it starts anything).
    fn write_budgets(&self, policies: &[Policy]) -> Result<(), CloudError>;

    /// The monitors the heads evaluate: the file's, as of the last apply.
    fn monitors(&self) -> Result<Vec<Monitor>, CloudError>;

    /// Records the file's monitors for the heads (apply, before it starts anything).
    fn write_monitors(&self, monitors: &[Monitor]) -> Result<(), CloudError>;

    /// Each monitor as its head last measured it.
    fn monitor_statuses(&self) -> Result<Vec<MonitorStatus>, CloudError>;

    /// Records what a head measured of one monitor at its latest tick (one write per tick).
    fn write_monitor_status(&self, status: &MonitorStatus) -> Result<(), CloudError>;

    /// What budget `name` has fired this period.
    fn budget_state(&self, name: &str) -> Result<BudgetState, CloudError>;

    /// Runs `update` on budget `name`'s state and writes it back so that two heads whose
    /// computes share the budget never fire one alert twice; the state as written.
    /// `update` may run more than once (a lost race runs it again on the newer state).
    fn update_budget_state(
        &self,
        name: &str,
        update: &mut dyn FnMut(&mut BudgetState),
    ) -> Result<BudgetState, CloudError>;

    /// Adds `event` to the event log. Never fails the caller: an event that cannot be
    /// written is said on stderr.
    fn record_event(&self, event: &Event);

    /// Every event, oldest first.
    fn events(&self) -> Result<Vec<Event>, CloudError>;

    /// Where the books are, for messages (`/path/.gaform/x`, `s3://bucket/stacks/x/aws`).
    fn describe(&self) -> String;
}

/// The spend this period, as of `now`, of each budget of `desired` whose computes all
/// keep their books here (`here`), by name, from the cloud's `ledger` and the budgets last
/// handed to its heads. A `total` period starts when an apply first handed the budget over
/// (`first_seen`; a budget no apply has seen yet has spent nothing). `simulated`: the local
/// cloud's prices, never billed.
pub fn spend(
    ledger: &Ledger,
    handed: &[Policy],
    desired: &Desired,
    here: impl Fn(&str) -> bool,
    simulated: bool,
    now: f64,
) -> BTreeMap<String, BudgetSpend> {
    let mut out = BTreeMap::new();
    for b in desired.budgets.iter().filter(|b| b.computes.iter().all(|c| here(c))) {
        let Some(policy) = Policy::of(b) else { continue };
        let first_seen = handed.iter().find(|p| p.name == b.name).map_or(now, |p| p.first_seen);
        let policy = Policy { first_seen, ..policy };
        let Reading { spent, per_hour, window: (start, end) } = policy.reading(ledger, now);
        let end = end.is_finite().then_some(end);
        out.insert(
            b.name.clone(),
            BudgetSpend {
                spent,
                per_hour,
                period_start: start,
                period_end: end,
                hours_left: end.map(|e| ((e - now) / 3_600.0).max(0.0)),
                simulated,
            },
        );
    }
    out
}
