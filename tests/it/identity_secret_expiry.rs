//! P12's expiry half, end to end: the binary signs in with a client secret at the Entra
//! fake, gets a Microsoft Graph token with the same credentials and reads the app's
//! `passwordCredentials` from the Graph fake at graph.microsoft.com (through --resolve
//! and the fakes' CA, as production runs), then tells the secret in use by its `hint`.

use crate::identity::{CLIENT_ID, CONTEXT, OBJECT_ID, World, assert_no_secret_leaks, run, world};
use crate::support;
use crate::support::http::{Reply, Response};
use support::azure::*;

/// Two values whose first three characters differ, so Graph's hint tells them apart.
const IN_USE: &str = "Kq7~in-use-secret-value-planted";
const OTHER: &str = "Zx9~other-secret-value-planted";
const DAY: i64 = 86_400;

/// The world's app with exactly these secrets (name, value, seconds left), AcrPull on the
/// registry, and `Application.Read.All` on Graph when `readable`.
fn world_with_secrets(secrets: &[(&str, &str, i64)], readable: bool) -> World {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    w.az.entra.update_app(CLIENT_ID, |a| {
        let mut app = a.clone().named("ci-deployer");
        app.secrets.clear();
        for (name, value, left) in secrets {
            app = app.named_secret(name, value, *left);
        }
        if readable {
            app = app.graph_role("Application.Read.All");
        }
        *a = app;
    });
    w
}

fn key_id(w: &World, value: &str) -> String {
    let app = w.az.entra.app(CLIENT_ID).unwrap();
    app.secrets
        .iter()
        .find(|s| s.value == value)
        .unwrap()
        .key_id
        .clone()
}

fn assert_no_expiry_warning(r: &crate::identity::Run) {
    let codes = r.codes();
    assert!(
        !codes.iter().any(|c| c == "ID_SECRET_EXPIRING"),
        "{codes:?}"
    );
}

fn run_secret(w: &World, extra: &[&str]) -> crate::identity::Run {
    run(
        w,
        false,
        &[("AZURE_CLIENT_SECRET", IN_USE)],
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..], extra].concat(),
    )
}

#[test]
fn a_secret_ending_in_ten_days_warns_with_its_date_and_the_reset() {
    let w = world_with_secrets(&[("ci-2026", IN_USE, 10 * DAY)], true);
    let r = run_secret(&w, &[]);
    assert_eq!(r.status, 0, "a warning does not fail the job: {:#}", r.json);
    let f = r.only("ID_SECRET_EXPIRING");
    assert_eq!(f["severity"], "warning");
    let end = w.az.entra.app(CLIENT_ID).unwrap().secrets[0].expires_at;
    let date = support::rfc3339(end);
    assert_eq!(
        f["title"],
        format!(
            "the client secret of {CLIENT_ID} expires on {} (in 10 days)",
            &date[..10]
        )
    );
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("`ci-2026` (keyId {})", key_id(&w, IN_USE))),
        "{message}"
    );
    assert!(message.contains(&date), "{message}");
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!(
            "az ad app credential reset --id {CLIENT_ID} --append --years 1"
        )),
        "{fix}"
    );
    assert!(fix.contains("OIDC"), "{fix}");
    // One Graph read, the documented URL form and $select.
    let log = w.az.graph.requests();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        log[0].path,
        format!("/v1.0/applications(appId='{CLIENT_ID}')")
    );
    assert_eq!(
        log[0].select.as_deref(),
        Some("id,displayName,passwordCredentials")
    );
    assert!(!r.raw.contains(IN_USE));
    assert_no_secret_leaks(&w, &r);

    // docs/checks.md shows this output, with its own date and keyId.
    let doc =
        crate::workflow_context::doc_example(acr_preflight::findings::Code::ID_SECRET_EXPIRING);
    let shown = text_of(&f)
        .replace(&key_id(&w, IN_USE), "c3a1e0f2-7b4d-4e8a-9f61-2d5b8e7a9c10")
        .replace(&date, "2026-12-15T09:30:00Z")
        .replace(&date[..10], "2026-12-15")
        .replace(
            &app_object_id(CLIENT_ID),
            "f1111111-2222-3333-4444-555555555555",
        );
    assert_eq!(shown, doc);
}

/// The finding in `text` format (src/output/text.rs's layout, no location).
fn text_of(f: &serde_json::Value) -> String {
    let mut out = format!(
        "{}[{}]: {}\n",
        f["severity"].as_str().unwrap(),
        f["code"].as_str().unwrap(),
        f["title"].as_str().unwrap()
    );
    for (label, key) in [("seen", "message"), ("help", "fix")] {
        for (i, line) in f[key].as_str().unwrap().lines().enumerate() {
            if i == 0 {
                out.push_str(&format!("   = {label}: {line}\n"));
            } else {
                out.push_str(&format!("           {line}\n"));
            }
        }
    }
    out
}

#[test]
fn a_secret_id_given_as_the_secret_is_named_and_graph_is_not_asked() {
    // The portal's "Secret ID" (Graph's keyId) pasted as the secret: Entra refuses it,
    // so no token exists to ask Graph with; the message names the GUID shape.
    let w = world_with_secrets(&[("ci-2026", IN_USE, 300 * DAY)], true);
    let secret_id = key_id(&w, IN_USE);
    let r = run(
        &w,
        false,
        &[("AZURE_CLIENT_SECRET", secret_id.as_str())],
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
    );
    let f = r.only("ID_SECRET_INVALID");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("AADSTS7000215"), "{message}");
    assert!(
        message.contains("shaped like a GUID, the form of a secret's ID"),
        "{message}"
    );
    assert!(!r.raw.contains(&secret_id), "the value given stays masked");
    assert!(w.az.graph.requests().is_empty());
    // A wrong secret that is no GUID gets no such sentence.
    let r = run(
        &w,
        false,
        &[("AZURE_CLIENT_SECRET", "Kq7~a-wrong-value-planted")],
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
    );
    assert!(
        !r.only("ID_SECRET_INVALID")["message"]
            .as_str()
            .unwrap()
            .contains("GUID")
    );
}

#[test]
fn a_secret_valid_for_a_year_is_quiet_with_a_verified_line() {
    let w = world_with_secrets(&[("ci-2027", IN_USE, 365 * DAY)], true);
    let r = run_secret(&w, &[]);
    assert_eq!(r.status, 0, "{:#}", r.json);
    assert_no_expiry_warning(&r);
    let verified = r.verified("identity");
    assert!(
        verified.contains(&format!(
            "client secret `ci-2027` (keyId {}) of app `ci-deployer`",
            key_id(&w, IN_USE)
        )) && verified.contains("(in 365 days)"),
        "{verified}"
    );
}

#[test]
fn graph_refusing_the_read_is_a_note_naming_the_permission_never_a_warning() {
    // Most CI identities hold no Graph permission: 403 Authorization_RequestDenied.
    let w = world_with_secrets(&[("ci-2026", IN_USE, 3 * DAY)], false);
    let r = run_secret(&w, &[]);
    assert_eq!(r.status, 0, "{:#}", r.json);
    assert_no_expiry_warning(&r);
    let verified = r.verified("identity");
    assert!(
        verified.contains("client secret expiry not read: GET /v1.0/applications(appId=")
            && verified.contains("HTTP 403 Authorization_RequestDenied")
            && verified.contains("Application.Read.All"),
        "{verified}"
    );
    let log = w.az.graph.requests();
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0].error_code.as_deref(),
        Some("Authorization_RequestDenied")
    );
}

#[test]
fn only_the_secret_in_use_decides_not_another_of_the_app() {
    // The other secret ends in 5 days, the one in use in a year: quiet.
    let w = world_with_secrets(
        &[("old", OTHER, 5 * DAY), ("current", IN_USE, 365 * DAY)],
        true,
    );
    let r = run_secret(&w, &[]);
    assert_no_expiry_warning(&r);
    assert!(r.verified("identity").contains("client secret `current`"));

    // The one in use ends in 5 days, the other in a year: the warning names only it.
    let w = world_with_secrets(
        &[("current", IN_USE, 5 * DAY), ("next", OTHER, 365 * DAY)],
        true,
    );
    let r = run_secret(&w, &[]);
    let f = r.only("ID_SECRET_EXPIRING");
    let text = format!("{}{}{}", f["title"], f["message"], f["fix"]);
    assert!(text.contains(&key_id(&w, IN_USE)), "{text}");
    assert!(
        !text.contains(&key_id(&w, OTHER)) && !text.contains("`next`"),
        "{text}"
    );
    assert!(f["fix"].as_str().unwrap().contains(&format!(
        "az ad app credential delete --id {CLIENT_ID} --key-id {}",
        key_id(&w, IN_USE)
    )));
}

#[test]
fn zero_days_and_other_sign_ins_make_no_graph_request() {
    let w = world_with_secrets(&[("ci-2026", IN_USE, 3 * DAY)], true);
    let r = run_secret(&w, &["--secret-expiry-days", "0"]);
    assert_eq!(r.status, 0, "{:#}", r.json);
    assert_no_expiry_warning(&r);
    assert!(w.az.graph.requests().is_empty());
    let graph_tokens = |w: &World| {
        w.az.entra
            .requests()
            .iter()
            .filter(|q| q.resource.as_deref() == Some("https://graph.microsoft.com"))
            .count()
    };
    assert_eq!(graph_tokens(&w), 0);
    // OIDC sign-in: no secret, no Graph.
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
    assert!(w.az.graph.requests().is_empty());
    assert_eq!(graph_tokens(&w), 0);
    // The same secret with the default: one token and one read.
    run_secret(&w, &[]);
    assert_eq!(w.az.graph.requests().len(), 1);
    assert_eq!(graph_tokens(&w), 1);
}

#[test]
fn a_malformed_or_silent_graph_is_a_note_and_never_holds_the_run() {
    let w = world_with_secrets(&[("ci-2026", IN_USE, 3 * DAY)], true);
    w.az.graph.answer_with(Reply::Respond(
        Response::new(200)
            .header("Content-Type", "application/json")
            .body("{\"id\": \"x\", \"passwordCredentials\": [tru"),
    ));
    let r = run_secret(&w, &[]);
    assert_eq!(r.status, 0, "{:#}", r.json);
    assert!(
        r.verified("identity")
            .contains("client secret expiry not read: GET /v1.0/applications(appId="),
        "{}",
        r.verified("identity")
    );
    assert_no_expiry_warning(&r);

    // Graph accepts and never answers: the run ends within a few seconds of the rest,
    // long before --timeout 30, with a note.
    w.az.graph.answer_with(Reply::Hang);
    let started = std::time::Instant::now();
    let r = run_secret(&w, &[]);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(r.status, 0, "{:#}", r.json);
    assert!(
        !r.codes().contains(&"RUN_TIMEOUT".to_string()),
        "{:?}",
        r.codes()
    );
    assert!(
        r.verified("identity")
            .contains("graph.microsoft.com did not answer within 2s of the other identity checks"),
        "{}",
        r.verified("identity")
    );
}
