//! Entra tokens with azure_identity's credentials, every HTTP call on our reqwest client
//! (so `--resolve`, `--ca-file` and the deadline apply), and failures turned into the
//! facts a finding needs: AADSTS codes, trace and correlation ids, what was presented.

use super::Cloud;
use crate::config::Config;
use crate::secrets::Secrets;
use azure_core::credentials::{Secret, TokenCredential};
use azure_core::error::ErrorKind;
use azure_core::http::{ClientMethodOptions, ClientOptions, RetryOptions, Transport};
use azure_identity::{
    AzureCliCredential, AzureCliCredentialOptions, ClientAssertion, ClientAssertionCredential,
    ClientAssertionCredentialOptions, ClientSecretCredential, ClientSecretCredentialOptions,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
};
use std::sync::{Arc, Mutex};

/// How the identity is obtained (`--auth-mode`, with `auto` resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GitHub's OIDC token as a client assertion.
    GithubOidc,
    /// `AZURE_FEDERATED_TOKEN_FILE` (workload identity) as a client assertion.
    FederatedTokenFile,
    ClientSecret,
    ManagedIdentity,
    AzureCli,
}

impl Method {
    pub fn describe(self) -> &'static str {
        match self {
            Method::GithubOidc => "GitHub OIDC federated credential",
            Method::FederatedTokenFile => "federated token file (AZURE_FEDERATED_TOKEN_FILE)",
            Method::ClientSecret => "client secret",
            Method::ManagedIdentity => "managed identity",
            Method::AzureCli => "Azure CLI session",
        }
    }
}

/// The claims of the GitHub OIDC token this job presented (what Entra compared).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Presented {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub job_workflow_ref: Option<String>,
    /// The `repository_owner_id` and `repository_id` claims, when both are numeric: the
    /// ids GitHub's immutable subject form appends to the names.
    pub ids: Option<(String, String)>,
}

impl Presented {
    fn from_token(token: &str) -> Presented {
        let claims = crate::jwt::claims(token).unwrap_or_default();
        let text = |k: &str| {
            claims
                .get(k)
                .map(|v| match v {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Array(a) => a
                        .iter()
                        .filter_map(|x| x.as_str())
                        .collect::<Vec<_>>()
                        .join(","),
                    other => other.to_string(),
                })
                .unwrap_or_default()
        };
        Presented {
            iss: text("iss"),
            sub: text("sub"),
            aud: text("aud"),
            job_workflow_ref: Some(text("job_workflow_ref")).filter(|s| !s.is_empty()),
            ids: Some((text("repository_owner_id"), text("repository_id"))).filter(|(o, r)| {
                let id =
                    |s: &str| (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
                id(o) && id(r)
            }),
        }
    }
}

/// Why no Entra token could be had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntraError {
    /// OIDC chosen but the runner gave no token request variables.
    OidcUnavailable { missing: Vec<&'static str> },
    /// The GitHub token endpoint failed.
    OidcRequest(String),
    /// Entra answered with an error body.
    Rejected {
        status: u16,
        codes: Vec<u32>,
        description: String,
        trace_id: Option<String>,
        correlation_id: Option<String>,
    },
    /// The configuration cannot make a credential (missing client id, bad tenant).
    Setup(String),
    /// Anything else: transport errors, a missing `az`, IMDS unreachable.
    Other(String),
}

impl EntraError {
    pub fn describe(&self) -> String {
        match self {
            EntraError::OidcUnavailable { missing } => format!("{} not set", missing.join(" and ")),
            EntraError::OidcRequest(d) | EntraError::Setup(d) | EntraError::Other(d) => d.clone(),
            EntraError::Rejected {
                status,
                description,
                trace_id,
                correlation_id,
                ..
            } => {
                let first = description.lines().next().unwrap_or_default().trim();
                let mut s = if *status == 0 {
                    first.to_string()
                } else {
                    format!("HTTP {status}: {first}")
                };
                if let Some(t) = trace_id {
                    s.push_str(&format!(" (trace id {t}"));
                    if let Some(c) = correlation_id {
                        s.push_str(&format!(", correlation id {c}"));
                    }
                    s.push(')');
                }
                s
            }
        }
    }
}

/// A credential ready to hand out tokens, with what it presented.
pub struct Session {
    pub method: Method,
    credential: Arc<dyn TokenCredential>,
    presented: Arc<Mutex<Option<Presented>>>,
    oidc_failure: Arc<Mutex<Option<String>>>,
    secrets: Secrets,
    /// The earliest `expires_on` of the tokens this session handed out.
    earliest_expiry: Mutex<Option<std::time::SystemTime>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

/// Fetches the job's GitHub OIDC token each time Entra needs an assertion.
struct GithubAssertion {
    url: String,
    request_token: String,
    audience: String,
    http: reqwest::Client,
    secrets: Secrets,
    presented: Arc<Mutex<Option<Presented>>>,
    failure: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for GithubAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GithubAssertion")
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl GithubAssertion {
    async fn fetch(&self) -> Result<String, String> {
        // The request URL already carries a query string, hence `&`.
        let sep = if self.url.contains('?') { '&' } else { '?' };
        let url = format!(
            "{}{sep}audience={}",
            self.url,
            url::form_urlencoded::byte_serialize(self.audience.as_bytes()).collect::<String>()
        );
        let resp = self
            .http
            .get(&url)
            .bearer_auth(&self.request_token)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "GitHub's OIDC token endpoint failed: {}",
                    crate::http::error_chain(&e)
                )
            })?;
        let status = resp.status().as_u16();
        let body = crate::http::read_capped(resp, crate::http::MAX_BODY)
            .await
            .map_err(|e| format!("GitHub's OIDC token endpoint failed: {e}"))?;
        if status != 200 {
            return Err(format!(
                "GitHub's OIDC token endpoint answered HTTP {status}: {}",
                crate::registry::wire::shorten(
                    &crate::secrets::redact_tokens(&String::from_utf8_lossy(&body)),
                    200
                )
            ));
        }
        let value: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
            "GitHub's OIDC token endpoint answered something that is not JSON".to_string()
        })?;
        let token = value
            .get("value")
            .and_then(|v| v.as_str())
            .filter(|v| !v.is_empty())
            .ok_or("GitHub's OIDC token answer has no `value`")?
            .to_string();
        self.secrets.register(&token);
        if let Ok(mut p) = self.presented.lock() {
            *p = Some(Presented::from_token(&token));
        }
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_recovered_from_a_quoted_error_body() {
        let text = r#"ClientAssertionCredential authentication failed. invalid type: string "AADSTS700213: No matching federated identity record found for presented assertion subject 'repo:o/r:pull_request'.\r\nTrace ID: 69453da6-7304-41ef-843e-7a7dad49023e\r\nCorrelation ID: 976d065c-b300-4048-aea3-4ca6329ed0d1\r\nTimestamp: 2026-11-28 19:33:07Z", expected a borrowed string at line 1 column 490"#;
        match from_quoted_body(text) {
            Some(EntraError::Rejected {
                codes,
                description,
                trace_id,
                correlation_id,
                ..
            }) => {
                assert_eq!(codes, vec![700213]);
                assert!(
                    description.starts_with("AADSTS700213: No matching"),
                    "{description}"
                );
                assert!(!description.contains("Trace ID"), "{description}");
                assert_eq!(
                    trace_id.as_deref(),
                    Some("69453da6-7304-41ef-843e-7a7dad49023e")
                );
                assert_eq!(
                    correlation_id.as_deref(),
                    Some("976d065c-b300-4048-aea3-4ca6329ed0d1")
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(from_quoted_body("connection refused"), None);
    }
}

#[async_trait::async_trait]
impl ClientAssertion for GithubAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        match self.fetch().await {
            Ok(t) => Ok(t),
            Err(e) => {
                if let Ok(mut f) = self.failure.lock() {
                    *f = Some(e.clone());
                }
                Err(azure_core::Error::with_message(ErrorKind::Credential, e))
            }
        }
    }
}

/// Reads a federated token file afresh for each assertion, as the SDKs do.
#[derive(Debug)]
struct FileAssertion {
    path: std::path::PathBuf,
    secrets: Secrets,
    presented: Arc<Mutex<Option<Presented>>>,
}

#[async_trait::async_trait]
impl ClientAssertion for FileAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        // Bounded and non-blocking (a FIFO or a link to /dev/zero is refused at once);
        // a token is a few KiB, so reading it in place does not stall the runtime.
        let token = crate::fsread::read_capped(&self.path, crate::fsread::FEDERATED_TOKEN_CAP)
            .map_err(std::io::Error::from)
            .and_then(|bytes| {
                String::from_utf8(bytes).map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "the file is not UTF-8")
                })
            })
            .map_err(|e| {
                azure_core::Error::with_message(
                    ErrorKind::Credential,
                    format!(
                        "cannot read AZURE_FEDERATED_TOKEN_FILE {}: {e}",
                        self.path.display()
                    ),
                )
            })?;
        let token = token.trim().to_string();
        self.secrets.register(&token);
        if let Ok(mut p) = self.presented.lock() {
            *p = Some(Presented::from_token(&token));
        }
        Ok(token)
    }
}

/// Picks the method `--auth-mode` asks for (`auto`: the first one configured), or
/// `None` when no Azure identity is configured at all.
pub fn method_for(config: &Config) -> Option<Method> {
    use crate::config::AuthMode;
    let env = &config.env;
    match config.auth_mode {
        AuthMode::Oidc => Some(Method::GithubOidc),
        AuthMode::ClientSecret => Some(Method::ClientSecret),
        AuthMode::ManagedIdentity => Some(Method::ManagedIdentity),
        AuthMode::AzureCli => Some(Method::AzureCli),
        AuthMode::DockerConfig | AuthMode::Anonymous => None,
        AuthMode::Auto => {
            if config.azure.client_id.is_some() && config.azure.client_secret.is_some() {
                Some(Method::ClientSecret)
            } else if config.azure.client_id.is_some() && env.azure_federated_token_file.is_some() {
                Some(Method::FederatedTokenFile)
            } else if config.azure.client_id.is_some() {
                Some(Method::GithubOidc)
            } else if config.build.managed_identity.is_some() && !env.github_hosted() {
                // The job signs in with the machine's managed identity: check that one,
                // as the build will use it (P14).
                Some(Method::ManagedIdentity)
            } else {
                None
            }
        }
    }
}

fn client_options(cloud: &Cloud, http: &reqwest::Client) -> ClientOptions {
    let mut custom = azure_core::cloud::CustomConfiguration::default();
    custom.authority_host = cloud.authority_host.clone();
    ClientOptions {
        transport: Some(Transport::new(Arc::new(crate::http::CappedTransport::new(
            http.clone(),
            crate::http::MAX_BODY,
        )))),
        cloud: Some(Arc::new(custom.into())),
        // Entra's answers are decisive; the run's deadline bounds waiting anyway.
        retry: RetryOptions::none(),
        ..Default::default()
    }
}

/// Builds the credential for `method`.
pub fn session(
    config: &Config,
    cloud: &Cloud,
    http: &reqwest::Client,
    secrets: &Secrets,
    method: Method,
) -> Result<Session, EntraError> {
    let presented = Arc::new(Mutex::new(None));
    let oidc_failure = Arc::new(Mutex::new(None));
    let need = |v: &Option<String>, what: &str| {
        v.clone()
            .ok_or_else(|| EntraError::Setup(format!("{} needs {what}", method.describe())))
    };
    let setup = |e: azure_core::Error| EntraError::Setup(e.to_string());
    let credential: Arc<dyn TokenCredential> = match method {
        Method::GithubOidc => {
            let env = &config.env;
            let mut missing = Vec::new();
            if env.actions_id_token_request_url.is_none() {
                missing.push("ACTIONS_ID_TOKEN_REQUEST_URL");
            }
            if env.actions_id_token_request_token.is_none() {
                missing.push("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
            }
            if !missing.is_empty() {
                return Err(EntraError::OidcUnavailable { missing });
            }
            let request_token = env
                .actions_id_token_request_token
                .clone()
                .unwrap_or_default();
            secrets.register(&request_token);
            let assertion = GithubAssertion {
                url: env.actions_id_token_request_url.clone().unwrap_or_default(),
                request_token,
                audience: config.azure.audience.clone(),
                http: http.clone(),
                secrets: secrets.clone(),
                presented: presented.clone(),
                failure: oidc_failure.clone(),
            };
            ClientAssertionCredential::new(
                need(&config.azure.tenant_id, "--tenant-id")?,
                need(&config.azure.client_id, "--client-id")?,
                assertion,
                Some(ClientAssertionCredentialOptions {
                    client_options: client_options(cloud, http),
                }),
            )
            .map_err(setup)?
        }
        Method::FederatedTokenFile => {
            let path = config
                .env
                .azure_federated_token_file
                .clone()
                .ok_or_else(|| EntraError::Setup("AZURE_FEDERATED_TOKEN_FILE is not set".into()))?;
            ClientAssertionCredential::new(
                need(&config.azure.tenant_id, "--tenant-id (or AZURE_TENANT_ID)")?,
                need(&config.azure.client_id, "--client-id (or AZURE_CLIENT_ID)")?,
                FileAssertion {
                    path,
                    secrets: secrets.clone(),
                    presented: presented.clone(),
                },
                Some(ClientAssertionCredentialOptions {
                    client_options: client_options(cloud, http),
                }),
            )
            .map_err(setup)?
        }
        Method::ClientSecret => {
            let secret = need(
                &config.azure.client_secret,
                "--client-secret (or AZURE_CLIENT_SECRET)",
            )?;
            secrets.register(&secret);
            ClientSecretCredential::new(
                &need(&config.azure.tenant_id, "--tenant-id")?,
                need(&config.azure.client_id, "--client-id")?,
                Secret::new(secret),
                Some(ClientSecretCredentialOptions {
                    client_options: client_options(cloud, http),
                }),
            )
            .map_err(setup)?
        }
        Method::ManagedIdentity => {
            ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
                user_assigned_id: config
                    .azure
                    .client_id
                    .clone()
                    .or_else(|| config.build.managed_identity.clone().flatten())
                    .map(UserAssignedId::ClientId),
                client_options: client_options(cloud, http),
            }))
            .map_err(setup)?
        }
        Method::AzureCli => AzureCliCredential::new(Some(AzureCliCredentialOptions {
            tenant_id: config.azure.tenant_id.clone(),
            ..Default::default()
        }))
        .map_err(setup)?,
    };
    Ok(Session {
        method,
        credential,
        presented,
        oidc_failure,
        secrets: secrets.clone(),
        earliest_expiry: Mutex::new(None),
    })
}

impl Session {
    /// What the job presented to Entra (GitHub OIDC / federated token), once fetched.
    pub fn presented(&self) -> Option<Presented> {
        self.presented.lock().ok().and_then(|p| p.clone())
    }

    /// The earliest expiry (`expires_on`) of the tokens handed out so far: for the Azure
    /// CLI, when the first token it cached for this run runs out.
    pub fn earliest_expiry(&self) -> Option<std::time::SystemTime> {
        self.earliest_expiry.lock().ok().and_then(|e| *e)
    }

    /// An access token for `scope` (`…/.default`).
    pub async fn token(&self, scope: &str) -> Result<String, EntraError> {
        match self.credential.get_token(&[scope], None).await {
            Ok(t) => {
                let token = t.token.secret().to_string();
                self.secrets.register(&token);
                let expires = u64::try_from(t.expires_on.unix_timestamp())
                    .ok()
                    .and_then(|s| {
                        std::time::UNIX_EPOCH.checked_add(std::time::Duration::from_secs(s))
                    });
                if let (Some(e), Ok(mut earliest)) = (expires, self.earliest_expiry.lock()) {
                    *earliest = Some(earliest.map_or(e, |x| x.min(e)));
                }
                Ok(token)
            }
            Err(e) => {
                if let Some(f) = self.oidc_failure.lock().ok().and_then(|f| f.clone()) {
                    return Err(EntraError::OidcRequest(f));
                }
                Err(map_error(&e))
            }
        }
    }
}

/// The error itself, or the first error it wraps that holds an HTTP response (the
/// managed-identity credential wraps the endpoint's answer in its own error).
fn with_response(e: &azure_core::Error) -> &azure_core::Error {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<azure_core::Error>()
            && matches!(found.kind(), ErrorKind::HttpResponse { .. })
        {
            return found;
        }
        current = err.source();
    }
    e
}

fn map_error(e: &azure_core::Error) -> EntraError {
    let e = with_response(e);
    if let ErrorKind::HttpResponse {
        status,
        raw_response,
        error_code,
    } = e.kind()
    {
        let body: serde_json::Value = raw_response
            .as_ref()
            .and_then(|r| serde_json::from_slice(r.body().as_ref()).ok())
            .unwrap_or(serde_json::Value::Null);
        let text = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_string);
        let mut codes: Vec<u32> = body
            .get("error_codes")
            .and_then(|c| c.as_array())
            .into_iter()
            .flatten()
            .filter_map(|c| c.as_u64().and_then(|n| u32::try_from(n).ok()))
            .collect();
        if codes.is_empty() {
            codes = error_code
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .filter_map(|c| c.trim().parse().ok())
                .collect();
        }
        let description = text("error_description").unwrap_or_else(|| e.to_string());
        if codes.is_empty() {
            // The description names the code when the body lists none.
            if let Some(rest) = description.split("AADSTS").nth(1) {
                let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                if let Ok(n) = digits.parse() {
                    codes.push(n);
                }
            }
        }
        return EntraError::Rejected {
            status: u16::from(*status),
            codes,
            description: crate::secrets::redact_tokens(&description),
            trace_id: text("trace_id"),
            correlation_id: text("correlation_id"),
        };
    }
    // azure_identity 1.0 cannot deserialise Entra's error body when the description
    // holds escapes (it always holds `\r\n`), and reports a conversion error quoting
    // the body instead: recover the facts from that text.
    let text = e.to_string();
    if let Some(found) = from_quoted_body(&text) {
        return found;
    }
    EntraError::Other(crate::secrets::redact_tokens(&text))
}

/// Reads "AADSTSnnnn: …", "Trace ID: …", "Correlation ID: …" out of an error text
/// whose line breaks may be real or written as `\r\n`.
fn from_quoted_body(text: &str) -> Option<EntraError> {
    let start = text.find("AADSTS")?;
    let normalised = text[start..].replace("\\r\\n", "\n").replace("\r\n", "\n");
    let digits: String = normalised["AADSTS".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let code: u32 = digits.parse().ok()?;
    let field = |label: &str| {
        normalised
            .split(label)
            .nth(1)
            .map(|rest| {
                rest.trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
                    .collect::<String>()
            })
            .filter(|v| !v.is_empty())
    };
    let description = normalised
        .lines()
        .next()
        .unwrap_or_default()
        .trim_end_matches('"')
        .to_string();
    Some(EntraError::Rejected {
        status: 0,
        codes: vec![code],
        description: crate::secrets::redact_tokens(&description),
        trace_id: field("Trace ID:"),
        correlation_id: field("Correlation ID:"),
    })
}
