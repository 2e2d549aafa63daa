//! YAML with positions: a small owned tree over saphyr's `MarkedYaml` in which every
//! scalar knows the 1-based line and column of each of its characters.
//!
//! saphyr gives each node a span (line 1-based, column 0-based, index in characters).
//! A span says where a scalar starts, not where each of its characters is: a `run: |`
//! script spans many lines, a folded or quoted value joins lines. So every scalar is
//! scanned again from the source, in its own style (plain, single- or double-quoted,
//! literal, folded), and the text this produces is compared with the value saphyr
//! parsed. Only when both agree is the per-character map kept; otherwise the scalar
//! keeps its start position alone and reports no column ([`Text::exact`] is false).
//!
//! Aliases are expanded by saphyr (an alias's nodes keep the anchor's positions, which
//! is where the value is written). Merge keys (`<<: *anchor`) are applied here:
//! explicit keys win, then the merged mappings in order.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};
use std::collections::HashMap;
use std::ops::Range;

/// A position in the source: 1-based line and 1-based column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    pub fn new(line: u32, column: u32) -> Pos {
        Pos { line, column }
    }
}

/// A scalar value with the source position of every character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub value: String,
    /// Where the value's first character is written (after any quote, anchor or tag;
    /// for block scalars, the first character of the content).
    pub start: Pos,
    /// One position per character of `value` when the scalar was mapped exactly.
    chars: Vec<Pos>,
}

impl Text {
    /// A text with only a start position (no per-character map).
    pub fn at(value: impl Into<String>, start: Pos) -> Text {
        Text {
            value: value.into(),
            start,
            chars: Vec::new(),
        }
    }

    /// Whether every character's position is known (else only `start` is).
    pub fn exact(&self) -> bool {
        !self.chars.is_empty() || self.value.is_empty()
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The position of the character that starts at byte `offset` of `value` (the
    /// position after the last character for `offset == value.len()`).
    pub fn pos_at(&self, offset: usize) -> Pos {
        if !self.exact() || self.chars.is_empty() {
            return self.start;
        }
        let index = self
            .value
            .get(..offset.min(self.value.len()))
            .map(|s| s.chars().count())
            .unwrap_or(0);
        match self.chars.get(index) {
            Some(p) => *p,
            None => {
                let last = self.chars[self.chars.len() - 1];
                Pos::new(last.line, last.column + 1)
            }
        }
    }

    /// Line and (when the whole range is on that one line and the map is exact) column
    /// of a byte range of `value`: what an annotation needs.
    pub fn locate(&self, range: Range<usize>) -> (u32, Option<u32>) {
        if !self.exact() {
            return (self.start.line, None);
        }
        let start = self.pos_at(range.start);
        let last = match self.value.get(range.start..range.end.min(self.value.len())) {
            Some(part) if !part.is_empty() => {
                let last_char = part
                    .char_indices()
                    .last()
                    .map(|(i, _)| range.start + i)
                    .unwrap_or(range.start);
                self.pos_at(last_char)
            }
            _ => start,
        };
        if start.line == last.line {
            (start.line, Some(start.column))
        } else {
            (start.line, None)
        }
    }

    /// The value's lines (split on `\n`), each with its byte offset in `value` and the
    /// source position where it starts (`None` for an empty line, which has no
    /// character of its own).
    pub fn lines(&self) -> Vec<TextLine<'_>> {
        let mut out = Vec::new();
        let mut offset = 0;
        for line in self.value.split('\n') {
            let pos = (!line.is_empty()).then(|| self.pos_at(offset));
            out.push(TextLine {
                text: line,
                offset,
                pos,
            });
            offset += line.len() + 1;
        }
        if self.value.ends_with('\n') {
            out.pop();
        }
        out
    }
}

/// One line of a [`Text`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextLine<'a> {
    pub text: &'a str,
    /// Byte offset of the line in the text's value.
    pub offset: usize,
    pub pos: Option<Pos>,
}

/// A YAML node with its position (where its content starts).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub kind: Kind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// `~`, `null` or nothing at all.
    Null,
    /// Any other scalar; numbers and booleans keep their source spelling.
    Scalar(Text),
    Seq(Vec<Node>),
    /// Entries in source order; only scalar keys are kept.
    Map(Vec<(Text, Node)>),
}

impl Node {
    /// The value of `key` when this node is a mapping that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key (with its position) and value of `key`.
    pub fn entry(&self, key: &str) -> Option<(&Text, &Node)> {
        match &self.kind {
            Kind::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.value == key)
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&Text> {
        match &self.kind {
            Kind::Scalar(t) => Some(t),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        self.as_text().map(|t| t.value.as_str())
    }

    pub fn as_map(&self) -> Option<&[(Text, Node)]> {
        match &self.kind {
            Kind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            Kind::Seq(s) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, Kind::Null)
    }

    /// A short word for the node's shape, for messages.
    pub fn shape(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Scalar(_) => "a scalar",
            Kind::Seq(_) => "a sequence",
            Kind::Map(_) => "a mapping",
        }
    }
}

/// Why a file is not YAML, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    pub pos: Option<Pos>,
}

/// Parses the first YAML document of `source`. saphyr bounds alias expansion (a
/// "billion laughs" document fails to load instead of exhausting memory).
pub fn parse(source: &str) -> Result<Node, YamlError> {
    let docs = MarkedYaml::load_from_str(source).map_err(|e| {
        let mut error = scan_error(&e);
        // saphyr can place an error at the end of the input on a line after the last
        // one (found by fuzzing); point at the end of the last line instead.
        let last = source.split('\n').count();
        if let Some(pos) = &mut error.pos
            && pos.line as usize > last
        {
            let tail = source.rsplit('\n').next().unwrap_or_default();
            *pos = Pos::new(
                u32::try_from(last).unwrap_or(u32::MAX),
                u32::try_from(tail.chars().count() + 1).unwrap_or(u32::MAX),
            );
        }
        error
    })?;
    let Some(doc) = docs.into_iter().next() else {
        return Err(YamlError {
            message: "the file holds no YAML document".into(),
            pos: None,
        });
    };
    let src = Source::new(source);
    let mut converter = Converter {
        src: &src,
        anchors: HashMap::new(),
    };
    Ok(converter.convert(&doc, 0))
}

fn scan_error(e: &saphyr::ScanError) -> YamlError {
    let m = e.marker();
    YamlError {
        message: e.info().to_string(),
        pos: Some(Pos::new(
            u32::try_from(m.line()).unwrap_or(u32::MAX),
            u32::try_from(m.col() + 1).unwrap_or(u32::MAX),
        )),
    }
}

/// The source as characters, with the index of each line's first character.
struct Source {
    chars: Vec<char>,
    line_starts: Vec<usize>,
}

impl Source {
    fn new(s: &str) -> Source {
        let chars: Vec<char> = s.chars().collect();
        let mut line_starts = vec![0];
        for (i, c) in chars.iter().enumerate() {
            if *c == '\n' {
                line_starts.push(i + 1);
            }
        }
        Source { chars, line_starts }
    }

    fn pos(&self, index: usize) -> Pos {
        let line = match self.line_starts.binary_search(&index) {
            Ok(l) => l,
            Err(l) => l - 1,
        };
        let column = index - self.line_starts[line];
        Pos::new(
            u32::try_from(line + 1).unwrap_or(u32::MAX),
            u32::try_from(column + 1).unwrap_or(u32::MAX),
        )
    }

    fn char(&self, index: usize) -> Option<char> {
        self.chars.get(index).copied()
    }

    /// 0-based line number of a character index.
    fn line_of(&self, index: usize) -> usize {
        match self.line_starts.binary_search(&index) {
            Ok(l) => l,
            Err(l) => l - 1,
        }
    }

    /// The characters of 0-based line `line`, without its line break: `[start, end)`.
    fn line_range(&self, line: usize) -> Option<(usize, usize)> {
        let start = *self.line_starts.get(line)?;
        if start > self.chars.len() {
            return None;
        }
        let end = self
            .line_starts
            .get(line + 1)
            .map(|n| n - 1)
            .unwrap_or(self.chars.len());
        Some((start, end))
    }
}

const MAX_DEPTH: usize = 200;

/// Converts saphyr's tree, remembering anchored nodes so that an alias becomes a copy
/// of the converted anchor (with the anchor's positions: saphyr gives the copy the
/// alias's span, where the value is not written).
struct Converter<'s> {
    src: &'s Source,
    anchors: HashMap<String, Node>,
}

/// A name after `&` or `*`: up to white space or a flow indicator.
fn property_name(src: &Source, mut i: usize) -> String {
    let mut name = String::new();
    while let Some(c) = src.char(i) {
        if c.is_whitespace() || ",[]{}".contains(c) {
            break;
        }
        name.push(c);
        i += 1;
    }
    name
}

/// The anchor defined at `i` (among the node's properties), or the alias written there.
fn properties(src: &Source, mut i: usize) -> (Option<String>, Option<String>) {
    let mut anchor = None;
    loop {
        while matches!(src.char(i), Some(' ' | '\t' | '\n' | '\r')) {
            i += 1;
        }
        match src.char(i) {
            Some('*') => return (anchor, Some(property_name(src, i + 1))),
            Some('&') => {
                let name = property_name(src, i + 1);
                i += 1 + name.chars().count();
                anchor = Some(name);
            }
            Some('!') => {
                while matches!(src.char(i), Some(c) if !c.is_whitespace()) {
                    i += 1;
                }
            }
            _ => return (anchor, None),
        }
    }
}

impl Converter<'_> {
    fn convert(&mut self, node: &MarkedYaml<'_>, depth: usize) -> Node {
        let src = self.src;
        let span_start = node.span.start.index().min(src.chars.len());
        let (anchor, alias) = properties(src, span_start);
        if let Some(name) = alias
            && let Some(found) = self.anchors.get(&name)
        {
            return found.clone();
        }
        let converted = self.convert_data(node, depth);
        if let Some(name) = anchor {
            self.anchors.insert(name, converted.clone());
        }
        converted
    }

    fn convert_data(&mut self, node: &MarkedYaml<'_>, depth: usize) -> Node {
        let src = self.src;
        let pos = src.pos(skip_properties(src, node.span.start.index()));
        if depth > MAX_DEPTH {
            return Node {
                pos,
                kind: Kind::Null,
            };
        }
        let kind = match &node.data {
            YamlData::Value(Scalar::Null) => Kind::Null,
            YamlData::Value(Scalar::String(s)) => {
                let text = scalar_text(src, node, s);
                return Node {
                    pos: text.start,
                    kind: Kind::Scalar(text),
                };
            }
            YamlData::Value(_) | YamlData::Representation(..) => {
                let start = skip_properties(src, node.span.start.index());
                let end = node.span.end.index().max(start).min(src.chars.len());
                let spelled: String = src.chars[start..end].iter().collect();
                let spelled = spelled.trim_end().to_string();
                let chars = (start..start + spelled.chars().count())
                    .map(|i| src.pos(i))
                    .collect();
                Kind::Scalar(Text {
                    value: spelled,
                    start: src.pos(start),
                    chars,
                })
            }
            YamlData::Tagged(_, inner) => return self.convert(inner, depth + 1),
            YamlData::Sequence(items) => Kind::Seq(
                items
                    .iter()
                    .map(|item| self.convert(item, depth + 1))
                    .collect(),
            ),
            YamlData::Mapping(map) => {
                let mut entries: Vec<(Text, Node)> = Vec::new();
                let mut merges: Vec<Node> = Vec::new();
                for (k, v) in map {
                    let key = self.convert(k, depth + 1);
                    let value = self.convert(v, depth + 1);
                    match key.kind {
                        Kind::Scalar(t) if t.value == "<<" => merges.push(value),
                        Kind::Scalar(t) => entries.push((t, value)),
                        // `~:` and complex keys are dropped.
                        _ => {}
                    }
                }
                for merged in merges {
                    let sources: Vec<Node> = match merged.kind {
                        Kind::Map(_) => vec![merged],
                        Kind::Seq(items) => items,
                        _ => Vec::new(),
                    };
                    for source in sources {
                        if let Kind::Map(more) = source.kind {
                            for (k, v) in more {
                                if !entries.iter().any(|(e, _)| e.value == k.value) {
                                    entries.push((k, v));
                                }
                            }
                        }
                    }
                }
                Kind::Map(entries)
            }
            YamlData::Alias(_) | YamlData::BadValue => Kind::Null,
        };
        Node { pos, kind }
    }
}

/// Skips anchors (`&a`), tags (`!t`, `!!str`) and the white space after them.
fn skip_properties(src: &Source, mut i: usize) -> usize {
    loop {
        while matches!(src.char(i), Some(' ' | '\t' | '\n' | '\r')) {
            i += 1;
        }
        match src.char(i) {
            Some('&' | '!') => {
                while matches!(src.char(i), Some(c) if !c.is_whitespace()) {
                    i += 1;
                }
            }
            _ => return i,
        }
    }
}

fn scalar_text(src: &Source, node: &MarkedYaml<'_>, value: &str) -> Text {
    let span_start = node.span.start.index().min(src.chars.len());
    let span_end = node.span.end.index().min(src.chars.len());
    let mapped = map_scalar(src, span_start, span_end, value);
    match mapped {
        Some(indices) if !indices.is_empty() => {
            let chars: Vec<Pos> = indices.iter().map(|i| src.pos(*i)).collect();
            Text {
                value: value.to_string(),
                start: chars[0],
                chars,
            }
        }
        _ => Text::at(value, src.pos(skip_properties(src, span_start))),
    }
}

/// The source index of every character of `value`, or `None` when the scalar could
/// not be re-read to exactly that value.
fn map_scalar(src: &Source, span_start: usize, span_end: usize, value: &str) -> Option<Vec<usize>> {
    if let Some((header_line, header)) = block_header_before(src, span_start) {
        return map_block(src, header_line, &header, Some(span_start), value);
    }
    let start = skip_properties(src, span_start);
    match src.char(start)? {
        '|' | '>' => {
            let header_line = src.line_of(start);
            let (_, end) = src.line_range(header_line)?;
            let text: String = src.chars[start..end].iter().collect();
            let header = parse_header(strip_comment(&text).trim_end())?;
            map_block(src, header_line, &header, None, value)
        }
        '"' => check(map_double(src, start, span_end)?, value),
        '\'' => check(map_single(src, start, span_end)?, value),
        _ => check(map_plain(src, start, span_end)?, value),
    }
}

fn check(mapped: Vec<(char, usize)>, value: &str) -> Option<Vec<usize>> {
    let text: String = mapped.iter().map(|(c, _)| *c).collect();
    (text == value).then(|| mapped.into_iter().map(|(_, i)| i).collect())
}

/// A block scalar header: `|` or `>`, optional indentation digit and chomping.
struct Header {
    folded: bool,
    indent: Option<usize>,
}

fn parse_header(token: &str) -> Option<Header> {
    let mut chars = token.chars();
    let folded = match chars.next()? {
        '|' => false,
        '>' => true,
        _ => return None,
    };
    let rest: String = chars.collect();
    if rest.len() > 2 {
        return None;
    }
    let mut indent = None;
    let mut chomp = false;
    for c in rest.chars() {
        match c {
            '1'..='9' if indent.is_none() => indent = c.to_digit(10).map(|d| d as usize),
            '+' | '-' if !chomp => chomp = true,
            _ => return None,
        }
    }
    Some(Header { folded, indent })
}

/// Cuts a trailing `# comment` (a `#` after white space, outside quotes).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev: Option<char> = None;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' if prev.is_none_or(|p| p.is_whitespace() || "[{,:-".contains(p)) => {
                    quote = Some(c)
                }
                '#' if prev.is_none_or(char::is_whitespace) => return &line[..i],
                _ => {}
            },
        }
        prev = Some(c);
    }
    line
}

/// When a scalar's span starts at the beginning of a line and the previous non-blank
/// line ends with a block header (`key: |`, `- >-`), saphyr has put the span on the
/// content: return that header's line and the header.
fn block_header_before(src: &Source, start: usize) -> Option<(usize, Header)> {
    let line = src.line_of(start);
    let (line_start, _) = src.line_range(line)?;
    if !src.chars[line_start..start].iter().all(|c| *c == ' ') {
        return None;
    }
    let mut l = line;
    while l > 0 {
        l -= 1;
        let (s, e) = src.line_range(l)?;
        let text: String = src.chars[s..e].iter().collect();
        if text.trim().is_empty() {
            continue;
        }
        let body = strip_comment(&text).trim_end();
        let token_start = body.rfind(char::is_whitespace).map(|i| i + 1).unwrap_or(0);
        return parse_header(&body[token_start..]).map(|h| (l, h));
    }
    None
}

/// One line of block scalar content: `[start, end)` characters after the indentation
/// and the index of its line break (or of the end of input).
struct BlockLine {
    start: usize,
    end: usize,
    brk: usize,
}

fn block_lines(src: &Source, header_line: usize, indent: usize) -> Vec<BlockLine> {
    let mut out = Vec::new();
    let mut l = header_line + 1;
    while let Some((s, e)) = src.line_range(l) {
        let line = &src.chars[s..e];
        let spaces = line.iter().take_while(|c| **c == ' ').count();
        let blank = line.iter().all(|c| *c == ' ' || *c == '\t' || *c == '\r');
        if !blank && spaces < indent {
            break;
        }
        let content_start = (s + indent).min(e);
        let content_end = if e > s && src.chars[e - 1] == '\r' {
            e - 1
        } else {
            e
        };
        out.push(BlockLine {
            start: content_start.min(content_end),
            end: content_end,
            brk: e,
        });
        if e >= src.chars.len() {
            break;
        }
        l += 1;
    }
    out
}

fn map_block(
    src: &Source,
    header_line: usize,
    header: &Header,
    content_start: Option<usize>,
    value: &str,
) -> Option<Vec<usize>> {
    // The indentation of the first non-blank content line.
    let mut detected = None;
    let mut l = header_line + 1;
    while let Some((s, e)) = src.line_range(l) {
        let line = &src.chars[s..e];
        if !line.iter().all(|c| c.is_whitespace()) {
            detected = Some(line.iter().take_while(|c| **c == ' ').count());
            break;
        }
        if e >= src.chars.len() {
            break;
        }
        l += 1;
    }
    let detected = detected.unwrap_or(0);
    let candidates: Vec<usize> = match (header.indent, content_start) {
        (Some(_), Some(start)) => {
            let line = src.line_of(start);
            let at = start - src.line_starts[line];
            std::iter::once(at).chain((0..=detected).rev()).collect()
        }
        (Some(_), None) => (0..=detected).rev().collect(),
        (None, _) => vec![detected],
    };
    for indent in candidates {
        let lines = block_lines(src, header_line, indent);
        let mapped = if header.folded {
            fold_block(src, &lines)
        } else {
            literal_block(src, &lines)
        };
        if let Some(found) = chomped(mapped, value) {
            return Some(found);
        }
    }
    None
}

fn literal_block(src: &Source, lines: &[BlockLine]) -> Vec<(char, usize)> {
    let mut out = Vec::new();
    for line in lines {
        for i in line.start..line.end {
            out.push((src.chars[i], i));
        }
        out.push(('\n', line.brk));
    }
    out
}

fn fold_block(src: &Source, lines: &[BlockLine]) -> Vec<(char, usize)> {
    #[derive(PartialEq, Clone, Copy)]
    enum Sort {
        Text,
        Spaced,
    }
    let mut out = Vec::new();
    let mut last: Option<Sort> = None;
    // Line breaks since the last content line: the one ending it, then one per empty line.
    let mut breaks: Vec<usize> = Vec::new();
    for line in lines {
        if line.start >= line.end {
            breaks.push(line.brk);
            continue;
        }
        let sort = if matches!(src.chars[line.start], ' ' | '\t') {
            Sort::Spaced
        } else {
            Sort::Text
        };
        match last {
            None => out.extend(breaks.iter().map(|b| ('\n', *b))),
            Some(prev) if prev == Sort::Text && sort == Sort::Text => {
                if breaks.len() == 1 {
                    out.push((' ', breaks[0]));
                } else {
                    out.extend(breaks[1..].iter().map(|b| ('\n', *b)));
                }
            }
            Some(_) => out.extend(breaks.iter().map(|b| ('\n', *b))),
        }
        breaks.clear();
        for i in line.start..line.end {
            out.push((src.chars[i], i));
        }
        breaks.push(line.brk);
        last = Some(sort);
    }
    out.extend(breaks.iter().map(|b| ('\n', *b)));
    out
}

/// Chomping only removes trailing line breaks: the value is a prefix of the scanned
/// text followed by nothing but line breaks.
fn chomped(mapped: Vec<(char, usize)>, value: &str) -> Option<Vec<usize>> {
    let n = value.chars().count();
    if mapped.len() < n {
        return None;
    }
    let prefix_matches = mapped.iter().map(|(c, _)| *c).take(n).eq(value.chars());
    let rest_breaks = mapped[n..].iter().all(|(c, _)| *c == '\n');
    (prefix_matches && rest_breaks).then(|| mapped[..n].iter().map(|(_, i)| *i).collect())
}

/// A character of a flow scalar: its value, its source index, and whether it came
/// from an escape (escaped white space is never trimmed).
#[derive(Debug, Clone, Copy)]
struct Ch {
    c: char,
    at: usize,
    escaped: bool,
}

/// One source line of a flow scalar.
#[derive(Debug, Default)]
struct FlowLine {
    chars: Vec<Ch>,
    /// Index of the line break that ends the line (or of the scalar's end).
    brk: usize,
    /// The break is escaped (`\` at the end of a double-quoted line): it disappears.
    escaped_break: bool,
}

impl FlowLine {
    fn new(brk: usize) -> FlowLine {
        FlowLine {
            brk,
            ..FlowLine::default()
        }
    }

    fn push(&mut self, c: char, at: usize, escaped: bool) {
        self.chars.push(Ch { c, at, escaped });
    }

    /// Trims unescaped white space at either end.
    fn trim(&mut self, leading: bool, trailing: bool) {
        let ws = |ch: &Ch| !ch.escaped && matches!(ch.c, ' ' | '\t' | '\r');
        if trailing {
            while self.chars.last().is_some_and(ws) {
                self.chars.pop();
            }
        }
        if leading {
            let n = self.chars.iter().take_while(|ch| ws(ch)).count();
            self.chars.drain(..n);
        }
    }
}

/// Joins the lines of a flow scalar as YAML folds them: one line break between two
/// lines becomes a space, `n` empty lines become `n` line breaks, an escaped break
/// disappears.
fn fold_flow(lines: Vec<FlowLine>) -> Vec<(char, usize)> {
    let mut out = Vec::new();
    let count = lines.len();
    let mut pending_empty = 0usize;
    let mut pending_break: Option<(usize, bool)> = None;
    for (i, line) in lines.into_iter().enumerate() {
        let is_empty = line.chars.is_empty() && i != 0 && i + 1 != count;
        if is_empty && !line.escaped_break {
            pending_empty += 1;
            continue;
        }
        if let Some((b, escaped)) = pending_break.take() {
            if escaped {
                // The break is escaped: nothing joins the lines.
            } else if pending_empty == 0 {
                out.push((' ', b));
            } else {
                out.extend(std::iter::repeat_n(('\n', b), pending_empty));
            }
        }
        pending_empty = 0;
        out.extend(line.chars.iter().map(|ch| (ch.c, ch.at)));
        pending_break = Some((line.brk, line.escaped_break));
    }
    out
}

fn map_plain(src: &Source, start: usize, end: usize) -> Option<Vec<(char, usize)>> {
    if end <= start {
        return None;
    }
    let mut lines = vec![FlowLine::new(end)];
    for i in start..end {
        let c = src.chars[i];
        if c == '\n' {
            lines.last_mut()?.brk = i;
            lines.push(FlowLine::new(end));
        } else {
            lines.last_mut()?.push(c, i, false);
        }
    }
    for (i, line) in lines.iter_mut().enumerate() {
        line.trim(i > 0, true);
    }
    Some(fold_flow(lines))
}

fn map_single(src: &Source, start: usize, end: usize) -> Option<Vec<(char, usize)>> {
    // `start` is the opening quote; the closing quote is the span's last character.
    let close = end.checked_sub(1)?;
    if close <= start || src.char(close)? != '\'' {
        return None;
    }
    let mut lines = vec![FlowLine::new(close)];
    let mut i = start + 1;
    while i < close {
        let c = src.chars[i];
        if c == '\n' {
            lines.last_mut()?.brk = i;
            lines.push(FlowLine::new(close));
        } else if c == '\'' && src.char(i + 1) == Some('\'') {
            lines.last_mut()?.push('\'', i, true);
            i += 1;
        } else {
            lines.last_mut()?.push(c, i, false);
        }
        i += 1;
    }
    let n = lines.len();
    for (i, line) in lines.iter_mut().enumerate() {
        line.trim(i > 0, i + 1 < n);
    }
    Some(fold_flow(lines))
}

/// The character a double-quoted escape stands for (`e` follows the backslash), and
/// the escape's length in characters.
fn unescape(src: &Source, i: usize, e: char) -> Option<(char, usize)> {
    Some(match e {
        '0' => ('\0', 2),
        'a' => ('\u{7}', 2),
        'b' => ('\u{8}', 2),
        't' | '\t' => ('\t', 2),
        'n' => ('\n', 2),
        'v' => ('\u{b}', 2),
        'f' => ('\u{c}', 2),
        'r' => ('\r', 2),
        'e' => ('\u{1b}', 2),
        ' ' => (' ', 2),
        '"' => ('"', 2),
        '/' => ('/', 2),
        '\\' => ('\\', 2),
        'N' => ('\u{85}', 2),
        '_' => ('\u{a0}', 2),
        'L' => ('\u{2028}', 2),
        'P' => ('\u{2029}', 2),
        'x' | 'u' | 'U' => {
            let digits = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let hex: String = (0..digits)
                .map(|k| src.char(i + 2 + k))
                .collect::<Option<String>>()?;
            let code = u32::from_str_radix(&hex, 16).ok()?;
            (char::from_u32(code)?, 2 + digits)
        }
        _ => return None,
    })
}

fn map_double(src: &Source, start: usize, end: usize) -> Option<Vec<(char, usize)>> {
    let close = end.checked_sub(1)?;
    if close <= start || src.char(close)? != '"' {
        return None;
    }
    let mut lines = vec![FlowLine::new(close)];
    let mut i = start + 1;
    while i < close {
        let c = src.chars[i];
        if c == '\n' {
            lines.last_mut()?.brk = i;
            lines.push(FlowLine::new(close));
            i += 1;
            continue;
        }
        if c != '\\' {
            lines.last_mut()?.push(c, i, false);
            i += 1;
            continue;
        }
        let e = src.char(i + 1)?;
        let break_len = match (e, src.char(i + 2)) {
            ('\n', _) => Some(2),
            ('\r', Some('\n')) => Some(3),
            _ => None,
        };
        if let Some(len) = break_len {
            let line = lines.last_mut()?;
            line.brk = i + len - 1;
            line.escaped_break = true;
            lines.push(FlowLine::new(close));
            i += len;
            continue;
        }
        let (decoded, len) = unescape(src, i, e)?;
        lines.last_mut()?.push(decoded, i, true);
        i += len;
    }
    let n = lines.len();
    for (k, line) in lines.iter_mut().enumerate() {
        let trailing = k + 1 < n && !line.escaped_break;
        line.trim(k > 0, trailing);
    }
    Some(fold_flow(lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_at<'a>(root: &'a Node, path: &[&str]) -> &'a Text {
        let mut node = root;
        for key in path {
            node = match key.parse::<usize>() {
                Ok(i) => &node.as_seq().unwrap()[i],
                Err(_) => node.get(key).unwrap(),
            };
        }
        node.as_text().unwrap()
    }

    /// Every character of every exact text sits where the source has that character
    /// (for characters that are written literally).
    fn assert_literal_positions(source: &str, t: &Text) {
        let lines: Vec<Vec<char>> = source.split('\n').map(|l| l.chars().collect()).collect();
        for (i, c) in t.value.char_indices() {
            if c == '\n' || c == ' ' {
                continue;
            }
            let p = t.pos_at(i);
            let at = lines[p.line as usize - 1]
                .get(p.column as usize - 1)
                .copied();
            if at == Some('\\') {
                continue; // an escape sequence maps to its backslash
            }
            assert_eq!(at, Some(c), "char {c:?} of {:?} mapped to {p:?}", t.value);
        }
    }

    #[test]
    fn every_scalar_style_maps_each_character() {
        let source = "\
a: plain value
b: \"dq \\\"x\\\" \\t end\"
c: 'it''s'
lit: |
  echo one \\
    two

  three
fold: >-
  one
  two

  three
  \x20 kept
multi: first
  second
dq2: \"a,
    b\\tc \\
    d\"
anch: &x |  # comment
  anchored
ref: *x
";
        let root = parse(source).unwrap();
        for path in [
            &["a"][..],
            &["b"],
            &["c"],
            &["lit"],
            &["fold"],
            &["multi"],
            &["dq2"],
            &["anch"],
            &["ref"],
        ] {
            let t = text_at(&root, path);
            assert!(t.exact(), "{path:?} not exact: {t:?}");
            assert_literal_positions(source, t);
        }
        assert_eq!(text_at(&root, &["a"]).start, Pos::new(1, 4));
        assert_eq!(text_at(&root, &["b"]).start, Pos::new(2, 5));
        assert_eq!(text_at(&root, &["b"]).value, "dq \"x\" \t end");
        assert_eq!(text_at(&root, &["c"]).value, "it's");
        let lit = text_at(&root, &["lit"]);
        assert_eq!(lit.value, "echo one \\\n  two\n\nthree\n");
        let lines = lit.lines();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[0].pos, Some(Pos::new(5, 3)));
        assert_eq!(lines[1].pos, Some(Pos::new(6, 3)));
        assert_eq!(lines[2].pos, None);
        assert_eq!(lines[3].pos, Some(Pos::new(8, 3)));
        let fold = text_at(&root, &["fold"]);
        assert_eq!(fold.value, "one two\nthree\n  kept");
        assert_eq!(fold.pos_at(4), Pos::new(11, 3));
        let multi = text_at(&root, &["multi"]);
        assert_eq!(multi.value, "first second");
        assert_eq!(multi.pos_at(6), Pos::new(16, 3));
        assert_eq!(multi.locate(0..12), (15, None));
        assert_eq!(multi.locate(6..12), (16, Some(3)));
        let dq2 = text_at(&root, &["dq2"]);
        assert_eq!(dq2.value, "a, b\tc d");
        assert_eq!(dq2.pos_at(dq2.value.find('d').unwrap()), Pos::new(19, 5));
        assert_eq!(text_at(&root, &["anch"]).start, Pos::new(21, 3));
        // The alias keeps the anchor's position: where the value is written.
        assert_eq!(text_at(&root, &["ref"]).start, Pos::new(21, 3));
    }

    #[test]
    fn merge_keys_fill_in_missing_entries_only() {
        let root = parse("base: &b\n  x: 1\n  y: 2\nuse:\n  <<: *b\n  y: 3\n").unwrap();
        let u = root.get("use").unwrap();
        assert_eq!(u.get("x").unwrap().as_str(), Some("1"));
        assert_eq!(u.get("y").unwrap().as_str(), Some("3"));
        assert!(u.get("<<").is_none());
        assert_eq!(u.get("x").unwrap().pos, Pos::new(2, 6));
    }

    #[test]
    fn errors_carry_a_position_and_empty_input_is_an_error() {
        let e = parse("a: [1,\nb: 2\n").unwrap_err();
        assert_eq!(e.pos.map(|p| p.line), Some(2));
        let e = parse("a: 1\na: 2\n").unwrap_err();
        assert!(e.message.contains("duplicate"), "{e:?}");
        assert!(parse("").is_err());
        assert!(parse("# only a comment\n").is_err());
    }

    #[test]
    fn numbers_and_booleans_keep_their_spelling() {
        let root = parse("push: true\nn: 0777\nf: 1.50\nnothing: ~\n").unwrap();
        assert_eq!(root.get("push").unwrap().as_str(), Some("true"));
        assert_eq!(root.get("n").unwrap().as_str(), Some("0777"));
        assert_eq!(root.get("f").unwrap().as_str(), Some("1.50"));
        assert!(root.get("nothing").unwrap().is_null());
    }

    #[test]
    fn an_error_at_the_end_of_the_input_points_inside_the_file() {
        // Found by fuzzing (fuzz/corpus/workflow_yaml/regression-eof-line): saphyr put
        // "simple key expected" on line 12 of an 11-line file.
        let bytes = b"name: Publish\x0aon: push\x0ajobs:\x0a  publish:\x0a    runs-on: ubuntu-latest\x0a  k  name: Build image\x0a\x0aon:\x0a  push:\x0a    branches: [main]\x0a  pull_\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xffreques\xfft\xff\xff";
        let source = String::from_utf8_lossy(bytes);
        let lines = source.split('\n').count() as u32;
        let error = parse(&source).unwrap_err();
        let pos = error.pos.unwrap();
        assert!(
            pos.line >= 1 && pos.line <= lines,
            "{pos:?} of {lines} lines"
        );
    }
}
