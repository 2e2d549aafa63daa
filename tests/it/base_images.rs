//! The builds' base images (P38): the binary as the runner starts it, with a workspace
//! holding the workflow and the Dockerfile, checks every `FROM` image on the registry the
//! run is about against the real registry, and points a missing one at its `FROM` line.

use crate::support;
use crate::support::step::step_command;
use crate::workflow_e2e::annotations;

use std::collections::BTreeMap;

/// A workspace with `.github/workflows/build.yml` and `Dockerfile`.
struct Workspace {
    dir: tempfile::TempDir,
    docker: tempfile::TempDir,
}

impl Workspace {
    fn new(workflow: &str, dockerfile: &str) -> Workspace {
        let dir = tempfile::tempdir().unwrap();
        let workflows = dir.path().join(".github/workflows");
        std::fs::create_dir_all(&workflows).unwrap();
        std::fs::write(workflows.join("build.yml"), workflow).unwrap();
        std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
        for file in ["summary.md", "output"] {
            std::fs::write(dir.path().join(file), "").unwrap();
        }
        let docker = tempfile::tempdir().unwrap();
        std::fs::write(docker.path().join("config.json"), "{}").unwrap();
        Workspace { dir, docker }
    }

    /// Runs the binary as the runner would for the job `build`; (exit code, stdout,
    /// summary).
    fn run(&self, host: &str) -> (Option<i32>, String, String) {
        self.run_with(host, &[])
    }

    fn run_with(&self, host: &str, inputs: &[(&str, String)]) -> (Option<i32>, String, String) {
        let out = step_command(
            self.dir.path(),
            "org/app",
            "build.yml",
            "build",
            "__acr-preflight_acr-preflight",
        )
        .envs(inputs.iter().map(|(k, v)| (*k, v.as_str())))
        .env("GITHUB_STEP_SUMMARY", self.dir.path().join("summary.md"))
        .env("GITHUB_OUTPUT", self.dir.path().join("output"))
        .env("INPUT_REGISTRY", host)
        .env("INPUT_AUTH-MODE", "anonymous")
        .env("INPUT_DOCKER-CONFIG", self.docker.path())
        .output()
        .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let summary = std::fs::read_to_string(self.dir.path().join("summary.md")).unwrap();
        (out.status.code(), stdout, summary)
    }
}

fn workflow(host: &str, build_args: &str) -> String {
    format!(
        "name: build
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: acr-preflight/acr-preflight@v0
        with:
          registry: {host}
          auth-mode: anonymous
      - uses: docker/build-push-action@v6
        with:
          context: .
          build-args: {build_args}
          tags: {host}/team/app:v1
"
    )
}

/// [`workflow`] with `step` (YAML lines) between the preflight and the build.
fn with_step_before_build(host: &str, step: &str) -> String {
    let build = "      - uses: docker/build-push-action@v6";
    workflow(host, "X=1").replacen(build, &format!("{step}{build}"), 1)
}

/// The column (1-based) of `needle` on `line` (1-based) of `text`.
fn column_of(text: &str, line: usize, needle: &str) -> usize {
    text.lines().nth(line - 1).unwrap().find(needle).unwrap() + 1
}

/// The real registry holding `team/base:v1`.
fn registry_with_base() -> (
    support::registry::TestRegistry,
    support::fixtures::Published,
) {
    let registry = support::registry::TestRegistry::start_blocking(support::registry::Kind::Plain);
    let published = support::block_on(async {
        support::fixtures::Publisher::new(&registry.url())
            .single_image("team/base", "v1")
            .await
    });
    (registry, published)
}

/// The one REGISTRY_DOCKERHUB_ANONYMOUS annotation: its level and properties.
fn hub_finding(stdout: &str) -> (String, BTreeMap<String, String>) {
    annotations(stdout)
        .into_iter()
        .find(|(_, p)| {
            p.get("title")
                .is_some_and(|t| t.starts_with("REGISTRY_DOCKERHUB_ANONYMOUS"))
        })
        .unwrap_or_else(|| panic!("no REGISTRY_DOCKERHUB_ANONYMOUS:\n{stdout}"))
}

/// The properties of the annotations whose title starts with `code`.
pub(crate) fn base_findings(stdout: &str, code: &str) -> Vec<BTreeMap<String, String>> {
    annotations(stdout)
        .into_iter()
        .filter(|(_, p)| p.get("title").is_some_and(|t| t.starts_with(code)))
        .map(|(_, p)| p)
        .collect()
}

#[test]
fn base_images_on_the_checked_registry_are_pulled_and_a_missing_tag_points_at_its_from_line() {
    let (registry, published) = registry_with_base();
    let host = registry.host();
    // Line 3: ARG-substituted (REG's default, BASE_TAG from the build-args), present.
    // Line 4: a stage name. Line 5: a missing tag. Line 6: scratch. Line 7: Docker Hub,
    // looked up on its own (here unreachable: a closed local port).
    let dockerfile = format!(
        "ARG REG={host}\nARG BASE_TAG=v0\nFROM $REG/team/base:${{BASE_TAG}} AS build\nFROM build\nFROM {host}/team/base:v9\nFROM scratch\nFROM alpine:3.20\n"
    );
    let ws = Workspace::new(&workflow(&host, "BASE_TAG=v1"), &dockerfile);
    let closed = support::registry::refused_addr();
    let (code, stdout, summary) =
        ws.run_with(&host, &[("INPUT_RESOLVE", format!("{HUB}={closed}"))]);
    assert_eq!(code, Some(1), "{stdout}");

    let missing = base_findings(&stdout, "CONTEXT_NOT_FOUND");
    assert_eq!(missing.len(), 1, "{stdout}");
    let at = &missing[0];
    assert_eq!(at.get("file").map(String::as_str), Some("Dockerfile"));
    assert_eq!(at.get("line").map(String::as_str), Some("5"), "{stdout}");
    let col = column_of(&dockerfile, 5, &format!("{host}/team/base:v9")).to_string();
    assert_eq!(at.get("col"), Some(&col), "{stdout}");
    assert!(stdout.contains("tag `v9` does not exist"), "{stdout}");
    assert!(
        stdout.contains("Base image of Dockerfile:5"),
        "the message names the FROM line: {stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "The image comes from `FROM {host}/team/base:v9` at Dockerfile:5: `v9` is newer than every tag of its shape"
        )),
        "{stdout}"
    );
    assert!(
        base_findings(&stdout, "RUN_NOTHING_TO_CHECK").is_empty(),
        "{stdout}"
    );

    // The ARG-substituted image was found: its digest is in the summary's references.
    assert!(summary.contains(&published.digest), "{summary}");
    assert!(
        stdout.contains(&format!(
            "base image `{host}/team/base:v1` (Dockerfile:3) is on {host}"
        )),
        "{stdout}"
    );
    // Stage names and scratch are no images; Docker Hub's image is looked up on its own.
    let listed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with("base image `"))
        .collect();
    assert_eq!(listed.len(), 2, "{stdout}");
    assert!(
        stdout.contains(
            "base images on docker.io (`alpine:3.20` (Dockerfile:7)) not looked up: the registry's /v2/ ping"
        ),
        "{stdout}"
    );
    assert!(!stdout.contains("scratch"), "{stdout}");
}

#[test]
fn present_base_images_pass() {
    let (registry, published) = registry_with_base();
    let host = registry.host();
    let dockerfile = format!("FROM {host}/team/base:v1 AS build\nFROM build\n");
    let ws = Workspace::new(&workflow(&host, "X=1"), &dockerfile);
    let (_, stdout, summary) = ws.run(&host);
    for code in [
        "CONTEXT_NOT_FOUND",
        "CONTEXT_ACCESS_DENIED",
        "ROLE_PULL_MISSING",
    ] {
        assert!(base_findings(&stdout, code).is_empty(), "{stdout}");
    }
    assert!(summary.contains(&published.digest), "{summary}");
    assert!(summary.contains("| base |"), "{summary}");
}

/// Docker Hub as its documentation describes it (it is unreachable from the tests): the
/// registry's `/v2/` challenges with a Bearer realm on auth.docker.io, the realm hands out
/// `{"token": …}` anonymously, and a manifest `HEAD` with that token answers with the
/// `ratelimit-limit`, `ratelimit-remaining` and `docker-ratelimit-source` headers.
struct DockerHub {
    server: support::http::MockServer,
    ca: support::tls::TestCa,
    _dir: tempfile::TempDir,
}

const HUB: &str = "registry-1.docker.io";
const HUB_AUTH: &str = "auth.docker.io";

impl DockerHub {
    fn start() -> DockerHub {
        use support::http::{Reply, Response};
        let dir = tempfile::tempdir().unwrap();
        let ca = support::tls::TestCa::new(dir.path());
        let (cert, key) = ca.issue_server_cert(&[HUB, HUB_AUTH]);
        let server = support::http::MockServer::start_tls(&cert, &key, |req, _| {
            let host = req.host();
            let unauthorized = || {
                Response::new(401)
                    .header("Content-Type", "application/json")
                    .header(
                        "WWW-Authenticate",
                        &format!(
                            "Bearer realm=\"https://{HUB_AUTH}/token\",service=\"registry.docker.io\",scope=\"repository:library/alpine:pull\""
                        ),
                    )
                    .body(support::servers::UNAUTHORIZED_BODY)
            };
            // `ci:stale`, a password Docker Hub no longer takes.
            let stale = req.header("authorization") == Some("Basic Y2k6c3RhbGU=");
            let reply = if host.starts_with(HUB_AUTH) && req.path == "/token" && stale {
                Response::json(
                    401,
                    &serde_json::json!({"details": "incorrect username or password"}),
                )
            } else if host.starts_with(HUB_AUTH) && req.path == "/token" {
                Response::json(
                    200,
                    &serde_json::json!({"token": "hub-anon-token", "access_token": "hub-anon-token", "expires_in": 300, "issued_at": "2026-12-05T07:00:00Z"}),
                )
            } else if req.path == "/v2/" {
                unauthorized()
            } else if req.path.contains("/manifests/") {
                if req.header("authorization") == Some("Bearer hub-anon-token") {
                    Response::new(200)
                        .header("Content-Type", "application/vnd.oci.image.index.v1+json")
                        .header("Docker-Content-Digest", "sha256:1111111111111111111111111111111111111111111111111111111111111111")
                        .header("ratelimit-limit", "100;w=21600")
                        .header("ratelimit-remaining", "76;w=21600")
                        .header("docker-ratelimit-source", "203.0.113.9")
                } else {
                    unauthorized()
                }
            } else {
                Response::registry_error(
                    404,
                    "NAME_UNKNOWN",
                    "repository name not known to registry",
                )
            };
            Reply::Respond(reply)
        });
        DockerHub {
            server,
            ca,
            _dir: dir,
        }
    }

    /// The inputs that send Docker Hub's names to this server and trust its certificate.
    fn inputs(&self) -> Vec<(&'static str, String)> {
        let addr = self.server.addr();
        vec![
            ("INPUT_RESOLVE", format!("{HUB}={addr}\n{HUB_AUTH}={addr}")),
            ("INPUT_CA-FILE", self.ca.ca_pem_path().display().to_string()),
        ]
    }
}

const HUB_DOCKERFILE: &str = "FROM alpine:3.20 AS tools\nFROM tools\n";

#[test]
fn anonymous_docker_hub_base_images_are_a_warning_with_the_allowance_left() {
    let (registry, _) = registry_with_base();
    let host = registry.host();
    let hub = DockerHub::start();
    let dockerfile = format!("{HUB_DOCKERFILE}FROM {host}/team/base:v1\n");
    let ws = Workspace::new(&workflow(&host, "X=1"), &dockerfile);
    let (code, stdout, _) = ws.run_with(&host, &hub.inputs());
    assert_eq!(code, Some(0), "a warning does not fail the run: {stdout}");
    let (level, at) = hub_finding(&stdout);
    assert_eq!(level, "warning", "{stdout}");
    assert_eq!(at.get("file").map(String::as_str), Some("Dockerfile"));
    assert_eq!(at.get("line").map(String::as_str), Some("1"));
    assert_eq!(at.get("col").map(String::as_str), Some("6"));
    for expected in [
        "`alpine:3.20` (Dockerfile:1)",
        "Docker Hub reports 76 of 100 pulls left per 6 h for 203.0.113.9.",
        "docker/login-action",
        "az acr import --name <registry> --source docker.io/library/alpine:3.20 --image alpine:3.20",
    ] {
        assert!(stdout.contains(expected), "{expected}: {stdout}");
    }
    // Masked for the runner before anything else, and never printed.
    assert!(stdout.contains("::add-mask::hub-anon-token"), "{stdout}");
    let shown = stdout
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .any(|l| l.contains("hub-anon-token"));
    assert!(!shown, "{stdout}");
    // One anonymous token, then one HEAD: a manifest GET would count as a pull.
    let requests = hub.server.requests();
    let token = requests
        .iter()
        .find(|r| r.path == "/token")
        .expect("a token request");
    assert_eq!(token.header("authorization"), None, "anonymous");
    assert_eq!(
        token.query_first("scope").as_deref(),
        Some("repository:library/alpine:pull")
    );
    assert_eq!(
        token.query_first("service").as_deref(),
        Some("registry.docker.io")
    );
    let manifests: Vec<&str> = requests
        .iter()
        .filter(|r| r.path.contains("/manifests/"))
        .map(|r| r.method.as_str())
        .collect();
    assert_eq!(manifests, ["HEAD"]);
    // The lookup of `alpine:3.20` and the allowance share their round trips: ping, token,
    // HEAD, and no second HEAD of the allowance's own.
    assert_eq!(requests.len(), 3, "{requests:?}");
    assert!(
        stdout.contains("base image `alpine:3.20` (Dockerfile:1) is on docker.io, which this run does not check: HEAD /v2/library/alpine/manifests/3.20 → HTTP 200, with no credential (anonymous)"),
        "{stdout}"
    );
}

#[test]
fn docker_hub_login_or_credential_means_no_warning_and_an_unreachable_hub_only_a_notice() {
    let (registry, _) = registry_with_base();
    let host = registry.host();
    let hub = DockerHub::start();
    // The job logs in to Docker Hub (docker/login-action without `registry:`).
    let logged_in = with_step_before_build(
        &host,
        "      - uses: docker/login-action@v3\n        with:\n          username: ci\n          password: ${{ secrets.HUB }}\n",
    );
    let ws = Workspace::new(&logged_in, HUB_DOCKERFILE);
    let (_, stdout, _) = ws.run_with(&host, &hub.inputs());
    assert!(!stdout.contains("REGISTRY_DOCKERHUB_ANONYMOUS"), "{stdout}");
    assert!(
        stdout.contains("pulled with the Docker Hub login of `docker/login-action`"),
        "{stdout}"
    );

    // The docker config holds a Docker Hub credential.
    let ws = Workspace::new(&workflow(&host, "X=1"), HUB_DOCKERFILE);
    std::fs::write(
        ws.docker.path().join("config.json"),
        r#"{"auths":{"https://index.docker.io/v1/":{"auth":"Y2k6c2VjcmV0"}}}"#,
    )
    .unwrap();
    let before = hub.server.requests().len();
    let (_, stdout, _) = ws.run_with(&host, &hub.inputs());
    assert!(!stdout.contains("REGISTRY_DOCKERHUB_ANONYMOUS"), "{stdout}");
    // The base image is looked up with that credential: ping, token, one HEAD.
    let asked = hub.server.requests();
    let asked = &asked[before..];
    assert_eq!(asked.len(), 3, "{stdout}");
    let token = asked.iter().find(|r| r.path == "/token").expect("a token");
    assert_eq!(
        token.header("authorization"),
        Some(format!("Basic {}", "Y2k6c2VjcmV0").as_str())
    );
    assert!(
        stdout.contains("base image `alpine:3.20` (Dockerfile:1) is on docker.io, which this run does not check: HEAD /v2/library/alpine/manifests/3.20 → HTTP 200, with the docker config's"),
        "{stdout}"
    );

    // Docker Hub cannot be reached: a notice, and no network finding.
    let ws = Workspace::new(&workflow(&host, "X=1"), HUB_DOCKERFILE);
    let refused = support::registry::refused_addr();
    let inputs = [
        (
            "INPUT_RESOLVE",
            format!("{HUB}={refused}\n{HUB_AUTH}={refused}"),
        ),
        ("INPUT_TIMEOUT", "10".to_string()),
    ];
    let started = std::time::Instant::now();
    let (_, stdout, _) = ws.run_with(&host, &inputs);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{stdout}"
    );
    let notice = hub_finding(&stdout);
    assert_eq!(notice.0, "notice", "{stdout}");
    assert!(
        stdout.contains("The remaining allowance could not be read"),
        "{stdout}"
    );
    for net in ["NET_CONNECT", "NET_DNS", "NET_TIMEOUT"] {
        assert!(!stdout.contains(net), "{stdout}");
    }

    // Docker Hub accepts the connection and never answers: a quarter of --timeout 4 at
    // most is spent on it, and the run still finishes with the notice.
    let silent = support::http::MockServer::start(|_, _| support::http::Reply::Hang);
    let inputs = [
        (
            "INPUT_RESOLVE",
            format!("{HUB}={0}\n{HUB_AUTH}={0}", silent.addr()),
        ),
        ("INPUT_TIMEOUT", "4".to_string()),
    ];
    let started = std::time::Instant::now();
    let (_, stdout, _) = ws.run_with(&host, &inputs);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}: {stdout}",
        started.elapsed()
    );
    let (level, _) = hub_finding(&stdout);
    assert_eq!(level, "notice", "{stdout}");
    assert!(
        stdout.contains("Docker Hub did not answer within"),
        "{stdout}"
    );
    assert!(!stdout.contains("RUN_TIMEOUT"), "{stdout}");
}

#[test]
fn the_buildx_builder_image_from_docker_hub_is_named_at_its_step() {
    let (registry, _) = registry_with_base();
    let host = registry.host();
    let hub = DockerHub::start();
    let with_buildx =
        with_step_before_build(&host, "      - uses: docker/setup-buildx-action@v3\n");
    let line = with_buildx
        .lines()
        .position(|l| l.contains("setup-buildx-action"))
        .unwrap()
        + 1;
    let ws = Workspace::new(&with_buildx, &format!("FROM {host}/team/base:v1\n"));
    let (_, stdout, _) = ws.run_with(&host, &hub.inputs());
    let (level, at) = hub_finding(&stdout);
    assert_eq!(level, "warning", "{stdout}");
    assert_eq!(
        at.get("file").map(String::as_str),
        Some(".github/workflows/build.yml")
    );
    assert_eq!(at.get("line"), Some(&line.to_string()), "{stdout}");
    for expected in [
        "the buildx builder image `moby/buildkit:buildx-stable-1`",
        "driver-opts: image=<registry>.azurecr.io/moby/buildkit:buildx-stable-1",
        "az acr import --name <registry> --source docker.io/moby/buildkit:buildx-stable-1 --image moby/buildkit:buildx-stable-1",
    ] {
        assert!(stdout.contains(expected), "{expected}: {stdout}");
    }
    let heads: Vec<String> = hub
        .server
        .requests()
        .iter()
        .filter(|r| r.method == "HEAD")
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(heads, ["/v2/moby/buildkit/manifests/buildx-stable-1"]);
}

/// The Docker Hub login step, for [`with_step_before_build`].
const HUB_LOGIN: &str = "      - name: Log in to Docker Hub\n        uses: docker/login-action@v3\n        with:\n          username: ci\n          password: ${{ secrets.HUB }}\n";
const BUILDX: &str = "      - name: Set up Buildx\n        uses: docker/setup-buildx-action@v3\n";

#[test]
fn a_docker_hub_login_after_setup_buildx_leaves_the_builder_image_pull_anonymous() {
    let (registry, _) = registry_with_base();
    let host = registry.host();
    let hub = DockerHub::start();
    // setup-buildx boots its builder (moby/buildkit) before the login; the build's
    // `FROM alpine` runs after it.
    let late = with_step_before_build(&host, &format!("{BUILDX}{HUB_LOGIN}"));
    let line =
        |text: &str, needle: &str| text.lines().position(|l| l.contains(needle)).unwrap() + 1;
    let ws = Workspace::new(&late, HUB_DOCKERFILE);
    let (code, stdout, _) = ws.run_with(&host, &hub.inputs());
    assert_eq!(code, Some(0), "{stdout}");
    let (level, at) = hub_finding(&stdout);
    assert_eq!(level, "warning", "{stdout}");
    assert_eq!(
        at.get("line"),
        Some(&line(&late, "setup-buildx-action").to_string()),
        "{stdout}"
    );
    assert_eq!(
        at.get("title").map(String::as_str),
        Some("REGISTRY_DOCKERHUB_ANONYMOUS: 1 image(s) are pulled from Docker Hub anonymously")
    );
    let login_line = line(&late, "name: Log in to Docker Hub");
    let buildx_line = line(&late, "name: Set up Buildx");
    for expected in [
        "The job pulls the buildx builder image `moby/buildkit:buildx-stable-1` (.github/workflows/build.yml:",
        &format!(
            "and the job's Docker Hub login, `docker/login-action` (.github/workflows/build.yml:{}) in step `Log in to Docker Hub`, runs only after step `Set up Buildx`, whose builder pulls its BuildKit image when it boots, so the pulls are anonymous",
            login_line + 1
        ),
        &format!(
            "Move step `Log in to Docker Hub` (line {login_line}) above step `Set up Buildx` (line {buildx_line}), so that the pull uses the login."
        ),
        // The FROM image is pulled after the login.
        "Docker Hub images (`alpine:3.20` (Dockerfile:1)) are pulled with the Docker Hub login of `docker/login-action`",
    ] {
        assert!(stdout.contains(expected), "{expected}: {stdout}");
    }
    assert!(
        !stdout.contains("`alpine:3.20` (Dockerfile:1) from Docker Hub"),
        "{stdout}"
    );

    // The login before setup-buildx covers both pulls: nothing is reported.
    let ordered = with_step_before_build(&host, &format!("{HUB_LOGIN}{BUILDX}"));
    let ws = Workspace::new(&ordered, HUB_DOCKERFILE);
    let (_, stdout, _) = ws.run_with(&host, &hub.inputs());
    assert!(!stdout.contains("REGISTRY_DOCKERHUB_ANONYMOUS"), "{stdout}");
    assert!(
        stdout.contains("the buildx builder image `moby/buildkit:buildx-stable-1`"),
        "{stdout}"
    );
}

/// The workflow check run as the step `__acr-preflight_acr-preflight` of job `build` in
/// `.github/workflows/b.yml` holding `workflow`.
fn check_b_yml(
    workflow: &str,
) -> (
    acr_preflight::findings::CheckReport,
    acr_preflight::workflow::Discovery,
) {
    let mut config = acr_preflight::config::Config::for_tests("/nonexistent".into());
    config.env.github_actions = true;
    config.env.workflow_ref = Some("o/r/.github/workflows/b.yml@refs/heads/main".into());
    config.env.job = Some("build".into());
    config.env.action = Some("__acr-preflight_acr-preflight".into());
    let mut files = BTreeMap::new();
    files.insert(".github/workflows/b.yml".to_string(), workflow.to_string());
    acr_preflight::checks::workflow::check(&config, &files, &std::collections::HashMap::new())
}

/// The workflow check's findings of `code` for a job `build` whose steps are `steps`.
fn workflow_findings(
    steps: &str,
    code: acr_preflight::findings::Code,
) -> Vec<acr_preflight::findings::Finding> {
    let workflow = format!(
        "name: build\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n{steps}"
    );
    check_b_yml(&workflow)
        .0
        .findings
        .into_iter()
        .filter(|f| f.code == code)
        .collect()
}

#[test]
fn a_docker_hub_login_after_the_default_builder_is_a_notice_about_the_anonymous_boot_pull() {
    use acr_preflight::findings::{Code, Severity};
    let build = "      - uses: acr-preflight/acr-preflight@v0\n      - uses: docker/build-push-action@v6\n        with:\n          push: true\n          tags: myreg.azurecr.io/team/app:1\n";
    let late = workflow_findings(
        &format!("{BUILDX}{HUB_LOGIN}{build}"),
        Code::WORKFLOW_BUILDER_BEFORE_LOGIN,
    );
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0].severity, Severity::Notice);
    assert!(
        late[0].message.contains("buildx's default BuildKit image `moby/buildkit:buildx-stable-1` on Docker Hub") &&
        late[0].message.contains("that pull is anonymous (the image is public, so it works) and counts against the anonymous pull limit"),
        "{}",
        late[0].message
    );
    // A builder booted from an image on Docker Hub that is not the default one needs the
    // login: an error.
    let own =
        BUILDX.to_string() + "        with:\n          driver-opts: image=corp/buildkit:v0.13\n";
    let own = workflow_findings(
        &format!("{own}{HUB_LOGIN}{build}"),
        Code::WORKFLOW_BUILDER_BEFORE_LOGIN,
    );
    assert_eq!(own.len(), 1, "{own:?}");
    assert_eq!(own[0].severity, Severity::Error);
    // Login first: quiet.
    let ordered = workflow_findings(
        &format!("{HUB_LOGIN}{BUILDX}{build}"),
        Code::WORKFLOW_BUILDER_BEFORE_LOGIN,
    );
    assert!(ordered.is_empty(), "{ordered:?}");
}

#[test]
fn later_docker_container_builders_with_the_default_image_name_it() {
    let workflow = "name: build
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: docker/setup-buildx-action@v3
      - uses: acr-preflight/acr-preflight@v0
      - uses: docker/setup-buildx-action@v3
        with:
          driver: docker
      - uses: docker/setup-buildx-action@v3
        with:
          driver: docker-container
          driver-opts: |
            network=host
            image=myreg.azurecr.io/mirror/buildkit:v0.13
      - uses: docker/setup-buildx-action@v3
";
    let (_, discovery) = check_b_yml(workflow);
    let mut files = BTreeMap::new();
    files.insert(".github/workflows/b.yml".to_string(), workflow.to_string());
    let builders: Vec<(String, Option<u32>)> = discovery
        .base_images(&files)
        .builders
        .into_iter()
        .map(|b| (b.image, b.location.line))
        .collect();
    // The step before the preflight pulled already; `driver: docker` pulls nothing; a
    // builder given its own image boots from that (here on the registry, not Docker
    // Hub); the later docker-container builder with the default image is named.
    assert_eq!(
        builders,
        [("moby/buildkit:buildx-stable-1".to_string(), Some(18))]
    );
}

/// [`workflow`] whose build asks for `platforms`.
fn workflow_for_platforms(host: &str, platforms: &str) -> String {
    workflow(host, "X=1").replacen(
        "          context: .\n",
        &format!("          context: .\n          platforms: {platforms}\n"),
        1,
    )
}

/// The real registry holding the index `team/base:v1` (linux/amd64, linux/arm64) and the
/// single linux/amd64 image `team/tools:v1`.
fn registry_with_platforms() -> support::registry::TestRegistry {
    let registry = support::registry::TestRegistry::start_blocking(support::registry::Kind::Plain);
    support::block_on(async {
        let publisher = support::fixtures::Publisher::new(&registry.url());
        publisher.oci_index("team/base", "v1").await;
        publisher.single_image("team/tools", "v1").await;
    });
    registry
}

/// Issue 13: a `FROM` image is pulled for each platform the build asks for, like a named
/// context. `--platform=$BUILDPLATFORM` is the builder's own platform: not compared.
#[test]
fn a_base_image_without_a_requested_platform_is_reported_at_its_from_line() {
    let registry = registry_with_platforms();
    let host = registry.host();
    let dockerfile = format!(
        "FROM --platform=$BUILDPLATFORM {host}/team/tools:v1 AS tools\nFROM {host}/team/base:v1\n"
    );
    let ws = Workspace::new(
        &workflow_for_platforms(&host, "linux/amd64,linux/s390x"),
        &dockerfile,
    );
    let (status, stdout, _) = ws.run(&host);
    let found = base_findings(&stdout, "CONTEXT_PLATFORM_MISSING");
    assert_eq!(found.len(), 1, "{stdout}");
    let f = &found[0];
    assert_eq!(f["file"], "Dockerfile", "{stdout}");
    assert_eq!(f["line"], "2", "{stdout}");
    assert!(
        f["title"].ends_with(&format!(
            "base image `{host}/team/base:v1` has no image for linux/s390x"
        )),
        "{stdout}"
    );
    let line = stdout
        .lines()
        .find(|l| l.contains("CONTEXT_PLATFORM_MISSING"))
        .unwrap();
    assert!(
        line.contains("and pulls the base image")
            && line.contains("as an image index for linux/amd64, linux/arm64 only"),
        "{line}"
    );
    assert_eq!(status, Some(1), "{stdout}");

    // Every requested platform is there: nothing to say.
    let ws = Workspace::new(
        &workflow_for_platforms(&host, "linux/arm64,linux/amd64"),
        &dockerfile,
    );
    let (status, stdout, _) = ws.run(&host);
    assert!(
        base_findings(&stdout, "CONTEXT_PLATFORM_MISSING").is_empty(),
        "{stdout}"
    );
    assert_eq!(status, Some(0), "{stdout}");
}

/// A single-image base is compared through its config; a literal `--platform` is the one
/// platform it is pulled for, whatever the build asks.
#[test]
fn a_single_image_base_is_compared_through_its_config_and_a_fixed_platform_wins() {
    let registry = registry_with_platforms();
    let host = registry.host();
    let ws = Workspace::new(
        &workflow_for_platforms(&host, "linux/arm64"),
        &format!("FROM {host}/team/tools:v1\n"),
    );
    let (_, stdout, _) = ws.run(&host);
    let found = base_findings(&stdout, "CONTEXT_PLATFORM_MISSING");
    assert_eq!(found.len(), 1, "{stdout}");
    assert!(
        stdout.contains("as a single image, whose config names linux/amd64 only"),
        "{stdout}"
    );
    let ws = Workspace::new(
        &workflow_for_platforms(&host, "linux/arm64"),
        &format!("FROM --platform=linux/amd64 {host}/team/tools:v1\n"),
    );
    let (status, stdout, summary) = ws.run(&host);
    assert!(
        base_findings(&stdout, "CONTEXT_PLATFORM_MISSING").is_empty(),
        "{stdout}"
    );
    assert!(
        summary.contains("has an image for each platform step")
            && summary.contains("(linux/amd64)"),
        "{summary}"
    );
    assert_eq!(status, Some(0), "{stdout}");
}

/// P48: a Docker Hub credential in the docker config that Docker Hub refuses fails the
/// builder's boot pull of its BuildKit image (`unauthorized: incorrect username or
/// password`), even with no Docker Hub `FROM`: it is CRED_REJECTED at the builder step.
#[test]
fn a_stale_docker_hub_credential_is_rejected_at_the_builder_that_boots_with_it() {
    let (registry, _) = registry_with_base();
    let host = registry.host();
    let hub = DockerHub::start();
    let steps = with_step_before_build(&host, BUILDX);
    let ws = Workspace::new(&steps, &format!("FROM {host}/team/base:v1\n"));
    let config = |password: &str| {
        let auth = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("ci:{password}"),
        );
        std::fs::write(
            ws.docker.path().join("config.json"),
            format!(r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}}}}}}"#),
        )
        .unwrap();
    };
    config("stale");
    let (_, stdout, _) = ws.run_with(&host, &hub.inputs());
    let rejected = stdout
        .lines()
        .find(|l| l.contains("title=CRED_REJECTED"))
        .unwrap_or_else(|| panic!("no CRED_REJECTED: {stdout}"));
    let buildx_line = steps
        .lines()
        .position(|l| l.contains("setup-buildx-action"))
        .unwrap()
        + 1;
    assert!(
        rejected.contains(&format!("line={buildx_line},")),
        "{rejected}"
    );
    assert!(
        rejected.contains("BuildKit image `moby/buildkit:buildx-stable-1` that the builder of step `Set up Buildx`"),
        "{rejected}"
    );
    assert!(
        rejected.contains("The login must run before step `Set up Buildx`"),
        "{rejected}"
    );
    // The credential appears only in the runner's mask commands.
    assert!(
        stdout
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .all(|l| !l.contains("Y2k6c3RhbGU") && !l.contains("ci:stale")),
        "{stdout}"
    );
    // A credential Docker Hub takes: the boot pull is verified, nothing is reported.
    config("fresh");
    let (_, stdout, _) = ws.run_with(&host, &hub.inputs());
    assert!(!stdout.contains("CRED_REJECTED"), "{stdout}");
    assert!(!stdout.contains("REGISTRY_DOCKERHUB_ANONYMOUS"), "{stdout}");
}
