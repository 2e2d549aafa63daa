//! Git contexts of the builds (P42): the URL form the build tool takes for a
//! repository, and the ref it names, listed the way `git ls-remote` lists it
//! (CONTEXT_GIT_URL_FORM, CONTEXT_GIT_REF_MISSING, CONTEXT_GIT_UNREADABLE).

use crate::checks::Ctx;
use crate::findings::{CheckId, CheckReport, Code, Finding, Severity};
use crate::git::{Form, GitUrl, Listing, Refs};
use crate::workflow::{ContextToken, RemoteContext};
use std::time::Duration;

/// The longest a ref listing may take: a git host that does not answer must not hold
/// the whole run to its deadline.
const BUDGET: Duration = Duration::from_secs(10);

/// How discovery names an Azure/acr-build step.
const ACR_BUILD_ACTION: &str = "azure/acr-build";

/// Refs named in a finding, at most.
const SHOWN: usize = 5;

/// Checks every remote context of the builds after acr-preflight's step: URL forms,
/// URL contexts and ref listings in order, then the submodules of each git context,
/// their `.gitmodules` read from the forges concurrently.
pub async fn check(ctx: &Ctx, http: &Result<reqwest::Client, String>) -> CheckReport {
    let mut report = CheckReport::default();
    let mut gits: Vec<(&RemoteContext, Option<Judged>)> = Vec::new();
    for context in &ctx.remote_contexts {
        if context.default_git {
            gits.push((context, None));
            continue;
        }
        match crate::git::classify(&context.url, context.tasks()) {
            Form::NotGit => super::url_context::check(ctx, http, context, &mut report).await,
            Form::Wrong { suggested } => report.push(url_form(context, &suggested)),
            Form::Git(git) => {
                let token = token_of(context);
                if let Some(Token::Known(auth, _)) = &token {
                    ctx.secrets.register(&auth.password);
                }
                let auth = match &token {
                    Some(Token::Known(auth, _)) => Some(auth.clone()),
                    _ => None,
                };
                let (mut readable, mut full) = (false, None);
                if let Ok(http) = http {
                    let deadline = budget(ctx);
                    let listing =
                        crate::git::list_refs_as(http, &git.repo, auth.as_ref(), deadline).await;
                    let wanted = git.reference.as_deref().unwrap_or("HEAD");
                    if let Listing::Refs(refs) = &listing {
                        readable = refs.has(wanted) != Some(false);
                        // No ref: the default branch, when the server names it.
                        full = match git.reference {
                            None => refs.head.clone(),
                            Some(_) => None,
                        }
                        .or_else(|| refs.resolve(wanted).map(str::to_string));
                    }
                    outcome(&mut report, context, &git, token.as_ref(), listing);
                }
                let judged = Judged {
                    git,
                    auth,
                    readable,
                    full,
                };
                gits.push((context, Some(judged)));
            }
        }
    }
    let mut gitmodules = super::submodules::Lookups::default();
    let listed: Vec<_> = gits
        .iter()
        .filter_map(|(_, j)| j.as_ref().map(Judged::listed))
        .collect();
    super::submodules::prefetch(ctx, http, &listed, &mut gitmodules).await;
    for (context, judged) in &gits {
        let listed = judged.as_ref().map(Judged::listed);
        super::submodules::check(ctx, http, context, listed, &mut gitmodules, &mut report).await;
    }
    report
}

/// A git context after its ref listing.
struct Judged {
    git: GitUrl,
    auth: Option<crate::git::Basic>,
    readable: bool,
    full: Option<String>,
}

impl Judged {
    fn listed(&self) -> super::submodules::Listed<'_> {
        super::submodules::Listed {
            git: &self.git,
            auth: self.auth.as_ref(),
            readable: self.readable,
            full: self.full.clone(),
        }
    }
}

/// When one remote request for a context must end: a quarter of the time left, at
/// most [`BUDGET`].
pub(super) fn budget(ctx: &Ctx) -> std::time::Instant {
    std::time::Instant::now() + (ctx.remaining() / 4).min(BUDGET)
}

/// The token a build reads a git context with, as far as acr-preflight knows it.
enum Token {
    /// Its value, and where the build takes it from (for messages).
    Known(crate::git::Basic, &'static str),
    /// Not readable here: as written, why, and the shell variable it travels in.
    Unseen {
        written: String,
        reason: String,
        through: Option<String>,
    },
}

/// The token in the context URL's user part, else the one the build passes apart.
fn token_of(context: &RemoteContext) -> Option<Token> {
    if let Some(auth) = crate::git::Basic::from_url(&context.url) {
        return Some(Token::Known(auth, "in the context URL"));
    }
    let from = if context.what == ACR_BUILD_ACTION {
        "the `git_access_token` input"
    } else {
        "in the context URL"
    };
    match context.token.as_ref()? {
        ContextToken::Known(t) if !t.trim().is_empty() => {
            Some(Token::Known(crate::git::Basic::token(t), from))
        }
        ContextToken::Known(_) => None,
        ContextToken::Unseen {
            written,
            reason,
            through,
        } => Some(Token::Unseen {
            written: written.clone(),
            reason: reason.clone(),
            through: through.clone(),
        }),
    }
}

/// The verified fact, or the finding, for a listing of `git`'s refs (made with the
/// build's own token when it is [`Token::Known`], without credentials otherwise).
fn outcome(
    report: &mut CheckReport,
    context: &RemoteContext,
    git: &GitUrl,
    token: Option<&Token>,
    listing: Listing,
) {
    let wanted = git.reference.as_deref().unwrap_or("HEAD");
    let listed = crate::git::listing_url(&git.repo);
    let with = match token {
        Some(Token::Known(_, from)) => format!(" with the token {from}"),
        _ => String::new(),
    };
    let outcome = match listing {
        Listing::Refs(refs) => match refs.has(wanted) {
            Some(false) => Err(Box::new(ref_missing(context, git, wanted, &refs))),
            Some(true) => Ok(format!(
                "git context {}: `{wanted}` is advertised by GET {listed}{with}",
                git.repo
            )),
            None => Ok(format!(
                "git context {}: `{wanted}` is a commit id, which a ref listing cannot confirm; the repository answers GET {listed}",
                git.repo
            )),
        },
        Listing::Refused { status } => Err(Box::new(match token {
            Some(Token::Known(_, from)) => token_refused(context, git, from, status),
            Some(Token::Unseen {
                written,
                reason,
                through,
            }) => token_unseen(context, git, written, reason, through.as_deref(), status),
            None => refused(context, git, status),
        })),
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
    .about(shown_url(&context.url))
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

/// CONTEXT_GIT_TOKEN_REFUSED: the repository refuses the token the build reads it with.
fn token_refused(context: &RemoteContext, git: &GitUrl, from: &str, status: u16) -> Finding {
    let listed = crate::git::listing_url(&git.repo);
    let github = git.repo.contains("github.com/");
    let causes = if github {
        "the token has expired or was revoked, it may not read this repository, or it is a personal access token of an organization that enforces SAML single sign-on and was never authorized for it"
    } else {
        "the token has expired or was revoked, or it may not read this repository"
    };
    let fresh = if github {
        format!(
            "Create a fresh token that may read {} (fine-grained: repository access to it with Contents: read; classic: the `repo` scope). If the organization enforces SAML single sign-on, authorize the token for it: GitHub → Settings → Developer settings → Personal access tokens → Configure SSO → Authorize.",
            git.repo
        )
    } else {
        format!("Create a fresh token that may read {}.", git.repo)
    };
    let place = if context.what == ACR_BUILD_ACTION {
        "Store it in the secret the step passes as `git_access_token`.".to_string()
    } else {
        let bare = git
            .repo
            .split_once("://")
            .map_or(git.repo.as_str(), |(_, r)| r);
        let fragment = context
            .url
            .split_once('#')
            .map(|(_, f)| format!("#{f}"))
            .unwrap_or_default();
        format!(
            "Store it in the secret the context URL is built from: `az acr build … https://<token>@{bare}{fragment}` (`az acr build` takes the token only in the URL); a scheduled ACR task keeps its own copy: `az acr task update --name <task> --registry <registry> --git-access-token <token>`."
        )
    };
    placed(
        finding(
            Code::CONTEXT_GIT_TOKEN_REFUSED,
            Severity::Error,
            format!("the token {} reads git context {} with is refused", context.what, git.repo),
            format!(
                "GET {listed} with the token {from} answered {status}. {} fetches the context with that same token, so the run fails with `failed to download context. Please check if the URL is incorrect. If it has credentials, please check if they are expired`. A git host answers alike when {causes}.",
                context.what
            ),
            format!("{fresh} {place}"),
        ),
        context,
    )
    .about(shown_url(&context.url))
}

/// CONTEXT_GIT_TOKEN_UNSEEN: the repository refuses anonymous reads, and the token the
/// build reads it with is one acr-preflight cannot read.
fn token_unseen(
    context: &RemoteContext,
    git: &GitUrl,
    written: &str,
    reason: &str,
    through: Option<&str>,
    status: u16,
) -> Finding {
    let wanted = git.reference.as_deref().unwrap_or("HEAD");
    let via = through.map(|t| format!(" through {t}")).unwrap_or_default();
    let fix = if written.starts_with("${{") {
        format!(
            "To have the token checked before the build, pass the same secret to acr-preflight's step (`env:` with `GIT_ACCESS_TOKEN: {written}`): acr-preflight then lists the refs with it and masks it in all output."
        )
    } else {
        format!(
            "To have the token checked before the build, set `{written}` from a secret (`${{{{ secrets.NAME }}}}` in the script or in the step's `env:`) and pass the same secret to acr-preflight's step (`env:` with `GIT_ACCESS_TOKEN: ${{{{ secrets.NAME }}}}`): acr-preflight then lists the refs with it and masks it in all output."
        )
    };
    placed(
        finding(
            Code::CONTEXT_GIT_TOKEN_UNSEEN,
            Severity::Notice,
            format!("git context {}: the token {} reads it with is not verified", git.repo, context.what),
            format!(
                "GET {} without credentials answered {status} (the repository is private, or the URL names none). {} reads it with `{written}`{via}, which acr-preflight cannot read ({reason}), so whether that token may read {} and whether `{wanted}` exists is not verified.",
                crate::git::listing_url(&git.repo),
                context.what,
                git.repo,
            ),
            fix,
        ),
        context,
    )
    .about(shown_url(&context.url))
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
    .about(shown_url(&context.url))
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
