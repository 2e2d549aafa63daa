//! Local build contexts and their `.dockerignore` (P43): a build that sends a folder
//! (`az acr build <folder>`, `az acr run <folder>`, `az acr task run --context
//! <folder>`, `docker build <dir>`, `docker buildx build <dir>`,
//! docker/build-push-action with a `context:` path) is sent only what the folder's
//! ignore rules keep; `az acr run` also needs its task file in the upload. A `COPY`/`ADD` source those rules exclude is missing in the build
//! (BuildKit: `"/<path>": not found`); a Dockerfile they exclude may not reach ACR
//! Tasks, which packs the folder with the same rules. BuildKit always sends the
//! Dockerfile itself, so for docker builds only the sources are checked. Files are read
//! from the workspace, bounded, like the Dockerfiles, and the matching work is bounded
//! by [`MATCH_BUDGET`].

use super::*;
use crate::dockerfile::CopySource;
use crate::dockerignore::{self, Rule};
use std::time::{Duration, Instant};

/// How many pattern × path character steps the matching may take in one run: real
/// ignore files and Dockerfiles take a few thousand; a hostile pair of files stops
/// being judged here instead of stalling the run.
const MATCH_BUDGET: usize = 50_000_000;

/// What sends the context folder: ACR Tasks (the Azure CLI packs it) or BuildKit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sender {
    AcrTasks,
    BuildKit,
}

/// WORKFLOW_CONTEXT_IGNORED_SOURCE for every local build; for `az acr build`, what the
/// Azure CLI uploads (TASKS_CONTEXT_UPLOAD_LARGE, TASKS_CONTEXT_LINK_OUTSIDE), the walk
/// bounded by `walk_time` and [`MAX_WALKED`] entries.
pub(super) fn ignored_inputs(
    report: &mut CheckReport,
    files: &dyn WorkflowFiles,
    found: &discover::Found,
    walk_time: Duration,
) {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut budget = MATCH_BUDGET;
    let deadline = Instant::now() + walk_time.min(MAX_WALK_TIME);
    for build in &found.builds {
        let sender = match build.what.as_str() {
            "az acr build" | "az acr run" | "az acr task run" => Sender::AcrTasks,
            "docker build" | "docker buildx build" | "docker/build-push-action" => Sender::BuildKit,
            _ => continue,
        };
        let Some(context) = build.inputs.local_context.as_deref() else {
            continue;
        };
        let dockerfile = build.inputs.dockerfile.as_deref();
        let key = (
            context.to_string(),
            dockerfile
                .or(build.inputs.task_file.as_deref())
                .unwrap_or_default()
                .to_string(),
        );
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        if sender == Sender::AcrTasks {
            let Some(pack) = Pack::of(build) else {
                continue;
            };
            tasks_upload(report, files, build, context, &pack, deadline, &mut budget);
            continue;
        }
        let Some(dockerfile) = dockerfile else {
            continue;
        };
        let Some((ignore_path, rules)) = ignore_file(files, context, dockerfile) else {
            continue;
        };
        let rules_size: usize = rules.iter().map(|r| r.pattern.len() + 1).sum();
        let mut affordable = |path: &str| {
            let cost = rules_size.saturating_mul(path.len() + 1);
            let ok = cost <= budget;
            budget = budget.saturating_sub(cost);
            ok
        };
        let Ok(text) = files.read(dockerfile) else {
            continue;
        };
        for source in crate::dockerfile::copy_sources(&text) {
            let Some(rel) = source_in_context(&source) else {
                continue;
            };
            if !affordable(&rel) {
                continue;
            }
            let Some(rule) = dockerignore::excluded_by(&rules, &rel) else {
                continue;
            };
            if reincluded_below(&rules, rule, &rel) {
                continue;
            }
            report.push(ignored_source(
                build,
                dockerfile,
                &source,
                &ignore_path,
                Excluder::Rule(&ignore_path, rule),
                &rel,
            ));
        }
    }
}

/// Entries the upload walk looks at, at most, over all builds.
const MAX_WALKED: u64 = 200_000;
/// The longest the upload walk may take, over all builds.
const MAX_WALK_TIME: Duration = Duration::from_secs(5);
/// An upload above this many bytes (before compression) is reported.
const LARGE_UPLOAD: u64 = 100 * 1024 * 1024;

/// A `COPY`/`ADD` source as a path in the context; None for the whole context or a
/// path outside it.
fn source_in_context(source: &CopySource) -> Option<String> {
    let rel = dockerignore::clean(&source.path);
    (rel != "." && rel != ".." && !rel.starts_with("../")).then_some(rel)
}

/// How the Azure CLI packs a local folder for one ACR Tasks command.
struct Pack<'b> {
    /// The file name that picks the ignore file (`<folder>/<name>.dockerignore` when it
    /// is not `Dockerfile`): the Dockerfile's; empty for `az acr run`, which packs
    /// without one, so `<folder>/.dockerignore` is read as such an override.
    name: &'b str,
    /// The Dockerfile the command adds to the upload apart and whose `COPY`/`ADD`
    /// sources are checked; None when it is not known here.
    dockerfile: Option<&'b str>,
    /// `az acr run`: the task file ACR Tasks reads from inside the upload.
    task_file: Option<&'b str>,
}

impl<'b> Pack<'b> {
    /// `az acr build` (azure-cli `acr/build.py`) and `az acr task run --context`
    /// (`acr/task.py`, `acr_task_run`, through `acr/_utils.py`,
    /// `prepare_source_location`) pass the Dockerfile to `_pack_source_code`, the
    /// latter `<folder>/Dockerfile` without `--file`; `az acr run` (`acr/run.py`,
    /// `prepare_source_location`) passes none. None when the Dockerfile of an
    /// `az acr build` is not known.
    fn of(build: &'b discover::BuildCommand) -> Option<Self> {
        let dockerfile = build.inputs.dockerfile.as_deref();
        let name_of = |path: &'b str| path.rsplit('/').next().unwrap_or(path);
        Some(match build.what.as_str() {
            "az acr run" => Pack {
                name: "",
                dockerfile: None,
                task_file: build.inputs.task_file.as_deref(),
            },
            "az acr task run" => Pack {
                name: dockerfile.map_or("Dockerfile", name_of),
                dockerfile,
                task_file: None,
            },
            _ => Pack {
                name: name_of(dockerfile?),
                dockerfile,
                task_file: None,
            },
        })
    }
}

/// An ACR Tasks command of a local folder: the Azure CLI packs the folder itself, with its own reading
/// of the ignore file it picks ([`tasks_ignore_file`]), always without the top-level
/// version-control names, and adds the Dockerfile to the upload apart (azure-cli
/// `acr/build.py` passes it to `_pack_source_code`, which adds it under a new name
/// after the walk:
/// https://github.com/Azure/azure-cli/blob/dev/src/azure-cli/azure/cli/command_modules/acr/build.py),
/// so an ignored Dockerfile is still built.
fn tasks_upload(
    report: &mut CheckReport,
    files: &dyn WorkflowFiles,
    build: &discover::BuildCommand,
    context: &str,
    pack: &Pack,
    deadline: Instant,
    budget: &mut usize,
) {
    let what = build.what.as_str();
    let ignore = tasks_ignore_file(files, context, pack.name);
    let (ignore_path, rules, opaque) = match &ignore {
        Some((path, rules, opaque)) => (Some(path.as_str()), rules.as_slice(), opaque.as_slice()),
        None => (None, &[][..], &[][..]),
    };
    if let (Some(path), Some(line)) = (ignore_path, opaque.first()) {
        report.verified(format!(
            "{path} line {line} uses regular-expression characters, which the Azure CLI hands to Python's `re` as they are; what `{what}` uploads from `{context}` is not judged"
        ));
        return;
    }
    let rules_size: usize = rules.iter().map(|r| r.pattern.len() + 1).sum();
    let mut affordable = |path: &str| {
        let cost = rules_size.saturating_mul(path.len() + 1);
        let ok = cost <= *budget;
        *budget = budget.saturating_sub(cost);
        ok
    };
    if let (Some(path), Some(rel)) = (
        ignore_path,
        pack.dockerfile.and_then(|d| within(context, d)),
    ) && affordable(&rel)
        && dockerignore::azure_cli_decide(rules, &rel).0.ignored
    {
        report.verified(format!(
            "{path} excludes the Dockerfile `{rel}`, but `{what}` adds the Dockerfile to the upload apart, so it is built"
        ));
    }
    if let Some(path) = ignore_path
        && let Some(rel) = pack.task_file.and_then(|t| within(context, t))
        && affordable(&rel)
        && let (state, Some(rule)) = dockerignore::azure_cli_decide(rules, &rel)
        && state.ignored
    {
        report.push(ignored_task_file(build, context, path, rule, &rel));
    }
    let packed = files.root().map(|root| {
        crate::acr_pack::dry_run(
            &root.join(context),
            rules,
            crate::acr_pack::Limits {
                max_entries: MAX_WALKED,
                deadline,
            },
        )
    });
    let text = pack
        .dockerfile
        .and_then(|d| files.read(d).ok())
        .unwrap_or_default();
    let dockerfile = pack.dockerfile.unwrap_or_default();
    for source in crate::dockerfile::copy_sources(&text) {
        let Some(rel) = source_in_context(&source) else {
            continue;
        };
        if let Some(link) = packed.as_ref().and_then(|p| {
            p.outside_links
                .iter()
                .find(|l| rel == l.path || rel.starts_with(&format!("{}/", l.path)))
        }) {
            report.push(link_outside(build, dockerfile, &source, context, link));
            continue;
        }
        if !affordable(&rel) {
            continue;
        }
        let (state, by) = dockerignore::azure_cli_decide(rules, &rel);
        if !state.ignored || state.may_include_below(rules) {
            continue;
        }
        let excluder = match (by, ignore_path) {
            (Some(rule), Some(path)) => Excluder::Rule(path, rule),
            _ => Excluder::Vcs,
        };
        let shown = ignore_path.map_or_else(|| "the Azure CLI".to_string(), str::to_string);
        report.push(ignored_source(
            build, dockerfile, &source, &shown, excluder, &rel,
        ));
    }
    if let Some(packed) = packed {
        upload_size(report, build, context, ignore_path, rules, &packed);
    }
}

/// The ignore file the Azure CLI reads for a folder packed with the Dockerfile named
/// `name` (azure-cli `acr/_archive_utils.py`, `_load_dockerignore_file`): when `name`
/// is not `Dockerfile` and `<context>/<name>.dockerignore` exists (in the context
/// folder, not beside the Dockerfile), that file, with `.dockerignore` added as a rule;
/// else `<context>/.dockerignore`. `az acr run` packs with an empty name, so its
/// `<context>/.dockerignore` is read as such an override. Its path, rules (highest
/// priority first) and the lines not mirrored here.
fn tasks_ignore_file(
    files: &dyn WorkflowFiles,
    context: &str,
    name: &str,
) -> Option<(String, Vec<Rule>, Vec<usize>)> {
    let in_context = |name: &str| in_context(context, name);
    if name != "Dockerfile" {
        let own = in_context(&format!("{name}.dockerignore"));
        if let Ok(text) = files.read(&own) {
            let (rules, opaque) = dockerignore::parse_azure_cli(&text, true);
            return Some((own, rules, opaque));
        }
    }
    let path = in_context(".dockerignore");
    let text = files.read(&path).ok()?;
    let (rules, opaque) = dockerignore::parse_azure_cli(&text, false);
    Some((path, rules, opaque))
}

/// The ignore file BuildKit reads and its rules; None when there is none (or it
/// cannot be read): `<Dockerfile>.dockerignore` next to the Dockerfile before the
/// context's `.dockerignore`.
fn ignore_file(
    files: &dyn WorkflowFiles,
    context: &str,
    dockerfile: &str,
) -> Option<(String, Vec<Rule>)> {
    let own = format!("{dockerfile}.dockerignore");
    if let Ok(text) = files.read(&own) {
        return Some((own, dockerignore::parse(&text)));
    }
    let path = in_context(context, ".dockerignore");
    let text = files.read(&path).ok()?;
    Some((path, dockerignore::parse(&text)))
}

/// The workspace path of `name` in the context folder.
fn in_context(context: &str, name: &str) -> String {
    if context == "." {
        name.to_string()
    } else {
        format!("{context}/{name}")
    }
}

/// `path` (workspace-relative) relative to the context folder, when it is inside it.
fn within(context: &str, path: &str) -> Option<String> {
    let path = dockerignore::clean(path);
    if context == "." {
        return Some(path);
    }
    path.strip_prefix(context)
        .and_then(|rest| rest.strip_prefix('/'))
        .map(str::to_string)
}

/// A later exception may include again something below an excluded folder (`app` then
/// `!app/main.py`): then the folder is sent in part, and what a `COPY app` finds is
/// not known without listing the context, so it is not reported.
fn reincluded_below(rules: &[Rule], decided: &Rule, source: &str) -> bool {
    let prefix = format!("{source}/");
    rules
        .iter()
        .filter(|r| r.exception && r.line > decided.line)
        .any(|r| r.pattern.starts_with(&prefix) || r.pattern.contains(['*', '?', '[']))
}

fn build_line(build: &discover::BuildCommand) -> u32 {
    build.location.line.unwrap_or(build.step.line)
}

/// What keeps a source out of the build context.
enum Excluder<'r> {
    /// A rule of the ignore file at this path.
    Rule(&'r str, &'r Rule),
    /// The Azure CLI's own list of version-control names.
    Vcs,
}

fn ignored_source(
    build: &discover::BuildCommand,
    dockerfile: &str,
    source: &CopySource,
    shown: &str,
    excluder: Excluder,
    rel: &str,
) -> Finding {
    let instruction = source.instruction.to_ascii_uppercase();
    let (why, fix) = match excluder {
        Excluder::Rule(path, rule) => (
            format!("{path} line {} (`{}`) excludes `{rel}`", rule.line, rule.written),
            format!(
                "Add the line `!{rel}` to {path} after line {}, or narrow the pattern `{}` so it no longer matches `{rel}`.",
                rule.line, rule.written
            ),
        ),
        Excluder::Vcs => (
            format!(
                "the Azure CLI always leaves the top-level `.git`, `.gitignore`, `.hg`, `.hgignore`, `.bzr`, `bzrignore` and `.svn` out of what it uploads, whatever the ignore file says, and that excludes `{rel}`"
            ),
            "Do not read version-control files in the build: pass what it needs as a build argument (`az acr build … --build-arg GIT_COMMIT=$(git rev-parse HEAD)` with `ARG GIT_COMMIT` in the Dockerfile), or build on the runner with docker, which sends them.".to_string(),
        ),
    };
    let f = finding(
        Code::WORKFLOW_CONTEXT_IGNORED_SOURCE,
        Severity::Error,
        format!(
            "`{instruction} {}` in {dockerfile} reads a path that {shown} keeps out of the build context",
            source.path
        ),
        format!(
            "Step `{}` builds {dockerfile} with `{}` (line {}) from the context folder `{}`. {why}, which `{instruction}` on line {} of {dockerfile} reads: the build is not sent it and fails with `\"/{rel}\": not found`.",
            build.step.label,
            build.what,
            build_line(build),
            build.inputs.local_context.as_deref().unwrap_or("."),
            source.line,
        ),
        fix,
    );
    f.at(
        dockerfile.to_string(),
        u32::try_from(source.line).ok(),
        u32::try_from(source.column).ok(),
    )
}

/// WORKFLOW_CONTEXT_IGNORED_DOCKERFILE for `az acr run`: the ignore rules keep the task
/// file out of the upload, and ACR Tasks reads it from there; at the excluding line.
fn ignored_task_file(
    build: &discover::BuildCommand,
    context: &str,
    ignore_path: &str,
    rule: &Rule,
    rel: &str,
) -> Finding {
    let f = finding(
        Code::WORKFLOW_CONTEXT_IGNORED_DOCKERFILE,
        Severity::Error,
        format!(
            "{ignore_path} excludes the task file `{rel}` that `{}` reads from the upload",
            build.what
        ),
        format!(
            "Step `{}` runs `{}` (line {}) on the folder `{context}`. The Azure CLI packs that folder with the rules of {ignore_path} and adds no file apart; ACR Tasks then reads the task file `{rel}` (`-f`, `acb.yaml` without it) from inside the upload. {ignore_path} line {} (`{}`) excludes `{rel}`, so the upload holds no `{rel}` and the run fails before its first step.",
            build.step.label,
            build.what,
            build_line(build),
            rule.line,
            rule.written,
        ),
        format!(
            "Add the line `!{rel}` to {ignore_path} after line {}, or narrow the pattern `{}` so it no longer matches `{rel}`.",
            rule.line, rule.written
        ),
    );
    f.at(ignore_path.to_string(), u32::try_from(rule.line).ok(), None)
}

/// TASKS_CONTEXT_LINK_OUTSIDE: a source that is, or is below, a link whose target the
/// upload does not hold.
fn link_outside(
    build: &discover::BuildCommand,
    dockerfile: &str,
    source: &CopySource,
    context: &str,
    link: &crate::acr_pack::OutsideLink,
) -> Finding {
    let instruction = source.instruction.to_ascii_uppercase();
    let in_workspace = in_context(context, &link.path);
    let f = finding(
        Code::TASKS_CONTEXT_LINK_OUTSIDE,
        Severity::Warning,
        format!(
            "`{instruction} {}` in {dockerfile} reads through the link `{in_workspace}`, whose target `{}` does not upload",
            source.path, build.what
        ),
        format!(
            "Step `{}` runs `{}` (line {}) on the folder `{context}`. `{in_workspace}` is a symbolic link to `{}`, which is not inside that folder (absolute, leading out of it, or missing). The Azure CLI packs links as links and never follows them, so the upload holds the link without its target, and `{instruction}` on line {} of {dockerfile} finds nothing behind it on the ACR Tasks agent.",
            build.step.label,
            build.what,
            build_line(build),
            link.target,
            source.line,
        ),
        format!(
            "Replace the link with the files it points to (`cp -rL {in_workspace} {in_workspace}.tmp && rm {in_workspace} && mv {in_workspace}.tmp {in_workspace}` in a step before `{}`), or build from a folder that holds the target, with `--file` naming the Dockerfile.",
            build.what
        ),
    );
    f.at(
        dockerfile.to_string(),
        u32::try_from(source.line).ok(),
        u32::try_from(source.column).ok(),
    )
}

/// `bytes` as `12.3 MB` (decimal, as `du -h --si` and the Azure CLI's own count
/// differ only in the unit).
fn size(bytes: u64) -> String {
    const UNITS: &[&str] = &["bytes", "kB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// TASKS_CONTEXT_UPLOAD_LARGE: the upload is above [`LARGE_UPLOAD`] or holds a
/// dependency folder; otherwise its size is a verified fact.
fn upload_size(
    report: &mut CheckReport,
    build: &discover::BuildCommand,
    context: &str,
    ignore_path: Option<&str>,
    rules: &[Rule],
    packed: &crate::acr_pack::Packed,
) {
    let partial = packed
        .stopped
        .as_deref()
        .map(|s| format!(" (the walk stopped {s}: at least this much)"))
        .unwrap_or_default();
    let counted = format!(
        "{} files, {} before compression{partial}",
        packed.files,
        size(packed.bytes)
    );
    let heavy: Vec<&crate::acr_pack::Heavy> = packed.heavy.iter().filter(|h| h.files > 0).collect();
    if packed.bytes <= LARGE_UPLOAD && heavy.is_empty() {
        report.verified(format!(
            "`{}` of `{context}` uploads {counted}; the walk took {} ms",
            build.what,
            packed.elapsed.as_millis()
        ));
        return;
    }
    let ignore = ignore_path.map_or_else(|| in_context(context, ".dockerignore"), str::to_string);
    let mut seen = format!(
        "Step `{}` runs `{}` (line {}) on the folder `{context}`, which the Azure CLI packs on the runner and uploads before the build starts: {counted}.",
        build.step.label,
        build.what,
        build_line(build),
    );
    if !heavy.is_empty() {
        let list: Vec<String> = heavy
            .iter()
            .map(|h| format!("`{}` ({} files, {})", h.path, h.files, size(h.bytes)))
            .collect();
        seen.push_str(&format!(
            " It includes {}, installed dependencies that the image build installs again.",
            list.join(", ")
        ));
    }
    // Lines Docker honours and the Azure CLI does not: `node_modules/`, `/build`.
    let docker_rules: Vec<Rule> = rules
        .iter()
        .filter(|r| !r.exception && (r.written.ends_with('/') || r.written.starts_with('/')))
        .flat_map(|r| {
            dockerignore::parse(&r.written)
                .into_iter()
                .map(|d| (r.line, d))
        })
        .map(|(line, mut d)| {
            d.line = line;
            d
        })
        .collect();
    let mut lines: Vec<String> = Vec::new();
    let mut dead: Vec<String> = Vec::new();
    for h in &heavy {
        lines.push(format!("`{}`", h.path));
        let name = h.path.rsplit('/').next().unwrap_or(&h.path);
        if let Some(rule) = dockerignore::excluded_by(&docker_rules, &h.path)
            .or_else(|| dockerignore::excluded_by(&docker_rules, name))
        {
            let note = format!("line {} (`{}`)", rule.line, rule.written);
            if !dead.contains(&note) {
                dead.push(note);
            }
        }
    }
    if !dead.is_empty() {
        seen.push_str(&format!(
            " {ignore} {} names them with a leading or trailing `/`, which the Azure CLI keeps in the pattern, so the line matches nothing.",
            dead.join(", ")
        ));
    }
    let fix = if lines.is_empty() {
        format!(
            "Add the folders the image does not need to {ignore}, one a line, without a leading or trailing `/` (the Azure CLI does not match `build/`, only `build`); or build on the runner with docker."
        )
    } else {
        format!(
            "Add {} to {ignore}, one a line, without a leading or trailing `/` (the Azure CLI does not match `node_modules/`, only `node_modules`).",
            lines.join(", ")
        )
    };
    report.push(
        finding(
            Code::TASKS_CONTEXT_UPLOAD_LARGE,
            Severity::Notice,
            format!(
                "`{}` uploads {} from `{context}`",
                build.what,
                size(packed.bytes)
            ),
            seen,
            fix,
        )
        .at(
            build.location.file.clone(),
            build.location.line,
            build.location.column,
        ),
    );
}
