//! P13 at run time: an Azure CLI session signed in with a federated token (azure/login
//! with OIDC runs `az login --service-principal --federated-token <GitHub ID token>`,
//! https://github.com/Azure/login/blob/master/src/Cli/AzureCliLogin.ts) can renew its
//! cached tokens only while that token is valid; GitHub's lasts minutes, the tokens az
//! caches about an hour. Once both have run out, every `az` call that needs a token fails
//! with AADSTS700024 (https://github.com/Azure/azure-cli/issues/28708).

use super::{Outcome, finding};
use crate::azure::cli_profile::{self, SpCredential};
use crate::findings::{Code, Severity};
use crate::jwt::{describe_distance, format_utc};
use std::time::SystemTime;

/// Reads the runner's az profile (`auth-mode: azure-cli`, outside a container action)
/// and reports when its federated token runs out before the tokens az holds.
pub(super) fn renewal(ctx: &super::Ctx, tokens_expire: Option<SystemTime>, out: &mut Outcome) {
    let env = &ctx.config.env;
    if env.container.is_some() {
        return;
    }
    let Some(dir) = cli_profile::config_dir(env.azure_config_dir.as_deref(), env.home.as_deref())
    else {
        return;
    };
    let Some(session) = cli_profile::read(&dir, &ctx.secrets) else {
        return;
    };
    let Some(SpCredential::Assertion {
        expires: Some(assertion_expires),
    }) = session.credential
    else {
        return;
    };
    let Some(token_expires) = tokens_expire else {
        return;
    };
    let now = SystemTime::now();
    if assertion_expires >= token_expires {
        out.report.verified(format!(
            "the Azure CLI session ({}) signed in with a federated token valid until {}, after the token az gave ({})",
            session.client_id,
            format_utc(assertion_expires),
            format_utc(token_expires)
        ));
        return;
    }
    let assertion_state = if assertion_expires <= now {
        "expired"
    } else {
        "expires"
    };
    let later = &ctx.config.build.az;
    let later_text = if later.is_empty() {
        String::new()
    } else {
        format!(" Steps after this one that call az: {}.", later.join(", "))
    };
    let registry = ctx
        .config
        .registry
        .as_ref()
        .and_then(|r| r.acr_name.clone())
        .unwrap_or_else(|| "<registry>".to_string());
    out.report.push(finding(
        Code::ID_CLI_OIDC_RENEWAL,
        Severity::Warning,
        format!(
            "the Azure CLI session can serve tokens only until {} ({})",
            format_utc(token_expires),
            describe_distance(token_expires, now)
        ),
        format!(
            "The Azure CLI session in {} is service principal {} signed in with a federated token (`az login --federated-token`, as azure/login does with OIDC). That token {assertion_state} at {} ({}), and az cannot fetch a new one: it serves only the tokens it has cached, and the one it gave acr-preflight expires at {} ({}). After that, every az call that needs a token (`az acr login`, `az acr build`, …) fails with \"AADSTS700024: Client assertion is not within its valid time range\".{later_text}",
            session.dir.display(),
            session.client_id,
            format_utc(assertion_expires),
            describe_distance(assertion_expires, now),
            format_utc(token_expires),
            describe_distance(token_expires, now),
        ),
        format!(
            "Run `az acr login -n {registry}` (or `az acr login -n {registry} --expose-token` for a token to pass to `docker login`) before the long build, while az still has a token; or repeat the azure/login step, with the same inputs, right before the step that calls az."
        ),
    ));
}
