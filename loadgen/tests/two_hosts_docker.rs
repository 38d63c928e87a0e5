//! The lab across two Docker hosts: the servers on the engine the docker CLI uses, the load
//! generator on a second `dockerd` this test starts on the same machine.
//!
//! The second daemon gets its own config file, data root, exec root, pid file, socket and
//! bridge (`--bridge none` would delete the first daemon's `docker0`, see shared/NOTES.md),
//! address pools inside 10.213.0.0/17, and no iptables rules of its own (two daemons
//! editing the same chains would fight). The load generator then reaches the servers'
//! published ports at the gateway of its own lab network on that daemon: an address of this
//! machine on a network the lab created, never the machine's external interface.
//!
//! [`SecondDaemon`] stops the daemon by its PID and removes its bridge and folders when
//! dropped, so a failing assertion cleans up too. Needs root and `dockerd`; skipped with a
//! printed reason otherwise, and failing when `CI=true`.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// Addresses of the second daemon: its bridge, and the pool its networks come from.
const BRIDGE_CIDR: &str = "10.213.255.1/24";
const POOL: &str = "10.213.0.0/17";
const POOL_PREFIX: &str = "10.213.";

/// A second Docker daemon on this machine, removed on drop.
struct SecondDaemon {
    dir: tempfile::TempDir,
    bridge: String,
    process: Option<Child>,
}

impl SecondDaemon {
    fn available(test: &str) -> bool {
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        let dockerd = Command::new("dockerd")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        let why = match (docker_available(test), root, dockerd) {
            (false, _, _) => return false,
            (true, true, true) => return true,
            (_, false, _) => "starting a second dockerd needs root",
            (_, _, false) => "dockerd is not installed",
        };
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{test}: {why}, and CI=true requires it");
        }
        eprintln!("skipping {test}: {why}");
        false
    }

    fn start() -> SecondDaemon {
        let dir = tempfile::Builder::new()
            .prefix("lab-d2-")
            .tempdir_in("/tmp")
            .unwrap();
        let bridge = format!("labd2{}", std::process::id() % 1_000_000);
        let ip = |args: &[&str]| {
            let o = Command::new("ip").args(args).output().expect("running ip");
            assert!(o.status.success(), "ip {args:?}: {}", text(&o));
        };
        ip(&["link", "add", &bridge, "type", "bridge"]);
        let mut daemon = SecondDaemon {
            dir,
            bridge: bridge.clone(),
            process: None,
        };
        ip(&["addr", "add", BRIDGE_CIDR, "dev", &bridge]);
        ip(&["link", "set", &bridge, "up"]);
        let config = serde_json::json!({
            "storage-driver": storage_driver(),
            "iptables": false,
            "ip-masq": false,
            "bridge": bridge,
            "default-address-pools": [{ "base": POOL, "size": 24 }],
        });
        let root = daemon.dir.path().to_path_buf();
        std::fs::write(root.join("daemon.json"), config.to_string()).unwrap();
        let log = std::fs::File::create(root.join("dockerd.log")).unwrap();
        let child = Command::new("dockerd")
            .arg("--config-file")
            .arg(root.join("daemon.json"))
            .arg("--data-root")
            .arg(root.join("data"))
            .arg("--exec-root")
            .arg(root.join("exec"))
            .arg("--pidfile")
            .arg(root.join("dockerd.pid"))
            .arg("-H")
            .arg(daemon.host())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("starting dockerd");
        daemon.process = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !daemon
            .cli()
            .args(["info", "--format", "{{.ServerVersion}}"])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            assert!(
                Instant::now() < deadline,
                "the second dockerd did not answer within 60 s:\n{}",
                daemon.log()
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        daemon
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("docker.sock")
    }

    fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// The docker CLI pointed at this daemon.
    fn cli(&self) -> Command {
        let mut c = Command::new("docker");
        c.env("DOCKER_HOST", self.host());
        c
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dockerd.log")).unwrap_or_default()
    }
}

/// The first daemon's storage driver, so the second one works on the same file system.
fn storage_driver() -> String {
    let o = Command::new("docker")
        .args(["info", "--format", "{{.Driver}}"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

impl Drop for SecondDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.process.take() {
            // Whatever a failed test left on it, then the daemon itself, by its PID.
            let _ = self
                .cli()
                .args(["rm", "-f", "--volumes"])
                .args(
                    String::from_utf8_lossy(
                        &self
                            .cli()
                            .args(["ps", "-aq"])
                            .output()
                            .map_or(vec![], |o| o.stdout),
                    )
                    .split_whitespace(),
                )
                .output();
            // SAFETY: a plain signal to the child we started.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge])
            .output();
        // dockerd leaves its data root mounted on itself (and, killed hard, its exec root
        // and container mounts): unmount them before the folder is removed.
        for sub in ["exec", "data"] {
            let _ = Command::new("umount")
                .arg("-R")
                .arg(self.dir.path().join(sub))
                .output();
        }
    }
}

fn two_host_lab(out: &Path, loadgen: &str, requests: u32, path: &str) -> String {
    format!(
        r#"name: two-hosts
output: {out}
repeat: 1
warmup: 100
hosts:
  loadgen: "{loadgen}"
servers:
  - {{ name: async, model: async, port: 45000 }}
  - {{ name: thread, model: thread, port: 46000 }}
resources: {{ cpus: 0.5, memory: 64m }}
loadgen: {{ requests: {requests}, concurrency: [1, 10] }}
workloads:
  - {{ name: w, path: {path} }}
"#,
        out = out.display()
    )
}

#[test]
fn servers_on_one_daemon_and_ab_on_another() {
    if !SecondDaemon::available("servers_on_one_daemon_and_ab_on_another") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let second = SecondDaemon::start();
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("results");
    let file = lab_file(
        dir.path(),
        "two.yaml",
        &two_host_lab(&out_dir, &second.host(), 200, "/"),
    );

    // `lab check` says where each role goes, without Docker.
    let check = lab(&["check", file.to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check));
    let plan = String::from_utf8_lossy(&check.stdout).to_string();
    assert!(plan.contains("placement: servers on"), "{plan}");
    assert!(
        plan.contains(&format!("load generator on {}", second.host())),
        "{plan}"
    );

    let run = lab(&["run", file.to_str().unwrap()]);
    assert!(run.status.success(), "{}\n{}", text(&run), second.log());
    let run_dir = only_run(&out_dir);
    let results = results_json(&run_dir);
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4);
    for c in cells {
        assert_eq!(c["status"], "ok", "{c}");
        assert_eq!(c["report"]["complete_requests"], 200, "{c}");
        assert_eq!(c["report"]["failed_requests"], 0, "{c}");
    }
    // Both models answered, through the published port at the second daemon's gateway.
    let servers: std::collections::BTreeSet<&str> = cells
        .iter()
        .map(|c| c["server"].as_str().unwrap())
        .collect();
    assert_eq!(servers.into_iter().collect::<Vec<_>>(), ["async", "thread"]);
    let placement = &results["placement"];
    assert_eq!(placement["loadgen"], second.host(), "{placement}");
    assert_ne!(placement["servers"], second.host(), "{placement}");
    let route = placement["route"].as_str().unwrap();
    assert!(
        route.starts_with(POOL_PREFIX) && route.ends_with("(published ports)"),
        "ab must reach the servers at the second daemon's own gateway: {route}"
    );
    for c in cells {
        let url = c["command"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .as_str()
            .unwrap();
        let address = route.split_whitespace().next().unwrap();
        assert!(url.starts_with(&format!("http://{address}:")), "{url}");
    }

    // meta.json names both hosts; the report shows the placement.
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("meta.json")).unwrap()).unwrap();
    let hosts = &meta["hosts"];
    assert_eq!(hosts["one_daemon"], false, "{hosts}");
    assert!(
        hosts["loadgen"]["endpoint"]
            .as_str()
            .unwrap()
            .starts_with(&second.host()),
        "{hosts}"
    );
    for role in ["servers", "loadgen"] {
        assert!(hosts[role]["cpus"].as_i64().unwrap() > 0, "{hosts}");
        assert!(
            !hosts[role]["kernel"].as_str().unwrap().is_empty(),
            "{hosts}"
        );
        assert!(
            !hosts[role]["cpu_model"].as_str().unwrap().is_empty(),
            "{hosts}"
        );
    }
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(report.contains("Placement: servers on"), "{report}");

    // Nothing left on either daemon.
    let run_id = results["run_id"].as_str().unwrap();
    assert_eq!(leftovers(run_id), Vec::<String>::new());
    assert_eq!(
        leftovers_with(|| second.cli(), run_id),
        Vec::<String>::new()
    );

    // Ctrl-C in the middle of a two-host run: both daemons are cleaned.
    let long_out = dir.path().join("long");
    let long = lab_file(
        dir.path(),
        "long.yaml",
        &two_host_lab(&long_out, &second.host(), 4000, "/sleep/1"),
    );
    let mut child = Command::new(lab_bin())
        .current_dir(workspace())
        .args(["run", long.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_cells(&mut child, &long_out, 1);
    interrupt(child);
    let long_run = only_run(&long_out);
    let long_results = results_json(&long_run);
    assert_eq!(long_results["status"], "interrupted");
    let long_id = long_results["run_id"].as_str().unwrap();
    assert_eq!(leftovers(long_id), Vec::<String>::new());
    assert_eq!(
        leftovers_with(|| second.cli(), long_id),
        Vec::<String>::new()
    );
}

#[test]
fn an_unreachable_loadgen_host_fails_before_anything_starts() {
    if !docker_available("an_unreachable_loadgen_host_fails_before_anything_starts") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("results");
    let missing = format!("unix://{}", dir.path().join("no-daemon.sock").display());
    let file = lab_file(
        dir.path(),
        "lab.yaml",
        &two_host_lab(&out_dir, &missing, 200, "/"),
    );
    let error = bad_input_error(&file);
    assert!(error.contains(&missing), "{error}");
    assert!(error.contains("the load generator's host"), "{error}");
    assert!(error.contains("hosts.loadgen"), "{error}");
    assert!(
        !out_dir.exists(),
        "nothing may start: {}",
        out_dir.display()
    );
}

/// The request start times of a gzipped ab `-g` file, whole Unix seconds.
fn request_seconds(path: &Path) -> Vec<u64> {
    requests_tsv(path)
        .iter()
        .map(|row| row[1].parse().unwrap())
        .collect()
}

/// `hosts.loadgen` as a list (issue 22): the servers and the first load generator host on
/// the docker CLI's daemon, a second load generator host on a second daemon. Every cell is
/// sent by both at once: one ab process on each, each by its own route (the private
/// network; the second daemon's gateway and the published port), started at one moment,
/// and merged from both hosts' per-request files.
#[test]
fn two_loadgen_hosts_send_each_cell_at_once_and_merge() {
    if !SecondDaemon::available("two_loadgen_hosts_send_each_cell_at_once_and_merge") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let second = SecondDaemon::start();
    let first = std::env::var("DOCKER_HOST").unwrap_or("unix:///var/run/docker.sock".into());
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("results");
    let yaml = format!(
        "name: two-loadgens\noutput: {}\nrepeat: 1\nwarmup: 100\npin: off\n\
         hosts:\n  loadgen: [\"{first}\", \"{}\"]\n\
         servers:\n  - {{ name: async, model: async, port: 45000 }}\n\
         resources: {{ cpus: 0.5, memory: 64m }}\n\
         loadgen: {{ concurrency: [1, 10] }}\n\
         workloads:\n  - {{ name: w, path: / }}\n",
        out_dir.display(),
        second.host()
    );
    let file = lab_file(dir.path(), "lab.yaml", &yaml);

    let check = lab(&["check", file.to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check));
    let plan = String::from_utf8_lossy(&check.stdout).to_string();
    assert!(
        plan.contains(&format!("load generator also on {}", second.host())),
        "{plan}"
    );

    let run = lab(&["run", file.to_str().unwrap()]);
    assert!(run.status.success(), "{}\n{}", text(&run), second.log());
    let run_dir = only_run(&out_dir);
    let results = results_json(&run_dir);
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2);
    let one = cells.iter().find(|c| c["concurrency"] == 1).unwrap();
    assert_eq!(one["status"], "ok", "{one:#}");
    assert!(
        one.get("processes").is_none(),
        "one connection: one host, {one:#}"
    );
    let cell = cells.iter().find(|c| c["concurrency"] == 10).unwrap();
    assert_eq!(cell["status"], "ok", "{cell:#}");
    assert_eq!(cell["limits"]["loadgen_hosts"], 2, "{cell:#}");
    let processes = cell["processes"].as_array().unwrap();
    assert_eq!(processes.len(), 2, "{cell:#}");
    assert_eq!(processes[0]["host"], first.as_str());
    assert_eq!(processes[1]["host"], second.host());
    // Each host by its own route: the first on the private network, the second at its
    // daemon's gateway and the server's published port.
    let url = |p: &serde_json::Value| p["command"].as_array().unwrap().last().unwrap().clone();
    let (url0, url1) = (url(&processes[0]), url(&processes[1]));
    assert!(!url0.as_str().unwrap().contains(POOL_PREFIX), "{url0}");
    assert!(
        url1.as_str()
            .unwrap()
            .starts_with(&format!("http://{POOL_PREFIX}")),
        "{url1}"
    );
    // Both agents waited for one wall-clock time (this machine's clock for both daemons):
    // a late `docker exec` would start one host up to the half-second lead later.
    let started: Vec<f64> = processes
        .iter()
        .map(|p| p["started_unix_s"].as_f64().unwrap())
        .collect();
    eprintln!("the two hosts' processes started at {started:?}");
    assert!(
        (started[0] - started[1]).abs() < 0.25,
        "the hosts must start together: {started:?}"
    );
    for p in processes {
        assert!(
            p["command"].as_array().unwrap().iter().any(|a| a == "5"),
            "5 connections each: {p}"
        );
        assert!(p["complete"].as_u64().unwrap() > 0, "{p}");
    }

    // Merged exactly: every request of both hosts' raw files, sent over the same seconds.
    let seconds: Vec<Vec<u64>> = processes
        .iter()
        .map(|p| request_seconds(&run_dir.join(p["raw_requests"].as_str().unwrap())))
        .collect();
    let total: usize = seconds.iter().map(Vec::len).sum();
    assert_eq!(
        cell["measurement"]["complete"].as_u64(),
        Some(total as u64),
        "{cell:#}"
    );
    let span = |s: &[u64]| (*s.iter().min().unwrap(), *s.iter().max().unwrap());
    let ((a0, a1), (b0, b1)) = (span(&seconds[0]), span(&seconds[1]));
    assert!(
        a0 == b0 && a1 == b1,
        "both hosts send from the same second to the same second: {a0}..{a1} vs {b0}..{b1}"
    );
    assert!(cell["steady"]["requests"].as_u64().unwrap() > 0, "{cell:#}");

    // Recorded where it ran: results.json, meta.json and the report name both hosts.
    let also = &results["placement"]["loadgen_also"][0];
    assert_eq!(also["loadgen"], second.host(), "{also}");
    assert!(
        also["route"].as_str().unwrap().starts_with(POOL_PREFIX),
        "{also}"
    );
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run_dir.join("meta.json")).unwrap()).unwrap();
    let also_meta = &meta["hosts"]["loadgen_also"][0];
    assert!(
        !also_meta["cpu_model"].as_str().unwrap().is_empty(),
        "{also_meta}"
    );
    let report = std::fs::read_to_string(run_dir.join("report.md")).unwrap();
    assert!(report.contains("load generator also on"), "{report}");
    assert!(
        report.contains("from 2 load generator hosts at once"),
        "{report}"
    );

    let run_id = results["run_id"].as_str().unwrap();
    assert_eq!(leftovers(run_id), Vec::<String>::new());
    assert_eq!(
        leftovers_with(|| second.cli(), run_id),
        Vec::<String>::new()
    );
}
