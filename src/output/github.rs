//! The `github` format: annotations on stdout, the full report in a folded log group,
//! the job summary, step outputs and the JSON report file.

use crate::findings::{Finding, Report, Severity};
use crate::gha;
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
    gha::command(f.severity.as_str(), &props, &data)
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
    let token = format!("acr-preflight-{}", gha::random_token());
    lines.push(gha::command(
        "group",
        &[],
        &format!("acr-preflight report: {}", report.verdict().as_str()),
    ));
    lines.push(format!("::stop-commands::{token}"));
    lines.extend(text_report.lines().map(gha::safe_log_line));
    lines.push(format!("::{token}::"));
    lines.push("::endgroup::".into());
    lines
}

/// Writes the summary, the JSON report (beside the summary) and the step outputs.
/// Returns what could not be written, as messages for stderr: a broken runner file
/// must not hide the findings already printed.
pub fn write_files(
    report: &Report,
    json_report: &serde_json::Value,
    summary_path: Option<&Path>,
    output_path: Option<&Path>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut report_path: Option<PathBuf> = None;
    if let Some(summary) = summary_path {
        let markdown = super::summary::render(report, gha::summary_budget(summary));
        if let Err(e) = gha::append_summary(summary, &markdown) {
            problems.push(format!(
                "cannot append to GITHUB_STEP_SUMMARY {}: {e}",
                summary.display()
            ));
        }
        let dir = summary.parent().unwrap_or(Path::new("."));
        let path = dir.join(format!(
            "acr-preflight-report-{}.json",
            &gha::random_token()[..12]
        ));
        let body = serde_json::to_string_pretty(json_report).unwrap_or_default();
        match std::fs::write(&path, body) {
            Ok(()) => report_path = Some(path),
            Err(e) => problems.push(format!(
                "cannot write the JSON report {}: {e}",
                path.display()
            )),
        }
    }
    if let Some(output) = output_path {
        let digest = report
            .contexts
            .iter()
            .find(|c| c.role == "pull")
            .and_then(|c| c.digest.clone())
            .unwrap_or_default();
        let outputs = [
            ("result", report.verdict().as_str().to_string()),
            ("digest", digest),
            ("principal-id", identity_field(report, "object_id")),
            ("client-id", identity_field(report, "client_id")),
            (
                "report",
                report_path
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            ),
        ];
        if let Err(e) = gha::write_outputs(output, &outputs) {
            problems.push(format!(
                "cannot write GITHUB_OUTPUT {}: {e}",
                output.display()
            ));
        }
    }
    problems
}

fn identity_field(report: &Report, key: &str) -> String {
    report
        .identity
        .as_ref()
        .and_then(|i| i.get(key))
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
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
}
