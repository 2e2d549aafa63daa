//! The one HTTP client of a run: one connection pool, one TLS stack (rustls), with
//! `--resolve` and `--ca-file` applied once. Every check that talks HTTP uses it.

use crate::config::Config;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

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

/// Reads a PEM bundle of extra root certificates; each must be usable as a trust anchor.
pub fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, HttpSetupError> {
    let shown = path.display().to_string();
    let bytes = crate::fsread::read_capped(path, crate::fsread::CA_FILE_CAP).map_err(|e| {
        HttpSetupError::CaUnreadable {
            path: shown.clone(),
            source: e.into(),
        }
    })?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| HttpSetupError::CaInvalid {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(HttpSetupError::CaEmpty { path: shown });
    }
    // The same check the root store makes when the certificates are added to it.
    let mut store = RootCertStore::empty();
    for cert in &certs {
        store
            .add(cert.clone())
            .map_err(|e| HttpSetupError::CaInvalid {
                path: shown.clone(),
                reason: e.to_string(),
            })?;
    }
    Ok(certs)
}

/// Reads a CA file and checks that it opens with a certificate (a readable file that
/// holds none, or whose first is garbled, is refused here, as [`read_ca_file`] does);
/// the rest is decoded and checked with the root store, on first use ([`LazyRoots`]).
/// `SSL_CERT_FILE`, the usual CA file, is the whole system bundle: decoding its few
/// hundred certificates is most of a run's CPU when no TLS connection is made.
fn read_ca_file_lazily(path: &Path) -> Result<Vec<u8>, HttpSetupError> {
    let shown = path.display().to_string();
    let bytes = crate::fsread::read_capped(path, crate::fsread::CA_FILE_CAP).map_err(|e| {
        HttpSetupError::CaUnreadable {
            path: shown.clone(),
            source: e.into(),
        }
    })?;
    match CertificateDer::pem_slice_iter(&bytes).next() {
        None => Err(HttpSetupError::CaEmpty { path: shown }),
        Some(Err(e)) => Err(HttpSetupError::CaInvalid {
            path: shown,
            reason: e.to_string(),
        }),
        Some(Ok(_)) => Ok(bytes),
    }
}

/// Builds the shared client, once per run (src/run/): the identity check, the
/// registry check and the pull request feedback all use it.
///
/// Building it reads no system certificate: the root store is read on the first
/// server certificate to verify ([`LazyRoots`]), so a run that makes no TLS connection
/// never reads one.
pub fn build_client(config: &Config) -> Result<reqwest::Client, HttpSetupError> {
    build_client_with(config, None)
}

/// [`build_client`] with the system roots read from `sources` instead of the ones the
/// process environment names (tests).
pub fn build_client_with(
    config: &Config,
    sources: Option<RootSources>,
) -> Result<reqwest::Client, HttpSetupError> {
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
    let extra = match &config.ca_file {
        Some(path) => Some((path.clone(), read_ca_file_lazily(path)?)),
        None => None,
    };
    let roots = match sources {
        Some(sources) => LazyRoots::with_sources(extra, sources),
        None => LazyRoots::new(extra),
    };
    builder
        .tls_backend_preconfigured(tls_config(roots))
        .build()
        .map_err(|e| HttpSetupError::Client(error_chain(&e)))
}

/// The rustls configuration reqwest's `rustls` feature would build (aws-lc-rs, TLS 1.2
/// and 1.3, ALPN h2 then http/1.1, SNI on), with `roots` as the certificate verifier.
fn tls_config(roots: LazyRoots) -> rustls::ClientConfig {
    let mut tls = rustls::ClientConfig::builder_with_provider(roots.provider.clone())
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .expect("aws-lc-rs supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(roots))
        .with_no_client_auth();
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tls
}

/// Where the system's trusted roots are, found the way `rustls-native-certs` (which
/// reqwest's default verifier uses on Linux) finds them: `SSL_CERT_FILE` and
/// `SSL_CERT_DIR` when either is set, else the first distro bundle that exists and
/// the distro certificate directories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootSources {
    pub file: Option<PathBuf>,
    pub dirs: Vec<PathBuf>,
}

/// Bundles, in the order openssl-probe tries them on Linux.
const BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
    "/opt/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/certs/cacert.pem",
];
const CERT_DIRS: &[&str] = &[
    "/etc/ssl/certs",
    "/etc/pki/tls/certs",
    "/etc/security/certificates",
];

impl RootSources {
    /// From the process environment (read on first use, as rustls-native-certs does).
    pub fn probe() -> RootSources {
        let file = std::env::var_os("SSL_CERT_FILE").map(PathBuf::from);
        let dirs: Vec<PathBuf> = std::env::var_os("SSL_CERT_DIR")
            .map(|d| {
                std::env::split_paths(&d)
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect()
            })
            .unwrap_or_default();
        if file.is_some() || !dirs.is_empty() {
            return RootSources { file, dirs };
        }
        RootSources {
            file: BUNDLES
                .iter()
                .map(Path::new)
                .find(|p| p.exists())
                .map(Path::to_path_buf),
            dirs: CERT_DIRS
                .iter()
                .map(PathBuf::from)
                .filter(|p| p.exists())
                .collect(),
        }
    }
}

type Verifier = Result<Arc<WebPkiServerVerifier>, rustls::Error>;

/// The client's certificate verifier: webpki (`WebPkiServerVerifier`, the verifier
/// reqwest's platform verifier runs on Linux) over the system roots plus `--ca-file`,
/// with the system roots read on the first certificate to verify, not when the client
/// is built.
///
/// The trust set is the one the platform verifier had (bundle, certificate
/// directories, `--ca-file`), but read in two steps: the single bundle file first
/// (one read, about a millisecond); the directories (one file per certificate, a few
/// hundred reads) only when a certificate fails against the bundle. A certificate that
/// fails then gets the answer of the full set: never more trusting than before.
#[derive(Debug)]
pub struct LazyRoots {
    provider: Arc<rustls::crypto::CryptoProvider>,
    /// `--ca-file` (or `SSL_CERT_FILE`): its path and PEM text.
    extra: Option<(PathBuf, Vec<u8>)>,
    sources: OnceLock<RootSources>,
    bundle: OnceLock<Verifier>,
    full: OnceLock<Verifier>,
}

impl LazyRoots {
    pub fn new(extra: Option<(PathBuf, Vec<u8>)>) -> LazyRoots {
        LazyRoots {
            provider: rustls::crypto::CryptoProvider::get_default()
                .cloned()
                .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider())),
            extra,
            sources: OnceLock::new(),
            bundle: OnceLock::new(),
            full: OnceLock::new(),
        }
    }

    /// With these sources instead of the process environment's (tests).
    pub fn with_sources(extra: Option<(PathBuf, Vec<u8>)>, sources: RootSources) -> LazyRoots {
        let roots = LazyRoots::new(extra);
        let _ = roots.sources.set(sources);
        roots
    }

    fn sources(&self) -> &RootSources {
        self.sources.get_or_init(RootSources::probe)
    }

    /// The verifier over the bundle (and `--ca-file`); over the directories too when
    /// there is no bundle.
    fn bundle(&self) -> &Verifier {
        self.bundle.get_or_init(|| {
            let sources = self.sources();
            let dirs: &[PathBuf] = if sources.file.is_some() {
                &[]
            } else {
                &sources.dirs
            };
            self.verifier(sources.file.as_deref(), dirs)
        })
    }

    /// Whether [`LazyRoots::full`] can trust more than [`LazyRoots::bundle`].
    fn has_more(&self) -> bool {
        let sources = self.sources();
        sources.file.is_some() && !sources.dirs.is_empty()
    }

    fn full(&self) -> &Verifier {
        self.full.get_or_init(|| {
            let sources = self.sources();
            self.verifier(sources.file.as_deref(), &sources.dirs)
        })
    }

    fn verifier(&self, file: Option<&Path>, dirs: &[PathBuf]) -> Verifier {
        let mut store = RootCertStore::empty();
        let mut seen = std::collections::HashSet::new();
        if let Some((path, pem)) = &self.extra {
            first_visit(&mut seen, path);
            // As strict as reqwest's `tls_certs_merge` was: one bad certificate in the
            // CA file and nothing is trusted, with the file named.
            let invalid = |reason: String| {
                rustls::Error::General(format!(
                    "CA file {} holds an unusable certificate: {reason}",
                    path.display()
                ))
            };
            for cert in CertificateDer::pem_slice_iter(pem) {
                store
                    .add(cert.map_err(|e| invalid(e.to_string()))?)
                    .map_err(|e| invalid(e.to_string()))?;
            }
        }
        if let Some(file) = file
            && first_visit(&mut seen, file)
        {
            add_pem_file(&mut store, file);
        }
        for dir in dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                // `openssl rehash` links; a file is read once however it is reached.
                if std::fs::metadata(&path).is_ok_and(|m| m.is_file())
                    && first_visit(&mut seen, &path)
                {
                    add_pem_file(&mut store, &path);
                }
            }
        }
        if store.is_empty() {
            let sources = self.sources();
            let looked = match (&sources.file, sources.dirs.is_empty()) {
                (Some(f), _) => f.display().to_string(),
                (None, false) => sources
                    .dirs
                    .iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
                (None, true) => BUNDLES.join(", "),
            };
            return Err(rustls::Error::General(format!(
                "no trusted root certificate could be read (looked in {looked}); install the ca-certificates package, set SSL_CERT_FILE, or pass --ca-file"
            )));
        }
        WebPkiServerVerifier::builder_with_provider(Arc::new(store), self.provider.clone())
            .build()
            .map_err(|e| rustls::Error::General(e.to_string()))
    }
}

/// Adds every certificate of a PEM file that webpki accepts as a trust anchor, as
/// rustls-native-certs does (an unreadable file or a malformed entry is skipped).
fn add_pem_file(store: &mut RootCertStore, path: &Path) {
    let Ok(bytes) = crate::fsread::read_capped(path, crate::fsread::CA_FILE_CAP) else {
        return;
    };
    store.add_parsable_certificates(CertificateDer::pem_slice_iter(&bytes).filter_map(Result::ok));
}

/// True the first time a file (by device and inode) is seen.
#[cfg(unix)]
fn first_visit(seen: &mut std::collections::HashSet<(u64, u64)>, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(path) {
        Ok(m) => seen.insert((m.dev(), m.ino())),
        Err(_) => true,
    }
}

/// Elsewhere (Windows) std has no stable file id: a file is read for each name that
/// leads to it.
#[cfg(not(unix))]
fn first_visit(_: &mut std::collections::HashSet<(u64, u64)>, _: &Path) -> bool {
    true
}

impl ServerCertVerifier for LazyRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verify = |v: &Verifier| {
            v.as_ref().map_err(Clone::clone)?.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            )
        };
        match verify(self.bundle()) {
            Err(_) if self.has_more() => verify(self.full()),
            answer => answer,
        }
    }

    // Signatures need no root: the provider's algorithms, as WebPkiServerVerifier does.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
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

/// Runs `call` until `deadline`: `None` when the deadline passes first.
pub async fn before<T>(deadline: std::time::Instant, call: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout_at(tokio::time::Instant::from_std(deadline), call)
        .await
        .ok()
}

/// Where a redirect answered for `current` points: its `Location` resolved against
/// `current`, when that is an http(s) URL.
pub fn redirect_location(
    current: &url::Url,
    headers: &reqwest::header::HeaderMap,
) -> Option<url::Url> {
    headers
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .and_then(|l| current.join(l).ok())
        .filter(|n| matches!(n.scheme(), "https" | "http"))
}

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
