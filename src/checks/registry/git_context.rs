//! Git contexts of the builds (P42): the URL form the build tool takes for a
//! repository, and the ref it names, listed the way `git ls-remote` lists it
//! (CONTEXT_GIT_URL_FORM, CONTEXT_GIT_REF_MISSING, CONTEXT_GIT_UNREADABLE).

use crate::checks::Ctx;
use crate::findings::{CheckId, CheckReport, Code, Finding, Severity};
use crate::git::{Form, GitUrl, Listing, Refs};
use crate::workflow::RemoteContext;
use std::time::Duration;

/// The longest a ref listing may take: a git host that does not answer must not hold
/// the whole run to its deadline.
const BUDGET: Duration = Duration::from_secs(10);

/// How discovery names an Azure/acr-build step.
const ACR_BUILD_ACTION: &str = "azure/acr-build";

/// Refs named in a finding, at most.
const SHOWN: usize = 5;

/// Checks every remote context of the builds after acr-preflight's step.
pub async fn check(ctx: &Ctx, http: &Result<reqwest::Client, String>) -> CheckReport {
    let mut report = CheckReport::default();
    for context in &ctx.remote_contexts {
        if context.default_git {
            super::submodules::check(ctx, http, context, None, &mut report).await;
            continue;
        }
        match crate::git::classify(&context.url, context.tasks()) {
            Form::NotGit => super::url_context::check(ctx, http, context, &mut report).await,
            Form::Wrong { suggested } => report.push(url_form(context, &suggested)),
            Form::Git(git) if git.credentials => {
                report.verified(format!(
                    "git context {} of {}: it carries its own credentials, which acr-preflight does not use, so its refs are not listed",
                    git.repo, context.what
                ));
                super::submodules::check(ctx, http, context, Some(&git), &mut report).await;
            }
            Form::Git(git) => {
                if let Ok(http) = http {
                    let deadline = budget(ctx);
                    let listing = crate::git::list_refs(http, &git.repo, deadline).await;
                    outcome(&mut report, context, &git, listing);
                }
                super::submodules::check(ctx, http, context, Some(&git), &mut report).await;
            }
        }
    }
    report
}

/// When one remote request for a context must end: a quarter of the time left, at
/// most [`BUDGET`].
pub(super) fn budget(ctx: &Ctx) -> std::time::Instant {
    std::time::Instant::now() + (ctx.remaining() / 4).min(BUDGET)
}

/// The verified fact, or the finding, for a listing of `git`'s refs.
fn outcome(report: &mut CheckReport, context: &RemoteContext, git: &GitUrl, listing: Listing) {
    let wanted = git.reference.as_deref().unwrap_or("HEAD");
    let listed = crate::git::listing_url(&git.repo);
    let outcome = match listing {
        Listing::Refs(refs) => match refs.has(wanted) {
            Some(false) => Err(Box::new(ref_missing(context, git, wanted, &refs))),
            Some(true) => Ok(format!(
                "git context {}: `{wanted}` is advertised by GET {listed}",
                git.repo
            )),
            None => Ok(format!(
                "git context {}: `{wanted}` is a commit id, which a ref listing cannot confirm; the repository answers GET {listed}",
                git.repo
            )),
        },
        Listing::Refused { status } if context.token => Ok(format!(
            "git context {}: GET {listed} without credentials answered {status} (private, or no such repository); {} reads it with the token it is given, which acr-preflight does not use",
            git.repo, context.what
        )),
        Listing::Refused { status } => Err(Box::new(refused(context, git, status))),
        Listing::NotGit { why } => Err(Box::new(unreadable(
            context,
            git,
            Severity::Warning,
            format!("GET {listed} {why}"),
            format!(
                "Check that {} is the repository's clone URL (the one `git clone` takes); a web page or a server without git's smart HTTP protocol is not a git context.",
                git.repo
            ),
        ))),
        Listing::Failed { why } => Err(Box::new(unreadable(
            context,
            git,
            Severity::Notice,
            format!("GET {listed}: {why}"),
            format!(
                "Check from the runner that `git ls-remote {} {wanted}` answers.",
                git.repo
            ),
        ))),
    };
    match outcome {
        Ok(fact) => report.verified(fact),
        Err(finding) => report.push(*finding),
    }
}

pub(super) fn finding(
    code: Code,
    severity: Severity,
    title: String,
    message: String,
    fix: String,
) -> Finding {
    Finding::new(CheckId::Registry, code, severity, title, message, fix)
}

pub(super) fn placed(f: Finding, context: &RemoteContext) -> Finding {
    let l = &context.location;
    f.at(&l.file, l.line, l.column)
}

/// CONTEXT_GIT_URL_FORM: a repository URL the build takes for a tarball URL.
fn url_form(context: &RemoteContext, suggested: &str) -> Finding {
    let shown = shown_url(&context.url);
    let takes = if context.tasks() {
        "`az acr build` takes a context URL for a git repository only when it ends in `.git` (or is an Azure DevOps `_git/` URL) and downloads anything else as a tarball"
    } else {
        "docker and BuildKit take an https context for a git repository only when its path ends in `.git` and download anything else as a file or tarball"
    };
    placed(
        finding(
            Code::CONTEXT_GIT_URL_FORM,
            Severity::Error,
            format!("the context `{shown}` of {} is not a git URL", context.what),
            format!(
                "{takes}; `{shown}` names a repository page, so the download fails with `failed to download context` or unpacks an HTML page. A git context is `https://<host>/<owner>/<repo>.git#<ref>:<folder>`."
            ),
            format!("Write the context as `{suggested}`."),
        ),
        context,
    )
}

/// CONTEXT_GIT_REF_MISSING: the repository does not advertise the ref.
fn ref_missing(context: &RemoteContext, git: &GitUrl, wanted: &str, refs: &Refs) -> Finding {
    let (branches, tags) = refs.short_names();
    let mut names: Vec<String> = branches.clone();
    names.extend(tags.iter().cloned());
    let near = crate::suggest::nearest(wanted, &names, SHOWN);
    let list = |v: &[String]| {
        let mut out: Vec<String> = v.iter().take(SHOWN).map(|n| format!("`{n}`")).collect();
        if v.len() > SHOWN {
            out.push(format!("… ({} in all)", v.len()));
        }
        out.join(", ")
    };
    let mut seen = format!(
        "GET {} advertised {} refs and none is `{wanted}`",
        crate::git::listing_url(&git.repo),
        refs.names.len()
    );
    if refs.names.is_empty() {
        seen.push_str(" (the repository is empty)");
    }
    if !branches.is_empty() {
        seen.push_str(&format!("; branches: {}", list(&branches)));
    }
    if !tags.is_empty() {
        seen.push_str(&format!("; tags: {}", list(&tags)));
    }
    let default = refs
        .head
        .as_deref()
        .and_then(|h| h.strip_prefix("refs/heads/"));
    let pick = near
        .first()
        .copied()
        .or(default)
        .or(branches.first().map(String::as_str));
    let subdir = git
        .subdir
        .as_deref()
        .map(|d| format!(":{d}"))
        .unwrap_or_default();
    let fix = match pick {
        Some(p) => {
            let mean = if near.is_empty() {
                String::new()
            } else {
                format!(
                    "Did you mean {}? ",
                    near.iter()
                        .map(|n| format!("`{n}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            if context.what == ACR_BUILD_ACTION {
                format!(
                    "{mean}Give the Azure/acr-build step the input `branch: {p}` (without it the action builds `#master`), or push `{wanted}` to the repository first."
                )
            } else {
                format!(
                    "{mean}Write the context as `{}#{p}{subdir}`, or push `{wanted}` to the repository first.",
                    git.repo
                )
            }
        }
        None => format!("Push `{wanted}` to {} first.", git.repo),
    };
    let why = if context.tasks() {
        " The ACR Tasks run agent fetches the context and fails with `failed to download context`."
    } else {
        " BuildKit fails the build when it fetches the context."
    };
    placed(
        finding(
            Code::CONTEXT_GIT_REF_MISSING,
            Severity::Error,
            format!("`{wanted}` does not exist in {}", git.repo),
            format!("{seen}.{why}"),
            fix,
        ),
        context,
    )
    .about(context.url.clone())
}

/// CONTEXT_GIT_UNREADABLE for 401, 403, 404: private or wrong.
fn refused(context: &RemoteContext, git: &GitUrl, status: u16) -> Finding {
    let token = if context.tasks() {
        format!(
            "For `az acr build`, put a token that may read the repository in the URL (`https://<token>@{}`; the `git_access_token` input of Azure/acr-build does this); for an ACR task, pass it as `az acr task create … --context {} --git-access-token <token>`.",
            git.repo
                .split_once("://")
                .map(|(_, r)| r)
                .unwrap_or(&git.repo),
            git.repo
        )
    } else {
        "For docker/buildx, pass a token that may read the repository as the `GIT_AUTH_TOKEN` build secret (`--secret id=GIT_AUTH_TOKEN,env=GIT_AUTH_TOKEN`, or the `github-token`/`secrets` inputs of docker/build-push-action).".to_string()
    };
    let sso = if git.repo.contains("github.com/") {
        " On GitHub, a personal access token for an organization with SAML single sign-on must also be authorized for it."
    } else {
        ""
    };
    unreadable(
        context,
        git,
        Severity::Warning,
        format!(
            "GET {} without credentials answered {status}: the repository is private, or the URL names no repository (git hosts answer both alike)",
            crate::git::listing_url(&git.repo)
        ),
        format!(
            "Check the URL; if the repository is private, the build needs a token. {token}{sso}"
        ),
    )
}

fn unreadable(
    context: &RemoteContext,
    git: &GitUrl,
    severity: Severity,
    seen: String,
    fix: String,
) -> Finding {
    placed(
        finding(
            Code::CONTEXT_GIT_UNREADABLE,
            severity,
            format!("the refs of git context {} could not be read", git.repo),
            format!(
                "{seen}. {} fetches this context itself when it runs.",
                context.what
            ),
            fix,
        ),
        context,
    )
    .about(context.url.clone())
}

/// A URL as shown: without credentials or query.
fn shown_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.to_string()
        }
        Err(_) => url.chars().filter(|c| !c.is_control()).take(200).collect(),
    }
}
