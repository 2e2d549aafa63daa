//! Misbehaving HTTP servers on `127.0.0.1:0`, each a [`MockServer`]: `hits()` counts the
//! requests read, `requests()` returns them, `Drop` shuts the server down (closing held
//! connections).
//!
//! ```ignore
//! let fw = servers::firewall_403();                    // ACR firewall rejection
//! let slow = servers::throttling(Some((2, Upstream::Ok))); // 429, 429, then 200
//! let proxied = servers::throttling(Some((1, Upstream::Proxy(reg.addr())))); // then the real registry
//! let hang = servers::silent();                        // reads, never answers
//! ```

pub use super::http::{MockServer, Reply, Request, Response};
use std::net::SocketAddr;

/// The body ACR sends when its firewall rejects the client IP (Microsoft Learn, ACR "troubleshoot network issues").
pub const FIREWALL_BODY: &str = r#"{"errors":[{"code":"DENIED","message":"client with IP '203.0.113.7' is not allowed access. Refer https://aka.ms/acr/firewall to grant access."}]}"#;
/// The 429 body (distribution-spec `TOOMANYREQUESTS`).
pub const THROTTLED_BODY: &str =
    r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"too many requests"}]}"#;
/// The 401 body of a registry that wants authentication.
pub const UNAUTHORIZED_BODY: &str =
    r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":null}]}"#;

/// What a throttling server does once it has throttled enough.
#[derive(Clone, Debug)]
pub enum Upstream {
    /// 200 `{}` with `Docker-Distribution-Api-Version: registry/2.0` (an open registry's `/v2/`).
    Ok,
    /// 401 with `WWW-Authenticate: Bearer realm="<realm>",service="<service>"`.
    BearerChallenge { realm: String, service: String },
    /// A fixed response.
    Respond(Response),
    /// Relay to a real server (e.g. [`super::registry::TestRegistry::addr`]).
    Proxy(SocketAddr),
}

impl Upstream {
    fn reply(&self) -> Reply {
        match self {
            Upstream::Ok => Reply::Respond(
                Response::json(200, &serde_json::json!({}))
                    .header("Docker-Distribution-Api-Version", "registry/2.0"),
            ),
            Upstream::BearerChallenge { realm, service } => Reply::Respond(
                Response::new(401)
                    .header("Content-Type", "application/json")
                    .header("Docker-Distribution-Api-Version", "registry/2.0")
                    .header(
                        "WWW-Authenticate",
                        &format!("Bearer realm=\"{realm}\",service=\"{service}\""),
                    )
                    .body(UNAUTHORIZED_BODY),
            ),
            Upstream::Respond(r) => Reply::Respond(r.clone()),
            Upstream::Proxy(addr) => Reply::Proxy(*addr),
        }
    }
}

/// Any handler: `scripted(|req, index| ...)`.
pub fn scripted(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> MockServer {
    MockServer::start(handler)
}

/// Every request: 403, `Content-Type: application/json`, [`FIREWALL_BODY`].
pub fn firewall_403() -> MockServer {
    MockServer::start(|_, _| {
        Reply::Respond(
            Response::new(403)
                .header("Content-Type", "application/json")
                .body(FIREWALL_BODY),
        )
    })
}

/// 429 with `Retry-After: 1` and [`THROTTLED_BODY`]; with `Some((n, upstream))` only the
/// first `n` requests, then `upstream` for every later one.
pub fn throttling(then: Option<(usize, Upstream)>) -> MockServer {
    throttling_retry_after(1, then)
}

/// [`throttling`] with another `Retry-After` (0 keeps retry tests fast).
pub fn throttling_retry_after(
    retry_after_secs: u64,
    then: Option<(usize, Upstream)>,
) -> MockServer {
    MockServer::start(move |_, index| match &then {
        Some((n, upstream)) if index >= *n => upstream.reply(),
        _ => Reply::Respond(
            Response::new(429)
                .header("Content-Type", "application/json")
                .header("Retry-After", &retry_after_secs.to_string())
                .body(THROTTLED_BODY),
        ),
    })
}

/// Accepts, reads the request, never answers; holds the socket until dropped.
pub fn silent() -> MockServer {
    MockServer::start(|_, _| Reply::Hang)
}

/// Accepts, reads the request, closes the connection without a response.
pub fn hang_up() -> MockServer {
    MockServer::start(|_, _| Reply::Close)
}

/// 401 with no `WWW-Authenticate` header (body [`UNAUTHORIZED_BODY`]) on every path.
pub fn no_challenge() -> MockServer {
    MockServer::start(|_, _| {
        Reply::Respond(
            Response::new(401)
                .header("Content-Type", "application/json")
                .header("Docker-Distribution-Api-Version", "registry/2.0")
                .body(UNAUTHORIZED_BODY),
        )
    })
}

/// 401 with `WWW-Authenticate: Bearer garbage` on every path.
pub fn malformed_challenge() -> MockServer {
    MockServer::start(|_, _| {
        Reply::Respond(
            Response::new(401)
                .header("Content-Type", "application/json")
                .header("Docker-Distribution-Api-Version", "registry/2.0")
                .header("WWW-Authenticate", "Bearer garbage")
                .body(UNAUTHORIZED_BODY),
        )
    })
}
