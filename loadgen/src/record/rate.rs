//! `loadgen.rate`: the offered rates of open-loop cells, as requests per second (`500`) or
//! as a share of the capacity the lab measures first (`50%`).
//!
//! A percentage makes one lab file fit servers and limits of very different speeds: the
//! lab runs a short closed-loop pass per server and resource group, takes its req/s as the
//! capacity, and offers `p%` of that. An absolute rate compares servers at the same load.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// Highest absolute rate: far above what one load generator container can send.
pub const MAX_RATE: u64 = 10_000_000;
/// Highest percentage: ten times the capacity is overload enough.
pub const MAX_PERCENT: u32 = 1000;

/// One offered rate as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RateSpec {
    /// A share of the measured closed-loop capacity, in percent.
    Percent(u32),
    /// Requests per second.
    PerSecond(u64),
}

impl RateSpec {
    /// What a rate is, for error messages.
    pub const WHAT: &'static str =
        "a rate in requests per second (500) or a share of capacity (50%)";

    /// The rate in requests per second, given the capacity a percentage refers to.
    pub fn resolve(self, capacity: Option<f64>) -> Option<f64> {
        match self {
            RateSpec::PerSecond(r) => Some(r as f64),
            RateSpec::Percent(p) => capacity.map(|c| c * f64::from(p) / 100.0),
        }
    }

    pub fn is_percent(self) -> bool {
        matches!(self, RateSpec::Percent(_))
    }

    /// For cell ids and file names: `q500`, `q50pct`.
    pub fn id(self) -> String {
        match self {
            RateSpec::Percent(p) => format!("q{p}pct"),
            RateSpec::PerSecond(r) => format!("q{r}"),
        }
    }

    /// What is wrong with it, if anything.
    pub fn problem(self) -> Option<String> {
        match self {
            RateSpec::PerSecond(0) | RateSpec::Percent(0) => {
                Some("a rate of 0 sends nothing; use at least 1 (req/s) or 1%".into())
            }
            RateSpec::PerSecond(r) if r > MAX_RATE => Some(format!(
                "{r} req/s is more than {MAX_RATE}; no single load generator sends that"
            )),
            RateSpec::Percent(p) if p > MAX_PERCENT => Some(format!(
                "{p}% is more than {MAX_PERCENT}% of the capacity; that much overload shows \
                 nothing a smaller one does not"
            )),
            _ => None,
        }
    }
}

impl fmt::Display for RateSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RateSpec::Percent(p) => write!(f, "{p}%"),
            RateSpec::PerSecond(r) => write!(f, "{r}"),
        }
    }
}

/// Written back as the user wrote it: a number or `"50%"`.
impl Serialize for RateSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            RateSpec::PerSecond(r) => s.serialize_u64(*r),
            RateSpec::Percent(_) => s.serialize_str(&self.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for RateSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RateSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(RateSpec::WHAT)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RateSpec, E> {
                Ok(RateSpec::PerSecond(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RateSpec, E> {
                Err(E::custom(format!(
                    "{v} is not a rate; rates are whole requests per second >= 1"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RateSpec, E> {
                Err(E::custom(format!(
                    "{v} is not a whole number of requests per second; write e.g. {}",
                    v.round().max(1.0)
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RateSpec, E> {
                let t = v.trim();
                let bad = || {
                    E::custom(format!(
                        "`{v}` is not a rate; use requests per second (500) or a whole \
                         percentage of the measured capacity (50%)"
                    ))
                };
                match t.strip_suffix('%') {
                    Some(p) => p.trim().parse().map(RateSpec::Percent).map_err(|_| bad()),
                    None => t.parse().map(RateSpec::PerSecond).map_err(|_| bad()),
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
    fn rates_read_as_numbers_or_percentages_and_write_back_the_same() {
        let v: Vec<RateSpec> = serde_json::from_str(r#"[500, "50%", "2000"]"#).unwrap();
        assert_eq!(
            v,
            [
                RateSpec::PerSecond(500),
                RateSpec::Percent(50),
                RateSpec::PerSecond(2000)
            ]
        );
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"[500,"50%",2000]"#.to_string()
        );
        assert_eq!(RateSpec::Percent(50).resolve(Some(1000.0)), Some(500.0));
        assert_eq!(RateSpec::Percent(50).resolve(None), None);
        assert_eq!(RateSpec::PerSecond(7).resolve(None), Some(7.0));
        assert_eq!(RateSpec::Percent(110).id(), "q110pct");
        assert!(RateSpec::Percent(0).problem().is_some());
        assert!(RateSpec::Percent(1001).problem().is_some());
        assert!(RateSpec::PerSecond(1).problem().is_none());
    }
}
