//! The GitHub REST client of the feedback: octocrab on the run's shared reqwest
//! client (one pool, one TLS stack, `--resolve` and `--ca-file` applied), with every
//! call bounded by the run's deadline.
//!
//! Only octocrab's generic methods (`get`, `post`, `patch`) are used, with our own
//! minimal response models: its typed builders deserialise into full models that
//! older GitHub Enterprise Server versions do not always fill, and its
//! `update_comment` sends POST where the documented call is
//! `PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}`. octocrab still sets
//! the base URI (GHES path prefix included), the `Authorization` header (only for the
//! API's own host), the API version header and maps GitHub's error bodies.

use octocrab::{Octocrab, Page};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::time::Instant;

pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// `owner/repo`, validated so it can be put into a path without escaping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl Repo {
    pub fn parse(full_name: &str) -> Option<Repo> {
        let (owner, name) = full_name.trim().split_once('/')?;
        let ok = |s: &str| {
            !s.is_empty()
                && s != "."
                && s != ".."
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        (ok(owner) && ok(name)).then(|| Repo {
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }

    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }
}

/// Why a call failed, in the terms a finding needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// GitHub answered with an error status.
    Status {
        status: u16,
        message: String,
        documentation_url: Option<String>,
        /// Field errors of a 422 answer, as GitHub words them.
        details: Vec<String>,
        /// The answer says the rate limit is exhausted.
        rate_limited: bool,
    },
    /// The run's deadline passed first.
    Deadline,
    /// No answer: connection, TLS, or a reply that is not what the API documents.
    Transport(String),
}

/// A failed call: what was asked, and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub method: &'static str,
    /// The route as documented (`/repos/o/r/check-runs`), or the URL followed.
    pub route: String,
    pub failure: Failure,
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match &self.failure {
            Failure::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// `POST /repos/o/r/check-runs → HTTP 403: Resource not accessible by integration`.
    pub fn describe(&self) -> String {
        let what = format!("{} {}", self.method, self.route);
        match &self.failure {
            Failure::Status {
                status,
                message,
                details,
                documentation_url,
                ..
            } => {
                let mut s = format!("{what} → HTTP {status}: {}", one_line(message, 500));
                if !details.is_empty() {
                    s.push_str(&format!(" ({})", one_line(&details.join("; "), 500)));
                }
                if let Some(url) = documentation_url {
                    s.push_str(&format!(" [{}]", one_line(url, 200)));
                }
                s
            }
            Failure::Deadline => format!("{what}: no answer before the run's deadline"),
            Failure::Transport(e) => format!("{what}: {}", one_line(e, 500)),
        }
    }
}

/// Text from outside on one line, at most `max` characters.
pub fn one_line(s: &str, max: usize) -> String {
    let flat: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let flat = flat.trim();
    if flat.chars().count() <= max {
        flat.to_string()
    } else {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    }
}

/// The GitHub API as the feedback uses it.
pub struct Api {
    crab: Octocrab,
    /// As configured, without a trailing slash (`https://ghes.example/api/v3`).
    pub base_url: String,
    pub repo: Repo,
    deadline: Instant,
    requests: AtomicU32,
}

impl Api {
    /// Builds the client on `http`. `base_url` is `GITHUB_API_URL` (or the default).
    pub fn new(
        http: &reqwest::Client,
        base_url: &str,
        token: &str,
        repo: Repo,
        deadline: Instant,
    ) -> Result<Api, String> {
        let trimmed = base_url.trim().trim_end_matches('/');
        let parsed = url::Url::parse(trimmed)
            .map_err(|e| format!("GITHUB_API_URL `{trimmed}` is not a URL: {e}"))?;
        if !matches!(parsed.scheme(), "https" | "http") || parsed.host_str().is_none() {
            return Err(format!(
                "GITHUB_API_URL `{trimmed}` must be an http(s) URL such as https://api.github.com or https://HOST/api/v3"
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(format!(
                "GITHUB_API_URL `{trimmed}` must not have a query or fragment"
            ));
        }
        let crab = Octocrab::builder()
            .base_uri(trimmed)
            .map_err(|e| format!("GITHUB_API_URL `{trimmed}` is not usable: {e}"))?
            .personal_token(token.to_string())
            .add_header(
                reqwest::header::ACCEPT,
                "application/vnd.github+json".to_string(),
            )
            .build_with_reqwest(http.clone())
            .map_err(|e| format!("cannot set up the GitHub client: {e}"))?;
        Ok(Api {
            crab,
            base_url: trimmed.to_string(),
            repo,
            deadline,
            requests: AtomicU32::new(0),
        })
    }

    /// `/repos/{owner}/{repo}` followed by `rest`.
    pub fn repo_route(&self, rest: &str) -> String {
        format!("/repos/{}/{}{rest}", self.repo.owner, self.repo.name)
    }

    /// HTTP requests sent so far.
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::SeqCst)
    }

    async fn bounded<T>(
        &self,
        method: &'static str,
        route: &str,
        call: impl Future<Output = octocrab::Result<T>>,
    ) -> Result<T, ApiError> {
        let error = |failure| ApiError {
            method,
            route: route.to_string(),
            failure,
        };
        if Instant::now() >= self.deadline {
            return Err(error(Failure::Deadline));
        }
        self.requests.fetch_add(1, Ordering::SeqCst);
        match tokio::time::timeout_at(self.deadline, call).await {
            Err(_) => Err(error(Failure::Deadline)),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                let failure = match classify(e) {
                    // reqwest's own timeout is the run's timeout: at the deadline it
                    // may fire a moment before ours.
                    Failure::Transport(_)
                        if Instant::now() + std::time::Duration::from_millis(200)
                            >= self.deadline =>
                    {
                        Failure::Deadline
                    }
                    other => other,
                };
                Err(error(failure))
            }
        }
    }

    /// One page of a list; `params` are its query parameters.
    pub async fn get_page<T: DeserializeOwned, P: Serialize + ?Sized>(
        &self,
        route: &str,
        params: &P,
    ) -> Result<Page<T>, ApiError> {
        self.bounded("GET", route, self.crab.get(route, Some(params)))
            .await
    }

    /// The page a `Link: <…>; rel="next"` points at.
    pub async fn next_page<T: DeserializeOwned>(
        &self,
        next: &impl std::fmt::Display,
    ) -> Result<Page<T>, ApiError> {
        let shown = next.to_string();
        self.bounded("GET", &shown, self.crab.get(&shown, None::<&()>))
            .await
    }

    pub async fn post<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        route: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.bounded("POST", route, self.crab.post(route, Some(body)))
            .await
    }

    pub async fn patch<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        route: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.bounded("PATCH", route, self.crab.patch(route, Some(body)))
            .await
    }
}

fn classify(e: octocrab::Error) -> Failure {
    match e {
        octocrab::Error::GitHub { source, .. } => {
            let remaining_zero = source
                .headers
                .as_ref()
                .and_then(|h| h.get("x-ratelimit-remaining"))
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim() == "0");
            let rate_limited = remaining_zero
                || (matches!(source.status_code.as_u16(), 403 | 429)
                    && source.message.to_ascii_lowercase().contains("rate limit"));
            let details = source
                .errors
                .iter()
                .flatten()
                .map(|e| match e {
                    serde_json::Value::String(s) => s.clone(),
                    other => other
                        .get("message")
                        .and_then(|m| m.as_str())
                        .map(str::to_string)
                        .unwrap_or_else(|| other.to_string()),
                })
                .collect();
            Failure::Status {
                status: source.status_code.as_u16(),
                message: source.message.clone(),
                documentation_url: source.documentation_url.clone(),
                details,
                rate_limited,
            }
        }
        octocrab::Error::Serde { source, .. } => {
            Failure::Transport(format!("the answer is not the documented JSON: {source}"))
        }
        octocrab::Error::Json { source, .. } => {
            Failure::Transport(format!("the answer is not the documented JSON: {source}"))
        }
        octocrab::Error::Reqwest { source, .. } => {
            Failure::Transport(crate::http::error_chain(&source))
        }
        // Other variants carry a backtrace in their Display; their source is enough.
        other => Failure::Transport(match std::error::Error::source(&other) {
            Some(source) => crate::http::error_chain(source),
            None => other.to_string().lines().next().unwrap_or("").to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_names_are_path_safe() {
        assert_eq!(
            Repo::parse("team/app.js").map(|r| r.full_name()),
            Some("team/app.js".into())
        );
        for bad in ["team", "team/", "/app", "a/b/c", "a/..", "a b/c", "a/b?x"] {
            assert_eq!(Repo::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn bad_api_urls_are_refused_with_the_variable_named() {
        let http = reqwest::Client::new();
        let repo = Repo::parse("o/r").unwrap();
        for bad in ["ftp://x", "not a url", "https://x/api?x=1"] {
            let err = Api::new(&http, bad, "t0ken", repo.clone(), Instant::now())
                .err()
                .unwrap();
            assert!(err.contains("GITHUB_API_URL"), "{err}");
        }
    }

    #[test]
    fn one_line_flattens_and_cuts() {
        assert_eq!(one_line(" a\nb\tc ", 10), "a b c");
        assert_eq!(one_line("abcdef", 3), "abc…");
    }
}
