//! Registry caches (P30): a `type=registry` cache is pulled (`cache-from`) and pushed
//! (`cache-to`) with the credential the build holds for its registry, so the check looks
//! at it like a context or a push target. What differs is the consequence: BuildKit
//! skips a cache it cannot import and builds without it (a missing cache tag is the
//! normal first run), while a failed export fails the build
//! (https://docs.docker.com/build/cache/backends/registry/,
//! https://github.com/moby/buildkit/pull/3430 for `ignore-error`).

use crate::config::CacheRef;
use crate::findings::{CheckReport, Code, ContextInfo, Role, Severity};

/// Names each finding about a registry cache with its direction and step, and weighs it
/// as the build does: a missing cache tag is a notice (only an import looks it up), and
/// a refusal of a cache that is only imported a warning.
pub(super) fn name_caches(caches: &[CacheRef], contexts: &[ContextInfo], report: &mut CheckReport) {
    for f in &mut report.findings {
        let Some(about) = f.reference.as_deref().map(str::trim) else {
            continue;
        };
        let roles: Vec<Role> = contexts
            .iter()
            .filter(|c| c.reference.trim() == about)
            .map(|c| c.role)
            .collect();
        let is_cache = |r: &Role| matches!(r, Role::CacheFrom | Role::CacheTo);
        if roles.is_empty() || !roles.iter().all(is_cache) {
            continue;
        }
        let export = matches!(f.code, Code::ROLE_PUSH_MISSING | Code::ROLE_PUSH_UNVERIFIED)
            || !roles.contains(&Role::CacheFrom);
        let Some(cache) = caches
            .iter()
            .find(|c| c.reference.trim() == about && c.export == export)
        else {
            continue;
        };
        let direction = if export { "cache-to" } else { "cache-from" };
        f.message = format!(
            "`{about}` is the registry cache of step `{}` (`{direction}`). {}",
            cache.step, f.message
        );
        if f.code == Code::CONTEXT_NOT_FOUND {
            f.severity = Severity::Notice;
            f.title = format!("cache `{about}` does not exist yet: the build starts without it");
            f.message.push_str(" BuildKit ignores a cache it cannot find on import, so this is normal on the first run (or the first of a branch); the build does not fail.");
            f.fix = format!(
                "Nothing to do if a build exports it (`cache-to: type=registry,ref={about},mode=max`, as a later run of this job will when it has one); otherwise add that export so later runs reuse the layers."
            );
        } else if !roles.contains(&Role::CacheTo) && f.severity == Severity::Error {
            f.severity = Severity::Warning;
            f.message.push_str(" BuildKit skips a cache it cannot import and builds without it, so the build does not fail, but it never reuses the cache.");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{CheckId, Finding};

    fn cache(reference: &str, export: bool) -> CacheRef {
        CacheRef {
            reference: reference.into(),
            export,
            step: "Build".into(),
        }
    }

    fn info(reference: &str, role: Role) -> ContextInfo {
        ContextInfo {
            reference: reference.into(),
            role,
            ..ContextInfo::default()
        }
    }

    fn judged(code: Code, about: &str, caches: &[CacheRef], contexts: &[ContextInfo]) -> Finding {
        let mut report = CheckReport::default();
        report.push(
            Finding::new(
                CheckId::Registry,
                code,
                Severity::Error,
                "t",
                "seen.",
                "fix",
            )
            .about(about),
        );
        name_caches(caches, contexts, &mut report);
        report.findings.remove(0)
    }

    #[test]
    fn one_reference_imported_and_exported_is_a_notice_when_missing_and_an_error_when_refused() {
        let r = "r.io/app:cache";
        let caches = [cache(r, false), cache(r, true)];
        let contexts = [info(r, Role::CacheFrom), info(r, Role::CacheTo)];
        let f = judged(Code::CONTEXT_NOT_FOUND, r, &caches, &contexts);
        assert_eq!(f.severity, Severity::Notice);
        assert!(
            f.message.starts_with(
                "`r.io/app:cache` is the registry cache of step `Build` (`cache-from`)."
            ),
            "{}",
            f.message
        );
        // The export needs the same repository: a refused pull stays an error.
        let f = judged(Code::ROLE_PULL_MISSING, r, &caches, &contexts);
        assert_eq!(f.severity, Severity::Error);
        let f = judged(Code::ROLE_PUSH_MISSING, r, &caches, &contexts);
        assert!(f.message.contains("(`cache-to`)"), "{}", f.message);
        // Imported only: a refusal is a warning.
        let f = judged(Code::ROLE_PULL_MISSING, r, &caches[..1], &contexts[..1]);
        assert_eq!(f.severity, Severity::Warning);
        assert!(
            f.message.ends_with("it never reuses the cache."),
            "{}",
            f.message
        );
        // Also a context of the build: left as it is.
        let contexts = [info(r, Role::CacheFrom), info(r, Role::Pull)];
        let f = judged(Code::CONTEXT_NOT_FOUND, r, &caches, &contexts);
        assert_eq!((f.severity, f.message.as_str()), (Severity::Error, "seen."));
    }
}
