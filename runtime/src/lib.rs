//! The GA runtime: knows nothing of the `.gaf` language. Owns market data, indicators,
//! strategies and the backtester (`backtest`), which follows backtesting.py 0.6.6's
//! conventions so that a winner found here can be re-checked there.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod backtest;
pub mod data;
pub mod indicators;
pub mod strategy;
