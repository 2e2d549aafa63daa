//! One read of the docker daemon's API over its unix socket: the live state of a
//! container, as `docker container inspect` shows it, without a `docker` process. Used
//! for the container of a buildx `docker-container` builder node, which buildx names
//! `buildx_buildkit_<node>` (docker/buildx `driver/driver.go`, `BuilderName`; the node's
//! name from the store's node group, `builder/node.go`).
//!
//! Request: `GET /containers/<name>/json` (Docker Engine API, "Inspect a container",
//! <https://docs.docker.com/reference/api/engine/version/v1.47/#tag/Container/operation/ContainerInspect>):
//! 200 with `State.Status` (`created`, `running`, `paused`, `restarting`, `removing`,
//! `exited`, `dead`), `Config.Env` (`NAME=value` strings), `Config.Image` and
//! `HostConfig.NetworkMode`; 404 when no such container exists. Blocking I/O bounded by
//! a deadline, the answer capped at [`MAX_RESPONSE`]. The environment can hold secrets:
//! only proxy variables' names, and the `host:port` of a proxy on loopback, leave this
//! module.

use std::path::Path;
use std::time::{Duration, Instant};

/// The most of an answer read: an inspect document is a few KiB.
pub const MAX_RESPONSE: usize = 512 * 1024;

/// What the daemon says of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// `State.Status`, lower case.
    pub status: String,
    /// `Config.Image`, as the container was created from.
    pub image: Option<String>,
    /// The proxy variables (`http_proxy`, `https_proxy`, `no_proxy`, lower-cased) its
    /// environment sets to something, each once.
    pub proxy_env: Vec<String>,
    /// (variable, `host:port`) of `http_proxy`/`https_proxy` on loopback, unless the
    /// container shares the host's network (`HostConfig.NetworkMode` `host`).
    pub proxy_loopback: Vec<(String, String)>,
}

/// Why the daemon could not say.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("cannot connect to {0}: {1}")]
    Connect(String, String),
    #[error("no answer within the time left")]
    Timeout,
    #[error("the answer is larger than {} KiB", MAX_RESPONSE / 1024)]
    TooLarge,
    #[error("the daemon answered HTTP {0}: {1}")]
    Status(u16, String),
    #[error("the answer is not the Engine API's: {0}")]
    Garbage(String),
}

/// A container name as the Engine API takes it in a path (docker's own rule:
/// `[a-zA-Z0-9][a-zA-Z0-9_.-]*`).
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `GET /containers/<name>/json` on the daemon's socket at `socket`, before `deadline`:
/// `Ok(None)` when the daemon has no such container.
pub fn inspect(
    socket: &Path,
    name: &str,
    deadline: Instant,
) -> Result<Option<Container>, EngineError> {
    if !valid_name(name) {
        return Err(EngineError::Garbage(format!(
            "`{name}` is not a container name"
        )));
    }
    let request = format!(
        "GET /containers/{name}/json HTTP/1.1\r\nHost: docker\r\nUser-Agent: acr-preflight\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    );
    let raw = exchange(socket, request.as_bytes(), deadline)?;
    let (status, body) = split_response(&raw)?;
    match status {
        200 => parse(&body).map(Some),
        404 => Ok(None),
        other => Err(EngineError::Status(other, message(&body))),
    }
}

fn left(deadline: Instant) -> Result<Duration, EngineError> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left < Duration::from_millis(1) {
        return Err(EngineError::Timeout);
    }
    Ok(left)
}

#[cfg(not(unix))]
fn exchange(socket: &Path, _: &[u8], _: Instant) -> Result<Vec<u8>, EngineError> {
    Err(EngineError::Connect(
        socket.display().to_string(),
        "unix sockets are not available on this system".into(),
    ))
}

#[cfg(unix)]
fn exchange(socket: &Path, request: &[u8], deadline: Instant) -> Result<Vec<u8>, EngineError> {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let at = format!("unix://{}", socket.display());
    left(deadline)?;
    // A unix connect does not wait on the network: it succeeds, or fails at once.
    let mut stream =
        UnixStream::connect(socket).map_err(|e| EngineError::Connect(at.clone(), e.to_string()))?;
    let timed_out = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => EngineError::Timeout,
        _ => EngineError::Connect(at.clone(), e.to_string()),
    };
    stream
        .set_write_timeout(Some(left(deadline)?))
        .map_err(timed_out)?;
    stream.write_all(request).map_err(timed_out)?;
    let mut out: Vec<u8> = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        stream
            .set_read_timeout(Some(left(deadline)?))
            .map_err(timed_out)?;
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(timed_out(e)),
        };
        if n == 0 {
            return Ok(out);
        }
        if out.len() + n > MAX_RESPONSE {
            return Err(EngineError::TooLarge);
        }
        out.extend_from_slice(&buf[..n]);
        // The whole answer is known once the headers and a Content-Length body are in.
        if let Some(total) = complete_length(&out)
            && out.len() >= total
        {
            return Ok(out);
        }
    }
}

/// The header block's end, after `\r\n\r\n`.
fn header_end(raw: &[u8]) -> Option<usize> {
    raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// A response's head: where the body starts, the header fields (names lower-cased) and
/// the status line.
struct Head<'a> {
    end: usize,
    fields: Vec<(String, String)>,
    status_line: &'a str,
}

fn headers(raw: &[u8]) -> Option<Head<'_>> {
    let end = header_end(raw)?;
    let text = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let fields = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Some(Head {
        end,
        fields,
        status_line,
    })
}

/// The response's full length when it says it (`Content-Length`, no chunking).
fn complete_length(raw: &[u8]) -> Option<usize> {
    let Head { end, fields, .. } = headers(raw)?;
    if fields.iter().any(|(k, _)| k == "transfer-encoding") {
        return None;
    }
    let length = fields.iter().find(|(k, _)| k == "content-length")?;
    length.1.parse::<usize>().ok().map(|n| end + n)
}

fn split_response(raw: &[u8]) -> Result<(u16, Vec<u8>), EngineError> {
    let Head {
        end,
        fields,
        status_line,
    } = headers(raw).ok_or_else(|| EngineError::Garbage("no HTTP header".into()))?;
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|r| r.get(2..5))
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or_else(|| EngineError::Garbage("no HTTP status line".into()))?;
    let body = &raw[end..];
    let chunked = fields
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        dechunk(body)?
    } else {
        match fields.iter().find(|(k, _)| k == "content-length") {
            Some((_, n)) => {
                let n: usize = n
                    .parse()
                    .map_err(|_| EngineError::Garbage("a bad Content-Length".into()))?;
                body.get(..n)
                    .ok_or_else(|| EngineError::Garbage("the answer ends early".into()))?
                    .to_vec()
            }
            None => body.to_vec(),
        }
    };
    Ok((status, body))
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, EngineError> {
    let bad = || EngineError::Garbage("a bad chunked body".into());
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n").ok_or_else(bad)?;
        let size_text = std::str::from_utf8(&body[..line_end]).map_err(|_| bad())?;
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| bad())?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        out.extend_from_slice(body.get(..size).ok_or_else(bad)?);
        body = body.get(size + 2..).ok_or_else(bad)?;
    }
}

/// The `message` of an Engine API error body, one line, short; else nothing.
fn message(body: &[u8]) -> String {
    let m = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let m: String = m.chars().filter(|c| !c.is_control()).take(200).collect();
    if m.is_empty() { "no message".into() } else { m }
}

/// The facts of an inspect document.
pub fn parse(body: &[u8]) -> Result<Container, EngineError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| EngineError::Garbage(format!("line {}, column {}", e.line(), e.column())))?;
    let status = v
        .pointer("/State/Status")
        .and_then(|s| s.as_str())
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| EngineError::Garbage("no State.Status".into()))?;
    let image = v
        .pointer("/Config/Image")
        .and_then(|s| s.as_str())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let host_network = v
        .pointer("/HostConfig/NetworkMode")
        .and_then(|s| s.as_str())
        .is_some_and(|m| m.eq_ignore_ascii_case("host"));
    let mut proxy_env: Vec<String> = Vec::new();
    let mut proxy_loopback: Vec<(String, String)> = Vec::new();
    let env = v.pointer("/Config/Env").and_then(|e| e.as_array());
    for entry in env.into_iter().flatten().filter_map(|e| e.as_str()) {
        let Some((name, value)) = entry.split_once('=') else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        if !matches!(name.as_str(), "http_proxy" | "https_proxy" | "no_proxy")
            || value.trim().is_empty()
        {
            continue;
        }
        if !proxy_env.contains(&name) {
            proxy_env.push(name.clone());
        }
        if name != "no_proxy"
            && !host_network
            && !proxy_loopback.iter().any(|(n, _)| *n == name)
            && let Some(at) = crate::workflow::proxy_url::loopback(value)
        {
            proxy_loopback.push((name, at));
        }
    }
    proxy_env.sort();
    Ok(Container {
        status,
        image,
        proxy_env,
        proxy_loopback,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inspect_documents_keep_names_and_loopback_hosts_only() {
        let c = parse(br#"{"State":{"Status":"running"},"Config":{"Image":"moby/buildkit:buildx-stable-1","Env":["HTTPS_PROXY=http://u:s3cret@127.0.0.1:3128","no_proxy=localhost","http_proxy=","PATH=/bin","NOEQUALS"]},"HostConfig":{"NetworkMode":"bridge"}}"#).unwrap();
        assert_eq!(c.status, "running");
        assert_eq!(c.image.as_deref(), Some("moby/buildkit:buildx-stable-1"));
        assert_eq!(c.proxy_env, ["https_proxy", "no_proxy"]);
        assert_eq!(
            c.proxy_loopback,
            [("https_proxy".to_string(), "127.0.0.1:3128".to_string())]
        );
        assert!(!format!("{c:?}").contains("s3cret"));
        let host = parse(br#"{"State":{"Status":"exited"},"Config":{"Env":["https_proxy=http://127.0.0.1:3128"]},"HostConfig":{"NetworkMode":"host"}}"#).unwrap();
        assert!(host.proxy_loopback.is_empty() && host.image.is_none());
        assert!(matches!(parse(b"{}"), Err(EngineError::Garbage(_))));
        assert!(matches!(parse(b"[1"), Err(EngineError::Garbage(_))));
        assert!(matches!(
            parse(br#"{"State":{"Status":7}}"#),
            Err(EngineError::Garbage(_))
        ));
    }

    #[test]
    fn responses_are_split_with_length_or_chunks() {
        let (s, b) = split_response(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 16\r\n\r\n{\"message\":\"no\"}x",
        )
        .unwrap();
        assert_eq!((s, message(&b).as_str()), (404, "no"));
        let (s, b) = split_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n{\"a\r\n4;x\r\n\":1}\r\n0\r\n\r\n").unwrap();
        assert_eq!((s, b.as_slice()), (200, &b"{\"a\":1}"[..]));
        assert!(
            split_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n").is_err()
        );
        assert!(split_response(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{}").is_err());
        assert!(split_response(b"garbage").is_err());
        assert_eq!(
            complete_length(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n"),
            Some(40)
        );
    }

    #[test]
    fn names_outside_docker_rule_are_not_sent() {
        assert!(valid_name("buildx_buildkit_ci0"));
        assert!(!valid_name("../x") && !valid_name("") && !valid_name("a b") && !valid_name("_a"));
    }
}
