//! Registry check: over the same HTTP path a build takes, prove for every context that
//! the registry answers, the credential is accepted, the token carries the rights the
//! build needs, and the tag exists; tell these failures apart with evidence.
//!
//! Round trips per registry: one `/v2/` ping and one token for all its repositories,
//! then one HEAD per context (a GET when the body is needed), all contexts at once.

use super::Ctx;
use super::credentials::{CredentialSource, HostCredential};
use crate::docker_config::Credential;
use crate::findings::{CheckId, CheckReport, Code, ContextInfo, Finding, Severity};
use crate::reference::ContextScheme;
use crate::registry::wire::{self, Challenge};
use crate::registry::{self, Auth, Client, NetError, NetKind, Reply, TokenError};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the registry check learnt, beyond findings: digests for the contexts and the
/// number of HTTP requests it took.
#[derive(Debug, Default)]
pub struct Outcome {
    pub report: CheckReport,
    /// (index into the contexts, digest, media type, platforms of an index) for every
    /// resolved reference.
    pub resolved: Vec<Resolved>,
    pub requests: u32,
}

/// Manifest requests in flight per registry host.
const MANIFEST_CONCURRENCY: usize = 8;

/// One reference to verify on a host.
#[derive(Debug, Clone)]
struct Target {
    index: usize,
    info: ContextInfo,
    repository: String,
    push: bool,
}

/// Where more tokens come from (the catalog needs its own scope).
#[derive(Debug, Clone)]
struct TokenSource {
    realm: String,
    service: Option<String>,
    credential: Option<Credential>,
}

/// Who the registry sees, for messages.
#[derive(Debug, Clone)]
struct Identity {
    credential: Option<Credential>,
    /// "username/password for ci-bot from auths["r.io"] in /x/config.json"
    described: String,
    /// The credential check's finding when there is no usable credential.
    problem: Option<Code>,
    /// Who, in a few words: `ci-bot`, `app 1111…`, `anonymous`.
    short: String,
}

/// What the identity check learnt that makes role fixes exact.
#[derive(Debug, Clone, Default)]
pub struct RoleHints {
    /// The Azure identity's client id, for `--assignee`.
    pub client_id: Option<String>,
    /// ARM facts per registry host (resource id, RBAC or ABAC mode).
    pub registries: BTreeMap<String, crate::azure::arm::RegistryFacts>,
}

pub async fn run(
    ctx: &Ctx,
    http: &Result<reqwest::Client, String>,
    contexts: &[ContextInfo],
    credentials: &[HostCredential],
    hints: &RoleHints,
) -> Outcome {
    let mut by_host: BTreeMap<String, Vec<Target>> = BTreeMap::new();
    for (index, info) in contexts.iter().enumerate() {
        let (Some(host), Some(repository)) = (&info.registry, &info.repository) else {
            continue;
        };
        by_host
            .entry(host.to_ascii_lowercase())
            .or_default()
            .push(Target {
                index,
                info: info.clone(),
                repository: repository.clone(),
                push: info.role == "push",
            });
    }
    // The build's registry is checked even with no reference on it: reachability and
    // whether it accepts the credential (a token without scopes) are still worth proving.
    if let Some(registry) = &ctx.config.registry {
        by_host
            .entry(registry.host.to_ascii_lowercase())
            .or_default();
    }
    let mut outcome = Outcome::default();
    if by_host.is_empty() {
        return outcome;
    }
    let http = match http {
        Ok(h) => h.clone(),
        Err(e) => {
            outcome.report.inconclusive = true;
            let mut fix = "Give a readable PEM bundle with --ca-file (input `ca-file`) or SSL_CERT_FILE; the image must carry a CA bundle at /etc/ssl/certs/ca-certificates.crt.".to_string();
            if ctx.config.env.container.is_some() {
                fix.push_str(&format!(
                    " This step runs in a container action: put the file in the workspace (`ca-file: ${{{{ github.workspace }}}}/ca.crt`), or run the check on the runner: uses: {}",
                    crate::action_container::HOST_MODE_USES
                ));
            }
            outcome.report.push(Finding::new(
                CheckId::Registry,
                Code::NET_TLS,
                Severity::Error,
                "cannot set up TLS for registry calls",
                e.clone(),
                fix,
            ));
            return outcome;
        }
    };
    let client = Arc::new(ctx.registry_client(http));
    let mut tasks = tokio::task::JoinSet::new();
    for (host, targets) in by_host {
        let identity = identity_for(&host, credentials);
        let (ctx, client) = (ctx.clone(), client.clone());
        let hints = hints.clone();
        tasks.spawn(
            async move { check_host(&ctx, &client, &host, targets, identity, &hints).await },
        );
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok((report, resolved)) = joined {
            outcome.report.findings.extend(report.findings);
            outcome.report.verified.extend(report.verified);
            outcome.report.inconclusive |= report.inconclusive;
            outcome.resolved.extend(resolved);
        }
    }
    throttle_findings(&client, &mut outcome.report);
    outcome.requests = client.request_count();
    outcome.report.verified.sort();
    outcome
}

fn identity_for(host: &str, credentials: &[HostCredential]) -> Identity {
    let found = credentials
        .iter()
        .find(|c| c.host.eq_ignore_ascii_case(host));
    let Some(hc) = found else {
        return Identity {
            credential: None,
            described: "anonymous".into(),
            problem: None,
            short: "anonymous".into(),
        };
    };
    let Some(c) = &hc.credential else {
        return Identity {
            credential: None,
            described: format!(
                "anonymous (no credential for {host}: {})",
                hc.source.describe()
            ),
            problem: hc.problem,
            short: "anonymous".into(),
        };
    };
    // An exchanged token stands for the Azure identity, not for ACR's null-GUID user.
    if let CredentialSource::Entra { identity } = &hc.source {
        return Identity {
            credential: Some(c.clone()),
            described: format!("{identity} (an ACR refresh token from /oauth2/exchange)"),
            problem: None,
            short: identity.split(" (").next().unwrap_or(identity).to_string(),
        };
    }
    let described = if c.username().is_empty() {
        format!("{} from {}", c.describe(), hc.source.describe())
    } else {
        format!(
            "`{}` ({} from {})",
            c.username(),
            c.describe().split(" for ").next().unwrap_or("credential"),
            hc.source.describe()
        )
    };
    let short = if c.username().is_empty() {
        c.describe()
    } else {
        format!("`{}`", c.username())
    };
    Identity {
        credential: Some(c.clone()),
        described,
        problem: None,
        short,
    }
}

type HostResult = (CheckReport, Vec<Resolved>);

/// (index into the contexts, digest, media type, platforms of an index).
pub type Resolved = (usize, String, Option<String>, Vec<String>);

fn finding(code: Code, severity: Severity, title: String, message: String, fix: String) -> Finding {
    Finding::new(CheckId::Registry, code, severity, title, message, fix)
}

fn refs_of(targets: &[Target]) -> String {
    if targets.is_empty() {
        return "the registry itself (no reference on it was given)".into();
    }
    targets
        .iter()
        .map(|t| format!("`{}`", t.info.reference))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn check_host(
    ctx: &Ctx,
    client: &Arc<Client>,
    host: &str,
    targets: Vec<Target>,
    identity: Identity,
    hints: &RoleHints,
) -> HostResult {
    let mut report = CheckReport::default();
    // What the token's `access` claim grants per repository (absent: not a JWT, or no token).
    let mut grants: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut token_source: Option<TokenSource> = None;
    let ping = match client.ping(host).await {
        Ok(reply) => reply,
        Err(e) => {
            report.push(net_finding(ctx, host, &e, &targets).await);
            report.inconclusive = true;
            return (report, Vec::new());
        }
    };
    let auth = match ping.status {
        200 => {
            report.verified(format!(
                "{host}: /v2/ answers without credentials (open registry)"
            ));
            match &identity.credential {
                Some(c) if c.kind() == crate::docker_config::CredentialKind::UsernamePassword => {
                    Auth::Basic {
                        user: c.username().to_string(),
                        password: c.secret().to_string(),
                    }
                }
                _ => Auth::None,
            }
        }
        401 => match registry::challenge_of(&ping) {
            Ok(Challenge::Basic { .. }) => match &identity.credential {
                Some(c) => Auth::Basic {
                    user: c.username().to_string(),
                    password: c.secret().to_string(),
                },
                None => Auth::None,
            },
            Ok(Challenge::Bearer { realm, service, .. }) => {
                match bearer_token(
                    ctx,
                    client,
                    host,
                    &realm,
                    service.as_deref(),
                    &targets,
                    &identity,
                    hints,
                    &mut report,
                )
                .await
                {
                    Some((auth, token_grants)) => {
                        grants = token_grants;
                        token_source = Some(TokenSource {
                            realm: realm.clone(),
                            service: service.clone(),
                            credential: identity.credential.clone(),
                        });
                        auth
                    }
                    None => {
                        report.inconclusive = true;
                        return (report, Vec::new());
                    }
                }
            }
            Err(problem) => {
                let what = match problem {
                    wire::ChallengeProblem::Missing => "no WWW-Authenticate header".to_string(),
                    wire::ChallengeProblem::Malformed(m) => m,
                };
                report.push(challenge_finding(host, &ping, &what));
                report.inconclusive = true;
                return (report, Vec::new());
            }
        },
        403 => {
            report.push(forbidden_finding(host, &ping, &targets));
            report.inconclusive = true;
            return (report, Vec::new());
        }
        _ if ping.throttled() => {
            // Reported once for the run from the client's throttle log.
            report.inconclusive = true;
            return (report, Vec::new());
        }
        _ => {
            report.push(unexpected_finding(host, "GET /v2/", &ping));
            report.inconclusive = true;
            return (report, Vec::new());
        }
    };

    // Contexts need the manifest; push targets were proven (or not) by the token. At most
    // MANIFEST_CONCURRENCY at once: 50 contexts must not open 50 connections to one host.
    let pool = std::sync::Arc::new(tokio::sync::Semaphore::new(MANIFEST_CONCURRENCY));
    let mut lookups = tokio::task::JoinSet::new();
    for target in targets.iter().filter(|t| !t.push) {
        let pull_proven = match grants.get(&target.repository) {
            // Without pull the manifest answer says nothing new: ROLE_PULL_MISSING stands.
            Some(actions) if !wire::allows(actions, "pull") => continue,
            Some(_) => true,
            None => false,
        };
        let (client, auth, host, target) = (
            client.clone(),
            auth.clone(),
            host.to_string(),
            target.clone(),
        );
        let identity = identity.clone();
        let source = token_source.clone();
        let hints = hints.clone();
        let pool = pool.clone();
        lookups.spawn(async move {
            // The semaphore is never closed, so acquiring cannot fail; without a permit
            // the lookup still runs rather than being lost.
            let _permit = pool.acquire_owned().await.ok();
            lookup(
                &client,
                &host,
                &target,
                &auth,
                pull_proven,
                &identity,
                source.as_ref(),
                &hints,
            )
            .await
        });
    }
    let mut resolved = Vec::new();
    while let Some(joined) = lookups.join_next().await {
        if let Ok(result) = joined {
            report.findings.extend(result.findings);
            report.verified.extend(result.verified);
            if let Some(r) = result.resolved {
                resolved.push(r);
            }
        }
    }
    (report, resolved)
}

/// Gets one token for every repository on the host and checks its `access` claim.
/// `None` when there is no usable token (a finding says why).
#[allow(clippy::too_many_arguments)]
async fn bearer_token(
    ctx: &Ctx,
    client: &Client,
    host: &str,
    realm: &str,
    service: Option<&str>,
    targets: &[Target],
    identity: &Identity,
    hints: &RoleHints,
    report: &mut CheckReport,
) -> Option<(Auth, BTreeMap<String, Vec<String>>)> {
    let mut needs: BTreeMap<&str, bool> = BTreeMap::new();
    for t in targets {
        *needs.entry(&t.repository).or_default() |= t.push;
    }
    let scopes: Vec<String> = needs
        .iter()
        .map(|(repo, push)| registry::repository_scope(repo, *push))
        .collect();
    let result = client
        .token(host, realm, service, &scopes, identity.credential.as_ref())
        .await;
    if !matches!(result, Err(TokenError::BadRealm(_))) {
        realm_evidence(client, host, realm, identity, report);
    }
    let token = match result {
        Ok(t) => t,
        Err(TokenError::Net(e)) => {
            report.push(net_finding(ctx, host, &e, targets).await);
            return None;
        }
        Err(TokenError::Refused(reply)) => {
            report.push(rejected_finding(ctx, host, realm, &reply, identity));
            return None;
        }
        Err(TokenError::Unexpected(reply)) => {
            if !reply.throttled() {
                report.push(unexpected_finding(
                    host,
                    &format!("token request to {realm}"),
                    &reply,
                ));
            }
            return None;
        }
        Err(TokenError::BadRealm(why)) => {
            report.push(finding(
                Code::REGISTRY_CHALLENGE,
                Severity::Error,
                format!("{host} points its token realm somewhere unusable"),
                format!("GET /v2/ on {host} answered with a Bearer challenge whose {why}."),
                format!("Check that `{host}` is the registry's own address (not a proxy or mirror that rewrites the challenge)."),
            ));
            return None;
        }
    };
    let who = &identity.described;
    let short = identity_short(identity);
    if needs.is_empty() {
        report.verified(format!("{host}: the token endpoint accepted {short}"));
    }
    let mut grants = BTreeMap::new();
    for (repo, push) in &needs {
        let Some(granted) = wire::granted_actions(&token.token, repo) else {
            report.verified(format!(
                "{host}: token issued for {short}; it is opaque, so the manifest answers decide"
            ));
            if *push {
                report.push(finding(
                    Code::ROLE_PUSH_UNVERIFIED,
                    Severity::Notice,
                    format!("push right on `{repo}` at {host} could not be proven"),
                    format!("The token server issued a token for {who} that is not a JWT, so its rights cannot be read; a push is only proven by pushing."),
                    "Nothing to fix if pushes work; the check proves push rights only on registries that issue JWT tokens (ACR, distribution).".into(),
                ));
            }
            continue;
        };
        grants.insert(repo.to_string(), granted.clone());
        let shown = if granted.is_empty() {
            "no actions".to_string()
        } else {
            granted.join(",")
        };
        let user_targets: Vec<&Target> = targets.iter().filter(|t| t.repository == *repo).collect();
        if !wire::allows(&granted, "pull") {
            report.push(role_finding(
                hints,
                host,
                repo,
                false,
                &shown,
                who,
                identity,
                &user_targets,
            ));
        } else {
            report.verified(format!("{host}: token for {short} grants pull on `{repo}`"));
        }
        if *push {
            if wire::allows(&granted, "push") {
                report.verified(format!("{host}: token for {short} grants push on `{repo}`"));
            } else {
                report.push(role_finding(
                    hints,
                    host,
                    repo,
                    true,
                    &shown,
                    who,
                    identity,
                    &user_targets,
                ));
            }
        }
    }
    Some((Auth::Bearer(token.token), grants))
}

#[derive(Default)]
struct Lookup {
    findings: Vec<Finding>,
    verified: Vec<String>,
    resolved: Option<Resolved>,
}

fn short_type(media_type: &str) -> &str {
    match media_type {
        wire::OCI_INDEX => "OCI index",
        wire::OCI_MANIFEST => "OCI manifest",
        wire::DOCKER_LIST => "Docker manifest list",
        wire::DOCKER_MANIFEST => "Docker manifest",
        other => other,
    }
}

#[allow(clippy::too_many_arguments)]
async fn lookup(
    client: &Client,
    host: &str,
    target: &Target,
    auth: &Auth,
    pull_proven: bool,
    identity: &Identity,
    source: Option<&TokenSource>,
    hints: &RoleHints,
) -> Lookup {
    let mut out = Lookup::default();
    let info = &target.info;
    let reference = info
        .digest
        .clone()
        .or_else(|| info.tag.clone())
        .unwrap_or_else(|| "latest".into());
    // ACR Tasks reads the artifact's layers, so an oci:// context needs the body anyway.
    let oci_context = crate::reference::context_scheme(&info.reference) == Some(ContextScheme::Oci);
    let reply = match client
        .manifest(host, &target.repository, &reference, auth, oci_context)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            out.findings
                .push(net_only_finding(host, &e, &info.reference));
            return out;
        }
    };
    let method = if oci_context { "GET" } else { "HEAD" };
    let seen = format!(
        "{method} /v2/{}/manifests/{reference} → {}",
        target.repository,
        reply.describe()
    );
    match reply.status {
        200 => {
            let media_type = reply
                .header("content-type")
                .map(|c| c.split(';').next().unwrap_or(c).trim().to_string())
                .filter(|c| !c.is_empty() && c != "application/json")
                .or_else(|| wire::declared_media_type(&reply.body));
            let digest = reply
                .header("docker-content-digest")
                .map(str::to_string)
                .or_else(|| (!reply.body.is_empty()).then(|| wire::sha256_digest(&reply.body)));
            let size = reply
                .header("content-length")
                .and_then(|l| l.parse::<u64>().ok())
                .filter(|s| *s > 0)
                .unwrap_or(reply.body.len() as u64);
            let mut body = reply.body.clone();
            let is_index = matches!(
                media_type.as_deref(),
                Some(wire::OCI_INDEX | wire::DOCKER_LIST)
            );
            if is_index && body.is_empty() {
                // Platforms are only in the body; one GET for indexes alone.
                if let Ok(r) = client
                    .manifest(host, &target.repository, &reference, auth, true)
                    .await
                    && r.status == 200
                {
                    body = r.body;
                }
            }
            let mut fact = format!(
                "{}: {} ({}, {size} bytes",
                info.reference,
                digest.as_deref().unwrap_or("no digest header"),
                media_type
                    .as_deref()
                    .map(short_type)
                    .unwrap_or("unknown type"),
            );
            let mut platforms = Vec::new();
            if is_index {
                platforms = wire::index_platforms(&body);
                if !platforms.is_empty() {
                    fact.push_str(&format!("; platforms {}", platforms.join(", ")));
                }
            }
            fact.push(')');
            out.verified.push(fact);
            if let (Some(pinned), Some(got)) = (&info.digest, &digest)
                && pinned != got
            {
                out.findings.push(finding(
                    Code::REGISTRY_UNEXPECTED,
                    Severity::Error,
                    format!("{host} answered {} with another digest", info.reference),
                    format!("{seen}: the registry returned {got} for the pinned digest {pinned}."),
                    "Check for a proxy or mirror that rewrites manifests between the runner and the registry.".into(),
                ));
            }
            if oci_context && let Some(f) = artifact_finding(info, media_type.as_deref(), &body) {
                out.findings.push(f);
            }
            if let Some(d) = digest {
                out.resolved = Some((target.index, d, media_type, platforms));
            }
        }
        404 => {
            out.findings.push(
                not_found(
                    client,
                    host,
                    target,
                    &reference,
                    auth,
                    source,
                    &seen,
                    false,
                    pull_proven,
                )
                .await,
            );
        }
        401 | 403 if pull_proven => {
            // ACR answers a missing tag this way even to a token that may pull: look
            // at the tags before calling it an access problem.
            out.findings.push(
                not_found(
                    client, host, target, &reference, auth, source, &seen, true, true,
                )
                .await,
            );
        }
        401 | 403 => {
            out.findings.push(unverifiable_as_warning(
                identity,
                finding(
                    Code::ROLE_PULL_MISSING,
                    Severity::Error,
                    format!(
                        "{} may not pull `{}` on {host}",
                        identity_short(identity),
                        target.repository
                    ),
                    format!(
                        "{seen}. The credential is {}.{}",
                        identity.described,
                        problem_note(identity)
                    ),
                    pull_fix(host, &target.repository, identity, hints),
                ),
            ));
        }
        _ if reply.throttled() => {}
        _ => out.findings.push(unexpected_finding(host, &seen, &reply)),
    }
    for f in &mut out.findings {
        f.reference = Some(info.reference.clone());
    }
    out
}

/// The credential the build would present exists only where this container action
/// cannot look (a runner-only helper, an unmounted docker config, the runner's `az`
/// session): a refusal of anonymous access then proves nothing about the build.
fn credential_unverifiable(identity: &Identity) -> bool {
    identity.credential.is_none()
        && matches!(
            identity.problem,
            Some(
                Code::HELPER_UNVERIFIABLE
                    | Code::CONTAINER_PATH_UNMOUNTED
                    | Code::ID_CLI_UNVERIFIABLE
            )
        )
}

/// A missing role that could not be verified is a warning, not an error: the build may
/// well have the credential this run could not see.
fn unverifiable_as_warning(identity: &Identity, mut finding: Finding) -> Finding {
    if credential_unverifiable(identity) && finding.severity == Severity::Error {
        finding.severity = Severity::Warning;
    }
    finding
}

fn problem_note(identity: &Identity) -> String {
    match identity.problem {
        Some(code) => format!(" The credentials check explains why there is none: {code}."),
        None => String::new(),
    }
}

fn identity_short(identity: &Identity) -> String {
    identity.short.clone()
}

/// CONTEXT_NOT_FOUND with the repository's tags and nearest names, or
/// CONTEXT_ACCESS_DENIED when the tag exists but the registry still refuses.
#[allow(clippy::too_many_arguments)]
async fn not_found(
    client: &Client,
    host: &str,
    target: &Target,
    reference: &str,
    auth: &Auth,
    source: Option<&TokenSource>,
    seen: &str,
    refused: bool,
    pull_proven: bool,
) -> Finding {
    let repo = &target.repository;
    let info = &target.info;
    let by_digest = info.digest.is_some();
    let mut tag_note = String::new();
    let tags = match client.tags(host, repo, auth).await {
        Ok(Ok(list)) => {
            if let Some(why) = &list.partial {
                tag_note = format!(" The tag list is partial: {why}.");
            }
            Some(list.tags)
        }
        Ok(Err(reply)) => {
            if reply.redirect_target().is_some() {
                tag_note = format!(" GET /v2/{repo}/tags/list → {}.", reply.describe());
            }
            None
        }
        Err(e) => {
            // A hung, reset or oversized tags answer: the finding still stands, and says
            // why it lists no tags.
            tag_note = format!(
                " The tag list could not be read: {} {}.",
                e.url,
                wire::shorten(&e.detail, 200)
            );
            None
        }
    };
    let reference_written = info.reference.clone();
    if let Some(tags) = &tags
        && (!tags.is_empty() || !refused)
    {
        if refused && !by_digest && tags.iter().any(|t| t == reference) {
            return finding(
                Code::CONTEXT_ACCESS_DENIED,
                Severity::Error,
                format!("{host} refuses `{repo}:{reference}` although the token may pull it"),
                format!(
                    "{seen}. The token grants pull on `{repo}` and the tag is listed, yet the manifest request is refused."
                ),
                access_denied_fix(host, repo),
            );
        }
        let mut sorted = tags.clone();
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
        let answer = if refused {
            format!(
                " The registry answered {} instead of 404, which ACR does for missing tags; the token does grant pull on `{repo}`.",
                if seen.contains("403") { "403" } else { "401" }
            )
        } else if pull_proven {
            format!(" The token grants pull on `{repo}`, so the {what} is missing, not the right.")
        } else {
            String::new()
        };
        let fix = match (near.first(), suggestion.newest_of_shape) {
            (Some(_), Some(newest)) if !by_digest => format!(
                "`{reference}` is newer than every tag of its shape in {host}/{repo}: was it pushed yet? Push it before this step, or use the newest one, `{newest}`: `{}`.{}",
                replace_reference(&reference_written, reference, newest),
                acr_name(host)
                    .map(|_| format!(" The newest tags: `{}`", list_command(host, repo)))
                    .unwrap_or_default(),
            ),
            (Some(best), _) => format!(
                "Did you mean `{best}`? Use `{}`{}.",
                replace_reference(&reference_written, reference, best),
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
        return finding(
            Code::CONTEXT_NOT_FOUND,
            Severity::Error,
            format!("{what} `{reference}` does not exist in {host}/{repo}"),
            format!("{seen}.{answer} {listed}{tag_note}"),
            fix,
        )
        .with_commands(commands);
    }
    // No tag list: the repository itself is missing (or unlistable). The catalog
    // needs its own scope on token registries.
    let catalog_auth = match source {
        Some(src) => match client
            .token(
                host,
                &src.realm,
                src.service.as_deref(),
                &["registry:catalog:*".to_string()],
                src.credential.as_ref(),
            )
            .await
        {
            Ok(t) => Auth::Bearer(t.token),
            Err(_) => auth.clone(),
        },
        None => auth.clone(),
    };
    let repos = match client.catalog(host, &catalog_auth).await {
        Ok(Ok(repos)) => repos,
        _ => Vec::new(),
    };
    let near = crate::suggest::nearest(repo, &repos, 3);
    let fix = match near.first() {
        Some(best) => format!(
            "Did you mean repository `{best}`? Use `{}`.",
            reference_written.replacen(&format!("/{repo}"), &format!("/{best}"), 1)
        ),
        None => format!(
            "Push the context to `{host}/{repo}` first, or correct the repository name{}.",
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

fn replace_reference(written: &str, old: &str, new: &str) -> String {
    match written.rfind(&format!(":{old}")) {
        Some(i) => format!("{}:{new}{}", &written[..i], &written[i + 1 + old.len()..]),
        None => format!("{written}:{new}"),
    }
}

fn acr_name(host: &str) -> Option<&str> {
    crate::cloud::acr_registry(host)
}

fn list_command(host: &str, repo: &str) -> String {
    match acr_name(host) {
        Some(name) => format!(
            "az acr repository show-tags -n {name} --repository {repo} --orderby time_desc --top 10"
        ),
        None => format!("curl -s https://{host}/v2/{repo}/tags/list (with a token)"),
    }
}

fn access_denied_fix(host: &str, repo: &str) -> String {
    match acr_name(host) {
        Some(name) => format!(
            "If the registry uses ABAC repository permissions, the identity needs Container Registry Repository Reader with a condition that includes `{repo}`; a repository-scoped token needs `content/read` in its scope map (`az acr scope-map show -r {name} -n <map>`). A role assigned minutes ago may not apply yet: wait and run again."
        ),
        None => format!(
            "Ask the registry's administrator why `{repo}` is refused to this credential although its token grants pull."
        ),
    }
}

fn pull_fix(host: &str, repo: &str, identity: &Identity, hints: &RoleHints) -> String {
    role_fix(host, repo, false, identity, hints)
}

fn role_fix(host: &str, repo: &str, push: bool, identity: &Identity, hints: &RoleHints) -> String {
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
    let assignee = hints
        .client_id
        .clone()
        .unwrap_or_else(|| "<client-id or object-id>".into());
    if let Some(facts) = hints.registries.get(host) {
        let condition = format!(
            " --condition \"((!(ActionMatches{{'{}'}})) OR (@Request[Microsoft.ContainerRegistry/registries/repositories:name] StringEqualsIgnoreCase '{repo}'))\" --condition-version 2.0",
            if push {
                "Microsoft.ContainerRegistry/registries/repositories/content/write"
            } else {
                "Microsoft.ContainerRegistry/registries/repositories/content/read"
            }
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

#[allow(clippy::too_many_arguments)]
fn role_finding(
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

/// Says where the credential went for a token: REGISTRY_REALM_ELSEWHERE when the
/// realm is on another host than the registry (docker sends the credential there too),
/// an evidence line when it is plain http on this machine. Nothing for an anonymous
/// request or a stored registry token, which is never sent to the realm.
fn realm_evidence(
    client: &Client,
    host: &str,
    realm: &str,
    identity: &Identity,
    report: &mut CheckReport,
) {
    let Some(credential) = &identity.credential else {
        return;
    };
    if credential.kind() == crate::docker_config::CredentialKind::RegistryToken {
        return;
    }
    let (Ok(realm_url), Ok(base)) = (reqwest::Url::parse(realm), client.base(host)) else {
        return;
    };
    let realm_host = realm_url.host_str().unwrap_or_default().to_string();
    let plain = realm_url.scheme() == "http";
    let origin = realm_url.origin().ascii_serialization();
    if realm_host != base.host_str().unwrap_or_default() {
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

fn rejected_finding(
    ctx: &Ctx,
    host: &str,
    realm: &str,
    reply: &Reply,
    identity: &Identity,
) -> Finding {
    let what = match &identity.credential {
        Some(c) => c.describe(),
        None => "the anonymous request".into(),
    };
    let mut fix = super::credentials::login_fix(ctx, host);
    if identity
        .credential
        .as_ref()
        .is_some_and(|c| c.kind() == crate::docker_config::CredentialKind::IdentityToken)
    {
        fix = format!(
            "The refresh token is no longer accepted (expired, revoked, or issued for another registry): log in again.\n{fix}"
        );
    } else if acr_name(host).is_some() {
        fix.push_str("\nFor a service principal the username is its client ID and the password its client secret (not the admin password).");
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

fn challenge_finding(host: &str, reply: &Reply, what: &str) -> Finding {
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

fn forbidden_finding(host: &str, reply: &Reply, targets: &[Target]) -> Finding {
    let message_text = wire::describe_errors(&reply.errors());
    let ip = message_text
        .split("client with IP '")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .filter(|ip| ip.parse::<std::net::IpAddr>().is_ok())
        .map(str::to_string);
    let fix = match acr_name(host) {
        Some(name) => format!(
            "The registry's firewall refuses this runner. Allow its address: az acr network-rule add --name {name} --ip-address {}\nor, if public access was switched off on purpose, run the job on a runner inside the registry's network (self-hosted runner with a private endpoint); to reopen public access: az acr update --name {name} --public-network-enabled true --default-action Allow",
            ip.as_deref().unwrap_or("<runner public IP>")
        ),
        None => format!("Ask the administrator of {host} to allow this runner's address."),
    };
    finding(
        Code::NET_FORBIDDEN,
        Severity::Error,
        format!("{host} refuses this runner before authentication (403)"),
        format!(
            "GET /v2/ → {}. A 403 here, before any credential, is a network rule or disabled public access, not a role problem. Affects {}.",
            reply.describe(),
            refs_of(targets)
        ),
        fix,
    )
}

fn unexpected_finding(host: &str, what: &str, reply: &Reply) -> Finding {
    finding(
        Code::REGISTRY_UNEXPECTED,
        Severity::Error,
        format!("{host} gave an unexpected answer ({})", reply.status),
        format!("{what} → {}.", reply.describe()),
        "Retry later; if it persists, check the registry's status page or a proxy between the runner and the registry.".into(),
    )
}

/// Addresses `host` resolves to, honouring `--resolve`, for NET_* messages.
async fn addresses(ctx: &Ctx, host: &str) -> String {
    let api = registry::api_host(host);
    let (name, port) = match api.rsplit_once(':') {
        Some((n, p)) if p.chars().all(|c| c.is_ascii_digit()) && !n.ends_with(':') => (
            n.trim_matches(['[', ']']).to_string(),
            p.parse().unwrap_or(443),
        ),
        _ => (api.trim_matches(['[', ']']).to_string(), 443u16),
    };
    if let Some(rule) = ctx.config.resolve.iter().find(|r| r.host == name) {
        return format!("{} (from --resolve)", rule.addr);
    }
    // Half of what is left at most: a NET_TIMEOUT is reported with little time left,
    // and looking up the addresses must not take the run past its deadline.
    let wait = (ctx.remaining() / 2).min(std::time::Duration::from_secs(2));
    match tokio::time::timeout(wait, tokio::net::lookup_host((name.as_str(), port))).await {
        Ok(Ok(addrs)) => {
            let list: Vec<String> = addrs.take(6).map(|a| a.ip().to_string()).collect();
            if list.is_empty() {
                "no address".into()
            } else {
                list.join(", ")
            }
        }
        Ok(Err(e)) => format!("no address ({e})"),
        Err(_) => "no answer from DNS in time".into(),
    }
}

async fn net_finding(ctx: &Ctx, host: &str, e: &NetError, targets: &[Target]) -> Finding {
    if e.kind == NetKind::TooLarge {
        // The server answered: where it resolves to is no evidence here.
        return net_only_finding(host, e, &refs_of(targets));
    }
    let addrs = addresses(ctx, host).await;
    let mut f = net_only_finding(host, e, &refs_of(targets));
    f.message = format!("{} {host} resolves to {addrs}.", f.message);
    if e.kind == NetKind::Timeout {
        f.message.push_str(&format!(
            " The run's deadline is --timeout {}s; every phase of a request is bounded by a share of what is left, so the other registries are still checked.",
            ctx.config.timeout.as_secs()
        ));
    }
    f
}

/// NET_TIMEOUT naming `host:port`, the phase that stalled, the endpoint and the time.
fn stall_finding(host: &str, e: &NetError, stall: &registry::Stall, affected: &str) -> Finding {
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

fn net_only_finding(host: &str, e: &NetError, affected: &str) -> Finding {
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

fn artifact_finding(info: &ContextInfo, media_type: Option<&str>, body: &[u8]) -> Option<Finding> {
    let shown = &info.reference;
    if matches!(media_type, Some(wire::OCI_INDEX | wire::DOCKER_LIST)) {
        return Some(finding(
            Code::CONTEXT_NOT_AN_ARTIFACT,
            Severity::Warning,
            format!("`{shown}` is an image index, not a build-context artifact"),
            format!(
                "The manifest is {}: ACR Tasks downloads an oci:// context as files from the layers of one manifest, and an index has none.",
                media_type.map(short_type).unwrap_or("an index")
            ),
            artifact_fix(info),
        ));
    }
    let layers = wire::manifest_layers(body)?;
    let untitled = layers.iter().filter(|(_, t)| t.is_none()).count();
    if layers.is_empty() || untitled == layers.len() {
        return Some(finding(
            Code::CONTEXT_NOT_AN_ARTIFACT,
            Severity::Warning,
            format!("`{shown}` has no titled layers, so ACR Tasks writes no context files"),
            format!(
                "The manifest has {} layer(s) and none carries the `org.opencontainers.image.title` annotation. The ACR Tasks agent only writes titled layers to disk (oras file store), so the build would start with an empty context; untitled layers over 4 MiB fail the download outright.",
                layers.len()
            ),
            artifact_fix(info),
        ));
    }
    None
}

fn artifact_fix(info: &ContextInfo) -> String {
    let target = info
        .reference
        .trim_start_matches("oci://")
        .trim_start_matches("OCI://");
    format!(
        "Push the context as files, which titles each layer: `oras push {target} Dockerfile src/` (run in the context directory), then build from `{}`.",
        info.reference
    )
}

fn throttle_findings(client: &Client, report: &mut CheckReport) {
    let throttles = client.throttles();
    if throttles.is_empty() {
        return;
    }
    let failed: Vec<_> = throttles.iter().filter(|t| !t.recovered).collect();
    let worst = failed.first().copied().unwrap_or(&throttles[0]);
    let host = reqwest::Url::parse(&worst.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let retry = worst
        .retry_after
        .map(|d| format!(" Retry-After: {}s.", d.as_secs()))
        .unwrap_or_default();
    let (severity, outcome) = if failed.is_empty() {
        (
            Severity::Warning,
            "the retries succeeded within the deadline",
        )
    } else {
        (
            Severity::Error,
            "it still refused after bounded retries within the deadline",
        )
    };
    let fix = match acr_name(&host) {
        Some(name) => format!("ACR's request limits depend on the SKU: spread concurrent jobs, or move to a larger tier: az acr update -n {name} --sku Premium"),
        None if crate::reference::is_docker_hub(&host) => "Log in to Docker Hub (authenticated pulls have higher limits), or pull through a mirror.".into(),
        None => format!("Reduce concurrent pulls from {host}, or ask its administrator about its rate limits."),
    };
    report.push(finding(
        Code::REGISTRY_THROTTLED,
        severity,
        format!("{host} throttled this run (429)"),
        format!(
            "{} request(s) were answered with 429 TOOMANYREQUESTS, last {};{retry} {outcome}.",
            throttles.len(),
            worst.url
        ),
        fix,
    ));
}
