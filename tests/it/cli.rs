//! The binary as a plain CLI: formats, exit statuses, explain, the deadline.

use crate::support;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_acr-preflight");

pub(crate) fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.env_clear().env("PATH", "/usr/bin:/bin").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A real registry (plain HTTP) holding `team/ctx:latest` and `team/ctx:v1`, and a
/// docker config with a password for it (also used by report_schema.rs).
pub(crate) struct Rig {
    registry: support::registry::TestRegistry,
    config: tempfile::TempDir,
    latest_digest: String,
}

impl Rig {
    pub(crate) fn new() -> Rig {
        let registry =
            support::registry::TestRegistry::start_blocking(support::registry::Kind::Plain);
        let latest_digest = support::block_on(async {
            let p = support::fixtures::Publisher::new(&registry.url());
            p.titled_artifact("team/ctx", "v1").await;
            p.titled_artifact("team/ctx", "latest").await.digest
        });
        let config = tempfile::tempdir().unwrap();
        std::fs::write(
            config.path().join("config.json"),
            format!(
                r#"{{"auths":{{"{}":{{"auth":"dTpzM2NyM3QtcHc="}}}}}}"#,
                registry.host()
            ),
        )
        .unwrap();
        Rig {
            registry,
            config,
            latest_digest,
        }
    }

    pub(crate) fn host(&self) -> String {
        self.registry.host()
    }

    pub(crate) fn config(&self) -> &str {
        self.config.path().to_str().unwrap()
    }
}

#[test]
fn json_output_has_the_documented_shape() {
    let rig = Rig::new();
    let host = rig.host();
    let context = format!("oci://{host}/team/ctx:latest");
    let out = run(
        &[
            "--registry",
            &host,
            "--context",
            &context,
            "--format",
            "json",
            "--docker-config",
            rig.config(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["result"], "warn");
    let f = &v["findings"][0];
    for key in ["code", "severity", "check", "title", "message", "fix"] {
        assert!(f[key].is_string(), "finding lacks {key}: {f}");
    }
    assert_eq!(f["code"], "REF_MUTABLE_TAG");
    let c = &v["contexts"][0];
    assert_eq!(c["reference"], context.as_str());
    assert_eq!(c["registry"], host.as_str());
    assert_eq!(c["repository"], "team/ctx");
    assert_eq!(c["tag"], "latest");
    assert_eq!(c["digest"], rig.latest_digest.as_str());
    assert_eq!(
        c["media_type"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert!(v["stats"]["http_requests"].as_u64().unwrap() >= 2);
    assert!(v.get("identity").is_some());
}

#[test]
fn fail_on_warning_turns_a_warning_into_exit_1() {
    let rig = Rig::new();
    let host = rig.host();
    let context = format!("oci://{host}/team/ctx");
    let base = [
        "--registry",
        &host,
        "--context",
        &context,
        "--docker-config",
        rig.config(),
    ];
    let out = run(&base, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&[&base[..], &["--fail-on", "warning"]].concat(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn text_output_is_plain_when_piped_and_reads_like_a_diagnostic() {
    let rig = Rig::new();
    let host = rig.host();
    let port = rig.registry.port();
    // 127.0.0.2 is loopback too, but nothing listens there: a typo'd host that refuses.
    let typo = format!("oci://127.0.0.2:{port}/team/ctx:v1");
    let out = run(
        &[
            "--registry",
            &host,
            "--context",
            &typo,
            "--docker-config",
            rig.config(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    assert!(!t.contains('\x1b'), "colour on a pipe: {t:?}");
    assert!(
        t.starts_with(&format!(
            "error[REF_WRONG_REGISTRY]: `{typo}` is on 127.0.0.2:{port}, not on {host}\n   = seen: "
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!("\n   = help: Use `oci://{host}/team/ctx:v1`")),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "error[NET_CONNECT]: cannot connect to 127.0.0.2:{port}\n"
        )),
        "{t}"
    );
    assert!(
        t.ends_with("result: fail (3 errors; fail-on: error)\n"),
        "{t}"
    );
}

#[test]
fn explain_prints_the_documented_section() {
    let out = run(&["explain", "helper_not_found"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let t = text(&out);
    assert!(t.starts_with("## HELPER_NOT_FOUND\n"), "{t}");
    assert!(t.contains("**Fix.**"));
    let out = run(&["explain"], &[]);
    assert!(text(&out).contains("CRED_EXPIRED"));
    let out = run(&["explain", "NOPE"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn invocation_errors_exit_2_with_one_line() {
    for args in [
        vec!["--bogus"],
        vec!["--registry", "r.io", "--fail-on", "sometimes"],
        vec![],
    ] {
        let out = run(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_hanging_helper_cannot_hold_the_run_past_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let helper = bin.join("docker-credential-hang");
    // The helper and its child both ignore stdin and sleep far past the deadline.
    std::fs::write(&helper, "#!/bin/bash\nsleep 300 &\nwait\n").unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(dir.path().join("config.json"), r#"{"credsStore":"hang"}"#).unwrap();
    let started = Instant::now();
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .args([
            "--registry",
            "myreg",
            "--context",
            "oci://myreg.azurecr.io/ctx:v1",
            "--format",
            "json",
            "--timeout",
            "2",
        ])
        .args(["--docker-config", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let took = started.elapsed();
    // The bound is the deadline plus process start and exit, far below the helper's 300 s.
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"HELPER_FAILED") || codes.contains(&"RUN_TIMEOUT"),
        "{codes:?}"
    );
}

#[test]
fn a_run_without_references_warns_instead_of_passing() {
    let rig = Rig::new();
    let host = rig.host();
    let out = run(
        &[
            "--registry",
            &host,
            "--format",
            "json",
            "--docker-config",
            rig.config(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["result"], "warn");
    let codes: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["RUN_NOTHING_TO_CHECK"], "{v:#}");
    // The registry itself was still reached, and its credential accepted.
    let registry = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "registry")
        .unwrap();
    assert!(
        registry["verified"]
            .to_string()
            .contains("answers without credentials"),
        "{v:#}"
    );
}

#[test]
fn json_under_actions_masks_secrets_for_the_runner_on_stderr_and_keeps_stdout_json() {
    let rig = Rig::new();
    let host = rig.host();
    // The docker config's password is registered as soon as the file is read.
    let out = run(
        &[
            "--registry",
            &host,
            "--context",
            &format!("{host}/team/ctx:v1"),
            "--format",
            "json",
            "--docker-config",
            rig.config(),
        ],
        &[("GITHUB_ACTIONS", "true")],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.lines().any(|l| l.starts_with("::add-mask::")),
        "stderr: {stderr}"
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", text(&out)));
    assert_eq!(v["result"], "pass", "{v:#}");

    // Outside Actions nothing is announced.
    let out = run(
        &[
            "--registry",
            &host,
            "--context",
            &format!("{host}/team/ctx:v1"),
            "--format",
            "json",
            "--docker-config",
            rig.config(),
        ],
        &[],
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("::add-mask::"));
}
