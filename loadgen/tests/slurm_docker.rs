//! End-to-end with a real job engine: a single-node Slurm (munged, slurmctld, slurmd, all
//! started here in a temporary folder and stopped by PID at the end, also on failure) runs
//! the array script `lab shards --emit slurm` generates for a 3-shard lab, one task at a
//! time (`%1`: on 2 cores two shards would measure each other); then `lab merge` joins them.
//!
//! Needs Docker and Debian's `slurm-wlm` and `munge` (`.ci/run` installs them). On CI
//! (`CI=true`) a missing piece fails the test; elsewhere it is skipped with the reason.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const TOOLS: [&str; 8] = [
    "munged",
    "mungekey",
    "slurmctld",
    "slurmd",
    "sbatch",
    "squeue",
    "scontrol",
    "scancel",
];

/// The full path of a program on the PATH or in the sbin folders Debian puts daemons in.
fn find(program: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"])
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file());
    found
}

fn slurm_available(test: &str) -> bool {
    let missing: Vec<&str> = TOOLS
        .iter()
        .copied()
        .filter(|t| find(t).is_none())
        .collect();
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if missing.is_empty() && root {
        return true;
    }
    let why = if missing.is_empty() {
        "it starts slurmctld and slurmd as root, and this is not root".to_string()
    } else {
        format!(
            "{} not installed (apt-get install slurm-wlm munge)",
            missing.join(", ")
        )
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: {why}, and CI=true requires it");
    }
    eprintln!("skipping {test}: {why}");
    false
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A single-node Slurm in a temporary folder. Dropping it cancels its jobs, stops the
/// daemons by PID, waits for them, and removes the folder.
struct Slurm {
    dir: tempfile::TempDir,
    conf: PathBuf,
    daemons: Vec<Child>,
    munged: Option<i32>,
    jobs: Vec<String>,
}

impl Slurm {
    fn start() -> Slurm {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_path_buf();
        let mut slurm = Slurm {
            conf: d.join("slurm.conf"),
            dir,
            daemons: Vec::new(),
            munged: None,
            jobs: Vec::new(),
        };
        for sub in ["munge", "state", "spool"] {
            std::fs::create_dir(d.join(sub)).unwrap();
        }
        let key = d.join("munge/munge.key");
        run_ok(
            Command::new(find("mungekey").unwrap())
                .arg("-c")
                .arg("-k")
                .arg(&key),
        );
        let socket = d.join("munge/munge.socket");
        let pidfile = d.join("munge/munged.pid");
        run_ok(
            Command::new(find("munged").unwrap())
                .arg(format!("--key-file={}", key.display()))
                .arg(format!("--socket={}", socket.display()))
                .arg(format!("--pid-file={}", pidfile.display()))
                .arg(format!(
                    "--log-file={}",
                    d.join("munge/munged.log").display()
                ))
                .arg(format!(
                    "--seed-file={}",
                    d.join("munge/munged.seed").display()
                ))
                .arg("--force"),
        );
        slurm.munged = std::fs::read_to_string(&pidfile)
            .ok()
            .and_then(|p| p.trim().parse().ok());
        assert!(slurm.munged.is_some(), "munged wrote no pid file");

        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim()
            .to_string();
        let conf = format!(
            "ClusterName=labtest\nSlurmctldHost={host}(127.0.0.1)\nSlurmUser=root\nSlurmdUser=root\n\
             SlurmctldPort={}\nSlurmdPort={}\nAuthType=auth/munge\nCredType=cred/munge\n\
             AuthInfo=socket={}\nStateSaveLocation={d}/state\nSlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\nSlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/slurmctld.log\nSlurmdLogFile={d}/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSwitchType=switch/none\n\
             MpiDefault=none\nSchedulerType=sched/builtin\nSelectType=select/linear\nReturnToService=2\n\
             AccountingStorageType=accounting_storage/none\nJobAcctGatherType=jobacct_gather/none\n\
             JobCompType=jobcomp/none\n\
             NodeName=labnode NodeAddr=127.0.0.1 NodeHostname={host} CPUs=2 State=UNKNOWN\n\
             PartitionName=lab Nodes=labnode Default=YES MaxTime=INFINITE State=UP\n",
            free_port(),
            free_port(),
            socket.display(),
            d = d.display()
        );
        std::fs::write(&slurm.conf, conf).unwrap();
        for (daemon, extra) in [
            ("slurmctld", &["-i"][..]),
            ("slurmd", &["-N", "labnode"][..]),
        ] {
            let child = Command::new(find(daemon).unwrap())
                .arg("-D")
                .args(extra)
                .arg("-f")
                .arg(&slurm.conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            slurm.daemons.push(child);
        }
        slurm.wait_for(Duration::from_secs(60), "the node to be idle", |s| {
            s.output("scontrol", &["show", "node", "labnode"])
                .contains("State=IDLE")
        });
        slurm
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(find(program).unwrap());
        c.env("SLURM_CONF", &self.conf);
        c
    }

    fn output(&self, program: &str, args: &[&str]) -> String {
        self.command(program)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
            .unwrap_or_default()
    }

    /// Poll `done` every half second; panic with the daemons' logs after `limit`.
    fn wait_for(&self, limit: Duration, what: &str, done: impl Fn(&Slurm) -> bool) {
        let start = Instant::now();
        while !done(self) {
            if start.elapsed() > limit {
                panic!("Slurm: waited {limit:?} for {what}\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn logs(&self) -> String {
        ["slurmctld.log", "slurmd.log", "munge/munged.log"]
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
                let tail: Vec<&str> = text.lines().rev().take(15).collect();
                format!(
                    "--- {f}\n{}",
                    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `sbatch` the script; the job id.
    fn submit(&mut self, script: &Path, env: &[(&str, &str)]) -> String {
        let o = self
            .command("sbatch")
            .arg("--parsable")
            .arg(script)
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert!(o.status.success(), "sbatch: {}\n{}", text(&o), self.logs());
        let id = String::from_utf8_lossy(&o.stdout)
            .trim()
            .split(';')
            .next()
            .unwrap()
            .to_string();
        self.jobs.push(id.clone());
        id
    }

    fn job_done(&self, id: &str) -> bool {
        self.output("squeue", &["-h", "-j", id]).trim().is_empty()
    }
}

fn run_ok(c: &mut Command) {
    let o = c.output().unwrap();
    assert!(o.status.success(), "{c:?}: {}", text(&o));
}

fn process_gone(pid: i32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
        || std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

impl Drop for Slurm {
    fn drop(&mut self) {
        for job in &self.jobs {
            let _ = self.command("scancel").arg(job).status();
        }
        let start = Instant::now();
        while self.jobs.iter().any(|j| !self.job_done(j))
            && start.elapsed() < Duration::from_secs(60)
        {
            std::thread::sleep(Duration::from_millis(500));
        }
        for child in self.daemons.iter_mut().rev() {
            // SAFETY: a signal to a child process this test started.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
        for child in &mut self.daemons {
            let start = Instant::now();
            while child.try_wait().ok().flatten().is_none() {
                if start.elapsed() > Duration::from_secs(20) {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        if let Some(pid) = self.munged {
            // SAFETY: the munged this test started (its pid file).
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let start = Instant::now();
            while !process_gone(pid) && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        // The TempDir field removes the folder after this.
    }
}

/// 1 group × concurrency 1, 5, 10 = 3 points, one per shard, 2 servers each.
fn three_points(output: &Path) -> String {
    format!(
        "name: slurm\noutput: {}\nwarmup: 50\npin: off\nservers:\n  - {{ name: async, model: async, port: 45000 }}\n  - {{ name: thread, model: thread, port: 46000 }}\nresources: {{ cpus: 1, memory: 64m }}\nloadgen: {{ requests: 100, concurrency: [1, 5, 10], timeout: 10s }}\nworkloads:\n  - {{ name: hello, path: / }}\n",
        output.display()
    )
}

#[test]
fn a_slurm_array_runs_every_shard_and_lab_merge_joins_them() {
    if !docker_available("a_slurm_array_runs_every_shard_and_lab_merge_joins_them")
        || !slurm_available("a_slurm_array_runs_every_shard_and_lab_merge_joins_them")
    {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("shards");
    let file = lab_file(dir.path(), "slurm.yaml", &three_points(&out));
    let file = file.to_str().unwrap();
    // The images once, so that every task measures the same image ids (`--no-build`).
    let o = lab(&["images", file]);
    assert!(o.status.success(), "{}", text(&o));
    let o = lab(&[
        "shards",
        file,
        "--count",
        "3",
        "--emit",
        "slurm",
        "--parallel",
        "1",
        "--no-build",
        "--output",
        out.to_str().unwrap(),
        "--workdir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let script = dir.path().join("lab-slurm.sbatch");
    std::fs::write(&script, &o.stdout).unwrap();
    assert!(String::from_utf8_lossy(&o.stdout).contains("#SBATCH --array=0-2%1"));

    let mut slurm = Slurm::start();
    let job = slurm.submit(&script, &[("LAB", lab_bin())]);
    let logs = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
            .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    };
    slurm.wait_for(Duration::from_secs(600), "the array job to finish", |s| {
        s.job_done(&job)
    });
    let states = slurm.output("scontrol", &["show", "job", &job]);
    let done = states.matches("JobState=COMPLETED").count();
    assert_eq!(done, 3, "{states}\n{}", logs());

    let mut shards: Vec<PathBuf> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    shards.sort_by_key(|p| {
        p.to_string_lossy()
            .rsplit("-shard-")
            .next()
            .unwrap()
            .to_string()
    });
    assert_eq!(shards.len(), 3, "{shards:?}\n{}", logs());
    // One task at a time: each shard started when the one before had finished.
    for pair in shards.windows(2) {
        let (a, b) = (results_json(&pair[0]), results_json(&pair[1]));
        assert!(
            a["finished_at"].as_str().unwrap() <= b["started_at"].as_str().unwrap(),
            "{a}\n{b}"
        );
    }
    for s in &shards {
        let run_id = results_json(s)["run_id"].as_str().unwrap().to_string();
        assert_eq!(leftovers(&run_id), Vec::<String>::new(), "{run_id}");
    }

    let merged = dir.path().join("merged");
    let o = lab(&[
        "merge",
        out.to_str().unwrap(),
        "--output",
        merged.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let results = results_json(&merged);
    let cells = results["cells"].as_array().unwrap();
    let mut points: Vec<String> = cells
        .iter()
        .map(|c| format!("{} c={}", c["server"].as_str().unwrap(), c["concurrency"]))
        .collect();
    points.sort();
    assert_eq!(
        points,
        [
            "async c=1",
            "async c=10",
            "async c=5",
            "thread c=1",
            "thread c=10",
            "thread c=5"
        ],
        "every point once, with both servers"
    );
    assert!(cells.iter().all(|c| c["status"] == "ok"), "{results}");
    let report = std::fs::read_to_string(merged.join("report.md")).unwrap();
    for shard in ["| 0/3 |", "| 1/3 |", "| 2/3 |"] {
        assert!(report.contains(shard), "{report}");
    }
    assert!(merged.join("report.html").exists() && merged.join("results.csv").exists());
    drop(slurm);
}
