//! Tests of the pure parts of the engine module: names, exits, engine kinds, clients.

use super::*;

#[test]
fn split_tag_handles_registries_and_defaults() {
    assert_eq!(split_tag("httpd:2.4"), ("httpd", "2.4"));
    assert_eq!(split_tag("nginx"), ("nginx", "latest"));
    assert_eq!(
        split_tag("localhost:5000/lab/ab"),
        ("localhost:5000/lab/ab", "latest")
    );
    assert_eq!(split_tag("localhost:5000/ab:1"), ("localhost:5000/ab", "1"));
}

#[test]
fn container_end_explains_oom() {
    let end = ContainerEnd {
        running: false,
        exit_code: Some(137),
        oom_killed: true,
        error: None,
    };
    assert!(end.describe().contains("OOM-killed"));
}

#[test]
fn engine_kind_from_version_components() {
    // `docker version` components of Docker 20.10 and of `podman system service` 4.3.
    let docker = ["Engine", "containerd", "runc", "docker-init"];
    let podman = ["Podman Engine", "Conmon", "OCI Runtime (runc)"];
    assert_eq!(EngineKind::from_components(docker), EngineKind::Docker);
    assert_eq!(EngineKind::from_components(podman), EngineKind::Podman);
    assert_eq!(
        EngineKind::from_components(["Something"]),
        EngineKind::Other
    );
    assert_eq!(serde_json::to_value(EngineKind::Podman).unwrap(), "podman");
}

#[test]
fn clients_are_made_for_every_supported_address_and_refused_for_others() {
    use crate::endpoint::{Endpoint, Source};
    let ep = |host: &str| Endpoint {
        host: host.into(),
        tls: None,
        source: Source::DockerHost,
    };
    assert!(client(&ep("unix:///var/run/docker.sock")).is_ok());
    assert!(client(&ep("tcp://127.0.0.1:2375")).is_ok());
    // bollard's ssh transport runs the system's ssh on first use, not here.
    assert!(client(&ep("ssh://me@host")).is_ok());
    let err = client(&ep("https://host:2376")).err().unwrap();
    assert!(err.contains("DOCKER_TLS_VERIFY"), "{err}");
    let err = client(&ep("npipe:////./pipe/docker_engine")).err().unwrap();
    assert!(err.contains("unsupported address"), "{err}");
}
