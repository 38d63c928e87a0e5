//! `hosts:`: which Docker host each role runs on.
//!
//! ```yaml
//! hosts:
//!   servers: { docker: "tcp://10.0.0.5:2376", tls: /etc/lab/certs, address: "10.0.0.5" }
//!   loadgen: "unix:///var/run/docker.sock"     # short for { docker: "unix:///..." }
//! ```
//!
//! `loadgen` may also be a list of such hosts: every cell's load is then shared out among
//! them (each runs `loadgen.processes` processes) and sent at once; the first host is the
//! one whose container counters, pinning and tool version the run records.
//!
//! Leaving `hosts` (or a role) out means the daemon the docker CLI would use
//! (`DOCKER_HOST`, then the current Docker context). `address` is how the load generator
//! reaches the servers' host when the two roles are on different daemons; see
//! the `placement` module for how a missing one is derived.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, value::MapAccessDeserializer, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// The checked `hosts:` section; a role left out is `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Hosts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servers: Option<Host>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loadgen: Option<Host>,
    /// The load generator hosts after the first when `hosts.loadgen` is a list: each sends
    /// its share of every cell at the same moment as the first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loadgen_also: Vec<Host>,
}

/// One role's Docker host as checked: exactly one of `docker` and `context`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// `unix:///path`, `tcp://HOST:PORT`, `ssh://USER@HOST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<String>,
    /// A Docker context by name (`docker context ls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Folder with `ca.pem`, `cert.pem` and `key.pem` for a TLS `tcp://` endpoint (what
    /// `DOCKER_CERT_PATH` names for the docker CLI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<PathBuf>,
    /// The servers' host only: the name or IP the load generator connects to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// `hosts:` as written.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping { servers: ENDPOINT, loadgen: ENDPOINT }"
)]
pub struct RawHosts {
    pub servers: Option<RawServersHost>,
    pub loadgen: Option<RawLoadgenHosts>,
}

/// `hosts.servers` in its mapping form: `{ docker | context, tls, address }`.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping such as { docker: \"tcp://10.0.0.5:2376\", address: 10.0.0.5 }"
)]
pub struct ServersFields {
    pub docker: Option<String>,
    pub context: Option<String>,
    pub tls: Option<String>,
    pub address: Option<String>,
}

/// `hosts.loadgen` in its mapping form: `{ docker | context, tls }` (no address: nothing
/// connects to the load generator).
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping such as { docker: \"unix:///var/run/docker.sock\" }"
)]
pub struct LoadgenFields {
    pub docker: Option<String>,
    pub context: Option<String>,
    pub tls: Option<String>,
}

/// `hosts.servers` as written: an endpoint string or the mapping.
#[derive(Debug)]
pub struct RawServersHost(pub ServersFields);
/// `hosts.loadgen` as written: an endpoint string or the mapping.
#[derive(Debug)]
pub struct RawLoadgenHost(pub LoadgenFields);

/// `hosts.loadgen` as written: one host, or a list of them.
#[derive(Debug)]
pub struct RawLoadgenHosts {
    pub hosts: Vec<RawLoadgenHost>,
    pub list: bool,
}

impl<'de> Deserialize<'de> for RawLoadgenHosts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawLoadgenHosts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "an endpoint such as \"unix:///var/run/docker.sock\", { docker: ENDPOINT }, \
                     or a list of them",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawLoadgenHosts, E> {
                let one = RawLoadgenHost::deserialize(de::value::StrDeserializer::new(v))?;
                Ok(RawLoadgenHosts {
                    hosts: vec![one],
                    list: false,
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawLoadgenHosts, A::Error> {
                let one = RawLoadgenHost::deserialize(MapAccessDeserializer::new(map))?;
                Ok(RawLoadgenHosts {
                    hosts: vec![one],
                    list: false,
                })
            }
            fn visit_seq<A: de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RawLoadgenHosts, A::Error> {
                let mut hosts = Vec::new();
                while let Some(h) = seq.next_element::<RawLoadgenHost>()? {
                    hosts.push(h);
                }
                Ok(RawLoadgenHosts { hosts, list: true })
            }
        }
        d.deserialize_any(V)
    }
}

/// A plain string is short for `{ docker: STRING }`.
macro_rules! string_or_map {
    ($raw:ident, $fields:ident, $expecting:literal) => {
        impl<'de> Deserialize<'de> for $raw {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $raw;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: de::Error>(self, v: &str) -> Result<$raw, E> {
                        Ok($raw($fields {
                            docker: Some(v.to_string()),
                            ..Default::default()
                        }))
                    }
                    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<$raw, A::Error> {
                        $fields::deserialize(MapAccessDeserializer::new(map)).map($raw)
                    }
                }
                d.deserialize_any(V)
            }
        }
    };
}

string_or_map!(
    RawServersHost,
    ServersFields,
    "an endpoint such as \"tcp://10.0.0.5:2376\", or { docker: ENDPOINT, address: HOST }"
);
string_or_map!(
    RawLoadgenHost,
    LoadgenFields,
    "an endpoint such as \"unix:///var/run/docker.sock\", or { docker: ENDPOINT }"
);

/// Checks `hosts:`; `Err` is the field at fault and a one-line message.
pub fn check(raw: Option<RawHosts>) -> Result<Hosts, (String, String)> {
    let Some(raw) = raw else {
        return Ok(Hosts::default());
    };
    let servers = raw
        .servers
        .map(|RawServersHost(s)| host("hosts.servers", s.docker, s.context, s.tls, s.address))
        .transpose()?;
    let mut loadgen = Vec::new();
    if let Some(RawLoadgenHosts { hosts, list }) = raw.loadgen {
        if hosts.is_empty() {
            return Err((
                "hosts.loadgen".into(),
                "an empty list names no host; leave `loadgen` out for the docker CLI's daemon"
                    .into(),
            ));
        }
        for (i, RawLoadgenHost(l)) in hosts.into_iter().enumerate() {
            let at = match list {
                true => format!("hosts.loadgen[{i}]"),
                false => "hosts.loadgen".into(),
            };
            let h = host(&at, l.docker, l.context, l.tls, None)?;
            if let Some(j) = loadgen.iter().position(|seen| *seen == h) {
                return Err((
                    at,
                    format!(
                        "the same host as hosts.loadgen[{j}]; one host sends with more \
                         processes through `loadgen.processes`"
                    ),
                ));
            }
            loadgen.push(h);
        }
    }
    let mut loadgen = loadgen.into_iter();
    Ok(Hosts {
        servers,
        loadgen: loadgen.next(),
        loadgen_also: loadgen.collect(),
    })
}

fn host(
    at: &str,
    docker: Option<String>,
    context: Option<String>,
    tls: Option<String>,
    address: Option<String>,
) -> Result<Host, (String, String)> {
    let fail = |field: &str, msg: String| Err((format!("{at}.{field}"), msg));
    match (&docker, &context) {
        (Some(_), Some(_)) => {
            return fail(
                "context",
                "give `docker: ENDPOINT` or `context: NAME`, not both".into(),
            )
        }
        (None, None) => {
            return Err((
                at.to_string(),
                "name the Docker host: `docker: ENDPOINT` (unix://, tcp://, ssh://) or \
                 `context: NAME`"
                    .into(),
            ))
        }
        _ => {}
    }
    if let Some(d) = &docker {
        if let Some(msg) = endpoint_problem(d) {
            return fail("docker", msg);
        }
    }
    if let Some(c) = context.as_deref().filter(|c| c.trim().is_empty()) {
        return fail("context", format!("`{c}` is not a context name"));
    }
    if tls.is_some() && !docker.as_deref().is_some_and(is_tcp) {
        return fail(
            "tls",
            "TLS files are for a tcp:// endpoint; a context brings its own and unix:// and \
             ssh:// need none"
                .into(),
        );
    }
    if let Some(a) = &address {
        if let Some(msg) = address_problem(a) {
            return fail("address", msg);
        }
    }
    Ok(Host {
        docker,
        context,
        tls: tls.map(PathBuf::from),
        address,
    })
}

fn is_tcp(endpoint: &str) -> bool {
    endpoint.starts_with("tcp://") || endpoint.starts_with("https://")
}

/// What is wrong with a Docker endpoint, if anything: the schemes the docker CLI and the
/// lab's client speak, with something after the scheme.
pub fn endpoint_problem(endpoint: &str) -> Option<String> {
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return Some(format!(
            "`{endpoint}` is not a Docker endpoint; write unix:///var/run/docker.sock, \
             tcp://HOST:2376 or ssh://USER@HOST"
        ));
    };
    if !matches!(scheme, "unix" | "tcp" | "http" | "https" | "ssh") {
        return Some(format!(
            "`{scheme}://` is not a Docker endpoint scheme; use unix://, tcp:// or ssh://"
        ));
    }
    if rest.trim().is_empty() || rest.contains(char::is_whitespace) {
        return Some(format!("`{endpoint}` names no socket or host"));
    }
    None
}

/// What is wrong with an address the load generator connects to, if anything: a host name
/// or an IP, without scheme or port (the lab publishes the port and knows its number).
pub fn address_problem(address: &str) -> Option<String> {
    let bare_v6 = address.parse::<std::net::Ipv6Addr>().is_ok();
    if address.contains("://") || address.contains('/') {
        Some(format!(
            "`{address}` is a URL; give only the host name or IP (e.g. 10.0.0.5)"
        ))
    } else if !bare_v6 && address.contains(':') {
        Some(format!(
            "`{address}` has a port; give only the host name or IP (the lab publishes each \
             server's port and connects to the number Docker chose)"
        ))
    } else if address.is_empty()
        || !address
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c))
    {
        Some(format!("`{address}` is not a host name or IP address"))
    } else {
        None
    }
}
