//! "Did you mean ...?": the closest allowed name to a misspelt one.

/// The candidate `input` most likely stands for, if any is close enough.
///
/// In order of preference: the same name in another case (`stepweight` for
/// `stepWeight`); a candidate that extends the input with a version or
/// suffix (`gatewayapi` for `gatewayapi:v1`); the candidate with the
/// smallest edit distance, if it is small relative to the input's length.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let input_lower = input.to_lowercase();
    let candidates: Vec<&str> = candidates
        .into_iter()
        .filter(|candidate| !candidate.is_empty() && *candidate != input)
        .collect();
    if let Some(same) = candidates
        .iter()
        .find(|candidate| candidate.to_lowercase() == input_lower)
    {
        return Some(same);
    }
    let extension = candidates
        .iter()
        .filter(|candidate| {
            let lower = candidate.to_lowercase();
            lower.starts_with(&input_lower)
                && lower[input_lower.len()..].starts_with(|c: char| !c.is_alphanumeric())
        })
        .min_by_key(|candidate| candidate.len());
    if input.chars().count() >= 3
        && let Some(extension) = extension
    {
        return Some(extension);
    }
    // One edit per three characters catches typos without pairing unrelated words.
    let limit = (input.chars().count() / 3).clamp(1, 3);
    candidates
        .iter()
        .map(|candidate| {
            (
                edit_distance(&input_lower, &candidate.to_lowercase()),
                *candidate,
            )
        })
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Optimal string alignment distance: insertions, deletions, substitutions and
/// transpositions of adjacent characters each cost one.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut rows = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        rows[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        rows[at(0, j)] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[at(i - 1, j)] + 1)
                .min(rows[at(i, j - 1)] + 1)
                .min(rows[at(i - 1, j - 1)] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[at(i - 2, j - 2)] + 1);
            }
            rows[at(i, j)] = best;
        }
    }
    rows[at(a.len(), b.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_case_slips_and_missing_versions_find_the_intended_name() {
        let fields = [
            "threshold",
            "thresholdRange",
            "stepWeight",
            "stepWeights",
            "interval",
        ];
        assert_eq!(closest("treshold", fields), Some("threshold"));
        assert_eq!(closest("stepweight", fields), Some("stepWeight"));
        assert_eq!(closest("intreval", fields), Some("interval"));
        let providers = ["gatewayapi:v1", "gatewayapi:v1beta1", "gloo", "istio"];
        assert_eq!(closest("gatewayapi", providers), Some("gatewayapi:v1"));
        let hooks = ["pre-rollout", "rollout", "post-rollout"];
        assert_eq!(closest("pre_rollout", hooks), Some("pre-rollout"));
    }

    #[test]
    fn unrelated_words_get_no_suggestion() {
        assert_eq!(closest("critical", ["info", "warn", "error", ""]), None);
        assert_eq!(closest("x", ["interval", "threshold"]), None);
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("abc", "abc"), 0);
        assert_eq!(edit_distance("abc", "acb"), 1);
        assert_eq!(edit_distance("treshold", "threshold"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
