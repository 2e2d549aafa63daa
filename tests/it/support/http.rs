//! A deliberately small HTTP/1.1 server for the harness's fake endpoints: one request per
//! connection, answered with `Content-Length` and `Connection: close`. It runs on its own
//! thread with its own current-thread runtime, so it answers whatever the test thread
//! does (awaits, or blocks on a child process). `Drop` stops it and joins the thread,
//! which also closes every connection it still holds.
//!
//! Handlers are plain synchronous closures (run on the runtime's blocking pool), returning
//! a [`Reply`]: a response, hang (keep the socket, never answer), close without answering,
//! or relay to an upstream server (used to put a fault in front of the real registry).
//!
//! [`MockServer::start_tls`] serves the same over HTTPS (rustls through `tokio-rustls`,
//! HTTP/1.1 only via ALPN) with a certificate from [`super::tls::TestCa`]. One listener
//! may stand in for several host names: issue the certificate for all of them, point
//! each name at [`MockServer::addr`] (`ClientBuilder::resolve`, or the binary's
//! `--resolve HOST=IP:PORT`), and route on [`Request::host`] (the `Host` header) or
//! [`Request::sni`] (the TLS server name the client sent).

use std::io;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

/// One parsed request. Query and header values are kept as received (query decoded).
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The request target as sent (`/token?service=x&scope=y`).
    pub target: String,
    /// The path part of the target, not decoded.
    pub path: String,
    /// Decoded query pairs in order (`+` is a space), repeated keys kept.
    pub query: Vec<(String, String)>,
    /// Headers in order, names as sent.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The TLS server name (SNI) the client sent; `None` over plain HTTP or without SNI.
    pub sni: Option<String>,
}

impl Request {
    /// First header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every query value of `key`, in order.
    pub fn query_all(&self, key: &str) -> Vec<String> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The first query value of `key`.
    pub fn query_first(&self, key: &str) -> Option<String> {
        self.query_all(key).into_iter().next()
    }

    /// The body parsed as `application/x-www-form-urlencoded`.
    pub fn form(&self) -> Vec<(String, String)> {
        parse_urlencoded(&String::from_utf8_lossy(&self.body))
    }

    /// The `Host` header without its port, lowercased (`login.microsoftonline.com`);
    /// falls back to the SNI name, then to an empty string.
    pub fn host(&self) -> String {
        let raw = self
            .header("host")
            .map(str::to_string)
            .or_else(|| self.sni.clone())
            .unwrap_or_default();
        let name = if let Some(rest) = raw.strip_prefix('[') {
            // [::1]:443
            format!("[{}]", rest.split(']').next().unwrap_or_default())
        } else {
            raw.rsplit_once(':')
                .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
                .map(|(h, _)| h.to_string())
                .unwrap_or(raw)
        };
        name.to_ascii_lowercase()
    }
}

/// A canned response.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A JSON response (`Content-Type: application/json`).
    pub fn json(status: u16, value: &serde_json::Value) -> Response {
        Response::new(status)
            .header("Content-Type", "application/json")
            .body(serde_json::to_vec(value).expect("serialize JSON"))
    }

    /// A distribution-style error: `{"errors":[{"code":..,"message":..}]}`.
    pub fn registry_error(status: u16, code: &str, message: &str) -> Response {
        Response::json(
            status,
            &serde_json::json!({"errors": [{"code": code, "message": message}]}),
        )
    }

    pub fn header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Response {
        self.body = body.into();
        self
    }
}

/// What a handler does with a request.
#[derive(Clone, Debug)]
pub enum Reply {
    Respond(Response),
    /// Keep the connection open and never answer, until the server is dropped.
    Hang,
    /// Close the connection without a response.
    Close,
    /// Relay the request to this server and its response back (`Connection: close` both ways).
    Proxy(SocketAddr),
    /// Relay this request instead of the one received (a front that rewrites headers,
    /// such as one that swaps an opaque token for the registry's own).
    ProxyAs(SocketAddr, Box<Request>),
}

impl From<Response> for Reply {
    fn from(r: Response) -> Reply {
        Reply::Respond(r)
    }
}

/// The handler signature: the request and its 0-based index among all requests served.
pub type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync + 'static;

struct Shared {
    hits: AtomicUsize,
    log: Mutex<Vec<Request>>,
    /// TLS handshakes that failed (client refused the certificate, spoke plain HTTP, …).
    handshake_failures: AtomicUsize,
}

/// A running fake server. Dropping it stops it.
pub struct MockServer {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl MockServer {
    /// Binds `127.0.0.1:0` and serves `handler`.
    pub fn start(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> MockServer {
        MockServer::from_listener(bind_loopback(), handler)
    }

    /// Serves on an already bound listener (so the caller knows the address first).
    /// Connections that arrive before the accept loop runs wait in the listen backlog,
    /// so the server is usable as soon as this returns.
    pub fn from_listener(
        listener: StdListener,
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> MockServer {
        MockServer::spawn(listener, None, handler)
    }

    /// Binds `127.0.0.1:0` and serves `handler` over HTTPS with this certificate chain
    /// (PEM, leaf first) and private key (PEM, PKCS#8, SEC1 or PKCS#1), as made by
    /// [`super::tls::TestCa::issue_server_cert`]. ALPN offers `http/1.1` only.
    pub fn start_tls(
        cert: &Path,
        key: &Path,
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> MockServer {
        MockServer::from_listener_tls(bind_loopback(), cert, key, handler)
    }

    /// [`MockServer::start_tls`] on an already bound listener.
    pub fn from_listener_tls(
        listener: StdListener,
        cert: &Path,
        key: &Path,
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> MockServer {
        let acceptor = tls_acceptor(cert, key);
        MockServer::spawn(listener, Some(acceptor), handler)
    }

    fn spawn(
        listener: StdListener,
        tls: Option<TlsAcceptor>,
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> MockServer {
        let addr = listener.local_addr().expect("local addr");
        let is_tls = tls.is_some();
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let shared = Arc::new(Shared {
            hits: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
            handshake_failures: AtomicUsize::new(0),
        });
        let handler: Arc<Handler> = Arc::new(handler);
        let (tx, rx) = oneshot::channel();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!(
                "mock-{}-{}",
                if is_tls { "https" } else { "http" },
                addr.port()
            ))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("server runtime");
                rt.block_on(serve(listener, tls, handler, thread_shared, rx));
                // Dropping the runtime cancels the connection tasks (hanging ones too),
                // which closes their sockets.
                drop(rt);
            })
            .expect("spawn server thread");
        MockServer {
            addr,
            tls: is_tls,
            shared,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT` (`https://` for a TLS server).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme(), self.addr)
    }

    /// `http` or `https`.
    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The URL under another host name resolved to this server, e.g.
    /// `https://login.microsoftonline.com:PORT` (pair it with `ClientBuilder::resolve`,
    /// which also keeps this port for URLs without one).
    pub fn url_as(&self, host: &str) -> String {
        format!("{}://{}:{}", self.scheme(), host, self.addr.port())
    }

    /// TLS handshakes that failed so far (0 for a plain server).
    pub fn handshake_failures(&self) -> usize {
        self.shared.handshake_failures.load(Ordering::SeqCst)
    }

    /// Requests read completely so far (including ones never answered).
    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// Every request read so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Stops the server now (also done by `Drop`).
    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Binds a std listener on `127.0.0.1:0`.
pub fn bind_loopback() -> StdListener {
    StdListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0")
}

/// A rustls acceptor for this certificate chain and key (PEM files), HTTP/1.1 only.
pub fn tls_acceptor(cert: &Path, key: &Path) -> TlsAcceptor {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .unwrap_or_else(|e| panic!("read certificate {}: {e}", cert.display()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("parse certificate {}: {e}", cert.display()));
    assert!(!chain.is_empty(), "no certificate in {}", cert.display());
    let key = PrivateKeyDer::from_pem_file(key)
        .unwrap_or_else(|e| panic!("read private key {}: {e}", key.display()));
    // The provider is named explicitly so no process-wide default is needed.
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("certificate and key match");
    // One request per connection: HTTP/2 would buy nothing and the parser is HTTP/1.1.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsAcceptor::from(Arc::new(config))
}

async fn serve(
    listener: StdListener,
    tls: Option<TlsAcceptor>,
    handler: Arc<Handler>,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let listener = TcpListener::from_std(listener).expect("tokio listener");
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                if let Ok((stream, _)) = accepted {
                    match &tls {
                        None => {
                            tokio::spawn(connection(stream, None, handler.clone(), shared.clone()));
                        }
                        Some(acceptor) => {
                            tokio::spawn(tls_connection(
                                acceptor.clone(),
                                stream,
                                handler.clone(),
                                shared.clone(),
                            ));
                        }
                    }
                }
            }
        }
    }
}

async fn tls_connection(
    acceptor: TlsAcceptor,
    stream: TcpStream,
    handler: Arc<Handler>,
    shared: Arc<Shared>,
) {
    match acceptor.accept(stream).await {
        Ok(tls) => {
            let sni = tls.get_ref().1.server_name().map(str::to_string);
            connection(tls, Some(sni), handler, shared).await;
        }
        Err(_) => {
            shared.handshake_failures.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// Serves one request on `stream`; `tls` is `Some(sni)` for a TLS connection.
async fn connection<S>(
    mut stream: S,
    tls: Option<Option<String>>,
    handler: Arc<Handler>,
    shared: Arc<Shared>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let is_tls = tls.is_some();
    let request = match read_request(&mut stream).await {
        Ok(Some(mut r)) => {
            r.sni = tls.flatten();
            r
        }
        _ => return,
    };
    let index = shared.hits.fetch_add(1, Ordering::SeqCst);
    shared.log.lock().unwrap().push(request.clone());
    let for_handler = request.clone();
    let reply = tokio::task::spawn_blocking(move || handler(&for_handler, index))
        .await
        .unwrap_or_else(|e| {
            Reply::Respond(
                Response::new(500).body(format!("test handler panicked: {e}").into_bytes()),
            )
        });
    match reply {
        Reply::Respond(response) => {
            let _ = write_response(&mut stream, &response, request.method == "HEAD").await;
        }
        Reply::Hang => std::future::pending::<()>().await,
        Reply::Close => {}
        Reply::Proxy(upstream) => {
            // Behind TLS the upstream is told so, as a TLS-terminating proxy does
            // (distribution then builds `https://` Location URLs).
            let forwarded_proto = if is_tls { Some("https") } else { None };
            let _ = relay(&mut stream, &request, upstream, forwarded_proto).await;
        }
        Reply::ProxyAs(upstream, rewritten) => {
            let forwarded_proto = if is_tls { Some("https") } else { None };
            let _ = relay(&mut stream, &rewritten, upstream, forwarded_proto).await;
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Reads more bytes into `buf` until it holds at least `n`.
async fn fill<S: AsyncRead + Unpin>(s: &mut S, buf: &mut Vec<u8>, n: usize) -> io::Result<()> {
    let mut tmp = [0u8; 8192];
    while buf.len() < n {
        let got = s.read(&mut tmp).await?;
        if got == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&tmp[..got]);
    }
    Ok(())
}

/// Reads bytes into `buf` until `needle` appears; returns its offset.
async fn fill_until<S: AsyncRead + Unpin>(
    s: &mut S,
    buf: &mut Vec<u8>,
    needle: &[u8],
) -> io::Result<Option<usize>> {
    let mut tmp = [0u8; 8192];
    loop {
        if let Some(i) = find(buf, needle) {
            return Ok(Some(i));
        }
        if buf.len() > 1 << 20 {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too large"));
        }
        let got = s.read(&mut tmp).await?;
        if got == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&tmp[..got]);
    }
}

/// Reads one request: head, then a `Content-Length` or chunked body. `Ok(None)` when the
/// peer closed before sending a complete head.
pub async fn read_request<S: AsyncRead + Unpin>(s: &mut S) -> io::Result<Option<Request>> {
    let mut buf = Vec::new();
    let Some(head_end) = fill_until(s, &mut buf, b"\r\n\r\n").await? else {
        return Ok(None);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut rest = buf[head_end + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_string();
    let target = parts.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), parse_urlencoded(q)),
        None => (target.clone(), Vec::new()),
    };
    let mut request = Request {
        method,
        target,
        path,
        query,
        headers,
        body: Vec::new(),
        sni: None,
    };
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        let mut body = Vec::new();
        loop {
            let Some(eol) = fill_until(s, &mut rest, b"\r\n").await? else {
                return Err(io::ErrorKind::UnexpectedEof.into());
            };
            let size_text = String::from_utf8_lossy(&rest[..eol]).into_owned();
            let size_hex = size_text.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size_hex, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            rest.drain(..eol + 2);
            if size == 0 {
                // Optional trailers, then the final empty line.
                loop {
                    let Some(eol) = fill_until(s, &mut rest, b"\r\n").await? else {
                        break;
                    };
                    rest.drain(..eol + 2);
                    if eol == 0 {
                        break;
                    }
                }
                break;
            }
            fill(s, &mut rest, size + 2).await?;
            body.extend_from_slice(&rest[..size]);
            rest.drain(..size + 2);
        }
        request.body = body;
    } else {
        let len: usize = request
            .header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        fill(s, &mut rest, len).await?;
        rest.truncate(len);
        request.body = rest;
    }
    Ok(Some(request))
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// Writes `response` with `Content-Length` and `Connection: close`, then closes the write
/// side. For HEAD the body is left out but its length is announced.
pub async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    response: &Response,
    head_only: bool,
) -> io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    let has = |name: &str| {
        response
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    };
    for (k, v) in &response.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !has("content-length") {
        head.push_str(&format!("Content-Length: {}\r\n", response.body.len()));
    }
    if !has("connection") {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(&response.body).await?;
    }
    stream.flush().await?;
    stream.shutdown().await
}

/// Forwards `request` to `upstream` with `Connection: close` and copies the raw response
/// back until the upstream closes. The `Host` header is kept, so the registry builds
/// `Location` URLs that point back through the relay. With `forwarded_proto` (TLS
/// servers only) an `X-Forwarded-Proto` header is added.
async fn relay<S: AsyncRead + AsyncWrite + Unpin>(
    client: &mut S,
    request: &Request,
    upstream: SocketAddr,
    forwarded_proto: Option<&str>,
) -> io::Result<()> {
    let mut up = match TcpStream::connect(upstream).await {
        Ok(up) => up,
        Err(e) => {
            let r =
                Response::new(502).body(format!("relay to {upstream} failed: {e}").into_bytes());
            return write_response(client, &r, request.method == "HEAD").await;
        }
    };
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (k, v) in &request.headers {
        let skip = [
            "connection",
            "keep-alive",
            "transfer-encoding",
            "content-length",
        ]
        .iter()
        .any(|h| k.eq_ignore_ascii_case(h));
        if !skip {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    if !request.body.is_empty() || matches!(request.method.as_str(), "POST" | "PUT" | "PATCH") {
        head.push_str(&format!("Content-Length: {}\r\n", request.body.len()));
    }
    if let Some(proto) = forwarded_proto {
        head.push_str(&format!("X-Forwarded-Proto: {proto}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes()).await?;
    up.write_all(&request.body).await?;
    up.flush().await?;
    tokio::io::copy(&mut up, client).await?;
    client.shutdown().await
}

/// Decodes `%XX` escapes, and `+` as a space (form and query encoding).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(hi), Some(lo)) => {
                    out.push(hi << 4 | lo);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Encodes everything but RFC 3986 unreserved characters.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k=v&k=v` pairs, decoded.
pub fn parse_urlencoded(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// Encodes pairs as `application/x-www-form-urlencoded` (also usable as a query string).
/// reqwest's `form`/`query` need features this crate does not enable.
pub fn form_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}
