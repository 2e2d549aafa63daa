//! The push proof: a push right no token states is proven with a blob upload session
//! (`POST /v2/<repo>/blobs/uploads/`) that is cancelled at once (`DELETE` on its
//! `Location`). Against the real registry (open, and with token auth behind a front
//! that hands out opaque tokens, as GHCR does), and scripted servers for the answers
//! distribution never gives.

use crate::registry::Run;
use crate::support;

use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use support::http::{Reply, Request, Response};
use support::registry::{Kind, TestRegistry};
use support::token::{Access, TokenServer};

/// The one finding whose title or message names this repository.
fn about(r: &Run, repo: &str) -> Value {
    let quoted = format!("`{repo}`");
    let path = format!("/v2/{repo}/");
    let found: Vec<Value> = r
        .findings()
        .into_iter()
        .filter(|f| {
            let text = format!("{} {}", f["title"], f["message"]);
            text.contains(&quoted) || text.contains(&path)
        })
        .collect();
    assert_eq!(found.len(), 1, "expected one about {repo}: {:#}", r.json);
    found[0].clone()
}

fn facts(r: &Run) -> String {
    r.verified("registry").join("\n")
}

/// Runs the binary with this docker config and `args`.
fn run(config: &str, args: &[String]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), config).unwrap();
    crate::registry::run(dir.path(), args)
}

fn args(host: &str, pushes: &[&str], extra: &[&str]) -> Vec<String> {
    let mut a = vec!["--registry".to_string(), host.to_string()];
    for p in pushes {
        a.push("--push".into());
        a.push(format!("{host}/{p}"));
    }
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn basic(host: &str, user: &str, pw: &str) -> String {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
    format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#)
}

/// The `http.request.uri` of every request the registry logged as completed with this
/// method and status (distribution logs `response completed` at level info).
fn logged(reg: &TestRegistry, method: &str, status: u16) -> Vec<String> {
    reg.log()
        .lines()
        .filter(|l| l.contains("msg=\"response completed"))
        .filter(|l| l.contains(&format!("http.request.method={method} ")))
        .filter(|l| l.contains(&format!("http.response.status={status} ")))
        .filter_map(|l| {
            let at = l.find("http.request.uri=")? + "http.request.uri=".len();
            let rest = l[at..].trim_start_matches('"');
            let end = rest.find(['"', ' ']).unwrap_or(rest.len());
            Some(rest[..end].to_string())
        })
        .collect()
}

/// Asks the registry for the upload session at `uri` (with its `_state`): a cancelled
/// session is unknown to it.
fn upload_status(base: &str, uri: &str, bearer: Option<&str>) -> (u16, String) {
    support::block_on(async {
        let mut r = reqwest::Client::new().get(format!("{base}{uri}"));
        if let Some(t) = bearer {
            r = r.bearer_auth(t);
        }
        let reply = r.send().await.unwrap();
        (reply.status().as_u16(), reply.text().await.unwrap())
    })
}

#[test]
fn an_open_registry_proves_the_push_and_leaves_no_upload_behind() {
    let reg = TestRegistry::start_blocking(Kind::Plain);
    let host = reg.host();
    let r = run(
        "{}",
        &args(&host, &["team/app:v2"], &["--auth-mode", "anonymous"]),
    );
    assert_eq!(r.status, 0, "{:#}", r.json);
    assert!(
        !r.codes().iter().any(|c| c.starts_with("ROLE_PUSH")),
        "{:#}",
        r.json
    );
    let verified = facts(&r);
    assert!(
        verified.contains(&format!(
            "{host}: push right on `team/app` proven for anonymous: POST /v2/team/app/blobs/uploads/ → 202 Accepted; the upload session was cancelled (DELETE → 204)"
        )),
        "{verified}"
    );
    // Ping (HTTPS first, then plain HTTP on loopback), POST, DELETE.
    assert_eq!(r.requests(), 4, "{:#}", r.json);
    assert_eq!(logged(&reg, "POST", 202), ["/v2/team/app/blobs/uploads/"]);
    let deleted = logged(&reg, "DELETE", 204);
    assert_eq!(deleted.len(), 1, "{}", reg.log());
    assert!(
        deleted[0].starts_with("/v2/team/app/blobs/uploads/") && deleted[0].contains("_state="),
        "{deleted:?}"
    );
    // The session is gone: the registry no longer knows it.
    let (status, body) = upload_status(&reg.url(), &deleted[0], None);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("BLOB_UPLOAD_UNKNOWN"), "{body}");
    // The session state never reaches the output.
    let state = deleted[0].split("_state=").nth(1).unwrap();
    assert!(!r.json.to_string().contains(state));

    // The proof turned off: unverified, and no upload is started.
    let r = run(
        "{}",
        &args(
            &host,
            &["team/other:v1"],
            &["--auth-mode", "anonymous", "--prove-push", "false"],
        ),
    );
    assert_eq!(r.status, 0, "{:#}", r.json);
    let f = r.only("ROLE_PUSH_UNVERIFIED");
    assert_eq!(f["severity"], "notice");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!(
            "{host} issues no token that states rights (it takes Basic credentials or none); the credential is anonymous"
        )) && message.ends_with(
            "; the push proof (an upload session opened and cancelled at once) is turned off with --prove-push false."
        ),
        "{message}"
    );
    assert_eq!(logged(&reg, "POST", 202).len(), 1, "{}", reg.log());
}

/// A front for a token registry that hands out an opaque token (as GHCR does) and
/// swaps it for `jwt` on the way to the registry.
fn opaque_front(reg: &TestRegistry, jwt: String) -> support::http::MockServer {
    const OPAQUE: &str = "opaque-front-token-4f1c";
    let upstream = reg.addr();
    let realm = Arc::new(std::sync::OnceLock::<String>::new());
    let for_handler = realm.clone();
    let front = support::servers::scripted(move |req: &Request, _| {
        if req.path == "/token" {
            return Reply::Respond(Response::json(200, &json!({ "token": OPAQUE })));
        }
        if req.header("authorization") == Some(&format!("Bearer {OPAQUE}")) {
            let mut rewritten = req.clone();
            for (k, v) in &mut rewritten.headers {
                if k.eq_ignore_ascii_case("authorization") {
                    *v = format!("Bearer {jwt}");
                }
            }
            return Reply::ProxyAs(upstream, Box::new(rewritten));
        }
        let realm = for_handler.get().cloned().unwrap_or_default();
        Reply::Respond(
            Response::registry_error(401, "UNAUTHORIZED", "authentication required").header(
                "WWW-Authenticate",
                &format!("Bearer realm=\"{realm}\",service=\"opaque\""),
            ),
        )
    });
    realm.set(format!("{}/token", front.url())).unwrap();
    front
}

#[test]
fn an_opaque_token_push_is_proven_or_refused_by_the_real_registry() {
    let ts = TokenServer::start();
    let reg = TestRegistry::start_blocking(ts.registry_kind());

    // Pull only: the registry refuses the upload session.
    let pull = ts.mint("ci", &[Access::repository("team/app", &["pull"])], 300);
    let front = opaque_front(&reg, pull);
    let host = front.host();
    let r = run(
        &basic(&host, "ci", "pw"),
        &args(&host, &["team/app:v2"], &[]),
    );
    assert_eq!(r.status, 1, "{:#}", r.json);
    assert!(!r.codes().contains(&"ROLE_PUSH_UNVERIFIED".to_string()));
    let f = r.only("ROLE_PUSH_MISSING");
    assert_eq!(f["severity"], "error");
    assert_eq!(
        f["title"],
        format!("`ci` may not push `team/app` on {host}")
    );
    let message = f["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "POST /v2/team/app/blobs/uploads/ (the first request of a push) → HTTP 401 UNAUTHORIZED: authentication required"
        ),
        "{message}"
    );
    assert!(logged(&reg, "POST", 202).is_empty(), "{}", reg.log());
    assert!(reg.log().contains("insufficient scope"), "{}", reg.log());
    drop(front);

    // Pull and push: proven. Distribution wants the delete right for the DELETE, which
    // a build's token need not have: the session is then left to the registry's purge,
    // and the run still passes.
    let push = ts.mint(
        "ci",
        &[Access::repository("team/app", &["pull", "push"])],
        300,
    );
    let front = opaque_front(&reg, push);
    let host = front.host();
    let r = run(
        &basic(&host, "ci", "pw"),
        &args(&host, &["team/app:v2"], &[]),
    );
    assert_eq!(r.status, 0, "{:#}", r.json);
    let verified = facts(&r);
    assert!(
        verified.contains("push right on `team/app` proven for `ci`")
            && verified.contains("the credential may not cancel the empty upload session (DELETE → HTTP 401 UNAUTHORIZED"),
        "{verified}"
    );
    assert!(logged(&reg, "DELETE", 204).is_empty(), "{}", reg.log());
    drop(front);

    // With the delete right too, the session is cancelled through the front.
    let all = ts.mint(
        "ci",
        &[Access::repository("team/app", &["pull", "push", "delete"])],
        300,
    );
    let front = opaque_front(&reg, all.clone());
    let host = front.host();
    let r = run(
        &basic(&host, "ci", "pw"),
        &args(&host, &["team/app:v2"], &[]),
    );
    assert_eq!(r.status, 0, "{:#}", r.json);
    assert!(
        facts(&r).contains("the upload session was cancelled (DELETE → 204)"),
        "{}",
        facts(&r)
    );
    let deleted = logged(&reg, "DELETE", 204);
    assert_eq!(deleted.len(), 1, "{}", reg.log());
    let (status, body) = upload_status(&reg.url(), &deleted[0], Some(&all));
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("BLOB_UPLOAD_UNKNOWN"), "{body}");
    assert!(!r.json.to_string().contains("opaque-front-token-4f1c"));

    // The proof turned off: unverified, as before, and nothing is written.
    let posts_before = front
        .requests()
        .iter()
        .filter(|q| q.method == "POST")
        .count();
    for off in [["--prove-push", "false"], ["--prove-push=false", ""]] {
        let extra: Vec<&str> = off.iter().copied().filter(|s| !s.is_empty()).collect();
        let r = run(
            &basic(&host, "ci", "pw"),
            &args(&host, &["team/app:v2"], &extra),
        );
        assert_eq!(r.status, 0, "{:#}", r.json);
        let f = r.only("ROLE_PUSH_UNVERIFIED");
        assert_eq!(f["severity"], "notice");
        assert!(
            f["message"].as_str().unwrap().contains("is not a JWT"),
            "{}",
            f["message"]
        );
    }
    let posts_after = front
        .requests()
        .iter()
        .filter(|q| q.method == "POST")
        .count();
    assert_eq!(posts_before, posts_after, "no upload with the proof off");
}

#[test]
fn a_token_that_states_push_is_the_proof_and_no_session_is_opened() {
    let ts = TokenServer::start();
    let reg = TestRegistry::start_blocking(ts.registry_kind());
    ts.add_user("ci", "pw-ci");
    ts.grant("ci", "team/app", &["pull", "push"]);
    let host = reg.host();
    let r = run(
        &basic(&host, "ci", "pw-ci"),
        &args(&host, &["team/app:v2"], &[]),
    );
    assert_eq!(r.status, 0, "{:#}", r.json);
    assert!(
        facts(&r).contains("grants push on `team/app`"),
        "{}",
        facts(&r)
    );
    // Ping (HTTPS first, then plain HTTP on loopback) and token: the JWT's access
    // claim already says push.
    assert_eq!(r.requests(), 3, "{:#}", r.json);
    assert!(!reg.log().contains("blobs/uploads"), "{}", reg.log());
}

/// A registry open to all whose upload answers are scripted per repository.
fn scripted_uploads() -> support::http::MockServer {
    support::servers::scripted(|req: &Request, _| {
        let p = req.path.as_str();
        Reply::Respond(match (req.method.as_str(), p) {
            ("GET", "/v2/") => Response::json(200, &json!({})),
            ("POST", "/v2/team/nolocation/blobs/uploads/") => Response::new(202),
            ("POST", "/v2/team/badlocation/blobs/uploads/") => {
                Response::new(202).header("Location", "ftp://elsewhere.test/upload/1")
            }
            ("POST", "/v2/team/relative/blobs/uploads/") => Response::new(202).header(
                "Location",
                "/v2/team/relative/blobs/uploads/u-1?_state=state-not-for-output-9d2",
            ),
            ("DELETE", "/v2/team/relative/blobs/uploads/u-1") => {
                Response::registry_error(405, "UNSUPPORTED", "The operation is unsupported.")
            }
            ("POST", "/v2/team/elsewhere/blobs/uploads/") => {
                Response::new(202).header("Location", "https://uploads.elsewhere.test/u/2")
            }
            ("POST", "/v2/team/denied/blobs/uploads/") => Response::registry_error(
                403,
                "DENIED",
                "installation not allowed to Write organization package",
            ),
            ("POST", "/v2/team/missing/blobs/uploads/") => Response::registry_error(
                404,
                "NAME_UNKNOWN",
                "The repository with name 'team/missing' does not exist in the registry",
            ),
            ("POST", "/v2/team/mirror/blobs/uploads/") => {
                Response::registry_error(405, "UNSUPPORTED", "The operation is unsupported.")
            }
            ("POST", "/v2/team/garbage/blobs/uploads/") => {
                Response::new(418).body(vec![0xff, 0xfe, 0x00, b'\n', 0x1b, b'[', b'2', b'J'])
            }
            ("POST", "/v2/team/html403/blobs/uploads/") => {
                Response::new(403).body("<html><body>Blocked by policy</body></html>")
            }
            _ => Response::registry_error(404, "NOT_FOUND", "not scripted"),
        })
    })
}

#[test]
fn odd_upload_answers_are_clean_findings_and_never_fail_the_cancel() {
    let server = scripted_uploads();
    let host = server.host();
    let repos = [
        "nolocation",
        "badlocation",
        "relative",
        "elsewhere",
        "denied",
        "missing",
        "mirror",
        "garbage",
        "html403",
    ];
    let pushes: Vec<String> = repos.iter().map(|r| format!("team/{r}:v1")).collect();
    let pushes: Vec<&str> = pushes.iter().map(String::as_str).collect();
    let r = run("{}", &args(&host, &pushes, &["--auth-mode", "anonymous"]));
    assert_eq!(r.status, 1, "{:#}", r.json);
    let about = |repo: &str| about(&r, &format!("team/{repo}"));

    for repo in ["nolocation", "badlocation"] {
        let f = about(repo);
        assert_eq!(f["code"], "REGISTRY_UNEXPECTED", "{f:#}");
        assert_eq!(
            f["title"],
            format!("{host} opened an upload session for `team/{repo}` that a push cannot use")
        );
    }
    assert!(
        about("nolocation")["message"]
            .as_str()
            .unwrap()
            .contains("the answer has no Location header"),
        "{:#}",
        about("nolocation")
    );
    assert!(
        about("badlocation")["message"]
            .as_str()
            .unwrap()
            .contains("`ftp://elsewhere.test/upload/1` is not an http(s) URL")
    );

    let denied = about("denied");
    assert_eq!(denied["code"], "ROLE_PUSH_MISSING");
    assert!(
        denied["message"]
            .as_str()
            .unwrap()
            .contains("HTTP 403 DENIED: installation not allowed to Write organization package"),
        "{denied:#}"
    );
    assert_eq!(about("missing")["code"], "REGISTRY_UNEXPECTED");
    assert_eq!(
        about("missing")["title"],
        format!("{host} has no repository `team/missing` to push to")
    );
    assert_eq!(
        about("mirror")["title"],
        format!("{host} does not accept pushes")
    );
    let garbage = about("garbage");
    assert_eq!(garbage["code"], "REGISTRY_UNEXPECTED");
    assert!(
        !garbage["message"].as_str().unwrap().contains('\u{1b}'),
        "{garbage:#}"
    );
    // A 403 without a distribution error code is not read as a missing role.
    assert_eq!(about("html403")["code"], "REGISTRY_UNEXPECTED");

    // A relative Location is resolved against the registry and cancelled there with
    // its state; a 405 to the DELETE is noted, not a failure.
    let verified = facts(&r);
    assert!(
        verified.contains("push right on `team/relative` proven for anonymous")
            && verified
                .contains("did not cancel the empty upload session (DELETE → HTTP 405 UNSUPPORTED"),
        "{verified}"
    );
    let deletes: Vec<Request> = server
        .requests()
        .into_iter()
        .filter(|q| q.method == "DELETE")
        .collect();
    assert_eq!(
        deletes.len(),
        1,
        "only the same-origin Location is cancelled"
    );
    assert_eq!(
        deletes[0].target,
        "/v2/team/relative/blobs/uploads/u-1?_state=state-not-for-output-9d2"
    );
    assert!(!r.json.to_string().contains("state-not-for-output-9d2"));
    // Another origin gets no request and no credential: proven, not cancelled.
    assert!(
        verified.contains("push right on `team/elsewhere` proven")
            && verified
                .contains("its Location is on another origin (https://uploads.elsewhere.test)"),
        "{verified}"
    );
}

#[test]
fn a_hung_upload_or_cancel_ends_inside_the_one_deadline() {
    let server = support::servers::scripted(|req: &Request, _| match req.method.as_str() {
        "GET" => Reply::Respond(Response::json(200, &json!({}))),
        "POST" if req.path.contains("/team/hangpost/") => Reply::Hang,
        "POST" => Reply::Respond(
            Response::new(202).header("Location", "/v2/team/hangdelete/blobs/uploads/u-9"),
        ),
        _ => Reply::Hang,
    });
    let host = server.host();
    let r = run(
        "{}",
        &args(
            &host,
            &["team/hangpost:v1"],
            &["--auth-mode", "anonymous", "--timeout", "3"],
        ),
    );
    assert_eq!(r.status, 1, "{:#}", r.json);
    assert!(r.took < Duration::from_secs(8), "took {:?}", r.took);
    let f = r.only("NET_TIMEOUT");
    assert!(
        f["title"].as_str().unwrap().contains("(blob upload,"),
        "{f:#}"
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains(&format!("Affects `{host}/team/hangpost:v1`")),
        "{f:#}"
    );

    // A cancel that never answers still proves the right, inside the deadline.
    let r = run(
        "{}",
        &args(
            &host,
            &["team/hangdelete:v1"],
            &["--auth-mode", "anonymous", "--timeout", "3"],
        ),
    );
    assert!(r.took < Duration::from_secs(8), "took {:?}", r.took);
    assert!(
        facts(&r).contains("the empty upload session could not be cancelled"),
        "{:#}",
        r.json
    );
    assert!(
        !r.codes().iter().any(|c| c.starts_with("ROLE_PUSH")),
        "{:#}",
        r.json
    );
}
