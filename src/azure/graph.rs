//! Microsoft Graph: the client secrets (`passwordCredentials`) of the app registration the
//! run signs in as. Shapes: "Get application"
//! (https://learn.microsoft.com/graph/api/application-get: `GET /applications(appId='{appId}')`,
//! `$select`; least-privileged application permission `Application.Read.All`), the
//! passwordCredential resource type
//! (https://learn.microsoft.com/graph/api/resources/passwordcredential: `keyId`,
//! `displayName`, `hint` = the first three characters of the secret, `startDateTime`,
//! `endDateTime` in UTC) and Graph's error body
//! (https://learn.microsoft.com/graph/errors: `{"error":{"code","message"}}`).

use super::Cloud;
use serde_json::Value;
use std::time::SystemTime;

/// The least-privileged Graph application permission that reads any application.
pub const READ_PERMISSION: &str = "Application.Read.All";

/// One client secret of an application, as Graph lists it (the value is never listed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    /// The first three characters of the secret: compared, never printed.
    pub hint: Option<String>,
    pub end: Option<SystemTime>,
}

/// The application object, as far as the expiry check reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    /// The object id (`id`), which `az ad app` also accepts.
    pub id: String,
    pub display_name: String,
    pub passwords: Vec<PasswordCredential>,
}

/// Why Graph gave no application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    /// 401/403, with Graph's error code (`Authorization_RequestDenied`).
    Denied {
        status: u16,
        code: String,
    },
    NotFound,
    Net(String),
    /// Another status, or a body that is not the documented shape.
    Unexpected(String),
}

impl GraphError {
    pub fn describe(&self) -> String {
        match self {
            GraphError::Denied { status, code } if code.is_empty() => format!("HTTP {status}"),
            GraphError::Denied { status, code } => format!("HTTP {status} {code}"),
            GraphError::NotFound => "HTTP 404".into(),
            GraphError::Net(d) | GraphError::Unexpected(d) => d.clone(),
        }
    }
}

/// `https://graph.microsoft.com/v1.0/applications(appId='…')?$select=id,displayName,passwordCredentials`
pub fn application_url(cloud: &Cloud, app_id: &str) -> String {
    format!(
        "{}/v1.0/applications(appId='{app_id}')?$select=id,displayName,passwordCredentials",
        cloud.graph
    )
}

/// Reads the application whose client id is `app_id` (a GUID, checked by the caller).
pub async fn application(
    http: &reqwest::Client,
    cloud: &Cloud,
    token: &str,
    app_id: &str,
    requests: &mut u32,
) -> Result<Application, GraphError> {
    *requests += 1;
    let resp = http
        .get(application_url(cloud, app_id))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| GraphError::Net(crate::http::error_chain(&e)))?;
    let status = resp.status().as_u16();
    let body = crate::http::read_capped(resp, crate::http::MAX_BODY)
        .await
        .map_err(|e| GraphError::Net(format!("the answer could not be read: {e}")))?;
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    match status {
        200 => from_json(&value).ok_or_else(|| {
            GraphError::Unexpected("HTTP 200 with a body that is not an application".into())
        }),
        401 | 403 => Err(GraphError::Denied {
            status,
            code: value
                .pointer("/error/code")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(80)
                .collect(),
        }),
        404 => Err(GraphError::NotFound),
        _ => Err(GraphError::Unexpected(format!("HTTP {status}"))),
    }
}

fn from_json(v: &Value) -> Option<Application> {
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let passwords = v
        .get("passwordCredentials")?
        .as_array()?
        .iter()
        .filter_map(|p| {
            Some(PasswordCredential {
                key_id: s(p, "keyId")?,
                display_name: s(p, "displayName").filter(|n| !n.trim().is_empty()),
                hint: s(p, "hint"),
                end: p
                    .get("endDateTime")
                    .and_then(Value::as_str)
                    .and_then(crate::jwt::parse_utc),
            })
        })
        .collect();
    Some(Application {
        id: s(v, "id")?,
        display_name: s(v, "displayName").unwrap_or_default(),
        passwords,
    })
}

/// The credentials whose `hint` is the start of `secret`: the secret in use is one of
/// them (two secrets may share a hint).
pub fn candidates<'a>(app: &'a Application, secret: &str) -> Vec<&'a PasswordCredential> {
    let head: String = secret.chars().take(3).collect();
    if head.chars().count() < 3 {
        return Vec::new();
    }
    app.passwords
        .iter()
        .filter(|p| p.hint.as_deref() == Some(head.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(body: Value) -> Option<Application> {
        from_json(&body)
    }

    #[test]
    fn reads_the_documented_shape_and_matches_on_the_hint() {
        let a = app(serde_json::json!({
            "id": "obj-1",
            "displayName": "ci",
            "passwordCredentials": [
                {"keyId": "k1", "displayName": "rotated", "hint": "abc", "endDateTime": "2027-01-15T08:00:00Z", "startDateTime": "2026-01-15T08:00:00Z", "secretText": null, "customKeyIdentifier": null},
                {"keyId": "k2", "displayName": null, "hint": "xyz", "endDateTime": "2026-12-24T00:00:00.1234567Z"},
                {"keyId": "k3", "hint": "abc", "endDateTime": "not a date"},
                {"displayName": "no key id"}
            ]
        }))
        .unwrap();
        assert_eq!(a.passwords.len(), 3);
        assert_eq!(a.passwords[1].display_name, None);
        assert!(a.passwords[1].end.is_some());
        assert_eq!(a.passwords[2].end, None);
        let keys = |s: &str| {
            candidates(&a, s)
                .iter()
                .map(|p| p.key_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(keys("abc~secret"), ["k1", "k3"]);
        assert_eq!(keys("xyz"), ["k2"]);
        assert!(keys("ab").is_empty());
        assert!(keys("ABC~secret").is_empty());
        assert_eq!(app(serde_json::json!({"id": "x"})), None);
        assert_eq!(app(serde_json::json!([1, 2])), None);
        assert_eq!(app(Value::Null), None);
    }
}
