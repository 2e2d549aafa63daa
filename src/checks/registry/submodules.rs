//! Submodules of a git context (P42, CONTEXT_GIT_SUBMODULES): its `.gitmodules` says
//! what the builder must fetch besides the repository. For the job's own repository
//! the workspace checkout stands for it; another repository on GitHub, GitLab, Azure
//! DevOps or Bitbucket Cloud is read at the context's ref through its forge's REST API
//! ([`crate::forge`]), with the token the build reads the context with, else
//! anonymously.
//!
//! BuildKit checks out a git context's submodules itself
//! (`git submodule update --init --recursive --depth=1`), with the `GIT_AUTH_TOKEN`
//! secret as its only credential: sent to every `https://github.com/` URL when the
//! context is on github.com, to the context's own URL otherwise, and no SSH key
//! (https://github.com/moby/buildkit/blob/master/source/git/source.go, `Snapshot` and
//! `tokenScope`; https://github.com/moby/buildkit/pull/1987). ACR Tasks runs of a
//! repository with submodules, public or private, have been reported to fail with
//! `failed to download context` (https://github.com/Azure/azure-cli/issues/30033).

use super::git_context::{budget, finding, placed};
use crate::checks::Ctx;
use crate::findings::{CheckReport, Code, Severity};
use crate::forge::{At, FileRequest, Forge, NotLookedUp, RepoFile, Servers};
use crate::git::{Basic, GitUrl, Listing, Submodule};
use crate::workflow::RemoteContext;
use std::collections::{HashMap, HashSet};

/// The largest `.gitmodules` read.
const GITMODULES_CAP: u64 = 64 * 1024;

/// A git context of the builds as its ref listing left it.
pub(super) struct Listed<'a> {
    pub git: &'a GitUrl,
    /// The token the build reads the context with, when acr-preflight can read it.
    pub auth: Option<&'a Basic>,
    /// The listing (with `auth`) showed the repository and the ref: only then does a
    /// 404 for `.gitmodules` mean the file is absent.
    pub readable: bool,
    /// The full name the listing resolved the ref to (`refs/tags/v1`); without a ref,
    /// the default branch when the server names it (`refs/heads/main`).
    pub full: Option<String>,
}

/// A repository URL (lower case) and the ref.
type Key = (String, Option<String>);

/// `.gitmodules` of other repositories, read once per repository and ref (`None`
/// while the read is under way), and the lookups already noted.
#[derive(Default)]
pub(super) struct Lookups {
    files: HashMap<Key, Option<(FileRequest, RepoFile)>>,
    reported: HashSet<Key>,
}

/// Submodule URLs listed anonymously, at most.
const LISTED: usize = 5;

/// Submodules named in a finding, at most.
const SHOWN: usize = 5;

/// What the builder can do with one submodule URL.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Access {
    /// An SSH URL (`git@host:…`, `ssh://…`): the builder has no SSH key.
    Ssh,
    /// Anonymous ref listing refused (401, 403, 404): private, or gone.
    Refused(u16),
    /// Anonymous ref listing answered: public.
    Public,
    /// Relative, another scheme, not listed, or no answer.
    Unknown,
}

/// Where a `.gitmodules` was read, for messages.
struct Source {
    /// `octo/shop`.
    repository: String,
    /// ``The workspace's `.gitmodules` ``.
    file: String,
}

/// Checks the submodules of `context`: the default Git context (`listed` is `None`)
/// and the job's own repository from the workspace, another repository through its
/// forge's REST API (read ahead by [`prefetch`]).
pub(super) async fn check(
    ctx: &Ctx,
    http: &Result<reqwest::Client, String>,
    context: &RemoteContext,
    listed: Option<Listed<'_>>,
    lookups: &mut Lookups,
    report: &mut CheckReport,
) {
    let env = &ctx.config.env;
    let git = listed.as_ref().map(|l| l.git);
    let own = git.is_none_or(|git| {
        own_repository(
            &git.repo,
            env.repository.as_deref(),
            env.server_url.as_deref(),
        )
    });
    let (bytes, source) = match listed {
        Some(listed) if !own => match other(ctx, http, &listed, lookups, report).await {
            Some(found) => found,
            None => return,
        },
        _ => {
            let Some(workspace) = env.github_workspace.as_ref() else {
                return;
            };
            let Ok(bytes) =
                crate::fsread::read_capped(&workspace.join(".gitmodules"), GITMODULES_CAP)
            else {
                return;
            };
            let source = Source {
                repository: env
                    .repository
                    .clone()
                    .unwrap_or_else(|| "the repository".into()),
                file: "The workspace's `.gitmodules`".into(),
            };
            (bytes, source)
        }
    };
    let submodules = crate::git::parse_gitmodules(&String::from_utf8_lossy(&bytes));
    if submodules.is_empty() {
        return;
    }
    let mut access = Vec::with_capacity(submodules.len());
    let mut listed = 0;
    for s in &submodules {
        let a = match url_kind(&s.url) {
            UrlKind::Ssh => Access::Ssh,
            UrlKind::Https if listed < LISTED => {
                listed += 1;
                match http {
                    Ok(http) => {
                        let repo = s.url.trim_end_matches('/');
                        match crate::git::list_refs(http, repo, budget(ctx)).await {
                            Listing::Refs(_) => Access::Public,
                            Listing::Refused { status } => Access::Refused(status),
                            _ => Access::Unknown,
                        }
                    }
                    Err(_) => Access::Unknown,
                }
            }
            _ => Access::Unknown,
        };
        access.push(a);
    }
    let what = if context.default_git {
        format!(
            "the Git context {} builds by default (the job's own commit)",
            context.what
        )
    } else {
        let repo = git.map(|g| g.repo.as_str()).unwrap_or_default();
        format!("the git context {repo} of {}", context.what)
    };
    let blocked = access
        .iter()
        .any(|a| matches!(a, Access::Ssh | Access::Refused(_)));
    if !context.tasks() && !blocked {
        report.verified(format!(
            "{what}: its submodules ({}) have no SSH URL and none refused an anonymous ref listing",
            paths(&submodules)
        ));
        return;
    }
    let listing: Vec<String> = submodules
        .iter()
        .zip(&access)
        .take(SHOWN)
        .map(|(s, a)| {
            let note = match a {
                Access::Ssh => ", an SSH URL".to_string(),
                Access::Refused(status) => format!(
                    ", whose ref listing answered {status} without credentials: private, or gone"
                ),
                Access::Public => ", public".to_string(),
                Access::Unknown => String::new(),
            };
            format!("`{}` ({}{note})", s.path, shown_url(&s.url))
        })
        .collect();
    let more = if submodules.len() > SHOWN {
        format!(" … ({} in all)", submodules.len())
    } else {
        String::new()
    };
    let (why, token) = if context.tasks() {
        (
            "The ACR Tasks run agent fetches the context itself; runs of repositories with submodules, public or private, have been reported to fail with `failed to download context` (Azure/azure-cli#30033).".to_string(),
            String::new(),
        )
    } else {
        let default = if context.default_git {
            " The action passes its `github-token` input (by default the job's GITHUB_TOKEN, which reads this repository only) as that secret."
        } else {
            ""
        };
        (
            format!(
                "BuildKit checks out the submodules of a git context (`git submodule update --init --recursive --depth=1`) with the `GIT_AUTH_TOKEN` build secret as its only credential (sent to every github.com URL when the context is on github.com) and no SSH key, so a private submodule, or one with an SSH URL, fails the build.{default}"
            ),
            format!(
                " Or keep the git context and give the build a token that may read every submodule: `github-token: ${{{{ secrets.SUBMODULES_TOKEN }}}}` on docker/build-push-action, `--secret id=GIT_AUTH_TOKEN,env=GIT_AUTH_TOKEN` on `docker buildx build`; SSH URLs must become https URLs{}.",
                ssh_fix(&submodules, &access)
            ),
        )
    };
    let local = if context.tasks() {
        "`az acr build --registry <registry> --image <image> .`"
    } else {
        "`context: .` (docker/build-push-action) or `docker buildx build … .`"
    };
    let f = placed(
        finding(
            Code::CONTEXT_GIT_SUBMODULES,
            Severity::Warning,
            format!(
                "{} fetches submodules of {}: {}",
                if context.tasks() {
                    "ACR Tasks"
                } else {
                    "BuildKit"
                },
                source.repository,
                paths(&submodules)
            ),
            format!(
                "{} declares {} submodule(s) for {what}: {}{more}. {why}",
                source.file,
                submodules.len(),
                listing.join(", ")
            ),
            format!(
                "Build from the checkout instead: check out with `submodules: recursive` (actions/checkout, with a `token:` that may read them) and build the local folder, {local}.{token}"
            ),
        ),
        context,
    );
    report.push(f);
}

/// The request that reads `.gitmodules` of `listed`, another repository's git
/// context, at its ref, and the key it is read once under.
fn lookup(ctx: &Ctx, listed: &Listed<'_>) -> (Key, Result<FileRequest, NotLookedUp>) {
    let env = &ctx.config.env;
    let git = listed.git;
    let key = (git.repo.to_ascii_lowercase(), git.reference.clone());
    let at = At {
        reference: git.reference.as_deref(),
        full: listed.full.as_deref(),
    };
    let servers = Servers {
        server_url: env.server_url.as_deref(),
        api_url: env.api_url.as_deref(),
    };
    (
        key,
        crate::forge::file_request(&git.repo, ".gitmodules", at, servers),
    )
}

/// Reads, concurrently and once per repository and ref, the `.gitmodules` of every
/// context in `listed` that [`check`] looks up on a forge (readable, not the job's own
/// repository), each request within [`budget`].
pub(super) async fn prefetch(
    ctx: &Ctx,
    http: &Result<reqwest::Client, String>,
    listed: &[Listed<'_>],
    lookups: &mut Lookups,
) {
    let Ok(http) = http else {
        return;
    };
    let env = &ctx.config.env;
    let mut tasks = tokio::task::JoinSet::new();
    for l in listed {
        let own = own_repository(
            &l.git.repo,
            env.repository.as_deref(),
            env.server_url.as_deref(),
        );
        if own || !l.readable {
            continue;
        }
        let (key, Ok(request)) = lookup(ctx, l) else {
            continue;
        };
        if lookups.files.contains_key(&key) {
            continue;
        }
        lookups.files.insert(key.clone(), None);
        let (http, token, deadline) = (http.clone(), l.auth.cloned(), budget(ctx));
        tasks.spawn(async move {
            let file = read(&http, &request, token.as_ref(), deadline).await;
            (key, request, file)
        });
    }
    while let Some(done) = tasks.join_next().await {
        if let Ok((key, request, file)) = done {
            lookups.files.insert(key, Some((request, file)));
        }
    }
}

async fn read(
    http: &reqwest::Client,
    request: &FileRequest,
    token: Option<&Basic>,
    deadline: std::time::Instant,
) -> RepoFile {
    let cap = usize::try_from(GITMODULES_CAP).unwrap_or(usize::MAX);
    crate::forge::read_file(http, request, token, cap, deadline).await
}

/// The `.gitmodules` of `listed`, another repository's git context, at its ref: read
/// through the REST API of its forge (GitHub, GitLab, Azure DevOps, Bitbucket Cloud), once per
/// repository and ref. `None` (with a note the first time, when the file could not
/// be read) when there is nothing to judge.
async fn other(
    ctx: &Ctx,
    http: &Result<reqwest::Client, String>,
    listed: &Listed<'_>,
    lookups: &mut Lookups,
    report: &mut CheckReport,
) -> Option<(Vec<u8>, Source)> {
    let git = listed.git;
    // The listing already reported a repository or ref it could not see.
    if !listed.readable {
        return None;
    }
    let (key, request) = lookup(ctx, listed);
    let first = lookups.reported.insert(key.clone());
    let request = match request {
        Ok(r) => r,
        Err(NotLookedUp(why)) => {
            if first {
                report.verified(format!(
                    "git context {}: its submodules were not looked up: {why}",
                    git.repo
                ));
            }
            return None;
        }
    };
    if !matches!(lookups.files.get(&key), Some(Some(_))) {
        let Ok(http) = http else {
            return None;
        };
        let file = read(http, &request, listed.auth, budget(ctx)).await;
        lookups
            .files
            .insert(key.clone(), Some((request.clone(), file)));
    }
    let at = git
        .reference
        .as_deref()
        .map_or("its default branch".to_string(), |r| format!("`{r}`"));
    let with = if listed.auth.is_some() {
        " with the build's token"
    } else {
        " without credentials"
    };
    let (request, file) = lookups.files.get(&key)?.as_ref()?;
    let url = &request.url;
    let repository = &request.repository;
    let guessed = match request.forge {
        Forge::GitLab { certain: false } => " (GitLab by its host name only)",
        Forge::GitHub { certain: false } => " (GitHub Enterprise Server by its host name only)",
        _ => "",
    };
    match file {
        RepoFile::Found(bytes) => Some((
            bytes.clone(),
            Source {
                repository: repository.clone(),
                file: format!("`.gitmodules` of {repository} at {at} (GET {url}{with})"),
            },
        )),
        RepoFile::Absent => {
            if first {
                report.verified(format!(
                    "git context {}: no submodules, GET {url}{with} answered 404 (no `.gitmodules` at {at})",
                    git.repo
                ));
            }
            None
        }
        RepoFile::Refused { status, why } => {
            if first {
                report.verified(format!(
                    "git context {}: its submodules were not checked: GET {url}{with} answered {status} ({why}){guessed}",
                    git.repo
                ));
            }
            None
        }
        RepoFile::Failed { why } => {
            if first {
                report.verified(format!(
                    "git context {}: its submodules were not checked: GET {url}{with}: {why}{guessed}",
                    git.repo
                ));
            }
            None
        }
    }
}

/// The command that turns the first SSH submodule URL into https
/// (`git@github.com:octo/lib.git` → `https://github.com/octo/lib.git`), or a template.
fn ssh_fix(submodules: &[Submodule], access: &[Access]) -> String {
    let first = submodules
        .iter()
        .zip(access)
        .find(|(_, a)| **a == Access::Ssh)
        .map(|(s, _)| s);
    let Some(s) = first else {
        return String::new();
    };
    let https = s
        .url
        .trim()
        .strip_prefix("ssh://")
        .map(|rest| {
            let rest = rest.split_once('@').map_or(rest, |(_, r)| r);
            format!("https://{rest}")
        })
        .or_else(|| {
            let (user_host, path) = s.url.trim().split_once(':')?;
            let host = user_host.split_once('@').map_or(user_host, |(_, h)| h);
            Some(format!("https://{host}/{}", path.trim_start_matches('/')))
        });
    match https {
        Some(url) => format!(
            " (`git config -f .gitmodules submodule.{}.url {url}`, then commit `.gitmodules`)",
            s.name
        ),
        None => String::new(),
    }
}

/// Submodule paths, as a list for messages.
fn paths(submodules: &[Submodule]) -> String {
    let mut out: Vec<String> = submodules
        .iter()
        .take(SHOWN)
        .map(|s| format!("`{}`", s.path))
        .collect();
    if submodules.len() > SHOWN {
        out.push(format!("… ({} in all)", submodules.len()));
    }
    out.join(", ")
}

enum UrlKind {
    Ssh,
    Https,
    Other,
}

fn url_kind(url: &str) -> UrlKind {
    let lower = url.trim().to_ascii_lowercase();
    if lower.starts_with("ssh://") || lower.starts_with("git+ssh://") {
        return UrlKind::Ssh;
    }
    if lower.starts_with("https://") || lower.starts_with("http://") {
        return UrlKind::Https;
    }
    // scp-like `user@host:path` (git-clone(1), GIT URLS).
    let scp = lower
        .split_once(':')
        .is_some_and(|(before, _)| before.contains('@') && !before.contains('/'));
    if scp { UrlKind::Ssh } else { UrlKind::Other }
}

/// A submodule URL as shown: no credentials, no query.
fn shown_url(url: &str) -> String {
    match url_kind(url) {
        UrlKind::Https => crate::tarball::shown(url),
        _ => url.chars().filter(|c| !c.is_control()).take(200).collect(),
    }
}

/// Whether `repo` (`https://github.com/octo/shop.git`) is `repository` (`octo/shop`,
/// compared case-insensitively) on github.com or on the server of `server_url`.
fn own_repository(repo: &str, repository: Option<&str>, server_url: Option<&str>) -> bool {
    let Some(repository) = repository else {
        return false;
    };
    let Ok(url) = url::Url::parse(repo) else {
        return false;
    };
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let server = server_url
        .and_then(|s| url::Url::parse(s).ok())
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase));
    if host != "github.com" && Some(&host) != server.as_ref() {
        return false;
    }
    let path = url.path().trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    path.eq_ignore_ascii_case(repository.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_own_repository_is_recognised_on_github_and_the_server() {
        let own = |r: &str, s: Option<&str>| own_repository(r, Some("Octo/Shop"), s);
        assert!(own("https://github.com/octo/shop.git", None));
        assert!(own(
            "https://ghe.example/octo/shop.git",
            Some("https://GHE.example")
        ));
        assert!(!own("https://ghe.example/octo/shop.git", None));
        assert!(!own("https://github.com/octo/other.git", None));
        assert!(!own_repository("https://github.com/o/r.git", None, None));
    }

    #[test]
    fn ssh_urls_are_told_apart() {
        assert!(matches!(url_kind("git@github.com:o/r.git"), UrlKind::Ssh));
        assert!(matches!(url_kind("ssh://git@h/o/r.git"), UrlKind::Ssh));
        assert!(matches!(url_kind("https://h/o/r.git"), UrlKind::Https));
        assert!(matches!(url_kind("../lib.git"), UrlKind::Other));
    }
}
