//! Git build contexts (`https://host/org/repo.git#ref:subdir`): whether a URL is one
//! in the form the build tools accept, and the refs the repository advertises over
//! git's smart HTTP protocol, which is what `git ls-remote` reads:
//! `GET <repo>/info/refs?service=git-upload-pack` answers a pkt-line stream, a
//! `# service=git-upload-pack` line, a flush, then one `<object-id> <refname>` line per
//! ref (gitprotocol-http(5), gitprotocol-pack(5), gitprotocol-common(5)).

use std::time::Instant;
use url::Url;

/// A git context URL, split: the repository URL (no fragment, no credentials) and the
/// `#<ref>:<subdir>` fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitUrl {
    /// `https://host/org/repo.git`.
    pub repo: String,
    /// The ref after `#`; `None` for the remote's HEAD.
    pub reference: Option<String>,
    pub subdir: Option<String>,
    /// The URL carries a user name or token (`https://<token>@host/…`): the build
    /// reads with it, acr-preflight does not.
    pub credentials: bool,
}

/// What a remote context URL is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    Git(GitUrl),
    /// A repository written in a form the build takes for something else (a tarball
    /// URL): the same repository in git's form.
    Wrong {
        suggested: String,
    },
    /// Not a git context (a tarball, a plain Dockerfile URL, a local folder).
    NotGit,
}

/// Hosts whose repository URLs are `https://host/<owner>/<repo>`.
const FORGES: &[&str] = &["github.com", "gitlab.com", "bitbucket.org"];

/// Endings of remote tarball contexts.
const TARBALLS: &[&str] = &[".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip"];

/// Classifies a context. `tasks`: `az acr build`, which also takes Azure DevOps
/// repository URLs (`…/_git/<repo>`) without `.git`.
pub fn classify(text: &str, tasks: bool) -> Form {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Form::NotGit;
    }
    let Ok(mut url) = Url::parse(text) else {
        return Form::NotGit;
    };
    let fragment = url.fragment().map(str::to_string);
    url.set_fragment(None);
    let credentials = !url.username().is_empty() || url.password().is_some();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    let path = url.path().trim_end_matches('/').to_ascii_lowercase();
    let (reference, subdir) = split_fragment(fragment.as_deref());
    if path.ends_with(".git") || (tasks && path.contains("/_git/")) {
        let repo = url.as_str().trim_end_matches('/').to_string();
        return Form::Git(GitUrl {
            repo,
            reference,
            subdir,
            credentials,
        });
    }
    if TARBALLS.iter().any(|t| path.ends_with(t)) {
        return Form::NotGit;
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    let forge = FORGES.contains(&host.as_str());
    if !forge && fragment.is_none() {
        return Form::NotGit;
    }
    let segments: Vec<&str> = url
        .path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default();
    if forge && segments.len() < 2 {
        return Form::NotGit;
    }
    Form::Wrong {
        suggested: suggest(&url, &segments, forge, reference, subdir),
    }
}

/// `#ref:subdir` → (ref, subdir), each `None` when empty.
fn split_fragment(fragment: Option<&str>) -> (Option<String>, Option<String>) {
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    match fragment {
        None => (None, None),
        Some(f) => match f.split_once(':') {
            Some((r, d)) => (nonempty(r), nonempty(d)),
            None => (nonempty(f), None),
        },
    }
}

/// The git form of a repository page URL: a browser URL of a branch folder
/// (`/<owner>/<repo>/tree/<ref>/<dir>`, GitLab's `/-/tree/`) becomes
/// `/<owner>/<repo>.git#<ref>:<dir>`.
fn suggest(
    url: &Url,
    segments: &[&str],
    forge: bool,
    reference: Option<String>,
    subdir: Option<String>,
) -> String {
    let tree = segments
        .iter()
        .position(|s| *s == "tree")
        .filter(|&i| i >= 2 && i + 1 < segments.len());
    let (repo, reference, subdir) = match tree {
        Some(i) => {
            let owner_end = if segments[i - 1] == "-" { i - 1 } else { i };
            let dir = segments[i + 2..].join("/");
            (
                segments[..owner_end].join("/"),
                Some(segments[i + 1].to_string()),
                (!dir.is_empty()).then_some(dir),
            )
        }
        None if forge => (segments[..2].join("/"), reference, subdir),
        None => (segments.join("/"), reference, subdir),
    };
    let host = url.host_str().unwrap_or_default();
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    let mut out = format!(
        "{}://{authority}/{}.git",
        url.scheme(),
        repo.trim_end_matches(".git")
    );
    match (reference, subdir) {
        (Some(r), Some(d)) => out.push_str(&format!("#{r}:{d}")),
        (Some(r), None) => out.push_str(&format!("#{r}")),
        (None, Some(d)) => out.push_str(&format!("#:{d}")),
        (None, None) => {}
    }
    out
}

/// The refs a repository advertises.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refs {
    /// Full names (`HEAD`, `refs/heads/main`, `refs/tags/v1`), peeled tags left out.
    pub names: Vec<String>,
    /// The branch HEAD points to, when the server says (`symref=HEAD:refs/heads/main`).
    pub head: Option<String>,
}

impl Refs {
    /// Whether `wanted` (a branch, tag, full ref, `HEAD`) names an advertised ref, the
    /// way git resolves a short name: as given, then under `refs/`, `refs/tags/`,
    /// `refs/heads/`. `None` for a commit id, which refs do not list.
    pub fn has(&self, wanted: &str) -> Option<bool> {
        if is_commit_id(wanted) {
            return None;
        }
        Some(self.resolve(wanted).is_some())
    }

    /// The full name `wanted` resolves to (`main` → `refs/heads/main`), the way
    /// [`Refs::has`] finds it; `None` when no advertised ref matches.
    pub fn resolve(&self, wanted: &str) -> Option<&str> {
        let candidates = [
            wanted.to_string(),
            format!("refs/{wanted}"),
            format!("refs/tags/{wanted}"),
            format!("refs/heads/{wanted}"),
        ];
        candidates
            .iter()
            .find_map(|c| self.names.iter().find(|n| *n == c))
            .map(String::as_str)
    }

    /// Branch and tag names, short (`main`, `v1`).
    pub fn short_names(&self) -> (Vec<String>, Vec<String>) {
        let strip = |p: &str| -> Vec<String> {
            self.names
                .iter()
                .filter_map(|n| n.strip_prefix(p))
                .map(str::to_string)
                .collect()
        };
        (strip("refs/heads/"), strip("refs/tags/"))
    }
}

/// Whether `wanted` is written as a commit id (7 hexadecimal digits or more), which a
/// ref listing does not show.
pub fn is_commit_id(wanted: &str) -> bool {
    wanted.len() >= 7 && wanted.chars().all(|c| c.is_ascii_hexdigit())
}

/// Why an advertisement could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest ref name kept (git allows longer; none a build names is near this).
const MAX_REF_NAME: usize = 1024;

/// Parses a smart HTTP ref advertisement of `git-upload-pack` (protocol v0/v1).
pub fn parse_advertisement(body: &[u8]) -> Result<Refs, Malformed> {
    let mut lines = PktLines { rest: body };
    match lines.next_line()? {
        Some(Some(first)) if strip_lf(first) == b"# service=git-upload-pack" => {}
        _ => {
            return Err(Malformed(
                "it does not start with the `# service=git-upload-pack` pkt-line".into(),
            ));
        }
    }
    // The service line is followed by a flush.
    if lines.next_line()? != Some(None) {
        return Err(Malformed("no flush-pkt after the service line".into()));
    }
    let mut refs = Refs::default();
    loop {
        let line = match lines.next_line()? {
            None => return Err(Malformed("it ends before the closing flush-pkt".into())),
            Some(None) => break,
            Some(Some(line)) => strip_lf(line),
        };
        if line == b"version 1" {
            continue;
        }
        let (head, caps) = match line.iter().position(|b| *b == 0) {
            Some(i) => (&line[..i], Some(&line[i + 1..])),
            None => (line, None),
        };
        let text =
            std::str::from_utf8(head).map_err(|_| Malformed("a ref line is not UTF-8".into()))?;
        let Some((id, name)) = text.split_once(' ') else {
            return Err(Malformed(format!(
                "a ref line has no ref name: `{}`",
                clip(text)
            )));
        };
        if !(id.len() == 40 || id.len() == 64) || !id.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Malformed(format!(
                "a ref line has no object id: `{}`",
                clip(text)
            )));
        }
        if name.is_empty() || name.len() > MAX_REF_NAME || name.chars().any(char::is_control) {
            return Err(Malformed(
                "a ref name is empty, too long or not text".into(),
            ));
        }
        if let Some(caps) = caps.and_then(|c| std::str::from_utf8(c).ok()) {
            refs.head = caps
                .split(' ')
                .find_map(|c| c.strip_prefix("symref=HEAD:"))
                .map(str::to_string);
        }
        // `capabilities^{}`: an empty repository; `…^{}`: a peeled tag.
        if !name.ends_with("^{}") {
            refs.names.push(name.to_string());
        }
    }
    Ok(refs)
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

fn strip_lf(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\n").unwrap_or(line)
}

/// pkt-lines: a 4-digit hex length (counting itself), then the data; `0000` flushes.
struct PktLines<'a> {
    rest: &'a [u8],
}

impl<'a> PktLines<'a> {
    /// `None` at the end of the input, `Some(None)` for a flush-pkt.
    #[allow(clippy::option_option)]
    fn next_line(&mut self) -> Result<Option<Option<&'a [u8]>>, Malformed> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let head = self
            .rest
            .get(..4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .filter(|h| h.chars().all(|c| c.is_ascii_hexdigit()))
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or_else(|| Malformed("it is not a pkt-line stream".into()))?;
        if head == 0 {
            self.rest = &self.rest[4..];
            return Ok(Some(None));
        }
        if head < 4 {
            return Err(Malformed(format!("unexpected special pkt-line {head:04x}")));
        }
        let line = self
            .rest
            .get(4..head)
            .ok_or_else(|| Malformed("a pkt-line runs past the end of the body".into()))?;
        self.rest = &self.rest[head..];
        Ok(Some(Some(line)))
    }
}

/// What the repository answered to the ref listing.
#[derive(Debug)]
pub enum Listing {
    Refs(Refs),
    /// 401, 403 or 404: private (the server does not say which) or no such repository.
    Refused {
        status: u16,
    },
    /// It answered, but not git's ref advertisement.
    NotGit {
        why: String,
    },
    /// No answer (connection, TLS, deadline) or another status.
    Failed {
        why: String,
    },
}

/// The content type of a smart HTTP ref advertisement.
const ADVERTISEMENT: &str = "application/x-git-upload-pack-advertisement";

/// Redirects followed (a renamed repository answers 301 to its new URL).
const MAX_REDIRECTS: usize = 3;

/// The URL the ref listing is read from.
pub fn listing_url(repo: &str) -> String {
    format!(
        "{}/info/refs?service=git-upload-pack",
        repo.trim_end_matches('/')
    )
}

/// Lists the refs of `repo` (no credentials), as `git ls-remote` does, before
/// `deadline`. Bodies are read up to [`crate::http::MAX_BODY`].
pub async fn list_refs(http: &reqwest::Client, repo: &str, deadline: Instant) -> Listing {
    list_refs_as(http, repo, None, deadline).await
}

/// HTTP Basic credentials for a git host: a token is the password (GitHub takes any
/// user name with a personal access token, `x-access-token` with an app token:
/// https://docs.github.com/en/get-started/git-basics/about-remote-repositories#cloning-with-https-urls).
/// The value is a secret: its `Debug` shows only the user name.
#[derive(Clone, PartialEq, Eq)]
pub struct Basic {
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Basic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Basic({}:..)", self.user)
    }
}

impl Basic {
    /// The credentials of a URL's user part (`https://<token>@host/…`,
    /// `https://x-access-token:<token>@host/…`), percent-decoded; a lone user name is
    /// the token, sent as the password as git's credential prompt would; except on
    /// dev.azure.com, whose clone URLs carry the organization as user name
    /// (`https://<org>@dev.azure.com/<org>/<project>/_git/<repo>`), and bitbucket.org,
    /// whose clone URLs carry the user's name (`https://<user>@bitbucket.org/<ws>/<repo>.git`):
    /// those are no tokens.
    pub fn from_url(url: &str) -> Option<Basic> {
        let u = Url::parse(url.trim()).ok()?;
        let organization = u
            .host_str()
            .filter(|h| h.eq_ignore_ascii_case("dev.azure.com"))
            .and_then(|_| u.path_segments()?.next())
            .is_some_and(|org| !org.is_empty() && org.eq_ignore_ascii_case(u.username()));
        // Bitbucket Cloud shows clone URLs as `https://<username>@bitbucket.org/…`; its
        // tokens always come with a user (`x-token-auth:<token>`, `<user>:<app password>`),
        // so a lone user there is a name, never a token.
        let bitbucket_user = u
            .host_str()
            .is_some_and(|h| h.eq_ignore_ascii_case("bitbucket.org"));
        if (organization || bitbucket_user) && u.password().is_none() {
            return None;
        }
        let decode = |s: &str| {
            percent_decode(s)
                .chars()
                .filter(|c| !c.is_control())
                .take(4096)
                .collect::<String>()
        };
        let user = decode(u.username());
        let password = u.password().map(decode).filter(|p| !p.is_empty());
        match (user.is_empty(), password) {
            (true, None) => None,
            (_, Some(password)) => Some(Basic { user, password }),
            (false, None) => Some(Basic {
                user: "x-access-token".into(),
                password: user,
            }),
        }
    }

    /// A token given apart from the URL (`git_access_token`): the password.
    pub fn token(token: &str) -> Basic {
        Basic {
            user: "x-access-token".into(),
            password: token.trim().to_string(),
        }
    }
}

/// `%XX` sequences decoded (invalid ones kept as written); invalid UTF-8 replaced.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Lists the refs of `repo` as [`list_refs`] does, sending `auth` (to the repository's
/// own host only: a redirect to another host is followed without it, as git does).
pub async fn list_refs_as(
    http: &reqwest::Client,
    repo: &str,
    auth: Option<&Basic>,
    deadline: Instant,
) -> Listing {
    crate::http::before(deadline, list(http, repo, auth))
        .await
        .unwrap_or_else(|| Listing::Failed {
            why: "no answer before the run's deadline".into(),
        })
}

async fn list(http: &reqwest::Client, repo: &str, auth: Option<&Basic>) -> Listing {
    let Ok(url) = Url::parse(&listing_url(repo)) else {
        return Listing::Failed {
            why: "the repository URL is not a URL".into(),
        };
    };
    let response = match get_following(http, url, |request, home| match auth {
        Some(auth) if home => request.basic_auth(&auth.user, Some(&auth.password)),
        _ => request,
    })
    .await
    {
        Ok(r) => r,
        Err(why) => return Listing::Failed { why },
    };
    let status = response.status().as_u16();
    if matches!(status, 401 | 403 | 404) {
        return Listing::Refused { status };
    }
    if status != 200 {
        return Listing::Failed {
            why: format!("answered {status}"),
        };
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = match crate::http::read_capped(response, crate::http::MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return Listing::Failed { why: e.to_string() },
    };
    if !content_type.starts_with(ADVERTISEMENT) {
        let shown = if content_type.is_empty() {
            "no content type".to_string()
        } else {
            format!("`{}`", clip(&content_type))
        };
        return Listing::NotGit {
            why: format!("answered 200 with {shown}, not `{ADVERTISEMENT}`"),
        };
    }
    match parse_advertisement(&body) {
        Ok(refs) => Listing::Refs(refs),
        Err(e) => Listing::NotGit {
            why: format!("answered a body that is not a ref advertisement: {e}"),
        },
    }
}

/// `GET url`, following up to [`MAX_REDIRECTS`] redirects (a renamed repository answers
/// 301 to its new URL); `prepare` adds what a request carries, told whether it goes to
/// the first URL's host (credentials go there only, as git sends them). The first
/// answer that is not a redirect, or why there is none.
pub(crate) async fn get_following(
    http: &reqwest::Client,
    mut url: Url,
    prepare: impl Fn(reqwest::RequestBuilder, bool) -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, String> {
    let home = url.host_str().map(str::to_string);
    for _ in 0..=MAX_REDIRECTS {
        let same_host = url.host_str().map(str::to_string) == home;
        let response = prepare(http.get(url.clone()), same_host)
            .send()
            .await
            .map_err(|e| crate::http::error_chain(&e))?;
        if !response.status().is_redirection() {
            return Ok(response);
        }
        match crate::http::redirect_location(&url, response.headers()) {
            Some(next) => url = next,
            None => {
                return Err(format!(
                    "answered {} without a usable Location",
                    response.status().as_u16()
                ));
            }
        }
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

/// A submodule declared in `.gitmodules` (gitmodules(5)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submodule {
    /// The name in `[submodule "<name>"]`, the key of its settings.
    pub name: String,
    pub path: String,
    pub url: String,
}

/// Submodules kept from one `.gitmodules`, at most.
pub const MAX_SUBMODULES: usize = 50;

/// The submodules of a `.gitmodules` file (git-config syntax: `[submodule "name"]`
/// sections with `path` and `url` keys); entries without both are left out, as are
/// lines that do not parse. At most [`MAX_SUBMODULES`].
pub fn parse_gitmodules(text: &str) -> Vec<Submodule> {
    let mut out: Vec<Submodule> = Vec::new();
    type Entry = (String, Option<String>, Option<String>);
    let mut current: Option<Entry> = None;
    let flush = |entry: Option<Entry>, out: &mut Vec<Submodule>| {
        if let Some((name, Some(path), Some(url))) = entry
            && out.len() < MAX_SUBMODULES
        {
            out.push(Submodule { name, path, url });
        }
    };
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            flush(current.take(), &mut out);
            let section = line.trim_start_matches('[').trim_end_matches(']').trim();
            if let Some(rest) = section
                .get(..9)
                .filter(|h| h.eq_ignore_ascii_case("submodule"))
                .and_then(|_| section.get(9..))
            {
                let name: String = rest
                    .trim()
                    .trim_matches('"')
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(256)
                    .collect();
                current = Some((name, None, None));
            }
            continue;
        }
        let Some(entry) = current.as_mut() else {
            continue;
        };
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim().trim_matches('"').trim();
        if value.is_empty() || value.len() > 1024 || value.chars().any(char::is_control) {
            continue;
        }
        match key.trim().to_ascii_lowercase().as_str() {
            "path" => entry.1 = Some(value.to_string()),
            "url" => entry.2 = Some(value.to_string()),
            _ => {}
        }
    }
    flush(current, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(s: &str) -> String {
        format!("{:04x}{s}", s.len() + 4)
    }

    fn advert(lines: &[&str]) -> Vec<u8> {
        let mut out = pkt("# service=git-upload-pack\n") + "0000";
        for l in lines {
            out += &pkt(l);
        }
        out += "0000";
        out.into_bytes()
    }

    const ID: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn an_advertisement_lists_refs_and_the_head_branch() {
        let first = format!("{ID} HEAD\0multi_ack symref=HEAD:refs/heads/main agent=git/2\n");
        let main = format!("{ID} refs/heads/main\n");
        let tag = format!("{ID} refs/tags/v1\n");
        let peeled = format!("{ID} refs/tags/v1^{{}}\n");
        let refs = parse_advertisement(&advert(&[&first, &main, &tag, &peeled])).unwrap();
        assert_eq!(refs.names, ["HEAD", "refs/heads/main", "refs/tags/v1"]);
        assert_eq!(refs.head.as_deref(), Some("refs/heads/main"));
        assert_eq!(refs.has("main"), Some(true));
        assert_eq!(refs.has("v1"), Some(true));
        assert_eq!(refs.has("refs/heads/main"), Some(true));
        assert_eq!(refs.has("master"), Some(false));
        assert_eq!(refs.has("0123abc"), None);
    }

    #[test]
    fn bad_bodies_are_errors_not_panics() {
        for body in [
            &b""[..],
            b"<html>",
            b"zzzz",
            b"0003",
            b"00ff# service=git-upload-pack\n",
            b"001e# service=git-upload-pack\n",
            b"001e# service=git-upload-pack\n0000000bnoid\n0000",
            b"001e# service=git-upload-pack\n0000",
        ] {
            assert!(parse_advertisement(body).is_err(), "{body:?}");
        }
    }

    #[test]
    fn url_credentials_are_basic_credentials_with_the_token_as_password() {
        let b = Basic::from_url("https://ghp_abc%2Fd@github.com/o/r.git#main").unwrap();
        assert_eq!(
            (b.user.as_str(), b.password.as_str()),
            ("x-access-token", "ghp_abc/d")
        );
        let b = Basic::from_url("https://me:tok@h.example/r.git").unwrap();
        assert_eq!((b.user.as_str(), b.password.as_str()), ("me", "tok"));
        assert_eq!(Basic::from_url("https://h.example/r.git"), None);
        // Azure DevOps' clone URL names the organization, not a token.
        assert_eq!(
            Basic::from_url("https://Org@dev.azure.com/org/p/_git/r#main"),
            None
        );
        let azdo = Basic::from_url("https://pat0123@dev.azure.com/org/p/_git/r").unwrap();
        assert_eq!(azdo.password, "pat0123");
        // Bitbucket's clone URL names the user; its tokens always come with a user.
        assert_eq!(
            Basic::from_url("https://alice@bitbucket.org/ws/app.git#main"),
            None
        );
        let bitbucket = Basic::from_url("https://x-token-auth:tok1@bitbucket.org/ws/app.git")
            .expect("a token with its user");
        assert_eq!(bitbucket.password, "tok1");
        assert_eq!(Basic::from_url("not a url"), None);
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert!(!format!("{b:?}").contains("tok"));
    }

    #[test]
    fn gitmodules_are_read_defensively() {
        let text = "# c\n[submodule \"lib\"]\n\tpath = vendor/lib\n\turl = git@github.com:o/lib.git\n[core]\n\tpath = x\n[submodule \"half\"]\n\tpath = only\n[submodule \"q\"]\n url = \"https://h/q.git\"\n path=q\ngarbage\n";
        assert_eq!(
            parse_gitmodules(text),
            [
                Submodule {
                    name: "lib".into(),
                    path: "vendor/lib".into(),
                    url: "git@github.com:o/lib.git".into()
                },
                Submodule {
                    name: "q".into(),
                    path: "q".into(),
                    url: "https://h/q.git".into()
                },
            ]
        );
        assert!(parse_gitmodules("\u{0}\u{ff}[[[=").is_empty());
    }

    #[test]
    fn urls_are_split_and_wrong_forms_get_the_git_form() {
        let Form::Git(g) = classify("https://tok@github.com/o/r.git#dev:app", true) else {
            panic!()
        };
        assert_eq!(g.repo, "https://github.com/o/r.git");
        assert_eq!(g.reference.as_deref(), Some("dev"));
        assert_eq!(g.subdir.as_deref(), Some("app"));
        assert!(g.credentials);
        let wrong = |u: &str| match classify(u, true) {
            Form::Wrong { suggested } => suggested,
            other => panic!("{u}: {other:?}"),
        };
        assert_eq!(
            wrong("https://github.com/o/r"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            wrong("https://github.com/o/r/tree/dev/src/app"),
            "https://github.com/o/r.git#dev:src/app"
        );
        assert_eq!(
            wrong("https://gitlab.com/g/s/r/-/tree/main"),
            "https://gitlab.com/g/s/r.git#main"
        );
        assert_eq!(
            wrong("https://example.com/r#main"),
            "https://example.com/r.git#main"
        );
        assert_eq!(
            classify("https://example.com/ctx.tar.gz", true),
            Form::NotGit
        );
        assert_eq!(
            classify("https://example.com/Dockerfile", false),
            Form::NotGit
        );
        assert_eq!(classify("./app", false), Form::NotGit);
        assert!(matches!(
            classify("https://dev.azure.com/o/p/_git/r#main", true),
            Form::Git(_)
        ));
    }
}
