//! Local build contexts and their `.dockerignore` (P43): a build that sends a folder
//! (`az acr build <folder>`, `docker build <dir>`, `docker buildx build <dir>`,
//! docker/build-push-action with a `context:` path) is sent only what the folder's
//! ignore rules keep. A `COPY`/`ADD` source those rules exclude is missing in the build
//! (BuildKit: `"/<path>": not found`); a Dockerfile they exclude may not reach ACR
//! Tasks, which packs the folder with the same rules. BuildKit always sends the
//! Dockerfile itself, so for docker builds only the sources are checked. Files are read
//! from the workspace, bounded, like the Dockerfiles, and the matching work is bounded
//! by [`MATCH_BUDGET`].

use super::*;
use crate::dockerfile::CopySource;
use crate::dockerignore::{self, Rule};

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

/// WORKFLOW_CONTEXT_IGNORED_SOURCE and WORKFLOW_CONTEXT_IGNORED_DOCKERFILE.
pub(super) fn ignored_inputs(
    report: &mut CheckReport,
    files: &dyn WorkflowFiles,
    found: &discover::Found,
) {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut budget = MATCH_BUDGET;
    for build in &found.builds {
        let sender = match build.what.as_str() {
            "az acr build" => Sender::AcrTasks,
            "docker build" | "docker buildx build" | "docker/build-push-action" => Sender::BuildKit,
            _ => continue,
        };
        let (Some(context), Some(dockerfile)) = (
            build.inputs.local_context.as_deref(),
            build.inputs.dockerfile.as_deref(),
        ) else {
            continue;
        };
        let key = (context.to_string(), dockerfile.to_string());
        if seen.contains(&key) {
            continue;
        }
        let Some((ignore_path, rules)) = ignore_file(files, sender, context, dockerfile) else {
            continue;
        };
        seen.push(key);
        let rules_size: usize = rules.iter().map(|r| r.pattern.len() + 1).sum();
        let mut affordable = |path: &str| {
            let cost = rules_size.saturating_mul(path.len() + 1);
            let ok = cost <= budget;
            budget = budget.saturating_sub(cost);
            ok
        };
        if sender == Sender::AcrTasks
            && let Some(rel) = within(context, dockerfile)
            && affordable(&rel)
            && let Some(rule) = dockerignore::excluded_by(&rules, &rel)
        {
            report.push(ignored_dockerfile(build, &ignore_path, rule, &rel));
        }
        let Ok(text) = files.read(dockerfile) else {
            continue;
        };
        for source in crate::dockerfile::copy_sources(&text) {
            let rel = dockerignore::clean(&source.path);
            if rel == "." || rel.starts_with("../") || rel == ".." || !affordable(&rel) {
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
                &rel,
                &ignore_path,
                rule,
            ));
        }
    }
}

/// The ignore file that applies and its rules; None when there is none (or it cannot
/// be read). BuildKit prefers `<Dockerfile>.dockerignore` next to the Dockerfile over
/// the context's `.dockerignore`. Whether the Azure CLI does the same is not confirmed
/// here, so an `az acr build` with such a file is not judged.
fn ignore_file(
    files: &dyn WorkflowFiles,
    sender: Sender,
    context: &str,
    dockerfile: &str,
) -> Option<(String, Vec<Rule>)> {
    let own = format!("{dockerfile}.dockerignore");
    if let Ok(text) = files.read(&own) {
        return match sender {
            Sender::BuildKit => Some((own, dockerignore::parse(&text))),
            Sender::AcrTasks => None,
        };
    }
    let path = if context == "." {
        ".dockerignore".to_string()
    } else {
        format!("{context}/.dockerignore")
    };
    let text = files.read(&path).ok()?;
    Some((path, dockerignore::parse(&text)))
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

fn ignored_source(
    build: &discover::BuildCommand,
    dockerfile: &str,
    source: &CopySource,
    rel: &str,
    ignore_path: &str,
    rule: &Rule,
) -> Finding {
    let instruction = source.instruction.to_ascii_uppercase();
    let f = finding(
        Code::WORKFLOW_CONTEXT_IGNORED_SOURCE,
        Severity::Error,
        format!(
            "`{instruction} {}` in {dockerfile} reads a path that {ignore_path} keeps out of the build context",
            source.path
        ),
        format!(
            "Step `{}` builds {dockerfile} with `{}` (line {}) from the context folder `{}`. {ignore_path} line {} (`{}`) excludes `{rel}`, which `{instruction}` on line {} of {dockerfile} reads: the build is not sent it and fails with `\"/{rel}\": not found`.",
            build.step.label,
            build.what,
            build_line(build),
            build.inputs.local_context.as_deref().unwrap_or("."),
            rule.line,
            rule.written,
            source.line,
        ),
        format!(
            "Add the line `!{rel}` to {ignore_path} after line {}, or narrow the pattern `{}` so it no longer matches `{rel}`.",
            rule.line, rule.written
        ),
    );
    f.at(
        dockerfile.to_string(),
        u32::try_from(source.line).ok(),
        u32::try_from(source.column).ok(),
    )
}

fn ignored_dockerfile(
    build: &discover::BuildCommand,
    ignore_path: &str,
    rule: &Rule,
    rel: &str,
) -> Finding {
    let context = build.inputs.local_context.as_deref().unwrap_or(".");
    let f = finding(
        Code::WORKFLOW_CONTEXT_IGNORED_DOCKERFILE,
        Severity::Warning,
        format!("{ignore_path} excludes the Dockerfile `{rel}` that `az acr build` builds"),
        format!(
            "Step `{}` runs `az acr build` (line {}) on the folder `{context}`. The Azure CLI packs that folder with the rules of {ignore_path} before uploading it to ACR Tasks, and line {} (`{}`) excludes the Dockerfile `{rel}`: the build may then stop because the Dockerfile is not in the uploaded source. acr-preflight cannot tell from here whether your Azure CLI version adds the Dockerfile back, so this is a warning.",
            build.step.label,
            build_line(build),
            rule.line,
            rule.written,
        ),
        format!(
            "Add the line `!{rel}` to {ignore_path} after line {}, or narrow the pattern `{}` so it no longer matches `{rel}`.",
            rule.line, rule.written
        ),
    );
    f.at(
        build.location.file.clone(),
        build.location.line,
        build.location.column,
    )
}
