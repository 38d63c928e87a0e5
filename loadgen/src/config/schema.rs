//! The lab file as written: serde types that mirror the YAML one to one.
//!
//! Every struct denies unknown fields, because a misspelt optional field (`keepalve: true`)
//! would otherwise be ignored and the experiment would silently measure something else.
//! Optional fields are `Option` here and get their defaults in `validate.rs`, which also
//! turns these into the checked [`super::Lab`].

use std::collections::BTreeMap;
use std::fmt;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use super::units::{Count, DurationMs, MemorySize, OneOrMany, Text};
use super::Model;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping of lab settings")]
pub struct RawLab {
    pub name: String,
    pub output: Option<String>,
    pub repeat: Option<super::repeat::RawRepeat>,
    pub warmup: Option<Count>,
    pub pin: Option<RawPin>,
    pub servers: Vec<RawServer>,
    pub resources: RawResources,
    pub loadgen: RawLoadgen,
    pub workloads: Vec<RawWorkload>,
    pub background: Option<RawBackground>,
    pub nofile: Option<RawNofile>,
    pub hosts: Option<super::hosts::RawHosts>,
    /// What `lab tune` searches for (`tune.rs`); `lab run` ignores it.
    pub tune: Option<super::tune::RawTune>,
    /// Bounds the run must meet (`thresholds.rs`); `lab run` exits 4 when one fails.
    pub thresholds: Option<Vec<super::thresholds::RawThreshold>>,
    /// Check each `server-cpu` and `loadgen` verdict with a counterfactual cell (`confirm/`).
    pub confirm: Option<bool>,
}

/// `nofile: auto` or `nofile: 65536`.
#[derive(Debug)]
pub enum RawNofile {
    Auto,
    Fixed(u64),
}

impl<'de> Deserialize<'de> for RawNofile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawNofile;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`auto` or a whole number of open files, e.g. 65536")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawNofile, E> {
                Ok(RawNofile::Fixed(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawNofile, E> {
                u64::try_from(v).map(RawNofile::Fixed).map_err(|_| {
                    E::custom(format!(
                        "{v} is not a number of open files; use `auto` or a whole number >= 1"
                    ))
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawNofile, E> {
                match v {
                    "auto" => Ok(RawNofile::Auto),
                    _ => Err(E::custom(format!(
                        "`{v}` is not an open-file limit; use `auto` or a whole number such as 65536"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A second ab holding connections open while every cell is measured.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping such as { concurrency: 900, path: /sleep/1000, keepalive: true }"
)]
pub struct RawBackground {
    pub concurrency: u32,
    pub path: String,
    pub keepalive: Option<bool>,
}

/// `pin: auto`, `pin: off` (or `false`), or `pin: { servers: "0", loadgen: "1" }`.
#[derive(Debug)]
pub enum RawPin {
    Auto,
    Off,
    Explicit(RawPinExplicit),
}

impl<'de> Deserialize<'de> for RawPin {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawPin;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("`auto`, `off`, or a mapping { servers: CPUSET, loadgen: CPUSET }")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawPin, E> {
                Ok(if v { RawPin::Auto } else { RawPin::Off })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawPin, E> {
                match v {
                    "auto" => Ok(RawPin::Auto),
                    "off" => Ok(RawPin::Off),
                    _ => Err(E::custom(format!(
                        "`{v}` is not a pin mode; use `auto`, `off`, or {{ servers: \"0\", loadgen: \"1\" }}"
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawPin, A::Error> {
                RawPinExplicit::deserialize(MapAccessDeserializer::new(map)).map(RawPin::Explicit)
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping { servers: CPUSET, loadgen: CPUSET }"
)]
pub struct RawPinExplicit {
    pub servers: Text,
    pub loadgen: Text,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a server mapping such as { name: async, model: async, port: 45000 }"
)]
pub struct RawServer {
    pub name: String,
    pub model: Option<Model>,
    pub image: Option<String>,
    pub port: u16,
    #[serde(default)]
    pub args: Vec<Text>,
    #[serde(default)]
    pub env: BTreeMap<String, super::env::RawEnvValue>,
    /// `false` runs an image server with the image's own privileges (e.g. nginx, whose
    /// master process changes user): no capability drop, no read-only root.
    pub hardening: Option<bool>,
    pub resources: Option<RawResources>,
}

/// Container limits. At the top level `cpus` and `memory` may be lists (a sweep); in a
/// server's override each must be a single value (checked in `validate.rs`, which can say so
/// more clearly than a type error).
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping such as { cpus: 1.0, memory: 256m, pids: 4096 }"
)]
pub struct RawResources {
    pub cpus: Option<OneOrMany<f64>>,
    pub memory: Option<OneOrMany<MemorySize>>,
    pub pids: Option<i64>,
    /// The CFS period of the CPU limit (Docker `--cpu-period`): top level only.
    pub cpu_period: Option<DurationMs>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping such as { requests: 1000, concurrency: [1, 10, 100] }"
)]
pub struct RawLoadgen {
    pub tool: Option<crate::record::Tool>,
    pub image: Option<String>,
    pub cpus: Option<f64>,
    /// Required for closed-loop cells unless `duration` is given.
    pub requests: Option<u64>,
    /// Open loop (oha): offered rates.
    pub rate: Option<OneOrMany<super::RateSpec>>,
    /// How long each cell sends (oha): required with `rate`.
    pub duration: Option<DurationMs>,
    pub concurrency: OneOrMany<u32>,
    pub keepalive: Option<OneOrMany<bool>>,
    pub timeout: Option<DurationMs>,
    /// Quota periods of steady load a cell covers when the lab sizes it (no `requests`).
    pub min_periods: Option<u32>,
    /// Load tool processes per cell (see `processes.rs`).
    pub processes: Option<super::Processes>,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a workload mapping such as { name: hello, path: / }"
)]
pub struct RawWorkload {
    pub name: String,
    pub path: String,
}
