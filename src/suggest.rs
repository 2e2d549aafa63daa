//! "Did you mean …?": nearest names by edit distance, for typos in hosts, tags and
//! repositories.

/// Levenshtein distance over characters; anything beyond 3 is reported as 3 (only
/// small distances are ever suggested, and the cap keeps long inputs cheap).
pub fn edit_distance(a: &str, b: &str) -> usize {
    const CAP: usize = 3;
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) >= CAP || a.len() > 512 || b.len() > 512 {
        return CAP;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()].min(CAP)
}

/// Up to `max` candidates close to `target`, nearest first: the same name in another
/// case, then names that extend it (`v3` → `v3.0`, a forgotten suffix), then names one
/// or two edits away, then names it extends.
pub fn nearest<'a>(target: &str, candidates: &'a [String], max: usize) -> Vec<&'a str> {
    let lower = target.to_lowercase();
    let mut scored: Vec<(usize, &str)> = candidates
        .iter()
        .filter(|c| c.as_str() != target)
        .filter_map(|c| {
            let cl = c.to_lowercase();
            let score = if cl == lower {
                0
            } else if !lower.is_empty() && cl.starts_with(&lower) {
                1
            } else {
                match edit_distance(&lower, &cl) {
                    d @ (1 | 2) => d + 1,
                    _ if !cl.is_empty() && lower.starts_with(&cl) => 4,
                    _ => return None,
                }
            };
            Some((score, c.as_str()))
        })
        .collect();
    scored.sort();
    scored.dedup();
    scored.into_iter().take(max).map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_is_levenshtein_capped() {
        assert_eq!(edit_distance("myreg", "myreg"), 0);
        assert_eq!(edit_distance("myreg", "myregg"), 1);
        assert_eq!(edit_distance("myreg", "mreg1"), 2);
        assert_eq!(edit_distance("myreg", "other"), 3);
        assert_eq!(edit_distance("", "abcdef"), 3);
    }

    #[test]
    fn nearest_prefers_close_names() {
        let tags: Vec<String> = ["v1.0", "v1.1", "v2", "latest", "V1.2", "v1.2.3-rc1"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            nearest("v1.2", &tags, 3),
            vec!["V1.2", "v1.2.3-rc1", "v1.0"]
        );
        assert_eq!(
            nearest("v3", &["c3".to_string(), "v3.0".to_string()], 1),
            vec!["v3.0"]
        );
        assert_eq!(nearest("lates", &tags, 3), vec!["latest"]);
        assert!(nearest("zzzzzz", &tags, 3).is_empty());
        assert_eq!(nearest("v1.2.3", &tags, 2), vec!["v1.2.3-rc1", "V1.2"]);
    }
}
