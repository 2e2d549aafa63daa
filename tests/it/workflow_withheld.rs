//! Runs that get no secrets (issue 13, P2/P3): a pull request from a fork and a
//! Dependabot run, whatever the auth mode. The logins and pushes that would fail are
//! named on their lines with the `if:` guard, guarded steps are left alone, and an
//! identity input that a withheld or undefined secret left empty is named as such
//! instead of silently turning the run into a docker-config check.

use crate::workflow_precision::{Run, find, findings, position, run};
use serde_json::Value;

const WORKFLOW: &str = "name: build
on: [push, pull_request]
jobs:
  build:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      id-token: write
    steps:
      - id: pre
        uses: acr-preflight/acr-preflight@v0
        with:
          client-id: ${{ secrets.AZURE_CLIENT_ID }}
          registry: myreg.azurecr.io
      - uses: docker/login-action@v3
        with:
          registry: myreg.azurecr.io
          username: ${{ secrets.ACR_USER }}
          password: ${{ secrets.ACR_PASSWORD }}
      - name: guarded login
        if: github.event.pull_request.head.repo.fork != true
        run: docker login ghcr.io -u me -p \"$TOKEN\"
      - uses: docker/build-push-action@v6
        with:
          push: true
          tags: myreg.azurecr.io/app:1
";

fn event(dir: &std::path::Path, payload: &str) -> String {
    let path = dir.join("event.json");
    std::fs::write(&path, payload).unwrap();
    path.display().to_string()
}

const FORK_PR: &str = r#"{"pull_request":{"number":7,"head":{"repo":{"full_name":"stranger/app","fork":true}},"base":{"repo":{"full_name":"org/app"}}},"sender":{"login":"stranger"}}"#;

/// Job `build` of `workflow` run on a fork's pull request, with `inputs`: the run and
/// its WORKFLOW_SECRETS_WITHHELD finding.
fn withheld_on_fork(workflow: &str, inputs: &[(&str, &str)]) -> (Run, Value) {
    let dir = tempfile::tempdir().unwrap();
    let path = event(dir.path(), FORK_PR);
    let r = run(
        workflow,
        "build",
        inputs,
        &[
            ("GITHUB_EVENT_NAME", "pull_request"),
            ("GITHUB_EVENT_PATH", &path),
        ],
    );
    let f = find(&r.report, "WORKFLOW_SECRETS_WITHHELD")
        .unwrap_or_else(|| panic!("no WORKFLOW_SECRETS_WITHHELD:\n{}", r.stdout))
        .clone();
    (r, f)
}

#[test]
fn a_fork_pull_request_names_each_unguarded_login_and_push_with_the_guard() {
    let (r, f) = withheld_on_fork(
        WORKFLOW,
        &[("registry", "myreg.azurecr.io"), ("client-id", "")],
    );
    assert_eq!(f["severity"], "notice", "{f}");
    let message = f["message"].as_str().unwrap();
    // A login is located where its registry is written.
    let login_line = position(WORKFLOW, "username: ${{ secrets.ACR_USER").0 - 1;
    let (push_line, _) = position(WORKFLOW, "tags: myreg");
    assert!(message.contains("fork stranger/app"), "{message}");
    assert!(
        message.contains(&format!("(line {login_line}) logs in to myreg.azurecr.io")),
        "{message}"
    );
    assert!(
        message.contains(&format!(
            "(line {push_line}) pushes `myreg.azurecr.io/app:1`"
        )),
        "{message}"
    );
    // The step that already guards on the fork is not named.
    assert!(!message.contains("ghcr.io"), "{message}");
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("if: github.event.pull_request.head.repo.fork != true"),
        "{fix}"
    );
    assert!(
        fix.contains("push: ${{ github.event.pull_request.head.repo.fork != true }}"),
        "{fix}"
    );
    // Pointed at the first affected line.
    assert_eq!(f["line"].as_u64(), Some(login_line), "{f}");

    // The empty client id is named as the withheld secret, as a notice.
    let empty = find(&r.report, "WORKFLOW_INPUT_EMPTY")
        .unwrap_or_else(|| panic!("no WORKFLOW_INPUT_EMPTY:\n{}", r.stdout));
    assert_eq!(empty["severity"], "notice", "{empty}");
    assert_eq!(
        empty["line"].as_u64(),
        Some(position(WORKFLOW, "client-id:").0),
        "{empty}"
    );
    assert!(
        empty["title"]
            .as_str()
            .unwrap()
            .contains("`${{ secrets.AZURE_CLIENT_ID }}` resolved to nothing"),
        "{empty}"
    );
    assert!(
        empty["message"]
            .as_str()
            .unwrap()
            .contains("checked the docker config the build reads instead"),
        "{empty}"
    );
}

#[test]
fn a_dependabot_run_gets_the_dependabot_guard_and_secret_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = event(
        dir.path(),
        r#"{"ref":"refs/heads/dependabot/npm/x","sender":{"login":"dependabot[bot]"}}"#,
    );
    let r = run(
        WORKFLOW,
        "build",
        &[
            ("registry", "myreg.azurecr.io"),
            ("auth-mode", "docker-config"),
        ],
        &[("GITHUB_EVENT_NAME", "push"), ("GITHUB_EVENT_PATH", &path)],
    );
    let f = find(&r.report, "WORKFLOW_SECRETS_WITHHELD")
        .unwrap_or_else(|| panic!("no WORKFLOW_SECRETS_WITHHELD:\n{}", r.stdout));
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("triggered by Dependabot"), "{message}");
    // Under Dependabot the fork guard is no guard: the ghcr.io login is named too.
    assert!(message.contains("logs in to ghcr.io"), "{message}");
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("if: github.actor != 'dependabot[bot]'"),
        "{fix}"
    );
    assert!(fix.contains("Dependabot secrets"), "{fix}");
}

#[test]
fn an_undefined_secret_on_an_ordinary_push_is_an_error_and_nothing_is_withheld() {
    let r = run(
        WORKFLOW,
        "build",
        &[("registry", "myreg.azurecr.io"), ("client-id", "")],
        &[],
    );
    assert!(
        find(&r.report, "WORKFLOW_SECRETS_WITHHELD").is_none(),
        "{}",
        r.stdout
    );
    let empty = find(&r.report, "WORKFLOW_INPUT_EMPTY")
        .unwrap_or_else(|| panic!("no WORKFLOW_INPUT_EMPTY:\n{}", r.stdout));
    assert_eq!(empty["severity"], "error", "{empty}");
    assert!(
        empty["fix"].as_str().unwrap().contains("secrets: inherit"),
        "{empty}"
    );
    assert_eq!(r.status, 1, "{}", r.stdout);
    // A client id that was received is not reported.
    let given = run(
        WORKFLOW,
        "build",
        &[
            ("registry", "myreg.azurecr.io"),
            ("client-id", "00000000-0000-0000-0000-0000000000aa"),
            ("auth-mode", "docker-config"),
        ],
        &[],
    );
    assert!(
        findings(&given.report)
            .iter()
            .all(|f| f["code"] != "WORKFLOW_INPUT_EMPTY"),
        "{}",
        given.stdout
    );
}

/// An azure/login after acr-preflight whose identity comes from secrets.
const AZURE_WORKFLOW: &str = "name: build
on: [push, pull_request]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - id: pre
        uses: acr-preflight/acr-preflight@v0
        with:
          registry: myreg.azurecr.io
          auth-mode: docker-config
      - uses: azure/login@v2
        with:
          client-id: ${{ secrets.AZURE_CLIENT_ID }}
          tenant-id: ${{ secrets.AZURE_TENANT_ID }}
          subscription-id: ${{ vars.AZURE_SUBSCRIPTION_ID }}
      - name: guarded azure login
        if: github.actor != 'dependabot[bot]' && github.event.pull_request.head.repo.fork != true
        uses: azure/login@v2
        with:
          creds: ${{ secrets.AZURE_CREDENTIALS }}
      - run: az acr build -r myreg -t app:1 .
";

#[test]
fn an_azure_login_reading_secrets_is_named_on_a_fork_and_under_dependabot_from_the_actor() {
    let (_, f) = withheld_on_fork(AZURE_WORKFLOW, &[]);
    let (line, _) = position(AZURE_WORKFLOW, "client-id: ${{ secrets.AZURE_CLIENT_ID");
    assert_eq!(f["line"].as_u64(), Some(line), "{f}");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "step 2 `azure/login@v2` (line {line}) signs in to Azure with `client-id: ${{{{ secrets.AZURE_CLIENT_ID }}}}`, which reads as empty"
        )),
        "{message}"
    );
    // The guarded azure/login is not named.
    assert!(!message.contains("AZURE_CREDENTIALS"), "{message}");

    // Dependabot with no readable payload: GITHUB_ACTOR decides, and the fork guard of
    // the second azure/login still guards it (its `if:` names the actor).
    let r = run(
        AZURE_WORKFLOW,
        "build",
        &[],
        &[
            ("GITHUB_EVENT_PATH", "/nonexistent/event.json"),
            ("GITHUB_ACTOR", "dependabot[bot]"),
        ],
    );
    let f = find(&r.report, "WORKFLOW_SECRETS_WITHHELD")
        .unwrap_or_else(|| panic!("no WORKFLOW_SECRETS_WITHHELD:\n{}", r.stdout));
    let message = f["message"].as_str().unwrap();
    assert!(message.contains("triggered by Dependabot"), "{message}");
    assert!(
        message.contains("signs in to Azure with `client-id"),
        "{message}"
    );
    assert!(!message.contains("AZURE_CREDENTIALS"), "{message}");
    let fix = f["fix"].as_str().unwrap();
    assert!(
        fix.contains("Settings → Secrets and variables → Dependabot"),
        "{fix}"
    );
    assert!(
        fix.contains("if: github.actor != 'dependabot[bot]'"),
        "{fix}"
    );
}

#[test]
fn an_azure_login_on_an_ordinary_push_or_by_a_human_is_not_named() {
    // A push by a person, no payload: nothing is withheld.
    let r = run(
        AZURE_WORKFLOW,
        "build",
        &[],
        &[
            ("GITHUB_ACTOR", "alice"),
            ("GITHUB_TRIGGERING_ACTOR", "alice"),
        ],
    );
    assert!(
        find(&r.report, "WORKFLOW_SECRETS_WITHHELD").is_none(),
        "{}",
        r.stdout
    );
    // The payload names a human sender: GITHUB_ACTOR is not consulted.
    let dir = tempfile::tempdir().unwrap();
    let path = event(dir.path(), r#"{"sender":{"login":"alice"}}"#);
    let r = run(
        AZURE_WORKFLOW,
        "build",
        &[],
        &[
            ("GITHUB_EVENT_PATH", &path),
            ("GITHUB_ACTOR", "dependabot[bot]"),
        ],
    );
    assert!(
        find(&r.report, "WORKFLOW_SECRETS_WITHHELD").is_none(),
        "{}",
        r.stdout
    );
}

const AZ_SCRIPT_WORKFLOW: &str = "name: build
on: [push, pull_request]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - id: pre
        uses: acr-preflight/acr-preflight@v0
        with:
          registry: myreg.azurecr.io
          auth-mode: docker-config
      - name: Sign in
        run: az login --service-principal -u ${{ secrets.SP_ID }} -p \"$SP_SECRET\" --tenant contoso.onmicrosoft.com
      - name: Sign in with OIDC
        run: az login --service-principal -u 11111111-2222-3333-4444-555555555555 --tenant contoso.onmicrosoft.com --federated-token \"$ID_TOKEN\"
      - name: Guarded
        if: github.event.pull_request.head.repo.fork != true
        run: az login --service-principal -u ${{ secrets.OTHER_ID }} -p \"$X\" --tenant t
      - run: az acr build -r myreg -t app:1 .
";

#[test]
fn a_script_az_login_reading_a_secret_or_a_federated_token_is_named_on_a_fork() {
    let (_, f) = withheld_on_fork(AZ_SCRIPT_WORKFLOW, &[]);
    let (line, _) = position(
        AZ_SCRIPT_WORKFLOW,
        "run: az login --service-principal -u ${{ secrets.SP_ID",
    );
    assert_eq!(f["line"].as_u64(), Some(line), "{f}");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "step 2 `Sign in` (line {line}) signs in to Azure with `az login -u ${{{{ secrets.SP_ID }}}}`, which reads as empty"
        )),
        "{message}"
    );
    assert!(
        message.contains("`Sign in with OIDC` (line 15) signs in to Azure with `az login --federated-token`, and no OIDC token is minted"),
        "{message}"
    );
    // The guarded sign-in is not named.
    assert!(!message.contains("OTHER_ID"), "{message}");
    // On a push by a person nothing is withheld.
    let r = run(
        AZ_SCRIPT_WORKFLOW,
        "build",
        &[],
        &[("GITHUB_ACTOR", "alice")],
    );
    assert!(
        find(&r.report, "WORKFLOW_SECRETS_WITHHELD").is_none(),
        "{}",
        r.stdout
    );
}
