//! The JSON report (`--format json` on stdout, and the `report` step output file).

use crate::findings::Report;
use serde_json::{Value, json};

pub fn render(report: &Report) -> Value {
    let findings: Vec<Value> = report
        .ranked()
        .into_iter()
        .map(|f| {
            let mut v = json!({
                "code": f.code,
                "severity": f.severity,
                "check": f.check,
                "title": f.title,
                "message": f.message,
                "fix": f.fix,
            });
            if !f.commands.is_empty() {
                v["commands"] = json!(f.commands);
            }
            if let Some(loc) = &f.location {
                v["file"] = json!(loc.file);
                if let Some(line) = loc.line {
                    v["line"] = json!(line);
                }
                if let Some(col) = loc.column {
                    v["column"] = json!(col);
                }
            }
            v
        })
        .collect();
    let contexts: Vec<Value> = report
        .contexts
        .iter()
        .map(|c| {
            let mut v = json!({
                "reference": c.reference,
                "role": c.role,
                "registry": c.registry,
                "repository": c.repository,
                "tag": c.tag,
                "digest": c.digest,
                "media_type": c.media_type,
            });
            if !c.platforms.is_empty() {
                v["platforms"] = json!(c.platforms);
            }
            if let Some(loc) = &c.location {
                v["file"] = json!(loc.file);
                if let Some(line) = loc.line {
                    v["line"] = json!(line);
                }
            }
            v
        })
        .collect();
    let checks: Vec<Value> = report
        .checks
        .iter()
        .map(|(id, r)| json!({"check": id, "status": r.status().as_str(), "verified": r.verified}))
        .collect();
    json!({
        "version": 1,
        "result": report.verdict().as_str(),
        "findings": findings,
        "contexts": contexts,
        "identity": report.identity.clone().unwrap_or(Value::Null),
        "checks": checks,
        "stats": {"http_requests": report.http_requests},
    })
}
