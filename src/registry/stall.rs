//! Which network phase a request stalled in, for NET_TIMEOUT.
//!
//! reqwest does not say where a request that timed out before its response headers
//! was: resolving the name, connecting, in the TLS handshake, or connected and
//! waiting for the server's answer. So right after such a timeout a short probe of
//! its own retraces the first steps on a fresh connection to the same address: a DNS
//! lookup (skipped for a `--resolve` host), a TCP connect, and (for https) one TLS
//! ClientHello, waiting for the first byte of any answer. The first step that gets no
//! answer within the probe's bound is the phase reported; when every step answers,
//! the server accepted the connection and the handshake and then kept silent about
//! the request itself. A stall after the headers needs no probe: the request itself
//! saw the headers arrive and the body stop.

use super::seconds;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Where a request that got no answer in time was stuck.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The host name did not resolve in time.
    Dns,
    /// The TCP connection was never established.
    TcpConnect,
    /// TCP connected; the server never answered a TLS ClientHello.
    TlsHandshake,
    /// Connected (and TLS answered): no response headers came.
    ResponseHeaders,
    /// The response headers came; the body stopped before its end.
    ResponseBody,
    /// Before the response headers, with no time left to tell which step.
    BeforeHeaders,
}

impl Phase {
    /// The stable name docs/checks.md lists.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Dns => "dns",
            Phase::TcpConnect => "tcp-connect",
            Phase::TlsHandshake => "tls-handshake",
            Phase::ResponseHeaders => "response-headers",
            Phase::ResponseBody => "response-body",
            Phase::BeforeHeaders => "before-headers",
        }
    }

    /// What happened, for titles.
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Dns => "the DNS lookup got no answer",
            Phase::TcpConnect => "the TCP connection was never established",
            Phase::TlsHandshake => "TCP connected, then no answer to the TLS handshake",
            Phase::ResponseHeaders => "connected, then no response headers",
            Phase::ResponseBody => "the headers came, then the body stalled",
            Phase::BeforeHeaders => "no response headers",
        }
    }
}

/// What the probe saw.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub phase: Phase,
    /// The address the probe connected to (or tried to).
    pub addr: Option<SocketAddr>,
    /// One sentence of evidence.
    pub evidence: String,
}

/// The probe never takes less than this per step: shorter, a loaded machine could
/// make a healthy step look stalled.
const MIN_STEP: Duration = Duration::from_millis(50);

/// Retraces DNS, TCP and TLS to `host:port` within `budget`. `resolved` is the
/// `--resolve` address for the host, when there is one (reqwest dials it instead of
/// resolving; a zero port there means the URL's port).
pub async fn diagnose(
    host: &str,
    port: u16,
    tls: bool,
    resolved: Option<SocketAddr>,
    budget: Duration,
) -> Diagnosis {
    let started = Instant::now();
    let left = || budget.saturating_sub(started.elapsed());
    if budget < MIN_STEP * 2 {
        return Diagnosis {
            phase: Phase::BeforeHeaders,
            addr: None,
            evidence: "No time was left to probe which step (DNS, TCP, TLS or the server's answer) stalled.".into(),
        };
    }
    let name = host.trim_start_matches('[').trim_end_matches(']');
    let (addr, via) = match resolved {
        Some(a) => {
            let port = if a.port() == 0 { port } else { a.port() };
            (
                SocketAddr::new(a.ip(), port),
                " (from --resolve)".to_string(),
            )
        }
        None => match probe_dns(name, port, left()).await {
            Ok(addr) => (addr, String::new()),
            Err(diagnosis) => return diagnosis,
        },
    };
    let connect_started = Instant::now();
    let step = left().max(MIN_STEP);
    let stream = match tokio::time::timeout(step, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(s)) => s,
        failed => {
            let evidence = match failed {
                Ok(Err(e)) => format!("A probe TCP connection to {addr}{via} failed: {e}."),
                _ => format!(
                    "A probe TCP connection to {addr}{via} was not established within {}.",
                    seconds(step)
                ),
            };
            return Diagnosis {
                phase: Phase::TcpConnect,
                addr: Some(addr),
                evidence,
            };
        }
    };
    let connected = format!(
        "A probe TCP connection to {addr}{via} was established in {}",
        seconds(connect_started.elapsed())
    );
    if !tls {
        return Diagnosis {
            phase: Phase::ResponseHeaders,
            addr: Some(addr),
            evidence: format!(
                "{connected}: the server accepts connections and then does not answer the request."
            ),
        };
    }
    probe_tls(stream, name, addr, &connected, left().max(MIN_STEP)).await
}

/// The first address DNS gives for `name`, within `step`; the DNS diagnosis otherwise.
async fn probe_dns(name: &str, port: u16, step: Duration) -> Result<SocketAddr, Diagnosis> {
    let evidence = match tokio::time::timeout(step, tokio::net::lookup_host((name, port))).await {
        Ok(Ok(mut addrs)) => match addrs.next() {
            Some(a) => return Ok(a),
            None => format!("A probe lookup of `{name}` gave no address."),
        },
        Ok(Err(e)) => format!("A probe lookup of `{name}` failed: {e}."),
        Err(_) => format!(
            "A probe lookup of `{name}` got no answer from DNS within {}.",
            seconds(step)
        ),
    };
    Err(Diagnosis {
        phase: Phase::Dns,
        addr: None,
        evidence,
    })
}

/// Sends a ClientHello on the probe connection: no answer within `step` puts the stall
/// in the TLS handshake, any answer after it.
async fn probe_tls(
    mut stream: tokio::net::TcpStream,
    name: &str,
    addr: SocketAddr,
    connected: &str,
    step: Duration,
) -> Diagnosis {
    let hello = client_hello(name);
    let answered = tokio::time::timeout(step, async {
        stream.write_all(&hello).await?;
        let mut first = [0u8; 1];
        stream.read(&mut first).await
    })
    .await;
    let (phase, evidence) = match answered {
        Err(_) => (
            Phase::TlsHandshake,
            format!(
                "{connected}, but a TLS ClientHello sent on it got no answer within {}.",
                seconds(step)
            ),
        ),
        Ok(Err(e)) => (
            Phase::TlsHandshake,
            format!("{connected}, but sending a TLS ClientHello on it failed: {e}."),
        ),
        Ok(Ok(_)) => (
            Phase::ResponseHeaders,
            format!(
                "{connected} and a TLS ClientHello on it was answered: the server completes connections and then does not answer the request."
            ),
        ),
    };
    Diagnosis {
        phase,
        addr: Some(addr),
        evidence,
    }
}

/// A TLS 1.2 ClientHello (ECDHE with AES-GCM or ChaCha20, SNI when `name` is a host
/// name). Any answer to it (a ServerHello, an alert, even a plain-HTTP error) shows
/// the server's TLS side is alive; only silence matters here.
fn client_hello(name: &str) -> Vec<u8> {
    fn u16be(n: usize) -> [u8; 2] {
        (n.min(u16::MAX as usize) as u16).to_be_bytes()
    }
    let mut ext = Vec::new();
    let is_ip = name.parse::<std::net::IpAddr>().is_ok();
    if !is_ip && !name.is_empty() && name.len() < 256 {
        let n = name.as_bytes();
        ext.extend_from_slice(&[0x00, 0x00]);
        ext.extend_from_slice(&u16be(n.len() + 5));
        ext.extend_from_slice(&u16be(n.len() + 3));
        ext.push(0x00);
        ext.extend_from_slice(&u16be(n.len()));
        ext.extend_from_slice(n);
    }
    // supported_groups: x25519, secp256r1, secp384r1
    ext.extend_from_slice(&[
        0x00, 0x0a, 0x00, 0x08, 0x00, 0x06, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x18,
    ]);
    // ec_point_formats: uncompressed
    ext.extend_from_slice(&[0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    // signature_algorithms
    let sigs: [u8; 16] = [
        0x04, 0x03, 0x08, 0x04, 0x04, 0x01, 0x05, 0x03, 0x08, 0x05, 0x05, 0x01, 0x08, 0x06, 0x06,
        0x01,
    ];
    ext.extend_from_slice(&[0x00, 0x0d]);
    ext.extend_from_slice(&u16be(sigs.len() + 2));
    ext.extend_from_slice(&u16be(sigs.len()));
    ext.extend_from_slice(&sigs);
    // extended_master_secret, renegotiation_info
    ext.extend_from_slice(&[0x00, 0x17, 0x00, 0x00, 0xff, 0x01, 0x00, 0x01, 0x00]);

    let suites: [u8; 12] = [
        0xc0, 0x2b, 0xc0, 0x2f, 0xc0, 0x2c, 0xc0, 0x30, 0xcc, 0xa9, 0xcc, 0xa8,
    ];
    let mut body = vec![0x03, 0x03];
    // The random: any 32 bytes do for a hello whose handshake is never finished.
    body.extend((0u8..32).map(|i| i.wrapping_mul(37).wrapping_add(11)));
    body.push(0x00); // no session id
    body.extend_from_slice(&u16be(suites.len()));
    body.extend_from_slice(&suites);
    body.extend_from_slice(&[0x01, 0x00]); // null compression
    body.extend_from_slice(&u16be(ext.len()));
    body.extend_from_slice(&ext);

    let mut handshake = vec![0x01];
    let len = body.len() as u32;
    handshake.extend_from_slice(&len.to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);

    let mut record = vec![0x16, 0x03, 0x01];
    record.extend_from_slice(&u16be(handshake.len()));
    record.extend_from_slice(&handshake);
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hello_is_one_well_framed_record() {
        let hello = client_hello("myreg.azurecr.io");
        assert_eq!(&hello[..3], &[0x16, 0x03, 0x01]);
        let record_len = u16::from_be_bytes([hello[3], hello[4]]) as usize;
        assert_eq!(record_len, hello.len() - 5);
        let hs_len = u32::from_be_bytes([0, hello[6], hello[7], hello[8]]) as usize;
        assert_eq!(hs_len, record_len - 4);
        assert!(
            hello
                .windows(b"myreg.azurecr.io".len())
                .any(|w| w == b"myreg.azurecr.io")
        );
        // No SNI for an address.
        assert!(client_hello("127.0.0.1").len() < hello.len());
    }
}
