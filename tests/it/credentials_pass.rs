//! The credentials check against the real `docker-credential-pass`, with a throwaway
//! gpg key and password store in a temp dir.
//!
//! The helper inherits this process's environment, and setting variables in a
//! multi-threaded test process is unsound, so the helper is reached through a tiny
//! wrapper (`docker-credential-passwrap`) that exports GNUPGHOME and
//! PASSWORD_STORE_DIR and then execs the real helper.

use acr_preflight::checks::Ctx;
use acr_preflight::checks::credentials::{CredentialKind, run};
use acr_preflight::config::Config;
use acr_preflight::findings::{Code, Severity};
use acr_preflight::secrets::Secrets;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const REAL_HELPER: &str = "/usr/bin/docker-credential-pass";
const INSTALL: &str = "the project's test command installs them: `apt-get install -y golang-docker-credential-helpers pass gnupg`";

/// Kills the gpg-agent that gpg and pass start for this GNUPGHOME, also when the
/// test fails.
struct AgentGuard {
    gnupghome: PathBuf,
}

impl Drop for AgentGuard {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", &self.gnupghome)
            .args(["--kill", "gpg-agent"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn require_tool(program: &str) {
    let found = Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "`{program}` is not installed; this test runs the real docker-credential-pass and is never skipped: {INSTALL}"
    );
}

fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

/// A throwaway gpg key and password store in a temp dir, initialised for `pass`, and a
/// `bin` directory holding `docker-credential-passwrap`, which runs the real helper on
/// that store and appends each call's verb to `calls`.
pub(crate) struct PassStore {
    // Dropped first (fields drop in order), before the directory is removed.
    _agent: AgentGuard,
    tmp: tempfile::TempDir,
    gnupghome: PathBuf,
    store: PathBuf,
}

impl PassStore {
    pub(crate) fn new() -> PassStore {
        assert!(
            Path::new(REAL_HELPER).is_file(),
            "{REAL_HELPER} is not installed; this test runs the real helper and is never skipped: {INSTALL}"
        );
        require_tool("pass");
        require_tool("gpg");
        require_tool("gpgconf");
        let tmp = tempfile::tempdir().unwrap();
        let gnupghome = tmp.path().join("gnupg");
        let store = tmp.path().join("store");
        let bin = tmp.path().join("bin");
        std::fs::create_dir_all(&gnupghome).unwrap();
        std::fs::set_permissions(&gnupghome, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::create_dir_all(&bin).unwrap();
        let pass = PassStore {
            _agent: AgentGuard {
                gnupghome: gnupghome.clone(),
            },
            tmp,
            gnupghome,
            store,
        };
        run_ok(
            pass.command("gpg").args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
                "--quick-gen-key",
                "rig test <rig@example.invalid>",
                "default",
                "default",
                "never",
            ]),
            "gpg --quick-gen-key",
        );
        let listing = run_ok(
            pass.command("gpg").args(["--list-keys", "--with-colons"]),
            "gpg --list-keys",
        );
        let fingerprint = listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|rest| rest.split(':').nth(8))
            .expect("a key fingerprint")
            .to_string();
        run_ok(
            pass.command("pass").args(["init", &fingerprint]),
            "pass init",
        );
        let wrapper = bin.join("docker-credential-passwrap");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/bash\necho \"$1\" >> {}\nexport GNUPGHOME={} PASSWORD_STORE_DIR={}\nexec {REAL_HELPER} \"$@\"\n",
                shell_quote(&pass.calls_path()),
                shell_quote(&pass.gnupghome),
                shell_quote(&pass.store)
            ),
        )
        .unwrap();
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        pass
    }

    /// `program` with this store's GNUPGHOME and PASSWORD_STORE_DIR.
    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("GNUPGHOME", &self.gnupghome)
            .env("PASSWORD_STORE_DIR", &self.store)
            .stdin(Stdio::null());
        cmd
    }

    /// The directory holding `docker-credential-passwrap` (for PATH).
    pub(crate) fn bin(&self) -> PathBuf {
        self.tmp.path().join("bin")
    }

    fn calls_path(&self) -> PathBuf {
        self.tmp.path().join("calls")
    }

    /// How many times the wrapper was run with `verb` (`get`, `store`, …).
    pub(crate) fn calls(&self, verb: &str) -> usize {
        std::fs::read_to_string(self.calls_path())
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == verb)
            .count()
    }

    /// `docker-credential-pass store` for `server`, as `docker login` stores it.
    pub(crate) fn store(&self, server: &str, user: &str, secret: &str) {
        let mut storing = self
            .command(REAL_HELPER)
            .arg("store")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start docker-credential-pass store");
        storing
            .stdin
            .take()
            .unwrap()
            .write_all(
                serde_json::json!({"ServerURL": server, "Username": user, "Secret": secret})
                    .to_string()
                    .as_bytes(),
            )
            .unwrap();
        let stored = storing.wait_with_output().unwrap();
        assert!(
            stored.status.success(),
            "docker-credential-pass store: {}",
            String::from_utf8_lossy(&stored.stdout)
        );
    }
}

#[tokio::test]
async fn real_pass_helper_finds_a_stored_credential_and_reports_a_missing_one() {
    let pass = PassStore::new();
    let tmp = tempfile::tempdir().unwrap();
    let docker = tmp.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    let bin = pass.bin();
    let secret = "PlantedPassSecret0123456789abcdef";
    pass.store("127.0.0.1:5001", "testuser", secret);
    std::fs::write(
        docker.join("config.json"),
        r#"{"credHelpers": {"127.0.0.1:5001": "passwrap", "missing.example:443": "passwrap"}}"#,
    )
    .unwrap();

    let mut config = Config::for_tests(docker.clone());
    config.env.path = Some(bin.clone().into_os_string());
    let ctx = Ctx::new(config, Secrets::default());
    let hosts = vec![
        "127.0.0.1:5001".to_string(),
        "missing.example:443".to_string(),
    ];
    let (report, creds) = run(&ctx, &hosts).await;

    let fact = report
        .verified
        .iter()
        .find(|v| v.starts_with("127.0.0.1:5001:"))
        .unwrap_or_else(|| panic!("no fact for the stored credential: {report:#?}"));
    assert_eq!(
        fact,
        "127.0.0.1:5001: helper `passwrap` (credHelpers) returned username/password for testuser"
    );
    let cred = creds[0].credential.as_ref().expect("credential found");
    assert_eq!(cred.kind(), CredentialKind::UsernamePassword);
    assert_eq!((cred.username(), cred.secret()), ("testuser", secret));
    assert_eq!(creds[0].problem, None);

    let missing: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.code == Code::HELPER_NO_CREDENTIALS)
        .collect();
    assert_eq!(missing.len(), 1, "{:#?}", report.findings);
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    assert_eq!(missing[0].severity, Severity::Error);
    assert!(
        missing[0].title.contains("missing.example:443"),
        "{}",
        missing[0].title
    );
    assert!(
        missing[0].message.contains("empty Username and Secret"),
        "{}",
        missing[0].message
    );
    assert_eq!(creds[1].problem, Some(Code::HELPER_NO_CREDENTIALS));

    for text in report
        .findings
        .iter()
        .flat_map(|f| [&f.title, &f.message, &f.fix])
        .chain(report.verified.iter())
    {
        assert!(!text.contains(secret), "secret leaked: {text}");
    }
    assert!(!format!("{report:?}").contains(secret));
    assert!(!format!("{creds:?}").contains(secret));
    assert_eq!(ctx.secrets.redact(secret), "***");
}
