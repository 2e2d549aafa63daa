//! CONTEXT_PLATFORM_MISSING: a build that asks for platforms reads a named context
//! (`docker-image://`) or pulls a `FROM` base image whose image index, as the registry
//! check read it, has no image for one of them (or that is a single image of another
//! platform). BuildKit resolves the image once per platform it builds, so that
//! platform's build fails. No request of its own: the index body is the one the lookup
//! already fetched for its platforms, and a single image's config platform is read by
//! the lookup ([`super::found`]).

use super::*;
use crate::workflow::PlatformRequest;

/// Adds a finding (or a verified fact) for each context a build reads for platforms.
pub fn missing_platforms(
    report: &mut CheckReport,
    contexts: &[ContextInfo],
    requests: &[PlatformRequest],
) {
    for request in requests {
        let Some(info) = contexts.iter().find(|c| {
            matches!(c.role, Role::Pull | Role::Base) && c.reference.trim() == request.reference
        }) else {
            continue;
        };
        // Empty: a single image whose config was not read (or names no platform).
        if info.platforms.is_empty() {
            continue;
        }
        let available: Vec<&String> = info
            .platforms
            .iter()
            .filter(|p| !p.starts_with("unknown/"))
            .collect();
        // `local` (the builder's own platform) and anything that is not `os/arch` are
        // not compared.
        let missing: Vec<&String> = request
            .platforms
            .iter()
            .filter(|want| want.contains('/'))
            .filter(|want| !available.iter().any(|have| same_platform(want, have)))
            .collect();
        let asked = request.platforms.join(", ");
        if missing.is_empty() {
            let what = if info.role == Role::Base {
                "base image "
            } else {
                ""
            };
            report.verified(format!(
                "{what}{} has an image for each platform step `{}` builds ({asked})",
                info.reference, request.step.label
            ));
            continue;
        }
        report.push(platform_missing(info, request, &missing, &available));
    }
}

/// Two platforms name the same image: os, architecture and variant, the variant
/// defaulted as the OCI image index spec and containerd do (`arm64` is `v8`, `arm` is
/// `v7`), case-insensitively.
fn same_platform(a: &str, b: &str) -> bool {
    normalize(a) == normalize(b)
}

fn normalize(platform: &str) -> (String, String, String) {
    let lower = platform.trim().to_ascii_lowercase();
    let mut parts = lower.split('/');
    let os = parts.next().unwrap_or_default().to_string();
    let arch = parts.next().unwrap_or_default();
    let (arch, default_variant) = match arch {
        "aarch64" | "arm64" => ("arm64", "v8"),
        "arm" => ("arm", "v7"),
        "x86_64" | "x86-64" => ("amd64", ""),
        other => (other, ""),
    };
    let variant = parts.next().unwrap_or(default_variant).to_string();
    (os, arch.to_string(), variant)
}

fn platform_missing(
    info: &ContextInfo,
    request: &PlatformRequest,
    missing: &[&String],
    available: &[&String],
) -> Finding {
    let list = |v: &[&String]| v.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ");
    let (missing, available) = (list(missing), list(available));
    let asked = request.platforms.join(", ");
    let line = request
        .location
        .line
        .map(|l| format!(" (line {l})"))
        .unwrap_or_default();
    let served = info
        .digest
        .as_deref()
        .map(|d| format!(" (digest {d})"))
        .unwrap_or_default();
    let is_index = matches!(
        info.media_type.as_deref(),
        Some(wire::OCI_INDEX | wire::DOCKER_LIST)
    );
    let what = if is_index {
        "an image index for"
    } else {
        "a single image, whose config names"
    };
    let keep: Vec<&str> = request
        .platforms
        .iter()
        .filter(|p| !missing.split(", ").any(|m| m == p.as_str()))
        .map(String::as_str)
        .collect();
    let narrow = if keep.is_empty() {
        String::new()
    } else {
        format!(
            "build only the platforms it has (`platforms: {}`), or ",
            keep.join(",")
        )
    };
    let name = info
        .repository
        .as_deref()
        .zip(info.registry.as_deref())
        .map(|(repo, host)| match info.tag.as_deref() {
            Some(tag) => format!("{host}/{repo}:{tag}"),
            None => format!("{host}/{repo}"),
        })
        .unwrap_or_else(|| info.reference.clone());
    let (title, reads, kind) = if info.role == Role::Base {
        ("base image ", "pulls the base image", "base")
    } else {
        ("", "reads the context", "context")
    };
    finding(
        Code::CONTEXT_PLATFORM_MISSING,
        Severity::Error,
        format!("{title}`{}` has no image for {missing}", info.reference),
        format!(
            "Step `{}` builds for {asked}{line} and {reads} `{}`. The registry serves it{served} as {what} {available} only. BuildKit resolves the {kind} image for each platform it builds, so the build for {missing} fails with \"no match for platform in manifest\".",
            request.step.label, info.reference
        ),
        format!(
            "Either {narrow}push the {kind} image for {missing} too (`docker buildx build --platform {} --push -t {name} .` where it is built).",
            available_plus(&available, &missing)
        ),
    )
    .about(info.reference.clone())
}

/// The platforms the index has, then the missing ones, comma-separated (for `--platform`).
fn available_plus(available: &str, missing: &str) -> String {
    available
        .split(", ")
        .chain(missing.split(", "))
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(platforms: &[&str]) -> PlatformRequest {
        PlatformRequest {
            reference: "docker-image://r.io/base:v1".into(),
            platforms: platforms.iter().map(|p| p.to_string()).collect(),
            location: crate::findings::Location {
                file: "w.yml".into(),
                line: Some(11),
                column: Some(22),
            },
            step: crate::workflow::StepRef {
                index: 1,
                label: "build".into(),
                line: 8,
            },
        }
    }

    fn findings_for(media_type: &str, requested: &[&str]) -> Vec<Code> {
        findings_with(media_type, &["linux/amd64", "unknown/unknown"], requested)
            .iter()
            .map(|f| f.code)
            .collect()
    }

    fn findings_with(media_type: &str, served: &[&str], requested: &[&str]) -> Vec<Finding> {
        let info = ContextInfo {
            reference: "docker-image://r.io/base:v1".into(),
            role: Role::Pull,
            registry: Some("r.io".into()),
            repository: Some("base".into()),
            tag: Some("v1".into()),
            media_type: Some(media_type.into()),
            platforms: served.iter().map(|p| p.to_string()).collect(),
            ..ContextInfo::default()
        };
        let mut report = CheckReport::default();
        missing_platforms(&mut report, &[info], &[request(requested)]);
        report.findings
    }

    #[test]
    fn only_os_arch_platforms_of_an_index_are_compared() {
        let missing = vec![Code::CONTEXT_PLATFORM_MISSING];
        assert_eq!(findings_for(wire::OCI_INDEX, &["linux/arm64"]), missing);
        assert_eq!(
            findings_for(wire::DOCKER_LIST, &["unknown/unknown", "linux/amd64"]),
            missing
        );
        assert!(findings_for(wire::OCI_INDEX, &["local", "linux/amd64"]).is_empty());
    }

    #[test]
    fn a_single_image_is_compared_only_when_its_config_was_read() {
        assert!(findings_with(wire::OCI_MANIFEST, &[], &["linux/arm64"]).is_empty());
        let f = findings_with(wire::DOCKER_MANIFEST, &["linux/amd64"], &["linux/arm64"]);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("as a single image, whose config names linux/amd64 only"),
            "{}",
            f[0].message
        );
        assert!(findings_with(wire::OCI_MANIFEST, &["linux/amd64"], &["linux/amd64"]).is_empty());
    }

    #[test]
    fn variants_default_as_the_index_spec_says() {
        assert!(same_platform("linux/arm64", "linux/arm64/v8"));
        assert!(same_platform("Linux/AMD64", "linux/amd64"));
        assert!(same_platform("linux/arm", "linux/arm/v7"));
        assert!(!same_platform("linux/arm/v6", "linux/arm/v7"));
        assert!(!same_platform("linux/s390x", "linux/amd64"));
    }
}
