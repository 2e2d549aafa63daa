//! What registries send back, parsed defensively: `WWW-Authenticate` challenges, the
//! OCI error envelope, `Link` pagination, token responses and the `access` claim.

use serde_json::Value;

/// The four manifest types a build may pull. Without them a distribution registry
/// answers 404 for OCI content and converts Docker images to schema1 (measured against distribution 2.8).
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic {
        realm: Option<String>,
    },
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
        error: Option<String>,
    },
}

/// Why a challenge header could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeProblem {
    Missing,
    Malformed(String),
}

/// Parses `Scheme k="v", k=v` (RFC 7235 auth-params, quoted strings with escapes).
pub fn parse_challenge(header: Option<&str>) -> Result<Challenge, ChallengeProblem> {
    let header = header.map(str::trim).filter(|h| !h.is_empty());
    let Some(header) = header else {
        return Err(ChallengeProblem::Missing);
    };
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_auth_params(rest).ok_or_else(|| {
        ChallengeProblem::Malformed(format!("cannot parse `{}`", shorten(header, 200)))
    })?;
    let get = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
    };
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Ok(Challenge::Basic {
            realm: get("realm"),
        }),
        "bearer" => {
            let realm = get("realm").filter(|r| !r.is_empty()).ok_or_else(|| {
                ChallengeProblem::Malformed(format!(
                    "Bearer challenge without a realm: `{}`",
                    shorten(header, 200)
                ))
            })?;
            Ok(Challenge::Bearer {
                realm,
                service: get("service"),
                scope: get("scope"),
                error: get("error"),
            })
        }
        other => Err(ChallengeProblem::Malformed(format!(
            "unknown authentication scheme `{}`",
            shorten(other, 40)
        ))),
    }
}

fn parse_auth_params(s: &str) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && (chars[*i] == ' ' || chars[*i] == ',' || chars[*i] == '\t') {
            *i += 1;
        }
    };
    loop {
        skip_ws(&mut i);
        if i >= chars.len() {
            return Some(out);
        }
        let start = i;
        while i < chars.len() && chars[i] != '=' && chars[i] != ',' && chars[i] != ' ' {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        if key.is_empty() || i >= chars.len() || chars[i] != '=' {
            return None;
        }
        i += 1;
        let value = if i < chars.len() && chars[i] == '"' {
            i += 1;
            let mut v = String::new();
            loop {
                match chars.get(i) {
                    None => return None,
                    Some('\\') => {
                        v.push(*chars.get(i + 1)?);
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(c) => {
                        v.push(*c);
                        i += 1;
                    }
                }
            }
            v
        } else {
            let start = i;
            while i < chars.len() && chars[i] != ',' && chars[i] != ' ' {
                i += 1;
            }
            chars[start..i].iter().collect()
        };
        out.push((key, value));
    }
}

/// One entry of the OCI error envelope `{"errors":[{"code","message","detail"}]}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorEntry {
    pub code: String,
    pub message: String,
    /// `detail` re-serialised compactly, when present and not null.
    pub detail: Option<String>,
}

/// The error envelope's entries; also accepts OAuth-style `{"error","error_description"}`
/// and `{"details": "..."}` bodies. Empty when the body is something else.
pub fn parse_errors(body: &[u8]) -> Vec<ErrorEntry> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
    if let Some(list) = value.get("errors").and_then(Value::as_array) {
        return list
            .iter()
            .filter(|e| e.is_object())
            .map(|e| ErrorEntry {
                code: text(e.get("code")),
                message: text(e.get("message")),
                detail: e
                    .get("detail")
                    .filter(|d| !d.is_null())
                    .map(|d| shorten(&d.to_string(), 300)),
            })
            .take(20)
            .collect();
    }
    if let Some(code) = value.get("error").and_then(Value::as_str) {
        return vec![ErrorEntry {
            code: code.to_string(),
            message: text(value.get("error_description")),
            detail: None,
        }];
    }
    if let Some(details) = value.get("details").and_then(Value::as_str) {
        return vec![ErrorEntry {
            code: String::new(),
            message: details.to_string(),
            detail: None,
        }];
    }
    Vec::new()
}

/// "DENIED: client with IP … is not allowed access" for messages.
pub fn describe_errors(entries: &[ErrorEntry]) -> String {
    entries
        .iter()
        .map(|e| match (e.code.is_empty(), e.message.is_empty()) {
            (false, false) => format!("{}: {}", e.code, shorten(&e.message, 300)),
            (false, true) => e.code.clone(),
            (true, _) => shorten(&e.message, 300),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The `rel="next"` target of a `Link` header, resolved against `base`.
pub fn next_link(header: Option<&str>, base: &reqwest::Url) -> Option<reqwest::Url> {
    for part in header?.split(',') {
        let part = part.trim();
        let (target, params) = part.split_once(';').unwrap_or((part, ""));
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = params.split(';').any(|p| {
            matches!(
                p.trim().replace(' ', "").as_str(),
                "rel=\"next\"" | "rel=next"
            )
        });
        if is_next {
            return base.join(target).ok();
        }
    }
    None
}

/// A token endpoint's answer: `access_token` preferred over `token` (distribution
/// client), `expires_in` when given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenResponse {
    pub token: String,
    pub expires_in: Option<u64>,
}

pub fn parse_token_response(body: &[u8]) -> Option<TokenResponse> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let pick = |k: &str| {
        value
            .get(k)
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
    };
    let token = pick("access_token").or_else(|| pick("token"))?;
    Some(TokenResponse {
        token,
        expires_in: value.get("expires_in").and_then(Value::as_u64),
    })
}

/// What a registry token's `access` claim grants on one repository, or `None` when
/// the token is not a JWT with an `access` claim (then only the registry's answers tell).
pub fn granted_actions(token: &str, repository: &str) -> Option<Vec<String>> {
    let claims = crate::jwt::claims(token)?;
    let access = claims.get("access")?.as_array()?;
    let mut actions: Vec<String> = Vec::new();
    for entry in access {
        let kind = entry.get("type").and_then(Value::as_str);
        let name = entry.get("name").and_then(Value::as_str);
        if kind == Some("repository") && (name == Some(repository) || name == Some("*")) {
            for a in entry
                .get("actions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !actions.iter().any(|x| x == a) {
                    actions.push(a.to_string());
                }
            }
        }
    }
    Some(actions)
}

/// True when `granted` covers `action` (`*` covers everything).
pub fn allows(granted: &[String], action: &str) -> bool {
    granted.iter().any(|g| g == action || g == "*")
}

/// Cuts `s` to at most `max` characters, marking the cut.
pub fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}

/// The platforms an index lists, `linux/amd64`, `linux/arm64/v8`.
pub fn index_platforms(body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    value
        .get("manifests")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let p = m.get("platform")?;
            let os = p.get("os")?.as_str()?;
            let arch = p.get("architecture")?.as_str()?;
            Some(match p.get("variant").and_then(Value::as_str) {
                Some(v) => format!("{os}/{arch}/{v}"),
                None => format!("{os}/{arch}"),
            })
        })
        .take(64)
        .collect()
}

/// The digest of one image an index lists, to probe a blob of: `linux/amd64` when
/// listed, else the first entry that is not an attestation (`unknown/unknown`).
pub fn index_child_digest(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let entries = value.get("manifests")?.as_array()?;
    fn platform(m: &Value) -> Option<(&str, &str)> {
        let p = m.get("platform")?;
        Some((p.get("os")?.as_str()?, p.get("architecture")?.as_str()?))
    }
    let images: Vec<&Value> = entries
        .iter()
        .take(64)
        .filter(|m| platform(m).is_some_and(|p| p != ("unknown", "unknown")))
        .collect();
    images
        .iter()
        .find(|m| platform(m) == Some(("linux", "amd64")))
        .or(images.first())
        .and_then(|m| m.get("digest")?.as_str())
        .map(str::to_string)
}

/// A `sha256:` digest of 64 hex digits: the only digest a URL is built from.
pub fn well_formed_digest(digest: &str) -> bool {
    digest
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The config descriptor's digest of an image manifest.
pub fn manifest_config_digest(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let digest = value.get("config")?.get("digest")?.as_str()?;
    Some(digest.to_string())
}

/// The platform an image config names: `os/architecture[/variant]`.
pub fn config_platform(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let os = value.get("os")?.as_str()?;
    let arch = value.get("architecture")?.as_str()?;
    Some(match value.get("variant").and_then(Value::as_str) {
        Some(v) if !v.is_empty() => format!("{os}/{arch}/{v}"),
        _ => format!("{os}/{arch}"),
    })
}

/// Layers of an image manifest: (media type, title annotation).
pub fn manifest_layers(body: &[u8]) -> Option<Vec<(String, Option<String>)>> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let layers = value.get("layers")?.as_array()?;
    Some(
        layers
            .iter()
            .map(|l| {
                let media = l
                    .get("mediaType")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let title = l
                    .get("annotations")
                    .and_then(|a| a.get("org.opencontainers.image.title"))
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                    .map(str::to_string);
                (media, title)
            })
            .collect(),
    )
}

/// The `mediaType` a manifest body declares, for registries that omit Content-Type.
pub fn declared_media_type(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    value.get("mediaType")?.as_str().map(str::to_string)
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let hex: String = d.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// The strings of a JSON body's `key` array (`tags`, `repositories`); entries that are
/// not strings, and bodies that are not JSON objects, give nothing.
pub fn string_list(body: &[u8], key: &str) -> Vec<String> {
    let page: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    page.get(key)
        .and_then(|t| t.as_array())
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_parse_with_quotes_escapes_and_errors() {
        let c = parse_challenge(Some(
            r#"Bearer realm="https://r.io/oauth2/token",service="r.io",scope="repository:a/b:pull,push",error="insufficient_scope""#,
        ))
        .unwrap();
        assert_eq!(
            c,
            Challenge::Bearer {
                realm: "https://r.io/oauth2/token".into(),
                service: Some("r.io".into()),
                scope: Some("repository:a/b:pull,push".into()),
                error: Some("insufficient_scope".into()),
            }
        );
        assert_eq!(
            parse_challenge(Some(r#"Basic realm="x \"y\"""#)).unwrap(),
            Challenge::Basic {
                realm: Some("x \"y\"".into())
            }
        );
        assert_eq!(parse_challenge(None), Err(ChallengeProblem::Missing));
        assert!(matches!(
            parse_challenge(Some("Bearer garbage")),
            Err(ChallengeProblem::Malformed(_))
        ));
        assert!(matches!(
            parse_challenge(Some(r#"Bearer service="x""#)),
            Err(ChallengeProblem::Malformed(_))
        ));
        assert!(matches!(
            parse_challenge(Some(r#"Bearer realm="unterminated"#)),
            Err(ChallengeProblem::Malformed(_))
        ));
        assert!(matches!(
            parse_challenge(Some("Negotiate abc=1")),
            Err(ChallengeProblem::Malformed(_))
        ));
    }

    #[test]
    fn error_envelopes_of_all_shapes() {
        let e = parse_errors(br#"{"errors":[{"code":"DENIED","message":"client with IP '1.2.3.4' is not allowed access.","detail":null}]}"#);
        assert_eq!(
            describe_errors(&e),
            "DENIED: client with IP '1.2.3.4' is not allowed access."
        );
        let e = parse_errors(br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"nope"}}]}"#);
        assert_eq!(e[0].detail.as_deref(), Some(r#"{"Tag":"nope"}"#));
        let e = parse_errors(br#"{"error":"invalid_grant","error_description":"expired"}"#);
        assert_eq!(describe_errors(&e), "invalid_grant: expired");
        assert!(parse_errors(b"<html>").is_empty());
        assert!(parse_errors(br#"{"errors":"x"}"#).is_empty());
    }

    #[test]
    fn link_headers_resolve_relative_targets() {
        let base = reqwest::Url::parse("https://r.io/v2/a/tags/list?n=2").unwrap();
        let next = next_link(Some(r#"</v2/a/tags/list?last=b&n=2>; rel="next""#), &base).unwrap();
        assert_eq!(next.as_str(), "https://r.io/v2/a/tags/list?last=b&n=2");
        assert_eq!(next_link(Some(r#"</x>; rel="prev""#), &base), None);
        assert_eq!(next_link(Some("garbage"), &base), None);
        assert_eq!(next_link(None, &base), None);
    }

    #[test]
    fn access_claims_are_read_per_repository() {
        let t = crate::jwt::unsigned_for_tests(&serde_json::json!({"access":[
            {"type":"repository","name":"team/ctx","actions":["pull"]},
            {"type":"repository","name":"team/app","actions":[]},
            {"type":"registry","name":"catalog","actions":["*"]}
        ]}));
        assert_eq!(
            granted_actions(&t, "team/ctx"),
            Some(vec!["pull".to_string()])
        );
        assert_eq!(granted_actions(&t, "team/app"), Some(vec![]));
        assert_eq!(granted_actions(&t, "other"), Some(vec![]));
        assert_eq!(granted_actions("opaque", "team/ctx"), None);
        assert!(allows(&["*".to_string()], "push"));
        assert!(!allows(&["pull".to_string()], "push"));
    }

    #[test]
    fn token_responses_prefer_access_token() {
        let r =
            parse_token_response(br#"{"token":"a","access_token":"b","expires_in":300}"#).unwrap();
        assert_eq!((r.token.as_str(), r.expires_in), ("b", Some(300)));
        assert_eq!(
            parse_token_response(br#"{"token":"a"}"#).unwrap().token,
            "a"
        );
        assert!(parse_token_response(br#"{"token":""}"#).is_none());
        assert!(parse_token_response(b"nope").is_none());
    }

    #[test]
    fn manifests_are_read_defensively() {
        let idx = br#"{"manifests":[{"platform":{"os":"linux","architecture":"amd64"}},{"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},{"nope":1}]}"#;
        assert_eq!(index_platforms(idx), vec!["linux/amd64", "linux/arm64/v8"]);
        let m = br#"{"layers":[{"mediaType":"a","annotations":{"org.opencontainers.image.title":"ctx.tar.gz"}},{"mediaType":"b"}]}"#;
        assert_eq!(
            manifest_layers(m).unwrap(),
            vec![
                ("a".to_string(), Some("ctx.tar.gz".to_string())),
                ("b".to_string(), None)
            ]
        );
        assert_eq!(manifest_layers(b"[]"), None);
        assert_eq!(
            sha256_digest(b"{}"),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }
}
