//! What the identity's subscriptions say: the configured subscription's offer for an
//! ACR Tasks build (P21), for a registry the configured subscription does not hold,
//! the other subscriptions the identity can see (P15), and, for the job's azure/login
//! steps that sign in as this identity, whether it has any subscription at all (P11).

use super::*;

/// P21: Azure refuses ACR Tasks requests from free-trial subscriptions
/// (`TasksOperationsNotAllowed`, as reported in Azure-Samples/azure-search-openai-demo#2220
/// and MicrosoftDocs/azure-aks-docs#112): one `GET /subscriptions/{id}` when the build
/// uses ACR Tasks, read for `subscriptionPolicies.quotaId` (`FreeTrial_2014-09-01`).
pub(super) async fn tasks_offer(ctx: &Ctx, session: &ArmSession, sub: &str, out: &mut Outcome) {
    let read = bounded_arm(
        ctx,
        &session.cloud,
        arm::subscription(
            &session.http,
            &session.cloud,
            &session.token,
            sub,
            &mut out.requests,
        ),
    )
    .await;
    let subscription = match read {
        Ok(s) => s,
        Err(e) => {
            out.report.verified(format!(
                "subscription {sub}: its offer could not be read to tell whether it allows ACR Tasks ({})",
                e.describe()
            ));
            return;
        }
    };
    let quota = subscription.quota_id.as_deref().unwrap_or("unknown");
    if !quota.to_ascii_lowercase().starts_with("freetrial") {
        out.report.verified(format!(
            "subscription {}: offer {quota}, not a free trial (ACR Tasks is not blocked for it)",
            subscription.describe()
        ));
        return;
    }
    let registry = ctx
        .config
        .registry
        .as_ref()
        .and_then(|r| r.acr_name.clone())
        .unwrap_or_else(|| "<registry>".into());
    out.report.push(finding(
        Code::TASKS_SUBSCRIPTION_UNSUPPORTED,
        Severity::Warning,
        format!(
            "subscription {} is a free trial, where ACR Tasks runs are refused",
            subscription.describe()
        ),
        format!(
            "The build runs ACR Tasks ({}). GET /subscriptions/{} shows subscriptionPolicies.quotaId `{quota}`: Azure refuses ACR Tasks requests from free-trial subscriptions, so `az acr build` and `az acr run` fail with `(TasksOperationsNotAllowed) ACR Tasks requests for the registry {registry} and {} are not permitted.` before anything is built.",
            ctx.config.acr_tasks_uses().join(", "),
            subscription.id,
            subscription.id
        ),
        format!(
            "Build with docker buildx on the runner and push (docker/setup-buildx-action and docker/build-push-action, after `az acr login -n {registry}`), or upgrade the subscription {} to pay-as-you-go (Azure portal: Subscriptions > Upgrade) or ask Azure support to allow ACR Tasks for it.",
            subscription.id
        ),
    ));
}

/// Another subscription the identity can see, with the registries it may read there.
#[derive(Debug, Clone)]
pub(super) struct Holding {
    pub subscription: arm::Subscription,
    pub registries: Vec<RegistryFacts>,
}

/// At most this many other subscriptions are searched for a registry not found.
const MAX_OTHER_SUBSCRIPTIONS: usize = 10;

/// P15: the subscriptions other than `sub` that the identity can see (`GET /subscriptions`,
/// at most [`MAX_OTHER_SUBSCRIPTIONS`]), each with its registries; those it may not list
/// are left out. Under the run's one deadline; read once per run, only when a registry
/// is not in `sub`.
pub(super) async fn others(
    ctx: &Ctx,
    session: &ArmSession,
    sub: &str,
    out: &mut Outcome,
) -> Vec<Holding> {
    let (http, cloud, token) = (&session.http, &session.cloud, session.token.as_str());
    let Some(subscriptions) = list_or_note(ctx, session, out, "").await else {
        return Vec::new();
    };
    let mut holdings = Vec::new();
    for subscription in subscriptions
        .into_iter()
        .filter(|s| !s.id.eq_ignore_ascii_case(sub))
        .take(MAX_OTHER_SUBSCRIPTIONS)
    {
        let registries = bounded_arm(
            ctx,
            cloud,
            arm::list_registries(http, cloud, token, &subscription.id, &mut out.requests),
        )
        .await
        .unwrap_or_default();
        holdings.push(Holding {
            subscription,
            registries,
        });
    }
    holdings
}

/// [`list`], or `None` after noting among the facts that the subscriptions could not be
/// listed (`purpose`, e.g. " for the azure/login steps", says what for).
async fn list_or_note(
    ctx: &Ctx,
    session: &ArmSession,
    out: &mut Outcome,
    purpose: &str,
) -> Option<Vec<arm::Subscription>> {
    match list(ctx, session, out).await {
        Ok(list) => Some(list),
        Err(e) => {
            out.report.verified(format!(
                "the subscriptions the identity can see could not be listed{purpose} ({})",
                e.describe()
            ));
            None
        }
    }
}

/// `GET /subscriptions`: the subscriptions the identity can see, under the run's deadline.
async fn list(
    ctx: &Ctx,
    session: &ArmSession,
    out: &mut Outcome,
) -> Result<Vec<arm::Subscription>, arm::ArmError> {
    bounded_arm(
        ctx,
        &session.cloud,
        arm::list_subscriptions(
            &session.http,
            &session.cloud,
            &session.token,
            &mut out.requests,
        ),
    )
    .await
}

/// The other subscription holding the registry with login server `host` (or, given by
/// name, named `by_name`), with the registry.
pub(super) fn holder<'a>(
    others: &'a [Holding],
    host: &str,
    by_name: Option<&str>,
) -> Option<(&'a arm::Subscription, &'a RegistryFacts)> {
    others.iter().find_map(|h| {
        h.registries
            .iter()
            .find(|r| {
                r.login_server.eq_ignore_ascii_case(host)
                    || by_name.is_some_and(|n| r.name.eq_ignore_ascii_case(n))
            })
            .map(|r| (&h.subscription, r))
    })
}

/// P11: `az login` (which azure/login runs) fails with `No subscriptions found for
/// <client-id>.` when the identity holds no role in any subscription of its tenant,
/// unless `--allow-no-subscriptions` (azure/login's `allow-no-subscriptions: true`) is
/// given. One `GET /subscriptions` when a step of the job signs in as this identity
/// without that input; ID_NO_SUBSCRIPTION at each such step when ARM lists none.
pub(super) async fn azure_login_steps(
    ctx: &Ctx,
    session: &ArmSession,
    principal: &Principal,
    out: &mut Outcome,
) {
    let client = principal.client_id.as_deref();
    let steps: Vec<&crate::workflow::AzureLogin> = ctx
        .azure_logins
        .iter()
        .filter(|l| !l.allow_no_subscriptions)
        .filter(|l| {
            l.same_client_id_input
                || l.client_id_value
                    .as_deref()
                    .zip(client)
                    .is_some_and(|(a, b)| a.trim().eq_ignore_ascii_case(b))
        })
        .collect();
    if steps.is_empty() {
        return;
    }
    let Some(subscriptions) = list_or_note(ctx, session, out, " for the azure/login steps").await
    else {
        return;
    };
    if let Some(first) = subscriptions.first() {
        out.report.verified(format!(
            "ARM lists {} subscription{} for {} (first {}), so azure/login finds one",
            subscriptions.len(),
            if subscriptions.len() == 1 { "" } else { "s" },
            principal.describe(),
            first.describe()
        ));
        return;
    }
    let id = client.unwrap_or("<client-id>");
    let registry = ctx
        .config
        .registry
        .as_ref()
        .and_then(|r| r.acr_name.clone())
        .unwrap_or_else(|| "<registry>".into());
    for step in steps {
        let f = finding(
            Code::ID_NO_SUBSCRIPTION,
            Severity::Error,
            format!(
                "step `{}` will fail: ARM lists no subscription for {id}",
                step.step.label
            ),
            format!(
                "Step `{}` signs in with azure/login as the identity this run signed in as ({}), without `allow-no-subscriptions: true`. GET /subscriptions lists no subscription for it: it holds no role in any subscription of its tenant, or only roles that do not make a subscription visible. `az login`, which azure/login runs, then fails with \"No subscriptions found for {id}.\" and the job stops there, before the build.",
                step.step.label,
                principal.describe()
            ),
            format!(
                "Add `allow-no-subscriptions: true` to the `with:` of step `{}` (the registry roles still work without a subscription), or give the identity a role in the registry's subscription, for example Reader on its resource group: az role assignment create --assignee {id} --role Reader --scope $(az acr show -n {registry} --query id -o tsv | sed 's#/providers/.*##')",
                step.step.label
            ),
        )
        .at(
            step.location.file.clone(),
            step.location.line,
            step.location.column,
        );
        out.report.push(f);
    }
}
