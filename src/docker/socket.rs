//! The docker daemon the docker CLI talks to (`DOCKER_HOST`, else the default
//! `unix:///var/run/docker.sock`) and a bounded connect to it: no `docker` process, no
//! request, only whether something accepts a connection at that address.
//!
//! Source: docker/cli `cli/flags/options.go` and docker/docs `engine/reference/commandline/cli`
//! (`DOCKER_HOST`): <https://docs.docker.com/reference/cli/docker/#environment-variables>.

use std::path::PathBuf;
use std::time::Duration;

/// Where the docker CLI connects when `DOCKER_HOST` is not set (Linux).
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The daemon's address, as the CLI reads `DOCKER_HOST`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `unix:///path`.
    Unix(PathBuf),
    /// `tcp://host:port` (port 2375 when not written; 2376 with TLS is not guessed).
    Tcp(String),
    /// `ssh://`, `npipe://`, `fd://` or anything else: not probed.
    Other(String),
}

impl Endpoint {
    /// The address as written (`unix:///var/run/docker.sock`), for messages.
    pub fn describe(&self) -> String {
        match self {
            Endpoint::Unix(p) => format!("unix://{}", p.display()),
            Endpoint::Tcp(a) => format!("tcp://{a}"),
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
        Endpoint::Unix(path) => {
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
        Endpoint::Tcp(addr) => {
            let connect = tokio::net::TcpStream::connect(addr.as_str());
            match tokio::time::timeout(limit, connect).await {
                Ok(Ok(_)) => Ok(true),
                Ok(Err(e)) => Err(Unreachable::Refused(e.to_string())),
                Err(_) => Err(Unreachable::TimedOut),
            }
        }
        Endpoint::Other(_) => Ok(false),
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
    }
}
