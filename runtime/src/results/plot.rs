//! The charts, as SVG text (plotters, no font files: SVG text is laid out by the viewer).
//! `fitness.svg`: best and mean fitness per generation (each walk-forward fold's best).
//! `equity.svg`, after backtesting.py's plot: the best genome's equity beside buying and
//! holding the same data, its trades' entries and exits marked, and its drawdown in a panel
//! underneath. `out_of_sample.svg`: the stitched out-of-sample equity beside buy-and-hold.

use super::ticks::{Ticks, LABELS, MAX_LABEL};
use crate::data::civil_from_days;
use crate::ga::{Champion, Outcome};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

const WIDTH: u32 = 900;
const FONT: u32 = 14;
/// Room for [`MAX_LABEL`] characters of tick label plus the axis description beside them.
const Y_LABEL_AREA: u32 = FONT * MAX_LABEL as u32 * 6 / 10 + FONT + 12;
const SECONDS_PER_YEAR: f64 = 365.2425 * 86_400.0;

const STRATEGY: RGBColor = RGBColor(31, 119, 180);
const BUY_AND_HOLD: RGBColor = RGBColor(150, 150, 150);
const ENTRY: RGBColor = RGBColor(44, 160, 44);
const EXIT: RGBColor = RGBColor(214, 39, 40);
const DRAWDOWN: RGBColor = RGBColor(214, 39, 40);
const SHORT: RGBColor = RGBColor(148, 103, 189);
/// The exit marker, in pixels around its point: a triangle pointing down.
const DOWN: [(i32, i32); 3] = [(-5, -4), (5, -4), (0, 5)];

type Chart<'a> = ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Best and mean fitness per generation; with walk-forward, each fold's best, oldest fold
/// palest (a fold's search starts afresh, so their generations are not one series).
pub fn fitness(outcome: &Outcome) -> Result<String, String> {
    let finite = |v: f64| v.is_finite().then_some(v);
    let best = |rows: &[crate::ga::GenerationStats]| -> Vec<(f64, f64)> {
        rows.iter().filter_map(|g| Some((g.generation as f64, finite(g.best)?))).collect()
    };
    let mean: Vec<(f64, f64)> =
        outcome.generations.iter().filter_map(|g| Some((g.generation as f64, finite(g.mean())?))).collect();
    let folds: Vec<Vec<(f64, f64)>> = outcome.fold_generations.iter().map(|rows| best(rows)).collect();
    let overall = best(&outcome.generations);
    let last = outcome.generations.last().map_or(1.0, |g| g.generation as f64).max(1.0);
    let y = if folds.is_empty() {
        padded(overall.iter().chain(&mean).map(|p| p.1))
    } else {
        padded(folds.iter().flatten().map(|p| p.1))
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let caption = match folds.len() {
            0 => format!("{}: fitness per generation", outcome.config.name),
            n => format!(
                "{}: best fitness per generation in each of {n} walk-forward folds",
                outcome.config.name
            ),
        };
        let root = root.titled(&caption, title()).map_err(err)?;
        let mut chart = cartesian(&root, (0.0, last), y, true)?;
        let generations = Ticks::new(0.0, last, LABELS, "");
        let whole = |v: &f64| generations.label(*v);
        mesh(&mut chart, &whole, (y, LABELS), "", ("generation", "fitness"))?;
        if folds.is_empty() {
            line(&mut chart, "best", &overall, EXIT)?;
            line(&mut chart, "mean", &mean, STRATEGY)?;
        }
        let n = folds.len();
        for (k, points) in folds.iter().enumerate() {
            // From a pale blue for the oldest fold to the full one for the latest.
            let shade = 0.25 + 0.75 * k as f64 / (n.max(2) - 1) as f64;
            let style = ShapeStyle { color: STRATEGY.mix(shade), filled: false, stroke_width: 2 };
            let drawn = chart.draw_series(LineSeries::new(points.iter().copied(), style)).map_err(err)?;
            if k == 0 || k + 1 == n {
                let which = if k == 0 { "oldest" } else { "latest" };
                drawn
                    .label(format!("fold {k} ({which})"))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            }
        }
        legend(&mut chart)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Which file and rows the equity chart shows (the best genome's first file, in the window it
/// was trained on): `GOOG_wiki.csv, in sample 2004-08-19..2014-03-27`.
fn shown_window(outcome: &Outcome, best: &Champion) -> String {
    let Some(asset) = best.assets.first() else { return outcome.config.data.join(", ") };
    let w = &asset.in_sample;
    let dates = format!(
        "{}..{}",
        crate::data::format_timestamp(w.first_time),
        crate::data::format_timestamp(w.last_time)
    );
    let window = if !outcome.folds.is_empty() {
        format!("the last fold's train window {dates}")
    } else if asset.out_of_sample.is_some() {
        format!("in sample {dates}")
    } else {
        dates
    };
    format!("{}, {window}", asset.data)
}

/// The best genome's equity beside buy-and-hold, with its trades, over its drawdown.
pub fn equity(outcome: &Outcome, best: &Champion) -> Result<String, String> {
    let years: Vec<f64> = outcome.time.iter().map(|&t| 1970.0 + t as f64 / SECONDS_PER_YEAR).collect();
    let x = (years.first().copied().unwrap_or(0.0), years.last().copied().unwrap_or(1.0));
    let x = if x.1 > x.0 { x } else { (x.0, x.0 + 1.0) };
    let points = |values: &[f64]| -> Vec<(f64, f64)> {
        years.iter().zip(values).filter(|(_, v)| v.is_finite()).map(|(&t, &v)| (t, v)).collect()
    };
    let strategy = points(&outcome.equity);
    let hold = points(&outcome.buy_and_hold);
    let drawdown = points(&drawdown_pct(&outcome.equity));
    let at = |bar: usize| Some((*years.get(bar)?, *outcome.equity.get(bar)?));
    // Long entries and exits by the rule are drawn as they always were; short entries, stops
    // and targets (strategies written in the file) with markers of their own, only when any.
    use crate::backtest::Exit;
    let trades = &outcome.trades;
    let entries: Vec<(f64, f64)> =
        trades.iter().filter(|t| t.units > 0.0).filter_map(|t| at(t.entry_bar)).collect();
    let shorts: Vec<(f64, f64)> =
        trades.iter().filter(|t| t.units < 0.0).filter_map(|t| at(t.entry_bar)).collect();
    let by = |kinds: &[Exit]| -> Vec<(f64, f64)> {
        trades.iter().filter(|t| kinds.contains(&t.exit)).filter_map(|t| at(t.exit_bar)).collect()
    };
    let exits = by(&[Exit::Rule]);
    let stops = by(&[Exit::StopLoss, Exit::TrailingStop, Exit::OutOfMoney]);
    let targets = by(&[Exit::TakeProfit]);

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 660)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let caption = format!(
            "{}: equity of {}",
            outcome.config.name,
            best.strategy.show(outcome.config.space.program())
        );
        let root = root.titled(&caption, title()).map_err(err)?;
        let root = root.titled(&shown_window(outcome, best), ("sans-serif", 14)).map_err(err)?;
        let (upper, lower) = root.split_vertically(440);
        let time = Ticks::new(x.0, x.1, LABELS, "");
        let when = |v: &f64| year_label(*v, time.step);

        let y = padded(strategy.iter().chain(&hold).map(|p| p.1));
        let mut chart = cartesian(&upper, x, y, false)?;
        mesh(&mut chart, &when, (y, LABELS), "", ("", "equity ($)"))?;
        line(&mut chart, "best genome", &strategy, STRATEGY)?;
        line(&mut chart, "buy & hold", &hold, BUY_AND_HOLD)?;
        chart
            .draw_series(entries.iter().map(|&p| TriangleMarker::new(p, 5, ENTRY.filled())))
            .map_err(err)?
            .label(if shorts.is_empty() {
                format!("entry ({} trades)", outcome.trades.len())
            } else {
                format!("long entry ({} of {} trades)", entries.len(), outcome.trades.len())
            })
            .legend(|(x, y)| TriangleMarker::new((x + 10, y), 5, ENTRY.filled()));
        chart
            .draw_series(
                exits.iter().map(|&p| EmptyElement::at(p) + Polygon::new(DOWN.to_vec(), EXIT.filled())),
            )
            .map_err(err)?
            .label("exit")
            .legend(|(x, y)| EmptyElement::at((x + 10, y)) + Polygon::new(DOWN.to_vec(), EXIT.filled()));
        if !shorts.is_empty() {
            chart
                .draw_series(
                    shorts.iter().map(|&p| EmptyElement::at(p) + Polygon::new(DOWN.to_vec(), SHORT.filled())),
                )
                .map_err(err)?
                .label(format!("short entry ({})", shorts.len()))
                .legend(|(x, y)| EmptyElement::at((x + 10, y)) + Polygon::new(DOWN.to_vec(), SHORT.filled()));
        }
        if !stops.is_empty() {
            chart
                .draw_series(stops.iter().map(|&p| Cross::new(p, 5, EXIT.stroke_width(2))))
                .map_err(err)?
                .label(format!("stop exit ({})", stops.len()))
                .legend(|(x, y)| Cross::new((x + 10, y), 5, EXIT.stroke_width(2)));
        }
        if !targets.is_empty() {
            chart
                .draw_series(targets.iter().map(|&p| Circle::new(p, 5, ENTRY.stroke_width(2))))
                .map_err(err)?
                .label(format!("target exit ({})", targets.len()))
                .legend(|(x, y)| Circle::new((x + 10, y), 5, ENTRY.stroke_width(2)));
        }
        legend(&mut chart)?;

        let lowest = drawdown.iter().fold(0.0_f64, |m, p| m.min(p.1));
        let depth = if lowest < 0.0 { lowest * 1.05 } else { -1.0 };
        let mut chart = cartesian(&lower, x, (depth, 0.0), true)?;
        // A third of the height: half the labels.
        mesh(&mut chart, &when, ((depth, 0.0), LABELS / 2), "%", ("date", "drawdown"))?;
        chart
            .draw_series(
                AreaSeries::new(drawdown.iter().copied(), 0.0, DRAWDOWN.mix(0.25)).border_style(DRAWDOWN),
            )
            .map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Each file's stitched out-of-sample equity beside buying and holding over the same bars,
/// a faint vertical line where each file's test windows start.
pub fn out_of_sample(outcome: &Outcome) -> Result<String, String> {
    const COLOURS: [RGBColor; 4] = [STRATEGY, ENTRY, SHORT, EXIT];
    let year = |t: i64| 1970.0 + t as f64 / SECONDS_PER_YEAR;
    let stitched = &outcome.stitched;
    let points = |s: &crate::ga::Stitched, values: &[f64]| -> Vec<(f64, f64)> {
        s.time.iter().zip(values).filter(|(_, v)| v.is_finite()).map(|(&t, &v)| (year(t), v)).collect()
    };
    let xs = stitched.iter().flat_map(|s| s.time.iter().map(|&t| year(t)));
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let x = if lo.is_finite() && hi > lo { (lo, hi) } else { (0.0, 1.0) };
    let y = padded(stitched.iter().flat_map(|s| s.equity.iter().chain(&s.buy_and_hold).copied()));
    let windows = stitched.first().map_or(0, |s| s.starts.len());
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 500)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let caption = format!("{}: out-of-sample equity, stitched", outcome.config.name);
        let root = root.titled(&caption, title()).map_err(err)?;
        let what = match windows {
            1 => "the hold-out window".to_string(),
            n => format!("{n} walk-forward test windows, each fold's winner on the one after its training"),
        };
        let files: Vec<&str> = stitched.iter().map(|s| s.data.as_str()).collect();
        let root = root.titled(&format!("{}, {what}", files.join(", ")), ("sans-serif", 14)).map_err(err)?;
        let mut chart = cartesian(&root, x, y, true)?;
        let time = Ticks::new(x.0, x.1, LABELS, "");
        let when = |v: &f64| year_label(*v, time.step);
        mesh(&mut chart, &when, (y, LABELS), "", ("date", "equity ($)"))?;
        for s in stitched {
            let bounds = s.starts.iter().skip(1).filter_map(|&i| Some(year(*s.time.get(i)?)));
            chart
                .draw_series(
                    bounds.map(|t| PathElement::new(vec![(t, y.0), (t, y.1)], BUY_AND_HOLD.mix(0.35))),
                )
                .map_err(err)?;
        }
        let several = stitched.len() > 1;
        for (s, colour) in stitched.iter().zip(COLOURS.iter().cycle()) {
            let named = |what: &str| if several { format!("{} {what}", s.data) } else { what.to_string() };
            let style = ShapeStyle { color: colour.to_rgba(), filled: false, stroke_width: 2 };
            series(&mut chart, &named("stitched out of sample"), &points(s, &s.equity), style)?;
            let held = if several { colour.mix(0.45) } else { BUY_AND_HOLD.to_rgba() };
            let style = ShapeStyle { color: held, filled: false, stroke_width: 1 };
            series(&mut chart, &named("buy & hold"), &points(s, &s.buy_and_hold), style)?;
        }
        legend(&mut chart)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// A plain line chart of named series over a numeric x axis (a report's time series:
/// cost, utilisation, evaluation time). An empty series draws no line; an empty chart
/// still draws its axes.
pub fn lines(
    caption: &str,
    (x_desc, y_desc): (&str, &str),
    unit: &'static str,
    series: &[(&str, Vec<(f64, f64)>)],
) -> Result<String, String> {
    const COLOURS: [RGBColor; 3] = [STRATEGY, EXIT, ENTRY];
    let finite: Vec<Vec<(f64, f64)>> = series
        .iter()
        .map(|(_, points)| points.iter().copied().filter(|(x, y)| x.is_finite() && y.is_finite()).collect())
        .collect();
    let xs = finite.iter().flatten().map(|p| p.0);
    let (lo, hi) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let x = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else if lo.is_finite() {
        (lo, lo + 1.0)
    } else {
        (0.0, 1.0)
    };
    let y = padded(finite.iter().flatten().map(|p| p.1));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let root = root.titled(caption, title()).map_err(err)?;
        let mut chart = cartesian(&root, x, y, true)?;
        let ticks = Ticks::new(x.0, x.1, LABELS, "");
        let x_label = |v: &f64| ticks.label(*v);
        mesh(&mut chart, &x_label, (y, LABELS), unit, (x_desc, y_desc))?;
        for (i, ((name, _), points)) in series.iter().zip(&finite).enumerate() {
            line(&mut chart, name, points, COLOURS[i % COLOURS.len()])?;
        }
        legend(&mut chart)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Percent below the running peak at each bar (0 at a new high).
fn drawdown_pct(equity: &[f64]) -> Vec<f64> {
    let mut peak = f64::NEG_INFINITY;
    equity
        .iter()
        .map(|&e| {
            peak = peak.max(e);
            if peak > 0.0 {
                (e / peak - 1.0) * 100.0
            } else {
                0.0
            }
        })
        .collect()
}

/// A whole year for yearly ticks; year and month for finer ones.
fn year_label(v: f64, step: f64) -> String {
    if step >= 1.0 {
        return format!("{v:.0}");
    }
    let days = ((v - 1970.0) * SECONDS_PER_YEAR / 86_400.0).round() as i64;
    let (year, month, _) = civil_from_days(days);
    format!("{year}-{month:02}")
}

/// The range of `values`, padded 5% each way (1 each way when flat; 0..1 when empty).
fn padded(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let (lo, hi) = if lo.is_finite() && hi.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 1.0 };
    (lo - pad, hi + pad)
}

fn cartesian<'a>(
    area: &DrawingArea<SVGBackend<'a>, plotters::coord::Shift>,
    x: (f64, f64),
    y: (f64, f64),
    x_labels: bool,
) -> Result<Chart<'a>, String> {
    ChartBuilder::on(area)
        .margin(12)
        .margin_right(24)
        .x_label_area_size(if x_labels { 2 * FONT + 12 } else { 0 })
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x.0..x.1, y.0..y.1)
        .map_err(err)
}

fn mesh(
    chart: &mut Chart<'_>,
    x_label: &dyn Fn(&f64) -> String,
    ((lo, hi), labels): ((f64, f64), usize),
    unit: &'static str,
    (x_desc, y_desc): (&str, &str),
) -> Result<(), String> {
    let ticks = Ticks::new(lo, hi, labels, unit);
    let y_label = |v: &f64| ticks.label(*v);
    chart
        .configure_mesh()
        .x_labels(LABELS)
        .y_labels(labels)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .label_style(("sans-serif", FONT))
        .axis_desc_style(("sans-serif", FONT))
        .x_label_formatter(x_label)
        .y_label_formatter(&y_label)
        .light_line_style(WHITE.mix(0.0))
        .draw()
        .map_err(err)
}

fn line(chart: &mut Chart<'_>, name: &str, points: &[(f64, f64)], colour: RGBColor) -> Result<(), String> {
    chart
        .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
        .map_err(err)?
        .label(name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
    Ok(())
}

fn series(chart: &mut Chart<'_>, name: &str, points: &[(f64, f64)], style: ShapeStyle) -> Result<(), String> {
    chart
        .draw_series(LineSeries::new(points.iter().copied(), style))
        .map_err(err)?
        .label(name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    Ok(())
}

fn legend(chart: &mut Chart<'_>) -> Result<(), String> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", FONT))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)
}

fn title() -> (&'static str, u32) {
    ("sans-serif", 18)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}
