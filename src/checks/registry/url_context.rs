//! Remote URL contexts that are not git (P42): a tarball `az acr build <url>` hands to
//! the ACR Tasks run agent, or one `docker build <url>` / BuildKit downloads. Both
//! download it without the runner's credentials, so acr-preflight requests it the same
//! way (CONTEXT_URL_UNREADABLE, CONTEXT_URL_NOT_ARCHIVE).
//!
//! The Azure CLI takes an http(s) source for git only when it ends in `.git` (with an
//! optional `#fragment`) or is an Azure DevOps URL; anything else is a tarball, which
//! the CLI itself checks with `requests.head(url)` (no redirects followed) and rejects
//! with `'<url>' doesn't exist.` when the status is 400 or more
//! (https://github.com/Azure/azure-cli/blob/dev/src/azure-cli/azure/cli/command_modules/acr/_archive_utils.py,
//! `check_remote_source_code`).

use super::git_context::{budget, finding, placed};
use crate::checks::Ctx;
use crate::findings::{CheckReport, Code, Finding, Severity};
use crate::tarball::Probe;
use crate::workflow::RemoteContext;

/// Probes one URL context and records the fact or the finding.
pub(super) async fn check(
    ctx: &Ctx,
    http: &Result<reqwest::Client, String>,
    context: &RemoteContext,
    report: &mut CheckReport,
) {
    let lower = context.url.trim().to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return;
    }
    // A SAS signature or token in the query is sent as the build sends it, never shown.
    for value in crate::tarball::secret_query_parts(&context.url) {
        ctx.secrets.register(&value);
    }
    let shown = crate::tarball::shown(&context.url);
    if crate::tarball::has_credentials(&context.url) {
        report.verified(format!(
            "URL context {shown} of {}: it carries its own credentials, which acr-preflight does not use, so it is not requested",
            context.what
        ));
        return;
    }
    let Ok(http) = http else { return };
    let probe = crate::tarball::probe(http, context.url.trim(), budget(ctx)).await;
    match probe {
        Probe::Served {
            method,
            status,
            content_type,
            head_refused,
        } => {
            if crate::tarball::is_web_page(&content_type) {
                report.push(web_page(context, &shown, method, &content_type));
            } else if let (true, Some(refused)) = (context.tasks(), head_refused) {
                report.push(unreadable(
                    context,
                    &shown,
                    format!("HEAD {shown} answered {refused}"),
                    refused,
                    format!("`az acr build` checks a tarball URL with a HEAD request before it queues the run and stops with `'{shown}' doesn't exist.` when the answer is 400 or more, although GET answers {status}, so the run is never queued."),
                    "Serve the tarball from a host that answers HEAD (Azure Blob Storage, GitHub release assets), or download it on the runner and build the unpacked folder: `curl -fsSL -o ctx.tar.gz \"$URL\" && mkdir ctx && tar -xzf ctx.tar.gz -C ctx && az acr build … ctx`.".to_string(),
                    false,
                ));
            } else {
                let kind = if content_type.is_empty() {
                    "no content type".to_string()
                } else {
                    format!("`{content_type}`")
                };
                report.verified(format!(
                    "URL context {shown} of {}: {method} without credentials answered {status} with {kind}",
                    context.what
                ));
            }
        }
        Probe::Status {
            method,
            status,
            head_refused,
        } => {
            let seen = match head_refused {
                Some(h) => format!(
                    "HEAD {shown} answered {h}, and GET (`Range: bytes=0-0`) without credentials answered {status}"
                ),
                None => format!("{method} {shown} without credentials answered {status}"),
            };
            let (meaning, fix) = explain(context, &shown, status);
            report.push(unreadable(context, &shown, seen, status, meaning, fix, true));
        }
        Probe::Failed { why } => report.push(
            placed(
                finding(
                    Code::CONTEXT_URL_UNREADABLE,
                    Severity::Warning,
                    format!("the URL context {shown} could not be requested"),
                    format!(
                        "HEAD {shown}: {why}. {} downloads this context itself when it runs.",
                        builder(context)
                    ),
                    format!(
                        "Check from the runner that `curl -fsSI '{shown}'` answers (with the query the URL really has)."
                    ),
                ),
                context,
            )
            .about(shown.clone()),
        ),
    }
}

/// Who downloads the context.
fn builder(context: &RemoteContext) -> &'static str {
    if context.tasks() {
        "The ACR Tasks run agent"
    } else {
        "BuildKit (or the docker daemon)"
    }
}

/// What a refusal means, and its fix.
fn explain(context: &RemoteContext, shown: &str, status: u16) -> (String, String) {
    let tasks = if context.tasks() {
        format!(
            "; `az acr build` makes the same HEAD request before it queues the run and stops with `'{shown}' doesn't exist.`"
        )
    } else {
        String::new()
    };
    let private = "A private URL must carry its access in the URL itself: a SAS token for Azure Blob Storage (`az storage blob generate-sas … --permissions r --expiry <date> --full-uri`), a pre-signed URL elsewhere; pass the URL from a secret so it is masked in logs.";
    match status {
        401 | 403 => (
            format!("the URL needs credentials (or its SAS token expired), and the build sends none{tasks}"),
            format!("{private} If the URL already has a token, it may have expired or lack read permission: generate a new one."),
        ),
        404 | 410 => (
            format!("there is nothing at this URL{tasks}"),
            "Check the URL (host, path, file name and version); for a GitHub release asset, the tag and the asset name.".to_string(),
        ),
        _ => (
            format!("the server refused the download{tasks}"),
            "Check the URL and the server; the build downloads it the same way, without credentials.".to_string(),
        ),
    }
}

fn unreadable(
    context: &RemoteContext,
    shown: &str,
    seen: String,
    status: u16,
    meaning: String,
    fix: String,
    queued: bool,
) -> Finding {
    placed(
        finding(
            Code::CONTEXT_URL_UNREADABLE,
            Severity::Error,
            format!("the URL context {shown} answers {status}"),
            if queued {
                format!(
                    "{seen}: {meaning}. {} downloads this context without the runner's credentials, so the build fails with `failed to download context`.",
                    builder(context)
                )
            } else {
                // `az acr build` stops at its own HEAD, before the run is queued.
                format!("{seen}: {meaning}.")
            },
            fix,
        ),
        context,
    )
    .about(shown.to_string())
}

fn web_page(context: &RemoteContext, shown: &str, method: &str, content_type: &str) -> Finding {
    let wants = if context.tasks() {
        "ACR Tasks takes a URL context that is not git as a tarball"
    } else {
        "BuildKit takes a URL context as a tar archive (plain, gzip, bzip2 or xz) or as a plain-text Dockerfile"
    };
    placed(
        finding(
            Code::CONTEXT_URL_NOT_ARCHIVE,
            Severity::Warning,
            format!("the URL context {shown} serves a web page"),
            format!(
                "{method} {shown} without credentials answered with `{content_type}`: a sign-in page, an error page or a download page, not an archive. {wants}; a web page fails the build with an unpack error or a Dockerfile parse error."
            ),
            "Use the direct download URL of the archive (for GitHub, `https://github.com/<owner>/<repo>/archive/refs/tags/<tag>.tar.gz` or a release asset; for Azure Blob Storage, the blob URL with a SAS token), and check it with `curl -fsSI`.".to_string(),
        ),
        context,
    )
    .about(shown.to_string())
}
