//! The fuzz targets' bodies, one function per target, each taking the raw input.
//!
//! `cargo fuzz` (fuzz_targets/*.rs) calls them under libFuzzer; `tests/it/fuzz_corpus.rs`
//! in the main package calls them on every file of `fuzz/corpus/<target>/` with the
//! stable toolchain, so the seed corpus and every crash kept there stay fixed.
//!
//! Besides "does not panic", each target checks a property that must hold for any
//! input: positions stay inside the text, a parsed reference prints back to itself,
//! an escaped workflow command survives the runner's own parsing unchanged.

use acr_preflight::config::RunEnvironment;
use acr_preflight::docker::config as docker_config;
use acr_preflight::output::runner;
use acr_preflight::workflow::discover::{self, Input};
use acr_preflight::workflow::expr::Scope;
use acr_preflight::workflow::model::Workflow;
use acr_preflight::workflow::shell::{self, Dialect};
use acr_preflight::{jwt, reference, registry, secrets::Secrets};
use std::collections::HashMap;

/// Inputs longer than this are cut: the parsers are linear or close to it, and the
/// fuzzer should spend its time on shapes, not on length.
const MAX_INPUT: usize = 64 * 1024;

fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(&data[..data.len().min(MAX_INPUT)]).into_owned()
}

/// Splits the input at the first `sep` byte into two strings.
fn two(data: &[u8], sep: u8) -> (String, String) {
    let data = &data[..data.len().min(MAX_INPUT)];
    match data.iter().position(|b| *b == sep) {
        Some(i) => (text(&data[..i]), text(&data[i + 1..])),
        None => (text(data), String::new()),
    }
}

/// Reference parser (src/reference/): distribution's grammar, docker's normalisation,
/// the `--context` form and the repair suggestion.
pub fn reference(data: &[u8]) {
    let (input, registry) = two(data, 0);
    if let Ok(r) = reference::parse(&input) {
        // distribution's Parse is exact: what parses prints back to the same text.
        assert_eq!(r.to_string(), input, "parse() must round-trip");
        assert_eq!(
            reference::parse(&r.to_string())
                .map(|again| again.to_string())
                .ok(),
            Some(input.clone())
        );
    }
    if let Ok(r) = reference::parse_normalized(&input) {
        // A normalised reference is a fixed point of normalisation.
        let shown = r.to_string();
        let again = reference::parse_normalized(&shown)
            .unwrap_or_else(|e| panic!("normalised `{shown}` does not parse again: {e}"));
        assert_eq!(again.to_string(), shown);
    }
    let _ = reference::docker_ref(&input);
    match reference::parse_context(&input) {
        Ok(c) => {
            assert!(c.written.ends_with(&c.reference_text));
            let _ = c.reference.to_string();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let registry = (!registry.is_empty()).then_some(registry.as_str());
    if let Some(fixed) = reference::suggest_repair(&input, registry) {
        // A suggestion is only offered when it is valid.
        assert!(
            reference::parse_context(&fixed).is_ok(),
            "suggested `{fixed}` for `{input}` does not parse"
        );
    }
}

/// `WWW-Authenticate` parser and the other registry wire readers (src/registry/wire.rs).
pub fn www_authenticate(data: &[u8]) {
    use registry::wire;
    let (header, body) = two(data, 0);
    match wire::parse_challenge(Some(&header)) {
        Ok(wire::Challenge::Bearer { realm, .. }) => assert!(!realm.is_empty()),
        Ok(wire::Challenge::Basic { .. }) => {}
        Err(wire::ChallengeProblem::Missing) => assert!(header.trim().is_empty()),
        Err(wire::ChallengeProblem::Malformed(m)) => {
            // The header is quoted shortened; a message never grows with the input.
            assert!(m.chars().count() < 400, "{} chars", m.chars().count());
        }
    }
    if let Ok(base) = url::Url::parse("https://registry.test/v2/team/app/tags/list") {
        let _ = wire::next_link(Some(&header), &base);
    }
    let _ = wire::describe_errors(&wire::parse_errors(body.as_bytes()));
    if let Some(t) = wire::parse_token_response(body.as_bytes()) {
        assert!(!t.token.is_empty());
        let _ = wire::granted_actions(&t.token, "team/app");
    }
    let _ = wire::granted_actions(&header, "team/app");
    let _ = wire::index_platforms(body.as_bytes());
    let _ = wire::manifest_layers(body.as_bytes());
    let _ = wire::declared_media_type(body.as_bytes());
    let short = wire::shorten(&header, 20);
    assert!(short.chars().count() <= 21, "{short:?}");
}

/// Docker config parser (src/docker/config.rs).
pub fn docker_config(data: &[u8]) {
    let text = text(data);
    let secrets = Secrets::default();
    let path = std::path::Path::new("/fuzz/config.json");
    match docker_config::parse(path, &text, &secrets) {
        Ok(config) => {
            for host in ["myreg.azurecr.io", "docker.io", "localhost:5000", ""] {
                let _ = config.resolve(host);
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    let _ = acr_preflight::docker::credential::convert_to_hostname(&text);
    let _ = acr_preflight::docker::credential::auth_key(&text);
}

/// JWT claim reader (src/jwt.rs).
pub fn jwt(data: &[u8]) {
    let token = text(data);
    if let Some(claims) = jwt::claims(&token) {
        let _ = serde_json::Value::Object(claims).to_string();
    }
    if let Some(t) = jwt::expiry(&token) {
        let shown = jwt::format_utc(t);
        assert!(shown.ends_with('Z'), "{shown}");
        let _ = jwt::describe_distance(t, std::time::SystemTime::now());
    }
}

/// Asserts a 1-based position lies inside `source`.
fn inside(source: &str, line: u32, column: Option<u32>) {
    let lines = source.split('\n').count().max(1) as u32;
    assert!(
        line >= 1 && line <= lines,
        "line {line} outside 1..={lines}"
    );
    if let Some(c) = column {
        assert!(c >= 1, "column {c}");
    }
}

/// Workflow YAML reader (src/workflow/yaml.rs, model.rs) and discovery over every job
/// (which drives the expression and shell-word scanners on real shapes).
pub fn workflow_yaml(data: &[u8]) {
    let source = text(data);
    let workflow = match Workflow::parse(".github/workflows/fuzz.yml", &source) {
        Ok(w) => w,
        Err(e) => {
            if let Some(pos) = e.pos {
                inside(&source, pos.line, Some(pos.column));
            }
            return;
        }
    };
    let env: HashMap<String, String> = HashMap::new();
    let run = RunEnvironment::default();
    for job in &workflow.jobs {
        inside(&source, job.id.start.line, Some(job.id.start.column));
        for step in &job.steps {
            inside(&source, step.pos.line, Some(step.pos.column));
        }
        let found = discover::discover(&Input {
            files: None,
            workflow: &workflow,
            job,
            preflight: None,
            process_env: &env,
            run: &run,
            cloud: acr_preflight::cloud::AzureEnvironment::AzureCloud,
        });
        for r in &found.references {
            let _ = r.is_registry();
        }
    }
}

/// The workflow every expression is evaluated in: env at three levels, a matrix, a
/// self-reference and a chain, so lookups and the depth bound are exercised.
const EXPR_WORKFLOW: &str = r#"
on: push
env:
  REGISTRY: myreg.azurecr.io
  LOOP: ${{ env.LOOP }}x
jobs:
  build:
    strategy:
      matrix:
        app: [api, web]
    env:
      IMAGE: ${{ env.REGISTRY }}/team/app
      CHAIN: ${{ env.IMAGE }}:${{ github.sha }}
    steps:
      - uses: actions/checkout@v4
        env:
          TAG: v1
      - run: docker build .
"#;

/// Expression scanner and evaluator (src/workflow/expr.rs).
pub fn workflow_expr(data: &[u8]) {
    let raw = text(data);
    let Ok(workflow) = Workflow::parse(".github/workflows/fuzz.yml", EXPR_WORKFLOW) else {
        panic!("the fixed workflow parses");
    };
    let Some(job) = workflow.jobs.first() else {
        panic!("the fixed workflow has a job");
    };
    let env: HashMap<String, String> = [("HOME".to_string(), "/home/runner".to_string())]
        .into_iter()
        .collect();
    let run = RunEnvironment::default();
    let scope = Scope {
        workflow: &workflow,
        job,
        step: job.steps.first(),
        preflight: None,
        process_env: &env,
        run: &run,
    };
    let expanded = scope.expand(&raw);
    // Every byte of the result maps back into the input.
    assert_eq!(expanded.offsets.len(), expanded.text.len());
    for o in &expanded.offsets {
        assert!(*o <= raw.len(), "offset {o} past {}", raw.len());
    }
    for u in &expanded.unresolved {
        assert!(u.offset <= raw.len());
        assert!(raw[u.offset..].starts_with(&u.written) || u.written.is_empty());
    }
    let _ = scope.evaluate(&raw);
    let _ = scope.env_var(&raw);
    let _ = scope.shell_var(&raw);
}

/// Shell-word scanner (src/workflow/shell.rs), both dialects.
pub fn shell_words(data: &[u8]) {
    let script = text(data);
    let Ok(workflow) = Workflow::parse(".github/workflows/fuzz.yml", EXPR_WORKFLOW) else {
        panic!("the fixed workflow parses");
    };
    let Some(job) = workflow.jobs.first() else {
        panic!("the fixed workflow has a job");
    };
    let env = HashMap::new();
    let run = RunEnvironment::default();
    let scope = Scope {
        workflow: &workflow,
        job,
        step: job.steps.first(),
        preflight: None,
        process_env: &env,
        run: &run,
    };
    let locals = HashMap::new();
    for dialect in [Dialect::Posix, Dialect::PowerShell] {
        for command in shell::parse(&script, dialect) {
            for word in &command.words {
                assert!(word.raw.start <= word.raw.end && word.raw.end <= script.len());
                assert!(script.is_char_boundary(word.raw.start));
                assert!(script.is_char_boundary(word.raw.end));
                let written = word.as_written(&script);
                assert_eq!(written.offsets.len(), written.text.len());
                let expanded = word.expand(&script, &scope, &locals);
                assert_eq!(expanded.offsets.len(), expanded.text.len());
                let _ = word.literal();
                let _ = word.literal_prefix();
            }
        }
    }
}

/// The runner's unescaping (actions/runner `ActionCommand.cs`): the replacements are
/// applied in this order, `%25` last.
fn runner_unescape(s: &str, property: bool) -> String {
    let mut out = s.replace("%0D", "\r").replace("%0A", "\n");
    if property {
        out = out.replace("%3A", ":").replace("%2C", ",");
    }
    out.replace("%25", "%")
}

/// Name, properties (unescaped) and data (unescaped) of a workflow command.
type RunnerCommand = (String, Vec<(String, String)>, String);

/// A workflow command as the runner parses it (`ActionCommand.TryParseV2`): the line
/// starts with `::`, the command ends at the next `::`, the name ends at the first
/// space, properties are split at `,` and each at its first `=`.
fn runner_parse(line: &str) -> Option<RunnerCommand> {
    // The runner trims leading white space only (found by fuzzing: a trailing space is data).
    let rest = line.trim_start().strip_prefix("::")?;
    let end = rest.find("::")?;
    let (info, data) = (&rest[..end], &rest[end + 2..]);
    let (name, props) = info.split_once(' ').unwrap_or((info, ""));
    let mut properties = Vec::new();
    for p in props.split(',').filter(|p| !p.is_empty()) {
        if let Some((k, v)) = p.split_once('=') {
            properties.push((k.to_string(), runner_unescape(v, true)));
        }
    }
    Some((name.to_string(), properties, runner_unescape(data, false)))
}

/// Workflow-command escaper (src/output/runner.rs): a command built from any title, file and
/// message is one line, and the runner reads back exactly what was meant (with `##[`
/// neutralised); a free-text line is never taken for a command.
pub fn gha_escape(data: &[u8]) {
    let raw = text(data);
    let mut parts = raw.splitn(3, '\u{0}');
    let message = parts.next().unwrap_or_default().to_string();
    let title = parts.next().unwrap_or_default().to_string();
    let file = parts.next().unwrap_or_default().to_string();
    let line = runner::command(
        "error",
        &[("title", title.clone()), ("file", file.clone())],
        &message,
    );
    assert!(
        !line.contains('\n') && !line.contains('\r'),
        "command spans lines: {line:?}"
    );
    let Some((name, props, data)) = runner_parse(&line) else {
        panic!("the runner does not see a command in {line:?}");
    };
    assert_eq!(name, "error");
    assert_eq!(
        data,
        runner::neutralise(&message),
        "data round trip of {line:?}"
    );
    let expected: Vec<(String, String)> = [("title", &title), ("file", &file)]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_string(), runner::neutralise(v)))
        .collect();
    assert_eq!(props, expected, "property round trip of {line:?}");
    assert!(!line.contains("##["), "legacy command prefix in {line:?}");

    for free in raw.split(['\n', '\r']) {
        let safe = runner::safe_log_line(free);
        assert!(
            !safe.trim().starts_with("::"),
            "free text read as a command: {safe:?}"
        );
        assert!(!safe.contains("##["), "legacy command prefix in {safe:?}");
    }
}

/// Dockerfile `FROM` reader (src/dockerfile.rs): any text, with a build-arg that
/// overrides a declared ARG; every image found sits at a place inside the text.
pub fn dockerfile(data: &[u8]) {
    let text = text(data);
    let args = [("A".to_string(), "x".to_string())];
    let lines = text.lines().count().max(1);
    for base in acr_preflight::dockerfile::base_images(&text, &args) {
        assert!(
            base.line >= 1 && base.line <= lines,
            "line {} of {lines}",
            base.line
        );
        assert!(base.column >= 1, "column {}", base.column);
    }
}

/// Git smart-HTTP ref advertisement (src/git.rs), the body a git server sends: any bytes
/// give refs or a reason, never a panic; every ref kept is a bounded, named ref. The
/// first line is also read as a context URL.
pub fn git_refs(data: &[u8]) {
    if let Ok(refs) = acr_preflight::git::parse_advertisement(data) {
        for name in &refs.names {
            assert!(!name.is_empty() && name.len() <= 1024, "ref name {name:?}");
        }
        let (branches, tags) = refs.short_names();
        assert!(branches.len() + tags.len() <= refs.names.len());
        for wanted in ["HEAD", "main", "refs/heads/main", "v1"] {
            let _ = refs.has(wanted);
        }
    }
    let text = text(data);
    let url = text.lines().next().unwrap_or_default();
    let _ = acr_preflight::git::classify(url, true);
    let _ = acr_preflight::git::classify(url, false);
}
