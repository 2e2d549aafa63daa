//! The identity and role check end to end: the built binary signs in to the Entra fake
//! (GitHub OIDC federated credential or client secret) at login.microsoftonline.com,
//! reads ARM at management.azure.com, exchanges the token at myreg.azurecr.io, which is
//! the real distribution registry behind a token server granting per the role table.
//! Every Azure host is reached through --resolve and a throwaway CA, as production runs.

use crate::support;

use serde_json::Value;
use std::process::Command;
use std::sync::Arc;
use support::azure::*;
use support::registry::TestRegistry;
use support::token::TokenServer;

const BIN: &str = env!("CARGO_BIN_EXE_acr-preflight");
pub(crate) const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
pub(crate) const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
pub(crate) const OBJECT_ID: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
pub(crate) const SUB: &str = "00000000-1111-2222-3333-444444444444";
const REPO: &str = "octo/app";
const HOST: &str = "myreg.azurecr.io";
pub(crate) const SECRET: &str = "planted-client-secret-value-xyz";

pub(crate) struct World {
    pub(crate) az: AzureFakes,
    /// The registry's login server (`myreg.azurecr.io` unless a test gives it a hash).
    pub(crate) host: String,
    pub(crate) _ts: Arc<TokenServer>,
    _bridge: AcrBridge,
    pub(crate) _registry: TestRegistry,
    pub(crate) reg: Registry,
    pub(crate) digest: String,
}

/// An app with a federated credential for `main` and a secret, an RBAC registry holding
/// `team/ctx:v1`; roles are up to each test (also used by report_schema.rs).
pub(crate) fn world(abac: bool) -> World {
    world_with(abac, |r| r)
}

/// [`world`] with the registry's definition adjusted (a domain-name-label hash, …).
pub(crate) fn world_with(abac: bool, adjust: impl FnOnce(Registry) -> Registry) -> World {
    let az = AzureFakes::start();
    az.entra.add_tenant(TENANT, Cloud::Public);
    az.entra.add_app(
        App::new(TENANT, CLIENT_ID, OBJECT_ID)
            .secret(SECRET, 3600)
            .federated(FederatedCredential::github(&format!(
                "repo:{REPO}:ref:refs/heads/main"
            ))),
    );
    az.github.set_claims(GitHubClaims::branch(REPO, "main"));
    az.arm.add_subscription(SUB, TENANT);
    let registry_def = Registry::new(SUB, "rg-ci", "myreg");
    let reg = az.arm.add_registry(adjust(if abac {
        registry_def.abac()
    } else {
        registry_def
    }));
    let host = reg.login_server.clone();
    let ts = Arc::new(TokenServer::start_with(&host, "acr-issuer"));
    let bridge = AcrBridge::connect(&az, &ts, &reg.id());
    let registry = TestRegistry::start_blocking(fronted_registry_kind(&ts));
    az.serve_registry(&host, registry.addr(), ts.addr());
    let digest = support::block_on(async {
        support::fixtures::Publisher::new(&registry.url())
            .with_token_server(&ts)
            .titled_artifact("team/ctx", "v1")
            .await
            .digest
    });
    World {
        az,
        host,
        _ts: ts,
        _bridge: bridge,
        _registry: registry,
        reg,
        digest,
    }
}

pub(crate) struct Run {
    pub(crate) status: i32,
    pub(crate) json: Value,
    pub(crate) raw: String,
}

impl Run {
    pub(crate) fn codes(&self) -> Vec<String> {
        self.json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    }

    pub(crate) fn only(&self, code: &str) -> Value {
        let found: Vec<&Value> = self.json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["code"] == code)
            .collect();
        assert_eq!(found.len(), 1, "expected one {code}: {:#}", self.json);
        found[0].clone()
    }

    pub(crate) fn verified(&self, check: &str) -> String {
        self.json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["check"] == check)
            .flat_map(|c| {
                c["verified"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Runs the binary with OIDC env from the fake (unless `oidc` is false) and these args.
pub(crate) fn run(w: &World, oidc: bool, extra_env: &[(&str, &str)], args: &[&str]) -> Run {
    run_docker(w, oidc, extra_env, args, true)
}

/// [`run`], with an empty docker config (`{}`) or, when `docker_config` is false, a
/// docker config directory without config.json.
fn run_docker(
    w: &World,
    oidc: bool,
    extra_env: &[(&str, &str)],
    args: &[&str],
    docker_config: bool,
) -> Run {
    run_config(w, oidc, extra_env, args, docker_config.then_some("{}"))
}

/// [`run`] with this docker config.json (`None`: a docker config directory without one).
pub(crate) fn run_config(
    w: &World,
    oidc: bool,
    extra_env: &[(&str, &str)],
    args: &[&str],
    docker_config: Option<&str>,
) -> Run {
    run_in(w, SUB, oidc, extra_env, args, docker_config)
}

/// [`run_config`] with `--subscription-id subscription` (none when it is empty).
pub(crate) fn run_in(
    w: &World,
    subscription: &str,
    oidc: bool,
    extra_env: &[(&str, &str)],
    args: &[&str],
    docker_config: Option<&str>,
) -> Run {
    let docker = tempfile::tempdir().unwrap();
    if let Some(config) = docker_config {
        std::fs::write(docker.path().join("config.json"), config).unwrap();
    }
    let mut cmd = Command::new(BIN);
    cmd.env_clear().env("PATH", "/usr/bin:/bin");
    if oidc {
        for (k, v) in w.az.github.env() {
            cmd.env(k, v);
        }
    }
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.args(["--registry", "myreg", "--tenant-id", TENANT]);
    if !subscription.is_empty() {
        cmd.args(["--subscription-id", subscription]);
    }
    cmd.args(["--ca-file", w.az.ca_pem_path().to_str().unwrap()])
        .args(w.az.resolve_args(&[HOST, w.host.as_str()]))
        .args([
            "--docker-config",
            docker.path().to_str().unwrap(),
            "--format",
            "json",
            "--timeout",
            "30",
        ])
        .args(args);
    let out = cmd.output().unwrap();
    let raw = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {raw}"));
    Run {
        status: out.status.code().unwrap_or(-1),
        json,
        raw,
    }
}

/// A workspace whose `.github/workflows/build.yml` has job `build`: OIDC permissions,
/// acr-preflight's step, then `steps` (YAML list items, indented six spaces).
pub(crate) fn job_workspace(steps: &str) -> tempfile::TempDir {
    let workspace = tempfile::tempdir().unwrap();
    let workflows = workspace.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join("build.yml"),
        format!(
            "on: push
permissions:
  id-token: write
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: acr-preflight/acr-preflight@v0
{steps}"
        ),
    )
    .unwrap();
    workspace
}

/// The runner's variables for job `build` of `.github/workflows/build.yml` in `ws`,
/// acr-preflight's step being `uses: acr-preflight/acr-preflight@v0`.
pub(crate) fn job_env(ws: &str) -> [(&'static str, &str); 6] {
    [
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_WORKSPACE", ws),
        (
            "GITHUB_WORKFLOW_REF",
            "octo/app/.github/workflows/build.yml@refs/heads/main",
        ),
        ("GITHUB_JOB", "build"),
        ("GITHUB_ACTION", "__acr-preflight_acr-preflight"),
        ("GITHUB_REPOSITORY", "octo/app"),
    ]
}

/// A custom role that may read the registry in ARM and nothing else (no pull).
pub(crate) fn arm_reader() -> Role {
    Role::Custom(RoleDefinition {
        id: "0b4d5e1c-0000-4000-8000-000000000001".into(),
        name: "Registry ARM Reader".into(),
        actions: vec!["Microsoft.ContainerRegistry/registries/read".into()],
        not_actions: vec![],
        data_actions: vec![],
        not_data_actions: vec![],
    })
}

pub(crate) const CONTEXT: [&str; 2] = ["--context", "oci://myreg.azurecr.io/team/ctx:v1"];

pub(crate) fn assert_no_secret_leaks(w: &World, r: &Run) {
    for v in w.az.sensitive_values() {
        assert!(
            !r.raw.contains(&v),
            "a sensitive value reached the output: {}…",
            &v[..v.len().min(12)]
        );
    }
    assert!(!r.raw.contains(SECRET));
}

#[test]
fn oidc_with_acr_pull_passes_and_reports_the_principal_and_the_presented_claims() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    w.az.arm.assign(OBJECT_ID, arm_reader(), &w.reg.id());
    // The oci:// context is an ACR Tasks build: it queues a run.
    w.az.arm
        .assign(OBJECT_ID, Role::TasksContributor, &w.reg.id());
    let r = run(
        &w,
        true,
        &[],
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
    );
    assert_eq!(r.status, 0, "{:#}", r.json);
    let id = &r.json["identity"];
    assert_eq!(id["client_id"], CLIENT_ID);
    assert_eq!(id["object_id"], OBJECT_ID);
    assert_eq!(id["tenant_id"], TENANT);
    assert_eq!(id["method"], "GitHub OIDC federated credential");
    assert_eq!(
        id["presented"]["sub"],
        format!("repo:{REPO}:ref:refs/heads/main")
    );
    assert_eq!(id["presented"]["aud"], "api://AzureADTokenExchange");
    let verified = r.verified("identity");
    assert!(verified.contains("ARM permissions of identity 11111111-2222-3333-4444-555555555555 allow pull: yes, push: no (RBAC mode)"), "{verified}");
    assert!(
        verified.contains("/oauth2/exchange accepted the Entra token"),
        "{verified}"
    );
    assert!(r.verified("registry").contains(&w.digest), "{:#}", r.json);
    assert_eq!(r.json["contexts"][0]["digest"], w.digest.as_str());
    assert_no_secret_leaks(&w, &r);
}

#[test]
fn a_subject_mismatch_prints_the_presented_subject_and_the_exact_fix() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    w.az.github.set_claims(GitHubClaims::pull_request(REPO, 7));
    let r = run(
        &w,
        true,
        &[],
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
    );
    assert_eq!(r.status, 1);
    let f = r.only("ID_FEDERATION_MISMATCH");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("AADSTS"), "{message}");
    assert!(
        message.contains(&format!("sub=repo:{REPO}:pull_request")),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!(
            "az ad app federated-credential create --id {CLIENT_ID}"
        )),
        "{fix}"
    );
    assert!(
        fix.contains(&format!("\"subject\":\"repo:{REPO}:pull_request\"")),
        "{fix}"
    );
    assert_no_secret_leaks(&w, &r);
}

#[test]
fn a_subject_mismatch_says_what_the_presented_claims_show() {
    // Each case: the claims the job presents, and what the message must add.
    let cases = [
        (
            GitHubClaims::pull_request(REPO, 7).immutable("4711", "815"),
            "uses GitHub's immutable form",
        ),
        (
            GitHubClaims::tag(REPO, "v1.2.0"),
            "at most 20). For many branches or tags, give the job an `environment:` and register `repo:OWNER/REPO:environment:NAME` once; or, on an app registration, create one flexible federated identity credential (preview, https://learn.microsoft.com/entra/workload-id/workload-identities-flexible-federated-identity-credentials) whose claims-matching expression covers them all: `claims['sub'] matches 'repo:octo/app:ref:refs/tags/*'`.",
        ),
        // Registered for `main`: Entra's AADSTS7002138.
        (
            GitHubClaims::branch(REPO, "Main"),
            "differs from `repo:octo/app:ref:refs/heads/Main` in case alone",
        ),
        (
            GitHubClaims::pull_request(REPO, 7)
                .with_subject(&format!("repo:{REPO}:context:pull_request:actor:octocat")),
            "customises its OIDC subject template",
        ),
    ];
    for (claims, note) in cases {
        let w = world(false);
        w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
        let sub = claims.subject();
        w.az.github.set_claims(claims);
        let r = run(
            &w,
            true,
            &[],
            &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
        );
        assert_eq!(r.status, 1, "{sub}");
        let f = r.only("ID_FEDERATION_MISMATCH");
        let message = f["message"].as_str().unwrap();
        assert!(message.contains(&format!("sub={sub}")), "{message}");
        assert!(message.contains(note), "{sub}: {message}");
        assert_no_secret_leaks(&w, &r);
    }
}

/// `--client-id` (OIDC), `extra`, and the context.
fn oidc_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    [&["--client-id", CLIENT_ID][..], extra, &CONTEXT[..]].concat()
}

/// P09/P08: the issuer and audience notes, and the reverse immutable case, through the
/// binary against the Entra fake (its AADSTS codes per issuer, subject and audience).
#[test]
fn issuer_audience_and_immutable_form_notes_name_what_the_claims_show() {
    const GITHUB: &str = "https://token.actions.githubusercontent.com";
    let main = format!("repo:{REPO}:ref:refs/heads/main");
    // (registered credential, claims presented, extra args, note the message must hold)
    let cases: Vec<(FederatedCredential, GitHubClaims, Vec<&str>, String)> = vec![
        // Registered with a trailing slash: GitHub never presents one (AADSTS700211).
        (
            FederatedCredential::new(&format!("{GITHUB}/"), &main, "api://AzureADTokenExchange"),
            GitHubClaims::branch(REPO, "main"),
            vec![],
            format!("one registered with a trailing slash (`{GITHUB}/`) never matches"),
        ),
        (
            FederatedCredential::github(&main),
            GitHubClaims::branch(REPO, "main").with_issuer(&format!("{GITHUB}/acme")),
            vec![],
            format!("The enterprise `acme` uses its own issuer URL (`{GITHUB}/acme`)"),
        ),
        (
            FederatedCredential::github(&main),
            GitHubClaims::branch(REPO, "main").with_issuer("https://ghes.example/_services/token"),
            vec![],
            "Entra itself must fetch `https://ghes.example/_services/token/.well-known/openid-configuration`".to_string(),
        ),
        (
            FederatedCredential::github(&main),
            GitHubClaims::branch(REPO, "main"),
            vec!["--audience", "api://custom"],
            "The token's audience is `api://custom`, not this cloud's default `api://AzureADTokenExchange`: the credential's `audiences` must list `api://custom`".to_string(),
        ),
        // Registered in the immutable form while the repository still presents names.
        (
            FederatedCredential::github("repo:octo@900001/app@800001:ref:refs/heads/main"),
            GitHubClaims::branch(REPO, "main"),
            vec![],
            "which this token's `repository_owner_id` and `repository_id` make `repo:octo@900001/app@800001:ref:refs/heads/main`, does not match it".to_string(),
        ),
    ];
    for (fic, claims, extra, note) in cases {
        let w = world(false);
        w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
        w.az.entra
            .update_app(CLIENT_ID, |app| app.federated = vec![fic]);
        w.az.github.set_claims(claims);
        let r = run(&w, true, &[], &oidc_args(&extra));
        assert_eq!(r.status, 1, "{note}");
        let message = r.only("ID_FEDERATION_MISMATCH")["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains(&note), "{note}\n{message}");
        assert_no_secret_leaks(&w, &r);
    }
    // A credential that matches: no finding, so no note.
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    let codes = run(&w, true, &[], &oidc_args(&[])).codes();
    assert!(
        !codes.iter().any(|c| c == "ID_FEDERATION_MISMATCH"),
        "{codes:?}"
    );
}

#[test]
fn a_managed_identity_on_a_github_hosted_runner_is_told_it_has_none() {
    // App Service's managed-identity endpoint variables point the SDK at a closed port
    // here, so the credential fails at once, as IMDS does off Azure.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}/msi/token", closed.local_addr().unwrap());
    drop(closed);
    let w = world(false);
    for (runner, expected) in [
        (
            "github-hosted",
            "GitHub-hosted runner (RUNNER_ENVIRONMENT=github-hosted), which has no Azure managed identity",
        ),
        ("self-hosted", "Managed identity works only on Azure hosts"),
    ] {
        let r = run(
            &w,
            false,
            &[
                ("RUNNER_ENVIRONMENT", runner),
                ("IDENTITY_ENDPOINT", &endpoint),
                ("IDENTITY_HEADER", "x"),
            ],
            &[&["--auth-mode", "managed-identity"][..], &CONTEXT[..]].concat(),
        );
        assert_eq!(r.status, 1, "{runner}");
        let fix = r.only("ID_TOKEN_FAILED")["fix"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(fix.contains(expected), "{runner}: {fix}");
    }
}

#[test]
fn a_missing_role_is_proven_on_the_data_plane_with_the_exact_assignment() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, arm_reader(), &w.reg.id());
    let r = run(
        &w,
        true,
        &[],
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
    );
    assert_eq!(r.status, 1, "{:#}", r.json);
    let f = r.only("ROLE_PULL_MISSING");
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!(
            "az role assignment create --assignee {CLIENT_ID} --role AcrPull --scope {}",
            w.reg.id()
        )),
        "{fix}"
    );
    assert!(r.verified("identity").contains("allow pull: no"));
}

#[test]
fn acr_pull_on_an_abac_registry_is_named_and_the_repository_role_suggested() {
    let w = world(true);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    w.az.arm.assign(OBJECT_ID, arm_reader(), &w.reg.id());
    let r = run(
        &w,
        true,
        &[],
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
    );
    assert_eq!(r.status, 1, "{:#}", r.json);
    let f = r.only("ROLE_ABAC_MODE");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("Container Registry Repository Reader"),
        "{}",
        f["fix"]
    );
    let pull = r.only("ROLE_PULL_MISSING");
    assert!(
        pull["fix"]
            .as_str()
            .unwrap()
            .contains("\"Container Registry Repository Reader\""),
        "{}",
        pull["fix"]
    );
    assert_eq!(r.only("TASKS_ABAC_SOURCE_AUTH")["severity"], "warning");
}

#[test]
fn a_repository_role_in_abac_mode_pulls_without_arm_read() {
    let w = world(true);
    w.az.arm.assign_limited(
        OBJECT_ID,
        Role::RepositoryReader,
        &w.reg.id(),
        &["team/ctx"],
    );
    let r = run(
        &w,
        true,
        &[],
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
    );
    assert!(
        r.codes()
            .iter()
            .all(|c| c != "ROLE_PULL_MISSING" && c != "ROLE_ABAC_MODE"),
        "{:#}",
        r.json
    );
    assert_eq!(
        r.json["contexts"][0]["digest"],
        w.digest.as_str(),
        "{:#}",
        r.json
    );
    let denied = r.only("ARM_READ_DENIED");
    assert_eq!(denied["severity"], "notice");
}

#[test]
fn a_push_without_acr_push_is_missing_push() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    let r = run(
        &w,
        true,
        &[],
        &[
            "--client-id",
            CLIENT_ID,
            "--push",
            "myreg.azurecr.io/team/app:v2",
        ],
    );
    let f = r.only("ROLE_PUSH_MISSING");
    assert!(
        f["fix"].as_str().unwrap().contains("--role AcrPush"),
        "{}",
        f["fix"]
    );
}

#[test]
fn no_oidc_variables_name_the_missing_permission_or_the_fork() {
    let w = world(false);
    let r = run(
        &w,
        false,
        &[],
        &[
            &["--client-id", CLIENT_ID, "--auth-mode", "oidc"][..],
            &CONTEXT[..],
        ]
        .concat(),
    );
    assert_eq!(
        r.only("ID_OIDC_UNAVAILABLE")["title"],
        "no OIDC token: the job lacks `permissions: id-token: write`"
    );

    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(
        &event,
        r#"{"pull_request":{"number":7,"head":{"repo":{"full_name":"stranger/app","fork":true}},"base":{"repo":{"full_name":"octo/app"}}}}"#,
    )
    .unwrap();
    let r = run(
        &w,
        false,
        &[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
        ],
        &[
            &["--client-id", CLIENT_ID, "--auth-mode", "oidc"][..],
            &CONTEXT[..],
        ]
        .concat(),
    );
    let f = r.only("ID_OIDC_UNAVAILABLE");
    assert_eq!(
        f["title"],
        "no OIDC token: pull requests from forks get none"
    );
    assert!(f["message"].as_str().unwrap().contains("stranger/app"));
}

#[test]
fn client_secret_errors_map_to_their_codes() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    let base = |secret: &str, client: &str| {
        run(
            &w,
            false,
            &[("AZURE_CLIENT_SECRET", secret)],
            &[&["--client-id", client][..], &CONTEXT[..]].concat(),
        )
    };
    let ok = base(SECRET, CLIENT_ID);
    assert_eq!(ok.status, 0, "{:#}", ok.json);
    assert_eq!(ok.json["identity"]["method"], "client secret");
    let wrong = base("wrong-secret-planted-123", CLIENT_ID);
    assert!(
        wrong.only("ID_SECRET_INVALID")["message"]
            .as_str()
            .unwrap()
            .contains("AADSTS7000215")
    );
    assert!(!wrong.raw.contains("wrong-secret-planted-123"));
    let unknown = base(SECRET, "99999999-2222-3333-4444-555555555555");
    unknown.only("ID_APP_NOT_FOUND");
    assert_no_secret_leaks(&w, &ok);
}

#[test]
fn an_expired_secret_an_unknown_tenant_and_an_expired_assertion() {
    let w = world(false);
    w.az.entra.add_app(
        App::new(
            TENANT,
            "22222222-2222-3333-4444-555555555555",
            "bbbbbbbb-bbbb-cccc-dddd-eeeeeeeeeeee",
        )
        .secret("old-secret-value-planted", -60),
    );
    let r = run(
        &w,
        false,
        &[("AZURE_CLIENT_SECRET", "old-secret-value-planted")],
        &[
            &["--client-id", "22222222-2222-3333-4444-555555555555"][..],
            &CONTEXT[..],
        ]
        .concat(),
    );
    r.only("ID_SECRET_EXPIRED");

    let docker = tempfile::tempdir().unwrap();
    std::fs::write(docker.path().join("config.json"), "{}").unwrap();
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("AZURE_CLIENT_SECRET", SECRET)
        .args([
            "--registry",
            "myreg",
            "--client-id",
            CLIENT_ID,
            "--tenant-id",
            "33333333-3333-3333-3333-333333333333",
        ])
        .args(["--ca-file", w.az.ca_pem_path().to_str().unwrap()])
        .args(w.az.resolve_args(&[HOST]))
        .args([
            "--docker-config",
            docker.path().to_str().unwrap(),
            "--format",
            "json",
        ])
        .args(CONTEXT)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "ID_TENANT_NOT_FOUND"),
        "{v:#}"
    );

    w.az.github.set_issued_offset(-900);
    let r = run(
        &w,
        true,
        &[],
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
    );
    r.only("ID_ASSERTION_EXPIRED");
}

#[test]
fn a_login_server_absent_from_the_subscription_lists_what_is_there() {
    let w = world(false);
    w.az.arm
        .assign(OBJECT_ID, Role::Reader, &format!("/subscriptions/{SUB}"));
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    let r = run(
        &w,
        true,
        &[],
        &[
            "--client-id",
            CLIENT_ID,
            "--context",
            "oci://myregg.azurecr.io/team/ctx:v1",
        ],
    );
    let f = r.only("REGISTRY_NOT_FOUND");
    assert!(
        f["message"].as_str().unwrap().contains("myreg.azurecr.io"),
        "{}",
        f["message"]
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("Did you mean `myreg.azurecr.io`?"),
        "{}",
        f["fix"]
    );
}

#[test]
fn auto_mode_picks_the_configured_identity() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    // Nothing Azure configured: docker config only, no identity check at all.
    let r = run(&w, true, &[], &CONTEXT);
    assert!(r.json["identity"].is_null());
    assert!(
        r.json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["check"] != "identity")
    );
    // A client id and the OIDC variables: OIDC.
    let r = run(
        &w,
        true,
        &[],
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
    );
    assert_eq!(
        r.json["identity"]["method"],
        "GitHub OIDC federated credential"
    );
    // A client id and a secret: the secret, even with OIDC available.
    let r = run(
        &w,
        true,
        &[("AZURE_CLIENT_SECRET", SECRET)],
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
    );
    assert_eq!(r.json["identity"]["method"], "client secret");
}

/// A fake `az` in its own folder, printing what `az account get-access-token -o json
/// --scope … --tenant …` prints (`accessToken`, `expiresOn`, `expires_on` since CLI
/// 2.54.0, …: https://learn.microsoft.com/cli/azure/account#az-account-get-access-token)
/// with tokens the Entra fake minted for the app.
pub(crate) struct FakeAz {
    pub(crate) arm: String,
    pub(crate) acr: String,
    /// `PATH` with the fake first.
    pub(crate) path: String,
    _bin: tempfile::TempDir,
}

impl FakeAz {
    /// Its tokens claim to expire at `expires_on` (seconds since the epoch).
    pub(crate) fn new(w: &World, expires_on: u64) -> FakeAz {
        let arm =
            w.az.entra
                .mint_access_token(CLIENT_ID, "https://management.azure.com");
        let acr =
            w.az.entra
                .mint_access_token(CLIENT_ID, "https://containerregistry.azure.net");
        let mut az = FakeAz::script(&format!(
            "case \"$*\" in *containerregistry*) t='{acr}';; *) t='{arm}';; esac\nprintf '{{\"accessToken\":\"%s\",\"expiresOn\":\"2030-01-01 00:00:00.000000\",\"expires_on\":{expires_on},\"subscription\":\"{SUB}\",\"tenant\":\"{TENANT}\",\"tokenType\":\"Bearer\"}}\\n' \"$t\"\n"
        ));
        az.arm = arm;
        az.acr = acr;
        az
    }

    /// An `az` that runs this shell script body (no tokens of its own).
    pub(crate) fn script(body: &str) -> FakeAz {
        use std::os::unix::fs::PermissionsExt;
        let bin = tempfile::tempdir().unwrap();
        let az = bin.path().join("az");
        std::fs::write(&az, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = format!("{}:/usr/bin:/bin", bin.path().display());
        FakeAz {
            arm: String::new(),
            acr: String::new(),
            path,
            _bin: bin,
        }
    }
}

#[test]
fn azure_cli_mode_uses_the_az_session() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    let az = FakeAz::new(&w, 1_893_456_000);
    let (arm, acr, path) = (&az.arm, &az.acr, az.path.as_str());
    let r = run(
        &w,
        false,
        &[("PATH", path)],
        &[&["--auth-mode", "azure-cli"][..], &CONTEXT[..]].concat(),
    );
    assert_eq!(r.status, 0, "{:#}", r.json);
    assert_eq!(r.json["identity"]["method"], "Azure CLI session");
    assert_eq!(r.json["identity"]["object_id"], OBJECT_ID);
    assert_eq!(r.json["contexts"][0]["digest"], w.digest.as_str());
    assert!(!r.raw.contains(arm) && !r.raw.contains(acr));

    // No az on PATH: a clear failure, not a crash.
    let r = run(
        &w,
        false,
        &[],
        &[&["--auth-mode", "azure-cli"][..], &CONTEXT[..]].concat(),
    );
    let f = r.only("ID_TOKEN_FAILED");
    assert!(
        f["fix"].as_str().unwrap().contains("az login"),
        "{}",
        f["fix"]
    );

    // In a container action the runner's az session is invisible, not absent.
    let r = run(
        &w,
        false,
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_WORKSPACE", "/github/workspace"),
            ("RUNNER_TEMP", "/github/runner_temp"),
        ],
        &[&["--auth-mode", "azure-cli"][..], &CONTEXT[..]].concat(),
    );
    let f = r.only("ID_CLI_UNVERIFIABLE");
    assert_eq!(f["severity"], "warning");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("acr-preflight/acr-preflight/host@v0"),
        "{}",
        f["fix"]
    );
    assert!(
        findings_of(&r.json).all(|f| f["code"] != "ID_TOKEN_FAILED"),
        "{:#}",
        r.json
    );
}

fn findings_of(json: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    json["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["findings"].as_array().into_iter().flatten())
}

#[test]
fn the_sdk_environment_signs_in_with_a_federated_token_file() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    let token = w.az.github.mint("api://AzureADTokenExchange");
    std::fs::write(&file, &token).unwrap();
    let r = run(
        &w,
        false,
        &[
            ("AZURE_CLIENT_ID", CLIENT_ID),
            ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()),
        ],
        &CONTEXT,
    );
    assert_eq!(r.status, 0, "{:#}", r.json);
    assert_eq!(
        r.json["identity"]["method"],
        "federated token file (AZURE_FEDERATED_TOKEN_FILE)"
    );
    assert_eq!(r.json["identity"]["client_id"], CLIENT_ID);
    assert!(!r.raw.contains(&token));
}

#[test]
fn tasks_warnings_for_a_firewalled_registry_without_the_tasks_bypass() {
    let az_world = world(false);
    az_world.az.arm.update_registry(&az_world.reg.id(), |r| {
        *r = r.clone().firewall(&["127.0.0.1"]).tasks_bypass(false);
    });
    az_world
        .az
        .arm
        .assign(OBJECT_ID, Role::AcrPull, &az_world.reg.id());
    az_world
        .az
        .arm
        .assign(OBJECT_ID, arm_reader(), &az_world.reg.id());
    let r = run(
        &az_world,
        true,
        &[],
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
    );
    let f = r.only("TASKS_NETWORK_BYPASS");
    assert_eq!(f["severity"], "warning");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("networkRuleBypassAllowedForTasks=true"),
        "{}",
        f["fix"]
    );
    assert!(
        r.verified("identity").contains("default action Deny"),
        "{:#}",
        r.json
    );
}

#[test]
fn dependabot_runs_are_told_apart() {
    let w = world(false);
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("event.json");
    std::fs::write(&event, r#"{"sender":{"login":"dependabot[bot]"},"pull_request":{"number":3,"head":{"repo":{"full_name":"octo/app"}},"base":{"repo":{"full_name":"octo/app"}}}}"#).unwrap();
    let r = run(
        &w,
        false,
        &[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
        ],
        &[
            &["--client-id", CLIENT_ID, "--auth-mode", "oidc"][..],
            &CONTEXT[..],
        ]
        .concat(),
    );
    assert_eq!(
        r.only("ID_OIDC_UNAVAILABLE")["title"],
        "no OIDC token: Dependabot runs get none"
    );
}

#[test]
fn the_principal_is_a_step_output_under_actions() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("output");
    let summary = dir.path().join("summary");
    std::fs::write(&output, "").unwrap();
    std::fs::write(&summary, "").unwrap();
    let out = dir.path().join("output").to_str().unwrap().to_string();
    let sum = summary.to_str().unwrap().to_string();
    let docker = tempfile::tempdir().unwrap();
    std::fs::write(docker.path().join("config.json"), "{}").unwrap();
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &out)
        .env("GITHUB_STEP_SUMMARY", &sum)
        .env("INPUT_REGISTRY", "myreg")
        .env("INPUT_CLIENT-ID", CLIENT_ID)
        .env("INPUT_TENANT-ID", TENANT)
        .env("INPUT_CONTEXT", CONTEXT[1])
        .env("INPUT_CA-FILE", w.az.ca_pem_path())
        .env("INPUT_RESOLVE", w.az.resolve_specs(&[HOST]).join("\n"))
        .env("INPUT_DOCKER-CONFIG", docker.path());
    for (k, v) in w.az.github.env() {
        cmd.env(k, v);
    }
    let result = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&result.stdout);
    assert_eq!(result.status.code(), Some(0), "{stdout}");
    let outputs = std::fs::read_to_string(&output).unwrap();
    assert!(outputs.contains(&format!("\n{OBJECT_ID}\n")), "{outputs}");
    assert!(outputs.contains(&format!("\n{CLIENT_ID}\n")), "{outputs}");
    // The request token and the OIDC token were masked before anything printed.
    for secret in w.az.sensitive_values() {
        let visible: String = stdout
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect();
        assert!(!visible.contains(&secret));
    }
    assert!(stdout.lines().any(|l| l.starts_with("::add-mask::")));
}

// ---- issue 11: registry names, missing docker config, ACR Tasks rights ----

/// The report's findings (the JSON lists them at the top level).
fn top_findings(json: &Value) -> impl Iterator<Item = &Value> {
    json["findings"].as_array().into_iter().flatten()
}

/// Issue 11 item 2: `--registry myreg` for a registry created with a domain-name-label
/// scope: ARM's loginServer (`myreg-h4sh3d.azurecr.io`) is used for everything, the
/// notice says which and why; a login server given wrong gets the hashed one suggested
/// before a closer-spelled other registry.
#[test]
fn a_registry_given_by_name_uses_the_login_server_arm_gives_it() {
    let w = world_with(false, |r| r.domain_name_label("TenantReuse", "h4sh3d"));
    assert_eq!(w.host, "myreg-h4sh3d.azurecr.io");
    w.az.arm.add_registry(Registry::new(SUB, "rg-ci", "myreg1"));
    w.az.arm
        .assign(OBJECT_ID, Role::Reader, &format!("/subscriptions/{SUB}"));
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    let context = format!("docker-image://{}/team/ctx:v1", w.host);
    let r = run(
        &w,
        true,
        &[],
        &["--client-id", CLIENT_ID, "--context", &context],
    );
    assert_eq!(r.status, 0, "{:#}", r.json);
    let f = r.only("REGISTRY_LOGIN_SERVER");
    assert_eq!(f["severity"], "notice");
    assert_eq!(
        f["title"],
        "registry `myreg` has the login server myreg-h4sh3d.azurecr.io, used for this run"
    );
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("TenantReuse"), "{message}");
    assert!(message.contains("is not myreg.azurecr.io"), "{message}");
    assert!(message.contains(&w.reg.id()), "{message}");
    let codes = r.codes();
    for absent in [
        "REF_WRONG_REGISTRY",
        "REGISTRY_NOT_FOUND",
        "NET_DNS",
        "NET_CONNECT",
    ] {
        assert!(!codes.iter().any(|c| c == absent), "{absent}: {:#}", r.json);
    }
    assert!(r.verified("registry").contains(&w.digest), "{:#}", r.json);
    assert!(
        r.verified("identity")
            .contains("myreg-h4sh3d.azurecr.io: /oauth2/exchange accepted"),
        "{}",
        r.verified("identity")
    );

    // Given as `myreg.azurecr.io`, nothing has that login server: the same name with
    // its hash comes first, before `myreg1.azurecr.io` (one edit away).
    let w2 = &w;
    let docker = tempfile::tempdir().unwrap();
    std::fs::write(docker.path().join("config.json"), "{}").unwrap();
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(w2.az.github.env())
        .args(["--registry", "myreg.azurecr.io", "--tenant-id", TENANT])
        .args(["--subscription-id", SUB, "--client-id", CLIENT_ID])
        .args(["--ca-file", w2.az.ca_pem_path().to_str().unwrap()])
        .args(w2.az.resolve_args(&[HOST, w2.host.as_str()]))
        .args(["--docker-config", docker.path().to_str().unwrap()])
        .args(["--format", "json", "--timeout", "30"])
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let not_found: Vec<&Value> = top_findings(&json)
        .filter(|f| f["code"] == "REGISTRY_NOT_FOUND")
        .collect();
    assert_eq!(not_found.len(), 1, "{json:#}");
    let fix = not_found[0]["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("Did you mean `myreg-h4sh3d.azurecr.io`?"),
        "{fix}"
    );
}

/// Issue 11 item 5: a missing docker config is a notice when nothing is wrong (ACR
/// Tasks build, auth-mode anonymous, a pull-only build the registry serves
/// anonymously), and stays an error for a docker build that needs a credential even
/// though this run signed in with the Azure identity. An explicit `--audience` equal to
/// the public default is honoured on a sovereign cloud.
#[test]
fn a_missing_docker_config_is_an_error_only_when_the_build_needs_it() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    w.az.arm
        .assign(OBJECT_ID, Role::TasksContributor, &w.reg.id());
    let severity_of = |r: &Run| r.only("DOCKER_CONFIG_MISSING")["severity"].clone();

    // ACR Tasks (an oci:// context): the build signs in with the Azure identity.
    let r = run_docker(
        &w,
        true,
        &[],
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
        false,
    );
    assert_eq!(severity_of(&r), "notice", "{:#}", r.json);
    let f = r.only("DOCKER_CONFIG_MISSING");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("The build is ACR Tasks"),
        "{f:#}"
    );
    assert!(
        f["fix"].as_str().unwrap().starts_with("Nothing to fix"),
        "{f:#}"
    );
    assert_eq!(r.status, 0, "{:#}", r.json);

    // auth-mode anonymous.
    let r = run_docker(
        &w,
        false,
        &[],
        &[
            "--auth-mode",
            "anonymous",
            "--context",
            "docker-image://myreg.azurecr.io/team/ctx:v1",
        ],
        false,
    );
    assert_eq!(severity_of(&r), "notice", "{:#}", r.json);

    // A docker buildx build that pushes, found in the workflow: still an error, and
    // the message says the build reads the docker config, not this run's token.
    let workspace =
        job_workspace("      - run: docker buildx build --push -t myreg.azurecr.io/team/app:1 .\n");
    let ws = workspace.path().to_str().unwrap().to_string();
    let r = run_docker(&w, true, &job_env(&ws), &["--client-id", CLIENT_ID], false);
    assert_eq!(severity_of(&r), "error", "{:#}", r.json);
    let message = r.only("DOCKER_CONFIG_MISSING")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.contains("reads the docker config, not this run's token"),
        "{message}"
    );
    assert!(message.contains("`docker buildx build`"), "{message}");
    assert_eq!(r.status, 1);

    // An explicit audience equal to the public default, on US Government: kept.
    let _ = run(
        &w,
        true,
        &[],
        &[
            "--client-id",
            CLIENT_ID,
            "--azure-environment",
            "AzureUSGovernment",
            "--audience",
            "api://AzureADTokenExchange",
        ],
    );
    let asked = w.az.github.requests();
    assert_eq!(
        asked.last().and_then(|q| q.audience.clone()).as_deref(),
        Some("api://AzureADTokenExchange"),
        "{asked:?}"
    );
}

/// Issue 11 item 5, anonymous half: with no Azure identity and no docker config, a
/// pull-only build from a registry that serves anonymously gets a notice; a push
/// keeps the error. (The real distribution registry, no auth.)
#[test]
fn a_missing_docker_config_for_anonymous_pulls_is_a_notice() {
    let registry = TestRegistry::start_blocking(support::registry::Kind::Plain);
    support::block_on(async {
        support::fixtures::Publisher::new(&registry.url())
            .single_image("team/ctx", "v1")
            .await
    });
    let host = registry.host();
    let empty = tempfile::tempdir().unwrap();
    let go = |extra: &[&str]| -> Value {
        let out = Command::new(BIN)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .args([
                "--registry",
                &host,
                "--docker-config",
                empty.path().to_str().unwrap(),
            ])
            .args(["--format", "json", "--timeout", "30"])
            .args(extra)
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let context = format!("docker-image://{host}/team/ctx:v1");
    let json = go(&["--context", &context]);
    let f: Vec<&Value> = top_findings(&json)
        .filter(|f| f["code"] == "DOCKER_CONFIG_MISSING")
        .collect();
    assert_eq!(f.len(), 1, "{json:#}");
    assert_eq!(f[0]["severity"], "notice", "{json:#}");
    assert!(
        f[0]["message"]
            .as_str()
            .unwrap()
            .contains("served every reference without a credential"),
        "{json:#}"
    );
    assert_eq!(json["result"], "pass", "{json:#}");

    let json = go(&[
        "--context",
        &context,
        "--push",
        &format!("{host}/team/app:1"),
    ]);
    let f: Vec<&Value> = top_findings(&json)
        .filter(|f| f["code"] == "DOCKER_CONFIG_MISSING")
        .collect();
    assert_eq!(f[0]["severity"], "error", "{json:#}");
}

/// Issue 11 item 6: an ACR Tasks build (an `oci://` context) needs scheduleRun,
/// listBuildSourceUploadUrl and runs/listLogSasUrl, which AcrPull does not grant: the
/// exact role assignment is printed (Contributor in RBAC mode, Container Registry Tasks
/// Contributor in ABAC mode), and the Tasks role makes it pass.
#[test]
fn acr_tasks_builds_need_the_tasks_actions_and_get_the_exact_assignment() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    w.az.arm.assign(OBJECT_ID, arm_reader(), &w.reg.id());
    let args = [&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat();
    let r = run(&w, true, &[], &args);
    assert_eq!(r.status, 1, "{:#}", r.json);
    let f = r.only("TASKS_ROLE_MISSING");
    assert_eq!(f["severity"], "error");
    let message = f["message"].as_str().unwrap();
    for action in [
        "Microsoft.ContainerRegistry/registries/scheduleRun/action",
        "Microsoft.ContainerRegistry/registries/listBuildSourceUploadUrl/action",
        "Microsoft.ContainerRegistry/registries/runs/listLogSasUrl/action",
    ] {
        assert!(message.contains(action), "{message}");
    }
    assert!(
        message.contains("oci://myreg.azurecr.io/team/ctx:v1"),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!(
            "az role assignment create --assignee {CLIENT_ID} --role Contributor --scope {}",
            w.reg.id()
        )),
        "{fix}"
    );
    assert!(fix.contains("az role definition create"), "{fix}");

    w.az.arm
        .assign(OBJECT_ID, Role::TasksContributor, &w.reg.id());
    let r = run(&w, true, &[], &args);
    assert!(
        !r.codes().iter().any(|c| c == "TASKS_ROLE_MISSING"),
        "{:#}",
        r.json
    );
    assert!(
        r.verified("identity").contains("allow ACR Tasks runs"),
        "{}",
        r.verified("identity")
    );
    assert_eq!(r.status, 0, "{:#}", r.json);

    // ABAC mode: the Tasks role is the one to assign.
    let w = world(true);
    w.az.arm
        .assign(OBJECT_ID, Role::RepositoryReader, &w.reg.id());
    w.az.arm.assign(OBJECT_ID, arm_reader(), &w.reg.id());
    let r = run(&w, true, &[], &args);
    let fix = r.only("TASKS_ROLE_MISSING")["fix"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        fix.contains(&format!(
            "az role assignment create --assignee {CLIENT_ID} --role \"Container Registry Tasks Contributor\" --scope {}",
            w.reg.id()
        )),
        "{fix}"
    );
}
