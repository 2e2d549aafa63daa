//! Names: every reference the job's build steps give is checked with the reference
//! grammar, where it is written. The reference check already parses the contexts and
//! push targets handed to it (the discovered ones when no --context/--push was given);
//! this covers the rest: tags a step does not push, registry cache references, and the
//! contexts and push targets the run does not check itself. When an expression or
//! variable supplied the offending character, the finding names it and its value, and
//! the fix is the lower-casing (or sanitising) form of that expression.

use super::*;
use crate::reference::{self, ReferenceError, ReferenceErrorKind};
use crate::workflow::{Origin, Piece};

/// REF_INVALID for each discovered reference the reference check does not see.
pub(super) fn invalid_names(report: &mut CheckReport, config: &Config, discovery: &Discovery) {
    for r in &discovery.references {
        let Some(reference) = r.reference.as_deref() else {
            continue;
        };
        if !r.is_registry() || handed_to_reference_check(discovery, r) {
            continue;
        }
        let Err(error) = parse(r.role, reference) else {
            continue;
        };
        report.push(invalid(config, r, reference, &error));
    }
}

/// The contexts, push targets and registry caches that stand in for --context/--push:
/// the reference check reports those ([`Discovery::contexts`], [`Discovery::pushes`],
/// [`Discovery::cache_refs`]).
fn handed_to_reference_check(discovery: &Discovery, r: &DiscoveredRef) -> bool {
    discovery.applies
        && r.after_preflight
        && (matches!(r.role, Role::Context | Role::Push) || r.role.is_cache())
}

/// A context may carry `docker-image://`/`oci://`; every other name is a plain reference.
fn parse(role: Role, reference: &str) -> Result<(), ReferenceError> {
    match role {
        Role::Context => reference::parse_context(reference).map(|_| ()),
        _ => reference::parse_normalized(reference).map(|_| ()),
    }
}

fn invalid(config: &Config, r: &DiscoveredRef, reference: &str, error: &ReferenceError) -> Finding {
    let shown = crate::checks::reference::show_value(reference);
    let mut message = format!(
        "Step `{}` (line {}) gives the {} {shown} ({}). It is rejected: {}.",
        r.step.label,
        r.step.line,
        r.role.as_str(),
        r.origin.describe(),
        error.explanation()
    );
    message.push_str(&crate::checks::reference::docker_says(error));
    match r.role {
        Role::Tag if r.origin.is_image_command() => message.push_str(
            " The step does not push it, but docker parses the name before the command runs, so the command fails.",
        ),
        Role::Tag => message.push_str(
            " The step does not push it, but the build parses every tag it is given before it starts, so it fails.",
        ),
        Role::CacheFrom | Role::CacheTo => message.push_str(
            " BuildKit parses a registry cache reference before the build starts, so it fails.",
        ),
        Role::Context | Role::Push => {}
    }
    let fix = match from_expression(r, reference, error) {
        Some(e) => {
            message.push(' ');
            message.push_str(&e.seen);
            e.fix
        }
        None => crate::checks::reference::invalid_fix(reference, error, config.registry.as_ref()),
    };
    let f = finding(
        Code::REF_INVALID,
        Severity::Error,
        format!("{} {shown} is not a valid image reference", r.role.as_str()),
        message,
        fix,
    )
    .about(reference);
    f.at(r.location.file.clone(), r.location.line, r.location.column)
}

/// What an expression contributed to an invalid reference: a sentence for the message
/// and the fix.
struct FromExpression {
    seen: String,
    fix: String,
}

/// When the character the grammar rejects comes from an expression or variable: which
/// one, its value, and the fix that transforms it (lower-casing for capitals in the
/// repository path).
fn from_expression(
    r: &DiscoveredRef,
    reference: &str,
    error: &ReferenceError,
) -> Option<FromExpression> {
    let column = error.column()?;
    let at = reference.char_indices().nth(column.checked_sub(1)?)?.0;
    let piece = r.pieces.iter().find(|p| p.start <= at && at < p.end)?;
    let value = reference.get(piece.start..piece.end)?;
    let seen = format!(
        "The character at column {column} comes from `{}`, which is `{value}` in this run.",
        piece.written
    );
    if error.kind() != ReferenceErrorKind::NameContainsUppercase {
        let fix = format!(
            "Do not put `{}` into the reference as it is: its value (`{value}`) breaks the rule above. Generate the tags with docker/metadata-action (it turns branch and tag names into valid tags, e.g. `type=ref,event=branch`), or write a value that follows the rule.",
            piece.written
        );
        return Some(FromExpression { seen, fix });
    }
    // The name part: up to the tag or digest, unless an expression supplies that split.
    let slash = reference.rfind('/').map(|s| s + 1).unwrap_or(0);
    let split = reference[slash..]
        .find(':')
        .map(|c| slash + c)
        .into_iter()
        .chain(reference.find('@'))
        .min()
        .filter(|s| !r.pieces.iter().any(|p| p.start < *s && *s < p.end))
        .unwrap_or(reference.len());
    let clash = r
        .pieces
        .iter()
        .any(|p| p.variable().as_deref() == Some("IMAGE"));
    let var = if clash { "IMAGE_LC" } else { "IMAGE" };
    let as_written = |p: &Piece, _: &str| p.written.clone();
    let lowered = rewrite(
        reference,
        &r.pieces,
        (0, split),
        |p, v| match p.variable() {
            Some(name) => format!("${{{name},,}}"),
            None => v.to_lowercase(),
        },
        |c| c.to_lowercase().collect(),
    );
    let rest = rewrite(
        reference,
        &r.pieces,
        (split, reference.len()),
        as_written,
        String::from,
    );
    let images = rewrite(reference, &r.pieces, (0, split), as_written, String::from);
    let written_in = match r.origin {
        Origin::BuildPushTags => "tags",
        Origin::BuildPushCache => "the cache entry",
        Origin::BuildPushContexts => "build-contexts",
        _ => "the command",
    };
    let fix = format!(
        "Lower-case it before the build: add a step before step `{}` that runs `echo \"{var}={lowered}\" >> \"$GITHUB_ENV\"` (bash's `${{NAME,,}}` lower-cases) and write `${{{{ env.{var} }}}}{rest}` in {written_in}; or generate the tags with docker/metadata-action (`images: {images}`), which lower-cases the image name.",
        r.step.label
    );
    Some(FromExpression { seen, fix })
}

/// `reference[from..to]` with each piece replaced by `piece(piece, value)` and each
/// other character by `literal(c)`.
fn rewrite(
    reference: &str,
    pieces: &[Piece],
    (from, to): (usize, usize),
    piece: impl Fn(&Piece, &str) -> String,
    literal: impl Fn(char) -> String,
) -> String {
    let mut out = String::new();
    let mut i = from;
    while i < to {
        match pieces.iter().find(|p| p.start == i && p.end <= to) {
            Some(p) => {
                out.push_str(&piece(p, reference.get(p.start..p.end).unwrap_or("")));
                i = p.end;
            }
            None => {
                let Some(c) = reference.get(i..).and_then(|s| s.chars().next()) else {
                    break;
                };
                out.push_str(&literal(c));
                i += c.len_utf8();
            }
        }
    }
    out
}

/// The reference check's REF_INVALID on a discovered reference whose offending
/// character an expression supplied: the finding names that expression and the fix
/// lower-cases it. Runs once the reference check is done (it does not read the workflow).
pub fn explain_invalid_references(checks: &mut [(CheckId, CheckReport)], discovery: &Discovery) {
    for (_, report) in checks.iter_mut() {
        for f in report
            .findings
            .iter_mut()
            .filter(|f| f.code == Code::REF_INVALID && f.check == CheckId::Reference)
        {
            let Some(about) = f.reference.as_deref().map(str::trim) else {
                continue;
            };
            let Some(r) = discovery
                .references
                .iter()
                .filter(|r| handed_to_reference_check(discovery, r))
                .find(|r| r.reference.as_deref() == Some(about))
            else {
                continue;
            };
            let Err(error) = reference::parse_context(about) else {
                continue;
            };
            if let Some(e) = from_expression(r, about, &error) {
                f.message.push(' ');
                f.message.push_str(&e.seen);
                f.fix = e.fix;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::{RefKind, StepRef};

    fn discovered(reference: &str, pieces: Vec<Piece>) -> DiscoveredRef {
        DiscoveredRef {
            role: Role::Tag,
            origin: Origin::BuildTag,
            kind: RefKind::Image,
            written: reference.into(),
            reference: Some(reference.into()),
            context_name: None,
            unresolved: Vec::new(),
            empty: Vec::new(),
            location: Location {
                file: "w.yml".into(),
                line: Some(10),
                column: Some(16),
            },
            step: StepRef {
                index: 1,
                label: "build".into(),
                line: 9,
            },
            after_preflight: true,
            pieces,
        }
    }

    fn piece(written: &str, start: usize, end: usize) -> Piece {
        Piece {
            written: written.into(),
            start,
            end,
        }
    }

    fn explain(reference: &str, pieces: Vec<Piece>) -> Option<FromExpression> {
        let r = discovered(reference, pieces);
        let error = reference::parse_normalized(reference).unwrap_err();
        from_expression(&r, reference, &error)
    }

    #[test]
    fn a_variable_holding_host_and_path_is_lowered_whole_and_the_tag_kept() {
        // `$IMAGE:${{ github.sha }}` with IMAGE=Reg.io/Team/App.
        let e = explain(
            "Reg.io/Team/App:abc",
            vec![piece("$IMAGE", 0, 15), piece("${{ github.sha }}", 16, 19)],
        )
        .unwrap();
        assert!(
            e.seen
                .contains("comes from `$IMAGE`, which is `Reg.io/Team/App`"),
            "{}",
            e.seen
        );
        assert!(
            e.fix
                .contains("`echo \"IMAGE_LC=${IMAGE,,}\" >> \"$GITHUB_ENV\"`"),
            "{}",
            e.fix
        );
        assert!(
            e.fix
                .contains("`${{ env.IMAGE_LC }}:${{ github.sha }}` in the command"),
            "{}",
            e.fix
        );
    }

    #[test]
    fn capitals_written_literally_are_not_blamed_on_an_expression() {
        assert!(
            explain(
                "ghcr.io/Octo/app:x",
                vec![piece("${{ github.sha }}", 17, 18)]
            )
            .is_none()
        );
    }

    #[test]
    fn a_tag_an_expression_breaks_names_it_without_lower_casing() {
        // `app:${{ env.V }}` with V=-rc (a tag may not start with `-`).
        let e = explain("app:-rc", vec![piece("${{ env.V }}", 4, 7)]).unwrap();
        assert!(
            e.seen.contains("`${{ env.V }}`, which is `-rc`"),
            "{}",
            e.seen
        );
        assert!(e.fix.starts_with("Do not put `${{ env.V }}`"), "{}", e.fix);
    }

    #[test]
    fn multibyte_values_do_not_split_characters() {
        let e = explain("r.io/É/ü:1", vec![piece("$X", 5, 7)]);
        // Whatever the verdict, no panic; the fix never cuts `É`.
        if let Some(e) = e {
            assert!(!e.fix.contains('\u{fffd}'));
        }
    }
}
