//! Just enough of the POSIX shell to find the build commands in a `run:` script and
//! where each of their arguments is written.
//!
//! The script is split into commands (at new lines, `;`, `&&`, `||`, `|`, `&`) and
//! words (quotes, backslash escapes and `\` line continuations handled as bash does).
//! A word is kept as parts: literal text, `$VAR` / `${VAR}`, GitHub `${{ … }}` (which
//! the runner substitutes before the shell runs, so also inside single quotes), and
//! opaque parts (`$(…)`, backticks, `${VAR:-…}`, `$1`) that acr-preflight never
//! evaluates. Every part remembers its byte offset in the script, so a value found in
//! a word points back at its line and column.

use super::expr::{Expanded, Scope, Unresolved};
use std::collections::HashMap;
use std::ops::Range;

/// Which shell reads the script: decides the escape and continuation character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// bash / sh (the default `run:` shell on Linux and macOS).
    Posix,
    /// pwsh / powershell: the backtick escapes and continues lines.
    PowerShell,
}

impl Dialect {
    /// From a step's `shell:` (default: POSIX).
    pub fn from_shell(shell: Option<&str>) -> Dialect {
        match shell.map(|s| s.trim().to_ascii_lowercase()) {
            Some(s) if s.starts_with("pwsh") || s.starts_with("powershell") => Dialect::PowerShell,
            _ => Dialect::Posix,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// Literal text; `offsets[i]` is the script offset of byte `i`.
    Lit { text: String, offsets: Vec<usize> },
    /// `$NAME` or `${NAME}`.
    Var { name: String, raw: Range<usize> },
    /// `${{ … }}`: the text between the braces.
    Expr { inner: String, raw: Range<usize> },
    /// Something the shell computes at run time.
    Opaque {
        raw: Range<usize>,
        why: &'static str,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// Where the word is written in the script (bytes).
    pub raw: Range<usize>,
    pub parts: Vec<Part>,
}

impl Word {
    /// The word when it is literal text only (`docker`, `--push`).
    pub fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit { text, .. } => out.push_str(text),
                _ => return None,
            }
        }
        Some(out)
    }

    /// The literal text before the first non-literal part (`--tag=` of `--tag=$X`).
    pub fn literal_prefix(&self) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit { text, .. } => out.push_str(text),
                _ => break,
            }
        }
        out
    }

    /// The word as written, unquoted, with variables and expressions left as they are.
    pub fn as_written(&self, script: &str) -> Expanded {
        let mut out = Expanded::default();
        for part in &self.parts {
            match part {
                Part::Lit { text, offsets } => {
                    out.text.push_str(text);
                    out.offsets.extend(offsets);
                }
                Part::Var { raw, .. } | Part::Expr { raw, .. } | Part::Opaque { raw, .. } => {
                    out.push_str(&script[raw.clone()], raw.start)
                }
            }
        }
        out
    }

    /// The script's own text of the word, quotes and escapes kept (`"$ID"`), from byte
    /// `from` of its unquoted form ([`Word::as_written`]) on: a `from` past an option
    /// joined to its value (`--username=`) gives the value as the script quotes it.
    pub fn source<'s>(&self, script: &'s str, from: usize) -> &'s str {
        let whole = script.get(self.raw.clone()).unwrap_or_default();
        let unquoted = self.as_written(script);
        let Some(last) = unquoted.text.get(..from).and_then(|t| t.chars().last()) else {
            return whole;
        };
        // Right after the last character cut off, in the script.
        let start = unquoted.raw_offset(from - last.len_utf8()) + last.len_utf8();
        script
            .get(start.max(self.raw.start)..self.raw.end)
            .unwrap_or(whole)
    }

    /// The word with variables and expressions replaced where they can be known.
    /// `locals` are variables the script itself set earlier.
    pub fn expand(
        &self,
        script: &str,
        scope: &Scope<'_>,
        locals: &HashMap<String, Result<String, String>>,
    ) -> Expanded {
        let mut out = Expanded::default();
        for part in &self.parts {
            match part {
                Part::Lit { text, offsets } => {
                    out.text.push_str(text);
                    out.offsets.extend(offsets);
                }
                Part::Var { name, raw } => {
                    let value = match locals.get(name) {
                        Some(v) => v.clone(),
                        None => scope.shell_var(name),
                    };
                    let written = &script[raw.clone()];
                    match value {
                        Ok(v) => {
                            if v.trim().is_empty() && !locals.contains_key(name) {
                                out.empty.push(scope.empty_var(name, written, raw.start));
                            }
                            out.push_str(&v, raw.start)
                        }
                        Err(reason) => {
                            out.push_str(written, raw.start);
                            out.unresolved.push(Unresolved {
                                written: written.to_string(),
                                reason,
                                offset: raw.start,
                            });
                        }
                    }
                }
                Part::Expr { inner, raw } => {
                    let written = &script[raw.clone()];
                    match scope.evaluate(inner) {
                        Ok(v) => {
                            if v.trim().is_empty()
                                && let Some(name) = super::expr::env_name(inner)
                            {
                                out.empty.push(scope.empty_var(&name, written, raw.start));
                            }
                            out.push_str(&v, raw.start)
                        }
                        Err(reason) => {
                            out.push_str(written, raw.start);
                            out.unresolved.push(Unresolved {
                                written: written.to_string(),
                                reason,
                                offset: raw.start,
                            });
                        }
                    }
                }
                Part::Opaque { raw, why } => {
                    let written = &script[raw.clone()];
                    out.push_str(written, raw.start);
                    out.unresolved.push(Unresolved {
                        written: written.to_string(),
                        reason: (*why).to_string(),
                        offset: raw.start,
                    });
                }
            }
        }
        out
    }
}

/// One simple command: its words, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    pub words: Vec<Word>,
    /// The subshells `( … )` it runs in, outermost first, each by a number unique in
    /// the script: what a `cd` inside one changes does not outlive it.
    pub subshells: Vec<usize>,
}

/// Splits a script into commands.
pub fn parse(script: &str, dialect: Dialect) -> Vec<Command> {
    Lexer {
        s: script,
        i: 0,
        dialect,
        commands: Vec::new(),
        words: Vec::new(),
        current: None,
        open: Vec::new(),
        opened: 0,
    }
    .run()
}

/// The commands of the script a `sh -c '…'` (or `bash -c "…"`) word hands to a new
/// shell, read one level deep, their offsets pointing into `script`. Only when what the
/// inner shell reads is certain: a single-quoted word (read as written), or a
/// double-quoted one without `\`, backticks or `$(` (its `$VAR`s then read the same
/// environment in either shell). `None` otherwise.
pub fn inner_commands(script: &str, word: &Word) -> Option<Vec<Command>> {
    let raw = script.get(word.raw.clone())?;
    let inner = match raw.as_bytes() {
        [b'\'', .., b'\''] if raw.len() >= 2 => &raw[1..raw.len() - 1],
        [b'"', .., b'"'] if raw.len() >= 2 => &raw[1..raw.len() - 1],
        _ => return None,
    };
    let unsafe_inner = if raw.starts_with('\'') {
        inner.contains('\'')
    } else {
        inner.contains(['\\', '`', '"']) || inner.contains("$(")
    };
    if unsafe_inner {
        return None;
    }
    // The same script with everything outside the string blanked, so that every
    // offset the parser records is the outer script's.
    let from = word.raw.start + 1;
    let to = from + inner.len();
    let masked: String = script
        .char_indices()
        .flat_map(|(i, c)| {
            let keep = (from..to).contains(&i);
            let n = if keep { 1 } else { c.len_utf8() };
            std::iter::repeat_n(if keep { c } else { ' ' }, n)
        })
        .collect();
    Some(parse(&masked, Dialect::Posix))
}

struct Lexer<'s> {
    s: &'s str,
    i: usize,
    dialect: Dialect,
    commands: Vec<Command>,
    words: Vec<Word>,
    current: Option<Word>,
    /// The subshells open at this point, and how many were opened so far.
    open: Vec<usize>,
    opened: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.s[self.i..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.s[self.i..].chars().nth(n)
    }

    fn starts_with(&self, p: &str) -> bool {
        self.s[self.i..].starts_with(p)
    }

    fn word(&mut self) -> &mut Word {
        let at = self.i;
        self.current.get_or_insert_with(|| Word {
            raw: at..at,
            parts: Vec::new(),
        })
    }

    fn lit(&mut self, c: char, at: usize) {
        let word = self.word();
        match word.parts.last_mut() {
            Some(Part::Lit { text, offsets }) => {
                text.push(c);
                offsets.extend(std::iter::repeat_n(at, c.len_utf8()));
            }
            _ => word.parts.push(Part::Lit {
                text: c.to_string(),
                offsets: vec![at; c.len_utf8()],
            }),
        }
    }

    fn part(&mut self, part: Part) {
        self.word().parts.push(part);
    }

    fn end_word(&mut self) {
        if let Some(mut w) = self.current.take() {
            w.raw.end = self.i;
            self.words.push(w);
        }
    }

    fn end_command(&mut self) {
        self.end_word();
        if !self.words.is_empty() {
            self.commands.push(Command {
                words: std::mem::take(&mut self.words),
                subshells: self.open.clone(),
            });
        }
    }

    fn escape_char(&self) -> char {
        match self.dialect {
            Dialect::Posix => '\\',
            Dialect::PowerShell => '`',
        }
    }

    fn run(mut self) -> Vec<Command> {
        while let Some(c) = self.peek() {
            let at = self.i;
            if self.starts_with("${{") {
                self.github_expression();
                continue;
            }
            match c {
                '\n' => {
                    self.end_command();
                    self.i += 1;
                }
                ' ' | '\t' | '\r' => {
                    self.end_word();
                    self.i += 1;
                }
                '#' if self.current.is_none() => {
                    while let Some(c) = self.peek() {
                        if c == '\n' {
                            break;
                        }
                        self.i += c.len_utf8();
                    }
                }
                ';' | '&' | '|' => {
                    self.end_command();
                    self.i += 1;
                }
                '(' => {
                    self.end_command();
                    self.i += 1;
                    self.opened += 1;
                    self.open.push(self.opened);
                }
                ')' => {
                    self.end_command();
                    self.i += 1;
                    self.open.pop();
                }
                '<' | '>' => {
                    self.end_word();
                    self.i += 1;
                }
                c if c == self.escape_char() => {
                    match self.peek_at(1) {
                        Some('\n') => self.i += 2,
                        Some('\r') if self.peek_at(2) == Some('\n') => self.i += 3,
                        Some(next) => {
                            // Keep the word's start at the backslash.
                            self.word();
                            self.i += 1 + next.len_utf8();
                            self.lit(next, at + 1);
                        }
                        None => self.i += 1,
                    }
                }
                '\'' => self.single_quoted(),
                '"' => self.double_quoted(),
                '$' if self.dialect == Dialect::Posix || self.peek_at(1) != Some('(') => {
                    self.dollar()
                }
                '`' if self.dialect == Dialect::Posix => {
                    let end = self.s[at + 1..]
                        .find('`')
                        .map(|e| at + 1 + e + 1)
                        .unwrap_or(self.s.len());
                    self.word();
                    self.i = end;
                    self.part(Part::Opaque {
                        raw: at..end,
                        why: "a command substitution is computed when the script runs",
                    });
                }
                c => {
                    self.word();
                    self.i += c.len_utf8();
                    self.lit(c, at);
                }
            }
        }
        self.end_command();
        self.commands
    }

    fn github_expression(&mut self) {
        let at = self.i;
        let end = find_expression_end(self.s, at + 3);
        self.word();
        match end {
            Some(close) => {
                self.i = close + 2;
                self.part(Part::Expr {
                    inner: self.s[at + 3..close].to_string(),
                    raw: at..close + 2,
                });
            }
            None => {
                self.i = self.s.len();
                self.part(Part::Opaque {
                    raw: at..self.s.len(),
                    why: "the expression is not closed with `}}`",
                });
            }
        }
    }

    fn single_quoted(&mut self) {
        self.word();
        self.i += 1;
        while let Some(c) = self.peek() {
            if self.starts_with("${{") {
                self.github_expression();
                continue;
            }
            let at = self.i;
            self.i += c.len_utf8();
            if c == '\'' {
                return;
            }
            self.lit(c, at);
        }
    }

    fn double_quoted(&mut self) {
        self.word();
        self.i += 1;
        while let Some(c) = self.peek() {
            if self.starts_with("${{") {
                self.github_expression();
                continue;
            }
            let at = self.i;
            match c {
                '"' => {
                    self.i += 1;
                    return;
                }
                c if c == self.escape_char() => match self.peek_at(1) {
                    Some('\n') => self.i += 2,
                    Some(next)
                        if self.dialect == Dialect::PowerShell || "$`\"\\".contains(next) =>
                    {
                        self.i += 1 + next.len_utf8();
                        self.lit(next, at + 1);
                    }
                    _ => {
                        self.i += 1;
                        self.lit(c, at);
                    }
                },
                '$' => self.dollar(),
                '`' if self.dialect == Dialect::Posix => {
                    let end = self.s[at + 1..]
                        .find('`')
                        .map(|e| at + 1 + e + 1)
                        .unwrap_or(self.s.len());
                    self.i = end;
                    self.part(Part::Opaque {
                        raw: at..end,
                        why: "a command substitution is computed when the script runs",
                    });
                }
                c => {
                    self.i += c.len_utf8();
                    self.lit(c, at);
                }
            }
        }
    }

    fn dollar(&mut self) {
        let at = self.i;
        self.word();
        let rest = &self.s[at + 1..];
        let name_len = |s: &str| {
            s.char_indices()
                .take_while(|(i, c)| {
                    c.is_ascii_alphabetic() || *c == '_' || (*i > 0 && c.is_ascii_digit())
                })
                .count()
        };
        if let Some(inner) = rest.strip_prefix('{') {
            let close = inner.find('}').map(|e| at + 2 + e);
            let Some(close) = close else {
                self.i = self.s.len();
                self.part(Part::Opaque {
                    raw: at..self.s.len(),
                    why: "the `${` is not closed",
                });
                return;
            };
            let body = &self.s[at + 2..close];
            self.i = close + 1;
            if !body.is_empty() && name_len(body) == body.len() {
                self.part(Part::Var {
                    name: body.to_string(),
                    raw: at..close + 1,
                });
            } else {
                self.part(Part::Opaque {
                    raw: at..close + 1,
                    why: "a parameter expansion with an operator is computed when the script runs",
                });
            }
        } else if rest.starts_with('(') {
            let end = matching_paren(self.s, at + 1).unwrap_or(self.s.len());
            self.i = end;
            self.part(Part::Opaque {
                raw: at..end,
                why: "a command substitution is computed when the script runs",
            });
        } else {
            let n = name_len(rest);
            if n > 0 {
                self.i = at + 1 + n;
                self.part(Part::Var {
                    name: rest[..n].to_string(),
                    raw: at..at + 1 + n,
                });
            } else if let Some(c) = rest
                .chars()
                .next()
                .filter(|c| "0123456789@*#?$!-".contains(*c))
            {
                self.i = at + 1 + c.len_utf8();
                self.part(Part::Opaque {
                    raw: at..self.i,
                    why: "a special shell parameter is known only when the script runs",
                });
            } else {
                self.i = at + 1;
                self.lit('$', at);
            }
        }
    }
}

fn find_expression_end(s: &str, from: usize) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut in_quote = false;
    let mut i = from;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => in_quote = !in_quote,
            b'}' if !in_quote && bytes.get(i + 1) == Some(&b'}') => return Some(i),
            b'\n' if !in_quote => {}
            _ => {}
        }
        i += 1;
    }
    None
}

/// The index just after the `)` matching the `(` at `open`.
fn matching_paren(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(script: &str) -> Vec<Vec<String>> {
        parse(script, Dialect::Posix)
            .into_iter()
            .map(|c| {
                c.words
                    .iter()
                    .map(|w| {
                        w.parts
                            .iter()
                            .map(|p| match p {
                                Part::Lit { text, .. } => text.clone(),
                                Part::Var { name, .. } => format!("<var {name}>"),
                                Part::Expr { inner, .. } => format!("<expr {}>", inner.trim()),
                                Part::Opaque { raw, .. } => {
                                    format!("<opaque {}>", &script[raw.clone()])
                                }
                            })
                            .collect::<String>()
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn continuations_quotes_and_separators() {
        let script = "docker buildx build \\\n  --tag \"$REG/app:${{ github.sha }}\" \\\n  --push . && echo 'done ${{ x }}' # note\naz acr build -r r$(date) x`y`z\n";
        assert_eq!(
            words(script),
            vec![
                vec![
                    "docker".to_string(),
                    "buildx".into(),
                    "build".into(),
                    "--tag".into(),
                    "<var REG>/app:<expr github.sha>".into(),
                    "--push".into(),
                    ".".into()
                ],
                vec!["echo".into(), "done <expr x>".into()],
                vec![
                    "az".into(),
                    "acr".into(),
                    "build".into(),
                    "-r".into(),
                    "r<opaque $(date)>".into(),
                    "x<opaque `y`>z".into()
                ],
            ]
        );
    }

    #[test]
    fn a_word_s_source_keeps_its_quotes_from_any_cut_on() {
        let script = r#"az login -u "$ID" --username="${{ vars.ID }}" -u'x y' --tenant=t"#;
        let cmds = parse(script, Dialect::Posix);
        let w = &cmds[0].words;
        assert_eq!(w[3].source(script, 0), r#""$ID""#);
        assert_eq!(w[4].source(script, 0), r#"--username="${{ vars.ID }}""#);
        assert_eq!(
            w[4].source(script, "--username=".len()),
            r#""${{ vars.ID }}""#
        );
        assert_eq!(w[5].source(script, 2), "'x y'");
        assert_eq!(w[6].source(script, "--tenant=".len()), "t");
    }

    #[test]
    fn offsets_point_into_the_script() {
        let script = "docker push  'my reg/a'\\\nb";
        let cmds = parse(script, Dialect::Posix);
        let w = &cmds[0].words[2];
        assert_eq!(w.literal().as_deref(), Some("my reg/ab"));
        match &w.parts[0] {
            Part::Lit { offsets, .. } => {
                assert_eq!(offsets[0], script.find("my").unwrap());
                assert_eq!(*offsets.last().unwrap(), script.len() - 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn powershell_uses_the_backtick() {
        let cmds = parse("docker build `\n  -t x:1 .", Dialect::PowerShell);
        assert_eq!(cmds.len(), 1);
        assert_eq!(cmds[0].words.len(), 5);
    }

    #[test]
    fn a_quoted_sh_c_string_is_read_with_the_outer_offsets() {
        let script = "set -e\nsh -c 'docker run -v $HOME/.docker:/x img --d a' \"$0\"\n";
        let outer = parse(script, Dialect::Posix);
        let word = &outer[1].words[2];
        let inner = inner_commands(script, word).unwrap();
        assert_eq!(inner.len(), 1);
        let words = &inner[0].words;
        assert_eq!(words[0].literal().as_deref(), Some("docker"));
        assert_eq!(&script[words[3].raw.clone()], "$HOME/.docker:/x");
        assert!(matches!(&words[3].parts[0], Part::Var { name, .. } if name == "HOME"));
        // Double quotes: only without escapes, backticks or command substitutions.
        for (s, ok) in [
            ("bash -c \"docker run $IMG\"", true),
            ("bash -c \"docker run $(img)\"", false),
            ("bash -c \"docker run \\$IMG\"", false),
            ("bash -c docker", false),
        ] {
            let words = &parse(s, Dialect::Posix)[0].words;
            assert_eq!(inner_commands(s, &words[2]).is_some(), ok, "{s}");
        }
    }
}
