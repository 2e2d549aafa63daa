//! The GitHub Actions contract, end to end: the built binary run as the runner runs a
//! container action (GITHUB_ACTIONS=true, INPUT_* variables, fresh GITHUB_STEP_SUMMARY
//! and GITHUB_OUTPUT files), with stdout read back by a parser that follows the
//! runner's own rules (actions/runner ActionCommand.cs, FileCommandManager.cs).

use crate::support;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_acr-preflight");

use support::runner::{RunnerCommand, runner_commands, runner_outputs};

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
    summary: String,
    outputs: BTreeMap<String, String>,
    report: serde_json::Value,
    _dir: tempfile::TempDir,
}

fn write_helper(bin_dir: &Path, name: &str, body: &str) {
    let path = bin_dir.join(format!("docker-credential-{name}"));
    std::fs::write(&path, format!("#!/bin/bash\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs the binary as a container action step with these inputs and docker config.
fn run_action(inputs: &[(&str, &str)], docker_config: &str, helpers: &[(&str, &str)]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let bin_dir = dir.path().join("bin");
    let cfg_dir = dir.path().join("docker");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::fs::create_dir_all(&cfg_dir).unwrap();
    std::fs::write(cfg_dir.join("config.json"), docker_config).unwrap();
    for (name, body) in helpers {
        write_helper(&bin_dir, name, body);
    }
    let summary: PathBuf = dir.path().join("step_summary");
    let output: PathBuf = dir.path().join("set_output");
    std::fs::write(&summary, "").unwrap();
    std::fs::write(&output, "").unwrap();
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin_dir.display()))
        .env("HOME", dir.path())
        .env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &output)
        .env("INPUT_DOCKER-CONFIG", &cfg_dir)
        // The runner sets every declared input; unset ones are empty or their default.
        .env("INPUT_AUTH-MODE", "auto")
        .env("INPUT_FAIL-ON", "error")
        .env("INPUT_TIMEOUT", "20")
        .env("INPUT_FORMAT", "")
        .env("INPUT_CA-FILE", "");
    for (k, v) in inputs {
        cmd.env(format!("INPUT_{}", k.to_uppercase()), v);
    }
    let out = cmd.output().unwrap();
    let outputs = runner_outputs(&std::fs::read_to_string(&output).unwrap());
    let report = outputs
        .get("report")
        .filter(|p| !p.is_empty())
        .map(|p| serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap())
        .unwrap_or(serde_json::Value::Null);
    Run {
        status: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        summary: std::fs::read_to_string(&summary).unwrap(),
        outputs,
        report,
        _dir: dir,
    }
}

/// Keeps the ACR names these tests use off the network: they resolve to a loopback
/// address nothing listens on, so the registry check fails fast and the same way
/// everywhere.
fn offline_resolve() -> String {
    let dead = support::registry::refused_addr();
    format!("myreg.azurecr.io={dead}\nmyregg.azurecr.io={dead}")
}

fn findings(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["findings"].as_array().cloned().unwrap_or_default()
}

/// Asserts that the annotations are exactly the report's findings (ranked, at most
/// ten per level), with title and message surviving the escaping round trip.
fn assert_annotations_match_report(run: &Run) {
    let commands = runner_commands(&run.stdout);
    let annotations: Vec<&RunnerCommand> = commands
        .iter()
        .filter(|c| matches!(c.name.as_str(), "error" | "warning" | "notice"))
        .collect();
    let mut expected = Vec::new();
    let mut per_level = BTreeMap::<String, usize>::new();
    for f in findings(&run.report) {
        let level = f["severity"].as_str().unwrap().to_string();
        let n = per_level.entry(level.clone()).or_default();
        *n += 1;
        if *n <= 10 {
            expected.push(f);
        }
    }
    assert_eq!(
        annotations.len(),
        expected.len(),
        "annotations vs findings\nstdout:\n{}",
        run.stdout
    );
    for (a, f) in annotations.iter().zip(&expected) {
        assert_eq!(a.name, f["severity"].as_str().unwrap());
        assert_eq!(
            a.properties["title"],
            format!(
                "{}: {}",
                f["code"].as_str().unwrap(),
                f["title"].as_str().unwrap()
            )
            .replace("##[", "##\u{200B}[")
        );
        let mut message = f["message"].as_str().unwrap().to_string();
        message.push_str("\nFix: ");
        message.push_str(f["fix"].as_str().unwrap());
        assert_eq!(a.data, message.replace("##[", "##\u{200B}["));
    }
    let others: Vec<&str> = commands
        .iter()
        .map(|c| c.name.as_str())
        .filter(|n| !matches!(*n, "error" | "warning" | "notice" | "add-mask"))
        .collect();
    assert_eq!(
        others.len(),
        3,
        "only group, stop-commands and endgroup may appear besides annotations (the resume token ends the stop): {others:?}"
    );
    assert_eq!(others, ["group", "stop-commands", "endgroup"]);
}

#[test]
fn a_failing_run_annotates_summarises_and_sets_outputs() {
    let run = run_action(
        &[
            ("registry", "myreg"),
            ("resolve", &offline_resolve()),
            (
                "context",
                "oci://myreg.azurecr.io/team/ctx:v1\noci://myregg.azurecr.io/team/ctx:v1\n",
            ),
        ],
        r#"{"credsStore":"desktop"}"#,
        &[],
    );
    assert_eq!(
        run.status, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(run.outputs["result"], "fail");
    assert_eq!(run.outputs["digest"], "");
    assert_eq!(run.report["result"], "fail");
    assert_eq!(run.report["version"], 1);
    let codes: Vec<String> = findings(&run.report)
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    assert!(codes.iter().any(|c| c == "REF_WRONG_REGISTRY"), "{codes:?}");
    assert!(codes.iter().any(|c| c == "HELPER_NOT_FOUND"), "{codes:?}");
    assert_annotations_match_report(&run);

    // The exact first annotation: the wrong registry, ranked among errors.
    let commands = runner_commands(&run.stdout);
    let wrong = commands
        .iter()
        .find(|c| {
            c.properties
                .get("title")
                .is_some_and(|t| t.starts_with("REF_WRONG_REGISTRY"))
        })
        .unwrap();
    assert!(wrong.data.contains("myregg.azurecr.io"), "{}", wrong.data);
    assert!(
        wrong.data.contains("oci://myreg.azurecr.io/team/ctx:v1"),
        "{}",
        wrong.data
    );

    // Summary: verdict, the checks table, each finding with its fix.
    assert!(
        run.summary.starts_with("## acr-preflight: ❌ **fail**"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("- **Context reference**: "));
    assert!(run.summary.contains("- **Docker credentials**: ❌ fail"));
    assert!(run.summary.contains("`REF_WRONG_REGISTRY`"));
    assert!(run.summary.contains("`HELPER_NOT_FOUND`"));
    assert!(run.summary.matches("**Fix:**").count() >= 2);
}

#[test]
fn a_passing_run_reports_evidence() {
    let registry = support::registry::TestRegistry::start_blocking(support::registry::Kind::Plain);
    let published = support::block_on(async {
        support::fixtures::Publisher::new(&registry.url())
            .titled_artifact("team/ctx", "v1")
            .await
    });
    let host = registry.host();
    let run = run_action(
        &[
            ("registry", &host),
            ("context", &format!("oci://{host}/team/ctx:v1")),
        ],
        &format!(r#"{{"auths":{{"{host}":{{"auth":"dXNlcjpwYXNzd29yZC1wbGFudGVkLTEyMw=="}}}}}}"#),
        &[],
    );
    assert_eq!(
        run.status, 0,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert_eq!(run.outputs["result"], "pass");
    assert_eq!(run.outputs["digest"], published.digest);
    assert!(run.summary.contains("✅ **pass**"), "{}", run.summary);
    assert!(run.summary.contains(&published.digest), "{}", run.summary);
    assert!(
        run.summary.contains("- **Context reference**: ✅ pass"),
        "{}",
        run.summary
    );
    assert!(
        run.summary.contains("- **Docker credentials**: ✅ pass"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains(&host));
    let checks = run.report["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| c["status"] == "pass"), "{checks:?}");
    // The password was masked before anything printed, and appears nowhere.
    let commands = runner_commands(&run.stdout);
    assert!(
        commands
            .iter()
            .any(|c| c.name == "add-mask" && c.data == "password-planted-123")
    );
    let everything = format!(
        "{}{}{}{}",
        run.summary,
        run.report,
        run.stderr,
        run.outputs.values().cloned().collect::<String>()
    );
    assert!(!everything.contains("password-planted-123"));
    let stdout_without_masks: String = run
        .stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    assert!(!stdout_without_masks.contains("password-planted-123"));
}

#[test]
fn nothing_from_inputs_or_helpers_can_inject_a_workflow_command() {
    let hostile = [
        "oci://myreg.azurecr.io/ctx:v1%0A::error::pwned-by-percent",
        "docker-image://x::error title=pwned::injected",
        "a,b:c ##[error]legacy-pwned",
        "::warning::starts-a-line\r::notice::after-cr",
        "::add-mask::oops",
    ]
    .join("\n");
    let helper_output = r#"echo 'boom%0A::error::helper-pwned'; printf '##[error]legacy from helper, with:colons\r\n::warning::next-line\n'; exit 1"#;
    let run = run_action(
        &[
            ("registry", "myreg.azurecr.io"),
            ("context", &hostile),
            ("resolve", &offline_resolve()),
        ],
        r#"{"credHelpers":{"myreg.azurecr.io":"evil"}}"#,
        &[("evil", helper_output)],
    );
    assert_eq!(
        run.status, 1,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    // Every annotation is one of our findings; nothing else became a command.
    assert_annotations_match_report(&run);
    for c in runner_commands(&run.stdout) {
        assert!(
            !c.data.contains("pwned") || matches!(c.name.as_str(), "error" | "warning" | "notice"),
            "injected command: {c:?}"
        );
        assert!(
            c.name != "add-mask" || !c.data.contains("oops"),
            "injected mask: {c:?}"
        );
    }
    let helper_failed = findings(&run.report)
        .into_iter()
        .find(|f| f["code"] == "HELPER_FAILED")
        .expect("the hostile helper is reported");
    assert!(helper_failed["message"].as_str().unwrap().contains("boom"));
    // The summary holds no raw HTML or table breaks from the hostile values.
    assert!(!run.summary.contains("##["));
}

#[test]
fn a_bad_input_fails_with_one_annotated_line_and_status_2() {
    let run = run_action(
        &[("registry", "myreg"), ("fail-on", "sometimes")],
        "{}",
        &[],
    );
    assert_eq!(run.status, 2);
    assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("input `fail-on` (INPUT_FAIL-ON)"),
        "{}",
        run.stderr
    );
    let commands = runner_commands(&run.stdout);
    assert_eq!(commands.len(), 1);
    assert_eq!(commands[0].name, "error");
}
