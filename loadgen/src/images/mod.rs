//! Getting every image a lab file needs, without depending on a registry.
//!
//! - Server images (`lab/server-async`, `lab/server-thread`) are built from this workspace:
//!   a static binary (`+crt-static`) copied into `FROM scratch` by `docker/server.Dockerfile`.
//! - The load generator image (default `httpd:2.4`, which has `ab` on its PATH) is used when
//!   the engine has it, pulled when a registry answers, and otherwise replaced by
//!   `lab/ab:local`: the host's own `ab` and its shared libraries (its `ldd` closure) in a
//!   scratch image. That keeps the lab working on air-gapped hosts, and says so in the log
//!   and in `meta.json`.
//! - With `loadgen.tool: oha` the default image is `lab/oha:<version>`, built offline from
//!   crates.io (`oha.rs`); any image with `oha` on its PATH can be named instead.
//! - Images named by the user (`servers[].image`) are used if present, pulled otherwise.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};

use crate::config::Model;
use crate::engine::{Engine, EngineInfo};

mod oha;

/// Tag of the image packaged from the host's `ab`.
pub const LOCAL_AB_IMAGE: &str = "lab/ab:local";
/// How long to wait for a registry before packaging the host's ab instead.
const PULL_TIMEOUT: Duration = Duration::from_secs(30);

/// The folder holding the workspace `Cargo.toml` (with `server/` and `docker/`).
pub fn workspace_root() -> Result<PathBuf> {
    let is_root = |d: &Path| d.join("server/Cargo.toml").exists() && d.join("docker").is_dir();
    if let Ok(cwd) = std::env::current_dir() {
        for d in cwd.ancestors() {
            if is_root(d) {
                return Ok(d.to_path_buf());
            }
        }
    }
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    if is_root(&built_from) {
        return Ok(built_from.canonicalize()?);
    }
    bail!("cannot find the lab workspace (a folder with server/ and docker/): run the lab from the repository")
}

/// Build the static server binaries and one image per model. Returns image → id.
pub async fn build_server_images(
    engine: &dyn Engine,
    models: &[Model],
) -> Result<BTreeMap<String, String>> {
    let mut ids = BTreeMap::new();
    if models.is_empty() {
        return Ok(ids);
    }
    let root = workspace_root()?;
    let bin_dir = build_static_binaries(&root)?;
    let dockerfile = std::fs::read(root.join("docker/server.Dockerfile"))
        .context("reading docker/server.Dockerfile")?;
    for model in models {
        let bin = bin_dir.join(model.binary());
        let mut tar = tar::Builder::new(Vec::new());
        append_bytes(&mut tar, "Dockerfile", &dockerfile, 0o644)?;
        tar.append_path_with_name(&bin, model.binary())
            .with_context(|| format!("adding {} to the build context", bin.display()))?;
        let context = tar.into_inner()?;
        let args = HashMap::from([
            ("BIN".to_string(), model.binary().to_string()),
            ("PORT".to_string(), default_port(*model).to_string()),
        ]);
        let id = engine
            .build(model.image(), "Dockerfile", context, &args)
            .await?;
        tracing::info!("built image {} ({})", model.image(), short_id(&id));
        ids.insert(model.image().to_string(), id);
    }
    Ok(ids)
}

/// The port each model listens on by default (only used for the image's `EXPOSE`).
fn default_port(model: Model) -> u16 {
    match model {
        Model::Async => 45000,
        Model::Thread => 46000,
    }
}

/// `cargo build --release` of the server binaries, statically linked so they run in
/// `FROM scratch`. `--target` is required: without it `+crt-static` also hits proc-macros.
fn build_static_binaries(root: &Path) -> Result<PathBuf> {
    build_static(root, &["server", "agent"])
}

/// `cargo build --release --target <host> -p <package>...` with `+crt-static`.
fn build_static(root: &Path, packages: &[&str]) -> Result<PathBuf> {
    let target = host_target()?;
    tracing::info!(
        "building static binaries of {} (cargo build --release --target {target})",
        packages.join(", ")
    );
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let flags = static_rustflags();
    let out = Command::new(&cargo)
        .current_dir(root)
        .env("RUSTFLAGS", flags)
        .args(["build", "--release", "--bins", "--target", &target])
        .args(packages.iter().flat_map(|p| ["-p", p]))
        .output()
        .with_context(|| format!("running {cargo} build (is the Rust toolchain installed?)"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        bail!("building {} failed:\n{stderr}", packages.join(", "));
    }
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    Ok(target_dir.join(target).join("release"))
}

/// `RUSTFLAGS` plus `+crt-static`: binaries that run in `FROM scratch` (with `--target`,
/// so that proc-macros, built for the host, are not linked statically too).
pub(crate) fn static_rustflags() -> String {
    let flags = std::env::var("RUSTFLAGS").unwrap_or_default();
    if flags.contains("crt-static") {
        return flags;
    }
    format!("{flags} -C target-feature=+crt-static")
        .trim()
        .to_string()
}

/// Name of the agent binary inside the load generator container (at `/`).
pub const AGENT_PATH: &str = "/lab-agent";

/// The files the lab copies into its load generator container before starting it: the
/// static `lab-agent` binary (see `agent/src/lib.rs`) and a world-writable `/tmp` for the
/// tool's output files. Built from the workspace when missing (or always, unless
/// `reuse` says an existing binary will do).
pub fn agent_archive(reuse: bool) -> Result<Vec<u8>> {
    let root = workspace_root()?;
    let target_dir = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    let existing = target_dir
        .join(host_target()?)
        .join("release")
        .join("lab-agent");
    let bin = if reuse && existing.is_file() {
        existing
    } else {
        build_static(&root, &["agent"])?.join("lab-agent")
    };
    let bytes = std::fs::read(&bin).with_context(|| format!("reading {}", bin.display()))?;
    let mut tar = tar::Builder::new(Vec::new());
    append_bytes(&mut tar, AGENT_PATH.trim_start_matches('/'), &bytes, 0o755)?;
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o1777);
    dir.set_size(0);
    dir.set_cksum();
    tar.append_data(&mut dir, "tmp", std::io::empty())?;
    Ok(tar.into_inner()?)
}

/// Fail early, in one line, when the daemon cannot run what this machine builds (another
/// architecture, or a host that builds no Linux binaries); see `platform.rs`.
pub fn check_platform(info: &EngineInfo) -> Result<()> {
    let host = host_target()?;
    crate::platform::build_target(&info.os_type, &info.arch, &host)
        .map(|_| ())
        .map_err(|e| anyhow::anyhow!(e))
}

/// The host's target triple, from `rustc -vV`.
pub(crate) fn host_target() -> Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .context("rustc -vV printed no host triple")
}

/// Make sure a user-named image is available: present locally, or pulled.
pub async fn ensure_pulled(engine: &dyn Engine, image: &str) -> Result<String> {
    if let Some(id) = engine.image_id(image).await? {
        return Ok(id);
    }
    tracing::info!("pulling {image}");
    engine
        .pull(image, PULL_TIMEOUT)
        .await
        .with_context(|| format!("image {image} is not on this host and pulling it failed"))?;
    engine
        .image_id(image)
        .await?
        .with_context(|| format!("pulled {image} but the engine does not list it"))
}

/// The load generator image to use, its id, and a sentence on where it came from.
pub async fn resolve_loadgen(engine: &dyn Engine, image: &str) -> Result<(String, String, String)> {
    if oha::is_lab_oha(image) {
        let (id, source) = oha::ensure(engine, image).await?;
        return Ok((image.to_string(), id, source));
    }
    if let Some(id) = engine.image_id(image).await? {
        return Ok((image.to_string(), id, format!("{image} (present locally)")));
    }
    if image != LOCAL_AB_IMAGE {
        tracing::info!("{image} is not present locally; trying to pull it");
        match engine.pull(image, PULL_TIMEOUT).await {
            Ok(()) => {
                if let Some(id) = engine.image_id(image).await? {
                    return Ok((image.to_string(), id, format!("{image} (pulled)")));
                }
            }
            Err(e) => tracing::warn!("cannot pull {image}: {e:#}"),
        }
    }
    let ab = host_ab().context(
        "no load generator image: it cannot be pulled and there is no ab on this host to package \
         (install it with `apt-get install apache2-utils`, or load httpd:2.4 with `docker load`)",
    )?;
    tracing::warn!(
        "packaging this host's ab ({}) into {LOCAL_AB_IMAGE} because {image} is not available",
        ab.display()
    );
    let id = build_local_ab_image(engine, &ab).await?;
    Ok((
        LOCAL_AB_IMAGE.to_string(),
        id,
        format!(
            "{LOCAL_AB_IMAGE} (packaged from the host's {} because {image} was not available)",
            ab.display()
        ),
    ))
}

/// The host's `ab`, found on PATH.
fn host_ab() -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("ab"))
        .find(|p| p.is_file())
        .context("ab not found on PATH")
}

/// Build `lab/ab:local`: ab at /usr/bin/ab plus every shared library `ldd` lists, at the
/// same paths, in an otherwise empty image.
async fn build_local_ab_image(engine: &dyn Engine, ab: &Path) -> Result<String> {
    let libs = ldd_closure(ab)?;
    let dockerfile = std::fs::read(workspace_root()?.join("docker/ab.Dockerfile"))
        .context("reading docker/ab.Dockerfile")?;
    let mut tar = tar::Builder::new(Vec::new());
    append_bytes(&mut tar, "Dockerfile", &dockerfile, 0o644)?;
    let ab_bytes = std::fs::read(ab).with_context(|| format!("reading {}", ab.display()))?;
    append_bytes(&mut tar, "rootfs/usr/bin/ab", &ab_bytes, 0o755)?;
    for lib in &libs {
        let bytes = std::fs::read(lib).with_context(|| format!("reading {}", lib.display()))?;
        let rel = lib.strip_prefix("/").unwrap_or(lib);
        append_bytes(
            &mut tar,
            &format!("rootfs/{}", rel.display()),
            &bytes,
            0o755,
        )?;
    }
    // ab -e writes its percentile file here.
    let mut dir = tar::Header::new_gnu();
    dir.set_entry_type(tar::EntryType::Directory);
    dir.set_mode(0o1777);
    dir.set_size(0);
    tar.append_data(&mut dir, "rootfs/tmp", std::io::empty())?;
    let context = tar.into_inner()?;
    let id = engine
        .build(LOCAL_AB_IMAGE, "Dockerfile", context, &HashMap::new())
        .await?;
    tracing::info!(
        "built {LOCAL_AB_IMAGE} ({}) from {} and {} shared libraries",
        short_id(&id),
        ab.display(),
        libs.len()
    );
    Ok(id)
}

/// The shared libraries a dynamic executable loads, from `ldd`.
fn ldd_closure(exe: &Path) -> Result<Vec<PathBuf>> {
    let out = Command::new("ldd")
        .arg(exe)
        .output()
        .context("running ldd (needed to package the host's ab)")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let libs = parse_ldd(&text);
    if libs.is_empty() {
        bail!("ldd {} listed no libraries: {}", exe.display(), text.trim());
    }
    Ok(libs)
}

/// Paths from `ldd` output: `libx.so => /lib/libx.so (0x..)` and `/lib64/ld-linux.so.2 (0x..)`.
fn parse_ldd(text: &str) -> Vec<PathBuf> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let candidate = match line.split_once("=>") {
                Some((_, rhs)) => rhs.trim(),
                None => line,
            };
            let path = candidate.split_whitespace().next()?;
            path.starts_with('/').then(|| PathBuf::from(path))
        })
        .collect()
}

pub(crate) fn append_bytes(
    tar: &mut tar::Builder<Vec<u8>>,
    name: &str,
    bytes: &[u8],
    mode: u32,
) -> Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(mode);
    header.set_cksum();
    tar.append_data(&mut header, name, bytes)?;
    Ok(())
}

pub fn short_id(id: &str) -> &str {
    let id = id.strip_prefix("sha256:").unwrap_or(id);
    &id[..id.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ldd_output() {
        let text = "\tlinux-vdso.so.1 (0x00007ffc)\n\
                    \tlibapr-1.so.0 => /lib/x86_64-linux-gnu/libapr-1.so.0 (0x00007f)\n\
                    \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\
                    \t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n";
        assert_eq!(
            parse_ldd(text),
            vec![
                PathBuf::from("/lib/x86_64-linux-gnu/libapr-1.so.0"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
    }

    #[test]
    fn short_ids() {
        assert_eq!(short_id("sha256:0123456789abcdef"), "0123456789ab");
    }
}
