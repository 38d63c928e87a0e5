//! Facts about the machine a run happens on, for `meta.json` and for pinning: CPU count
//! and model, load average, and the source revision the lab was built from.

use crate::images;

/// CPUs this process may use (a container quota or cpuset counts).
pub fn host_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The CPU model name from /proc/cpuinfo (empty when unknown).
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_default()
}

/// The 1, 5 and 15 minute load averages, e.g. `0.52 0.31 0.20`.
pub fn load_average() -> Option<String> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// Output of `git ARGS` in the workspace, when it is a git checkout.
pub fn git(args: &[&str]) -> Option<String> {
    let root = images::workspace_root().ok()?;
    let out = std::process::Command::new("git")
        .current_dir(root)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Bytes a run of `plan` needs on disk, roughly: raw ab output and metrics per cell
/// (~16 KiB), results.json rewritten after each cell (~4 KiB a cell, twice while the
/// rename happens), reports and charts; at least 16 MiB.
pub fn needed_bytes(plan: &crate::config::Plan) -> u64 {
    let cells = plan.cell_count() as u64;
    (16 << 20) + cells * (16 << 10) + cells * cells.min(10_000) * 8 * 2
}

/// Fail before anything starts when `output` (or the nearest existing folder above it)
/// cannot take `needed` bytes or cannot be written.
pub fn check_free_space(output: &std::path::Path, needed: u64) -> anyhow::Result<()> {
    use anyhow::{bail, Context};
    let existing = output
        .ancestors()
        .find(|p| p.as_os_str().is_empty() || p.exists())
        .map(|p| {
            if p.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(std::path::Path::new("."));
    let c_path = std::ffi::CString::new(existing.as_os_str().as_encoded_bytes())
        .context("the output path holds a NUL byte")?;
    // SAFETY: statvfs fills the zeroed struct we own; the path is a valid C string.
    let (rc, st) = unsafe {
        let mut st: libc::statvfs = std::mem::zeroed();
        (libc::statvfs(c_path.as_ptr(), &mut st), st)
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("cannot inspect {}", existing.display()));
    }
    if st.f_flag & libc::ST_RDONLY != 0 {
        bail!(
            "cannot write the run folder: {} is on a read-only file system; choose another `output` (or --output DIR)",
            existing.display()
        );
    }
    let free = st.f_bavail * st.f_frsize;
    if free < needed {
        bail!(
            "not enough disk space for the run in {}: {} MiB free, about {} MiB needed; free some space or choose another `output` (or --output DIR)",
            existing.display(),
            free >> 20,
            needed.div_ceil(1 << 20)
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_is_checked_on_the_nearest_existing_folder() {
        let tmp = tempfile::tempdir().unwrap();
        let deep = tmp.path().join("a/b/c");
        check_free_space(&deep, 1).unwrap();
        let err = check_free_space(&deep, u64::MAX / 2)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("not enough disk space"), "{err}");
        let err = check_free_space(std::path::Path::new("/proc/x"), 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("read-only") || err.contains("not enough"),
            "{err}"
        );
    }
}
