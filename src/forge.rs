//! One file of a git context's repository at a ref, read through the REST API of the
//! forge that hosts it: the one place that turns a repository URL into that request
//! and reads the answer, for GitHub, GitLab, Azure DevOps and Bitbucket Cloud.
//!
//! - GitHub: `GET <api>/repos/<owner>/<repo>/contents/<path>?ref=<ref>` with
//!   `Accept: application/vnd.github.raw+json`, a token as `Authorization: Bearer`
//!   (https://docs.github.com/en/rest/repos/contents#get-repository-content). A
//!   missing file answers 404 `{"message":"Not Found",…}`. `<api>` is
//!   `https://<host>/api/v3` on GitHub Enterprise Server
//!   (https://docs.github.com/en/enterprise-server@latest/rest/quickstart).
//! - GitLab: `GET https://<host>/api/v4/projects/<url-encoded project path>/repository/files/<path>/raw?ref=<ref>`,
//!   a token as `Authorization: Bearer`, which GitLab takes for personal, project,
//!   group and OAuth tokens
//!   (https://docs.gitlab.com/api/repository_files/#get-raw-file-from-repository,
//!   https://docs.gitlab.com/api/rest/authentication/). A missing file answers
//!   404 `{"message":"404 File Not Found"}`, a project the reader may not see
//!   404 `{"message":"404 Project Not Found"}`.
//! - Azure DevOps: `GET https://dev.azure.com/<org>/<project>/_apis/git/repositories/<repo>/items?path=<path>&versionDescriptor.version=<ref>&versionDescriptor.versionType=branch|tag|commit&$format=octetStream&api-version=7.1`,
//!   a personal access token as HTTP Basic password with an empty user name
//!   (https://learn.microsoft.com/rest/api/azure/devops/git/items/get,
//!   https://learn.microsoft.com/azure/devops/organizations/accounts/use-personal-access-tokens-to-authenticate).
//!   A request it does not authenticate may be answered with its sign-in page
//!   (HTML, status 203 or 200) instead of 401.
//! - Bitbucket Cloud: `GET https://api.bitbucket.org/2.0/repositories/<workspace>/<repo_slug>/src/<commit or branch>/<path>`,
//!   which answers a file's raw bytes
//!   (https://developer.atlassian.com/cloud/bitbucket/rest/api-group-source/#api-repositories-workspace-repo-slug-src-commit-path-get);
//!   a repository, project or workspace access token as `Authorization: Bearer`
//!   (https://support.atlassian.com/bitbucket-cloud/docs/using-access-tokens/), a user
//!   name and app password as HTTP Basic
//!   (https://developer.atlassian.com/cloud/bitbucket/rest/intro/#authentication).
//!   Errors are `{"type":"error","error":{"message":…}}`: a missing file 404
//!   `No such file or directory: <path>`
//!   (https://github.com/MunifTanjim/node-bitbucket/issues/58), a repository the
//!   reader may not see 404 `The requested repository either does not exist or you do
//!   not have access. …` (https://github.com/composer/composer/pull/10657).

use crate::git::Basic;
use std::time::Instant;
use url::Url;

/// The forge whose REST API serves a repository's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    /// `certain`: github.com or the run's own server (`GITHUB_SERVER_URL`); otherwise a
    /// host whose name says GitHub (`github.example.com`): GitHub Enterprise Server by
    /// its name only.
    GitHub {
        certain: bool,
    },
    /// `certain`: gitlab.com; otherwise a host whose name says GitLab
    /// (`gitlab.example.com`), which only its answers can confirm.
    GitLab {
        certain: bool,
    },
    AzureDevOps,
    BitbucketCloud,
}

/// The REST API of Bitbucket Cloud, which serves the repositories of bitbucket.org.
const BITBUCKET_API: &str = "https://api.bitbucket.org/2.0/repositories";

/// The GitHub server a run knows: `GITHUB_SERVER_URL` and `GITHUB_API_URL`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Servers<'a> {
    pub server_url: Option<&'a str>,
    pub api_url: Option<&'a str>,
}

/// The ref a file is read at: as written after `#`, and the full name the ref listing
/// resolved it to (`refs/heads/main`, `refs/tags/v1`); both `None` for the default
/// branch.
#[derive(Debug, Clone, Copy, Default)]
pub struct At<'a> {
    pub reference: Option<&'a str>,
    pub full: Option<&'a str>,
}

/// The request that reads one file of a repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRequest {
    pub forge: Forge,
    pub url: Url,
    /// The repository as its forge names it (`octo/lib`, `group/sub/app`,
    /// `org/project/_git/repo`), for messages.
    pub repository: String,
}

/// Why a repository's files are not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotLookedUp(pub String);

/// The request for `path` of the repository `repo` (a git context URL without
/// credentials or fragment) at `at`, on the forge its host names.
pub fn file_request(
    repo: &str,
    path: &str,
    at: At<'_>,
    servers: Servers<'_>,
) -> Result<FileRequest, NotLookedUp> {
    let parsed = Url::parse(repo).map_err(|_| NotLookedUp("it is not a URL".into()))?;
    let host = parsed.host_str().unwrap_or_default().to_ascii_lowercase();
    let segments: Vec<&str> = parsed
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    let shape = |forge: &str, form: &str| {
        NotLookedUp(format!(
            "`{path}` is read through {forge}, and the path of {repo} is not a repository path there ({form})"
        ))
    };
    let github = github_api_root(&host, servers.server_url, servers.api_url)
        .map(|root| (root, true))
        .or_else(|| {
            github_host(&host).then(|| (format!("https://{}/api/v3", authority(&parsed)), false))
        });
    if let Some((root, certain)) = github {
        let [owner, name] = segments.as_slice() else {
            return Err(shape("GitHub's REST API", "`/<owner>/<repo>.git`"));
        };
        let name = name.strip_suffix(".git").unwrap_or(name);
        let mut url =
            Url::parse(&root).map_err(|_| NotLookedUp("GITHUB_API_URL is not a URL".into()))?;
        url.path_segments_mut()
            .map_err(|_| NotLookedUp("GITHUB_API_URL is not a URL".into()))?
            .pop_if_empty()
            .extend(["repos", owner, name, "contents"])
            .extend(path.split('/'));
        if let Some(r) = at.reference {
            url.query_pairs_mut().append_pair("ref", r);
        }
        return Ok(FileRequest {
            forge: Forge::GitHub { certain },
            url,
            repository: format!("{owner}/{name}"),
        });
    }
    if host == "bitbucket.org" {
        let [workspace, slug] = segments.as_slice() else {
            return Err(shape(
                "the Bitbucket Cloud REST API",
                "`/<workspace>/<repo>.git`",
            ));
        };
        let slug = slug.strip_suffix(".git").unwrap_or(slug);
        let version = bitbucket_version(at).ok_or_else(|| {
            NotLookedUp(format!(
                "`{path}` is read through the Bitbucket Cloud REST API at a branch, tag or commit, and the ref listing of {repo} did not name its default branch"
            ))
        })?;
        let mut url = Url::parse(BITBUCKET_API)
            .map_err(|_| NotLookedUp("the Bitbucket API root is not a URL".into()))?;
        url.path_segments_mut()
            .map_err(|_| NotLookedUp("the Bitbucket API root is not a URL".into()))?
            .extend([workspace, slug, "src", version])
            .extend(path.split('/'));
        return Ok(FileRequest {
            forge: Forge::BitbucketCloud,
            url,
            repository: format!("{workspace}/{slug}"),
        });
    }
    if host == "dev.azure.com" || host.ends_with(".visualstudio.com") {
        return azure_devops(&parsed, &host, &segments, path, at).ok_or_else(|| {
            shape(
                "the Azure DevOps REST API",
                "`/<org>/<project>/_git/<repo>`",
            )
        });
    }
    if let Some(certain) = gitlab_host(&host) {
        if segments.len() < 2 {
            return Err(shape("GitLab's REST API", "`/<group>/<project>.git`"));
        }
        let project = segments.join("/");
        let project = project.strip_suffix(".git").unwrap_or(&project).to_string();
        let mut url = origin(&parsed);
        url.path_segments_mut()
            .map_err(|_| NotLookedUp("it is not a URL".into()))?
            .extend([
                "api",
                "v4",
                "projects",
                &project,
                "repository",
                "files",
                path,
                "raw",
            ]);
        if let Some(r) = at.reference {
            url.query_pairs_mut().append_pair("ref", r);
        }
        return Ok(FileRequest {
            forge: Forge::GitLab { certain },
            url,
            repository: project,
        });
    }
    Err(NotLookedUp(format!(
        "the forge of {host} is unknown, so its REST API is not guessed: `{path}` is read through the REST API of GitHub (github.com, the run's GITHUB_SERVER_URL, or a host named `github.…`), GitLab (gitlab.com, or a host named `gitlab.…`), Azure DevOps (dev.azure.com, `<org>.visualstudio.com`) or Bitbucket Cloud (bitbucket.org), and {host} is none of them"
    )))
}

/// A host whose first label is or starts with `github` (`github.example.com`,
/// `github-ent.corp.example`) other than github.com: GitHub Enterprise Server by its
/// name only.
fn github_host(host: &str) -> bool {
    let first = host.split('.').next().unwrap_or_default();
    first.starts_with("github") && host.contains('.') && host != "github.com"
}

/// `host[:port]` of a URL.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// The `{commit}` of Bitbucket's source API: the branch or tag the ref listing
/// resolved the ref to (short name), a commit id as written, or the default branch the
/// listing named (`symref=HEAD:refs/heads/main`); `None` when the default branch is
/// not known.
fn bitbucket_version<'a>(at: At<'a>) -> Option<&'a str> {
    let short = |full: &'a str| {
        full.strip_prefix("refs/heads/")
            .or_else(|| full.strip_prefix("refs/tags/"))
    };
    match at.reference {
        Some(reference) => Some(at.full.and_then(short).unwrap_or(reference)),
        None => at.full.and_then(short),
    }
}

/// `Some(true)` for gitlab.com, `Some(false)` for a host whose first label is or
/// starts with `gitlab` (`gitlab.example.com`, `gitlab-ce.corp.example`): self-managed
/// GitLab by its name only.
fn gitlab_host(host: &str) -> Option<bool> {
    if host == "gitlab.com" {
        return Some(true);
    }
    let first = host.split('.').next().unwrap_or_default();
    (first.starts_with("gitlab") && host.contains('.')).then_some(false)
}

/// `scheme://host[:port]/`.
fn origin(url: &Url) -> Url {
    let mut out = url.clone();
    out.set_path("/");
    out.set_query(None);
    out.set_fragment(None);
    let _ = out.set_username("");
    let _ = out.set_password(None);
    out
}

/// The Items API request for `https://dev.azure.com/<org>/<project>/_git/<repo>` or
/// `https://<org>.visualstudio.com[/DefaultCollection]/<project>/_git/<repo>`; a URL
/// without the project (`/<org>/_git/<repo>`) names the project of the same name.
fn azure_devops(
    parsed: &Url,
    host: &str,
    segments: &[&str],
    path: &str,
    at: At<'_>,
) -> Option<FileRequest> {
    let git = segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("_git"))?;
    let repo = *segments.get(git + 1)?;
    let repo = repo.strip_suffix(".git").unwrap_or(repo);
    let before = &segments[..git];
    // The segments that address the organization: `<org>` on dev.azure.com, none (or
    // `DefaultCollection`) on `<org>.visualstudio.com`.
    let (org, project): (Vec<&str>, &str) = if host == "dev.azure.com" {
        match before {
            [org] => (vec![*org], repo),
            [org, project] => (vec![*org], *project),
            _ => return None,
        }
    } else {
        match before {
            [] => (vec![], repo),
            [project] if !project.eq_ignore_ascii_case("DefaultCollection") => (vec![], *project),
            [collection, project] if collection.eq_ignore_ascii_case("DefaultCollection") => {
                (vec![*collection], *project)
            }
            _ => return None,
        }
    };
    let mut url = origin(parsed);
    url.path_segments_mut().ok()?.extend(&org).extend([
        project,
        "_apis",
        "git",
        "repositories",
        repo,
        "items",
    ]);
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("path", &format!("/{}", path.trim_start_matches('/')));
        if let Some(reference) = at.reference {
            let (kind, version) = match at.full {
                Some(full) if full.starts_with("refs/tags/") => {
                    ("tag", full.trim_start_matches("refs/tags/"))
                }
                Some(full) if full.starts_with("refs/heads/") => {
                    ("branch", full.trim_start_matches("refs/heads/"))
                }
                _ if crate::git::is_commit_id(reference) => ("commit", reference),
                _ => ("branch", reference),
            };
            q.append_pair("versionDescriptor.version", version);
            q.append_pair("versionDescriptor.versionType", kind);
        }
        q.append_pair("$format", "octetStream");
        q.append_pair("api-version", "7.1");
    }
    let name = parsed.host_str().unwrap_or_default();
    let org_name = if host == "dev.azure.com" {
        org.first().copied().unwrap_or_default().to_string()
    } else {
        name.split('.').next().unwrap_or_default().to_string()
    };
    Some(FileRequest {
        forge: Forge::AzureDevOps,
        url,
        repository: format!("{org_name}/{project}/_git/{repo}"),
    })
}

/// A file of a repository, as its forge's REST API answered for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepoFile {
    Found(Vec<u8>),
    /// The file is not at that ref (for a reader that may see the repository).
    Absent,
    /// 401, 403, 404 for the repository, 429, or a sign-in page: the reader may not see
    /// the repository, or the API's rate limit is spent (`why` says which, when the
    /// answer tells).
    Refused {
        status: u16,
        why: String,
    },
    /// No answer (connection, TLS, deadline), another status, or a body that is not
    /// the file.
    Failed {
        why: String,
    },
}

/// The REST API root of the GitHub server that hosts `host`'s repositories:
/// `GITHUB_API_URL` for the server the run is on (`GITHUB_SERVER_URL`, github.com when
/// unset), `https://api.github.com` for github.com; `None` for any other host.
pub fn github_api_root(
    host: &str,
    server_url: Option<&str>,
    api_url: Option<&str>,
) -> Option<String> {
    let host = host.to_ascii_lowercase();
    let server = server_url
        .and_then(|s| Url::parse(s.trim()).ok())
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        .unwrap_or_else(|| "github.com".to_string());
    let api = api_url.map(str::trim).filter(|a| !a.is_empty());
    match api {
        Some(api) if host == server => Some(api.trim_end_matches('/').to_string()),
        _ if host == "github.com" => Some("https://api.github.com".to_string()),
        _ => None,
    }
}

/// The media type that asks GitHub's contents API for the file's bytes; the JSON form,
/// with the bytes in base64 in `content`, is read too.
const GITHUB_RAW: &str = "application/vnd.github.raw+json";

/// The body of a 404 read to tell a missing file from a hidden repository.
const ERROR_CAP: usize = 16 * 1024;

/// Reads the file `request` names, with `token` (to the API's own host only: a
/// redirect elsewhere goes without it), or anonymously, before `deadline`; a file
/// larger than `cap` bytes is not read.
pub async fn read_file(
    http: &reqwest::Client,
    request: &FileRequest,
    token: Option<&Basic>,
    cap: usize,
    deadline: Instant,
) -> RepoFile {
    crate::http::before(deadline, read_now(http, request, token, cap))
        .await
        .unwrap_or_else(|| RepoFile::Failed {
            why: "no answer before the run's deadline".into(),
        })
}

async fn read_now(
    http: &reqwest::Client,
    request: &FileRequest,
    token: Option<&Basic>,
    cap: usize,
) -> RepoFile {
    let forge = request.forge;
    let response = match crate::git::get_following(http, request.url.clone(), |r, home| {
        let r = match forge {
            Forge::GitHub { .. } => r
                .header(reqwest::header::ACCEPT, GITHUB_RAW)
                .header("X-GitHub-Api-Version", "2022-11-28"),
            _ => r,
        };
        match token {
            Some(t) if home => match forge {
                Forge::AzureDevOps => r.basic_auth("", Some(&t.password)),
                Forge::BitbucketCloud if !bitbucket_bearer(t) => {
                    r.basic_auth(&t.user, Some(&t.password))
                }
                Forge::GitHub { .. } | Forge::GitLab { .. } | Forge::BitbucketCloud => {
                    r.bearer_auth(&t.password)
                }
            },
            _ => r,
        }
    })
    .await
    {
        Ok(r) => r,
        Err(why) => return RepoFile::Failed { why },
    };
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    };
    let content_type = header("content-type");
    let html = content_type.starts_with("text/html");
    // Bitbucket answers a file's raw bytes whatever its name, and JSON only for a
    // folder or with `?format=meta`.
    let json = content_type.starts_with("application/json") && forge != Forge::BitbucketCloud;
    if forge == Forge::AzureDevOps && html && matches!(status, 200 | 203) {
        return RepoFile::Refused {
            status,
            why: "a sign-in page: Azure DevOps did not take the request as authenticated".into(),
        };
    }
    match status {
        404 => {
            let body = crate::http::read_capped(response, ERROR_CAP)
                .await
                .unwrap_or_default();
            return not_found(forge, &body);
        }
        401 | 403 | 429 => {
            let why = if header("x-ratelimit-remaining") == "0" {
                "the API's rate limit is spent (x-ratelimit-remaining: 0)".to_string()
            } else if status == 429 {
                "too many requests: a rate limit".to_string()
            } else if status == 401 && token.is_some() {
                "the token was not accepted".to_string()
            } else if status == 401 {
                "the API wants credentials".to_string()
            } else {
                "access refused".to_string()
            };
            return RepoFile::Refused { status, why };
        }
        200 => {}
        _ => {
            return RepoFile::Failed {
                why: format!("answered {status}"),
            };
        }
    }
    if html {
        return RepoFile::Failed {
            why: "answered a web page, not the file".into(),
        };
    }
    // GitHub's JSON form carries the bytes in base64, a third larger, with line breaks.
    let read_cap = if json { cap * 2 } else { cap };
    let body = match crate::http::read_capped(response, read_cap).await {
        Ok(b) => b,
        Err(e) => return RepoFile::Failed { why: e.to_string() },
    };
    let bytes = if json {
        json_content(forge, &body)
    } else {
        Some(body)
    };
    match bytes {
        Some(b) if b.len() <= cap => RepoFile::Found(b),
        Some(_) => RepoFile::Failed {
            why: format!(
                "answered a file larger than {}",
                crate::http::describe_cap(cap)
            ),
        },
        None => RepoFile::Failed {
            why: "answered JSON without the file's `content`".into(),
        },
    }
}

/// A 404: GitHub answers it alike for a missing file and a repository the reader may
/// not see (the ref listing has shown the repository); GitLab and Azure DevOps say
/// which in the body.
fn not_found(forge: Forge, body: &[u8]) -> RepoFile {
    let value: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let text = |key: &str| {
        value
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let missing = match forge {
        Forge::GitHub { certain: true } => true,
        // A host GitHub by its name only: GitHub's own body, `{"message":"Not Found"}`.
        Forge::GitHub { certain: false } => text("message") == "Not Found",
        // `{"message":"404 File Not Found"}`
        Forge::GitLab { .. } => text("message").contains("File Not Found"),
        // `"typeKey": "GitItemNotFoundException"` (TF401174).
        Forge::AzureDevOps => text("typeKey") == "GitItemNotFoundException",
        // `{"type":"error","error":{"message":"No such file or directory: .gitmodules"}}`
        Forge::BitbucketCloud => bitbucket_error(&value).starts_with("No such file or directory"),
    };
    if missing {
        return RepoFile::Absent;
    }
    let said: String = match forge {
        Forge::GitLab { .. } | Forge::GitHub { .. } => text("message"),
        Forge::BitbucketCloud => bitbucket_error(&value),
        _ => text("typeKey"),
    }
    .chars()
    .filter(|c| !c.is_control())
    .take(80)
    .collect();
    let why = if said.is_empty() {
        "not the forge's answer for a missing file: the repository is hidden from this reader, or the host is not that forge".to_string()
    } else {
        format!("`{said}`: the repository is hidden from this reader")
    };
    RepoFile::Refused { status: 404, why }
}

/// The message of a Bitbucket error, `{"type":"error","error":{"message":…}}`.
fn bitbucket_error(value: &serde_json::Value) -> String {
    value
        .pointer("/error/message")
        .and_then(|m| m.as_str())
        .unwrap_or_default()
        .to_string()
}

/// Whether Bitbucket takes `token` as a bearer token: an access token, written as
/// the password of `x-token-auth` in a clone URL, or a token given alone; a user name
/// with an app password is HTTP Basic.
fn bitbucket_bearer(token: &Basic) -> bool {
    matches!(token.user.as_str(), "x-token-auth" | "x-access-token" | "")
}

/// The file's bytes from a JSON answer: GitHub's contents object (`"encoding":
/// "base64"`, `content`), or Azure DevOps' item (`content` as text).
fn json_content(forge: Forge, body: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let content = value.get("content")?.as_str()?;
    match forge {
        Forge::GitHub { .. } => {
            if value.get("encoding").and_then(|e| e.as_str()) != Some("base64") {
                return None;
            }
            let content: String = content
                .chars()
                .filter(|c| !c.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(content)
                .ok()
        }
        Forge::AzureDevOps => Some(content.as_bytes().to_vec()),
        Forge::GitLab { .. } | Forge::BitbucketCloud => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(repo: &str, at: At<'_>) -> Result<FileRequest, NotLookedUp> {
        file_request(repo, ".gitmodules", at, Servers::default())
    }

    fn at<'a>(reference: &'a str, full: Option<&'a str>) -> At<'a> {
        At {
            reference: Some(reference),
            full,
        }
    }

    #[test]
    fn the_github_api_of_a_repository_host() {
        let gh = Some("https://github.com");
        assert_eq!(
            github_api_root("GitHub.com", None, None).as_deref(),
            Some("https://api.github.com")
        );
        assert_eq!(
            github_api_root("github.com", gh, Some("http://127.0.0.1:9/")).as_deref(),
            Some("http://127.0.0.1:9")
        );
        let ghes = Some("https://ghe.example");
        let api = Some("https://ghe.example/api/v3");
        assert_eq!(
            github_api_root("ghe.example", ghes, api).as_deref(),
            Some("https://ghe.example/api/v3")
        );
        // On a GHES run, github.com is still served by api.github.com.
        assert_eq!(
            github_api_root("github.com", ghes, api).as_deref(),
            Some("https://api.github.com")
        );
        assert_eq!(github_api_root("gitlab.com", None, None), None);
        let r = file_request(
            "https://ghe.example/octo/lib.git",
            ".gitmodules",
            at("release/1 &x", None),
            Servers {
                server_url: ghes,
                api_url: api,
            },
        )
        .expect("a repository URL");
        assert_eq!(r.repository, "octo/lib");
        assert_eq!(
            r.url.as_str(),
            "https://ghe.example/api/v3/repos/octo/lib/contents/.gitmodules?ref=release%2F1+%26x"
        );
        assert!(request("https://github.com/a/b/c.git", At::default()).is_err());
    }

    #[test]
    fn gitlab_projects_are_addressed_by_their_encoded_path() {
        let r = request("https://gitlab.com/grp/sub/app.git", at("main", None)).unwrap();
        assert_eq!(r.forge, Forge::GitLab { certain: true });
        assert_eq!(r.repository, "grp/sub/app");
        assert_eq!(
            r.url.as_str(),
            "https://gitlab.com/api/v4/projects/grp%2Fsub%2Fapp/repository/files/.gitmodules/raw?ref=main"
        );
        let r = request("https://gitlab.corp.example:8443/g/app.git", At::default()).unwrap();
        assert_eq!(r.forge, Forge::GitLab { certain: false });
        assert_eq!(
            r.url.as_str(),
            "https://gitlab.corp.example:8443/api/v4/projects/g%2Fapp/repository/files/.gitmodules/raw"
        );
        assert!(request("https://gitlab.com/app.git", At::default()).is_err());
        let other = request("https://git.example.com/g/app.git", At::default()).unwrap_err();
        assert!(
            other.0.contains("git.example.com is none of them"),
            "{other:?}"
        );
    }

    #[test]
    fn azure_devops_items_are_read_at_the_kind_of_ref_the_listing_showed() {
        let r = request(
            "https://dev.azure.com/org/proj/_git/repo",
            at("main", Some("refs/heads/main")),
        )
        .unwrap();
        assert_eq!(r.forge, Forge::AzureDevOps);
        assert_eq!(r.repository, "org/proj/_git/repo");
        assert_eq!(
            r.url.as_str(),
            "https://dev.azure.com/org/proj/_apis/git/repositories/repo/items?path=%2F.gitmodules&versionDescriptor.version=main&versionDescriptor.versionType=branch&%24format=octetStream&api-version=7.1"
        );
        let tag = request(
            "https://dev.azure.com/org/proj/_git/repo",
            at("v1", Some("refs/tags/v1")),
        )
        .unwrap();
        assert!(
            tag.url
                .as_str()
                .contains("version=v1&versionDescriptor.versionType=tag")
        );
        let commit = request(
            "https://org.visualstudio.com/DefaultCollection/proj/_git/repo",
            at("0123abcd", None),
        )
        .unwrap();
        assert_eq!(commit.repository, "org/proj/_git/repo");
        assert!(
            commit.url.as_str().starts_with(
                "https://org.visualstudio.com/DefaultCollection/proj/_apis/git/repositories/repo/items?"
            ),
            "{}",
            commit.url
        );
        assert!(commit.url.as_str().contains("versionType=commit"));
        // No project: the project of the repository's name; no ref: the default branch.
        let bare = request("https://dev.azure.com/org/_git/repo", At::default()).unwrap();
        assert!(
            bare.url
                .as_str()
                .starts_with("https://dev.azure.com/org/repo/_apis/git/repositories/repo/items?path=%2F.gitmodules&%24format"),
            "{}",
            bare.url
        );
        assert!(request("https://dev.azure.com/org/proj/repo.git", At::default()).is_err());
    }

    #[test]
    fn bitbucket_files_are_read_at_the_branch_tag_or_commit_the_listing_showed() {
        let repo = "https://bitbucket.org/ws/app.git";
        let r = request(repo, at("main", Some("refs/heads/main"))).unwrap();
        assert_eq!(r.forge, Forge::BitbucketCloud);
        assert_eq!(r.repository, "ws/app");
        assert_eq!(
            r.url.as_str(),
            "https://api.bitbucket.org/2.0/repositories/ws/app/src/main/.gitmodules"
        );
        let tag = request(repo, at("v1", Some("refs/tags/v1"))).unwrap();
        assert!(
            tag.url.as_str().ends_with("/src/v1/.gitmodules"),
            "{}",
            tag.url
        );
        let commit = request(repo, at("0123abcd", None)).unwrap();
        assert!(commit.url.as_str().ends_with("/src/0123abcd/.gitmodules"));
        // A branch with a slash stays one path segment.
        let slash = request(repo, at("release/1", Some("refs/heads/release/1"))).unwrap();
        assert!(
            slash.url.as_str().ends_with("/src/release%2F1/.gitmodules"),
            "{}",
            slash.url
        );
        // The default branch as the listing named it; unnamed, not guessed.
        let default = At {
            reference: None,
            full: Some("refs/heads/trunk"),
        };
        assert!(
            request("https://bitbucket.org/ws/app", default)
                .unwrap()
                .url
                .as_str()
                .ends_with("/ws/app/src/trunk/.gitmodules")
        );
        let unnamed = request(repo, At::default()).unwrap_err();
        assert!(
            unnamed.0.contains("did not name its default branch"),
            "{unnamed:?}"
        );
        assert!(request("https://bitbucket.org/ws/sub/app.git", At::default()).is_err());
    }

    #[test]
    fn a_github_server_that_is_not_the_runs_is_taken_by_its_name_only() {
        let r = request(
            "https://github.corp.example:8443/octo/lib.git",
            at("main", None),
        )
        .unwrap();
        assert_eq!(r.forge, Forge::GitHub { certain: false });
        assert_eq!(
            r.url.as_str(),
            "https://github.corp.example:8443/api/v3/repos/octo/lib/contents/.gitmodules?ref=main"
        );
        let other = request("https://git.corp.example/octo/lib.git", At::default()).unwrap_err();
        assert!(
            other.0.starts_with(
                "the forge of git.corp.example is unknown, so its REST API is not guessed"
            ),
            "{other:?}"
        );
        // The run's own server is GitHub for certain.
        let own = file_request(
            "https://git.corp.example/octo/lib.git",
            ".gitmodules",
            At::default(),
            Servers {
                server_url: Some("https://git.corp.example"),
                api_url: Some("https://git.corp.example/api/v3"),
            },
        )
        .unwrap();
        assert_eq!(own.forge, Forge::GitHub { certain: true });
    }

    #[test]
    fn bitbucket_takes_access_tokens_as_bearer_and_app_passwords_as_basic() {
        let token = |url: &str| bitbucket_bearer(&Basic::from_url(url).unwrap());
        assert!(token("https://x-token-auth:tok@bitbucket.org/ws/app.git"));
        assert!(bitbucket_bearer(&Basic::token("tok")));
        assert!(!token(
            "https://alice:app-password@bitbucket.org/ws/app.git"
        ));
    }

    #[test]
    fn a_404_is_a_missing_file_only_when_the_forge_says_so() {
        let gitlab = Forge::GitLab { certain: true };
        assert_eq!(
            not_found(gitlab, br#"{"message":"404 File Not Found"}"#),
            RepoFile::Absent
        );
        assert!(matches!(
            not_found(gitlab, br#"{"message":"404 Project Not Found"}"#),
            RepoFile::Refused { status: 404, .. }
        ));
        assert!(matches!(
            not_found(gitlab, b"<html>"),
            RepoFile::Refused { status: 404, .. }
        ));
        assert_eq!(
            not_found(
                Forge::AzureDevOps,
                br#"{"message":"TF401174: The item '/.gitmodules' could not be found","typeKey":"GitItemNotFoundException"}"#
            ),
            RepoFile::Absent
        );
        assert!(matches!(
            not_found(
                Forge::AzureDevOps,
                br#"{"typeKey":"GitRepositoryNotFoundException"}"#
            ),
            RepoFile::Refused { status: 404, .. }
        ));
        assert_eq!(
            not_found(Forge::GitHub { certain: true }, b""),
            RepoFile::Absent
        );
        let guessed = Forge::GitHub { certain: false };
        assert_eq!(
            not_found(
                guessed,
                br#"{"message":"Not Found","documentation_url":"x"}"#
            ),
            RepoFile::Absent
        );
        assert!(matches!(
            not_found(guessed, b"<html>"),
            RepoFile::Refused { status: 404, .. }
        ));
        let bitbucket = Forge::BitbucketCloud;
        assert_eq!(
            not_found(
                bitbucket,
                br#"{"type":"error","error":{"message":"No such file or directory: .gitmodules"}}"#
            ),
            RepoFile::Absent
        );
        let hidden = not_found(
            bitbucket,
            br#"{"type":"error","error":{"message":"The requested repository either does not exist or you do not have access."}}"#,
        );
        assert!(
            matches!(&hidden, RepoFile::Refused { status: 404, why } if why.starts_with("`The requested repository either")),
            "{hidden:?}"
        );
    }

    #[test]
    fn the_json_forms_of_a_file_are_decoded() {
        let body = br#"{"type":"file","encoding":"base64","content":"W3N1Ym1v\nZHVsZV0=\n"}"#;
        assert_eq!(
            json_content(Forge::GitHub { certain: true }, body),
            Some(b"[submodule]".to_vec())
        );
        assert_eq!(
            json_content(Forge::GitHub { certain: true }, br#"[{"type":"dir"}]"#),
            None
        );
        assert_eq!(
            json_content(Forge::GitHub { certain: true }, b"not json"),
            None
        );
        assert_eq!(
            json_content(
                Forge::AzureDevOps,
                br#"{"objectId":"ab","path":"/.gitmodules","content":"[submodule]"}"#
            ),
            Some(b"[submodule]".to_vec())
        );
    }
}
