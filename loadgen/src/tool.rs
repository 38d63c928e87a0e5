//! The load tool's command line, built in one place for every use: measured cells,
//! warm-ups and the background load.
//!
//! ab is the only tool today; a second (oha, wrk) would be another function here plus its
//! parser, and the run loop would not change.

/// Where ab writes its `-e` percentile file inside the load generator container (`/tmp` is
/// world-writable there: the lab copies it in with the agent).
pub const PERCENTILE_FILE: &str = "/tmp/lab-percentiles.csv";

/// One load run, in the tool's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Load<'a> {
    pub requests: u64,
    pub concurrency: u32,
    /// Per-request timeout (`ab -s`), seconds.
    pub timeout_s: u64,
    pub keepalive: bool,
    pub url: &'a str,
    /// Ask for sub-millisecond percentiles in [`PERCENTILE_FILE`] (`ab -e`).
    pub percentiles: bool,
}

/// `ab -n N -c C -s T -r [-e FILE] [-k] URL`. `-r` keeps ab going on receive errors, so
/// they count as failures instead of ending the run without a report.
pub fn ab_command(load: &Load<'_>) -> Vec<String> {
    let mut cmd: Vec<String> = [
        "ab",
        "-n",
        &load.requests.to_string(),
        "-c",
        &load.concurrency.to_string(),
        "-s",
        &load.timeout_s.to_string(),
        "-r",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if load.percentiles {
        cmd.extend(["-e".to_string(), PERCENTILE_FILE.to_string()]);
    }
    if load.keepalive {
        cmd.push("-k".into());
    }
    cmd.push(load.url.to_string());
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_abs_command_line() {
        let load = Load {
            requests: 1000,
            concurrency: 10,
            timeout_s: 30,
            keepalive: true,
            url: "http://172.18.0.2:45000/",
            percentiles: true,
        };
        assert_eq!(
            ab_command(&load).join(" "),
            "ab -n 1000 -c 10 -s 30 -r -e /tmp/lab-percentiles.csv -k http://172.18.0.2:45000/"
        );
        let plain = Load {
            keepalive: false,
            percentiles: false,
            ..load
        };
        assert_eq!(
            ab_command(&plain).join(" "),
            "ab -n 1000 -c 10 -s 30 -r http://172.18.0.2:45000/"
        );
    }
}
