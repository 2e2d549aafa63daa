//! docker's normalisation of a name (`ParseNormalizedNamed`, `splitDockerDomain`):
//! Docker Hub's domain filled in, `library/` added, the written domain kept for messages.

use super::*;

/// The result of normalising, with what was written.
#[derive(Debug)]
pub(super) struct Normalized {
    pub(super) reference: Reference,
    /// The domain as written (before `index.docker.io` → `docker.io`); `None` when implied.
    pub(super) written_domain: Option<String>,
    /// Byte offset in the input where the part after the written domain starts.
    pub(super) remote_at: usize,
}

/// Whether the text before a reference's first `/` is a registry host by its form: a
/// `.` or a `:`, or `localhost` (docker also takes one with capitals as a host).
pub fn names_a_host(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost"
}

/// `splitDockerDomain`'s test: is the text before the first `/` a registry host?
pub(super) fn is_written_domain(first: &str) -> bool {
    names_a_host(first) || go_lower(first) != first
}

pub(super) fn normalize(s: &str) -> Result<Normalized, ReferenceError> {
    if s.is_empty() {
        // Go parses "docker.io/library/" and reports an invalid format; say what is wrong.
        return Err(ReferenceError {
            kind: ReferenceErrorKind::ReferenceInvalidFormat,
            go_text: ReferenceErrorKind::ReferenceInvalidFormat
                .text()
                .to_string(),
            rule: Box::new(Rule::Empty),
            column: Some(1),
            also_uppercase: None,
        });
    }
    if s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(ReferenceError {
            kind: ReferenceErrorKind::HexIdentifierName,
            go_text: format!(
                "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
            ),
            rule: Box::new(Rule::HexName {
                name: s.to_string(),
            }),
            column: None,
            also_uppercase: None,
        });
    }
    let (written_domain, remote_at) = match s.find('/') {
        Some(i) if is_written_domain(&s[..i]) => (Some(&s[..i]), i + 1),
        _ => (None, 0),
    };
    let remainder = &s[remote_at..];
    let domain = match written_domain {
        Some(LEGACY_DEFAULT_DOMAIN) | None => DEFAULT_DOMAIN,
        Some(domain) => domain,
    };
    let add_library = domain == DEFAULT_DOMAIN && !remainder.contains('/');

    // ParseNormalizedNamed refuses capitals in the remote name (up to the first ":") before
    // it parses anything else.
    let remote = &remainder[..remainder.find(':').unwrap_or(remainder.len())];
    if let Some((i, ch)) = remote.char_indices().find(|&(_, c)| go_lower_char(c) != c) {
        let remote_name = format!(
            "{}{remote}",
            if add_library {
                OFFICIAL_REPO_PREFIX
            } else {
                ""
            }
        );
        let rule = match remote[..i].find('@') {
            Some(at) => Rule::DigestAlgorithmCase {
                algorithm: remote[at + 1..].to_string(),
            },
            None => Rule::Uppercase { ch },
        };
        return Err(ReferenceError {
            kind: ReferenceErrorKind::NameContainsUppercase,
            go_text: format!(
                "invalid reference format: repository name ({remote_name}) must be lowercase"
            ),
            rule: Box::new(rule),
            column: Some(column_of(s, remote_at + i)),
            also_uppercase: None,
        });
    }

    let mut t = String::with_capacity(s.len() + 20);
    t.push_str(domain);
    t.push('/');
    if add_library {
        t.push_str(OFFICIAL_REPO_PREFIX);
    }
    let synthetic = t.len();
    t.push_str(remainder);
    let domain_kept = written_domain == Some(domain);
    let map = |at: usize| {
        if at >= synthetic {
            remote_at + (at - synthetic)
        } else if domain_kept && at < remote_at {
            at
        } else {
            remote_at
        }
    };
    let reference = parse_raw(&t).map_err(|mut raw| {
        // The host is implied, so a "/" right after it was written at the very start.
        if !domain_kept
            && raw.fault.rule
                == (Rule::ComponentEmpty {
                    at: EmptyAt::AfterHost,
                })
        {
            raw.fault.rule = Rule::ComponentEmpty { at: EmptyAt::Start };
        }
        if let Rule::PathTooLong { library, .. } = &mut raw.fault.rule {
            *library = add_library;
        }
        raw.finish(&t, s, map)
    })?;
    if reference.domain.is_none() {
        // Deliberate difference from Go (see the module docs): a written host that is not a
        // host leaves no registry to contact.
        let host = written_domain.unwrap_or_default();
        let (at, reason) = match check_domain(host) {
            Err(f) => (f.at, f.rule),
            Ok(()) => (
                0,
                Rule::HostEmpty {
                    host: host.to_string(),
                },
            ),
        };
        return Err(ReferenceError {
            kind: ReferenceErrorKind::ReferenceInvalidFormat,
            go_text: ReferenceErrorKind::ReferenceInvalidFormat
                .text()
                .to_string(),
            rule: Box::new(Rule::NotAHost {
                host: host.to_string(),
                reason: Box::new(reason),
            }),
            column: Some(column_of(s, at)),
            also_uppercase: None,
        });
    }
    Ok(Normalized {
        reference,
        written_domain: written_domain.map(str::to_string),
        remote_at,
    })
}
