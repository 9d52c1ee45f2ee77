//! Axis labels a person reads: as many decimals as the tick step needs and no more (never
//! `0.7000000000000001`), `k`/`M`/`G` past ten thousand, and never longer than
//! [`MAX_LABEL`] characters, whatever the range: fitness near zero, negative fitness,
//! equity in millions.

use plotters::coord::ranged1d::Ranged;
use plotters::coord::types::RangedCoordf64;

/// Labels on a full-height axis. A chart asks plotters for the number it gives
/// [`Ticks::new`], so the step computed here is the step plotters draws.
pub const LABELS: usize = 10;

/// The longest label, in characters; the charts' label areas are sized for it.
pub const MAX_LABEL: usize = 8;

/// How one axis writes its tick values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Ticks {
    /// The tick step, for axes (years) that choose their form by it.
    pub step: f64,
    /// `None`: a step too fine for fixed decimals in [`MAX_LABEL`] characters.
    decimals: Option<usize>,
    divisor: f64,
    suffix: &'static str,
    unit: &'static str,
}

impl Ticks {
    /// For an axis over `lo..hi` with at most `labels` labels ending in `unit` (`""`, `"%"`).
    pub fn new(lo: f64, hi: f64, labels: usize, unit: &'static str) -> Ticks {
        let points = RangedCoordf64::from(lo..hi).key_points(labels);
        let step = match points.as_slice() {
            [a, b, ..] => b - a,
            _ => (hi - lo).abs(),
        };
        let largest = points.iter().fold(0.0_f64, |m, p| m.max(p.abs()));
        let (divisor, suffix) = match largest {
            m if m >= 1e9 => (1e9, "G"),
            m if m >= 1e6 => (1e6, "M"),
            m if m >= 1e4 => (1e3, "k"),
            _ => (1.0, ""),
        };
        Ticks { step, decimals: decimals(step / divisor), divisor, suffix, unit }
    }

    /// `v` as its tick label.
    pub fn label(&self, v: f64) -> String {
        let Some(decimals) = self.decimals else { return format!("{v:.1e}{}", self.unit) };
        let scaled = v / self.divisor;
        let mut text = format!("{scaled:.decimals$}");
        // A tick a hair below zero must not read `-0` or `-0.0`.
        if text.starts_with('-') && text[1..].bytes().all(|b| b == b'0' || b == b'.') {
            text.remove(0);
        }
        text.push_str(self.suffix);
        text.push_str(self.unit);
        if text.chars().count() <= MAX_LABEL {
            return text;
        }
        // A step tiny beside the values (1000.0001 to 1000.0005): the leading digits are
        // the news, so shorten to scientific form.
        format!("{v:.1e}{}", self.unit)
    }
}

/// The fewest decimals that write every multiple of `step` exactly (plotters' steps are
/// 1, 2 or 5 times a power of ten); `None` past 5, which would not fit with the sign.
fn decimals(step: f64) -> Option<usize> {
    if !(step.is_finite() && step > 0.0) {
        return Some(0);
    }
    (0..=5).find(|&d| {
        let shifted = step * 10f64.powi(d as i32);
        (shifted - shifted.round()).abs() <= 1e-6 * shifted.max(1.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(lo: f64, hi: f64, unit: &'static str) -> Vec<String> {
        let ticks = Ticks::new(lo, hi, LABELS, unit);
        RangedCoordf64::from(lo..hi).key_points(LABELS).into_iter().map(|v| ticks.label(v)).collect()
    }

    #[test]
    fn no_float_noise() {
        assert_eq!(
            labels(0.55, 0.95, ""),
            ["0.55", "0.60", "0.65", "0.70", "0.75", "0.80", "0.85", "0.90", "0.95"]
        );
        assert_eq!(labels(0.0, 1.0, ""), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
    }

    #[test]
    fn near_zero_and_negative() {
        assert_eq!(
            labels(-0.00031, 0.00012, ""),
            [
                "-0.00030", "-0.00025", "-0.00020", "-0.00015", "-0.00010", "-0.00005", "0.00000", "0.00005",
                "0.00010"
            ]
        );
        assert_eq!(labels(-2.3, 0.4, ""), ["-2.0", "-1.5", "-1.0", "-0.5", "0.0"]);
    }

    #[test]
    fn thousands_and_millions() {
        assert_eq!(labels(9_000.0, 71_000.0, ""), ["10k", "20k", "30k", "40k", "50k", "60k", "70k"]);
        assert_eq!(labels(800_000.0, 3_300_000.0, ""), ["1.0M", "1.5M", "2.0M", "2.5M", "3.0M"]);
        assert_eq!(
            labels(1_000.0, 9_000.0, ""),
            ["1000", "2000", "3000", "4000", "5000", "6000", "7000", "8000", "9000"]
        );
        assert_eq!(labels(-61.0, 0.0, "%"), ["-60%", "-50%", "-40%", "-30%", "-20%", "-10%", "0%"]);
    }

    #[test]
    fn never_longer_than_the_label_area() {
        for (lo, hi) in [(1000.0001, 1000.0005), (-1e12, 1e12), (1e-9, 3e-9), (123_456.7, 123_456.9)] {
            for label in labels(lo, hi, "%") {
                assert!(label.chars().count() <= MAX_LABEL, "{lo}..{hi}: {label}");
            }
        }
    }
}
