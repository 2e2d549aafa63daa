//! Hardening (issue 10), end to end against the built binary: injection on every stream
//! and in every format under Actions, hostile files read within a cap and without
//! hanging, and runner files never written through a symlink.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use support::runner::{command_like_lines, runner_commands, runner_outputs};

const BIN: &str = env!("CARGO_BIN_EXE_acr-preflight");

/// The binary under Actions with a clean environment and these variables.
fn actions(dir: &Path, vars: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env(
            "PATH",
            format!("{}:/usr/bin:/bin", dir.join("bin").display()),
        )
        .env("HOME", dir)
        .env("GITHUB_ACTIONS", "true")
        .env("INPUT_TIMEOUT", "5");
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// No stream holds a workflow command that came from outside text: stderr none at all,
/// stdout only the ones acr-preflight emits itself (masks, annotations, the report's
/// group and its stop-commands), and no command other than an annotation carries
/// planted text.
fn assert_no_injection(out: &Output) {
    let stderr = text(&out.stderr);
    let bad = command_like_lines(&stderr);
    assert!(bad.is_empty(), "stderr carries commands: {bad:?}\n{stderr}");
    let stdout = text(&out.stdout);
    for c in runner_commands(&stdout) {
        let ours = matches!(
            c.name.as_str(),
            "add-mask" | "error" | "warning" | "notice" | "group" | "stop-commands" | "endgroup"
        );
        assert!(ours, "injected command {c:?}\n{stdout}");
        if !matches!(c.name.as_str(), "error" | "warning" | "notice") {
            assert!(!c.data.to_lowercase().contains("pwned"), "injected {c:?}");
        }
    }
}

/// Text and JSON print no command at all but masks.
fn assert_no_command_but_masks(out: &Output) {
    let stdout = text(&out.stdout);
    let bad: Vec<String> = command_like_lines(&stdout)
        .into_iter()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    assert!(bad.is_empty(), "stdout carries commands: {bad:?}\n{stdout}");
}

#[test]
fn an_invalid_input_value_cannot_inject_through_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = actions(
        dir.path(),
        &[
            ("INPUT_REGISTRY", "myreg"),
            ("INPUT_TIMEOUT", "5\n::warning::PWNED\r##[error]legacy"),
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_no_injection(&out);
    let stderr = text(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("input `timeout`"), "{stderr}");
    let commands = runner_commands(&text(&out.stdout));
    assert_eq!(commands.len(), 1, "{commands:?}");
    assert_eq!(commands[0].name, "error");
}

/// A credential helper that answers with command-looking lines on every stream.
fn hostile_helper(dir: &Path) -> (String, String) {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-evil");
    std::fs::write(
        &helper,
        "#!/bin/sh\nprintf 'boom\\n::warning::helper-pwned\\n  ::error::indented\\r::notice::after-cr\\n##[error]legacy\\n'\nprintf '::warning::from-stderr\\n' >&2\nexit 1\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cfg = dir.join("docker");
    std::fs::create_dir_all(&cfg).unwrap();
    std::fs::write(
        cfg.join("config.json"),
        r#"{"credHelpers":{"myreg.azurecr.io":"evil"}}"#,
    )
    .unwrap();
    let dead = support::registry::refused_addr();
    (
        cfg.display().to_string(),
        format!("myreg.azurecr.io={dead}"),
    )
}

#[test]
fn text_and_json_formats_under_actions_carry_no_command() {
    for format in ["text", "json", "github"] {
        let dir = tempfile::tempdir().unwrap();
        let (cfg, resolve) = hostile_helper(dir.path());
        let out = actions(
            dir.path(),
            &[
                ("INPUT_FORMAT", format),
                ("INPUT_REGISTRY", "myreg.azurecr.io"),
                ("INPUT_DOCKER-CONFIG", &cfg),
                ("INPUT_RESOLVE", &resolve),
                ("INPUT_CONTEXT", "oci://myreg.azurecr.io/a:v1"),
            ],
        )
        .output()
        .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{format}: {}",
            text(&out.stderr)
        );
        assert_no_injection(&out);
        if format != "github" {
            assert_no_command_but_masks(&out);
        }
        let stdout = text(&out.stdout);
        assert!(
            stdout.contains("helper-pwned"),
            "{format}: the text is kept"
        );
        if format == "json" {
            // The same value: `##[` is only written differently.
            let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            let helper = v["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["code"] == "HELPER_FAILED")
                .expect("HELPER_FAILED");
            assert!(
                helper["message"]
                    .as_str()
                    .unwrap()
                    .contains("##[error]legacy"),
                "{helper}"
            );
        }
    }
}

/// Runs the binary (not under Actions) on a docker config directory; returns the JSON
/// report and how long it took.
fn check_config(dir: &Path) -> (serde_json::Value, Duration, Output) {
    let start = Instant::now();
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .args([
            "--format",
            "json",
            "--timeout",
            "5",
            "--registry",
            "r.example",
        ])
        .arg("--docker-config")
        .arg(dir)
        .output()
        .unwrap();
    let took = start.elapsed();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (json, took, out)
}

fn config_finding(report: &serde_json::Value) -> Option<String> {
    report["findings"]
        .as_array()?
        .iter()
        .find(|f| f["code"] == "DOCKER_CONFIG_INVALID")
        .map(|f| f["message"].as_str().unwrap_or_default().to_string())
}

/// Makes a hostile `config.json` at the path given.
type Maker = Box<dyn Fn(&Path)>;

#[test]
fn hostile_docker_configs_are_refused_quickly_within_the_cap() {
    let cases: Vec<(&str, Maker, &str)> = vec![
        (
            "symlink to /dev/zero",
            Box::new(|p| std::os::unix::fs::symlink("/dev/zero", p).unwrap()),
            "character device",
        ),
        (
            "FIFO",
            Box::new(|p| assert!(Command::new("mkfifo").arg(p).status().unwrap().success())),
            "FIFO",
        ),
        (
            "directory",
            Box::new(|p| std::fs::create_dir(p).unwrap()),
            "directory",
        ),
        (
            "huge",
            Box::new(|p| {
                let f = std::fs::File::create(p).unwrap();
                f.set_len(64 * 1024 * 1024).unwrap();
            }),
            "few KiB",
        ),
        (
            "invalid UTF-8",
            Box::new(|p| std::fs::write(p, b"{\"auths\": {\"\xff\xfe\": {}}}").unwrap()),
            "UTF-8",
        ),
        (
            "deeply nested",
            Box::new(|p| {
                let depth = 100_000;
                std::fs::write(p, format!("{}{}", "[".repeat(depth), "]".repeat(depth))).unwrap()
            }),
            "recursion",
        ),
    ];
    for (name, make, expect) in cases {
        let dir = tempfile::tempdir().unwrap();
        make(&dir.path().join("config.json"));
        let (report, took, out) = check_config(dir.path());
        assert!(took < Duration::from_secs(4), "{name}: took {took:?}");
        let message = config_finding(&report).unwrap_or_else(|| {
            panic!(
                "{name}: no DOCKER_CONFIG_INVALID\n{}\n{}",
                text(&out.stdout),
                text(&out.stderr)
            )
        });
        assert!(message.contains(expect), "{name}: {message}");
    }
}

#[test]
fn forty_thousand_auths_cost_little_and_mask_only_what_the_build_uses() {
    let dir = tempfile::tempdir().unwrap();
    let b64 = |s: &str| {
        use std::fmt::Write;
        // Standard base64 without a dependency: good enough for ASCII test values.
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let b = s.as_bytes();
        let mut out = String::new();
        for chunk in b.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, c)| n | (u32::from(*c) << (16 - 8 * i)));
            for i in 0..4 {
                if i <= chunk.len() {
                    let _ = write!(out, "{}", T[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    };
    let mut auths: Vec<String> = (0..40_000)
        .map(|i| {
            format!(
                r#""h{i}.example":{{"auth":"{}"}}"#,
                b64(&format!("u{i}:pass-{i}-xxxxxxxx"))
            )
        })
        .collect();
    auths.push(format!(
        r#""r.example":{{"auth":"{}"}}"#,
        b64("user:planted-pass-4711")
    ));
    std::fs::write(
        dir.path().join("config.json"),
        format!(r#"{{"auths":{{{}}}}}"#, auths.join(",")),
    )
    .unwrap();
    let start = Instant::now();
    let out = actions(
        dir.path(),
        &[
            ("INPUT_REGISTRY", "r.example"),
            ("INPUT_DOCKER-CONFIG", &dir.path().display().to_string()),
            (
                "INPUT_RESOLVE",
                &format!("r.example={}", support::registry::refused_addr()),
            ),
        ],
    )
    .output()
    .unwrap();
    let took = start.elapsed();
    // Unoptimised test build; the release build takes a fraction of this.
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let stdout = text(&out.stdout);
    let masks: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::add-mask::"))
        .collect();
    // Only the used host's secrets (and the encoded forms the secret registry adds).
    assert!(masks.len() <= 20, "{} masks: {masks:?}", masks.len());
    assert!(!masks.iter().any(|m| m.contains("pass-0-")), "{masks:?}");
    assert!(
        masks.contains(&"::add-mask::planted-pass-4711"),
        "{masks:?}"
    );
    assert!(
        stdout
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .all(|l| !l.contains("planted-pass-4711"))
    );
}

#[test]
fn hostile_event_payloads_are_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("event.json");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let zero = dir.path().join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    for path in [&fifo, &zero] {
        let env = acr_preflight::config::RunEnvironment {
            event_path: Some(path.clone()),
            ..Default::default()
        };
        let start = Instant::now();
        let info = acr_preflight::event::EventInfo::load(&env);
        assert!(start.elapsed() < Duration::from_secs(2));
        let problem = info.payload_problem.unwrap_or_default();
        assert!(problem.contains("not a regular file"), "{problem}");
    }
}

struct RunnerFiles {
    dir: tempfile::TempDir,
}

impl RunnerFiles {
    fn new() -> RunnerFiles {
        RunnerFiles {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
    fn run(&self, summary: &Path, output: &Path) -> Output {
        let cfg = self.path("docker");
        std::fs::create_dir_all(&cfg).unwrap();
        std::fs::write(cfg.join("config.json"), "{}").unwrap();
        actions(
            self.dir.path(),
            &[
                ("INPUT_REGISTRY", "r.example"),
                ("INPUT_DOCKER-CONFIG", &cfg.display().to_string()),
                (
                    "INPUT_RESOLVE",
                    &format!("r.example={}", support::registry::refused_addr()),
                ),
                ("GITHUB_STEP_SUMMARY", &summary.display().to_string()),
                ("GITHUB_OUTPUT", &output.display().to_string()),
            ],
        )
        .output()
        .unwrap()
    }
}

#[test]
fn symlinked_runner_files_are_refused_not_followed() {
    let files = RunnerFiles::new();
    let elsewhere = tempfile::tempdir().unwrap();
    let victim = elsewhere.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let (summary, output) = (files.path("summary"), files.path("output"));
    std::os::unix::fs::symlink(&victim, &summary).unwrap();
    std::os::unix::fs::symlink(&victim, &output).unwrap();
    let out = files.run(&summary, &output);
    assert_no_injection(&out);
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    // Nothing was written beside the link's target either.
    assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 1);
    let stderr = text(&out.stderr);
    assert!(stderr.contains("GITHUB_STEP_SUMMARY"), "{stderr}");
    assert!(stderr.contains("GITHUB_OUTPUT"), "{stderr}");
    assert!(stderr.contains("symbolic link"), "{stderr}");
}

#[test]
fn a_device_as_summary_gets_no_report_beside_it() {
    let files = RunnerFiles::new();
    let output = files.path("output");
    std::fs::write(&output, "").unwrap();
    let out = files.run(Path::new("/dev/full"), &output);
    let outputs = runner_outputs(&std::fs::read_to_string(&output).unwrap());
    assert_eq!(outputs["report"], "", "{outputs:?}");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("character device"), "{stderr}");
}

#[test]
fn regular_runner_files_still_work() {
    let files = RunnerFiles::new();
    let (summary, output) = (files.path("summary"), files.path("output"));
    std::fs::write(&summary, "").unwrap();
    std::fs::write(&output, "").unwrap();
    let out = files.run(&summary, &output);
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
    let outputs = runner_outputs(&std::fs::read_to_string(&output).unwrap());
    let report = Path::new(&outputs["report"]);
    assert_eq!(report.parent(), Some(files.dir.path()));
    assert!(
        std::fs::read_to_string(report)
            .unwrap()
            .contains("\"version\": 1")
    );
    assert!(
        std::fs::read_to_string(&summary)
            .unwrap()
            .starts_with("## acr-preflight")
    );
}
