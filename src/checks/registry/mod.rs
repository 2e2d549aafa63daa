//! Registry check: over the same HTTP path a build takes, prove for every context that
//! the registry answers, the credential is accepted, the token carries the rights the
//! build needs, and the tag exists; tell these failures apart with evidence.
//!
//! Round trips per registry: one `/v2/` ping and one token for all its repositories,
//! then one HEAD per context (a GET when the body is needed), all contexts at once;
//! for a pushed repository whose token does not state the push right, an upload session
//! opened and cancelled (`push.rs`); on an ACR registry the build pulls from, one blob
//! download through the storage redirect (`probe_blob`, P47).

mod actions;
mod caches;
pub mod daemon_proxy;
pub mod dockerhub;
pub mod git_context;
mod locks;
mod messages;
pub mod other_bases;
mod platforms;
mod push;
mod submodules;
mod url_context;

pub use platforms::missing_platforms;

use super::Ctx;
use super::credentials::{CredentialSource, HostCredential};
use crate::docker::credential::Credential;
use crate::findings::{CheckId, CheckReport, Code, ContextInfo, Finding, Role, Severity};
use crate::registry::wire::{self, Challenge};
use crate::registry::{
    self, Auth, Client, NetError, NetKind, Reply, StorageHop, TokenError, UploadCancel,
};
use messages::*;
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
    /// A build reads it for the platforms it asks for: a single image's platform is
    /// read too (its config).
    platforms_requested: bool,
    /// The one reference per ACR registry whose config blob is downloaded to prove the
    /// path layers take (P47): its manifest is read with a GET instead of a HEAD.
    probe_blob: bool,
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
    /// The credential is the Azure identity's ACR refresh token (`/oauth2/exchange`),
    /// the one its Azure CLI session's `az acr` commands get too.
    entra: bool,
}

/// What the identity check learnt that makes role fixes exact.
#[derive(Debug, Clone, Default)]
pub struct RoleHints {
    /// The Azure identity's client id, for `--assignee`.
    pub client_id: Option<String>,
    /// ARM facts per registry host (resource id, RBAC or ABAC mode).
    pub registries: BTreeMap<String, crate::azure::arm::RegistryFacts>,
    /// Per host whose credential is a repository-scoped token: its name and scope map.
    pub scope_maps: BTreeMap<String, (String, crate::azure::arm::ScopeMap)>,
}

impl RoleHints {
    /// ARM's facts about the registry at `host`, when the identity check read them.
    fn facts(&self, host: &str) -> Option<&crate::azure::arm::RegistryFacts> {
        self.registries
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(host))
            .map(|(_, f)| f)
    }
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
                push: info.role.pushes(),
                platforms_requested: ctx
                    .platform_requests
                    .iter()
                    .any(|r| r.reference == info.reference.trim()),
                probe_blob: false,
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
    caches::name_caches(&ctx.config.caches, contexts, &mut outcome.report);
    throttle_findings(&client, hints, &mut outcome.report);
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
            entra: false,
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
            entra: false,
        };
    };
    // An exchanged token stands for the Azure identity, not for ACR's null-GUID user.
    if let CredentialSource::Entra { identity } = &hc.source {
        return Identity {
            credential: Some(c.clone()),
            described: format!("{identity} (an ACR refresh token from /oauth2/exchange)"),
            problem: None,
            short: identity.split(" (").next().unwrap_or(identity).to_string(),
            entra: true,
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
        entra: false,
    }
}

type HostResult = (CheckReport, Vec<Resolved>);

/// What the registry served for one context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Index into the run's contexts.
    pub index: usize,
    pub digest: String,
    pub media_type: Option<String>,
    /// The platforms of an index; for a single image, the one its config names when a
    /// build reads it for platforms (else empty).
    pub platforms: Vec<String>,
}

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
    let Some(access) = authorise(ctx, client, host, &targets, &identity, hints, &mut report).await
    else {
        report.inconclusive = true;
        return (report, Vec::new());
    };
    // Push rights no token stated are proven, and ACR write locks read, alongside the
    // manifest lookups.
    let (resolved, proofs, locks, actions) = tokio::join!(
        look_up_all(
            client,
            host,
            &targets,
            &access,
            &identity,
            hints,
            &mut report,
        ),
        push::prove_all(ctx, client, host, &targets, &access, &identity, hints),
        locks::check_all(client, host, &targets, &access),
        actions::check_all(ctx, client, host, &access, &identity, hints),
    );
    for part in [proofs, locks, actions] {
        report.findings.extend(part.findings);
        report.verified.extend(part.verified);
    }
    (report, resolved)
}

/// How requests to one host are authorised, once the ping and the token are done.
struct Access {
    auth: Auth,
    /// What the token's `access` claim grants per repository (empty: not a JWT, or no
    /// token).
    grants: BTreeMap<String, Vec<String>>,
    /// Where more tokens come from, on a token registry.
    token_source: Option<TokenSource>,
}

/// Pings the host and gets the credential the build would present accepted: `None`
/// when the host cannot be used (a finding says why).
async fn authorise(
    ctx: &Ctx,
    client: &Client,
    host: &str,
    targets: &[Target],
    identity: &Identity,
    hints: &RoleHints,
    report: &mut CheckReport,
) -> Option<Access> {
    let ping = match client.ping(host).await {
        Ok(reply) => reply,
        Err(e) => {
            report.push(net_finding(ctx, host, &e, targets).await);
            return None;
        }
    };
    let basic = |c: &Credential| Auth::Basic {
        user: c.username().to_string(),
        password: c.secret().to_string(),
    };
    let without_token = |auth: Auth| Access {
        auth,
        grants: BTreeMap::new(),
        token_source: None,
    };
    match ping.status {
        200 => {
            report.verified(format!(
                "{host}: /v2/ answers without credentials (open registry)"
            ));
            let auth = match &identity.credential {
                Some(c)
                    if c.kind() == crate::docker::credential::CredentialKind::UsernamePassword =>
                {
                    basic(c)
                }
                _ => Auth::None,
            };
            Some(without_token(auth))
        }
        401 => match registry::challenge_of(&ping) {
            Ok(Challenge::Basic { .. }) => Some(without_token(
                identity.credential.as_ref().map_or(Auth::None, basic),
            )),
            Ok(Challenge::Bearer { realm, service, .. }) => {
                let (auth, grants) = bearer_token(
                    ctx,
                    client,
                    host,
                    &realm,
                    service.as_deref(),
                    targets,
                    identity,
                    hints,
                    report,
                )
                .await?;
                Some(Access {
                    auth,
                    grants,
                    token_source: Some(TokenSource {
                        realm,
                        service,
                        credential: identity.credential.clone(),
                    }),
                })
            }
            Err(problem) => {
                let what = match problem {
                    wire::ChallengeProblem::Missing => "no WWW-Authenticate header".to_string(),
                    wire::ChallengeProblem::Malformed(m) => m,
                };
                report.push(challenge_finding(host, &ping, &what));
                None
            }
        },
        403 => {
            report.push(forbidden_finding(host, &ping, targets, hints.facts(host)));
            None
        }
        // Reported once for the run from the client's throttle log.
        _ if ping.throttled() => None,
        _ => {
            report.push(unexpected_finding(host, "GET /v2/", &ping));
            None
        }
    }
}

/// The manifests of the host's contexts, at most MANIFEST_CONCURRENCY at once (50
/// contexts must not open 50 connections to one host); push targets are proven by the
/// token or by `push::prove_all`. Returns what was resolved.
async fn look_up_all(
    client: &Arc<Client>,
    host: &str,
    targets: &[Target],
    access: &Access,
    identity: &Identity,
    hints: &RoleHints,
    report: &mut CheckReport,
) -> Vec<Resolved> {
    let pool = Arc::new(tokio::sync::Semaphore::new(MANIFEST_CONCURRENCY));
    let mut lookups = tokio::task::JoinSet::new();
    let pulled: Vec<&Target> = targets
        .iter()
        .filter(|t| !t.push)
        .filter(|t| {
            // Without pull the manifest answer says nothing new: ROLE_PULL_MISSING stands.
            access
                .grants
                .get(&t.repository)
                .is_none_or(|actions| wire::allows(actions, "pull"))
        })
        .collect();
    // One blob download per ACR registry the build pulls from: the reference whose
    // config is read anyway for its platform, else the first.
    let probe = (crate::cloud::acr_host(host).is_some() && !pulled.is_empty()).then(|| {
        pulled
            .iter()
            .position(|t| t.platforms_requested)
            .unwrap_or(0)
    });
    for (i, target) in pulled.into_iter().enumerate() {
        let pull_proven = access.grants.contains_key(&target.repository);
        let mut target = target.clone();
        target.probe_blob = probe == Some(i);
        let (client, auth, host) = (client.clone(), access.auth.clone(), host.to_string());
        let identity = identity.clone();
        let source = access.token_source.clone();
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
    resolved
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
    // On ACR a push token also asks `metadata_read`, so the same token reads the write
    // locks (`locks.rs`); ACR grants what the identity holds and drops the rest.
    let acr = crate::cloud::acr_host(host).is_some();
    let scopes: Vec<String> = needs
        .iter()
        .map(|(repo, push)| {
            let scope = registry::repository_scope(repo, *push);
            if acr && *push {
                format!("{scope},{}", locks::METADATA_READ)
            } else {
                scope
            }
        })
        .collect();
    let result = client
        .token(host, realm, service, &scopes, identity.credential.as_ref())
        .await;
    if !matches!(result, Err(TokenError::BadRealm(_))) {
        realm_evidence(client, host, realm, identity, report);
    }
    let token = match result {
        Ok(t) => t,
        Err(TokenError::Refused(_)) if admin_user(host, identity, hints) == Some(false) => {
            report.verified(format!(
                "{host}: the token endpoint refused the admin user {}, which ARM says is disabled (CRED_ADMIN_DISABLED)",
                identity.short
            ));
            return None;
        }
        Err(e) => {
            if let Some(f) = token_failure(ctx, host, realm, targets, identity, hints, e).await {
                report.push(f);
            }
            return None;
        }
    };
    let short = identity_short(identity);
    if needs.is_empty() {
        report.verified(format!("{host}: the token endpoint accepted {short}"));
    }
    let mut grants = BTreeMap::new();
    for (repo, push) in &needs {
        let Some(granted) = wire::granted_actions(&token.token, repo) else {
            report.verified(format!(
                "{host}: token issued for {short}; it is opaque, so the manifest answers decide pull{}",
                if *push { " and an upload session push" } else { "" }
            ));
            continue;
        };
        let rights = Rights {
            host,
            repo,
            granted: &granted,
            identity,
            hints,
            targets: targets.iter().filter(|t| t.repository == *repo).collect(),
        };
        rights.check(*push, report);
        grants.insert(repo.to_string(), granted);
    }
    Some((Auth::Bearer(token.token), grants))
}

/// The finding for a token that could not be had (none for a throttled answer, which
/// is reported once for the run).
async fn token_failure(
    ctx: &Ctx,
    host: &str,
    realm: &str,
    targets: &[Target],
    identity: &Identity,
    hints: &RoleHints,
    error: TokenError,
) -> Option<Finding> {
    match error {
        TokenError::Net(e) => Some(net_finding(ctx, host, &e, targets).await),
        TokenError::Refused(reply) => {
            Some(rejected_finding(ctx, host, realm, &reply, identity, hints))
        }
        TokenError::Unexpected(reply) if reply.throttled() => None,
        TokenError::Unexpected(reply) => Some(unexpected_finding(
            host,
            &format!("token request to {realm}"),
            &reply,
        )),
        TokenError::BadRealm(why) => Some(unusable_realm(host, &why)),
    }
}

/// `Some(enabled)` when the credential presented to `host` is the registry's admin
/// user and ARM says whether that account is enabled.
fn admin_user(host: &str, identity: &Identity, hints: &RoleHints) -> Option<bool> {
    let user = identity.credential.as_ref()?.username();
    let facts = hints.facts(host)?;
    crate::checks::credentials::is_admin_user(user, facts)
        .then_some(facts.admin_user_enabled)
        .flatten()
}

/// What a token grants on one repository, against what the build needs there.
struct Rights<'a> {
    host: &'a str,
    repo: &'a str,
    /// The token's `access` actions for the repository.
    granted: &'a [String],
    identity: &'a Identity,
    hints: &'a RoleHints,
    /// The build's references to the repository.
    targets: Vec<&'a Target>,
}

impl Rights<'_> {
    /// Pull always, push when the build pushes: verified, or ROLE_*_MISSING.
    fn check(&self, push: bool, report: &mut CheckReport) {
        let short = identity_short(self.identity);
        let (host, repo) = (self.host, self.repo);
        if wire::allows(self.granted, "pull") {
            report.verified(format!("{host}: token for {short} grants pull on `{repo}`"));
        } else {
            report.push(self.missing(false));
        }
        if push {
            if wire::allows(self.granted, "push") {
                report.verified(format!("{host}: token for {short} grants push on `{repo}`"));
            } else {
                report.push(self.missing(true));
            }
        }
    }

    /// The references a missing right is about: for push, those the build pushes to
    /// (a cache it only imports from the same repository is not one).
    fn named(&self, push: bool) -> Vec<&Target> {
        let pushing: Vec<&Target> = self.targets.iter().copied().filter(|t| t.push).collect();
        if push && !pushing.is_empty() {
            pushing
        } else {
            self.targets.clone()
        }
    }

    fn missing(&self, push: bool) -> Finding {
        let shown = if self.granted.is_empty() {
            "no actions".to_string()
        } else {
            self.granted.join(",")
        };
        role_finding(
            self.hints,
            self.host,
            self.repo,
            push,
            &shown,
            &self.identity.described,
            self.identity,
            &self.named(push),
        )
    }
}

#[derive(Default)]
struct Lookup {
    findings: Vec<Finding>,
    verified: Vec<String>,
    resolved: Option<Resolved>,
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
    let oci_context = crate::reference::is_oci_context(&info.reference);
    // The blob probe needs the body too; a GET costs what the HEAD did.
    let get = oci_context || target.probe_blob;
    let reply = match client
        .manifest(host, &target.repository, &reference, auth, get)
        .await
    {
        Ok(r) => r,
        Err(e) => {
            out.findings
                .push(net_only_finding(host, &e, &info.reference));
            return out;
        }
    };
    let method = if get { "GET" } else { "HEAD" };
    let seen = format!(
        "{method} /v2/{}/manifests/{reference} → {}",
        target.repository,
        reply.describe()
    );
    // On ACR, a failure a read lock explains is reported as that lock.
    if reply.status != 200
        && !reply.throttled()
        && let Some(f) = locks::read_locked(client, host, target, source, &seen).await
    {
        out.findings.push(f.about(info.reference.clone()));
        return out;
    }
    match reply.status {
        200 => {
            let manifest = Manifest {
                target,
                reference: &reference,
                oci_context,
                seen: &seen,
                data_endpoints: hints
                    .facts(host)
                    .map(|f| f.data_endpoint_host_names.as_slice())
                    .unwrap_or_default(),
            };
            found(client, host, auth, &manifest, &reply, &mut out).await;
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
        401 | 403 => out.findings.push(unverifiable_as_warning(
            identity,
            pull_refused(host, &target.repository, &seen, identity, hints),
        )),
        _ if reply.throttled() => {}
        _ => out.findings.push(unexpected_finding(host, &seen, &reply)),
    }
    for f in &mut out.findings {
        f.reference = Some(info.reference.clone());
    }
    out
}

/// A manifest request that answered 200, and how it was asked.
struct Manifest<'a> {
    target: &'a Target,
    /// The tag or digest asked for.
    reference: &'a str,
    /// An `oci://` context: the body was read (ACR Tasks reads the artifact's layers).
    oci_context: bool,
    /// The request and its answer, for messages.
    seen: &'a str,
    /// ARM's `dataEndpointHostNames` for the registry, when read.
    data_endpoints: &'a [String],
}

/// The facts of a served manifest: digest, type, size and an index's platforms, checked
/// against a pinned digest and, for `oci://` contexts, against what ACR Tasks can use.
async fn found(
    client: &Client,
    host: &str,
    auth: &Auth,
    manifest: &Manifest<'_>,
    reply: &registry::Reply,
    out: &mut Lookup,
) {
    let info = &manifest.target.info;
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
            .manifest(
                host,
                &manifest.target.repository,
                manifest.reference,
                auth,
                true,
            )
            .await
            && r.status == 200
        {
            body = r.body;
        }
    }
    let is_image = matches!(
        media_type.as_deref(),
        Some(wire::OCI_MANIFEST | wire::DOCKER_MANIFEST)
    );
    let platforms = if is_index {
        wire::index_platforms(&body)
    } else if is_image && manifest.target.platforms_requested {
        let config = image_platform(client, host, auth, manifest, &mut body).await;
        out.findings.extend(config.finding);
        out.verified.extend(config.fact);
        config.platform.into_iter().collect()
    } else {
        Vec::new()
    };
    let config_read = is_image && manifest.target.platforms_requested;
    if manifest.target.probe_blob && !config_read && (is_image || is_index) {
        let probe = probe_blob(client, host, auth, manifest, &body, is_index).await;
        out.findings.extend(probe.finding);
        out.verified.extend(probe.fact);
    }
    out.verified.push(served_fact(
        &info.reference,
        digest.as_deref(),
        media_type.as_deref(),
        size,
        &platforms,
    ));
    if let (Some(pinned), Some(got)) = (&info.digest, &digest)
        && pinned != got
    {
        out.findings.push(digest_mismatch(
            host,
            &info.reference,
            manifest.seen,
            pinned,
            got,
        ));
    }
    if manifest.oci_context
        && let Some(f) = artifact_finding(info, media_type.as_deref(), &body)
    {
        out.findings.push(f);
    }
    if let Some(d) = digest {
        out.resolved = Some(Resolved {
            index: manifest.target.index,
            digest: d,
            media_type,
            platforms,
        });
    }
}

/// What reading a single image's config came to.
#[derive(Debug, Default)]
struct ConfigRead {
    /// `os/architecture[/variant]` from the config.
    platform: Option<String>,
    /// NET_DATA_ENDPOINT: the registry redirected the blob to a host that cannot be
    /// reached.
    finding: Option<Finding>,
    /// Where the config came from, or why it was not read.
    fact: Option<String>,
}

/// The platform of a single image, from its config: the manifest's body (one GET when
/// the lookup was a HEAD), then the config blob (one GET), served by the registry or,
/// behind its one redirect, by a storage host (one GET more, without credentials:
/// [`Client::blob`]). A storage host that cannot be reached is NET_DATA_ENDPOINT.
async fn image_platform(
    client: &Client,
    host: &str,
    auth: &Auth,
    manifest: &Manifest<'_>,
    body: &mut Vec<u8>,
) -> ConfigRead {
    let repository = &manifest.target.repository;
    if body.is_empty() {
        match client
            .manifest(host, repository, manifest.reference, auth, true)
            .await
        {
            Ok(r) if r.status == 200 => *body = r.body,
            _ => return ConfigRead::default(),
        }
    }
    let Some(digest) = wire::manifest_config_digest(body) else {
        return ConfigRead::default();
    };
    let (config, mut read) = config_blob(client, host, auth, manifest, &digest, false).await;
    read.platform = config.as_deref().and_then(wire::config_platform);
    read
}

/// The blob probe of one ACR registry (P47): the smallest blob the run knows of, the
/// config of the image (of an index: of its `linux/amd64` image, one manifest GET
/// more), asked with `Range: bytes=0-0` and its redirect followed without credentials,
/// as docker downloads layers. Two requests (the blob GET and its storage hop); behind
/// an index three, less the body GET the index's HEAD lookup would have needed.
async fn probe_blob(
    client: &Client,
    host: &str,
    auth: &Auth,
    manifest: &Manifest<'_>,
    body: &[u8],
    is_index: bool,
) -> ConfigRead {
    let child;
    let image = if is_index {
        let Some(digest) = wire::index_child_digest(body).filter(|d| wire::well_formed_digest(d))
        else {
            return ConfigRead::default();
        };
        match client
            .manifest(host, &manifest.target.repository, &digest, auth, true)
            .await
        {
            Ok(r) if r.status == 200 => child = r.body,
            _ => return ConfigRead::default(),
        }
        &child
    } else {
        body
    };
    let Some(digest) = wire::manifest_config_digest(image) else {
        return ConfigRead::default();
    };
    config_blob(client, host, auth, manifest, &digest, true)
        .await
        .1
}

/// One config blob GET (`probe`: only its first byte) and the hop behind its redirect:
/// the body when it was read whole, and the finding or fact it came to.
async fn config_blob(
    client: &Client,
    host: &str,
    auth: &Auth,
    manifest: &Manifest<'_>,
    digest: &str,
    probe: bool,
) -> (Option<Vec<u8>>, ConfigRead) {
    let mut read = ConfigRead::default();
    let repository = &manifest.target.repository;
    // From the registry's answer: only a well-formed digest goes into the URL.
    if !wire::well_formed_digest(digest) {
        return (None, read);
    }
    let Ok(fetch) = client.blob(host, repository, digest, auth, probe).await else {
        return (None, read);
    };
    let reference = &manifest.target.info.reference;
    let range = if probe { ", Range: bytes=0-0" } else { "" };
    let seen = format!(
        "GET /v2/{repository}/blobs/{digest}{range} → HTTP {}",
        fetch.reply.status
    );
    let unproven = if probe {
        "blob downloads from it are not proven".to_string()
    } else {
        format!("the platform of `{reference}` was not read")
    };
    let ok = |status: u16| status == 200 || (probe && status == 206);
    let mut body = None;
    match fetch.storage {
        None if ok(fetch.reply.status) => {
            if probe {
                read.fact = Some(format!(
                    "{host}: blob downloads work: {seen} (the config of `{reference}`), served by the registry itself"
                ));
            }
            body = Some(fetch.reply.body);
        }
        None => {
            if probe {
                read.fact = Some(format!("{host}: {seen}: {unproven}"));
            }
        }
        Some(StorageHop::Answered { shown, reply, .. }) if ok(reply.status) => {
            read.fact = Some(if probe {
                format!(
                    "{host}: blob downloads work: {seen} (the config of `{reference}`), a redirect to {shown}, which answered HTTP {} (followed once, without credentials)",
                    reply.status
                )
            } else {
                format!(
                    "{host}: the config of `{reference}` came through the registry's redirect to {shown} (followed once, without credentials)"
                )
            });
            body = Some(reply.body);
        }
        Some(StorageHop::Answered { shown, reply, .. }) => {
            read.fact = Some(format!(
                "{host}: {seen}, a redirect to {shown}, which answered HTTP {}: {unproven}",
                reply.status
            ));
        }
        Some(StorageHop::Failed {
            shown,
            host: storage,
            error,
        }) if matches!(
            error.kind,
            NetKind::Dns | NetKind::Connect | NetKind::Tls | NetKind::Timeout
        ) =>
        {
            let hop = Hop {
                host,
                storage: &storage,
                shown: &shown,
                seen: &seen,
                reference,
                data_endpoints: manifest.data_endpoints,
            };
            read.finding = Some(data_endpoint_unreachable(&hop, &error));
        }
        Some(StorageHop::Failed { shown, error, .. }) => {
            read.fact = Some(format!(
                "{host}: {seen}, a redirect to {shown}, which failed ({}): {unproven}",
                wire::shorten(&error.detail, 200)
            ));
        }
        Some(StorageHop::Refused { shown, why }) => {
            read.fact = Some(format!(
                "{host}: {seen}, a redirect to {shown}, not followed ({why}): {unproven}"
            ));
        }
    }
    (body, read)
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
    let by_digest = target.info.digest.is_some();
    let (tags, tag_note) = list_tags(client, host, repo, auth).await;
    if let Some(tags) = &tags
        && (!tags.is_empty() || !refused)
    {
        if refused && !by_digest && tags.iter().any(|t| t == reference) {
            return refused_although_listed(host, repo, reference, seen);
        }
        let missing = MissingTag {
            host,
            repository: repo,
            written: &target.info.reference,
            by_digest,
            reference,
            seen,
            refused,
            pull_proven,
        };
        return tag_not_found(&missing, tags, &tag_note);
    }
    // No tag list: the repository itself is missing (or unlistable).
    let repos = list_repositories(client, host, auth, source).await;
    repository_not_found(host, target, seen, &repos, &tag_note)
}

/// The repository's tags (`None` when unreadable) and a note on a partial or failed list.
pub(super) async fn list_tags(
    client: &Client,
    host: &str,
    repo: &str,
    auth: &Auth,
) -> (Option<Vec<String>>, String) {
    match client.tags(host, repo, auth).await {
        Ok(Ok(list)) => {
            let note = list
                .partial
                .as_ref()
                .map(|why| format!(" The tag list is partial: {why}."))
                .unwrap_or_default();
            (Some(list.tags), note)
        }
        Ok(Err(reply)) => {
            let note = if reply.redirect_target().is_some() {
                format!(" GET /v2/{repo}/tags/list → {}.", reply.describe())
            } else {
                String::new()
            };
            (None, note)
        }
        // A hung, reset or oversized tags answer: the finding still stands, and says
        // why it lists no tags.
        Err(e) => (
            None,
            format!(
                " The tag list could not be read: {} {}.",
                e.url,
                wire::shorten(&e.detail, 200)
            ),
        ),
    }
}

/// The registry's catalog, empty when unreadable. On token registries the catalog
/// needs its own scope.
async fn list_repositories(
    client: &Client,
    host: &str,
    auth: &Auth,
    source: Option<&TokenSource>,
) -> Vec<String> {
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
    match client.catalog(host, &catalog_auth).await {
        Ok(Ok(repos)) => repos,
        _ => Vec::new(),
    }
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

fn throttle_findings(client: &Client, hints: &RoleHints, report: &mut CheckReport) {
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
    let sku = hints.facts(&host).and_then(|f| f.sku.as_deref());
    let fix = match (acr_name(&host), sku) {
        (Some(name), Some(sku)) => sku_fix(name, sku),
        (Some(name), None) => format!("ACR's request limits depend on the SKU: spread concurrent jobs, or move to a larger tier: az acr update -n {name} --sku Premium"),
        (None, _) if crate::reference::is_docker_hub(&host) => "Log in to Docker Hub (authenticated pulls have higher limits), or pull through a mirror.".into(),
        (None, _) => format!("Reduce concurrent pulls from {host}, or ask its administrator about its rate limits."),
    };
    let tier = sku
        .filter(|_| acr_name(&host).is_some())
        .map(|sku| format!(" ARM says the registry is on the {} tier, whose request limits apply to every job that uses it at the same time.", crate::checks::reference::show_value(sku)))
        .unwrap_or_default();
    report.push(finding(
        Code::REGISTRY_THROTTLED,
        severity,
        format!("{host} throttled this run (429)"),
        format!(
            "{} request(s) were answered with 429 TOOMANYREQUESTS, last {};{retry} {outcome}.{tier}",
            throttles.len(),
            worst.url
        ),
        fix,
    ));
}

/// REGISTRY_THROTTLED's fix for an ACR whose tier ARM named. Learn's service tier page
/// (https://learn.microsoft.com/azure/container-registry/container-registry-skus) gives
/// the tiers' read/write limits, higher for each tier, Premium the highest, and
/// `az acr update --sku` to change tier without downtime; it states no fixed per-minute
/// numbers any more, so none are quoted here.
fn sku_fix(name: &str, sku: &str) -> String {
    if sku.eq_ignore_ascii_case("Premium") {
        format!(
            "{name} is already on Premium, the tier with the highest request limits: spread concurrent jobs (each job of a matrix pulls and pushes at the same time), retry with backoff, and watch the registry's ThrottledRequests metric; ask Azure support if Premium's limits are not enough."
        )
    } else {
        format!(
            "Spread concurrent jobs (each job of a matrix pulls and pushes at the same time), or move {name} from {sku} to Premium, the tier with the highest request limits (no downtime): az acr update -n {name} --sku Premium"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::credential::CredentialKind;

    #[test]
    fn the_admin_user_is_the_registry_name_and_arm_says_whether_it_is_enabled() {
        let host = "myreg.azurecr.io";
        let identity = |user: &str| Identity {
            credential: Some(Credential::new(
                CredentialKind::UsernamePassword,
                user.into(),
                "pw".into(),
            )),
            described: String::new(),
            problem: None,
            short: String::new(),
            entra: false,
        };
        let hints = |enabled: Option<bool>| RoleHints {
            client_id: None,
            scope_maps: BTreeMap::new(),
            registries: BTreeMap::from([(
                host.to_string(),
                crate::azure::arm::RegistryFacts {
                    name: "myreg".into(),
                    admin_user_enabled: enabled,
                    ..Default::default()
                },
            )]),
        };
        assert_eq!(
            admin_user(host, &identity("MYREG"), &hints(Some(false))),
            Some(false)
        );
        assert_eq!(
            admin_user("MyReg.azurecr.io", &identity("myreg"), &hints(Some(true))),
            Some(true)
        );
        assert_eq!(admin_user(host, &identity("myreg"), &hints(None)), None);
        assert_eq!(
            admin_user(host, &identity("ci-bot"), &hints(Some(false))),
            None
        );
        assert_eq!(
            admin_user("other.azurecr.io", &identity("myreg"), &hints(Some(true))),
            None
        );
        let fix = messages::admin_password_fix("myreg", "docker login myreg.azurecr.io");
        assert!(fix.contains("regenerated"), "{fix}");
        assert!(fix.contains("az acr credential show -n myreg"), "{fix}");
    }

    #[test]
    fn an_unreachable_storage_host_gets_the_fix_of_its_kind() {
        let error = |kind| NetError {
            kind,
            url: "https://x/".into(),
            detail: "error sending request for url (https://s.example/p): refused".into(),
            endpoint: registry::Endpoint::Storage,
            stall: None,
        };
        let hop = |host, storage, shown| Hop {
            host,
            storage,
            shown,
            seen: "GET /v2/r/blobs/sha256:1 → HTTP 307",
            reference: "docker-image://r/x:v1",
            data_endpoints: &[],
        };
        let blob = "acct.blob.core.windows.net";
        let f = data_endpoint_unreachable(
            &hop(
                "myreg.azurecr.io",
                blob,
                "https://acct.blob.core.windows.net/c/b",
            ),
            &error(NetKind::Dns),
        );
        assert_eq!(f.code, Code::NET_DATA_ENDPOINT);
        assert!(f.message.contains("did not resolve"), "{}", f.message);
        // ARM's dataEndpointHostNames are named in the fix, each one.
        let names = [
            "myreg.westeurope.data.azurecr.io".to_string(),
            "myreg.eastus.data.azurecr.io".to_string(),
        ];
        let named = data_endpoint_unreachable(
            &Hop {
                data_endpoints: &names,
                ..hop(
                    "myreg.azurecr.io",
                    "myreg.westeurope.data.azurecr.io",
                    "https://myreg.westeurope.data.azurecr.io/p",
                )
            },
            &error(NetKind::Connect),
        );
        assert!(
            named.fix.contains("(`dataEndpointHostNames`): myreg.westeurope.data.azurecr.io, myreg.eastus.data.azurecr.io."),
            "{}",
            named.fix
        );
        assert!(
            f.fix
                .contains("az acr update --name myreg --data-endpoint-enabled true"),
            "{}",
            f.fix
        );
        assert!(f.fix.contains("privatelink.azurecr.io"), "{}", f.fix);
        let f = data_endpoint_unreachable(
            &hop(
                "registry.example:5000",
                "s.example:8443",
                "https://s.example/p",
            ),
            &error(NetKind::Connect),
        );
        // The client's text does not repeat the shown URL; no ACR command for others.
        assert!(
            f.message.contains("could not connect (refused)"),
            "{}",
            f.message
        );
        assert!(!f.fix.contains("az acr"), "{}", f.fix);
        assert!(f.fix.contains("to s.example in the runner's"), "{}", f.fix);
    }

    #[test]
    fn network_facts_name_the_data_endpoints_and_leave_open_registries_to_the_default_fix() {
        let mut facts = crate::azure::arm::RegistryFacts {
            id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/myreg".into(),
            name: "myreg".into(),
            public_network_access: Some("Enabled".into()),
            network_default_action: Some("Deny".into()),
            data_endpoint_enabled: Some(true),
            data_endpoint_host_names: vec!["myreg.westeurope.data.azurecr.io".into()],
            ..Default::default()
        };
        let (seen, fix) = messages::network_facts("myreg.azurecr.io", &facts, "myreg", "192.0.2.1");
        assert!(
            seen.contains(
                "ipRules none, dataEndpointEnabled true (myreg.westeurope.data.azurecr.io)"
            ),
            "{seen}"
        );
        let fix = fix.unwrap();
        assert!(fix.contains("--ip-address 192.0.2.1"), "{fix}");
        assert!(
            fix.contains("layers come from myreg.westeurope.data.azurecr.io"),
            "{fix}"
        );
        facts.network_default_action = Some("Allow".into());
        let (seen, fix) = messages::network_facts("myreg.azurecr.io", &facts, "myreg", "192.0.2.1");
        assert!(seen.contains("defaultAction Allow"), "{seen}");
        assert!(fix.is_none());
    }
}
