//! Where containers run: `pin: auto | off | explicit` resolved to CPU sets for one group.

use crate::config::{self, Lab, Pin};

/// Resolve `pin` for one group on a daemon with `cpus` CPUs (the daemon's, not this
/// machine's: they differ when the daemon is remote or in a VM): the CPU sets of the
/// servers and of ab, or none. `one_machine`: both roles share that machine's CPUs; on two
/// machines `auto` has nothing to separate, and explicit sets apply on each role's host.
pub fn resolve_pin(
    lab: &Lab,
    group: &config::Group,
    cpus: usize,
    one_machine: bool,
) -> (Option<String>, Option<String>) {
    if !one_machine && lab.pin == Pin::Auto {
        return (None, None);
    }
    cpusets(&lab.pin, group, cpus)
}

/// `pin` for one group on a host with `n` CPUs. `auto` gives ab (single-threaded) the last
/// CPU and the servers the others, unless a server's CPU limit needs more than that leaves.
fn cpusets(pin: &Pin, group: &config::Group, n: usize) -> (Option<String>, Option<String>) {
    match pin {
        Pin::Off => (None, None),
        Pin::Explicit { servers, loadgen } => (Some(servers.clone()), Some(loadgen.clone())),
        Pin::Auto => {
            let need = group
                .instances
                .iter()
                .map(|i| i.cpus.ceil() as usize)
                .max()
                .unwrap_or(1);
            if n < 2 || need > n - 1 {
                if n >= 2 {
                    tracing::warn!(
                        "pin: auto: {} needs {need} CPUs, leaving none for ab on this {n}-CPU host; not pinning this group",
                        group.label
                    );
                }
                return (None, None);
            }
            // ab is single-threaded: it gets the last CPU, the servers the rest.
            let servers = if n == 2 {
                "0".to_string()
            } else {
                format!("0-{}", n - 2)
            };
            (Some(servers), Some((n - 1).to_string()))
        }
    }
}

/// How many CPUs a cpuset such as `0-2,4` names; `None` when it does not parse.
pub fn cpuset_size(set: &str) -> Option<usize> {
    cpuset_cpus(set).map(|cpus| cpus.len())
}

/// The CPUs a cpuset such as `0-2,4` names; `None` when it does not parse (or names an
/// absurd range).
pub fn cpuset_cpus(set: &str) -> Option<std::collections::BTreeSet<usize>> {
    let mut out = std::collections::BTreeSet::new();
    for part in set.split(',').map(str::trim) {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let (lo, hi) = (
            lo.trim().parse::<usize>().ok()?,
            hi.trim().parse::<usize>().ok()?,
        );
        if hi < lo || hi - lo > 4096 {
            return None;
        }
        out.extend(lo..=hi);
    }
    Some(out)
}

/// The CPUs a cell's load generator may use: its `cpus`, its pinned CPUs and its host's,
/// whichever is fewest (infinite when none is known).
pub fn loadgen_cores(limits: &crate::record::Limits) -> f64 {
    let set = limits
        .loadgen_cpuset
        .as_deref()
        .and_then(cpuset_size)
        .map(|n| n as f64);
    let host = limits.loadgen_host_cpus.map(f64::from);
    [limits.loadgen_cpus, set, host]
        .into_iter()
        .flatten()
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuset_sizes() {
        assert_eq!(cpuset_size("0"), Some(1));
        assert_eq!(cpuset_size("0-2,4"), Some(4));
        assert_eq!(cpuset_size("3-1"), None);
        assert_eq!(cpuset_size("x"), None);
    }

    fn group(cpus: &[f64]) -> config::Group {
        config::Group {
            index: 0,
            label: "test".into(),
            instances: cpus
                .iter()
                .enumerate()
                .map(|(server, &cpus)| config::Instance {
                    server,
                    cpus,
                    memory: 64 << 20,
                    pids: None,
                })
                .collect(),
            points: Vec::new(),
        }
    }

    #[test]
    fn auto_splits_servers_and_ab() {
        let some = |s: &str| Some(s.to_string());
        assert_eq!(
            cpusets(&Pin::Auto, &group(&[1.0, 0.5]), 2),
            (some("0"), some("1"))
        );
        assert_eq!(
            cpusets(&Pin::Auto, &group(&[2.0]), 4),
            (some("0-2"), some("3"))
        );
    }

    #[test]
    fn auto_does_not_pin_when_it_cannot_split() {
        assert_eq!(cpusets(&Pin::Auto, &group(&[2.0]), 2), (None, None));
        assert_eq!(cpusets(&Pin::Auto, &group(&[1.0]), 1), (None, None));
    }

    #[test]
    fn off_and_explicit_are_taken_as_written() {
        assert_eq!(cpusets(&Pin::Off, &group(&[1.0]), 8), (None, None));
        let explicit = Pin::Explicit {
            servers: "0-1".into(),
            loadgen: "2".into(),
        };
        assert_eq!(
            cpusets(&explicit, &group(&[1.0]), 4),
            (Some("0-1".into()), Some("2".into()))
        );
    }
}
