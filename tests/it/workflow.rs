//! The workflow check and discovery against a corpus of workflows written for these
//! tests (tests/fixtures/workflows). Each test asserts the exact references found,
//! with their 1-based line and column, and the exact findings. Every expected
//! position was counted by hand and is checked again against the fixture text by
//! `assert_at`, so a wrong number cannot pass unnoticed. Offline and deterministic.

use acr_preflight::checks::workflow::check;
use acr_preflight::config::{AuthMode, Config};
use acr_preflight::findings::{CheckReport, Code, Severity, Status};
use acr_preflight::workflow::{Discovery, Origin, Role};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
const CLIENT: &str = "0b6f3a52-9d7e-4c1a-8f3e-2a5d9c7b1e40";

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/workflows/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Asserts that the fixture has `expected` at 1-based `line` and `column`.
fn assert_at(text: &str, line: u32, column: u32, expected: &str) {
    let l = text
        .lines()
        .nth(line as usize - 1)
        .unwrap_or_else(|| panic!("no line {line}"));
    let rest: String = l.chars().skip(column as usize - 1).collect();
    assert!(
        rest.starts_with(expected),
        "line {line} column {column} is {rest:?}, expected {expected:?}"
    );
}

/// One run of the check: the files of the repository, the run's environment.
struct Case {
    files: BTreeMap<String, String>,
    config: Config,
    process_env: HashMap<String, String>,
}

impl Case {
    /// The workflow `main` (a fixture) runs job `job`; `others` are more fixtures in
    /// `.github/workflows/`.
    fn new(main: &str, job: &str) -> Case {
        let mut config = Config::for_tests(PathBuf::from("/nonexistent"));
        let e = &mut config.env;
        e.github_actions = true;
        e.workflow_ref = Some(format!(
            "octo/shop/.github/workflows/{main}@refs/heads/main"
        ));
        e.job = Some(job.into());
        e.sha = Some(SHA.into());
        e.ref_name = Some("main".into());
        e.git_ref = Some("refs/heads/main".into());
        e.repository = Some("octo/shop".into());
        e.event_name = Some("push".into());
        let mut files = BTreeMap::new();
        files.insert(format!(".github/workflows/{main}"), fixture(main));
        Case {
            files,
            config,
            process_env: HashMap::new(),
        }
    }

    fn with_file(mut self, name: &str) -> Case {
        self.files
            .insert(format!(".github/workflows/{name}"), fixture(name));
        self
    }

    fn action(mut self, action: &str) -> Case {
        self.config.env.action = Some(action.into());
        self
    }

    fn oidc(mut self, mode: AuthMode) -> Case {
        self.config.auth_mode = mode;
        self.config.azure.client_id = Some(CLIENT.into());
        self
    }

    fn env(mut self, k: &str, v: &str) -> Case {
        self.process_env.insert(k.into(), v.into());
        self
    }

    fn run(&self) -> (CheckReport, Discovery) {
        check(&self.config, &self.files, &self.process_env)
    }
}

type RefRow = (Role, Origin, String, Option<String>, u32, Option<u32>);

/// Discovered references as comparable rows.
fn refs(d: &Discovery) -> Vec<RefRow> {
    d.references
        .iter()
        .map(|r| {
            (
                r.role,
                r.origin,
                r.written.clone(),
                r.reference.clone(),
                r.location.line.unwrap(),
                r.location.column,
            )
        })
        .collect()
}

fn row(
    role: Role,
    origin: Origin,
    written: &str,
    reference: Option<&str>,
    line: u32,
    column: Option<u32>,
) -> RefRow {
    (
        role,
        origin,
        written.into(),
        reference.map(String::from),
        line,
        column,
    )
}

/// A finding as (code, severity, file, line, column).
type FindingRow = (Code, Severity, String, Option<u32>, Option<u32>);

fn findings(r: &CheckReport) -> Vec<FindingRow> {
    r.findings
        .iter()
        .map(|f| {
            let l = f
                .location
                .clone()
                .expect("every workflow finding has a location");
            (f.code, f.severity, l.file, l.line, l.column)
        })
        .collect()
}

fn wf(name: &str) -> String {
    format!(".github/workflows/{name}")
}

/// Checks each row's position against the fixture text.
fn assert_rows_at(text: &str, rows: &[RefRow]) {
    for (_, _, written, _, line, column) in rows {
        if let Some(c) = column {
            assert_at(text, *line, *c, written);
        }
    }
}

#[test]
fn build_push_action_contexts_tags_and_oidc_from_azure_login() {
    let case = Case::new("build-push.yml", "build").action("preflight");
    let (report, d) = case.run();
    let text = fixture("build-push.yml");
    let expected = vec![
        row(
            Role::Context,
            Origin::BuildPushContexts,
            "docker-image://${{ env.REGISTRY }}/team/base:${{ env.BASE_TAG }}",
            Some("docker-image://myreg.azurecr.io/team/base:v1.4.2"),
            44,
            Some(18),
        ),
        row(
            Role::Context,
            Origin::BuildPushContexts,
            "docker-image://myreg.azurecr.io/team/tools@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
            Some(
                "docker-image://myreg.azurecr.io/team/tools@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945",
            ),
            45,
            Some(19),
        ),
        row(
            Role::Context,
            Origin::BuildPushContexts,
            "oci-layout://./build/cache",
            Some("oci-layout://./build/cache"),
            46,
            Some(19),
        ),
        row(
            Role::Push,
            Origin::BuildPushTags,
            "${{ env.REGISTRY }}/${{ env.IMAGE_NAME }}:${{ github.sha }}",
            Some(&format!("myreg.azurecr.io/team/app:{SHA}")),
            49,
            Some(13),
        ),
        row(
            Role::Push,
            Origin::BuildPushTags,
            "${{ env.REGISTRY }}/${{ env.IMAGE_NAME }}:latest",
            Some("myreg.azurecr.io/team/app:latest"),
            50,
            Some(13),
        ),
    ];
    assert_eq!(refs(&d), expected);
    assert_rows_at(&text, &expected);
    // azure/login with client-id and no creds is OIDC; the workflow grants id-token.
    assert_eq!(findings(&report), vec![]);
    assert_eq!(report.status(), Status::Pass);
    assert!(report.verified.iter().any(|v| v
        == "job `build` of .github/workflows/build-push.yml grants `id-token: write` (workflow-level permissions, line 8)"));
    assert_at(&text, 8, 1, "permissions:");
    assert!(report.verified.contains(
        &"context `docker-image://myreg.azurecr.io/team/base:v1.4.2` ← .github/workflows/build-push.yml:44:18 (step `Build and push`, docker/build-push-action `build-contexts`)".to_string()
    ));

    // What the lead feeds to the reference check: registry references only, in order.
    assert!(d.applies);
    assert_eq!(
        d.workflow.as_deref(),
        Some(".github/workflows/build-push.yml")
    );
    assert_eq!(d.job.as_deref(), Some("build"));
    let step = d.step.as_ref().unwrap();
    assert_eq!(
        (step.index, step.label.as_str(), step.line),
        (3, "Preflight", 33)
    );
    assert_at(&text, 33, 9, "name: Preflight");
    assert_eq!(
        d.context_refs(),
        vec![
            "docker-image://myreg.azurecr.io/team/base:v1.4.2".to_string(),
            "docker-image://myreg.azurecr.io/team/tools@sha256:4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945".into(),
        ]
    );
    assert_eq!(
        d.push_refs(),
        vec![
            format!("myreg.azurecr.io/team/app:{SHA}"),
            "myreg.azurecr.io/team/app:latest".into()
        ]
    );
    let loc = d
        .location_of("docker-image://myreg.azurecr.io/team/base:v1.4.2")
        .unwrap();
    assert_eq!(
        (loc.file.as_str(), loc.line, loc.column),
        (".github/workflows/build-push.yml", Some(44), Some(18))
    );
    assert_eq!(d.builds.len(), 1);
    assert_eq!(d.builds[0].what, "docker/build-push-action");
    assert_eq!(
        (d.builds[0].location.line, d.builds[0].location.column),
        (Some(40), Some(15))
    );
    assert_at(&text, 40, 15, "docker/build-push-action@v6");
}

#[test]
fn a_job_level_permissions_block_drops_the_workflow_id_token() {
    let case = Case::new("permissions-override.yml", "release")
        .action("__acr-preflight_acr-preflight")
        .oidc(AuthMode::Auto);
    let (report, d) = case.run();
    let text = fixture("permissions-override.yml");
    assert_eq!(
        findings(&report),
        vec![(
            Code::WORKFLOW_OIDC_PERMISSION,
            Severity::Error,
            wf("permissions-override.yml"),
            Some(14),
            Some(5)
        )]
    );
    assert_at(&text, 14, 5, "permissions:");
    let f = &report.findings[0];
    assert_eq!(
        f.title,
        "job `release` uses OIDC but its permissions lack `id-token: write`"
    );
    assert!(
        f.message
            .contains("The workflow-level `id-token: write` (line 6) does not apply")
    );
    assert!(
        f.message.contains("auth-mode `auto` uses OIDC (line 22)"),
        "{}",
        f.message
    );
    assert_at(&text, 6, 1, "permissions:");
    assert_at(&text, 22, 11, "client-id:");
    assert_eq!(
        f.fix,
        "Give job `release` (.github/workflows/permissions-override.yml:11) this `permissions:` block (it replaces the workflow-level one for this job, so it lists every scope the job needs):\n  release:\n    permissions:\n      contents: read\n      packages: write\n      id-token: write"
    );
    assert_at(&text, 11, 3, "release:");

    // `az acr build` over three lines joined by `\`: context and image in `-r myreg`.
    let expected = vec![
        row(
            Role::Push,
            Origin::AcrBuildImage,
            "team/app:${{ github.ref_name }}",
            Some("myreg.azurecr.io/team/app:main"),
            28,
            Some(16),
        ),
        row(
            Role::Context,
            Origin::AcrBuildContext,
            "oci://myreg.azurecr.io/team/ctx:v1",
            Some("oci://myreg.azurecr.io/team/ctx:v1"),
            30,
            Some(13),
        ),
    ];
    assert_eq!(refs(&d), expected);
    assert_rows_at(&text, &expected);
    assert_eq!(
        (
            d.builds[0].what.as_str(),
            d.builds[0].location.line,
            d.builds[0].location.column
        ),
        ("az acr build", Some(27), Some(11))
    );
    assert_at(&text, 27, 11, "az acr build -r myreg");
}

#[test]
fn given_contexts_switch_discovery_off_but_keep_the_static_checks() {
    let mut case = Case::new("permissions-override.yml", "release")
        .action("__acr-preflight_acr-preflight")
        .oidc(AuthMode::Auto);
    case.config.contexts = vec!["oci://myreg.azurecr.io/team/ctx:v1".into()];
    let (report, d) = case.run();
    assert!(!d.applies);
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].code, Code::WORKFLOW_OIDC_PERMISSION);
    assert!(
        report
            .verified
            .iter()
            .any(|v| v.ends_with("`az acr build` context; not checked: --context/--push given)"))
    );
}

#[test]
fn matrix_values_are_unresolvable_and_the_local_action_is_the_preflight() {
    let case = Case::new("matrix.yml", "image").action("__self");
    let (report, d) = case.run();
    let text = fixture("matrix.yml");
    let expected = vec![
        row(
            Role::Context,
            Origin::BuildContextFlag,
            "docker-image://myreg.azurecr.io/team/base:v2",
            Some("docker-image://myreg.azurecr.io/team/base:v2"),
            26,
            Some(34),
        ),
        row(
            Role::Push,
            Origin::BuildTag,
            "myreg.azurecr.io/team/app:${{ github.sha }}-${{ matrix.suffix }}",
            None,
            27,
            Some(19),
        ),
    ];
    assert_eq!(refs(&d), expected);
    assert_rows_at(&text, &expected);
    assert_eq!(
        findings(&report),
        vec![(
            Code::WORKFLOW_UNRESOLVED_EXPRESSION,
            Severity::Notice,
            wf("matrix.yml"),
            Some(27),
            Some(63)
        )]
    );
    assert_at(&text, 27, 63, "${{ matrix.suffix }}");
    let f = &report.findings[0];
    assert!(f.title.starts_with("`${{ matrix.suffix }}` in push target"));
    assert!(
        f.message
            .contains("the matrix combination of this run is not passed to the step")
    );
    assert_eq!(d.step.as_ref().map(|s| s.index), Some(2));
    assert_eq!(d.context_refs().len(), 1);
    assert!(d.push_refs().is_empty());
}

#[test]
fn the_same_local_action_is_found_without_github_action() {
    let (_, d) = Case::new("matrix.yml", "image").run();
    assert_eq!(d.step.as_ref().map(|s| s.index), Some(2));
}

#[test]
fn a_reusable_workflow_is_found_through_its_caller() {
    let case = Case::new("reusable-caller.yml", "build")
        .with_file("reusable-build.yml")
        .action("preflight");
    let (report, d) = case.run();
    let text = fixture("reusable-build.yml");
    assert_eq!(
        d.workflow.as_deref(),
        Some(".github/workflows/reusable-build.yml")
    );
    let expected = vec![
        row(
            Role::Push,
            Origin::AcrBuildImage,
            "team/api:${{ inputs.environment }}",
            None,
            25,
            Some(50),
        ),
        row(
            Role::Context,
            Origin::AcrBuildContext,
            "oci://myreg.azurecr.io/team/api-ctx:v3",
            Some("oci://myreg.azurecr.io/team/api-ctx:v3"),
            26,
            Some(31),
        ),
    ];
    assert_eq!(refs(&d), expected);
    assert_rows_at(&text, &expected);
    assert_eq!(
        findings(&report),
        vec![
            (
                Code::WORKFLOW_ENVIRONMENT_SUBJECT,
                Severity::Notice,
                wf("reusable-build.yml"),
                Some(12),
                Some(18)
            ),
            (
                Code::WORKFLOW_UNRESOLVED_EXPRESSION,
                Severity::Notice,
                wf("reusable-build.yml"),
                Some(25),
                Some(59)
            ),
        ]
    );
    assert_at(&text, 12, 18, "production");
    assert_at(&text, 25, 59, "${{ inputs.environment }}");
    assert_eq!(
        report.findings[0].title,
        "job `build` runs in environment `production`, so its OIDC subject is `repo:octo/shop:environment:production`"
    );
    // The caller's job grants id-token; the called job has no block and inherits it.
    assert!(report.verified.contains(
        &"job `publish` of .github/workflows/reusable-caller.yml grants `id-token: write` (job-level permissions, line 15)".to_string()
    ));
    assert_at(&fixture("reusable-caller.yml"), 15, 5, "permissions:");
    assert!(
        report.verified[0]
            .contains("called by job `publish` of .github/workflows/reusable-caller.yml")
    );
}

#[test]
fn a_caller_without_id_token_is_reported_in_the_callers_file() {
    let caller = fixture("reusable-caller.yml").replace("      id-token: write\n", "");
    let mut case = Case::new("reusable-caller.yml", "build")
        .with_file("reusable-build.yml")
        .action("preflight");
    case.files.insert(
        ".github/workflows/reusable-caller.yml".into(),
        caller.clone(),
    );
    let (report, _) = case.run();
    let oidc: Vec<_> = findings(&report)
        .into_iter()
        .filter(|f| f.0 == Code::WORKFLOW_OIDC_PERMISSION)
        .collect();
    assert_eq!(
        oidc,
        vec![(
            Code::WORKFLOW_OIDC_PERMISSION,
            Severity::Error,
            wf("reusable-caller.yml"),
            Some(15),
            Some(5)
        )]
    );
    assert_at(&caller, 15, 5, "permissions:");
    let f = report
        .findings
        .iter()
        .find(|f| f.code == Code::WORKFLOW_OIDC_PERMISSION)
        .unwrap();
    assert!(
        f.message
            .contains("a called workflow never gets more permissions than its caller")
    );
}

#[test]
fn scripts_with_variables_buildkit_context_and_an_early_build() {
    let case = Case::new("buildx-script.yml", "nightly")
        .action("__acr-preflight_acr-preflight")
        .oidc(AuthMode::Oidc);
    let (report, d) = case.run();
    let text = fixture("buildx-script.yml");
    let expected = vec![
        // The early build's tag (not pushed) and the unresolved `-t $IMAGE` are names only.
        row(
            Role::Tag,
            Origin::BuildTag,
            "local/app:smoke",
            Some("local/app:smoke"),
            16,
            Some(30),
        ),
        row(
            Role::Context,
            Origin::BuildArg,
            "docker-image://$REGISTRY/team/base:v2",
            Some("docker-image://myreg.azurecr.io/team/base:v2"),
            28,
            Some(42),
        ),
        row(Role::Tag, Origin::BuildTag, "$IMAGE", None, 29, Some(17)),
        row(Role::Push, Origin::DockerPush, "$IMAGE", None, 30, Some(24)),
        row(
            Role::Push,
            Origin::DockerPush,
            "${REGISTRY}/team/nightly:latest",
            Some("myreg.azurecr.io/team/nightly:latest"),
            31,
            Some(23),
        ),
    ];
    assert_eq!(refs(&d), expected);
    assert_rows_at(&text, &expected);
    assert_eq!(
        findings(&report),
        vec![
            (
                Code::WORKFLOW_OIDC_PERMISSION,
                Severity::Error,
                wf("buildx-script.yml"),
                Some(6),
                Some(1)
            ),
            (
                Code::WORKFLOW_BUILD_BEFORE_PREFLIGHT,
                Severity::Warning,
                wf("buildx-script.yml"),
                Some(16),
                Some(14)
            ),
            (
                Code::WORKFLOW_BUILDKIT_CONTEXT_ARG,
                Severity::Notice,
                wf("buildx-script.yml"),
                Some(28),
                Some(42)
            ),
            (
                Code::WORKFLOW_UNRESOLVED_EXPRESSION,
                Severity::Notice,
                wf("buildx-script.yml"),
                Some(30),
                Some(24)
            ),
        ]
    );
    assert_at(&text, 6, 1, "permissions: read-all");
    assert_at(&text, 16, 14, "docker build -t local/app:smoke");
    let by = |c: Code| report.findings.iter().find(|f| f.code == c).unwrap();
    assert!(
        by(Code::WORKFLOW_OIDC_PERMISSION)
            .message
            .contains("the workflow-level block at line 6 (`read-all`) applies, and it has no `id-token: write`. `read-all` grants read on every scope")
    );
    assert_eq!(
        by(Code::WORKFLOW_BUILD_BEFORE_PREFLIGHT).title,
        "step `Smoke build` runs `docker build` before acr-preflight"
    );
    assert_eq!(
        by(Code::WORKFLOW_BUILDKIT_CONTEXT_ARG).title,
        "`BUILDKIT_CONTEXT=docker-image://$REGISTRY/team/base:v2` is a build argument, not a build context"
    );
    assert!(
        by(Code::WORKFLOW_BUILDKIT_CONTEXT_ARG)
            .fix
            .contains("--build-context base=docker-image://myreg.azurecr.io/team/base:v2")
    );
    // `$IMAGE` was assigned from `$(date …)` earlier in the same script.
    assert!(
        by(Code::WORKFLOW_UNRESOLVED_EXPRESSION)
            .message
            .contains("the script sets it from $(date +%Y%m%d): a command substitution")
    );
    // The early build is before the preflight; the others after it.
    let order: Vec<(&str, bool)> = d
        .builds
        .iter()
        .map(|b| (b.what.as_str(), b.after_preflight))
        .collect();
    assert_eq!(
        order,
        vec![
            ("docker build", false),
            ("docker build", true),
            ("docker push", true),
            ("docker push", true)
        ]
    );
    // The BUILDKIT_CONTEXT reference is still a context to check.
    assert_eq!(
        d.context_refs(),
        vec!["docker-image://myreg.azurecr.io/team/base:v2".to_string()]
    );
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let case = Case::new("anchors.yml", "build")
        .action("preflight")
        .oidc(AuthMode::Auto);
    let (report, d) = case.run();
    let text = fixture("anchors.yml");
    let tags_sha = format!("myreg.azurecr.io/team/web:{SHA}");
    let tag_rows = |_: ()| {
        vec![
            row(
                Role::Push,
                Origin::BuildPushTags,
                "${{ env.REGISTRY }}/team/web:${{ github.sha }}",
                Some(&tags_sha),
                30,
                Some(23),
            ),
            row(
                Role::Push,
                Origin::BuildPushTags,
                "${{ env.REGISTRY }}/team/web:main",
                Some("myreg.azurecr.io/team/web:main"),
                30,
                Some(70),
            ),
        ]
    };
    let mut expected = vec![
        row(
            Role::Context,
            Origin::BuildPushContexts,
            "docker-image://${{ env.REGISTRY }}/team/base:v5",
            Some("docker-image://myreg.azurecr.io/team/base:v5"),
            29,
            Some(32),
        ),
        row(
            Role::Context,
            Origin::BuildPushContexts,
            "docker-image://myreg.azurecr.io/team/assets:v5",
            Some("docker-image://myreg.azurecr.io/team/assets:v5"),
            29,
            Some(87),
        ),
    ];
    expected.extend(tag_rows(()));
    // `tags: *tags` in the second step: the alias points where the value is written.
    expected.extend(tag_rows(()));
    assert_eq!(refs(&d), expected);
    assert_rows_at(&text, &expected);
    assert_eq!(d.references[4].step.label, "Build arm64");
    // Each push target once for the later checks.
    assert_eq!(
        d.push_refs(),
        vec![tags_sha.clone(), "myreg.azurecr.io/team/web:main".into()]
    );
    assert_eq!(findings(&report), vec![]);
    assert!(report
        .verified
        .contains(&"job `build` of .github/workflows/anchors.yml grants `id-token: write` (job-level permissions, line 10)".to_string()));
}

#[test]
fn merged_with_keys_reach_the_step_inputs() {
    use acr_preflight::workflow::Workflow;
    let text = fixture("anchors.yml");
    let wf = Workflow::parse(".github/workflows/anchors.yml", &text).unwrap();
    let step = &wf.jobs[0].steps[2];
    let client = step.input("client-id").unwrap();
    assert_eq!(client.value, "11111111-2222-3333-4444-555555555555");
    // Merged from the `&login` mapping: positioned where the anchor wrote it.
    assert_eq!((client.start.line, client.start.column), (17, 22));
    assert_at(&text, 17, 22, "11111111-2222");
    let registry = step.input("registry").unwrap();
    assert_eq!(registry.value, "myreg.azurecr.io");
    assert_eq!((registry.start.line, registry.start.column), (5, 23));
    assert_at(&text, 5, 23, "myreg.azurecr.io");
    assert_eq!(wf.env.get("REGISTRY").unwrap().value, "myreg.azurecr.io");
}

#[test]
fn an_environment_job_and_a_build_before_the_preflight() {
    let case = Case::new("environment.yml", "deploy")
        .action("__acr-preflight_acr-preflight")
        .oidc(AuthMode::Oidc);
    let (report, d) = case.run();
    let text = fixture("environment.yml");
    assert_eq!(
        findings(&report),
        vec![
            (
                Code::WORKFLOW_ENVIRONMENT_SUBJECT,
                Severity::Notice,
                wf("environment.yml"),
                Some(9),
                Some(13)
            ),
            (
                Code::WORKFLOW_BUILD_BEFORE_PREFLIGHT,
                Severity::Warning,
                wf("environment.yml"),
                Some(17),
                Some(15)
            ),
        ]
    );
    assert_at(&text, 9, 13, "Production");
    assert_at(&text, 17, 15, "docker/build-push-action@v6");
    let env = &report.findings[0];
    assert_eq!(
        env.title,
        "job `deploy` runs in environment `Production`, so its OIDC subject is `repo:octo/shop:environment:Production`"
    );
    assert!(env.message.contains(
        "instead of the branch or pull-request subject (here `repo:octo/shop:ref:refs/heads/main`)"
    ));
    assert!(env.fix.contains(&format!("--id {CLIENT}")));
    assert!(
        env.fix
            .contains("\"subject\":\"repo:octo/shop:environment:Production\"")
    );
    let early = &report.findings[1];
    assert!(
        early
            .message
            .contains("before acr-preflight's step 3 (line 21)")
    );
    assert_at(&text, 21, 9, "name: Check registry set-up");
    // The only push target is before the preflight: nothing for the later checks.
    let expected = vec![row(
        Role::Push,
        Origin::BuildPushTags,
        "myreg.azurecr.io/shop/web:${{ github.sha }}",
        Some(&format!("myreg.azurecr.io/shop/web:{SHA}")),
        20,
        Some(17),
    )];
    assert_eq!(refs(&d), expected);
    assert_rows_at(&text, &expected);
    assert!(!d.references[0].after_preflight);
    assert!(d.push_refs().is_empty());
}

#[test]
fn expressions_resolve_from_the_environment_and_the_rest_is_named() {
    let case = Case::new("expressions.yml", "build")
        .action("preflight")
        .env("REGISTRY", "myreg.azurecr.io");
    let (report, d) = case.run();
    let text = fixture("expressions.yml");
    let expected = vec![
        row(
            Role::Context,
            Origin::BuildPushContexts,
            "docker-image://${{ env.BASE }}:v1",
            Some("docker-image://myreg.azurecr.io/team/base:v1"),
            26,
            Some(18),
        ),
        row(
            Role::Context,
            Origin::BuildPushContexts,
            "docker-image://${{ secrets.VENDOR_REGISTRY }}/vendor/lib:2",
            None,
            27,
            Some(20),
        ),
        row(
            Role::Push,
            Origin::BuildPushTags,
            "myreg.azurecr.io/team/app:${{ steps.meta.outputs.version }}",
            None,
            29,
            Some(17),
        ),
    ];
    assert_eq!(refs(&d), expected);
    assert_rows_at(&text, &expected);
    assert_eq!(
        findings(&report),
        vec![
            (
                Code::WORKFLOW_UNRESOLVED_EXPRESSION,
                Severity::Notice,
                wf("expressions.yml"),
                Some(27),
                Some(35)
            ),
            (
                Code::WORKFLOW_UNRESOLVED_EXPRESSION,
                Severity::Notice,
                wf("expressions.yml"),
                Some(29),
                Some(43)
            ),
        ]
    );
    assert_at(&text, 27, 35, "${{ secrets.VENDOR_REGISTRY }}");
    assert_at(&text, 29, 43, "${{ steps.meta.outputs.version }}");
    assert!(
        report.findings[1]
            .message
            .contains("a step output exists only once that step has run")
    );
    assert_eq!(
        d.context_refs(),
        vec!["docker-image://myreg.azurecr.io/team/base:v1".to_string()]
    );
}

#[test]
fn without_the_evaluated_env_the_vars_chain_is_explained() {
    let mut case = Case::new("expressions.yml", "build").action("preflight");
    case.config.env.event_name = Some("pull_request".into());
    let (report, d) = case.run();
    let base = &d.references[0];
    assert_eq!(base.reference, None);
    let (u, loc) = &base.unresolved[0];
    assert_eq!(u.written, "${{ env.BASE }}");
    assert!(
        u.reason.contains("${{ vars.REGISTRY }}") && u.reason.contains("configuration variables"),
        "{}",
        u.reason
    );
    assert_eq!((loc.line, loc.column), (Some(26), Some(33)));
    assert_at(&fixture("expressions.yml"), 26, 33, "${{ env.BASE }}");
    // On a pull request `push:` is false: the tags are not push targets, only names
    // the grammar check parses.
    assert!(
        d.references
            .iter()
            .all(|r| matches!(r.role, Role::Context | Role::Tag))
    );
    assert_eq!(report.findings.len(), 2);
}

#[test]
fn a_push_input_that_cannot_be_evaluated_is_reported_once() {
    let mut case = Case::new("expressions.yml", "build")
        .action("preflight")
        .env("REGISTRY", "myreg.azurecr.io");
    case.config.env.event_name = None;
    let (report, d) = case.run();
    assert!(
        d.references
            .iter()
            .all(|r| matches!(r.role, Role::Context | Role::Tag))
    );
    let undecided: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.title.starts_with("whether step"))
        .collect();
    assert_eq!(undecided.len(), 1);
    let l = undecided[0].location.as_ref().unwrap();
    assert_eq!((l.line, l.column), (Some(28), Some(17)));
    assert_at(
        &fixture("expressions.yml"),
        28,
        17,
        "${{ github.event_name != 'pull_request' }}",
    );
    assert!(
        undecided[0]
            .message
            .contains("GITHUB_EVENT_NAME is not set")
    );
}

#[test]
fn no_permissions_anywhere_and_an_azure_cli_inline_script() {
    let case = Case::new("no-permissions.yml", "publish");
    let (report, d) = case.run();
    let text = fixture("no-permissions.yml");
    assert_eq!(
        findings(&report),
        vec![
            (
                Code::WORKFLOW_OIDC_PERMISSION,
                Severity::Error,
                wf("no-permissions.yml"),
                Some(4),
                Some(3)
            ),
            (
                Code::WORKFLOW_UNRESOLVED_EXPRESSION,
                Severity::Notice,
                wf("no-permissions.yml"),
                Some(21),
                Some(48)
            ),
        ]
    );
    assert_at(&text, 4, 3, "publish:");
    assert_at(&text, 21, 48, "{{.Run.ID}}");
    let f = &report.findings[0];
    assert!(f.message.contains(
        "repository's default GITHUB_TOKEN permissions, which never include `id-token: write`"
    ));
    assert!(
        f.message
            .contains("azure/login and a `client-id` without `creds`, which is OIDC (line 10)")
    );
    assert!(
        f.fix
            .ends_with("  publish:\n    permissions:\n      contents: read\n      id-token: write")
    );
    assert!(
        report.findings[1]
            .message
            .contains("ACR Tasks fills in its run variables when the run starts")
    );
    let expected = vec![
        row(
            Role::Context,
            Origin::AcrRunContext,
            "oci://myreg.azurecr.io/team/lint-ctx:v4",
            Some("oci://myreg.azurecr.io/team/lint-ctx:v4"),
            20,
            Some(15),
        ),
        row(
            Role::Push,
            Origin::AcrBuildImage,
            "team/app:{{.Run.ID}}",
            None,
            21,
            Some(39),
        ),
        row(
            Role::Context,
            Origin::AcrBuildContext,
            "oci://myreg.azurecr.io/team/ctx:v9",
            Some("oci://myreg.azurecr.io/team/ctx:v9"),
            21,
            Some(61),
        ),
    ];
    assert_eq!(refs(&d), expected);
    assert_rows_at(&text, &expected);
    // No GITHUB_ACTION: the step that uses acr-preflight.
    assert_eq!(d.step.as_ref().map(|s| s.index), Some(2));
}

#[test]
fn a_malformed_file_is_a_finding_with_its_position() {
    let (report, d) = Case::new("malformed.yml", "build").run();
    assert_eq!(
        findings(&report),
        vec![(
            Code::WORKFLOW_INVALID,
            Severity::Warning,
            wf("malformed.yml"),
            Some(8),
            Some(6)
        )]
    );
    assert_at(&fixture("malformed.yml"), 8, 6, "- uses: acr-preflight");
    assert!(report.inconclusive);
    assert_eq!(report.status(), Status::Warn);
    assert!(d.references.is_empty() && d.workflow.is_none());
}

#[test]
fn a_job_token_push_to_ghcr_needs_packages_write_in_the_job_block() {
    let text = fixture("ghcr-push.yml");
    let (report, _) = Case::new("ghcr-push.yml", "publish")
        .action("preflight")
        .run();
    let expected = vec![(
        Code::WORKFLOW_PACKAGES_PERMISSION,
        Severity::Error,
        ".github/workflows/ghcr-push.yml".to_string(),
        Some(12),
        Some(5),
    )];
    assert_eq!(findings(&report), expected);
    assert_at(&text, 12, 5, "permissions:");
    let f = &report.findings[0];
    for seen in [
        "Step `docker/login-action@v3` (line 18)",
        "`ghcr.io/octo/shop:1.0` (line 26)",
        "at line 12 (`contents: read`)",
    ] {
        assert!(f.message.contains(seen), "{seen}: {}", f.message);
    }
    assert!(
        f.fix.contains(
            "\n  publish:\n    permissions:\n      contents: read\n      packages: write"
        ),
        "{}",
        f.fix
    );
}

#[test]
fn the_workflow_block_grants_packages_and_a_pat_needs_no_job_permission() {
    // `granted` inherits the workflow's `packages: write`; `pat` logs in with a
    // personal access token, whose own scopes decide.
    for job in ["granted", "pat"] {
        let (report, _) = Case::new("ghcr-push.yml", job).action("preflight").run();
        assert!(
            !report
                .findings
                .iter()
                .any(|f| f.code == Code::WORKFLOW_PACKAGES_PERMISSION),
            "{job}: {:?}",
            findings(&report)
        );
    }
    let (report, _) = Case::new("ghcr-push.yml", "granted")
        .action("preflight")
        .run();
    assert!(
        report
            .verified
            .iter()
            .any(|v| v == "job `granted` grants `packages: write` (line 4) for its GITHUB_TOKEN push to ghcr.io"),
        "{:?}",
        report.verified
    );
}

/// The one WORKFLOW_PACKAGES_PERMISSION of `job` in ghcr-push.yml: its line and message.
fn packages_finding(job: &str) -> Option<(Option<u32>, String)> {
    let (report, _) = Case::new("ghcr-push.yml", job).action("preflight").run();
    let found: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.code == Code::WORKFLOW_PACKAGES_PERMISSION)
        .collect();
    assert!(found.len() <= 1, "{job}: {found:?}");
    found
        .first()
        .map(|f| (f.location.as_ref().and_then(|l| l.line), f.message.clone()))
}

#[test]
fn a_script_login_with_the_job_token_and_a_ghcr_cache_export_need_packages_write() {
    let text = fixture("ghcr-push.yml");
    let line = |needle: &str| {
        text.lines()
            .enumerate()
            .filter(|(_, l)| l.contains(needle))
            .map(|(i, _)| i as u32 + 1)
            .collect::<Vec<u32>>()
    };
    // `echo "$GITHUB_TOKEN" | docker login … --password-stdin`, the variable set to the
    // job token by the step's `env:`; the finding is on the job's `permissions:`.
    let (at, message) = packages_finding("script").expect("script: a finding");
    let script_job = line("  script:")[0];
    assert_eq!(at, Some(script_job + 2));
    for seen in [
        "Step `Log in with the job token` (line",
        "with the job's GITHUB_TOKEN (`docker login`)",
        "pushes `ghcr.io/octo/shop:1.0`",
    ] {
        assert!(message.contains(seen), "{seen}: {message}");
    }
    // A build that only exports its registry cache to ghcr.io writes there too.
    let (_, message) = packages_finding("cache").expect("cache: a finding");
    assert!(
        message.contains("exports its registry cache to `ghcr.io/octo/shop:cache`"),
        "{message}"
    );
    // Quiet: the same script login with `packages: write`, and a cache only read.
    assert_eq!(packages_finding("script-granted"), None);
    assert_eq!(packages_finding("cache-read"), None);
}

#[test]
fn a_sudo_build_does_not_read_the_runner_users_login() {
    let text = fixture("sudo-build.yml");
    let (report, _) = Case::new("sudo-build.yml", "image")
        .action("preflight")
        .run();
    let mismatches: Vec<_> = findings(&report)
        .into_iter()
        .filter(|f| f.0 == Code::WORKFLOW_CONFIG_MISMATCH)
        .collect();
    let at = |line| {
        (
            Code::WORKFLOW_CONFIG_MISMATCH,
            Severity::Warning,
            ".github/workflows/sudo-build.yml".to_string(),
            Some(line),
            Some(16),
        )
    };
    assert_eq!(mismatches, vec![at(17), at(18)]);
    assert_at(&text, 17, 16, "docker build");
    assert_at(&text, 18, 16, "docker push");
    let f = report
        .findings
        .iter()
        .find(|f| f.code == Code::WORKFLOW_CONFIG_MISMATCH)
        .unwrap();
    for seen in [
        "runs `docker build` through sudo, so it uses /root/.docker/config.json",
        "`docker/login-action` in step `docker/login-action@v3` (line 12), which runs without sudo",
    ] {
        assert!(f.message.contains(seen), "{seen}: {}", f.message);
    }
}

#[test]
fn a_login_and_build_both_through_sudo_agree() {
    let (report, d) = Case::new("sudo-build.yml", "both")
        .action("preflight")
        .run();
    assert!(d.logins[0].as_root && d.builds[0].as_root);
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.code == Code::WORKFLOW_CONFIG_MISMATCH),
        "{:?}",
        findings(&report)
    );
}

#[test]
fn a_step_level_docker_config_is_named_with_the_one_checked() {
    let text = fixture("sudo-build.yml");
    let (report, _) = Case::new("sudo-build.yml", "own-config")
        .action("preflight")
        .run();
    assert_eq!(
        findings(&report),
        vec![(
            Code::WORKFLOW_CONFIG_MISMATCH,
            Severity::Warning,
            ".github/workflows/sudo-build.yml".to_string(),
            Some(35),
            Some(26),
        )]
    );
    assert_at(&text, 35, 26, "/tmp/build-docker");
    let m = &report.findings[0].message;
    assert!(m.contains("reads `/tmp/build-docker/config.json`"), "{m}");
    assert!(
        m.contains("acr-preflight checked /nonexistent/config.json"),
        "{m}"
    );
    // The same expression in the job's `env:` and the step's is one config.
    let (report, _) = Case::new("sudo-build.yml", "shared-config")
        .action("preflight")
        .run();
    assert_eq!(findings(&report), vec![]);
}

#[test]
fn an_inline_docker_config_is_named_with_the_one_checked() {
    let text = fixture("sudo-build.yml");
    let (report, d) = Case::new("sudo-build.yml", "inline-config")
        .action("preflight")
        .run();
    let at = |line, column| {
        (
            Code::WORKFLOW_CONFIG_MISMATCH,
            Severity::Warning,
            ".github/workflows/sudo-build.yml".to_string(),
            Some(line),
            Some(column),
        )
    };
    // The fourth names the config acr-preflight checked, the fifth none, the sixth's
    // does not pass `sudo` (env_reset): none is reported; the seventh's passes `sudo -E`.
    assert_eq!(
        findings(&report),
        vec![at(55, 11), at(56, 15), at(57, 18), at(61, 19)]
    );
    assert_at(&text, 61, 19, "DOCKER_CONFIG=/tmp/ci-docker docker push");
    assert_at(&text, 55, 11, "DOCKER_CONFIG=/tmp/ci-docker docker build");
    assert_at(&text, 56, 15, "DOCKER_CONFIG=/tmp/ci-docker docker push");
    assert_at(&text, 57, 18, "--config /tmp/other");
    assert_eq!(d.builds.len(), 7);
    assert!(d.builds[4].inline_config.is_none());
    assert!(d.builds[5].inline_config.is_none());
    let m = &report.findings[0].message;
    for seen in [
        "runs `docker build` with `DOCKER_CONFIG=/tmp/ci-docker` (line 55)",
        "reads `/tmp/ci-docker/config.json`",
        "acr-preflight checked /nonexistent/config.json",
    ] {
        assert!(m.contains(seen), "{seen}: {m}");
    }
    assert!(report.findings[2].title.contains("`/tmp/other`"));
}

/// A build's kind, its Dockerfile and its known build-args.
type BuildRow<'a> = (&'a str, Option<&'a str>, Vec<(String, String)>);

#[test]
fn builds_carry_their_dockerfile_and_known_build_args() {
    let case = Case::new("dockerfile-inputs.yml", "build")
        .action("__acr-preflight_acr-preflight")
        .oidc(AuthMode::Oidc);
    let (_, d) = case.run();
    let got: Vec<BuildRow> = d
        .builds
        .iter()
        .map(|b| {
            (
                b.what.as_str(),
                b.inputs.dockerfile.as_deref(),
                b.inputs.build_args.clone(),
            )
        })
        .collect();
    let arg = |n: &str, v: &str| (n.to_string(), v.to_string());
    assert_eq!(
        got,
        vec![
            // `FROM_ENV` alone takes its value from the environment: not known here.
            (
                "docker/build-push-action",
                Some("services/api/Dockerfile"),
                vec![arg("BASE_TAG", "3.20")]
            ),
            (
                "docker/build-push-action",
                Some("build/app.Dockerfile"),
                vec![]
            ),
            (
                "docker buildx build",
                Some("ci/Dockerfile.ci"),
                vec![arg("REG", "myreg.azurecr.io")]
            ),
            ("docker build", Some("tools/Dockerfile"), vec![]),
            // `az acr build` of a local folder reads --file relative to the working
            // directory (azure-cli `acr/build.py`).
            ("az acr build", Some("docker/Dockerfile"), vec![]),
            // A Dockerfile on stdin is not a file acr-preflight can read.
            ("docker build", None, vec![]),
        ]
    );
}

/// A base image, its Dockerfile, line, column and the build step's label.
type BaseRow<'a> = (&'a str, &'a str, Option<u32>, Option<u32>, &'a str);

#[test]
fn base_images_come_from_the_dockerfiles_with_their_from_line() {
    let case = Case::new("dockerfile-inputs.yml", "build")
        .action("__acr-preflight_acr-preflight")
        .oidc(AuthMode::Oidc);
    let (_, d) = case.run();
    let mut files = BTreeMap::new();
    let api = "# syntax=docker/dockerfile:1\nARG BASE_TAG=3.19\nFROM alpine:${BASE_TAG} AS base\nFROM base\n";
    files.insert("services/api/Dockerfile".to_string(), api.to_string());
    let ci = "ARG REG\nFROM --platform=$BUILDPLATFORM \\\n    $REG/team/builder:2 AS b\nFROM scratch\nFROM ${UNKNOWN}/x\n";
    files.insert("ci/Dockerfile.ci".to_string(), ci.to_string());
    let got = d.base_images(&files);
    let rows: Vec<BaseRow> = got
        .images
        .iter()
        .map(|b| {
            (
                b.image.as_str(),
                b.location.file.as_str(),
                b.location.line,
                b.location.column,
                b.step.label.as_str(),
            )
        })
        .collect();
    // The build-arg BASE_TAG=3.20 overrides the ARG default; REG comes from --build-arg;
    // `base` is a stage, `scratch` no image, `${UNKNOWN}` not known here.
    assert_eq!(
        rows,
        vec![
            (
                "alpine:3.20",
                "services/api/Dockerfile",
                Some(3),
                Some(6),
                "Action with a context"
            ),
            (
                "myreg.azurecr.io/team/builder:2",
                "ci/Dockerfile.ci",
                Some(3),
                Some(5),
                "Scripts"
            ),
        ]
    );
    assert_at(api, 3, 6, "alpine:${BASE_TAG}");
    assert_at(ci, 3, 5, "$REG/team/builder:2");
    let unreadable: Vec<&str> = got.unreadable.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        unreadable,
        vec![
            "build/app.Dockerfile",
            "tools/Dockerfile",
            "docker/Dockerfile"
        ]
    );
}
