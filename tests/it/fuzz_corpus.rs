//! Replays the fuzz corpus on the stable toolchain: every file of
//! `fuzz/corpus/<target>/` (the seeds, and every input a fuzzing run found a crash
//! with) through the same target function `cargo fuzz` runs (fuzz/src/lib.rs), so a
//! fixed crash stays fixed in `cargo test` without nightly. Longer runs that look for
//! new inputs: `scripts/fuzz.sh [seconds-per-target]`.

#[path = "../../fuzz/src/lib.rs"]
mod targets;

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no corpus in {}", dir.display());
    for path in entries {
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = std::panic::catch_unwind(|| run(&data));
        assert!(outcome.is_ok(), "{target}: {} fails", path.display());
    }
}

#[test]
fn reference_corpus() {
    replay("reference", targets::reference);
}

#[test]
fn www_authenticate_corpus() {
    replay("www_authenticate", targets::www_authenticate);
}

#[test]
fn docker_config_corpus() {
    replay("docker_config", targets::docker_config);
}

#[test]
fn jwt_corpus() {
    replay("jwt", targets::jwt);
}

#[test]
fn workflow_yaml_corpus() {
    replay("workflow_yaml", targets::workflow_yaml);
}

#[test]
fn workflow_expr_corpus() {
    replay("workflow_expr", targets::workflow_expr);
}

#[test]
fn shell_words_corpus() {
    replay("shell_words", targets::shell_words);
}

#[test]
fn gha_escape_corpus() {
    replay("gha_escape", targets::gha_escape);
}

#[test]
fn dockerfile_corpus() {
    replay("dockerfile", targets::dockerfile);
}

#[test]
fn git_refs_corpus() {
    replay("git_refs", targets::git_refs);
}
