//! The GitHub Actions runner's own parsing rules, for asserting what it would execute:
//! workflow commands in a step's stdout and stderr (actions/runner `ActionCommand.cs`,
//! `ActionCommandManager.cs`) and `GITHUB_OUTPUT` entries (`FileCommandManager.cs`).
//!
//! Rules followed:
//! - the runner reads each stream with .NET `ReadLine`, which ends a line at `\n`, `\r`
//!   or `\r\n`;
//! - a line is a command when, after .NET `TrimStart` (Unicode white space, the same set
//!   as Rust's `trim_start`), it starts with `::` and holds a second `::`;
//! - the legacy form `##[name]data` is found anywhere in a line;
//! - after `::stop-commands::TOKEN` nothing is a command until the line `::TOKEN::`;
//! - data is unescaped `%0D`, `%0A`, then `%25`; properties also `%3A`, `%2C`.

use std::collections::BTreeMap;

/// A workflow command as the runner would execute it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunnerCommand {
    pub name: String,
    pub properties: BTreeMap<String, String>,
    pub data: String,
}

pub fn unescape_data(s: &str) -> String {
    // The runner undoes %25 last, so "%250A" stays a literal "%0A".
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%25", "%")
}

pub fn unescape_property(s: &str) -> String {
    s.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
}

/// The lines the runner sees in a stream: split at `\r\n`, `\r` or `\n`.
pub fn runner_lines(stream: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = stream;
    while let Some(i) = rest.find(['\r', '\n']) {
        lines.push(&rest[..i]);
        let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
        rest = &rest[i + skip..];
    }
    lines.push(rest);
    lines
}

/// Every command the runner would act on in `stream`, honouring `stop-commands`, or
/// the first line holding a legacy `##[` command (which the runner would also run).
pub fn try_runner_commands(stream: &str) -> Result<Vec<RunnerCommand>, String> {
    let mut out = Vec::new();
    let mut stopped_until: Option<String> = None;
    for line in runner_lines(stream) {
        let trimmed = line.trim_start();
        if let Some(token) = &stopped_until {
            if trimmed == format!("::{token}::") {
                stopped_until = None;
            }
            continue;
        }
        if line.contains("##[") {
            return Err(format!("a legacy ##[ command reached the log: {line:?}"));
        }
        let Some(rest) = trimmed.strip_prefix("::") else {
            continue;
        };
        let Some(end) = rest.find("::") else { continue };
        let (info, data) = (&rest[..end], &rest[end + 2..]);
        let (name, props) = info.split_once(' ').unwrap_or((info, ""));
        let mut properties = BTreeMap::new();
        for piece in props.split(',').filter(|p| !p.is_empty()) {
            if let Some((k, v)) = piece.split_once('=') {
                properties.insert(k.to_ascii_lowercase(), unescape_property(v));
            }
        }
        let name = name.to_ascii_lowercase();
        if name == "stop-commands" {
            stopped_until = Some(data.to_string());
        }
        out.push(RunnerCommand {
            name,
            properties,
            data: unescape_data(data),
        });
    }
    Ok(out)
}

/// [`try_runner_commands`], panicking on a legacy command.
pub fn runner_commands(stream: &str) -> Vec<RunnerCommand> {
    try_runner_commands(stream).unwrap_or_else(|e| panic!("{e}"))
}

/// Parses a GITHUB_OUTPUT file as the runner does (heredoc and `k=v` forms); an error
/// is what makes the runner fail the step (`Matching delimiter not found`, `Invalid
/// format`).
pub fn try_runner_outputs(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    // On Linux (the only host of container actions) the runner splits at `\n` alone and
    // keeps a `\r` (FileCommandManager.cs `ReadLine`, `\r\n` only under OS_WINDOWS).
    let mut lines = text.split('\n');
    while let Some(line) = lines.next() {
        if line.is_empty() {
            continue;
        }
        let equals = line.find('=');
        let heredoc = line.find("<<");
        match (equals, heredoc) {
            (Some(e), h) if h.is_none_or(|h| e < h) => {
                let (k, v) = (&line[..e], &line[e + 1..]);
                if k.is_empty() {
                    return Err(format!("Invalid format: {line:?}"));
                }
                out.insert(k.to_string(), v.to_string());
            }
            (_, Some(h)) => {
                let (name, delimiter) = (&line[..h], &line[h + 2..]);
                if name.is_empty() || delimiter.is_empty() {
                    return Err(format!("Invalid format: {line:?}"));
                }
                let mut value = Vec::new();
                loop {
                    let Some(next) = lines.next() else {
                        return Err(format!("Matching delimiter not found {delimiter:?}"));
                    };
                    if next == delimiter {
                        break;
                    }
                    value.push(next);
                }
                out.insert(name.to_string(), value.join("\n"));
            }
            _ => return Err(format!("Invalid format: {line:?}")),
        }
    }
    Ok(out)
}

/// [`try_runner_outputs`], panicking on a broken file.
pub fn runner_outputs(text: &str) -> BTreeMap<String, String> {
    try_runner_outputs(text).unwrap_or_else(|e| panic!("{e}"))
}

/// Lines of a stream that start, after white space, with `::` or hold `##[`, outside a
/// `stop-commands` region: what must never come from outside text.
pub fn command_like_lines(stream: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stopped_until: Option<String> = None;
    for line in runner_lines(stream) {
        let trimmed = line.trim_start();
        if let Some(token) = &stopped_until {
            if trimmed == format!("::{token}::") {
                stopped_until = None;
            }
            continue;
        }
        if let Some(token) = trimmed.strip_prefix("::stop-commands::") {
            stopped_until = Some(token.to_string());
        }
        if trimmed.starts_with("::") || line.contains("##[") {
            out.push(line.to_string());
        }
    }
    out
}

/// A stream as it shows in the job log: `::add-mask::` lines are swallowed by the runner
/// (stdout for the github format, stderr for text and json under Actions).
pub fn without_mask_lines(stream: &str) -> String {
    stream
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect::<Vec<_>>()
        .join("\n")
}
