//! GitHub expressions (`${{ … }}`) and environment variables, resolved only where the
//! run itself knows the answer.
//!
//! Resolved: `env.NAME` (from the step's, job's and workflow's `env:` blocks, and from
//! acr-preflight's own environment, which the runner filled with the evaluated job and
//! workflow `env:`), `github.sha`, `github.ref`, `github.ref_name`, `github.repository`,
//! `github.repository_owner`, `github.event_name`, literals, and one `==` / `!=`
//! comparison of those. Everything else (`vars.*`, `secrets.*`, `steps.*.outputs.*`,
//! `matrix.*`, `inputs.*`, `needs.*`, functions, `&&`/`||`) is reported as unresolved
//! with the reason, never guessed.

use super::model::{Job, Step, Workflow};
use super::yaml::Pos;
use crate::config::RunEnvironment;
use std::collections::HashMap;

/// Something a value depends on that acr-preflight cannot know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// As written: `${{ vars.REGISTRY }}`, `$IMAGE`.
    pub written: String,
    /// Why it cannot be known before the build runs.
    pub reason: String,
    /// Byte offset of `written` in the raw value it came from.
    pub offset: usize,
}

/// An `env` variable that was substituted with an empty (or blank) value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmptyVar {
    /// The variable's name (`AZURE_CONTAINER_REGISTRY`).
    pub name: String,
    /// As written where it is used: `${{ env.AZURE_CONTAINER_REGISTRY }}`, `$REGISTRY`.
    pub written: String,
    /// Byte offset of `written` in the raw value it came from.
    pub offset: usize,
    /// The key of the `env:` entry that left it empty, as the using step sees it
    /// (step, then job, then workflow); `None` when no `env:` block of the file sets it.
    pub defined: Option<Pos>,
}

/// A value with its expressions and variables replaced, where possible.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expanded {
    pub text: String,
    /// For every byte of `text`, the byte offset in the raw value it came from (a
    /// substituted value maps to the start of what it replaced).
    pub offsets: Vec<usize>,
    pub unresolved: Vec<Unresolved>,
    /// `env` variables that were substituted with an empty value.
    pub empty: Vec<EmptyVar>,
}

impl Expanded {
    pub fn push_str(&mut self, s: &str, raw_offset: usize) {
        self.text.push_str(s);
        self.offsets
            .extend(std::iter::repeat_n(raw_offset, s.len()));
    }

    /// Pushes one raw character from `raw_offset`.
    pub fn push_char(&mut self, c: char, raw_offset: usize) {
        self.text.push(c);
        self.offsets
            .extend(std::iter::repeat_n(raw_offset, c.len_utf8()));
    }

    pub fn append(&mut self, other: Expanded) {
        self.text.push_str(&other.text);
        self.offsets.extend(other.offsets);
        self.unresolved.extend(other.unresolved);
        self.empty.extend(other.empty);
    }

    /// The raw offset of the byte at `offset` of `text` (the end of the raw value's last
    /// mapped byte for `offset == text.len()`).
    pub fn raw_offset(&self, offset: usize) -> usize {
        self.offsets
            .get(offset)
            .or_else(|| self.offsets.last())
            .copied()
            .unwrap_or(0)
    }

    pub fn is_resolved(&self) -> bool {
        self.unresolved.is_empty()
    }

    /// The part of this expansion from byte `start` on, with its offsets and the
    /// unresolved parts within it (`start` is moved to the next character boundary).
    pub fn tail(&self, start: usize) -> Expanded {
        let mut start = start.min(self.text.len());
        while !self.text.is_char_boundary(start) {
            start += 1;
        }
        let from = self.raw_offset(start);
        Expanded {
            text: self.text[start..].to_string(),
            offsets: self.offsets[start..].to_vec(),
            unresolved: self
                .unresolved
                .iter()
                .filter(|u| start < self.text.len() && u.offset >= from)
                .cloned()
                .collect(),
            // An empty substitution has no byte of its own: keep those at the cut too.
            empty: self
                .empty
                .iter()
                .filter(|e| e.offset >= from)
                .cloned()
                .collect(),
        }
    }

    /// The part of this expansion before byte `end` (moved back to a character boundary),
    /// with the unresolved and empty parts within it.
    pub fn head(&self, end: usize) -> Expanded {
        let mut end = end.min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let limit = self.offsets.get(end).copied().unwrap_or(usize::MAX);
        Expanded {
            text: self.text[..end].to_string(),
            offsets: self.offsets[..end.min(self.offsets.len())].to_vec(),
            unresolved: self
                .unresolved
                .iter()
                .filter(|u| u.offset < limit)
                .cloned()
                .collect(),
            empty: self
                .empty
                .iter()
                .filter(|e| e.offset < limit)
                .cloned()
                .collect(),
        }
    }

    /// The byte of `text` that comes from raw offset `raw` or after it.
    pub fn index_of_raw(&self, raw: usize) -> usize {
        self.offsets
            .iter()
            .position(|o| *o >= raw)
            .unwrap_or(self.text.len())
    }
}

/// Where an `env:` value is defined: it may only see the levels above it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Level {
    Step,
    Job,
    Workflow,
    Outside,
}

/// Everything a value in one step can be resolved from.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub workflow: &'a Workflow,
    pub job: &'a Job,
    /// The step whose value is being resolved (`None`: a job-level value).
    pub step: Option<&'a Step>,
    /// The step acr-preflight runs as: its own `env:` shadows the job's in
    /// `process_env`, so a name it sets is not read from there.
    pub preflight: Option<&'a Step>,
    /// acr-preflight's own environment.
    pub process_env: &'a HashMap<String, String>,
    pub run: &'a RunEnvironment,
}

/// Variables the runner (not the workflow) sets: `env.X` in an expression never sees
/// them, although acr-preflight's environment has them.
fn runner_variable(name: &str) -> bool {
    ["GITHUB_", "RUNNER_", "INPUT_", "ACTIONS_", "STATE_"]
        .iter()
        .any(|p| name.starts_with(p))
        || matches!(name, "HOME" | "PATH" | "CI" | "HOSTNAME" | "PWD")
}

const MAX_DEPTH: usize = 8;

impl<'a> Scope<'a> {
    /// `env.NAME` as the step sees it.
    pub fn env_var(&self, name: &str) -> Result<String, String> {
        self.env_from(name, Level::Step, 0)
    }

    fn env_from(&self, name: &str, from: Level, depth: usize) -> Result<String, String> {
        if depth > MAX_DEPTH {
            return Err(format!(
                "`{name}` is defined through too many other variables"
            ));
        }
        let shadowed_by_preflight = self.preflight.is_some_and(|p| p.env.contains(name));
        let from_process = || {
            (!shadowed_by_preflight && !runner_variable(name))
                .then(|| self.process_env.get(name).cloned())
                .flatten()
        };
        if from <= Level::Step
            && let Some(v) = self.step.and_then(|s| s.env.get(name))
        {
            return self.expand_env_value(&v.value, Level::Job, depth);
        }
        if from <= Level::Job {
            if let Some(v) = from_process() {
                return Ok(v);
            }
            if let Some(v) = self.job.env.get(name) {
                return self.expand_env_value(&v.value, Level::Workflow, depth);
            }
        }
        if from <= Level::Workflow {
            if !self.job.env.contains(name)
                && let Some(v) = from_process()
            {
                return Ok(v);
            }
            if let Some(v) = self.workflow.env.get(name) {
                return self.expand_env_value(&v.value, Level::Outside, depth);
            }
        }
        Err(format!(
            "`{name}` is set in no `env:` block of the step, job or workflow, nor in acr-preflight's environment (a step may still set it through $GITHUB_ENV)"
        ))
    }

    fn expand_env_value(&self, raw: &str, level: Level, depth: usize) -> Result<String, String> {
        let inner = Scope {
            // A job- or workflow-level value cannot see step env.
            step: if level <= Level::Step {
                self.step
            } else {
                None
            },
            ..*self
        };
        let expanded = inner.expand_at(raw, level, depth + 1);
        match expanded.unresolved.first() {
            None => Ok(expanded.text),
            Some(u) => Err(format!("it is set from {}: {}", u.written, u.reason)),
        }
    }

    /// Replaces every `${{ … }}` of `raw`.
    pub fn expand(&self, raw: &str) -> Expanded {
        self.expand_at(raw, Level::Step, 0)
    }

    fn expand_at(&self, raw: &str, level: Level, depth: usize) -> Expanded {
        let mut out = Expanded::default();
        let mut rest = 0;
        while let Some(found) = raw[rest..].find("${{") {
            let open = rest + found;
            for (i, c) in raw[rest..open].char_indices() {
                out.push_char(c, rest + i);
            }
            let Some(close) = expression_end(raw, open + 3) else {
                // An unterminated expression: GitHub would reject the workflow.
                for (i, c) in raw[open..].char_indices() {
                    out.push_char(c, open + i);
                }
                return out;
            };
            let written = &raw[open..close + 2];
            let inner = &raw[open + 3..close];
            match self.eval(inner, level, depth) {
                Ok(value) => {
                    if value.trim().is_empty()
                        && let Some(name) = env_name(inner)
                    {
                        out.empty.push(self.empty_var(&name, written, open));
                    }
                    out.push_str(&value, open)
                }
                Err(reason) => {
                    out.push_str(written, open);
                    out.unresolved.push(Unresolved {
                        written: written.to_string(),
                        reason,
                        offset: open,
                    });
                }
            }
            rest = close + 2;
        }
        for (i, c) in raw[rest..].char_indices() {
            out.push_char(c, rest + i);
        }
        out
    }

    /// An `env` variable found empty where it is `written` (at `offset`), with the
    /// `env:` entry that defines it for this step.
    pub fn empty_var(&self, name: &str, written: &str, offset: usize) -> EmptyVar {
        let key = |env: &super::model::Env| {
            env.entries
                .iter()
                .rev()
                .find(|(k, _)| k.value == name)
                .map(|(k, _)| k.start)
        };
        let defined = self
            .step
            .and_then(|s| key(&s.env))
            .or_else(|| key(&self.job.env))
            .or_else(|| key(&self.workflow.env));
        EmptyVar {
            name: name.to_string(),
            written: written.to_string(),
            offset,
            defined,
        }
    }

    /// Evaluates the inside of `${{ … }}`.
    pub fn evaluate(&self, expr: &str) -> Result<String, String> {
        self.eval(expr, Level::Step, 0)
    }

    fn eval(&self, expr: &str, level: Level, depth: usize) -> Result<String, String> {
        let expr = expr.trim();
        for op in ["==", "!="] {
            if let Some((a, b)) = split_operator(expr, op) {
                let a = self.operand(a, level, depth)?;
                let b = self.operand(b, level, depth)?;
                let equal = a.eq_ignore_ascii_case(&b);
                return Ok(if (op == "==") == equal {
                    "true"
                } else {
                    "false"
                }
                .into());
            }
        }
        self.operand(expr, level, depth)
    }

    fn operand(&self, expr: &str, level: Level, depth: usize) -> Result<String, String> {
        let expr = expr.trim();
        if let Some(lit) = expr.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
            return Ok(lit.replace("''", "'"));
        }
        if matches!(expr, "true" | "false") {
            return Ok(expr.to_string());
        }
        let Some(path) = context_path(expr) else {
            return Err(
                "acr-preflight evaluates only plain `env.*` and `github.*` references, literals and one `==`/`!=` comparison; the runner evaluates this expression when the step starts"
                    .into(),
            );
        };
        let head = path[0].to_ascii_lowercase();
        match head.as_str() {
            "env" if path.len() == 2 => {
                let from = if level == Level::Step {
                    Level::Step
                } else {
                    level
                };
                self.env_from(&path[1], from, depth)
            }
            "github" if path.len() == 2 => self.github(&path[1].to_ascii_lowercase()),
            "vars" => Err(
                "configuration variables (`vars`) are evaluated by the runner and are not visible to a step: pass the value to acr-preflight through the job's `env:` and use `env.*` here"
                    .into(),
            ),
            "secrets" => Err("secrets are not readable by a step unless passed in its `env:`".into()),
            "steps" => Err("a step output exists only once that step has run, after the preflight".into()),
            "matrix" => Err(
                "the matrix combination of this run is not passed to the step; it is known only to the runner"
                    .into(),
            ),
            "inputs" => Err(
                "workflow inputs are not passed to the step; pass the value through `env:`".into(),
            ),
            "needs" => Err("outputs of other jobs are not passed to the step; pass the value through `env:`".into()),
            "strategy" | "runner" | "job" | "jobs" => {
                Err(format!("the `{head}` context is not passed to the step"))
            }
            _ => Err(format!(
                "`{head}` is not a context acr-preflight can evaluate"
            )),
        }
    }

    fn github(&self, field: &str) -> Result<String, String> {
        let r = self.run;
        let repo = r.repository.clone();
        let (value, var) = match field {
            "sha" => (r.sha.clone(), "GITHUB_SHA"),
            "ref" => (r.git_ref.clone(), "GITHUB_REF"),
            "ref_name" => (r.ref_name.clone(), "GITHUB_REF_NAME"),
            "repository" => (repo, "GITHUB_REPOSITORY"),
            "repository_owner" => (
                repo.and_then(|s| s.split('/').next().map(str::to_string)),
                "GITHUB_REPOSITORY",
            ),
            "event_name" => (r.event_name.clone(), "GITHUB_EVENT_NAME"),
            "job" => (r.job.clone(), "GITHUB_JOB"),
            "workflow_ref" => (r.workflow_ref.clone(), "GITHUB_WORKFLOW_REF"),
            _ => {
                return Err(format!(
                    "`github.{field}` is not among the values acr-preflight reads (sha, ref, ref_name, repository, repository_owner, event_name)"
                ));
            }
        };
        value.filter(|v| !v.is_empty()).ok_or_else(|| {
            format!("`github.{field}` is known only under GitHub Actions ({var} is not set)")
        })
    }

    /// A secret value (a token the build reads its context with), where acr-preflight
    /// can know it: `raw` expanded, or, when `raw` is exactly `${{ secrets.NAME }}` (or
    /// `${{ env.X }}` with the step's `X: ${{ secrets.NAME }}`), the value of the
    /// variable acr-preflight's own step sets from that same secret
    /// (`env: { GIT_PAT: ${{ secrets.NAME }} }`), which the runner evaluated into
    /// acr-preflight's environment. Otherwise the first unresolved part and why.
    pub fn secret(&self, raw: &str) -> Result<String, Unresolved> {
        let expanded = self.expand(raw);
        let Some(first) = expanded.unresolved.first().cloned() else {
            return Ok(expanded.text.trim().to_string());
        };
        let via_env = whole_expression(raw)
            .and_then(env_name)
            .and_then(|name| self.step.and_then(|s| s.env.get(&name)))
            .and_then(|v| whole_expression(&v.value).and_then(secret_name));
        let name = whole_expression(raw).and_then(secret_name).or(via_env);
        let from_preflight = name.and_then(|name| {
            let preflight = self.preflight?;
            preflight
                .env
                .entries
                .iter()
                .rev()
                .filter(|(_, v)| {
                    whole_expression(&v.value)
                        .and_then(secret_name)
                        .is_some_and(|n| n.eq_ignore_ascii_case(&name))
                })
                .find_map(|(k, _)| self.process_env.get(&k.value))
                .filter(|v| !v.trim().is_empty())
                .cloned()
        });
        from_preflight.ok_or(first)
    }

    /// A shell variable as a `run:` script of the step sees it (before any assignment
    /// in the script itself, which the caller handles).
    pub fn shell_var(&self, name: &str) -> Result<String, String> {
        if let Some(v) = self.step.and_then(|s| s.env.get(name)) {
            return self.expand_env_value(&v.value, Level::Job, 0);
        }
        let shadowed = self.preflight.is_some_and(|p| p.env.contains(name));
        if !shadowed && let Some(v) = self.process_env.get(name) {
            return Ok(v.clone());
        }
        if let Some(v) = self.job.env.get(name) {
            return self.expand_env_value(&v.value, Level::Workflow, 0);
        }
        if let Some(v) = self.workflow.env.get(name) {
            return self.expand_env_value(&v.value, Level::Outside, 0);
        }
        let default = match name {
            "GITHUB_SHA" => self.github("sha").ok(),
            "GITHUB_REF" => self.github("ref").ok(),
            "GITHUB_REF_NAME" => self.github("ref_name").ok(),
            "GITHUB_REPOSITORY" => self.github("repository").ok(),
            "GITHUB_REPOSITORY_OWNER" => self.github("repository_owner").ok(),
            "GITHUB_EVENT_NAME" => self.github("event_name").ok(),
            _ => None,
        };
        default.ok_or_else(|| {
            format!(
                "`{name}` is set in no `env:` block of the step, job or workflow, nor in acr-preflight's environment (an earlier step may set it through $GITHUB_ENV, or the runner's shell)"
            )
        })
    }
}

/// The index of the `}}` closing an expression opened before `from`, outside quotes.
fn expression_end(raw: &str, from: usize) -> Option<usize> {
    let bytes = raw.as_bytes();
    let mut i = from;
    let mut in_quote = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => in_quote = !in_quote,
            b'}' if !in_quote && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// `a == b` split at the one operator outside quotes; `None` when there is none, or
/// anything else (`&&`, `||`, `!`, parentheses) is around.
fn split_operator<'e>(expr: &'e str, op: &str) -> Option<(&'e str, &'e str)> {
    let mut in_quote = false;
    let mut found = None;
    for (i, c) in expr.char_indices() {
        if c == '\'' {
            in_quote = !in_quote;
            continue;
        }
        if in_quote {
            continue;
        }
        if expr[i..].starts_with(op) {
            if found.is_some() {
                return None;
            }
            found = Some(i);
        }
    }
    let i = found?;
    let (a, b) = (&expr[..i], &expr[i + op.len()..]);
    let plain = |s: &str| {
        let s = s.trim();
        !s.is_empty()
            && (s.starts_with('\'') || !s.contains(['&', '|', '!', '(', ')', '<', '>', '=']))
    };
    (plain(a) && plain(b)).then_some((a, b))
}

/// The inside of a value that is exactly one `${{ … }}`.
fn whole_expression(raw: &str) -> Option<&str> {
    let inner = raw.trim().strip_prefix("${{")?.strip_suffix("}}")?;
    (!inner.contains("${{") && !inner.contains("}}")).then_some(inner)
}

/// `NAME` of an expression that is exactly `secrets.NAME`.
fn secret_name(expr: &str) -> Option<String> {
    let path = context_path(expr.trim())?;
    match path.as_slice() {
        [head, name] if head.eq_ignore_ascii_case("secrets") => Some(name.clone()),
        _ => None,
    }
}

/// `NAME` of an expression that is exactly `env.NAME` (or `env['NAME']`).
pub fn env_name(expr: &str) -> Option<String> {
    let path = context_path(expr.trim())?;
    match path.as_slice() {
        [head, name] if head.eq_ignore_ascii_case("env") => Some(name.clone()),
        _ => None,
    }
}

/// `env.NAME`, `github.sha`, `env['NAME']` as segments; `None` for anything else.
fn context_path(expr: &str) -> Option<Vec<String>> {
    let mut segments = Vec::new();
    let mut rest = expr;
    let ident_len = |s: &str| {
        s.char_indices()
            .take_while(|(i, c)| c.is_ascii_alphanumeric() || *c == '_' || (*i > 0 && *c == '-'))
            .count()
    };
    let n = ident_len(rest);
    if n == 0 || !rest.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        return None;
    }
    segments.push(rest[..n].to_string());
    rest = &rest[n..];
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let n = ident_len(after);
            if n == 0 {
                return None;
            }
            segments.push(after[..n].to_string());
            rest = &after[n..];
        } else if let Some(after) = rest.strip_prefix("['") {
            let end = after.find("']")?;
            segments.push(after[..end].to_string());
            rest = &after[end + 2..];
        } else {
            return None;
        }
    }
    Some(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_paths_and_operators() {
        assert_eq!(
            context_path("env.REGISTRY"),
            Some(vec!["env".into(), "REGISTRY".into()])
        );
        assert_eq!(
            context_path("env['MY-VAR']"),
            Some(vec!["env".into(), "MY-VAR".into()])
        );
        assert_eq!(context_path("format('{0}', x)"), None);
        assert_eq!(context_path("a || b"), None);
        assert_eq!(
            split_operator("github.event_name != 'pull_request'", "!="),
            Some(("github.event_name ", " 'pull_request'"))
        );
        assert_eq!(split_operator("a == 'b' && c == 'd'", "=="), None);
        assert_eq!(split_operator("!(a == 'b')", "=="), None);
    }

    #[test]
    fn expressions_end_outside_quotes() {
        assert_eq!(expression_end("${{ 'a}}b' }}", 3), Some(11));
        assert_eq!(expression_end("${{ x ", 3), None);
    }
}
