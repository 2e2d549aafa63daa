//! The job summary (GitHub-flavoured Markdown appended to `$GITHUB_STEP_SUMMARY`),
//! also the body of the sticky pull request comment and of the check run.
//!
//! Shape, as the person fixing the build reads it: the verdict and the one finding to
//! fix first; a table with one row per context and push target (where it was written,
//! its role, result, digest and platforms; failing rows link to their finding); then
//! the findings grouped by severity, each with a short why, its fix with every command
//! in a fenced `sh` block, the evidence in `<details>` and a link to its section of
//! `docs/checks.md`; past ten findings the rest sit in one `<details>`; last, each
//! check's status and verified facts.
//!
//! Safety: every piece of outside text (references, registry answers, file names,
//! messages) goes through [`md`] (numeric character references for every character
//! that could open markup, and for the first character of a line that could start a
//! block) or into a fenced code block whose fence is longer than any backtick run in
//! it. The only HTML is the renderer's own: `<details>`, `<summary>`, `<code>`, `<br>`,
//! `<sub>`, `<a name="acr-preflight-…">` and `<code title="…">` around a validated digest.

use crate::findings::{
    CheckId, Code, ContextInfo, Finding, Location, Report, Role, Severity, Status, Verdict,
};

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
        // Nothing at the start of a line may open a block (list item, setext heading,
        // thematic break, indented code): leading blanks go, a marker becomes a reference.
        let line = line.trim_start_matches([' ', '\t']);
        let digits = line.chars().take_while(char::is_ascii_digit).count();
        let after = line[digits..].chars().nth(1);
        let opener = line.starts_with(['-', '+', '='])
            || ((1..=9).contains(&digits)
                && line[digits..].starts_with(['.', ')'])
                && after.is_none_or(|c| c == ' '));
        let line = if opener {
            let first = line.chars().next().unwrap_or(' ');
            out.push_str(&format!("&#{};", u32::from(first)));
            &line[first.len_utf8()..]
        } else {
            line
        };
        for (code, text) in code_spans(line) {
            let text = if code { text.trim() } else { text };
            if code {
                out.push_str("<code>");
            }
            for (i, c) in text.char_indices() {
                // No autolink either: `://` and `www.` lose the character GFM's
                // extended autolinks start from (shown the same).
                let autolink = (c == ':' && text[i..].starts_with("://"))
                    || (c == '.' && text[..i].to_ascii_lowercase().ends_with("www"));
                if autolink {
                    out.push_str(&format!("&#{};", u32::from(c)));
                } else {
                    literal(c, &mut out);
                }
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

/// The documentation of the finding codes when the action's own repository is unknown.
pub const DEFAULT_DOCS: &str =
    "https://github.com/acr-preflight/acr-preflight/blob/main/docs/checks.md";

/// Where the summary's links point: the workflow file at the run's commit, and the
/// finding codes' documentation. Every part is validated before use, so a link is
/// either well-formed or not written at all (the text is then shown without it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// `{server}/{owner}/{repo}/blob/{sha}/`, when all three are known and sane.
    blob_base: Option<String>,
    /// `…/docs/checks.md` of the action's repository, or [`DEFAULT_DOCS`].
    docs: String,
}

impl Default for Links {
    fn default() -> Links {
        Links {
            blob_base: None,
            docs: DEFAULT_DOCS.to_string(),
        }
    }
}

/// `https://host[:port][/path]`, without userinfo, query or anything to escape.
fn sane_server(url: &str) -> Option<&str> {
    let url = url.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let ok = !rest.is_empty()
        && !rest.starts_with('/')
        && rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:/_".contains(c));
    ok.then_some(url)
}

/// `owner/name` as GitHub allows them.
fn sane_repository(repo: &str) -> Option<&str> {
    let (owner, name) = repo.trim().split_once('/')?;
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 100
            && p != "."
            && p != ".."
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    };
    (part(owner) && part(name)).then_some(repo.trim())
}

impl Links {
    /// From `GITHUB_SERVER_URL`, `GITHUB_REPOSITORY`, the commit and
    /// `GITHUB_ACTION_REPOSITORY`.
    pub fn new(
        server_url: Option<&str>,
        repository: Option<&str>,
        sha: Option<&str>,
        action_repository: Option<&str>,
    ) -> Links {
        let server = server_url.and_then(sane_server);
        let sha = sha
            .map(str::trim)
            .filter(|s| (7..=64).contains(&s.len()) && s.chars().all(|c| c.is_ascii_hexdigit()));
        let blob_base = match (server, repository.and_then(sane_repository), sha) {
            (Some(server), Some(repo), Some(sha)) => Some(format!("{server}/{repo}/blob/{sha}/")),
            _ => None,
        };
        let docs = match action_repository.and_then(sane_repository) {
            Some(repo) => format!(
                "{}/{repo}/blob/main/docs/checks.md",
                server.unwrap_or("https://github.com")
            ),
            None => DEFAULT_DOCS.to_string(),
        };
        Links { blob_base, docs }
    }

    /// From the run's environment (the summary of a run on GitHub Actions).
    pub fn from_env(env: &crate::config::RunEnvironment) -> Links {
        Links::new(
            env.server_url.as_deref(),
            env.repository.as_deref(),
            env.sha.as_deref(),
            env.action_repository.as_deref(),
        )
    }

    /// The run's links at another commit (a pull request's head rather than the merge
    /// commit `GITHUB_SHA` names); those of the run when `sha` is not a commit id.
    pub fn at_commit(env: &crate::config::RunEnvironment, sha: Option<&str>) -> Links {
        let at = Links::new(
            env.server_url.as_deref(),
            env.repository.as_deref(),
            sha,
            env.action_repository.as_deref(),
        );
        if at.blob_base.is_some() {
            at
        } else {
            Links::from_env(env)
        }
    }

    /// `…/blob/SHA/PATH#Lnn` for a workspace-relative file, percent-encoded.
    pub fn source(&self, loc: &Location) -> Option<String> {
        let base = self.blob_base.as_ref()?;
        let file = loc.file.trim_start_matches("./");
        if file.is_empty()
            || file.starts_with('/')
            || file.split(['/', '\\']).any(|p| p == "..")
            || file.len() > 1024
        {
            return None;
        }
        let mut url = base.clone();
        for b in file.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
                url.push(char::from(b));
            } else {
                url.push_str(&format!("%{b:02X}"));
            }
        }
        if let Some(line) = loc.line {
            url.push_str(&format!("#L{line}"));
        }
        Some(url)
    }

    /// The code's section of `docs/checks.md` (GitHub's heading anchor: lower case).
    pub fn docs(&self, code: Code) -> String {
        format!("{}#{}", self.docs, code.as_str().to_ascii_lowercase())
    }
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

/// One part of a fix as the summary shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixPart {
    Prose(String),
    /// Commands to run, one entry per command, shown as one fenced `sh` block.
    Commands(Vec<String>),
}

/// Programs whose name starts a command in the checks' fixes.
const PROGRAMS: &[&str] = &[
    "az", "docker", "printf", "echo", "export", "gh", "kubectl", "oras", "crane", "curl", "helm",
    "skopeo", "buildah", "podman", "sudo", "base64",
];

/// Whether `text` reads as a shell command: a known program followed by an argument,
/// `docker-credential-…`, or `NAME=$(…)`; never text ending like a sentence.
fn looks_like_command(text: &str) -> bool {
    let text = text.trim();
    let first = text.split_whitespace().next().unwrap_or("");
    let assignment = first.split_once("=$(").is_some_and(|(name, _)| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    });
    let program = PROGRAMS.contains(&first) || first.starts_with("docker-credential-");
    (assignment || (program && text.len() > first.len()))
        && !text.ends_with('.')
        && !text.contains('…')
        && !text.contains(". ")
}

/// The fix split into prose and commands.
///
/// With `Finding::commands` (the check named them), the commands are those, shown after
/// the prose, and prose lines that only repeat a command are dropped. Without, a
/// heuristic reads the fix as the checks write it:
/// 1. a line that is a command by itself (`az role assignment create …`,
///    `TOKEN=$(…)`) joins the command block it follows, in place;
/// 2. a prose line ending in `…: <command>` shows the prose, then the command;
/// 3. a code span holding a command (`` `docker login <host>` ``) stays in the prose
///    and is repeated in a block after it.
///
/// A command is a known program with arguments (see `PROGRAMS`) or `NAME=$(…)`,
/// not ending with a period; anything else stays prose, so the worst a miss can do is
/// leave a command without its copy button.
pub fn fix_parts(f: &Finding) -> Vec<FixPart> {
    let mut parts: Vec<FixPart> = Vec::new();
    let push_prose = |parts: &mut Vec<FixPart>, line: &str| match parts.last_mut() {
        Some(FixPart::Prose(p)) => {
            p.push('\n');
            p.push_str(line);
        }
        _ => parts.push(FixPart::Prose(line.to_string())),
    };
    let push_command = |parts: &mut Vec<FixPart>, command: &str| {
        let command = shell_text(command);
        match parts.last_mut() {
            Some(FixPart::Commands(c)) => c.push(command),
            _ => parts.push(FixPart::Commands(vec![command])),
        }
    };
    if !f.commands.is_empty() {
        let lines: Vec<&str> = f
            .commands
            .iter()
            .flat_map(|c| c.lines())
            .map(str::trim)
            .collect();
        for line in f.fix.lines() {
            if !line.trim().is_empty() && !lines.contains(&line.trim()) {
                push_prose(&mut parts, line);
            }
        }
        parts.push(FixPart::Commands(
            f.commands.iter().map(|c| shell_text(c)).collect(),
        ));
        return parts;
    }
    for line in f.fix.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if looks_like_command(trimmed) {
            push_command(&mut parts, trimmed);
            continue;
        }
        // 2. `prose: command` up to the end of the line.
        if let Some((prose, tail)) = trimmed.rsplit_once(": ")
            && looks_like_command(tail)
            && !tail.contains('`')
        {
            push_prose(&mut parts, &format!("{prose}:"));
            push_command(&mut parts, tail.trim());
            continue;
        }
        push_prose(&mut parts, line);
        // 3. Commands in code spans.
        let spans: Vec<String> = code_spans(trimmed)
            .into_iter()
            .filter(|(code, text)| *code && looks_like_command(text))
            .map(|(_, text)| text.trim().to_string())
            .collect();
        for command in spans {
            push_command(&mut parts, &command);
        }
    }
    parts
}

/// A command as a code block can hold it: no control character but the newline.
fn shell_text(command: &str) -> String {
    command
        .chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect()
}

/// Every command of a finding's fix, in order.
pub fn fix_commands(f: &Finding) -> Vec<String> {
    fix_parts(f)
        .into_iter()
        .flat_map(|p| match p {
            FixPart::Commands(c) => c,
            FixPart::Prose(_) => Vec::new(),
        })
        .collect()
}

/// A fenced `sh` block of `commands`: the fence is longer than any run of backticks
/// inside (CommonMark: a closing fence is at least as long as the opening one), and
/// control characters other than the newline are dropped, so no text can end it early.
pub fn code_block(commands: &[String]) -> String {
    let body: String = commands
        .iter()
        .map(|c| shell_text(c))
        .collect::<Vec<_>>()
        .join("\n");
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}sh\n{body}\n{fence}\n")
}

/// The order findings are fixed in: what hides other findings first. Within one
/// severity: reaching the registry, then the credential or identity, then the rights
/// it carries, then the references themselves, then the rest.
pub fn blocker_rank(f: &Finding) -> u8 {
    use Code as C;
    match f.code {
        C::NET_DNS
        | C::NET_CONNECT
        | C::NET_TLS
        | C::NET_TIMEOUT
        | C::NET_FORBIDDEN
        | C::NET_DATA_ENDPOINT
        | C::RUN_TIMEOUT
        | C::REGISTRY_NOT_FOUND
        | C::REGISTRY_CHALLENGE
        | C::REGISTRY_REALM_ELSEWHERE
        | C::REGISTRY_THROTTLED
        | C::REGISTRY_DOCKERHUB_ANONYMOUS
        | C::WORKFLOW_BUILDER_NO_PROXY
        | C::WORKFLOW_BUILDER_PROXY_LOOPBACK
        | C::DOCKER_DAEMON_NO_PROXY => 0,
        C::DOCKER_CONFIG_INVALID
        | C::DOCKER_CONFIG_MISSING
        | C::CONTAINER_PATH_UNMOUNTED
        | C::HELPER_NOT_FOUND
        | C::HELPER_UNVERIFIABLE
        | C::HELPER_FAILED
        | C::HELPER_NO_CREDENTIALS
        | C::CRED_NOT_FOUND
        | C::CRED_EXPIRED
        | C::CRED_REJECTED
        | C::CRED_ADMIN_DISABLED
        | C::WORKFLOW_CONFIG_MISMATCH
        | C::WORKFLOW_BUILDER_BEFORE_LOGIN
        | C::WORKFLOW_BUILDER_REMOTE
        | C::WORKFLOW_BUILDER_UNKNOWN
        | C::WORKFLOW_LOGIN_DIFFERS
        | C::WORKFLOW_ARM_AUDIENCE_TOKEN
        | C::ID_OIDC_UNAVAILABLE
        | C::ID_FEDERATION_MISMATCH
        | C::ID_APP_NOT_FOUND
        | C::ID_TENANT_NOT_FOUND
        | C::ID_SECRET_INVALID
        | C::ID_SECRET_EXPIRED
        | C::ID_SECRET_EXPIRING
        | C::ID_ASSERTION_EXPIRED
        | C::ID_TOKEN_FAILED
        | C::ID_CLI_UNVERIFIABLE
        | C::ID_CLI_OIDC_RENEWAL
        | C::WORKFLOW_AZ_AFTER_BUILD
        | C::WORKFLOW_AZ_SUBSCRIPTION
        | C::ID_CLI_VERSION
        | C::WORKFLOW_OIDC_PERMISSION
        | C::WORKFLOW_ENVIRONMENT_SUBJECT
        | C::WORKFLOW_INPUT_EMPTY
        | C::WORKFLOW_AZURE_LOGIN_INPUTS
        | C::WORKFLOW_AZURE_LOGIN_IDENTITY
        | C::ID_NO_SUBSCRIPTION => 1,
        C::ROLE_PULL_MISSING
        | C::ROLE_PUSH_MISSING
        | C::ROLE_PUSH_UNVERIFIED
        | C::REGISTRY_WRITE_LOCKED
        | C::ROLE_ACTION_MISSING
        | C::CRED_TOKEN_SCOPE_MISSING
        | C::WORKFLOW_PACKAGES_PERMISSION
        | C::ROLE_ABAC_MODE
        | C::CONTEXT_ACCESS_DENIED
        | C::CONTEXT_READ_LOCKED
        | C::ARM_READ_DENIED
        | C::TASKS_ABAC_SOURCE_AUTH
        | C::TASKS_NETWORK_BYPASS
        | C::TASKS_SUBSCRIPTION_UNSUPPORTED
        | C::CONTEXT_GIT_UNREADABLE
        | C::TASKS_BASE_REGISTRY_CREDENTIAL => 2,
        C::REF_INVALID
        | C::REF_WRONG_REGISTRY
        | C::REF_NO_REGISTRY
        | C::REF_MUTABLE_TAG
        | C::REF_PUSH_DIGEST
        | C::WORKFLOW_LOCAL_IMAGE_INVISIBLE
        | C::WORKFLOW_CONTEXT_IGNORED_SOURCE
        | C::WORKFLOW_CONTEXT_IGNORED_DOCKERFILE
        | C::CONTEXT_NOT_FOUND
        | C::CONTEXT_NOT_AN_ARTIFACT
        | C::CONTEXT_PLATFORM_MISSING
        | C::CONTEXT_GIT_URL_FORM
        | C::CONTEXT_GIT_REF_MISSING
        | C::REGISTRY_UNEXPECTED => 3,
        _ => 4,
    }
}

/// The findings in the order the summary shows them: by severity, then
/// [`blocker_rank`], then as the checks reported them.
pub fn display_order(report: &Report) -> Vec<&Finding> {
    let mut all: Vec<&Finding> = report.findings().collect();
    all.sort_by_key(|f| (std::cmp::Reverse(f.severity), blocker_rank(f)));
    all
}

fn anchor(n: usize, f: &Finding) -> String {
    format!(
        "acr-preflight-{}-{}",
        n + 1,
        f.code.as_str().to_ascii_lowercase()
    )
}

/// The code's one-line description from docs/checks.md (trusted, compiled in).
fn why(code: Code) -> Option<String> {
    crate::findings::explain::section(code.as_str()).and_then(|s| {
        s.lines()
            .skip(1)
            .find(|l| !l.trim().is_empty())
            .map(str::to_string)
    })
}

fn finding_section(n: usize, f: &Finding, links: &Links) -> String {
    let mut out = format!(
        "<a name=\"{}\"></a>\n\n#### {} `{}` · {}\n\n",
        anchor(n, f),
        severity_icon(f.severity),
        f.code,
        md(&f.title).replace('\n', " ")
    );
    if let Some(why) = why(f.code) {
        out.push_str(&format!("{}\n\n", md(&why)));
    }
    if let Some(loc) = &f.location {
        out.push_str(&format!("At {}\n\n", origin(loc, links)));
    }
    let parts = fix_parts(f);
    if !parts.is_empty() {
        out.push_str("**Fix:**");
        let mut first = true;
        for part in parts {
            match part {
                FixPart::Prose(p) => {
                    if first {
                        out.push(' ');
                    }
                    out.push_str(&block(&p));
                    out.push_str("\n\n");
                }
                FixPart::Commands(c) => {
                    if first {
                        out.push_str("\n\n");
                    }
                    out.push_str(&code_block(&c));
                    out.push('\n');
                }
            }
            first = false;
        }
    }
    if !f.message.trim().is_empty() {
        out.push_str(&format!(
            "<details><summary>Evidence</summary>\n\n{}\n\n</details>\n\n",
            block(&f.message)
        ));
    }
    out.push_str(&format!(
        "<sub>[{} in docs/checks.md]({}) · `acr-preflight explain {}` · {} check · {}</sub>\n\n",
        f.code,
        links.docs(f.code),
        f.code,
        f.check,
        f.severity
    ));
    out
}

/// `build.yml:12` as a link to the line at the run's commit, or as text.
fn origin(loc: &Location, links: &Links) -> String {
    let mut text = md(&loc.file).replace('\n', " ");
    if let Some(line) = loc.line {
        text.push_str(&format!(":{line}"));
    }
    match links.source(loc) {
        Some(url) => format!("[{text}]({url})"),
        None => text,
    }
}

/// `algorithm:hex` with nothing an attribute or Markdown could read otherwise.
fn sane_digest(d: &str) -> Option<(&str, &str)> {
    let (algo, hex) = d.split_once(':')?;
    let ok = !algo.is_empty()
        && algo.len() <= 32
        && hex.len() >= 12
        && hex.len() <= 256
        && algo
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c))
        && hex
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "=_-".contains(c));
    ok.then_some((algo, hex))
}

fn digest_cell(c: &ContextInfo) -> String {
    match c.digest.as_deref() {
        None => "–".into(),
        Some(d) => match sane_digest(d) {
            Some((algo, hex)) => format!("<code title=\"{d}\">{algo}:{}</code>", &hex[..12]),
            None => cell(d),
        },
    }
}

fn platforms_cell(c: &ContextInfo) -> String {
    if c.platforms.is_empty() {
        "–".into()
    } else {
        cell(&c.platforms.join(", "))
    }
}

/// The findings about one reference, with their place in the display order.
fn findings_about<'a>(c: &ContextInfo, shown: &[&'a Finding]) -> Vec<(usize, &'a Finding)> {
    shown
        .iter()
        .enumerate()
        .filter(|(_, f)| f.reference.as_deref().map(str::trim) == Some(c.reference.trim()))
        .map(|(n, f)| (n, *f))
        .collect()
}

fn result_cell(c: &ContextInfo, shown: &[&Finding], report: &Report, linked: usize) -> String {
    let about = findings_about(c, shown);
    if !about.is_empty() {
        return about
            .iter()
            .map(|(n, f)| {
                let label = format!("{} {}", severity_icon(f.severity), f.code);
                if *n < linked {
                    format!("[{label}](#{})", anchor(*n, f))
                } else {
                    label
                }
            })
            .collect::<Vec<_>>()
            .join("<br>");
    }
    let registry_looked = report
        .checks
        .iter()
        .any(|(id, r)| *id == CheckId::Registry && !r.inconclusive);
    match (c.role, &c.digest) {
        (_, Some(_)) => "✅ found".into(),
        (Role::Push | Role::CacheTo, None) if registry_looked => "✅ may push".into(),
        _ => "⏭️ not checked".into(),
    }
}

fn reference_cell(c: &ContextInfo, links: &Links) -> String {
    let mut out = format!("<code>{}</code>", md(&c.reference).replace('\n', " "));
    let from = match &c.location {
        Some(loc) => origin(loc, links),
        None if c.role == Role::Push => "input <code>push</code>".into(),
        None => "input <code>context</code>".into(),
    };
    out.push_str(&format!("<br><sub>{from}</sub>"));
    out
}

/// The summary, kept within `budget` bytes, with no links to the run's repository.
pub fn render(report: &Report, budget: u64) -> String {
    render_with(report, budget, &Links::default())
}

/// The summary, kept within `budget` bytes: what does not fit is counted, not cut
/// mid-way, and the JSON report still holds it all.
pub fn render_with(report: &Report, budget: u64, links: &Links) -> String {
    let shown = display_order(report);
    let verdict = report.verdict();
    let first = shown.first().filter(|f| f.severity > Severity::Notice);
    // Sizes are taken with every link in place (the longest form); what is rendered
    // at the end links only to the findings that fitted.
    let reserve = 512u64;
    let mut used = heading(report, first, true).len() as u64 + reserve;
    // The table takes what it needs first, up to half the budget.
    let rows = rows_that_fit(report, &shown, links, used, budget / 2);
    used += references_table(report, &shown, links, rows, shown.len()).len() as u64;
    let (body, fitted) = findings_body(&shown, links, used, budget);

    let mut out = heading(report, first, fitted > 0);
    out.push_str(&references_table(report, &shown, links, rows, fitted));
    out.push_str(&body);
    let checks = checks_section(report);
    if (out.len() + checks.len()) as u64 <= budget {
        out.push_str(&checks);
    }
    if out.len() as u64 > budget {
        // Even the head does not fit: say so in the smallest form.
        out = format!(
            "## acr-preflight: {}\n\nThe summary did not fit; see the JSON report.\n",
            verdict_line(verdict)
        );
        if out.len() as u64 > budget {
            out.clear();
        }
    }
    out
}

/// The title, the counts and the finding to fix first (linked when its section is shown).
fn heading(report: &Report, first: Option<&&Finding>, link_first: bool) -> String {
    let mut head = format!(
        "## acr-preflight: {}\n\n**{}**",
        verdict_line(report.verdict()),
        super::count_line(report)
    );
    if let Some(f) = first {
        let code = if link_first {
            format!("[`{}`](#{})", f.code, anchor(0, f))
        } else {
            format!("`{}`", f.code)
        };
        head.push_str(&format!(
            " · fix this first: {code} {}",
            md(&f.title).replace('\n', " ")
        ));
    }
    head.push_str("\n\n");
    head
}

fn reference_row(
    c: &ContextInfo,
    shown: &[&Finding],
    report: &Report,
    links: &Links,
    linked: usize,
) -> String {
    format!(
        "| {} | {} | {} | {} | {} |\n",
        reference_cell(c, links),
        c.role,
        result_cell(c, shown, report, linked),
        digest_cell(c),
        platforms_cell(c),
    )
}

/// How many reference rows fit in `limit` bytes after `used`.
fn rows_that_fit(
    report: &Report,
    shown: &[&Finding],
    links: &Links,
    used: u64,
    limit: u64,
) -> usize {
    let mut table_len = REFERENCES_HEADER.len();
    let mut rows = 0;
    for c in &report.contexts {
        table_len += reference_row(c, shown, report, links, shown.len()).len();
        if used + table_len as u64 > limit {
            break;
        }
        rows += 1;
    }
    rows
}

const REFERENCES_HEADER: &str =
    "### References\n\n| Reference | Role | Result | Digest | Platforms |\n|---|---|---|---|---|\n";

/// The references table: its first `rows` rows, results linking to the first `linked`
/// findings; empty when the run checked no reference.
fn references_table(
    report: &Report,
    shown: &[&Finding],
    links: &Links,
    rows: usize,
    linked: usize,
) -> String {
    if report.contexts.is_empty() {
        return String::new();
    }
    let mut table = REFERENCES_HEADER.to_string();
    for c in report.contexts.iter().take(rows) {
        table.push_str(&reference_row(c, shown, report, links, linked));
    }
    if rows < report.contexts.len() {
        table.push_str(&format!(
            "\n_{} more references did not fit; the JSON report (step output `report`) lists them all._\n",
            report.contexts.len() - rows
        ));
    }
    table.push('\n');
    table
}

/// The findings' sections, by severity, the first ten linked from the table and the
/// rest folded, as many as fit in `budget` after `used`; and how many fitted.
fn findings_body(shown: &[&Finding], links: &Links, used: u64, budget: u64) -> (String, usize) {
    let max_linked = 10;
    let mut body = String::new();
    let mut fitted = 0;
    let mut last_severity = None;
    for (n, f) in shown.iter().enumerate() {
        let mut section = String::new();
        if n == max_linked {
            section.push_str(&format!(
                "<details><summary>{} more findings</summary>\n\n",
                shown.len() - max_linked
            ));
        }
        if last_severity != Some(f.severity) {
            let count = shown.iter().filter(|g| g.severity == f.severity).count();
            let word = match f.severity {
                Severity::Error => "Errors",
                Severity::Warning => "Warnings",
                Severity::Notice => "Notices",
            };
            section.push_str(&format!("### {word} ({count})\n\n"));
        }
        section.push_str(&finding_section(n, f, links));
        let closing = if n >= max_linked { 14 } else { 0 };
        if used + (body.len() + section.len() + closing) as u64 > budget {
            break;
        }
        body.push_str(&section);
        last_severity = Some(f.severity);
        fitted += 1;
    }
    if fitted > max_linked {
        body.push_str("</details>\n\n");
    }
    if fitted < shown.len() {
        body.push_str(&format!(
            "_{} more findings did not fit in the 1 MiB step summary; the JSON report (step output `report`) holds them all._\n\n",
            shown.len() - fitted
        ));
    }
    (body, fitted)
}

/// Each check's status and what it verified, last and folded.
fn checks_section(report: &Report) -> String {
    let mut checks = String::from("<details><summary>Checks and what they verified</summary>\n\n");
    for (check, r) in &report.checks {
        checks.push_str(&format!(
            "- **{}**: {}",
            check.label(),
            status_cell(r.status())
        ));
        if r.verified.is_empty() {
            checks.push_str(" (nothing verified)");
        }
        checks.push('\n');
        for v in &r.verified {
            checks.push_str(&format!("  - {}\n", cell(v)));
        }
    }
    checks.push_str("\n</details>\n");
    checks
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
            "&#33;&#91;p&#93;(https&#58;//t.example/p.png)"
        );
        // No autolink, and no block opened at the start of a line.
        assert_eq!(md("www.x.example"), "www&#46;x.example");
        assert_eq!(
            md("a\n---\n  1. b\n- c\n=="),
            "a\n&#45;--\n&#49;. b\n&#45; c\n&#61;="
        );
        assert_eq!(cell("`a|b` | c\nd"), "<code>a&#124;b</code> &#124; c<br>d");
        // A span never crosses a line (a blank line would end it in GFM).
        assert_eq!(md("`a\n\n<b>`"), "&#96;a\n\n&#60;b&#62;&#96;");
    }

    #[test]
    fn never_exceeds_the_budget_and_says_what_was_left_out() {
        let big = "x".repeat(10_000);
        let report = report_with(500, &big);
        let out = render(&report, crate::output::runner::SUMMARY_LIMIT);
        assert!(out.len() as u64 <= crate::output::runner::SUMMARY_LIMIT);
        assert!(out.contains("more findings did not fit"));
        let tiny = render(&report, 10);
        assert!(tiny.len() <= 10);
    }
}
