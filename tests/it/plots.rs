//! `fitness.svg` and `equity.svg`: labels a person reads (no float noise, at most 8
//! characters on the y axes, no text past the picture's edges), buy-and-hold, trade markers
//! and the drawdown panel; and a snapshot of the SVG text of a small run.

use crate::support::{ok, Workspace};

/// One `<text>` element of plotters' SVG: where it is anchored and what it says.
#[derive(Debug)]
struct Text {
    x: f64,
    anchor: String,
    font_size: f64,
    rotated: bool,
    content: String,
}

fn texts(svg: &str) -> Vec<Text> {
    let attr = |tag: &str, name: &str| {
        let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(tag[start..].split('"').next()?.to_string())
    };
    svg.split("<text")
        .skip(1)
        .filter_map(|rest| {
            let (tag, body) = rest.split_once('>')?;
            Some(Text {
                x: attr(tag, "x")?.parse().ok()?,
                anchor: attr(tag, "text-anchor").unwrap_or_else(|| "start".into()),
                font_size: attr(tag, "font-size")?.parse().ok()?,
                rotated: tag.contains("rotate("),
                content: body.split("</text>").next()?.trim().to_string(),
            })
        })
        .collect()
}

fn width_of(svg: &str) -> f64 {
    let start = svg.find("width=\"").expect("width") + 7;
    svg[start..].split('"').next().and_then(|w| w.parse().ok()).expect("a number")
}

/// Y tick labels are the right-anchored texts; every text must lie inside the picture
/// (0.6 em a character is wider than any digit of a sans-serif face).
fn assert_readable(name: &str, svg: &str) {
    let width = width_of(svg);
    let all = texts(svg);
    assert!(all.len() > 10, "{name}: {all:?}");
    for t in all.iter().filter(|t| !t.rotated) {
        let wide = t.content.chars().count() as f64 * 0.6 * t.font_size;
        let (left, right) = match t.anchor.as_str() {
            "end" => (t.x - wide, t.x),
            "middle" => (t.x - wide / 2.0, t.x + wide / 2.0),
            _ => (t.x, t.x + wide),
        };
        assert!(left >= 0.0 && right <= width, "{name}: {t:?} is cut at the edge");
        if t.anchor == "end" {
            assert!(t.content.chars().count() <= 8, "{name}: y label {t:?}");
            assert!(!t.content.contains("0000000"), "{name}: float noise in {t:?}");
        }
    }
}

#[test]
fn quickstart_charts_read_cleanly() {
    let gaf =
        std::fs::read_to_string(crate::support::root().join("examples/quickstart.gaf")).expect("quickstart");
    let w = Workspace::new("plots", &gaf.replace("data/GOOG_wiki.csv", "GOOG_wiki.csv"));
    ok(&w.gaform(&["run", "job.gaf", "--out", "out"], &[]));
    let (fitness, equity) = (w.read("out/fitness.svg"), w.read("out/equity.svg"));
    assert_readable("fitness.svg", &fitness);
    assert_readable("equity.svg", &equity);
    let best: serde_json::Value = serde_json::from_str(&w.read("out/best.json")).expect("best.json");
    let trades = best["metrics"]["trades"].as_u64().expect("trades");
    let labels: Vec<String> = texts(&equity).into_iter().map(|t| t.content).collect();
    for wanted in
        ["best genome", "buy &amp; hold", &format!("entry ({trades} trades)"), "exit", "drawdown", "0%"]
    {
        assert!(labels.iter().any(|l| l == wanted), "equity.svg has no {wanted:?}: {labels:?}");
    }
}

/// A small run (150 bars, so the time axis is in months) whose charts are snapshotted.
const SMALL: &str = r#"
cloud here { provider = local }
compute box {
  cloud = here
  head { instance_type = "m5.large" }
  workers cpu { instance_type = "c5.large"  max = 1 }
}
job small {
  compute     = box
  data        = "short.csv"
  strategy    = sma_crossover(fast = 2..10, slow = 5..30)
  population  = 12
  generations = 4
  seed        = 3
}
"#;

#[test]
fn small_run_charts_snapshot() {
    let w = Workspace::new("plots-small", SMALL);
    let goog = w.read("GOOG_wiki.csv");
    let short: Vec<&str> = goog.lines().take(151).collect();
    std::fs::write(w.0.join("short.csv"), short.join("\n") + "\n").expect("short.csv");
    ok(&w.gaform(&["run", "job.gaf", "--out", "out"], &[]));
    let (fitness, equity) = (w.read("out/fitness.svg"), w.read("out/equity.svg"));
    assert_readable("fitness.svg", &fitness);
    assert_readable("equity.svg", &equity);
    assert!(texts(&equity).iter().any(|t| t.content == "2004-11"), "month labels on a short span");
    // The chart says which file and rows it shows.
    assert!(
        texts(&equity).iter().any(|t| t.content == "short.csv, 2004-08-19..2005-03-23"),
        "the window shown"
    );
    insta::assert_snapshot!("small_fitness_svg", fitness);
    insta::assert_snapshot!("small_equity_svg", equity);
}
