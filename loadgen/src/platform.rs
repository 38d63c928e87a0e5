//! Can this machine build what the daemon will run?
//!
//! The server images and the load generator's agent hold static Linux binaries built by
//! `cargo` for this machine's target triple, and `lab/ab:local` holds this machine's `ab`.
//! A daemon of another architecture (an arm64 Docker Desktop, a remote arm64 host) or a
//! host that does not build Linux binaries (macOS, Windows) would only find out at the
//! first container start, with `exec format error`. [`build_target`] decides before
//! anything is built, from what the daemon reports; it is a pure function so every
//! combination is a unit test.

/// The target triple to build the images' binaries for, or one line saying what to do.
/// `daemon_os` is the daemon's `OSType` (`linux`, `windows`), `daemon_arch` its
/// architecture in either spelling Docker uses (`x86_64` or `amd64`); empty when unknown.
pub fn build_target(
    daemon_os: &str,
    daemon_arch: &str,
    host_triple: &str,
) -> Result<String, String> {
    let daemon_os = daemon_os.to_ascii_lowercase();
    if !daemon_os.is_empty() && daemon_os != "linux" {
        return Err(format!(
            "the Docker daemon runs {daemon_os} containers and the lab's images are Linux \
             images: switch Docker Desktop to Linux containers, or use a Linux daemon"
        ));
    }
    let host_arch = triple_arch(host_triple);
    let daemon = normalize_arch(daemon_arch);
    let platform = format!("linux/{}", if daemon.is_empty() { "?" } else { &daemon });
    if !host_triple.contains("-linux-") {
        return Err(format!(
            "the Docker daemon runs {platform} containers but this machine builds \
             {host_triple} binaries: run the lab from Linux on {platform}, e.g. from a \
             container on that daemon (README: Docker hosts)"
        ));
    }
    if !daemon.is_empty() && daemon != host_arch {
        return Err(format!(
            "the Docker daemon runs {platform} containers but this machine builds \
             {host_triple} binaries: run the lab on a {platform} machine or from a container \
             on that daemon (README: Docker hosts), or point DOCKER_HOST at a \
             linux/{host_arch} daemon"
        ));
    }
    Ok(host_triple.to_string())
}

/// The architecture part of a Rust target triple, in the names [`normalize_arch`] gives.
fn triple_arch(triple: &str) -> String {
    normalize_arch(triple.split('-').next().unwrap_or_default())
}

/// One name per architecture, whichever spelling reported it: Docker's `info` says
/// `x86_64`/`aarch64` (uname), Podman's and `version` say `amd64`/`arm64` (Go), Rust
/// triples say `x86_64`, `aarch64`, `armv7`, `i686`, `riscv64gc`.
pub fn normalize_arch(arch: &str) -> String {
    let a = arch.trim().to_ascii_lowercase();
    match a.as_str() {
        "amd64" | "x86-64" | "x64" => "x86_64".into(),
        "arm64" | "armv8" | "arm64/v8" => "aarch64".into(),
        "386" | "i386" | "i586" | "i686" => "x86".into(),
        "ppc64el" => "powerpc64le".into(),
        "riscv64gc" => "riscv64".into(),
        _ if a.starts_with("armv7") || a == "arm" || a == "armhf" => "arm".into(),
        _ => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINUX_X86: &str = "x86_64-unknown-linux-gnu";
    const LINUX_ARM: &str = "aarch64-unknown-linux-gnu";
    const MAC_ARM: &str = "aarch64-apple-darwin";

    #[test]
    fn a_matching_linux_host_builds_for_itself_in_either_spelling() {
        // Docker's info says x86_64, Podman's says amd64: both are this host.
        for arch in ["x86_64", "amd64", ""] {
            assert_eq!(build_target("linux", arch, LINUX_X86), Ok(LINUX_X86.into()));
        }
        assert_eq!(
            build_target("linux", "arm64", LINUX_ARM),
            Ok(LINUX_ARM.into())
        );
        assert_eq!(build_target("", "aarch64", LINUX_ARM), Ok(LINUX_ARM.into()));
    }

    #[test]
    fn an_arm64_daemon_for_an_x86_host_fails_early_saying_what_to_do() {
        let e = build_target("linux", "aarch64", LINUX_X86).unwrap_err();
        assert!(
            e.contains("linux/aarch64") && e.contains(LINUX_X86) && e.contains("DOCKER_HOST"),
            "{e}"
        );
        assert!(!e.contains('\n'));
    }

    #[test]
    fn docker_desktop_on_a_mac_points_at_a_linux_container() {
        // Apple silicon: Docker Desktop's VM is linux/arm64, the host builds Mach-O.
        let e = build_target("linux", "aarch64", MAC_ARM).unwrap_err();
        assert!(e.contains(MAC_ARM) && e.contains("from a container"), "{e}");
        let e = build_target("windows", "x86_64", "x86_64-pc-windows-msvc").unwrap_err();
        assert!(e.contains("windows containers"), "{e}");
    }

    #[test]
    fn architecture_names_are_normalised() {
        assert_eq!(normalize_arch("AMD64"), "x86_64");
        assert_eq!(normalize_arch("arm64"), "aarch64");
        assert_eq!(normalize_arch("armv7l"), "arm");
        assert_eq!(triple_arch("armv7-unknown-linux-gnueabihf"), "arm");
        assert_eq!(triple_arch("riscv64gc-unknown-linux-gnu"), "riscv64");
        assert_eq!(normalize_arch("s390x"), "s390x");
    }
}
