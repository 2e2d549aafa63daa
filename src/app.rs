//! The top level: read the options, run the checks under one deadline, render.

use crate::checks::{self, Ctx};
use crate::cli::{self, Invocation};
use crate::config::{Config, FailOn, Format};
use crate::findings::{CheckId, CheckReport, Code, Finding, Report, Severity, Verdict};
use crate::output;
use crate::secrets::Secrets;
use std::ffi::OsString;
use std::io::{IsTerminal, Write};

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
        let annotation = crate::gha::command(
            "error",
            &[("title", "acr-preflight: invalid invocation".into())],
            usage,
        );
        (
            format!("{annotation}\n"),
            format!("{}\n", crate::gha::safe_text(usage)),
        )
    } else {
        (String::new(), format!("{usage}\n"))
    }
}

fn explain(code: Option<&str>) -> i32 {
    match code {
        None => {
            print!("{}", crate::explain::index());
            0
        }
        Some(name) => match crate::explain::section(name) {
            Some(text) => {
                print!("{text}");
                0
            }
            None => {
                // The name is echoed: keep it one safe line wherever it came from.
                eprintln!(
                    "error: unknown finding code `{}`; `acr-preflight explain` lists them all",
                    crate::gha::safe_text(name).replace('\n', " ")
                );
                2
            }
        },
    }
}

fn check(config: Config, env: &cli::Env) -> i32 {
    // The workflow comes first: without --context/--push it supplies them.
    let mut config = config;
    let workflow = config.env.workflow_ref.is_some().then(|| {
        let dir = config
            .env
            .github_workspace
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from("."));
        let (report, discovery) =
            checks::workflow::check(&config, &crate::workflow::Workspace { dir }, env);
        if discovery.applies {
            config.contexts = discovery.context_refs();
            config.pushes = discovery.push_refs();
        }
        config.build = build_tools(&discovery);
        (report, discovery)
    });
    let secrets = match (config.format, config.env.github_actions) {
        (Format::Github, _) => Secrets::for_github_actions(crate::secrets::MaskStream::Stdout),
        (_, true) => Secrets::for_github_actions(crate::secrets::MaskStream::Stderr),
        (_, false) => Secrets::default(),
    };
    // Mask what we were given before anything else can print.
    if let Some(secret) = &config.azure.client_secret {
        secrets.register(secret);
    }
    crate::feedback::register_secrets(&config, &secrets);
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
    let mut ctx = Ctx::new(config, secrets.clone());
    if let Some((_, discovery)) = &workflow {
        ctx.later_logins = discovery.later_logins();
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
    let mut report = runtime.block_on(run_checks(&ctx, &http)).redacted(&secrets);
    if ctx.config.contexts.is_empty() && ctx.config.pushes.is_empty() {
        report
            .checks
            .push((CheckId::Run, nothing_to_check(&ctx.config)));
    }
    if let Some((mut workflow_report, discovery)) = workflow {
        point_at_workflow(&mut report, &discovery);
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

/// Runs every check; a check still running at the deadline is reported, not awaited.
pub async fn run_checks(ctx: &Ctx, http: &Result<reqwest::Client, String>) -> Report {
    let deadline = tokio::time::Instant::from_std(ctx.deadline);
    // A registry given by name takes its login server from ARM, for every check below.
    let (resolved, early_sign_in) =
        tokio::time::timeout_at(deadline, checks::identity::resolve_login_server(ctx, http))
            .await
            .unwrap_or((None, None));
    let ctx = resolved.as_ref().unwrap_or(ctx);
    let (reference, contexts) = checks::reference::run(ctx).await;

    let mut hosts: Vec<String> = Vec::new();
    let candidates = ctx
        .config
        .registry
        .iter()
        .map(|r| r.host.clone())
        .chain(contexts.iter().filter_map(|c| c.registry.clone()));
    for host in candidates {
        if !hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
            hosts.push(host);
        }
    }
    let (credentials, identity) = tokio::join!(
        tokio::time::timeout_at(deadline, checks::credentials::run(ctx, &hosts)),
        async {
            match http {
                Ok(client) => tokio::time::timeout_at(
                    deadline,
                    checks::identity::run_with(ctx, client, &contexts, early_sign_in),
                )
                .await
                .ok(),
                Err(_) => Some(checks::identity::Outcome::default()),
            }
        }
    );
    let (credentials, mut host_credentials) = match credentials {
        Ok(done) => done,
        Err(_) => (timed_out(ctx, CheckId::CredentialHelpers), Vec::new()),
    };
    checks::workflow::credentials_after_login(ctx, &mut host_credentials);
    let identity = identity.unwrap_or_else(|| checks::identity::Outcome {
        report: timed_out(ctx, CheckId::Identity),
        ..Default::default()
    });
    // A build that uses the Azure identity (`az acr login`, ACR Tasks) presents the
    // exchanged token, not what the docker config holds for that host.
    for azure in &identity.credentials {
        host_credentials.retain(|c| !c.host.eq_ignore_ascii_case(&azure.host));
        host_credentials.push(azure.clone());
    }
    // When the sign-in itself failed, the registry's refusals are its consequence: say so.
    if let Some(code) = identity.sign_in_failure {
        for c in host_credentials.iter_mut() {
            if crate::cloud::is_acr(&c.host) {
                c.credential = None;
                c.problem = Some(code);
                c.source = checks::credentials::CredentialSource::Entra {
                    identity: "the Azure sign-in, which failed".into(),
                };
            }
        }
    }
    let hints = checks::registry::RoleHints {
        client_id: identity.identity.as_ref().and_then(|i| i.client_id.clone()),
        registries: identity.registries.clone(),
    };

    let mut contexts = contexts;
    let (registry, registry_requests) = match tokio::time::timeout_at(
        deadline,
        checks::registry::run(ctx, http, &contexts, &host_credentials, &hints),
    )
    .await
    {
        Ok(outcome) => {
            for (index, digest, media_type, platforms) in outcome.resolved {
                if let Some(c) = contexts.get_mut(index) {
                    c.digest = Some(digest);
                    c.media_type = media_type;
                    c.platforms = platforms;
                }
            }
            (outcome.report, outcome.requests)
        }
        Err(_) => (timed_out(ctx, CheckId::Registry), 0),
    };

    let mut credentials = credentials;
    checks::credentials::settle_unverifiable_helpers(
        &mut credentials,
        &host_credentials,
        &contexts,
    );
    checks::credentials::settle_missing_config(
        &mut credentials,
        &contexts,
        &host_credentials,
        &identity.registries,
    );
    // A tag the registry check resolved gets its real digest in REF_MUTABLE_TAG's fix.
    let mut reference = reference;
    checks::reference::complete_pins(&mut reference, &contexts);
    let mut checks = vec![
        (CheckId::Reference, reference),
        (CheckId::CredentialHelpers, credentials),
    ];
    if crate::azure::entra::method_for(&ctx.config).is_some() {
        checks.push((CheckId::Identity, identity.report));
    }
    checks.push((CheckId::Registry, registry));
    Report {
        checks,
        contexts,
        http_requests: registry_requests + identity.requests,
        identity: identity.identity,
    }
}

/// The build commands the workflow runs after acr-preflight's step, split into those
/// that queue ACR Tasks runs and those that read the docker config.
fn build_tools(discovery: &crate::workflow::Discovery) -> crate::config::BuildTools {
    let mut tools = crate::config::BuildTools::default();
    for b in discovery.builds.iter().filter(|b| b.after_preflight) {
        let at = match b.location.line {
            Some(line) => format!("`{}` ({}:{line})", b.what, b.location.file),
            None => format!("`{}` ({})", b.what, b.location.file),
        };
        if matches!(
            b.what.as_str(),
            "az acr build" | "az acr run" | "azure/acr-build"
        ) {
            tools.acr_tasks.push(at);
        } else {
            tools.docker.push(at);
        }
    }
    tools
}

/// A run with no reference proves nothing about the build: say so rather than pass.
fn nothing_to_check(config: &Config) -> CheckReport {
    let mut report = CheckReport {
        inconclusive: true,
        ..CheckReport::default()
    };
    let discovered = if config.env.workflow_ref.is_some() {
        " and none was found in the steps after this one (docker/build-push-action, docker buildx build, docker build/push, az acr build/run)"
    } else {
        ""
    };
    report.push(Finding::new(
        CheckId::Run,
        Code::RUN_NOTHING_TO_CHECK,
        Severity::Warning,
        "no context or push reference to check",
        format!("No --context or --push was given{discovered}, so only the registry's configuration could be looked at; no pull or push right was proven."),
        "Name what the build pulls and pushes: inputs `context` (one per line) and `push`, or the flags --context and --push.",
    ));
    report
}

/// Points findings about a reference at the workflow line that set it: the discovered
/// value, or the preflight step whose inputs named it.
fn point_at_workflow(report: &mut Report, discovery: &crate::workflow::Discovery) {
    let step_line = |file: &String, step: &crate::workflow::StepRef| crate::findings::Location {
        file: file.clone(),
        line: Some(step.line),
        column: None,
    };
    // Each reference's origin, for the summary's references table.
    for c in &mut report.contexts {
        c.location = discovery.location_of(&c.reference).cloned().or_else(|| {
            discovery
                .workflow
                .as_ref()
                .zip(discovery.step.as_ref())
                .map(|(file, step)| step_line(file, step))
        });
    }
    for (_, check) in &mut report.checks {
        for f in &mut check.findings {
            if f.location.is_some() {
                continue;
            }
            let Some(reference) = &f.reference else {
                continue;
            };
            if let Some(loc) = discovery.location_of(reference) {
                f.location = Some(loc.clone());
            } else if let (Some(file), Some(step)) = (&discovery.workflow, &discovery.step) {
                f.location = Some(step_line(file, step));
            }
        }
    }
}

fn timed_out(ctx: &Ctx, check: CheckId) -> CheckReport {
    let secs = ctx.config.timeout.as_secs();
    let mut report = CheckReport {
        inconclusive: true,
        ..CheckReport::default()
    };
    report.push(Finding::new(
        CheckId::Run,
        Code::RUN_TIMEOUT,
        Severity::Error,
        format!("the {} check did not finish within --timeout {secs}s", check.label().to_lowercase()),
        format!(
            "The run stopped waiting for the {} check after {secs} seconds (the --timeout deadline); its work was cancelled and any helper process it started was killed.",
            check.label().to_lowercase()
        ),
        format!("Look for a credential helper or server that does not answer; if the set-up is just slow, raise the deadline: `--timeout {}` (input `timeout`).", secs * 2),
    ));
    report
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
/// `text` goes line by line through [`crate::gha::safe_text`] and `json` through
/// [`crate::gha::safe_json`] (the same JSON value, `##[` written `##\u005b`).
pub fn render_stdout(report: &Report, config: &Config, color: bool) -> String {
    let label = fail_on_label(config.fail_on);
    let actions = config.env.github_actions;
    match config.format {
        Format::Text => {
            let text = output::text::render(report, output::text::Style { color }, label);
            if actions {
                let mut safe = crate::gha::safe_text(text.trim_end_matches('\n'));
                safe.push('\n');
                safe
            } else {
                text
            }
        }
        Format::Json => {
            let text = output::json::to_string_pretty(report);
            let text = if actions {
                crate::gha::safe_json(&text)
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
                    crate::gha::safe_text(&format!("acr-preflight: {problem}"))
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
