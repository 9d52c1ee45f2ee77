//! `results/JOB/report.html` in a real browser: the quickstart's report, opened by headless
//! Chromium (Debian's package, installed by the test when missing), lays out every chart,
//! and the page names no external URL. A screenshot is left in `target/report.png` for a
//! person to look at.

use crate::support::{ok, root, Workspace};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's Chromium: `chromium` on the PATH, or installed with apt-get (the machines the
/// tests run on are Debian, as root) the first time a test needs it.
fn chromium() -> PathBuf {
    let found = |name: &str| Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success());
    if found("chromium") {
        return PathBuf::from("chromium");
    }
    let _lock = crate::provision::component("chromium-apt", "apt-get install chromium v1", |dir| {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let install = || {
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", "chromium"])
                .env("DEBIAN_FRONTEND", "noninteractive")
                .output()
        };
        let mut out = install().map_err(|e| format!("apt-get could not be started: {e}"))?;
        if !out.status.success() {
            let _ = Command::new("apt-get").arg("update").output();
            out = install().map_err(|e| e.to_string())?;
        }
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`apt-get install chromium` failed (run the tests as root, or install Debian's chromium):\n{}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(found("chromium"), "chromium is still not on the PATH after installing it");
    PathBuf::from("chromium")
}

/// Headless Chromium on `page` with the flags this closed network needs (no background
/// fetches) and a fresh profile under `profile`.
fn headless(page: &Path, profile: &Path, args: &[&str]) -> std::process::Output {
    Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium starts")
}

#[test]
fn the_quickstart_report_lays_out_every_chart_in_a_browser_and_fetches_nothing() {
    let quickstart = std::fs::read_to_string(root().join("examples/quickstart.gaf")).unwrap();
    let w = Workspace::new("report", &quickstart.replace("data/GOOG_wiki.csv", "GOOG_wiki.csv"));
    let said = ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));
    assert!(
        said.contains("fitness.svg, equity.svg, metrics.csv, report.html"),
        "apply names the report: {said}"
    );
    let page = w.0.join("results/quickstart/report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    for external in ["http://", "https://", "src=", "url(", "@import", "//cdn"] {
        assert!(!html.contains(external), "report.html holds `{external}`");
    }
    assert_eq!(html.matches("<figure>").count(), 5, "equity, fitness, evaluation time, cost, utilisation");
    assert!(html.contains("sma_crossover(fast = 10, slow = 19)"), "the best strategy is named");

    laid_out(&w, &page, 5, "report.png");
}

/// Opens `page` in headless Chromium: its `charts` charts were each laid out at a readable
/// size, and a screenshot is left in `target/SHOT` to be looked at.
fn laid_out(w: &Workspace, page: &Path, charts: usize, shot: &str) {
    let dom = headless(page, &w.0.join("profile-dom"), &["--dump-dom"]);
    let dom = String::from_utf8_lossy(&dom.stdout);
    let sizes = dom
        .split("data-charts=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("the page's script did not run in the browser:\n{dom}"));
    let sizes: Vec<(u32, u32)> = sizes
        .split_whitespace()
        .map(|s| {
            let (w, h) = s.split_once('x').unwrap();
            (w.parse().unwrap(), h.parse().unwrap())
        })
        .collect();
    assert_eq!(sizes.len(), charts, "{sizes:?}");
    assert!(sizes.iter().all(|&(w, h)| w >= 300 && h >= 150), "a chart was laid out too small: {sizes:?}");

    let shot = root().join("target").join(shot);
    let _ = std::fs::remove_file(&shot);
    let taken = headless(
        page,
        &w.0.join("profile-shot"),
        &["--window-size=1000,5200", &format!("--screenshot={}", shot.display())],
    );
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 50_000, "no screenshot ({size} bytes): {}", String::from_utf8_lossy(&taken.stderr));
}

#[test]
fn a_walk_forward_report_leads_with_the_stitched_out_of_sample_figures_and_tables_the_folds() {
    let example = std::fs::read_to_string(root().join("examples/trend-following.gaf")).unwrap();
    let w = Workspace::new("report-walk", &example.replace("data/GOOG_wiki.csv", "GOOG_wiki.csv"));
    ok(&w.gaform(&["apply", "job.gaf", "--auto-approve"], &[]));
    let page = w.0.join("results/trend/report.html");
    let html = std::fs::read_to_string(&page).unwrap();
    let best: serde_json::Value = serde_json::from_str(&w.read("results/trend/best.json")).unwrap();
    let at = |text: &str| html.find(text).unwrap_or_else(|| panic!("report.html lacks `{text}`"));
    assert!(at("<h2>Out of sample</h2>") < at("<h2>Best strategy (the last fold's winner)</h2>"));
    assert!(
        at("Stitched out-of-sample equity against buying and holding") < at("<h2>Walk-forward folds</h2>")
    );
    let stitched = &best["out_of_sample"]["stitched"][0];
    let total = format!("{:.2}%", stitched["total_return"].as_f64().unwrap() * 100.0);
    assert!(
        html[at("<h2>Out of sample</h2>")..at("<h2>Walk-forward folds</h2>")].contains(&total),
        "{total}"
    );
    // One row per fold, with its windows' dates and its winner.
    let folds = best["walk_forward"].as_array().unwrap();
    let table = &html[at("<h2>Walk-forward folds</h2>")..at("<h2>Best strategy")];
    assert_eq!(table.matches("<tr><td>").count(), folds.len(), "{table}");
    for fold in folds {
        let test = &fold["assets"][0]["out_of_sample"];
        let dates = format!("{} to {}", test["from"].as_str().unwrap(), test["to"].as_str().unwrap());
        assert!(table.contains(&dates), "{dates}");
        assert!(table.contains(fold["call"].as_str().unwrap()));
    }
    assert_eq!(
        html.matches("<figure>").count(),
        6,
        "out of sample, equity, fitness, evaluation time, cost, utilisation"
    );
    laid_out(&w, &page, 6, "report-walk-forward.png");
}
