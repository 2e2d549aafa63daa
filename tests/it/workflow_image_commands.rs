//! P37 through the real binary as the runner starts it: the names of the image commands
//! a job runs without building (`docker manifest create`/`push`, `docker tag`,
//! `docker buildx imagetools create --tag`, docker/bake-action `set: *.tags=…`) are
//! checked like the tags of a build: a manifest list without a registry host goes to
//! Docker Hub while the job's registry is an ACR, and an empty `env:` variable in one is
//! WORKFLOW_EMPTY_VARIABLE.

use crate::caches_and_refs::{all, text};
use crate::workflow_precision::position;
use serde_json::Value;

const ACR: &str = "myreg.azurecr.io";

/// A job on the ACR `myreg` whose later steps build per platform, then join the images
/// into a manifest list named `list` with `docker manifest`, and more (`extra` steps).
fn workflow(list: &str, extra: &str) -> String {
    format!(
        "on: push
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - id: pre
        uses: acr-preflight/acr-preflight@v0
        with:
          registry: {ACR}
      - name: Images per platform
        run: |
          docker buildx build --platform linux/amd64 -t {ACR}/app:amd64 --push .
          docker buildx build --platform linux/arm64 -t {ACR}/app:arm64 --push .
      - name: Manifest list
        run: |
          docker manifest create {list} {ACR}/app:amd64 {ACR}/app:arm64
          docker manifest push {list}
{extra}"
    )
}

/// The run, offline: the ACR and Docker Hub resolve to a closed local port.
fn check(workflow: &str) -> Value {
    crate::workflow_bake_files::check(workflow, &[]).report
}

#[test]
fn a_manifest_list_without_a_host_is_pushed_to_docker_hub_while_the_registry_is_an_acr() {
    let wf = workflow(
        "myapp:1",
        "      - name: Retag
        run: docker buildx imagetools create -t app:stable {ACR}/app:amd64
      - uses: docker/bake-action@v6
        with:
          push: true
          set: |
            *.tags=web:1
",
    );
    let report = check(&wf);
    let found = all(&report, "REF_NO_REGISTRY");
    let titles: Vec<&str> = found.iter().map(|f| text(&f["title"])).collect();
    assert_eq!(
        titles,
        [
            "push target `myapp:1` names no registry, so it resolves to Docker Hub",
            "push target `app:stable` names no registry, so it resolves to Docker Hub",
            "push target `web:1` names no registry, so it resolves to Docker Hub",
        ],
        "{report:#}"
    );
    let f = found[0];
    assert_eq!(f["severity"], "error", "{f:#}");
    assert!(
        text(&f["message"]).contains("docker resolves it to `docker.io/library/myapp:1`"),
        "{f:#}"
    );
    assert!(
        text(&f["message"]).contains(&format!("The build's registry is `{ACR}`")),
        "{f:#}"
    );
    assert_eq!(text(&f["fix"]), format!("Use `{ACR}/myapp:1`."));
    // On the `docker manifest push` line, where the list is pushed.
    let (line, _) = position(&wf, "docker manifest push");
    assert_eq!(f["line"].as_u64(), Some(line), "{f:#}");
    let (line, _) = position(&wf, "*.tags=web:1");
    assert_eq!(found[2]["line"].as_u64(), Some(line), "{:#}", found[2]);
}

#[test]
fn a_manifest_list_on_the_registry_and_a_local_retag_stay_quiet() {
    let wf = workflow(
        &format!("{ACR}/app:1"),
        &format!(
            "      - name: Local names
        run: |
          docker tag {ACR}/app:amd64 app:local
          docker buildx imagetools create -t {ACR}/app:stable {ACR}/app:amd64
"
        ),
    );
    let report = check(&wf);
    for code in ["REF_NO_REGISTRY", "REF_WRONG_REGISTRY", "REF_INVALID"] {
        assert!(all(&report, code).is_empty(), "{code}: {report:#}");
    }
    // The list and the retag are push targets the run checks.
    let pushes: Vec<&str> = report["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["role"] == "push")
        .map(|c| text(&c["reference"]))
        .collect();
    assert!(
        pushes.contains(&format!("{ACR}/app:1").as_str())
            && pushes.contains(&format!("{ACR}/app:stable").as_str()),
        "{report:#}"
    );
}

#[test]
fn an_invalid_docker_tag_target_is_reported_where_it_is_written() {
    let wf = workflow(
        &format!("{ACR}/app:1"),
        "      - run: docker tag app:1 app:feature+x\n",
    );
    let report = check(&wf);
    let found = all(&report, "REF_INVALID");
    assert_eq!(found.len(), 1, "{report:#}");
    let f = found[0];
    assert_eq!(
        text(&f["title"]),
        "tag `app:feature+x` is not a valid image reference"
    );
    let message = text(&f["message"]);
    assert!(message.contains("(`docker tag`)"), "{message}");
    assert!(
        message.contains("docker parses the name before the command runs"),
        "{message}"
    );
    let (line, column) = position(&wf, "app:feature+x");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(line), Some(column))
    );
}

#[test]
fn an_empty_registry_variable_in_a_manifest_push_is_named_at_its_env_line() {
    let wf = format!(
        "on: push
jobs:
  release:
    runs-on: ubuntu-latest
    env:
      REGISTRY: \"\"
    steps:
      - id: pre
        uses: acr-preflight/acr-preflight@v0
        with:
          registry: {ACR}
      - run: |
          docker manifest create {ACR}/app:1 {ACR}/app:amd64
          docker manifest push ${{{{ env.REGISTRY }}}}/app:1
"
    );
    let report = check(&wf);
    let found = all(&report, "WORKFLOW_EMPTY_VARIABLE");
    assert_eq!(found.len(), 1, "{report:#}");
    let f = found[0];
    assert_eq!(
        text(&f["title"]),
        "`REGISTRY` is empty, so the push target `${{ env.REGISTRY }}/app:1` at line 14 is not a valid reference"
    );
    let (line, _) = position(&wf, "REGISTRY: \"\"");
    assert_eq!(f["line"].as_u64(), Some(line), "{f:#}");
    // The broken name is not also judged as a reference of its own.
    assert!(all(&report, "REF_INVALID").is_empty(), "{report:#}");
}
