//! Git contexts and ACR Tasks base images (issue 13: P42, P44). The git contexts are
//! listed from a real bare repository made with the `git` CLI: a loopback HTTP server
//! answers `GET <repo>/info/refs?service=git-upload-pack` with the bytes of
//! `git upload-pack --stateless-rpc --advertise-refs`, after the
//! `# service=git-upload-pack` pkt-line and a flush (gitprotocol-http(5)), as git's own
//! `http-backend` does. The workflow is read from an in-memory workspace.

use crate::support::block_on;
use crate::support::http::{MockServer, Reply, Request, Response};
use acr_preflight::checks::Ctx;
use acr_preflight::checks::workflow::check;
use acr_preflight::config::Config;
use acr_preflight::findings::{CheckReport, Code, Finding, Severity};
use acr_preflight::secrets::Secrets;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(["-c", "init.defaultBranch=main", "-c", "protocol.version=0"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A bare repository `repo.git` with branches `main`, `develop`, `release-1` and tag
/// `v1.0`, in a temporary folder (removed on drop).
pub(crate) fn bare_repository() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    git(&work, &["init", "-q"]);
    git(&work, &["commit", "-q", "--allow-empty", "-m", "init"]);
    git(&work, &["branch", "develop"]);
    git(&work, &["branch", "release-1"]);
    git(&work, &["tag", "v1.0"]);
    git(dir.path(), &["clone", "-q", "--bare", "work", "repo.git"]);
    dir
}

fn pkt(s: &str) -> String {
    format!("{:04x}{s}", s.len() + 4)
}

/// Serves the smart HTTP ref advertisement of `repo` at `/repo.git/info/refs`.
fn git_server(repo: PathBuf) -> MockServer {
    MockServer::start(advertise(repo, "/repo.git/info/refs"))
}

/// A handler answering the ref advertisement of `repo` at `path`, 404 elsewhere.
pub(crate) fn advertise(repo: PathBuf, path: &'static str) -> impl Fn(&Request, usize) -> Reply {
    move |req, _| {
        let wanted =
            req.path == path && req.query_first("service").as_deref() == Some("git-upload-pack");
        if !wanted {
            return Reply::Respond(Response::new(404));
        }
        let refs = git(
            repo.parent().unwrap(),
            &[
                "upload-pack",
                "--stateless-rpc",
                "--advertise-refs",
                repo.to_str().unwrap(),
            ],
        );
        let mut body = (pkt("# service=git-upload-pack\n") + "0000").into_bytes();
        body.extend(refs);
        Reply::Respond(
            Response::new(200)
                .header(
                    "Content-Type",
                    "application/x-git-upload-pack-advertisement",
                )
                .body(body),
        )
    }
}

fn config() -> Config {
    let mut c = Config::for_tests(PathBuf::from("/home/runner/.docker"));
    c.env.github_actions = true;
    c.env.workflow_ref = Some("octo/shop/.github/workflows/ci.yml@refs/heads/main".into());
    c.env.job = Some("build".into());
    c.env.action = Some("preflight".into());
    c.env.repository = Some("octo/shop".into());
    c
}

fn workflow(steps: &str) -> String {
    format!(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - id: preflight\n        uses: octo/acr-preflight@v1\n{steps}"
    )
}

/// The workflow check, then the git context check on what it discovered.
fn run_git(steps: &str) -> (CheckReport, CheckReport) {
    run_git_with(config(), steps)
}

pub(crate) fn run_git_with(config: Config, steps: &str) -> (CheckReport, CheckReport) {
    let mut files = BTreeMap::new();
    files.insert(".github/workflows/ci.yml".to_string(), workflow(steps));
    let (report, discovery) = check(&config, &files, &HashMap::new());
    let http = acr_preflight::http::build_client(&config).map_err(|e| e.to_string());
    let mut ctx = Ctx::new(config, Secrets::default());
    ctx.remote_contexts = discovery.remote_contexts();
    let git = block_on(acr_preflight::checks::registry::git_context::check(
        &ctx, &http,
    ));
    (report, git)
}

pub(crate) fn of(report: &CheckReport, code: Code) -> Vec<&Finding> {
    report.findings.iter().filter(|f| f.code == code).collect()
}

pub(crate) fn acr_build(context: &str) -> String {
    format!("      - run: az acr build --registry myreg --image app:v1 {context}\n")
}

#[test]
fn an_existing_branch_of_a_git_context_passes() {
    let repo = bare_repository();
    let server = git_server(repo.path().join("repo.git"));
    for fragment in ["#develop", "#v1.0", "#refs/heads/main:app", ""] {
        let url = format!("{}/repo.git{fragment}", server.url());
        let (_, git) = run_git(&acr_build(&url));
        assert!(git.findings.is_empty(), "{url}: {:?}", git.findings);
        assert!(
            git.verified
                .iter()
                .any(|v| v.contains("is advertised by GET")),
            "{url}: {:?}",
            git.verified
        );
    }
}

#[test]
fn a_missing_branch_is_an_error_naming_the_nearest_refs() {
    let repo = bare_repository();
    let server = git_server(repo.path().join("repo.git"));
    let url = format!("{}/repo.git#develp:app", server.url());
    let (_, git) = run_git(&format!(
        "      - uses: docker/build-push-action@v6\n        with:\n          context: {url}\n          push: true\n          tags: myreg.azurecr.io/app:v1\n"
    ));
    let found = of(&git, Code::CONTEXT_GIT_REF_MISSING);
    assert_eq!(found.len(), 1, "{:?}", git.findings);
    let f = found[0];
    assert_eq!(f.severity, Severity::Error);
    assert_eq!(
        f.title,
        format!("`develp` does not exist in {}/repo.git", server.url())
    );
    assert!(
        f.message
            .contains("branches: `develop`, `main`, `release-1`; tags: `v1.0`"),
        "{}",
        f.message
    );
    assert!(
        f.fix.starts_with(&format!(
            "Did you mean `develop`? Write the context as `{}/repo.git#develop:app`",
            server.url()
        )),
        "{}",
        f.fix
    );
    let l = f.location.as_ref().expect("located");
    assert_eq!(
        (l.file.as_str(), l.line),
        (".github/workflows/ci.yml", Some(8))
    );
    // Azure/acr-build's old default branch, `master`, on an `az acr build`.
    let (_, git) = run_git(&acr_build(&format!("{}/repo.git#master", server.url())));
    let f = of(&git, Code::CONTEXT_GIT_REF_MISSING)[0];
    assert!(
        f.message.contains("failed to download context"),
        "{}",
        f.message
    );
    assert!(f.fix.contains("repo.git#main`"), "{}", f.fix);
}

#[test]
fn a_repository_that_refuses_anonymous_reads_is_a_private_repository_warning() {
    let server = MockServer::start(|_, _| {
        Reply::Respond(Response::new(401).header("WWW-Authenticate", "Basic realm=\"GitHub\""))
    });
    let url = format!("{}/octo/private.git#main", server.url());
    let (_, git) = run_git(&acr_build(&url));
    let found = of(&git, Code::CONTEXT_GIT_UNREADABLE);
    assert_eq!(found.len(), 1, "{:?}", git.findings);
    let f = found[0];
    assert_eq!(f.severity, Severity::Warning);
    assert!(
        f.message
            .contains("answered 401: the repository is private"),
        "{}",
        f.message
    );
    assert!(f.fix.contains("--git-access-token <token>"), "{}", f.fix);
    assert_eq!(
        server.requests()[0].target,
        "/octo/private.git/info/refs?service=git-upload-pack"
    );
    // docker builds are told about BuildKit's token secret instead.
    let (_, git) = run_git(&format!(
        "      - run: docker buildx build --push -t myreg.azurecr.io/app:v1 {url}\n"
    ));
    let f = of(&git, Code::CONTEXT_GIT_UNREADABLE)[0];
    assert!(f.fix.contains("GIT_AUTH_TOKEN"), "{}", f.fix);
}

#[test]
fn a_body_that_is_not_a_ref_advertisement_is_a_clean_finding() {
    for (content_type, body) in [
        (
            "application/x-git-upload-pack-advertisement",
            &b"\xff\x00garbage 0000"[..],
        ),
        (
            "application/x-git-upload-pack-advertisement",
            b"001e# service=git-upload-pack\n0000ffff",
        ),
        ("text/html", b"<html>sign in</html>"),
    ] {
        let server = MockServer::start(move |_, _| {
            Reply::Respond(
                Response::new(200)
                    .header("Content-Type", content_type)
                    .body(body),
            )
        });
        let (_, git) = run_git(&acr_build(&format!("{}/repo.git#main", server.url())));
        let found = of(&git, Code::CONTEXT_GIT_UNREADABLE);
        assert_eq!(found.len(), 1, "{:?}", git.findings);
        assert_eq!(found[0].severity, Severity::Warning);
        assert!(
            found[0].message.contains("answered"),
            "{}",
            found[0].message
        );
    }
}

#[test]
fn a_repository_page_url_gets_the_git_form_without_any_request() {
    let (_, git) = run_git(&acr_build("https://github.com/octo/app/tree/main/src"));
    let found = of(&git, Code::CONTEXT_GIT_URL_FORM);
    assert_eq!(found.len(), 1, "{:?}", git.findings);
    assert_eq!(found[0].severity, Severity::Error);
    assert_eq!(
        found[0].fix,
        "Write the context as `https://github.com/octo/app.git#main:src`."
    );
    // A tarball is not a git context: it is requested as a tarball.
    let hosts = tarball_server();
    let (_, git) = run_git_with(
        hosts.config(),
        &acr_build(&format!("{DOWNLOADS}/ok.tar.gz")),
    );
    assert!(git.findings.is_empty(), "{:?}", git.findings);
    assert_eq!(hosts.server.requests()[0].method, "HEAD");
}

// P44: an `az acr build` whose Dockerfile starts FROM another registry's image.

fn run_tasks(dockerfile: &str) -> CheckReport {
    let mut files = BTreeMap::new();
    files.insert(
        ".github/workflows/ci.yml".to_string(),
        workflow(&acr_build("./app")),
    );
    files.insert("app/Dockerfile".to_string(), dockerfile.to_string());
    check(&config(), &files, &HashMap::new()).0
}

#[test]
fn an_acr_build_from_another_private_registry_is_a_warning_with_the_import() {
    let report = run_tasks(
        "FROM mcr.microsoft.com/dotnet/sdk:8.0 AS build\nFROM alpine:3.20\nFROM ghcr.io/octo/base:1.2\nFROM otherreg.azurecr.io/team/runtime:2\nFROM myreg.azurecr.io/own:1\n",
    );
    let found = of(&report, Code::TASKS_BASE_REGISTRY_CREDENTIAL);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    let f = found[0];
    assert_eq!(f.severity, Severity::Warning);
    assert_eq!(
        f.title,
        "`az acr build` pulls `ghcr.io/octo/base:1.2`, `otherreg.azurecr.io/team/runtime:2` from ghcr.io, otherreg.azurecr.io, which the ACR Tasks run may not reach"
    );
    assert_eq!(
        f.commands,
        [
            "az acr import --name myreg --source ghcr.io/octo/base:1.2 --image octo/base:1.2 --username <user> --password <token>",
            "az acr import --name myreg --source otherreg.azurecr.io/team/runtime:2 --image team/runtime:2",
        ]
    );
    let l = f.location.as_ref().expect("located");
    assert_eq!(
        (l.file.as_str(), l.line, l.column),
        ("app/Dockerfile", Some(3), Some(6))
    );
}

#[test]
fn an_azure_acr_build_step_is_checked_like_az_acr_build() {
    let mut files = BTreeMap::new();
    files.insert(
        ".github/workflows/ci.yml".to_string(),
        workflow(ACR_BUILD_ACTION),
    );
    files.insert(
        "src/web/Dockerfile".to_string(),
        "FROM ghcr.io/octo/base:1.2\n".to_string(),
    );
    let mut config = config();
    config.env.sha = Some("0123456789abcdef0123456789abcdef01234567".into());
    let report = check(&config, &files, &HashMap::new()).0;
    let found = of(&report, Code::TASKS_BASE_REGISTRY_CREDENTIAL);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    assert!(
        found[0]
            .message
            .contains("(through Azure/acr-build) for myreg.azurecr.io"),
        "{}",
        found[0].message
    );
    assert_eq!(
        found[0].commands,
        [
            "az acr import --name myreg --source ghcr.io/octo/base:1.2 --image octo/base:1.2 --username <user> --password <token>"
        ]
    );
}

#[test]
fn an_acr_build_from_public_or_own_images_is_quiet() {
    let report = run_tasks(
        "FROM mcr.microsoft.com/dotnet/sdk:8.0\nFROM node:20\nFROM myreg.azurecr.io/base:1\n",
    );
    assert!(
        of(&report, Code::TASKS_BASE_REGISTRY_CREDENTIAL).is_empty(),
        "{:?}",
        report.findings
    );
}

/// Runs the binary as the action does, on a workspace whose workflow has `steps` after
/// acr-preflight's step, with `inputs` added to its environment.
pub(crate) fn run_binary(steps: &str, inputs: &[(&str, String)]) -> std::process::Output {
    let workspace = tempfile::tempdir().unwrap();
    let workflows = workspace.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(workflows.join("ci.yml"), workflow(steps)).unwrap();
    let docker = tempfile::tempdir().unwrap();
    std::fs::write(docker.path().join("config.json"), "{}").unwrap();
    let mut command = crate::support::step::step_command(
        workspace.path(),
        "octo/shop",
        "ci.yml",
        "build",
        "preflight",
    );
    command
        .env("INPUT_AUTH-MODE", "anonymous")
        .env("INPUT_DOCKER-CONFIG", docker.path());
    for (name, value) in inputs {
        command.env(name, value);
    }
    command.output().unwrap()
}

/// The level and properties of the annotation for `code` the binary printed.
pub(crate) fn annotation(stdout: &str, code: &str) -> (String, BTreeMap<String, String>) {
    crate::workflow_e2e::annotations(stdout)
        .into_iter()
        .find(|(_, p)| p.get("title").is_some_and(|t| t.starts_with(code)))
        .unwrap_or_else(|| panic!("no {code} annotation:\n{stdout}"))
}

/// The level and properties of the annotation for `code` in a run that failed, and the
/// run's output without the runner's mask requests (where no secret may show).
fn failed_with(
    out: &std::process::Output,
    code: &str,
) -> (String, BTreeMap<String, String>, String) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let (level, props) = annotation(&stdout, code);
    let shown = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    (level, props, shown)
}

#[test]
fn the_binary_reports_a_missing_ref_on_the_workflow_line() {
    let repo = bare_repository();
    let server = git_server(repo.path().join("repo.git"));
    let steps = format!(
        "      - uses: docker/build-push-action@v6\n        with:\n          context: {}/repo.git#nope\n",
        server.url()
    );
    let out = run_binary(&steps, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = crate::workflow_e2e::annotations(&stdout);
    let (level, props) = found
        .iter()
        .find(|(_, p)| {
            p.get("title")
                .is_some_and(|t| t.starts_with("CONTEXT_GIT_REF_MISSING"))
        })
        .unwrap_or_else(|| panic!("no CONTEXT_GIT_REF_MISSING annotation:\n{stdout}"));
    assert_eq!(level, "error");
    assert_eq!(
        props.get("file").map(String::as_str),
        Some(".github/workflows/ci.yml")
    );
    assert_eq!(props.get("line").map(String::as_str), Some("8"), "{stdout}");
}

// Tarball (URL) contexts: one HEAD without credentials, a ranged GET when HEAD is
// refused (RFC 9110 §9.3.2, §14.2), redirects followed.

const DOWNLOADS: &str = "https://downloads.example.com";

/// `downloads.example.com` (and a blob storage host) serving archives, a web page, a
/// redirect, a SAS-protected blob and a host that refuses HEAD.
fn tarball_server() -> FakeHosts {
    FakeHosts::start(
        &["downloads.example.com", "acct.blob.core.windows.net"],
        |req, _| {
            let gzip = || Response::new(200).header("Content-Type", "application/gzip");
            let reply = match (req.method.as_str(), req.path.as_str()) {
                (_, "/ok.tar.gz") => gzip(),
                (_, "/moved.tar.gz") => Response::new(302).header("Location", "/ok.tar.gz"),
                (_, "/ctx/app.tar.gz") if req.query_first("sig").as_deref() == Some("GOOD-SIG") => {
                    gzip()
                }
                (_, "/ctx/app.tar.gz") => Response::new(403),
                (_, "/page.tar.gz") => Response::new(200)
                    .header("Content-Type", "text/html; charset=utf-8")
                    .body("<html>sign in</html>"),
                ("HEAD", "/nohead.tar.gz") => Response::new(405),
                ("GET", "/nohead.tar.gz") if req.header("range") == Some("bytes=0-0") => {
                    Response::new(206).header("Content-Type", "application/gzip")
                }
                _ => Response::new(404),
            };
            Reply::Respond(reply)
        },
    )
}

pub(crate) fn docker_build(context: &str) -> String {
    format!("      - run: docker buildx build --push -t myreg.azurecr.io/app:v1 '{context}'\n")
}

fn all_text(report: &CheckReport) -> String {
    let mut out = String::new();
    for f in &report.findings {
        out.push_str(&format!("{}\n{}\n{}\n", f.title, f.message, f.fix));
    }
    out.push_str(&report.verified.join("\n"));
    out
}

#[test]
fn a_served_tarball_url_passes_and_a_missing_one_is_an_error() {
    let hosts = tarball_server();
    for url in [
        format!("{DOWNLOADS}/ok.tar.gz"),
        format!("{DOWNLOADS}/moved.tar.gz"),
        "https://acct.blob.core.windows.net/ctx/app.tar.gz?sv=2024-11-04&sr=b&sig=GOOD-SIG"
            .to_string(),
    ] {
        let (_, found) = run_git_with(hosts.config(), &docker_build(&url));
        assert!(found.findings.is_empty(), "{url}: {:?}", found.findings);
        assert!(
            found.verified.iter().any(|v| v.contains("answered 200")),
            "{url}: {:?}",
            found.verified
        );
        assert!(
            !all_text(&found).contains("GOOD-SIG"),
            "{}",
            all_text(&found)
        );
    }
    let requests = hosts.server.requests();
    let heads = requests.iter().filter(|r| r.method == "HEAD").count();
    assert_eq!(heads, 4, "one HEAD each, and one after the redirect");
    assert!(requests.iter().all(|r| r.header("authorization").is_none()));

    let (_, found) = run_git_with(
        hosts.config(),
        &acr_build(&format!("{DOWNLOADS}/missing.tar.gz")),
    );
    let f = of(&found, Code::CONTEXT_URL_UNREADABLE);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert_eq!(f[0].severity, Severity::Error);
    // As docs/checks.md shows it.
    assert_eq!(
        f[0].title,
        "the URL context https://downloads.example.com/missing.tar.gz answers 404"
    );
    assert!(
        f[0].message.contains("doesn't exist.") && f[0].message.contains("ACR Tasks run agent"),
        "{}",
        f[0].message
    );
    // A local folder is not remote.
    let (_, found) = run_git(&acr_build("./app"));
    assert!(found.findings.is_empty(), "{:?}", found.findings);
}

#[test]
fn an_expired_sas_url_is_an_error_that_never_shows_the_token() {
    let hosts = tarball_server();
    let url = "https://acct.blob.core.windows.net/ctx/app.tar.gz?sv=2024-11-04&se=2020-01-01&sr=b&sp=r&sig=OLD-SIG";
    let (_, found) = run_git_with(hosts.config(), &docker_build(url));
    let f = of(&found, Code::CONTEXT_URL_UNREADABLE);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert_eq!(f[0].severity, Severity::Error);
    assert_eq!(
        f[0].title,
        "the URL context https://acct.blob.core.windows.net/ctx/app.tar.gz?… answers 403"
    );
    assert!(f[0].message.contains("answered 403"), "{}", f[0].message);
    assert!(f[0].fix.contains("SAS"), "{}", f[0].fix);
    let text = all_text(&found);
    assert!(
        !text.contains("OLD-SIG") && !text.contains("se=2020"),
        "{text}"
    );
    // The build's own query was sent.
    assert_eq!(
        hosts.server.requests()[0].query_first("sig").as_deref(),
        Some("OLD-SIG")
    );
}

#[test]
fn a_web_page_instead_of_an_archive_is_a_warning() {
    let hosts = tarball_server();
    let (_, found) = run_git_with(
        hosts.config(),
        &docker_build(&format!("{DOWNLOADS}/page.tar.gz")),
    );
    let f = of(&found, Code::CONTEXT_URL_NOT_ARCHIVE);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(
        f[0].title,
        "the URL context https://downloads.example.com/page.tar.gz serves a web page"
    );
    assert!(f[0].message.contains("`text/html`"), "{}", f[0].message);
    // An archive is not a web page.
    let (_, found) = run_git_with(
        hosts.config(),
        &docker_build(&format!("{DOWNLOADS}/ok.tar.gz")),
    );
    assert!(found.findings.is_empty(), "{:?}", found.findings);
}

#[test]
fn a_server_refusing_head_is_read_with_a_ranged_get_but_az_acr_build_still_fails() {
    let hosts = tarball_server();
    let url = format!("{DOWNLOADS}/nohead.tar.gz");
    let (_, found) = run_git_with(hosts.config(), &docker_build(&url));
    assert!(found.findings.is_empty(), "{:?}", found.findings);
    assert!(
        found
            .verified
            .iter()
            .any(|v| v.contains("GET without credentials answered 206")),
        "{:?}",
        found.verified
    );
    // The Azure CLI HEADs a tarball URL itself and stops on 405.
    let (_, found) = run_git_with(hosts.config(), &acr_build(&url));
    let f = of(&found, Code::CONTEXT_URL_UNREADABLE);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert!(f[0].message.contains("HEAD request"), "{}", f[0].message);
}

#[test]
fn the_binary_reports_an_unreadable_tarball_without_its_sas_token() {
    let hosts = tarball_server();
    let steps = "      - run: az acr build --registry myreg --image app:v1 'https://acct.blob.core.windows.net/ctx/app.tar.gz?sv=2024-11-04&sr=b&sig=OLD-SIG'\n";
    let resolve: Vec<String> = hosts
        .names
        .iter()
        .map(|n| format!("{n}={}", hosts.server.addr()))
        .collect();
    let ca = hosts.ca.ca_pem_path().display().to_string();
    let out = run_binary(
        steps,
        &[("INPUT_RESOLVE", resolve.join("\n")), ("INPUT_CA-FILE", ca)],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    let found = crate::workflow_e2e::annotations(&stdout);
    let (level, props) = found
        .iter()
        .find(|(_, p)| {
            p.get("title")
                .is_some_and(|t| t.starts_with("CONTEXT_URL_UNREADABLE"))
        })
        .unwrap_or_else(|| panic!("no CONTEXT_URL_UNREADABLE annotation:\n{stdout}"));
    assert_eq!(level, "error");
    assert_eq!(props.get("line").map(String::as_str), Some("8"), "{stdout}");
    // The signature reaches the runner only as a mask request, never in a message.
    let shown: String = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(!shown.contains("OLD-SIG"), "{shown}");
    assert!(shown.contains("app.tar.gz?…"), "{shown}");
}

// Submodules of the job's own repository, and Azure/acr-build.

/// A workspace whose `.gitmodules` holds `modules`.
fn workspace_with(modules: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(".gitmodules"), modules).unwrap();
    dir
}

pub(crate) fn submodule(path: &str, url: &str) -> String {
    format!("[submodule \"{path}\"]\n\tpath = {path}\n\turl = {url}\n")
}

#[test]
fn private_and_ssh_submodules_of_the_default_git_context_are_a_warning() {
    let repo = bare_repository();
    let public = MockServer::start(advertise(
        repo.path().join("repo.git"),
        "/pub.git/info/refs",
    ));
    let modules = submodule("vendor/lib", "git@github.com:octo/lib.git")
        + &submodule("third/pub", &format!("{}/pub.git", public.url()))
        + &submodule("third/priv", &format!("{}/priv.git", public.url()));
    let ws = workspace_with(&modules);
    let mut config = config();
    config.env.github_workspace = Some(ws.path().to_path_buf());
    let steps = "      - uses: docker/build-push-action@v6\n        with:\n          push: true\n          tags: myreg.azurecr.io/app:v1\n";
    let (_, found) = run_git_with(config.clone(), steps);
    let f = of(&found, Code::CONTEXT_GIT_SUBMODULES);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert_eq!(f[0].severity, Severity::Warning);
    assert_eq!(
        f[0].title,
        "BuildKit fetches submodules of octo/shop: `vendor/lib`, `third/pub`, `third/priv`"
    );
    for part in [
        "(git@github.com:octo/lib.git, an SSH URL)",
        "/pub.git, public)",
        "/priv.git, whose ref listing answered 404 without credentials",
        "GITHUB_TOKEN, which reads this repository only",
    ] {
        assert!(f[0].message.contains(part), "{part}: {}", f[0].message);
    }
    assert!(f[0].fix.contains("submodules: recursive"), "{}", f[0].fix);
    assert!(
        f[0].fix.contains(
            "`git config -f .gitmodules submodule.vendor/lib.url https://github.com/octo/lib.git`"
        ),
        "{}",
        f[0].fix
    );
    assert!(
        f[0].fix
            .contains("`github-token: ${{ secrets.SUBMODULES_TOKEN }}`"),
        "{}",
        f[0].fix
    );

    // Public https submodules only: BuildKit fetches them, nothing to report.
    let ws = workspace_with(&submodule(
        "third/pub",
        &format!("{}/pub.git", public.url()),
    ));
    config.env.github_workspace = Some(ws.path().to_path_buf());
    let (_, found) = run_git_with(config.clone(), steps);
    assert!(found.findings.is_empty(), "{:?}", found.findings);
    // A local context sends the checkout, submodules included.
    let ws = workspace_with(&modules);
    config.env.github_workspace = Some(ws.path().to_path_buf());
    let local = "      - uses: docker/build-push-action@v6\n        with:\n          context: .\n          push: true\n          tags: myreg.azurecr.io/app:v1\n";
    let (_, found) = run_git_with(config, local);
    assert!(found.findings.is_empty(), "{:?}", found.findings);
}

/// Named hosts over TLS on one loopback server: a certificate from a test CA for
/// `names`, each name resolved to the server (`--resolve`), the CA trusted
/// (`--ca-file`), as the binary's inputs do.
pub(crate) struct FakeHosts {
    pub(crate) server: MockServer,
    pub(crate) ca: crate::support::tls::TestCa,
    names: &'static [&'static str],
    _dir: tempfile::TempDir,
}

impl FakeHosts {
    pub(crate) fn start(
        names: &'static [&'static str],
        handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static,
    ) -> FakeHosts {
        let dir = tempfile::tempdir().unwrap();
        let ca = crate::support::tls::TestCa::new(dir.path());
        let (cert, key) = ca.issue_server_cert(names);
        let server = MockServer::start_tls(&cert, &key, handler);
        FakeHosts {
            server,
            ca,
            names,
            _dir: dir,
        }
    }

    /// The binary's inputs that reach every name: `resolve` and `ca-file`.
    pub(crate) fn inputs(&self) -> Vec<(&'static str, String)> {
        vec![
            (
                "INPUT_RESOLVE",
                self.names
                    .iter()
                    .map(|n| format!("{n}={}", self.server.addr()))
                    .collect::<Vec<_>>()
                    .join("\n"),
            ),
            ("INPUT_CA-FILE", self.ca.ca_pem_path().display().to_string()),
        ]
    }

    pub(crate) fn config(&self) -> Config {
        let mut c = config();
        c.resolve = self
            .names
            .iter()
            .map(|n| acr_preflight::config::ResolveRule {
                host: n.to_string(),
                addr: self.server.addr(),
            })
            .collect();
        c.ca_file = Some(self.ca.ca_pem_path().to_path_buf());
        c.env.sha = Some("0123456789abcdef0123456789abcdef01234567".into());
        c
    }
}

/// A fake github.com serving the refs of a bare repository as `octo/shop`.
struct FakeGithub {
    hosts: FakeHosts,
    _repo: tempfile::TempDir,
}

impl FakeGithub {
    fn start() -> FakeGithub {
        let repo = bare_repository();
        let hosts = FakeHosts::start(
            &["github.com"],
            advertise(repo.path().join("repo.git"), "/octo/shop.git/info/refs"),
        );
        FakeGithub { hosts, _repo: repo }
    }

    fn config(&self) -> Config {
        self.hosts.config()
    }
}

const ACR_BUILD_ACTION: &str = "      - uses: Azure/acr-build@v1\n        with:\n          service_principal: ${{ secrets.SP_ID }}\n          service_principal_password: ${{ secrets.SP_PASSWORD }}\n          tenant: ${{ secrets.TENANT }}\n          registry: myreg\n          repository: shop\n          image: web\n          folder: src/web\n";

#[test]
fn azure_acr_build_builds_master_by_default_which_a_main_repository_lacks() {
    let github = FakeGithub::start();
    let (_, found) = run_git_with(github.config(), ACR_BUILD_ACTION);
    let f = of(&found, Code::CONTEXT_GIT_REF_MISSING);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert_eq!(
        f[0].title,
        "`master` does not exist in https://github.com/octo/shop.git"
    );
    assert!(
        f[0].fix.contains("the input `branch: main`"),
        "{}",
        f[0].fix
    );
    assert!(
        f[0].message.contains("failed to download context"),
        "{}",
        f[0].message
    );
    assert_eq!(
        github.hosts.server.requests()[0].target,
        "/octo/shop.git/info/refs?service=git-upload-pack"
    );
    // `branch: develop` exists; a token keeps a refusal quiet, the refs still listed.
    let steps = format!(
        "{ACR_BUILD_ACTION}          branch: develop\n          git_access_token: ${{{{ secrets.PAT }}}}\n"
    );
    let (_, found) = run_git_with(github.config(), &steps);
    assert!(found.findings.is_empty(), "{:?}", found.findings);

    // What discovery makes of the step: the push target, the Dockerfile, ACR Tasks.
    let mut files = BTreeMap::new();
    files.insert(
        ".github/workflows/ci.yml".to_string(),
        workflow(ACR_BUILD_ACTION),
    );
    let (_, discovery) = check(&github.config(), &files, &HashMap::new());
    let build = discovery
        .builds
        .iter()
        .find(|b| b.what == "azure/acr-build")
        .expect("discovered");
    assert_eq!(
        build.inputs.context.as_deref(),
        Some("https://github.com/octo/shop.git#master:src/web")
    );
    assert_eq!(
        build.inputs.dockerfile.as_deref(),
        Some("src/web/Dockerfile")
    );
    let push: Vec<_> = discovery
        .references
        .iter()
        .filter_map(|r| r.reference.clone())
        .collect();
    assert_eq!(push, ["myreg.azurecr.io/shop/web:01234567"]);
}

#[test]
fn submodules_of_an_acr_tasks_git_context_of_the_own_repository_are_a_warning() {
    let github = FakeGithub::start();
    let ws = workspace_with(&submodule("vendor/lib", "https://github.com/octo/lib.git"));
    let mut config = github.config();
    config.env.github_workspace = Some(ws.path().to_path_buf());
    let (_, found) = run_git_with(
        config.clone(),
        &format!("{ACR_BUILD_ACTION}          branch: main\n"),
    );
    let f = of(&found, Code::CONTEXT_GIT_SUBMODULES);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert!(
        f[0].message.contains("Azure/azure-cli#30033"),
        "{}",
        f[0].message
    );
    assert!(f[0].fix.contains("az acr build --registry"), "{}", f[0].fix);
    // Another repository's git context: the workspace does not stand for it.
    let (_, found) = run_git_with(config, &acr_build("https://github.com/octo/other.git#main"));
    assert!(
        of(&found, Code::CONTEXT_GIT_SUBMODULES).is_empty(),
        "{:?}",
        found.findings
    );
}

// P42 with the build's own token: a private fake github.com that serves the refs only
// to HTTP Basic credentials whose password is the good token, as GitHub takes a
// personal access token (any user name, the token as password:
// https://docs.github.com/en/get-started/git-basics/about-remote-repositories#cloning-with-https-urls)
// and answers 401 to anything else.

const GOOD_TOKEN: &str = "ghp_GoodToken0123456789abcdefABCDEF";
const STALE_TOKEN: &str = "ghp_StaleToken9876543210zyxwvuZYXWV";

fn private_github() -> (FakeHosts, tempfile::TempDir) {
    use base64::Engine;
    let repo = bare_repository();
    let serve = advertise(repo.path().join("repo.git"), "/octo/shop.git/info/refs");
    let hosts = FakeHosts::start(&["github.com"], move |req, n| {
        let authorized = req
            .header("Authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|pair| pair.split_once(':').map(|(_, p)| p == GOOD_TOKEN))
            .unwrap_or(false);
        if authorized {
            serve(req, n)
        } else {
            Reply::Respond(Response::new(401).header("WWW-Authenticate", "Basic realm=\"GitHub\""))
        }
    });
    (hosts, repo)
}

/// The workflow check and the git context check, on a workflow written whole, with
/// acr-preflight's environment `env`.
fn run_git_yaml(config: Config, yaml: &str, env: &[(&str, &str)]) -> CheckReport {
    let mut files = BTreeMap::new();
    files.insert(".github/workflows/ci.yml".to_string(), yaml.to_string());
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (_, discovery) = check(&config, &files, &env);
    let http = acr_preflight::http::build_client(&config).map_err(|e| e.to_string());
    let mut ctx = Ctx::new(config, Secrets::default());
    ctx.remote_contexts = discovery.remote_contexts();
    block_on(acr_preflight::checks::registry::git_context::check(
        &ctx, &http,
    ))
}

pub(crate) fn all_of(report: &CheckReport) -> String {
    format!("{:?} {:?}", report.findings, report.verified)
}

#[test]
fn a_token_in_the_context_url_lists_the_refs_with_it() {
    let (github, _repo) = private_github();
    let url = format!("https://{GOOD_TOKEN}@github.com/octo/shop.git#develop");
    let (_, found) = run_git_with(github.config(), &acr_build(&url));
    assert!(found.findings.is_empty(), "{:?}", found.findings);
    assert!(
        found
            .verified
            .iter()
            .any(|v| v.contains("is advertised by GET https://github.com/octo/shop.git/info/refs?service=git-upload-pack with the token in the context URL")),
        "{:?}",
        found.verified
    );
    assert!(
        github.server.requests()[0]
            .header("Authorization")
            .is_some(),
        "the listing is made with the token"
    );
    // With the token the refs are read, so a missing branch is found.
    let url = format!("https://x-access-token:{GOOD_TOKEN}@github.com/octo/shop.git#relese-1");
    let (_, found) = run_git_with(github.config(), &acr_build(&url));
    let f = of(&found, Code::CONTEXT_GIT_REF_MISSING);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert!(
        f[0].fix.starts_with("Did you mean `release-1`?"),
        "{}",
        f[0].fix
    );
    assert!(!all_of(&found).contains(GOOD_TOKEN));
}

#[test]
fn a_refused_token_is_an_error_naming_expiry_and_sso() {
    let (github, _repo) = private_github();
    let url = format!("https://{STALE_TOKEN}@github.com/octo/shop.git#main");
    let (_, found) = run_git_with(github.config(), &acr_build(&url));
    let f = of(&found, Code::CONTEXT_GIT_TOKEN_REFUSED);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    let f = f[0];
    assert_eq!(f.severity, Severity::Error);
    // As docs/checks.md shows it.
    assert_eq!(
        f.title,
        "the token az acr build reads git context https://github.com/octo/shop.git with is refused"
    );
    assert!(
        f.message.starts_with("GET https://github.com/octo/shop.git/info/refs?service=git-upload-pack with the token in the context URL answered 401."),
        "{}",
        f.message
    );
    assert!(f.message.contains("SAML single sign-on"), "{}", f.message);
    assert!(f.fix.contains("Configure SSO → Authorize"), "{}", f.fix);
    assert!(
        f.fix
            .contains("`az acr build … https://<token>@github.com/octo/shop.git#main`"),
        "{}",
        f.fix
    );
    assert_eq!(
        f.location.as_ref().map(|l| l.line),
        Some(Some(8)),
        "{:?}",
        f.location
    );
    assert!(!all_of(&found).contains(STALE_TOKEN), "{}", all_of(&found));
    assert!(of(&found, Code::CONTEXT_GIT_UNREADABLE).is_empty());
}

/// Azure/acr-build reading `octo/shop` at `main` with `git_access_token`, after an
/// acr-preflight step with `preflight_env`.
fn acr_build_action_with_token(token: &str, preflight_env: &str) -> String {
    format!(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - id: preflight\n        uses: octo/acr-preflight@v1\n{preflight_env}{ACR_BUILD_ACTION}          branch: main\n          git_access_token: {token}\n"
    )
}

#[test]
fn a_token_from_a_secret_acr_preflight_cannot_see_is_a_notice_not_a_private_repository() {
    let (github, _repo) = private_github();
    let yaml = acr_build_action_with_token("${{ secrets.GIT_PAT }}", "");
    let found = run_git_yaml(github.config(), &yaml, &[]);
    let f = of(&found, Code::CONTEXT_GIT_TOKEN_UNSEEN);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    let f = f[0];
    assert_eq!(f.severity, Severity::Notice);
    assert_eq!(
        f.title,
        "git context https://github.com/octo/shop.git: the token azure/acr-build reads it with is not verified"
    );
    assert!(
        f.message.contains("reads it with `${{ secrets.GIT_PAT }}`, which acr-preflight cannot read (secrets are not readable by a step unless passed in its `env:`)"),
        "{}",
        f.message
    );
    assert!(
        f.fix.contains("GIT_ACCESS_TOKEN: ${{ secrets.GIT_PAT }}"),
        "{}",
        f.fix
    );
    assert!(of(&found, Code::CONTEXT_GIT_UNREADABLE).is_empty());

    // The same secret in the URL of an `az acr build`, in a `run:` script.
    let steps = acr_build("https://${{ secrets.GIT_PAT }}@github.com/octo/shop.git#main");
    let (_, found) = run_git_with(github.config(), &steps);
    assert_eq!(
        of(&found, Code::CONTEXT_GIT_TOKEN_UNSEEN).len(),
        1,
        "{:?}",
        found.findings
    );
}

#[test]
fn the_same_secret_passed_to_acr_preflight_is_used_and_judged() {
    let (github, _repo) = private_github();
    let preflight_env = "        env:\n          GIT_PAT: ${{ secrets.GIT_PAT }}\n";
    let yaml = acr_build_action_with_token("${{ secrets.GIT_PAT }}", preflight_env);
    let found = run_git_yaml(github.config(), &yaml, &[("GIT_PAT", GOOD_TOKEN)]);
    assert!(found.findings.is_empty(), "{:?}", found.findings);
    assert!(
        found
            .verified
            .iter()
            .any(|v| v.contains("with the token the `git_access_token` input")),
        "{:?}",
        found.verified
    );
    // A stale value: the build would fail the same way.
    let found = run_git_yaml(github.config(), &yaml, &[("GIT_PAT", STALE_TOKEN)]);
    let f = of(&found, Code::CONTEXT_GIT_TOKEN_REFUSED);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert!(
        f[0].fix
            .ends_with("Store it in the secret the step passes as `git_access_token`."),
        "{}",
        f[0].fix
    );
    assert!(!all_of(&found).contains(STALE_TOKEN));
}

#[test]
fn the_binary_judges_the_token_acr_preflight_is_given_and_masks_it() {
    let (github, _repo) = private_github();
    let steps = format!(
        "        env:\n          GIT_PAT: ${{{{ secrets.GIT_PAT }}}}\n{ACR_BUILD_ACTION}          branch: main\n          git_access_token: ${{{{ secrets.GIT_PAT }}}}\n"
    );
    let resolve = format!("github.com={}", github.server.addr());
    let ca = github.ca.ca_pem_path().display().to_string();
    let out = run_binary(
        &steps,
        &[
            ("INPUT_RESOLVE", resolve),
            ("INPUT_CA-FILE", ca),
            ("GIT_PAT", STALE_TOKEN.to_string()),
            (
                "GITHUB_SHA",
                "0123456789abcdef0123456789abcdef01234567".into(),
            ),
        ],
    );
    let (level, _, shown) = failed_with(&out, "CONTEXT_GIT_TOKEN_REFUSED");
    assert_eq!(level, "error");
    let request = &github.server.requests()[0];
    assert!(request.header("Authorization").is_some(), "{request:?}");
    // The token reaches the runner only as a mask request.
    let masked = String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
        .any(|l| l == format!("::add-mask::{STALE_TOKEN}"));
    assert!(masked, "{shown}");
    assert!(!shown.contains(STALE_TOKEN), "{shown}");
}

// P42 for another repository's git context: its `.gitmodules` at the context's ref,
// read through GitHub's REST API (`GET /repos/{owner}/{repo}/contents/{path}?ref=`,
// `Accept: application/vnd.github.raw+json` for the file's bytes:
// https://docs.github.com/en/rest/repos/contents#get-repository-content). The refs
// come from a real bare repository on a fake github.com; the API is a loopback fake.

const CONTENTS_PATH: &str = "/repos/octo/lib/contents/.gitmodules";

/// A fake GitHub REST API answering `answer` to `GET /repos/octo/lib/contents/.gitmodules`
/// asked for the raw media type, and GitHub's 404 body to anything else.
fn contents_api(answer: Response) -> MockServer {
    MockServer::start(move |req, _| {
        let raw = req.header("Accept") == Some("application/vnd.github.raw+json");
        if req.path == CONTENTS_PATH && raw {
            return Reply::Respond(answer.clone());
        }
        Reply::Respond(Response::json(
            404,
            &serde_json::json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest/repos/contents#get-repository-content", "status": "404"}),
        ))
    })
}

fn raw_file(text: &str) -> Response {
    Response::new(200)
        .header(
            "Content-Type",
            "application/vnd.github.raw+json; charset=utf-8",
        )
        .body(text.as_bytes().to_vec())
}

/// github.com (and `git.example.com`) serving the refs of a bare repository as
/// `octo/lib`, with the REST API fake as GITHUB_API_URL.
fn other_repository(api: &MockServer) -> (FakeHosts, tempfile::TempDir, Config) {
    let repo = bare_repository();
    let hosts = FakeHosts::start(
        &["github.com", "git.example.com"],
        advertise(repo.path().join("repo.git"), "/octo/lib.git/info/refs"),
    );
    let mut config = hosts.config();
    config.env.api_url = Some(api.url());
    // The job's own token is never sent for another repository.
    config.github.token = Some("ghs_JobTokenNeverSentToOtherRepos0123".into());
    (hosts, repo, config)
}

#[test]
fn submodules_of_another_github_repository_are_read_at_the_contexts_ref() {
    let modules = submodule("vendor/dep", "git@github.com:octo/dep.git");
    let api = contents_api(raw_file(&modules));
    let (_hosts, _repo, config) = other_repository(&api);
    // The same repository and ref built twice: one API request.
    let url = "https://github.com/octo/lib.git#main:app";
    let steps = docker_build(url) + &acr_build(url);
    let (_, found) = run_git_with(config, &steps);
    let f = of(&found, Code::CONTEXT_GIT_SUBMODULES);
    assert_eq!(f.len(), 2, "{:?}", found.findings);
    assert_eq!(f[0].severity, Severity::Warning);
    // As docs/checks.md shows it.
    assert_eq!(
        f[0].title,
        "BuildKit fetches submodules of octo/lib: `vendor/dep`"
    );
    assert_eq!(
        f[1].title,
        "ACR Tasks fetches submodules of octo/lib: `vendor/dep`"
    );
    let listed = format!(
        "`.gitmodules` of octo/lib at `main` (GET {}{CONTENTS_PATH}?ref=main without credentials) declares 1 submodule(s) for the git context https://github.com/octo/lib.git of docker buildx build: `vendor/dep` (git@github.com:octo/dep.git, an SSH URL)",
        api.url()
    );
    assert!(f[0].message.starts_with(&listed), "{}", f[0].message);
    assert!(
        f[0].fix.contains(
            "`git config -f .gitmodules submodule.vendor/dep.url https://github.com/octo/dep.git`"
        ),
        "{}",
        f[0].fix
    );
    let requests = api.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].query_first("ref").as_deref(), Some("main"));
    assert_eq!(
        requests[0].header("X-GitHub-Api-Version"),
        Some("2022-11-28")
    );
    assert!(
        requests[0].header("Authorization").is_none(),
        "{requests:?}"
    );

    // Public https submodules only: BuildKit fetches them, a verified fact.
    let repo = bare_repository();
    let public = MockServer::start(advertise(
        repo.path().join("repo.git"),
        "/pub.git/info/refs",
    ));
    let api = contents_api(raw_file(&submodule(
        "third/pub",
        &format!("{}/pub.git", public.url()),
    )));
    let (_hosts, _repo, config) = other_repository(&api);
    let (_, found) = run_git_with(config, &docker_build(url));
    assert!(found.findings.is_empty(), "{:?}", found.findings);
    assert!(
        found
            .verified
            .iter()
            .any(|v| v.contains("its submodules (`third/pub`) have no SSH URL")),
        "{:?}",
        found.verified
    );
}

#[test]
fn the_binary_warns_of_another_repositorys_ssh_submodule() {
    let api = contents_api(raw_file(&submodule(
        "vendor/dep",
        "git@github.com:octo/dep.git",
    )));
    let (hosts, _repo, _) = other_repository(&api);
    let mut inputs = hosts.inputs();
    inputs.push(("GITHUB_API_URL", api.url()));
    let out = run_binary(
        &docker_build("https://github.com/octo/lib.git#main"),
        &inputs,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (level, props) = annotation(&stdout, "CONTEXT_GIT_SUBMODULES");
    assert_eq!(level, "warning");
    assert_eq!(props.get("line").map(String::as_str), Some("8"), "{stdout}");
    assert_eq!(api.hits(), 1);
}

#[test]
fn another_repository_without_gitmodules_or_refused_by_the_api_stays_quiet() {
    let url = "https://github.com/octo/lib.git#main";
    // 404: no `.gitmodules` at that ref.
    let api = contents_api(Response::new(404));
    let (_hosts, _repo, config) = other_repository(&api);
    let (_, found) = run_git_with(config, &acr_build(url));
    assert!(found.findings.is_empty(), "{:?}", found.findings);
    assert!(
        found
            .verified
            .iter()
            .any(|v| v.contains("no submodules") && v.contains("answered 404")),
        "{:?}",
        found.verified
    );
    assert_eq!(api.hits(), 1);

    // 403 with the rate limit spent: a note, no finding.
    let api = contents_api(
        Response::json(
            403,
            &serde_json::json!({"message": "API rate limit exceeded for 127.0.0.1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api", "status": "403"}),
        )
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-limit", "60"),
    );
    let (_hosts, _repo, config) = other_repository(&api);
    let (_, found) = run_git_with(config.clone(), &acr_build(url));
    assert!(found.findings.is_empty(), "{:?}", found.findings);
    assert!(
        found
            .verified
            .iter()
            .any(|v| v.contains("its submodules were not checked")
                && v.contains("answered 403 (the API's rate limit is spent")),
        "{:?}",
        found.verified
    );

    // A ref the repository lacks: the ref finding, no API request.
    let before = api.hits();
    let (_, found) = run_git_with(
        config.clone(),
        &acr_build("https://github.com/octo/lib.git#nope"),
    );
    assert_eq!(of(&found, Code::CONTEXT_GIT_REF_MISSING).len(), 1);
    assert_eq!(api.hits(), before);

    // Another host: not looked up, and said so.
    let (_, found) = run_git_with(
        config,
        &acr_build("https://git.example.com/octo/lib.git#main"),
    );
    assert!(found.findings.is_empty(), "{:?}", found.findings);
    assert!(
        found.verified.iter().any(|v| v.contains(
            "its submodules were not looked up: the forge of git.example.com is unknown, so its REST API is not guessed: `.gitmodules` is read through the REST API of GitHub (github.com, the run's GITHUB_SERVER_URL, or a host named `github.…`), GitLab (gitlab.com, or a host named `gitlab.…`), Azure DevOps (dev.azure.com, `<org>.visualstudio.com`) or Bitbucket Cloud (bitbucket.org), and git.example.com is none of them"
        )),
        "{:?}",
        found.verified
    );
    assert_eq!(api.hits(), before);
}

#[test]
fn the_builds_own_token_reads_another_repositorys_gitmodules() {
    let api = contents_api(raw_file(&submodule(
        "vendor/dep",
        "https://github.com/octo/dep.git",
    )));
    let (_hosts, _repo, config) = other_repository(&api);
    let url = format!("https://{GOOD_TOKEN}@github.com/octo/lib.git#main");
    let (_, found) = run_git_with(config, &acr_build(&url));
    let f = of(&found, Code::CONTEXT_GIT_SUBMODULES);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert!(
        f[0].message.contains("with the build's token)"),
        "{}",
        f[0].message
    );
    let requests = api.requests();
    assert_eq!(
        requests[0].header("Authorization"),
        Some(format!("Bearer {GOOD_TOKEN}").as_str())
    );
    assert!(!all_of(&found).contains(GOOD_TOKEN));
}

// A token held in a shell variable of the build's `run:` script, traced to the
// expression it holds.

/// A workflow whose acr-preflight step has `preflight_env`, then `steps`.
fn with_preflight_env(preflight_env: &str, steps: &str) -> String {
    format!(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - id: preflight\n        uses: octo/acr-preflight@v1\n{preflight_env}{steps}"
    )
}

const PASS_GIT_PAT: &str = "        env:\n          GIT_PAT: ${{ secrets.GIT_PAT }}\n";

/// `az acr build` of `octo/shop` at `main` with the token in `$PAT`, which the script
/// sets from `source`.
fn script_token(source: &str) -> String {
    format!(
        "      - run: |\n          PAT={source}\n          az acr build --registry myreg --image app:v1 https://x:$PAT@github.com/octo/shop.git#main\n"
    )
}

#[test]
fn a_token_variable_set_from_a_secret_acr_preflight_receives_lists_the_refs() {
    let (github, _repo) = private_github();
    let yaml = with_preflight_env(PASS_GIT_PAT, &script_token("${{ secrets.GIT_PAT }}"));
    let found = run_git_yaml(github.config(), &yaml, &[("GIT_PAT", GOOD_TOKEN)]);
    assert!(found.findings.is_empty(), "{:?}", found.findings);
    assert!(
        found
            .verified
            .iter()
            .any(|v| v.contains("`main` is advertised") && v.contains("with the token")),
        "{:?}",
        found.verified
    );
    let found = run_git_yaml(github.config(), &yaml, &[("GIT_PAT", STALE_TOKEN)]);
    let f = of(&found, Code::CONTEXT_GIT_TOKEN_REFUSED);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert!(!all_of(&found).contains(STALE_TOKEN));

    // The step's `env:` holds it, exported under another name, quoted.
    let steps = "      - env:\n          GIT_TOKEN: ${{ secrets.GIT_PAT }}\n        run: |\n          export TOKEN=\"$GIT_TOKEN\"\n          az acr build --registry myreg --image app:v1 \"https://x-access-token:${TOKEN}@github.com/octo/shop.git#main\"\n";
    let found = run_git_yaml(
        github.config(),
        &with_preflight_env(PASS_GIT_PAT, steps),
        &[("GIT_PAT", STALE_TOKEN)],
    );
    assert_eq!(
        of(&found, Code::CONTEXT_GIT_TOKEN_REFUSED).len(),
        1,
        "{:?}",
        found.findings
    );
    // An earlier step writes it to $GITHUB_ENV.
    let found = run_git_yaml(
        github.config(),
        &with_preflight_env(PASS_GIT_PAT, GITHUB_ENV_STEPS),
        &[("GIT_PAT", GOOD_TOKEN)],
    );
    assert!(found.findings.is_empty(), "{:?}", found.findings);
    // The secret written in the URL itself resolves the same way.
    let steps = acr_build("https://${{ secrets.GIT_PAT }}@github.com/octo/shop.git#main");
    let found = run_git_yaml(
        github.config(),
        &with_preflight_env(PASS_GIT_PAT, &steps),
        &[("GIT_PAT", GOOD_TOKEN)],
    );
    assert!(found.findings.is_empty(), "{:?}", found.findings);
    let authorized = github
        .server
        .requests()
        .iter()
        .filter(|r| r.header("Authorization").is_some())
        .count();
    assert_eq!(authorized, 5, "every listing above was made with the token");
}

/// A step writes the token to $GITHUB_ENV; the next one builds with it.
const GITHUB_ENV_STEPS: &str = "      - run: echo \"GIT_TOKEN=${{ secrets.GIT_PAT }}\" >> \"$GITHUB_ENV\"\n      - run: az acr build --registry myreg --image app:v1 https://x:$GIT_TOKEN@github.com/octo/shop.git#main\n";

#[test]
fn a_token_variable_from_a_secret_acr_preflight_lacks_is_unseen_naming_both() {
    let (github, _repo) = private_github();
    let yaml = with_preflight_env("", &script_token("\"${{ secrets.GIT_PAT }}\""));
    let found = run_git_yaml(github.config(), &yaml, &[]);
    let f = of(&found, Code::CONTEXT_GIT_TOKEN_UNSEEN);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert!(
        f[0].message.contains("az acr build reads it with `${{ secrets.GIT_PAT }}` through `$PAT` (set by the script), which acr-preflight cannot read (secrets are not readable by a step unless passed in its `env:`)"),
        "{}",
        f[0].message
    );
    assert!(
        f[0].fix
            .contains("(`env:` with `GIT_ACCESS_TOKEN: ${{ secrets.GIT_PAT }}`)"),
        "{}",
        f[0].fix
    );
    assert!(of(&found, Code::CONTEXT_GIT_UNREADABLE).is_empty());
    // From the step's `env:`.
    let steps = "      - env:\n          GIT_TOKEN: ${{ secrets.GIT_PAT }}\n        run: az acr build --registry myreg --image app:v1 https://x:$GIT_TOKEN@github.com/octo/shop.git#main\n";
    let found = run_git_yaml(github.config(), &with_preflight_env("", steps), &[]);
    let f = of(&found, Code::CONTEXT_GIT_TOKEN_UNSEEN);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert!(
        f[0].message
            .contains("`${{ secrets.GIT_PAT }}` through `$GIT_TOKEN` (of the step's `env:`)"),
        "{}",
        f[0].message
    );
    // From an earlier step's $GITHUB_ENV.
    let found = run_git_yaml(
        github.config(),
        &with_preflight_env("", GITHUB_ENV_STEPS),
        &[],
    );
    let f = of(&found, Code::CONTEXT_GIT_TOKEN_UNSEEN);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert!(
        f[0].message.contains(
            "`${{ secrets.GIT_PAT }}` through `$GIT_TOKEN` (written to $GITHUB_ENV by the step at line 8)"
        ),
        "{}",
        f[0].message
    );
}

#[test]
fn a_token_variable_from_a_command_substitution_is_not_traced() {
    let (github, _repo) = private_github();
    let yaml = with_preflight_env(PASS_GIT_PAT, &script_token("$(cat /run/secrets/pat)"));
    let found = run_git_yaml(github.config(), &yaml, &[("GIT_PAT", GOOD_TOKEN)]);
    let f = of(&found, Code::CONTEXT_GIT_TOKEN_UNSEEN);
    assert_eq!(f.len(), 1, "{:?}", found.findings);
    assert!(
        f[0].message.contains("reads it with `$PAT`, which acr-preflight cannot read (not traced: `$PAT` is set by the script from `$(cat /run/secrets/pat)`"),
        "{}",
        f[0].message
    );
    assert!(!f[0].fix.contains("GIT_ACCESS_TOKEN: $PAT"), "{}", f[0].fix);
    assert!(
        f[0].fix.contains("set `$PAT` from a secret"),
        "{}",
        f[0].fix
    );
    assert!(
        github.server.requests()[0]
            .header("Authorization")
            .is_none(),
        "an untraced token is never guessed"
    );
}

#[test]
fn the_binary_judges_a_token_held_in_a_script_variable_and_masks_it() {
    let (github, _repo) = private_github();
    let steps = format!("{PASS_GIT_PAT}{}", script_token("${{ secrets.GIT_PAT }}"));
    let resolve = format!("github.com={}", github.server.addr());
    let ca = github.ca.ca_pem_path().display().to_string();
    let out = run_binary(
        &steps,
        &[
            ("INPUT_RESOLVE", resolve),
            ("INPUT_CA-FILE", ca),
            ("GIT_PAT", STALE_TOKEN.to_string()),
        ],
    );
    let (level, props, shown) = failed_with(&out, "CONTEXT_GIT_TOKEN_REFUSED");
    assert_eq!(level, "error");
    assert_eq!(props.get("line").map(String::as_str), Some("12"), "{shown}");
    assert!(!shown.contains(STALE_TOKEN), "{shown}");
}
