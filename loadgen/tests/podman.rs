//! End-to-end through Podman's Docker-compatible API: a private `podman system service`
//! (its own storage, run, tmp and network folders, and socket) serves small labs run by the
//! real `lab` binary with `DOCKER_HOST` pointing at it. The test checks the cells, that
//! `meta.json` names Podman and the limits the lab gave its containers, that a run leaves
//! no container or network behind, then stops the service by its PID and removes its
//! folders (also when an assertion fails: see `Drop`).
//!
//! Podman keeps two `conmon` processes per API exec for `exit_command_delay` (300 s by
//! default) after the exec ends; the service here gets a private `containers.conf` with a
//! short delay, and the test waits for them to exit before it stops the service.
//!
//! Needs `podman` and root (a rootless service needs subuid set-up this test does not do);
//! skipped with a printed reason otherwise, and failing when `CI=true`.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Is rootful Podman usable here? On CI a missing Podman fails the test.
fn podman_available(test: &str) -> bool {
    let installed = Command::new("podman")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let why = match (installed, root) {
        (true, true) => return true,
        (false, _) => "podman is not installed (apt-get install podman)",
        (true, false) => "the test starts a rootful Podman service and needs root",
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: {why}, and CI=true requires it");
    }
    eprintln!("skipping {test}: {why}");
    false
}

/// How long Podman's per-exec conmon processes wait for the API before cleaning up.
const EXIT_COMMAND_DELAY_S: u64 = 3;

/// A private `podman system service`, stopped and removed by [`Podman::shut_down`] or on
/// drop.
struct Podman {
    dir: tempfile::TempDir,
    service: Option<Child>,
    /// Processes of this service that had to be killed at shut-down (should be none).
    killed: Vec<i32>,
}

impl Podman {
    fn start() -> Podman {
        let dir = tempfile::Builder::new()
            .prefix("lab-podman-")
            .tempdir()
            .unwrap();
        let mut podman = Podman {
            dir,
            service: None,
            killed: Vec::new(),
        };
        let conf = format!("[engine]\nexit_command_delay = {EXIT_COMMAND_DELAY_S}\n");
        std::fs::write(podman.path("containers.conf"), conf).unwrap();
        let log = std::fs::File::create(podman.path("service.log")).unwrap();
        let endpoint = podman.docker_host();
        let child = podman
            .command()
            .args(["system", "service", "--time=0", &endpoint])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting podman system service");
        podman.service = Some(child);
        podman.wait_until_it_answers();
        podman
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `podman` on this service's storage (the CLI works on it directly, service or not).
    fn command(&self) -> Command {
        let mut c = Command::new("podman");
        c.env("CONTAINERS_CONF", self.path("containers.conf"));
        for (flag, name) in [
            ("--root", "root"),
            ("--runroot", "runroot"),
            ("--tmpdir", "tmp"),
            ("--network-config-dir", "networks"),
        ] {
            c.arg(flag).arg(self.path(name));
        }
        c.args(["--events-backend", "file"]);
        c
    }

    fn docker_host(&self) -> String {
        format!("unix://{}", self.path("podman.sock").display())
    }

    /// Wait for `GET /_ping` to answer `OK` (the service creates its socket, then serves).
    fn wait_until_it_answers(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ping(&self.path("podman.sock")) {
            let exited = self.service.as_mut().unwrap().try_wait().unwrap();
            if exited.is_some() || Instant::now() > deadline {
                let log = std::fs::read_to_string(self.path("service.log")).unwrap_or_default();
                panic!("podman system service did not answer ({exited:?}):\n{log}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Containers and networks of the service labelled with this run id.
    fn leftovers(&self, run_id: &str) -> Vec<String> {
        common::leftovers_with(|| self.command(), run_id)
    }

    /// Processes working on this service's folder other than the service itself: the
    /// conmon of each container and exec, and their clean-up commands.
    fn helpers(&self) -> Vec<i32> {
        let dir = self.dir.path().display().to_string();
        let service = self.service.as_ref().map(|c| c.id() as i32);
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        procs
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| Some(*pid) != service)
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&dir))
            })
            .collect()
    }

    /// Wait for the exec conmons to clean up after themselves (they need the service's
    /// storage to do so), then stop the service by its PID (SIGTERM, SIGKILL after 30 s),
    /// remove every container, image and network of its storage and unmount it (`system
    /// reset`). Helpers still there after that are killed by PID and remembered in
    /// `killed`. The folders go with `dir`. Safe to call twice.
    fn shut_down(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(EXIT_COMMAND_DELAY_S + 60);
        while !self.helpers().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        if let Some(mut child) = self.service.take() {
            // SAFETY: kill(2) on the pid of our own child, which has not been reaped.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().unwrap().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        if self.path("root").exists() {
            let _ = self.command().args(["system", "reset", "--force"]).output();
        }
        for pid in self.helpers() {
            // SAFETY: kill(2) on a pid whose command line names this test's own folder.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            self.killed.push(pid);
        }
    }

    /// Mount points under the service's folder (the storage's overlay mount, while any).
    fn mounts(&self) -> Vec<String> {
        let dir = self.dir.path().display().to_string();
        std::fs::read_to_string("/proc/self/mounts")
            .unwrap()
            .lines()
            .filter(|l| l.split(' ').nth(1).is_some_and(|m| m.starts_with(&dir)))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn ping(socket: &Path) -> bool {
    let Ok(mut s) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut answer = String::new();
    s.write_all(b"GET /_ping HTTP/1.0\r\nHost: podman\r\n\r\n")
        .is_ok()
        && s.read_to_string(&mut answer).is_ok()
        && answer.starts_with("HTTP/1.")
        && answer.ends_with("OK")
}

/// `lab run FILE` against the service, with `env` on top.
fn lab_through(podman: &Podman, file: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(lab_bin())
        .current_dir(workspace())
        .env("DOCKER_HOST", podman.docker_host())
        .env_remove("DOCKER_CONTEXT")
        .envs(env.iter().copied())
        .args(["run", file.to_str().unwrap()])
        .output()
        .expect("running lab")
}

fn small_lab(output: &Path, servers: &str, concurrency: &str) -> String {
    format!(
        "name: podman\noutput: {}\nwarmup: 100\nrepeat: 1\npin: auto\nservers:\n{servers}\nresources: {{ cpus: 1, memory: 128m, pids: 512 }}\nloadgen: {{ requests: 200, concurrency: {concurrency}, timeout: 10s }}\nworkloads:\n  - {{ name: hello, path: / }}\n",
        output.display()
    )
}

const BOTH: &str = "  - { name: async, model: async, port: 45000 }\n  - { name: thread, model: thread, port: 46000 }";

/// The ok cells of a run, after checking each answered all its requests.
fn ok_cells(run: &Path, expected: usize) -> Vec<serde_json::Value> {
    let results = results_json(run);
    assert_eq!(results["status"], "complete", "{results}");
    let cells = results["cells"].as_array().unwrap().clone();
    assert_eq!(cells.len(), expected, "{results}");
    for c in &cells {
        assert_eq!(c["status"], "ok", "{c}");
        assert_eq!(c["report"]["complete_requests"], 200, "{c}");
        assert_eq!(c["report"]["failed_requests"], 0, "{c}");
        assert_eq!(c["server_resources"]["exactness"]["cpu"], "exact", "{c}");
        assert!(
            c["server_resources"]["cpu_s"].as_f64().unwrap() > 0.0,
            "{c}"
        );
    }
    cells
}

#[test]
fn small_labs_run_through_podman_and_leave_nothing_behind() {
    let test = "small_labs_run_through_podman_and_leave_nothing_behind";
    if !podman_available(test) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut podman = Podman::start();
    let dir = tempfile::tempdir().unwrap();

    // Both models, pinned as by default, counters from wherever the lab finds them.
    let out = dir.path().join("results");
    let file = lab_file(dir.path(), "podman.yaml", &small_lab(&out, BOTH, "[1, 20]"));
    let o = lab_through(&podman, &file, &[]);
    assert!(o.status.success(), "{}", text(&o));
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("Podman at unix://"), "{log}");
    let run = only_run(&out);
    ok_cells(&run, 4);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("meta.json")).unwrap()).unwrap();
    assert_eq!(meta["docker"]["engine"], "podman", "{meta}");
    assert!(meta["docker"]["version"]
        .as_str()
        .unwrap()
        .starts_with(char::is_numeric));
    let endpoint = meta["docker"]["endpoint"].as_str().unwrap();
    assert!(
        endpoint.ends_with("podman.sock from DOCKER_HOST"),
        "{endpoint}"
    );
    // The service runs here, so the lab read its limits and gave them to the containers.
    let limits = meta["ulimits"]["ulimits"].as_array().unwrap();
    assert!(limits.iter().any(|u| u["name"] == "nofile"), "{meta}");
    let run_id = results_json(&run)["run_id"].as_str().unwrap().to_string();
    assert_eq!(podman.leftovers(&run_id), Vec::<String>::new());

    // The Docker-stats fallback (what a remote Podman gets): CPU exact, throttling
    // unreported by Podman, peaks sampled.
    let out = dir.path().join("results-stats");
    let async_only = "  - { name: async, model: async, port: 45000 }";
    let file = lab_file(dir.path(), "stats.yaml", &small_lab(&out, async_only, "20"));
    let o = lab_through(&podman, &file, &[("LAB_COUNTERS", "docker-stats")]);
    assert!(o.status.success(), "{}", text(&o));
    let run = only_run(&out);
    for c in ok_cells(&run, 1) {
        let srv = &c["server_resources"];
        assert_eq!(srv["source"], "docker stats", "{c}");
        assert_eq!(srv["exactness"]["throttling"], "unavailable", "{c}");
        assert_eq!(srv["exactness"]["memory_peak"], "sampled", "{c}");
        assert!(srv["memory_peak_bytes"].as_u64().unwrap() > 0, "{c}");
    }
    let run_id = results_json(&run)["run_id"].as_str().unwrap().to_string();
    assert_eq!(podman.leftovers(&run_id), Vec::<String>::new());

    podman.shut_down();
    assert_eq!(
        podman.killed,
        Vec::<i32>::new(),
        "helpers outlived the service"
    );
    assert_eq!(podman.mounts(), Vec::<String>::new());
    assert!(!podman.path("root").exists() && !podman.path("runroot").exists());
}
