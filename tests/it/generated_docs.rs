//! action.yml's inputs and the README's option table are generated from the one
//! option definition in src/cli.rs; action.yml's outputs and the README's output table
//! from the one output declaration in src/output/github.rs (host/action.yml's are kept
//! by host_install.rs). These tests fail when a committed file drifts; run them with
//! UPDATE_GENERATED=1 to rewrite the files.

use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Replaces the text between `start` and `end` (exclusive) with `generated`.
fn splice(text: &str, start: &str, end: &str, generated: &str) -> String {
    let a = text
        .find(start)
        .unwrap_or_else(|| panic!("marker {start:?} not found"));
    let b = text[a..]
        .find(end)
        .map(|i| a + i)
        .unwrap_or_else(|| panic!("marker {end:?} not found after {start:?}"));
    format!("{}{}{}", &text[..a], generated, &text[b..])
}

/// Compares `file`'s text between the markers with `generated` (from `source`), or
/// rewrites it under UPDATE_GENERATED.
fn check_or_update(file: &str, source: &str, start: &str, end: &str, generated: &str) {
    let path = root().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let expected = splice(&text, start, end, generated);
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    assert!(
        text == expected,
        "{file} is out of date with {source}; run `UPDATE_GENERATED=1 cargo test --test it generated_docs`"
    );
}

#[test]
fn action_yml_inputs_match_the_cli() {
    check_or_update(
        "action.yml",
        "src/cli.rs",
        "inputs:\n",
        "outputs:\n",
        &acr_preflight::cli::action_yml_inputs(),
    );
}

#[test]
fn readme_option_table_matches_the_cli() {
    let generated = format!("\n{}", acr_preflight::cli::options_markdown());
    check_or_update(
        "README.md",
        "src/cli.rs",
        "<!-- options:start (generated from src/cli.rs) -->",
        "<!-- options:end -->",
        &format!("<!-- options:start (generated from src/cli.rs) -->{generated}"),
    );
}

#[test]
fn action_yml_outputs_match_the_declared_outputs() {
    check_or_update(
        "action.yml",
        "src/output/github.rs",
        "outputs:\n",
        "runs:\n",
        &acr_preflight::output::github::action_yml_outputs(None),
    );
}

#[test]
fn readme_output_table_matches_the_declared_outputs() {
    let start = "<!-- outputs:start (generated from src/output/github.rs) -->";
    check_or_update(
        "README.md",
        "src/output/github.rs",
        start,
        "<!-- outputs:end -->",
        &format!(
            "{start}\n{}",
            acr_preflight::output::github::outputs_markdown()
        ),
    );
}
