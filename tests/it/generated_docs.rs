//! action.yml's inputs and the README's option table are generated from the one
//! option definition in src/cli.rs. These tests fail when a committed file drifts;
//! run them with UPDATE_GENERATED=1 to rewrite the files.

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

fn check_or_update(file: &str, start: &str, end: &str, generated: &str) {
    let path = root().join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let expected = splice(&text, start, end, generated);
    if std::env::var_os("UPDATE_GENERATED").is_some() {
        std::fs::write(&path, &expected).unwrap();
        return;
    }
    assert!(
        text == expected,
        "{file} is out of date with src/cli.rs; run `UPDATE_GENERATED=1 cargo test --test generated_docs`"
    );
}

#[test]
fn action_yml_inputs_match_the_cli() {
    check_or_update(
        "action.yml",
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
        "<!-- options:start (generated from src/cli.rs) -->",
        "<!-- options:end -->",
        &format!("<!-- options:start (generated from src/cli.rs) -->{generated}"),
    );
}
