//! Which Docker daemon the lab talks to, chosen the way the `docker` CLI chooses it.
//!
//! A user who types `docker ps` and sees their containers expects the lab to use that same
//! daemon. The CLI's order is: `DOCKER_HOST` (with `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`
//! for TLS); else the current context, named by `DOCKER_CONTEXT` or by `currentContext` in
//! `$DOCKER_CONFIG/config.json` (default `~/.docker`), whose endpoint is in
//! `contexts/meta/<sha256 of the name>/meta.json` and whose TLS files are in
//! `contexts/tls/<sha256>/docker/{ca,cert,key}.pem`; else the default socket. Docker Desktop
//! and `docker context use` work through the second step, which bollard alone does not do.
//!
//! [`resolve`] is a pure function of the environment and the config folder, so that every
//! case is a unit test; `docker::Docker::connect_to` connects to its result. An
//! [`Endpoint`] is a value, so a later run can put servers and load generator on
//! different daemons by resolving two of them.

use std::fmt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The socket the docker CLI uses when nothing else is set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// One Docker daemon to connect to, and where that choice came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// `unix:///var/run/docker.sock`, `tcp://10.0.0.5:2376`, `ssh://user@host`, ...
    pub host: String,
    /// Client certificate, key and CA when the endpoint speaks TLS.
    pub tls: Option<Tls>,
    pub source: Source,
}

/// The TLS material of an endpoint: the daemon is verified against `ca`, the lab
/// authenticates with `cert` and `key`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Where an endpoint came from, so the log and every error can say it.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// The `DOCKER_HOST` variable.
    DockerHost,
    /// A Docker context; `chosen_by` says how (`DOCKER_CONTEXT`, or the config file).
    Context { name: String, chosen_by: String },
    /// Nothing chose a daemon: the CLI's default socket.
    Default,
    /// A lab setting: `hosts.loadgen in lab.yaml`, `--servers-host`, ...
    Setting(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::DockerHost => f.write_str("DOCKER_HOST"),
            Source::Context { name, chosen_by } => {
                write!(f, "Docker context `{name}` ({chosen_by})")
            }
            Source::Default => {
                f.write_str("the default socket (no DOCKER_HOST, no Docker context)")
            }
            Source::Setting(what) => f.write_str(what),
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tls = if self.tls.is_some() { " (TLS)" } else { "" };
        write!(f, "{}{tls} from {}", self.host, self.source)
    }
}

impl Endpoint {
    /// The socket file of a `unix://` endpoint: a daemon on this machine.
    pub fn unix_socket(&self) -> Option<PathBuf> {
        self.host.strip_prefix("unix://").map(PathBuf::from)
    }
}

/// Why no endpoint could be chosen; one line that names the file or variable at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct EndpointError(pub String);

/// The endpoint the docker CLI would use in this process's environment.
pub fn from_environment() -> Result<Endpoint, EndpointError> {
    let env = |key: &str| std::env::var(key).ok();
    resolve(&env, config_dir(&env).as_deref())
}

/// The docker CLI's config folder: `DOCKER_CONFIG`, else `~/.docker`; `None` without a home.
pub fn config_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let set = |key: &str| env(key).filter(|v| !v.is_empty());
    set("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| set("HOME").map(|home| Path::new(&home).join(".docker")))
}

/// Choose the endpoint from `env` (variable lookups) and the CLI's `config` folder, in the
/// docker CLI's order (see the module comment). Empty variables count as unset, as in the CLI.
pub fn resolve(
    env: &dyn Fn(&str) -> Option<String>,
    config: Option<&Path>,
) -> Result<Endpoint, EndpointError> {
    let set = |key: &str| env(key).filter(|v| !v.is_empty());
    if let Some(host) = set("DOCKER_HOST") {
        let tls = match set("DOCKER_TLS_VERIFY") {
            Some(_) => {
                let dir = set("DOCKER_CERT_PATH")
                    .map(PathBuf::from)
                    .or_else(|| config.map(Path::to_path_buf))
                    .ok_or_else(|| {
                        EndpointError(
                            "DOCKER_TLS_VERIFY is set but neither DOCKER_CERT_PATH nor HOME \
                             says where ca.pem, cert.pem and key.pem are"
                                .into(),
                        )
                    })?;
                Some(tls_files(&dir, "DOCKER_CERT_PATH")?)
            }
            None => None,
        };
        return Ok(Endpoint {
            host,
            tls,
            source: Source::DockerHost,
        });
    }
    let (name, chosen_by) = match set("DOCKER_CONTEXT") {
        Some(name) => (name, "DOCKER_CONTEXT".to_string()),
        None => match config.and_then(|dir| current_context(dir).transpose()) {
            Some(found) => found?,
            None => return Ok(default_endpoint()),
        },
    };
    context(&name, chosen_by, config)
}

/// The endpoint of the Docker context `name` (`default` is the default socket), stored in
/// the CLI's `config` folder; `chosen_by` says who named it, for messages.
pub fn context(
    name: &str,
    chosen_by: String,
    config: Option<&Path>,
) -> Result<Endpoint, EndpointError> {
    let name = name.to_string();
    if name == "default" {
        return Ok(default_endpoint());
    }
    let source = Source::Context { name, chosen_by };
    let config = config.ok_or_else(|| {
        EndpointError(format!(
            "{source} is chosen but neither DOCKER_CONFIG nor HOME says where contexts are"
        ))
    })?;
    context_endpoint(config, source)
}

fn default_endpoint() -> Endpoint {
    Endpoint {
        host: DEFAULT_HOST.to_string(),
        tls: None,
        source: Source::Default,
    }
}

/// `currentContext` of `config/config.json`, with how it was chosen; `None` when the file or
/// the field is missing (the CLI then uses the default).
fn current_context(config: &Path) -> Result<Option<(String, String)>, EndpointError> {
    let file = config.join("config.json");
    let Ok(text) = std::fs::read_to_string(&file) else {
        return Ok(None);
    };
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| EndpointError(format!("{} is not valid JSON: {e}", file.display())))?;
    Ok(json
        .get("currentContext")
        .and_then(|v| v.as_str())
        .filter(|name| !name.is_empty())
        .map(|name| {
            (
                name.to_string(),
                format!("currentContext in {}", file.display()),
            )
        }))
}

/// The docker endpoint stored for a context, with its TLS files when it has any.
fn context_endpoint(config: &Path, source: Source) -> Result<Endpoint, EndpointError> {
    let Source::Context { name, .. } = &source else {
        unreachable!("only contexts have stored endpoints")
    };
    let id = context_id(name);
    let meta = config.join("contexts/meta").join(&id).join("meta.json");
    let text = std::fs::read_to_string(&meta).map_err(|_| {
        EndpointError(format!(
            "{source} does not exist: there is no {} (`docker context ls` lists the contexts)",
            meta.display()
        ))
    })?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| EndpointError(format!("{} is not valid JSON: {e}", meta.display())))?;
    let docker = &json["Endpoints"]["docker"];
    let host = docker["Host"]
        .as_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| {
            EndpointError(format!(
                "{source} has no Docker endpoint (Endpoints.docker.Host in {})",
                meta.display()
            ))
        })?
        .to_string();
    let tls_dir = config.join("contexts/tls").join(&id).join("docker");
    let tls = if tls_dir.is_dir() {
        if docker["SkipTLSVerify"].as_bool() == Some(true) {
            return Err(EndpointError(format!(
                "{source} sets SkipTLSVerify, which the lab does not support: it always checks \
                 the daemon's certificate against the context's ca.pem"
            )));
        }
        Some(tls_files(&tls_dir, &format!("{source}"))?)
    } else {
        None
    };
    Ok(Endpoint { host, tls, source })
}

/// `ca.pem`, `cert.pem` and `key.pem` in `dir`, all required (the lab both verifies the
/// daemon and authenticates to it).
pub fn tls_files(dir: &Path, what: &str) -> Result<Tls, EndpointError> {
    let tls = Tls {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    let missing: Vec<&str> = [
        (&tls.ca, "ca.pem"),
        (&tls.cert, "cert.pem"),
        (&tls.key, "key.pem"),
    ]
    .into_iter()
    .filter(|(path, _)| !path.is_file())
    .map(|(_, name)| name)
    .collect();
    if missing.is_empty() {
        Ok(tls)
    } else {
        Err(EndpointError(format!(
            "TLS files of {what} are missing in {}: {}",
            dir.display(),
            missing.join(", ")
        )))
    }
}

/// The folder name the docker CLI gives a context: the hex SHA-256 of its name.
pub fn context_id(name: &str) -> String {
    Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A context as `docker context create NAME --docker host=HOST[,ca=..,cert=..,key=..]`
    /// stores it.
    fn context(config: &Path, name: &str, host: &str, tls: bool) {
        let id = context_id(name);
        write(
            &config.join(format!("contexts/meta/{id}/meta.json")),
            &format!(
                r#"{{"Name":"{name}","Metadata":{{"Description":""}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
            ),
        );
        if tls {
            for f in ["ca.pem", "cert.pem", "key.pem"] {
                write(&config.join(format!("contexts/tls/{id}/docker/{f}")), "PEM");
            }
        }
    }

    #[test]
    fn context_ids_are_the_clis_sha256_of_the_name() {
        // `docker context create desktop-linux` stores it under this folder.
        assert_eq!(
            context_id("desktop-linux"),
            "fe9c6bd7a66301f49ca9b6a70b217107cd1284598bfc254700c989b916da791e"
        );
    }

    #[test]
    fn docker_host_wins_over_every_context() {
        let dir = tempfile::tempdir().unwrap();
        context(dir.path(), "remote", "tcp://10.0.0.5:2376", false);
        write(
            &dir.path().join("config.json"),
            r#"{"currentContext":"remote"}"#,
        );
        let e = env(&[
            ("DOCKER_HOST", "unix:///tmp/podman.sock"),
            ("DOCKER_CONTEXT", "remote"),
        ]);
        let ep = resolve(&e, Some(dir.path())).unwrap();
        assert_eq!(ep.host, "unix:///tmp/podman.sock");
        assert_eq!(ep.source, Source::DockerHost);
        assert_eq!(ep.unix_socket(), Some(PathBuf::from("/tmp/podman.sock")));
        assert_eq!(ep.to_string(), "unix:///tmp/podman.sock from DOCKER_HOST");
    }

    #[test]
    fn nothing_set_is_the_default_socket() {
        let dir = tempfile::tempdir().unwrap();
        for config in [None, Some(dir.path())] {
            let ep = resolve(&env(&[("DOCKER_HOST", "")]), config).unwrap();
            assert_eq!(
                (ep.host.as_str(), &ep.source),
                (DEFAULT_HOST, &Source::Default)
            );
        }
        // A config file without a current context, or naming `default`, changes nothing.
        write(&dir.path().join("config.json"), r#"{"auths":{}}"#);
        assert_eq!(
            resolve(&env(&[]), Some(dir.path())).unwrap().host,
            DEFAULT_HOST
        );
        write(
            &dir.path().join("config.json"),
            r#"{"currentContext":"default"}"#,
        );
        assert_eq!(
            resolve(&env(&[]), Some(dir.path())).unwrap().host,
            DEFAULT_HOST
        );
    }

    #[test]
    fn current_context_comes_from_the_config_file_or_docker_context() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path();
        context(
            config,
            "desktop-linux",
            "unix:///Users/me/.docker/run/docker.sock",
            false,
        );
        context(config, "other", "tcp://127.0.0.1:2375", false);
        write(
            &config.join("config.json"),
            r#"{"currentContext":"desktop-linux"}"#,
        );

        let ep = resolve(&env(&[]), Some(config)).unwrap();
        assert_eq!(ep.host, "unix:///Users/me/.docker/run/docker.sock");
        assert_eq!(ep.tls, None);
        let shown = ep.to_string();
        assert!(
            shown.contains("Docker context `desktop-linux` (currentContext in ")
                && shown.contains("config.json)"),
            "{shown}"
        );

        // DOCKER_CONTEXT wins over the file.
        let ep = resolve(&env(&[("DOCKER_CONTEXT", "other")]), Some(config)).unwrap();
        assert_eq!(ep.host, "tcp://127.0.0.1:2375");
        assert_eq!(
            ep.source,
            Source::Context {
                name: "other".into(),
                chosen_by: "DOCKER_CONTEXT".into()
            }
        );
        // config_dir follows DOCKER_CONFIG, then HOME.
        let e = env(&[("DOCKER_CONFIG", "/cfg"), ("HOME", "/home/me")]);
        assert_eq!(config_dir(&e), Some(PathBuf::from("/cfg")));
        let e = env(&[("HOME", "/home/me")]);
        assert_eq!(config_dir(&e), Some(PathBuf::from("/home/me/.docker")));
    }

    #[test]
    fn a_missing_context_is_one_line_naming_it_and_where_it_came_from() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve(&env(&[("DOCKER_CONTEXT", "gone")]), Some(dir.path())).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.starts_with("Docker context `gone` (DOCKER_CONTEXT) does not exist: there is no ")
                && msg.contains(&context_id("gone"))
                && !msg.contains('\n'),
            "{msg}"
        );
        write(
            &dir.path().join("config.json"),
            r#"{"currentContext":"gone"}"#,
        );
        let msg = resolve(&env(&[]), Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("currentContext in"), "{msg}");
        write(&dir.path().join("config.json"), "{not json");
        let msg = resolve(&env(&[]), Some(dir.path()))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("config.json is not valid JSON"), "{msg}");
    }

    #[test]
    fn tls_material_of_a_context_and_of_docker_cert_path() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path();
        context(config, "secure", "tcp://10.0.0.5:2376", true);
        let ep = resolve(&env(&[("DOCKER_CONTEXT", "secure")]), Some(config)).unwrap();
        let tls_dir = config.join(format!("contexts/tls/{}/docker", context_id("secure")));
        assert_eq!(
            ep.tls,
            Some(Tls {
                ca: tls_dir.join("ca.pem"),
                cert: tls_dir.join("cert.pem"),
                key: tls_dir.join("key.pem"),
            })
        );
        assert!(ep.to_string().starts_with("tcp://10.0.0.5:2376 (TLS) from"));

        // A context with part of its TLS material says which file is missing.
        std::fs::remove_file(tls_dir.join("key.pem")).unwrap();
        let msg = resolve(&env(&[("DOCKER_CONTEXT", "secure")]), Some(config))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("missing") && msg.ends_with(": key.pem"),
            "{msg}"
        );

        // DOCKER_HOST with DOCKER_TLS_VERIFY takes the files from DOCKER_CERT_PATH.
        let certs = config.join("certs");
        for f in ["ca.pem", "cert.pem", "key.pem"] {
            write(&certs.join(f), "PEM");
        }
        let e = env(&[
            ("DOCKER_HOST", "tcp://10.0.0.6:2376"),
            ("DOCKER_TLS_VERIFY", "1"),
            ("DOCKER_CERT_PATH", certs.to_str().unwrap()),
        ]);
        let ep = resolve(&e, Some(config)).unwrap();
        assert_eq!(ep.tls.unwrap().ca, certs.join("ca.pem"));
    }

    #[test]
    fn skip_tls_verify_is_refused_rather_than_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path();
        context(config, "lax", "tcp://10.0.0.5:2376", true);
        let meta = config.join(format!("contexts/meta/{}/meta.json", context_id("lax")));
        let text = std::fs::read_to_string(&meta).unwrap();
        std::fs::write(&meta, text.replace("false", "true")).unwrap();
        let msg = resolve(&env(&[("DOCKER_CONTEXT", "lax")]), Some(config))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("SkipTLSVerify"), "{msg}");
    }
}
