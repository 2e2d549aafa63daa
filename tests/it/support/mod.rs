//! Integration-test harness: a real `docker-registry` (distribution 2.8) on loopback, a
//! throwaway CA, an in-process token server speaking both the distribution token spec and
//! ACR's `/oauth2/*` endpoints, registry fixtures published over the API, and small
//! misbehaving HTTP servers.
//!
//! Every suite (a module of `tests/it/main.rs`) reaches it as `crate::support`. Rules the
//! harness keeps, so tests can rely on them:
//! - everything listens on `127.0.0.1` port 0 (tests run in parallel);
//! - readiness is observed (the registry's `listening on` log line), never slept for;
//! - every process and server thread is stopped by its handle's `Drop`, and every file
//!   lives in a `TempDir` owned by a handle;
//! - the in-process servers run on their own thread and runtime, so they keep answering
//!   while a test blocks (for example on `std::process::Command::output()` of the binary).
//!
//! [`runner`] parses a step's streams and `GITHUB_OUTPUT` by the runner's own rules.
//!
//! [`azure`] adds HTTPS fakes of Entra ID, ARM and the GitHub ID-token endpoint, and the
//! glue from an Azure role table to the token server's grants.
//!
//! External tools: `docker-registry`, `openssl` (certificates and ES256 signatures).
//! `scripts/install-deps.sh` installs both.
#![allow(dead_code)]

pub mod azure;
pub mod fixtures;
pub mod hostile;
pub mod http;
pub mod podman;
pub mod registry;
pub mod runner;
pub mod servers;
pub mod sha256;
pub mod step;
pub mod tls;
pub mod token;
pub mod workflow_fixture;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// Runs one future to completion on a fresh current-thread runtime, for synchronous tests
/// that want to publish fixtures. Use one `block_on` per publishing sequence.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
        .block_on(future)
}

/// Seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// Runs `openssl ARGS` (in `cwd` when given) with `stdin` as its input; returns stdout.
/// Panics with openssl's stderr when it fails: a harness set-up error, not a test result.
pub fn openssl(args: &[&str], cwd: Option<&Path>, stdin: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut cmd = Command::new("openssl");
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().unwrap_or_else(|e| {
        panic!("cannot run openssl (scripts/install-deps.sh installs it): {e}")
    });
    {
        // Inputs are a few hundred bytes, far below the pipe buffer, so writing everything
        // before reading the output cannot deadlock.
        let mut input = child.stdin.take().expect("piped stdin");
        input.write_all(stdin).expect("write to openssl");
    }
    let out = child.wait_with_output().expect("wait for openssl");
    assert!(
        out.status.success(),
        "openssl {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// RFC 3339 UTC timestamp (`2026-11-28T18:49:46Z`) of a Unix time, as token servers put in
/// `issued_at`.
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian), in 400-year eras.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}
