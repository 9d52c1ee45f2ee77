//! The strategy a service answers with: a job's `best.json`, read whole, checked, and
//! numbered. A new `best.json` (another run's) becomes the next version; the version a
//! service serves only ever grows.

use gaform_runtime::backtest::Costs;
use gaform_runtime::hex::hex;
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
    pub strategy: Strategy,
    /// The strategy as a call (`sma_crossover(fast = 10, slow = 19)`), rendered once.
    pub parameters: String,
    pub costs: Costs,
    /// Bars a request needs for the strategy to decide on its last one.
    pub needed: usize,
    /// `GET`'s answer, rendered once.
    pub description: Vec<u8>,
}

#[derive(Deserialize)]
struct Best {
    job: String,
    data: String,
    strategy: Strategy,
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
    let best: Best = serde_json::from_slice(bytes).map_err(|e| match written_strategy(bytes) {
        Some(name) => format!(
            "its strategy `{name}` is written in the job's file, and serving such a strategy is not built yet (a built-in is served)"
        ),
        None => format!("not a best.json gaform wrote: {e}"),
    })?;
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
        "parameters": best.strategy.to_string(),
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
    Ok(Served {
        version,
        run,
        job: best.job,
        strategy: best.strategy,
        parameters: best.strategy.to_string(),
        costs,
        needed: best.strategy.first_decision() + 1,
        description: serde_json::to_vec(&description).map_err(|e| e.to_string())?,
    })
}

/// The name of a strategy written in a file, when `best.json` holds one.
fn written_strategy(bytes: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let name = json.get("strategy")?.get("strategy")?.as_str()?;
    let builtin = ["sma_crossover", "rsi_reversion", "breakout"].contains(&name);
    (!builtin).then(|| name.to_string())
}
