//! A secret planted in every kind of fixture (config entries, helper answers, helper
//! errors, helper garbage, JWTs, the client secret) must never appear in stdout (other
//! than its own `::add-mask::` line), stderr, the summary, the outputs or the JSON
//! report, in any output format.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_acr-preflight");
/// A TLS token registry reached by this name (--resolve), so that every planted
/// credential really goes to a token server and its refusals come back.
const HOST: &str = "registry.test";

struct Registry {
    ts: support::token::TokenServer,
    ca: support::tls::TestCa,
    reg: support::registry::TestRegistry,
    _dir: tempfile::TempDir,
}

fn registry() -> Registry {
    let dir = tempfile::tempdir().unwrap();
    let ts = support::token::TokenServer::start_with(HOST, "leak-issuer");
    let ca = support::tls::TestCa::new(dir.path());
    let (cert, key) = ca.issue_server_cert(&[HOST]);
    let reg = support::registry::TestRegistry::start_blocking(ts.registry_kind_tls(&cert, &key));
    Registry {
        ts,
        ca,
        reg,
        _dir: dir,
    }
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn jwt(exp_offset_secs: i64, planted: &str) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    acr_preflight::jwt::unsigned_for_tests(
        &serde_json::json!({"exp": now + exp_offset_secs, "jti": planted}),
    )
}

struct Fixture {
    name: &'static str,
    secret: String,
    config: String,
    helper: Option<String>,
    extra_env: Vec<(&'static str, String)>,
}

fn fixtures() -> Vec<Fixture> {
    let s = |n: u32| format!("PLANTED{n}x9f3kq0z7w2m5n8b1v4c6x0z9a8s7d6f5g4");
    let expired = jwt(-3600, &s(3));
    let soon = jwt(300, &s(4));
    let valid = jwt(3 * 3600, &s(9));
    vec![
        Fixture {
            name: "auths basic auth",
            secret: s(1),
            config: format!(
                r#"{{"auths":{{"{HOST}":{{"auth":"{}"}}}}}}"#,
                b64(&format!("user:{}", s(1)))
            ),
            helper: None,
            extra_env: vec![],
        },
        Fixture {
            name: "auths username/password fields",
            secret: s(2),
            config: format!(
                r#"{{"auths":{{"{HOST}":{{"username":"user","password":"{}"}}}}}}"#,
                s(2)
            ),
            helper: None,
            extra_env: vec![],
        },
        Fixture {
            name: "auths expired identity token",
            secret: expired.clone(),
            config: format!(r#"{{"auths":{{"{HOST}":{{"identitytoken":"{expired}"}}}}}}"#),
            helper: None,
            extra_env: vec![],
        },
        Fixture {
            name: "helper soon-expiring token",
            secret: soon.clone(),
            config: format!(r#"{{"credHelpers":{{"{HOST}":"plant"}}}}"#),
            helper: Some(format!(
                r#"echo '{{"ServerURL":"{HOST}","Username":"<token>","Secret":"{soon}"}}'"#
            )),
            extra_env: vec![],
        },
        Fixture {
            name: "helper password",
            secret: s(5),
            config: r#"{"credsStore":"plant"}"#.into(),
            helper: Some(format!(
                r#"echo '{{"ServerURL":"{HOST}","Username":"u","Secret":"{}"}}'"#,
                s(5)
            )),
            extra_env: vec![],
        },
        Fixture {
            name: "helper error text quoting a token",
            secret: s(6),
            config: r#"{"credsStore":"plant"}"#.into(),
            helper: Some(format!(
                r#"echo "error: token {} was rejected by the store"; exit 1"#,
                s(6)
            )),
            extra_env: vec![],
        },
        Fixture {
            name: "helper garbage holding a secret",
            secret: s(7),
            config: r#"{"credsStore":"plant"}"#.into(),
            helper: Some(format!(r#"echo 'Username: u Secret: {}'"#, s(7))),
            extra_env: vec![],
        },
        Fixture {
            name: "helper failure with a JSON answer",
            secret: s(8),
            config: r#"{"credsStore":"plant"}"#.into(),
            helper: Some(format!(
                r#"echo '{{"ServerURL":"{HOST}","Username":"u","Secret":"{}"}}'; exit 3"#,
                s(8)
            )),
            extra_env: vec![],
        },
        Fixture {
            name: "registry token",
            secret: valid.clone(),
            config: format!(r#"{{"auths":{{"{HOST}":{{"registrytoken":"{valid}"}}}}}}"#),
            helper: None,
            extra_env: vec![],
        },
        Fixture {
            name: "client secret",
            secret: s(10),
            config: "{}".into(),
            helper: None,
            extra_env: vec![("AZURE_CLIENT_SECRET", s(10))],
        },
    ]
}

fn run(fixture: &Fixture, format: &str, registry: &Registry) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    let cfg = dir.path().join("docker");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(cfg.join("config.json"), &fixture.config).unwrap();
    if let Some(body) = &fixture.helper {
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
        .args([
            "--registry",
            HOST,
            "--context",
            &format!("oci://{HOST}/team/ctx:v1"),
        ])
        .args(["--resolve", &format!("{HOST}={}", registry.reg.addr())])
        .args(["--ca-file", registry.ca.ca_pem_path().to_str().unwrap()])
        .args([
            "--docker-config",
            cfg.to_str().unwrap(),
            "--format",
            format,
            "--timeout",
            "20",
        ]);
    for (k, v) in &fixture.extra_env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}: status {:?}\n{stdout}\n{stderr}",
        fixture.name,
        out.status
    );
    let visible = support::runner::without_mask_lines;
    let outputs = std::fs::read_to_string(&output).unwrap();
    let mut files = vec![
        ("stdout", visible(&stdout)),
        ("stderr", visible(&stderr)),
        ("summary", std::fs::read_to_string(&summary).unwrap()),
        ("outputs", outputs.clone()),
    ];
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            files.push(("json report", std::fs::read_to_string(&path).unwrap()));
        }
    }
    let needles = [
        fixture.secret.as_str(),
        &fixture.secret[..16.min(fixture.secret.len())],
    ];
    for (what, text) in &files {
        for needle in needles {
            assert!(
                !text.contains(needle),
                "{} ({format}): secret found in {what}:\n{text}",
                fixture.name
            );
        }
    }
    {
        let announced = if format == "github" { &stdout } else { &stderr };
        let masked = announced.lines().any(|l| l.starts_with("::add-mask::"));
        let secret_was_read =
            !fixture.name.contains("garbage") && !fixture.name.contains("error text");
        if secret_was_read {
            assert!(
                masked,
                "{}: the secret was not masked:\n{stdout}",
                fixture.name
            );
        }
    }
}

#[test]
fn planted_secrets_never_reach_any_output() {
    let registry = registry();
    for fixture in fixtures() {
        for format in ["github", "text", "json"] {
            run(&fixture, format, &registry);
        }
    }
    // The planted credentials really went to the token server (and were refused there).
    let token_requests = registry.ts.requests();
    assert!(
        token_requests
            .iter()
            .any(|r| r.basic_user.is_some() || r.grant_type.as_deref() == Some("refresh_token")),
        "no credential reached the token server: {token_requests:?}"
    );
}
