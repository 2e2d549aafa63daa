//! Proves the Azure fakes in `tests/it/support/azure*` the way production will use them:
//! reqwest over HTTPS to the real host names (`ClientBuilder::resolve` + the fakes' CA),
//! the documented request and error shapes of Entra's v2.0 token endpoint, GitHub's
//! ID-token endpoint and ARM, and the road from an Entra token through ACR's
//! `/oauth2/exchange` and `/oauth2/token` to the `access` claim, in RBAC and ABAC mode,
//! ending at the real registry behind `https://myreg.azurecr.io`. Offline, loopback only.

use crate::support;

use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use support::azure::arm::{ACTION_PULL, DATA_CONTENT_READ};
use support::azure::entra::ENTRA_KID;
use support::azure::{
    ACR_AUDIENCE, AadError, AcrBridge, App, AzureFakes, Cloud, FederatedCredential, GITHUB_ISSUER,
    GitHubClaims, JWT_BEARER, Registry, Role, TokenGrant, fronted_registry_kind,
};
use support::fixtures::{ACCEPT_MANIFESTS, Publisher};
use support::http::form_encode;
use support::registry::TestRegistry;
use support::token::{TokenServer, decode_claims, decode_header};

const TENANT: &str = "3f1b9e1c-5a1e-4c8e-9d7a-0c6b1d2e3f40";
const CHINA_TENANT: &str = "9a8b7c6d-1111-4222-8333-444455556666";
const OTHER_TENANT: &str = "5e5e5e5e-2222-4333-8444-555566667777";
const CLIENT: &str = "11111111-2222-4333-8444-555555555555";
const OID: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
/// An app with federated credentials only.
const FED_CLIENT: &str = "22222222-3333-4444-8555-666666666666";
const FED_OID: &str = "bbbbbbbb-cccc-4ddd-8eee-ffffffffffff";
/// An app with neither secret nor federated credential.
const BARE_CLIENT: &str = "33333333-4444-4555-8666-777777777777";
/// A user-assigned managed identity.
const MI_CLIENT: &str = "55555555-6666-4777-8888-999999999999";
const MI_OID: &str = "eeeeeeee-ffff-4000-8111-222222222222";
const OTHER_CLIENT: &str = "44444444-5555-4666-8777-888888888888";
const OTHER_OID: &str = "cccccccc-dddd-4eee-8fff-000000000000";
const SUB: &str = "00000000-1111-4222-8333-444444444444";
const SECRET: &str = "harness-secret-value-not-real";
const OLD_SECRET: &str = "harness-expired-secret-not-real";
const SUBJECT: &str = "repo:octo/app:ref:refs/heads/main";
const HOST: &str = "myreg.azurecr.io";

const ARM_SCOPE: &str = "https://management.azure.com/.default";
const ACR_SCOPE: &str = "https://containerregistry.azure.net/.default";

/// Tenant, three apps, a subscription and two registries (RBAC `myreg`, ABAC
/// `abacreg` with a domain-name-label login server).
fn fakes() -> AzureFakes {
    let az = AzureFakes::start();
    az.entra.add_tenant(TENANT, Cloud::Public);
    az.entra
        .add_tenant_domain(TENANT, "contoso.onmicrosoft.com");
    az.entra.add_tenant(CHINA_TENANT, Cloud::China);
    az.entra.add_tenant(OTHER_TENANT, Cloud::Public);
    az.entra.add_app(
        App::new(TENANT, CLIENT, OID)
            .named("ci-app")
            .secret(OLD_SECRET, -86_400)
            .secret(SECRET, 86_400),
    );
    az.entra.add_app(
        App::new(TENANT, FED_CLIENT, FED_OID)
            .federated(FederatedCredential::github(SUBJECT))
            .federated(FederatedCredential::github(
                "repo:octo/app:environment:Production",
            )),
    );
    az.entra.add_app(App::new(
        TENANT,
        BARE_CLIENT,
        "dddddddd-0000-4000-8000-000000000000",
    ));
    az.entra
        .add_app(App::new(CHINA_TENANT, CLIENT, OID).secret(SECRET, 86_400));
    az.entra
        .add_app(App::new(OTHER_TENANT, OTHER_CLIENT, OTHER_OID).secret(SECRET, 86_400));
    az.arm.add_subscription(SUB, TENANT);
    az.arm.add_registry(Registry::new(SUB, "rg-ci", "myreg"));
    az.arm.add_registry(
        Registry::new(SUB, "rg-ci", "abacreg")
            .abac()
            .login_server("abacreg-e7ggejfuhzhgedc8.azurecr.io")
            .firewall(&["203.0.113.0/24"])
            .arm_audience_tokens(false),
    );
    az
}

fn myreg_id() -> String {
    Registry::new(SUB, "rg-ci", "myreg").id()
}

fn abacreg_id() -> String {
    Registry::new(SUB, "rg-ci", "abacreg").id()
}

/// POSTs a form to `https://{host}{path}`; returns status, headers and JSON body.
async fn post_form(
    client: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
    extra_header: Option<(&str, &str)>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = client
        .post(url)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form_encode(form));
    if let Some((k, v)) = extra_header {
        req = req.header(k, v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

async fn entra_token(
    client: &reqwest::Client,
    tenant: &str,
    form: &[(&str, &str)],
) -> (u16, Value) {
    let url = format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token");
    let (status, _, body) = post_form(client, &url, form, None).await;
    (status, body)
}

fn secret_form<'a>(client_id: &'a str, secret: &'a str, scope: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("scope", scope),
        ("client_secret", secret),
    ]
}

fn assertion_form<'a>(
    client_id: &'a str,
    assertion: &'a str,
    scope: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", client_id),
        ("scope", scope),
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ]
}

/// Asserts the documented Entra error body (Microsoft identity platform, OAuth 2.0 client credentials flow) with this code.
fn assert_aadsts(status: u16, body: &Value, want_status: u16, error: &str, code: u64) -> String {
    assert_eq!(status, want_status, "{body:#}");
    assert_eq!(body["error"], error, "{body:#}");
    assert_eq!(body["error_codes"], serde_json::json!([code]), "{body:#}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{description}"
    );
    let trace = body["trace_id"].as_str().unwrap();
    let correlation = body["correlation_id"].as_str().unwrap();
    let timestamp = body["timestamp"].as_str().unwrap();
    assert_eq!(trace.len(), 36, "{trace}");
    assert_eq!(correlation.len(), 36, "{correlation}");
    // 2026-08-20 10:30:48Z
    assert_eq!(timestamp.len(), 20, "{timestamp}");
    assert_eq!(&timestamp[10..11], " ");
    assert!(timestamp.ends_with('Z'));
    assert!(
        description.ends_with(&format!(
            "\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {timestamp}"
        )),
        "{description:?}"
    );
    assert_eq!(
        body["error_uri"],
        format!("https://login.microsoftonline.com/error?code={code}")
    );
    description.to_string()
}

fn now() -> i64 {
    support::now_unix()
}

// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn https_listener_serves_the_real_host_names_with_the_fakes_ca_only() {
    let az = fakes();
    let client = az.client(&[HOST]);

    // Discovery document on the public authority, by tenant GUID and by domain.
    for tenant in [TENANT, "contoso.onmicrosoft.com"] {
        let r = client
            .get(format!(
                "https://login.microsoftonline.com/{tenant}/v2.0/.well-known/openid-configuration"
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        let doc: Value = r.json().await.unwrap();
        assert_eq!(
            doc["token_endpoint"],
            format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token")
        );
    }
    // A host nobody routed: 404 naming it. The wildcard certificate covers it.
    let r = client
        .get(format!("https://{HOST}/v2/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains(HOST));

    // SNI and Host are both recorded.
    let raw = az.raw_requests();
    assert!(
        raw.iter()
            .any(|r| r.sni.as_deref() == Some("login.microsoftonline.com")
                && r.host() == "login.microsoftonline.com")
    );

    // Without the CA: the handshake fails, and the fake counts it.
    let stranger = reqwest::Client::builder()
        .no_proxy()
        .resolve("login.microsoftonline.com", az.addr())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let err = stranger
        .get(format!(
            "https://login.microsoftonline.com/{TENANT}/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .expect_err("unknown CA");
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        chain.push_str(&format!(" <- {s}"));
        source = s.source();
    }
    assert!(chain.contains("UnknownIssuer"), "{chain}");
    // The server notices the failed handshake a moment after the client gives up.
    for _ in 0..200 {
        if az.handshake_failures() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(az.handshake_failures(), 1);

    // --resolve values for the binary.
    let specs = az.resolve_specs(&[HOST]);
    assert_eq!(
        specs,
        [
            format!("login.microsoftonline.com={}", az.addr()),
            format!("management.azure.com={}", az.addr()),
            format!("graph.microsoft.com={}", az.addr()),
            format!("{HOST}={}", az.addr()),
        ]
    );
    assert_eq!(az.resolve_args(&[])[0], "--resolve");
    assert!(az.ca_pem_path().exists());
}

#[tokio::test]
async fn entra_client_secret_issues_v1_tokens_and_documented_errors() {
    let az = fakes();
    let client = az.client(&[]);

    // Success, ARM audience.
    let (status, body) =
        entra_token(&client, TENANT, &secret_form(CLIENT, SECRET, ARM_SCOPE)).await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap();
    let header = decode_header(token);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], ENTRA_KID);
    assert_eq!(token.split('.').nth(2).unwrap().len(), 342); // 256 bytes, base64url
    let claims = decode_claims(token);
    assert_eq!(claims["aud"], "https://management.azure.com/");
    assert_eq!(claims["iss"], format!("https://sts.windows.net/{TENANT}/"));
    assert_eq!(claims["tid"], TENANT);
    assert_eq!(claims["oid"], OID);
    assert_eq!(claims["sub"], OID);
    assert_eq!(claims["appid"], CLIENT);
    assert_eq!(claims["appidacr"], "1");
    assert_eq!(claims["idtyp"], "app");
    assert_eq!(claims["ver"], "1.0");
    let exp = claims["exp"].as_i64().unwrap();
    assert!((exp - now() - 3599).abs() <= 2, "exp {exp}");
    assert!(claims["nbf"].as_i64().unwrap() <= now());
    assert!(az.entra.is_issued(token));

    // ACR audience; the legacy double-slash ARM form too; the domain names the tenant.
    let (_, body) = entra_token(&client, TENANT, &secret_form(CLIENT, SECRET, ACR_SCOPE)).await;
    assert_eq!(
        decode_claims(body["access_token"].as_str().unwrap())["aud"],
        ACR_AUDIENCE
    );
    let (status, body) = entra_token(
        &client,
        "contoso.onmicrosoft.com",
        &secret_form(CLIENT, SECRET, "https://management.azure.com//.default"),
    )
    .await;
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(
        decode_claims(body["access_token"].as_str().unwrap())["aud"],
        "https://management.azure.com/"
    );

    // Each error, its status, `error` and code.
    let (s, b) = entra_token(
        &client,
        "0badbad0-0000-4000-8000-000000000000",
        &secret_form(CLIENT, SECRET, ARM_SCOPE),
    )
    .await;
    let d = assert_aadsts(s, &b, 400, "invalid_request", 90002);
    assert!(
        d.contains("Tenant '0badbad0-0000-4000-8000-000000000000' not found"),
        "{d}"
    );

    let (s, b) = entra_token(
        &client,
        CHINA_TENANT,
        &secret_form(CLIENT, SECRET, ARM_SCOPE),
    )
    .await;
    let d = assert_aadsts(s, &b, 400, "invalid_request", 90038);
    assert!(d.contains("login.chinacloudapi.cn"), "{d}");

    let (s, b) = entra_token(
        &client,
        TENANT,
        &secret_form("99999999-9999-4999-8999-999999999999", SECRET, ARM_SCOPE),
    )
    .await;
    let d = assert_aadsts(s, &b, 400, "unauthorized_client", 700016);
    assert!(
        d.contains("'99999999-9999-4999-8999-999999999999'") && d.contains(TENANT),
        "{d}"
    );

    let (s, b) = entra_token(
        &client,
        TENANT,
        &secret_form(CLIENT, "wrong-secret", ARM_SCOPE),
    )
    .await;
    assert_aadsts(s, &b, 401, "invalid_client", 7000215);

    let (s, b) = entra_token(&client, TENANT, &secret_form(CLIENT, OLD_SECRET, ARM_SCOPE)).await;
    let d = assert_aadsts(s, &b, 401, "invalid_client", 7000222);
    assert!(d.contains(CLIENT), "{d}");

    let (s, b) = entra_token(
        &client,
        TENANT,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT),
            ("scope", ARM_SCOPE),
        ],
    )
    .await;
    assert_aadsts(s, &b, 401, "invalid_client", 7000218);

    let (s, b) = entra_token(
        &client,
        TENANT,
        &[
            ("client_id", CLIENT),
            ("scope", ARM_SCOPE),
            ("client_secret", SECRET),
        ],
    )
    .await;
    let d = assert_aadsts(s, &b, 400, "invalid_request", 900144);
    assert!(d.contains("'grant_type'"), "{d}");

    let (s, b) = entra_token(
        &client,
        TENANT,
        &secret_form(
            CLIENT,
            SECRET,
            "https://management.azure.com/user_impersonation",
        ),
    )
    .await;
    assert_aadsts(s, &b, 400, "invalid_scope", 1002012);

    let (s, b) = entra_token(
        &client,
        TENANT,
        &secret_form(CLIENT, SECRET, "https://vault.azure.net/.default"),
    )
    .await;
    let d = assert_aadsts(s, &b, 400, "invalid_resource", 500011);
    assert!(d.contains("https://vault.azure.net"), "{d}");

    // The correlation id echoes client-request-id.
    let url = format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token");
    let (s, headers, b) = post_form(
        &client,
        &url,
        &secret_form(CLIENT, "wrong-secret", ARM_SCOPE),
        Some(("client-request-id", "12345678-aaaa-4bbb-8ccc-1234567890ab")),
    )
    .await;
    assert_aadsts(s, &b, 401, "invalid_client", 7000215);
    assert_eq!(b["correlation_id"], "12345678-aaaa-4bbb-8ccc-1234567890ab");
    assert_eq!(headers["x-ms-request-id"], b["trace_id"].as_str().unwrap());

    // The China tenant works on its own cloud's authority, with its issuer.
    let (s, _, b) = post_form(
        &client,
        &format!("https://login.chinacloudapi.cn/{CHINA_TENANT}/oauth2/v2.0/token"),
        &secret_form(
            CLIENT,
            SECRET,
            "https://management.chinacloudapi.cn/.default",
        ),
        None,
    )
    .await;
    assert_eq!(s, 200, "{b:#}");
    let c = decode_claims(b["access_token"].as_str().unwrap());
    assert_eq!(
        c["iss"],
        format!("https://sts.chinacloudapi.cn/{CHINA_TENANT}/")
    );
    assert_eq!(c["aud"], "https://management.chinacloudapi.cn/");

    // Injected failures: Conditional Access once, then normal service.
    az.entra.fail_next(
        Some(1),
        AadError::new(
            400,
            "invalid_grant",
            53003,
            "Access has been blocked by Conditional Access policies.",
        ),
    );
    let (s, b) = entra_token(&client, TENANT, &secret_form(CLIENT, SECRET, ARM_SCOPE)).await;
    assert_aadsts(s, &b, 400, "invalid_grant", 53003);
    let (s, _) = entra_token(&client, TENANT, &secret_form(CLIENT, SECRET, ARM_SCOPE)).await;
    assert_eq!(s, 200);

    // The log records grant, scope, resource and client id, and no secret.
    let log = az.entra.requests();
    let first = &log[0];
    assert_eq!(first.credential.as_deref(), Some("client_secret"));
    assert_eq!(first.client_id.as_deref(), Some(CLIENT));
    assert_eq!(first.scope.as_deref(), Some(ARM_SCOPE));
    assert_eq!(
        first.resource.as_deref(),
        Some("https://management.azure.com")
    );
    assert_eq!(first.grant_type.as_deref(), Some("client_credentials"));
    assert_eq!(first.status, 200);
    assert_eq!(
        first.form_fields,
        ["grant_type", "client_id", "scope", "client_secret"]
    );
    let codes: Vec<Option<u32>> = log.iter().map(|r| r.aadsts).collect();
    assert!(codes.contains(&Some(7000222)) && codes.contains(&Some(53003)));
    let dump = format!("{log:?}");
    for secret in [SECRET, OLD_SECRET, "wrong-secret"] {
        assert!(!dump.contains(secret), "secret in the request log");
    }
    let sensitive = az.sensitive_values();
    assert!(sensitive.iter().any(|s| s == SECRET));
    assert!(sensitive.iter().any(|s| s == token));
}

#[tokio::test]
async fn entra_client_assertion_matches_federated_credentials_exactly() {
    let az = fakes();
    let client = az.client(&[]);
    let aud = Cloud::Public.fic_audience();
    let gh = &az.github;

    // Success: GitHub token for a push to main.
    gh.set_claims(GitHubClaims::branch("octo/app", "main"));
    let assertion = gh.mint(aud);
    let (s, b) = entra_token(
        &client,
        TENANT,
        &assertion_form(FED_CLIENT, &assertion, ACR_SCOPE),
    )
    .await;
    assert_eq!(s, 200, "{b:#}");
    let c = decode_claims(b["access_token"].as_str().unwrap());
    assert_eq!(
        (c["oid"].as_str(), c["appidacr"].as_str()),
        (Some(FED_OID), Some("2"))
    );
    assert_eq!(c["aud"], ACR_AUDIENCE);
    assert_eq!(
        az.entra.issued().last().unwrap().grant,
        TokenGrant::ClientAssertion
    );
    // The environment credential matches too.
    gh.set_claims(GitHubClaims::branch("octo/app", "main").with_environment("Production"));
    let (s, _) = entra_token(
        &client,
        TENANT,
        &assertion_form(FED_CLIENT, &gh.mint(aud), ARM_SCOPE),
    )
    .await;
    assert_eq!(s, 200);

    let cases: Vec<(&str, GitHubClaims, &str, u64, &str)> = vec![
        (
            "issuer with a trailing slash",
            GitHubClaims::branch("octo/app", "main").with_issuer(&format!("{GITHUB_ISSUER}/")),
            aud,
            700211,
            "presented assertion issuer 'https://token.actions.githubusercontent.com/'",
        ),
        (
            "another branch",
            GitHubClaims::branch("octo/app", "dev"),
            aud,
            700213,
            "presented assertion subject 'repo:octo/app:ref:refs/heads/dev'",
        ),
        (
            "a pull request",
            GitHubClaims::pull_request("octo/app", 7),
            aud,
            700213,
            "subject 'repo:octo/app:pull_request'",
        ),
        (
            "environment in another case",
            GitHubClaims::branch("octo/app", "main").with_environment("production"),
            aud,
            7002138,
            "subject 'repo:octo/app:environment:production'",
        ),
        (
            "repository in another case",
            GitHubClaims::branch("Octo/App", "main"),
            aud,
            7002138,
            "case-sensitive",
        ),
        (
            "ID-based subject against a name-based credential",
            GitHubClaims::branch("octo/app", "main").immutable("900001", "800001"),
            aud,
            700213,
            "subject 'repo:octo@900001/app@800001:ref:refs/heads/main'",
        ),
        (
            "wrong audience",
            GitHubClaims::branch("octo/app", "main"),
            "api://AzureADTokenExchangeUSGov",
            70021,
            "Assertion Issuer: 'https://token.actions.githubusercontent.com'. Assertion Subject: 'repo:octo/app:ref:refs/heads/main'. Assertion Audience: 'api://AzureADTokenExchangeUSGov'.",
        ),
    ];
    for (label, claims, audience, code, needle) in cases {
        gh.set_claims(claims);
        let (s, b) = entra_token(
            &client,
            TENANT,
            &assertion_form(FED_CLIENT, &gh.mint(audience), ARM_SCOPE),
        )
        .await;
        let d = assert_aadsts(s, &b, 401, "invalid_client", code);
        assert!(d.contains(needle), "{label}: {d}");
    }

    // An app without any federated credential: 70021.
    gh.set_claims(GitHubClaims::branch("octo/app", "main"));
    let (s, b) = entra_token(
        &client,
        TENANT,
        &assertion_form(BARE_CLIENT, &gh.mint(aud), ARM_SCOPE),
    )
    .await;
    assert_aadsts(s, &b, 401, "invalid_client", 70021);

    // An expired GitHub token (a long job reusing it): 700024 with the times.
    gh.set_issued_offset(-900);
    let stale = gh.mint(aud);
    gh.set_issued_offset(0);
    let (s, b) = entra_token(
        &client,
        TENANT,
        &assertion_form(FED_CLIENT, &stale, ARM_SCOPE),
    )
    .await;
    let d = assert_aadsts(s, &b, 401, "invalid_client", 700024);
    assert!(
        d.contains("Current time: ") && d.contains(".0000000Z, assertion valid from "),
        "{d}"
    );
    // Not yet valid: also 700024.
    gh.set_issued_offset(600);
    let early = gh.mint(aud);
    gh.set_issued_offset(0);
    let (s, b) = entra_token(
        &client,
        TENANT,
        &assertion_form(FED_CLIENT, &early, ARM_SCOPE),
    )
    .await;
    assert_aadsts(s, &b, 401, "invalid_client", 700024);

    // Not a JWT; missing assertion type.
    let (s, b) = entra_token(
        &client,
        TENANT,
        &assertion_form(FED_CLIENT, "not-a-jwt", ARM_SCOPE),
    )
    .await;
    assert_aadsts(s, &b, 400, "invalid_request", 50027);
    let good = gh.mint(aud);
    let (s, b) = entra_token(
        &client,
        TENANT,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", FED_CLIENT),
            ("scope", ARM_SCOPE),
            ("client_assertion", &good),
        ],
    )
    .await;
    let d = assert_aadsts(s, &b, 400, "invalid_request", 900144);
    assert!(d.contains("'client_assertion_type'"), "{d}");

    // Replication delay: 70021 twice, then the credential works.
    az.entra.fail_next(
        Some(2),
        AadError::new(
            401,
            "invalid_client",
            70021,
            "No matching federated identity record found for presented assertion.",
        ),
    );
    for _ in 0..2 {
        let (s, b) = entra_token(
            &client,
            TENANT,
            &assertion_form(FED_CLIENT, &good, ARM_SCOPE),
        )
        .await;
        assert_aadsts(s, &b, 401, "invalid_client", 70021);
    }
    let (s, _) = entra_token(
        &client,
        TENANT,
        &assertion_form(FED_CLIENT, &good, ARM_SCOPE),
    )
    .await;
    assert_eq!(s, 200);

    // A credential added at run time is honoured at once.
    az.entra.update_app(FED_CLIENT, |app| {
        app.federated
            .push(FederatedCredential::github("repo:octo/app:pull_request"));
    });
    gh.set_claims(GitHubClaims::pull_request("octo/app", 7));
    let (s, _) = entra_token(
        &client,
        TENANT,
        &assertion_form(FED_CLIENT, &gh.mint(aud), ARM_SCOPE),
    )
    .await;
    assert_eq!(s, 200);

    // A user-assigned managed identity with a federated credential: `xms_mirid` in its
    // tokens; it has no secrets, so any secret is invalid.
    let mirid = format!(
        "/subscriptions/{SUB}/resourcegroups/rg-ci/providers/Microsoft.ManagedIdentity/userAssignedIdentities/ci-uami"
    );
    az.entra.add_app(
        App::managed_identity(TENANT, MI_CLIENT, MI_OID, &mirid)
            .federated(FederatedCredential::github(SUBJECT)),
    );
    gh.set_claims(GitHubClaims::branch("octo/app", "main"));
    let (s, b) = entra_token(
        &client,
        TENANT,
        &assertion_form(MI_CLIENT, &gh.mint(aud), ACR_SCOPE),
    )
    .await;
    assert_eq!(s, 200, "{b:#}");
    let c = decode_claims(b["access_token"].as_str().unwrap());
    assert_eq!(
        (c["oid"].as_str(), c["xms_mirid"].as_str()),
        (Some(MI_OID), Some(mirid.as_str()))
    );
    let (s, b) = entra_token(&client, TENANT, &secret_form(MI_CLIENT, SECRET, ACR_SCOPE)).await;
    assert_aadsts(s, &b, 401, "invalid_client", 7000215);

    // The log summarises assertions by iss/sub/aud; the raw assertion is not in it.
    let log = az.entra.requests();
    let rec = log.iter().find(|r| r.aadsts == Some(700211)).unwrap();
    assert_eq!(rec.credential.as_deref(), Some("client_assertion"));
    assert_eq!(
        rec.assertion_iss.as_deref(),
        Some("https://token.actions.githubusercontent.com/")
    );
    assert_eq!(rec.assertion_sub.as_deref(), Some(SUBJECT));
    assert_eq!(rec.assertion_aud, Some(Value::String(aud.to_string())));
    assert!(!format!("{log:?}").contains(&good));
    assert!(az.sensitive_values().contains(&good));
}

#[tokio::test]
async fn github_oidc_endpoint_serves_the_jobs_id_token() {
    let az = fakes();
    let gh = &az.github;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let env = gh.env();
    assert_eq!(env[0].0, "ACTIONS_ID_TOKEN_REQUEST_URL");
    assert!(env[0].1.starts_with("http://127.0.0.1:") && env[0].1.contains('?'));
    assert_eq!(
        env[1],
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_string(),
            gh.request_token()
        )
    );

    gh.set_claims(
        GitHubClaims::branch("octo/app", "main")
            .with_environment("Production")
            .with_claim("repository_visibility", Value::String("public".into())),
    );
    // As the toolkit does: the URL plus `&audience=` (URL-encoded).
    let url = format!(
        "{}&audience=api%3A%2F%2FAzureADTokenExchange",
        gh.request_url()
    );
    let r = client
        .get(&url)
        .bearer_auth(gh.request_token())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let jwt = body["value"].as_str().unwrap();
    assert_eq!(decode_header(jwt)["alg"], "RS256");
    let c = decode_claims(jwt);
    assert_eq!(c["iss"], GITHUB_ISSUER);
    assert_eq!(c["aud"], "api://AzureADTokenExchange");
    assert_eq!(c["sub"], "repo:octo/app:environment:Production");
    assert_eq!(c["environment"], "Production");
    assert_eq!(c["repository"], "octo/app");
    assert_eq!(c["repository_owner"], "octo");
    assert_eq!(c["ref"], "refs/heads/main");
    assert_eq!(
        c["job_workflow_ref"],
        "octo/app/.github/workflows/build.yml@refs/heads/main"
    );
    assert_eq!(c["repository_visibility"], "public");
    let (iat, nbf, exp) = (
        c["iat"].as_i64().unwrap(),
        c["nbf"].as_i64().unwrap(),
        c["exp"].as_i64().unwrap(),
    );
    assert_eq!((nbf, exp - iat), (iat, 300));
    assert!((iat - now()).abs() <= 2);

    // No audience: the owner URL.
    let r = client
        .get(gh.request_url())
        .bearer_auth(gh.request_token())
        .send()
        .await
        .unwrap();
    let c = decode_claims(r.json::<Value>().await.unwrap()["value"].as_str().unwrap());
    assert_eq!(c["aud"], "https://github.com/octo");

    // Subject formats (GitHub docs, OpenID Connect reference).
    for (claims, sub) in [
        (
            GitHubClaims::branch("octo/app", "main"),
            "repo:octo/app:ref:refs/heads/main",
        ),
        (
            GitHubClaims::tag("octo/app", "v1.2"),
            "repo:octo/app:ref:refs/tags/v1.2",
        ),
        (
            GitHubClaims::pull_request("octo/app", 3),
            "repo:octo/app:pull_request",
        ),
        (
            GitHubClaims::pull_request("octo/app", 3).with_environment("ci"),
            "repo:octo/app:environment:ci",
        ),
        (
            GitHubClaims::branch("octo/app", "main").immutable("11", "22"),
            "repo:octo@11/app@22:ref:refs/heads/main",
        ),
        (
            GitHubClaims::branch("octo/app", "a:b"),
            "repo:octo/app:ref:refs/heads/a%3Ab",
        ),
        (
            GitHubClaims::branch("octo/app", "main").with_subject("repo:octo/app:workflow:build"),
            "repo:octo/app:workflow:build",
        ),
    ] {
        assert_eq!(claims.subject(), sub);
    }

    // Wrong or missing bearer: 401, nothing issued.
    let before = gh.issued().len();
    let r = client
        .get(&url)
        .bearer_auth("not-the-request-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(gh.issued().len(), before);

    let log = gh.requests();
    assert_eq!(log.len(), 4);
    assert_eq!(
        log[0].audience.as_deref(),
        Some("api://AzureADTokenExchange")
    );
    assert!(log[0].authorized && !log[2].authorized);
    assert_eq!(log[1].audience, None);
    assert!(az.sensitive_values().contains(&gh.request_token()));
}

#[tokio::test]
async fn arm_lists_registries_and_permissions_per_role_table() {
    let az = fakes();
    let client = az.client(&[]);
    let arm_token = |client_id: &str| {
        az.entra
            .mint_access_token(client_id, "https://management.azure.com/")
    };
    let list_url = format!(
        "https://management.azure.com/subscriptions/{SUB}/providers/Microsoft.ContainerRegistry/registries?api-version=2025-11-01"
    );
    let get = |url: String, token: Option<String>| {
        let client = client.clone();
        async move {
            let mut req = client.get(url);
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap())
        }
    };

    // Reader at the subscription sees both registries, in the documented shape.
    az.arm
        .assign(OID, Role::Reader, &format!("/subscriptions/{SUB}"));
    let (s, b) = get(list_url.clone(), Some(arm_token(CLIENT))).await;
    assert_eq!(s, 200, "{b:#}");
    assert!(b.get("nextLink").is_none());
    let regs = b["value"].as_array().unwrap();
    assert_eq!(regs.len(), 2);
    let myreg = &regs[0];
    assert_eq!(myreg["id"], myreg_id());
    assert_eq!(myreg["name"], "myreg");
    assert_eq!(myreg["type"], "Microsoft.ContainerRegistry/registries");
    assert_eq!(
        myreg["sku"],
        serde_json::json!({"name": "Standard", "tier": "Standard"})
    );
    let p = &myreg["properties"];
    assert_eq!(p["loginServer"], HOST);
    assert_eq!(p["roleAssignmentMode"], "LegacyRegistryPermissions");
    assert_eq!(p["adminUserEnabled"], false);
    assert_eq!(p["publicNetworkAccess"], "Enabled");
    assert_eq!(p["networkRuleSet"]["defaultAction"], "Allow");
    assert_eq!(p["anonymousPullEnabled"], false);
    assert_eq!(p["networkRuleBypassAllowedForTasks"], false);
    assert_eq!(
        p["policies"]["azureADAuthenticationAsArmPolicy"]["status"],
        "enabled"
    );
    let p = &regs[1]["properties"];
    assert_eq!(p["loginServer"], "abacreg-e7ggejfuhzhgedc8.azurecr.io");
    assert_eq!(p["roleAssignmentMode"], "AbacRepositoryPermissions");
    assert_eq!(p["networkRuleSet"]["defaultAction"], "Deny");
    assert_eq!(p["networkRuleSet"]["ipRules"][0]["value"], "203.0.113.0/24");
    assert_eq!(
        p["policies"]["azureADAuthenticationAsArmPolicy"]["status"],
        "disabled"
    );

    // Paging: one per page, nextLink followed to the end.
    az.arm.set_page_size(Some(1));
    let token = arm_token(CLIENT);
    let (_, page1) = get(list_url.clone(), Some(token.clone())).await;
    let next = page1["nextLink"].as_str().unwrap().to_string();
    assert!(next.starts_with(&format!("https://management.azure.com/subscriptions/{SUB}/providers/Microsoft.ContainerRegistry/registries?api-version=2025-11-01&$skipToken=")), "{next}");
    let (_, page2) = get(next, Some(token.clone())).await;
    assert_eq!(page1["value"][0]["name"], "myreg");
    assert_eq!(page2["value"][0]["name"], "abacreg");
    assert!(page2.get("nextLink").is_none());
    az.arm.set_page_size(None);

    // Registry-scoped read sees only that registry.
    az.arm.unassign_all(OID);
    az.arm.assign(OID, Role::Reader, &abacreg_id());
    let (_, b) = get(list_url.clone(), Some(arm_token(CLIENT))).await;
    assert_eq!(b["value"].as_array().unwrap().len(), 1);
    assert_eq!(b["value"][0]["name"], "abacreg");

    // AcrPull only: 403 with the documented message.
    az.arm.unassign_all(OID);
    az.arm.assign(OID, Role::AcrPull, &myreg_id());
    let (s, b) = get(list_url.clone(), Some(arm_token(CLIENT))).await;
    assert_eq!(s, 403);
    assert_eq!(b["error"]["code"], "AuthorizationFailed");
    assert_eq!(
        b["error"]["message"],
        format!(
            "The client '{CLIENT}' with object id '{OID}' does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/read' over scope '/subscriptions/{SUB}' or the scope is invalid. If access was recently granted, please refresh your credentials."
        )
    );
    // Registry get: 403 too.
    let (s, _) = get(
        format!(
            "https://management.azure.com{}?api-version=2025-11-01",
            myreg_id()
        ),
        Some(arm_token(CLIENT)),
    )
    .await;
    assert_eq!(s, 403);

    // Permissions at the registry: one entry per assignment at or above it.
    az.arm.assign(
        OID,
        Role::Contributor,
        &format!("/subscriptions/{SUB}/resourceGroups/rg-ci"),
    );
    az.arm.assign(OID, Role::RepositoryReader, &myreg_id());
    az.arm.assign(OID, Role::Owner, &abacreg_id()); // another registry: not listed
    let perms_url = format!(
        "https://management.azure.com{}/providers/Microsoft.Authorization/permissions?api-version=2022-04-01",
        myreg_id()
    );
    let (s, b) = get(perms_url.clone(), Some(arm_token(CLIENT))).await;
    assert_eq!(s, 200, "{b:#}");
    let v = b["value"].as_array().unwrap();
    assert_eq!(v.len(), 3);
    assert_eq!(
        v[0],
        serde_json::json!({"actions": [ACTION_PULL], "notActions": [], "dataActions": [], "notDataActions": []})
    );
    assert_eq!(v[1]["actions"], serde_json::json!(["*"]));
    assert!(
        v[1]["notActions"]
            .as_array()
            .unwrap()
            .contains(&Value::String("Microsoft.Authorization/*/Write".into()))
    );
    assert_eq!(
        v[2]["dataActions"],
        serde_json::json!([
            "Microsoft.ContainerRegistry/registries/repositories/metadata/read",
            DATA_CONTENT_READ
        ])
    );
    // Resource-group permissions leave out the registry-scoped ones.
    let (_, b) = get(
        format!("https://management.azure.com/subscriptions/{SUB}/resourceGroups/rg-ci/providers/Microsoft.Authorization/permissions?api-version=2022-04-01"),
        Some(arm_token(CLIENT)),
    )
    .await;
    assert_eq!(b["value"].as_array().unwrap().len(), 1);
    // Contributor's read lets the registry get succeed now.
    let (s, b) = get(
        format!(
            "https://management.azure.com{}?api-version=2025-11-01",
            myreg_id()
        ),
        Some(arm_token(CLIENT)),
    )
    .await;
    assert_eq!((s, b["name"].as_str()), (200, Some("myreg")));
    // Paged permissions.
    az.arm.set_page_size(Some(2));
    let (_, p1) = get(perms_url.clone(), Some(arm_token(CLIENT))).await;
    let (_, p2) = get(
        p1["nextLink"].as_str().unwrap().to_string(),
        Some(arm_token(CLIENT)),
    )
    .await;
    assert_eq!(
        p1["value"].as_array().unwrap().len() + p2["value"].as_array().unwrap().len(),
        3
    );
    az.arm.set_page_size(None);

    // Authentication and request errors.
    let errors: Vec<(String, Option<String>, u16, &str)> = vec![
        (list_url.clone(), None, 401, "AuthenticationFailed"),
        (
            list_url.clone(),
            Some("forged.token.value".into()),
            401,
            "InvalidAuthenticationToken",
        ),
        (
            list_url.clone(),
            Some(az.entra.mint_access_token(CLIENT, ACR_AUDIENCE)),
            401,
            "InvalidAuthenticationTokenAudience",
        ),
        (
            list_url.clone(),
            Some(
                az.entra
                    .mint_access_token_expiring(CLIENT, "https://management.azure.com/", -60),
            ),
            401,
            "ExpiredAuthenticationToken",
        ),
        (
            list_url.clone(),
            Some(arm_token(OTHER_CLIENT)),
            401,
            "InvalidAuthenticationTokenTenant",
        ),
        (
            list_url.replace(SUB, "99999999-0000-4000-8000-000000000000"),
            Some(arm_token(CLIENT)),
            404,
            "SubscriptionNotFound",
        ),
        (
            list_url.replace("?api-version=2025-11-01", ""),
            Some(arm_token(CLIENT)),
            400,
            "MissingApiVersionParameter",
        ),
        (
            list_url.replace("2025-11-01", "2019-05-01"),
            Some(arm_token(CLIENT)),
            400,
            "NoRegisteredProviderFound",
        ),
        (
            perms_url.replace("myreg/", "nosuchreg/"),
            Some(arm_token(CLIENT)),
            404,
            "ResourceNotFound",
        ),
    ];
    for (url, token, status, code) in errors {
        let (s, b) = get(url.clone(), token).await;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (status, Some(code)),
            "{url}: {b:#}"
        );
        assert!(
            b["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // A legacy-audience ARM token is accepted.
    let legacy = az
        .entra
        .mint_access_token(CLIENT, "https://management.core.windows.net/");
    let (s, _) = get(perms_url, Some(legacy)).await;
    assert_eq!(s, 200);

    let log = az.arm.requests();
    assert!(
        log.iter()
            .any(|r| r.caller.as_deref() == Some(OID) && r.status == 403)
    );
    assert!(
        log.iter()
            .any(|r| r.error_code.as_deref() == Some("ExpiredAuthenticationToken"))
    );
}

/// Entra token → `POST /oauth2/exchange` → `POST /oauth2/token` on a TokenServer bridged
/// to the role table; returns the `access` claim for `scopes`.
async fn acr_access(
    client: &reqwest::Client,
    exchange_base: &str,
    entra_token: &str,
    scopes: &str,
) -> Result<Value, (u16, Value)> {
    let (s, _, b) = post_form(
        client,
        &format!("{exchange_base}/oauth2/exchange"),
        &[
            ("grant_type", "access_token"),
            ("service", HOST),
            ("tenant", TENANT),
            ("access_token", entra_token),
        ],
        None,
    )
    .await;
    if s != 200 {
        return Err((s, b));
    }
    let refresh = b["refresh_token"].as_str().unwrap().to_string();
    let (s, _, b) = post_form(
        client,
        &format!("{exchange_base}/oauth2/token"),
        &[
            ("grant_type", "refresh_token"),
            ("service", HOST),
            ("scope", scopes),
            ("refresh_token", &refresh),
        ],
        None,
    )
    .await;
    assert_eq!(s, 200, "{b:#}");
    Ok(decode_claims(b["access_token"].as_str().unwrap())["access"].clone())
}

fn actions_of(access: &Value, repo: &str) -> Vec<String> {
    access
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["type"] == "repository" && a["name"] == repo)
        .flat_map(|a| {
            a["actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string())
        })
        .collect()
}

#[tokio::test]
async fn entra_tokens_reach_the_registry_token_server_per_role_table() {
    let az = fakes();
    let https = az.client(&[]);
    let plain = reqwest::Client::builder().no_proxy().build().unwrap();
    let ts = Arc::new(TokenServer::start_with(HOST, "acr-issuer"));
    let bridge = AcrBridge::connect(&az, &ts, &myreg_id());
    let scopes = "repository:team/ctx:pull,push repository:team/app:pull";
    let get_token = |client_id: &'static str, scope: &'static str| {
        let https = https.clone();
        async move {
            let (s, b) = entra_token(&https, TENANT, &secret_form(client_id, SECRET, scope)).await;
            assert_eq!(s, 200, "{b:#}");
            b["access_token"].as_str().unwrap().to_string()
        }
    };

    // RBAC: AcrPull → pull everywhere, no push.
    az.arm.assign(OID, Role::AcrPull, &myreg_id());
    let entra = get_token(CLIENT, ACR_SCOPE).await;
    let access = acr_access(&plain, &ts.url(), &entra, scopes).await.unwrap();
    assert_eq!(actions_of(&access, "team/ctx"), ["pull"]);
    assert_eq!(actions_of(&access, "team/app"), ["pull"]);
    // The principal is the object id.
    let exchanged = ts
        .requests()
        .into_iter()
        .find(|r| r.path == "/oauth2/exchange")
        .unwrap();
    assert_eq!(exchanged.principal.as_deref(), Some(OID));
    assert!(bridge.access(OID).catalog);

    // AcrPush at the resource group adds push (grants follow the table at once).
    az.arm.assign(
        OID,
        Role::AcrPush,
        &format!("/subscriptions/{SUB}/resourceGroups/rg-ci"),
    );
    let access = acr_access(&plain, &ts.url(), &entra, scopes).await.unwrap();
    assert_eq!(actions_of(&access, "team/ctx"), ["pull", "push"]);

    // An ARM-audience token is accepted while the policy allows it…
    let arm_aud = get_token(CLIENT, ARM_SCOPE).await;
    assert!(
        acr_access(&plain, &ts.url(), &arm_aud, scopes)
            .await
            .is_ok()
    );
    // …and not once the registry disables it (tokens issued afterwards).
    az.arm
        .update_registry(&myreg_id(), |r| r.aad_auth_as_arm = false);
    let arm_aud = get_token(CLIENT, ARM_SCOPE).await;
    let (s, _) = acr_access(&plain, &ts.url(), &arm_aud, scopes)
        .await
        .unwrap_err();
    assert_eq!(s, 401);
    // A token from another tenant is never accepted.
    let foreign = {
        let (s, _, b) = post_form(
            &https,
            &format!("https://login.microsoftonline.com/{OTHER_TENANT}/oauth2/v2.0/token"),
            &secret_form(OTHER_CLIENT, SECRET, ACR_SCOPE),
            None,
        )
        .await;
        assert_eq!(s, 200);
        b["access_token"].as_str().unwrap().to_string()
    };
    assert_eq!(
        acr_access(&plain, &ts.url(), &foreign, scopes)
            .await
            .unwrap_err()
            .0,
        401
    );

    // ABAC: the same legacy roles grant nothing on the data plane.
    az.arm.update_registry(&myreg_id(), |r| {
        r.role_assignment_mode = support::azure::RoleAssignmentMode::AbacRepositoryPermissions
    });
    az.arm.assign(OID, Role::Owner, &myreg_id());
    let access = acr_access(&plain, &ts.url(), &entra, scopes).await.unwrap();
    assert!(actions_of(&access, "team/ctx").is_empty(), "{access}");
    assert!(actions_of(&access, "team/app").is_empty(), "{access}");
    assert!(bridge.access(OID).is_empty());

    // Repository Reader limited to team/ctx: pull there only.
    az.arm
        .assign_limited(OID, Role::RepositoryReader, &myreg_id(), &["team/ctx"]);
    let access = acr_access(&plain, &ts.url(), &entra, scopes).await.unwrap();
    assert_eq!(actions_of(&access, "team/ctx"), ["pull"]);
    assert!(actions_of(&access, "team/app").is_empty());
    // Repository Writer registry-wide: pull and push everywhere.
    az.arm.assign(OID, Role::RepositoryWriter, &myreg_id());
    let access = acr_access(&plain, &ts.url(), &entra, scopes).await.unwrap();
    assert_eq!(actions_of(&access, "team/ctx"), ["pull", "push"]);
    assert_eq!(actions_of(&access, "team/app"), ["pull"]);
    assert!(!bridge.access(OID).catalog);

    // Federated app through GitHub OIDC, ABAC reader via the subscription scope.
    az.arm.assign(
        FED_OID,
        Role::RepositoryReader,
        &format!("/subscriptions/{SUB}"),
    );
    let assertion = az.github.mint(Cloud::Public.fic_audience());
    let (s, b) = entra_token(
        &https,
        TENANT,
        &assertion_form(FED_CLIENT, &assertion, ACR_SCOPE),
    )
    .await;
    assert_eq!(s, 200);
    let access = acr_access(
        &plain,
        &ts.url(),
        b["access_token"].as_str().unwrap(),
        scopes,
    )
    .await
    .unwrap();
    assert_eq!(actions_of(&access, "team/ctx"), ["pull"]);

    // Removing every assignment removes every grant.
    az.arm.unassign_all(OID);
    let access = acr_access(&plain, &ts.url(), &entra, scopes).await.unwrap();
    assert!(actions_of(&access, "team/ctx").is_empty());
}

#[tokio::test]
async fn real_registry_behind_myreg_azurecr_io_accepts_the_bridged_token() {
    let az = fakes();
    let client = az.client(&[HOST]);
    let ts = Arc::new(TokenServer::start_with(HOST, "acr-issuer"));
    let _bridge = AcrBridge::connect(&az, &ts, &myreg_id());
    let registry = TestRegistry::start(fronted_registry_kind(&ts)).await;
    az.serve_registry(HOST, registry.addr(), ts.addr());

    // ACR's challenge, on the real host name, naming itself as realm.
    let r = client
        .get(format!("https://{HOST}/v2/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.headers()["www-authenticate"],
        format!("Bearer realm=\"https://{HOST}/oauth2/token\",service=\"{HOST}\"")
    );

    // Publish through the front (uploads follow https Location URLs).
    let published = Publisher::new(&format!("https://{HOST}"))
        .with_client(client.clone())
        .with_token_server(&ts)
        .titled_artifact("team/ctx", "v1")
        .await;

    az.arm.assign(OID, Role::AcrPull, &myreg_id());
    let (s, b) = entra_token(&client, TENANT, &secret_form(CLIENT, SECRET, ACR_SCOPE)).await;
    assert_eq!(s, 200);
    let entra = b["access_token"].as_str().unwrap();
    let access = acr_access(
        &client,
        &format!("https://{HOST}"),
        entra,
        "repository:team/ctx:pull",
    )
    .await
    .unwrap();
    assert_eq!(actions_of(&access, "team/ctx"), ["pull"]);

    // The registry accepts the access token for the manifest.
    let (_, _, b) = post_form(
        &client,
        &format!("https://{HOST}/oauth2/exchange"),
        &[
            ("grant_type", "access_token"),
            ("service", HOST),
            ("tenant", TENANT),
            ("access_token", entra),
        ],
        None,
    )
    .await;
    let refresh = b["refresh_token"].as_str().unwrap();
    let (_, _, b) = post_form(
        &client,
        &format!("https://{HOST}/oauth2/token"),
        &[
            ("grant_type", "refresh_token"),
            ("service", HOST),
            ("scope", "repository:team/ctx:pull"),
            ("refresh_token", refresh),
        ],
        None,
    )
    .await;
    let token = b["access_token"].as_str().unwrap();
    let r = client
        .head(format!("https://{HOST}/v2/team/ctx/manifests/v1"))
        .header("Accept", ACCEPT_MANIFESTS)
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["docker-content-digest"],
        published.digest.as_str()
    );
    // Without a role the same road ends in a token the registry refuses.
    az.arm.unassign_all(OID);
    let access = acr_access(
        &client,
        &format!("https://{HOST}"),
        entra,
        "repository:team/ctx:pull",
    )
    .await
    .unwrap();
    assert!(actions_of(&access, "team/ctx").is_empty());
}

/// GET `https://management.azure.com{path_and_query}` with `token`: status and JSON body.
async fn arm_get(client: &reqwest::Client, token: &str, path_and_query: String) -> (u16, Value) {
    let r = client
        .get(format!("https://management.azure.com{path_and_query}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json::<Value>().await.unwrap())
}

#[tokio::test]
async fn arm_serves_tokens_and_scope_maps_in_the_documented_shape() {
    let az = fakes();
    let client = az.client(&[]);
    let token = az
        .entra
        .mint_access_token(CLIENT, "https://management.azure.com/");
    let get = |path: String| arm_get(&client, &token, format!("{path}?api-version=2025-11-01"));
    az.arm.add_scope_map(
        &myreg_id(),
        "ci-map",
        &["repositories/team/app/content/read"],
    );
    az.arm.add_token(&myreg_id(), "ci-token", "ci-map");
    let token_path = format!("{}/tokens/ci-token", myreg_id());

    // Without a read on the registry: 403 AuthorizationFailed naming the action.
    let (s, b) = get(token_path.clone()).await;
    assert_eq!(s, 403, "{b:#}");
    assert_eq!(b["error"]["code"], "AuthorizationFailed");
    assert!(
        b["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Microsoft.ContainerRegistry/registries/tokens/read"),
        "{b:#}"
    );

    // Reader (`*/read`): TokenGet.json's shape, then ScopeMapGet.json's.
    az.arm.assign(OID, Role::Reader, &myreg_id());
    let (s, b) = get(token_path.clone()).await;
    assert_eq!(s, 200, "{b:#}");
    assert_eq!(b["id"], token_path);
    assert_eq!(b["name"], "ci-token");
    assert_eq!(b["type"], "Microsoft.ContainerRegistry/registries/tokens");
    assert_eq!(b["properties"]["status"], "enabled");
    assert_eq!(b["properties"]["provisioningState"], "Succeeded");
    let map_id = b["properties"]["scopeMapId"].as_str().unwrap().to_string();
    assert_eq!(map_id, format!("{}/scopeMaps/ci-map", myreg_id()));
    let (s, b) = get(map_id.clone()).await;
    assert_eq!(s, 200, "{b:#}");
    assert_eq!(b["id"], map_id);
    assert_eq!(
        b["type"],
        "Microsoft.ContainerRegistry/registries/scopeMaps"
    );
    assert_eq!(
        b["properties"]["actions"],
        serde_json::json!(["repositories/team/app/content/read"])
    );

    // An unknown token: 404 ResourceNotFound.
    let (s, b) = get(format!("{}/tokens/nobody", myreg_id())).await;
    assert_eq!(s, 404, "{b:#}");
    assert_eq!(b["error"]["code"], "ResourceNotFound");
}

#[tokio::test]
async fn arm_serves_role_assignments_and_subscriptions_in_the_documented_shape() {
    let az = fakes();
    let client = az.client(&[]);
    let token = az
        .entra
        .mint_access_token(CLIENT, "https://management.azure.com/");
    let get = |path: String| arm_get(&client, &token, path);
    let assignments = format!(
        "{}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=principalId%20eq%20'{OID}'",
        myreg_id()
    );
    // No role: no read of assignments, no subscription, an empty subscription list.
    let (s, b) = get(assignments.clone()).await;
    assert_eq!(s, 403, "{b:#}");
    assert_eq!(b["error"]["code"], "AuthorizationFailed");
    let (s, b) = get(format!("/subscriptions/{SUB}?api-version=2020-01-01")).await;
    assert_eq!(s, 403, "{b:#}");
    let (s, b) = get("/subscriptions?api-version=2022-12-01".into()).await;
    assert_eq!(s, 200, "{b:#}");
    assert_eq!(b["value"], serde_json::json!([]));

    az.arm.assign(OID, Role::Reader, &myreg_id());
    az.arm
        .assign_at(OID, Role::AcrPush, &myreg_id(), 1_796_000_000);
    az.arm
        .set_subscription_details(SUB, "Free Trial", "FreeTrial_2014-09-01");
    let (s, b) = get(assignments).await;
    assert_eq!(s, 200, "{b:#}");
    let items = b["value"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{b:#}");
    let push = &items[1];
    assert_eq!(push["type"], "Microsoft.Authorization/roleAssignments");
    let p = &push["properties"];
    assert_eq!(
        p["roleDefinitionId"],
        format!(
            "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/8311e382-0749-4cb8-b61a-304f252e45ec"
        )
    );
    assert_eq!(p["principalId"], OID);
    assert_eq!(p["scope"], myreg_id());
    assert!(
        p["createdOn"]
            .as_str()
            .unwrap()
            .starts_with("2026-11-30T00:53:20."),
        "{p:#}"
    );
    assert_eq!(
        push["id"],
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{}",
            myreg_id(),
            push["name"].as_str().unwrap()
        )
    );
    // Another filter is refused.
    let (s, b) = get(format!(
        "{}/providers/Microsoft.Authorization/roleAssignments?api-version=2022-04-01&$filter=roleDefinitionId%20eq%20'x'",
        myreg_id()
    ))
    .await;
    assert_eq!(s, 400, "{b:#}");

    let (s, b) = get(format!("/subscriptions/{SUB}?api-version=2020-01-01")).await;
    assert_eq!(s, 200, "{b:#}");
    assert_eq!(b["subscriptionId"], SUB);
    assert_eq!(b["displayName"], "Free Trial");
    assert_eq!(b["state"], "Enabled");
    assert_eq!(b["subscriptionPolicies"]["quotaId"], "FreeTrial_2014-09-01");
    assert_eq!(b["subscriptionPolicies"]["spendingLimit"], "On");
    let (s, b) = get("/subscriptions?api-version=2022-12-01".into()).await;
    assert_eq!(s, 200, "{b:#}");
    assert_eq!(b["value"][0]["subscriptionId"], SUB);
    assert_eq!(b["count"]["value"], 1);
    let (s, b) = get(format!("/subscriptions/{SUB}?api-version=2016-06-01")).await;
    assert_eq!(s, 400, "{b:#}");
}

/// Graph's application read, in the documented shapes: a Graph-audience token from the
/// client credentials flow (scope `https://graph.microsoft.com/.default`), then
/// `GET /v1.0/applications(appId='…')?$select=…` answering the application with its
/// `passwordCredentials` (keyId, displayName, hint, startDateTime, endDateTime) when the
/// token carries `Application.Read.All`, and Graph's error body otherwise.
#[tokio::test]
async fn graph_serves_an_applications_password_credentials_in_the_documented_shape() {
    const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
    const READER: &str = "66666666-7777-4888-8999-aaaaaaaaaaaa";
    let az = fakes();
    az.entra.add_app(
        App::new(TENANT, READER, "ffffffff-0000-4111-8222-333333333333")
            .named("reader-app")
            .named_secret("ci-2027", SECRET, 10 * 86_400)
            .secret("zz-other-secret-value", 400 * 86_400)
            .graph_role("Application.Read.All"),
    );
    let client = az.client(&[]);
    let get = |token: String, path: String| {
        let client = client.clone();
        async move {
            let r = client
                .get(format!("https://graph.microsoft.com{path}"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let select = "?$select=id,displayName,passwordCredentials";

    // A Graph token: aud is Graph's resource, roles carry the granted permission.
    let (status, body) =
        entra_token(&client, TENANT, &secret_form(READER, SECRET, GRAPH_SCOPE)).await;
    assert_eq!(status, 200, "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
    let claims = decode_claims(&token);
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert_eq!(claims["roles"], serde_json::json!(["Application.Read.All"]));

    let (status, app) = get(
        token.clone(),
        format!("/v1.0/applications(appId='{READER}'){select}"),
    )
    .await;
    assert_eq!(status, 200, "{app}");
    // $select: only what was asked for (and the context).
    let mut keys: Vec<&str> = app
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["@odata.context", "displayName", "id", "passwordCredentials"]
    );
    assert_eq!(app["displayName"], "reader-app");
    assert_eq!(app["id"], support::azure::app_object_id(READER));
    let creds = app["passwordCredentials"].as_array().unwrap();
    assert_eq!(creds.len(), 2);
    let first = &creds[0];
    assert_eq!(first["displayName"], "ci-2027");
    assert_eq!(first["hint"], &SECRET[..3]);
    assert!(first["secretText"].is_null());
    assert_eq!(first["keyId"].as_str().unwrap().len(), 36);
    for field in ["startDateTime", "endDateTime"] {
        let t = first[field].as_str().unwrap();
        assert!(
            t.len() == 20 && t.ends_with('Z') && t.as_bytes()[10] == b'T',
            "{field}: {t}"
        );
    }
    let end = first["endDateTime"].as_str().unwrap();
    let end = acr_preflight::jwt::parse_utc(end).unwrap();
    let end = end.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((end - (now() + 10 * 86_400)).abs() < 60, "{end}");
    assert!(creds[1]["displayName"].is_null());
    // The object id form answers the same application; no $select gives the whole resource.
    let (status, whole) = get(
        token.clone(),
        format!("/v1.0/applications/{}", app["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(whole["appId"], READER);

    // Without the permission: 403 Authorization_RequestDenied in Graph's error body.
    let (_, body) = entra_token(&client, TENANT, &secret_form(CLIENT, SECRET, GRAPH_SCOPE)).await;
    let plain = body["access_token"].as_str().unwrap().to_string();
    assert!(decode_claims(&plain).get("roles").is_none());
    let (status, denied) = get(
        plain,
        format!("/v1.0/applications(appId='{CLIENT}'){select}"),
    )
    .await;
    assert_eq!(status, 403);
    assert_eq!(denied["error"]["code"], "Authorization_RequestDenied");
    assert_eq!(
        denied["error"]["message"],
        "Insufficient privileges to complete the operation."
    );
    assert!(denied["error"]["innerError"]["request-id"].is_string());

    // An unknown app: 404; an ARM token: 401; both logged with the decoded path.
    let (status, missing) = get(
        token,
        format!("/v1.0/applications(appId='{BARE_CLIENT}x'){select}"),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(missing["error"]["code"], "Request_ResourceNotFound");
    let (_, body) = entra_token(&client, TENANT, &secret_form(READER, SECRET, ARM_SCOPE)).await;
    let arm_token = body["access_token"].as_str().unwrap().to_string();
    let (status, wrong) = get(arm_token, format!("/v1.0/applications(appId='{READER}')")).await;
    assert_eq!(status, 401);
    assert_eq!(wrong["error"]["code"], "InvalidAuthenticationToken");
    let log = az.graph.requests();
    assert_eq!(log.len(), 5);
    assert_eq!(log[0].path, format!("/v1.0/applications(appId='{READER}')"));
    assert_eq!(
        log[0].select.as_deref(),
        Some("id,displayName,passwordCredentials")
    );
    assert_eq!(
        log.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 200, 403, 404, 401]
    );
}
