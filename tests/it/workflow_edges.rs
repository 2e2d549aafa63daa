//! The workflow reader at its edges: no workflow, missing file, job or step, every
//! shape of `permissions:`, PowerShell and CRLF scripts, the runner's step names, the
//! workspace on disk, and robustness (every prefix of every corpus file, and every
//! mapped character of every scalar sitting where the source has it).

use acr_preflight::checks::Ctx;
use acr_preflight::checks::workflow::{check, run};
use acr_preflight::config::{AuthMode, Config};
use acr_preflight::findings::{Code, Severity, Status};
use acr_preflight::secrets::Secrets;
use acr_preflight::workflow::yaml::{self, Kind, Node, Text};
use acr_preflight::workflow::{Role, Workflow};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

const CLIENT: &str = "0b6f3a52-9d7e-4c1a-8f3e-2a5d9c7b1e40";

fn fixtures() -> Vec<(String, String)> {
    let dir = format!("{}/tests/fixtures/workflows", env!("CARGO_MANIFEST_DIR"));
    // The corpus written for these tests, and the public workflows in `public/`.
    let public = format!("{dir}/public");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .chain(std::fs::read_dir(&public).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|path| path.is_file())
        .map(|path| {
            (
                path.strip_prefix(&dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
                std::fs::read_to_string(&path).unwrap(),
            )
        })
        .collect();
    out.sort();
    assert!(out.len() >= 10, "the corpus is in {dir}");
    out
}

fn config(file: &str, job: &str) -> Config {
    let mut c = Config::for_tests(PathBuf::from("/nonexistent"));
    c.env.github_actions = true;
    c.env.workflow_ref = Some(format!(
        "octo/shop/.github/workflows/{file}@refs/heads/main"
    ));
    c.env.job = Some(job.into());
    c.env.repository = Some("octo/shop".into());
    c.env.sha = Some("abc123".into());
    c
}

fn files(file: &str, text: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert(format!(".github/workflows/{file}"), text.to_string());
    m
}

fn none() -> HashMap<String, String> {
    HashMap::new()
}

#[test]
fn outside_github_actions_the_check_is_skipped() {
    let c = Config::for_tests(PathBuf::from("/nonexistent"));
    let (report, d) = check(&c, &BTreeMap::new(), &none());
    assert!(report.findings.is_empty());
    assert_eq!(report.status(), Status::Skipped);
    assert_eq!(d.references, vec![]);
    assert!(d.applies);
}

#[test]
fn a_missing_file_is_a_warning_when_discovery_was_needed() {
    let c = config("build.yml", "build");
    let (report, _) = check(&c, &BTreeMap::new(), &none());
    assert_eq!(report.findings.len(), 1);
    let f = &report.findings[0];
    assert_eq!(
        (f.code, f.severity),
        (Code::WORKFLOW_NOT_FOUND, Severity::Warning)
    );
    assert_eq!(
        f.title,
        "the workflow file `.github/workflows/build.yml` is not in the workspace"
    );
    assert!(f.fix.contains("actions/checkout@v5"));
    let l = f.location.as_ref().unwrap();
    assert_eq!(
        (l.file.as_str(), l.line, l.column),
        (".github/workflows/build.yml", None, None)
    );
    assert_eq!(report.status(), Status::Warn);

    let mut c = config("build.yml", "build");
    c.pushes = vec!["myreg.azurecr.io/app:v1".into()];
    let (report, d) = check(&c, &BTreeMap::new(), &none());
    assert_eq!(report.findings[0].severity, Severity::Notice);
    assert!(!d.applies);
}

#[test]
fn a_workflow_ref_without_a_path_is_reported() {
    let mut c = config("build.yml", "build");
    c.env.workflow_ref = Some("octo/shop".into());
    let (report, _) = check(&c, &BTreeMap::new(), &none());
    assert_eq!(report.findings[0].code, Code::WORKFLOW_NOT_FOUND);
    assert_eq!(
        report.findings[0].title,
        "GITHUB_WORKFLOW_REF names no workflow file"
    );
}

#[test]
fn a_job_that_is_not_in_the_file_lists_the_jobs_that_are() {
    let text =
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n";
    let (report, _) = check(&config("ci.yml", "build"), &files("ci.yml", text), &none());
    let f = &report.findings[0];
    assert_eq!(
        (f.code, f.severity),
        (Code::WORKFLOW_NOT_FOUND, Severity::Warning)
    );
    assert_eq!(f.title, "job `build` is not in `.github/workflows/ci.yml`");
    assert!(f.message.contains("has the jobs `test`"), "{}", f.message);
}

#[test]
fn an_unrecognised_step_is_a_notice_and_every_step_counts_as_after_it() {
    let text = "\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: docker buildx build --push -t myreg.azurecr.io/app:v1 .
";
    let (report, d) = check(&config("ci.yml", "build"), &files("ci.yml", text), &none());
    assert_eq!(report.findings.len(), 1);
    let f = &report.findings[0];
    assert_eq!(
        (f.code, f.severity),
        (Code::WORKFLOW_NOT_FOUND, Severity::Notice)
    );
    let l = f.location.as_ref().unwrap();
    assert_eq!((l.line, l.column), (Some(3), Some(3)));
    assert_eq!(d.push_refs(), vec!["myreg.azurecr.io/app:v1".to_string()]);
    let r = &d.references[0];
    assert_eq!((r.location.line, r.location.column), (Some(6), Some(44)));
    assert!(text.lines().nth(5).unwrap()[43..].starts_with("myreg.azurecr.io/app:v1"));
}

/// A one-job workflow with `permissions` written at `workflow` and `job` level.
fn permissions_case(workflow: &str, job: &str) -> (Vec<(Code, Option<u32>)>, Vec<String>) {
    let text = format!(
        "on: push\n{workflow}jobs:\n  build:\n    runs-on: ubuntu-latest\n{job}    steps:\n      - id: preflight\n        uses: acr-preflight/acr-preflight@v0\n"
    );
    let mut c = config("ci.yml", "build");
    c.env.action = Some("preflight".into());
    c.auth_mode = AuthMode::Oidc;
    c.azure.client_id = Some(CLIENT.into());
    let (report, _) = check(&c, &files("ci.yml", &text), &none());
    (
        report
            .findings
            .iter()
            .map(|f| (f.code, f.location.as_ref().and_then(|l| l.line)))
            .collect(),
        report.findings.iter().map(|f| f.message.clone()).collect(),
    )
}

#[test]
fn every_shape_of_permissions() {
    // write-all grants id-token.
    assert_eq!(
        permissions_case("", "    permissions: write-all\n").0,
        vec![]
    );
    // read-all does not.
    let (codes, messages) = permissions_case(
        "permissions:\n  id-token: write\n",
        "    permissions: read-all\n",
    );
    assert_eq!(codes, vec![(Code::WORKFLOW_OIDC_PERMISSION, Some(7))]);
    assert!(messages[0].contains("`read-all` grants read on every scope"));
    assert!(messages[0].contains("The workflow-level `id-token: write` (line 2) does not apply"));
    // `{}` at workflow level grants nothing.
    assert_eq!(
        permissions_case("permissions: {}\n", "").0,
        vec![(Code::WORKFLOW_OIDC_PERMISSION, Some(2))]
    );
    // id-token: read is not enough.
    assert_eq!(
        permissions_case("", "    permissions:\n      id-token: read\n").0,
        vec![(Code::WORKFLOW_OIDC_PERMISSION, Some(5))]
    );
    // A block that cannot be read is not guessed at.
    assert_eq!(
        permissions_case("", "    permissions: ${{ fromJSON(vars.PERMS) }}\n").0,
        vec![]
    );
    // Job-level write overrides a workflow-level `{}`.
    assert_eq!(
        permissions_case(
            "permissions: {}\n",
            "    permissions:\n      id-token: write\n"
        )
        .0,
        vec![]
    );
}

#[test]
fn a_client_secret_or_creds_is_not_oidc() {
    let text = "\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: azure/login@v2
        with:
          creds: ${{ secrets.AZURE_CREDENTIALS }}
          client-id: x
      - uses: acr-preflight/acr-preflight@v0
";
    let mut c = config("ci.yml", "build");
    c.azure.client_id = Some(CLIENT.into());
    c.azure.client_secret = Some("s3cret".into());
    let (report, _) = check(&c, &files("ci.yml", text), &none());
    // No OIDC permission finding. azure/login itself ignores `creds` beside `client-id`
    // and then lacks `tenant-id`: that is WORKFLOW_AZURE_LOGIN_INPUTS, and only that.
    let codes: Vec<(Code, Severity)> = report
        .findings
        .iter()
        .map(|f| (f.code, f.severity))
        .collect();
    assert_eq!(
        codes,
        vec![(Code::WORKFLOW_AZURE_LOGIN_INPUTS, Severity::Error)],
        "{:?}",
        report.findings
    );
    assert!(report.findings[0].title.ends_with("so `creds` is ignored"));
}

/// `creds` beside `client-id` and `tenant-id`: azure/login ignores `creds` and signs in
/// with OIDC, so the job needs `id-token: write`.
#[test]
fn creds_beside_client_and_tenant_is_oidc() {
    let text = "\
on: push
permissions:
  contents: read
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: azure/login@v2
        with:
          creds: ${{ secrets.AZURE_CREDENTIALS }}
          client-id: ${{ vars.AZURE_CLIENT_ID }}
          tenant-id: ${{ vars.AZURE_TENANT_ID }}
          subscription-id: ${{ vars.AZURE_SUBSCRIPTION_ID }}
      - uses: acr-preflight/acr-preflight@v0
";
    let mut c = config("ci.yml", "build");
    c.azure.client_id = Some(CLIENT.into());
    c.azure.client_secret = Some("s3cret".into());
    let (report, _) = check(&c, &files("ci.yml", text), &none());
    let oidc: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.code == Code::WORKFLOW_OIDC_PERMISSION)
        .collect();
    assert_eq!(oidc.len(), 1, "{:?}", report.findings);
    assert!(
        oidc[0]
            .message
            .contains("which make it ignore `creds` and use OIDC"),
        "{}",
        oidc[0].message
    );
}

/// Role, resolved reference, line, column.
type Row = (Role, Option<String>, Option<u32>, Option<u32>);

#[test]
fn powershell_scripts_continue_lines_with_a_backtick() {
    let text = "\
on: push
jobs:
  build:
    runs-on: windows-latest
    steps:
      - uses: acr-preflight/acr-preflight@v0
      - shell: pwsh
        run: |
          az acr build --registry myreg `
            --image team/win:v1 `
            oci://myreg.azurecr.io/team/win-ctx:v1
";
    let (_, d) = check(&config("ci.yml", "build"), &files("ci.yml", text), &none());
    let got: Vec<Row> = d
        .references
        .iter()
        .map(|r| {
            (
                r.role,
                r.reference.clone(),
                r.location.line,
                r.location.column,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                Role::Push,
                Some("myreg.azurecr.io/team/win:v1".into()),
                Some(10),
                Some(21)
            ),
            (
                Role::Context,
                Some("oci://myreg.azurecr.io/team/win-ctx:v1".into()),
                Some(11),
                Some(13)
            ),
        ]
    );
    assert!(text.lines().nth(9).unwrap()[20..].starts_with("team/win:v1"));
    assert!(text.lines().nth(10).unwrap()[12..].starts_with("oci://"));
}

#[test]
fn crlf_files_keep_the_same_positions() {
    let (name, text) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "build-push.yml")
        .unwrap();
    let crlf = text.replace('\n', "\r\n");
    let mut c = config(&name, "build");
    c.env.action = Some("preflight".into());
    let (_, unix) = check(&c, &files(&name, &text), &none());
    let (_, windows) = check(&c, &files(&name, &crlf), &none());
    let pos = |d: &acr_preflight::workflow::Discovery| {
        d.references
            .iter()
            .map(|r| (r.reference.clone(), r.location.line, r.location.column))
            .collect::<Vec<_>>()
    };
    assert_eq!(pos(&windows), pos(&unix));
    assert_eq!(windows.references.len(), 5);
}

#[test]
fn the_runners_step_names_pick_the_right_step() {
    let text = "\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo first
      - run: ./acr-preflight --registry myreg
      - run: docker push myreg.azurecr.io/a:1
";
    let mut c = config("ci.yml", "build");
    c.env.action = Some("__run_2".into());
    let (report, d) = check(&c, &files("ci.yml", text), &none());
    assert_eq!(d.step.as_ref().map(|s| s.index), Some(1));
    assert!(report.verified[0].contains("GITHUB_ACTION names it"));
    // Without GITHUB_ACTION the script that calls acr-preflight is recognised.
    c.env.action = None;
    let (report, d) = check(&c, &files("ci.yml", text), &none());
    assert_eq!(d.step.as_ref().map(|s| s.index), Some(1));
    assert!(report.verified[0].contains("its script runs acr-preflight"));
    assert_eq!(d.push_refs(), vec!["myreg.azurecr.io/a:1".to_string()]);
}

#[test]
fn the_check_reads_the_workspace_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let wf_dir = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf_dir).unwrap();
    std::fs::write(
        wf_dir.join("ci.yml"),
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: acr-preflight/acr-preflight@v0\n      - run: az acr build -r myreg -t app:v1 oci://myreg.azurecr.io/ctx:v1\n",
    )
    .unwrap();
    let mut c = config("ci.yml", "build");
    c.env.github_workspace = Some(dir.path().to_path_buf());
    let ctx = Ctx::new(c, Secrets::default());
    let (report, d) = run(&ctx, &none());
    assert_eq!(report.findings, vec![]);
    assert_eq!(report.status(), Status::Pass);
    assert_eq!(
        d.context_refs(),
        vec!["oci://myreg.azurecr.io/ctx:v1".to_string()]
    );
    assert_eq!(d.push_refs(), vec!["myreg.azurecr.io/app:v1".to_string()]);
}

/// Every scalar of a tree, with the texts of its keys.
fn texts<'a>(node: &'a Node, out: &mut Vec<&'a Text>) {
    match &node.kind {
        Kind::Scalar(t) => out.push(t),
        Kind::Seq(items) => items.iter().for_each(|n| texts(n, out)),
        Kind::Map(entries) => {
            for (k, v) in entries {
                out.push(k);
                texts(v, out);
            }
        }
        Kind::Null => {}
    }
}

#[test]
fn every_mapped_character_of_the_corpus_is_where_the_source_has_it() {
    let mut checked = 0;
    for (name, text) in fixtures() {
        let Ok(root) = yaml::parse(&text) else {
            continue;
        };
        let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
        let mut all = Vec::new();
        texts(&root, &mut all);
        for t in all {
            // A public workflow may hold shapes the reader maps to their line only
            // (a quoted scalar in a flow sequence): no column is better than a wrong one.
            if name.starts_with("public/") && !t.exact() {
                continue;
            }
            assert!(t.exact(), "{name}: {:?} has no exact map", t.value);
            for (i, c) in t.value.char_indices() {
                if c == '\n' || c == ' ' {
                    continue;
                }
                let p = t.pos_at(i);
                let at = lines[p.line as usize - 1].get(p.column as usize - 1);
                assert_eq!(at, Some(&c), "{name}: {:?} at {p:?}", t.value);
                checked += 1;
            }
        }
    }
    assert!(checked > 3000, "{checked}");
}

#[test]
fn no_prefix_of_any_corpus_file_makes_the_check_panic() {
    for (name, text) in fixtures() {
        let mut c = config(&name, "build");
        c.env.action = Some("preflight".into());
        c.auth_mode = AuthMode::Oidc;
        c.azure.client_id = Some(CLIENT.into());
        let cuts: Vec<usize> = text
            .char_indices()
            .map(|(i, _)| i)
            .filter(|i| i % 3 == 0)
            .chain([text.len()])
            .collect();
        for cut in cuts {
            let prefix = &text[..cut];
            let _ = Workflow::parse(&name, prefix);
            let _ = check(&c, &files(&name, prefix), &none());
        }
    }
}

#[test]
fn odd_values_in_odd_places_do_not_break_discovery() {
    let text = r#"
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: acr-preflight/acr-preflight@v0
      - uses: docker/build-push-action@v6
        with:
          build-contexts: ${{ fromJSON('["a"]') }}
          push: ${{ true }}
          tags:
      - uses: docker/build-push-action
      - run: |
          docker buildx build --build-context
          docker push
          az acr build -t
          docker buildx build --build-context=x=docker-image:// --tag= --push "unterminated
          echo ${{ unterminated
      - run: 42
      - run: [docker, push, x]
      - uses: 7
        with: not-a-map
"#;
    let (report, d) = check(&config("ci.yml", "build"), &files("ci.yml", text), &none());
    // Nothing to discover from these, and no panic.
    for r in &d.references {
        assert!(r.reference.is_none() || !r.written.is_empty());
    }
    assert!(report.findings.iter().all(|f| f.location.is_some()));
}

#[test]
fn az_acr_build_without_a_registry_names_the_configured_default() {
    let text = "\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: acr-preflight/acr-preflight@v0
      - run: az acr build -t team/app:v1 oci://myreg.azurecr.io/team/ctx:v1
";
    let (report, d) = check(&config("ci.yml", "build"), &files("ci.yml", text), &none());
    assert_eq!(d.push_refs(), Vec::<String>::new());
    assert_eq!(d.references[0].written, "team/app:v1");
    let f = &report.findings[0];
    assert_eq!(f.code, Code::WORKFLOW_UNRESOLVED_EXPRESSION);
    assert!(f.message.contains("no `--registry`"), "{}", f.message);
    let l = f.location.as_ref().unwrap();
    assert_eq!((l.line, l.column), (Some(7), Some(30)));
    assert!(text.lines().nth(6).unwrap()[29..].starts_with("team/app:v1"));
}

#[test]
fn folded_and_quoted_scripts_point_at_their_source_lines() {
    let text = "\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: acr-preflight/acr-preflight@v0
      - run: >
          docker buildx build
          --build-context base=docker-image://myreg.azurecr.io/team/base:v1
          --push -t myreg.azurecr.io/team/a:v1 .
      - run: \"docker push \\\"myreg.azurecr.io/team/b:v1\\\"\"
      - run: 'docker push myreg.azurecr.io/team/c:v1'
";
    let (report, d) = check(&config("ci.yml", "build"), &files("ci.yml", text), &none());
    assert_eq!(report.findings, vec![]);
    let got: Vec<Row> = d
        .references
        .iter()
        .map(|r| {
            (
                r.role,
                r.reference.clone(),
                r.location.line,
                r.location.column,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                Role::Context,
                Some("docker-image://myreg.azurecr.io/team/base:v1".into()),
                Some(9),
                Some(32)
            ),
            (
                Role::Push,
                Some("myreg.azurecr.io/team/a:v1".into()),
                Some(10),
                Some(21)
            ),
            (
                Role::Push,
                Some("myreg.azurecr.io/team/b:v1".into()),
                Some(11),
                Some(29)
            ),
            (
                Role::Push,
                Some("myreg.azurecr.io/team/c:v1".into()),
                Some(12),
                Some(27)
            ),
        ]
    );
    let line = |n: usize| text.lines().nth(n - 1).unwrap();
    assert!(line(9)[31..].starts_with("docker-image://myreg.azurecr.io/team/base:v1"));
    assert!(line(10)[20..].starts_with("myreg.azurecr.io/team/a:v1"));
    assert!(line(11)[28..].starts_with("myreg.azurecr.io/team/b:v1"));
    assert!(line(12)[26..].starts_with("myreg.azurecr.io/team/c:v1"));
}

#[test]
fn each_script_line_knows_where_it_starts() {
    let (_, text) = fixtures()
        .into_iter()
        .find(|(n, _)| n == "permissions-override.yml")
        .unwrap();
    let wf = Workflow::parse("w.yml", &text).unwrap();
    let run = wf.jobs[0].steps[2].run.as_ref().unwrap();
    let lines: Vec<(&str, Option<(u32, u32)>)> = run
        .lines()
        .iter()
        .map(|l| (l.text, l.pos.map(|p| (p.line, p.column))))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("az acr build -r myreg \\", Some((27, 11))),
            ("  -t team/app:${{ github.ref_name }} \\", Some((28, 11))),
            ("  --platform linux/amd64 \\", Some((29, 11))),
            ("  oci://myreg.azurecr.io/team/ctx:v1", Some((30, 11))),
        ]
    );
    assert!(text.lines().nth(26).unwrap()[10..].starts_with("az acr build"));
}

#[test]
fn generated_scripts_never_panic_and_always_point_inside_the_file() {
    const PIECES: &[&str] = &[
        "docker",
        " buildx",
        " build",
        " push",
        " --build-context",
        " --tag",
        " -t",
        "-té",
        " --push",
        "=",
        "$",
        "${",
        "}",
        "{{",
        "}}",
        "${{ env.X }}",
        "${{ vars.Y }}",
        "\"",
        "'",
        " \\\n",
        "\n",
        " ",
        "é",
        "x",
        "docker-image://",
        "oci://",
        "oci-layout://",
        " $(",
        ")",
        "`",
        "BUILDKIT_CONTEXT=",
        " --build-arg ",
        "az acr build",
        "az acr run",
        " -r ",
        " --image=",
        "myreg",
        ".azurecr.io/",
        "team/app:v1",
        "#",
        ";",
        "&&",
        "|",
        "IMAGE=",
        "$IMAGE",
        "${IMAGE:-x}",
        "\t",
        "export X=",
        "sudo ",
        "{{.Run.ID}}",
    ];
    let mut seed: u64 = 0x5eed_1234_abcd_0001;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as usize
    };
    let c = config("ci.yml", "build");
    for _ in 0..1500 {
        let n = 1 + next() % 30;
        let script: String = (0..n).map(|_| PIECES[next() % PIECES.len()]).collect();
        let indented: String = script.lines().map(|l| format!("          {l}\n")).collect();
        let text = format!(
            "on: push\nenv:\n  X: myreg.azurecr.io\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: acr-preflight/acr-preflight@v0\n      - run: |\n{indented}"
        );
        let lines = text.lines().count() as u32;
        let (report, d) = check(&c, &files("ci.yml", &text), &none());
        for loc in d
            .references
            .iter()
            .map(|r| &r.location)
            .chain(report.findings.iter().filter_map(|f| f.location.as_ref()))
        {
            let line = loc.line.unwrap();
            assert!((1..=lines).contains(&line), "{script:?}: line {line}");
        }
    }
}

#[test]
fn loading_a_multi_platform_build_is_an_error_at_its_platforms() {
    let text = "\
on: push
permissions:
  id-token: write
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: acr-preflight/acr-preflight@v0
      - uses: docker/build-push-action@v6
        with:
          load: true
          platforms: linux/amd64,linux/arm64
      - uses: docker/build-push-action@v6
        with:
          load: true
          platforms: linux/amd64
      - uses: docker/build-push-action@v6
        with:
          push: true
          platforms: linux/amd64,linux/arm64
          tags: myreg.azurecr.io/team/app:v1
      - run: docker buildx build --load --platform linux/amd64 --platform=linux/arm64,linux/amd64 .
      - run: docker buildx build --platform linux/amd64,linux/arm64 --push -t myreg.azurecr.io/team/app:v2 .
";
    let (report, _) = check(&config("ci.yml", "build"), &files("ci.yml", text), &none());
    let got: Vec<(Severity, Option<u32>, Option<u32>, &str)> = report
        .findings
        .iter()
        .filter(|f| f.code == Code::WORKFLOW_LOAD_MULTIPLATFORM)
        .map(|f| {
            (
                f.severity,
                f.location.as_ref().and_then(|l| l.line),
                f.location.as_ref().and_then(|l| l.column),
                f.title.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                Severity::Error,
                Some(12),
                Some(22),
                "step `docker/build-push-action@v6` loads a build for 2 platforms (linux/amd64, linux/arm64)"
            ),
            (
                Severity::Error,
                Some(22),
                Some(52),
                "step `run: docker buildx build --load --platform linux/amd64 …` loads a build for 2 platforms (linux/amd64, linux/arm64)"
            ),
        ]
    );
    assert!(text.lines().nth(11).unwrap()[21..].starts_with("linux/amd64,linux/arm64"));
    assert!(text.lines().nth(21).unwrap()[51..].starts_with("linux/amd64 --platform"));
}
