//! Pull request feedback through the GitHub REST API (octocrab on the shared reqwest
//! client): one sticky pull request comment holding the summary, and a check run with
//! the located findings as annotations. Opt-in (`--comment`, `--check-run`), after
//! the checks, within the run's deadline. Problems with the feedback itself (no token,
//! missing permissions, an API that does not answer) are findings, never a crash, and
//! never fail the checks' verdict on their own (they are warnings or notices).
//!
//! The one entry point is [`publish`]; the caller adds the returned report to the
//! run's report before rendering it.

pub mod api;
pub mod check_run;
pub mod comment;

use crate::checks::Ctx;
use crate::config::{Config, FailOn};
use crate::event::{EventInfo, Fork};
use crate::findings::{CheckId, CheckReport, Code, Finding, Report, Severity};
use api::{Api, ApiError, Failure, Repo};
use std::path::PathBuf;

/// The check the feedback's findings belong to.
pub const CHECK: CheckId = CheckId::Run;

/// What [`publish`] did: its findings and verified facts, and the HTTP requests it sent
/// (for `stats.http_requests`).
#[derive(Debug, Clone, Default)]
pub struct Feedback {
    pub report: CheckReport,
    pub http_requests: u32,
}

/// True when the run asked for any feedback (`--comment` or `--check-run`).
pub fn requested(config: &Config) -> bool {
    config.github.comment || config.github.check_run
}

/// Masks the token. Call it where the other secrets are registered, before anything
/// can print; [`publish`] calls it again (registration is idempotent).
pub fn register_secrets(config: &Config, secrets: &crate::secrets::Secrets) {
    if let Some(token) = &config.github.token {
        secrets.register(token);
    }
}

/// Everything the two kinds of feedback share.
pub(crate) struct Target {
    pub event: EventInfo,
    /// `{GITHUB_SERVER_URL}/{repo}/actions/runs/{GITHUB_RUN_ID}`.
    pub run_url: Option<String>,
    pub job: Option<String>,
    /// The hidden marker that finds this job's comment again.
    pub marker: String,
    pub fail_on: FailOn,
    pub workspace: Option<PathBuf>,
    /// The summary's links (workflow lines, finding docs).
    pub links: crate::output::summary::Links,
}

/// Posts the feedback the configuration asks for about `report` (the checks' report,
/// already redacted). Does nothing, and sends nothing, unless `--comment` or
/// `--check-run` is on. Every call is bounded by the run's deadline.
pub async fn publish(ctx: &Ctx, http: &reqwest::Client, report: &Report) -> Feedback {
    let config = &ctx.config;
    let mut out = Feedback::default();
    if !requested(config) {
        return out;
    }
    let Some(token) = config.github.token.as_deref().filter(|t| !t.is_empty()) else {
        out.report.push(token_missing(config));
        return out;
    };
    ctx.secrets.register(token);

    let Some(repo) = config.env.repository.as_deref().and_then(Repo::parse) else {
        out.report.push(skipped(
            Severity::Warning,
            "pull request feedback is skipped: the repository is unknown",
            format!(
                "{} asked for, but GITHUB_REPOSITORY is {}, so there is no repository to write to.",
                asked_for(config),
                match &config.env.repository {
                    Some(r) => format!("`{r}`, not `owner/repo`"),
                    None => "not set".into(),
                }
            ),
            "Under GitHub Actions the runner sets GITHUB_REPOSITORY. Elsewhere set it, and GITHUB_REF=refs/pull/<number>/merge and GITHUB_SHA, to say which pull request and commit the feedback is for.",
        ));
        return out;
    };

    let event = EventInfo::load(&config.env);
    let base_url = config
        .env
        .api_url
        .clone()
        .unwrap_or_else(|| api::DEFAULT_API_URL.to_string());
    let deadline = tokio::time::Instant::from_std(ctx.deadline);
    let api = match Api::new(http, &base_url, token, repo.clone(), deadline) {
        Ok(api) => api,
        Err(problem) => {
            out.report.push(Finding::new(
                CHECK,
                Code::GITHUB_API_ERROR,
                Severity::Warning,
                "pull request feedback is skipped: the GitHub API URL is unusable",
                problem,
                "GITHUB_API_URL must be the REST API root: https://api.github.com, or https://HOST/api/v3 on GitHub Enterprise Server. The runner sets it; do not override it in `env:`.",
            ));
            return out;
        }
    };

    let target = Target {
        // The workflow lines the feedback links to, at the commit the pull request shows.
        links: crate::output::summary::Links::at_commit(&config.env, event.head_sha.as_deref()),
        run_url: run_url(config, &repo),
        job: config.env.job.clone(),
        marker: comment::marker(&config.env, config.github.comment_key.as_deref()),
        fail_on: config.fail_on,
        workspace: config.env.github_workspace.clone(),
        event,
    };

    let comment_part = async {
        if !config.github.comment {
            return CheckReport::default();
        }
        match target.event.pull_request {
            Some(number) => comment::publish(&api, &target, number, report).await,
            None => {
                let mut r = CheckReport::default();
                r.push(not_a_pull_request(&target.event, config));
                r
            }
        }
    };
    let check_part = async {
        if !config.github.check_run {
            return CheckReport::default();
        }
        match target.event.head_sha.as_deref() {
            Some(sha) => check_run::publish(&api, &target, sha, report).await,
            None => {
                let mut r = CheckReport::default();
                r.push(skipped(
                    Severity::Warning,
                    "the check run is skipped: the commit is unknown",
                    "`check-run: true` needs the commit to attach the check run to: `pull_request.head.sha` in the event payload, else GITHUB_SHA; neither is set.",
                    "Under GitHub Actions the runner sets GITHUB_SHA. Elsewhere set GITHUB_SHA to the commit the build is for.",
                ));
                r
            }
        }
    };
    let (a, b) = tokio::join!(comment_part, check_part);
    for part in [a, b] {
        out.report.findings.extend(part.findings);
        out.report.verified.extend(part.verified);
    }
    out.http_requests = api.requests();

    // Last line of defence: nothing the API or the environment said carries the token.
    for f in &mut out.report.findings {
        f.title = ctx.secrets.redact(&f.title);
        f.message = ctx.secrets.redact(&f.message);
        f.fix = ctx.secrets.redact(&f.fix);
    }
    for v in &mut out.report.verified {
        *v = ctx.secrets.redact(v);
    }
    out
}

fn run_url(config: &Config, repo: &Repo) -> Option<String> {
    let run_id = config.env.run_id.as_deref()?;
    let server = config
        .env
        .server_url
        .as_deref()
        .unwrap_or("https://github.com")
        .trim_end_matches('/');
    Some(format!(
        "{server}/{}/actions/runs/{run_id}",
        repo.full_name()
    ))
}

fn asked_for(config: &Config) -> &'static str {
    match (config.github.comment, config.github.check_run) {
        (true, true) => "`comment: true` and `check-run: true` are",
        (true, false) => "`comment: true` is",
        _ => "`check-run: true` is",
    }
}

/// Which kind of feedback a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Feature {
    Comment,
    CheckRun,
}

impl Feature {
    fn what(self) -> &'static str {
        match self {
            Feature::Comment => "the pull request comment",
            Feature::CheckRun => "the check run",
        }
    }

    fn input(self) -> &'static str {
        match self {
            Feature::Comment => "comment",
            Feature::CheckRun => "check-run",
        }
    }

    fn permission(self) -> &'static str {
        match self {
            Feature::Comment => "pull-requests: write",
            Feature::CheckRun => "checks: write",
        }
    }
}

fn skipped(
    severity: Severity,
    title: impl Into<String>,
    message: impl Into<String>,
    fix: impl Into<String>,
) -> Finding {
    Finding::new(
        CHECK,
        Code::GITHUB_FEEDBACK_SKIPPED,
        severity,
        title,
        message,
        fix,
    )
}

fn token_missing(config: &Config) -> Finding {
    let mut permissions = String::from("      contents: read\n");
    if config.github.comment {
        permissions.push_str("      pull-requests: write   # comment: true\n");
    }
    if config.github.check_run {
        permissions.push_str("      checks: write          # check-run: true\n");
    }
    let mut with = String::from("          github-token: ${{ github.token }}\n");
    if config.github.comment {
        with.push_str("          comment: true\n");
    }
    if config.github.check_run {
        with.push_str("          check-run: true\n");
    }
    let job = config.env.job.as_deref().unwrap_or("build");
    Finding::new(
        CHECK,
        Code::GITHUB_TOKEN_MISSING,
        Severity::Warning,
        "pull request feedback needs a token: none was given",
        format!(
            "{} asked for, but neither the `github-token` input (--github-token) nor GITHUB_TOKEN holds a token, so nothing was posted. The runner does not pass the job's token to actions by itself.",
            asked_for(config)
        ),
        format!(
            "Pass the job's token to the step and grant the permissions the feedback needs (a job-level `permissions:` block replaces the workflow-level one, so list all the job needs):\n\njobs:\n  {job}:\n    permissions:\n{permissions}    steps:\n      - uses: acr-preflight/acr-preflight@v0\n        with:\n{with}\nOutside Actions: export GITHUB_TOKEN=<token> (a token that may write to the repository)."
        ),
    )
}

fn not_a_pull_request(event: &EventInfo, config: &Config) -> Finding {
    let event_name = event.name.as_deref().unwrap_or("unknown");
    let git_ref = config.env.git_ref.as_deref().unwrap_or("not set");
    let mut message = format!(
        "`comment: true` is set, but this run is not for a pull request: event `{event_name}`, GITHUB_REF `{git_ref}`, and the event payload has no `pull_request.number` (nor `issue.number` of a pull request comment). The sticky comment is skipped; the job summary holds the report."
    );
    if let Some(problem) = &event.payload_problem {
        message.push_str(&format!(" Note: {problem}."));
    }
    skipped(
        Severity::Notice,
        "the pull request comment is skipped: this run is not for a pull request",
        message,
        "Nothing to fix when the workflow also runs for pushes. The comment is posted for `pull_request` (and `pull_request_target`, `issue_comment` on a pull request) events.",
    )
}

/// The finding for a failed call of `feature`.
pub(crate) fn api_failure(
    feature: Feature,
    err: &ApiError,
    target: &Target,
    base_url: &str,
    context: &str,
) -> Finding {
    let api_note = if base_url == api::DEFAULT_API_URL {
        String::new()
    } else {
        format!(" (API {base_url})")
    };
    let seen = format!("{context}: {}{api_note}.", err.describe());
    match &err.failure {
        Failure::Status {
            status: 401,
            message,
            ..
        } => token_rejected(feature, &seen, message),
        Failure::Status {
            status: status @ (403 | 404),
            rate_limited: false,
            ..
        } => permission_denied(feature, err, target, &seen, *status),
        failure => api_error(feature, failure, target, base_url, &seen),
    }
}

/// GITHUB_ACCESS_DENIED for a 401: the token itself is not accepted.
fn token_rejected(feature: Feature, seen: &str, message: &str) -> Finding {
    Finding::new(
        CHECK,
        Code::GITHUB_ACCESS_DENIED,
        Severity::Warning,
        format!(
            "GitHub rejected the token for {} (HTTP 401)",
            feature.what()
        ),
        format!(
            "{seen} GitHub does not accept the token ({}).",
            api::one_line(message, 200)
        ),
        "Pass a valid token: `github-token: ${{ github.token }}` (the job's token is valid only while the job runs); a personal access token may have expired or been revoked. On GitHub Enterprise Server the token must come from that server.",
    )
}

/// GITHUB_ACCESS_DENIED for a 403 or 404: the token lacks the permission (or, from a
/// fork, can never have it).
fn permission_denied(
    feature: Feature,
    err: &ApiError,
    target: &Target,
    seen: &str,
    status: u16,
) -> Finding {
    let why = if status == 404 {
        format!(
            " GitHub answers 404 instead of 403 when the token may not see or write the resource; it also does when GITHUB_REPOSITORY (`{}`) or GITHUB_API_URL name another repository or server.",
            target_repo_name(err)
        )
    } else {
        format!(
            " The token lacks `{}` (or the repository's settings make workflow tokens read-only).",
            feature.permission()
        )
    };
    let mut message = format!("{seen}{why}");
    let mut fix = String::new();
    if let Some(Fork { head, base }) = &target.event.fork {
        message.push_str(&format!(
            " This pull request comes from the fork `{head}` into `{base}`: for `pull_request` events from forks GitHub gives the workflow a read-only token, whatever `permissions:` says."
        ));
        fix.push_str(&format!(
            "To skip the feedback on pull requests from forks, where it cannot be written: `{}: ${{{{ github.event.pull_request.head.repo.full_name == github.repository }}}}`; the job summary and annotations still carry the findings.",
            feature.input()
        ));
        fix.push_str("\nFor pull requests from this repository: ");
    }
    let job = target.job.as_deref().unwrap_or("build");
    fix.push_str(&format!(
        "Grant the job's token the permission (a job-level `permissions:` block replaces the workflow-level one, so list all the job needs):\n\njobs:\n  {job}:\n    permissions:\n      contents: read\n      {}\n",
        feature.permission()
    ));
    fix.push_str(match feature {
        Feature::Comment => {
            "With a personal access token instead of `github.token`, it needs write access to pull requests (fine-grained: Pull requests read and write)."
        }
        Feature::CheckRun => {
            "Check runs can only be created with the job's `github.token` (with `checks: write`) or a GitHub App token: personal access tokens and OAuth apps cannot create them."
        }
    });
    if status == 403 {
        fix.push_str(" If the repository or organization sets \"Workflow permissions\" to read-only, the `permissions:` block still raises it for this job.");
    }
    Finding::new(
        CHECK,
        Code::GITHUB_ACCESS_DENIED,
        Severity::Warning,
        format!(
            "the token may not write {} (HTTP {status}): needs `{}`",
            feature.what(),
            feature.permission()
        ),
        message,
        fix,
    )
}

/// GITHUB_API_ERROR: the deadline, a rate limit, a server error, an invalid request or
/// an unreachable API.
fn api_error(
    feature: Feature,
    failure: &Failure,
    target: &Target,
    base_url: &str,
    seen: &str,
) -> Finding {
    let fix = match failure {
        Failure::Deadline => "The run's deadline passed while GitHub was being called. Raise `--timeout` (input `timeout`) if the checks and the feedback need longer; the next run posts the feedback again.".to_string(),
        Failure::Status { rate_limited: true, .. } => "The token's API rate limit is exhausted; the next run posts the feedback again. The job's `github.token` has its own limit per repository; a shared personal access token is limited across all its uses.".to_string(),
        Failure::Status { status, .. } if *status >= 500 => "GitHub did not handle the request (server error); the next run posts the feedback again. Check https://www.githubstatus.com (or your GitHub Enterprise Server) if it persists.".to_string(),
        Failure::Status { status: 422, .. } => format!("GitHub refused the request as invalid; its message above names the field. For a check run, the commit (`{}`) must exist in the repository.", target.event.head_sha.as_deref().unwrap_or("unknown")),
        Failure::Status { .. } => "See GitHub's message above; the next run posts the feedback again.".to_string(),
        Failure::Transport(_) => format!("Check that the API at `{base_url}` is reachable from the runner (proxy, firewall; for GitHub Enterprise Server with a private CA, pass it with `ca-file`)."),
    };
    Finding::new(
        CHECK,
        Code::GITHUB_API_ERROR,
        Severity::Warning,
        format!(
            "{} could not be written: {}",
            feature.what(),
            short(failure)
        ),
        seen.to_string(),
        fix,
    )
}

fn target_repo_name(err: &ApiError) -> String {
    // `/repos/{owner}/{repo}/…` → `owner/repo`.
    let mut parts = err.route.split('/').skip_while(|p| *p != "repos").skip(1);
    match (parts.next(), parts.next()) {
        (Some(o), Some(r)) => format!("{o}/{r}"),
        _ => "unknown".into(),
    }
}

fn short(failure: &Failure) -> String {
    match failure {
        Failure::Status {
            status,
            rate_limited: true,
            ..
        } => format!("rate limit exhausted (HTTP {status})"),
        Failure::Status {
            status, message, ..
        } => format!("HTTP {status} {}", api::one_line(message, 80)),
        Failure::Deadline => "no answer before the deadline".into(),
        Failure::Transport(e) => api::one_line(e, 80),
    }
}

/// Now in UTC: `(2026-05-01T12:00:00Z, 2026-05-01 12:00 UTC)`.
pub(crate) fn utc_now() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    utc(secs)
}

fn utc(unix: i64) -> (String, String) {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix.max(0) as u64);
    let iso = crate::jwt::format_utc(at);
    // `2026-11-28T18:22:18Z` → `2026-11-28 18:22 UTC`
    let short = format!("{} {} UTC", &iso[..10], &iso[11..16]);
    (iso, short)
}

/// At most `max` bytes of `s`, cut at a character boundary, with `…` when cut.
pub(crate) fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// At most `max` characters of `s`, with `…` when cut.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(0).0, "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_780_000_000).0, "2026-05-28T20:26:40Z");
        assert_eq!(utc(1_780_000_000).1, "2026-05-28 20:26 UTC");
    }

    #[test]
    fn truncation_respects_limits_and_boundaries() {
        let s = "é".repeat(100);
        let t = truncate_bytes(&s, 51);
        assert!(t.len() <= 51 && t.ends_with('…'));
        assert_eq!(truncate_bytes("abc", 3), "abc");
        assert_eq!(truncate_chars(&"x".repeat(300), 255).chars().count(), 255);
        assert_eq!(truncate_chars("short", 255), "short");
    }

    #[test]
    fn the_token_missing_fix_holds_the_exact_yaml() {
        let mut config = Config::for_tests("/nonexistent".into());
        config.github.comment = true;
        config.env.job = Some("preflight".into());
        let f = token_missing(&config);
        assert!(
            f.fix
                .contains("        with:\n          github-token: ${{ github.token }}\n          comment: true\n"),
            "{}",
            f.fix
        );
        assert!(f.fix.contains("  preflight:\n    permissions:\n"));
        assert!(f.fix.contains("pull-requests: write"));
        assert!(!f.fix.contains("checks: write"));
    }
}
