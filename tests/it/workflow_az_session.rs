//! The Azure CLI session the job's `az acr` calls run in (issue 13) end to end.
//!
//! - P15, WORKFLOW_AZ_SUBSCRIPTION: ARM (the fake at management.azure.com) shows myreg
//!   in subscription SUB; a step selects another subscription (azure/login's
//!   `subscription-id`, `az account set -s`), or the runner's Azure CLI profile (real
//!   `azureProfile.json` in a temp AZURE_CONFIG_DIR) has another one active, and a later
//!   `az acr` call names no `--subscription`.
//! - P13, ID_CLI_VERSION: an Azure CLI installation tree (the pip layout, `bin/az` and
//!   `lib/python3.12/site-packages/azure_cli-<version>.dist-info`) first on PATH.

use crate::identity::{
    CLIENT_ID, CONTEXT, FakeAz, OBJECT_ID, Run, SUB, TENANT, World, job_env, job_workspace,
    run_config, run_in, world, world_with,
};
use crate::identity_cli_session::az_session_run;
use crate::support::azure::Role;

const WORKFLOW: &str = ".github/workflows/build.yml";

/// The finding's first two lines in `text` format must open docs/checks.md's example.
fn assert_documented(f: &serde_json::Value, code: acr_preflight::findings::Code) {
    let head = crate::workflow_azure_login::text_head(f);
    assert!(
        crate::workflow_context::doc_example(code).starts_with(&head),
        "{head}"
    );
}

const OTHER: &str = "99999999-8888-7777-6666-555555555555";

/// The registry, readable in ARM by the app, which may push.
fn registry() -> World {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPush, &w.reg.id());
    w.az.arm
        .assign(OBJECT_ID, Role::Reader, &format!("/subscriptions/{SUB}"));
    w
}

/// Runs the binary (OIDC) in a workspace whose job runs `steps` after acr-preflight's.
fn job_run(w: &World, steps: &str, extra_env: &[(&str, &str)]) -> Run {
    let workspace = job_workspace(steps);
    let ws = workspace.path().to_str().unwrap().to_string();
    let mut env = job_env(&ws).to_vec();
    env.extend_from_slice(extra_env);
    run_config(
        w,
        true,
        &env,
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
        Some("{}"),
    )
}

fn azure_login(subscription: &str) -> String {
    format!(
        "      - uses: azure/login@v2
        with:
          client-id: ${{{{ vars.AZURE_CLIENT_ID }}}}
          tenant-id: ${{{{ vars.AZURE_TENANT_ID }}}}
          subscription-id: {subscription}
"
    )
}

const IMPORT: &str = "      - name: Import base
        run: az acr import -n myreg --source docker.io/library/alpine:3.20
";

#[test]
fn an_az_acr_import_after_azure_login_selects_another_subscription_is_an_error_at_its_line() {
    let w = registry();
    let r = job_run(&w, &format!("{}{IMPORT}", azure_login(OTHER)), &[]);
    let f = r.only("WORKFLOW_AZ_SUBSCRIPTION");
    println!("{f:#}");
    assert_documented(&f, acr_preflight::findings::Code::WORKFLOW_AZ_SUBSCRIPTION);
    assert_eq!(f["severity"], "error");
    assert_eq!(
        f["title"],
        format!(
            "`az acr import` in step `Import base` looks for myreg in subscription {OTHER}, but it is in {SUB}"
        )
    );
    assert_eq!(f["file"], WORKFLOW);
    assert_eq!(f["line"], 16);
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "azure/login ({WORKFLOW}:10) selects it). ARM shows myreg.azurecr.io in subscription {SUB} ({})",
            w.reg.id()
        )) && message.contains("could not be found in subscription"),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!("az account set -s {SUB}"))
            && fix.contains(&format!("az acr import -n myreg --subscription {SUB}")),
        "{fix}"
    );
    assert_eq!(r.status, 1);
}

#[test]
fn the_registrys_subscription_a_secret_or_an_explicit_subscription_is_no_finding() {
    let w = registry();
    // The same subscription: said as verified.
    let r = job_run(&w, &format!("{}{IMPORT}", azure_login(SUB)), &[]);
    assert!(
        !r.codes().contains(&"WORKFLOW_AZ_SUBSCRIPTION".to_string()),
        "{:#}",
        r.json
    );
    assert!(
        r.verified("workflow").contains(&format!(
            "`az acr import` ({WORKFLOW}:16) runs in subscription {SUB}, which holds myreg.azurecr.io"
        )),
        "{}",
        r.verified("workflow")
    );
    // A secret: not detectable, nothing said.
    let r = job_run(
        &w,
        &format!(
            "{}{IMPORT}",
            azure_login("${{ secrets.AZURE_SUBSCRIPTION_ID }}")
        ),
        &[],
    );
    assert!(!r.raw.contains("WORKFLOW_AZ_SUBSCRIPTION"), "{}", r.raw);
    // The call names its subscription.
    let r = job_run(
        &w,
        &format!(
            "{}      - run: az acr import -n myreg --subscription {SUB} --source docker.io/library/alpine:3.20\n",
            azure_login(OTHER)
        ),
        &[],
    );
    assert!(!r.raw.contains("WORKFLOW_AZ_SUBSCRIPTION"), "{}", r.raw);
}

const ACCOUNT_SET_THEN_LOGIN: &str = "      - name: Log in
        run: |
          az account set -s 99999999-8888-7777-6666-555555555555
          az acr login -n myreg
";

#[test]
fn az_account_set_to_another_subscription_before_az_acr_login_is_a_warning() {
    let w = registry();
    let r = job_run(&w, ACCOUNT_SET_THEN_LOGIN, &[]);
    let f = r.only("WORKFLOW_AZ_SUBSCRIPTION");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["line"], 13);
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("az account set ({WORKFLOW}:12) selects it"))
            && message.contains("falls back to the login server myreg.azurecr.io"),
        "{message}"
    );
}

/// An Azure CLI config folder whose active subscription is `active`.
fn profile(active: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let profile = serde_json::json!({
        "installationId": "0d1b6f5e-0000-0000-0000-000000000000",
        "subscriptions": [
            {"id": SUB, "name": "registry-sub", "state": "Enabled", "tenantId": TENANT,
             "isDefault": active == SUB, "environmentName": "AzureCloud",
             "user": {"name": CLIENT_ID, "type": "servicePrincipal"}},
            {"id": OTHER, "name": "sandbox", "state": "Enabled", "tenantId": TENANT,
             "isDefault": active == OTHER, "environmentName": "AzureCloud",
             "user": {"name": CLIENT_ID, "type": "servicePrincipal"}}
        ]
    });
    // az writes its profile with a byte-order mark (utf-8-sig).
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend(profile.to_string().into_bytes());
    std::fs::write(dir.path().join("azureProfile.json"), bytes).unwrap();
    dir
}

#[test]
fn the_runners_az_session_with_another_active_subscription_is_named_at_the_later_call() {
    let w = registry();
    for (active, expected) in [(OTHER, true), (SUB, false)] {
        let config = profile(active);
        let dir = config.path().to_str().unwrap();
        let r = job_run(&w, IMPORT, &[("AZURE_CONFIG_DIR", dir)]);
        if expected {
            let f = r.only("WORKFLOW_AZ_SUBSCRIPTION");
            let message = f["message"].as_str().unwrap();
            assert!(
                message.contains(&format!(
                    "it is the active subscription of the Azure CLI session in {dir} (sandbox ({OTHER})) when acr-preflight ran"
                )),
                "{message}"
            );
        } else {
            assert!(!r.raw.contains("WORKFLOW_AZ_SUBSCRIPTION"), "{}", r.raw);
        }
    }
}

#[test]
fn auth_mode_azure_cli_states_the_active_subscription_and_where_the_registry_is() {
    let w = registry();
    let az = FakeAz::new(&w, 4_000_000_000);
    let config = profile(OTHER);
    let r = az_session_run(&w, &az.path, config.path());
    let verified = r.verified("identity");
    assert!(
        verified.contains(&format!(
            "has active subscription sandbox ({OTHER}); `az acr` commands without --subscription look registries up there (myreg.azurecr.io is in subscription {SUB}: `az acr` commands in this session need `--subscription {SUB}`"
        )),
        "{verified}"
    );
}

/// A pip-layout Azure CLI of `version` whose `bin/az` is `az`'s script, and its PATH.
fn installed(az: &FakeAz, version: &str) -> (tempfile::TempDir, String) {
    let root = tempfile::tempdir().unwrap();
    let bin = root.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = az.path.split(':').next().unwrap();
    std::fs::copy(format!("{script}/az"), bin.join("az")).unwrap();
    std::fs::create_dir_all(root.path().join(format!(
        "lib/python3.12/site-packages/azure_cli-{version}.dist-info"
    )))
    .unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    (root, path)
}

const OIDC_THEN_BUILD_THEN_LOGIN: &str = "      - uses: azure/login@v2
        with:
          client-id: ${{ vars.AZURE_CLIENT_ID }}
          tenant-id: ${{ vars.AZURE_TENANT_ID }}
          subscription-id: ${{ vars.AZURE_SUBSCRIPTION_ID }}
      - run: docker build -t myreg.azurecr.io/team/app:1 .
      - name: Push
        run: az acr login -n myreg && docker push myreg.azurecr.io/team/app:1
";

#[test]
fn azure_cli_2_59_0_on_path_is_reported_at_the_az_call_after_an_oidc_sign_in() {
    let w = registry();
    let az = FakeAz::script("exit 1\n");
    let (_tree, path) = installed(&az, "2.59.0");
    let r = job_run(&w, OIDC_THEN_BUILD_THEN_LOGIN, &[("PATH", &path)]);
    let f = r.only("ID_CLI_VERSION");
    println!("{f:#}");
    assert_documented(&f, acr_preflight::findings::Code::ID_CLI_VERSION);
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["check"], "workflow");
    assert_eq!(f["line"], 17);
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("is version 2.59.0")
            && message.contains(&format!(
                "`az acr login` ({WORKFLOW}:17) comes after azure/login ({WORKFLOW}:10)"
            )),
        "{message}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .starts_with("Upgrade the Azure CLI on the runner: az upgrade")
    );

    // A fixed release, or a sign-in with a secret: nothing to say.
    let (_fixed, path) = installed(&az, "2.60.0");
    let r = job_run(&w, OIDC_THEN_BUILD_THEN_LOGIN, &[("PATH", &path)]);
    assert!(!r.raw.contains("ID_CLI_VERSION"), "{}", r.raw);
    assert!(
        r.verified("workflow").contains("Azure CLI 2.60.0 ("),
        "{}",
        r.verified("workflow")
    );
    let (_old, path) = installed(&az, "2.59.0");
    let r = job_run(
        &w,
        &OIDC_THEN_BUILD_THEN_LOGIN.replace(
            "          client-id: ${{ vars.AZURE_CLIENT_ID }}\n          tenant-id: ${{ vars.AZURE_TENANT_ID }}\n          subscription-id: ${{ vars.AZURE_SUBSCRIPTION_ID }}\n",
            "          creds: ${{ secrets.AZURE_CREDENTIALS }}\n",
        ),
        &[("PATH", &path)],
    );
    assert!(!r.raw.contains("ID_CLI_VERSION"), "{}", r.raw);
}

#[test]
fn a_federated_az_session_on_azure_cli_2_59_0_is_reported_without_a_workflow() {
    let w = registry();
    let az = FakeAz::new(&w, 4_000_000_000);
    let (_tree, path) = installed(&az, "2.59.0");
    let config = tempfile::tempdir().unwrap();
    let profile_json = serde_json::json!({"subscriptions": [{
        "id": SUB, "name": "ci", "tenantId": TENANT, "isDefault": true,
        "user": {"name": CLIENT_ID, "type": "servicePrincipal"}
    }]});
    std::fs::write(
        config.path().join("azureProfile.json"),
        profile_json.to_string(),
    )
    .unwrap();
    let token =
        acr_preflight::jwt::unsigned_for_tests(&serde_json::json!({"exp": 4_000_000_000u64}));
    for (field, expected) in [("client_assertion", true), ("client_secret", false)] {
        std::fs::write(
            config.path().join("service_principal_entries.json"),
            serde_json::json!([{"client_id": CLIENT_ID, "tenant": TENANT, field: token}])
                .to_string(),
        )
        .unwrap();
        let r = az_session_run(&w, &path, config.path());
        if expected {
            let f = r.only("ID_CLI_VERSION");
            assert_eq!(f["check"], "identity");
            assert!(
                f["message"].as_str().unwrap().contains(&format!(
                    "service principal {CLIENT_ID} signed in with a federated token"
                )),
                "{f:#}"
            );
        } else {
            assert!(!r.raw.contains("ID_CLI_VERSION"), "{}", r.raw);
        }
        assert!(!r.raw.contains(&token));
    }
}

#[test]
fn without_subscription_id_the_az_sessions_active_subscription_is_read_and_named() {
    let w = registry();
    w.az.arm.add_subscription(OTHER, TENANT);
    w.az.arm
        .assign(OBJECT_ID, Role::Reader, &format!("/subscriptions/{OTHER}"));
    let az = FakeAz::new(&w, 4_000_000_000);
    let args = [&["--auth-mode", "azure-cli"][..], &CONTEXT[..]].concat();
    for (active, expected) in [(OTHER, true), (SUB, false)] {
        let config = profile(active);
        let dir = config.path().to_str().unwrap();
        let env = [("PATH", az.path.as_str()), ("AZURE_CONFIG_DIR", dir)];
        let r = run_in(&w, "", false, &env, &args, Some("{}"));
        if !expected {
            assert!(!r.raw.contains("REGISTRY_NOT_FOUND"), "{}", r.raw);
            assert!(
                r.verified("identity")
                    .contains(&format!("myreg.azurecr.io: {}", w.reg.id())),
                "{}",
                r.verified("identity")
            );
            continue;
        }
        let f = r.only("REGISTRY_NOT_FOUND");
        assert_eq!(
            f["title"],
            format!("registry `myreg` is in subscription {SUB}, not in {OTHER}")
        );
        let message = f["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!(
                "The Azure CLI session's active subscription {OTHER} (azureProfile.json in {dir}; acr-preflight was given no subscription-id"
            )),
            "{message}"
        );
        let fix = f["fix"].as_str().unwrap();
        assert!(
            fix.starts_with(&format!(
                "Select the registry's subscription in the Azure CLI session before acr-preflight and the az steps: az account set -s {SUB}"
            )),
            "{fix}"
        );
    }
}

#[test]
fn az_acr_login_falling_back_to_a_login_server_without_the_registrys_hash_is_an_error() {
    let w = world_with(false, |r| r.domain_name_label("TenantReuse", "h4sh3d"));
    w.az.arm.assign(OBJECT_ID, Role::AcrPush, &w.reg.id());
    w.az.arm
        .assign(OBJECT_ID, Role::Reader, &format!("/subscriptions/{SUB}"));
    let r = job_run(&w, ACCOUNT_SET_THEN_LOGIN, &[]);
    let f = r.only("WORKFLOW_AZ_SUBSCRIPTION");
    assert_eq!(f["severity"], "error");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(
            "falls back to the login server myreg.azurecr.io, but ARM says its login server is myreg-h4sh3d.azurecr.io: the step fails"
        ),
        "{message}"
    );
}
