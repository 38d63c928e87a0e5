//! Environment values of a server, some of them secret.
//!
//! ```yaml
//! env: { RUST_LOG: warn, API_TOKEN: { secret: "s3cr3t" } }
//! ```
//!
//! A secret value reaches the container and nothing else the lab writes: `results.json`
//! and `lab check` show `<secret>`, and the copy of the lab file in run and tune folders has
//! the value replaced (see [`super::redact`]).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use super::units::Text;

/// What every written record shows instead of a secret value.
pub const REDACTED: &str = "<secret>";

/// One environment value as checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvValue {
    pub value: String,
    pub secret: bool,
}

impl EnvValue {
    /// The value as records may show it.
    pub fn shown(&self) -> &str {
        if self.secret {
            REDACTED
        } else {
            &self.value
        }
    }
}

impl Serialize for EnvValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.shown())
    }
}

impl<'de> Deserialize<'de> for EnvValue {
    /// Reads what [`Serialize`] wrote: a redacted value stays redacted.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        Ok(EnvValue {
            secret: value == REDACTED,
            value,
        })
    }
}

/// `VALUE` or `{ secret: VALUE }` as written in a lab file.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEnvValue {
    pub text: Text,
    pub secret: bool,
}

impl<'de> Deserialize<'de> for RawEnvValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawEnvValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value, or { secret: VALUE } for a value kept out of every record")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawEnvValue, E> {
                Ok(plain(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawEnvValue, E> {
                Ok(plain(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawEnvValue, E> {
                Ok(plain(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawEnvValue, E> {
                Ok(plain(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawEnvValue, E> {
                Ok(plain(v.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEnvValue, A::Error> {
                let mut text = None;
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "secret" if text.is_none() => text = Some(map.next_value::<Text>()?),
                        "secret" => return Err(de::Error::duplicate_field("secret")),
                        other => return Err(de::Error::unknown_field(other, &["secret"])),
                    }
                }
                let text = text.ok_or_else(|| de::Error::missing_field("secret"))?;
                Ok(RawEnvValue { text, secret: true })
            }
        }
        d.deserialize_any(V)
    }
}

fn plain(v: String) -> RawEnvValue {
    RawEnvValue {
        text: Text(v),
        secret: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_redacted_everywhere_they_are_written() {
        let v = EnvValue {
            value: "s3cr3t".into(),
            secret: true,
        };
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"<secret>\"");
        let back: EnvValue = serde_json::from_str("\"<secret>\"").unwrap();
        assert!(back.secret);
    }

    #[test]
    fn raw_values_are_plain_or_secret() {
        let v: RawEnvValue = serde_yaml::from_str("warn").unwrap();
        assert_eq!((v.text.0.as_str(), v.secret), ("warn", false));
        let v: RawEnvValue = serde_yaml::from_str("{ secret: 42 }").unwrap();
        assert_eq!((v.text.0.as_str(), v.secret), ("42", true));
        assert!(serde_yaml::from_str::<RawEnvValue>("{ secrte: x }").is_err());
    }
}
