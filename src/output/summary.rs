//! The job summary (GitHub-flavoured Markdown appended to `$GITHUB_STEP_SUMMARY`).

use crate::findings::{Finding, Report, Severity, Status, Verdict};

/// One character of outside text as Markdown that can only ever be that character: the
/// characters that open HTML, links, images, code spans, emphasis or escapes become
/// numeric character references (shown literally, never markup); `|` too, so that a
/// table cell is never split.
fn literal(c: char, out: &mut String) {
    match c {
        '<' | '>' | '&' | '[' | ']' | '`' | '\\' | '|' | '*' | '_' | '~' | '!' | '#' => {
            out.push_str(&format!("&#{};", u32::from(c)));
        }
        '\r' => {}
        c if c.is_control() && c != '\n' => {}
        c => out.push(c),
    }
}

/// The code spans of one line as GFM finds them: a run of N backticks opens a span that
/// the next run of exactly N backticks closes; a backslash-escaped backtick outside a
/// span opens nothing. Returns (is_code, text) pieces.
fn code_spans(line: &str) -> Vec<(bool, &str)> {
    let bytes = line.as_bytes();
    let run_at = |i: usize| bytes[i..].iter().take_while(|b| **b == b'`').count();
    let mut pieces = Vec::new();
    let (mut i, mut plain_start) = (0, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'`' => {
                let n = run_at(i);
                let mut j = i + n;
                let mut close = None;
                while j < bytes.len() {
                    if bytes[j] == b'`' {
                        let m = run_at(j);
                        if m == n {
                            close = Some(j);
                            break;
                        }
                        j += m;
                    } else {
                        j += 1;
                    }
                }
                match close {
                    Some(j) => {
                        pieces.push((false, &line[plain_start..i]));
                        pieces.push((true, &line[i + n..j]));
                        i = j + n;
                        plain_start = i;
                    }
                    None => i += n,
                }
            }
            _ => i += 1,
        }
    }
    pieces.push((false, &line[plain_start.min(line.len())..]));
    pieces
}

/// Escapes text from anywhere (inputs, registries, helpers) for Markdown so that it
/// renders as itself and never as HTML, an image, a link or a table break. Code spans
/// (`like this`) are kept as code, rendered as `<code>` with the same escaping inside:
/// the output holds no backtick and no `<` of its own, so no reading of GFM's span
/// rules can make any of it raw HTML.
fn escape(s: &str, _in_table: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for (n, line) in s.split('\n').enumerate() {
        if n > 0 {
            out.push('\n');
        }
        for (code, text) in code_spans(line) {
            let text = if code { text.trim() } else { text };
            if code {
                out.push_str("<code>");
            }
            for c in text.chars() {
                literal(c, &mut out);
            }
            if code {
                out.push_str("</code>");
            }
        }
    }
    out
}

pub fn md(s: &str) -> String {
    escape(s, false)
}

fn cell(s: &str) -> String {
    escape(s, true).replace('\n', "<br>")
}

fn block(s: &str) -> String {
    // Two trailing spaces make a Markdown line break inside a paragraph.
    md(s).replace('\n', "  \n")
}

fn verdict_line(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "✅ **pass**",
        Verdict::Warn => "⚠️ **warn**",
        Verdict::Fail => "❌ **fail**",
    }
}

fn status_cell(s: Status) -> &'static str {
    match s {
        Status::Pass => "✅ pass",
        Status::Skipped => "⏭️ skipped",
        Status::Warn => "⚠️ warn",
        Status::Fail => "❌ fail",
    }
}

fn severity_icon(s: Severity) -> &'static str {
    match s {
        Severity::Error => "❌",
        Severity::Warning => "⚠️",
        Severity::Notice => "ℹ️",
    }
}

fn finding_section(f: &Finding) -> String {
    let mut out = format!(
        "#### {} `{}`: {}\n\n",
        severity_icon(f.severity),
        f.code,
        md(&f.title).replace('\n', " ")
    );
    if let Some(loc) = &f.location {
        let mut place = md(&loc.file);
        if let Some(line) = loc.line {
            place.push_str(&format!(":{line}"));
        }
        out.push_str(&format!("At `{place}`  \n"));
    }
    out.push_str(&block(&f.message));
    out.push_str("\n\n");
    if !f.fix.is_empty() {
        out.push_str(&format!("**Fix:** {}\n\n", block(&f.fix)));
    }
    out.push_str(&format!(
        "<sub>`acr-preflight explain {}` · {} · {}</sub>\n\n",
        f.code, f.check, f.severity
    ));
    out
}

/// The summary, kept within `budget` bytes: findings that do not fit are counted, not
/// cut mid-way, and the JSON report still holds them all.
pub fn render(report: &Report, budget: u64) -> String {
    let mut head = format!(
        "## acr-preflight: {}\n\n{}\n\n| Check | Status | Verified |\n|---|---|---|\n",
        verdict_line(report.verdict()),
        super::count_line(report)
    );
    for (check, r) in &report.checks {
        let verified = if r.verified.is_empty() {
            "–".to_string()
        } else {
            r.verified
                .iter()
                .map(|v| cell(v))
                .collect::<Vec<_>>()
                .join("<br>")
        };
        head.push_str(&format!(
            "| {} | {} | {} |\n",
            check.label(),
            status_cell(r.status()),
            verified
        ));
    }
    head.push('\n');

    let ranked = report.ranked();
    let mut body = String::new();
    if !ranked.is_empty() {
        body.push_str("### Findings\n\n");
    }
    let reserve = 256u64;
    let mut shown = 0;
    for f in &ranked {
        let section = finding_section(f);
        let total = head.len() + body.len() + section.len();
        if total as u64 + reserve > budget {
            break;
        }
        body.push_str(&section);
        shown += 1;
    }
    if shown < ranked.len() {
        body.push_str(&format!(
            "_{} more findings did not fit in the 1 MiB step summary; the JSON report (step output `report`) holds them all._\n\n",
            ranked.len() - shown
        ));
    }
    let mut out = head;
    out.push_str(&body);
    if out.len() as u64 > budget {
        // Even the table does not fit: say so in the smallest form.
        out = format!(
            "## acr-preflight: {}\n\nThe summary did not fit; see the JSON report.\n",
            verdict_line(report.verdict())
        );
        if out.len() as u64 > budget {
            out.clear();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{CheckId, CheckReport, Code};

    fn report_with(n: usize, message: &str) -> Report {
        let mut r = CheckReport::default();
        for _ in 0..n {
            r.push(Finding::new(
                CheckId::Reference,
                Code::REF_INVALID,
                Severity::Error,
                "t",
                message,
                "f",
            ));
        }
        Report {
            checks: vec![(CheckId::Reference, r)],
            contexts: vec![],
            http_requests: 0,
            identity: None,
        }
    }

    #[test]
    fn outside_text_is_never_markup() {
        assert_eq!(
            md("<img src=x> a|b & c"),
            "&#60;img src=x&#62; a&#124;b &#38; c"
        );
        assert_eq!(
            md("`a > b && c` & <d>"),
            "<code>a &#62; b &#38;&#38; c</code> &#38; &#60;d&#62;"
        );
        // An unmatched backtick opens no span and stays a literal backtick.
        assert_eq!(md("`a > b"), "&#96;a &#62; b");
        // GFM: runs of different lengths do not match, so nothing here is code; the
        // old toggle-per-backtick reading let this `<img>` through raw.
        assert_eq!(
            md("``a``` <img src=q> `"),
            "&#96;&#96;a&#96;&#96;&#96; &#60;img src=q&#62; &#96;"
        );
        assert_eq!(
            md("![p](https://t.example/p.png)"),
            "&#33;&#91;p&#93;(https://t.example/p.png)"
        );
        assert_eq!(cell("`a|b` | c\nd"), "<code>a&#124;b</code> &#124; c<br>d");
        // A span never crosses a line (a blank line would end it in GFM).
        assert_eq!(md("`a\n\n<b>`"), "&#96;a\n\n&#60;b&#62;&#96;");
    }

    #[test]
    fn never_exceeds_the_budget_and_says_what_was_left_out() {
        let big = "x".repeat(10_000);
        let report = report_with(500, &big);
        let out = render(&report, crate::gha::SUMMARY_LIMIT);
        assert!(out.len() as u64 <= crate::gha::SUMMARY_LIMIT);
        assert!(out.contains("more findings did not fit"));
        let tiny = render(&report, 10);
        assert!(tiny.len() <= 10);
    }
}
