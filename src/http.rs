//! The one HTTP client of a run: one connection pool, one TLS stack (rustls), with
//! `--resolve` and `--ca-file` applied once. Every check that talks HTTP uses it.

use crate::config::Config;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum HttpSetupError {
    #[error("cannot read CA file {path}: {source}")]
    CaUnreadable {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "CA file {path} holds no PEM certificate (expected -----BEGIN CERTIFICATE----- blocks)"
    )]
    CaEmpty { path: String },
    #[error("CA file {path} is not valid PEM: {reason}")]
    CaInvalid { path: String, reason: String },
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

/// Reads a PEM bundle of extra root certificates.
pub fn read_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>, HttpSetupError> {
    let shown = path.display().to_string();
    let bytes = crate::fsread::read_capped(path, crate::fsread::CA_FILE_CAP).map_err(|e| {
        HttpSetupError::CaUnreadable {
            path: shown.clone(),
            source: e.into(),
        }
    })?;
    let certs =
        reqwest::Certificate::from_pem_bundle(&bytes).map_err(|e| HttpSetupError::CaInvalid {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(HttpSetupError::CaEmpty { path: shown });
    }
    Ok(certs)
}

/// Builds the shared client, once per run (src/app.rs): the identity check, the
/// registry check and the pull request feedback all use it.
pub fn build_client(config: &Config) -> Result<reqwest::Client, HttpSetupError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("acr-preflight/", env!("CARGO_PKG_VERSION")))
        // Never past the run's deadline; each call site may set a shorter one.
        .timeout(config.timeout)
        .connect_timeout(config.timeout.min(std::time::Duration::from_secs(10)))
        // Registries redirect blob downloads across hosts; the registry client follows
        // redirects itself so it can drop credentials on a host change.
        .redirect(reqwest::redirect::Policy::none());
    for rule in &config.resolve {
        // reqwest keeps a non-zero port from the override when the URL has no explicit
        // port, which is how registries and Entra are addressed.
        builder = builder.resolve(&rule.host, rule.addr);
    }
    if let Some(path) = &config.ca_file {
        builder = builder.tls_certs_merge(read_ca_file(path)?);
    }
    builder
        .build()
        .map_err(|e| HttpSetupError::Client(error_chain(&e)))
}

/// An error with its causes, `a: b: c`, for messages that must show the root cause.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

// ---------------------------------------------------------------------------------------
// Body size caps: every HTTP body the tool reads goes through `read_capped` (registry,
// token server, ARM, GitHub's OIDC endpoint, the ACR exchange) or `CappedTransport`
// (Entra, through azure_identity). docs/checks.md states the cap.
// ---------------------------------------------------------------------------------------

/// The largest HTTP body read from any server: far above any manifest (the OCI spec
/// suggests registries refuse manifests over 4 MiB), token, error or list page.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// `4 MiB`, for messages.
pub fn describe_cap(cap: usize) -> String {
    if cap >= 1024 * 1024 && cap.is_multiple_of(1024 * 1024) {
        format!("{} MiB", cap / (1024 * 1024))
    } else if cap >= 1024 && cap.is_multiple_of(1024) {
        format!("{} KiB", cap / 1024)
    } else {
        format!("{cap} bytes")
    }
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// The server announced or sent more than the cap; reading stopped there.
    TooLarge { cap: usize },
    /// The connection failed while the body was read (reset, timeout, TLS).
    Transport(reqwest::Error),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge { cap } => {
                write!(f, "answered a body larger than {}", describe_cap(*cap))
            }
            BodyError::Transport(e) => write!(f, "{}", error_chain(e)),
        }
    }
}

impl std::error::Error for BodyError {}

/// Reads a response body, at most `cap` bytes. A body announced or found larger is
/// not read further: the caller reports [`BodyError::TooLarge`], never a truncated body.
/// Memory stays at most `cap` plus one network chunk.
pub async fn read_capped(
    mut response: reqwest::Response,
    cap: usize,
) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|announced| announced > cap as u64)
    {
        return Err(BodyError::TooLarge { cap });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(BodyError::TooLarge { cap });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The transport azure_identity runs on: the shared client, with every body read
/// through the same cap (azure_core would otherwise collect any size into memory).
#[derive(Debug, Clone)]
pub struct CappedTransport {
    http: reqwest::Client,
    cap: usize,
}

impl CappedTransport {
    pub fn new(http: reqwest::Client, cap: usize) -> CappedTransport {
        CappedTransport { http, cap }
    }
}

#[async_trait::async_trait]
impl azure_core::http::HttpClient for CappedTransport {
    async fn execute_request(
        &self,
        request: &azure_core::http::Request,
    ) -> azure_core::Result<azure_core::http::AsyncRawResponse> {
        use azure_core::error::ErrorKind;
        use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
        use azure_core::http::{Body, Method};
        let Body::Bytes(bytes) = request.body() else {
            // azure_identity sends forms only; a streamed body has no caller here.
            return azure_core::http::HttpClient::execute_request(&self.http, request).await;
        };
        let method = match request.method() {
            Method::Delete => reqwest::Method::DELETE,
            Method::Get => reqwest::Method::GET,
            Method::Head => reqwest::Method::HEAD,
            Method::Patch => reqwest::Method::PATCH,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            _ => {
                return Err(azure_core::Error::with_message(
                    ErrorKind::Other,
                    "acr-preflight sends no such request to Entra",
                ));
            }
        };
        let url = request.url().clone();
        let host = url.host_str().unwrap_or_default().to_string();
        let mut builder = self.http.request(method, url);
        for (name, value) in request.headers().iter() {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let response = builder.body(bytes.clone()).send().await.map_err(|e| {
            let kind = if e.is_connect() {
                ErrorKind::Connection
            } else {
                ErrorKind::Io
            };
            azure_core::Error::with_message(kind, format!("{host}: {}", error_chain(&e)))
        })?;
        let status = response.status().as_u16();
        let headers: std::collections::HashMap<HeaderName, HeaderValue> = response
            .headers()
            .iter()
            .filter_map(|(k, v)| {
                let v = v.to_str().ok()?;
                Some((
                    HeaderName::from(k.as_str().to_owned()),
                    HeaderValue::from(v.to_owned()),
                ))
            })
            .collect();
        let body = read_capped(response, self.cap)
            .await
            .map_err(|e| azure_core::Error::with_message(ErrorKind::Io, format!("{host} {e}")))?;
        Ok(azure_core::http::AsyncRawResponse::from_bytes(
            status.into(),
            Headers::from(headers),
            body,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn resolve_sends_the_host_name_to_the_overridden_address() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = sock.read(&mut buf).await.unwrap();
            sock.write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            String::from_utf8_lossy(&buf[..n]).to_string()
        });
        let mut config = Config::for_tests("/nonexistent".into());
        config.resolve =
            vec![crate::cli::parse_resolve(&format!("myreg.azurecr.io={addr}")).unwrap()];
        let client = build_client(&config).unwrap();
        let resp = client
            .get("http://myreg.azurecr.io/v2/")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
        let request = server.await.unwrap();
        assert!(
            request
                .to_ascii_lowercase()
                .contains("host: myreg.azurecr.io\r\n"),
            "{request}"
        );
    }

    #[test]
    fn ca_file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        assert!(
            read_ca_file(&missing)
                .unwrap_err()
                .to_string()
                .contains("missing.pem")
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        assert!(matches!(
            read_ca_file(&empty),
            Err(HttpSetupError::CaEmpty { .. })
        ));
    }
}
