//! The binary as a plain CLI: formats, exit statuses, explain, the deadline.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_acr-preflight");

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
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

fn empty_config() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("config.json"),
        r#"{"auths":{"myreg.azurecr.io":{"auth":"dTpzM2NyM3QtcHc="}}}"#,
    )
    .unwrap();
    dir
}

#[test]
fn json_output_has_the_documented_shape() {
    let cfg = empty_config();
    let out = run(
        &[
            "--registry",
            "myreg",
            "--context",
            "oci://myreg.azurecr.io/ctx:latest",
            "--format",
            "json",
            "--docker-config",
            cfg.path().to_str().unwrap(),
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
    assert_eq!(c["reference"], "oci://myreg.azurecr.io/ctx:latest");
    assert_eq!(c["registry"], "myreg.azurecr.io");
    assert_eq!(c["repository"], "ctx");
    assert_eq!(c["tag"], "latest");
    assert!(c["digest"].is_null() && c["media_type"].is_null());
    assert!(v.get("identity").is_some());
}

#[test]
fn fail_on_warning_turns_a_warning_into_exit_1() {
    let cfg = empty_config();
    let base = [
        "--registry",
        "myreg",
        "--context",
        "oci://myreg.azurecr.io/ctx",
        "--docker-config",
        cfg.path().to_str().unwrap(),
    ];
    let out = run(&base, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = run(&[&base[..], &["--fail-on", "warning"]].concat(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn text_output_is_plain_when_piped_and_reads_like_a_diagnostic() {
    let cfg = empty_config();
    let out = run(
        &[
            "--registry",
            "myreg",
            "--context",
            "oci://myregg.azurecr.io/ctx:v1",
            "--docker-config",
            cfg.path().to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    assert!(!t.contains('\x1b'), "colour on a pipe: {t:?}");
    assert!(t.starts_with("error[REF_WRONG_REGISTRY]: `oci://myregg.azurecr.io/ctx:v1` is on myregg.azurecr.io, not on myreg.azurecr.io\n   = seen: "), "{t}");
    assert!(
        t.contains("\n   = help: Use `oci://myreg.azurecr.io/ctx:v1`"),
        "{t}"
    );
    assert!(
        t.ends_with("result: fail (2 errors; fail-on: error)\n"),
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
