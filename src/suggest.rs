//! "Did you mean …?": nearest names by edit distance, for typos in hosts, tags and
//! repositories; for numeric and semver tags, the nearest tag of the same shape.

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

/// A tag with a numeric or semver shape: `v51`, `1.2.3`, `v1.2.3-rc1`, `20240101`.
/// Two tags have the same shape when their text around the numbers is the same
/// (`v` + one number; `v` + three dotted numbers + `-rc` + a number).
#[derive(Debug, PartialEq, Eq)]
struct Versioned {
    /// The text before the first digit, lowercased: `v`, `release-`, or empty.
    prefix: String,
    /// How many dotted numbers follow the prefix.
    parts: usize,
    /// The rest (after `-`, `+` or `_`), lowercased, with each digit run written `#`.
    suffix: String,
    /// Every number in order: the dotted ones, then those of the suffix.
    numbers: Vec<u64>,
}

impl Versioned {
    fn parse(tag: &str) -> Option<Versioned> {
        let start = tag.find(|c: char| c.is_ascii_digit())?;
        let prefix = &tag[..start];
        if prefix.len() > 16
            || !prefix
                .chars()
                .all(|c| c.is_ascii_alphabetic() || c == '-' || c == '_')
        {
            return None;
        }
        let mut numbers = Vec::new();
        let mut parts = 0;
        let mut rest = &tag[start..];
        loop {
            let digits = rest.chars().take_while(char::is_ascii_digit).count();
            // 18 digits always fit a u64; a longer run is a hash, not a number.
            if digits == 0 || digits > 18 {
                return None;
            }
            numbers.push(rest[..digits].parse().ok()?);
            parts += 1;
            rest = &rest[digits..];
            match rest.strip_prefix('.') {
                Some(next) if next.starts_with(|c: char| c.is_ascii_digit()) => rest = next,
                _ => break,
            }
        }
        if !(rest.is_empty() || rest.starts_with(['-', '+', '_'])) {
            return None;
        }
        let mut suffix = String::new();
        let mut run = String::new();
        for c in rest.chars().chain(std::iter::once(' ')) {
            if c.is_ascii_digit() {
                run.push(c);
                continue;
            }
            if !run.is_empty() {
                if run.len() > 18 {
                    return None;
                }
                numbers.push(run.parse().ok()?);
                suffix.push('#');
                run.clear();
            }
            if c != ' ' {
                suffix.push(c.to_ascii_lowercase());
            }
        }
        Some(Versioned {
            prefix: prefix.to_ascii_lowercase(),
            parts,
            suffix,
            numbers,
        })
    }

    fn same_shape(&self, other: &Versioned) -> bool {
        self.prefix == other.prefix && self.parts == other.parts && self.suffix == other.suffix
    }

    /// How near `other` is: more leading numbers in common first, then the smaller
    /// difference at the first number that differs (smaller keys are nearer).
    fn distance(&self, other: &Versioned) -> (usize, u64) {
        let common = self
            .numbers
            .iter()
            .zip(&other.numbers)
            .take_while(|(a, b)| a == b)
            .count();
        let gap = match (self.numbers.get(common), other.numbers.get(common)) {
            (Some(a), Some(b)) => a.abs_diff(*b),
            _ => 0,
        };
        (usize::MAX - common, gap)
    }
}

/// What to suggest for a tag that does not exist.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TagSuggestion<'a> {
    /// The nearest existing tags, best first.
    pub near: Vec<&'a str>,
    /// Set when the tag has a numeric or semver shape and is newer than every existing
    /// tag of that shape: the newest of them (also `near[0]`). The tag was then most
    /// likely not pushed yet, rather than mistyped.
    pub newest_of_shape: Option<&'a str>,
}

/// Up to `max` existing tags near `target`, the way a person would pick them. For a tag
/// with a numeric or semver shape (`v51`, `1.4.2`, `v2.0.0-rc3`): the same tag in
/// another case, then tags of the same shape by nearness of their numbers (the newer of
/// two equally near first), then [`nearest`]'s picks. So `v51` among `v1`…`v50`
/// suggests `v50`, never `v1` or `v5`. Other tags are names: [`nearest`].
pub fn nearest_tag<'a>(target: &str, candidates: &'a [String], max: usize) -> TagSuggestion<'a> {
    let Some(wanted) = Versioned::parse(target) else {
        return TagSuggestion {
            near: nearest(target, candidates, max),
            newest_of_shape: None,
        };
    };
    let lower = target.to_lowercase();
    let mut near: Vec<&'a str> = candidates
        .iter()
        .filter(|c| c.as_str() != target && c.to_lowercase() == lower)
        .map(String::as_str)
        .collect();
    let mut shaped: Vec<(&'a str, Versioned)> = candidates
        .iter()
        .filter(|c| c.as_str() != target)
        .filter_map(|c| Some((c.as_str(), Versioned::parse(c)?)))
        .filter(|(_, v)| v.same_shape(&wanted))
        .collect();
    let newest_of_shape = shaped
        .iter()
        .max_by(|a, b| a.1.numbers.cmp(&b.1.numbers).then_with(|| b.0.cmp(a.0)))
        .filter(|(_, v)| v.numbers < wanted.numbers)
        .map(|(c, _)| *c);
    shaped.sort_by(|a, b| {
        wanted
            .distance(&a.1)
            .cmp(&wanted.distance(&b.1))
            .then_with(|| b.1.numbers.cmp(&a.1.numbers))
            .then_with(|| a.0.cmp(b.0))
    });
    for (c, _) in shaped {
        if !near.contains(&c) {
            near.push(c);
        }
    }
    for c in nearest(target, candidates, max) {
        if !near.contains(&c) {
            near.push(c);
        }
    }
    near.truncate(max);
    TagSuggestion {
        near,
        newest_of_shape: newest_of_shape.filter(|_| max > 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_tag_past_the_newest_of_its_shape_suggests_the_newest() {
        let all: Vec<String> = (1..=50).map(|n| format!("v{n}")).collect();
        let s = nearest_tag("v51", &all, 3);
        assert_eq!(s.near, vec!["v50", "v49", "v48"]);
        assert_eq!(s.newest_of_shape, Some("v50"));
        // Other shapes never win over the same shape, and a gap is filled from both sides.
        let mut mixed = all.clone();
        mixed.extend(tags(&["v5.1", "latest", "v51-rc1"]));
        mixed.retain(|t| t != "v25");
        let s = nearest_tag("v25", &mixed, 3);
        assert_eq!(s.near, vec!["v26", "v24", "v27"]);
        assert_eq!(s.newest_of_shape, None);
        assert_eq!(nearest_tag("v51", &mixed, 1).near, vec!["v50"]);
    }

    #[test]
    fn semver_tags_are_near_by_their_numbers() {
        let all = tags(&["1.9.0", "1.9.1", "2.0.0", "1.10.0-rc1", "latest"]);
        let s = nearest_tag("1.10.0", &all, 2);
        assert_eq!(s.near, vec!["1.9.1", "1.9.0"]);
        assert_eq!(s.newest_of_shape, None);
        let s = nearest_tag("2.1.0", &all, 1);
        assert_eq!(s.near, vec!["2.0.0"]);
        assert_eq!(s.newest_of_shape, Some("2.0.0"));
        let s = nearest_tag("1.10.0-rc2", &all, 3);
        assert_eq!(s.near[0], "1.10.0-rc1");
        assert_eq!(s.newest_of_shape, Some("1.10.0-rc1"));
        // The same tag in another case comes first.
        assert_eq!(nearest_tag("V2.0.0", &all, 1).near, vec!["2.0.0"]);
    }

    #[test]
    fn names_and_hashes_keep_edit_distance() {
        let all = tags(&["latest", "stable", "sha-1a2b3c", "main"]);
        assert_eq!(nearest_tag("lates", &all, 2).near, vec!["latest"]);
        assert_eq!(nearest_tag("sha-1a2b3d", &all, 1).near, vec!["sha-1a2b3c"]);
        assert_eq!(Versioned::parse("sha-1a2b3c"), None);
        assert_eq!(Versioned::parse("1234567890123456789012"), None);
        assert!(Versioned::parse("release-2024.01.02").is_some());
        assert_eq!(nearest_tag("v1", &[], 3), TagSuggestion::default());
    }

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
