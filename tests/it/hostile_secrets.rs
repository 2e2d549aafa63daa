//! Credentials never go where they should not, and never come back out.
//!
//! Hostile servers on 127.0.0.1 (port 0): a registry whose tag pagination points at
//! another origin, registries that redirect every kind of call to a recorder on another
//! port, a token realm on another host, and servers that echo every credential they
//! receive (raw, base64 Basic header, percent-/form-encoded, split across lines, in a
//! URL query, cut by the 300-character message shortening). The real binary runs under
//! `GITHUB_ACTIONS=true` in every output format; no secret form may appear in stdout
//! (other than `::add-mask::` lines), stderr, the summary, the outputs or the JSON report.
//! Extends tests/it/secrets_never_leak.rs (planted secrets, honest servers) to echoes.

use crate::support;

use base64::Engine;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::Arc;
use support::http::{MockServer, Reply, Request, Response};
use support::servers::scripted;
use support::token::TokenServer;

const BIN: &str = env!("CARGO_BIN_EXE_acr-preflight");

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn pct(s: &str, upper: bool) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else if upper {
                format!("%{b:02X}")
            } else {
                format!("%{b:02x}")
            }
        })
        .collect()
}

fn form(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn basic_config(host: &str, user: &str, password: &str) -> String {
    format!(
        r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#,
        b64(&format!("{user}:{password}"))
    )
}

/// What one run of the binary left behind.
struct Run {
    status: Option<i32>,
    stdout: String,
    stderr: String,
    /// Every sink as (name, text); stdout without its `::add-mask::` lines.
    sinks: Vec<(&'static str, String)>,
    /// The JSON report (stdout with `--format json`, else the report file).
    report: Option<Value>,
}

impl Run {
    fn findings(&self, code: &str) -> Vec<Value> {
        self.report
            .as_ref()
            .and_then(|r| r["findings"].as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter(|f| f["code"] == code)
            .collect()
    }

    fn all_findings(&self) -> String {
        self.report
            .as_ref()
            .map(|r| r["findings"].to_string())
            .unwrap_or_default()
    }
}

/// Runs the binary like the action does: `GITHUB_ACTIONS=true`, summary and output
/// files, a docker config (and a credential helper `plant` when given).
fn run(
    format: &str,
    args: &[String],
    config: &str,
    helper: Option<&str>,
    env: &[(&str, String)],
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    let cfg = dir.path().join("docker");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("config.json"), config).unwrap();
    if let Some(body) = helper {
        let path = bin.join("docker-credential-plant");
        std::fs::write(&path, format!("#!/bin/bash\ncat >/dev/null\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let summary = dir.path().join("summary");
    let output = dir.path().join("output");
    std::fs::write(&summary, "").unwrap();
    std::fs::write(&output, "").unwrap();
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("HOME", dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output)
        .args(args)
        .args([
            "--docker-config",
            cfg.to_str().unwrap(),
            "--format",
            format,
            "--timeout",
            "20",
        ]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let visible = support::runner::without_mask_lines;
    let mut sinks = vec![
        ("stdout", visible(&stdout)),
        ("stderr", visible(&stderr)),
        ("summary", std::fs::read_to_string(&summary).unwrap()),
        ("outputs", std::fs::read_to_string(&output).unwrap()),
    ];
    let mut report = serde_json::from_str::<Value>(&stdout).ok();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            if report.is_none() {
                report = serde_json::from_str(&text).ok();
            }
            sinks.push(("json report", text));
        }
    }
    Run {
        status: out.status.code(),
        stdout,
        stderr,
        sinks,
        report,
    }
}

/// `word` in `text` as a whole token (not inside a longer run of letters and digits).
fn has_token(text: &str, word: &str) -> bool {
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        before.is_none_or(|c| !c.is_alphanumeric()) && after.is_none_or(|c| !c.is_alphanumeric())
    })
}

/// Every form a server may echo `secret` in, and its heads of 8 characters and more.
fn forms(secret: &str) -> Vec<String> {
    let mut out = vec![
        secret.to_string(),
        pct(secret, true),
        pct(secret, false),
        form(secret),
    ];
    let chars: Vec<char> = secret.chars().collect();
    if chars.len() > 8 {
        out.push(chars[..8].iter().collect());
    }
    out.sort();
    out.dedup();
    out
}

fn assert_clean(run: &Run, what: &str, needles: &[String], short: &[&str]) {
    assert!(
        matches!(run.status, Some(0..=2)),
        "{what}: status {:?}\n{}\n{}",
        run.status,
        run.stdout,
        run.stderr
    );
    for (sink, text) in &run.sinks {
        for needle in needles {
            assert!(
                !text.contains(needle.as_str()),
                "{what}: `{needle}` found in {sink}:\n{text}"
            );
        }
        for word in short {
            assert!(
                !has_token(text, word),
                "{what}: short secret `{word}` found in {sink}:\n{text}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// The echoing registry and token server
// ---------------------------------------------------------------------------------------

/// The registry token the echo server issues to the user `issue`.
const ISSUED_TOKEN: &str = "issuedRegistryTok3n~0123456789abcdefXYZ";

/// Every way the echo server repeats `value`: raw, split across lines, percent-encoded
/// in a URL query (both hex cases), form-encoded, and cut by the 300-character
/// shortening in the middle.
fn echo_entries(label: &str, value: &str) -> Vec<Value> {
    let chars: Vec<char> = value.chars().collect();
    let half = chars.len() / 2;
    let (head, tail): (String, String) = (
        chars[..half].iter().collect(),
        chars[half..].iter().collect(),
    );
    let cut_prefix = format!("{label} cut: ");
    let pad = "x".repeat(300 - cut_prefix.chars().count() - half);
    [
        format!("{label} echo: {value}"),
        format!("{label} split: {head}\n{tail}"),
        format!(
            "{label} url: https://evil.test/cb?token={}&x=1",
            pct(value, true)
        ),
        format!(
            "{label} lower: https://evil.test/cb?token={}",
            pct(value, false)
        ),
        format!("{label} form: {}", form(value)),
        format!("{cut_prefix}{pad}{value}"),
    ]
    .into_iter()
    .map(|m| json!({"code": "DENIED", "message": m}))
    .collect()
}

/// What a request carried that a server could echo: the Authorization header and its
/// parts, the form body and its values.
fn carried(req: &Request) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(auth) = req.header("authorization") {
        out.push(("header".to_string(), auth.to_string()));
        if let Some(encoded) = auth.strip_prefix("Basic ") {
            out.push(("base64".to_string(), encoded.to_string()));
            if let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(encoded) {
                let decoded = String::from_utf8_lossy(&bytes).into_owned();
                if let Some((_, pw)) = decoded.split_once(':') {
                    out.push(("password".to_string(), pw.to_string()));
                }
            }
        }
    }
    if !req.body.is_empty() {
        out.push((
            "body".to_string(),
            String::from_utf8_lossy(&req.body).into_owned(),
        ));
        for (k, v) in req.form() {
            if k == "refresh_token" || k == "client_secret" || k == "client_assertion" {
                out.push((k, v));
            }
        }
    }
    out
}

fn echo_body(status: u16, req: &Request) -> Response {
    let mut errors = Vec::new();
    for (label, value) in carried(req) {
        errors.extend(echo_entries(&label, &value));
    }
    errors.truncate(20);
    Response::json(status, &json!({ "errors": errors }))
}

/// A registry on 127.0.0.1 with its token endpoint on itself: `/token` issues
/// [`ISSUED_TOKEN`] to `issue`, the word `error` to `word`, and refuses everyone else
/// with an echo of what they sent; every authenticated registry call is answered 500
/// with an echo of its Authorization header.
fn echo_registry() -> MockServer {
    let listener = support::http::bind_loopback();
    let addr = listener.local_addr().unwrap();
    MockServer::from_listener(listener, move |req, _| {
        let user = req
            .header("authorization")
            .and_then(|a| a.strip_prefix("Basic "))
            .and_then(|e| base64::engine::general_purpose::STANDARD.decode(e).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .and_then(|d| d.split_once(':').map(|(u, _)| u.to_string()));
        Reply::Respond(match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/token") => echo_body(400, req),
            (_, "/token") => match user.as_deref() {
                Some("issue") => Response::json(200, &json!({ "token": ISSUED_TOKEN })),
                Some("word") => Response::json(200, &json!({ "token": "error" })),
                _ => echo_body(401, req),
            },
            _ if req.header("authorization").is_none() => {
                Response::registry_error(401, "UNAUTHORIZED", "authentication required").header(
                    "WWW-Authenticate",
                    &format!("Bearer realm=\"http://{addr}/token\",service=\"echo\""),
                )
            }
            _ => echo_body(500, req),
        })
    })
}

/// A channel: name, docker config, helper script, secret forms, short secrets.
type Case = (
    &'static str,
    String,
    Option<String>,
    Vec<String>,
    Vec<&'static str>,
);

#[test]
fn echoed_registry_credentials_never_reach_any_output() {
    let reg = echo_registry();
    let host = reg.addr().to_string();
    let args = vec![
        "--registry".to_string(),
        host.clone(),
        "--context".to_string(),
        format!("oci://{host}/team/ctx:v1"),
    ];
    let github_token = "ghs_Plant3dGitHubT0ken~0123456789".to_string();
    let cfg_pw = "cfgPass~Aa+1/b=Zq9";
    let helper_pw = "helperPw~7+x/Y=kk3";
    let refresh = "refreshTok-8Rt3~xYz0987654321";
    let issue_pw = "issuePw~55+aa/bb=";
    let helper_answer =
        format!(r#"echo '{{"ServerURL":"{host}","Username":"ci2","Secret":"{helper_pw}"}}'"#);
    let cases: Vec<Case> = vec![
        (
            "docker config auth",
            basic_config(&host, "ci", cfg_pw),
            None,
            [forms(cfg_pw), forms(&b64(&format!("ci:{cfg_pw}")))].concat(),
            vec![],
        ),
        (
            "helper answer",
            r#"{"credsStore":"plant"}"#.to_string(),
            Some(helper_answer),
            [forms(helper_pw), forms(&b64(&format!("ci2:{helper_pw}")))].concat(),
            vec![],
        ),
        (
            "ACR refresh token",
            format!(r#"{{"auths":{{"{host}":{{"identitytoken":"{refresh}"}}}}}}"#),
            None,
            forms(refresh),
            vec![],
        ),
        (
            "issued registry token",
            basic_config(&host, "issue", issue_pw),
            None,
            [
                forms(issue_pw),
                forms(ISSUED_TOKEN),
                forms(&b64(&format!("issue:{issue_pw}"))),
            ]
            .concat(),
            vec![],
        ),
        (
            "short password",
            basic_config(&host, "ci", "q7"),
            None,
            forms(&b64("ci:q7")),
            vec!["q7"],
        ),
    ];
    let env = vec![("GITHUB_TOKEN", github_token.clone())];
    for (what, config, helper, mut needles, short) in cases {
        needles.extend(forms(&github_token));
        for format in ["github", "text", "json"] {
            let r = run(format, &args, &config, helper.as_deref(), &env);
            assert_clean(&r, &format!("{what} ({format})"), &needles, &short);
        }
    }
    // The credentials really reached the server, which echoed them.
    let seen = reg.requests();
    assert!(
        seen.iter()
            .any(|r| r.method == "POST" && r.path == "/token")
    );
    assert!(seen.iter().any(|r| {
        r.header("authorization")
            .is_some_and(|a| a == format!("Bearer {ISSUED_TOKEN}"))
    }));
}

#[test]
fn a_token_that_is_a_plain_word_is_not_masked_in_the_job_log() {
    let reg = echo_registry();
    let host = reg.addr().to_string();
    let args = vec![
        "--registry".to_string(),
        host.clone(),
        "--context".to_string(),
        format!("oci://{host}/team/ctx:v1"),
    ];
    let r = run(
        "github",
        &args,
        &basic_config(&host, "word", "wordPw~1234567"),
        None,
        &[],
    );
    assert!(
        !r.stdout.lines().any(|l| l == "::add-mask::error"),
        "the word `error` was masked for the rest of the job:\n{}",
        r.stdout
    );
    assert!(
        r.stdout
            .lines()
            .any(|l| l.starts_with("::add-mask::") && l.contains("wordPw")),
        "the real password was not masked:\n{}",
        r.stdout
    );
    // The echoed token is still never printed as a token of its own.
    let seen = reg.requests();
    assert!(
        seen.iter()
            .any(|r| r.header("authorization") == Some("Bearer error"))
    );
    for (sink, text) in &r.sinks {
        assert!(
            !text.contains("echo: Bearer error"),
            "{sink} quotes the token:\n{text}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Azure: the client secret and the OIDC token echoed by Entra
// ---------------------------------------------------------------------------------------

#[test]
fn echoed_azure_credentials_never_reach_any_output() {
    use support::azure::{AzureFakes, GitHubClaims};
    const TENANT: &str = "11111111-2222-3333-4444-555555555555";
    const CLIENT: &str = "66666666-7777-8888-9999-000000000000";
    let az = AzureFakes::start();
    az.github
        .set_claims(GitHubClaims::branch("octo/app", "main"));
    az.route("login.microsoftonline.com", |req| {
        let mut entries = Vec::new();
        for (label, value) in carried(req) {
            entries.extend(echo_entries(&label, &value));
        }
        let description = entries
            .iter()
            .filter_map(|e| e["message"].as_str())
            .collect::<Vec<_>>()
            .join(" | ");
        Reply::Respond(Response::json(
            401,
            &json!({
                "error": "invalid_client",
                "error_description": format!("AADSTS7000215: Invalid client secret provided. {description}"),
                "error_codes": [7000215],
            }),
        ))
    });
    let secret = "Q8w~cl1ent.Secret~Zz+9/abc=".to_string();
    let args: Vec<String> = [
        "--registry",
        "myreg",
        "--tenant-id",
        TENANT,
        "--client-id",
        CLIENT,
        "--subscription-id",
        "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
        "--ca-file",
        az.ca_pem_path().to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(az.resolve_args(&["myreg.azurecr.io"]))
    .collect();
    for format in ["github", "text", "json"] {
        let r = run(
            format,
            &args,
            "{}",
            None,
            &[("AZURE_CLIENT_SECRET", secret.clone())],
        );
        assert_clean(
            &r,
            &format!("client secret ({format})"),
            &forms(&secret),
            &[],
        );
        let pairs = az.github.env();
        let oidc_env: Vec<(&str, String)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_string()))
            .collect();
        let r = run(format, &args, "{}", None, &oidc_env);
        let mut needles: Vec<String> = Vec::new();
        for v in az.sensitive_values() {
            needles.extend(forms(&v));
        }
        assert_clean(&r, &format!("OIDC token ({format})"), &needles, &[]);
    }
    let posted = az
        .raw_requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .count();
    assert!(posted >= 6, "Entra was not asked: {posted} POSTs");
}

// ---------------------------------------------------------------------------------------
// Origins: pagination, redirects, realms
// ---------------------------------------------------------------------------------------

/// A server that records what reaches it and answers 200 with a tag list.
fn recorder() -> MockServer {
    scripted(|_, _| {
        Reply::Respond(Response::json(
            200,
            &json!({"name": "team/x", "tags": ["stolen"]}),
        ))
    })
}

fn no_authorization(server: &MockServer) -> Result<(), String> {
    match server
        .requests()
        .into_iter()
        .find(|r| r.header("authorization").is_some())
    {
        Some(r) => Err(format!(
            "{} {} carried Authorization: {:?}",
            r.method,
            r.target,
            r.header("authorization")
        )),
        None => Ok(()),
    }
}

#[test]
fn tag_pagination_never_leaves_the_registry_origin() {
    let ts = Arc::new(TokenServer::start_with("pages", "pages-issuer"));
    ts.add_user("ci", "pagesPw~12345678");
    for repo in ["team/port", "team/host", "team/same"] {
        ts.grant("ci", repo, &["pull"]);
    }
    let rec = recorder();
    let rec_addr = rec.addr();
    let listener = support::http::bind_loopback();
    let addr = listener.local_addr().unwrap();
    let realm = ts.realm();
    let reg = MockServer::from_listener(listener, move |req, _| {
        let authed = req
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer "));
        if !authed {
            return Reply::Respond(
                Response::registry_error(401, "UNAUTHORIZED", "authentication required").header(
                    "WWW-Authenticate",
                    &format!("Bearer realm=\"{realm}\",service=\"pages\""),
                ),
            );
        }
        let repo = req
            .path
            .trim_start_matches("/v2/")
            .split("/tags/")
            .next()
            .unwrap_or_default()
            .to_string();
        if req.path.ends_with("/tags/list") {
            if req.query_first("last").is_some() {
                return Reply::Respond(Response::json(200, &json!({"name": repo, "tags": ["v2"]})));
            }
            let next = match repo.as_str() {
                "team/port" => format!("http://{rec_addr}/v2/{repo}/tags/list?last=v1"),
                "team/host" => format!(
                    "http://localhost:{}/v2/{repo}/tags/list?last=v1",
                    addr.port()
                ),
                _ => format!("/v2/{repo}/tags/list?last=v1"),
            };
            return Reply::Respond(
                Response::json(200, &json!({"name": repo, "tags": ["v1"]}))
                    .header("Link", &format!("<{next}>; rel=\"next\"")),
            );
        }
        Reply::Respond(Response::registry_error(
            404,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
        ))
    });
    let host = reg.addr().to_string();
    let config = basic_config(&host, "ci", "pagesPw~12345678");
    let find = |repo: &str| {
        let args = vec![
            "--registry".to_string(),
            host.clone(),
            "--context".to_string(),
            format!("docker-image://{host}/{repo}:v9"),
        ];
        let r = run("json", &args, &config, None, &[]);
        let found = r.findings("CONTEXT_NOT_FOUND");
        assert_eq!(found.len(), 1, "{repo}: {}", r.all_findings());
        found[0]["message"].as_str().unwrap_or_default().to_string()
    };
    // Control: a same-origin next page is followed.
    let same = find("team/same");
    assert!(same.contains("Tags (2): v1, v2"), "{same}");
    // Another port: not followed, the list is called partial and the origin named.
    let port = find("team/port");
    assert!(port.contains("Tags (1): v1"), "{port}");
    assert!(
        port.contains("partial") && port.contains(&format!("http://{rec_addr}")),
        "{port}"
    );
    // Another host name on the same port: not followed either.
    let other_host = find("team/host");
    assert!(other_host.contains("partial"), "{other_host}");
    assert_eq!(
        rec.hits(),
        0,
        "the recorder was asked: {:?}",
        rec.requests()
    );
    assert!(
        reg.requests().iter().all(|r| r.host() != "localhost"),
        "a page was fetched from another host name"
    );
}

/// A registry on 127.0.0.1 that redirects `phase` (ping, token, manifest, tags) to
/// the recorder with `status`.
fn redirecting_registry(
    ts: &TokenServer,
    rec: &MockServer,
    phase: &'static str,
    status: u16,
) -> MockServer {
    let listener = support::http::bind_loopback();
    let addr = listener.local_addr().unwrap();
    let rec_addr = rec.addr();
    let realm = if phase == "token" {
        format!("http://{addr}/token")
    } else {
        ts.realm()
    };
    MockServer::from_listener(listener, move |req, _| {
        let redirect = || {
            Reply::Respond(
                Response::new(status)
                    .header("Location", &format!("http://{rec_addr}{}", req.target)),
            )
        };
        let authed = req.header("authorization").is_some();
        match (phase, req.path.as_str()) {
            ("ping", _) => redirect(),
            ("token", "/token") => redirect(),
            _ if !authed => Reply::Respond(
                Response::registry_error(401, "UNAUTHORIZED", "authentication required").header(
                    "WWW-Authenticate",
                    &format!("Bearer realm=\"{realm}\",service=\"redir\""),
                ),
            ),
            ("manifest", p) if p.contains("/manifests/") => redirect(),
            ("tags", p) if p.contains("/manifests/") => Reply::Respond(Response::registry_error(
                404,
                "MANIFEST_UNKNOWN",
                "manifest unknown",
            )),
            ("tags", _) => redirect(),
            _ => Reply::Respond(Response::new(404)),
        }
    })
}

#[test]
fn redirects_never_carry_credentials_to_another_origin() {
    let ts = TokenServer::start_with("redir", "redir-issuer");
    ts.add_user("ci", "redirPw~12345678");
    ts.grant("ci", "team/ctx", &["pull"]);
    for (phase, status) in [
        ("ping", 301),
        ("token", 302),
        ("manifest", 307),
        ("tags", 308),
    ] {
        let rec = recorder();
        let reg = redirecting_registry(&ts, &rec, phase, status);
        let host = reg.addr().to_string();
        let args = vec![
            "--registry".to_string(),
            host.clone(),
            "--context".to_string(),
            format!("oci://{host}/team/ctx:v1"),
        ];
        let r = run(
            "json",
            &args,
            &basic_config(&host, "ci", "redirPw~12345678"),
            None,
            &[],
        );
        if let Err(e) = no_authorization(&rec) {
            panic!("{phase} ({status}): {e}");
        }
        assert_eq!(rec.hits(), 0, "{phase}: redirect followed");
        let all = r.all_findings();
        assert!(
            all.contains(&format!("redirect ({status})"))
                && all.contains(&format!("http://{}", rec.addr())),
            "{phase}: the redirect is not reported: {all}"
        );
        assert_clean(
            &r,
            phase,
            &[
                forms("redirPw~12345678"),
                forms(&b64("ci:redirPw~12345678")),
            ]
            .concat(),
            &[],
        );
    }
}

#[test]
fn a_token_realm_on_another_host_is_reported_by_name() {
    let ts = TokenServer::start_with("elsewhere", "elsewhere-issuer");
    ts.add_user("ci", "elsewherePw~1234");
    ts.grant("ci", "team/ctx", &["pull"]);
    // The registry is 127.0.0.1:PORT; its realm names `localhost`, another host.
    let realm = format!("http://localhost:{}/token", ts.addr().port());
    let reg = support::servers::scripted(move |req, _| {
        if req.header("authorization").is_none() {
            return Reply::Respond(
                Response::registry_error(401, "UNAUTHORIZED", "authentication required").header(
                    "WWW-Authenticate",
                    &format!("Bearer realm=\"{realm}\",service=\"elsewhere\""),
                ),
            );
        }
        Reply::Respond(Response::registry_error(
            404,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
        ))
    });
    let host = reg.addr().to_string();
    let args = vec![
        "--registry".to_string(),
        host.clone(),
        "--context".to_string(),
        format!("docker-image://{host}/team/ctx:v1"),
    ];
    let r = run(
        "json",
        &args,
        &basic_config(&host, "ci", "elsewherePw~1234"),
        None,
        &[],
    );
    let found = r.findings("REGISTRY_REALM_ELSEWHERE");
    assert_eq!(found.len(), 1, "{}", r.all_findings());
    assert_eq!(found[0]["severity"], "notice");
    let message = found[0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("localhost"), "{message}");
    assert!(message.contains("plain http"), "{message}");
    // As docker would, the credential went to the realm.
    assert!(
        ts.requests()
            .iter()
            .any(|r| r.basic_user.as_deref() == Some("ci"))
    );
}
