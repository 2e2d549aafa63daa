//! Docker credentials: for every registry host the build uses, find the credential
//! docker would use (docker/cli's precedence: `credHelpers` > `credsStore` > `auths`),
//! run the chosen helpers, and report what is missing, broken or expired.
//!
//! The credentials found are returned as [`HostCredential`]s for the registry check.
//! No secret ever reaches a finding or a verified fact: they name the source, the kind
//! of credential, the user name and the expiry, never the value, a prefix or a length.

mod base_hosts;
mod messages;
mod push_tools;
mod runner;

use super::Ctx;
use crate::config::{AuthMode, DockerConfigOrigin};
use crate::docker::config::{
    self as docker_config, AuthEntry, ConfigError, DockerConfig, EntryKind, Load,
};
use crate::docker::credential::{self, Resolution};
use crate::docker::helper::{
    self as cred_helper, Call, HelperAnswer, HelperError, NoCredentialsStyle,
};
use crate::findings::{CheckId, CheckReport, Code, Finding, Severity};
use messages::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

pub use crate::docker::credential::{Credential, CredentialKind, HelperVia};
pub use base_hosts::{BaseHostHelper, HelperOutcome, helper_for_host};
pub(crate) use messages::{login_fix, sh_quote};

/// The longest a single helper call may take.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(10);

/// Helper calls end this much before the run's deadline, so that a hanging helper is
/// reported here (HELPER_FAILED) rather than as a generic run timeout.
const DEADLINE_MARGIN: Duration = Duration::from_millis(250);

/// A token expiring sooner than this is reported as a warning.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(15 * 60);

/// Where a host's credential comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// No usable config file (missing or invalid): docker has no credentials.
    NoConfig { path: PathBuf },
    /// The file store (`auths`); `key` is the matched entry, `None` when there is none.
    File { path: PathBuf, key: Option<String> },
    /// A helper program `docker-credential-<name>`, chosen by `via`.
    Helper { name: String, via: HelperVia },
    /// An ACR refresh token from `/oauth2/exchange` for the Azure identity (identity check).
    Entra { identity: String },
}

impl CredentialSource {
    /// Where a credential came from, for messages: `auths["h"] in /p/config.json`,
    /// `helper \`pass\` (credHelpers)`.
    pub fn describe(&self) -> String {
        match self {
            CredentialSource::NoConfig { path } => format!("no docker config ({})", path.display()),
            CredentialSource::File {
                path,
                key: Some(key),
            } => format!(
                "{} in {}",
                docker_config::key_path(&["auths", key]),
                path.display()
            ),
            CredentialSource::File { path, key: None } => {
                format!("no auths entry in {}", path.display())
            }
            CredentialSource::Entra { identity } => identity.clone(),
            CredentialSource::Helper { name, via } => format!(
                "helper `{name}` ({})",
                match via {
                    HelperVia::CredHelpers => "credHelpers",
                    HelperVia::CredsStore => "credsStore",
                }
            ),
        }
    }
}

/// The credential docker would use for one registry host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostCredential {
    /// `host[:port]` as given to [`run`].
    pub host: String,
    /// The key docker looks up (`https://index.docker.io/v1/` for Docker Hub).
    pub key: String,
    pub source: CredentialSource,
    /// The credential, when one was found (also when it has expired).
    pub credential: Option<Credential>,
    /// The finding that explains why there is no usable credential (missing, broken
    /// helper, expired…), so that later checks can refer to it instead of guessing.
    pub problem: Option<Code>,
}

/// What one docker key resolved to.
struct Outcome {
    source: CredentialSource,
    credential: Option<Credential>,
    problem: Option<Code>,
}

/// Checks the docker credentials for `hosts` (normalised `host[:port]`, deduplicated;
/// Docker Hub as `docker.io`).
pub async fn run(ctx: &Ctx, hosts: &[String]) -> (CheckReport, Vec<HostCredential>) {
    let (mut report, creds) = check_config(ctx, hosts).await;
    runner::az_login_needs_docker(ctx, &mut report).await;
    if let Some(f) = runner::config_not_writable(ctx, &ctx.config.docker_config.dir) {
        report.push(f);
    }
    (report, creds)
}

async fn check_config(ctx: &Ctx, hosts: &[String]) -> (CheckReport, Vec<HostCredential>) {
    let mut report = CheckReport::default();
    let dir = &ctx.config.docker_config.dir;
    if let Some(container) = &ctx.config.env.container
        && let Some(why) = container.unmounted(dir)
    {
        report.push(unmounted_config(ctx, container, hosts, &why));
        report.inconclusive = true;
        let creds = without_config(hosts, dir, Code::CONTAINER_PATH_UNMOUNTED);
        return (report, creds);
    }
    let config = match ctx.docker_config.as_ref() {
        Ok(Load::Loaded(config)) => config,
        Ok(Load::Missing { path, dir_exists }) => {
            report.push(missing_config(ctx, hosts, path, *dir_exists));
            if let Some(f) = runner::secretservice_headless(ctx, None, path, false) {
                report.push(f);
            }
            report.inconclusive = true;
            let creds = without_config(hosts, path, Code::DOCKER_CONFIG_MISSING);
            return (report, creds);
        }
        Err(error) => {
            for finding in invalid_config(ctx, error) {
                report.push(finding);
            }
            report.inconclusive = true;
            let creds = without_config(hosts, error.path(), Code::DOCKER_CONFIG_INVALID);
            return (report, creds);
        }
    };
    // Masked before anything can print: the secrets docker would send to these hosts
    // (every entry's are already, unless the file has very many).
    for host in hosts {
        config.register_secrets_for(host, &ctx.secrets);
    }
    report.verified(summary_fact(config));
    push_tools::unreadable_credentials(ctx, config, &mut report);
    let outcomes = check_hosts(ctx, config, hosts, &mut report).await;
    // The named store was run for a registry of this run when one resolves through it.
    let store_run = config.creds_store_name().is_some()
        && outcomes.values().any(|o| {
            matches!(
                &o.source,
                CredentialSource::Helper {
                    via: HelperVia::CredsStore,
                    ..
                }
            )
        });
    if let Some(f) = runner::secretservice_headless(ctx, Some(config), &config.path, store_run) {
        report.push(f);
    }
    if let Some(f) = runner::ecr_login_store(ctx, config) {
        report.push(f);
    }
    let creds = hosts
        .iter()
        .map(|host| {
            let key = credential::auth_key(host);
            let outcome = outcomes.get(&key);
            HostCredential {
                host: host.clone(),
                source: outcome
                    .map(|o| o.source.clone())
                    .unwrap_or(CredentialSource::File {
                        path: config.path.clone(),
                        key: None,
                    }),
                credential: outcome.and_then(|o| o.credential.clone()),
                problem: outcome.and_then(|o| o.problem),
                key,
            }
        })
        .collect();
    (report, creds)
}

fn without_config(hosts: &[String], path: &Path, code: Code) -> Vec<HostCredential> {
    hosts
        .iter()
        .map(|host| HostCredential {
            host: host.clone(),
            key: credential::auth_key(host),
            source: CredentialSource::NoConfig {
                path: path.to_path_buf(),
            },
            credential: None,
            problem: Some(code),
        })
        .collect()
}

fn summary_fact(config: &DockerConfig) -> String {
    let store = match config.creds_store_name() {
        Some(s) => format!("credsStore `{}`", s.value),
        None => "no credsStore".to_string(),
    };
    format!(
        "{} is valid JSON: {store}, {} credHelpers entr{}, {} auths entr{}",
        config.path.display(),
        config.cred_helpers.len(),
        if config.cred_helpers.len() == 1 {
            "y"
        } else {
            "ies"
        },
        config.auths.len(),
        if config.auths.len() == 1 { "y" } else { "ies" },
    )
}

/// One helper chosen by one config key, with the keys (and hosts) it serves.
struct HelperUse {
    line: Option<u32>,
    /// docker key → hosts, in the order the hosts were given.
    keys: Vec<(String, Vec<String>)>,
}

async fn check_hosts(
    ctx: &Ctx,
    config: &DockerConfig,
    hosts: &[String],
    report: &mut CheckReport,
) -> BTreeMap<String, Outcome> {
    let keys = keys_of(hosts);
    let helper_uses = helper_uses(config, &keys);
    let programs = find_helpers(ctx, config, &helper_uses, report);
    let mut calls = run_helpers(ctx, &helper_uses, &programs).await;
    keys.iter()
        .map(|(key, key_hosts)| {
            let outcome = key_outcome(ctx, config, report, key, key_hosts, &programs, &mut calls);
            (key.clone(), outcome)
        })
        .collect()
}

/// Hosts grouped by the key docker looks them up under (`docker.io` and
/// `index.docker.io` share one), in the order first seen.
fn keys_of(hosts: &[String]) -> Vec<(String, Vec<String>)> {
    let mut keys: Vec<(String, Vec<String>)> = Vec::new();
    for host in hosts {
        let key = credential::auth_key(host);
        match keys.iter_mut().find(|(k, _)| *k == key) {
            Some((_, hs)) => hs.push(host.clone()),
            None => keys.push((key, vec![host.clone()])),
        }
    }
    keys
}

/// Which helpers are needed, by (name, via); the credsStore helper always, because
/// docker also runs it for public base images.
fn helper_uses(
    config: &DockerConfig,
    keys: &[(String, Vec<String>)],
) -> BTreeMap<(String, HelperVia), HelperUse> {
    let mut helper_uses: BTreeMap<(String, HelperVia), HelperUse> = BTreeMap::new();
    if let Some(store) = config.creds_store_name() {
        helper_uses.insert(
            (store.value.clone(), HelperVia::CredsStore),
            HelperUse {
                line: store.line,
                keys: Vec::new(),
            },
        );
    }
    for (key, key_hosts) in keys {
        if let Resolution::Helper {
            name, via, line, ..
        } = config.resolve(&key_hosts[0])
        {
            helper_uses
                .entry((name, via))
                .or_insert(HelperUse {
                    line,
                    keys: Vec::new(),
                })
                .keys
                .push((key.clone(), key_hosts.clone()));
        }
    }
    helper_uses
}

/// Each helper's program, looked up once; invalid names and missing programs are
/// reported once per use.
fn find_helpers(
    ctx: &Ctx,
    config: &DockerConfig,
    helper_uses: &BTreeMap<(String, HelperVia), HelperUse>,
    report: &mut CheckReport,
) -> BTreeMap<String, Result<PathBuf, Code>> {
    let mut programs: BTreeMap<String, Result<PathBuf, Code>> = BTreeMap::new();
    for ((name, via), usage) in helper_uses {
        let found = programs
            .entry(name.clone())
            .or_insert_with(|| {
                cred_helper::find_on_path(name, ctx.config.env.path.as_deref()).map_err(|e| match e
                {
                    HelperError::InvalidName { .. } => Code::DOCKER_CONFIG_INVALID,
                    _ if ctx.config.env.container.is_some() && could_be_on_the_runner(name) => {
                        Code::HELPER_UNVERIFIABLE
                    }
                    _ => Code::HELPER_NOT_FOUND,
                })
            })
            .clone();
        let found = match (
            found,
            runner::acr_env_missing(ctx, config, name, *via, usage),
        ) {
            (Ok(program), Some((finding, blocks))) => {
                report.push(finding);
                if blocks {
                    programs.insert(name.clone(), Err(Code::HELPER_ENV_MISSING));
                    continue;
                }
                Ok(program)
            }
            (found, _) => found,
        };
        match found {
            Ok(_) => {}
            Err(Code::DOCKER_CONFIG_INVALID) => {
                report.push(invalid_helper_name(ctx, config, name, *via, usage));
            }
            // Reported with the variables it misses, above.
            Err(Code::HELPER_ENV_MISSING) => {}
            Err(Code::HELPER_UNVERIFIABLE) => {
                report.push(helper_unverifiable(ctx, config, name, *via, usage));
                report.inconclusive = true;
            }
            Err(_) => report.push(helper_not_found(ctx, config, name, *via, usage)),
        }
    }
    programs
}

/// How long one helper call may take now: [`HELPER_TIMEOUT`], ending
/// [`DEADLINE_MARGIN`] before the run's deadline.
fn helper_timeout(ctx: &Ctx) -> Duration {
    HELPER_TIMEOUT.min(ctx.remaining().saturating_sub(DEADLINE_MARGIN))
}

/// Runs each (helper, key) once, all at the same time, within the helper timeout.
async fn run_helpers(
    ctx: &Ctx,
    helper_uses: &BTreeMap<(String, HelperVia), HelperUse>,
    programs: &BTreeMap<String, Result<PathBuf, Code>>,
) -> BTreeMap<(String, String), Call> {
    let timeout = helper_timeout(ctx);
    let mut calls: BTreeMap<(String, String), Call> = BTreeMap::new();
    let mut set = tokio::task::JoinSet::new();
    let mut started = std::collections::BTreeSet::new();
    for ((name, _), usage) in helper_uses {
        let Some(Ok(program)) = programs.get(name) else {
            continue;
        };
        for (key, _) in &usage.keys {
            if timeout.is_zero() || !started.insert((name.clone(), key.clone())) {
                continue;
            }
            let (name, key, program) = (name.clone(), key.clone(), program.clone());
            let secrets = ctx.secrets.clone();
            set.spawn(async move {
                let call = cred_helper::run_get(&program, &key, timeout, &secrets).await;
                (name, key, call)
            });
        }
    }
    while let Some(joined) = set.join_next().await {
        // A panicked task leaves its key without a result: reported as inconclusive.
        if let Ok((name, key, call)) = joined {
            calls.insert((name, key), call);
        }
    }
    calls
}

/// The credential docker would use for one key, from the helper's answer, the file's
/// entry, or nothing.
fn key_outcome(
    ctx: &Ctx,
    config: &DockerConfig,
    report: &mut CheckReport,
    key: &str,
    key_hosts: &[String],
    programs: &BTreeMap<String, Result<PathBuf, Code>>,
    calls: &mut BTreeMap<(String, String), Call>,
) -> Outcome {
    match config.resolve(&key_hosts[0]) {
        Resolution::Helper {
            name, via, line, ..
        } => {
            let source = CredentialSource::Helper {
                name: name.clone(),
                via,
            };
            let located = HelperAt {
                config,
                name: &name,
                via,
                line,
                key,
                hosts: key_hosts,
            };
            match programs.get(&name) {
                Some(Err(code)) => Outcome {
                    source,
                    credential: None,
                    problem: Some(*code),
                },
                _ => match calls.remove(&(name.clone(), key.to_string())) {
                    Some(call) => helper_outcome(ctx, report, &located, source, call),
                    None => {
                        report.inconclusive = true;
                        Outcome {
                            source,
                            credential: None,
                            problem: None,
                        }
                    }
                },
            }
        }
        Resolution::File {
            entry,
            legacy_match,
            forced_by_empty_helper,
            ..
        } => file_outcome(
            ctx,
            report,
            config,
            key,
            key_hosts,
            entry,
            legacy_match,
            forced_by_empty_helper,
        ),
        Resolution::None {
            forced_by_empty_helper,
            ..
        } => {
            report.push(cred_not_found(
                ctx,
                config,
                key,
                key_hosts,
                None,
                forced_by_empty_helper,
            ));
            Outcome {
                source: CredentialSource::File {
                    path: config.path.clone(),
                    key: None,
                },
                credential: None,
                problem: Some(Code::CRED_NOT_FOUND),
            }
        }
    }
}

/// A helper as chosen for one key, for messages.
struct HelperAt<'a> {
    config: &'a DockerConfig,
    name: &'a str,
    via: HelperVia,
    line: Option<u32>,
    key: &'a str,
    hosts: &'a [String],
}

impl HelperAt<'_> {
    /// `credHelpers["host"]` or `credsStore`.
    fn config_key(&self) -> String {
        match self.via {
            HelperVia::CredHelpers => docker_config::key_path(&["credHelpers", self.key]),
            HelperVia::CredsStore => "credsStore".to_string(),
        }
    }

    /// `/x/config.json:3 sets credsStore to "pass"`.
    fn chosen_by(&self) -> String {
        format!(
            "{} sets {} to \"{}\"",
            file_line(&self.config.path, self.line),
            self.config_key(),
            self.name
        )
    }

    fn hosts_label(&self) -> String {
        self.hosts.join(", ")
    }
}

fn helper_outcome(
    ctx: &Ctx,
    report: &mut CheckReport,
    at: &HelperAt<'_>,
    source: CredentialSource,
    call: Call,
) -> Outcome {
    let waited = format_duration(call.elapsed);
    let location = (at.config.path.clone(), at.line);
    match call.result {
        Ok(HelperAnswer::Credentials(answer)) => {
            let credential = answer.into_credential();
            let what = credential.describe();
            let origin = format!(
                "helper `{}` ({})",
                at.name,
                match at.via {
                    HelperVia::CredHelpers => "credHelpers",
                    HelperVia::CredsStore => "credsStore",
                }
            );
            let problem = check_expiry(
                ctx,
                report,
                &credential,
                at.hosts,
                &format!("{what} returned by {origin} for `{}`", at.key),
                &location,
            );
            if problem.is_none() {
                report.verified(format!(
                    "{}: {origin} returned {what}{}",
                    at.hosts_label(),
                    validity(&credential)
                ));
            }
            Outcome {
                source,
                credential: Some(credential),
                problem,
            }
        }
        Ok(HelperAnswer::NoCredentials(style)) => {
            report.push(helper_no_credentials(ctx, at, style, &waited));
            Outcome {
                source,
                credential: None,
                problem: Some(Code::HELPER_NO_CREDENTIALS),
            }
        }
        Err(error) => {
            report.push(helper_failed(ctx, at, &call.program, &error, &waited));
            Outcome {
                source,
                credential: None,
                problem: Some(Code::HELPER_FAILED),
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn file_outcome(
    ctx: &Ctx,
    report: &mut CheckReport,
    config: &DockerConfig,
    key: &str,
    hosts: &[String],
    entry: &AuthEntry,
    legacy_match: bool,
    forced_by_empty_helper: Option<u32>,
) -> Outcome {
    let source = CredentialSource::File {
        path: config.path.clone(),
        key: Some(entry.key.clone()),
    };
    let Some(credential) = entry.credential() else {
        report.push(cred_not_found(
            ctx,
            config,
            key,
            hosts,
            Some(entry),
            forced_by_empty_helper,
        ));
        return Outcome {
            source,
            credential: None,
            problem: Some(Code::CRED_NOT_FOUND),
        };
    };
    let entry_name = docker_config::key_path(&["auths", &entry.key]);
    let what = credential.describe();
    let location = (config.path.clone(), entry.line);
    let problem = check_expiry(
        ctx,
        report,
        &credential,
        hosts,
        &format!(
            "{what} in {entry_name} ({})",
            file_line(&config.path, entry.line)
        ),
        &location,
    );
    if problem.is_none() {
        let mut notes = Vec::new();
        if key != entry.key || hosts.iter().any(|h| h != key) {
            notes.push(format!("used for {}", hosts.join(", ")));
        }
        if legacy_match {
            notes.push("a legacy key, matched by its host name".to_string());
        }
        if forced_by_empty_helper.is_some() {
            notes.push(format!(
                "{} is \"\", so the file store is used",
                docker_config::key_path(&["credHelpers", key])
            ));
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join("; "))
        };
        report.verified(format!(
            "{entry_name} in {} holds {what}{}{notes}",
            file_line(&config.path, entry.line),
            validity(&credential)
        ));
    }
    Outcome {
        source,
        credential: Some(credential),
        problem,
    }
}

/// CRED_EXPIRED when the secret is a JWT that has expired (error) or expires within
/// [`EXPIRY_WARNING`] (warning), located at the docker config. Returns the code when
/// the credential is unusable.
fn check_expiry(
    ctx: &Ctx,
    report: &mut CheckReport,
    credential: &Credential,
    hosts: &[String],
    what: &str,
    location: &(PathBuf, Option<u32>),
) -> Option<Code> {
    let (finding, problem) = expiry(ctx, credential, hosts, what)?;
    report.push(finding.at(display_path(ctx, &location.0), location.1, None));
    problem
}

/// The CRED_EXPIRED judgement of a credential docker presents to `hosts` (`what` names
/// it in the message), not yet located, and the code when the credential is unusable
/// (expired); `None` when it is not a token that ends soon.
fn expiry(
    ctx: &Ctx,
    credential: &Credential,
    hosts: &[String],
    what: &str,
) -> Option<(Finding, Option<Code>)> {
    let exp = credential.expires()?;
    let now = SystemTime::now();
    let when = crate::jwt::format_utc(exp);
    let distance = crate::jwt::describe_distance(exp, now);
    let host = hosts.join(", ");
    // The note is prose on a line of its own, before the commands: appended to the
    // last command it would read as that command's arguments.
    let acr_note = if credential.is_acr_refresh_token() {
        "An ACR refresh token lasts about 3 hours, so log in again right before the step that pulls or pushes.\n"
    } else {
        ""
    };
    let fix = format!("{acr_note}{}", login_fix(ctx, &hosts[0]));
    let expired = exp <= now;
    let (severity, title, message, problem) = if expired {
        (
            Severity::Error,
            format!("the credential for {host} expired {distance}"),
            format!(
                "The credential ({what}) is a token that expired at {when} ({distance}); the registry rejects it (`unauthorized: authentication required`) and docker does not renew it."
            ),
            Some(Code::CRED_EXPIRED),
        )
    } else if exp.duration_since(now).unwrap_or_default() < EXPIRY_WARNING {
        (
            Severity::Warning,
            format!("the credential for {host} expires {distance}"),
            format!(
                "The credential ({what}) is a token that expires at {when} ({distance}); a build that pulls or pushes after that fails with `unauthorized: authentication required`."
            ),
            None,
        )
    } else if let Some((severity, title, message)) =
        expires_within_job(ctx, credential, hosts, what, exp, now)
    {
        (severity, title, message, None)
    } else {
        return None;
    };
    let finding = Finding::new(
        CheckId::CredentialHelpers,
        Code::CRED_EXPIRED,
        severity,
        title,
        message,
        fix,
    );
    Some((finding, problem))
}

/// CRED_EXPIRED before the job's time limit (P32): an ACR refresh token that a build
/// after acr-preflight's step will use (no later login can replace it) and that
/// expires before the job's `timeout-minutes` (GitHub's 360 when not set) have passed.
/// A warning when the job sets the limit, a notice for the default.
fn expires_within_job(
    ctx: &Ctx,
    credential: &Credential,
    hosts: &[String],
    what: &str,
    exp: SystemTime,
    now: SystemTime,
) -> Option<(Severity, String, String)> {
    if !credential.is_acr_refresh_token() || hosts.iter().any(|h| ctx.job.relogin_for(h)) {
        return None;
    }
    let build = ctx.job.builds_after.first()?;
    let minutes = ctx.job.timeout.minutes()?;
    let limit = now.checked_add(Duration::from_secs(minutes.saturating_mul(60)))?;
    if exp >= limit {
        return None;
    }
    let (severity, limit_text) = match &ctx.job.timeout {
        crate::workflow::JobTimeout::Set { location, .. } => (
            Severity::Warning,
            format!("`timeout-minutes: {minutes}` ({})", location.file_line()),
        ),
        _ => (
            Severity::Notice,
            format!("GitHub's default of {minutes} minutes (the job sets no `timeout-minutes`)"),
        ),
    };
    let host = hosts.join(", ");
    let message = format!(
        "The credential ({what}) expires at {} ({}). The job may run until {} ({limit_text}, counted from now), and `{}` ({}) uses this token after this step with no login in between: a pull or push after {} fails with `unauthorized: authentication required`.",
        crate::jwt::format_utc(exp),
        crate::jwt::describe_distance(exp, now),
        crate::jwt::format_utc(limit),
        build.what,
        build.location.file_line(),
        crate::jwt::format_utc(exp),
    );
    Some((
        severity,
        format!("the credential for {host} expires before the job's time limit"),
        message,
    ))
}

// ---------------------------------------------------------------------------------
// Findings

/// What the build needs from the docker config, as far as this run knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BuildNeed {
    /// Nothing: auth-mode anonymous, or an ACR Tasks build (it signs in with the Azure
    /// identity).
    Nothing,
    /// Its credentials: the docker config is the auth mode (`docker-config`, or `auto`
    /// with no Azure identity).
    DockerConfig,
    /// Its credentials, although this run signs in with an Azure identity: the workflow
    /// builds with docker/buildx, which read the docker config, not this run's token.
    DockerDespiteAzure,
    /// An Azure identity and no workflow facts: the build may be ACR Tasks, `az acr
    /// login` + docker, or anything else.
    Unknown,
}

fn missing_config_need(ctx: &Ctx) -> BuildNeed {
    let config = &ctx.config;
    match config.effective_auth_mode() {
        AuthMode::Anonymous => BuildNeed::Nothing,
        _ if config.acr_tasks_only() => BuildNeed::Nothing,
        AuthMode::DockerConfig => BuildNeed::DockerConfig,
        _ if !config.build.docker.is_empty() => BuildNeed::DockerDespiteAzure,
        _ => BuildNeed::Unknown,
    }
}

/// Lowers the `code` findings above notice to notices, saying `why` (appended to the
/// message) and putting `fix_first` before the fix: what the registry proved makes them
/// harmless for this build.
fn settle_as_notice(report: &mut CheckReport, code: Code, why: &str, fix_first: Option<&str>) {
    for f in &mut report.findings {
        if f.code == code && f.severity > Severity::Notice {
            f.severity = Severity::Notice;
            f.message.push_str(why);
            if let Some(first) = fix_first {
                f.fix = format!("{first}{}", f.fix);
            }
        }
    }
}

/// A helper a container action cannot run (HELPER_UNVERIFIABLE) matters only when the
/// registry needs a credential. When every reference on every such host is a pull that
/// the registry served without one, the build does not depend on the helper for them:
/// the finding drops to a notice and says why.
pub fn settle_unverifiable_helpers(
    credentials: &mut CheckReport,
    host_credentials: &[HostCredential],
    contexts: &[crate::findings::ContextInfo],
) {
    let hosts: Vec<&str> = host_credentials
        .iter()
        .filter(|c| c.problem == Some(Code::HELPER_UNVERIFIABLE))
        .map(|c| c.host.as_str())
        .collect();
    if hosts.is_empty() {
        return;
    }
    let served_without = hosts.iter().all(|host| {
        let on_host: Vec<_> = contexts
            .iter()
            .filter(|c| {
                c.registry
                    .as_deref()
                    .is_some_and(|r| r.eq_ignore_ascii_case(host))
            })
            .collect();
        !on_host.is_empty() && on_host.iter().all(|c| c.role.pulls() && c.digest.is_some())
    });
    if !served_without {
        return;
    }
    settle_as_notice(
        credentials,
        Code::HELPER_UNVERIFIABLE,
        &format!(
            " The registry served every reference on {} without a credential, so the build's pulls do not depend on it.",
            hosts.join(", ")
        ),
        None,
    );
}

/// A missing docker config is an error only when the build needs a credential. When
/// the build only pulls, and the registry served every reference without a credential
/// (the docker config's, which is none) or ARM says anonymous pull is enabled on its
/// registry, the finding drops to a notice that says so.
pub fn settle_missing_config(
    report: &mut CheckReport,
    contexts: &[crate::findings::ContextInfo],
    host_credentials: &[HostCredential],
    registries: &BTreeMap<String, crate::azure::arm::RegistryFacts>,
) {
    if contexts.is_empty() || contexts.iter().any(|c| !c.role.pulls()) {
        return;
    }
    let anonymous = |c: &crate::findings::ContextInfo| {
        let Some(host) = c.registry.as_deref() else {
            return false;
        };
        let served_without = c.digest.is_some()
            && host_credentials
                .iter()
                .filter(|h| h.host.eq_ignore_ascii_case(host))
                .all(|h| h.credential.is_none());
        let anonymous_pull = registries
            .iter()
            .any(|(h, f)| h.eq_ignore_ascii_case(host) && f.anonymous_pull_enabled == Some(true));
        served_without || (anonymous_pull && c.digest.is_some())
    };
    if !contexts.iter().all(anonymous) {
        return;
    }
    let hosts: Vec<&str> =
        contexts
            .iter()
            .filter_map(|c| c.registry.as_deref())
            .fold(Vec::new(), |mut v, h| {
                if !v.contains(&h) {
                    v.push(h);
                }
                v
            });
    settle_as_notice(
        report,
        Code::DOCKER_CONFIG_MISSING,
        &format!(
            " The build only pulls, and {} served every reference without a credential (anonymous pull), so without a config.json the build gets what it needs.",
            hosts.join(", ")
        ),
        Some(
            "Nothing to fix while the build only pulls. Before it pushes, or if anonymous pull is turned off, log in first:\n",
        ),
    );
}

/// The docker config's credential for an ACR host is the registry's admin user (its
/// username is the registry name, case-insensitively): whether ARM allows it.
/// CRED_ADMIN_DISABLED when ARM says `adminUserEnabled: false`, since the registry
/// refuses the admin user then, whatever the password.
pub fn admin_user(
    report: &mut CheckReport,
    host_credentials: &[HostCredential],
    logins: &[crate::workflow::LoginStep],
    registries: &BTreeMap<String, crate::azure::arm::RegistryFacts>,
) {
    let at_steps = admin_user_at_logins(report, logins, registries);
    for hc in host_credentials {
        // A login step of the job already named, where it is written.
        if at_steps.iter().any(|h| h.eq_ignore_ascii_case(&hc.host)) {
            continue;
        }
        let Some(c) = &hc.credential else {
            continue;
        };
        let Some((_, facts)) = registries
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(&hc.host))
        else {
            continue;
        };
        if !is_admin_user(c.username(), facts) {
            continue;
        }
        match facts.admin_user_enabled {
            Some(false) => report.push(admin_disabled(hc, facts)),
            Some(true) => report.verified(format!(
                "{}: the docker config's credential is the admin user `{}`, enabled in ARM ({})",
                hc.host,
                c.username(),
                facts.id
            )),
            None => {}
        }
    }
}

/// P22 at the workflow's own login steps: a username, written or resolved from `env`,
/// that is the admin user of a registry whose admin account ARM says is disabled (a
/// username that cannot be resolved, such as a secret, is not judged). Returns the
/// hosts reported.
fn admin_user_at_logins(
    report: &mut CheckReport,
    logins: &[crate::workflow::LoginStep],
    registries: &BTreeMap<String, crate::azure::arm::RegistryFacts>,
) -> Vec<String> {
    let mut hosts = Vec::new();
    for login in logins {
        let (Some(host), Some(user)) = (&login.registry, &login.username_value) else {
            continue;
        };
        let Some((host, facts)) = registries
            .iter()
            .find(|(h, _)| crate::reference::same_registry(h, host))
        else {
            continue;
        };
        if is_admin_user(user, facts) && facts.admin_user_enabled == Some(false) {
            report.push(admin_disabled_at_login(login, host, user, facts));
            hosts.push(host.clone());
        }
    }
    hosts
}

/// Whether `username` is the admin user of the registry ARM describes: ACR names its
/// admin account after the registry.
pub fn is_admin_user(username: &str, facts: &crate::azure::arm::RegistryFacts) -> bool {
    !facts.name.is_empty() && username.eq_ignore_ascii_case(&facts.name)
}

const LOAD_FAILS: &str = "docker cannot load this file either: it prints `WARNING: Error loading config file` and runs without the credentials and helpers it configures.";

// ---------------------------------------------------------------------------------
// Text helpers

fn missing_credential_severity(ctx: &Ctx) -> Severity {
    match ctx.config.effective_auth_mode() {
        AuthMode::DockerConfig => Severity::Error,
        AuthMode::Anonymous => Severity::Notice,
        _ => Severity::Warning,
    }
}

/// The ACR registry name for an ACR login server.
fn acr_name(host: &str) -> Option<&str> {
    crate::cloud::acr_registry(host)
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_unverifiable_helper_is_a_notice_once_the_registry_served_without_it() {
        use super::{CredentialSource, HostCredential};
        use crate::docker::credential::HelperVia;
        use crate::findings::Role;
        let finding = || {
            let mut r = CheckReport::default();
            r.push(Finding::new(
                CheckId::CredentialHelpers,
                Code::HELPER_UNVERIFIABLE,
                Severity::Warning,
                "t",
                "m.",
                "f",
            ));
            r
        };
        let creds = vec![HostCredential {
            host: "reg.example".into(),
            key: "reg.example".into(),
            source: CredentialSource::Helper {
                name: "acr-env".into(),
                via: HelperVia::CredHelpers,
            },
            credential: None,
            problem: Some(Code::HELPER_UNVERIFIABLE),
        }];
        let context = |role: Role, digest: Option<&str>| crate::findings::ContextInfo {
            reference: "reg.example/a:v1".into(),
            role,
            registry: Some("reg.example".into()),
            repository: Some("a".into()),
            tag: Some("v1".into()),
            digest: digest.map(str::to_string),
            media_type: None,
            ..crate::findings::ContextInfo::default()
        };
        let mut served = finding();
        super::settle_unverifiable_helpers(
            &mut served,
            &creds,
            &[context(Role::Pull, Some("sha256:1"))],
        );
        assert_eq!(served.findings[0].severity, Severity::Notice);
        assert!(served.findings[0].message.contains("without a credential"));

        let mut refused = finding();
        super::settle_unverifiable_helpers(&mut refused, &creds, &[context(Role::Pull, None)]);
        assert_eq!(refused.findings[0].severity, Severity::Warning);

        let mut pushes = finding();
        super::settle_unverifiable_helpers(
            &mut pushes,
            &creds,
            &[
                context(Role::Pull, Some("sha256:1")),
                context(Role::Push, None),
            ],
        );
        assert_eq!(pushes.findings[0].severity, Severity::Warning);
    }

    use super::*;

    #[test]
    fn acr_names_and_quoting() {
        assert_eq!(acr_name("myreg.azurecr.io"), Some("myreg"));
        assert_eq!(acr_name("myreg.azurecr.cn"), Some("myreg"));
        assert_eq!(acr_name("127.0.0.1:5000"), None);
        assert_eq!(sh_quote("/x/config.json"), "/x/config.json");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(
            jq_edit("del(.credsStore)", "/x/config.json"),
            "`jq 'del(.credsStore)' /x/config.json > /x/config.json.new && mv /x/config.json.new /x/config.json`"
        );
    }

    #[test]
    fn login_commands_per_registry_kind() {
        let acr = login_commands("myreg.azurecr.io", "");
        assert!(acr.starts_with("az acr login -n myreg\n"));
        assert!(acr.contains("--expose-token"));
        assert!(login_commands("docker.io", "").starts_with("docker login\n"));
        let with_setup = login_commands("myreg.azurecr.io", "export DOCKER_CONFIG=/d\n");
        assert_eq!(with_setup.matches("export DOCKER_CONFIG").count(), 1);
        assert!(login_commands("127.0.0.1:5000", "").starts_with("docker login 127.0.0.1:5000\n"));
    }
}
