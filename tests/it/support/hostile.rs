//! Hostile HTTP servers for fault injection: what [`super::http::MockServer`] cannot do
//! because it answers with whole canned responses. A [`HostileServer`] reads each
//! request with the harness's parser, asks its handler for an [`Act`], and then
//! misbehaves at the byte level: never answers, trickles the head one byte a second,
//! resets the connection in the middle of the body, or streams a body of any size
//! without ever holding it in memory.
//!
//! Bounds, so a hostile server can never hang or flood a test run:
//! - it listens on `127.0.0.1:0` only;
//! - every connection lives at most [`CONNECTION_LIFETIME`], then is dropped;
//! - it serves at most [`MAX_CONNECTIONS`] connections, then closes new ones at once;
//! - a streamed body is bounded by its stated length, written from one reused buffer;
//! - `Drop` stops the accept loop and every connection (its runtime is dropped).
//!
//! ```ignore
//! let s = HostileServer::start(|_req, _n| Act::Hang);                 // plain HTTP
//! let s = HostileServer::start_tls(&cert, &key, |_req, _n| Act::trickle(200, "{}"));
//! let s = HostileServer::start(|_req, _n| Act::stream(401, &[], b"{\"errors\":[", b'x', 100 << 20));
//! ```

use super::http::{Request, Response, bind_loopback, read_request, tls_acceptor};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

/// No connection is kept longer than this, whatever its act.
pub const CONNECTION_LIFETIME: Duration = Duration::from_secs(60);
/// Connections served before the server closes every new one unanswered.
pub const MAX_CONNECTIONS: usize = 256;
/// Size of the one buffer a streamed body is written from.
const STREAM_CHUNK: usize = 64 * 1024;

/// What the server does with one request.
#[derive(Clone, Debug)]
pub enum Act {
    /// Keeps the connection, never answers.
    Hang,
    /// Sends `bytes` one byte every `every`, then keeps the connection silent.
    Trickle { bytes: Vec<u8>, every: Duration },
    /// Sends the head (announcing `Content-Length: announced`) and `sent` bytes of the
    /// body, then resets the connection (RST on plain TCP; an abrupt close over TLS).
    ResetMidBody {
        status: u16,
        headers: Vec<(String, String)>,
        announced: u64,
        sent: u64,
    },
    /// Sends a head and a body of `len` bytes: `prefix`, then `fill` repeated. With
    /// `chunked` the body goes out with `Transfer-Encoding: chunked` and no length.
    Stream {
        status: u16,
        headers: Vec<(String, String)>,
        prefix: Vec<u8>,
        fill: u8,
        len: u64,
        chunked: bool,
    },
    /// Sends the head (announcing `Content-Length: announced`) and `sent` bytes of the
    /// body, then keeps the connection open and silent.
    StallMidBody {
        status: u16,
        headers: Vec<(String, String)>,
        announced: u64,
        sent: u64,
    },
    /// A normal, complete answer.
    Respond(Response),
    /// Closes the connection without a word.
    Close,
}

impl Act {
    /// A complete answer whose head (and body) trickle out one byte a second.
    pub fn trickle(status: u16, headers: &[(&str, &str)], body: &str) -> Act {
        let mut head = format!("HTTP/1.1 {status} Status\r\n");
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str(&format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ));
        Act::Trickle {
            bytes: head.into_bytes(),
            every: Duration::from_secs(1),
        }
    }

    /// A `len`-byte body announced with `Content-Length`.
    pub fn stream(status: u16, headers: &[(&str, &str)], prefix: &[u8], fill: u8, len: u64) -> Act {
        Act::Stream {
            status,
            headers: owned(headers),
            prefix: prefix.to_vec(),
            fill,
            len,
            chunked: false,
        }
    }

    /// A `len`-byte body sent chunked (no length announced up front).
    pub fn stream_chunked(
        status: u16,
        headers: &[(&str, &str)],
        prefix: &[u8],
        fill: u8,
        len: u64,
    ) -> Act {
        Act::Stream {
            status,
            headers: owned(headers),
            prefix: prefix.to_vec(),
            fill,
            len,
            chunked: true,
        }
    }

    /// The head and `sent` of `announced` body bytes, then silence.
    pub fn stall_mid_body(status: u16, headers: &[(&str, &str)], announced: u64, sent: u64) -> Act {
        Act::StallMidBody {
            status,
            headers: owned(headers),
            announced,
            sent,
        }
    }

    /// The head and `sent` of `announced` body bytes, then a reset.
    pub fn reset_mid_body(status: u16, headers: &[(&str, &str)], announced: u64, sent: u64) -> Act {
        Act::ResetMidBody {
            status,
            headers: owned(headers),
            announced,
            sent,
        }
    }
}

fn owned(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

type Handler = dyn Fn(&Request, usize) -> Act + Send + Sync + 'static;

struct Shared {
    connections: AtomicUsize,
    requests: AtomicUsize,
    /// Body bytes written to clients, over all connections.
    body_bytes: AtomicUsize,
    log: Mutex<Vec<Request>>,
}

/// A running hostile server; dropping it stops it.
pub struct HostileServer {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl HostileServer {
    /// Plain HTTP on `127.0.0.1:0`.
    pub fn start(handler: impl Fn(&Request, usize) -> Act + Send + Sync + 'static) -> Self {
        Self::spawn(None, Arc::new(handler))
    }

    /// HTTPS on `127.0.0.1:0` with this certificate chain and key (PEM), as issued by
    /// [`super::tls::TestCa::issue_server_cert`].
    pub fn start_tls(
        cert: &Path,
        key: &Path,
        handler: impl Fn(&Request, usize) -> Act + Send + Sync + 'static,
    ) -> Self {
        Self::spawn(Some(tls_acceptor(cert, key)), Arc::new(handler))
    }

    fn spawn(tls: Option<TlsAcceptor>, handler: Arc<Handler>) -> Self {
        let listener = bind_loopback();
        let addr = listener.local_addr().expect("local addr");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let shared = Arc::new(Shared {
            connections: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            body_bytes: AtomicUsize::new(0),
            log: Mutex::new(Vec::new()),
        });
        let (tx, rx) = oneshot::channel();
        let is_tls = tls.is_some();
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("hostile-{}", addr.port()))
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("hostile server runtime");
                rt.block_on(accept_loop(listener, tls, handler, thread_shared, rx));
                // Dropping the runtime cancels every connection task and closes its socket.
                drop(rt);
            })
            .expect("spawn hostile server thread");
        HostileServer {
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

    /// `http://127.0.0.1:PORT` (`https://` for TLS).
    pub fn url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.addr
        )
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Requests read completely so far.
    pub fn hits(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Body bytes the server managed to write (what the client accepted).
    pub fn body_bytes_sent(&self) -> usize {
        self.shared.body_bytes.load(Ordering::SeqCst)
    }

    /// Every request read, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.shared
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
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

impl Drop for HostileServer {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    tls: Option<TlsAcceptor>,
    handler: Arc<Handler>,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let n = shared.connections.fetch_add(1, Ordering::SeqCst);
                if n >= MAX_CONNECTIONS {
                    drop(stream);
                    continue;
                }
                let (tls, handler, shared) = (tls.clone(), handler.clone(), shared.clone());
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(
                        CONNECTION_LIFETIME,
                        connection(stream, tls, handler, shared),
                    )
                    .await;
                });
            }
        }
    }
}

async fn connection(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    handler: Arc<Handler>,
    shared: Arc<Shared>,
) {
    match tls {
        None => serve(stream, None, handler, shared).await,
        Some(acceptor) => {
            if let Ok(tls) = acceptor.accept(stream).await {
                let sni = tls.get_ref().1.server_name().map(str::to_string);
                serve(tls, Some(sni), handler, shared).await;
            }
        }
    }
}

/// A stream whose underlying TCP socket can be made to reset on close.
trait Resettable {
    fn arm_reset(&self);
}

/// SO_LINGER with a zero timeout: closing sends RST instead of FIN (and does not block).
fn linger_zero(fd: std::os::fd::RawFd) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: fd is an open socket owned by the caller; the option value is a valid
    // `linger` of the size passed.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

impl Resettable for TcpStream {
    fn arm_reset(&self) {
        use std::os::fd::AsRawFd;
        linger_zero(self.as_raw_fd());
    }
}

impl Resettable for tokio_rustls::server::TlsStream<TcpStream> {
    fn arm_reset(&self) {
        use std::os::fd::AsRawFd;
        linger_zero(self.get_ref().0.as_raw_fd());
    }
}

async fn serve<S>(
    mut stream: S,
    sni: Option<Option<String>>,
    handler: Arc<Handler>,
    shared: Arc<Shared>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + Resettable + 'static,
{
    let mut request = match read_request(&mut stream).await {
        Ok(Some(r)) => r,
        _ => return,
    };
    request.sni = sni.flatten();
    let index = shared.requests.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut log) = shared.log.lock() {
        log.push(request.clone());
    }
    let for_handler = request.clone();
    let handler = handler.clone();
    let act = match tokio::task::spawn_blocking(move || handler(&for_handler, index)).await {
        Ok(act) => act,
        Err(_) => Act::Close,
    };
    let head_only = request.method == "HEAD";
    match act {
        Act::Hang => std::future::pending::<()>().await,
        Act::Close => {}
        Act::Respond(response) => {
            let _ = super::http::write_response(&mut stream, &response, head_only).await;
        }
        Act::Trickle { bytes, every } => {
            for b in bytes {
                if stream.write_all(&[b]).await.is_err() || stream.flush().await.is_err() {
                    return;
                }
                tokio::time::sleep(every).await;
            }
            std::future::pending::<()>().await
        }
        Act::ResetMidBody {
            status,
            headers,
            announced,
            sent,
        } => {
            let head = head(status, &headers, Some(announced));
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            if !head_only {
                let _ = write_fill(&mut stream, &[], b'x', sent, false, &shared).await;
            }
            let _ = stream.flush().await;
            stream.arm_reset();
            drop(stream);
        }
        Act::StallMidBody {
            status,
            headers,
            announced,
            sent,
        } => {
            let head = head(status, &headers, Some(announced));
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            if !head_only
                && write_fill(&mut stream, &[], b'x', sent, false, &shared)
                    .await
                    .is_err()
            {
                return;
            }
            let _ = stream.flush().await;
            std::future::pending::<()>().await
        }
        Act::Stream {
            status,
            headers,
            prefix,
            fill,
            len,
            chunked,
        } => {
            let head = head(status, &headers, (!chunked).then_some(len));
            let head = if chunked {
                head.replace("\r\n\r\n", "\r\nTransfer-Encoding: chunked\r\n\r\n")
            } else {
                head
            };
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            if !head_only
                && write_fill(&mut stream, &prefix, fill, len, chunked, &shared)
                    .await
                    .is_err()
            {
                return;
            }
            let _ = stream.flush().await;
            let _ = stream.shutdown().await;
        }
    }
}

fn head(status: u16, headers: &[(String, String)], length: Option<u64>) -> String {
    let mut head = format!("HTTP/1.1 {status} Status\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(len) = length {
        head.push_str(&format!("Content-Length: {len}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    head
}

/// Writes `len` body bytes, `prefix` first and `fill` after it, from one reused buffer.
async fn write_fill<S: AsyncWrite + Unpin>(
    stream: &mut S,
    prefix: &[u8],
    fill: u8,
    len: u64,
    chunked: bool,
    shared: &Shared,
) -> std::io::Result<()> {
    let mut buf = vec![fill; STREAM_CHUNK];
    let mut written: u64 = 0;
    let mut first = true;
    while written < len {
        let room = (len - written).min(STREAM_CHUNK as u64) as usize;
        let chunk: &[u8] = if first && !prefix.is_empty() {
            let n = prefix.len().min(room);
            buf[..n].copy_from_slice(&prefix[..n]);
            &buf[..room]
        } else {
            &buf[..room]
        };
        if chunked {
            stream
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
        }
        stream.write_all(chunk).await?;
        if chunked {
            stream.write_all(b"\r\n").await?;
        }
        shared.body_bytes.fetch_add(chunk.len(), Ordering::SeqCst);
        written += room as u64;
        if first && !prefix.is_empty() {
            // Later chunks are pure fill again.
            let n = prefix.len().min(room);
            buf[..n].fill(fill);
        }
        first = false;
    }
    if chunked {
        stream.write_all(b"0\r\n\r\n").await?;
    }
    Ok(())
}

/// How a [`SilentServer`] keeps quiet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Silence {
    /// Never calls `accept`: the kernel completes each TCP handshake in the listen
    /// backlog, and nothing is ever read or sent.
    Unaccepted,
    /// Accepts, reads whatever the client sends (a TLS ClientHello), never answers.
    AcceptedReading,
    /// A listen backlog of zero, filled by the server's own connections: the kernel
    /// drops every further SYN, so a client's TCP connect never completes.
    BacklogFull,
}

/// A TCP listener on `127.0.0.1:0` that never sends a byte, in one of the ways of
/// [`Silence`]. `Drop` stops it and closes every socket.
pub struct SilentServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// The listener (and the connections that fill its backlog) when nothing accepts.
    _held: Option<(std::net::TcpListener, Vec<std::net::TcpStream>)>,
}

impl SilentServer {
    pub fn start(silence: Silence) -> SilentServer {
        let listener = bind_loopback();
        let addr = listener.local_addr().expect("local addr");
        match silence {
            Silence::Unaccepted => SilentServer {
                addr,
                shutdown: None,
                thread: None,
                _held: Some((listener, Vec::new())),
            },
            Silence::BacklogFull => {
                use std::os::fd::AsRawFd;
                // listen(2) again on a listening socket sets its backlog.
                // SAFETY: a valid listening socket we own; no pointers passed.
                let rc = unsafe { libc::listen(listener.as_raw_fd(), 0) };
                assert_eq!(rc, 0, "listen(fd, 0)");
                // Fill the accept queue until a connect no longer completes: the
                // observed condition, not a guess at how many it holds.
                let mut filled = Vec::new();
                loop {
                    match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
                        Ok(s) => filled.push(s),
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => break,
                        Err(e) => panic!("filling the backlog of {addr}: {e}"),
                    }
                    assert!(filled.len() < 16, "the backlog of {addr} never filled");
                }
                SilentServer {
                    addr,
                    shutdown: None,
                    thread: None,
                    _held: Some((listener, filled)),
                }
            }
            Silence::AcceptedReading => {
                listener
                    .set_nonblocking(true)
                    .expect("nonblocking listener");
                let (tx, mut rx) = oneshot::channel::<()>();
                let thread = std::thread::Builder::new()
                    .name(format!("silent-{}", addr.port()))
                    .spawn(move || {
                        let rt = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .expect("silent server runtime");
                        rt.block_on(async move {
                            let Ok(listener) = TcpListener::from_std(listener) else {
                                return;
                            };
                            let mut served = 0usize;
                            loop {
                                tokio::select! {
                                    _ = &mut rx => break,
                                    accepted = listener.accept() => {
                                        let Ok((mut stream, _)) = accepted else { continue };
                                        served += 1;
                                        if served > MAX_CONNECTIONS {
                                            continue;
                                        }
                                        tokio::spawn(async move {
                                            use tokio::io::AsyncReadExt;
                                            let mut buf = [0u8; 4096];
                                            let _ = tokio::time::timeout(CONNECTION_LIFETIME, async {
                                                while let Ok(n) = stream.read(&mut buf).await {
                                                    if n == 0 {
                                                        break;
                                                    }
                                                }
                                            })
                                            .await;
                                        });
                                    }
                                }
                            }
                        });
                        drop(rt);
                    })
                    .expect("spawn silent server thread");
                SilentServer {
                    addr,
                    shutdown: Some(tx),
                    thread: Some(thread),
                    _held: None,
                }
            }
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
