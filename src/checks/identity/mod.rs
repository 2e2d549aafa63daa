//! Identity and role check: who the runner is in Entra ID, what ARM says about the
//! registry and the identity's permissions on it, and the ACR credential the data plane
//! accepts for that identity (fed to the registry check, which proves the actual rights).

mod cli_session;
mod messages;
mod propagation;
mod secret_expiry;
mod subject;
mod subscriptions;

use super::Ctx;
use super::credentials::{CredentialSource, HostCredential};
use crate::azure::arm::{self, RegistryFacts};
use crate::azure::entra::{self, EntraError, Method, Presented};
use crate::azure::{Cloud, Principal};
use crate::cloud::ACR_TOKEN_USER;
use crate::docker::credential::{Credential, CredentialKind};
use crate::findings::{
    AzureIdentity, CheckId, CheckReport, Code, ContextInfo, Finding, PresentedClaims, Role,
    Severity,
};
use messages::*;
pub use propagation::explain_refusals;
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
    /// The error that ended the sign-in, when it failed: the registry's refusals of the
    /// identity's hosts are its consequence, not a separate problem.
    pub sign_in_failure: Option<Code>,
    /// The signed-in ARM session, for reads that need the docker credentials too
    /// ([`token_scopes`]).
    pub arm: Option<ArmSession>,
    /// Per registry host whose docker credential is a repository-scoped token presented
    /// to the registry: the token's name and its scope map, for exact fixes there.
    pub scope_maps: BTreeMap<String, (String, arm::ScopeMap)>,
    /// Per registry host: whether the identity's ARM permissions allow (pull, push), for
    /// telling a refusal that contradicts them apart ([`explain_refusals`]).
    pub arm_rights: BTreeMap<String, (bool, bool)>,
    /// Per registry host: whether the identity's ARM permissions hold
    /// [`arm::LIST_CREDENTIALS_ACTION`], which decides `az acr login`'s admin fall-back.
    pub lists_credentials: BTreeMap<String, bool>,
}

/// An ARM token with the client and cloud it is used with. Its `Debug` hides the token.
pub struct ArmSession {
    http: reqwest::Client,
    cloud: Cloud,
    token: String,
}

impl std::fmt::Debug for ArmSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ArmSession({}, token hidden)", self.cloud.arm)
    }
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

impl SignIn {
    /// A sign-in that ended in `failure`: nothing after it can be looked at.
    fn failed(method: Method, cloud: Cloud, mut outcome: Outcome, failure: Finding) -> SignIn {
        if failure.severity == Severity::Error {
            outcome.sign_in_failure = Some(failure.code);
        }
        outcome.report.push(failure);
        outcome.report.inconclusive = true;
        SignIn {
            method,
            cloud,
            signed: None,
            outcome,
            listed: None,
        }
    }
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
            let failure = entra_finding(ctx, &cloud, method, &e, None);
            return Some(SignIn::failed(method, cloud, out, failure));
        }
    };

    // An ARM token first: any valid identity gets one, so a failure here is about the
    // identity itself, not its rights.
    let arm_token = match bounded_token(ctx, &cloud, method, &session, &cloud.arm_scope()).await {
        Ok(t) => t,
        Err(e) => {
            if method == Method::ManagedIdentity && several_identities(&e) {
                for notice in identity_steps_need_client_id(ctx) {
                    out.report.push(notice);
                }
            }
            let failure = entra_finding(ctx, &cloud, method, &e, session.presented());
            return Some(SignIn::failed(method, cloud, out, failure));
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
    // The client secret's end date from Microsoft Graph, read while ARM and the
    // registries are asked (only in client-secret mode).
    // It may go on for secret_expiry::GRACE once the rest is done, never longer.
    let finished = tokio::sync::Notify::new();
    let expiry = async {
        tokio::select! {
            e = secret_expiry::read(ctx, http, &cloud, method, &session) => e,
            _ = async {
                finished.notified().await;
                tokio::time::sleep(secret_expiry::GRACE).await;
            } => secret_expiry::late(&cloud),
        }
    };
    let rest = async {
        let mut hosts: Vec<String> = Vec::new();
        for h in config
            .registry
            .iter()
            .map(|r| r.host.clone())
            .chain(contexts.iter().filter_map(|c| c.registry.clone()))
        {
            let h = h.to_ascii_lowercase();
            if crate::cloud::is_acr(&h) && !hosts.contains(&h) {
                hosts.push(h);
            }
        }

        let arm_session = ArmSession {
            http: http.clone(),
            cloud: cloud.clone(),
            token: arm_token.clone(),
        };
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
                    let mut elsewhere: Option<Vec<subscriptions::Holding>> = None;
                    for host in &hosts {
                        match list
                            .iter()
                            .find(|r| r.login_server.eq_ignore_ascii_case(host))
                        {
                            Some(facts) => {
                                out.report.verified(format!(
                                    "{host}: {} ({})",
                                    facts.id,
                                    facts.describe()
                                ));
                                out.registries.insert(host.clone(), facts.clone());
                            }
                            None => {
                                // A registry given by name that ARM does not know by that name.
                                let by_name = config
                                    .registry
                                    .as_ref()
                                    .filter(|r| r.given_by_name() && r.host == *host)
                                    .and_then(|r| r.acr_name.as_deref());
                                // Another subscription the identity sees may hold it (P15).
                                if elsewhere.is_none() {
                                    elsewhere = Some(
                                        subscriptions::others(ctx, &arm_session, sub, out).await,
                                    );
                                }
                                let others = elsewhere.as_deref().unwrap_or_default();
                                out.report.push(not_found(
                                    host,
                                    by_name,
                                    sub,
                                    &list,
                                    others,
                                    config.azure.subscription_from_cli.as_deref(),
                                ));
                            }
                        }
                    }
                }
                Err(e) => out.report.push(list_denied(ctx, &principal, sub, &e)),
            }
            for (host, facts) in out.registries.clone() {
                role_facts(
                    ctx, http, &cloud, &arm_token, &host, &facts, &principal, contexts, out,
                )
                .await;
            }
            if !config.acr_tasks_uses().is_empty() {
                subscriptions::tasks_offer(ctx, &arm_session, sub, out).await;
            }
        }

        subscriptions::azure_login_steps(ctx, &arm_session, &principal, out).await;
        out.arm = Some(arm_session);

        // The data plane: the ACR refresh token this identity gets, for the registry check.
        if !hosts.is_empty() {
            match bounded_token(ctx, &cloud, method, &session, cloud.acr_scope).await {
                Ok(acr_token) => {
                    let registry = ctx.registry_client(http.clone());
                    for host in &hosts {
                        exchange(ctx, &registry, host, &acr_token, &principal, out).await;
                    }
                    out.requests += registry.request_count();
                }
                Err(e) => {
                    out.report
                        .push(entra_finding(ctx, &cloud, method, &e, session.presented()))
                }
            }
        }
        if method == Method::AzureCli {
            cli_session::renewal(ctx, session.earliest_expiry(), out);
        } else {
            cli_session::before_later_calls(ctx, out);
        }
        finished.notify_one();
    };
    let ((), expiry) = tokio::join!(rest, expiry);
    outcome.report.findings.extend(expiry.findings);
    outcome.report.verified.extend(expiry.verified);
    outcome.requests += expiry.requests;
    outcome
}

/// P24: a docker credential for an ACR registry whose username is one of the registry's
/// repository-scoped tokens (`GET {registry}/tokens/{name}`, then its scope map) must
/// grant what the build does there: `content/read` on every context repository,
/// `content/write` too on push targets. CRED_TOKEN_SCOPE_MISSING names what is missing.
pub async fn token_scopes(
    ctx: &Ctx,
    outcome: &mut Outcome,
    host_credentials: &[HostCredential],
    contexts: &[ContextInfo],
) {
    let Some(session) = outcome.arm.take() else {
        return;
    };
    for hc in host_credentials {
        let Some(c) = hc
            .credential
            .as_ref()
            .filter(|c| c.kind() == CredentialKind::UsernamePassword)
        else {
            continue;
        };
        let user = c.username();
        let Some((host, facts)) = outcome
            .registries
            .iter()
            .find(|(h, _)| h.eq_ignore_ascii_case(&hc.host))
            .map(|(h, f)| (h.clone(), f.clone()))
        else {
            continue;
        };
        if user == ACR_TOKEN_USER || super::credentials::is_admin_user(user, &facts) {
            continue;
        }
        let needs = token_needs(&host, contexts);
        if needs.is_empty() {
            continue;
        }
        let looked_up = bounded_arm(
            ctx,
            &session.cloud,
            arm::token_scope_map(
                &session.http,
                &session.cloud,
                &session.token,
                &facts.id,
                user,
                &mut outcome.requests,
            ),
        )
        .await;
        match looked_up {
            Ok(None) => {}
            // The registry check presents this token and proves its rights on the data
            // plane; its fixes name the scope map.
            Ok(Some(map))
                if !outcome
                    .credentials
                    .iter()
                    .any(|a| a.host.eq_ignore_ascii_case(&host)) =>
            {
                outcome.report.verified(format!(
                    "{host}: the docker credential is the token `{user}`, bound to the scope map {} ({})",
                    map.name,
                    map.actions.join(", ")
                ));
                outcome.scope_maps.insert(host, (user.to_string(), map));
            }
            Ok(Some(map)) => {
                let missing: Vec<(String, Vec<&str>)> = needs
                    .iter()
                    .map(|(repo, push)| {
                        let wanted: &[&str] = if *push {
                            &["content/read", "content/write"]
                        } else {
                            &["content/read"]
                        };
                        let lacks = wanted
                            .iter()
                            .copied()
                            .filter(|a| !map.grants(repo, a))
                            .collect();
                        (repo.clone(), lacks)
                    })
                    .filter(|(_, lacks): &(String, Vec<&str>)| !lacks.is_empty())
                    .collect();
                if missing.is_empty() {
                    outcome.report.verified(format!(
                        "{host}: the docker credential is the token `{user}`; its scope map {} grants what the build needs ({})",
                        map.name,
                        needs.keys().cloned().collect::<Vec<_>>().join(", ")
                    ));
                } else {
                    outcome
                        .report
                        .push(token_scope_missing(hc, &facts, user, &map, &missing));
                }
            }
            Err(e) => outcome.report.verified(format!(
                "{host}: the token `{user}` and its scope map could not be read in ARM ({})",
                e.describe()
            )),
        }
    }
    outcome.arm = Some(session);
}

/// The repositories the build uses on `host`, each with whether it pushes there.
fn token_needs(host: &str, contexts: &[ContextInfo]) -> BTreeMap<String, bool> {
    let mut needs: BTreeMap<String, bool> = BTreeMap::new();
    for c in contexts {
        if let (Some(h), Some(repo)) = (&c.registry, &c.repository)
            && h.eq_ignore_ascii_case(host)
        {
            *needs.entry(repo.clone()).or_default() |= c.role.pushes();
        }
    }
    needs
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
                format!("GET {}/providers/Microsoft.Authorization/permissions → {}. Without its effective permissions the run cannot tell which roles grant pull or push here (nor, in ABAC mode, whether a registry role grants nothing), so role fixes rest on the data-plane token below, which decides{}.", facts.id, e.describe(), tasks_unverified(&ctx.config)),
                format!("Nothing to fix if pulls work. To have the role facts checked, give the identity Reader on the registry: az role assignment create --assignee {} --role Reader --scope {}", principal.client_id.as_deref().unwrap_or("<client-id>"), facts.id),
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
    out.arm_rights.insert(host.to_string(), (pull, push));
    out.lists_credentials.insert(
        host.to_string(),
        arm::permits(&perms, arm::LIST_CREDENTIALS_ACTION, false),
    );
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
        c.role == Role::Pull
            && crate::reference::is_oci_context(&c.reference)
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
    if tasks_run_on(ctx, host, contexts)
        && let Some(f) = tasks_network(ctx, host, facts, oci)
    {
        out.report.push(f);
    }
}

/// TASKS_NETWORK_BYPASS: ACR Tasks agents run on Azure's shared machines, outside the
/// registry's network. A registry closed to the public (`publicNetworkAccess: Disabled`)
/// is reached only from a dedicated agent pool in its virtual network
/// (https://learn.microsoft.com/azure/container-registry/tasks-agent-pools); one that
/// denies by default lets the agent's system-identity requests through only with
/// `networkRuleBypassAllowedForTasks: true` since 2025-06
/// (https://learn.microsoft.com/azure/container-registry/manage-network-bypass-policy-for-tasks).
fn tasks_network(ctx: &Ctx, host: &str, facts: &RegistryFacts, oci: bool) -> Option<Finding> {
    let is =
        |v: &Option<String>, want: &str| v.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(want));
    let build = &ctx.config.build;
    // Every Tasks run on a dedicated agent pool (`--agent-pool`), which runs inside
    // the network: nothing to say.
    if !oci && !build.acr_tasks.is_empty() && build.acr_tasks_pooled.len() == build.acr_tasks.len()
    {
        return None;
    }
    let uses = ctx.config.acr_tasks_uses().join(", ");
    let fails = if oci {
        "the oci:// context download and the push fail"
    } else {
        "the run fails when its agent pulls the base images from or pushes the image to the registry"
    };
    let name = &facts.name;
    let pool = format!(
        "az acr agentpool create -r {name} -n pool1 --tier S2 --subnet-id <subnet-id in the registry's virtual network>\nthen queue the build on it: az acr build -r {name} --agent-pool pool1 … (dedicated agent pools need the Premium tier)"
    );
    if is(&facts.public_network_access, "Disabled") {
        return Some(finding(
            Code::TASKS_NETWORK_BYPASS,
            Severity::Warning,
            format!(
                "the ACR Tasks agent cannot reach {host}, whose public network access is disabled"
            ),
            format!(
                "The build runs ACR Tasks ({uses}). ARM says {host} has publicNetworkAccess Disabled: only private endpoints reach it. The default Tasks agents run on Azure's shared machines outside its virtual network, so {fails} (403, \"client with IP … is not allowed access\")."
            ),
            format!(
                "Run the build on a dedicated agent pool in the registry's virtual network:\n{pool}\nOr build on the runner instead (docker buildx on a runner that reaches the private endpoint)."
            ),
        ));
    }
    if is(&facts.network_default_action, "Deny") && facts.bypass_for_tasks == Some(false) {
        return Some(finding(
            Code::TASKS_NETWORK_BYPASS,
            Severity::Warning,
            format!("the ACR Tasks agent will be refused by {host}'s network rules"),
            format!(
                "The build runs ACR Tasks ({uses}). {host} denies by default (networkRuleSet.defaultAction Deny) and networkRuleBypassAllowedForTasks is false, so the Tasks agent's requests with its system identity are refused (403) and {fails}. The runner's own address in the IP rules does not help: the agent runs elsewhere."
            ),
            format!(
                "az acr update -n {name} --allow-trusted-services true and set networkRuleBypassAllowedForTasks: az resource update --ids {} --set properties.networkRuleBypassAllowedForTasks=true\nOr run the build on a dedicated agent pool in the network:\n{pool}",
                facts.id
            ),
        ));
    }
    None
}

/// Whether the build queues ACR Tasks runs on `host`: the build's registry, a push
/// target or an `oci://` context there.
fn tasks_run_on(ctx: &Ctx, host: &str, contexts: &[ContextInfo]) -> bool {
    if ctx.config.acr_tasks_uses().is_empty() {
        return false;
    }
    ctx.config
        .registry
        .as_ref()
        .is_some_and(|r| r.host.eq_ignore_ascii_case(host))
        || contexts.iter().any(|c| {
            c.registry
                .as_deref()
                .is_some_and(|r| r.eq_ignore_ascii_case(host))
                && (c.role == Role::Push || crate::reference::is_oci_context(&c.reference))
        })
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
    if !tasks_run_on(ctx, host, contexts) {
        return;
    }
    let uses = ctx.config.acr_tasks_uses();
    let missing: Vec<&str> = arm::TASKS_ACTIONS
        .iter()
        .copied()
        .filter(|a| !arm::permits(perms, a, false))
        .collect();
    let short = |a: &str| {
        a.trim_start_matches("Microsoft.ContainerRegistry/registries/")
            .to_string()
    };
    let identities = other_tasks_identities(ctx, principal);
    let others: Vec<&str> = identities.iter().map(|(s, _, _)| s.as_str()).collect();
    let others_note = if others.is_empty() {
        String::new()
    } else {
        format!(
            " These are the rights of the identity this run signed in as ({}), not of the one the build signs in as: {}, so the runs it queues need these actions for that identity.",
            principal.describe(),
            others.join("; ")
        )
    };
    if missing.is_empty() {
        let others_fact = if others.is_empty() {
            String::new()
        } else {
            format!(
                " (not the identity of {}, which was not checked)",
                others.join("; ")
            )
        };
        out.report.verified(format!(
            "{host}: ARM permissions of {} allow ACR Tasks runs ({}){others_fact}",
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
    let mut fix = if facts.abac() {
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
    for (_, other, label) in &identities {
        fix.push_str(&format!(
            "\nStep `{label}` signs in as {other}: give that identity the same role:\naz role assignment create --assignee {other} --role {role} --scope {id}",
            role = if facts.abac() {
                "\"Container Registry Tasks Contributor\""
            } else {
                "Contributor"
            },
            id = facts.id
        ));
    }
    out.report.push(finding(
        Code::TASKS_ROLE_MISSING,
        Severity::Error,
        format!("{} may not queue ACR Tasks runs on {host}", principal_short(principal)),
        format!(
            "The build runs ACR Tasks ({}). `az acr build` and `az acr run` go through ARM: they ask for a source upload URL (listBuildSourceUploadUrl/action), queue the run (scheduleRun/action) and stream its log (runs/listLogSasUrl/action). The effective permissions of {} on {} (Microsoft.Authorization/permissions) lack {}. AcrPull and AcrPush grant none of these, so the build fails with `Could not get SAS URL to upload` or `AuthorizationFailed` before anything is built.{others_note}",
            uses.join(", "),
            principal.describe(),
            facts.id,
            missing.join(", ")
        ),
        fix,
    ));
}

/// The job's ACR Tasks builds that sign in as another identity than the one this run
/// proved: an `Azure/acr-build` step's `service_principal`, or the client id of the
/// Azure CLI session an `az acr build`/`az acr run` runs in, written literally or as an
/// expression that resolves, differs from the principal's client id (compared as
/// ID_NO_SUBSCRIPTION compares azure/login's `client-id`). One that cannot be resolved
/// is not judged. Each: (what the message says, the client id, the step's label).
fn other_tasks_identities(ctx: &Ctx, principal: &Principal) -> Vec<(String, String, String)> {
    let Some(client) = principal.client_id.as_deref() else {
        return Vec::new();
    };
    ctx.acr_build_logins
        .iter()
        .filter(|l| !l.same_client_id_input)
        .filter_map(|l| {
            let value = l.client_id_value.as_deref()?.trim();
            (!value.is_empty() && !value.eq_ignore_ascii_case(client)).then(|| {
                let written = l.client_id.as_deref().unwrap_or(value);
                let input = match &l.session {
                    Some(session) => session.clone(),
                    None if written == value => "its `service_principal` input".to_string(),
                    None => format!("`service_principal: {written}`"),
                };
                let step = format!(
                    "step `{}` ({}) signs in as {value} ({input})",
                    l.step.label,
                    l.location.file_line(),
                );
                (step, value.to_string(), l.step.label.clone())
            })
        })
        .collect()
}

/// Whether ARM shows the registry closed to the public internet or denying by default.
fn network_restricted(facts: &RegistryFacts) -> bool {
    let is =
        |v: &Option<String>, want: &str| v.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(want));
    is(&facts.public_network_access, "Disabled") || is(&facts.network_default_action, "Deny")
}

/// ACR's token exchange for `host` (`crate::registry::acr`): the refresh token a build
/// using this identity presents, or why the registry refused the Entra token.
async fn exchange(
    ctx: &Ctx,
    registry: &crate::registry::Client,
    host: &str,
    acr_token: &str,
    principal: &Principal,
    out: &mut Outcome,
) {
    use crate::registry::TokenError;
    let who = principal.describe();
    match registry
        .acr_exchange(host, acr_token, principal.tenant_id.as_deref())
        .await
    {
        Ok(refresh) => {
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
        // The registry check reports reachability with the evidence; no duplicate.
        Err(TokenError::Net(e)) => out.report.verified(format!(
            "{host}: token exchange not completed ({})",
            crate::registry::wire::shorten(&e.detail, 120)
        )),
        Err(TokenError::BadRealm(why)) => out
            .report
            .verified(format!("{host}: token exchange not attempted ({why})")),
        // Network rules refuse the exchange as they refuse everything else from this
        // runner: the registry check's NET_FORBIDDEN says so, with ARM's rules.
        Err(TokenError::Refused(reply) | TokenError::Unexpected(reply))
            if reply.status == 403
                && out.registries.get(host).is_some_and(network_restricted) =>
        {
            out.report.verified(format!(
                "{host}: /oauth2/exchange answered 403, as the registry's network rules refuse this runner ({})",
                crate::registry::wire::shorten(&reply.describe(), 160)
            ))
        }
        Err(TokenError::Refused(reply) | TokenError::Unexpected(reply)) => {
            let mut message = format!(
                "POST {} (grant_type=access_token) → {}. The identity is {who}.",
                reply.url,
                reply.describe()
            );
            let fix = "Check that the registry accepts Entra tokens (not disabled by policy) and that the identity's tenant is the registry's; `az acr login -n <name> --expose-token` reproduces the exchange.";
            let facts = out.registries.get(host);
            let Some(login) = later_acr_login(ctx, host, facts, principal) else {
                out.report.push(finding(
                    Code::CRED_REJECTED,
                    Severity::Error,
                    format!("{host} refused the Entra token of the identity"),
                    message,
                    fix,
                ));
                return;
            };
            let lists = out.lists_credentials.get(host).copied();
            let (fall_back, as_admin) = admin_fall_back(login, facts, lists);
            message.push_str(&fall_back);
            let outcome = if as_admin {
                "falls back to the admin user"
            } else {
                "will fail"
            };
            let at = &login.call.location;
            out.report.push(
                finding(
                    Code::CRED_REJECTED,
                    Severity::Error,
                    format!(
                        "{host} refused the Entra token of the identity: `az acr login` in step `{}` {outcome}",
                        login.call.step.label
                    ),
                    message,
                    format!("Before step `{}` runs: {fix}", login.call.step.label),
                )
                .at(&at.file, at.line, at.column),
            );
        }
    }
}

/// The first `az acr login` after acr-preflight's step on `host`'s registry that runs
/// as `principal` (the rule of ARM_READ_DENIED's later commands).
fn later_acr_login<'a>(
    ctx: &'a Ctx,
    host: &str,
    facts: Option<&RegistryFacts>,
    principal: &Principal,
) -> Option<&'a crate::workflow::AcrAzCall> {
    let name = crate::cloud::acr_registry(host);
    ctx.acr_az_calls.iter().find(|c| {
        c.action.is_none()
            && (name.is_some_and(|n| c.registry.eq_ignore_ascii_case(n))
                || facts.is_some_and(|f| c.registry.eq_ignore_ascii_case(&f.name)))
            && c.call.runs_as(principal.client_id.as_deref()) == Some(true)
    })
}

/// What `az acr login` does once its own exchange is refused: azure-cli falls back to
/// the admin user through ARM (`_get_credentials` in
/// https://github.com/Azure/azure-cli/blob/dev/src/azure-cli/azure/cli/command_modules/acr/_docker_utils.py):
/// with the registry read and `adminUserEnabled` true it calls `listCredentials`; with
/// it false, or without the registry, it warns `Unable to get admin user credentials
/// with message: …` and, with no terminal to prompt on, fails. `lists` is whether the
/// identity's effective permissions hold `listCredentials/action` (None: not read). The
/// flag returned is true when the login goes through as the admin user.
fn admin_fall_back(
    login: &crate::workflow::AcrAzCall,
    facts: Option<&RegistryFacts>,
    lists: Option<bool>,
) -> (String, bool) {
    const WARNS: &str = "Unable to get admin user credentials with message:";
    const FAILS: &str = "Unable to authenticate using AAD or admin login credentials. Please specify both username and password in non-interactive mode.";
    let how = match login.call.session() {
        "" => String::new(),
        s => format!(" ({s})"),
    };
    let then = match facts.and_then(|f| f.admin_user_enabled.map(|e| (f, e))) {
        Some((_, false)) => format!(
            "ARM says the registry's adminUserEnabled is false, so it prints `{WARNS} Admin user is disabled.` and fails: `{FAILS}`"
        ),
        Some((f, true)) => match lists {
            Some(true) => format!(
                "ARM says the registry's adminUserEnabled is true, and the identity's effective permissions on it hold {}, so POST {}/listCredentials answers and the job logs in as the admin user `{}`, not as this identity: every later push and pull runs with the registry's shared admin password, and this identity's roles are never used",
                arm::LIST_CREDENTIALS_ACTION,
                f.id,
                f.name
            ),
            Some(false) => format!(
                "ARM says the registry's adminUserEnabled is true, so it calls POST {}/listCredentials; the identity's effective permissions on the registry lack {}, so it prints `{WARNS} (AuthorizationFailed) …` and fails: `{FAILS}`",
                f.id,
                arm::LIST_CREDENTIALS_ACTION
            ),
            None => format!(
                "ARM says the registry's adminUserEnabled is true, so it calls POST {}/listCredentials, which needs {}: without it, `{WARNS} (AuthorizationFailed) …` and `{FAILS}`; with it, the job logs in as the admin user `{}`, not as this identity",
                f.id,
                arm::LIST_CREDENTIALS_ACTION,
                f.name
            ),
        },
        None => format!(
            "this run has no ARM facts for the registry, so the way it fails is not known: without the registry read azure-cli has no admin user to fall back to (`{WARNS}` with the lookup's error, then `{FAILS}`); with it, a disabled admin user gives `{WARNS} Admin user is disabled.`"
        ),
    };
    let as_admin = lists == Some(true) && facts.is_some_and(|f| f.admin_user_enabled == Some(true));
    (
        format!(
            " `az acr login` ({}) runs after this step as the same identity{how}; its exchange is refused the same way (`Unable to get AAD authorization tokens with message: …`), and azure-cli falls back to the registry's admin user: {then}.",
            login.call.location.file_line()
        ),
        as_admin,
    )
}
