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
