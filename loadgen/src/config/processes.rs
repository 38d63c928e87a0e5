//! `loadgen.processes`: how many load tool processes send each cell's load.
//!
//! ```yaml
//! loadgen:
//!   processes: auto     # one per CPU the load generator may use; or a number, 1 by default
//! ```
//!
//! ab is single-threaded: one process uses one core at most, and without keep-alive it can
//! spend more CPU per request than a fast server does, so on any host the load generator
//! can be the slower side. `processes: N` runs N ab processes per cell in the load
//! generator's container, started together, each with its share of the connections and
//! requests; their results are merged exactly (see `tool::processes`). `auto` is one per
//! CPU the load generator may use: `loadgen.cpus` rounded up, else its pinned CPUs, else
//! its host's. oha runs a thread per core itself: it is always one process.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

/// The most processes a cell may use (each holds at least one connection).
pub const MAX_PROCESSES: u32 = 256;

/// `loadgen.processes` as written (and recorded: a number or `"auto"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Processes {
    Count(u32),
    Auto,
}

impl Default for Processes {
    fn default() -> Self {
        Processes::Count(1)
    }
}

impl Processes {
    /// The processes of a cell whose load generator may use `cores` CPUs (fractions
    /// round up), never more than its connections.
    pub fn resolve(self, cores: f64, concurrency: u32) -> u32 {
        let n = match self {
            Processes::Count(n) => n,
            Processes::Auto if cores.is_finite() => (cores - 1e-9).ceil().max(1.0) as u32,
            Processes::Auto => 1,
        };
        n.clamp(1, concurrency.max(1))
    }
}

impl fmt::Display for Processes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Processes::Count(n) => write!(f, "{n}"),
            Processes::Auto => f.write_str("auto"),
        }
    }
}

impl Serialize for Processes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Processes::Count(n) => s.serialize_u32(*n),
            Processes::Auto => s.serialize_str("auto"),
        }
    }
}

const WHAT: &str =
    "a number of processes such as 2, or auto (one per CPU the load generator may use)";

impl<'de> Deserialize<'de> for Processes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Processes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(WHAT)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Processes, E> {
                match u32::try_from(v) {
                    Ok(n) if (1..=MAX_PROCESSES).contains(&n) => Ok(Processes::Count(n)),
                    _ => Err(E::custom(format!(
                        "{v} is out of range; use 1..={MAX_PROCESSES} processes, or auto"
                    ))),
                }
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Processes, E> {
                Err(E::custom(format!(
                    "{v} is not a number of processes; {WHAT}"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Processes, E> {
                Err(E::custom(format!(
                    "{v} is not a whole number of processes; {WHAT}"
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Processes, E> {
                match v.trim() {
                    "auto" => Ok(Processes::Auto),
                    _ => Err(E::custom(format!("`{v}` is not {WHAT}"))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_one_per_cpu_and_never_more_than_the_connections() {
        assert_eq!(Processes::Auto.resolve(2.0, 100), 2);
        assert_eq!(Processes::Auto.resolve(1.5, 100), 2);
        assert_eq!(Processes::Auto.resolve(0.5, 100), 1);
        assert_eq!(Processes::Auto.resolve(f64::INFINITY, 100), 1);
        assert_eq!(Processes::Count(4).resolve(1.0, 3), 3);
        assert_eq!(Processes::default().resolve(8.0, 100), 1);
    }

    #[test]
    fn reads_numbers_and_auto_and_refuses_the_rest() {
        let read = |s: &str| serde_yaml::from_str::<Processes>(s).map_err(|e| e.to_string());
        assert_eq!(read("3"), Ok(Processes::Count(3)));
        assert_eq!(read("auto"), Ok(Processes::Auto));
        for bad in ["0", "-1", "1.5", "many", "100000"] {
            assert!(read(bad).is_err(), "{bad}");
        }
        assert!(read("0").unwrap_err().contains("out of range"));
        // Recorded as written, and read back.
        for p in [Processes::Count(3), Processes::Auto] {
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(
                serde_json::from_str::<Processes>(&json).unwrap(),
                p,
                "{json}"
            );
        }
        assert_eq!(serde_json::to_string(&Processes::Auto).unwrap(), "\"auto\"");
    }
}
