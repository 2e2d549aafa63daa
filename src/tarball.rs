//! Remote URL contexts that are not git repositories: a tarball (or, for docker, a
//! plain Dockerfile) the builder downloads itself, without the runner's credentials.
//! One bounded probe: `HEAD <url>`, and when the server refuses HEAD (405, 501) a
//! `GET` with `Range: bytes=0-0` (RFC 9110 §14.2), whose body is not read. No
//! credentials are sent (the shared client sets none); a query string (a SAS token) is
//! sent as the build sends it and never shown.

use std::time::Instant;
use url::Url;

/// What the URL answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// 2xx (206 for the ranged GET).
    Served {
        /// The request that was answered: `HEAD` or `GET`.
        method: &'static str,
        status: u16,
        /// `Content-Type`, lower-cased, without parameters; empty when absent.
        content_type: String,
        /// A HEAD the server refused first (405, 501), before the GET answered.
        head_refused: Option<u16>,
    },
    /// 4xx or 5xx (after redirects).
    Status {
        method: &'static str,
        status: u16,
        head_refused: Option<u16>,
    },
    /// No usable answer: connection, TLS, deadline, a redirect without a usable
    /// `Location`, too many redirects.
    Failed { why: String },
}

/// Redirects followed (the same bound as the git ref listing).
const MAX_REDIRECTS: usize = 3;

/// Probes `url` before `deadline`.
pub async fn probe(http: &reqwest::Client, url: &str, deadline: Instant) -> Probe {
    crate::http::before(deadline, run(http, url))
        .await
        .unwrap_or_else(|| Probe::Failed {
            why: "no answer before the run's deadline".into(),
        })
}

async fn run(http: &reqwest::Client, url: &str) -> Probe {
    match fetch(http, url, false).await {
        Ok((status, _)) if matches!(status, 405 | 501) => match fetch(http, url, true).await {
            Ok((s, ct)) => answered("GET", s, ct, Some(status)),
            Err(why) => Probe::Failed { why },
        },
        Ok((status, ct)) => answered("HEAD", status, ct, None),
        Err(why) => Probe::Failed { why },
    }
}

fn answered(
    method: &'static str,
    status: u16,
    content_type: String,
    head_refused: Option<u16>,
) -> Probe {
    if (200..300).contains(&status) {
        Probe::Served {
            method,
            status,
            content_type,
            head_refused,
        }
    } else {
        Probe::Status {
            method,
            status,
            head_refused,
        }
    }
}

/// One request, redirects followed: the final status and content type.
async fn fetch(http: &reqwest::Client, url: &str, ranged: bool) -> Result<(u16, String), String> {
    let mut current = Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
    for _ in 0..=MAX_REDIRECTS {
        let request = if ranged {
            http.get(current.clone())
                .header(reqwest::header::RANGE, "bytes=0-0")
        } else {
            http.head(current.clone())
        };
        let response = request
            .send()
            .await
            .map_err(|e| crate::http::error_chain(&e))?;
        let status = response.status();
        if status.is_redirection() {
            let next = crate::http::redirect_location(&current, response.headers());
            match next {
                Some(next) => {
                    current = next;
                    continue;
                }
                None => {
                    return Err(format!(
                        "answered {} without a usable Location",
                        status.as_u16()
                    ));
                }
            }
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect();
        return Ok((status.as_u16(), content_type));
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

/// A content type no build unpacks as a context: a web page (a sign-in page, an
/// error page served with 200).
pub fn is_web_page(content_type: &str) -> bool {
    matches!(content_type, "text/html" | "application/xhtml+xml")
}

/// A URL as shown: no credentials, the query replaced by `?…`, no fragment.
pub fn shown(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            let query = u.query().is_some_and(|q| !q.is_empty());
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            let mut out = u.to_string();
            if query {
                out.push_str("?…");
            }
            out
        }
        Err(_) => "(a URL that does not parse)".into(),
    }
}

/// The URL carries a user name or password (`https://user:pass@host/…`).
pub fn has_credentials(url: &str) -> bool {
    Url::parse(url).is_ok_and(|u| !u.username().is_empty() || u.password().is_some())
}

/// What of the URL's query is secret, for the secrets registry: the query as a whole,
/// and the values of keys that name a signature, token, key or credential (a SAS
/// `sig`, `X-Amz-Signature`, `token`) or that are long (20 characters or more). Short
/// plain values (`sv=2024-11-04`, `sr=b`) are left out: masking them would blank the
/// same text everywhere else in the output.
pub fn secret_query_parts(url: &str) -> Vec<String> {
    const KEYS: &[&str] = &[
        "sig",
        "token",
        "key",
        "credential",
        "secret",
        "password",
        "auth",
        "code",
    ];
    let Ok(u) = Url::parse(url) else {
        return Vec::new();
    };
    let mut out: Vec<String> = u
        .query_pairs()
        .filter(|(k, v)| {
            let k = k.to_ascii_lowercase();
            KEYS.iter().any(|s| k.contains(s)) || v.chars().count() >= 20
        })
        .map(|(_, v)| v.into_owned())
        .collect();
    if let Some(q) = u.query().filter(|q| !q.is_empty()) {
        out.push(q.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_hide_credentials_and_queries() {
        assert_eq!(
            shown("https://u:p@h.example/a/ctx.tar.gz?sv=1&sig=SECRET#x"),
            "https://h.example/a/ctx.tar.gz?…"
        );
        assert_eq!(
            shown("https://h.example/ctx.tgz"),
            "https://h.example/ctx.tgz"
        );
        assert_eq!(shown("http://[::1"), "(a URL that does not parse)");
        assert!(has_credentials("https://tok@h.example/c.tar"));
        assert!(!has_credentials("https://h.example/c.tar?sig=x"));
        let parts = secret_query_parts("https://h/c?sv=2024&sig=abc%2Fd");
        assert_eq!(parts, ["abc/d", "sv=2024&sig=abc%2Fd"]);
        assert!(is_web_page("text/html"));
        assert!(!is_web_page("application/gzip"));
    }
}
