//! Runs a docker credential helper (`docker-credential-<name> get`) the way docker
//! does, under a timeout, and classifies what it answered.
//!
//! Protocol (docker/docker-credential-helpers): the server key goes to stdin; success
//! is exit 0 with `{"ServerURL","Username","Secret"}` on stdout; errors are printed on
//! stdout with exit 1, `credentials not found in native keychain` meaning "none".
//! `docker-credential-pass` instead answers exit 0 with an empty Username and Secret.
//!
//! Nothing a helper prints on a successful exit is ever quoted: it may be a secret.

use crate::secrets::{Secrets, redact_tokens};
use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

/// Output beyond this is counted but not kept.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// The longest helper text quoted in a message (characters).
pub const MAX_QUOTED: usize = 300;

/// docker's fixed "no credentials" answer.
pub const NOT_FOUND_MESSAGE: &str = "credentials not found in native keychain";

/// The user name a helper returns when the secret is an identity token.
pub const TOKEN_USERNAME: &str = "<token>";

/// `docker-credential-<name>`.
pub fn program_name(name: &str) -> String {
    format!("docker-credential-{name}")
}

/// A helper name must be a plain program suffix: never a path, never with spaces.
pub fn validate_name(name: &str) -> Result<(), HelperError> {
    let bad = name.is_empty()
        || name.contains('/')
        || name.contains('\\')
        || name.chars().any(|c| c.is_whitespace() || c.is_control());
    if bad {
        Err(HelperError::InvalidName {
            name: name.to_string(),
        })
    } else {
        Ok(())
    }
}

/// Looks for `docker-credential-<name>` in the absolute directories of `path` (a
/// `PATH` value). Relative entries are skipped: Go's exec refuses programs found
/// through them. The file must be a regular file (after symlinks) with an execute bit.
pub fn find_on_path(name: &str, path: Option<&OsStr>) -> Result<PathBuf, HelperError> {
    validate_name(name)?;
    find_program(&program_name(name), path)
}

/// Looks for `program` in the absolute directories of `path`, as [`find_on_path`] does.
pub fn find_program(program: &str, path: Option<&OsStr>) -> Result<PathBuf, HelperError> {
    let program = program.to_string();
    let mut searched = Vec::new();
    if let Some(path) = path {
        for dir in std::env::split_paths(path) {
            if !dir.is_absolute() {
                continue;
            }
            let candidate = dir.join(&program);
            if is_executable_file(&candidate) {
                return Ok(candidate);
            }
            if !searched.contains(&dir) {
                searched.push(dir);
            }
        }
    }
    Err(HelperError::NotOnPath {
        program,
        path_set: path.is_some(),
        searched,
    })
}

/// The first executable `program` in the absolute directories of `path` (a `PATH`
/// value), as Go's `exec.LookPath` finds it.
pub fn on_path(program: &str, path: Option<&OsStr>) -> Option<PathBuf> {
    std::env::split_paths(path?)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable_file(candidate))
}

/// The credential store docker picks on Linux for a config that names none (no
/// `credsStore`, no `credHelpers`, no `auths`, or no file): `pass` when the `pass`
/// program is on PATH, else `secretservice`, and only when its
/// `docker-credential-<store>` is on PATH too. Source: docker/cli
/// `cli/config/credentials/default_store_linux.go` and `DetectDefaultStore` in
/// `default_store.go` (<https://github.com/docker/cli/tree/master/cli/config/credentials>).
pub fn default_store(path: Option<&OsStr>) -> Option<&'static str> {
    let store = if on_path("pass", path).is_some() {
        "pass"
    } else {
        "secretservice"
    };
    on_path(&program_name(store), path).map(|_| store)
}

/// The variables `docker-credential-acr-env` signs in with (client credentials); without
/// them it falls back to a managed identity. Source:
/// <https://github.com/chrismellard/docker-credential-acr-env#how-it-works>.
pub const ACR_ENV_VARIABLES: [&str; 3] =
    ["AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"];

#[cfg(not(unix))]
fn is_executable_file(p: &Path) -> bool {
    // Windows has no execute bit: a file found on PATH (with its extension) is a program.
    std::fs::metadata(p).is_ok_and(|m| m.is_file())
}

#[cfg(unix)]
fn is_executable_file(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Credentials a helper returned. The secret is private; `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct HelperCredentials {
    username: String,
    secret: String,
}

impl HelperCredentials {
    /// As the helper returned it: `<token>` means the secret is an identity token.
    pub fn username(&self) -> &str {
        &self.username
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    pub fn is_identity_token(&self) -> bool {
        self.username == TOKEN_USERNAME
    }

    /// The credential docker makes of this answer (native_store.go): `<token>` → an
    /// identity token with no user name; else user name and password (or an ACR
    /// refresh token for the null-GUID user).
    pub fn into_credential(self) -> crate::docker::credential::Credential {
        use crate::docker::credential::{Credential, CredentialKind};
        if self.is_identity_token() {
            Credential::new(CredentialKind::IdentityToken, String::new(), self.secret)
        } else {
            Credential::from_username_secret(self.username, self.secret)
        }
    }
}

impl fmt::Debug for HelperCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HelperCredentials")
            .field("username", &self.username)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// How a helper said it has nothing for the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoCredentialsStyle {
    /// Non-zero exit with `credentials not found in native keychain`.
    NotFoundMessage,
    /// Exit 0 with an empty Username and Secret (docker-credential-pass).
    EmptyAnswer,
}

/// A helper's answer to `get`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelperAnswer {
    Credentials(HelperCredentials),
    NoCredentials(NoCredentialsStyle),
}

/// Why a helper gave no answer.
#[derive(Debug, thiserror::Error)]
pub enum HelperError {
    #[error(
        "`{name}` is not a valid credential helper name: it must not be empty or contain `/` or whitespace"
    )]
    InvalidName { name: String },
    #[error("`{program}` is not on PATH")]
    NotOnPath {
        program: String,
        /// False when there is no PATH at all.
        path_set: bool,
        /// The absolute directories looked in, in order.
        searched: Vec<PathBuf>,
    },
    #[error("`{}` could not be started: {source}", program.display())]
    Spawn {
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no answer within {} s; the helper was killed", waited.as_secs_f32())]
    Timeout { waited: Duration },
    #[error("{}", describe_exit(*code, *signal, text))]
    Exit {
        code: Option<i32>,
        signal: Option<i32>,
        /// At most [`MAX_QUOTED`] characters of its output, one line, redacted.
        text: String,
    },
    #[error("exit 0 but its output ({}) is not the expected JSON {{\"ServerURL\",\"Username\",\"Secret\"}}: {error}", describe_bytes(*bytes, *truncated))]
    Garbage {
        /// Bytes on stdout.
        bytes: usize,
        /// More than [`MAX_OUTPUT`] bytes: only the first were kept.
        truncated: bool,
        /// The kind of parse error and its position, never the content.
        error: String,
    },
}

fn describe_exit(code: Option<i32>, signal: Option<i32>, text: &str) -> String {
    let status = match (code, signal) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        (None, None) => "abnormal exit".to_string(),
    };
    if text.is_empty() {
        format!("{status}, no output")
    } else {
        format!("{status}: {text}")
    }
}

fn describe_bytes(bytes: usize, truncated: bool) -> String {
    if truncated {
        format!("more than {} KiB", MAX_OUTPUT / 1024)
    } else if bytes == 0 {
        "empty".to_string()
    } else {
        format!("{bytes} bytes")
    }
}

/// The outcome of one call, with how long it took.
#[derive(Debug)]
pub struct Call {
    pub program: PathBuf,
    pub elapsed: Duration,
    pub result: Result<HelperAnswer, HelperError>,
}

/// Finds `docker-credential-<name>` on `path` and runs `get` for `server`.
pub async fn lookup(
    name: &str,
    path: Option<&OsStr>,
    server: &str,
    timeout: Duration,
    secrets: &Secrets,
) -> Result<HelperAnswer, HelperError> {
    let program = find_on_path(name, path)?;
    get(&program, server, timeout, secrets).await
}

/// Runs `<program> get` with `server` on stdin, under `timeout`. A secret in the
/// answer is registered with `secrets` before this returns.
pub async fn get(
    program: &Path,
    server: &str,
    timeout: Duration,
    secrets: &Secrets,
) -> Result<HelperAnswer, HelperError> {
    run_get(program, server, timeout, secrets).await.result
}

/// Like [`get`], also reporting the program and the time it took.
pub async fn run_get(program: &Path, server: &str, timeout: Duration, secrets: &Secrets) -> Call {
    let started = Instant::now();
    let result = run(program, server, timeout, secrets).await;
    Call {
        program: program.to_path_buf(),
        elapsed: started.elapsed(),
        result,
    }
}

/// Spawns, retrying briefly on ETXTBSY: a helper that is being written (installed, or
/// created by a test in another thread whose fork still holds the write descriptor)
/// cannot be executed for a moment, and that is not the helper's failure.
async fn spawn_retrying_busy(
    cmd: &mut tokio::process::Command,
) -> std::io::Result<tokio::process::Child> {
    const ETXTBSY: i32 = 26;
    let mut attempt = 0u32;
    loop {
        match cmd.spawn() {
            Err(e) if e.raw_os_error() == Some(ETXTBSY) && attempt < 5 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(20 * u64::from(attempt))).await;
            }
            other => return other,
        }
    }
}

/// What a program run to its end printed, and how it ended.
pub(crate) struct Finished {
    pub(crate) out: Captured,
    pub(crate) err: Captured,
    pub(crate) status: std::process::ExitStatus,
}

/// Why a program did not run to its end.
#[derive(Debug)]
pub(crate) enum RunError {
    Spawn(std::io::Error),
    Timeout(Duration),
}

/// Runs `program args…` in its own process group with `input` on stdin, keeping at most
/// [`MAX_OUTPUT`] bytes of each output; the whole group is killed at `timeout` or when
/// the future is dropped (the run's deadline).
pub(crate) async fn run_capped(
    program: &Path,
    args: &[&str],
    input: &[u8],
    timeout: Duration,
) -> Result<Finished, RunError> {
    let started = Instant::now();
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    // Its own process group, so that a timeout also stops what it started.
    #[cfg(unix)]
    cmd.process_group(0);
    let mut child = spawn_retrying_busy(&mut cmd)
        .await
        .map_err(RunError::Spawn)?;
    // Kills the whole group if this future is dropped (the run's deadline) or times out.
    let mut group = GroupKill(child.id());
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let exchange = async {
        let write = async {
            if let Some(mut stdin) = stdin {
                // A program may exit without reading; a broken pipe is not our error.
                let _ = stdin.write_all(input).await;
                let _ = stdin.shutdown().await;
            }
        };
        let ((), out, err, status) = tokio::join!(
            write,
            read_capped(stdout),
            read_capped(stderr),
            child.wait()
        );
        (out, err, status)
    };
    let outcome = tokio::time::timeout(timeout, exchange).await;
    let (out, err, status) = match outcome {
        Ok(done) => {
            // It exited and closed its output: leave anything it detached alone.
            group.disarm();
            done
        }
        Err(_) => {
            drop(group);
            let _ = child.kill().await;
            return Err(RunError::Timeout(started.elapsed()));
        }
    };
    let status = status.map_err(RunError::Spawn)?;
    Ok(Finished { out, err, status })
}

async fn run(
    program: &Path,
    server: &str,
    timeout: Duration,
    secrets: &Secrets,
) -> Result<HelperAnswer, HelperError> {
    let spawn = |source| HelperError::Spawn {
        program: program.to_path_buf(),
        source,
    };
    let Finished { out, err, status } =
        match run_capped(program, &["get"], server.as_bytes(), timeout).await {
            Ok(done) => done,
            Err(RunError::Spawn(source)) => return Err(spawn(source)),
            Err(RunError::Timeout(waited)) => return Err(HelperError::Timeout { waited }),
        };
    if status.success() {
        return parse_answer(&out, secrets);
    }
    // A helper that printed an answer and then failed: mask its secret before quoting.
    if let Ok(answer) = serde_json::from_slice::<Answer>(&out.bytes) {
        secrets.register(&answer.secret);
    }
    let stdout_text = String::from_utf8_lossy(&out.bytes);
    if stdout_text.trim() == NOT_FOUND_MESSAGE {
        return Ok(HelperAnswer::NoCredentials(
            NoCredentialsStyle::NotFoundMessage,
        ));
    }
    let stderr_text = String::from_utf8_lossy(&err.bytes);
    let joined = match (stdout_text.trim(), stderr_text.trim()) {
        (o, "") => o.to_string(),
        ("", e) => e.to_string(),
        (o, e) if o == e => o.to_string(),
        (o, e) => format!("{o} / {e}"),
    };
    #[cfg(unix)]
    let signal = std::os::unix::process::ExitStatusExt::signal(&status);
    #[cfg(not(unix))]
    let signal = None;
    Err(HelperError::Exit {
        code: status.code(),
        signal,
        text: quote_output(&joined, secrets),
    })
}

/// The helper's JSON answer (`ServerURL` is not needed). No `Debug`: it holds a secret.
#[derive(serde::Deserialize)]
struct Answer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

fn parse_answer(out: &Captured, secrets: &Secrets) -> Result<HelperAnswer, HelperError> {
    let garbage = |error: String| HelperError::Garbage {
        bytes: out.total,
        truncated: out.total > out.bytes.len(),
        error,
    };
    if out.total > out.bytes.len() {
        return Err(garbage("output too long to be an answer".into()));
    }
    match serde_json::from_slice::<Answer>(&out.bytes) {
        Ok(answer) => {
            secrets.register(&answer.secret);
            if answer.username.is_empty() && answer.secret.is_empty() {
                Ok(HelperAnswer::NoCredentials(NoCredentialsStyle::EmptyAnswer))
            } else {
                Ok(HelperAnswer::Credentials(HelperCredentials {
                    username: answer.username,
                    secret: answer.secret,
                }))
            }
        }
        // serde's own message may quote the data (`invalid type: string "…"`): describe
        // the kind of error and where it is instead.
        Err(e) => Err(garbage(format!(
            "{} at line {} column {}",
            match e.classify() {
                serde_json::error::Category::Syntax => "not JSON",
                serde_json::error::Category::Eof => "JSON that ends early",
                serde_json::error::Category::Data => "JSON of the wrong shape",
                serde_json::error::Category::Io => "unreadable",
            },
            e.line(),
            e.column()
        ))),
    }
}

/// Helper output fit to quote: registered secrets and token-like words redacted, one
/// line, at most [`MAX_QUOTED`] characters.
pub fn quote_output(text: &str, secrets: &Secrets) -> String {
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let redacted = redact_tokens(&secrets.redact(&one_line));
    let clean: String = redacted.chars().filter(|c| !c.is_control()).collect();
    if clean.chars().count() > MAX_QUOTED {
        let cut: String = clean.chars().take(MAX_QUOTED).collect();
        format!("{cut}…")
    } else {
        clean
    }
}

pub(crate) struct Captured {
    pub(crate) bytes: Vec<u8>,
    pub(crate) total: usize,
}

/// Reads to the end, keeping at most [`MAX_OUTPUT`] bytes (the rest is drained so the
/// helper never blocks on a full pipe).
async fn read_capped<R: AsyncRead + Unpin>(reader: Option<R>) -> Captured {
    let mut captured = Captured {
        bytes: Vec::new(),
        total: 0,
    };
    let Some(mut reader) = reader else {
        return captured;
    };
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                captured.total = captured.total.saturating_add(n);
                let room = MAX_OUTPUT.saturating_sub(captured.bytes.len());
                captured.bytes.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    captured
}

/// Sends SIGKILL to a helper's process group when dropped, unless disarmed.
struct GroupKill(Option<u32>);

impl GroupKill {
    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupKill {
    fn drop(&mut self) {
        if let Some(pgid) = self.0.take() {
            kill_process_group(pgid);
        }
    }
}

/// SIGKILL to the helper's process group (its pid, from `process_group(0)`). Only
/// called while the group can still exist with that id: the leader is not yet reaped,
/// or members remain, and Linux never hands out an id still used as a group id.
#[cfg(unix)]
fn kill_process_group(pgid: u32) {
    unsafe extern "C" {
        // POSIX kill(2); pid_t is i32 on every Unix Rust supports.
        fn kill(pid: i32, sig: i32) -> i32;
    }
    const SIGKILL: i32 = 9;
    if let Ok(pgid) = i32::try_from(pgid)
        && pgid > 1
    {
        // SAFETY: kill(2) takes two integers and touches no memory of ours; a negative
        // pid addresses the process group the helper leads.
        unsafe {
            kill(-pgid, SIGKILL);
        }
    }
}

/// Elsewhere (Windows) there is no process group: `kill_on_drop` stops the helper.
#[cfg(not(unix))]
fn kill_process_group(_: u32) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_slashes_or_spaces_are_invalid() {
        for bad in ["", "a/b", "../pass", "pa ss", "pass\n", "x\\y"] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        for good in ["pass", "ecr-login", "acr-env", "desktop.exe", "osxkeychain"] {
            assert!(validate_name(good).is_ok(), "{good:?}");
        }
        // Never even looked up.
        assert!(matches!(
            find_on_path("a/b", Some(OsStr::new("/usr/bin"))),
            Err(HelperError::InvalidName { .. })
        ));
    }

    #[test]
    fn finds_only_executable_files_in_absolute_dirs() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let noexec = dir.path().join("a");
        let exec = dir.path().join("b");
        std::fs::create_dir_all(&noexec).unwrap();
        std::fs::create_dir_all(&exec).unwrap();
        std::fs::create_dir_all(exec.join("docker-credential-dir")).unwrap();
        let plain = noexec.join("docker-credential-x");
        std::fs::write(&plain, "#!/bin/sh\n").unwrap();
        let runnable = exec.join("docker-credential-x");
        std::fs::write(&runnable, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&runnable, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::env::join_paths([&noexec, &exec]).unwrap();
        assert_eq!(find_on_path("x", Some(&path)).unwrap(), runnable);
        match find_on_path("dir", Some(&path)) {
            Err(HelperError::NotOnPath {
                searched,
                program,
                path_set,
            }) => {
                assert_eq!(program, "docker-credential-dir");
                assert!(path_set);
                assert_eq!(searched, vec![noexec.clone(), exec.clone()]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            find_on_path("x", None),
            Err(HelperError::NotOnPath {
                path_set: false,
                ..
            })
        ));
        let relative = std::env::join_paths(["relative/dir"]).unwrap();
        assert!(find_on_path("x", Some(&relative)).is_err());
    }

    #[test]
    fn quoted_output_is_one_redacted_bounded_line() {
        let secrets = Secrets::default();
        secrets.register("hunter2-registered");
        let text = format!(
            "error:\n  hunter2-registered rejected\ttoken eyJhbGciOi.abc.def {}",
            "x".repeat(400)
        );
        let q = quote_output(&text, &secrets);
        assert!(q.starts_with("error: *** rejected token *** "), "{q}");
        assert!(!q.contains('\n'));
        assert_eq!(q.chars().count(), MAX_QUOTED + 1);
        assert!(q.ends_with('…'));
    }

    #[test]
    fn token_answer_becomes_an_identity_token() {
        use crate::docker::credential::CredentialKind;
        let c = HelperCredentials {
            username: TOKEN_USERNAME.into(),
            secret: "refresh-token-value".into(),
        };
        assert!(!format!("{c:?}").contains("refresh-token-value"));
        let cred = c.into_credential();
        assert_eq!(cred.kind(), CredentialKind::IdentityToken);
        assert_eq!(cred.username(), "");
    }
}
