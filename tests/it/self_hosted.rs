//! Persistent self-hosted runners share one docker config between jobs (issue 13,
//! P33): a credential that was there before the job logged in is named, with the
//! per-job config that removes the dependence.

use crate::workflow_precision::{find, run_unreachable_context};

fn workflow(login_first: bool) -> String {
    let login = if login_first {
        "      - run: az acr login -n myreg\n"
    } else {
        ""
    };
    format!(
        "name: build
on: push
jobs:
  build:
    runs-on: [self-hosted, linux]
    steps:
{login}      - id: pre
        uses: acr-preflight/acr-preflight@v0
        with:
          context: oci://myreg.azurecr.io/ctx:v1
      - run: az acr build -r myreg --source-acr-auth-id '[caller]' oci://myreg.azurecr.io/ctx:v1
"
    )
}

/// Runs acr-preflight in a workspace whose docker config holds a credential for
/// myreg.azurecr.io (registry unreachable: `--resolve` to a closed port).
fn run(workflow: &str, runner: &str) -> crate::workflow_precision::Run {
    // user:password in base64, as `docker login` writes it.
    run_unreachable_context(
        workflow,
        r#"{"auths":{"myreg.azurecr.io":{"auth":"dXNlcjpwYXNzd29yZA=="}}}"#,
        &[],
        &[("RUNNER_ENVIRONMENT", runner)],
    )
}

#[test]
fn a_credential_older_than_the_job_on_a_self_hosted_runner_is_named() {
    let r = run(&workflow(false), "self-hosted");
    let f = find(&r.report, "CRED_PREEXISTING")
        .unwrap_or_else(|| panic!("no CRED_PREEXISTING:\n{}", r.stdout));
    assert_eq!(f["severity"], "notice", "{f}");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("holds myreg.azurecr.io from auths[\"myreg.azurecr.io\"]"),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("DOCKER_CONFIG: ${{ runner.temp }}/docker")
            && fix.contains("az acr login -n myreg"),
        "{fix}"
    );
    assert!(!r.stdout.contains("cGFzc3dvcmQ") && !r.stdout.contains("password"));
}

#[test]
fn a_login_in_the_job_or_a_github_hosted_runner_is_not_reported() {
    for (workflow, runner) in [
        (workflow(true), "self-hosted"),
        (workflow(false), "github-hosted"),
    ] {
        let r = run(&workflow, runner);
        assert!(r.report.is_object(), "{}", r.stdout);
        assert!(
            find(&r.report, "CRED_PREEXISTING").is_none(),
            "{runner}: {}",
            r.stdout
        );
    }
}

/// A process named `Runner.Listener` (a copy of `sleep` under that name), stopped by
/// its handle when dropped.
struct FakeRunner {
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl FakeRunner {
    fn start() -> FakeRunner {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("Runner.Listener");
        std::fs::copy("/bin/sleep", &program).unwrap();
        let child = std::process::Command::new(&program)
            .arg("600")
            .spawn()
            .unwrap();
        FakeRunner { child, _dir: dir }
    }
}

impl Drop for FakeRunner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn another_runner_of_this_user_is_named_with_the_per_job_config() {
    // No other runner: nothing, and the scan is stated with its cost.
    let r = run(&workflow(true), "self-hosted");
    assert!(r.report.is_object(), "{}", r.stdout);
    assert!(
        find(&r.report, "RUNNER_SHARED_CONFIG").is_none(),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("no other runner process of this user on this machine ("),
        "{}",
        r.stdout
    );

    let runner = FakeRunner::start();
    let pid = runner.child.id();
    let r = run(&workflow(true), "self-hosted");
    let f = find(&r.report, "RUNNER_SHARED_CONFIG")
        .unwrap_or_else(|| panic!("no RUNNER_SHARED_CONFIG:\n{}", r.stdout));
    assert_eq!(f["severity"], "warning");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("Runner.Listener (pid {pid}, ")),
        "{message}"
    );
    assert!(
        message.contains("RUNNER_ENVIRONMENT=self-hosted"),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("DOCKER_CONFIG: ${{ runner.temp }}/docker"),
        "{fix}"
    );
    assert!(fix.contains("--ephemeral"), "{fix}");

    // A GitHub-hosted runner is one job per machine: not scanned.
    let r = run(&workflow(true), "github-hosted");
    assert!(r.report.is_object(), "{}", r.stdout);
    assert!(
        find(&r.report, "RUNNER_SHARED_CONFIG").is_none(),
        "{}",
        r.stdout
    );
    drop(runner);
}
