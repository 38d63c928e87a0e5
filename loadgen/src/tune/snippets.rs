//! Limits people can paste: docker-compose `deploy.resources.limits` and Kubernetes
//! `resources`, per server, covering every target the server met.
//!
//! Headroom (`tune.headroom`, 20% unless the file says) is added to the *limits*, never to
//! the answers: a limit exactly at the measured minimum leaves nothing for a slower phase
//! of the machine, a bigger request, or a neighbour. Kubernetes' `requests` (what the
//! scheduler reserves) get the measured minimum itself. CPUs round up to the millicore,
//! memory up to the MiB.
//!
//! Open-loop targets also give a HorizontalPodAutoscaler figure: the CPU utilisation (of
//! the request) at which a pod is serving the target's rate, less [`HPA_MARGIN`], so that
//! scaling out starts before a pod reaches the load that just meets the target.

use super::answers::Row;

/// What one server needs over every target it met.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    pub server: String,
    pub cpus: Option<f64>,
    pub memory_bytes: Option<u64>,
    /// Targets (by description) the server did not meet or that had no answer: the
    /// snippet does not cover them.
    pub uncovered: Vec<String>,
    /// `averageUtilization` for a HorizontalPodAutoscaler on CPU (open-loop targets only).
    pub hpa: Option<u32>,
}

/// How far below the utilisation measured at the target's rate the autoscaler's target
/// sits: the HPA acts on a 15 s sync and its own 10% tolerance, and a new pod takes
/// seconds to start, while the load keeps rising.
pub const HPA_MARGIN: f64 = 0.20;

/// The HPA `averageUtilization` (percent of the CPU request) for a pod whose request is
/// `request` CPUs and which uses `cores` at the target's rate: that utilisation less
/// [`HPA_MARGIN`], rounded down, at least 1.
pub fn hpa_utilization(cores: f64, request: f64) -> u32 {
    ((cores / request * (1.0 - HPA_MARGIN) * 100.0).floor() as u32).max(1)
}

/// Per server, in first-seen order: the largest answer over its targets.
pub fn needs(rows: &[Row<'_>], describe: impl Fn(usize) -> String) -> Vec<Need> {
    let mut out: Vec<Need> = Vec::new();
    for r in rows {
        let i = match out.iter().position(|n| n.server == r.server) {
            Some(i) => i,
            None => {
                out.push(Need {
                    server: r.server.to_string(),
                    cpus: None,
                    memory_bytes: None,
                    uncovered: Vec::new(),
                    hpa: None,
                });
                out.len() - 1
            }
        };
        let n = &mut out[i];
        match (r.cpus.value, r.memory.value) {
            (Some(c), Some(m)) => {
                n.cpus = Some(n.cpus.map_or(c, |x| x.max(c)));
                let m = m as u64;
                n.memory_bytes = Some(n.memory_bytes.map_or(m, |x| x.max(m)));
            }
            _ => n.uncovered.push(describe(r.target)),
        }
    }
    // The request is the largest answer: each open-loop target's utilisation is of it.
    for n in &mut out {
        let Some(request) = n.cpus else { continue };
        n.hpa = rows
            .iter()
            .filter(|r| r.server == n.server)
            .filter_map(|r| r.cores_at_rate)
            .map(|cores| hpa_utilization(cores, request))
            .min();
    }
    out
}

/// `v × (1 + headroom)`, in millicores, rounded up.
pub fn millicores(cpus: f64, headroom: f64) -> u64 {
    (cpus * (1.0 + headroom) * 1000.0 - 1e-6).ceil() as u64
}

/// `bytes × (1 + headroom)`, in MiB, rounded up.
pub fn mebibytes(bytes: u64, headroom: f64) -> u64 {
    ((bytes as f64 * (1.0 + headroom)) / (1024.0 * 1024.0) - 1e-9).ceil() as u64
}

/// The docker-compose services block (a `services:` fragment).
pub fn compose(needs: &[Need], headroom: f64) -> String {
    let mut s = String::from("services:\n");
    for n in needs {
        s.push_str(&format!("  {}:\n", n.server));
        uncovered(&mut s, n, "    ");
        let (Some(c), Some(m)) = (n.cpus, n.memory_bytes) else {
            s.push_str("    # no answer: no limits to give\n");
            continue;
        };
        let mc = millicores(c, headroom);
        s.push_str("    deploy:\n      resources:\n        limits:\n");
        s.push_str(&format!(
            "          cpus: \"{}\"\n          memory: {}M\n",
            trim(mc as f64 / 1000.0),
            mebibytes(m, headroom)
        ));
    }
    s
}

/// One Kubernetes container `resources` block per server.
pub fn kubernetes(needs: &[Need], headroom: f64) -> String {
    let mut s = String::new();
    for n in needs {
        s.push_str(&format!("# {}\n", n.server));
        uncovered(&mut s, n, "");
        let (Some(c), Some(m)) = (n.cpus, n.memory_bytes) else {
            s.push_str("# no answer: no limits to give\n");
            continue;
        };
        s.push_str(&format!(
            "resources:\n  requests:\n    cpu: {}m\n    memory: {}Mi\n  limits:\n    cpu: {}m\n    memory: {}Mi\n",
            millicores(c, 0.0),
            mebibytes(m, 0.0),
            millicores(c, headroom),
            mebibytes(m, headroom)
        ));
        if let Some(u) = n.hpa {
            s.push_str(&format!(
                "# HorizontalPodAutoscaler (autoscaling/v2) spec.metrics for {}: scale out before a pod reaches its target's rate\nmetrics:\n  - type: Resource\n    resource:\n      name: cpu\n      target:\n        type: Utilization\n        averageUtilization: {u}\n",
                n.server
            ));
        }
    }
    s
}

fn uncovered(s: &mut String, n: &Need, indent: &str) {
    for t in &n.uncovered {
        s.push_str(&format!("{indent}# not covered (no answer): {t}\n"));
    }
}

/// `0.440` → `0.44`, `1.000` → `1`.
fn trim(v: f64) -> String {
    let t = format!("{v:.3}");
    t.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn need(cpus: f64, mib: u64) -> Need {
        Need {
            server: "async".into(),
            cpus: Some(cpus),
            memory_bytes: Some(mib << 20),
            uncovered: Vec::new(),
            hpa: None,
        }
    }

    #[test]
    fn headroom_goes_into_limits_and_rounds_up() {
        assert_eq!(millicores(0.35, 0.25), 438);
        assert_eq!(millicores(0.4, 0.0), 400);
        assert_eq!(mebibytes(12 << 20, 0.25), 15);
        assert_eq!(mebibytes(10 << 20, 0.25), 13);
    }

    #[test]
    fn compose_and_kubernetes_snippets() {
        let n = [need(0.35, 12)];
        assert_eq!(
            compose(&n, 0.25),
            "services:\n  async:\n    deploy:\n      resources:\n        limits:\n          cpus: \"0.438\"\n          memory: 15M\n"
        );
        assert_eq!(
            kubernetes(&n, 0.25),
            "# async\nresources:\n  requests:\n    cpu: 350m\n    memory: 12Mi\n  limits:\n    cpu: 438m\n    memory: 15Mi\n"
        );
    }

    #[test]
    fn an_open_loop_answer_gives_the_autoscaler_its_utilisation_less_the_margin() {
        // 0.26 cores at the target's rate of a 0.3 request: 86.7%, less 20%: 69.
        assert_eq!(hpa_utilization(0.26, 0.3), 69);
        assert_eq!(hpa_utilization(0.0, 0.3), 1);
        let n = [Need {
            hpa: Some(69),
            ..need(0.3, 12)
        }];
        let k = kubernetes(&n, 0.25);
        assert!(
            k.ends_with(
                "      target:\n        type: Utilization\n        averageUtilization: 69\n"
            ),
            "{k}"
        );
        // Without one (closed-loop targets), no autoscaler block.
        assert!(!kubernetes(&[need(0.3, 12)], 0.25).contains("averageUtilization"));
    }

    #[test]
    fn a_server_without_an_answer_gets_no_limits() {
        let n = [Need {
            server: "thread".into(),
            cpus: None,
            memory_bytes: None,
            uncovered: vec!["cpu ≥ 400 req/s".into()],
            hpa: None,
        }];
        assert!(compose(&n, 0.2).contains("# no answer"));
        assert!(!kubernetes(&n, 0.2).contains("cpu:"));
    }
}
