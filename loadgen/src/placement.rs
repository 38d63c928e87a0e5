//! Where each role runs: the servers' Docker host and the load generator's, and how the
//! load generator reaches the servers.
//!
//! One daemon for both (the default, and whenever both roles resolve to the same daemon):
//! every container is on one private network and ab connects to a server's container
//! address, as before. Two daemons: each gets a network of its own, every server publishes
//! its port on its host, and the load generator connects to `address:published-port`. The
//! verification probe, the warm-up and the metrics scrapes take that same path, so the
//! network between the hosts is part of every cell, as it would be in production.
//!
//! The address is `hosts.servers.address` when given; else the host name of a `tcp://` or
//! `ssh://` endpoint; else, when both daemons are on this machine (`unix://` sockets), the
//! gateway of the load generator's network there: an address of this machine that its
//! containers reach and where the servers' published ports answer.

use std::fmt;

use crate::config::hosts::{Host, Hosts};
use std::sync::Arc;

use crate::docker::{Docker, Unreachable};
use crate::endpoint::{self, Endpoint, EndpointError, Source};
use crate::engine::{Engine, EngineInfo};

/// The two roles a run places.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Servers,
    Loadgen,
}

impl Role {
    /// The lab file field naming the role's host.
    pub fn field(self) -> &'static str {
        match self {
            Role::Servers => "hosts.servers",
            Role::Loadgen => "hosts.loadgen",
        }
    }

    /// The command-line flag (and, upper-cased, the variable) that overrides it.
    pub fn flag(self) -> &'static str {
        match self {
            Role::Servers => "--servers-host",
            Role::Loadgen => "--loadgen-host",
        }
    }

    /// How messages name the role's host.
    pub fn noun(self) -> &'static str {
        match self {
            Role::Servers => "the servers' host",
            Role::Loadgen => "the load generator's host",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Servers => "servers",
            Role::Loadgen => "loadgen",
        })
    }
}

/// Command-line (or environment) settings that win over the lab file's `hosts:`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Overrides {
    pub servers: Option<String>,
    pub loadgen: Option<String>,
    pub address: Option<String>,
}

impl Overrides {
    /// Apply to a lab file's hosts. An endpoint given here replaces the role's whole entry
    /// (its context and TLS folder too); the address replaces the servers' address.
    pub fn apply(&self, hosts: &mut Hosts) -> Result<(), String> {
        for (role, given, slot) in [
            (Role::Servers, &self.servers, &mut hosts.servers),
            (Role::Loadgen, &self.loadgen, &mut hosts.loadgen),
        ] {
            if let Some(docker) = given {
                if let Some(problem) = crate::config::hosts::endpoint_problem(docker) {
                    return Err(format!("{}: {problem}", role.flag()));
                }
                let address = slot.take().and_then(|h| h.address);
                *slot = Some(Host {
                    docker: Some(docker.clone()),
                    address,
                    ..Host::default()
                });
            }
        }
        // `--loadgen-host` names the one load generator host, in place of a whole list.
        if self.loadgen.is_some() {
            hosts.loadgen_also.clear();
        }
        if let Some(address) = &self.address {
            if let Some(problem) = crate::config::hosts::address_problem(address) {
                return Err(format!("--servers-address: {problem}"));
            }
            hosts.servers.get_or_insert_with(Host::default).address = Some(address.clone());
        }
        Ok(())
    }
}

/// The endpoints chosen for both roles, before connecting.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    pub servers: Endpoint,
    pub loadgen: Endpoint,
    /// The load generator hosts after the first (`hosts.loadgen` as a list).
    pub loadgen_also: Vec<Endpoint>,
    /// `hosts.servers.address`, if given.
    pub address: Option<String>,
}

impl Placement {
    /// Choose both endpoints. `env` looks up variables, `config` is the docker CLI's config
    /// folder (for contexts); `file` names the lab file in sources (`hosts.loadgen in x.yaml`).
    pub fn resolve(
        hosts: &Hosts,
        file: &str,
        env: &dyn Fn(&str) -> Option<String>,
        config: Option<&std::path::Path>,
    ) -> Result<Placement, EndpointError> {
        let one = |field: &str, host: Option<&Host>| -> Result<Endpoint, EndpointError> {
            let Some(host) = host.filter(|h| h.docker.is_some() || h.context.is_some()) else {
                return endpoint::resolve(env, config);
            };
            let named = format!("{field} in {file}");
            if let Some(name) = &host.context {
                return endpoint::context(name, named, config);
            }
            let docker = host.docker.clone().unwrap_or_default();
            let tls = match &host.tls {
                Some(dir) => Some(endpoint::tls_files(dir, &format!("{field}.tls"))?),
                None => None,
            };
            Ok(Endpoint {
                host: docker,
                tls,
                source: Source::Setting(named),
            })
        };
        let listed = !hosts.loadgen_also.is_empty();
        let first = match listed {
            true => "hosts.loadgen[0]",
            false => Role::Loadgen.field(),
        };
        Ok(Placement {
            servers: one(Role::Servers.field(), hosts.servers.as_ref())?,
            loadgen: one(first, hosts.loadgen.as_ref())?,
            loadgen_also: (hosts.loadgen_also.iter().enumerate())
                .map(|(i, h)| one(&format!("hosts.loadgen[{}]", i + 1), Some(h)))
                .collect::<Result<_, _>>()?,
            address: hosts.servers.as_ref().and_then(|h| h.address.clone()),
        })
    }

    /// Both roles name the same endpoint (the same daemon, whatever else is true).
    pub fn one_endpoint(&self) -> bool {
        self.servers.host == self.loadgen.host
    }

    /// What `lab check` prints: which role goes where, and how the load generator reaches
    /// the servers.
    pub fn describe(&self) -> String {
        let mut text = self.describe_first();
        for also in &self.loadgen_also {
            let one = also.host == self.servers.host;
            text.push_str(&format!(
                "\n           load generator also on {also}, sending its share of every cell \
                 at the same moment; it reaches each server {}",
                self.reach_words(one, also)
            ));
        }
        text
    }

    /// [`Placement::describe`] of the servers and the first load generator host.
    fn describe_first(&self) -> String {
        if self.one_endpoint() {
            return format!(
                "placement: servers and load generator on one Docker host, {}; the load \
                 generator reaches the servers on a private network",
                self.servers
            );
        }
        format!(
            "placement: servers on {}\n           load generator on {}\n           the \
             load generator reaches each server {}",
            self.servers,
            self.loadgen,
            self.reach_words(false, &self.loadgen)
        )
    }

    /// How a load generator host on `loadgen` reaches the servers, in words.
    fn reach_words(&self, one_daemon: bool, loadgen: &Endpoint) -> String {
        match route(one_daemon, self.address.as_deref(), &self.servers, loadgen) {
            Some(Route::Address(a)) => format!("at {a}:<published port>"),
            Some(Route::LoadgenGateway) => {
                "at the gateway of its network on the load generator's daemon (both daemons \
                 are on this machine)"
                    .into()
            }
            Some(Route::Network) => "on a private network".into(),
            None => "nowhere yet: set hosts.servers.address (or --servers-address), which \
                 `lab run` requires here"
                .into(),
        }
    }
}

/// The host part of a `tcp://`, `http(s)://` or `ssh://` endpoint: the default address of
/// the servers. `None` for a unix socket.
pub fn host_name(endpoint: &str) -> Option<String> {
    let (scheme, rest) = endpoint.split_once("://")?;
    if !matches!(scheme, "tcp" | "http" | "https" | "ssh") {
        return None;
    }
    let authority = rest.split('/').next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_string())
}

/// A load generator host after the first: its daemon, and whether that daemon is one the
/// run already uses (the servers', or the first load generator's).
#[derive(Clone)]
pub struct AlsoLoadgen {
    pub engine: Arc<dyn Engine>,
    pub info: EngineInfo,
    /// The servers' daemon: this host reaches them on the run's private network.
    pub with_servers: bool,
    /// The first load generator host's daemon (reached another way).
    pub with_loadgen: bool,
}

/// The connected daemons of a run.
#[derive(Clone)]
pub struct Engines {
    pub servers: Arc<dyn Engine>,
    pub loadgen: Arc<dyn Engine>,
    pub servers_info: EngineInfo,
    pub loadgen_info: EngineInfo,
    /// The load generator hosts after the first (`hosts.loadgen` as a list).
    pub loadgen_also: Vec<AlsoLoadgen>,
    /// Both endpoints reach one daemon (the same endpoint, or one daemon reached two ways).
    one_daemon: bool,
    /// `hosts.servers.address`, as [`Placement`] read it.
    address: Option<String>,
}

impl Engines {
    /// Both roles on one engine that says `info` about itself (the fake, in tests).
    pub fn single(engine: Arc<dyn Engine>, info: EngineInfo) -> Engines {
        Engines {
            servers: engine.clone(),
            loadgen: engine,
            servers_info: info.clone(),
            loadgen_info: info,
            loadgen_also: Vec::new(),
            one_daemon: true,
            address: None,
        }
    }

    /// The servers on one engine and the load generator on another that reaches them at
    /// `address` (fakes, in tests).
    pub fn pair(
        servers: Arc<dyn Engine>,
        loadgen: Arc<dyn Engine>,
        info: EngineInfo,
        address: &str,
    ) -> Engines {
        Engines {
            servers,
            loadgen,
            servers_info: info.clone(),
            loadgen_info: info,
            loadgen_also: Vec::new(),
            one_daemon: false,
            address: Some(address.to_string()),
        }
    }

    /// Connect to both roles' daemons (once when they share an endpoint) and read what
    /// they say about themselves. An unreachable daemon is named with its role.
    pub async fn connect(placement: &Placement) -> Result<Engines, Unreachable> {
        // One endpoint for both: its errors read as before, without a role.
        let servers = match placement.one_endpoint() {
            true => Docker::connect_to(&placement.servers).await?,
            false => connect_role(Role::Servers, &placement.servers).await?,
        };
        let loadgen = if placement.one_endpoint() {
            servers.clone()
        } else {
            connect_role(Role::Loadgen, &placement.loadgen).await?
        };
        let info = |role: Role, engine: &Docker| {
            let engine = engine.clone();
            async move {
                engine.info().await.map_err(|e| Unreachable::Daemon {
                    endpoint: format!("{} ({})", engine.endpoint(), role.noun()),
                    reason: format!("{e:#}"),
                    hint: "it answered ping but not `info`",
                })
            }
        };
        let servers_info = info(Role::Servers, &servers).await?;
        let (loadgen_info, one_daemon) = if placement.one_endpoint() {
            (servers_info.clone(), true)
        } else {
            let same = match (servers.network_ids().await, loadgen.network_ids().await) {
                (Ok(a), Ok(b)) => !a.is_disjoint(&b),
                _ => false,
            };
            (info(Role::Loadgen, &loadgen).await?, same)
        };
        let mut loadgen_also = Vec::new();
        for also in &placement.loadgen_also {
            loadgen_also.push(connect_also(also, (&servers, &loadgen)).await?);
        }
        Ok(Engines {
            servers: Arc::new(servers),
            loadgen: Arc::new(loadgen),
            servers_info,
            loadgen_info,
            loadgen_also,
            one_daemon,
            address: placement.address.clone(),
        })
    }

    /// The roles run on one daemon: the same endpoint, or one daemon reached two ways.
    pub fn one_daemon(&self) -> bool {
        self.one_daemon
    }

    /// Both daemons run on one machine (one daemon, or two daemons that report the same
    /// host name and kernel): the roles then share its CPUs, and pinning still matters.
    pub fn one_machine(&self) -> bool {
        self.one_daemon()
            || (!self.servers_info.hostname.is_empty()
                && self.servers_info.hostname == self.loadgen_info.hostname
                && self.servers_info.kernel == self.loadgen_info.kernel)
    }

    /// Each distinct engine once, with its role(s): for cleanup and sweeps.
    pub fn each(&self) -> Vec<&Arc<dyn Engine>> {
        let mut each = vec![&self.servers];
        if !self.one_daemon() {
            each.push(&self.loadgen);
        }
        each.extend(
            (self.loadgen_also.iter())
                .filter(|a| !a.with_servers && !a.with_loadgen)
                .map(|a| &a.engine),
        );
        each
    }
}

/// How the load generator reaches the servers, decided before anything starts (once the
/// networks exist, the run resolves it into the record's [`crate::record::Route`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// One daemon: a private network shared by every container.
    Network,
    /// Two daemons: this address and each server's published port.
    Address(String),
    /// Two daemons on this machine, no address given: the gateway of the load generator's
    /// network, known once the run has created it.
    LoadgenGateway,
}

/// The one decision of the route: `lab check` takes it from the endpoints (one endpoint
/// = one daemon), `lab run` from the connected daemons. `None`: two daemons and no address
/// the load generator could reach the servers at.
pub fn route(
    one_daemon: bool,
    address: Option<&str>,
    servers: &Endpoint,
    loadgen: &Endpoint,
) -> Option<Route> {
    if one_daemon {
        return Some(Route::Network);
    }
    if let Some(a) = address
        .map(str::to_string)
        .or_else(|| host_name(&servers.host))
    {
        return Some(Route::Address(a));
    }
    (servers.unix_socket().is_some() && loadgen.unix_socket().is_some())
        .then_some(Route::LoadgenGateway)
}

impl Engines {
    /// The route to the servers, or why there is none.
    pub fn route(&self) -> Result<Route, String> {
        self.route_from(self.one_daemon(), &*self.loadgen)
    }

    /// The route to the servers from load generator host `i + 2` (`loadgen_also[i]`).
    pub fn route_also(&self, i: usize) -> Result<Route, String> {
        let also = &self.loadgen_also[i];
        self.route_from(also.with_servers, &*also.engine)
    }

    fn route_from(&self, one_daemon: bool, loadgen: &dyn Engine) -> Result<Route, String> {
        let (servers, loadgen) = (self.servers.endpoint(), loadgen.endpoint());
        route(one_daemon, self.address.as_deref(), servers, loadgen).ok_or_else(|| {
            format!(
                "hosts.servers.address is needed: the servers' host ({}) is a local socket that \
             the load generator's host ({}) cannot reach; give the name or IP the load \
             generator connects to (--servers-address or hosts.servers.address)",
                servers, loadgen
            )
        })
    }
}

/// Connect to a load generator host after the first, reusing the connection of a role on
/// the same endpoint, and find whether it is the servers' or the first host's daemon.
async fn connect_also(
    endpoint: &Endpoint,
    (servers, loadgen): (&Docker, &Docker),
) -> Result<AlsoLoadgen, Unreachable> {
    let engine = if endpoint.host == servers.endpoint().host {
        servers.clone()
    } else {
        connect_role(Role::Loadgen, endpoint).await?
    };
    let info = engine.info().await.map_err(|e| Unreachable::Daemon {
        endpoint: format!("{} ({})", engine.endpoint(), Role::Loadgen.noun()),
        reason: format!("{e:#}"),
        hint: "it answered ping but not `info`",
    })?;
    Ok(AlsoLoadgen {
        with_servers: one_daemon(&engine, servers).await,
        with_loadgen: one_daemon(&engine, loadgen).await,
        engine: Arc::new(engine),
        info,
    })
}

/// Two connections reach one daemon: the same endpoint, or networks in common.
async fn one_daemon(a: &Docker, b: &Docker) -> bool {
    a.endpoint().host == b.endpoint().host
        || match (a.network_ids().await, b.network_ids().await) {
            (Ok(x), Ok(y)) => !x.is_disjoint(&y),
            _ => false,
        }
}

async fn connect_role(role: Role, endpoint: &Endpoint) -> Result<Docker, Unreachable> {
    Docker::connect_to(endpoint).await.map_err(|e| match e {
        Unreachable::Daemon {
            endpoint,
            reason,
            hint,
        } => Unreachable::Daemon {
            endpoint: format!("{endpoint} ({})", role.noun()),
            reason,
            hint,
        },
        other => other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_defaults_to_the_endpoint_host() {
        assert_eq!(
            host_name("tcp://10.0.0.5:2376").as_deref(),
            Some("10.0.0.5")
        );
        assert_eq!(
            host_name("ssh://lab@bench-1.example:2222").as_deref(),
            Some("bench-1.example")
        );
        assert_eq!(
            host_name("tcp://[fd00::5]:2376").as_deref(),
            Some("fd00::5")
        );
        assert_eq!(host_name("unix:///var/run/docker.sock"), None);
    }

    #[test]
    fn one_decision_gives_the_route_check_prints_and_run_takes() {
        let at = |host: &str| Endpoint {
            host: host.into(),
            tls: None,
            source: Source::Setting("test".into()),
        };
        let (sock, other_sock) = (at("unix:///var/run/docker.sock"), at("unix:///run/b.sock"));
        let tcp = at("tcp://10.0.0.5:2375");
        assert_eq!(route(true, Some("x"), &tcp, &sock), Some(Route::Network));
        assert_eq!(
            route(false, Some("bench"), &tcp, &sock),
            Some(Route::Address("bench".into()))
        );
        assert_eq!(
            route(false, None, &tcp, &sock),
            Some(Route::Address("10.0.0.5".into()))
        );
        assert_eq!(
            route(false, None, &sock, &other_sock),
            Some(Route::LoadgenGateway)
        );
        assert_eq!(route(false, None, &sock, &tcp), None);
        // `lab check` says the same.
        let p = Placement {
            servers: sock,
            loadgen: tcp,
            loadgen_also: Vec::new(),
            address: None,
        };
        assert!(p.describe().contains("nowhere yet"), "{}", p.describe());
        let p = Placement {
            address: Some("bench".into()),
            ..p
        };
        assert!(p.describe().contains("at bench:<published port>"));
    }

    #[test]
    fn a_list_of_loadgen_hosts_is_placed_and_described_host_by_host() {
        let hosts = Hosts {
            servers: None,
            loadgen: Some(Host {
                docker: Some("unix:///tmp/d.sock".into()),
                ..Host::default()
            }),
            loadgen_also: vec![Host {
                docker: Some("unix:///tmp/second.sock".into()),
                ..Host::default()
            }],
        };
        let p = Placement::resolve(
            &hosts,
            "lab.yaml",
            &env(&[("DOCKER_HOST", "unix:///tmp/d.sock")]),
            None,
        )
        .unwrap();
        assert_eq!(
            p.loadgen.source,
            Source::Setting("hosts.loadgen[0] in lab.yaml".into())
        );
        assert_eq!(p.loadgen_also.len(), 1);
        assert_eq!(p.loadgen_also[0].host, "unix:///tmp/second.sock");
        assert_eq!(
            p.loadgen_also[0].source,
            Source::Setting("hosts.loadgen[1] in lab.yaml".into())
        );
        let text = p.describe();
        // The first host shares the servers' daemon; the second reaches them from its own.
        assert!(
            text.contains("one Docker host, unix:///tmp/d.sock"),
            "{text}"
        );
        assert!(
            text.contains("load generator also on unix:///tmp/second.sock")
                && text.contains("at the gateway of its network"),
            "{text}"
        );
    }

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn roles_left_out_use_the_clis_daemon() {
        let hosts = Hosts {
            servers: Some(Host {
                docker: Some("tcp://10.0.0.5:2375".into()),
                address: Some("bench".into()),
                ..Host::default()
            }),
            loadgen: None,
            loadgen_also: Vec::new(),
        };
        let p = Placement::resolve(
            &hosts,
            "lab.yaml",
            &env(&[("DOCKER_HOST", "unix:///tmp/d.sock")]),
            None,
        )
        .unwrap();
        assert_eq!(p.servers.host, "tcp://10.0.0.5:2375");
        assert_eq!(
            p.servers.source,
            Source::Setting("hosts.servers in lab.yaml".into())
        );
        assert_eq!(p.loadgen.host, "unix:///tmp/d.sock");
        assert_eq!(p.loadgen.source, Source::DockerHost);
        assert_eq!(p.address.as_deref(), Some("bench"));
        assert!(!p.one_endpoint());
        assert!(p.describe().contains("bench:<published port>"));

        let one = Placement::resolve(&Hosts::default(), "lab.yaml", &env(&[]), None).unwrap();
        assert!(one.one_endpoint());
        assert!(one.describe().contains("one Docker host"));
    }

    #[test]
    fn tls_folders_must_hold_the_three_files() {
        let dir = tempfile::tempdir().unwrap();
        let hosts = Hosts {
            servers: None,
            loadgen: Some(Host {
                docker: Some("tcp://10.0.0.6:2376".into()),
                tls: Some(dir.path().to_path_buf()),
                ..Host::default()
            }),
            loadgen_also: Vec::new(),
        };
        let err = Placement::resolve(&hosts, "lab.yaml", &env(&[]), None).unwrap_err();
        assert!(err.0.contains("hosts.loadgen.tls"), "{err}");
        assert!(err.0.contains("ca.pem, cert.pem, key.pem"), "{err}");
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            std::fs::write(dir.path().join(f), "x").unwrap();
        }
        let p = Placement::resolve(&hosts, "lab.yaml", &env(&[]), None).unwrap();
        assert_eq!(p.loadgen.tls.unwrap().ca, dir.path().join("ca.pem"));
    }

    #[test]
    fn overrides_replace_the_file_and_keep_the_address() {
        let mut hosts = Hosts {
            servers: Some(Host {
                context: Some("bench".into()),
                address: Some("10.0.0.5".into()),
                ..Host::default()
            }),
            loadgen: None,
            loadgen_also: vec![Host {
                docker: Some("unix:///run/third.sock".into()),
                ..Host::default()
            }],
        };
        let o = Overrides {
            servers: Some("tcp://10.0.0.7:2375".into()),
            loadgen: Some("unix:///run/other.sock".into()),
            address: None,
        };
        o.apply(&mut hosts).unwrap();
        let s = hosts.servers.clone().unwrap();
        assert_eq!(s.docker.as_deref(), Some("tcp://10.0.0.7:2375"));
        assert_eq!(s.context, None);
        assert_eq!(s.address.as_deref(), Some("10.0.0.5"));
        assert_eq!(
            hosts.loadgen.unwrap().docker.as_deref(),
            Some("unix:///run/other.sock")
        );
        // `--loadgen-host` is the one load generator host: the list's others go too.
        assert!(hosts.loadgen_also.is_empty());
        let bad = Overrides {
            loadgen: Some("docker.sock".into()),
            ..Overrides::default()
        };
        let err = bad.apply(&mut Hosts::default()).unwrap_err();
        assert!(err.starts_with("--loadgen-host: "), "{err}");
        let port = Overrides {
            address: Some("10.0.0.5:45000".into()),
            ..Overrides::default()
        };
        assert!(port
            .apply(&mut Hosts::default())
            .unwrap_err()
            .contains("port"));
    }
}
