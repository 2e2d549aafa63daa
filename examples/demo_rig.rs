//! The demo's registry, for `scripts/demo.sh`: the real distribution registry serving
//! `myreg.azurecr.io` over TLS with token auth, an ES256 token server with ACR's
//! `/oauth2/token`, and a published build context. It prints shell assignments for the
//! script, then runs until its stdin closes, and stops everything it started.

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Read;

const HOST: &str = "myreg.azurecr.io";

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ts = support::token::TokenServer::start_with(HOST, "demo-token-issuer");
    let ca = support::tls::TestCa::new(dir.path());
    let (cert, key) = ca.issue_server_cert(&[HOST]);
    let registry =
        support::registry::TestRegistry::start_blocking(ts.registry_kind_tls(&cert, &key));

    // ci-bot may pull the contexts and nothing else: enough for run 1, not for run 2's push.
    ts.add_user("ci-bot", "demo-password-not-real");
    ts.grant("ci-bot", "team/ctx", &["pull"]);
    ts.grant("ci-bot", "team/app", &["pull"]);

    let published = support::block_on(async {
        let p = support::fixtures::Publisher::new(&registry.url_as(HOST))
            .with_ca(ca.ca_pem_path())
            .with_resolve(HOST, registry.addr())
            .with_token_server(&ts);
        p.titled_artifact("team/ctx", "v1.0").await;
        p.titled_artifact("team/ctx", "v2.0").await;
        p.titled_artifact("team/ctx", "v1").await
    });

    println!("REGISTRY_HOST={HOST}");
    println!("REGISTRY_ADDR={}", registry.addr());
    println!("CA_FILE={}", ca.ca_pem_path().display());
    println!("CONTEXT_DIGEST={}", published.digest);
    println!("READY=1");
    // The script closes our stdin to stop us; everything is dropped in order then.
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
    drop(registry);
    drop(ts);
}
