//! The Azure CLI session the build uses (issue 13: P13, P15), on
//! tests/fixtures/workflows/az-session.yml: an `az` call that needs a token after a
//! build, when the job signed in with OIDC (WORKFLOW_AZ_AFTER_BUILD); `sudo az` after a
//! sign-in made without sudo, and acr-preflight itself run through sudo while the build
//! is not (WORKFLOW_CONFIG_MISMATCH). Offline: the workflow check reads the workflow
//! from an in-memory workspace.

use crate::support::workflow_fixture::{Fixture, of};
use acr_preflight::config::{AuthMode, Config};
use acr_preflight::findings::{CheckReport, Code, Finding, Severity};
use acr_preflight::output::text::{Style, render_finding};
use std::path::PathBuf;

const FIXTURE: Fixture = Fixture("az-session.yml");

fn config(job: &str) -> Config {
    FIXTURE.config(job)
}

fn run_with(config: &Config) -> CheckReport {
    FIXTURE.run_with(config, &[])
}

fn run(job: &str) -> CheckReport {
    FIXTURE.run(job)
}

/// The finding's severity, line and the fixture's line there, trimmed.
fn placed(f: &Finding) -> (Severity, u32, String) {
    let (severity, line, _, _) = FIXTURE.placed(f);
    let at = FIXTURE
        .text()
        .lines()
        .nth(line as usize - 1)
        .unwrap()
        .trim()
        .to_string();
    (severity, line, at)
}

/// `report` has no finding with `code`.
fn assert_none(report: &CheckReport, code: Code) {
    assert!(of(report, code).is_empty(), "{:?}", report.findings);
}

fn rendered(f: &Finding) -> String {
    let out = render_finding(f, Style { color: false });
    println!("{out}");
    out
}

#[test]
fn an_az_call_after_a_build_with_an_oidc_sign_in_is_a_notice_at_the_call() {
    let report = run("az-after-build");
    let found = of(&report, Code::WORKFLOW_AZ_AFTER_BUILD);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    let f = found[0];
    assert_eq!(
        placed(f),
        (Severity::Notice, 27, "az acr login -n myreg".to_string())
    );
    assert!(f.message.contains("AADSTS700024"), "{}", f.message);
    assert!(
        f.message
            .contains("`azure/login` in step `Azure login` (line 14)"),
        "{}",
        f.message
    );
    assert!(
        f.message
            .contains("`docker buildx build` in step `Build` (line 24)"),
        "{}",
        f.message
    );
    assert!(
        f.fix
            .contains("Run `az acr login` before the build (step `Build`)"),
        "{}",
        f.fix
    );
    rendered(f);
}

#[test]
fn a_script_az_login_with_a_federated_token_is_an_oidc_sign_in() {
    let report = run("script-login");
    let found = of(&report, Code::WORKFLOW_AZ_AFTER_BUILD);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    assert_eq!(
        placed(found[0]),
        (
            Severity::Notice,
            122,
            "run: az acr import -n myreg --source docker.io/library/alpine:3.20".to_string()
        )
    );
    assert!(
        found[0].message.contains("`az login` in step `Sign in`"),
        "{}",
        found[0].message
    );
}

#[test]
fn a_sign_in_and_a_call_both_through_sudo_share_roots_profile() {
    let report = run("sudo-both");
    let found = of(&report, Code::WORKFLOW_AZ_AFTER_BUILD);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    assert_eq!(found[0].location.as_ref().unwrap().line, Some(134));
    // Both read /root/.azure: no profile mismatch for the az call.
    assert!(
        of(&report, Code::WORKFLOW_CONFIG_MISMATCH)
            .iter()
            .all(|f| !f.message.contains("Azure CLI profile")),
        "{:?}",
        report.findings
    );
}

#[test]
fn no_az_notice_when_az_runs_before_the_build_or_the_sign_in_is_repeated_or_not_oidc() {
    for job in ["az-before-build", "secret-login", "plain-az"] {
        assert_none(&run(job), Code::WORKFLOW_AZ_AFTER_BUILD);
    }
}

#[test]
fn sudo_az_after_a_sign_in_without_sudo_is_a_config_mismatch_at_the_call() {
    let report = run("sudo-az");
    let found = of(&report, Code::WORKFLOW_CONFIG_MISMATCH);
    // The az call; the build and the login agree (both through sudo) on the docker config.
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    let f = found[0];
    assert_eq!(
        placed(f),
        (
            Severity::Warning,
            81,
            "run: sudo az acr login -n myreg".to_string()
        )
    );
    assert!(
        f.message
            .contains("Please run 'az login' to setup account."),
        "{}",
        f.message
    );
    assert!(f.message.contains("/root/.azure"), "{}", f.message);
    assert!(
        f.fix.contains("Drop `sudo` from `az acr login`"),
        "{}",
        f.fix
    );
    rendered(f);

    // Without sudo the same job is fine.
    assert_none(&run("plain-az"), Code::WORKFLOW_CONFIG_MISMATCH);
}

#[test]
fn acr_preflight_under_sudo_with_a_build_without_it_is_a_config_mismatch_at_the_build() {
    let mut c = config("plain-az");
    c.auth_mode = AuthMode::AzureCli;
    c.env.sudo_user = Some("runner".into());
    c.env.home = Some(PathBuf::from("/root"));
    c.docker_config.dir = PathBuf::from("/root/.docker");
    let report = run_with(&c);
    let found = of(&report, Code::WORKFLOW_CONFIG_MISMATCH);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    let f = found[0];
    assert_eq!(
        placed(f),
        (
            Severity::Warning,
            104,
            "run: docker build -t myreg.azurecr.io/team/app:1 .".to_string()
        )
    );
    assert!(f.message.contains("SUDO_USER=runner"), "{}", f.message);
    assert!(
        f.message
            .contains("/root/.docker/config.json and root's Azure CLI profile"),
        "{}",
        f.message
    );
    rendered(f);

    // `sudo -E` keeps HOME: acr-preflight read the runner user's files.
    c.env.home = Some(PathBuf::from("/home/runner"));
    c.docker_config.dir = PathBuf::from("/home/runner/.docker");
    assert_none(&run_with(&c), Code::WORKFLOW_CONFIG_MISMATCH);
    // A build through sudo too reads root's config, as acr-preflight did.
    let mut c = config("sudo-az");
    c.env.sudo_user = Some("runner".into());
    c.env.home = Some(PathBuf::from("/root"));
    let report = run_with(&c);
    assert!(
        of(&report, Code::WORKFLOW_CONFIG_MISMATCH)
            .iter()
            .all(|f| !f.message.contains("SUDO_USER")),
        "{:?}",
        report.findings
    );
}
