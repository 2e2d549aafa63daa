//! Git contexts and ACR Tasks base images (issue 13: P42, P44). The git contexts are
//! listed from a real bare repository made with the `git` CLI: a loopback HTTP server
//! answers `GET <repo>/info/refs?service=git-upload-pack` with the bytes of
//! `git upload-pack --stateless-rpc --advertise-refs`, after the
//! `# service=git-upload-pack` pkt-line and a flush (gitprotocol-http(5)), as git's own
//! `http-backend` does. The workflow is read from an in-memory workspace.

use crate::support::block_on;
use crate::support::http::{MockServer, Reply, Response};
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
fn bare_repository() -> tempfile::TempDir {
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
    MockServer::start(move |req, _| {
        let wanted = req.path == "/repo.git/info/refs"
            && req.query_first("service").as_deref() == Some("git-upload-pack");
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
    })
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
    let config = config();
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

fn of(report: &CheckReport, code: Code) -> Vec<&Finding> {
    report.findings.iter().filter(|f| f.code == code).collect()
}

fn acr_build(context: &str) -> String {
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
    // A tarball is not a git context; a local folder is not remote.
    let (_, git) = run_git(&acr_build("https://example.com/ctx.tar.gz"));
    assert!(git.findings.is_empty(), "{:?}", git.findings);
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

#[test]
fn the_binary_reports_a_missing_ref_on_the_workflow_line() {
    let repo = bare_repository();
    let server = git_server(repo.path().join("repo.git"));
    let workspace = tempfile::tempdir().unwrap();
    let workflows = workspace.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    let steps = format!(
        "      - uses: docker/build-push-action@v6\n        with:\n          context: {}/repo.git#nope\n",
        server.url()
    );
    std::fs::write(workflows.join("ci.yml"), workflow(&steps)).unwrap();
    let docker = tempfile::tempdir().unwrap();
    std::fs::write(docker.path().join("config.json"), "{}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_acr-preflight"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", workspace.path())
        .env(
            "GITHUB_WORKFLOW_REF",
            "octo/shop/.github/workflows/ci.yml@refs/heads/main",
        )
        .env("GITHUB_JOB", "build")
        .env("GITHUB_ACTION", "preflight")
        .env("GITHUB_REPOSITORY", "octo/shop")
        .env("INPUT_AUTH-MODE", "anonymous")
        .env("INPUT_DOCKER-CONFIG", docker.path())
        .output()
        .unwrap();
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
