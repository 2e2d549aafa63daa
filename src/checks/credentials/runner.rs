//! The runner's docker side for the logins and builds the job runs after acr-preflight's
//! step: what they need from the runner that the docker config alone does not show.
//!
//! - `az acr login` runs `docker login`, so it needs the docker CLI and a daemon
//!   (DOCKER_UNAVAILABLE, P34).
//! - With no store named, docker picks `secretservice` on a runner with
//!   `docker-credential-secretservice` but no `pass`, and that store (implied or named)
//!   needs a D-Bus session for a login, a build or a push (HELPER_DEFAULT_STORE_HEADLESS,
//!   P27).
//! - `docker login` writes the config directory; a root-owned one refuses it
//!   (DOCKER_CONFIG_NOT_WRITABLE, P29).
//! - `docker-credential-acr-env` signs in with `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`
//!   and `AZURE_TENANT_ID` (HELPER_ENV_MISSING, P28).
//!
//! Only on the runner itself: a container action sees neither the runner's PATH nor
//! its daemon socket nor its home directory.

use super::messages::{config_keys, display_path, file_line, scope};
use super::{Ctx, HelperUse};
use crate::docker::config::DockerConfig;
use crate::docker::credential::HelperVia;
use crate::docker::helper as cred_helper;
use crate::docker::socket::{self, Endpoint};
use crate::findings::{CheckId, CheckReport, Code, Finding, Severity};
use crate::workflow::{BuildCommand, LoginStep};
use std::path::Path;
use std::time::{Duration, Instant};

/// The longest the daemon connect may take.
const PROBE_LIMIT: Duration = Duration::from_secs(2);

fn on_the_runner(ctx: &Ctx) -> bool {
    ctx.config.env.container.is_none()
}

/// How messages name a login step: `` `az acr login` (step `Log in`, build.yml:14) ``.
fn describe_login(login: &LoginStep) -> String {
    format!(
        "`{}` (step `{}`, {})",
        login.what,
        login.step.label,
        login.location.file_line()
    )
}

fn at_login(f: Finding, login: &LoginStep) -> Finding {
    f.at(
        login.location.file.clone(),
        login.location.line,
        login.location.column,
    )
}

/// DOCKER_UNAVAILABLE: an `az acr login` after acr-preflight's step while `docker` is
/// not on PATH or nothing accepts connections at the daemon's address. The probe is
/// one bounded connect, made only when such a login exists.
pub(super) async fn az_login_needs_docker(ctx: &Ctx, report: &mut CheckReport) {
    if !on_the_runner(ctx) {
        return;
    }
    let Some(login) = ctx
        .job
        .logins_after
        .iter()
        .find(|l| l.what == "az acr login")
    else {
        return;
    };
    let path = ctx.config.env.path.as_deref();
    let host = login.registry.clone();
    let name = host
        .as_deref()
        .and_then(crate::cloud::acr_registry)
        .unwrap_or("<registry>")
        .to_string();
    let tips = format!(
        "You may want to use 'az acr login -n {name} --expose-token' to get an access token, which does not require Docker to be installed."
    );
    let Some(docker) = cred_helper::on_path("docker", path) else {
        // The Azure CLI may run podman where docker is missing: not reported then.
        if cred_helper::on_path("podman", path).is_some() {
            return;
        }
        let message = format!(
            "{} runs after this step. Without `--expose-token` it runs `docker login`, and no `docker` program is on PATH ({}): az prints `{tips}` and fails with `An error occurred: DOCKER_COMMAND_ERROR`.",
            describe_login(login),
            searched(path)
        );
        report.push(at_login(
            finding(
                Severity::Error,
                format!(
                    "`az acr login` at {} needs the docker CLI, which is not on PATH",
                    login.location.file_line()
                ),
                message,
                token_fix(&name, host.as_deref(), "install docker on the runner"),
            ),
            login,
        ));
        return;
    };
    let endpoint = socket::endpoint(ctx.config.env.docker_host.as_deref());
    let limit = PROBE_LIMIT.min(ctx.remaining());
    let started = Instant::now();
    let probed = socket::probe(&endpoint, limit).await;
    let took = started.elapsed();
    let address = match &ctx.config.env.docker_host {
        Some(_) => format!("{} (DOCKER_HOST)", endpoint.describe()),
        None => format!(
            "{} (DOCKER_HOST is not set: docker's default)",
            endpoint.describe()
        ),
    };
    match probed {
        Ok(true) => report.verified(format!(
            "the docker daemon accepts connections at {address} (connect in {} µs), as `az acr login` at {} needs",
            took.as_micros(),
            login.location.file_line()
        )),
        Ok(false) => {}
        Err(why) => {
            let shown = match &endpoint {
                Endpoint::Unix(p) => format!("unix://{}", p.display()),
                other => other.describe(),
            };
            let message = format!(
                "{} runs after this step. Without `--expose-token` it runs `docker login` with {}, which needs the docker daemon, and nothing accepts connections at {address}: {why}. az prints `{tips}` and fails with `An error occurred: DOCKER_COMMAND_ERROR` (`Cannot connect to the Docker daemon at {shown}. Is the docker daemon running?`).",
                describe_login(login),
                docker.display()
            );
            report.push(at_login(
                finding(
                    Severity::Error,
                    format!(
                        "`az acr login` at {} needs a docker daemon, and none answers at {}",
                        login.location.file_line(),
                        endpoint.describe()
                    ),
                    message,
                    token_fix(
                        &name,
                        host.as_deref(),
                        "start the daemon before the login: `sudo systemctl start docker`",
                    ),
                ),
                login,
            ));
        }
    }
}

fn finding(severity: Severity, title: String, message: String, fix: String) -> Finding {
    Finding::new(
        CheckId::CredentialHelpers,
        Code::DOCKER_UNAVAILABLE,
        severity,
        title,
        message,
        fix,
    )
}

fn token_fix(name: &str, host: Option<&str>, or: &str) -> String {
    let host = host.map_or_else(|| format!("{name}.azurecr.io"), str::to_string);
    format!(
        "Get the token without docker, then hand it to the tool that builds (or {or}):\n\
         TOKEN=$(az acr login -n {name} --expose-token --query accessToken -o tsv)\n\
         echo \"$TOKEN\" | docker login {host} -u {} --password-stdin\n\
         (buildah, skopeo and oras take the same token and user name)",
        crate::cloud::ACR_TOKEN_USER
    )
}

fn searched(path: Option<&std::ffi::OsStr>) -> String {
    match path {
        None => "PATH is not set".to_string(),
        Some(p) => {
            let dirs: Vec<String> = std::env::split_paths(p)
                .filter(|d| d.is_absolute())
                .take(8)
                .map(|d| d.display().to_string())
                .collect();
            if dirs.is_empty() {
                "PATH has no absolute directory".to_string()
            } else {
                format!("looked in {}", dirs.join(", "))
            }
        }
    }
}

/// What goes through docker's credential store after this step: a `docker login`
/// (which stores), else a docker build, pull or push on the runner user's config
/// (which reads the store for every registry it talks to, public `FROM` images too).
enum StoreUse<'a> {
    Login(&'a LoginStep),
    Build(&'a BuildCommand),
}

impl StoreUse<'_> {
    fn find(ctx: &Ctx) -> Option<StoreUse<'_>> {
        if let Some(login) = ctx.job.docker_login_after() {
            return Some(StoreUse::Login(login));
        }
        ctx.job
            .builds_after
            .iter()
            .find(|b| {
                matches!(
                    b.what.as_str(),
                    "docker/build-push-action"
                        | "docker build"
                        | "docker buildx build"
                        | "docker push"
                ) && !b.as_root
                    && b.inline_config.is_none()
            })
            .map(StoreUse::Build)
    }

    fn location(&self) -> &crate::findings::Location {
        match self {
            StoreUse::Login(l) => &l.location,
            StoreUse::Build(b) => &b.location,
        }
    }

    /// `` the login at build.yml:10 would store its credential `` / `` `docker build` at
    /// build.yml:12 would read its credentials ``.
    fn subject(&self) -> String {
        match self {
            StoreUse::Login(l) => format!(
                "the login at {} would store its credential",
                l.location.file_line()
            ),
            StoreUse::Build(b) => format!(
                "`{}` at {} would read its credentials",
                b.what,
                b.location.file_line()
            ),
        }
    }

    /// What fails, with docker's error.
    fn consequence(&self) -> String {
        match self {
            StoreUse::Login(l) => format!(
                "{} fails with `Error saving credentials: error storing credentials - err: exit status 1, out: Cannot autolaunch D-Bus without X11 $DISPLAY` (or hangs waiting for a keyring), and later pulls through that store fail the same way.",
                describe_login(l)
            ),
            StoreUse::Build(b) => format!(
                "`{}` (step `{}`, {}) asks the store for every registry it pulls from or pushes to, public base images included, and BuildKit fails while loading the `FROM` image's metadata with `error getting credentials - err: exit status 1, out: Cannot autolaunch D-Bus without X11 $DISPLAY`.",
                b.what,
                b.step.label,
                b.location.file_line()
            ),
        }
    }
}

/// Neither a session bus address nor an X11 display: `secretservice` (libsecret over
/// GDBus) can reach no Secret Service and D-Bus cannot autolaunch a bus.
fn headless(ctx: &Ctx) -> bool {
    !ctx.config.env.dbus_session && !ctx.config.env.display
}

/// HELPER_STORE_UNSUPPORTED: a later `docker login` (docker/login-action, `az acr
/// login`) stores its credential through `ecr-login` (its `credHelpers` entry, else
/// `credsStore`), which answers a store with `not implemented` unless the login's
/// environment sets `AWS_ECR_IGNORE_CREDS_STORAGE=true`
/// (https://github.com/awslabs/amazon-ecr-credential-helper#readme). The first such
/// login only; a login whose registry is not known is judged by `credsStore` alone, and
/// only when the config has no `credHelpers`.
pub(super) fn ecr_login_store(ctx: &Ctx, config: &DockerConfig) -> Option<Finding> {
    const HELPER: &str = "ecr-login";
    if !on_the_runner(ctx) {
        return None;
    }
    let chosen = |registry: Option<&str>| -> Option<(String, Option<u32>)> {
        if let Some(host) = registry {
            let key = crate::docker::credential::auth_key(host);
            if let Some(e) = config
                .cred_helpers
                .iter()
                .find(|e| e.key.eq_ignore_ascii_case(&key))
            {
                return (e.helper == HELPER).then(|| {
                    (
                        format!("credHelpers[\"{}\"] to \"{HELPER}\"", e.key),
                        e.line,
                    )
                });
            }
        } else if !config.cred_helpers.is_empty() {
            return None;
        }
        let store = config.creds_store_name()?;
        (store.value == HELPER).then(|| (format!("credsStore to \"{HELPER}\""), store.line))
    };
    let (login, (sets, line)) = ctx
        .job
        .logins_after
        .iter()
        .filter(|l| l.runs_docker_login() && !l.as_root && !l.ecr_ignore_storage)
        .find_map(|l| Some((l, chosen(l.registry.as_deref())?)))?;
    let host = login.registry.as_deref().unwrap_or("its registry");
    let ecr = login
        .registry
        .as_deref()
        .is_some_and(|h| h.contains(".dkr.ecr.") || h == "public.ecr.aws");
    let fix = if ecr {
        format!(
            "Set the variable for that step (or the job), so the helper accepts the login without storing it and keeps signing in with the AWS credentials itself:\nenv:\n  AWS_ECR_IGNORE_CREDS_STORAGE: \"true\"\nor drop the login: `docker-credential-ecr-login` needs none for {host}."
        )
    } else {
        format!(
            "Name `ecr-login` only for the ECR registries, in `credHelpers` (`\"credHelpers\": {{\"<account>.dkr.ecr.<region>.amazonaws.com\": \"ecr-login\"}}`), not as `credsStore`, so the login to {host} is stored in config.json; `AWS_ECR_IGNORE_CREDS_STORAGE=true` would only make docker drop the credential for {host}."
        )
    };
    let message = format!(
        "{} sets {sets}, so {} hands its credential for {host} to `docker-credential-ecr-login store`. That helper reads credentials from AWS and stores none: unless `AWS_ECR_IGNORE_CREDS_STORAGE=true` is in the login's environment (it is set in no `env:` block of the step, job or workflow, nor in acr-preflight's environment), it answers `not implemented`, and the login fails with `error storing credentials - err: exit status 1, out: `not implemented``.",
        file_line(&config.path, line),
        describe_login(login),
    );
    Some(at_login(
        Finding::new(
            CheckId::CredentialHelpers,
            Code::HELPER_STORE_UNSUPPORTED,
            Severity::Error,
            format!(
                "the login at {} would store its credential with `ecr-login`, which stores none",
                login.location.file_line()
            ),
            message,
            fix,
        ),
        login,
    ))
}

/// HELPER_DEFAULT_STORE_HEADLESS: `secretservice` is the store docker uses (named in
/// `credsStore`, or docker's Linux default when the config names none; `config` is
/// `None` when the file does not exist), a later step logs in or builds through it,
/// and there is no D-Bus session. `store_run` tells that the named store is already
/// run for a registry of this run (its failure is reported as HELPER_FAILED then).
pub(super) fn secretservice_headless(
    ctx: &Ctx,
    config: Option<&DockerConfig>,
    path: &Path,
    store_run: bool,
) -> Option<Finding> {
    if !on_the_runner(ctx) || !headless(ctx) {
        return None;
    }
    let env_path = ctx.config.env.path.as_deref();
    let named = config.and_then(|c| c.creds_store_name());
    let names = match (config, named) {
        (_, Some(store)) => {
            if store.value != "secretservice" || store_run {
                return None;
            }
            format!(
                "{} sets credsStore to \"secretservice\"",
                file_line(path, store.line)
            )
        }
        // docker/cli `ContainsAuth`: a helper entry or an auths entry, no default store.
        (Some(c), None) if !c.cred_helpers.is_empty() || !c.auths.is_empty() => return None,
        (c, None) => {
            if cred_helper::default_store(env_path)? != "secretservice" {
                return None;
            }
            let helper = cred_helper::on_path("docker-credential-secretservice", env_path)?;
            let what = match c {
                Some(_) => format!(
                    "{} names no credential store (no `credsStore`, no `credHelpers`, no `auths` entry)",
                    display_path(ctx, path)
                ),
                None => format!("{} does not exist", display_path(ctx, path)),
            };
            format!(
                "{what}, so docker picks its Linux default store: `pass` is not on PATH and {} is, so the store is `secretservice`",
                helper.display()
            )
        }
    };
    let used = StoreUse::find(ctx)?;
    let message = format!(
        "{names}. That helper keeps credentials through the D-Bus Secret Service, and this job has no D-Bus session (neither DBUS_SESSION_BUS_ADDRESS nor DISPLAY is set), so {}",
        used.consequence()
    );
    let store_line = if named.is_some() {
        format!(
            "and drop `\"credsStore\": \"secretservice\"` from {} (or name `pass` there)",
            display_path(ctx, path)
        )
    } else {
        format!(
            "and set `\"credsStore\": \"pass\"` in {}",
            display_path(ctx, path)
        )
    };
    let fix = format!(
        "Before that step, either remove the package that installs the helper, so docker keeps the credential in config.json:\n\
         sudo apt-get remove -y golang-docker-credential-helpers\n\
         or give docker a store that works without a desktop session, `pass` with a key of its own:\n\
         sudo apt-get install -y pass\n\
         gpg --batch --pinentry-mode loopback --passphrase '' --quick-gen-key docker-ci default default never\n\
         pass init docker-ci\n\
         {store_line}"
    );
    let at = used.location();
    Some(
        Finding::new(
            CheckId::CredentialHelpers,
            Code::HELPER_DEFAULT_STORE_HEADLESS,
            Severity::Warning,
            format!(
                "{} with `secretservice`, which needs a D-Bus session",
                used.subject()
            ),
            message,
            fix,
        )
        .at(at.file.clone(), at.line, at.column),
    )
}

/// DOCKER_CONFIG_NOT_WRITABLE: a later `docker login` writes the config through a
/// temporary file in its directory (docker/cli `configfile.Save`), so the directory
/// (or, when it does not exist yet, its nearest parent) must be writable by this user.
pub(super) fn config_not_writable(ctx: &Ctx, dir: &Path) -> Option<Finding> {
    if !on_the_runner(ctx) {
        return None;
    }
    let login = ctx
        .job
        .logins_after
        .iter()
        .find(|l| l.runs_docker_login() && !l.as_root)?;
    let existing = dir.ancestors().find(|d| d.exists())?;
    if writable(existing) {
        return None;
    }
    let owner = owner_of(existing);
    let what = if existing == dir {
        format!("the docker config directory {}", dir.display())
    } else {
        format!(
            "{} does not exist, and its parent {}",
            dir.display(),
            existing.display()
        )
    };
    let message = format!(
        "{} runs after this step as this user, and {what}{owner} is not writable by it (a `sudo` or container step usually leaves it owned by root). `docker login` saves config.json through a new file in that directory, so it fails with `Error saving credentials: open {}/config.json…: permission denied` and the build has no credential.",
        describe_login(login),
        dir.display()
    );
    // Owned by root (a `sudo` step) or by this user without its write bit (a
    // `chmod 555`): the two commands cover both.
    let quoted = super::sh_quote(&existing.display().to_string());
    let fix = format!(
        "Give the directory back to the runner user, writable, before the login:\nsudo chown -R \"$(id -u):$(id -g)\" {quoted}\nchmod u+rwx {quoted}"
    );
    Some(at_login(
        Finding::new(
            CheckId::CredentialHelpers,
            Code::DOCKER_CONFIG_NOT_WRITABLE,
            Severity::Error,
            format!(
                "the login at {} cannot write {}",
                login.location.file_line(),
                existing.display()
            ),
            message,
            fix,
        ),
        login,
    ))
}

/// access(2) with W_OK|X_OK for the real user, as the later step runs.
#[cfg(unix)]
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return true;
    };
    // SAFETY: access(2) reads the NUL-terminated path and touches nothing else.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

/// Elsewhere (Windows): the directory's read-only attribute, all std can tell without
/// trying to write.
#[cfg(not(unix))]
fn writable(dir: &Path) -> bool {
    std::fs::metadata(dir).map_or(true, |m| !m.permissions().readonly())
}

#[cfg(not(unix))]
fn owner_of(_: &Path) -> String {
    String::new()
}

#[cfg(unix)]
fn owner_of(dir: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(dir) {
        Ok(m) => format!(" (owner uid {}, mode {:o})", m.uid(), m.mode() & 0o7777),
        Err(_) => String::new(),
    }
}

/// HELPER_ENV_MISSING for `acr-env`: which of its variables are missing (names only).
/// On a GitHub-hosted runner, which has no managed identity to fall back to, any
/// missing one is an error and the helper is not run; elsewhere a partial set is a
/// warning (the helper then tries a managed identity instead).
pub(super) fn acr_env_missing(
    ctx: &Ctx,
    config: &DockerConfig,
    name: &str,
    via: HelperVia,
    usage: &HelperUse,
) -> Option<(Finding, bool)> {
    if name != "acr-env" || !on_the_runner(ctx) {
        return None;
    }
    let set = &ctx.config.env.azure_env_set;
    let missing: Vec<&str> = cred_helper::ACR_ENV_VARIABLES
        .iter()
        .copied()
        .filter(|v| !set.contains(v))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let hosted = ctx.config.env.github_hosted();
    if !hosted && missing.len() == cred_helper::ACR_ENV_VARIABLES.len() {
        return None;
    }
    let key = config_keys(via, usage);
    let program = cred_helper::program_name(name);
    let consequence = if hosted {
        "A GitHub-hosted runner has no managed identity to fall back to, so the helper cannot sign in and every pull or push through it fails (`error getting credentials`); it was not run."
    } else {
        "Without all three the helper ignores the ones set and tries a managed identity instead, which signs in as another identity or fails."
    };
    let message = format!(
        "{} sets {key} to \"{name}\", so docker runs `{program}` for {}. It signs in with AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID, and {} {} not set in this step's environment. {consequence}",
        file_line(&config.path, usage.line),
        scope(via, usage),
        missing.join(", "),
        if missing.len() == 1 { "is" } else { "are" }
    );
    let lines: Vec<String> = missing
        .iter()
        .map(|v| format!("  {v}: ${{{{ secrets.{v} }}}}"))
        .collect();
    let fix = format!(
        "Set them in the job's `env:` (from secrets), so this step and the build both see them:\nenv:\n{}",
        lines.join("\n")
    );
    let severity = if hosted {
        Severity::Error
    } else {
        Severity::Warning
    };
    let f = Finding::new(
        CheckId::CredentialHelpers,
        Code::HELPER_ENV_MISSING,
        severity,
        format!("`{program}` ({key}) is missing {}", missing.join(", ")),
        message,
        fix,
    )
    .at(display_path(ctx, &config.path), usage.line, None);
    Some((f, hosted))
}
