//! The job's `azure/login` steps and ACR Tasks network rules (issue 13: P11, P12, P14,
//! P22, P35, P44), on tests/fixtures/workflows/azure-login.yml: the real binary reads the
//! workflow from a workspace, as the runner starts it, and signs in to the Entra and ARM
//! fakes (identity.rs's world) for the facts only Azure knows (subscriptions, the admin
//! user, network rules).

use crate::identity::{CLIENT_ID, OBJECT_ID, Run, World, arm_reader, run_config, world_with};
use crate::support::azure::Role;
use crate::support::http::{MockServer, Response};
use acr_preflight::findings::Code;
use serde_json::Value;

const FILE: &str = "azure-login.yml";

fn fixture() -> String {
    let path = format!(
        "{}/tests/fixtures/workflows/{FILE}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Runs the binary as step `preflight` of job `job`, with `env` added and these args.
fn run_job(w: &World, job: &str, env: &[(&str, &str)], args: &[&str]) -> Run {
    let workspace = tempfile::tempdir().unwrap();
    let workflows = workspace.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(workflows.join(FILE), fixture()).unwrap();
    let ws = workspace.path().to_str().unwrap().to_string();
    let workflow_ref = format!("octo/app/.github/workflows/{FILE}@refs/heads/main");
    let mut all = vec![
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_WORKSPACE", ws.as_str()),
        ("GITHUB_WORKFLOW_REF", workflow_ref.as_str()),
        ("GITHUB_JOB", job),
        ("GITHUB_ACTION", "preflight"),
        ("GITHUB_REPOSITORY", "octo/app"),
        ("GITHUB_REF", "refs/heads/main"),
    ];
    all.extend_from_slice(env);
    run_config(w, true, &all, args, Some("{}"))
}

fn oidc(w: &World, job: &str, env: &[(&str, &str)]) -> Run {
    run_job(w, job, env, &["--client-id", CLIENT_ID])
}

fn of(r: &Run, code: Code) -> Vec<Value> {
    r.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == code.as_str())
        .cloned()
        .collect()
}

/// Severity, line, column and the fixture's text there.
fn placed(f: &Value) -> (String, u64, u64, String) {
    let (line, column) = (f["line"].as_u64().unwrap(), f["column"].as_u64().unwrap());
    let at: String = fixture()
        .lines()
        .nth(line as usize - 1)
        .unwrap()
        .chars()
        .skip(column as usize - 1)
        .collect();
    (
        f["severity"].as_str().unwrap().to_string(),
        line,
        column,
        at,
    )
}

/// The first two lines of the finding in `text` format, as docs/checks.md shows them.
pub(crate) fn text_head(f: &Value) -> String {
    format!(
        "{}[{}]: {}\n  --> {}:{}:{}\n",
        f["severity"].as_str().unwrap(),
        f["code"].as_str().unwrap(),
        f["title"].as_str().unwrap(),
        f["file"].as_str().unwrap(),
        f["line"],
        f["column"]
    )
}

fn text(f: &Value, key: &str) -> String {
    f[key].as_str().unwrap().to_string()
}

/// A registry the identity may pull from and read in ARM.
fn readable_world(
    adjust: impl FnOnce(crate::support::azure::Registry) -> crate::support::azure::Registry,
) -> World {
    let w = world_with(false, adjust);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    w.az.arm.assign(OBJECT_ID, arm_reader(), &w.reg.id());
    w
}

#[test]
fn a_managed_identity_login_on_a_github_hosted_runner_is_an_error_with_the_oidc_fix() {
    let w = readable_world(|r| r);
    let r = oidc(&w, "hosted-identity", &[]);
    let found = of(&r, Code::WORKFLOW_AZURE_LOGIN_IDENTITY);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    let f = &found[0];
    assert_eq!(
        placed(f),
        ("error".into(), 15, 22, "IDENTITY".into()),
        "{f:#}"
    );
    assert_eq!(
        text_head(f),
        crate::workflow_context::doc_example(Code::WORKFLOW_AZURE_LOGIN_IDENTITY)
    );
    let message = text(f, "message");
    assert!(
        message.contains("`runs-on: ubuntu-latest` (line 10)"),
        "{message}"
    );
    assert!(message.contains("az login --identity"), "{message}");
    let fix = text(f, "fix");
    for part in [
        "--subject repo:octo/app:ref:refs/heads/main",
        "  id-token: write",
        "      client-id: ${{ vars.UAMI_CLIENT_ID }}",
        "      subscription-id: ${{ vars.AZURE_SUBSCRIPTION_ID }}",
        "az identity federated-credential create",
    ] {
        assert!(fix.contains(part), "{part}: {fix}");
    }
    // The runner's own word decides: a self-hosted runner may carry any label.
    let r = oidc(
        &w,
        "hosted-identity",
        &[("RUNNER_ENVIRONMENT", "self-hosted")],
    );
    assert!(
        of(&r, Code::WORKFLOW_AZURE_LOGIN_IDENTITY).is_empty(),
        "{:#}",
        r.json
    );
    let r = oidc(&w, "self-hosted-identity", &[]);
    assert!(
        of(&r, Code::WORKFLOW_AZURE_LOGIN_IDENTITY).is_empty(),
        "{:#}",
        r.json
    );
    let r = oidc(
        &w,
        "self-hosted-identity",
        &[("RUNNER_ENVIRONMENT", "github-hosted")],
    );
    let found = of(&r, Code::WORKFLOW_AZURE_LOGIN_IDENTITY);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert!(text(&found[0], "message").contains("RUNNER_ENVIRONMENT=github-hosted"));
}

#[test]
fn azure_login_inputs_the_action_rejects_or_ignores_are_named_without_secret_values() {
    let w = readable_world(|r| r);
    let r = oidc(&w, "creds-literal", &[]);
    let found = of(&r, Code::WORKFLOW_AZURE_LOGIN_INPUTS);
    let rows: Vec<(String, u64, u64, String)> = found.iter().map(placed).collect();
    assert_eq!(rows.len(), 2, "{:#}", r.json);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1, rows[0].2),
        ("error", 53, 19),
        "{rows:?}"
    );
    assert_eq!(
        (rows[1].0.as_str(), rows[1].1, rows[1].2),
        ("error", 58, 13),
        "{rows:?}"
    );
    assert_eq!(
        text(&found[0], "title"),
        "the `creds` of step `Broken JSON` is not a JSON object"
    );
    assert!(
        text(&found[0], "message").contains("line 1 column"),
        "{:#}",
        found[0]
    );
    assert_eq!(
        text(&found[1], "title"),
        "the `creds` of step `Renamed keys` lacks `clientId`, `clientSecret`, `tenantId`"
    );
    assert!(
        text(&found[1], "message")
            .contains("whose keys are `appId`, `password`, `subscriptionId`, `tenant`"),
        "{:#}",
        found[1]
    );
    assert_eq!(
        text_head(&found[1]),
        crate::workflow_context::doc_example(Code::WORKFLOW_AZURE_LOGIN_INPUTS)
    );
    // The secrets written in the file reach no output (the runner is told to mask them).
    let shown = crate::support::runner::without_mask_lines(&r.raw);
    for secret in ["planted-literal-secret-1", "planted-literal-secret-2"] {
        assert!(!shown.contains(secret), "{secret} shown");
    }

    // `creds` beside client-id and tenant-id: ignored, so OIDC, and no subscription.
    let r = oidc(&w, "creds-and-ids", &[]);
    let found = of(&r, Code::WORKFLOW_AZURE_LOGIN_INPUTS);
    let titles: Vec<(String, String)> = found
        .iter()
        .map(|f| (text(f, "severity"), text(f, "title")))
        .collect();
    assert_eq!(
        titles,
        vec![
            (
                "error".to_string(),
                "step `Azure login` gives azure/login no subscription and no `allow-no-subscriptions: true`".to_string()
            ),
            (
                "warning".to_string(),
                "step `Azure login` gives azure/login both `creds` and `client-id`, `tenant-id`, so `creds` is ignored".to_string()
            ),
        ],
        "{:#}",
        r.json
    );
    assert!(text(&found[1], "message").contains("id-token: write"));

    // Only the step with neither a subscription nor allow-no-subscriptions.
    let r = oidc(&w, "no-subscription", &[]);
    let found = of(&r, Code::WORKFLOW_AZURE_LOGIN_INPUTS);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert_eq!(placed(&found[0]).1, 75);
    assert!(
        text(&found[0], "message").contains(
            "Ensure 'subscription-id' is supplied or 'allow-no-subscriptions' is 'true'."
        )
    );
    // Well-formed steps: nothing.
    for job in ["hosted-identity", "oidc-static-login"] {
        let r = oidc(&w, job, &[]);
        assert!(
            of(&r, Code::WORKFLOW_AZURE_LOGIN_INPUTS).is_empty(),
            "{job}: {:#}",
            r.json
        );
    }
}

#[test]
fn an_identity_arm_lists_no_subscription_for_is_an_error_at_each_azure_login_step_without_the_opt_out()
 {
    // No role anywhere: GET /subscriptions lists nothing for it.
    let w = world_with(false, |r| r);
    let r = oidc(&w, "no-subscription", &[]);
    let found = of(&r, Code::ID_NO_SUBSCRIPTION);
    let rows: Vec<(String, u64)> = found
        .iter()
        .map(|f| (text(f, "severity"), placed(f).1))
        .collect();
    assert_eq!(
        rows,
        vec![("error".to_string(), 69), ("error".to_string(), 75)],
        "{:#}",
        r.json
    );
    assert_eq!(
        text_head(&found[0]),
        crate::workflow_context::doc_example(Code::ID_NO_SUBSCRIPTION)
    );
    assert!(
        text(&found[0], "message")
            .contains(&format!("\"No subscriptions found for {CLIENT_ID}.\"")),
        "{:#}",
        found[0]
    );
    assert!(text(&found[0], "fix").contains("`allow-no-subscriptions: true`"));
    assert!(text(&found[0], "fix").contains(&format!(
        "az role assignment create --assignee {CLIENT_ID} --role Reader"
    )));
    // With a role on the registry, the subscription is listed.
    let w = readable_world(|r| r);
    let r = oidc(&w, "no-subscription", &[]);
    assert!(of(&r, Code::ID_NO_SUBSCRIPTION).is_empty(), "{:#}", r.json);
    assert!(
        r.verified("identity").contains("ARM lists 1 subscription"),
        "{:#}",
        r.json
    );
}

#[test]
fn an_azure_login_with_oidc_makes_a_static_acr_login_differ_whatever_acr_preflight_signs_in_with() {
    let w = readable_world(|r| r);
    let r = run_job(
        &w,
        "oidc-static-login",
        &[],
        &["--auth-mode", "docker-config"],
    );
    let found = of(&r, Code::WORKFLOW_LOGIN_DIFFERS);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert_eq!(
        placed(&found[0]),
        ("warning".into(), 101, 21, "myreg.azurecr.io".into())
    );
    assert_eq!(
        text(&found[0], "title"),
        "step `ACR login` logs in to myreg.azurecr.io with a static credential, not the OIDC identity step `Azure login` signs in as"
    );
    assert!(
        text(&found[0], "message")
            .contains("Step `Azure login` (line 93) signs the job in to Azure with OIDC")
    );
    assert!(text(&found[0], "fix").contains("az acr login -n myreg"));

    // azure/docker-login, with no OIDC anywhere: retired, with the replacement.
    let r = run_job(&w, "retired-login", &[], &["--auth-mode", "docker-config"]);
    let found = of(&r, Code::WORKFLOW_LOGIN_DIFFERS);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert_eq!(
        text(&found[0], "title"),
        "step `Old ACR login` uses azure/docker-login, which is no longer maintained"
    );
    let fix = text(&found[0], "fix");
    for part in [
        "- uses: docker/login-action@v3",
        "    registry: myreg.azurecr.io",
        "    username: ${{ secrets.ACR_USERNAME }}",
        "az acr login -n myreg",
    ] {
        assert!(fix.contains(part), "{part}: {fix}");
    }
    // A script's `az login --service-principal --federated-token` is an OIDC sign-in
    // too (the one definition WORKFLOW_AZ_AFTER_BUILD uses).
    let r = run_job(
        &w,
        "script-oidc-static-login",
        &[],
        &["--auth-mode", "docker-config"],
    );
    let found = of(&r, Code::WORKFLOW_LOGIN_DIFFERS);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert_eq!(
        text(&found[0], "title"),
        "step `ACR login` logs in to myreg.azurecr.io with a static credential, not the OIDC identity step `CLI OIDC login` signs in as"
    );
    assert!(
        text(&found[0], "message").contains(
            "Step `CLI OIDC login` (line 178) signs the job in to Azure with OIDC (`az login --federated-token`)"
        ),
        "{:#}",
        found[0]
    );
    // A static login with no OIDC in the job: nothing to compare it with.
    let r = run_job(&w, "admin-login", &[], &["--auth-mode", "docker-config"]);
    assert!(
        of(&r, Code::WORKFLOW_LOGIN_DIFFERS).is_empty(),
        "{:#}",
        r.json
    );
}

#[test]
fn a_login_step_as_the_disabled_admin_user_is_named_at_the_step() {
    let w = readable_world(|r| r);
    let r = oidc(&w, "admin-login", &[]);
    let found = of(&r, Code::CRED_ADMIN_DISABLED);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    let f = &found[0];
    assert_eq!(
        placed(f),
        ("error".into(), 125, 21, "myreg.azurecr.io".into())
    );
    assert_eq!(
        text(f, "title"),
        "step `Admin login` logs in to myreg.azurecr.io as the admin user `myreg`, which is disabled"
    );
    let message = text(f, "message");
    assert!(
        message.contains("the username `${{ env.ACR_USER }}`, which is `myreg`,"),
        "{message}"
    );
    assert!(message.contains(&w.reg.id()), "{message}");
    assert!(text(f, "fix").contains("az acr update -n myreg --admin-enabled true"));
    // `docker login -u` with the name written in another case.
    let r = oidc(&w, "admin-cli-login", &[]);
    let found = of(&r, Code::CRED_ADMIN_DISABLED);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert_eq!(
        text(&found[0], "title"),
        "step `CLI login` logs in to myreg.azurecr.io as the admin user `MyReg`, which is disabled"
    );
    assert!(text(&found[0], "message").starts_with("`docker login` in step `CLI login`"));
    // Enabled in ARM: not reported.
    let w = readable_world(|r| r.admin_user(true));
    let r = oidc(&w, "admin-login", &[]);
    assert!(of(&r, Code::CRED_ADMIN_DISABLED).is_empty(), "{:#}", r.json);
    // A username from a secret is not judged: job oidc-static-login.
    let w = readable_world(|r| r);
    let r = oidc(&w, "oidc-static-login", &[]);
    assert!(of(&r, Code::CRED_ADMIN_DISABLED).is_empty(), "{:#}", r.json);
}

#[test]
fn acr_tasks_from_a_local_context_on_a_registry_closed_to_the_agent_are_warned() {
    let w = readable_world(|r| r.firewall(&["127.0.0.1"]).tasks_bypass(false));
    let r = oidc(&w, "tasks-local", &[]);
    let found = of(&r, Code::TASKS_NETWORK_BYPASS);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert_eq!(text(&found[0], "severity"), "warning");
    assert_eq!(
        format!(
            "warning[TASKS_NETWORK_BYPASS]: {}\n",
            text(&found[0], "title")
        ),
        crate::workflow_context::doc_example(Code::TASKS_NETWORK_BYPASS)
    );
    let message = text(&found[0], "message");
    assert!(message.contains("`az acr build`"), "{message}");
    assert!(
        message.contains("networkRuleBypassAllowedForTasks is false"),
        "{message}"
    );
    assert!(text(&found[0], "fix").contains("networkRuleBypassAllowedForTasks=true"));

    let w = readable_world(|r| r.public_network_access(false));
    let r = oidc(&w, "tasks-local", &[]);
    let found = of(&r, Code::TASKS_NETWORK_BYPASS);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert_eq!(
        text(&found[0], "title"),
        "the ACR Tasks agent cannot reach myreg.azurecr.io, whose public network access is disabled"
    );
    assert!(
        text(&found[0], "fix")
            .contains("az acr agentpool create -r myreg -n pool1 --tier S2 --subnet-id")
    );

    // On a dedicated agent pool, inside the network: nothing.
    let r = oidc(&w, "tasks-pooled", &[]);
    assert!(
        of(&r, Code::TASKS_NETWORK_BYPASS).is_empty(),
        "{:#}",
        r.json
    );

    // The bypass allowed, or a build on the runner: nothing.
    let w = readable_world(|r| r.firewall(&["127.0.0.1"]).tasks_bypass(true));
    let r = oidc(&w, "tasks-local", &[]);
    assert!(
        of(&r, Code::TASKS_NETWORK_BYPASS).is_empty(),
        "{:#}",
        r.json
    );
    let w = readable_world(|r| r.firewall(&["127.0.0.1"]).tasks_bypass(false));
    let r = oidc(&w, "admin-login", &[]);
    assert!(
        of(&r, Code::TASKS_NETWORK_BYPASS).is_empty(),
        "{:#}",
        r.json
    );
}

/// Runs job `several-identities` with `auth-mode: managed-identity` on a self-hosted
/// runner whose managed-identity endpoint answers 400 with `description` (`None`: it
/// does not answer at all).
fn managed_identity_run(w: &World, description: Option<&'static str>) -> Run {
    let (_server, endpoint) = match description {
        Some(d) => {
            let server = crate::support::servers::scripted(move |_, _| {
                crate::support::http::Reply::Respond(crate::support::http::Response::json(
                    400,
                    &serde_json::json!({"error": "invalid_request", "error_description": d}),
                ))
            });
            let endpoint = format!("{}/msi/token", server.url());
            (Some(server), endpoint)
        }
        None => {
            let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let endpoint = format!("http://{}/msi/token", closed.local_addr().unwrap());
            drop(closed);
            (None, endpoint)
        }
    };
    let env = [
        ("RUNNER_ENVIRONMENT", "self-hosted"),
        ("IDENTITY_ENDPOINT", endpoint.as_str()),
        ("IDENTITY_HEADER", "x"),
    ];
    run_job(
        w,
        "several-identities",
        &env,
        &["--auth-mode", "managed-identity"],
    )
}

/// P14 on a self-hosted runner: the machine's managed-identity endpoint refuses a request
/// that names no identity because the machine has several. IMDS (169.254.169.254)
/// cannot be redirected here, so its documented refusal (400 `invalid_request`, as
/// quoted in Azure/azure-cli#10998 and Azure/login#87) is served through the endpoint
/// override the SDK reads (IDENTITY_ENDPOINT/IDENTITY_HEADER).
#[test]
fn several_user_assigned_identities_make_identity_steps_without_a_client_id_a_notice() {
    let w = readable_world(|r| r);
    let r = managed_identity_run(
        &w,
        Some(
            "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request",
        ),
    );
    let failed = r.only("ID_TOKEN_FAILED");
    assert_eq!(
        text(&failed, "title"),
        "this machine has several user-assigned identities, and no client id says which to use",
        "{failed:#}"
    );
    assert!(text(&failed, "fix").contains("--client-id"), "{failed:#}");
    let found = of(&r, Code::WORKFLOW_AZURE_LOGIN_IDENTITY);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert_eq!(
        placed(&found[0]),
        ("notice".into(), 150, 15, "azure/login@v2".into())
    );
    assert!(text(&found[0], "message").contains("Multiple user assigned identities exist"));
    // An endpoint that refuses for another reason, or does not answer, says nothing
    // about the steps, and the managed-identity advice stays.
    for description in [Some("Identity not found"), None] {
        let r = managed_identity_run(&w, description);
        assert!(
            of(&r, Code::WORKFLOW_AZURE_LOGIN_IDENTITY).is_empty(),
            "{:#}",
            r.json
        );
        let failed = r.only("ID_TOKEN_FAILED");
        assert!(
            text(&failed, "fix").starts_with("Managed identity works only on Azure hosts"),
            "{failed:#}"
        );
    }
}

#[test]
fn acr_tasks_builds_found_in_the_workflow_need_the_tasks_actions_and_name_the_identity_acr_build_uses()
 {
    // P20: an `az acr build` run step found in the job (not an `oci://` context) is an
    // ACR Tasks build; an identity with AcrPull and Reader may not queue it.
    let w = readable_world(|r| r);
    let r = oidc(&w, "tasks-local", &[]);
    let found = of(&r, Code::TASKS_ROLE_MISSING);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert_eq!(text(&found[0], "severity"), "error");
    let message = text(&found[0], "message");
    assert!(
        message.contains(&format!(
            "The build runs ACR Tasks (`az acr build` (.github/workflows/{FILE}:139))"
        )),
        "{message}"
    );
    assert!(
        message.contains("Microsoft.ContainerRegistry/registries/scheduleRun/action"),
        "{message}"
    );
    assert!(!message.contains("service_principal"), "{message}");

    // `uses: Azure/acr-build@v1` signing in as another service principal: the finding
    // says which identity was proven and which one the step uses, and the fix assigns
    // the role to that one too.
    let r = oidc(&w, "tasks-action", &[]);
    let found = of(&r, Code::TASKS_ROLE_MISSING);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    let message = text(&found[0], "message");
    assert!(
        message.contains(&format!(
            "The build runs ACR Tasks (`azure/acr-build` (.github/workflows/{FILE}:194))"
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "These are the rights of the identity this run signed in as (app {CLIENT_ID} "
        )) && message.contains("), not of the one the build signs in as: step `ACR build`"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "step `ACR build` (.github/workflows/{FILE}:194) signs in as 99999999-8888-7777-6666-555555555555 (its `service_principal` input), so the runs it queues need these actions for that identity."
        )),
        "{message}"
    );
    let fix = text(&found[0], "fix");
    assert!(
        fix.contains(&format!(
            "az role assignment create --assignee 99999999-8888-7777-6666-555555555555 --role Contributor --scope {}",
            w.reg.id()
        )),
        "{fix}"
    );

    // The same identity (the step's `service_principal` is written as acr-preflight's
    // `client-id`): the finding stays, without the note.
    let r = oidc(&w, "tasks-action-same", &[]);
    let found = of(&r, Code::TASKS_ROLE_MISSING);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert!(!text(&found[0], "message").contains("service_principal"));

    // With the Tasks role: nothing, and the fact names the step's other identity.
    w.az.arm
        .assign(OBJECT_ID, Role::TasksContributor, &w.reg.id());
    let r = oidc(&w, "tasks-local", &[]);
    assert!(of(&r, Code::TASKS_ROLE_MISSING).is_empty(), "{:#}", r.json);
    let r = oidc(&w, "tasks-action", &[]);
    assert!(of(&r, Code::TASKS_ROLE_MISSING).is_empty(), "{:#}", r.json);
    assert!(
        r.verified("identity").contains(
            "allow ACR Tasks runs (scheduleRun/action, listBuildSourceUploadUrl/action, runs/listLogSasUrl/action) (not the identity of step `ACR build`"
        ),
        "{}",
        r.verified("identity")
    );
}

/// azure/login's `creds: ${{ secrets.AZURE_CREDENTIALS }}` (P12): without the secret,
/// one notice naming how to pass it; with it (`AZURE_CREDENTIALS`, as the input
/// `azure-credentials` sets), acr-preflight signs in to the Entra fake with that client
/// secret, so a wrong one is ID_SECRET_INVALID before the build, and never printed.
#[test]
fn the_creds_secret_of_azure_login_is_checked_when_acr_preflight_is_given_it() {
    use crate::identity::{SECRET, SUB, TENANT};
    let w = readable_world(|r| r);
    let creds = |secret: &str| {
        format!(
            r#"{{"clientId": "{CLIENT_ID}", "clientSecret": "{secret}", "tenantId": "{TENANT}", "subscriptionId": "{SUB}"}}"#
        )
    };
    let r = run_job(&w, "creds-literal", &[], &[]);
    let notes = of(&r, Code::WORKFLOW_AZURE_CREDS_UNCHECKED);
    assert_eq!(notes.len(), 1, "{:#}", r.json);
    let (severity, line, column, at) = placed(&notes[0]);
    assert_eq!(
        (severity.as_str(), line, column),
        ("notice", 62, 18),
        "{at}"
    );
    assert_eq!(
        text(&notes[0], "title"),
        "the `creds` secret of step `Good` cannot be checked"
    );
    assert!(
        text(&notes[0], "fix").contains("azure-credentials: ${{ secrets.AZURE_CREDENTIALS }}"),
        "{:#}",
        notes[0]
    );
    assert_eq!(
        text_head(&notes[0]),
        crate::workflow_context::doc_example(Code::WORKFLOW_AZURE_CREDS_UNCHECKED)
    );

    // Given the same JSON: signed in with its client secret, and no notice.
    let good = creds(SECRET);
    let r = run_job(&w, "creds-literal", &[("AZURE_CREDENTIALS", &good)], &[]);
    assert!(
        of(&r, Code::WORKFLOW_AZURE_CREDS_UNCHECKED).is_empty(),
        "{:#}",
        r.json
    );
    assert_eq!(
        r.json["identity"]["method"], "client secret",
        "{:#}",
        r.json
    );
    assert!(r.json["identity"]["error"].is_null(), "{:#}", r.json);
    let shown = crate::support::runner::without_mask_lines(&r.raw);
    assert!(!shown.contains(SECRET), "the secret was printed");

    // A secret Entra does not know: AADSTS7000215, named before the build.
    let wrong = creds("wrong-creds-secret-planted-42");
    let r = run_job(&w, "creds-literal", &[("AZURE_CREDENTIALS", &wrong)], &[]);
    let f = r.only("ID_SECRET_INVALID");
    assert!(text(&f, "message").contains("AADSTS7000215"), "{f:#}");
    assert!(
        !crate::support::runner::without_mask_lines(&r.raw)
            .contains("wrong-creds-secret-planted-42")
    );
    assert_ne!(r.status, 0);
}

/// P20: `az acr build`/`az acr run` in a script runs as the Azure CLI session the last
/// sign-in before it opened, not as acr-preflight's identity: when that session's client
/// id is known and differs, the finding names both, and the fix assigns the role to the
/// build's identity too. A session signed in as the same client adds nothing.
#[test]
fn acr_tasks_builds_in_scripts_name_the_identity_of_the_cli_session_they_run_in() {
    let w = readable_world(|r| r);
    let other = "99999999-8888-7777-6666-555555555555";
    let r = oidc(&w, "tasks-cli-other", &[]);
    let found = of(&r, Code::TASKS_ROLE_MISSING);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    let message = text(&found[0], "message");
    let fixture = fixture();
    let line_of = |needle: &str| {
        fixture
            .lines()
            .position(|l| l.contains(needle))
            .map(|i| i + 1)
            .unwrap()
    };
    let job_at = line_of("  tasks-cli-other:");
    let build_line = fixture
        .lines()
        .enumerate()
        .skip(job_at)
        .find(|(_, l)| l.contains("run: az acr build"))
        .map(|(i, _)| i + 1)
        .unwrap();
    let login_line = fixture
        .lines()
        .enumerate()
        .skip(job_at)
        .find(|(_, l)| l.contains("uses: azure/login@v2"))
        .map(|(i, _)| i + 1)
        .unwrap();
    assert!(
        message.contains(&format!(
            "These are the rights of the identity this run signed in as (app {CLIENT_ID} "
        )),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "step `Build` (.github/workflows/{FILE}:{build_line}) signs in as {other} (`az acr build` runs in the Azure CLI session that step `Build identity` (line {login_line}) opened with `client-id: ${{{{ env.BUILD_CLIENT_ID }}}}`), so the runs it queues need these actions for that identity."
        )),
        "{message}"
    );
    let fix = text(&found[0], "fix");
    assert!(
        fix.contains(&format!(
            "Step `Build` signs in as {other}: give that identity the same role:\naz role assignment create --assignee {other} --role Contributor --scope {}",
            w.reg.id()
        )),
        "{fix}"
    );

    // A script's own `az login --service-principal -u ID` opens the session.
    let r = oidc(&w, "tasks-cli-script", &[]);
    let found = of(&r, Code::TASKS_ROLE_MISSING);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    let message = text(&found[0], "message");
    assert!(
        message.contains(&format!(
            "signs in as {other} (`az acr run` runs in the Azure CLI session that step `Build` (line "
        )) && message.contains(&format!("opened with `az login … -u {other}`)")),
        "{message}"
    );

    // The session signs in as acr-preflight's client: the finding stays, without the note.
    let r = oidc(&w, "tasks-cli-same", &[]);
    let found = of(&r, Code::TASKS_ROLE_MISSING);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert!(
        !text(&found[0], "message").contains("Azure CLI session"),
        "{:#}",
        found[0]
    );

    // With the Tasks role for the proven identity: no finding, and the fact says the
    // session's identity was not checked.
    w.az.arm
        .assign(OBJECT_ID, Role::TasksContributor, &w.reg.id());
    let r = oidc(&w, "tasks-cli-other", &[]);
    assert!(of(&r, Code::TASKS_ROLE_MISSING).is_empty(), "{:#}", r.json);
    assert!(
        r.verified("identity")
            .contains("(not the identity of step `Build`"),
        "{}",
        r.verified("identity")
    );
}

/// P14 in scripts: `az login --identity` on a GitHub-hosted runner is named like
/// azure/login's `auth-type: IDENTITY`; on a self-hosted runner it is not. An
/// `az login -u "$VAR"` whose variable is empty is named at the `env:` entry.
#[test]
fn script_sign_ins_with_a_managed_identity_on_hosted_runners_or_an_empty_username_are_named() {
    let w = readable_world(|r| r);
    let fixture = fixture();
    let r = oidc(&w, "hosted-cli-identity", &[]);
    let found = of(&r, Code::WORKFLOW_AZURE_LOGIN_IDENTITY);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    let (severity, line, _, at) = placed(&found[0]);
    assert_eq!(severity, "error");
    assert!(at.starts_with("az login --identity"), "{at}");
    assert_eq!(
        text(&found[0], "title"),
        "step `Sign in` signs in with a managed identity, which a GitHub-hosted runner does not have"
    );
    let message = text(&found[0], "message");
    assert!(
        message.contains(&format!("runs `az login --identity` (line {line})"))
            && message.contains("`runs-on: ubuntu-latest`"),
        "{message}"
    );
    let fix = text(&found[0], "fix");
    assert!(
        fix.contains("replace `az login --identity` with azure/login")
            && fix.contains("az identity federated-credential create"),
        "{fix}"
    );

    // Self-hosted: quiet, and a username that resolves is not named.
    let r = oidc(&w, "self-hosted-cli-identity", &[]);
    assert!(
        of(&r, Code::WORKFLOW_AZURE_LOGIN_IDENTITY).is_empty(),
        "{:#}",
        r.json
    );
    assert!(
        of(&r, Code::WORKFLOW_EMPTY_VARIABLE).is_empty(),
        "{:#}",
        r.json
    );

    let r = oidc(&w, "cli-empty-username", &[]);
    let found = of(&r, Code::WORKFLOW_EMPTY_VARIABLE);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    let (severity, line, _, at) = placed(&found[0]);
    assert_eq!(severity, "error");
    assert!(at.starts_with("BUILD_CLIENT_ID: ''"), "{at}");
    let job_at = fixture
        .lines()
        .position(|l| l.contains("  cli-empty-username:"))
        .unwrap();
    assert!(line as usize > job_at, "{line}");
    // The argument is quoted as the script writes it (`"$BUILD_CLIENT_ID"`).
    let sign_in = fixture
        .lines()
        .position(|l| l.contains(r#"--username "$BUILD_CLIENT_ID""#))
        .unwrap()
        + 1;
    assert_eq!(
        text(&found[0], "message"),
        format!(
            "Step `Sign in` runs `az login` with `-u \"$BUILD_CLIENT_ID\"` (line {sign_in}), meant to be the service principal's client id, and `BUILD_CLIENT_ID` is empty (its `env:` entry at line {line}). Unquoted, the empty word disappears and az stops with `argument --username/-u: expected one argument`; quoted, az is given an empty client id and the sign-in fails."
        )
    );
}

/// A managed-identity endpoint (App Service's `IDENTITY_ENDPOINT` form, which the SDK
/// uses instead of IMDS when set) that answers every request with Azure's refusal for
/// an identity the machine does not have; the server records the requests.
fn msi_endpoint() -> MockServer {
    MockServer::start(|_, _| {
        Response::json(
            400,
            &serde_json::json!({"error": "invalid_request", "error_description": "Identity not found"}),
        )
        .into()
    })
}

/// P14: with no client id of its own (`auth-mode: auto`), acr-preflight on a self-hosted
/// runner checks the managed identity the job signs in with, asking the machine's
/// identity endpoint with the client id the job names; on a GitHub-hosted runner it
/// does not (WORKFLOW_AZURE_LOGIN_IDENTITY says there is none).
#[test]
fn auto_mode_asks_for_the_managed_identity_a_self_hosted_job_signs_in_with() {
    let w = readable_world(|r| r);
    let msi = msi_endpoint();
    let msi_url = format!("{}/msi/token", msi.url());
    let env = [
        ("RUNNER_ENVIRONMENT", "self-hosted"),
        ("IDENTITY_ENDPOINT", msi_url.as_str()),
        ("IDENTITY_HEADER", "x"),
    ];
    let r = run_job(&w, "self-hosted-cli-identity", &env, &[]);
    let failed = of(&r, Code::ID_TOKEN_FAILED);
    assert_eq!(failed.len(), 1, "{:#}", r.json);
    assert!(
        text(&failed[0], "fix").contains("Managed identity works only on Azure hosts"),
        "{:#}",
        failed[0]
    );
    let seen: Vec<String> = msi.requests().into_iter().map(|r| r.target).collect();
    assert!(
        seen.iter()
            .any(|t| t.contains("client_id=99999999-8888-7777-6666-555555555555")),
        "{seen:?}"
    );
    // GitHub-hosted: no managed identity is asked for; the workflow finding says why.
    let before = msi.hits();
    let hosted = [
        ("RUNNER_ENVIRONMENT", "github-hosted"),
        ("IDENTITY_ENDPOINT", msi_url.as_str()),
        ("IDENTITY_HEADER", "x"),
    ];
    let r = run_job(&w, "hosted-cli-identity", &hosted, &[]);
    assert!(of(&r, Code::ID_TOKEN_FAILED).is_empty(), "{:#}", r.json);
    assert_eq!(of(&r, Code::WORKFLOW_AZURE_LOGIN_IDENTITY).len(), 1);
    assert_eq!(msi.hits(), before);
}

/// A registry the identity may pull from but not read in ARM (AcrPull only).
fn unreadable_world() -> World {
    let w = world_with(false, |r| r);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    w
}

/// The fixture's line of the first `needle` after the line of job `job`.
fn line_in_job(job: &str, needle: &str) -> u64 {
    let fixture = fixture();
    let start = fixture
        .lines()
        .position(|l| l == format!("  {job}:"))
        .unwrap();
    fixture
        .lines()
        .enumerate()
        .skip(start)
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i as u64 + 1)
        .unwrap()
}

/// P17: without `registries/read`, an `az acr build` after acr-preflight's step in the
/// Azure CLI session of the same identity fails with AuthorizationFailed: a warning at
/// that command, naming it, its step and line, with the role fixes; docs/checks.md
/// shows the same head.
#[test]
fn arm_read_denied_warns_at_a_later_az_acr_build_run_as_the_same_identity() {
    let w = unreadable_world();
    let r = oidc(&w, "tasks-cli-same", &[]);
    let found = of(&r, Code::ARM_READ_DENIED);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    let f = &found[0];
    let line = line_in_job("tasks-cli-same", "run: az acr build");
    let (severity, at_line, _, at) = placed(f);
    assert_eq!((severity.as_str(), at_line), ("warning", line), "{f:#}");
    assert!(at.starts_with("az acr build -r myreg"), "{at}");
    let title = text(f, "title");
    assert_eq!(
        title,
        format!(
            "`az acr build` in step `Build` will fail: identity {CLIENT_ID} cannot read registries in subscription {}",
            w.reg.subscription
        )
    );
    let message = text(f, "message");
    assert!(
        message.contains(&format!(
            "`az acr build` (.github/workflows/{FILE}:{line}) runs after this step as the same identity (`az acr build` runs in the Azure CLI session that step `Build identity` (line "
        )) && message.contains("the step fails with AuthorizationFailed on Microsoft.ContainerRegistry/registries/read."),
        "{message}"
    );
    let fix = text(f, "fix");
    assert!(
        fix.starts_with(
            "Grant Microsoft.ContainerRegistry/registries/read before step `Build` runs:"
        ) && fix.contains(&format!(
            "az role assignment create --assignee {CLIENT_ID} --role Reader --scope /subscriptions/"
        )) && fix.contains("az role definition update --role-definition")
            && fix.contains("\"Microsoft.ContainerRegistry/registries/read\""),
        "{fix}"
    );
    let docs =
        std::fs::read_to_string(format!("{}/docs/checks.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let head = text_head(f).replace(&w.reg.subscription, "33333333-3333-3333-3333-333333333333");
    let first = head.lines().next().unwrap();
    assert!(
        docs.contains(&format!("{first}\n  --> .github/workflows/build.yml:")),
        "docs/checks.md lacks:\n{first}"
    );

    // `az acr task …` in a script signed in with the same client id: the same warning,
    // at the task command, not at the `az acr login` before it.
    let r = oidc(&w, "arm-read-task", &[]);
    let found = of(&r, Code::ARM_READ_DENIED);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    let (severity, at_line, _, at) = placed(&found[0]);
    assert_eq!(
        (severity.as_str(), at_line),
        ("warning", line_in_job("arm-read-task", "az acr task run")),
        "{:#}",
        found[0]
    );
    assert!(at.starts_with("az acr task run"), "{at}");
}

/// P17, the quiet cases: with no `az acr` command after the step, or only `az acr login`
/// (which falls back to `<name>.azurecr.io` when ARM refuses), ARM_READ_DENIED stays the
/// notice; an `az acr build` in the session of another client id is named as such.
#[test]
fn arm_read_denied_stays_a_notice_without_a_later_arm_lookup_as_this_identity() {
    let w = unreadable_world();
    for job in ["arm-read-none", "arm-read-login-only"] {
        let r = oidc(&w, job, &[]);
        let found = of(&r, Code::ARM_READ_DENIED);
        assert_eq!(found.len(), 1, "{job}: {:#}", r.json);
        assert_eq!(found[0]["severity"], "notice", "{job}: {:#}", found[0]);
        assert!(found[0]["line"].is_null(), "{job}: {:#}", found[0]);
        assert!(
            text(&found[0], "fix").starts_with("Nothing to fix for pulls."),
            "{job}: {:#}",
            found[0]
        );
        assert!(
            !text(&found[0], "message").contains("az acr"),
            "{job}: {:#}",
            found[0]
        );
    }

    // No sign-in before the build in the job: its identity is not known, so a notice.
    let r = oidc(&w, "tasks-local", &[]);
    let found = of(&r, Code::ARM_READ_DENIED);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert_eq!(found[0]["severity"], "notice", "{:#}", found[0]);
    assert!(
        text(&found[0], "message").contains("looks the registry up through ARM in an Azure CLI session whose identity the workflow does not name: if it is this identity, that step fails with AuthorizationFailed."),
        "{:#}",
        found[0]
    );

    let other = "99999999-8888-7777-6666-555555555555";
    let r = oidc(&w, "tasks-cli-other", &[]);
    let found = of(&r, Code::ARM_READ_DENIED);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert_eq!(found[0]["severity"], "notice", "{:#}", found[0]);
    let line = line_in_job("tasks-cli-other", "run: az acr build");
    let message = text(&found[0], "message");
    assert!(
        message.contains(&format!(
            "`az acr build` (.github/workflows/{FILE}:{line}) looks the registry up through ARM as another identity, {other} (`az acr build` runs in the Azure CLI session that step `Build identity` (line "
        )) && message.ends_with("its read right was not checked."),
        "{message}"
    );
}

/// The token scopes the runs asked the registry's token server for.
fn asked_scopes(w: &World) -> Vec<String> {
    w._ts
        .requests()
        .into_iter()
        .flat_map(|q| q.scopes)
        .collect()
}

/// Job `job` run with the identity holding `role` on the registry: the world, the run and
/// its ROLE_ACTION_MISSING findings by line.
fn role_actions_as(job: &str, role: Role) -> (World, Run, Vec<Value>) {
    let w = readable_world(|r| r);
    w.az.arm.assign(OBJECT_ID, role, &w.reg.id());
    let r = oidc(&w, job, &[]);
    let mut found = of(&r, Code::ROLE_ACTION_MISSING);
    found.sort_by_key(|f| f["line"].as_u64());
    (w, r, found)
}

/// Each scope was asked of the token server exactly once.
fn asked_once(w: &World, scopes: &[&str]) {
    let asked = asked_scopes(w);
    for scope in scopes {
        assert_eq!(
            asked.iter().filter(|s| s == scope).count(),
            1,
            "{scope}: {asked:?}"
        );
    }
}

/// P17: a tag lock (`az acr repository update … --write-enabled false`) and an untag run
/// after acr-preflight's step as the same identity, which holds AcrPush: AcrPush carries
/// neither `metadata_write` nor `delete`, and one token request per command proves it;
/// ROLE_ACTION_MISSING at each command, with the fix of the registry's mode.
#[test]
fn a_tag_lock_and_an_untag_as_this_identity_without_the_rights_are_errors_at_the_commands() {
    let (w, r, found) = role_actions_as("lock-same", Role::AcrPush);
    assert_eq!(found.len(), 2, "{:#}", r.json);
    let (lock, untag) = (&found[0], &found[1]);
    let line = line_in_job("lock-same", "--write-enabled false");
    let (severity, at_line, _, at) = placed(lock);
    assert_eq!((severity.as_str(), at_line), ("error", line), "{lock:#}");
    assert!(at.starts_with("az acr repository update -n myreg"), "{at}");
    assert_eq!(
        text(lock, "title"),
        format!(
            "`az acr repository update` in step `Lock release` will be refused: the Azure identity app {CLIENT_ID} lacks `metadata_write` on `team/app` at myreg.azurecr.io"
        )
    );
    let message = text(lock, "message");
    assert!(
        message.contains("`az acr repository update` on `team/app:v1` (.github/workflows/azure-login.yml:")
            && message.contains("runs after this step as the same identity (`az acr repository update` runs in the Azure CLI session that step `Release identity` (line ")
            && message.contains("the token endpoint answered `repository:team/app:metadata_write,metadata_read` with a token that grants metadata_read"),
        "{message}"
    );
    let fix = text(lock, "fix");
    assert!(
        fix.starts_with("AcrPush does not carry `metadata_write`")
            && fix.contains("az role definition create --role-definition")
            && fix.contains("\"Microsoft.ContainerRegistry/registries/repositories/metadata/write\"")
            && fix.contains(&format!(
                "az role assignment create --assignee {CLIENT_ID} --role \"ACR repository metadata writer\" --scope {}",
                w.reg.id()
            )),
        "{fix}"
    );
    let (severity, at_line, _, _) = placed(untag);
    assert_eq!(
        (severity.as_str(), at_line),
        ("error", line_in_job("lock-same", "repository untag")),
        "{untag:#}"
    );
    assert!(
        text(untag, "message").contains("the token endpoint answered `repository:team/app:delete` with a token that grants no actions"),
        "{untag:#}"
    );
    assert!(
        text(untag, "fix").contains(&format!(
            "az role assignment create --assignee {CLIENT_ID} --role AcrDelete --scope {}",
            w.reg.id()
        )),
        "{untag:#}"
    );
    // One token request per command's scope, with the scopes azure-cli asks.
    asked_once(
        &w,
        &[
            "repository:team/app:metadata_write,metadata_read",
            "repository:team/app:delete",
        ],
    );
    // docs/checks.md shows the same head.
    let docs =
        std::fs::read_to_string(format!("{}/docs/checks.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let head = text_head(lock);
    let first = head.lines().next().unwrap();
    assert!(
        docs.contains(&format!("{first}\n  --> .github/workflows/build.yml:")),
        "docs/checks.md lacks:\n{first}"
    );

    // ABAC mode: Container Registry Repository Writer carries metadata_write, not
    // delete; the untag's fix is the Contributor role limited to the repository.
    let w = readable_world(|r| r.abac());
    w.az.arm
        .assign(OBJECT_ID, Role::RepositoryWriter, &w.reg.id());
    let r = oidc(&w, "lock-same", &[]);
    let found = of(&r, Code::ROLE_ACTION_MISSING);
    assert_eq!(found.len(), 1, "{:#}", r.json);
    assert!(
        text(&found[0], "title").starts_with("`az acr repository untag`"),
        "{:#}",
        found[0]
    );
    let fix = text(&found[0], "fix");
    assert!(
        fix.contains(&format!(
            "az role assignment create --assignee {CLIENT_ID} --role \"Container Registry Repository Contributor\" --scope {} --condition",
            w.reg.id()
        )) && fix.contains("repositories/content/delete")
            && fix.contains("StringEqualsIgnoreCase 'team/app'"),
        "{fix}"
    );
    assert!(
        r.verified("registry")
            .contains("grants metadata_write on `team/app` (asked `repository:team/app:metadata_write,metadata_read`)"),
        "{}",
        r.verified("registry")
    );
}

/// P17, the quiet cases: with the rights (Contributor) the commands are verified facts;
/// a command in the session of another client id costs no token request and is named.
#[test]
fn repository_actions_with_the_rights_or_as_another_identity_stay_quiet() {
    let w = readable_world(|r| r);
    w.az.arm.assign(OBJECT_ID, Role::Contributor, &w.reg.id());
    let r = oidc(&w, "lock-same", &[]);
    assert!(of(&r, Code::ROLE_ACTION_MISSING).is_empty(), "{:#}", r.json);
    let verified = r.verified("registry");
    for right in [
        "grants metadata_write on `team/app` (asked `repository:team/app:metadata_write,metadata_read`), for `az acr repository update`",
        "grants delete on `team/app` (asked `repository:team/app:delete`), for `az acr repository untag`",
    ] {
        assert!(verified.contains(right), "{right}: {verified}");
    }

    let w = readable_world(|r| r);
    w.az.arm.assign(OBJECT_ID, Role::AcrPush, &w.reg.id());
    let r = oidc(&w, "lock-other", &[]);
    assert!(of(&r, Code::ROLE_ACTION_MISSING).is_empty(), "{:#}", r.json);
    let scopes = asked_scopes(&w);
    assert!(
        !scopes.iter().any(|s| s.contains("metadata_write")),
        "{scopes:?}"
    );
    assert!(
        r.verified("registry").contains(
            "`az acr repository update` (.github/workflows/azure-login.yml:"
        ) && r.verified("registry").contains(
            "needs metadata_write on `team/app`; not checked: it runs as another identity, 99999999-8888-7777-6666-555555555555"
        ),
        "{}",
        r.verified("registry")
    );
}

/// P17, manifest-level: `az acr manifest update-metadata <login server>/<repo>:<tag>
/// --write-enabled false` and `az acr manifest delete <login server>/…` name the registry
/// in the manifest id; as the same identity with AcrPush, each is refused (one token
/// request per scope azure-cli asks), and with Contributor both are verified facts.
#[test]
fn manifest_locks_and_deletes_by_manifest_id_are_judged_like_repository_actions() {
    let (w, r, found) = role_actions_as("lock-manifest", Role::AcrPush);
    assert_eq!(found.len(), 2, "{:#}", r.json);
    let (lock, delete) = (&found[0], &found[1]);
    let (severity, at_line, _, _) = placed(lock);
    assert_eq!(
        (severity.as_str(), at_line),
        (
            "error",
            line_in_job("lock-manifest", "--write-enabled false")
        ),
        "{lock:#}"
    );
    assert_eq!(
        text(lock, "title"),
        format!(
            "`az acr manifest update-metadata` in step `Lock manifest` will be refused: the Azure identity app {CLIENT_ID} lacks `metadata_write` on `team/app` at myreg.azurecr.io"
        )
    );
    assert!(
        text(lock, "message").contains(
            "`az acr manifest update-metadata` on `team/app:v1` (.github/workflows/azure-login.yml:"
        ),
        "{lock:#}"
    );
    let (severity, at_line, _, _) = placed(delete);
    assert_eq!(
        (severity.as_str(), at_line),
        ("error", line_in_job("lock-manifest", "manifest delete")),
        "{delete:#}"
    );
    assert!(
        text(delete, "title").contains("lacks `delete` on `team/app`"),
        "{delete:#}"
    );
    asked_once(
        &w,
        &[
            "repository:team/app:metadata_write,metadata_read",
            "repository:team/app:delete",
        ],
    );

    let (_w, r, found) = role_actions_as("lock-manifest", Role::Contributor);
    assert!(found.is_empty(), "{:#}", r.json);
    assert!(
        r.verified("registry").contains(
            "grants metadata_write on `team/app` (asked `repository:team/app:metadata_write,metadata_read`), for `az acr manifest update-metadata`"
        ),
        "{}",
        r.verified("registry")
    );
}

/// P17: the registry refuses the identity's Entra token, and step `Login` runs
/// `az acr login -n myreg` as the same identity: CRED_REJECTED names that step and line
/// and predicts azure-cli's admin fall-back from ARM's `adminUserEnabled`.
#[test]
fn a_refused_exchange_predicts_the_admin_fall_back_of_a_later_az_acr_login() {
    let refuse = |w: &World| {
        w._ts
            .fail_all_with(crate::support::http::Response::registry_error(
                401,
                "UNAUTHORIZED",
                "access token not accepted",
            ))
    };
    let rejected = |r: &Run| {
        of(r, Code::CRED_REJECTED)
            .into_iter()
            .find(|f| f["check"] == "identity")
            .unwrap_or_else(|| panic!("{:#}", r.json))
    };
    let w = readable_world(|r| r);
    refuse(&w);
    let r = oidc(&w, "arm-read-login-only", &[]);
    let f = rejected(&r);
    let line = line_in_job("arm-read-login-only", "az acr login");
    let (severity, at_line, _, at) = placed(&f);
    assert_eq!((severity.as_str(), at_line), ("error", line), "{f:#}");
    assert!(at.starts_with("az acr login -n myreg"), "{at}");
    assert_eq!(
        text(&f, "title"),
        "myreg.azurecr.io refused the Entra token of the identity: `az acr login` in step `Login` will fail"
    );
    let message = text(&f, "message");
    assert!(
        message.contains(&format!("`az acr login` (.github/workflows/{FILE}:{line}) runs after this step as the same identity (`az acr login` runs in the Azure CLI session that step `Sign in` (line "))
            && message.contains("adminUserEnabled is false, so it prints `Unable to get admin user credentials with message: Admin user is disabled.` and fails"),
        "{message}"
    );
    assert!(
        text(&f, "fix").starts_with("Before step `Login` runs: "),
        "{f:#}"
    );
    let docs =
        std::fs::read_to_string(format!("{}/docs/checks.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let first = text_head(&f).lines().next().unwrap().to_string();
    assert!(
        docs.contains(&format!("{first}\n  --> .github/workflows/build.yml:")),
        "docs/checks.md lacks:\n{first}"
    );

    // With the admin user enabled, azure-cli asks ARM for its credentials instead; the
    // identity's effective permissions (AcrPull and registries/read only) lack the action.
    let w = readable_world(|r| r.admin_user(true));
    refuse(&w);
    let r = oidc(&w, "arm-read-login-only", &[]);
    let f = rejected(&r);
    let message = text(&f, "message");
    assert!(
        message.contains(&format!("{}/listCredentials; the identity's effective permissions on the registry lack Microsoft.ContainerRegistry/registries/listCredentials/action, so it prints `Unable to get admin user credentials with message: (AuthorizationFailed)", w.reg.id())),
        "{message}"
    );
    assert!(text(&f, "title").ends_with("will fail"), "{f:#}");

    // An identity whose role holds listCredentials/action logs in as the admin user.
    let w = readable_world(|r| r.admin_user(true));
    w.az.arm.assign(
        OBJECT_ID,
        Role::Custom(crate::support::azure::RoleDefinition {
            id: "0b4d5e1c-0000-4000-8000-0000000000a1".into(),
            name: "Registry Credentials Reader".into(),
            actions: vec!["Microsoft.ContainerRegistry/registries/listCredentials/action".into()],
            not_actions: vec![],
            data_actions: vec![],
            not_data_actions: vec![],
        }),
        &w.reg.id(),
    );
    refuse(&w);
    let r = oidc(&w, "arm-read-login-only", &[]);
    let f = rejected(&r);
    assert_eq!(
        text(&f, "title"),
        "myreg.azurecr.io refused the Entra token of the identity: `az acr login` in step `Login` falls back to the admin user"
    );
    let message = text(&f, "message");
    assert!(
        message.contains(
            "hold Microsoft.ContainerRegistry/registries/listCredentials/action, so POST "
        ) && message.contains("logs in as the admin user `myreg`, not as this identity"),
        "{message}"
    );

    // Without a later `az acr login`, the finding stays where it was, unplaced.
    let w = readable_world(|r| r);
    refuse(&w);
    let r = oidc(&w, "arm-read-none", &[]);
    let f = rejected(&r);
    assert_eq!(
        text(&f, "title"),
        "myreg.azurecr.io refused the Entra token of the identity"
    );
    assert!(f["line"].is_null(), "{f:#}");
}
