//! P38: a `FROM` image on a registry the run does not check, whose credential docker
//! takes from a credential helper. The registry is the real distribution registry with
//! token auth; the helper is the real `docker-credential-pass` on a throwaway store
//! (through the `passwrap` wrapper of `credentials_pass.rs`), or a small failing script.

use crate::caches_and_refs::{all, job, text};
use crate::credentials_pass::PassStore;
use crate::support;
use crate::workflow_precision::{run_in, workspace_with};

use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use support::fixtures::Publisher;
use support::registry::{Kind, TestRegistry};
use support::token::TokenServer;

const PASSWORD: &str = "pw-base-Reader-7f3a9c";

/// A token-auth registry holding `team/base:1.1` and `team/base:1.2`, which `reader`
/// may pull with [`PASSWORD`], and an open registry the run checks.
struct Rig {
    ts: TokenServer,
    other: TestRegistry,
    checked: TestRegistry,
}

impl Rig {
    fn new() -> Rig {
        let ts = TokenServer::start();
        let other = TestRegistry::start_blocking(ts.registry_kind());
        support::block_on(async {
            let p = Publisher::new(&other.url()).with_token_server(&ts);
            p.single_image("team/base", "1.1").await;
            p.single_image("team/base", "1.2").await
        });
        ts.add_user("reader", PASSWORD);
        ts.grant("reader", "team/base", &["pull"]);
        ts.clear_requests();
        let checked = TestRegistry::start_blocking(Kind::Plain);
        Rig { ts, other, checked }
    }

    /// Runs the job with `dockerfile`, this docker config and `bin` first on PATH.
    fn run(&self, dockerfile: &str, docker_config: &str, bin: &Path) -> Value {
        let c = self.checked.host();
        let (ws, docker) = workspace_with(&job(&c, ""), docker_config);
        std::fs::write(ws.path().join("Dockerfile"), dockerfile).unwrap();
        let path = format!("{}:/usr/bin:/bin", bin.display());
        let inputs = [("registry", c.as_str()), ("auth-mode", "anonymous")];
        let run = run_in(ws.path(), &docker, "build", &inputs, &[("PATH", &path)]);
        assert!(!run.stdout.contains(PASSWORD), "{}", run.stdout);
        run.report
    }

    /// `{"credHelpers": {"<other>": "<helper>"}}`.
    fn config(&self, helper: &str) -> String {
        serde_json::json!({"credHelpers": {self.other.host(): helper}}).to_string()
    }

    /// Requests for the repository's tag list the registry answered.
    fn tag_lists(&self) -> usize {
        self.other
            .log()
            .lines()
            .filter(|l| l.contains("msg=\"response completed") && l.contains("/tags/list"))
            .count()
    }
}

/// The findings whose message or title mentions `needle`.
fn about<'a>(report: &'a Value, needle: &str) -> Vec<&'a Value> {
    report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| text(&f["message"]).contains(needle) || text(&f["title"]).contains(needle))
        .collect()
}

#[test]
fn a_from_host_credential_in_the_pass_helper_is_used_missing_tags_list_the_nearest() {
    let rig = Rig::new();
    let pass = PassStore::new();
    let o = rig.other.host();
    let config = rig.config("passwrap");

    // Nothing stored yet: the helper has none, so the lookup goes anonymous, as docker's
    // pull does, and the refusal names the login and the helper's answer.
    let report = rig.run(&format!("FROM {o}/team/base:1.1\n"), &config, &pass.bin());
    let login: Vec<&Value> = all(&report, "CRED_NOT_FOUND")
        .into_iter()
        .filter(|f| text(&f["title"]).starts_with("base image"))
        .collect();
    assert_eq!(login.len(), 1, "{report:#}");
    assert_eq!(
        text(&login[0]["title"]),
        format!("base image `{o}/team/base:1.1` needs a login to {o}")
    );
    assert!(
        text(&login[0]["message"]).contains(&format!(
            "without a credential: the docker config's helper `passwrap` (credHelpers) is asked for {o} and it has no credentials for `{o}` (an empty Username and Secret)"
        )),
        "{report:#}"
    );
    assert_eq!(pass.calls("get"), 1);

    // Stored (as `docker login` through the helper stores it): used, no finding, one
    // helper call for two images on the host, no tag list on the happy path.
    pass.store(&o, "reader", PASSWORD);
    let report = rig.run(
        &format!("FROM {o}/team/base:1.1 AS one\nFROM {o}/team/base:1.2\n"),
        &config,
        &pass.bin(),
    );
    assert!(about(&report, "team/base").is_empty(), "{report:#}");
    assert!(
        report.to_string().contains(&format!(
            "base image `{o}/team/base:1.1` (Dockerfile:1) is on {o}, which this run does not check: HEAD /v2/team/base/manifests/1.1 → HTTP 200, with username/password for reader from helper `passwrap` (credHelpers)"
        )),
        "{report:#}"
    );
    assert_eq!(pass.calls("get"), 2, "one call per run for the host");
    assert_eq!(rig.tag_lists(), 0);

    // A tag that does not exist: CONTEXT_NOT_FOUND at its FROM line, with the tags and
    // the nearest one, from one tag list read with the helper's credential.
    let report = rig.run(&format!("FROM {o}/team/base:1.3\n"), &config, &pass.bin());
    let missing = all(&report, "CONTEXT_NOT_FOUND");
    assert_eq!(missing.len(), 1, "{report:#}");
    let f = missing[0];
    assert_eq!(
        text(&f["title"]),
        format!("tag `1.3` does not exist in {o}/team/base")
    );
    assert_eq!(
        text(&f["message"]),
        format!(
            "Base image of Dockerfile:1 (`FROM {o}/team/base:1.3`, step `Build and push`). HEAD /v2/team/base/manifests/1.3 → HTTP 404. Tags (2): 1.1, 1.2"
        ),
        "{f:#}"
    );
    assert_eq!(
        text(&f["fix"]),
        format!(
            "The image comes from `FROM {o}/team/base:1.3` at Dockerfile:1: `1.3` is newer than every tag of its shape in {o}/team/base: was it pushed yet? Push it before this step, or use the newest one, `1.2`: `{o}/team/base:1.2`."
        ),
        "{f:#}"
    );
    assert_eq!(
        (f["file"].as_str(), f["line"].as_u64()),
        (Some("Dockerfile"), Some(1))
    );
    assert_eq!(rig.tag_lists(), 1);

    // The password rotated on the registry, the helper still holds the old one: the
    // token endpoint refuses it, which is the build's failure too.
    rig.ts.add_user("reader", "rotated-elsewhere");
    let report = rig.run(&format!("FROM {o}/team/base:1.1\n"), &config, &pass.bin());
    let rejected = all(&report, "CRED_REJECTED");
    assert_eq!(rejected.len(), 1, "{report:#}");
    let f = rejected[0];
    assert_eq!(f["severity"], "error");
    assert_eq!(
        text(&f["title"]),
        format!("{o} refused the credential docker would use")
    );
    assert!(
        text(&f["message"]).contains(
            "refused username/password for reader from helper `passwrap` (credHelpers): HTTP 401"
        ),
        "{f:#}"
    );
    assert_eq!(
        (f["file"].as_str(), f["line"].as_u64()),
        (Some("Dockerfile"), Some(1))
    );
}

#[test]
fn a_from_host_helper_that_fails_or_is_missing_is_reported_at_the_from_line() {
    let rig = Rig::new();
    let o = rig.other.host();
    let bin = tempfile::tempdir().unwrap();
    // What docker-credential-pass prints for a store that was never initialised.
    let broken = bin.path().join("docker-credential-broken");
    std::fs::write(
        &broken,
        "#!/bin/sh\necho 'pass not initialized: exit status 1: Error: password store is empty. Try \"pass init\".'\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&broken, std::fs::Permissions::from_mode(0o755)).unwrap();

    let report = rig.run(
        &format!("FROM {o}/team/base:1.1\n"),
        &rig.config("broken"),
        bin.path(),
    );
    let failed = all(&report, "HELPER_FAILED");
    assert_eq!(failed.len(), 1, "{report:#}");
    let f = failed[0];
    assert_eq!(f["severity"], "error");
    assert_eq!(
        text(&f["title"]),
        format!("credential helper `broken` failed for {o} (exit status 1)")
    );
    assert!(
        text(&f["message"]).starts_with(&format!(
            "Base image of Dockerfile:1 (`FROM {o}/team/base:1.1`, step `Build and push`). The build pulls `{o}/team/base:1.1` (Dockerfile:1) with the credential docker asks this helper for."
        )),
        "{f:#}"
    );
    assert!(
        text(&f["message"]).contains("password store is empty"),
        "{f:#}"
    );
    assert!(
        text(&f["fix"]).contains("pass init <key fingerprint>"),
        "{f:#}"
    );
    assert_eq!(
        (f["file"].as_str(), f["line"].as_u64()),
        (Some("Dockerfile"), Some(1))
    );
    // The registry was not asked: docker fails before any request.
    assert!(rig.ts.requests().is_empty(), "{report:#}");

    // A helper that is not installed.
    let report = rig.run(
        &format!("FROM {o}/team/base:1.1\n"),
        &rig.config("absent"),
        bin.path(),
    );
    let f = all(&report, "HELPER_NOT_FOUND");
    assert_eq!(f.len(), 1, "{report:#}");
    assert_eq!(
        text(&f[0]["title"]),
        format!(
            "credential helper `docker-credential-absent` (credHelpers[\"{o}\"]) is not installed"
        )
    );
    assert_eq!(f[0]["line"].as_u64(), Some(1), "{report:#}");
    assert_eq!(f[0]["file"].as_str(), Some("Dockerfile"), "{report:#}");
}

/// An ACR-shaped refresh token whose `exp` is `exp_offset` seconds from now.
fn refresh_token(exp_offset: i64) -> String {
    acr_preflight::jwt::unsigned_for_tests(&serde_json::json!({
        "exp": support::now_unix() + exp_offset,
        "iss": "Azure Container Registry",
    }))
}

/// CRED_EXPIRED for a `FROM` host: the real `docker-credential-pass` gives an identity
/// token (`<token>`, as `az acr login` stores it) whose `exp` has passed; the error is at
/// the `FROM` line and no request is made, since the registry would refuse it. A token
/// valid for hours stays quiet.
#[test]
fn a_from_host_helper_s_expired_token_is_cred_expired_at_the_from_line() {
    let rig = Rig::new();
    let pass = PassStore::new();
    let o = rig.other.host();
    let config = rig.config("passwrap");
    let expired = refresh_token(-3 * 3600 - 60);
    pass.store(&o, "<token>", &expired);
    let report = rig.run(&format!("FROM {o}/team/base:1.1\n"), &config, &pass.bin());
    assert!(!report.to_string().contains(&expired), "{report:#}");
    let found = all(&report, "CRED_EXPIRED");
    assert_eq!(found.len(), 1, "{report:#}");
    let f = found[0];
    assert_eq!(f["severity"], "error");
    assert_eq!(
        text(&f["title"]),
        format!("the credential for {o} expired 3 hours ago")
    );
    assert!(
        text(&f["message"]).starts_with(&format!(
            "Base image of Dockerfile:1 (`FROM {o}/team/base:1.1`, step `Build and push`). The build pulls `{o}/team/base:1.1` (Dockerfile:1) with the credential docker asks this helper for. The credential (an ACR refresh token from helper `passwrap` (credHelpers)) is a token that expired at "
        )) && text(&f["message"]).ends_with(" (3 hours ago); the registry rejects it (`unauthorized: authentication required`) and docker does not renew it."),
        "{f:#}"
    );
    assert!(
        text(&f["fix"]).starts_with("An ACR refresh token lasts about 3 hours"),
        "{f:#}"
    );
    assert_eq!(
        (f["file"].as_str(), f["line"].as_u64()),
        (Some("Dockerfile"), Some(1))
    );
    assert!(rig.ts.requests().is_empty(), "{report:#}");

    // Valid for five hours, less than the job's default limit of six: a notice at the
    // `FROM` line, and the image is still looked up.
    pass.store(&o, "<token>", &refresh_token(5 * 3600));
    let report = rig.run(&format!("FROM {o}/team/base:1.1\n"), &config, &pass.bin());
    let found = all(&report, "CRED_EXPIRED");
    assert_eq!(found.len(), 1, "{report:#}");
    assert_eq!(found[0]["severity"], "notice");
    assert_eq!(
        text(&found[0]["title"]),
        format!("the credential for {o} expires before the job's time limit")
    );
    assert_eq!(found[0]["line"].as_u64(), Some(1), "{report:#}");
    assert!(!rig.ts.requests().is_empty(), "{report:#}");

    // Valid for eight hours: quiet.
    pass.store(&o, "<token>", &refresh_token(8 * 3600));
    let report = rig.run(&format!("FROM {o}/team/base:1.1\n"), &config, &pass.bin());
    assert!(all(&report, "CRED_EXPIRED").is_empty(), "{report:#}");
}
