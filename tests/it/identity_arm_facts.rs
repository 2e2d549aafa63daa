//! Registry facts the identity check reads from ARM, turned into findings (issue 13):
//! the admin user (P22), the federated-credential fix for a user-assigned managed
//! identity (P4), a role without `registries/read` (P17), repository-scoped tokens and
//! anonymous pull (P24), network rules behind a 403 (P45/P47). Same world as
//! identity.rs: the Entra and ARM fakes, and the real distribution registry behind a
//! token server.

use crate::identity::{
    CLIENT_ID, CONTEXT, OBJECT_ID, Run, arm_reader, assert_no_secret_leaks, run_config, world_with,
};
use crate::support::azure::*;
use base64::Engine;
use serde_json::Value;

/// A docker config whose `auths` entry for `host` holds `user:password`.
fn docker_config(host: &str, user: &str, password: &str) -> String {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    serde_json::json!({"auths": {host: {"auth": auth}}}).to_string()
}

fn assert_absent(r: &Run, code: &str) {
    assert!(!r.codes().iter().any(|c| c == code), "{:#}", r.json);
}

fn assert_verified(r: &Run, check: &str, text: &str) {
    assert!(r.verified(check).contains(text), "{:#}", r.json);
}

const ADMIN_PASSWORD: &str = "planted-admin-password-value";

/// [`world_with`], the identity holding AcrPull and ARM read on the registry.
fn readable_world(adjust: impl FnOnce(Registry) -> Registry) -> crate::identity::World {
    let w = world_with(false, adjust);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    w.az.arm.assign(OBJECT_ID, arm_reader(), &w.reg.id());
    w
}

#[test]
fn the_admin_user_of_a_registry_whose_admin_account_is_disabled_is_named() {
    let w = readable_world(|r| r);
    // The admin user is named after the registry, in any case.
    let config = docker_config(&w.host, "MyReg", ADMIN_PASSWORD);
    let args = [&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat();
    let r = run_config(&w, true, &[], &args, Some(&config));
    assert_eq!(r.status, 1, "{:#}", r.json);
    let f = r.only("CRED_ADMIN_DISABLED");
    assert_eq!(f["severity"], "error");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("adminUserEnabled: false"), "{message}");
    assert!(message.contains(&w.reg.id()), "{message}");
    let fix = f["fix"].as_str().unwrap();
    assert!(fix.contains("az acr login -n myreg"), "{fix}");
    assert!(
        fix.contains("az acr update -n myreg --admin-enabled true"),
        "{fix}"
    );
    assert!(!r.raw.contains(ADMIN_PASSWORD));
    assert_no_secret_leaks(&w, &r);

    // Enabled in ARM: no finding, a verified line.
    let w = readable_world(|r| r.admin_user(true));
    let r = run_config(&w, true, &[], &args, Some(&config));
    assert_absent(&r, "CRED_ADMIN_DISABLED");
    assert_verified(
        &r,
        "credential-helpers",
        "is the admin user `MyReg`, enabled in ARM",
    );
    // A username that is not the registry's name is not the admin user.
    let config = docker_config(&w.host, "ci-bot", ADMIN_PASSWORD);
    let w = readable_world(|r| r);
    let r = run_config(&w, true, &[], &args, Some(&config));
    assert_absent(&r, "CRED_ADMIN_DISABLED");
}

/// P17: AcrPull pulls but carries no `registries/read`; the notice says what the run
/// could not check and how to grant the read.
#[test]
fn an_identity_without_registries_read_is_told_what_that_costs_and_how_to_add_it() {
    let w = world_with(false, |r| r);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    let args = [&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat();
    let r = crate::identity::run(&w, true, &[], &args);
    assert_eq!(
        r.json["contexts"][0]["digest"],
        w.digest.as_str(),
        "{:#}",
        r.json
    );
    let f = r.only("ARM_READ_DENIED");
    assert_eq!(f["severity"], "notice");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("AuthorizationFailed"), "{message}");
    assert!(message.contains("ABAC mode"), "{message}");
    assert!(message.contains("network rules"), "{message}");
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!(
            "az role assignment create --assignee {CLIENT_ID} --role Reader --scope /subscriptions/"
        )),
        "{fix}"
    );
    assert!(
        fix.contains("az role definition update --role-definition")
            && fix.contains("\"Microsoft.ContainerRegistry/registries/read\""),
        "{fix}"
    );
}

/// P4: a user-assigned managed identity trusts federated credentials too, created with
/// `az identity federated-credential create`; Entra's refusal does not say which kind
/// the client id is, so the fix gives that command filled in next to the app's.
#[test]
fn a_subject_mismatch_on_a_managed_identity_gets_the_az_identity_command() {
    const UAMI_CLIENT: &str = "66666666-7777-8888-9999-000000000000";
    let w = world_with(false, |r| r);
    w.az.entra.add_app(
        App::managed_identity(
            "72f988bf-86f1-41af-91ab-2d7cd011db47",
            UAMI_CLIENT,
            "bbbbbbbb-cccc-dddd-eeee-ffffffffffff",
            "/subscriptions/00000000-1111-2222-3333-444444444444/resourceGroups/rg-ci/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ci-uami",
        )
        .federated(FederatedCredential::github("repo:octo/app:ref:refs/heads/main")),
    );
    w.az.github
        .set_claims(GitHubClaims::pull_request("octo/app", 7));
    let args = [&["--client-id", UAMI_CLIENT][..], &CONTEXT[..]].concat();
    let r = crate::identity::run(&w, true, &[], &args);
    assert_eq!(r.status, 1, "{:#}", r.json);
    let f = r.only("ID_FEDERATION_MISMATCH");
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("az identity federated-credential create --name repo-octo-app-pull-request --identity-name <uami> --resource-group <rg> --issuer https://token.actions.githubusercontent.com --subject repo:octo/app:pull_request --audiences api://AzureADTokenExchange"),
        "{fix}"
    );
    assert!(
        fix.contains(&format!(
            "az identity list --query \"[?clientId=='{UAMI_CLIENT}']"
        )),
        "{fix}"
    );
    assert!(
        fix.contains(&format!(
            "az ad app federated-credential create --id {UAMI_CLIENT}"
        )),
        "{fix}"
    );
    assert_no_secret_leaks(&w, &r);
}

/// P24: the docker credential is a repository-scoped token (its username names a token
/// of the registry in ARM); its scope map must list `content/read` on the context
/// repository, and the finding names the scope map and the exact update.
#[test]
fn a_repository_scoped_token_without_the_context_repository_is_named_with_its_scope_map() {
    let w = world_with(false, |r| r);
    w.az.arm.assign(OBJECT_ID, Role::Reader, &w.reg.id());
    w.az.arm
        .add_scope_map(&w.reg.id(), "ci-map", &["repositories/other/content/read"]);
    w.az.arm.add_token(&w.reg.id(), "ci-token", "ci-map");
    let args = [&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat();
    let config = docker_config(&w.host, "ci-token", ADMIN_PASSWORD);
    let r = run_config(&w, true, &[], &args, Some(&config));
    assert_eq!(r.status, 1, "{:#}", r.json);
    let f = r.only("CRED_TOKEN_SCOPE_MISSING");
    assert_eq!(f["severity"], "error");
    let title = f["title"].as_str().unwrap();
    assert!(
        title.contains("content/read on `team/ctx`") && title.contains("ci-map"),
        "{title}"
    );
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("repositories/other/content/read"),
        "{message}"
    );
    assert!(
        message.contains(&format!("{}/tokens/ci-token", w.reg.id())),
        "{message}"
    );
    assert_eq!(
        f["fix"].as_str().unwrap().lines().last().unwrap(),
        "az acr scope-map update -n ci-map -r myreg --add-repository team/ctx content/read"
    );
    assert!(!r.raw.contains(ADMIN_PASSWORD));
    let requests = w.az.arm.requests();
    assert!(
        requests
            .iter()
            .any(|q| q.path.ends_with("/scopeMaps/ci-map") && q.status == 200),
        "{requests:?}"
    );

    // A wildcard that covers the repository grants it.
    let w = world_with(false, |r| r);
    w.az.arm.assign(OBJECT_ID, Role::Reader, &w.reg.id());
    w.az.arm
        .add_scope_map(&w.reg.id(), "ci-map", &["repositories/team/*/content/read"]);
    w.az.arm.add_token(&w.reg.id(), "ci-token", "ci-map");
    let r = run_config(&w, true, &[], &args, Some(&config));
    assert_absent(&r, "CRED_TOKEN_SCOPE_MISSING");
    assert_verified(
        &r,
        "identity",
        "the docker credential is the token `ci-token`; its scope map ci-map grants",
    );
    // A username that names no token (a service principal's client id) is left alone.
    let config = docker_config(&w.host, CLIENT_ID, ADMIN_PASSWORD);
    let r = run_config(&w, true, &[], &args, Some(&config));
    assert_absent(&r, "CRED_TOKEN_SCOPE_MISSING");
    assert!(
        !r.verified("identity").contains("is the token"),
        "{:#}",
        r.json
    );
}

/// A registry whose firewall refuses the runner (403 before authentication, every
/// path), with `registry` as ARM describes it; the run's NET_FORBIDDEN finding.
fn firewalled(adjust: impl FnOnce(Registry) -> Registry) -> (crate::identity::World, Value) {
    let w = readable_world(adjust);
    w.az.route(&w.host, |_| {
        crate::support::http::Reply::Respond(
            crate::support::http::Response::new(403)
                .header("Content-Type", "application/json")
                .body(crate::support::servers::FIREWALL_BODY),
        )
    });
    let args = [&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat();
    let r = run_config(&w, true, &[], &args, Some("{}"));
    assert_eq!(r.status, 1, "{:#}", r.json);
    // The exchange is refused by the same network rules: no second, wrong diagnosis.
    assert_absent(&r, "CRED_REJECTED");
    let f = r.only("NET_FORBIDDEN");
    (w, f)
}

/// P45/P47: the 403 is interpreted with ARM's network properties, which the message
/// cites with the call that read them.
#[test]
fn a_firewall_403_is_explained_by_the_network_properties_arm_shows() {
    let (w, f) = firewalled(|r| r.firewall(&["198.51.100.0/24"]));
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "ARM (GET {}) shows publicNetworkAccess Enabled, networkRuleSet.defaultAction Deny, ipRules 198.51.100.0/24",
            w.reg.id()
        )),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("deny by default and allow only 198.51.100.0/24"),
        "{fix}"
    );
    assert!(
        fix.contains("az acr network-rule add --name myreg --ip-address "),
        "{fix}"
    );

    let (_, f) = firewalled(|r| r.public_network_access(false));
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("publicNetworkAccess Disabled"),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.starts_with("Public network access is disabled"),
        "{fix}"
    );
    assert!(
        fix.contains("az acr update --name myreg --public-network-enabled true"),
        "{fix}"
    );
    assert!(!fix.contains("network-rule add"), "{fix}");
}

/// The registry behind `w.host` refuses the identity's token exchange (401, as when
/// Entra authentication is refused), so the build presents the docker config's
/// credential to the real registry's token server, which refuses it.
fn exchange_refused(w: &crate::identity::World) {
    let (ts, registry) = (w._ts.addr(), w._registry.addr());
    w.az.route(&w.host, move |req| {
        use crate::support::http::{Reply, Response};
        if req.path.starts_with("/oauth2/exchange") {
            Reply::Respond(
                Response::new(401)
                    .header("Content-Type", "application/json")
                    .body(r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#),
            )
        } else if req.path.starts_with("/oauth2/") {
            Reply::Proxy(ts)
        } else {
            Reply::Proxy(registry)
        }
    });
}

/// P22/P24 on the real registry: a refused admin user whose account is enabled gets the
/// regenerated-password fix, and on an anonymous-pull registry the logout; a refused
/// admin user whose account is disabled is CRED_ADMIN_DISABLED alone.
#[test]
fn the_registry_refusing_the_admin_user_is_explained_by_arm() {
    let w = readable_world(|r| r.admin_user(true).anonymous_pull(true));
    exchange_refused(&w);
    let args = [&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat();
    let config = docker_config(&w.host, "myreg", ADMIN_PASSWORD);
    let r = run_config(&w, true, &[], &args, Some(&config));
    assert_eq!(r.status, 1, "{:#}", r.json);
    let rejected: Vec<&Value> = r.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "CRED_REJECTED" && f["check"] == "registry")
        .collect();
    assert_eq!(rejected.len(), 1, "{:#}", r.json);
    let fix = rejected[0]["fix"].as_str().unwrap();
    assert!(fix.contains("most likely regenerated"), "{fix}");
    assert!(fix.contains("az acr credential show -n myreg"), "{fix}");
    assert!(fix.contains("docker logout myreg.azurecr.io"), "{fix}");
    assert!(!r.raw.contains(ADMIN_PASSWORD));

    let w = readable_world(|r| r);
    exchange_refused(&w);
    let r = run_config(&w, true, &[], &args, Some(&config));
    assert_eq!(r.only("CRED_ADMIN_DISABLED")["severity"], "error");
    assert!(
        !r.json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["code"] == "CRED_REJECTED" && f["check"] == "registry"),
        "{:#}",
        r.json
    );
    assert_verified(
        &r,
        "registry",
        "refused the admin user `myreg`, which ARM says is disabled",
    );
}

/// P24 on the real registry: when the build presents the token itself (no Azure token
/// for the host), the registry proves the missing right, and its fix names the scope
/// map instead of a role assignment; no second finding from ARM.
#[test]
fn a_token_refused_by_the_registry_gets_the_scope_map_fix() {
    let w = readable_world(|r| r);
    w.az.arm.assign(OBJECT_ID, Role::Reader, &w.reg.id());
    w.az.arm
        .add_scope_map(&w.reg.id(), "ci-map", &["repositories/other/content/read"]);
    w.az.arm.add_token(&w.reg.id(), "ci-token", "ci-map");
    w._ts.add_user("ci-token", ADMIN_PASSWORD);
    w._ts.grant("ci-token", "other", &["pull"]);
    exchange_refused(&w);
    let args = [&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat();
    let config = docker_config(&w.host, "ci-token", ADMIN_PASSWORD);
    let r = run_config(&w, true, &[], &args, Some(&config));
    assert_eq!(r.status, 1, "{:#}", r.json);
    assert_absent(&r, "CRED_TOKEN_SCOPE_MISSING");
    let f = r.only("ROLE_PULL_MISSING");
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.ends_with(
            "az acr scope-map update -n ci-map -r myreg --add-repository team/ctx content/read"
        ),
        "{fix}"
    );
    assert!(!fix.contains("az role assignment"), "{fix}");
    assert_verified(
        &r,
        "identity",
        "the docker credential is the token `ci-token`, bound to the scope map ci-map",
    );
    assert!(!r.raw.contains(ADMIN_PASSWORD));
}

/// P49: a registry that throttles every request, on the tier ARM names; the run's
/// REGISTRY_THROTTLED finding.
fn throttled(sku: Sku) -> Value {
    let w = readable_world(|r| r.sku(sku));
    w.az.route(&w.host, |_| {
        crate::support::http::Reply::Respond(
            crate::support::http::Response::registry_error(
                429,
                "TOOMANYREQUESTS",
                "Too many requests. Please visit https://aka.ms/acr/skus#sku-feature-matrix to view limits of all service tiers.",
            )
            .header("Retry-After", "1"),
        )
    });
    let args = [&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat();
    let r = run_config(&w, true, &[], &args, Some("{}"));
    assert_eq!(r.status, 1, "{:#}", r.json);
    assert_no_secret_leaks(&w, &r);
    r.only("REGISTRY_THROTTLED")
}

#[test]
fn a_throttled_registry_is_named_with_its_tier_and_the_upgrade_when_there_is_one() {
    let f = throttled(Sku::Basic);
    assert_eq!(f["severity"], "error");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("ARM says the registry is on the `Basic` tier"),
        "{message}"
    );
    assert_eq!(
        f["fix"],
        "Spread concurrent jobs (each job of a matrix pulls and pushes at the same time), or move myreg from Basic to Premium, the tier with the highest request limits (no downtime): az acr update -n myreg --sku Premium"
    );
    // Premium has no larger tier: no upgrade command.
    let f = throttled(Sku::Premium);
    let fix = f["fix"].as_str().unwrap();
    assert!(fix.starts_with("myreg is already on Premium"), "{fix}");
    assert!(!fix.contains("az acr update"), "{fix}");
}
