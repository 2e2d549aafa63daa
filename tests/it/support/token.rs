//! An in-process token server: the distribution token spec (`GET /token`, OAuth2
//! `POST /token`) and ACR's endpoints (`GET|POST /oauth2/token`, `POST /oauth2/exchange`),
//! issuing ES256 JWTs the real registry accepts.
//!
//! Signing: an EC P-256 key and a self-signed certificate made by `openssl` in a temp dir;
//! the JWT header carries `x5c` = [base64 DER of that certificate] (distribution 2.8 finds
//! the key through it; `alg` alone is not enough), and the registry's `rootcertbundle` is
//! the same certificate. `openssl dgst -sha256 -sign` returns a DER `ECDSA-Sig-Value`,
//! converted here to the raw 64-byte `r || s` JWS wants.
//!
//! Endpoints and the shapes they answer (chosen to match the spec and ACR where known):
//!
//! | request | success | failure |
//! |---|---|---|
//! | `GET /token` or `/oauth2/token` `?service=&scope=&scope=&account=[&offline_token=true]`, optional `Authorization: Basic` (a user, or the null GUID with a refresh token as password) | 200 `{"token","access_token","expires_in":300,"issued_at"[,"refresh_token"]}` | 401 + `WWW-Authenticate: Basic realm=…` + `{"errors":[{"code":"UNAUTHORIZED","message":…}]}`; 400 `{"errors":[{"code":"UNSUPPORTED",…}]}` for another `service` |
//! | `POST /token` or `/oauth2/token`, form `grant_type=refresh_token&refresh_token=&service=&scope=` or `grant_type=password&username=&password=&service=&scope=[&access_type=offline]` | 200 `{"access_token","token","expires_in":300,"issued_at","scope"[,"refresh_token"]}` | 401 `{"error":"invalid_grant","error_description":…}` (bad password, unknown or expired refresh token); 400 `invalid_request` / `unsupported_grant_type` (RFC 6749 §5.2 names). [`PostErrorStyle::Distribution`] switches the 401s to `{"errors":[{"code":"UNAUTHORIZED",…}]}` |
//! | `POST /oauth2/exchange`, form `grant_type=access_token&service=&tenant=&access_token=` (an "Entra" token registered with [`TokenServer::accept_entra_token`]) | 200 `{"refresh_token"}` | 401 as above; `GET` → 404 (as ACR) |
//!
//! `scope` may be repeated or space-separated, in both query and form. The `access`
//! claim is the intersection of requested and granted actions per resource; a resource
//! with nothing granted stays as `{"actions":[]}` ([`EmptyAccess::KeepEmptyEntries`], the
//! default) or is left out so `access` may be `[]` ([`EmptyAccess::Omit`]). Both are
//! spec-conformant "partial access is not an error" answers.

use super::http::{MockServer, Reply, Request, Response, bind_loopback};
use super::registry::Kind;
use super::{now_unix, openssl, rfc3339};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tempfile::TempDir;

/// The principal of requests without credentials; grant to it for anonymous pull.
pub const ANONYMOUS: &str = "";
/// ACR's username meaning "the password is an ACR refresh token".
pub const NULL_GUID: &str = "00000000-0000-0000-0000-000000000000";
/// Default `service` (the token audience; ACR uses the login server host).
pub const DEFAULT_SERVICE: &str = "registry.test";
/// Default `iss`.
pub const DEFAULT_ISSUER: &str = "acr-preflight-test-issuer";

static JTI: AtomicU64 = AtomicU64::new(1);

fn jti() -> String {
    format!(
        "harness-{}-{}",
        now_unix(),
        JTI.fetch_add(1, Ordering::SeqCst)
    )
}

// ---------------------------------------------------------------------------------------
// ES256 signing
// ---------------------------------------------------------------------------------------

struct SignerFiles {
    _dir: TempDir,
    key: PathBuf,
    cert: PathBuf,
}

/// An ES256 JWT signer: P-256 key plus self-signed certificate, both made by openssl.
/// Clones share the files, which are removed when the last clone goes.
#[derive(Clone)]
pub struct Signer {
    files: Arc<SignerFiles>,
    x5c: String,
}

impl Signer {
    pub fn generate(common_name: &str) -> Signer {
        let dir = tempfile::tempdir().expect("signer temp dir");
        let key = dir.path().join("signer.key");
        let cert = dir.path().join("signer.crt");
        openssl(
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                key.to_str().unwrap(),
                "-out",
                cert.to_str().unwrap(),
                "-days",
                "3650",
                "-subj",
                &format!("/CN={common_name}"),
            ],
            Some(dir.path()),
            b"",
        );
        let pem = std::fs::read_to_string(&cert).expect("read signer cert");
        // x5c is standard base64 of the DER: exactly the PEM body without its line breaks.
        let x5c: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<Vec<_>>()
            .concat();
        Signer {
            files: Arc::new(SignerFiles {
                _dir: dir,
                key,
                cert,
            }),
            x5c,
        }
    }

    /// The signer certificate (PEM): the registry's `auth.token.rootcertbundle`.
    pub fn cert_path(&self) -> &Path {
        &self.files.cert
    }

    /// `base64(DER)` of the certificate, as put in the `x5c` header.
    pub fn x5c(&self) -> &str {
        &self.x5c
    }

    /// Signs `claims` with the default header `{"typ":"JWT","alg":"ES256","x5c":[cert]}`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with_header(
            &json!({"typ": "JWT", "alg": "ES256", "x5c": [self.x5c]}),
            claims,
        )
    }

    /// Signs `claims` under an arbitrary header (to test kid/x5c/alg handling).
    pub fn sign_with_header(&self, header: &Value, claims: &Value) -> String {
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap()),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
        );
        let der = openssl(
            &["dgst", "-sha256", "-sign", self.files.key.to_str().unwrap()],
            None,
            signing_input.as_bytes(),
        );
        let raw = ecdsa_der_to_raw(&der).unwrap_or_else(|e| panic!("openssl signature: {e}"));
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(raw))
    }
}

/// Converts a DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` (what openssl
/// writes) into the fixed-width `r || s` (32 + 32 bytes) of JWS ES256. DER INTEGERs are
/// minimal two's complement: a leading 0x00 appears when the top bit is set, and short
/// values have fewer than 32 bytes; both are normalized here.
pub fn ecdsa_der_to_raw(der: &[u8]) -> Result<[u8; 64], String> {
    fn read_len(der: &[u8], pos: &mut usize) -> Result<usize, String> {
        let first = *der.get(*pos).ok_or("truncated length")?;
        *pos += 1;
        if first < 0x80 {
            return Ok(first as usize);
        }
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 2 {
            return Err(format!("unsupported length form 0x{first:02x}"));
        }
        let mut len = 0usize;
        for _ in 0..n {
            len = len << 8 | *der.get(*pos).ok_or("truncated long length")? as usize;
            *pos += 1;
        }
        Ok(len)
    }
    fn read_integer<'a>(der: &'a [u8], pos: &mut usize) -> Result<&'a [u8], String> {
        if der.get(*pos) != Some(&0x02) {
            return Err(format!("expected INTEGER at offset {pos}"));
        }
        *pos += 1;
        let len = read_len(der, pos)?;
        let value = der.get(*pos..*pos + len).ok_or("truncated INTEGER")?;
        *pos += len;
        let mut value = value;
        while value.len() > 1 && value[0] == 0 {
            value = &value[1..];
        }
        if value.len() > 32 {
            return Err(format!(
                "INTEGER of {} bytes is not a P-256 scalar",
                value.len()
            ));
        }
        Ok(value)
    }
    let mut pos = 0;
    if der.first() != Some(&0x30) {
        return Err("expected SEQUENCE".into());
    }
    pos += 1;
    let seq_len = read_len(der, &mut pos)?;
    if pos + seq_len != der.len() {
        return Err("SEQUENCE length does not match the input".into());
    }
    let r = read_integer(der, &mut pos)?;
    let s = read_integer(der, &mut pos)?;
    if pos != der.len() {
        return Err("trailing bytes after s".into());
    }
    let mut raw = [0u8; 64];
    raw[32 - r.len()..32].copy_from_slice(r);
    raw[64 - s.len()..].copy_from_slice(s);
    Ok(raw)
}

/// Decodes a JWT's claims (no verification): for assertions.
pub fn decode_claims(jwt: &str) -> Value {
    decode_part(jwt, 1)
}

/// Decodes a JWT's header (no verification).
pub fn decode_header(jwt: &str) -> Value {
    decode_part(jwt, 0)
}

fn decode_part(jwt: &str, index: usize) -> Value {
    let part = jwt.split('.').nth(index).expect("JWT part");
    let bytes = URL_SAFE_NO_PAD.decode(part).expect("JWT base64url");
    serde_json::from_slice(&bytes).expect("JWT JSON")
}

// ---------------------------------------------------------------------------------------
// Scopes and grants
// ---------------------------------------------------------------------------------------

/// One entry of the `access` claim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Access {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl Access {
    pub fn repository(name: &str, actions: &[&str]) -> Access {
        Access {
            kind: "repository".into(),
            name: name.into(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        }
    }
}

/// Parses `type[(class)]:name:action[,action]`. The name may itself contain `:` (a
/// `host:port/` prefix), so the type ends at the first colon and the actions start after
/// the last one.
pub fn parse_scope(scope: &str) -> Option<Access> {
    let (kind, rest) = scope.split_once(':')?;
    let (name, actions) = rest.rsplit_once(':')?;
    let kind = kind.split('(').next().unwrap_or(kind);
    if kind.is_empty() || name.is_empty() {
        return None;
    }
    Some(Access {
        kind: kind.to_string(),
        name: name.to_string(),
        actions: actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

/// What the `access` claim holds for a requested resource with no granted action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmptyAccess {
    /// `{"type":"repository","name":"x","actions":[]}` (default).
    KeepEmptyEntries,
    /// Left out, so a token with nothing granted has `"access":[]`.
    Omit,
}

/// Body shape of `POST` token-endpoint errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PostErrorStyle {
    /// RFC 6749 §5.2: `{"error":"invalid_grant","error_description":"…"}` (default).
    OAuth,
    /// `{"errors":[{"code":"UNAUTHORIZED","message":"…"}]}` for the 401s.
    Distribution,
}

#[derive(Clone, Debug)]
struct Grant {
    user: String,
    kind: String,
    name: String,
    actions: Vec<String>,
}

/// One recorded token-server request. Secret form/query fields (`password`,
/// `refresh_token`, `access_token`, `client_secret`) keep their key with the value
/// `<redacted>`, so tests can assert a field was sent without the log holding it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRequest {
    pub method: String,
    pub path: String,
    /// Decoded query pairs, secrets redacted.
    pub query: Vec<(String, String)>,
    /// Decoded form pairs (POST), secrets redacted.
    pub form: Vec<(String, String)>,
    /// Username from `Authorization: Basic`, if sent.
    pub basic_user: Option<String>,
    /// Every requested scope (repeated params and space-separated lists, split).
    pub scopes: Vec<String>,
    pub service: Option<String>,
    pub grant_type: Option<String>,
    pub account: Option<String>,
    /// Who the request was authenticated as (`Some("")` = anonymous); `None` if rejected.
    pub principal: Option<String>,
    pub status: u16,
}

const SECRET_FIELDS: [&str; 5] = [
    "password",
    "refresh_token",
    "access_token",
    "client_secret",
    "assertion",
];

fn redact(pairs: &[(String, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| {
            if SECRET_FIELDS.contains(&k.as_str()) {
                (k.clone(), "<redacted>".to_string())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

struct RefreshToken {
    user: String,
    exp: i64,
}

struct State {
    users: HashMap<String, String>,
    grants: Vec<Grant>,
    refresh_tokens: HashMap<String, RefreshToken>,
    entra_tokens: HashMap<String, String>,
    log: Vec<TokenRequest>,
    failure: Option<Response>,
    empty_access: EmptyAccess,
    post_errors: PostErrorStyle,
    expires_in: i64,
}

struct Shared {
    signer: Signer,
    service: String,
    issuer: String,
    addr: SocketAddr,
    state: Mutex<State>,
}

// ---------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------

/// The running token server. Dropping it stops it and removes its key files.
pub struct TokenServer {
    shared: Arc<Shared>,
    server: MockServer,
}

impl TokenServer {
    /// Starts with `service` [`DEFAULT_SERVICE`] and `issuer` [`DEFAULT_ISSUER`].
    pub fn start() -> TokenServer {
        TokenServer::start_with(DEFAULT_SERVICE, DEFAULT_ISSUER)
    }

    pub fn start_with(service: &str, issuer: &str) -> TokenServer {
        let signer = Signer::generate("acr-preflight test token signer");
        let listener = bind_loopback();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            signer,
            service: service.to_string(),
            issuer: issuer.to_string(),
            addr,
            state: Mutex::new(State {
                users: HashMap::new(),
                grants: Vec::new(),
                refresh_tokens: HashMap::new(),
                entra_tokens: HashMap::new(),
                log: Vec::new(),
                failure: None,
                empty_access: EmptyAccess::KeepEmptyEntries,
                post_errors: PostErrorStyle::OAuth,
                expires_in: 300,
            }),
        });
        let for_handler = shared.clone();
        let server = MockServer::from_listener(listener, move |req, _| {
            Reply::Respond(for_handler.handle(req))
        });
        TokenServer { shared, server }
    }

    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.shared.addr)
    }

    /// Distribution-style realm: `http://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> String {
        format!("{}/token", self.url())
    }

    /// ACR-style realm: `http://127.0.0.1:PORT/oauth2/token`.
    pub fn oauth2_realm(&self) -> String {
        format!("{}/oauth2/token", self.url())
    }

    pub fn service(&self) -> &str {
        &self.shared.service
    }

    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The signer certificate: the registry's `rootcertbundle`.
    pub fn bundle_path(&self) -> &Path {
        self.shared.signer.cert_path()
    }

    pub fn signer(&self) -> &Signer {
        &self.shared.signer
    }

    /// A plain-HTTP registry that trusts this server, realm [`TokenServer::realm`].
    pub fn registry_kind(&self) -> Kind {
        self.kind_with_realm(self.realm())
    }

    /// The same with the ACR-style realm `/oauth2/token`.
    pub fn registry_kind_oauth2(&self) -> Kind {
        self.kind_with_realm(self.oauth2_realm())
    }

    fn kind_with_realm(&self, realm: String) -> Kind {
        Kind::Token {
            realm,
            service: self.service().to_string(),
            issuer: self.issuer().to_string(),
            bundle: self.bundle_path().to_path_buf(),
        }
    }

    /// A TLS registry (cert/key from [`super::tls::TestCa::issue_server_cert`]) that
    /// trusts this server, ACR-style realm.
    pub fn registry_kind_tls(&self, cert: &Path, key: &Path) -> Kind {
        Kind::TokenTls {
            realm: self.oauth2_realm(),
            service: self.service().to_string(),
            issuer: self.issuer().to_string(),
            bundle: self.bundle_path().to_path_buf(),
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared.state.lock().unwrap()
    }

    /// Adds (or replaces) a Basic/password-grant user.
    pub fn add_user(&self, user: &str, password: &str) {
        self.state()
            .users
            .insert(user.to_string(), password.to_string());
    }

    /// Grants `actions` on repository `repo` (`*` = every repository) to `user`
    /// ([`ANONYMOUS`] for requests without credentials). Grants add up.
    pub fn grant(&self, user: &str, repo: &str, actions: &[&str]) {
        self.grant_resource(user, "repository", repo, actions);
    }

    /// Grants on any resource type, e.g. `("registry", "catalog", &["*"])`. A granted `*`
    /// action grants every requested action on that resource.
    pub fn grant_resource(&self, user: &str, kind: &str, name: &str, actions: &[&str]) {
        self.state().grants.push(Grant {
            user: user.to_string(),
            kind: kind.to_string(),
            name: name.to_string(),
            actions: actions.iter().map(|a| a.to_string()).collect(),
        });
    }

    /// Removes every grant of `user`.
    pub fn revoke_all(&self, user: &str) {
        self.state().grants.retain(|g| g.user != user);
    }

    /// An ACR-style refresh token for `user` (ES256 JWT, `grant_type: refresh_token`),
    /// valid for an hour and accepted by `POST /token` and as the password of the null
    /// GUID user.
    pub fn issue_refresh_token(&self, user: &str) -> String {
        self.issue_refresh_token_expiring(user, 3600)
    }

    /// The same, with `exp = now + exp_offset_secs` (negative: already expired).
    pub fn issue_refresh_token_expiring(&self, user: &str, exp_offset_secs: i64) -> String {
        self.shared.issue_refresh_token(user, exp_offset_secs)
    }

    /// Makes `POST /oauth2/exchange` with `access_token=<entra_token>` issue refresh tokens
    /// for `user`.
    pub fn accept_entra_token(&self, entra_token: &str, user: &str) {
        self.state()
            .entra_tokens
            .insert(entra_token.to_string(), user.to_string());
    }

    /// A bearer token with exactly these repository actions, `sub` = `admin`: for
    /// publishing fixtures to a token registry.
    pub fn admin_token(&self, repos_with_actions: &[(&str, &[&str])]) -> String {
        let access: Vec<Access> = repos_with_actions
            .iter()
            .map(|(repo, actions)| Access::repository(repo, actions))
            .collect();
        self.mint("admin", &access, 300)
    }

    /// The token the server would issue to `user` for `scopes` (grants applied), without
    /// a request and without a log entry.
    pub fn token_for(&self, user: &str, scopes: &[&str]) -> String {
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let access = self.shared.access_for(user, &scopes);
        let expires_in = self.state().expires_in;
        self.mint(user, &access, expires_in)
    }

    /// Signs an access token with these claims: `iss`/`aud` from the server,
    /// `exp = now + exp_offset_secs`.
    pub fn mint(&self, sub: &str, access: &[Access], exp_offset_secs: i64) -> String {
        self.shared
            .signer
            .sign(&self.shared.claims(sub, access, exp_offset_secs))
    }

    /// The claims [`TokenServer::mint`] would sign, to alter (`iss`, `aud`, …) and pass to
    /// `signer().sign(..)`.
    pub fn claims(&self, sub: &str, access: &[Access], exp_offset_secs: i64) -> Value {
        self.shared.claims(sub, access, exp_offset_secs)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<TokenRequest> {
        self.state().log.clone()
    }

    pub fn clear_requests(&self) {
        self.state().log.clear();
    }

    /// Answers every request with `response` until [`TokenServer::stop_failing`]
    /// (requests are still logged, with no principal).
    pub fn fail_all_with(&self, response: Response) {
        self.state().failure = Some(response);
    }

    pub fn stop_failing(&self) {
        self.state().failure = None;
    }

    pub fn set_empty_access(&self, style: EmptyAccess) {
        self.state().empty_access = style;
    }

    pub fn set_post_error_style(&self, style: PostErrorStyle) {
        self.state().post_errors = style;
    }

    /// `expires_in` of issued access tokens (and their `exp`), default 300.
    pub fn set_expires_in(&self, secs: i64) {
        self.state().expires_in = secs;
    }

    /// Requests received (including failed ones).
    pub fn hits(&self) -> usize {
        self.server.hits()
    }
}

impl Shared {
    fn claims(&self, sub: &str, access: &[Access], exp_offset_secs: i64) -> Value {
        let now = now_unix();
        let exp = now + exp_offset_secs;
        // Keep nbf <= iat <= exp even for tokens minted already expired.
        let iat = now.min(exp - 60);
        json!({
            "iss": self.issuer,
            "sub": sub,
            "aud": self.service,
            "exp": exp,
            "nbf": iat - 5,
            "iat": iat,
            "jti": jti(),
            "access": access,
        })
    }

    fn issue_refresh_token(&self, user: &str, exp_offset_secs: i64) -> String {
        let now = now_unix();
        let exp = now + exp_offset_secs;
        let iat = now.min(exp - 60);
        // Modeled on ACR's refresh token claim set (Azure/acr docs/AAD-OAuth.md, token claim sets).
        let token = self.signer.sign(&json!({
            "iss": self.issuer,
            "sub": user,
            "aud": self.service,
            "exp": exp,
            "nbf": iat - 5,
            "iat": iat,
            "jti": jti(),
            "grant_type": "refresh_token",
            "version": "1.0",
        }));
        self.state.lock().unwrap().refresh_tokens.insert(
            token.clone(),
            RefreshToken {
                user: user.to_string(),
                exp,
            },
        );
        token
    }

    /// Intersection of requested and granted actions, merged per resource.
    fn access_for(&self, user: &str, scopes: &[String]) -> Vec<Access> {
        let state = self.state.lock().unwrap();
        let mut out: Vec<Access> = Vec::new();
        for requested in scopes.iter().filter_map(|s| parse_scope(s)) {
            let granted: Vec<&String> = state
                .grants
                .iter()
                .filter(|g| {
                    g.user == user
                        && g.kind == requested.kind
                        && (g.name == "*" || g.name == requested.name)
                })
                .flat_map(|g| g.actions.iter())
                .collect();
            let all = granted.iter().any(|a| a.as_str() == "*");
            let allowed: Vec<String> = requested
                .actions
                .iter()
                .filter(|a| all || granted.contains(a))
                .cloned()
                .collect();
            let entry = match out
                .iter_mut()
                .find(|e| e.kind == requested.kind && e.name == requested.name)
            {
                Some(e) => e,
                None => {
                    out.push(Access {
                        kind: requested.kind.clone(),
                        name: requested.name.clone(),
                        actions: Vec::new(),
                    });
                    out.last_mut().unwrap()
                }
            };
            for a in allowed {
                if !entry.actions.contains(&a) {
                    entry.actions.push(a);
                }
            }
        }
        if state.empty_access == EmptyAccess::Omit {
            out.retain(|e| !e.actions.is_empty());
        }
        out
    }

    fn handle(&self, req: &Request) -> Response {
        let form = if req.method == "POST" {
            req.form()
        } else {
            Vec::new()
        };
        let field = |pairs: &[(String, String)], key: &str| {
            pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
        };
        let scopes: Vec<String> = req
            .query
            .iter()
            .chain(form.iter())
            .filter(|(k, _)| k == "scope")
            .flat_map(|(_, v)| v.split_whitespace().map(str::to_string))
            .collect();
        let basic = parse_basic(req.header("authorization"));
        let mut record = TokenRequest {
            method: req.method.clone(),
            path: req.path.clone(),
            query: redact(&req.query),
            form: redact(&form),
            basic_user: basic.as_ref().map(|(u, _)| u.clone()),
            scopes: scopes.clone(),
            service: field(&req.query, "service").or_else(|| field(&form, "service")),
            grant_type: field(&form, "grant_type"),
            account: field(&req.query, "account"),
            principal: None,
            status: 0,
        };

        let failure = self.state.lock().unwrap().failure.clone();
        let (response, principal) = match failure {
            Some(canned) => (canned, None),
            None => self.route(req, &form, &scopes, basic),
        };
        record.principal = principal;
        record.status = response.status;
        self.state.lock().unwrap().log.push(record);
        response
    }

    fn route(
        &self,
        req: &Request,
        form: &[(String, String)],
        scopes: &[String],
        basic: Option<(String, String)>,
    ) -> (Response, Option<String>) {
        let token_path = matches!(req.path.as_str(), "/token" | "/oauth2/token");
        match (req.method.as_str(), req.path.as_str()) {
            ("GET", _) if token_path => self.get_token(req, scopes, basic),
            ("POST", _) if token_path => self.post_token(req, form, scopes),
            ("POST", "/oauth2/exchange") => self.exchange(req, form),
            (_, _) if token_path => (
                Response::registry_error(405, "UNSUPPORTED", "method not allowed"),
                None,
            ),
            _ => (
                Response::registry_error(404, "NOT_FOUND", "no such endpoint on the token server"),
                None,
            ),
        }
    }

    fn unauthorized_basic(&self, message: &str) -> Response {
        Response::registry_error(401, "UNAUTHORIZED", message).header(
            "WWW-Authenticate",
            "Basic realm=\"acr-preflight test token server\"",
        )
    }

    fn refresh_user(&self, token: &str) -> Result<String, &'static str> {
        let state = self.state.lock().unwrap();
        match state.refresh_tokens.get(token) {
            None => Err("unknown refresh token"),
            Some(rt) if rt.exp <= now_unix() => Err("refresh token expired"),
            Some(rt) => Ok(rt.user.clone()),
        }
    }

    fn check_password(&self, user: &str, password: &str) -> bool {
        self.state
            .lock()
            .unwrap()
            .users
            .get(user)
            .map(String::as_str)
            == Some(password)
    }

    fn success(&self, principal: &str, scopes: &[String], extra: &[(&str, Value)]) -> Response {
        let access = self.access_for(principal, scopes);
        let expires_in = self.state.lock().unwrap().expires_in;
        let claims = self.claims(principal, &access, expires_in);
        let issued_at = rfc3339(claims["iat"].as_i64().unwrap());
        let token = self.signer.sign(&claims);
        let mut body = json!({
            "token": token,
            "access_token": token,
            "expires_in": expires_in,
            "issued_at": issued_at,
        });
        for (k, v) in extra {
            body[*k] = v.clone();
        }
        Response::json(200, &body)
    }

    fn get_token(
        &self,
        req: &Request,
        scopes: &[String],
        basic: Option<(String, String)>,
    ) -> (Response, Option<String>) {
        if let Some(service) = req.query_first("service")
            && service != self.service
        {
            let msg = format!("service {service:?} is not served by this token server");
            return (Response::registry_error(400, "UNSUPPORTED", &msg), None);
        }
        let principal = match basic {
            None => ANONYMOUS.to_string(),
            Some((user, password)) if user == NULL_GUID => match self.refresh_user(&password) {
                Ok(u) => u,
                Err(why) => {
                    let msg = format!("authentication required: {why}");
                    return (self.unauthorized_basic(&msg), None);
                }
            },
            Some((user, password)) => {
                if !self.check_password(&user, &password) {
                    let msg = "authentication required: invalid username or password";
                    return (self.unauthorized_basic(msg), None);
                }
                user
            }
        };
        let mut extra = Vec::new();
        if req.query_first("offline_token").as_deref() == Some("true") && principal != ANONYMOUS {
            extra.push((
                "refresh_token",
                Value::String(self.issue_refresh_token(&principal, 3600)),
            ));
        }
        (self.success(&principal, scopes, &extra), Some(principal))
    }

    fn post_error(&self, status: u16, error: &str, description: &str) -> Response {
        let style = self.state.lock().unwrap().post_errors;
        if status == 401 && style == PostErrorStyle::Distribution {
            return Response::registry_error(401, "UNAUTHORIZED", description);
        }
        Response::json(
            status,
            &json!({"error": error, "error_description": description}),
        )
    }

    fn form_check(&self, req: &Request, form: &[(String, String)]) -> Result<(), Response> {
        let form_type = req
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return Err(self.post_error(
                400,
                "invalid_request",
                "Content-Type must be application/x-www-form-urlencoded",
            ));
        }
        match form.iter().find(|(k, _)| k == "service") {
            None => Err(self.post_error(400, "invalid_request", "missing service")),
            Some((_, s)) if *s != self.service => Err(self.post_error(
                400,
                "invalid_request",
                &format!("service {s:?} is not served by this token server"),
            )),
            Some(_) => Ok(()),
        }
    }

    fn post_token(
        &self,
        req: &Request,
        form: &[(String, String)],
        scopes: &[String],
    ) -> (Response, Option<String>) {
        if let Err(r) = self.form_check(req, form) {
            return (r, None);
        }
        let field = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let scope_echo = Value::String(scopes.join(" "));
        match field("grant_type").as_deref() {
            Some("refresh_token") => {
                let Some(token) = field("refresh_token") else {
                    return (
                        self.post_error(400, "invalid_request", "missing refresh_token"),
                        None,
                    );
                };
                match self.refresh_user(&token) {
                    Ok(user) => (
                        self.success(&user, scopes, &[("scope", scope_echo)]),
                        Some(user),
                    ),
                    Err(why) => (self.post_error(401, "invalid_grant", why), None),
                }
            }
            Some("password") => {
                let (Some(user), Some(password)) = (field("username"), field("password")) else {
                    return (
                        self.post_error(400, "invalid_request", "missing username or password"),
                        None,
                    );
                };
                if !self.check_password(&user, &password) {
                    return (
                        self.post_error(401, "invalid_grant", "invalid username or password"),
                        None,
                    );
                }
                let mut extra = vec![("scope", scope_echo)];
                if field("access_type").as_deref() == Some("offline") {
                    extra.push((
                        "refresh_token",
                        Value::String(self.issue_refresh_token(&user, 3600)),
                    ));
                }
                (self.success(&user, scopes, &extra), Some(user))
            }
            Some(other) => (
                self.post_error(
                    400,
                    "unsupported_grant_type",
                    &format!("grant_type {other:?} is not supported"),
                ),
                None,
            ),
            None => (
                self.post_error(400, "invalid_request", "missing grant_type"),
                None,
            ),
        }
    }

    fn exchange(&self, req: &Request, form: &[(String, String)]) -> (Response, Option<String>) {
        if let Err(r) = self.form_check(req, form) {
            return (r, None);
        }
        let field = |key: &str| form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        if field("grant_type").as_deref() != Some("access_token") {
            return (
                self.post_error(
                    400,
                    "unsupported_grant_type",
                    "grant_type must be access_token",
                ),
                None,
            );
        }
        let user = field("access_token")
            .and_then(|t| self.state.lock().unwrap().entra_tokens.get(&t).cloned());
        match user {
            Some(user) => {
                let refresh = self.issue_refresh_token(&user, 3600);
                (
                    Response::json(200, &json!({"refresh_token": refresh})),
                    Some(user),
                )
            }
            None => (
                self.post_error(401, "invalid_grant", "access token not accepted"),
                None,
            ),
        }
    }
}

/// `Authorization: Basic base64(user:pass)` → `(user, pass)`.
fn parse_basic(header: Option<&str>) -> Option<(String, String)> {
    let value = header?.trim();
    let (scheme, b64) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(b64.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some((user.to_string(), pass.to_string()))
}

/// `Basic base64(user:pass)`, for tests building requests by hand.
pub fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{password}")))
}
