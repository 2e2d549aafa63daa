//! The targets of a bake invocation read from its files ([`crate::workflow::bake`]):
//! docker/bake-action (`files`, `targets`, `push`, `set`, `source`, `workdir`) and
//! `docker buildx bake [-f FILE] [TARGET…] [--push] [--set …]` in `run:` scripts. Each
//! tag and registry cache of the targets built becomes a [`DiscoveredRef`] located in
//! the bake file, pushed when the invocation pushes (`push: true`, `--push`, a
//! `<target>.push=true` or registry `<target>.output` override, or the target's own
//! registry `output`). A `set` override of `tags`/`cache-from`/`cache-to` replaces the
//! file's value (`+=` adds to it). What cannot be read is a note, never a finding.

use super::*;
use crate::workflow::bake::{self, BakeFile, CacheEntry, EmptyFrom, EnvValue, Str};

/// One bake invocation, as the step writes it.
#[derive(Default)]
pub(super) struct BakeCall {
    pub files: Vec<String>,
    pub targets: Vec<String>,
    /// `push: true` or `--push`.
    pub push: bool,
    /// `set` overrides: (target pattern, key, replaces rather than adds).
    pub sets: Vec<(String, String, bool)>,
    /// Overrides whose value pushes (`*.push=true`, `*.output=type=registry`): the patterns.
    pub push_patterns: Vec<String>,
    /// The folder the files are relative to (workspace-relative): the action's
    /// `workdir`, or the folder a `run:` script runs the command in.
    pub workdir: Option<String>,
    /// Why the files are not in the workspace (a remote `source`).
    pub elsewhere: Option<String>,
    /// Script variables set before the command.
    pub locals: HashMap<String, Result<String, String>>,
}

/// `<pattern>.<key>[+]=<value>` of a bake override, from its resolved text.
pub(super) fn override_of(text: &str) -> Option<(String, String, bool, String)> {
    let (left, value) = text.split_once('=')?;
    let append = left.ends_with('+');
    let (pattern, key) = left.trim_end_matches('+').trim().rsplit_once('.')?;
    Some((
        pattern.trim().to_string(),
        key.trim().to_ascii_lowercase(),
        !append,
        value.to_string(),
    ))
}

/// Whether an override `<target>.<key>=<value>` makes the target push: `push=true`, or
/// an `output` of `type=registry` (or with `push=true`).
pub(super) fn override_pushes(key: &str, value: &str) -> bool {
    let lower = value.trim().to_ascii_lowercase();
    match key {
        "push" => lower == "true",
        "output" => lower.contains("type=registry") || lower.contains("push=true"),
        _ => false,
    }
}

/// Whether a bake target pattern (`*`, `app`, `app-*`) matches `name`.
fn matches(pattern: &str, name: &str) -> bool {
    fn glob(p: &[u8], n: &[u8]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some((b'*', rest)) => (0..=n.len()).any(|i| glob(rest, &n[i..])),
            Some((c, rest)) => n.first() == Some(c) && glob(rest, &n[1..]),
        }
    }
    // Bounded: target names and patterns are short; a pathological one is no match.
    pattern.len() <= 128 && name.len() <= 256 && glob(pattern.as_bytes(), name.as_bytes())
}

impl<'i> StepScan<'i, '_> {
    /// Reads the files of `call` and records the references of the targets it builds.
    pub(super) fn bake_files(&mut self, call: BakeCall) {
        let what = format!(
            "step `{}` (line {})",
            self.step_ref.label, self.step_ref.line
        );
        if let Some(why) = &call.elsewhere {
            self.found
                .notes
                .push(format!("Bake files of {what} not read: {why}."));
            return;
        }
        let Some(files) = self.input.files else {
            return;
        };
        let base = workdir::Base::Known(call.workdir.clone().unwrap_or_else(|| ".".into()));
        let join = |f: &str| base.resolve(f.trim()).unwrap_or_default();
        let mut read: Vec<BakeFile> = Vec::new();
        let given = !call.files.is_empty();
        let names: Vec<String> = if given {
            call.files.iter().map(|f| join(f)).collect()
        } else {
            bake::DEFAULT_FILES.iter().map(|f| join(f)).collect()
        };
        for path in names {
            match files.read(&path) {
                Ok(text) => match bake::parse(&path, &text) {
                    Ok(file) => read.push(file),
                    Err(e) => self
                        .found
                        .notes
                        .push(format!("Bake file {path} of {what} not read: {e}.")),
                },
                Err(e) if given || e.kind() != std::io::ErrorKind::NotFound => self
                    .found
                    .notes
                    .push(format!("Bake file {path} of {what} not read: {e}.")),
                Err(_) => {}
            }
        }
        if read.is_empty() {
            if !given {
                self.found.notes.push(format!(
                    "No bake file of {what} in {}: none of {} exists.",
                    files.describe(),
                    bake::DEFAULT_FILES.join(", ")
                ));
            }
            return;
        }
        let resolution = bake::resolve(&read, &call.targets);
        for n in resolution.notes {
            self.found
                .notes
                .push(format!("Bake targets of {what}: {n}."));
        }
        let env = self.bake_env(call.locals.clone());
        for target in &resolution.targets {
            let name = target.name.as_str();
            let replaced = |key: &str| {
                call.sets
                    .iter()
                    .any(|(p, k, replaces)| *replaces && k == key && matches(p, name))
            };
            let pushes = call.push
                || call.push_patterns.iter().any(|p| matches(p, name))
                || target.output_pushes();
            let compose = read
                .iter()
                .any(|f| f.compose && f.targets.iter().any(|t| t.name == name));
            // (role, string, a whole cache entry rather than a reference)
            let mut refs: Vec<(Role, &Str, bool)> = Vec::new();
            if !replaced("tags") {
                let role = if pushes { Role::Push } else { Role::Tag };
                refs.extend(target.list("tags").into_iter().map(|s| (role, s, false)));
            }
            for (key, role) in [("cache-from", Role::CacheFrom), ("cache-to", Role::CacheTo)] {
                if replaced(key) {
                    continue;
                }
                for entry in target.caches(key) {
                    match entry {
                        CacheEntry::Ref(s) => refs.push((role, s, false)),
                        CacheEntry::Line(s) => refs.push((role, s, true)),
                    }
                }
            }
            for (role, s, line) in refs {
                self.bake_ref(&read, compose, (role, line), s, &env, None);
            }
            for (context, s) in target.contexts() {
                if s.raw
                    .trim_start()
                    .to_ascii_lowercase()
                    .starts_with("docker-image://")
                {
                    self.bake_ref(
                        &read,
                        compose,
                        (Role::Context, false),
                        s,
                        &env,
                        Some(context),
                    );
                }
            }
        }
    }

    /// One reference of a target: `role`, and whether `s` is a whole cache entry.
    fn bake_ref(
        &mut self,
        files: &[BakeFile],
        compose: bool,
        (role, cache_line): (Role, bool),
        s: &Str,
        env: &dyn Fn(&str) -> EnvValue,
        name: Option<&str>,
    ) {
        let path = files
            .iter()
            .find(|f| {
                f.targets
                    .iter()
                    .any(|t| t.attrs.iter().any(|(_, v)| contains(v, s)))
            })
            .map(|f| f.path.clone())
            .unwrap_or_default();
        let location = Location {
            file: path.clone(),
            line: Some(s.line),
            column: Some(s.column),
        };
        let value = match bake::interpolate(files, compose, &s.raw, env) {
            Ok(v) => v,
            Err(why) => {
                self.found.notes.push(format!(
                    "{} {} ({path}:{}) not judged: {why}.",
                    role.as_str(),
                    show(&s.raw),
                    s.line
                ));
                return;
            }
        };
        // A cache entry names a registry only as `type=registry,ref=…` (or, for
        // `cache-from`, a bare reference).
        let (written, resolved) = if cache_line {
            match (cache_ref(&s.raw, role), cache_ref(&value.text, role)) {
                (Some(w), Some(r)) => (w, r),
                _ => return,
            }
        } else {
            (s.raw.trim().to_string(), value.text.trim().to_string())
        };
        if resolved.is_empty() && value.empty.is_empty() {
            return;
        }
        let mut empty = Vec::new();
        if crate::reference::parse_context(&resolved).is_err() {
            for (name, w, from) in &value.empty {
                let (defined, loc) = match from {
                    EmptyFrom::Default(file, line, column) => (
                        Some(Pos::new(*line, *column)),
                        Location {
                            file: file.clone(),
                            line: Some(*line),
                            column: Some(*column),
                        },
                    ),
                    EmptyFrom::Env => match self.env_key(name) {
                        Some(pos) => (
                            Some(pos),
                            Location {
                                file: self.input.workflow.path.clone(),
                                line: Some(pos.line),
                                column: Some(pos.column),
                            },
                        ),
                        None => (None, location.clone()),
                    },
                };
                empty.push((
                    EmptyVar {
                        name: name.clone(),
                        written: w.clone(),
                        offset: 0,
                        defined,
                    },
                    loc,
                ));
            }
        }
        let reference = empty.is_empty().then(|| resolved.clone());
        self.found.references.push(DiscoveredRef {
            role,
            origin: Origin::BakeFile,
            kind: RefKind::of(&resolved),
            written,
            reference,
            context_name: name.map(str::to_string),
            unresolved: Vec::new(),
            empty,
            location,
            step: self.step_ref.clone(),
            after_preflight: self.after,
            pieces: Vec::new(),
        });
    }

    /// Where the step's environment sets `name` (step, job, then workflow `env:`).
    fn env_key(&self, name: &str) -> Option<crate::workflow::yaml::Pos> {
        let key = |env: &crate::workflow::model::Env| {
            env.entries
                .iter()
                .rev()
                .find(|(k, _)| k.value == name)
                .map(|(k, _)| k.start)
        };
        key(&self.step.env)
            .or_else(|| key(&self.input.job.env))
            .or_else(|| key(&self.input.workflow.env))
    }

    /// The value bake reads for a variable: the script's own, else the step's
    /// environment (`env:` blocks, acr-preflight's environment for what the runner sets).
    fn bake_env(
        &self,
        locals: HashMap<String, Result<String, String>>,
    ) -> impl Fn(&str) -> EnvValue + use<'i> {
        let scope = self.scope();
        let (step, input) = (self.step, self.input);
        move |name: &str| {
            if let Some(local) = locals.get(name) {
                return match local {
                    Ok(v) => EnvValue::Set(v.clone()),
                    Err(e) => EnvValue::Unknown(e.clone()),
                };
            }
            let written = step.env.contains(name)
                || input.job.env.contains(name)
                || input.workflow.env.contains(name);
            match scope.env_var(name) {
                Ok(v) => EnvValue::Set(v),
                Err(e) if written => EnvValue::Unknown(e),
                Err(_) => match input.process_env.get(name) {
                    Some(v) => EnvValue::Set(v.clone()),
                    None => EnvValue::Unset,
                },
            }
        }
    }
}

use crate::workflow::yaml::Pos;

fn contains(v: &bake::Val, s: &Str) -> bool {
    match v {
        bake::Val::Str(x) => x == s,
        bake::Val::List(items) => items.iter().any(|i| contains(i, s)),
        bake::Val::Map(entries) => entries.iter().any(|(_, i)| contains(i, s)),
        bake::Val::Other => false,
    }
}

fn show(s: &str) -> String {
    format!("`{}`", s.trim())
}

/// The registry reference of a cache entry: `ref=` of `type=registry,…`, or the whole
/// entry for a bare `cache-from` reference; `None` for other cache types.
fn cache_ref(entry: &str, role: Role) -> Option<String> {
    let fields: Vec<&str> = entry.split(',').map(str::trim).collect();
    if !fields.iter().any(|f| f.contains('=')) {
        return (role == Role::CacheFrom && !entry.trim().is_empty())
            .then(|| entry.trim().to_string());
    }
    let get = |key: &str| {
        fields.iter().find_map(|f| {
            let (k, v) = f.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case(key)
                .then(|| v.trim().to_string())
        })
    };
    get("type")
        .is_some_and(|t| t.eq_ignore_ascii_case("registry"))
        .then(|| get("ref"))
        .flatten()
}
