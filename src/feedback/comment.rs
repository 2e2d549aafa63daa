//! The sticky pull request comment: one per workflow job, found again by a hidden
//! marker and updated in place; marked resolved when a later run passes.
//!
//! REST (docs.github.com/en/rest/issues/comments):
//! `GET /repos/{o}/{r}/issues/{n}/comments?per_page=100` (every page, `Link: rel="next"`),
//! `PATCH /repos/{o}/{r}/issues/comments/{comment_id}` with `{"body"}`,
//! `POST /repos/{o}/{r}/issues/{n}/comments` with `{"body"}`.

use super::api::Api;
use super::{Feature, Target, api_failure, utc_now};
use crate::config::RunEnvironment;
use crate::findings::{CheckReport, Report, Verdict};
use serde::Deserialize;

/// GitHub refuses comment bodies over 65,536 characters. The budget is in bytes (never
/// fewer than characters), and leaves room for the marker and the footer.
pub const SUMMARY_BUDGET: u64 = 60_000;

/// GitHub's limit on a comment body, in characters.
pub const COMMENT_LIMIT: usize = 65_536;

/// Pages of comments read at most while looking for the marker (10,000 comments).
const MAX_PAGES: usize = 100;

/// An issue comment, with only the fields the feedback reads.
#[derive(Debug, Clone, Deserialize)]
pub struct IssueComment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub html_url: Option<String>,
}

/// `<!-- acr-preflight:sticky:<workflow file>:<job>[:<comment-key>] -->`: one comment
/// per job of a workflow, so several jobs (or workflows) running the preflight keep their
/// own; matrix legs share a job id, so `--comment-key` tells them apart.
pub fn marker(env: &RunEnvironment, comment_key: Option<&str>) -> String {
    let workflow = env
        .workflow_ref
        .as_deref()
        .map(|r| r.split('@').next().unwrap_or(r))
        // `owner/repo/.github/workflows/ci.yml` → `.github/workflows/ci.yml`.
        .map(|r| r.splitn(3, '/').nth(2).unwrap_or(r).to_string());
    let job = env.job.as_deref().unwrap_or("job");
    let mut key = match workflow {
        Some(w) if !w.is_empty() => format!("{w}:{job}"),
        _ => job.to_string(),
    };
    if let Some(extra) = comment_key {
        key.push(':');
        key.push_str(extra);
    }
    // Nothing that could end the HTML comment or break the line.
    let key: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._/:-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("<!-- acr-preflight:sticky:{key} -->")
}

fn footer(target: &Target, now: &str) -> String {
    let mut parts = Vec::new();
    if let Some(url) = &target.run_url {
        parts.push(format!("[workflow run]({url})"));
    }
    if let Some(job) = &target.job {
        parts.push(format!("job `{}`", job.replace('`', "'")));
    }
    parts.push(format!("updated {now}"));
    parts.push("this comment is updated in place on every run".into());
    format!("<sub>{}</sub>\n", parts.join(" · "))
}

/// The comment for a run with findings: the job summary and a link to the run.
pub(crate) fn body(target: &Target, report: &Report) -> String {
    let (_, now) = utc_now();
    body_at(target, report, &now)
}

/// The same renderer as the job summary, within GitHub's comment limit.
fn body_at(target: &Target, report: &Report, now: &str) -> String {
    let summary = crate::output::summary::render_with(report, SUMMARY_BUDGET, &target.links)
        .replace("in the 1 MiB step summary", "in this comment");
    let text = format!(
        "{}\n{}\n\n---\n{}",
        target.marker,
        summary.trim_end(),
        footer(target, now)
    );
    if text.chars().count() <= COMMENT_LIMIT {
        return text;
    }
    // Only a footer of extraordinary length gets here: keep the marker and the summary.
    format!("{}\n{}\n", target.marker, summary.trim_end())
}

/// The short form an earlier comment takes when a run passes.
pub(crate) fn resolved_body(target: &Target, report: &Report) -> String {
    let (_, now) = utc_now();
    format!(
        "{}\n## acr-preflight: ✅ resolved\n\nThe registry set-up problems reported here are fixed: the run of {now} passed ({}).\n\n---\n{}",
        target.marker,
        crate::output::count_line(report),
        footer(target, &now)
    )
}

/// Creates, updates or resolves this job's comment on pull request `number`.
pub(crate) async fn publish(
    api: &Api,
    target: &Target,
    number: u64,
    report: &Report,
) -> CheckReport {
    let mut out = CheckReport::default();
    let list_route = api.repo_route(&format!("/issues/{number}/comments"));
    let fail = |out: &mut CheckReport, err, context: String| {
        out.push(api_failure(
            Feature::Comment,
            err,
            target,
            &api.base_url,
            &context,
        ))
    };

    // Find the latest comment carrying our marker, across every page.
    let mut existing: Option<IssueComment> = None;
    let mut page = match api
        .get_page::<IssueComment, _>(&list_route, &[("per_page", "100")])
        .await
    {
        Ok(p) => p,
        Err(e) => {
            fail(
                &mut out,
                &e,
                format!("Listing the comments of pull request #{number}"),
            );
            return out;
        }
    };
    let mut pages = 1;
    let mut seen = 0usize;
    loop {
        seen += page.items.len();
        for c in page.items.drain(..) {
            if c.body
                .as_deref()
                .is_some_and(|b| b.contains(&target.marker))
            {
                existing = Some(c);
            }
        }
        let Some(next) = page.next.take() else { break };
        if pages >= MAX_PAGES {
            out.verified(format!(
                "PR #{number}: looked for an earlier comment in the first {seen} comments only ({MAX_PAGES} pages)"
            ));
            break;
        }
        page = match api.next_page::<IssueComment>(&next).await {
            Ok(p) => p,
            Err(e) => {
                fail(
                    &mut out,
                    &e,
                    format!(
                        "Listing the comments of pull request #{number} (page {})",
                        pages + 1
                    ),
                );
                return out;
            }
        };
        pages += 1;
    }

    let passed = report.verdict() == Verdict::Pass;
    match (existing, passed) {
        (None, true) => {
            out.verified(format!(
                "PR #{number}: the run passed and no earlier comment exists ({seen} comments read): no comment posted"
            ));
        }
        (Some(c), _) => {
            let (text, what) = if passed {
                (resolved_body(target, report), "marked resolved")
            } else {
                (body(target, report), "updated")
            };
            let route = api.repo_route(&format!("/issues/comments/{}", c.id));
            match api
                .patch::<IssueComment, _>(&route, &serde_json::json!({ "body": text }))
                .await
            {
                Ok(updated) => out.verified(format!(
                    "PR #{number}: comment {} {what}{}",
                    updated.id,
                    link(&updated)
                )),
                Err(e) => fail(
                    &mut out,
                    &e,
                    format!("Updating comment {} on pull request #{number}", c.id),
                ),
            }
        }
        (None, false) => {
            match api
                .post::<IssueComment, _>(
                    &list_route,
                    &serde_json::json!({ "body": body(target, report) }),
                )
                .await
            {
                Ok(created) => out.verified(format!(
                    "PR #{number}: comment {} created{}",
                    created.id,
                    link(&created)
                )),
                Err(e) => fail(
                    &mut out,
                    &e,
                    format!("Creating the comment on pull request #{number}"),
                ),
            }
        }
    }
    out
}

fn link(c: &IssueComment) -> String {
    c.html_url
        .as_deref()
        .map(|u| format!(" ({})", super::api::one_line(u, 300)))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_comment_is_the_summary_within_github_s_limit() {
        use crate::findings::{CheckId, Code, Finding, Severity};
        let mut check = CheckReport::default();
        for n in 0..300 {
            check.push(Finding::new(
                CheckId::Registry,
                Code::CONTEXT_NOT_FOUND,
                Severity::Error,
                format!("tag v{n} does not exist"),
                "é".repeat(3_000),
                format!("az acr repository show-tags -n myreg --repository r{n}"),
            ));
        }
        let report = Report {
            checks: vec![(CheckId::Registry, check)],
            contexts: vec![],
            http_requests: 0,
            identity: None,
        };
        let target = Target {
            event: crate::event::EventInfo::default(),
            run_url: Some("https://github.example/o/r/actions/runs/1".into()),
            job: Some("build".into()),
            marker: "<!-- acr-preflight:sticky:build -->".into(),
            fail_on: crate::config::FailOn::Error,
            workspace: None,
            links: crate::output::summary::Links::default(),
        };
        let text = body(&target, &report);
        assert!(text.chars().count() <= COMMENT_LIMIT);
        assert!(
            text.starts_with("<!-- acr-preflight:sticky:build -->\n## acr-preflight: ❌ **fail**")
        );
        assert!(text.contains("more findings did not fit in this comment"));
        assert!(text.contains("```sh\naz acr repository show-tags -n myreg --repository r0\n```"));
    }

    #[test]
    fn the_marker_names_workflow_and_job_and_cannot_break_out() {
        let env = RunEnvironment {
            workflow_ref: Some("team/app/.github/workflows/ci.yml@refs/pull/3/merge".into()),
            job: Some("build".into()),
            ..RunEnvironment::default()
        };
        assert_eq!(
            marker(&env, None),
            "<!-- acr-preflight:sticky:.github/workflows/ci.yml:build -->"
        );
        assert_eq!(
            marker(&env, Some("linux/arm64")),
            "<!-- acr-preflight:sticky:.github/workflows/ci.yml:build:linux/arm64 -->"
        );
        let env = RunEnvironment {
            job: Some("x-->y <b>".into()),
            ..RunEnvironment::default()
        };
        assert_eq!(
            marker(&env, None),
            "<!-- acr-preflight:sticky:x--_y__b_ -->"
        );
    }
}
