//! Base images on registries the run does not check (P38): a `FROM` image on Docker
//! Hub, another private registry, GHCR, MCR, quay… is pulled by the build with whatever
//! the docker config gives for that host (the helper it names, run once, or the file
//! store's entry), or anonymously. Per host: one `/v2/` ping, one token for all its
//! images (when the ping asks for one), then one manifest `HEAD` per image, all under
//! the run's deadline. A missing image is CONTEXT_NOT_FOUND at its `FROM` line, with the
//! nearest tags from one `tags/list` read (only then); a refusal without a credential is
//! a warning naming the login the build needs; a credential the token endpoint refuses
//! is CRED_REJECTED; a helper that is missing or fails is its HELPER_* finding at the
//! `FROM` line; a registry that throttles the lookup (429, P49) is REGISTRY_THROTTLED.
//!
//! Docker Hub: a manifest `HEAD` is not counted as a pull ("a HEAD request doesn't
//! count", https://docs.docker.com/docker-hub/usage/pulls/), and the same `HEAD` carries
//! the `ratelimit-remaining` header, so an anonymous lookup also reads the allowance that
//! REGISTRY_DOCKERHUB_ANONYMOUS (`dockerhub.rs`) reports: no separate probe is made. A
//! Docker Hub that does not answer is given the same bounded share of the deadline as
//! that probe.

use super::Ctx;
use crate::checks::credentials::{HelperOutcome, HostCredential, helper_for_host};
use crate::docker::config::Load;
use crate::docker::credential::{Credential, CredentialKind, Resolution};
use crate::findings::{CheckId, CheckReport, Code, ContextInfo, Finding, Severity};
use crate::reference::is_docker_hub;
use crate::reference::{parse_normalized, same_registry};
use crate::registry::ratelimit::{self, Allowance};
use crate::registry::{self, Auth, Client, NetError, Reply, TokenError, wire::Challenge};
use crate::workflow::BaseRef;
use std::collections::BTreeMap;

/// What an anonymous Docker Hub lookup read of the pull allowance: `Ok(None)` when
/// Docker Hub answered without the headers, `Err` when it could not be read.
pub type HubAllowance = Result<Option<Allowance>, String>;

/// One base image to look up: the `FROM`, its repository and the tag or digest.
#[derive(Debug, Clone)]
pub struct OtherBase {
    base: BaseRef,
    repository: String,
    reference: String,
}

/// The base images on registries other than `checked`, each once, by host; images that
/// are also a reference of the build are left to it.
pub fn other_bases(
    ctx: &Ctx,
    checked: &[String],
    contexts: &[ContextInfo],
) -> BTreeMap<String, Vec<OtherBase>> {
    let mut by_host: BTreeMap<String, Vec<OtherBase>> = BTreeMap::new();
    // A builder's BuildKit image (on Docker Hub) is pulled with the docker config's
    // Docker Hub credential when it holds one, and a stale one refuses the boot (P48):
    // it is looked up then. Anonymous, REGISTRY_DOCKERHUB_ANONYMOUS speaks for it.
    let hub_credential = super::dockerhub::anonymous_config(ctx).is_none();
    let boots = ctx.base_images.builders.iter().filter(|_| hub_credential);
    for base in ctx.base_images.images.iter().chain(boots) {
        let Ok(r) = parse_normalized(&base.image) else {
            continue;
        };
        let host = r.domain.clone().unwrap_or_default();
        if checked.iter().any(|h| same_registry(h, &host))
            || contexts.iter().any(|c| c.reference == base.image)
        {
            continue;
        }
        let list = by_host.entry(host.to_ascii_lowercase()).or_default();
        if list.iter().any(|o| o.base.image == base.image) {
            continue;
        }
        let reference = r
            .digest
            .clone()
            .or_else(|| r.tag.clone())
            .unwrap_or_else(|| "latest".into());
        list.push(OtherBase {
            base: base.clone(),
            repository: r.path.clone(),
            reference,
        });
    }
    by_host
}

/// Looks the images up, every host at once: the report, the HTTP requests taken, and
/// Docker Hub's allowance when its images were looked up anonymously.
pub async fn check(
    ctx: &Ctx,
    http: &Result<reqwest::Client, String>,
    by_host: BTreeMap<String, Vec<OtherBase>>,
    known: &[HostCredential],
) -> (CheckReport, u32, Option<HubAllowance>) {
    let mut report = CheckReport::default();
    let mut hub = None;
    let Ok(http) = http else {
        return (report, 0, hub);
    };
    if by_host.is_empty() {
        return (report, 0, hub);
    }
    let client = std::sync::Arc::new(ctx.registry_client(http.clone()));
    let known = std::sync::Arc::new(known.to_vec());
    let mut tasks = tokio::task::JoinSet::new();
    for (host, images) in by_host {
        let (ctx, client, known) = (ctx.clone(), client.clone(), known.clone());
        tasks.spawn(async move {
            if !is_docker_hub(&host) {
                return check_host(&ctx, &client, &host, &images, &known).await;
            }
            // A Docker Hub that does not answer must not hold the whole run to its deadline.
            let budget = super::dockerhub::budget(&ctx);
            let lookup = check_host(&ctx, &client, &host, &images, &known);
            match tokio::time::timeout(budget, lookup).await {
                Ok(done) => done,
                Err(_) => {
                    let why = super::dockerhub::no_answer(budget);
                    let mut report = CheckReport::default();
                    report.verified(format!(
                        "base images on {host} ({}) not looked up: {why}",
                        names(&images)
                    ));
                    (report, Some(Err(why)))
                }
            }
        });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok((r, allowance)) = joined {
            report.findings.extend(r.findings);
            report.verified.extend(r.verified);
            hub = hub.or(allowance);
        }
    }
    report.verified.sort();
    (report, client.request_count(), hub)
}

/// "`alpine:3.20` (Dockerfile:1), …" for notes.
fn names(images: &[OtherBase]) -> String {
    images
        .iter()
        .map(|o| format!("`{}` ({})", o.base.image, o.base.location.file_line()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the build presents to a host, and how messages name it.
struct Presented {
    credential: Option<Credential>,
    /// "the docker config's username/password for ci", "username/password for ci from
    /// helper `pass` (credHelpers)", "no credential (anonymous)".
    who: String,
    /// Why there is none, for CRED_NOT_FOUND: "the docker config holds none for h".
    none: String,
    /// CRED_EXPIRED (a warning) for a helper's token that ends soon, not yet located.
    expiring: Option<Box<Finding>>,
}

/// Why a host's images are not looked up before any request.
enum Stop {
    /// A verified line.
    Note(String),
    /// The helper docker runs for the host is missing or fails: the build's pull fails.
    Helper(Box<Finding>),
}

/// The credential docker presents to `host`: the file store's entry, the answer of the
/// helper the docker config names for it (run once, or the credentials check's answer
/// for the same key), or none (anonymous).
async fn presented(ctx: &Ctx, host: &str, known: &[HostCredential]) -> Result<Presented, Stop> {
    let anonymous = |none: String| Presented {
        credential: None,
        who: "no credential (anonymous)".to_string(),
        none,
        expiring: None,
    };
    let file_none = format!("the docker config holds none for {host}");
    let Some(config) = ctx
        .docker_config
        .as_ref()
        .as_ref()
        .ok()
        .and_then(Load::loaded)
    else {
        return Ok(anonymous(file_none));
    };
    if let Some(helper) = helper_for_host(ctx, config, host, known).await {
        let origin = helper.describe();
        return match helper.outcome {
            HelperOutcome::Found(c) => Ok(Presented {
                who: format!("{} from {origin}", c.describe()),
                credential: Some(c),
                none: String::new(),
                expiring: helper.expiring,
            }),
            HelperOutcome::NoCredentials(why) => Ok(anonymous(format!(
                "the docker config's {origin} is asked for {host} and {why}"
            ))),
            HelperOutcome::Failed(f) => Err(Stop::Helper(f)),
            HelperOutcome::NotRun(why) => Err(Stop::Note(format!(
                "the docker config names {origin} for it, which was not run: {why}"
            ))),
        };
    }
    Ok(match config.resolve(host) {
        Resolution::File { entry, .. } => match entry.credential() {
            Some(c) => Presented {
                who: format!("the docker config's {}", c.describe()),
                credential: Some(c),
                none: String::new(),
                expiring: None,
            },
            None => anonymous(file_none),
        },
        _ => anonymous(file_none),
    })
}

/// A helper finding about `host`, at the first `FROM` on it, naming its images.
fn helper_at_from(mut f: Finding, images: &[OtherBase], names: &str) -> Finding {
    let Some(first) = images.first() else {
        return f;
    };
    f.message = format!(
        "{} The build pulls {names} with the credential docker asks this helper for. {}",
        super::super::reference::from_line(&first.base),
        f.message
    );
    let l = &first.base.location;
    f.about(first.base.image.clone())
        .at(l.file.clone(), l.line, l.column)
}

async fn check_host(
    ctx: &Ctx,
    client: &Client,
    host: &str,
    images: &[OtherBase],
    known: &[HostCredential],
) -> (CheckReport, Option<HubAllowance>) {
    let mut report = CheckReport::default();
    let names = names(images);
    let hub = is_docker_hub(host);
    let later = ctx
        .later_logins
        .iter()
        .find(|l| same_registry(&l.registry, host))
        .map(|l| format!("later ({} in step `{}`)", l.what, l.step_label))
        .or_else(|| {
            hub.then(|| ctx.docker_hub_login.as_ref().map(|l| format!("({l})")))
                .flatten()
        });
    let Presented {
        credential,
        who,
        none,
        expiring,
    } = match presented(ctx, host, known).await {
        Ok(p) => p,
        Err(Stop::Note(why)) => {
            report.verified(format!(
                "base images on {host} ({names}) not looked up: {why}"
            ));
            return (report, None);
        }
        Err(Stop::Helper(f)) => {
            report.push(helper_at_from(*f, images, &names));
            return (report, None);
        }
    };
    if let Some(f) = expiring {
        report.push(helper_at_from(*f, images, &names));
    }
    if let (None, Some(login)) = (&credential, later) {
        report.verified(format!(
            "base images on {host} ({names}) not looked up: the job logs in to {host} {login}"
        ));
        return (report, None);
    }
    // Docker Hub's anonymous allowance rides on these lookups' answers.
    let anonymous_hub = hub && credential.is_none();
    let ping = match client.ping(host).await {
        Ok(p) => p,
        // Docker Hub is often reached through the daemon's `registry-mirrors`, so its
        // silence here does not prove the build's pull fails: a note, not a NET_* error.
        Err(e) if hub => {
            report.verified(format!(
                "base images on {host} ({names}) not looked up: {}",
                net(&e)
            ));
            return (report, anonymous_hub.then_some(Err(net(&e))));
        }
        Err(e) => {
            report.push(unreached(host, &e, images, &names));
            return (report, None);
        }
    };
    let auth = match authorise(client, host, &ping, images, credential.as_ref()).await {
        Ok(auth) => auth,
        Err(NotLookedUp::Throttled(reply, seen)) => {
            let hit: Vec<(&OtherBase, String)> = images.iter().map(|o| (o, seen.clone())).collect();
            report
                .findings
                .extend(throttled(ctx, client, host, &hit, &reply));
            return (report, anonymous_hub.then_some(Err(seen)));
        }
        Err(NotLookedUp::Rejected { realm, reply }) => {
            if let Some(f) = rejected(host, images, &names, &realm, &reply, &who) {
                report.push(f);
            }
            return (report, None);
        }
        Err(NotLookedUp::Why(why)) => {
            report.verified(format!(
                "base images on {host} ({names}) not looked up: {why}"
            ));
            return (report, anonymous_hub.then_some(Err(why)));
        }
    };
    let mut allowance: Option<HubAllowance> = None;
    let mut hit: Vec<(&OtherBase, String)> = Vec::new();
    let mut last_throttle: Option<Reply> = None;
    for image in images {
        let reply = match client
            .manifest(host, &image.repository, &image.reference, &auth, false)
            .await
        {
            Ok(r) => r,
            Err(e) if hub => {
                report.verified(format!(
                    "base image `{}` not looked up: {}",
                    image.base.image,
                    net(&e)
                ));
                if anonymous_hub && allowance.is_none() {
                    allowance = Some(Err(net(&e)));
                }
                continue;
            }
            Err(e) => {
                let named = format!("`{}`", image.base.image);
                report.push(unreached(host, &e, std::slice::from_ref(image), &named));
                continue;
            }
        };
        let seen = format!(
            "HEAD /v2/{}/manifests/{} → {}",
            image.repository,
            image.reference,
            reply.describe()
        );
        if anonymous_hub {
            allowance = Some(hub_allowance(allowance, &reply, &seen));
        }
        match reply.status {
            _ if reply.throttled() => {
                hit.push((image, seen));
                last_throttle = Some(reply);
            }
            200 => report.verified(format!(
                "base image `{}` ({}) is on {host}, which this run does not check: {seen}, with {who}",
                image.base.image,
                image.base.location.file_line()
            )),
            404 => report.push(not_found(client, host, image, &auth, &seen).await),
            401 | 403 if credential.is_none() => {
                report.push(login_needed(host, image, &seen, &none))
            }
            401 | 403 => report.push(refused(host, image, &seen, &who)),
            _ => report.verified(format!(
                "base image `{}` on {host}: {seen}, not judged",
                image.base.image
            )),
        }
    }
    if let Some(reply) = last_throttle {
        report
            .findings
            .extend(throttled(ctx, client, host, &hit, &reply));
    }
    (report, allowance)
}

/// Docker Hub's allowance after one more `HEAD` answer: the first answer that reports
/// it wins; an answer without the headers reads as "not reported" when it is a 200 or a
/// 429 (as `ratelimit::docker_hub_allowance` reads it), else as what was seen.
fn hub_allowance(before: Option<HubAllowance>, reply: &Reply, seen: &str) -> HubAllowance {
    match (before, ratelimit::allowance(&reply.headers)) {
        (Some(Ok(Some(a))), _) | (_, Some(a)) => Ok(Some(a)),
        (_, None) if matches!(reply.status, 200 | 429) => Ok(None),
        (Some(before), None) => before,
        (None, None) => Err(seen.to_string()),
    }
}

/// A host that does not answer: the NET_* finding of the build's own registry, at the
/// first `FROM` on it (the build's pull fails the same way).
fn unreached(host: &str, e: &NetError, images: &[OtherBase], names: &str) -> Finding {
    let f = super::messages::net_only_finding(host, e, names);
    match images.first() {
        Some(i) => {
            let l = &i.base.location;
            f.about(i.base.image.clone())
                .at(l.file.clone(), l.line, l.column)
        }
        None => f,
    }
}

/// A request without an answer, for a verified note.
fn net(e: &NetError) -> String {
    format!(
        "{} ({}) got no answer: {}",
        e.endpoint.describe(),
        e.url,
        e.detail
    )
}

/// Why a host's images were not looked up.
enum NotLookedUp {
    /// The ping or the token request was throttled (429): the answer and what was seen.
    Throttled(Box<Reply>, String),
    /// The token endpoint refused the credential (4xx): docker's pull is refused too.
    Rejected {
        realm: String,
        reply: Box<Reply>,
    },
    Why(String),
}

impl From<String> for NotLookedUp {
    fn from(why: String) -> NotLookedUp {
        NotLookedUp::Why(why)
    }
}

/// The auth for the manifest requests: after the ping, a Bearer token for every
/// repository of the host at once, Basic credentials, or none.
async fn authorise(
    client: &Client,
    host: &str,
    ping: &registry::Reply,
    images: &[OtherBase],
    credential: Option<&Credential>,
) -> Result<Auth, NotLookedUp> {
    if ping.throttled() {
        let seen = format!("GET /v2/ → {}", ping.describe());
        return Err(NotLookedUp::Throttled(Box::new(ping.clone()), seen));
    }
    let basic = |c: &Credential| match c.kind() {
        CredentialKind::UsernamePassword => Auth::Basic {
            user: c.username().to_string(),
            password: c.secret().to_string(),
        },
        _ => Auth::None,
    };
    match ping.status {
        200 => Ok(credential.map_or(Auth::None, basic)),
        401 => match registry::challenge_of(ping) {
            Ok(Challenge::Basic { .. }) => Ok(credential.map_or(Auth::None, basic)),
            Ok(Challenge::Bearer { realm, service, .. }) => {
                let mut scopes: Vec<String> = images
                    .iter()
                    .map(|o| registry::repository_scope(&o.repository, false))
                    .collect();
                scopes.dedup();
                match client
                    .token(host, &realm, service.as_deref(), &scopes, credential)
                    .await
                {
                    Ok(t) => Ok(Auth::Bearer(t.token)),
                    Err(TokenError::Refused(r) | TokenError::Unexpected(r)) if r.throttled() => {
                        let seen = format!("token request to {realm} → {}", r.describe());
                        Err(NotLookedUp::Throttled(Box::new(r), seen))
                    }
                    // An anonymous token refused: the manifest answer says the rest.
                    Err(_) if credential.is_none() => Ok(Auth::None),
                    Err(TokenError::Net(e)) => Err(net(&e).into()),
                    Err(TokenError::Refused(r)) => Err(NotLookedUp::Rejected {
                        realm: realm.clone(),
                        reply: Box::new(r),
                    }),
                    Err(TokenError::Unexpected(r)) => Err(format!(
                        "the token endpoint answered {} for the docker config's credential",
                        r.describe()
                    )
                    .into()),
                    Err(TokenError::BadRealm(why)) => Err(why.into()),
                }
            }
            Err(_) => Err(String::from("its /v2/ challenge could not be read").into()),
        },
        status => Err(format!("/v2/ answered HTTP {status}").into()),
    }
}

fn finding(
    code: Code,
    severity: Severity,
    image: &OtherBase,
    title: String,
    message: String,
    fix: String,
) -> Finding {
    let message = format!(
        "{} {message}",
        super::super::reference::from_line(&image.base)
    );
    let l = &image.base.location;
    Finding::new(CheckId::Registry, code, severity, title, message, fix)
        .about(image.base.image.clone())
        .at(l.file.clone(), l.line, l.column)
}

/// CONTEXT_NOT_FOUND for a 404: with the repository's tags and the nearest ones, as
/// for a registry the run checks (one `tags/list` read, with the same auth, paginated
/// and bounded the same way), else without them.
async fn not_found(
    client: &Client,
    host: &str,
    image: &OtherBase,
    auth: &Auth,
    seen: &str,
) -> Finding {
    let (tags, tag_note) = super::list_tags(client, host, &image.repository, auth).await;
    let Some(tags) = tags else {
        return missing(host, image, seen);
    };
    let tag = super::messages::MissingTag {
        host,
        repository: &image.repository,
        written: &image.base.image,
        by_digest: image.reference.starts_with("sha256:"),
        reference: &image.reference,
        seen,
        refused: false,
        pull_proven: false,
    };
    let mut f =
        super::messages::tag_not_found(&tag, &tags, &tag_note).about(image.base.image.clone());
    super::super::reference::attribute_to_from(&mut f, &image.base);
    f
}

fn missing(host: &str, image: &OtherBase, seen: &str) -> Finding {
    let what = if image.reference.starts_with("sha256:") {
        format!("digest `{}`", image.reference)
    } else {
        format!("tag `{}`", image.reference)
    };
    finding(
        Code::CONTEXT_NOT_FOUND,
        Severity::Error,
        image,
        format!("{what} does not exist in {host}/{}", image.repository),
        format!("{seen}: the registry has no such manifest, so the build fails at `FROM`."),
        format!(
            "Correct the `FROM` at {} (`docker buildx imagetools inspect {host}/{}:<tag>` shows what a tag holds), or push the image first.",
            image.base.location.file_line(),
            image.repository
        ),
    )
}

/// The login the build needs for `host`, as a workflow step.
fn login_step(host: &str) -> String {
    if let Some(name) = crate::cloud::acr_registry(host) {
        return format!("`az acr login -n {name}` (after azure/login) before the build step");
    }
    if is_docker_hub(host) {
        // docker/login-action logs in to Docker Hub when `registry` is not given.
        return "a Docker Hub login before the build step:\n- uses: docker/login-action@v3\n  with:\n    username: ${{ vars.DOCKERHUB_USERNAME }}\n    password: ${{ secrets.DOCKERHUB_TOKEN }}".into();
    }
    let (user, password) = if host.eq_ignore_ascii_case("ghcr.io") {
        ("${{ github.actor }}", "${{ secrets.GITHUB_TOKEN }}")
    } else {
        ("<user>", "${{ secrets.<PASSWORD_SECRET> }}")
    };
    format!(
        "a login before the build step:\n- uses: docker/login-action@v3\n  with:\n    registry: {host}\n    username: {user}\n    password: {password}"
    )
}

fn login_needed(host: &str, image: &OtherBase, seen: &str, none: &str) -> Finding {
    finding(
        Code::CRED_NOT_FOUND,
        Severity::Warning,
        image,
        format!("base image `{}` needs a login to {host}", image.base.image),
        format!(
            "{seen} without a credential: {none} and no step of the job logs in to it, so the build pulls anonymously and is refused (or the image does not exist: a registry that refuses anonymous reads does not say which)."
        ),
        format!("Log in to {host} with {}", login_step(host)),
    )
}

fn refused(host: &str, image: &OtherBase, seen: &str, who: &str) -> Finding {
    finding(
        Code::ROLE_PULL_MISSING,
        Severity::Warning,
        image,
        format!("{host} refuses base image `{}`", image.base.image),
        format!(
            "{seen} with {who}: that credential may not pull `{}`, or the tag does not exist (registries such as ACR answer both with 401).",
            image.repository
        ),
        format!(
            "Give the credential the docker config holds for {host} pull rights on `{}` (check the tag exists), or log in with one that has them: {}",
            image.repository,
            login_step(host)
        ),
    )
}

/// CRED_REJECTED: the token endpoint of a `FROM` image's registry refused the
/// credential docker presents there, at the first `FROM` on it.
fn rejected(
    host: &str,
    images: &[OtherBase],
    names: &str,
    realm: &str,
    reply: &Reply,
    who: &str,
) -> Option<Finding> {
    let first = images.first()?;
    Some(finding(
        Code::CRED_REJECTED,
        Severity::Error,
        first,
        format!("{host} refused the credential docker would use"),
        format!(
            "The token endpoint {} refused {who}: {}. The build presents the same credential to pull {names} and is refused (`unauthorized`).",
            registry::wire::shorten(realm, 200),
            reply.describe()
        ),
        format!(
            "Replace the credential docker holds for {host} (a wrong or rotated password, an expired token), with {}{}",
            login_step(host),
            if first.base.boot {
                format!(
                    "\nThe login must run before step `{}`, whose builder pulls its image when it boots.",
                    first.base.step.label
                )
            } else {
                String::new()
            }
        ),
    ))
}

/// Upstreams an ACR artifact cache rule can pull through, by their login servers
/// (https://learn.microsoft.com/azure/container-registry/artifact-cache-overview).
const CACHE_UPSTREAMS: [&str; 5] = [
    "docker.io",
    "mcr.microsoft.com",
    "ghcr.io",
    "quay.io",
    "registry.k8s.io",
];

/// REGISTRY_THROTTLED for a registry the run does not check (P49): `hit` are the
/// images whose lookup was throttled and what was seen, `reply` the last 429.
fn throttled(
    ctx: &Ctx,
    client: &Client,
    host: &str,
    hit: &[(&OtherBase, String)],
    reply: &Reply,
) -> Option<Finding> {
    let (first, seen) = hit.first()?;
    // The client retried within the deadline; how often it was answered 429.
    let answers = client
        .throttles()
        .iter()
        .filter(|t| !t.recovered && reply.url.as_str() == t.url)
        .map(|t| t.answers)
        .max()
        .unwrap_or(1);
    let retry = reply.retry_after();
    let retry_note = retry
        .map(|d| format!(", Retry-After: {} s", d.as_secs()))
        .unwrap_or_default();
    let others = if hit.len() > 1 {
        format!(
            " The lookups of {} were throttled too.",
            hit.iter()
                .skip(1)
                .map(|(o, _)| format!("`{}` ({})", o.base.image, o.base.location.file_line()))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    let message = format!(
        "{seen}; {answers} attempt(s) within the run's deadline, all answered 429{retry_note}.{others} {host} is not a registry this run checks: its request limit counts every pull from this runner's address, so the build's own pull of the image meets the same limit and fails with `toomanyrequests` while it lasts."
    );
    let (acr, login_server) = super::dockerhub::mirror(ctx);
    let name = acr.clone().unwrap_or_else(|| "<registry>".into());
    let mut commands = Vec::new();
    let mut fix = format!(
        "Retry the job later{}, with backoff between attempts. To stop depending on {host}'s limits, mirror the image into your registry",
        retry
            .map(|d| format!(" (the registry asked for {} s)", d.as_secs()))
            .unwrap_or_default()
    );
    match parse_normalized(&first.base.image) {
        Ok(r) => {
            let import = super::dockerhub::import_command(&name, &r);
            let target = super::dockerhub::import_target(&r);
            fix.push_str(&format!(
                " and change the `FROM` line to `FROM {login_server}/{target}`:\n{import}"
            ));
            commands.push(import);
            if CACHE_UPSTREAMS.iter().any(|u| same_registry(u, host)) {
                let repository = super::dockerhub::mirror_repository(&r);
                let rule = repository.replace(['/', '.', '_'], "-");
                let cache = format!(
                    "az acr cache create -r {name} -n {rule} -s {host}/{} -t {repository}",
                    r.path
                );
                fix.push_str(&format!(
                    "\nor let the registry pull it through on demand with an artifact cache rule (the same `FROM`):\n{cache}"
                ));
                commands.push(cache);
            }
        }
        Err(_) => fix.push_str(" and change the `FROM` line to it."),
    }
    let title = if hit.len() > 1 {
        format!(
            "{host} throttled the lookup of {} base images (429)",
            hit.len()
        )
    } else {
        format!(
            "{host} throttled the lookup of base image `{}` (429)",
            first.base.image
        )
    };
    let f = finding(
        Code::REGISTRY_THROTTLED,
        Severity::Warning,
        first,
        title,
        message,
        fix,
    );
    Some(f.with_commands(if acr.is_some() { commands } else { Vec::new() }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    fn reply(status: u16, remaining: Option<&'static str>) -> Reply {
        let mut headers = HeaderMap::new();
        if let Some(r) = remaining {
            headers.insert("ratelimit-remaining", HeaderValue::from_static(r));
        }
        Reply {
            status,
            headers,
            body: Vec::new(),
            url: reqwest::Url::parse("https://registry-1.docker.io/v2/library/a/manifests/1")
                .unwrap(),
            peer: None,
        }
    }

    #[test]
    fn the_first_head_that_reports_the_allowance_wins() {
        let left = |a: &HubAllowance| {
            a.as_ref()
                .ok()
                .and_then(|a| a.as_ref())
                .and_then(|a| a.remaining)
                .map(|q| q.count)
        };
        // A 404 without the headers says nothing yet; a later 200 reporting it wins.
        let first = hub_allowance(None, &reply(404, None), "HEAD → 404");
        assert_eq!(first, Err("HEAD → 404".to_string()));
        let second = hub_allowance(Some(first), &reply(200, Some("7;w=3600")), "HEAD → 200");
        assert_eq!(left(&second), Some(7));
        // Once read, later answers do not change it.
        let third = hub_allowance(Some(second), &reply(200, Some("6;w=3600")), "HEAD → 200");
        assert_eq!(left(&third), Some(7));
        // A 200 or a 429 without the headers: answered, but not reported.
        assert_eq!(hub_allowance(None, &reply(429, None), "x"), Ok(None));
        let kept = hub_allowance(Some(Ok(None)), &reply(404, None), "x");
        assert_eq!(kept, Ok(None));
    }
}
