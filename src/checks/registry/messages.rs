//! The words of the registry check: titles, messages, fixes and the commands they name.
//! Detection (requests, what the answers mean, severities) lives in `mod.rs`.

use super::*;

pub(super) fn short_type(media_type: &str) -> &str {
    match media_type {
        wire::OCI_INDEX => "OCI index",
        wire::OCI_MANIFEST => "OCI manifest",
        wire::DOCKER_LIST => "Docker manifest list",
        wire::DOCKER_MANIFEST => "Docker manifest",
        other => other,
    }
}

pub(super) fn problem_note(identity: &Identity) -> String {
    match identity.problem {
        Some(code) => format!(" The credentials check explains why there is none: {code}."),
        None => String::new(),
    }
}

pub(super) fn identity_short(identity: &Identity) -> String {
    identity.short.clone()
}

/// A tag or digest the registry does not serve, as the request saw it.
pub(super) struct MissingTag<'a> {
    pub(super) host: &'a str,
    pub(super) repository: &'a str,
    /// The reference as written (`host/repo:tag`), for the corrected one in the fix.
    pub(super) written: &'a str,
    /// The reference names a digest.
    pub(super) by_digest: bool,
    pub(super) reference: &'a str,
    /// What the manifest request saw, one sentence.
    pub(super) seen: &'a str,
    /// The registry refused (401/403) rather than answering 404.
    pub(super) refused: bool,
    /// The token is known to grant pull on the repository.
    pub(super) pull_proven: bool,
}

/// CONTEXT_ACCESS_DENIED: the tag is listed and the token may pull, yet the manifest
/// request is refused.
pub(super) fn refused_although_listed(
    host: &str,
    repo: &str,
    reference: &str,
    seen: &str,
) -> Finding {
    finding(
        Code::CONTEXT_ACCESS_DENIED,
        Severity::Error,
        format!("{host} refuses `{repo}:{reference}` although the token may pull it"),
        format!(
            "{seen}. The token grants pull on `{repo}` and the tag is listed, yet the manifest request is refused."
        ),
        access_denied_fix(host, repo),
    )
}

/// CONTEXT_NOT_FOUND for a tag or digest, with the tags that exist and the nearest.
pub(super) fn tag_not_found(missing: &MissingTag, tags: &[String], tag_note: &str) -> Finding {
    let (host, repo, reference, seen) = (
        missing.host,
        missing.repository,
        missing.reference,
        missing.seen,
    );
    let reference_written = missing.written;
    let by_digest = missing.by_digest;
    let mut sorted = tags.to_vec();
    sorted.sort();
    let suggestion = crate::suggest::nearest_tag(reference, &sorted, 3);
    let near = &suggestion.near;
    let listed = if sorted.is_empty() {
        "The repository has no tags.".to_string()
    } else {
        format!(
            "Tags ({}): {}{}",
            sorted.len(),
            sorted
                .iter()
                .take(10)
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            if sorted.len() > 10 { ", …" } else { "" }
        )
    };
    let what = if by_digest { "digest" } else { "tag" };
    let answer = if missing.refused {
        format!(
            " The registry answered {} instead of 404, which ACR does for missing tags; the token does grant pull on `{repo}`.",
            if seen.contains("403") { "403" } else { "401" }
        )
    } else if missing.pull_proven {
        format!(" The token grants pull on `{repo}`, so the {what} is missing, not the right.")
    } else {
        String::new()
    };
    let fix = match (near.first(), suggestion.newest_of_shape) {
        (Some(_), Some(newest)) if !by_digest => format!(
            "`{reference}` is newer than every tag of its shape in {host}/{repo}: was it pushed yet? Push it before this step, or use the newest one, `{newest}`: `{}`.{}",
            replace_reference(reference_written, reference, newest),
            acr_name(host)
                .map(|_| format!(" The newest tags: `{}`", list_command(host, repo)))
                .unwrap_or_default(),
        ),
        (Some(best), _) => format!(
            "Did you mean `{best}`? Use `{}`{}.",
            replace_reference(reference_written, reference, best),
            if near.len() > 1 {
                format!(" (other near tags: {})", near[1..].join(", "))
            } else {
                String::new()
            }
        ),
        (None, _) => format!(
            "Push the {what} first, or correct the reference; `{}` lists what exists.",
            list_command(host, repo)
        ),
    };
    // Listing the newest tags is the one command that settles it (ACR only: the
    // generic form needs a token).
    let commands: Vec<String> = acr_name(host)
        .filter(|_| near.is_empty() || suggestion.newest_of_shape.is_some())
        .map(|_| list_command(host, repo))
        .into_iter()
        .collect();
    finding(
        Code::CONTEXT_NOT_FOUND,
        Severity::Error,
        format!("{what} `{reference}` does not exist in {host}/{repo}"),
        format!("{seen}.{answer} {listed}{tag_note}"),
        fix,
    )
    .with_commands(commands)
}

/// CONTEXT_NOT_FOUND for a repository, with the nearest names the catalog lists.
pub(super) fn repository_not_found(
    host: &str,
    target: &Target,
    seen: &str,
    repos: &[String],
    tag_note: &str,
) -> Finding {
    let repo = &target.repository;
    let near = crate::suggest::nearest(repo, repos, 3);
    let fix = match near.first() {
        Some(best) => format!(
            "Did you mean repository `{best}`? Use `{}`.",
            target
                .info
                .reference
                .replacen(&format!("/{repo}"), &format!("/{best}"), 1)
        ),
        None => format!(
            "Push the {} to `{host}/{repo}` first, or correct the repository name{}.",
            target.info.role.noun(),
            if repos.is_empty() {
                String::new()
            } else {
                format!(
                    " (repositories: {})",
                    repos
                        .iter()
                        .take(10)
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        ),
    };
    finding(
        Code::CONTEXT_NOT_FOUND,
        Severity::Error,
        format!("repository `{repo}` does not exist on {host}"),
        format!(
            "{seen}; its tag list is not available either{}.{tag_note}",
            if repos.is_empty() {
                " and the catalog is not readable with this credential".to_string()
            } else {
                format!("; the catalog lists {} repositories", repos.len())
            }
        ),
        fix,
    )
}

/// "ctx:v1: sha256:… (OCI index, 512 bytes; platforms linux/amd64)".
pub(super) fn served_fact(
    reference: &str,
    digest: Option<&str>,
    media_type: Option<&str>,
    size: u64,
    platforms: &[String],
) -> String {
    let platforms = if platforms.is_empty() {
        String::new()
    } else {
        format!("; platforms {}", platforms.join(", "))
    };
    format!(
        "{reference}: {} ({}, {size} bytes{platforms})",
        digest.unwrap_or("no digest header"),
        media_type.map(short_type).unwrap_or("unknown type"),
    )
}

/// REGISTRY_UNEXPECTED: a pinned digest answered with another.
pub(super) fn digest_mismatch(
    host: &str,
    reference: &str,
    seen: &str,
    pinned: &str,
    got: &str,
) -> Finding {
    finding(
        Code::REGISTRY_UNEXPECTED,
        Severity::Error,
        format!("{host} answered {reference} with another digest"),
        format!("{seen}: the registry returned {got} for the pinned digest {pinned}."),
        "Check for a proxy or mirror that rewrites manifests between the runner and the registry."
            .into(),
    )
}

/// ROLE_PULL_MISSING: the registry refused the credential's pull.
pub(super) fn pull_refused(
    host: &str,
    repository: &str,
    seen: &str,
    identity: &Identity,
    hints: &RoleHints,
) -> Finding {
    finding(
        Code::ROLE_PULL_MISSING,
        Severity::Error,
        format!(
            "{} may not pull `{repository}` on {host}",
            identity_short(identity)
        ),
        format!(
            "{seen}. The credential is {}.{}",
            identity.described,
            problem_note(identity)
        ),
        pull_fix(host, repository, identity, hints),
    )
}

pub(super) fn replace_reference(written: &str, old: &str, new: &str) -> String {
    match written.rfind(&format!(":{old}")) {
        Some(i) => format!("{}:{new}{}", &written[..i], &written[i + 1 + old.len()..]),
        None => format!("{written}:{new}"),
    }
}

pub(super) fn acr_name(host: &str) -> Option<&str> {
    crate::cloud::acr_registry(host)
}

pub(super) fn list_command(host: &str, repo: &str) -> String {
    match acr_name(host) {
        Some(name) => format!(
            "az acr repository show-tags -n {name} --repository {repo} --orderby time_desc --top 10"
        ),
        None => format!("curl -s https://{host}/v2/{repo}/tags/list (with a token)"),
    }
}

pub(super) fn access_denied_fix(host: &str, repo: &str) -> String {
    match acr_name(host) {
        Some(name) => format!(
            "If the registry uses ABAC repository permissions, the identity needs Container Registry Repository Reader with a condition that includes `{repo}`; a repository-scoped token needs `content/read` in its scope map (`az acr scope-map show -r {name} -n <map>`). A role assigned minutes ago may not apply yet: wait and run again."
        ),
        None => format!(
            "Ask the registry's administrator why `{repo}` is refused to this credential although its token grants pull."
        ),
    }
}

pub(super) fn pull_fix(host: &str, repo: &str, identity: &Identity, hints: &RoleHints) -> String {
    role_fix(host, repo, false, identity, hints)
}

pub(super) fn role_fix(
    host: &str,
    repo: &str,
    push: bool,
    identity: &Identity,
    hints: &RoleHints,
) -> String {
    let role = if push { "AcrPush" } else { "AcrPull" };
    let abac = if push {
        "Container Registry Repository Writer"
    } else {
        "Container Registry Repository Reader"
    };
    if credential_unverifiable(identity) {
        return format!(
            "The registry gives anonymous callers no {} right on `{repo}`, and the credential the build would present is not visible from this container action ({}). Run the check on the runner, where it presents the same credential as the build:\nuses: {}{}",
            if push { "push" } else { "pull" },
            identity.problem.map(|c| c.as_str()).unwrap_or_default(),
            crate::action_container::HOST_MODE_USES,
            if identity.problem == Some(Code::CONTAINER_PATH_UNMOUNTED) {
                "\nor give both steps a docker config in the workspace (see CONTAINER_PATH_UNMOUNTED)."
            } else {
                ""
            }
        );
    }
    if identity.credential.is_none() {
        return format!(
            "The registry gives anonymous callers no {} right on `{repo}`: log in before this step (see the credentials check){}.",
            if push { "push" } else { "pull" },
            acr_name(host)
                .map(|n| format!(": `az acr login -n {n}`"))
                .unwrap_or_default()
        );
    }
    if let (Some((user, map)), Some(c), Some(facts)) = (
        hints.scope_maps.get(host),
        &identity.credential,
        hints.facts(host),
    ) && c.username() == user
    {
        return format!(
            "`{user}` is a repository-scoped token of the registry, bound to the scope map {} (ARM: {}/tokens/{user}), which lists: {}. Add the repository to the scope map (every token bound to it gains it):\naz acr scope-map update -n {} -r {} --add-repository {repo} {}",
            map.name,
            facts.id,
            if map.actions.is_empty() {
                "nothing".to_string()
            } else {
                map.actions.join(", ")
            },
            map.name,
            facts.name,
            if push {
                "content/read content/write"
            } else {
                "content/read"
            }
        );
    }
    let assignee = hints
        .client_id
        .clone()
        .unwrap_or_else(|| "<client-id or object-id>".into());
    if let Some(facts) = hints.registries.get(host) {
        let condition = abac_condition(
            if push {
                "Microsoft.ContainerRegistry/registries/repositories/content/write"
            } else {
                "Microsoft.ContainerRegistry/registries/repositories/content/read"
            },
            repo,
        );
        return if facts.abac() {
            format!(
                "{host} uses ABAC repository permissions: assign a repository role (AcrPull/AcrPush do not apply in this mode):\naz role assignment create --assignee {assignee} --role \"{abac}\" --scope {}{condition}\nNew assignments can take a few minutes to apply.",
                facts.id
            )
        } else {
            format!(
                "az role assignment create --assignee {assignee} --role {role} --scope {}\nNew assignments can take a few minutes to apply.",
                facts.id
            )
        };
    }
    match acr_name(host) {
        Some(name) => format!(
            "Assign the role to the identity behind this credential:\naz role assignment create --assignee {assignee} --role {role} --scope $(az acr show -n {name} --query id -o tsv)\nIf the registry uses ABAC repository permissions (roleAssignmentMode), assign {abac} with a condition for `{repo}` instead. For a repository-scoped token, add `{}` for `{repo}` to its scope map. New assignments can take a few minutes to apply.",
            if push {
                "content/write"
            } else {
                "content/read"
            }
        ),
        None => format!(
            "Grant {} on `{repo}` to this user in the registry's access control (for distribution's token auth: the token server's ACL).",
            if push { "pull and push" } else { "pull" }
        ),
    }
}

/// The `--condition` of an ABAC role assignment that limits `data_action` to `repo`.
pub(super) fn abac_condition(data_action: &str, repo: &str) -> String {
    format!(
        " --condition \"((!(ActionMatches{{'{data_action}'}})) OR (@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEqualsIgnoreCase '{repo}'))\" --condition-version 2.0"
    )
}

/// The fix for a repository action (`metadata_write`, `delete`) the identity lacks: in
/// RBAC mode AcrDelete for `delete`, and for `metadata_write`, which AcrPush's actions
/// (`pull/read`, `push/write`) do not name, a custom role with the repository metadata
/// data actions; in ABAC mode the repository role that carries it, limited to `repo`.
pub(super) fn action_fix(host: &str, repo: &str, needs: &str, hints: &RoleHints) -> String {
    let assignee = hints
        .client_id
        .clone()
        .unwrap_or_else(|| "<client-id or object-id>".into());
    let facts = hints.facts(host);
    let scope = match (facts, acr_name(host)) {
        (Some(f), _) => f.id.clone(),
        (None, Some(name)) => format!("$(az acr show -n {name} --query id -o tsv)"),
        (None, None) => "<registry id>".into(),
    };
    let (abac_role, data_action) = if needs == "delete" {
        (
            "Container Registry Repository Contributor",
            "Microsoft.ContainerRegistry/registries/repositories/content/delete",
        )
    } else {
        (
            "Container Registry Repository Writer",
            "Microsoft.ContainerRegistry/registries/repositories/metadata/write",
        )
    };
    let abac = format!(
        "az role assignment create --assignee {assignee} --role \"{abac_role}\" --scope {scope}{}",
        abac_condition(data_action, repo)
    );
    let rbac = if needs == "delete" {
        format!("az role assignment create --assignee {assignee} --role AcrDelete --scope {scope}")
    } else {
        format!(
            "az role definition create --role-definition '{{\"Name\":\"ACR repository metadata writer\",\"Actions\":[],\"DataActions\":[\"Microsoft.ContainerRegistry/registries/repositories/metadata/read\",\"Microsoft.ContainerRegistry/registries/repositories/metadata/write\"],\"AssignableScopes\":[\"{scope}\"]}}'\naz role assignment create --assignee {assignee} --role \"ACR repository metadata writer\" --scope {scope}"
        )
    };
    let late = "New assignments can take a few minutes to apply.";
    match facts {
        Some(f) if f.abac() => format!(
            "{host} uses ABAC repository permissions: assign the repository role that carries {needs}, limited to `{repo}`:\n{abac}\n{late}"
        ),
        Some(_) => format!("{}:\n{rbac}\n{late}", rbac_intro(needs)),
        None => format!(
            "{}:\n{rbac}\nIf the registry uses ABAC repository permissions (roleAssignmentMode), assign instead:\n{abac}\n{late}",
            rbac_intro(needs)
        ),
    }
}

fn rbac_intro(needs: &str) -> &'static str {
    if needs == "delete" {
        "Assign AcrDelete (AcrPush does not carry `delete`)"
    } else {
        "AcrPush does not carry `metadata_write`; give the identity a role with the repository metadata data actions"
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn role_finding(
    hints: &RoleHints,
    host: &str,
    repo: &str,
    push: bool,
    granted: &str,
    who: &str,
    identity: &Identity,
    targets: &[&Target],
) -> Finding {
    let (code, action) = if push {
        (Code::ROLE_PUSH_MISSING, "push")
    } else {
        (Code::ROLE_PULL_MISSING, "pull")
    };
    let refs: Vec<String> = targets
        .iter()
        .map(|t| format!("`{}`", t.info.reference))
        .collect();
    let hub_user = identity
        .credential
        .as_ref()
        .map(|c| c.username())
        .filter(|u| push && crate::reference::is_docker_hub(host) && !u.is_empty());
    if let Some(user) = hub_user {
        let asked = format!(
            "The token server answered the request for `{}` with a token for {who} that grants {granted} on `{repo}` (needed: pull,push). References: {}.",
            registry::repository_scope(repo, true),
            refs.join(", ")
        );
        let finding = hub_namespace_finding(repo, user, &asked, targets)
            .about_first(targets.first().map(|t| t.info.reference.clone()));
        return unverifiable_as_warning(identity, finding);
    }
    let finding = finding(
        code,
        Severity::Error,
        format!(
            "{} may not {action} `{repo}` on {host}",
            identity_short(identity)
        ),
        format!(
            "The token server answered the request for `{}` with a token for {who} that grants {granted} on `{repo}` (needed: {}). References: {}.{}",
            registry::repository_scope(repo, push),
            if push { "pull,push" } else { "pull" },
            refs.join(", "),
            problem_note(identity)
        ),
        role_fix(host, repo, push, identity, hints),
    )
    .about_first(targets.first().map(|t| t.info.reference.clone()));
    unverifiable_as_warning(identity, finding)
}

/// ROLE_PUSH_MISSING on Docker Hub (P37): a repository is `<namespace>/<name>`, and
/// Docker Hub grants push in a namespace only to the user of that name or to members of
/// the organization of that name with write access, and only with a password or an
/// access token of Read & Write scope. The token's `access` claim said push is not
/// granted (https://distribution.github.io/distribution/spec/auth/jwt/).
fn hub_namespace_finding(repo: &str, user: &str, asked: &str, targets: &[&Target]) -> Finding {
    let (namespace, name) = repo.split_once('/').unwrap_or(("library", repo));
    let login = user.to_ascii_lowercase();
    let token_scope = "log in with a password or an access token of Read & Write scope (Docker Hub → Account settings → Personal access tokens; a Read-only or Public Repo Read-only token cannot push), stored as the secret the login step uses, e.g. `password: ${{ secrets.DOCKERHUB_TOKEN }}`";
    let (message, fix) = if namespace.eq_ignore_ascii_case(user) {
        (
            format!(
                "{asked} `{namespace}` is the namespace of the logged-in user `{user}` itself, so the credential lacks the write scope: it is an access token that may only read."
            ),
            format!(
                "Create an access token with Read & Write scope for `{user}` and {token_scope}."
            ),
        )
    } else {
        let tag = targets
            .first()
            .and_then(|t| t.info.digest.clone().or_else(|| t.info.tag.clone()))
            .unwrap_or_else(|| "latest".into());
        let sep = if tag.starts_with("sha256:") { '@' } else { ':' };
        (
            format!(
                "{asked} The repository is in the Docker Hub namespace `{namespace}`, and the docker config's credential is the user `{user}`: Docker Hub lets a user push only to their own namespace (`{login}/…`) or to an organization's where a team they belong to has Read & Write access to the repository."
            ),
            format!(
                "Push to your own namespace: `docker.io/{login}/{name}{sep}{tag}`. Or have an owner of the organization `{namespace}` add `{user}` to a team with Read & Write access to `{repo}` (Docker Hub → Organizations → {namespace} → Teams). If `{user}` already has that access, {token_scope}."
            ),
        )
    };
    finding(
        Code::ROLE_PUSH_MISSING,
        Severity::Error,
        format!("`{user}` may not push to the Docker Hub namespace `{namespace}` (`{repo}`)"),
        message,
        fix,
    )
}

/// Says where the credential went for a token: REGISTRY_REALM_ELSEWHERE when the
/// realm is on another host than the registry (docker sends the credential there too),
/// an evidence line when it is plain http on this machine. Nothing for an anonymous
/// request or a stored registry token, which is never sent to the realm.
pub(super) fn realm_evidence(
    client: &Client,
    host: &str,
    realm: &str,
    identity: &Identity,
    report: &mut CheckReport,
) {
    let Some(credential) = &identity.credential else {
        return;
    };
    if credential.kind() == crate::docker::credential::CredentialKind::RegistryToken {
        return;
    }
    let (Ok(realm_url), Ok(base)) = (reqwest::Url::parse(realm), client.base(host)) else {
        return;
    };
    let realm_host = realm_url.host_str().unwrap_or_default().to_string();
    let plain = realm_url.scheme() == "http";
    let origin = realm_url.origin().ascii_serialization();
    // Docker Hub's own token service is on another host by design.
    let hub_realm = crate::reference::is_docker_hub(host) && realm_host == "auth.docker.io";
    if realm_host != base.host_str().unwrap_or_default() && !hub_realm {
        report.push(finding(
            Code::REGISTRY_REALM_ELSEWHERE,
            Severity::Notice,
            format!("{host} sends the credential to a token realm on another host, {realm_host}"),
            format!(
                "GET /v2/ on {host} named the token realm {origin}{}. Docker sends {} there to get a registry token, and so did this check, to verify what the build will do.",
                if plain { " (plain http, allowed only because the registry and the realm are both on this machine)" } else { "" },
                credential.describe()
            ),
            format!("Nothing to fix if {realm_host} is {host}'s own token service (Docker Hub's is auth.docker.io; ACR's is the registry itself). Otherwise use the registry's own login server, not a proxy or mirror that rewrites its challenge."),
        ));
    } else if plain {
        report.verified(format!(
            "{host}: the credential went to the token realm {origin} over plain http (allowed only because the registry and the realm are both on this machine)"
        ));
    }
}

pub(super) fn rejected_finding(
    ctx: &Ctx,
    host: &str,
    realm: &str,
    reply: &Reply,
    identity: &Identity,
    hints: &RoleHints,
) -> Finding {
    let what = match &identity.credential {
        Some(c) => c.describe(),
        None => "the anonymous request".into(),
    };
    let mut fix = crate::checks::credentials::login_fix(ctx, host);
    if identity
        .credential
        .as_ref()
        .is_some_and(|c| c.kind() == crate::docker::credential::CredentialKind::IdentityToken)
    {
        fix = format!(
            "The refresh token is no longer accepted (expired, revoked, or issued for another registry): log in again.\n{fix}"
        );
    } else if let (Some(true), Some(name)) = (admin_user(host, identity, hints), acr_name(host)) {
        fix = admin_password_fix(name, &fix);
    } else if acr_name(host).is_some() {
        fix.push_str("\nFor a service principal the username is its client ID and the password its client secret (not the admin password).");
    }
    if hints
        .facts(host)
        .is_some_and(|f| f.anonymous_pull_enabled == Some(true))
    {
        fix.push_str(&format!("\n{host} allows anonymous pull (ARM anonymousPullEnabled true): a build that only pulls works without any login, and a stale credential is what breaks it there: docker logout {host}"));
    }
    finding(
        Code::CRED_REJECTED,
        Severity::Error,
        format!("{host} refused the credential docker would use"),
        format!(
            "The token endpoint {} refused {what} ({}): {}.",
            wire::shorten(realm, 200),
            identity.described,
            reply.describe()
        ),
        fix,
    )
}

/// The fix for a refused admin user whose account ARM says is enabled: its password
/// was changed.
pub(super) fn admin_password_fix(name: &str, login: &str) -> String {
    format!(
        "The username is the admin account, which ARM says is enabled, so the password is the wrong one: it was most likely regenerated (`az acr credential renew`). Read the current one and update the secret the workflow logs in with:\naz acr credential show -n {name} --query \"passwords[0].value\" -o tsv\n{login}\nBetter: drop the admin account and sign in with an Entra identity that holds AcrPull/AcrPush (`az acr login -n {name}` after azure/login with OIDC)."
    )
}

pub(super) fn challenge_finding(host: &str, reply: &Reply, what: &str) -> Finding {
    finding(
        Code::REGISTRY_CHALLENGE,
        Severity::Error,
        format!("{host} answered /v2/ without a usable authentication challenge"),
        format!(
            "GET /v2/ → {}: {what}. A registry answers 401 with `WWW-Authenticate: Bearer realm=…,service=…` (or Basic).",
            reply.describe()
        ),
        format!(
            "Check that `{host}` is the registry's login server and that no proxy strips or rewrites the WWW-Authenticate header."
        ),
    )
}

pub(super) fn forbidden_finding(
    host: &str,
    reply: &Reply,
    targets: &[Target],
    facts: Option<&crate::azure::arm::RegistryFacts>,
) -> Finding {
    let message_text = wire::describe_errors(&reply.errors());
    let ip = message_text
        .split("client with IP '")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_string);
    let ip = ip.as_deref().unwrap_or("<runner public IP>");
    let (seen, arm_fix) = match (facts, acr_name(host)) {
        (Some(f), Some(name)) => network_facts(host, f, name, ip),
        _ => (String::new(), None),
    };
    let fix = match (arm_fix, acr_name(host)) {
        (Some(fix), _) => fix,
        (None, Some(name)) => format!(
            "The registry's firewall refuses this runner. Allow its address: az acr network-rule add --name {name} --ip-address {ip}\nor, if public access was switched off on purpose, run the job on a runner inside the registry's network (self-hosted runner with a private endpoint); to reopen public access: az acr update --name {name} --public-network-enabled true --default-action Allow"
        ),
        (None, None) => format!("Ask the administrator of {host} to allow this runner's address."),
    };
    finding(
        Code::NET_FORBIDDEN,
        Severity::Error,
        format!("{host} refuses this runner before authentication (403)"),
        format!(
            "GET /v2/ → {}. A 403 here, before any credential, is a network rule or disabled public access, not a role problem.{seen} Affects {}.",
            reply.describe(),
            refs_of(targets)
        ),
        fix,
    )
}

/// What ARM's registry properties say about a 403 before authentication: the evidence
/// (" ARM (GET …) shows …") and, when they explain it, the fix they call for.
pub(super) fn network_facts(
    host: &str,
    f: &crate::azure::arm::RegistryFacts,
    name: &str,
    ip: &str,
) -> (String, Option<String>) {
    let rules = if f.ip_rules.is_empty() {
        "none".to_string()
    } else {
        f.ip_rules.join(", ")
    };
    let data = (f.data_endpoint_enabled == Some(true)).then(|| {
        if f.data_endpoint_host_names.is_empty() {
            format!("{name}.<region>.data.azurecr.io")
        } else {
            f.data_endpoint_host_names.join(", ")
        }
    });
    let seen = format!(
        " ARM (GET {}) shows publicNetworkAccess {}, networkRuleSet.defaultAction {}, ipRules {rules}{}.",
        f.id,
        f.public_network_access.as_deref().unwrap_or("(not given)"),
        f.network_default_action.as_deref().unwrap_or("(not given)"),
        data.as_deref()
            .map(|d| format!(", dataEndpointEnabled true ({d})"))
            .unwrap_or_default()
    );
    let data_note = data
        .map(|d| format!("\nDedicated data endpoints are on: layers come from {d}, so proxies and egress allow-lists on the runner's side must let those hosts through as well as {host}."))
        .unwrap_or_default();
    let fix = if f
        .public_network_access
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("Disabled"))
    {
        Some(format!(
            "Public network access is disabled, so only private endpoints reach {host} and no IP rule lets this runner in. Run the job on a runner inside the registry's network (a self-hosted runner in a virtual network with a private endpoint to the registry and the privatelink.azurecr.io DNS zone). If public access was not switched off on purpose: az acr update --name {name} --public-network-enabled true{data_note}"
        ))
    } else if f
        .network_default_action
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case("Deny"))
    {
        Some(format!(
            "The registry's network rules deny by default and allow only {rules}. Allow the runner's address: az acr network-rule add --name {name} --ip-address {ip}\nGitHub-hosted runners change addresses from job to job: for them, a self-hosted runner with a fixed egress address or a private endpoint is the lasting fix.{data_note}"
        ))
    } else {
        None
    };
    (seen, fix)
}

pub(super) fn unexpected_finding(host: &str, what: &str, reply: &Reply) -> Finding {
    finding(
        Code::REGISTRY_UNEXPECTED,
        Severity::Error,
        format!("{host} gave an unexpected answer ({})", reply.status),
        format!("{what} → {}.", reply.describe()),
        "Retry later; if it persists, check the registry's status page or a proxy between the runner and the registry.".into(),
    )
}

/// NET_TIMEOUT naming `host:port`, the phase that stalled, the endpoint and the time.
pub(super) fn stall_finding(
    host: &str,
    e: &NetError,
    stall: &registry::Stall,
    affected: &str,
) -> Finding {
    use crate::registry::stall::Phase;
    let api = registry::api_host(host);
    let elapsed = registry::seconds(stall.elapsed);
    let endpoint = match e.endpoint {
        registry::Endpoint::Ping => "GET /v2/",
        registry::Endpoint::Token => "token endpoint",
        registry::Endpoint::Manifest => "manifest",
        registry::Endpoint::Tags => "tag list",
        registry::Endpoint::Catalog => "catalog",
        registry::Endpoint::Exchange => "/oauth2/exchange",
        registry::Endpoint::Upload => "blob upload",
        registry::Endpoint::Blob => "blob",
        registry::Endpoint::Storage => "blob storage",
        registry::Endpoint::AcrMetadata => "/acr/v1/ metadata",
        registry::Endpoint::Other => "request",
    };
    let target = &stall.target;
    let dialed = stall
        .addr
        .map(|a| a.to_string())
        .unwrap_or_else(|| target.clone());
    let fix = match stall.phase {
        Phase::Dns => format!(
            "The runner's DNS resolver did not answer for `{host}`: check its resolver (/etc/resolv.conf, a private DNS zone linked to the runner's network); to test with a known address: --resolve {host}=<ip>:443."
        ),
        Phase::TcpConnect => format!(
            "Nothing answers TCP on {dialed}, not even a refusal: a firewall, network security group or private endpoint drops the runner's packets. `curl -v --connect-timeout 10 https://{api}/v2/` from the runner; a registry reachable only through a private endpoint needs a runner inside that network."
        ),
        Phase::TlsHandshake => format!(
            "Something accepts TCP on {dialed} but does not answer TLS: a proxy or load balancer that holds connections, or a port that is not the registry's. `openssl s_client -connect {dialed} -servername {}` from the runner.",
            target.rsplit_once(':').map(|(h, _)| h).unwrap_or(target)
        ),
        Phase::ResponseHeaders => format!(
            "The server (or a proxy in front of it) took the request and never answered: a hung or overloaded registry, token service or proxy. `curl -v --max-time 10 {}` from the runner; if the network is only slow, raise --timeout.",
            e.url
        ),
        Phase::ResponseBody => format!(
            "The answer started and then stopped: a proxy that stalls bodies, or a failing link. `curl -v --max-time 30 -o /dev/null {}` from the runner; if the network is only slow, raise --timeout.",
            e.url
        ),
        Phase::BeforeHeaders => format!(
            "A firewall or proxy that drops packets, or an overloaded registry: `curl -v --max-time 10 https://{api}/v2/`. If the network is only slow, raise --timeout."
        ),
    };
    finding(
        Code::NET_TIMEOUT,
        Severity::Error,
        format!(
            "{target} did not answer in time: {} ({endpoint}, {elapsed})",
            stall.phase.describe()
        ),
        format!(
            "{} ({}) stalled in phase `{}` after {elapsed} (that phase's bound: {}). {} Affects {affected}.",
            e.url,
            e.endpoint.describe(),
            stall.phase.name(),
            registry::seconds(stall.bound),
            stall.evidence.trim(),
        ),
        fix,
    )
}

pub(super) fn net_only_finding(host: &str, e: &NetError, affected: &str) -> Finding {
    if let (NetKind::Timeout, Some(stall)) = (e.kind, &e.stall) {
        return stall_finding(host, e, stall, affected);
    }
    let detail = wire::shorten(&e.detail, 400);
    if e.kind == NetKind::TooLarge {
        let cap = crate::http::describe_cap(crate::http::MAX_BODY);
        return finding(
            Code::REGISTRY_UNEXPECTED,
            Severity::Error,
            format!("{host} answered a body larger than {cap}"),
            format!(
                "{} answered a body larger than {cap}; it was not read further (no registry answer, token or manifest is that large). Affects {affected}.",
                e.url
            ),
            format!(
                "Check what answers on {host}: `curl -sS -o /dev/null -w '%{{size_download}}' https://{}/v2/`. A proxy or captive portal between the runner and the registry is the usual cause.",
                registry::api_host(host)
            ),
        );
    }
    let (code, title, fix) = match e.kind {
        NetKind::Dns => (
            Code::NET_DNS,
            format!("cannot resolve {host}"),
            format!(
                "Check the registry name. For a registry behind a private endpoint, the runner must resolve `{host}` through the private DNS zone (privatelink.azurecr.io for ACR) linked to its network; to test with a known address: --resolve {host}=<ip>:443."
            ),
        ),
        NetKind::Connect => (
            Code::NET_CONNECT,
            format!("cannot connect to {host}"),
            format!(
                "Check that the runner can reach {host} (firewall, proxy, network security group): `curl -v https://{}/v2/`. A registry reachable only through a private endpoint needs a runner inside that network.",
                registry::api_host(host)
            ),
        ),
        NetKind::Tls => {
            let lower = e.detail.to_ascii_lowercase();
            let fix = if lower.contains("unknownissuer")
                || lower.contains("unknown issuer")
                || lower.contains("issuer")
            {
                "The registry's certificate is signed by a CA this runner does not trust: pass that CA with --ca-file ca.pem (input `ca-file`) or SSL_CERT_FILE. A TLS-inspecting proxy needs its CA there too.".to_string()
            } else if lower.contains("notvalidforname") || lower.contains("not valid for") {
                format!(
                    "The certificate is not issued for `{host}`: use the registry's own name (the login server), not an alias or IP."
                )
            } else {
                format!(
                    "Check what answers on {host}: `openssl s_client -connect {}:443 -servername {host}`.",
                    registry::api_host(host)
                )
            };
            (Code::NET_TLS, format!("TLS with {host} failed"), fix)
        }
        NetKind::Timeout => (
            Code::NET_TIMEOUT,
            format!("{host} did not answer in time"),
            format!(
                "A firewall or proxy that drops packets, or an overloaded registry: `curl -v --max-time 10 https://{}/v2/`. If the network is only slow, raise --timeout.",
                registry::api_host(host)
            ),
        ),
        NetKind::Other | NetKind::TooLarge => (
            Code::NET_CONNECT,
            format!("the request to {host} failed"),
            format!(
                "Check connectivity to {host}: `curl -v https://{}/v2/`.",
                registry::api_host(host)
            ),
        ),
    };
    finding(
        code,
        Severity::Error,
        title,
        format!("{} failed: {detail}. Affects {affected}.", e.url),
        fix,
    )
}

pub(super) fn artifact_fix(info: &ContextInfo) -> String {
    let target = info
        .reference
        .trim_start_matches("oci://")
        .trim_start_matches("OCI://");
    format!(
        "Push the context as files, which titles each layer: `oras push {target} Dockerfile src/` (run in the context directory), then build from `{}`.",
        info.reference
    )
}

/// REGISTRY_CHALLENGE: the Bearer challenge's realm is not a usable token endpoint.
pub(super) fn unusable_realm(host: &str, why: &str) -> Finding {
    finding(
        Code::REGISTRY_CHALLENGE,
        Severity::Error,
        format!("{host} points its token realm somewhere unusable"),
        format!("GET /v2/ on {host} answered with a Bearer challenge whose {why}."),
        format!(
            "Check that `{host}` is the registry's own address (not a proxy or mirror that rewrites the challenge)."
        ),
    )
}

/// ROLE_PUSH_UNVERIFIED: no token states the push right, and the proof is turned off.
pub(super) fn push_unverified(
    host: &str,
    repo: &str,
    identity: &Identity,
    why: push::Unknown,
) -> Finding {
    let unknown = match why {
        push::Unknown::OpaqueToken => format!(
            "The token server issued a token for {} that is not a JWT, so its rights cannot be read",
            identity.described
        ),
        push::Unknown::NoToken => format!(
            "{host} issues no token that states rights (it takes Basic credentials or none); the credential is {}",
            identity.described
        ),
    };
    finding(
        Code::ROLE_PUSH_UNVERIFIED,
        Severity::Notice,
        format!("push right on `{repo}` at {host} could not be proven"),
        format!(
            "{unknown}; the push proof (an upload session opened and cancelled at once) is turned off with --prove-push false."
        ),
        "Nothing to fix if pushes work. To prove the right before the build, leave `prove-push` at its default, `true`.".into(),
    )
}

impl push::Proof<'_> {
    /// ROLE_PUSH_MISSING from the registry's own refusal of the upload session.
    pub(super) fn refused(&self, seen: &str) -> Finding {
        let (host, repo, identity) = (self.host, self.repo, self.identity);
        let refs: Vec<String> = self
            .refs
            .iter()
            .map(|t| format!("`{}`", t.info.reference))
            .collect();
        let mut fix = role_fix(host, repo, true, identity, self.hints);
        if host.eq_ignore_ascii_case("ghcr.io") && identity.credential.is_some() {
            fix = format!(
                "With the workflow's GITHUB_TOKEN, give the job `permissions: packages: write`, and give this repository write access in the package's settings (Manage Actions access); a personal access token needs `write:packages`.\n{fix}"
            );
        }
        finding(
            Code::ROLE_PUSH_MISSING,
            Severity::Error,
            format!(
                "{} may not push `{repo}` on {host}",
                identity_short(identity)
            ),
            format!(
                "{seen}. The registry refused to open an upload session for {}. References: {}.{}",
                identity.described,
                refs.join(", "),
                problem_note(identity)
            ),
            fix,
        )
    }
}

/// REGISTRY_UNEXPECTED: the upload session was opened without a usable `Location`.
pub(super) fn upload_without_location(
    host: &str,
    repo: &str,
    seen: &str,
    problem: &str,
) -> Finding {
    finding(
        Code::REGISTRY_UNEXPECTED,
        Severity::Error,
        format!("{host} opened an upload session for `{repo}` that a push cannot use"),
        format!(
            "{seen}, but {problem}: a client sends the blob to that Location, so a push would fail there. The push right itself was accepted."
        ),
        "Check for a proxy between the runner and the registry that strips or rewrites the Location header; otherwise report it to the registry's operator.".into(),
    )
}

/// REGISTRY_UNEXPECTED: the registry does not create the repository on push.
pub(super) fn no_repository(host: &str, repo: &str, seen: &str) -> Finding {
    finding(
        Code::REGISTRY_UNEXPECTED,
        Severity::Error,
        format!("{host} has no repository `{repo}` to push to"),
        format!("{seen}. This registry does not create repositories on push."),
        format!(
            "Create `{repo}` on {host} before the build pushes (Amazon ECR: `aws ecr create-repository --repository-name {repo}`; Harbor: the project first), or correct the push reference."
        ),
    )
}

/// REGISTRY_UNEXPECTED: the registry takes no pushes at all (405).
pub(super) fn no_pushes(host: &str, seen: &str) -> Finding {
    finding(
        Code::REGISTRY_UNEXPECTED,
        Severity::Error,
        format!("{host} does not accept pushes"),
        format!(
            "{seen}. A 405 to an upload is a read-only registry: a pull-through cache or mirror."
        ),
        format!(
            "Push to the registry itself, not to a mirror or cache of it; check that `{host}` is the registry's login server."
        ),
    )
}

/// A blob GET the registry redirected to a storage host, for NET_DATA_ENDPOINT.
pub(super) struct Hop<'a> {
    /// The registry.
    pub host: &'a str,
    /// The storage host (`host[:port]`).
    pub storage: &'a str,
    /// The redirect's target without its query.
    pub shown: &'a str,
    /// The blob request and its status.
    pub seen: &'a str,
    /// The reference whose config was read.
    pub reference: &'a str,
    /// ARM's `dataEndpointHostNames` for the registry (empty when not read).
    pub data_endpoints: &'a [String],
}

/// NET_DATA_ENDPOINT: the registry answers, the host its blob redirect points at does
/// not. ACR sends layer (and config) downloads to `<name>.<region>.data.azurecr.io`
/// with dedicated data endpoints, else to `*.blob.core.windows.net`
/// (https://learn.microsoft.com/azure/container-registry/container-registry-firewall-access-rules,
/// https://learn.microsoft.com/azure/container-registry/container-registry-dedicated-data-endpoints).
pub(super) fn data_endpoint_unreachable(hop: &Hop<'_>, e: &NetError) -> Finding {
    let Hop {
        host,
        storage,
        shown,
        seen,
        reference,
        data_endpoints,
    } = *hop;
    // The client's text repeats the URL the message already shows.
    let detail = e
        .detail
        .replace(&format!("error sending request for url ({shown}): "), "");
    let detail = wire::shorten(&detail, 300);
    let how = match (&e.stall, e.kind) {
        (Some(stall), _) => format!(
            "stalled in phase `{}` after {} ({})",
            stall.phase.name(),
            registry::seconds(stall.elapsed),
            wire::shorten(stall.evidence.trim(), 300)
        ),
        (None, NetKind::Dns) => format!("did not resolve ({detail})"),
        (None, NetKind::Tls) => format!("failed in TLS ({detail})"),
        (None, _) => format!("could not connect ({detail})"),
    };
    let name = storage.split(':').next().unwrap_or(storage);
    let data_endpoint = matches!(
        crate::cloud::acr_host(name).map(|h| h.endpoint),
        Some(crate::cloud::AcrEndpoint::Data { .. })
    );
    let allow = format!(
        "Allow https (port 443) to {name} in the runner's firewall, proxy or network security group"
    );
    let fix = match acr_name(host) {
        // ARM named the registry's data endpoints: each one, by name.
        Some(acr) if !data_endpoints.is_empty() => format!(
            "{allow}, and the same for every data endpoint ARM lists for {acr} (`dataEndpointHostNames`): {}. {host} serves layers from the one of the region a pull is served from; `az acr show-endpoints --name {acr}` lists them too.",
            data_endpoints.join(", ")
        ),
        Some(acr) if data_endpoint => format!(
            "{allow}: with dedicated data endpoints, {host} serves every layer from {acr}.<region>.data.azurecr.io, one host per region it is replicated to; `az acr show-endpoints --name {acr}` lists them all, and each needs the same rule."
        ),
        Some(acr) => format!(
            "{allow}: without dedicated data endpoints, {host} serves layers from storage accounts under *.blob.core.windows.net, whose names it does not promise. To allow fixed names instead, `az acr update --name {acr} --data-endpoint-enabled true` (Premium) moves layer downloads to {acr}.<region>.data.azurecr.io (`az acr show-endpoints --name {acr}` lists them); allow those."
        ),
        None => format!(
            "{allow}: {host} sends every blob download there. `curl -v -o /dev/null https://{name}/` from the runner shows the same failure."
        ),
    };
    let extra = match e.kind {
        NetKind::Dns => {
            " The runner's resolver must resolve it too (a private endpoint's data endpoint needs its record in the privatelink.azurecr.io zone)."
        }
        NetKind::Tls => {
            " A TLS-inspecting proxy needs its CA given with --ca-file (input `ca-file`)."
        }
        _ => "",
    };
    finding(
        Code::NET_DATA_ENDPOINT,
        Severity::Error,
        format!("{host} answers, but {name}, where it sends blob downloads, cannot be reached"),
        format!(
            "{seen}: a redirect to {shown} (its query, a signed access token, is not shown). That request, sent without credentials as docker sends it, {how}. The registry itself answers, so the build resolves `{reference}` and then fails or hangs downloading its config and layers from {name}."
        ),
        format!("{fix}{extra}"),
    )
    .about(reference.to_string())
}

/// What ACR answers a push into a write-locked repository or over a write-locked tag.
const DISALLOWED: &str = "ACR refuses the push with REGISTRY_DISALLOWED_OPERATION (\"The operation is disallowed on this registry, repository or image.\"), whatever role the identity holds";

/// How a fix for an ACR lock starts.
const LIFT: &str = "If the lock is not wanted, lift it (with an identity that may write the repository's metadata, the token action `metadata_write`):";

/// The `--name` of an `az acr` command for `host`.
fn az_name(host: &str) -> String {
    acr_name(host).unwrap_or(host).to_string()
}

/// REGISTRY_WRITE_LOCKED: the whole repository is write-locked.
pub(super) fn repository_locked(host: &str, repo: &str, refs: &[&Target]) -> Finding {
    let name = az_name(host);
    finding(
        Code::REGISTRY_WRITE_LOCKED,
        Severity::Error,
        format!("repository `{repo}` on {host} is write-locked: no push into it can succeed"),
        format!(
            "GET /acr/v1/{repo} → 200 with changeableAttributes.writeEnabled: false (a lock set by `az acr repository update --repository {repo} --write-enabled false`). {DISALLOWED}. Pushed here: {}.",
            refs_of_targets(refs)
        ),
        format!(
            "{LIFT}\naz acr repository update --name {name} --repository {repo} --write-enabled true\nIf the lock is deliberate, push to another repository."
        ),
    )
}

/// REGISTRY_WRITE_LOCKED: the pushed tag exists and is write-locked.
pub(super) fn tag_locked(
    host: &str,
    repo: &str,
    tag: &str,
    digest: Option<&str>,
    target: &Target,
) -> Finding {
    let name = az_name(host);
    let held = digest
        .map(|d| format!(" (it points at {d})"))
        .unwrap_or_default();
    finding(
        Code::REGISTRY_WRITE_LOCKED,
        Severity::Error,
        format!(
            "tag `{repo}:{tag}` on {host} is write-locked: the push of `{}` cannot overwrite it",
            target.info.reference
        ),
        format!(
            "GET /acr/v1/{repo}/_tags/{tag} → 200 with tag.changeableAttributes.writeEnabled: false{held} (a lock set by `az acr repository update --image {repo}:{tag} --write-enabled false`). {DISALLOWED}."
        ),
        format!(
            "A locked tag is usually a released image kept immutable on purpose: push a new tag instead (for example the commit SHA). {LIFT}\naz acr repository update --name {name} --image {repo}:{tag} --write-enabled true"
        ),
    )
}

fn refs_of_targets(refs: &[&Target]) -> String {
    refs.iter()
        .map(|t| format!("`{}`", t.info.reference))
        .collect::<Vec<_>>()
        .join(", ")
}

/// CONTEXT_READ_LOCKED: the repository, or the tag, has `readEnabled: false`.
pub(super) fn context_read_locked(
    host: &str,
    repo: &str,
    tag: Option<&str>,
    seen: &str,
) -> Finding {
    let name = az_name(host);
    let (what, read, option, instead) = match tag {
        Some(tag) => (
            format!("tag `{repo}:{tag}`"),
            format!(
                "GET /acr/v1/{repo}/_tags/{tag} → 200 with tag.changeableAttributes.readEnabled: false"
            ),
            format!("--image {repo}:{tag}"),
            "point the build at another tag",
        ),
        None => (
            format!("repository `{repo}`"),
            format!("GET /acr/v1/{repo} → 200 with changeableAttributes.readEnabled: false"),
            format!("--repository {repo}"),
            "point the build at another repository",
        ),
    };
    finding(
        Code::CONTEXT_READ_LOCKED,
        Severity::Error,
        format!("{what} on {host} is read-locked: no pull can read it"),
        format!(
            "{seen}. {read} (a lock set by `az acr repository update {option} --read-enabled false`): ACR refuses every pull of it, whatever role the identity holds."
        ),
        format!(
            "{LIFT}\naz acr repository update --name {name} {option} --read-enabled true\nIf the lock is deliberate (a retired image), {instead}."
        ),
    )
}
