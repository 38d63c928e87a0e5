//! `repeat:`: how many times each cell is measured.
//!
//! ```yaml
//! repeat: 3          # exactly 3 times
//! repeat: auto       # until the median req/s is known to ±5% (95% confidence)
//! repeat: { target: 5%, min: 6, max: 20, time: 10s }
//! ```
//!
//! What `auto` means depends on the cells. Cells the lab sizes (the steady-state policy)
//! or that run for a `duration` hold several whole seconds each: their seconds are the
//! batches of a batch-means interval (`stats::batch_ci95`), so two repetitions (in A B,
//! B A order) can already give it: `min: 2, max: 10, time: 15s`. Cells of a fixed number
//! of requests give one figure each, and the distribution-free interval of the median
//! needs six: `min: 6, max: 20, time: 10s`.
//!
//! `auto` is hyperfine's idea (a minimum number of runs, then more until a criterion or a
//! budget) applied to the lab's unit, a *point* (one workload, keep-alive setting and
//! concurrency, across all servers): every server of the point is measured once per round,
//! interleaved A B, B A, and rounds continue until every server's interval is narrow
//! enough, `max` rounds are done, or the point has taken `time`.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::units::DurationMs;

/// The checked `auto` settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AutoRepeat {
    /// Stop when the 95% interval of the median req/s is within ± this share of it.
    pub target: f64,
    /// Repetitions always run (at least 6: fewer cannot give a 95% interval).
    pub min: u32,
    /// Repetitions never exceeded.
    pub max: u32,
    /// Measurement time after which a point stops repeating, seconds.
    pub time_s: f64,
}

impl Default for AutoRepeat {
    /// For cells of a fixed number of requests (one figure each).
    fn default() -> Self {
        AutoRepeat {
            target: 0.05,
            min: 6,
            max: 20,
            time_s: 10.0,
        }
    }
}

impl AutoRepeat {
    /// For timed cells, whose seconds are batches: two repetitions can give the interval.
    pub fn timed() -> Self {
        AutoRepeat {
            target: 0.05,
            min: 2,
            max: 10,
            time_s: 15.0,
        }
    }
}

/// `repeat:` as written.
#[derive(Debug)]
pub enum RawRepeat {
    Times(u64),
    Auto(RawAutoRepeat),
}

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping such as { target: 5%, min: 6, max: 20, time: 10s }"
)]
pub struct RawAutoRepeat {
    pub target: Option<Share>,
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub time: Option<DurationMs>,
}

impl<'de> Deserialize<'de> for RawRepeat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawRepeat;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of repetitions, `auto`, or { target: 5%, min: 6, max: 20, time: 10s }")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawRepeat, E> {
                Ok(RawRepeat::Times(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawRepeat, E> {
                Err(E::custom(format!(
                    "{v} is negative; repeat must be 1..=100 or `auto`"
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawRepeat, E> {
                match v {
                    "auto" => Ok(RawRepeat::Auto(RawAutoRepeat::default())),
                    _ => Err(E::custom(format!(
                        "`{v}` is not a repeat setting; use a number, `auto`, or {{ target: 5%, max: 20 }}"
                    ))),
                }
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawRepeat, A::Error> {
                RawAutoRepeat::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(RawRepeat::Auto)
            }
        }
        d.deserialize_any(V)
    }
}

/// A share written as a percentage (`5%`) or a fraction (`0.05`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Share(pub f64);

impl<'de> Deserialize<'de> for Share {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Share;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a percentage such as 5% (or a fraction such as 0.05)")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Share, E> {
                Ok(Share(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Share, E> {
                Err(E::custom(format!(
                    "{v} is ambiguous; write {v}% (a percentage)"
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Share, E> {
                v.trim()
                    .strip_suffix('%')
                    .and_then(|p| p.trim().parse::<f64>().ok())
                    .map(|p| Share(p / 100.0))
                    .ok_or_else(|| E::custom(format!("`{v}` is not a percentage such as 5%")))
            }
        }
        d.deserialize_any(V)
    }
}

use super::validate::MAX_REPEAT;

/// Check `repeat`: `(repetitions at most, auto settings)`, or the field and the problem.
pub fn check(
    raw: Option<RawRepeat>,
    timed: bool,
) -> Result<(u32, Option<AutoRepeat>), (String, String)> {
    let fail = |field: &str, msg: String| Err((field.to_string(), msg));
    match raw {
        None => Ok((1, None)),
        Some(RawRepeat::Times(n)) if (1..=MAX_REPEAT as u64).contains(&n) => Ok((n as u32, None)),
        Some(RawRepeat::Times(n)) => fail(
            "repeat",
            format!("{n} is out of range; repeat must be 1..={MAX_REPEAT} or `auto`"),
        ),
        Some(RawRepeat::Auto(a)) => {
            let d = if timed {
                AutoRepeat::timed()
            } else {
                AutoRepeat::default()
            };
            let auto = AutoRepeat {
                target: a.target.map_or(d.target, |s| s.0),
                min: a.min.unwrap_or(d.min),
                max: a.max.unwrap_or(d.max),
                time_s: a.time.map_or(d.time_s, |t| t.0 as f64 / 1000.0),
            };
            if !(auto.target > 0.0 && auto.target < 1.0) {
                return fail(
                    "repeat.target",
                    format!(
                        "{} is out of range; use a percentage between 0% and 100%, e.g. 5%",
                        auto.target * 100.0
                    ),
                );
            }
            if !(2..=MAX_REPEAT).contains(&auto.min) {
                return fail("repeat.min", format!("{} is out of range; min must be 2..={MAX_REPEAT} (repetitions alternate the servers' order, so at least 2)", auto.min));
            }
            if auto.max < auto.min || auto.max > MAX_REPEAT {
                return fail(
                    "repeat.max",
                    format!(
                        "{} is out of range; max must be min ({})..={MAX_REPEAT}",
                        auto.max, auto.min
                    ),
                );
            }
            if auto.time_s <= 0.0 {
                return fail("repeat.time", "the time budget must be more than 0s".into());
            }
            Ok((auto.max, Some(auto)))
        }
    }
}
