//! Where a run's containers ran, and the one route by which the load generator reached
//! the servers: decided once in the `placement` module, carried as a [`Route`] everywhere.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where a run's containers ran: every server container on `servers`, every load
/// generator container on `loadgen` (Docker endpoints), and how the tool reached the servers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Placed {
    pub servers: String,
    pub loadgen: String,
    pub route: Route,
    /// The load generator hosts after the first (`hosts.loadgen` as a list), each with its
    /// own route to the servers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub loadgen_also: Vec<PlacedLoadgen>,
}

/// A load generator host after the first: its endpoint and how it reached the servers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct PlacedLoadgen {
    pub loadgen: String,
    pub route: Route,
}

impl Placed {
    /// The roles ran on two daemons.
    pub fn two_hosts(&self) -> bool {
        self.route.two_hosts()
    }
}

/// How the load generator reaches the servers. Stored as its sentence (`private network`,
/// `ADDRESS (published ports)`), as schema 1 wrote it, so old and new records read alike.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Route {
    /// One daemon: a private Docker network, servers by container name.
    #[default]
    Network,
    /// Two daemons: each server's published port at this address.
    Published { address: String },
}

const NETWORK: &str = "private network";
const PUBLISHED: &str = " (published ports)";

impl Route {
    /// The roles ran on two daemons.
    pub fn two_hosts(&self) -> bool {
        matches!(self, Route::Published { .. })
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Route::Network => f.write_str(NETWORK),
            Route::Published { address } => write!(f, "{address}{PUBLISHED}"),
        }
    }
}

impl From<Route> for String {
    fn from(r: Route) -> String {
        r.to_string()
    }
}

/// Reads what [`Display`](fmt::Display) writes; any other sentence (a newer lab's) is read
/// as an address, so that the roles still count as two hosts.
impl From<String> for Route {
    fn from(s: String) -> Route {
        if s == NETWORK {
            return Route::Network;
        }
        let address = s.strip_suffix(PUBLISHED).unwrap_or(&s).to_string();
        Route::Published { address }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_route_reads_back_what_it_writes() {
        for r in [
            Route::Network,
            Route::Published {
                address: "10.0.0.5".into(),
            },
        ] {
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Route>(&json).unwrap(), r);
        }
        let r: Route = serde_json::from_str("\"10.0.0.5 (published ports)\"").unwrap();
        assert!(r.two_hosts());
        assert_eq!(r.to_string(), "10.0.0.5 (published ports)");
        assert!(!Route::from("private network".to_string()).two_hosts());
    }
}
