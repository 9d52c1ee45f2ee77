//! `results/JOB/report.html`: one self-contained page a head writes when a job ends
//! (finished, timed out, stopped): the best strategy and its metrics, its equity curve,
//! fitness per generation, evaluation time, cost over time, utilisation, and the alerts
//! that fired. Everything is inline (SVG charts, CSS): the page fetches nothing.

use gaform_compiler::plan::JobStatus;
use gaform_control::alerts::Monitor;
use gaform_control::budget::Policy;
use gaform_control::event::{Event, Kind};
use gaform_providers::local::records::{now, timestamp};
use gaform_providers::local::JobRecord;
use gaform_runtime::results::line_chart;
use gaform_runtime::store::write_atomically;
use gaform_runtime::strategy::Strategy;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// The events a job's report lists: since the job started, its monitors' alerts, its
/// compute's budget's alerts and its compute's stop.
pub fn events_of(
    events: Vec<Event>,
    job: &JobRecord,
    monitors: &[Monitor],
    budgets: &[Policy],
) -> Vec<Event> {
    let compute = job.group.compute().unwrap_or_default();
    events
        .into_iter()
        .filter(|e| e.time >= job.started_at)
        .filter(|e| match &e.kind {
            Kind::MonitorAlert { monitor, .. } => {
                monitors.iter().any(|m| &m.name == monitor && m.job == job.name)
            }
            Kind::AlertFired { budget, .. } => {
                budgets.iter().any(|b| &b.name == budget && b.computes.iter().any(|c| c == compute))
            }
            Kind::ComputeStopped { compute: stopped, .. } => stopped == compute,
            _ => false,
        })
        .collect()
}

/// Writes `dir/report.html` from the results in `dir`, listing `events` (`events_of`) as
/// the run's alerts; `status` says how the job ended.
pub fn write(dir: &Path, status: &str, events: &[Event]) -> Result<(), String> {
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).ok();
    let best: serde_json::Value = read("best.json")
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| format!("{}: no readable best.json to report on", dir.display()))?;
    let job = best["job"].as_str().unwrap_or("job").to_string();
    let mut body = String::new();
    let _ = write!(body, "<h1>{}</h1>\n<p class=\"status\">{}</p>\n", esc(&job), esc(status));
    body.push_str(&run_facts(&best));
    // A validated job is judged by what its strategies did on data they were not trained on:
    // that comes first, the best strategy's in-sample figures after.
    body.push_str(&stitched_table(&best));
    if let Some(svg) = read("out_of_sample.svg") {
        let caption = "Stitched out-of-sample equity against buying and holding over the same bars";
        let _ = write!(body, "<figure>\n{}\n<figcaption>{caption}</figcaption>\n</figure>\n", inline(&svg));
    }
    body.push_str(&folds_table(&best));
    body.push_str(&best_strategy(&best));
    let mut charts = Vec::new();
    // The chart is of the first file's training window: say so when that is not all of it.
    let first = best["assets"][0]["data"].as_str().unwrap_or("the data").to_string();
    let equity_caption = match (best["assets"].as_array().map_or(0, Vec::len), best.get("validation")) {
        (0 | 1, None) => "Equity and drawdown of the best strategy".to_string(),
        _ => format!("Equity and drawdown of the best strategy in sample, on {first}"),
    };
    charts.extend(read("equity.svg").map(|s| (equity_caption.as_str(), s)));
    charts.extend(read("fitness.svg").map(|s| ("Fitness per generation", s)));
    charts.push(("Evaluation time", evaluation_chart(&job, read("timings.csv").as_deref())?));
    let metrics = read("metrics.csv").unwrap_or_default();
    charts.push(("Cost over time", cost_chart(&job, &metrics)?));
    charts.push(("Cluster utilisation", utilisation_chart(&job, &metrics)?));
    for (caption, svg) in &charts {
        let _ =
            write!(body, "<figure>\n{}\n<figcaption>{}</figcaption>\n</figure>\n", inline(svg), esc(caption));
    }
    body.push_str(&alerts_table(events));
    let page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>gaform: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}<script>{MEASURE}</script>\n</body>\n</html>\n",
        esc(&job)
    );
    write_atomically(&dir.join("report.html"), page.as_bytes()).map_err(|e| e.to_string())
}

const STYLE: &str = "body{font-family:sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}\
h1{margin-bottom:0.2em}.status{color:#555;margin-top:0}table{border-collapse:collapse;margin:1em 0}\
td,th{border:1px solid #ccc;padding:0.3em 0.6em;text-align:left}th{background:#f4f4f4}\
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto;display:block}\
figcaption{color:#555;font-size:0.9em}code{background:#f4f4f4;padding:0.1em 0.3em}";

/// Records the size the browser gave each chart on the page's body, so a headless browser's
/// DOM dump shows that every chart was laid out (the tests read it; a reader never sees it).
const MEASURE: &str = "document.body.dataset.charts=Array.from(document.querySelectorAll('figure svg'))\
.map(function(s){var r=s.getBoundingClientRect();return Math.round(r.width)+'x'+Math.round(r.height)}).join(' ');";

fn run_facts(best: &serde_json::Value) -> String {
    let field = |k: &str| best[k].to_string().trim_matches('"').to_string();
    // Each evaluation backtests the genome on every file.
    let files = best["assets"].as_array().map_or(1, |a| a.len().max(1)) as u64;
    let backtests =
        best["evaluations"].as_u64().map_or_else(|| field("evaluations"), |e| (e * files).to_string());
    format!(
        "<p>data <code>{}</code> · seed {} · {} island(s) × population {} · {} generations · {} backtests</p>\n",
        esc(&field("data")),
        field("seed"),
        field("islands"),
        field("population"),
        field("generations"),
        backtests,
    )
}

/// A strategy as the language calls it: `best.json`'s `call`, else (results written before
/// it was) its JSON.
fn call(entry: &serde_json::Value) -> String {
    entry["call"].as_str().map(str::to_string).unwrap_or_else(|| {
        serde_json::from_value::<Strategy>(entry["strategy"].clone())
            .map_or_else(|_| entry["strategy"].to_string(), |s| s.to_string())
    })
}

/// A fraction as a percent with two decimals; `n/a` where undefined.
fn percent(v: &serde_json::Value) -> String {
    v.as_f64().map_or("n/a".into(), |x| format!("{:.2}%", x * 100.0))
}

fn number(v: &serde_json::Value) -> String {
    v.as_f64().map_or("n/a".into(), |x| format!("{x:.4}"))
}

/// The stitched out-of-sample figures per file (and their mean): a validated run's headline.
fn stitched_table(best: &serde_json::Value) -> String {
    let oos = &best["out_of_sample"];
    let Some(files) = oos["stitched"].as_array().filter(|f| !f.is_empty()) else { return String::new() };
    let windows = files.first().and_then(|f| f["windows"].as_u64()).unwrap_or(0);
    let source = match windows {
        1 => "the hold-out window after the training data".to_string(),
        n => format!("{n} walk-forward test windows, each fold's winner on the window after its training"),
    };
    let mut out = format!(
        "<h2>Out of sample</h2>\n<p>Stitched over {source} (<code>out_of_sample.csv</code>).</p>\n<table>\n\
         <tr><th>data</th><th>from</th><th>to</th><th>total return</th><th>annual return</th><th>sharpe</th>\
         <th>max drawdown</th><th>trades</th></tr>\n"
    );
    let row = |out: &mut String, name: &str, from: &str, to: &str, f: &serde_json::Value| {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(name),
            esc(from),
            esc(to),
            percent(&f["total_return"]),
            percent(&f["annual_return"]),
            number(&f["sharpe"]),
            percent(&f["max_drawdown"]),
            f["trades"]
        );
    };
    for f in files {
        let text = |k: &str| f[k].as_str().unwrap_or_default().to_string();
        row(&mut out, &text("data"), &text("from"), &text("to"), f);
    }
    if oos["mean"].is_object() {
        row(&mut out, "mean of files (trades summed)", "", "", &oos["mean"]);
    }
    out.push_str("</table>\n");
    if let Some(e) = oos["walk_forward_efficiency"].as_f64() {
        let _ = writeln!(
            out,
            "<p>Walk-forward efficiency {e:.3}: the mean annual return out of sample over the mean in sample.</p>"
        );
    }
    out
}

/// Walk-forward: one row per fold, its windows (of the first file) and its winner.
fn folds_table(best: &serde_json::Value) -> String {
    let Some(folds) = best["walk_forward"].as_array().filter(|f| !f.is_empty()) else { return String::new() };
    let first = best["assets"][0]["data"].as_str().unwrap_or("the first file");
    let several = best["assets"].as_array().is_some_and(|a| a.len() > 1);
    let dates = if several { format!(" (dates of {})", esc(first)) } else { String::new() };
    let mut out = format!(
        "<h2>Walk-forward folds</h2>\n<table>\n<tr><th>fold</th><th>train{dates}</th><th>test</th>\
         <th>winner</th><th>fitness in sample</th><th>fitness out of sample</th></tr>\n"
    );
    for fold in folds {
        let asset = &fold["assets"][0];
        let span = |w: &serde_json::Value| {
            format!("{} to {}", w["from"].as_str().unwrap_or("?"), w["to"].as_str().unwrap_or("?"))
        };
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            fold["fold"],
            esc(&span(&asset["in_sample"])),
            esc(&span(&asset["out_of_sample"])),
            esc(&call(fold)),
            number(&fold["fitness"]),
            number(&fold["out_of_sample_fitness"])
        );
    }
    out.push_str("</table>\n");
    out
}

fn best_strategy(best: &serde_json::Value) -> String {
    let whose = if best["walk_forward"].is_array() { " (the last fold's winner)" } else { "" };
    let mut out = format!(
        "<h2>Best strategy{whose}</h2>\n<p><code>{}</code> · fitness {}",
        esc(&call(best)),
        best["fitness"]
    );
    if let Some(oos) = best["out_of_sample"].as_object() {
        let _ = write!(out, " in sample, {} out of sample", oos.get("fitness").cloned().unwrap_or_default());
    }
    out.push_str("</p>\n");
    let shown = |v: &serde_json::Value| match (v.as_u64(), v.as_f64()) {
        (Some(n), _) => n.to_string(),
        (None, Some(x)) => format!("{x:.4}"),
        _ => v.to_string(),
    };
    // Per file, its metrics in sample and, with validation, out of sample beside them.
    for asset in best["assets"].as_array().into_iter().flatten() {
        let oos = asset["out_of_sample"]["metrics"].as_object();
        let window = |w: &serde_json::Value| {
            format!("{} to {}", w["from"].as_str().unwrap_or("?"), w["to"].as_str().unwrap_or("?"))
        };
        let _ = write!(
            out,
            "<h3>{}</h3>\n<table>\n<tr><th>metric</th><th>in sample ({})</th>",
            esc(asset["data"].as_str().unwrap_or("data")),
            esc(&window(&asset["in_sample"]))
        );
        if oos.is_some() {
            let _ = write!(out, "<th>out of sample ({})</th>", esc(&window(&asset["out_of_sample"])));
        }
        out.push_str("</tr>\n");
        for (name, value) in asset["in_sample"]["metrics"].as_object().into_iter().flatten() {
            let _ = write!(out, "<tr><td>{}</td><td>{}</td>", esc(name), shown(value));
            if let Some(oos) = oos {
                let _ = write!(out, "<td>{}</td>", oos.get(name).map_or(String::new(), shown));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</table>\n");
    }
    out
}

/// Milliseconds per backtest at each generation, over all islands (from `timings.csv`).
fn evaluation_chart(job: &str, timings: Option<&str>) -> Result<String, String> {
    let mut by_generation: BTreeMap<u64, (f64, u64)> = BTreeMap::new();
    for line in timings.unwrap_or_default().lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        let (Some(g), Some(n), Some(s)) = (cells.get(1), cells.get(2), cells.get(3)) else { continue };
        let (Ok(g), Ok(n), Ok(s)) = (g.parse::<u64>(), n.parse::<u64>(), s.parse::<f64>()) else { continue };
        let entry = by_generation.entry(g).or_default();
        *entry = (entry.0 + s, entry.1 + n);
    }
    let points: Vec<(f64, f64)> = by_generation
        .iter()
        .filter(|(_, (_, n))| *n > 0)
        .map(|(g, (s, n))| (*g as f64, s / *n as f64 * 1e3))
        .collect();
    line_chart(
        &format!("{job}: evaluation time per backtest"),
        ("generation", "ms per backtest (island wall time)"),
        "",
        &[("ms per backtest", points)],
    )
}

/// The `metrics.csv` column `name` against seconds since its first row (the run's
/// start), a row whose cell is empty as `None`.
fn column(metrics: &str, name: &str) -> Vec<(f64, Option<f64>)> {
    let mut lines = metrics.lines();
    let Some(index) = lines.next().and_then(|h| h.split(',').position(|c| c == name)) else { return vec![] };
    let rows: Vec<(f64, Option<f64>)> = lines
        .filter_map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            let time = humantime::parse_rfc3339(cells.first()?).ok()?;
            let at = time.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs_f64();
            Some((at, cells.get(index).and_then(|c| c.parse().ok())))
        })
        .collect();
    let start = rows.first().map_or(0.0, |r| r.0);
    rows.into_iter().map(|(t, v)| (t - start, v)).collect()
}

/// A per-window mean as steps: each row's value holds from the row before it to its own
/// time (the window the head measured it over).
fn steps(rows: &[(f64, Option<f64>)]) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    for pair in rows.windows(2) {
        if let [(from, _), (to, Some(v))] = pair {
            out.extend([(*from, *v), (*to, *v)]);
        }
    }
    out
}

fn cost_chart(job: &str, metrics: &str) -> Result<String, String> {
    let cost: Vec<(f64, f64)> =
        column(metrics, "cost_dollars").into_iter().filter_map(|(t, v)| Some((t, v?))).collect();
    line_chart(
        &format!("{job}: cost of its compute since the job started"),
        ("seconds since the job started", "US dollars"),
        "",
        &[("cost", cost)],
    )
}

fn utilisation_chart(job: &str, metrics: &str) -> Result<String, String> {
    let rows: Vec<(f64, Option<f64>)> =
        column(metrics, "cluster_utilization").into_iter().map(|(t, v)| (t, v.map(|v| v * 100.0))).collect();
    line_chart(
        &format!("{job}: share of the workers' CPU time in backtests"),
        ("seconds since the job started", "utilisation"),
        "%",
        &[("utilisation (mean over each tick)", steps(&rows))],
    )
}

fn alerts_table(events: &[Event]) -> String {
    let rows: Vec<String> = events
        .iter()
        .map(|e| {
            let when = gaform_providers::local::records::timestamp(e.time);
            format!("<tr><td>{when}</td><td>{}</td></tr>", esc(&e.reason))
        })
        .collect();
    if rows.is_empty() {
        return "<h2>Alerts</h2>\n<p>No alert fired during the run.</p>\n".into();
    }
    format!(
        "<h2>Alerts</h2>\n<table>\n<tr><th>time (UTC)</th><th>what and why</th></tr>\n{}\n</table>\n",
        rows.join("\n")
    )
}

/// An SVG document as an element of the page: without its XML namespace attribute, which
/// HTML does not need and which would be the page's only URL.
fn inline(svg: &str) -> String {
    svg.replace(" xmlns=\"http://www.w3.org/2000/svg\"", "")
        .replace("<?xml version=\"1.0\" encoding=\"UTF-8\"?>", "")
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// How an ended job ended, in words (a report's status line).
pub fn job_state(j: &JobRecord) -> String {
    job_detail(j, "running".into())
}

/// How a job stands, in words; `running`: what is known of a running job's progress.
pub fn job_detail(j: &JobRecord, running: String) -> String {
    let elapsed = j.finished_at.unwrap_or_else(now) - j.started_at;
    match &j.status {
        JobStatus::Running => format!("{running} · {}", age(elapsed)),
        JobStatus::Finished => format!(
            "finished {} in {} · results in {}",
            timestamp(j.finished_at.unwrap_or(0.0)),
            age(elapsed),
            j.results_dir.display()
        ),
        JobStatus::TimedOut => format!("stopped by max_runtime after {}", age(elapsed)),
        JobStatus::Failed { reason } => format!("failed: {reason}"),
        JobStatus::Stopped { reason } => format!("{reason} · results so far in {}", j.results_dir.display()),
    }
}

/// A span of seconds in the fewest units that say it (`42s`, `3m05s`, `2h10m`).
pub fn age(secs: f64) -> String {
    let s = secs.max(0.0) as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3_599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3_600, s % 3_600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_columns_are_read_against_seconds_since_the_first_row() {
        let csv = "time,cost_dollars\n2026-12-01T00:00:00.000Z,0\n2026-12-01T00:00:01.500Z,0.5\n2026-12-01T00:00:03Z,\n";
        assert_eq!(column(csv, "cost_dollars"), vec![(0.0, Some(0.0)), (1.5, Some(0.5)), (3.0, None)]);
        assert_eq!(steps(&column(csv, "cost_dollars")), vec![(0.0, 0.5), (1.5, 0.5)]);
        assert!(column(csv, "missing").is_empty());
    }

    #[test]
    fn inlined_charts_carry_no_url() {
        let svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg width=\"1\" xmlns=\"http://www.w3.org/2000/svg\"></svg>";
        assert!(!inline(svg).contains("http"), "{}", inline(svg));
    }
}
