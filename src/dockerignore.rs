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

/// The rules of an ignore file as the Azure CLI reads them when `az acr build` packs a
/// local folder (azure-cli `acr/_archive_utils.py`, `IgnoreRule` and
/// `_load_dockerignore_file`:
/// https://github.com/Azure/azure-cli/blob/dev/src/azure-cli/azure/cli/command_modules/acr/_archive_utils.py),
/// which differ from Docker's: a line loses trailing whitespace only; a line starting
/// with `#` is a comment; only an exception (`!`) loses a leading `/` and trailing
/// `/`s, so `node_modules/` or `/build` match nothing; the pattern is split at `/`, a
/// `**` part with the `/` after it matches anything (`.*`, slashes included, so
/// `a/**/z` also matches `a/xz`), `*` and `?` do not cross `/`, `[…]` is a class; the whole path must match.
/// `overriding`: the file is a `<Dockerfile>.dockerignore`, to which the CLI adds the
/// rule `.dockerignore` first (lowest priority). Returned highest priority first (the
/// last line first), as the CLI checks them. Lines with other regular-expression
/// characters (`\ + ( ) | { } ^ $`), which the CLI hands to Python's `re` as they are,
/// are returned apart by line number: their meaning is not mirrored here.
pub fn parse_azure_cli(text: &str, overriding: bool) -> (Vec<Rule>, Vec<usize>) {
    let mut rules = Vec::new();
    let mut opaque = Vec::new();
    if overriding {
        rules.push(azure_cli_rule(".dockerignore", 0));
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.contains(['\\', '+', '(', ')', '|', '{', '}', '^', '$']) {
            opaque.push(index + 1);
            continue;
        }
        rules.push(azure_cli_rule(line, index + 1));
    }
    rules.reverse();
    (rules, opaque)
}

fn azure_cli_rule(line: &str, number: usize) -> Rule {
    let (exception, mut body) = match line.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, line),
    };
    if exception {
        body = body.strip_prefix('/').unwrap_or(body);
        body = body.trim_end_matches('/');
    }
    let mut tokens = Vec::new();
    let parts: Vec<&str> = body.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        if *part == "**" {
            tokens.push(Token::Rest);
        } else {
            // `**` inside a part is two stars for the CLI: `[^/]*[^/]*`.
            tokens.extend(
                compile(&part.replace('\\', ""))
                    .into_iter()
                    .map(|t| match t {
                        Token::Rest | Token::Folders => Token::Star,
                        other => other,
                    }),
            );
            if i + 1 < parts.len() {
                tokens.push(Token::Char('/'));
            }
        }
    }
    Rule {
        pattern: body.to_string(),
        exception,
        written: line.to_string(),
        line: number,
        tokens,
    }
}

/// Where the Azure CLI's walk stands for one entry: whether it is left out, and the
/// index (into the rules, highest priority first) of the rule that decided it, or of
/// the one its folder inherited; the rules from that index on are not checked again
/// below it. The context root starts as [`AzureCliState::root`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AzureCliState {
    pub ignored: bool,
    pub limit: usize,
    /// Left out as a version-control name at the top of the context.
    pub vcs: bool,
}

/// The names the Azure CLI always leaves out at the top of the context.
pub const AZURE_CLI_VCS: &[&str] = &[
    ".git",
    ".gitignore",
    ".bzr",
    "bzrignore",
    ".hg",
    ".hgignore",
    ".svn",
];

impl AzureCliState {
    pub fn root(rules: &[Rule]) -> AzureCliState {
        AzureCliState {
            ignored: false,
            limit: rules.len(),
            vcs: false,
        }
    }

    /// The state of `path` (relative to the context root) below a folder in `self`.
    pub fn child(self, rules: &[Rule], path: &str) -> AzureCliState {
        if AZURE_CLI_VCS.contains(&path) {
            return AzureCliState {
                ignored: true,
                vcs: true,
                ..self
            };
        }
        let chars: Vec<char> = path.chars().collect();
        for (index, rule) in rules.iter().enumerate().take(self.limit) {
            if prefix_matches(&rule.tokens, &chars)[chars.len()] {
                return AzureCliState {
                    ignored: !rule.exception,
                    limit: index,
                    vcs: false,
                };
            }
        }
        self
    }

    /// Whether anything below a folder in this state can still be packed: it is not
    /// left out, or a rule of higher priority than the one that left it out is an
    /// exception.
    pub fn may_include_below(self, rules: &[Rule]) -> bool {
        !self.ignored || rules.iter().take(self.limit).any(|r| r.exception)
    }
}

/// How the Azure CLI decides `path` (relative to the context root): the state after
/// walking down to it, and the rule that decided it (None: inherited from no rule, or
/// a version-control name).
pub fn azure_cli_decide<'r>(rules: &'r [Rule], path: &str) -> (AzureCliState, Option<&'r Rule>) {
    let path = clean(path);
    let mut state = AzureCliState::root(rules);
    let mut at = 0;
    loop {
        let end = path[at..].find('/').map_or(path.len(), |i| at + i);
        state = state.child(rules, &path[..end]);
        if end >= path.len() {
            break;
        }
        at = end + 1;
    }
    let by = (!state.vcs).then(|| rules.get(state.limit)).flatten();
    (state, by)
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
    fn the_azure_cli_reads_rules_its_own_way() {
        let decide = |text: &str, path: &str| {
            let (rules, _) = parse_azure_cli(text, false);
            let (state, by) = azure_cli_decide(&rules, path);
            (state.ignored, by.map(|r| r.line))
        };
        // A folder pattern with a trailing or leading slash matches nothing.
        assert_eq!(
            decide("node_modules/\n", "node_modules/a/b.js"),
            (false, None)
        );
        assert_eq!(decide("/build\n", "build/x"), (false, None));
        assert_eq!(
            decide("node_modules\n", "node_modules/a/b.js"),
            (true, Some(1))
        );
        // `**/` is `.*`: a top-level file matches, and so does `a/xz` for `a/**/z`.
        assert_eq!(decide("**/*.md\n", "README.md"), (true, Some(1)));
        assert_eq!(decide("a/**/z\n", "a/xz"), (true, Some(1)));
        assert_eq!(decide("**/*.md\n", "docs/a.md"), (true, Some(1)));
        // The last rule wins; an exception includes again below an excluded folder.
        assert_eq!(
            decide("app\n!/app/main.py/\n", "app/main.py"),
            (false, Some(2))
        );
        assert_eq!(
            decide("app\n!/app/main.py\n", "app/other.py"),
            (true, Some(1))
        );
        // VCS names at the top only.
        assert_eq!(decide("", ".git/config"), (true, None));
        assert_eq!(decide("", "sub/.git"), (false, None));
        // Leading whitespace is part of the pattern.
        assert_eq!(decide(" x\n", "x"), (false, None));
        let (rules, opaque) = parse_azure_cli("a+b\n\\*.md\nok\n", true);
        assert_eq!(opaque, [1, 2]);
        assert_eq!(rules.len(), 2);
        assert!(azure_cli_decide(&rules, ".dockerignore").0.ignored);
        let (state, _) = azure_cli_decide(&parse_azure_cli("app\n", false).0, "app");
        assert!(!state.may_include_below(&parse_azure_cli("app\n", false).0));
    }

    #[test]
    fn clean_follows_go() {
        assert_eq!(clean("./a//b/../c/"), "a/c");
        assert_eq!(clean("/"), ".");
        assert_eq!(clean("../x"), "../x");
    }
}
