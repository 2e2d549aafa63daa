//! P18: a role assignment not yet in effect. When the registry refuses the identity's
//! pull or push although its ARM permissions allow it, the identity's role assignments
//! (Role Assignments - List For Scope, `createdOn`) tell whether the granting one is new:
//! Azure RBAC changes can take up to 30 minutes to reach the registry's data plane
//! (Microsoft Learn, "Troubleshoot Azure RBAC": role assignment changes not detected).
//! Read only on that failure path: a run whose pulls and pushes pass asks nothing more.

use super::*;
use std::time::{Duration, SystemTime};

/// How long a new role assignment may take to reach the data plane.
const PROPAGATION: Duration = Duration::from_secs(30 * 60);

/// Adds the propagation delay to the registry's ROLE_PULL_MISSING and ROLE_PUSH_MISSING
/// findings for hosts where the identity's exchanged token was presented, ARM says the
/// right is granted, and the newest assignment that may grant it is under 30 minutes old.
pub async fn explain_refusals(
    ctx: &Ctx,
    identity: &mut Outcome,
    registry: &mut crate::findings::CheckReport,
    contexts: &[ContextInfo],
) {
    let Some(oid) = identity.identity.as_ref().and_then(|i| i.object_id.clone()) else {
        return;
    };
    let mut looked_up: BTreeMap<String, Option<Vec<arm::RoleAssignment>>> = BTreeMap::new();
    for f in registry.findings.iter_mut() {
        let push = match f.code {
            Code::ROLE_PULL_MISSING => false,
            Code::ROLE_PUSH_MISSING => true,
            _ => continue,
        };
        let Some(host) = host_of_finding(f, contexts) else {
            continue;
        };
        let presented = identity
            .credentials
            .iter()
            .any(|c| c.host.eq_ignore_ascii_case(&host));
        let allowed = identity
            .arm_rights
            .get(&host)
            .is_some_and(|(pull, push_ok)| if push { *push_ok } else { *pull });
        let (Some(facts), Some(session), true, true) = (
            identity.registries.get(&host).cloned(),
            identity.arm.as_ref(),
            presented,
            allowed,
        ) else {
            continue;
        };
        if !looked_up.contains_key(&host) {
            let listed = bounded_arm(
                ctx,
                &session.cloud,
                arm::role_assignments(
                    &session.http,
                    &session.cloud,
                    &session.token,
                    &facts.id,
                    &oid,
                    &mut identity.requests,
                ),
            )
            .await;
            let kept = match listed {
                Ok(list) => Some(list),
                Err(e) => {
                    identity.report.verified(format!(
                        "{host}: ARM allows the refused {} but the identity's role assignments could not be read to date them ({})",
                        if push { "push" } else { "pull" },
                        e.describe()
                    ));
                    None
                }
            };
            looked_up.insert(host.clone(), kept);
        }
        let Some(Some(assignments)) = looked_up.get(&host) else {
            continue;
        };
        let now = SystemTime::now();
        match newest_granting(assignments, &facts, push) {
            Some((a, created)) if now.duration_since(created).unwrap_or_default() < PROPAGATION => {
                amend(f, a, created, now, push);
            }
            Some((a, created)) => identity.report.verified(format!(
                "{host}: ARM allows the refused {} through {} assigned {}: not a propagation delay",
                if push { "push" } else { "pull" },
                role_name(a),
                crate::jwt::describe_distance(created, now)
            )),
            None => {}
        }
    }
}

/// The registry host a registry finding is about: its reference's context.
fn host_of_finding(f: &Finding, contexts: &[ContextInfo]) -> Option<String> {
    let reference = f.reference.as_deref()?.trim();
    contexts
        .iter()
        .find(|c| c.reference.trim() == reference)
        .and_then(|c| c.registry.as_deref())
        .map(str::to_ascii_lowercase)
}

/// The newest dated assignment covering the registry whose role may grant the right (a
/// custom role counts: the run does not read its definition).
fn newest_granting<'a>(
    assignments: &'a [arm::RoleAssignment],
    facts: &RegistryFacts,
    push: bool,
) -> Option<(&'a arm::RoleAssignment, SystemTime)> {
    let registry = facts.id.to_ascii_lowercase();
    assignments
        .iter()
        .filter(|a| {
            let scope = a.scope.trim_end_matches('/').to_ascii_lowercase();
            registry == scope || registry.starts_with(&format!("{scope}/"))
        })
        .filter(|a| a.may_grant(push, facts.abac()) != Some(false))
        .filter_map(|a| Some((a, crate::jwt::parse_utc(a.created_on.as_deref()?)?)))
        .max_by_key(|(_, created)| *created)
}

fn role_name(a: &arm::RoleAssignment) -> String {
    a.builtin_name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("the role {}", a.role_definition_id))
}

/// Says in the finding that the granting assignment is new.
fn amend(
    f: &mut Finding,
    a: &arm::RoleAssignment,
    created: SystemTime,
    now: SystemTime,
    push: bool,
) {
    let ago = crate::jwt::describe_distance(created, now);
    let role = role_name(a);
    f.title = format!("{}: {role} was assigned {ago}", f.title);
    f.message = format!(
        "{} ARM already shows the right: {role} was assigned to the identity on {} {ago} ({}), and its effective permissions allow {}. Azure RBAC changes can take up to 30 minutes to reach the registry's data plane, so the refusal is most likely that assignment not yet in effect.",
        f.message,
        a.scope,
        crate::jwt::format_utc(created),
        if push { "push" } else { "pull" }
    );
    f.fix = format!(
        "Re-run the job after {} (30 minutes after the assignment); create role assignments in an earlier, separate workflow or job than the build, so they are in effect when it runs. If the registry still refuses after that:\n{}",
        crate::jwt::format_utc(created + PROPAGATION),
        f.fix
    );
}
