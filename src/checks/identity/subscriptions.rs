//! What the identity's subscriptions say: the configured subscription's offer for an
//! ACR Tasks build (P21), and, for a registry the configured subscription does not hold,
//! the other subscriptions the identity can see (P15).

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
    let listed = bounded_arm(
        ctx,
        cloud,
        arm::list_subscriptions(http, cloud, token, &mut out.requests),
    )
    .await;
    let subscriptions = match listed {
        Ok(list) => list,
        Err(e) => {
            out.report.verified(format!(
                "the subscriptions the identity can see could not be listed ({})",
                e.describe()
            ));
            return Vec::new();
        }
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
