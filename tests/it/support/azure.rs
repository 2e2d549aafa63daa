//! Fakes of the Azure services the identity and role check talks to, so production code
//! runs unchanged against the REAL host names, offline:
//!
//! | fake | host names (HTTPS, one listener) | endpoints |
//! |---|---|---|
//! | [`Entra`] | `login.microsoftonline.com`, `login.microsoftonline.us`, `login.chinacloudapi.cn` | `POST /{tenant}/oauth2/v2.0/token` (client credentials, secret or assertion), `GET /{tenant}/v2.0/.well-known/openid-configuration` |
//! | [`Graph`] | `graph.microsoft.com`, `graph.microsoft.us`, `microsoftgraph.chinacloudapi.cn` | `GET /v1.0/applications(appId='…')` and `/v1.0/applications/{id}` (the app's `passwordCredentials`), with `$select` |
//! | [`Arm`] | `management.azure.com`, `management.usgovcloudapi.net`, `management.chinacloudapi.cn` | registries list (subscription and resource group), registry get, a registry's tokens and scope maps, `Microsoft.Authorization/permissions` at a registry or resource group |
//! | ACR front ([`AzureFakes::serve_registry`]) | any `*.azurecr.io` (`.us`, `.cn`) the test routes | `/oauth2/*` relayed to a [`TokenServer`](super::token::TokenServer), the rest to the real registry |
//! | [`GitHubOidc`] | plain HTTP on its own port (production reads the URL from `ACTIONS_ID_TOKEN_REQUEST_URL`) | `GET /token?api-version=2.0&audience=…` |
//!
//! [`AzureFakes::start`] makes a throwaway CA (in a temp dir it owns), one server
//! certificate whose SANs cover every host above (wildcards for the registries), and one
//! TLS listener on `127.0.0.1:0` that routes on the `Host` header. Production reaches it
//! with `--ca-file <az.ca_pem_path()>` and one `--resolve HOST=<az.addr()>` per host
//! ([`AzureFakes::resolve_args`]). Every server stops when its handle drops.
//!
//! ```ignore
//! use support::azure::*;
//! let az = AzureFakes::start();
//! az.entra.add_tenant(TENANT, Cloud::Public);
//! az.entra.add_app(
//!     App::new(TENANT, CLIENT_ID, OBJECT_ID)
//!         .secret("not-a-real-secret", 3600)
//!         .federated(FederatedCredential::github("repo:octo/app:ref:refs/heads/main")),
//! );
//! az.arm.add_subscription(SUB, TENANT);
//! let reg = az.arm.add_registry(Registry::new(SUB, "rg-ci", "myreg").abac());
//! az.arm.assign(OBJECT_ID, Role::RepositoryReader, &reg.id());          // registry-wide
//! az.arm.assign_limited(OBJECT_ID, Role::RepositoryWriter, &reg.id(), &["team/app"]);
//! az.github.set_claims(GitHubClaims::branch("octo/app", "main"));
//! // Data plane: the real registry behind https://myreg.azurecr.io, its token server
//! // granting per the role table, Entra tokens accepted by /oauth2/exchange.
//! let ts = Arc::new(TokenServer::start_with("myreg.azurecr.io", "acr-issuer"));
//! let _bridge = AcrBridge::connect(&az, &ts, &reg.id());
//! let registry = TestRegistry::start(fronted_registry_kind(&ts)).await;
//! az.serve_registry("myreg.azurecr.io", registry.addr(), ts.addr());
//! // binary: --ca-file az.ca_pem_path() + az.resolve_args(&["myreg.azurecr.io"]),
//! // env: az.github.env() + AZURE_CLIENT_ID/AZURE_TENANT_ID.
//! ```
//!
//! Tokens: every JWT the fakes issue has an `RS256` header and a dummy signature (bytes
//! derived from the signing input). Production decodes claims without verification;
//! nothing here verifies signatures either, and the ARM fake accepts only tokens the
//! Entra fake issued ([`Entra::is_issued`]).
//!
//! Facts (shapes, codes, role definitions): Microsoft Learn (Entra ID OAuth 2.0 client
//! credentials and workload identity federation, AADSTS error codes, ACR token exchange,
//! Azure built-in roles for containers), and the azure-rest-api-specs example
//! `RegistryList.json` (2025-11-01). Choices where the reference is silent are written
//! down where they are made (search for "Choice:").

pub mod acr;
pub mod arm;
pub mod entra;
pub mod github;
pub mod graph;

// Re-exported for tests; a test binary that uses only part of them must not warn.
#[allow(unused_imports)]
pub use acr::{AcrBridge, AcrMetadata, DataPlaneAccess, changeable, fronted_registry_kind};
#[allow(unused_imports)]
pub use arm::{
    Arm, ArmRequest, Registry, Role, RoleAssignment, RoleAssignmentMode, RoleDefinition, Sku,
};
#[allow(unused_imports)]
pub use entra::{
    AadError, App, Entra, EntraRequest, FederatedCredential, IssuedToken, PrincipalKind, Secret,
    TokenGrant,
};
#[allow(unused_imports)]
pub use github::{GitHubClaims, GitHubOidc, OidcRequest};
#[allow(unused_imports)]
pub use graph::{Graph, GraphRequest, app_object_id};

use super::http::{MockServer, Reply, Request, Response};
use super::tls::TestCa;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tempfile::TempDir;

/// ACR's Entra audience (Microsoft Learn, ACR "disable authentication as ARM"): request `https://containerregistry.azure.net/.default`.
pub const ACR_AUDIENCE: &str = "https://containerregistry.azure.net";
/// The GitHub Actions OIDC issuer (GitHub docs, OpenID Connect reference).
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
/// `client_assertion_type` for a JWT client assertion (Microsoft identity platform, OAuth 2.0 client credentials flow).
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An Azure cloud: its host names and well-known values (azure-cli core/cloud.py, §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cloud {
    Public,
    UsGov,
    China,
}

impl Cloud {
    pub const ALL: [Cloud; 3] = [Cloud::Public, Cloud::UsGov, Cloud::China];

    /// The Azure CLI cloud name.
    pub fn name(self) -> &'static str {
        match self {
            Cloud::Public => "AzureCloud",
            Cloud::UsGov => "AzureUSGovernment",
            Cloud::China => "AzureChinaCloud",
        }
    }

    /// Entra authority host.
    pub fn authority_host(self) -> &'static str {
        match self {
            Cloud::Public => "login.microsoftonline.com",
            Cloud::UsGov => "login.microsoftonline.us",
            Cloud::China => "login.chinacloudapi.cn",
        }
    }

    /// ARM host.
    pub fn arm_host(self) -> &'static str {
        match self {
            Cloud::Public => "management.azure.com",
            Cloud::UsGov => "management.usgovcloudapi.net",
            Cloud::China => "management.chinacloudapi.cn",
        }
    }

    /// Microsoft Graph's host (https://learn.microsoft.com/graph/deployments).
    pub fn graph_host(self) -> &'static str {
        match self {
            Cloud::Public => "graph.microsoft.com",
            Cloud::UsGov => "graph.microsoft.us",
            Cloud::China => "microsoftgraph.chinacloudapi.cn",
        }
    }

    /// A Graph token's `aud` (`https://graph.microsoft.com`, the scope minus `/.default`).
    pub fn graph_audience(self) -> String {
        format!("https://{}", self.graph_host())
    }

    /// The cloud whose Graph host is `host`.
    pub fn by_graph_host(host: &str) -> Option<Cloud> {
        Cloud::ALL
            .into_iter()
            .find(|c| c.graph_host().eq_ignore_ascii_case(host))
    }

    /// The ARM token audience as it appears in `aud` (`https://management.azure.com/`).
    pub fn arm_audience(self) -> String {
        format!("https://{}/", self.arm_host())
    }

    /// The legacy ARM audience ARM also accepts (`https://management.core.windows.net/`).
    pub fn arm_legacy_audience(self) -> &'static str {
        match self {
            Cloud::Public => "https://management.core.windows.net/",
            Cloud::UsGov => "https://management.core.usgovcloudapi.net/",
            Cloud::China => "https://management.core.chinacloudapi.cn/",
        }
    }

    /// The registry login-server suffix (`azurecr.io`).
    pub fn acr_suffix(self) -> &'static str {
        match self {
            Cloud::Public => "azurecr.io",
            Cloud::UsGov => "azurecr.us",
            Cloud::China => "azurecr.cn",
        }
    }

    /// The audience a federated credential expects for this cloud (Microsoft Entra, federated identity credential considerations).
    pub fn fic_audience(self) -> &'static str {
        match self {
            Cloud::Public => "api://AzureADTokenExchange",
            Cloud::UsGov => "api://AzureADTokenExchangeUSGov",
            Cloud::China => "api://AzureADTokenExchangeChina",
        }
    }

    /// `iss` of v1 access tokens for tenant `tid` (Microsoft identity platform, access token claims reference). Choice: the US
    /// Government cloud uses `sts.windows.net` like the public cloud.
    pub fn sts_issuer(self, tid: &str) -> String {
        match self {
            Cloud::China => format!("https://sts.chinacloudapi.cn/{tid}/"),
            _ => format!("https://sts.windows.net/{tid}/"),
        }
    }

    /// The cloud whose authority host is `host`.
    pub fn by_authority_host(host: &str) -> Option<Cloud> {
        Cloud::ALL
            .into_iter()
            .find(|c| c.authority_host().eq_ignore_ascii_case(host))
    }

    /// The cloud whose ARM host is `host`.
    pub fn by_arm_host(host: &str) -> Option<Cloud> {
        Cloud::ALL
            .into_iter()
            .find(|c| c.arm_host().eq_ignore_ascii_case(host))
    }
}

/// What a host routed by [`AzureFakes`] does.
#[derive(Clone)]
enum Route {
    /// `/oauth2/*` to the token server, everything else to the registry.
    Registry {
        registry: SocketAddr,
        token_server: SocketAddr,
    },
    Handler(Arc<dyn Fn(&Request) -> Reply + Send + Sync>),
}

/// The Azure side of a test: CA, one HTTPS listener for Entra, ARM and routed registry
/// hosts, and the GitHub ID-token endpoint. Dropping it stops both servers and removes
/// the CA files.
pub struct AzureFakes {
    pub entra: Entra,
    pub arm: Arm,
    pub graph: Graph,
    pub github: GitHubOidc,
    /// ACR's `/acr/v1/` metadata API of every routed registry.
    pub acr_metadata: AcrMetadata,
    routes: Arc<Mutex<HashMap<String, Route>>>,
    server: MockServer,
    ca: TestCa,
    // Declared last: dropped after the server that reads its certificate.
    _dir: TempDir,
}

impl AzureFakes {
    /// Starts everything (see the module docs). Takes two `openssl` runs for the CA and
    /// the certificate.
    pub fn start() -> AzureFakes {
        let dir = tempfile::tempdir().expect("azure fakes temp dir");
        let ca = TestCa::named(dir.path(), "azure-ca", "acr-preflight Azure fakes CA");
        let mut names: Vec<String> = Vec::new();
        for cloud in Cloud::ALL {
            names.push(cloud.authority_host().to_string());
            names.push(cloud.arm_host().to_string());
            names.push(cloud.graph_host().to_string());
            names.push(format!("*.{}", cloud.acr_suffix()));
        }
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let (cert, key) = ca.issue_server_cert(&name_refs);

        let entra = Entra::new();
        let arm = Arm::new(&entra);
        let graph = Graph::new(&entra);
        let routes: Arc<Mutex<HashMap<String, Route>>> = Arc::new(Mutex::new(HashMap::new()));
        let acr_metadata = AcrMetadata::default();
        let (e, a, g, r, m) = (
            entra.clone(),
            arm.clone(),
            graph.clone(),
            routes.clone(),
            acr_metadata.clone(),
        );
        let server = MockServer::start_tls(&cert, &key, move |req, _| {
            let host = req.host();
            if let Some(cloud) = Cloud::by_authority_host(&host) {
                return Reply::Respond(e.handle(req, cloud));
            }
            if let Some(cloud) = Cloud::by_arm_host(&host) {
                return Reply::Respond(a.handle(req, cloud));
            }
            if let Some(cloud) = Cloud::by_graph_host(&host) {
                return g.handle(req, cloud);
            }
            let route = r.lock().unwrap().get(&host).cloned();
            match route {
                Some(Route::Registry {
                    registry,
                    token_server,
                }) => {
                    if req.path.starts_with("/oauth2/") {
                        Reply::Proxy(token_server)
                    } else if req.path.starts_with("/acr/v1/") {
                        Reply::Respond(m.handle(&host, req))
                    } else if let Some(refused) = m.refuses_read(&host, &req.path) {
                        Reply::Respond(refused)
                    } else {
                        Reply::Proxy(registry)
                    }
                }
                Some(Route::Handler(h)) => h(req),
                None => Reply::Respond(
                    Response::new(404)
                        .header("Content-Type", "text/plain")
                        .body(format!("azure fakes: no route for host {host:?}")),
                ),
            }
        });
        let github = GitHubOidc::start();
        AzureFakes {
            entra,
            arm,
            graph,
            github,
            acr_metadata,
            routes,
            server,
            ca,
            _dir: dir,
        }
    }

    /// The HTTPS listener (`127.0.0.1:PORT`) behind every routed host name.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// The CA certificate (PEM) for `--ca-file`.
    pub fn ca_pem_path(&self) -> &Path {
        self.ca.ca_pem_path()
    }

    /// The CA as a reqwest root (`ClientBuilder::tls_certs_merge`).
    pub fn ca_certificate(&self) -> reqwest::Certificate {
        self.ca.certificate()
    }

    /// The CA itself, e.g. to issue a certificate for another server.
    pub fn ca(&self) -> &TestCa {
        &self.ca
    }

    /// `HOST=127.0.0.1:PORT` for the public cloud's Entra, ARM and Graph hosts plus `extra`
    /// (registry login servers): the values of the binary's `--resolve`.
    pub fn resolve_specs(&self, extra: &[&str]) -> Vec<String> {
        let mut hosts = vec![
            Cloud::Public.authority_host(),
            Cloud::Public.arm_host(),
            Cloud::Public.graph_host(),
        ];
        hosts.extend_from_slice(extra);
        hosts
            .into_iter()
            .map(|h| format!("{h}={}", self.addr()))
            .collect()
    }

    /// The same as command-line arguments: `--resolve`, `HOST=ADDR`, … .
    pub fn resolve_args(&self, extra: &[&str]) -> Vec<String> {
        self.resolve_specs(extra)
            .into_iter()
            .flat_map(|spec| ["--resolve".to_string(), spec])
            .collect()
    }

    /// A reqwest client that trusts the CA and resolves every cloud host (and `extra`)
    /// to the listener: what production's `--resolve`/`--ca-file` amount to.
    pub fn client(&self, extra: &[&str]) -> reqwest::Client {
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .timeout(std::time::Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .tls_certs_merge([self.ca_certificate()]);
        for cloud in Cloud::ALL {
            builder = builder
                .resolve(cloud.authority_host(), self.addr())
                .resolve(cloud.arm_host(), self.addr())
                .resolve(cloud.graph_host(), self.addr());
        }
        for host in extra {
            builder = builder.resolve(host, self.addr());
        }
        builder.build().expect("azure fakes client")
    }

    /// Serves `host` (a login server such as `myreg.azurecr.io`, covered by the
    /// certificate's `*.azurecr.io`) as ACR does: `/oauth2/*` relayed to the token
    /// server, `/acr/v1/*` to [`AcrMetadata`], everything else to the registry (plain HTTP; start it with
    /// [`fronted_registry_kind`] so its challenge names `https://HOST/oauth2/token`).
    /// Relayed requests carry `X-Forwarded-Proto: https`.
    pub fn serve_registry(&self, host: &str, registry: SocketAddr, token_server: SocketAddr) {
        self.routes.lock().unwrap().insert(
            host.to_ascii_lowercase(),
            Route::Registry {
                registry,
                token_server,
            },
        );
    }

    /// Serves `host` with an arbitrary handler (it must be covered by the certificate).
    pub fn route(&self, host: &str, handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) {
        self.routes
            .lock()
            .unwrap()
            .insert(host.to_ascii_lowercase(), Route::Handler(Arc::new(handler)));
    }

    /// Every raw request the HTTPS listener read (Entra, ARM and routed hosts).
    pub fn raw_requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    /// TLS handshakes that failed (e.g. a client that does not trust the CA).
    pub fn handshake_failures(&self) -> usize {
        self.server.handshake_failures()
    }

    /// Every credential-like value the fakes know or handed out: client secrets,
    /// client assertions received, Entra access tokens, GitHub ID tokens and the GitHub
    /// request token. For "no token or secret reaches any output" assertions.
    pub fn sensitive_values(&self) -> Vec<String> {
        let mut out = self.entra.sensitive_values();
        out.extend(self.github.sensitive_values());
        out.sort();
        out.dedup();
        out
    }
}

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// A fresh GUID-shaped id (version 4 layout), unique within the process.
pub fn new_guid() -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let h = super::sha256::sha256(format!("{n}-{nanos}-{}", std::process::id()).as_bytes());
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-4{}-{}{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        ["8", "9", "a", "b"][(h[8] & 3) as usize],
        &hex[17..20],
        &hex[20..32]
    )
}

/// A JWT with an `RS256` header (`kid`/`x5t` = `kid`) and a dummy 256-byte signature
/// derived from the signing input. Nobody verifies it.
pub fn fake_rs256_jwt(kid: &str, claims: &Value) -> String {
    let header = json!({"typ": "JWT", "alg": "RS256", "x5t": kid, "kid": kid});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap())
    );
    let block = super::sha256::sha256(input.as_bytes());
    let signature: Vec<u8> = block.iter().copied().cycle().take(256).collect();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The claims of a compact JWT, or `None` when it is not one (three base64url parts,
/// a JSON object in the middle). No verification.
pub fn try_decode_claims(jwt: &str) -> Option<Value> {
    let parts: Vec<&str> = jwt.trim().split('.').collect();
    if parts.len() != 3 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(parts[1].trim_end_matches('='))
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.is_object().then_some(value)
}

/// `2026-08-20 10:30:48Z`: the timestamp format of Entra error bodies.
pub fn entra_timestamp(unix: i64) -> String {
    super::rfc3339(unix).replace('T', " ")
}

/// `2026-08-20T10:30:48.0000000Z`: the 7-digit form Entra uses inside descriptions.
pub fn entra_time(unix: i64) -> String {
    super::rfc3339(unix).replace('Z', ".0000000Z")
}

/// ARM's error body: `{"error":{"code":..,"message":..}}`, with a request id header.
pub fn arm_error(status: u16, code: &str, message: &str) -> Response {
    Response::json(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
    .header("x-ms-request-id", &new_guid())
    .header("x-ms-correlation-request-id", &new_guid())
}
