//! The Azure CLI session the job's `az acr` calls run in (issue 13).
//!
//! - P15, WORKFLOW_AZ_SUBSCRIPTION: `az acr …` without `--subscription` looks the
//!   registry up through ARM in the session's active subscription. One in another
//!   subscription is not found there: `az acr build`, `az acr run` and `az acr import`
//!   fail with "The resource with name '<reg>' and type
//!   'Microsoft.ContainerRegistry/registries' could not be found in subscription
//!   '<name> (<id>)'."; `az acr login` and `az acr repository` then fall back to the login
//!   server `<name>.azurecr.io` (`_get_credentials` in
//!   https://github.com/Azure/azure-cli/blob/dev/src/azure-cli/azure/cli/command_modules/acr/_docker_utils.py),
//!   which is wrong for a registry whose login server carries a hash. Settled once the
//!   identity check has read the registry in ARM.
//! - P13, ID_CLI_VERSION: Azure CLI 2.59.0 cannot keep an OIDC sign-in past GitHub's ID
//!   token (see [`crate::azure::cli_install`]).

use super::*;
use crate::azure::arm::RegistryFacts;
use crate::azure::cli_install;
use crate::azure::cli_profile;
use crate::checks::cli_version::version_finding;
use discover::AzCommand;
use std::collections::BTreeMap;

/// Whether `a` changes the session's active subscription: a sign-in or `az account set`.
fn selects(a: &AzCommand) -> bool {
    a.login.is_some() || a.what == "az account set"
}

/// The subscription a call runs in, and how acr-preflight knows it; `None` when it
/// cannot be known (a secret, a sign-in that picks az's default).
fn session_subscription(
    config: &Config,
    found: &[AzCommand],
    call: &AzCommand,
) -> Option<(String, String)> {
    let selector = found
        .iter()
        .rfind(|s| selects(s) && s.as_root == call.as_root && call.after(&s.step, &s.location));
    let from_step = |s: &AzCommand| match &s.subscription {
        Some(Ok(id)) => Some((
            id.clone(),
            format!("{} ({}) selects it", s.what, s.location.file_line()),
        )),
        _ => None,
    };
    match selector {
        // Selected after acr-preflight ran: only the workflow tells.
        Some(s) if s.after_preflight => from_step(s),
        // Otherwise the session acr-preflight sees on this runner is the one the call gets.
        _ if call.after_preflight && config.env.container.is_none() && !call.as_root => {
            let dir = cli_profile::config_dir(
                config.env.azure_config_dir.as_deref(),
                config.env.home.as_deref(),
            )?;
            match cli_profile::active_subscription(&dir) {
                Some(active) => Some((
                    active.id.clone(),
                    format!(
                        "it is the active subscription of the Azure CLI session in {} ({}) when acr-preflight ran",
                        dir.display(),
                        active.describe()
                    ),
                )),
                None => selector.and_then(from_step),
            }
        }
        Some(s) => from_step(s),
        None => None,
    }
}

/// WORKFLOW_AZ_SUBSCRIPTION at each `az acr` call without `--subscription` whose
/// session's subscription is not the one ARM shows the registry in.
pub fn az_subscriptions(
    report: &mut CheckReport,
    config: &Config,
    discovery: &Discovery,
    registries: &BTreeMap<String, RegistryFacts>,
) {
    for call in discovery
        .az
        .iter()
        .filter(|a| a.needs_token && a.subscription.is_none())
    {
        let Some(name) = call.registry.as_deref() else {
            continue;
        };
        let Some((host, facts)) = registries
            .iter()
            .find(|(h, f)| f.name.eq_ignore_ascii_case(name) || h.eq_ignore_ascii_case(name))
        else {
            continue;
        };
        let Some(registry_sub) = facts.subscription() else {
            continue;
        };
        let Some((active, how)) = session_subscription(config, &discovery.az, call) else {
            continue;
        };
        if active.eq_ignore_ascii_case(registry_sub) {
            report.verified(format!(
                "`{}` ({}) runs in subscription {active}, which holds {host}: {how}",
                call.what,
                call.location.file_line()
            ));
            continue;
        }
        report.push(wrong_subscription(
            call,
            host,
            facts,
            registry_sub,
            &active,
            &how,
        ));
    }
}

fn wrong_subscription(
    call: &AzCommand,
    host: &str,
    facts: &RegistryFacts,
    registry_sub: &str,
    active: &str,
    how: &str,
) -> Finding {
    let name = &facts.name;
    let flag = if ["az acr build", "az acr run"].contains(&call.what.as_str()) {
        "-r"
    } else {
        "-n"
    };
    let not_found = format!(
        "The resource with name '{name}' and type 'Microsoft.ContainerRegistry/registries' could not be found in subscription"
    );
    let fallback = facts
        .login_server
        .eq_ignore_ascii_case(&format!("{name}.azurecr.io"));
    let (severity, effect) = if call.resolves_through_arm() {
        (
            Severity::Error,
            format!(
                "does not find it there, and the step fails with \"{not_found} '… ({active})'\""
            ),
        )
    } else if fallback {
        (
            Severity::Warning,
            format!(
                "does not find it there (\"{not_found}\" in its debug log) and falls back to the login server {name}.azurecr.io, which works only while the identity may sign in to it without ARM; commands that need the registry's ARM resource fail"
            ),
        )
    } else {
        (
            Severity::Error,
            format!(
                "does not find it there and falls back to the login server {name}.azurecr.io, but ARM says its login server is {}: the step fails",
                facts.login_server
            ),
        )
    };
    finding(
        Code::WORKFLOW_AZ_SUBSCRIPTION,
        severity,
        format!(
            "`{}` in step `{}` looks for {name} in subscription {active}, but it is in {registry_sub}",
            call.what, call.step.label
        ),
        format!(
            "`{}` ({}) names no `--subscription`, so az resolves registry `{name}` through ARM in the session's active subscription {active} ({how}). ARM shows {host} in subscription {registry_sub} ({}): az {effect}.",
            call.what,
            call.location.file_line(),
            facts.id
        ),
        format!(
            "Select the registry's subscription before step `{}`: az account set -s {registry_sub}\n(or set `subscription-id: {registry_sub}` on the azure/login step), or pass it to the command: {} {flag} {name} --subscription {registry_sub}",
            call.step.label,
            call.what
        ),
    )
    .at(&call.location.file, call.location.line, call.location.column)
}

/// The first call that needs a token after a sign-in with a federated token (OIDC) on
/// its side of `sudo`, after acr-preflight's step, with that sign-in.
fn federated_call(found: &[AzCommand]) -> Option<(&AzCommand, &AzCommand)> {
    found
        .iter()
        .filter(|a| a.needs_token && a.after_preflight)
        .find_map(|call| {
            let signin = found.iter().rfind(|s| {
                s.login.is_some() && s.as_root == call.as_root && call.after(&s.step, &s.location)
            })?;
            (signin.login == Some(true)).then_some((call, signin))
        })
}

/// ID_CLI_VERSION at the job's first az call after an OIDC sign-in, when the Azure CLI
/// on PATH is a release that cannot renew such a session. The version is read only then.
pub(super) fn cli_version(report: &mut CheckReport, config: &Config, found: &discover::Found) {
    if config.env.container.is_some() {
        return;
    }
    let Some((call, signin)) = federated_call(&found.az) else {
        return;
    };
    let Some(installed) = cli_install::installed(config.env.path.as_deref()) else {
        return;
    };
    if !installed.breaks_oidc_renewal() {
        report.verified(format!(
            "Azure CLI {} ({}) keeps an OIDC sign-in's tokens in its cache",
            installed.version,
            installed.az.display()
        ));
        return;
    }
    let at = format!(
        "`{}` ({}) comes after {} ({}), which signs in with a GitHub ID token",
        call.what,
        call.location.file_line(),
        signin.what,
        signin.location.file_line()
    );
    report.push(version_finding(CheckId::Workflow, &installed, &at).at(
        &call.location.file,
        call.location.line,
        call.location.column,
    ));
}
