//! Property: whatever text reaches a sink (a finding's title, message, fix and file, a
//! context reference, tag and digest, a verified fact, the identity fields behind the
//! step outputs, a usage error quoting an input), the GitHub Actions runner, reading
//! stdout and stderr by its own rules (tests/it/support/runner.rs), finds no workflow
//! command acr-preflight did not mean to emit, in any of the three formats, and reads
//! `GITHUB_OUTPUT` back to exactly the values written. The step summary holds no raw
//! HTML and no image.
//!
//! Deterministic: a fixed seed, no failure files.

use crate::support;

use acr_preflight::findings::{CheckId, CheckReport, Code, ContextInfo, Finding, Report, Severity};
use proptest::prelude::*;
use proptest::test_runner::{Config as PropConfig, RngSeed};
use std::collections::HashMap;
use support::runner::{command_like_lines, try_runner_commands, try_runner_outputs};

/// Pieces that mean something to the runner, to Markdown or to a terminal.
const HOSTILE: &[&str] = &[
    "\n",
    "\r",
    "\r\n",
    "::",
    "::warning::pwned",
    "  ::error title=x::pwned",
    "\u{3000}::notice::pwned",
    "##[error]pwned",
    "##[add-mask]x",
    "%",
    "%0A",
    "%250A",
    "%0D::error::pwned",
    "::stop-commands::tok",
    "::tok::",
    "ghadelimiter_",
    "ghadelimiter_00112233445566778899aabbccddeeff",
    "<<",
    "=",
    ",",
    ":",
    "\u{0}",
    "\u{7}",
    "\x1b[31m",
    "\u{85}",
    "\u{2028}",
    "\t",
    " ",
    "`",
    "``",
    "\\",
    "<img src=https://t.example/p.png>",
    "![p](https://t.example/p.png)",
    "|",
    "&",
    "\u{200B}",
];

fn hostile() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(HOSTILE).prop_map(str::to_string),
        1 => "[a-z0-9 ]{0,6}",
        1 => any::<String>(),
        1 => proptest::collection::vec(any::<u8>(), 0..8)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ];
    proptest::collection::vec(piece, 0..10).prop_map(|v| v.concat())
}

#[derive(Debug, Clone)]
struct Values {
    title: String,
    message: String,
    fix: String,
    file: String,
    reference: String,
    tag: String,
    digest: String,
    fact: String,
    client_id: String,
    object_id: String,
    input: String,
}

fn values() -> impl Strategy<Value = Values> {
    (
        (hostile(), hostile(), hostile(), hostile()),
        (hostile(), hostile(), hostile(), hostile()),
        (hostile(), hostile(), hostile()),
    )
        .prop_map(
            |(
                (title, message, fix, file),
                (reference, tag, digest, fact),
                (client_id, object_id, input),
            )| Values {
                title,
                message,
                fix,
                file,
                reference,
                tag,
                digest,
                fact,
                client_id,
                object_id,
                input,
            },
        )
}

fn report(v: &Values) -> Report {
    let mut check = CheckReport::default();
    check.push(
        Finding::new(
            CheckId::Reference,
            Code::REF_INVALID,
            Severity::Error,
            v.title.clone(),
            v.message.clone(),
            v.fix.clone(),
        )
        .at(v.file.clone(), Some(3), Some(7)),
    );
    check.push(Finding::new(
        CheckId::Registry,
        Code::REF_MUTABLE_TAG,
        Severity::Warning,
        format!("tag `{}` of `{}`", v.tag, v.reference),
        v.message.clone(),
        String::new(),
    ));
    check.verified(v.fact.clone());
    Report {
        checks: vec![(CheckId::Reference, check)],
        contexts: vec![ContextInfo {
            reference: v.reference.clone(),
            role: acr_preflight::findings::Role::Pull,
            registry: Some(v.reference.clone()),
            repository: Some(v.tag.clone()),
            tag: Some(v.tag.clone()),
            digest: Some(v.digest.clone()),
            media_type: Some(v.fact.clone()),
            ..ContextInfo::default()
        }],
        http_requests: 0,
        identity: Some(acr_preflight::findings::AzureIdentity {
            client_id: Some(v.client_id.clone()),
            object_id: Some(v.object_id.clone()),
            ..Default::default()
        }),
    }
}

fn config(format: &str) -> acr_preflight::config::Config {
    let env: HashMap<String, String> = [("GITHUB_ACTIONS".to_string(), "true".to_string())]
        .into_iter()
        .collect();
    let args = [
        "acr-preflight",
        "--format",
        format,
        "--registry",
        "r.example",
    ]
    .map(std::ffi::OsString::from)
    .to_vec();
    match acr_preflight::cli::parse(args, &env) {
        Ok(acr_preflight::cli::Invocation::Check(c)) => *c,
        other => panic!("{other:?}"),
    }
}

/// What the runner does with an annotation's data and title: the text, with only the
/// legacy prefix broken.
fn as_shown(s: &str) -> String {
    s.replace("##[", "##\u{200B}[")
}

fn check(v: &Values, dir: &std::path::Path) -> Result<(), TestCaseError> {
    let report = report(v);
    for format in ["text", "json", "github"] {
        let config = config(format);
        let stdout = acr_preflight::run::render_stdout(&report, &config, false);
        let commands = try_runner_commands(&stdout).map_err(TestCaseError::fail)?;
        if format == "github" {
            let names: Vec<&str> = commands.iter().map(|c| c.name.as_str()).collect();
            prop_assert_eq!(
                names,
                vec!["error", "warning", "group", "stop-commands", "endgroup"],
                "{}",
                stdout
            );
            let property = |k: &str| commands[0].properties.get(k).cloned().unwrap_or_default();
            prop_assert_eq!(
                property("title"),
                as_shown(&format!("REF_INVALID: {}", v.title))
            );
            // An empty property is dropped, as actions/toolkit does.
            prop_assert_eq!(property("file"), as_shown(&v.file));
            let data = if v.fix.is_empty() {
                v.message.clone()
            } else {
                format!("{}\nFix: {}", v.message, v.fix)
            };
            prop_assert_eq!(&commands[0].data, &as_shown(&data));
        } else {
            prop_assert!(
                command_like_lines(&stdout).is_empty(),
                "{format}: {:?}",
                command_like_lines(&stdout)
            );
        }
        if format == "json" {
            let parsed: serde_json::Value = serde_json::from_str(stdout.trim_end())
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(parsed, acr_preflight::output::json::render(&report));
        }
    }

    // stderr: a usage error quoting an input's value, and a file problem naming a path.
    let (out, err) = acr_preflight::run::usage_streams(
        &format!("error: invalid value '{}' for input `timeout`", v.input),
        true,
    );
    prop_assert!(command_like_lines(&err).is_empty(), "{:?}", err);
    let commands = try_runner_commands(&out).map_err(TestCaseError::fail)?;
    prop_assert_eq!(commands.len(), 1);
    prop_assert_eq!(&commands[0].name, "error");
    let problem = acr_preflight::output::runner::safe_text(&format!(
        "acr-preflight: cannot write {}",
        v.file
    ));
    prop_assert!(command_like_lines(&problem).is_empty(), "{:?}", problem);

    // The runner files: outputs read back exactly, the summary holds no markup from outside.
    let summary = dir.join("summary");
    let output = dir.join("output");
    std::fs::write(&summary, "").map_err(|e| TestCaseError::fail(e.to_string()))?;
    std::fs::write(&output, "").map_err(|e| TestCaseError::fail(e.to_string()))?;
    let json = acr_preflight::output::json::render(&report);
    let problems = acr_preflight::output::github::write_files(
        &report,
        &json,
        Some(&summary),
        Some(&output),
        &acr_preflight::output::github::ReportPlace::BesideSummary,
    );
    prop_assert!(problems.is_empty(), "{:?}", problems);
    let written =
        std::fs::read_to_string(&output).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let outputs = try_runner_outputs(&written).map_err(TestCaseError::fail)?;
    prop_assert_eq!(outputs.len(), 5, "{:?}", outputs);
    prop_assert_eq!(&outputs["digest"], &v.digest);
    prop_assert_eq!(&outputs["client-id"], &v.client_id);
    prop_assert_eq!(&outputs["principal-id"], &v.object_id);
    prop_assert_eq!(&outputs["result"], "fail");
    let markdown =
        std::fs::read_to_string(&summary).map_err(|e| TestCaseError::fail(e.to_string()))?;
    for bad in ["<img", "![", "##["] {
        prop_assert!(!markdown.contains(bad), "{bad} in {markdown}");
    }
    // Every `<` is one of the summary's own tags.
    let own = [
        "<sub>",
        "</sub>",
        "<br>",
        "<code>",
        "</code>",
        "<details>",
        "</details>",
        "<summary>",
        "</summary>",
        "<a name=\"acr-preflight-",
        "</a>",
        "<code title=\"",
    ];
    for (i, _) in markdown.match_indices('<') {
        prop_assert!(
            own.iter().any(|t| markdown[i..].starts_with(t)),
            "raw `<` at {i}: {}",
            &markdown[i..markdown.len().min(i + 40)]
        );
    }
    for entry in std::fs::read_dir(dir).map_err(|e| TestCaseError::fail(e.to_string()))? {
        let path = entry
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .path();
        std::fs::remove_file(path).map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
    Ok(())
}

#[test]
fn no_value_from_outside_becomes_a_runner_command_or_breaks_an_output() {
    let dir = tempfile::tempdir().unwrap();
    let config = PropConfig {
        cases: 256,
        rng_seed: RngSeed::Fixed(0x0ac2_9e1f),
        failure_persistence: None,
        ..PropConfig::default()
    };
    let mut runner = proptest::test_runner::TestRunner::new(config);
    let result = runner.run(&values(), |v| check(&v, dir.path()));
    if let Err(e) = result {
        panic!("{e}");
    }
}
