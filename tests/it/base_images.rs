//! The builds' base images (P38): the binary as the runner starts it, with a workspace
//! holding the workflow and the Dockerfile, checks every `FROM` image on the registry the
//! run is about against the real registry, and points a missing one at its `FROM` line.

use crate::support;
use crate::workflow_e2e::annotations;

use std::collections::BTreeMap;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_acr-preflight");

/// A workspace with `.github/workflows/build.yml` and `Dockerfile`.
struct Workspace {
    dir: tempfile::TempDir,
    docker: tempfile::TempDir,
}

impl Workspace {
    fn new(workflow: &str, dockerfile: &str) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let workflows = dir.path().join(".github/workflows");
        std::fs::create_dir_all(&workflows).unwrap();
        std::fs::write(workflows.join("build.yml"), workflow).unwrap();
        std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
        for file in ["summary.md", "output"] {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        let docker = tempfile::tempdir().unwrap();
        std::fs::write(docker.path().join("config.json"), "{}").unwrap();
        Workspace { dir, docker }
    }

    /// Runs the binary as the runner would for the job `build`; (exit code, stdout,
    /// summary).
    fn run(&self, host: &str) -> (Option<i32>, String, String) {
        let out = Command::new(BIN)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_WORKSPACE", self.dir.path())
            .env(
                "GITHUB_WORKFLOW_REF",
                "org/app/.github/workflows/build.yml@refs/heads/main",
            )
            .env("GITHUB_JOB", "build")
            .env("GITHUB_ACTION", "__acr-preflight_acr-preflight")
            .env("GITHUB_REPOSITORY", "org/app")
            .env("GITHUB_STEP_SUMMARY", self.dir.path().join("summary.md"))
            .env("GITHUB_OUTPUT", self.dir.path().join("output"))
            .env("INPUT_REGISTRY", host)
            .env("INPUT_AUTH-MODE", "anonymous")
            .env("INPUT_DOCKER-CONFIG", self.docker.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let summary = std::fs::read_to_string(self.dir.path().join("summary.md")).unwrap();
        (out.status.code(), stdout, summary)
    }
}

fn workflow(host: &str, build_args: &str) -> String {
    format!(
        "name: build
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: acr-preflight/acr-preflight@v0
        with:
          registry: {host}
          auth-mode: anonymous
      - uses: docker/build-push-action@v6
        with:
          context: .
          build-args: {build_args}
          tags: {host}/team/app:v1
"
    )
}

/// The column (1-based) of `needle` on `line` (1-based) of `text`.
fn column_of(text: &str, line: usize, needle: &str) -> usize {
    text.lines().nth(line - 1).unwrap().find(needle).unwrap() + 1
}

/// The real registry holding `team/base:v1`.
fn registry_with_base() -> (
    support::registry::TestRegistry,
    support::fixtures::Published,
) {
    let registry = support::registry::TestRegistry::start_blocking(support::registry::Kind::Plain);
    let published = support::block_on(async {
        support::fixtures::Publisher::new(&registry.url())
            .single_image("team/base", "v1")
            .await
    });
    (registry, published)
}

fn base_findings(stdout: &str, code: &str) -> Vec<BTreeMap<String, String>> {
    annotations(stdout)
        .into_iter()
        .filter(|(_, p)| p.get("title").is_some_and(|t| t.starts_with(code)))
        .map(|(_, p)| p)
        .collect()
}

#[test]
fn base_images_on_the_checked_registry_are_pulled_and_a_missing_tag_points_at_its_from_line() {
    let (registry, published) = registry_with_base();
    let host = registry.host();
    // Line 3: ARG-substituted (REG's default, BASE_TAG from the build-args), present.
    // Line 4: a stage name. Line 5: a missing tag. Line 6: scratch. Line 7: Docker Hub,
    // which this run does not check.
    let dockerfile = format!(
        "ARG REG={host}\nARG BASE_TAG=v0\nFROM $REG/team/base:${{BASE_TAG}} AS build\nFROM build\nFROM {host}/team/base:v9\nFROM scratch\nFROM alpine:3.20\n"
    );
    let ws = Workspace::new(&workflow(&host, "BASE_TAG=v1"), &dockerfile);
    let (code, stdout, summary) = ws.run(&host);
    assert_eq!(code, Some(1), "{stdout}");

    let missing = base_findings(&stdout, "CONTEXT_NOT_FOUND");
    assert_eq!(missing.len(), 1, "{stdout}");
    let at = &missing[0];
    assert_eq!(at.get("file").map(String::as_str), Some("Dockerfile"));
    assert_eq!(at.get("line").map(String::as_str), Some("5"), "{stdout}");
    let col = column_of(&dockerfile, 5, &format!("{host}/team/base:v9")).to_string();
    assert_eq!(at.get("col"), Some(&col), "{stdout}");
    assert!(stdout.contains("tag `v9` does not exist"), "{stdout}");
    assert!(
        stdout.contains("Base image of Dockerfile:5"),
        "the message names the FROM line: {stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "The image comes from `FROM {host}/team/base:v9` at Dockerfile:5: `v9` is newer than every tag of its shape"
        )),
        "{stdout}"
    );
    assert!(
        base_findings(&stdout, "RUN_NOTHING_TO_CHECK").is_empty(),
        "{stdout}"
    );

    // The ARG-substituted image was found: its digest is in the summary's references.
    assert!(summary.contains(&published.digest), "{summary}");
    assert!(
        stdout.contains(&format!(
            "base image `{host}/team/base:v1` (Dockerfile:3) is on {host}"
        )),
        "{stdout}"
    );
    // Stage names and scratch are no images; Docker Hub is not a registry this run checks.
    let listed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("base image `"))
        .collect();
    assert_eq!(listed.len(), 3, "{stdout}");
    assert!(
        stdout.contains(
            "base image `alpine:3.20` (Dockerfile:7) not checked: docker.io is not a registry this run checks"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("scratch"), "{stdout}");
}

#[test]
fn present_base_images_pass() {
    let (registry, published) = registry_with_base();
    let host = registry.host();
    let dockerfile = format!("FROM {host}/team/base:v1 AS build\nFROM build\n");
    let ws = Workspace::new(&workflow(&host, "X=1"), &dockerfile);
    let (_, stdout, summary) = ws.run(&host);
    for code in [
        "CONTEXT_NOT_FOUND",
        "CONTEXT_ACCESS_DENIED",
        "ROLE_PULL_MISSING",
    ] {
        assert!(base_findings(&stdout, code).is_empty(), "{stdout}");
    }
    assert!(summary.contains(&published.digest), "{summary}");
    assert!(summary.contains("| base |"), "{summary}");
}
