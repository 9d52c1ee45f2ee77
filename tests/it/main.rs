//! The one integration test binary (one build shared by every topic).

mod apply;
mod aws;
mod backtest;
mod cli;
mod codes;
mod fault_proxy;
mod fixtures;
mod fmt;
mod fuzz;
mod moto;
mod plan;
mod run;
mod support;
