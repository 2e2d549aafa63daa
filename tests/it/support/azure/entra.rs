//! The Entra ID fake: the v2.0 token endpoint for confidential clients (Microsoft identity platform, OAuth 2.0 client credentials flow).
//!
//! `POST /{tenant}/oauth2/v2.0/token`, form `grant_type=client_credentials&client_id=…&scope=…`
//! plus `client_secret=…` or `client_assertion=…&client_assertion_type=urn:…:jwt-bearer`.
//!
//! Success (200): `{"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":…}`,
//! the token a v1 access token (Microsoft identity platform, access token claims reference): `aud` (the resource), `iss`
//! (`https://sts.windows.net/{tid}/`), `iat`, `nbf`, `exp`, `appid`, `appidacr`, `idp`,
//! `idtyp: "app"`, `oid`, `sub` (= `oid`), `tid`, `uti`, `ver: "1.0"`, plus `xms_mirid`
//! for a managed identity.
//!
//! Errors: `{"error","error_description":"AADSTSn: …\r\nTrace ID: …\r\nCorrelation ID: …\r\nTimestamp: …",
//! "error_codes":[n],"timestamp","trace_id","correlation_id","error_uri"}`. The correlation
//! id echoes a `client-request-id` header when the client sends one.
//!
//! Checks, in this order (Choice: the order; Entra does not document it):
//!
//! | check | status, `error`, code |
//! |---|---|
//! | method is POST | 400 `invalid_request` 900561 |
//! | tenant known (GUID or domain) | 400 `invalid_request` 90002 |
//! | tenant in the cloud of the host asked | 400 `invalid_request` 90038 |
//! | `grant_type` present / `client_credentials` | 400 `invalid_request` 900144 / 400 `unsupported_grant_type` 70003 |
//! | `client_id`, `scope` present | 400 `invalid_request` 900144 |
//! | one scope, ending in `/.default` | 400 `invalid_scope` 70011 / 1002012 |
//! | app (or managed identity) in the tenant | 400 `unauthorized_client` 700016 |
//! | a credential present | 401 `invalid_client` 7000218 |
//! | secret matches one of the app's | 401 `invalid_client` 7000215 (none matches), 7000222 (it expired) |
//! | assertion: `client_assertion_type`, parses as a JWT | 400 `invalid_request` 900144 / 50027 |
//! | assertion: `nbf <= now < exp` | 401 `invalid_client` 700024 |
//! | assertion against the federated credentials, compared exactly | 401 `invalid_client`: 70021 (no credential at all, or issuer and subject match but the audience does not — Choice: 700212 is not confirmed by a public source), 700211 (issuer), 7002138 (subject matches only ignoring case), 700213 (subject) |
//! | the resource is known | 400 `invalid_resource` 500011 |
//!
//! HTTP statuses: 400 for request/tenant/app errors, 401 `invalid_client` for credential
//! errors (observed bodies in Azure/login, azure-workload-identity and microsoft/Agents
//! issues show `invalid_client` for 7000215/700024/7002137).

use super::super::http::{Request, Response};
use super::super::now_unix;
use super::{Cloud, JWT_BEARER, entra_time, entra_timestamp, fake_rs256_jwt, new_guid};
use super::{GITHUB_ISSUER, try_decode_claims};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// The `kid` of the Entra fake's (dummy) signing key.
pub const ENTRA_KID: &str = "acr-preflight-harness-entra-key";

/// Resources known to every tenant; a scope naming another resource fails with 500011
/// unless [`Entra::add_resource`] adds it. The value is the token's `aud`.
fn default_resources() -> Vec<String> {
    let mut out = vec![super::ACR_AUDIENCE.to_string()];
    for cloud in Cloud::ALL {
        out.push(cloud.graph_audience());
        out.push(cloud.arm_audience());
        out.push(cloud.arm_legacy_audience().to_string());
    }
    out
}

/// An app registration's client secret: what Entra compares, and what Microsoft Graph
/// lists of it as a passwordCredential (https://learn.microsoft.com/graph/api/resources/passwordcredential).
#[derive(Clone, Debug)]
pub struct Secret {
    pub value: String,
    /// Unix time after which Entra answers 7000222 (Graph's `endDateTime`).
    pub expires_at: i64,
    /// Graph's `keyId`: the portal's "Secret ID".
    pub key_id: String,
    /// Graph's `displayName` (the portal's "Description"), optional.
    pub display_name: Option<String>,
    /// Graph's `startDateTime`.
    pub start_at: i64,
}

/// A federated identity credential (Microsoft Entra, federated identity credential considerations): issuer, subject and audience are
/// compared exactly and case-sensitively.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedCredential {
    pub name: String,
    pub issuer: String,
    pub subject: String,
    pub audience: String,
}

impl FederatedCredential {
    pub fn new(issuer: &str, subject: &str, audience: &str) -> FederatedCredential {
        FederatedCredential {
            name: format!("fic-{}", subject.replace([':', '/', '@'], "-")),
            issuer: issuer.to_string(),
            subject: subject.to_string(),
            audience: audience.to_string(),
        }
    }

    /// A GitHub Actions credential: issuer `https://token.actions.githubusercontent.com`,
    /// audience `api://AzureADTokenExchange`.
    pub fn github(subject: &str) -> FederatedCredential {
        FederatedCredential::new(GITHUB_ISSUER, subject, Cloud::Public.fic_audience())
    }

    pub fn named(mut self, name: &str) -> FederatedCredential {
        self.name = name.to_string();
        self
    }
}

/// What kind of service principal signs in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An app registration (with its service principal).
    Application,
    /// A user-assigned managed identity, with its ARM resource id (`xms_mirid`). It has
    /// no secrets; federated credentials work as for apps.
    ManagedIdentity { resource_id: String },
}

/// An app registration (or user-assigned managed identity) in one tenant.
#[derive(Clone, Debug)]
pub struct App {
    pub tenant: String,
    pub display_name: String,
    /// `appid` in tokens; what `AZURE_CLIENT_ID` names.
    pub client_id: String,
    /// The service principal's object id: `oid` in tokens, `principalId` of role
    /// assignments.
    pub object_id: String,
    pub kind: PrincipalKind,
    pub secrets: Vec<Secret>,
    pub federated: Vec<FederatedCredential>,
    /// Microsoft Graph application permissions granted with admin consent
    /// (`Application.Read.All`): the `roles` claim of its Graph tokens.
    pub graph_roles: Vec<String>,
}

impl App {
    pub fn new(tenant: &str, client_id: &str, object_id: &str) -> App {
        App {
            tenant: tenant.to_string(),
            display_name: "acr-preflight-test-app".to_string(),
            client_id: client_id.to_string(),
            object_id: object_id.to_string(),
            kind: PrincipalKind::Application,
            secrets: Vec::new(),
            federated: Vec::new(),
            graph_roles: Vec::new(),
        }
    }

    /// A user-assigned managed identity.
    pub fn managed_identity(
        tenant: &str,
        client_id: &str,
        object_id: &str,
        resource_id: &str,
    ) -> App {
        App {
            kind: PrincipalKind::ManagedIdentity {
                resource_id: resource_id.to_string(),
            },
            display_name: resource_id.rsplit('/').next().unwrap_or("uami").to_string(),
            ..App::new(tenant, client_id, object_id)
        }
    }

    pub fn named(mut self, name: &str) -> App {
        self.display_name = name.to_string();
        self
    }

    /// Adds a secret expiring `expires_in_secs` from now (negative: already expired).
    pub fn secret(mut self, value: &str, expires_in_secs: i64) -> App {
        let now = now_unix();
        self.secrets.push(Secret {
            value: value.to_string(),
            expires_at: now + expires_in_secs,
            key_id: new_guid(),
            display_name: None,
            start_at: now - 86_400,
        });
        self
    }

    /// Adds a secret with a `displayName`, as `az ad app credential reset --display-name`.
    pub fn named_secret(mut self, name: &str, value: &str, expires_in_secs: i64) -> App {
        self = self.secret(value, expires_in_secs);
        if let Some(s) = self.secrets.last_mut() {
            s.display_name = Some(name.to_string());
        }
        self
    }

    /// Grants a Microsoft Graph application permission (`Application.Read.All`), which
    /// its Graph tokens then carry in `roles`.
    pub fn graph_role(mut self, role: &str) -> App {
        self.graph_roles.push(role.to_string());
        self
    }

    pub fn federated(mut self, fic: FederatedCredential) -> App {
        self.federated.push(fic);
        self
    }
}

/// An error to answer with, for [`Entra::fail_next`] (e.g. 53003 Conditional Access).
#[derive(Clone, Debug)]
pub struct AadError {
    pub status: u16,
    pub error: String,
    pub code: u32,
    /// The text after `AADSTSn: `.
    pub message: String,
}

impl AadError {
    pub fn new(status: u16, error: &str, code: u32, message: &str) -> AadError {
        AadError {
            status,
            error: error.to_string(),
            code,
            message: message.to_string(),
        }
    }
}

/// How a token was obtained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenGrant {
    ClientSecret,
    ClientAssertion,
    /// [`Entra::mint_access_token`] (stands in for IMDS or `az account get-access-token`).
    Minted,
}

/// An access token the fake issued.
#[derive(Clone, Debug)]
pub struct IssuedToken {
    pub access_token: String,
    pub tenant_id: String,
    pub client_id: String,
    pub object_id: String,
    /// The `aud` claim.
    pub audience: String,
    pub grant: TokenGrant,
    pub expires_at: i64,
    /// `expires_in` of the response (the lifetime it was issued with).
    pub expires_in: i64,
    pub claims: Value,
}

/// One token-endpoint request, without secrets: field names are kept, credential values
/// are not (the assertion is summarised by its `iss`/`sub`/`aud`).
#[derive(Clone, Debug)]
pub struct EntraRequest {
    pub host: String,
    pub method: String,
    pub path: String,
    pub tenant: String,
    /// Names of the form fields sent, in order.
    pub form_fields: Vec<String>,
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub scope: Option<String>,
    /// The resource the scope named (scope minus `/.default`).
    pub resource: Option<String>,
    /// `"client_secret"`, `"client_assertion"` or `None`.
    pub credential: Option<String>,
    pub assertion_iss: Option<String>,
    pub assertion_sub: Option<String>,
    pub assertion_aud: Option<Value>,
    pub client_request_id: Option<String>,
    pub status: u16,
    /// The AADSTS code of an error answer.
    pub aadsts: Option<u32>,
}

#[derive(Clone, Debug)]
struct Tenant {
    id: String,
    cloud: Cloud,
    domains: Vec<String>,
}

type IssueHook = Arc<dyn Fn(&IssuedToken) + Send + Sync>;

struct State {
    tenants: Vec<Tenant>,
    apps: Vec<App>,
    resources: Vec<String>,
    lifetime: i64,
    /// Errors to answer with, consumed front first; `(error, remaining uses)`.
    failures: Vec<(AadError, Option<usize>)>,
    issued: Vec<IssuedToken>,
    assertions_seen: Vec<String>,
    log: Vec<EntraRequest>,
    hooks: Vec<IssueHook>,
}

/// The Entra fake's state. Cheap to clone (a shared handle); served by
/// [`super::AzureFakes`].
#[derive(Clone)]
pub struct Entra {
    state: Arc<Mutex<State>>,
}

impl Default for Entra {
    fn default() -> Entra {
        Entra::new()
    }
}

impl Entra {
    pub fn new() -> Entra {
        Entra {
            state: Arc::new(Mutex::new(State {
                tenants: Vec::new(),
                apps: Vec::new(),
                resources: default_resources(),
                lifetime: 3599,
                failures: Vec::new(),
                issued: Vec::new(),
                assertions_seen: Vec::new(),
                log: Vec::new(),
                hooks: Vec::new(),
            })),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    /// Adds a tenant (a GUID) in `cloud`.
    pub fn add_tenant(&self, tenant_id: &str, cloud: Cloud) {
        self.state().tenants.push(Tenant {
            id: tenant_id.to_ascii_lowercase(),
            cloud,
            domains: Vec::new(),
        });
    }

    /// Lets the tenant also be named by a domain (`contoso.onmicrosoft.com`).
    pub fn add_tenant_domain(&self, tenant_id: &str, domain: &str) {
        let mut state = self.state();
        let tenant = state
            .tenants
            .iter_mut()
            .find(|t| t.id.eq_ignore_ascii_case(tenant_id))
            .unwrap_or_else(|| panic!("add_tenant({tenant_id}) first"));
        tenant.domains.push(domain.to_ascii_lowercase());
    }

    /// Registers an app (or managed identity). Its tenant must exist.
    pub fn add_app(&self, app: App) {
        let mut state = self.state();
        assert!(
            state
                .tenants
                .iter()
                .any(|t| t.id.eq_ignore_ascii_case(&app.tenant)),
            "add_tenant({}) before adding app {}",
            app.tenant,
            app.client_id
        );
        state.apps.push(app);
    }

    /// Changes an app in place (add or remove secrets and federated credentials).
    pub fn update_app(&self, client_id: &str, change: impl FnOnce(&mut App)) {
        let mut state = self.state();
        let app = state
            .apps
            .iter_mut()
            .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
            .unwrap_or_else(|| panic!("no app {client_id}"));
        change(app);
    }

    /// The app with this client id.
    pub fn app(&self, client_id: &str) -> Option<App> {
        self.state()
            .apps
            .iter()
            .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
            .cloned()
    }

    /// Every app (and managed identity) registered.
    pub fn apps(&self) -> Vec<App> {
        self.state().apps.clone()
    }

    /// Makes `resource` (the scope without `/.default`) known; the token's `aud` is it.
    pub fn add_resource(&self, resource: &str) {
        self.state().resources.push(resource.to_string());
    }

    /// `expires_in` (and `exp - now`) of issued tokens; default 3599.
    pub fn set_token_lifetime(&self, secs: i64) {
        self.state().lifetime = secs;
    }

    /// Answers the next `times` token requests with `error` (after they are logged);
    /// `None` = every request until [`Entra::stop_failing`]. Queued failures are used
    /// in order. E.g. 70021 twice to mimic a federated credential still replicating.
    pub fn fail_next(&self, times: Option<usize>, error: AadError) {
        self.state().failures.push((error, times));
    }

    pub fn stop_failing(&self) {
        self.state().failures.clear();
    }

    /// Calls `hook` for every token issued from now on (outside the fake's lock).
    pub fn on_issue(&self, hook: impl Fn(&IssuedToken) + Send + Sync + 'static) {
        self.state().hooks.push(Arc::new(hook));
    }

    /// Every token issued so far, in order.
    pub fn issued(&self) -> Vec<IssuedToken> {
        self.state().issued.clone()
    }

    /// Whether this exact token was issued here.
    pub fn is_issued(&self, token: &str) -> bool {
        self.state().issued.iter().any(|t| t.access_token == token)
    }

    /// The issued token record for `token`.
    pub fn issued_token(&self, token: &str) -> Option<IssuedToken> {
        self.state()
            .issued
            .iter()
            .find(|t| t.access_token == token)
            .cloned()
    }

    /// Every request so far (no secrets in them).
    pub fn requests(&self) -> Vec<EntraRequest> {
        self.state().log.clone()
    }

    pub fn clear_requests(&self) {
        self.state().log.clear();
    }

    /// Secrets of every app, assertions received and tokens issued.
    pub fn sensitive_values(&self) -> Vec<String> {
        let state = self.state();
        let mut out: Vec<String> = state
            .apps
            .iter()
            .flat_map(|a| a.secrets.iter().map(|s| s.value.clone()))
            .collect();
        out.extend(state.assertions_seen.iter().cloned());
        out.extend(state.issued.iter().map(|t| t.access_token.clone()));
        out
    }

    /// Issues a token for `client_id` and `resource` without a request (as IMDS or the
    /// Azure CLI would hand one out), valid for the configured lifetime. Hooks run.
    pub fn mint_access_token(&self, client_id: &str, resource: &str) -> String {
        let lifetime = self.state().lifetime;
        self.mint_access_token_expiring(client_id, resource, lifetime)
    }

    /// The same with `exp = now + exp_offset_secs` (negative: already expired).
    pub fn mint_access_token_expiring(
        &self,
        client_id: &str,
        resource: &str,
        exp_offset_secs: i64,
    ) -> String {
        let app = self
            .app(client_id)
            .unwrap_or_else(|| panic!("no app {client_id}"));
        let cloud = self.cloud_of(&app.tenant);
        self.issue(&app, cloud, resource, TokenGrant::Minted, exp_offset_secs)
            .access_token
    }

    fn cloud_of(&self, tenant_id: &str) -> Cloud {
        self.state()
            .tenants
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(tenant_id))
            .map(|t| t.cloud)
            .unwrap_or(Cloud::Public)
    }

    fn issue(
        &self,
        app: &App,
        cloud: Cloud,
        audience: &str,
        grant: TokenGrant,
        exp_offset_secs: i64,
    ) -> IssuedToken {
        let now = now_unix();
        let exp = now + exp_offset_secs;
        // Entra back-dates iat/nbf by five minutes; keep nbf <= exp for expired mints.
        let iat = (now - 300).min(exp - 60);
        let iss = cloud.sts_issuer(&app.tenant);
        let mut claims = json!({
            "aud": audience,
            "iss": iss,
            "iat": iat,
            "nbf": iat,
            "exp": exp,
            "aio": "harness-aio",
            "appid": app.client_id,
            "appidacr": match grant {
                TokenGrant::ClientSecret => "1",
                TokenGrant::ClientAssertion => "2",
                TokenGrant::Minted => "2",
            },
            "idp": iss,
            "idtyp": "app",
            "oid": app.object_id,
            "rh": "0.harness-rh.",
            "sub": app.object_id,
            "tid": app.tenant,
            "uti": new_guid(),
            "ver": "1.0",
        });
        if !app.graph_roles.is_empty() && Cloud::ALL.iter().any(|c| c.graph_audience() == audience)
        {
            claims["roles"] = json!(app.graph_roles);
        }
        if let PrincipalKind::ManagedIdentity { resource_id } = &app.kind {
            claims["xms_mirid"] = Value::String(resource_id.clone());
        }
        let token = IssuedToken {
            access_token: fake_rs256_jwt(ENTRA_KID, &claims),
            tenant_id: app.tenant.clone(),
            client_id: app.client_id.clone(),
            object_id: app.object_id.clone(),
            audience: audience.to_string(),
            grant,
            expires_at: exp,
            expires_in: exp_offset_secs,
            claims,
        };
        let hooks = {
            let mut state = self.state();
            state.issued.push(token.clone());
            state.hooks.clone()
        };
        for hook in hooks {
            hook(&token);
        }
        token
    }

    /// Serves one request arriving on `cloud`'s authority host.
    pub fn handle(&self, req: &Request, cloud: Cloud) -> Response {
        let form = if req.method == "POST"
            && req
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"))
        {
            req.form()
        } else {
            Vec::new()
        };
        let field = |key: &str| {
            form.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        };
        let segments: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
        let tenant = segments.first().copied().unwrap_or_default().to_string();
        let assertion = field("client_assertion");
        let assertion_claims = assertion.as_deref().and_then(try_decode_claims);
        let claim = |k: &str| {
            assertion_claims
                .as_ref()
                .and_then(|c| c.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let mut record = EntraRequest {
            host: req.host(),
            method: req.method.clone(),
            path: req.path.clone(),
            tenant: tenant.clone(),
            form_fields: form.iter().map(|(k, _)| k.clone()).collect(),
            grant_type: field("grant_type"),
            client_id: field("client_id"),
            scope: field("scope"),
            resource: field("scope").map(|s| s.trim_end_matches("/.default").to_string()),
            credential: if field("client_secret").is_some() {
                Some("client_secret".to_string())
            } else if assertion.is_some() {
                Some("client_assertion".to_string())
            } else {
                None
            },
            assertion_iss: claim("iss"),
            assertion_sub: claim("sub"),
            assertion_aud: assertion_claims
                .as_ref()
                .and_then(|c| c.get("aud").cloned()),
            client_request_id: req.header("client-request-id").map(str::to_string),
            status: 0,
            aadsts: None,
        };
        if let Some(a) = &assertion {
            self.state().assertions_seen.push(a.clone());
        }

        let outcome = self.next_failure().map(Err).unwrap_or_else(|| {
            let is_token = segments.len() == 4 && segments[1..] == ["oauth2", "v2.0", "token"];
            let is_discovery = segments.len() == 4
                && segments[1..] == ["v2.0", ".well-known", "openid-configuration"];
            if is_discovery && req.method == "GET" {
                return self.discovery(&tenant, cloud);
            }
            if !is_token {
                return Err(AadError::new(
                    404,
                    "invalid_request",
                    900561,
                    "The endpoint does not exist. Token requests go to /{tenant}/oauth2/v2.0/token.",
                ));
            }
            self.token(req, cloud, &tenant, &field, assertion_claims.as_ref())
                .map(|t| {
                    Response::json(
                        200,
                        &json!({
                            "token_type": "Bearer",
                            "expires_in": t.expires_in,
                            "ext_expires_in": t.expires_in,
                            "access_token": t.access_token,
                        }),
                    )
                })
        });
        let response = match outcome {
            Ok(r) => r,
            Err(e) => {
                record.aadsts = Some(e.code);
                error_response(&e, cloud, req.header("client-request-id"))
            }
        };
        let response = response
            .header("Cache-Control", "no-store, no-cache")
            .header("Pragma", "no-cache");
        record.status = response.status;
        self.state().log.push(record);
        response
    }

    fn next_failure(&self) -> Option<AadError> {
        let mut state = self.state();
        let (error, remaining) = state.failures.first_mut()?;
        let error = error.clone();
        match remaining {
            None => {}
            Some(n) => {
                *n -= 1;
                if *n == 0 {
                    state.failures.remove(0);
                }
            }
        }
        Some(error)
    }

    fn find_tenant(&self, name: &str) -> Option<Tenant> {
        let name = name.to_ascii_lowercase();
        self.state()
            .tenants
            .iter()
            .find(|t| t.id == name || t.domains.contains(&name))
            .cloned()
    }

    fn tenant_check(&self, name: &str, cloud: Cloud) -> Result<Tenant, AadError> {
        let Some(tenant) = self.find_tenant(name) else {
            return Err(AadError::new(
                400,
                "invalid_request",
                90002,
                &format!(
                    "Tenant '{name}' not found. The tenant ID or domain may be wrong, or the request went to the authority of another cloud; a tenant without an active subscription is a third cause."
                ),
            ));
        };
        if tenant.cloud != cloud {
            return Err(AadError::new(
                400,
                "invalid_request",
                90038,
                &format!(
                    "Tenant '{}' belongs to the national cloud '{}'. The cloud instance '{}' does not federate with it; use the authority of that cloud instead.",
                    tenant.id,
                    tenant.cloud.authority_host(),
                    cloud.authority_host()
                ),
            ));
        }
        Ok(tenant)
    }

    fn discovery(&self, tenant: &str, cloud: Cloud) -> Result<Response, AadError> {
        let t = self.tenant_check(tenant, cloud)?;
        let base = format!("https://{}/{}", cloud.authority_host(), t.id);
        Ok(Response::json(
            200,
            &json!({
                "token_endpoint": format!("{base}/oauth2/v2.0/token"),
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
                "jwks_uri": format!("https://{}/{}/discovery/v2.0/keys", cloud.authority_host(), t.id),
                "issuer": format!("{base}/v2.0"),
                "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
                "tenant_region_scope": "EU",
                "cloud_instance_name": cloud.authority_host().trim_start_matches("login."),
            }),
        ))
    }

    fn token(
        &self,
        req: &Request,
        cloud: Cloud,
        tenant: &str,
        field: &dyn Fn(&str) -> Option<String>,
        assertion_claims: Option<&Value>,
    ) -> Result<IssuedToken, AadError> {
        if req.method != "POST" {
            return Err(AadError::new(
                400,
                "invalid_request",
                900561,
                "The endpoint only accepts POST requests. Received a GET request.",
            ));
        }
        let tenant = self.tenant_check(tenant, cloud)?;
        let missing = |name: &str| {
            AadError::new(
                400,
                "invalid_request",
                900144,
                &format!("The request body must contain the following parameter: '{name}'."),
            )
        };
        let grant = field("grant_type").ok_or_else(|| missing("grant_type"))?;
        if grant != "client_credentials" {
            return Err(AadError::new(
                400,
                "unsupported_grant_type",
                70003,
                &format!(
                    "Grant type '{grant}' is not supported for this request; confidential clients use client_credentials."
                ),
            ));
        }
        let client_id = field("client_id").ok_or_else(|| missing("client_id"))?;
        let scope = field("scope").ok_or_else(|| missing("scope"))?;
        let scopes: Vec<&str> = scope.split_whitespace().collect();
        if scopes.len() != 1 {
            return Err(AadError::new(
                400,
                "invalid_scope",
                70011,
                &format!(
                    "The provided request must include a single resource in the 'scope' input parameter. The scope '{scope}' names {} resources.",
                    scopes.len()
                ),
            ));
        }
        let Some(resource) = scopes[0].strip_suffix("/.default") else {
            return Err(AadError::new(
                400,
                "invalid_scope",
                1002012,
                &format!(
                    "The provided value for scope {scope} is not valid. The client credentials flow takes one scope: the resource identifier followed by /.default."
                ),
            ));
        };
        let app = self
            .state()
            .apps
            .iter()
            .find(|a| {
                a.client_id.eq_ignore_ascii_case(&client_id)
                    && a.tenant.eq_ignore_ascii_case(&tenant.id)
            })
            .cloned()
            .ok_or_else(|| {
                AadError::new(
                    400,
                    "unauthorized_client",
                    700016,
                    &format!(
                        "Application with identifier '{client_id}' was not found in the directory '{}'. No app with this client ID exists in this tenant, or it was never consented to here; check the client ID and the tenant the request went to.",
                        tenant.id
                    ),
                )
            })?;

        let grant_kind = if let Some(secret) = field("client_secret") {
            self.check_secret(&app, &secret)?;
            TokenGrant::ClientSecret
        } else if field("client_assertion").is_some() {
            if field("client_assertion_type").as_deref() != Some(JWT_BEARER) {
                return Err(missing("client_assertion_type"));
            }
            let claims = assertion_claims.ok_or_else(|| {
                AadError::new(
                    400,
                    "invalid_request",
                    50027,
                    "JWT token is invalid or malformed: the client assertion is not a compact JWT.",
                )
            })?;
            check_assertion(&app, claims)?;
            TokenGrant::ClientAssertion
        } else {
            return Err(AadError::new(
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        };

        let audience = {
            let state = self.state();
            let want = resource.trim_end_matches('/');
            state
                .resources
                .iter()
                .find(|r| r.trim_end_matches('/').eq_ignore_ascii_case(want))
                .cloned()
        }
        .ok_or_else(|| {
            AadError::new(
                400,
                "invalid_resource",
                500011,
                &format!(
                    "The resource principal named {resource} was not found in the tenant named {}. The resource identifier may be misspelled, or the resource is not available in this tenant.",
                    tenant.id
                ),
            )
        })?;
        let lifetime = self.state().lifetime;
        Ok(self.issue(&app, cloud, &audience, grant_kind, lifetime))
    }

    fn check_secret(&self, app: &App, presented: &str) -> Result<(), AadError> {
        let matched = match app.kind {
            PrincipalKind::Application => app.secrets.iter().find(|s| s.value == presented),
            PrincipalKind::ManagedIdentity { .. } => None,
        };
        match matched {
            None => Err(AadError::new(
                401,
                "invalid_client",
                7000215,
                &format!(
                    "Invalid client secret provided for app '{}'. Send the value of one of the app's secrets (not the secret's ID).",
                    app.client_id
                ),
            )),
            Some(s) if s.expires_at <= now_unix() => Err(AadError::new(
                401,
                "invalid_client",
                7000222,
                &format!(
                    "The client secret presented for app '{}' has expired. Create a new secret for the app (or move to a federated credential) and update the stored value.",
                    app.client_id
                ),
            )),
            Some(_) => Ok(()),
        }
    }
}

/// Time range, then the app's federated credentials (module docs).
fn check_assertion(app: &App, claims: &Value) -> Result<(), AadError> {
    let now = now_unix();
    let exp = claims.get("exp").and_then(Value::as_i64);
    let nbf = claims.get("nbf").and_then(Value::as_i64);
    let too_late = exp.is_none_or(|e| e <= now);
    let too_early = nbf.is_some_and(|n| n > now);
    if too_late || too_early {
        return Err(AadError::new(
            401,
            "invalid_client",
            700024,
            &format!(
                "Client assertion is not within its valid time range. Current time: {}, assertion valid from {}, expiry time of assertion {}. Request a fresh assertion: federated tokens live for minutes.",
                entra_time(now),
                nbf.map(entra_time).unwrap_or_else(|| entra_time(0)),
                exp.map(entra_time).unwrap_or_else(|| entra_time(0)),
            ),
        ));
    }
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let aud_values: Vec<String> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    };
    let aud_shown = aud_values.join(", ");
    let guidance = "Check your federated identity credential Subject, Audience and Issuer against the presented assertion.";
    let generic = || {
        AadError::new(
            401,
            "invalid_client",
            70021,
            &format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud_shown}'. The issuer, subject and audience of a federated credential must equal these, case included."
            ),
        )
    };
    if app.federated.is_empty() {
        return Err(generic());
    }
    let by_issuer: Vec<&FederatedCredential> =
        app.federated.iter().filter(|f| f.issuer == iss).collect();
    if by_issuer.is_empty() {
        return Err(AadError::new(
            401,
            "invalid_client",
            700211,
            &format!(
                "No matching federated identity record found for presented assertion issuer '{iss}'. {guidance}"
            ),
        ));
    }
    let by_subject: Vec<&&FederatedCredential> =
        by_issuer.iter().filter(|f| f.subject == sub).collect();
    if by_subject.is_empty() {
        if by_issuer
            .iter()
            .any(|f| f.subject.eq_ignore_ascii_case(sub))
        {
            return Err(AadError::new(
                401,
                "invalid_client",
                7002138,
                &format!(
                    "No matching federated identity record found for presented assertion subject '{sub}'. A federated identity credential matches it only when case is ignored, and subject matching is case-sensitive. {guidance}"
                ),
            ));
        }
        return Err(AadError::new(
            401,
            "invalid_client",
            700213,
            &format!(
                "No matching federated identity record found for presented assertion subject '{sub}'. {guidance}"
            ),
        ));
    }
    if !by_subject.iter().any(|f| aud_values.contains(&f.audience)) {
        return Err(generic());
    }
    Ok(())
}

/// The documented error body (Microsoft identity platform, OAuth 2.0 client credentials flow).
fn error_response(e: &AadError, cloud: Cloud, client_request_id: Option<&str>) -> Response {
    let now = now_unix();
    let trace_id = new_guid();
    let correlation_id = client_request_id
        .map(str::to_string)
        .unwrap_or_else(new_guid);
    let timestamp = entra_timestamp(now);
    let description = format!(
        "AADSTS{}: {}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}",
        e.code, e.message
    );
    let mut response = Response::json(
        e.status,
        &json!({
            "error": e.error,
            "error_description": description,
            "error_codes": [e.code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": format!("https://{}/error?code={}", cloud.authority_host(), e.code),
        }),
    )
    .header("x-ms-request-id", &trace_id);
    if let Some(id) = client_request_id {
        response = response.header("client-request-id", id);
    }
    response
}
