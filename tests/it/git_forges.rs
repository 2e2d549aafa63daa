//! P42 on GitLab and Azure DevOps: the `.gitmodules` of a git context at its ref, read
//! through the forge's REST API. Each forge is a fake on its real host name (TLS from
//! the test CA, the name resolved to 127.0.0.1 as `--resolve` does) serving the refs of
//! a real bare repository over git's smart HTTP protocol and the documented file API:
//! - GitLab: `GET /api/v4/projects/<url-encoded path>/repository/files/<path>/raw?ref=`,
//!   a token as `Authorization: Bearer`; a missing file is 404
//!   `{"message":"404 File Not Found"}`, a missing token 401
//!   `{"message":"401 Unauthorized"}`
//!   (https://docs.gitlab.com/api/repository_files/#get-raw-file-from-repository,
//!   https://docs.gitlab.com/api/rest/authentication/).
//! - Azure DevOps: `GET /<org>/<project>/_apis/git/repositories/<repo>/items?path=&versionDescriptor.version=&versionDescriptor.versionType=&$format=octetStream&api-version=7.1`,
//!   a personal access token as the Basic password; a missing item is 404 with
//!   `"typeKey": "GitItemNotFoundException"`; a request without credentials gets the
//!   sign-in page, 203 with `text/html`
//!   (https://learn.microsoft.com/rest/api/azure/devops/git/items/get).

use crate::git_contexts::{
    FakeHosts, acr_build, advertise, all_of, annotation, bare_repository, docker_build, of,
    run_binary, run_git_with, submodule,
};
use crate::support::http::{Reply, Request, Response};
use acr_preflight::findings::{CheckReport, Code, Severity};

const GITLAB_TOKEN: &str = "glpat-GitLabToken0123456789abcd";
const AZDO_PAT: &str = "azdoPat0123456789abcdefghijklmnopqrstuvwxyzAB";

const GITLAB_API: &str = "/api/v4/projects/grp%2Fapp/repository/files/.gitmodules/raw";
const AZDO_API: &str = "/org/proj/_apis/git/repositories/repo/items";

/// The Basic password of a request, decoded.
fn basic_password(req: &Request) -> Option<String> {
    use base64::Engine;
    let b = req.header("Authorization")?.strip_prefix("Basic ")?;
    let pair = base64::engine::general_purpose::STANDARD.decode(b).ok()?;
    let pair = String::from_utf8(pair).ok()?;
    pair.split_once(':').map(|(_, p)| p.to_string())
}

fn ssh_modules() -> String {
    submodule("vendor/dep", "git@gitlab.com:grp/dep.git")
}

/// A fake gitlab.com: `grp/app`'s refs (public, or for `token` only, as the Basic
/// password), and `answer` to the raw file API for `.gitmodules` (for `token` only, as
/// a bearer token, when given).
fn gitlab(answer: Response, token: Option<&'static str>) -> (FakeHosts, tempfile::TempDir) {
    let repo = bare_repository();
    let refs = advertise(repo.path().join("repo.git"), "/grp/app.git/info/refs");
    let hosts = FakeHosts::start(&["gitlab.com"], move |req, n| {
        if req.path.starts_with("/api/v4/") {
            let bearer = req
                .header("Authorization")
                .and_then(|h| h.strip_prefix("Bearer "));
            if token.is_some() && bearer != token {
                return Reply::Respond(Response::json(
                    401,
                    &serde_json::json!({"message": "401 Unauthorized"}),
                ));
            }
            if req.path == GITLAB_API {
                return Reply::Respond(answer.clone());
            }
            return Reply::Respond(Response::json(
                404,
                &serde_json::json!({"message": "404 Project Not Found"}),
            ));
        }
        if token.is_some() && basic_password(req).as_deref() != token {
            return Reply::Respond(
                Response::new(401).header("WWW-Authenticate", "Basic realm=\"GitLab\""),
            );
        }
        refs(req, n)
    });
    (hosts, repo)
}

/// A 200 answer carrying `text` as `content_type`.
fn file(content_type: &str, text: &str) -> Response {
    Response::new(200)
        .header("Content-Type", content_type)
        .body(text.as_bytes().to_vec())
}

/// No finding, and a verified fact that says each of `parts`.
fn quiet_noting(found: &CheckReport, parts: &[&str]) {
    assert!(found.findings.is_empty(), "{}", all_of(found));
    assert!(
        found
            .verified
            .iter()
            .any(|v| parts.iter().all(|p| v.contains(p))),
        "{parts:?} in {:?}",
        found.verified
    );
}

/// The one CONTEXT_GIT_SUBMODULES finding of `found`.
fn the_submodules_finding(found: &CheckReport) -> &acr_preflight::findings::Finding {
    let f = of(found, Code::CONTEXT_GIT_SUBMODULES);
    assert_eq!(f.len(), 1, "{}", all_of(found));
    f[0]
}

/// What the binary printed, without the `::add-mask::` lines that register secrets.
fn shown(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .chain(String::from_utf8_lossy(&out.stderr).lines())
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The requests the fake received for `path`.
fn requests_to(hosts: &FakeHosts, path: &str) -> Vec<Request> {
    hosts
        .server
        .requests()
        .into_iter()
        .filter(|r| r.path == path)
        .collect()
}

#[test]
fn a_gitlab_contexts_ssh_submodule_is_read_with_the_builds_token() {
    let (hosts, _repo) = gitlab(
        file("text/plain; charset=utf-8", &ssh_modules()),
        Some(GITLAB_TOKEN),
    );
    let url = format!("https://oauth2:{GITLAB_TOKEN}@gitlab.com/grp/app.git#main");
    let (_, found) = run_git_with(hosts.config(), &docker_build(&url));
    let f = the_submodules_finding(&found);
    assert_eq!(f.severity, Severity::Warning);
    // As docs/checks.md shows it.
    assert_eq!(
        f.title,
        "BuildKit fetches submodules of grp/app: `vendor/dep`"
    );
    let seen = format!(
        "`.gitmodules` of grp/app at `main` (GET https://gitlab.com{GITLAB_API}?ref=main with the build's token) declares 1 submodule(s)"
    );
    assert!(f.message.starts_with(&seen), "{}", f.message);
    assert!(f.message.contains("an SSH URL"), "{}", f.message);
    assert!(
        f.fix.contains(
            "`git config -f .gitmodules submodule.vendor/dep.url https://gitlab.com/grp/dep.git`"
        ),
        "{}",
        f.fix
    );
    let api = requests_to(&hosts, GITLAB_API);
    assert_eq!(api.len(), 1, "{api:?}");
    assert_eq!(api[0].query_first("ref").as_deref(), Some("main"));
    assert_eq!(
        api[0].header("Authorization"),
        Some(format!("Bearer {GITLAB_TOKEN}").as_str())
    );
    assert!(!all_of(&found).contains(GITLAB_TOKEN));
}

#[test]
fn a_gitlab_context_without_gitmodules_or_refused_by_the_api_stays_quiet() {
    let url = "https://gitlab.com/grp/app.git#main";
    // 404 File Not Found: no `.gitmodules` at that ref, a verified fact.
    let missing = Response::json(404, &serde_json::json!({"message": "404 File Not Found"}));
    let (hosts, _repo) = gitlab(missing, None);
    let (_, found) = run_git_with(hosts.config(), &acr_build(url));
    quiet_noting(&found, &["no submodules", "answered 404"]);

    // 401 from the API while the refs are public: a note, no finding.
    let refused = Response::json(401, &serde_json::json!({"message": "401 Unauthorized"}));
    let (hosts, _repo) = gitlab(refused, None);
    let (_, found) = run_git_with(hosts.config(), &acr_build(url));
    quiet_noting(
        &found,
        &[&format!(
            "its submodules were not checked: GET https://gitlab.com{GITLAB_API}?ref=main without credentials answered 401"
        )],
    );

    // A 404 that names the project, not the file: not a verified absence.
    let (hosts, _repo) = gitlab(
        Response::json(
            404,
            &serde_json::json!({"message": "404 Project Not Found"}),
        ),
        None,
    );
    let (_, found) = run_git_with(hosts.config(), &acr_build(url));
    quiet_noting(&found, &["answered 404 (`404 Project Not Found`"]);
    assert!(!found.verified.iter().any(|v| v.contains("no submodules")));
}

/// A fake dev.azure.com: `org/proj/_git/repo`'s refs for `AZDO_PAT` as the Basic
/// password (401 otherwise), and `answer` to the Items API for `/.gitmodules` at branch
/// `main` as octet stream for `AZDO_PAT`; the sign-in page without credentials.
fn azure_devops(answer: Response) -> (FakeHosts, tempfile::TempDir) {
    let repo = bare_repository();
    let refs = advertise(
        repo.path().join("repo.git"),
        "/org/proj/_git/repo/info/refs",
    );
    let hosts = FakeHosts::start(&["dev.azure.com"], move |req, n| {
        let authorized = basic_password(req).as_deref() == Some(AZDO_PAT);
        if req.path.contains("/_apis/") {
            if !authorized {
                return Reply::Respond(
                    Response::new(203)
                        .header("Content-Type", "text/html; charset=utf-8")
                        .body(
                            b"<html><title>Azure DevOps Services | Sign In</title></html>".to_vec(),
                        ),
                );
            }
            let wanted = req.path == AZDO_API
                && req.query_first("path").as_deref() == Some("/.gitmodules")
                && req.query_first("versionDescriptor.version").as_deref() == Some("main")
                && req.query_first("versionDescriptor.versionType").as_deref() == Some("branch")
                && req.query_first("$format").as_deref() == Some("octetStream")
                && req.query_first("api-version").as_deref() == Some("7.1");
            if wanted {
                return Reply::Respond(answer.clone());
            }
            return Reply::Respond(Response::json(
                404,
                &serde_json::json!({"message": "TF401019: The Git repository with name or identifier x does not exist or you do not have permissions for the operation you are attempting.", "typeKey": "GitRepositoryNotFoundException"}),
            ));
        }
        if !authorized {
            return Reply::Respond(
                Response::new(401)
                    .header("WWW-Authenticate", "Basic realm=\"https://dev.azure.com/\""),
            );
        }
        refs(req, n)
    });
    (hosts, repo)
}

#[test]
fn an_azure_devops_contexts_submodules_are_read_with_the_builds_pat() {
    let (hosts, _repo) = azure_devops(file(
        "application/octet-stream",
        &submodule("vendor/dep", "git@ssh.dev.azure.com:v3/org/proj/dep"),
    ));
    let url = format!("https://{AZDO_PAT}@dev.azure.com/org/proj/_git/repo#main");
    let (_, found) = run_git_with(hosts.config(), &acr_build(&url));
    let f = the_submodules_finding(&found);
    assert_eq!(
        f.title,
        "ACR Tasks fetches submodules of org/proj/_git/repo: `vendor/dep`"
    );
    assert!(
        f.message
            .contains("(git@ssh.dev.azure.com:v3/org/proj/dep, an SSH URL)"),
        "{}",
        f.message
    );
    let api = requests_to(&hosts, AZDO_API);
    assert_eq!(api.len(), 1, "{api:?}");
    assert_eq!(basic_password(&api[0]).as_deref(), Some(AZDO_PAT));
    assert!(!all_of(&found).contains(AZDO_PAT));

    // Not found: the item is missing at that branch, a verified fact.
    let (hosts, _repo) = azure_devops(Response::json(
        404,
        &serde_json::json!({"message": "TF401174: The item '/.gitmodules' could not be found in the repository 'repo' at the version specified by '<Branch: main >'.", "typeKey": "GitItemNotFoundException"}),
    ));
    let (_, found) = run_git_with(hosts.config(), &acr_build(&url));
    quiet_noting(&found, &["no submodules", "answered 404"]);

    // The PAT refused by the API (401) though it listed the refs: a note only.
    let (hosts, _repo) = azure_devops(Response::new(401));
    let (_, found) = run_git_with(hosts.config(), &acr_build(&url));
    quiet_noting(
        &found,
        &[
            "its submodules were not checked",
            "answered 401 (the token was not accepted)",
        ],
    );
}

#[test]
fn the_azure_devops_sign_in_page_is_a_note_not_a_file() {
    // Served refs without the token (a public project), the API's sign-in page.
    let repo = bare_repository();
    let refs = advertise(
        repo.path().join("repo.git"),
        "/org/proj/_git/repo/info/refs",
    );
    let hosts = FakeHosts::start(&["dev.azure.com"], move |req, n| {
        if req.path.contains("/_apis/") {
            return Reply::Respond(
                Response::new(203)
                    .header("Content-Type", "text/html; charset=utf-8")
                    .body(b"<html><title>Sign In</title>[submodule \"x\"]</html>".to_vec()),
            );
        }
        refs(req, n)
    });
    let (_, found) = run_git_with(
        hosts.config(),
        &acr_build("https://dev.azure.com/org/proj/_git/repo#main"),
    );
    quiet_noting(
        &found,
        &["without credentials answered 203 (a sign-in page"],
    );
}

#[test]
fn the_binary_reads_azure_devops_submodules_with_the_secret_it_is_given() {
    let (hosts, _repo) = azure_devops(file("application/octet-stream", &ssh_modules()));
    let steps = "        env:\n          GIT_PAT: ${{ secrets.AZDO_PAT }}\n".to_string()
        + &acr_build("https://${{ secrets.AZDO_PAT }}@dev.azure.com/org/proj/_git/repo#main");
    let mut inputs = hosts.inputs();
    inputs.push(("GIT_PAT", AZDO_PAT.to_string()));
    let out = run_binary(&steps, &inputs);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (level, props) = annotation(&stdout, "CONTEXT_GIT_SUBMODULES");
    assert_eq!(level, "warning");
    assert_eq!(
        props.get("line").map(String::as_str),
        Some("10"),
        "{stdout}"
    );
    let api = requests_to(&hosts, AZDO_API);
    assert_eq!(api.len(), 1, "{api:?}");
    assert_eq!(basic_password(&api[0]).as_deref(), Some(AZDO_PAT));
    let shown = shown(&out);
    assert!(!shown.contains(AZDO_PAT), "{shown}");
}

#[test]
fn an_azure_devops_clone_url_with_the_organization_as_user_is_read_anonymously() {
    // The clone URL Azure DevOps shows (`https://<org>@dev.azure.com/<org>/…`) of a
    // public project: the user name is no token, so nothing is refused and nothing is
    // registered as a secret; a request with credentials would be refused here.
    let repo = bare_repository();
    let refs = advertise(
        repo.path().join("repo.git"),
        "/org/proj/_git/repo/info/refs",
    );
    let hosts = FakeHosts::start(&["dev.azure.com"], move |req, n| {
        if req.header("Authorization").is_some() {
            return Reply::Respond(Response::new(401));
        }
        if req.path == AZDO_API {
            return Reply::Respond(Response::json(
                404,
                &serde_json::json!({"typeKey": "GitItemNotFoundException"}),
            ));
        }
        refs(req, n)
    });
    let (_, found) = run_git_with(
        hosts.config(),
        &acr_build("https://org@dev.azure.com/org/proj/_git/repo#main"),
    );
    quiet_noting(
        &found,
        &["no submodules", "without credentials answered 404"],
    );
    assert!(
        found
            .verified
            .iter()
            .any(|v| v.contains("`main` is advertised")),
        "{}",
        all_of(&found)
    );
    assert_eq!(requests_to(&hosts, AZDO_API).len(), 1);
}

// Bitbucket Cloud: the refs on bitbucket.org, the file through
// `GET https://api.bitbucket.org/2.0/repositories/<workspace>/<repo_slug>/src/<commit or branch>/<path>`,
// which answers the raw bytes; an access token as `Authorization: Bearer`, a user name
// and app password as HTTP Basic; errors are `{"type":"error","error":{"message":…}}`,
// `No such file or directory: <path>` for a missing file, `The requested repository
// either does not exist or you do not have access. …` for a hidden repository
// (https://developer.atlassian.com/cloud/bitbucket/rest/api-group-source/,
// https://support.atlassian.com/bitbucket-cloud/docs/using-access-tokens/,
// https://github.com/composer/composer/pull/10657).

const BITBUCKET_TOKEN: &str = "ATCTT3xFfGN0BitbucketAccessToken0123456789";
const BITBUCKET_API: &str = "/2.0/repositories/ws/app/src/main/.gitmodules";

fn bitbucket_error(status: u16, message: &str) -> Response {
    Response::json(
        status,
        &serde_json::json!({"type": "error", "error": {"message": message}}),
    )
}

/// A fake bitbucket.org and api.bitbucket.org: `ws/app`'s refs (public, or for
/// `token` only, as the Basic password), and `answer` to the source API for
/// `.gitmodules` at `main` (for `token` only, as a bearer token or Basic password);
/// any other repository is hidden.
fn bitbucket(answer: Response, token: Option<&'static str>) -> (FakeHosts, tempfile::TempDir) {
    let repo = bare_repository();
    let refs = advertise(repo.path().join("repo.git"), "/ws/app.git/info/refs");
    let hosts = FakeHosts::start(&["bitbucket.org", "api.bitbucket.org"], move |req, n| {
        let bearer = req
            .header("Authorization")
            .and_then(|h| h.strip_prefix("Bearer "));
        let basic = basic_password(req);
        if req.path.starts_with("/2.0/") {
            if token.is_some() && bearer != token && basic.as_deref() != token {
                return Reply::Respond(bitbucket_error(401, "Unauthorized"));
            }
            if req.path == BITBUCKET_API {
                return Reply::Respond(answer.clone());
            }
            return Reply::Respond(bitbucket_error(
                404,
                "The requested repository either does not exist or you do not have access. If you believe this repository exists and you have access, make sure you're authenticated.",
            ));
        }
        if token.is_some() && basic.as_deref() != token {
            return Reply::Respond(
                Response::new(401).header("WWW-Authenticate", "Basic realm=\"Bitbucket.org HTTP\""),
            );
        }
        refs(req, n)
    });
    (hosts, repo)
}

#[test]
fn a_bitbucket_contexts_ssh_submodule_is_read_with_the_builds_access_token() {
    let (hosts, _repo) = bitbucket(
        file(
            "application/octet-stream",
            &submodule("vendor/dep", "git@bitbucket.org:ws/dep.git"),
        ),
        Some(BITBUCKET_TOKEN),
    );
    let url = format!("https://x-token-auth:{BITBUCKET_TOKEN}@bitbucket.org/ws/app.git#main");
    let (_, found) = run_git_with(hosts.config(), &docker_build(&url));
    let f = the_submodules_finding(&found);
    assert_eq!(f.severity, Severity::Warning);
    // As docs/checks.md shows it.
    assert_eq!(
        f.title,
        "BuildKit fetches submodules of ws/app: `vendor/dep`"
    );
    let seen = format!(
        "`.gitmodules` of ws/app at `main` (GET https://api.bitbucket.org{BITBUCKET_API} with the build's token) declares 1 submodule(s) for the git context https://bitbucket.org/ws/app.git of docker buildx build: `vendor/dep` (git@bitbucket.org:ws/dep.git, an SSH URL)"
    );
    assert!(f.message.starts_with(&seen), "{}", f.message);
    assert!(
        f.fix.contains(
            "`git config -f .gitmodules submodule.vendor/dep.url https://bitbucket.org/ws/dep.git`"
        ),
        "{}",
        f.fix
    );
    let api = requests_to(&hosts, BITBUCKET_API);
    assert_eq!(api.len(), 1, "{api:?}");
    assert_eq!(
        api[0].header("Authorization"),
        Some(format!("Bearer {BITBUCKET_TOKEN}").as_str())
    );
    assert!(!all_of(&found).contains(BITBUCKET_TOKEN));
}

#[test]
fn a_bitbucket_app_password_is_sent_as_basic_at_the_default_branch_the_listing_names() {
    const APP_PASSWORD: &str = "ATBBappPassword0123456789abcdef";
    let (hosts, _repo) = bitbucket(
        file(
            "text/plain",
            &submodule("vendor/dep", "ssh://git@bitbucket.org/ws/dep.git"),
        ),
        Some(APP_PASSWORD),
    );
    // No `#ref`: the default branch, `main` by the listing's `symref=HEAD:refs/heads/main`.
    let url = format!("https://alice:{APP_PASSWORD}@bitbucket.org/ws/app.git");
    let (_, found) = run_git_with(hosts.config(), &acr_build(&url));
    let f = the_submodules_finding(&found);
    assert_eq!(
        f.title,
        "ACR Tasks fetches submodules of ws/app: `vendor/dep`"
    );
    assert!(
        f.message.starts_with("`.gitmodules` of ws/app at its default branch (GET https://api.bitbucket.org/2.0/repositories/ws/app/src/main/.gitmodules with the build's token)"),
        "{}",
        f.message
    );
    let api = requests_to(&hosts, BITBUCKET_API);
    assert_eq!(api.len(), 1, "{api:?}");
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("alice:{APP_PASSWORD}"));
    assert_eq!(
        api[0].header("Authorization"),
        Some(format!("Basic {basic}").as_str())
    );
    assert!(!all_of(&found).contains(APP_PASSWORD));
}

#[test]
fn a_bitbucket_context_without_gitmodules_or_refused_by_the_api_stays_quiet() {
    let url = "https://bitbucket.org/ws/app.git#main";
    // No such file at that ref: a verified fact.
    let (hosts, _repo) = bitbucket(
        bitbucket_error(404, "No such file or directory: .gitmodules"),
        None,
    );
    let (_, found) = run_git_with(hosts.config(), &acr_build(url));
    quiet_noting(
        &found,
        &["no submodules", "without credentials answered 404"],
    );

    // 401 from the API while the refs are public: a note, no finding.
    let (hosts, _repo) = bitbucket(bitbucket_error(401, "Unauthorized"), None);
    let (_, found) = run_git_with(hosts.config(), &acr_build(url));
    quiet_noting(
        &found,
        &[&format!(
            "git context https://bitbucket.org/ws/app.git: its submodules were not checked: GET https://api.bitbucket.org{BITBUCKET_API} without credentials answered 401 (the API wants credentials)"
        )],
    );

    // A 404 that names the repository, not the file: not a verified absence.
    let (hosts, _repo) = bitbucket(
        bitbucket_error(
            404,
            "The requested repository either does not exist or you do not have access.",
        ),
        None,
    );
    let (_, found) = run_git_with(hosts.config(), &acr_build(url));
    quiet_noting(
        &found,
        &["answered 404 (`The requested repository either does not exist"],
    );
    assert!(!found.verified.iter().any(|v| v.contains("no submodules")));
}

#[test]
fn the_binary_never_prints_the_bitbucket_token_it_sends() {
    let (hosts, _repo) = bitbucket(
        file(
            "application/octet-stream",
            &submodule("vendor/dep", "git@bitbucket.org:ws/dep.git"),
        ),
        Some(BITBUCKET_TOKEN),
    );
    let steps = "        env:\n          BB_TOKEN: ${{ secrets.BB_TOKEN }}\n".to_string()
        + &acr_build("https://x-token-auth:${{ secrets.BB_TOKEN }}@bitbucket.org/ws/app.git#main");
    let mut inputs = hosts.inputs();
    inputs.push(("BB_TOKEN", BITBUCKET_TOKEN.to_string()));
    let out = run_binary(&steps, &inputs);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let (level, _) = annotation(&stdout, "CONTEXT_GIT_SUBMODULES");
    assert_eq!(level, "warning");
    let api = requests_to(&hosts, BITBUCKET_API);
    assert_eq!(api.len(), 1, "{api:?}");
    assert_eq!(
        api[0].header("Authorization"),
        Some(format!("Bearer {BITBUCKET_TOKEN}").as_str())
    );
    let shown = shown(&out);
    assert!(!shown.contains(BITBUCKET_TOKEN), "{shown}");
}

/// A server on git.corp.example and github.corp.example that lists `octo/lib`'s refs
/// and answers GitHub's contents API with `answer`.
fn corp_hosts(answer: Response) -> (FakeHosts, tempfile::TempDir) {
    let repo = bare_repository();
    let refs = advertise(repo.path().join("repo.git"), "/octo/lib.git/info/refs");
    let hosts = FakeHosts::start(
        &["git.corp.example", "github.corp.example"],
        move |req, n| {
            if req.path.starts_with("/api/v3/") {
                return Reply::Respond(answer.clone());
            }
            refs(req, n)
        },
    );
    (hosts, repo)
}

#[test]
fn a_git_server_of_unknown_forge_is_named_and_not_guessed() {
    let (hosts, _repo) = corp_hosts(file("text/plain", &ssh_modules()));
    let (_, found) = run_git_with(
        hosts.config(),
        &acr_build("https://git.corp.example/octo/lib.git#main"),
    );
    quiet_noting(
        &found,
        &[
            "git context https://git.corp.example/octo/lib.git: its submodules were not looked up: the forge of git.corp.example is unknown, so its REST API is not guessed",
        ],
    );
    assert!(
        hosts
            .server
            .requests()
            .iter()
            .all(|r| !r.path.starts_with("/api/"))
    );
}

#[test]
fn a_host_named_github_is_read_as_github_enterprise_server_by_its_name_only() {
    let (hosts, _repo) = corp_hosts(file("application/vnd.github.raw+json", &ssh_modules()));
    let (_, found) = run_git_with(
        hosts.config(),
        &acr_build("https://github.corp.example/octo/lib.git#main"),
    );
    let f = the_submodules_finding(&found);
    assert!(
        f.message.starts_with("`.gitmodules` of octo/lib at `main` (GET https://github.corp.example/api/v3/repos/octo/lib/contents/.gitmodules?ref=main without credentials)"),
        "{}",
        f.message
    );
    // A 404 that is not GitHub's: a note that says the forge was a guess.
    let (hosts, _repo) = corp_hosts(
        Response::new(404)
            .header("Content-Type", "text/html")
            .body(b"<html>".to_vec()),
    );
    let (_, found) = run_git_with(
        hosts.config(),
        &acr_build("https://github.corp.example/octo/lib.git#main"),
    );
    quiet_noting(
        &found,
        &[
            "answered 404",
            "(GitHub Enterprise Server by its host name only)",
        ],
    );
    assert!(!found.verified.iter().any(|v| v.contains("no submodules")));
}
