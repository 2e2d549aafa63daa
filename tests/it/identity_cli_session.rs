//! P13 at run time: `auth-mode: azure-cli` on the runner, with the Azure CLI's profile
//! as `az login --service-principal --federated-token` leaves it (real files in a temp
//! AZURE_CONFIG_DIR, shapes from https://github.com/Azure/azure-cli/blob/dev/src/azure-cli-core/azure/cli/core/auth/identity.py)
//! and a fake `az` answering `az account get-access-token`. ID_CLI_OIDC_RENEWAL when the
//! federated token runs out before the tokens az gave, naming the job's later az calls.

use crate::identity::{CLIENT_ID, CONTEXT, FakeAz, OBJECT_ID, Run, SUB, TENANT, World, run, world};
use crate::support::azure::Role;
use std::time::{SystemTime, UNIX_EPOCH};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An Azure CLI config folder whose default account is the app, signed in with
/// `credential` (one `service_principal_entries.json` field: name and value).
fn profile(credential: (&str, &str)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let profile = serde_json::json!({
        "installationId": "0d1b6f5e-0000-0000-0000-000000000000",
        "subscriptions": [{
            "id": SUB, "name": "ci", "state": "Enabled", "tenantId": TENANT,
            "isDefault": true, "environmentName": "AzureCloud", "homeTenantId": TENANT,
            "managedByTenants": [],
            "user": {"name": CLIENT_ID, "type": "servicePrincipal"}
        }]
    });
    // az writes its profile with a byte-order mark (utf-8-sig).
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(profile.to_string().into_bytes());
    std::fs::write(dir.path().join("azureProfile.json"), bytes).unwrap();
    let entry = serde_json::json!([{
        "client_id": CLIENT_ID, "tenant": TENANT, credential.0: credential.1
    }]);
    std::fs::write(
        dir.path().join("service_principal_entries.json"),
        entry.to_string(),
    )
    .unwrap();
    dir
}

/// Runs the binary with `auth-mode: azure-cli`, `path` as PATH and `config` as the
/// Azure CLI's config folder, without a workflow.
pub(crate) fn az_session_run(w: &World, path: &str, config: &std::path::Path) -> Run {
    run(
        w,
        false,
        &[
            ("PATH", path),
            ("AZURE_CONFIG_DIR", config.to_str().unwrap()),
        ],
        &[&["--auth-mode", "azure-cli"][..], &CONTEXT[..]].concat(),
    )
}

/// A GitHub ID token's shape (what azure/login passes as `--federated-token`).
fn id_token(exp: u64) -> String {
    acr_preflight::jwt::unsigned_for_tests(&serde_json::json!({
        "iss": "https://token.actions.githubusercontent.com",
        "sub": "repo:octo/app:ref:refs/heads/main",
        "aud": "api://AzureADTokenExchange",
        "iat": exp - 300, "nbf": exp - 300, "exp": exp
    }))
}

/// A workspace holding the az-session fixture, as the job `az-after-build` sees it.
fn workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::copy(
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/workflows/az-session.yml"
        ),
        wf.join("az-session.yml"),
    )
    .unwrap();
    dir
}

#[test]
fn an_expired_federated_token_is_reported_with_the_time_az_has_left_and_the_later_az_steps() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    let az = FakeAz::new(&w, now() + 3000);
    let token = id_token(now() - 60);
    let config = profile(("client_assertion", &token));
    let ws = workspace();
    let r = run(
        &w,
        false,
        &[
            ("PATH", az.path.as_str()),
            ("AZURE_CONFIG_DIR", config.path().to_str().unwrap()),
            ("GITHUB_WORKSPACE", ws.path().to_str().unwrap()),
            (
                "GITHUB_WORKFLOW_REF",
                "octo/app/.github/workflows/az-session.yml@refs/heads/main",
            ),
            ("GITHUB_JOB", "az-after-build"),
            ("GITHUB_ACTION", "preflight"),
        ],
        &[&["--auth-mode", "azure-cli"][..], &CONTEXT[..]].concat(),
    );
    let f = r.only("ID_CLI_OIDC_RENEWAL");
    println!("{f:#}");
    assert_eq!(f["severity"], "warning");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("That token expired at"), "{message}");
    assert!(
        message.contains("ago), and az cannot fetch a new one"),
        "{message}"
    );
    assert!(
        f["title"].as_str().unwrap().ends_with("(in 49 minutes)")
            || f["title"].as_str().unwrap().ends_with("(in 48 minutes)"),
        "{}",
        f["title"]
    );
    assert!(
        message.contains("`az acr login` (.github/workflows/az-session.yml:27)"),
        "{message}"
    );
    assert!(
        f["fix"].as_str().unwrap().contains("az acr login -n myreg"),
        "{}",
        f["fix"]
    );
    // The federated token is a secret: never printed.
    assert!(!r.raw.contains(&token), "{}", r.raw);
}

#[test]
fn no_renewal_warning_when_the_federated_token_outlives_the_tokens_or_the_session_has_a_secret() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    let az = FakeAz::new(&w, now() + 3000);
    let long = id_token(now() + 7200);
    for credential in [
        ("client_assertion", long.as_str()),
        ("client_secret", "planted-cli-secret-1234"),
    ] {
        let config = profile(credential);
        let r = az_session_run(&w, &az.path, config.path());
        assert_eq!(r.status, 0, "{:#}", r.json);
        assert!(!r.raw.contains("ID_CLI_OIDC_RENEWAL"), "{}", r.raw);
        assert!(!r.raw.contains(credential.1), "{}", r.raw);
    }
}

/// What az prints when its profile holds no session (root's, under sudo) and when its
/// federated sign-in can no longer be renewed (https://github.com/Azure/azure-cli/issues/28708).
const NO_SESSION: &str = "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1\n";
const RENEWAL_FAILED: &str = "echo \"ERROR: AADSTS700024: Client assertion is not within its valid time range. Current time: 2026-12-05T12:00:00.0000000Z, assertion valid from 2026-12-05T10:00:00.0000000Z, expiry time of assertion 2026-12-05T10:05:00.0000000Z. Trace ID: 0f6a1b2c-0000-4000-8000-000000000001 Correlation ID: 0f6a1b2c-0000-4000-8000-000000000002 Timestamp: 2026-12-05 12:00:00Z\" >&2\nexit 1\n";

#[test]
fn az_without_a_session_under_sudo_says_that_root_has_its_own_profile() {
    let w = world(false);
    let az = FakeAz::script(NO_SESSION);
    let args = [&["--auth-mode", "azure-cli"][..], &CONTEXT[..]].concat();
    let r = run(
        &w,
        false,
        &[
            ("PATH", az.path.as_str()),
            ("SUDO_USER", "runner"),
            ("HOME", "/root"),
        ],
        &args,
    );
    let f = r.only("ID_TOKEN_FAILED");
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("runs through sudo (SUDO_USER=runner, HOME=/root)"),
        "{fix}"
    );
    assert!(
        fix.contains("run acr-preflight without sudo, as runner"),
        "{fix}"
    );

    // Not under sudo: the plain advice.
    let r = run(&w, false, &[("PATH", az.path.as_str())], &args);
    let fix = r.only("ID_TOKEN_FAILED")["fix"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(fix.starts_with("Log in first: az login"), "{fix}");
}

#[test]
fn an_az_session_that_can_no_longer_renew_is_an_expired_assertion_with_the_re_login_fix() {
    let w = world(false);
    let az = FakeAz::script(RENEWAL_FAILED);
    let r = run(
        &w,
        false,
        &[("PATH", az.path.as_str())],
        &[&["--auth-mode", "azure-cli"][..], &CONTEXT[..]].concat(),
    );
    let f = r.only("ID_ASSERTION_EXPIRED");
    assert_eq!(f["severity"], "error");
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .contains("Azure CLI session's federated token"),
        "{f:#}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .starts_with("Repeat the azure/login step"),
        "{f:#}"
    );
}

/// az's token cache as MSAL writes it (`AccessToken` entries, `expires_on` in epoch
/// seconds as a string), with one token of the app ending at `expires_on`.
fn token_cache(dir: &std::path::Path, expires_on: u64) {
    let cache = serde_json::json!({
        "AccessToken": {
            "k1": {
                "credential_type": "AccessToken", "secret": "cached-arm-token-value",
                "home_account_id": "", "environment": "login.microsoftonline.com",
                "client_id": CLIENT_ID, "target": "https://management.core.windows.net//.default",
                "realm": TENANT, "token_type": "Bearer",
                "cached_at": (expires_on - 3600).to_string(),
                "expires_on": expires_on.to_string(),
            }
        },
        "RefreshToken": {}, "IdToken": {}, "Account": {}, "AppMetadata": {}
    });
    std::fs::write(dir.join("msal_token_cache.json"), cache.to_string()).unwrap();
}

/// OIDC mode: azure/login ran before acr-preflight, and the job calls az after it. The
/// session's tokens are read from az's token cache; close to their end is a warning.
#[test]
fn in_oidc_mode_the_session_an_earlier_step_left_is_judged_by_az_s_token_cache() {
    let w = world(true);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    let token = id_token(now() - 3000);
    let config = profile(("client_assertion", &token));
    let ws = workspace();
    let job = |name: &str| {
        run(
            &w,
            true,
            &[
                ("AZURE_CONFIG_DIR", config.path().to_str().unwrap()),
                ("GITHUB_WORKSPACE", ws.path().to_str().unwrap()),
                (
                    "GITHUB_WORKFLOW_REF",
                    "octo/app/.github/workflows/az-session.yml@refs/heads/main",
                ),
                ("GITHUB_JOB", name),
                ("GITHUB_ACTION", "preflight"),
            ],
            &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
        )
    };
    // Ten minutes left, and `az acr login` comes after a build.
    token_cache(config.path(), now() + 600);
    let r = job("az-after-build");
    let f = r.only("ID_CLI_OIDC_RENEWAL");
    assert_eq!(f["severity"], "warning", "{f}");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("the latest one it has cached (msal_token_cache.json) expires at"),
        "{message}"
    );
    assert!(message.contains("az acr login"), "{message}");
    assert!(!r.raw.contains("cached-arm-token-value"), "{}", r.raw);
    // Fifty minutes left: the deadline is a verified fact, not a warning.
    token_cache(config.path(), now() + 3000);
    let r = job("az-after-build");
    assert!(!r.raw.contains("ID_CLI_OIDC_RENEWAL"), "{}", r.raw);
    assert!(
        r.raw
            .contains("the latest token az has cached is valid until"),
        "{}",
        r.raw
    );
    // No az call after acr-preflight's step: the session is not read.
    token_cache(config.path(), now() + 600);
    let r = job("az-before-build");
    assert!(!r.raw.contains("ID_CLI_OIDC_RENEWAL"), "{}", r.raw);
    assert!(!r.raw.contains("az has cached"), "{}", r.raw);
}
