//! A runner behind an egress proxy whose docker daemon has none (issue 13, P47), through
//! the real binary as the runner starts it, with a fake `docker` on PATH that prints
//! what `docker info --format '{{json .}}'` prints (the keys of moby's
//! `api/types/system.Info`: `ServerVersion`, `HttpProxy`, `HttpsProxy`, `NoProxy`;
//! https://github.com/moby/moby/blob/master/api/types/system/info.go). The real daemon
//! is not available in tests. The proxy's URL, with its password, must appear nowhere.

use crate::workflow_context::doc_example;
use crate::workflow_precision::{Run, find, run_in, workspace_with};
use acr_preflight::findings::Code;
use std::os::unix::fs::PermissionsExt;

const WORKFLOW: &str = "name: build
on: push
jobs:
  build:
    runs-on: [self-hosted, linux]
    steps:
      - id: pre
        uses: acr-preflight/acr-preflight@v0
      - run: docker buildx build --push -t myreg.azurecr.io/team/app:1 .
";

const PASSWORD: &str = "s3cret-Pr0xy";

/// Runs acr-preflight with `HTTPS_PROXY` set (to a closed port, with a password) and a
/// fake `docker` whose `docker info` prints `info` (`None`: no docker on PATH).
fn run(info: Option<&str>, format: &str) -> (Run, String) {
    let (workspace, docker_config) = workspace_with(WORKFLOW, "{}");
    let bin = workspace.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    if let Some(info) = info {
        let script = bin.join("docker");
        std::fs::write(
            &script,
            format!("#!/bin/sh\n[ \"$1\" = info ] || exit 2\ncat <<'JSON'\n{info}\nJSON\n"),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let proxy = format!("http://ci:{PASSWORD}@127.0.0.1:{port}");
    let resolve = format!("myreg.azurecr.io=127.0.0.1:{port}");
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let r = run_in(
        workspace.path(),
        &docker_config,
        "build",
        &[("resolve", &resolve), ("format", format)],
        &[
            ("PATH", &path),
            ("HTTPS_PROXY", &proxy),
            ("RUNNER_ENVIRONMENT", "self-hosted"),
        ],
    );
    assert!(!r.stdout.contains(PASSWORD), "{}", r.stdout);
    assert!(!r.stdout.contains(&proxy), "{}", r.stdout);
    (r, proxy)
}

const NO_PROXY: &str =
    r#"{"ServerVersion":"27.3.1","HttpProxy":"","HttpsProxy":"","NoProxy":"","Name":"runner"}"#;

#[test]
fn a_daemon_without_the_proxy_of_the_steps_environment_is_a_warning_by_name() {
    let (r, _) = run(Some(NO_PROXY), "json");
    let f = find(&r.report, "DOCKER_DAEMON_NO_PROXY")
        .unwrap_or_else(|| panic!("no DOCKER_DAEMON_NO_PROXY:\n{}", r.stdout));
    assert_eq!(f["severity"], "warning", "{f}");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("acr-preflight's environment sets `HTTPS_PROXY`")
            && message.contains("`docker info` shows the daemon with no HTTP or HTTPS proxy"),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("/etc/systemd/system/docker.service.d/http-proxy.conf")
            && fix.contains("<proxy URL>"),
        "{fix}"
    );
    // The text output's line is the documented example.
    let (text, _) = run(Some(NO_PROXY), "text");
    let line = text
        .stdout
        .lines()
        .find(|l| l.starts_with("warning[DOCKER_DAEMON_NO_PROXY]"))
        .unwrap_or_else(|| panic!("{}", text.stdout));
    assert_eq!(
        format!("{line}\n"),
        doc_example(Code::DOCKER_DAEMON_NO_PROXY)
    );
}

#[test]
fn a_daemon_with_a_proxy_or_no_docker_on_path_is_not_reported() {
    let with = r#"{"ServerVersion":"27.3.1","HttpProxy":"http://xxxxx:xxxxx@proxy.corp.example:3128","HttpsProxy":"http://xxxxx:xxxxx@proxy.corp.example:3128","NoProxy":"localhost"}"#;
    let (r, _) = run(Some(with), "json");
    assert!(
        find(&r.report, "DOCKER_DAEMON_NO_PROXY").is_none(),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("the docker daemon has a proxy of its own (HttpProxy, HttpsProxy, NoProxy)"),
        "{}",
        r.stdout
    );
    // The daemon's value is never repeated either.
    assert!(!r.stdout.contains("proxy.corp.example"), "{}", r.stdout);
    let (r, _) = run(None, "json");
    assert!(
        find(&r.report, "DOCKER_DAEMON_NO_PROXY").is_none(),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("`docker` is not on PATH"), "{}", r.stdout);
    // A daemon that does not answer is not judged.
    let down = r#"{"ServerErrors":["Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"]}"#;
    let (r, _) = run(Some(down), "json");
    assert!(
        find(&r.report, "DOCKER_DAEMON_NO_PROXY").is_none(),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("the daemon's proxy is not known"),
        "{}",
        r.stdout
    );
}
