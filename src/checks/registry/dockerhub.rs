//! Docker Hub pull limits (P48): base images the builds pull from Docker Hub while the
//! docker config holds no Docker Hub credential and the workflow does not log in to it
//! count against the anonymous allowance of the runner's address. One manifest `HEAD`
//! (not counted as a pull) reads what is left of it.

use super::Ctx;
use crate::docker::config::Load;
use crate::docker::credential::Resolution;
use crate::findings::{CheckId, CheckReport, Code, Finding, Severity};
use crate::reference::{DEFAULT_DOMAIN, Reference, parse_normalized};
use crate::registry::ratelimit::{self, Allowance};
use crate::workflow::{BaseRef, LoginStep};

/// The longest the allowance is waited for: it only refines the finding.
const HUB_BUDGET: std::time::Duration = std::time::Duration::from_secs(5);

/// The share of the deadline Docker Hub is given: a quarter of what is left, at most
/// [`HUB_BUDGET`]. A Docker Hub that does not answer must not hold the run to its deadline.
pub(super) fn budget(ctx: &Ctx) -> std::time::Duration {
    (ctx.remaining() / 4).min(HUB_BUDGET)
}

/// Why nothing was read from a Docker Hub that did not answer within [`budget`].
pub(super) fn no_answer(budget: std::time::Duration) -> String {
    format!(
        "Docker Hub did not answer within {} ms (a quarter of what was left of --timeout, at most {} s)",
        budget.as_millis(),
        HUB_BUDGET.as_secs()
    )
}

/// REGISTRY_DOCKERHUB_ANONYMOUS when it applies, and the HTTP requests it took.
/// `looked_up` is the allowance the anonymous lookup of the `FROM` images read
/// (`other_bases.rs`); without it, one `HEAD` of the first image reads it.
pub async fn anonymous_pulls(
    ctx: &Ctx,
    http: &Result<reqwest::Client, String>,
    looked_up: Option<super::other_bases::HubAllowance>,
) -> (CheckReport, u32) {
    let mut report = CheckReport::default();
    let bases = &ctx.base_images;
    let images: Vec<Pulled> = bases
        .images
        .iter()
        .map(|b| (b, false))
        .chain(bases.builders.iter().map(|b| (b, true)))
        .filter_map(|(b, builder)| Some((b, parse_normalized(&b.image).ok()?, builder)))
        .filter(|(_, r, _)| r.is_docker_hub())
        .collect();
    if images.is_empty() {
        return (report, 0);
    }
    // Each pull is judged by the logins that run before it: a `FROM` image's by those
    // before (or in) its build's step, the builder image's by those before the step that
    // boots the builder.
    let (logged_in, images): (Vec<Pulled>, Vec<Pulled>) = images
        .into_iter()
        .partition(|pulled| login_before(ctx, pulled).is_some());
    if let Some(login) = logged_in.first().and_then(|p| login_before(ctx, p)) {
        report.verified(format!(
            "Docker Hub images ({}) are pulled with the Docker Hub login of {}",
            list(&logged_in),
            login.describe()
        ));
    }
    if images.is_empty() {
        return (report, 0);
    }
    let shown = list(&images);
    let Some(config) = anonymous_config(ctx) else {
        report.verified(format!(
            "Docker Hub images ({shown}): the docker config names a credential for {DEFAULT_DOMAIN}"
        ));
        return (report, 0);
    };
    let (first, reference, _) = &images[0];
    let tag = reference
        .digest
        .clone()
        .or_else(|| reference.tag.clone())
        .unwrap_or_else(|| "latest".into());
    let (allowance, requests) = match (looked_up, http) {
        // The base images' own lookup read it: no separate probe.
        (Some(read), _) => (read, 0),
        (None, Ok(http)) => {
            let client = ctx.registry_client(http.clone());
            let budget = budget(ctx);
            let read = tokio::time::timeout(
                budget,
                ratelimit::docker_hub_allowance(&client, &reference.path, &tag),
            )
            .await
            .unwrap_or_else(|_| Err(no_answer(budget)));
            (read, client.request_count())
        }
        (None, Err(e)) => (Err(e.clone()), 0),
    };
    let finding = anonymous_finding(ctx, &images, &config, &allowance).at(
        &first.location.file,
        first.location.line,
        first.location.column,
    );
    report.push(finding);
    (report, requests)
}

/// The docker config, described, when docker would pull from Docker Hub anonymously
/// with it (`None` when it names a credential or a helper for Docker Hub, or is invalid).
pub(super) fn anonymous_config(ctx: &Ctx) -> Option<String> {
    match ctx.docker_config.as_ref() {
        Ok(Load::Missing { path, .. }) => Some(format!("{} does not exist", path.display())),
        Ok(Load::Loaded(config)) => match config.resolve(DEFAULT_DOMAIN) {
            Resolution::None { key, .. } => Some(format!(
                "{} has no credential for {DEFAULT_DOMAIN} (auths[\"{key}\"])",
                config.path.display()
            )),
            Resolution::File { entry, key, .. } if entry.credential().is_none() => Some(format!(
                "{} has an empty auths[\"{key}\"] entry",
                config.path.display()
            )),
            _ => None,
        },
        Err(_) => None,
    }
}

/// A Docker Hub image the job pulls: a `FROM` image, or a builder image (true).
type Pulled<'a> = (&'a BaseRef, Reference, bool);

/// The job's first login that may be to Docker Hub and runs before the pull: before the
/// build's step for a `FROM` image (or in it: a script that logs in, then builds),
/// before the builder's step (or line) for the BuildKit image the builder boots from (for
/// a builder of buildx's store without its container, the build that boots it).
fn login_before<'a>(ctx: &'a Ctx, (base, _, builder): &Pulled) -> Option<&'a LoginStep> {
    let line = if *builder { base.location.line } else { None };
    ctx.logins
        .iter()
        .find(|l| l.may_be_docker_hub() && l.before(&base.step, line))
}

/// Why a login the job makes to Docker Hub does not cover these pulls (it runs after
/// them), and the fix; `None` when the job makes none.
fn late_login(ctx: &Ctx, images: &[Pulled]) -> Option<(String, String)> {
    let login = ctx.logins.iter().find(|l| l.may_be_docker_hub())?;
    let (first, _, builder) = &images[0];
    let puller = if let Some(stored) = &first.stored {
        format!(
            "step `{}`, which boots the builder `{stored}` of buildx's store and pulls its BuildKit image then",
            first.step.label
        )
    } else if *builder {
        format!(
            "step `{}`, whose builder pulls its BuildKit image when it boots",
            first.step.label
        )
    } else {
        format!("step `{}`, which builds", first.step.label)
    };
    Some((
        format!(
            "the job's Docker Hub login, {} in step `{}`, runs only after {puller}",
            login.describe(),
            login.step.label
        ),
        format!(
            "Move step `{}` (line {}) above step `{}` (line {}), so that the pull uses the login. ",
            login.step.label, login.step.line, first.step.label, first.step.line
        ),
    ))
}

fn list(images: &[Pulled]) -> String {
    images
        .iter()
        .map(|(b, _, builder)| {
            let (image, at) = (&b.image, b.location.file_line());
            match &b.stored {
                Some(name) => {
                    format!("the BuildKit image `{image}` of buildx builder `{name}` ({at})")
                }
                None if *builder => format!("the buildx builder image `{image}` ({at})"),
                None => format!("`{image}` ({at})"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn anonymous_finding(
    ctx: &Ctx,
    images: &[Pulled],
    config: &str,
    allowance: &Result<Option<Allowance>, String>,
) -> Finding {
    let count = images.len();
    let severity = severity_of(allowance, count);
    let reported = match allowance {
        Ok(Some(a)) => describe(a),
        Ok(None) => {
            " Docker Hub did not report the allowance (no ratelimit headers on the manifest HEAD)."
                .into()
        }
        Err(why) => format!(" The remaining allowance could not be read: {why}."),
    };
    let (acr, login_server) = mirror(ctx);
    let name = acr.clone().unwrap_or_else(|| "<registry>".into());
    let imports: Vec<String> = images
        .iter()
        .map(|(_, r, _)| import_command(&name, r))
        .collect();
    let (_, sample, _) = &images[0];
    let builder = images
        .iter()
        .find(|(_, _, builder)| *builder)
        .map(|(b, r, _)| match &b.stored {
            Some(name) => format!(
                " For the builder image, re-create the builder `{name}` on the runner with the mirror (add `--use` when it is the builder in use, and any other `--driver-opt` it had): `docker buildx rm {name}` then `docker buildx create --name {name} --driver docker-container --driver-opt image={login_server}/{}`.",
                import_target(r)
            ),
            None => format!(
                " For the builder image, give the mirror to docker/setup-buildx-action: `driver-opts: image={login_server}/{}`.",
                import_target(r)
            ),
        })
        .unwrap_or_default();
    let late = late_login(ctx, images);
    let (why, moved) = match &late {
        Some((why, fix)) => (why.as_str(), fix.as_str()),
        None => ("no step of the job logs in to Docker Hub", ""),
    };
    let fix = format!(
        "{moved}Log in to Docker Hub before the build (before docker/setup-buildx-action, when the workflow uses it), with a Docker Hub account: `uses: docker/login-action@v3` with `username: ${{{{ vars.DOCKERHUB_USERNAME }}}}` and `password: ${{{{ secrets.DOCKERHUB_TOKEN }}}}`. Or mirror the images into the registry and change the `FROM` lines to it (e.g. `FROM {login_server}/{}`).{builder}\n{}",
        import_target(sample),
        imports.join("\n")
    );
    Finding::new(
        CheckId::Registry,
        Code::REGISTRY_DOCKERHUB_ANONYMOUS,
        severity,
        format!("{count} image(s) are pulled from Docker Hub anonymously"),
        format!(
            "The job pulls {} from Docker Hub; {config} and {why}, so the pulls are anonymous and count against the limit Docker Hub sets per source address (shared by every job behind the runner's egress IP); over it, the pull fails with `toomanyrequests`.{reported}",
            list(images)
        ),
        fix,
    )
    .with_commands(if acr.is_some() { imports } else { Vec::new() })
}

/// The ACR to mirror images into (its name, when known) and its login server: the
/// run's registry when it is an ACR, else placeholders.
pub(super) fn mirror(ctx: &Ctx) -> (Option<String>, String) {
    match &ctx.config.registry {
        Some(r) if r.acr_name.is_some() || crate::cloud::is_acr(&r.host) => (
            r.acr_name.clone().or_else(|| {
                crate::cloud::acr_registry(&r.host.to_ascii_lowercase()).map(str::to_string)
            }),
            r.host.clone(),
        ),
        _ => (None, "<registry>.azurecr.io".to_string()),
    }
}

/// An error when fewer pulls are left than the builds make; a notice when Docker Hub did
/// not answer (the risk is real, but nothing was proven); else a warning.
fn severity_of(allowance: &Result<Option<Allowance>, String>, images: usize) -> Severity {
    match allowance {
        Ok(Some(a)) if a.remaining.is_some_and(|q| q.count < images as u64) => Severity::Error,
        Ok(_) => Severity::Warning,
        Err(_) => Severity::Notice,
    }
}

/// " Docker Hub reports 76 of 100 pulls left per 6 h for 203.0.113.9."
fn describe(a: &Allowance) -> String {
    let window = a
        .limit
        .or(a.remaining)
        .and_then(|q| q.window_secs)
        .map(|w| {
            if w % 3600 == 0 {
                format!(" per {} h", w / 3600)
            } else {
                format!(" per {w} s")
            }
        })
        .unwrap_or_default();
    let source = a
        .source
        .as_deref()
        .map(|s| format!(" for {s}"))
        .unwrap_or_default();
    match (a.remaining, a.limit) {
        (Some(r), Some(l)) => format!(
            " Docker Hub reports {} of {} pulls left{window}{source}.",
            r.count, l.count
        ),
        (Some(r), None) => format!(
            " Docker Hub reports {} pulls left{window}{source}.",
            r.count
        ),
        (None, Some(l)) => format!(
            " Docker Hub reports a limit of {} pulls{window}{source}.",
            l.count
        ),
        (None, None) => String::new(),
    }
}

/// `:3.20`, `@sha256:…` or `:latest`.
fn suffix(r: &Reference) -> String {
    match (&r.tag, &r.digest) {
        (_, Some(d)) => format!("@{d}"),
        (Some(t), None) => format!(":{t}"),
        (None, None) => ":latest".into(),
    }
}

/// `alpine` for `docker.io/library/alpine`: the repository's name in the mirror.
pub(super) fn mirror_repository(r: &Reference) -> &str {
    if r.is_docker_hub() {
        r.path.strip_prefix("library/").unwrap_or(&r.path)
    } else {
        &r.path
    }
}

/// `alpine:3.20` for `docker.io/library/alpine:3.20`: the image's name in the mirror.
pub(super) fn import_target(r: &Reference) -> String {
    format!("{}{}", mirror_repository(r), suffix(r))
}

/// `az acr import` of one image (Docker Hub's, or another registry's); one pinned by
/// digest keeps its repository name and is pulled by the same digest from the registry.
pub(super) fn import_command(acr: &str, r: &Reference) -> String {
    let host = r.domain.as_deref().unwrap_or(DEFAULT_DOMAIN);
    let source = format!("{host}/{}{}", r.path, suffix(r));
    if r.digest.is_some() {
        format!("az acr import --name {acr} --source {source}")
    } else {
        format!(
            "az acr import --name {acr} --source {source} --image {}",
            import_target(r)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::ratelimit::Quota;

    fn allowance(remaining: Option<u64>) -> Allowance {
        Allowance {
            limit: Some(Quota {
                count: 10,
                window_secs: Some(3600),
            }),
            remaining: remaining.map(|count| Quota {
                count,
                window_secs: Some(3600),
            }),
            source: Some("203.0.113.9".into()),
        }
    }

    #[test]
    fn fewer_pulls_left_than_images_is_an_error_and_no_answer_a_notice() {
        assert_eq!(
            severity_of(&Ok(Some(allowance(Some(1)))), 2),
            Severity::Error
        );
        assert_eq!(
            severity_of(&Ok(Some(allowance(Some(2)))), 2),
            Severity::Warning
        );
        assert_eq!(
            severity_of(&Ok(Some(allowance(None))), 2),
            Severity::Warning
        );
        assert_eq!(severity_of(&Ok(None), 2), Severity::Warning);
        assert_eq!(severity_of(&Err("refused".into()), 2), Severity::Notice);
        assert_eq!(
            describe(&allowance(Some(7))),
            " Docker Hub reports 7 of 10 pulls left per 1 h for 203.0.113.9."
        );
    }

    #[test]
    fn imports_keep_the_tag_and_drop_library() {
        let alpine = parse_normalized("alpine:3.20").unwrap();
        assert_eq!(
            import_command("myreg", &alpine),
            "az acr import --name myreg --source docker.io/library/alpine:3.20 --image alpine:3.20"
        );
        let owned = parse_normalized("bitnami/redis").unwrap();
        assert_eq!(
            import_command("myreg", &owned),
            "az acr import --name myreg --source docker.io/bitnami/redis:latest --image bitnami/redis:latest"
        );
        let digest = format!("sha256:{}", "a".repeat(64));
        let pinned = parse_normalized(&format!("alpine@{digest}")).unwrap();
        assert_eq!(
            import_command("myreg", &pinned),
            format!("az acr import --name myreg --source docker.io/library/alpine@{digest}")
        );
    }
}
