//! The run loop through the fake engine (`engine::fake`): round scheduling, `repeat: auto`,
//! a server restarted after it dies, a failed exec, cleanup when a run fails midway, and
//! Ctrl-C. The fast twins of `tests/lab_docker.rs`, which runs the same flows on Docker.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::engine::fake::Fake;
use crate::engine::EngineInfo;

const SERVERS: &str =
    "  - { name: a, model: async, port: 45000 }\n  - { name: b, model: thread, port: 46000 }";

/// A lab of two servers on one workload, concurrency 1 and 2, sending `amount` (`""`:
/// cells sized by the steady-state policy), with `extra` lines.
fn lab_yaml_sending(output: &Path, resources: &str, amount: &str, extra: &str) -> String {
    format!(
        "name: fake\noutput: {}\nwarmup: 0\nservers:\n{SERVERS}\nresources: {resources}\nloadgen: {{ {amount}concurrency: [1, 2] }}\nworkloads:\n  - {{ name: hello, path: / }}\n{extra}",
        output.display()
    )
}

/// A lab file in a temporary folder, its run folder, and the fake engine as both roles
/// (or, from [`Bench::two_hosts`], `fake` for the servers and `loadgen` for the rest).
struct Bench {
    _dir: tempfile::TempDir,
    opts: RunOptions,
    owned: OwnedRun,
    fake: Arc<Fake>,
    loadgen: Arc<Fake>,
    engines: Engines,
}

impl Bench {
    /// The servers on one fake engine, the load generator on another that reaches them at
    /// `hosts.servers.address` and their published ports.
    fn two_hosts(extra: &str) -> Bench {
        let hosts = "hosts:\n  servers: { docker: \"tcp://10.0.0.5:2375\", address: 10.0.0.5 }\n";
        let mut bench = Bench::new("{ cpus: 1, memory: 64m }", &format!("{hosts}{extra}"));
        let (servers, loadgen) = (
            Arc::new(Fake::named("servers")),
            Arc::new(Fake::named("loadgen")),
        );
        loadgen.reaches(servers.clone());
        bench.engines = Engines::pair(
            servers.clone(),
            loadgen.clone(),
            EngineInfo::default(),
            "10.0.0.5",
        );
        (bench.fake, bench.loadgen) = (servers, loadgen);
        bench
    }

    /// The servers on one fake engine, two load generator hosts on two others
    /// (`hosts.loadgen` as a list): the bench, and the two load generators' fakes.
    fn two_loadgen_hosts() -> (Bench, Arc<Fake>, Arc<Fake>) {
        let hosts = "hosts:\n  servers: { docker: \"tcp://10.0.0.5:2375\", address: 10.0.0.5 }\n  loadgen: [\"tcp://10.0.0.6:2375\", \"tcp://10.0.0.7:2375\"]\n";
        let mut bench = Bench::sending(
            "{ cpus: 0.25, memory: 64m }",
            "",
            &format!("pin: off\nrepeat: 1\n{hosts}"),
        );
        let servers = Arc::new(Fake::named("servers"));
        let (first, second) = (
            Arc::new(Fake::named("loadgen")),
            Arc::new(Fake::named("second")),
        );
        first.reaches(servers.clone());
        second.reaches(servers.clone());
        bench.engines = Engines::pair(
            servers.clone(),
            first.clone(),
            EngineInfo::default(),
            "10.0.0.5",
        );
        bench
            .engines
            .loadgen_also
            .push(crate::placement::AlsoLoadgen {
                engine: second.clone(),
                info: EngineInfo::default(),
                with_servers: false,
                with_loadgen: false,
            });
        (bench.fake, bench.loadgen) = (servers, first.clone());
        (bench, first, second)
    }

    fn new(resources: &str, extra: &str) -> Bench {
        Bench::sending(resources, "requests: 1000, ", extra)
    }

    /// A bench whose loadgen sends `amount` (see [`lab_yaml_sending`]).
    fn sending(resources: &str, amount: &str, extra: &str) -> Bench {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("lab.yaml");
        let yaml = lab_yaml_sending(&dir.path().join("results"), resources, amount, extra);
        std::fs::write(&file, yaml).unwrap();
        let lab = config::load(&file, 2).unwrap();
        let owned = OwnedRun::create(&lab).unwrap();
        let fake = Arc::new(Fake::new());
        let info = EngineInfo {
            cpus: 2,
            ..EngineInfo::default()
        };
        let engines = Engines::single(fake.clone(), info);
        let opts = RunOptions {
            lab_file: file,
            lab,
            no_build: true,
            sweep: None,
        };
        Bench {
            _dir: dir,
            opts,
            owned,
            loadgen: fake.clone(),
            fake,
            engines,
        }
    }

    /// The run as `lab run` drives it, with the fake's images, until it ends or the
    /// fake's scripted Ctrl-C.
    async fn run(&self) -> Ended<Results> {
        self.run_until(self.loadgen.cancelled()).await
    }

    /// [`Bench::run`] until it ends or `cancel` resolves.
    async fn run_until(&self, cancel: impl std::future::Future<Output = ()>) -> Ended<Results> {
        let images = Images {
            ids: BTreeMap::new(),
            loadgen: "lab/ab:local".into(),
            loadgen_source: "the fake engine".into(),
            loadgen_also: vec!["lab/ab:local".into(); self.engines.loadgen_also.len()],
            failures: HashMap::new(),
        };
        let work = run_with(&self.engines, &self.opts, &self.owned, async {
            Ok((images, Vec::new()))
        });
        guard(&self.engines, &self.owned.id, work, cancel).await
    }

    /// results.json as written.
    fn results(&self) -> Results {
        crate::record::load(&self.owned.id.dir).unwrap()
    }
}

fn finished(ended: Ended<Results>) -> Results {
    match ended {
        Ended::Finished(r) => r,
        Ended::Aborted(e) => panic!("the run failed: {e:#}"),
        Ended::Interrupted => panic!("the run was interrupted"),
    }
}

/// The order the fake saw the servers in, as one string per point: "abbaab".
fn order(cells: &[String], per_point: usize) -> Vec<String> {
    cells.chunks(per_point).map(|c| c.concat()).collect()
}

#[tokio::test]
async fn rounds_interleave_the_servers_a_b_then_b_a() {
    let bench = Bench::new("{ cpus: 1, memory: 64m }", "pin: off\nrepeat: 3\n");
    let results = finished(bench.run().await);
    assert_eq!(
        order(&bench.fake.cells(), 6),
        ["abbaab", "abbaab"],
        "each point: three rounds, the servers' order alternating"
    );
    assert_eq!(results.cells.len(), 12);
    assert!(results.cells.iter().all(|c| c.status == Status::Ok));
    assert_eq!(bench.results().status, "complete");
    assert_eq!(bench.fake.leftovers(), Vec::<String>::new());
}

#[tokio::test]
async fn repeat_auto_stops_at_min_once_every_server_is_known() {
    let auto = "pin: off\nrepeat: { target: 5%, min: 6, max: 10, time: 600s }\n";
    let bench = Bench::new("{ cpus: 1, memory: 64m }", auto);
    bench.fake.rates("a", &[1000.0]);
    bench.fake.rates("b", &[2000.0, 2010.0, 1990.0]);
    let results = finished(bench.run().await);
    assert_eq!(
        results.cells.len(),
        2 * 2 * 6,
        "6 rounds of 2 servers, 2 points"
    );
}

/// The steady-state policy through the run loop: cells of 3 s (`ab -t 3 -g …`), each with
/// a steady window of 2 whole seconds (20 periods of 100 ms), judged on it, and
/// `repeat: auto` settled by the seconds' batches after the minimum of 2 rounds.
#[tokio::test]
async fn cells_sized_by_the_policy_have_steady_windows_and_settle_in_two_rounds() {
    let bench = Bench::sending(
        "{ cpus: 0.25, memory: 64m }",
        "",
        "pin: off\nrepeat: auto\n",
    );
    bench.fake.rates("a", &[3000.0]);
    bench.fake.rates("b", &[2000.0]);
    let results = finished(bench.run().await);
    assert_eq!(
        results.cells.len(),
        2 * 2 * 2,
        "2 rounds of 2 servers, 2 points"
    );
    for c in &results.cells {
        assert_eq!(c.duration_s, Some(3.0));
        assert!(
            c.command.join(" ").starts_with("ab -t 3 -n 10000000 -c"),
            "{:?}",
            c.command
        );
        let s = c.steady.as_ref().expect("a steady window");
        assert_eq!(s.window_end_unix_s - s.window_start_unix_s, 2.0);
        assert!((s.periods_covered - 20.0).abs() < 1e-9 && s.long_enough());
        assert_eq!(
            s.period_source, "configured",
            "the fake has no cgroup files"
        );
        assert_eq!(s.quota_cores, Some(0.25));
        let want = if c.server == "a" { 3000.0 } else { 2000.0 };
        assert_eq!((s.rps, c.rps()), (want, Some(want)));
        // A timed cell asks for no count, yet its thousands of requests keep ab's
        // sub-millisecond percentiles (`-e`), not the whole-ms table.
        assert_eq!(c.latency(crate::record::Percentile::P99), Some(0.2475));
        assert!(
            !c.flags.contains(&crate::record::Flag::ShortCell),
            "{:?}",
            c.flags
        );
        assert!(std::path::Path::new(&bench.owned.id.dir)
            .join(format!("raw/{}.requests.tsv.gz", c.id))
            .is_file());
    }
}

/// `loadgen.processes: 2`: a cell of two connections is sent by two ab processes of one
/// connection each, both started by one agent run; their reports merge (requests summed,
/// the steady window over both processes' requests) and each keeps its raw files. A cell
/// of one connection stays one process.
#[tokio::test]
async fn two_processes_share_a_cell_and_merge() {
    let bench = Bench::sending(
        "{ cpus: 0.25, memory: 64m }",
        "processes: 2, ",
        "pin: off\nrepeat: 1\n",
    );
    bench.fake.rates("a", &[3000.0]);
    bench.fake.rates("b", &[2000.0]);
    let results = finished(bench.run().await);
    let dir = std::path::Path::new(&bench.owned.id.dir);
    for c in &results.cells {
        let per_process = if c.server == "a" { 3000.0 } else { 2000.0 };
        let s = c.steady.as_ref().expect("a steady window");
        if c.concurrency == 1 {
            assert!(c.processes.is_empty(), "one connection, one process");
            assert_eq!(s.rps, per_process);
            continue;
        }
        assert_eq!(c.processes.len(), 2, "{}", c.id);
        assert_eq!(s.rps, 2.0 * per_process, "both processes' requests");
        let m = c.measurement().unwrap();
        let complete: u64 = c.processes.iter().map(|p| p.complete.unwrap()).sum();
        assert_eq!(m.complete, Some(complete));
        assert!(c.percentiles_fine.is_none(), "-e files do not merge");
        assert_eq!(m.latency_ms["99"], 1.0, "whole ms from the union of -g");
        for (i, p) in c.processes.iter().enumerate() {
            assert!(p.command.join(" ").contains(" -c 1 "), "{:?}", p.command);
            assert!(dir.join(&p.raw_stdout).is_file(), "{}", p.raw_stdout);
            assert!(dir.join(p.raw_requests.as_ref().unwrap()).is_file());
            assert_eq!(i == 0, p.raw_stdout == c.raw_stdout);
        }
        assert!(c.processes[1].raw_stdout.contains(".p2."));
    }
}

/// Two load generator hosts (`hosts.loadgen` as a list): a cell's connections are shared
/// out between them, both hosts' agents are told one start time, each reaches the servers
/// by its own route, and the cell's figures merge both hosts' requests; nothing is left on
/// either host.
#[tokio::test]
async fn two_loadgen_hosts_share_a_cell_and_merge() {
    let (bench, first, second) = Bench::two_loadgen_hosts();
    bench.fake.rates("a", &[3000.0]);
    bench.fake.rates("b", &[2000.0]);
    let results = finished(bench.run().await);
    assert_eq!(results.cells.len(), 4);
    for c in &results.cells {
        let per_process = if c.server == "a" { 3000.0 } else { 2000.0 };
        let s = c.steady.as_ref().expect("a steady window");
        assert_eq!(c.limits.loadgen_hosts, Some(2), "{}", c.id);
        if c.concurrency == 1 {
            assert!(
                c.processes.is_empty(),
                "one connection: the first host alone"
            );
            assert_eq!(s.rps, per_process);
            continue;
        }
        let hosts: Vec<_> = c.processes.iter().map(|p| p.host.as_deref()).collect();
        assert_eq!(hosts, [Some("fake://loadgen"), Some("fake://second")]);
        assert_eq!(s.rps, 2.0 * per_process, "both hosts' requests");
        let m = c.measurement().unwrap();
        let complete: u64 = c.processes.iter().map(|p| p.complete.unwrap()).sum();
        assert_eq!(m.complete, Some(complete));
        for p in &c.processes {
            assert!(p.command.join(" ").contains(" -c 1 "), "{:?}", p.command);
            assert!(p.command.last().unwrap().starts_with("http://10.0.0.5:"));
        }
    }
    // One start time for both hosts' agents, per cell that both sent.
    let starts = |fake: &Fake| -> Vec<String> {
        (fake.log().iter())
            .filter(|l| l.contains("lab-agent run") && l.contains("--start-at"))
            .map(|l| {
                let at = l
                    .split("--start-at ")
                    .nth(1)
                    .unwrap_or_else(|| panic!("{l}"));
                at.split(' ').next().unwrap().to_string()
            })
            .collect()
    };
    assert_eq!(
        starts(&first).len(),
        2,
        "the two cells of 2 connections: {:?}",
        first.log()
    );
    assert_eq!(starts(&first), starts(&second));
    let placed = results.placement.as_ref().unwrap();
    assert_eq!(placed.loadgen_also.len(), 1);
    assert_eq!(placed.loadgen_also[0].loadgen, "fake://second");
    assert_eq!(
        placed.loadgen_also[0].route.to_string(),
        "10.0.0.5 (published ports)"
    );
    assert_eq!(second.leftovers(), Vec::<String>::new());
    assert_eq!(first.leftovers(), Vec::<String>::new());
}

/// A point whose requests take 0.7 s leaves a 3 s cell one steady second (the requests
/// still in flight end the window): its first cell is measured again for 4 s, its next
/// cells run 4 s from the start, and the other server's cells stay at 3 s.
#[tokio::test]
async fn a_latency_that_leaves_too_short_a_window_lengthens_the_point_once() {
    let bench = Bench::sending("{ cpus: 0.25, memory: 64m }", "", "pin: off\nrepeat: 3\n");
    bench.fake.latency("b", 700);
    let results = finished(bench.run().await);
    assert_eq!(
        results.cells.len(),
        3 * 2 * 2,
        "3 rounds of 2 servers, 2 points"
    );
    for c in &results.cells {
        let s = c.steady.as_ref().expect("a steady window");
        let (seconds, from) = match c.server.as_str() {
            "a" => (3.0, None),
            _ => (4.0, Some(3.0)),
        };
        assert_eq!(c.duration_s, Some(seconds), "{}", c.id);
        assert_eq!(s.lengthened_from_s, from, "{}", c.id);
        assert!(
            c.command
                .join(" ")
                .starts_with(&format!("ab -t {seconds} ")),
            "{:?}",
            c.command
        );
        assert!(s.long_enough(), "{}: {} periods", c.id, s.periods_covered);
        assert!(!c.flags.contains(&crate::record::Flag::ShortCell));
    }
    // One cell each, plus one more try for each of b's two points.
    let execs = bench
        .fake
        .log()
        .iter()
        .filter(|l| l.contains(" -t "))
        .count();
    assert_eq!(execs, 12 + 2, "{:#?}", bench.fake.log());
}

/// A file that asks for 1000 requests under a quota keeps them, and says the cells are short.
#[tokio::test]
async fn a_request_count_under_a_quota_is_kept_and_flagged_short() {
    let bench = Bench::new("{ cpus: 0.25, memory: 64m }", "pin: off\nrepeat: 1\n");
    let results = finished(bench.run().await);
    assert!(results.cells.iter().all(|c| c.duration_s.is_none()));
    for c in &results.cells {
        assert!(
            c.command.join(" ").starts_with("ab -n 1000 "),
            "{:?}",
            c.command
        );
        let s = c.steady.as_ref().expect("ab's -g file");
        assert_eq!(s.requests, 0, "no whole second of steady load");
        assert!(
            (s.periods_covered - 2.2).abs() < 1e-4,
            "{} periods, not 0.22 s of 100 ms",
            s.periods_covered
        );
        assert!(
            c.flags.contains(&crate::record::Flag::ShortCell),
            "{:?}",
            c.flags
        );
        assert_eq!(c.rps(), Some(1000.0), "the tool's own rate stands");
    }
}

#[tokio::test]
async fn repeat_auto_goes_on_to_max_while_a_server_is_noisy() {
    let auto = "pin: off\nrepeat: { target: 5%, min: 6, max: 10, time: 600s }\n";
    let bench = Bench::new("{ cpus: 1, memory: 64m }", auto);
    bench
        .fake
        .rates("b", &[1000.0, 3000.0, 500.0, 2500.0, 800.0, 2000.0, 600.0]);
    let results = finished(bench.run().await);
    assert_eq!(
        results.cells.len(),
        2 * 2 * 10,
        "10 rounds: b never narrows"
    );
    let rounds: String = (0..10)
        .map(|r| if r % 2 == 0 { "ab" } else { "ba" })
        .collect();
    assert_eq!(order(&bench.fake.cells(), 20), [rounds.clone(), rounds]);
}

#[tokio::test]
async fn a_server_that_dies_fails_its_cell_and_is_restarted_for_the_next() {
    let bench = Bench::new("{ cpus: 1, memory: 64m }", "pin: off\nrepeat: 3\n");
    // Point 1 runs a b b a a b: a dies in its second cell, the fourth of the run.
    bench.fake.die_in_cell("a", 2);
    let results = finished(bench.run().await);
    let dead = &results.cells[3];
    assert_eq!((dead.server.as_str(), dead.status), ("a", Status::Failed));
    let reason = dead.reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains("OOM-killed") && reason.contains("during the cell"),
        "{reason}"
    );
    assert!(
        reason.contains("out of memory"),
        "its last log line: {reason}"
    );
    assert_eq!(bench.fake.starts("server"), 3, "a, b, then a afresh");
    let after: Vec<_> = results.cells[4..].iter().map(|c| c.status).collect();
    assert!(after.iter().all(|s| *s == Status::Ok), "{after:?}");
    assert_eq!(bench.fake.leftovers(), Vec::<String>::new());
}

#[tokio::test]
async fn a_server_that_exits_at_start_is_recorded_failed_and_the_other_completes() {
    let bench = Bench::new("{ cpus: 1, memory: 64m }", "pin: off\nrepeat: 1\n");
    bench
        .fake
        .exit_at_start("a", 2, "error: unknown flag --no-such-flag");
    let results = finished(bench.run().await);
    assert_eq!(results.server_failures.len(), 1);
    let failure = &results.server_failures[0];
    assert_eq!(failure.server, "a");
    assert!(
        failure.reason.contains("exited with code 2"),
        "{}",
        failure.reason
    );
    assert!(
        failure.reason.contains("--no-such-flag"),
        "{}",
        failure.reason
    );
    for c in &results.cells {
        let reason = c.reason.as_deref().unwrap_or_default();
        match c.server.as_str() {
            "a" => assert!(reason.contains("server not available"), "{reason}"),
            _ => assert_eq!(c.status, Status::Ok, "{reason}"),
        }
    }
    assert_eq!(
        bench.fake.cells(),
        ["b", "b"],
        "no cell runs against a dead server"
    );
    assert_eq!(bench.fake.leftovers(), Vec::<String>::new());
}

#[tokio::test]
async fn a_failed_exec_fails_its_cell_only() {
    let bench = Bench::new("{ cpus: 1, memory: 64m }", "pin: off\nrepeat: 1\n");
    bench.fake.fail_exec_in_cell(2);
    let results = finished(bench.run().await);
    let statuses: Vec<_> = results.cells.iter().map(|c| c.status).collect();
    assert_eq!(
        statuses,
        [Status::Ok, Status::Failed, Status::Ok, Status::Ok]
    );
    let reason = results.cells[1].reason.as_deref().unwrap_or_default();
    assert!(reason.contains("the fake fails cell 2"), "{reason}");
    assert_eq!(bench.fake.leftovers(), Vec::<String>::new());
}

#[tokio::test]
async fn a_run_that_fails_midway_removes_everything_it_created() {
    // Two groups; `pin: auto` on 2 CPUs pins the first (1 CPU) and not the second (2
    // CPUs), so the second needs a load generator of its own, and that start fails.
    let groups = "{ cpus: [1, 2], memory: 64m }";
    let bench = Bench::new(groups, "pin: auto\nrepeat: 1\n");
    bench.fake.fail_start("loadgen", 2);
    let err = match bench.run().await {
        Ended::Aborted(e) => format!("{e:#}"),
        _ => panic!("the run should fail"),
    };
    assert!(err.contains("the fake refuses this start"), "{err}");
    assert_eq!(bench.fake.leftovers(), Vec::<String>::new());
    let results = bench.results();
    assert_eq!(results.status, "aborted");
    assert_eq!(results.cells.len(), 4, "the first group's cells are kept");
}

#[tokio::test]
async fn ctrl_c_in_a_cell_removes_everything_and_marks_the_run_interrupted() {
    let bench = Bench::new("{ cpus: 1, memory: 64m }", "pin: off\nrepeat: 2\n");
    bench.fake.cancel_in_cell(3);
    assert!(matches!(bench.run().await, Ended::Interrupted));
    assert_eq!(bench.fake.leftovers(), Vec::<String>::new());
    let results = bench.results();
    assert_eq!(results.status, "interrupted");
    assert_eq!(
        results.cells.len(),
        2,
        "the cells finished before Ctrl-C are kept"
    );
    assert!(bench.fake.log().iter().any(|l| l == "sweep"));
}

#[tokio::test]
async fn two_engines_reach_the_servers_at_published_ports_and_both_are_cleaned() {
    let bench = Bench::two_hosts("pin: off\nrepeat: 1\n");
    let results = finished(bench.run().await);
    assert!(results.cells.iter().all(|c| c.status == Status::Ok));
    assert_eq!(bench.fake.cells(), ["a", "b", "a", "b"]);
    assert_eq!(bench.fake.starts("server"), 2);
    assert_eq!(bench.loadgen.starts("loadgen"), 1);
    let got = |fake: &Fake, line: &str| fake.log().iter().any(|l| l.starts_with(line));
    assert!(got(&bench.loadgen, "create network") && got(&bench.fake, "create network"));
    let execs: Vec<String> = bench
        .loadgen
        .log()
        .into_iter()
        .filter(|l| l.starts_with("exec"))
        .collect();
    assert!(
        execs.iter().any(|l| l.contains("http://10.0.0.5:3")),
        "{execs:?}"
    );
    assert_eq!(bench.fake.leftovers(), Vec::<String>::new());
    assert_eq!(bench.loadgen.leftovers(), Vec::<String>::new());
}

#[tokio::test]
async fn ctrl_c_with_two_engines_leaves_nothing_on_either() {
    let bench = Bench::two_hosts("pin: off\nrepeat: 2\n");
    bench.fake.cancel_in_cell(3);
    let ended = bench.run_until(bench.fake.cancelled()).await;
    assert!(matches!(ended, Ended::Interrupted));
    assert_eq!(bench.fake.leftovers(), Vec::<String>::new());
    assert_eq!(bench.loadgen.leftovers(), Vec::<String>::new());
    assert_eq!(bench.results().status, "interrupted");
}

#[tokio::test]
async fn a_daemon_that_goes_away_stops_the_run_and_is_named() {
    let bench = Bench::new("{ cpus: 1, memory: 64m }", "pin: off\nrepeat: 2\n");
    bench.fake.go_away_in_cell(3);
    let err = match bench.run().await {
        Ended::Aborted(e) => format!("{e:#}"),
        _ => panic!("the run should stop"),
    };
    let id = &bench.owned.id.id;
    assert!(
        err.contains("the Docker daemon at fake://engine went away"),
        "{err}"
    );
    assert!(err.contains(&format!("lab.run={id}")), "{err}");
    let results = bench.results();
    assert_eq!(results.status, "aborted");
    assert_eq!(
        results.cells.len(),
        2,
        "the cell it went away in is no measurement"
    );
    assert!(
        !bench.fake.log().iter().any(|l| l == "sweep"),
        "nothing is swept from a daemon that went away"
    );
}

#[tokio::test]
async fn a_shard_measures_only_its_points_and_records_the_sweep_and_the_host() {
    let mut bench = Bench::new("{ cpus: [0.5, 1], memory: 64m }", "pin: off\n");
    let shard = crate::shard::Shard::parse("1/2").unwrap();
    let sweep = crate::meta::sweep::Sweep {
        lab_sha256: "5eed".into(),
        shard,
        points: crate::shard::split::shard_point_ids(&bench.opts.lab, &shard),
    };
    assert_eq!(sweep.points, ["g1-hello-noka-c1", "g1-hello-noka-c2"]);
    bench.opts.sweep = Some(sweep.clone());
    let results = finished(bench.run().await);
    let ids: Vec<&str> = results.cells.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "g1-a-hello-noka-c1-r0",
            "g1-b-hello-noka-c1-r0",
            "g1-a-hello-noka-c2-r0",
            "g1-b-hello-noka-c2-r0"
        ],
        "the second group's points only, with both servers, ids as in the whole run"
    );
    let meta = crate::meta::load_meta(&bench.owned.id.dir).unwrap();
    assert_eq!(meta.sweep, Some(sweep));
    let print = meta.fingerprint.expect("the host's fingerprint");
    assert_eq!(print.servers.cpus, 2);
}
