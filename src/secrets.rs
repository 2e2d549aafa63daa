//! Every secret the tool learns is registered here before anything could print it.
//!
//! Registration masks the value in the Actions log at once (`::add-mask::`, when the
//! github format is active) and lets every renderer redact it as a second line of
//! defence. Checks must still never put a secret into a finding.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Shorter values are not masked: masking `a` or `1` would shred the whole log
/// (actions/toolkit docs/commands.md), and such values are not credentials anyway.
const MIN_MASKED_LEN: usize = 4;

#[derive(Clone, Default)]
pub struct Secrets {
    inner: Arc<Mutex<SecretsInner>>,
}

#[derive(Default)]
struct SecretsInner {
    values: Vec<String>,
    emit_add_mask: bool,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately opaque: a Debug print of a config must not leak its secrets.
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    /// A registry that also prints `::add-mask::` lines on stdout as values arrive.
    pub fn for_github_actions() -> Secrets {
        let s = Secrets::default();
        s.lock().emit_add_mask = true;
        s
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SecretsInner> {
        // A panic while holding the lock cannot leave the list half-written in a way
        // that matters, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a secret (and, for multi-line values, each line of it).
    pub fn register(&self, value: &str) {
        let trimmed = value.trim();
        if trimmed.len() < MIN_MASKED_LEN {
            return;
        }
        let mut inner = self.lock();
        let mut fresh = Vec::new();
        for candidate in std::iter::once(trimmed).chain(trimmed.lines().map(str::trim)) {
            if candidate.len() >= MIN_MASKED_LEN && !inner.values.iter().any(|v| v == candidate) {
                inner.values.push(candidate.to_string());
                fresh.push(candidate.to_string());
            }
        }
        if inner.emit_add_mask && !fresh.is_empty() {
            let mut out = std::io::stdout().lock();
            for v in fresh {
                // Data escaping keeps a multi-line secret on one command line; the
                // runner then masks the whole value and each of its lines.
                let _ = writeln!(out, "::add-mask::{}", crate::gha::escape_data(&v));
            }
            let _ = out.flush();
        }
    }

    /// Replaces every registered secret in `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        let inner = self.lock();
        let mut values: Vec<&String> = inner.values.iter().collect();
        // Longest first, so a secret containing another is replaced whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        let mut out = text.to_string();
        for v in values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), "***");
            }
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.lock().values.is_empty()
    }
}

/// Redacts what looks like a credential in text that came from outside (helper error
/// output, server bodies) and that we want to quote: JWTs and long opaque tokens.
pub fn redact_tokens(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let token_like = word.len() >= 32
            && word
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+/=_-.:".contains(c))
            && word.chars().any(|c| c.is_ascii_digit())
            && word.chars().any(|c| c.is_ascii_alphabetic());
        if token_like || word.starts_with("eyJ") {
            out.push_str("***");
        } else {
            out.push_str(word);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_longest_first_and_each_line() {
        let s = Secrets::default();
        s.register("hunter2-secret");
        s.register("hunter2-secret-longer\nsecond-line");
        assert_eq!(
            s.redact("a hunter2-secret-longer b hunter2-secret c second-line"),
            "a *** b *** c ***"
        );
    }

    #[test]
    fn short_values_are_not_registered() {
        let s = Secrets::default();
        s.register("ab");
        assert!(s.is_empty());
        assert_eq!(s.redact("ab"), "ab");
    }

    #[test]
    fn token_like_words_are_redacted() {
        assert_eq!(
            redact_tokens("error: eyJhbGciOi.x.y rejected"),
            "error: *** rejected"
        );
        assert_eq!(
            redact_tokens("key 0123456789abcdefABCDEF0123456789abcd here"),
            "key *** here"
        );
        assert_eq!(
            redact_tokens("pass not initialized: exit status 1"),
            "pass not initialized: exit status 1"
        );
    }
}
