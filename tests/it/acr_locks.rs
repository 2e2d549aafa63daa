//! ACR write locks on push targets (REGISTRY_WRITE_LOCKED): the binary reads
//! `/acr/v1/<repo>` and `/acr/v1/<repo>/_tags/<tag>` on myreg.azurecr.io (the ACR
//! metadata fake in front of the real registry) with its push token, which asks
//! `metadata_read` alongside `pull,push`.

use crate::identity::{CLIENT_ID, OBJECT_ID, World, run, world};
use crate::support::azure::{Role, changeable};

const PUSHED: &str = "myreg.azurecr.io/team/app:v1";

fn pushing(locks: impl FnOnce(&World)) -> (World, crate::identity::Run) {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPush, &w.reg.id());
    locks(&w);
    let r = run(&w, true, &[], &["--client-id", CLIENT_ID, "--push", PUSHED]);
    (w, r)
}

/// Declares `<repo>:v1` (the world's digest) with these attributes.
fn tag(w: &World, repo: &str, attributes: serde_json::Value) {
    w.az.acr_metadata
        .tag(&w.host, repo, "v1", &w.digest, attributes);
}

/// The run failed with exactly one REGISTRY_WRITE_LOCKED: that finding.
fn locked(r: &crate::identity::Run) -> serde_json::Value {
    assert_eq!(r.status, 1, "{}", r.raw);
    r.only("REGISTRY_WRITE_LOCKED")
}

#[test]
fn a_write_locked_tag_is_an_error_with_the_unlock_command_and_a_new_tag_advice() {
    let (w, r) = pushing(|w| {
        tag(w, "team/app", changeable(false, true));
    });
    let f = locked(&r);
    assert_eq!(f["severity"], "error");
    assert_eq!(
        f["title"],
        "tag `team/app:v1` on myreg.azurecr.io is write-locked: the push of `myreg.azurecr.io/team/app:v1` cannot overwrite it"
    );
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("GET /acr/v1/team/app/_tags/v1 → 200")
            && message.contains(&w.digest)
            && message.contains("REGISTRY_DISALLOWED_OPERATION"),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains(
            "az acr repository update --name myreg --image team/app:v1 --write-enabled true"
        ) && fix.contains("push a new tag"),
        "{fix}"
    );
    // One token for the push, with metadata_read on the pushed repository.
    let scopes: Vec<String> = w
        ._ts
        .requests()
        .into_iter()
        .flat_map(|q| q.scopes)
        .collect();
    assert!(
        scopes.contains(&"repository:team/app:pull,push,metadata_read".to_string()),
        "{scopes:?}"
    );
}

#[test]
fn a_write_locked_repository_is_an_error_naming_the_repository_lock() {
    let (_w, r) = pushing(|w| {
        w.az.acr_metadata
            .repository(&w.host, "team/app", changeable(false, true));
        // The repository lock decides; its tags are not read.
        tag(w, "team/app", changeable(false, true));
    });
    let f = locked(&r);
    assert_eq!(
        f["title"],
        "repository `team/app` on myreg.azurecr.io is write-locked: no push into it can succeed"
    );
    assert!(
        f["fix"].as_str().unwrap().contains(
            "az acr repository update --name myreg --repository team/app --write-enabled true"
        ),
        "{}",
        f["fix"]
    );
}

#[test]
fn writable_and_new_targets_pass_and_say_what_was_read() {
    // Read-locked but writable: a push is not refused.
    let (w, r) = pushing(|w| tag(w, "team/app", changeable(true, false)));
    // The cost: one repository read and one tag read, with the push token.
    let metadata: Vec<String> =
        w.az.raw_requests()
            .into_iter()
            .filter(|q| q.path.starts_with("/acr/v1/"))
            .map(|q| format!("{} {}", q.method, q.path))
            .collect();
    assert_eq!(
        metadata,
        ["GET /acr/v1/team/app", "GET /acr/v1/team/app/_tags/v1"]
    );
    assert!(
        !r.codes().contains(&"REGISTRY_WRITE_LOCKED".to_string()),
        "{}",
        r.raw
    );
    assert_eq!(r.status, 0, "{}", r.raw);
    let verified = r.verified("registry");
    assert!(
        verified.contains("`team/app` is not write-locked (GET /acr/v1/team/app: writeEnabled); tags pushed: `v1` (writeEnabled)"),
        "{verified}"
    );

    // A repository ACR does not know yet: the push creates it.
    let (_w, r) = pushing(|_| {});
    assert!(
        !r.codes().contains(&"REGISTRY_WRITE_LOCKED".to_string()),
        "{}",
        r.raw
    );
    assert!(
        r.verified("registry")
            .contains("`team/app` does not exist yet (GET /acr/v1/team/app → 404)"),
        "{}",
        r.verified("registry")
    );
}

/// The world's `team/ctx:v1` as an `oci://` context.
const CONTEXT: &str = "oci://myreg.azurecr.io/team/ctx:v1";

fn pulling(locks: impl FnOnce(&World)) -> (World, crate::identity::Run) {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    locks(&w);
    let r = run(
        &w,
        true,
        &[],
        &["--client-id", CLIENT_ID, "--context", CONTEXT],
    );
    (w, r)
}

/// The registry check's finding codes.
fn registry_codes(r: &crate::identity::Run) -> Vec<String> {
    r.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "registry")
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_read_locked_context_is_named_as_the_lock_not_as_missing_or_denied() {
    let (_w, r) = pulling(|w| tag(w, "team/ctx", changeable(true, false)));
    assert_eq!(r.status, 1, "{}", r.raw);
    assert_eq!(registry_codes(&r), ["CONTEXT_READ_LOCKED"], "{:#}", r.json);
    let f = r.only("CONTEXT_READ_LOCKED");
    assert_eq!(
        f["title"],
        "tag `team/ctx:v1` on myreg.azurecr.io is read-locked: no pull can read it"
    );
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("GET /v2/team/ctx/manifests/v1 → HTTP 405 REGISTRY_DISALLOWED_OPERATION")
            && message.contains("GET /acr/v1/team/ctx/_tags/v1 → 200 with tag.changeableAttributes.readEnabled: false"),
        "{message}"
    );
    assert!(
        f["fix"].as_str().unwrap().contains(
            "az acr repository update --name myreg --image team/ctx:v1 --read-enabled true"
        ),
        "{}",
        f["fix"]
    );

    // The repository's own lock.
    let (_w, r) = pulling(|w| {
        w.az.acr_metadata
            .repository(&w.host, "team/ctx", changeable(true, false));
    });
    assert_eq!(
        r.only("CONTEXT_READ_LOCKED")["title"],
        "repository `team/ctx` on myreg.azurecr.io is read-locked: no pull can read it"
    );

    // Write-locked only: the context still reads, nothing is reported.
    let (w, r) = pulling(|w| tag(w, "team/ctx", changeable(false, true)));
    assert!(registry_codes(&r).is_empty(), "{:#}", r.json);
    let verified = r.verified("registry");
    assert!(
        verified.contains(&format!("{CONTEXT}: {}", w.digest)),
        "{verified}"
    );
}
