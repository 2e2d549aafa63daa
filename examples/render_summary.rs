//! Renders a job summary (GitHub-flavoured Markdown) as a stand-alone HTML page styled
//! like GitHub's, for the README's pictures (scripts/screenshots.sh).
//!
//!     render_summary summary SUMMARY.md OUT.html
//!     render_summary annotations REPORT.json WORKFLOW.yml OUT.html
//!
//! The second form draws the workflow file with the report's findings under the lines
//! they point at, the way the Actions run page shows annotations on a file.

use std::process::ExitCode;

const CSS: &str = r#"
body { margin: 0; background: #ffffff; color: #1f2328;
  font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
.page { max-width: 900px; margin: 24px auto; border: 1px solid #d1d9e0; border-radius: 6px; padding: 16px 24px; }
h2 { font-size: 1.5em; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; margin: .5em 0 16px; }
h3 { font-size: 1.25em; margin: 24px 0 16px; }
h4 { font-size: 1em; margin: 24px 0 12px; }
p { margin: 0 0 12px; }
a { color: #0969da; text-decoration: none; }
code { font: 85% ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: rgba(129,139,152,.12); border-radius: 6px; padding: .2em .4em; }
pre { background: #f6f8fa; border-radius: 6px; padding: 12px 16px; overflow: auto; margin: 0 0 12px; }
pre code { background: none; padding: 0; font-size: 85%; white-space: pre; }
table { border-collapse: collapse; margin: 0 0 16px; display: block; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; vertical-align: top; }
th { font-weight: 600; background: #f6f8fa; }
tr:nth-child(2n) td { background: #f6f8fa; }
details { margin: 0 0 12px; }
summary { cursor: pointer; color: #59636e; }
sub { color: #59636e; font-size: 85%; }
ul { padding-left: 2em; margin: 0 0 12px; }
.file { font: 12px/20px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; border: 1px solid #d1d9e0; border-radius: 6px; }
.file .name { background: #f6f8fa; padding: 8px 16px; border-bottom: 1px solid #d1d9e0; font-weight: 600; }
.line { display: flex; white-space: pre; }
.num { width: 40px; text-align: right; padding-right: 12px; color: #59636e; }
.note { margin: 4px 16px 8px 52px; padding: 8px 12px; border: 1px solid #d1d9e0; border-left: 4px solid #d1242f;
  border-radius: 6px; white-space: pre-wrap; font: 13px/1.5 -apple-system, "Segoe UI", sans-serif; }
.note.warning { border-left-color: #9a6700; } .note.notice { border-left-color: #0969da; }
.note b { display: block; }
"#;

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head>\n<body><div class=\"page\">\n{body}\n</div></body></html>\n",
        escape(title)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn summary(markdown: &str) -> String {
    let mut o = comrak::Options::default();
    o.extension.table = true;
    o.extension.autolink = true;
    o.extension.strikethrough = true;
    o.extension.tagfilter = true;
    // GitHub keeps the summary's own <details>, <code> and anchors.
    o.render.unsafe_ = true;
    page("job summary", &comrak::markdown_to_html(markdown, &o))
}

fn annotations(report: &serde_json::Value, file: &str, source: &str) -> String {
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    // The report names the file workspace-relative; this copy may live elsewhere.
    let base = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
    let shown = findings
        .iter()
        .filter_map(|f| f["file"].as_str())
        .find(|p| base(p) == base(file))
        .unwrap_or(file)
        .to_string();
    let mut body = format!(
        "<div class=\"file\"><div class=\"name\">{}</div>\n",
        escape(&shown)
    );
    for (n, line) in source.lines().enumerate() {
        let number = n + 1;
        body.push_str(&format!(
            "<div class=\"line\"><span class=\"num\">{number}</span><span>{}</span></div>\n",
            escape(line)
        ));
        for f in &findings {
            let here = f["line"].as_u64() == Some(number as u64)
                && f["file"].as_str() == Some(shown.as_str());
            if here {
                body.push_str(&format!(
                    "<div class=\"note {}\"><b>{}: {}</b>{}</div>\n",
                    escape(f["severity"].as_str().unwrap_or("error")),
                    escape(f["code"].as_str().unwrap_or("")),
                    escape(f["title"].as_str().unwrap_or("")),
                    escape(f["message"].as_str().unwrap_or(""))
                ));
            }
        }
    }
    body.push_str("</div>");
    page("annotations", &body)
}

fn run(args: &[String]) -> Result<(), String> {
    let read = |p: &String| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    let (html, out) = match args {
        [mode, md, out] if mode == "summary" => (summary(&read(md)?), out),
        [mode, report, workflow, out] if mode == "annotations" => {
            let report: serde_json::Value =
                serde_json::from_str(&read(report)?).map_err(|e| format!("{report}: {e}"))?;
            (annotations(&report, workflow, &read(workflow)?), out)
        }
        _ => {
            return Err(
                "usage: render_summary summary SUMMARY.md OUT.html | annotations REPORT.json WORKFLOW.yml OUT.html"
                    .into(),
            );
        }
    };
    std::fs::write(out, html).map_err(|e| format!("{out}: {e}"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
