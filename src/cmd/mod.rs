//! One module per subcommand.

pub mod apply;
pub mod backtest;
pub mod budget;
pub mod check;
#[cfg(feature = "aws")]
mod cloud_autoscale;
#[cfg(feature = "aws")]
pub mod cloud_budget;
#[cfg(feature = "aws")]
pub mod cloud_head;
#[cfg(feature = "aws")]
mod cloud_heal;
#[cfg(feature = "aws")]
mod cloud_spot;
#[cfg(feature = "aws")]
pub mod cloud_worker;
pub mod export;
pub mod fmt;
pub mod head;
pub mod lsp;
#[cfg(feature = "aws")]
mod notice_watch;
pub mod plan;
pub mod run;
pub mod service_status;
pub mod stack;
pub mod status;
pub mod worker;
