//! Image references: the grammar of distribution/reference v0.6 (what docker, BuildKit and
//! registries accept), scanned by hand so that every rejection can say which rule broke
//! and at which column.
//!
//! - [`parse`] is distribution's `Parse`: no normalisation, the domain only when written.
//! - [`parse_normalized`] is `ParseNormalizedNamed` keeping tag and digest: what
//!   `docker pull X` resolves (`docker.io` filled in, `library/` added).
//! - [`docker_ref`] is `ParseDockerRef`'s fully normalised string (`:latest` added, the tag
//!   dropped when a digest is present).
//! - [`parse_context`] accepts the context forms this tool checks: `oci://` (ACR Tasks),
//!   `docker-image://` (buildx named context) and plain references.
//!
//! Grammar (distribution/reference `regexp.go` and its `reference.go` doc comment):
//! ```text
//! reference := name [ ":" tag ] [ "@" digest ]
//! name      := [ domain "/" ] component ( "/" component )*      (path at most 255 chars)
//! domain    := ( label ( "." label )* | "[" [0-9A-Fa-f:]+ "]" ) [ ":" [0-9]+ ]
//! label     := [A-Za-z0-9] | [A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9]
//! component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"+ ) [a-z0-9]+ )*
//! tag       := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
//! digest    := algorithm ":" [0-9A-Fa-f]{32,}   then: sha256 with 64 lowercase hex digits
//! ```
//! Only sha256 digests are accepted, as in distribution's own test context (the conformance
//! vectors expect `sha512` to be `ErrDigestUnsupported`).
//!
//! One deliberate difference from Go: `ParseNormalizedNamed("foo_bar.com/x")` succeeds with an
//! empty domain (the first component is taken as a host by docker's split, then is not a valid
//! host, so `Parse` reads it as a path). No registry can be contacted for such a name, so
//! [`parse_normalized`] rejects it and names the host rule that `foo_bar.com` breaks.

mod grammar;
mod normalize;
mod rules;

use grammar::*;
pub use normalize::names_a_host;
use normalize::*;
use rules::*;
pub use rules::{ReferenceError, ReferenceErrorKind, Section};
use std::fmt;

/// `NameTotalLengthMax`: the most characters a repository path (without domain) may have.
pub const PATH_LENGTH_MAX: usize = 255;
/// The most characters a tag may have.
pub const TAG_LENGTH_MAX: usize = 128;
/// The domain docker fills in when a reference names none.
pub const DEFAULT_DOMAIN: &str = "docker.io";
pub const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
const DEFAULT_TAG: &str = "latest";

const TAG_RULE: &str = "up to 128 of [A-Za-z0-9_.-], starting with a letter, digit or _";
const HOST_RULE: &str = "a host is dot-separated labels of letters, digits and \"-\" (never at either end of a label), or an IPv6 address in [ ], with an optional \":port\" of digits";
const PATH_RULE: &str = "a repository path is lowercase letters and digits, joined inside a component only by \".\", \"_\", \"__\" or a run of \"-\", with components separated by a single \"/\"";
const DIGEST_RULE: &str =
    "a digest is \"algorithm:hex\", in practice \"sha256:\" followed by 64 lowercase hex digits";

// ---------------------------------------------------------------------------------------
// The parsed reference
// ---------------------------------------------------------------------------------------

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// `host[:port]` as written (capitals kept). `None` only from [`parse`] when the
    /// reference names no domain; always set after normalisation.
    pub domain: Option<String>,
    /// The repository path without the domain, e.g. `library/busybox`.
    pub path: String,
    pub tag: Option<String>,
    /// `algorithm:hex`.
    pub digest: Option<String>,
}

impl Reference {
    /// The repository name: `domain/path`, or `path` when there is no domain.
    pub fn name(&self) -> String {
        match &self.domain {
            Some(domain) => format!("{domain}/{}", self.path),
            None => self.path.clone(),
        }
    }

    /// The short form docker prints: `docker.io/` and `library/` left out.
    pub fn familiar(&self) -> String {
        let mut out = match self.domain.as_deref() {
            Some(DEFAULT_DOMAIN) => {
                let short = self.path.strip_prefix(OFFICIAL_REPO_PREFIX);
                match short {
                    Some(rest) if !rest.contains('/') => rest.to_string(),
                    _ => self.path.clone(),
                }
            }
            _ => self.name(),
        };
        self.push_suffix(&mut out);
        out
    }

    /// True when the domain is Docker Hub under any of its names.
    pub fn is_docker_hub(&self) -> bool {
        self.domain.as_deref().is_some_and(is_docker_hub)
    }

    fn push_suffix(&self, out: &mut String) {
        if let Some(tag) = &self.tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(digest);
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = self.name();
        self.push_suffix(&mut out);
        f.write_str(&out)
    }
}

// ---------------------------------------------------------------------------------------
// Public parsing functions
// ---------------------------------------------------------------------------------------

/// distribution's `Parse`: the grammar, no normalisation (no domain is filled in).
pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
    parse_raw(s).map_err(|raw| raw.finish(s, s, |at| at))
}

/// `ParseNormalizedNamed`, keeping tag and digest: what `docker pull X` resolves. The domain
/// is always set (`docker.io` when none is written, `index.docker.io` becomes `docker.io`),
/// and single-component Docker Hub paths get `library/`.
pub fn parse_normalized(s: &str) -> Result<Reference, ReferenceError> {
    normalize(s).map(|n| n.reference)
}

/// `ParseDockerRef`: the fully normalised reference string, with `:latest` added when there
/// is neither tag nor digest, and the tag dropped when a digest is present.
pub fn docker_ref(s: &str) -> Result<String, ReferenceError> {
    let mut reference = parse_normalized(s)?;
    if reference.digest.is_some() {
        reference.tag = None;
    } else if reference.tag.is_none() {
        reference.tag = Some(DEFAULT_TAG.to_string());
    }
    Ok(reference.to_string())
}

// ---------------------------------------------------------------------------------------
// Registry hosts
// ---------------------------------------------------------------------------------------

/// Where Docker Hub's registry API answers: neither of the names references use.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

/// True for Docker Hub's names: `docker.io`, `index.docker.io`, `registry-1.docker.io`
/// (case-insensitive).
pub fn is_docker_hub(host: &str) -> bool {
    [DEFAULT_DOMAIN, LEGACY_DEFAULT_DOMAIN, DOCKER_HUB_API_HOST]
        .iter()
        .any(|hub| host.eq_ignore_ascii_case(hub))
}

/// The host the registry API of `host` lives on: Docker Hub's names are not its API host.
pub fn api_host(host: &str) -> String {
    if is_docker_hub(host) {
        DOCKER_HUB_API_HOST.to_string()
    } else {
        host.to_string()
    }
}

/// The registry a login to `host` stores credentials for (`docker login HOST`, the
/// `registry:` of docker/login-action): Docker Hub's names and its legacy
/// `registry.hub.docker.com` as `docker.io`; any other host lower-cased.
pub fn login_registry(host: &str) -> String {
    if host.eq_ignore_ascii_case("registry.hub.docker.com") {
        DEFAULT_DOMAIN.to_string()
    } else {
        canonical_host(host)
    }
}

/// A host in the form used for comparisons: lower case, Docker Hub's names as `docker.io`.
pub fn canonical_host(host: &str) -> String {
    if is_docker_hub(host) {
        DEFAULT_DOMAIN.to_string()
    } else {
        host.to_ascii_lowercase()
    }
}

/// Whether two `host[:port]` strings name the same registry: case-insensitive, with
/// `docker.io`, `index.docker.io` and `registry-1.docker.io` counted as one.
pub fn same_registry(a: &str, b: &str) -> bool {
    canonical_host(a) == canonical_host(b)
}

// ---------------------------------------------------------------------------------------
// Context references
// ---------------------------------------------------------------------------------------

/// The prefix a context reference was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextScheme {
    /// No prefix: a plain image reference.
    Plain,
    /// `oci://`: an OCI artifact as an ACR Tasks / `az acr build` context.
    Oci,
    /// `docker-image://`: a buildx named context.
    DockerImage,
}

impl ContextScheme {
    /// The prefix as this tool writes it (`""` for plain references).
    pub fn prefix(self) -> &'static str {
        match self {
            ContextScheme::Plain => "",
            ContextScheme::Oci => "oci://",
            ContextScheme::DockerImage => "docker-image://",
        }
    }
}

/// A context or push reference as written and as docker resolves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextRef {
    pub scheme: ContextScheme,
    /// The input with surrounding whitespace trimmed, prefix included.
    pub written: String,
    /// The prefix exactly as written (`OCI://` keeps its case), empty for plain references.
    pub written_prefix: String,
    /// The reference after the prefix, as written.
    pub reference_text: String,
    /// The normalised reference (domain always set).
    pub reference: Reference,
    /// The registry host as written; `None` when docker implies `docker.io`.
    pub written_registry: Option<String>,
    /// Byte offset in `reference_text` of the part after the written registry and its `/`.
    remote_at: usize,
}

impl ContextRef {
    /// Whether the reference names its registry host itself.
    pub fn registry_written(&self) -> bool {
        self.written_registry.is_some()
    }

    /// The reference after its written registry (`path[:tag][@digest]` as written), or the
    /// whole reference when no registry is written.
    pub fn remote_text(&self) -> &str {
        self.reference_text.get(self.remote_at..).unwrap_or("")
    }

    /// The written reference up to its digest (`[host/]path[:tag]`, prefix excluded).
    pub fn text_without_digest(&self) -> &str {
        match self.reference_text.find('@') {
            Some(at) => &self.reference_text[..at],
            None => &self.reference_text,
        }
    }

    /// The same context with `host` as its registry: prefix + `host/` + [`Self::remote_text`].
    pub fn with_registry(&self, host: &str) -> String {
        format!("{}{host}/{}", self.written_prefix, self.remote_text())
    }
}

fn is_scheme_token(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
}

/// The scheme a context is written with (surrounding whitespace ignored); `None` for a
/// scheme no build tool accepts. Cheaper than [`parse_context`] when only the form matters.
fn context_scheme(written: &str) -> Option<ContextScheme> {
    split_scheme(written.trim()).ok().map(|(scheme, _)| scheme)
}

/// An `oci://` context: the form ACR Tasks (`az acr build`, `az acr run`) reads.
pub fn is_oci_context(written: &str) -> bool {
    context_scheme(written) == Some(ContextScheme::Oci)
}

/// Splits an accepted `scheme://` prefix off `written`: the scheme and the byte length of
/// the prefix.
fn split_scheme(written: &str) -> Result<(ContextScheme, usize), ReferenceError> {
    let Some(i) = written.find("://") else {
        return Ok((ContextScheme::Plain, 0));
    };
    let scheme = &written[..i];
    if !is_scheme_token(scheme) {
        return Ok((ContextScheme::Plain, 0));
    }
    if scheme.eq_ignore_ascii_case("oci") {
        Ok((ContextScheme::Oci, i + 3))
    } else if scheme.eq_ignore_ascii_case("docker-image") {
        Ok((ContextScheme::DockerImage, i + 3))
    } else {
        Err(ReferenceError {
            kind: ReferenceErrorKind::UnsupportedScheme,
            go_text: ReferenceErrorKind::UnsupportedScheme.text().to_string(),
            rule: Box::new(Rule::Scheme {
                scheme: scheme.to_string(),
            }),
            column: Some(1),
            also_uppercase: None,
        })
    }
}

/// Parses a context as given to `--context` / `--push`: surrounding whitespace trimmed, an
/// optional `oci://` or `docker-image://` prefix (case-insensitive), then a reference
/// normalised as docker does. Error columns count from the start of the trimmed input.
pub fn parse_context(input: &str) -> Result<ContextRef, ReferenceError> {
    let written = input.trim();
    let (scheme, prefix_len) = split_scheme(written)?;
    let text = &written[prefix_len..];
    let prefix_chars = written[..prefix_len].chars().count();
    let normalized = normalize(text).map_err(|e| e.shifted(prefix_chars))?;
    Ok(ContextRef {
        scheme,
        written: written.to_string(),
        written_prefix: written[..prefix_len].to_string(),
        reference_text: text.to_string(),
        reference: normalized.reference,
        written_registry: normalized.written_domain,
        remote_at: normalized.remote_at,
    })
}

/// A corrected form of a rejected context when the repair is mechanical: a scheme other
/// than `oci://`/`docker-image://` dropped, capitals in the repository path and digest
/// lowered, `//` collapsed, a trailing `/` removed, and, given `registry`, a leading `/` or
/// an invalid registry host replaced by it. `None` when no such repair yields a valid
/// reference.
pub fn suggest_repair(input: &str, registry: Option<&str>) -> Option<String> {
    let written = input.trim();
    let (prefix, mut text) = match split_scheme(written) {
        Ok((_, len)) => (written[..len].to_string(), written[len..].to_string()),
        Err(_) => {
            let i = written.find("://")?;
            (String::new(), written[i + 3..].to_string())
        }
    };
    if text.starts_with('/') {
        let host = registry?;
        text = format!("{host}/{}", text.trim_start_matches('/'));
    }
    // Split off a host the way docker would see it, then repair the rest.
    let (host, rest) = match text.find('/') {
        Some(i) if is_written_domain(&text[..i]) => {
            let written_host = &text[..i];
            let host = match check_domain(written_host) {
                Ok(()) => written_host,
                Err(_) => registry?,
            };
            (format!("{host}/"), text[i + 1..].to_string())
        }
        _ => (String::new(), text.clone()),
    };
    let name_end = rest.find([':', '@']).unwrap_or(rest.len());
    let (name, suffix) = rest.split_at(name_end);
    let mut name = name.to_ascii_lowercase();
    while name.contains("//") {
        name = name.replace("//", "/");
    }
    let name = name.trim_end_matches('/');
    let suffix = match suffix.find('@') {
        Some(at) => format!("{}{}", &suffix[..at], suffix[at..].to_ascii_lowercase()),
        None => suffix.to_string(),
    };
    let candidate = format!("{prefix}{host}{name}{suffix}");
    (candidate != written && parse_context(&candidate).is_ok()).then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";

    fn err(s: &str) -> ReferenceError {
        match parse(s) {
            Ok(r) => panic!("{s:?} parsed as {r:?}"),
            Err(e) => e,
        }
    }

    fn nerr(s: &str) -> ReferenceError {
        match parse_normalized(s) {
            Ok(r) => panic!("{s:?} normalised to {r:?}"),
            Err(e) => e,
        }
    }

    /// Asserts kind, column, and that the explanation mentions each of `words`.
    fn expect(e: &ReferenceError, kind: ReferenceErrorKind, column: Option<usize>, words: &[&str]) {
        assert_eq!(e.kind(), kind, "{e}");
        assert_eq!(e.column(), column, "{e}");
        let text = e.explanation();
        if let Some(col) = column {
            assert!(
                text.contains(&format!("column {col}")),
                "no column in: {text}"
            );
        }
        for word in words {
            assert!(text.contains(word), "{word:?} not in: {text}");
        }
        assert_eq!(e.to_string(), format!("{}: {}", e.go_text(), text));
    }

    use ReferenceErrorKind as K;

    #[test]
    fn fields_of_a_full_reference() {
        let r = parse(&format!("Test.Example.com:5000/a/b-c:v1.0@sha256:{HEX}")).unwrap();
        assert_eq!(r.domain.as_deref(), Some("Test.Example.com:5000"));
        assert_eq!(r.path, "a/b-c");
        assert_eq!(r.tag.as_deref(), Some("v1.0"));
        assert_eq!(r.digest, Some(format!("sha256:{HEX}")));
        assert_eq!(r.name(), "Test.Example.com:5000/a/b-c");
        assert_eq!(
            r.to_string(),
            format!("Test.Example.com:5000/a/b-c:v1.0@sha256:{HEX}")
        );
    }

    #[test]
    fn domain_labels_and_hyphens() {
        assert!(parse("a-b.example.com/x").is_ok());
        assert!(parse("xn--n3h.com/x").is_ok());
        let e = err("-docker.io/docker");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(1),
            &["label \"-docker\"", "starts with \"-\"", "registry host"],
        );
        let e = err("docker-.io/docker");
        expect(&e, K::ReferenceInvalidFormat, Some(7), &["ends with \"-\""]);
        let e = err("a..b.com/x");
        expect(&e, K::ReferenceInvalidFormat, Some(3), &["empty label"]);
        let e = nerr("foo_bar.com/x");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(4),
            &["\"_\"", "registry host", "not a valid host"],
        );
        // Plain Parse reads it as a path, as Go does.
        assert_eq!(parse("foo_bar.com/x").unwrap().domain, None);
    }

    #[test]
    fn port_must_be_digits() {
        assert_eq!(
            parse("host:5000/x").unwrap().domain.as_deref(),
            Some("host:5000")
        );
        let e = err("host:50a0/x");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(8),
            &["port \"50a0\"", "digits only"],
        );
        let e = err("host:/x");
        expect(&e, K::ReferenceInvalidFormat, Some(5), &["no port number"]);
        let e = nerr("fc00::1:5000/debian");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(6),
            &["digits only", "brackets"],
        );
    }

    #[test]
    fn ipv6_brackets_without_zones() {
        let r = parse("[2001:db8::1]:5000/repo:tag").unwrap();
        assert_eq!(r.domain.as_deref(), Some("[2001:db8::1]:5000"));
        let e = err("[fe80::1%eth0]:5000/repo");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(9),
            &["zone \"%eth0\"", "IPv6"],
        );
        let e = err("[2001:db8:3:4::192.0.2.33]:5000/debian");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(19),
            &["\".\"", "IPv6", "no embedded IPv4"],
        );
        let e = err("[2001:db8::1]:5000");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(1),
            &["followed by \"/\" and a repository path"],
        );
        let e = err("[fe80::1%@invalidzone]:5000/repo");
        expect(&e, K::ReferenceInvalidFormat, Some(9), &["zone"]);
        let e = err("[::1/x");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(1),
            &["no closing \"]\""],
        );
    }

    #[test]
    fn path_separators() {
        for ok in ["a.b", "a_b", "a__b", "a-b", "a---b", "a-b.c_d__e"] {
            assert!(parse(ok).is_ok(), "{ok}");
        }
        let e = err("x.io/dock..er");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(10),
            &["separator \"..\"", "\"dock..er\""],
        );
        let e = err("x.io/dock_.er");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(10),
            &["separator \"_.\""],
        );
        let e = err("x.io/dock-.er");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(10),
            &["separator \"-.\""],
        );
        // Before the first "/" a "." makes it a host for the explanation, as docker reads it.
        let e = err("dock..er/docker");
        expect(&e, K::ReferenceInvalidFormat, Some(6), &["empty label"]);
        let e = err("____/____");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(1),
            &["must start with a lowercase letter or digit"],
        );
        let e = err("a___b");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(2),
            &["separator \"___\""],
        );
        let e = err("-docker");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(1),
            &["path component \"-docker\" must start with a lowercase letter or digit"],
        );
        let e = err("docker-/docker");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(7),
            &["\"docker-\" must end"],
        );
        let e = err("aa/asdf$$^/aa");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(8),
            &["character \"$\"", "\"asdf$$^\""],
        );
    }

    #[test]
    fn empty_components_and_slashes() {
        let e = err("docker/");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(8),
            &["no repository path after registry host \"docker\""],
        );
        let e = err("a/b/");
        expect(&e, K::ReferenceInvalidFormat, Some(4), &["ends with \"/\""]);
        let e = err("docker///docker");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(8),
            &["\"//\" after the registry host"],
        );
        let e = err("a/b//c");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(5),
            &["\"//\" leaves an empty path component"],
        );
        let e = err("/ctx:v1");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(1),
            &["starts with \"/\""],
        );
        let e = err(":justtag");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(1),
            &["no repository name before \":\""],
        );
        let e = err("");
        expect(&e, K::NameEmpty, None, &["empty"]);
    }

    #[test]
    fn uppercase_in_path_but_not_in_domain() {
        assert_eq!(
            parse("EXAMPLE.com/repo").unwrap().domain.as_deref(),
            Some("EXAMPLE.com")
        );
        let e = err("test:5000/Uppercase/lowercase:tag");
        expect(
            &e,
            K::NameContainsUppercase,
            Some(11),
            &["uppercase letter \"U\" at column 11 in the repository path"],
        );
        let e = err("myreg/Team/ctx:v1");
        expect(&e, K::NameContainsUppercase, Some(7), &["\"T\""]);
        // An uppercase letter before another fault is mentioned too.
        let e = err("myreg/Team/ct$x");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(14),
            &["\"$\"", "also, uppercase letter \"T\" at column 7"],
        );
        let e = nerr("myreg.azurecr.io/Team/ctx:v1");
        expect(
            &e,
            K::NameContainsUppercase,
            Some(18),
            &["uppercase letter \"T\" at column 18"],
        );
        assert_eq!(
            e.go_text(),
            "invalid reference format: repository name (Team/ctx) must be lowercase"
        );
        // Capitals in the first component make it a host for docker.
        assert_eq!(
            parse_normalized("Team/ctx").unwrap().domain.as_deref(),
            Some("Team")
        );
    }

    #[test]
    fn tag_charset_and_length() {
        let t128 = format!("a{}", "b".repeat(127));
        assert_eq!(
            parse(&format!("repo:{t128}")).unwrap().tag,
            Some(t128.clone())
        );
        let e = err(&format!("repo:{t128}c"));
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(134),
            &["129 characters", "up to 128"],
        );
        let e = err("myreg.azurecr.io/ctx:v1 beta");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(24),
            &[
                "tag \"v1 beta\" breaks the tag rule: up to 128 of [A-Za-z0-9_.-], starting with a letter, digit or _",
            ],
        );
        let e = err("repo:.v1");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(6),
            &["starts with \".\""],
        );
        let e = err("repo:");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(5),
            &["tag after \":\" is empty"],
        );
        assert!(parse("repo:_v1-A.b").is_ok());
    }

    #[test]
    fn digest_algorithm_hex_and_length() {
        let e = err("repo@sha256:abc");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(13),
            &["digest \"sha256:abc\" has 3 hex digits; sha256 needs 64"],
        );
        let e = err(&format!("repo@sha256:{}", &HEX[..34]));
        expect(&e, K::DigestInvalidLength, Some(13), &["34 hex digits"]);
        let e = err(&format!("repo@sha256:{}", HEX.to_uppercase()));
        expect(
            &e,
            K::DigestInvalidFormat,
            Some(13),
            &["uppercase hex digit \"F\""],
        );
        let e = err(&format!("repo@sha512:{HEX}{HEX}"));
        expect(
            &e,
            K::DigestUnsupported,
            Some(6),
            &["\"sha512\"", "only \"sha256\""],
        );
        let e = err(&format!("repo@SHA256:{HEX}"));
        expect(&e, K::DigestInvalidFormat, Some(6), &["must be lowercase"]);
        let e = err(&format!("repo@1sha:{HEX}"));
        expect(&e, K::ReferenceInvalidFormat, Some(6), &["algorithm rule"]);
        let e = err("repo@latest");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(6),
            &["has no \":\"", "tag is written after \":\""],
        );
        let e = err(&format!("repo@sha256:{}g", &HEX[..63]));
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(76),
            &["\"g\"", "not a hex digit"],
        );
        let e = err("repo@");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(5),
            &["nothing follows \"@\""],
        );
    }

    #[test]
    fn path_limit_excludes_a_long_domain() {
        let long_domain = format!("{}.example.com", "d".repeat(60));
        let path255 = "a".repeat(255);
        let r = parse(&format!("{long_domain}/{path255}:tag")).unwrap();
        assert_eq!(r.path.len(), 255);
        let e = err(&format!("{long_domain}/{path255}a"));
        let col = long_domain.len() + 1 + 256;
        expect(
            &e,
            K::NameTooLong,
            Some(col),
            &["repository path is 256 characters; the limit is 255"],
        );
    }

    #[test]
    fn normalisation_follows_docker() {
        let r = parse_normalized("busybox").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/busybox");
        assert_eq!(r.familiar(), "busybox");
        let r = parse_normalized("index.docker.io/jess/t:v1").unwrap();
        assert_eq!(r.to_string(), "docker.io/jess/t:v1");
        assert_eq!(r.familiar(), "jess/t:v1");
        assert_eq!(
            parse_normalized("localhost/x").unwrap().domain.as_deref(),
            Some("localhost")
        );
        assert_eq!(
            docker_ref("busybox").unwrap(),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            docker_ref(&format!("gcr.io/x:t@sha256:{HEX}")).unwrap(),
            format!("gcr.io/x@sha256:{HEX}")
        );
        // Columns point into the input, not the normalised text.
        let e = nerr("ctx:v 1");
        expect(&e, K::ReferenceInvalidFormat, Some(6), &["tag \"v 1\""]);
        let e = nerr("");
        expect(&e, K::ReferenceInvalidFormat, Some(1), &["empty"]);
        let e = nerr(&"a".repeat(250));
        expect(
            &e,
            K::NameTooLong,
            Some(248),
            &["258 characters, counting the \"library/\" docker adds"],
        );
        let e = nerr("/ctx:v1");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(1),
            &["starts with \"/\""],
        );
        let e = nerr("https://github.com/docker/docker");
        expect(
            &e,
            K::ReferenceInvalidFormat,
            Some(1),
            &["\"https://\" is a URL scheme"],
        );
    }

    #[test]
    fn bare_64_hex_is_rejected_only_by_normalisation() {
        let hex = "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a";
        assert!(parse(hex).is_ok());
        let e = nerr(hex);
        expect(
            &e,
            K::HexIdentifierName,
            None,
            &["64 hex digits", "image ID"],
        );
        assert_eq!(e.go_name(), None);
        assert!(parse_normalized(&format!("docker.io/{hex}")).is_ok());
    }

    #[test]
    fn context_schemes() {
        let c = parse_context("  oci://myreg.azurecr.io/ctx:v1 ").unwrap();
        assert_eq!(c.scheme, ContextScheme::Oci);
        assert_eq!(c.written, "oci://myreg.azurecr.io/ctx:v1");
        assert_eq!(c.written_registry.as_deref(), Some("myreg.azurecr.io"));
        assert_eq!(c.remote_text(), "ctx:v1");
        assert_eq!(c.with_registry("other.io"), "oci://other.io/ctx:v1");
        let c = parse_context("docker-image://ctx").unwrap();
        assert_eq!(c.scheme, ContextScheme::DockerImage);
        assert!(!c.registry_written());
        assert_eq!(c.reference.to_string(), "docker.io/library/ctx");
        assert_eq!(
            parse_context("OCI://a.io/b").unwrap().written_prefix,
            "OCI://"
        );
        assert_eq!(
            parse_context("ctx:v1").unwrap().scheme,
            ContextScheme::Plain
        );

        let e = parse_context("https://myreg.azurecr.io/ctx").unwrap_err();
        expect(
            &e,
            K::UnsupportedScheme,
            Some(1),
            &["scheme \"https://\"", "\"oci://\"", "\"docker-image://\""],
        );
        assert_eq!(e.part(), Some("https"));
        assert_eq!(e.section(), Section::Scheme);
        assert_eq!(err("a:b c").section(), Section::Tag);
        assert_eq!(err("a@sha256:1").section(), Section::Digest);
        assert_eq!(err("a..b/c").section(), Section::Registry);
        assert_eq!(err("a/B").section(), Section::Path);
        let e = parse_context("oci-layout://./layout").unwrap_err();
        expect(
            &e,
            K::UnsupportedScheme,
            Some(1),
            &["local OCI layout directory, not a registry reference"],
        );
        let e = parse_context("git://github.com/x/y").unwrap_err();
        expect(&e, K::UnsupportedScheme, Some(1), &["\"git://\""]);
        // Columns count the prefix.
        let e = parse_context("oci://myreg.azurecr.io/Team/ctx:v1").unwrap_err();
        expect(&e, K::NameContainsUppercase, Some(24), &["\"T\""]);
        let e = parse_context("oci://").unwrap_err();
        assert_eq!(e.column(), Some(7));
    }

    #[test]
    fn registries_compare_with_docker_hub_names() {
        assert!(same_registry("docker.io", "registry-1.docker.io"));
        assert!(same_registry("INDEX.docker.io", "docker.io"));
        assert!(same_registry("MyReg.azurecr.io", "myreg.azurecr.io"));
        assert!(!same_registry("myreg.azurecr.io", "myreg.azurecr.io:443"));
        assert!(!same_registry("docker.io", "ghcr.io"));
    }

    #[test]
    fn repairs_are_offered_only_when_they_parse() {
        assert_eq!(
            suggest_repair("oci://myreg.azurecr.io/Team/ctx:v1", None).as_deref(),
            Some("oci://myreg.azurecr.io/team/ctx:v1")
        );
        assert_eq!(
            suggest_repair("https://myreg.azurecr.io/ctx:v1", None).as_deref(),
            Some("myreg.azurecr.io/ctx:v1")
        );
        assert_eq!(
            suggest_repair("/ctx:v1", Some("myreg.azurecr.io")).as_deref(),
            Some("myreg.azurecr.io/ctx:v1")
        );
        assert_eq!(
            suggest_repair("a.io/x//y/", None).as_deref(),
            Some("a.io/x/y")
        );
        assert_eq!(suggest_repair("a.io/x:v 1", None), None);
        assert_eq!(
            suggest_repair("myreg..azurecr.io/ctx", Some("myreg.azurecr.io")).as_deref(),
            Some("myreg.azurecr.io/ctx")
        );
        assert_eq!(suggest_repair("myreg..azurecr.io/ctx", None), None);
    }

    #[test]
    fn odd_input_never_panics() {
        let long = "a".repeat(10_000);
        let inputs = [
            "",
            " ",
            "://",
            "oci://",
            "é",
            "ÉÉ/x",
            "\u{212A}ube",
            "a/\u{0}",
            "\u{1b}[31m",
            "@",
            ":",
            "/",
            "[",
            "]/x",
            "[]/x",
            "a:@",
            "a@:",
            "a@sha256:",
            "🦀/🦀:🦀@🦀",
            "a:b:c@d@e",
            "\u{130}mage",
            long.as_str(),
        ];
        for input in inputs {
            let _ = parse(input).map_err(|e| e.to_string());
            let _ = parse_normalized(input).map_err(|e| e.to_string());
            let _ = docker_ref(input);
            let _ = parse_context(input).map_err(|e| e.to_string());
            let _ = suggest_repair(input, Some("myreg.azurecr.io"));
        }
        let e = err(&format!("{long}$"));
        assert!(e.to_string().len() < 1000, "explanations stay short");
        // Go lower-cases with the simple Unicode mapping: the Kelvin sign becomes "k".
        assert_eq!(err("\u{212A}ube").kind(), K::NameContainsUppercase);
    }
}
