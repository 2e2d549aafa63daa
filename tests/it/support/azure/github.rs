//! The GitHub Actions ID-token endpoint (actions/toolkit oidc-utils.ts; GitHub docs, OpenID Connect reference), plain HTTP on its own port:
//! production reads the URL from `ACTIONS_ID_TOKEN_REQUEST_URL`.
//!
//! `GET /token?api-version=2.0&audience=<aud>` with `Authorization: Bearer <request token>`
//! → 200 `{"value":"<jwt>"}`. The JWT's claims come from [`GitHubClaims`] (set per test),
//! `aud` is the requested audience (default when none is asked: `https://github.com/<owner>`),
//! `iat`/`nbf`/`exp` from now and the configured lifetime. A missing or wrong bearer →
//! 401 `{"message":…}`; another path → 404; another method → 405.

use super::super::http::{MockServer, Reply, Request, Response};
use super::super::now_unix;
use super::{GITHUB_ISSUER, fake_rs256_jwt, new_guid};
use serde_json::{Map, Value, json};
use std::sync::{Arc, Mutex};

/// The `kid` of the GitHub fake's (dummy) signing key.
pub const GITHUB_KID: &str = "acr-preflight-harness-github-key";

/// The job a GitHub ID token describes. Builders set the fields; the `sub` follows
/// GitHub's default precedence (environment > pull_request > ref, GitHub docs, OpenID Connect reference) unless
/// [`GitHubClaims::with_subject`] overrides it.
#[derive(Clone, Debug)]
pub struct GitHubClaims {
    pub issuer: String,
    /// `owner/name`.
    pub repository: String,
    pub repository_id: String,
    pub repository_owner_id: String,
    /// `refs/heads/main`, `refs/tags/v1`, `refs/pull/7/merge`.
    pub git_ref: String,
    pub ref_type: String,
    pub event_name: String,
    pub environment: Option<String>,
    pub workflow_file: String,
    pub actor: String,
    pub sha: String,
    /// Use the ID-based `repo:owner@id/name@id` form (repositories created after
    /// 2026-07-15, GitHub docs, OpenID Connect reference).
    pub immutable_subject: bool,
    pub subject_override: Option<String>,
    /// Extra or replaced claims, applied last.
    pub extra: Map<String, Value>,
}

/// `:` inside subject values is written `%3A` (GitHub docs, OpenID Connect reference).
fn enc(value: &str) -> String {
    value.replace(':', "%3A")
}

impl GitHubClaims {
    /// A push to `branch` of `repository` (`owner/name`).
    pub fn branch(repository: &str, branch: &str) -> GitHubClaims {
        GitHubClaims {
            issuer: GITHUB_ISSUER.to_string(),
            repository: repository.to_string(),
            repository_id: "800001".to_string(),
            repository_owner_id: "900001".to_string(),
            git_ref: format!("refs/heads/{branch}"),
            ref_type: "branch".to_string(),
            event_name: "push".to_string(),
            environment: None,
            workflow_file: "build.yml".to_string(),
            actor: "octocat".to_string(),
            sha: "0123456789abcdef0123456789abcdef01234567".to_string(),
            immutable_subject: false,
            subject_override: None,
            extra: Map::new(),
        }
    }

    /// A push of tag `tag`.
    pub fn tag(repository: &str, tag: &str) -> GitHubClaims {
        GitHubClaims {
            git_ref: format!("refs/tags/{tag}"),
            ref_type: "tag".to_string(),
            ..GitHubClaims::branch(repository, "main")
        }
    }

    /// A `pull_request` run for PR `number` (ref `refs/pull/N/merge`, `sub`
    /// `repo:o/r:pull_request`).
    pub fn pull_request(repository: &str, number: u32) -> GitHubClaims {
        GitHubClaims {
            git_ref: format!("refs/pull/{number}/merge"),
            event_name: "pull_request".to_string(),
            ..GitHubClaims::branch(repository, "main")
        }
    }

    /// Runs in deployment environment `name` (`sub` `repo:o/r:environment:name`).
    pub fn with_environment(mut self, name: &str) -> GitHubClaims {
        self.environment = Some(name.to_string());
        self
    }

    /// Switches to the ID-based subject with these numeric ids.
    pub fn immutable(mut self, owner_id: &str, repository_id: &str) -> GitHubClaims {
        self.immutable_subject = true;
        self.repository_owner_id = owner_id.to_string();
        self.repository_id = repository_id.to_string();
        self
    }

    /// A customised subject (replaces the whole default format).
    pub fn with_subject(mut self, sub: &str) -> GitHubClaims {
        self.subject_override = Some(sub.to_string());
        self
    }

    pub fn with_issuer(mut self, issuer: &str) -> GitHubClaims {
        self.issuer = issuer.to_string();
        self
    }

    pub fn with_event(mut self, event_name: &str) -> GitHubClaims {
        self.event_name = event_name.to_string();
        self
    }

    /// Sets (or replaces) any claim.
    pub fn with_claim(mut self, key: &str, value: Value) -> GitHubClaims {
        self.extra.insert(key.to_string(), value);
        self
    }

    pub fn owner(&self) -> &str {
        self.repository.split('/').next().unwrap_or_default()
    }

    /// The `sub` claim.
    pub fn subject(&self) -> String {
        if let Some(s) = &self.subject_override {
            return s.clone();
        }
        let repo = if self.immutable_subject {
            let (owner, name) = self
                .repository
                .split_once('/')
                .unwrap_or((&self.repository, ""));
            format!(
                "repo:{owner}@{}/{name}@{}",
                self.repository_owner_id, self.repository_id
            )
        } else {
            format!("repo:{}", self.repository)
        };
        if let Some(env) = &self.environment {
            format!("{repo}:environment:{}", enc(env))
        } else if matches!(
            self.event_name.as_str(),
            "pull_request" | "pull_request_target"
        ) {
            format!("{repo}:pull_request")
        } else {
            format!("{repo}:ref:{}", enc(&self.git_ref))
        }
    }

    /// The claims of a token for `audience`, issued at `iat`, expiring at `exp`.
    pub fn claims(&self, audience: &str, iat: i64, exp: i64) -> Value {
        let workflow_ref = format!(
            "{}/.github/workflows/{}@{}",
            self.repository, self.workflow_file, self.git_ref
        );
        let mut claims = json!({
            "jti": new_guid(),
            "sub": self.subject(),
            "aud": audience,
            "ref": self.git_ref,
            "sha": self.sha,
            "repository": self.repository,
            "repository_owner": self.owner(),
            "repository_owner_id": self.repository_owner_id,
            "repository_id": self.repository_id,
            "repository_visibility": "private",
            "run_id": "4242424242",
            "run_number": "17",
            "run_attempt": "1",
            "actor": self.actor,
            "actor_id": "583231",
            "workflow": "build",
            "workflow_ref": workflow_ref,
            "workflow_sha": self.sha,
            "job_workflow_ref": workflow_ref,
            "job_workflow_sha": self.sha,
            "event_name": self.event_name,
            "ref_type": self.ref_type,
            "runner_environment": "github-hosted",
            "iss": self.issuer,
            "nbf": iat,
            "iat": iat,
            "exp": exp,
        });
        if let Some(env) = &self.environment {
            claims["environment"] = Value::String(env.clone());
        }
        if self.event_name.starts_with("pull_request") {
            claims["head_ref"] = Value::String("feature".to_string());
            claims["base_ref"] = Value::String("main".to_string());
        }
        for (k, v) in &self.extra {
            claims[k] = v.clone();
        }
        claims
    }
}

/// One ID-token request.
#[derive(Clone, Debug)]
pub struct OidcRequest {
    pub method: String,
    pub path: String,
    /// The `audience` query value, when sent.
    pub audience: Option<String>,
    /// Whether the bearer was the request token.
    pub authorized: bool,
    pub status: u16,
}

struct State {
    request_token: String,
    claims: GitHubClaims,
    lifetime: i64,
    /// Seconds added to "now" for `iat` (negative: the token was minted earlier).
    issued_offset: i64,
    failure: Option<Response>,
    issued: Vec<String>,
    log: Vec<OidcRequest>,
}

/// The GitHub ID-token endpoint. Dropping it stops the server.
pub struct GitHubOidc {
    state: Arc<Mutex<State>>,
    server: MockServer,
}

impl GitHubOidc {
    /// Starts on `127.0.0.1:0` with claims for a push to `octo/app` `main` and tokens
    /// valid for 5 minutes (azure-sdk-for-rust azure_identity azure_cli_credential.rs reports 5–10).
    pub fn start() -> GitHubOidc {
        let state = Arc::new(Mutex::new(State {
            request_token: format!("harness-gh-request-token-{}", new_guid()),
            claims: GitHubClaims::branch("octo/app", "main"),
            lifetime: 300,
            issued_offset: 0,
            failure: None,
            issued: Vec::new(),
            log: Vec::new(),
        }));
        let for_server = state.clone();
        let server = MockServer::start(move |req, _| Reply::Respond(handle(&for_server, req)));
        GitHubOidc { state, server }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_URL` (already has a query, so clients append `&audience=`).
    pub fn request_url(&self) -> String {
        format!("{}/token?api-version=2.0", self.server.url())
    }

    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN`.
    pub fn request_token(&self) -> String {
        self.state().request_token.clone()
    }

    /// Both variables, for `Command::envs`.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL".to_string(),
                self.request_url(),
            ),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_string(),
                self.request_token(),
            ),
        ]
    }

    pub fn set_claims(&self, claims: GitHubClaims) {
        self.state().claims = claims;
    }

    pub fn claims(&self) -> GitHubClaims {
        self.state().claims.clone()
    }

    /// Token lifetime in seconds (`exp - iat`), default 300.
    pub fn set_lifetime(&self, secs: i64) {
        self.state().lifetime = secs;
    }

    /// Shifts `iat`/`nbf`/`exp` by `secs` (e.g. `-600` with a 300 s lifetime: every token
    /// served is already expired, as when a long job reuses its first token).
    pub fn set_issued_offset(&self, secs: i64) {
        self.state().issued_offset = secs;
    }

    /// Answers every request with `response` until [`GitHubOidc::stop_failing`].
    pub fn fail_all_with(&self, response: Response) {
        self.state().failure = Some(response);
    }

    pub fn stop_failing(&self) {
        self.state().failure = None;
    }

    /// The token the endpoint would serve for `audience` now (for
    /// `AZURE_FEDERATED_TOKEN_FILE` or direct assertion tests). Recorded as issued.
    pub fn mint(&self, audience: &str) -> String {
        mint(&self.state, audience)
    }

    /// Every ID token handed out or minted.
    pub fn issued(&self) -> Vec<String> {
        self.state().issued.clone()
    }

    pub fn requests(&self) -> Vec<OidcRequest> {
        self.state().log.clone()
    }

    /// The request token and every ID token.
    pub fn sensitive_values(&self) -> Vec<String> {
        let state = self.state();
        let mut out = vec![state.request_token.clone()];
        out.extend(state.issued.iter().cloned());
        out
    }

    pub fn server(&self) -> &MockServer {
        &self.server
    }
}

fn mint(state: &Mutex<State>, audience: &str) -> String {
    let mut state = state.lock().unwrap();
    let iat = now_unix() + state.issued_offset;
    let claims = state.claims.claims(audience, iat, iat + state.lifetime);
    let token = fake_rs256_jwt(GITHUB_KID, &claims);
    state.issued.push(token.clone());
    token
}

fn handle(state: &Mutex<State>, req: &Request) -> Response {
    let (expected, failure, owner) = {
        let s = state.lock().unwrap();
        (
            s.request_token.clone(),
            s.failure.clone(),
            s.claims.owner().to_string(),
        )
    };
    let authorized = req
        .header("authorization")
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && token.trim() == expected
        });
    let audience = req.query_first("audience");
    let response = if let Some(canned) = failure {
        canned
    } else if req.path != "/token" {
        Response::json(404, &json!({"message": "Not Found"}))
    } else if req.method != "GET" {
        Response::json(405, &json!({"message": "Method Not Allowed"}))
    } else if !authorized {
        Response::json(
            401,
            &json!({"message": "The request token is missing or not valid for this job."}),
        )
    } else {
        let aud = audience
            .clone()
            .unwrap_or_else(|| format!("https://github.com/{owner}"));
        Response::json(200, &json!({"value": mint(state, &aud)}))
    };
    state.lock().unwrap().log.push(OidcRequest {
        method: req.method.clone(),
        path: req.path.clone(),
        audience,
        authorized,
        status: response.status,
    });
    response
}
