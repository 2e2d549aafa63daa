//! Docker Hub's pull allowance as its registry reports it on a manifest `HEAD` (which does
//! not count against the allowance): `ratelimit-limit: 100;w=21600`,
//! `ratelimit-remaining: 76;w=21600`, `docker-ratelimit-source: <ip or account>` (P48).
//! The headers are outside data: anything unexpected reads as "not reported".

use super::wire::Challenge;
use super::{Auth, Client, TokenError};
use reqwest::header::HeaderMap;

/// A count and the window it applies to, in seconds, when the header gave one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub count: u64,
    pub window_secs: Option<u64>,
}

/// What the registry reported about the pull allowance of the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowance {
    pub limit: Option<Quota>,
    pub remaining: Option<Quota>,
    /// Who the allowance is counted for (the egress IP when anonymous); may be absent.
    pub source: Option<String>,
}

/// Longest `docker-ratelimit-source` kept: an IP or an account id is far shorter.
const SOURCE_MAX: usize = 64;

/// The allowance reported in `headers`, or None when neither count was reported.
pub fn allowance(headers: &HeaderMap) -> Option<Allowance> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let limit = text("ratelimit-limit").and_then(parse_quota);
    let remaining = text("ratelimit-remaining").and_then(parse_quota);
    if limit.is_none() && remaining.is_none() {
        return None;
    }
    let source = text("docker-ratelimit-source")
        .map(str::trim)
        .filter(|s| !s.is_empty() && s.len() <= SOURCE_MAX && s.chars().all(is_plain))
        .map(str::to_string);
    Some(Allowance {
        limit,
        remaining,
        source,
    })
}

/// Docker Hub's allowance for an anonymous caller, read from one manifest `HEAD` (which
/// does not count as a pull): `GET /v2/` for the challenge, an anonymous token for
/// `repository:<repository>:pull` from its realm, then the `HEAD`. `Ok(None)` when
/// Docker Hub answered without the headers; `Err` says which request failed and how.
pub async fn docker_hub_allowance(
    client: &Client,
    repository: &str,
    reference: &str,
) -> Result<Option<Allowance>, String> {
    let host = crate::reference::DEFAULT_DOMAIN;
    let ping = client.ping(host).await.map_err(|e| net(&e))?;
    let auth = match super::challenge_of(&ping) {
        Ok(Challenge::Bearer { realm, service, .. }) => {
            let scopes = [super::repository_scope(repository, false)];
            let token = client
                .token(host, &realm, service.as_deref(), &scopes, None)
                .await
                .map_err(|e| match e {
                    TokenError::Net(e) => net(&e),
                    TokenError::Refused(r) | TokenError::Unexpected(r) => {
                        format!("anonymous token from {realm} → {}", r.describe())
                    }
                    TokenError::BadRealm(why) => why,
                })?;
            Auth::Bearer(token.token)
        }
        _ if ping.status == 200 => Auth::None,
        _ => return Err(format!("GET /v2/ → {}", ping.describe())),
    };
    let reply = client
        .manifest(host, repository, reference, &auth, false)
        .await
        .map_err(|e| net(&e))?;
    let reported = allowance(&reply.headers);
    match reply.status {
        // A throttled HEAD still says what is left (nothing).
        200 | 429 => Ok(reported),
        _ if reported.is_some() => Ok(reported),
        _ => Err(format!(
            "HEAD /v2/{repository}/manifests/{reference} → {}",
            reply.describe()
        )),
    }
}

fn net(e: &super::NetError) -> String {
    format!("{} {}", e.url, super::wire::shorten(&e.detail, 200))
}

fn is_plain(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '-' | '_')
}

/// `100;w=21600` (or just `100`); other parameters are ignored.
pub fn parse_quota(value: &str) -> Option<Quota> {
    let mut parts = value.split(';');
    let count = parts.next()?.trim().parse::<u64>().ok()?;
    let window_secs = parts.find_map(|p| {
        let (key, val) = p.split_once('=')?;
        (key.trim() == "w").then(|| val.trim().parse::<u64>().ok())?
    });
    Some(Quota { count, window_secs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn documented_shape() {
        assert_eq!(
            parse_quota("100;w=21600"),
            Some(Quota {
                count: 100,
                window_secs: Some(21600)
            })
        );
        assert_eq!(
            parse_quota(" 7 "),
            Some(Quota {
                count: 7,
                window_secs: None
            })
        );
    }

    #[test]
    fn junk_is_not_reported() {
        for bad in ["", ";w=1", "-1;w=2", "ten", "99999999999999999999999"] {
            assert_eq!(parse_quota(bad), None, "{bad}");
        }
        assert_eq!(parse_quota("5;w=x").and_then(|q| q.window_secs), None);
    }

    #[test]
    fn headers_read_together() {
        let mut headers = HeaderMap::new();
        assert_eq!(allowance(&headers), None);
        headers.insert("ratelimit-limit", HeaderValue::from_static("100;w=21600"));
        headers.insert(
            "ratelimit-remaining",
            HeaderValue::from_static("76;w=21600"),
        );
        headers.insert(
            "docker-ratelimit-source",
            HeaderValue::from_static("203.0.113.9"),
        );
        let got = allowance(&headers).expect("reported");
        assert_eq!(got.remaining.map(|q| q.count), Some(76));
        assert_eq!(got.limit.and_then(|q| q.window_secs), Some(21600));
        assert_eq!(got.source.as_deref(), Some("203.0.113.9"));
        headers.insert(
            "docker-ratelimit-source",
            HeaderValue::from_static("<script>"),
        );
        assert_eq!(allowance(&headers).and_then(|a| a.source), None);
    }
}
