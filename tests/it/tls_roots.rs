//! The root store (src/http.rs): read lazily from one bundle, directories only when a
//! certificate fails against it, and exactly as strict as webpki over the whole set.

use crate::support;

use acr_preflight::config::Config;
use acr_preflight::http::{RootSources, build_client_with};
use std::path::{Path, PathBuf};
use std::process::Command;
use support::http::{MockServer, Response};
use support::tls::TestCa;

const HOST: &str = "registry.test";
const BIN: &str = env!("CARGO_BIN_EXE_acr-preflight");

fn server(ca: &TestCa) -> MockServer {
    let (cert, key) = ca.issue_server_cert(&[HOST]);
    MockServer::start_tls(&cert, &key, |_, _| {
        Response::new(200)
            .header("content-type", "application/json")
            .body("{}")
            .into()
    })
}

/// `GET https://registry.test/v2/` on `server`, with these system roots.
fn get(server: &MockServer, sources: RootSources, ca_file: Option<PathBuf>) -> Result<u16, String> {
    let mut config = Config::for_tests("/nonexistent".into());
    config.resolve =
        vec![acr_preflight::cli::parse_resolve(&format!("{HOST}={}", server.addr())).unwrap()];
    config.ca_file = ca_file;
    let client = build_client_with(&config, Some(sources)).map_err(|e| e.to_string())?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        client
            .get(format!("https://{HOST}/v2/"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .map_err(|e| acr_preflight::http::error_chain(&e))
    })
}

fn bundle(dir: &Path, name: &str, cas: &[&TestCa]) -> PathBuf {
    let mut pem = String::new();
    for ca in cas {
        pem.push_str(&std::fs::read_to_string(ca.ca_pem_path()).unwrap());
    }
    let path = dir.join(name);
    std::fs::write(&path, pem).unwrap();
    path
}

#[test]
fn a_bundle_is_trusted_and_a_certificate_from_another_ca_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let trusted = TestCa::new(dir.path());
    let unknown = TestCa::untrusted(dir.path());
    let file = Some(bundle(dir.path(), "bundle.pem", &[&trusted]));
    let only_file = RootSources { file, dirs: vec![] };

    assert_eq!(get(&server(&trusted), only_file.clone(), None), Ok(200));
    let refused = get(&server(&unknown), only_file, None).unwrap_err();
    assert!(refused.contains("UnknownIssuer"), "{refused}");
}

#[test]
fn the_directories_are_still_trusted_when_the_bundle_lacks_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let in_dir = TestCa::new(dir.path());
    let in_bundle = TestCa::named(dir.path(), "other", "acr-preflight bundle CA");
    let unknown = TestCa::untrusted(dir.path());
    let certs = dir.path().join("certs");
    std::fs::create_dir(&certs).unwrap();
    bundle(&certs, "in-dir.pem", &[&in_dir]);
    let sources = RootSources {
        file: Some(bundle(dir.path(), "bundle.pem", &[&in_bundle])),
        dirs: vec![certs],
    };
    assert_eq!(get(&server(&in_dir), sources.clone(), None), Ok(200));
    assert_eq!(get(&server(&in_bundle), sources.clone(), None), Ok(200));
    let refused = get(&server(&unknown), sources, None).unwrap_err();
    assert!(refused.contains("UnknownIssuer"), "{refused}");
}

#[test]
fn ca_file_adds_to_the_system_roots_and_no_roots_is_a_named_error() {
    let dir = tempfile::tempdir().unwrap();
    let system = TestCa::new(dir.path());
    let extra = TestCa::named(dir.path(), "extra", "acr-preflight extra CA");
    let sources = RootSources {
        file: Some(bundle(dir.path(), "bundle.pem", &[&system])),
        dirs: vec![],
    };
    let ca_file = Some(bundle(dir.path(), "extra.pem", &[&extra]));
    assert_eq!(
        get(&server(&extra), sources.clone(), ca_file.clone()),
        Ok(200)
    );
    assert_eq!(get(&server(&system), sources, ca_file), Ok(200));

    let none = RootSources {
        file: Some(dir.path().join("missing.pem")),
        dirs: vec![],
    };
    let refused = get(&server(&system), none, None).unwrap_err();
    assert!(refused.contains("no trusted root certificate"), "{refused}");
    assert!(refused.contains("missing.pem"), "{refused}");
}

/// The binary, as a job runs it: SSL_CERT_FILE names the bundle, no --ca-file.
fn run_with_ssl_cert_file(server: &MockServer, bundle: &Path) -> String {
    let out = Command::new(BIN)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("SSL_CERT_FILE", bundle)
        .args([
            "--registry",
            HOST,
            "--auth-mode",
            "anonymous",
            "--format",
            "json",
        ])
        .args(["--resolve", &format!("{HOST}={}", server.addr())])
        .args(["--context", &format!("docker-image://{HOST}/team/ctx:v1")])
        .args(["--docker-config", "/nonexistent", "--timeout", "20"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn ssl_cert_file_pointing_at_a_bundle_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let trusted = TestCa::new(dir.path());
    let unknown = TestCa::untrusted(dir.path());
    let file = bundle(dir.path(), "bundle.pem", &[&unknown, &trusted]);
    let server = server(&trusted);
    let trusting = run_with_ssl_cert_file(&server, &file);
    assert!(!trusting.contains("NET_TLS"), "{trusting}");
    assert!(server.hits() > 0);

    let other = bundle(dir.path(), "other.pem", &[&unknown]);
    let refusing = run_with_ssl_cert_file(&server, &other);
    assert!(refusing.contains("NET_TLS"), "{refusing}");
    assert!(refusing.contains("UnknownIssuer"), "{refusing}");
}
