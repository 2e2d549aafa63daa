//! The docker daemon's own proxy, as `docker info` reports it: the daemon pulls images
//! itself (`docker pull`, builds on the `docker` driver, the BuildKit image of a
//! `docker-container` builder) with the proxy of its own environment or `daemon.json`,
//! never with the client's. Only whether each setting is present is kept: a proxy URL
//! can hold a password, and its value never leaves this module.

use super::helper::{self, Finished, RunError};
use std::ffi::OsStr;
use std::time::Duration;

/// Which proxy settings the daemon runs with (`docker info` keys `HttpProxy`,
/// `HttpsProxy`, `NoProxy`, from moby's `api/types/system.Info`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DaemonProxy {
    pub http: bool,
    pub https: bool,
    pub no_proxy: bool,
}

impl DaemonProxy {
    /// Neither an HTTP nor an HTTPS proxy.
    pub fn none(&self) -> bool {
        !self.http && !self.https
    }
}

/// Why the daemon's proxy is not known.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error("`docker` is not on PATH")]
    NoDocker,
    #[error("`docker` could not be started: {0}")]
    Spawn(std::io::Error),
    #[error("`docker info` did not answer within {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("`docker info` did not reach the daemon (exit status {0:?})")]
    Unreachable(Option<i32>),
    #[error("`docker info` printed no JSON object with the daemon's settings ({0})")]
    Garbage(String),
}

/// Runs `docker info --format '{{json .}}'` (found on `path`), at most `timeout`.
pub async fn proxy(path: Option<&OsStr>, timeout: Duration) -> Result<DaemonProxy, DaemonError> {
    let docker = helper::find_program("docker", path).map_err(|_| DaemonError::NoDocker)?;
    let Finished { out, status, .. } =
        helper::run_capped(&docker, &["info", "--format", "{{json .}}"], b"", timeout)
            .await
            .map_err(|e| match e {
                RunError::Spawn(e) => DaemonError::Spawn(e),
                RunError::Timeout(waited) => DaemonError::Timeout(waited),
            })?;
    if out.total > out.bytes.len() {
        return Err(DaemonError::Garbage(format!(
            "more than {} KiB",
            helper::MAX_OUTPUT / 1024
        )));
    }
    // Without a daemon the docker CLI still prints its JSON (every server field empty)
    // and exits 1 (docker 28.2.2, measured): only a successful run says anything.
    if !status.success() {
        return Err(DaemonError::Unreachable(status.code()));
    }
    parse(&out.bytes)
}

/// The proxy settings of `docker info`'s JSON. A report with `ServerErrors` or without a
/// `ServerVersion` (the client printed its side only) tells nothing about the daemon.
pub fn parse(bytes: &[u8]) -> Result<DaemonProxy, DaemonError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| DaemonError::Garbage(format!("line {}, column {}", e.line(), e.column())))?;
    let object = value
        .as_object()
        .ok_or_else(|| DaemonError::Garbage("not an object".into()))?;
    let server_errors = object
        .get("ServerErrors")
        .and_then(|v| v.as_array())
        .is_some_and(|a| !a.is_empty());
    let version = object
        .get("ServerVersion")
        .and_then(|v| v.as_str())
        .is_some_and(|v| !v.trim().is_empty());
    if server_errors || !version {
        return Err(DaemonError::Unreachable(None));
    }
    let set = |key: &str| {
        object
            .get(key)
            .and_then(|v| v.as_str())
            .is_some_and(|s| !s.trim().is_empty())
    };
    Ok(DaemonProxy {
        http: set("HttpProxy"),
        https: set("HttpsProxy"),
        no_proxy: set("NoProxy"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxy_settings_are_read_as_present_or_not() {
        let p = parse(br#"{"ServerVersion":"27.1.1","HttpProxy":"","HttpsProxy":"http://xxxxx:xxxxx@proxy:3128","NoProxy":"localhost"}"#).unwrap();
        assert_eq!(
            p,
            DaemonProxy {
                http: false,
                https: true,
                no_proxy: true
            }
        );
        assert!(parse(br#"{"ServerVersion":"27.1.1"}"#).unwrap().none());
        assert!(matches!(
            parse(br#"{"ServerErrors":["Cannot connect to the Docker daemon"]}"#),
            Err(DaemonError::Unreachable(None))
        ));
        // What docker 28.2.2 prints when no daemon answers (exit status 1).
        assert!(matches!(
            parse(br#"{"ID":"","ServerVersion":"","HttpProxy":"","HttpsProxy":"","NoProxy":""}"#),
            Err(DaemonError::Unreachable(None))
        ));
        assert!(matches!(parse(b"[1]"), Err(DaemonError::Garbage(_))));
        assert!(matches!(parse(b"nope"), Err(DaemonError::Garbage(_))));
    }
}
