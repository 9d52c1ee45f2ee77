//! The one integration test binary (one build shared by every topic).

mod apply;
#[cfg(feature = "aws")]
mod aws;
#[cfg(feature = "aws")]
mod aws_autoscale;
#[cfg(feature = "aws")]
mod aws_budgets;
#[cfg(feature = "aws")]
mod aws_converge;
#[cfg(feature = "aws")]
mod aws_heal;
#[cfg(feature = "aws")]
mod aws_lock;
#[cfg(feature = "aws")]
mod aws_monitors;
#[cfg(feature = "aws")]
mod aws_serve;
#[cfg(feature = "aws")]
mod aws_spot;
mod backtest;
mod budgets;
mod cli;
mod codes;
mod converge;
mod edits;
#[cfg(feature = "aws")]
mod fault_proxy;
mod fixtures;
mod fmt;
mod fuzz;
#[cfg(feature = "aws")]
mod imds;
mod indicators;
mod layout;
mod lsp;
#[cfg(feature = "aws")]
mod monitors;
#[cfg(feature = "aws")]
mod moto;
mod owners;
mod pipes;
mod plan;
mod plots;
mod prelude;
mod provision;
mod quant;
mod report;
mod run;
mod serve;
mod strategies;
mod streams;
mod support;
mod validation;
mod warm_up;
