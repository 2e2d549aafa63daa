//! The `github` format: annotations on stdout, the full report in a folded log group,
//! the job summary, step outputs and the JSON report file.

use crate::findings::{AzureIdentity, Finding, Report, Role, Severity};
use crate::output::runner;
use std::path::{Path, PathBuf};

/// The runner keeps at most this many annotations per level per step.
pub const ANNOTATIONS_PER_LEVEL: usize = 10;

fn annotation(f: &Finding) -> String {
    let mut props: Vec<(&str, String)> = vec![("title", format!("{}: {}", f.code, f.title))];
    if let Some(loc) = &f.location {
        props.push(("file", loc.file.clone()));
        if let Some(line) = loc.line {
            props.push(("line", line.to_string()));
            if let Some(col) = loc.column {
                props.push(("col", col.to_string()));
            }
        }
    }
    let mut data = f.message.clone();
    if !f.fix.is_empty() {
        data.push_str("\nFix: ");
        data.push_str(&f.fix);
    }
    runner::command(f.severity.as_str(), &props, &data)
}

/// The stdout lines: ranked annotations (at most ten per level, the rest stay in the
/// log and the summary), then the whole text report in a group that the runner cannot
/// read commands from.
pub fn stdout_lines(report: &Report, text_report: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut per_level = std::collections::HashMap::<Severity, usize>::new();
    for f in report.ranked() {
        let n = per_level.entry(f.severity).or_default();
        if *n < ANNOTATIONS_PER_LEVEL {
            lines.push(annotation(f));
        }
        *n += 1;
    }
    let token = format!("acr-preflight-{}", runner::random_token());
    lines.push(runner::command(
        "group",
        &[],
        &format!("acr-preflight report: {}", report.verdict().as_str()),
    ));
    lines.push(format!("::stop-commands::{token}"));
    lines.extend(text_report.lines().map(runner::safe_log_line));
    lines.push(format!("::{token}::"));
    lines.push("::endgroup::".into());
    lines
}

/// The step outputs, declared once: [`write_files`] writes exactly these, and
/// action.yml's and host/action.yml's `outputs:` and the README's table are generated
/// from them ([`action_yml_outputs`], [`outputs_markdown`]; tests/it/generated_docs.rs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutput {
    Result,
    Digest,
    PrincipalId,
    ClientId,
    Report,
}

impl StepOutput {
    /// In the order they are written and documented.
    pub const ALL: [StepOutput; 5] = [
        StepOutput::Result,
        StepOutput::Digest,
        StepOutput::PrincipalId,
        StepOutput::ClientId,
        StepOutput::Report,
    ];

    /// The output's name (`steps.<id>.outputs.<name>`).
    pub fn name(self) -> &'static str {
        match self {
            StepOutput::Result => "result",
            StepOutput::Digest => "digest",
            StepOutput::PrincipalId => "principal-id",
            StepOutput::ClientId => "client-id",
            StepOutput::Report => "report",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            StepOutput::Result => {
                "`pass`, `warn` or `fail`: the severity of the worst finding (whether the step fails is up to `fail-on`)"
            }
            StepOutput::Digest => {
                "Digest of the first context, once the registry check has resolved it (empty before)"
            }
            StepOutput::PrincipalId => {
                "Object ID of the Azure identity the run signed in as, what role assignments name (empty without an Azure sign-in)"
            }
            StepOutput::ClientId => {
                "Application (client) ID of the Azure identity the run signed in as (empty without an Azure sign-in)"
            }
            StepOutput::Report => {
                "Path of the JSON report (docs/report.md): relative to the workspace (under .acr-preflight/) for the container action, absolute beside the step summary in host mode; a later run: step can open it as given. Empty when it could not be written"
            }
        }
    }
}

/// The `outputs:` block of an action.yml, up to `runs:`. A composite action maps each
/// output to the step that runs the program (`composite_step`, its `id`); a container
/// action's outputs are the program's own.
pub fn action_yml_outputs(composite_step: Option<&str>) -> String {
    let mut out = String::from("outputs:\n");
    for o in StepOutput::ALL {
        out.push_str(&format!("  {}:\n", o.name()));
        out.push_str(&format!(
            "    description: {}\n",
            runner::yaml_quote(o.description())
        ));
        if let Some(step) = composite_step {
            out.push_str(&format!(
                "    value: ${{{{ steps.{step}.outputs.{} }}}}\n",
                o.name()
            ));
        }
    }
    out
}

/// The README's table of step outputs.
pub fn outputs_markdown() -> String {
    let mut out = String::from("| output | meaning |\n|---|---|\n");
    for o in StepOutput::ALL {
        out.push_str(&format!(
            "| `{}` | {} |\n",
            o.name(),
            o.description().replace('|', "\\|")
        ));
    }
    out
}

/// Where the JSON report goes, and how the `report` output names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportPlace {
    /// Beside the step summary, named by its absolute path: on the runner itself, where
    /// later steps see the same paths.
    BesideSummary,
    /// In `dir` (created), named by the path relative to `workspace`: inside a container
    /// action, where the summary's directory is a container path no later `run:` step
    /// can open, while the workspace is the same directory on both sides.
    InWorkspace { workspace: PathBuf, dir: PathBuf },
}

/// Writes the summary, the JSON report (`json_report`, normally
/// [`super::json::model`] of `report`) and the step outputs.
/// Returns what could not be written, as messages for stderr: a broken runner file
/// must not hide the findings already printed.
pub fn write_files(
    report: &Report,
    json_report: &impl serde::Serialize,
    summary_path: Option<&Path>,
    output_path: Option<&Path>,
    place: &ReportPlace,
) -> Vec<String> {
    let links = super::summary::Links::default();
    write_files_linked(
        report,
        json_report,
        summary_path,
        output_path,
        place,
        &links,
    )
}

/// [`write_files`], with the summary's links to the workflow and the docs.
pub fn write_files_linked(
    report: &Report,
    json_report: &impl serde::Serialize,
    summary_path: Option<&Path>,
    output_path: Option<&Path>,
    place: &ReportPlace,
    links: &super::summary::Links,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut report_path: Option<PathBuf> = None;
    if let Some(summary) = summary_path {
        let markdown = super::summary::render_with(report, runner::summary_budget(summary), links);
        if let Err(e) = runner::append_summary(summary, &markdown) {
            problems.push(format!(
                "cannot append to GITHUB_STEP_SUMMARY {}: {e}",
                summary.display()
            ));
        }
        let name = format!(
            "acr-preflight-report-{}.json",
            &runner::random_token()[..12]
        );
        let (path, written) = match place {
            ReportPlace::BesideSummary => {
                let dir = summary.parent().unwrap_or(Path::new("."));
                let path = dir.join(&name);
                // Beside the summary only when the summary is the runner's regular file:
                // beside a link or a device (`/dev/full`) is somewhere else entirely.
                let written = if std::fs::symlink_metadata(summary)
                    .is_ok_and(|m| m.file_type().is_file())
                {
                    write_report(dir, &name, json_report).map(|()| path.clone())
                } else {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        "GITHUB_STEP_SUMMARY is not a regular file, so the directory beside it is not the runner's",
                    ))
                };
                (path, written)
            }
            ReportPlace::InWorkspace { workspace, dir } => {
                let path = dir.join(&name);
                let written = inside_workspace(workspace, dir).and_then(|relative| {
                    prepare_report_dir(dir)?;
                    write_report(dir, &name, json_report)?;
                    Ok(relative.join(&name))
                });
                (path, written)
            }
        };
        match written {
            Ok(path) => report_path = Some(path),
            Err(e) => problems.push(format!(
                "cannot write the JSON report {}: {e}",
                path.display()
            )),
        }
    }
    if let Some(output) = output_path {
        let report_path = report_path
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        // Exhaustive: a new output cannot be declared without a value, and nothing but a
        // declared output's name is ever a key.
        let value = |o: StepOutput| match o {
            StepOutput::Result => report.verdict().as_str().to_string(),
            StepOutput::Digest => report
                .contexts
                .iter()
                .find(|c| c.role == Role::Pull)
                .and_then(|c| c.digest.clone())
                .unwrap_or_default(),
            StepOutput::PrincipalId => identity_field(report, |i| &i.object_id),
            StepOutput::ClientId => identity_field(report, |i| &i.client_id),
            StepOutput::Report => report_path.clone(),
        };
        let outputs: Vec<(&str, String)> = StepOutput::ALL
            .iter()
            .map(|&o| (o.name(), value(o)))
            .collect();
        if let Err(e) = runner::write_outputs(output, &outputs) {
            problems.push(format!(
                "cannot write GITHUB_OUTPUT {}: {e}",
                output.display()
            ));
        }
    }
    problems
}

/// Creates the report afresh (`O_EXCL | O_NOFOLLOW`) in `dir`, which must not be a link.
fn write_report(
    dir: &Path,
    name: &str,
    json_report: &impl serde::Serialize,
) -> std::io::Result<()> {
    let body = serde_json::to_string_pretty(json_report).map_err(std::io::Error::other)?;
    crate::fsread::create_new_file(dir, name, body.as_bytes())
}

/// `dir` relative to `workspace`, when it stays inside it (plain names only).
fn inside_workspace(workspace: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    use std::path::Component;
    match dir.strip_prefix(workspace) {
        Ok(rel) if rel.components().all(|c| matches!(c, Component::Normal(_))) => {
            Ok(rel.to_path_buf())
        }
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} is not inside the workspace {}",
                dir.display(),
                workspace.display()
            ),
        )),
    }
}

/// Creates the report directory with a `.gitignore` of `*`, so that the report never
/// shows up in `git status` or gets committed by a later step. A report directory that
/// is a symlink (planted by an earlier step to send the report outside the workspace)
/// is refused.
fn prepare_report_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => std::fs::create_dir(dir)?,
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    if !crate::fsread::is_real_dir(dir) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "{} is a symbolic link or not a directory; the report is written only inside the workspace",
                dir.display()
            ),
        ));
    }
    let ignore = dir.join(".gitignore");
    if matches!(std::fs::symlink_metadata(&ignore), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
    {
        match crate::fsread::create_new_file(dir, ".gitignore", b"*\n") {
            // Another leg of a matrix wrote it first: as good.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            other => other?,
        }
    }
    Ok(())
}

/// A field of the Azure identity, empty when the run used none.
fn identity_field(report: &Report, field: impl Fn(&AzureIdentity) -> &Option<String>) -> String {
    report
        .identity
        .as_ref()
        .and_then(|i| field(i).clone())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{CheckId, CheckReport, Code};

    #[test]
    fn at_most_ten_annotations_per_level_errors_first() {
        let mut r = CheckReport::default();
        for i in 0..12 {
            r.push(Finding::new(
                CheckId::Reference,
                Code::REF_MUTABLE_TAG,
                Severity::Warning,
                format!("w{i}"),
                "m",
                "f",
            ));
        }
        for i in 0..11 {
            r.push(Finding::new(
                CheckId::Reference,
                Code::REF_INVALID,
                Severity::Error,
                format!("e{i}"),
                "m",
                "f",
            ));
        }
        let report = Report {
            checks: vec![(CheckId::Reference, r)],
            contexts: vec![],
            http_requests: 0,
            identity: None,
        };
        let lines = stdout_lines(&report, "");
        let errors = lines.iter().filter(|l| l.starts_with("::error ")).count();
        let warnings = lines.iter().filter(|l| l.starts_with("::warning ")).count();
        assert_eq!((errors, warnings), (10, 10));
        assert!(lines[0].starts_with("::error "));
    }

    #[test]
    fn in_a_container_the_report_output_is_workspace_relative() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let workspace = root.join("workspace");
        let files = root.join("file_commands");
        std::fs::create_dir_all(&workspace).unwrap();
        std::fs::create_dir_all(&files).unwrap();
        let (summary, output) = (files.join("step_summary_1"), files.join("set_output_1"));
        std::fs::write(&summary, "").unwrap();
        std::fs::write(&output, "").unwrap();
        let report = Report {
            checks: vec![],
            contexts: vec![],
            http_requests: 0,
            identity: None,
        };
        let place = ReportPlace::InWorkspace {
            workspace: workspace.clone(),
            dir: workspace.join(".acr-preflight"),
        };
        let json = crate::output::json::model(&report);
        let problems = write_files(&report, &json, Some(&summary), Some(&output), &place);
        assert!(problems.is_empty(), "{problems:?}");
        let outputs = std::fs::read_to_string(&output).unwrap();
        let names: Vec<&str> = outputs
            .lines()
            .filter_map(|l| l.split_once("<<ghadelimiter_").map(|(name, _)| name))
            .collect();
        let declared: Vec<&str> = StepOutput::ALL.iter().map(|o| o.name()).collect();
        assert_eq!(names, declared, "exactly the declared outputs, in order");
        let line = outputs
            .lines()
            .skip_while(|l| !l.starts_with("report<<"))
            .nth(1)
            .unwrap()
            .to_string();
        assert!(
            line.starts_with(".acr-preflight/acr-preflight-report-"),
            "{line}"
        );
        assert!(line.ends_with(".json"), "{line}");
        let written = std::fs::read_to_string(workspace.join(&line)).unwrap();
        assert!(written.contains("\"version\": 1"), "{written}");
        assert_eq!(
            std::fs::read_to_string(workspace.join(".acr-preflight/.gitignore")).unwrap(),
            "*\n"
        );
        assert_eq!(
            std::fs::read_dir(&files).unwrap().count(),
            2,
            "nothing beside the summary"
        );
    }
}
