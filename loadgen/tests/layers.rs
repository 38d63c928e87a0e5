//! The driver's layers, checked from its source: no import cycle between the top-level
//! modules of `loadgen/src`, imports one way (record ← tool ← judge ← run/tune/report ←
//! cli), and a load tool's own report read only where it may be.
//!
//! The rules, precisely:
//!
//! * A **top-level module** is a file `src/NAME.rs` or a folder `src/NAME/` (`lib.rs` and
//!   `main.rs` are the crate root, not modules).
//! * An **import** of module B by module A is any path `crate::B` in A's code, written out
//!   (`crate::judge::load(…)`) or in a `use crate::{B, …}` group. Comments, string and char
//!   literals do not count. **Test code** is files named `tests.rs` or `*_tests.rs`, files
//!   under a `tests/` folder, and the item after each `#[cfg(test)]`.
//! * **No cycle**: the graph of imports between top-level modules, test code included, has
//!   no cycle (each strongly connected component is one module): a test that needs a
//!   module above its own lives with that module.
//! * **One way**: a module of a lower layer never imports one of a higher layer (test code
//!   left out: a test may reach up to build its fixtures), with the
//!   layers `record` (0) < `tool` (1) < `judge` (2) < `run`, `tune`, `report` (3) < `cli` (4).
//! * **The tool's report stays in tool/**: outside `src/tool/` and `src/record/` (which
//!   defines it and upgrades old records), no code, test code included, reads a cell's
//!   `ab` / `oha` fields (`.ab`, `.oha`, `.v1_ab`, `.v1_oha` as a field, not a method call or
//!   a path) or matches a `ToolReport::Ab` / `ToolReport::Oha` variant. Everything else reads
//!   the tool-neutral `Measurement`. (No raw export reads the tool's report today; one that
//!   must is added to `REPORT_READERS` with a reason.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Folders (under `src/`) where a tool's own report may be read.
const REPORT_READERS: [&str; 2] = [
    "tool/",   // turns each tool's report into the Measurement
    "record/", // defines the report and moves schema 1's `ab`/`oha` into it
];

/// The layers of the one-way rule; modules not named here may sit anywhere acyclic.
const LAYERS: [(&str, u8); 7] = [
    ("record", 0),
    ("tool", 1),
    ("judge", 2),
    ("run", 3),
    ("tune", 3),
    ("report", 3),
    ("cli", 4),
];

struct Source {
    /// Path under `src/`, with `/`.
    rel: String,
    /// Its top-level module.
    module: String,
    /// The code with comments and literals blanked (same lines), test code included.
    code: String,
    /// The same without test code.
    non_test: String,
}

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn sources() -> Vec<Source> {
    let root = src_dir();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let rel = p
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let first = rel.split('/').next().unwrap();
            let module = first.strip_suffix(".rs").unwrap_or(first).to_string();
            if module == "lib" || module == "main" {
                return None;
            }
            let code = blank(&std::fs::read_to_string(&p).unwrap());
            let non_test = if is_test_file(&rel) {
                String::new()
            } else {
                drop_test_items(&code)
            };
            Some(Source {
                rel,
                module,
                code,
                non_test,
            })
        })
        .collect()
}

fn is_test_file(rel: &str) -> bool {
    let name = rel.rsplit('/').next().unwrap();
    name == "tests.rs" || name.ends_with("_tests.rs") || rel.contains("/tests/")
}

/// The text with comments, string literals and char literals replaced by spaces (newlines
/// kept, so line numbers stay right).
fn blank(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let keep_lines = |s: &[char], out: &mut String| {
        for ch in s {
            out.push(if *ch == '\n' { '\n' } else { ' ' });
        }
    };
    while i < c.len() {
        let rest = &c[i..];
        let end = if rest.starts_with(&['/', '/']) {
            rest.iter().position(|ch| *ch == '\n').unwrap_or(rest.len())
        } else if rest.starts_with(&['/', '*']) {
            block_comment_len(rest)
        } else if rest[0] == 'r' && raw_string_hashes(rest).is_some() {
            raw_string_len(rest)
        } else if rest[0] == '"' || (rest[0] == 'b' && rest.get(1) == Some(&'"')) {
            string_len(rest)
        } else if rest[0] == '\'' {
            char_len(rest)
        } else {
            0
        };
        if end > 0 {
            keep_lines(&rest[..end], &mut out);
            i += end;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

fn block_comment_len(s: &[char]) -> usize {
    let (mut depth, mut i) = (0, 0);
    while i < s.len() {
        if s[i..].starts_with(&['/', '*']) {
            depth += 1;
            i += 2;
        } else if s[i..].starts_with(&['*', '/']) {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    s.len()
}

/// `r"`, `r#"`, `br"`…: the number of `#`.
fn raw_string_hashes(s: &[char]) -> Option<usize> {
    let hashes = s[1..].iter().take_while(|c| **c == '#').count();
    (s.get(1 + hashes) == Some(&'"')).then_some(hashes)
}

fn raw_string_len(s: &[char]) -> usize {
    let hashes = raw_string_hashes(s).unwrap();
    let mut i = 2 + hashes;
    while i < s.len() {
        if s[i] == '"'
            && s[i + 1..]
                .iter()
                .take(hashes)
                .filter(|c| **c == '#')
                .count()
                == hashes
        {
            return i + 1 + hashes;
        }
        i += 1;
    }
    s.len()
}

fn string_len(s: &[char]) -> usize {
    let mut i = if s[0] == 'b' { 2 } else { 1 };
    while i < s.len() {
        match s[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    s.len()
}

/// A char literal (`'x'`, `'\n'`, `'\u{1F600}'`), or 0 for a lifetime (`'a`).
fn char_len(s: &[char]) -> usize {
    if s.get(1) == Some(&'\\') {
        return s[2..].iter().position(|c| *c == '\'').map_or(0, |p| p + 3);
    }
    if s.get(2) == Some(&'\'') {
        return 3;
    }
    0
}

/// The code without the item that follows each `#[cfg(test)]` (`mod x;`, or an item with
/// a `{ … }` body), lines kept.
fn drop_test_items(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let item = &rest[at..];
        let len = item_len(item);
        out.extend(
            item[..len]
                .chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' }),
        );
        rest = &item[len..];
    }
    out.push_str(rest);
    out
}

fn item_len(item: &str) -> usize {
    let open = item.find('{');
    let semi = item.find(';');
    match (open, semi) {
        (_, Some(s)) if open.map_or(true, |o| s < o) => s + 1,
        (Some(o), _) => {
            let mut depth = 0;
            for (i, ch) in item[o..].char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            return o + i + 1;
                        }
                    }
                    _ => {}
                }
            }
            item.len()
        }
        _ => item.len(),
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Top-level modules a piece of code names through `crate::`, with the line of each.
fn imports(code: &str, modules: &BTreeSet<String>) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before_ok = !rest[..at].chars().last().is_some_and(is_ident);
            let after = &rest[at + "crate::".len()..];
            if before_ok {
                for name in path_heads(after) {
                    if modules.contains(&name) {
                        found.push((name, n + 1));
                    }
                }
            }
            rest = after;
        }
    }
    found
}

/// `judge::load` → `judge`; `{a, b::c, self}` → `a`, `b`.
fn path_heads(after: &str) -> Vec<String> {
    if let Some(group) = after.strip_prefix('{') {
        let body = group.split('}').next().unwrap_or("");
        return body
            .split(',')
            .map(|p| p.trim().chars().take_while(|c| is_ident(*c)).collect())
            .collect();
    }
    vec![after.chars().take_while(|c| is_ident(*c)).collect()]
}

type Graph = BTreeMap<String, BTreeMap<String, Vec<String>>>;

/// module → imported module → where (`file:line`).
/// The imports between top-level modules; `with_tests`: test code counts too.
fn graph(sources: &[Source], with_tests: bool) -> Graph {
    let modules: BTreeSet<String> = sources.iter().map(|s| s.module.clone()).collect();
    let mut g: Graph = BTreeMap::new();
    for s in sources {
        let code = if with_tests { &s.code } else { &s.non_test };
        for (to, line) in imports(code, &modules) {
            if to != s.module {
                g.entry(s.module.clone())
                    .or_default()
                    .entry(to)
                    .or_default()
                    .push(format!("{}:{line}", s.rel));
            }
        }
    }
    g
}

/// Strongly connected components of more than one module (Tarjan).
fn cycles(g: &Graph) -> Vec<Vec<String>> {
    struct T<'g> {
        g: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(t: &mut T<'g>, v: &'g str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        for w in t.g.get(v).into_iter().flat_map(|m| m.keys()) {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.stack.contains(&w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        out: Vec::new(),
    };
    for v in g.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

/// A cycle as the edges inside it, with where each is written.
fn describe(g: &Graph, comp: &[String]) -> String {
    let mut s = format!("cycle between {}:", comp.join(", "));
    for a in comp {
        for (b, at) in g.get(a).into_iter().flatten() {
            if comp.contains(b) {
                s.push_str(&format!("\n  {a} -> {b} ({})", at.join(", ")));
            }
        }
    }
    s
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let g = graph(&sources(), true);
    let found: Vec<String> = cycles(&g).iter().map(|c| describe(&g, c)).collect();
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn imports_run_one_way_through_the_layers() {
    let g = graph(&sources(), false);
    let layer = |m: &str| LAYERS.iter().find(|(n, _)| *n == m).map(|(_, l)| *l);
    let mut wrong = Vec::new();
    for (a, tos) in &g {
        for (b, at) in tos {
            if let (Some(la), Some(lb)) = (layer(a), layer(b)) {
                if la < lb {
                    wrong.push(format!(
                        "{a} (layer {la}) imports {b} (layer {lb}): {}",
                        at.join(", ")
                    ));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// `.ab`, `.oha`, `.v1_ab`, `.v1_oha` as a field (not `.ab(`, not `::ab`).
fn report_field_reads(code: &str) -> Vec<usize> {
    let mut hits = Vec::new();
    for (n, line) in code.lines().enumerate() {
        for field in [".ab", ".oha", ".v1_ab", ".v1_oha"] {
            let mut from = 0;
            while let Some(at) = line[from..].find(field) {
                let end = from + at + field.len();
                let next = line[end..].trim_start().chars().next();
                let ident_ends = !line[end..].chars().next().is_some_and(is_ident);
                if ident_ends && next != Some('(') && next != Some(':') {
                    hits.push(n + 1);
                }
                from = end;
            }
        }
        if line.contains("ToolReport::Ab") || line.contains("ToolReport::Oha") {
            hits.push(n + 1);
        }
    }
    hits
}

#[test]
fn only_the_tool_layer_reads_a_tools_own_report() {
    let mut wrong = Vec::new();
    for s in sources() {
        if REPORT_READERS.iter().any(|p| s.rel.starts_with(p)) {
            continue;
        }
        for line in report_field_reads(&s.code) {
            wrong.push(format!("src/{}:{line}", s.rel));
        }
    }
    assert!(
        wrong.is_empty(),
        "a tool's own report read outside tool/ (read the cell's Measurement): {}",
        wrong.join(", ")
    );
}

#[test]
fn the_checks_see_what_they_must() {
    let modules: BTreeSet<String> = ["judge", "record", "tool"].map(String::from).into();
    let code = blank(
        "use crate::{judge, record::Cell};\n// crate::tool in a comment\nlet s = \"crate::tool\";\nlet c = '{';\nfn f<'a>(x: &'a str) { crate::tool::measure(x) }\n",
    );
    let found: Vec<(String, usize)> = imports(&code, &modules);
    assert_eq!(
        found,
        [
            ("judge".into(), 1),
            ("record".into(), 1),
            ("tool".into(), 5)
        ]
    );
    let code = blank("let a = cell.ab.as_ref();\nlet b = x.ab();\nuse crate::ab::parse;\nlet v = cell.abc;\nmatch r { ToolReport::Oha(o) => o }\n");
    assert_eq!(report_field_reads(&code), [1, 5]);
    let kept = drop_test_items("use crate::a;\n#[cfg(test)]\nmod tests {\n    use crate::b;\n}\n#[cfg(test)]\nmod more;\nuse crate::c;\n");
    assert!(kept.contains("crate::a") && kept.contains("crate::c"));
    assert!(!kept.contains("crate::b") && !kept.contains("more"));
    let mut g = Graph::new();
    for (a, b) in [("x", "y"), ("y", "z"), ("z", "x"), ("z", "w")] {
        g.entry(a.into()).or_default().insert(b.into(), vec![]);
    }
    assert_eq!(cycles(&g), [vec!["x".to_string(), "y".into(), "z".into()]]);
}
