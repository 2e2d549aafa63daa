//! The top level: read the options, run the checks under one deadline, render.

mod pipeline;

use crate::checks::{self, Ctx};
use crate::cli::{self, Invocation};
use crate::config::{Config, FailOn, Format};
use crate::findings::{CheckId, CheckReport, Code, Finding, Report, Severity, Verdict};
use crate::output;
use crate::secrets::Secrets;
use pipeline::*;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};

pub use pipeline::{Checked, run_checks};

/// Runs the process with these arguments and this environment; returns the exit status.
pub fn main_with(args: Vec<OsString>, env: &cli::Env) -> i32 {
    match cli::parse(args, env) {
        Ok(Invocation::Print(text)) => {
            print!("{text}");
            0
        }
        Ok(Invocation::Explain(code)) => explain(code.as_deref()),
        Ok(Invocation::Check(config)) => check(*config, env),
        Err(usage) => {
            let github = env.get("GITHUB_ACTIONS").map(String::as_str) == Some("true");
            let (out, err) = usage_streams(&usage.0, github);
            print!("{out}");
            eprint!("{err}");
            2
        }
    }
}

/// What a usage error prints on stdout and stderr. Under Actions the runner reads
/// commands from both streams, so the message (which can quote an input's value) is
/// one escaped annotation on stdout and safe lines on stderr.
pub fn usage_streams(usage: &str, github_actions: bool) -> (String, String) {
    if github_actions {
        let annotation = crate::output::runner::command(
            "error",
            &[("title", "acr-preflight: invalid invocation".into())],
            usage,
        );
        (
            format!("{annotation}\n"),
            format!("{}\n", crate::output::runner::safe_text(usage)),
        )
    } else {
        (String::new(), format!("{usage}\n"))
    }
}

fn explain(code: Option<&str>) -> i32 {
    match code {
        None => {
            print!("{}", crate::findings::explain::index());
            0
        }
        Some(name) => match crate::findings::explain::section(name) {
            Some(text) => {
                print!("{text}");
                0
            }
            None => {
                // The name is echoed: keep it one safe line wherever it came from.
                eprintln!(
                    "error: unknown finding code `{}`; `acr-preflight explain` lists them all",
                    crate::output::runner::safe_text(name).replace('\n', " ")
                );
                2
            }
        },
    }
}

fn check(config: Config, env: &cli::Env) -> i32 {
    // The workflow comes first: without --context/--push it supplies them.
    let mut config = config;
    let workspace = crate::workflow::Workspace {
        dir: config
            .env
            .github_workspace
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from(".")),
    };
    let secrets = match (config.format, config.env.github_actions) {
        (Format::Github, _) => Secrets::for_github_actions(crate::secrets::MaskStream::Stdout),
        (_, true) => Secrets::for_github_actions(crate::secrets::MaskStream::Stderr),
        (_, false) => Secrets::default(),
    };
    // The docker config is read once, for every check (its secrets masked as it is read).
    let docker_config = std::sync::Arc::new(crate::docker::config::load(
        &config.docker_config.dir,
        &secrets,
    ));
    let workflow = config.env.workflow_ref.is_some().then(|| {
        let (report, discovery) =
            checks::workflow::check_with(&config, &docker_config, &workspace, env);
        if discovery.applies {
            config.contexts = discovery.context_refs();
            config.pushes = discovery.push_refs();
            config.caches = discovery.cache_refs();
        }
        config.build = build_tools(&discovery);
        (report, discovery)
    });
    cli_subscription(&mut config);
    // Mask what we were given before anything else can print.
    if let Some(secret) = &config.azure.client_secret {
        secrets.register(secret);
    }
    crate::feedback::register_secrets(&config, &secrets);
    if let Some((_, discovery)) = &workflow {
        for secret in &discovery.literal_secrets {
            secrets.register(secret);
        }
        // Tokens the builds read their git contexts with (P42).
        for context in discovery.remote_contexts() {
            if let Some(crate::workflow::ContextToken::Known(token)) = &context.token {
                secrets.register(token);
            }
            if let Some(auth) = crate::git::Basic::from_url(&context.url) {
                secrets.register(&auth.password);
            }
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return 2;
        }
    };
    let mut ctx = Ctx::with_docker_config(config, secrets.clone(), docker_config);
    ctx.proxy_vars = proxy_vars(env, &secrets);
    if let Some((_, discovery)) = &workflow {
        ctx.later_logins = discovery.later_logins();
        ctx.earlier_logins = discovery.earlier_logins();
        ctx.platform_requests = discovery.platform_requests();
        ctx.base_images = discovery.base_images(&workspace);
        // A base image is pulled for the build's platforms like a named context.
        ctx.platform_requests
            .extend(ctx.base_images.platform_requests.iter().cloned());
        ctx.docker_hub_login = discovery.docker_hub_login();
        ctx.remote_contexts = discovery.remote_contexts();
        ctx.logins = discovery.logins.clone();
        ctx.azure_logins = discovery.azure_logins.clone();
        ctx.acr_build_logins = discovery.acr_build_logins.clone();
        ctx.arm_az_calls = discovery.arm_az_calls.clone();
        ctx.acr_az_calls = discovery.acr_az_calls.clone();
        ctx.job = discovery.job_facts();
    }
    // One HTTP client for the whole run: one pool, one TLS stack, --resolve and --ca-file.
    let http = crate::http::build_client(&ctx.config).map_err(|e| {
        let mut text = e.to_string();
        // A CA file under an unmounted runner path is the usual cause in a container.
        if let (Some(container), Some(ca)) = (&ctx.config.env.container, &ctx.config.ca_file)
            && let Some(why) = container.unmounted(ca)
        {
            text.push_str(". ");
            text.push_str(&container.explain_unmounted("The CA file (input `ca-file`)", ca, &why));
        }
        text
    });
    let checked = runtime.block_on(run_checks(&ctx, &http));
    let mut report = checked.report.redacted(&secrets);
    let bases_checked = report
        .contexts
        .iter()
        .any(|c| c.role == crate::findings::Role::Base);
    if ctx.config.contexts.is_empty() && ctx.config.pushes.is_empty() && !bases_checked {
        report
            .checks
            .push((CheckId::Run, nothing_to_check(&ctx.config)));
    }
    if let Some((mut workflow_report, discovery)) = workflow {
        if let Some((_, registry)) = report
            .checks
            .iter_mut()
            .find(|(id, _)| *id == CheckId::Registry)
        {
            let before = registry.findings.len();
            checks::registry::missing_platforms(registry, &report.contexts, &ctx.platform_requests);
            for f in registry.findings.iter_mut().skip(before) {
                checks::reference::point_at_from(f, &ctx.base_images, &report.contexts);
            }
        }
        point_at_workflow(&mut report, &discovery);
        checks::workflow::explain_invalid_references(&mut report.checks, &discovery);
        let presented = report
            .identity
            .as_ref()
            .and_then(|i| i.presented.as_ref())
            .map(|p| p.sub.as_str());
        checks::workflow::confirm_environment_subject(
            &mut workflow_report,
            discovery.environment_subject.as_deref(),
            presented,
        );
        checks::workflow::arm_audience_tokens(
            &mut workflow_report,
            &discovery,
            &checked.registries,
        );
        checks::workflow::az_subscriptions(
            &mut workflow_report,
            &ctx.config,
            &discovery,
            &checked.registries,
        );
        report
            .checks
            .insert(0, (CheckId::Workflow, workflow_report));
    }
    if crate::feedback::requested(&ctx.config)
        && let Ok(http) = &http
    {
        // The comment and check run describe the checks; their own problems join the
        // report afterwards (summary, annotations, JSON).
        let feedback = runtime.block_on(crate::feedback::publish(&ctx, http, &report));
        report.http_requests += feedback.http_requests;
        report
            .checks
            .push((crate::feedback::CHECK, feedback.report));
        report = report.redacted(&secrets);
    }
    // Helper processes still running after the deadline are killed on drop.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    render(&report, &ctx.config);
    exit_status(report.verdict(), ctx.config.fail_on)
}

/// The proxy variables set in acr-preflight's environment, each once (upper case
/// first); their values are registered as secrets, since a proxy URL can hold a password.
fn proxy_vars(env: &cli::Env, secrets: &Secrets) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in crate::workflow::discover::PROXY_VARIABLES {
        for name in [v.to_ascii_uppercase(), v.to_string()] {
            let Some(value) = env.get(&name).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            secrets.register(value);
            if !out.iter().any(|n| n.eq_ignore_ascii_case(&name)) {
                out.push(name);
            }
        }
    }
    out
}

fn exit_status(verdict: Verdict, fail_on: FailOn) -> i32 {
    let fails = match fail_on {
        FailOn::Error => verdict == Verdict::Fail,
        FailOn::Warning => verdict != Verdict::Pass,
        FailOn::Never => false,
    };
    i32::from(fails)
}

fn fail_on_label(f: FailOn) -> &'static str {
    match f {
        FailOn::Error => "error",
        FailOn::Warning => "warning",
        FailOn::Never => "never",
    }
}

/// Inside a container action the JSON report goes here, relative to the workspace, the
/// one directory a later `run:` step sees at the same relative path.
pub const REPORT_DIR: &str = ".acr-preflight";

/// What the report prints on stdout in `config.format`. Under Actions (`GITHUB_ACTIONS`
/// is `true`) every format is safe for the runner's command parser, not only `github`:
/// `text` goes line by line through [`crate::output::runner::safe_text`] and `json` through
/// [`crate::output::runner::safe_json`] (the same JSON value, `##[` written `##\u005b`).
pub fn render_stdout(report: &Report, config: &Config, color: bool) -> String {
    let label = fail_on_label(config.fail_on);
    let actions = config.env.github_actions;
    match config.format {
        Format::Text => {
            let text = output::text::render(report, output::text::Style { color }, label);
            if actions {
                let mut safe = crate::output::runner::safe_text(text.trim_end_matches('\n'));
                safe.push('\n');
                safe
            } else {
                text
            }
        }
        Format::Json => {
            let text = output::json::to_string_pretty(report);
            let text = if actions {
                crate::output::runner::safe_json(&text)
            } else {
                text
            };
            format!("{text}\n")
        }
        Format::Github => {
            let text = output::text::render(report, output::text::Style { color: false }, label);
            let mut out = String::new();
            for line in output::github::stdout_lines(report, &text) {
                out.push_str(&line);
                out.push('\n');
            }
            out
        }
    }
}

fn render(report: &Report, config: &Config) {
    let mut stdout = std::io::stdout().lock();
    let color =
        config.format == Format::Text && std::io::stdout().is_terminal() && !config.env.no_color;
    let _ = stdout.write_all(render_stdout(report, config, color).as_bytes());
    let _ = stdout.flush();
    match config.format {
        Format::Text | Format::Json => {}
        Format::Github => {
            let json = output::json::model(report);
            let place = match (&config.env.container, &config.env.github_workspace) {
                (Some(_), Some(workspace)) => output::github::ReportPlace::InWorkspace {
                    workspace: workspace.clone(),
                    dir: workspace.join(REPORT_DIR),
                },
                _ => output::github::ReportPlace::BesideSummary,
            };
            for problem in output::github::write_files_linked(
                report,
                &json,
                config.env.github_step_summary.as_deref(),
                config.env.github_output.as_deref(),
                &place,
                &output::summary::Links::from_env(&config.env),
            ) {
                // Paths and OS errors from outside: safe lines for the runner.
                eprintln!(
                    "{}",
                    crate::output::runner::safe_text(&format!("acr-preflight: {problem}"))
                );
            }
        }
    }
    let _ = stdout.flush();
}

impl Report {
    /// The report with every registered secret replaced by `***`: the last line of
    /// defence before anything is rendered.
    pub fn redacted(mut self, secrets: &Secrets) -> Report {
        if secrets.is_empty() {
            return self;
        }
        for (_, check) in &mut self.checks {
            for f in &mut check.findings {
                f.title = secrets.redact(&f.title);
                f.message = secrets.redact(&f.message);
                f.fix = secrets.redact(&f.fix);
                for c in &mut f.commands {
                    *c = secrets.redact(c);
                }
            }
            for v in &mut check.verified {
                *v = secrets.redact(v);
            }
        }
        for c in &mut self.contexts {
            c.reference = secrets.redact(&c.reference);
        }
        self
    }
}

/// `auth-mode: azure-cli` without `subscription-id`: the Azure CLI session's active
/// subscription (its profile's `isDefault` entry) is the one its `az acr` commands look
/// registries up in, so the ARM reads use it too (P15).
fn cli_subscription(config: &mut Config) {
    if config.auth_mode != crate::config::AuthMode::AzureCli
        || config.azure.subscription_id.is_some()
        || config.env.container.is_some()
    {
        return;
    }
    let Some(dir) = crate::azure::cli_profile::config_dir(
        config.env.azure_config_dir.as_deref(),
        config.env.home.as_deref(),
    ) else {
        return;
    };
    if let Some(active) = crate::azure::cli_profile::active_subscription(&dir) {
        config.azure.subscription_id = Some(active.id);
        config.azure.subscription_from_cli = Some(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_decides_the_exit_status() {
        assert_eq!(exit_status(Verdict::Fail, FailOn::Error), 1);
        assert_eq!(exit_status(Verdict::Warn, FailOn::Error), 0);
        assert_eq!(exit_status(Verdict::Warn, FailOn::Warning), 1);
        assert_eq!(exit_status(Verdict::Pass, FailOn::Warning), 0);
        assert_eq!(exit_status(Verdict::Fail, FailOn::Never), 0);
    }
}
