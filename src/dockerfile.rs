//! The base images of a Dockerfile: every `FROM` image after `ARG` substitution, with the
//! line and column where it is written, so a finding about a base image lands on the
//! Dockerfile line (P38).
//!
//! Only what decides the `FROM` images is understood: parser directives (`# escape=`),
//! line continuations, comments, case-insensitive instructions, global `ARG`s before the
//! first `FROM` (their defaults overridden by the build's build-args), `${VAR}`, `$VAR`,
//! `${VAR:-word}`, `${VAR:+word}`, `FROM [--flag=…] image [AS name]`. Heredoc bodies are
//! skipped so a body line starting with `FROM` is not taken for an instruction. The text
//! is outside data: nothing here panics, whatever it holds.

/// One `FROM` image that names a registry image (not `scratch`, not an earlier stage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    /// The image after substitution, as the build will pull it.
    pub image: String,
    /// As written in the Dockerfile, before substitution.
    pub written: String,
    /// 1-based line and column of the image token.
    pub line: usize,
    pub column: usize,
    /// A variable in the image had no value (no default, no build-arg): the image the
    /// build pulls is not known here, so it should not be checked as a reference.
    pub unresolved: bool,
    /// The `--platform=` flag of the `FROM`, as written (`linux/amd64`,
    /// `$BUILDPLATFORM`); `None` without one (the build's target platform).
    pub platform: Option<String>,
}

/// A character of a logical line and where it was written.
#[derive(Clone, Copy)]
struct Placed {
    ch: char,
    line: usize,
    column: usize,
}

/// The `FROM` images of `text`, in order. `build_args` are the build's `--build-arg`s /
/// `build-args:` (`NAME=value`); they override defaults of global `ARG`s only, as the
/// builder does: an argument not declared before the first `FROM` is empty there.
pub fn base_images(text: &str, build_args: &[(String, String)]) -> Vec<BaseImage> {
    let escape = escape_directive(text).unwrap_or('\\');
    let mut globals: Vec<(String, Option<String>)> = Vec::new();
    let mut stages: Vec<String> = Vec::new();
    let mut images = Vec::new();
    let mut seen_from = false;
    for logical in logical_lines(text, escape) {
        let words = split_words(&logical);
        let Some(first) = words.first() else { continue };
        let instruction: String = first.iter().map(|p| p.ch).collect::<String>();
        if instruction.eq_ignore_ascii_case("arg") && !seen_from {
            declare_args(&words[1..], build_args, &mut globals);
        } else if instruction.eq_ignore_ascii_case("from") {
            seen_from = true;
            if let Some(base) = from_image(&words[1..], &globals, &mut stages, escape) {
                images.push(base);
            }
        }
    }
    images
}

/// The images `COPY --from=<image>` copies from (P40): an image reference, not the
/// name or index of a stage of the same file. A value holding a variable is left out
/// (BuildKit expands it with the stage's own `ARG`s, which are not followed here).
/// Each comes back as a [`BaseImage`] at the value's place.
pub fn copy_from_images(text: &str) -> Vec<BaseImage> {
    let escape = escape_directive(text).unwrap_or('\\');
    let lines: Vec<Vec<Vec<Placed>>> = logical_lines(text, escape)
        .iter()
        .map(|l| split_words(l))
        .collect();
    let is = |words: &[Vec<Placed>], name: &str| {
        words
            .first()
            .is_some_and(|w| word_text(w).eq_ignore_ascii_case(name))
    };
    // Every stage name of the file, wherever it is declared.
    let stages: Vec<String> = lines
        .iter()
        .filter(|w| is(w, "from"))
        .filter_map(|words| {
            let rest: Vec<String> = words[1..]
                .iter()
                .map(|w| word_text(w))
                .skip_while(|w| w.starts_with("--"))
                .collect();
            match rest.as_slice() {
                [_, kw, name, ..] if kw.eq_ignore_ascii_case("as") => {
                    Some(name.to_ascii_lowercase())
                }
                _ => None,
            }
        })
        .collect();
    let mut out = Vec::new();
    for words in lines.iter().filter(|w| is(w, "copy")) {
        for word in words[1..]
            .iter()
            .take_while(|w| word_text(w).starts_with("--"))
        {
            let flag: String = word_text(word);
            let Some(value) = flag
                .get(..7)
                .filter(|f| f.eq_ignore_ascii_case("--from="))
                .and_then(|_| flag.get(7..))
                .map(|v| v.trim_matches('"').to_string())
            else {
                continue;
            };
            let lowered = value.to_ascii_lowercase();
            if value.is_empty()
                || value.contains('$')
                || stages.contains(&lowered)
                || value.chars().all(|c| c.is_ascii_digit())
            {
                continue;
            }
            let Some(at) = word.get(7) else { continue };
            out.push(BaseImage {
                image: value.clone(),
                written: value,
                line: at.line,
                column: at.column,
                unresolved: false,
                platform: None,
            });
        }
    }
    out
}

/// A literal local source of a `COPY` or `ADD`: a path in the build context the
/// instruction reads, with the place it is written (P43).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySource {
    /// As written (`src/app.py`, `./config/`).
    pub path: String,
    /// `COPY` or `ADD`, as written.
    pub instruction: String,
    /// 1-based line and column of the source.
    pub line: usize,
    pub column: usize,
}

/// The literal context sources of every `COPY`/`ADD` of `text`, in order. Left out, as
/// their files are not known here or do not come from the context: copies from a stage
/// or an image (`--from=`), URLs and Git sources of `ADD`, heredocs, sources holding a
/// variable (`$`) or a wildcard (`*`, `?`, `[`). Exec form (`["src", "dest"]`) is read
/// as JSON; an instruction that is not valid JSON there gives nothing.
pub fn copy_sources(text: &str) -> Vec<CopySource> {
    let escape = escape_directive(text).unwrap_or('\\');
    let mut out = Vec::new();
    for logical in logical_lines(text, escape) {
        let words = split_words(&logical);
        let Some(first) = words.first() else { continue };
        let instruction = word_text(first);
        if !["copy", "add"]
            .iter()
            .any(|i| instruction.eq_ignore_ascii_case(i))
        {
            continue;
        }
        let rest = &words[1..];
        if rest.iter().any(|w| {
            let t = word_text(w);
            t.to_ascii_lowercase().starts_with("--from")
        }) {
            continue;
        }
        let operands: Vec<&Vec<Placed>> = rest
            .iter()
            .filter(|w| !word_text(w).starts_with("--"))
            .collect();
        let Some(start) = operands.first().and_then(|w| w.first()) else {
            continue;
        };
        let placed: Vec<(String, usize, usize)> = if start.ch == '[' {
            let from = logical
                .iter()
                .position(|p| p.line == start.line && p.column == start.column)
                .unwrap_or(0);
            let json: String = logical[from..].iter().map(|p| p.ch).collect();
            match serde_json::from_str::<Vec<String>>(json.trim()) {
                Ok(list) => list
                    .into_iter()
                    .map(|s| (s, start.line, start.column))
                    .collect(),
                Err(_) => continue,
            }
        } else {
            operands
                .iter()
                .filter_map(|w| w.first().map(|p| (word_text(w), p.line, p.column)))
                .collect()
        };
        let Some((_, sources)) = placed.split_last() else {
            continue;
        };
        for (path, line, column) in sources {
            let literal = !path.is_empty()
                && !path.starts_with("<<")
                && !path.contains("://")
                && !path.starts_with("git@")
                && !path.contains(['$', '*', '?', '[']);
            if literal {
                out.push(CopySource {
                    path: path.clone(),
                    instruction: instruction.clone(),
                    line: *line,
                    column: *column,
                });
            }
        }
    }
    out
}

/// The escape character of a leading `# escape=` directive, if valid (`\` or `` ` ``).
fn escape_directive(text: &str) -> Option<char> {
    for line in text.lines() {
        let trimmed = line.trim();
        let comment = trimmed.strip_prefix('#')?;
        let (key, value) = comment.split_once('=')?;
        let key = key.trim();
        if !key.chars().all(|c| c.is_ascii_alphanumeric()) || key.is_empty() {
            return None;
        }
        if key.eq_ignore_ascii_case("escape") {
            return match value.trim() {
                "`" => Some('`'),
                "\\" => Some('\\'),
                _ => None,
            };
        }
    }
    None
}

/// Joins continued lines, drops comment lines (also inside a continuation) and heredoc
/// bodies; each character keeps the place it was written.
fn logical_lines(text: &str, escape: char) -> Vec<Vec<Placed>> {
    let mut out = Vec::new();
    let mut current: Vec<Placed> = Vec::new();
    let mut heredoc: Option<(String, bool)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        if let Some((word, strip_tabs)) = &heredoc {
            let candidate = if *strip_tabs {
                raw.trim_start_matches('\t')
            } else {
                raw
            };
            if candidate.trim_end() == word {
                heredoc = None;
            }
            continue;
        }
        let trimmed = raw.trim_start();
        if trimmed.starts_with('#') || (trimmed.is_empty() && !current.is_empty()) {
            continue;
        }
        let body = raw.trim_end();
        let continued = body.ends_with(escape);
        let kept = if continued {
            &body[..body.len() - escape.len_utf8()]
        } else {
            body
        };
        current.extend(kept.chars().enumerate().map(|(col, ch)| Placed {
            ch,
            line: line_no,
            column: col + 1,
        }));
        if !continued {
            heredoc = heredoc_start(&current);
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// The terminator of the first heredoc (`<<EOF`, `<<-EOF`, `<<"EOF"`) opened by a line.
fn heredoc_start(line: &[Placed]) -> Option<(String, bool)> {
    let text: String = line.iter().map(|p| p.ch).collect();
    let start = text.find("<<")?;
    let rest = &text[start + 2..];
    let (strip_tabs, rest) = match rest.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let rest = rest.trim_start_matches(['"', '\'']);
    let word: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if word.is_empty() {
        None
    } else {
        Some((word, strip_tabs))
    }
}

fn split_words(line: &[Placed]) -> Vec<Vec<Placed>> {
    line.split(|p| p.ch.is_whitespace())
        .filter(|w| !w.is_empty())
        .map(<[Placed]>::to_vec)
        .collect()
}

fn word_text(word: &[Placed]) -> String {
    word.iter().map(|p| p.ch).collect()
}

/// `ARG NAME[=default] …` before the first `FROM`; a build-arg overrides the default.
fn declare_args(
    words: &[Vec<Placed>],
    build_args: &[(String, String)],
    globals: &mut Vec<(String, Option<String>)>,
) {
    for word in words {
        let text = word_text(word);
        let (name, default) = match text.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(unquote(v).to_string())),
            None => (text, None),
        };
        let given = build_args
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone());
        let value = given.or(default);
        globals.retain(|(n, _)| *n != name);
        globals.push((name, value));
    }
}

fn unquote(value: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = value
            .strip_prefix(quote)
            .and_then(|v| v.strip_suffix(quote))
        {
            return inner;
        }
    }
    value
}

/// The image of `FROM [--flag…] image [AS name]`, or None for `scratch` and earlier stages.
fn from_image(
    words: &[Vec<Placed>],
    globals: &[(String, Option<String>)],
    stages: &mut Vec<String>,
    escape: char,
) -> Option<BaseImage> {
    let platform = words
        .iter()
        .map(|w| word_text(w))
        .take_while(|w| w.starts_with("--"))
        .find_map(|w| {
            let (flag, value) = w.split_once('=')?;
            flag.eq_ignore_ascii_case("--platform")
                .then(|| value.trim_matches('"').to_string())
        });
    let mut rest = words.iter().skip_while(|w| word_text(w).starts_with("--"));
    let image_word = rest.next()?;
    let written = word_text(image_word);
    let (image, unresolved) = substitute(&written, globals, escape);
    let alias = match (rest.next(), rest.next()) {
        (Some(kw), Some(name)) if word_text(kw).eq_ignore_ascii_case("as") => {
            Some(word_text(name).to_ascii_lowercase())
        }
        _ => None,
    };
    let lowered = image.to_ascii_lowercase();
    let is_stage = stages.contains(&lowered);
    if let Some(alias) = alias {
        stages.push(alias);
    }
    if lowered == "scratch" || is_stage || (image.is_empty() && !unresolved) {
        return None;
    }
    let first = image_word.first()?;
    Some(BaseImage {
        image,
        written,
        line: first.line,
        column: first.column,
        unresolved,
        platform,
    })
}

/// Expands `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR:+word}` from the global ARGs; the
/// flag is set when a variable used without a fallback had no value.
fn substitute(text: &str, globals: &[(String, Option<String>)], escape: char) -> (String, bool) {
    let lookup = |name: &str| -> Option<String> {
        globals
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.clone())
    };
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut unresolved = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == escape && chars.get(i + 1) == Some(&'$') {
            out.push('$');
            i += 2;
            continue;
        }
        if c != '$' {
            out.push(c);
            i += 1;
            continue;
        }
        if chars.get(i + 1) == Some(&'{') {
            let Some(len) = chars[i + 2..].iter().position(|&c| c == '}') else {
                out.extend(&chars[i..]);
                break;
            };
            let inner: String = chars[i + 2..i + 2 + len].iter().collect();
            let (value, missing) = expand_braced(&inner, &lookup);
            out.push_str(&value);
            unresolved |= missing;
            i += len + 3;
        } else {
            let name: String = chars[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .collect();
            if name.is_empty() {
                out.push('$');
                i += 1;
                continue;
            }
            match lookup(&name) {
                Some(v) => out.push_str(&v),
                None => unresolved = true,
            }
            i += 1 + name.chars().count();
        }
    }
    (out, unresolved)
}

fn expand_braced(inner: &str, lookup: &dyn Fn(&str) -> Option<String>) -> (String, bool) {
    if let Some((name, word)) = inner.split_once(":-") {
        let value = lookup(name).filter(|v| !v.is_empty());
        return (value.unwrap_or_else(|| word.to_string()), false);
    }
    if let Some((name, word)) = inner.split_once(":+") {
        let set = lookup(name).is_some_and(|v| !v.is_empty());
        return (if set { word.to_string() } else { String::new() }, false);
    }
    match lookup(inner) {
        Some(v) => (v, false),
        None => (String::new(), true),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_from_names_images_not_stages() {
        let text = "FROM golang:1.22 AS build\nCOPY --from=build /out /a\nCOPY --from=0 /x /b\ncopy --chown=1:1 --FROM=local/tools:ci /bin/t /t\nCOPY --from=$TOOLS /c /c\nCOPY --from=later /d /d\nFROM alpine AS later\nCOPY --from=nginx:1.27 /etc/nginx /n\n";
        let got: Vec<(String, usize, usize)> = super::copy_from_images(text)
            .into_iter()
            .map(|b| (b.image, b.line, b.column))
            .collect();
        assert_eq!(
            got,
            vec![
                ("local/tools:ci".to_string(), 4, 25),
                ("nginx:1.27".to_string(), 8, 13),
            ]
        );
    }

    #[test]
    fn the_platform_flag_of_a_from_is_kept_as_written() {
        let got = base_images(
            "FROM --platform=$BUILDPLATFORM golang:1 AS build\nFROM --PLATFORM=\"linux/arm64\" alpine\nFROM build\nFROM busybox\n",
            &[],
        );
        let flags: Vec<Option<&str>> = got.iter().map(|b| b.platform.as_deref()).collect();
        assert_eq!(flags, [Some("$BUILDPLATFORM"), Some("linux/arm64"), None]);
    }
    use super::*;

    fn images(text: &str) -> Vec<String> {
        base_images(text, &[])
            .into_iter()
            .map(|b| b.image)
            .collect()
    }

    fn args(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn sources(text: &str) -> Vec<(String, usize, usize)> {
        copy_sources(text)
            .into_iter()
            .map(|c| (c.path, c.line, c.column))
            .collect()
    }

    #[test]
    fn copy_sources_are_literal_context_paths_with_their_place() {
        let text = "FROM base AS build\nCOPY --chown=1:1 app.py conf/ /app/\nCOPY --from=build /out /out\nadd https://example.com/x.tgz /x\nCOPY *.json $DIR/a ./\nCOPY [\"req s.txt\", \"/r\"]\nCOPY <<EOF /f\nCOPY nothing /here\nEOF\nADD \\\n  data.tar /d\nCOPY only\n";
        assert_eq!(
            sources(text),
            vec![
                ("app.py".to_string(), 2, 18),
                ("conf/".to_string(), 2, 25),
                ("req s.txt".to_string(), 6, 6),
                ("data.tar".to_string(), 11, 3),
            ]
        );
    }

    #[test]
    fn plain_from_with_place() {
        let got = base_images(
            "# syntax\n\nFROM  myacr.azurecr.io/base:1.0 AS build\n",
            &[],
        );
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].image, "myacr.azurecr.io/base:1.0");
        assert_eq!((got[0].line, got[0].column), (3, 7));
        assert!(!got[0].unresolved);
    }

    #[test]
    fn image_lists() {
        let cases: [(&str, &[&str]); 4] = [
            // Instructions are case-insensitive; flags are skipped.
            (
                "from --platform=$BUILDPLATFORM golang:1.22 as Build\nFrOm alpine\n",
                &["golang:1.22", "alpine"],
            ),
            // scratch and earlier stage names are no images.
            (
                "FROM golang AS Build\nFROM build\nFROM SCRATCH\nFROM later\n",
                &["golang", "later"],
            ),
            (
                "ARG A\nARG B=set\nFROM ${A:-alpine}:${B:+3.20}\n",
                &["alpine:3.20"],
            ),
            // A heredoc body line starting with FROM is not an instruction.
            (
                "FROM alpine\nRUN <<EOF\nFROM nope\nEOF\nCOPY <<-'X' /f\n\tFROM nope2\n\tX\nFROM busybox\n",
                &["alpine", "busybox"],
            ),
        ];
        for (text, want) in cases {
            assert_eq!(images(text), want, "{text}");
        }
    }

    #[test]
    fn global_args_defaults_and_build_args() {
        let text = "ARG REG=myacr.azurecr.io\nARG TAG=\"1.0\"\nFROM $REG/app:${TAG}\nARG LATE=x\nFROM ${LATE}y\n";
        let got = base_images(text, &args(&[("TAG", "2.0"), ("LATE", "z")]));
        assert_eq!(got[0].image, "myacr.azurecr.io/app:2.0");
        assert_eq!(got[0].written, "$REG/app:${TAG}");
        // LATE is declared after the first FROM: FROM cannot see it.
        assert_eq!(got[1].image, "y");
        assert!(got[1].unresolved);
    }

    #[test]
    fn undeclared_build_arg_is_not_visible() {
        let got = base_images("FROM ${IMG}\n", &args(&[("IMG", "alpine")]));
        assert_eq!(got[0].image, "");
        assert!(got[0].unresolved);
    }

    #[test]
    fn continuation_and_comments_inside() {
        let text = "FROM \\\n# a comment\n   alpine:3 \\\n  AS base\nRUN echo\n";
        let got = base_images(text, &[]);
        assert_eq!(got[0].image, "alpine:3");
        assert_eq!((got[0].line, got[0].column), (3, 4));
    }

    #[test]
    fn escape_directive_backtick() {
        let text = "# escape=`\nFROM `\n  mcr.microsoft.com/windows/servercore:ltsc2022\nRUN dir c:\\\nFROM alpine\n";
        let got = base_images(text, &[]);
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[0].image,
            "mcr.microsoft.com/windows/servercore:ltsc2022"
        );
        assert_eq!(got[0].line, 3);
        assert_eq!(got[1].image, "alpine");
    }

    #[test]
    fn hostile_text_never_panics() {
        for text in [
            "FROM",
            "FROM ${",
            "FROM $",
            "FROM ${A:-",
            "ARG =\nFROM ${=}",
            "\\",
            "FROM é${ü}ß\\",
            "RUN <<\nFROM x",
            "# escape=`\n`",
            "COPY",
            "COPY [",
            "ADD [\"a\"]",
            "COPY [1, 2]",
            "COPY é ß\\",
        ] {
            let _ = base_images(text, &args(&[("", "")]));
            let _ = copy_sources(text);
        }
    }
}
