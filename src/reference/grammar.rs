//! The scanner: distribution/reference's grammar checked by hand, character by character,
//! so that a rejection names the rule and the column (a regular expression only says no).

use super::*;

/// A grammar fault at a byte offset of the scanned text.
#[derive(Debug)]
pub(super) struct Fault {
    pub(super) at: usize,
    pub(super) rule: Rule,
}

pub(super) fn fault(at: usize, rule: Rule) -> Fault {
    Fault { at, rule }
}

/// The pieces of a reference that matched the grammar (byte offsets into the scanned text).
#[derive(Debug)]
pub(super) struct Scan<'a> {
    pub(super) domain: Option<&'a str>,
    pub(super) path: &'a str,
    pub(super) path_at: usize,
    pub(super) tag: Option<&'a str>,
    pub(super) digest: Option<&'a str>,
    pub(super) digest_at: usize,
    /// The first ASCII capital in the path: the grammar forbids it, but Go reports it as
    /// `ErrNameContainsUppercase` rather than an invalid format, so the scan tolerates it.
    pub(super) uppercase: Option<usize>,
}

pub(super) fn char_at(s: &str, at: usize) -> char {
    s.get(at..)
        .and_then(|r| r.chars().next())
        .unwrap_or('\u{FFFD}')
}

/// 1-based character column of byte offset `at` in `s`.
pub(super) fn column_of(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s[..at].chars().count() + 1
}

/// Checks `host` against the domain rule; offsets are relative to `host`.
pub(super) fn check_domain(host: &str) -> Result<(), Fault> {
    let owned = || host.to_string();
    if host.is_empty() {
        return Err(fault(0, Rule::HostEmpty { host: owned() }));
    }
    let port_at;
    let bracketed = host.starts_with('[');
    if bracketed {
        let Some(close) = host.find(']') else {
            return Err(fault(0, Rule::Ipv6Unclosed { host: owned() }));
        };
        let inner = &host[1..close];
        if inner.is_empty() {
            return Err(fault(0, Rule::Ipv6Empty { host: owned() }));
        }
        for (i, ch) in inner.char_indices() {
            if ch == '%' {
                let zone = inner[i..].to_string();
                return Err(fault(
                    1 + i,
                    Rule::Ipv6Zone {
                        host: owned(),
                        zone,
                    },
                ));
            }
            if !(ch.is_ascii_hexdigit() || ch == ':') {
                return Err(fault(1 + i, Rule::Ipv6Char { host: owned(), ch }));
            }
        }
        let after = close + 1;
        match host[after..].chars().next() {
            None => return Ok(()),
            Some(':') => port_at = after + 1,
            Some(ch) => return Err(fault(after, Rule::AfterIpv6 { host: owned(), ch })),
        }
    } else {
        let end = host.find(':').unwrap_or(host.len());
        if end == 0 {
            return Err(fault(0, Rule::HostEmpty { host: owned() }));
        }
        let mut start = 0;
        for label in host[..end].split('.') {
            if label.is_empty() {
                return Err(fault(start, Rule::HostLabelEmpty { host: owned() }));
            }
            if let Some((i, ch)) = label
                .char_indices()
                .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '-'))
            {
                return Err(fault(start + i, Rule::HostChar { host: owned(), ch }));
            }
            if label.starts_with('-') || label.ends_with('-') {
                let at_start = label.starts_with('-');
                let at = if at_start {
                    start
                } else {
                    start + label.len() - 1
                };
                let label = label.to_string();
                return Err(fault(
                    at,
                    Rule::HostLabelHyphen {
                        host: owned(),
                        label,
                        at_start,
                    },
                ));
            }
            start += label.len() + 1;
        }
        if end == host.len() {
            return Ok(());
        }
        port_at = end + 1;
    }
    let port = &host[port_at..];
    if port.is_empty() {
        return Err(fault(port_at - 1, Rule::PortEmpty { host: owned() }));
    }
    if let Some((i, ch)) = port.char_indices().find(|&(_, c)| !c.is_ascii_digit()) {
        let port = port.to_string();
        return Err(fault(
            port_at + i,
            Rule::PortDigits {
                host: owned(),
                port,
                ch,
                bracketed,
            },
        ));
    }
    Ok(())
}

/// Checks the path component `t[start..end]`; capitals are tolerated and recorded.
pub(super) fn check_component(
    t: &str,
    start: usize,
    end: usize,
    uppercase: &mut Option<usize>,
) -> Result<(), Fault> {
    let comp = &t[start..end];
    let component = || comp.to_string();
    let mut i = 0;
    while let Some(ch) = comp[i..].chars().next() {
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            i += 1;
            continue;
        }
        if ch.is_ascii_uppercase() {
            uppercase.get_or_insert(start + i);
            i += 1;
            continue;
        }
        if matches!(ch, '.' | '_' | '-') {
            let run_len = comp[i..]
                .bytes()
                .take_while(|b| matches!(b, b'.' | b'_' | b'-'))
                .count();
            let sep = &comp[i..i + run_len];
            if i == 0 {
                return Err(fault(
                    start,
                    Rule::ComponentStart {
                        component: component(),
                        ch,
                    },
                ));
            }
            let valid = matches!(sep, "." | "_" | "__") || sep.bytes().all(|b| b == b'-');
            if !valid {
                let sep = sep.to_string();
                return Err(fault(
                    start + i,
                    Rule::Separator {
                        component: component(),
                        sep,
                    },
                ));
            }
            if i + run_len == comp.len() {
                return Err(fault(
                    start + i,
                    Rule::ComponentEnd {
                        component: component(),
                    },
                ));
            }
            i += run_len;
            continue;
        }
        if i == 0 && ch == '[' {
            let rest = &t[start..];
            let text_end = rest.find(['/', '@']).unwrap_or(rest.len());
            let text = rest[..text_end].to_string();
            return Err(fault(start, Rule::Ipv6NeedsPath { text }));
        }
        return Err(fault(
            start + i,
            Rule::PathChar {
                component: component(),
                ch,
            },
        ));
    }
    Ok(())
}

pub(super) fn is_path_component(s: &str) -> bool {
    !s.is_empty() && check_component(s, 0, s.len(), &mut None).is_ok()
}

/// Checks the grammar of the whole text. On a fault, also returns the first capital seen in
/// the path before it.
pub(super) fn scan(t: &str) -> Result<Scan<'_>, (Fault, Option<usize>)> {
    let mut uppercase = None;
    scan_inner(t, &mut uppercase).map_err(|f| (f, uppercase))
}

pub(super) fn scan_inner<'a>(t: &'a str, uppercase: &mut Option<usize>) -> Result<Scan<'a>, Fault> {
    if t.is_empty() {
        return Err(fault(0, Rule::Empty));
    }
    let mut domain = None;
    let mut path_at = 0;
    if let Some(slash) = t.find('/') {
        let prefix = &t[..slash];
        if let Some(scheme) = prefix.strip_suffix(':')
            && t[slash..].starts_with("//")
            && is_scheme_token(scheme)
        {
            let scheme = scheme.to_string();
            return Err(fault(0, Rule::UrlScheme { scheme }));
        }
        match check_domain(prefix) {
            Ok(()) => {
                domain = Some(prefix);
                path_at = slash + 1;
            }
            Err(host_fault) => {
                // Not a host: the regexp then reads it as the first path component. When it
                // is neither and looks like a host, the host rule is the one to explain.
                let looks_like_host = prefix.starts_with('[')
                    || (prefix.contains(['.', ':', ']']) && !prefix.contains('@'));
                if looks_like_host && !is_path_component(prefix) {
                    return Err(host_fault);
                }
            }
        }
    }

    let path_end = t[path_at..]
        .find([':', '@'])
        .map_or(t.len(), |i| path_at + i);
    if path_at == path_end {
        let next = t[path_end..].chars().next();
        return Err(fault(
            path_at,
            Rule::PathMissing {
                domain: domain.map(str::to_string),
                next,
            },
        ));
    }
    let mut start = path_at;
    loop {
        let comp_end = t[start..path_end].find('/').map_or(path_end, |i| start + i);
        if start == comp_end {
            let at = if start == 0 {
                EmptyAt::Start
            } else if start == path_at {
                EmptyAt::AfterHost
            } else if comp_end == path_end {
                EmptyAt::End
            } else {
                EmptyAt::Double
            };
            // Point at the offending "/": the one that ends the path, or the doubled one.
            let col_at = if at == EmptyAt::End {
                start.saturating_sub(1)
            } else {
                start
            };
            return Err(fault(col_at, Rule::ComponentEmpty { at }));
        }
        check_component(t, start, comp_end, uppercase)?;
        if comp_end == path_end {
            break;
        }
        start = comp_end + 1;
    }
    let path = &t[path_at..path_end];

    let mut pos = path_end;
    let mut tag = None;
    if t[pos..].starts_with(':') {
        let tag_at = pos + 1;
        let tag_end = t[tag_at..].find('@').map_or(t.len(), |i| tag_at + i);
        let text = &t[tag_at..tag_end];
        if text.is_empty() {
            return Err(fault(pos, Rule::TagEmpty));
        }
        let owned = || text.to_string();
        for (n, (i, ch)) in text.char_indices().enumerate() {
            let word = ch.is_ascii_alphanumeric() || ch == '_';
            if n == 0 && (ch == '.' || ch == '-') {
                return Err(fault(tag_at, Rule::TagStart { tag: owned(), ch }));
            }
            if !(word || ch == '.' || ch == '-') {
                return Err(fault(tag_at + i, Rule::TagChar { tag: owned(), ch }));
            }
            if n == TAG_LENGTH_MAX {
                let len = text.chars().count();
                return Err(fault(tag_at + i, Rule::TagTooLong { tag: owned(), len }));
            }
        }
        tag = Some(text);
        pos = tag_end;
    }

    let mut digest = None;
    let mut digest_at = t.len();
    if t[pos..].starts_with('@') {
        digest_at = pos + 1;
        let text = &t[digest_at..];
        check_digest_grammar(text, digest_at, pos)?;
        digest = Some(text);
    }

    Ok(Scan {
        domain,
        path,
        path_at,
        tag,
        digest,
        digest_at,
        uppercase: *uppercase,
    })
}

/// `algorithm ":" hex{32,}` where the algorithm is `[A-Za-z][A-Za-z0-9]*` parts joined by
/// one of `-_+.`; `at` is the digest's offset, `at_sign` the offset of the `@`.
pub(super) fn check_digest_grammar(d: &str, at: usize, at_sign: usize) -> Result<(), Fault> {
    let owned = || d.to_string();
    if d.is_empty() {
        return Err(fault(at_sign, Rule::DigestEmpty));
    }
    let Some(colon) = d.find(':') else {
        return Err(fault(at, Rule::DigestNoColon { digest: owned() }));
    };
    let algorithm = &d[..colon];
    let mut part_start = true;
    for (i, ch) in algorithm.char_indices() {
        let ok = if part_start {
            ch.is_ascii_alphabetic()
        } else {
            ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '+' | '.')
        };
        if !ok {
            let algorithm = algorithm.to_string();
            return Err(fault(
                at + i,
                Rule::DigestAlgorithm {
                    digest: owned(),
                    algorithm,
                },
            ));
        }
        part_start = matches!(ch, '-' | '_' | '+' | '.');
    }
    if algorithm.is_empty() || part_start {
        let at_fault = at + algorithm.len().saturating_sub(1);
        let algorithm = algorithm.to_string();
        return Err(fault(
            at_fault,
            Rule::DigestAlgorithm {
                digest: owned(),
                algorithm,
            },
        ));
    }
    let hex_at = at + colon + 1;
    let hex = &d[colon + 1..];
    if let Some((i, ch)) = hex.char_indices().find(|&(_, c)| !c.is_ascii_hexdigit()) {
        return Err(fault(
            hex_at + i,
            Rule::DigestHexChar {
                digest: owned(),
                ch,
            },
        ));
    }
    if hex.len() < 32 {
        let algorithm = algorithm.to_string();
        return Err(fault(
            hex_at,
            Rule::DigestTooShort {
                digest: owned(),
                algorithm,
                hex_len: hex.len(),
            },
        ));
    }
    Ok(())
}

/// go-digest's validation of a digest that passed the grammar.
pub(super) fn check_digest_value(d: &str, at: usize) -> Result<(), (ReferenceErrorKind, Fault)> {
    let owned = || d.to_string();
    let (algorithm, hex) = d.split_once(':').unwrap_or((d, ""));
    let hex_at = at + algorithm.len() + 1;
    if algorithm != "sha256" {
        let lower_form = algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_+.".contains(&b));
        let algorithm = algorithm.to_string();
        return Err(if lower_form {
            (
                ReferenceErrorKind::DigestUnsupported,
                fault(at, Rule::DigestUnsupported { algorithm }),
            )
        } else {
            (
                ReferenceErrorKind::DigestInvalidFormat,
                fault(at, Rule::DigestAlgorithmCase { algorithm }),
            )
        });
    }
    if hex.len() != 64 {
        return Err((
            ReferenceErrorKind::DigestInvalidLength,
            fault(
                hex_at,
                Rule::DigestLength {
                    digest: owned(),
                    hex_len: hex.len(),
                },
            ),
        ));
    }
    if let Some((i, ch)) = hex.char_indices().find(|&(_, c)| c.is_ascii_uppercase()) {
        return Err((
            ReferenceErrorKind::DigestInvalidFormat,
            fault(
                hex_at + i,
                Rule::DigestUppercaseHex {
                    digest: owned(),
                    ch,
                },
            ),
        ));
    }
    Ok(())
}

/// Go's `unicode.ToLower` for one character (the simple mapping).
pub(super) fn go_lower_char(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

pub(super) fn go_lower(s: &str) -> String {
    s.chars().map(go_lower_char).collect()
}

/// An error with offsets still relative to the scanned text.
#[derive(Debug)]
pub(super) struct Raw {
    pub(super) kind: ReferenceErrorKind,
    pub(super) go_text: String,
    pub(super) fault: Fault,
    pub(super) uppercase: Option<usize>,
}

impl Raw {
    pub(super) fn new(kind: ReferenceErrorKind, fault: Fault, uppercase: Option<usize>) -> Raw {
        Raw {
            kind,
            go_text: kind.text().to_string(),
            fault,
            uppercase,
        }
    }

    /// Resolves offsets in `scanned` to columns of `shown` through `map`.
    pub(super) fn finish(
        self,
        scanned: &str,
        shown: &str,
        map: impl Fn(usize) -> usize,
    ) -> ReferenceError {
        let column = match self.fault.rule {
            Rule::Empty | Rule::HexName { .. } => None,
            _ => Some(column_of(shown, map(self.fault.at))),
        };
        let also_uppercase = self
            .uppercase
            .filter(|_| !matches!(self.fault.rule, Rule::Uppercase { .. }))
            .map(|at| (char_at(scanned, at), column_of(shown, map(at))));
        ReferenceError {
            kind: self.kind,
            go_text: self.go_text,
            rule: Box::new(self.fault.rule),
            column,
            also_uppercase,
        }
    }
}

/// distribution's `Parse` on `t`, offsets relative to `t`.
pub(super) fn parse_raw(t: &str) -> Result<Reference, Raw> {
    let scanned = match scan(t) {
        Ok(scanned) => scanned,
        Err((fault, uppercase)) => {
            if t.is_empty() {
                return Err(Raw::new(ReferenceErrorKind::NameEmpty, fault, None));
            }
            // Go retries with the whole input lower-cased (Unicode simple mapping). With the
            // scan tolerating ASCII capitals, only non-ASCII letters can still differ here.
            let kind = if !t.is_ascii() && scan(&go_lower(t)).is_ok() {
                ReferenceErrorKind::NameContainsUppercase
            } else {
                ReferenceErrorKind::ReferenceInvalidFormat
            };
            return Err(Raw::new(kind, fault, uppercase));
        }
    };
    if let Some(at) = scanned.uppercase {
        let rule = Rule::Uppercase { ch: char_at(t, at) };
        return Err(Raw::new(
            ReferenceErrorKind::NameContainsUppercase,
            fault(at, rule),
            None,
        ));
    }
    if scanned.path.len() > PATH_LENGTH_MAX {
        let rule = Rule::PathTooLong {
            len: scanned.path.chars().count(),
            library: false,
        };
        let at = scanned.path_at + PATH_LENGTH_MAX;
        return Err(Raw::new(
            ReferenceErrorKind::NameTooLong,
            fault(at, rule),
            None,
        ));
    }
    if let Some(digest) = scanned.digest {
        check_digest_value(digest, scanned.digest_at)
            .map_err(|(kind, fault)| Raw::new(kind, fault, None))?;
    }
    Ok(Reference {
        domain: scanned.domain.map(str::to_string),
        path: scanned.path.to_string(),
        tag: scanned.tag.map(str::to_string),
        digest: scanned.digest.map(str::to_string),
    })
}
