//! The words of the credentials check: every finding's title, message and fix, and the
//! commands they name. Detection lives in `mod.rs`; nothing here decides severity from
//! what it finds, it only says it.

use super::*;

/// ", valid until 2026-…Z (in 3 hours)" for a JWT secret with `exp`, else "".
pub(super) fn validity(credential: &Credential) -> String {
    match credential.expires() {
        Some(exp) => format!(
            ", valid until {} ({})",
            crate::jwt::format_utc(exp),
            crate::jwt::describe_distance(exp, SystemTime::now())
        ),
        None => String::new(),
    }
}

pub(super) fn missing_config(
    ctx: &Ctx,
    hosts: &[String],
    path: &Path,
    dir_exists: bool,
) -> Finding {
    let loc = &ctx.config.docker_config;
    let why_dir = origin_description(loc.origin);
    let mode = ctx.config.effective_auth_mode();
    let needs = missing_config_need(ctx);
    let severity = match needs {
        BuildNeed::DockerConfig | BuildNeed::DockerDespiteAzure => Severity::Error,
        BuildNeed::Nothing | BuildNeed::Unknown => Severity::Notice,
    };
    // A login after this step explains the missing file (a container action has
    // another problem first: it cannot see the runner's docker config at all).
    if ctx.config.env.container.is_none()
        && let Some(f) = crate::checks::workflow::login_after_preflight(ctx, hosts, severity)
    {
        return f;
    }
    let mut message = format!(
        "Looked for {} — the directory is {why_dir}{}. Without a config.json docker has no stored credentials and no credential helper, so it accesses every registry anonymously.",
        path.display(),
        if dir_exists {
            ""
        } else {
            ", and it does not exist either"
        }
    );
    if mode == AuthMode::DockerConfig {
        message.push_str(&format!(
            " The auth mode is {}{}, so the registry credentials must come from this file.",
            mode.as_str(),
            if ctx.config.auth_mode == AuthMode::Auto {
                " (auto, with no Azure identity configured)"
            } else {
                ""
            }
        ));
    }
    let docker_builds = ctx.config.build.docker.join(", ");
    match needs {
        BuildNeed::Nothing if mode == AuthMode::Anonymous => message.push_str(
            " The auth mode is anonymous, so no credential is expected: the build is checked as docker would run it without one.",
        ),
        BuildNeed::Nothing => message.push_str(&format!(
            " The build is ACR Tasks ({}), which signs in with the Azure identity (azure/login, `az login`), not the docker config; a docker command added to this job would access the registry anonymously.",
            ctx.config.acr_tasks_uses().join(", ")
        )),
        BuildNeed::DockerDespiteAzure => message.push_str(&format!(
            " This run signed in with the Azure identity ({}), but the build ({docker_builds}) reads the docker config, not this run's token: without a credential there its pushes and private pulls fail with `unauthorized: authentication required`.",
            mode.as_str()
        )),
        BuildNeed::Unknown => message.push_str(&format!(
            " This run signs in with the Azure identity ({}); a docker or buildx build would not use that token but the docker config, so it needs a login (`az acr login`, docker/login-action) before it, unless it only pulls what the registry serves anonymously.",
            mode.as_str()
        )),
        BuildNeed::DockerConfig => {}
    }
    if ctx.config.env.container.is_some() {
        message.push_str(
            " This step runs in a container action: it cannot see the runner's `~/.docker` (where `docker login`, docker/login-action and `az acr login` write by default), nor credential helpers installed on the runner.",
        );
    }
    let mut fix = String::new();
    if needs == BuildNeed::Nothing {
        fix.push_str(if mode == AuthMode::Anonymous {
            "Nothing to fix for an anonymous build. If the build does need a credential, use --auth-mode docker-config (or auto) and log in before this step.\n"
        } else {
            "Nothing to fix for an ACR Tasks build. If a docker or buildx step in this job needs the registry, log in before this step.\n"
        });
    }
    if let Some(container) = &ctx.config.env.container {
        let login = match hosts.first() {
            Some(host) => format!(":\n{}", login_commands(host, "")),
            None => ".".to_string(),
        };
        match loc.origin {
            // The user already chose a directory the container sees: the login step did
            // not write there (it ran later, without the same DOCKER_CONFIG, or not at all).
            DockerConfigOrigin::Flag | DockerConfigOrigin::Env => fix.push_str(&format!(
                "The directory is visible here, so the login did not write to it. Run the login step before this step with the same DOCKER_CONFIG (in the `env:` of both steps){login}"
            )),
            DockerConfigOrigin::Home if container.runner_temp_is_shared() => {
                fix.push_str(
                    "Give the login step and this step the same docker config directory, in the `env:` of both steps (the `runner` context is not available in a job's `env:`; this runner mounts its temp dir into container actions, runners before v2.329.0 do not, see `explain CONTAINER_PATH_UNMOUNTED`):\n\
                     env:\n  DOCKER_CONFIG: ${{ runner.temp }}/docker\n\
                     Then log in before this step",
                );
                fix.push_str(&login);
            }
            DockerConfigOrigin::Home => {
                fix.push_str(&crate::action_container::shared_docker_config_fix());
                fix.push_str("\nThen log in before this step");
                fix.push_str(&login);
            }
        }
    } else {
        match hosts.first() {
            Some(host) => fix.push_str(&login_fix(ctx, host)),
            None => fix.push_str(&format!(
                "Log in with `docker login <registry>` (writes {}), or point the tool at the directory that holds your config.json.",
                path.display()
            )),
        }
        fix.push_str(
            "\nIf your config.json is elsewhere, pass its directory with --docker-config <dir> (input `docker-config`) or $DOCKER_CONFIG.",
        );
    }
    Finding::new(
        CheckId::CredentialHelpers,
        Code::DOCKER_CONFIG_MISSING,
        severity,
        format!("no docker config.json in {}", loc.dir.display()),
        message,
        fix,
    )
}

pub(super) fn origin_description(origin: DockerConfigOrigin) -> &'static str {
    match origin {
        DockerConfigOrigin::Flag => "the one given with --docker-config (input `docker-config`)",
        DockerConfigOrigin::Env => "the one named by $DOCKER_CONFIG",
        DockerConfigOrigin::Home => {
            "$HOME/.docker, docker's default when $DOCKER_CONFIG is not set"
        }
    }
}

pub(super) fn invalid_config(ctx: &Ctx, error: &ConfigError) -> Vec<Finding> {
    let file = display_path(ctx, error.path());
    let path = error.path().display().to_string();
    let finding = |title: String, message: String, fix: String| {
        Finding::new(
            CheckId::CredentialHelpers,
            Code::DOCKER_CONFIG_INVALID,
            Severity::Error,
            title,
            message,
            fix,
        )
    };
    match error {
        ConfigError::Read { source, .. } => vec![
            finding(
                "cannot read the docker config.json".into(),
                format!("Reading {path} failed: {source}. {LOAD_FAILS}"),
                format!(
                    "Make {path} a file readable by this user (`ls -l {q}`); a file left root-owned by an earlier container step is fixed with `sudo chown \"$(id -u):$(id -g)\" {q}`.",
                    q = sh_quote(&path)
                ),
            )
            .at(file, None, None),
        ],
        ConfigError::TooLarge { size, .. } => vec![
            finding(
                "the docker config.json is too large to be one".into(),
                format!("{path} is {size} bytes; a docker config.json is a few KiB."),
                "Point the tool at the directory that holds the real config.json (--docker-config, input `docker-config`, or $DOCKER_CONFIG).".into(),
            )
            .at(file, None, None),
        ],
        ConfigError::Syntax {
            line,
            column,
            message,
            ..
        } => vec![
            finding(
                "the docker config.json is not valid JSON".into(),
                format!("{path}:{line}:{column}: {message}. {LOAD_FAILS}"),
                format!(
                    "Fix the JSON at line {line}, column {column} (`jq . {}` shows the error), or delete the file and log in again to recreate it.",
                    sh_quote(&path)
                ),
            )
            .at(file, Some(*line), Some(*column)),
        ],
        ConfigError::Invalid { problems, .. } => problems
            .iter()
            .map(|p| {
                let at = match p.line {
                    Some(line) => format!("{path}:{line}"),
                    None => path.clone(),
                };
                let is_auth = p.key.ends_with(".auth");
                let mut fix = if is_auth {
                    "Log in again to rewrite the entry (`docker logout <host>` then `docker login <host>`), or set `auth` to the output of `printf '%s' 'USER:PASSWORD' | base64 -w0`.".to_string()
                } else {
                    format!("Correct {} at line {}", p.key, p.line.unwrap_or(1))
                        + " so that it has the type docker expects."
                };
                if p.key != "(top level)" {
                    fix.push_str(&format!(
                        " Or remove it: {}",
                        jq_edit(&format!("del(.{})", p.key), &path)
                    ));
                }
                finding(
                    format!("invalid {} in the docker config.json", p.key),
                    format!("{at}: {} {}. {LOAD_FAILS}", p.key, p.problem),
                    fix,
                )
                .at(file.clone(), p.line, p.column)
            })
            .collect(),
    }
}

pub(super) fn invalid_helper_name(
    ctx: &Ctx,
    config: &DockerConfig,
    name: &str,
    via: HelperVia,
    usage: &HelperUse,
) -> Finding {
    let key = config_keys(via, usage);
    let path = config.path.display().to_string();
    Finding::new(
        CheckId::CredentialHelpers,
        Code::DOCKER_CONFIG_INVALID,
        Severity::Error,
        format!("{key} names an invalid credential helper"),
        format!(
            "{} sets {key} to \"{name}\". A helper name is the suffix of a program `docker-credential-<name>` looked up on PATH, so it cannot contain `/` or whitespace; this tool did not run it, and docker fails every operation that needs it{}.",
            file_line(&config.path, usage.line),
            affected(via, usage)
        ),
        format!(
            "Set it to a helper's suffix (for example \"pass\" for docker-credential-pass), or remove it: {}",
            jq_edit(&del_filter(via, usage), &path)
        ),
    )
    .at(display_path(ctx, &config.path), usage.line, None)
}

pub(super) fn helper_not_found(
    ctx: &Ctx,
    config: &DockerConfig,
    name: &str,
    via: HelperVia,
    usage: &HelperUse,
) -> Finding {
    let key = config_keys(via, usage);
    let program = cred_helper::program_name(name);
    let path = config.path.display().to_string();
    let searched = match ctx.config.env.path.as_deref() {
        None => "PATH is not set".to_string(),
        Some(p) => {
            let dirs: Vec<String> = std::env::split_paths(p)
                .filter(|d| d.is_absolute())
                .map(|d| d.display().to_string())
                .collect();
            if dirs.is_empty() {
                "PATH has no absolute directory".to_string()
            } else if dirs.len() > 8 {
                format!(
                    "looked in {} … and {} more PATH directories",
                    dirs[..8].join(", "),
                    dirs.len() - 8
                )
            } else {
                format!("looked in {}", dirs.join(", "))
            }
        }
    };
    let mut message = format!(
        "{} sets {key} to \"{name}\", so docker runs `{program}` for {}. It is not on PATH ({searched}). Every registry operation that needs it fails{}: docker reports `error getting credentials - err: exec: \"{program}\": executable file not found in $PATH`.",
        file_line(&config.path, usage.line),
        scope(via, usage),
        match via {
            HelperVia::CredsStore => ", including anonymous pulls of public base images",
            HelperVia::CredHelpers => "",
        }
    );
    if let Some(hint) = helper_hint(name) {
        message.push(' ');
        message.push_str(hint);
    }
    if ctx.config.env.container.is_some() {
        message.push_str(" This step runs in a container action on a Linux runner, where this helper cannot work either.");
    }
    let mut fix = format!(
        "Install `{program}` on the runner, or remove the entry so docker uses the plain file store: {}",
        jq_edit(&del_filter(via, usage), &path)
    );
    if let Some(install) = helper_install(name) {
        fix.push('\n');
        fix.push_str(install);
    }
    Finding::new(
        CheckId::CredentialHelpers,
        Code::HELPER_NOT_FOUND,
        Severity::Error,
        format!("credential helper `{program}` ({key}) is not installed"),
        message,
        fix,
    )
    .at(display_path(ctx, &config.path), usage.line, None)
}

/// Helpers that cannot exist on a Linux runner: missing here means missing there too.
pub(super) fn could_be_on_the_runner(name: &str) -> bool {
    !matches!(
        name,
        "desktop" | "desktop.exe" | "osxkeychain" | "wincred" | "wincred.exe"
    )
}

/// CONTAINER_PATH_UNMOUNTED for the docker config directory.
pub(super) fn unmounted_config(
    ctx: &Ctx,
    container: &crate::action_container::ActionContainer,
    hosts: &[String],
    why: &crate::action_container::Unmounted,
) -> Finding {
    let loc = &ctx.config.docker_config;
    let what = match loc.origin {
        DockerConfigOrigin::Flag => "The docker config directory (input `docker-config`)",
        DockerConfigOrigin::Env => "DOCKER_CONFIG",
        DockerConfigOrigin::Home => "The docker config directory ($HOME/.docker)",
    };
    // The build, on the runner, may well find its credentials there: unverifiable, not
    // wrong, so never an error of its own.
    let severity = match ctx.config.effective_auth_mode() {
        AuthMode::DockerConfig => Severity::Warning,
        _ => Severity::Notice,
    };
    let mut message = container.explain_unmounted(what, &loc.dir, why);
    message.push_str(&format!(
        " The build step runs on the runner and does see it, but this check cannot read the credentials it holds{}, so it cannot tell whether the build will authenticate.",
        if hosts.is_empty() {
            String::new()
        } else {
            format!(" for {}", hosts.join(", "))
        }
    ));
    Finding::new(
        CheckId::CredentialHelpers,
        Code::CONTAINER_PATH_UNMOUNTED,
        severity,
        format!(
            "{} is not visible inside this container action",
            loc.dir.display()
        ),
        message,
        crate::action_container::shared_docker_config_fix(),
    )
}

/// HELPER_UNVERIFIABLE: a helper that may exist on the runner but not in this container.
pub(super) fn helper_unverifiable(
    ctx: &Ctx,
    config: &DockerConfig,
    name: &str,
    via: HelperVia,
    usage: &HelperUse,
) -> Finding {
    let key = config_keys(via, usage);
    let program = cred_helper::program_name(name);
    // The build gets its registry credentials from the helper only in docker-config mode.
    let severity = match ctx.config.effective_auth_mode() {
        AuthMode::DockerConfig => Severity::Warning,
        _ => Severity::Notice,
    };
    let mut message = format!(
        "{} sets {key} to \"{name}\", so docker runs `{program}` for {}. This step runs in a container action, which sees none of the runner's programs: `{program}` may well be installed on the runner, where the build runs, but it cannot be run from here, so the credential it would give is not verified.{}",
        file_line(&config.path, usage.line),
        scope(via, usage),
        auth_mode_note(ctx)
    );
    if let Some(hint) = helper_hint(name) {
        message.push(' ');
        message.push_str(hint);
    }
    Finding::new(
        CheckId::CredentialHelpers,
        Code::HELPER_UNVERIFIABLE,
        severity,
        format!("credential helper `{program}` ({key}) cannot be verified from a container action"),
        message,
        format!(
            "Run this check on the runner, where it runs `{program}` as the build will:\nuses: {}\n(same inputs and outputs). Or, if the build does not need the helper, remove the entry: {}",
            crate::action_container::HOST_MODE_USES,
            jq_edit(&del_filter(via, usage), &config.path.display().to_string())
        ),
    )
    .at(display_path(ctx, &config.path), usage.line, None)
}

pub(super) fn helper_failed(
    ctx: &Ctx,
    at: &HelperAt<'_>,
    program: &Path,
    error: &HelperError,
    waited: &str,
) -> Finding {
    let host = at.hosts_label();
    let title = match error {
        HelperError::Timeout { .. } => format!(
            "credential helper `{}` did not answer for {host} within {waited}",
            at.name
        ),
        HelperError::Exit { code: Some(c), .. } => {
            format!(
                "credential helper `{}` failed for {host} (exit status {c})",
                at.name
            )
        }
        HelperError::Garbage { .. } => format!(
            "credential helper `{}` returned an unreadable answer for {host}",
            at.name
        ),
        HelperError::Spawn { .. } => {
            format!("credential helper `{}` could not be started", at.name)
        }
        _ => format!("credential helper `{}` failed for {host}", at.name),
    };
    let consequence = match error {
        HelperError::Timeout { .. } => {
            " Docker waits on it the same way, so pulls and pushes to this registry hang or fail."
        }
        _ => {
            " Docker gets the same answer, so pulls and pushes to this registry fail (`error getting credentials`)."
        }
    };
    let message = format!(
        "{}. Ran `{} get` with `{}` on stdin: {error} (waited {waited}).{consequence}",
        at.chosen_by(),
        program.display(),
        at.key,
    );
    let mut fix = format!(
        "Run the helper by hand in an interactive shell (not in a CI log: on success it prints the secret): `printf '%s' {} | {} get`, and fix what it reports; or remove the entry so docker uses the file store: {}",
        sh_quote(at.key),
        cred_helper::program_name(at.name),
        jq_edit(
            &match at.via {
                HelperVia::CredHelpers => format!("del(.{})", at.config_key()),
                HelperVia::CredsStore => "del(.credsStore)".to_string(),
            },
            &at.config.path.display().to_string()
        )
    );
    let text = match error {
        HelperError::Exit { text, .. } => text.as_str(),
        _ => "",
    };
    if text.contains("pass not initialized") || text.contains("password store is empty") {
        fix.push_str("\nThe pass store is not initialised: create a gpg key and run `pass init <key fingerprint>` for the user the build runs as.");
    } else if text.contains("gpg") || text.contains("decryption failed") {
        fix.push_str("\ngpg could not decrypt the entry: check that the store's key is present and unlocked for this user (`gpg --list-secret-keys`).");
    } else if text.contains("D-Bus") || text.contains("DISPLAY") {
        fix.push_str("\nThis helper needs a desktop session (D-Bus, unlocked keyring), which a headless runner lacks: use pass or the plain file store instead.");
    }
    if matches!(error, HelperError::Timeout { .. }) {
        fix.push_str("\nA helper that waits is usually asking for a passphrase or a keyring unlock (pinentry, D-Bus prompt); in CI nobody can answer it.");
    }
    if matches!(error, HelperError::Garbage { .. }) {
        fix.push_str("\nA helper must print only `{\"ServerURL\":…,\"Username\":…,\"Secret\":…}` on stdout; a wrapper script that echoes anything else breaks the protocol.");
    }
    Finding::new(
        CheckId::CredentialHelpers,
        Code::HELPER_FAILED,
        Severity::Error,
        title,
        message,
        fix,
    )
    .at(display_path(ctx, &at.config.path), at.line, None)
}

pub(super) fn helper_no_credentials(
    ctx: &Ctx,
    at: &HelperAt<'_>,
    style: NoCredentialsStyle,
    waited: &str,
) -> Finding {
    let host = at.hosts_label();
    let answered = match style {
        NoCredentialsStyle::NotFoundMessage => {
            "`credentials not found in native keychain` (non-zero exit)".to_string()
        }
        NoCredentialsStyle::EmptyAnswer => {
            "exit 0 with an empty Username and Secret (how docker-credential-pass says it has no entry)".to_string()
        }
    };
    let mut message = format!(
        "{}. Asked for `{}` it answered {answered} after {waited}, so docker accesses {host} anonymously: pushes and private pulls fail with `unauthorized`. The helper is asked for this exact key; a login stored under another form of the name (for example `https://{}`) is not found.",
        at.chosen_by(),
        at.key,
        at.key
    );
    if let Some(entry) = at.config.auths.iter().find(|a| a.key == at.key)
        && entry.kind() != EntryKind::Empty
    {
        message.push_str(&format!(
            " {} ({}) holds a credential, but docker ignores it because {} chooses the helper.",
            docker_config::key_path(&["auths", &entry.key]),
            file_line(&at.config.path, entry.line),
            at.config_key()
        ));
    }
    message.push_str(&auth_mode_note(ctx));
    Finding::new(
        CheckId::CredentialHelpers,
        Code::HELPER_NO_CREDENTIALS,
        missing_credential_severity(ctx),
        format!(
            "credential helper `{}` has no credentials for {host}",
            at.name
        ),
        message,
        login_fix(ctx, &at.hosts[0]),
    )
    .at(display_path(ctx, &at.config.path), at.line, None)
}

pub(super) fn cred_not_found(
    ctx: &Ctx,
    config: &DockerConfig,
    key: &str,
    hosts: &[String],
    empty_entry: Option<&AuthEntry>,
    forced_by_empty_helper: Option<u32>,
) -> Finding {
    // A login after this step explains the missing credential.
    if let Some(f) =
        crate::checks::workflow::login_after_preflight(ctx, hosts, missing_credential_severity(ctx))
    {
        return f;
    }
    let host = hosts.join(", ");
    let path = config.path.display();
    let mut message = match empty_entry {
        Some(entry) => format!(
            "{} ({}) exists but holds no credential (no auth, username, identitytoken or registrytoken). Docker Desktop writes such entries next to a credsStore; without that store there is nothing to use,",
            docker_config::key_path(&["auths", &entry.key]),
            file_line(&config.path, entry.line)
        ),
        None => {
            let others: Vec<&str> = config
                .auths
                .iter()
                .map(|a| a.key.as_str())
                .take(10)
                .collect();
            format!(
                "{path} has no credential for `{key}`: looked for auths[\"{key}\"] and for keys whose host name is `{key}`{}{},",
                if others.is_empty() {
                    String::from(" (auths is empty)")
                } else {
                    format!(
                        " (auths has {})",
                        others
                            .iter()
                            .map(|k| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                if forced_by_empty_helper.is_none() {
                    ", and no credsStore or credHelpers entry applies"
                } else {
                    ""
                }
            )
        }
    };
    message.push_str(&format!(
        " so docker accesses {host} anonymously: pushes and private pulls fail with `unauthorized` or `no basic auth credentials`."
    ));
    if let Some(line) = forced_by_empty_helper {
        message.push_str(&format!(
            " {} is \"\" ({}), which makes docker use this file store even though a credsStore is set.",
            docker_config::key_path(&["credHelpers", key]),
            file_line(&config.path, Some(line).filter(|l| *l > 0))
        ));
    }
    message.push_str(&auth_mode_note(ctx));
    let line = empty_entry
        .and_then(|e| e.line)
        .or(forced_by_empty_helper.filter(|l| *l > 0));
    Finding::new(
        CheckId::CredentialHelpers,
        Code::CRED_NOT_FOUND,
        missing_credential_severity(ctx),
        format!("no credentials for {host} in the docker config"),
        message,
        login_fix(ctx, &hosts[0]),
    )
    .at(display_path(ctx, &config.path), line, None)
}

pub(super) fn auth_mode_note(ctx: &Ctx) -> String {
    match ctx.config.effective_auth_mode() {
        AuthMode::DockerConfig => " The auth mode is docker-config, so the build depends on this credential.".to_string(),
        AuthMode::Anonymous => " The auth mode is anonymous, so this only matters if the build pushes or pulls private images.".to_string(),
        other => format!(
            " The auth mode is {}: this tool gets its own token, but the build's docker has no credential for this registry.",
            other.as_str()
        ),
    }
}

/// The login command(s) for `host`, after the shell lines in `setup` (run once).
pub(super) fn login_commands(host: &str, setup: &str) -> String {
    match acr_name(host) {
        Some(name) => format!(
            "{setup}az acr login -n {name}\n\
             On a runner without a docker daemon, use the token form (or pass the token to buildah/skopeo/oras):\n\
             TOKEN=$(az acr login -n {name} --expose-token --query accessToken -o tsv)\n\
             echo \"$TOKEN\" | docker login {host} -u {} --password-stdin",
            crate::cloud::ACR_TOKEN_USER
        ),
        None => {
            let target = if credential::auth_key(host) == credential::DOCKER_HUB_KEY {
                String::new()
            } else {
                format!(" {host}")
            };
            format!(
                "{setup}docker login{target}\n(in a workflow: docker/login-action with `registry: {host}`, run with the same DOCKER_CONFIG as this step)"
            )
        }
    }
}

/// "Log in so that <dir> holds a credential for <host>:" and the commands, with
/// `DOCKER_CONFIG` exported when the directory is not docker's default.
pub(crate) fn login_fix(ctx: &Ctx, host: &str) -> String {
    let loc = &ctx.config.docker_config;
    let setup = match loc.origin {
        DockerConfigOrigin::Home => String::new(),
        DockerConfigOrigin::Flag | DockerConfigOrigin::Env => format!(
            "export DOCKER_CONFIG={}\n",
            sh_quote(&loc.dir.display().to_string())
        ),
    };
    format!(
        "Log in with the docker config this build uses ({}), so that it holds a credential for {host}:\n{}",
        loc.dir.display(),
        login_commands(host, &setup)
    )
}

/// The config keys a helper use stands for: `credsStore`, or `credHelpers["a"]`.
pub(super) fn config_keys(via: HelperVia, usage: &HelperUse) -> String {
    match via {
        HelperVia::CredsStore => "credsStore".to_string(),
        HelperVia::CredHelpers => usage
            .keys
            .iter()
            .map(|(k, _)| docker_config::key_path(&["credHelpers", k]))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

pub(super) fn del_filter(via: HelperVia, usage: &HelperUse) -> String {
    match via {
        HelperVia::CredsStore => "del(.credsStore)".to_string(),
        HelperVia::CredHelpers => format!(
            "del({})",
            usage
                .keys
                .iter()
                .map(|(k, _)| format!(".{}", docker_config::key_path(&["credHelpers", k])))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub(super) fn scope(via: HelperVia, usage: &HelperUse) -> String {
    let hosts: Vec<&str> = usage
        .keys
        .iter()
        .flat_map(|(_, h)| h)
        .map(String::as_str)
        .collect();
    match via {
        HelperVia::CredsStore if hosts.is_empty() => {
            "every registry without its own credHelpers entry".to_string()
        }
        HelperVia::CredsStore => format!(
            "every registry without its own credHelpers entry (here: {})",
            hosts.join(", ")
        ),
        HelperVia::CredHelpers => hosts.join(", "),
    }
}

pub(super) fn affected(via: HelperVia, usage: &HelperUse) -> String {
    match via {
        HelperVia::CredsStore => {
            " (every registry without its own credHelpers entry, including public base images)"
                .to_string()
        }
        HelperVia::CredHelpers => {
            let hosts: Vec<&str> = usage
                .keys
                .iter()
                .flat_map(|(_, h)| h)
                .map(String::as_str)
                .collect();
            format!(" ({})", hosts.join(", "))
        }
    }
}

/// What a well-known helper name tells about the set-up.
pub(super) fn helper_hint(name: &str) -> Option<&'static str> {
    Some(match name {
        "desktop" | "desktop.exe" => {
            "`desktop` is Docker Desktop's helper: this config.json was probably copied from a developer machine or a Docker Desktop install."
        }
        "osxkeychain" => {
            "`osxkeychain` is the macOS keychain helper: this config.json was probably copied from a Mac."
        }
        "wincred" | "wincred.exe" => {
            "`wincred` is the Windows credential-manager helper: this config.json was probably copied from Windows."
        }
        "secretservice" => {
            "`secretservice` needs a D-Bus session and an unlocked keyring, which headless runners lack (`Cannot autolaunch D-Bus without X11 $DISPLAY`)."
        }
        "acr" | "acr-linux" => {
            "The ACR helper is usually called `acr-env` (docker-credential-acr-env); check the name."
        }
        "acr-env" => {
            "docker-credential-acr-env reads AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID (or a managed identity) from the environment."
        }
        "ecr-login" => "docker-credential-ecr-login is the Amazon ECR helper.",
        _ => return None,
    })
}

pub(super) fn helper_install(name: &str) -> Option<&'static str> {
    Some(match name {
        "pass" => {
            "For pass: `sudo apt-get install -y pass golang-docker-credential-helpers`, then create a key and initialise the store: `gpg --batch --pinentry-mode loopback --passphrase '' --quick-gen-key 'ci <ci@example.invalid>' default default never` and `pass init <key fingerprint>`."
        }
        "desktop" | "desktop.exe" | "osxkeychain" | "wincred" | "wincred.exe" => {
            "On a Linux runner this helper cannot work: remove the entry and log in again (the credential then goes to `auths`)."
        }
        "secretservice" => {
            "On a headless runner remove it (or `sudo apt-get remove golang-docker-credential-helpers`, which makes docker pick it) and use pass or the file store."
        }
        "ecr-login" => "Install it with `sudo apt-get install -y amazon-ecr-credential-helper`.",
        _ => return None,
    })
}

/// `file:line` (or just the file).
pub(super) fn file_line(path: &Path, line: Option<u32>) -> String {
    match line {
        Some(line) if line > 0 => format!("{}:{line}", path.display()),
        _ => path.display().to_string(),
    }
}

/// The file as findings locate it: workspace-relative when it is inside the workspace.
pub(super) fn display_path(ctx: &Ctx, path: &Path) -> String {
    if let Some(ws) = &ctx.config.env.github_workspace
        && let Ok(rel) = path.strip_prefix(ws)
    {
        return rel.display().to_string();
    }
    path.display().to_string()
}

pub(super) fn format_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// A `jq` edit of the config file in place.
pub(super) fn jq_edit(filter: &str, path: &str) -> String {
    let file = sh_quote(path);
    let tmp = sh_quote(&format!("{path}.new"));
    format!(
        "`jq {} {file} > {tmp} && mv {tmp} {file}`",
        sh_quote(filter)
    )
}

/// Single-quotes for a POSIX shell when needed.
pub(crate) fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// CRED_ADMIN_DISABLED: the docker config holds the admin user of a registry whose
/// admin account ARM says is disabled.
pub(super) fn admin_disabled(
    hc: &HostCredential,
    facts: &crate::azure::arm::RegistryFacts,
) -> Finding {
    let user = hc
        .credential
        .as_ref()
        .map(|c| c.username().to_string())
        .unwrap_or_default();
    Finding::new(
        CheckId::CredentialHelpers,
        Code::CRED_ADMIN_DISABLED,
        Severity::Error,
        format!(
            "the docker config logs in to {} as the admin user `{user}`, which is disabled",
            hc.host
        ),
        format!(
            "The credential for {} ({}) has the username `{user}`, the registry's name: that is the admin account. ARM (GET {}) says adminUserEnabled: false, so the registry refuses it whatever the password.",
            hc.host,
            hc.source.describe(),
            facts.id
        ),
        admin_fix(facts),
    )
}

fn admin_fix(facts: &crate::azure::arm::RegistryFacts) -> String {
    let name = &facts.name;
    format!(
        "Sign in with an Entra identity instead of the admin account: give it AcrPull (AcrPush to push) on the registry and log in with `az acr login -n {name}` after azure/login (OIDC), or the token exchange this check performs (--client-id, --tenant-id):\naz role assignment create --assignee <client-id> --role AcrPush --scope {}\nOnly if policy allows the admin account: az acr update -n {name} --admin-enabled true, then use `az acr credential show -n {name}` for its password.",
        facts.id
    )
}

/// CRED_ADMIN_DISABLED at a login step of the workflow whose username is the admin user
/// of a registry whose admin account ARM says is disabled.
pub(super) fn admin_disabled_at_login(
    login: &crate::workflow::LoginStep,
    host: &str,
    user: &str,
    facts: &crate::azure::arm::RegistryFacts,
) -> Finding {
    let written = login.username.as_deref().unwrap_or(user);
    let spelled = if written == user {
        format!("`{user}`")
    } else {
        format!("`{written}`, which is `{user}`,")
    };
    let line = login.location.line.unwrap_or(login.step.line);
    Finding::new(
        CheckId::CredentialHelpers,
        Code::CRED_ADMIN_DISABLED,
        Severity::Error,
        format!(
            "step `{}` logs in to {host} as the admin user `{user}`, which is disabled",
            login.step.label
        ),
        format!(
            "`{}` in step `{}` (line {line}) logs in to {host} with the username {spelled} the registry's name: that is the admin account. ARM (GET {}) says adminUserEnabled: false, so the registry refuses it whatever the password, and the login fails with \"unauthorized\".",
            login.what,
            login.step.label,
            facts.id
        ),
        admin_fix(facts),
    )
    .at(login.location.file.clone(), login.location.line, login.location.column)
}
