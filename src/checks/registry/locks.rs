//! ACR write locks on push targets. `az acr repository update --write-enabled false`
//! locks a repository (`--repository`) or a tag (`--image repo:tag`); ACR then refuses
//! a push into the repository or over the tag with `REGISTRY_DISALLOWED_OPERATION`
//! ("The operation is disallowed on this registry, repository or image", Learn
//! https://learn.microsoft.com/azure/container-registry/container-registry-image-lock
//! and the ACR FAQ https://aka.ms/acr/faq/#why-does-my-pull-or-push-request-fail-with-disallowed-operation),
//! whatever role the identity holds. The token's `access` claim cannot show it, so the
//! locks are read from ACR's metadata API with the push token itself (its scope asks
//! `metadata_read` alongside `pull,push` on ACR hosts).
//!
//! Round trips: one `GET /acr/v1/<repo>` per pushed repository, then one
//! `GET /acr/v1/<repo>/_tags/<tag>` per pushed tag of a repository that is not locked.

use super::*;
use crate::registry::{Attributes, Locks};

/// The `metadata_read` action a push token asks on ACR hosts (azure-cli
/// `acr/_docker_utils.py`, `RepoAccessTokenPermission`).
pub(super) const METADATA_READ: &str = "metadata_read";

/// Reads the write locks of every pushed repository and tag on an ACR host.
pub(super) async fn check_all(
    client: &Client,
    host: &str,
    targets: &[Target],
    access: &Access,
) -> Lookup {
    let mut out = Lookup::default();
    if crate::cloud::acr_host(host).is_none() || !matches!(access.auth, Auth::Bearer(_)) {
        return out;
    }
    let mut repos: BTreeMap<&str, Vec<&Target>> = BTreeMap::new();
    for t in targets.iter().filter(|t| t.push) {
        repos.entry(t.repository.as_str()).or_default().push(t);
    }
    for (repo, refs) in repos {
        match access.grants.get(repo) {
            Some(granted) if !wire::allows(granted, "push") => continue,
            Some(granted) if !wire::allows(granted, METADATA_READ) => {
                out.verified.push(format!(
                    "{host}: write locks on `{repo}` not read: the push token grants {} but not {METADATA_READ}",
                    granted.join(",")
                ));
                continue;
            }
            _ => {}
        }
        check_repository(client, host, repo, &refs, &access.auth, &mut out).await;
    }
    out
}

async fn check_repository(
    client: &Client,
    host: &str,
    repo: &str,
    refs: &[&Target],
    auth: &Auth,
    out: &mut Lookup,
) {
    let first = refs.first().map(|t| t.info.reference.clone());
    match client.acr_repository(host, repo, auth).await {
        Ok(Attributes::Found { locks, .. }) if locks.write_disabled => {
            out.findings
                .push(repository_locked(host, repo, refs).about_first(first));
            return;
        }
        Ok(Attributes::Found { .. }) => {}
        Ok(Attributes::Missing) => {
            out.verified.push(format!(
                "{host}: `{repo}` does not exist yet (GET /acr/v1/{repo} → 404): the push creates it, no lock applies"
            ));
            return;
        }
        Ok(Attributes::Other(reply)) => {
            out.verified.push(not_read(host, repo, &reply));
            return;
        }
        // The push proof and the manifest lookups report the network.
        Err(_) => return,
    }
    let mut tags: Vec<(&str, &Target)> = Vec::new();
    for t in refs {
        if let Some(tag) = t.info.tag.as_deref()
            && t.info.digest.is_none()
            && !tags.iter().any(|(seen, _)| *seen == tag)
        {
            tags.push((tag, t));
        }
    }
    let mut writable = Vec::new();
    for (tag, target) in tags {
        match client.acr_tag(host, repo, tag, auth).await {
            Ok(Attributes::Found {
                locks:
                    Locks {
                        write_disabled: true,
                        ..
                    },
                digest,
            }) => out.findings.push(
                tag_locked(host, repo, tag, digest.as_deref(), target)
                    .about(target.info.reference.clone()),
            ),
            Ok(Attributes::Found { .. }) => writable.push(format!("`{tag}` (writeEnabled)")),
            Ok(Attributes::Missing) => writable.push(format!("`{tag}` (new)")),
            Ok(Attributes::Other(reply)) => out.verified.push(not_read(host, repo, &reply)),
            Err(_) => {}
        }
    }
    out.verified.push(format!(
        "{host}: `{repo}` is not write-locked (GET /acr/v1/{repo}: writeEnabled){}",
        if writable.is_empty() {
            String::new()
        } else {
            format!("; tags pushed: {}", writable.join(", "))
        }
    ));
}

fn not_read(host: &str, repo: &str, reply: &Reply) -> String {
    format!(
        "{host}: write locks on `{repo}` not read: {} → {}",
        reply.url.path(),
        reply.describe()
    )
}

/// A manifest read on ACR that did not answer 200, explained by a read lock
/// (`az acr repository update --read-enabled false`) on the repository or the tag:
/// CONTEXT_READ_LOCKED instead of a generic not-found or denied. Only on this failure
/// path, with a token of its own for `repository:<repo>:metadata_read`: one token and
/// one or two metadata reads. A context pinned by digest is not looked at (a manifest's
/// own lock is not read).
pub(super) async fn read_locked(
    client: &Client,
    host: &str,
    target: &Target,
    source: Option<&TokenSource>,
    seen: &str,
) -> Option<Finding> {
    crate::cloud::acr_host(host)?;
    let source = source?;
    let repo = target.repository.as_str();
    let token = client
        .token(
            host,
            &source.realm,
            source.service.as_deref(),
            &[format!("repository:{repo}:{METADATA_READ}")],
            source.credential.as_ref(),
        )
        .await
        .ok()?;
    let auth = Auth::Bearer(token.token);
    if let Ok(Attributes::Found { locks, .. }) = client.acr_repository(host, repo, &auth).await
        && locks.read_disabled
    {
        return Some(context_read_locked(host, repo, None, seen));
    }
    let tag = target
        .info
        .tag
        .as_deref()
        .filter(|_| target.info.digest.is_none())?;
    match client.acr_tag(host, repo, tag, &auth).await {
        Ok(Attributes::Found { locks, .. }) if locks.read_disabled => {
            Some(context_read_locked(host, repo, Some(tag), seen))
        }
        _ => None,
    }
}
