//! End-to-end: the real `lab` binary, real images built from this workspace, real containers
//! with limits, real ab in its own container.

mod common;

use std::process::{Command, Stdio};

use common::*;

fn small_lab(output: &std::path::Path, servers: &str, extra: &str) -> String {
    format!(
        "name: e2e\noutput: {}\nwarmup: 100\npin: off\nservers:\n{servers}\nresources: {{ cpus: 1, memory: 128m, pids: 512 }}\nloadgen: {{ requests: 200, concurrency: [1, 20], timeout: 10s }}\nworkloads:\n  - {{ name: hello, path: / }}\n{extra}",
        output.display()
    )
}

const BOTH: &str = "  - { name: async, model: async, port: 45000 }\n  - { name: thread, model: thread, port: 46000 }";

#[test]
fn small_lab_runs_both_models_and_cleans_up() {
    if !docker_available("small_lab_runs_both_models_and_cleans_up") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("results");
    // A secret env value reaches the server and no file of the run.
    let servers = BOTH.replace(
        "port: 46000 }",
        "port: 46000, env: { LAB_TOKEN: { secret: \"tok-5ecr3t-value\" }, ESC: { secret: \"Esc\\x41ped-5ecr3t\" }, ZERO: { secret: \"0\" } } }",
    );
    let file = lab_file(dir.path(), "small.yaml", &small_lab(&out_dir, &servers, ""));
    let o = lab(&["run", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));

    let run = only_run(&out_dir);
    for f in walk(&run) {
        let bytes = std::fs::read(&f).unwrap();
        assert!(
            !["tok-5ecr3t-value", "EscAped-5ecr3t", "Esc\\x41ped"]
                .iter()
                .any(|leak| String::from_utf8_lossy(&bytes).contains(leak)),
            "the secret leaked into {}",
            f.display()
        );
    }
    let copied = std::fs::read_to_string(run.join("lab.yaml")).unwrap();
    assert!(
        copied.contains("port: 46000, env: { LAB_TOKEN: { secret: \"<secret>\" }, ESC: { secret: \"<secret>\" }, ZERO: { secret: \"<secret>\" } }"),
        "{copied}"
    );
    let results = results_json(&run);
    assert_eq!(results["status"], "complete");
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4, "2 servers x 2 levels");
    for c in cells {
        assert_eq!(c["status"], "ok", "{c}");
        assert_eq!(c["report"]["complete_requests"], 200, "{c}");
        assert_eq!(c["report"]["failed_requests"], 0, "{c}");
        assert!(c["report"]["non_2xx"].is_null(), "{c}");
        assert!(c["report"]["requests_per_second"].as_f64().unwrap() > 0.0);
        // The raw output is saved and is what was parsed.
        let raw = std::fs::read_to_string(run.join(c["raw_stdout"].as_str().unwrap())).unwrap();
        assert!(raw.contains("Complete requests:      200"), "{raw}");
        // Limits were applied as configured, and the server's resources were sampled.
        assert_eq!(c["limits"]["memory_bytes"], 128 * 1024 * 1024);
        assert!(
            c["server_resources"]["pids_peak"].as_u64().unwrap() >= 1,
            "{c}"
        );
        // Exact evidence and a verdict for every cell, however short.
        assert!(c["tool_usage"]["cpu_s"].as_f64().unwrap() > 0.0, "{c}");
        assert!(
            c["server_resources"]["cpu_s"].as_f64().unwrap() > 0.0,
            "{c}"
        );
        assert_eq!(c["server_metrics"]["requests"], 200, "{c}");
        assert!(c["server_metrics"]["connections_peak"].as_u64().unwrap() >= 1);
        assert!(c["verdict"]["limiter"].is_string(), "{c}");
        // Schema 2: the tool-neutral measurement beside the tool's tagged report, and the
        // load generator host's CPUs in the limits.
        assert_eq!(c["report"]["tool"], "ab", "{c}");
        assert_eq!(c["measurement"]["complete"], 200, "{c}");
        assert!(
            c["limits"]["loadgen_host_cpus"].as_u64().unwrap() >= 1,
            "{c}"
        );
        // The verdict and the flags come from one judge: a loadgen verdict carries its flag.
        let flags = c["flags"].as_array().unwrap();
        if c["verdict"]["limiter"] == "loadgen" {
            assert!(flags.contains(&"loadgen-bound".into()), "{c}");
        }
    }
    assert_eq!(results["schema_version"], 2);
    let servers: Vec<&str> = cells
        .iter()
        .map(|c| c["server"].as_str().unwrap())
        .collect();
    assert!(servers.contains(&"async") && servers.contains(&"thread"));

    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    // No flag a verdict relies on is listed as not raised.
    if let Some(unraised) = report.split("Flags not raised in this run").nth(1) {
        let unraised = unraised.split("</details>").next().unwrap();
        for (verdict, flag) in [
            ("loadgen", "loadgen-bound"),
            ("connect-queue", "connect-retries"),
        ] {
            let judged = cells.iter().any(|c| c["verdict"]["limiter"] == verdict);
            assert!(!(judged && unraised.contains(flag)), "{verdict}: {report}");
        }
    }
    assert!(report.contains("| No test | Concurrency level | Time taken for test [seconds] | Complete request | Failed request | Total transferred [bytes] | Request per second [#/sec] | Time per request [ms] | Transfer rate [Kbytes/sec] |"));
    assert!(report.contains("## Comparison"));
    let csv = std::fs::read_to_string(run.join("results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "header + 4 cells");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("meta.json")).unwrap()).unwrap();
    assert!(
        meta["ab_version"].as_str().unwrap().contains("ApacheBench"),
        "{meta}"
    );
    assert!(meta["images"]["lab/server-async"]
        .as_str()
        .unwrap()
        .starts_with("sha256:"));

    let run_id = results["run_id"].as_str().unwrap();
    assert_eq!(leftovers(run_id), Vec::<String>::new());

    // `lab report` regenerates the same report from results.json alone.
    std::fs::remove_file(run.join("report.md")).unwrap();
    let o = lab(&["report", run.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        std::fs::read_to_string(run.join("report.md")).unwrap(),
        report
    );
}

#[test]
fn server_that_exits_at_start_is_recorded_failed_and_the_other_completes() {
    if !docker_available("server_that_exits_at_start_is_recorded_failed") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("results");
    let servers = "  - { name: broken, model: async, port: 45000, args: [\"--no-such-flag\"] }\n  - { name: thread, model: thread, port: 46000 }";
    let file = lab_file(dir.path(), "broken.yaml", &small_lab(&out_dir, servers, ""));
    let o = lab(&["run", file.to_str().unwrap()]);
    // A failed server is a result, not a lab error: the run completes, and the exit code
    // (3) and one line say that cells failed.
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.lines()
            .any(|l| l.starts_with("error: 2 of 4 cells failed")),
        "{err}"
    );
    let run = only_run(&out_dir);
    let results = results_json(&run);
    let failures = results["server_failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{results}");
    assert_eq!(failures[0]["server"], "broken");
    let reason = failures[0]["reason"].as_str().unwrap();
    assert!(reason.contains("exited with code 2"), "{reason}");
    // The reason is clap's error, not its closing `For more information, try '--help'.`
    assert!(
        reason.contains("its error: error: unexpected argument '--no-such-flag' found"),
        "{reason}"
    );
    for c in results["cells"].as_array().unwrap() {
        if c["server"] == "broken" {
            assert_eq!(c["status"], "failed");
            assert!(
                c["reason"]
                    .as_str()
                    .unwrap()
                    .contains("server not available"),
                "{c}"
            );
        } else {
            assert_eq!(c["status"], "ok", "{c}");
            assert_eq!(c["report"]["complete_requests"], 200);
        }
    }
    let report = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(report.contains("✗ failed"), "{report}");
    assert!(report.contains("## Failures"));
    assert_eq!(
        leftovers(results["run_id"].as_str().unwrap()),
        Vec::<String>::new()
    );
}

#[test]
fn interrupted_run_removes_its_containers_and_keeps_finished_cells() {
    if !docker_available("interrupted_run_removes_its_containers") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("results");
    interrupt(start_long_run(dir.path(), &out_dir));

    let run = only_run(&out_dir);
    let results = results_json(&run);
    assert_eq!(results["status"], "interrupted");
    assert!(
        !results["cells"].as_array().unwrap().is_empty(),
        "finished cells are kept"
    );
    let run_id = results["run_id"].as_str().unwrap();
    assert_eq!(leftovers(run_id), Vec::<String>::new());
    // Nothing half-written: no temp files, results.json parses (above).
    for e in std::fs::read_dir(&run).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(!name.ends_with(".tmp"), "temp file left: {name}");
    }
}

/// A lab with long cells writing under `out_dir`: 1 ms of simulated I/O per request, 4000
/// per cell, about 5 s each at c = 1: the next cell is still running when a test acts on
/// the first one's record.
fn long_lab(out_dir: &std::path::Path) -> String {
    small_lab(out_dir, BOTH, "")
        .replace(
            "requests: 200, concurrency: [1, 20]",
            "requests: 4000, concurrency: [1, 2]",
        )
        .replace("path: /", "path: /sleep/1")
}

/// Start `lab run` on [`long_lab`] and return once it has recorded its first cell.
fn start_long_run(dir: &std::path::Path, out_dir: &std::path::Path) -> std::process::Child {
    let file = lab_file(dir, "long.yaml", &long_lab(out_dir));
    let mut child = Command::new(lab_bin())
        .current_dir(workspace())
        .args(["run", file.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_cells(&mut child, out_dir, 1);
    child
}

/// `docker inspect -f FORMAT NAME...`, one line per object.
fn inspect(kind: &str, format: &str, ids: &[String]) -> Vec<String> {
    let o = Command::new("docker")
        .args([kind, "inspect", "-f", format])
        .args(ids)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The ids of containers (or networks) with a label.
fn labelled(kind: &str, label: &str) -> Vec<String> {
    let args: Vec<&str> = match kind {
        "container" => vec!["ps", "-aq", "--filter", label],
        _ => vec!["network", "ls", "-q", "--filter", label],
    };
    let o = Command::new("docker").args(&args).output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn two_runs_started_together_keep_apart() {
    if !docker_available("two_runs_started_together_keep_apart") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("results");
    let servers = "  - { name: async, model: async, port: 45000 }";
    let file = lab_file(dir.path(), "twin.yaml", &small_lab(&out_dir, servers, ""));
    let start = || {
        Command::new(lab_bin())
            .current_dir(workspace())
            .args(["run", "--no-build", file.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Images first, so both start within the same second.
    assert!(lab(&["images", file.to_str().unwrap()]).status.success());
    let (a, b) = (start(), start());
    for child in [a, b] {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let mut runs: Vec<_> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    runs.sort();
    assert_eq!(runs.len(), 2, "two run folders: {runs:?}");
    for run in &runs {
        let r = results_json(run);
        assert_eq!(r["status"], "complete");
        let cells = r["cells"].as_array().unwrap();
        assert!(cells.iter().all(|c| c["status"] == "ok"), "{r}");
        assert_eq!(
            leftovers(r["run_id"].as_str().unwrap()),
            Vec::<String>::new()
        );
    }
}

#[test]
fn a_killed_run_is_cleaned_and_marked_by_lab_clean() {
    if !docker_available("a_killed_run_is_cleaned_and_marked_by_lab_clean") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("results");
    let mut child = start_long_run(dir.path(), &out_dir);
    child.kill().unwrap(); // SIGKILL: no handler runs
    child.wait().unwrap();
    let run = only_run(&out_dir);
    let run_id = results_json(&run)["run_id"].as_str().unwrap().to_string();
    assert_eq!(results_json(&run)["status"], "running");

    // What the killed run left shows the hardening every container gets.
    let label = format!("label=lab.run={run_id}");
    let loadgen = labelled("container", &label)
        .into_iter()
        .filter(|id| {
            inspect(
                "container",
                r#"{{index .Config.Labels "lab.role"}}"#,
                std::slice::from_ref(id),
            ) == ["loadgen"]
        })
        .collect::<Vec<_>>();
    assert_eq!(loadgen.len(), 1, "one load generator container per run");
    assert_eq!(
        inspect(
            "container",
            "{{.Config.User}} {{.HostConfig.CapDrop}} {{.HostConfig.SecurityOpt}} {{.HostConfig.Memory}} {{.HostConfig.PidsLimit}}",
            &loadgen
        ),
        ["65534:65534 [ALL] [no-new-privileges] 1073741824 256"]
    );
    let servers: Vec<String> = labelled("container", &label)
        .into_iter()
        .filter(|id| !loadgen.contains(id))
        .collect();
    assert!(!servers.is_empty());
    for line in inspect(
        "container",
        "{{.HostConfig.ReadonlyRootfs}} {{.HostConfig.CapDrop}} {{.Config.User}}",
        &servers,
    ) {
        assert_eq!(line, "true [ALL] 65534:65534");
    }
    assert_eq!(
        inspect("network", "{{.Internal}}", &labelled("network", &label)),
        ["true"]
    );

    // `lab clean` (run where the run's results folder is) sees the lock is free.
    let o = Command::new(lab_bin())
        .current_dir(dir.path())
        .args(["clean"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(leftovers(&run_id), Vec::<String>::new());
    assert_eq!(results_json(&run)["status"], "interrupted");
}

#[test]
fn bad_lab_file_fails_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = "name: bad\nservers:\n  - { name: a, model: async, port: 45000 }\nresources: { cpus: 1, memory: 64m }\nloadgen:\n  requests: 100\n  concurrency: [1, 500]\nworkloads: [ { name: w, path: / } ]\n";
    let file = lab_file(dir.path(), "bad.yaml", yaml);
    for cmd in ["check", "run"] {
        let o = lab(&[cmd, file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        let line = err
            .lines()
            .find(|l| l.contains("bad.yaml"))
            .unwrap_or_default();
        assert!(
            line.contains("bad.yaml:7:") && line.contains("loadgen.concurrency[1]"),
            "{err}"
        );
    }
}

#[test]
fn unreachable_docker_daemon_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(lab_bin())
        .current_dir(workspace())
        .env(
            "DOCKER_HOST",
            format!("unix://{}/nope.sock", dir.path().display()),
        )
        .args(["run", "lab.yaml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(lines[0].contains("cannot reach the Docker daemon"), "{err}");
    // It names the endpoint and where it came from.
    assert!(lines[0].contains("nope.sock from DOCKER_HOST: "), "{err}");
}

#[test]
fn a_missing_docker_context_is_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new(lab_bin())
        .current_dir(workspace())
        .env_remove("DOCKER_HOST")
        .env("DOCKER_CONFIG", dir.path())
        .env("DOCKER_CONTEXT", "no-such-context")
        .args(["run", "lab.yaml"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with(
            "error: cannot choose a Docker daemon: Docker context `no-such-context` \
             (DOCKER_CONTEXT) does not exist"
        ),
        "{err}"
    );
}

/// A small tmpfs mounted on a folder for as long as this value lives (unmounted on drop,
/// also when the test fails). `None` where this process may not mount (not root).
struct Tmpfs(std::path::PathBuf);

impl Tmpfs {
    fn mount(at: &std::path::Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(at).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(at)
            .status()
            .is_ok_and(|s| s.success());
        ok.then(|| Tmpfs(at.to_path_buf()))
    }

    /// Write a file until the file system is full.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.0.join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let block = vec![0u8; 4096];
        while f.write_all(&block).is_ok() {}
        while f.write_all(&[0]).is_ok() {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy, so a file still open somewhere cannot keep the mount.
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
fn a_run_stopped_by_a_full_disk_says_so_and_lab_clean_file_marks_it() {
    if !docker_available("a_run_stopped_by_a_full_disk") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("results");
    // The run wants 16 MiB free before it starts (see host.rs); the test fills the rest.
    let Some(disk) = Tmpfs::mount(&out_dir, "48m") else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    let child = start_long_run(dir.path(), &out_dir);
    let filler = disk.fill();
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("its results.json still says `running`")
            && err.contains("No space left on device"),
        "{err}"
    );
    let run = only_run(&out_dir);
    assert_eq!(results_json(&run)["status"], "running");
    std::fs::remove_file(filler).unwrap();

    // `lab clean FILE` from another folder finds the run through FILE's `output:`.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let o = Command::new(lab_bin())
        .current_dir(&elsewhere)
        .args(["clean", dir.path().join("long.yaml").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("marked 1 dead run(s)"),
        "{}",
        text(&o)
    );
    let results = results_json(&run);
    assert_eq!(results["status"], "interrupted");
    assert_eq!(
        leftovers(results["run_id"].as_str().unwrap()),
        Vec::<String>::new()
    );
    drop(disk);
}

/// A unix socket that forwards to the real Docker daemon until [`DaemonProxy::go_away`]:
/// a daemon that disappears mid-run, without stopping the real one (other tests use it).
struct DaemonProxy {
    socket: std::path::PathBuf,
    streams: std::sync::Arc<std::sync::Mutex<Vec<std::os::unix::net::UnixStream>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl DaemonProxy {
    fn start(socket: &std::path::Path) -> DaemonProxy {
        use std::os::unix::net::{UnixListener, UnixStream};
        let listener = UnixListener::bind(socket).unwrap();
        let proxy = DaemonProxy {
            socket: socket.to_path_buf(),
            streams: Default::default(),
            stop: Default::default(),
        };
        let (streams, stop) = (proxy.streams.clone(), proxy.stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let (Ok(client), Ok(daemon)) =
                    (client, UnixStream::connect("/var/run/docker.sock"))
                else {
                    continue;
                };
                let mut held = streams.lock().unwrap();
                held.push(client.try_clone().unwrap());
                held.push(daemon.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), daemon.try_clone().unwrap()),
                    (daemon, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        proxy
    }

    /// The daemon goes away: its socket file is removed and every connection is cut.
    fn go_away(&self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so that it sees `stop`.
        let _ = std::os::unix::net::UnixStream::connect(&self.socket);
        let _ = std::fs::remove_file(&self.socket);
        for s in self.streams.lock().unwrap().iter() {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[test]
fn a_daemon_that_goes_away_mid_run_is_named_with_what_may_be_left() {
    if !docker_available("a_daemon_that_goes_away_mid_run") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("results");
    let socket = dir.path().join("docker.sock");
    let proxy = DaemonProxy::start(&socket);
    let file = lab_file(dir.path(), "gone.yaml", &long_lab(&out_dir));
    let host = format!("unix://{}", socket.display());
    let mut child = Command::new(lab_bin())
        .current_dir(workspace())
        .env("DOCKER_HOST", &host)
        .args(["run", file.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_cells(&mut child, &out_dir, 1);
    proxy.go_away();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    let run = only_run(&out_dir);
    let results = results_json(&run);
    let id = results["run_id"].as_str().unwrap().to_string();
    let line = err
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        line.ends_with(&format!(
            "the Docker daemon at {host} went away; these objects may be left on it: the \
             containers and networks labelled lab.run={id} (names start with lab-{id}); run \
             `lab clean` when it is back"
        )),
        "{err}"
    );
    assert!(!err.contains("client error (Connect)"), "{err}");
    assert_eq!(results["status"], "aborted");
    // The daemon is back (the real one never left): `lab clean` removes what was left.
    assert!(
        !leftovers(&id).is_empty(),
        "the run could not have cleaned up"
    );
    let o = lab(&["clean"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(leftovers(&id), Vec::<String>::new());
}

#[test]
fn cells_sharing_cpus_with_another_live_lab_are_flagged_in_every_format() {
    if !docker_available("cells_sharing_cpus_with_another_live_lab") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("results");
    let servers = "  - { name: async, model: async, port: 45000 }";
    let file = lab_file(dir.path(), "shared.yaml", &small_lab(&out_dir, servers, ""));
    assert!(lab(&["images", file.to_str().unwrap()]).status.success());

    // Another lab run, alive: its owner (this test) holds the lock of its folder, and its
    // container runs on every CPU.
    let other = dir.path().join("other-run");
    std::fs::create_dir(&other).unwrap();
    let lock = std::fs::File::create(other.join(".lock")).unwrap();
    // SAFETY: flock on a descriptor this test owns.
    assert_eq!(
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) },
        0
    );
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let owner = format!(
        "{}:{}",
        host.trim(),
        other.canonicalize().unwrap().display()
    );
    let name = format!("lab-test-neighbour-{}", std::process::id());
    let started = Command::new("docker")
        .args(["run", "-d", "--rm", "--name", &name])
        .args(["--label", "lab.run=test-neighbour", "--label"])
        .arg(format!("lab.owner={owner}"))
        .arg("lab/server-async")
        .output()
        .unwrap();
    assert!(started.status.success(), "{}", text(&started));
    let o = lab(&["run", "--no-build", file.to_str().unwrap()]);
    let _ = Command::new("docker").args(["rm", "-f", &name]).output();
    drop(lock);
    assert!(o.status.success(), "{}", text(&o));

    let run = only_run(&out_dir);
    let results = results_json(&run);
    for c in results["cells"].as_array().unwrap() {
        // (Other helpers' lab runs on this machine may be named too: they are live labs.)
        assert!(
            c["neighbours"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n == "run test-neighbour on CPUs all"),
            "{c}"
        );
        assert!(
            c["flags"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == "shared-cpus"),
            "{c}"
        );
    }
    for format in ["report.md", "report.html", "results.csv"] {
        let body = std::fs::read_to_string(run.join(format)).unwrap();
        assert!(body.contains("shared-cpus"), "{format}: {body}");
    }
}
