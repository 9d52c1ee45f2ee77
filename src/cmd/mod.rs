//! One module per subcommand.

pub mod apply;
#[cfg(feature = "aws")]
mod aws_autoscale;
#[cfg(feature = "aws")]
pub mod aws_budget;
#[cfg(feature = "aws")]
pub mod aws_head;
#[cfg(feature = "aws")]
mod aws_heal;
#[cfg(feature = "aws")]
mod aws_spot;
#[cfg(feature = "aws")]
pub mod aws_worker;
pub mod backtest;
pub mod budget;
pub mod check;
pub mod export;
pub mod fmt;
pub mod head;
pub mod lsp;
#[cfg(feature = "aws")]
mod notice_watch;
pub mod plan;
pub mod run;
pub mod serve;
pub mod service_status;
pub mod stack;
pub mod status;
pub mod worker;

use crate::cli::HeadArgs;
use std::process::ExitCode;

/// `gaform head`: a compute's head on the local cloud (`--stack`) or on aws (`--s3-stack`).
/// Chosen here, above both, so that neither head's module names the other.
pub fn head(args: &HeadArgs) -> Result<ExitCode, String> {
    match &args.s3_stack {
        Some(url) => aws_head(url, args),
        None => head::run(args),
    }
}

#[cfg(feature = "aws")]
fn aws_head(url: &str, args: &HeadArgs) -> Result<ExitCode, String> {
    let address = gaform_compiler::plan::Addr(args.address.clone());
    aws_head::head(url, &address, args.instance_id.as_deref(), args.tick)
}

#[cfg(not(feature = "aws"))]
fn aws_head(_: &str, _: &HeadArgs) -> Result<ExitCode, String> {
    Err("this build leaves out the aws cloud (build with the `aws` feature)".into())
}
