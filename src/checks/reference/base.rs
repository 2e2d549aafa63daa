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
            // Other registries, Docker Hub included, get their own lookup
            // (registry/other_bases.rs).
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
    attribute_to_from(finding, base);
}

/// Places a finding about a base image at its `FROM` line: the message opens with
/// [`from_line`] and the fix with the `FROM` it corrects.
pub fn attribute_to_from(finding: &mut Finding, base: &BaseRef) {
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
pub fn from_line(base: &BaseRef) -> String {
    if let Some(stored) = &base.stored {
        return format!(
            "BuildKit image `{}` that step `{}` ({}) pulls when it boots the builder `{stored}` of buildx's store.",
            base.image,
            base.step.label,
            base.location.file_line()
        );
    }
    if base.boot {
        return format!(
            "BuildKit image `{}` that the builder of step `{}` ({}) pulls when it boots.",
            base.image,
            base.step.label,
            base.location.file_line()
        );
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{CheckId, Code, Location, Severity};
    use crate::workflow::StepRef;

    fn base(image: &str, written: &str, line: u32) -> BaseRef {
        BaseRef {
            image: image.into(),
            written: written.into(),
            location: Location {
                file: "app/Dockerfile".into(),
                line: Some(line),
                column: Some(6),
            },
            step: StepRef {
                index: 3,
                label: "Build".into(),
                line: 20,
            },
            boot: false,
            stored: None,
        }
    }

    #[test]
    fn only_images_on_checked_registries_are_taken_and_the_rest_is_listed() {
        let bases = BaseImages {
            images: vec![
                base("MyReg.azurecr.io/base/py:3.12", "$REG/base/py:${PY}", 2),
                base("python:3.12", "python:3.12", 4),
                base("myreg.azurecr.io/ctx:v1", "myreg.azurecr.io/ctx:v1", 5),
                base("Bad Image", "${X}", 6),
            ],
            builders: Vec::new(),
            unreadable: vec![("tools/Dockerfile".into(), "no such file".into())],
            platform_requests: Vec::new(),
        };
        let contexts = vec![ContextInfo {
            reference: "myreg.azurecr.io/ctx:v1".into(),
            ..ContextInfo::default()
        }];
        let mut report = CheckReport::default();
        let taken = base_contexts(
            &bases,
            &["myreg.azurecr.io".to_string()],
            &contexts,
            &mut report,
        );
        assert_eq!(taken.len(), 1);
        let t = &taken[0];
        assert_eq!(t.role, Role::Base);
        assert_eq!(t.registry.as_deref(), Some("MyReg.azurecr.io"));
        assert_eq!(t.repository.as_deref(), Some("base/py"));
        assert_eq!(t.tag.as_deref(), Some("3.12"));
        assert_eq!(t.location.as_ref().and_then(|l| l.line), Some(2));
        let notes = report.verified.join("\n");
        for expected in [
            "`myreg.azurecr.io/ctx:v1` (app/Dockerfile:5) is also a reference of the build, checked once",
            "`Bad Image` (app/Dockerfile:6) not checked: not a valid reference",
            "Dockerfile `tools/Dockerfile` could not be read (no such file): its base images are not checked",
        ] {
            assert!(notes.contains(expected), "{expected}\n{notes}");
        }

        // A finding about the taken image lands on its FROM line and names the written form.
        let mut f = Finding::new(
            CheckId::Registry,
            Code::CONTEXT_NOT_FOUND,
            Severity::Error,
            "t",
            "HEAD → 404.",
            "Push it.",
        )
        .about("MyReg.azurecr.io/base/py:3.12");
        let mut all = contexts.clone();
        all.extend(taken);
        point_at_from(&mut f, &bases, &all);
        assert_eq!(
            f.location.as_ref().map(|l| l.file.as_str()),
            Some("app/Dockerfile")
        );
        assert!(f.message.starts_with("Base image of app/Dockerfile:2 (`FROM $REG/base/py:${PY}`, `MyReg.azurecr.io/base/py:3.12` after ARG substitution, step `Build`)."), "{}", f.message);
        assert!(
            f.fix.starts_with(
                "The image comes from `FROM $REG/base/py:${PY}` at app/Dockerfile:2: Push it."
            ),
            "{}",
            f.fix
        );
        // The context with the same text as a base image keeps its own place.
        let mut g = f.clone().about("myreg.azurecr.io/ctx:v1");
        g.location = None;
        point_at_from(&mut g, &bases, &all);
        assert_eq!(g.location, None);
    }
}
