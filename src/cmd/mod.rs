//! One module per subcommand.

use crate::failure::Failure;
pub mod apply;
pub mod backtest;
pub mod budget;
pub mod check;
pub mod export;
pub mod fmt;
pub mod lsp;
pub mod owner;
pub mod plan;
pub mod run;
pub mod serve;
pub mod service_status;
pub mod stack;
pub mod status;
pub mod worker;

use crate::cli::HeadArgs;
use gaform_agent::head::Ended;
use gaform_compiler::plan::Addr;
use std::process::ExitCode;

/// `gaform head`: a compute's head on the local cloud (`--stack`) or on aws (`--s3-stack`),
/// its arguments made into the agent's configuration.
pub fn head(args: &HeadArgs) -> Result<ExitCode, Failure> {
    let address = Addr(args.address.clone());
    let ended = match (&args.s3_stack, &args.stack) {
        (Some(url), _) => aws_head(url, address, args)?,
        (None, Some(stack)) => {
            let config = gaform_agent::local::HeadConfig {
                stack: stack.clone(),
                address,
                index: args.index,
                tick: args.tick,
            };
            gaform_agent::local::head(&config)?
        }
        (None, None) => return Err("give --stack (local cloud) or --s3-stack (aws)".into()),
    };
    if ended == Ended::Replaced {
        outln!("{}: replaced or removed; exiting", args.address);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "aws")]
fn aws_head(url: &str, address: Addr, args: &HeadArgs) -> Result<Ended, Failure> {
    let config = gaform_agent::aws::HeadConfig {
        stack_url: url.to_string(),
        address,
        instance_id: args.instance_id.clone(),
        tick: args.tick,
        metrics_ip: args.metrics_bind,
    };
    Ok(gaform_agent::aws::head(&config)?)
}

#[cfg(not(feature = "aws"))]
fn aws_head(_: &str, _: Addr, _: &HeadArgs) -> Result<Ended, Failure> {
    Err("this build leaves out the aws cloud (build with the `aws` feature)".into())
}
