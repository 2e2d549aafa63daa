//! The workflow reader wired into a real run: the binary as the runner starts it, with a
//! workspace holding the workflow, discovers the build's contexts from a later step,
//! checks them against the real registry, and points the annotation at the workflow line.

use crate::support;
use crate::support::step::step_command;

use std::collections::BTreeMap;

pub(crate) fn annotations(stdout: &str) -> Vec<(String, BTreeMap<String, String>)> {
    stdout
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("::")?;
            let (info, _) = rest.split_once("::")?;
            let (name, props) = info.split_once(' ')?;
            if !matches!(name, "error" | "warning" | "notice") {
                return None;
            }
            let props = props
                .split(',')
                .filter_map(|p| p.split_once('='))
                .map(|(k, v)| {
                    (
                        k.to_string(),
                        v.replace("%3A", ":")
                            .replace("%2C", ",")
                            .replace("%25", "%"),
                    )
                })
                .collect();
            Some((name.to_string(), props))
        })
        .collect()
}

#[test]
fn contexts_are_discovered_and_findings_point_at_their_workflow_line() {
    let registry = support::registry::TestRegistry::start_blocking(support::registry::Kind::Plain);
    let published = support::block_on(async {
        support::fixtures::Publisher::new(&registry.url())
            .single_image("team/ctx", "v1")
            .await
    });
    let host = registry.host();
    let workspace = tempfile::tempdir().unwrap();
    let workflows = workspace.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    let workflow = format!(
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
          build-contexts: |
            base=docker-image://{host}/team/ctx:v1
            extra=docker-image://{host}/team/ctx:v9
"
    );
    std::fs::write(workflows.join("build.yml"), &workflow).unwrap();
    let summary = workspace.path().join("summary.md");
    let output = workspace.path().join("output");
    std::fs::write(&summary, "").unwrap();
    std::fs::write(&output, "").unwrap();
    let docker = tempfile::tempdir().unwrap();
    std::fs::write(docker.path().join("config.json"), "{}").unwrap();
    let out = step_command(
        workspace.path(),
        "org/app",
        "build.yml",
        "build",
        "__acr-preflight_acr-preflight",
    )
    .env("GITHUB_STEP_SUMMARY", &summary)
    .env("GITHUB_OUTPUT", &output)
    .env("INPUT_REGISTRY", &host)
    .env("INPUT_AUTH-MODE", "anonymous")
    .env("INPUT_DOCKER-CONFIG", docker.path())
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The missing tag's annotation lands on line 16 of the workflow, where v9 is written.
    let found = annotations(&stdout);
    let missing = found
        .iter()
        .find(|(_, p)| {
            p.get("title")
                .is_some_and(|t| t.starts_with("CONTEXT_NOT_FOUND"))
        })
        .unwrap_or_else(|| panic!("no CONTEXT_NOT_FOUND annotation:\n{stdout}"));
    assert_eq!(
        missing.1.get("file").map(String::as_str),
        Some(".github/workflows/build.yml"),
        "{stdout}"
    );
    assert_eq!(
        missing.1.get("line").map(String::as_str),
        Some("16"),
        "{stdout}"
    );
    let expected_col = workflow
        .lines()
        .nth(15)
        .unwrap()
        .find("docker-image://")
        .unwrap()
        + 1;
    assert_eq!(
        missing.1.get("col").map(String::as_str),
        Some(expected_col.to_string().as_str()),
        "{stdout}"
    );

    // The discovered v1 context was checked against the registry: its digest is the output.
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(outputs.contains(&published.digest), "{outputs}");
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.contains("- **Workflow**: "), "{summary}");
}
