//! "Did you mean" suggestions: the nearest candidate by edit distance.

/// The candidate closest to `wrong`, if any is close enough to be a plausible typo:
/// within a third of the longer name's length (at least 1, at most 4 edits).
pub fn nearest<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wrong_lower = wrong.to_ascii_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != wrong)
        .map(|c| {
            let distance = strsim::damerau_levenshtein(&wrong_lower, &c.to_ascii_lowercase());
            (distance, c)
        })
        .filter(|&(d, c)| d <= (wrong.len().max(c.len()) / 3).clamp(1, 4))
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c)
}

/// `did you mean `x`?` for the nearest candidate, if any.
pub fn did_you_mean<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    nearest(wrong, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(nearest("instnce_type", ["instance_type", "min", "max"]), Some("instance_type"));
        assert_eq!(nearest("tournment", ["tournament", "roulette", "rank"]), Some("tournament"));
        assert_eq!(nearest("zzz", ["instance_type"]), None);
        assert_eq!(nearest("c5.4xlarg", ["c5.4xlarge", "c5.2xlarge"]), Some("c5.4xlarge"));
    }
}
