//! The job summary (GitHub-flavoured Markdown appended to `$GITHUB_STEP_SUMMARY`).

use crate::findings::{Finding, Report, Severity, Status, Verdict};

/// Escapes text from anywhere (inputs, registries, helpers) for Markdown: no raw HTML
/// and no control characters. Inside `code spans` GitHub shows `<` and `&` literally,
/// so they are escaped only outside them; with an odd number of backticks there are
/// no reliable spans and everything is escaped.
fn escape(s: &str, in_table: bool) -> String {
    let spans_balanced = s.matches('`').count().is_multiple_of(2);
    let mut out = String::with_capacity(s.len());
    let mut in_code = false;
    for c in s.chars() {
        match c {
            '`' if spans_balanced => {
                in_code = !in_code;
                out.push(c);
            }
            '<' if !in_code => out.push_str("&lt;"),
            '>' if !in_code => out.push_str("&gt;"),
            '&' if !in_code => out.push_str("&amp;"),
            // GFM splits table cells on `|` even inside code spans; `\|` keeps it.
            '|' if in_table => out.push_str("\\|"),
            '\r' => {}
            c if c.is_control() && c != '\n' => {}
            c => out.push(c),
        }
    }
    crate::gha::neutralise(&out)
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
    fn html_is_escaped_outside_code_spans_only() {
        assert_eq!(md("<img src=x> a|b & c"), "&lt;img src=x&gt; a|b &amp; c");
        assert_eq!(md("`a > b && c` & <d>"), "`a > b && c` &amp; &lt;d&gt;");
        // An unbalanced backtick opens no reliable span: escape everything.
        assert_eq!(md("`a > b"), "`a &gt; b");
        assert_eq!(cell("`a|b` | c\nd"), "`a\\|b` \\| c<br>d");
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
