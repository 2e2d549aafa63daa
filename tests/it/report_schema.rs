//! The JSON report against its documentation: the field table of docs/report.md is the
//! schema. The real binary's report (a failing run, a passing one, one signed in with an
//! Azure identity, and the report file of the `github` format) and the page's own
//! example must each have only documented keys, every key documented as always present,
//! and values of the documented type (and among the documented values, where the page
//! lists them).

use crate::support;

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// One row of the field table.
#[derive(Debug)]
struct Field {
    /// `string`, `integer`, `null`, `object`, `array of objects`, `array of strings`.
    types: Vec<String>,
    /// The only values a string may have, when the page lists them (`one of …`).
    values: Vec<String>,
    always: bool,
}

const TYPES: &[&str] = &[
    "string",
    "integer",
    "boolean",
    "null",
    "object",
    "array of objects",
    "array of strings",
];

fn page() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/report.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The words between backticks in `s`.
fn quoted(s: &str) -> Vec<String> {
    s.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// The field table of docs/report.md, by path (`findings[].code`).
fn documented(page: &str) -> BTreeMap<String, Field> {
    let header = "| field | type | present | meaning |";
    let rows = page
        .lines()
        .skip_while(|l| *l != header)
        .skip(2)
        .take_while(|l| l.starts_with('|'));
    let mut fields = BTreeMap::new();
    for row in rows {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let [_, path, ty, present, ..] = cells[..] else {
            panic!("not a row of four cells: {row}");
        };
        let path = path
            .strip_prefix('`')
            .and_then(|p| p.strip_suffix('`'))
            .unwrap_or_else(|| panic!("the field is not in backticks: {row}"));
        let (ty, values) = match ty.split_once(", one of ") {
            Some((ty, values)) => (ty, quoted(values)),
            None => (ty, Vec::new()),
        };
        let types: Vec<String> = ty.split(" or ").map(str::to_string).collect();
        for t in &types {
            assert!(TYPES.contains(&t.as_str()), "unknown type {t:?} in: {row}");
        }
        let always = match present {
            "always" => true,
            p if p.starts_with("when ") => false,
            p => panic!("presence is `always` or `when …`, not {p:?}: {row}"),
        };
        let field = Field {
            types,
            values,
            always,
        };
        assert!(
            fields.insert(path.to_string(), field).is_none(),
            "{path} twice"
        );
    }
    assert!(fields.len() > 10, "no field table found under {header:?}");
    fields
}

/// `(parent, key)` of a field path: `findings[].code` is the key `code` of the
/// objects at `findings[]`; a top-level key has the parent "".
fn split(path: &str) -> (&str, &str) {
    path.rsplit_once('.').unwrap_or(("", path))
}

fn has_type(v: &Value, ty: &str) -> bool {
    match ty {
        "string" => v.is_string(),
        "integer" => v.is_u64() || v.is_i64(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "object" => v.is_object(),
        "array of objects" => v.as_array().is_some_and(|a| a.iter().all(Value::is_object)),
        "array of strings" => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
        other => panic!("unknown type {other}"),
    }
}

/// What in `report` disagrees with the documented fields, one line per problem.
fn problems(fields: &BTreeMap<String, Field>, report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    match report.as_object() {
        Some(root) => walk(fields, root, "", &mut out),
        None => out.push("the report is not an object".into()),
    }
    out
}

fn walk(
    fields: &BTreeMap<String, Field>,
    object: &Map<String, Value>,
    at: &str,
    out: &mut Vec<String>,
) {
    for (path, field) in fields {
        let (parent, key) = split(path);
        if parent == at && field.always && !object.contains_key(key) {
            out.push(format!(
                "`{path}` is documented as always present but missing"
            ));
        }
    }
    for (key, value) in object {
        let path = if at.is_empty() {
            key.clone()
        } else {
            format!("{at}.{key}")
        };
        let Some(field) = fields.get(&path) else {
            out.push(format!("`{path}` is not documented"));
            continue;
        };
        if !field.types.iter().any(|t| has_type(value, t)) {
            out.push(format!(
                "`{path}` is {value}, not {}",
                field.types.join(" or ")
            ));
        }
        if let Some(s) = value.as_str()
            && !field.values.is_empty()
            && !field.values.iter().any(|v| v == s)
        {
            out.push(format!("`{path}` is {s:?}, not one of {:?}", field.values));
        }
        match value {
            Value::Object(inner) => walk(fields, inner, &path, out),
            Value::Array(items) => {
                for item in items {
                    if let Value::Object(inner) = item {
                        walk(fields, inner, &format!("{path}[]"), out);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Asserts `report` matches the documented schema.
fn assert_documented(report: &Value) {
    let fields = documented(&page());
    let found = problems(&fields, report);
    assert!(
        found.is_empty(),
        "the report disagrees with docs/report.md:\n{}\n\n{report:#}",
        found.join("\n")
    );
}

/// The page's example report.
fn example(page: &str) -> Value {
    let (_, after) = page
        .split_once("## Example")
        .expect("docs/report.md has an `## Example` section");
    let (_, block) = after.split_once("```json\n").expect("a ```json block");
    let (json, _) = block
        .split_once("\n```")
        .expect("the end of the ```json block");
    serde_json::from_str(json).unwrap_or_else(|e| panic!("the example is not JSON: {e}"))
}

#[test]
fn the_field_table_is_a_tree_of_documented_objects() {
    let fields = documented(&page());
    for path in fields.keys() {
        let (parent, _) = split(path);
        if parent.is_empty() {
            continue;
        }
        let (container, want) = match parent.strip_suffix("[]") {
            Some(array) => (array, "array of objects"),
            None => (parent, "object"),
        };
        let field = fields
            .get(container)
            .unwrap_or_else(|| panic!("`{path}` is under `{container}`, which is not documented"));
        assert!(
            field.types.iter().any(|t| t == want),
            "`{path}` needs `{container}` to be an {want}, documented as {:?}",
            field.types
        );
    }
}

#[test]
fn the_documented_example_matches_the_field_table() {
    assert_documented(&example(&page()));
}

#[test]
fn the_check_finds_an_undocumented_a_missing_and_a_mistyped_key() {
    let page = page();
    let fields = documented(&page);
    let mut report = example(&page);
    report["surprise"] = Value::from(1);
    report["findings"][0]
        .as_object_mut()
        .expect("the example has a finding")
        .remove("code");
    report["stats"]["http_requests"] = Value::from("3");
    report["result"] = Value::from("maybe");
    let found = problems(&fields, &report);
    for expected in [
        "`surprise` is not documented",
        "`findings[].code` is documented as always present but missing",
        "`stats.http_requests` is \"3\", not integer",
        "`result` is \"maybe\", not one of",
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(expected)),
            "no {expected:?} in {found:#?}"
        );
    }
    assert_eq!(found.len(), 4, "{found:#?}");
}

fn stdout_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn a_failing_run_matches_the_documented_schema() {
    let rig = crate::cli::Rig::new();
    let host = rig.host();
    let missing = format!("oci://{host}/team/missing:v1");
    let out = crate::cli::run(
        &[
            "--registry",
            &host,
            "--context",
            &missing,
            "--context",
            "Not A Reference",
            "--push",
            &format!("{host}/team/app:v2"),
            "--format",
            "json",
            "--docker-config",
            rig.config(),
        ],
        &[],
    );
    let report = stdout_json(&out);
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    assert_eq!(report["result"], "fail");
    assert!(
        report["findings"].as_array().is_some_and(|f| f.len() >= 2),
        "{report:#}"
    );
    assert_documented(&report);
}

#[test]
fn a_passing_run_matches_the_documented_schema() {
    let rig = crate::cli::Rig::new();
    let host = rig.host();
    let context = format!("{host}/team/ctx:v1");
    let out = crate::cli::run(
        &[
            "--registry",
            &host,
            "--context",
            &context,
            "--format",
            "json",
            "--docker-config",
            rig.config(),
        ],
        &[],
    );
    let report = stdout_json(&out);
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    assert_eq!(report["result"], "pass");
    assert!(report["contexts"][0]["digest"].is_string(), "{report:#}");
    assert_documented(&report);
}

#[test]
fn a_run_signed_in_with_an_azure_identity_matches_the_documented_schema() {
    // No role is assigned: the sign-in succeeds, the registry refuses, and the report
    // shows the identity with the OIDC claims the job presented.
    let w = crate::identity::world(false);
    let r = crate::identity::run(
        &w,
        true,
        &[],
        &[
            &["--client-id", crate::identity::CLIENT_ID][..],
            &crate::identity::CONTEXT[..],
        ]
        .concat(),
    );
    assert_eq!(
        r.json["identity"]["object_id"],
        crate::identity::OBJECT_ID,
        "{:#}",
        r.json
    );
    assert!(r.json["identity"]["presented"].is_object(), "{:#}", r.json);
    assert_documented(&r.json);
}

#[test]
fn the_report_file_of_the_github_format_matches_the_documented_schema() {
    let rig = crate::cli::Rig::new();
    let host = rig.host();
    let dir = tempfile::tempdir().unwrap();
    let (summary, output) = (dir.path().join("summary"), dir.path().join("output"));
    std::fs::write(&summary, "").unwrap();
    std::fs::write(&output, "").unwrap();
    let context = format!("oci://{host}/team/ctx:latest");
    let out = crate::cli::run(
        &[
            "--registry",
            &host,
            "--context",
            &context,
            "--format",
            "github",
            "--docker-config",
            rig.config(),
        ],
        &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap()),
            ("GITHUB_OUTPUT", output.to_str().unwrap()),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let outputs = support::runner::runner_outputs(&std::fs::read_to_string(&output).unwrap());
    let path = outputs.get("report").expect("a `report` output");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["result"], "warn", "{report:#}");
    assert_documented(&report);
}
