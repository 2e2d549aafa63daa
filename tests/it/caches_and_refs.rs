//! Issue 13 (P37, P30): references without a registry host or with a digest, through the
//! built binary, and the registry caches of a workflow's builds (`cache-from`/`cache-to`
//! `type=registry,ref=…`) judged like the contexts and push targets: their host, and the
//! pull and push rights of the build's credential, against the real registry.

use crate::registry::run as run_cli;
use crate::support;
use crate::workflow_precision::{run_in, workspace_with};

use serde_json::Value;
use support::fixtures::Publisher;
use support::registry::{Kind, TestRegistry, refused_addr};
use support::token::TokenServer;

const HEX: &str = "e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582";

pub(crate) fn all<'a>(report: &'a Value, code: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["code"] == code)
        .collect()
}

fn one<'a>(report: &'a Value, code: &str) -> &'a Value {
    let found = all(report, code);
    assert_eq!(found.len(), 1, "expected one {code}: {report:#}");
    found[0]
}

pub(crate) fn text(v: &Value) -> &str {
    v.as_str().unwrap_or_default()
}

/// `f` has this severity and title, and its message starts with `message_start`.
fn expect(f: &Value, severity: &str, title: &str, message_start: &str) {
    assert_eq!(f["severity"], severity, "{f:#}");
    assert_eq!(text(&f["title"]), title, "{f:#}");
    assert!(text(&f["message"]).starts_with(message_start), "{f:#}");
}

/// Docker Hub is never reached: its API host resolves to a closed local port.
fn hub_closed() -> String {
    format!("registry-1.docker.io={}", refused_addr())
}

#[test]
fn a_context_without_a_host_resolves_to_docker_hub_and_a_digest_push_target_is_refused() {
    let reg = TestRegistry::start_blocking(Kind::Plain);
    let host = reg.host();
    let docker = tempfile::tempdir().unwrap();
    std::fs::write(docker.path().join("config.json"), "{}").unwrap();
    let args = |context: &str, push: &str| -> Vec<String> {
        [
            "--registry",
            &host,
            "--context",
            context,
            "--push",
            push,
            "--resolve",
            &hub_closed(),
            "--timeout",
            "10",
        ]
        .map(String::from)
        .to_vec()
    };
    let digest_push = format!("{host}/team/app@sha256:{HEX}");
    let r = run_cli(docker.path(), &args("myapp:1", &digest_push));
    assert_eq!(r.status, 1, "{:#}", r.json);

    let f = one(&r.json, "REF_NO_REGISTRY");
    assert_eq!(f["severity"], "error");
    assert_eq!(
        text(&f["title"]),
        "`myapp:1` names no registry, so it resolves to Docker Hub"
    );
    assert!(
        text(&f["message"]).contains("docker resolves it to `docker.io/library/myapp:1`"),
        "{f:#}"
    );
    assert_eq!(text(&f["fix"]), format!("Use `{host}/myapp:1`."));
    // The build would pull it from Docker Hub's `library/` namespace, and so does the run.
    let c = &r.json["contexts"][0];
    assert_eq!(c["registry"], "docker.io");
    assert_eq!(c["repository"], "library/myapp");
    assert_eq!(c["tag"], "1");

    let f = one(&r.json, "REF_PUSH_DIGEST");
    assert_eq!(f["severity"], "error");
    assert_eq!(
        text(&f["title"]),
        format!("push target `{digest_push}` has a digest; a push needs a tag")
    );
    assert_eq!(
        text(&f["fix"]),
        format!(
            "Push to a tag, e.g. `{host}/team/app:v1` (use your version or commit SHA); the registry returns the digest after the push."
        )
    );

    // Written with the registry host and a tag: neither finding.
    let r = run_cli(
        docker.path(),
        &args(&format!("{host}/myapp:1"), &format!("{host}/team/app:v1")),
    );
    assert!(all(&r.json, "REF_NO_REGISTRY").is_empty(), "{:#}", r.json);
    assert!(all(&r.json, "REF_PUSH_DIGEST").is_empty(), "{:#}", r.json);
}

/// A job whose build (step `Build and push`, context `.`) pushes `{host}/team/app:v1`,
/// with `more` (YAML lines) among its inputs.
pub(crate) fn job(host: &str, more: &str) -> String {
    format!(
        "on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: pre
        uses: acr-preflight/acr-preflight@v0
        with:
          registry: {host}
      - name: Build and push
        uses: docker/build-push-action@v6
        with:
          context: .
          push: true
          tags: {host}/team/app:v1
{more}"
    )
}

/// [`job`] with these cache entries (YAML values of `cache-from` and `cache-to`).
fn cache_workflow(host: &str, cache_from: &str, cache_to: &str) -> String {
    job(
        host,
        &format!("          cache-from: {cache_from}\n          cache-to: {cache_to}\n"),
    )
}

#[test]
fn cache_references_without_the_registry_host_are_named_where_they_are_written() {
    let reg = TestRegistry::start_blocking(Kind::Plain);
    let host = reg.host();
    // Another loopback address, same port: a slip of the registry host.
    let other = format!("127.0.0.2:{}", reg.port());
    let workflow = cache_workflow(
        &host,
        "type=registry,ref=app-cache:main",
        &format!("type=registry,ref={other}/team/app:cache,mode=max"),
    );
    let (ws, docker) = workspace_with(&workflow, "{}");
    let resolve = hub_closed();
    let inputs = [("registry", host.as_str()), ("resolve", resolve.as_str())];
    let r = run_in(ws.path(), &docker, "build", &inputs, &[]);

    // cache-from without a host: Docker Hub; BuildKit skips a failed import, so a warning.
    let f = one(&r.report, "REF_NO_REGISTRY");
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(
        text(&f["title"]),
        "cache-from reference `app-cache:main` names no registry, so it resolves to Docker Hub"
    );
    assert!(
        text(&f["message"]).contains("`docker.io/library/app-cache:main`"),
        "{f:#}"
    );
    assert!(
        text(&f["message"]).contains("BuildKit skips a cache it cannot import"),
        "{f:#}"
    );
    assert_eq!(text(&f["fix"]), format!("Use `{host}/app-cache:main`."));
    let line = workflow
        .lines()
        .position(|l| l.contains("cache-from:"))
        .unwrap()
        + 1;
    assert_eq!(f["line"].as_u64(), Some(line as u64), "{f:#}");

    // cache-to on a slip of the registry host: an error, the export fails the build.
    let f = one(&r.report, "REF_WRONG_REGISTRY");
    assert_eq!(f["severity"], "error", "{f:#}");
    assert_eq!(
        text(&f["title"]),
        format!("`{other}/team/app:cache` is on {other}, not on {host}")
    );
    assert!(
        text(&f["message"]).starts_with(&format!(
            "Cache-to reference `{other}/team/app:cache` resolves to registry `{other}`"
        )),
        "{f:#}"
    );
    assert!(
        text(&f["message"]).contains("a failed export fails the build"),
        "{f:#}"
    );
    let roles: Vec<&str> = r.report["contexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| text(&c["role"]))
        .collect();
    assert_eq!(roles, ["push", "cache-from", "cache-to"], "{:#}", r.report);
    assert_eq!(r.status, 1);

    // The same caches on the registry: no host finding.
    let workflow = cache_workflow(
        &host,
        &format!("type=registry,ref={host}/team/app:cache"),
        &format!("type=registry,ref={host}/team/app:cache,mode=max"),
    );
    let (ws, docker) = workspace_with(&workflow, "{}");
    let r = run_in(ws.path(), &docker, "build", &inputs, &[]);
    for code in ["REF_NO_REGISTRY", "REF_WRONG_REGISTRY", "REF_INVALID"] {
        assert!(all(&r.report, code).is_empty(), "{code}: {:#}", r.report);
    }
}

/// The real registry behind the token server, with `team/app:v1` and `team/cache:old`
/// published, and a docker config holding user `ci`'s password for it.
struct TokenRig {
    ts: TokenServer,
    reg: TestRegistry,
}

impl TokenRig {
    fn new() -> TokenRig {
        let ts = TokenServer::start();
        let reg = TestRegistry::start_blocking(ts.registry_kind());
        support::block_on(async {
            let p = Publisher::new(&reg.url()).with_token_server(&ts);
            p.single_image("team/app", "v1").await;
            p.single_image("team/cache", "old").await
        });
        ts.add_user("ci", "pw-ci-cache");
        TokenRig { ts, reg }
    }

    fn docker_config(&self) -> String {
        use base64::Engine;
        let auth = base64::engine::general_purpose::STANDARD.encode("ci:pw-ci-cache");
        format!(
            r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#,
            self.reg.host()
        )
    }

    /// The line of the job's workflow that holds `needle` (1-based).
    fn workflow_line(&self, needle: &str) -> u64 {
        let workflow = cache_workflow(&self.reg.host(), "", "");
        workflow.lines().position(|l| l.contains(needle)).unwrap() as u64 + 1
    }

    fn run(&self, cache_from: &str, cache_to: &str) -> Value {
        let host = self.reg.host();
        let workflow = cache_workflow(&host, cache_from, cache_to);
        let (ws, docker) = workspace_with(&workflow, &self.docker_config());
        let inputs = [("registry", host.as_str()), ("auth-mode", "docker-config")];
        run_in(ws.path(), &docker, "build", &inputs, &[]).report
    }
}

#[test]
fn a_registry_cache_needs_pull_and_push_with_the_builds_credential_and_a_missing_tag_is_a_notice() {
    let rig = TokenRig::new();
    let host = rig.reg.host();
    rig.ts.grant("ci", "team/app", &["pull", "push"]);
    rig.ts.grant("ci", "team/cache", &["pull"]);
    let from = format!("type=registry,ref={host}/team/cache:main");
    let to = format!("type=registry,ref={host}/team/cache:feature,mode=max");
    let report = rig.run(&from, &to);

    // The export needs push on team/cache, which the credential lacks: named with its step.
    let f = one(&report, "ROLE_PUSH_MISSING");
    expect(
        f,
        "error",
        &format!("`ci` may not push `team/cache` on {host}"),
        &format!(
            "`{host}/team/cache:feature` is the registry cache of step `Build and push` (`cache-to`). The token server answered the request for `repository:team/cache:pull,push`"
        ),
    );
    let line = rig.workflow_line("cache-to:");
    assert_eq!(f["line"].as_u64(), Some(line), "{f:#}");

    // The import's tag does not exist yet: the first run, only a notice.
    expect(
        one(&report, "CONTEXT_NOT_FOUND"),
        "notice",
        &format!("cache `{host}/team/cache:main` does not exist yet: the build starts without it"),
        &format!(
            "`{host}/team/cache:main` is the registry cache of step `Build and push` (`cache-from`)."
        ),
    );
    assert_eq!(report["result"], "fail", "{report:#}");

    // With push on the cache repository and the tag in place: no finding about the caches.
    rig.ts.grant("ci", "team/cache", &["pull", "push"]);
    let report = rig.run(
        &format!("type=registry,ref={host}/team/cache:old"),
        &format!("type=registry,ref={host}/team/cache:old,mode=max"),
    );
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["severity"] != "error" && !text(&f["message"]).contains("team/cache")),
        "{report:#}"
    );
    let verified = report.to_string();
    assert!(
        verified.contains("grants push on `team/cache`"),
        "{report:#}"
    );
}

/// Runs the job on `dockerfile` with this docker config; the JSON report.
fn run_build(checked: &str, dockerfile: &str, docker_config: &str) -> Value {
    run_build_with(checked, dockerfile, docker_config, &[])
}

/// [`run_build`] with more inputs (e.g. `resolve`, `ca-file`).
pub(crate) fn run_build_with(
    checked: &str,
    dockerfile: &str,
    docker_config: &str,
    more: &[(&str, &str)],
) -> Value {
    let (ws, docker) = workspace_with(&job(checked, ""), docker_config);
    std::fs::write(ws.path().join("Dockerfile"), dockerfile).unwrap();
    let mut inputs = vec![("registry", checked), ("auth-mode", "anonymous")];
    inputs.extend_from_slice(more);
    run_in(ws.path(), &docker, "build", &inputs, &[]).report
}

#[test]
fn base_images_on_registries_the_run_does_not_check_are_looked_up_once_each() {
    let checked = TestRegistry::start_blocking(Kind::Plain);
    let other = TestRegistry::start_blocking(Kind::Plain);
    support::block_on(async {
        Publisher::new(&other.url())
            .single_image("team/base", "v1")
            .await
    });
    let (c, o) = (checked.host(), other.host());
    let report = run_build(
        &c,
        &format!("FROM {o}/team/base:v1 AS one\nFROM {o}/team/base:v9\n"),
        "{}",
    );
    let f = one(&report, "CONTEXT_NOT_FOUND");
    expect(
        f,
        "error",
        &format!("tag `v9` does not exist in {o}/team/base"),
        &format!(
            "Base image of Dockerfile:2 (`FROM {o}/team/base:v9`, step `Build and push`). HEAD /v2/team/base/manifests/v9 → HTTP 404"
        ),
    );
    assert_eq!(
        (f["file"].as_str(), f["line"].as_u64()),
        (Some("Dockerfile"), Some(2))
    );
    let text = report.to_string();
    assert!(
        text.contains(&format!(
            "base image `{o}/team/base:v1` (Dockerfile:1) is on {o}, which this run does not check: HEAD /v2/team/base/manifests/v1 → HTTP 200"
        )),
        "{report:#}"
    );
    // Only the base images' registry answered the lookups: nothing else was asked there.
    let log = other.log();
    let heads = log
        .lines()
        .filter(|l| {
            l.contains("http.request.method=HEAD")
                && l.contains("http.request.uri=/v2/team/base/manifests/")
        })
        .count();
    assert_eq!(heads, 2, "{log}");
    assert!(all(&report, "NET_CONNECT").is_empty(), "{report:#}");
}

/// A `FROM` image's registry that refuses connections: the NET_* finding the build's
/// own registry would get, at the `FROM` line, not a verified line.
#[test]
fn a_base_image_registry_that_does_not_answer_is_a_net_finding_at_its_from_line() {
    let checked = TestRegistry::start_blocking(Kind::Plain);
    let o = refused_addr().to_string();
    let report = run_build(&checked.host(), &format!("FROM {o}/team/base:v1\n"), "{}");
    let f = one(&report, "NET_CONNECT");
    expect(f, "error", &format!("cannot connect to {o}"), "");
    assert_eq!(
        (f["file"].as_str(), f["line"].as_u64()),
        (Some("Dockerfile"), Some(1)),
        "{f:#}"
    );
    assert!(
        text(&f["message"]).contains(&format!("`{o}/team/base:v1`")),
        "{f:#}"
    );
}

#[test]
fn a_base_image_refused_without_a_credential_names_the_login_and_a_credential_passes() {
    let checked = TestRegistry::start_blocking(Kind::Plain);
    let rig = TokenRig::new();
    rig.ts.grant("ci", "team/cache", &["pull"]);
    let (c, o) = (checked.host(), rig.reg.host());
    let dockerfile = format!("FROM {o}/team/cache:old\n");
    let report = run_build(&c, &dockerfile, "{}");
    // (The checked registry's own CRED_NOT_FOUND, a notice under `anonymous`, aside.)
    let about_base: Vec<&Value> = all(&report, "CRED_NOT_FOUND")
        .into_iter()
        .filter(|f| text(&f["title"]).starts_with("base image"))
        .collect();
    assert_eq!(about_base.len(), 1, "{report:#}");
    let f = about_base[0];
    expect(
        f,
        "warning",
        &format!("base image `{o}/team/cache:old` needs a login to {o}"),
        "Base image of Dockerfile:1",
    );
    assert!(
        text(&f["fix"]).contains(&format!(
            "- uses: docker/login-action@v3\n  with:\n    registry: {o}\n"
        )),
        "{f:#}"
    );
    assert_eq!(report["result"], "warn", "{report:#}");

    // With the credential the docker config holds for it: one token, one HEAD, no finding.
    rig.ts.clear_requests();
    let report = run_build(&c, &dockerfile, &rig.docker_config());
    let about: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| text(&f["message"]).contains("team/cache"))
        .collect();
    assert!(about.is_empty(), "{report:#}");
    assert_eq!(rig.ts.requests().len(), 1, "{report:#}");
    assert!(
        report
            .to_string()
            .contains("→ HTTP 200, with the docker config's"),
        "{report:#}"
    );
}
