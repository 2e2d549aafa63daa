//! The rules a reference can break, as errors that say which rule, where, and in words:
//! distribution's error kinds (`ErrReferenceInvalidFormat`, …) with the exact Go text, and
//! the rule's text this tool shows.

use super::*;

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
pub(super) enum EmptyAt {
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
pub(super) enum Rule {
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
    pub(super) kind: ReferenceErrorKind,
    pub(super) go_text: String,
    pub(super) rule: Box<Rule>,
    pub(super) column: Option<usize>,
    /// An uppercase path letter seen before the fault that stopped the scan.
    pub(super) also_uppercase: Option<(char, usize)>,
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

    pub(super) fn shifted(mut self, by: usize) -> ReferenceError {
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

pub(super) fn section_of(rule: &Rule) -> Section {
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

pub(super) fn part_of(rule: &Rule) -> Option<&str> {
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
pub(super) fn q(s: &str) -> String {
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
pub(super) fn qc(ch: char) -> String {
    let shown = format!("\"{}\"", ch.escape_debug());
    if ch.is_ascii_graphic() || ch == ' ' {
        shown
    } else {
        format!("{shown} (U+{:04X})", ch as u32)
    }
}

pub(super) fn rule_text(rule: &Rule) -> String {
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
