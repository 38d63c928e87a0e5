//! What was run, where and how: the lab file as recorded in `results.json` (read back typed),
//! the limits the cells ran under, and the machine from `meta.json`.

use super::Overhead;
use crate::config::{Lab, Server, ServerSource};
use crate::meta::Meta;
use crate::record::Tool;
use crate::report::doc::Text;
use crate::report::Run;

/// One line of the setup: a name and what it says.
pub type Field = (String, Text);

/// Every setup line of a run, in reading order.
pub fn fields(run: &Run, lab: Option<&Lab>, tool: Tool) -> Vec<Field> {
    let mut out: Vec<Field> = Vec::new();
    match lab {
        Some(lab) => lab_fields(lab, tool, &mut out),
        None => out.push((
            "Lab file".into(),
            Text::from("the lab file recorded in results.json could not be read by this lab"),
        )),
    }
    if let Some(policy) = super::steady::cell_length(&run.results, lab) {
        out.push(("Cell length".into(), Text::from(policy)));
    }
    limits_fields(run, lab, tool, &mut out);
    if let Some(o) = Overhead::of(&run.results) {
        out.push(("Lab overhead".into(), Text::from(o.text())));
    }
    if let Some(m) = &run.meta {
        meta_fields(m, &mut out);
    }
    out
}

/// `1000 requests per cell`, or `3 s per cell, open loop at 25%, 50% of capacity, 500 req/s`.
fn amount(lg: &crate::config::Loadgen) -> String {
    let per_cell = match lg.duration_s {
        Some(d) => format!("{d} s per cell"),
        None if lg.sized_by_policy() => "cells sized by the lab (see Cell length)".into(),
        None => format!("{} requests per cell", lg.requests),
    };
    let per_cell = match lg.processes {
        crate::config::Processes::Count(1) => per_cell,
        crate::config::Processes::Auto => format!(
            "{per_cell}, sent by one process per CPU the load generator may use, the \
             connections shared out and the results merged from every request"
        ),
        crate::config::Processes::Count(n) => format!(
            "{per_cell}, sent by {n} processes (never more than the connections), the \
             connections shared out and the results merged from every request"
        ),
    };
    if lg.rate.is_empty() {
        return per_cell;
    }
    let mut rates = lg.rate.clone();
    rates.sort_unstable();
    let rates: Vec<String> = rates
        .iter()
        .map(|r| {
            if r.is_percent() {
                format!("{r} of capacity")
            } else {
                format!("{r} req/s")
            }
        })
        .collect();
    format!(
        "{per_cell}, open loop (latency corrected for coordinated omission) at {}",
        rates.join(", ")
    )
}

fn lab_fields(lab: &Lab, tool: Tool, out: &mut Vec<Field>) {
    let lg = &lab.loadgen;
    let list = |v: Vec<String>| v.join(", ");
    out.push((
        "Load".into(),
        Text::new()
            .plain(format!("{tool} ("))
            .code(&lg.image)
            .plain(format!(
                "), {}{}, concurrency {}, keep-alive {}, timeout {} s",
                amount(lg),
                match lab.hosts.loadgen_also.len() {
                    0 => String::new(),
                    n => format!(
                        ", from {} load generator hosts at once (each with its share of \
                         the connections and processes; see Placement)",
                        n + 1
                    ),
                },
                list(lg.concurrency.iter().map(u32::to_string).collect()),
                list(
                    lg.keepalive
                        .iter()
                        .map(|k| on_off(*k).to_string())
                        .collect()
                ),
                lg.timeout_s
            )),
    ));
    out.push(("Repetitions".into(), Text::from(repetitions(lab))));
    let mut workloads = Text::new();
    for (i, w) in lab.workloads.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        workloads = workloads.plain(format!("{sep}{} ", w.name)).code(&w.path);
    }
    out.push(("Workloads".into(), workloads));
    if let Some(bg) = &lab.background {
        out.push((
            "Background".into(),
            Text::new()
                .plain(format!(
                    "a second {tool} held {} connections on ",
                    bg.concurrency
                ))
                .code(&bg.path)
                .plain(format!(
                    " (keep-alive {}) during every measurement",
                    on_off(bg.keepalive)
                )),
        ));
    }
    for s in &lab.servers {
        out.push((format!("Server {}", s.name), server(s)));
    }
}

/// Where the roles ran, when not all on one daemon with one load generator host.
fn placement_field(h: &crate::meta::HostsMeta, out: &mut Vec<Field>) {
    if h.one_daemon && h.loadgen_also.is_empty() {
        return;
    }
    let host = |h: &crate::meta::HostMeta| {
        format!(
            "{} ({}, {} CPUs, {}, kernel {}, {})",
            h.endpoint, h.hostname, h.cpus, h.cpu_model, h.kernel, h.engine
        )
    };
    let mut text = match h.one_daemon {
        true => format!(
            "servers and load generator on {}; ab reached the servers on a {}",
            host(&h.servers),
            h.route
        ),
        false => format!(
            "servers on {}; load generator on {}; ab reached the servers at {}, so the \
             network between the two hosts is part of every cell's latency",
            host(&h.servers),
            host(&h.loadgen),
            h.route
        ),
    };
    for also in &h.loadgen_also {
        text.push_str(&format!(
            "; load generator also on {}, reaching the servers at {}, sending its share of \
             every cell at the same moment as the first",
            host(&also.host),
            also.route
        ));
    }
    out.push(("Placement".into(), Text::from(text)));
}

fn repetitions(lab: &Lab) -> String {
    let repeat = match &lab.repeat_auto {
        Some(a) => format!(
            "auto (until the 95% interval of the median req/s is within ±{}%, {}..={} times, at most {} s per point)",
            a.target * 100.0,
            a.min,
            a.max,
            a.time_s
        ),
        None => lab.repeat.to_string(),
    };
    format!("repeat {repeat}, warm-up {} requests", lab.warmup)
}

/// `model async on port 45000, args `--backlog 5`, own limits cpus=2`
fn server(s: &Server) -> Text {
    let mut t = match &s.source {
        ServerSource::Model(m) => Text::from(format!("model {}", m.as_str())),
        ServerSource::Image(i) => Text::new().plain("image ").code(i),
    };
    t = t.plain(format!(" on port {}", s.port));
    if !s.args.is_empty() {
        t = t.plain(", args ").code(s.args.join(" "));
    }
    let r = &s.resources;
    let own: Vec<String> = [
        r.cpus.map(|v| format!("cpus={v}")),
        r.memory
            .map(|v| format!("memory={}", crate::config::format_memory(v))),
        r.pids.map(|v| format!("pids={v}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !own.is_empty() {
        t = t.plain(format!(", own limits {}", own.join(" ")));
    }
    t
}

/// The limits the cells ran under, pinning, and how they were measured.
fn limits_fields(run: &Run, lab: Option<&Lab>, tool: Tool, out: &mut Vec<Field>) {
    let cells = &run.results.cells;
    let mut groups: Vec<&str> = Vec::new();
    for cell in cells {
        if !groups.contains(&cell.group_label.as_str()) {
            groups.push(&cell.group_label);
        }
    }
    if !groups.is_empty() {
        let pids = lab
            .and_then(|l| l.resources.pids)
            .map(|p| format!(", pids {p}"))
            .unwrap_or_default();
        out.push((
            "Server limits".into(),
            Text::from(groups.join("; ") + &pids),
        ));
    }
    if let Some(cell) = cells.first() {
        let l = &cell.limits;
        out.push((
            "Pinning".into(),
            Text::from(format!(
                "servers on CPUs {}, {tool} on CPUs {}; {tool} CPU limit {}",
                l.cpuset.as_deref().unwrap_or("any"),
                l.loadgen_cpuset.as_deref().unwrap_or("any"),
                l.loadgen_cpus.map_or("none".into(), |c| c.to_string())
            )),
        ));
    }
    if let Some(res) = cells.iter().find_map(|c| c.server_resources.as_ref()) {
        let source = if res.source.is_empty() {
            "Docker stats"
        } else {
            &res.source
        };
        out.push((
            "Measurement".into(),
            Text::new()
                .plain(format!("container CPU and throttling from {source}, read just before and after each cell; {tool}'s CPU from the kernel's rusage of the {tool} process; peak connections and threads from the built-in servers' "))
                .code("/metrics")
                .plain(exactness_text(&res.exactness)),
        ));
    }
}

/// `; on this host: CPU exact, throttling exact, memory peak exact, ...` (nothing for runs
/// recorded before the lab kept exactness).
fn exactness_text(e: &crate::resources::FigureExactness) -> String {
    use crate::resources::Exactness;
    let figures = [
        ("CPU", e.cpu),
        ("throttling", e.throttling),
        ("memory peak", e.memory_peak),
        ("pids peak", e.pids_peak),
        ("CPU peak", e.cpu_peak),
    ];
    if figures.iter().all(|(_, x)| *x == Exactness::Unknown) {
        return String::new();
    }
    let parts: Vec<String> = figures
        .iter()
        .map(|(name, x)| format!("{name} {}", x.as_str()))
        .collect();
    format!(
        "; container figures on this host (first cell; per cell in results.json): {}",
        parts.join(", ")
    )
}

fn meta_fields(m: &Meta, out: &mut Vec<Field>) {
    out.push((
        "Host".into(),
        Text::from(format!(
            "{} CPUs ({}), kernel {}, load average {} → {}",
            m.host_cpus,
            m.host_cpu_model,
            m.host_kernel,
            m.load_average_start.as_deref().unwrap_or("?"),
            m.load_average_end.as_deref().unwrap_or("?")
        )),
    ));
    let d = &m.docker;
    out.push((
        "Docker".into(),
        Text::from(format!(
            "{} (API {}, cgroup v{}), {}",
            d.version, d.api_version, d.cgroup_version, d.os
        )),
    ));
    out.push((
        "Load generator".into(),
        Text::from(format!("{} — {}", m.loadgen_image_source, m.ab_version)),
    ));
    if let Some(h) = m.hosts.as_ref() {
        placement_field(h, out);
    }
    if !m.images.is_empty() {
        let mut t = Text::new();
        for (i, (name, id)) in m.images.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            t = t
                .plain(sep)
                .code(name)
                .plain(format!(" {}", crate::images::short_id(id)));
        }
        out.push(("Images".into(), t));
    }
    if let Some(commit) = &m.git_commit {
        let dirty = if m.git_dirty == Some(true) {
            " (with uncommitted changes)"
        } else {
            ""
        };
        let short: String = commit.chars().take(12).collect();
        out.push((
            "Source".into(),
            Text::new()
                .plain("commit ")
                .code(short)
                .plain(format!("{dirty}, lab file "))
                .code(&m.lab_file),
        ));
    }
}

fn on_off(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}
