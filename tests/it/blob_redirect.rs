//! Config blobs behind a storage redirect: ACR answers `GET /v2/<repo>/blobs/<digest>`
//! with a `307` to a pre-signed URL on `<registry>.<region>.data.azurecr.io` (dedicated
//! data endpoints) or `*.blob.core.windows.net`
//! (https://learn.microsoft.com/azure/container-registry/container-registry-endpoint-reference).
//! The real distribution registry with filesystem storage never redirects, so the
//! registry here is scripted (Basic auth, one single-platform image) and the storage
//! host is a second TLS server; both are reached through `--resolve` under ACR names,
//! as a runner reaches them.

use crate::support;
use crate::workflow_precision::{Run, findings, run_in, workspace_with};
use serde_json::{Value, json};
use support::http::{MockServer, Reply, Response};
use support::tls::TestCa;

const REG: &str = "myreg.azurecr.io";
const DATA: &str = "myreg.westeurope.data.azurecr.io";
/// The same registry under a name that is not ACR's: no blob probe is made there.
const PLAIN: &str = "registry.example.test";
/// The SAS signature of the redirect: a credential, never to be printed.
const SIG: &str = "c2FzLXNpZ25hdHVyZS1mb3ItdGhlLWNvbmZpZy1ibG9i";
const CONFIG: &str =
    r#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn manifest() -> String {
    json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": support::sha256::digest(CONFIG.as_bytes()),
            "size": CONFIG.len()
        },
        "layers": []
    })
    .to_string()
}

/// Where the registry's blob redirect points: https (ACR), or plain http.
#[derive(Clone, Copy)]
enum Scheme {
    Https,
    Http,
    /// https, and `v1` is an OCI index of an attestation and the linux/amd64 image.
    HttpsIndex,
}

/// An ACR-like registry that takes `ci`/`pw` (Basic) and redirects its config blob to
/// DATA with a SAS query.
fn registry(cert: &std::path::Path, key: &std::path::Path, scheme: Scheme) -> MockServer {
    let config_digest = support::sha256::digest(CONFIG.as_bytes());
    let body = manifest();
    let image_digest = support::sha256::digest(body.as_bytes());
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": format!("sha256:{}", "0".repeat(64)), "size": 1,
             "platform": {"os": "unknown", "architecture": "unknown"}},
            {"mediaType": OCI_MANIFEST, "digest": image_digest, "size": body.len(),
             "platform": {"os": "linux", "architecture": "amd64"}}
        ]
    })
    .to_string();
    let image_path = format!("/v2/team/base/manifests/{image_digest}");
    let basic = {
        use base64::Engine;
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("ci:pw")
        )
    };
    MockServer::start_tls(cert, key, move |req, _| {
        if req.header("authorization") != Some(basic.as_str()) {
            return Reply::Respond(
                Response::registry_error(401, "UNAUTHORIZED", "authentication required")
                    .header("WWW-Authenticate", "Basic realm=\"myreg\""),
            );
        }
        let blob = format!("/v2/team/base/blobs/{config_digest}");
        Reply::Respond(match req.path.as_str() {
            "/v2/" => Response::json(200, &json!({})),
            "/v2/team/base/manifests/v1" if matches!(scheme, Scheme::HttpsIndex) => {
                Response::new(200)
                    .header("Content-Type", "application/vnd.oci.image.index.v1+json")
                    .header(
                        "Docker-Content-Digest",
                        &support::sha256::digest(index.as_bytes()),
                    )
                    .body(index.clone())
            }
            p if p == "/v2/team/base/manifests/v1" || p == image_path => Response::new(200)
                .header("Content-Type", OCI_MANIFEST)
                .header(
                    "Docker-Content-Digest",
                    &support::sha256::digest(body.as_bytes()),
                )
                .body(body.clone()),
            p if p == blob => {
                let scheme = match scheme {
                    Scheme::Https | Scheme::HttpsIndex => "https",
                    Scheme::Http => "http",
                };
                // The shape of ACR's answer: a 307 to a SAS URL on the data endpoint.
                Response::new(307).header(
                    "Location",
                    &format!(
                        "{scheme}://{DATA}/a1b2c3-{}/docker/registry/v2/blobs/sha256/{}/data?sv=2021-08-06&se=2026-12-05T13%3A00%3A00Z&sr=b&sp=r&sig={SIG}",
                        "0",
                        &config_digest[7..]
                    ),
                )
            }
            _ => Response::registry_error(404, "NAME_UNKNOWN", "repository name not known"),
        })
    })
}

/// The storage host: serves the config to a request that carries the SAS.
fn storage(cert: &std::path::Path, key: &std::path::Path) -> MockServer {
    MockServer::start_tls(cert, key, |req, _| {
        Reply::Respond(if req.query_first("sig").as_deref() == Some(SIG) {
            Response::new(200)
                .header("Content-Type", "application/octet-stream")
                .body(CONFIG)
        } else {
            Response::new(403).body("AuthenticationFailed")
        })
    })
}

/// Runs the binary with `REG` and `DATA` resolved to these addresses, trusting `ca`.
fn run(platforms: &str, ca: &TestCa, reg: &MockServer, data: std::net::SocketAddr) -> Run {
    run_with(platforms, ca, reg, data, &[])
}

fn run_with(
    platforms: &str,
    ca: &TestCa,
    reg: &MockServer,
    data: std::net::SocketAddr,
    env: &[(&str, &str)],
) -> Run {
    run_as(REG, platforms, ca, reg, data, env)
}

/// [`run_with`] with the registry under the name `host`.
fn run_as(
    host: &str,
    platforms: &str,
    ca: &TestCa,
    reg: &MockServer,
    data: std::net::SocketAddr,
    env: &[(&str, &str)],
) -> Run {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode("ci:pw");
    let config = format!(r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#);
    let (workspace, docker) = workspace_with(
        &crate::workflow_names::context_workflow(host, platforms),
        &config,
    );
    let resolve = format!("{host}={}\n{DATA}={data}", reg.addr());
    let ca_file = ca.ca_pem_path().display().to_string();
    run_in(
        workspace.path(),
        &docker,
        "build",
        &[
            ("auth-mode", "docker-config"),
            ("resolve", &resolve),
            ("ca-file", &ca_file),
        ],
        env,
    )
}

fn find<'a>(r: &'a Run, code: &str) -> Option<&'a Value> {
    findings(&r.report).into_iter().find(|f| f["code"] == code)
}

fn verified(r: &Run) -> String {
    r.report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["check"] == "registry")
        .map(|c| c["verified"].to_string())
        .collect()
}

struct Rig {
    _dir: tempfile::TempDir,
    ca: TestCa,
    cert: std::path::PathBuf,
    key: std::path::PathBuf,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::named(dir.path(), "blob-ca", "acr-preflight blob redirect CA");
    let (cert, key) = ca.issue_server_cert(&[REG, DATA, PLAIN]);
    Rig {
        _dir: dir,
        ca,
        cert,
        key,
    }
}

#[test]
fn a_config_blob_behind_acrs_redirect_is_read_from_storage_without_credentials() {
    let rig = rig();
    let reg = registry(&rig.cert, &rig.key, Scheme::Https);
    let data = storage(&rig.cert, &rig.key);
    let started = std::time::Instant::now();
    let r = run("linux/amd64,linux/arm64", &rig.ca, &reg, data.addr());
    let elapsed = started.elapsed();
    let f = find(&r, "CONTEXT_PLATFORM_MISSING")
        .unwrap_or_else(|| panic!("no CONTEXT_PLATFORM_MISSING:\n{}", r.stdout));
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("as a single image, whose config names linux/amd64 only"),
        "{message}"
    );
    assert_eq!(r.status, 1, "{}", r.stdout);
    // One request to the storage host, with the whole signed URL and no credential.
    let got = data.requests();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].header("authorization").is_none(), "{got:#?}");
    assert_eq!(got[0].query_first("sig").as_deref(), Some(SIG));
    assert!(got[0].path.ends_with("/data"), "{got:#?}");
    // The SAS is a secret: never printed, whole or as its signature.
    assert!(!r.stdout.contains(SIG), "{}", r.stdout);
    assert!(!r.stdout.contains("sig="), "{}", r.stdout);
    assert!(
        verified(&r).contains(&format!(
            "came through the registry's redirect to https://{DATA}"
        )),
        "{}",
        r.stdout
    );
    // Without platforms the same blob is still downloaded once (the registry's blob
    // probe, first byte only): reading the platform costs no request more.
    let started = std::time::Instant::now();
    let without = run("", &rig.ca, &reg, data.addr());
    let baseline = started.elapsed();
    let requests = |r: &Run| r.report["stats"]["http_requests"].as_u64().unwrap();
    assert_eq!(requests(&r), requests(&without), "{}", r.stdout);
    eprintln!(
        "redirected config read: {} ms and {} requests, without platforms {} ms and {} requests",
        elapsed.as_millis(),
        requests(&r),
        baseline.as_millis(),
        requests(&without)
    );

    // The same image for the platform it has: no finding, and the exit code says so.
    let same = run("linux/amd64", &rig.ca, &reg, data.addr());
    assert!(
        find(&same, "CONTEXT_PLATFORM_MISSING").is_none(),
        "{}",
        same.stdout
    );
    assert!(
        find(&same, "NET_DATA_ENDPOINT").is_none(),
        "{}",
        same.stdout
    );
    assert_eq!(same.status, 0, "{}", same.stdout);
}

/// The data endpoint's address has nothing listening (a firewall that refuses it).
#[test]
fn an_unreachable_data_endpoint_is_reported_with_the_hosts_to_allow() {
    let rig = rig();
    let reg = registry(&rig.cert, &rig.key, Scheme::Https);
    let closed = support::http::bind_loopback();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let started = std::time::Instant::now();
    let r = run("linux/arm64", &rig.ca, &reg, addr);
    let elapsed = started.elapsed();
    let f = find(&r, "NET_DATA_ENDPOINT")
        .unwrap_or_else(|| panic!("no NET_DATA_ENDPOINT:\n{}", r.stdout));
    assert_eq!(f["severity"], "error");
    assert_eq!(
        f["title"],
        format!("{REG} answers, but {DATA}, where it sends blob downloads, cannot be reached")
    );
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "→ HTTP 307: a redirect to https://{DATA}/a1b2c3-0/docker/registry/v2/blobs/sha256/"
        )),
        "{message}"
    );
    assert!(message.contains("could not connect"), "{message}");
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!("to {DATA} in the runner's firewall")),
        "{fix}"
    );
    assert!(fix.contains("az acr show-endpoints --name myreg"), "{fix}");
    assert!(!r.stdout.contains(SIG), "{}", r.stdout);
    assert!(!r.stdout.contains("sig="), "{}", r.stdout);
    // The config was never read: the platform is not compared.
    assert!(
        find(&r, "CONTEXT_PLATFORM_MISSING").is_none(),
        "{}",
        r.stdout
    );
    assert_eq!(r.status, 1, "{}", r.stdout);
    eprintln!("unreachable data endpoint: {} ms", elapsed.as_millis());
    // docs/checks.md shows this run's text output.
    let text = run_with(
        "linux/arm64",
        &rig.ca,
        &reg,
        addr,
        &[("INPUT_FORMAT", "text")],
    );
    let block: String = text
        .stdout
        .split("\n\n")
        .find(|b| b.starts_with("error[NET_DATA_ENDPOINT]"))
        .unwrap_or_else(|| panic!("{}", text.stdout))
        .to_string();
    assert_eq!(
        format!("{block}\n"),
        crate::workflow_context::doc_example(acr_preflight::findings::Code::NET_DATA_ENDPOINT),
        "{}",
        text.stdout
    );
}

/// An https registry that redirects to plain http: not followed, no finding, a fact.
#[test]
fn a_redirect_from_https_to_plain_http_is_not_followed() {
    let rig = rig();
    let reg = registry(&rig.cert, &rig.key, Scheme::Http);
    let plain = MockServer::start(|_, _| Reply::Respond(Response::new(200).body(CONFIG)));
    let r = run("linux/arm64", &rig.ca, &reg, plain.addr());
    assert_eq!(plain.hits(), 0, "the http URL was asked");
    assert!(find(&r, "NET_DATA_ENDPOINT").is_none(), "{}", r.stdout);
    assert!(
        find(&r, "CONTEXT_PLATFORM_MISSING").is_none(),
        "{}",
        r.stdout
    );
    let facts = verified(&r);
    assert!(
        facts.contains(&format!("a redirect to http://{DATA}/"))
            && facts.contains("not followed (it is plain http"),
        "{facts}"
    );
    assert!(!r.stdout.contains(SIG), "{}", r.stdout);
    assert_eq!(r.status, 0, "{}", r.stdout);
}

/// A storage host that takes the request and never answers: the finding names the phase,
/// within the run's deadline.
#[test]
fn a_silent_data_endpoint_is_reported_within_the_deadline() {
    let rig = rig();
    let reg = registry(&rig.cert, &rig.key, Scheme::Https);
    let silent = MockServer::start_tls(&rig.cert, &rig.key, |_, _| Reply::Hang);
    let started = std::time::Instant::now();
    let r = run_with(
        "linux/arm64",
        &rig.ca,
        &reg,
        silent.addr(),
        &[("INPUT_TIMEOUT", "4")],
    );
    let elapsed = started.elapsed();
    let f = find(&r, "NET_DATA_ENDPOINT")
        .unwrap_or_else(|| panic!("no NET_DATA_ENDPOINT:\n{}", r.stdout));
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("stalled in phase `response-headers`"),
        "{message}"
    );
    assert!(find(&r, "RUN_TIMEOUT").is_none(), "{}", r.stdout);
    assert!(!r.stdout.contains(SIG), "{}", r.stdout);
    assert_eq!(silent.requests().len(), 1);
    assert!(
        elapsed < std::time::Duration::from_secs(4 + 3),
        "{elapsed:?}"
    );
}

/// An ordinary pull (no platforms asked): one blob of the ACR registry is still
/// downloaded, its first byte only, through the redirect and without credentials; an
/// unreachable data endpoint is NET_DATA_ENDPOINT, a reachable one a verified fact.
#[test]
fn every_pull_from_acr_probes_one_blob_download() {
    let rig = rig();
    let reg = registry(&rig.cert, &rig.key, Scheme::Https);
    let data = storage(&rig.cert, &rig.key);
    let started = std::time::Instant::now();
    let r = run("", &rig.ca, &reg, data.addr());
    let elapsed = started.elapsed();
    assert!(find(&r, "NET_DATA_ENDPOINT").is_none(), "{}", r.stdout);
    assert_eq!(r.status, 0, "{}", r.stdout);
    let got = data.requests();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].header("range"), Some("bytes=0-0"), "{got:#?}");
    assert!(got[0].header("authorization").is_none(), "{got:#?}");
    let facts = verified(&r);
    assert!(
        facts.contains("blob downloads work: GET /v2/team/base/blobs/sha256:")
            && facts.contains(&format!(", Range: bytes=0-0 → HTTP 307 (the config of `docker-image://{REG}/team/base:v1`), a redirect to https://{DATA}/")),
        "{facts}"
    );
    // The registry's manifest GET replaced the HEAD; the blob GET and its hop are the
    // cost, measured against the same registry under a name that is not ACR's.
    let started_plain = std::time::Instant::now();
    let plain = run_as(PLAIN, "", &rig.ca, &reg, data.addr(), &[]);
    let plain_elapsed = started_plain.elapsed();
    assert_eq!(data.requests().len(), 1, "a non-ACR registry was probed");
    let requests = |r: &Run| r.report["stats"]["http_requests"].as_u64().unwrap();
    assert_eq!(requests(&r), requests(&plain) + 2, "{}", r.stdout);
    eprintln!(
        "blob probe: {} ms and {} requests; without it {} ms and {} requests",
        elapsed.as_millis(),
        requests(&r),
        plain_elapsed.as_millis(),
        requests(&plain)
    );

    // The data endpoint refused: the same pull fails on its layers.
    let closed = support::http::bind_loopback();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let r = run("", &rig.ca, &reg, addr);
    let f = find(&r, "NET_DATA_ENDPOINT")
        .unwrap_or_else(|| panic!("no NET_DATA_ENDPOINT:\n{}", r.stdout));
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("Range: bytes=0-0 → HTTP 307: a redirect to"),
        "{message}"
    );
    assert!(message.contains("could not connect"), "{message}");
    assert!(!r.stdout.contains(SIG), "{}", r.stdout);
    assert_eq!(r.status, 1, "{}", r.stdout);
}

/// Behind an index the probe reads the linux/amd64 image's manifest (not the
/// attestation listed first), then its config: one request more.
#[test]
fn an_index_is_probed_through_its_linux_amd64_image() {
    let rig = rig();
    let reg = registry(&rig.cert, &rig.key, Scheme::HttpsIndex);
    let data = storage(&rig.cert, &rig.key);
    let r = run("", &rig.ca, &reg, data.addr());
    assert!(find(&r, "NET_DATA_ENDPOINT").is_none(), "{}", r.stdout);
    let got = data.requests();
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].header("range"), Some("bytes=0-0"), "{got:#?}");
    let asked: Vec<String> = reg.requests().iter().map(|q| q.path.clone()).collect();
    assert!(
        !asked.iter().any(|p| p.ends_with(&"0".repeat(64))),
        "the attestation was read: {asked:?}"
    );
    assert!(verified(&r).contains("blob downloads work"), "{}", r.stdout);
    let plain = run_as(PLAIN, "", &rig.ca, &reg, data.addr(), &[]);
    let requests = |r: &Run| r.report["stats"]["http_requests"].as_u64().unwrap();
    // The index GET replaced HEAD + GET; the image manifest, the blob and its hop added.
    assert_eq!(requests(&r), requests(&plain) + 2, "{}", r.stdout);
}
