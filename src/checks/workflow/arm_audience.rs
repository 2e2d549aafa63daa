//! WORKFLOW_ARM_AUDIENCE_TOKEN: a step hands an Entra token with the Azure CLI's default
//! (ARM) audience to a registry whose `azureADAuthenticationAsArmPolicy` is `disabled`.
//! Such a registry accepts only tokens with the ACR audience
//! (https://learn.microsoft.com/azure/container-registry/container-registry-disable-authentication-as-arm);
//! acr-preflight itself asks for the ACR audience, so it passes while that step fails.
//! Settled once the identity check has read the registry in ARM.

use super::*;
use crate::azure::arm::RegistryFacts;
use std::collections::BTreeMap;

/// The registry the step's token goes to, when ARM says it refuses ARM-audience tokens:
/// the written host, or the only such registry when the host is not written literally.
fn refusing<'a>(
    written: Option<&str>,
    registries: &'a BTreeMap<String, RegistryFacts>,
) -> Option<(&'a str, &'a RegistryFacts, bool)> {
    let disabled: Vec<(&String, &RegistryFacts)> = registries
        .iter()
        .filter(|(_, f)| {
            f.arm_audience_policy
                .as_deref()
                .is_some_and(|p| p.eq_ignore_ascii_case("disabled"))
        })
        .collect();
    match written {
        Some(host) => disabled
            .into_iter()
            .find(|(h, _)| crate::reference::same_registry(h, host))
            .map(|(h, f)| (h.as_str(), f, true)),
        None if disabled.len() == 1 => disabled.first().map(|(h, f)| (h.as_str(), *f, false)),
        None => None,
    }
}

/// One finding per step that hands an ARM-audience token to such a registry.
pub fn arm_audience_tokens(
    report: &mut CheckReport,
    discovery: &Discovery,
    registries: &BTreeMap<String, RegistryFacts>,
) {
    for step in &discovery.arm_tokens {
        let Some((host, facts, written)) = refusing(step.found.registry.as_deref(), registries)
        else {
            continue;
        };
        let name = if facts.name.is_empty() {
            host.split('.').next().unwrap_or(host)
        } else {
            facts.name.as_str()
        };
        let destination = if written {
            format!("{} on {host}", step.found.handed_to)
        } else {
            format!(
                "{} (its registry is not written literally; {host} is the registry ARM reports with the policy disabled)",
                step.found.handed_to
            )
        };
        report.push(
            finding(
                Code::WORKFLOW_ARM_AUDIENCE_TOKEN,
                Severity::Error,
                format!(
                    "step `{}` gives {host} an ARM-audience token, which the registry refuses",
                    step.step.label
                ),
                format!(
                    "`{}` ({}) asks for no ACR audience, so Entra issues a token for Azure Resource Manager (the Azure CLI's default), and the step hands it to {destination}. ARM says {host} has `policies.azureADAuthenticationAsArmPolicy.status: disabled`: it accepts only Entra tokens whose audience is https://containerregistry.azure.net, so this step fails. acr-preflight asks for the ACR audience itself, so its own sign-in passes either way.",
                    step.found.command,
                    step.location.file_line()
                ),
                format!(
                    "Ask for the ACR audience in that step:\naz account get-access-token --resource https://containerregistry.azure.net --query accessToken -o tsv\nor log in with `az acr login -n {name}` (azure-cli 2.40.0 and later read this policy and ask for the ACR audience when it is disabled, provided the identity may read the registry in ARM). If the registry's owners allow ARM-audience tokens again:\naz acr config authentication-as-arm update -r {name} --status enabled"
                ),
            )
            .at(
                &step.location.file,
                step.location.line,
                step.location.column,
            ),
        );
    }
}
