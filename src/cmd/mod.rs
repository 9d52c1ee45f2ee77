//! One module per subcommand.

pub mod backtest;
pub mod check;
pub mod fmt;
