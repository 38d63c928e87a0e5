//! The copy of a lab file that run and tune folders keep, with every secret value removed.
//!
//! A secret is the value of `env: { NAME: { secret: VALUE } }`. Replacing the text of the
//! value wherever it appears (what this once did) misses values written another way than
//! they read (`"Esc\x41ped"`, `'it''s'`, folded blocks) and, for a short value such as
//! `"0"`, rewrites unrelated numbers (`port: 45000`). So the document is parsed instead:
//! the event parser says where each secret scalar starts and how it is written, the token
//! stream says where the next token starts, and exactly the bytes of the scalar in between
//! are replaced by `"<secret>"`. The result is parsed again and must read as the original
//! with every secret (and nothing else) replaced; otherwise no copy is written, only a note.

use std::collections::HashMap;
use std::path::Path;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, Scanner, TScalarStyle, Token};

use super::env::REDACTED;

/// What replaces a secret scalar in the copy: quoted, so it reads as a string in any
/// context (a flow mapping, after a tag or an anchor).
const QUOTED: &str = "\"<secret>\"";

/// What the folder holds instead of a copy that could not be redacted with certainty.
pub const NOT_COPIED: &str =
    "# The lab file is not copied here: its secret values could not be replaced\n\
# in place with certainty (e.g. an anchor shared by a secret and another value).\n";

/// The text of a lab file with the bytes of every secret value replaced by `"<secret>"`;
/// `Err` says why that cannot be done with certainty (the message quotes nothing of the
/// file).
pub fn redact(text: &str) -> Result<String, String> {
    let (bom, body) = match text.strip_prefix('\u{feff}') {
        Some(body) => ("\u{feff}", body),
        None => ("", text),
    };
    let mut out = body.to_string();
    for (start, end) in secret_spans(body)?.into_iter().rev() {
        out.replace_range(start..end, QUOTED);
    }
    check(body, &out)?;
    Ok(format!("{bom}{out}"))
}

/// The copy of a lab file: [`redact`]ed, or [`NOT_COPIED`].
pub fn redacted_copy(text: &str) -> String {
    redact(text).unwrap_or_else(|why| {
        tracing::warn!("the lab file is not copied into the output folder: {why}");
        NOT_COPIED.to_string()
    })
}

/// Writes the copy of the lab file at `src` to `dest` (run and tune folders, tune probes):
/// the one place that copies a lab file.
pub fn copy_lab_file(src: &Path, dest: &Path) -> anyhow::Result<()> {
    let text = super::read::lab_text(src)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {}", src.display(), e.reason))?;
    crate::record::write_atomic(dest, redacted_copy(&text).as_bytes())
}

/// Byte ranges of the secret scalars of `text`, in file order, without duplicates.
fn secret_spans(text: &str) -> Result<Vec<(usize, usize)>, String> {
    // Markers count characters; the splice needs bytes.
    let byte_at: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let starts = token_starts(text)?;
    let mut finder = Finder::default();
    Parser::new_from_str(text)
        .load(&mut finder, false)
        .map_err(|e| format!("invalid YAML: {}", e.info()))?;
    let mut spans = Vec::new();
    for (start, style) in finder.secrets {
        let bound = starts
            .iter()
            .find(|&&s| s > start)
            .map_or(text.len(), |&s| byte_at[s]);
        let from = match style {
            // A block scalar's mark is where its content starts; its header is before.
            TScalarStyle::Literal | TScalarStyle::Folded => starts
                .iter()
                .rev()
                .find(|&&s| s < start)
                .and_then(|&t| Some(byte_at[t] + block_header(&text[byte_at[t]..byte_at[start]])?))
                .ok_or("a secret block does not start where the parser says")?,
            _ => byte_at[start],
        };
        let len = scalar_len(&text[from..bound], style)
            .ok_or("a secret value does not end where the parser says")?;
        spans.push((from, from + len));
    }
    spans.sort_unstable();
    spans.dedup();
    Ok(spans)
}

/// Where every token of `text` starts, in characters, sorted: the end of a scalar is at or
/// before the start of the next token.
fn token_starts(text: &str) -> Result<Vec<usize>, String> {
    let mut scanner = Scanner::new(text.chars());
    let mut starts = Vec::new();
    while let Some(Token(mark, _)) = scanner
        .next_token()
        .map_err(|e| format!("invalid YAML: {}", e.info()))?
    {
        starts.push(mark.index());
    }
    starts.sort_unstable();
    Ok(starts)
}

/// The length in bytes of the scalar that `region` starts with, written in `style`;
/// `region` ends where the next token starts (so it may hold a comment and blank lines).
fn scalar_len(region: &str, style: TScalarStyle) -> Option<usize> {
    match style {
        TScalarStyle::DoubleQuoted => {
            let mut chars = region.char_indices().skip(1);
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => return Some(i + 1),
                    _ => {}
                }
            }
            None
        }
        TScalarStyle::SingleQuoted => {
            let b = region.as_bytes();
            let mut i = 1;
            while i < b.len() {
                if b[i] == b'\'' {
                    if b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return Some(i + 1);
                }
                i += 1;
            }
            None
        }
        TScalarStyle::Plain => {
            // A comment starts at a `#` after white space and ends a plain scalar.
            let cut = region
                .char_indices()
                .find(|&(i, c)| c == '#' && region[..i].ends_with(char::is_whitespace))
                .map_or(region.len(), |(i, _)| i);
            Some(region[..cut].trim_end().len())
        }
        TScalarStyle::Literal | TScalarStyle::Folded => Some(block_len(region)),
    }
}

/// Where the header (`|`, `>-`, ...) of a block scalar starts in `text`, which starts with
/// the token before the scalar (`:`, `-`, an anchor or a tag) and ends where its content
/// starts.
fn block_header(text: &str) -> Option<usize> {
    let after_token = text.find(char::is_whitespace)?;
    let header = after_token + text[after_token..].find(|c: char| !c.is_whitespace())?;
    matches!(text[header..].chars().next(), Some('|' | '>')).then_some(header)
}

/// The length of a block scalar (`|` or `>`, its header and content lines) at the start of
/// `region`: trailing blank lines and comments less indented than the content are not
/// part of it.
fn block_len(region: &str) -> usize {
    let lines: Vec<(usize, &str)> = region
        .split_inclusive('\n')
        .scan(0, |at, line| {
            let start = *at;
            *at += line.len();
            Some((start, line))
        })
        .collect();
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let blank = |l: &str| l.trim().is_empty();
    let content_indent = lines[1..]
        .iter()
        .find(|(_, l)| !blank(l))
        .map_or(usize::MAX, |(_, l)| indent(l));
    let last = lines
        .iter()
        .enumerate()
        .skip(1)
        .rev()
        .find(|(_, (_, l))| {
            !(blank(l) || (l.trim_start().starts_with('#') && indent(l) < content_indent))
        })
        .map_or(0, |(i, _)| i);
    let (start, line) = lines[last];
    start + line.trim_end().len()
}

/// One open collection while walking the events.
enum Frame {
    Map {
        /// The key of the entry being read, once its (scalar) key has been read.
        key: Option<String>,
        /// The next node is a key.
        at_key: bool,
    },
    Seq,
}

/// Finds the secret scalars: the value of `secret` in an entry of an `env` mapping, or the
/// scalar an alias there refers to.
#[derive(Default)]
struct Finder {
    stack: Vec<Frame>,
    /// Anchored scalars by anchor id: where they start and how they are written.
    anchored: HashMap<usize, (usize, TScalarStyle)>,
    secrets: Vec<(usize, TScalarStyle)>,
}

impl Finder {
    /// The key of the entry the next node is the value of, `n` collections up (0: the
    /// innermost).
    fn key(&self, n: usize) -> Option<&str> {
        let i = self.stack.len().checked_sub(n + 1)?;
        match &self.stack[i] {
            Frame::Map {
                key: Some(k),
                at_key: false,
            } => Some(k),
            _ => None,
        }
    }

    fn at_secret(&self) -> bool {
        self.key(0) == Some("secret") && self.key(1).is_some() && self.key(2) == Some("env")
    }

    fn at_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { at_key: true, .. }))
    }

    /// A node has ended: its mapping moves from key to value or to the next key.
    fn finish_node(&mut self) {
        if let Some(Frame::Map { key, at_key }) = self.stack.last_mut() {
            if !*at_key {
                *key = None;
            }
            *at_key = !*at_key;
        }
    }

    fn scalar(&mut self, value: &str, style: TScalarStyle, anchor: usize, mark: Marker) {
        let at = (mark.index(), style);
        if anchor != 0 {
            self.anchored.insert(anchor, at);
        }
        if self.at_key() {
            if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                *key = Some(value.to_string());
            }
        } else if self.at_secret() && !(value.is_empty() && style == TScalarStyle::Plain) {
            self.secrets.push(at);
        }
        self.finish_node();
    }
}

impl MarkedEventReceiver for Finder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        match ev {
            Event::Scalar(ref value, style, anchor, _) => self.scalar(value, style, anchor, mark),
            Event::Alias(id) => {
                if self.at_secret() {
                    if let Some(&at) = self.anchored.get(&id) {
                        self.secrets.push(at);
                    }
                }
                self.finish_node();
            }
            Event::MappingStart(..) => self.stack.push(Frame::Map {
                key: None,
                at_key: true,
            }),
            Event::SequenceStart(..) => self.stack.push(Frame::Seq),
            Event::MappingEnd | Event::SequenceEnd => {
                self.stack.pop();
                self.finish_node();
            }
            _ => {}
        }
    }
}

/// The redacted text must read as the original with each secret, and nothing else,
/// replaced by [`REDACTED`].
fn check(original: &str, redacted: &str) -> Result<(), String> {
    let parse = |t: &str| serde_yaml::from_str::<serde_yaml::Value>(t);
    let a = parse(original).map_err(|_| "the lab file does not parse")?;
    let b = parse(redacted).map_err(|_| "the redacted copy does not parse")?;
    if same_but_secrets(&a, &b, &mut Vec::new()) {
        Ok(())
    } else {
        Err("the redacted copy would differ from the lab file in more than its secrets".into())
    }
}

/// `a` and `b` are equal, except that every secret of `b` is [`REDACTED`]. `keys` are the
/// mapping keys above (`None` for a list element).
fn same_but_secrets(
    a: &serde_yaml::Value,
    b: &serde_yaml::Value,
    keys: &mut Vec<Option<String>>,
) -> bool {
    use serde_yaml::Value;
    let n = keys.len();
    let at_secret = n >= 3
        && keys[n - 1].as_deref() == Some("secret")
        && keys[n - 2].is_some()
        && keys[n - 3].as_deref() == Some("env");
    if at_secret {
        let b = match b {
            Value::Tagged(t) => &t.value,
            b => b,
        };
        return b.as_str() == Some(REDACTED);
    }
    match (a, b) {
        (Value::Mapping(ma), Value::Mapping(mb)) => {
            ma.len() == mb.len()
                && ma.iter().all(|(k, va)| {
                    let Some(vb) = mb.get(k) else { return false };
                    keys.push(k.as_str().map(str::to_string));
                    let same = same_but_secrets(va, vb, keys);
                    keys.pop();
                    same
                })
        }
        (Value::Sequence(sa), Value::Sequence(sb)) => {
            sa.len() == sb.len()
                && sa.iter().zip(sb).all(|(va, vb)| {
                    keys.push(None);
                    let same = same_but_secrets(va, vb, keys);
                    keys.pop();
                    same
                })
        }
        (Value::Tagged(ta), Value::Tagged(tb)) => {
            ta.tag == tb.tag && same_but_secrets(&ta.value, &tb.value, keys)
        }
        (a, b) => a == b,
    }
}
