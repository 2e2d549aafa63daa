//! Fault injection: hostile registries, token endpoints, Entra, ARM and GitHub OIDC
//! endpoints on 127.0.0.1 (tests/it/support/hostile.rs), against the built binary with a
//! short `--timeout` and `--format json`.
//!
//! Every probe asserts three things:
//! - the run ends in the documented finding (docs/checks.md), naming the host;
//! - it ends within `--timeout` plus a small margin (wall time measured here);
//! - its memory stays bounded: the child's peak RSS (`VmHWM` of /proc/PID/status, its
//!   own high-water mark, read until the process exits) stays under [`RSS_LIMIT_KIB`]
//!   even when a server sends 100 MB. (rusage from `wait4` is no use here: a child
//!   spawned with vfork records the test process's own peak at exec.)
//!
//! Each probe prints one line `probe | finding | wall | peak RSS` to stderr
//! (`cargo test --test fault_injection -- --nocapture` shows the table).

use crate::support;

use serde_json::Value;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};
use support::azure::{App, AzureFakes, Cloud, GitHubClaims};
use support::hostile::{Act, HostileServer, Silence, SilentServer};
use support::http::{Request, Response};
use support::tls::TestCa;

const BIN: &str = env!("CARGO_BIN_EXE_acr-preflight");
/// `--timeout` of every probe, in seconds.
const TIMEOUT: u64 = 5;
/// How far past `--timeout` a run may end (process start, rendering, a loaded machine).
const MARGIN: Duration = Duration::from_secs(3);
/// A run that has not ended by then is killed and the probe fails.
const HARD_LIMIT: Duration = Duration::from_secs(TIMEOUT + 25);
/// Peak RSS allowed for one run, in KiB (64 MiB), while servers send up to 100 MB.
const RSS_LIMIT_KIB: u64 = 64 * 1024;
/// The size of every oversized body.
const HUGE: u64 = 100 * 1024 * 1024;
/// The host name the hostile registry answers as (resolved with `--resolve`).
const HOST: &str = "hostile.test";

const TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";
const OBJECT_ID: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const SUB: &str = "00000000-1111-2222-3333-444444444444";
const SECRET: &str = "planted-client-secret-value-xyz";

struct Probe {
    name: String,
    json: Value,
    stdout: String,
    stderr: String,
    wall: Duration,
    peak_rss_kib: u64,
}

impl Probe {
    fn findings(&self) -> Vec<&Value> {
        self.json["findings"]
            .as_array()
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }

    fn codes(&self) -> Vec<String> {
        self.findings()
            .iter()
            .filter_map(|f| f["code"].as_str().map(str::to_string))
            .collect()
    }

    /// The finding with `code`, asserting it names `host` in its title or message.
    fn finding(&self, code: &str, host: &str) -> Value {
        let f = self
            .findings()
            .into_iter()
            .find(|f| f["code"] == code)
            .unwrap_or_else(|| {
                panic!(
                    "{}: expected {code}, got {:?}\n{:#}\nstderr: {}",
                    self.name,
                    self.codes(),
                    self.json,
                    self.stderr
                )
            })
            .clone();
        let text = format!("{} {}", f["title"], f["message"]);
        assert!(
            text.contains(host),
            "{}: {code} does not name {host}: {text}",
            self.name
        );
        f
    }

    /// Time and memory bounds every probe keeps; prints the table line.
    fn bounded(&self, shown: &str) {
        eprintln!(
            "probe | {} | {shown} | {:.1} s | {:.1} MiB",
            self.name,
            self.wall.as_secs_f64(),
            self.peak_rss_kib as f64 / 1024.0
        );
        assert!(
            self.wall <= Duration::from_secs(TIMEOUT) + MARGIN,
            "{}: took {:?} with --timeout {TIMEOUT}",
            self.name,
            self.wall
        );
        assert!(
            self.peak_rss_kib > 0 && self.peak_rss_kib <= RSS_LIMIT_KIB,
            "{}: peak RSS {} KiB (limit {RSS_LIMIT_KIB} KiB)",
            self.name,
            self.peak_rss_kib
        );
        assert!(
            !self.stdout.contains("panicked") && !self.stderr.contains("panicked"),
            "{}: the binary panicked: {}",
            self.name,
            self.stderr
        );
    }
}

/// Runs the binary with `args` (plus `--format json --timeout 5` and an empty docker
/// config) and `env`; measures wall time and the child's own peak RSS.
fn probe(name: &str, args: &[String], env: &[(String, String)]) -> Probe {
    let docker = tempfile::tempdir().expect("temp dir");
    std::fs::write(docker.path().join("config.json"), "{}").expect("write config.json");
    // FAULT_INJECTION_BIN runs the probes against another build (e.g. an older one, to
    // compare); the assertions still apply.
    let bin = std::env::var_os("FAULT_INJECTION_BIN").unwrap_or_else(|| BIN.into());
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(args)
        .arg("--docker-config")
        .arg(docker.path())
        .args(["--format", "json", "--timeout", &TIMEOUT.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn acr-preflight");
    let pid = child.id() as libc::pid_t;
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err = drain(Box::new(child.stderr.take().expect("piped stderr")));
    // The high-water mark only grows; it is read until the process has exited (its
    // status then has no VmHWM line), every few milliseconds.
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let watching = watching.clone();
        std::thread::spawn(move || {
            let mut peak = 0u64;
            while watching.load(Ordering::SeqCst) {
                match vm_hwm_kib(pid) {
                    Some(kib) => peak = peak.max(kib),
                    None if peak > 0 => break,
                    None => {}
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            peak
        })
    };
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let status = child.wait();
        let _ = tx.send((status.is_ok(), Instant::now()));
    });
    let (reaped, ended) = match rx.recv_timeout(HARD_LIMIT) {
        Ok(done) => done,
        Err(_) => {
            // Not reaped yet (the waiter has not returned), so the pid is still this child's.
            // SAFETY: kill(2) on our own child's pid with a valid signal number.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let _ = rx.recv();
            panic!("{name}: still running after {HARD_LIMIT:?}; killed");
        }
    };
    assert!(reaped, "{name}: wait failed");
    watching.store(false, Ordering::SeqCst);
    let peak_rss_kib = watcher.join().expect("RSS watcher");
    let stdout = out.join().expect("stdout reader");
    let stderr = err.join().expect("stderr reader");
    let json = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("{name}: stdout is not the JSON report ({e}): {stdout}\nstderr: {stderr}")
    });
    Probe {
        name: name.to_string(),
        json,
        stdout,
        stderr,
        wall: ended.duration_since(started),
        peak_rss_kib,
    }
}

/// `VmHWM` (peak resident set) of a running process, in KiB.
fn vm_hwm_kib(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A hostile HTTPS registry at `hostile.test` (certificate from a throwaway CA).
struct Hostile {
    server: HostileServer,
    _ca: TestCa,
    ca_pem: String,
    _dir: tempfile::TempDir,
}

impl Hostile {
    fn start(handler: impl Fn(&Request, usize) -> Act + Send + Sync + 'static) -> Hostile {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = TestCa::named(dir.path(), "hostile-ca", "acr-preflight fault injection CA");
        let (cert, key) = ca.issue_server_cert(&[HOST]);
        let server = HostileServer::start_tls(&cert, &key, handler);
        let ca_pem = ca.ca_pem_path().display().to_string();
        Hostile {
            server,
            _ca: ca,
            ca_pem,
            _dir: dir,
        }
    }

    /// `--registry`, `--context`, `--resolve` and `--ca-file` for this registry.
    fn args(&self, context: &str) -> Vec<String> {
        vec![
            "--registry".into(),
            HOST.into(),
            "--context".into(),
            context.into(),
            "--resolve".into(),
            format!("{HOST}={}", self.server.addr()),
            "--ca-file".into(),
            self.ca_pem.clone(),
        ]
    }
}

fn registry_json_headers() -> Vec<(&'static str, &'static str)> {
    vec![
        ("Content-Type", "application/json"),
        ("Docker-Distribution-Api-Version", "registry/2.0"),
    ]
}

fn challenge() -> String {
    format!("Bearer realm=\"https://{HOST}/token\",service=\"{HOST}\"")
}

fn ctx(tag: &str) -> String {
    format!("docker-image://{HOST}/team/app:{tag}")
}

/// A registry that wants a token from its own `/token`, which does `token`.
fn with_token(token: impl Fn(&Request, usize) -> Act + Send + Sync + 'static) -> Hostile {
    Hostile::start(move |req, n| {
        if req.path == "/token" {
            return token(req, n);
        }
        Act::Respond(
            Response::registry_error(401, "UNAUTHORIZED", "authentication required")
                .header("Docker-Distribution-Api-Version", "registry/2.0")
                .header("WWW-Authenticate", &challenge()),
        )
    })
}

// ------------------------------------------------------------------ registry: time

/// The NET_TIMEOUT of a stalled request: it names `host:port` (the port dialed), the
/// phase (docs/checks.md lists the names), the endpoint and the elapsed time, and the
/// run ends without RUN_TIMEOUT.
fn assert_stalled(p: &Probe, target: &str, phase: &str, endpoint: &str) -> Value {
    let f = p.finding("NET_TIMEOUT", target);
    let (title, message) = (
        f["title"].as_str().unwrap_or_default(),
        f["message"].as_str().unwrap_or_default(),
    );
    assert!(
        title.starts_with(&format!("{target} did not answer in time: ")),
        "{}: {title}",
        p.name
    );
    assert!(
        title.contains(&format!("({endpoint}, ")) && title.ends_with(" s)"),
        "{}: no endpoint `{endpoint}` or elapsed time in {title}",
        p.name
    );
    assert!(
        message.contains(&format!("stalled in phase `{phase}` after ")),
        "{}: not phase {phase}: {message}",
        p.name
    );
    assert!(
        !p.codes().iter().any(|c| c == "RUN_TIMEOUT"),
        "{}: {:?}",
        p.name,
        p.codes()
    );
    f
}

/// `--registry`, `--context` and `--resolve` for a registry at `addr` named HOST.
fn args_at(addr: std::net::SocketAddr) -> Vec<String> {
    vec![
        "--registry".into(),
        HOST.into(),
        "--context".into(),
        ctx("v1"),
        "--resolve".into(),
        format!("{HOST}={addr}"),
    ]
}

#[test]
fn registry_that_accepts_and_never_answers_is_net_timeout() {
    // TLS completes, then the request gets nothing: the headers never come.
    let h = Hostile::start(|_, _| Act::Hang);
    let p = probe("registry /v2/ hangs", &h.args(&ctx("v1")), &[]);
    let target = format!("{HOST}:{}", h.server.addr().port());
    assert_stalled(&p, &target, "response-headers", "GET /v2/");
    p.bounded("NET_TIMEOUT");
    assert!(h.server.hits() <= 2, "{} requests", h.server.hits());
}

#[test]
fn a_listener_that_never_accepts_is_a_tls_handshake_stall() {
    // The kernel completes the TCP handshake in the backlog; nothing ever answers.
    let s = SilentServer::start(Silence::Unaccepted);
    let p = probe("listener never accepts", &args_at(s.addr()), &[]);
    let f = assert_stalled(
        &p,
        &format!("{HOST}:{}", s.addr().port()),
        "tls-handshake",
        "GET /v2/",
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("{} (from --resolve)", s.addr())),
        "{f:#}"
    );
    p.bounded("NET_TIMEOUT tls-handshake");
}

#[test]
fn a_tls_port_that_reads_the_hello_and_never_sends_server_hello_is_a_tls_handshake_stall() {
    let s = SilentServer::start(Silence::AcceptedReading);
    let p = probe("no ServerHello", &args_at(s.addr()), &[]);
    let f = assert_stalled(
        &p,
        &format!("{HOST}:{}", s.addr().port()),
        "tls-handshake",
        "GET /v2/",
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap_or_default()
            .contains("openssl s_client"),
        "{f:#}"
    );
    p.bounded("NET_TIMEOUT tls-handshake");
}

#[test]
fn a_port_that_drops_syns_is_a_tcp_connect_stall() {
    let s = SilentServer::start(Silence::BacklogFull);
    let p = probe("SYNs dropped", &args_at(s.addr()), &[]);
    assert_stalled(
        &p,
        &format!("{HOST}:{}", s.addr().port()),
        "tcp-connect",
        "GET /v2/",
    );
    p.bounded("NET_TIMEOUT tcp-connect");
}

#[test]
fn registry_that_sends_its_head_one_byte_a_second_is_net_timeout() {
    let h = Hostile::start(|_, _| Act::trickle(200, &registry_json_headers(), "{}"));
    let p = probe("registry /v2/ head 1 byte/s", &h.args(&ctx("v1")), &[]);
    let target = format!("{HOST}:{}", h.server.addr().port());
    assert_stalled(&p, &target, "response-headers", "GET /v2/");
    p.bounded("NET_TIMEOUT");
}

#[test]
fn a_body_that_stalls_midway_is_a_response_body_stall() {
    let h = Hostile::start(|_, _| Act::stall_mid_body(200, &registry_json_headers(), 10_000, 100));
    let p = probe("registry /v2/ body stalls", &h.args(&ctx("v1")), &[]);
    let target = format!("{HOST}:{}", h.server.addr().port());
    let f = assert_stalled(&p, &target, "response-body", "GET /v2/");
    assert!(
        f["message"]
            .as_str()
            .unwrap_or_default()
            .contains("HTTP 200, Content-Length 10000"),
        "{f:#}"
    );
    p.bounded("NET_TIMEOUT response-body");
}

#[test]
fn registry_that_resets_mid_body_is_a_connection_failure() {
    let h =
        Hostile::start(|_, _| Act::reset_mid_body(401, &registry_json_headers(), 100_000, 1_000));
    let p = probe("registry /v2/ reset mid-body", &h.args(&ctx("v1")), &[]);
    p.finding("NET_CONNECT", HOST);
    p.bounded("NET_CONNECT");
}

#[test]
fn token_endpoint_that_never_answers_is_net_timeout() {
    // /v2/ answers its challenge at once; the token endpoint it names never answers.
    let h = with_token(|_, _| Act::Hang);
    let p = probe("token endpoint hangs", &h.args(&ctx("v1")), &[]);
    let target = format!("{HOST}:{}", h.server.addr().port());
    let f = assert_stalled(&p, &target, "response-headers", "token endpoint");
    assert!(
        f["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!("https://{HOST}/token (the token endpoint")),
        "{f:#}"
    );
    p.bounded("NET_TIMEOUT");
}

#[test]
fn a_hanging_registry_does_not_keep_a_second_one_from_being_checked() {
    use support::fixtures::Publisher;
    use support::registry::{Kind, TestRegistry};
    const REAL: &str = "real.test";
    let dir = tempfile::tempdir().expect("temp dir");
    let ca = TestCa::named(dir.path(), "two-ca", "acr-preflight two registries CA");
    let (cert, key) = ca.issue_server_cert(&[REAL]);
    let reg = TestRegistry::start_blocking(Kind::Tls { cert, key });
    let published = support::block_on(
        Publisher::new(&reg.url_as(REAL))
            .with_ca(ca.ca_pem_path())
            .with_resolve(REAL, reg.addr())
            .single_image("team/app", "v1"),
    );
    let hang = SilentServer::start(Silence::AcceptedReading);
    let args: Vec<String> = vec![
        "--context".into(),
        ctx("v1"),
        "--context".into(),
        format!("docker-image://{REAL}/team/app:v1"),
        "--resolve".into(),
        format!("{HOST}={}", hang.addr()),
        "--resolve".into(),
        format!("{REAL}={}", reg.addr()),
        "--ca-file".into(),
        ca.ca_pem_path().display().to_string(),
    ];
    let p = probe("one of two registries hangs", &args, &[]);
    assert_stalled(
        &p,
        &format!("{HOST}:{}", hang.addr().port()),
        "tls-handshake",
        "GET /v2/",
    );
    let contexts = p.json["contexts"].as_array().cloned().unwrap_or_default();
    let real = contexts
        .iter()
        .find(|c| c["registry"] == REAL)
        .unwrap_or_else(|| panic!("no {REAL} context: {:#}", p.json));
    assert_eq!(real["digest"], published.digest.as_str(), "{:#}", p.json);
    let hung = contexts
        .iter()
        .find(|c| c["registry"] == HOST)
        .unwrap_or_else(|| panic!("no {HOST} context: {:#}", p.json));
    assert!(hung["digest"].is_null(), "{hung:#}");
    // Only the hanging host has a finding.
    for f in p.findings() {
        let text = format!("{} {}", f["title"], f["message"]);
        assert!(!text.contains(REAL) || f["code"] != "NET_TIMEOUT", "{f:#}");
    }
    p.bounded("NET_TIMEOUT + digest");
}

#[test]
fn a_burst_of_5xx_is_reported_once_and_not_hammered() {
    // 503 three times, then a healthy registry: 5xx is not retried (only 429 is), so
    // the run reports the 503 it saw after one request.
    let h = Hostile::start(|req, n| {
        if n < 3 {
            Act::Respond(Response::registry_error(503, "UNAVAILABLE", "try later"))
        } else if req.path == "/v2/" {
            Act::Respond(Response::json(200, &serde_json::json!({})))
        } else {
            Act::Respond(Response::registry_error(404, "MANIFEST_UNKNOWN", "unknown"))
        }
    });
    let p = probe("registry 5xx burst, then OK", &h.args(&ctx("v1")), &[]);
    let f = p.finding("REGISTRY_UNEXPECTED", HOST);
    assert!(f["message"].as_str().unwrap_or("").contains("503"), "{f}");
    p.bounded("REGISTRY_UNEXPECTED (503)");
    assert_eq!(h.server.hits(), 1);
}

#[test]
fn throttling_with_retry_after_past_the_deadline_does_not_wait() {
    let h = Hostile::start(|_, _| {
        Act::Respond(
            Response::registry_error(429, "TOOMANYREQUESTS", "too many requests")
                .header("Retry-After", "3600"),
        )
    });
    let p = probe("registry 429 Retry-After 3600", &h.args(&ctx("v1")), &[]);
    p.finding("REGISTRY_THROTTLED", HOST);
    p.bounded("REGISTRY_THROTTLED");
    assert!(p.wall < Duration::from_secs(TIMEOUT), "{:?}", p.wall);
    assert_eq!(
        h.server.hits(),
        1,
        "no retry when Retry-After is past the deadline"
    );
}

#[test]
fn a_429_storm_on_the_token_endpoint_is_retried_within_the_deadline_only() {
    let h = with_token(|_, _| {
        Act::Respond(
            Response::registry_error(429, "TOOMANYREQUESTS", "too many requests")
                .header("Retry-After", "1"),
        )
    });
    let p = probe("token endpoint 429 storm", &h.args(&ctx("v1")), &[]);
    p.finding("REGISTRY_THROTTLED", HOST);
    p.bounded("REGISTRY_THROTTLED");
    // /v2/ once, the token request at most three times.
    assert!(h.server.hits() <= 4, "{} requests", h.server.hits());
}

// ------------------------------------------------------------------ registry: size

fn assert_too_large(p: &Probe) {
    let f = p.finding("REGISTRY_UNEXPECTED", HOST);
    let text = format!("{} {}", f["title"], f["message"]);
    assert!(text.contains("larger than 4 MiB"), "{}: {text}", p.name);
}

#[test]
fn a_100_mb_error_body_on_v2_is_not_read() {
    let h = Hostile::start(|_, _| {
        Act::stream(
            401,
            &[
                ("Content-Type", "application/json"),
                ("WWW-Authenticate", "Basic realm=\"x\""),
            ],
            b"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"",
            b'A',
            HUGE,
        )
    });
    let p = probe(
        "/v2/ 401 body 100 MB (Content-Length)",
        &h.args(&ctx("v1")),
        &[],
    );
    assert_too_large(&p);
    p.bounded("REGISTRY_UNEXPECTED (> 4 MiB)");
}

#[test]
fn a_100_mb_chunked_error_body_on_v2_stops_at_the_cap() {
    let h = Hostile::start(|_, _| {
        Act::stream_chunked(
            401,
            &[("Content-Type", "application/json")],
            b"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"",
            b'A',
            HUGE,
        )
    });
    let p = probe("/v2/ 401 body 100 MB (chunked)", &h.args(&ctx("v1")), &[]);
    assert_too_large(&p);
    p.bounded("REGISTRY_UNEXPECTED (> 4 MiB)");
    assert!(
        (h.server.body_bytes_sent() as u64) < HUGE,
        "the whole body was read"
    );
}

#[test]
fn a_100_mb_token_answer_is_not_read() {
    let h = with_token(|_, _| {
        Act::stream_chunked(
            200,
            &[("Content-Type", "application/json")],
            b"{\"token\":\"",
            b'a',
            HUGE,
        )
    });
    let p = probe("token JSON 100 MB", &h.args(&ctx("v1")), &[]);
    assert_too_large(&p);
    p.bounded("REGISTRY_UNEXPECTED (> 4 MiB)");
}

/// An open registry (`/v2/` 200) whose manifests and tags do `act`.
fn open_registry(act: impl Fn(&Request, usize) -> Option<Act> + Send + Sync + 'static) -> Hostile {
    Hostile::start(move |req, n| {
        if req.path == "/v2/" {
            return Act::Respond(
                Response::json(200, &serde_json::json!({}))
                    .header("Docker-Distribution-Api-Version", "registry/2.0"),
            );
        }
        act(req, n).unwrap_or_else(|| {
            Act::Respond(Response::registry_error(
                404,
                "MANIFEST_UNKNOWN",
                "manifest unknown",
            ))
        })
    })
}

#[test]
fn a_100_mb_manifest_is_not_read() {
    let h = open_registry(|req, _| {
        req.path.contains("/manifests/").then(|| {
            Act::stream_chunked(
                200,
                &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
                b"{\"schemaVersion\":2,\"layers\":[",
                b' ',
                HUGE,
            )
        })
    });
    // oci:// contexts need the manifest body (ACR Tasks reads its layers).
    let p = probe(
        "manifest 100 MB",
        &h.args(&format!("oci://{HOST}/team/app:v1")),
        &[],
    );
    assert_too_large(&p);
    p.bounded("REGISTRY_UNEXPECTED (> 4 MiB)");
}

#[test]
fn a_100_mb_tags_list_is_not_read_and_the_missing_tag_is_still_reported() {
    let h = open_registry(|req, _| {
        req.path.ends_with("/tags/list").then(|| {
            Act::stream_chunked(
                200,
                &[("Content-Type", "application/json")],
                b"{\"name\":\"team/app\",\"tags\":[\"",
                b'v',
                HUGE,
            )
        })
    });
    let p = probe("tags list 100 MB", &h.args(&ctx("v9")), &[]);
    let f = p.finding("CONTEXT_NOT_FOUND", HOST);
    let message = f["message"].as_str().unwrap_or("");
    assert!(
        message.contains("tag list could not be read") && message.contains("larger than 4 MiB"),
        "{message}"
    );
    p.bounded("CONTEXT_NOT_FOUND (tag list > 4 MiB)");
}

// ------------------------------------------------------------------ registry: shape

#[test]
fn malformed_token_json_is_registry_unexpected() {
    let h = with_token(|_, _| {
        Act::Respond(
            Response::new(200)
                .header("Content-Type", "application/json")
                .body("{\"token\": \"abc\", \"expires_in\": [}"),
        )
    });
    let p = probe("token JSON malformed", &h.args(&ctx("v1")), &[]);
    p.finding("REGISTRY_UNEXPECTED", HOST);
    p.bounded("REGISTRY_UNEXPECTED");
}

#[test]
fn a_malformed_jwt_token_is_treated_as_opaque() {
    // Three dot-separated parts that are not base64 JSON: the claims cannot be read, so
    // the manifest answer decides (here: the tag is missing).
    let h = Hostile::start(|req, _| {
        if req.path == "/token" {
            return Act::Respond(Response::json(
                200,
                &serde_json::json!({"token": "eyJ%%%.e30.!!!", "access_token": "e30.eyJhY2Nlc3MiOlt7.x"}),
            ));
        }
        let bearer = req
            .header("authorization")
            .is_some_and(|a| a.starts_with("Bearer "));
        if !bearer {
            return Act::Respond(
                Response::registry_error(401, "UNAUTHORIZED", "authentication required")
                    .header("WWW-Authenticate", &challenge()),
            );
        }
        Act::Respond(Response::registry_error(
            404,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
        ))
    });
    let p = probe("token is a malformed JWT", &h.args(&ctx("v1")), &[]);
    p.finding("CONTEXT_NOT_FOUND", HOST);
    p.bounded("CONTEXT_NOT_FOUND");
}

#[test]
fn malformed_www_authenticate_headers_are_registry_challenge() {
    for (i, (header, code)) in [
        (
            "Bearer realm=\"https://hostile.test/token",
            "REGISTRY_CHALLENGE",
        ),
        ("Bearer realm=", "REGISTRY_CHALLENGE"),
        ("Bearer ,,,,=,=\"", "REGISTRY_CHALLENGE"),
        ("Bearer realm=\"\\", "REGISTRY_CHALLENGE"),
        ("Negotiate", "REGISTRY_CHALLENGE"),
        // Control bytes make the whole response invalid HTTP: the client refuses it.
        ("\u{7f}\u{1}", "NET_CONNECT"),
    ]
    .into_iter()
    .enumerate()
    {
        let h = Hostile::start(move |_, _| {
            Act::Respond(
                Response::registry_error(401, "UNAUTHORIZED", "authentication required")
                    .header("WWW-Authenticate", header),
            )
        });
        let p = probe(
            &format!("WWW-Authenticate malformed #{i}"),
            &h.args(&ctx("v1")),
            &[],
        );
        p.finding(code, HOST);
        p.bounded(code);
    }
}

#[test]
fn link_pagination_that_loops_forever_is_cut_off() {
    let h = open_registry(|req, _| {
        req.path.ends_with("/tags/list").then(|| {
            // Always one more page, on the same origin: the same list again.
            Act::Respond(
                Response::json(
                    200,
                    &serde_json::json!({"name": "team/app", "tags": ["v1"]}),
                )
                .header("Link", "</v2/team/app/tags/list?n=1&last=v1>; rel=\"next\""),
            )
        })
    });
    let p = probe("Link: rel=next loops forever", &h.args(&ctx("v9")), &[]);
    p.finding("CONTEXT_NOT_FOUND", HOST);
    p.bounded("CONTEXT_NOT_FOUND (pages bounded)");
    let pages = h
        .server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/tags/list"))
        .count();
    assert!((1..=10).contains(&pages), "{pages} tag pages fetched");
}

// ------------------------------------------------------------------ Azure

/// Azure fakes (Entra, ARM, GitHub OIDC) with one app that has a secret; `hostile`
/// replaces the fake behind `replace` (an Entra or ARM host name).
struct AzureProbe {
    az: AzureFakes,
    hostile: Option<HostileServer>,
    replace: Option<&'static str>,
}

impl AzureProbe {
    fn start() -> AzureProbe {
        let az = AzureFakes::start();
        az.entra.add_tenant(TENANT, Cloud::Public);
        az.entra
            .add_app(App::new(TENANT, CLIENT_ID, OBJECT_ID).secret(SECRET, 3600));
        az.github
            .set_claims(GitHubClaims::branch("octo/app", "main"));
        az.arm.add_subscription(SUB, TENANT);
        AzureProbe {
            az,
            hostile: None,
            replace: None,
        }
    }

    /// Serves `host` (covered by the fakes' certificate) from a hostile server.
    fn replace(
        mut self,
        host: &'static str,
        handler: impl Fn(&Request, usize) -> Act + Send + Sync + 'static,
    ) -> AzureProbe {
        let dir = tempfile::tempdir().expect("temp dir");
        let (cert, key) = self.az.ca().issue_server_cert(&[host]);
        let server = HostileServer::start_tls(&cert, &key, handler);
        drop(dir);
        self.hostile = Some(server);
        self.replace = Some(host);
        self
    }

    fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "--registry",
            "myreg",
            "--tenant-id",
            TENANT,
            "--subscription-id",
            SUB,
            "--client-id",
            CLIENT_ID,
            "--context",
            "docker-image://myreg.azurecr.io/team/app:v1",
            "--ca-file",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(self.az.ca_pem_path().display().to_string());
        for spec in self.az.resolve_specs(&["myreg.azurecr.io"]) {
            let host = spec.split('=').next().unwrap_or_default();
            let spec = match (&self.hostile, self.replace) {
                (Some(h), Some(replaced)) if host == replaced => {
                    format!("{host}={}", h.addr())
                }
                _ => spec,
            };
            args.push("--resolve".into());
            args.push(spec);
        }
        args
    }

    fn secret_env(&self) -> Vec<(String, String)> {
        vec![("AZURE_CLIENT_SECRET".into(), SECRET.into())]
    }

    /// OIDC env pointing `ACTIONS_ID_TOKEN_REQUEST_URL` at `url`.
    fn oidc_env(&self, url: &str) -> Vec<(String, String)> {
        vec![
            ("GITHUB_ACTIONS".into(), "true".into()),
            (
                "ACTIONS_ID_TOKEN_REQUEST_URL".into(),
                format!("{url}/token?api-version=2.0"),
            ),
            (
                "ACTIONS_ID_TOKEN_REQUEST_TOKEN".into(),
                "request-token-for-tests".into(),
            ),
        ]
    }
}

const ENTRA: &str = "login.microsoftonline.com";
const ARM: &str = "management.azure.com";

#[test]
fn entra_that_never_answers_ends_within_the_deadline() {
    let a = AzureProbe::start().replace(ENTRA, |_, _| Act::Hang);
    let p = probe("Entra token endpoint hangs", &a.args(), &a.secret_env());
    p.finding("ID_TOKEN_FAILED", ENTRA);
    p.bounded("ID_TOKEN_FAILED");
}

#[test]
fn entra_with_a_100_mb_token_answer_is_not_read() {
    let a = AzureProbe::start().replace(ENTRA, |_, _| {
        Act::stream_chunked(
            200,
            &[("Content-Type", "application/json")],
            b"{\"token_type\":\"Bearer\",\"access_token\":\"",
            b'a',
            HUGE,
        )
    });
    let p = probe("Entra token JSON 100 MB", &a.args(), &a.secret_env());
    let f = p.finding("ID_TOKEN_FAILED", ENTRA);
    assert!(
        f["message"]
            .as_str()
            .unwrap_or("")
            .contains("larger than 4 MiB"),
        "{f}"
    );
    p.bounded("ID_TOKEN_FAILED (> 4 MiB)");
}

#[test]
fn entra_with_malformed_json_is_id_token_failed() {
    let a = AzureProbe::start().replace(ENTRA, |_, _| {
        Act::Respond(
            Response::new(200)
                .header("Content-Type", "application/json")
                .body("{\"token_type\":\"Bearer\",\"access_token\":"),
        )
    });
    let p = probe("Entra token JSON malformed", &a.args(), &a.secret_env());
    p.finding("ID_TOKEN_FAILED", ENTRA);
    p.bounded("ID_TOKEN_FAILED");
}

#[test]
fn arm_that_never_answers_ends_within_the_deadline() {
    let a = AzureProbe::start().replace(ARM, |_, _| Act::Hang);
    let p = probe("ARM registries list hangs", &a.args(), &a.secret_env());
    let f = p.finding("ARM_READ_DENIED", ARM);
    assert!(
        f["message"]
            .as_str()
            .unwrap_or("")
            .contains("did not answer"),
        "{f}"
    );
    p.bounded("ARM_READ_DENIED (no answer)");
}

#[test]
fn arm_list_pages_of_100_mb_are_not_read() {
    let a = AzureProbe::start().replace(ARM, |_, _| {
        Act::stream_chunked(
            200,
            &[("Content-Type", "application/json")],
            b"{\"value\":[",
            b' ',
            HUGE,
        )
    });
    let p = probe("ARM list page 100 MB", &a.args(), &a.secret_env());
    let f = p.finding("ARM_READ_DENIED", ARM);
    assert!(
        f["message"]
            .as_str()
            .unwrap_or("")
            .contains("larger than 4 MiB"),
        "{f}"
    );
    p.bounded("ARM_READ_DENIED (> 4 MiB)");
}

#[test]
fn oidc_endpoint_that_never_answers_is_id_token_failed() {
    let a = AzureProbe::start();
    let oidc = HostileServer::start(|_, _| Act::Hang);
    let p = probe(
        "GitHub OIDC endpoint hangs",
        &a.args(),
        &a.oidc_env(&oidc.url()),
    );
    p.finding("ID_TOKEN_FAILED", "OIDC");
    p.bounded("ID_TOKEN_FAILED");
}

#[test]
fn oidc_endpoint_with_a_100_mb_answer_is_not_read() {
    let a = AzureProbe::start();
    let oidc = HostileServer::start(|_, _| {
        Act::stream(
            200,
            &[("Content-Type", "application/json")],
            b"{\"value\":\"",
            b'a',
            HUGE,
        )
    });
    let p = probe(
        "GitHub OIDC answer 100 MB",
        &a.args(),
        &a.oidc_env(&oidc.url()),
    );
    let f = p.finding("ID_TOKEN_FAILED", "OIDC");
    assert!(
        f["message"]
            .as_str()
            .unwrap_or("")
            .contains("larger than 4 MiB"),
        "{f}"
    );
    p.bounded("ID_TOKEN_FAILED (> 4 MiB)");
}

#[test]
fn oidc_endpoint_with_a_malformed_jwt_is_reported() {
    let a = AzureProbe::start();
    let oidc = HostileServer::start(|_, _| {
        Act::Respond(Response::json(
            200,
            &serde_json::json!({"value": "not.a.jwt%%"}),
        ))
    });
    let p = probe(
        "GitHub OIDC token malformed JWT",
        &a.args(),
        &a.oidc_env(&oidc.url()),
    );
    p.bounded(&p.codes().join(","));
    assert!(
        p.codes().iter().any(|c| c.starts_with("ID_")),
        "{:?}",
        p.codes()
    );
}
