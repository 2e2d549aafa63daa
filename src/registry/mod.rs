//! Our own registry client on the shared reqwest client: ping, challenge, token
//! (Basic GET or refresh-token POST), manifest HEAD/GET, tags and catalog. It reports
//! what happened with evidence and leaves the verdict to the registry check.
//!
//! Here: what requests answer and how they fail (`Reply`, `NetError`, `TokenError`).
//! `client.rs` sends them, `acr.rs` has ACR's token exchange, `wire.rs` reads the
//! distribution wire formats, `stall.rs` finds where a timed-out request was stuck.

mod acr;
mod client;
pub mod ratelimit;
pub mod stall;
pub mod wire;

use crate::docker::credential::{Credential, CredentialKind};
use crate::secrets::Secrets;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap};
use reqwest::{Method, Url};
use stall::Phase;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};
use wire::{Challenge, ErrorEntry};

pub use acr::{Attributes, Locks};
pub use client::{BlobFetch, Client, StorageHop, UploadCancel};

/// Where a connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetKind {
    Dns,
    Connect,
    Tls,
    Timeout,
    /// The answer's body was larger than the cap ([`crate::http::MAX_BODY`]).
    TooLarge,
    Other,
}

/// A request that got no HTTP answer.
#[derive(Debug, Clone)]
pub struct NetError {
    pub kind: NetKind,
    /// Scheme, host and path (never a query: token queries name accounts).
    pub url: String,
    /// The underlying error chain.
    pub detail: String,
    /// Which of the registry's endpoints the request was for.
    pub endpoint: Endpoint,
    /// For a timeout: where the request stalled and for how long.
    pub stall: Option<Box<Stall>>,
}

impl NetError {
    fn new(kind: NetKind, url: impl Into<String>, detail: impl Into<String>) -> NetError {
        NetError {
            kind,
            url: url.into(),
            detail: detail.into(),
            endpoint: Endpoint::Other,
            stall: None,
        }
    }
}

/// The registry endpoint a request went to, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /v2/`, the first request to a registry.
    Ping,
    /// The token endpoint (the realm of the registry's Bearer challenge).
    Token,
    Manifest,
    Tags,
    Catalog,
    /// ACR's `/oauth2/exchange`.
    Exchange,
    /// The push proof: `POST /v2/<repo>/blobs/uploads/` and the `DELETE` that cancels it.
    Upload,
    /// `GET /v2/<repo>/blobs/<digest>` on the registry.
    Blob,
    /// The storage host a blob GET was redirected to.
    Storage,
    /// ACR's metadata API: `GET /acr/v1/<repo>` and `/acr/v1/<repo>/_tags/<tag>`.
    AcrMetadata,
    Other,
}

impl Endpoint {
    pub fn describe(self) -> &'static str {
        match self {
            Endpoint::Ping => "the registry's /v2/ ping",
            Endpoint::Token => "the token endpoint (the realm of the registry's challenge)",
            Endpoint::Manifest => "the manifest request",
            Endpoint::Tags => "the tag list request",
            Endpoint::Catalog => "the catalog request",
            Endpoint::Exchange => "ACR's token exchange (/oauth2/exchange)",
            Endpoint::Upload => "the blob upload that proves the push right",
            Endpoint::Blob => "the blob download",
            Endpoint::Storage => {
                "the blob download from the storage host the registry redirected to"
            }
            Endpoint::AcrMetadata => "ACR's metadata API (/acr/v1/)",
            Endpoint::Other => "the request",
        }
    }
}

/// Where a request that timed out was stuck.
#[derive(Debug, Clone)]
pub struct Stall {
    pub phase: Phase,
    /// `host:port` as the URL names it (the port a scheme implies included).
    pub target: String,
    /// How long the request ran before it was given up.
    pub elapsed: Duration,
    /// The bound that phase had (its share of what was left of the run).
    pub bound: Duration,
    /// The address a probe connected to, when one was made.
    pub addr: Option<SocketAddr>,
    /// What the request and the probe saw, one or two sentences.
    pub evidence: String,
}

/// An HTTP answer, body read up to a limit.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub url: Url,
    /// The address the answer came from.
    pub peer: Option<std::net::SocketAddr>,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn errors(&self) -> Vec<ErrorEntry> {
        wire::parse_errors(&self.body)
    }

    /// Whether the registry says it is throttling (429, or `TOOMANYREQUESTS` in the body).
    pub fn throttled(&self) -> bool {
        self.status == 429 || self.errors().iter().any(|e| e.code == "TOOMANYREQUESTS")
    }

    /// `Retry-After` in seconds (the HTTP-date form is read as one second).
    pub fn retry_after(&self) -> Option<Duration> {
        let v = self.header("retry-after")?.trim();
        Some(Duration::from_secs(v.parse::<u64>().unwrap_or(1)))
    }

    /// Where a redirect (3xx with `Location`) points, resolved against the request
    /// URL, without its query (which may carry tokens).
    pub fn redirect_target(&self) -> Option<Url> {
        if !(300..400).contains(&self.status) {
            return None;
        }
        let mut target = self.url.join(self.header("location")?.trim()).ok()?;
        target.set_query(None);
        target.set_fragment(None);
        Some(target)
    }

    /// "401 UNAUTHORIZED: authentication required" for messages.
    pub fn describe(&self) -> String {
        if let Some(target) = self.redirect_target() {
            let place = if same_origin(&target, &self.url) {
                "on the same origin"
            } else {
                "to another origin"
            };
            return format!(
                "HTTP {status}: a redirect ({status}) {place}, to {}, not followed: the registry client never follows redirects, so no request and no credential went there",
                wire::shorten(target.as_str(), 200),
                status = self.status
            );
        }
        let errors = wire::describe_errors(&self.errors());
        if errors.is_empty() {
            let text = String::from_utf8_lossy(&self.body);
            let text = text.trim();
            // A HEAD answer has no body: the challenge's `error` is the only evidence.
            let challenge_error = match challenge_of(self) {
                Ok(Challenge::Bearer {
                    error: Some(error), ..
                }) => format!(
                    " (WWW-Authenticate error=\"{}\")",
                    wire::shorten(&error, 60)
                ),
                _ => String::new(),
            };
            if text.is_empty() || text.starts_with('<') || text.starts_with('{') {
                format!("HTTP {}{challenge_error}", self.status)
            } else {
                format!(
                    "HTTP {} {}",
                    self.status,
                    wire::shorten(&clean_line(text), 200)
                )
            }
        } else {
            format!("HTTP {} {errors}", self.status)
        }
    }
}

fn clean_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// One throttled request, for REGISTRY_THROTTLED.
#[derive(Debug, Clone)]
pub struct Throttle {
    pub url: String,
    pub retry_after: Option<Duration>,
    /// The request succeeded on a later attempt.
    pub recovered: bool,
    /// How many 429 answers this request got.
    pub answers: u32,
}

/// Credentials to put on a registry request.
#[derive(Clone)]
pub enum Auth {
    None,
    Basic { user: String, password: String },
    Bearer(String),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Auth::None => "Auth::None",
            Auth::Basic { .. } => "Auth::Basic(..)",
            Auth::Bearer(_) => "Auth::Bearer(..)",
        })
    }
}

/// Why a token could not be had.
#[derive(Debug, Clone)]
pub enum TokenError {
    Net(NetError),
    /// The token server refused (4xx): the credential is wrong, expired or unknown.
    Refused(Reply),
    /// 5xx or a 2xx without a token.
    Unexpected(Reply),
    /// The realm is unusable: not http(s), or plain http to a remote host.
    BadRealm(String),
}

/// A registry token and what it was asked for.
#[derive(Clone)]
pub struct Token {
    pub token: String,
    /// Requests the token server answered for it (0 for a stored registry token).
    pub requests: u32,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

/// Whether two URLs share scheme, host and port (the port a scheme implies included).
pub fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

/// The tags of a repository, and why the list may be incomplete.
#[derive(Debug, Clone, Default)]
pub struct TagList {
    pub tags: Vec<String>,
    /// Set when a next page was not fetched: it pointed at another origin, or there
    /// were more pages than the bound.
    pub partial: Option<String>,
}

pub use crate::reference::api_host;

/// Loopback registries may speak plain HTTP (docker treats them as insecure registries).
pub fn is_loopback(host: &str) -> bool {
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name == "localhost"
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `4.0 s`, `250 ms`, for messages.
pub fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The scope a build needs on a repository.
pub fn repository_scope(repository: &str, push: bool) -> String {
    if push {
        format!("repository:{repository}:pull,push")
    } else {
        format!("repository:{repository}:pull")
    }
}

/// Reads a challenge from a 401 reply.
pub fn challenge_of(reply: &Reply) -> Result<Challenge, wire::ChallengeProblem> {
    wire::parse_challenge(reply.header("www-authenticate"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_with_and_without_ports() {
        for h in [
            "localhost",
            "localhost:5000",
            "127.0.0.1:5000",
            "127.0.0.2",
            "[::1]:5000",
            "[::1]",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "myreg.azurecr.io",
            "10.0.0.1:5000",
            "registry.test",
            "[2001:db8::1]:5000",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn docker_hub_is_reached_at_its_api_host() {
        assert_eq!(api_host("docker.io"), "registry-1.docker.io");
        assert_eq!(api_host("myreg.azurecr.io"), "myreg.azurecr.io");
    }
}
