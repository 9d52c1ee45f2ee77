//! Exponentially weighted means as pandas computes `x.ewm(..., adjust=False).mean()`
//! (`pandas/_libs/window/aggregations.pyx`, `ewm`, with `ignore_na=False`): the same
//! operations in the same order, so values agree to the last bits the operations allow.

/// pandas' `ewm(com=..., adjust=False, min_periods=min_periods).mean()`. pandas reaches
/// `alpha` through the centre of mass (`alpha = 1 / (1 + com)`), which is not always the
/// `alpha` a caller wrote: `span` and `alpha` are turned into `com` first, as there.
///
/// An infinity is undefined, as in every pandas window. The average starts at the first
/// defined value; an undefined value later keeps the last
/// average (and ages its weight), as pandas does; a value is shown once `min_periods`
/// values were defined.
pub fn ewm_mean(values: &[f64], com: f64, min_periods: usize) -> Vec<f64> {
    let values = &*super::rolling::prep(values);
    let alpha = 1.0 / (1.0 + com);
    let old_wt_factor = 1.0 - alpha;
    let new_wt = alpha;
    let min_periods = min_periods.max(1);
    let mut out = vec![f64::NAN; values.len()];
    let Some(&first) = values.first() else { return out };
    let mut weighted = first;
    let mut nobs = usize::from(!first.is_nan());
    let mut old_wt = 1.0f64;
    if nobs >= min_periods {
        out[0] = weighted;
    }
    for (i, &cur) in values.iter().enumerate().skip(1) {
        let is_observation = !cur.is_nan();
        nobs += usize::from(is_observation);
        if !weighted.is_nan() {
            old_wt *= old_wt_factor;
            if is_observation {
                // pandas skips the update on an equal value, against rounding on flat series.
                if weighted != cur {
                    weighted = old_wt * weighted + new_wt * cur;
                    weighted /= old_wt + new_wt;
                }
                old_wt = 1.0;
            }
        } else if is_observation {
            weighted = cur;
        }
        if nobs >= min_periods {
            if let Some(o) = out.get_mut(i) {
                *o = weighted;
            }
        }
    }
    out
}

/// pandas' centre of mass for `span`: `(span - 1) / 2`.
pub fn com_of_span(span: usize) -> f64 {
    (span as f64 - 1.0) / 2.0
}

/// pandas' centre of mass for `alpha`: `(1 - alpha) / alpha`.
pub fn com_of_alpha(alpha: f64) -> f64 {
    (1.0 - alpha) / alpha
}

/// `ema(x, n)`: `x.ewm(span=n, adjust=False, min_periods=n).mean()`.
pub fn ema(values: &[f64], n: usize) -> Vec<f64> {
    if n == 0 {
        return vec![f64::NAN; values.len()];
    }
    ewm_mean(values, com_of_span(n), n)
}

/// Wilder's smoothing `W(s)`: `s.ewm(alpha=1/n, adjust=False, min_periods=n).mean()`.
pub fn wilder(values: &[f64], n: usize) -> Vec<f64> {
    if n == 0 {
        return vec![f64::NAN; values.len()];
    }
    ewm_mean(values, com_of_alpha(1.0 / n as f64), n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_at_the_first_value_and_recurses() {
        let v = [1.0, 2.0, 3.0, 4.0];
        let e = ema(&v, 3);
        assert!(e[0].is_nan() && e[1].is_nan());
        // alpha = 1/(1 + 1) = 0.5: 1 → 1.5 → 2.25 → 3.125.
        assert_eq!(&e[2..], &[2.25, 3.125]);
    }

    #[test]
    fn leading_gaps_are_skipped_and_later_ones_hold_the_average() {
        let v = [f64::NAN, f64::NAN, 2.0, 4.0, f64::NAN, 4.0];
        let e = ewm_mean(&v, 1.0, 1);
        assert!(e[1].is_nan());
        assert_eq!(e[2], 2.0);
        assert_eq!(e[3], 3.0);
        assert_eq!(e[4], 3.0, "a gap keeps the average");
        // The gap aged the old weight to 0.25: (0.25 * 3 + 0.5 * 4) / 0.75.
        assert_eq!(e[5], (0.25 * 3.0 + 0.5 * 4.0) / 0.75);
    }
}
