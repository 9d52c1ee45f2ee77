//! The strategy a service answers with: a job's `best.json`, read whole, checked, and
//! numbered. A new `best.json` (another run's) becomes the next version; the version a
//! service serves only ever grows.

use gaform_runtime::backtest::Costs;
use gaform_runtime::ga::Written;
use gaform_runtime::hex::hex;
use gaform_runtime::rules::Program;
use gaform_runtime::strategy::Strategy;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::time::SystemTime;

/// One loaded `best.json`.
#[derive(Debug)]
pub struct Served {
    /// Counts the strategies this service has loaded, from 1.
    pub version: u64,
    /// The digest of the `best.json` it came from: which run produced it.
    pub run: String,
    pub job: String,
    pub strategy: ServedStrategy,
    /// The strategy as JSON (`{"strategy": NAME, ...}`), as `best.json` has it.
    pub strategy_json: serde_json::Value,
    /// The strategy as a call (`sma_crossover(fast = 10, slow = 19)`), rendered once.
    pub parameters: String,
    pub costs: Costs,
    /// Bars a request needs for the strategy to decide on its last one.
    pub needed: usize,
    /// `GET`'s answer, rendered once.
    pub description: Vec<u8>,
    /// The strategy as a program and its genes, what a stream runs (a built-in as the
    /// prelude writes it).
    pub program: Option<(Program, Vec<f64>)>,
}

/// What a service answers with.
#[derive(Clone, Debug)]
pub enum ServedStrategy {
    Builtin(Strategy),
    /// A strategy written in the job's file, with its best genes.
    Written {
        program: Box<Program>,
        values: Vec<f64>,
    },
}

impl std::fmt::Display for ServedStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServedStrategy::Builtin(s) => s.fmt(f),
            ServedStrategy::Written { program, values } => f.write_str(&program.show(values)),
        }
    }
}

#[derive(Deserialize)]
struct Best {
    job: String,
    data: String,
    strategy: serde_json::Value,
    /// A written strategy's program (absent for a built-in).
    #[serde(default)]
    program: Option<Program>,
    #[serde(default)]
    genome: Vec<i64>,
    /// In sample; absent for a job over several files (their figures are in `assets`).
    #[serde(default)]
    metrics: serde_json::Value,
    fitness: serde_json::Value,
    seed: u64,
    /// Absent in results written before services existed: the file's job's costs stand in.
    costs: Option<Costs>,
    status: Option<String>,
}

/// Reads `best.json` bytes as version `version`; `costs` when the file names none.
pub fn load(
    bytes: &[u8],
    version: u64,
    costs: Option<Costs>,
    data_digest: Option<&str>,
) -> Result<Served, String> {
    let best: Best =
        serde_json::from_slice(bytes).map_err(|e| format!("not a best.json gaform wrote: {e}"))?;
    let strategy = match best.program {
        Some(program) => {
            let written = Written { program };
            let chosen = written
                .decode(&best.genome)
                .ok_or("its genome is not one of its program's (a damaged best.json?)")?;
            ServedStrategy::Written { program: Box::new(written.program), values: chosen.values }
        }
        None => ServedStrategy::Builtin(
            serde_json::from_value(best.strategy.clone())
                .map_err(|e| format!("not a best.json gaform wrote: {e}"))?,
        ),
    };
    if let Some(status) = &best.status {
        // A run stopped early has a best so far, not what the job promised: not served.
        return Err(format!("its run stopped before its end ({status})"));
    }
    let run = hex(&Sha256::digest(bytes))[..16].to_string();
    let costs = best
        .costs
        .or(costs)
        .ok_or("it names no costs (written before services existed): run the job again")?;
    let deployed = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let description = serde_json::json!({
        "job": best.job,
        "strategy": best.strategy,
        "parameters": strategy.to_string(),
        "fitness": best.fitness,
        "metrics": best.metrics,
        "data": best.data,
        "data_digest": data_digest,
        "seed": best.seed,
        "costs": costs,
        "version": version,
        "run": run,
        "deployed": deployed,
    });
    let program = match &strategy {
        ServedStrategy::Builtin(s) => gaform_runtime::ga::program_of(s),
        ServedStrategy::Written { program, values } => Some(((**program).clone(), values.clone())),
    };
    Ok(Served {
        program,
        version,
        run,
        job: best.job,
        parameters: strategy.to_string(),
        needed: match &strategy {
            ServedStrategy::Builtin(s) => s.first_decision() + 1,
            // A written strategy's warm-up depends on the bars: the answer says when a
            // request has too few (`http::decide`).
            ServedStrategy::Written { .. } => 2,
        },
        strategy,
        strategy_json: best.strategy,
        costs,
        description: serde_json::to_vec(&description).map_err(|e| e.to_string())?,
    })
}
