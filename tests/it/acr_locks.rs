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

/// Declares `team/app:v1` (the world's digest) with these attributes.
fn tag_v1(w: &World, attributes: serde_json::Value) {
    w.az.acr_metadata
        .tag(&w.host, "team/app", "v1", &w.digest, attributes);
}

/// The run failed with exactly one REGISTRY_WRITE_LOCKED: that finding.
fn locked(r: &crate::identity::Run) -> serde_json::Value {
    assert_eq!(r.status, 1, "{}", r.raw);
    r.only("REGISTRY_WRITE_LOCKED")
}

#[test]
fn a_write_locked_tag_is_an_error_with_the_unlock_command_and_a_new_tag_advice() {
    let (w, r) = pushing(|w| {
        tag_v1(w, changeable(false, true));
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
        tag_v1(w, changeable(false, true));
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
    let (_w, r) = pushing(|w| {
        // Read-locked but writable: a push is not refused.
        w.az.acr_metadata.tag(
            &w.host,
            "team/app",
            "v1",
            &w.digest,
            changeable(true, false),
        );
    });
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
