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
