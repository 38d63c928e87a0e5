//! Shared helpers for the end-to-end tests: run the real `lab` binary against the real
//! Docker engine, and look at what it left behind with the real `docker` CLI.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// Lab runs in one test binary go one at a time: on 2 cores, parallel runs would only
/// measure each other.
pub static SERIAL: Mutex<()> = Mutex::new(());

pub fn lab_bin() -> &'static str {
    env!("CARGO_BIN_EXE_lab")
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Is a Docker engine reachable? On CI (`CI=true`) a missing engine fails the test loudly;
/// elsewhere the test prints why it is skipped.
pub fn docker_available(test: &str) -> bool {
    let ok = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{test}: Docker is not reachable, and CI=true requires it");
        }
        eprintln!("skipping {test}: Docker is not reachable");
    }
    ok
}

/// Run `lab ARGS` in the workspace root.
pub fn lab(args: &[&str]) -> Output {
    Command::new(lab_bin())
        .current_dir(workspace())
        .args(args)
        .output()
        .expect("running lab")
}

/// Write a lab file into `dir` and return its path.
pub fn lab_file(dir: &Path, name: &str, yaml: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, yaml).unwrap();
    p
}

/// The single run folder under `output`.
pub fn only_run(output: &Path) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(output)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(
        runs.len(),
        1,
        "expected one run folder in {}",
        output.display()
    );
    runs.into_iter().next().unwrap()
}

pub fn results_json(run: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap()
}

/// The ids of a run folder's cells, in the order results.json holds them.
pub fn cell_ids(run: &Path) -> Vec<String> {
    results_json(run)["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// Names of containers and networks labelled with this run id (should be none after a run).
pub fn leftovers(run_id: &str) -> Vec<String> {
    leftovers_with(|| Command::new("docker"), run_id)
}

/// Names of containers and networks labelled with this run id, asked through the CLI that
/// `cli` makes (`docker`, or `podman` pointed at a private service).
pub fn leftovers_with(cli: impl Fn() -> Command, run_id: &str) -> Vec<String> {
    let filter = format!("label=lab.run={run_id}");
    let mut out = Vec::new();
    for args in [
        [
            "ps",
            "-a",
            "--filter",
            &filter,
            "--format",
            "container {{.Names}}",
        ],
        [
            "network",
            "ls",
            "--filter",
            &filter,
            "--format",
            "network {{.Name}}",
        ],
    ] {
        let o = cli().args(args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", text(&o));
        out.extend(
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string),
        );
    }
    out
}

/// Wait until the run under `out_dir` has recorded `n` cells (the lab process must live).
pub fn wait_for_cells(child: &mut std::process::Child, out_dir: &Path, n: usize) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let cells = std::fs::read_dir(out_dir)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| std::fs::read_to_string(e.ok()?.path().join("results.json")).ok())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .map_or(0, |r| r["cells"].as_array().map_or(0, Vec::len));
        if cells >= n {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no cell was recorded");
        assert!(
            child.try_wait().unwrap().is_none(),
            "lab ended before measuring"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// `lab run FILE` that must stop as bad input (exit 2): its one `error:` line.
pub fn bad_input_error(file: &Path) -> String {
    let run = lab(&["run", file.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    let stderr = String::from_utf8_lossy(&run.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error: "))
        .collect();
    assert_eq!(errors.len(), 1, "one error line: {stderr}");
    errors[0].to_string()
}

/// Ctrl-C a running `lab run` (or `lab tune`) and require that it exits 130 (interrupted).
pub fn interrupt(child: std::process::Child) {
    // SAFETY: a plain signal to a child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn text(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Every file under `dir`.
pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `lab ARGS`, killed after `limit` if it has not finished (`None` then): for commands that
/// once never ended, so that a regression fails the test instead of hanging the suite.
pub fn lab_within(args: &[&str], limit: std::time::Duration) -> Option<Output> {
    let mut child = Command::new(lab_bin())
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Some(child.wait_with_output().unwrap())
}

/// Copy the folder `src` to `dst`, recursively (fixtures into a temp dir).
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// The rows of a gzipped ab `-g` file kept under `raw/` (its header skipped), each split
/// into its tab-separated fields: starttime, seconds, ctime, dtime, ttime, wait.
pub fn requests_tsv(path: &Path) -> Vec<Vec<String>> {
    use std::io::Read;
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(|f| f.trim().to_string()).collect())
        .collect()
}
