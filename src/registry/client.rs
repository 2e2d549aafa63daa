//! The registry client: one per run, on the shared HTTP client, under the run's
//! deadline. Every request goes through [`Client::send_within`]: phase-bounded, never
//! following redirects (the one exception, a blob GET's storage redirect, is followed
//! by [`Client::blob`] itself, without credentials), throttles retried within the
//! deadline, bodies read up to a cap, each attempt counted.

use super::*;

/// Bodies (manifests, tags pages, tokens, errors) larger than this are not read and
/// end in REGISTRY_UNEXPECTED (the OCI spec suggests 4 MiB as a manifest limit).
pub(super) const BODY_LIMIT: usize = crate::http::MAX_BODY;

/// Attempts for an idempotent request the registry throttles.
pub(super) const THROTTLE_ATTEMPTS: u32 = 3;

/// Never wait longer than this for one `Retry-After`.
pub(super) const MAX_RETRY_WAIT: Duration = Duration::from_secs(10);

/// How long a loopback registry may take to start a TLS handshake before plain HTTP
/// is tried instead.
pub(super) const LOOPBACK_TLS_PROBE: Duration = Duration::from_secs(2);

/// How many `tags/list` pages to follow before giving up on a complete list.
pub(super) const TAG_PAGES: usize = 10;

/// What became of an upload session opened to prove a push right.
#[derive(Debug)]
pub enum UploadCancel {
    /// `DELETE` on the session's `Location` answered: 204 cancelled, 404 already gone,
    /// 401/403 the credential may not cancel, 405 the registry does not cancel sessions.
    Answered(Reply),
    /// The `DELETE` got no answer.
    Failed(NetError),
    /// The `202` carried no `Location`.
    NoLocation,
    /// The `Location` is not an http(s) URL (shown shortened).
    Unusable(String),
    /// The `Location` is on another origin (shown): no credential was sent there.
    OtherOrigin(String),
}

/// A blob GET: the registry's answer and, when it redirected, the followed hop.
#[derive(Debug)]
pub struct BlobFetch {
    pub reply: Reply,
    pub storage: Option<StorageHop>,
}

/// The one redirect of a blob GET. `shown` is the target as it may be printed: scheme,
/// host and path, never the query (a pre-signed URL's query is its credential).
#[derive(Debug)]
pub enum StorageHop {
    /// Followed without credentials; the storage host answered.
    Answered {
        shown: String,
        host: String,
        reply: Reply,
    },
    /// Followed; the storage host could not be reached (DNS, connect, TLS, timeout).
    Failed {
        shown: String,
        host: String,
        error: NetError,
    },
    /// Not followed, and why.
    Refused { shown: String, why: String },
}

impl StorageHop {
    fn refused(shown: String, why: &str) -> StorageHop {
        StorageHop::Refused {
            shown,
            why: why.to_string(),
        }
    }
}

/// The registry client of one run. Cheap to share behind an `Arc`.
///
/// Credentials only go where docker sends them: registry requests to the registry's
/// own origin (redirects are not followed with them: a blob GET's one storage redirect
/// gets no credential, `Link` pagination never leaves the origin), and the credential to the token realm the registry names, never over plain
/// http unless registry and realm are both on this machine.
pub struct Client {
    http: reqwest::Client,
    deadline: Instant,
    pub(super) secrets: Secrets,
    requests: AtomicU32,
    throttles: Mutex<Vec<Throttle>>,
    schemes: Mutex<HashMap<String, &'static str>>,
    /// Registries whose `/v2/` answered from a loopback address (by name or `--resolve`).
    loopback: Mutex<Vec<String>>,
    /// `--resolve` overrides (host, address), which the stall probe dials as reqwest does.
    resolve: Vec<(String, SocketAddr)>,
}

pub(super) fn classify(e: &reqwest::Error) -> NetKind {
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

pub(super) fn without_query(url: &Url) -> String {
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
            let reply = self.attempt(endpoint, &build, limit).await?;
            if !reply.throttled() {
                if attempt > 1 {
                    self.note_throttle(&reply.url, last_retry_after, true, attempt - 1);
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
                self.note_throttle(&reply.url, reply.retry_after(), false, attempt);
                return Ok(reply);
            }
            tokio::time::sleep(wait).await;
        }
    }

    /// One request: its response headers within the headers' bound, then its body.
    async fn attempt(
        &self,
        endpoint: Endpoint,
        build: &impl Fn() -> reqwest::RequestBuilder,
        limit: Option<Duration>,
    ) -> Result<Reply, NetError> {
        let left = self.remaining();
        let bound = match limit {
            Some(l) => l.min(Self::headers_bound(left)),
            None => Self::headers_bound(left),
        }
        .max(Duration::from_millis(1));
        // reqwest's own timer is only a backstop at the deadline: the phases' own
        // bounds end the request first.
        let request = build()
            .timeout(left.max(Duration::from_millis(1)))
            .build()
            .map_err(|e| NetError::new(NetKind::Other, "", crate::http::error_chain(&e)))?;
        let url = request.url().clone();
        self.requests.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let failure = match tokio::time::timeout(bound, self.http.execute(request)).await {
            Ok(Ok(response)) => return self.read_body(endpoint, url, started, response).await,
            Ok(Err(e)) => (
                classify(&e),
                crate::secrets::redact_tokens(&crate::http::error_chain(&e)),
            ),
            Err(_) => (
                NetKind::Timeout,
                format!("no response headers within {}", seconds(bound)),
            ),
        };
        Err(self
            .failed(endpoint, &url, started, bound, None, failure)
            .await)
    }

    /// The body of a response whose headers came, within the body's bound.
    async fn read_body(
        &self,
        endpoint: Endpoint,
        url: Url,
        started: Instant,
        response: reqwest::Response,
    ) -> Result<Reply, NetError> {
        let status = response.status().as_u16();
        let announced = response.content_length();
        let body_bound = Self::body_bound(self.remaining()).max(Duration::from_millis(1));
        let body_started = Instant::now();
        let failure =
            match tokio::time::timeout(body_bound, read_reply(response, url.clone())).await {
                Ok(Ok(reply)) => return Ok(reply),
                Ok(Err(e)) => {
                    let kind = match &e {
                        crate::http::BodyError::TooLarge { .. } => NetKind::TooLarge,
                        crate::http::BodyError::Transport(e) => classify(e),
                    };
                    (kind, crate::secrets::redact_tokens(&e.to_string()))
                }
                Err(_) => (
                    NetKind::Timeout,
                    format!("the body stalled for {}", seconds(body_bound)),
                ),
            };
        let length = match announced {
            Some(n) => format!("Content-Length {n}"),
            None => "no Content-Length".to_string(),
        };
        let evidence = format!(
            "The response headers came after {} (HTTP {status}, {length}); the body then stopped before its end and was given up after {} more.",
            seconds(body_started.duration_since(started)),
            seconds(body_started.elapsed()),
        );
        Err(self
            .failed(endpoint, &url, started, body_bound, Some(evidence), failure)
            .await)
    }

    /// The error of a request that failed: a timeout is NET_TIMEOUT naming where it
    /// stalled ([`Client::stall`]); any other failure names its kind.
    async fn failed(
        &self,
        endpoint: Endpoint,
        url: &Url,
        started: Instant,
        bound: Duration,
        body: Option<String>,
        (kind, detail): (NetKind, String),
    ) -> NetError {
        let mut error = NetError::new(kind, without_query(url), detail);
        error.endpoint = endpoint;
        if kind == NetKind::Timeout {
            error.stall = Some(Box::new(self.stall(url, started, bound, body).await));
        }
        error
    }

    /// Where a request that overran its phase's bound was stuck. `body` is the evidence
    /// of a body stall (the phase is then known); otherwise the request never got its
    /// headers, and a short probe ([`stall::diagnose`]) tells the phase.
    async fn stall(
        &self,
        url: &Url,
        started: Instant,
        bound: Duration,
        body: Option<String>,
    ) -> Stall {
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
        Stall {
            phase,
            target,
            elapsed,
            bound,
            addr,
            evidence,
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
        let realm_url = self
            .usable_realm(host, realm)
            .map_err(TokenError::BadRealm)?;
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

    /// The challenge's realm, when credentials may be sent there: https, or plain http
    /// only when both the realm and the registry are on this machine.
    fn usable_realm(&self, host: &str, realm: &str) -> Result<Url, String> {
        let realm_url =
            Url::parse(realm).map_err(|e| format!("realm `{realm}` is not a URL: {e}"))?;
        match realm_url.scheme() {
            "https" => {}
            // Plain http keeps the credential on this machine only when both the realm
            // and the registry are on it.
            "http" if realm_url.host_str().is_some_and(is_loopback) && self.on_loopback(host) => {}
            "http" if realm_url.host_str().is_some_and(is_loopback) => {
                return Err(format!(
                    "realm `{realm}` is plain http on this machine while the registry is not; a remote registry may not direct credentials to a local port, so they were not sent"
                ));
            }
            "http" => {
                return Err(format!(
                    "realm `{realm}` is plain http on a remote host; credentials would cross the network unencrypted, so they were not sent"
                ));
            }
            other => {
                return Err(format!(
                    "realm `{realm}` has scheme `{other}`; a token realm must be https"
                ));
            }
        }
        Ok(realm_url)
    }

    /// `POST` of an `application/x-www-form-urlencoded` body.
    pub(super) async fn post_form(
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

    /// `POST /v2/<repository>/blobs/uploads/` with an empty body: opens a blob upload
    /// session, the first request of every push (distribution spec, "Pushing blobs").
    /// A registry answers `202 Accepted` with a `Location` only to a credential that may
    /// push; the session holds no data until a blob is sent to that `Location`. Not
    /// retried when throttled: a POST is not idempotent.
    pub async fn start_upload(
        &self,
        host: &str,
        repository: &str,
        auth: &Auth,
    ) -> Result<Reply, NetError> {
        let url = self.api_url(host, &format!("v2/{repository}/blobs/uploads/"))?;
        self.send(
            Endpoint::Upload,
            || {
                self.authorised(
                    self.http
                        .post(url.clone())
                        .header(reqwest::header::CONTENT_LENGTH, "0"),
                    auth,
                )
            },
            false,
        )
        .await
    }

    /// `GET` of a blob (an image config) from the registry's own origin, with the
    /// request's credential. A redirect is followed once ([`Client::storage_hop`]): ACR
    /// and registries on object storage answer a blob GET with a `307` to a pre-signed
    /// storage URL (Docker's registry API, "Retrieve blob":
    /// https://docs.docker.com/reference/api/registry/latest/operations/GetBlob/; ACR:
    /// https://learn.microsoft.com/azure/container-registry/container-registry-endpoint-reference).
    /// `first_byte` asks for `Range: bytes=0-0` on both requests (a probe of the download
    /// path, not a read): a registry or storage host that honours it answers `206` with
    /// one byte, one that does not answers `200` with the blob.
    pub async fn blob(
        &self,
        host: &str,
        repository: &str,
        digest: &str,
        auth: &Auth,
        first_byte: bool,
    ) -> Result<BlobFetch, NetError> {
        let url = self.api_url(host, &format!("v2/{repository}/blobs/{digest}"))?;
        let reply = self
            .send(
                Endpoint::Blob,
                || {
                    ranged(
                        self.authorised(self.http.get(url.clone()), auth),
                        first_byte,
                    )
                },
                true,
            )
            .await?;
        let storage = if matches!(reply.status, 301 | 302 | 303 | 307 | 308) {
            Some(self.storage_hop(&reply, first_byte).await)
        } else {
            None
        };
        Ok(BlobFetch { reply, storage })
    }

    /// The one redirect of a blob GET, followed without any credential: the storage
    /// URL is pre-signed, its query is the credential (an Azure SAS `sig`, an S3
    /// `X-Amz-Signature`), so the query is registered as a secret before anything could
    /// print it, and only scheme, host and path are ever shown. https is never
    /// downgraded to plain http; plain http is taken only from a plain-http registry on
    /// this machine to this machine. The body is capped and the request bounded by the
    /// run's deadline, as every request.
    async fn storage_hop(&self, redirect: &Reply, first_byte: bool) -> StorageHop {
        let Some(raw) = redirect.header("location").map(str::trim) else {
            return StorageHop::refused(String::new(), "the redirect has no Location header");
        };
        let location = match redirect.url.join(raw) {
            Ok(u) => u,
            Err(_) => {
                let shown = raw.split(['?', '#']).next().unwrap_or_default();
                return StorageHop::refused(
                    wire::shorten(&clean_line(shown), 200),
                    "its Location is not a URL",
                );
            }
        };
        if let Some(query) = location.query() {
            self.secrets.register(query);
            for (_, value) in location.query_pairs() {
                // Signatures and tokens; short values (`sr=b`, `sp=r`) are plain words.
                if value.len() >= 16 {
                    self.secrets.register(&value);
                }
            }
        }
        let mut bare = location.clone();
        bare.set_fragment(None);
        let shown = wire::shorten(&without_query(&bare), 200);
        let plain_local = redirect.url.scheme() == "http"
            && location.host_str().is_some_and(is_loopback)
            && redirect.url.host_str().is_some_and(is_loopback);
        match location.scheme() {
            "https" => {}
            "http" if plain_local => {}
            "http" => {
                return StorageHop::refused(
                    shown,
                    "it is plain http: the download would leave https, so it was not followed",
                );
            }
            other => {
                return StorageHop::refused(
                    shown,
                    &format!("its scheme is `{}`, not https", wire::shorten(other, 20)),
                );
            }
        }
        let storage_host = location
            .host_str()
            .map(|h| match location.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
            .unwrap_or_default();
        match self
            .send(
                Endpoint::Storage,
                || ranged(self.http.get(bare.clone()), first_byte),
                true,
            )
            .await
        {
            Ok(reply) => StorageHop::Answered {
                shown,
                host: storage_host,
                reply,
            },
            Err(mut error) => {
                // The client's error text quotes the URL it asked, query included.
                error.detail = error.detail.replace(bare.as_str(), &shown);
                StorageHop::Failed {
                    shown,
                    host: storage_host,
                    error,
                }
            }
        }
    }

    /// Cancels the session [`Client::start_upload`] opened: `DELETE` on its `Location`
    /// (resolved against the request URL; the query, which carries the session state,
    /// is kept). The credential goes only to the registry's own origin: a `Location`
    /// elsewhere is not asked.
    pub async fn cancel_upload(&self, started: &Reply, auth: &Auth) -> UploadCancel {
        let Some(raw) = started.header("location").map(str::trim) else {
            return UploadCancel::NoLocation;
        };
        let location = match started.url.join(raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => return UploadCancel::Unusable(wire::shorten(&clean_line(raw), 120)),
        };
        if !same_origin(&location, &started.url) {
            return UploadCancel::OtherOrigin(location.origin().ascii_serialization());
        }
        match self
            .send(
                Endpoint::Upload,
                || self.authorised(self.http.delete(location.clone()), auth),
                true,
            )
            .await
        {
            Ok(reply) => UploadCancel::Answered(reply),
            Err(e) => UploadCancel::Failed(e),
        }
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
            let reply = self.get_authorised(Endpoint::Tags, &url, auth).await?;
            if reply.status != 200 {
                return Ok(Err(reply));
            }
            tags.extend(wire::string_list(&reply.body, "tags"));
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
        let reply = self.get_authorised(Endpoint::Catalog, &url, auth).await?;
        if reply.status != 200 {
            return Ok(Err(reply));
        }
        Ok(Ok(wire::string_list(&reply.body, "repositories")))
    }

    /// An idempotent `GET` with the request's credential.
    pub(super) async fn get_authorised(
        &self,
        endpoint: Endpoint,
        url: &Url,
        auth: &Auth,
    ) -> Result<Reply, NetError> {
        self.send(
            endpoint,
            || self.authorised(self.http.get(url.clone()), auth),
            true,
        )
        .await
    }

    pub(super) fn api_url(&self, host: &str, path: &str) -> Result<Url, NetError> {
        let base = self.base(host)?;
        base.join(path)
            .map_err(|e| NetError::new(NetKind::Other, format!("{base}{path}"), e.to_string()))
    }
}

pub(super) async fn read_reply(
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

pub(super) fn form_encode(pairs: &[(&str, String)]) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// `Range: bytes=0-0` on a blob request when only the download path is probed
/// (RFC 9110, section 14.1.2).
fn ranged(r: reqwest::RequestBuilder, first_byte: bool) -> reqwest::RequestBuilder {
    if first_byte {
        r.header(reqwest::header::RANGE, "bytes=0-0")
    } else {
        r
    }
}
