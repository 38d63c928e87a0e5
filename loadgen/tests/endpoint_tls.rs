//! A Docker context with TLS material, end to end: a proxy in this test terminates TLS on a
//! loopback port (requiring a client certificate signed by a test CA, as `dockerd
//! --tlsverify` does) in front of the local Docker socket, a `DOCKER_CONFIG` folder holds a
//! context pointing at it, and the lab resolves that context (no `DOCKER_HOST`) and
//! connects through `Engine::connect_to` with bollard's TLS client. A context whose CA did
//! not sign the daemon's certificate fails in one line that names the context.
//!
//! Needs Docker and the `openssl` command (for the certificates); skipped with a printed
//! reason otherwise, failing when `CI=true`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use loadgen::docker::Docker;
use loadgen::endpoint::{self, context_id, Source};
use loadgen::engine::EngineKind;

fn tools_available(test: &str) -> bool {
    let has = |tool: &str, arg: &str| {
        Command::new(tool)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let missing: Vec<&str> = [("openssl", "version")]
        .into_iter()
        .filter(|(tool, arg)| !has(tool, arg))
        .map(|(tool, _)| tool)
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{test}: {} not installed, and CI=true requires it",
            missing.join(", ")
        );
    }
    eprintln!("skipping {test}: {} not installed", missing.join(", "));
    false
}

fn openssl(dir: &Path, args: &[&str]) {
    let o = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "openssl {args:?}: {}", common::text(&o));
}

/// A CA (`ca.pem`), a server certificate for 127.0.0.1 and a client certificate, both
/// signed by it; `name` prefixes the files.
fn make_pki(dir: &Path, name: &str) {
    let file = |f: &str| format!("{name}-{f}");
    let key = |f: &str| {
        openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                &file(f),
            ],
        )
    };
    key("ca.key");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            &file("ca.key"),
            "-days",
            "2",
            "-subj",
            "/CN=lab test CA",
            "-out",
            &file("ca.pem"),
        ],
    );
    for (who, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
        ),
        (
            "client",
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
        ),
    ] {
        key(&format!("{who}.key"));
        std::fs::write(dir.join(file(&format!("{who}.ext"))), ext).unwrap();
        openssl(
            dir,
            &[
                "req",
                "-new",
                "-key",
                &file(&format!("{who}.key")),
                "-subj",
                &format!("/CN={who}"),
                "-out",
                &file(&format!("{who}.csr")),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &file(&format!("{who}.csr")),
                "-CA",
                &file("ca.pem"),
                "-CAkey",
                &file("ca.key"),
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                &file(&format!("{who}.ext")),
                "-out",
                &file(&format!("{who}.pem")),
            ],
        );
    }
}

/// A context as `docker context create NAME --docker host=...,ca=...,cert=...,key=...`
/// stores it, with the TLS files of `pki`.
fn write_context(config: &Path, name: &str, host: &str, pki: &Path, prefix: &str) {
    let id = context_id(name);
    let meta = config.join("contexts/meta").join(&id);
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(
        meta.join("meta.json"),
        format!(r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#),
    )
    .unwrap();
    let tls = config.join("contexts/tls").join(&id).join("docker");
    std::fs::create_dir_all(&tls).unwrap();
    for (to, from) in [
        ("ca.pem", "ca.pem"),
        ("cert.pem", "client.pem"),
        ("key.pem", "client.key"),
    ] {
        std::fs::copy(pki.join(format!("{prefix}-{from}")), tls.join(to)).unwrap();
    }
}

/// A TLS-terminating proxy on a loopback port in front of the local Docker socket (`docker`), as a
/// daemon started with `--tlsverify` would serve: it requires a client certificate signed
/// by `good-ca.pem` and presents `good-server.pem`. Runs on `rt` until the test ends.
fn start_proxy(rt: &tokio::runtime::Runtime, pki: &Path, docker: &Path) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(pki.join("good-ca.pem")).unwrap())
        .unwrap();
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let chain: Vec<CertificateDer> = CertificateDer::pem_file_iter(pki.join("good-server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(pki.join("good-server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let docker = docker.to_path_buf();
    rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, docker) = (acceptor.clone(), docker.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if let Ok(mut docker) = tokio::net::UnixStream::connect(&docker).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut docker).await;
                }
            });
        }
    });
    port
}

#[test]
fn a_tls_context_is_resolved_and_connected_and_a_wrong_ca_fails_in_one_line() {
    let test = "a_tls_context_is_resolved_and_connected_and_a_wrong_ca_fails_in_one_line";
    if !common::docker_available(test) || !tools_available(test) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pki = dir.path().join("pki");
    std::fs::create_dir_all(&pki).unwrap();
    make_pki(&pki, "good");
    make_pki(&pki, "other");
    // The daemon the other tests use, behind the proxy.
    let Some(docker) = endpoint::from_environment()
        .ok()
        .and_then(|e| e.unix_socket())
    else {
        eprintln!("skipping {test}: the Docker daemon here is not on a unix socket");
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let port = start_proxy(&rt, &pki, &docker);

    let config = dir.path().join("docker-config");
    let host = format!("tcp://127.0.0.1:{port}");
    write_context(&config, "tls-test", &host, &pki, "good");
    write_context(&config, "wrong-ca", &host, &pki, "other");
    std::fs::write(
        config.join("config.json"),
        r#"{"currentContext":"tls-test"}"#,
    )
    .unwrap();

    // The current context, as the docker CLI would pick it with DOCKER_CONFIG set.
    let env = |k: &str| match k {
        "DOCKER_CONFIG" => Some(config.display().to_string()),
        _ => None,
    };
    let ep = endpoint::resolve(&env, endpoint::config_dir(&env).as_deref()).unwrap();
    assert!(matches!(&ep.source, Source::Context { name, .. } if name == "tls-test"));
    assert!(ep.tls.is_some());
    let engine = rt
        .block_on(Docker::connect_to(&ep))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(engine.kind(), EngineKind::Docker);
    let info = rt.block_on(engine.info()).unwrap();
    assert!(!info.version.is_empty());
    assert!(
        info.endpoint
            .contains("(TLS) from Docker context `tls-test`"),
        "{}",
        info.endpoint
    );

    // A client that trusts another CA refuses the daemon's certificate.
    let env = |k: &str| match k {
        "DOCKER_CONFIG" => Some(config.display().to_string()),
        "DOCKER_CONTEXT" => Some("wrong-ca".into()),
        _ => None,
    };
    let ep = endpoint::resolve(&env, endpoint::config_dir(&env).as_deref()).unwrap();
    let err = rt
        .block_on(Docker::connect_to(&ep))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with(&format!("cannot reach the Docker daemon at {host} (TLS) from Docker context `wrong-ca` (DOCKER_CONTEXT)"))
            && !err.contains('\n'),
        "{err}"
    );
}
