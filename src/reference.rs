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
// Errors
// ---------------------------------------------------------------------------------------

/// Which error Go's reference packages return, plus this tool's own (scheme) error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceErrorKind {
    /// `ErrNameEmpty`
    NameEmpty,
    /// `ErrReferenceInvalidFormat`
    ReferenceInvalidFormat,
    /// `ErrNameContainsUppercase` (also ParseNormalizedNamed's "must be lowercase" error).
    NameContainsUppercase,
    /// `ErrNameTooLong`
    NameTooLong,
    /// go-digest `ErrDigestInvalidFormat`
    DigestInvalidFormat,
    /// go-digest `ErrDigestInvalidLength`
    DigestInvalidLength,
    /// go-digest `ErrDigestUnsupported`
    DigestUnsupported,
    /// ParseNormalizedNamed's unnamed error for a name of exactly 64 hex digits.
    HexIdentifierName,
    /// A `scheme://` prefix other than `oci://` and `docker-image://` ([`parse_context`]).
    UnsupportedScheme,
}

impl ReferenceErrorKind {
    /// The Go error variable's name, e.g. `ErrNameContainsUppercase`; `None` for errors Go
    /// builds with `fmt.Errorf` and for this tool's own scheme error.
    pub fn go_name(self) -> Option<&'static str> {
        match self {
            ReferenceErrorKind::NameEmpty => Some("ErrNameEmpty"),
            ReferenceErrorKind::ReferenceInvalidFormat => Some("ErrReferenceInvalidFormat"),
            ReferenceErrorKind::NameContainsUppercase => Some("ErrNameContainsUppercase"),
            ReferenceErrorKind::NameTooLong => Some("ErrNameTooLong"),
            ReferenceErrorKind::DigestInvalidFormat => Some("ErrDigestInvalidFormat"),
            ReferenceErrorKind::DigestInvalidLength => Some("ErrDigestInvalidLength"),
            ReferenceErrorKind::DigestUnsupported => Some("ErrDigestUnsupported"),
            ReferenceErrorKind::HexIdentifierName | ReferenceErrorKind::UnsupportedScheme => None,
        }
    }

    /// The error variable's text (short form, without values).
    pub fn text(self) -> &'static str {
        match self {
            ReferenceErrorKind::NameEmpty => "repository name must have at least one component",
            ReferenceErrorKind::ReferenceInvalidFormat | ReferenceErrorKind::UnsupportedScheme => {
                "invalid reference format"
            }
            ReferenceErrorKind::NameContainsUppercase => "repository name must be lowercase",
            ReferenceErrorKind::NameTooLong => {
                "repository name must not be more than 255 characters"
            }
            ReferenceErrorKind::DigestInvalidFormat => "invalid checksum digest format",
            ReferenceErrorKind::DigestInvalidLength => "invalid checksum digest length",
            ReferenceErrorKind::DigestUnsupported => "unsupported digest algorithm",
            ReferenceErrorKind::HexIdentifierName => {
                "invalid repository name, cannot specify 64-byte hexadecimal strings"
            }
        }
    }
}

/// How an empty path component came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EmptyAt {
    /// The reference starts with `/`.
    Start,
    /// `//` right after the registry host.
    AfterHost,
    /// `//` inside the path.
    Double,
    /// The path ends with `/`.
    End,
}

/// The grammar rule a reference broke, with the parts needed to explain it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Rule {
    Empty,
    HostEmpty {
        host: String,
    },
    HostLabelEmpty {
        host: String,
    },
    HostLabelHyphen {
        host: String,
        label: String,
        at_start: bool,
    },
    HostChar {
        host: String,
        ch: char,
    },
    PortEmpty {
        host: String,
    },
    PortDigits {
        host: String,
        port: String,
        ch: char,
        bracketed: bool,
    },
    Ipv6Unclosed {
        host: String,
    },
    Ipv6Empty {
        host: String,
    },
    Ipv6Zone {
        host: String,
        zone: String,
    },
    Ipv6Char {
        host: String,
        ch: char,
    },
    AfterIpv6 {
        host: String,
        ch: char,
    },
    Ipv6NeedsPath {
        text: String,
    },
    PathMissing {
        domain: Option<String>,
        next: Option<char>,
    },
    ComponentEmpty {
        at: EmptyAt,
    },
    ComponentStart {
        component: String,
        ch: char,
    },
    ComponentEnd {
        component: String,
    },
    Separator {
        component: String,
        sep: String,
    },
    PathChar {
        component: String,
        ch: char,
    },
    Uppercase {
        ch: char,
    },
    PathTooLong {
        len: usize,
        /// Docker's `library/` counts: it was added by normalisation.
        library: bool,
    },
    TagEmpty,
    TagStart {
        tag: String,
        ch: char,
    },
    TagChar {
        tag: String,
        ch: char,
    },
    TagTooLong {
        tag: String,
        len: usize,
    },
    DigestEmpty,
    DigestNoColon {
        digest: String,
    },
    DigestAlgorithm {
        digest: String,
        algorithm: String,
    },
    DigestHexChar {
        digest: String,
        ch: char,
    },
    DigestTooShort {
        digest: String,
        algorithm: String,
        hex_len: usize,
    },
    DigestLength {
        digest: String,
        hex_len: usize,
    },
    DigestUppercaseHex {
        digest: String,
        ch: char,
    },
    DigestAlgorithmCase {
        algorithm: String,
    },
    DigestUnsupported {
        algorithm: String,
    },
    HexName {
        name: String,
    },
    NotAHost {
        host: String,
        reason: Box<Rule>,
    },
    Scheme {
        scheme: String,
    },
    UrlScheme {
        scheme: String,
    },
}

/// Why a reference was rejected: the Go error (kind and exact text) and an explanation
/// naming the broken grammar rule, the 1-based column (in characters) and the offending part.
///
/// `Display` gives `"<go text>: <explanation>"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceError {
    kind: ReferenceErrorKind,
    go_text: String,
    rule: Box<Rule>,
    column: Option<usize>,
    /// An uppercase path letter seen before the fault that stopped the scan.
    also_uppercase: Option<(char, usize)>,
}

impl std::error::Error for ReferenceError {}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.go_text, self.explanation())
    }
}

impl ReferenceError {
    pub fn kind(&self) -> ReferenceErrorKind {
        self.kind
    }

    /// The Go error variable's name (`ErrNameContainsUppercase`, …), when Go has one.
    pub fn go_name(&self) -> Option<&'static str> {
        self.kind.go_name()
    }

    /// The exact text Go's error would print.
    pub fn go_text(&self) -> &str {
        &self.go_text
    }

    /// 1-based column, in characters, of the offending character or part, when there is one.
    pub fn column(&self) -> Option<usize> {
        self.column
    }

    /// Which part of the reference breaks its rule.
    pub fn section(&self) -> Section {
        section_of(&self.rule)
    }

    /// The part of the input that breaks the rule (a host, path component, tag, digest,
    /// scheme), when the rule is about one.
    pub fn part(&self) -> Option<&str> {
        part_of(&self.rule)
    }

    /// The rule that broke, where, and the offending part, in one sentence.
    pub fn explanation(&self) -> String {
        let mut out = match (self.rule.as_ref(), self.column) {
            (Rule::Uppercase { ch }, Some(col)) => format!(
                "uppercase letter {} at column {col} in the repository path: repository names are lowercase (only the registry host may have capitals)",
                qc(*ch)
            ),
            (Rule::PathTooLong { len, library }, Some(col)) => format!(
                "repository path is {len} characters{}; the limit is {PATH_LENGTH_MAX} (the registry host does not count), and column {col} is character {}",
                if *library {
                    ", counting the \"library/\" docker adds"
                } else {
                    ""
                },
                PATH_LENGTH_MAX + 1
            ),
            (rule, Some(col)) => format!("column {col}: {}", rule_text(rule)),
            (rule, None) => rule_text(rule),
        };
        if let Some((ch, col)) = self.also_uppercase {
            out.push_str(&format!(
                "; also, uppercase letter {} at column {col} is in the repository path, which must be lowercase",
                qc(ch)
            ));
        }
        out
    }

    fn shifted(mut self, by: usize) -> ReferenceError {
        if let Some(col) = self.column.as_mut() {
            *col += by;
        }
        if let Some((_, col)) = self.also_uppercase.as_mut() {
            *col += by;
        }
        self
    }
}

/// The part of a reference a rejection is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// The reference as a whole (empty input).
    Whole,
    /// A `scheme://` prefix.
    Scheme,
    /// The registry host (`host[:port]`, `[IPv6]`).
    Registry,
    /// The repository path.
    Path,
    Tag,
    Digest,
}

fn section_of(rule: &Rule) -> Section {
    match rule {
        Rule::Empty => Section::Whole,
        Rule::Scheme { .. } | Rule::UrlScheme { .. } => Section::Scheme,
        Rule::HostEmpty { .. }
        | Rule::HostLabelEmpty { .. }
        | Rule::HostLabelHyphen { .. }
        | Rule::HostChar { .. }
        | Rule::PortEmpty { .. }
        | Rule::PortDigits { .. }
        | Rule::Ipv6Unclosed { .. }
        | Rule::Ipv6Empty { .. }
        | Rule::Ipv6Zone { .. }
        | Rule::Ipv6Char { .. }
        | Rule::AfterIpv6 { .. }
        | Rule::Ipv6NeedsPath { .. }
        | Rule::NotAHost { .. } => Section::Registry,
        Rule::PathMissing { .. }
        | Rule::ComponentEmpty { .. }
        | Rule::ComponentStart { .. }
        | Rule::ComponentEnd { .. }
        | Rule::Separator { .. }
        | Rule::PathChar { .. }
        | Rule::Uppercase { .. }
        | Rule::PathTooLong { .. }
        | Rule::HexName { .. } => Section::Path,
        Rule::TagEmpty | Rule::TagStart { .. } | Rule::TagChar { .. } | Rule::TagTooLong { .. } => {
            Section::Tag
        }
        Rule::DigestEmpty
        | Rule::DigestNoColon { .. }
        | Rule::DigestAlgorithm { .. }
        | Rule::DigestHexChar { .. }
        | Rule::DigestTooShort { .. }
        | Rule::DigestLength { .. }
        | Rule::DigestUppercaseHex { .. }
        | Rule::DigestAlgorithmCase { .. }
        | Rule::DigestUnsupported { .. } => Section::Digest,
    }
}

fn part_of(rule: &Rule) -> Option<&str> {
    Some(match rule {
        Rule::HostEmpty { host }
        | Rule::HostLabelEmpty { host }
        | Rule::HostChar { host, .. }
        | Rule::PortEmpty { host }
        | Rule::PortDigits { host, .. }
        | Rule::Ipv6Unclosed { host }
        | Rule::Ipv6Empty { host }
        | Rule::Ipv6Zone { host, .. }
        | Rule::Ipv6Char { host, .. }
        | Rule::AfterIpv6 { host, .. }
        | Rule::NotAHost { host, .. } => host,
        Rule::HostLabelHyphen { label, .. } => label,
        Rule::Ipv6NeedsPath { text } => text,
        Rule::ComponentStart { component, .. }
        | Rule::ComponentEnd { component }
        | Rule::Separator { component, .. }
        | Rule::PathChar { component, .. } => component,
        Rule::TagStart { tag, .. } | Rule::TagChar { tag, .. } | Rule::TagTooLong { tag, .. } => {
            tag
        }
        Rule::DigestNoColon { digest }
        | Rule::DigestHexChar { digest, .. }
        | Rule::DigestTooShort { digest, .. }
        | Rule::DigestLength { digest, .. }
        | Rule::DigestUppercaseHex { digest, .. } => digest,
        Rule::DigestAlgorithm { algorithm, .. }
        | Rule::DigestAlgorithmCase { algorithm }
        | Rule::DigestUnsupported { algorithm } => algorithm,
        Rule::HexName { name } => name,
        Rule::Scheme { scheme } | Rule::UrlScheme { scheme } => scheme,
        Rule::Empty
        | Rule::PathMissing { .. }
        | Rule::ComponentEmpty { .. }
        | Rule::Uppercase { .. }
        | Rule::PathTooLong { .. }
        | Rule::TagEmpty
        | Rule::DigestEmpty => return None,
    })
}

/// A value in double quotes, control characters escaped, long values shortened.
fn q(s: &str) -> String {
    const MAX: usize = 64;
    const KEEP: usize = 30;
    let n = s.chars().count();
    let shown = if n > MAX {
        let head: String = s.chars().take(KEEP).collect();
        let tail: String = s.chars().skip(n - KEEP).collect();
        format!("{head}…{tail}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", shown.escape_debug())
}

/// One character in double quotes, with its code point when it is not plain ASCII.
fn qc(ch: char) -> String {
    let shown = format!("\"{}\"", ch.escape_debug());
    if ch.is_ascii_graphic() || ch == ' ' {
        shown
    } else {
        format!("{shown} (U+{:04X})", ch as u32)
    }
}

fn rule_text(rule: &Rule) -> String {
    match rule {
        Rule::Empty => "the reference is empty: it needs at least a repository name, e.g. \"myreg.azurecr.io/ctx:v1\"".into(),
        Rule::HostEmpty { host } => format!(
            "registry host {} has no name before its port; {HOST_RULE}",
            q(host)
        ),
        Rule::HostLabelEmpty { host } => format!(
            "registry host {} has an empty label (\"..\", or \".\" at its start or end); {HOST_RULE}",
            q(host)
        ),
        Rule::HostLabelHyphen { host, label, at_start } => format!(
            "label {} of registry host {} {} with \"-\"; {HOST_RULE}",
            q(label),
            q(host),
            if *at_start { "starts" } else { "ends" }
        ),
        Rule::HostChar { host, ch } => format!(
            "character {} is not allowed in registry host {}; {HOST_RULE}",
            qc(*ch),
            q(host)
        ),
        Rule::PortEmpty { host } => format!(
            "registry host {} ends with \":\" but has no port number; a port is digits only",
            q(host)
        ),
        Rule::PortDigits { host, port, ch, bracketed } => {
            let mut text = format!(
                "port {} of registry host {} must be digits only, and {} is not a digit",
                q(port),
                q(host),
                qc(*ch)
            );
            if *ch == ':' && !bracketed {
                text.push_str(" (an IPv6 address must be written in brackets, e.g. \"[fc00::1]:5000\")");
            }
            text
        }
        Rule::Ipv6Unclosed { host } => {
            format!("IPv6 registry host {} has no closing \"]\"", q(host))
        }
        Rule::Ipv6Empty { host } => format!("IPv6 registry host {} is empty inside [ ]", q(host)),
        Rule::Ipv6Zone { host, zone } => format!(
            "IPv6 registry host {} has the zone {}; zones are not allowed, only hex digits and \":\" inside [ ]",
            q(host),
            q(zone)
        ),
        Rule::Ipv6Char { host, ch } => format!(
            "character {} is not allowed in IPv6 registry host {}: only hex digits and \":\" inside [ ] (no zone, no embedded IPv4)",
            qc(*ch),
            q(host)
        ),
        Rule::AfterIpv6 { host, ch } => format!(
            "after \"]\" in registry host {} only \":port\" may follow, not {}",
            q(host),
            qc(*ch)
        ),
        Rule::Ipv6NeedsPath { text } => format!(
            "{} starts with \"[\": an IPv6 registry host must be followed by \"/\" and a repository path, e.g. \"[fc00::1]:5000/repo:tag\"",
            q(text)
        ),
        Rule::PathMissing { domain: Some(domain), .. } => format!(
            "there is no repository path after registry host {}; a reference needs at least one path component",
            q(domain)
        ),
        Rule::PathMissing { domain: None, next: Some('@') } => "there is no repository name before \"@\": a digest needs a repository, e.g. \"repo@sha256:…\"".into(),
        Rule::PathMissing { domain: None, .. } => "there is no repository name before \":\": a reference starts with a repository name, a tag alone is not a reference".into(),
        Rule::ComponentEmpty { at } => match at {
            EmptyAt::Start => "the reference starts with \"/\": it must start with a registry host or a repository name (a variable in front of the \"/\" may have expanded to nothing)".into(),
            EmptyAt::AfterHost => "\"//\" after the registry host leaves an empty path component; components are separated by a single \"/\"".into(),
            EmptyAt::Double => "\"//\" leaves an empty path component; components are separated by a single \"/\"".into(),
            EmptyAt::End => "the repository path ends with \"/\"; every path component needs at least one lowercase letter or digit".into(),
        },
        Rule::ComponentStart { component, ch } => format!(
            "path component {} must start with a lowercase letter or digit, not {}",
            q(component),
            qc(*ch)
        ),
        Rule::ComponentEnd { component } => format!(
            "path component {} must end with a lowercase letter or digit",
            q(component)
        ),
        Rule::Separator { component, sep } => format!(
            "separator {} in path component {} is not allowed: letters and digits may be joined only by \".\", \"_\", \"__\" or a run of \"-\"",
            q(sep),
            q(component)
        ),
        Rule::PathChar { component, ch } => format!(
            "character {} is not allowed in path component {}; {PATH_RULE}",
            qc(*ch),
            q(component)
        ),
        Rule::Uppercase { ch } => format!(
            "uppercase letter {} in the repository path: repository names are lowercase (only the registry host may have capitals)",
            qc(*ch)
        ),
        Rule::PathTooLong { len, library } => format!(
            "repository path is {len} characters{}; the limit is {PATH_LENGTH_MAX} (the registry host does not count)",
            if *library { ", counting the \"library/\" docker adds" } else { "" }
        ),
        Rule::TagEmpty => format!("the tag after \":\" is empty; the tag rule: {TAG_RULE}"),
        Rule::TagStart { tag, ch } => format!(
            "tag {} breaks the tag rule: {TAG_RULE} (it starts with {})",
            q(tag),
            qc(*ch)
        ),
        Rule::TagChar { tag, ch } => {
            let hint = match ch {
                '/' => "; a \":\" before a \"/\" is only allowed as the registry host's port, before the first \"/\"",
                ':' => "; only one \":\" may follow the repository path",
                _ => "",
            };
            format!(
                "tag {} breaks the tag rule: {TAG_RULE} ({} is not allowed{hint})",
                q(tag),
                qc(*ch)
            )
        }
        Rule::TagTooLong { tag, len } => format!(
            "tag {} is {len} characters, over the tag rule: {TAG_RULE}",
            q(tag)
        ),
        Rule::DigestEmpty => format!("nothing follows \"@\"; {DIGEST_RULE}"),
        Rule::DigestNoColon { digest } => format!(
            "digest {} has no \":\"; {DIGEST_RULE} (a tag is written after \":\", not \"@\")",
            q(digest)
        ),
        Rule::DigestAlgorithm { digest, algorithm } => format!(
            "digest algorithm {} in {} breaks the algorithm rule: letters and digits starting with a letter, parts joined by one of \"-\", \"_\", \"+\", \".\"",
            q(algorithm),
            q(digest)
        ),
        Rule::DigestHexChar { digest, ch } => format!(
            "character {} in digest {} is not a hex digit (0-9, a-f)",
            qc(*ch),
            q(digest)
        ),
        Rule::DigestTooShort { digest, algorithm, hex_len } => {
            if algorithm == "sha256" {
                format!("digest {} has {hex_len} hex digits; sha256 needs 64", q(digest))
            } else {
                format!(
                    "digest {} has {hex_len} hex digits; a digest needs at least 32 (sha256 needs 64)",
                    q(digest)
                )
            }
        }
        Rule::DigestLength { digest, hex_len } => {
            format!("digest {} has {hex_len} hex digits; sha256 needs 64", q(digest))
        }
        Rule::DigestUppercaseHex { digest, ch } => format!(
            "digest {} has the uppercase hex digit {}; sha256 digests are lowercase hex",
            q(digest),
            qc(*ch)
        ),
        Rule::DigestAlgorithmCase { algorithm } => format!(
            "digest algorithm {} must be lowercase (\"sha256\")",
            q(algorithm)
        ),
        Rule::DigestUnsupported { algorithm } => format!(
            "digest algorithm {} is not supported: only \"sha256\" is accepted, the algorithm registries use for image digests",
            q(algorithm)
        ),
        Rule::HexName { name } => format!(
            "{} is 64 hex digits, which docker reads as an image ID, not a repository name; to pin content write a repository and a digest, e.g. \"repo@sha256:<64 hex>\"",
            q(name)
        ),
        Rule::NotAHost { host, reason } => format!(
            "{} before the first \"/\" is taken as the registry host (it contains \".\" or \":\"), but it is not a valid host: {}",
            q(host),
            rule_text(reason)
        ),
        Rule::UrlScheme { scheme } => format!(
            "{} is a URL scheme, and an image reference has none: it starts with the registry host, e.g. \"myreg.azurecr.io/ctx:v1\"",
            q(&format!("{scheme}://"))
        ),
        Rule::Scheme { scheme } => {
            let lower = scheme.to_ascii_lowercase();
            let why = match lower.as_str() {
                "oci-layout" => " (\"oci-layout://\" names a local OCI layout directory, not a registry reference, so there is nothing in a registry to check)",
                "http" | "https" => " (an http(s) URL is a remote tarball or Git context, not an image reference; write the reference without a scheme)",
                "git" => " (a Git URL is a source context, not an image reference)",
                "docker" => " (\"docker://\" is skopeo's transport prefix; write the reference without it)",
                _ => "",
            };
            format!(
                "scheme {} is not accepted here; accepted are \"oci://\" (ACR Tasks OCI artifact context), \"docker-image://\" (buildx named context) or a plain image reference{why}",
                q(&format!("{scheme}://"))
            )
        }
    }
}

// ---------------------------------------------------------------------------------------
// Scanner
// ---------------------------------------------------------------------------------------

/// A grammar fault at a byte offset of the scanned text.
#[derive(Debug)]
struct Fault {
    at: usize,
    rule: Rule,
}

fn fault(at: usize, rule: Rule) -> Fault {
    Fault { at, rule }
}

/// The pieces of a reference that matched the grammar (byte offsets into the scanned text).
#[derive(Debug)]
struct Scan<'a> {
    domain: Option<&'a str>,
    path: &'a str,
    path_at: usize,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
    digest_at: usize,
    /// The first ASCII capital in the path: the grammar forbids it, but Go reports it as
    /// `ErrNameContainsUppercase` rather than an invalid format, so the scan tolerates it.
    uppercase: Option<usize>,
}

fn char_at(s: &str, at: usize) -> char {
    s.get(at..)
        .and_then(|r| r.chars().next())
        .unwrap_or('\u{FFFD}')
}

/// 1-based character column of byte offset `at` in `s`.
fn column_of(s: &str, at: usize) -> usize {
    let mut at = at.min(s.len());
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s[..at].chars().count() + 1
}

/// Checks `host` against the domain rule; offsets are relative to `host`.
fn check_domain(host: &str) -> Result<(), Fault> {
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
fn check_component(
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

fn is_path_component(s: &str) -> bool {
    !s.is_empty() && check_component(s, 0, s.len(), &mut None).is_ok()
}

/// Checks the grammar of the whole text. On a fault, also returns the first capital seen in
/// the path before it.
fn scan(t: &str) -> Result<Scan<'_>, (Fault, Option<usize>)> {
    let mut uppercase = None;
    scan_inner(t, &mut uppercase).map_err(|f| (f, uppercase))
}

fn scan_inner<'a>(t: &'a str, uppercase: &mut Option<usize>) -> Result<Scan<'a>, Fault> {
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
fn check_digest_grammar(d: &str, at: usize, at_sign: usize) -> Result<(), Fault> {
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
fn check_digest_value(d: &str, at: usize) -> Result<(), (ReferenceErrorKind, Fault)> {
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
fn go_lower_char(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

fn go_lower(s: &str) -> String {
    s.chars().map(go_lower_char).collect()
}

/// An error with offsets still relative to the scanned text.
#[derive(Debug)]
struct Raw {
    kind: ReferenceErrorKind,
    go_text: String,
    fault: Fault,
    uppercase: Option<usize>,
}

impl Raw {
    fn new(kind: ReferenceErrorKind, fault: Fault, uppercase: Option<usize>) -> Raw {
        Raw {
            kind,
            go_text: kind.text().to_string(),
            fault,
            uppercase,
        }
    }

    /// Resolves offsets in `scanned` to columns of `shown` through `map`.
    fn finish(self, scanned: &str, shown: &str, map: impl Fn(usize) -> usize) -> ReferenceError {
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
fn parse_raw(t: &str) -> Result<Reference, Raw> {
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

// ---------------------------------------------------------------------------------------
// Public parsing functions
// ---------------------------------------------------------------------------------------

/// distribution's `Parse`: the grammar, no normalisation (no domain is filled in).
pub fn parse(s: &str) -> Result<Reference, ReferenceError> {
    parse_raw(s).map_err(|raw| raw.finish(s, s, |at| at))
}

/// The result of normalising, with what was written.
#[derive(Debug)]
struct Normalized {
    reference: Reference,
    /// The domain as written (before `index.docker.io` → `docker.io`); `None` when implied.
    written_domain: Option<String>,
    /// Byte offset in the input where the part after the written domain starts.
    remote_at: usize,
}

/// `splitDockerDomain`'s test: is the text before the first `/` a registry host?
fn is_written_domain(first: &str) -> bool {
    first.contains(['.', ':']) || first == "localhost" || go_lower(first) != first
}

fn normalize(s: &str) -> Result<Normalized, ReferenceError> {
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
