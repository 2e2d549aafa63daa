//! TASKS_BASE_REGISTRY_CREDENTIAL (P44): an `az acr build` whose Dockerfile starts
//! `FROM` an image on another registry that may be private. The build runs in ACR
//! Tasks, in Azure, with the target registry's own access: the runner's docker login
//! to the other registry never reaches it.

use super::*;
use crate::reference::{Reference, is_docker_hub, parse_normalized, same_registry};

/// Registries whose images anyone may pull: Microsoft's (`mcr.microsoft.com`).
/// Docker Hub counts only for its official images (`library/…`).
const PUBLIC: &[&str] = &["mcr.microsoft.com"];

/// Whether the image is public without doubt.
fn public(r: &Reference, host: &str) -> bool {
    PUBLIC.iter().any(|p| host.eq_ignore_ascii_case(p))
        || (is_docker_hub(host) && r.path.starts_with("library/"))
}

/// One finding per `az acr build` (or Azure/acr-build step) with such base images, on the Dockerfile's first one.
pub(super) fn tasks_base_registries(
    report: &mut CheckReport,
    files: &dyn WorkflowFiles,
    found: &discover::Found,
) {
    // Azure/acr-build runs `az acr build` on its git context; the workspace's checkout
    // stands for the Dockerfile it builds.
    let tasks =
        |b: &&discover::BuildCommand| matches!(b.what.as_str(), "az acr build" | "azure/acr-build");
    for build in found.builds.iter().filter(tasks) {
        let target = found
            .references
            .iter()
            .filter(|r| {
                r.step.index == build.step.index
                    && matches!(
                        r.origin,
                        discover::Origin::AcrBuildImage | discover::Origin::AcrBuildAction
                    )
            })
            .find_map(|r| parse_normalized(r.reference.as_deref()?).ok()?.domain);
        let Some(target) = target else { continue };
        let Some(path) = build.inputs.dockerfile.as_deref() else {
            continue;
        };
        let Ok(text) = files.read(path) else { continue };
        let mut others: Vec<(crate::dockerfile::BaseImage, Reference, String)> = Vec::new();
        for base in crate::dockerfile::base_images(&text, &build.inputs.build_args) {
            if base.unresolved {
                continue;
            }
            let Ok(r) = parse_normalized(&base.image) else {
                continue;
            };
            let host = r.domain.clone().unwrap_or_default();
            if same_registry(&host, &target) || public(&r, &host) {
                continue;
            }
            if !others.iter().any(|(b, _, _)| b.image == base.image) {
                others.push((base, r, host));
            }
        }
        if let Some(f) = finding_for(build, path, &target, &others) {
            report.push(f);
        }
    }
}

fn finding_for(
    build: &discover::BuildCommand,
    path: &str,
    target: &str,
    others: &[(crate::dockerfile::BaseImage, Reference, String)],
) -> Option<Finding> {
    let (first, _, _) = others.first()?;
    let acr = target.split('.').next().unwrap_or(target);
    let images: Vec<String> = others
        .iter()
        .map(|(b, _, _)| format!("`{}`", b.image))
        .collect();
    let mut registries: Vec<&str> = Vec::new();
    for (_, _, host) in others {
        if !registries.contains(&host.as_str()) {
            registries.push(host);
        }
    }
    let commands: Vec<String> = others
        .iter()
        .map(|(_, r, host)| {
            // Another ACR is read with the caller's Azure identity; other registries
            // need a credential.
            let creds = if host.ends_with(".azurecr.io") {
                ""
            } else {
                " --username <user> --password <token>"
            };
            let image = match (&r.tag, &r.digest) {
                (Some(tag), None) => format!(" --image {}:{tag}", r.path),
                _ => String::new(),
            };
            format!("az acr import --name {acr} --source {r}{image}{creds}")
        })
        .collect();
    let fix = format!(
        "Import the images into {target} and write `FROM {target}/<repository>:<tag>` in {path}:\n{}\nFor a task (`az acr task create`), add a credential for the other registry instead: `az acr task credential add --name <task> --registry {acr} --login-server {} --use-identity [system]` (an identity with AcrPull there) or `--username … --password …`.",
        commands.join("\n"),
        registries[0]
    );
    Some(
        finding(
            Code::TASKS_BASE_REGISTRY_CREDENTIAL,
            Severity::Warning,
            format!(
                "`az acr build` pulls {} from {}, which the ACR Tasks run may not reach",
                images.join(", "),
                registries.join(", ")
            ),
            format!(
                "Step `{}` runs `az acr build`{} for {target}: the build runs in ACR Tasks, in Azure, and pulls base images with the access of {target}'s task run, not with the runner's `docker login`. {path} starts `FROM` images on {}, another registry; unless they are public, the run fails to pull them (`unauthorized` or `pull access denied`). `az acr build` takes no credential for another registry.",
                build.step.label,
                if build.what == "azure/acr-build" { " (through Azure/acr-build)" } else { "" },
                registries.join(", ")
            ),
            fix,
        )
        .with_commands(commands)
        .at(path, u32::try_from(first.line).ok(), u32::try_from(first.column).ok()),
    )
}
