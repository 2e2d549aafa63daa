//! The one definition of every option. The clap derive below is the single source for
//! the CLI flag, the `INPUT_*` variable, the action.yml input and the README table;
//! `action_yml_inputs` and `options_markdown` are generated from it and a test keeps
//! the committed files in step.

use crate::config::{
    AuthMode, AzureEnvironment, AzureOptions, Config, DockerConfigLocation, DockerConfigOrigin,
    FailOn, Format, GithubOptions, ResolveRule, RunEnvironment, parse_registry,
};
use clap::parser::ValueSource;
use clap::{CommandFactory, Parser, Subcommand};
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Parser, Debug)]
#[command(
    name = "acr-preflight",
    version,
    about = "Fail a CI job early when a container build's registry set-up is wrong: context reference, docker credential helpers, identity and role.",
    after_help = "Under GitHub Actions (GITHUB_ACTIONS=true) every option can also be given as the action input of the same name (env INPUT_<NAME>); a CLI flag wins.\nExit status: 0 no finding reaches --fail-on, 1 one does, 2 invalid invocation.\nExplain a finding code: acr-preflight explain CODE",
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// ACR name (`myreg`) or login server (`myreg.azurecr.io`, `.azurecr.cn`, `.azurecr.us`), or any OCI registry `host[:port]`.
    #[arg(long, value_name = "NAME|HOST")]
    pub registry: Option<String>,

    /// Build context the build will pull: `oci://host/repo:tag`, `docker-image://host/repo[:tag][@digest]`, or a plain reference. Repeatable; as an input, one per line.
    #[arg(long = "context", value_name = "REF")]
    pub contexts: Vec<String>,

    /// Reference the build will push. Repeatable; as an input, one per line.
    #[arg(long = "push", value_name = "REF")]
    pub pushes: Vec<String>,

    /// How to authenticate: `auto` picks an Azure identity when one is configured (on a self-hosted runner, also the managed identity the job signs in with), else the docker config.
    #[arg(long, value_enum, default_value = "auto", value_name = "MODE")]
    pub auth_mode: AuthMode,

    /// Application (client) ID of the Azure identity (app registration or user-assigned managed identity).
    #[arg(long, value_name = "GUID")]
    pub client_id: Option<String>,

    /// Entra tenant ID (GUID) or tenant domain.
    #[arg(long, value_name = "TENANT")]
    pub tenant_id: Option<String>,

    /// Subscription that holds the registry (used to read registry facts from ARM); with `auth-mode: azure-cli`, the Azure CLI session's active subscription when not given.
    #[arg(long, value_name = "GUID")]
    pub subscription_id: Option<String>,

    /// Client secret for `client-secret` auth; also read from `AZURE_CLIENT_SECRET`. Masked in every output.
    #[arg(long, value_name = "SECRET")]
    pub client_secret: Option<String>,

    /// The JSON azure/login takes as `creds` (the secret `AZURE_CREDENTIALS` by convention: `clientId`, `clientSecret`, `tenantId`, `subscriptionId`), for `client-secret` auth with the same secret; also read from `AZURE_CREDENTIALS`. Flags given beside it win. Masked in every output.
    #[arg(long, value_name = "JSON")]
    pub azure_credentials: Option<String>,

    /// Audience requested for the GitHub OIDC token; default `api://AzureADTokenExchange`, or the sovereign cloud's own (such as `api://AzureADTokenExchangeUSGov`). A value given is used as is on every cloud.
    #[arg(long, value_name = "AUD")]
    pub audience: Option<String>,

    /// Azure cloud: decides the ACR login-server suffix and the default endpoints.
    #[arg(long, value_enum, default_value = "AzureCloud", value_name = "CLOUD")]
    pub azure_environment: AzureEnvironment,

    /// Entra authority host (https URL), overriding the cloud default.
    #[arg(long, value_name = "URL")]
    pub authority_host: Option<String>,

    /// Azure Resource Manager endpoint (https URL), overriding the cloud default.
    #[arg(long, value_name = "URL")]
    pub arm_endpoint: Option<String>,

    /// Docker client config directory; default `$DOCKER_CONFIG`, else `$HOME/.docker`.
    #[arg(long, value_name = "DIR")]
    pub docker_config: Option<PathBuf>,

    /// Lowest severity that fails the job.
    #[arg(long, value_enum, default_value = "error", value_name = "LEVEL")]
    pub fail_on: FailOn,

    /// Output format; default `github` under GitHub Actions, `text` otherwise.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<Format>,

    /// Overall deadline in seconds; no run outlasts it, whatever a helper or server does.
    #[arg(long, default_value = "60", value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,

    /// Connect to IP:PORT whenever HOST is contacted, keeping HOST for TLS and the Host header (like curl --connect-to). Repeatable; as an input, one per line.
    #[arg(long, value_name = "HOST=IP:PORT")]
    pub resolve: Vec<String>,

    /// Extra trusted root certificates (PEM), added to the system roots; `SSL_CERT_FILE` is honoured too.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,

    /// Token for pull request feedback (`comment`, `check-run`): in a workflow the job's `github.token`; also read from `GITHUB_TOKEN`. Masked in every output.
    #[arg(long, value_name = "TOKEN")]
    pub github_token: Option<String>,

    /// Keep one sticky comment with the summary on the pull request, updated on every run and marked resolved when a run passes (needs `pull-requests: write`).
    #[arg(long, value_name = "BOOL", value_parser = bool_input(), num_args = 0..=1, default_value = "false", default_missing_value = "true")]
    pub comment: bool,

    /// Distinguishes the sticky comments of jobs that share an id, such as the legs of a matrix (for example `${{ matrix.platform }}`).
    #[arg(long, value_name = "KEY")]
    pub comment_key: Option<String>,

    /// Create a check run with the findings as annotations on the files they point at (needs `checks: write`).
    #[arg(long, value_name = "BOOL", value_parser = bool_input(), num_args = 0..=1, default_value = "false", default_missing_value = "true")]
    pub check_run: bool,

    /// Prove a push right that the registry's token does not state (opaque tokens such as GHCR's, Basic auth, open registries) by opening a blob upload session for each pushed repository and cancelling it at once; no data is written. `false` leaves such rights unproven (ROLE_PUSH_UNVERIFIED).
    #[arg(long, value_name = "BOOL", value_parser = bool_input(), num_args = 0..=1, default_value = "true", default_missing_value = "true")]
    pub prove_push: bool,

    /// With a client secret: warn (ID_SECRET_EXPIRING) when the secret in use expires within this many days, read from Microsoft Graph (`passwordCredentials`, needs `Application.Read.All`); `0` makes no Graph request.
    #[arg(long, default_value = "30", value_name = "DAYS", value_parser = clap::value_parser!(u32).range(0..=3650))]
    pub secret_expiry_days: u32,
}

/// A boolean input as the Actions toolkit's `getBooleanInput` reads it (YAML 1.2 core
/// schema): `true`, `True`, `TRUE`, `false`, `False`, `FALSE`, nothing else.
fn bool_input() -> impl clap::builder::TypedValueParser<Value = bool> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["true", "True", "TRUE", "false", "False", "FALSE"])
        .map(|v| v.eq_ignore_ascii_case("true"))
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the documentation of a finding code (all codes when none is given).
    Explain {
        /// A finding code, such as REF_INVALID.
        code: Option<String>,
    },
}

/// What the process should do after reading its arguments.
#[derive(Debug)]
pub enum Invocation {
    Check(Box<Config>),
    Explain(Option<String>),
    /// `--help` / `--version`: print this and exit 0.
    Print(String),
}

/// An invocation error: exit status 2 and this one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The environment as the CLI reads it: a map, so tests need not touch the process env.
pub type Env = HashMap<String, String>;

fn input_var(long: &str) -> String {
    // Runner rule: spaces become `_`, then upper-case; hyphens are kept.
    format!("INPUT_{}", long.replace(' ', "_").to_uppercase())
}

/// Options that take several values; as inputs they hold one value per line.
fn is_multi(long: &str) -> bool {
    matches!(long, "context" | "push" | "resolve")
}

/// Parses `args` (without expanding the environment) merged with `INPUT_*` values.
pub fn parse(args: Vec<OsString>, env: &Env) -> Result<Invocation, UsageError> {
    let command = Cli::command();
    let first = match command.clone().try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e)
            if matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            ) =>
        {
            return Ok(Invocation::Print(e.to_string()));
        }
        Err(e) => return Err(clap_error(e, &[])),
    };
    if let Some(("explain", sub)) = first.subcommand() {
        return Ok(Invocation::Explain(sub.get_one::<String>("code").cloned()));
    }

    let github_actions = env.get("GITHUB_ACTIONS").map(String::as_str) == Some("true");
    let mut merged = args.clone();
    let mut from_inputs = Vec::new();
    if github_actions {
        for arg in command.get_arguments() {
            let Some(long) = arg.get_long() else { continue };
            if first.value_source(arg.get_id().as_str()) == Some(ValueSource::CommandLine) {
                continue;
            }
            let Some(raw) = env.get(&input_var(long)) else {
                continue;
            };
            let values: Vec<&str> = if is_multi(long) {
                raw.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect()
            } else {
                Some(raw.trim())
                    .filter(|v| !v.is_empty())
                    .into_iter()
                    .collect()
            };
            for v in values {
                merged.push(OsString::from(format!("--{long}={v}")));
                from_inputs.push(long.to_string());
            }
        }
    }
    let cli = Cli::try_parse_from(&merged).map_err(|e| clap_error(e, &from_inputs))?;
    build_config(cli, env, github_actions).map(|c| Invocation::Check(Box::new(c)))
}

/// A value quoted in a message: control characters (line breaks above all) written as
/// escapes, so the message stays one line whatever the input held.
fn shown_value(v: &str) -> String {
    v.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// One clear line from a clap error, naming the input when the value came from one.
fn clap_error(e: clap::Error, from_inputs: &[String]) -> UsageError {
    use clap::error::ContextKind;
    let rendered = e.to_string();
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments")
        .trim()
        .to_string();
    let arg_name = e.get(ContextKind::InvalidArg).map(|a| a.to_string());
    if let Some(arg) = arg_name {
        let long = arg
            .trim_start_matches('-')
            .split([' ', '=', '<'])
            .next()
            .unwrap_or_default()
            .to_string();
        if from_inputs.contains(&long) {
            let value = e
                .get(ContextKind::InvalidValue)
                .map(|v| format!(" '{}'", shown_value(&v.to_string())))
                .unwrap_or_default();
            let valid = e
                .get(ContextKind::ValidValue)
                .map(|v| format!(" (possible values: {v})"))
                .unwrap_or_default();
            return UsageError(format!(
                "error: invalid value{value} for input `{long}` ({}){valid}",
                input_var(&long)
            ));
        }
    }
    UsageError(first)
}

fn build_config(cli: Cli, env: &Env, github_actions: bool) -> Result<Config, UsageError> {
    let (registry, contexts, pushes) = references(&cli, env, github_actions)?;
    let mut cli = cli;
    let creds_secret = azure_credentials(&mut cli, env)?;
    azure_identity(&mut cli, env)?;
    let client_secret = cli
        .client_secret
        .clone()
        .or(creds_secret)
        .or_else(|| var(env, "AZURE_CLIENT_SECRET"));
    // Like client-secret: the flag or input first, then the conventional variable.
    let github_token = cli
        .github_token
        .clone()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .or_else(|| trimmed_var(env, "GITHUB_TOKEN"));
    let resolve = cli
        .resolve
        .iter()
        .map(|r| parse_resolve(r).map_err(usage))
        .collect::<Result<Vec<_>, _>>()?;
    let ca_file = cli
        .ca_file
        .clone()
        .or_else(|| var(env, "SSL_CERT_FILE").map(PathBuf::from));
    if let Some(path) = &cli.ca_file {
        crate::http::read_ca_file(path).map_err(|e| usage(format!("invalid --ca-file: {e}")))?;
    }
    let run = run_environment(env, github_actions);
    let docker_config = docker_config_location(&cli, env, run.home.as_deref());
    let format = cli.format.unwrap_or(if github_actions {
        Format::Github
    } else {
        Format::Text
    });
    Ok(Config {
        registry,
        contexts,
        pushes,
        caches: Vec::new(),
        auth_mode: cli.auth_mode,
        azure: AzureOptions {
            client_id: cli.client_id,
            tenant_id: cli.tenant_id,
            subscription_id: cli.subscription_id,
            subscription_from_cli: None,
            client_secret,
            // An audience given is honoured on every cloud, even the public default;
            // otherwise sovereign clouds' federated credentials use their own.
            audience: cli
                .audience
                .unwrap_or_else(|| cli.azure_environment.facts().oidc_audience.to_string()),
            environment: Some(cli.azure_environment),
            authority_host: cli.authority_host,
            arm_endpoint: cli.arm_endpoint,
        },
        docker_config,
        fail_on: cli.fail_on,
        format,
        timeout: Duration::from_secs(cli.timeout),
        resolve,
        ca_file,
        env: run,
        github: GithubOptions {
            token: github_token,
            comment: cli.comment,
            comment_key: cli
                .comment_key
                .clone()
                .map(|k| k.trim().to_string())
                .filter(|k| !k.is_empty()),
            check_run: cli.check_run,
        },
        // Workflow discovery fills it in (run::check).
        build: Default::default(),
        prove_push: cli.prove_push,
        secret_expiry_days: cli.secret_expiry_days,
    })
}

fn usage(message: String) -> UsageError {
    UsageError(format!("error: {message}"))
}

/// A variable's value, unless unset or empty.
fn var(env: &Env, key: &str) -> Option<String> {
    env.get(key).filter(|v| !v.is_empty()).cloned()
}

/// A variable's value without surrounding whitespace, unless that leaves nothing.
fn trimmed_var(env: &Env, key: &str) -> Option<String> {
    env.get(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The registry, the contexts and the push targets, as given.
type References = (Option<crate::config::Registry>, Vec<String>, Vec<String>);

/// `--registry`, `--context` and `--push`: at least one of them, unless the workflow
/// (under Actions) can supply the references.
fn references(cli: &Cli, env: &Env, github_actions: bool) -> Result<References, UsageError> {
    let registry = cli
        .registry
        .as_deref()
        .filter(|r| !r.trim().is_empty())
        .map(|r| parse_registry(r, cli.azure_environment))
        .transpose()
        .map_err(|m| usage(format!("invalid --registry: {m}")))?;
    let contexts: Vec<String> = cli.contexts.iter().map(|c| c.trim().to_string()).collect();
    let pushes: Vec<String> = cli.pushes.iter().map(|c| c.trim().to_string()).collect();
    let workflow_known = github_actions && var(env, "GITHUB_WORKFLOW_REF").is_some();
    if registry.is_none() && contexts.is_empty() && pushes.is_empty() && !workflow_known {
        return Err(usage(
            "nothing to check: give --registry and at least one --context or --push (inputs `registry`, `context`, `push`)".into(),
        ));
    }
    Ok((registry, contexts, pushes))
}

/// Fills the Azure identity from the Azure SDK environment where the flags leave it out
/// (workload identity), and checks the shape of every identifier and endpoint.
fn azure_identity(cli: &mut Cli, env: &Env) -> Result<(), UsageError> {
    cli.client_id = cli
        .client_id
        .clone()
        .or_else(|| trimmed_var(env, "AZURE_CLIENT_ID"));
    cli.tenant_id = cli
        .tenant_id
        .clone()
        .or_else(|| trimmed_var(env, "AZURE_TENANT_ID"));
    for (flag, value) in [
        ("client-id", &cli.client_id),
        ("subscription-id", &cli.subscription_id),
    ] {
        if let Some(v) = value
            && !is_guid(v)
        {
            return Err(usage(format!(
                "invalid --{flag} `{v}`: expected a GUID such as 00000000-0000-0000-0000-000000000000"
            )));
        }
    }
    if let Some(t) = &cli.tenant_id
        && !is_guid(t)
        && !is_domain(t)
    {
        return Err(usage(format!(
            "invalid --tenant-id `{t}`: expected a GUID or a tenant domain such as contoso.onmicrosoft.com"
        )));
    }
    for (flag, value) in [
        ("authority-host", &cli.authority_host),
        ("arm-endpoint", &cli.arm_endpoint),
    ] {
        if let Some(v) = value {
            let url = reqwest::Url::parse(v)
                .map_err(|e| usage(format!("invalid --{flag} `{v}`: {e}")))?;
            if url.scheme() != "https" || url.host_str().is_none() {
                return Err(usage(format!(
                    "invalid --{flag} `{v}`: must be an https URL (Entra and ARM refuse anything else)"
                )));
            }
        }
    }
    Ok(())
}

/// `--azure-credentials` (else `AZURE_CREDENTIALS`): fills the client, tenant and
/// subscription the flags leave out and returns the client secret. A JSON that does
/// not parse, lacks a key azure/login requires, or holds a secret's ID where its value
/// belongs is refused naming the key, never quoting a value.
fn azure_credentials(cli: &mut Cli, env: &Env) -> Result<Option<String>, UsageError> {
    let (raw, from) = match (&cli.azure_credentials, var(env, "AZURE_CREDENTIALS")) {
        (Some(r), _) => (r.clone(), "--azure-credentials (input `azure-credentials`)"),
        (None, Some(r)) => (r, "AZURE_CREDENTIALS"),
        (None, None) => return Ok(None),
    };
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let bad = |why: String| usage(format!("invalid {from}: {why}; the value is not shown"));
    let json = crate::config::parse_creds(raw).map_err(|why| {
        bad(format!(
            "{why}: expected the JSON object azure/login takes as `creds`"
        ))
    })?;
    let Some(object) = json.as_object() else {
        return Err(bad("it is JSON but not an object".into()));
    };
    let field = |k: &str| {
        object
            .get(k)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let missing: Vec<String> = crate::config::CREDS_KEYS
        .iter()
        .filter(|k| field(k).is_none())
        .map(|k| format!("`{k}`"))
        .collect();
    if !missing.is_empty() {
        let present: Vec<String> = object
            .keys()
            .map(|k| format!("`{}`", shown_value(k)))
            .collect();
        return Err(bad(format!(
            "it lacks {} (its keys: {}). azure/login fails the same way: \"Not all parameters are provided in 'creds'. Double-check if all keys are defined in 'creds': 'clientId', 'clientSecret', 'tenantId'.\" The output of `az ad sp create-for-rbac` names them appId, password and tenant: rename them",
            missing.join(", "),
            if present.is_empty() {
                "none".into()
            } else {
                present.join(", ")
            }
        )));
    }
    let secret = field("clientSecret");
    if secret.as_deref().is_some_and(is_guid) {
        return Err(bad(format!(
            "its `clientSecret` is a GUID: that is the secret's ID (the portal's \"Secret ID\" column), not its Value, and Entra refuses it (AADSTS7000215: Invalid client secret provided). Create a secret and store its value, shown once: az ad app credential reset --id {} --append --years 1",
            field("clientId").unwrap_or_else(|| "<client-id>".into())
        )));
    }
    let fill = |given: &mut Option<String>, key: &str| {
        if given.is_none() {
            *given = field(key);
        }
    };
    fill(&mut cli.client_id, "clientId");
    fill(&mut cli.tenant_id, "tenantId");
    fill(&mut cli.subscription_id, "subscriptionId");
    Ok(secret)
}

/// docker's own choice of configuration directory: `--docker-config`, else
/// `$DOCKER_CONFIG`, else `$HOME/.docker`.
fn docker_config_location(
    cli: &Cli,
    env: &Env,
    home: Option<&std::path::Path>,
) -> DockerConfigLocation {
    match (&cli.docker_config, var(env, "DOCKER_CONFIG")) {
        (Some(dir), _) => DockerConfigLocation {
            dir: dir.clone(),
            origin: DockerConfigOrigin::Flag,
        },
        (None, Some(dir)) => DockerConfigLocation {
            dir: PathBuf::from(dir),
            origin: DockerConfigOrigin::Env,
        },
        _ => DockerConfigLocation {
            dir: home
                .unwrap_or_else(|| std::path::Path::new("/"))
                .join(".docker"),
            origin: DockerConfigOrigin::Home,
        },
    }
}

/// The environment facts the checks depend on, read once.
fn run_environment(env: &Env, github_actions: bool) -> RunEnvironment {
    let path_of = |k: &str| var(env, k).map(PathBuf::from);
    RunEnvironment {
        github_actions,
        container: crate::action_container::ActionContainer::detect(
            github_actions,
            env.get("GITHUB_WORKSPACE").map(String::as_str),
            env.get("RUNNER_TEMP").map(String::as_str),
        ),
        path: env.get("PATH").map(OsString::from),
        home: path_of("HOME"),
        sudo_user: var(env, "SUDO_USER").filter(|u| u != "root"),
        azure_config_dir: path_of("AZURE_CONFIG_DIR"),
        github_step_summary: path_of("GITHUB_STEP_SUMMARY"),
        github_output: path_of("GITHUB_OUTPUT"),
        github_workspace: path_of("GITHUB_WORKSPACE"),
        no_color: var(env, "NO_COLOR").is_some(),
        workflow_ref: var(env, "GITHUB_WORKFLOW_REF"),
        job: var(env, "GITHUB_JOB"),
        action: var(env, "GITHUB_ACTION"),
        event_name: var(env, "GITHUB_EVENT_NAME"),
        event_path: path_of("GITHUB_EVENT_PATH"),
        git_ref: var(env, "GITHUB_REF"),
        ref_name: var(env, "GITHUB_REF_NAME"),
        sha: var(env, "GITHUB_SHA"),
        repository: var(env, "GITHUB_REPOSITORY"),
        actor: trimmed_var(env, "GITHUB_ACTOR"),
        triggering_actor: trimmed_var(env, "GITHUB_TRIGGERING_ACTOR"),
        api_url: trimmed_var(env, "GITHUB_API_URL"),
        server_url: trimmed_var(env, "GITHUB_SERVER_URL"),
        action_repository: trimmed_var(env, "GITHUB_ACTION_REPOSITORY"),
        run_id: var(env, "GITHUB_RUN_ID"),
        actions_id_token_request_url: var(env, "ACTIONS_ID_TOKEN_REQUEST_URL"),
        actions_id_token_request_token: var(env, "ACTIONS_ID_TOKEN_REQUEST_TOKEN"),
        azure_federated_token_file: path_of("AZURE_FEDERATED_TOKEN_FILE"),
        runner_environment: trimmed_var(env, "RUNNER_ENVIRONMENT"),
        docker_host: trimmed_var(env, "DOCKER_HOST"),
        docker_context: trimmed_var(env, "DOCKER_CONTEXT"),
        buildx_config: path_of("BUILDX_CONFIG"),
        dbus_session: var(env, "DBUS_SESSION_BUS_ADDRESS").is_some(),
        display: var(env, "DISPLAY").is_some(),
        azure_env_set: crate::docker::helper::ACR_ENV_VARIABLES
            .iter()
            .copied()
            .filter(|k| trimmed_var(env, k).is_some())
            .collect(),
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits: client, tenant and subscription ids,
/// and the id (`keyId`) of a client secret.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_domain(s: &str) -> bool {
    s.contains('.')
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// `HOST=IP:PORT`, with `[v6]:port` for IPv6 addresses.
pub fn parse_resolve(spec: &str) -> Result<ResolveRule, String> {
    let (host, addr) = spec
        .split_once('=')
        .ok_or_else(|| format!("invalid --resolve `{spec}`: expected HOST=IP:PORT"))?;
    let host = host.trim().to_ascii_lowercase();
    if host.is_empty() || host.contains(['/', ' ']) {
        return Err(format!(
            "invalid --resolve `{spec}`: `{host}` is not a host name"
        ));
    }
    let addr: std::net::SocketAddr = addr.trim().parse().map_err(|_| {
        format!("invalid --resolve `{spec}`: `{addr}` is not IP:PORT (IPv6 as [::1]:443)")
    })?;
    Ok(ResolveRule { host, addr })
}

/// The `inputs:` block of action.yml, generated from the option definitions.
pub fn action_yml_inputs() -> String {
    let mut out = String::from("inputs:\n");
    for arg in Cli::command().get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
        out.push_str(&format!("  {long}:\n"));
        out.push_str(&format!(
            "    description: {}\n",
            crate::output::runner::yaml_quote(&help)
        ));
        out.push_str("    required: false\n");
        if let Some(default) = arg.get_default_values().first() {
            out.push_str(&format!(
                "    default: {}\n",
                crate::output::runner::yaml_quote(&default.to_string_lossy())
            ));
        }
    }
    out
}

/// The README's option table, generated from the option definitions.
pub fn options_markdown() -> String {
    let mut out = String::from(
        "| flag / input | env under Actions | default | meaning |\n|---|---|---|---|\n",
    );
    for arg in Cli::command().get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "help" | "version") {
            continue;
        }
        let value = arg
            .get_value_names()
            .and_then(|v| v.first().map(|n| format!(" {n}")))
            .unwrap_or_default();
        let default = arg
            .get_default_values()
            .first()
            .map(|d| format!("`{}`", d.to_string_lossy()))
            .unwrap_or_default();
        let help = arg
            .get_help()
            .map(|h| h.to_string())
            .unwrap_or_default()
            .replace('|', "\\|");
        let possible: Vec<String> = arg
            .get_possible_values()
            .iter()
            .map(|p| format!("`{}`", p.get_name()))
            .collect();
        let help = if possible.is_empty() {
            help
        } else {
            format!("{help} One of {}.", possible.join(", "))
        };
        out.push_str(&format!(
            "| `--{long}{}` | `{}` | {default} | {help} |\n",
            value.replace('|', "\\|"),
            input_var(long)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLIC_AUDIENCE: &str = "api://AzureADTokenExchange";

    fn args(list: &[&str]) -> Vec<OsString> {
        std::iter::once("acr-preflight")
            .chain(list.iter().copied())
            .map(OsString::from)
            .collect()
    }

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn config(list: &[&str], pairs: &[(&str, &str)]) -> Config {
        match parse(args(list), &env(pairs)) {
            Ok(Invocation::Check(c)) => *c,
            other => panic!("expected a check config, got {other:?}"),
        }
    }

    #[test]
    fn inputs_fill_what_the_command_line_left_out() {
        let c = config(
            &["--registry", "cli.azurecr.io"],
            &[
                ("GITHUB_ACTIONS", "true"),
                ("INPUT_REGISTRY", "input.azurecr.io"),
                (
                    "INPUT_CONTEXT",
                    "oci://cli.azurecr.io/a:v1\n\n  oci://cli.azurecr.io/b:v2  \n",
                ),
                ("INPUT_FAIL-ON", "warning"),
                ("INPUT_TIMEOUT", " 30 "),
                ("INPUT_CA-FILE", ""),
            ],
        );
        assert_eq!(c.registry.unwrap().host, "cli.azurecr.io");
        assert_eq!(
            c.contexts,
            vec!["oci://cli.azurecr.io/a:v1", "oci://cli.azurecr.io/b:v2"]
        );
        assert_eq!(c.fail_on, FailOn::Warning);
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.format, Format::Github);
        assert_eq!(c.ca_file, None);
    }

    #[test]
    fn a_repeated_cli_flag_replaces_the_multi_line_input() {
        let c = config(
            &["--context", "r.io/x:1"],
            &[
                ("GITHUB_ACTIONS", "true"),
                ("INPUT_CONTEXT", "r.io/y:1\nr.io/z:1"),
            ],
        );
        assert_eq!(c.contexts, vec!["r.io/x:1"]);
    }

    #[test]
    fn inputs_are_ignored_outside_github_actions() {
        let c = config(
            &["--registry", "r.io"],
            &[("INPUT_FAIL-ON", "never"), ("GITHUB_ACTIONS", "false")],
        );
        assert_eq!(c.fail_on, FailOn::Error);
        assert_eq!(c.format, Format::Text);
    }

    #[test]
    fn azure_credentials_fill_the_identity_and_broken_ones_name_the_key_never_the_value() {
        let good = r#"{"clientId": "11111111-2222-3333-4444-555555555555", "clientSecret": "s3cret~value-planted", "tenantId": "contoso.onmicrosoft.com", "subscriptionId": "00000000-1111-2222-3333-444444444444"}"#;
        let c = config(&["--registry", "r.io"], &[("AZURE_CREDENTIALS", good)]);
        assert_eq!(
            c.azure.client_secret.as_deref(),
            Some("s3cret~value-planted")
        );
        assert_eq!(
            c.azure.client_id.as_deref(),
            Some("11111111-2222-3333-4444-555555555555")
        );
        assert_eq!(
            c.azure.tenant_id.as_deref(),
            Some("contoso.onmicrosoft.com")
        );
        assert_eq!(
            c.azure.subscription_id.as_deref(),
            Some("00000000-1111-2222-3333-444444444444")
        );
        assert_eq!(c.effective_auth_mode(), AuthMode::ClientSecret);
        // A flag given beside it wins.
        let c = config(
            &[
                "--registry",
                "r.io",
                "--tenant-id",
                "fabrikam.onmicrosoft.com",
                "--azure-credentials",
                good,
            ],
            &[],
        );
        assert_eq!(
            c.azure.tenant_id.as_deref(),
            Some("fabrikam.onmicrosoft.com")
        );
        let refused = |json: &str| {
            let e = parse(
                args(&["--registry", "r.io", "--azure-credentials", json]),
                &env(&[]),
            )
            .unwrap_err();
            assert!(!e.0.contains("planted"), "{e}");
            assert!(!e.0.contains('\n'), "{e}");
            e.0
        };
        let e = refused(r#"{"clientId": "x", "clientSecret": "planted" "tenantId": "t"}"#);
        assert!(e.contains("Syntax error at line 1 column"), "{e}");
        let e = refused(
            r#"{"appId": "11111111-2222-3333-4444-555555555555", "password": "planted-pw", "tenant": "t"}"#,
        );
        assert!(
            e.contains("it lacks `clientId`, `clientSecret`, `tenantId` (its keys: `appId`, `password`, `tenant`)"),
            "{e}"
        );
        assert!(
            e.contains("Not all parameters are provided in 'creds'"),
            "{e}"
        );
        let e = refused(
            r#"{"clientId": "11111111-2222-3333-4444-555555555555", "clientSecret": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "tenantId": "t"}"#,
        );
        assert!(
            e.contains("its `clientSecret` is a GUID: that is the secret's ID"),
            "{e}"
        );
        assert!(!e.contains("aaaaaaaa-bbbb"), "{e}");
        assert!(
            e.contains(
                "az ad app credential reset --id 11111111-2222-3333-4444-555555555555 --append"
            ),
            "{e}"
        );
        assert!(refused("[1]").contains("it is JSON but not an object"));
    }

    #[test]
    fn a_bad_input_value_names_the_input_in_one_line() {
        let err = parse(
            args(&[]),
            &env(&[
                ("GITHUB_ACTIONS", "true"),
                ("INPUT_REGISTRY", "r.io"),
                ("INPUT_FAIL-ON", "sometimes"),
            ]),
        )
        .unwrap_err();
        assert!(!err.0.contains('\n'));
        assert!(err.0.contains("input `fail-on` (INPUT_FAIL-ON)"), "{err}");
        assert!(err.0.contains("sometimes"), "{err}");
        assert!(err.0.contains("error, warning, never"), "{err}");
    }

    #[test]
    fn usage_errors_are_one_line() {
        for bad in [
            vec!["--bogus"],
            vec!["--registry", "r.io", "--format", "yaml"],
            vec!["--registry", "r.io", "--timeout", "0"],
            vec!["--registry", "r.io", "--resolve", "nohost"],
            vec!["--registry", "r.io", "--client-id", "not-a-guid"],
            vec![
                "--registry",
                "r.io",
                "--authority-host",
                "http://login.example",
            ],
            vec!["--registry", "my reg"],
            vec![],
        ] {
            let err = parse(args(&bad), &env(&[])).unwrap_err();
            assert!(!err.0.contains('\n'), "{bad:?}: {err}");
            assert!(err.0.starts_with("error: "), "{bad:?}: {err}");
        }
    }

    #[test]
    fn sovereign_clouds_default_to_their_federation_audience() {
        let c = config(
            &[
                "--registry",
                "r.io",
                "--azure-environment",
                "AzureUSGovernment",
            ],
            &[],
        );
        assert_eq!(c.azure.audience, "api://AzureADTokenExchangeUSGov");
        let c = config(
            &[
                "--registry",
                "r.io",
                "--azure-environment",
                "AzureChinaCloud",
                "--audience",
                "api://custom",
            ],
            &[],
        );
        assert_eq!(c.azure.audience, "api://custom");
        let c = config(&["--registry", "r.io"], &[]);
        assert_eq!(c.azure.audience, PUBLIC_AUDIENCE);
        // Given explicitly, the public default is kept on a sovereign cloud too.
        let c = config(
            &[
                "--registry",
                "r.io",
                "--azure-environment",
                "AzureUSGovernment",
                "--audience",
                PUBLIC_AUDIENCE,
            ],
            &[],
        );
        assert_eq!(c.azure.audience, PUBLIC_AUDIENCE);
    }

    #[test]
    fn client_secret_falls_back_to_the_sdk_variable() {
        let c = config(
            &["--registry", "r.io"],
            &[("AZURE_CLIENT_SECRET", "s3cret-value")],
        );
        assert_eq!(c.azure.client_secret.as_deref(), Some("s3cret-value"));
    }

    #[test]
    fn docker_config_dir_precedence() {
        let c = config(
            &["--registry", "r.io"],
            &[("HOME", "/home/u"), ("DOCKER_CONFIG", "/cfg")],
        );
        assert_eq!(c.docker_config.dir, PathBuf::from("/cfg"));
        assert_eq!(c.docker_config.origin, DockerConfigOrigin::Env);
        let c = config(&["--registry", "r.io"], &[("HOME", "/home/u")]);
        assert_eq!(c.docker_config.dir, PathBuf::from("/home/u/.docker"));
        let c = config(
            &["--registry", "r.io", "--docker-config", "/x"],
            &[("DOCKER_CONFIG", "/cfg")],
        );
        assert_eq!(c.docker_config.origin, DockerConfigOrigin::Flag);
    }

    #[test]
    fn resolve_accepts_ipv4_and_ipv6() {
        let r = parse_resolve("MyReg.azurecr.io=127.0.0.1:8443").unwrap();
        assert_eq!(r.host, "myreg.azurecr.io");
        assert_eq!(r.addr.port(), 8443);
        assert!(parse_resolve("h=[::1]:443").is_ok());
        assert!(parse_resolve("h=::1:443").is_err());
        assert!(parse_resolve("=1.2.3.4:1").is_err());
    }

    #[test]
    fn explain_and_help_are_not_errors() {
        assert!(matches!(
            parse(args(&["explain", "REF_INVALID"]), &env(&[])),
            Ok(Invocation::Explain(Some(c))) if c == "REF_INVALID"
        ));
        assert!(matches!(
            parse(args(&["--help"]), &env(&[])),
            Ok(Invocation::Print(_))
        ));
        assert!(matches!(
            parse(args(&["--version"]), &env(&[])),
            Ok(Invocation::Print(_))
        ));
    }

    #[test]
    fn feedback_booleans_take_the_toolkit_spellings_only() {
        for (value, expected) in [
            ("true", true),
            ("True", true),
            ("TRUE", true),
            ("false", false),
            ("False", false),
            ("FALSE", false),
        ] {
            let c = config(
                &[],
                &[
                    ("GITHUB_ACTIONS", "true"),
                    ("INPUT_REGISTRY", "r.io"),
                    ("INPUT_COMMENT", value),
                    ("INPUT_CHECK-RUN", value),
                ],
            );
            assert_eq!((c.github.comment, c.github.check_run), (expected, expected));
        }
        let err = parse(
            args(&[]),
            &env(&[
                ("GITHUB_ACTIONS", "true"),
                ("INPUT_REGISTRY", "r.io"),
                ("INPUT_COMMENT", "yes"),
            ]),
        )
        .unwrap_err();
        assert!(err.0.contains("input `comment` (INPUT_COMMENT)"), "{err}");
        assert!(!err.0.contains('\n'));
        // Off by default; a bare CLI flag turns it on.
        let c = config(&["--registry", "r.io"], &[]);
        assert!(!c.github.comment && !c.github.check_run);
        let c = config(&["--registry", "r.io", "--comment", "--check-run"], &[]);
        assert!(c.github.comment && c.github.check_run);
    }

    #[test]
    fn the_push_proof_is_on_unless_turned_off() {
        assert!(config(&["--registry", "r.io"], &[]).prove_push);
        assert!(config(&["--registry", "r.io", "--prove-push"], &[]).prove_push);
        for off in [
            vec!["--registry", "r.io", "--prove-push", "false"],
            vec!["--registry", "r.io", "--prove-push=FALSE"],
        ] {
            assert!(!config(&off, &[]).prove_push, "{off:?}");
        }
        let c = config(
            &[],
            &[
                ("GITHUB_ACTIONS", "true"),
                ("INPUT_REGISTRY", "r.io"),
                ("INPUT_PROVE-PUSH", "false"),
            ],
        );
        assert!(!c.prove_push);
        // The flag wins over the input.
        let c = config(
            &["--prove-push", "true"],
            &[
                ("GITHUB_ACTIONS", "true"),
                ("INPUT_REGISTRY", "r.io"),
                ("INPUT_PROVE-PUSH", "false"),
            ],
        );
        assert!(c.prove_push);
    }

    #[test]
    fn github_token_input_wins_over_the_variable_and_is_never_debug_printed() {
        let c = config(
            &["--registry", "r.io"],
            &[("GITHUB_TOKEN", "ghs_from_env_0000")],
        );
        assert_eq!(c.github.token.as_deref(), Some("ghs_from_env_0000"));
        let c = config(
            &[],
            &[
                ("GITHUB_ACTIONS", "true"),
                ("INPUT_REGISTRY", "r.io"),
                ("INPUT_GITHUB-TOKEN", "ghs_from_input_0000"),
                ("GITHUB_TOKEN", "ghs_from_env_0000"),
                ("GITHUB_API_URL", "https://ghes.example/api/v3"),
                ("GITHUB_SERVER_URL", "https://ghes.example"),
                ("GITHUB_RUN_ID", "42"),
            ],
        );
        assert_eq!(c.github.token.as_deref(), Some("ghs_from_input_0000"));
        assert_eq!(
            c.env.api_url.as_deref(),
            Some("https://ghes.example/api/v3")
        );
        assert_eq!(c.env.server_url.as_deref(), Some("https://ghes.example"));
        assert_eq!(c.env.run_id.as_deref(), Some("42"));
        assert!(!format!("{c:?}").contains("ghs_from_input_0000"));
    }
}
