//! Builders, the images they see and the login the build uses (issue 13: P30, P40,
//! P35), on tests/fixtures/workflows/buildx-builders.yml: a buildx builder created
//! before the login a later build needs, a builder on other machines, an image loaded
//! by an earlier build and named in a `FROM` that a container builder cannot see, and
//! a static registry login while acr-preflight proves an OIDC identity. Offline: the
//! workflow check reads the workflow and Dockerfiles from an in-memory workspace.

use crate::support::workflow_fixture::{Fixture, of};
use acr_preflight::checks::workflow::check;
use acr_preflight::config::{AuthMode, Config};
use acr_preflight::findings::{CheckReport, Code, Finding, Severity};
use std::collections::{BTreeMap, HashMap};

const FIXTURE: Fixture = Fixture("buildx-builders.yml");

fn config(job: &str) -> Config {
    FIXTURE.config(job)
}

fn run_with(config: &Config, extra: &[(&str, &str)]) -> CheckReport {
    FIXTURE.run_with(config, extra)
}

fn run(job: &str) -> CheckReport {
    FIXTURE.run(job)
}

fn placed(f: &Finding) -> (Severity, u32, u32, String) {
    FIXTURE.placed(f)
}

#[test]
fn a_builder_created_before_the_login_a_later_build_needs_is_a_notice_on_the_builder() {
    let report = run("late-login");
    let found = of(&report, Code::WORKFLOW_BUILDER_BEFORE_LOGIN);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    let f = found[0];
    assert_eq!(
        placed(f),
        (
            Severity::Notice,
            17,
            15,
            "docker/setup-buildx-action@v3".to_string()
        )
    );
    assert_eq!(
        f.title,
        "the buildx builder of step `Set up Buildx` is created before the login in step `Log in to ACR`"
    );
    for part in [
        "creates a builder with the `docker-container` driver",
        "`docker/login-action` in step `Log in to ACR` (line 21) logs in to myreg.azurecr.io only after it",
        "`docker/build-push-action` in step `Build` (line 29)",
    ] {
        assert!(f.message.contains(part), "{part}: {}", f.message);
    }
    assert_eq!(
        f.fix,
        "Order the steps login → setup-buildx → build: move step `Set up Buildx` (line 16) below step `Log in to ACR` (line 18)."
    );
    assert!(of(&report, Code::WORKFLOW_BUILDER_REMOTE).is_empty());
}

#[test]
fn login_before_the_builder_or_the_docker_driver_is_not_reported() {
    for job in ["ordered", "docker-driver"] {
        let report = run(job);
        for code in [
            Code::WORKFLOW_BUILDER_BEFORE_LOGIN,
            Code::WORKFLOW_BUILDER_REMOTE,
        ] {
            assert!(of(&report, code).is_empty(), "{job}: {:?}", report.findings);
        }
    }
}

#[test]
fn a_kubernetes_builder_is_a_notice_that_the_runners_docker_config_counts() {
    let report = run("kubernetes");
    assert!(of(&report, Code::WORKFLOW_BUILDER_BEFORE_LOGIN).is_empty());
    let found = of(&report, Code::WORKFLOW_BUILDER_REMOTE);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    let f = found[0];
    assert_eq!(
        placed(f),
        (Severity::Notice, 68, 19, "kubernetes".to_string())
    );
    assert_eq!(
        f.title,
        "step `docker/build-push-action@v6` builds on a `kubernetes` builder: registry credentials come from the runner's docker config"
    );
    assert!(
        f.message.contains(
            "acr-preflight checked the client's docker config (/home/runner/.docker/config.json)"
        ),
        "{}",
        f.message
    );
}

#[test]
fn a_remote_builder_created_in_a_script_before_its_login_gets_both_findings() {
    let report = run("script");
    let order = of(&report, Code::WORKFLOW_BUILDER_BEFORE_LOGIN);
    let remote = of(&report, Code::WORKFLOW_BUILDER_REMOTE);
    assert_eq!((order.len(), remote.len()), (1, 1), "{:?}", report.findings);
    let at = (
        84,
        11,
        "docker buildx create --name ci --driver=remote tcp://buildkitd:1234 --use".to_string(),
    );
    for f in [order[0], remote[0]] {
        let (_, line, column, written) = placed(f);
        assert_eq!((line, column, written), at);
    }
    assert!(
        order[0]
            .message
            .contains("`az acr login` in step `Remote build` (line 85)")
    );
    assert!(
        remote[0].title.contains("on a `remote` builder"),
        "{}",
        remote[0].title
    );
}

#[test]
fn a_builder_image_on_the_registry_logged_in_later_is_an_error() {
    let report = run("private-builder");
    let found = of(&report, Code::WORKFLOW_BUILDER_BEFORE_LOGIN);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    let f = found[0];
    assert_eq!(
        placed(f),
        (
            Severity::Error,
            91,
            15,
            "docker/setup-buildx-action@v3".to_string()
        )
    );
    // The ACR login (line 103), not the first later login (ghcr.io, line 98).
    assert!(
        f.message
            .contains("logs in to myreg.azurecr.io only after it")
            && f.message.contains("(line 103)")
            && f.message.contains("before the login exists"),
        "{}",
        f.message
    );
}

const APP_DOCKERFILE: (&str, &str) = (
    "app/Dockerfile",
    "# syntax=docker/dockerfile:1\nFROM local/base:ci\nCOPY . /app\n",
);
const TOOLS_DOCKERFILE: (&str, &str) = (
    "app/Dockerfile.tools",
    "ARG BASE=toolbox\nFROM ${BASE} AS tools\nFROM myreg.azurecr.io/team/runtime:1\nCOPY --from=tools /bin/tool /bin/tool\n",
);

fn local_image(job: &str) -> CheckReport {
    run_with(&config(job), &[APP_DOCKERFILE, TOOLS_DOCKERFILE])
}

#[test]
fn a_loaded_image_named_in_from_on_a_container_builder_is_an_error_at_the_build() {
    let report = local_image("local-base");
    let found = of(&report, Code::WORKFLOW_LOCAL_IMAGE_INVISIBLE);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    let f = found[0];
    assert_eq!(
        placed(f),
        (
            Severity::Error,
            127,
            15,
            "docker/build-push-action@v6".to_string()
        )
    );
    assert_eq!(
        f.title,
        "`FROM local/base:ci` in app/Dockerfile names the image step `Base image` loaded, which the `docker-container` builder cannot see"
    );
    for part in [
        "(`docker/build-push-action`, line 119)",
        "whose `FROM local/base:ci` (line 2)",
        "means `docker.io/local/base:ci`",
    ] {
        assert!(f.message.contains(part), "{part}: {}", f.message);
    }
    for part in [
        "`builder: default` on docker/build-push-action",
        "`build-contexts: local/base=docker-image://local/base:ci`",
        "push `local/base:ci` to your registry in step `Base image`",
    ] {
        assert!(f.fix.contains(part), "{part}: {}", f.fix);
    }
}

#[test]
fn the_docker_driver_or_a_named_context_from_a_registry_sees_the_base() {
    for job in ["local-base-docker", "local-base-context"] {
        let report = local_image(job);
        assert!(
            of(&report, Code::WORKFLOW_LOCAL_IMAGE_INVISIBLE).is_empty(),
            "{job}: {:?}",
            report.findings
        );
    }
    // Without the Dockerfile nothing is known, and nothing is said.
    let report = run("local-base");
    assert!(of(&report, Code::WORKFLOW_LOCAL_IMAGE_INVISIBLE).is_empty());
}

#[test]
fn a_docker_build_then_buildx_create_in_one_script_names_the_arg_substituted_base() {
    let report = local_image("local-base-script");
    let found = of(&report, Code::WORKFLOW_LOCAL_IMAGE_INVISIBLE);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    let f = found[0];
    let (severity, line, column, written) = placed(f);
    assert_eq!((severity, line, column), (Severity::Error, 178, 11));
    assert!(written.starts_with("docker buildx build -f app/Dockerfile.tools"));
    assert!(
        f.title
            .starts_with("`FROM toolbox` in app/Dockerfile.tools"),
        "{}",
        f.title
    );
    assert!(
        f.message.contains("means `docker.io/library/toolbox`"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("(`docker build`, line 176)"),
        "{}",
        f.message
    );
}

const CLIENT: &str = "0b6f3a52-9d7e-4c1a-8f3e-2a5d9c7b1e40";

/// acr-preflight for `myreg` in `mode`, with a client id (OIDC under `auto`).
fn with_identity(job: &str, mode: AuthMode) -> Config {
    let mut c = config(job);
    c.auth_mode = mode;
    c.azure.client_id = Some(CLIENT.into());
    c.registry = Some(
        acr_preflight::config::parse_registry(
            "myreg",
            acr_preflight::cloud::AzureEnvironment::AzureCloud,
        )
        .unwrap(),
    );
    c
}

#[test]
fn a_static_acr_login_while_acr_preflight_proves_oidc_names_both_and_the_token_fix() {
    let report = run_with(&with_identity("static-login", AuthMode::Auto), &[]);
    let found = of(&report, Code::WORKFLOW_LOGIN_DIFFERS);
    let rows: Vec<(Severity, u32, u32, String)> = found.iter().map(|f| placed(f)).collect();
    assert_eq!(
        rows,
        vec![
            (Severity::Warning, 191, 21, "myreg.azurecr.io".to_string()),
            (Severity::Warning, 197, 25, "myreg.azurecr.io".to_string()),
            (
                Severity::Warning,
                212,
                37,
                "docker login myreg.azurecr.io -u \"$ACR_USERNAME\" --password-stdin".to_string()
            ),
        ],
        "{:?}",
        report.findings
    );
    let first = found[0];
    assert_eq!(
        first.title,
        "step `ACR login` logs in to myreg.azurecr.io with a static credential, not the OIDC identity acr-preflight checks"
    );
    for part in [
        format!(
            "acr-preflight signs in to Azure with OIDC (client id {CLIENT}) and proves what that identity may pull and push on myreg.azurecr.io"
        ),
        "`docker/login-action` in step `ACR login` (line 191) logs in to myreg.azurecr.io with the username `${{ secrets.ACR_USERNAME }}` and a password".to_string(),
    ] {
        assert!(
            first.message.contains(&part),
            "{part}: {}",
            first.message
        );
    }
    assert!(!first.message.contains("Marketplace"));
    for part in [
        "run `az acr login -n myreg`",
        "token=$(az acr login -n myreg --expose-token --query accessToken -o tsv)",
        "username: 00000000-0000-0000-0000-000000000000",
        "password: ${{ steps.acr.outputs.token }}",
    ] {
        assert!(first.fix.contains(part), "{part}: {}", first.fix);
    }
    assert!(
        found[1]
            .message
            .contains("removed from the GitHub Marketplace")
    );
    assert!(
        found[2]
            .message
            .contains("with the username `$ACR_USERNAME`"),
        "{}",
        found[2].message
    );
}

#[test]
fn a_token_login_or_a_run_that_does_not_sign_in_with_oidc_is_not_reported() {
    let token = run_with(&with_identity("token-login", AuthMode::Oidc), &[]);
    assert!(
        of(&token, Code::WORKFLOW_LOGIN_DIFFERS).is_empty(),
        "{:?}",
        token.findings
    );
    // In other modes the job's own azure/login step (OIDC) is what the static login
    // differs from (P35); the token login still is not reported.
    for mode in [AuthMode::DockerConfig, AuthMode::AzureCli] {
        let report = run_with(&with_identity("static-login", mode), &[]);
        let found = of(&report, Code::WORKFLOW_LOGIN_DIFFERS);
        assert_eq!(found.len(), 3, "{mode:?}: {:?}", report.findings);
        assert!(
            found[0]
                .title
                .ends_with("not the OIDC identity step `azure/login@v2` signs in as"),
            "{mode:?}: {}",
            found[0].title
        );
        let token = run_with(&with_identity("token-login", mode), &[]);
        assert!(
            of(&token, Code::WORKFLOW_LOGIN_DIFFERS).is_empty(),
            "{mode:?}: {:?}",
            token.findings
        );
    }
}

#[test]
fn githubs_starter_workflow_with_buildx_before_the_login_gets_a_notice_only() {
    let path = format!(
        "{}/tests/fixtures/workflows/public/starter-docker-publish.yml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut c = config("build");
    c.env.workflow_ref =
        Some("octo/shop/.github/workflows/docker-publish.yml@refs/heads/main".into());
    let mut files = BTreeMap::new();
    files.insert(
        ".github/workflows/docker-publish.yml".to_string(),
        std::fs::read_to_string(&path).unwrap(),
    );
    let report = check(&c, &files, &HashMap::new()).0;
    let found = of(&report, Code::WORKFLOW_BUILDER_BEFORE_LOGIN);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    assert_eq!(found[0].severity, Severity::Notice);
    assert!(
        found[0].fix.contains("move step `Set up Docker Buildx`"),
        "{}",
        found[0].fix
    );
}

/// The text renderer's first two lines of a finding, which docs/checks.md shows as the
/// code's example.
fn rendered(f: &Finding) -> String {
    let style = acr_preflight::output::text::Style { color: false };
    let text = acr_preflight::output::text::render_finding(f, style);
    text.lines().take(2).map(|l| format!("{l}\n")).collect()
}

#[test]
fn a_builder_named_by_no_step_of_the_job_is_an_error_at_its_name() {
    let report = run("named-missing");
    let found = of(&report, Code::WORKFLOW_BUILDER_UNKNOWN);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    let f = found[0];
    assert_eq!(
        placed(f),
        (Severity::Error, 254, 20, "ci-builder".to_string())
    );
    assert_eq!(
        rendered(f),
        "error[WORKFLOW_BUILDER_UNKNOWN]: step `Build` builds on builder `ci-builder`, which no step of job `named-missing` creates before it\n  --> .github/workflows/buildx-builders.yml:254:20\n"
    );
    assert_eq!(
        rendered(f),
        crate::workflow_context::doc_example(Code::WORKFLOW_BUILDER_UNKNOWN)
    );
    for part in [
        "`docker/build-push-action` in step `Build` (line 252) names its builder with docker/build-push-action `builder` `ci-builder` (line 254).",
        "No step of job `named-missing` creates a builder named `ci-builder`",
        "buildx stops with `ERROR: no builder \"ci-builder\" found`",
    ] {
        assert!(f.message.contains(part), "{part}: {}", f.message);
    }
    assert_eq!(
        f.fix,
        "Give step `Set up Buildx` (line 247) `name: ci-builder`, so the builder it creates has that name, or name the builder it creates in step `Build`: `builder: ${{ steps.buildx.outputs.name }}` with `id: buildx` on step `Set up Buildx`."
    );
}

#[test]
fn on_a_self_hosted_runner_an_unknown_builder_name_is_an_error_when_the_store_lacks_it() {
    // The fixture's buildx store does not exist: buildx has no builder on this runner.
    let report = run("named-self-hosted");
    let found = of(&report, Code::WORKFLOW_BUILDER_UNKNOWN);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    let f = found[0];
    assert_eq!(
        placed(f),
        (
            Severity::Error,
            264,
            44,
            "ci-builder --push -t myreg.azurecr.io/team/app:1 .".to_string()
        )
    );
    assert!(
        f.message.contains("self-hosted runner")
            && f.message.contains(
                "tests/fixtures/buildx/absent) has no builder `ci-builder` (it has none)"
            ),
        "{}",
        f.message
    );
    // A container action does not see the runner user's home: the store is not
    // inspected, the builder may exist there, and that is a warning that says why.
    let mut contained = config("named-self-hosted");
    contained.env.buildx_config = None;
    contained.docker_config.origin = acr_preflight::config::DockerConfigOrigin::Home;
    contained.env.container = acr_preflight::action_container::ActionContainer::detect(
        true,
        Some(acr_preflight::action_container::WORKSPACE),
        Some("/github/runner_temp"),
    );
    let report = run_with(&contained, &[]);
    let found = of(&report, Code::WORKFLOW_BUILDER_UNKNOWN);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    assert_eq!(found[0].severity, Severity::Warning);
    assert!(
        found[0]
            .message
            .contains("buildx's store on this runner was not inspected (acr-preflight runs as a container action"),
        "{}",
        found[0].message
    );
    assert!(
        report
            .verified
            .iter()
            .any(|v| v.starts_with("buildx builders the job did not create were not inspected")),
        "{:?}",
        report.verified
    );
    // RUNNER_ENVIRONMENT, when the runner sets it, decides over `runs-on`.
    let mut hosted = config("named-self-hosted");
    hosted.env.runner_environment = Some("github-hosted".into());
    let report = run_with(&hosted, &[]);
    let found = of(&report, Code::WORKFLOW_BUILDER_UNKNOWN);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    assert_eq!(found[0].severity, Severity::Error);
}

const BASE: (&str, &str) = ("base/Dockerfile", "FROM alpine:3.20\n");
const APP: (&str, &str) = ("app/Dockerfile", "FROM local/base:ci\nCOPY . /app\n");

#[test]
fn builder_default_runs_on_the_daemon_so_the_builder_in_use_is_not_judged() {
    let report = run_with(&config("named-default"), &[BASE, APP]);
    for code in [
        Code::WORKFLOW_BUILDER_UNKNOWN,
        Code::WORKFLOW_BUILDER_BEFORE_LOGIN,
        Code::WORKFLOW_BUILDER_REMOTE,
        Code::WORKFLOW_LOCAL_IMAGE_INVISIBLE,
    ] {
        assert!(
            of(&report, code).is_empty(),
            "{code}: {:?}",
            report.findings
        );
    }
}

#[test]
fn a_builder_named_by_its_step_output_is_the_one_judged_even_with_use_false() {
    let report = run_with(&config("named-output"), &[BASE, APP]);
    assert!(of(&report, Code::WORKFLOW_BUILDER_UNKNOWN).is_empty());
    let before = of(&report, Code::WORKFLOW_BUILDER_BEFORE_LOGIN);
    assert_eq!(before.len(), 1, "{:?}", report.findings);
    assert!(before[0].title.contains("step `Set up Buildx`"));
    let remote = of(&report, Code::WORKFLOW_BUILDER_REMOTE);
    assert_eq!(remote.len(), 1, "{:?}", report.findings);
    let invisible = of(&report, Code::WORKFLOW_LOCAL_IMAGE_INVISIBLE);
    assert_eq!(invisible.len(), 1, "{:?}", report.findings);
    assert!(
        invisible[0]
            .title
            .contains("which the `kubernetes` builder cannot see"),
        "{}",
        invisible[0].title
    );
}

#[test]
fn a_step_output_of_no_step_and_a_builder_created_after_the_build_are_reported() {
    let report = run("named-late");
    let found = of(&report, Code::WORKFLOW_BUILDER_UNKNOWN);
    assert_eq!(found.len(), 2, "{:?}", report.findings);
    let output = found[0];
    assert_eq!(
        placed(output),
        (
            Severity::Warning,
            323,
            20,
            "${{ steps.buildx.outputs.name }}".to_string()
        )
    );
    assert!(
        output.message.contains("No step of job `named-late` has `id: buildx`")
            && output.message.contains("so the build runs on the builder of step `Set up Buildx` (line 317, driver `docker-container`)"),
        "{}",
        output.message
    );
    assert_eq!(
        output.fix,
        "Name the builder of step `Set up Buildx` (line 315): `builder: ${{ steps.setup.outputs.name }}`."
    );
    let late = found[1];
    assert_eq!(
        placed(late),
        (Severity::Error, 328, 11, "BUILDX_BUILDER: late".to_string())
    );
    assert!(
        late.message.contains(
            "The builder `late` is created by step `Late builder` (line 332), after the build"
        ),
        "{}",
        late.message
    );
    assert_eq!(
        late.fix,
        "Move step `Late builder` (line 330) above step `Script build` (line 326)."
    );
}

/// The proxy URL of the fixture, with its password: no output may hold either.
const PROXY_SECRETS: [&str; 2] = ["s3cret-Pr0xy", "proxy.corp.example"];

fn assert_no_proxy_value(report: &CheckReport) {
    for f in &report.findings {
        for text in [&f.title, &f.message, &f.fix] {
            for secret in PROXY_SECRETS {
                assert!(!text.contains(secret), "{secret} in {}: {text}", f.code);
            }
        }
    }
    for v in &report.verified {
        for secret in PROXY_SECRETS {
            assert!(!v.contains(secret), "{secret} in {v}");
        }
    }
}

#[test]
fn a_container_builder_without_the_jobs_proxy_is_a_warning_with_the_driver_opts_by_name() {
    let report = run("proxy-env");
    assert_no_proxy_value(&report);
    let found = of(&report, Code::WORKFLOW_BUILDER_NO_PROXY);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    let f = found[0];
    assert_eq!(
        rendered(f),
        crate::workflow_context::doc_example(Code::WORKFLOW_BUILDER_NO_PROXY)
    );
    assert_eq!(
        placed(f),
        (
            Severity::Warning,
            345,
            15,
            "docker/setup-buildx-action@v3".to_string()
        )
    );
    assert!(
        f.message
            .contains("the proxy variables `HTTPS_PROXY`, `NO_PROXY` from the workflow's `env:`")
            && f.message
                .contains("its driver options pass no `HTTPS_PROXY` to BuildKit"),
        "{}",
        f.message
    );
    assert_eq!(
        f.fix,
        "Pass the proxy to BuildKit in step `Set up Buildx` (line 344), by the variables' names (their values stay out of the workflow file).\nThen add to its `with:`:\ndriver-opts: |\n  env.https_proxy=${{ env.HTTPS_PROXY }}\n  \"env.no_proxy='${{ env.NO_PROXY }}'\""
    );
}

#[test]
fn builders_given_the_proxy_or_jobs_without_one_are_not_reported() {
    for job in ["proxy-passed", "late-login", "script"] {
        let report = run(job);
        assert_no_proxy_value(&report);
        assert!(
            of(&report, Code::WORKFLOW_BUILDER_NO_PROXY).is_empty(),
            "{job}: {:?}",
            report.findings
        );
    }
}

#[test]
fn a_proxy_only_in_the_runners_environment_is_copied_to_github_env_in_the_fix() {
    let mut files = BTreeMap::new();
    files.insert(format!(".github/workflows/{}", FIXTURE.0), FIXTURE.text());
    let env = HashMap::from([(
        "https_proxy".to_string(),
        "http://ci:s3cret-Pr0xy@proxy.corp.example:3128".to_string(),
    )]);
    let report = check(&config("proxy-runner"), &files, &env).0;
    assert_no_proxy_value(&report);
    let found = of(&report, Code::WORKFLOW_BUILDER_NO_PROXY);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    assert!(
        found[0]
            .message
            .contains("from the runner's own environment"),
        "{}",
        found[0].message
    );
    assert_eq!(
        found[0].fix,
        "Pass the proxy to BuildKit where step `Script` (line 381) creates the builder: add --driver-opt \"env.https_proxy=$https_proxy\" to its `docker buildx create`."
    );
    // The same job without a proxy in the environment.
    let report = check(&config("proxy-runner"), &files, &HashMap::new()).0;
    assert!(of(&report, Code::WORKFLOW_BUILDER_NO_PROXY).is_empty());
}

/// Every text the report holds, in every renderer, must not hold the proxy's user or
/// password (the fixture's loopback proxy is `http://ci:s3cret-Pr0xy@127.0.0.1:3128`).
fn assert_no_proxy_userinfo(report: &CheckReport) {
    assert_no_proxy_value(report);
    let style = acr_preflight::output::text::Style { color: false };
    for f in &report.findings {
        let text = acr_preflight::output::text::render_finding(f, style);
        assert!(!text.contains("ci:") && !text.contains("s3cret"), "{text}");
    }
}

#[test]
fn a_loopback_proxy_given_to_a_container_builder_is_an_error_without_the_password() {
    let report = run("proxy-loopback");
    assert_no_proxy_userinfo(&report);
    let found = of(&report, Code::WORKFLOW_BUILDER_PROXY_LOOPBACK);
    assert_eq!(found.len(), 2, "{:?}", report.findings);
    let action = found[0];
    assert_eq!(
        rendered(action),
        crate::workflow_context::doc_example(Code::WORKFLOW_BUILDER_PROXY_LOOPBACK)
    );
    assert_eq!(
        placed(action),
        (
            Severity::Error,
            392,
            15,
            "docker/setup-buildx-action@v3".to_string()
        )
    );
    assert!(
        action.message.contains(
            "whose driver options pass `env.https_proxy` (a proxy at `127.0.0.1:3128`) to BuildKit, and `docker/build-push-action` in step `Build` (line 397) builds on it"
        ) && action
            .message
            .contains("`proxyconnect tcp: dial tcp 127.0.0.1:3128: connect: connection refused`"),
        "{}",
        action.message
    );
    assert!(
        action
            .fix
            .contains("e.g. `env.https_proxy=http://172.17.0.1:3128`")
            && action.fix.ends_with(
                "in step `Set up Buildx` (line 391), add `network=host` to its `driver-opts`."
            ),
        "{}",
        action.fix
    );
    let script = found[1];
    assert!(
        script
            .message
            .contains("pass `env.http_proxy` (a proxy at `[::1]:8080`) to BuildKit"),
        "{}",
        script.message
    );
    assert!(
        script
            .fix
            .contains("`env.http_proxy=http://172.17.0.1:8080`")
            && script
                .fix
                .ends_with("add `--driver-opt network=host` to its `docker buildx create`."),
        "{}",
        script.fix
    );
}

#[test]
fn a_bridge_address_or_the_host_network_is_not_a_loopback_proxy() {
    for job in [
        "proxy-bridge",
        "proxy-loopback-host",
        "proxy-passed",
        "proxy-env",
    ] {
        let report = run(job);
        assert_no_proxy_userinfo(&report);
        assert!(
            of(&report, Code::WORKFLOW_BUILDER_PROXY_LOOPBACK).is_empty(),
            "{job}: {:?}",
            report.findings
        );
    }
}
