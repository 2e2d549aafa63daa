//! Workflow check: reads the workflow acr-preflight runs in (GitHub Actions only) and
//! reports, on the workflow's own lines, what would make the build fail there: OIDC
//! without `id-token: write` in the job's effective permissions, a job `environment:`
//! that changes the OIDC subject, a GITHUB_TOKEN push to ghcr.io without
//! `packages: write`, a build that runs through `sudo` while the logins do not (or the
//! other way round), build steps that run before the preflight, a
//! `BUILDKIT_CONTEXT` build argument, references whose expressions cannot be known,
//! a buildx builder created before a login or running elsewhere, a `FROM` of an image
//! loaded into the daemon that a container builder cannot see (read from the
//! Dockerfile), and a static registry login while acr-preflight proves OIDC. It also
//! returns the [`Discovery`]: the contexts and push targets the job's later steps use,
//! each with its location, for the reference and registry checks.
//!
//! No network: it reads the workflow file (two for a reusable workflow), the bake files
//! of bake invocations and the Dockerfiles of builds on a builder with its own image
//! store from the workspace.

mod arm_audience;
mod az_session;
mod azure_login;
mod context;
mod live_builders;
mod messages;
mod named_builders;
mod names;
mod proxy;
mod shared_config;
mod stored_builders;
mod tasks_bases;
mod withheld;

pub use names::explain_invalid_references;

use super::Ctx;
use crate::config::{AuthMode, Config};
use crate::docker::buildx::{BuildxStore, InUse, Store, StoredBuilder};
use crate::findings::{CheckId, CheckReport, Code, Finding, Location, Severity};
use crate::workflow::discover::{self, BuilderName, DiscoveredRef, Role};
use crate::workflow::expr::Scope;
use crate::workflow::locate::{self, LocateError, Located, WorkflowFiles, Workspace};
use crate::workflow::model::{Grant, Job, Permissions, PermissionsKind, Step, Workflow};
use crate::workflow::yaml::Pos;
use crate::workflow::{Discovery, StepRef};
pub use arm_audience::arm_audience_tokens;
pub use az_session::az_subscriptions;
use messages::*;
pub use shared_config::{other_runners, preexisting_credentials};
use std::collections::HashMap;

/// Runs the check on the workflow in `GITHUB_WORKSPACE`. `process_env` is
/// acr-preflight's own environment (job and workflow `env:` as the runner evaluated
/// them), used to resolve `env.*` and `$VAR` in the build steps.
pub fn run(ctx: &Ctx, process_env: &HashMap<String, String>) -> (CheckReport, Discovery) {
    let dir = ctx
        .config
        .env
        .github_workspace
        .clone()
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    check_with(
        &ctx.config,
        &ctx.docker_config,
        &Workspace { dir },
        process_env,
    )
}

/// The check itself, reading workflow files through `files` and the docker config in
/// `config`'s folder.
pub fn check(
    config: &Config,
    files: &dyn WorkflowFiles,
    process_env: &HashMap<String, String>,
) -> (CheckReport, Discovery) {
    let secrets = crate::secrets::Secrets::default();
    let docker_config = crate::docker::config::load(&config.docker_config.dir, &secrets);
    check_with(config, &docker_config, files, process_env)
}

/// The check itself, reading workflow files through `files`; `docker_config` is the
/// run's reading of the docker config.
pub fn check_with(
    config: &Config,
    docker_config: &crate::docker::config::Read,
    files: &dyn WorkflowFiles,
    process_env: &HashMap<String, String>,
) -> (CheckReport, Discovery) {
    let mut report = CheckReport::default();
    let mut discovery = Discovery {
        applies: config.contexts.is_empty() && config.pushes.is_empty(),
        ..Discovery::default()
    };
    let env = &config.env;
    let Some(workflow_ref) = env.workflow_ref.as_deref() else {
        // Not under GitHub Actions (or a runner too old to say): nothing to read.
        report.inconclusive = true;
        return (report, discovery);
    };
    let Some(job_id) = env.job.as_deref() else {
        report.inconclusive = true;
        return (report, discovery);
    };
    let located = match locate::locate(files, workflow_ref, job_id, env.action.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            report.inconclusive = true;
            report.push(locate_finding(&e, files, discovery.applies, job_id));
            return (report, discovery);
        }
    };
    let workflow = &located.workflow;
    let job = located.job();
    let step = located.step();
    discovery.workflow = Some(workflow.path.clone());
    discovery.job = Some(job.id.value.clone());
    discovery.step = step.map(|s| StepRef {
        index: s.index,
        label: s.label(),
        line: s.pos.line,
    });
    report.verified(describe_location(&located));
    if step.is_none() {
        report.push(
            Finding::new(
                CheckId::Workflow,
                Code::WORKFLOW_NOT_FOUND,
                Severity::Notice,
                format!("no step of job `{}` could be recognised as acr-preflight's", job.id.value),
                format!(
                    "Job `{}` ({}:{}) has no step whose `id` is GITHUB_ACTION ({}), none that uses acr-preflight and no single local action `./`. Every build step of the job is taken as following the preflight, and the order of steps is not checked.",
                    job.id.value,
                    workflow.path,
                    job.id.start.line,
                    env.action.as_deref().map(|a| format!("`{a}`")).unwrap_or_else(|| "not set".into())
                ),
                "Give acr-preflight's step an `id:` (for example `id: preflight`).",
            )
            .at(&workflow.path, Some(job.id.start.line), Some(job.id.start.column)),
        );
    }

    let found = discover::discover(&discover::Input {
        files: Some(files),
        workflow,
        job,
        preflight: step.map(|s| s.index),
        process_env,
        run: env,
        cloud: config
            .azure
            .environment
            .unwrap_or(crate::cloud::AzureEnvironment::AzureCloud),
    });
    discovery.references = found.references.clone();
    discovery.builds = found.builds.clone();
    discovery.logins = found.logins.clone();
    discovery.builders = found.builders.clone();
    discovery.az = found.az.clone();
    discovery.arm_tokens = found.arm_tokens.clone();
    discovery.push_tools = found.push_tools.clone();
    for note in &found.notes {
        report.verified(note.clone());
    }
    discovery.timeout = crate::workflow::JobTimeout::of(job, &workflow.path);
    if let Some(step) = step
        && !discovery.applies
    {
        discovery.inputs = input_entries(config, &located, step, process_env);
    }

    let oidc = oidc_uses(config, job, step);
    if !oidc.is_empty() {
        oidc_permission(&mut report, &located, &oidc);
        discovery.environment_subject =
            environment_subject(&mut report, config, &located, process_env, &oidc);
    }
    ghcr_packages_permission(&mut report, &located, &found);
    sudo_mismatch(&mut report, &located.workflow.path, &found);
    az_sudo_mismatch(&mut report, &found);
    preflight_under_sudo(&mut report, config, &found);
    az_after_build(&mut report, &found);
    az_session::cli_version(&mut report, config, &found);
    step_docker_config(&mut report, config, &located, &found.builds);
    if step.is_some() {
        build_before_preflight(&mut report, &located, &found.builds);
    }
    for r in found
        .references
        .iter()
        .filter(|r| r.origin.is_buildkit_context_arg())
    {
        report.push(buildkit_context_arg(r));
    }
    if discovery.applies {
        unresolved(&mut report, &found);
    }
    empty_variables(&mut report, &located, &found);
    let withheld = crate::event::EventInfo::load(env).withheld(env);
    if let Some(why) = &withheld {
        withheld::secrets_withheld(&mut report, &located, &found, why);
    }
    if let Some(step) = step {
        withheld::empty_identity_inputs(&mut report, config, &located, step, withheld.as_ref());
    }
    for load in &found.loads {
        report.push(load_multiplatform(load));
    }
    let store = stored_builders::store(config, docker_config);
    stored_builders::verified(&mut report, &found, &store);
    builders(&mut report, config, &found, &store);
    named_builders::named_builders(&mut report, config, job, &found, &store);
    let live = live_builders::live(&mut report, config, &found, &store);
    discovery.stored_boots = live.boots.clone();
    let proxies = proxy::proxy_vars(workflow, job, process_env);
    proxy::builders_without_proxy(&mut report, &found, &store, &live, &proxies);
    proxy::builders_with_loopback_proxy(&mut report, &found, &store, &live);
    local_images(&mut report, files, &found, &store);
    tasks_bases::tasks_base_registries(&mut report, files, &found);
    context::ignored_inputs(&mut report, files, &found, config.timeout / 4);
    let (azure_logins, literal_secrets) =
        azure_login::azure_logins(&mut report, config, &located, process_env);
    discovery.azure_logins = azure_logins;
    discovery.acr_build_logins = azure_login::acr_build_logins(config, &located, process_env);
    discovery
        .acr_build_logins
        .extend(azure_login::cli_tasks_logins(
            config,
            &located,
            process_env,
            &found,
        ));
    discovery.arm_az_calls = azure_login::arm_az_calls(config, &located, process_env, &found);
    discovery.acr_az_calls = azure_login::acr_az_calls(config, &located, process_env, &found);
    discovery.literal_secrets = literal_secrets;
    azure_login::script_sign_ins(&mut report, config, &located, &found);
    static_logins(&mut report, config, &found);
    names::invalid_names(&mut report, config, &discovery);
    verified_references(&mut report, &discovery);
    (report, discovery)
}

fn finding(code: Code, severity: Severity, title: String, message: String, fix: String) -> Finding {
    Finding::new(CheckId::Workflow, code, severity, title, message, fix)
}

fn at(f: Finding, path: &str, pos: Pos) -> Finding {
    f.at(path, Some(pos.line), Some(pos.column))
}

fn locate_finding(
    e: &LocateError,
    files: &dyn WorkflowFiles,
    applies: bool,
    job_id: &str,
) -> Finding {
    let missing_severity = if applies {
        Severity::Warning
    } else {
        Severity::Notice
    };
    let consequence = if applies {
        "Without it acr-preflight cannot discover the build's contexts and push targets, nor check the job's permissions."
    } else {
        "The job's permissions and build steps are not checked; the references given with --context/--push still are."
    };
    match e {
        LocateError::BadRef(r) => finding(
            Code::WORKFLOW_NOT_FOUND,
            missing_severity,
            "GITHUB_WORKFLOW_REF names no workflow file".into(),
            format!("GITHUB_WORKFLOW_REF is `{r}`, not `owner/repo/.github/workflows/FILE@REF`. {consequence}"),
            "Run acr-preflight as a step of a workflow job (the runner sets GITHUB_WORKFLOW_REF), or give --context/--push explicitly.".into(),
        ),
        LocateError::Unreadable { path, not_found, error } => {
            let message = if *not_found {
                format!(
                    "The workflow file `{path}` (from GITHUB_WORKFLOW_REF) is not in {}: the job did not check the repository out before this step, or checked it out to another path. {consequence}",
                    files.describe()
                )
            } else {
                format!("The workflow file `{path}` cannot be read from {}: {error}. {consequence}", files.describe())
            };
            finding(
                Code::WORKFLOW_NOT_FOUND,
                missing_severity,
                format!("the workflow file `{path}` is not in the workspace"),
                message,
                "Add `- uses: actions/checkout@v5` to the job before the acr-preflight step, or give the references explicitly with the inputs `context` and `push`.".into(),
            )
            .at(path, None, None)
        }
        LocateError::Invalid { path, error } => {
            let f = finding(
                Code::WORKFLOW_INVALID,
                Severity::Warning,
                format!("the workflow file `{path}` cannot be read as YAML"),
                format!(
                    "{path}{}: {}. The runner accepted the workflow it runs, so the copy in the workspace is probably another version (a checkout of another ref, or a file changed by an earlier step). {consequence}",
                    error.pos.map(|p| format!(":{}:{}", p.line, p.column)).unwrap_or_default(),
                    error.message
                ),
                "Check out the commit the workflow runs from (`actions/checkout` without `ref:`), or fix the file at the line shown.".into(),
            );
            match error.pos {
                Some(p) => at(f, path, p),
                None => f.at(path, None, None),
            }
        }
        LocateError::NoJob { path, job, jobs } => finding(
            Code::WORKFLOW_NOT_FOUND,
            missing_severity,
            format!("job `{job}` is not in `{path}`"),
            format!(
                "GITHUB_JOB is `{job}`, but the workspace copy of `{path}` has {} (and no local reusable workflow it calls has `{job}`). The workspace probably holds another version of the workflow. {consequence}",
                if jobs.is_empty() {
                    "no jobs".to_string()
                } else {
                    format!("the jobs {}", jobs.iter().map(|j| format!("`{j}`")).collect::<Vec<_>>().join(", "))
                }
            ),
            format!("Check out the commit the workflow runs from (`actions/checkout` without `ref:`) in job `{job_id}`."),
        )
        .at(path, None, None),
    }
}

/// Why the job needs an OIDC token, and where that is written.
struct OidcUse {
    why: String,
    line: Option<u32>,
}

fn oidc_uses(config: &Config, job: &Job, step: Option<&Step>) -> Vec<OidcUse> {
    let mut out = Vec::new();
    if config.effective_auth_mode() == AuthMode::Oidc {
        let why = if config.auth_mode == AuthMode::Oidc {
            "acr-preflight runs with auth-mode `oidc`".to_string()
        } else {
            "acr-preflight has a `client-id` and no client secret, so auth-mode `auto` uses OIDC"
                .to_string()
        };
        // The input that decides it, else the step.
        let key = if config.auth_mode == AuthMode::Oidc {
            "auth-mode"
        } else {
            "client-id"
        };
        let line = step.map(|s| s.input_key(key).map(|k| k.start.line).unwrap_or(s.pos.line));
        out.push(OidcUse { why, line });
    }
    for s in &job.steps {
        if discover::azure_login_is_oidc(s) {
            out.push(OidcUse {
                why: if s.input("creds").is_some_and(|v| !v.value.trim().is_empty()) {
                    format!(
                        "step `{}` logs in with azure/login and a `client-id` and `tenant-id`, which make it ignore `creds` and use OIDC",
                        s.label()
                    )
                } else {
                    format!(
                        "step `{}` logs in with azure/login and a `client-id` without `creds`, which is OIDC",
                        s.label()
                    )
                },
                line: Some(
                    s.input_key("client-id")
                        .map(|k| k.start.line)
                        .unwrap_or(s.pos.line),
                ),
            });
        }
    }
    out
}

/// Who signs the job in to Azure with OIDC, for WORKFLOW_LOGIN_DIFFERS.
enum OidcSource {
    /// acr-preflight itself (its auth mode is OIDC).
    Preflight,
    /// A step of the job that signs in with OIDC (`azure/login`, or a script's
    /// `az login --federated-token`): its label, line, and what it runs.
    Step {
        label: String,
        line: u32,
        what: String,
    },
}

/// Where a job's effective permissions come from.
enum Effective<'a> {
    Job(&'a Permissions),
    Workflow(&'a Permissions),
    Default,
}

fn effective<'a>(workflow: &'a Workflow, job: &'a Job) -> Effective<'a> {
    match (&job.permissions, &workflow.permissions) {
        (Some(p), _) => Effective::Job(p),
        (None, Some(p)) => Effective::Workflow(p),
        (None, None) => Effective::Default,
    }
}

fn grant_of(e: &Effective<'_>) -> Grant {
    match e {
        Effective::Job(p) | Effective::Workflow(p) => p.grant("id-token"),
        Effective::Default => Grant::None,
    }
}

/// A login to `ghcr.io` whose password is the job's own token (docker/login-action,
/// or `docker login` in a script, [`discover::job_token`]). A personal access token
/// carries its own scopes, so only this login depends on the job's permissions.
fn ghcr_job_token_login(found: &discover::Found) -> Option<&discover::LoginStep> {
    found
        .logins
        .iter()
        .find(|l| l.job_token && l.registry.as_deref() == Some("ghcr.io"))
}

/// WORKFLOW_PACKAGES_PERMISSION: a write to ghcr.io (a push target, or a registry
/// cache the build exports) with the job's token, without `packages: write`.
fn ghcr_packages_permission(report: &mut CheckReport, l: &Located, found: &discover::Found) {
    let job = l.job();
    let Some(login) = ghcr_job_token_login(found) else {
        return;
    };
    let Some(push) = found.references.iter().find(|r| {
        matches!(r.role, Role::Push | Role::CacheTo)
            && r.reference
                .as_deref()
                .is_some_and(|s| s.to_ascii_lowercase().starts_with("ghcr.io/"))
    }) else {
        return;
    };
    let eff = effective(&l.workflow, job);
    let perms = match &eff {
        Effective::Job(p) | Effective::Workflow(p) => p,
        Effective::Default => {
            // The repository or organisation setting decides, and the workflow does not say it.
            report.verified(format!(
                "job `{}` pushes to ghcr.io with GITHUB_TOKEN and sets no `permissions:`; the repository's default token permissions decide `packages: write`",
                job.id.value
            ));
            return;
        }
    };
    match perms.grant("packages") {
        Grant::Write => report.verified(format!(
            "job `{}` grants `packages: write` (line {}) for its GITHUB_TOKEN push to ghcr.io",
            job.id.value, perms.key.line
        )),
        Grant::Unknown => report.verified(format!(
            "job `{}`: `packages` in the permissions at line {} cannot be read ({})",
            job.id.value,
            perms.key.line,
            perms.describe()
        )),
        Grant::None | Grant::Read => {
            report.push(missing_packages_write(&l.workflow, job, perms, login, push))
        }
    }
}

/// `sudo docker` reads root's docker config, a plain `docker` the runner user's: a
/// build on one side of that line does not see a login made only on the other.
fn sudo_mismatch(report: &mut CheckReport, path: &str, found: &discover::Found) {
    // `az acr build`/`run` upload with the Azure CLI's login, not a docker config.
    for build in found.builds.iter().filter(|b| !b.what.starts_with("az ")) {
        let same_side = found.logins.iter().any(|l| l.as_root == build.as_root);
        let other_side = found.logins.iter().find(|l| l.as_root != build.as_root);
        if let (false, Some(login)) = (same_side, other_side) {
            report.push(config_mismatch_sudo(path, build, login));
        }
    }
}

/// `sudo az …` reads root's Azure CLI profile (`/root/.azure`), a plain `az` the
/// runner user's: a call on one side does not see a sign-in made only on the other
/// (`Please run 'az login' to setup account.`).
fn az_sudo_mismatch(report: &mut CheckReport, found: &discover::Found) {
    let signins: Vec<_> = found.az.iter().filter(|a| a.login.is_some()).collect();
    for call in found
        .az
        .iter()
        .filter(|a| a.login.is_none() && a.needs_token)
    {
        let before = signins
            .iter()
            .filter(|s| call.after(&s.step, &s.location))
            .collect::<Vec<_>>();
        let same_side = before.iter().any(|s| s.as_root == call.as_root);
        if let (false, Some(signin)) = (same_side, before.last()) {
            report.push(config_mismatch_az_sudo(call, signin));
        }
    }
}

/// acr-preflight itself run through `sudo` (`SUDO_USER` set, `HOME=/root`) reads
/// root's docker config and Azure CLI profile, while a build without `sudo` reads the
/// runner user's: what it proved is not what the build will use.
fn preflight_under_sudo(report: &mut CheckReport, config: &Config, found: &discover::Found) {
    let env = &config.env;
    let Some(user) = env.sudo_user.as_deref() else {
        return;
    };
    if env.container.is_some() || env.home.as_deref() != Some(std::path::Path::new("/root")) {
        return;
    }
    if let Some(build) = found
        .builds
        .iter()
        .find(|b| b.after_preflight && !b.as_root && !b.what.starts_with("az "))
    {
        report.push(config_mismatch_preflight_sudo(config, user, build));
    }
}

/// P13: after `azure/login` with OIDC, `az` renews its cached tokens with the GitHub ID
/// token it was given, which expires within minutes; an `az` call that needs a token
/// after a long build fails with AADSTS700024 once the cached token has expired too.
fn az_after_build(report: &mut CheckReport, found: &discover::Found) {
    for call in found.az.iter().filter(|a| a.needs_token) {
        // The session the call reads: the last sign-in on its side of `sudo`.
        let Some(signin) = found.az.iter().rfind(|s| {
            s.login.is_some() && s.as_root == call.as_root && call.after(&s.step, &s.location)
        }) else {
            continue;
        };
        if !signin.signs_in_with_oidc() {
            continue;
        }
        let build = found.builds.iter().find(|b| {
            matches!(
                b.what.as_str(),
                "docker/build-push-action" | "docker build" | "docker buildx build"
            ) && call.after(&b.step, &b.location)
                && !signin.after(&b.step, &b.location)
        });
        if let Some(build) = build {
            report.push(az_after_build_finding(call, signin, build));
        }
    }
}

/// A build step's own `env: DOCKER_CONFIG` points the build at another config than
/// the one acr-preflight checked (its own `DOCKER_CONFIG`, from the job or workflow
/// `env:`, else `~/.docker`).
fn step_docker_config(
    report: &mut CheckReport,
    config: &Config,
    l: &Located,
    builds: &[discover::BuildCommand],
) {
    let job = l.job();
    let inherited = job
        .env
        .get("DOCKER_CONFIG")
        .or_else(|| l.workflow.env.get("DOCKER_CONFIG"))
        .map(|t| t.value.trim());
    let checked = config.docker_config.dir.display().to_string();
    let same = |value: &str| {
        let value = value.trim().trim_end_matches('/');
        Some(value) == inherited.map(|i| i.trim_end_matches('/'))
            || value == checked.trim_end_matches('/')
    };
    let mut seen = Vec::new();
    for build in builds.iter().filter(|b| !b.what.starts_with("az ")) {
        if let Some(inline) = &build.inline_config {
            if inline.value.as_deref().is_none_or(|v| !same(v)) {
                report.push(config_mismatch_inline(build, inline, &checked));
            }
            continue;
        }
        let Some(step) = job.steps.get(build.step.index) else {
            continue;
        };
        let Some(own) = step.env.get("DOCKER_CONFIG") else {
            continue;
        };
        if seen.contains(&step.index) || same(&own.value) {
            continue;
        }
        seen.push(step.index);
        report.push(config_mismatch_step_env(
            &l.workflow.path,
            build,
            own,
            &checked,
        ));
    }
}

fn oidc_permission(report: &mut CheckReport, l: &Located, uses: &[OidcUse]) {
    // A called workflow's jobs never get more than the calling job has.
    let mut levels: Vec<(&Workflow, &Job)> = Vec::new();
    if let (Some((caller_wf, _)), Some(caller_job)) = (&l.caller, l.caller_job()) {
        levels.push((caller_wf, caller_job));
    }
    let own_set = l.job().permissions.is_some() || l.workflow.permissions.is_some();
    if l.caller.is_none() || own_set {
        levels.push((&l.workflow, l.job()));
    }
    let why = uses
        .iter()
        .map(|u| match u.line {
            Some(line) => format!("{} (line {line})", u.why),
            None => u.why.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ");
    for (workflow, job) in levels {
        let eff = effective(workflow, job);
        match grant_of(&eff) {
            Grant::Write => {
                let from = match &eff {
                    Effective::Job(p) => format!("job-level permissions, line {}", p.key.line),
                    Effective::Workflow(p) => format!("workflow-level permissions, line {}", p.key.line),
                    Effective::Default => String::new(),
                };
                report.verified(format!(
                    "job `{}` of {} grants `id-token: write` ({from})",
                    job.id.value, workflow.path
                ));
            }
            Grant::Unknown => report.verified(format!(
                "permissions of job `{}` of {} could not be read ({}); `id-token: write` not verified",
                job.id.value,
                workflow.path,
                match &eff {
                    Effective::Job(p) | Effective::Workflow(p) => p.describe(),
                    Effective::Default => String::new(),
                }
            )),
            Grant::None | Grant::Read => {
                report.push(missing_id_token(workflow, job, &eff, &why, l));
                return;
            }
        }
    }
}

fn environment_subject(
    report: &mut CheckReport,
    config: &Config,
    l: &Located,
    process_env: &HashMap<String, String>,
    uses: &[OidcUse],
) -> Option<String> {
    let job = l.job();
    let environment = job.environment.as_ref()?;
    let name = environment.name.as_ref()?;
    let scope = Scope {
        workflow: &l.workflow,
        job,
        step: None,
        preflight: l.step(),
        process_env,
        run: &config.env,
    };
    let expanded = scope.expand(&name.value);
    let repository = config
        .env
        .repository
        .clone()
        .unwrap_or_else(|| "<owner>/<repo>".into());
    let env_name = if expanded.is_resolved() {
        expanded.text.trim().to_string()
    } else {
        "<environment name>".into()
    };
    let subject = format!(
        "repo:{repository}:environment:{}",
        env_name.replace(':', "%3A")
    );
    let unresolved_note = expanded
        .unresolved
        .first()
        .map(|u| {
            format!(
                " The environment name is `{}`, which acr-preflight cannot resolve ({}).",
                name.value.trim(),
                u.reason
            )
        })
        .unwrap_or_default();
    let branch_subject = match config.env.git_ref.as_deref() {
        Some(r) if r.starts_with("refs/pull/") => format!("repo:{repository}:pull_request"),
        Some(r) => format!("repo:{repository}:ref:{r}"),
        None => format!("repo:{repository}:ref:refs/heads/<branch>"),
    };
    let client = config
        .azure
        .client_id
        .clone()
        .unwrap_or_else(|| "<client-id>".into());
    let slug: String = format!(
        "gh-{}-{}",
        repository.rsplit('/').next().unwrap_or("repo"),
        env_name
    )
    .chars()
    .map(|c| {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            c
        } else {
            '-'
        }
    })
    .collect();
    let why = uses
        .first()
        .map(|u| u.why.as_str())
        .unwrap_or("OIDC is in use");
    let (line, column) = name.locate(0..name.value.len());
    report.push(
        finding(
            Code::WORKFLOW_ENVIRONMENT_SUBJECT,
            Severity::Notice,
            format!(
                "job `{}` runs in environment `{}`, so its OIDC subject is `{subject}`",
                job.id.value,
                name.value.trim()
            ),
            format!(
                "Job `{}` declares `environment:` (line {}). A job in an environment presents the subject `{subject}` instead of the branch or pull-request subject (here `{branch_subject}`), whatever triggered the run.{unresolved_note} Entra ID matches the subject exactly and case-sensitively, so the federated credential must have this subject ({why}).",
                job.id.value,
                environment.key.line
            ),
            format!(
                "Make sure the app or managed identity has a federated credential with subject `{subject}`: `az ad app federated-credential create --id {client} --parameters '{{\"name\":\"{slug}\",\"issuer\":\"https://token.actions.githubusercontent.com\",\"subject\":\"{subject}\",\"audiences\":[\"{}\"]}}'`, or run the registry steps in a job without `environment:`.",
                config.azure.audience
            ),
        )
        .at(&l.workflow.path, Some(line), column),
    );
    Some(subject)
}

/// Compares the subject the job's `environment:` implies (WORKFLOW_ENVIRONMENT_SUBJECT)
/// with the subject the identity check saw the job present to Entra.
pub fn confirm_environment_subject(
    report: &mut CheckReport,
    implied: Option<&str>,
    presented: Option<&str>,
) {
    let (Some(implied), Some(presented)) = (implied, presented.filter(|s| !s.is_empty())) else {
        return;
    };
    for f in report
        .findings
        .iter_mut()
        .filter(|f| f.code == Code::WORKFLOW_ENVIRONMENT_SUBJECT)
    {
        if implied == presented {
            f.message.push_str(
                " The identity check confirms it: the job presented exactly this subject to Entra.",
            );
        } else {
            f.severity = Severity::Warning;
            f.message.push_str(&format!(
                " The identity check saw the job present `{presented}` instead (a customised subject template, or the immutable ID-based form): the federated credential must match what is presented."
            ));
        }
    }
}

fn build_before_preflight(
    report: &mut CheckReport,
    l: &Located,
    builds: &[discover::BuildCommand],
) {
    let Some(preflight) = l.step() else { return };
    let mut reported: Vec<usize> = Vec::new();
    for b in builds.iter().filter(|b| !b.after_preflight) {
        if reported.contains(&b.step.index) {
            continue;
        }
        reported.push(b.step.index);
        report.push(
            finding(
                Code::WORKFLOW_BUILD_BEFORE_PREFLIGHT,
                Severity::Warning,
                format!(
                    "step `{}` runs `{}` before acr-preflight",
                    b.step.label, b.what
                ),
                format!(
                    "Step {} `{}` (line {}) runs `{}` at line {}, before acr-preflight's step {} (line {}). By the time the preflight runs that build has already run, or failed, so the preflight can neither prevent nor explain its failure.",
                    b.step.index + 1,
                    b.step.label,
                    b.step.line,
                    b.what,
                    b.location.line.unwrap_or(b.step.line),
                    preflight.index + 1,
                    preflight.pos.line
                ),
                format!(
                    "Move the acr-preflight step before step `{}`, right after the registry login.",
                    b.step.label
                ),
            )
            .at(b.location.file.clone(), b.location.line, b.location.column),
        );
    }
}

fn unresolved(report: &mut CheckReport, found: &discover::Found) {
    let mut seen: Vec<(Location, String)> = Vec::new();
    // Only what stands in for --context/--push: tags and caches are not checked further.
    let checked = |r: &&DiscoveredRef| matches!(r.role, Role::Context | Role::Push);
    for r in found
        .references
        .iter()
        .filter(|r| r.after_preflight)
        .filter(checked)
    {
        for (u, loc) in &r.unresolved {
            let key = (loc.clone(), u.written.clone());
            if seen.contains(&key) {
                continue;
            }
            seen.push(key);
            report.push(
                finding(
                    Code::WORKFLOW_UNRESOLVED_EXPRESSION,
                    Severity::Notice,
                    if u.written == r.written {
                        format!(
                            "{} `{}` cannot be resolved before the build",
                            r.role.as_str(),
                            r.written
                        )
                    } else {
                        format!(
                            "`{}` in {} `{}` cannot be resolved before the build",
                            u.written,
                            r.role.as_str(),
                            r.written
                        )
                    },
                    format!(
                        "Step `{}` (line {}) names the {} `{}` ({}). acr-preflight cannot know `{}`: {}. This {} is not checked.",
                        r.step.label,
                        r.step.line,
                        r.role.as_str(),
                        r.written,
                        r.origin.describe(),
                        u.written,
                        u.reason,
                        r.role.as_str()
                    ),
                    format!(
                        "Give the reference to acr-preflight explicitly (input `{}`; the runner evaluates expressions in `with:`), or set the value in the job's `env:` and refer to it as `${{{{ env.NAME }}}}`.",
                        if r.role == Role::Context { "context" } else { "push" }
                    ),
                )
                .at(loc.file.clone(), loc.line, loc.column),
            );
        }
    }
    for (u, loc, step) in &found.undecided {
        if !step_after(found, step) {
            continue;
        }
        report.push(
            finding(
                Code::WORKFLOW_UNRESOLVED_EXPRESSION,
                Severity::Notice,
                format!("whether step `{}` pushes depends on `{}`", step.label, u.written),
                format!(
                    "Step `{}` (line {}) sets `push:` to `{}`, which acr-preflight cannot evaluate: {}. Its `tags` are not checked as push targets.",
                    step.label, step.line, u.written, u.reason
                ),
                "Give the push targets to acr-preflight explicitly (input `push`), or write `push: true`.".to_string(),
            )
            .at(loc.file.clone(), loc.line, loc.column),
        );
    }
}

/// Each entry of acr-preflight's own `context` and `push` inputs (one reference a line,
/// as the runner passes them), paired with the value the run received: by its value
/// where the entry resolves, else by its place in the list when both lists are as long.
fn input_entries(
    config: &Config,
    l: &Located,
    step: &Step,
    process_env: &HashMap<String, String>,
) -> Vec<(String, Location)> {
    let scope = Scope {
        workflow: &l.workflow,
        job: l.job(),
        step: Some(step),
        preflight: Some(step),
        process_env,
        run: &config.env,
    };
    let mut out = Vec::new();
    for (name, given) in [("context", &config.contexts), ("push", &config.pushes)] {
        let Some(text) = step.input(name) else {
            continue;
        };
        let mut entries: Vec<(Option<String>, Location)> = Vec::new();
        let mut offset = 0;
        for line in text.value.split('\n') {
            let start = offset + (line.len() - line.trim_start().len());
            offset += line.len() + 1;
            let entry = line.trim();
            if entry.is_empty() {
                continue;
            }
            let (line_no, column) = text.locate(start..start + entry.len());
            let expanded = scope.expand(entry);
            let value = expanded
                .is_resolved()
                .then(|| expanded.text.trim().to_string());
            entries.push((
                value,
                Location {
                    file: l.workflow.path.clone(),
                    line: Some(line_no),
                    column,
                },
            ));
        }
        let mut taken = vec![false; entries.len()];
        let mut paired: Vec<Option<Location>> = vec![None; given.len()];
        for (g, value) in given.iter().enumerate() {
            if let Some(i) = (0..entries.len())
                .find(|&i| !taken[i] && entries[i].0.as_deref() == Some(value.trim()))
            {
                taken[i] = true;
                paired[g] = Some(entries[i].1.clone());
            }
        }
        if entries.len() == given.len() {
            for (g, slot) in paired.iter_mut().enumerate() {
                if slot.is_none() && !taken[g] {
                    taken[g] = true;
                    *slot = Some(entries[g].1.clone());
                }
            }
        }
        for (value, loc) in given.iter().zip(paired) {
            if let Some(loc) = loc {
                out.push((value.trim().to_string(), loc));
            }
        }
    }
    out
}

/// WORKFLOW_EMPTY_VARIABLE: a reference of a later build step built from an `env`
/// variable that is empty, reported once per variable and definition at the `env:`
/// entry, with the references it breaks as context.
fn empty_variables(report: &mut CheckReport, l: &Located, found: &discover::Found) {
    for group in empty_variable_groups(found) {
        let Some(first) = group.refs.first() else {
            continue;
        };
        let set_in = where_set(l, &group, first);
        let setter = env_writer_before_build(l, &group.refs);
        report.push(empty_variable_finding(l, &group, set_in.as_deref(), setter));
    }
}

/// One empty variable at one place, and the references built from it.
struct EmptyVariable<'a> {
    name: String,
    /// Where the empty value is written (or the step, when no `env:` sets it).
    at: Location,
    refs: Vec<&'a DiscoveredRef>,
}

/// The references after acr-preflight's step grouped by the empty variable they use.
fn empty_variable_groups(found: &discover::Found) -> Vec<EmptyVariable<'_>> {
    let mut groups: Vec<EmptyVariable<'_>> = Vec::new();
    for r in found.references.iter().filter(|r| r.after_preflight) {
        for (e, loc) in &r.empty {
            match groups.iter_mut().find(|g| g.name == e.name && g.at == *loc) {
                Some(group) => {
                    if !group.refs.iter().any(|x| std::ptr::eq(*x, r)) {
                        group.refs.push(r)
                    }
                }
                None => groups.push(EmptyVariable {
                    name: e.name.clone(),
                    at: loc.clone(),
                    refs: vec![r],
                }),
            }
        }
    }
    groups
}

/// Which `env:` block sets the variable empty (step, job or workflow); `None` when none
/// does (it is empty in acr-preflight's own environment).
fn where_set(l: &Located, group: &EmptyVariable<'_>, first: &DiscoveredRef) -> Option<String> {
    let job = l.job();
    let defined_at = |env: &crate::workflow::model::Env| {
        env.entries
            .iter()
            .any(|(k, _)| k.value == group.name && Some(k.start.line) == group.at.line)
    };
    if group.at.file != l.workflow.path {
        // A bake variable's `default` (read from the bake file).
        Some(format!(
            "the `default` of bake variable `{}` in {}",
            group.name, group.at.file
        ))
    } else if first.empty.iter().all(|(e, _)| e.defined.is_none()) {
        None
    } else if job
        .steps
        .get(first.step.index)
        .is_some_and(|s| defined_at(&s.env))
    {
        Some(format!("the `env:` of step `{}`", first.step.label))
    } else if defined_at(&job.env) {
        Some(format!("the `env:` of job `{}`", job.id.value))
    } else {
        Some("the workflow's `env:`".to_string())
    }
}

/// A step between acr-preflight's and the build that writes `$GITHUB_ENV`: it may still
/// set the variable for the build.
fn env_writer_before_build<'a>(l: &'a Located, refs: &[&DiscoveredRef]) -> Option<&'a Step> {
    let preflight = l.step().map(|s| s.index);
    let last_step = refs.iter().map(|r| r.step.index).max().unwrap_or(0);
    l.job()
        .steps
        .iter()
        .filter(|s| preflight.is_none_or(|p| s.index > p) && s.index < last_step)
        .find(|s| {
            s.run
                .as_ref()
                .is_some_and(|r| r.value.contains("GITHUB_ENV"))
        })
}

/// For the credentials check: the finding that stands for a missing credential when a
/// login to every one of `hosts` runs after acr-preflight's step (and none before it).
/// `severity` is what the missing-credential finding would have had.
pub fn login_after_preflight(ctx: &Ctx, hosts: &[String], severity: Severity) -> Option<Finding> {
    if hosts.is_empty() {
        return None;
    }
    let logins: Vec<&crate::workflow::LaterLogin> = hosts
        .iter()
        .map(|h| {
            let h = h.to_ascii_lowercase();
            ctx.later_logins.iter().find(|l| l.registry == h)
        })
        .collect::<Option<Vec<_>>>()?;
    let first = logins.first()?;
    let line = first.location.line.unwrap_or(first.preflight_line);
    let lines: Vec<String> = logins
        .iter()
        .map(|l| {
            format!(
                "`{}` to {} at line {} (step `{}`)",
                l.what,
                l.registry,
                l.location.line.unwrap_or(l.preflight_line),
                l.step_label
            )
        })
        .collect();
    Some(
        Finding::new(
            CheckId::CredentialHelpers,
            Code::WORKFLOW_LOGIN_AFTER_PREFLIGHT,
            severity,
            format!(
                "the login at line {line} runs after this step; move acr-preflight below it"
            ),
            format!(
                "The docker config holds no credential for {} yet: the job logs in with {}, after acr-preflight's step (line {}). The credential the build will use does not exist when the preflight looks, so it cannot be checked, and the registry is tried without one.",
                hosts.join(", "),
                lines.join(", "),
                first.preflight_line
            ),
            format!(
                "Move the acr-preflight step below step `{}` (line {line}), so that it runs after the login and checks the credential the build will use.",
                first.step_label
            ),
        )
        .at(
            first.location.file.clone(),
            Some(first.preflight_line),
            None,
        ),
    )
}

/// Hosts whose missing credential [`login_after_preflight`] explained point later
/// checks at that finding rather than at the missing credential.
pub fn credentials_after_login(
    ctx: &Ctx,
    host_credentials: &mut [crate::checks::credentials::HostCredential],
) {
    for c in host_credentials.iter_mut() {
        let missing = match c.problem {
            Some(Code::CRED_NOT_FOUND) => true,
            Some(Code::DOCKER_CONFIG_MISSING) => ctx.config.env.container.is_none(),
            _ => false,
        };
        let host = c.host.to_ascii_lowercase();
        if missing && ctx.later_logins.iter().any(|l| l.registry == host) {
            c.problem = Some(Code::WORKFLOW_LOGIN_AFTER_PREFLIGHT);
        }
    }
}

/// Where a step's command sits in the job: its step, then its line.
fn order(step: &StepRef, location: &Location) -> (usize, u32) {
    (step.index, location.line.unwrap_or(step.line))
}

/// Builds that run BuildKit through buildx (and so with the builder in use).
fn buildx_build(b: &discover::BuildCommand) -> bool {
    matches!(
        b.what.as_str(),
        "docker/build-push-action" | "docker buildx build"
    )
}

/// WORKFLOW_BUILDER_BEFORE_LOGIN: a builder with its own BuildKit created before a login
/// that a later build on it needs; WORKFLOW_BUILDER_REMOTE: a builder on other machines.
fn builders(report: &mut CheckReport, config: &Config, found: &discover::Found, store: &Store) {
    for builder in found.builders.iter().filter(|b| b.own_store()) {
        let created = order(&builder.step, &builder.location);
        let build_after = |from: (usize, u32)| {
            found
                .builds
                .iter()
                .filter(|b| buildx_build(b))
                .filter(|b| chosen(found, store, b).is(builder))
                .find(|b| order(&b.step, &b.location) > from)
        };
        let later: Vec<_> = found
            .logins
            .iter()
            .filter(|l| order(&l.step, &l.location) > created)
            .filter_map(|l| build_after(order(&l.step, &l.location)).map(|b| (l, b)))
            .collect();
        // A login to the registry the builder's own image comes from first (Docker Hub
        // for buildx's default image).
        let later_login = later
            .iter()
            .find(|(l, _)| l.registry.is_some() && l.registry.as_deref() == builder.boot_registry())
            .or(later.first());
        if let Some((login, build)) = later_login {
            report.push(builder_before_login(builder, login, build));
        }
        if builder.elsewhere()
            && let Some(build) = build_after(created)
        {
            report.push(builder_remote(builder, build, &config.docker_config.dir));
        }
    }
    stored_builders::remote(report, config, found, store);
}

/// The builder a buildx build runs on.
#[derive(Debug, Clone, Copy)]
enum Chosen<'a> {
    /// The daemon's own `default` builder (`docker` driver).
    Daemon,
    Builder(&'a discover::BuilderStep),
    /// A builder no step of the job creates, read from buildx's store on this runner.
    Stored(&'a StoredBuilder, &'a BuildxStore),
    /// A builder acr-preflight cannot tell (a name it cannot resolve or find).
    NotKnown,
}

impl Chosen<'_> {
    fn is(&self, builder: &discover::BuilderStep) -> bool {
        matches!(self, Chosen::Builder(b) if std::ptr::eq(*b, builder))
    }

    /// The driver, lower case, when it is known.
    fn driver(&self) -> Option<&str> {
        match self {
            Chosen::Daemon => Some("docker"),
            Chosen::Builder(b) => b.driver.as_deref(),
            Chosen::Stored(b, _) => b.driver(),
            Chosen::NotKnown => None,
        }
    }

    /// BuildKit runs with its own image store (any driver but `docker`).
    fn own_store(&self) -> bool {
        self.driver().is_some_and(|d| d != "docker")
    }

    /// BuildKit runs in the daemon and reads its image store.
    fn in_daemon(&self) -> bool {
        self.driver() == Some("docker")
    }

    /// Where the builder comes from, for messages: ``the builder of step `X` (line N)``,
    /// ``the builder `ci` that buildx's store on this runner holds (/path)``.
    fn origin(&self) -> String {
        match self {
            Chosen::Daemon => "the daemon's own `default` builder".to_string(),
            Chosen::Builder(b) => format!(
                "the builder of step `{}` (line {})",
                b.step.label,
                b.location.line.unwrap_or(b.step.line)
            ),
            Chosen::Stored(b, _) => stored_builders::origin(b),
            Chosen::NotKnown => "a builder acr-preflight cannot tell".to_string(),
        }
    }
}

/// The builder `build` runs on: the one it names (`builder:`, `--builder`,
/// `BUILDX_BUILDER`), else the one in use at its place.
fn chosen<'a>(
    found: &'a discover::Found,
    store: &'a Store,
    build: &discover::BuildCommand,
) -> Chosen<'a> {
    let at = order(&build.step, &build.location);
    match build.builder.as_ref().map(|b| &b.name) {
        None => in_use_at(found, store, at),
        // An output that is empty at the build (no such step before it): the action
        // passes no `--builder`, and buildx uses the builder in use.
        Some(BuilderName::StepOutput(id)) => match builder_by_step(found, id, at) {
            Some(b) => Chosen::Builder(b),
            None => in_use_at(found, store, at),
        },
        Some(name) => by_name(found, store, name, at),
    }
}

/// The builder step whose `id` is `id`, before `at`.
fn builder_by_step<'a>(
    found: &'a discover::Found,
    id: &str,
    at: (usize, u32),
) -> Option<&'a discover::BuilderStep> {
    found
        .builders
        .iter()
        .rfind(|b| b.step_id.as_deref() == Some(id) && b.step.index < at.0)
}

/// The builder a name selects at `at`: `default` is the daemon's; a literal name the last
/// builder created with it before `at`, else the store's builder of that name.
fn by_name<'a>(
    found: &'a discover::Found,
    store: &'a Store,
    name: &BuilderName,
    at: (usize, u32),
) -> Chosen<'a> {
    match name {
        BuilderName::Literal(n) if n == DEFAULT_BUILDER => Chosen::Daemon,
        BuilderName::Literal(n) => found
            .builders
            .iter()
            .rfind(|b| b.named(n) && order(&b.step, &b.location) < at)
            .map_or_else(|| stored(store, n), Chosen::Builder),
        BuilderName::StepOutput(id) => {
            builder_by_step(found, id, at).map_or(Chosen::NotKnown, Chosen::Builder)
        }
        BuilderName::Unknown => Chosen::NotKnown,
    }
}

/// The store's builder `name`, when the store was read and has it.
fn stored<'a>(store: &'a Store, name: &str) -> Chosen<'a> {
    store
        .read()
        .and_then(|s| s.get(name).map(|b| Chosen::Stored(b, s)))
        .unwrap_or(Chosen::NotKnown)
}

/// The builder in use at `at`: the last builder step before it that becomes current, or
/// the last `docker buildx use` (when neither, the one buildx's store has in use, the
/// daemon's own `docker` builder when it has none).
fn in_use_at<'a>(found: &'a discover::Found, store: &'a Store, at: (usize, u32)) -> Chosen<'a> {
    let made = found
        .builders
        .iter()
        .filter(|b| b.in_use)
        .map(|b| (order(&b.step, &b.location), b))
        .rfind(|(when, _)| *when < at);
    let switched = found
        .switches
        .iter()
        .map(|s| (order(&s.step, &s.named.location), s))
        .rfind(|(when, _)| *when < at);
    match (made, switched) {
        (Some((made_at, b)), Some((switched_at, _))) if made_at > switched_at => Chosen::Builder(b),
        (_, Some((when, s))) => by_name(found, store, &s.named.name, when),
        (Some((_, b)), None) => Chosen::Builder(b),
        (None, None) => match store.read().map(|s| (&s.in_use, s)) {
            Some((InUse::Builder(name), _)) => stored(store, name),
            Some((InUse::NotKnown(_), _)) => Chosen::NotKnown,
            Some((InUse::Default, _)) | None => Chosen::Daemon,
        },
    }
}

/// The name of the daemon's own builder (the `docker` driver on the default context).
const DEFAULT_BUILDER: &str = "default";

/// An image name without a registry host, as `name:tag` (`:latest` added), lower-case;
/// `None` for a name with a host or a digest.
fn local_name(image: &str) -> Option<String> {
    let image = image.trim().to_ascii_lowercase();
    if image.contains('@') || image.is_empty() {
        return None;
    }
    if let Some((first, _)) = image.split_once('/')
        && crate::reference::names_a_host(first)
    {
        return None;
    }
    let last = image.rsplit('/').next().unwrap_or(&image);
    Some(if last.contains(':') {
        image
    } else {
        format!("{image}:latest")
    })
}

/// WORKFLOW_LOCAL_IMAGE_INVISIBLE: a build on a builder with its own image store whose
/// Dockerfile starts `FROM` (or copies `COPY --from=`) an image an earlier step of the
/// job put into the daemon: a build that loads it, or a `docker tag`.
fn local_images(
    report: &mut CheckReport,
    files: &dyn WorkflowFiles,
    found: &discover::Found,
    store: &Store,
) {
    let mut reported: Vec<(usize, String)> = Vec::new();
    for build in found.builds.iter().filter(|b| buildx_build(b)) {
        let at = order(&build.step, &build.location);
        let used = chosen(found, store, build);
        if !used.own_store() {
            continue;
        }
        let Some(path) = build.inputs.dockerfile.as_deref() else {
            continue;
        };
        let Ok(text) = files.read(path) else {
            continue;
        };
        let from = crate::dockerfile::base_images(&text, &build.inputs.build_args);
        let copies = crate::dockerfile::copy_from_images(&text);
        let bases = from
            .into_iter()
            .map(|b| ("FROM ", b))
            .chain(copies.into_iter().map(|b| ("COPY --from=", b)));
        for (instruction, base) in bases {
            if base.unresolved {
                continue;
            }
            let Some(name) = local_name(&base.image) else {
                continue;
            };
            if reported.contains(&(build.step.index, name.clone()))
                || named_context_replaces(found, build, &base.image)
            {
                continue;
            }
            if let Some(put) = put_in_daemon(found, store, at, &name) {
                reported.push((build.step.index, name.clone()));
                let image = UsedImage {
                    base: &base,
                    instruction,
                    dockerfile: path,
                };
                report.push(local_image_invisible(build, &used, &put, &image));
            }
        }
    }
}

/// How an earlier step put an image into the docker daemon's image store.
pub(super) struct PutInDaemon<'a> {
    pub step: &'a StepRef,
    /// `docker/build-push-action`, `docker build`, `docker tag`, …
    pub what: &'a str,
    pub line: u32,
    /// `builds` or `tags`.
    pub verb: &'static str,
}

/// The image of a Dockerfile that a build reads from the daemon's store.
pub(super) struct UsedImage<'a> {
    pub base: &'a crate::dockerfile::BaseImage,
    /// `FROM ` or `COPY --from=`, put before the image.
    pub instruction: &'static str,
    pub dockerfile: &'a str,
}

/// The step before `at` that put the local image `name` (as [`local_name`] gives it)
/// into the daemon: a build that loads its result there (`load: true`, `--load`, an
/// output `type=docker`, `docker build`, a buildx build on the `docker` builder) and
/// tags it so, else a `docker tag` whose target is the name (`docker pull X` then
/// `docker tag X name`). `docker load` is not followed: the names a tarball holds are
/// not in the workflow.
fn put_in_daemon<'a>(
    found: &'a discover::Found,
    store: &Store,
    at: (usize, u32),
    name: &str,
) -> Option<PutInDaemon<'a>> {
    let built = found.builds.iter().find(|b| {
        let when = order(&b.step, &b.location);
        let loads = b.load
            || b.what == "docker build"
            || (buildx_build(b) && chosen(found, store, b).in_daemon());
        when < at
            && loads
            && b.tags
                .iter()
                .any(|t| local_name(t).as_deref() == Some(name))
    });
    if let Some(b) = built {
        return Some(PutInDaemon {
            step: &b.step,
            what: &b.what,
            line: b.location.line.unwrap_or(b.step.line),
            verb: "builds",
        });
    }
    found
        .references
        .iter()
        .filter(|r| r.origin == discover::Origin::DockerTag)
        .filter(|r| order(&r.step, &r.location) < at)
        .find(|r| r.reference.as_deref().and_then(local_name).as_deref() == Some(name))
        .map(|r| PutInDaemon {
            step: &r.step,
            what: "docker tag",
            line: r.location.line.unwrap_or(r.step.line),
            verb: "tags",
        })
}

/// A named context of the build whose name is the `FROM` image and whose source names a
/// registry (or a local layout): BuildKit then takes the image from there.
fn named_context_replaces(
    found: &discover::Found,
    build: &discover::BuildCommand,
    image: &str,
) -> bool {
    found.references.iter().any(|r| {
        let target = r
            .reference
            .as_deref()
            .map(|t| t.strip_prefix("docker-image://").unwrap_or(t));
        r.step.index == build.step.index
            && r.context_name.as_deref() == Some(image)
            && (!r.is_registry() || target.is_some_and(|t| local_name(t).is_none()))
    })
}

/// The username of an ACR access token (`az acr login --expose-token`).
const TOKEN_USERNAME: &str = "00000000-0000-0000-0000-000000000000";

/// WORKFLOW_LOGIN_DIFFERS: the job signs in to Azure with OIDC (acr-preflight itself,
/// an `azure/login` step or a script's `az login --federated-token`), while the build logs in to the same registry with a static
/// username and password; and every `azure/docker-login`, which is retired.
fn static_logins(report: &mut CheckReport, config: &Config, found: &discover::Found) {
    let oidc = if config.effective_auth_mode() == AuthMode::Oidc {
        Some(OidcSource::Preflight)
    } else {
        found.first_oidc_sign_in().map(|s| OidcSource::Step {
            label: s.step.label.clone(),
            line: s.location.line.unwrap_or(s.step.line),
            what: s.what.clone(),
        })
    };
    let registry = config.registry.as_ref();
    for login in &found.logins {
        let to_registry = login
            .registry
            .as_deref()
            .zip(registry)
            .is_some_and(|(r, reg)| crate::reference::same_registry(r, &reg.host));
        let static_user = login
            .username
            .as_deref()
            .is_some_and(|u| u != TOKEN_USERNAME);
        let retired = login.what == "azure/docker-login";
        match (&oidc, registry) {
            (Some(source), Some(registry)) if to_registry && (static_user || retired) => {
                report.push(login_differs(config, registry, login, source))
            }
            _ if retired => report.push(docker_login_retired(login)),
            _ => {}
        }
    }
}

fn step_after(found: &discover::Found, step: &StepRef) -> bool {
    found
        .builds
        .iter()
        .find(|b| b.step.index == step.index)
        .is_none_or(|b| b.after_preflight)
}

fn verified_references(report: &mut CheckReport, discovery: &Discovery) {
    for r in &discovery.references {
        let place = match (r.location.line, r.location.column) {
            (Some(l), Some(c)) => format!("{}:{l}:{c}", r.location.file),
            (Some(l), None) => format!("{}:{l}", r.location.file),
            _ => r.location.file.clone(),
        };
        let what = match (&r.reference, r.empty.first()) {
            (Some(reference), _) => format!("`{reference}`"),
            (None, Some((e, _))) => format!("`{}` (`{}` is empty)", r.written, e.name),
            (None, None) => format!("`{}` (unresolved)", r.written),
        };
        let mut notes = Vec::new();
        if !r.after_preflight {
            notes.push("before the preflight");
        }
        if !r.is_registry() {
            notes.push("a local OCI layout, not a registry");
        }
        if !discovery.applies {
            notes.push("not checked: --context/--push given");
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!("; {}", notes.join("; "))
        };
        report.verified(format!(
            "{} {what} ← {place} (step `{}`, {}{notes})",
            r.role.as_str(),
            r.step.label,
            r.origin.describe()
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_subject_is_checked_against_the_presented_one() {
        let finding = || {
            Finding::new(
                CheckId::Workflow,
                Code::WORKFLOW_ENVIRONMENT_SUBJECT,
                Severity::Notice,
                "t",
                "m.",
                "f",
            )
        };
        let implied = Some("repo:o/r:environment:prod");
        let mut same = CheckReport::default();
        same.push(finding());
        confirm_environment_subject(&mut same, implied, Some("repo:o/r:environment:prod"));
        assert_eq!(same.findings[0].severity, Severity::Notice);
        assert!(same.findings[0].message.contains("confirms"));
        let mut other = CheckReport::default();
        other.push(finding());
        confirm_environment_subject(&mut other, implied, Some("repo:o@1/r@2:environment:prod"));
        assert_eq!(other.findings[0].severity, Severity::Warning);
        assert!(
            other.findings[0]
                .message
                .contains("`repo:o@1/r@2:environment:prod`")
        );
        let mut none = CheckReport::default();
        none.push(finding());
        confirm_environment_subject(&mut none, implied, None);
        assert_eq!(none.findings[0].message, "m.");
    }
}
