//! Relative paths of `run:` steps are read from the folder the step runs in: its
//! `working-directory:`, else `defaults.run.working-directory`, then the script's own
//! `cd`. The binary runs as the runner starts it, on a temporary workspace whose root
//! and `app/` both hold a Dockerfile, against the real registry on loopback. Offline.

use crate::base_images::base_findings as of;
use crate::support;
use std::path::Path;

/// The job `id`: check out, acr-preflight, then `steps` (YAML lines at step depth);
/// `defaults` is the job's `defaults.run.working-directory`, when given.
fn job(id: &str, host: &str, defaults: Option<&str>, steps: &str) -> String {
    let defaults = defaults
        .map(|d| format!("    defaults:\n      run:\n        working-directory: {d}\n"))
        .unwrap_or_default();
    format!(
        "  {id}:\n    runs-on: ubuntu-latest\n{defaults}    steps:\n      - uses: actions/checkout@v4\n      - uses: acr-preflight/acr-preflight@v0\n        with:\n          registry: {host}\n          auth-mode: anonymous\n{steps}"
    )
}

fn workflow(host: &str) -> String {
    let build = format!("      - run: docker build -t {host}/team/app:v1 .\n");
    [
        "name: build\non: push\njobs:\n".to_string(),
        job(
            "step",
            host,
            None,
            &format!("{build}        working-directory: app\n"),
        ),
        job("defaults", host, Some("app"), &build),
        job(
            "action",
            host,
            Some("app"),
            &format!(
                "      - uses: docker/build-push-action@v6\n        with:\n          context: .\n          tags: {host}/team/app:v1\n"
            ),
        ),
        job(
            "unknown",
            host,
            None,
            &format!("      - run: cd \"$UNKNOWN\" && docker build -t {host}/team/app:v1 .\n"),
        ),
        job(
            "good",
            host,
            None,
            &format!("{build}        working-directory: ${{{{ github.workspace }}}}/good\n"),
        ),
        job(
            "tasks",
            host,
            None,
            "      - run: |\n          cd app\n          az acr build -r myreg --image team/app:1 .\n",
        ),
    ]
    .concat()
}

/// A workspace: the workflow, `Dockerfile` (a missing tag), `app/Dockerfile` (another
/// missing tag) and `good/Dockerfile` (a present one).
fn workspace(host: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in [
        (".github/workflows/build.yml", workflow(host)),
        ("Dockerfile", format!("FROM {host}/team/base:v8\n")),
        (
            "app/Dockerfile",
            format!("# app\nFROM {host}/team/base:v9\n"),
        ),
        ("good/Dockerfile", format!("FROM {host}/team/base:v1\n")),
    ] {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    dir
}

/// Runs the binary for `job` on `ws`; (exit code, stdout).
fn run(ws: &Path, registry: &support::registry::TestRegistry, job: &str) -> (Option<i32>, String) {
    let files = tempfile::tempdir().unwrap();
    for file in ["summary.md", "output", "config.json"] {
        let text = if file == "config.json" { "{}" } else { "" };
        std::fs::write(files.path().join(file), text).unwrap();
    }
    let out = support::step::step_command(
        ws,
        "org/app",
        "build.yml",
        job,
        "__acr-preflight_acr-preflight",
    )
    .env("GITHUB_STEP_SUMMARY", files.path().join("summary.md"))
    .env("GITHUB_OUTPUT", files.path().join("output"))
    .env("INPUT_REGISTRY", registry.host())
    .env("INPUT_AUTH-MODE", "anonymous")
    .env("INPUT_DOCKER-CONFIG", files.path())
    .env("INPUT_TIMEOUT", "20")
    // The workflow's ACR name, reached on loopback: nothing is looked up off the machine.
    .env(
        "INPUT_RESOLVE",
        format!("myreg.azurecr.io={}", registry.addr()),
    )
    .output()
    .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// (file, line) of each missing base image.
fn missing_bases(stdout: &str) -> Vec<(String, String)> {
    of(stdout, "CONTEXT_NOT_FOUND")
        .into_iter()
        .map(|p| {
            (
                p.get("file").cloned().unwrap_or_default(),
                p.get("line").cloned().unwrap_or_default(),
            )
        })
        .collect()
}

/// The real registry holding `team/base:v1`.
fn registry() -> support::registry::TestRegistry {
    let registry = support::registry::TestRegistry::start_blocking(support::registry::Kind::Plain);
    support::block_on(async {
        support::fixtures::Publisher::new(&registry.url())
            .single_image("team/base", "v1")
            .await
    });
    registry
}

#[test]
fn a_run_step_s_dockerfile_is_read_from_its_working_directory_and_a_uses_step_s_from_the_workspace()
{
    let registry = registry();
    let host = registry.host();
    let ws = workspace(&host);
    let app = vec![("app/Dockerfile".to_string(), "2".to_string())];
    // The step's own `working-directory:`, then the job's `defaults.run`.
    for job in ["step", "defaults"] {
        let (code, stdout) = run(ws.path(), &registry, job);
        assert_eq!(missing_bases(&stdout), app, "{job}: {stdout}");
        assert_eq!(code, Some(1), "{stdout}");
        assert!(
            stdout.contains("Base image of app/Dockerfile:2"),
            "{job}: {stdout}"
        );
    }
    // `defaults.run` does not apply to a `uses:` step: its `context: .` is the workspace.
    let (_, stdout) = run(ws.path(), &registry, "action");
    assert_eq!(
        missing_bases(&stdout),
        vec![("Dockerfile".to_string(), "1".to_string())],
        "{stdout}"
    );
    // `${{ github.workspace }}/good`: the right Dockerfile, whose base is there, is quiet.
    let (_, stdout) = run(ws.path(), &registry, "good");
    assert!(missing_bases(&stdout).is_empty(), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "base image `{host}/team/base:v1` (good/Dockerfile:1) is on {host}"
        )),
        "{stdout}"
    );
}

#[test]
fn a_cd_to_a_folder_not_known_here_leaves_the_build_s_files_unjudged_with_a_note() {
    let registry = registry();
    let host = registry.host();
    let ws = workspace(&host);
    let (_, stdout) = run(ws.path(), &registry, "unknown");
    let line = workflow(&host)
        .lines()
        .position(|l| l.contains("cd \"$UNKNOWN\""))
        .unwrap()
        + 1;
    // Neither the workspace's Dockerfile nor app's is judged in its place.
    assert!(missing_bases(&stdout).is_empty(), "{stdout}");
    assert!(
        stdout.contains(
            "Files of `docker build` in step `run: cd \"$UNKNOWN\" && docker build -t"
        ) && stdout.contains(&format!(
            "not read: `cd \"$UNKNOWN\"` (line {line}) goes to a folder not known here: $UNKNOWN: `UNKNOWN` is set in no `env:` block"
        )),
        "{stdout}"
    );
}

#[test]
fn cd_before_az_acr_build_sends_that_folder_and_its_upload_is_judged_there() {
    let registry = registry();
    let ws = workspace(&registry.host());
    std::fs::write(ws.path().join("app/.dockerignore"), "node_modules/\n").unwrap();
    for i in 0..3 {
        let dir = ws.path().join(format!("app/node_modules/p{i}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.js"), vec![b'x'; 2000]).unwrap();
    }
    let (_, stdout) = run(ws.path(), &registry, "tasks");
    let upload = of(&stdout, "TASKS_CONTEXT_UPLOAD_LARGE");
    assert_eq!(upload.len(), 1, "{stdout}");
    assert_eq!(
        upload[0].get("file").map(String::as_str),
        Some(".github/workflows/build.yml")
    );
    assert!(
        stdout.contains("`az acr build` uploads 6.") && stdout.contains("from `app`"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Add `node_modules` to app/.dockerignore"),
        "{stdout}"
    );
    // Without the `cd`, the workspace root would be sent, with no ignore file to fix.
    assert!(!stdout.contains("to .dockerignore"), "{stdout}");
}
