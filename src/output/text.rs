//! Terminal output in the shape of rustc diagnostics: what, where, evidence, fix.

use crate::findings::{Finding, Report, Severity, Status};

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn severity(self, s: Severity) -> String {
        let code = match s {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Notice => "1;36",
        };
        self.paint(code, s.as_str())
    }

    fn status(self, s: Status) -> String {
        let (code, word) = match s {
            Status::Pass => ("32", "pass   "),
            Status::Skipped => ("2", "skipped"),
            Status::Warn => ("33", "warn   "),
            Status::Fail => ("31", "fail   "),
        };
        self.paint(code, word)
    }
}

/// Strips control characters (terminal escapes from outside text included) but keeps
/// line breaks, which the layout indents.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect()
}

fn indented(label: &str, text: &str) -> String {
    let mut out = String::new();
    for (i, line) in clean(text).lines().enumerate() {
        if i == 0 {
            out.push_str(&format!("   = {label}: {line}\n"));
        } else {
            out.push_str(&format!("     {}{line}\n", " ".repeat(label.len() + 2)));
        }
    }
    out
}

pub fn render_finding(f: &Finding, style: Style) -> String {
    let mut out = format!(
        "{}{}: {}\n",
        style.severity(f.severity),
        style.paint("1", &format!("[{}]", f.code)),
        style.paint("1", &clean(&f.title))
    );
    if let Some(loc) = &f.location {
        let mut place = clean(&loc.file);
        if let Some(line) = loc.line {
            place.push_str(&format!(":{line}"));
            if let Some(col) = loc.column {
                place.push_str(&format!(":{col}"));
            }
        }
        out.push_str(&format!("  {} {place}\n", style.paint("34", "-->")));
    }
    out.push_str(&indented("seen", &f.message));
    if !f.fix.is_empty() {
        out.push_str(&indented("help", &f.fix));
    }
    out
}

pub fn render(report: &Report, style: Style, fail_on_label: &str) -> String {
    let mut out = String::new();
    for f in report.ranked() {
        out.push_str(&render_finding(f, style));
        out.push('\n');
    }
    out.push_str("checks:\n");
    for (check, r) in &report.checks {
        out.push_str(&format!(
            "  {} {}\n",
            style.status(r.status()),
            check.label()
        ));
        for fact in &r.verified {
            out.push_str(&format!("            {}\n", clean(fact).replace('\n', " ")));
        }
    }
    out.push_str(&format!(
        "result: {} ({}; fail-on: {fail_on_label})\n",
        style.paint("1", report.verdict().as_str()),
        super::count_line(report)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{CheckId, Code};

    #[test]
    fn a_finding_reads_like_a_compiler_diagnostic() {
        let f = Finding::new(
            CheckId::Reference,
            Code::REF_INVALID,
            Severity::Error,
            "context `x` is not a valid reference",
            "line one\nline two",
            "use `myreg.azurecr.io/x:v1`",
        )
        .at(".github/workflows/build.yml", Some(14), Some(20));
        let text = render_finding(&f, Style { color: false });
        assert_eq!(
            text,
            "error[REF_INVALID]: context `x` is not a valid reference\n  --> .github/workflows/build.yml:14:20\n   = seen: line one\n           line two\n   = help: use `myreg.azurecr.io/x:v1`\n"
        );
    }

    #[test]
    fn control_characters_from_outside_are_dropped() {
        let f = Finding::new(
            CheckId::Reference,
            Code::REF_INVALID,
            Severity::Warning,
            "t\x1b[31m",
            "m\x07",
            "",
        );
        let text = render_finding(&f, Style { color: false });
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{text:?}");
    }
}
