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
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Reads the runner's az profile (`auth-mode: azure-cli`, outside a container action)
/// and reports when its federated token runs out before the tokens az holds.
pub(super) fn renewal(ctx: &super::Ctx, tokens_expire: Option<SystemTime>, out: &mut Outcome) {
    let Some(dir) = profile_dir(ctx) else {
        return;
    };
    active_subscription(&dir, out);
    let Some((session, expires)) = federated_session(ctx, &dir) else {
        return;
    };
    // Without the job's workflow, the workflow check cannot tell its az calls this.
    if ctx.earlier_logins.is_none() {
        cli_version(ctx, &session, out);
    }
    let Some(assertion_expires) = expires else {
        return;
    };
    let Some(token_expires) = tokens_expire else {
        return;
    };
    judge(
        ctx,
        &session,
        assertion_expires,
        token_expires,
        Tokens::GivenToPreflight,
        out,
    );
}

/// az's profile folder on the runner; `None` in a container action, whose home is not
/// the runner user's.
fn profile_dir(ctx: &super::Ctx) -> Option<PathBuf> {
    let env = &ctx.config.env;
    if env.container.is_some() {
        return None;
    }
    cli_profile::config_dir(env.azure_config_dir.as_deref(), env.home.as_deref())
}

/// The Azure CLI session in `dir` when it signed in with a federated token, and that
/// token's `exp` when it has one.
fn federated_session(
    ctx: &super::Ctx,
    dir: &Path,
) -> Option<(cli_profile::CliSession, Option<SystemTime>)> {
    let session = cli_profile::read(dir, &ctx.secrets)?;
    match session.credential {
        Some(SpCredential::Assertion { expires }) => Some((session, expires)),
        _ => None,
    }
}

/// Where the expiry of the tokens az still serves was read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tokens {
    /// The token az gave acr-preflight (`auth-mode: azure-cli`).
    GivenToPreflight,
    /// The latest access token in az's token cache (other auth modes).
    Cached,
}

/// Closer than this to the cached tokens' end, the job's later az calls are not
/// expected to make it: a build between them takes minutes.
const CACHED_MARGIN: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// P13 in the other auth modes: the job calls az after this step, and an earlier step
/// (azure/login with OIDC) left a session signed in with a federated token. Its cached
/// tokens are read from az's token cache; the finding is given only when they end
/// within [`CACHED_MARGIN`], else the deadline is a verified line.
pub(super) fn before_later_calls(ctx: &super::Ctx, out: &mut Outcome) {
    if ctx.config.build.az.is_empty() {
        return;
    }
    let Some(dir) = profile_dir(ctx) else {
        return;
    };
    let Some((session, Some(assertion_expires))) = federated_session(ctx, &dir) else {
        return;
    };
    let Some(token_expires) =
        cli_profile::cached_token_expiry(&dir, &session.client_id, &ctx.secrets)
    else {
        return;
    };
    judge(
        ctx,
        &session,
        assertion_expires,
        token_expires,
        Tokens::Cached,
        out,
    );
}

fn judge(
    ctx: &super::Ctx,
    session: &cli_profile::CliSession,
    assertion_expires: SystemTime,
    token_expires: SystemTime,
    tokens: Tokens,
    out: &mut Outcome,
) {
    let now = SystemTime::now();
    let which = match tokens {
        Tokens::GivenToPreflight => "the token az gave",
        Tokens::Cached => "the latest token az has cached",
    };
    let later = &ctx.config.build.az;
    let comfortable = match tokens {
        Tokens::GivenToPreflight => false,
        Tokens::Cached => token_expires > now + CACHED_MARGIN,
    };
    if tokens == Tokens::GivenToPreflight && assertion_expires >= token_expires {
        out.report.verified(format!(
            "the Azure CLI session ({}) signed in with a federated token valid until {}, after the token az gave ({})",
            session.client_id,
            format_utc(assertion_expires),
            format_utc(token_expires)
        ));
        return;
    }
    if assertion_expires >= token_expires || comfortable {
        let calls = if later.is_empty() || assertion_expires >= token_expires {
            String::new()
        } else {
            format!(
                "; the az calls after this step must run before then: {}",
                later.join(", ")
            )
        };
        out.report.verified(format!(
            "the Azure CLI session ({}) signed in with a federated token valid until {}; {which} is valid until {} ({}){calls}",
            session.client_id,
            format_utc(assertion_expires),
            format_utc(token_expires),
            describe_distance(token_expires, now)
        ));
        return;
    }
    let assertion_state = if assertion_expires <= now {
        "expired"
    } else {
        "expires"
    };
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
            "The Azure CLI session in {} is service principal {} signed in with a federated token (`az login --federated-token`, as azure/login does with OIDC). That token {assertion_state} at {} ({}), and az cannot fetch a new one: it serves only the tokens it has cached, and {} expires at {} ({}). After that, every az call that needs a token (`az acr login`, `az acr build`, …) fails with \"AADSTS700024: Client assertion is not within its valid time range\".{later_text}",
            session.dir.display(),
            session.client_id,
            format_utc(assertion_expires),
            describe_distance(assertion_expires, now),
            match tokens {
                Tokens::GivenToPreflight => "the one it gave acr-preflight",
                Tokens::Cached => "the latest one it has cached (msal_token_cache.json)",
            },
            format_utc(token_expires),
            describe_distance(token_expires, now),
        ),
        format!(
            "Run `az acr login -n {registry}` (or `az acr login -n {registry} --expose-token` for a token to pass to `docker login`) before the long build, while az still has a token; or repeat the azure/login step, with the same inputs, right before the step that calls az."
        ),
    ));
}

/// P15: `az acr` commands without `--subscription` look the registry up in the
/// session's active subscription; says which it is, and where ARM shows each registry.
fn active_subscription(dir: &Path, out: &mut Outcome) {
    let Some(active) = cli_profile::active_subscription(dir) else {
        return;
    };
    let elsewhere: Vec<String> = out
        .registries
        .iter()
        .filter_map(|(host, facts)| {
            let sub = facts.subscription()?;
            (!sub.eq_ignore_ascii_case(&active.id)).then(|| {
                format!(
                    "{host} is in subscription {sub}: `az acr` commands in this session need `--subscription {sub}` (or `az account set -s {sub}` first)"
                )
            })
        })
        .collect();
    out.report.verified(format!(
        "the Azure CLI session in {} has active subscription {}; `az acr` commands without --subscription look registries up there{}",
        dir.display(),
        active.describe(),
        if elsewhere.is_empty() {
            String::new()
        } else {
            format!(" ({})", elsewhere.join("; "))
        }
    ));
}

/// P13: a federated session on an Azure CLI release that cannot renew it.
fn cli_version(ctx: &super::Ctx, session: &cli_profile::CliSession, out: &mut Outcome) {
    let Some(installed) = crate::azure::cli_install::installed(ctx.config.env.path.as_deref())
    else {
        return;
    };
    if installed.breaks_oidc_renewal() {
        let at = format!(
            "The session in {} is service principal {} signed in with a federated token",
            session.dir.display(),
            session.client_id
        );
        out.report.push(crate::checks::cli_version::version_finding(
            crate::findings::CheckId::Identity,
            &installed,
            &at,
        ));
    }
}
