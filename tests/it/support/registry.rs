//! The real registry (`docker-registry serve`, distribution 2.8) on `127.0.0.1:0`, with
//! in-memory storage. The kernel picks the port; the harness reads it from the log line
//! `msg="listening on 127.0.0.1:NNNNN"`, polling the log file (bounded, 10 s) and failing
//! with the whole log if the process exits or never gets there.
//!
//! ```ignore
//! let reg = TestRegistry::start(Kind::Plain).await;          // http://127.0.0.1:PORT
//! let token = TokenServer::start();
//! let reg = TestRegistry::start(token.registry_kind()).await; // Bearer challenge
//! ```

use serde_json::json;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How long the registry may take to log its port (it needs about 80 ms).
pub const START_TIMEOUT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(5);

/// What the registry is set up as.
#[derive(Clone, Debug)]
pub enum Kind {
    /// HTTP, no auth.
    Plain,
    /// HTTPS with this certificate (PEM) and key; no auth.
    Tls { cert: PathBuf, key: PathBuf },
    /// HTTP with token auth: challenges name `realm`/`service`, tokens must have this
    /// `iss` and `aud` = `service`, and be signed by a key certified by a cert in `bundle`.
    Token {
        realm: String,
        service: String,
        issuer: String,
        bundle: PathBuf,
    },
    /// HTTPS with token auth.
    TokenTls {
        realm: String,
        service: String,
        issuer: String,
        bundle: PathBuf,
        cert: PathBuf,
        key: PathBuf,
    },
}

impl Kind {
    fn is_tls(&self) -> bool {
        matches!(self, Kind::Tls { .. } | Kind::TokenTls { .. })
    }

    /// The registry configuration. YAML is a superset of JSON, so it is written as JSON:
    /// no quoting questions for paths.
    fn config(&self) -> serde_json::Value {
        let mut http = json!({
            "addr": "127.0.0.1:0",
            "secret": "acr-preflight-harness-not-a-secret",
        });
        let mut config = json!({
            "version": "0.1",
            "log": {"level": "info", "formatter": "text", "accesslog": {"disabled": true}},
            "storage": {
                "inmemory": {},
                "delete": {"enabled": true},
                "maintenance": {"uploadpurging": {"enabled": false}},
            },
        });
        match self {
            Kind::Plain => {}
            Kind::Tls { cert, key } => {
                http["tls"] = json!({"certificate": cert, "key": key});
            }
            Kind::Token {
                realm,
                service,
                issuer,
                bundle,
            } => {
                config["auth"] = token_auth(realm, service, issuer, bundle);
            }
            Kind::TokenTls {
                realm,
                service,
                issuer,
                bundle,
                cert,
                key,
            } => {
                config["auth"] = token_auth(realm, service, issuer, bundle);
                http["tls"] = json!({"certificate": cert, "key": key});
            }
        }
        config["http"] = http;
        config
    }
}

fn token_auth(realm: &str, service: &str, issuer: &str, bundle: &Path) -> serde_json::Value {
    json!({"token": {
        "realm": realm,
        "service": service,
        "issuer": issuer,
        "rootcertbundle": bundle,
    }})
}

/// A running registry. `stop()` or `Drop` kills and reaps the process; the temp dir with
/// its config and log goes with the handle.
pub struct TestRegistry {
    child: Option<Child>,
    pid: u32,
    addr: SocketAddr,
    tls: bool,
    dir: TempDir,
    log_path: PathBuf,
    startup: Duration,
}

enum Probe {
    Ready(u16),
    Exited(String),
    Pending,
}

struct Starting {
    child: Child,
    dir: TempDir,
    log_path: PathBuf,
    tls: bool,
    began: Instant,
}

impl Starting {
    fn spawn(kind: &Kind) -> Starting {
        let dir = tempfile::tempdir().expect("registry temp dir");
        let config_path = dir.path().join("config.yml");
        let log_path = dir.path().join("registry.log");
        std::fs::write(
            &config_path,
            serde_json::to_vec_pretty(&kind.config()).unwrap(),
        )
        .expect("write registry config");
        let log = File::create(&log_path).expect("create registry log");
        let log_err = log.try_clone().expect("clone log handle");
        let began = Instant::now();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            // REGISTRY_* variables override the config; start from a clean environment.
            .env_clear()
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot run docker-registry (scripts/install-deps.sh installs it): {e}")
            });
        Starting {
            child,
            dir,
            log_path,
            tls: kind.is_tls(),
            began,
        }
    }

    fn probe(&mut self) -> Probe {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        if let Some(port) = listening_port(&log) {
            return Probe::Ready(port);
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                // Read again: the last lines may have landed after the first read.
                let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
                Probe::Exited(format!(
                    "docker-registry exited ({status}) before listening:\n{log}"
                ))
            }
            Ok(None) => Probe::Pending,
            Err(e) => Probe::Exited(format!("cannot poll docker-registry: {e}")),
        }
    }

    fn timed_out(&self) -> bool {
        self.began.elapsed() > START_TIMEOUT
    }

    fn fail(mut self, why: String) -> ! {
        let _ = self.child.kill();
        let _ = self.child.wait();
        panic!("{why}");
    }

    fn timeout_message(&self) -> String {
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        format!("docker-registry did not log its port within {START_TIMEOUT:?}:\n{log}")
    }

    fn ready(self, port: u16) -> TestRegistry {
        TestRegistry {
            pid: self.child.id(),
            child: Some(self.child),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            tls: self.tls,
            dir: self.dir,
            log_path: self.log_path,
            startup: self.began.elapsed(),
        }
    }
}

/// The port in `listening on 127.0.0.1:NNNNN` (TLS listeners add `, tls`).
fn listening_port(log: &str) -> Option<u16> {
    let marker = "listening on 127.0.0.1:";
    let at = log.find(marker)? + marker.len();
    let digits: String = log[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok().filter(|p| *p != 0)
}

impl TestRegistry {
    /// Starts a registry and waits (asynchronously) until it listens.
    pub async fn start(kind: Kind) -> TestRegistry {
        let mut starting = Starting::spawn(&kind);
        loop {
            match starting.probe() {
                Probe::Ready(port) => return starting.ready(port),
                Probe::Exited(why) => starting.fail(why),
                Probe::Pending if starting.timed_out() => {
                    let why = starting.timeout_message();
                    starting.fail(why)
                }
                Probe::Pending => tokio::time::sleep(POLL).await,
            }
        }
    }

    /// The same for synchronous tests.
    pub fn start_blocking(kind: Kind) -> TestRegistry {
        let mut starting = Starting::spawn(&kind);
        loop {
            match starting.probe() {
                Probe::Ready(port) => return starting.ready(port),
                Probe::Exited(why) => starting.fail(why),
                Probe::Pending if starting.timed_out() => {
                    let why = starting.timeout_message();
                    starting.fail(why)
                }
                Probe::Pending => std::thread::sleep(POLL),
            }
        }
    }

    /// `127.0.0.1:PORT` as a socket address (for `ClientBuilder::resolve`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`: the registry host as written in image references.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT` (the test certificates carry
    /// `IP:127.0.0.1`).
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme(), self.addr)
    }

    /// The URL for another host name resolved to this registry, e.g.
    /// `https://registry.test:PORT` (pair it with `ClientBuilder::resolve`).
    pub fn url_as(&self, host: &str) -> String {
        format!("{}://{}:{}", self.scheme(), host, self.addr.port())
    }

    pub fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }

    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The process id (gone once the handle is stopped or dropped).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// How long the registry took from spawn to its `listening on` line.
    pub fn startup_time(&self) -> Duration {
        self.startup
    }

    /// The registry's log so far (it logs why it rejects a token at level info, e.g.
    /// `token from untrusted issuer`, `insufficient scope`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Where the config and log live.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Kills and reaps the process; afterwards connections to `addr()` are refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestRegistry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback address nothing listens on: binds `127.0.0.1:0` and closes the listener.
/// (The kernel does not hand the same ephemeral port out again right away.)
pub fn refused_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    drop(listener);
    addr
}
