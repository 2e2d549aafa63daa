//! Bake files (P37): the image names `docker buildx bake` and docker/bake-action read
//! from files in the workspace, each with its line and column.
//!
//! Which files: the ones given (`-f`/`--file`, the action's `files:`), else every one of
//! the default names that exists, in buildx's order (`defaultFilenames` in
//! https://github.com/docker/buildx/blob/master/bake/bake.go: compose-go's
//! `compose.yaml`, `compose.yml`, `docker-compose.yml`, `docker-compose.yaml`, then
//! `docker-bake.json`, `docker-bake.hcl`, `docker-bake.override.json`,
//! `docker-bake.override.hcl`). The formats and attributes are those of
//! https://docs.docker.com/build/bake/reference/ (HCL, JSON) and of the compose
//! `build` section (https://docs.docker.com/reference/compose-file/build/).
//!
//! A small, defensive reader of the subset that carries references, not an HCL
//! implementation: `target "<name>" { tags, cache-from, cache-to, contexts, inherits,
//! output }`, `group "<name>" { targets }`, `variable "<NAME>" { default }` (and
//! top-level attributes, which bake reads as variables), the same three keys in JSON,
//! and compose's `services.<name>.image` and `build.tags`/`cache_from`/`cache_to`.
//! `${NAME}` is replaced by the variable's value; anything else inside `${…}` (a
//! function, a conditional, an attribute of another block) is left unevaluated and the
//! value it is in is not judged. Nothing here panics on any input (see the tests).

use super::yaml::{self, Kind, Node};

/// Largest bake file read.
pub const MAX_BAKE_BYTES: usize = 256 * 1024;
/// Most targets resolved for one bake invocation.
pub const MAX_TARGETS: usize = 64;
/// buildx's default file names, in its order.
pub const DEFAULT_FILES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
    "docker-bake.json",
    "docker-bake.hcl",
    "docker-bake.override.json",
    "docker-bake.override.hcl",
];
const MAX_DEPTH: usize = 16;

/// A string as written in the file (escapes undone, `${…}` kept) and where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Str {
    pub raw: String,
    pub line: u32,
    pub column: u32,
}

/// A value of an attribute: only strings, lists and maps are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Str(Str),
    List(Vec<Val>),
    Map(Vec<(String, Val)>),
    /// Anything else (a number, `null`, a function call, a conditional, a heredoc).
    Other,
}

impl Val {
    fn strings(&self) -> Vec<&Str> {
        match self {
            Val::Str(s) => vec![s],
            Val::List(items) => items
                .iter()
                .filter_map(|v| match v {
                    Val::Str(s) => Some(s),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub name: String,
    pub attrs: Vec<(String, Val)>,
}

impl Block {
    fn get(&self, key: &str) -> Option<&Val> {
        self.attrs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }
}

/// One variable: its default (`None`: declared without one) and the file it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub default: Option<Val>,
    pub file: String,
}

/// What one file declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BakeFile {
    pub path: String,
    pub targets: Vec<Block>,
    pub groups: Vec<Block>,
    pub variables: Vec<Variable>,
    /// A compose file: interpolation follows compose (`$NAME`, `${NAME:-x}`), and every
    /// service is in the default group.
    pub compose: bool,
}

/// Parses one file, by its name: `.json` as bake JSON, `.yml`/`.yaml` as compose,
/// anything else as HCL.
pub fn parse(path: &str, text: &str) -> Result<BakeFile, String> {
    if text.len() > MAX_BAKE_BYTES {
        return Err(format!("it is larger than {} KiB", MAX_BAKE_BYTES / 1024));
    }
    let lower = path.to_ascii_lowercase();
    let mut file = if lower.ends_with(".yml") || lower.ends_with(".yaml") {
        compose(text)?
    } else if lower.ends_with(".json") {
        json(text)?
    } else {
        hcl(text)?
    };
    file.path = path.to_string();
    for v in &mut file.variables {
        v.file = path.to_string();
    }
    Ok(file)
}

// ---------------------------------------------------------------- HCL

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(Str),
    Punct(char),
    Newline,
    /// A number, a heredoc, an operator: nothing read.
    Other,
}

fn tokens(text: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut col) = (0usize, 1u32, 1u32);
    let advance = |i: &mut usize, line: &mut u32, col: &mut u32| {
        let c = chars.get(*i).copied().unwrap_or(' ');
        *i += 1;
        if c == '\n' {
            *line += 1;
            *col = 1;
        } else {
            *col += 1;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            out.push(Tok::Newline);
            advance(&mut i, &mut line, &mut col);
        } else if c.is_whitespace() {
            advance(&mut i, &mut line, &mut col);
        } else if c == '#' || (c == '/' && next == Some('/')) {
            while i < chars.len() && chars[i] != '\n' {
                advance(&mut i, &mut line, &mut col);
            }
        } else if c == '/' && next == Some('*') {
            advance(&mut i, &mut line, &mut col);
            advance(&mut i, &mut line, &mut col);
            while i < chars.len() && !(chars[i] == '*' && chars.get(i + 1) == Some(&'/')) {
                advance(&mut i, &mut line, &mut col);
            }
            if i >= chars.len() {
                return Err(format!("a comment opened at line {line} is never closed"));
            }
            advance(&mut i, &mut line, &mut col);
            advance(&mut i, &mut line, &mut col);
        } else if c == '"' {
            let (start_line, start_col) = (line, col);
            advance(&mut i, &mut line, &mut col);
            let mut raw = String::new();
            let mut depth = 0usize;
            let mut in_inner = false;
            loop {
                let Some(&c) = chars.get(i) else {
                    return Err(format!("the string at line {start_line} is never closed"));
                };
                if c == '\n' && depth == 0 {
                    return Err(format!("the string at line {start_line} is never closed"));
                }
                if depth > 0 {
                    // Inside `${…}`: kept as written, nested strings and braces tracked.
                    raw.push(c);
                    match c {
                        '"' => in_inner = !in_inner,
                        '\\' if in_inner => {
                            advance(&mut i, &mut line, &mut col);
                            if let Some(&e) = chars.get(i) {
                                raw.push(e);
                            }
                        }
                        '{' if !in_inner => depth += 1,
                        '}' if !in_inner => depth -= 1,
                        _ => {}
                    }
                    if i < chars.len() {
                        advance(&mut i, &mut line, &mut col);
                    }
                    continue;
                }
                advance(&mut i, &mut line, &mut col);
                match c {
                    '"' => break,
                    '\\' => {
                        let Some(&e) = chars.get(i) else { continue };
                        advance(&mut i, &mut line, &mut col);
                        raw.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            'r' => '\r',
                            other => other,
                        });
                    }
                    '$' | '%' if chars.get(i) == Some(&'{') => {
                        raw.push(c);
                        raw.push('{');
                        advance(&mut i, &mut line, &mut col);
                        if !raw.ends_with("$${") && !raw.ends_with("%%{") {
                            depth = 1;
                            in_inner = false;
                        }
                    }
                    _ => raw.push(c),
                }
            }
            out.push(Tok::Str(Str {
                raw,
                line: start_line,
                // The first character inside the quotes.
                column: start_col + 1,
            }));
        } else if c == '<' && next == Some('<') {
            // A heredoc: skipped to its closing marker.
            let mut j = i + 2;
            if chars.get(j) == Some(&'-') {
                j += 1;
            }
            let marker: String = chars[j.min(chars.len())..]
                .iter()
                .take_while(|c| c.is_alphanumeric() || **c == '_')
                .collect();
            if marker.is_empty() {
                out.push(Tok::Other);
                advance(&mut i, &mut line, &mut col);
                continue;
            }
            let start_line = line;
            while i < chars.len() && chars[i] != '\n' {
                advance(&mut i, &mut line, &mut col);
            }
            loop {
                if i >= chars.len() {
                    return Err(format!("the heredoc at line {start_line} is never closed"));
                }
                advance(&mut i, &mut line, &mut col);
                let rest: String = chars[i..].iter().take_while(|c| **c != '\n').collect();
                let done = rest.trim() == marker;
                while i < chars.len() && chars[i] != '\n' {
                    advance(&mut i, &mut line, &mut col);
                }
                if done {
                    break;
                }
            }
            out.push(Tok::Other);
        } else if c.is_alphabetic() || c == '_' {
            let mut name = String::new();
            while let Some(&c) = chars.get(i) {
                if !(c.is_alphanumeric() || c == '_' || c == '-') {
                    break;
                }
                name.push(c);
                advance(&mut i, &mut line, &mut col);
            }
            out.push(Tok::Ident(name));
        } else if "{}[]()=,:".contains(c) {
            out.push(Tok::Punct(c));
            advance(&mut i, &mut line, &mut col);
        } else {
            out.push(Tok::Other);
            advance(&mut i, &mut line, &mut col);
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }

    fn skip_newlines(&mut self) {
        while self.peek() == Some(&Tok::Newline) {
            self.i += 1;
        }
    }

    fn expect(&mut self, c: char) -> Result<(), String> {
        match self.peek() {
            Some(Tok::Punct(p)) if *p == c => {
                self.i += 1;
                Ok(())
            }
            _ => Err(format!("`{c}` expected")),
        }
    }

    /// A body: attributes and blocks, up to `}` (or the end, at the top).
    fn body(&mut self, top: bool, depth: usize) -> Result<Body, String> {
        if depth > MAX_DEPTH {
            return Err("blocks nest too deep".into());
        }
        let mut body = Body::default();
        loop {
            self.skip_newlines();
            let name = match self.peek() {
                None if top => return Ok(body),
                None => return Err("a block is never closed".into()),
                Some(Tok::Punct('}')) if !top => {
                    self.i += 1;
                    return Ok(body);
                }
                Some(Tok::Ident(n)) => n.clone(),
                _ => return Err("an attribute or block name expected".into()),
            };
            self.i += 1;
            if self.peek() == Some(&Tok::Punct('=')) {
                self.i += 1;
                let value = self.expr(depth)?;
                body.attrs.push((name, value));
                continue;
            }
            let mut labels = Vec::new();
            loop {
                match self.peek() {
                    Some(Tok::Str(s)) => labels.push(s.raw.clone()),
                    Some(Tok::Ident(s)) => labels.push(s.clone()),
                    _ => break,
                }
                self.i += 1;
            }
            self.expect('{')?;
            let inner = self.body(false, depth + 1)?;
            body.blocks.push((name, labels, inner));
        }
    }

    fn at_end_of_value(&self) -> bool {
        matches!(
            self.peek(),
            None | Some(Tok::Newline) | Some(Tok::Punct(',' | ']' | '}' | ')'))
        )
    }

    /// Skips what is left of a value that is not read, brackets balanced.
    fn skip_value(&mut self) -> Result<(), String> {
        let mut depth = 0usize;
        while let Some(t) = self.peek() {
            match t {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']' | '}') if depth == 0 => return Ok(()),
                Tok::Punct(')' | ']' | '}') => depth -= 1,
                Tok::Punct(',') | Tok::Newline if depth == 0 => return Ok(()),
                _ => {}
            }
            self.i += 1;
        }
        if depth > 0 {
            return Err("a bracket is never closed".into());
        }
        Ok(())
    }

    fn expr(&mut self, depth: usize) -> Result<Val, String> {
        if depth > MAX_DEPTH {
            return Err("values nest too deep".into());
        }
        let value = match self.peek().cloned() {
            Some(Tok::Str(s)) => {
                self.i += 1;
                Val::Str(s)
            }
            Some(Tok::Punct('[')) => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_newlines();
                    if self.peek() == Some(&Tok::Punct(']')) {
                        self.i += 1;
                        break;
                    }
                    if self.peek().is_none() {
                        return Err("a list is never closed".into());
                    }
                    items.push(self.expr(depth + 1)?);
                    self.skip_newlines();
                    match self.peek() {
                        Some(Tok::Punct(',')) => self.i += 1,
                        Some(Tok::Punct(']')) => {}
                        _ => return Err("`,` or `]` expected in a list".into()),
                    }
                }
                Val::List(items)
            }
            Some(Tok::Punct('{')) => {
                self.i += 1;
                let mut entries = Vec::new();
                loop {
                    self.skip_newlines();
                    let key = match self.peek().cloned() {
                        Some(Tok::Punct('}')) => {
                            self.i += 1;
                            break;
                        }
                        Some(Tok::Ident(k)) => k,
                        Some(Tok::Str(s)) => s.raw,
                        _ => return Err("a key expected in an object".into()),
                    };
                    self.i += 1;
                    match self.peek() {
                        Some(Tok::Punct('=' | ':')) => self.i += 1,
                        _ => return Err("`=` expected in an object".into()),
                    }
                    let v = self.expr(depth + 1)?;
                    entries.push((key, v));
                    if self.peek() == Some(&Tok::Punct(',')) {
                        self.i += 1;
                    }
                }
                Val::Map(entries)
            }
            None => return Err("a value expected".into()),
            Some(_) => {
                self.skip_value()?;
                return Ok(Val::Other);
            }
        };
        if self.at_end_of_value() {
            Ok(value)
        } else {
            // `"a" == x ? … : …`, `[…][0]`: an expression, not read.
            self.skip_value()?;
            Ok(Val::Other)
        }
    }
}

#[derive(Debug, Default)]
struct Body {
    attrs: Vec<(String, Val)>,
    blocks: Vec<(String, Vec<String>, Body)>,
}

fn hcl(text: &str) -> Result<BakeFile, String> {
    let mut p = Parser {
        toks: tokens(text)?,
        i: 0,
    };
    let body = p.body(true, 0)?;
    let mut file = BakeFile::default();
    for (name, value) in body.attrs {
        file.variables.push(Variable {
            name,
            default: Some(value),
            file: String::new(),
        });
    }
    for (kind, labels, inner) in body.blocks {
        let [label] = labels.as_slice() else { continue };
        let block = Block {
            name: label.clone(),
            attrs: inner.attrs,
        };
        match kind.as_str() {
            "target" => file.targets.push(block),
            "group" => file.groups.push(block),
            "variable" => file.variables.push(Variable {
                default: block.get("default").cloned(),
                name: block.name,
                file: String::new(),
            }),
            _ => {}
        }
    }
    Ok(file)
}

// ---------------------------------------------------------------- JSON and compose

/// A YAML (or JSON, which the YAML reader reads too, with positions) node as a value.
fn val_of(node: &Node) -> Val {
    match &node.kind {
        Kind::Scalar(t) => Val::Str(Str {
            raw: t.value.clone(),
            line: t.start.line,
            column: t.start.column,
        }),
        Kind::Seq(items) => Val::List(items.iter().map(val_of).collect()),
        Kind::Map(entries) => Val::Map(
            entries
                .iter()
                .map(|(k, v)| (k.value.clone(), val_of(v)))
                .collect(),
        ),
        Kind::Null => Val::Other,
    }
}

fn blocks(node: Option<&Node>) -> Vec<Block> {
    let Some(entries) = node.and_then(Node::as_map) else {
        return Vec::new();
    };
    entries
        .iter()
        .map(|(name, body)| Block {
            name: name.value.clone(),
            attrs: match val_of(body) {
                Val::Map(attrs) => attrs,
                _ => Vec::new(),
            },
        })
        .collect()
}

fn json(text: &str) -> Result<BakeFile, String> {
    let root = yaml::parse(text).map_err(|e| e.message)?;
    if root.as_map().is_none() {
        return Err("the document is not a JSON object".into());
    }
    let variables = blocks(root.get("variable"))
        .into_iter()
        .map(|b| Variable {
            default: b.get("default").cloned(),
            name: b.name,
            file: String::new(),
        })
        .collect();
    Ok(BakeFile {
        targets: blocks(root.get("target")),
        groups: blocks(root.get("group")),
        variables,
        ..BakeFile::default()
    })
}

fn compose(text: &str) -> Result<BakeFile, String> {
    let root = yaml::parse(text).map_err(|e| e.message)?;
    let services = root
        .get("services")
        .and_then(Node::as_map)
        .ok_or("it has no `services:` mapping")?;
    let mut file = BakeFile {
        compose: true,
        ..BakeFile::default()
    };
    for (name, service) in services {
        // Services without `build` are not built (compose.go skips them).
        let Some(build) = service.get("build") else {
            continue;
        };
        let mut attrs = Vec::new();
        let get = |key: &str| build.get(key).map(val_of);
        if let Some(tags) = get("tags") {
            attrs.push(("tags".to_string(), tags));
        }
        // Without `build.tags`, the image name is the tag.
        if !attrs
            .iter()
            .any(|(k, v)| k == "tags" && !v.strings().is_empty())
            && let Some(image) = service.get("image")
        {
            attrs.push(("tags".to_string(), Val::List(vec![val_of(image)])));
        }
        if let Some(v) = get("cache_from") {
            attrs.push(("cache-from".to_string(), v));
        }
        if let Some(v) = get("cache_to") {
            attrs.push(("cache-to".to_string(), v));
        }
        file.targets.push(Block {
            name: name.value.clone(),
            attrs,
        });
    }
    Ok(file)
}

// ---------------------------------------------------------------- resolution

/// The targets one invocation builds, each with its attributes after `inherits`.
#[derive(Debug, Default)]
pub struct Resolution {
    pub targets: Vec<Block>,
    /// What could not be followed (a name that is no target nor group, a cycle, the cap).
    pub notes: Vec<String>,
}

/// Resolves `wanted` (empty: `default`) over the files, later files overriding earlier
/// ones target by target and attribute by attribute, as bake merges them.
pub fn resolve(files: &[BakeFile], wanted: &[String]) -> Resolution {
    let mut out = Resolution::default();
    let wanted: Vec<String> = if wanted.is_empty() {
        vec!["default".to_string()]
    } else {
        wanted.to_vec()
    };
    let mut names: Vec<String> = Vec::new();
    for w in &wanted {
        expand(files, w, 0, &mut names, &mut out.notes);
    }
    for name in names {
        if out.targets.len() >= MAX_TARGETS {
            out.notes
                .push(format!("only the first {MAX_TARGETS} targets are read"));
            break;
        }
        let mut seen = Vec::new();
        if let Some(t) = target(files, &name, 0, &mut seen, &mut out.notes) {
            out.targets.push(t);
        }
    }
    out
}

fn group<'a>(files: &'a [BakeFile], name: &str) -> Option<Vec<&'a Str>> {
    let mut found: Option<Vec<&Str>> = None;
    for f in files {
        for g in f.groups.iter().filter(|g| g.name == name) {
            found = Some(g.get("targets").map(Val::strings).unwrap_or_default());
        }
    }
    if found.is_none() && name == "default" {
        // Compose: every service is in the default group.
        let services: Vec<&Str> = Vec::new();
        if files.iter().any(|f| f.compose) && !has_target(files, "default") {
            return Some(services);
        }
    }
    found
}

fn has_target(files: &[BakeFile], name: &str) -> bool {
    files
        .iter()
        .any(|f| f.targets.iter().any(|t| t.name == name))
}

fn expand(
    files: &[BakeFile],
    name: &str,
    depth: usize,
    out: &mut Vec<String>,
    notes: &mut Vec<String>,
) {
    if depth > MAX_DEPTH || out.len() > MAX_TARGETS {
        return;
    }
    if let Some(members) = group(files, name) {
        if members.is_empty() && name == "default" && files.iter().any(|f| f.compose) {
            for f in files.iter().filter(|f| f.compose) {
                for t in &f.targets {
                    if !out.contains(&t.name) {
                        out.push(t.name.clone());
                    }
                }
            }
            return;
        }
        for m in members {
            if m.raw.contains("${") {
                notes.push(format!("group `{name}` names a target through an expression, `{}`, which is not followed", m.raw));
                continue;
            }
            if m.raw == name {
                // A group may name a target of its own name.
                if has_target(files, name) && !out.contains(&m.raw) {
                    out.push(m.raw.clone());
                }
                continue;
            }
            expand(files, &m.raw, depth + 1, out, notes);
        }
        return;
    }
    if has_target(files, name) {
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    } else {
        notes.push(format!("no target or group `{name}` in the bake files"));
    }
}

fn target(
    files: &[BakeFile],
    name: &str,
    depth: usize,
    seen: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Option<Block> {
    if depth > MAX_DEPTH || seen.iter().any(|s| s == name) {
        notes.push(format!("target `{name}` inherits from itself"));
        return None;
    }
    seen.push(name.to_string());
    let mut own: Vec<(String, Val)> = Vec::new();
    for f in files {
        for t in f.targets.iter().filter(|t| t.name == name) {
            for (k, v) in &t.attrs {
                own.retain(|(o, _)| o != k);
                own.push((k.clone(), v.clone()));
            }
        }
    }
    if own.is_empty() && !has_target(files, name) {
        notes.push(format!("no target `{name}` in the bake files"));
        return None;
    }
    let mut attrs: Vec<(String, Val)> = Vec::new();
    let parents = own
        .iter()
        .find(|(k, _)| k == "inherits")
        .map(|(_, v)| {
            v.strings()
                .into_iter()
                .map(|s| s.raw.clone())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    for parent in parents {
        if let Some(p) = target(files, &parent, depth + 1, seen, notes) {
            for (k, v) in p.attrs {
                attrs.retain(|(o, _)| *o != k);
                attrs.push((k, v));
            }
        }
    }
    for (k, v) in own {
        attrs.retain(|(o, _)| *o != k);
        attrs.push((k, v));
    }
    seen.pop();
    Some(Block {
        name: name.to_string(),
        attrs,
    })
}

impl Block {
    /// The strings of a list attribute (or a single string).
    pub fn list(&self, key: &str) -> Vec<&Str> {
        self.get(key).map(Val::strings).unwrap_or_default()
    }

    /// The registry references of `cache-from`/`cache-to`: strings (`type=registry,ref=…`
    /// or, for `cache-from`, a bare reference) and objects (`{ type = "registry", ref = "…" }`).
    pub fn caches(&self, key: &str) -> Vec<CacheEntry<'_>> {
        let items: Vec<&Val> = match self.get(key) {
            Some(Val::List(items)) => items.iter().collect(),
            Some(v @ Val::Str(_)) => vec![v],
            _ => Vec::new(),
        };
        let mut out = Vec::new();
        for item in items {
            match item {
                Val::Str(s) => out.push(CacheEntry::Line(s)),
                Val::Map(entries) => {
                    let get = |k: &str| {
                        entries
                            .iter()
                            .find(|(n, _)| n == k)
                            .and_then(|(_, v)| match v {
                                Val::Str(s) => Some(s),
                                _ => None,
                            })
                    };
                    if let (Some(t), Some(r)) = (get("type"), get("ref"))
                        && t.raw.eq_ignore_ascii_case("registry")
                    {
                        out.push(CacheEntry::Ref(r));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// `contexts = { name = "docker-image://…" }`: each named context's value.
    pub fn contexts(&self) -> Vec<(&str, &Str)> {
        match self.get("contexts") {
            Some(Val::Map(entries)) => entries
                .iter()
                .filter_map(|(k, v)| match v {
                    Val::Str(s) => Some((k.as_str(), s)),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether an `output` entry pushes (`type=registry`, or `push=true`).
    pub fn output_pushes(&self) -> bool {
        let mut entries: Vec<String> = self
            .list("output")
            .iter()
            .map(|s| s.raw.to_ascii_lowercase())
            .collect();
        if let Some(Val::List(items)) = self.get("output") {
            for item in items {
                if let Val::Map(m) = item {
                    entries.push(
                        m.iter()
                            .filter_map(|(k, v)| match v {
                                Val::Str(s) => Some(format!("{k}={}", s.raw.to_ascii_lowercase())),
                                _ => None,
                            })
                            .collect::<Vec<_>>()
                            .join(","),
                    );
                }
            }
        }
        entries.iter().any(|e| {
            e.split(',').any(|f| {
                let f = f.trim();
                f == "type=registry" || f == "push=true"
            })
        })
    }
}

/// One entry of a cache attribute.
pub enum CacheEntry<'a> {
    /// `type=registry,ref=…` or a bare reference, as one string.
    Line(&'a Str),
    /// The `ref` of an object whose `type` is `registry`.
    Ref(&'a Str),
}

// ---------------------------------------------------------------- interpolation

/// A variable's value from the environment of the build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EnvValue {
    Set(String),
    /// Set, to something not known here (why).
    Unknown(String),
    Unset,
}

/// Where an empty value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmptyFrom {
    /// The environment.
    Env,
    /// A variable's `default` (file, line, column).
    Default(String, u32, u32),
}

/// An interpolated string: its text and the variables that were empty in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interpolated {
    pub text: String,
    /// (name, as written, where the empty value came from).
    pub empty: Vec<(String, String, EmptyFrom)>,
}

/// Replaces the variables of `raw`; `Err` says what cannot be evaluated here.
pub fn interpolate(
    files: &[BakeFile],
    compose: bool,
    raw: &str,
    env: &dyn Fn(&str) -> EnvValue,
) -> Result<Interpolated, String> {
    interpolate_at(files, compose, raw, env, 0)
}

fn interpolate_at(
    files: &[BakeFile],
    compose: bool,
    raw: &str,
    env: &dyn Fn(&str) -> EnvValue,
    depth: usize,
) -> Result<Interpolated, String> {
    if depth > MAX_DEPTH {
        return Err("variables refer to each other too deep".into());
    }
    let mut out = Interpolated::default();
    let mut rest = raw;
    while let Some(at) = rest.find(['$', '%']) {
        out.text.push_str(&rest[..at]);
        let after = &rest[at..];
        if after.starts_with("$${")
            || after.starts_with("%%{")
            || (compose && after.starts_with("$$"))
        {
            out.text.push_str(
                &after[1..if compose && !after.starts_with("$${") {
                    2
                } else {
                    3
                }],
            );
            rest = &after[if compose && !after.starts_with("$${") {
                2
            } else {
                3
            }..];
            continue;
        }
        if after.starts_with("%{") {
            return Err(format!("`{}` is a template directive", directive(after)));
        }
        if let Some(inner) = after.strip_prefix("${") {
            let Some(close) = inner.find('}') else {
                return Err(format!("`{after}` is never closed"));
            };
            let written = &after[..close + 3];
            let expr = inner[..close].trim();
            let (name, fallback) = if compose {
                match expr.find([':', '-', '?', '+']) {
                    Some(i) => {
                        let (n, op) = expr.split_at(i);
                        match op.strip_prefix(":-").or_else(|| op.strip_prefix('-')) {
                            Some(d) => (n, Some(d)),
                            None => return Err(format!("`{written}` is not evaluated here")),
                        }
                    }
                    None => (expr, None),
                }
            } else {
                (expr, None)
            };
            if !ident(name) {
                return Err(format!(
                    "`{written}` is an expression (a function, a conditional or another block's attribute), which acr-preflight does not evaluate"
                ));
            }
            let value = variable(files, compose, name, written, fallback, env, depth)?;
            out.text.push_str(&value.text);
            out.empty.extend(value.empty);
            rest = &after[written.len()..];
            continue;
        }
        if compose && after.starts_with('$') {
            let n = after[1..]
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            if n > 0 {
                let name = &after[1..1 + n];
                let value = variable(files, compose, name, &after[..1 + n], None, env, depth)?;
                out.text.push_str(&value.text);
                out.empty.extend(value.empty);
                rest = &after[1 + n..];
                continue;
            }
        }
        out.text.push_str(&after[..1]);
        rest = &after[1..];
    }
    out.text.push_str(rest);
    Ok(out)
}

fn directive(s: &str) -> &str {
    match s.find('}') {
        Some(i) => &s[..i + 1],
        None => s,
    }
}

fn ident(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with(|c: char| c.is_ascii_digit())
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn variable(
    files: &[BakeFile],
    compose: bool,
    name: &str,
    written: &str,
    fallback: Option<&str>,
    env: &dyn Fn(&str) -> EnvValue,
    depth: usize,
) -> Result<Interpolated, String> {
    let from_env = env(name);
    if let EnvValue::Unknown(why) = &from_env {
        return Err(format!("`{written}` reads `{name}`, which {why}"));
    }
    if compose {
        return match (from_env, fallback) {
            (EnvValue::Set(v), _) if !v.is_empty() || fallback.is_none() => {
                Ok(empty_or(v, name, written, EmptyFrom::Env))
            }
            (_, Some(d)) => interpolate_at(files, compose, d, env, depth + 1),
            // compose also reads a `.env` file, which is not read here.
            _ => Err(format!(
                "`{written}` reads `{name}`, which is set in no `env:` block (compose may read it from a `.env` file)"
            )),
        };
    }
    let declared = files
        .iter()
        .flat_map(|f| f.variables.iter())
        .rfind(|v| v.name == name);
    let Some(declared) = declared else {
        return Err(format!("`{written}` names no variable of the bake files"));
    };
    if let EnvValue::Set(v) = from_env {
        return Ok(empty_or(v, name, written, EmptyFrom::Env));
    }
    match &declared.default {
        Some(Val::Str(s)) => {
            let mut value = interpolate_at(files, compose, &s.raw, env, depth + 1)?;
            if value.text.trim().is_empty() && value.empty.is_empty() {
                value.empty.push((
                    name.to_string(),
                    written.to_string(),
                    EmptyFrom::Default(declared.file.clone(), s.line, s.column),
                ));
            }
            Ok(value)
        }
        Some(_) => Err(format!(
            "`{written}` reads `{name}`, whose default is not a plain string"
        )),
        None => Err(format!(
            "`{written}` reads `{name}`, which has no default and is not set in the step's environment"
        )),
    }
}

fn empty_or(value: String, name: &str, written: &str, from: EmptyFrom) -> Interpolated {
    let empty = if value.trim().is_empty() {
        vec![(name.to_string(), written.to_string(), from)]
    } else {
        Vec::new()
    };
    Interpolated { text: value, empty }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unset(_: &str) -> EnvValue {
        EnvValue::Unset
    }

    const HCL: &str = r#"
# comment
variable "REGISTRY" {
  default = "myreg.azurecr.io"
}
variable "TAG" { default = "1" }
EXTRA = "x"
group "default" {
  targets = ["app", "all"]
}
group "all" { targets = ["worker"] }
target "_common" {
  cache-from = ["type=registry,ref=${REGISTRY}/cache:app", { type = "registry", ref = "r.io/c:2" }]
}
target "app" {
  inherits = ["_common"]
  tags = [
    "${REGISTRY}/app:${TAG}", // trailing
    "${lower("X")}/app:1",
    notes == "" ? "a" : "b",
  ]
  contexts = { base = "docker-image://alpine:3" }
  output = ["type=registry"]
}
target "worker" {
  tags = ["worker:1"]
  args = { A = <<EOT
x
EOT
  }
}
"#;

    #[test]
    fn hcl_targets_groups_variables_and_inherits_resolve() {
        let f = parse("docker-bake.hcl", HCL).unwrap();
        assert_eq!(f.variables.len(), 3);
        let r = resolve(std::slice::from_ref(&f), &[]);
        let names: Vec<&str> = r.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["app", "worker"], "{:?}", r.notes);
        let app = &r.targets[0];
        let tags: Vec<&str> = app.list("tags").iter().map(|s| s.raw.as_str()).collect();
        assert_eq!(tags, ["${REGISTRY}/app:${TAG}", "${lower(\"X\")}/app:1"]);
        assert_eq!(app.list("tags")[0].line, 18);
        assert_eq!(app.caches("cache-from").len(), 2);
        assert!(app.output_pushes());
        assert_eq!(app.contexts()[0].0, "base");
        let files = [f];
        let i = interpolate(&files, false, &app.list("tags")[0].raw, &unset).unwrap();
        assert_eq!(i.text, "myreg.azurecr.io/app:1");
        assert!(interpolate(&files, false, &app.list("tags")[1].raw, &unset).is_err());
        let env = |n: &str| match n {
            "REGISTRY" => EnvValue::Set(String::new()),
            _ => EnvValue::Unset,
        };
        let i = interpolate(&files, false, "${REGISTRY}/app", &env).unwrap();
        assert_eq!(i.text, "/app");
        assert_eq!(i.empty[0].2, EmptyFrom::Env);
    }

    #[test]
    fn json_and_compose_read_their_tags() {
        let j = parse(
            "docker-bake.json",
            "{\"variable\": {\"R\": {\"default\": \"\"}},\n \"target\": {\"app\": {\"tags\": [\"${R}/app:1\"]}}}",
        )
        .unwrap();
        let r = resolve(std::slice::from_ref(&j), &["app".into()]);
        let tag = r.targets[0].list("tags")[0];
        assert_eq!((tag.raw.as_str(), tag.line), ("${R}/app:1", 2));
        let i = interpolate(std::slice::from_ref(&j), false, &tag.raw, &unset).unwrap();
        assert_eq!(i.text, "/app:1");
        assert!(matches!(i.empty[0].2, EmptyFrom::Default(_, 1, _)));
        let c = parse(
            "compose.yaml",
            "services:\n  web:\n    image: web:1\n    build: .\n  db:\n    image: postgres\n  api:\n    build:\n      tags: [\"r.io/api:1\"]\n      cache_from: [\"r.io/api:cache\"]\n",
        )
        .unwrap();
        let r = resolve(std::slice::from_ref(&c), &[]);
        let names: Vec<&str> = r.targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["web", "api"]);
        assert_eq!(r.targets[0].list("tags")[0].raw, "web:1");
        let i = interpolate(
            std::slice::from_ref(&c),
            true,
            "${R:-r.io}/x:$T",
            &|n: &str| {
                if n == "T" {
                    EnvValue::Set("2".into())
                } else {
                    EnvValue::Unset
                }
            },
        )
        .unwrap();
        assert_eq!(i.text, "r.io/x:2");
    }

    #[test]
    fn broken_files_are_errors_and_cycles_notes_never_panics() {
        for text in [
            "target \"a\" {",
            "target \"a\" { tags = [\"x\" }",
            "\"",
            "target \"a\" { tags = [\"${x\"] }",
            "/* open",
            "x = <<EOT\nno end",
        ] {
            assert!(parse("docker-bake.hcl", text).is_err(), "{text}");
        }
        let f = parse(
            "docker-bake.hcl",
            "target \"a\" { inherits = [\"b\"] }\ntarget \"b\" { inherits = [\"a\"] }\ngroup \"g\" { targets = [\"g\", \"a\"] }",
        )
        .unwrap();
        let r = resolve(std::slice::from_ref(&f), &["g".into(), "nope".into()]);
        assert!(r.notes.iter().any(|n| n.contains("nope")), "{:?}", r.notes);
        // Every prefix of a real file parses or fails, never panics.
        for end in (0..HCL.len()).filter(|e| HCL.is_char_boundary(*e)) {
            let _ = parse("docker-bake.hcl", &HCL[..end]);
        }
        assert!(parse("x.hcl", &"a".repeat(MAX_BAKE_BYTES + 1)).is_err());
    }
}
