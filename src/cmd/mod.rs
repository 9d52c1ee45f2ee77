//! One module per subcommand.

pub mod backtest;
pub mod check;
pub mod fmt;
pub mod run;
pub mod worker;
