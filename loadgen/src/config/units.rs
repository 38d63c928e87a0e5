//! The small value languages of a lab file: memory sizes (`256m`), durations (`30s`),
//! cpusets (`0-2,4`), and "one value or a list of them" (a sweep).
//!
//! The parsers are plain functions returning a message, so they can be tested alone; the
//! [`serde::Deserialize`] impls wrap them so that serde_yaml attaches the field path and the
//! position to the message, exactly as for its own type errors.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::{BoolDeserializer, F64Deserializer, I64Deserializer, StrDeserializer};
use serde::de::value::{StringDeserializer, U64Deserializer};
use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// The smallest memory limit Docker accepts for a container.
pub const MIN_MEMORY: u64 = 6 * MIB;
/// The largest: Docker keeps the limit in an `int64`.
pub const MAX_MEMORY: u64 = i64::MAX as u64;

/// Parses a memory size: bytes (`1048576`) or a number with a binary unit: `64k`, `256m`,
/// `256M`, `256MiB`, `512mb`, `1g`, `1.5g` (k = 1024, as Docker counts).
pub fn parse_memory(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a size; use bytes or a number with k, m, g (e.g. 256m)");
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => KIB,
        "m" | "mb" | "mib" => MIB,
        "g" | "gb" | "gib" => GIB,
        _ => return Err(bad()),
    };
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(bad());
    }
    if let Ok(n) = number.parse::<u64>() {
        return n
            .checked_mul(factor)
            .ok_or_else(|| format!("`{text}` is too large"));
    }
    // A decimal such as `1.5g`: fine as long as it comes to whole bytes.
    let x: f64 = number.parse().map_err(|_| bad())?;
    let bytes = x * factor as f64;
    if bytes.fract() != 0.0 {
        return Err(format!("`{text}` is not a whole number of bytes"));
    }
    if bytes >= u64::MAX as f64 {
        return Err(format!("`{text}` is too large"));
    }
    Ok(bytes as u64)
}

pub use crate::record::format_memory;

/// Parses a duration into milliseconds: `500ms`, `30s`, `2m`, `1h`, `1.5s`; a bare number
/// is seconds.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let bad = || format!("`{text}` is not a duration; use a number with ms, s, m or h (e.g. 30s)");
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let factor: u64 = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        _ => return Err(bad()),
    };
    if number.is_empty() || number.starts_with('.') || number.ends_with('.') {
        return Err(bad());
    }
    let x: f64 = number.parse().map_err(|_| bad())?;
    let ms = (x * factor as f64).ceil();
    if ms >= u64::MAX as f64 {
        return Err(format!("`{text}` is too long"));
    }
    Ok(ms as u64)
}

/// Parses a cpuset (`0`, `0-2,4`) into the sorted, de-duplicated CPU numbers it names.
/// Every CPU must exist on a host with `host_cpus` CPUs (numbered from 0).
pub fn parse_cpuset(text: &str, host_cpus: usize) -> Result<Vec<usize>, String> {
    let bad = || {
        format!(
            "`{text}` is not a cpuset; use CPU numbers and ranges from 0, e.g. \"0\" or \"0-2,4\""
        )
    };
    let mut cpus = Vec::new();
    if text.trim().is_empty() {
        return Err(bad());
    }
    for part in text.split(',') {
        let part = part.trim();
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.trim(), hi.trim()),
            None => (part, part),
        };
        let lo: usize = lo.parse().map_err(|_| bad())?;
        let hi: usize = hi.parse().map_err(|_| bad())?;
        if lo > hi {
            return Err(format!("`{text}`: the range {part} runs backwards"));
        }
        if hi >= host_cpus {
            let last = host_cpus.saturating_sub(1);
            return Err(format!(
                "`{text}` names CPU {hi}, but this host has {host_cpus} CPU{} (0-{last})",
                if host_cpus == 1 { "" } else { "s" }
            ));
        }
        cpus.extend(lo..=hi);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// A memory size field: bytes or a string with a unit, at least [`MIN_MEMORY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemorySize(pub u64);

impl MemorySize {
    fn checked<E: de::Error>(bytes: u64) -> Result<Self, E> {
        if bytes < MIN_MEMORY {
            return Err(E::custom(format!(
                "{} is less than 6m, the least memory Docker lets a container have",
                format_memory(bytes)
            )));
        }
        if bytes > MAX_MEMORY {
            return Err(E::custom(format!(
                "{} is more than Docker can take (its limit is a signed 64-bit count of \
                 bytes, at most {MAX_MEMORY})",
                format_memory(bytes)
            )));
        }
        Ok(MemorySize(bytes))
    }
}

impl<'de> Deserialize<'de> for MemorySize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = MemorySize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a size: bytes or a number with k, m, g (e.g. 256m)")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MemorySize, E> {
                MemorySize::checked(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MemorySize, E> {
                match u64::try_from(v) {
                    Ok(v) => MemorySize::checked(v),
                    Err(_) => Err(E::custom(format!("{v} is not a size; sizes are positive"))),
                }
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<MemorySize, E> {
                Err(E::custom(format!(
                    "{v} is not a size; use whole bytes or a number with k, m, g (e.g. 256m)"
                )))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MemorySize, E> {
                MemorySize::checked(parse_memory(v).map_err(E::custom)?)
            }
        }
        d.deserialize_any(V)
    }
}

/// A duration field (`30s`, `500ms`, `2m`, or a number of seconds), in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationMs(pub u64);

impl<'de> Deserialize<'de> for DurationMs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = DurationMs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a duration such as 30s, 500ms or 2m")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<DurationMs, E> {
                v.checked_mul(1000)
                    .map(DurationMs)
                    .ok_or_else(|| E::custom(format!("{v}s is too long")))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<DurationMs, E> {
                Err(E::custom(format!(
                    "{v} is not a duration; durations are positive"
                )))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<DurationMs, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DurationMs, E> {
                parse_duration_ms(v).map(DurationMs).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// A number of requests, or `off` (also `false`) for none: the `warmup` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of requests, or `off`")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Count, E> {
                Ok(Count(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Count, E> {
                Err(E::custom(format!(
                    "{v} is negative; use a number of requests, or `off`"
                )))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Count, E> {
                if v {
                    Err(E::custom(
                        "`true` is not a number of requests; use a number, or `off`",
                    ))
                } else {
                    Ok(Count(0))
                }
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Count, E> {
                match v {
                    "off" => Ok(Count(0)),
                    _ => Err(E::custom(format!(
                        "`{v}` is not a number of requests; use a number, or `off`"
                    ))),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// A scalar read as text: `RUST_LOG: warn`, `PORT: 8080` and `DEBUG: true` all give
/// strings, so env values and args need no quotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// What a sweepable value is, for "expected ..." messages.
impl Describe for crate::record::RateSpec {
    const WHAT: &'static str = crate::record::RateSpec::WHAT;
}

pub trait Describe {
    const WHAT: &'static str;
}
impl Describe for u32 {
    const WHAT: &'static str = "a number";
}
impl Describe for f64 {
    const WHAT: &'static str = "a number";
}
impl Describe for bool {
    const WHAT: &'static str = "true or false";
}
impl Describe for MemorySize {
    const WHAT: &'static str = "a size (e.g. 256m)";
}

/// One value or a list of them: `concurrency: 10` or `concurrency: [1, 10, 100]`. A list is
/// a sweep dimension; a single value is a list of one.
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany<T> {
    pub items: Vec<T>,
    /// Written as a list (so item `i` is at `path[i]`) rather than as a single value.
    pub list: bool,
}

impl<T> OneOrMany<T> {
    /// The path of item `i`, for error messages.
    pub fn item_path(&self, path: &str, i: usize) -> String {
        if self.list {
            super::locate::index(path, i)
        } else {
            path.to_string()
        }
    }
}

impl<'de, T: Deserialize<'de> + Describe> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<T> V<T> {
            fn one(v: T) -> OneOrMany<T> {
                OneOrMany {
                    items: vec![v],
                    list: false,
                }
            }
        }
        impl<'de, T: Deserialize<'de> + Describe> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                write!(f, "{} or a list of them", T::WHAT)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                T::deserialize(U64Deserializer::<E>::new(v)).map(Self::one)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                T::deserialize(I64Deserializer::<E>::new(v)).map(Self::one)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                T::deserialize(F64Deserializer::<E>::new(v)).map(Self::one)
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                T::deserialize(BoolDeserializer::<E>::new(v)).map(Self::one)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                T::deserialize(StrDeserializer::<E>::new(v)).map(Self::one)
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                T::deserialize(StringDeserializer::<E>::new(v)).map(Self::one)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(OneOrMany { items, list: true })
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}
