//! The docker daemon the docker CLI talks to (`DOCKER_HOST`, else the default
//! `unix:///var/run/docker.sock`) and a bounded connect to it: no `docker` process, no
//! request, only whether something accepts a connection at that address.
//!
//! Source: docker/cli `cli/flags/options.go` and docker/docs `engine/reference/commandline/cli`
//! (`DOCKER_HOST`): <https://docs.docker.com/reference/cli/docker/#environment-variables>.

use std::path::PathBuf;
use std::time::Duration;

/// Where the docker CLI connects when `DOCKER_HOST` is not set (Linux).
#[cfg(not(windows))]
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// Where the docker CLI connects when `DOCKER_HOST` is not set (Windows: the engine's
/// named pipe, <https://docs.docker.com/reference/cli/dockerd/#daemon-socket-option>).
#[cfg(windows)]
pub const DEFAULT_HOST: &str = "npipe:////./pipe/docker_engine";

/// The daemon's address, as the CLI reads `DOCKER_HOST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `unix:///path`.
    Unix(PathBuf),
    /// `tcp://host:port` (port 2375 when not written; 2376 with TLS is not guessed).
    Tcp(String),
    /// `npipe:////./pipe/name`: a Windows named pipe (`\\.\pipe\name`), probed on
    /// Windows only; the address as written is kept for messages.
    Pipe { written: String, path: PathBuf },
    /// `ssh://`, `fd://` or anything else: not probed.
    Other(String),
}

impl Endpoint {
    /// The address as written (`unix:///var/run/docker.sock`), for messages.
    pub fn describe(&self) -> String {
        match self {
            Endpoint::Unix(p) => format!("unix://{}", p.display()),
            Endpoint::Tcp(a) => format!("tcp://{a}"),
            Endpoint::Pipe { written, .. } => written.clone(),
            Endpoint::Other(s) => s.clone(),
        }
    }
}

/// The endpoint for a `DOCKER_HOST` value (`None`: the default socket).
pub fn endpoint(docker_host: Option<&str>) -> Endpoint {
    let value = docker_host.map(str::trim).filter(|v| !v.is_empty());
    let value = value.unwrap_or(DEFAULT_HOST);
    if let Some(path) = value.strip_prefix("unix://") {
        if path.starts_with('/') {
            return Endpoint::Unix(PathBuf::from(path));
        }
        return Endpoint::Other(value.to_string());
    }
    if let Some(rest) = value.strip_prefix("npipe://") {
        // `npipe:////./pipe/docker_engine` names `\\.\pipe\docker_engine`.
        let path = rest.replace('/', "\\");
        if path.starts_with("\\\\.\\pipe\\") && path.len() > 9 {
            return Endpoint::Pipe {
                written: value.to_string(),
                path: PathBuf::from(path),
            };
        }
        return Endpoint::Other(value.to_string());
    }
    if let Some(rest) = value.strip_prefix("tcp://") {
        let authority = rest.split('/').next().unwrap_or("");
        if authority.is_empty() {
            return Endpoint::Other(value.to_string());
        }
        // `host` alone gets docker's plain-TCP port; `[v6]:port` and `host:port` stay.
        let has_port = match authority.rsplit_once(':') {
            Some((h, p)) => {
                !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':')
            }
            None => false,
        } && !(authority.starts_with('[') && authority.ends_with(']'));
        let addr = if has_port {
            authority.to_string()
        } else {
            format!("{authority}:2375")
        };
        return Endpoint::Tcp(addr);
    }
    Endpoint::Other(value.to_string())
}

/// Why nothing answered at the daemon's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// No socket file at the path.
    Absent,
    /// A file that is not a socket.
    NotASocket,
    /// The connection was refused or failed (the OS error).
    Refused(String),
    /// No answer within the bound.
    TimedOut,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreachable::Absent => f.write_str("no such socket"),
            Unreachable::NotASocket => f.write_str("the path is not a socket"),
            Unreachable::Refused(e) => write!(f, "connect failed: {e}"),
            Unreachable::TimedOut => f.write_str("no answer to connect"),
        }
    }
}

/// Connects once to `endpoint` within `limit` and closes the connection. `Ok(false)`
/// for an endpoint kind that is not probed.
pub async fn probe(endpoint: &Endpoint, limit: Duration) -> Result<bool, Unreachable> {
    match endpoint {
        Endpoint::Unix(path) => probe_unix(path, limit).await,
        Endpoint::Tcp(addr) => {
            let connect = tokio::net::TcpStream::connect(addr.as_str());
            match tokio::time::timeout(limit, connect).await {
                Ok(Ok(_)) => Ok(true),
                Ok(Err(e)) => Err(Unreachable::Refused(e.to_string())),
                Err(_) => Err(Unreachable::TimedOut),
            }
        }
        Endpoint::Pipe { path, .. } => probe_pipe(path),
        Endpoint::Other(_) => Ok(false),
    }
}

#[cfg(unix)]
async fn probe_unix(path: &std::path::Path, limit: Duration) -> Result<bool, Unreachable> {
    use std::os::unix::fs::FileTypeExt;
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Unreachable::Absent);
        }
        Ok(m) if !m.file_type().is_socket() => return Err(Unreachable::NotASocket),
        _ => {}
    }
    let connect = tokio::net::UnixStream::connect(path);
    match tokio::time::timeout(limit, connect).await {
        Ok(Ok(_)) => Ok(true),
        Ok(Err(e)) => Err(Unreachable::Refused(e.to_string())),
        Err(_) => Err(Unreachable::TimedOut),
    }
}

/// A unix socket path is not probed where there are no unix sockets for tokio.
#[cfg(not(unix))]
async fn probe_unix(_: &std::path::Path, _: Duration) -> Result<bool, Unreachable> {
    Ok(false)
}

/// Opens the daemon's named pipe as a file (std can open `\\.\pipe\name` on Windows)
/// and closes it: `Ok(true)` when it opens, [`Unreachable::Absent`] when no such pipe
/// exists, and `Ok(false)` (nothing said) for any other answer, such as a pipe busy
/// with another client, rather than a wrong error. Not probed off Windows.
fn probe_pipe(path: &std::path::Path) -> Result<bool, Unreachable> {
    if !cfg!(windows) {
        return Ok(false);
    }
    match std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
    {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Unreachable::Absent),
        Err(_) => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_host_values() {
        assert_eq!(
            endpoint(None),
            Endpoint::Unix(PathBuf::from("/var/run/docker.sock"))
        );
        assert_eq!(
            endpoint(Some("unix:///run/user/1000/docker.sock")),
            Endpoint::Unix(PathBuf::from("/run/user/1000/docker.sock"))
        );
        assert_eq!(
            endpoint(Some("tcp://10.0.0.5")),
            Endpoint::Tcp("10.0.0.5:2375".into())
        );
        assert_eq!(
            endpoint(Some("tcp://dind:2376/")),
            Endpoint::Tcp("dind:2376".into())
        );
        assert!(matches!(
            endpoint(Some("ssh://me@host")),
            Endpoint::Other(_)
        ));
        assert!(matches!(
            endpoint(Some("unix://relative")),
            Endpoint::Other(_)
        ));
        assert_eq!(
            endpoint(Some("npipe:////./pipe/docker_engine")),
            Endpoint::Pipe {
                written: "npipe:////./pipe/docker_engine".into(),
                path: PathBuf::from(r"\\.\pipe\docker_engine"),
            }
        );
        assert!(matches!(endpoint(Some("npipe://")), Endpoint::Other(_)));
    }

    #[tokio::test]
    async fn a_named_pipe_is_probed_only_on_windows() {
        let pipe = endpoint(Some("npipe:////./pipe/acr_preflight_absent"));
        let probed = probe(&pipe, Duration::from_millis(200)).await;
        if cfg!(windows) {
            assert_eq!(probed, Err(Unreachable::Absent));
        } else {
            assert_eq!(probed, Ok(false));
        }
    }
}
