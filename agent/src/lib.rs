//! What runs on an instance: a compute's head, one loop for both clouds behind a small
//! cloud interface (`head`), with its measuring and alerting (`monitor`, `metrics`,
//! `budget`), its notifications (`notify`) and the report it writes when a job ends
//! (`report`); one worker loop for both clouds behind an interface of its own (`worker`);
//! each cloud's implementation of both interfaces (`local`, `aws`).

// Every line goes through `output`, which ends quietly on a closed pipe; `println!` panics.
#![deny(clippy::print_stdout, clippy::print_stderr)]

#[macro_use]
pub mod output;
#[cfg(feature = "aws")]
pub mod aws;
pub mod budget;
pub mod fleet;
pub mod head;
pub mod local;
pub mod metrics;
pub mod monitor;
pub mod notify;
pub mod report;
pub mod worker;

#[cfg(test)]
mod testing;
