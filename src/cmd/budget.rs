//! Budgets at apply time: compute that a spent budget pays for is never started.

use super::stack::Stack;
use gaform_compiler::plan::render::money;
use gaform_compiler::plan::{Action, BudgetSpend, Change, Kind, Plan};
use gaform_providers::local::records::timestamp;
use std::collections::BTreeMap;

/// Refuses the whole apply, before anything changes, when it would start instances or a
/// job of a compute whose budget is spent this period.
pub fn refuse_if_spent(
    stack: &Stack,
    plan: &Plan,
    spend: &BTreeMap<String, BudgetSpend>,
) -> Result<(), String> {
    for b in &stack.desired.budgets {
        let Some(s) = spend.get(&b.name).filter(|s| s.spent >= b.amount) else { continue };
        let pays_for = |c: &Change| {
            let compute = match c.kind {
                Kind::Job => c.needs.first().and_then(|g| g.compute()),
                _ => c.address.compute(),
            };
            compute.is_some_and(|x| b.computes.iter().any(|bc| bc == x))
        };
        let starts = |c: &Change| match c.kind {
            Kind::Head | Kind::WorkerGroup => !c.start.is_empty(),
            Kind::Job => matches!(c.action, Action::Create | Action::Replace),
            _ => false,
        };
        let refused: Vec<&str> = plan
            .resource_changes
            .iter()
            .filter(|c| pays_for(c) && starts(c))
            .map(|c| c.address.as_str())
            .collect();
        if refused.is_empty() {
            continue;
        }
        let when = match s.period_end {
            Some(end) => {
                format!("until the {} rolls over at {} or `amount` is raised", b.period, timestamp(end))
            }
            None => "until `amount` is raised".into(),
        };
        return Err(format!(
            "budget `{}` is spent: {} of {} this {}{}; nothing was changed, and {} will not start {when}",
            b.name,
            money(s.spent),
            money(b.amount),
            if b.period == "total" { "far" } else { b.period.as_str() },
            if s.simulated {
                " (simulated: the local cloud prices its processes as their AWS instance types)"
            } else {
                ""
            },
            refused.join(", ")
        ));
    }
    Ok(())
}
