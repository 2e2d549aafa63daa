//! The registry check end to end: the built binary against the real distribution
//! registry (plain, TLS, token auth with an ES256 token server) and misbehaving servers.

use crate::support;

use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use support::fixtures::{Published, Publisher};
use support::registry::{TestRegistry, refused_addr};
use support::tls::TestCa;
use support::token::TokenServer;

const BIN: &str = env!("CARGO_BIN_EXE_acr-preflight");
/// The name tests reach the TLS registry by, through --resolve (as a private endpoint would).
const HOST: &str = "registry.test";

/// A TLS registry with token auth, reached as `registry.test`.
struct Rig {
    dir: tempfile::TempDir,
    ts: TokenServer,
    ca: TestCa,
    reg: TestRegistry,
}

impl Rig {
    fn new() -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let ts = TokenServer::start_with(HOST, "rig-issuer");
        let ca = TestCa::new(dir.path());
        let (cert, key) = ca.issue_server_cert(&[HOST, "myreg.azurecr.io"]);
        let reg = TestRegistry::start_blocking(ts.registry_kind_tls(&cert, &key));
        Rig { dir, ts, ca, reg }
    }

    fn publisher(&self) -> Publisher {
        Publisher::new(&self.reg.url_as(HOST))
            .with_ca(self.ca.ca_pem_path())
            .with_resolve(HOST, self.reg.addr())
            .with_token_server(&self.ts)
    }

    fn resolve(&self) -> String {
        format!("{HOST}={}", self.reg.addr())
    }

    /// A docker config dir holding `config` (JSON).
    fn docker_config(&self, config: &str) -> PathBuf {
        let n = self.dir.path().read_dir().map(|d| d.count()).unwrap_or(0);
        let d = self.dir.path().join(format!("docker-{n}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("config.json"), config).unwrap();
        d
    }

    fn basic_config(&self, user: &str, password: &str) -> PathBuf {
        let auth = b64(&format!("{user}:{password}"));
        self.docker_config(&format!(r#"{{"auths":{{"{HOST}":{{"auth":"{auth}"}}}}}}"#))
    }

    /// Runs the binary against the rig with these references.
    fn run(&self, docker: &Path, refs: &[(&str, &str)], extra: &[&str]) -> Run {
        let mut args: Vec<String> = vec![
            "--registry".into(),
            HOST.into(),
            "--resolve".into(),
            self.resolve(),
            "--ca-file".into(),
            self.ca.ca_pem_path().display().to_string(),
        ];
        for (flag, r) in refs {
            args.push(flag.to_string());
            args.push(r.to_string());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        run(docker, &args)
    }
}

pub(crate) fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// One run of the binary with `--format json` (push_proof.rs uses it too).
pub(crate) struct Run {
    pub(crate) status: i32,
    pub(crate) json: Value,
    pub(crate) took: Duration,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn codes(&self) -> Vec<String> {
        self.findings()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect()
    }

    pub(crate) fn findings(&self) -> Vec<Value> {
        self.json["findings"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn only(&self, code: &str) -> Value {
        let found: Vec<Value> = self
            .findings()
            .into_iter()
            .filter(|f| f["code"] == code)
            .collect();
        assert_eq!(found.len(), 1, "expected one {code}, got {:#}", self.json);
        found[0].clone()
    }

    pub(crate) fn requests(&self) -> u64 {
        self.json["stats"]["http_requests"].as_u64().unwrap()
    }

    pub(crate) fn verified(&self, check: &str) -> Vec<String> {
        self.json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == check)
            .map(|c| {
                c["verified"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Runs the binary with the docker config in `docker` (also its HOME).
pub(crate) fn run(docker: &Path, args: &[String]) -> Run {
    let started = Instant::now();
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", docker)
        .args(args)
        .args([
            "--docker-config",
            docker.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    Run {
        status: out.status.code().unwrap_or(-1),
        json,
        took,
        stderr,
    }
}

fn publish(rig: &Rig, f: impl AsyncFnOnce(Publisher) -> Published) -> Published {
    support::block_on(f(rig.publisher()))
}

#[test]
fn a_pullable_context_passes_with_its_digest_in_three_requests() {
    let rig = Rig::new();
    rig.ts.add_user("ci", "pw-ci-1");
    rig.ts.grant("ci", "team/ctx", &["pull"]);
    let ctx = publish(&rig, async |p| p.titled_artifact("team/ctx", "v1").await);
    let docker = rig.basic_config("ci", "pw-ci-1");
    rig.ts.clear_requests();
    let r = rig.run(
        &docker,
        &[("--context", "oci://registry.test/team/ctx:v1")],
        &[],
    );
    assert_eq!(r.status, 0, "{:#}\n{}", r.json, r.stderr);
    assert_eq!(r.json["result"], "pass");
    assert_eq!(r.json["contexts"][0]["digest"], ctx.digest.as_str());
    assert_eq!(
        r.json["contexts"][0]["media_type"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    // One ping, one token for the repository, one manifest request.
    assert_eq!(r.requests(), 3, "{:#}", r.json);
    let token_requests = rig.ts.requests();
    assert_eq!(token_requests.len(), 1);
    assert_eq!(token_requests[0].scopes, ["repository:team/ctx:pull"]);
    assert_eq!(token_requests[0].account.as_deref(), Some("ci"));
    let verified = r.verified("registry").join("\n");
    assert!(verified.contains(&ctx.digest), "{verified}");
    assert!(verified.contains("grants pull on `team/ctx`"), "{verified}");
}

#[test]
fn ten_contexts_on_one_registry_share_the_ping_and_the_token() {
    let rig = Rig::new();
    rig.ts.add_user("ci", "pw-ci-1");
    rig.ts.grant("ci", "*", &["pull"]);
    let mut refs = Vec::new();
    support::block_on(async {
        let p = rig.publisher();
        for repo in 0..5 {
            for tag in ["v1", "v2"] {
                p.single_image(&format!("team/ctx{repo}"), tag).await;
                refs.push(format!("docker-image://registry.test/team/ctx{repo}:{tag}"));
            }
        }
    });
    let docker = rig.basic_config("ci", "pw-ci-1");
    rig.ts.clear_requests();
    let refs: Vec<(&str, &str)> = refs.iter().map(|r| ("--context", r.as_str())).collect();
    let r = rig.run(&docker, &refs, &[]);
    assert_eq!(r.status, 0, "{:#}", r.json);
    assert_eq!(r.requests(), 12, "1 ping + 1 token + 10 HEAD: {:#}", r.json);
    let token_requests = rig.ts.requests();
    assert_eq!(
        token_requests.len(),
        1,
        "one token for all five repositories"
    );
    assert_eq!(token_requests[0].scopes.len(), 5);
    assert!(
        r.json["contexts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["digest"].is_string())
    );
}

#[test]
fn a_missing_tag_lists_the_tags_and_suggests_the_nearest() {
    let rig = Rig::new();
    rig.ts.add_user("ci", "pw-ci-1");
    rig.ts.grant("ci", "team/ctx", &["pull"]);
    support::block_on(async {
        let p = rig.publisher();
        p.titled_artifact("team/ctx", "v1.0").await;
        p.titled_artifact("team/ctx", "v2.0").await;
    });
    let docker = rig.basic_config("ci", "pw-ci-1");
    let r = rig.run(
        &docker,
        &[("--context", "oci://registry.test/team/ctx:v1.1")],
        &[],
    );
    assert_eq!(r.status, 1);
    let f = r.only("CONTEXT_NOT_FOUND");
    assert_eq!(
        f["title"],
        "tag `v1.1` does not exist in registry.test/team/ctx"
    );
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("404 MANIFEST_UNKNOWN"), "{message}");
    assert!(message.contains("Tags (2): v1.0, v2.0"), "{message}");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .starts_with("Did you mean `v1.0`? Use `oci://registry.test/team/ctx:v1.0`"),
        "{}",
        f["fix"]
    );
}

#[test]
fn a_missing_repository_is_named_with_the_catalog_suggestion() {
    let rig = Rig::new();
    rig.ts.add_user("ci", "pw-ci-1");
    rig.ts.grant("ci", "*", &["pull"]);
    rig.ts.grant_resource("ci", "registry", "catalog", &["*"]);
    publish(&rig, async |p| p.single_image("team/context", "v1").await);
    let docker = rig.basic_config("ci", "pw-ci-1");
    let r = rig.run(
        &docker,
        &[("--context", "docker-image://registry.test/team/contxt:v1")],
        &[],
    );
    let f = r.only("CONTEXT_NOT_FOUND");
    assert_eq!(
        f["title"],
        "repository `team/contxt` does not exist on registry.test"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("Did you mean repository `team/context`?"),
        "{}",
        f["fix"]
    );
}

#[test]
fn a_token_without_pull_is_a_missing_role_not_a_missing_tag() {
    let rig = Rig::new();
    rig.ts.add_user("ci", "pw-ci-1");
    publish(&rig, async |p| p.single_image("team/ctx", "v1").await);
    let docker = rig.basic_config("ci", "pw-ci-1");
    let r = rig.run(
        &docker,
        &[("--context", "docker-image://registry.test/team/ctx:v1")],
        &[],
    );
    assert_eq!(r.status, 1);
    // The harness's realm (http://127.0.0.1:PORT) is another host than registry.test:
    // that is said in a notice of its own.
    let codes: Vec<String> = r
        .codes()
        .into_iter()
        .filter(|c| c != "REGISTRY_REALM_ELSEWHERE")
        .collect();
    assert_eq!(codes, ["ROLE_PULL_MISSING"], "{:#}", r.json);
    let f = r.only("ROLE_PULL_MISSING");
    assert_eq!(f["title"], "`ci` may not pull `team/ctx` on registry.test");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("grants no actions on `team/ctx` (needed: pull)"),
        "{}",
        f["message"]
    );
    // The manifest is not asked for: the missing right already explains the failure.
    assert_eq!(r.requests(), 2);
}

#[test]
fn a_push_target_without_push_right_is_reported() {
    let rig = Rig::new();
    rig.ts.add_user("ci", "pw-ci-1");
    rig.ts.grant("ci", "team/app", &["pull"]);
    let docker = rig.basic_config("ci", "pw-ci-1");
    let r = rig.run(&docker, &[("--push", "registry.test/team/app:v2")], &[]);
    assert_eq!(r.status, 1);
    let f = r.only("ROLE_PUSH_MISSING");
    assert_eq!(f["title"], "`ci` may not push `team/app` on registry.test");
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("repository:team/app:pull,push")
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("grants pull on `team/app` (needed: pull,push)"),
        "{}",
        f["message"]
    );
    assert_eq!(
        rig.ts.requests().last().unwrap().scopes,
        ["repository:team/app:pull,push"]
    );
}

#[test]
fn a_wrong_password_is_rejected_with_the_registry_text_and_its_source() {
    let rig = Rig::new();
    rig.ts.add_user("ci", "right-password");
    rig.ts.grant("ci", "team/ctx", &["pull"]);
    let docker = rig.basic_config("ci", "wrong-password-planted");
    let r = rig.run(
        &docker,
        &[("--context", "oci://registry.test/team/ctx:v1")],
        &[],
    );
    assert_eq!(r.status, 1);
    let f = r.only("CRED_REJECTED");
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("HTTP 401 UNAUTHORIZED"), "{message}");
    assert!(
        message.contains(r#"auths["registry.test"] in "#),
        "{message}"
    );
    assert!(!r.json.to_string().contains("wrong-password-planted"));
}

#[test]
fn an_expired_refresh_token_is_expired_and_rejected() {
    let rig = Rig::new();
    rig.ts.add_user("ci", "pw");
    rig.ts.grant("ci", "team/ctx", &["pull"]);
    let expired = rig.ts.issue_refresh_token_expiring("ci", -600);
    let docker = rig.docker_config(&format!(
        r#"{{"auths":{{"{HOST}":{{"auth":"{}","identitytoken":"{expired}"}}}}}}"#,
        b64("00000000-0000-0000-0000-000000000000:")
    ));
    let r = rig.run(
        &docker,
        &[("--context", "oci://registry.test/team/ctx:v1")],
        &[],
    );
    assert_eq!(r.status, 1);
    assert!(
        r.codes().contains(&"CRED_EXPIRED".to_string()),
        "{:#}",
        r.json
    );
    let f = r.only("CRED_REJECTED");
    assert!(
        f["message"].as_str().unwrap().contains("invalid_grant"),
        "{}",
        f["message"]
    );
    assert!(f["fix"].as_str().unwrap().contains("log in again"));
    assert_eq!(
        rig.ts.requests().last().unwrap().grant_type.as_deref(),
        Some("refresh_token")
    );
    assert!(!r.json.to_string().contains(&expired));
}

#[test]
fn a_valid_refresh_token_goes_through_the_oauth2_post() {
    let rig = Rig::new();
    rig.ts.add_user("ci", "pw");
    rig.ts.grant("ci", "team/ctx", &["pull"]);
    let ctx = publish(&rig, async |p| p.oci_index("team/ctx", "multi").await);
    let token = rig.ts.issue_refresh_token("ci");
    let docker = rig.docker_config(&format!(
        r#"{{"auths":{{"{HOST}":{{"identitytoken":"{token}"}}}}}}"#
    ));
    let r = rig.run(
        &docker,
        &[("--context", "docker-image://registry.test/team/ctx:multi")],
        &[],
    );
    assert_eq!(r.status, 0, "{:#}", r.json);
    let last = rig.ts.requests().last().cloned().unwrap();
    assert_eq!(
        (last.method.as_str(), last.grant_type.as_deref()),
        ("POST", Some("refresh_token"))
    );
    let verified = r.verified("registry").join("\n");
    assert!(
        verified.contains(&format!("{} (OCI index", ctx.digest)),
        "{verified}"
    );
    assert!(
        verified.contains("platforms linux/amd64, linux/arm64"),
        "{verified}"
    );
}

#[test]
fn an_oci_context_without_titled_layers_is_not_an_artifact() {
    let rig = Rig::new();
    rig.ts.add_user("ci", "pw");
    rig.ts.grant("ci", "team/ctx", &["pull"]);
    publish(&rig, async |p| p.untitled_image("team/ctx", "img").await);
    publish(&rig, async |p| {
        p.docker_v2_image("team/ctx", "docker").await
    });
    let docker = rig.basic_config("ci", "pw");
    let r = rig.run(
        &docker,
        &[
            ("--context", "oci://registry.test/team/ctx:img"),
            ("--context", "docker-image://registry.test/team/ctx:docker"),
        ],
        &[],
    );
    assert_eq!(r.status, 0, "a warning does not fail: {:#}", r.json);
    let f = r.only("CONTEXT_NOT_AN_ARTIFACT");
    assert_eq!(f["severity"], "warning");
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("oras push registry.test/team/ctx:img")
    );
    assert_eq!(
        r.json["contexts"][1]["media_type"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
}

#[test]
fn a_stopped_registry_is_a_connection_failure_with_the_address() {
    let rig = Rig::new();
    let docker = rig.basic_config("ci", "pw");
    let dead: SocketAddr = refused_addr();
    let r = run(
        &docker,
        &[
            "--registry".into(),
            HOST.into(),
            "--resolve".into(),
            format!("{HOST}={dead}"),
            "--context".into(),
            "oci://registry.test/team/ctx:v1".into(),
        ],
    );
    assert_eq!(r.status, 1);
    let f = r.only("NET_CONNECT");
    assert_eq!(f["title"], "cannot connect to registry.test");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "registry.test resolves to {dead} (from --resolve)"
        )),
        "{message}"
    );
    assert!(message.to_lowercase().contains("refused"), "{message}");
}

#[test]
fn a_server_that_never_answers_ends_inside_the_timeout() {
    let silent = support::servers::silent();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let r = run(
        dir.path(),
        &[
            "--registry".into(),
            HOST.into(),
            "--resolve".into(),
            format!("{HOST}={}", silent.addr()),
            "--context".into(),
            "oci://registry.test/team/ctx:v1".into(),
            "--timeout".into(),
            "3".into(),
        ],
    );
    assert_eq!(r.status, 1);
    assert!(r.took < Duration::from_secs(8), "took {:?}", r.took);
    let codes = r.codes();
    assert!(
        codes.contains(&"NET_TIMEOUT".to_string()) || codes.contains(&"RUN_TIMEOUT".to_string()),
        "{codes:?}"
    );
}

#[test]
fn an_acr_style_firewall_403_is_a_network_rule_not_a_role() {
    let fw = support::servers::firewall_403();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    let host = fw.host();
    let r = run(
        dir.path(),
        &[
            "--registry".into(),
            host.clone(),
            "--context".into(),
            format!("{host}/team/ctx:v1"),
            "--auth-mode".into(),
            "anonymous".into(),
        ],
    );
    assert_eq!(r.status, 1);
    let f = r.only("NET_FORBIDDEN");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("HTTP 403 DENIED: client with IP '"),
        "{message}"
    );
    assert!(message.contains("is not allowed access"), "{message}");
}

#[test]
fn throttling_is_retried_then_reported() {
    let rig = Rig::new();
    // Plain open registry behind a throttling front: two 429s, then the real registry.
    let plain = TestRegistry::start_blocking(support::registry::Kind::Plain);
    let ctx = support::block_on(async {
        Publisher::new(&plain.url())
            .single_image("team/ctx", "v1")
            .await
    });
    let front = support::servers::throttling_retry_after(
        1,
        Some((2, support::servers::Upstream::Proxy(plain.addr()))),
    );
    let host = front.host();
    let docker = rig.docker_config("{}");
    let r = run(
        &docker,
        &[
            "--registry".into(),
            host.clone(),
            "--context".into(),
            format!("docker-image://{host}/team/ctx:v1"),
            "--auth-mode".into(),
            "anonymous".into(),
        ],
    );
    assert_eq!(r.status, 0, "{:#}", r.json);
    let f = r.only("REGISTRY_THROTTLED");
    assert_eq!(f["severity"], "warning");
    assert!(
        f["message"].as_str().unwrap().contains("Retry-After: 1s"),
        "{}",
        f["message"]
    );
    assert_eq!(r.json["contexts"][0]["digest"], ctx.digest.as_str());

    // Always throttled: an error, and the run still ends well inside the deadline.
    let always = support::servers::throttling_retry_after(1, None);
    let host = always.host();
    let r = run(
        &docker,
        &[
            "--registry".into(),
            host.clone(),
            "--context".into(),
            format!("docker-image://{host}/team/ctx:v1"),
            "--auth-mode".into(),
            "anonymous".into(),
            "--timeout".into(),
            "20".into(),
        ],
    );
    assert_eq!(r.status, 1);
    assert_eq!(r.only("REGISTRY_THROTTLED")["severity"], "error");
}

#[test]
fn a_certificate_from_an_unknown_ca_is_a_tls_failure_until_the_ca_is_given() {
    let rig = Rig::new();
    rig.ts.add_user("ci", "pw");
    rig.ts.grant("ci", "team/ctx", &["pull"]);
    publish(&rig, async |p| p.single_image("team/ctx", "v1").await);
    let docker = rig.basic_config("ci", "pw");
    let without_ca = run(
        &docker,
        &[
            "--registry".into(),
            HOST.into(),
            "--resolve".into(),
            rig.resolve(),
            "--context".into(),
            "docker-image://registry.test/team/ctx:v1".into(),
        ],
    );
    assert_eq!(without_ca.status, 1);
    let f = without_ca.only("NET_TLS");
    assert!(
        f["message"].as_str().unwrap().contains("UnknownIssuer"),
        "{}",
        f["message"]
    );
    assert!(f["fix"].as_str().unwrap().contains("--ca-file"));
    let with_ca = rig.run(
        &docker,
        &[("--context", "docker-image://registry.test/team/ctx:v1")],
        &[],
    );
    assert_eq!(with_ca.status, 0, "{:#}", with_ca.json);
}

#[test]
fn the_registry_alone_is_reached_and_its_credential_tried() {
    let rig = Rig::new();
    rig.ts.add_user("ci", "pw-ci-1");
    let good = rig.basic_config("ci", "pw-ci-1");
    let r = rig.run(&good, &[], &[]);
    assert_eq!(r.status, 0, "{:#}", r.json);
    assert!(
        r.verified("registry")
            .join("\n")
            .contains("the token endpoint accepted `ci`"),
        "{:#}",
        r.json
    );
    let bad = rig.basic_config("ci", "wrong");
    let r = rig.run(&bad, &[], &[]);
    assert_eq!(r.status, 1);
    let f = r.only("CRED_REJECTED");
    assert!(
        f["message"].as_str().unwrap().contains("HTTP 401"),
        "{}",
        f["message"]
    );
}

#[test]
fn a_mutable_tag_resolved_in_the_run_gets_its_real_digest_in_the_fix() {
    let rig = Rig::new();
    rig.ts.add_user("ci", "pw-ci-pin");
    rig.ts.grant("ci", "team/base", &["pull"]);
    rig.ts.grant("ci", "team/gone", &["pull"]);
    let base = publish(&rig, async |p| p.single_image("team/base", "latest").await);
    let docker = rig.basic_config("ci", "pw-ci-pin");
    let r = rig.run(
        &docker,
        &[
            // No tag: the build pulls `latest`, which exists.
            ("--context", "docker-image://registry.test/team/base"),
            // `latest` that was never pushed: no digest to give.
            ("--context", "docker-image://registry.test/team/gone:latest"),
        ],
        &[],
    );
    let mutable: Vec<Value> = r
        .findings()
        .into_iter()
        .filter(|f| f["code"] == "REF_MUTABLE_TAG")
        .collect();
    assert_eq!(mutable.len(), 2, "{:#}", r.json);
    let fix_of = |reference: &str| {
        mutable
            .iter()
            .find(|f| f["title"].as_str().unwrap().contains(reference))
            .unwrap_or_else(|| panic!("no REF_MUTABLE_TAG for {reference}: {:#}", r.json))["fix"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let pinned = fix_of("team/base`");
    assert!(
        pinned.contains(&format!(
            "`docker-image://registry.test/team/base:latest@{}`",
            base.digest
        )),
        "{pinned}"
    );
    assert!(!pinned.contains("<digest>"), "{pinned}");
    // The digest in the fix is the one the registry check reported for the context.
    assert_eq!(r.json["contexts"][0]["digest"], base.digest.as_str());
    let unknown = fix_of("team/gone:latest`");
    assert!(
        unknown.contains("`docker-image://registry.test/team/gone:latest@sha256:<digest>`"),
        "{unknown}"
    );
    assert!(
        r.codes().contains(&"CONTEXT_NOT_FOUND".to_string()),
        "{:#}",
        r.json
    );
}
