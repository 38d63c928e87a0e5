//! What meta.json says about a sweep split across hosts: each shard's identity (which lab
//! file, which split, which points), the fingerprint of the hosts that measured it, and,
//! in a merged run, the shards it was joined from. `lab merge` decides from these alone
//! whether shards may become one run.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{HostMeta, HostsMeta};
use crate::shard::Shard;

/// The sweep a shard belongs to and its part of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    /// SHA-256 of the lab file's bytes, as the user gave it.
    pub lab_sha256: String,
    pub shard: Shard,
    /// The points this shard runs, in plan order (`g0-hello-ka-c10`; see `shard::point_id`).
    pub points: Vec<String>,
}

/// What makes two hosts' figures comparable: the same CPU model and count, memory, kernel,
/// engine and cgroup version, for the servers' host and the load generator's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub servers: HostPrint,
    pub loadgen: HostPrint,
    /// The load generator hosts after the first (`hosts.loadgen` as a list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loadgen_also: Vec<HostPrint>,
}

/// One role's host, as far as comparability goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostPrint {
    pub cpu_model: String,
    pub cpus: i64,
    pub memory_bytes: i64,
    pub kernel: String,
    /// `Docker 20.10.24 (API 1.41)`.
    pub engine: String,
    pub cgroup_version: String,
}

impl Fingerprint {
    pub fn of(hosts: &HostsMeta) -> Fingerprint {
        Fingerprint {
            servers: HostPrint::of(&hosts.servers),
            loadgen: HostPrint::of(&hosts.loadgen),
            loadgen_also: hosts
                .loadgen_also
                .iter()
                .map(|a| HostPrint::of(&a.host))
                .collect(),
        }
    }

    /// A short name for a host in reports: `host A`, `host B`, ... by first appearance.
    pub fn letter(index: usize) -> String {
        let mut n = index;
        let mut s = String::new();
        loop {
            s.insert(0, (b'A' + (n % 26) as u8) as char);
            if n < 26 {
                break;
            }
            n = n / 26 - 1;
        }
        format!("host {s}")
    }

    /// What differs from `other`, field by field: `servers cpu_model: X vs Y`.
    pub fn differences(&self, other: &Fingerprint) -> Vec<String> {
        let mut d = Vec::new();
        if self.loadgen_also.len() != other.loadgen_also.len() {
            d.push(format!(
                "load generator hosts: {} vs {}",
                1 + self.loadgen_also.len(),
                1 + other.loadgen_also.len()
            ));
        }
        let also = (self.loadgen_also.iter().zip(&other.loadgen_also))
            .enumerate()
            .map(|(i, (a, b))| (format!("loadgen[{}]", i + 1), a, b));
        let roles = [
            ("servers".to_string(), &self.servers, &other.servers),
            ("loadgen".to_string(), &self.loadgen, &other.loadgen),
        ];
        for (role, a, b) in roles.into_iter().chain(also) {
            for (field, x, y) in a
                .fields()
                .into_iter()
                .zip(b.fields())
                .map(|((f, x), (_, y))| (f, x, y))
            {
                if x != y {
                    d.push(format!("{role} {field}: {x} vs {y}"));
                }
            }
        }
        d
    }
}

impl HostPrint {
    pub fn of(h: &HostMeta) -> HostPrint {
        HostPrint {
            cpu_model: h.cpu_model.clone(),
            cpus: h.cpus,
            memory_bytes: h.memory_bytes,
            kernel: h.kernel.clone(),
            engine: h.engine.clone(),
            cgroup_version: h.cgroup_version.clone(),
        }
    }

    fn fields(&self) -> [(&'static str, String); 6] {
        [
            ("cpu_model", self.cpu_model.clone()),
            ("cpus", self.cpus.to_string()),
            ("memory_bytes", self.memory_bytes.to_string()),
            ("kernel", self.kernel.clone()),
            ("engine", self.engine.clone()),
            ("cgroup_version", self.cgroup_version.clone()),
        ]
    }
}

impl fmt::Display for HostPrint {
    /// `Intel Xeon 2.2GHz, 2 CPUs, 7.8 GiB, kernel 6.1.0, Docker 20.10.24 (API 1.41), cgroup v1`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {} CPUs, {:.1} GiB, kernel {}, {}, cgroup v{}",
            if self.cpu_model.is_empty() {
                "unknown CPU"
            } else {
                &self.cpu_model
            },
            self.cpus,
            self.memory_bytes as f64 / f64::from(1u32 << 30),
            self.kernel,
            self.engine,
            self.cgroup_version
        )
    }
}

/// One shard of a merged run: who ran which points, on which host, how long.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardRun {
    pub shard: Shard,
    /// The shard's own run id and folder (as given to `lab merge`).
    pub run_id: String,
    pub dir: String,
    /// The servers' host name and endpoint.
    pub hostname: String,
    pub endpoint: String,
    /// `host A`, `host B`: the hosts by fingerprint, in shard order.
    pub host: String,
    pub fingerprint: Option<Fingerprint>,
    pub points: Vec<String>,
    pub cells: usize,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Wall time of the shard's run, seconds.
    pub wall_s: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn print(cpu: &str) -> HostPrint {
        HostPrint {
            cpu_model: cpu.into(),
            cpus: 2,
            memory_bytes: 8 << 30,
            kernel: "6.1.0".into(),
            engine: "Docker 20.10.24 (API 1.41)".into(),
            cgroup_version: "1".into(),
        }
    }

    #[test]
    fn differences_name_the_role_and_the_field() {
        let a = Fingerprint {
            servers: print("Xeon"),
            loadgen: print("Xeon"),
            loadgen_also: vec![],
        };
        let mut b = a.clone();
        b.servers.cpu_model = "EPYC".into();
        assert_eq!(a.differences(&a), Vec::<String>::new());
        assert_eq!(a.differences(&b), ["servers cpu_model: Xeon vs EPYC"]);
        // Several load generator hosts: their number, then each one, count.
        let mut c = a.clone();
        c.loadgen_also.push(print("EPYC"));
        assert_eq!(a.differences(&c), ["load generator hosts: 1 vs 2"]);
        let mut d = c.clone();
        d.loadgen_also[0].cpu_model = "Xeon".into();
        assert_eq!(c.differences(&d), ["loadgen[1] cpu_model: EPYC vs Xeon"]);
        assert_eq!(
            print("Xeon").to_string(),
            "Xeon, 2 CPUs, 8.0 GiB, kernel 6.1.0, Docker 20.10.24 (API 1.41), cgroup v1"
        );
    }

    #[test]
    fn hosts_are_lettered() {
        assert_eq!(Fingerprint::letter(0), "host A");
        assert_eq!(Fingerprint::letter(25), "host Z");
        assert_eq!(Fingerprint::letter(26), "host AA");
    }
}
