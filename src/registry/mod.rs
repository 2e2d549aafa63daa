//! Our own registry client on the shared reqwest client: ping, challenge, token
//! (Basic GET or refresh-token POST), manifest HEAD/GET, tags and catalog. It reports
//! what happened with evidence and leaves the verdict to the registry check.

mod acr;
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

/// Bodies (manifests, tags pages, tokens, errors) larger than this are not read and
/// end in REGISTRY_UNEXPECTED (the OCI spec suggests 4 MiB as a manifest limit).
const BODY_LIMIT: usize = crate::http::MAX_BODY;
/// Attempts for an idempotent request the registry throttles.
const THROTTLE_ATTEMPTS: u32 = 3;
/// Never wait longer than this for one `Retry-After`.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);
/// How long a loopback registry may take to start a TLS handshake before plain HTTP
/// is tried instead.
const LOOPBACK_TLS_PROBE: Duration = Duration::from_secs(2);
/// How many `tags/list` pages to follow before giving up on a complete list.
const TAG_PAGES: usize = 10;

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

/// The registry client of one run. Cheap to share behind an `Arc`.
///
/// Credentials only go where docker sends them: registry requests to the registry's
/// own origin (redirects are never followed, `Link` pagination never leaves the
/// origin), and the credential to the token realm the registry names, never over plain
/// http unless registry and realm are both on this machine.
pub struct Client {
    http: reqwest::Client,
    deadline: Instant,
    secrets: Secrets,
    requests: AtomicU32,
    throttles: Mutex<Vec<Throttle>>,
    schemes: Mutex<HashMap<String, &'static str>>,
    /// Registries whose `/v2/` answered from a loopback address (by name or `--resolve`).
    loopback: Mutex<Vec<String>>,
    /// `--resolve` overrides (host, address), which the stall probe dials as reqwest does.
    resolve: Vec<(String, SocketAddr)>,
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

fn classify(e: &reqwest::Error) -> NetKind {
    let chain = crate::http::error_chain(e).to_ascii_lowercase();
    if e.is_timeout() || chain.contains("timed out") {
        NetKind::Timeout
    } else if chain.contains("dns error")
        || chain.contains("failed to lookup address")
        || chain.contains("name or service not known")
        || chain.contains("no such host")
    {
        NetKind::Dns
    } else if chain.contains("certificate")
        || chain.contains("tls")
        || chain.contains("handshake")
        || chain.contains("invalid peer")
        || chain.contains("corrupt message")
        || chain.contains("invalidcontenttype")
    {
        NetKind::Tls
    } else if e.is_connect() {
        NetKind::Connect
    } else {
        NetKind::Other
    }
}

/// `4.0 s`, `250 ms`, for messages.
pub fn seconds(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn without_query(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.to_string()
}

impl Client {
    pub fn new(http: reqwest::Client, deadline: Instant, secrets: Secrets) -> Client {
        Client {
            http,
            deadline,
            secrets,
            requests: AtomicU32::new(0),
            throttles: Mutex::new(Vec::new()),
            schemes: Mutex::new(HashMap::new()),
            loopback: Mutex::new(Vec::new()),
            resolve: Vec::new(),
        }
    }

    /// The `--resolve` overrides the shared HTTP client was built with.
    pub fn with_resolve(mut self, rules: impl IntoIterator<Item = (String, SocketAddr)>) -> Client {
        self.resolve = rules.into_iter().collect();
        self
    }

    /// HTTP requests sent so far (each attempt counts).
    pub fn request_count(&self) -> u32 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn throttles(&self) -> Vec<Throttle> {
        self.throttles.lock().map(|t| t.clone()).unwrap_or_default()
    }

    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The bound of the phases before the response headers (DNS, connect, TLS, the
    /// server's answer): what is left of the deadline less a fifth (at most a second),
    /// kept to probe where a stalled request was stuck and to report it as NET_TIMEOUT
    /// naming it, before the run's deadline turns it into RUN_TIMEOUT.
    fn headers_bound(left: Duration) -> Duration {
        left.saturating_sub((left / 5).min(Duration::from_secs(1)))
    }

    /// The bound of reading a body, once its headers came: what is left less a tenth
    /// (at most half a second), kept to report it.
    fn body_bound(left: Duration) -> Duration {
        left.saturating_sub((left / 10).min(Duration::from_millis(500)))
    }

    /// Sends one request (built afresh for each attempt), reading the body up to the
    /// limit. Idempotent requests that are throttled are retried with the registry's
    /// `Retry-After`, as long as the deadline allows.
    async fn send(
        &self,
        endpoint: Endpoint,
        build: impl Fn() -> reqwest::RequestBuilder,
        idempotent: bool,
    ) -> Result<Reply, NetError> {
        self.send_within(endpoint, build, idempotent, None).await
    }

    /// [`Client::send`] with a tighter bound than the run's deadline.
    ///
    /// Each phase has its own bound, a share of what is left when it starts: until the
    /// response headers ([`Client::headers_bound`]), then the body
    /// ([`Client::body_bound`]). A request that overruns one ends in a
    /// [`NetKind::Timeout`] whose [`Stall`] names the phase, the endpoint, `host:port`
    /// and the time it ran.
    async fn send_within(
        &self,
        endpoint: Endpoint,
        build: impl Fn() -> reqwest::RequestBuilder,
        idempotent: bool,
        limit: Option<Duration>,
    ) -> Result<Reply, NetError> {
        let mut attempt = 0;
        let mut last_retry_after = None;
        loop {
            attempt += 1;
            let left = self.remaining();
            let bound = match limit {
                Some(l) => l.min(Self::headers_bound(left)),
                None => Self::headers_bound(left),
            }
            .max(Duration::from_millis(1));
            // reqwest's own timer is only a backstop at the deadline: the phases' own
            // bounds below end the request first.
            let request = build()
                .timeout(left.max(Duration::from_millis(1)))
                .build()
                .map_err(|e| NetError::new(NetKind::Other, "", crate::http::error_chain(&e)))?;
            let url = request.url().clone();
            self.requests.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let response = match tokio::time::timeout(bound, self.http.execute(request)).await {
                Ok(Ok(response)) => response,
                Ok(Err(e)) => {
                    let detail = crate::secrets::redact_tokens(&crate::http::error_chain(&e));
                    let kind = classify(&e);
                    if kind == NetKind::Timeout {
                        return Err(self
                            .stalled(endpoint, &url, started, bound, None, detail)
                            .await);
                    }
                    let mut error = NetError::new(kind, without_query(&url), detail);
                    error.endpoint = endpoint;
                    return Err(error);
                }
                Err(_) => {
                    return Err(self
                        .stalled(
                            endpoint,
                            &url,
                            started,
                            bound,
                            None,
                            format!("no response headers within {}", seconds(bound)),
                        )
                        .await);
                }
            };
            let status = response.status().as_u16();
            let announced = response.content_length();
            let body_bound = Self::body_bound(self.remaining()).max(Duration::from_millis(1));
            let body_started = Instant::now();
            let read = tokio::time::timeout(body_bound, read_reply(response, url.clone())).await;
            let body_stall = || {
                let length = match announced {
                    Some(n) => format!("Content-Length {n}"),
                    None => "no Content-Length".to_string(),
                };
                format!(
                    "The response headers came after {} (HTTP {status}, {length}); the body then stopped before its end and was given up after {} more.",
                    seconds(body_started.duration_since(started)),
                    seconds(body_started.elapsed()),
                )
            };
            let reply = match read {
                Ok(Ok(reply)) => reply,
                Ok(Err(e)) => {
                    let kind = match &e {
                        crate::http::BodyError::TooLarge { .. } => NetKind::TooLarge,
                        crate::http::BodyError::Transport(e) => classify(e),
                    };
                    let detail = crate::secrets::redact_tokens(&e.to_string());
                    if kind == NetKind::Timeout {
                        return Err(self
                            .stalled(
                                endpoint,
                                &url,
                                started,
                                body_bound,
                                Some(body_stall()),
                                detail,
                            )
                            .await);
                    }
                    let mut error = NetError::new(kind, without_query(&url), detail);
                    error.endpoint = endpoint;
                    return Err(error);
                }
                Err(_) => {
                    let detail = format!("the body stalled for {}", seconds(body_bound));
                    return Err(self
                        .stalled(
                            endpoint,
                            &url,
                            started,
                            body_bound,
                            Some(body_stall()),
                            detail,
                        )
                        .await);
                }
            };
            if !reply.throttled() {
                if attempt > 1 {
                    self.note_throttle(&url, last_retry_after, true, attempt - 1);
                }
                return Ok(reply);
            }
            last_retry_after = reply.retry_after();
            let wait = reply
                .retry_after()
                .unwrap_or(Duration::from_secs(attempt as u64))
                .min(MAX_RETRY_WAIT);
            let can_wait = self.remaining() > wait + Duration::from_millis(500);
            if !idempotent || attempt >= THROTTLE_ATTEMPTS || !can_wait {
                self.note_throttle(&url, reply.retry_after(), false, attempt);
                return Ok(reply);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// The NET_TIMEOUT error of a request that overran its phase's bound. `body` is the
    /// evidence of a body stall (the phase is then known); otherwise the request never
    /// got its headers, and a short probe ([`stall::diagnose`]) tells the phase.
    async fn stalled(
        &self,
        endpoint: Endpoint,
        url: &Url,
        started: Instant,
        bound: Duration,
        body: Option<String>,
        detail: String,
    ) -> NetError {
        let elapsed = started.elapsed();
        let host = url.host_str().unwrap_or_default().to_string();
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let resolved = self
            .resolve
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(bare))
            .map(|(_, a)| *a);
        // The port reqwest dialed: a `--resolve` port stands in for the scheme's default.
        let port = match (url.port(), resolved) {
            (None, Some(a)) if a.port() != 0 => a.port(),
            _ => url.port_or_known_default().unwrap_or(443),
        };
        let target = format!("{host}:{port}");
        let (phase, addr, evidence) = match body {
            Some(evidence) => (Phase::ResponseBody, None, evidence),
            None => {
                // The probe gets half of what is left (at most half a second), so the
                // finding is still made before the deadline.
                let budget = (self.remaining() / 2).min(Duration::from_millis(500));
                let d =
                    stall::diagnose(&host, port, url.scheme() == "https", resolved, budget).await;
                (d.phase, d.addr, d.evidence)
            }
        };
        NetError {
            kind: NetKind::Timeout,
            url: without_query(url),
            detail,
            endpoint,
            stall: Some(Box::new(Stall {
                phase,
                target,
                elapsed,
                bound,
                addr,
                evidence,
            })),
        }
    }

    fn note_throttle(
        &self,
        url: &Url,
        retry_after: Option<Duration>,
        recovered: bool,
        answers: u32,
    ) {
        if let Ok(mut t) = self.throttles.lock() {
            t.push(Throttle {
                url: without_query(url),
                retry_after,
                recovered,
                answers,
            });
        }
    }

    fn scheme_for(&self, host: &str) -> &'static str {
        self.schemes
            .lock()
            .ok()
            .and_then(|s| s.get(host).copied())
            .unwrap_or("https")
    }

    /// `scheme://api-host/` of a registry, after [`Client::ping`] chose the scheme.
    pub fn base(&self, host: &str) -> Result<Url, NetError> {
        let text = format!("{}://{}/", self.scheme_for(host), api_host(host));
        Url::parse(&text).map_err(|e| NetError::new(NetKind::Other, text, e.to_string()))
    }

    /// `GET /v2/` without credentials. Loopback registries that do not speak TLS are
    /// reached over plain HTTP, as docker does for them.
    pub async fn ping(&self, host: &str) -> Result<Reply, NetError> {
        let reply = self.ping_schemes(host).await;
        if let Ok(r) = &reply
            && (is_loopback(host) || r.peer.is_some_and(|p| p.ip().is_loopback()))
            && let Ok(mut l) = self.loopback.lock()
        {
            l.push(host.to_string());
        }
        reply
    }

    /// Whether `host`'s `/v2/` answered from this machine.
    pub fn on_loopback(&self, host: &str) -> bool {
        is_loopback(host)
            || self
                .loopback
                .lock()
                .map(|l| l.iter().any(|h| h == host))
                .unwrap_or(false)
    }

    async fn ping_schemes(&self, host: &str) -> Result<Reply, NetError> {
        if !is_loopback(host) {
            return self.ping_with(host, "https", None).await;
        }
        // A loopback server that does not speak TLS may never answer a TLS hello, so
        // the HTTPS probe gets a short bound before plain HTTP is tried.
        let https = self
            .ping_with(host, "https", Some(LOOPBACK_TLS_PROBE))
            .await;
        match &https {
            Err(e) if matches!(e.kind, NetKind::Tls | NetKind::Timeout | NetKind::Other) => {
                match self.ping_with(host, "http", None).await {
                    // A TLS server answers plain HTTP with a 400 saying so: the TLS
                    // error is the real one.
                    Ok(reply)
                        if reply.status == 400
                            && String::from_utf8_lossy(&reply.body).contains("HTTPS") =>
                    {
                        https
                    }
                    Ok(reply) => {
                        if let Ok(mut s) = self.schemes.lock() {
                            s.insert(host.to_string(), "http");
                        }
                        Ok(reply)
                    }
                    Err(_) => https,
                }
            }
            _ => https,
        }
    }

    async fn ping_with(
        &self,
        host: &str,
        scheme: &'static str,
        limit: Option<Duration>,
    ) -> Result<Reply, NetError> {
        let url = Url::parse(&format!("{scheme}://{}/v2/", api_host(host))).map_err(|e| {
            NetError::new(
                NetKind::Other,
                format!("{scheme}://{host}/v2/"),
                e.to_string(),
            )
        })?;
        self.send_within(Endpoint::Ping, || self.http.get(url.clone()), true, limit)
            .await
    }

    /// Gets a registry token for `scopes` from a Bearer challenge's realm, with the
    /// credential docker would send (none: anonymous).
    pub async fn token(
        &self,
        host: &str,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
        credential: Option<&Credential>,
    ) -> Result<Token, TokenError> {
        if let Some(c) = credential
            && c.kind() == CredentialKind::RegistryToken
        {
            return Ok(Token {
                token: c.secret().to_string(),
                requests: 0,
            });
        }
        let realm_url = Url::parse(realm)
            .map_err(|e| TokenError::BadRealm(format!("realm `{realm}` is not a URL: {e}")))?;
        match realm_url.scheme() {
            "https" => {}
            // Plain http keeps the credential on this machine only when both the realm
            // and the registry are on it.
            "http" if realm_url.host_str().is_some_and(is_loopback) && self.on_loopback(host) => {}
            "http" if realm_url.host_str().is_some_and(is_loopback) => {
                return Err(TokenError::BadRealm(format!(
                    "realm `{realm}` is plain http on this machine while the registry is not; a remote registry may not direct credentials to a local port, so they were not sent"
                )));
            }
            "http" => {
                return Err(TokenError::BadRealm(format!(
                    "realm `{realm}` is plain http on a remote host; credentials would cross the network unencrypted, so they were not sent"
                )));
            }
            other => {
                return Err(TokenError::BadRealm(format!(
                    "realm `{realm}` has scheme `{other}`; a token realm must be https"
                )));
            }
        }
        let before = self.request_count();
        let reply = match credential {
            Some(c) if c.kind() == CredentialKind::IdentityToken => {
                // OAuth2 refresh-token grant (distribution oauth.md, ACR /oauth2/token).
                let mut form: Vec<(&str, String)> = vec![
                    ("grant_type", "refresh_token".into()),
                    ("refresh_token", c.secret().to_string()),
                    ("client_id", "acr-preflight".into()),
                ];
                if let Some(s) = service {
                    form.push(("service", s.to_string()));
                }
                // Repeated `scope` fields: ACR documents them, distribution reads
                // the form the same way.
                for s in scopes {
                    form.push(("scope", s.clone()));
                }
                self.post_form(Endpoint::Token, &realm_url, form_encode(&form), true)
                    .await
            }
            _ => {
                let mut url = realm_url.clone();
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(s) = service {
                        q.append_pair("service", s);
                    }
                    for s in scopes {
                        q.append_pair("scope", s);
                    }
                    if let Some(c) = credential {
                        q.append_pair("account", c.username());
                    }
                }
                self.send(
                    Endpoint::Token,
                    || {
                        let r = self.http.get(url.clone());
                        match credential {
                            Some(c) => self.basic(r, c.username(), c.secret()),
                            None => r,
                        }
                    },
                    true,
                )
                .await
            }
        }
        .map_err(TokenError::Net)?;
        let requests = self.request_count() - before;
        match reply.status {
            200..=299 => match wire::parse_token_response(&reply.body) {
                Some(t) => {
                    self.secrets.register(&t.token);
                    Ok(Token {
                        token: t.token,
                        requests,
                    })
                }
                None => Err(TokenError::Unexpected(reply)),
            },
            400..=499 => Err(TokenError::Refused(reply)),
            _ => Err(TokenError::Unexpected(reply)),
        }
    }

    /// `POST` of an `application/x-www-form-urlencoded` body.
    async fn post_form(
        &self,
        endpoint: Endpoint,
        url: &Url,
        body: String,
        idempotent: bool,
    ) -> Result<Reply, NetError> {
        self.send(
            endpoint,
            || {
                self.http
                    .post(url.clone())
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.clone())
            },
            idempotent,
        )
        .await
    }

    /// A Basic `Authorization`, its header value registered first: a server that echoes
    /// the header back must not get the base64 of the password printed.
    fn basic(
        &self,
        r: reqwest::RequestBuilder,
        user: &str,
        password: &str,
    ) -> reqwest::RequestBuilder {
        self.secrets.register_basic(user, password);
        r.basic_auth(user, Some(password))
    }

    fn authorised(&self, r: reqwest::RequestBuilder, auth: &Auth) -> reqwest::RequestBuilder {
        match auth {
            Auth::None => r,
            Auth::Basic { user, password } => self.basic(r, user, password),
            Auth::Bearer(t) => r.header(AUTHORIZATION, format!("Bearer {t}")),
        }
    }

    /// `HEAD` (or `GET`, when the body is needed) of a manifest, with the four
    /// manifest types accepted.
    pub async fn manifest(
        &self,
        host: &str,
        repository: &str,
        reference: &str,
        auth: &Auth,
        with_body: bool,
    ) -> Result<Reply, NetError> {
        let url = self.api_url(host, &format!("v2/{repository}/manifests/{reference}"))?;
        let method = if with_body { Method::GET } else { Method::HEAD };
        self.send(
            Endpoint::Manifest,
            || {
                self.authorised(
                    self.http
                        .request(method.clone(), url.clone())
                        .header(ACCEPT, wire::MANIFEST_ACCEPT),
                    auth,
                )
            },
            true,
        )
        .await
    }

    /// Every tag of a repository, following `Link` pagination (up to a bound, and only
    /// on the registry's own origin: the request carries its credential).
    /// Returns the last reply when it was not a success.
    pub async fn tags(
        &self,
        host: &str,
        repository: &str,
        auth: &Auth,
    ) -> Result<Result<TagList, Reply>, NetError> {
        let mut url = self.api_url(host, &format!("v2/{repository}/tags/list"))?;
        let mut tags = Vec::new();
        let mut partial = None;
        for round in 0..TAG_PAGES {
            let reply = self
                .send(
                    Endpoint::Tags,
                    || self.authorised(self.http.get(url.clone()), auth),
                    true,
                )
                .await?;
            if reply.status != 200 {
                return Ok(Err(reply));
            }
            let page: serde_json::Value =
                serde_json::from_slice(&reply.body).unwrap_or(serde_json::Value::Null);
            tags.extend(
                page.get("tags")
                    .and_then(|t| t.as_array())
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_string)),
            );
            match wire::next_link(reply.header("link"), &url) {
                Some(next) if !same_origin(&next, &url) => {
                    let mut shown = next.clone();
                    shown.set_query(None);
                    partial = Some(format!(
                        "its next page is on another origin ({}), which was not asked: a tag list is only read from the registry itself, as the request carries its credential",
                        wire::shorten(shown.origin().ascii_serialization().as_str(), 200)
                    ));
                    break;
                }
                Some(_) if round + 1 == TAG_PAGES => {
                    partial = Some(format!("it has more than {TAG_PAGES} pages"));
                    break;
                }
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(Ok(TagList { tags, partial }))
    }

    /// The registry's repositories (`/v2/_catalog`, often restricted), one page.
    pub async fn catalog(
        &self,
        host: &str,
        auth: &Auth,
    ) -> Result<Result<Vec<String>, Reply>, NetError> {
        let url = self.api_url(host, "v2/_catalog?n=1000")?;
        let reply = self
            .send(
                Endpoint::Catalog,
                || self.authorised(self.http.get(url.clone()), auth),
                true,
            )
            .await?;
        if reply.status != 200 {
            return Ok(Err(reply));
        }
        let page: serde_json::Value =
            serde_json::from_slice(&reply.body).unwrap_or(serde_json::Value::Null);
        Ok(Ok(page
            .get("repositories")
            .and_then(|t| t.as_array())
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect()))
    }

    fn api_url(&self, host: &str, path: &str) -> Result<Url, NetError> {
        let base = self.base(host)?;
        base.join(path)
            .map_err(|e| NetError::new(NetKind::Other, format!("{base}{path}"), e.to_string()))
    }
}

async fn read_reply(
    response: reqwest::Response,
    url: Url,
) -> Result<Reply, crate::http::BodyError> {
    let peer = response.remote_addr();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = crate::http::read_capped(response, BODY_LIMIT).await?;
    Ok(Reply {
        status,
        headers,
        body,
        url,
        peer,
    })
}

fn form_encode(pairs: &[(&str, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
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
