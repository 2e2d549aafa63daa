//! The checks in order under one deadline: the login server (from ARM, for a registry
//! given by name), references, then docker credentials and the Azure identity at the same
//! time, then the registry with what they found, then the settlements that need all of it.
//! Each stage hands the next a typed result; no stage reads another's text.

use super::*;

/// What the checks found, and the ARM facts per registry host the identity check read
/// (for the workflow's settlements, such as WORKFLOW_ARM_AUDIENCE_TOKEN).
pub struct Checked {
    pub report: Report,
    pub registries: std::collections::BTreeMap<String, crate::azure::arm::RegistryFacts>,
}

/// Runs every check; a check still running at the deadline is reported, not awaited.
pub async fn run_checks(ctx: &Ctx, http: &Result<reqwest::Client, String>) -> Checked {
    let deadline = tokio::time::Instant::from_std(ctx.deadline);
    // A registry given by name takes its login server from ARM, for every check below.
    let (resolved, early_sign_in) =
        tokio::time::timeout_at(deadline, checks::identity::resolve_login_server(ctx, http))
            .await
            .unwrap_or((None, None));
    let ctx = resolved.as_ref().unwrap_or(ctx);
    let (mut reference, mut contexts) = checks::reference::run(ctx).await;
    // The builds' base images on a registry the run checks are pulled like contexts.
    let bases = checks::reference::base_contexts(
        &ctx.base_images,
        &hosts_of(ctx, &contexts),
        &contexts,
        &mut reference,
    );
    contexts.extend(bases);
    let mut presented = credentials_and_identity(ctx, http, &contexts, early_sign_in).await;
    // Base images on registries the run does not check get one bounded lookup each.
    let others =
        checks::registry::other_bases::other_bases(ctx, &hosts_of(ctx, &contexts), &contexts);
    let ((registry, registry_requests), git, daemon, (other, other_requests, hub, hub_requests)) = tokio::join!(
        registry_stage(ctx, http, &mut contexts, &presented),
        checks::registry::git_context::check(ctx, http),
        checks::registry::daemon_proxy::check(ctx),
        async {
            let (other, other_requests, allowance) = tokio::time::timeout_at(
                deadline,
                checks::registry::other_bases::check(
                    ctx,
                    http,
                    others,
                    &presented.host_credentials,
                ),
            )
            .await
            .unwrap_or_default();
            // Docker Hub's allowance rides on the anonymous lookup of its `FROM` images.
            let (hub, hub_requests) =
                checks::registry::dockerhub::anonymous_pulls(ctx, http, allowance).await;
            (other, other_requests, hub, hub_requests)
        }
    );

    // What the registry served settles what the earlier stages could not know.
    checks::credentials::settle_unverifiable_helpers(
        &mut presented.credentials,
        &presented.host_credentials,
        &contexts,
    );
    checks::credentials::settle_missing_config(
        &mut presented.credentials,
        &contexts,
        &presented.host_credentials,
        &presented.identity.registries,
    );
    // A tag the registry check resolved gets its real digest in REF_MUTABLE_TAG's fix.
    checks::reference::complete_pins(&mut reference, &contexts);

    // A refusal that ARM's permissions contradict: a role assignment not yet in effect?
    let mut registry = registry;
    checks::identity::explain_refusals(ctx, &mut presented.identity, &mut registry, &contexts)
        .await;
    let identity = presented.identity;
    registry.findings.extend(hub.findings);
    registry.verified.extend(hub.verified);
    registry.findings.extend(git.findings);
    registry.verified.extend(git.verified);
    registry.findings.extend(daemon.findings);
    registry.verified.extend(daemon.verified);
    registry.findings.extend(other.findings);
    registry.verified.extend(other.verified);
    for f in &mut registry.findings {
        checks::reference::point_at_from(f, &ctx.base_images, &contexts);
    }
    let mut checks = vec![
        (CheckId::Reference, reference),
        (CheckId::CredentialHelpers, presented.credentials),
    ];
    if crate::azure::entra::method_for(&ctx.config).is_some() {
        checks.push((CheckId::Identity, identity.report));
    }
    checks.push((CheckId::Registry, registry));
    Checked {
        report: Report {
            checks,
            contexts,
            http_requests: registry_requests + hub_requests + other_requests + identity.requests,
            identity: identity.identity,
        },
        registries: identity.registries,
    }
}

/// The docker credentials and the Azure identity, looked at the same time, and what the
/// build will present to each registry host.
struct Presented {
    credentials: CheckReport,
    /// Per host: the credential the build presents (docker's choice, or the identity's
    /// exchanged token for a build that signs in with it).
    host_credentials: Vec<checks::credentials::HostCredential>,
    identity: checks::identity::Outcome,
}

async fn credentials_and_identity(
    ctx: &Ctx,
    http: &Result<reqwest::Client, String>,
    contexts: &[crate::findings::ContextInfo],
    early_sign_in: Option<checks::identity::SignIn>,
) -> Presented {
    let deadline = tokio::time::Instant::from_std(ctx.deadline);
    let hosts = hosts_of(ctx, contexts);
    let (credentials, identity) = tokio::join!(
        tokio::time::timeout_at(deadline, checks::credentials::run(ctx, &hosts)),
        async {
            match http {
                Ok(client) => tokio::time::timeout_at(
                    deadline,
                    checks::identity::run_with(ctx, client, contexts, early_sign_in),
                )
                .await
                .ok(),
                Err(_) => Some(checks::identity::Outcome::default()),
            }
        }
    );
    let (mut credentials, mut host_credentials) = match credentials {
        Ok(done) => done,
        Err(_) => (timed_out(ctx, CheckId::CredentialHelpers), Vec::new()),
    };
    checks::workflow::credentials_after_login(ctx, &mut host_credentials);
    if let Some(shared) = checks::workflow::preexisting_credentials(ctx, &host_credentials) {
        credentials.push(shared);
    }
    checks::workflow::other_runners(ctx, &mut credentials);
    let mut identity = identity.unwrap_or_else(|| checks::identity::Outcome {
        report: timed_out(ctx, CheckId::Identity),
        ..Default::default()
    });
    // The docker config's own credentials against ARM's facts, before the Azure
    // identity's token takes their place below.
    checks::credentials::admin_user(
        &mut credentials,
        &host_credentials,
        &ctx.logins,
        &identity.registries,
    );
    checks::identity::token_scopes(ctx, &mut identity, &host_credentials, contexts).await;
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
    Presented {
        credentials,
        host_credentials,
        identity,
    }
}

/// Every registry host the run looks at, once (case-insensitively), in order.
fn hosts_of(ctx: &Ctx, contexts: &[crate::findings::ContextInfo]) -> Vec<String> {
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
    hosts
}

/// The registry check with what the build presents; what it resolved (digest, media
/// type, platforms) goes into the contexts. Returns its report and its request count.
async fn registry_stage(
    ctx: &Ctx,
    http: &Result<reqwest::Client, String>,
    contexts: &mut [crate::findings::ContextInfo],
    presented: &Presented,
) -> (CheckReport, u32) {
    let deadline = tokio::time::Instant::from_std(ctx.deadline);
    let hints = checks::registry::RoleHints {
        client_id: presented
            .identity
            .identity
            .as_ref()
            .and_then(|i| i.client_id.clone()),
        registries: presented.identity.registries.clone(),
        scope_maps: presented.identity.scope_maps.clone(),
    };
    let run = checks::registry::run(ctx, http, contexts, &presented.host_credentials, &hints);
    match tokio::time::timeout_at(deadline, run).await {
        Ok(outcome) => {
            for resolved in outcome.resolved {
                if let Some(c) = contexts.get_mut(resolved.index) {
                    c.digest = Some(resolved.digest);
                    c.media_type = resolved.media_type;
                    c.platforms = resolved.platforms;
                }
            }
            (outcome.report, outcome.requests)
        }
        Err(_) => (timed_out(ctx, CheckId::Registry), 0),
    }
}

/// `what` and where it is written: "`docker build` (file:line)".
fn located(what: &str, location: &crate::findings::Location) -> String {
    match location.line {
        Some(line) => format!("`{what}` ({}:{line})", location.file),
        None => format!("`{what}` ({})", location.file),
    }
}

/// The build commands the workflow runs after acr-preflight's step, split into those
/// that queue ACR Tasks runs and those that read the docker config.
pub(super) fn build_tools(discovery: &crate::workflow::Discovery) -> crate::config::BuildTools {
    let mut tools = crate::config::BuildTools::default();
    for b in discovery.builds.iter().filter(|b| b.after_preflight) {
        let at = located(&b.what, &b.location);
        // A stored task's run: neither the docker config nor the quick-run rights
        // (`az acr build`/`az acr run`) decide it; it is discovered for its context only.
        if b.what == "az acr task run" {
            continue;
        }
        if matches!(
            b.what.as_str(),
            "az acr build" | "az acr run" | "azure/acr-build"
        ) {
            if b.agent_pool.is_some() {
                tools.acr_tasks_pooled.push(at.clone());
            }
            tools.acr_tasks.push(at);
        } else {
            tools.docker.push(at);
        }
    }
    tools.managed_identity = discovery
        .az
        .iter()
        .find(|a| a.login.is_some() && a.identity)
        .map(|a| {
            a.username
                .as_ref()
                .and_then(|u| u.value.clone())
                .filter(|v| !v.is_empty())
        });
    // A sign-in after acr-preflight's step starts a new session: the az calls after it
    // do not depend on the one this run finds.
    let renewed = discovery
        .az
        .iter()
        .filter(|a| a.after_preflight && a.login.is_some())
        .map(|a| (a.step.index, a.location.line))
        .min();
    for a in discovery.az.iter().filter(|a| {
        a.after_preflight
            && a.needs_token
            && !a.as_root
            && renewed.is_none_or(|r| (a.step.index, a.location.line) < r)
    }) {
        tools.az.push(located(&a.what, &a.location));
    }
    tools
}

/// A run with no reference proves nothing about the build: say so rather than pass.
pub(super) fn nothing_to_check(config: &Config) -> CheckReport {
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
pub(super) fn point_at_workflow(report: &mut Report, discovery: &crate::workflow::Discovery) {
    let step_line = |file: &String, step: &crate::workflow::StepRef| crate::findings::Location {
        file: file.clone(),
        line: Some(step.line),
        column: None,
    };
    // Each reference's origin, for the summary's references table (a base image's is
    // its Dockerfile line, set when it was found).
    for c in report
        .contexts
        .iter_mut()
        .filter(|c| c.role != crate::findings::Role::Base)
    {
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

pub(super) fn timed_out(ctx: &Ctx, check: CheckId) -> CheckReport {
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
