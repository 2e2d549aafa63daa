//! The words of the reference check: titles, messages and fixes, with the corrected
//! reference to write. Parsing and the rules live in `crate::reference`, the decisions
//! in `mod.rs`.

use super::*;

/// A value for a message: in backticks, control characters escaped, very long values
/// shortened (the full input is in the JSON `contexts[]`).
pub fn show(s: &str) -> String {
    const MAX: usize = 160;
    const KEEP: usize = 70;
    let escaped: String = s
        .chars()
        .flat_map(|c| {
            let text: String = if c.is_control() {
                c.escape_default().collect()
            } else {
                c.to_string()
            };
            text.chars().collect::<Vec<_>>()
        })
        .collect();
    let n = escaped.chars().count();
    if n > MAX {
        let head: String = escaped.chars().take(KEEP).collect();
        let tail: String = escaped.chars().skip(n - KEEP).collect();
        format!("`{head}…{tail}` ({} characters)", s.chars().count())
    } else {
        format!("`{escaped}`")
    }
}

/// "oci://myreg.azurecr.io/ctx:v1 → registry myreg.azurecr.io, repository ctx, tag v1".
pub(super) fn fact(role: Role, cref: &ContextRef) -> String {
    let r = &cref.reference;
    let mut out = String::new();
    match role {
        Role::Push => out.push_str("push "),
        Role::CacheFrom | Role::CacheTo => {
            out.push_str(role.as_str());
            out.push(' ');
        }
        Role::Pull | Role::Base => {}
    }
    out.push_str(&cref.written);
    out.push_str(" → registry ");
    out.push_str(r.domain.as_deref().unwrap_or(reference::DEFAULT_DOMAIN));
    if !cref.registry_written() {
        out.push_str(" (implied)");
    }
    out.push_str(", repository ");
    out.push_str(&r.path);
    if let Some(tag) = &r.tag {
        out.push_str(", tag ");
        out.push_str(tag);
    }
    if let Some(digest) = &r.digest {
        out.push_str(", digest ");
        out.push_str(digest);
    }
    out
}

pub(super) fn invalid(
    role: Role,
    input: &str,
    error: &ReferenceError,
    registry: Option<&Registry>,
) -> Finding {
    let written = input.trim();
    let shown = show(written);
    let title = format!("{shown} is not a valid image reference");
    let mut message = format!(
        "{} {shown} is rejected: {}.",
        capitalize(role.noun()),
        error.explanation()
    );
    message.push_str(&docker_says(error));
    if matches!(role, Role::CacheFrom | Role::CacheTo) {
        message.push_str(
            " BuildKit parses a registry cache reference before the build starts, so it fails.",
        );
    }
    let fix = invalid_fix(written, error, registry);
    finding(Code::REF_INVALID, Severity::Error, title, message, fix)
}

/// ` Docker reports this as "…".`: docker's own words, to match against a failed
/// build's log (empty for the scheme error, which is this tool's own).
pub fn docker_says(error: &ReferenceError) -> String {
    if error.kind() == ReferenceErrorKind::UnsupportedScheme {
        return String::new();
    }
    let go_text = error.go_text();
    let go_text = if go_text.chars().count() <= 200 {
        go_text
    } else {
        error.kind().text()
    };
    format!(" Docker reports this as \"{go_text}\".")
}

/// REF_INVALID's fix for `written`: the repaired reference when the repair is
/// mechanical, else the rule of the part that broke.
pub fn invalid_fix(written: &str, error: &ReferenceError, registry: Option<&Registry>) -> String {
    let shown = show(written);
    let host = registry.map(|r| r.host.as_str());
    let repair = reference::suggest_repair(written, host);
    let is_layout = error
        .part()
        .is_some_and(|s| s.eq_ignore_ascii_case("oci-layout"));
    match (error.section(), repair) {
        (Section::Scheme, _) if is_layout => {
            "Remove it from --context (input `context`) and pass the OCI layout to buildx directly (`--build-context name=oci-layout://<dir>`); to check a registry context, use `oci://<registry host>/<repository>:<tag>` or `docker-image://<registry host>/<repository>:<tag>`.".to_string()
        }
        (Section::Scheme, Some(plain)) => {
            let scheme = error.part().unwrap_or("");
            format!(
                "Drop the `{scheme}://` prefix: write `{plain}` (a plain reference, or after `docker-image://` for a buildx named context), or `oci://{plain}` for an ACR Tasks OCI artifact context."
            )
        }
        (Section::Scheme, None) => format!(
            "Write the context as `oci://<registry host>/<repository>:<tag>`, `docker-image://<reference>` or a plain reference: {GRAMMAR}."
        ),
        (Section::Registry, Some(candidate)) if host.is_some() => format!(
            "Write the registry host correctly; for the build's registry that is `{candidate}`."
        ),
        (_, Some(candidate)) => format!("Write `{candidate}` instead of {shown}."),
        (Section::Registry, None) => "Write the registry host as a host name with an optional port (`myreg.azurecr.io`, `localhost:5000`) or an IPv6 address in brackets (`[fc00::1]:5000`), followed by `/` and the repository path.".to_string(),
        (Section::Path, None) => "Write the repository path in lowercase letters and digits, joined inside a component only by `.`, `_`, `__` or `-`, with a single `/` between components and at most 255 characters, e.g. `team/ctx`.".to_string(),
        (Section::Tag, None) => "Write a tag of up to 128 characters from [A-Za-z0-9_.-], starting with a letter, digit or `_` (for example replace spaces and `/` with `-`), e.g. `v1.2.3`.".to_string(),
        (Section::Digest, None) => "Write the full digest, `@sha256:` followed by 64 lowercase hex digits (from `az acr repository show -n <acr name> --image <repository>:<tag> --query digest -o tsv` or `docker buildx imagetools inspect <reference>`), or drop the `@…` part and use a tag.".to_string(),
        (Section::Whole, None) => format!("Write the reference as {GRAMMAR}."),
    }
}

pub(super) fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub(super) fn push_with_scheme(role: Role, cref: &ContextRef) -> Finding {
    let shown = show(&cref.written);
    let plain = if role == Role::Push {
        "a push target is a plain image reference (`docker build -t`, `az acr build --image`)"
    } else {
        "a registry cache `ref=` is a plain image reference"
    };
    finding(
        Code::REF_INVALID,
        Severity::Error,
        format!("{shown} is not a valid image reference"),
        format!(
            "{} {shown} has the prefix `{}`; {plain}, prefixes only apply to build contexts.",
            capitalize(role.noun()),
            cref.written_prefix
        ),
        format!("Write `{}`.", cref.reference_text),
    )
}

pub(super) fn no_registry(role: Role, cref: &ContextRef, registry: Option<&Registry>) -> Finding {
    let shown = show(&cref.written);
    let resolved = cref.reference.to_string();
    let registry_is_hub = registry.is_some_and(|r| is_docker_hub(&r.host));
    let oci = cref.scheme == ContextScheme::Oci;
    let severity = if oci || (registry.is_some() && !registry_is_hub) {
        Severity::Error
    } else {
        Severity::Warning
    };
    let remote = cref.remote_text();
    let mut message = if oci {
        format!(
            "{shown} names no registry host: ACR Tasks reads the part after `oci://` as `<registry host>/<repository>[:tag]`, and docker-style resolution would give `{resolved}` (Docker Hub)."
        )
    } else {
        format!(
            "{} names no registry, so docker resolves it to `{resolved}` (Docker Hub).",
            show(remote)
        )
    };
    // `myreg/ctx:v1`: the ACR name written as if it were the registry.
    let first = remote.split(['/', ':', '@']).next().unwrap_or("");
    let acr_name_as_namespace = registry
        .and_then(|r| r.acr_name.as_deref())
        .is_some_and(|name| remote.contains('/') && first.eq_ignore_ascii_case(name));
    let fix = match registry {
        Some(r) if registry_is_hub => {
            message.push_str(&format!(
                " The registry is `{}`, so this is the intended registry, but only implicitly.",
                r.host
            ));
            format!(
                "Name Docker Hub explicitly: `{}{resolved}`.",
                cref.written_prefix
            )
        }
        Some(r) => {
            message.push_str(&format!(" The build's registry is `{}`.", r.host));
            if acr_name_as_namespace {
                message.push_str(&format!(
                    " `{first}` is read as a Docker Hub namespace, not as your registry: a registry is named by its login server, `{}`.",
                    r.host
                ));
                let rest = &remote[first.len() + 1..];
                format!("Use `{}{}/{rest}`.", cref.written_prefix, r.host)
            } else {
                format!("Use `{}`.", cref.with_registry(&r.host))
            }
        }
        None => format!(
            "Prefix the registry host: `{}`, for an ACR `{}`; or write `{}{resolved}` if Docker Hub is intended.",
            cref.with_registry("<registry host>"),
            cref.with_registry("<name>.azurecr.io"),
            cref.written_prefix
        ),
    };
    finding(
        Code::REF_NO_REGISTRY,
        severity,
        if oci {
            format!("{shown} names no registry host")
        } else {
            let noun = match role {
                Role::Pull | Role::Base => String::new(),
                _ => format!("{} ", role.noun()),
            };
            format!("{noun}{shown} names no registry, so it resolves to Docker Hub")
        },
        message,
        fix,
    )
}

pub(super) fn wrong_registry(
    role: Role,
    cref: &ContextRef,
    host: &str,
    registry: &Registry,
) -> Finding {
    let shown = show(&cref.written);
    let want = &registry.host;
    let mut message = format!(
        "{} {shown} resolves to registry `{host}`, but the build's registry is `{want}`.",
        capitalize(role.noun())
    );
    let mut fix_reference = cref.with_registry(want);
    // A clearly different registry (a public base image on mcr.microsoft.com, a shared
    // registry) can be intended: warn. A typo, a port slip or capitals read as a host
    // cannot: fail.
    let mut severity = Severity::Error;
    let host_lc = host.to_ascii_lowercase();
    let (host_name, host_port) = split_port(&host_lc);
    let (want_name, want_port) = split_port(want);
    if host_name == want_name && host_port != want_port {
        message.push_str(&format!(
            " Same host, different port: docker treats `{host}` and `{want}` as different registries, with separate credentials."
        ));
    } else if let Some(typo_of) = typo_of(&host_lc, registry) {
        message.push_str(&format!(" `{host}` looks like a typo of {typo_of}."));
    } else if !crate::reference::names_a_host(host) {
        // Only capitals made docker read it as a host (splitDockerDomain).
        message.push_str(&format!(
            " `{host}` is read as a registry host only because it contains capital letters; if it is part of the repository path, write it in lower case."
        ));
        fix_reference = format!(
            "{}{want}/{}/{}",
            cref.written_prefix,
            host.to_ascii_lowercase(),
            cref.remote_text()
        );
    } else {
        severity = Severity::Warning;
    }
    message.push_str(&format!(
        " Credentials and permissions set up for `{want}` do not apply to `{host}`."
    ));
    finding(
        Code::REF_WRONG_REGISTRY,
        severity,
        format!("{shown} is on {host}, not on {want}"),
        message,
        format!(
            "Use `{fix_reference}`, or correct --registry (input `registry`) if the reference is right."
        ),
    )
}

/// What a registry host finding means for a cache reference: an import BuildKit cannot
/// make is skipped (the build goes on without the cache, so at most a warning); an
/// export it cannot make fails the build.
pub(super) fn cache_consequence(role: Role, finding: &mut Finding) {
    if role == Role::CacheFrom {
        if finding.severity == Severity::Error {
            finding.severity = Severity::Warning;
        }
        finding.message.push_str(" BuildKit skips a cache it cannot import and builds without it, so the build does not fail, but it never reuses the cache.");
    } else {
        finding.message.push_str(" BuildKit exports the cache (`cache-to`) with the credential the build holds for that host; a failed export fails the build unless the entry says `ignore-error=true`.");
    }
}

/// The reference as written, with the tag the build pulls made explicit.
pub(super) fn written_tagged(cref: &ContextRef, tag: &str) -> String {
    if cref.reference.tag.is_some() {
        format!("{}{}", cref.written_prefix, cref.text_without_digest())
    } else {
        format!(
            "{}{}:{tag}",
            cref.written_prefix,
            cref.text_without_digest()
        )
    }
}
