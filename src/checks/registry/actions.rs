//! Repository actions beyond pull and push that the job's later `az acr` commands need
//! (P17): `az acr repository update` with a changed attribute (a tag or repository
//! lock) needs `metadata_write`, `az acr repository delete`/`untag` and
//! `az acr manifest delete` need `delete`. AcrPush grants neither. For each command that
//! runs as the identity this run holds an ACR token of, the token endpoint is asked for
//! the scope azure-cli asks (`repository:<repo>:metadata_write,metadata_read`, …), with
//! the same credential, and the granted `access` is read as for pull and push.
//!
//! Round trips: one token request per (repository, action set), only when such a
//! command runs as this identity; none otherwise.

use super::*;
use crate::workflow::AcrAzCall;

/// Proves the repository rights of the job's later `az acr` commands on `host`.
pub(super) async fn check_all(
    ctx: &Ctx,
    client: &Client,
    host: &str,
    access: &Access,
    identity: &Identity,
    hints: &RoleHints,
) -> Lookup {
    let mut out = Lookup::default();
    let Some(name) = acr_name(host) else {
        return out;
    };
    let resource = hints.facts(host).map(|f| f.name.as_str());
    let mut asked: BTreeMap<(&str, &str), Vec<&AcrAzCall>> = BTreeMap::new();
    for call in ctx.acr_az_calls.iter().filter(|c| {
        c.registry.eq_ignore_ascii_case(name)
            || resource.is_some_and(|r| c.registry.eq_ignore_ascii_case(r))
    }) {
        let Some(action) = &call.action else {
            continue;
        };
        let at = format!(
            "`{}` ({}) needs {} on `{}`",
            call.call.what,
            call.call.location.file_line(),
            action.needs,
            action.repository
        );
        match call.call.runs_as(hints.client_id.as_deref()) {
            Some(true) if identity.entra && access.token_source.is_some() => {
                asked
                    .entry((action.repository.as_str(), action.scope_actions))
                    .or_default()
                    .push(call);
            }
            Some(true) => out.verified.push(format!(
                "{host}: {at}; not checked: this run holds no ACR token of the Azure identity for {host}"
            )),
            Some(false) => out.verified.push(format!(
                "{host}: {at}; not checked: it runs as another identity, {} ({})",
                call.call.session_client_id(),
                call.call.session()
            )),
            None => out.verified.push(format!(
                "{host}: {at}; not checked: the workflow does not name the identity of its Azure CLI session"
            )),
        }
    }
    let Some(source) = &access.token_source else {
        return out;
    };
    for ((repo, actions), calls) in asked {
        let Some(needs) = calls
            .first()
            .and_then(|c| c.action.as_ref())
            .map(|a| a.needs)
        else {
            continue;
        };
        let scope = format!("repository:{repo}:{actions}");
        let result = client
            .token(
                host,
                &source.realm,
                source.service.as_deref(),
                std::slice::from_ref(&scope),
                source.credential.as_ref(),
            )
            .await;
        let seen = match result {
            Ok(token) => match wire::granted_actions(&token.token, repo) {
                Some(granted) if wire::allows(&granted, needs) => {
                    out.verified.push(format!(
                        "{host}: token for {} grants {needs} on `{repo}` (asked `{scope}`), for {}",
                        identity.short,
                        commands(&calls)
                    ));
                    continue;
                }
                Some(granted) => format!(
                    "the token endpoint answered `{scope}` with a token that grants {}",
                    if granted.is_empty() {
                        "no actions".to_string()
                    } else {
                        granted.join(",")
                    }
                ),
                None => {
                    out.verified.push(format!(
                        "{host}: {needs} on `{repo}` not proven: the token for `{scope}` is opaque ({})",
                        commands(&calls)
                    ));
                    continue;
                }
            },
            Err(TokenError::Refused(reply)) => {
                format!("the token endpoint refused `{scope}`: {}", reply.describe())
            }
            // The host's reachability is reported with the rest of the check.
            Err(_) => {
                out.verified.push(format!(
                    "{host}: {needs} on `{repo}` not checked: the token request for `{scope}` did not complete ({})",
                    commands(&calls)
                ));
                continue;
            }
        };
        for call in calls {
            out.findings.push(action_missing(
                host, repo, needs, &seen, call, identity, hints,
            ));
        }
    }
    out
}

/// The commands of a group, for evidence: `` `az acr repository update` (file:line) ``.
fn commands(calls: &[&AcrAzCall]) -> String {
    calls
        .iter()
        .map(|c| format!("`{}` ({})", c.call.what, c.call.location.file_line()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// ROLE_ACTION_MISSING at the command.
fn action_missing(
    host: &str,
    repo: &str,
    needs: &str,
    seen: &str,
    call: &AcrAzCall,
    identity: &Identity,
    hints: &RoleHints,
) -> Finding {
    let what = &call.call.what;
    let target = call
        .action
        .as_ref()
        .map(|a| a.target.as_str())
        .unwrap_or(repo);
    let why = if needs == "delete" {
        "deletes tags or manifests, which needs the repository action `delete`"
    } else {
        "changes the repository's or tag's attributes (a lock), which needs the repository action `metadata_write`"
    };
    let how = match call.call.session() {
        "" => String::new(),
        s => format!(" ({s})"),
    };
    finding(
        Code::ROLE_ACTION_MISSING,
        Severity::Error,
        format!(
            "`{what}` in step `{}` will be refused: {} lacks `{needs}` on `{repo}` at {host}",
            call.call.step.label, identity.short
        ),
        format!(
            "`{what}` on `{target}` ({}) runs after this step as the same identity{how} and {why}. Asked with the identity's ACR token, {seen}; azure-cli then fails with `unauthorized`.",
            call.call.location.file_line()
        ),
        action_fix(host, repo, needs, hints),
    )
    .at(
        &call.call.location.file,
        call.call.location.line,
        call.call.location.column,
    )
}
