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
