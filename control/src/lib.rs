//! What a head decides at run time, kept apart from the doing (STYLE.md §6): the cost
//! ledger, budget periods, a budget's thresholds, a monitor's alerts, which workers to shed, when to replace lost ones, size a group to its work or go back to spot, and the events
//! logged for each. No IO, no async and no clock of its own: every function takes `now`,
//! so each rule is tested on a fake clock. Providers carry the decisions out.

pub mod alerts;
pub mod autoscale;
pub mod budget;
pub mod event;
pub mod heal;
mod keyword;
pub mod ledger;
pub mod period;
pub mod scale;
pub mod spot_return;
