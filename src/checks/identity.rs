//! Identity and role check: who the runner is in Entra ID, what ARM says about the
//! registry and the identity's permissions on it, and the ACR credential the data plane
//! accepts for that identity (fed to the registry check, which proves the actual rights).

use super::Ctx;
use super::credentials::{CredentialSource, HostCredential};
use crate::azure::arm::{self, RegistryFacts};
use crate::azure::entra::{self, EntraError, Method, Presented};
use crate::azure::{ACR_SCOPE, ACR_TOKEN_USER, Cloud, Principal};
use crate::docker_config::{Credential, CredentialKind};
use crate::findings::{
    AzureIdentity, CheckId, CheckReport, Code, ContextInfo, Finding, PresentedClaims, Severity,
};
use std::collections::BTreeMap;

/// What the identity check hands to the rest of the run.
#[derive(Debug, Default)]
pub struct Outcome {
    pub report: CheckReport,
    /// Who the run signed in as (JSON `identity`, outputs `principal-id` and `client-id`).
    pub identity: Option<AzureIdentity>,
    /// ACR refresh tokens from `/oauth2/exchange`, per registry host: the credential a
    /// build using this identity (`az acr login`, ACR Tasks) presents.
    pub credentials: Vec<HostCredential>,
    /// ARM facts per registry host, for exact role fixes.
    pub registries: BTreeMap<String, RegistryFacts>,
    pub requests: u32,
}

fn finding(
    code: Code,
    severity: Severity,
    title: impl Into<String>,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding::new(CheckId::Identity, code, severity, title, message, fix)
}

fn is_acr(host: &str) -> bool {
    crate::config::acr_label(host).is_some()
}

/// Identity calls end this long before the run's deadline (a tenth of `--timeout`, at
/// most a second), so a server that never answers ends in a finding that names it
/// instead of the run's RUN_TIMEOUT.
fn call_deadline(ctx: &Ctx) -> tokio::time::Instant {
    let reserve = (ctx.config.timeout / 10).min(std::time::Duration::from_secs(1));
    tokio::time::Instant::from_std(ctx.deadline.checked_sub(reserve).unwrap_or(ctx.deadline))
}

/// The host of a URL, for messages.
fn host_of(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| url.to_string())
}

/// A token from Entra, bounded by [`call_deadline`]; a timeout names who did not answer.
async fn bounded_token(
    ctx: &Ctx,
    cloud: &Cloud,
    method: Method,
    session: &entra::Session,
    scope: &str,
) -> Result<String, EntraError> {
    let secs = ctx.config.timeout.as_secs();
    if tokio::time::Instant::now() >= call_deadline(ctx) {
        return Err(EntraError::Other(format!(
            "the run's deadline (--timeout {secs}s) passed before {} could be asked for a token",
            host_of(&cloud.authority_host)
        )));
    }
    match tokio::time::timeout_at(call_deadline(ctx), session.token(scope)).await {
        Ok(result) => result,
        Err(_) => {
            let oidc_url = ctx.config.env.actions_id_token_request_url.as_deref();
            Err(match (method, oidc_url) {
                (Method::GithubOidc, Some(url)) if session.presented().is_none() => {
                    EntraError::OidcRequest(format!(
                        "GitHub's OIDC token endpoint {} did not answer before the run's deadline (--timeout {secs}s)",
                        host_of(url)
                    ))
                }
                _ => EntraError::Other(format!(
                    "{} did not answer the token request before the run's deadline (--timeout {secs}s)",
                    host_of(&cloud.authority_host)
                )),
            })
        }
    }
}

/// An ARM call bounded by [`call_deadline`].
async fn bounded_arm<T>(
    ctx: &Ctx,
    cloud: &Cloud,
    call: impl std::future::Future<Output = Result<T, arm::ArmError>>,
) -> Result<T, arm::ArmError> {
    match tokio::time::timeout_at(call_deadline(ctx), call).await {
        Ok(result) => result,
        Err(_) => Err(arm::ArmError::Net(format!(
            "{} did not answer before the run's deadline (--timeout {}s)",
            host_of(&cloud.arm),
            ctx.config.timeout.as_secs()
        ))),
    }
}

/// A sign-in to Entra and ARM, made once per run: early when a registry given by name
/// needs its login server from ARM ([`resolve_login_server`]), else by [`run`].
pub struct SignIn {
    method: Method,
    cloud: Cloud,
    /// `None` when the sign-in failed; the finding is in `outcome.report`.
    signed: Option<Signed>,
    outcome: Outcome,
    /// The subscription's registries, once listed.
    listed: Option<Result<Vec<RegistryFacts>, arm::ArmError>>,
}

struct Signed {
    session: entra::Session,
    arm_token: String,
    principal: Principal,
}

/// Signs in with the configured method and gets an ARM token; `None` when no Azure
/// identity is configured.
async fn sign_in(ctx: &Ctx, http: &reqwest::Client) -> Option<SignIn> {
    let config = &ctx.config;
    let method = entra::method_for(config)?;
    let cloud = Cloud::of(config);
    let mut out = Outcome::default();
    let session = match entra::session(config, &cloud, http, &ctx.secrets, method) {
        Ok(s) => s,
        Err(e) => {
            out.report
                .push(entra_finding(ctx, &cloud, method, &e, None));
            out.report.inconclusive = true;
            return Some(SignIn {
                method,
                cloud,
                signed: None,
                outcome: out,
                listed: None,
            });
        }
    };

    // An ARM token first: any valid identity gets one, so a failure here is about the
    // identity itself, not its rights.
    let arm_token = match bounded_token(ctx, &cloud, method, &session, &cloud.arm_scope()).await {
        Ok(t) => t,
        Err(e) => {
            out.report
                .push(entra_finding(ctx, &cloud, method, &e, session.presented()));
            out.report.inconclusive = true;
            return Some(SignIn {
                method,
                cloud,
                signed: None,
                outcome: out,
                listed: None,
            });
        }
    };
    let principal = Principal::from_token(&arm_token);
    let presented = session.presented();
    out.report.verified(format!(
        "signed in with {} as {}{}",
        method.describe(),
        principal.describe(),
        principal
            .expires
            .as_deref()
            .map(|e| format!(", token valid until {e}"))
            .unwrap_or_default()
    ));
    if let Some(p) = &presented {
        out.report.verified(format!(
            "presented iss={} sub={} aud={}{}",
            p.iss,
            p.sub,
            p.aud,
            p.job_workflow_ref
                .as_deref()
                .map(|j| format!(" job_workflow_ref={j}"))
                .unwrap_or_default()
        ));
    }
    out.identity = Some(reported_identity(method, &principal, presented));
    Some(SignIn {
        method,
        cloud,
        signed: Some(Signed {
            session,
            arm_token,
            principal,
        }),
        outcome: out,
        listed: None,
    })
}

/// The identity as the report shows it: the principal Entra's token names, and what the
/// job presented to get it.
fn reported_identity(
    method: Method,
    principal: &Principal,
    presented: Option<Presented>,
) -> AzureIdentity {
    AzureIdentity {
        method: method.describe().to_string(),
        tenant_id: principal.tenant_id.clone(),
        object_id: principal.object_id.clone(),
        client_id: principal.client_id.clone(),
        kind: principal.kind.clone(),
        expires: principal.expires.clone(),
        presented: presented.map(|p| PresentedClaims {
            iss: p.iss,
            sub: p.sub,
            aud: p.aud,
            job_workflow_ref: p.job_workflow_ref,
        }),
    }
}

/// A registry given by name (`registry: myreg`) has the login server `<name>.azurecr.io`
/// only when it was created without a domain-name-label scope; otherwise ARM's
/// `loginServer` is `<name>-<hash>.azurecr.io`. When an Azure identity and a subscription
/// are configured, the registry is looked up by name and its login server is used for
/// everything that follows: returns the run's context with it (`None` when unchanged)
/// and the sign-in, for [`run_with`] to go on with.
pub async fn resolve_login_server(
    ctx: &Ctx,
    http: &Result<reqwest::Client, String>,
) -> (Option<Ctx>, Option<SignIn>) {
    let config = &ctx.config;
    let (Some(registry), Some(sub), Ok(http)) =
        (&config.registry, &config.azure.subscription_id, http)
    else {
        return (None, None);
    };
    let Some(name) = registry
        .acr_name
        .clone()
        .filter(|_| registry.given_by_name())
    else {
        return (None, None);
    };
    let Some(mut signin) = sign_in(ctx, http).await else {
        return (None, None);
    };
    let Some(signed) = &signin.signed else {
        return (None, Some(signin));
    };
    let listed = bounded_arm(
        ctx,
        &signin.cloud,
        arm::list_registries(
            http,
            &signin.cloud,
            &signed.arm_token,
            sub,
            &mut signin.outcome.requests,
        ),
    )
    .await;
    let mut resolved = None;
    if let Ok(list) = &listed
        && let Some(facts) = arm::find_by_name(list, &name)
    {
        let login_server = facts.login_server.to_ascii_lowercase();
        if login_server == registry.host {
            signin.outcome.report.verified(format!(
                "registry `{name}`: ARM's loginServer is {login_server} ({}), as the name gives",
                facts.id
            ));
        } else {
            signin
                .outcome
                .report
                .push(login_server_finding(registry, &name, sub, facts));
            let mut config = (**config).clone();
            if let Some(r) = config.registry.as_mut() {
                r.host = login_server;
            }
            let mut with_login_server = ctx.clone();
            with_login_server.config = std::sync::Arc::new(config);
            resolved = Some(with_login_server);
        }
    }
    signin.listed = Some(listed);
    (resolved, Some(signin))
}

/// REGISTRY_LOGIN_SERVER: which login server is used for a registry given by name, and why.
fn login_server_finding(
    registry: &crate::config::Registry,
    name: &str,
    sub: &str,
    facts: &RegistryFacts,
) -> Finding {
    let scope = facts
        .domain_name_label_scope
        .as_deref()
        .map(|s| format!(" (autoGeneratedDomainNameLabelScope `{s}`)"))
        .unwrap_or_default();
    finding(
        Code::REGISTRY_LOGIN_SERVER,
        Severity::Notice,
        format!(
            "registry `{name}` has the login server {}, used for this run",
            facts.login_server
        ),
        format!(
            "The registry was given by name (`{}`). ARM lists registry `{}` in subscription {sub} ({}) with loginServer {}{scope}: it was created with a domain-name-label scope, so its login server carries a hash and is not {}. Every check in this run (references, docker credentials, token exchange, registry) uses {}.",
            registry.input.trim(),
            facts.name,
            facts.id,
            facts.login_server,
            registry.host,
            facts.login_server
        ),
        format!(
            "Nothing to fix for this run. Give the login server itself (`registry: {}`) so that runs without ARM access (no subscription-id, or an identity without Reader) contact the right host, and use it in image references: docker and buildx know nothing of registry names.",
            facts.login_server
        ),
    )
}

pub async fn run(ctx: &Ctx, http: &reqwest::Client, contexts: &[ContextInfo]) -> Outcome {
    run_with(ctx, http, contexts, None).await
}

/// The check, going on from the sign-in [`resolve_login_server`] made, when it made one.
pub async fn run_with(
    ctx: &Ctx,
    http: &reqwest::Client,
    contexts: &[ContextInfo],
    early: Option<SignIn>,
) -> Outcome {
    let config = &ctx.config;
    let signin = match early {
        Some(s) => s,
        None => match sign_in(ctx, http).await {
            Some(s) => s,
            None => return Outcome::default(),
        },
    };
    let SignIn {
        method,
        cloud,
        signed,
        mut outcome,
        listed,
    } = signin;
    let out = &mut outcome;
    let Some(Signed {
        session,
        arm_token,
        principal,
    }) = signed
    else {
        return outcome;
    };

    let mut hosts: Vec<String> = Vec::new();
    for h in config
        .registry
        .iter()
        .map(|r| r.host.clone())
        .chain(contexts.iter().filter_map(|c| c.registry.clone()))
    {
        let h = h.to_ascii_lowercase();
        if is_acr(&h) && !hosts.contains(&h) {
            hosts.push(h);
        }
    }

    // Registry facts and ARM permissions, when the identity may read them.
    if let Some(sub) = &config.azure.subscription_id
        && !hosts.is_empty()
    {
        let listed = match listed {
            Some(listed) => listed,
            None => {
                bounded_arm(
                    ctx,
                    &cloud,
                    arm::list_registries(http, &cloud, &arm_token, sub, &mut out.requests),
                )
                .await
            }
        };
        match listed {
            Ok(list) => {
                for host in &hosts {
                    match list.iter().find(|r| r.login_server.eq_ignore_ascii_case(host)) {
                        Some(facts) => {
                            out.report.verified(format!("{host}: {} ({})", facts.id, facts.describe()));
                            out.registries.insert(host.clone(), facts.clone());
                        }
                        None => {
                            // A registry given by name that ARM does not know by that name.
                            let by_name = config
                                .registry
                                .as_ref()
                                .filter(|r| r.given_by_name() && r.host == *host)
                                .and_then(|r| r.acr_name.as_deref());
                            out.report.push(not_found(host, by_name, sub, &list));
                        }
                    }
                }
            }
            Err(e) => out.report.push(finding(
                Code::ARM_READ_DENIED,
                Severity::Notice,
                format!("{} cannot read registries in subscription {sub}", principal_short(&principal)),
                format!("GET …/subscriptions/{sub}/providers/Microsoft.ContainerRegistry/registries → {}. An identity that may pull need not read ARM; the check goes on with the data plane only (no registry mode, network or role facts{}).", e.describe(), tasks_unverified(config)),
                format!("Nothing to fix for pulls. For the registry facts, give the identity Reader (or Container Registry Configuration Reader) on the registry: az role assignment create --assignee {} --role Reader --scope <registry resource id>", principal.client_id.as_deref().unwrap_or("<client-id>")),
            )),
        }
        for (host, facts) in out.registries.clone() {
            role_facts(
                ctx, http, &cloud, &arm_token, &host, &facts, &principal, contexts, out,
            )
            .await;
        }
    }

    // The data plane: the ACR refresh token this identity gets, for the registry check.
    if !hosts.is_empty() {
        match bounded_token(ctx, &cloud, method, &session, ACR_SCOPE).await {
            Ok(acr_token) => {
                for host in &hosts {
                    exchange(ctx, http, host, &acr_token, &principal, out).await;
                }
            }
            Err(e) => out
                .report
                .push(entra_finding(ctx, &cloud, method, &e, session.presented())),
        }
    }
    outcome
}

/// ", nor whether it may queue the ACR Tasks runs the build starts" when the build is
/// ACR Tasks, else "".
fn tasks_unverified(config: &crate::config::Config) -> &'static str {
    if config.acr_tasks_uses().is_empty() {
        ""
    } else {
        "; nor whether it may queue the ACR Tasks runs the build starts (scheduleRun, listBuildSourceUploadUrl, runs/listLogSasUrl): give it Reader on the registry to have that checked"
    }
}

fn principal_short(p: &Principal) -> String {
    p.client_id
        .clone()
        .map(|c| format!("identity {c}"))
        .unwrap_or_else(|| "the identity".into())
}

/// REGISTRY_NOT_FOUND. `by_name`: the registry was given by this name, and ARM has no
/// registry of that name either.
fn not_found(host: &str, by_name: Option<&str>, sub: &str, list: &[RegistryFacts]) -> Finding {
    let names: Vec<String> = list
        .iter()
        .take(20)
        .map(|r| r.login_server.clone())
        .collect();
    // The same name with a domain-name-label hash first, then the nearest.
    let near = arm::rank_login_servers(list, by_name.unwrap_or(host), 1);
    finding(
        Code::REGISTRY_NOT_FOUND,
        Severity::Error,
        match by_name {
            Some(name) => format!("no registry named `{name}` in subscription {sub}"),
            None => format!("no registry with login server {host} in subscription {sub}"),
        },
        format!(
            "The identity sees {} registr{} in subscription {sub}: {}.",
            list.len(),
            if list.len() == 1 { "y" } else { "ies" },
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        ),
        match near.first() {
            Some(n) => format!("Did you mean `{n}`? Otherwise check --subscription-id (input `subscription-id`) and the registry name: az acr show -n <name> --query loginServer"),
            None => "Check --subscription-id (input `subscription-id`) and the registry name: `az acr list --subscription <id> --query [].loginServer`.".into(),
        },
    )
}

#[allow(clippy::too_many_arguments)]
async fn role_facts(
    ctx: &Ctx,
    http: &reqwest::Client,
    cloud: &Cloud,
    arm_token: &str,
    host: &str,
    facts: &RegistryFacts,
    principal: &Principal,
    contexts: &[ContextInfo],
    out: &mut Outcome,
) {
    let perms = match bounded_arm(
        ctx,
        cloud,
        arm::permissions(http, cloud, arm_token, &facts.id, &mut out.requests),
    )
    .await
    {
        Ok(p) => p,
        Err(e) => {
            out.report.push(finding(
                Code::ARM_READ_DENIED,
                Severity::Notice,
                format!("{} cannot read its permissions on {host}", principal_short(principal)),
                format!("GET {}/providers/Microsoft.Authorization/permissions → {}. The data-plane token below decides{}.", facts.id, e.describe(), tasks_unverified(&ctx.config)),
                "Nothing to fix if pulls work.",
            ));
            return;
        }
    };
    tasks_rights(ctx, host, facts, &perms, principal, contexts, out);
    let rbac_pull = arm::permits(&perms, arm::PULL_ACTION, false);
    let rbac_push = arm::permits(&perms, arm::PUSH_ACTION, false);
    let data_pull = arm::permits(&perms, arm::PULL_DATA_ACTION, true);
    let data_push = arm::permits(&perms, arm::PUSH_DATA_ACTION, true);
    let (pull, push) = if facts.abac() {
        (data_pull, data_push)
    } else {
        (rbac_pull || data_pull, rbac_push || data_push)
    };
    out.report.verified(format!(
        "{host}: ARM permissions of {} allow pull: {}, push: {} ({} mode)",
        principal_short(principal),
        if pull { "yes" } else { "no" },
        if push { "yes" } else { "no" },
        if facts.abac() { "ABAC" } else { "RBAC" }
    ));
    let assignee = principal.client_id.as_deref().unwrap_or("<client-id>");
    if facts.abac() && (rbac_pull || rbac_push) && !data_pull {
        out.report.push(finding(
            Code::ROLE_ABAC_MODE,
            Severity::Error,
            format!("{host} uses ABAC repository permissions, where the identity's registry roles grant no pull"),
            format!(
                "The registry's roleAssignmentMode is AbacRepositoryPermissions. {} holds the control-plane action{} {} (AcrPull/AcrPush/Owner/Contributor), which this mode ignores for the data plane, and no data action {}.",
                principal.describe(),
                if rbac_pull && rbac_push { "s" } else { "" },
                [rbac_pull.then_some(arm::PULL_ACTION), rbac_push.then_some(arm::PUSH_ACTION)].into_iter().flatten().collect::<Vec<_>>().join(", "),
                arm::PULL_DATA_ACTION
            ),
            format!(
                "Assign a repository role instead (with a condition to limit it to repositories if you like):\naz role assignment create --assignee {assignee} --role \"Container Registry Repository {}\" --scope {}",
                if rbac_push { "Writer" } else { "Reader" },
                facts.id
            ),
        ));
    }
    let oci = contexts.iter().any(|c| {
        c.role == "pull"
            && c.reference.to_ascii_lowercase().starts_with("oci://")
            && c.registry.as_deref() == Some(host)
    });
    if oci && facts.abac() {
        out.report.push(finding(
            Code::TASKS_ABAC_SOURCE_AUTH,
            Severity::Warning,
            format!("ACR Tasks builds on {host} need `--source-acr-auth-id` in ABAC mode"),
            format!("{host} is in ABAC mode, where quick builds and runs (`az acr build`, `az acr run`) get no default data-plane access to the registry; the Tasks agent then cannot download the oci:// context."),
            format!("Pass the caller's identity to the build: az acr build -r {} --source-acr-auth-id [caller] … (the caller needs Container Registry Repository Reader on the context repository).", facts.name),
        ));
    }
    if oci
        && facts.network_default_action.as_deref() == Some("Deny")
        && facts.bypass_for_tasks == Some(false)
    {
        out.report.push(finding(
            Code::TASKS_NETWORK_BYPASS,
            Severity::Warning,
            format!("the ACR Tasks agent will be refused by {host}'s network rules"),
            format!("{host} denies by default (networkRuleSet.defaultAction Deny) and networkRuleBypassAllowedForTasks is false, so the Tasks agent's requests with its system identity are refused (403) and the oci:// context download fails."),
            format!("az acr update -n {} --allow-trusted-services true and set networkRuleBypassAllowedForTasks: az resource update --ids {} --set properties.networkRuleBypassAllowedForTasks=true (or run the build on a dedicated agent pool in the network).", facts.name, facts.id),
        ));
    }
}

/// ACR Tasks runs are queued through ARM: when the build is ACR Tasks and this host is
/// the registry it runs on (the build's registry, a push target or an `oci://` context),
/// the identity's effective permissions must hold [`arm::TASKS_ACTIONS`].
fn tasks_rights(
    ctx: &Ctx,
    host: &str,
    facts: &RegistryFacts,
    perms: &[arm::Permission],
    principal: &Principal,
    contexts: &[ContextInfo],
    out: &mut Outcome,
) {
    let uses = ctx.config.acr_tasks_uses();
    if uses.is_empty() {
        return;
    }
    let runs_here = ctx
        .config
        .registry
        .as_ref()
        .is_some_and(|r| r.host.eq_ignore_ascii_case(host))
        || contexts.iter().any(|c| {
            c.registry
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(host))
                && (c.role == "push"
                    || c.reference
                        .get(..6)
                        .is_some_and(|p| p.eq_ignore_ascii_case("oci://")))
        });
    if !runs_here {
        return;
    }
    let missing: Vec<&str> = arm::TASKS_ACTIONS
        .iter()
        .copied()
        .filter(|a| !arm::permits(perms, a, false))
        .collect();
    let short = |a: &str| {
        a.trim_start_matches("Microsoft.ContainerRegistry/registries/")
            .to_string()
    };
    if missing.is_empty() {
        out.report.verified(format!(
            "{host}: ARM permissions of {} allow ACR Tasks runs ({})",
            principal_short(principal),
            arm::TASKS_ACTIONS
                .iter()
                .map(|a| short(a))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        return;
    }
    let assignee = principal.client_id.as_deref().unwrap_or("<client-id>");
    let custom = format!(
        "az role definition create --role-definition '{{\"Name\":\"ACR Tasks runner ({})\",\"Actions\":[{}],\"AssignableScopes\":[\"{}\"]}}'",
        facts.name,
        arm::TASKS_ACTIONS
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(","),
        facts.id
    );
    let fix = if facts.abac() {
        format!(
            "Assign the Tasks role on the registry (ABAC mode: Contributor's registry rights do not reach repositories, and Container Registry Tasks Contributor carries exactly the Tasks actions):\naz role assignment create --assignee {assignee} --role \"Container Registry Tasks Contributor\" --scope {id}\nOr a custom role with those actions:\n{custom}",
            id = facts.id
        )
    } else {
        format!(
            "Assign a role that carries the Tasks actions on the registry:\naz role assignment create --assignee {assignee} --role Contributor --scope {id}\nNarrower: --role \"Container Registry Tasks Contributor\" (Tasks actions only), or a custom role with exactly those actions:\n{custom}",
            id = facts.id
        )
    };
    out.report.push(finding(
        Code::TASKS_ROLE_MISSING,
        Severity::Error,
        format!("{} may not queue ACR Tasks runs on {host}", principal_short(principal)),
        format!(
            "The build runs ACR Tasks ({}). `az acr build` and `az acr run` go through ARM: they ask for a source upload URL (listBuildSourceUploadUrl/action), queue the run (scheduleRun/action) and stream its log (runs/listLogSasUrl/action). The effective permissions of {} on {} (Microsoft.Authorization/permissions) lack {}. AcrPull and AcrPush grant none of these, so the build fails with `Could not get SAS URL to upload` or `AuthorizationFailed` before anything is built.",
            uses.join(", "),
            principal.describe(),
            facts.id,
            missing.join(", ")
        ),
        fix,
    ));
}

/// `POST https://<host>/oauth2/exchange`: an ACR refresh token for the Entra token.
async fn exchange(
    ctx: &Ctx,
    http: &reqwest::Client,
    host: &str,
    acr_token: &str,
    principal: &Principal,
    out: &mut Outcome,
) {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    form.append_pair("grant_type", "access_token");
    form.append_pair("service", host);
    if let Some(t) = &principal.tenant_id {
        form.append_pair("tenant", t);
    }
    form.append_pair("access_token", acr_token);
    let body = form.finish();
    out.requests += 1;
    let url = format!("https://{host}/oauth2/exchange");
    let resp = http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .timeout(ctx.remaining().max(std::time::Duration::from_millis(1)))
        .send()
        .await;
    let who = principal.describe();
    let resp = match resp {
        Ok(r) => r,
        Err(e) => {
            // The registry check reports reachability with the evidence; no duplicate.
            out.report.verified(format!(
                "{host}: token exchange not attempted to completion ({})",
                crate::registry::wire::shorten(&crate::http::error_chain(&e), 120)
            ));
            return;
        }
    };
    let status = resp.status().as_u16();
    let bytes = match crate::http::read_capped(resp, crate::http::MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            // The registry check reports the registry's answers; this is evidence only.
            out.report
                .verified(format!("{host}: token exchange not completed ({e})"));
            return;
        }
    };
    let refresh = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| {
            v.get("refresh_token")
                .and_then(|t| t.as_str())
                .map(str::to_string)
        })
        .filter(|t| !t.is_empty());
    match (status, refresh) {
        (200, Some(refresh)) => {
            ctx.secrets.register(&refresh);
            out.report.verified(format!(
                "{host}: /oauth2/exchange accepted the Entra token of {who}"
            ));
            out.credentials.push(HostCredential {
                host: host.to_string(),
                key: host.to_string(),
                source: CredentialSource::Entra {
                    identity: format!("the Azure identity {who}"),
                },
                credential: Some(Credential::new(
                    CredentialKind::IdentityToken,
                    ACR_TOKEN_USER.to_string(),
                    refresh,
                )),
                problem: None,
            });
        }
        _ => {
            let errors = crate::registry::wire::describe_errors(
                &crate::registry::wire::parse_errors(&bytes),
            );
            out.report.push(finding(
                Code::CRED_REJECTED,
                Severity::Error,
                format!("{host} refused the Entra token of the identity"),
                format!("POST {url} (grant_type=access_token) → HTTP {status}{}. The identity is {who}.", if errors.is_empty() { String::new() } else { format!(" {errors}") }),
                "Check that the registry accepts Entra tokens (not disabled by policy) and that the identity's tenant is the registry's; `az acr login -n <name> --expose-token` reproduces the exchange.",
            ));
        }
    }
}

/// A finding for an Entra failure, with what was presented and the exact fix.
fn entra_finding(
    ctx: &Ctx,
    cloud: &Cloud,
    method: Method,
    e: &EntraError,
    presented: Option<Presented>,
) -> Finding {
    let config = &ctx.config;
    let client = config.azure.client_id.as_deref().unwrap_or("<client-id>");
    let tenant = config.azure.tenant_id.as_deref().unwrap_or("<tenant-id>");
    match e {
        EntraError::Setup(d) | EntraError::Other(d)
            if method == Method::AzureCli && config.env.container.is_some() =>
        {
            cli_session_unverifiable(d)
        }
        EntraError::OidcUnavailable { missing } => oidc_unavailable(ctx, missing),
        EntraError::Rejected { codes, .. } => {
            let has = |c: u32| codes.contains(&c);
            let evidence = format!("Entra answered {} for {} {client} in tenant {tenant} ({}).", e.describe(), method.describe(), cloud.name);
            if has(70021) || has(700211) || has(700213) || has(7002138) {
                let p = presented.unwrap_or_default();
                let subject = if p.sub.is_empty() { "<subject>".to_string() } else { p.sub.clone() };
                finding(
                    Code::ID_FEDERATION_MISMATCH,
                    Severity::Error,
                    "no federated credential of the app matches this job's OIDC token",
                    format!(
                        "{evidence} The job presented iss={} sub={} aud={}{}. A federated credential matches only when issuer, subject and audience are equal to these, exactly and case-sensitively. The subject depends on the trigger: a job with `environment:` presents `repo:OWNER/REPO:environment:NAME`; otherwise a pull request presents `repo:OWNER/REPO:pull_request`; otherwise `repo:OWNER/REPO:ref:refs/heads/BRANCH` (or `refs/tags/TAG`). Repositories using immutable subjects present `repo:OWNER@OWNER_ID/REPO@REPO_ID:…`. New federated credentials can take a few minutes to apply.",
                        p.iss, p.sub, p.aud,
                        p.job_workflow_ref.as_deref().map(|j| format!(" job_workflow_ref={j}")).unwrap_or_default()
                    ),
                    format!(
                        "Add a federated credential for exactly this subject:\naz ad app federated-credential create --id {client} --parameters '{{\"name\":\"{}\",\"issuer\":\"{}\",\"subject\":\"{subject}\",\"audiences\":[\"{}\"]}}'",
                        fic_name(&subject),
                        if p.iss.is_empty() { "https://token.actions.githubusercontent.com" } else { &p.iss },
                        if p.aud.is_empty() { cloud.fic_audience } else { &p.aud },
                    ),
                )
            } else if has(700016) {
                finding(Code::ID_APP_NOT_FOUND, Severity::Error, format!("application {client} does not exist in tenant {tenant}"), evidence, format!("Use the app's Application (client) ID, not its object ID or the secret ID: az ad app list --display-name <name> --query [].appId; check that tenant {tenant} is the app's home tenant."))
            } else if has(90002) || has(90038) {
                finding(Code::ID_TENANT_NOT_FOUND, Severity::Error, format!("tenant {tenant} was not found in {}", cloud.name), evidence, "Use the Directory (tenant) ID from `az account show --query tenantId`; a tenant in a national cloud needs --azure-environment AzureChinaCloud or AzureUSGovernment.".to_string())
            } else if has(7000215) {
                finding(Code::ID_SECRET_INVALID, Severity::Error, format!("the client secret of {client} is wrong"), evidence, format!("Use the secret's Value, not its Secret ID; create a new one if it is lost: az ad app credential reset --id {client} --append"))
            } else if has(7000222) {
                finding(Code::ID_SECRET_EXPIRED, Severity::Error, format!("the client secret of {client} has expired"), evidence, format!("Create a new secret and update the repository secret: az ad app credential reset --id {client} --append --years 1 (or move to OIDC federated credentials, which have no secret to expire)."))
            } else if has(700024) {
                finding(Code::ID_ASSERTION_EXPIRED, Severity::Error, "the OIDC token presented to Entra has expired", format!("{evidence} GitHub's OIDC tokens are valid for minutes; a token fetched early in a long job expires before it is used."), "Fetch the token right before it is needed (run acr-preflight and azure/login immediately before the build step), and check the runner's clock.".to_string())
            } else {
                finding(Code::ID_TOKEN_FAILED, Severity::Error, format!("Entra refused a token for {client}"), evidence, "Look up the AADSTS code in the message at https://login.microsoftonline.com/error and fix what it names.".to_string())
            }
        }
        EntraError::OidcRequest(d) => finding(Code::ID_TOKEN_FAILED, Severity::Error, "GitHub's OIDC token could not be fetched", d.clone(), "Check that the job has `permissions: id-token: write` and retry; a 5xx from GitHub is transient."),
        EntraError::Setup(d) | EntraError::Other(d) => finding(
            Code::ID_TOKEN_FAILED,
            Severity::Error,
            format!("no Entra token with {}", method.describe()),
            match method {
                // Name the token endpoint when the SDK's error does not.
                Method::ClientSecret | Method::GithubOidc | Method::FederatedTokenFile
                    if !d.contains(&host_of(&cloud.authority_host)) =>
                {
                    format!("{d} (token endpoint {})", host_of(&cloud.authority_host))
                }
                _ => d.clone(),
            },
            match method {
                Method::AzureCli => "Log in first: az login (or azure/login in the workflow); `az account get-access-token` must work for this user.".to_string(),
                Method::ManagedIdentity => "Managed identity works only on Azure hosts (self-hosted runners on a VM with an assigned identity); give --client-id for a user-assigned identity.".to_string(),
                _ => "Give --client-id and --tenant-id (inputs `client-id`, `tenant-id`) for this auth mode.".to_string(),
            },
        ),
    }
}

/// ID_CLI_UNVERIFIABLE: the `az` session lives on the runner (`~/.azure`, `az` on its
/// PATH), which a container action cannot see.
fn cli_session_unverifiable(detail: &str) -> Finding {
    Finding::new(
        CheckId::Identity,
        Code::ID_CLI_UNVERIFIABLE,
        Severity::Warning,
        "the runner's Azure CLI session cannot be verified from a container action",
        format!(
            "The auth mode is azure-cli: the identity is whatever `az login` (or azure/login) signed in on the runner. This step runs in a container action, which sees neither the runner's `az` nor its `~/.azure`, so it could not get a token ({detail}). The build, on the runner, may well have the session; this run cannot tell."
        ),
        format!(
            "Run the check on the runner, where it uses the same `az` session as the build:\nuses: {}\n(same inputs and outputs). Or sign in as the build does with the job's OIDC token instead: give `client-id` and `tenant-id` (auth-mode `oidc`).",
            crate::action_container::HOST_MODE_USES
        ),
    )
}

fn fic_name(subject: &str) -> String {
    let cleaned: String = subject
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = cleaned.trim_matches('-');
    let name: String = trimmed.chars().take(100).collect();
    if name.len() < 3 {
        "github-actions".into()
    } else {
        name
    }
}

fn oidc_unavailable(ctx: &Ctx, missing: &[&str]) -> Finding {
    let env = &ctx.config.env;
    let payload: serde_json::Value = env
        .event_path
        .as_ref()
        .and_then(|p| crate::fsread::read_capped(p, crate::fsread::EVENT_PAYLOAD_CAP).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null);
    let event = env.event_name.as_deref().unwrap_or_default();
    let head_repo = payload
        .pointer("/pull_request/head/repo/full_name")
        .and_then(|v| v.as_str());
    let base_repo = payload
        .pointer("/pull_request/base/repo/full_name")
        .and_then(|v| v.as_str());
    let fork = payload
        .pointer("/pull_request/head/repo/fork")
        .and_then(|v| v.as_bool())
        == Some(true)
        || matches!((head_repo, base_repo), (Some(h), Some(b)) if h != b);
    let actor = payload
        .pointer("/sender/login")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let seen = format!(
        "{} not set in this step's environment.",
        missing.join(" and ")
    );
    if event.starts_with("pull_request") && fork && event != "pull_request_target" {
        return finding(
            Code::ID_OIDC_UNAVAILABLE,
            Severity::Error,
            "no OIDC token: pull requests from forks get none",
            format!(
                "{seen} This run is a `{event}` event from the fork {}: GitHub gives such runs no OIDC token and no secrets, whatever the workflow's permissions say.",
                head_repo.unwrap_or("(unknown)")
            ),
            "Skip the Azure steps for forks (`if: github.event.pull_request.head.repo.full_name == github.repository`), or run the registry checks in a workflow triggered after review (for example on `push` to the base branch).",
        );
    }
    if actor == "dependabot[bot]"
        || env.repository.is_some() && event.is_empty() && actor.starts_with("dependabot")
    {
        return finding(
            Code::ID_OIDC_UNAVAILABLE,
            Severity::Error,
            "no OIDC token: Dependabot runs get none",
            format!(
                "{seen} This run was triggered by Dependabot, whose runs get a read-only token and only Dependabot secrets."
            ),
            "Skip the Azure steps for Dependabot (`if: github.actor != 'dependabot[bot]'`), or store a client secret as a Dependabot secret and use --auth-mode client-secret.",
        );
    }
    finding(
        Code::ID_OIDC_UNAVAILABLE,
        Severity::Error,
        "no OIDC token: the job lacks `permissions: id-token: write`",
        format!(
            "{seen} The runner sets them only when the job may mint OIDC tokens. A job-level `permissions:` block replaces the workflow-level one entirely."
        ),
        "Add to the job (keeping the other permissions it needs):\npermissions:\n  id-token: write\n  contents: read",
    )
}
