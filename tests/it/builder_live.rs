//! The live state of a builder of buildx's store (P30, P47), read from a real
//! Docker-Engine-compatible API: `podman system service` on a unix socket in a temp dir,
//! holding containers named as buildx's `docker-container` driver names a node's
//! (`buildx_buildkit_<node>`, docker/buildx `driver/driver.go`). The binary is run as a
//! self-hosted job behind a proxy, with `DOCKER_HOST` at the service; the registry is a
//! closed port on 127.0.0.1. No network.

use crate::buildx_store::workflow_verified;
use crate::support::podman::Podman;
use crate::workflow_precision::{Run, find, findings, run_in, workspace_with};

/// A store (under `<docker config>/buildx`) with one `docker-container` builder `name`,
/// node `<name>0` on `docker_host`, in use, and these `DriverOpts`.
fn store(docker: &std::path::Path, docker_host: &str, name: &str, driver_opts: &str) {
    let dir = docker.join("buildx");
    std::fs::create_dir_all(dir.join("instances")).unwrap();
    std::fs::write(
        dir.join("instances").join(name),
        format!(
            r#"{{"Name":"{name}","Driver":"docker-container","Nodes":[{{"Name":"{name}0","Endpoint":"{docker_host}","Platforms":null,"DriverOpts":{driver_opts},"Flags":null,"Files":null}}],"Dynamic":false}}"#
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("current"),
        format!(r#"{{"Key":"{docker_host}","Name":"{name}","Global":false}}"#),
    )
    .unwrap();
}

const WORKFLOW: &str = "name: build
on: push
jobs:
  build:
    runs-on: [self-hosted, linux]
    env:
      HTTPS_PROXY: http://proxy.corp:3128
    steps:
      - id: pre
        uses: acr-preflight/acr-preflight@v0
      - name: Build
        uses: docker/build-push-action@v6
        with:
          push: true
          tags: myreg.azurecr.io/team/app:1
";

/// Runs the binary with the builder `name` of the store in use and `DOCKER_HOST`.
fn run(docker_host: &str, name: &str, driver_opts: &str) -> Run {
    run_with(WORKFLOW, docker_host, name, driver_opts, "json")
}

/// [`run`] in text format, with the docker config folder written `/home/runner/.docker`.
fn run_text(docker_host: &str, name: &str, driver_opts: &str) -> String {
    run_with(WORKFLOW, docker_host, name, driver_opts, "text").stdout
}

fn run_with(workflow: &str, docker_host: &str, name: &str, driver_opts: &str, format: &str) -> Run {
    let (workspace, docker) = workspace_with(workflow, "{}");
    store(&docker, docker_host, name, driver_opts);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    // Docker Hub too, so that the allowance lookup stays on this machine.
    let resolve = format!(
        "myreg.azurecr.io=127.0.0.1:{port}\nregistry-1.docker.io=127.0.0.1:{port}\nauth.docker.io=127.0.0.1:{port}"
    );
    let mut r = run_in(
        workspace.path(),
        &docker,
        "build",
        &[("resolve", &resolve), ("format", format)],
        &[
            ("RUNNER_ENVIRONMENT", "self-hosted"),
            ("DOCKER_HOST", docker_host),
        ],
    );
    r.stdout = r.stdout.replace(
        &docker.to_string_lossy().into_owned(),
        "/home/runner/.docker",
    );
    r
}

fn builder_codes(r: &Run) -> Vec<String> {
    findings(&r.report)
        .iter()
        .filter_map(|f| f["code"].as_str())
        .filter(|c| c.starts_with("WORKFLOW_BUILDER"))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_daemons_builder_container_decides_the_proxy_findings() {
    let mut podman = Podman::start();
    let host = podman.docker_host();
    podman.container(
        "buildx_buildkit_withproxy0",
        &["https_proxy=http://u:s3cret@proxy.corp:3128"],
        true,
    );
    podman.container("buildx_buildkit_bare0", &[], true);
    podman.container(
        "buildx_buildkit_lo0",
        &["HTTPS_PROXY=http://ci:s3cret@127.0.0.1:3128"],
        false,
    );

    // Running with the proxy in its environment: quiet, though the store's driver
    // options (re-created since) pass none.
    let r = run(&host, "withproxy", "null");
    assert!(builder_codes(&r).is_empty(), "{}", r.stdout);
    let v = workflow_verified(&r);
    assert!(
        v.contains(&format!(
            "buildx builder `withproxy`: the docker daemon at {host} has its BuildKit container `buildx_buildkit_withproxy0` (running)"
        )),
        "{v}"
    );

    // Running without a proxy while the job has one, though the store now passes one:
    // the container is what BuildKit runs with.
    let r = run(
        &host,
        "bare",
        r#"{"env.https_proxy":"http://proxy.corp:3128"}"#,
    );
    assert_eq!(
        builder_codes(&r),
        ["WORKFLOW_BUILDER_NO_PROXY"],
        "{}",
        r.stdout
    );
    let f = find(&r.report, "WORKFLOW_BUILDER_NO_PROXY").unwrap();
    let message = f["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("the docker daemon shows its BuildKit container `buildx_buildkit_bare0` (running) with no `HTTPS_PROXY` in its environment"),
        "{message}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap_or_default()
            .ends_with("docker buildx create --name bare --driver docker-container --use --driver-opt \"env.https_proxy=$HTTPS_PROXY\""),
        "{f}"
    );

    let text = run_text(
        &host,
        "bare",
        r#"{"env.https_proxy":"http://proxy.corp:3128"}"#,
    );
    let example =
        crate::buildx_store::docs_example("WORKFLOW_BUILDER_NO_PROXY", "buildx_buildkit_");
    assert!(text.contains(&example), "{example}\nnot in:\n{text}");

    // A stopped container keeps the loopback proxy it was created with: an error, and
    // neither its password nor its user is written.
    let r = run(&host, "lo", "null");
    assert_eq!(
        builder_codes(&r),
        ["WORKFLOW_BUILDER_PROXY_LOOPBACK"],
        "{}",
        r.stdout
    );
    assert!(
        !r.stdout.contains("s3cret") && !r.stdout.contains("ci:"),
        "{}",
        r.stdout
    );
    let f = find(&r.report, "WORKFLOW_BUILDER_PROXY_LOOPBACK").unwrap();
    assert!(
        f["message"].as_str().unwrap_or_default().contains(
            "container `buildx_buildkit_lo0` (created) with `https_proxy` (a proxy at `127.0.0.1:3128`) in its environment"
        ),
        "{f}"
    );

    // No container: buildx creates it at the build's boot, from the store's options
    // (which pass the proxy: quiet), pulling the BuildKit image then.
    let r = run(
        &host,
        "gone",
        r#"{"env.https_proxy":"http://proxy.corp:3128"}"#,
    );
    assert!(builder_codes(&r).is_empty(), "{}", r.stdout);
    let v = workflow_verified(&r);
    assert!(
        v.contains(&format!(
            "buildx builder `gone`: the docker daemon at {host} has no container `buildx_buildkit_gone0` (inactive), so buildx creates it when the build boots the builder, pulling the BuildKit image `moby/buildkit:buildx-stable-1` then"
        )),
        "{v}"
    );
    assert!(!r.stdout.contains("proxy.corp"), "{}", r.stdout);
}

#[test]
fn an_unreachable_daemon_is_a_verified_line_and_the_store_decides() {
    let dir = tempfile::tempdir().unwrap();
    let host = format!("unix://{}", dir.path().join("docker.sock").display());
    let r = run(&host, "bare", "null");
    // The store's options, without the proxy, are all there is to judge by.
    assert_eq!(
        builder_codes(&r),
        ["WORKFLOW_BUILDER_NO_PROXY"],
        "{}",
        r.stdout
    );
    let f = find(&r.report, "WORKFLOW_BUILDER_NO_PROXY").unwrap();
    assert!(
        f["message"]
            .as_str()
            .unwrap_or_default()
            .contains("its driver options pass no `HTTPS_PROXY` to BuildKit"),
        "{f}"
    );
    let v = workflow_verified(&r);
    assert!(
        v.contains(&format!(
            "buildx builder `bare` node `bare0`: the docker daemon at {host} was not read (cannot connect to {host}: "
        )),
        "{v}"
    );
    // A file that is not a socket is not read either, and fails nothing.
    std::fs::write(dir.path().join("docker.sock"), "not a socket").unwrap();
    let r = run(&host, "withproxy", r#"{"env.https_proxy":"x"}"#);
    assert!(builder_codes(&r).is_empty(), "{}", r.stdout);
    assert!(
        workflow_verified(&r).contains("was not read (cannot connect"),
        "{}",
        workflow_verified(&r)
    );
}

/// A job whose proxy is on the runner's loopback: the fix for a builder without it gives
/// BuildKit the docker bridge address, never the loopback URL its container cannot reach.
#[test]
fn a_loopback_proxy_missing_from_a_builder_is_fixed_with_the_bridge_address() {
    let workflow = WORKFLOW
        .replace("http://proxy.corp:3128", "http://ci:s3cret@127.0.0.1:3128")
        .replace(
            "      - name: Build\n",
            "      - name: Set up Buildx\n        uses: docker/setup-buildx-action@v3\n      - name: Build\n",
        );
    let r = crate::workflow_precision::run(
        &workflow,
        "build",
        &[],
        &[("RUNNER_ENVIRONMENT", "self-hosted")],
    );
    let f = find(&r.report, "WORKFLOW_BUILDER_NO_PROXY").expect("NO_PROXY");
    let fix = f["fix"].as_str().unwrap_or_default();
    assert!(
        fix.starts_with("Give BuildKit the proxy at an address its container reaches: the runner's address on the docker bridge (`172.17.0.1` by default")
            && fix.ends_with("driver-opts: |\n  env.https_proxy=http://172.17.0.1:3128"),
        "{fix}"
    );
    assert!(
        !fix.contains("env.HTTPS_PROXY") && !fix.contains("127.0.0.1"),
        "{fix}"
    );
    assert!(!r.stdout.contains("s3cret"), "{}", r.stdout);

    // The same for a builder of the store, re-created on the runner.
    let dir = tempfile::tempdir().unwrap();
    let host = format!("unix://{}", dir.path().join("docker.sock").display());
    let r = run_with(
        &WORKFLOW.replace("http://proxy.corp:3128", "http://127.0.0.1:3128"),
        &host,
        "bare",
        "null",
        "json",
    );
    let f = find(&r.report, "WORKFLOW_BUILDER_NO_PROXY").expect("NO_PROXY");
    let fix = f["fix"].as_str().unwrap_or_default();
    assert!(
        fix.starts_with("Give BuildKit the proxy at an address")
            && fix.ends_with("docker buildx create --name bare --driver docker-container --use --driver-opt \"env.https_proxy=http://172.17.0.1:3128\""),
        "{fix}"
    );
}

/// A step that logs in to Docker Hub, to insert before a step.
const HUB_LOGIN: &str = "      - name: Log in to Docker Hub\n        uses: docker/login-action@v3\n        with:\n          username: ci\n          password: ${{ secrets.HUB }}\n";

/// A builder of the store whose container the daemon does not have is created, and its
/// BuildKit image pulled from Docker Hub, by the build that boots it: that pull is judged
/// by the Docker Hub logins before the build; a container that exists is only started.
#[test]
fn a_stored_builder_without_its_container_pulls_its_buildkit_image_at_the_build() {
    let mut podman = Podman::start();
    let host = podman.docker_host();
    podman.container("buildx_buildkit_here0", &[], false);
    let no_proxy = WORKFLOW.replace("    env:\n      HTTPS_PROXY: http://proxy.corp:3128\n", "");
    let hub = |r: &Run| find(&r.report, "REGISTRY_DOCKERHUB_ANONYMOUS").cloned();

    // No container, no Docker Hub login: the boot's pull is anonymous, at the build.
    let r = run_with(&no_proxy, &host, "gone", "null", "json");
    let f = hub(&r).unwrap_or_else(|| panic!("no REGISTRY_DOCKERHUB_ANONYMOUS: {}", r.stdout));
    let (line, _) = crate::workflow_precision::position(&no_proxy, "docker/build-push-action");
    assert_eq!(f["file"], ".github/workflows/build.yml", "{f}");
    assert_eq!(f["line"].as_u64(), Some(line), "{f}");
    let message = f["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!(
            "The job pulls the BuildKit image `moby/buildkit:buildx-stable-1` of buildx builder `gone` (.github/workflows/build.yml:{line}) from Docker Hub; "
        )) && message.contains("no step of the job logs in to Docker Hub"),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap_or_default();
    assert!(
        fix.contains("`docker buildx rm gone` then `docker buildx create --name gone --driver docker-container --driver-opt image=<registry>.azurecr.io/moby/buildkit:buildx-stable-1`"),
        "{fix}"
    );

    // A Docker Hub login only after the build: named, and the fix moves it.
    let late = format!("{no_proxy}{HUB_LOGIN}");
    let r = run_with(&late, &host, "gone", "null", "json");
    let f = hub(&r).unwrap_or_else(|| panic!("no REGISTRY_DOCKERHUB_ANONYMOUS: {}", r.stdout));
    assert!(
        f["message"].as_str().unwrap_or_default().contains(
            "runs only after step `Build`, which boots the builder `gone` of buildx's store and pulls its BuildKit image then"
        ),
        "{f}"
    );

    // The same login before the build covers the boot's pull: quiet.
    let early = no_proxy.replace(
        "      - name: Build\n",
        &format!("{HUB_LOGIN}      - name: Build\n"),
    );
    let r = run_with(&early, &host, "gone", "null", "json");
    assert!(hub(&r).is_none(), "{}", r.stdout);
    assert!(
        r.stdout.contains("Docker Hub images (the BuildKit image `moby/buildkit:buildx-stable-1` of buildx builder `gone` ("),
        "{}",
        r.stdout
    );

    // The container exists (stopped): buildx starts it and pulls nothing.
    let r = run_with(&no_proxy, &host, "here", "null", "json");
    assert!(hub(&r).is_none(), "{}", r.stdout);
    assert!(
        workflow_verified(&r).contains("has its BuildKit container `buildx_buildkit_here0`"),
        "{}",
        workflow_verified(&r)
    );
}
