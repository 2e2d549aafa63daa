//! distribution/reference's own test tables (tests/fixtures/reference-vectors.json, vendored
//! from github.com/distribution/reference, Apache-2.0; see tests/fixtures/README.md), run
//! against our hand-written parser. Every case must agree.

use acr_preflight::reference::{Reference, ReferenceError, docker_ref, parse, parse_normalized};
use serde_json::Value;
use std::path::PathBuf;

fn vectors() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/reference-vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the reference conformance vectors at {}: {e}",
            path.display()
        )
    });
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", path.display()))
}

fn section<'a>(all: &'a Value, key: &str, list: &str) -> &'a Vec<Value> {
    all[key][list]
        .as_array()
        .unwrap_or_else(|| panic!("vectors: `{key}.{list}` is missing or not a list"))
}

fn field<'a>(case: &'a Value, key: &str) -> Option<&'a str> {
    case.get(key).and_then(Value::as_str)
}

fn show(result: &Result<Reference, ReferenceError>) -> String {
    match result {
        Ok(r) => format!(
            "Ok(domain={:?}, repository={:?}, tag={:?}, digest={:?})",
            r.domain,
            r.name(),
            r.tag,
            r.digest
        ),
        Err(e) => format!("Err({:?}: {e})", e.go_name()),
    }
}

#[test]
fn parse_cases_agree() {
    let all = vectors();
    let cases = section(&all, "parse", "cases");
    assert!(!cases.is_empty(), "vectors: parse.cases is empty");
    let mut failures = Vec::new();
    for case in cases {
        let input = field(case, "input").expect("every parse case has an input");
        let result = parse(input);
        let ok = match (field(case, "error"), &result) {
            (Some(name), Err(e)) => e.go_name() == Some(name),
            (Some(_), Ok(_)) => false,
            (None, Err(_)) => false,
            (None, Ok(r)) => {
                r.domain.as_deref() == field(case, "domain")
                    && Some(r.name().as_str()) == field(case, "repository")
                    && r.tag.as_deref() == field(case, "tag")
                    && r.digest.as_deref() == field(case, "digest")
            }
        };
        if !ok {
            failures.push(format!(
                "input {input:?}\n  expected {case}\n  got      {}",
                show(&result)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} parse cases disagree:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn normalized_valid_names_are_accepted() {
    let all = vectors();
    let names = section(&all, "normalized_valid", "names");
    assert!(!names.is_empty());
    let failures: Vec<String> = names
        .iter()
        .map(|n| n.as_str().expect("names are strings"))
        .filter_map(|name| {
            let result = parse_normalized(name);
            result
                .is_err()
                .then(|| format!("input {name:?}: expected accepted, got {}", show(&result)))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn normalized_invalid_names_are_rejected() {
    let all = vectors();
    let names = section(&all, "normalized_invalid", "names");
    assert!(!names.is_empty());
    let failures: Vec<String> = names
        .iter()
        .map(|n| n.as_str().expect("names are strings"))
        .filter_map(|name| {
            let result = parse_normalized(name);
            result
                .is_ok()
                .then(|| format!("input {name:?}: expected rejected, got {}", show(&result)))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn docker_ref_cases_agree() {
    let all = vectors();
    let cases = section(&all, "docker_ref", "cases");
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in cases {
        let input = field(case, "input").expect("every docker_ref case has an input");
        let expected = field(case, "expected").expect("every docker_ref case has an expected");
        let got = docker_ref(input);
        if got.as_deref().ok() != Some(expected) {
            failures.push(format!(
                "input {input:?}\n  expected {expected:?}\n  got      {got:?}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every rejection among the vectors explains itself: a rule, and a column where one applies.
#[test]
fn every_rejection_is_explained() {
    let all = vectors();
    let mut inputs: Vec<&str> = section(&all, "parse", "cases")
        .iter()
        .filter(|c| c.get("error").is_some())
        .filter_map(|c| field(c, "input"))
        .collect();
    inputs.extend(
        section(&all, "normalized_invalid", "names")
            .iter()
            .filter_map(Value::as_str),
    );
    for input in inputs {
        let error = parse(input)
            .err()
            .or_else(|| parse_normalized(input).err())
            .unwrap_or_else(|| panic!("{input:?} should be rejected"));
        let text = error.to_string();
        assert!(
            text.starts_with(error.go_text()) && text.len() > error.go_text().len() + 10,
            "{input:?}: no explanation in {text:?}"
        );
        if !input.is_empty() && error.column().is_some() {
            assert!(
                text.contains("column "),
                "{input:?}: column not named in {text:?}"
            );
        }
    }
}
