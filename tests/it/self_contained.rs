//! The repository stands alone: a clone with nothing beside it builds and tests, so no
//! file may point outside it (a sibling checkout, a workstation path).

use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if matches!(name.to_str(), Some("target" | ".git" | "dist")) {
            continue;
        }
        match entry.file_type() {
            Ok(t) if t.is_dir() => files(&path, out),
            Ok(t) if t.is_file() => out.push(path),
            _ => {}
        }
    }
}

#[test]
fn nothing_refers_outside_the_repository() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    // Built from pieces so that this file does not match itself.
    let forbidden = [format!("../{}/", "shared"), format!("/work/{}", "shared")];
    let mut all = Vec::new();
    files(root, &mut all);
    assert!(all.len() > 20, "walked only {} files", all.len());
    let mut hits = Vec::new();
    for path in all {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue; // binary
        };
        for (n, line) in text.lines().enumerate() {
            if forbidden.iter().any(|f| line.contains(f.as_str())) {
                hits.push(format!("{}:{}: {line}", path.display(), n + 1));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "references outside the repository:\n{}",
        hits.join("\n")
    );
}
