//! `acr-preflight explain CODE`: prints the code's section of docs/checks.md, which
//! is compiled in so that the documentation and the command cannot drift apart.

const CHECKS_MD: &str = include_str!("../../docs/checks.md");

/// The section `## CODE` up to the next `## ` heading.
pub fn section(code: &str) -> Option<String> {
    let wanted = code.trim().to_ascii_uppercase();
    let mut out = String::new();
    let mut inside = false;
    for line in CHECKS_MD.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            if inside {
                break;
            }
            inside = heading.trim() == wanted;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    (!out.is_empty()).then(|| out.trim_end().to_string() + "\n")
}

/// Every documented code with its one-line title.
pub fn index() -> String {
    let mut out = String::from("Finding codes (acr-preflight explain CODE for one):\n");
    for code in crate::findings::Code::ALL {
        let title = section(code.as_str())
            .and_then(|s| {
                s.lines()
                    .skip(1)
                    .find(|l| !l.trim().is_empty())
                    .map(str::to_string)
            })
            .unwrap_or_default();
        out.push_str(&format!("  {:<24} {}\n", code.as_str(), title));
    }
    out
}

/// The codes documented in docs/checks.md, in order.
pub fn documented_codes() -> Vec<String> {
    CHECKS_MD
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .map(|h| h.trim().to_string())
        .filter(|h| h.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::Code;

    #[test]
    fn every_code_is_documented_and_every_documented_code_exists() {
        let documented = documented_codes();
        for code in Code::ALL {
            assert!(
                documented.iter().any(|d| d == code.as_str()),
                "{code} has no section in docs/checks.md"
            );
            let s = section(code.as_str()).unwrap();
            for part in ["**Cause.**", "**Detection.**", "**Fix.**"] {
                assert!(s.contains(part), "{code}: section lacks {part}");
            }
        }
        for d in &documented {
            assert!(
                Code::from_name(d).is_some(),
                "docs/checks.md documents unknown code {d}"
            );
        }
    }

    #[test]
    fn every_example_output_line_carries_its_own_section_code() {
        for code in Code::ALL {
            let s = section(code.as_str()).unwrap();
            let examples: Vec<&str> = s
                .lines()
                .filter(|l| {
                    ["error[", "warning[", "notice["]
                        .iter()
                        .any(|p| l.starts_with(p))
                })
                .collect();
            assert!(!examples.is_empty(), "{code}: no example output line");
            for line in examples {
                assert!(
                    line.contains(&format!("[{code}]: ")),
                    "{code}: example `{line}`"
                );
            }
        }
    }

    #[test]
    fn explain_is_case_insensitive_and_stops_at_the_next_code() {
        let s = section("ref_invalid").unwrap();
        assert!(s.starts_with("## REF_INVALID\n"));
        assert!(!s.contains("## REF_WRONG_REGISTRY"));
        assert!(section("NOPE").is_none());
    }
}
