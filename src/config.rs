//! The typed configuration every check reads. Built once, by `cli`, from CLI flags
//! and `INPUT_*` variables; checks never read the environment themselves, so tests
//! can drive them with a hand-made `Config`.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::cloud::AzureEnvironment;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    Auto,
    Oidc,
    ClientSecret,
    ManagedIdentity,
    AzureCli,
    DockerConfig,
    Anonymous,
}

impl AuthMode {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMode::Auto => "auto",
            AuthMode::Oidc => "oidc",
            AuthMode::ClientSecret => "client-secret",
            AuthMode::ManagedIdentity => "managed-identity",
            AuthMode::AzureCli => "azure-cli",
            AuthMode::DockerConfig => "docker-config",
            AuthMode::Anonymous => "anonymous",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Github,
    Text,
    Json,
}

/// The registry the build uses, as given and as a host to contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// What the user wrote.
    pub input: String,
    /// Lower-cased `host[:port]`: the login server for ACR names.
    pub host: String,
    /// The ACR registry name when the host is an ACR login server.
    pub acr_name: Option<String>,
}

impl Registry {
    /// True when the registry was given as a bare ACR name (`myreg`), so its host is the
    /// `<name>.azurecr.io` guess until ARM gives the real login server.
    pub fn given_by_name(&self) -> bool {
        let input = self.input.trim();
        self.acr_name.is_some() && !input.contains('.') && !input.contains(':')
    }
}

/// `--resolve HOST=IP:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolveRule {
    pub host: String,
    pub addr: std::net::SocketAddr,
}

/// Why the docker config directory is the one it is; findings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DockerConfigOrigin {
    /// `--docker-config` / input `docker-config`.
    Flag,
    /// `$DOCKER_CONFIG`.
    Env,
    /// `$HOME/.docker`.
    Home,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DockerConfigLocation {
    pub dir: PathBuf,
    pub origin: DockerConfigOrigin,
}

#[derive(Debug, Clone, Default)]
pub struct AzureOptions {
    pub client_id: Option<String>,
    pub tenant_id: Option<String>,
    pub subscription_id: Option<String>,
    /// The Azure CLI config folder whose active subscription stands in for
    /// `subscription_id` (`auth-mode: azure-cli` without `subscription-id`).
    pub subscription_from_cli: Option<PathBuf>,
    /// Registered with `Secrets` as soon as it is read.
    pub client_secret: Option<String>,
    /// The audience of the GitHub OIDC token: `--audience` (input `audience`) when given,
    /// on every cloud, else the cloud's own (`api://AzureADTokenExchange`,
    /// `…China`, `…USGov`).
    pub audience: String,
    pub environment: Option<AzureEnvironment>,
    pub authority_host: Option<String>,
    pub arm_endpoint: Option<String>,
}

/// The environment facts checks may depend on, captured once.
#[derive(Debug, Clone, Default)]
pub struct RunEnvironment {
    /// `GITHUB_ACTIONS=true`.
    pub github_actions: bool,
    /// Set when running as a container action (workspace at `/github/workspace`): what
    /// the runner mounted. Such a step cannot see the runner's `~/.docker`, `~/.azure`
    /// nor programs installed on the runner.
    pub container: Option<crate::action_container::ActionContainer>,
    /// `PATH`, where credential helpers are looked up.
    pub path: Option<OsString>,
    pub home: Option<PathBuf>,
    /// `SUDO_USER`: the user who ran `sudo` (set when acr-preflight itself runs through it).
    pub sudo_user: Option<String>,
    /// `AZURE_CONFIG_DIR`: the Azure CLI's profile folder, else `~/.azure`.
    pub azure_config_dir: Option<PathBuf>,
    pub github_step_summary: Option<PathBuf>,
    pub github_output: Option<PathBuf>,
    pub github_workspace: Option<PathBuf>,
    /// `NO_COLOR` set to anything non-empty.
    pub no_color: bool,
    /// `GITHUB_WORKFLOW_REF`: `owner/repo/.github/workflows/build.yml@refs/heads/main`.
    pub workflow_ref: Option<String>,
    /// `GITHUB_JOB`: the id of the running job.
    pub job: Option<String>,
    /// `GITHUB_ACTION`: the running step's `id`, or `__owner_repo` / `__run` when it has none.
    pub action: Option<String>,
    /// `GITHUB_EVENT_NAME`.
    pub event_name: Option<String>,
    /// `GITHUB_EVENT_PATH`: the event payload (JSON).
    pub event_path: Option<PathBuf>,
    /// `GITHUB_REF`: `refs/heads/main`, `refs/pull/1/merge`, `refs/tags/v1`.
    pub git_ref: Option<String>,
    /// `GITHUB_REF_NAME`.
    pub ref_name: Option<String>,
    /// `GITHUB_SHA`.
    pub sha: Option<String>,
    /// `GITHUB_REPOSITORY`: `owner/repo`.
    pub repository: Option<String>,
    /// `GITHUB_ACTOR`: who started the workflow run (`dependabot[bot]` for Dependabot).
    pub actor: Option<String>,
    /// `GITHUB_TRIGGERING_ACTOR`: who started this attempt (differs on a re-run).
    pub triggering_actor: Option<String>,
    /// `GITHUB_API_URL`: `https://api.github.com`, or `https://HOST/api/v3` on GitHub
    /// Enterprise Server.
    pub api_url: Option<String>,
    /// `GITHUB_SERVER_URL`: `https://github.com` or the GHES URL (links to the run).
    pub server_url: Option<String>,
    /// `GITHUB_ACTION_REPOSITORY`: `owner/repo` of the action running this step (the
    /// summary links each finding code to `docs/checks.md` there).
    pub action_repository: Option<String>,
    /// `GITHUB_RUN_ID`.
    pub run_id: Option<String>,
    /// `ACTIONS_ID_TOKEN_REQUEST_URL`: set by the runner when the job may mint OIDC tokens.
    pub actions_id_token_request_url: Option<String>,
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN` (a secret: registered before use).
    pub actions_id_token_request_token: Option<String>,
    /// `AZURE_FEDERATED_TOKEN_FILE`: a workload-identity token file.
    pub azure_federated_token_file: Option<PathBuf>,
    /// `RUNNER_ENVIRONMENT`: `github-hosted` or `self-hosted`.
    pub runner_environment: Option<String>,
    /// `DOCKER_HOST`: the daemon the docker CLI talks to (`unix:///var/run/docker.sock`
    /// when unset).
    pub docker_host: Option<String>,
    /// `DOCKER_CONTEXT`: the docker context the CLI uses (buildx keys its `current`
    /// builder by it).
    pub docker_context: Option<String>,
    /// `BUILDX_CONFIG`: buildx's state folder, else `buildx` in the docker config folder.
    pub buildx_config: Option<PathBuf>,
    /// `DBUS_SESSION_BUS_ADDRESS` is set: the `secretservice` helper needs a D-Bus session.
    pub dbus_session: bool,
    /// `DISPLAY` is set: without a session bus, D-Bus can still autolaunch one on X11.
    pub display: bool,
    /// Which of `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_TENANT_ID` are set and
    /// not empty (names only; the `acr-env` helper reads them).
    pub azure_env_set: Vec<&'static str>,
}

impl RunEnvironment {
    /// A runner GitHub hosts: it has no Azure managed identity, and no state survives the job.
    pub fn github_hosted(&self) -> bool {
        self.runner_environment.as_deref() == Some("github-hosted")
    }
}

/// Pull request feedback through the GitHub API (`src/feedback/`): opt-in, off by default.
#[derive(Clone, Default)]
pub struct GithubOptions {
    /// `--github-token`, else `GITHUB_TOKEN`. Registered with `Secrets` before any call.
    pub token: Option<String>,
    /// `--comment`: keep one sticky pull request comment with the summary.
    pub comment: bool,
    /// `--comment-key`: tells apart the comments of jobs sharing an id (matrix legs).
    pub comment_key: Option<String>,
    /// `--check-run`: create a check run with the located findings as annotations.
    pub check_run: bool,
}

impl std::fmt::Debug for GithubOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token itself, whoever prints a config.
        f.debug_struct("GithubOptions")
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("comment", &self.comment)
            .field("comment_key", &self.comment_key)
            .field("check_run", &self.check_run)
            .finish()
    }
}

/// What the build does with the registry, as far as this run knows (workflow discovery
/// fills it in): which build tools read the docker config and which queue ACR Tasks runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildTools {
    /// ACR Tasks commands (`az acr build`, `az acr run`, azure/acr-build), each as
    /// `what (file:line)`: they sign in with the Azure identity, not the docker config,
    /// and need the control-plane Tasks actions on the registry.
    pub acr_tasks: Vec<String>,
    /// Those of `acr_tasks` that run on a dedicated agent pool (`--agent-pool`).
    pub acr_tasks_pooled: Vec<String>,
    /// docker / buildx builds and pushes, each as `what (file:line)`: they read the
    /// docker config.
    pub docker: Vec<String>,
    /// `az` calls that need a token (`az acr login`, …), without sudo, each as
    /// `what (file:line)`: they need the Azure CLI session to still serve tokens.
    pub az: Vec<String>,
    /// The job signs in to Azure with the machine's managed identity (azure/login
    /// `auth-type: IDENTITY`, `az login --identity`): `Some` with the client id it
    /// names, when written and resolved (a user-assigned identity).
    pub managed_identity: Option<Option<String>>,
}

/// A registry cache reference of a build (`cache-from`/`cache-to` `type=registry,ref=…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheRef {
    pub reference: String,
    /// `cache-to`: the build pushes the cache (else `cache-from`: it pulls it).
    pub export: bool,
    /// The label of the build step that names it.
    pub step: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub registry: Option<Registry>,
    /// `--context`, as written (prefix included).
    pub contexts: Vec<String>,
    /// `--push`, as written.
    pub pushes: Vec<String>,
    /// The registry caches the workflow's builds import and export (discovered with the
    /// contexts and push targets; there is no flag for them).
    pub caches: Vec<CacheRef>,
    pub auth_mode: AuthMode,
    pub azure: AzureOptions,
    pub docker_config: DockerConfigLocation,
    pub fail_on: FailOn,
    pub format: Format,
    pub timeout: Duration,
    pub resolve: Vec<ResolveRule>,
    /// `--ca-file`, else `SSL_CERT_FILE` (extra roots; the system roots stay).
    pub ca_file: Option<PathBuf>,
    pub env: RunEnvironment,
    pub github: GithubOptions,
    /// The build's tools, from the workflow (empty when not known).
    pub build: BuildTools,
    /// `--prove-push`: prove a push right no token states by opening a blob upload
    /// session and cancelling it.
    pub prove_push: bool,
    /// `--secret-expiry-days`: with a client secret, warn when the secret in use ends
    /// within this many days (read from Microsoft Graph); 0 reads nothing.
    pub secret_expiry_days: u32,
}

impl Config {
    /// The auth mode `auto` stands for, before any network call: Azure when an Azure
    /// identity is configured, else the docker config the build itself would use.
    pub fn effective_auth_mode(&self) -> AuthMode {
        match self.auth_mode {
            AuthMode::Auto if self.azure.client_id.is_some() => {
                if self.azure.client_secret.is_some() {
                    AuthMode::ClientSecret
                } else {
                    AuthMode::Oidc
                }
            }
            AuthMode::Auto => AuthMode::DockerConfig,
            other => other,
        }
    }

    /// A config for tests and library callers: nothing set, text output, 60 s.
    pub fn for_tests(docker_config_dir: PathBuf) -> Config {
        Config {
            registry: None,
            contexts: Vec::new(),
            pushes: Vec::new(),
            caches: Vec::new(),
            auth_mode: AuthMode::Auto,
            azure: AzureOptions {
                audience: AzureEnvironment::AzureCloud.facts().oidc_audience.into(),
                ..AzureOptions::default()
            },
            docker_config: DockerConfigLocation {
                dir: docker_config_dir,
                origin: DockerConfigOrigin::Flag,
            },
            fail_on: FailOn::Error,
            format: Format::Text,
            timeout: Duration::from_secs(60),
            resolve: Vec::new(),
            ca_file: None,
            env: RunEnvironment::default(),
            github: GithubOptions::default(),
            build: BuildTools::default(),
            prove_push: true,
            secret_expiry_days: 30,
        }
    }

    /// Where the build queues ACR Tasks runs: discovered commands, and `oci://` contexts
    /// (an ACR Tasks context form), each described for messages. Empty when none is known.
    pub fn acr_tasks_uses(&self) -> Vec<String> {
        let mut uses = self.build.acr_tasks.clone();
        for c in &self.contexts {
            if crate::reference::is_oci_context(c) {
                uses.push(format!("the ACR Tasks context `{}`", c.trim()));
            }
        }
        uses
    }

    /// True when the build is known to be ACR Tasks only: no docker or buildx command
    /// in the workflow, and an ACR Tasks command or `oci://` context.
    pub fn acr_tasks_only(&self) -> bool {
        self.build.docker.is_empty() && !self.acr_tasks_uses().is_empty()
    }
}

/// Parses `--registry`: an ACR name, a login server, or any `host[:port]`.
pub fn parse_registry(input: &str, cloud: AzureEnvironment) -> Result<Registry, String> {
    let trimmed = input.trim();
    let without_scheme = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"))
        .unwrap_or(trimmed);
    let host = without_scheme.trim_end_matches('/');
    if host.is_empty() {
        return Err("registry is empty".into());
    }
    if host.contains('/') {
        return Err(format!(
            "registry `{input}` contains a path; give only the host (for example `myreg.azurecr.io`), and put repositories in --context"
        ));
    }
    let valid_host_chars = host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    if !valid_host_chars {
        return Err(format!(
            "registry `{input}` is not a host name: only letters, digits, `.`, `-`, `:port` and [IPv6] are allowed"
        ));
    }
    let host = host.to_ascii_lowercase();
    // A bare name is an ACR registry name (5-50 alphanumerics): expand to its login server.
    let is_bare_name = !crate::reference::names_a_host(&host);
    if is_bare_name {
        if !(5..=50).contains(&host.len()) || !host.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(format!(
                "registry `{input}` is neither a host name nor an ACR registry name (5 to 50 letters and digits)"
            ));
        }
        let login_server = cloud.login_server_for(&host);
        return Ok(Registry {
            input: input.to_string(),
            host: login_server,
            acr_name: Some(host),
        });
    }
    let acr_name = crate::cloud::acr_registry(&host).map(str::to_string);
    Ok(Registry {
        input: input.to_string(),
        host,
        acr_name,
    })
}

/// The keys azure/login requires in its `creds` JSON (`readParametersFromCreds` in
/// https://github.com/Azure/login/blob/master/src/common/LoginConfig.ts).
pub const CREDS_KEYS: [&str; 3] = ["clientId", "clientSecret", "tenantId"];

/// azure/login's `creds` JSON, parsed defensively: at most 16 KiB (a real one is a few
/// hundred bytes), an object; the error says where a syntax error is, never a value
/// (serde_json's messages never quote the input).
pub fn parse_creds(raw: &str) -> Result<serde_json::Value, String> {
    const MAX_CREDS: usize = 16 * 1024;
    if raw.len() > MAX_CREDS {
        return Err(format!("it is {} bytes long", raw.len()));
    }
    let value: serde_json::Value = serde_json::from_str(raw).map_err(|e| {
        format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        )
    })?;
    if value.is_object() {
        Ok(value)
    } else {
        Err("it is JSON but not an object".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_acr_names_expand_per_cloud() {
        let r = parse_registry("MyReg01", AzureEnvironment::AzureCloud).unwrap();
        assert_eq!(r.host, "myreg01.azurecr.io");
        assert_eq!(r.acr_name.as_deref(), Some("myreg01"));
        let r = parse_registry("myreg01", AzureEnvironment::AzureChinaCloud).unwrap();
        assert_eq!(r.host, "myreg01.azurecr.cn");
        let r = parse_registry("myreg01", AzureEnvironment::AzureUsGovernment).unwrap();
        assert_eq!(r.host, "myreg01.azurecr.us");
    }

    #[test]
    fn hosts_keep_their_port_and_lose_scheme_and_slash() {
        let r = parse_registry("https://MyReg.azurecr.io/", AzureEnvironment::AzureCloud).unwrap();
        assert_eq!(r.host, "myreg.azurecr.io");
        assert_eq!(r.acr_name.as_deref(), Some("myreg"));
        let r = parse_registry("127.0.0.1:5000", AzureEnvironment::AzureCloud).unwrap();
        assert_eq!(r.host, "127.0.0.1:5000");
        assert_eq!(r.acr_name, None);
        let r = parse_registry("localhost", AzureEnvironment::AzureCloud).unwrap();
        assert_eq!(r.host, "localhost");
    }

    #[test]
    fn rejects_paths_spaces_and_short_names() {
        assert!(parse_registry("myreg.azurecr.io/ctx", AzureEnvironment::AzureCloud).is_err());
        assert!(parse_registry("my reg", AzureEnvironment::AzureCloud).is_err());
        assert!(parse_registry("abc", AzureEnvironment::AzureCloud).is_err());
        assert!(parse_registry("", AzureEnvironment::AzureCloud).is_err());
    }
}
