//! Issue 13 (P38, P37, P49): Docker Hub `FROM` images looked up with one manifest `HEAD`
//! each, a Docker Hub push target in a namespace the logged-in user may not push to, and a
//! registry the run does not check (MCR) that throttles the lookup. Docker Hub is the
//! real distribution registry with token auth, reached as `registry-1.docker.io` through
//! `--resolve` over the harness TLS; its realm and service come from its challenge.

use crate::caches_and_refs::{all, run_build_with as run_build, text};
use crate::registry::{b64, run as run_cli};
use crate::support;

use serde_json::Value;
use support::fixtures::Publisher;
use support::registry::{Kind, TestRegistry};
use support::tls::TestCa;
use support::token::{ANONYMOUS, TokenServer};

const HUB: &str = "registry-1.docker.io";
/// Docker Hub's token service name (`service=` of its challenge).
const HUB_SERVICE: &str = "registry.docker.io";

/// Docker Hub stand-in: the real registry at `registry-1.docker.io` (TLS, token auth
/// with a distribution-style `GET /token` realm), holding `library/alpine:3.20`, which
/// anonymous callers may pull.
struct HubRig {
    dir: tempfile::TempDir,
    ts: TokenServer,
    ca: TestCa,
    reg: TestRegistry,
}

impl HubRig {
    fn new() -> HubRig {
        let dir = tempfile::tempdir().unwrap();
        let ts = TokenServer::start_with(HUB_SERVICE, "hub-issuer");
        let ca = TestCa::new(dir.path());
        let (cert, key) = ca.issue_server_cert(&[HUB]);
        let reg = TestRegistry::start_blocking(Kind::TokenTls {
            realm: ts.realm(),
            service: HUB_SERVICE.into(),
            issuer: ts.issuer().into(),
            bundle: ts.bundle_path().to_path_buf(),
            cert,
            key,
        });
        support::block_on(async {
            Publisher::new(&reg.url_as(HUB))
                .with_ca(ca.ca_pem_path())
                .with_resolve(HUB, reg.addr())
                .with_token_server(&ts)
                .single_image("library/alpine", "3.20")
                .await
        });
        ts.grant(ANONYMOUS, "library/alpine", &["pull"]);
        ts.clear_requests();
        HubRig { dir, ts, ca, reg }
    }

    fn resolve(&self) -> String {
        format!("{HUB}={}", self.reg.addr())
    }

    fn ca_file(&self) -> String {
        self.ca.ca_pem_path().display().to_string()
    }

    /// The `tags/list` requests the registry answered after the first `since` bytes of
    /// its log.
    fn tag_lists(&self, since: usize) -> usize {
        let log = self.reg.log();
        log.get(since..)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("msg=\"response completed") && l.contains("/tags/list"))
            .count()
    }

    /// The methods of the manifest requests the registry answered (one "response
    /// completed" line each) after the first `since` bytes of its log (what the
    /// publisher wrote before is skipped).
    fn manifest_requests(&self, since: usize) -> Vec<String> {
        let log = self.reg.log();
        log.get(since..)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("msg=\"response completed"))
            .filter(|l| l.contains("http.request.uri=/v2/") && l.contains("/manifests/"))
            .filter_map(|l| {
                let method = l.split("http.request.method=").nth(1)?.split(' ').next()?;
                Some(method.to_string())
            })
            .collect()
    }
}

#[test]
fn docker_hub_base_images_are_looked_up_with_one_head_each_and_a_missing_tag_is_named() {
    let hub = HubRig::new();
    let checked = TestRegistry::start_blocking(Kind::Plain);
    let c = checked.host();
    let (resolve, ca) = (hub.resolve(), hub.ca_file());
    let inputs = [("resolve", resolve.as_str()), ("ca-file", ca.as_str())];
    let since = hub.reg.log().len();
    let report = run_build(
        &c,
        "FROM alpine:3.20 AS base\nFROM alpine:3.99\n",
        "{}",
        &inputs,
    );
    let missing = all(&report, "CONTEXT_NOT_FOUND");
    assert_eq!(missing.len(), 1, "{report:#}");
    let f = missing[0];
    assert_eq!(f["severity"], "error", "{f:#}");
    assert_eq!(
        text(&f["title"]),
        "tag `3.99` does not exist in docker.io/library/alpine"
    );
    assert!(
        text(&f["message"]).starts_with(
            "Base image of Dockerfile:2 (`FROM alpine:3.99`, step `Build and push`). HEAD /v2/library/alpine/manifests/3.99 → HTTP 404"
        ),
        "{f:#}"
    );
    assert_eq!(
        (f["file"].as_str(), f["line"].as_u64()),
        (Some("Dockerfile"), Some(2))
    );
    assert!(
        report.to_string().contains(
            "base image `alpine:3.20` (Dockerfile:1) is on docker.io, which this run does not check: HEAD /v2/library/alpine/manifests/3.20 → HTTP 200, with no credential (anonymous)"
        ),
        "{report:#}"
    );
    // One anonymous token for the repository (realm and service from the challenge),
    // then one HEAD per image: no GET, which Docker Hub would count as a pull.
    let tokens = hub.ts.requests();
    assert_eq!(tokens.len(), 1, "{report:#}");
    assert_eq!(hub.manifest_requests(since), ["HEAD", "HEAD"]);
    // The 404 alone reads the tag list, once, with the same anonymous token: the
    // nearest tag is suggested as for a registry the run checks.
    assert_eq!(hub.tag_lists(since), 1, "{report:#}");
    assert!(
        text(&f["message"]).ends_with("→ HTTP 404. Tags (1): 3.20"),
        "{f:#}"
    );
    assert!(
        text(&f["fix"]).starts_with(
            "The image comes from `FROM alpine:3.99` at Dockerfile:2: `3.99` is newer than every tag of its shape in docker.io/library/alpine: was it pushed yet? Push it before this step, or use the newest one, `3.20`: `alpine:3.20`."
        ),
        "{f:#}"
    );
    // The anonymous pulls are still named, with the allowance read from those HEADs
    // (the real registry sends no ratelimit headers).
    let anonymous = all(&report, "REGISTRY_DOCKERHUB_ANONYMOUS");
    assert_eq!(anonymous.len(), 1, "{report:#}");
    assert!(
        text(&anonymous[0]["message"]).contains("Docker Hub did not report the allowance"),
        "{report:#}"
    );

    // Both tags present: no finding about the base images, no tag list.
    let since = hub.reg.log().len();
    let report = run_build(&c, "FROM alpine:3.20\n", "{}", &inputs);
    assert_eq!(hub.tag_lists(since), 0, "{report:#}");
    assert!(all(&report, "CONTEXT_NOT_FOUND").is_empty(), "{report:#}");
    assert!(
        all(&report, "CRED_NOT_FOUND")
            .iter()
            .all(|f| !text(&f["title"]).starts_with("base image"))
    );
}

#[test]
fn a_private_docker_hub_base_image_needs_a_login_and_the_docker_config_credential_is_used() {
    let hub = HubRig::new();
    hub.ts.add_user("alice", "hub-pw-alice-1");
    hub.ts.grant("alice", "acme/base", &["pull"]);
    support::block_on(async {
        Publisher::new(&hub.reg.url_as(HUB))
            .with_ca(hub.ca.ca_pem_path())
            .with_resolve(HUB, hub.reg.addr())
            .with_token_server(&hub.ts)
            .single_image("acme/base", "v1")
            .await
    });
    let checked = TestRegistry::start_blocking(Kind::Plain);
    let c = checked.host();
    let (resolve, ca) = (hub.resolve(), hub.ca_file());
    let inputs = [("resolve", resolve.as_str()), ("ca-file", ca.as_str())];
    let report = run_build(&c, "FROM acme/base:v1\n", "{}", &inputs);
    let about: Vec<&Value> = all(&report, "CRED_NOT_FOUND")
        .into_iter()
        .filter(|f| text(&f["title"]).starts_with("base image"))
        .collect();
    assert_eq!(about.len(), 1, "{report:#}");
    assert_eq!(
        text(&about[0]["title"]),
        "base image `acme/base:v1` needs a login to docker.io"
    );
    assert!(
        text(&about[0]["fix"]).contains(
            "- uses: docker/login-action@v3\n  with:\n    username: ${{ vars.DOCKERHUB_USERNAME }}\n    password: ${{ secrets.DOCKERHUB_TOKEN }}"
        ),
        "{report:#}"
    );

    // With the docker config's Docker Hub credential (docker's key for it): found.
    let report = run_build(&c, "FROM acme/base:v1\n", &alice_config(), &inputs);
    let text_all = report.to_string();
    assert!(
        text_all.contains("base image `acme/base:v1` (Dockerfile:1) is on docker.io, which this run does not check: HEAD /v2/acme/base/manifests/v1 → HTTP 200, with the docker config's"),
        "{report:#}"
    );
    assert!(all(&report, "REGISTRY_DOCKERHUB_ANONYMOUS").is_empty());
    assert!(!text_all.contains("hub-pw-alice-1"), "{report:#}");
}

/// A docker config whose Docker Hub entry (docker's key for it) is `alice`'s password.
fn alice_config() -> String {
    let auth = b64("alice:hub-pw-alice-1");
    format!(r#"{{"auths":{{"https://index.docker.io/v1/":{{"auth":"{auth}"}}}}}}"#)
}

/// Runs the binary with `--push <push>` against the Docker Hub rig, logged in as
/// `alice` in the docker config.
fn push_as_alice(hub: &HubRig, push: &str) -> crate::registry::Run {
    let docker = tempfile::tempdir_in(hub.dir.path()).unwrap();
    std::fs::write(docker.path().join("config.json"), alice_config()).unwrap();
    let args: Vec<String> = [
        "--push",
        push,
        "--resolve",
        &hub.resolve(),
        "--ca-file",
        &hub.ca_file(),
        "--timeout",
        "20",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    run_cli(docker.path(), &args)
}

#[test]
fn a_docker_hub_push_to_another_namespace_names_the_user_the_namespace_and_the_fixes() {
    let hub = HubRig::new();
    hub.ts.add_user("alice", "hub-pw-alice-1");
    hub.ts.grant("alice", "acme/app", &["pull"]);
    let since = hub.reg.log().len();
    let r = push_as_alice(&hub, "docker.io/acme/app:v1");
    let f = r.only("ROLE_PUSH_MISSING");
    assert_eq!(f["severity"], "error", "{f:#}");
    assert_eq!(
        text(&f["title"]),
        "`alice` may not push to the Docker Hub namespace `acme` (`acme/app`)"
    );
    let message = text(&f["message"]);
    for expected in [
        "the request for `repository:acme/app:pull,push`",
        "grants pull on `acme/app` (needed: pull,push)",
        "The repository is in the Docker Hub namespace `acme`, and the docker config's credential is the user `alice`",
    ] {
        assert!(message.contains(expected), "{expected}: {f:#}");
    }
    let fix = text(&f["fix"]);
    for expected in [
        "Push to your own namespace: `docker.io/alice/app:v1`.",
        "add `alice` to a team with Read & Write access to `acme/app`",
        "an access token of Read & Write scope",
    ] {
        assert!(fix.contains(expected), "{expected}: {f:#}");
    }
    assert!(
        !r.json.to_string().contains("hub-pw-alice-1"),
        "{:#}",
        r.json
    );
    // The token's `access` claim answered: no upload session was opened to find out.
    let log = hub.reg.log();
    let after = log.get(since..).unwrap_or_default();
    assert!(!after.contains("http.request.method=POST"), "{after}");

    // Her own namespace, where the token grants push: no finding.
    hub.ts.grant("alice", "alice/app", &["pull", "push"]);
    let r = push_as_alice(&hub, "docker.io/alice/app:v1");
    assert!(
        !r.codes().iter().any(|c| c == "ROLE_PUSH_MISSING"),
        "{:#}",
        r.json
    );
    assert!(
        r.verified("registry")
            .contains(&"docker.io: token for `alice` grants push on `alice/app`".to_string()),
        "{:#}",
        r.json
    );

    // The organization granted her write access: no finding either.
    hub.ts.grant("alice", "acme/app", &["push"]);
    let r = push_as_alice(&hub, "docker.io/acme/app:v1");
    assert!(
        !r.codes().iter().any(|c| c == "ROLE_PUSH_MISSING"),
        "{:#}",
        r.json
    );
}

#[test]
fn a_read_only_token_in_the_users_own_namespace_needs_read_and_write_scope() {
    let hub = HubRig::new();
    hub.ts.add_user("alice", "hub-pw-alice-1");
    hub.ts.grant("alice", "alice/app", &["pull"]);
    let r = push_as_alice(&hub, "docker.io/alice/app:v1");
    let f = r.only("ROLE_PUSH_MISSING");
    assert!(
        text(&f["message"]).contains("`alice` is the namespace of the logged-in user `alice` itself, so the credential lacks the write scope"),
        "{f:#}"
    );
    assert!(
        text(&f["fix"]).starts_with("Create an access token with Read & Write scope for `alice`"),
        "{f:#}"
    );
}

/// MCR as the distribution spec describes an anonymous registry: `/v2/` answers 200;
/// a throttled request is answered 429 with the `TOOMANYREQUESTS` error code and a
/// `Retry-After` (https://github.com/opencontainers/distribution-spec/blob/main/spec.md,
/// error codes). `throttle` says whether manifest requests are throttled.
struct Mcr {
    server: support::http::MockServer,
    ca: TestCa,
    _dir: tempfile::TempDir,
}

const MCR: &str = "mcr.microsoft.com";

impl Mcr {
    fn start(throttle: bool) -> Mcr {
        use support::http::{Reply, Response};
        let dir = tempfile::tempdir().unwrap();
        let ca = TestCa::new(dir.path());
        let (cert, key) = ca.issue_server_cert(&[MCR]);
        let server = support::http::MockServer::start_tls(&cert, &key, move |req, _| {
            let reply = if req.path == "/v2/" {
                Response::json(200, &serde_json::json!({}))
            } else if req.path.contains("/manifests/") && throttle {
                Response::registry_error(429, "TOOMANYREQUESTS", "too many requests")
                    .header("Retry-After", "30")
            } else if req.path == "/v2/dotnet/sdk/manifests/8.0" {
                Response::new(200)
                    .header("Content-Type", "application/vnd.oci.image.index.v1+json")
                    .header(
                        "Docker-Content-Digest",
                        "sha256:2222222222222222222222222222222222222222222222222222222222222222",
                    )
            } else {
                Response::registry_error(404, "MANIFEST_UNKNOWN", "manifest unknown")
            };
            Reply::Respond(reply)
        });
        Mcr {
            server,
            ca,
            _dir: dir,
        }
    }
}

#[test]
fn a_throttled_lookup_on_mcr_is_registry_throttled_with_retry_after_and_the_mirror_commands() {
    let checked = TestRegistry::start_blocking(Kind::Plain);
    let c = checked.host();
    let mcr = Mcr::start(true);
    let resolve = format!("{MCR}={}", mcr.server.addr());
    let ca = mcr.ca.ca_pem_path().display().to_string();
    let inputs = [("resolve", resolve.as_str()), ("ca-file", ca.as_str())];
    let dockerfile = "FROM mcr.microsoft.com/dotnet/sdk:8.0\n";
    let started = std::time::Instant::now();
    let report = run_build(&c, dockerfile, "{}", &inputs);
    // Retry-After 30 s is beyond what --timeout 10 can wait: no sleeping on it.
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
    let found = all(&report, "REGISTRY_THROTTLED");
    assert_eq!(found.len(), 1, "{report:#}");
    let f = found[0];
    assert_eq!(f["severity"], "warning", "{f:#}");
    assert_eq!(
        text(&f["title"]),
        "mcr.microsoft.com throttled the lookup of base image `mcr.microsoft.com/dotnet/sdk:8.0` (429)"
    );
    assert_eq!(
        (f["file"].as_str(), f["line"].as_u64()),
        (Some("Dockerfile"), Some(1))
    );
    let message = text(&f["message"]);
    for expected in [
        "HEAD /v2/dotnet/sdk/manifests/8.0 → HTTP 429; 1 attempt(s) within the run's deadline, all answered 429, Retry-After: 30 s.",
        "mcr.microsoft.com is not a registry this run checks",
    ] {
        assert!(message.contains(expected), "{expected}: {f:#}");
    }
    let fix = text(&f["fix"]);
    for expected in [
        "Retry the job later (the registry asked for 30 s), with backoff",
        "az acr import --name <registry> --source mcr.microsoft.com/dotnet/sdk:8.0 --image dotnet/sdk:8.0",
        "change the `FROM` line to `FROM <registry>.azurecr.io/dotnet/sdk:8.0`",
        "az acr cache create -r <registry> -n dotnet-sdk -s mcr.microsoft.com/dotnet/sdk -t dotnet/sdk",
    ] {
        assert!(fix.contains(expected), "{expected}: {f:#}");
    }
    assert!(
        !report.to_string().contains("not judged"),
        "no longer a note: {report:#}"
    );

    // MCR answers: the image is found and nothing is throttled.
    let mcr = Mcr::start(false);
    let resolve = format!("{MCR}={}", mcr.server.addr());
    let ca = mcr.ca.ca_pem_path().display().to_string();
    let inputs = [("resolve", resolve.as_str()), ("ca-file", ca.as_str())];
    let report = run_build(&c, dockerfile, "{}", &inputs);
    assert!(all(&report, "REGISTRY_THROTTLED").is_empty(), "{report:#}");
    assert!(
        report.to_string().contains(
            "base image `mcr.microsoft.com/dotnet/sdk:8.0` (Dockerfile:1) is on mcr.microsoft.com, which this run does not check: HEAD /v2/dotnet/sdk/manifests/8.0 → HTTP 200"
        ),
        "{report:#}"
    );
}
