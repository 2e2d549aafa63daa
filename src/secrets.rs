//! Every secret the tool learns is registered here before anything could print it.
//!
//! Registration masks the value in the Actions log at once (`::add-mask::`, when the
//! github format is active) and lets every renderer redact it as a second line of
//! defence. Checks must still never put a secret into a finding.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Shorter values are never given to the runner's `::add-mask::`: masking `a` or `1`
/// would shred the whole log (actions/toolkit docs/commands.md).
const MIN_MASKED_LEN: usize = 4;
/// A value this long is a credential whatever its characters.
const CREDENTIAL_LEN: usize = 8;
/// The shortest head of a secret that is redacted where a message was cut (`…`).
const MIN_CUT_PREFIX: usize = 4;

/// Which values the runner masks (`::add-mask::`) and how this tool redacts its own
/// output. The rule (documented in docs/checks.md, "Secrets in the output"):
///
/// - a value *looks like a credential* when it has at least [`CREDENTIAL_LEN`]
///   characters, or at least [`MIN_MASKED_LEN`] characters with a letter and a digit or
///   symbol (`pw12`, `a-b!`): it is registered with the runner and replaced by `***`
///   wherever it occurs in our output, whole, split across lines, or as the head of a
///   value cut by a message shortening (`…`);
/// - any other value (`ab`, `1234`, `error`: short, or a plain word or number) is never
///   given to `::add-mask::` (that would mask the word in every later step of the job)
///   and is replaced in our output only as a whole token, bounded by characters that are
///   not letters or digits, so unrelated words that contain it are left alone.
///
/// Every value is registered with its encoded forms too: percent-encoding (form and
/// RFC 3986, both hex cases) for values echoed from a form or URL, and, through
/// [`Secrets::register_basic`], the base64 `user:password` of a Basic header.
fn looks_like_credential(v: &str) -> bool {
    let n = v.chars().count();
    if n >= CREDENTIAL_LEN {
        return true;
    }
    n >= MIN_MASKED_LEN
        && v.chars().any(|c| c.is_alphabetic())
        && v.chars().any(|c| !c.is_alphabetic())
}

/// Where `::add-mask::` lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MaskStream {
    Stdout,
    Stderr,
}

#[derive(Clone, Default)]
pub struct Secrets {
    inner: Arc<Mutex<SecretsInner>>,
}

#[derive(Default)]
struct SecretsInner {
    /// Values that look like credentials: masked by the runner, redacted anywhere.
    values: Vec<String>,
    /// Short or word-like values: redacted as whole tokens only, never `::add-mask::`ed.
    words: Vec<String>,
    /// Everything in `values` and `words`: registration is a hash lookup, so a config
    /// with thousands of entries costs linear time, not quadratic.
    seen: std::collections::HashSet<String>,
    emit_add_mask: Option<MaskStream>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Deliberately opaque: a Debug print of a config must not leak its secrets.
        f.write_str("Secrets(..)")
    }
}

/// `s` percent-encoded: every byte outside RFC 3986's unreserved set, hex in `upper` or
/// lower case.
fn percent_encode(s: &str, upper: bool) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// The forms a value is echoed in: itself, form-encoded (`~` as `%7E`, space as `+`),
/// and percent-encoded with upper- and lower-case hex, once or twice (a server that
/// quotes a form body it received in a URL encodes it again: `%7E` as `%257E`).
fn encoded_forms(v: &str) -> Vec<String> {
    let once = |v: &str| {
        let form: String = url::form_urlencoded::byte_serialize(v.as_bytes()).collect();
        [
            lower_hex(&form),
            form,
            percent_encode(v, true),
            percent_encode(v, false),
        ]
    };
    let mut out = vec![v.to_string()];
    for f in once(v) {
        if out.contains(&f) {
            continue;
        }
        for twice in once(&f) {
            if !out.contains(&twice) && twice != f {
                out.push(twice);
            }
        }
        out.push(f);
    }
    out
}

/// `%7E` → `%7e`, the rest unchanged.
fn lower_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut hex_left = 0;
    for c in s.chars() {
        if c == '%' {
            hex_left = 2;
            out.push(c);
        } else if hex_left > 0 {
            hex_left -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

impl Secrets {
    /// A registry that also prints `::add-mask::` lines as values arrive, on `stream`:
    /// stdout for the `github` format; stderr for `text` and `json` under Actions, which
    /// keeps their stdout what it claims to be while the runner (which reads commands
    /// on both streams) still masks the values in the rest of the job's log.
    pub fn for_github_actions(stream: MaskStream) -> Secrets {
        let s = Secrets::default();
        s.lock().emit_add_mask = Some(stream);
        s
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SecretsInner> {
        // A panic while holding the lock cannot leave the list half-written in a way
        // that matters, so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Registers a secret (and, for multi-line values, each line of it), with its
    /// percent-encoded forms. See [`looks_like_credential`] for what is masked how.
    pub fn register(&self, value: &str) {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            return;
        }
        let mut candidates: Vec<String> = Vec::new();
        for piece in std::iter::once(trimmed).chain(trimmed.lines().map(str::trim)) {
            if piece.is_empty() {
                continue;
            }
            for form in encoded_forms(piece) {
                if !candidates.contains(&form) {
                    candidates.push(form);
                }
            }
        }
        self.add(candidates);
    }

    /// Registers the password of a Basic credential and the header value built from
    /// it (`base64(user:password)`), which a server may echo back.
    pub fn register_basic(&self, user: &str, password: &str) {
        use base64::Engine;
        self.register(password);
        let pair = format!("{user}:{password}");
        let mut forms = vec![
            base64::engine::general_purpose::STANDARD.encode(&pair),
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(&pair),
        ];
        if !password.is_empty() {
            forms.push(pair);
        }
        let mut all = Vec::new();
        for f in forms {
            for e in encoded_forms(&f) {
                if !all.contains(&e) {
                    all.push(e);
                }
            }
        }
        self.add(all);
    }

    fn add(&self, candidates: Vec<String>) {
        let mut inner = self.lock();
        let mut fresh = Vec::new();
        for candidate in candidates {
            if candidate.is_empty() {
                continue;
            }
            if looks_like_credential(&candidate) {
                if inner.seen.insert(candidate.clone()) {
                    inner.values.push(candidate.clone());
                    fresh.push(candidate);
                }
            } else if inner.seen.insert(candidate.clone()) {
                inner.words.push(candidate);
            }
        }
        if let Some(stream) = inner.emit_add_mask
            && !fresh.is_empty()
        {
            // Data escaping keeps a multi-line secret on one command line; the runner
            // then masks the whole value and each of its lines.
            let lines: String = fresh
                .iter()
                .map(|v| format!("::add-mask::{}\n", crate::output::runner::escape_data(v)))
                .collect();
            let _ = match stream {
                MaskStream::Stdout => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(lines.as_bytes()).and_then(|()| out.flush())
                }
                MaskStream::Stderr => std::io::stderr().lock().write_all(lines.as_bytes()),
            };
        }
    }

    /// Replaces every registered secret in `text` with `***`: credential-like values
    /// wherever they occur (also split by whitespace or line breaks, and the head of one
    /// cut by a shortening `…` or at the end of the text); other values only as whole
    /// tokens.
    pub fn redact(&self, text: &str) -> String {
        let inner = self.lock();
        let mut values: Vec<&String> = inner.values.iter().collect();
        // Longest first, so a secret containing another is replaced whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        let mut out = text.to_string();
        for v in &values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), "***");
            }
        }
        for v in &values {
            if v.chars().count() >= CREDENTIAL_LEN {
                out = redact_split(&out, v);
            }
        }
        for v in &values {
            out = redact_cut_heads(&out, v);
        }
        let mut words: Vec<&String> = inner.words.iter().collect();
        words.sort_by_key(|v| std::cmp::Reverse(v.len()));
        for w in words {
            out = redact_whole_tokens(&out, w);
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        let inner = self.lock();
        inner.values.is_empty() && inner.words.is_empty()
    }
}

/// Replaces `secret` where whitespace (spaces, tabs, line breaks) was put between its
/// characters, as a server that wraps its echo does.
fn redact_split(text: &str, secret: &str) -> String {
    let target: Vec<char> = secret.chars().filter(|c| !c.is_whitespace()).collect();
    if target.is_empty() {
        return text.to_string();
    }
    // The text without whitespace, each character with its byte range in `text`.
    let kept: Vec<(usize, char)> = text
        .char_indices()
        .filter(|(_, c)| !c.is_whitespace())
        .collect();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i + target.len() <= kept.len() {
        if kept[i..i + target.len()]
            .iter()
            .map(|(_, c)| *c)
            .eq(target.iter().copied())
        {
            let (start, _) = kept[i];
            let (last, c) = kept[i + target.len() - 1];
            ranges.push((start, last + c.len_utf8()));
            i += target.len();
        } else {
            i += 1;
        }
    }
    replace_ranges(text, &ranges)
}

/// Replaces the head (at least [`MIN_CUT_PREFIX`] characters) of `secret` that ends
/// where a message was cut: right before `…`, or at the end of the text.
fn redact_cut_heads(text: &str, secret: &str) -> String {
    let heads: Vec<usize> = secret
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(secret.len()))
        .filter(|&end| end < secret.len() && secret[..end].chars().count() >= MIN_CUT_PREFIX)
        .collect();
    if heads.is_empty() {
        return text.to_string();
    }
    let cuts: Vec<usize> = text
        .match_indices('…')
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let mut ranges = Vec::new();
    for cut in cuts {
        let before = &text[..cut];
        // The longest head that ends at the cut.
        if let Some(&end) = heads
            .iter()
            .rev()
            .find(|&&end| before.ends_with(&secret[..end]))
        {
            ranges.push((cut - end, cut));
        }
    }
    replace_ranges(text, &ranges)
}

/// Replaces `word` where it is not part of a longer run of letters and digits.
fn redact_whole_tokens(text: &str, word: &str) -> String {
    let mut ranges = Vec::new();
    for (start, _) in text.match_indices(word) {
        let end = start + word.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let bounded = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
        if bounded(before) && bounded(after) {
            ranges.push((start, end));
        }
    }
    replace_ranges(text, &ranges)
}

/// `text` with each (sorted, possibly overlapping) byte range replaced by `***`.
fn replace_ranges(text: &str, ranges: &[(usize, usize)]) -> String {
    if ranges.is_empty() {
        return text.to_string();
    }
    let mut sorted = ranges.to_vec();
    sorted.sort();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in sorted {
        if start < at {
            at = at.max(end);
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str("***");
        at = end;
    }
    out.push_str(&text[at..]);
    out
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
    fn short_and_word_like_values_are_redacted_as_whole_tokens_only() {
        let s = Secrets::default();
        s.register("ab");
        s.register("error");
        assert!(!s.is_empty());
        assert_eq!(
            s.redact("ab: tab stab error errors ab. (error)"),
            "***: tab stab *** errors ***. (***)"
        );
        // Neither looks like a credential: the runner is never asked to mask them.
        assert!(!looks_like_credential("ab"));
        assert!(!looks_like_credential("error"));
        assert!(!looks_like_credential("1234"));
        assert!(looks_like_credential("pw12"));
        assert!(looks_like_credential("password"));
    }

    #[test]
    fn basic_header_values_and_percent_encodings_are_redacted() {
        use base64::Engine;
        let s = Secrets::default();
        s.register_basic("ci", "Ab~c+d/e=f");
        let b64 = base64::engine::general_purpose::STANDARD.encode("ci:Ab~c+d/e=f");
        let text = format!(
            "Basic {b64} | secret=Ab%7Ec%2Bd%2Fe%3Df | Ab%7ec%2bd%2fe%3df | Ab~c%2Bd%2Fe%3Df"
        );
        let r = s.redact(&text);
        assert_eq!(r, "Basic *** | secret=*** | *** | ***", "{r}");
    }

    #[test]
    fn secrets_split_across_lines_are_redacted() {
        let s = Secrets::default();
        s.register("SPLITsecret0123456789");
        assert_eq!(s.redact("got SPLITsecret01\n23456789 end"), "got *** end");
        assert_eq!(s.redact("a SPLIT secret012\r\n 3456789 b"), "a *** b");
        // Not whitespace: left for the other rules.
        assert_eq!(
            s.redact("SPLITsecret01\\n23456789"),
            "SPLITsecret01\\n23456789"
        );
    }

    #[test]
    fn the_head_of_a_secret_cut_by_a_shortening_is_redacted() {
        let s = Secrets::default();
        s.register("HEADsecret0123456789");
        assert_eq!(s.redact("token HEADsec…"), "token ***…");
        assert_eq!(s.redact("token HEADsecret01"), "token ***");
        assert_eq!(s.redact("HEAD… and HEA…"), "***… and HEA…");
        // Redaction, then shortening, then redaction again leaves nothing.
        let long = format!("{} HEADsecret0123456789", "x".repeat(290));
        let cut = crate::registry::wire::shorten(&long, 300);
        assert!(cut.contains("HEADsecr"));
        assert!(!s.redact(&cut).contains("HEADsecr"), "{}", s.redact(&cut));
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
