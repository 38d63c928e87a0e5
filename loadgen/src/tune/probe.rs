//! One probe: a real cell of the lab file at one pair of limits, with the file's usual
//! repetitions, evidence and verdicts, judged against the target.
//!
//! A probe is an ordinary `lab run` of a lab built in memory from the file's own (one
//! server, one workload, one concurrency, the probe's `cpus` and `memory`), written into a
//! folder of its own under the tune's `probes/`. Reusing the runner whole means a probe
//! gets everything a run has (the server verified and warmed up, exact counters, the raw ab
//! output, a verdict per repetition, OOM kills recorded as failed cells, clean-up) and
//! keeps its evidence on disk, where the tune report links to it. It costs about 3 s of
//! container start and stop per probe on a 2-core machine, which the search's few probes
//! can afford.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::{Deserialize, Serialize};

use super::search::Outcome;
use crate::config::tune::TargetLoad;
use crate::config::{self, Lab, Target};
use crate::placement::Engines;
use crate::record::Limiter;
use crate::record::{Cell, Percentile, Results, Status};
use crate::run::{self as runner, OwnedRun, RunId, RunOptions};
use crate::stats;

/// What a probe measured, summarised over its repetitions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Repetitions measured, and how many of them failed (OOM kill, timeout, ...).
    pub repetitions: usize,
    pub failed: usize,
    /// Median good (2xx) req/s of the measured repetitions.
    pub rps: Option<f64>,
    /// Its 95% interval (min–max below 6 repetitions).
    pub rps_range: Option<(f64, f64)>,
    /// Median of the repetitions' p99 latencies, ms.
    pub p99_ms: Option<f64>,
    /// Failed or non-2xx responses over all responses.
    pub error_share: f64,
    /// The verdict most repetitions got.
    pub limiter: Option<Limiter>,
    /// The server's median CPU use over the cells, in cores.
    pub server_cores: Option<f64>,
    /// The median share of its quota periods in which the server was throttled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttled_share: Option<f64>,
    /// The server's highest memory use in any repetition, bytes.
    pub memory_peak_bytes: Option<u64>,
    /// The fewest quota periods of steady load any repetition covered (`None`: no
    /// per-request data, or probes recorded before the lab measured it).
    #[serde(default)]
    pub periods_covered: Option<f64>,
    /// One-second windows of the steady windows in which the target held (req/s and p99),
    /// and all of them (`None`: no per-second data, e.g. oha).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seconds_held: Option<(usize, usize)>,
    /// Why the probe passed or failed, in words.
    pub reason: String,
}

impl Figures {
    /// `57 of 58 seconds (98%)`.
    pub fn held_text(&self) -> Option<String> {
        let (held, all) = self.seconds_held.filter(|(_, all)| *all > 0)?;
        Some(format!(
            "{held} of {all} seconds ({:.0}%)",
            100.0 * held as f64 / all as f64
        ))
    }
}

/// The one-second windows of the cells' steady windows in which the target held: at least
/// its req/s (every answer of that second, good or not: the errors bound is the whole
/// run's) and, when it bounds p99, that second's p99 within it.
pub fn seconds_held(target: &Target, cells: &[&Cell]) -> Option<(usize, usize)> {
    let seconds: Vec<_> = cells
        .iter()
        .filter_map(|c| c.steady.as_ref())
        .flat_map(|s| s.seconds.iter())
        .collect();
    if seconds.is_empty() {
        return None;
    }
    let held = seconds
        .iter()
        .filter(|s| {
            s.requests as f64 >= target.rps && target.p99_ms.map_or(true, |b| s.p99_ms <= b)
        })
        .count();
    Some((held, seconds.len()))
}

/// Judge a confirmation run (one long cell at an answer): it must pass as a probe does
/// and hold the target in at least `hold` of its one-second windows.
pub fn confirmation(
    target: &Target,
    hold: f64,
    cells: &[Cell],
    server_failure: Option<&str>,
) -> (Outcome, Figures) {
    let (outcome, mut f) = judge(target, cells, server_failure);
    if outcome != Outcome::Pass {
        return (outcome, f);
    }
    match f.seconds_held {
        Some((held, all)) if all > 0 && (held as f64) < hold * all as f64 => {
            f.reason = format!(
                "held the target in {held} of {all} seconds ({:.0}% < {:.0}%); over the whole run {}",
                100.0 * held as f64 / all as f64,
                hold * 100.0,
                f.reason
            );
            (Outcome::Fail, f)
        }
        Some(_) => {
            f.reason = format!(
                "{}; held in {}",
                f.reason,
                f.held_text().unwrap_or_default()
            );
            (outcome, f)
        }
        None => {
            f.reason = format!("{} (no per-second data: judged on the whole run)", f.reason);
            (outcome, f)
        }
    }
}

/// Judge a probe's cells against the target (`server_failure`: why its server could not
/// start, when it could not). A pure function of the record, tested without Docker.
///
/// A miss whose repetitions were mostly limited by the load generator is
/// [`Outcome::LoadgenBound`]: ab could not send faster, so the probe says nothing of the
/// server. A probe that *meets* the target while ab is the limit still passes: the server
/// served the target whatever held ab back.
pub fn judge(target: &Target, cells: &[Cell], server_failure: Option<&str>) -> (Outcome, Figures) {
    let ok: Vec<&Cell> = cells.iter().filter(|c| c.status == Status::Ok).collect();
    let failed: Vec<&Cell> = cells.iter().filter(|c| c.status != Status::Ok).collect();
    let mut f = summarise(&ok, failed.len());
    f.seconds_held = seconds_held(target, &ok);
    let fail = |mut f: Figures, reason: String| {
        f.reason = reason;
        (Outcome::Fail, f)
    };
    if let Some(why) = server_failure {
        return fail(f, format!("the server could not start: {why}"));
    }
    if ok.is_empty() {
        let why = failed
            .first()
            .and_then(|c| c.reason.clone())
            .unwrap_or_else(|| "nothing was measured".into());
        return fail(f, format!("every repetition failed: {why}"));
    }
    if let Some(c) = failed.first() {
        // The server's last log line is in the probe's own report; the reason stays short.
        let why = c.reason.as_deref().unwrap_or_default();
        let why = why
            .split(" (its last log line")
            .next()
            .unwrap_or(why)
            .to_string();
        let n = f.failed;
        let of = n + f.repetitions;
        return fail(f, format!("{n} of {of} repetitions failed: {why}"));
    }
    if f.error_share > target.errors {
        let share = f.error_share * 100.0;
        return fail(
            f,
            format!("{share:.2}% of responses failed or were non-2xx"),
        );
    }
    let rps = f.rps.unwrap_or(0.0);
    // Open loop: the rate offered must be achieved within the tolerance (good answers).
    let needed = match target.load {
        TargetLoad::Closed { .. } => target.rps,
        TargetLoad::Open { .. } => target.rps * (1.0 - config::tune::ACHIEVED_WITHIN),
    };
    let slow = rps < needed;
    let late = match (target.p99_ms, f.p99_ms) {
        (Some(bound), Some(p99)) => p99 > bound,
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !(slow || late) {
        f.reason = format!("{rps:.0} req/s ≥ {needed}{}", p99_words(target, &f));
        return (Outcome::Pass, f);
    }
    let mut reason = if slow {
        match target.load {
            TargetLoad::Closed { .. } => format!("{rps:.0} req/s < {needed}"),
            TargetLoad::Open { rate, .. } => format!(
                "{rps:.0} req/s of {rate} offered: short of {needed} ({:.0}%)",
                100.0 * rps / rate as f64
            ),
        }
    } else {
        format!(
            "p99 {:.1} ms > {} ms",
            f.p99_ms.unwrap_or(0.0),
            target.p99_ms.unwrap_or(0.0)
        )
    };
    if f.limiter == Some(Limiter::Loadgen) {
        reason.push_str(" while the load generator was the limit");
        f.reason = reason;
        return (Outcome::LoadgenBound, f);
    }
    fail(f, reason)
}

fn p99_words(target: &Target, f: &Figures) -> String {
    match (target.p99_ms, f.p99_ms) {
        (Some(b), Some(p)) => format!(", p99 {p:.1} ms ≤ {b} ms"),
        _ => String::new(),
    }
}

fn summarise(ok: &[&Cell], failed: usize) -> Figures {
    let rps: Vec<f64> = ok.iter().filter_map(|c| c.good_rps()).collect();
    // The steady window's p99 where the cell has one (whole ms, ab's -g), so a probe is
    // judged on the same seconds as its rate; else the tool's own over the cell.
    let p99: Vec<f64> = ok
        .iter()
        .filter_map(|c| {
            c.steady
                .as_ref()
                .filter(|s| s.requests > 0)
                .and_then(|s| s.latency_ms.get(&Percentile::P99.key()).copied())
                .or_else(|| c.latency(Percentile::P99))
        })
        .collect();
    let cores: Vec<f64> = ok
        .iter()
        .filter_map(|c| c.server_resources.as_ref().map(|r| r.cpu_cores_avg))
        .collect();
    let (mut complete, mut bad) = (0u64, 0u64);
    // Every tool's counts, from the tool-neutral measurement (ab's alone once let an oha
    // probe with failures pass an `errors: 0` bound).
    for m in ok.iter().filter_map(|c| c.measurement()) {
        complete += m.complete.unwrap_or(0);
        bad += m.bad();
    }
    let median = |v: &[f64]| (!v.is_empty()).then(|| stats::Spread::of(v).median);
    let range = (!rps.is_empty()).then(|| {
        stats::median_ci95(&rps).unwrap_or_else(|| {
            let s = stats::Spread::of(&rps);
            (s.min, s.max)
        })
    });
    Figures {
        repetitions: ok.len(),
        failed,
        rps: median(&rps),
        rps_range: range,
        p99_ms: median(&p99),
        error_share: if complete == 0 {
            0.0
        } else {
            bad as f64 / complete as f64
        },
        limiter: crate::judge::prevailing(ok.iter().filter_map(|c| c.verdict.as_ref()))
            .map(|v| v.limiter),
        server_cores: median(&cores),
        throttled_share: median(
            &ok.iter()
                .filter_map(|c| c.server_resources.as_ref()?.throttled_share())
                .collect::<Vec<f64>>(),
        ),
        memory_peak_bytes: ok
            .iter()
            .filter_map(|c| c.server_resources.as_ref().map(|r| r.memory_peak_bytes))
            .max(),
        periods_covered: ok
            .iter()
            .filter_map(|c| c.steady.as_ref().map(|s| s.periods_covered))
            .min_by(f64::total_cmp),
        seconds_held: None,
        reason: String::new(),
    }
}

/// Where a probe runs: the lab, the server and the target, and the limits.
pub struct Spec<'a> {
    pub lab: &'a Lab,
    pub lab_file: &'a Path,
    pub server: usize,
    pub target: &'a Target,
    pub cpus: f64,
    pub memory: u64,
    /// Folder that gets the probe's run folder.
    pub dir: &'a Path,
    /// The probe's number in the tune, for its folder's name.
    pub number: u32,
    /// A confirmation run: one cell this many seconds long instead of the file's cells.
    pub confirm_s: Option<f64>,
}

/// The lab a probe runs: the file's own, narrowed to one server, one workload, one
/// concurrency and keep-alive setting, at the probe's limits.
pub fn probe_lab(spec: &Spec<'_>) -> Lab {
    let mut lab = spec.lab.clone();
    let mut server = lab.servers[spec.server].clone();
    server.resources.cpus = None;
    server.resources.memory = None;
    lab.name = format!(
        "p{:02}-{}-{}-cpus{}-mem{}",
        spec.number,
        server.name,
        spec.target.workload,
        spec.cpus,
        config::format_memory(spec.memory)
    );
    lab.servers = vec![server];
    lab.resources.cpus = vec![spec.cpus];
    lab.resources.memory = vec![spec.memory];
    lab.workloads.retain(|w| w.name == spec.target.workload);
    lab.loadgen.concurrency = vec![spec.target.load.concurrency()];
    lab.loadgen.requests = spec.target.requests;
    match spec.target.load {
        // A closed-loop target's probe is a closed-loop cell of `requests` (or sized by the
        // policy), even in a file that sweeps open-loop rates.
        TargetLoad::Closed { .. } => {
            lab.loadgen.rate.clear();
            lab.loadgen.duration_s = None;
        }
        // An open-loop target's is an oha cell at its rate, for the file's `duration` or
        // the policy's length (20 quota periods of steady load).
        TargetLoad::Open { rate, .. } => {
            let path = lab.workloads.first().map_or("/", |w| w.path.as_str());
            let seconds = lab
                .loadgen
                .duration_s
                .unwrap_or_else(|| config::length::policy_seconds(&lab, path));
            lab.loadgen.rate = vec![crate::record::RateSpec::PerSecond(rate)];
            lab.loadgen.duration_s = Some(seconds);
        }
    }
    lab.loadgen.keepalive = vec![spec.target.keepalive];
    lab.output = spec.dir.to_path_buf();
    lab.tune = None;
    if let Some(seconds) = spec.confirm_s {
        lab.name = format!("{}-confirm", lab.name);
        lab.loadgen.requests = 0;
        lab.loadgen.duration_s = Some(seconds);
        lab.repeat = 1;
        lab.repeat_auto = None;
    }
    lab
}

/// A probe that ran: its folder and its record.
pub struct Ran {
    pub dir: PathBuf,
    pub results: Results,
}

/// Run one probe through the runner. `current` is set to the probe's run while it runs,
/// so that Ctrl-C can remove its containers and mark its record.
pub async fn run(
    engines: &Engines,
    spec: &Spec<'_>,
    current: &std::sync::Mutex<Option<RunId>>,
) -> Result<Ran> {
    let lab = probe_lab(spec);
    let owned = OwnedRun::create(&lab)?;
    *current.lock().unwrap_or_else(|e| e.into_inner()) = Some(owned.id.clone());
    let opts = RunOptions {
        lab_file: spec.lab_file.to_path_buf(),
        lab,
        // `lab tune` builds the images once before the first probe.
        no_build: true,
        sweep: None,
    };
    let results = runner::run(engines, &opts, &owned).await?;
    *current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    // The probe's own report: its evidence, one click from the tune report.
    let run = crate::report::Run::load(&owned.id.dir)?;
    if let Err(e) = crate::report::write_all(&run) {
        tracing::warn!("probe report in {}: {e:#}", owned.id.dir.display());
    }
    Ok(Ran {
        dir: owned.id.dir.clone(),
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tune::TargetLoad;
    use crate::record::{Tool, Verdict};

    fn target() -> Target {
        Target {
            workload: "cpu".into(),
            rps: 300.0,
            load: TargetLoad::Closed { concurrency: 10 },
            requests: 500,
            keepalive: true,
            p99_ms: Some(50.0),
            errors: 0.0,
        }
    }

    /// A measured repetition from a real (schema 1) record, read as `lab report` reads it.
    fn fixture() -> Cell {
        let mut c: Cell = serde_json::from_str(include_str!("fixtures/cell.json")).unwrap();
        crate::record::upgrade::cell(&mut c);
        crate::tool::measure(&mut c);
        c
    }

    /// [`fixture`] with its figures replaced.
    fn cell(rps: f64, p99: f64, non_2xx: u64, limiter: Limiter) -> Cell {
        let mut c = fixture();
        let m = c.measurement.as_mut().unwrap();
        m.rps = Some(rps);
        m.non_2xx = Some(non_2xx);
        m.latency_ms.insert("99".into(), p99);
        c.verdict = Some(Verdict {
            limiter,
            evidence: String::new(),
            advice: None,
        });
        c
    }

    fn reps(rps: &[f64], p99: f64, limiter: Limiter) -> Vec<Cell> {
        rps.iter().map(|r| cell(*r, p99, 0, limiter)).collect()
    }

    #[test]
    fn the_median_decides_not_the_best_repetition() {
        let (o, f) = judge(
            &target(),
            &reps(&[310.0, 320.0, 290.0], 20.0, Limiter::ServerCpu),
            None,
        );
        assert_eq!((o, f.rps), (Outcome::Pass, Some(310.0)));
        let (o, f) = judge(
            &target(),
            &reps(&[350.0, 280.0, 290.0], 20.0, Limiter::ServerCpu),
            None,
        );
        assert_eq!((o, f.rps), (Outcome::Fail, Some(290.0)));
        assert!(f.reason.contains("290 req/s < 300"), "{}", f.reason);
        assert_eq!(f.rps_range, Some((280.0, 350.0)));
    }

    /// A probe sized by the steady-state policy is judged on its steady windows: their
    /// rate and p99, and it says how many quota periods its shortest window covered.
    #[test]
    fn a_steady_probe_is_judged_on_its_windows() {
        let steady = |rps: f64, p99: f64, periods: f64| {
            let mut c = cell(9999.0, 1.0, 0, Limiter::ServerCpu);
            c.steady = Some(crate::record::Steady {
                requests: (rps * 2.0) as u64,
                rps,
                periods_covered: periods,
                latency_ms: [("99".to_string(), p99)].into_iter().collect(),
                ..Default::default()
            });
            c
        };
        let cells = [steady(320.0, 40.0, 20.0), steady(310.0, 45.0, 21.0)];
        let (o, f) = judge(&target(), &cells, None);
        assert_eq!(o, Outcome::Pass, "{}", f.reason);
        assert_eq!(f.rps, Some(315.0));
        assert_eq!((f.p99_ms, f.periods_covered), (Some(42.5), Some(20.0)));
        let slow = [steady(320.0, 70.0, 20.0), steady(310.0, 80.0, 20.0)];
        assert_eq!(
            judge(&target(), &slow, None).0,
            Outcome::Fail,
            "steady p99 75 ms > 50"
        );
    }

    #[test]
    fn a_p99_over_the_bound_fails() {
        let (o, f) = judge(
            &target(),
            &reps(&[400.0; 3], 80.0, Limiter::ServerCpu),
            None,
        );
        assert_eq!(o, Outcome::Fail);
        assert!(f.reason.contains("p99 80.0 ms > 50 ms"), "{}", f.reason);
    }

    #[test]
    fn errors_beyond_the_allowance_fail_and_count_against_req_s() {
        let cells = vec![cell(400.0, 10.0, 10, Limiter::ServerCpu); 3];
        let (o, f) = judge(&target(), &cells, None);
        assert_eq!(o, Outcome::Fail);
        assert!(f.reason.contains("non-2xx"), "{}", f.reason);
        let mut t = target();
        t.errors = 0.5;
        assert_eq!(judge(&t, &cells, None).0, Outcome::Pass);
    }

    /// An oha repetition of a real oha run whose server was killed mid-run (oha counts the
    /// refused and reset connections as errors).
    fn oha_cell() -> Cell {
        let path = format!(
            "{}/tests/fixtures/oha/open-loop-server-killed.json",
            env!("CARGO_MANIFEST_DIR")
        );
        let stdout = std::fs::read_to_string(path).unwrap();
        let report = Tool::Oha
            .driver()
            .parse(&stdout, &Default::default())
            .unwrap();
        let mut c = fixture();
        c.command = vec!["oha".into(), "http://srv:46000/cpu/10".into()];
        c.measurement = Some(crate::tool::measurement(&report, None));
        c.report = Some(report);
        c.percentiles_fine = None;
        c
    }

    #[test]
    fn an_oha_probe_with_failures_fails_an_errors_0_target() {
        let c = oha_cell();
        let m = c.measurement().unwrap();
        assert!(m.failed.unwrap() > 0, "the fixture has failures: {m:?}");
        let t = Target {
            rps: 1.0,
            p99_ms: None,
            ..target()
        };
        let (o, f) = judge(&t, &[c.clone(), c.clone(), c], None);
        assert_eq!(o, Outcome::Fail, "{f:?}");
        assert!(f.error_share > 0.0);
        assert!(f.reason.contains("failed or were non-2xx"), "{}", f.reason);
    }

    #[test]
    fn a_miss_with_ab_as_the_limit_says_nothing_of_the_server() {
        let (o, f) = judge(&target(), &reps(&[250.0; 3], 10.0, Limiter::Loadgen), None);
        assert_eq!(o, Outcome::LoadgenBound);
        assert!(f.reason.contains("load generator"), "{}", f.reason);
        // Meeting the target while ab is the limit is still a pass.
        assert_eq!(
            judge(&target(), &reps(&[350.0; 3], 10.0, Limiter::Loadgen), None).0,
            Outcome::Pass
        );
    }

    #[test]
    fn an_oom_kill_or_a_server_that_does_not_start_fails() {
        let mut cells = reps(&[400.0; 3], 10.0, Limiter::ServerCpu);
        cells[1].status = Status::Failed;
        cells[1].reason = Some("the server was OOM-killed".into());
        let (o, f) = judge(&target(), &cells, None);
        assert_eq!(o, Outcome::Fail);
        assert!(
            f.reason
                .contains("1 of 3 repetitions failed: the server was OOM-killed"),
            "{}",
            f.reason
        );
        let (o, f) = judge(&target(), &[], Some("exited with code 137"));
        assert_eq!(o, Outcome::Fail);
        assert!(f.reason.contains("could not start"));
    }

    /// The probe lab of `examples/tune.yaml`'s first target for `server` at `cpus`.
    fn example_probe(server: usize, cpus: f64, number: u32, confirm_s: Option<f64>) -> Lab {
        let text = include_str!("../../../examples/tune.yaml");
        let lab = config::parse(text, "tune.yaml", 2).unwrap();
        let tune = lab.tune.clone().unwrap();
        probe_lab(&Spec {
            lab: &lab,
            lab_file: Path::new("tune.yaml"),
            server,
            target: &tune.targets[0],
            cpus,
            memory: 64 << 20,
            dir: Path::new("/tmp/x/probes"),
            number,
            confirm_s,
        })
    }

    #[test]
    fn a_probe_lab_is_the_file_narrowed_to_one_cell() {
        let p = example_probe(1, 0.35, 3, None);
        assert_eq!(p.servers.len(), 1);
        assert_eq!(p.servers[0].name, "thread", "the file's second server");
        assert_eq!(
            (p.resources.cpus.clone(), p.resources.memory.clone()),
            (vec![0.35], vec![64 << 20])
        );
        assert_eq!(p.workloads.len(), 1);
        // The first target: cpu-100 at 16 connections.
        assert_eq!(p.workloads[0].name, "cpu-100");
        assert_eq!(p.loadgen.concurrency, vec![16]);
        assert!(p.tune.is_none());
        assert_eq!(config::Plan::new(&p).cell_count(), p.repeat as usize);
        assert!(p.name.starts_with("p03-thread-"), "{}", p.name);
    }

    /// [`cell`] with a steady window of one-second figures: `(requests, p99 ms)` each.
    fn steady_cell(rps: f64, seconds: &[(u64, f64)]) -> Cell {
        let mut c = cell(rps, 20.0, 0, Limiter::ServerCpu);
        c.steady = Some(crate::record::Steady {
            requests: seconds.iter().map(|s| s.0).sum(),
            rps,
            seconds: seconds
                .iter()
                .enumerate()
                .map(
                    |(i, &(requests, p99_ms))| crate::record::steady::SecondFigures {
                        offset_s: i as f64,
                        requests,
                        p50_ms: 1.0,
                        p99_ms,
                    },
                )
                .collect(),
            ..Default::default()
        });
        c
    }

    #[test]
    fn a_confirmation_must_hold_the_target_in_its_share_of_seconds() {
        let t = target(); // 300 req/s, p99 <= 50 ms
                          // 20 seconds: 19 hold, one is slow (250 requests): 95% holds at hold 95%.
        let mut seconds = vec![(320, 20.0); 19];
        seconds.push((250, 20.0));
        let c = steady_cell(316.0, &seconds);
        let (o, f) = confirmation(&t, 0.95, std::slice::from_ref(&c), None);
        assert_eq!(o, Outcome::Pass, "{}", f.reason);
        assert_eq!(f.seconds_held, Some((19, 20)));
        assert!(
            f.reason.ends_with("held in 19 of 20 seconds (95%)"),
            "{}",
            f.reason
        );
        // Two bad seconds (one slow, one late): 90% < 95%, though the median passes.
        seconds[0] = (320, 80.0);
        let c = steady_cell(316.0, &seconds);
        let (o, f) = confirmation(&t, 0.95, std::slice::from_ref(&c), None);
        assert_eq!(o, Outcome::Fail, "{}", f.reason);
        assert!(
            f.reason
                .starts_with("held the target in 18 of 20 seconds (90% < 95%)"),
            "{}",
            f.reason
        );
        // A probe that fails outright fails as a confirmation for the same reason.
        let slow = steady_cell(280.0, &seconds);
        let (o, f) = confirmation(&t, 0.95, std::slice::from_ref(&slow), None);
        assert_eq!(o, Outcome::Fail);
        assert!(f.reason.starts_with("280 req/s < 300"), "{}", f.reason);
        // Without per-second data (oha), the whole run decides, and the reason says so.
        let (o, f) = confirmation(&t, 0.95, &[cell(320.0, 20.0, 0, Limiter::ServerCpu)], None);
        assert_eq!(o, Outcome::Pass);
        assert!(f.reason.contains("no per-second data"), "{}", f.reason);
    }

    #[test]
    fn a_confirmation_lab_is_one_long_cell() {
        let p = example_probe(0, 0.6, 9, Some(60.0));
        assert_eq!(
            (p.repeat, p.loadgen.duration_s, p.loadgen.requests),
            (1, Some(60.0), 0)
        );
        assert!(p.repeat_auto.is_none());
        assert!(p.name.ends_with("-confirm"), "{}", p.name);
    }

    #[test]
    fn an_open_loop_probe_must_achieve_its_rate_within_five_percent() {
        let open = Target {
            load: TargetLoad::Open {
                rate: 300,
                connections: 10,
            },
            requests: 0,
            ..target()
        };
        let (o, f) = judge(
            &open,
            &reps(&[290.0, 292.0], 20.0, Limiter::OfferedRate),
            None,
        );
        assert_eq!(o, Outcome::Pass, "{}", f.reason);
        let (o, f) = judge(
            &open,
            &reps(&[280.0, 280.0], 20.0, Limiter::ServerCpu),
            None,
        );
        assert_eq!(o, Outcome::Fail);
        assert!(
            f.reason
                .starts_with("280 req/s of 300 offered: short of 285 (93%)"),
            "{}",
            f.reason
        );
        // The p99 bound (from each request's due time) holds in open loop too.
        let (o, f) = judge(
            &open,
            &reps(&[300.0, 300.0], 75.0, Limiter::OfferedRate),
            None,
        );
        assert_eq!(o, Outcome::Fail);
        assert!(f.reason.contains("p99 75.0 ms > 50 ms"), "{}", f.reason);
    }

    #[test]
    fn an_open_loop_probe_is_an_oha_cell_at_the_rate() {
        let text = "name: t\nservers:\n  - { name: async, model: async, port: 45000 }\n\
                    resources: { cpus: 1, memory: 64m }\n\
                    loadgen: { tool: oha, rate: [50%], duration: 4s, concurrency: 8 }\n\
                    workloads:\n  - { name: cpu, path: /cpu/100 }\n\
                    tune:\n  targets:\n    - { workload: cpu, rate: 600, connections: 16 }\n  \
                    cpus: { min: 0.1, max: 1 }\n";
        let lab = config::parse(text, "t.yaml", 2).unwrap();
        let tune = lab.tune.clone().unwrap();
        let spec = |confirm_s| Spec {
            lab: &lab,
            lab_file: Path::new("t.yaml"),
            server: 0,
            target: &tune.targets[0],
            cpus: 0.5,
            memory: 64 << 20,
            dir: Path::new("/tmp/x"),
            number: 1,
            confirm_s,
        };
        let p = probe_lab(&spec(None));
        assert_eq!(
            p.loadgen.rate,
            vec![crate::record::RateSpec::PerSecond(600)]
        );
        assert_eq!(p.loadgen.concurrency, vec![16]);
        // The file's duration; a confirmation run's own.
        assert_eq!(p.loadgen.duration_s, Some(4.0));
        assert_eq!(probe_lab(&spec(Some(30.0))).loadgen.duration_s, Some(30.0));
    }
}
