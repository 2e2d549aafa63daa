//! The docker-credentials check against small scripted helpers and hand-made configs.
//! Offline and deterministic: every helper lives in a temp bin dir that is the only
//! entry of the config's PATH, and every process a test starts is gone when it ends.

use acr_preflight::checks::Ctx;
use acr_preflight::checks::credentials::{
    CredentialKind, CredentialSource, HelperVia, HostCredential, run,
};
use acr_preflight::config::{AuthMode, Config, DockerConfigOrigin};
use acr_preflight::findings::{CheckReport, Code, Finding, Severity};
use acr_preflight::jwt;
use acr_preflight::secrets::Secrets;
use base64::Engine;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tempfile::TempDir;

const NULL_GUID: &str = "00000000-0000-0000-0000-000000000000";

struct Rig {
    _tmp: TempDir,
    root: PathBuf,
    bin: PathBuf,
    docker: PathBuf,
}

impl Rig {
    fn new() -> Rig {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        let bin = root.join("bin");
        let docker = root.join("docker");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&docker).unwrap();
        Rig {
            _tmp: tmp,
            root,
            bin,
            docker,
        }
    }

    /// Writes `bin/docker-credential-<name>` as a bash script.
    fn helper(&self, name: &str, body: &str) {
        let path = self.bin.join(format!("docker-credential-{name}"));
        std::fs::write(&path, format!("#!/bin/bash\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A helper that answers `get` with this user name and secret.
    fn answering_helper(&self, name: &str, username: &str, secret: &str) {
        self.helper(
            name,
            &format!(
                "[ \"$1\" = get ] || exit 2\nread -r server\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"%s\",\"Secret\":\"%s\"}}' \"$server\" '{username}' '{secret}'"
            ),
        );
    }

    fn config(&self, json: &str) {
        std::fs::write(self.docker.join("config.json"), json).unwrap();
    }

    fn config_path(&self) -> String {
        self.docker.join("config.json").display().to_string()
    }

    fn base_config(&self) -> Config {
        let mut config = Config::for_tests(self.docker.clone());
        config.env.path = Some(self.bin.clone().into_os_string());
        config
    }

    fn ctx(&self) -> Ctx {
        Ctx::new(self.base_config(), Secrets::default())
    }

    fn ctx_with(&self, edit: impl FnOnce(&mut Config)) -> Ctx {
        let mut config = self.base_config();
        edit(&mut config);
        Ctx::new(config, Secrets::default())
    }
}

fn hosts(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn jwt_expiring_at(exp: SystemTime, planted: &str) -> String {
    let exp = exp.duration_since(UNIX_EPOCH).unwrap().as_secs();
    jwt::unsigned_for_tests(&serde_json::json!({
        "exp": exp,
        "iss": "Azure Container Registry",
        "jti": planted,
    }))
}

fn only(report: &CheckReport, code: Code) -> &Finding {
    let matching: Vec<&Finding> = report.findings.iter().filter(|f| f.code == code).collect();
    assert_eq!(
        matching.len(),
        1,
        "expected one {code}, got {:#?}",
        report.findings
    );
    matching[0]
}

fn codes(report: &CheckReport) -> Vec<Code> {
    report.findings.iter().map(|f| f.code).collect()
}

/// No secret (nor a token holding it) in any finding, fact, or Debug output.
fn assert_no_leak(report: &CheckReport, creds: &[HostCredential], secrets: &[&str]) {
    let debug_report = format!("{report:?}");
    let debug_creds = format!("{creds:?}");
    for secret in secrets {
        for f in &report.findings {
            for text in [&f.title, &f.message, &f.fix] {
                assert!(
                    !text.contains(secret),
                    "secret in finding {}: {text}",
                    f.code
                );
            }
        }
        for fact in &report.verified {
            assert!(!fact.contains(secret), "secret in verified fact: {fact}");
        }
        assert!(!debug_report.contains(secret), "secret in report Debug");
        assert!(
            !debug_creds.contains(secret),
            "secret in HostCredential Debug"
        );
    }
}

#[tokio::test]
async fn hanging_helper_is_killed_within_the_deadline() {
    let rig = Rig::new();
    let pids = rig.root.join("pids");
    // The helper and the child it starts both record their pids, then hang.
    rig.helper(
        "hang",
        &format!(
            "echo $$ >> {p}\nsleep 30 &\necho $! >> {p}\nwait",
            p = pids.display()
        ),
    );
    rig.config(r#"{"credHelpers": {"myreg.azurecr.io": "hang"}}"#);
    let ctx = rig.ctx_with(|c| c.timeout = Duration::from_secs(2));

    let started = tokio::time::Instant::now();
    let (report, creds) = run(&ctx, &hosts(&["myreg.azurecr.io"])).await;
    let elapsed = started.elapsed();

    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    let f = only(&report, Code::HELPER_FAILED);
    assert_eq!(f.severity, Severity::Error);
    assert!(f.title.contains("did not answer"), "{}", f.title);
    assert!(
        f.message.contains("credHelpers[\"myreg.azurecr.io\"]"),
        "{}",
        f.message
    );
    assert!(f.message.contains("waited 1."), "{}", f.message);
    assert_eq!(creds[0].problem, Some(Code::HELPER_FAILED));

    // Both the helper and its child are gone (dead or a zombie waiting for init).
    let pid_list = std::fs::read_to_string(&pids).unwrap();
    let pid_list: Vec<&str> = pid_list.split_whitespace().collect();
    assert_eq!(pid_list.len(), 2, "{pid_list:?}");
    let give_up = tokio::time::Instant::now() + Duration::from_secs(5);
    for pid in pid_list {
        loop {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
            let alive = state.as_deref().is_some_and(|s| {
                let after = s.rsplit(')').next().unwrap_or("");
                !after.trim_start().starts_with('Z')
            });
            if !alive {
                break;
            }
            assert!(
                tokio::time::Instant::now() < give_up,
                "pid {pid} still running"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test]
async fn garbage_on_success_is_described_never_quoted() {
    let rig = Rig::new();
    let secret = "PlantedGarbageSecret0123456789abcdef";
    rig.helper("junk", &format!("echo 'not json: {secret} short'"));
    rig.config(r#"{"credsStore": "junk"}"#);
    let (report, creds) = run(&rig.ctx(), &hosts(&["127.0.0.1:5000"])).await;
    let f = only(&report, Code::HELPER_FAILED);
    assert!(f.title.contains("unreadable answer"), "{}", f.title);
    assert!(f.message.contains("bytes"), "{}", f.message);
    assert!(
        f.message.contains("not JSON at line 1 column"),
        "{}",
        f.message
    );
    assert!(!f.message.contains("short"), "stdout quoted: {}", f.message);
    assert!(matches!(
        creds[0].source,
        CredentialSource::Helper { ref name, via: HelperVia::CredsStore } if name == "junk"
    ));
    assert_no_leak(&report, &creds, &[secret]);
}

#[tokio::test]
async fn wrongly_shaped_json_is_garbage_without_quoting_serde() {
    let rig = Rig::new();
    let secret = "PlantedShapeSecret0123456789abcdef";
    rig.helper(
        "shape",
        &format!("echo '{{\"Username\": \"u\", \"Secret\": [\"{secret}\"]}}'"),
    );
    rig.config(r#"{"credsStore": "shape"}"#);
    let (report, creds) = run(&rig.ctx(), &hosts(&["127.0.0.1:5000"])).await;
    let f = only(&report, Code::HELPER_FAILED);
    assert!(f.message.contains("wrong shape"), "{}", f.message);
    assert_no_leak(&report, &creds, &[secret]);
}

#[tokio::test]
async fn failing_helper_is_quoted_redacted_and_bounded() {
    let rig = Rig::new();
    let secret = "PlantedExitSecret0123456789abcdef";
    let long = "x".repeat(500);
    rig.helper(
        "broken",
        &format!("echo 'pass not initialized: exit status 1:'\necho 'token {secret} rejected {long}'\necho 'on stderr' >&2\nexit 1"),
    );
    rig.config(r#"{"credHelpers": {"myreg.azurecr.io": "broken"}}"#);
    let (report, creds) = run(&rig.ctx(), &hosts(&["myreg.azurecr.io"])).await;
    let f = only(&report, Code::HELPER_FAILED);
    assert_eq!(f.severity, Severity::Error);
    assert!(f.title.contains("exit status 1"), "{}", f.title);
    assert!(
        f.message
            .contains("exit status 1: pass not initialized: exit status 1: token *** rejected"),
        "{}",
        f.message
    );
    assert!(!f.message.contains(&long), "quote not bounded");
    assert!(f.fix.contains("pass init"), "{}", f.fix);
    assert!(
        f.fix
            .contains("jq 'del(.credHelpers[\"myreg.azurecr.io\"])'"),
        "{}",
        f.fix
    );
    let loc = f.location.as_ref().unwrap();
    assert_eq!(
        (loc.file.as_str(), loc.line),
        (rig.config_path().as_str(), Some(1))
    );
    assert_no_leak(&report, &creds, &[secret]);
}

#[tokio::test]
async fn not_found_in_keychain_is_no_credentials_with_mode_dependent_severity() {
    let rig = Rig::new();
    rig.helper(
        "keychain",
        "echo 'credentials not found in native keychain'\nexit 1",
    );
    rig.config(
        r#"{
  "credsStore": "keychain"
}"#,
    );
    let host = hosts(&["myreg.azurecr.io"]);
    for (mode, severity) in [
        (AuthMode::Auto, Severity::Error),
        (AuthMode::DockerConfig, Severity::Error),
        (AuthMode::Anonymous, Severity::Notice),
        (AuthMode::Oidc, Severity::Warning),
    ] {
        let ctx = rig.ctx_with(|c| c.auth_mode = mode);
        let (report, creds) = run(&ctx, &host).await;
        let f = only(&report, Code::HELPER_NO_CREDENTIALS);
        assert_eq!(f.severity, severity, "{mode:?}");
        assert!(
            f.message
                .contains("credentials not found in native keychain"),
            "{}",
            f.message
        );
        assert!(
            f.message
                .contains("config.json:2 sets credsStore to \"keychain\""),
            "{}",
            f.message
        );
        assert!(f.fix.contains("az acr login -n myreg"), "{}", f.fix);
        assert!(f.fix.contains("--expose-token"), "{}", f.fix);
        assert!(
            f.fix
                .contains(&format!("export DOCKER_CONFIG={}", rig.docker.display())),
            "{}",
            f.fix
        );
        assert_eq!(creds[0].problem, Some(Code::HELPER_NO_CREDENTIALS));
        assert!(creds[0].credential.is_none());
    }
}

#[tokio::test]
async fn empty_answer_is_no_credentials() {
    let rig = Rig::new();
    rig.answering_helper("emptyish", "", "");
    rig.config(r#"{"credHelpers": {"127.0.0.1:5000": "emptyish"}}"#);
    let (report, creds) = run(&rig.ctx(), &hosts(&["127.0.0.1:5000"])).await;
    let f = only(&report, Code::HELPER_NO_CREDENTIALS);
    assert!(
        f.message.contains("empty Username and Secret"),
        "{}",
        f.message
    );
    assert!(f.fix.contains("docker login 127.0.0.1:5000"), "{}", f.fix);
    assert_eq!(creds[0].problem, Some(Code::HELPER_NO_CREDENTIALS));
}

#[tokio::test]
async fn expired_refresh_token_is_an_error_and_never_shown() {
    let rig = Rig::new();
    let planted = "PlantedExpiredSecret0123456789abcdef";
    let token = jwt_expiring_at(
        SystemTime::now() - Duration::from_secs(3 * 3600 + 60),
        planted,
    );
    rig.answering_helper("acr", NULL_GUID, &token);
    rig.config(r#"{"credHelpers": {"myreg.azurecr.io": "acr"}}"#);
    let (report, creds) = run(&rig.ctx(), &hosts(&["myreg.azurecr.io"])).await;
    let f = only(&report, Code::CRED_EXPIRED);
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("3 hours ago"), "{}", f.message);
    assert!(f.message.contains("Z ("), "expiry in UTC: {}", f.message);
    assert!(f.message.contains("ACR refresh token"), "{}", f.message);
    assert!(f.fix.contains("az acr login -n myreg"), "{}", f.fix);
    // The article is not doubled ("The an ACR …"), and the note on ACR tokens is a
    // line of its own before the commands, never appended to the last command.
    assert!(
        f.message
            .starts_with("The credential (an ACR refresh token"),
        "{}",
        f.message
    );
    assert!(
        f.fix
            .starts_with("An ACR refresh token lasts about 3 hours, so log in again right before the step that pulls or pushes.\n"),
        "{}",
        f.fix
    );
    assert!(
        f.fix
            .lines()
            .last()
            .is_some_and(|l| l.ends_with("--password-stdin")),
        "{}",
        f.fix
    );
    assert_eq!(creds[0].problem, Some(Code::CRED_EXPIRED));
    let cred = creds[0].credential.as_ref().unwrap();
    assert_eq!(cred.kind(), CredentialKind::IdentityToken);
    assert!(cred.is_acr_refresh_token());
    assert_eq!(cred.secret(), token);
    assert!(
        !report.verified.iter().any(|v| v.contains("myreg")),
        "{:?}",
        report.verified
    );
    assert_no_leak(&report, &creds, &[planted, &token, &token[..20]]);
}

#[tokio::test]
async fn soon_expiring_token_is_a_warning_and_a_good_one_is_verified() {
    let rig = Rig::new();
    let planted_soon = "PlantedSoonSecret0123456789abcdef";
    let planted_good = "PlantedGoodSecret0123456789abcdef";
    let soon = jwt_expiring_at(SystemTime::now() + Duration::from_secs(600), planted_soon);
    let good = jwt_expiring_at(
        SystemTime::now() + Duration::from_secs(3 * 3600),
        planted_good,
    );
    rig.answering_helper("soon", NULL_GUID, &soon);
    rig.answering_helper("good", NULL_GUID, &good);
    rig.config(r#"{"credHelpers": {"soon.azurecr.io": "soon", "good.azurecr.io": "good"}}"#);
    let (report, creds) = run(&rig.ctx(), &hosts(&["soon.azurecr.io", "good.azurecr.io"])).await;
    let f = only(&report, Code::CRED_EXPIRED);
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.title.contains("soon.azurecr.io"), "{}", f.title);
    assert!(
        f.message.contains("in 9 minutes") || f.message.contains("in 10 minutes"),
        "{}",
        f.message
    );
    assert_eq!(creds[0].problem, None);
    assert_eq!(creds[1].problem, None);
    let fact = report
        .verified
        .iter()
        .find(|v| v.starts_with("good.azurecr.io:"))
        .expect("verified fact for good");
    assert!(
        fact.contains(&format!("helper `good` (credHelpers) returned an ACR refresh token for {NULL_GUID}, valid until 20")),
        "{fact}"
    );
    assert!(
        fact.contains("(in 2 hours)") || fact.contains("(in 3 hours)"),
        "{fact}"
    );
    assert_eq!(report.status(), acr_preflight::findings::Status::Warn);
    assert_no_leak(&report, &creds, &[planted_soon, planted_good, &soon, &good]);
}

#[tokio::test]
async fn token_username_means_identity_token() {
    let rig = Rig::new();
    let secret = "PlantedIdentitySecret0123456789abcdef";
    rig.answering_helper("tok", "<token>", secret);
    rig.config(r#"{"credsStore": "tok"}"#);
    let (report, creds) = run(&rig.ctx(), &hosts(&["ghcr.io"])).await;
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    let cred = creds[0].credential.as_ref().unwrap();
    assert_eq!(cred.kind(), CredentialKind::IdentityToken);
    assert_eq!(cred.username(), "");
    assert_eq!(cred.secret(), secret);
    assert!(
        report
            .verified
            .iter()
            .any(|v| v == "ghcr.io: helper `tok` (credsStore) returned an identity token"),
        "{:?}",
        report.verified
    );
    assert_no_leak(&report, &creds, &[secret]);
    // The secret was registered the moment it was read.
    assert_eq!(
        rig.ctx().secrets.redact(secret),
        secret,
        "fresh ctx knows nothing"
    );
}

#[tokio::test]
async fn helper_secret_is_registered_with_the_run_secrets() {
    let rig = Rig::new();
    let secret = "PlantedRegisteredSecret0123456789abcdef";
    rig.answering_helper("reg", "someone", secret);
    rig.config(r#"{"credsStore": "reg"}"#);
    let ctx = rig.ctx();
    let (_report, creds) = run(&ctx, &hosts(&["127.0.0.1:5000"])).await;
    assert_eq!(
        creds[0].credential.as_ref().unwrap().kind(),
        CredentialKind::UsernamePassword
    );
    assert_eq!(ctx.secrets.redact(&format!("x {secret} y")), "x *** y");
}

#[tokio::test]
async fn missing_helper_names_the_key_and_the_fix() {
    let rig = Rig::new();
    rig.config(
        r#"{
  "auths": {},
  "credsStore": "desktop"
}"#,
    );
    let (report, creds) = run(&rig.ctx(), &hosts(&["myreg.azurecr.io", "docker.io"])).await;
    let f = only(&report, Code::HELPER_NOT_FOUND);
    assert_eq!(f.severity, Severity::Error);
    assert!(f.title.contains("docker-credential-desktop"), "{}", f.title);
    assert!(
        f.message
            .contains("config.json:3 sets credsStore to \"desktop\""),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("myreg.azurecr.io, docker.io"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("including anonymous pulls"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains(&rig.bin.display().to_string()),
        "{}",
        f.message
    );
    assert!(f.fix.contains("jq 'del(.credsStore)'"), "{}", f.fix);
    assert_eq!(f.location.as_ref().unwrap().line, Some(3));
    assert_eq!(creds.len(), 2);
    assert_eq!(creds[1].key, "https://index.docker.io/v1/");
    assert!(
        creds
            .iter()
            .all(|c| c.problem == Some(Code::HELPER_NOT_FOUND))
    );
}

#[tokio::test]
async fn missing_creds_store_is_reported_even_without_hosts() {
    let rig = Rig::new();
    rig.config(r#"{"credsStore": "pass"}"#);
    let (report, creds) = run(&rig.ctx(), &[]).await;
    let f = only(&report, Code::HELPER_NOT_FOUND);
    assert!(f.fix.contains("pass init"), "{}", f.fix);
    assert!(creds.is_empty());
}

#[tokio::test]
async fn invalid_helper_name_is_never_executed() {
    let rig = Rig::new();
    let marker = rig.root.join("executed");
    // What `docker-credential-../evil` would resolve to from the bin dir.
    let trap_dir = rig.bin.join("docker-credential-..");
    std::fs::create_dir_all(&trap_dir).unwrap();
    let trap = trap_dir.join("evil");
    std::fs::write(&trap, format!("#!/bin/bash\ntouch {}\n", marker.display())).unwrap();
    std::fs::set_permissions(&trap, std::fs::Permissions::from_mode(0o755)).unwrap();
    rig.config(
        r#"{"credHelpers": {"myreg.azurecr.io": "../evil", "other.example": "with space"}}"#,
    );
    let (report, creds) = run(&rig.ctx(), &hosts(&["myreg.azurecr.io", "other.example"])).await;
    assert_eq!(
        codes(&report),
        vec![Code::DOCKER_CONFIG_INVALID, Code::DOCKER_CONFIG_INVALID]
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.location.as_ref().unwrap().line == Some(1))
    );
    assert!(!marker.exists(), "the invalid helper was executed");
    assert!(
        creds
            .iter()
            .all(|c| c.problem == Some(Code::DOCKER_CONFIG_INVALID))
    );
}

#[tokio::test]
async fn malformed_config_points_at_line_and_column() {
    let rig = Rig::new();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/credentials/malformed.json"),
        rig.docker.join("config.json"),
    )
    .unwrap();
    let (report, creds) = run(&rig.ctx(), &hosts(&["127.0.0.1:5000"])).await;
    let f = only(&report, Code::DOCKER_CONFIG_INVALID);
    assert_eq!(f.severity, Severity::Error);
    let loc = f.location.as_ref().unwrap();
    assert_eq!(loc.line, Some(8));
    assert!(loc.column.is_some());
    assert!(
        f.message.contains(&format!("{}:8:", rig.config_path())),
        "{}",
        f.message
    );
    assert!(report.inconclusive);
    assert_eq!(report.status(), acr_preflight::findings::Status::Fail);
    assert!(matches!(creds[0].source, CredentialSource::NoConfig { .. }));
    assert_eq!(creds[0].problem, Some(Code::DOCKER_CONFIG_INVALID));
    assert_no_leak(
        &report,
        &creds,
        &[
            "PlantedMalformedSecret0123456789abcdef",
            "dGVzdHVzZXI6UGxhbnRl",
        ],
    );
}

#[tokio::test]
async fn wrongly_typed_config_names_each_key_and_line() {
    let rig = Rig::new();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/credentials/wrong-types.json"),
        rig.docker.join("config.json"),
    )
    .unwrap();
    let ctx = rig.ctx();
    let (report, creds) = run(&ctx, &hosts(&["myreg.azurecr.io"])).await;
    let found: Vec<(String, Option<u32>)> = report
        .findings
        .iter()
        .map(|f| (f.title.clone(), f.location.as_ref().and_then(|l| l.line)))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "invalid credsStore in the docker config.json".to_string(),
                Some(2)
            ),
            (
                "invalid credHelpers[\"myreg.azurecr.io\"] in the docker config.json".to_string(),
                Some(4)
            ),
            (
                "invalid auths[\"bad-base64.example\"].auth in the docker config.json".to_string(),
                Some(7)
            ),
            (
                "invalid auths[\"no-colon.example\"].auth in the docker config.json".to_string(),
                Some(8)
            ),
            (
                "invalid auths[\"token.example\"].identitytoken in the docker config.json"
                    .to_string(),
                Some(9)
            ),
        ]
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.code == Code::DOCKER_CONFIG_INVALID)
    );
    assert!(report.findings[3].message.contains("without `:`"));
    assert!(
        report.findings[0].fix.contains("jq 'del(.credsStore)'"),
        "{}",
        report.findings[0].fix
    );
    assert_no_leak(
        &report,
        &creds,
        &[
            "PlantedWrongTypesSecret0123456789abcdef",
            "UGxhbnRlZFdyb25n",
            "12345",
        ],
    );
    // Read secrets were registered even though the file is invalid.
    assert_eq!(
        ctx.secrets
            .redact("PlantedWrongTypesSecret0123456789abcdef"),
        "***"
    );
}

#[tokio::test]
async fn missing_config_is_a_notice_or_an_error_and_never_a_pass() {
    let rig = Rig::new();
    let ctx = rig.ctx_with(|c| c.auth_mode = AuthMode::Oidc);
    let (report, creds) = run(&ctx, &hosts(&["myreg.azurecr.io"])).await;
    let f = only(&report, Code::DOCKER_CONFIG_MISSING);
    assert_eq!(f.severity, Severity::Notice);
    assert!(f.message.contains(&rig.config_path()), "{}", f.message);
    assert!(f.message.contains("--docker-config"), "{}", f.message);
    assert!(report.inconclusive);
    assert_eq!(report.status(), acr_preflight::findings::Status::Skipped);
    assert_eq!(creds[0].problem, Some(Code::DOCKER_CONFIG_MISSING));

    let ctx = rig.ctx_with(|c| {
        c.docker_config.origin = DockerConfigOrigin::Env;
        c.env.github_actions = true;
        c.env.container = Some(container(Some("/github/runner_temp")));
    });
    let (report, _) = run(&ctx, &hosts(&["myreg.azurecr.io"])).await;
    let f = only(&report, Code::DOCKER_CONFIG_MISSING);
    assert_eq!(
        f.severity,
        Severity::Error,
        "auto without Azure identity = docker-config"
    );
    assert!(f.message.contains("$DOCKER_CONFIG"), "{}", f.message);
    assert!(
        f.message.contains("cannot see the runner's `~/.docker`"),
        "{}",
        f.message
    );
    // DOCKER_CONFIG was set and is visible: the advice is about the login step, not a
    // directory the user already chose.
    assert!(!f.fix.contains("runner.temp"), "{}", f.fix);
    assert!(f.fix.contains("same DOCKER_CONFIG"), "{}", f.fix);
    assert!(f.fix.contains("az acr login -n myreg"), "{}", f.fix);

    // $HOME/.docker on a runner that mounts its temp dir: runner.temp is the shared place.
    let home = |temp: Option<&str>| {
        rig.ctx_with(|c| {
            c.env.github_actions = true;
            c.env.container = Some(container(temp));
            c.docker_config.origin = DockerConfigOrigin::Home;
        })
    };
    let (report, _) = run(
        &home(Some("/github/runner_temp")),
        &hosts(&["myreg.azurecr.io"]),
    )
    .await;
    let f = only(&report, Code::DOCKER_CONFIG_MISSING);
    assert!(
        f.fix.contains("DOCKER_CONFIG: ${{ runner.temp }}/docker"),
        "{}",
        f.fix
    );
    // On an older runner (RUNNER_TEMP untranslated) runner.temp is not shared: the
    // workspace or host mode.
    let (report, _) = run(
        &home(Some("/home/runner/work/_temp")),
        &hosts(&["myreg.azurecr.io"]),
    )
    .await;
    let f = only(&report, Code::DOCKER_CONFIG_MISSING);
    assert!(!f.fix.contains("runner.temp"), "{}", f.fix);
    assert!(
        f.fix
            .contains("DOCKER_CONFIG: ${{ github.workspace }}/.docker-ci"),
        "{}",
        f.fix
    );
    assert!(
        f.fix.contains("acr-preflight/acr-preflight/host@v0"),
        "{}",
        f.fix
    );
}

fn container(runner_temp: Option<&str>) -> acr_preflight::action_container::ActionContainer {
    acr_preflight::action_container::ActionContainer::detect(
        true,
        Some("/github/workspace"),
        runner_temp,
    )
    .unwrap()
}

#[tokio::test]
async fn an_untranslated_runner_temp_docker_config_is_named_with_both_working_fixes() {
    let rig = Rig::new();
    let ctx = rig.ctx_with(|c| {
        c.env.github_actions = true;
        c.env.container = Some(container(Some("/home/runner/work/_temp")));
        c.docker_config.origin = DockerConfigOrigin::Env;
        c.docker_config.dir = "/home/runner/work/_temp/docker".into();
    });
    let (report, creds) = run(&ctx, &hosts(&["myreg.azurecr.io"])).await;
    let f = only(&report, Code::CONTAINER_PATH_UNMOUNTED);
    assert_eq!(
        f.severity,
        Severity::Warning,
        "docker-config mode depends on it, but the build may see it"
    );
    assert!(
        f.title.contains("/home/runner/work/_temp/docker"),
        "{}",
        f.title
    );
    assert!(f.message.contains("v2.329.0"), "{}", f.message);
    assert!(f.message.contains("runner.temp"), "{}", f.message);
    assert!(
        !f.fix.contains("runner.temp"),
        "never the advice already followed: {}",
        f.fix
    );
    assert!(f.fix.contains("${{ github.workspace }}"), "{}", f.fix);
    assert!(
        f.fix.contains("acr-preflight/acr-preflight/host@v0"),
        "{}",
        f.fix
    );
    assert!(report.inconclusive);
    assert_eq!(creds[0].problem, Some(Code::CONTAINER_PATH_UNMOUNTED));
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.code != Code::DOCKER_CONFIG_MISSING)
    );

    // The same path outside a container is simply missing.
    let ctx = rig.ctx_with(|c| {
        c.docker_config.origin = DockerConfigOrigin::Env;
        c.docker_config.dir = "/home/runner/work/_temp/docker".into();
    });
    let (report, _) = run(&ctx, &hosts(&["myreg.azurecr.io"])).await;
    only(&report, Code::DOCKER_CONFIG_MISSING);
}

#[tokio::test]
async fn a_helper_only_the_runner_has_is_unverifiable_not_missing() {
    let rig = Rig::new();
    rig.config(r#"{"credHelpers": {"myreg.azurecr.io": "acr-env"}}"#);
    let in_container = |mode: AuthMode| {
        rig.ctx_with(|c| {
            c.env.github_actions = true;
            c.env.container = Some(container(Some("/github/runner_temp")));
            c.auth_mode = mode;
        })
    };
    let (report, creds) = run(&in_container(AuthMode::Auto), &hosts(&["myreg.azurecr.io"])).await;
    let f = only(&report, Code::HELPER_UNVERIFIABLE);
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.title.contains("docker-credential-acr-env"), "{}", f.title);
    assert!(
        f.fix.contains("acr-preflight/acr-preflight/host@v0"),
        "{}",
        f.fix
    );
    assert!(!f.fix.contains("Install"), "{}", f.fix);
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.code != Code::HELPER_NOT_FOUND)
    );
    assert_eq!(creds[0].problem, Some(Code::HELPER_UNVERIFIABLE));

    // With an Azure identity the build's credential does not come from the helper.
    let (report, _) = run(&in_container(AuthMode::Oidc), &hosts(&["myreg.azurecr.io"])).await;
    assert_eq!(
        only(&report, Code::HELPER_UNVERIFIABLE).severity,
        Severity::Notice
    );

    // Outside a container a missing helper is missing.
    let (report, _) = run(&rig.ctx(), &hosts(&["myreg.azurecr.io"])).await;
    assert_eq!(
        only(&report, Code::HELPER_NOT_FOUND).severity,
        Severity::Error
    );

    // A helper that cannot exist on a Linux runner stays an error in a container too.
    rig.config(r#"{"credsStore": "desktop"}"#);
    let (report, _) = run(&in_container(AuthMode::Auto), &hosts(&["myreg.azurecr.io"])).await;
    assert_eq!(
        only(&report, Code::HELPER_NOT_FOUND).severity,
        Severity::Error
    );
}

#[tokio::test]
async fn file_store_credentials_are_verified_without_secrets() {
    let rig = Rig::new();
    let secret = "PlantedFileSecret0123456789abcdef";
    let hub_secret = "PlantedHubSecret0123456789abcdef";
    rig.config(&format!(
        r#"{{
  "auths": {{
    "127.0.0.1:5000": {{ "auth": "{a}" }},
    "https://legacy.example/v1/": {{ "username": "olduser", "password": "{secret}" }},
    "https://index.docker.io/v1/": {{ "auth": "{h}" }}
  }}
}}"#,
        a = b64(&format!("testuser:{secret}")),
        h = b64(&format!("hubuser:{hub_secret}")),
    ));
    let (report, creds) = run(
        &rig.ctx(),
        &hosts(&["127.0.0.1:5000", "legacy.example", "docker.io"]),
    )
    .await;
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    let path = rig.config_path();
    assert!(
        report.verified.contains(&format!(
            "auths[\"127.0.0.1:5000\"] in {path}:3 holds username/password for testuser"
        )),
        "{:?}",
        report.verified
    );
    assert!(
        report
            .verified
            .iter()
            .any(|v| v.starts_with("auths[\"https://legacy.example/v1/\"]")
                && v.contains("legacy key")),
        "{:?}",
        report.verified
    );
    assert!(
        report
            .verified
            .iter()
            .any(|v| v.contains("hubuser") && v.contains("used for docker.io")),
        "{:?}",
        report.verified
    );
    assert_eq!(
        creds[1].source,
        CredentialSource::File {
            path: rig.docker.join("config.json"),
            key: Some("https://legacy.example/v1/".into())
        }
    );
    assert_eq!(creds[0].credential.as_ref().unwrap().secret(), secret);
    assert_no_leak(
        &report,
        &creds,
        &[secret, hub_secret, &b64(&format!("testuser:{secret}"))],
    );
}

#[tokio::test]
async fn absent_entry_is_cred_not_found() {
    let rig = Rig::new();
    rig.config(
        r#"{
  "credsStore": "desktop",
  "credHelpers": { "myreg.azurecr.io": "" },
  "auths": { "other.example": {} }
}"#,
    );
    rig.helper("desktop", "exit 3");
    let ctx = rig.ctx_with(|c| c.auth_mode = AuthMode::ManagedIdentity);
    let (report, creds) = run(&ctx, &hosts(&["myreg.azurecr.io"])).await;
    let f = only(&report, Code::CRED_NOT_FOUND);
    assert_eq!(f.severity, Severity::Warning);
    assert!(
        f.message
            .contains("credHelpers[\"myreg.azurecr.io\"] is \"\""),
        "{}",
        f.message
    );
    assert!(f.message.contains("`other.example`"), "{}", f.message);
    assert_eq!(f.location.as_ref().unwrap().line, Some(3));
    assert_eq!(
        creds[0].source,
        CredentialSource::File {
            path: rig.docker.join("config.json"),
            key: None
        }
    );
    // The credsStore helper is not asked for a host that has its own entry.
    assert_eq!(codes(&report), vec![Code::CRED_NOT_FOUND]);
}

#[tokio::test]
async fn helpers_run_once_per_key_and_concurrently() {
    let rig = Rig::new();
    let calls = rig.root.join("calls");
    std::fs::create_dir_all(&calls).unwrap();
    let log = rig.root.join("log");
    // Each call registers itself, then waits (bounded) until two calls are running:
    // run one after the other, the first would wait out its timeout and fail.
    rig.helper(
        "barrier",
        &format!(
            "read -r server\necho \"$server\" >> {log}\nmktemp {calls}/call.XXXX >/dev/null\n\
             for i in $(seq 200); do [ \"$(ls {calls} | wc -l)\" -ge 2 ] && break; sleep 0.02; done\n\
             [ \"$(ls {calls} | wc -l)\" -ge 2 ] || exit 7\n\
             printf '{{\"ServerURL\":\"%s\",\"Username\":\"u\",\"Secret\":\"PlantedBarrierSecret-%s\"}}' \"$server\" \"$server\"",
            log = log.display(),
            calls = calls.display()
        ),
    );
    rig.config(r#"{"credsStore": "barrier"}"#);
    let (report, creds) = run(
        &rig.ctx(),
        &hosts(&["docker.io", "index.docker.io", "myreg.azurecr.io"]),
    )
    .await;
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    let mut logged: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    logged.sort();
    assert_eq!(
        logged,
        vec!["https://index.docker.io/v1/", "myreg.azurecr.io"]
    );
    assert_eq!(creds.len(), 3);
    assert_eq!(creds[0].credential, creds[1].credential);
    assert_eq!(creds[0].key, creds[1].key);
    assert_no_leak(&report, &creds, &["PlantedBarrierSecret"]);
}

#[tokio::test]
async fn answer_printed_before_a_failure_is_masked_in_the_quote() {
    let rig = Rig::new();
    // Short and not token-like: only registration can keep it out of the quote.
    let secret = "pl4nted-pw";
    rig.helper(
        "half",
        &format!("read -r s\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"u\",\"Secret\":\"{secret}\"}}' \"$s\"\nexit 1"),
    );
    rig.config(r#"{"credsStore": "half"}"#);
    let (report, creds) = run(&rig.ctx(), &hosts(&["127.0.0.1:5000"])).await;
    let f = only(&report, Code::HELPER_FAILED);
    assert!(f.message.contains("\"Secret\":\"***\""), "{}", f.message);
    assert!(creds[0].credential.is_none());
    assert_no_leak(&report, &creds, &[secret]);
}
