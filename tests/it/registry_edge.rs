//! Registry answers the real distribution registry does not give but ACR and others do:
//! 401 for a missing tag, 403 on an existing one, opaque tokens, broken challenges,
//! unresolvable names. Scripted servers on loopback, the real token server, the built binary.

use crate::support;

use serde_json::{Value, json};
use std::process::Command;
use support::http::{Reply, Response};
use support::token::TokenServer;

const BIN: &str = env!("CARGO_BIN_EXE_acr-preflight");
const DIGEST: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";

fn run(args: &[String], config: &str) -> (i32, Value) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(args)
        .args([
            "--docker-config",
            dir.path().to_str().unwrap(),
            "--format",
            "json",
            "--timeout",
            "15",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code().unwrap_or(-1), v)
}

fn only(v: &Value, code: &str) -> Value {
    let found: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code)
        .collect();
    assert_eq!(found.len(), 1, "expected one {code}: {v:#}");
    found[0].clone()
}

fn basic(host: &str, user: &str, pw: &str) -> String {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
    format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#)
}

/// An ACR-like registry: Bearer challenge to the real token server, 401 for the
/// missing tag `v9`, 403 for the existing tag `v1`, tags `v1`, `v8`.
fn acr_like(ts: &TokenServer) -> support::http::MockServer {
    let realm = ts.oauth2_realm();
    let service = ts.service().to_string();
    support::servers::scripted(move |req, _| {
        let challenge = format!("Bearer realm=\"{realm}\",service=\"{service}\"");
        let unauthorized = Response::registry_error(
            401,
            "UNAUTHORIZED",
            "authentication required, visit https://aka.ms/acr/authorization for more information.",
        )
        .header("WWW-Authenticate", &challenge);
        let authed = req
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer "));
        Reply::Respond(match (req.method.as_str(), req.path.as_str(), authed) {
            (_, _, false) => unauthorized,
            (_, "/v2/team/ctx/tags/list", true) => {
                Response::json(200, &json!({"name": "team/ctx", "tags": ["v1", "v8"]}))
            }
            (_, "/v2/team/ctx/manifests/v1", true) => Response::registry_error(
                403,
                "DENIED",
                "requested access to the resource is denied",
            ),
            (_, _, true) => unauthorized,
        })
    })
}

#[test]
fn a_401_for_a_tag_the_token_may_pull_is_reported_as_a_missing_tag() {
    let ts = TokenServer::start_with("acr.test", "edge-issuer");
    ts.add_user("ci", "pw");
    ts.grant("ci", "team/ctx", &["pull"]);
    let reg = acr_like(&ts);
    let host = reg.host();
    let (status, v) = run(
        &[
            "--registry".into(),
            host.clone(),
            "--context".into(),
            format!("docker-image://{host}/team/ctx:v9"),
        ],
        &basic(&host, "ci", "pw"),
    );
    assert_eq!(status, 1);
    let f = only(&v, "CONTEXT_NOT_FOUND");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("HEAD /v2/team/ctx/manifests/v9 → HTTP 401"),
        "{message}"
    );
    assert!(message.contains("answered 401 instead of 404"), "{message}");
    assert!(message.contains("Tags (2): v1, v8"), "{message}");
    // v9 is past the newest `vN` tag: the newest one is offered, with the question.
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .starts_with("`v9` is newer than every tag of its shape")
            && f["fix"]
                .as_str()
                .unwrap()
                .contains("use the newest one, `v8`"),
        "{}",
        f["fix"]
    );
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["code"] != "ROLE_PULL_MISSING")
    );
}

#[test]
fn a_403_on_a_listed_tag_the_token_may_pull_is_access_denied() {
    let ts = TokenServer::start_with("acr.test", "edge-issuer");
    ts.add_user("ci", "pw");
    ts.grant("ci", "team/ctx", &["pull"]);
    let reg = acr_like(&ts);
    let host = reg.host();
    let (status, v) = run(
        &[
            "--registry".into(),
            host.clone(),
            "--context".into(),
            format!("docker-image://{host}/team/ctx:v1"),
        ],
        &basic(&host, "ci", "pw"),
    );
    assert_eq!(status, 1);
    let f = only(&v, "CONTEXT_ACCESS_DENIED");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("manifests/v1 → HTTP 403"),
        "{}",
        f["message"]
    );
}

#[test]
fn an_opaque_token_cannot_prove_push_and_the_manifest_decides_pull() {
    let token_srv = support::servers::scripted(|_, _| {
        Reply::Respond(Response::json(
            200,
            &json!({"token": "opaque-registry-token-value"}),
        ))
    });
    let realm = format!("{}/token", token_srv.url());
    let reg = support::servers::scripted(move |req, _| {
        let authed = req.header("authorization") == Some("Bearer opaque-registry-token-value");
        Reply::Respond(match (req.path.as_str(), authed) {
            ("/v2/", false) | (_, false) => Response::new(401)
                .header(
                    "WWW-Authenticate",
                    &format!("Bearer realm=\"{realm}\",service=\"opaque\""),
                )
                .body("{}"),
            ("/v2/team/ctx/manifests/v1", true) => Response::new(200)
                .header(
                    "Content-Type",
                    "application/vnd.docker.distribution.manifest.v2+json",
                )
                .header("Docker-Content-Digest", DIGEST)
                .header("Content-Length", "7"),
            _ => Response::registry_error(
                404,
                "NAME_UNKNOWN",
                "repository name not known to registry",
            ),
        })
    });
    let host = reg.host();
    let (status, v) = run(
        &[
            "--registry".into(),
            host.clone(),
            "--context".into(),
            format!("docker-image://{host}/team/ctx:v1"),
            "--push".into(),
            format!("{host}/team/app:v2"),
            // Without the push proof (push_proof.rs proves it), as before it existed.
            "--prove-push".into(),
            "false".into(),
        ],
        &basic(&host, "ci", "pw"),
    );
    assert_eq!(status, 0, "{v:#}");
    assert_eq!(only(&v, "ROLE_PUSH_UNVERIFIED")["severity"], "notice");
    assert_eq!(v["contexts"][0]["digest"], DIGEST);
    assert!(!v.to_string().contains("opaque-registry-token-value"));
}

#[test]
fn a_401_without_a_usable_challenge_is_a_challenge_problem() {
    for server in [
        support::servers::no_challenge(),
        support::servers::malformed_challenge(),
    ] {
        let host = server.host();
        let (status, v) = run(
            &[
                "--registry".into(),
                host.clone(),
                "--context".into(),
                format!("docker-image://{host}/team/ctx:v1"),
                "--auth-mode".into(),
                "anonymous".into(),
            ],
            "{}",
        );
        assert_eq!(status, 1);
        let f = only(&v, "REGISTRY_CHALLENGE");
        assert_eq!(
            f["title"],
            format!("{host} answered /v2/ without a usable authentication challenge")
        );
    }
}

#[test]
fn an_unresolvable_name_is_a_dns_failure() {
    let (status, v) = run(
        &[
            "--registry".into(),
            "registry.invalid".into(),
            "--context".into(),
            "docker-image://registry.invalid/team/ctx:v1".into(),
            "--auth-mode".into(),
            "anonymous".into(),
        ],
        "{}",
    );
    assert_eq!(status, 1);
    let f = only(&v, "NET_DNS");
    assert_eq!(f["title"], "cannot resolve registry.invalid");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("privatelink.azurecr.io")
    );
}

#[test]
fn the_tag_list_is_followed_across_link_pages() {
    let reg = support::servers::scripted(|req, _| {
        Reply::Respond(
            match (req.path.as_str(), req.query_first("last").as_deref()) {
                ("/v2/", _) => Response::json(200, &json!({})),
                ("/v2/team/ctx/tags/list", None) => {
                    Response::json(200, &json!({"name": "team/ctx", "tags": ["a1", "b2"]}))
                        .header("Link", "</v2/team/ctx/tags/list?last=b2&n=2>; rel=\"next\"")
                }
                ("/v2/team/ctx/tags/list", Some("b2")) => {
                    Response::json(200, &json!({"name": "team/ctx", "tags": ["c3", "v3.0"]}))
                }
                _ => Response::registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown"),
            },
        )
    });
    let host = reg.host();
    let (status, v) = run(
        &[
            "--registry".into(),
            host.clone(),
            "--context".into(),
            format!("docker-image://{host}/team/ctx:v3"),
            "--auth-mode".into(),
            "anonymous".into(),
        ],
        "{}",
    );
    assert_eq!(status, 1);
    let f = only(&v, "CONTEXT_NOT_FOUND");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("Tags (4): a1, b2, c3, v3.0"),
        "{}",
        f["message"]
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .starts_with("Did you mean `v3.0`?"),
        "{}",
        f["fix"]
    );
    let pages = reg
        .requests()
        .iter()
        .filter(|r| r.path == "/v2/team/ctx/tags/list")
        .count();
    assert_eq!(pages, 2);
}

/// 20 contexts on one registry: one ping, one HEAD per manifest and no request repeated,
/// at most MANIFEST_CONCURRENCY (8) manifest requests in flight, and that many used.
/// Each manifest answer waits until 8 are in flight (or 5 s pass) and then 300 ms more,
/// so a smaller pool or a larger one shows up in the highest count seen.
#[test]
fn many_contexts_share_one_ping_and_a_pool_of_eight_manifest_requests() {
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;
    const POOL: usize = 8;
    let in_flight = Arc::new((Mutex::new((0usize, 0usize)), Condvar::new()));
    let counts = in_flight.clone();
    let reg = support::servers::scripted(move |req, _| {
        if req.path == "/v2/" {
            return Reply::Respond(Response::new(200).body("{}"));
        }
        let (lock, changed) = &*counts;
        let mut state = lock.lock().unwrap();
        state.0 += 1;
        state.1 = state.1.max(state.0);
        changed.notify_all();
        // Hold until the pool is full, then a moment longer: a larger pool shows up as a
        // ninth request in flight.
        let (state, _) = changed
            .wait_timeout_while(state, Duration::from_secs(5), |s| s.1 < POOL)
            .unwrap();
        let (mut state, _) = changed
            .wait_timeout_while(state, Duration::from_millis(300), |s| s.1 == POOL)
            .unwrap();
        state.0 -= 1;
        Reply::Respond(
            Response::new(200)
                .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
                .header("Docker-Content-Digest", DIGEST)
                .header("Content-Length", "2"),
        )
    });
    let host = reg.host();
    let mut args = vec!["--auth-mode".to_string(), "anonymous".to_string()];
    for i in 0..20 {
        args.push("--context".to_string());
        args.push(format!("{host}/team/ctx{i}:v1"));
    }
    let (status, v) = run(&args, "{}");
    assert_eq!(status, 0, "{v:#}");
    assert_eq!(v["result"], "pass", "{v:#}");
    let seen = reg.requests();
    let pings = seen.iter().filter(|r| r.path == "/v2/").count();
    assert_eq!(pings, 1, "one ping for the host: {seen:#?}");
    let mut manifests: Vec<String> = seen
        .iter()
        .filter(|r| r.path.contains("/manifests/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(manifests.len(), 20, "{manifests:#?}");
    assert!(
        manifests.iter().all(|m| m.starts_with("HEAD ")),
        "{manifests:#?}"
    );
    manifests.sort();
    manifests.dedup();
    assert_eq!(manifests.len(), 20, "a manifest was asked twice");
    let highest = in_flight.0.lock().unwrap().1;
    assert_eq!(highest, POOL, "manifest requests in flight at once");
}
