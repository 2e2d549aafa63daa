//! What ARM's history and neighbours tell about a failure (issue 13): a role assignment
//! younger than the RBAC propagation delay behind a data-plane refusal (P18), a
//! subscription whose offer excludes ACR Tasks (P21), a registry found in another
//! subscription than the configured one (P15). Same world as identity.rs: the Entra and
//! ARM fakes, and the real distribution registry behind a token server.

use crate::identity::{CLIENT_ID, CONTEXT, OBJECT_ID, Run, SUB, TENANT, World, run, run_in, world};
use crate::support::azure::arm::{ACTION_ROLE_ASSIGNMENTS_READ, QUOTA_PAY_AS_YOU_GO};
use crate::support::azure::*;
use crate::support::{now_unix, rfc3339};

/// A custom role that may read the registry and its role assignments in ARM, nothing else.
fn arm_auditor() -> Role {
    Role::Custom(RoleDefinition {
        id: "0b4d5e1c-0000-4000-8000-000000000002".into(),
        name: "Registry ARM Auditor".into(),
        actions: vec![
            "Microsoft.ContainerRegistry/registries/read".into(),
            ACTION_ROLE_ASSIGNMENTS_READ.into(),
        ],
        not_actions: vec![],
        data_actions: vec![],
        not_data_actions: vec![],
    })
}

fn role_assignment_reads(w: &World) -> usize {
    w.az.arm
        .requests()
        .iter()
        .filter(|r| {
            r.path
                .ends_with("/providers/Microsoft.Authorization/roleAssignments")
        })
        .count()
}

fn push_args() -> Vec<&'static str> {
    vec![
        "--client-id",
        CLIENT_ID,
        "--push",
        "myreg.azurecr.io/team/app:v2",
    ]
}

fn assert_absent(r: &Run, code: &str) {
    assert!(!r.codes().iter().any(|c| c == code), "{:#}", r.json);
}

fn verified_all(r: &Run) -> String {
    ["identity", "registry"].map(|c| r.verified(c)).join("\n")
}

/// P18: AcrPush assigned four minutes ago, ARM's permissions allow push, and the registry
/// (whose token server has not seen the assignment yet) refuses: the finding says the
/// assignment is new and to re-run later. An old assignment gets no such claim, and a
/// passing run never lists role assignments.
#[test]
fn a_refusal_right_after_the_role_was_assigned_names_the_propagation_delay() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, arm_auditor(), &w.reg.id());
    let assigned = now_unix() - 4 * 60;
    w.az.arm
        .assign_at(OBJECT_ID, Role::AcrPush, &w.reg.id(), assigned);
    // Not yet on the data plane.
    w._ts.revoke_all(OBJECT_ID);
    let r = run(&w, true, &[], &push_args());
    assert_eq!(r.status, 1, "{:#}", r.json);
    let f = r.only("ROLE_PUSH_MISSING");
    assert_eq!(f["severity"], "error");
    let title = f["title"].as_str().unwrap();
    assert!(
        title.contains("AcrPush was assigned 4 minutes ago"),
        "{title}"
    );
    let message = f["message"].as_str().unwrap();
    assert!(message.contains(&rfc3339(assigned)), "{message}");
    assert!(message.contains("up to 30 minutes"), "{message}");
    assert!(message.contains(&w.reg.id()), "{message}");
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.starts_with(&format!(
            "Re-run the job after {}",
            rfc3339(assigned + 30 * 60)
        )),
        "{fix}"
    );
    assert!(fix.contains("earlier, separate workflow"), "{fix}");
    assert!(fix.contains("--role AcrPush"), "{fix}");
    assert_eq!(role_assignment_reads(&w), 1);

    // Assigned long ago: the refusal is something else; the run says so and keeps the fix.
    w.az.arm.unassign_all(OBJECT_ID);
    w.az.arm.assign(OBJECT_ID, arm_auditor(), &w.reg.id());
    w.az.arm.assign(OBJECT_ID, Role::AcrPush, &w.reg.id());
    w._ts.revoke_all(OBJECT_ID);
    w.az.arm.clear_requests();
    let r = run(&w, true, &[], &push_args());
    let f = r.only("ROLE_PUSH_MISSING");
    assert!(
        !f["message"].as_str().unwrap().contains("30 minutes"),
        "{f:#}"
    );
    assert!(!f["fix"].as_str().unwrap().contains("Re-run"), "{f:#}");
    assert!(
        verified_all(&r).contains("not a propagation delay"),
        "{:#}",
        r.json
    );
    assert_eq!(role_assignment_reads(&w), 1);

    // In effect: nothing refused, nothing more asked.
    w.az.arm.unassign_all(OBJECT_ID);
    w.az.arm.assign(OBJECT_ID, arm_auditor(), &w.reg.id());
    w.az.arm
        .assign_at(OBJECT_ID, Role::AcrPush, &w.reg.id(), assigned);
    w.az.arm.clear_requests();
    let r = run(&w, true, &[], &push_args());
    assert_absent(&r, "ROLE_PUSH_MISSING");
    assert_eq!(role_assignment_reads(&w), 0);
}

/// P18 for pull: a refused pull where ARM shows no pull right is a missing role, not a
/// delay, and costs no role-assignment read.
#[test]
fn a_refused_pull_without_the_right_in_arm_is_not_called_a_delay() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, arm_auditor(), &w.reg.id());
    let r = run(
        &w,
        true,
        &[],
        &[&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat(),
    );
    let f = r.only("ROLE_PULL_MISSING");
    assert!(!f["title"].as_str().unwrap().contains("assigned"), "{f:#}");
    assert_eq!(role_assignment_reads(&w), 0);
}

fn subscription_reads(w: &World) -> usize {
    w.az.arm
        .requests()
        .iter()
        .filter(|r| r.path == format!("/subscriptions/{SUB}"))
        .count()
}

/// P21: an ACR Tasks build (an `oci://` context) in a free-trial subscription is warned
/// that Tasks runs are refused there; a pay-as-you-go subscription is a verified fact; a
/// build without Tasks never reads the subscription.
#[test]
fn an_acr_tasks_build_in_a_free_trial_subscription_is_warned() {
    let w = world(false);
    w.az.arm.assign(OBJECT_ID, Role::AcrPush, &w.reg.id());
    w.az.arm.assign(OBJECT_ID, arm_auditor(), &w.reg.id());
    w.az.arm
        .assign(OBJECT_ID, Role::TasksContributor, &w.reg.id());
    w.az.arm
        .set_subscription_details(SUB, "Free Trial", "FreeTrial_2014-09-01");
    let tasks = [&["--client-id", CLIENT_ID][..], &CONTEXT[..]].concat();
    let r = run(&w, true, &[], &tasks);
    let f = r.only("TASKS_SUBSCRIPTION_UNSUPPORTED");
    assert_eq!(f["severity"], "warning");
    assert_eq!(f["check"], "identity");
    let title = f["title"].as_str().unwrap();
    assert!(title.contains(&format!("Free Trial ({SUB})")), "{title}");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("`FreeTrial_2014-09-01`"), "{message}");
    assert!(message.contains("TasksOperationsNotAllowed"), "{message}");
    assert!(
        message.contains("oci://myreg.azurecr.io/team/ctx:v1"),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(fix.contains("docker buildx"), "{fix}");
    assert!(fix.contains("upgrade the subscription"), "{fix}");
    assert_eq!(subscription_reads(&w), 1);
    // A warning: the job passes under the default --fail-on error.
    assert_eq!(r.status, 0, "{:#}", r.json);

    w.az.arm
        .set_subscription_details(SUB, "CI", QUOTA_PAY_AS_YOU_GO);
    w.az.arm.clear_requests();
    let r = run(&w, true, &[], &tasks);
    assert_absent(&r, "TASKS_SUBSCRIPTION_UNSUPPORTED");
    assert!(
        r.verified("identity")
            .contains("offer PayAsYouGo_2014-09-01, not a free trial"),
        "{}",
        r.verified("identity")
    );
    assert_eq!(subscription_reads(&w), 1);

    // No Tasks in the build: the subscription is not read.
    w.az.arm
        .set_subscription_details(SUB, "Free Trial", "FreeTrial_2014-09-01");
    w.az.arm.clear_requests();
    let r = run(&w, true, &[], &push_args());
    assert_absent(&r, "TASKS_SUBSCRIPTION_UNSUPPORTED");
    assert_eq!(subscription_reads(&w), 0);
}

const OTHER_SUB: &str = "99999999-8888-7777-6666-555555555555";
const THIRD_SUB: &str = "33333333-4444-5555-6666-777777777777";

/// P15: the run is configured with a subscription that does not hold the registry; the
/// identity sees the registry's subscription too, and the finding names it with the exact
/// input and `az account set`. Without access there, the finding lists what was searched.
#[test]
fn a_registry_in_another_subscription_is_found_and_named() {
    let w = world(false);
    w.az.arm.add_subscription(OTHER_SUB, TENANT);
    w.az.arm
        .set_subscription_details(OTHER_SUB, "Sandbox", QUOTA_PAY_AS_YOU_GO);
    w.az.arm
        .set_subscription_details(SUB, "Production", QUOTA_PAY_AS_YOU_GO);
    w.az.arm.assign(
        OBJECT_ID,
        Role::Reader,
        &format!("/subscriptions/{OTHER_SUB}"),
    );
    w.az.arm.assign(OBJECT_ID, Role::AcrPull, &w.reg.id());
    w.az.arm.assign(OBJECT_ID, Role::Reader, &w.reg.id());
    // One subscription per page: the listing follows nextLink.
    w.az.arm.set_page_size(Some(1));
    let args = [
        "--client-id",
        CLIENT_ID,
        "--push",
        "myreg.azurecr.io/team/app:v2",
    ];
    let r = run_in(&w, OTHER_SUB, true, &[], &args, Some("{}"));
    let f = r.only("REGISTRY_NOT_FOUND");
    assert_eq!(f["severity"], "error");
    let title = f["title"].as_str().unwrap();
    assert!(
        title.contains(&format!("is in subscription {SUB}, not in {OTHER_SUB}")),
        "{title}"
    );
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("Production ({SUB})")),
        "{message}"
    );
    assert!(message.contains(&w.reg.id()), "{message}");
    let fix = f["fix"].as_str().unwrap();
    assert!(fix.contains(&format!("`subscription-id: {SUB}`")), "{fix}");
    assert!(fix.contains(&format!("az account set -s {SUB}")), "{fix}");
    let lists =
        w.az.arm
            .requests()
            .iter()
            .filter(|q| q.path == "/subscriptions")
            .count();
    assert_eq!(lists, 2, "two pages of one subscription each");

    // No role in the registry's subscription: it is not seen, nor named; the other
    // subscriptions searched are.
    w.az.arm.unassign_all(OBJECT_ID);
    w.az.arm.add_subscription(THIRD_SUB, TENANT);
    for sub in [OTHER_SUB, THIRD_SUB] {
        w.az.arm
            .assign(OBJECT_ID, Role::Reader, &format!("/subscriptions/{sub}"));
    }
    let r = run_in(&w, OTHER_SUB, true, &[], &args, Some("{}"));
    let f = r.only("REGISTRY_NOT_FOUND");
    assert!(
        f["title"]
            .as_str()
            .unwrap()
            .contains("no registry named `myreg`"),
        "{f:#}"
    );
    assert!(
        !f["fix"].as_str().unwrap().contains("az account set"),
        "{f:#}"
    );
    assert!(
        f["message"].as_str().unwrap().ends_with(&format!(
            "Nor is it in the other subscription the identity can see: Subscription {THIRD_SUB} ({THIRD_SUB})."
        )),
        "{f:#}"
    );

    // Found in the configured subscription: no subscription is listed.
    w.az.arm.assign(OBJECT_ID, Role::Reader, &w.reg.id());
    w.az.arm.clear_requests();
    let r = run_in(&w, SUB, true, &[], &args, Some("{}"));
    assert_absent(&r, "REGISTRY_NOT_FOUND");
    assert!(
        !w.az
            .arm
            .requests()
            .iter()
            .any(|q| q.path == "/subscriptions"),
        "{:#}",
        r.json
    );
}
