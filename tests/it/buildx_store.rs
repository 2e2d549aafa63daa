//! Builders the job did not create (P30), through the real binary: a buildx store laid out
//! on disk as buildx writes it (docker/buildx `store/store.go`: `instances/<name>` node
//! groups, `current`), found through the docker config folder (`<DOCKER_CONFIG>/buildx`)
//! or `BUILDX_CONFIG`, on a self-hosted runner. The registry is a closed port on
//! 127.0.0.1 (`--resolve`): no network.

use crate::workflow_precision::{Run, find, findings, run_in, workspace_with};
use serde_json::Value;
use std::path::Path;

/// A node group as buildx's `Txn.Save` marshals it (field names of `store.NodeGroup`
/// and `store.Node`; `Flags` is the JSON name of `BuildkitdFlags`).
fn node_group(name: &str, driver: &str, endpoint: &str, driver_opts: &str) -> String {
    format!(
        r#"{{"Name":"{name}","Driver":"{driver}","Nodes":[{{"Name":"{name}0","Endpoint":"{endpoint}","Platforms":null,"DriverOpts":{driver_opts},"Flags":["--allow-insecure-entitlement=network.host"],"Files":null}}],"Dynamic":false}}"#
    )
}

/// `current` as `Txn.SetCurrent` writes it for the default context.
fn current(name: &str) -> String {
    format!(r#"{{"Key":"unix:///var/run/docker.sock","Name":"{name}","Global":false}}"#)
}

/// Writes `files` (path relative to the store, body) into the store folder `dir`.
fn store(dir: &Path, files: &[(&str, String)]) {
    for (rel, body) in files {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
}

const SOCK: &str = "unix:///var/run/docker.sock";

/// The usual self-hosted set of builders: `ci` (docker-container, given the proxy),
/// `plain` (docker-container, no proxy), `k8s` (kubernetes).
fn usual(in_use: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "instances/ci",
            node_group(
                "ci",
                "docker-container",
                SOCK,
                r#"{"env.https_proxy":"http://proxy.corp:3128","env.no_proxy":"localhost","image":"moby/buildkit:buildx-stable-1"}"#,
            ),
        ),
        (
            "instances/plain",
            node_group("plain", "docker-container", SOCK, "null"),
        ),
        (
            "instances/k8s",
            node_group(
                "k8s",
                "kubernetes",
                "kubernetes:///k8s?deployment=&kubeconfig=",
                r#"{"namespace":"buildkit"}"#,
            ),
        ),
        ("current", current(in_use)),
        ("activity/ci", "2026-12-01T10:00:00Z".to_string()),
    ]
}

/// A self-hosted job behind a proxy (job `env:`) whose build step is `build`, after
/// acr-preflight; `before` runs before the preflight.
fn workflow(before: &str, build: &str) -> String {
    format!(
        "name: build
on: push
jobs:
  build:
    runs-on: [self-hosted, linux]
    env:
      HTTPS_PROXY: http://proxy.corp:3128
      NO_PROXY: localhost
    steps:
{before}      - id: pre
        uses: acr-preflight/acr-preflight@v0
      - name: Build
{build}"
    )
}

fn action(builder: &str) -> String {
    let with = if builder.is_empty() {
        String::new()
    } else {
        format!("          builder: {builder}\n")
    };
    format!(
        "        uses: docker/build-push-action@v6\n        with:\n{with}          push: true\n          tags: myreg.azurecr.io/team/app:1\n"
    )
}

/// Runs the binary in a workspace holding `workflow`, with `files` in the store at
/// `<docker config>/buildx` (or in `BUILDX_CONFIG` when `buildx_config`), and `extra`
/// files in the workspace.
fn run(
    workflow: &str,
    files: &[(&str, String)],
    buildx_config: bool,
    extra: &[(&str, &str)],
) -> Run {
    run_with_config(workflow, files, buildx_config, extra, "{}")
}

/// [`run`] with this docker `config.json`.
fn run_with_config(
    workflow: &str,
    files: &[(&str, String)],
    buildx_config: bool,
    extra: &[(&str, &str)],
    config_json: &str,
) -> Run {
    let (workspace, docker) = workspace_with(workflow, config_json);
    for (rel, body) in extra {
        let p = workspace.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    let elsewhere = tempfile::tempdir().unwrap();
    let dir = if buildx_config {
        elsewhere.path().join("state")
    } else {
        docker.join("buildx")
    };
    store(&dir, files);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let resolve = format!("myreg.azurecr.io=127.0.0.1:{port}");
    let dir_text = dir.to_string_lossy().into_owned();
    let mut env = vec![("RUNNER_ENVIRONMENT", "self-hosted")];
    if buildx_config {
        env.push(("BUILDX_CONFIG", &dir_text));
    }
    run_in(
        workspace.path(),
        &docker,
        "build",
        &[("resolve", &resolve)],
        &env,
    )
}

fn codes(r: &Run) -> Vec<String> {
    findings(&r.report)
        .iter()
        .map(|f| f["code"].as_str().unwrap_or("").to_string())
        .filter(|c| c.starts_with("WORKFLOW_BUILDER") || c == "WORKFLOW_LOCAL_IMAGE_INVISIBLE")
        .collect()
}

pub(crate) fn workflow_verified(r: &Run) -> String {
    r.report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["check"] == "workflow")
        .flat_map(|c| c["verified"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

fn field<'a>(f: &'a Value, key: &str) -> &'a str {
    f[key].as_str().unwrap_or_default()
}

#[test]
fn a_builder_the_store_holds_with_the_proxy_is_quiet() {
    for (builder, via_buildx_config) in [("ci", false), ("CI", true)] {
        let r = run(
            &workflow("", &action(builder)),
            &usual("plain"),
            via_buildx_config,
            &[],
        );
        assert!(r.report.is_object(), "{}", r.stdout);
        assert!(
            codes(&r).is_empty(),
            "{builder}: {:?}\n{}",
            codes(&r),
            r.stdout
        );
        let verified = workflow_verified(&r);
        assert!(
            verified.contains("builders `ci` (docker-container), `k8s` (kubernetes), `plain` (docker-container); in use: `plain`"),
            "{verified}"
        );
    }
}

#[test]
fn a_name_the_store_does_not_hold_is_an_error_listing_what_it_holds() {
    let r = run(
        &workflow("", &action("ci-builder")),
        &usual("plain"),
        false,
        &[],
    );
    let f = find(&r.report, "WORKFLOW_BUILDER_UNKNOWN")
        .unwrap_or_else(|| panic!("no WORKFLOW_BUILDER_UNKNOWN:\n{}", r.stdout));
    assert_eq!(f["severity"], "error", "{f}");
    let message = field(f, "message");
    assert!(
        message
            .contains("/docker/buildx) has no builder `ci-builder` (it has `ci`, `k8s`, `plain`)"),
        "{message}"
    );
    assert!(
        field(f, "fix")
            .contains("- uses: docker/setup-buildx-action@v3\n  with:\n    name: ci-builder"),
        "{f}"
    );
}

/// The example of `code`'s section in docs/checks.md that shows a builder of the store.
fn store_example(code: &str) -> String {
    docs_example(code, "buildx's store on this runner")
}

/// The first example (```text block) of `code`'s section in docs/checks.md that
/// contains `marker`.
pub(crate) fn docs_example(code: &str, marker: &str) -> String {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/checks.md"))
        .expect("docs/checks.md");
    let section = docs
        .split(&format!("\n## {code}\n"))
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("section");
    section
        .split("```text\n")
        .skip(1)
        .filter_map(|b| b.split("```").next())
        .find(|b| b.contains(marker))
        .unwrap_or_else(|| panic!("{code}: no example containing {marker:?}"))
        .to_string()
}

#[test]
fn the_documented_store_examples_are_the_exact_output() {
    let local = "        run: |\n          docker build -t local/base:ci base\n          docker buildx build -f app/Dockerfile -t myreg.azurecr.io/team/app:1 --push app\n";
    for (code, build, in_use) in [
        ("WORKFLOW_BUILDER_UNKNOWN", action("ci-builder"), "plain"),
        ("WORKFLOW_BUILDER_REMOTE", action(""), "k8s"),
        ("WORKFLOW_BUILDER_NO_PROXY", action(""), "plain"),
        ("WORKFLOW_LOCAL_IMAGE_INVISIBLE", local.to_string(), "ci"),
    ] {
        let out = run_text(&workflow("", &build), &usual(in_use));
        let example = store_example(code);
        assert!(out.contains(&example), "{code}:\n{example}\nnot in:\n{out}");
    }
}

#[test]
fn the_kubernetes_builder_in_use_is_remote_and_says_it_came_from_the_store() {
    let r = run(&workflow("", &action("")), &usual("k8s"), false, &[]);
    assert_eq!(codes(&r), vec!["WORKFLOW_BUILDER_REMOTE"], "{}", r.stdout);
    let f = find(&r.report, "WORKFLOW_BUILDER_REMOTE").unwrap();
    assert_eq!(f["severity"], "notice");
    assert_eq!(
        field(f, "title"),
        "step `Build` builds on a `kubernetes` builder: registry credentials come from the runner's docker config"
    );
    let message = field(f, "message");
    assert!(
        message.contains("builds on the builder `k8s`, which no step of the job creates: it comes from buildx's store on this runner (")
            && message.contains("/docker/buildx/instances/k8s), with the `kubernetes` driver"),
        "{message}"
    );
    // A builder the job sets up before the build is the one used, not the store's.
    let setup = "      - uses: docker/setup-buildx-action@v3\n        with:\n          driver-opts: env.https_proxy=${{ env.HTTPS_PROXY }}\n";
    let r = run(&workflow(setup, &action("")), &usual("k8s"), false, &[]);
    assert!(codes(&r).is_empty(), "{:?}\n{}", codes(&r), r.stdout);
}

#[test]
fn a_container_builder_of_the_store_without_the_proxy_gets_rm_and_create() {
    let r = run(&workflow("", &action("")), &usual("plain"), false, &[]);
    assert_eq!(codes(&r), vec!["WORKFLOW_BUILDER_NO_PROXY"], "{}", r.stdout);
    let f = find(&r.report, "WORKFLOW_BUILDER_NO_PROXY").unwrap();
    assert_eq!(f["severity"], "warning");
    assert_eq!(
        field(f, "title"),
        "the buildx builder `plain` on this runner does not get the proxy the job uses"
    );
    assert!(
        field(f, "message").contains("its driver options pass no `HTTPS_PROXY` to BuildKit"),
        "{f}"
    );
    assert!(
        field(f, "fix").ends_with(
            "docker buildx rm plain\ndocker buildx create --name plain --driver docker-container --use --driver-opt \"env.https_proxy=$HTTPS_PROXY\" --driver-opt \"\\\"env.no_proxy=$NO_PROXY\\\"\""
        ),
        "{}",
        field(f, "fix")
    );
    assert!(
        !r.stdout.contains("proxy.corp"),
        "a proxy value is never written"
    );
}

#[test]
fn a_loaded_base_on_the_stores_container_builder_in_use_is_invisible() {
    let build = "        run: |\n          docker build -t local/base:ci base\n          docker buildx build -f app/Dockerfile -t myreg.azurecr.io/team/app:1 --push app\n";
    let extra = [
        ("base/Dockerfile", "FROM alpine:3.20\n"),
        ("app/Dockerfile", "FROM local/base:ci\nCOPY . /app\n"),
    ];
    let r = run(&workflow("", build), &usual("ci"), false, &extra);
    assert_eq!(
        codes(&r),
        vec!["WORKFLOW_LOCAL_IMAGE_INVISIBLE"],
        "{}",
        r.stdout
    );
    let f = find(&r.report, "WORKFLOW_LOCAL_IMAGE_INVISIBLE").unwrap();
    assert!(
        field(f, "message").contains("on the builder `ci`, which no step of the job creates: it comes from buildx's store on this runner ("),
        "{f}"
    );
    // The store's `docker` driver, or nothing in use (the daemon's own builder), sees
    // the daemon's images.
    let mut docker = usual("local");
    docker.push((
        "instances/local",
        node_group("local", "docker", "default", "null"),
    ));
    for files in [docker, usual("")] {
        let r = run(&workflow("", build), &files, false, &extra);
        assert!(codes(&r).is_empty(), "{:?}\n{}", codes(&r), r.stdout);
    }
}

#[test]
fn a_malformed_store_is_not_judged_and_never_fails_the_run() {
    let files = vec![
        ("instances/ci", "{\"Name\":\"ci\",\"Driver\":".to_string()),
        ("instances/k8s", "[1,2]".to_string()),
        ("current", "not json".to_string()),
    ];
    // The name exists (its file is there), so it is not unknown; the builder in use
    // cannot be told, so nothing is said about its driver.
    for build in [action("ci"), action("")] {
        let r = run(&workflow("", &build), &files, false, &[]);
        assert!(r.report.is_object(), "{}", r.stdout);
        assert!(codes(&r).is_empty(), "{:?}\n{}", codes(&r), r.stdout);
        let verified = workflow_verified(&r);
        assert!(
            verified.contains("builders `ci` (not judged: not a buildx node group:")
                && verified.contains("in use: not known (")
                && verified.contains("/docker/buildx/current is not buildx's JSON"),
            "{verified}"
        );
    }
    // An instance file above the size cap is refused unread.
    let big = vec![("instances/big", " ".repeat(2 * 1024 * 1024))];
    let r = run(&workflow("", &action("big")), &big, false, &[]);
    assert!(codes(&r).is_empty(), "{:?}\n{}", codes(&r), r.stdout);
    assert!(
        workflow_verified(&r).contains("`big` (not judged: it holds"),
        "{}",
        workflow_verified(&r)
    );
}

/// The text output of a run whose docker config is `<workspace>/docker`, with that
/// folder written `/home/runner/.docker` (as on a runner), for the documented examples.
fn run_text(workflow: &str, files: &[(&str, String)]) -> String {
    let (workspace, docker) = workspace_with(workflow, "{}");
    for (rel, body) in [
        ("base/Dockerfile", "FROM alpine:3.20\n"),
        ("app/Dockerfile", "FROM local/base:ci\nCOPY . /app\n"),
    ] {
        let p = workspace.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    store(&docker.join("buildx"), files);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let resolve = format!("myreg.azurecr.io=127.0.0.1:{port}");
    let r = run_in(
        workspace.path(),
        &docker,
        "build",
        &[("resolve", &resolve), ("format", "text")],
        &[("RUNNER_ENVIRONMENT", "self-hosted")],
    );
    r.stdout.replace(
        &docker.to_string_lossy().into_owned(),
        "/home/runner/.docker",
    )
}

/// The builder in use is the one `current` names for the docker context the CLI uses:
/// with no `DOCKER_HOST` or `DOCKER_CONTEXT`, the docker config's `currentContext`.
#[test]
fn the_builder_in_use_follows_the_docker_configs_current_context() {
    let mut files = usual("ci");
    files.retain(|(p, _)| *p != "current");
    files.push((
        "current",
        r#"{"Key":"remote-ctx","Name":"k8s","Global":false}"#.to_string(),
    ));
    let flow = workflow("", &action(""));
    let r = run_with_config(
        &flow,
        &files,
        false,
        &[],
        r#"{"currentContext":"remote-ctx"}"#,
    );
    assert_eq!(codes(&r), vec!["WORKFLOW_BUILDER_REMOTE"], "{}", r.stdout);
    // Another context: `current` is not for it, and the context's own builder is used.
    let r = run_with_config(&flow, &files, false, &[], r#"{"currentContext":"other"}"#);
    assert!(
        !codes(&r).contains(&"WORKFLOW_BUILDER_REMOTE".to_string()),
        "{}",
        r.stdout
    );
}

/// `usual` plus `lo` (docker-container, a loopback proxy with a user and password) and
/// `hn` (the same proxy, in the runner's network).
fn with_loopback(in_use: &str) -> Vec<(&'static str, String)> {
    let mut files = usual(in_use);
    for (path, name, opts) in [
        (
            "instances/lo",
            "lo",
            r#"{"env.https_proxy":"http://ci:s3cret-Pr0xy@127.0.0.1:3128","env.no_proxy":"localhost"}"#,
        ),
        (
            "instances/hn",
            "hn",
            r#"{"env.https_proxy":"http://ci:s3cret-Pr0xy@127.0.0.1:3128","network":"host"}"#,
        ),
    ] {
        files.push((path, node_group(name, "docker-container", SOCK, opts)));
    }
    files
}

#[test]
fn a_container_builder_of_the_store_with_a_loopback_proxy_is_an_error_without_the_password() {
    let r = run(&workflow("", &action("")), &with_loopback("lo"), false, &[]);
    assert_eq!(
        codes(&r),
        vec!["WORKFLOW_BUILDER_PROXY_LOOPBACK"],
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("s3cret") && !r.stdout.contains("ci:s"),
        "{}",
        r.stdout
    );
    let f = find(&r.report, "WORKFLOW_BUILDER_PROXY_LOOPBACK").unwrap();
    assert_eq!(f["severity"], "error");
    assert!(
        field(f, "message").contains(
            "with the `docker-container` driver, and its driver options pass `env.https_proxy` (a proxy at `127.0.0.1:3128`) to BuildKit"
        ),
        "{f}"
    );
    assert!(
        field(f, "fix").ends_with(
            "docker buildx rm lo\ndocker buildx create --name lo --driver docker-container --use --driver-opt \"env.https_proxy=http://172.17.0.1:3128\""
        ),
        "{f}"
    );
    let text = run_text(&workflow("", &action("")), &with_loopback("lo"));
    assert!(!text.contains("s3cret"), "{text}");
    let example = store_example("WORKFLOW_BUILDER_PROXY_LOOPBACK");
    assert!(text.contains(&example), "{example}\nnot in:\n{text}");
    // The same proxy in the runner's network is reachable.
    let r = run(&workflow("", &action("")), &with_loopback("hn"), false, &[]);
    assert!(codes(&r).is_empty(), "{:?}\n{}", codes(&r), r.stdout);
}
