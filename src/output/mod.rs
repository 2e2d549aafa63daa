//! Renderers: one report, several forms. They know nothing about checks. `runner` is
//! the Actions runner's side of the contract (workflow commands, escaping, file commands).

pub mod github;
pub mod json;
pub mod runner;
pub mod summary;
pub mod text;

use crate::findings::{Report, Severity};

/// "2 errors, 1 warning" (or "no findings").
pub fn count_line(report: &Report) -> String {
    let count = |s: Severity| report.findings().filter(|f| f.severity == s).count();
    let parts: Vec<String> = [
        (Severity::Error, "error"),
        (Severity::Warning, "warning"),
        (Severity::Notice, "notice"),
    ]
    .iter()
    .filter_map(|(sev, word)| match count(*sev) {
        0 => None,
        1 => Some(format!("1 {word}")),
        n => Some(format!("{n} {word}s")),
    })
    .collect();
    if parts.is_empty() {
        "no findings".into()
    } else {
        parts.join(", ")
    }
}
