//! P37 through the real binary: the targets of bake files in the workspace (HCL, JSON,
//! compose) that docker/bake-action and `docker buildx bake` build are checked like the
//! tags of a build, at the bake file's line; and P29: the image commands that reach a
//! registry (`docker push`, `docker manifest push`, `docker buildx imagetools create`)
//! under `sudo` or a step's own `DOCKER_CONFIG` read another docker config than the
//! login wrote.

use crate::caches_and_refs::{all, text};
use crate::support::registry::refused_addr;
use crate::workflow_precision::{Run, position, run_in, workspace_with};
use serde_json::Value;

const ACR: &str = "myreg.azurecr.io";

/// A job on the ACR `myreg` whose steps after acr-preflight's are `steps`.
fn workflow(steps: &str) -> String {
    format!(
        "on: push
jobs:
  release:
    runs-on: ubuntu-latest
    env:
      TAG: '7'
    steps:
      - id: pre
        uses: acr-preflight/acr-preflight@v0
        with:
          registry: {ACR}
{steps}"
    )
}

/// The run, offline (the ACR and Docker Hub resolve to a closed local port), in a
/// workspace holding the workflow and `files` (path, content).
pub(crate) fn check(workflow: &str, files: &[(&str, &str)]) -> Run {
    let (workspace, docker) = workspace_with(workflow, "{}");
    for (path, content) in files {
        let full = workspace.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, content).unwrap();
    }
    let closed = refused_addr();
    let resolve = format!("{ACR}={closed}\nregistry-1.docker.io={closed}");
    let r = run_in(
        workspace.path(),
        &docker,
        "release",
        &[
            ("registry", ACR),
            ("auth-mode", "anonymous"),
            ("resolve", &resolve),
        ],
        &[],
    );
    assert!(!r.report.is_null(), "{}", r.stdout);
    r
}

const BAKE_ACTION: &str = "      - uses: docker/bake-action@v6
        with:
          source: .
          push: true
";

/// Every `verified` line of the report's checks.
fn notes(report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for c in report["checks"].as_array().into_iter().flatten() {
        for v in c["verified"].as_array().into_iter().flatten() {
            out.push(text(v).to_string());
        }
    }
    out
}

/// The first two lines the text renderer prints for `f`, which docs/checks.md must show
/// as an example, verbatim.
fn documented(f: &Value) {
    let two = format!(
        "{}[{}]: {}\n  --> {}:{}:{}\n",
        text(&f["severity"]),
        text(&f["code"]),
        text(&f["title"]),
        text(&f["file"]),
        f["line"],
        f["column"]
    );
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/checks.md")).unwrap();
    assert!(
        docs.contains(&format!("```text\n{two}```")),
        "not in docs/checks.md:\n{two}"
    );
}

fn quiet(report: &Value) {
    for code in [
        "REF_NO_REGISTRY",
        "REF_WRONG_REGISTRY",
        "REF_INVALID",
        "WORKFLOW_EMPTY_VARIABLE",
    ] {
        assert!(all(report, code).is_empty(), "{code}: {report:#}");
    }
}

#[test]
fn an_hcl_tag_without_a_host_is_pushed_to_docker_hub_at_the_bake_files_line() {
    let hcl = "group \"default\" {\n  targets = [\"app\"]\n}\n\ntarget \"app\" {\n  dockerfile = \"Dockerfile\"\n  tags = [\"myimage:1.0\"]\n}\n";
    let r = check(&workflow(BAKE_ACTION), &[("docker-bake.hcl", hcl)]);
    let found = all(&r.report, "REF_NO_REGISTRY");
    assert_eq!(found.len(), 1, "{:#}", r.report);
    let f = found[0];
    assert_eq!(
        text(&f["title"]),
        "push target `myimage:1.0` names no registry, so it resolves to Docker Hub"
    );
    assert_eq!(f["severity"], "error", "{f:#}");
    assert_eq!(text(&f["fix"]), format!("Use `{ACR}/myimage:1.0`."));
    assert_eq!(text(&f["file"]), "docker-bake.hcl", "{f:#}");
    let (line, column) = position(hcl, "myimage:1.0");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(line), Some(column)),
        "{f:#}"
    );
    documented(f);
}

#[test]
fn an_empty_registry_default_is_an_empty_variable_at_its_default() {
    let hcl = "variable \"REGISTRY\" {\n  default = \"\"\n}\n\ntarget \"default\" {\n  tags = [\"${REGISTRY}/app:1\"]\n}\n";
    let r = check(&workflow(BAKE_ACTION), &[("docker-bake.hcl", hcl)]);
    let found = all(&r.report, "WORKFLOW_EMPTY_VARIABLE");
    assert_eq!(found.len(), 1, "{:#}", r.report);
    let f = found[0];
    assert_eq!(
        text(&f["title"]),
        "`REGISTRY` is empty, so the push target `${REGISTRY}/app:1` at docker-bake.hcl:6 is not a valid reference"
    );
    assert_eq!(text(&f["file"]), "docker-bake.hcl", "{f:#}");
    assert_eq!(f["line"].as_u64(), Some(2), "{f:#}");
    assert!(
        text(&f["message"])
            .contains("the `default` of bake variable `REGISTRY` in docker-bake.hcl"),
        "{f:#}"
    );
    assert!(
        text(&f["fix"]).starts_with("Give `REGISTRY` its value at docker-bake.hcl:2"),
        "{f:#}"
    );
    documented(f);
    // The reference itself is not judged a second time.
    assert!(all(&r.report, "REF_INVALID").is_empty(), "{:#}", r.report);
    assert!(
        all(&r.report, "REF_NO_REGISTRY").is_empty(),
        "{:#}",
        r.report
    );
}

#[test]
fn a_correct_hcl_with_variables_stays_quiet_and_its_target_is_checked() {
    let hcl = "variable \"REGISTRY\" {\n  default = \"myreg.azurecr.io\"\n}\nvariable \"TAG\" {\n  default = \"latest\"\n}\ngroup \"default\" {\n  targets = [\"app\"]\n}\ntarget \"base\" {\n  cache-from = [\"type=registry,ref=${REGISTRY}/app:cache\"]\n  cache-to = [\"type=gha\"]\n}\ntarget \"app\" {\n  inherits = [\"base\"]\n  tags = [\"${REGISTRY}/app:${TAG}\"]\n}\n";
    let r = check(&workflow(BAKE_ACTION), &[("docker-bake.hcl", hcl)]);
    quiet(&r.report);
    let refs: Vec<(&str, &str)> = r.report["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (text(&c["role"]), text(&c["reference"])))
        .collect();
    // TAG comes from the job's `env:` (7), over the default.
    assert!(
        refs.contains(&("push", "myreg.azurecr.io/app:7")),
        "{refs:?}"
    );
    assert!(
        refs.contains(&("cache-from", "myreg.azurecr.io/app:cache")),
        "{refs:?}"
    );
}

#[test]
fn a_json_bake_file_given_with_f_is_read_by_a_run_step() {
    let json = "{\n  \"target\": {\n    \"app\": {\n      \"tags\": [\"app:1\"]\n    }\n  }\n}\n";
    let wf = workflow("      - run: docker buildx bake -f ci/bake.json app --push\n");
    let r = check(&wf, &[("ci/bake.json", json)]);
    let found = all(&r.report, "REF_NO_REGISTRY");
    assert_eq!(found.len(), 1, "{:#}", r.report);
    assert_eq!(text(&found[0]["file"]), "ci/bake.json");
    assert_eq!(found[0]["line"].as_u64(), Some(4), "{:#}", found[0]);
}

#[test]
fn a_compose_file_found_by_its_default_name_gives_the_service_image() {
    let compose =
        "services:\n  web:\n    image: web:1\n    build: .\n  db:\n    image: postgres:16\n";
    let wf = workflow("      - run: docker buildx bake --push\n");
    let r = check(&wf, &[("compose.yaml", compose)]);
    let found = all(&r.report, "REF_NO_REGISTRY");
    // `db` has no `build:`: bake does not build it.
    assert_eq!(found.len(), 1, "{:#}", r.report);
    assert_eq!(
        text(&found[0]["title"]),
        "push target `web:1` names no registry, so it resolves to Docker Hub"
    );
    assert_eq!(text(&found[0]["file"]), "compose.yaml");
    assert_eq!(found[0]["line"].as_u64(), Some(3), "{:#}", found[0]);
}

#[test]
fn a_function_in_a_tag_is_not_judged_and_says_so() {
    let hcl = "target \"default\" {\n  tags = [\"${lower(\"MyImage\")}:1\", \"myreg.azurecr.io/app:1\"]\n}\n";
    let r = check(&workflow(BAKE_ACTION), &[("docker-bake.hcl", hcl)]);
    quiet(&r.report);
    let notes = notes(&r.report);
    assert!(
        notes.iter().any(|n| n.contains("${lower(\"MyImage\")}:1")
            && n.contains("not judged")
            && n.contains("docker-bake.hcl:2")),
        "{notes:?}"
    );
}

#[test]
fn a_missing_or_broken_bake_file_is_a_note_not_a_finding() {
    let wf = workflow(
        "      - uses: docker/bake-action@v6
        with:
          source: .
          push: true
          files: |
            missing.hcl
      - run: docker buildx bake -f broken.hcl --push
",
    );
    let r = check(&wf, &[("broken.hcl", "target \"a\" {\n  tags = [\"x\"\n")]);
    quiet(&r.report);
    let notes = notes(&r.report);
    assert!(
        notes.iter().any(|n| n.starts_with("Bake file missing.hcl")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.starts_with("Bake file broken.hcl")),
        "{notes:?}"
    );
}

#[test]
fn an_inline_set_of_tags_replaces_the_files_tags() {
    let hcl = "target \"default\" {\n  tags = [\"myimage:1.0\"]\n}\n";
    let wf = workflow(&format!(
        "{BAKE_ACTION}          set: |\n            *.tags={ACR}/app:1\n"
    ));
    let r = check(&wf, &[("docker-bake.hcl", hcl)]);
    quiet(&r.report);
}

#[test]
fn image_commands_under_sudo_or_their_own_docker_config_miss_the_login() {
    let wf = workflow(&format!(
        "      - uses: docker/login-action@v3
        with:
          registry: {ACR}
      - name: Push
        run: |
          sudo docker push {ACR}/app:1
          sudo docker manifest push {ACR}/app:list
      - name: Retag
        env:
          DOCKER_CONFIG: /tmp/other
        run: docker buildx imagetools create -t {ACR}/app:2 {ACR}/app:1
"
    ));
    let r = check(&wf, &[]);
    let found = all(&r.report, "WORKFLOW_CONFIG_MISMATCH");
    let titles: Vec<&str> = found.iter().map(|f| text(&f["title"])).collect();
    assert_eq!(
        titles,
        [
            "`docker push` in step `Push` does not read the credential `docker/login-action` in step `docker/login-action@v3` writes",
            "`docker manifest push` in step `Push` does not read the credential `docker/login-action` in step `docker/login-action@v3` writes",
            "step `Retag` builds with DOCKER_CONFIG `/tmp/other`, not the docker config acr-preflight checked",
        ],
        "{:#}",
        r.report
    );
    let (line, _) = position(&wf, "sudo docker manifest push");
    assert_eq!(found[1]["line"].as_u64(), Some(line), "{:#}", found[1]);
    documented(found[1]);
}

#[test]
fn image_commands_on_the_logins_side_stay_quiet() {
    let wf = workflow(&format!(
        "      - run: sudo docker login {ACR} -u u --password-stdin < /dev/null
      - run: |
          sudo docker manifest push {ACR}/app:list
          sudo docker buildx imagetools create -t {ACR}/app:2 {ACR}/app:1
"
    ));
    let r = check(&wf, &[]);
    assert!(
        all(&r.report, "WORKFLOW_CONFIG_MISMATCH").is_empty(),
        "{:#}",
        r.report
    );
}
