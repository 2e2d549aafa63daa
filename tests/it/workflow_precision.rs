//! Issue 11, the workflow items, through the real binary as the runner starts it (a
//! workspace holding the workflow, GITHUB_WORKFLOW_REF, INPUT_* variables):
//! findings on the line of each entry of the preflight's own `context: |` (item 4),
//! a login after the preflight named with both lines (item 7), an empty `env:` value
//! traced to its definition (item 8), and unknown values never guessed, over public
//! workflows kept in tests/fixtures/workflows/public (item 9).

use crate::support;

use serde_json::Value;
use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_acr-preflight");
const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

pub(crate) struct Run {
    pub(crate) status: i32,
    pub(crate) report: Value,
    pub(crate) stdout: String,
}

/// Runs the binary on `workflow` (job `job`, acr-preflight's step `id: pre`) with
/// these inputs and extra environment (what the runner puts in the step's env).
pub(crate) fn run(workflow: &str, job: &str, inputs: &[(&str, &str)], env: &[(&str, &str)]) -> Run {
    let (workspace, docker) = workspace_with(workflow, "{}");
    run_in(workspace.path(), &docker, job, inputs, env)
}

/// A workspace holding `workflow` as `.github/workflows/build.yml` and a docker config
/// directory (`<workspace>/docker`) whose config.json is `docker_config`.
pub(crate) fn workspace_with(
    workflow: &str,
    docker_config: &str,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let workspace = tempfile::tempdir().unwrap();
    let dir = workspace.path().join(".github/workflows");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("build.yml"), workflow).unwrap();
    let docker = workspace.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(docker.join("config.json"), docker_config).unwrap();
    (workspace, docker)
}

/// Runs the binary on `workflow` (job `build`) with `docker_config`, checking the
/// context `oci://myreg.azurecr.io/ctx:v1` on a registry that does not answer
/// (`--resolve` to a closed port), with these extra inputs and environment.
pub(crate) fn run_unreachable_context(
    workflow: &str,
    docker_config: &str,
    inputs: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Run {
    let (workspace, docker) = workspace_with(workflow, docker_config);
    run_unreachable_in(workspace.path(), &docker, inputs, env)
}

/// [`run_unreachable_context`] in a workspace made already, with its docker config
/// folder.
pub(crate) fn run_unreachable_in(
    workspace: &Path,
    docker: &Path,
    inputs: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Run {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let resolve = format!("myreg.azurecr.io=127.0.0.1:{port}");
    let mut all = vec![
        ("context", "oci://myreg.azurecr.io/ctx:v1"),
        ("resolve", resolve.as_str()),
    ];
    all.extend_from_slice(inputs);
    run_in(workspace, docker, "build", &all, env)
}

pub(crate) fn run_in(
    workspace: &Path,
    docker: &Path,
    job: &str,
    inputs: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Run {
    run_through(&[], workspace, docker, job, inputs, env)
}

/// [`run_in`] with the binary started through `wrapper` (a program and its arguments,
/// e.g. `setpriv` to run as another user); empty for a direct start.
pub(crate) fn run_through(
    wrapper: &[&str],
    workspace: &Path,
    docker: &Path,
    job: &str,
    inputs: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Run {
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(BIN);
            c
        }
        None => Command::new(BIN),
    };
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", workspace)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", workspace)
        .env(
            "GITHUB_WORKFLOW_REF",
            "org/app/.github/workflows/build.yml@refs/heads/main",
        )
        .env("GITHUB_JOB", job)
        .env("GITHUB_ACTION", "pre")
        .env("GITHUB_REPOSITORY", "org/app")
        .env("GITHUB_SHA", SHA)
        .env("GITHUB_REF", "refs/heads/main")
        .env("GITHUB_REF_NAME", "main")
        .env("GITHUB_EVENT_NAME", "push")
        .env("INPUT_DOCKER-CONFIG", docker)
        .env("INPUT_FORMAT", "json")
        .env("INPUT_TIMEOUT", "10");
    for (k, v) in inputs {
        cmd.env(format!("INPUT_{}", k.to_uppercase()), v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    Run {
        status: out.status.code().unwrap_or(-1),
        report,
        stdout,
    }
}

/// Every finding of the report, whichever check it is in.
pub(crate) fn findings(report: &Value) -> Vec<&Value> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .collect()
}

pub(crate) fn find<'a>(report: &'a Value, code: &str) -> Option<&'a Value> {
    findings(report).into_iter().find(|f| f["code"] == code)
}

fn line_col(f: &Value) -> (Option<u64>, Option<u64>) {
    (f["line"].as_u64(), f["column"].as_u64())
}

/// 1-based line and column of `needle` in `text` (first occurrence).
pub(crate) fn position(text: &str, needle: &str) -> (u64, u64) {
    for (i, l) in text.lines().enumerate() {
        if let Some(c) = l.find(needle) {
            return (i as u64 + 1, c as u64 + 1);
        }
    }
    panic!("{needle} not in the workflow");
}

#[test]
fn item4_each_entry_of_the_preflights_own_context_input_gets_its_findings() {
    let registry = support::registry::TestRegistry::start_blocking(support::registry::Kind::Plain);
    support::block_on(async {
        support::fixtures::Publisher::new(&registry.url())
            .single_image("team/ctx", "v1")
            .await
    });
    let host = registry.host();
    let workflow = format!(
        "on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - id: pre
        uses: acr-preflight/acr-preflight@v0
        with:
          registry: {host}
          auth-mode: anonymous
          context: |
            docker-image://{host}/team/ctx:v1
            docker-image://{host}/team/ctx:v9
          push: |
              {host}/team/out:v1
"
    );
    let r = run(
        &workflow,
        "build",
        &[
            ("registry", &host),
            ("auth-mode", "anonymous"),
            (
                "context",
                &format!("docker-image://{host}/team/ctx:v1\ndocker-image://{host}/team/ctx:v9\n"),
            ),
        ],
        &[],
    );
    let missing = find(&r.report, "CONTEXT_NOT_FOUND")
        .unwrap_or_else(|| panic!("no CONTEXT_NOT_FOUND:\n{}", r.stdout));
    let expected = position(&workflow, &format!("docker-image://{host}/team/ctx:v9"));
    assert_eq!(
        line_col(missing),
        (Some(expected.0), Some(expected.1)),
        "{missing}"
    );
    assert_eq!(missing["file"], ".github/workflows/build.yml");
    assert_eq!(r.status, 1, "{}", r.stdout);
}

#[test]
fn item7_a_login_after_the_preflight_is_named_with_both_lines() {
    let registry = support::registry::TestRegistry::start_blocking(support::registry::Kind::Plain);
    support::block_on(async {
        support::fixtures::Publisher::new(&registry.url())
            .single_image("team/ctx", "v1")
            .await
    });
    let host = registry.host();
    let workflow = format!(
        "on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - id: pre
        uses: acr-preflight/acr-preflight@v0
        with:
          registry: {host}
      - name: Log in
        uses: docker/login-action@v3
        with:
          registry: {host}
          username: ${{{{ secrets.USER }}}}
          password: ${{{{ secrets.PASSWORD }}}}
      - uses: docker/build-push-action@v6
        with:
          build-contexts: base=docker-image://{host}/team/ctx:v1
"
    );
    let r = run(
        &workflow,
        "build",
        &[("registry", &host), ("auth-mode", "docker-config")],
        &[],
    );
    assert!(
        find(&r.report, "CRED_NOT_FOUND").is_none(),
        "the generic finding stays: {}",
        r.stdout
    );
    let f = find(&r.report, "WORKFLOW_LOGIN_AFTER_PREFLIGHT")
        .unwrap_or_else(|| panic!("no WORKFLOW_LOGIN_AFTER_PREFLIGHT:\n{}", r.stdout));
    // Line 14: the login step's `registry:`; line 7: acr-preflight's step.
    let login_line = 14;
    assert!(workflow.lines().nth(13).unwrap().contains("registry:"));
    assert_eq!(
        f["title"],
        format!("the login at line {login_line} runs after this step; move acr-preflight below it")
    );
    assert_eq!(line_col(f).0, Some(7), "on acr-preflight's step: {f}");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("line 7"), "{message}");
    assert!(message.contains(&format!("line {login_line}")), "{message}");
    assert!(message.contains("docker/login-action"), "{message}");
    assert_eq!(f["severity"], "error", "docker-config mode: {f}");
}

#[test]
fn item8_an_empty_env_value_is_annotated_where_it_is_defined() {
    let workflow = "on: push
env:
  AZURE_CONTAINER_REGISTRY:
  CONTAINER_NAME: app
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - id: pre
        uses: acr-preflight/acr-preflight@v0
      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: ${{ env.AZURE_CONTAINER_REGISTRY }}.azurecr.io/${{ env.CONTAINER_NAME }}:${{ github.sha }}
";
    // The runner gives the step the workflow's env, evaluated: the empty value too.
    let r = run(
        workflow,
        "build",
        &[("auth-mode", "anonymous")],
        &[("AZURE_CONTAINER_REGISTRY", ""), ("CONTAINER_NAME", "app")],
    );
    let f = find(&r.report, "WORKFLOW_EMPTY_VARIABLE")
        .unwrap_or_else(|| panic!("no WORKFLOW_EMPTY_VARIABLE:\n{}", r.stdout));
    assert_eq!(line_col(f), (Some(3), Some(3)), "at the env: entry: {f}");
    assert_eq!(f["severity"], "error");
    let title = f["title"].as_str().unwrap();
    assert!(
        title.contains("`AZURE_CONTAINER_REGISTRY` is empty"),
        "{title}"
    );
    assert!(
        title.contains("at line 15"),
        "the reference's line: {title}"
    );
    assert!(
        find(&r.report, "REF_INVALID").is_none(),
        "the broken reference is not checked as one: {}",
        r.stdout
    );
}

/// The shape of the public workflow that was failed with REF_INVALID: a named context
/// that exists only for some matrix combinations.
#[test]
fn item9_an_expression_on_an_unknown_value_is_unresolved_as_a_whole() {
    let workflow = "on: push
jobs:
  build:
    runs-on: ubuntu-latest
    strategy:
      matrix:
        component:
          - name: api
            requires_dameng: true
          - name: mq
            requires_dameng: false
    steps:
      - uses: actions/checkout@v5
      - id: pre
        uses: acr-preflight/acr-preflight@v0
      - uses: docker/build-push-action@v6
        with:
          build-contexts: ${{ matrix.component.requires_dameng && format('dameng=docker-image://{0}', vars.DAMENG_DRIVER_BUNDLE_IMAGE) || '' }}
          build-args: |
            BUILDKIT_CONTEXT=${{ env.NOTHING }}
          push: false
";
    let r = run(
        workflow,
        "build",
        &[("auth-mode", "anonymous")],
        &[("NOTHING", " ")],
    );
    assert!(find(&r.report, "REF_INVALID").is_none(), "{}", r.stdout);
    let f = find(&r.report, "WORKFLOW_UNRESOLVED_EXPRESSION")
        .unwrap_or_else(|| panic!("no WORKFLOW_UNRESOLVED_EXPRESSION:\n{}", r.stdout));
    assert_eq!(f["severity"], "notice");
    assert_eq!(line_col(f).0, Some(18), "{f}");
    let errors: Vec<&Value> = findings(&r.report)
        .into_iter()
        .filter(|f| f["severity"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}

/// Public workflows, as their repositories have them: discovery runs over every job
/// (acr-preflight's step is not in them, so every build step counts), and no finding
/// is an error that is not real: no reference is made up from an unknown value, and
/// every reference discovery resolved is a valid one.
#[test]
fn item9_public_workflows_get_no_error_that_is_not_real() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/workflows/public");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    assert!(names.len() >= 5, "{names:?}");
    let mut discovered = 0;
    for path in names {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# Source: https://github.com/"),
            "{path:?}"
        );
        let wf = acr_preflight::workflow::Workflow::parse("w.yml", &text).unwrap();
        for job in &wf.jobs {
            let workspace = tempfile::tempdir().unwrap();
            let wdir = workspace.path().join(".github/workflows");
            std::fs::create_dir_all(&wdir).unwrap();
            std::fs::write(wdir.join("build.yml"), &text).unwrap();
            let docker = workspace.path().join("docker");
            std::fs::create_dir_all(&docker).unwrap();
            std::fs::write(docker.join("config.json"), "{}").unwrap();
            let r = run_in(
                workspace.path(),
                &docker,
                &job.id.value,
                &[("auth-mode", "anonymous"), ("timeout", "5")],
                &[],
            );
            let name = path.file_name().unwrap().to_string_lossy();
            assert!(!r.report.is_null(), "{name}: {}", r.stdout);
            for f in findings(&r.report) {
                assert_ne!(f["code"], "REF_INVALID", "{name} job {}: {f}", job.id.value);
                if f["check"] == "workflow" {
                    assert_ne!(f["severity"], "error", "{name}: {f}");
                }
            }
            for c in r.report["contexts"].as_array().into_iter().flatten() {
                let reference = c["reference"].as_str().unwrap_or_default();
                assert!(
                    acr_preflight::reference::parse_context(reference).is_ok(),
                    "{name}: {reference}"
                );
                discovered += 1;
            }
        }
    }
    assert!(discovered >= 3, "discovery found {discovered} references");
}
