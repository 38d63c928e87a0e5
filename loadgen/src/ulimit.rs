//! The open-file (and process) limits of the containers the lab starts.
//!
//! Docker gives a container the limits of the daemon that starts it, which the daemon can
//! always grant. Podman instead asks for `nofile` and `nproc` of 1048576 (when rootful),
//! and a service that may not raise its own hard limits (no `CAP_SYS_RESOURCE`, as in
//! many sandboxes and CI machines) fails every container with `error setting rlimit type
//! 7: operation not permitted`. The lab therefore asks for limits the engine can grant:
//! the Podman service's own hard limits, read from `/proc/<pid>/limits` of the process at
//! the other end of its socket. The lab file's `nofile:` sets the open-file limit
//! explicitly for every engine.
//!
//! The decision is [`plan`], a pure function tested below; [`daemon_limits`] reads the
//! daemon's limits when it runs on this machine.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Nofile;
pub use crate::engine::Ulimit;
use crate::engine::{Engine, EngineKind};

/// Hard limits of a process, from `/proc/<pid>/limits`; `None` = unlimited or unknown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HardLimits {
    pub nofile: Option<u64>,
    pub nproc: Option<u64>,
}

/// The limits the lab asks for and why, as `meta.json` records them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UlimitPlan {
    /// Empty: every container gets the engine's own default.
    pub ulimits: Vec<Ulimit>,
    pub reason: String,
}

/// Decide the limits for `engine` from the lab file's `nofile` and the daemon's own hard
/// limits (`None` when the daemon is not on this machine or not readable).
pub fn plan(engine: EngineKind, nofile: Nofile, daemon: Option<HardLimits>) -> UlimitPlan {
    let daemon = daemon.unwrap_or_default();
    let limit = |name: &str, value: u64| Ulimit {
        name: name.into(),
        value,
    };
    let mut ulimits = Vec::new();
    let mut reasons = Vec::new();
    match (nofile, engine, daemon.nofile) {
        (Nofile::Fixed(n), _, _) => {
            ulimits.push(limit("nofile", n));
            reasons.push(format!("nofile {n} from the lab file"));
        }
        (Nofile::Auto, EngineKind::Podman, Some(n)) => {
            ulimits.push(limit("nofile", n));
            reasons.push(format!("nofile {n}, the Podman service's own hard limit"));
        }
        (Nofile::Auto, EngineKind::Podman, None) => reasons.push(
            "nofile: Podman's default (the service's limits are not readable from here)".into(),
        ),
        (Nofile::Auto, _, _) => {
            reasons.push("nofile: the engine's default (inherited from the daemon)".into())
        }
    }
    // Podman raises nproc the same way; the service's own limit is one it can grant.
    if let (EngineKind::Podman, Some(n)) = (engine, daemon.nproc) {
        ulimits.push(limit("nproc", n));
        reasons.push(format!("nproc {n}, the Podman service's own hard limit"));
    }
    UlimitPlan {
        ulimits,
        reason: reasons.join("; "),
    }
}

impl UlimitPlan {
    /// The open-file limit containers will have, when the lab sets it.
    pub fn nofile(&self) -> Option<u64> {
        self.ulimits
            .iter()
            .find(|u| u.name == "nofile")
            .map(|u| u.value)
    }
}

/// Hard `Max open files` and `Max processes` from the text of `/proc/<pid>/limits`.
pub fn parse_limits(text: &str) -> HardLimits {
    let hard = |label: &str| {
        let line = text.lines().find(|l| l.starts_with(label))?;
        // Columns after the label: soft, hard, units.
        let mut cols = line[label.len()..].split_whitespace();
        cols.next()?;
        cols.next()?.parse::<u64>().ok()
    };
    HardLimits {
        nofile: hard("Max open files"),
        nproc: hard("Max processes"),
    }
}

/// The hard limits of `engine`'s daemon, when it listens on a socket of this machine.
pub fn engine_limits(engine: &dyn Engine) -> Option<HardLimits> {
    daemon_limits(&engine.endpoint().unix_socket()?)
}

/// The hard limits of the daemon listening on `socket`, when it runs on this machine: the
/// peer of a connection to it (`SO_PEERCRED`) is the daemon process.
pub fn daemon_limits(socket: &Path) -> Option<HardLimits> {
    let pid = peer_pid(socket)?;
    let text = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    Some(parse_limits(&text))
}

/// The pid of the process that listens on a unix socket.
#[cfg(target_os = "linux")]
fn peer_pid(socket: &Path) -> Option<i32> {
    use std::os::fd::AsRawFd;
    let stream = std::os::unix::net::UnixStream::connect(socket).ok()?;
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes and sized for SO_PEERCRED's ucred.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (rc == 0 && cred.pid > 0).then_some(cred.pid)
}

#[cfg(not(target_os = "linux"))]
fn peer_pid(_socket: &Path) -> Option<i32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `/proc/<pid>/limits` of `podman system service` on the machine this was written on.
    const PODMAN_LIMITS: &str = "\
Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max processes             32768                32768                processes 
Max open files            20000                20000                files     
Max locked memory         8388608              8388608              bytes     
";

    #[test]
    fn parses_the_hard_column() {
        assert_eq!(
            parse_limits(PODMAN_LIMITS),
            HardLimits {
                nofile: Some(20000),
                nproc: Some(32768)
            }
        );
        let unlimited = PODMAN_LIMITS.replace("32768                32768", "unlimited unlimited");
        assert_eq!(parse_limits(&unlimited).nproc, None);
    }

    #[test]
    fn podman_gets_the_services_own_limits() {
        let daemon = Some(parse_limits(PODMAN_LIMITS));
        let p = plan(EngineKind::Podman, Nofile::Auto, daemon);
        assert_eq!(p.nofile(), Some(20000));
        assert_eq!(
            p.ulimits
                .iter()
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>(),
            ["nofile", "nproc"]
        );
        assert!(
            p.reason.contains("Podman service's own hard limit"),
            "{}",
            p.reason
        );
        // A remote Podman: its default, said so.
        let p = plan(EngineKind::Podman, Nofile::Auto, None);
        assert!(p.ulimits.is_empty() && p.reason.contains("not readable"));
    }

    #[test]
    fn docker_keeps_its_default_unless_the_lab_file_sets_nofile() {
        let daemon = Some(parse_limits(PODMAN_LIMITS));
        let p = plan(EngineKind::Docker, Nofile::Auto, daemon);
        assert_eq!(p.ulimits, vec![]);
        assert!(p.reason.contains("engine's default"));
        let p = plan(EngineKind::Docker, Nofile::Fixed(4096), daemon);
        assert_eq!(
            p.ulimits,
            vec![Ulimit {
                name: "nofile".into(),
                value: 4096
            }]
        );
        // On Podman the file's nofile wins, and nproc still comes from the service.
        let p = plan(EngineKind::Podman, Nofile::Fixed(4096), daemon);
        assert_eq!(p.nofile(), Some(4096));
        assert_eq!(p.ulimits.len(), 2);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_peer_of_a_unix_socket_is_the_listening_process() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        assert_eq!(peer_pid(&path), Some(std::process::id() as i32));
        let own = daemon_limits(&path).expect("our own limits");
        assert!(own.nofile.is_some_and(|n| n > 0));
        assert_eq!(peer_pid(&dir.path().join("none.sock")), None);
    }
}
