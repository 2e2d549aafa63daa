//! Local build contexts and their `.dockerignore` (issue 13: P43). Each test writes a
//! workspace to a temporary folder (the workflow, a Dockerfile and a `.dockerignore`)
//! and runs the workflow check on it, reading the files from disk, bounded, as a run
//! does, and once through the real binary as the runner starts it. Offline.

use acr_preflight::checks::workflow::check;
use acr_preflight::config::Config;
use acr_preflight::findings::{CheckReport, Code, Finding, Severity};
use acr_preflight::workflow::locate::Workspace;
use std::collections::HashMap;
use std::path::PathBuf;

const FILE: &str = "context.yml";

/// The workflow: jobs that check out the repository, run acr-preflight, then `build`
/// (the step's lines after `- name:`); the `git` job does not check out. `run`,
/// `runcmd` and `taskrun` send the folder `app` with `az acr run -f`, `az acr run --cmd`
/// and `az acr task run --context`.
fn workflow() -> String {
    let job = |id: &str, checkout: bool, name: &str, build: &str| {
        format!(
            "  {id}:\n    runs-on: ubuntu-latest\n    steps:\n{}      - id: preflight\n        uses: acr-preflight/acr-preflight@v0\n        with:\n          registry: myreg\n      - name: {name}\n{build}",
            if checkout {
                "      - uses: actions/checkout@v4\n"
            } else {
                ""
            }
        )
    };
    let action = "        uses: docker/build-push-action@v6\n        with:\n";
    let tags = "          push: true\n          tags: myreg.azurecr.io/team/app:1\n";
    [
        "name: Context\non: push\npermissions:\n  id-token: write\n  contents: read\njobs:\n"
            .to_string(),
        job(
            "action",
            true,
            "Build",
            &format!("{action}          context: ./app/\n{tags}"),
        ),
        job(
            "tasks",
            true,
            "Build in ACR",
            "        run: az acr build --registry myreg --image team/app:1 --file app/Dockerfile app\n",
        ),
        job(
            "cli",
            true,
            "Build",
            "        run: docker buildx build --push -t myreg.azurecr.io/team/app:1 ./app\n",
        ),
        job("git", false, "Build", &format!("{action}{tags}")),
        job(
            "prod",
            true,
            "Build in ACR",
            "        run: az acr build --registry myreg --image team/app:1 --file app/prod.Dockerfile app\n",
        ),
        job(
            "run",
            true,
            "Run in ACR",
            "        run: az acr run --registry myreg -f acb.yaml app\n",
        ),
        job(
            "runcmd",
            true,
            "Run in ACR",
            "        run: az acr run --registry myreg --cmd 'myreg.azurecr.io/tool:1 check' app\n",
        ),
        job(
            "taskrun",
            true,
            "Run the task",
            "        run: az acr task run --registry myreg --name build-app --context app --file app/Dockerfile\n",
        ),
    ]
    .concat()
}

const DOCKERFILE: &str = "FROM myreg.azurecr.io/base:1 AS build
COPY --from=build /out /out
COPY requirements.txt ./
COPY src/ /app/src/
ADD https://example.com/tool.tgz /tmp/
COPY *.cfg /etc/
";

/// A workspace with the workflow, `app/Dockerfile` and `files` (path, text).
fn workspace(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut all = vec![
        (format!(".github/workflows/{FILE}"), workflow()),
        ("app/Dockerfile".to_string(), DOCKERFILE.to_string()),
    ];
    all.extend(files.iter().map(|(p, t)| (p.to_string(), t.to_string())));
    for (path, text) in all {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
        std::fs::write(&full, text).expect("write");
    }
    dir
}

fn run(job: &str, files: &[(&str, &str)]) -> CheckReport {
    run_in(job, &workspace(files))
}

/// The workflow check of `job` on the workspace `dir`.
fn run_in(job: &str, dir: &tempfile::TempDir) -> CheckReport {
    let mut c = Config::for_tests(PathBuf::from("/home/runner/.docker"));
    c.env.github_actions = true;
    c.env.workflow_ref = Some(format!(
        "octo/shop/.github/workflows/{FILE}@refs/heads/main"
    ));
    c.env.job = Some(job.into());
    c.env.action = Some("preflight".into());
    c.env.repository = Some("octo/shop".into());
    let files = Workspace {
        dir: dir.path().to_path_buf(),
    };
    check(&c, &files, &HashMap::new()).0
}

fn of(report: &CheckReport, code: Code) -> Vec<&Finding> {
    report.findings.iter().filter(|f| f.code == code).collect()
}

/// The one finding of `code`.
fn only(report: &CheckReport, code: Code) -> &Finding {
    let found = of(report, code);
    assert_eq!(found.len(), 1, "{:?}", report.findings);
    found[0]
}

fn place(f: &Finding) -> (Severity, String, Option<u32>, Option<u32>) {
    let l = f.location.as_ref().expect("located");
    (f.severity, l.file.clone(), l.line, l.column)
}

#[test]
fn a_copy_source_the_dockerignore_excludes_is_an_error_at_the_dockerfile_line() {
    let report = run(
        "action",
        &[("app/.dockerignore", "# local files\n*.txt\n!README.txt\n")],
    );
    let f = only(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE);
    assert_eq!(
        place(f),
        (
            Severity::Error,
            "app/Dockerfile".to_string(),
            Some(3),
            Some(6)
        )
    );
    assert_eq!(
        f.title,
        "`COPY requirements.txt` in app/Dockerfile reads a path that app/.dockerignore keeps out of the build context"
    );
    for part in [
        "from the context folder `app`",
        "app/.dockerignore line 2 (`*.txt`) excludes `requirements.txt`",
        "`COPY` on line 3 of app/Dockerfile",
        "fails with `\"/requirements.txt\": not found`",
    ] {
        assert!(f.message.contains(part), "{part}: {}", f.message);
    }
    assert_eq!(
        f.fix,
        "Add the line `!requirements.txt` to app/.dockerignore after line 2, or narrow the pattern `*.txt` so it no longer matches `requirements.txt`."
    );
    // Nothing about the Dockerfile: BuildKit always sends it.
    assert!(of(&report, Code::WORKFLOW_CONTEXT_IGNORED_DOCKERFILE).is_empty());
}

#[test]
fn folders_double_stars_and_exceptions_decide_like_docker() {
    // `src/` trimmed to `src`, which excludes the folder `COPY src/` reads.
    let report = run("action", &[("app/.dockerignore", "/src/\n")]);
    let found = only(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE);
    assert_eq!(place(found).2, Some(4));
    // `**` reaches the top level too; a later exception includes the file again.
    let report = run(
        "action",
        &[("app/.dockerignore", "**/*.txt\n!requirements.txt\n")],
    );
    assert!(
        of(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE).is_empty(),
        "{:?}",
        report.findings
    );
    // An exception below an excluded folder: the folder is sent in part, not judged.
    let report = run("action", &[("app/.dockerignore", "src\n!src/main.py\n")]);
    assert!(of(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE).is_empty());
    // `*` does not cross `/`: `*/requirements.txt` is not the top-level file.
    let report = run("action", &[("app/.dockerignore", "*/requirements.txt\n")]);
    assert!(of(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE).is_empty());
}

#[test]
fn the_dockerfile_s_own_ignore_file_wins_for_buildkit() {
    let report = run(
        "action",
        &[
            ("app/.dockerignore", "requirements.txt\n"),
            ("app/Dockerfile.dockerignore", "src\n"),
        ],
    );
    let found = only(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE);
    assert!(found.title.contains("`COPY src/`"), "{}", found.title);
    assert!(
        found
            .message
            .contains("app/Dockerfile.dockerignore line 1 (`src`)")
    );
}

#[test]
fn az_acr_build_uploads_an_ignored_dockerfile_apart_and_errs_on_sources() {
    let report = run(
        "tasks",
        &[("app/.dockerignore", "Dockerfile\nrequirements.txt\n")],
    );
    // The Azure CLI adds the Dockerfile to the upload after the walk (acr/build.py).
    assert!(of(&report, Code::WORKFLOW_CONTEXT_IGNORED_DOCKERFILE).is_empty());
    assert!(
        report.verified.iter().any(|v| v.contains(
            "app/.dockerignore excludes the Dockerfile `Dockerfile`, but `az acr build` adds the Dockerfile to the upload apart"
        )),
        "{:?}",
        report.verified
    );
    let sources = only(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE);
    assert!(sources.message.contains("with `az acr build`"));
}

#[test]
fn a_docker_buildx_build_of_a_folder_is_judged_without_the_dockerfile() {
    let report = run("cli", &[("app/.dockerignore", "Dockerfile\nsrc\n")]);
    let f = only(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE);
    assert_eq!(place(f).2, Some(4));
    assert!(
        f.message.contains("with `docker buildx build`"),
        "{}",
        f.message
    );
    assert!(of(&report, Code::WORKFLOW_CONTEXT_IGNORED_DOCKERFILE).is_empty());
}

#[test]
fn az_acr_build_reads_the_ignore_file_named_after_the_dockerfile_in_the_folder() {
    // `--file app/prod.Dockerfile`: the Azure CLI reads `app/prod.Dockerfile.dockerignore`
    // (in the context folder) instead of `app/.dockerignore`.
    let files = [
        ("app/prod.Dockerfile", DOCKERFILE),
        ("app/.dockerignore", "requirements.txt\n"),
        ("app/prod.Dockerfile.dockerignore", "# prod\nsrc\n"),
    ];
    let report = run("prod", &files);
    let f = only(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE);
    assert_eq!(
        f.title,
        "`COPY src/` in app/prod.Dockerfile reads a path that app/prod.Dockerfile.dockerignore keeps out of the build context"
    );
    assert!(
        f.message
            .contains("app/prod.Dockerfile.dockerignore line 2 (`src`) excludes `src`"),
        "{}",
        f.message
    );
    // `Dockerfile` is never overridden: `app/Dockerfile.dockerignore` is not read.
    let report = run(
        "tasks",
        &[
            ("app/.dockerignore", "requirements.txt\n"),
            ("app/Dockerfile.dockerignore", "src\n"),
        ],
    );
    let f = only(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE);
    assert!(f.title.contains("`COPY requirements.txt`"), "{}", f.title);
}

#[test]
fn a_trailing_slash_excludes_for_docker_and_not_for_the_azure_cli() {
    let files = [("app/.dockerignore", "src/\n")];
    only(&run("cli", &files), Code::WORKFLOW_CONTEXT_IGNORED_SOURCE);
    let report = run("tasks", &files);
    assert!(
        of(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE).is_empty(),
        "{:?}",
        report.findings
    );
}

#[test]
fn az_acr_build_never_uploads_the_top_level_git_folder() {
    let dockerfile = "FROM myreg.azurecr.io/base:1\nCOPY .git/HEAD /version\nCOPY src/.git /x\n";
    let files = [
        ("app/Dockerfile", dockerfile),
        ("app/.git/HEAD", "ref: main\n"),
    ];
    let report = run("tasks", &files);
    let f = only(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE);
    assert_eq!(
        f.title,
        "`COPY .git/HEAD` in app/Dockerfile reads a path that the Azure CLI keeps out of the build context"
    );
    assert!(f.fix.contains("--build-arg GIT_COMMIT"), "{}", f.fix);
    // docker sends it.
    assert!(of(&run("cli", &files), Code::WORKFLOW_CONTEXT_IGNORED_SOURCE).is_empty());
}

fn write(dir: &std::path::Path, path: &str, bytes: usize) {
    let full = dir.join(path);
    std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
    std::fs::write(full, vec![b'x'; bytes]).expect("write");
}

#[test]
fn an_upload_with_installed_dependencies_is_a_notice_naming_the_line_to_add() {
    let dir = workspace(&[("app/.dockerignore", "# deps\nnode_modules/\n")]);
    for i in 0..3 {
        write(
            dir.path(),
            &format!("app/web/node_modules/p{i}/index.js"),
            2000,
        );
    }
    write(dir.path(), "app/requirements.txt", 10);
    write(dir.path(), "app/src/main.py", 100);
    let report = run_in("tasks", &dir);
    let f = only(&report, Code::TASKS_CONTEXT_UPLOAD_LARGE);
    assert_eq!(
        place(f),
        (
            Severity::Notice,
            format!(".github/workflows/{FILE}"),
            Some(30),
            Some(14)
        )
    );
    assert_eq!(f.title, "`az acr build` uploads 6.3 kB from `app`");
    assert_eq!(two_lines(f), doc_example(Code::TASKS_CONTEXT_UPLOAD_LARGE));
    assert!(
        f.message.contains(
            ": 7 files, 6.3 kB before compression. It includes `web/node_modules` (3 files, 6.0 kB)"
        ),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("app/.dockerignore line 2 (`node_modules/`) names them with a leading or trailing `/`, which the Azure CLI keeps in the pattern, so the line matches nothing."),
        "{}",
        f.message
    );
    assert_eq!(
        f.fix,
        "Add `web/node_modules` to app/.dockerignore, one a line, without a leading or trailing `/` (the Azure CLI does not match `node_modules/`, only `node_modules`)."
    );
    // As the Azure CLI reads it, `web/node_modules` leaves the folder out.
    std::fs::write(dir.path().join("app/.dockerignore"), "web/node_modules\n").unwrap();
    let report = run_in("tasks", &dir);
    assert!(of(&report, Code::TASKS_CONTEXT_UPLOAD_LARGE).is_empty());
    assert!(
        report
            .verified
            .iter()
            .any(|v| v.starts_with("`az acr build` of `app` uploads 4 files, ")),
        "{:?}",
        report.verified
    );
}

#[test]
fn a_copy_through_a_link_leaving_the_folder_is_a_warning() {
    let dockerfile =
        "FROM myreg.azurecr.io/base:1\nCOPY common/config.json /etc/app/\nCOPY lib /lib\n";
    let dir = workspace(&[("app/Dockerfile", dockerfile), ("common/config.json", "{}")]);
    write(dir.path(), "app/real/lib.py", 5);
    std::os::unix::fs::symlink("../common", dir.path().join("app/common")).unwrap();
    std::os::unix::fs::symlink("real", dir.path().join("app/lib")).unwrap();
    let report = run_in("tasks", &dir);
    let f = only(&report, Code::TASKS_CONTEXT_LINK_OUTSIDE);
    assert_eq!(
        place(f),
        (
            Severity::Warning,
            "app/Dockerfile".to_string(),
            Some(2),
            Some(6)
        )
    );
    assert_eq!(
        f.title,
        "`COPY common/config.json` in app/Dockerfile reads through the link `app/common`, whose target `az acr build` does not upload"
    );
    assert!(
        f.message.contains("symbolic link to `../common`"),
        "{}",
        f.message
    );
    assert_eq!(two_lines(f), doc_example(Code::TASKS_CONTEXT_LINK_OUTSIDE));
    // A link inside the folder is uploaded with its target.
    assert!(
        f.message.contains("line 2 of app/Dockerfile"),
        "{}",
        f.message
    );
}

#[test]
fn no_ignore_file_or_a_git_context_says_nothing() {
    for (job, files) in [
        ("action", &[][..]),
        ("tasks", &[][..]),
        ("git", &[(".dockerignore", "*\n")][..]),
    ] {
        let report = run(job, files);
        assert!(
            of(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE).is_empty()
                && of(&report, Code::WORKFLOW_CONTEXT_IGNORED_DOCKERFILE).is_empty(),
            "{job}: {:?}",
            report.findings
        );
    }
}

/// The first two lines of `f` in `text` format, as docs/checks.md shows them.
fn two_lines(f: &Finding) -> String {
    let style = acr_preflight::output::text::Style { color: false };
    let text = acr_preflight::output::text::render_finding(f, style);
    text.lines().take(2).map(|l| format!("{l}\n")).collect()
}

/// The ```text example of `code`'s section in docs/checks.md.
pub(crate) fn doc_example(code: Code) -> String {
    let path = format!("{}/docs/checks.md", env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_to_string(&path).expect("docs/checks.md");
    let section = docs
        .split(&format!("\n## {}\n", code.as_str()))
        .nth(1)
        .expect("section");
    let block = section.split("```text\n").nth(1).expect("example");
    block.split("```").next().expect("end").to_string()
}

#[test]
fn the_documented_examples_are_the_exact_output() {
    let code = Code::WORKFLOW_CONTEXT_IGNORED_SOURCE;
    let report = run("action", &[("app/.dockerignore", "# local files\n*.txt\n")]);
    assert_eq!(two_lines(only(&report, code)), doc_example(code));
}

#[test]
fn a_huge_ignore_file_stops_being_judged_instead_of_stalling() {
    // 3.5 MB of patterns (under the 4 MiB read limit) ending with the one that
    // excludes `requirements.txt`: past the matching budget, nothing is said.
    let mut huge = "**/x*y*z?[a-c]\n".repeat(230_000);
    huge.push_str("requirements.txt\n");
    let report = run("action", &[("app/.dockerignore", &huge)]);
    assert!(
        of(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE).is_empty(),
        "{:?}",
        report.findings
    );
    // A small file with the same last line is judged.
    let report = run(
        "action",
        &[("app/.dockerignore", "**/x*y*z?[a-c]\nrequirements.txt\n")],
    );
    only(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE);
}

/// The P43 findings from the real binary, started as the runner starts a step: the
/// workspace read from `GITHUB_WORKSPACE`, the job from `GITHUB_JOB`, and annotations on
/// stdout at the workflow line and the Dockerfile line.
#[test]
fn the_binary_reports_the_upload_and_the_outside_link_where_the_runner_shows_them() {
    let registry = crate::support::registry::TestRegistry::start_blocking(
        crate::support::registry::Kind::Plain,
    );
    let host = registry.host();
    let dockerfile = "FROM myreg.azurecr.io/base:1\nCOPY common/config.json /etc/app/\n";
    let dir = workspace(&[
        ("app/Dockerfile", dockerfile),
        ("common/config.json", "{}"),
        ("app/.dockerignore", "node_modules/\n"),
    ]);
    for i in 0..3 {
        write(dir.path(), &format!("app/node_modules/p{i}/index.js"), 2000);
    }
    std::os::unix::fs::symlink("../common", dir.path().join("app/common")).unwrap();
    let files = tempfile::tempdir().unwrap();
    let summary = files.path().join("summary.md");
    let output = files.path().join("output");
    std::fs::write(&summary, "").unwrap();
    std::fs::write(&output, "").unwrap();
    std::fs::write(files.path().join("config.json"), "{}").unwrap();
    let out =
        crate::support::step::step_command(dir.path(), "octo/shop", FILE, "tasks", "preflight")
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &output)
            .env("INPUT_REGISTRY", &host)
            .env("INPUT_AUTH-MODE", "anonymous")
            .env("INPUT_DOCKER-CONFIG", files.path())
            .env("INPUT_TIMEOUT", "20")
            // The workflow's registry, reached on loopback: no name is looked up off the machine.
            .env(
                "INPUT_RESOLVE",
                format!("myreg.azurecr.io={}", registry.addr()),
            )
            .output()
            .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let found = crate::workflow_e2e::annotations(&stdout);
    let at = |code: &str| {
        found
            .iter()
            .find(|(_, p)| p.get("title").is_some_and(|t| t.starts_with(code)))
            .map(|(level, p)| {
                (
                    level.clone(),
                    p.get("file").cloned().unwrap_or_default(),
                    p.get("line").cloned().unwrap_or_default(),
                )
            })
            .unwrap_or_else(|| panic!("no {code} annotation:\n{stdout}"))
    };
    assert_eq!(
        at("TASKS_CONTEXT_UPLOAD_LARGE"),
        (
            "notice".to_string(),
            format!(".github/workflows/{FILE}"),
            "30".to_string()
        )
    );
    assert_eq!(
        at("TASKS_CONTEXT_LINK_OUTSIDE"),
        (
            "warning".to_string(),
            "app/Dockerfile".to_string(),
            "2".to_string()
        )
    );
    assert!(!stdout.contains("NET_DNS"), "{stdout}");
    // The job summary names both.
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.contains("TASKS_CONTEXT_LINK_OUTSIDE"), "{summary}");
    assert!(summary.contains("TASKS_CONTEXT_UPLOAD_LARGE"), "{summary}");
}

const TASK_FILE: &str = "version: v1.1.0\nsteps:\n  - build: -t $Registry/team/app:1 .\n";

#[test]
fn az_acr_run_errs_when_the_ignore_file_excludes_its_task_file() {
    let report = run(
        "run",
        &[
            ("app/acb.yaml", TASK_FILE),
            ("app/.dockerignore", "*.yaml\n"),
        ],
    );
    let f = only(&report, Code::WORKFLOW_CONTEXT_IGNORED_DOCKERFILE);
    assert_eq!(
        place(f),
        (
            Severity::Error,
            "app/.dockerignore".to_string(),
            Some(1),
            None
        )
    );
    assert_eq!(
        f.title,
        "app/.dockerignore excludes the task file `acb.yaml` that `az acr run` reads from the upload"
    );
    assert!(
        f.message
            .contains("app/.dockerignore line 1 (`*.yaml`) excludes `acb.yaml`"),
        "{}",
        f.message
    );
    assert_eq!(
        f.fix,
        "Add the line `!acb.yaml` to app/.dockerignore after line 1, or narrow the pattern `*.yaml` so it no longer matches `acb.yaml`."
    );
    assert_eq!(
        two_lines(f),
        doc_example(Code::WORKFLOW_CONTEXT_IGNORED_DOCKERFILE)
    );
}

#[test]
fn az_acr_run_stays_quiet_when_its_task_file_is_uploaded_or_it_runs_a_command() {
    for (job, ignore) in [
        // The exception, last, wins in the Azure CLI's reading.
        ("run", "*.yaml\n!acb.yaml\n"),
        ("run", "node_modules\n"),
        // `--cmd` sends the task inline: no file is read from the upload.
        ("runcmd", "*.yaml\n"),
    ] {
        let report = run(
            job,
            &[("app/acb.yaml", TASK_FILE), ("app/.dockerignore", ignore)],
        );
        assert!(
            of(&report, Code::WORKFLOW_CONTEXT_IGNORED_DOCKERFILE).is_empty()
                && of(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE).is_empty(),
            "{job} {ignore:?}: {:?}",
            report.findings
        );
        // The upload is still counted, under the command's own name.
        assert!(
            report
                .verified
                .iter()
                .any(|v| v.starts_with("`az acr run` of `app` uploads ")),
            "{job}: {:?}",
            report.verified
        );
    }
}

#[test]
fn az_acr_run_counts_its_upload_like_az_acr_build() {
    let dir = workspace(&[("app/acb.yaml", TASK_FILE)]);
    for i in 0..3 {
        write(dir.path(), &format!("app/node_modules/p{i}/index.js"), 2000);
    }
    let report = run_in("run", &dir);
    let f = only(&report, Code::TASKS_CONTEXT_UPLOAD_LARGE);
    assert!(
        f.title.starts_with("`az acr run` uploads ") && f.title.ends_with(" from `app`"),
        "{}",
        f.title
    );
    assert!(
        f.message.contains("Step `Run in ACR` runs `az acr run`")
            && f.message.contains("`node_modules` (3 files, 6.0 kB)"),
        "{}",
        f.message
    );
}

#[test]
fn az_acr_task_run_of_a_folder_is_judged_like_az_acr_build() {
    let report = run(
        "taskrun",
        &[("app/.dockerignore", "Dockerfile\nrequirements.txt\n")],
    );
    // `--file` is added to the upload apart (acr/_utils.py, prepare_source_location).
    assert!(of(&report, Code::WORKFLOW_CONTEXT_IGNORED_DOCKERFILE).is_empty());
    assert!(
        report.verified.iter().any(|v| v.contains(
            "app/.dockerignore excludes the Dockerfile `Dockerfile`, but `az acr task run` adds the Dockerfile to the upload apart"
        )),
        "{:?}",
        report.verified
    );
    let f = only(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE);
    assert!(f.title.contains("`COPY requirements.txt`"), "{}", f.title);
    assert!(
        f.message.contains("with `az acr task run`"),
        "{}",
        f.message
    );
    // Without an ignore file, nothing but the count.
    let report = run("taskrun", &[]);
    assert!(
        of(&report, Code::WORKFLOW_CONTEXT_IGNORED_SOURCE).is_empty()
            && of(&report, Code::TASKS_CONTEXT_UPLOAD_LARGE).is_empty(),
        "{:?}",
        report.findings
    );
    assert!(
        report
            .verified
            .iter()
            .any(|v| v.starts_with("`az acr task run` of `app` uploads ")),
        "{:?}",
        report.verified
    );
}

#[test]
fn az_acr_task_run_warns_of_a_link_leaving_the_folder() {
    let dockerfile = "FROM myreg.azurecr.io/base:1\nCOPY common/config.json /etc/app/\n";
    let dir = workspace(&[("app/Dockerfile", dockerfile), ("common/config.json", "{}")]);
    std::os::unix::fs::symlink("../common", dir.path().join("app/common")).unwrap();
    let report = run_in("taskrun", &dir);
    let f = only(&report, Code::TASKS_CONTEXT_LINK_OUTSIDE);
    assert_eq!(
        f.title,
        "`COPY common/config.json` in app/Dockerfile reads through the link `app/common`, whose target `az acr task run` does not upload"
    );
    assert!(
        f.message
            .contains("Step `Run the task` runs `az acr task run`"),
        "{}",
        f.message
    );
    // The same folder without the link: quiet.
    std::fs::remove_file(dir.path().join("app/common")).unwrap();
    let report = run_in("taskrun", &dir);
    assert!(of(&report, Code::TASKS_CONTEXT_LINK_OUTSIDE).is_empty());
}
