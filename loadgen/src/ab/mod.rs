//! Parser for the text that ApacheBench (`ab`, version 2.3) prints.
//!
//! [`parse`] turns a whole run's output (stdout, with stderr merged in or not) into an
//! [`AbReport`]; [`parse_percentile_csv`] reads the file that `ab -e FILE` writes.
//!
//! The parser is lenient about form: labels are matched case-insensitively and regardless
//! of spacing or punctuation, unknown lines (progress, SSL errors, verbose dumps) are
//! ignored, and an optional line whose value does not parse leaves its fields `None` and
//! adds a warning to [`AbReport::warnings`]. It is strict about substance: text that holds
//! no report at all (ab died, timed out, or printed its usage) is an error, and so is a
//! report without a readable `Time taken for tests`, `Complete requests`, `Failed requests`
//! or `Requests per second` line (a missing failure count must never read as zero), or with
//! a negative time or rate.
//!
//! Quirks of ab worth knowing when reading the numbers (see `shared/NOTES.md`):
//!
//! * **Non-2xx responses are not failures.** A 404 or 500 is counted as a complete
//!   request (and in requests/s); it only shows up in the `Non-2xx responses: N` line,
//!   i.e. [`AbReport::non_2xx`]. [`AbReport::failed_requests`] counts connect, receive,
//!   length and exception failures ([`FailedBreakdown`]).
//! * **`Document Length` is the body length of the first good response**, in bytes read
//!   (not the `Content-Length` header). Every later response with another length is a
//!   `Length` failure, so a server whose error pages differ in size from its normal pages
//!   shows "failed requests" (`-l` turns the check off and prints `Variable`, parsed as
//!   `None`).
//! * **Time per request is derived, not measured**: `(mean)` is
//!   `concurrency × time taken / done` and `(mean, across all concurrent requests)` is
//!   `time taken / done`. The measured latencies are the Connection Times table and the
//!   percentiles, both in whole milliseconds.
//! * A TLS handshake problem can still print a full report with `Complete requests` and
//!   few failures; the giveaways are an empty `Server Software:` (parsed as `Some("")`)
//!   and `Total transferred: 0`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::figures::MAX_FIGURE;

#[cfg(test)]
mod tests;

/// Everything ab 2.3 prints in its final report. Each field is `None` when its line is
/// absent (or garbled: then [`AbReport::warnings`] says which line), except the ones
/// [`parse`] requires: `time_taken_s`, `complete_requests`, `failed_requests` and
/// `requests_per_second` are always `Some` in a parsed report. (They stay `Option` so that
/// stored results and hand-built reports keep their shape.)
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AbReport {
    /// `"2.3"` from `This is ApacheBench, Version 2.3 <$Revision: ... $>`.
    pub ab_version: Option<String>,
    /// The first response's `Server:` header. An empty `Server Software:` line gives
    /// `Some("")`, typical of a failed TLS handshake; an absent line gives `None`.
    pub server_software: Option<String>,
    pub server_hostname: Option<String>,
    pub server_port: Option<u16>,
    pub document_path: Option<String>,
    /// Body bytes of the first good response (see the module docs); `None` for `Variable`.
    pub document_length: Option<u64>,
    pub concurrency: Option<u32>,
    pub time_taken_s: Option<f64>,
    /// Includes failed and non-2xx requests.
    pub complete_requests: Option<u64>,
    /// Connect + receive + length + exception failures. Non-2xx responses are NOT here.
    pub failed_requests: Option<u64>,
    /// The `(Connect: a, Receive: b, Length: c, Exceptions: d)` line ab prints after
    /// `Failed requests` when that is non-zero.
    pub failed_breakdown: Option<FailedBreakdown>,
    pub write_errors: Option<u64>,
    /// `Non-2xx responses`: only printed when non-zero.
    pub non_2xx: Option<u64>,
    /// `Keep-Alive requests`: printed whenever `-k` was given, even when 0.
    pub keepalive_requests: Option<u64>,
    pub total_transferred: Option<u64>,
    pub html_transferred: Option<u64>,
    pub requests_per_second: Option<f64>,
    /// `Time per request: X [ms] (mean)` = concurrency × time taken / done (derived).
    pub time_per_request_ms: Option<f64>,
    /// `Time per request: X [ms] (mean, across all concurrent requests)` = time taken / done.
    pub time_per_request_all_ms: Option<f64>,
    /// `Transfer rate: X [Kbytes/sec] received`; the `kb/s sent` / `kb/s total` lines
    /// printed for POST/PUT are not kept.
    pub transfer_rate_kbps: Option<f64>,
    pub connection_times: Option<ConnectionTimes>,
    /// `"50"` → ms for the `  50%      3` rows (`"100"` is the longest request).
    pub percentiles: Option<BTreeMap<String, f64>>,
    /// ab's own `WARNING:`/`ERROR:` messages about median and mean, one entry each (ab wraps
    /// each over two lines, the second `These results are ...`; they are joined with a
    /// space), plus the parser's warnings about garbled lines.
    pub warnings: Vec<String>,
}

/// The breakdown line after `Failed requests`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedBreakdown {
    pub connect: u64,
    pub receive: u64,
    /// Responses whose body length differs from the first response's.
    pub length: u64,
    pub exceptions: u64,
}

/// The `Connection Times (ms)` table. A row is `None` when absent or garbled.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionTimes {
    pub connect: Option<TimeRow>,
    pub processing: Option<TimeRow>,
    pub waiting: Option<TimeRow>,
    pub total: Option<TimeRow>,
}

/// One row of the Connection Times table, in ms. ab prints whole milliseconds except for
/// the `[+/-sd]` column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct TimeRow {
    pub min: f64,
    pub mean: f64,
    pub sd: f64,
    pub median: f64,
    pub max: f64,
}

/// Why a text could not be parsed at all. `Display` is a one-line reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AbParseError {
    /// The text holds no ab report; the string says why, quoting ab's most telling line.
    #[error("no ab report found: {0}")]
    NoReport(String),
    /// The text holds a report that cannot be trusted: a mandatory line is missing or does
    /// not parse, or a time or rate is negative. The string says which line.
    #[error("unusable ab report: {0}")]
    Unusable(String),
    /// The text is not an `ab -e` percentile CSV.
    #[error("not an ab percentile CSV: {0}")]
    PercentileCsv(String),
    /// The text is not an `ab -g` per-request file.
    #[error("not an ab per-request (-g) file: {0}")]
    Gnuplot(String),
}

/// Longest quoted line in a message.
const MAX_QUOTE: usize = 200;

/// A line of the input as a message may show it: at most [`MAX_QUOTE`] characters, control
/// characters escaped (`\0`, `\u{1b}`), so that NUL and terminal escape bytes in a file
/// never reach the terminal.
fn quote(line: &str) -> String {
    let line = line.trim();
    let cut: String = line.chars().take(MAX_QUOTE).collect();
    let more = if cut.len() < line.len() { "…" } else { "" };
    format!("`{}{more}`", shown(&cut))
}

/// `text` with its control characters escaped.
fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Lines of `text` without their `\r`, numbered from 1.
fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .enumerate()
        .map(|(i, l)| (i + 1, l))
}

/// A label reduced to lowercase letters and digits: `Keep-Alive  requests` → `keepaliverequests`.
fn norm(label: &str) -> String {
    label
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The first whitespace-separated token of `value`, parsed.
fn first<T: std::str::FromStr>(value: &str) -> Option<T> {
    value.split_whitespace().next()?.parse().ok()
}

/// Like [`first`] for floats, rejecting NaN and infinities.
fn first_f64(value: &str) -> Option<f64> {
    first::<f64>(value).filter(|v| v.is_finite())
}

fn finite(token: &str) -> Option<f64> {
    token.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// Labels whose presence means the text holds a report.
const REPORT_LABELS: &[&str] = &[
    "completerequests",
    "failedrequests",
    "requestspersecond",
    "timetakenfortests",
    "totaltransferred",
    "htmltransferred",
    "timeperrequest",
    "transferrate",
];

/// The lines a report must have, as ab labels them, in the order ab prints them, with their
/// normalized labels and whether their value was read.
fn mandatory(r: &AbReport) -> [(&'static str, &'static str, bool); 4] {
    [
        (
            "timetakenfortests",
            "Time taken for tests",
            r.time_taken_s.is_some(),
        ),
        (
            "completerequests",
            "Complete requests",
            r.complete_requests.is_some(),
        ),
        (
            "failedrequests",
            "Failed requests",
            r.failed_requests.is_some(),
        ),
        (
            "requestspersecond",
            "Requests per second",
            r.requests_per_second.is_some(),
        ),
    ]
}

#[derive(Default)]
struct Parser {
    report: AbReport,
    found_report: bool,
    /// The last line seen of each mandatory label (normalized), to quote when it is garbled.
    mandatory_lines: BTreeMap<String, (usize, String)>,
    /// The first line with a negative time or rate.
    negative: Option<(usize, String)>,
    /// The first line with a figure no run can produce (above [`MAX_FIGURE`]).
    implausible: Option<(usize, String)>,
    /// A mandatory line given twice (two reports in one text): its label and both lines.
    repeated: Option<(&'static str, usize, usize)>,
    conn_times: Option<ConnectionTimes>,
    percentiles: Option<BTreeMap<String, f64>>,
    /// The previous line was an ab WARNING/ERROR, whose explanation follows.
    after_ab_warning: bool,
    /// A `min avg max` header (ab -S) was seen: rows have no sd or median.
    short_table: bool,
}

impl Parser {
    fn garbled(&mut self, n: usize, line: &str) {
        self.report.warnings.push(format!(
            "could not parse line {n}: {}",
            quote(line.trim_end())
        ));
    }

    fn line(&mut self, n: usize, line: &str) {
        let t = line.trim();
        if t.is_empty() {
            self.after_ab_warning = false;
            return;
        }
        let lower = t.to_ascii_lowercase();

        if self.ab_warning(t, &lower) || self.unlabelled(n, line, t, &lower) {
            return;
        }
        if let Some((label, value)) = t.split_once(':') {
            self.labelled(n, line, label, value.trim());
        }
    }

    /// ab's median/mean sanity warnings, each wrapped over two lines. True if `t` was one.
    fn ab_warning(&mut self, t: &str, lower: &str) -> bool {
        if (lower.starts_with("warning:") || lower.starts_with("error:"))
            && lower.contains("median and mean")
        {
            self.report.warnings.push(t.to_string());
            self.after_ab_warning = true;
            return true;
        }
        if self.after_ab_warning && lower.contains("these results are") {
            // The second half of the message before: one warning, not two.
            if let Some(last) = self.report.warnings.last_mut() {
                last.push(' ');
                last.push_str(t);
            }
            self.after_ab_warning = false;
            return true;
        }
        self.after_ab_warning = false;
        false
    }

    /// Lines without a `label: value` shape: the banner, the failure breakdown, percentile
    /// rows and table headers. True if `t` was one of them.
    fn unlabelled(&mut self, n: usize, line: &str, t: &str, lower: &str) -> bool {
        if let Some(pos) = lower.find("apachebench, version") {
            let rest = &t[pos + "apachebench, version".len()..];
            if let Some(v) = rest.split_whitespace().next() {
                self.report.ab_version = Some(v.trim_end_matches(',').to_string());
            }
            return true;
        }

        // `   (Connect: 0, Receive: 0, Length: 454, Exceptions: 0)`
        if t.starts_with('(') && lower.contains("connect") {
            match parse_breakdown(t) {
                Some(b) => self.report.failed_breakdown = Some(b),
                None => self.garbled(n, line),
            }
            return true;
        }

        // Percentile rows: `  50%      3`, ` 100%     10 (longest request)`.
        if let Some((pct, rest)) = t.split_once('%') {
            if !pct.is_empty() && pct.trim().chars().all(|c| c.is_ascii_digit()) {
                self.percentile_row(n, line, pct.trim(), rest);
                return true;
            }
        }
        if lower.starts_with("percentage of the requests served") {
            self.percentiles.get_or_insert_with(BTreeMap::new);
            return true;
        }
        if lower.starts_with("connection times") {
            self.conn_times.get_or_insert_with(ConnectionTimes::default);
            return true;
        }
        if lower.starts_with("min") && lower.contains("max") {
            // The table's column header: `min  mean[+/-sd] median   max` or, with -S,
            // `min   avg   max`.
            self.short_table = !lower.contains("median");
            return true;
        }

        false
    }

    /// `  50%      3`: `pct` is `50`, `rest` what follows the `%`.
    fn percentile_row(&mut self, n: usize, line: &str, pct: &str, rest: &str) {
        let ms = first_f64(rest);
        match ms {
            Some(ms) => self.check_sign(n, line, &[ms]),
            None => self.garbled(n, line),
        }
        let map = self.percentiles.get_or_insert_with(BTreeMap::new);
        if let Some(ms) = ms {
            let key = pct.trim_start_matches('0');
            let key = if key.is_empty() { "0" } else { key };
            map.insert(key.to_string(), ms);
        }
    }

    /// A `Label: value` line.
    fn labelled(&mut self, n: usize, line: &str, label: &str, value: &str) {
        let key = norm(label);
        if REPORT_LABELS.contains(&key.as_str()) {
            self.found_report = true;
        }
        if let Some(&(k, label, _)) = mandatory(&self.report).iter().find(|(k, ..)| *k == key) {
            let quoted = (n, line.trim_end().to_string());
            if let Some((first, _)) = self.mandatory_lines.insert(k.to_string(), quoted) {
                self.repeated.get_or_insert((label, first, n));
            }
        }
        let r = &mut self.report;
        match key.as_str() {
            "serversoftware" => r.server_software = Some(value.to_string()),
            "serverhostname" => r.server_hostname = Some(value.to_string()),
            "documentpath" => r.document_path = Some(value.to_string()),
            "serverport" => self.num(n, line, value, |r, v| r.server_port = v),
            "documentlength" => {
                if value.eq_ignore_ascii_case("variable") {
                    r.document_length = None;
                } else {
                    self.num(n, line, value, |r, v| r.document_length = v);
                }
            }
            "concurrencylevel" => self.num(n, line, value, |r, v| r.concurrency = v),
            "timetakenfortests" => self.float(n, line, value, |r, v| r.time_taken_s = v),
            "completerequests" => self.num(n, line, value, |r, v| r.complete_requests = v),
            "failedrequests" => self.num(n, line, value, |r, v| r.failed_requests = v),
            "writeerrors" => self.num(n, line, value, |r, v| r.write_errors = v),
            "non2xxresponses" => self.num(n, line, value, |r, v| r.non_2xx = v),
            "keepaliverequests" => self.num(n, line, value, |r, v| r.keepalive_requests = v),
            "totaltransferred" => self.num(n, line, value, |r, v| r.total_transferred = v),
            "htmltransferred" => self.num(n, line, value, |r, v| r.html_transferred = v),
            "requestspersecond" => self.float(n, line, value, |r, v| r.requests_per_second = v),
            "timeperrequest" => {
                if value.to_ascii_lowercase().contains("across all") {
                    self.float(n, line, value, |r, v| r.time_per_request_all_ms = v);
                } else {
                    self.float(n, line, value, |r, v| r.time_per_request_ms = v);
                }
            }
            "transferrate" => self.float(n, line, value, |r, v| r.transfer_rate_kbps = v),
            "connect" | "processing" | "waiting" | "total" => self.time_row(n, line, &key, value),
            _ => {}
        }
    }

    fn num<T: std::str::FromStr>(
        &mut self,
        n: usize,
        line: &str,
        value: &str,
        set: impl FnOnce(&mut AbReport, Option<T>),
    ) {
        let v = first::<T>(value);
        if v.is_none() {
            self.garbled(n, line);
        }
        set(&mut self.report, v);
    }

    fn float(
        &mut self,
        n: usize,
        line: &str,
        value: &str,
        set: impl FnOnce(&mut AbReport, Option<f64>),
    ) {
        let v = first_f64(value);
        match v {
            None => self.garbled(n, line),
            Some(v) => self.check_sign(n, line, &[v]),
        }
        set(&mut self.report, v);
    }

    /// Times and rates are never negative: a negative one (a clock that stepped back, a
    /// corrupted line) makes the report unusable.
    fn check_sign(&mut self, n: usize, line: &str, values: &[f64]) {
        if values.iter().any(|v| *v < 0.0) && self.negative.is_none() {
            self.negative = Some((n, line.trim_end().to_string()));
        }
        if values.iter().any(|v| *v > MAX_FIGURE) && self.implausible.is_none() {
            self.implausible = Some((n, line.trim_end().to_string()));
        }
    }

    /// Why the report cannot be used, if it cannot: every missing or unreadable mandatory
    /// line, then the first negative value.
    fn unusable(&self) -> Option<String> {
        let mut missing = Vec::new();
        let mut problems = Vec::new();
        for (key, label, read) in mandatory(&self.report) {
            match self.mandatory_lines.get(key) {
                _ if read => {}
                Some((n, line)) => {
                    problems.push(format!("line {n} does not parse: {}", quote(line)))
                }
                None => missing.push(format!("`{label}`")),
            }
        }
        if !missing.is_empty() {
            let s = if missing.len() == 1 { "" } else { "s" };
            problems.insert(0, format!("no {} line{s}", missing.join(", ")));
        }
        if let Some((n, line)) = &self.negative {
            problems.push(format!(
                "line {n} has a negative time or rate: {}",
                quote(line)
            ));
        }
        if let Some((n, line)) = &self.implausible {
            problems.push(format!(
                "line {n} has a figure no run can produce (above {MAX_FIGURE:e}): {}",
                quote(line)
            ));
        }
        if let Some((label, first, again)) = self.repeated {
            problems.push(format!(
                "`{label}` is given twice (lines {first} and {again}): two reports in one text"
            ));
        }
        problems.extend(inconsistent(&self.report));
        (!problems.is_empty()).then(|| problems.join("; "))
    }

    fn time_row(&mut self, n: usize, line: &str, key: &str, value: &str) {
        let nums: Option<Vec<f64>> = value.split_whitespace().map(finite).collect();
        if let Some(nums) = &nums {
            self.check_sign(n, line, nums);
        }
        let row = match nums.as_deref() {
            Some(&[min, mean, sd, median, max]) => Some(TimeRow {
                min,
                mean,
                sd,
                median,
                max,
            }),
            Some(&[_, _, _]) if self.short_table => {
                self.report.warnings.push(format!(
                    "line {n}: Connection Times row without sd and median (ab -S): {}",
                    quote(line.trim_end())
                ));
                None
            }
            _ => {
                self.garbled(n, line);
                None
            }
        };
        let table = self.conn_times.get_or_insert_with(ConnectionTimes::default);
        let slot = match key {
            "connect" => &mut table.connect,
            "processing" => &mut table.processing,
            "waiting" => &mut table.waiting,
            _ => &mut table.total,
        };
        *slot = row;
    }
}

/// `(Connect: 0, Receive: 0, Length: 454, Exceptions: 0)`; all four are required.
fn parse_breakdown(t: &str) -> Option<FailedBreakdown> {
    let inner = t.trim_start_matches('(').trim_end().trim_end_matches(')');
    let (mut c, mut r, mut l, mut e) = (None, None, None, None);
    for part in inner.split(',') {
        let (name, value) = part.split_once(':')?;
        let v: u64 = value.trim().parse().ok()?;
        match norm(name).as_str() {
            "connect" => c = Some(v),
            "receive" => r = Some(v),
            "length" => l = Some(v),
            "exceptions" => e = Some(v),
            _ => return None,
        }
    }
    Some(FailedBreakdown {
        connect: c?,
        receive: r?,
        length: l?,
        exceptions: e?,
    })
}

/// Counts that contradict each other. Non-2xx and keep-alive answers are among the complete
/// ones, and so are failures, except connect failures: ab tolerates 10 of those before it
/// gives up (`Test aborted after 10 failures`).
fn inconsistent(r: &AbReport) -> Vec<String> {
    let complete = r.complete_requests.unwrap_or(0);
    let mut problems = Vec::new();
    let mut more = |what: &str, n: Option<u64>, bound: u64, of: &str| {
        if let Some(n) = n.filter(|&n| n > bound) {
            problems.push(format!("{what} ({n}) exceed {of} ({bound})"));
        }
    };
    more(
        "failed requests",
        r.failed_requests,
        complete + 10,
        "complete requests + 10",
    );
    more(
        "non-2xx responses",
        r.non_2xx,
        complete,
        "complete requests",
    );
    more(
        "keep-alive requests",
        r.keepalive_requests,
        complete,
        "complete requests",
    );
    if let Some(total) = r.total_transferred {
        more(
            "HTML bytes",
            r.html_transferred,
            total,
            "total bytes transferred",
        );
    }
    problems
}

/// Parses the output of one ab 2.3 run (stdout, optionally with stderr merged in;
/// `\n` or `\r\n` line endings).
///
/// Fails with [`AbParseError::NoReport`] when the text holds no report (no `Complete
/// requests`, `Requests per second`, ... line): ab died (`apr_socket_recv: Connection
/// refused (111)`), hit its `-s` timeout, printed its usage, or nothing was captured; the
/// error quotes ab's most telling line. Fails with [`AbParseError::Unusable`] when a
/// report lacks a readable `Time taken for tests`, `Complete requests`, `Failed requests`
/// or `Requests per second` line, or has a negative time or rate; the error names the
/// lines. On `Ok`, those four fields are `Some`.
pub fn parse(text: &str) -> Result<AbReport, AbParseError> {
    let mut p = Parser::default();
    for (n, line) in numbered_lines(text) {
        p.line(n, line);
    }
    if !p.found_report {
        return Err(AbParseError::NoReport(no_report_reason(text)));
    }
    if let Some(why) = p.unusable() {
        return Err(AbParseError::Unusable(why));
    }
    p.report.connection_times = p.conn_times;
    p.report.percentiles = p.percentiles;
    Ok(p.report)
}

fn is_banner(lower: &str) -> bool {
    lower.starts_with("this is apachebench")
        || lower.starts_with("copyright 1996 adam twiss")
        || lower.starts_with("licensed to the apache software foundation")
}

/// Picks the line that best explains why a text has no report.
fn no_report_reason(text: &str) -> String {
    let lines: Vec<&str> = numbered_lines(text)
        .map(|(_, l)| l.trim())
        .filter(|l| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return "empty input (ab printed nothing)".to_string();
    }
    let lower: Vec<String> = lines.iter().map(|l| l.to_ascii_lowercase()).collect();
    let find = |pred: &dyn Fn(&str) -> bool| lower.iter().position(|l| pred(l));

    // `Total of 362 requests completed`, printed after a fatal error mid-run.
    let total_of = find(&|l| l.starts_with("total of ") && l.contains("requests completed"))
        .map(|i| format!(" ({})", shown(lines[i])))
        .unwrap_or_default();

    // An APR error, often glued to `Benchmarking host (be patient)...`.
    if let Some(i) = find(&|l| l.contains("apr_")) {
        let at = lower[i].find("apr_").unwrap_or(0);
        return format!("ab printed {}{total_of}", quote(&lines[i][at..]));
    }
    // Usage errors: the reason is on the line before `Usage:` (e.g. `ab: invalid URL`).
    if let Some(i) = find(&|l| l.starts_with("ab:")) {
        return format!("ab printed {}", quote(lines[i]));
    }
    if let Some(u) = find(&|l| l.starts_with("usage:")) {
        let i = if u > 0 && !is_banner(&lower[u - 1]) {
            u - 1
        } else {
            u
        };
        return format!("ab printed {}", quote(lines[i]));
    }
    for pred in [
        &(|l: &str| l.contains("test aborted")) as &dyn Fn(&str) -> bool,
        &|l: &str| l.contains("ssl") && l.contains("fail"),
    ] {
        if let Some(i) = find(pred) {
            return format!("ab printed {}{total_of}", quote(lines[i]));
        }
    }
    if !total_of.is_empty() {
        return format!("ab printed `{}`", total_of.trim().trim_matches(['(', ')']));
    }
    if let Some(i) = find(&|l| l.starts_with("benchmarking ")) {
        // The last progress line tells how far it got.
        let last = lines[i..]
            .iter()
            .rev()
            .find(|l| {
                let l = l.to_ascii_lowercase();
                l.starts_with("completed ") || l.starts_with("finished ")
            })
            .unwrap_or(&lines[i]);
        return format!("ab printed {} but no statistics", quote(last));
    }
    match lower.iter().position(|l| !is_banner(l)) {
        Some(i) => format!("ab printed {}", quote(lines[i])),
        None => "ab printed only its banner".to_string(),
    }
}

/// Parses the file written by `ab -e FILE`: a header `Percentage served,Time in ms`
/// then rows `0,1.234` ... `100,9.876` (101 rows, sub-millisecond; ab's rows are wrong
/// when n ≤ 50). Keys are the percentages as written without leading zeros (`"0"` ..
/// `"100"`). Any row that does not parse is an error (the file is machine-written).
pub fn parse_percentile_csv(text: &str) -> Result<BTreeMap<String, f64>, AbParseError> {
    let mut map = BTreeMap::new();
    let mut seen_content = false;
    for (n, line) in numbered_lines(text) {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let first_content = !seen_content;
        seen_content = true;
        let row = t.split_once(',').and_then(|(k, v)| {
            let k: u32 = k.trim().parse().ok()?;
            Some((k, finite(v.trim())?))
        });
        match row {
            Some((k, v)) => {
                map.insert(k.to_string(), v);
            }
            // The header (`Percentage served,Time in ms`) or any non-numeric first line.
            None if first_content && !t.starts_with(|c: char| c.is_ascii_digit()) => {}
            None => {
                return Err(AbParseError::PercentileCsv(format!(
                    "could not parse line {n}: {}",
                    quote(t)
                )))
            }
        }
    }
    if map.is_empty() {
        let why = if seen_content {
            "no `percent,ms` rows"
        } else {
            "empty input"
        };
        return Err(AbParseError::PercentileCsv(why.to_string()));
    }
    Ok(map)
}

/// ab's `-g` file: a header `starttime\tseconds\tctime\tdtime\tttime\twait`, then one row
/// per completed request: its start as a date and as whole Unix seconds, then connect,
/// processing, total and waiting times in whole ms. Returns start second → total ms →
/// requests. Any row that does not parse is an error (the file is machine-written).
pub fn parse_gnuplot(text: &str) -> Result<BTreeMap<u64, BTreeMap<u64, u64>>, AbParseError> {
    let mut by_second: BTreeMap<u64, BTreeMap<u64, u64>> = BTreeMap::new();
    let mut lines = numbered_lines(text).filter(|(_, l)| !l.trim().is_empty());
    match lines.next() {
        Some((_, header)) if header.trim_end().ends_with("ttime\twait") => {}
        Some((n, other)) => {
            return Err(AbParseError::Gnuplot(format!(
                "line {n} is not ab's -g header: {}",
                quote(other)
            )))
        }
        None => return Err(AbParseError::Gnuplot("empty input".into())),
    }
    for (n, line) in lines {
        let fields: Vec<&str> = line.trim_end().split('\t').collect();
        let row = (fields.len() == 6)
            .then(|| {
                Some((
                    fields[1].parse::<u64>().ok()?,
                    fields[4].parse::<u64>().ok()?,
                ))
            })
            .flatten();
        let Some((second, total_ms)) = row else {
            return Err(AbParseError::Gnuplot(format!(
                "could not parse line {n}: {}",
                quote(line)
            )));
        };
        *by_second
            .entry(second)
            .or_default()
            .entry(total_ms)
            .or_default() += 1;
    }
    Ok(by_second)
}
