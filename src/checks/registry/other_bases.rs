//! Base images on registries the run does not check (P38): a `FROM` image on another
//! private registry, GHCR, MCR, quay… is pulled by the build with whatever the docker
//! config holds for that host, or anonymously. Per host: one `/v2/` ping, one token for
//! all its images (when the ping asks for one), then one manifest `HEAD` per image, all
//! under the run's deadline. A missing image is CONTEXT_NOT_FOUND at its `FROM` line; a
//! refusal without a credential is a warning naming the login the build needs. Docker
//! Hub's images are REGISTRY_DOCKERHUB_ANONYMOUS's concern (`dockerhub.rs`).

use super::Ctx;
use crate::docker::config::{self as docker_config, Load};
use crate::docker::credential::{Credential, CredentialKind, Resolution};
use crate::findings::{CheckId, CheckReport, Code, ContextInfo, Finding, Severity};
use crate::reference::{parse_normalized, same_registry};
use crate::registry::{self, Auth, Client, NetError, TokenError, wire::Challenge};
use crate::workflow::BaseRef;
use std::collections::BTreeMap;

/// One base image to look up: the `FROM`, its repository and the tag or digest.
#[derive(Debug, Clone)]
pub struct OtherBase {
    base: BaseRef,
    repository: String,
    reference: String,
}

/// The base images on registries other than `checked` (and other than Docker Hub),
/// each once, by host; images that are also a reference of the build are left to it.
pub fn other_bases(
    ctx: &Ctx,
    checked: &[String],
    contexts: &[ContextInfo],
) -> BTreeMap<String, Vec<OtherBase>> {
    let mut by_host: BTreeMap<String, Vec<OtherBase>> = BTreeMap::new();
    for base in &ctx.base_images.images {
        let Ok(r) = parse_normalized(&base.image) else {
            continue;
        };
        let host = r.domain.clone().unwrap_or_default();
        if r.is_docker_hub()
            || checked.iter().any(|h| same_registry(h, &host))
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

/// Looks the images up, every host at once; the report and the HTTP requests taken.
pub async fn check(
    ctx: &Ctx,
    http: &Result<reqwest::Client, String>,
    by_host: BTreeMap<String, Vec<OtherBase>>,
) -> (CheckReport, u32) {
    let mut report = CheckReport::default();
    let Ok(http) = http else {
        return (report, 0);
    };
    if by_host.is_empty() {
        return (report, 0);
    }
    let client = std::sync::Arc::new(ctx.registry_client(http.clone()));
    let mut tasks = tokio::task::JoinSet::new();
    for (host, images) in by_host {
        let (ctx, client) = (ctx.clone(), client.clone());
        tasks.spawn(async move { check_host(&ctx, &client, &host, &images).await });
    }
    while let Some(joined) = tasks.join_next().await {
        if let Ok(r) = joined {
            report.findings.extend(r.findings);
            report.verified.extend(r.verified);
        }
    }
    report.verified.sort();
    (report, client.request_count())
}

/// The credential docker presents to `host`: the file store's entry (`Ok(None)`:
/// anonymous), or `Err` naming the helper it would run (not run here).
fn credential_for(ctx: &Ctx, host: &str) -> Result<Option<Credential>, String> {
    let dir = &ctx.config.docker_config.dir;
    match docker_config::load(dir, &ctx.secrets) {
        Ok(Load::Loaded(config)) => match config.resolve(host) {
            Resolution::File { entry, .. } => Ok(entry.credential()),
            Resolution::None { .. } => Ok(None),
            Resolution::Helper { name, .. } => Err(format!(
                "the docker config names the credential helper `docker-credential-{name}` for it, which this lookup does not run"
            )),
        },
        _ => Ok(None),
    }
}

async fn check_host(ctx: &Ctx, client: &Client, host: &str, images: &[OtherBase]) -> CheckReport {
    let mut report = CheckReport::default();
    let names = images
        .iter()
        .map(|o| format!("`{}` ({})", o.base.image, o.base.location.file_line()))
        .collect::<Vec<_>>()
        .join(", ");
    let later = ctx
        .later_logins
        .iter()
        .find(|l| same_registry(&l.registry, host));
    let credential = match credential_for(ctx, host) {
        Ok(c) => c,
        Err(why) => {
            report.verified(format!(
                "base images on {host} ({names}) not looked up: {why}"
            ));
            return report;
        }
    };
    if let (None, Some(login)) = (&credential, later) {
        report.verified(format!(
            "base images on {host} ({names}) not looked up: the job logs in to {host} later ({} in step `{}`)",
            login.what, login.step_label
        ));
        return report;
    }
    let who = match &credential {
        Some(c) => format!("the docker config's {}", c.describe()),
        None => "no credential (anonymous)".to_string(),
    };
    let ping = match client.ping(host).await {
        Ok(p) => p,
        Err(e) => {
            report.push(unreached(host, &e, images, &names));
            return report;
        }
    };
    let auth = match authorise(client, host, &ping, images, credential.as_ref()).await {
        Ok(auth) => auth,
        Err(why) => {
            report.verified(format!(
                "base images on {host} ({names}) not looked up: {why}"
            ));
            return report;
        }
    };
    for image in images {
        let reply = match client
            .manifest(host, &image.repository, &image.reference, &auth, false)
            .await
        {
            Ok(r) => r,
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
        match reply.status {
            200 => report.verified(format!(
                "base image `{}` ({}) is on {host}, which this run does not check: {seen}, with {who}",
                image.base.image,
                image.base.location.file_line()
            )),
            404 => report.push(missing(host, image, &seen)),
            401 | 403 if credential.is_none() => report.push(login_needed(host, image, &seen)),
            401 | 403 => report.push(refused(host, image, &seen, &who)),
            _ => report.verified(format!(
                "base image `{}` on {host}: {seen}, not judged",
                image.base.image
            )),
        }
    }
    report
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

/// The auth for the manifest requests: after the ping, a Bearer token for every
/// repository of the host at once, Basic credentials, or none.
async fn authorise(
    client: &Client,
    host: &str,
    ping: &registry::Reply,
    images: &[OtherBase],
    credential: Option<&Credential>,
) -> Result<Auth, String> {
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
                    // An anonymous token refused: the manifest answer says the rest.
                    Err(_) if credential.is_none() => Ok(Auth::None),
                    Err(TokenError::Net(e)) => Err(net(&e)),
                    Err(TokenError::Refused(r) | TokenError::Unexpected(r)) => Err(format!(
                        "the token endpoint answered {} for the docker config's credential",
                        r.describe()
                    )),
                    Err(TokenError::BadRealm(why)) => Err(why),
                }
            }
            Err(_) => Err("its /v2/ challenge could not be read".into()),
        },
        status => Err(format!("/v2/ answered HTTP {status}")),
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
    let (user, password) = if host.eq_ignore_ascii_case("ghcr.io") {
        ("${{ github.actor }}", "${{ secrets.GITHUB_TOKEN }}")
    } else {
        ("<user>", "${{ secrets.<PASSWORD_SECRET> }}")
    };
    format!(
        "a login before the build step:\n- uses: docker/login-action@v3\n  with:\n    registry: {host}\n    username: {user}\n    password: {password}"
    )
}

fn login_needed(host: &str, image: &OtherBase, seen: &str) -> Finding {
    finding(
        Code::CRED_NOT_FOUND,
        Severity::Warning,
        image,
        format!("base image `{}` needs a login to {host}", image.base.image),
        format!(
            "{seen} without a credential: the docker config holds none for {host} and no step of the job logs in to it, so the build pulls anonymously and is refused (or the image does not exist: a registry that refuses anonymous reads does not say which)."
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
