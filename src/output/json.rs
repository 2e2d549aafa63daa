//! The JSON report (`--format json` on stdout, and the `report` step output file).
//!
//! The structs below are the one definition of its shape (version 1, documented field
//! by field in docs/report.md, which a test holds the output to). They borrow from the
//! [`Report`], so that a field added to the model in `findings` reaches the JSON only
//! when it is added here, and documented.

use crate::findings::{AzureIdentity, ContextInfo, Finding, PresentedClaims, Report};
use serde::Serialize;

/// The report's `version`. Keys are only ever added within a version; renaming or
/// removing one, or changing its type, is a new version.
pub const VERSION: u32 = 1;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    version: u32,
    /// `pass`, `warn` or `fail`, from the worst finding.
    result: &'static str,
    /// Ranked: errors first, then warnings, then notices, each in the order checks ran.
    findings: Vec<JsonFinding<'a>>,
    contexts: Vec<JsonContext<'a>>,
    /// `null` when no Azure identity was used: the key is always there, so that a
    /// consumer reads `.identity.object_id` without testing for it.
    identity: Option<JsonIdentity<'a>>,
    checks: Vec<JsonCheck<'a>>,
    stats: Stats,
}

#[derive(Debug, Serialize)]
struct JsonFinding<'a> {
    code: &'static str,
    severity: &'static str,
    check: &'static str,
    title: &'a str,
    message: &'a str,
    fix: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    commands: &'a [String],
    // The location is flattened into the finding (as annotations name it), each key
    // present only when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<u32>,
}

#[derive(Debug, Serialize)]
struct JsonContext<'a> {
    reference: &'a str,
    role: &'static str,
    // What the reference names, `null` when it could not be parsed or resolved: the
    // keys stay, so that `.contexts[0].digest` reads the same on every run.
    registry: Option<&'a str>,
    repository: Option<&'a str>,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
    media_type: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    platforms: &'a [String],
    // Where the reference was written. A context points at a line, never a column.
    #[serde(skip_serializing_if = "Option::is_none")]
    file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
}

#[derive(Debug, Serialize)]
struct JsonIdentity<'a> {
    method: &'a str,
    tenant_id: Option<&'a str>,
    object_id: Option<&'a str>,
    client_id: Option<&'a str>,
    kind: &'a str,
    expires: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    presented: Option<JsonPresented<'a>>,
}

#[derive(Debug, Serialize)]
struct JsonPresented<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    job_workflow_ref: Option<&'a str>,
}

#[derive(Debug, Serialize)]
struct JsonCheck<'a> {
    check: &'static str,
    status: &'static str,
    verified: &'a [String],
}

#[derive(Debug, Serialize)]
struct Stats {
    http_requests: u32,
}

impl<'a> From<&'a Finding> for JsonFinding<'a> {
    fn from(f: &'a Finding) -> Self {
        let location = f.location.as_ref();
        JsonFinding {
            code: f.code.as_str(),
            severity: f.severity.as_str(),
            check: f.check.as_str(),
            title: &f.title,
            message: &f.message,
            fix: &f.fix,
            commands: &f.commands,
            file: location.map(|l| l.file.as_str()),
            line: location.and_then(|l| l.line),
            column: location.and_then(|l| l.column),
        }
    }
}

impl<'a> From<&'a ContextInfo> for JsonContext<'a> {
    fn from(c: &'a ContextInfo) -> Self {
        let location = c.location.as_ref();
        JsonContext {
            reference: &c.reference,
            role: c.role.as_str(),
            registry: c.registry.as_deref(),
            repository: c.repository.as_deref(),
            tag: c.tag.as_deref(),
            digest: c.digest.as_deref(),
            media_type: c.media_type.as_deref(),
            platforms: &c.platforms,
            file: location.map(|l| l.file.as_str()),
            line: location.and_then(|l| l.line),
        }
    }
}

impl<'a> From<&'a AzureIdentity> for JsonIdentity<'a> {
    fn from(i: &'a AzureIdentity) -> Self {
        JsonIdentity {
            method: &i.method,
            tenant_id: i.tenant_id.as_deref(),
            object_id: i.object_id.as_deref(),
            client_id: i.client_id.as_deref(),
            kind: &i.kind,
            expires: i.expires.as_deref(),
            presented: i.presented.as_ref().map(JsonPresented::from),
        }
    }
}

impl<'a> From<&'a PresentedClaims> for JsonPresented<'a> {
    fn from(p: &'a PresentedClaims) -> Self {
        JsonPresented {
            iss: &p.iss,
            sub: &p.sub,
            aud: &p.aud,
            job_workflow_ref: p.job_workflow_ref.as_deref(),
        }
    }
}

/// The JSON report of `report`.
pub fn model(report: &Report) -> JsonReport<'_> {
    JsonReport {
        version: VERSION,
        result: report.verdict().as_str(),
        findings: report.ranked().into_iter().map(JsonFinding::from).collect(),
        contexts: report.contexts.iter().map(JsonContext::from).collect(),
        identity: report.identity.as_ref().map(JsonIdentity::from),
        checks: report
            .checks
            .iter()
            .map(|(id, r)| JsonCheck {
                check: id.as_str(),
                status: r.status().as_str(),
                verified: &r.verified,
            })
            .collect(),
        stats: Stats {
            http_requests: report.http_requests,
        },
    }
}

/// The report as it is printed and written: pretty, keys in the order declared above.
pub fn to_string_pretty(report: &Report) -> String {
    // Cannot fail: every map key is a field name and every value a string, a number,
    // a list of them or null.
    serde_json::to_string_pretty(&model(report)).unwrap_or_default()
}

/// The report as a JSON value, for callers that inspect it rather than print it.
pub fn render(report: &Report) -> serde_json::Value {
    serde_json::to_value(model(report)).unwrap_or_default()
}
