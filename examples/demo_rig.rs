//! The demo's world, for `scripts/demo.sh`, built from the test harness:
//! - `myreg.azurecr.io`: the real distribution registry behind an ACR-like HTTPS front
//!   (`/oauth2/token` and `/oauth2/exchange` served by an ES256 token server), holding a
//!   published build context;
//! - Entra ID at `login.microsoftonline.com` and ARM at `management.azure.com` (fakes
//!   speaking the documented shapes), and GitHub's OIDC token endpoint;
//! - two app registrations: `ci-mismatch`, whose federated credential trusts the `main`
//!   branch while this "job" runs for a pull request, and `ci-norole`, which signs in
//!   but holds no role on the registry.
//!
//! It prints shell assignments for the script, then runs until its stdin closes, and
//! stops everything it started.

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::io::Read;
use std::sync::Arc;
use support::azure::*;

const HOST: &str = "myreg.azurecr.io";
const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SUB: &str = "00000000-1111-2222-3333-444444444444";
const APP_MISMATCH: &str = "11111111-1111-4111-8111-111111111111";
const APP_NOROLE: &str = "22222222-2222-4222-8222-222222222222";

fn main() {
    let az = AzureFakes::start();
    az.entra.add_tenant(TENANT, Cloud::Public);
    az.entra.add_app(
        App::new(TENANT, APP_MISMATCH, "aaaaaaaa-1111-4111-8111-111111111111").federated(
            FederatedCredential::github("repo:octo/app:ref:refs/heads/main"),
        ),
    );
    az.entra.add_app(
        App::new(TENANT, APP_NOROLE, "bbbbbbbb-2222-4222-8222-222222222222")
            .federated(FederatedCredential::github("repo:octo/app:pull_request")),
    );
    // This job runs for pull request #42 of octo/app.
    az.github
        .set_claims(GitHubClaims::pull_request("octo/app", 42));
    az.arm.add_subscription(SUB, TENANT);
    let reg = az.arm.add_registry(Registry::new(SUB, "rg-ci", "myreg"));

    let ts = Arc::new(support::token::TokenServer::start_with(
        HOST,
        "demo-token-issuer",
    ));
    let _bridge = AcrBridge::connect(&az, &ts, &reg.id());
    // ci-bot (a docker login) may pull the contexts and nothing else.
    ts.add_user("ci-bot", "demo-password-not-real");
    ts.grant("ci-bot", "team/ctx", &["pull"]);
    ts.grant("ci-bot", "team/app", &["pull"]);
    let registry = support::registry::TestRegistry::start_blocking(fronted_registry_kind(&ts));
    az.serve_registry(HOST, registry.addr(), ts.addr());

    let published = support::block_on(async {
        let p = support::fixtures::Publisher::new(&registry.url()).with_token_server(&ts);
        p.titled_artifact("team/ctx", "v1.0").await;
        p.titled_artifact("team/ctx", "v2.0").await;
        p.titled_artifact("team/ctx", "v1").await
    });

    println!("REGISTRY_HOST={HOST}");
    println!("RESOLVE='{}'", az.resolve_specs(&[HOST]).join(" "));
    println!("CA_FILE={}", az.ca_pem_path().display());
    println!("CONTEXT_DIGEST={}", published.digest);
    println!("TENANT={TENANT}");
    println!("SUBSCRIPTION={SUB}");
    println!("APP_MISMATCH={APP_MISMATCH}");
    println!("APP_NOROLE={APP_NOROLE}");
    for (k, v) in az.github.env() {
        println!("{k}='{v}'");
    }
    println!("READY=1");
    // The script closes our stdin to stop us; everything is dropped in order then.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(registry);
}
