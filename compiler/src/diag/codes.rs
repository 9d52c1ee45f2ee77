//! The registry of diagnostic codes: each listed once with its meaning. Codes are never
//! reused or renamed (LANGUAGE.md); new ones continue the sequence.

use serde::Serialize;

/// A stable diagnostic code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Code {
    E0001,
    E0002,
    E0003,
    E0004,
    E0005,
    E0006,
    E0007,
    E0008,
    E0009,
    E0010,
    E0011,
    E0012,
    E0013,
    E0014,
    E0015,
    E0016,
    E0017,
    E0018,
    E0019,
    W0001,
    W0002,
    W0003,
    W0004,
}

impl Code {
    /// Every code, in order.
    pub const ALL: [Code; 23] = [
        Code::E0001,
        Code::E0002,
        Code::E0003,
        Code::E0004,
        Code::E0005,
        Code::E0006,
        Code::E0007,
        Code::E0008,
        Code::E0009,
        Code::E0010,
        Code::E0011,
        Code::E0012,
        Code::E0013,
        Code::E0014,
        Code::E0015,
        Code::E0016,
        Code::E0017,
        Code::E0018,
        Code::E0019,
        Code::W0001,
        Code::W0002,
        Code::W0003,
        Code::W0004,
    ];

    /// The code as written in docs and output (`E0007`).
    pub fn as_str(self) -> &'static str {
        self.entry().0
    }

    /// One line saying what the code means.
    pub fn meaning(self) -> &'static str {
        self.entry().1
    }

    /// Warnings are codes starting with `W`.
    pub fn is_warning(self) -> bool {
        self.as_str().starts_with('W')
    }

    fn entry(self) -> (&'static str, &'static str) {
        match self {
            Code::E0001 => ("E0001", "syntax error"),
            Code::E0002 => ("E0002", "unknown block kind"),
            Code::E0003 => ("E0003", "unknown attribute for this block"),
            Code::E0004 => ("E0004", "duplicate block name or duplicate attribute"),
            Code::E0005 => ("E0005", "unresolved reference"),
            Code::E0006 => ("E0006", "reference to the wrong kind of block"),
            Code::E0007 => ("E0007", "type mismatch"),
            Code::E0008 => ("E0008", "missing required attribute"),
            Code::E0009 => ("E0009", "value out of bounds"),
            Code::E0010 => ("E0010", "unknown instance type"),
            Code::E0011 => ("E0011", "quota or compute cap exceeded at max scale"),
            Code::E0012 => ("E0012", "cycle among lets"),
            Code::E0013 => ("E0013", "unknown strategy, operator, enumeration member or metric"),
            Code::E0014 => ("E0014", "the job's data file is missing or is not OHLCV"),
            Code::E0015 => ("E0015", "a bad notification target, or a secret written in the file"),
            Code::E0016 => {
                ("E0016", "a service's compute runs a job, serves another service, or is on another cloud")
            }
            Code::E0017 => {
                ("E0017", "hold-out or walk-forward windows that do not fit the data or the strategy")
            }
            Code::E0018 => ("E0018", "a strategy's `where` holds for no values of its genes"),
            Code::E0019 => ("E0019", "a strategy rule for a side the strategy does not trade"),
            Code::W0001 => ("W0001", "at max scale the budget runs out before its period ends"),
            Code::W0002 => ("W0002", "head node on spot"),
            Code::W0003 => ("W0003", "a block or let that nothing references"),
            Code::W0004 => ("W0004", "the strategy's warm-up leaves no room for a trade in its data"),
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
