//! The base images of the builds (P38): every `FROM` image on a registry the run checks
//! joins the references the registry check verifies for pull, with the credential the
//! build presents there, located at its Dockerfile line. Images on other registries, and
//! Dockerfiles that could not be read, are listed as not checked.

use crate::findings::{CheckReport, ContextInfo, Finding, Role};
use crate::reference::{parse_normalized, same_registry};
use crate::workflow::{BaseImages, BaseRef};

/// The base images on one of `hosts` (the registries the run checks), as references for
/// the registry check; what was and was not taken goes into `report.verified`.
pub fn base_contexts(
    bases: &BaseImages,
    hosts: &[String],
    contexts: &[ContextInfo],
    report: &mut CheckReport,
) -> Vec<ContextInfo> {
    let mut out: Vec<ContextInfo> = Vec::new();
    for base in &bases.images {
        let at = base.location.file_line();
        let parsed = match parse_normalized(&base.image) {
            Ok(r) => r,
            Err(e) => {
                report.verified(format!(
                    "base image `{}` ({at}) not checked: not a valid reference ({e})",
                    base.image
                ));
                continue;
            }
        };
        let host = parsed.domain.clone().unwrap_or_default();
        let listed = contexts
            .iter()
            .chain(out.iter())
            .any(|c| c.reference == base.image);
        if listed {
            report.verified(format!(
                "base image `{}` ({at}) is also a reference of the build, checked once",
                base.image
            ));
            continue;
        }
        if !hosts.iter().any(|h| same_registry(h, &host)) {
            report.verified(format!(
                "base image `{}` ({at}) not checked: {host} is not a registry this run checks",
                base.image
            ));
            continue;
        }
        report.verified(format!(
            "base image `{}` ({at}) is on {host}: checked for pull with the build's credential there",
            base.image
        ));
        out.push(ContextInfo {
            reference: base.image.clone(),
            role: Role::Base,
            registry: Some(host),
            repository: Some(parsed.path),
            tag: parsed.tag,
            digest: parsed.digest,
            location: Some(base.location.clone()),
            ..ContextInfo::default()
        });
    }
    for (path, why) in &bases.unreadable {
        report.verified(format!(
            "Dockerfile `{path}` could not be read ({why}): its base images are not checked"
        ));
    }
    out
}

/// Points a finding about a base image (one [`base_contexts`] took) at its `FROM` line
/// and says where the image comes from (the Dockerfile as written, when `ARG`s changed it).
pub fn point_at_from(finding: &mut Finding, bases: &BaseImages, contexts: &[ContextInfo]) {
    let Some(reference) = finding.reference.as_deref() else {
        return;
    };
    let taken = contexts
        .iter()
        .any(|c| c.role == Role::Base && c.reference == reference);
    let Some(base) = bases.images.iter().find(|b| b.image == reference) else {
        return;
    };
    if !taken {
        return;
    }
    finding.location = Some(base.location.clone());
    finding.message = format!("{} {}", from_line(base), finding.message);
    finding.fix = format!(
        "The image comes from `FROM {}` at {}: {}",
        base.written,
        base.location.file_line(),
        finding.fix
    );
}

/// "Base image of services/api/Dockerfile:3 (`FROM alpine:${TAG}`, after ARG substitution)."
fn from_line(base: &BaseRef) -> String {
    let substituted = if base.written == base.image {
        String::new()
    } else {
        format!(", `{}` after ARG substitution", base.image)
    };
    format!(
        "Base image of {} (`FROM {}`{substituted}, step `{}`).",
        base.location.file_line(),
        base.written,
        base.step.label
    )
}
