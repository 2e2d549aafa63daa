//! P29: push tools run from their own image (kaniko, manifest-tool, the .NET SDK's
//! container publishing) read the runner's docker config through a mount, but run only
//! the credential helpers their image carries. Through the real binary, with the real
//! `docker-credential-pass` on the runner side: a credential kept in a helper the
//! tool's image lacks is CRED_TOOL_NO_HELPER at the tool's line; a plain `auths` entry,
//! a helper the image carries, or the tool's own credential stays quiet.

use crate::workflow_precision::{find, findings, run_unreachable_in, workspace_with};
use serde_json::Value;

/// A job that logs in, runs acr-preflight (`id: pre`), then `tool` in step `Push`.
fn workflow(tool: &str) -> String {
    format!(
        "name: build
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: az acr login -n myreg
      - id: pre
        uses: acr-preflight/acr-preflight@v0
        with:
          context: oci://myreg.azurecr.io/ctx:v1
      - name: Push
        run: |
          echo pushing
          {tool}
"
    )
}

const KANIKO: &str = "docker run --rm -v $HOME/.docker/config.json:/kaniko/.docker/config.json:ro -v ${{ github.workspace }}:/workspace gcr.io/kaniko-project/executor:v1.23.2 --context dir:///workspace --destination=myreg.azurecr.io/app:1";
const KANIKO_SLIM: &str = "docker run --rm -v $HOME/.docker:/kaniko/.docker gcr.io/kaniko-project/executor:v1.23.2-slim --destination myreg.azurecr.io/app:1";
const MANIFEST_TOOL: &str = "docker run --rm -v $HOME/.docker:/root/.docker mplatform/manifest-tool:v2.1.6 push from-args --platforms linux/amd64,linux/arm64 --template myreg.azurecr.io/app:1-ARCH --target myreg.azurecr.io/app:1";
const MANIFEST_TOOL_ALPINE: &str = "docker run --rm -v $HOME/.docker:/root/.docker mplatform/manifest-tool:alpine-v2.1.6 push from-args --platforms linux/amd64 --template myreg.azurecr.io/app:1-ARCH --target myreg.azurecr.io/app:1";
const DOTNET: &str = "docker run --rm -v $HOME/.docker:/root/.docker -v $PWD:/src -w /src mcr.microsoft.com/dotnet/sdk:8.0 dotnet publish -c Release /t:PublishContainer -p:ContainerRegistry=myreg.azurecr.io";
const DOTNET_OWN: &str = "docker run --rm -e SDK_CONTAINER_REGISTRY_UNAME -e SDK_CONTAINER_REGISTRY_PWORD -v $HOME/.docker:/root/.docker mcr.microsoft.com/dotnet/sdk:8.0 dotnet publish /t:PublishContainer -p:ContainerRegistry=myreg.azurecr.io";

const STORE_PASS: &str = r#"{"auths":{"myreg.azurecr.io":{}},"credsStore":"pass"}"#;
const HELPER_ACR_ENV: &str = r#"{"credHelpers":{"myreg.azurecr.io":"acr-env"}}"#;
/// `user:password` in base64, as `docker login` writes it without a helper.
const PLAIN_AUTHS: &str = r#"{"auths":{"myreg.azurecr.io":{"auth":"dXNlcjpwYXNzd29yZA=="}}}"#;

/// Runs acr-preflight on the job with this docker config (the registry unreachable:
/// `--resolve` to a closed port), in `format`.
fn run(tool: &str, config: &str, format: &str) -> crate::workflow_precision::Run {
    run_with(tool, config, format, &[])
}

/// [`run`] with more files in the workspace (path relative to it, content).
fn run_with(
    tool: &str,
    config: &str,
    format: &str,
    files: &[(&str, &str)],
) -> crate::workflow_precision::Run {
    // The runner's config is $HOME/.docker (HOME is the workspace), what the tools mount.
    let (workspace, _) = workspace_with(&workflow(tool), "{}");
    for (path, content) in files {
        let path = workspace.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let docker = workspace.path().join(".docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(docker.join("config.json"), config).unwrap();
    run_unreachable_in(workspace.path(), &docker, &[("format", format)], &[])
}

/// The credential-helpers check's verified facts about the tool of step `Push`.
fn tool_facts_any(report: &Value) -> Vec<String> {
    report["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["check"] == "credential-helpers")
        .flat_map(|c| c["verified"].as_array().cloned().unwrap_or_default())
        .filter_map(|v| v.as_str().map(str::to_string))
        .filter(|v| v.contains(" in step `Push` (line 12) "))
        .collect()
}

/// Asserts the run found no CRED_TOOL_NO_HELPER; returns its facts about step `Push`.
fn quiet_facts(r: &crate::workflow_precision::Run) -> Vec<String> {
    assert!(
        find(&r.report, "CRED_TOOL_NO_HELPER").is_none(),
        "{}",
        r.stdout
    );
    tool_facts_any(&r.report)
}

/// Those facts that say what the tool pushes with.
fn tool_facts(report: &Value) -> Vec<String> {
    tool_facts_any(report)
        .into_iter()
        .filter(|v| v.contains(" pushes to "))
        .collect()
}

/// The one verified fact of what `tool` pushes with, under `config`.
fn assert_fact(tool: &str, config: &str, expected: &str) {
    let r = run(tool, config, "json");
    assert_eq!(tool_facts(&r.report), vec![expected], "{}", r.stdout);
}

fn tool_finding(tool: &str, config: &str) -> Option<Value> {
    let r = run(tool, config, "json");
    assert!(r.report.is_object(), "{}", r.stdout);
    let found: Vec<&Value> = findings(&r.report)
        .into_iter()
        .filter(|f| f["code"] == "CRED_TOOL_NO_HELPER")
        .collect();
    assert!(found.len() <= 1, "{}", r.stdout);
    find(&r.report, "CRED_TOOL_NO_HELPER").cloned()
}

#[test]
fn kaniko_with_the_credential_in_credsstore_pass_is_warned_at_its_line() {
    let f = tool_finding(KANIKO, STORE_PASS).expect("CRED_TOOL_NO_HELPER");
    assert_eq!(f["severity"], "warning", "{f}");
    assert_eq!(
        (&f["line"], &f["column"]),
        (&Value::from(15), &Value::from(11)),
        "{f}"
    );
    let message = f["message"].as_str().unwrap();
    for part in [
        "runs kaniko from its image `gcr.io/kaniko-project/executor:v1.23.2`",
        "(`-v $HOME/.docker/config.json:/kaniko/.docker/config.json:ro`)",
        "so it reads /kaniko/.docker/config.json, and pushes to myreg.azurecr.io (`--destination=myreg.azurecr.io/app:1`)",
        "sends that registry to helper `pass` (credsStore, line 1)",
        "(`docker-credential-gcr`, `docker-credential-ecr-login`, `docker-credential-acr-env`)",
    ] {
        assert!(message.contains(part), "{part}: {message}");
    }
    let fix = f["fix"].as_str().unwrap();
    for part in [
        "TOKEN=$(az acr login -n myreg --expose-token --query accessToken -o tsv)",
        r#"printf '{"auths":{"myreg.azurecr.io":{"auth":"%s"}}}' "$(printf '%s:%s' '00000000-0000-0000-0000-000000000000' "$TOKEN" | base64 -w0)" > "$RUNNER_TEMP/push-auth/config.json""#,
        r#"-v "$RUNNER_TEMP/push-auth/config.json:/kaniko/.docker/config.json:ro""#,
    ] {
        assert!(fix.contains(part), "{part}: {fix}");
    }
}

/// The text finding of `tool` under `config`, with the docs' runner config path where
/// the test has its temporary one.
fn text_finding(tool: &str, config: &str) -> Vec<String> {
    let r = run(tool, config, "text");
    let at = r
        .stdout
        .find("warning[CRED_TOOL_NO_HELPER]")
        .unwrap_or_else(|| panic!("{}", r.stdout));
    r.stdout[at..]
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| match l.split_once("checked (") {
            Some((head, rest)) => match rest.split_once(')') {
                Some((_, tail)) => {
                    format!("{head}checked (/home/runner/.docker/config.json){tail}")
                }
                None => l.to_string(),
            },
            None => l.to_string(),
        })
        .collect()
}

#[test]
fn the_documented_example_is_the_exact_output() {
    let doc =
        crate::workflow_context::doc_example(acr_preflight::findings::Code::CRED_TOOL_NO_HELPER);
    let doc: Vec<&str> = doc.lines().collect();
    assert_eq!(text_finding(KANIKO, STORE_PASS), doc);
}

#[test]
fn a_plain_auths_entry_is_read_by_every_tool() {
    for tool in [KANIKO, KANIKO_SLIM, MANIFEST_TOOL, DOTNET] {
        assert_eq!(tool_finding(tool, PLAIN_AUTHS), None, "{tool}");
    }
    assert_fact(
        MANIFEST_TOOL,
        PLAIN_AUTHS,
        "manifest-tool in step `Push` (line 12) pushes to myreg.azurecr.io with the plain auths[\"myreg.azurecr.io\"] entry of the mounted docker config",
    );
}

#[test]
fn a_helper_the_tool_image_carries_is_quiet_and_one_it_lacks_is_not() {
    // kaniko's executor and manifest-tool's alpine image carry docker-credential-acr-env.
    assert_eq!(tool_finding(KANIKO, HELPER_ACR_ENV), None);
    assert_eq!(tool_finding(MANIFEST_TOOL_ALPINE, HELPER_ACR_ENV), None);
    assert_fact(
        KANIKO,
        HELPER_ACR_ENV,
        "kaniko in step `Push` (line 12) pushes to myreg.azurecr.io with `docker-credential-acr-env`, which its image `gcr.io/kaniko-project/executor:v1.23.2` carries",
    );
    // The slim executor and manifest-tool's default image carry none.
    let slim = tool_finding(KANIKO_SLIM, HELPER_ACR_ENV).expect("slim");
    assert!(
        slim["message"]
            .as_str()
            .unwrap()
            .contains("(credHelpers[\"myreg.azurecr.io\"], line 1)"),
        "{slim}"
    );
    assert!(
        slim["fix"].as_str().unwrap().contains(
            "the full executor image (not `-slim`), which carries `docker-credential-acr-env`"
        ),
        "{slim}"
    );
    let mt = tool_finding(MANIFEST_TOOL, HELPER_ACR_ENV).expect("manifest-tool");
    let fix = mt["fix"].as_str().unwrap();
    assert!(
        fix.contains(
            "--username 00000000-0000-0000-0000-000000000000 --password \"$TOKEN\" push from-args"
        ) && fix.contains("`mplatform/manifest-tool:alpine`"),
        "{fix}"
    );
}

#[test]
fn dotnet_publish_in_the_sdk_image_and_its_own_variables() {
    let f = tool_finding(DOTNET, STORE_PASS).expect("dotnet");
    assert!(
        f["title"].as_str().unwrap().starts_with(
            ".NET SDK container publishing in step `Push` cannot run `docker-credential-pass`"
        ),
        "{f}"
    );
    assert!(
        f["fix"].as_str().unwrap().contains(
            "export SDK_CONTAINER_REGISTRY_UNAME=00000000-0000-0000-0000-000000000000 SDK_CONTAINER_REGISTRY_PWORD=\"$TOKEN\""
        ),
        "{f}"
    );
    assert_eq!(tool_finding(DOTNET_OWN, STORE_PASS), None);
}

#[test]
fn the_tools_on_the_runner_itself_run_its_helpers_and_stay_quiet() {
    for tool in [
        "manifest-tool push from-args --platforms linux/amd64 --template myreg.azurecr.io/app:1-ARCH --target myreg.azurecr.io/app:1",
        "dotnet publish /t:PublishContainer -p:ContainerRegistry=myreg.azurecr.io",
        "docker push myreg.azurecr.io/app:1",
    ] {
        assert_eq!(tool_finding(tool, STORE_PASS), None, "{tool}");
    }
}

#[test]
fn a_mount_of_another_folder_than_the_one_checked_is_not_judged() {
    let tool = "docker run --rm -v /opt/ci/.docker:/kaniko/.docker gcr.io/kaniko-project/executor:v1.23.2 --destination=myreg.azurecr.io/app:1";
    let r = run(tool, STORE_PASS, "json");
    let facts = quiet_facts(&r);
    assert!(
        facts.iter().any(|f| f.starts_with(
            "kaniko in step `Push` (line 12) reads the docker config mounted from /opt/ci/.docker, not the one acr-preflight checked ("
        )),
        "{facts:?}"
    );
}

const MANIFEST_SPEC: &str = "docker run --rm -v $HOME/.docker:/root/.docker -v ${{ github.workspace }}:/src mplatform/manifest-tool:v2.1.6 push from-spec /src/ci/manifest.yml";
const SPEC_FILE: &str = "image: myreg.azurecr.io/app:1\nmanifests:\n  - image: myreg.azurecr.io/app:1-amd64\n    platform:\n      architecture: amd64\n      os: linux\n";

#[test]
fn manifest_tool_from_spec_pushes_to_the_spec_image() {
    let r = run_with(
        MANIFEST_SPEC,
        STORE_PASS,
        "json",
        &[("ci/manifest.yml", SPEC_FILE)],
    );
    let f = find(&r.report, "CRED_TOOL_NO_HELPER").unwrap_or_else(|| panic!("{}", r.stdout));
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains(
            "and pushes to myreg.azurecr.io (`image: myreg.azurecr.io/app:1 in /src/ci/manifest.yml`)"
        ),
        "{message}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("--password \"$TOKEN\" push from-spec"),
        "{f}"
    );
    // The same spec with a plain auths entry: quiet, and said so.
    let r = run_with(
        MANIFEST_SPEC,
        PLAIN_AUTHS,
        "json",
        &[("ci/manifest.yml", SPEC_FILE)],
    );
    assert_eq!(
        quiet_facts(&r)
            .into_iter()
            .filter(|f| f.contains(" pushes to "))
            .collect::<Vec<_>>(),
        vec![
            "manifest-tool in step `Push` (line 12) pushes to myreg.azurecr.io with the plain auths[\"myreg.azurecr.io\"] entry of the mounted docker config"
        ]
    );
}

#[test]
fn a_spec_that_cannot_be_read_or_names_no_image_is_not_judged() {
    for (files, why) in [
        (vec![], "could not be read at "),
        (
            vec![("ci/manifest.yml", "manifests: []\n")],
            "has no top-level `image:`",
        ),
    ] {
        let r = run_with(MANIFEST_SPEC, STORE_PASS, "json", &files);
        let facts = quiet_facts(&r);
        assert!(
            facts.iter().any(|f| f.starts_with(
                "manifest-tool in step `Push` (line 12) pushes to the `image:` of its spec `/src/ci/manifest.yml`, which "
            ) && f.contains(why)
                && f.ends_with(": its credential is not judged")),
            "{why}: {facts:?}"
        );
    }
    // A spec path no mount maps to the runner.
    let tool = MANIFEST_SPEC.replace("/src/ci/manifest.yml", "manifest.yml");
    let r = run_with(&tool, STORE_PASS, "json", &[("manifest.yml", SPEC_FILE)]);
    assert!(
        quiet_facts(&r)
            .iter()
            .any(|f| f.contains("which no bind mount maps to the workspace or to an absolute path")),
        "{}",
        r.stdout
    );
}

#[test]
fn docker_run_inside_sh_c_is_read_one_level_deep() {
    let wrapped = format!("sh -c '{KANIKO}'");
    let f = tool_finding(&wrapped, STORE_PASS).expect("sh -c");
    // At the inner `docker`, after `sh -c '`.
    assert_eq!(
        (&f["line"], &f["column"]),
        (&Value::from(15), &Value::from(18)),
        "{f}"
    );
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("pushes to myreg.azurecr.io (`--destination=myreg.azurecr.io/app:1`)"),
        "{f}"
    );
    let double = format!("bash -eo pipefail -c \"{MANIFEST_TOOL}\"");
    assert!(tool_finding(&double, STORE_PASS).is_some(), "{double}");
    // Quiet: a plain auths entry; and a string whose inner reading is not certain.
    assert_eq!(tool_finding(&wrapped, PLAIN_AUTHS), None);
    // The same command after a `$(…)`: the string is not read at all.
    let substituted = format!("bash -eo pipefail -c \"echo $(date); {MANIFEST_TOOL}\"");
    assert_eq!(
        tool_finding(&substituted, STORE_PASS),
        None,
        "{substituted}"
    );
}

const CRANE: &str = "docker run --rm -v $HOME/.docker:/home/nonroot/.docker gcr.io/go-containerregistry/crane:v0.20.2 copy ghcr.io/o/app:1 myreg.azurecr.io/app:1";
const ORAS: &str = "docker run --rm -v $HOME/.docker:/root/.docker -v ${{ github.workspace }}:/workspace ghcr.io/oras-project/oras:v1.2.0 push --artifact-type application/vnd.example myreg.azurecr.io/art:1 a.txt";
const SKOPEO: &str = "docker run --rm -v $HOME/.docker/config.json:/tmp/auth.json:ro quay.io/skopeo/stable:v1.16.1 copy --all docker://ghcr.io/o/app:1 docker://myreg.azurecr.io/app:1";
const REGCTL: &str = "docker run --rm -v $HOME/.docker:/home/appuser/.docker regclient/regctl:v0.8.0 image copy ghcr.io/o/app:1 myreg.azurecr.io/app:1";
const REGCTL_ALPINE: &str = "docker run --rm -v $HOME/.docker:/home/appuser/.docker regclient/regctl:v0.8.0-alpine regctl image copy ghcr.io/o/app:1 myreg.azurecr.io/app:1";
/// A credential kept by `docker-credential-ecr-login`, which regctl's alpine image carries.
const HELPER_ECR_LOGIN: &str = r#"{"credHelpers":{"myreg.azurecr.io":"ecr-login"}}"#;
/// `credsStore` set, and an `auths` entry that holds the credential itself.
const STORE_AND_PLAIN_AUTHS: &str =
    r#"{"auths":{"myreg.azurecr.io":{"auth":"dXNlcjpwYXNzd29yZA=="}},"credsStore":"pass"}"#;

#[test]
fn crane_oras_skopeo_and_regctl_in_their_images_cannot_run_the_runner_helper() {
    for (tool, image, reads, argument) in [
        (
            CRANE,
            "gcr.io/go-containerregistry/crane:v0.20.2",
            "/home/nonroot/.docker/config.json",
            "myreg.azurecr.io/app:1",
        ),
        (
            ORAS,
            "ghcr.io/oras-project/oras:v1.2.0",
            "/root/.docker/config.json",
            "myreg.azurecr.io/art:1",
        ),
        (
            REGCTL,
            "regclient/regctl:v0.8.0",
            "/home/appuser/.docker/config.json",
            "myreg.azurecr.io/app:1",
        ),
        (
            SKOPEO,
            "quay.io/skopeo/stable:v1.16.1",
            "/tmp/auth.json",
            "docker://myreg.azurecr.io/app:1",
        ),
    ] {
        let f = tool_finding(tool, HELPER_ACR_ENV).unwrap_or_else(|| panic!("{tool}"));
        let message = f["message"].as_str().unwrap();
        for part in [
            format!("from its image `{image}`"),
            format!("so it reads {reads}, and pushes to myreg.azurecr.io (`{argument}`)"),
            "sends that registry to helper `acr-env` (credHelpers[\"myreg.azurecr.io\"], line 1)"
                .to_string(),
            "only the helpers its image carries (none), so it finds no `docker-credential-acr-env`"
                .to_string(),
        ] {
            assert!(message.contains(&part), "{part}: {message}");
        }
        assert_eq!(f["line"], Value::from(15), "{f}");
        let fix = f["fix"].as_str().unwrap();
        assert!(
            fix.contains(&format!(
                "-v \"$RUNNER_TEMP/push-auth/config.json:{reads}:ro\""
            )),
            "{fix}"
        );
    }
}

#[test]
fn each_tool_fix_names_its_own_way_to_take_a_credential() {
    let oras = tool_finding(ORAS, STORE_PASS).expect("oras");
    assert!(
        oras["fix"].as_str().unwrap().contains(
            "echo \"$TOKEN\" | docker run -i … ghcr.io/oras-project/oras push --username 00000000-0000-0000-0000-000000000000 --password-stdin …"
        ),
        "{oras}"
    );
    let crane = tool_finding(CRANE, STORE_PASS).expect("crane");
    assert!(
        crane["title"]
            .as_str()
            .unwrap()
            .starts_with("crane in step `Push` cannot run `docker-credential-pass` (credsStore)"),
        "{crane}"
    );
    assert!(tool_finding(REGCTL, STORE_PASS).is_some());
}

#[test]
fn skopeo_never_reads_credsstore_but_reads_the_auths_entry_beside_it() {
    let f = tool_finding(SKOPEO, STORE_PASS).expect("skopeo");
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("skopeo never reads `credsStore` (containers/image reads only `credHelpers` and `auths`), and `auths` holds no credential for it"),
        "{message}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains("copy --dest-creds \"00000000-0000-0000-0000-000000000000:$TOKEN\""),
        "{f}"
    );
    // credsStore set, and the credential itself in auths: skopeo uses that entry.
    assert_fact(
        SKOPEO,
        STORE_AND_PLAIN_AUTHS,
        "skopeo in step `Push` (line 12) pushes to myreg.azurecr.io with the plain auths[\"myreg.azurecr.io\"] entry of the mounted docker config (it does not read credsStore)",
    );
    // The same config read by a tool that does run credsStore's helper: a finding.
    assert!(tool_finding(CRANE, STORE_AND_PLAIN_AUTHS).is_some());
}

#[test]
fn the_new_tools_stay_quiet_with_plain_auths_a_helper_they_carry_or_their_own_credential() {
    for tool in [CRANE, ORAS, SKOPEO, REGCTL, REGCTL_ALPINE] {
        assert_eq!(tool_finding(tool, PLAIN_AUTHS), None, "{tool}");
    }
    assert_fact(
        ORAS,
        PLAIN_AUTHS,
        "oras in step `Push` (line 12) pushes to myreg.azurecr.io with the plain auths[\"myreg.azurecr.io\"] entry of the mounted docker config",
    );
    // regctl's alpine image carries docker-credential-ecr-login; its scratch image not.
    assert_eq!(tool_finding(REGCTL_ALPINE, HELPER_ECR_LOGIN), None);
    let scratch = tool_finding(REGCTL, HELPER_ECR_LOGIN).expect("regctl scratch");
    assert!(
        scratch["fix"]
            .as_str()
            .unwrap()
            .contains("`regclient/regctl:alpine` (its arguments then start with `regctl`), which carries `docker-credential-ecr-login`"),
        "{scratch}"
    );
    // An explicit auth file skopeo can read, written for the job, not the runner's config.
    let own_file = "docker run --rm -v $RUNNER_TEMP/push-auth/auth.json:/auth/auth.json:ro quay.io/skopeo/stable:v1.16.1 copy --authfile /auth/auth.json docker://ghcr.io/o/app:1 docker://myreg.azurecr.io/app:1";
    let with_creds = "docker run --rm -v $HOME/.docker/config.json:/tmp/auth.json:ro quay.io/skopeo/stable:v1.16.1 copy --dest-creds \"$USER_PASS\" docker://ghcr.io/o/app:1 docker://myreg.azurecr.io/app:1";
    let oras_own = "docker run --rm -i -v $HOME/.docker:/root/.docker ghcr.io/oras-project/oras:v1.2.0 push -u u --password-stdin myreg.azurecr.io/art:1 a.txt";
    for tool in [own_file, with_creds, oras_own] {
        assert_eq!(tool_finding(tool, STORE_PASS), None, "{tool}");
    }
}

#[test]
fn the_new_tools_on_the_runner_itself_stay_quiet() {
    for tool in [
        "crane copy ghcr.io/o/app:1 myreg.azurecr.io/app:1",
        "oras push myreg.azurecr.io/art:1 a.txt",
        "skopeo copy docker://ghcr.io/o/app:1 docker://myreg.azurecr.io/app:1",
        "regctl image copy ghcr.io/o/app:1 myreg.azurecr.io/app:1",
    ] {
        assert_eq!(tool_finding(tool, HELPER_ACR_ENV), None, "{tool}");
    }
}

#[test]
fn the_documented_skopeo_example_is_the_exact_output() {
    // The section's second example.
    let path = format!("{}/docs/checks.md", env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_to_string(path).unwrap();
    let section = docs
        .split("\n## CRED_TOOL_NO_HELPER\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap();
    let block = section
        .split("```text\n")
        .nth(2)
        .and_then(|b| b.split("```").next())
        .expect("a second example");
    assert_eq!(
        text_finding(SKOPEO, STORE_PASS),
        block.lines().collect::<Vec<_>>()
    );
}
