//! A build context's `.dockerignore`: which paths of the context a build is not sent
//! (P43).
//!
//! The rules are Docker's (Dockerfile reference, ".dockerignore file"): one pattern a
//! line; a line with `#` in column 1 is a comment; surrounding whitespace is dropped; a
//! pattern is cleaned like Go's `filepath.Clean` (so `./a//b/` is `a/b`) and a leading
//! `/` is dropped, as patterns are relative to the context root. The syntax is Go's
//! `filepath.Match` (`*` and `?` never cross `/`, `[…]` classes, `\` escapes) plus `**`,
//! any number of folders (none included). A pattern that matches a folder excludes
//! everything below it. `!` starts an exception, which includes again what it matches;
//! the last rule that matches a path decides. The text is outside data: nothing here
//! panics, and a rule costs pattern × path length steps to match.

/// One rule of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The cleaned pattern, without `!`.
    pub pattern: String,
    /// An exception (`!pattern`): it includes what it matches.
    pub exception: bool,
    /// The line as written, and its 1-based number.
    pub written: String,
    pub line: usize,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `?`: one character but `/`.
    One,
    /// `*`: any characters but `/`.
    Star,
    /// `**` before more pattern: nothing, or anything ending with `/`.
    Folders,
    /// `**` at the end: anything.
    Rest,
    /// `[…]`: ranges, negated with `^`.
    Class(Vec<(char, char)>, bool),
}

/// The rules of a `.dockerignore` text, in order.
pub fn parse(text: &str) -> Vec<Rule> {
    let mut rules = Vec::new();
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, raw) in text.lines().enumerate() {
        // A comment is a `#` in column 1; ` # x` is a pattern.
        let line = raw.trim();
        if line.is_empty() || raw.starts_with('#') {
            continue;
        }
        let (exception, body) = match line.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, line),
        };
        if body.is_empty() {
            continue;
        }
        let pattern = clean(body);
        rules.push(Rule {
            tokens: compile(&pattern),
            pattern,
            exception,
            written: line.to_string(),
            line: index + 1,
        });
    }
    rules
}

/// The rule that excludes `path` (relative to the context root), if the last rule that
/// matches it, or one of its parent folders, is not an exception.
pub fn excluded_by<'r>(rules: &'r [Rule], path: &str) -> Option<&'r Rule> {
    let path: Vec<char> = clean(path).chars().collect();
    let mut decided: Option<&Rule> = None;
    for rule in rules {
        if rule.matches_or_parent(&path) {
            decided = Some(rule);
        }
    }
    decided.filter(|r| !r.exception)
}

impl Rule {
    /// The rule matches `path` itself or a folder above it.
    fn matches_or_parent(&self, path: &[char]) -> bool {
        let ends = prefix_matches(&self.tokens, path);
        ends[path.len()] || path.iter().enumerate().any(|(i, c)| *c == '/' && ends[i])
    }
}

/// Like Go's `filepath.Clean` on a relative path, with a leading `/` dropped: no empty,
/// `.` or trailing parts, `..` folded where it can be; `.` when nothing is left.
pub fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    }
}

fn compile(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                tokens.push(if i >= chars.len() {
                    Token::Rest
                } else {
                    Token::Folders
                });
                continue;
            }
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::One),
            '\\' if i + 1 < chars.len() => {
                i += 1;
                tokens.push(Token::Char(chars[i]));
            }
            '[' => {
                if let Some((class, next)) = class(&chars, i + 1) {
                    tokens.push(class);
                    i = next;
                    continue;
                }
                tokens.push(Token::Char('['));
            }
            c => tokens.push(Token::Char(c)),
        }
        i += 1;
    }
    tokens
}

/// A `[…]` class starting after `[` at `start`: the token and the index after `]`.
fn class(chars: &[char], start: usize) -> Option<(Token, usize)> {
    let mut i = start;
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let mut c = *chars.get(i)?;
        if c == ']' && !first {
            return Some((Token::Class(ranges, negated), i + 1));
        }
        first = false;
        if c == '\\' {
            i += 1;
            c = *chars.get(i)?;
        }
        let mut hi = c;
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|n| *n != ']') {
            i += 2;
            hi = *chars.get(i)?;
            if hi == '\\' {
                i += 1;
                hi = *chars.get(i)?;
            }
        }
        ranges.push((c, hi));
        i += 1;
    }
}

/// Which prefixes of `chars` the tokens match whole: `ends[c]` is true when they match
/// `chars[..c]`. One pass per token over the characters, keeping one row, so a match
/// costs tokens × characters steps and characters of memory, and the path and all its
/// parent folders are decided together.
fn prefix_matches(tokens: &[Token], chars: &[char]) -> Vec<bool> {
    let n = chars.len();
    let mut row = vec![false; n + 1];
    row[0] = true;
    for token in tokens {
        let mut next = vec![false; n + 1];
        let mut seen = false;
        for c in 0..=n {
            seen |= row[c];
            let here = chars.get(c).copied();
            match token {
                Token::Star => {
                    next[c] |= row[c];
                    if next[c] && here.is_some_and(|h| h != '/') {
                        next[c + 1] = true;
                    }
                }
                Token::Rest => next[c] = seen,
                Token::Folders => {
                    next[c] |= row[c];
                    if seen && here == Some('/') {
                        next[c + 1] = true;
                    }
                }
                step => {
                    let ok = match (step, here) {
                        (Token::Char(want), Some(h)) => h == *want,
                        (Token::One, Some(h)) => h != '/',
                        (Token::Class(ranges, negated), Some(h)) => {
                            h != '/'
                                && ranges.iter().any(|(lo, hi)| *lo <= h && h <= *hi) != *negated
                        }
                        _ => false,
                    };
                    if row[c] && ok {
                        next[c + 1] = true;
                    }
                }
            }
        }
        row = next;
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excluded(text: &str, path: &str) -> Option<usize> {
        excluded_by(&parse(text), path).map(|r| r.line)
    }

    #[test]
    fn star_does_not_cross_a_slash() {
        assert_eq!(excluded("*.md", "README.md"), Some(1));
        assert_eq!(excluded("*.md", "docs/README.md"), None);
        assert_eq!(excluded("*/*.md", "docs/README.md"), Some(1));
        assert_eq!(excluded("a?c", "a/c"), None);
        assert_eq!(excluded("a?c", "abc"), Some(1));
    }

    #[test]
    fn double_star_crosses_any_number_of_folders() {
        assert_eq!(excluded("**/*.md", "README.md"), Some(1));
        assert_eq!(excluded("**/*.md", "a/b/c.md"), Some(1));
        assert_eq!(excluded("a/**/z", "a/z"), Some(1));
        assert_eq!(excluded("a/**/z", "a/b/c/z"), Some(1));
        assert_eq!(excluded("a/**", "a/b/c"), Some(1));
        // What is below `a`, not `a` itself: the folder is sent, empty.
        assert_eq!(excluded("a/**", "a"), None);
        assert_eq!(excluded("a/**/z", "b/z"), None);
    }

    #[test]
    fn a_folder_pattern_excludes_what_is_below_it_and_slashes_are_trimmed() {
        for pattern in ["build", "build/", "/build", "./build//"] {
            assert_eq!(excluded(pattern, "build/out/app.bin"), Some(1), "{pattern}");
            assert_eq!(excluded(pattern, "build"), Some(1), "{pattern}");
            assert_eq!(excluded(pattern, "src/build"), None, "{pattern}");
        }
        assert_eq!(excluded("build", "./build/x/"), Some(1));
    }

    #[test]
    fn the_last_matching_rule_wins_and_exceptions_include_again() {
        let text = "# comment\n*.txt\n!keep.txt\n";
        assert_eq!(excluded(text, "drop.txt"), Some(2));
        assert_eq!(excluded(text, "keep.txt"), None);
        let text = "!keep.txt\n*.txt\n";
        assert_eq!(excluded(text, "keep.txt"), Some(2));
        let text = "app\n!app/main.py\n";
        assert_eq!(excluded(text, "app/main.py"), None);
        assert_eq!(excluded(text, "app/other.py"), Some(1));
        assert_eq!(excluded("#keep.txt\n", "#keep.txt"), None);
        assert_eq!(excluded(" #keep.txt\r\n", "#keep.txt"), Some(1));
        assert_eq!(excluded("\u{feff}*.txt\n", "a.txt"), Some(1));
    }

    #[test]
    fn classes_and_escapes() {
        assert_eq!(excluded("file[0-9].log", "file7.log"), Some(1));
        // Go's syntax negates with `^` only: `!` is one more character of the class.
        assert_eq!(excluded("file[!0-9].log", "filex.log"), None);
        assert_eq!(excluded("file[!0-9].log", "file!.log"), Some(1));
        assert_eq!(excluded("file[^0-9].log", "filex.log"), Some(1));
        assert_eq!(excluded("\\*.md", "*.md"), Some(1));
        assert_eq!(excluded("\\*.md", "a.md"), None);
        // An unclosed class is a literal `[`, and never panics.
        assert_eq!(excluded("a[b", "a[b"), Some(1));
        assert_eq!(excluded("[", "x"), None);
        assert_eq!(excluded("\\", "x"), None);
    }

    #[test]
    fn clean_follows_go() {
        assert_eq!(clean("./a//b/../c/"), "a/c");
        assert_eq!(clean("/"), ".");
        assert_eq!(clean("../x"), "../x");
    }
}
