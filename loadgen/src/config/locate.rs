//! Where is `loadgen.concurrency[3]` in the file?
//!
//! serde tells us the position of *type* errors, but the checks that need several fields at
//! once (concurrency <= requests, duplicate names, ...) run after deserialization, when the
//! positions are gone. So the text is also read once with yaml-rust2's event parser, which
//! reports a [`Marker`] for every node, and every node is recorded under the same path
//! syntax that serde_yaml uses in its messages (`servers[1].resources.cpus`). Block and flow
//! style (`{ a: 1 }`, `[1, 2]`) produce the same events, so both are located alike.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::aliases::Expansion;

/// A 1-based line and column, as editors show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    /// The start of the file: where errors about the file as a whole point.
    pub const START: Pos = Pos { line: 1, column: 1 };

    fn from_marker(mark: Marker) -> Pos {
        // yaml-rust2 counts lines from 1 and columns from 0.
        Pos {
            line: mark.line().max(1),
            column: mark.col() + 1,
        }
    }
}

/// What a node of the document is, as far as error messages care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Scalar,
    Sequence,
    Mapping,
    Alias,
}

/// The positions of every node of a document, by path.
#[derive(Debug, Default)]
pub(crate) struct Locations {
    /// Path of a node → where its value starts (`[`/`{` for flow collections, the first
    /// key or `-` for block ones, the first character of a scalar). The root is `""`.
    values: HashMap<String, (Pos, Kind)>,
    /// Path of a mapping entry → where its key starts.
    keys: HashMap<String, Pos>,
    /// Every recorded position, in file order: used to name the node an error is nearest to.
    order: Vec<(Pos, String)>,
    /// The first key that appears twice in one mapping: its path, and both positions.
    pub duplicate: Option<(String, Pos, Pos)>,
    /// Where a second document starts, if the stream has one.
    pub second_document: Option<Pos>,
    /// The first alias that makes the document too large (or recursive), and why.
    pub alias_problem: Option<(Pos, String)>,
}

impl Locations {
    /// Where the value at `path` starts, or where its nearest recorded ancestor starts (a
    /// defaulted field has no position of its own, but the mapping it belongs to has).
    pub fn value(&self, path: &str) -> Pos {
        let mut path = path;
        loop {
            if let Some((pos, _)) = self.values.get(path) {
                return *pos;
            }
            match parent(path) {
                Some(p) => path = p,
                None => return Pos::START,
            }
        }
    }

    /// Where the key of the entry at `path` starts (falls back like [`Locations::value`]).
    pub fn key(&self, path: &str) -> Pos {
        self.keys
            .get(path)
            .copied()
            .unwrap_or_else(|| self.value(path))
    }

    /// The kind of the root node, or `None` for an empty document.
    pub fn root(&self) -> Option<Kind> {
        self.values.get("").map(|(_, kind)| *kind)
    }

    /// The path of the last node that starts at or before `pos`: the best name for where a
    /// syntax error happened.
    pub fn path_before(&self, pos: Pos) -> Option<&str> {
        self.order
            .iter()
            .rev()
            .find(|(p, path)| *p <= pos && !path.is_empty())
            .map(|(_, path)| path.as_str())
    }
}

/// The parent of a path: `a.b[2]` → `a.b`, `a.b` → `a`, `a` → `` (the root), `` → none.
pub(crate) fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    if path.ends_with(']') {
        if let Some(i) = path.rfind('[') {
            return Some(&path[..i]);
        }
    }
    Some(path.rfind('.').map_or("", |i| &path[..i]))
}

/// `a` + `b` → `a.b`; the root's children have no leading dot.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// `a` + 3 → `a[3]`.
pub(crate) fn index(path: &str, i: usize) -> String {
    format!("{path}[{i}]")
}

/// A YAML syntax error found by the event parser.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    pub pos: Pos,
    pub message: String,
    /// The path of the last node before the error: the best name for where it is.
    pub path: Option<String>,
}

/// Reads `text` into a [`Locations`] map. Only the first document is located (the loader
/// rejects a second one anyway).
pub(crate) fn scan(text: &str) -> Result<Locations, SyntaxError> {
    let mut recorder = Recorder::default();
    let mut parser = Parser::new_from_str(text);
    // `multi` so that a second document is seen (and refused by the caller), not ignored.
    match parser.load(&mut recorder, true) {
        Ok(()) => Ok(recorder.locations),
        Err(e) => {
            let pos = Pos::from_marker(*e.marker());
            Err(SyntaxError {
                pos,
                message: e.info().to_string(),
                path: recorder.locations.path_before(pos).map(str::to_string),
            })
        }
    }
}

/// One open collection while walking the events.
enum Frame {
    Map {
        path: String,
        /// The next node is a key (otherwise: the value of `key`).
        at_key: bool,
        key: String,
        /// No key seen yet.
        first: bool,
    },
    Seq {
        path: String,
        next: usize,
    },
    /// A collection used as a mapping key: nothing in it is addressable by path.
    Opaque,
}

#[derive(Default)]
struct Recorder {
    stack: Vec<Frame>,
    locations: Locations,
    /// What the aliases of the document expand to.
    expansion: Expansion,
    /// The first document has ended: ignore the rest.
    done: bool,
}

impl Recorder {
    /// The path of the node that starts now, and whether it is a mapping key; `None` inside
    /// a complex key.
    fn next_path(&self) -> Option<(String, bool)> {
        match self.stack.last() {
            None => Some((String::new(), false)),
            Some(Frame::Map { at_key: true, .. }) => Some((String::new(), true)),
            Some(Frame::Map { path, key, .. }) => Some((join(path, key), false)),
            Some(Frame::Seq { path, next }) => Some((index(path, *next), false)),
            Some(Frame::Opaque) => None,
        }
    }

    fn record(&mut self, path: String, pos: Pos, kind: Kind) {
        self.locations.order.push((pos, path.clone()));
        self.locations.values.entry(path).or_insert((pos, kind));
    }

    /// A node has ended: the parent moves on to its next key, value or element.
    fn finish_node(&mut self) {
        match self.stack.last_mut() {
            Some(Frame::Map { at_key, .. }) => *at_key = !*at_key,
            Some(Frame::Seq { next, .. }) => *next += 1,
            Some(Frame::Opaque) | None => {}
        }
    }

    fn start_node(&mut self, pos: Pos, kind: Kind, scalar: Option<&str>) {
        match self.next_path() {
            Some((_, true)) => {
                // A mapping key: remember its name and where it is.
                let name = scalar.unwrap_or("?").to_string();
                if let Some(Frame::Map {
                    path, key, first, ..
                }) = self.stack.last_mut()
                {
                    let full = join(path, &name);
                    self.locations.order.push((pos, full.clone()));
                    match self.locations.keys.get(&full) {
                        Some(&first) => {
                            self.locations.duplicate.get_or_insert((full, first, pos));
                        }
                        None => {
                            self.locations.keys.insert(full, pos);
                        }
                    }
                    *key = name;
                    // yaml-rust2 marks a *block* mapping one character into its first key;
                    // the mapping really starts at that key. (A flow mapping starts at its
                    // `{`, before the key, and keeps its mark.)
                    if std::mem::take(first) {
                        if let Some((start, _)) = self.locations.values.get_mut(path.as_str()) {
                            if pos < *start {
                                let old = *start;
                                *start = pos;
                                if let Some(entry) = self
                                    .locations
                                    .order
                                    .iter_mut()
                                    .rev()
                                    .find(|(p, q)| *p == old && q == path)
                                {
                                    entry.0 = pos;
                                }
                            }
                        }
                    }
                }
                if matches!(kind, Kind::Sequence | Kind::Mapping) {
                    self.stack.push(Frame::Opaque);
                    return;
                }
            }
            Some((path, false)) => match kind {
                Kind::Mapping => {
                    self.record(path.clone(), pos, kind);
                    self.stack.push(Frame::Map {
                        path,
                        at_key: true,
                        key: String::new(),
                        first: true,
                    });
                    return;
                }
                Kind::Sequence => {
                    self.record(path.clone(), pos, kind);
                    self.stack.push(Frame::Seq { path, next: 0 });
                    return;
                }
                Kind::Scalar | Kind::Alias => self.record(path, pos, kind),
            },
            None => {
                if matches!(kind, Kind::Sequence | Kind::Mapping) {
                    self.stack.push(Frame::Opaque);
                    return;
                }
            }
        }
        self.finish_node();
    }
}

impl MarkedEventReceiver for Recorder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = Pos::from_marker(mark);
        if self.done {
            if ev == Event::DocumentStart {
                self.locations.second_document.get_or_insert(pos);
            }
            return;
        }
        self.measure(&ev, pos);
        match ev {
            Event::Scalar(ref value, ..) => self.start_node(pos, Kind::Scalar, Some(value)),
            Event::Alias(_) => self.start_node(pos, Kind::Alias, None),
            Event::SequenceStart(..) => self.start_node(pos, Kind::Sequence, None),
            Event::MappingStart(..) => self.start_node(pos, Kind::Mapping, None),
            Event::SequenceEnd | Event::MappingEnd => {
                self.stack.pop();
                self.finish_node();
            }
            Event::DocumentEnd => self.done = true,
            _ => {}
        }
    }
}

impl Recorder {
    /// Adds the event to what the document expands to; the first alias that makes it too
    /// large is recorded (and nothing is measured after it).
    fn measure(&mut self, ev: &Event, pos: Pos) {
        if self.locations.alias_problem.is_some() {
            return;
        }
        let e = &mut self.expansion;
        match *ev {
            Event::Scalar(ref value, _, anchor, _) => e.scalar(anchor, value.len()),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => e.start(anchor),
            Event::SequenceEnd | Event::MappingEnd => e.end(),
            Event::Alias(id) => {
                if let Err(message) = e.alias(id) {
                    self.locations.alias_problem = Some((pos, message));
                }
            }
            _ => {}
        }
    }
}
