//! Issue 13, the runner's docker side, through the real binary as the runner starts it:
//! `az acr login` without docker or its daemon (P34), docker's implied `secretservice`
//! store on a headless runner (P27), `acr-env` without its variables (P28), a docker
//! config directory the runner user cannot write (P29), and an ACR refresh token that
//! expires before the job's time limit (P32). Real files, real programs on a PATH of our
//! own (shell scripts standing in for docker and the helpers), a real Unix socket.

use crate::support;
use crate::workflow_precision::{
    Run, find, findings, position, run_in, run_through, workspace_with,
};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// A directory for PATH holding executable scripts `name` → body.
fn bin_dir(programs: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in programs {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir
}

fn path_of(dir: &Path) -> String {
    format!("{}", dir.display())
}

/// Runs the binary on the workspace (job `build`, the docker config as the build's
/// credential source) with this extra environment.
fn run_env(ws: &Path, docker: &Path, env: &[(&str, &str)]) -> Run {
    run_in(ws, docker, "build", &[("auth-mode", "docker-config")], env)
}

/// The run produced a report, without `code`.
fn assert_absent(r: &Run, code: &str) {
    assert!(r.report.is_object(), "{}", r.stdout);
    assert!(find(&r.report, code).is_none(), "{code}: {}", r.stdout);
}

fn codes(report: &Value) -> Vec<String> {
    findings(report)
        .iter()
        .map(|f| f["code"].as_str().unwrap_or("").to_string())
        .collect()
}

const AZ_LOGIN_JOB: &str = "on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v5
      - id: pre
        uses: acr-preflight/acr-preflight@v0
      - name: Log in
        run: az acr login -n myreg
";

#[test]
fn az_acr_login_without_docker_on_path_is_an_error_with_the_token_fix() {
    let bin = bin_dir(&[]);
    let (ws, docker) = workspace_with(AZ_LOGIN_JOB, "{}");
    let r = run_env(ws.path(), &docker, &[("PATH", &path_of(bin.path()))]);
    let f = find(&r.report, "DOCKER_UNAVAILABLE")
        .unwrap_or_else(|| panic!("no DOCKER_UNAVAILABLE:\n{}", r.stdout));
    assert_eq!(f["severity"], "error");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (
            Some(position(AZ_LOGIN_JOB, "az acr login").0),
            Some(position(AZ_LOGIN_JOB, "az acr login").1)
        )
    );
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("DOCKER_COMMAND_ERROR"), "{message}");
    assert!(
        message.contains(&format!("looked in {}", bin.path().display())),
        "{message}"
    );
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("TOKEN=$(az acr login -n myreg --expose-token --query accessToken -o tsv)"),
        "{fix}"
    );
    assert!(
        fix.contains(
            "docker login myreg.azurecr.io -u 00000000-0000-0000-0000-000000000000 --password-stdin"
        ),
        "{fix}"
    );
    assert_eq!(r.status, 1, "{}", r.stdout);
}

#[test]
fn az_acr_login_with_no_daemon_socket_is_an_error_and_a_listening_socket_passes() {
    let bin = bin_dir(&[("docker", "exit 0")]);
    let sockets = tempfile::tempdir().unwrap();
    let absent = sockets.path().join("absent.sock");
    let (ws, docker) = workspace_with(AZ_LOGIN_JOB, "{}");
    let path = path_of(bin.path());
    let host = format!("unix://{}", absent.display());
    let r = run_env(
        ws.path(),
        &docker,
        &[("PATH", &path), ("DOCKER_HOST", &host)],
    );
    let f = find(&r.report, "DOCKER_UNAVAILABLE")
        .unwrap_or_else(|| panic!("no DOCKER_UNAVAILABLE:\n{}", r.stdout));
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("{host} (DOCKER_HOST): no such socket")),
        "{message}"
    );
    assert!(
        message.contains(&format!("Cannot connect to the Docker daemon at {host}")),
        "{message}"
    );
    assert!(f["fix"].as_str().unwrap().contains("--expose-token"));

    // A socket that accepts: a real listener, the same login, nothing reported.
    let live = sockets.path().join("docker.sock");
    let listener = std::os::unix::net::UnixListener::bind(&live).unwrap();
    let host = format!("unix://{}", live.display());
    let r = run_env(
        ws.path(),
        &docker,
        &[("PATH", &path), ("DOCKER_HOST", &host)],
    );
    drop(listener);
    assert_absent(&r, "DOCKER_UNAVAILABLE");
    assert!(
        r.stdout.contains(&format!(
            "the docker daemon accepts connections at {host} (DOCKER_HOST)"
        )),
        "{}",
        r.stdout
    );
}

#[test]
fn az_acr_login_with_expose_token_needs_no_docker() {
    let workflow = AZ_LOGIN_JOB.replace("-n myreg", "-n myreg --expose-token");
    let bin = bin_dir(&[]);
    let (ws, docker) = workspace_with(&workflow, "{}");
    let r = run_env(ws.path(), &docker, &[("PATH", &path_of(bin.path()))]);
    assert!(r.report.is_object(), "{}", r.stdout);
    assert!(
        !codes(&r.report).contains(&"DOCKER_UNAVAILABLE".to_string()),
        "{}",
        r.stdout
    );
}

const LOGIN_ACTION_JOB: &str = "on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - id: pre
        uses: acr-preflight/acr-preflight@v0
      - uses: docker/login-action@v3
        with:
          registry: myreg.azurecr.io
          username: ${{ secrets.USER }}
          password: ${{ secrets.PASSWORD }}
";

#[test]
fn implied_secretservice_without_dbus_is_a_warning_at_the_login() {
    let bin = bin_dir(&[("docker-credential-secretservice", "exit 1")]);
    let (ws, docker) = workspace_with(LOGIN_ACTION_JOB, "{}");
    let path = path_of(bin.path());
    let r = run_env(ws.path(), &docker, &[("PATH", &path)]);
    let f = find(&r.report, "HELPER_DEFAULT_STORE_HEADLESS")
        .unwrap_or_else(|| panic!("no HELPER_DEFAULT_STORE_HEADLESS:\n{}", r.stdout));
    assert_eq!(f["severity"], "warning");
    assert_eq!(
        f["line"].as_u64(),
        Some(position(LOGIN_ACTION_JOB, "myreg.azurecr.io").0)
    );
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("names no credential store"), "{message}");
    assert!(
        message.contains("Cannot autolaunch D-Bus without X11 $DISPLAY"),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "{}/docker-credential-secretservice",
            bin.path().display()
        )),
        "{message}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("golang-docker-credential-helpers")
    );

    // With `pass` on PATH docker's default is `pass`; with a D-Bus session the helper
    // works; with an auths entry docker picks no default store: nothing in each case.
    let with_pass = bin_dir(&[
        ("docker-credential-secretservice", "exit 1"),
        ("pass", "exit 0"),
        ("docker-credential-pass", "exit 1"),
    ]);
    let pass_path = path_of(with_pass.path());
    let dbus = [
        ("PATH", path.as_str()),
        ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1001/bus"),
    ];
    for env in [&[("PATH", pass_path.as_str())][..], &dbus[..]] {
        let r = run_env(ws.path(), &docker, env);
        assert_absent(&r, "HELPER_DEFAULT_STORE_HEADLESS");
    }
    let (ws, docker) = workspace_with(
        LOGIN_ACTION_JOB,
        r#"{"auths": {"other.example": {"auth": "dTpw"}}}"#,
    );
    let r = run_env(ws.path(), &docker, &[("PATH", &path)]);
    assert_absent(&r, "HELPER_DEFAULT_STORE_HEADLESS");
}

#[test]
fn acr_env_without_its_variables_on_a_hosted_runner_is_named_and_not_run() {
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("ran");
    let bin = bin_dir(&[(
        "docker-credential-acr-env",
        &format!(
            ": > {}\necho 'credentials not found in native keychain'\nexit 1",
            marker.display()
        ),
    )]);
    let (ws, docker) = workspace_with(LOGIN_ACTION_JOB, r#"{"credsStore": "acr-env"}"#);
    let path = path_of(bin.path());
    let client_id = "11111111-2222-3333-4444-555555555555";
    // A registry the build uses, so that docker (and the check) runs the store for it.
    let registry = support::registry::TestRegistry::start_blocking(support::registry::Kind::Plain);
    let host = registry.host();
    let hosted = [
        ("INPUT_REGISTRY", host.as_str()),
        ("PATH", path.as_str()),
        ("RUNNER_ENVIRONMENT", "github-hosted"),
        ("AZURE_CLIENT_ID", client_id),
    ];
    let r = run_env(ws.path(), &docker, &hosted);
    let f = find(&r.report, "HELPER_ENV_MISSING")
        .unwrap_or_else(|| panic!("no HELPER_ENV_MISSING:\n{}", r.stdout));
    assert_eq!(f["severity"], "error");
    assert_eq!(
        f["title"],
        "`docker-credential-acr-env` (credsStore) is missing AZURE_CLIENT_SECRET, AZURE_TENANT_ID"
    );
    assert_eq!(f["line"].as_u64(), Some(1));
    assert!(
        !r.stdout.contains(client_id),
        "a variable's value is never shown"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("AZURE_TENANT_ID: ${{ secrets.AZURE_TENANT_ID }}")
    );
    assert!(!marker.exists(), "the helper was run");
    assert!(find(&r.report, "HELPER_FAILED").is_none(), "{}", r.stdout);

    // All three set: no finding, and the helper runs.
    let all = [
        ("AZURE_CLIENT_SECRET", "not-a-real-secret-value"),
        ("AZURE_TENANT_ID", "66666666-7777-8888-9999-000000000000"),
    ];
    let r = run_env(ws.path(), &docker, &[&hosted[..], &all[..]].concat());
    assert_absent(&r, "HELPER_ENV_MISSING");
    assert!(marker.exists(), "the helper was not run");
    // Self-hosted with none set: the helper may use the machine's managed identity.
    let r = run_env(
        ws.path(),
        &docker,
        &[
            ("INPUT_REGISTRY", &host),
            ("PATH", &path),
            ("RUNNER_ENVIRONMENT", "self-hosted"),
        ],
    );
    assert_absent(&r, "HELPER_ENV_MISSING");
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The uid this test runs as (`id -u`).
fn my_uid() -> String {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn a_docker_config_the_runner_user_cannot_write_fails_the_later_login() {
    let (ws, docker) = workspace_with(LOGIN_ACTION_JOB, "{}");
    let set_mode = |p: &std::path::Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    for p in [
        ws.path(),
        &ws.path().join(".github"),
        &ws.path().join(".github/workflows"),
    ] {
        set_mode(p, 0o755);
    }
    set_mode(&docker.join("config.json"), 0o644);
    // Root may write anywhere, so as root the binary runs as the runner user (uid
    // 65534 here, through setpriv) and the docker directory stays root's, as a
    // `sudo docker login` or a container step leaves it. As any other user, the
    // directory is the user's own without its write bit (`chmod 555`).
    let root = is_root();
    let (as_runner, owner, mode): (&[&str], String, u32) = if root {
        (
            &[
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ],
            "0".to_string(),
            0o755,
        )
    } else {
        (&[], my_uid(), 0o555)
    };
    set_mode(&docker, mode);
    let run = || {
        run_through(
            as_runner,
            ws.path(),
            &docker,
            "build",
            &[("auth-mode", "docker-config")],
            &[],
        )
    };
    let r = run();
    let f = find(&r.report, "DOCKER_CONFIG_NOT_WRITABLE")
        .unwrap_or_else(|| panic!("no DOCKER_CONFIG_NOT_WRITABLE:\n{}", r.stdout));
    assert_eq!(f["severity"], "error");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("(owner uid {owner}, mode {mode:o})")),
        "{message}"
    );
    assert!(message.contains("permission denied"), "{message}");
    let quoted = docker.display();
    assert!(
        f["fix"].as_str().unwrap().ends_with(&format!(
            "sudo chown -R \"$(id -u):$(id -g)\" {quoted}\nchmod u+rwx {quoted}"
        )),
        "{f}"
    );
    // Given back (owned by the runner user, writable): nothing reported.
    if root {
        let chown = std::process::Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(&docker)
            .status()
            .unwrap();
        assert!(chown.success());
    } else {
        set_mode(&docker, 0o755);
    }
    assert_absent(&run(), "DOCKER_CONFIG_NOT_WRITABLE");
}

fn acr_token_config(host: &str, expires_in: std::time::Duration) -> String {
    use base64::Engine;
    let exp = (std::time::SystemTime::now() + expires_in)
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let token = acr_preflight::jwt::unsigned_for_tests(&serde_json::json!({
        "exp": exp,
        "iss": "Azure Container Registry",
    }));
    let auth = base64::engine::general_purpose::STANDARD
        .encode(format!("00000000-0000-0000-0000-000000000000:{token}"));
    format!(r#"{{"auths": {{"{host}": {{"auth": "{auth}"}}}}}}"#)
}

fn push_job(host: &str, timeout: &str, login: &str) -> String {
    format!(
        "on: push
jobs:
  build:
    runs-on: ubuntu-latest
{timeout}    steps:
      - id: pre
        uses: acr-preflight/acr-preflight@v0
        with:
          registry: {host}
{login}      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: {host}/team/app:v1
"
    )
}

#[test]
fn an_acr_token_expiring_before_the_jobs_time_limit_is_a_warning() {
    let registry = support::registry::TestRegistry::start_blocking(support::registry::Kind::Plain);
    let host = registry.host();
    let config = acr_token_config(&host, std::time::Duration::from_secs(3600));
    let run = |workflow: &str| {
        let (ws, docker) = workspace_with(workflow, &config);
        run_in(
            ws.path(),
            &docker,
            "build",
            &[("registry", &host), ("auth-mode", "docker-config")],
            &[],
        )
    };
    let workflow = push_job(&host, "    timeout-minutes: 120\n", "");
    let r = run(&workflow);
    let f =
        find(&r.report, "CRED_EXPIRED").unwrap_or_else(|| panic!("no CRED_EXPIRED:\n{}", r.stdout));
    assert_eq!(f["severity"], "warning");
    assert_eq!(
        f["title"],
        format!("the credential for {host} expires before the job's time limit")
    );
    let message = f["message"].as_str().unwrap();
    let timeout_line = position(&workflow, "timeout-minutes").0;
    assert!(
        message.contains(&format!(
            "`timeout-minutes: 120` (.github/workflows/build.yml:{timeout_line})"
        )),
        "{message}"
    );
    assert!(message.contains("`docker/build-push-action`"), "{message}");
    assert!(
        message.contains("in 59 minutes") || message.contains("in 1 hour"),
        "{message}"
    );

    // The job's default limit (360 minutes): a notice.
    let r = run(&push_job(&host, "", ""));
    let f = find(&r.report, "CRED_EXPIRED").unwrap_or_else(|| panic!("{}", r.stdout));
    assert_eq!(f["severity"], "notice");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("GitHub's default of 360 minutes")
    );

    // A job that ends before the token does, and a job that logs in again before the
    // push: nothing.
    let r = run(&push_job(&host, "    timeout-minutes: 30\n", ""));
    assert_absent(&r, "CRED_EXPIRED");
    let login = format!("      - run: az acr login -n {host}\n");
    let r = run(&push_job(&host, "    timeout-minutes: 120\n", &login));
    assert_absent(&r, "CRED_EXPIRED");
}

/// The report's finding with `code`, or a panic that shows the report.
fn expect<'a>(r: &'a Run, code: &str) -> &'a Value {
    find(&r.report, code).unwrap_or_else(|| panic!("no {code}:\n{}", r.stdout))
}

/// The finding's `field` (message, fix, title) contains every one of `parts`.
fn assert_has(f: &Value, field: &str, parts: &[&str]) {
    let text = f[field].as_str().unwrap_or_default();
    for part in parts {
        assert!(text.contains(part), "{field} lacks {part:?}: {text}");
    }
}

/// The distro's real helper (`golang-docker-credential-helpers`), when installed.
const REAL_SECRETSERVICE: &str = "/usr/bin/docker-credential-secretservice";

/// A PATH directory holding only a link to the real `secretservice` helper (no `pass`,
/// so docker's Linux default store is `secretservice`).
fn real_secretservice_bin() -> Option<tempfile::TempDir> {
    if !Path::new(REAL_SECRETSERVICE).exists() {
        panic!("{REAL_SECRETSERVICE} is not installed: run scripts/install-deps.sh");
    }
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        REAL_SECRETSERVICE,
        dir.path().join("docker-credential-secretservice"),
    )
    .unwrap();
    Some(dir)
}

/// A private D-Bus session bus (`dbus-daemon --session`), stopped by its handle when
/// dropped; `None` when dbus-daemon is not installed.
struct SessionBus {
    child: std::process::Child,
    address: String,
}

impl SessionBus {
    fn start() -> Option<SessionBus> {
        use std::io::BufRead;
        let mut child = std::process::Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .ok()?;
        // The daemon prints its address once it listens: no sleep needed.
        let mut line = String::new();
        let stdout = child.stdout.take()?;
        std::io::BufReader::new(stdout).read_line(&mut line).ok()?;
        Some(SessionBus {
            child,
            address: line.trim().to_string(),
        })
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// [`run_env`] with PATH `path` and a private session bus of its own; `None` (and a
/// note) when dbus-daemon is not installed.
fn run_with_session_bus(ws: &Path, docker: &Path, path: &str) -> Option<Run> {
    let Some(bus) = SessionBus::start() else {
        panic!("dbus-daemon is not installed: run scripts/install-deps.sh");
    };
    Some(run_env(
        ws,
        docker,
        &[("PATH", path), ("DBUS_SESSION_BUS_ADDRESS", &bus.address)],
    ))
}

const BUILD_ONLY_JOB: &str = "on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - id: pre
        uses: acr-preflight/acr-preflight@v0
      - name: Build
        run: docker build -t myreg.azurecr.io/app:1 .
";

#[test]
fn implied_secretservice_on_a_build_only_job_is_judged_by_the_session_bus() {
    let Some(bin) = real_secretservice_bin() else {
        return;
    };
    let (ws, docker) = workspace_with(BUILD_ONLY_JOB, "{}");
    let path = path_of(bin.path());
    let r = run_env(ws.path(), &docker, &[("PATH", &path)]);
    let f = expect(&r, "HELPER_DEFAULT_STORE_HEADLESS");
    assert_eq!(f["severity"], "warning");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (
            Some(position(BUILD_ONLY_JOB, "docker build").0),
            Some(position(BUILD_ONLY_JOB, "docker build").1)
        )
    );
    let title = f["title"].as_str().unwrap();
    assert!(title.starts_with("`docker build` at "), "{title}");
    assert_has(
        f,
        "message",
        &[
            "names no credential store",
            "neither DBUS_SESSION_BUS_ADDRESS nor DISPLAY is set",
            "public base images included",
            "Cannot autolaunch D-Bus without X11 $DISPLAY",
        ],
    );

    // An X11 display lets D-Bus autolaunch; a real session bus serves the helper.
    let r = run_env(ws.path(), &docker, &[("PATH", &path), ("DISPLAY", ":0")]);
    assert_absent(&r, "HELPER_DEFAULT_STORE_HEADLESS");
    let Some(r) = run_with_session_bus(ws.path(), &docker, &path) else {
        return;
    };
    assert_absent(&r, "HELPER_DEFAULT_STORE_HEADLESS");
}

#[test]
fn a_named_secretservice_store_is_run_for_real_and_fails_without_a_session_bus() {
    let Some(bin) = real_secretservice_bin() else {
        return;
    };
    let job = BUILD_ONLY_JOB.replace(
        "run: docker build -t myreg.azurecr.io/app:1 .",
        "run: docker push myreg.azurecr.io/app:1",
    );
    let (ws, docker) = workspace_with(&job, r#"{"credsStore": "secretservice"}"#);
    let path = path_of(bin.path());
    // The real helper, without a bus: docker's own error, once (HELPER_FAILED), not
    // also guessed from the environment.
    let r = run_env(ws.path(), &docker, &[("PATH", &path)]);
    let f = expect(&r, "HELPER_FAILED");
    assert_has(
        f,
        "message",
        &["Cannot autolaunch D-Bus without X11 $DISPLAY"],
    );
    assert_has(f, "fix", &["needs a desktop session"]);
    assert_absent(&r, "HELPER_DEFAULT_STORE_HEADLESS");

    // With a private session bus the same helper answers: no such credential.
    let Some(r) = run_with_session_bus(ws.path(), &docker, &path) else {
        return;
    };
    assert_absent(&r, "HELPER_FAILED");
    assert!(
        find(&r.report, "HELPER_NO_CREDENTIALS").is_some(),
        "{}",
        r.stdout
    );
}

#[test]
fn a_named_secretservice_store_before_a_login_is_judged_without_running_it() {
    let (ws, docker) = workspace_with(LOGIN_ACTION_JOB, r#"{"credsStore": "secretservice"}"#);
    // The helper is never run for a login: this one would record that it was.
    let marker_dir = tempfile::tempdir().unwrap();
    let marker = marker_dir.path().join("ran");
    let bin = bin_dir(&[(
        "docker-credential-secretservice",
        &format!(": > {}\nexit 1", marker.display()),
    )]);
    let path = path_of(bin.path());
    let r = run_env(ws.path(), &docker, &[("PATH", &path)]);
    let f = expect(&r, "HELPER_DEFAULT_STORE_HEADLESS");
    assert_has(f, "message", &["sets credsStore to \"secretservice\""]);
    assert_has(f, "fix", &["drop `\"credsStore\": \"secretservice\"`"]);
    let r = run_env(
        ws.path(),
        &docker,
        &[
            ("PATH", &path),
            ("DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/user/1001/bus"),
        ],
    );
    assert_absent(&r, "HELPER_DEFAULT_STORE_HEADLESS");
    assert!(!marker.exists());
}

const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// [`LOGIN_ACTION_JOB`] logging in to ECR; `env` is the login step's `env:` block
/// (empty for none).
fn ecr_login_job(env: &str) -> String {
    let login = "      - uses: docker/login-action@v3\n";
    LOGIN_ACTION_JOB
        .replace(login, &format!("{login}{env}"))
        .replace("myreg.azurecr.io", ECR)
}

#[test]
fn a_login_through_ecr_login_without_ignore_storage_is_an_error_at_the_login() {
    let config = format!(r#"{{"credHelpers": {{"{ECR}": "ecr-login"}}}}"#);
    let registry = support::registry::TestRegistry::start_blocking(support::registry::Kind::Plain);
    let host = registry.host();
    let (ws, docker) = workspace_with(&ecr_login_job(""), &config);
    let r = run_env(ws.path(), &docker, &[("INPUT_REGISTRY", &host)]);
    let f = find(&r.report, "HELPER_STORE_UNSUPPORTED")
        .unwrap_or_else(|| panic!("no HELPER_STORE_UNSUPPORTED:\n{}", r.stdout));
    assert_eq!(f["severity"], "error");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(10), Some(21)),
        "{f}"
    );
    assert_eq!(
        f["title"],
        "the login at .github/workflows/build.yml:10 would store its credential with `ecr-login`, which stores none"
    );
    assert_has(
        f,
        "message",
        &[
            &format!("sets credHelpers[\"{ECR}\"] to \"ecr-login\""),
            "`docker/login-action` (step `",
            "error storing credentials - err: exit status 1, out: `not implemented`",
        ],
    );
    assert_has(f, "fix", &["AWS_ECR_IGNORE_CREDS_STORAGE: \"true\""]);
    // The variable in the login step's environment: quiet.
    let env = "        env:\n          AWS_ECR_IGNORE_CREDS_STORAGE: \"true\"\n";
    let (ws, docker) = workspace_with(&ecr_login_job(env), &config);
    assert_absent(
        &run_env(ws.path(), &docker, &[("INPUT_REGISTRY", &host)]),
        "HELPER_STORE_UNSUPPORTED",
    );
    // A login to a registry whose helper is another one: quiet.
    let other =
        format!(r#"{{"credHelpers": {{"{ECR}": "ecr-login", "myreg.azurecr.io": "acr-env"}}}}"#);
    let (ws, docker) = workspace_with(LOGIN_ACTION_JOB, &other);
    assert_absent(
        &run_env(ws.path(), &docker, &[("INPUT_REGISTRY", &host)]),
        "HELPER_STORE_UNSUPPORTED",
    );
}
