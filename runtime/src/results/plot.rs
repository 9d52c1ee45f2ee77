//! The two charts, as SVG text (plotters, no font files: SVG text is laid out by the viewer).

use crate::ga::{Champion, Outcome};
use plotters::prelude::*;

const SIZE: (u32, u32) = (900, 500);

/// A named line: its legend text, its points and its colour.
type Series<'a> = (&'a str, &'a [(f64, f64)], RGBColor);

/// Best and mean fitness per generation.
pub fn fitness(outcome: &Outcome) -> Result<String, String> {
    let finite = |v: f64| v.is_finite().then_some(v);
    let best: Vec<(f64, f64)> =
        outcome.generations.iter().filter_map(|g| Some((g.generation as f64, finite(g.best)?))).collect();
    let mean: Vec<(f64, f64)> =
        outcome.generations.iter().filter_map(|g| Some((g.generation as f64, finite(g.mean())?))).collect();
    let last = outcome.generations.last().map_or(1.0, |g| g.generation as f64).max(1.0);
    let caption = format!("{}: fitness per generation", outcome.config.name);
    let series = [("best", &best[..], RED), ("mean", &mean[..], BLUE)];
    chart(&caption, (0.0, last), ("generation", "fitness"), false, &series)
}

/// The best genome's equity over time (x in years).
pub fn equity(outcome: &Outcome, best: &Champion) -> Result<String, String> {
    const SECONDS_PER_YEAR: f64 = 365.2425 * 86_400.0;
    let points: Vec<(f64, f64)> = outcome
        .time
        .iter()
        .zip(&outcome.equity)
        .map(|(&t, &e)| (1970.0 + t as f64 / SECONDS_PER_YEAR, e))
        .collect();
    let x = (points.first().map_or(0.0, |p| p.0), points.last().map_or(1.0, |p| p.0));
    let caption = format!("{}: equity of {}", outcome.config.name, best.strategy);
    chart(&caption, x, ("year", "equity ($)"), true, &[("best genome", &points[..], BLUE)])
}

fn chart(
    caption: &str,
    x: (f64, f64),
    (x_desc, y_desc): (&str, &str),
    whole_y: bool,
    series: &[Series<'_>],
) -> Result<String, String> {
    let ys = series.iter().flat_map(|(_, points, _)| points.iter().map(|p| p.1));
    let (lo, hi) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| (lo.min(y), hi.max(y)));
    let (lo, hi) = if lo.is_finite() && hi.is_finite() { (lo, hi) } else { (0.0, 1.0) };
    let pad = if hi > lo { (hi - lo) * 0.05 } else { 1.0 };
    let x_hi = if x.1 > x.0 { x.1 } else { x.0 + 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(caption, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(x.0..x_hi, (lo - pad)..(hi + pad))
            .map_err(|e| e.to_string())?;
        let whole = |v: &f64| format!("{v:.0}");
        let plain = |v: &f64| format!("{v}");
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc(y_desc)
            .x_label_formatter(&whole)
            .y_label_formatter(if whole_y { &whole } else { &plain })
            .draw()
            .map_err(|e| e.to_string())?;
        for (name, points, colour) in series {
            let colour = *colour;
            chart
                .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(*name)
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}
