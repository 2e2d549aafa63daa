//! Context reference check: every `--context` (pulled by the build) and `--push` target
//! parses as docker parses it, names the registry the run is set up for, and (for
//! contexts) is pinned rather than pulled by a moving tag. No network: a pure look at
//! the references, so it never reports inconclusive.

mod base;
mod messages;

pub use base::{attribute_to_from, base_contexts, from_line, point_at_from};

use super::Ctx;
use crate::config::{Config, Registry};
use crate::findings::{CheckId, CheckReport, Code, ContextInfo, Finding, Role, Severity};
use crate::reference::{
    self, ContextRef, ContextScheme, ReferenceError, ReferenceErrorKind, Section, canonical_host,
    is_docker_hub, same_registry,
};
use crate::suggest::edit_distance;
use messages::*;
pub use messages::{docker_says, invalid_fix, show as show_value};

pub async fn run(ctx: &Ctx) -> (CheckReport, Vec<ContextInfo>) {
    check(&ctx.config)
}

/// The check itself, synchronous: it only reads the configuration.
pub fn check(config: &Config) -> (CheckReport, Vec<ContextInfo>) {
    let mut report = CheckReport::default();
    let mut infos = Vec::new();
    let registry = config.registry.as_ref();
    let all = config
        .contexts
        .iter()
        .map(|c| (Role::Pull, c))
        .chain(config.pushes.iter().map(|p| (Role::Push, p)))
        .chain(config.caches.iter().map(|c| (cache_role(c), &c.reference)));
    for (role, input) in all {
        let (findings, info, fact) = check_one(role, input, registry);
        for finding in findings {
            report.push(finding.about(input.trim()));
        }
        if let Some(fact) = fact {
            report.verified(fact);
        }
        infos.push(info);
    }
    (report, infos)
}

/// The role of a registry cache reference: exported (`cache-to`) or imported.
pub fn cache_role(cache: &crate::config::CacheRef) -> Role {
    if cache.export {
        Role::CacheTo
    } else {
        Role::CacheFrom
    }
}

fn finding(code: Code, severity: Severity, title: String, message: String, fix: String) -> Finding {
    Finding::new(CheckId::Reference, code, severity, title, message, fix)
}

/// One reference: its findings, its row for `contexts[]`, and the verified fact.
fn check_one(
    role: Role,
    input: &str,
    registry: Option<&Registry>,
) -> (Vec<Finding>, ContextInfo, Option<String>) {
    let mut info = ContextInfo {
        reference: input.to_string(),
        role,
        ..ContextInfo::default()
    };
    let cref = match reference::parse_context(input) {
        Ok(cref) => cref,
        Err(error) => return (vec![invalid(role, input, &error, registry)], info, None),
    };
    let r = &cref.reference;
    info.registry = r.domain.clone();
    info.repository = Some(r.path.clone());
    info.tag = r.tag.clone();
    info.digest = r.digest.clone();

    if !matches!(role, Role::Pull | Role::Base) && cref.scheme != ContextScheme::Plain {
        return (vec![push_with_scheme(role, &cref)], info, None);
    }

    let mut findings = Vec::new();
    match (&cref.written_registry, registry) {
        (None, _) => findings.push(no_registry(role, &cref, registry)),
        (Some(host), Some(registry)) if !same_registry(host, &registry.host) => {
            findings.push(wrong_registry(role, &cref, host, registry));
        }
        _ => {}
    }
    match role {
        Role::Pull => {
            if let Some(f) = mutable_tag(&cref, registry) {
                findings.push(f);
            }
        }
        Role::Push => {
            if let Some(f) = push_digest(&cref) {
                findings.push(f);
            }
        }
        // Base images are checked against the registry only (`base_contexts`).
        Role::Base => {}
        Role::CacheFrom | Role::CacheTo => {
            for f in &mut findings {
                cache_consequence(role, f);
            }
        }
    }
    (findings, info, Some(fact(role, &cref)))
}

const GRAMMAR: &str = "[registry-host[:port]/]path[:tag][@sha256:<64 hex digits>], where path components are lowercase letters and digits joined by `.`, `_`, `__` or `-`, separated by `/`, and a tag is up to 128 of [A-Za-z0-9_.-] starting with a letter, digit or `_`";

/// The ACR name for a login server: `--registry`'s when it is the same registry, else the
/// first label of an `*.azurecr.{io,cn,us}` host.
fn acr_name_of(host: &str, registry: Option<&Registry>) -> Option<String> {
    if let Some(r) = registry
        && same_registry(host, &r.host)
        && let Some(name) = &r.acr_name
    {
        return Some(name.clone());
    }
    let host = host.to_ascii_lowercase();
    crate::cloud::acr_registry(&host).map(str::to_string)
}

fn split_port(host: &str) -> (&str, Option<&str>) {
    // `[v6]:port` or `name:port`; a bracketed host without port has ':' only inside.
    let search_from = host.find(']').unwrap_or(0);
    match host[search_from..].rfind(':') {
        Some(i) => (&host[..search_from + i], Some(&host[search_from + i + 1..])),
        None => (host, None),
    }
}

/// "`myreg.azurecr.io`" (or "… (ACR `myreg`)") when `host` is within two edits of the
/// registry host or its first label is within two edits of the ACR name.
fn typo_of(host: &str, registry: &Registry) -> Option<String> {
    let want = canonical_host(&registry.host);
    if edit_distance(host, &want) <= 2 {
        return Some(format!("`{}`", registry.host));
    }
    let name = registry.acr_name.as_deref()?;
    let label = host.split(['.', ':']).next().unwrap_or("");
    (label.len() >= 3 && edit_distance(label, name) <= 2)
        .then(|| format!("`{}` (ACR `{name}`)", registry.host))
}

fn mutable_tag(cref: &ContextRef, registry: Option<&Registry>) -> Option<Finding> {
    let r = &cref.reference;
    if r.digest.is_some() {
        return None;
    }
    let shown = show(&cref.written);
    let (title, what, tag) = match r.tag.as_deref() {
        None => (
            format!("context {shown} has no tag, so the build pulls `latest`"),
            "no tag: the build pulls `latest`".to_string(),
            "latest",
        ),
        Some("latest") => (
            format!("context {shown} uses the mutable tag `latest`"),
            "the tag `latest` without a digest".to_string(),
            "latest",
        ),
        Some(_) => return None,
    };
    let host = r.domain.as_deref().unwrap_or(reference::DEFAULT_DOMAIN);
    let tagged = format!("{}:{tag}", r.name());
    let message = format!(
        "{shown} has {what}, resolved as `{tagged}`. `latest` moves whenever someone pushes, so this check and the build (or two runs of the same commit) can see different content, and the build fails if `latest` was never pushed."
    );
    let written_tagged = written_tagged(cref, tag);
    let lookup = match acr_name_of(host, registry) {
        Some(acr) => format!(
            "az acr repository show -n {acr} --image {}:{tag} --query digest -o tsv",
            r.path
        ),
        None => format!("docker buildx imagetools inspect {tagged}"),
    };
    Some(finding(
        Code::REF_MUTABLE_TAG,
        Severity::Warning,
        title,
        message,
        format!(
            "Pin a digest: `{written_tagged}@sha256:<digest>` (or a version tag instead of `latest`). Find the digest with `{lookup}`."
        ),
    ))
}

/// Completes REF_MUTABLE_TAG's fix once the registry check resolved the tag in this
/// run: the finding names its context ([`Finding::reference`], set by [`check`]) and
/// that context's digest is the one just read, so the fix gives the pinned reference
/// itself. A context whose digest is unknown keeps the `<digest>` placeholder.
pub fn complete_pins(report: &mut CheckReport, contexts: &[ContextInfo]) {
    for f in report
        .findings
        .iter_mut()
        .filter(|f| f.code == Code::REF_MUTABLE_TAG)
    {
        let Some(about) = f.reference.as_deref() else {
            continue;
        };
        let resolved = contexts.iter().find_map(|c| {
            let written = c.reference.trim();
            (c.role == Role::Pull && written == about)
                .then_some(())
                .and(c.digest.as_deref())
                .and_then(|digest| pinned(written, digest).map(|p| (p, digest)))
        });
        let Some(((tagged, pinned), digest)) = resolved else {
            continue;
        };
        f.message.push_str(&format!(
            " The registry check read its digest in this run: `{digest}`."
        ));
        f.fix = format!(
            "Pin the digest just read: `{pinned}` (what `{tagged}` is now; re-pin when you mean to take a newer one), or use a version tag instead of `latest`."
        );
    }
}

/// (`written` with its tag explicit, the same pinned to `digest`), when `written` is a
/// context reference without a digest and `digest` is a well-formed one.
fn pinned(written: &str, digest: &str) -> Option<(String, String)> {
    let cref = reference::parse_context(written).ok()?;
    if cref.reference.digest.is_some() {
        return None;
    }
    let tagged = written_tagged(&cref, cref.reference.tag.as_deref().unwrap_or("latest"));
    let pinned = format!("{tagged}@{digest}");
    // The digest came from the registry: it must read back as exactly this digest.
    let check = reference::parse_context(&pinned).ok()?;
    (check.reference.digest.as_deref() == Some(digest)).then_some((tagged, pinned))
}

fn push_digest(cref: &ContextRef) -> Option<Finding> {
    let digest = cref.reference.digest.as_deref()?;
    let shown = show(&cref.written);
    let base = cref.text_without_digest();
    let fix = match &cref.reference.tag {
        Some(_) => format!("Drop the digest: push to `{base}`."),
        None => format!(
            "Push to a tag, e.g. `{base}:v1` (use your version or commit SHA); the registry returns the digest after the push."
        ),
    };
    Some(finding(
        Code::REF_PUSH_DIGEST,
        Severity::Error,
        format!("push target {shown} has a digest; a push needs a tag"),
        format!(
            "Push target {shown} names the digest `{digest}`. A digest identifies content that already exists; the registry computes it from what is pushed, so a build can only push to a tag."
        ),
        fix,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AzureEnvironment, parse_registry};
    use crate::findings::Status;
    use std::path::PathBuf;

    const HEX: &str = "e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582";

    fn config(registry: Option<&str>, contexts: &[&str], pushes: &[&str]) -> Config {
        let mut c = Config::for_tests(PathBuf::from("/nonexistent/docker-config"));
        c.registry = registry.map(|r| parse_registry(r, AzureEnvironment::AzureCloud).unwrap());
        c.contexts = contexts.iter().map(|s| s.to_string()).collect();
        c.pushes = pushes.iter().map(|s| s.to_string()).collect();
        c
    }

    fn one(registry: Option<&str>, contexts: &[&str], pushes: &[&str]) -> Finding {
        let (report, _) = check(&config(registry, contexts, pushes));
        assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
        report.findings[0].clone()
    }

    fn has(text: &str, part: &str) {
        assert!(text.contains(part), "{part:?} not in:\n{text}");
    }

    #[tokio::test]
    async fn pinned_context_on_the_registry_passes_through_run() {
        let ctx = Ctx::new(
            config(
                Some("myreg"),
                &[
                    &format!("oci://myreg.azurecr.io/ctx:v1@sha256:{HEX}"),
                    "docker-image://MyReg.azurecr.io/base:1.2",
                ],
                &["myreg.azurecr.io/app:v1"],
            ),
            crate::secrets::Secrets::default(),
        );
        let (report, infos) = run(&ctx).await;
        assert!(report.findings.is_empty(), "{:#?}", report.findings);
        assert_eq!(report.status(), Status::Pass);
        assert_eq!(report.verified.len(), 3);
        assert_eq!(
            report.verified[0],
            format!(
                "oci://myreg.azurecr.io/ctx:v1@sha256:{HEX} → registry myreg.azurecr.io, repository ctx, tag v1, digest sha256:{HEX}"
            )
        );
        has(
            &report.verified[2],
            "push myreg.azurecr.io/app:v1 → registry myreg.azurecr.io",
        );
        assert_eq!(infos.len(), 3);
        assert_eq!(infos[0].role, Role::Pull);
        assert_eq!(infos[0].registry.as_deref(), Some("myreg.azurecr.io"));
        assert_eq!(infos[0].repository.as_deref(), Some("ctx"));
        assert_eq!(infos[0].tag.as_deref(), Some("v1"));
        assert_eq!(infos[0].digest, Some(format!("sha256:{HEX}")));
        assert_eq!(infos[2].role, Role::Push);
    }

    #[test]
    fn no_references_is_skipped_not_passed() {
        let (report, infos) = check(&config(Some("myreg"), &[], &[]));
        assert!(report.findings.is_empty() && report.verified.is_empty() && infos.is_empty());
        assert_eq!(report.status(), Status::Skipped);
    }

    #[test]
    fn uppercase_path_is_invalid_with_the_lowercased_fix() {
        let f = one(Some("myreg"), &["oci://myreg.azurecr.io/Team/ctx:v1"], &[]);
        assert_eq!((f.code, f.severity), (Code::REF_INVALID, Severity::Error));
        assert_eq!(
            f.title,
            "`oci://myreg.azurecr.io/Team/ctx:v1` is not a valid image reference"
        );
        has(&f.message, "uppercase letter \"T\" at column 24");
        has(
            &f.message,
            "\"invalid reference format: repository name (Team/ctx) must be lowercase\"",
        );
        assert_eq!(
            f.fix,
            "Write `oci://myreg.azurecr.io/team/ctx:v1` instead of `oci://myreg.azurecr.io/Team/ctx:v1`."
        );
        let (_, infos) = check(&config(None, &["oci://myreg.azurecr.io/Team/ctx:v1"], &[]));
        assert_eq!(infos[0].registry, None);
        assert_eq!(infos[0].reference, "oci://myreg.azurecr.io/Team/ctx:v1");
    }

    #[test]
    fn bad_tag_names_the_rule_and_states_the_grammar() {
        let f = one(None, &["myreg.azurecr.io/ctx:v1 beta"], &[]);
        assert_eq!(f.code, Code::REF_INVALID);
        has(&f.message, "column 24: tag \"v1 beta\" breaks the tag rule");
        has(
            &f.message,
            "Docker reports this as \"invalid reference format\"",
        );
        has(&f.fix, "tag of up to 128 characters");

        let f = one(None, &["myreg.azurecr.io/ctx@sha256:abc"], &[]);
        has(
            &f.message,
            "column 29: digest \"sha256:abc\" has 3 hex digits; sha256 needs 64",
        );
        has(&f.fix, "64 lowercase hex digits");

        let f = one(None, &[""], &[]);
        has(&f.message, "empty");
        has(&f.fix, "[registry-host[:port]/]path[:tag]");

        let f = one(None, &["my_reg.azurecr.io/ctx:v1"], &[]);
        has(
            &f.message,
            "column 3: \"my_reg.azurecr.io\" before the first \"/\" is taken as the registry host",
        );
        has(&f.fix, "host name with an optional port");
        let f = one(Some("myreg"), &["my_reg.azurecr.io/ctx:v1"], &[]);
        has(&f.fix, "`myreg.azurecr.io/ctx:v1`");
    }

    #[test]
    fn wrong_scheme_is_invalid_and_the_fix_strips_it() {
        let f = one(Some("myreg"), &["https://myreg.azurecr.io/ctx:v1"], &[]);
        assert_eq!((f.code, f.severity), (Code::REF_INVALID, Severity::Error));
        has(&f.message, "scheme \"https://\" is not accepted");
        has(&f.message, "\"oci://\"");
        has(&f.fix, "`myreg.azurecr.io/ctx:v1`");
        has(&f.fix, "`oci://myreg.azurecr.io/ctx:v1`");
        assert!(!f.message.contains("Docker reports"), "{}", f.message);
        let f = one(None, &["oci-layout://./out"], &[]);
        has(&f.fix, "Remove it from --context");
        has(
            &f.message,
            "local OCI layout directory, not a registry reference",
        );
        has(&f.fix, "Remove");
    }

    #[test]
    fn empty_variable_before_the_slash_gets_the_registry() {
        let f = one(Some("myreg"), &["/ctx:v1"], &[]);
        assert_eq!(f.code, Code::REF_INVALID);
        has(&f.message, "starts with \"/\"");
        has(&f.fix, "`myreg.azurecr.io/ctx:v1`");
    }

    #[test]
    fn no_registry_is_an_error_when_a_registry_is_set() {
        let f = one(Some("myreg"), &["ctx:v1"], &[]);
        assert_eq!(
            (f.code, f.severity),
            (Code::REF_NO_REGISTRY, Severity::Error)
        );
        assert_eq!(
            f.title,
            "`ctx:v1` names no registry, so it resolves to Docker Hub"
        );
        has(
            &f.message,
            "`ctx:v1` names no registry, so docker resolves it to `docker.io/library/ctx:v1` (Docker Hub)",
        );
        assert_eq!(f.fix, "Use `myreg.azurecr.io/ctx:v1`.");

        let f = one(None, &["docker-image://team/ctx:v1"], &[]);
        assert_eq!(
            (f.code, f.severity),
            (Code::REF_NO_REGISTRY, Severity::Warning)
        );
        has(&f.fix, "`docker-image://<registry host>/team/ctx:v1`");
        has(&f.fix, "`docker-image://docker.io/team/ctx:v1`");

        // Docker Hub as the registry: only a warning.
        let f = one(Some("docker.io"), &["ctx:v1"], &[]);
        assert_eq!(f.severity, Severity::Warning);
        has(&f.fix, "`docker.io/library/ctx:v1`");

        // ACR Tasks cannot fall back to Docker Hub.
        let f = one(None, &["oci://ctx:v1"], &[]);
        assert_eq!(f.severity, Severity::Error);
        assert_eq!(f.title, "`oci://ctx:v1` names no registry host");
        has(&f.message, "ACR Tasks");
    }

    #[test]
    fn acr_name_used_as_a_host_is_explained() {
        let f = one(Some("myreg"), &["myreg/ctx:v1"], &[]);
        assert_eq!(f.code, Code::REF_NO_REGISTRY);
        has(&f.message, "docker.io/myreg/ctx:v1");
        has(&f.message, "`myreg` is read as a Docker Hub namespace");
        assert_eq!(f.fix, "Use `myreg.azurecr.io/ctx:v1`.");
    }

    #[test]
    fn wrong_registry_names_both_hosts_and_spots_typos() {
        let f = one(Some("myreg"), &["oci://myregg.azurecr.io/ctx:v1"], &[]);
        assert_eq!(
            (f.code, f.severity),
            (Code::REF_WRONG_REGISTRY, Severity::Error)
        );
        assert_eq!(
            f.title,
            "`oci://myregg.azurecr.io/ctx:v1` is on myregg.azurecr.io, not on myreg.azurecr.io"
        );
        has(&f.message, "looks like a typo of `myreg.azurecr.io`");
        has(&f.fix, "`oci://myreg.azurecr.io/ctx:v1`");

        let f = one(Some("myreg"), &["myreg.azurecr.cn/ctx:v1"], &[]);
        has(&f.message, "looks like a typo");

        let f = one(Some("myreg"), &["ghcr.io/org/ctx:v1"], &[]);
        assert_eq!(
            (f.code, f.severity),
            (Code::REF_WRONG_REGISTRY, Severity::Warning)
        );
        assert!(!f.message.contains("typo"), "{}", f.message);
        has(&f.message, "`ghcr.io`");
        has(&f.fix, "`myreg.azurecr.io/org/ctx:v1`");

        let f = one(
            Some("myreg.azurecr.io"),
            &["myreg.azurecr.io:443/ctx:v1"],
            &[],
        );
        has(&f.message, "Same host, different port");

        // Capitals alone make docker read the first component as a host.
        let f = one(Some("myreg"), &["Team/ctx:v1"], &[]);
        assert_eq!(f.code, Code::REF_WRONG_REGISTRY);
        has(&f.message, "only because it contains capital letters");
        has(&f.fix, "`myreg.azurecr.io/team/ctx:v1`");
    }

    #[test]
    fn docker_hub_names_and_case_are_one_registry() {
        let (report, _) = check(&config(
            Some("docker.io"),
            &[
                "index.docker.io/library/ctx:v1",
                "registry-1.docker.io/org/x:v2",
            ],
            &[],
        ));
        assert!(report.findings.is_empty(), "{:#?}", report.findings);
        let (report, _) = check(&config(Some("myreg"), &["MYREG.AZURECR.IO/ctx:v1"], &[]));
        assert!(report.findings.is_empty(), "{:#?}", report.findings);
    }

    #[test]
    fn contexts_without_tag_or_with_latest_warn() {
        let f = one(
            Some("myreg"),
            &["docker-image://myreg.azurecr.io/base"],
            &[],
        );
        assert_eq!(
            (f.code, f.severity),
            (Code::REF_MUTABLE_TAG, Severity::Warning)
        );
        assert_eq!(
            f.title,
            "context `docker-image://myreg.azurecr.io/base` has no tag, so the build pulls `latest`"
        );
        has(&f.message, "no tag: the build pulls `latest`");
        has(
            &f.fix,
            "`docker-image://myreg.azurecr.io/base:latest@sha256:<digest>`",
        );
        has(
            &f.fix,
            "`az acr repository show -n myreg --image base:latest --query digest -o tsv`",
        );

        let f = one(None, &["registry.example.com:5000/team/base:latest"], &[]);
        assert_eq!(f.code, Code::REF_MUTABLE_TAG);
        has(
            &f.fix,
            "`registry.example.com:5000/team/base:latest@sha256:<digest>`",
        );
        has(
            &f.fix,
            "`docker buildx imagetools inspect registry.example.com:5000/team/base:latest`",
        );

        // Pinned, or another tag: fine. Pushes without a tag: not this check's concern.
        let (report, _) = check(&config(
            Some("myreg"),
            &[
                &format!("myreg.azurecr.io/base:latest@sha256:{HEX}"),
                "myreg.azurecr.io/base:v3",
            ],
            &["myreg.azurecr.io/app"],
        ));
        assert!(report.findings.is_empty(), "{:#?}", report.findings);
    }

    #[test]
    fn a_resolved_digest_completes_the_pin_and_an_unknown_one_keeps_the_placeholder() {
        let refs = [
            "docker-image://myreg.azurecr.io/base",
            "myreg.azurecr.io/other:latest",
            "myreg.azurecr.io/third",
        ];
        let (mut report, mut infos) = check(&config(Some("myreg"), &refs, &[]));
        infos[0].digest = Some(format!("sha256:{HEX}"));
        // Not a digest: never pasted into a fix.
        infos[2].digest = Some("sha256:nothex".into());
        complete_pins(&mut report, &infos);
        let fixes: Vec<&str> = report.findings.iter().map(|f| f.fix.as_str()).collect();
        has(
            fixes[0],
            &format!("`docker-image://myreg.azurecr.io/base:latest@sha256:{HEX}`"),
        );
        assert!(!fixes[0].contains("<digest>"), "{}", fixes[0]);
        has(fixes[1], "`myreg.azurecr.io/other:latest@sha256:<digest>`");
        has(fixes[2], "`myreg.azurecr.io/third:latest@sha256:<digest>`");
    }

    #[test]
    fn push_targets_need_a_tag_not_a_digest() {
        let f = one(
            Some("myreg"),
            &[],
            &[&format!("myreg.azurecr.io/app@sha256:{HEX}")],
        );
        assert_eq!(
            (f.code, f.severity),
            (Code::REF_PUSH_DIGEST, Severity::Error)
        );
        has(&f.title, "has a digest; a push needs a tag");
        has(&f.message, &format!("`sha256:{HEX}`"));
        has(&f.fix, "`myreg.azurecr.io/app:v1`");

        let f = one(
            Some("myreg"),
            &[],
            &[&format!("myreg.azurecr.io/app:v2@sha256:{HEX}")],
        );
        assert_eq!(f.fix, "Drop the digest: push to `myreg.azurecr.io/app:v2`.");

        let f = one(Some("myreg"), &[], &["oci://myreg.azurecr.io/app:v1"]);
        assert_eq!(f.code, Code::REF_INVALID);
        assert_eq!(f.fix, "Write `myreg.azurecr.io/app:v1`.");
    }

    #[test]
    fn several_findings_for_one_reference() {
        let (report, infos) = check(&config(Some("myreg"), &["ctx"], &[]));
        let codes: Vec<Code> = report.findings.iter().map(|f| f.code).collect();
        assert_eq!(codes, [Code::REF_NO_REGISTRY, Code::REF_MUTABLE_TAG]);
        has(
            &report.verified[0],
            "ctx → registry docker.io (implied), repository library/ctx",
        );
        assert_eq!(infos[0].registry.as_deref(), Some("docker.io"));
        assert_eq!(infos[0].repository.as_deref(), Some("library/ctx"));
    }

    #[test]
    fn odd_inputs_never_panic_and_stay_one_line() {
        let long = "a/".repeat(5_000);
        let inputs = [
            "".to_string(),
            "   ".to_string(),
            "oci://".to_string(),
            "docker-image://".to_string(),
            "://".to_string(),
            "ünïcödé/ctx:v1".to_string(),
            "myreg.azurecr.io/ctx:v1\nrm -rf /".to_string(),
            "\u{1b}[31mred\u{7}".to_string(),
            "\t\0".to_string(),
            long.clone(),
            format!("{long}x:{}", "t".repeat(5_000)),
            "🦀".repeat(3_000),
            "oci://myreg.azurecr.io/ctx@".to_string(),
            "[::1]:5000/x@sha256:zz".to_string(),
        ];
        for registry in [None, Some("myreg"), Some("docker.io")] {
            let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            let (report, infos) = check(&config(registry, &refs, &refs));
            assert_eq!(infos.len(), inputs.len() * 2);
            for f in &report.findings {
                assert!(!f.title.contains('\n'), "title spans lines: {:?}", f.title);
                let (title, message) = (f.title.chars().count(), f.message.chars().count());
                assert!(title < 250, "title too long: {title}");
                assert!(message < 2_000, "message too long: {message}");
            }
        }
    }
}
