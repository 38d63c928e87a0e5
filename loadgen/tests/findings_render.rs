//! Every run and tune folder in `docs/findings` re-renders byte for byte: its inputs
//! (results.json, meta.json, lab.yaml, raw/; tune.json) are copied into a temporary folder,
//! rendered there as `lab report` does, and every report file the repository holds for it
//! (report.md, report.html, results.csv, charts/*.svg; tune.md, tune.html) must come out
//! identical. So a change to the record, the judge or a renderer that would change what
//! the findings say shows up here, and the findings are re-rendered in the same commit.
//!
//! A tune's probe folders are run folders too; the tune wrote only their report.md, so
//! that is the file compared there.
//!
//! `LAB_RERENDER_FINDINGS=1` writes each fresh render over the repository's file instead
//! of comparing (the same files: a folder gains none): how a change to the renderers
//! updates docs/findings; then `python3 scripts/findings.py --from-docs` splices
//! FINDINGS.md from them.

mod common;
use common::copy_dir;

use std::path::{Path, PathBuf};

use loadgen::report::{self, Run};
use loadgen::tune;

/// Files a run or tune folder is rendered from.
const INPUTS: [&str; 4] = ["results.json", "meta.json", "lab.yaml", "tune.json"];

fn findings() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/findings")
}

/// Every folder under `dir` holding a results.json or a tune.json.
fn rendered_folders(dir: &Path, out: &mut Vec<PathBuf>) {
    if dir.join("results.json").is_file() || dir.join("tune.json").is_file() {
        out.push(dir.to_path_buf());
    }
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() && p.file_name().is_some_and(|n| n != "raw" && n != "charts") {
            rendered_folders(&p, out);
        }
    }
}

/// The folder's inputs only, so that a file the renderer no longer writes is missed.
fn copy_inputs(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for name in INPUTS {
        if src.join(name).is_file() {
            std::fs::copy(src.join(name), dst.join(name)).unwrap();
        }
    }
    if src.join("raw").is_dir() {
        copy_dir(&src.join("raw"), &dst.join("raw"));
    }
}

/// The rendered files of a committed folder, relative to it.
fn rendered_files(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = [
        "report.md",
        "report.html",
        "results.csv",
        "tune.md",
        "tune.html",
    ]
    .iter()
    .map(PathBuf::from)
    .filter(|p| dir.join(p).is_file())
    .collect();
    if let Ok(charts) = std::fs::read_dir(dir.join("charts")) {
        for e in charts {
            out.push(Path::new("charts").join(e.unwrap().file_name()));
        }
    }
    out.sort();
    out
}

fn render(dir: &Path) {
    if dir.join(tune::record::FILE).is_file() {
        let record = tune::record::TuneRecord::load(dir).unwrap();
        tune::report::write_all(dir, &record).unwrap();
    } else {
        let run = Run::load(dir).unwrap_or_else(|e| panic!("{}: {e:#}", dir.display()));
        report::write_all(&run).unwrap();
    }
}

#[test]
fn every_findings_folder_re_renders_byte_for_byte() {
    let root = findings();
    let mut folders = Vec::new();
    rendered_folders(&root, &mut folders);
    assert!(folders.len() > 10, "{} folders", folders.len());
    let rerender = std::env::var_os("LAB_RERENDER_FINDINGS").is_some();
    let tmp = tempfile::tempdir().unwrap();
    let mut differ = Vec::new();
    for src in &folders {
        let rel = src.strip_prefix(&root).unwrap();
        let dst = tmp.path().join(rel);
        copy_inputs(src, &dst);
        render(&dst);
        let files = rendered_files(src);
        assert!(!files.is_empty(), "{} holds no report", rel.display());
        for f in files {
            if rerender {
                std::fs::copy(dst.join(&f), src.join(&f)).unwrap();
                continue;
            }
            let (want, got) = (
                std::fs::read(src.join(&f)).unwrap(),
                std::fs::read(dst.join(&f)),
            );
            if got.ok().as_ref() != Some(&want) {
                differ.push(rel.join(&f).display().to_string());
            }
        }
    }
    assert!(
        differ.is_empty(),
        "{} file(s) differ from a fresh render (re-render docs/findings with `lab report`): {}",
        differ.len(),
        differ.join(", ")
    );
}
