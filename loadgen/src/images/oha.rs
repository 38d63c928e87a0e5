//! The oha load generator image, built offline: `cargo install oha --locked` (the version
//! pinned here) as a static binary, copied into a `FROM scratch` image tagged
//! `lab/oha:<version>`.
//!
//! oha is not in Debian and a host without a registry cannot pull an image that has it, but
//! crates.io is usually reachable where a Rust toolchain is: so the lab compiles it once
//! (several minutes on 2 cores, see the README) and keeps both the binary (under the
//! workspace's `target/lab-oha/`) and the image. The next run finds the image and builds
//! nothing; a removed image is rebuilt from the kept binary in seconds.
//!
//! The build is static for the same reason the servers' are (`images/mod.rs`): a scratch image
//! has no libc. `--target` is required with `+crt-static` (without it the flag also hits
//! proc-macros). oha's default TLS (rustls with ring) builds static as is.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context, Result};

use super::{append_bytes, host_target, short_id, workspace_root};
use crate::engine::Engine;

/// The oha release the lab builds (crates.io, MIT). Bump with [`crate::config::DEFAULT_OHA_IMAGE`].
pub const OHA_VERSION: &str = "1.16.0";

/// Serializes builds within one process (tests start many runs): one compiles, the others
/// wait and find the result.
static BUILD: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Is `image` the one this module builds?
pub fn is_lab_oha(image: &str) -> bool {
    image == crate::config::DEFAULT_OHA_IMAGE
}

/// The image's id, building it (and the binary, when not kept) if missing, and a sentence
/// on where it came from for `meta.json`.
pub async fn ensure(engine: &dyn Engine, image: &str) -> Result<(String, String)> {
    let _guard = BUILD.lock().await;
    let source = format!(
        "{image} (oha {OHA_VERSION} built offline from crates.io: cargo install oha --version \
         {OHA_VERSION} --locked, static, FROM scratch)"
    );
    if let Some(id) = engine.image_id(image).await? {
        return Ok((id, format!("{source}, present locally")));
    }
    let bin = binary().await?;
    let id = build_image(engine, image, &bin).await?;
    Ok((id, source))
}

/// Where the kept binary lives: `<target dir>/lab-oha/<version>/bin/oha`.
fn install_root() -> Result<PathBuf> {
    let target_dir = match std::env::var("CARGO_TARGET_DIR") {
        Ok(d) => PathBuf::from(d),
        Err(_) => workspace_root()?.join("target"),
    };
    Ok(target_dir.join("lab-oha").join(OHA_VERSION))
}

/// The static oha binary, compiled now unless a previous run kept it.
async fn binary() -> Result<PathBuf> {
    let root = install_root()?;
    let bin = root.join("bin").join("oha");
    if bin.is_file() {
        return Ok(bin);
    }
    let started = Instant::now();
    tracing::warn!(
        "building oha {OHA_VERSION} from crates.io (once; several minutes on a small machine)"
    );
    let root2 = root.clone();
    tokio::task::spawn_blocking(move || cargo_install(&root2))
        .await
        .context("the oha build task panicked")??;
    if !bin.is_file() {
        bail!(
            "cargo install oha finished but {} is missing",
            bin.display()
        );
    }
    tracing::info!(
        "built oha {OHA_VERSION} in {:.0} s ({})",
        started.elapsed().as_secs_f64(),
        bin.display()
    );
    Ok(bin)
}

/// `cargo install oha --version V --locked --root ROOT --target HOST` with `+crt-static`.
fn cargo_install(root: &Path) -> Result<()> {
    let target = host_target()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let flags = super::static_rustflags();
    let build_dir = root.join("build");
    let out = Command::new(&cargo)
        .env("RUSTFLAGS", flags)
        .args(["install", "oha", "--version", OHA_VERSION, "--locked"])
        .arg("--root")
        .arg(root)
        .args(["--target", &target])
        .arg("--target-dir")
        .arg(&build_dir)
        .output()
        .with_context(|| format!("running {cargo} install oha"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(20).collect();
        bail!(
            "cargo install oha --version {OHA_VERSION} failed (is crates.io reachable?):\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    // The intermediate build (hundreds of MB) is not needed once the binary is installed.
    let _ = std::fs::remove_dir_all(&build_dir);
    Ok(())
}

/// `docker/oha.Dockerfile` with the binary at /usr/bin/oha and an empty, world-writable /tmp
/// (the agent and the tool's files go there).
async fn build_image(engine: &dyn Engine, image: &str, bin: &Path) -> Result<String> {
    let dockerfile = std::fs::read(workspace_root()?.join("docker/oha.Dockerfile"))
        .context("reading docker/oha.Dockerfile")?;
    let bytes = std::fs::read(bin).with_context(|| format!("reading {}", bin.display()))?;
    let mut tar = tar::Builder::new(Vec::new());
    append_bytes(&mut tar, "Dockerfile", &dockerfile, 0o644)?;
    append_bytes(&mut tar, "rootfs/usr/bin/oha", &bytes, 0o755)?;
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o1777);
    dir.set_size(0);
    dir.set_cksum();
    tar.append_data(&mut dir, "rootfs/tmp", std::io::empty())?;
    let context = tar.into_inner()?;
    let id = engine
        .build(image, "Dockerfile", context, &Default::default())
        .await?;
    tracing::info!("built {image} ({}) from {}", short_id(&id), bin.display());
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_image_is_tagged_with_the_pinned_version() {
        assert_eq!(
            crate::config::DEFAULT_OHA_IMAGE,
            format!("lab/oha:{OHA_VERSION}")
        );
        assert!(is_lab_oha(crate::config::DEFAULT_OHA_IMAGE));
        assert!(!is_lab_oha("ghcr.io/hatoo/oha:latest"));
    }
}
