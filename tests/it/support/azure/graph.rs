//! The Microsoft Graph fake: one application read, as the app registrations the Entra
//! fake holds.
//!
//! `GET /v1.0/applications(appId='{appId}')` and `GET /v1.0/applications/{objectId}`
//! ("Get application", https://learn.microsoft.com/graph/api/application-get), with
//! `$select` honoured. The body is the application resource: `id` (the app object's id),
//! `appId`, `displayName`, `passwordCredentials` (passwordCredential resource type,
//! https://learn.microsoft.com/graph/api/resources/passwordcredential: `customKeyIdentifier`,
//! `displayName`, `endDateTime`, `hint` = the first three characters of the secret,
//! `keyId`, `secretText` = null, `startDateTime`).
//!
//! Errors (https://learn.microsoft.com/graph/errors): `{"error":{"code","message",
//! "innerError":{"date","request-id","client-request-id"}}}`.
//!
//! | check | status, code |
//! |---|---|
//! | a bearer token the Entra fake issued, unexpired, for this cloud's Graph | 401 `InvalidAuthenticationToken` |
//! | the token's `roles` hold `Application.Read.All` (or a higher permission the docs list) | 403 `Authorization_RequestDenied` |
//! | the application exists in the token's tenant | 404 `Request_ResourceNotFound` |
//!
//! Choice: ownership-based reads (`Application.ReadWrite.OwnedBy`) are not modelled; an
//! identity without one of the roles above is refused, as most CI identities are.

use super::super::http::{Reply, Request, Response};
use super::super::{now_unix, rfc3339};
use super::{Cloud, Entra, IssuedToken, new_guid};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Application permissions that read any application (least privileged first).
pub const READ_ROLES: [&str; 4] = [
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// One request the Graph fake served (no tokens in it).
#[derive(Clone, Debug)]
pub struct GraphRequest {
    pub method: String,
    pub host: String,
    /// The path, percent-decoded (`/v1.0/applications(appId='…')`).
    pub path: String,
    pub select: Option<String>,
    pub status: u16,
    pub error_code: Option<String>,
}

struct State {
    log: Vec<GraphRequest>,
    /// Answers every request with this instead (malformed, huge, hanging).
    canned: Option<Reply>,
}

/// The Graph fake. Cheap to clone; served by [`super::AzureFakes`].
#[derive(Clone)]
pub struct Graph {
    entra: Entra,
    state: Arc<Mutex<State>>,
}

fn graph_error(status: u16, code: &str, message: &str) -> Response {
    let id = new_guid();
    Response::json(
        status,
        &json!({"error": {
            "code": code,
            "message": message,
            "innerError": {"date": rfc3339(now_unix()).replace('Z', ""), "request-id": id, "client-request-id": id}
        }}),
    )
    .header("request-id", &id)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(h, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Graph {
    pub fn new(entra: &Entra) -> Graph {
        Graph {
            entra: entra.clone(),
            state: Arc::new(Mutex::new(State {
                log: Vec::new(),
                canned: None,
            })),
        }
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<GraphRequest> {
        self.state.lock().unwrap().log.clone()
    }

    /// Answers every later request with `reply` (after logging it).
    pub fn answer_with(&self, reply: Reply) {
        self.state.lock().unwrap().canned = Some(reply);
    }

    /// Serves one request arriving on `cloud`'s Graph host.
    pub fn handle(&self, req: &Request, cloud: Cloud) -> Reply {
        let path = percent_decode(&req.path);
        let canned = self.state.lock().unwrap().canned.clone();
        let reply = canned.unwrap_or_else(|| Reply::Respond(self.route(req, &path, cloud)));
        let (status, error_code) = match &reply {
            Reply::Respond(r) => (
                r.status,
                serde_json::from_slice::<Value>(&r.body)
                    .ok()
                    .and_then(|v| v["error"]["code"].as_str().map(str::to_string)),
            ),
            _ => (0, None),
        };
        self.state.lock().unwrap().log.push(GraphRequest {
            method: req.method.clone(),
            host: req.host(),
            path,
            select: req.query_first("$select"),
            status,
            error_code,
        });
        reply
    }

    fn authenticate(&self, req: &Request, cloud: Cloud) -> Result<IssuedToken, Response> {
        let invalid = |why: &str| graph_error(401, "InvalidAuthenticationToken", why);
        let token = req
            .header("authorization")
            .and_then(|h| h.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, t)| t.trim().to_string())
            .ok_or_else(|| invalid("Access token is empty."))?;
        let issued = self
            .entra
            .issued_token(&token)
            .ok_or_else(|| invalid("Access token validation failure. Invalid audience."))?;
        if issued.expires_at <= now_unix() {
            return Err(invalid("Lifetime validation failed, the token is expired."));
        }
        if issued.audience.trim_end_matches('/') != cloud.graph_audience() {
            return Err(invalid(
                "Access token validation failure. Invalid audience.",
            ));
        }
        Ok(issued)
    }

    fn route(&self, req: &Request, path: &str, cloud: Cloud) -> Response {
        let token = match self.authenticate(req, cloud) {
            Ok(t) => t,
            Err(r) => return r,
        };
        let by_app_id = path
            .strip_prefix("/v1.0/applications(appId='")
            .and_then(|r| r.strip_suffix("')"));
        let by_object_id = path
            .strip_prefix("/v1.0/applications/")
            .filter(|r| !r.contains('/'));
        if req.method != "GET" || (by_app_id.is_none() && by_object_id.is_none()) {
            return graph_error(
                400,
                "BadRequest",
                &format!("Resource not found for the segment '{path}'."),
            );
        }
        let roles: Vec<String> = token.claims["roles"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_string))
            .collect();
        if !READ_ROLES.iter().any(|r| roles.iter().any(|x| x == r)) {
            return graph_error(
                403,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
            );
        }
        let app = self.entra.apps().into_iter().find(|a| {
            a.tenant.eq_ignore_ascii_case(&token.tenant_id)
                && (by_app_id.is_some_and(|id| a.client_id.eq_ignore_ascii_case(id))
                    || by_object_id.is_some_and(|id| app_object_id(&a.client_id) == id))
        });
        let Some(app) = app else {
            let id = by_app_id.or(by_object_id).unwrap_or_default();
            return graph_error(
                404,
                "Request_ResourceNotFound",
                &format!(
                    "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
                ),
            );
        };
        let passwords: Vec<Value> = app
            .secrets
            .iter()
            .map(|s| {
                json!({
                    "customKeyIdentifier": null,
                    "displayName": s.display_name,
                    "endDateTime": rfc3339(s.expires_at),
                    "hint": s.value.chars().take(3).collect::<String>(),
                    "keyId": s.key_id,
                    "secretText": null,
                    "startDateTime": rfc3339(s.start_at),
                })
            })
            .collect();
        let full = json!({
            "@odata.context": format!("https://{}/v1.0/$metadata#applications/$entity", cloud.graph_host()),
            "id": app_object_id(&app.client_id),
            "appId": app.client_id,
            "displayName": app.display_name,
            "signInAudience": "AzureADMyOrg",
            "passwordCredentials": passwords,
            "keyCredentials": [],
        });
        let body = match req.query_first("$select") {
            Some(select) => {
                let mut picked = serde_json::Map::new();
                picked.insert("@odata.context".into(), full["@odata.context"].clone());
                for field in select.split(',').map(str::trim) {
                    if let Some(v) = full.get(field) {
                        picked.insert(field.to_string(), v.clone());
                    }
                }
                Value::Object(picked)
            }
            None => full,
        };
        Response::json(200, &body)
    }
}

/// The application object's id (not the service principal's): derived from the client
/// id so that it is stable and differs from both.
pub fn app_object_id(client_id: &str) -> String {
    let mut id: Vec<char> = client_id.to_ascii_lowercase().chars().collect();
    if let Some(first) = id.first_mut() {
        *first = if *first == 'f' { 'e' } else { 'f' };
    }
    id.into_iter().collect()
}
