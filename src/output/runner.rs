//! The GitHub Actions runner contract (actions/toolkit `command.ts` and `file-command.ts`,
//! actions/runner `ActionCommandManager.cs` and `FileCommandManager.cs`):
//! workflow-command escaping, environment files, the step summary.

use std::io::Write;
use std::path::Path;

/// The runner uploads no step summary larger than this (FileCommandManager.cs).
pub const SUMMARY_LIMIT: u64 = 1024 * 1024;

/// Escapes workflow-command data exactly as actions/toolkit `escapeData` does, after
/// neutralising the legacy `##[` command prefix the runner finds anywhere in a line.
pub fn escape_data(s: &str) -> String {
    neutralise(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property value as actions/toolkit `escapeProperty` does.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Breaks every `##[` so the runner's legacy parser cannot see a command in text that
/// came from outside. A zero-width space keeps the text readable.
pub fn neutralise(s: &str) -> String {
    s.replace("##[", "##\u{200B}[")
}

/// Makes one line of free text safe to print on stdout or stderr under the runner: a
/// line that starts with `::` after leading whitespace (the runner trims it, as .NET
/// `TrimStart` does) would be parsed as a workflow command, so a zero-width space goes
/// between the two colons. The caller must have split the text at `\n` and `\r` (the
/// runner's `ReadLine` ends a line at either); [`safe_text`] does.
pub fn safe_log_line(line: &str) -> String {
    let line = neutralise(line);
    let body = line.trim_start();
    if let Some(rest) = body.strip_prefix("::") {
        let indent = &line[..line.len() - body.len()];
        format!("{indent}:\u{200B}:{rest}")
    } else {
        line
    }
}

/// Makes free text of any number of lines safe under the runner: split where the
/// runner splits (`\r\n`, `\r`, `\n`), every line through [`safe_log_line`], joined by
/// `\n`. Other control characters but the tab are dropped.
pub fn safe_text(text: &str) -> String {
    let unified = text.replace("\r\n", "\n").replace('\r', "\n");
    unified
        .split('\n')
        .map(|line| {
            let kept: String = line
                .chars()
                .filter(|c| *c == '\t' || !c.is_control())
                .collect();
            safe_log_line(&kept)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Makes serialized JSON safe under the runner without changing the value it encodes:
/// `##[` can only occur inside a string there (a key or a value), and `\u005b` is the
/// same `[` to every JSON reader. A JSON text never puts a raw line break inside a
/// string, so no line of it can start with `::`.
pub fn safe_json(json: &str) -> String {
    json.replace("##[", "##\\u005b")
}

/// One workflow command line, `::name k=v,k=v::data`. Properties with empty values
/// are dropped, as the toolkit does.
pub fn command(name: &str, properties: &[(&str, String)], data: &str) -> String {
    let props: Vec<String> = properties
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", escape_property(v)))
        .collect();
    if props.is_empty() {
        format!("::{name}::{}", escape_data(data))
    } else {
        format!("::{name} {}::{}", props.join(","), escape_data(data))
    }
}

/// A random token for heredoc delimiters and `stop-commands`.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    let filled = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut bytes));
    if filled.is_err() {
        // No /dev/urandom (not a Linux runner): fall back to time and address entropy;
        // the writer still refuses a delimiter that occurs in the value.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            ^ (&bytes as *const _ as usize as u128);
        bytes.copy_from_slice(&seed.to_le_bytes());
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends `name` outputs to `$GITHUB_OUTPUT` in the heredoc form with a random
/// delimiter that occurs in no value.
pub fn write_outputs(path: &Path, outputs: &[(&str, String)]) -> std::io::Result<()> {
    let mut text = String::new();
    for (name, value) in outputs {
        let delimiter = loop {
            let d = format!("ghadelimiter_{}", random_token());
            if !value.contains(&d) && !name.contains(&d) {
                break d;
            }
        };
        text.push_str(&format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
    }
    // Only the file the runner named: no final symlink followed, no device, no FIFO.
    let mut file = crate::fsread::open_runner_file(path)?;
    file.write_all(text.as_bytes())
}

/// `s` as a single-quoted YAML scalar, for the generated parts of action.yml: no escape
/// sequences to get wrong, only `'` doubled.
pub fn yaml_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Appends Markdown to the step summary. The caller keeps it under the limit; this
/// refuses to write past it so that the runner never drops the whole summary. A
/// symlink, a device or a FIFO at `path` is refused, not written through.
pub fn append_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    let mut file = crate::fsread::open_runner_file(path)?;
    let existing = file.metadata()?.len();
    if existing + markdown.len() as u64 > SUMMARY_LIMIT {
        return Err(std::io::Error::other(format!(
            "step summary would exceed {SUMMARY_LIMIT} bytes"
        )));
    }
    file.write_all(markdown.as_bytes())
}

/// How many bytes of summary still fit, given what earlier writers appended (the file
/// itself, never a link's target).
pub fn summary_budget(path: &Path) -> u64 {
    let existing = std::fs::symlink_metadata(path)
        .ok()
        .filter(|m| m.file_type().is_file())
        .map(|m| m.len())
        .unwrap_or(0);
    SUMMARY_LIMIT.saturating_sub(existing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_matches_the_toolkit() {
        assert_eq!(escape_data("100% a\r\nb:c,d"), "100%25 a%0D%0Ab:c,d");
        assert_eq!(
            escape_property("100% a\r\nb:c,d"),
            "100%25 a%0D%0Ab%3Ac%2Cd"
        );
        // `%` first, so an escaped-looking input cannot be unescaped into a newline.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn legacy_prefix_is_neutralised_everywhere() {
        assert!(!escape_data("x ##[error]boom").contains("##["));
        assert!(!escape_property("##[add-mask]x").contains("##["));
        assert!(!safe_log_line("a ##[warning]b").contains("##["));
        assert_eq!(safe_log_line("::error::x"), ":\u{200B}:error::x");
        assert_eq!(safe_log_line("  ::error::x"), "  :\u{200B}:error::x");
        assert_eq!(safe_log_line("\u{3000}::x::y"), "\u{3000}:\u{200B}:x::y");
        assert_eq!(safe_log_line("a ::b::c"), "a ::b::c");
    }

    #[test]
    fn safe_text_splits_where_the_runner_splits() {
        let out = safe_text("a\r::warning::x\r\n ::notice::y\n##[error]z\x1b[1m");
        for line in out.split(['\n', '\r']) {
            assert!(!line.trim_start().starts_with("::"), "{out:?}");
        }
        assert!(!out.contains("##[") && !out.contains('\x1b') && !out.contains('\r'));
        assert_eq!(out.lines().count(), 4);
    }

    #[test]
    fn safe_json_encodes_the_same_value() {
        let v = serde_json::json!({"m": "x ##[error]y \\##[z", "##[k": 1});
        let text = safe_json(&serde_json::to_string_pretty(&v).unwrap());
        assert!(!text.contains("##["), "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), v);
    }

    #[test]
    fn commands_drop_empty_properties() {
        assert_eq!(
            command(
                "error",
                &[("title", "A: b".into()), ("file", String::new())],
                "m"
            ),
            "::error title=A%3A b::m"
        );
        assert_eq!(command("notice", &[], "m"), "::notice::m");
    }

    #[test]
    fn outputs_use_a_fresh_delimiter_per_value() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        write_outputs(&path, &[("a", "1\n2".into()), ("b", String::new())]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("a<<ghadelimiter_"));
        let d = lines[0].trim_start_matches("a<<");
        assert_eq!(&lines[1..4], &["1", "2", d]);
        assert!(lines[4].starts_with("b<<ghadelimiter_"));
        let d2 = lines[4].trim_start_matches("b<<");
        assert_ne!(d2, d);
        // An empty value is an empty line, as actions/toolkit writes it.
        assert_eq!(&lines[5..7], &["", d2]);
    }

    #[test]
    fn summary_refuses_to_pass_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary");
        std::fs::write(&path, vec![b'x'; (SUMMARY_LIMIT - 10) as usize]).unwrap();
        assert_eq!(summary_budget(&path), 10);
        assert!(append_summary(&path, "0123456789A").is_err());
        append_summary(&path, "0123456789").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), SUMMARY_LIMIT);
    }
}
