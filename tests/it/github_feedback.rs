//! Pull request feedback (src/feedback/) against a harness server that speaks the
//! documented GitHub REST shapes: issue comments (list with `Link` pagination, create,
//! update) and check runs (create, update). The tests call `feedback::publish` directly
//! and assert the requests it sent.

use crate::support;

use acr_preflight::checks::Ctx;
use acr_preflight::config::{Config, FailOn, GithubOptions};
use acr_preflight::feedback::{self, Feedback};
use acr_preflight::findings::{CheckId, CheckReport, Code, Finding, Report, Severity};
use acr_preflight::secrets::Secrets;
use serde_json::{Value, json};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::http::{MockServer, Reply, Request, Response};

const TOKEN: &str = "ghs_FAKE0token0for0the0harness0only0123456";
const OWNER_REPO: &str = "team/app";
const PR: u64 = 12;
const HEAD_SHA: &str = "4c2a9e1f0b3d5e7a9c1b3d5f7a9c1e3b5d7f9a1c";

/// A fault to inject: the first request matching `method` and a path containing
/// `path_part` gets this answer.
#[derive(Clone)]
struct Fault {
    method: &'static str,
    path_part: &'static str,
    response: Response,
}

#[derive(Default)]
struct State {
    comments: Vec<Value>,
    next_comment_id: u64,
    check_runs: Vec<Value>,
    faults: Vec<Fault>,
}

/// A fake GitHub API under `prefix` (`""` for github.com, `/api/v3` for GHES).
struct FakeGitHub {
    server: MockServer,
    state: Arc<Mutex<State>>,
    prefix: &'static str,
}

fn error_body(status: u16, message: &str, doc: &str) -> Response {
    Response::json(
        status,
        &json!({"message": message, "documentation_url": doc, "status": status.to_string()}),
    )
}

fn comment_json(base: &str, id: u64, body: &str, login: &str) -> Value {
    json!({
        "id": id,
        "node_id": format!("IC_kwDO{id}"),
        "url": format!("{base}/repos/{OWNER_REPO}/issues/comments/{id}"),
        "html_url": format!("https://github.example/{OWNER_REPO}/pull/{PR}#issuecomment-{id}"),
        "body": body,
        "user": {"login": login, "id": 41898282, "type": "Bot"},
        "created_at": "2026-05-01T12:00:00Z",
        "updated_at": "2026-05-01T12:00:00Z",
        "issue_url": format!("{base}/repos/{OWNER_REPO}/issues/{PR}"),
        "author_association": "NONE"
    })
}

impl FakeGitHub {
    fn start(prefix: &'static str, seeded_comments: usize) -> FakeGitHub {
        let state = Arc::new(Mutex::new(State {
            next_comment_id: 1000,
            ..State::default()
        }));
        let listener = support::http::bind_loopback();
        let base = format!("http://{}{prefix}", listener.local_addr().unwrap());
        {
            let mut s = state.lock().unwrap();
            for i in 0..seeded_comments {
                let id = (i + 1) as u64;
                s.comments.push(comment_json(
                    &base,
                    id,
                    &format!("review note {id}"),
                    "octocat",
                ));
            }
        }
        let handler_state = state.clone();
        let server = MockServer::from_listener(listener, move |req, _| {
            handle(&base, prefix, &handler_state, req)
        });
        FakeGitHub {
            server,
            state,
            prefix,
        }
    }

    fn api_url(&self) -> String {
        format!("{}{}", self.server.url(), self.prefix)
    }

    fn fault(&self, method: &'static str, path_part: &'static str, response: Response) {
        self.state.lock().unwrap().faults.push(Fault {
            method,
            path_part,
            response,
        });
    }

    fn seed(&self, body: &str, login: &str) -> u64 {
        let mut s = self.state.lock().unwrap();
        s.next_comment_id += 1;
        let id = s.next_comment_id;
        let base = self.api_url();
        s.comments.push(comment_json(&base, id, body, login));
        id
    }

    fn requests(&self) -> Vec<Request> {
        self.server.requests()
    }

    fn comments(&self) -> Vec<Value> {
        self.state.lock().unwrap().comments.clone()
    }
}

fn handle(base: &str, prefix: &str, state: &Mutex<State>, req: &Request) -> Reply {
    let mut s = state.lock().unwrap();
    if let Some(i) = s
        .faults
        .iter()
        .position(|f| f.method == req.method && req.path.contains(f.path_part))
    {
        return s.faults.remove(i).response.into();
    }
    let Some(path) = req.path.strip_prefix(prefix) else {
        return error_body(404, "Not Found", "https://docs.github.com/rest").into();
    };
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let list_paths = [
        format!("/repos/{OWNER_REPO}/issues/{PR}/comments"),
        // Link headers point at the repository by id, as GitHub's do.
        format!("/repositories/4242/issues/{PR}/comments"),
    ];
    let comment_prefix = format!("/repos/{OWNER_REPO}/issues/comments/");
    let runs = format!("/repos/{OWNER_REPO}/check-runs");
    match (req.method.as_str(), path) {
        ("GET", p) if list_paths.iter().any(|l| l == p) => {
            let per_page: usize = req
                .query_first("per_page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(30);
            let page: usize = req
                .query_first("page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let total = s.comments.len();
            let last = total.div_ceil(per_page).max(1);
            let items: Vec<Value> = s
                .comments
                .iter()
                .skip((page - 1) * per_page)
                .take(per_page)
                .cloned()
                .collect();
            let mut r = Response::json(200, &Value::Array(items));
            let link = |n: usize| {
                format!(
                    "{base}/repositories/4242/issues/{PR}/comments?per_page={per_page}&page={n}"
                )
            };
            let mut rels = Vec::new();
            if page < last {
                rels.push(format!("<{}>; rel=\"next\"", link(page + 1)));
                rels.push(format!("<{}>; rel=\"last\"", link(last)));
            }
            if page > 1 {
                rels.push(format!("<{}>; rel=\"prev\"", link(page - 1)));
                rels.push(format!("<{}>; rel=\"first\"", link(1)));
            }
            if !rels.is_empty() {
                r = r.header("Link", &rels.join(", "));
            }
            r.into()
        }
        ("POST", p) if p == list_paths[0] => {
            s.next_comment_id += 1;
            let id = s.next_comment_id;
            let text = body["body"].as_str().unwrap_or_default().to_string();
            let c = comment_json(base, id, &text, "github-actions[bot]");
            s.comments.push(c.clone());
            Response::json(201, &c).into()
        }
        ("PATCH", p) if p.starts_with(&comment_prefix) => {
            let id: u64 = p[comment_prefix.len()..].parse().unwrap_or(0);
            let text = body["body"].as_str().unwrap_or_default().to_string();
            match s.comments.iter_mut().find(|c| c["id"] == id) {
                Some(c) => {
                    c["body"] = Value::String(text);
                    Response::json(200, &c.clone()).into()
                }
                None => error_body(404, "Not Found", "https://docs.github.com/rest").into(),
            }
        }
        ("POST", p) if p == runs => {
            let id = 5000 + s.check_runs.len() as u64;
            let run = json!({
                "id": id,
                "head_sha": body["head_sha"],
                "node_id": format!("CR_kwDO{id}"),
                "external_id": "",
                "url": format!("{base}{runs}/{id}"),
                "html_url": format!("https://github.example/{OWNER_REPO}/runs/{id}"),
                "details_url": body["details_url"],
                "status": body["status"],
                "conclusion": body["conclusion"],
                "started_at": "2026-05-01T12:00:00Z",
                "completed_at": body["completed_at"],
                "output": {
                    "title": body["output"]["title"],
                    "summary": body["output"]["summary"],
                    "text": null,
                    "annotations_count": body["output"]["annotations"].as_array().map_or(0, Vec::len),
                    "annotations_url": format!("{base}{runs}/{id}/annotations")
                },
                "name": body["name"],
                "check_suite": {"id": 1},
                "app": {"id": 15368, "slug": "github-actions"},
                "pull_requests": []
            });
            s.check_runs.push(run.clone());
            Response::json(201, &run).into()
        }
        ("PATCH", p) if p.starts_with(&format!("{runs}/")) => {
            let id: u64 = p[runs.len() + 1..].parse().unwrap_or(0);
            match s.check_runs.iter_mut().find(|r| r["id"] == id) {
                Some(run) => {
                    let added = body["output"]["annotations"].as_array().map_or(0, Vec::len);
                    let count = run["output"]["annotations_count"].as_u64().unwrap_or(0);
                    run["output"]["annotations_count"] = json!(count + added as u64);
                    Response::json(200, &run.clone()).into()
                }
                None => error_body(404, "Not Found", "https://docs.github.com/rest").into(),
            }
        }
        _ => error_body(404, "Not Found", "https://docs.github.com/rest").into(),
    }
}

/// The event payload of a `pull_request` event on PR 12 (from a fork when asked).
fn event_file(dir: &Path, fork: bool) -> std::path::PathBuf {
    let head_repo = if fork { "someone/app" } else { OWNER_REPO };
    let payload = json!({
        "action": "synchronize",
        "number": PR,
        "pull_request": {
            "number": PR,
            "head": {"sha": HEAD_SHA, "ref": "feature", "repo": {"full_name": head_repo}},
            "base": {"sha": "0000000000000000000000000000000000000000", "ref": "main", "repo": {"full_name": OWNER_REPO}}
        },
        "repository": {"full_name": OWNER_REPO}
    });
    let path = dir.join(if fork { "fork.json" } else { "event.json" });
    std::fs::write(&path, serde_json::to_vec(&payload).unwrap()).unwrap();
    path
}

fn config(api_url: &str, event: &Path, comment: bool, check_run: bool) -> Config {
    let mut c = Config::for_tests("/nonexistent".into());
    c.github = GithubOptions {
        token: Some(TOKEN.into()),
        comment,
        comment_key: None,
        check_run,
    };
    c.timeout = Duration::from_secs(20);
    c.env.github_actions = true;
    c.env.repository = Some(OWNER_REPO.into());
    c.env.api_url = Some(api_url.into());
    c.env.server_url = Some("https://github.example".into());
    c.env.run_id = Some("777".into());
    c.env.job = Some("build".into());
    c.env.event_name = Some("pull_request".into());
    c.env.event_path = Some(event.to_path_buf());
    c.env.git_ref = Some(format!("refs/pull/{PR}/merge"));
    c.env.sha = Some("merge0commit0sha".into());
    c.env.github_workspace = Some("/github/workspace".into());
    c
}

fn report_of(findings: Vec<Finding>) -> Report {
    let mut r = CheckReport::default();
    r.verified("oci://myreg.azurecr.io/team/ctx:v1 → registry myreg.azurecr.io");
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

fn failing() -> Report {
    report_of(vec![Finding::new(
        CheckId::Registry,
        Code::CONTEXT_NOT_FOUND,
        Severity::Error,
        "tag `v1.1` does not exist in myreg.azurecr.io/team/ctx",
        "GET /v2/team/ctx/manifests/v1.1 → HTTP 404",
        "Use `oci://myreg.azurecr.io/team/ctx:v1.0`.",
    )])
}

fn passing() -> Report {
    report_of(vec![])
}

fn located(n: usize) -> Report {
    report_of(
        (0..n)
            .map(|i| {
                Finding::new(
                    CheckId::Reference,
                    Code::REF_MUTABLE_TAG,
                    if i % 2 == 0 {
                        Severity::Error
                    } else {
                        Severity::Warning
                    },
                    format!("finding {i}"),
                    format!("message {i}"),
                    format!("fix {i}"),
                )
                .at(
                    "/github/workspace/.github/workflows/ci.yml",
                    Some(i as u32 + 1),
                    Some(9),
                )
            })
            .collect(),
    )
}

async fn publish(config: Config, report: &Report) -> Feedback {
    let ctx = Ctx::new(config, Secrets::default());
    let http = acr_preflight::http::build_client(&ctx.config).unwrap();
    feedback::publish(&ctx, &http, report).await
}

fn codes(f: &Feedback) -> Vec<Code> {
    f.report.findings.iter().map(|f| f.code).collect()
}

/// The token is in no finding, no verified fact, and only in `Authorization` headers.
fn assert_token_kept(feedback: &Feedback, requests: &[Request]) {
    // Debug shows every string field of the report (the token is plain ASCII, which
    // Debug does not escape).
    let text = format!("{:?}", feedback.report);
    assert!(
        !text.contains(TOKEN),
        "token in the feedback report: {text}"
    );
    for r in requests {
        assert_eq!(
            r.header("authorization"),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{} {}",
            r.method,
            r.target
        );
        assert!(!r.target.contains(TOKEN));
        assert!(!String::from_utf8_lossy(&r.body).contains(TOKEN));
    }
}

fn marker() -> &'static str {
    "<!-- acr-preflight:sticky:build -->"
}

fn with_marker(c: &Value) -> bool {
    c["body"].as_str().unwrap_or_default().contains(marker())
}

#[tokio::test]
async fn the_comment_is_created_once_then_updated_in_place_across_pages() {
    let gh = FakeGitHub::start("", 130);
    // Another job's sticky comment must stay untouched.
    let other = gh.seed(
        "<!-- acr-preflight:sticky:deploy -->\nother job",
        "github-actions[bot]",
    );
    let dir = tempfile::tempdir().unwrap();
    let event = event_file(dir.path(), false);

    let first = publish(config(&gh.api_url(), &event, true, false), &failing()).await;
    assert_eq!(codes(&first), vec![], "{:?}", first.report);
    let reqs = gh.requests();
    let methods: Vec<(String, String)> = reqs
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(
        methods,
        vec![
            (
                "GET".into(),
                format!("/repos/{OWNER_REPO}/issues/{PR}/comments")
            ),
            (
                "GET".into(),
                format!("/repositories/4242/issues/{PR}/comments")
            ),
            (
                "POST".into(),
                format!("/repos/{OWNER_REPO}/issues/{PR}/comments")
            ),
        ]
    );
    assert_eq!(reqs[0].query_first("per_page").as_deref(), Some("100"));
    for r in &reqs {
        assert_eq!(r.header("accept"), Some("application/vnd.github+json"));
        assert_eq!(r.header("x-github-api-version"), Some("2022-11-28"));
    }
    assert_eq!(reqs[1].query_first("page").as_deref(), Some("2"));
    assert_eq!(first.http_requests, 3);
    let posted: Value = serde_json::from_slice(&reqs[2].body).unwrap();
    let text = posted["body"].as_str().unwrap();
    assert!(text.starts_with(marker()), "{text}");
    assert!(text.contains("## acr-preflight: ❌ **fail**"), "{text}");
    assert!(text.contains("CONTEXT_NOT_FOUND"), "{text}");
    assert!(
        text.contains("(https://github.example/team/app/actions/runs/777)"),
        "{text}"
    );
    assert!(text.chars().count() < 65_536);
    assert!(
        first.report.verified[0].contains("created"),
        "{:?}",
        first.report.verified
    );
    assert_token_kept(&first, &reqs);

    // Second run: the marker is found on page 2 and that comment is edited in place.
    let second = publish(config(&gh.api_url(), &event, true, false), &failing()).await;
    assert_eq!(codes(&second), vec![], "{:?}", second.report);
    let reqs = gh.requests();
    let later: Vec<&Request> = reqs[3..].iter().collect();
    assert_eq!(
        later.len(),
        3,
        "{:?}",
        later.iter().map(|r| &r.target).collect::<Vec<_>>()
    );
    assert_eq!(later[1].query_first("page").as_deref(), Some("2"));
    let ours = gh
        .comments()
        .iter()
        .filter(|c| with_marker(c))
        .cloned()
        .collect::<Vec<_>>();
    assert_eq!(ours.len(), 1);
    let id = ours[0]["id"].as_u64().unwrap();
    assert_eq!(later[2].method, "PATCH");
    assert_eq!(
        later[2].path,
        format!("/repos/{OWNER_REPO}/issues/comments/{id}")
    );
    assert!(
        second.report.verified[0].contains(&format!("comment {id} updated")),
        "{:?}",
        second.report.verified
    );
    assert_eq!(reqs.iter().filter(|r| r.method == "POST").count(), 1);
    let untouched = gh
        .comments()
        .into_iter()
        .find(|c| c["id"] == other)
        .unwrap();
    assert_eq!(
        untouched["body"],
        "<!-- acr-preflight:sticky:deploy -->\nother job"
    );
    assert_token_kept(&second, &reqs);
}

#[tokio::test]
async fn a_passing_run_resolves_the_earlier_comment() {
    let gh = FakeGitHub::start("", 3);
    let dir = tempfile::tempdir().unwrap();
    let event = event_file(dir.path(), false);
    let first = publish(config(&gh.api_url(), &event, true, false), &failing()).await;
    assert!(first.report.findings.is_empty(), "{:?}", first.report);

    let second = publish(config(&gh.api_url(), &event, true, false), &passing()).await;
    assert!(second.report.findings.is_empty(), "{:?}", second.report);
    let reqs = gh.requests();
    let patch = reqs.last().unwrap();
    assert_eq!(patch.method, "PATCH");
    let sent: Value = serde_json::from_slice(&patch.body).unwrap();
    let text = sent["body"].as_str().unwrap();
    assert!(text.starts_with(marker()), "{text}");
    assert!(text.contains("✅ resolved"), "{text}");
    assert!(text.contains(" UTC"), "{text}");
    assert!(!text.contains("CONTEXT_NOT_FOUND"), "{text}");
    assert!(
        second.report.verified[0].contains("marked resolved"),
        "{:?}",
        second.report.verified
    );
    assert_eq!(reqs.iter().filter(|r| r.method == "POST").count(), 1);
}

#[tokio::test]
async fn a_passing_run_without_an_earlier_comment_posts_none() {
    let gh = FakeGitHub::start("", 5);
    let dir = tempfile::tempdir().unwrap();
    let event = event_file(dir.path(), false);
    let feedback = publish(config(&gh.api_url(), &event, true, false), &passing()).await;
    assert!(feedback.report.findings.is_empty(), "{:?}", feedback.report);
    let reqs = gh.requests();
    assert!(reqs.iter().all(|r| r.method == "GET"), "{reqs:?}");
    assert_eq!(reqs.len(), 1);
    assert!(feedback.report.verified[0].contains("no comment posted"));
    assert_eq!(gh.comments().len(), 5);
}

#[tokio::test]
async fn annotations_go_out_fifty_per_request() {
    let gh = FakeGitHub::start("", 0);
    let dir = tempfile::tempdir().unwrap();
    let event = event_file(dir.path(), false);
    let feedback = publish(config(&gh.api_url(), &event, false, true), &located(120)).await;
    assert!(feedback.report.findings.is_empty(), "{:?}", feedback.report);
    let reqs = gh.requests();
    let shape: Vec<(String, String)> = reqs
        .iter()
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert_eq!(
        shape,
        vec![
            ("POST".into(), format!("/repos/{OWNER_REPO}/check-runs")),
            (
                "PATCH".into(),
                format!("/repos/{OWNER_REPO}/check-runs/5000")
            ),
            (
                "PATCH".into(),
                format!("/repos/{OWNER_REPO}/check-runs/5000")
            ),
        ]
    );
    let bodies: Vec<Value> = reqs
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    let counts: Vec<usize> = bodies
        .iter()
        .map(|b| b["output"]["annotations"].as_array().unwrap().len())
        .collect();
    assert_eq!(counts, vec![50, 50, 20]);
    let create = &bodies[0];
    assert_eq!(create["name"], "acr-preflight");
    assert_eq!(
        create["head_sha"], HEAD_SHA,
        "the PR head, not the merge commit"
    );
    assert_eq!(create["status"], "completed");
    assert_eq!(create["conclusion"], "failure");
    assert_eq!(
        create["details_url"],
        "https://github.example/team/app/actions/runs/777"
    );
    assert!(create["completed_at"].as_str().unwrap().ends_with('Z'));
    // Every request repeats the same output title and summary, as the API requires.
    for b in &bodies {
        assert_eq!(b["output"]["title"], create["output"]["title"]);
        assert_eq!(b["output"]["summary"], create["output"]["summary"]);
    }
    assert_eq!(create["output"]["title"], "fail: 60 errors, 60 warnings");
    let first = &create["output"]["annotations"][0];
    assert_eq!(first["path"], ".github/workflows/ci.yml");
    assert_eq!(first["start_line"], 1);
    assert_eq!(first["end_line"], 1);
    assert_eq!(first["start_column"], 9);
    assert_eq!(first["end_column"], 9);
    assert_eq!(first["annotation_level"], "failure");
    assert_eq!(first["title"], "REF_MUTABLE_TAG: finding 0");
    assert_eq!(first["message"], "message 0");
    assert_eq!(first["raw_details"], "Fix: fix 0");
    // Errors first: the 60 errors fill the first batch and part of the second.
    let levels: Vec<&str> = bodies
        .iter()
        .flat_map(|b| b["output"]["annotations"].as_array().unwrap().iter())
        .map(|a| a["annotation_level"].as_str().unwrap())
        .collect();
    assert_eq!(levels.iter().filter(|l| **l == "failure").count(), 60);
    assert!(levels[..60].iter().all(|l| *l == "failure"));
    assert_eq!(
        gh.state.lock().unwrap().check_runs[0]["output"]["annotations_count"],
        120
    );
    assert!(
        feedback.report.verified[0].contains("120 annotations in 3 requests"),
        "{:?}",
        feedback.report.verified
    );
    assert_token_kept(&feedback, &reqs);
}

#[tokio::test]
async fn a_ghes_base_url_keeps_its_path_prefix_on_every_request() {
    let gh = FakeGitHub::start("/api/v3", 150);
    let dir = tempfile::tempdir().unwrap();
    let event = event_file(dir.path(), false);
    let api_url = format!("{}/", gh.api_url()); // a trailing slash is fine too
    let feedback = publish(config(&api_url, &event, true, true), &located(3)).await;
    assert!(feedback.report.findings.is_empty(), "{:?}", feedback.report);
    let reqs = gh.requests();
    assert_eq!(
        reqs.len(),
        4,
        "list 2 pages, create comment, create check run"
    );
    for r in &reqs {
        assert!(r.path.starts_with("/api/v3/"), "{} {}", r.method, r.target);
    }
    assert!(
        reqs.iter()
            .any(|r| r.path == "/api/v3/repositories/4242/issues/12/comments")
    );
    assert!(
        reqs.iter()
            .any(|r| r.method == "POST" && r.path == "/api/v3/repos/team/app/check-runs")
    );
    assert_token_kept(&feedback, &reqs);
}

#[tokio::test]
async fn a_403_on_a_fork_says_what_to_grant_and_why_it_cannot_work_there() {
    let gh = FakeGitHub::start("", 2);
    gh.fault(
        "POST",
        "/issues/12/comments",
        error_body(
            403,
            "Resource not accessible by integration",
            "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let event = event_file(dir.path(), true);
    let feedback = publish(config(&gh.api_url(), &event, true, false), &failing()).await;
    assert_eq!(codes(&feedback), vec![Code::GITHUB_ACCESS_DENIED]);
    let f = &feedback.report.findings[0];
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.title.contains("HTTP 403"), "{}", f.title);
    assert!(
        f.message.contains(&format!(
            "POST /repos/{OWNER_REPO}/issues/{PR}/comments → HTTP 403: Resource not accessible by integration"
        )),
        "{}",
        f.message
    );
    assert!(f.message.contains("fork `someone/app`"), "{}", f.message);
    assert!(f.fix.contains("pull-requests: write"), "{}", f.fix);
    assert!(
        f.fix.contains(
            "comment: ${{ github.event.pull_request.head.repo.full_name == github.repository }}"
        ),
        "{}",
        f.fix
    );
    assert_token_kept(&feedback, &gh.requests());
}

#[tokio::test]
async fn a_404_on_the_check_run_names_checks_write() {
    let gh = FakeGitHub::start("", 0);
    gh.fault(
        "POST",
        "/check-runs",
        error_body(
            404,
            "Not Found",
            "https://docs.github.com/rest/checks/runs#create-a-check-run",
        ),
    );
    let dir = tempfile::tempdir().unwrap();
    let event = event_file(dir.path(), false);
    let feedback = publish(config(&gh.api_url(), &event, false, true), &located(60)).await;
    assert_eq!(codes(&feedback), vec![Code::GITHUB_ACCESS_DENIED]);
    let f = &feedback.report.findings[0];
    assert!(f.message.contains("HTTP 404: Not Found"), "{}", f.message);
    assert!(f.fix.contains("checks: write"), "{}", f.fix);
    assert!(!f.message.contains("fork"), "{}", f.message);
    // The create failed: no annotation batch follows.
    assert_eq!(gh.requests().len(), 1);
    assert_token_kept(&feedback, &gh.requests());
}

#[tokio::test]
async fn a_failed_annotation_batch_is_reported_with_what_was_sent() {
    let gh = FakeGitHub::start("", 0);
    gh.fault(
        "PATCH",
        "/check-runs/",
        error_body(500, "Server Error", "https://docs.github.com/rest"),
    );
    let dir = tempfile::tempdir().unwrap();
    let event = event_file(dir.path(), false);
    let feedback = publish(config(&gh.api_url(), &event, false, true), &located(120)).await;
    assert_eq!(codes(&feedback), vec![Code::GITHUB_API_ERROR]);
    assert!(
        feedback.report.findings[0]
            .message
            .contains("annotations 51-100 of 120"),
        "{}",
        feedback.report.findings[0].message
    );
    assert!(feedback.report.verified[0].contains("50 annotations in 1 request"));
}

#[tokio::test]
async fn a_rate_limit_is_an_api_error_not_a_permission_problem() {
    let gh = FakeGitHub::start("", 0);
    gh.fault(
        "GET",
        "/comments",
        error_body(
            403,
            "API rate limit exceeded for installation ID 1.",
            "https://docs.github.com/rest/rate-limit",
        )
        .header("x-ratelimit-remaining", "0"),
    );
    let dir = tempfile::tempdir().unwrap();
    let event = event_file(dir.path(), false);
    let feedback = publish(config(&gh.api_url(), &event, true, false), &failing()).await;
    assert_eq!(codes(&feedback), vec![Code::GITHUB_API_ERROR]);
    assert!(feedback.report.findings[0].title.contains("rate limit"));
}

#[tokio::test]
async fn no_token_means_no_request_and_the_yaml_to_add() {
    let gh = FakeGitHub::start("", 0);
    let dir = tempfile::tempdir().unwrap();
    let event = event_file(dir.path(), false);
    let mut c = config(&gh.api_url(), &event, true, true);
    c.github.token = None;
    let feedback = publish(c, &failing()).await;
    assert_eq!(codes(&feedback), vec![Code::GITHUB_TOKEN_MISSING]);
    let fix = &feedback.report.findings[0].fix;
    assert!(fix.contains("github-token: ${{ github.token }}"), "{fix}");
    assert!(
        fix.contains("pull-requests: write") && fix.contains("checks: write"),
        "{fix}"
    );
    assert_eq!(gh.requests().len(), 0);
}

#[tokio::test]
async fn nothing_happens_unless_asked() {
    let gh = FakeGitHub::start("", 0);
    let dir = tempfile::tempdir().unwrap();
    let event = event_file(dir.path(), false);
    let mut c = config(&gh.api_url(), &event, false, false);
    c.github.token = None;
    let feedback = publish(c, &failing()).await;
    assert!(feedback.report.findings.is_empty() && feedback.report.verified.is_empty());
    assert_eq!(feedback.http_requests, 0);
    assert_eq!(gh.requests().len(), 0);
}

#[tokio::test]
async fn a_push_run_skips_the_comment_with_a_notice_but_still_creates_the_check_run() {
    let gh = FakeGitHub::start("", 0);
    let dir = tempfile::tempdir().unwrap();
    let event = dir.path().join("push.json");
    std::fs::write(&event, r#"{"ref":"refs/heads/main","after":"abc"}"#).unwrap();
    let mut c = config(&gh.api_url(), &event, true, true);
    c.env.event_name = Some("push".into());
    c.env.git_ref = Some("refs/heads/main".into());
    c.env.sha = Some("abc0push0sha".into());
    c.fail_on = FailOn::Never;
    let feedback = publish(c, &failing()).await;
    assert_eq!(codes(&feedback), vec![Code::GITHUB_FEEDBACK_SKIPPED]);
    assert_eq!(feedback.report.findings[0].severity, Severity::Notice);
    assert!(feedback.report.findings[0].message.contains("event `push`"));
    let reqs = gh.requests();
    assert_eq!(reqs.len(), 1);
    let body: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    assert_eq!(body["head_sha"], "abc0push0sha");
    assert_eq!(body["conclusion"], "neutral", "fail-on never");
}

#[tokio::test]
async fn a_server_that_never_answers_cannot_hold_the_run_past_its_deadline() {
    let server = MockServer::start(|_, _| Reply::Hang);
    let dir = tempfile::tempdir().unwrap();
    let event = event_file(dir.path(), false);
    let mut c = config(&server.url(), &event, true, true);
    c.timeout = Duration::from_secs(1);
    let started = Instant::now();
    let feedback = publish(c, &failing()).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        codes(&feedback),
        vec![Code::GITHUB_API_ERROR, Code::GITHUB_API_ERROR]
    );
    for f in &feedback.report.findings {
        assert!(f.fix.contains("--timeout"), "{}", f.fix);
    }
}

#[tokio::test]
async fn an_unreachable_api_is_an_api_error() {
    let port = {
        let l = support::http::bind_loopback();
        l.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let event = event_file(dir.path(), false);
    let c = config(&format!("http://127.0.0.1:{port}"), &event, true, false);
    let feedback = publish(c, &failing()).await;
    assert_eq!(codes(&feedback), vec![Code::GITHUB_API_ERROR]);
    let text = format!("{:?}", feedback.report);
    assert!(!text.contains(TOKEN));
}
