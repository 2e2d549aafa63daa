//! The one model every check reports into and every output renders from.
//!
//! Checks never print: they return a [`CheckReport`] holding [`Finding`]s and the
//! evidence of what they verified. Renderers (`output::*`) know nothing about checks.
//! Nothing here is serialised directly: the JSON report's shape is defined once, in
//! `output::json`, so that a field added here never leaks into it unannounced.

use std::fmt;

mod codes;
pub mod explain;

pub use codes::Code;

/// How bad a finding is. Ordered so that `Error > Warning > Notice`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Notice,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Notice => "notice",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which check produced a finding. One module per check under `checks/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CheckId {
    /// Configuration and the tool's own run (deadline, inputs).
    Run,
    Reference,
    CredentialHelpers,
    Registry,
    /// The workflow file the run is part of (GitHub Actions only).
    Workflow,
    Identity,
}

impl CheckId {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckId::Run => "run",
            CheckId::Reference => "reference",
            CheckId::CredentialHelpers => "credential-helpers",
            CheckId::Registry => "registry",
            CheckId::Workflow => "workflow",
            CheckId::Identity => "identity",
        }
    }

    /// The heading used in summaries and text output.
    pub fn label(self) -> &'static str {
        match self {
            CheckId::Run => "Run",
            CheckId::Reference => "Context reference",
            CheckId::CredentialHelpers => "Docker credentials",
            CheckId::Registry => "Registry",
            CheckId::Workflow => "Workflow",
            CheckId::Identity => "Azure identity and role",
        }
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a finding points: a file (workspace-relative when possible), 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: Option<u32>,
    pub column: Option<u32>,
}

impl Location {
    /// `file:line`, or `file` when the line is not known, for messages.
    pub fn file_line(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.file),
            None => self.file.clone(),
        }
    }
}

/// One problem (or noteworthy fact) a check found.
///
/// `message` says what was seen, with evidence; `fix` is the exact command or edit
/// that repairs it. Neither may ever contain a secret: checks build them from
/// non-secret facts only, and every renderer also redacts registered secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub check: CheckId,
    pub title: String,
    pub message: String,
    pub fix: String,
    pub location: Option<Location>,
    /// The context or push reference the finding is about, as the user (or the workflow)
    /// wrote it: lets the workflow reader point the finding at the line that set it.
    pub reference: Option<String>,
    /// The shell commands of `fix`, one entry per command (a multi-line entry is one
    /// command with its continuation lines), when the fix is something to run: the
    /// summary shows them as a copyable code block. Empty when the fix is prose only
    /// or when the check has not split them out (the summary then falls back to a
    /// documented heuristic, `output::summary::fix_commands`).
    pub commands: Vec<String>,
}

impl Finding {
    pub fn new(
        check: CheckId,
        code: Code,
        severity: Severity,
        title: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> Finding {
        Finding {
            code,
            severity,
            check,
            title: title.into(),
            message: message.into(),
            fix: fix.into(),
            location: None,
            reference: None,
            commands: Vec::new(),
        }
    }

    /// Names the commands of the fix (each also written in `fix`, so that every output
    /// that shows only `fix` still shows them).
    pub fn with_commands<I, S>(mut self, commands: I) -> Finding
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.commands = commands.into_iter().map(Into::into).collect();
        self
    }

    /// Marks the reference this finding is about, when there is one.
    pub fn about_first(mut self, reference: Option<String>) -> Finding {
        self.reference = reference;
        self
    }

    /// Marks the reference this finding is about.
    pub fn about(mut self, reference: impl Into<String>) -> Finding {
        self.reference = Some(reference.into());
        self
    }

    pub fn at(
        mut self,
        file: impl Into<String>,
        line: Option<u32>,
        column: Option<u32>,
    ) -> Finding {
        self.location = Some(Location {
            file: file.into(),
            line,
            column,
        });
        self
    }
}

/// A check's outcome as the summary table shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// The check verified what it set out to verify.
    Pass,
    /// Nothing to verify, or it could not look (never shown as a pass).
    Skipped,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Skipped => "skipped",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// Everything one check reports: its findings and the evidence it verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    pub findings: Vec<Finding>,
    /// What was proven, one fact per entry ("digest sha256:… for ctx:v1",
    /// "helper `pass` returned credentials for myreg.azurecr.io").
    pub verified: Vec<String>,
    /// True when the check could not look at what it is meant to check, so that an
    /// absence of findings must not read as a pass.
    pub inconclusive: bool,
}

impl CheckReport {
    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    pub fn verified(&mut self, fact: impl Into<String>) {
        self.verified.push(fact.into());
    }

    pub fn status(&self) -> Status {
        match self.findings.iter().map(|f| f.severity).max() {
            Some(Severity::Error) => Status::Fail,
            Some(Severity::Warning) => Status::Warn,
            _ if self.inconclusive || self.verified.is_empty() => Status::Skipped,
            _ => Status::Pass,
        }
    }
}

/// What the build does with a reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    /// `--context`: the build pulls it.
    #[default]
    Pull,
    /// `--push`: the build pushes to it.
    Push,
    /// A `FROM` image of a build's Dockerfile: the build pulls it with the credential it
    /// presents to that registry.
    Base,
    /// A registry cache the build imports (`cache-from`): pulled, ignored when missing.
    CacheFrom,
    /// A registry cache the build exports (`cache-to`): pushed.
    CacheTo,
}

impl Role {
    /// `pull` or `push`, as the JSON report and the summary name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Pull => "pull",
            Role::Push => "push",
            Role::Base => "base",
            Role::CacheFrom => "cache-from",
            Role::CacheTo => "cache-to",
        }
    }

    /// How titles name the reference.
    pub fn noun(self) -> &'static str {
        match self {
            Role::Pull => "context",
            Role::Push => "push target",
            Role::Base => "base image",
            Role::CacheFrom => "cache-from reference",
            Role::CacheTo => "cache-to reference",
        }
    }

    /// True when the build pulls the reference (a context, a base image, a cache it
    /// imports).
    pub fn pulls(self) -> bool {
        !self.pushes()
    }

    /// True when the build pushes to the reference (a push target, a cache it exports).
    pub fn pushes(self) -> bool {
        matches!(self, Role::Push | Role::CacheTo)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One context or push target as resolved so far (JSON `contexts[]`, output `digest`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextInfo {
    /// As the user wrote it, including any `oci://` or `docker-image://` prefix.
    pub reference: String,
    pub role: Role,
    pub registry: Option<String>,
    pub repository: Option<String>,
    pub tag: Option<String>,
    pub digest: Option<String>,
    pub media_type: Option<String>,
    /// The platforms of an index (`linux/amd64`, …), when the registry check read one;
    /// for a single image a build reads for platforms, the one its config names.
    pub platforms: Vec<String>,
    /// Where the reference was written: the workflow line it was discovered on, or the
    /// preflight step whose inputs named it (GitHub Actions only).
    pub location: Option<Location>,
}

/// The overall verdict, from the worst finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Warn,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warn => "warn",
            Verdict::Fail => "fail",
        }
    }
}

/// The Azure identity the run signed in as, as the report shows it. The identity check
/// fills it from the token Entra issued and, for GitHub OIDC, the token the job presented.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AzureIdentity {
    /// How the run signed in ("GitHub OIDC federated credential", "client secret", …).
    pub method: String,
    pub tenant_id: Option<String>,
    /// `oid`: what role assignments name (output `principal-id`).
    pub object_id: Option<String>,
    /// `appid` (v1 tokens) or `azp` (v2) (output `client-id`).
    pub client_id: Option<String>,
    /// `app`, `managed identity` or `user`.
    pub kind: String,
    /// When the Entra token expires, UTC.
    pub expires: Option<String>,
    /// The claims of the GitHub OIDC token the job presented, when it presented one.
    pub presented: Option<PresentedClaims>,
}

/// The claims of the GitHub OIDC token a job presented to Entra (what the federated
/// credential is compared with).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PresentedClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub job_workflow_ref: Option<String>,
}

/// The whole run as renderers see it.
#[derive(Debug, Clone)]
pub struct Report {
    pub checks: Vec<(CheckId, CheckReport)>,
    pub contexts: Vec<ContextInfo>,
    /// HTTP requests the run made (every attempt counts): the cost on the critical path.
    pub http_requests: u32,
    /// The Azure identity, when one was used (JSON `identity`, outputs `principal-id`, `client-id`).
    pub identity: Option<AzureIdentity>,
}

impl Report {
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.checks.iter().flat_map(|(_, r)| r.findings.iter())
    }

    pub fn verdict(&self) -> Verdict {
        match self.findings().map(|f| f.severity).max() {
            Some(Severity::Error) => Verdict::Fail,
            Some(Severity::Warning) => Verdict::Warn,
            _ => Verdict::Pass,
        }
    }

    /// Findings ranked for display: errors first, then warnings, then notices, each
    /// in the order the checks ran (configuration before network, as a user fixes them).
    pub fn ranked(&self) -> Vec<&Finding> {
        let mut all: Vec<&Finding> = self.findings().collect();
        all.sort_by_key(|f| std::cmp::Reverse(f.severity));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(sev: Severity) -> Finding {
        Finding::new(CheckId::Reference, Code::REF_INVALID, sev, "t", "m", "f")
    }

    #[test]
    fn status_follows_the_worst_finding_and_never_passes_without_evidence() {
        let mut r = CheckReport::default();
        assert_eq!(r.status(), Status::Skipped);
        r.verified("x");
        assert_eq!(r.status(), Status::Pass);
        r.push(finding(Severity::Notice));
        assert_eq!(r.status(), Status::Pass);
        r.inconclusive = true;
        assert_eq!(r.status(), Status::Skipped);
        r.push(finding(Severity::Warning));
        assert_eq!(r.status(), Status::Warn);
        r.push(finding(Severity::Error));
        assert_eq!(r.status(), Status::Fail);
    }

    #[test]
    fn codes_round_trip_through_their_names() {
        for code in Code::ALL {
            assert_eq!(Code::from_name(code.as_str()), Some(*code));
        }
        assert_eq!(Code::from_name("ref_invalid"), Some(Code::REF_INVALID));
        assert_eq!(Code::from_name("NOPE"), None);
    }
}
