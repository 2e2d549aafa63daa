//! The check run: the verdict as a conclusion, the summary as its output, and every
//! finding that points at a file as an annotation on that line.
//!
//! REST (docs.github.com/en/rest/checks/runs): `POST /repos/{o}/{r}/check-runs`, then
//! `PATCH /repos/{o}/{r}/check-runs/{check_run_id}`. At most 50 annotations per
//! request; further requests append theirs, and each must repeat the output's title
//! and summary. Annotation limits: `title` ≤ 255 characters, `message` and
//! `raw_details` ≤ 64 KB, columns only when the annotation is on one line,
//! `annotation_level` one of `notice`, `warning`, `failure`.

use super::api::Api;
use super::{Feature, Target, api_failure, truncate_bytes, truncate_chars, utc_now};
use crate::config::FailOn;
use crate::findings::{CheckReport, Report, Severity, Verdict};
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const NAME: &str = "acr-preflight";
/// Annotations per request, as the API allows.
pub const BATCH: usize = 50;
const TITLE_MAX_CHARS: usize = 255;
const TEXT_MAX_BYTES: usize = 64 * 1024 - 1;
/// The output summary may hold 65,535 characters; the job summary gets less.
const SUMMARY_BUDGET: u64 = 60_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Annotation {
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
    pub annotation_level: &'static str,
    pub message: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_details: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
struct Output<'a> {
    title: &'a str,
    summary: &'a str,
    annotations: &'a [Annotation],
}

/// A check run, with only the fields the feedback reads.
#[derive(Debug, Clone, Deserialize)]
pub struct CheckRun {
    pub id: u64,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// `failure` when the job fails (`--fail-on`), `success` when it passes with at most
/// notices, `neutral` for warnings or errors below the `--fail-on` level.
pub fn conclusion(report: &Report, fail_on: FailOn) -> &'static str {
    let verdict = report.verdict();
    let fails = match fail_on {
        FailOn::Error => verdict == Verdict::Fail,
        FailOn::Warning => verdict != Verdict::Pass,
        FailOn::Never => false,
    };
    if fails {
        "failure"
    } else if verdict == Verdict::Pass {
        "success"
    } else {
        "neutral"
    }
}

/// `fail: 2 errors, 1 warning`.
pub fn output_title(report: &Report) -> String {
    truncate_chars(
        &format!(
            "{}: {}",
            report.verdict().as_str(),
            crate::output::count_line(report)
        ),
        TITLE_MAX_CHARS,
    )
}

/// The repository-relative path GitHub annotates, or `None` for a file outside the
/// workspace (an annotation there would point nowhere).
pub fn relative_path(file: &str, workspace: Option<&Path>) -> Option<String> {
    let file = file.replace('\\', "/");
    let mut candidates: Vec<String> = Vec::new();
    if let Some(ws) = workspace {
        candidates.push(ws.to_string_lossy().replace('\\', "/"));
    }
    candidates.push("/github/workspace".into());
    let mut rel = file.as_str();
    if file.starts_with('/') {
        let stripped = candidates.iter().find_map(|ws| {
            let ws = ws.trim_end_matches('/');
            file.strip_prefix(ws).and_then(|r| r.strip_prefix('/'))
        })?;
        rel = stripped;
    }
    while let Some(r) = rel.strip_prefix("./") {
        rel = r;
    }
    if rel.is_empty() || rel.split('/').any(|p| p == "..") {
        return None;
    }
    Some(rel.to_string())
}

/// Annotations for every located finding, errors first; and how many located findings
/// were left out because they point outside the workspace.
pub fn annotations(report: &Report, workspace: Option<&Path>) -> (Vec<Annotation>, usize) {
    let mut out = Vec::new();
    let mut outside = 0;
    for f in report.ranked() {
        let Some(loc) = &f.location else { continue };
        let Some(path) = relative_path(&loc.file, workspace) else {
            outside += 1;
            continue;
        };
        let line = loc.line.unwrap_or(1).max(1);
        // Columns only with a line of their own (start and end on the same line).
        let column = loc.line.and(loc.column).filter(|c| *c > 0);
        out.push(Annotation {
            path,
            start_line: line,
            end_line: line,
            start_column: column,
            end_column: column,
            annotation_level: match f.severity {
                Severity::Error => "failure",
                Severity::Warning => "warning",
                Severity::Notice => "notice",
            },
            message: truncate_bytes(&f.message, TEXT_MAX_BYTES),
            title: truncate_chars(&format!("{}: {}", f.code, f.title), TITLE_MAX_CHARS),
            raw_details: (!f.fix.is_empty())
                .then(|| truncate_bytes(&format!("Fix: {}", f.fix), TEXT_MAX_BYTES)),
        });
    }
    (out, outside)
}

fn summary(target: &Target, report: &Report) -> String {
    let mut s = crate::output::summary::render_with(report, SUMMARY_BUDGET, &target.links)
        .replace("in the 1 MiB step summary", "in this check run");
    if let Some(url) = &target.run_url {
        s.push_str(&format!("\n[workflow run]({url})\n"));
    }
    s
}

/// Creates the check run on `head_sha`, then appends the annotations beyond the first
/// 50, 50 per request.
pub(crate) async fn publish(
    api: &Api,
    target: &Target,
    head_sha: &str,
    report: &Report,
) -> CheckReport {
    let mut out = CheckReport::default();
    let title = output_title(report);
    let summary = summary(target, report);
    let (annotations, outside) = annotations(report, target.workspace.as_deref());
    let mut batches = annotations.chunks(BATCH);
    let first = batches.next().unwrap_or(&[]);
    let conclusion = conclusion(report, target.fail_on);
    let (completed_at, _) = utc_now();

    let mut create = serde_json::json!({
        "name": NAME,
        "head_sha": head_sha,
        "status": "completed",
        "conclusion": conclusion,
        "completed_at": completed_at,
        "output": Output { title: &title, summary: &summary, annotations: first },
    });
    if let Some(url) = &target.run_url {
        create["details_url"] = serde_json::Value::String(url.clone());
    }
    let create_route = api.repo_route("/check-runs");
    let short_sha: String = head_sha.chars().take(12).collect();
    let run = match api.post::<CheckRun, _>(&create_route, &create).await {
        Ok(run) => run,
        Err(e) => {
            out.push(api_failure(
                Feature::CheckRun,
                &e,
                target,
                &api.base_url,
                &format!("Creating the check run on {short_sha}"),
            ));
            return out;
        }
    };

    let update_route = api.repo_route(&format!("/check-runs/{}", run.id));
    let mut sent = first.len();
    let mut requests = 1;
    for batch in batches {
        let update = serde_json::json!({
            "output": Output { title: &title, summary: &summary, annotations: batch },
        });
        match api.patch::<CheckRun, _>(&update_route, &update).await {
            Ok(_) => {
                sent += batch.len();
                requests += 1;
            }
            Err(e) => {
                out.push(api_failure(
                    Feature::CheckRun,
                    &e,
                    target,
                    &api.base_url,
                    &format!(
                        "Adding annotations {}-{} of {} to check run {}",
                        sent + 1,
                        sent + batch.len(),
                        annotations.len(),
                        run.id
                    ),
                ));
                break;
            }
        }
    }
    let link = run
        .html_url
        .as_deref()
        .map(|u| format!(" ({})", super::api::one_line(u, 300)))
        .unwrap_or_default();
    out.verified(format!(
        "check run {} on {short_sha}: {conclusion}, {sent} annotation{} in {requests} request{}{link}",
        run.id,
        if sent == 1 { "" } else { "s" },
        if requests == 1 { "" } else { "s" },
    ));
    if outside > 0 {
        out.verified(format!(
            "{outside} located finding{} outside the workspace not annotated",
            if outside == 1 { "" } else { "s" }
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{CheckId, Code, Finding};

    fn report(findings: Vec<Finding>) -> Report {
        let mut r = CheckReport::default();
        for f in findings {
            r.push(f);
        }
        Report {
            checks: vec![(CheckId::Reference, r)],
            contexts: vec![],
            http_requests: 0,
            identity: None,
        }
    }

    fn finding(sev: Severity) -> Finding {
        Finding::new(CheckId::Reference, Code::REF_INVALID, sev, "t", "m", "f")
    }

    #[test]
    fn paths_become_workspace_relative() {
        let ws = Path::new("/home/runner/work/app/app");
        assert_eq!(
            relative_path(
                "/home/runner/work/app/app/.github/workflows/ci.yml",
                Some(ws)
            ),
            Some(".github/workflows/ci.yml".into())
        );
        assert_eq!(
            relative_path("/github/workspace/ci.yml", Some(ws)),
            Some("ci.yml".into())
        );
        assert_eq!(
            relative_path("./.github/workflows/ci.yml", None),
            Some(".github/workflows/ci.yml".into())
        );
        assert_eq!(relative_path("/etc/passwd", Some(ws)), None);
        assert_eq!(relative_path("../x", None), None);
    }

    #[test]
    fn annotations_follow_the_documented_limits() {
        let long = Finding::new(
            CheckId::Reference,
            Code::REF_INVALID,
            Severity::Error,
            "t".repeat(400),
            "m".repeat(70_000),
            "f",
        )
        .at("a.yml", Some(3), Some(7));
        let no_line = finding(Severity::Notice).at("b.yml", None, Some(4));
        let (a, outside) = annotations(&report(vec![long, no_line]), None);
        assert_eq!(outside, 0);
        assert_eq!(a[0].title.chars().count(), 255);
        assert!(a[0].message.len() < 64 * 1024);
        assert_eq!(
            (
                a[0].start_line,
                a[0].end_line,
                a[0].start_column,
                a[0].end_column
            ),
            (3, 3, Some(7), Some(7))
        );
        assert_eq!(a[0].annotation_level, "failure");
        assert_eq!(a[0].raw_details.as_deref(), Some("Fix: f"));
        // No line: line 1, and no columns.
        assert_eq!((a[1].start_line, a[1].start_column), (1, None));
        assert_eq!(a[1].annotation_level, "notice");
    }

    #[test]
    fn conclusion_follows_verdict_and_fail_on() {
        assert_eq!(conclusion(&report(vec![]), FailOn::Error), "success");
        let warn = report(vec![finding(Severity::Warning)]);
        assert_eq!(conclusion(&warn, FailOn::Error), "neutral");
        assert_eq!(conclusion(&warn, FailOn::Warning), "failure");
        let err = report(vec![finding(Severity::Error)]);
        assert_eq!(conclusion(&err, FailOn::Error), "failure");
        assert_eq!(conclusion(&err, FailOn::Never), "neutral");
        let notice = report(vec![finding(Severity::Notice)]);
        assert_eq!(conclusion(&notice, FailOn::Error), "success");
    }
}
