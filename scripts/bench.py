#!/usr/bin/env python3
"""`just bench`: the two servers against nginx, on loopback, pinned (issue 24).

Each server (nginx 1.x with one worker and a generated config; server-async; server-thread,
both from target/release) runs on CPU 0 and `wrk -t1 -c100` on CPU 1 against `/`, with
keep-alive and with `Connection: close`. Rounds interleave the servers, so that a noisy
neighbour hits all of them alike; each round's ratio to nginx is one sample. Prints a
Markdown table (median req/s, median ratio to nginx and the range of the per-round ratios)
and writes it to target/bench/bench.md. A benchmark, not a test: nothing is asserted.

On two CPUs wrk needs about as much CPU per request as a server, so it can be what sets
the pace, and then a req/s ratio compares wrk's runs. So every counted run also measures,
over the counted wrk run alone, the server's CPU seconds (/proc/<pid>/stat: all threads;
nginx's master and worker), wrk's (its rusage) and the requests wrk completed. The table
adds the server's CPU µs per request, the ratio nginx's µs ÷ the server's (> 1: less CPU
than nginx; it holds whichever side is busy) and what limited the runs: `server` when the
server used ≥ 0.9 of its CPU in most rounds, `wrk` when wrk did and the server not, else
`neither`, with the median busy shares.

BENCH_CPU_QUOTA=0.3 runs every server in a cgroup with that CPU quota per 100 ms period
(as the lab's `cpus` does; root, cgroup v1 or v2): then each server, not wrk, sets the
pace, and req/s compares the servers in the regime the lab measures them in.

Environment: BENCH_ROUNDS (default 3), BENCH_SECONDS (default 5). A run during which other
processes used more than BENCH_QUIET (default 0.05) of a CPU is run again, up to
BENCH_RETRIES (default 3) times, and the least disturbed run counts; the table gives the
most CPU others used in a counted run next to the load average.

`--costs` measures where the time goes instead (needs `perf` and root): the same runs,
the server and wrk each under `perf stat` (the server's counters on only while wrk runs),
every count divided by the requests wrk completed. Columns: CPU time per request
(task-clock, so the kernel's network work done in the process counts; inflated by the
system-call tracepoints counted alongside), system calls, `epoll_wait` calls and context
switches per request, and the share of its CPU each side used ("busy": the side
near 1.00 is the bottleneck). Written to target/bench/costs.md.
`--floor` adds each model's floor to every round (`server/examples/floor.rs`): a server
of that model reduced to the system calls the model needs, with a canned answer:
`async-floor` (one thread, raw epoll), `tokio-floor` (a tokio task per connection and
nothing else) and `thread-floor` (a blocking thread per connection). A lab server's
distance to its floor is what its implementation costs (for async: tokio's share, then the
server's own), the floor's distance to nginx what the model costs. It combines with
`--costs` and `--profile`.
BENCH_BIN_DIR (default target/release) names the folder of the two server binaries;
BENCH_BASELINE_DIR, if set, adds the two binaries of that folder (an older build kept
aside) to every round as `async-base` and `thread-base`, so a change is measured side by
side with what it replaces.
"""

import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = Path(os.environ.get("BENCH_BIN_DIR", ROOT / "target" / "release"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
BASELINE = os.environ.get("BENCH_BASELINE_DIR")
QUIET = float(os.environ.get("BENCH_QUIET", "0.05"))
RETRIES = int(os.environ.get("BENCH_RETRIES", "3"))
QUOTA = float(os.environ.get("BENCH_CPU_QUOTA", "0"))
SERVER_CPU, LOAD_CPU = "0", "1"
# Before anything starts: the neighbours' load. (During a run the thread model's runnable
# connection threads count in the load average themselves.)
LOAD_BEFORE = os.getloadavg()[0]

NGINX_CONF = """daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        location = / {{ default_type text/plain; return 200 "hello from lab\\n"; }}
    }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc):
    deadline = time.time() + 10
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"bench: the server exited at start (code {proc.returncode})")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"bench: nothing listens on port {port}")


def start(name, workdir, prefix=()):
    """Start `name` on the server CPU, under `prefix` (e.g. `perf stat ... --`)."""
    port = free_port()
    if name == "nginx":
        conf = Path(workdir) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=workdir, port=port))
        command = ["nginx", "-c", str(conf), "-p", workdir]
    elif name.endswith("-floor"):
        command = [str(RELEASE / "examples" / "floor"), name.removesuffix("-floor"),
                   "--port", str(port), "--bind", "127.0.0.1"]
    else:
        binary = (Path(BASELINE) / f"server-{name.removesuffix('-base')}" if name.endswith("-base")
                  else RELEASE / f"server-{name}")
        command = [str(binary), "--port", str(port), "--bind", "127.0.0.1"]
    if QUOTA:  # join the quota's cgroup, then become the server (same pid)
        prefix = ("sh", "-c", 'echo $$ > "$0" && exec "$@"', str(QUOTA_PROCS), *prefix)
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU, *prefix] + command,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc.prefixed = bool(prefix)
    wait_listening(port, proc)
    return proc, port


# BENCH_CPU_QUOTA: the cgroup every server runs in, and its `cgroup.procs`.
QUOTA_CGROUP = None
QUOTA_PROCS = None
PERIOD_US = 100_000


def quota_cgroup():
    """Make the bench's cgroup with a CPU quota of BENCH_CPU_QUOTA per 100 ms period (the
    lab's `cpus`, as Docker sets it), on cgroup v2 or v1; returns its folder."""
    quota = int(QUOTA * PERIOD_US)
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():  # v2
        Path("/sys/fs/cgroup/cgroup.subtree_control").write_text("+cpu")
        group = Path("/sys/fs/cgroup/lab-bench")
        group.mkdir(exist_ok=True)
        (group / "cpu.max").write_text(f"{quota} {PERIOD_US}")
    else:
        group = Path("/sys/fs/cgroup/cpu/lab-bench")
        group.mkdir(exist_ok=True)
        (group / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (group / "cpu.cfs_quota_us").write_text(str(quota))
    return group


def stop(proc):
    """SIGTERM to the server: to the process started, or to its child when it runs under a
    prefix (`perf`). (Not to nginx's worker: its master would start another.)"""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    pids = children.read_text().split() if proc.prefixed and children.exists() else []
    for pid in pids:
        os.kill(int(pid), signal.SIGTERM)
    try:
        proc.wait(timeout=10 if pids else 0)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.wait()


def wrk_output(port, seconds, close, prefix=()):
    command = ["taskset", "-c", LOAD_CPU, *prefix, "wrk", "-t1", "-c100", f"-d{seconds}s"]
    if close:
        command += ["-H", "Connection: close"]
    out = subprocess.run(command + [f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, check=True).stdout
    return out


def wrk_counts(out):
    """req/s and the requests completed, from wrk's output; stops the bench on non-2xx
    answers (a server answering errors fast is not faster)."""
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    if not rate or not done:
        sys.exit(f"bench: no Requests/sec or requests count in wrk's output:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"bench: {errors.group(1)} non-2xx responses")
    return float(rate.group(1)), int(done.group(1))


def wrk(port, seconds, close):
    """req/s of one wrk run (warm-ups, `--profile`: where only the rate matters)."""
    return wrk_counts(wrk_output(port, seconds, close))[0]


def cpu_seconds():
    """Busy seconds of every CPU so far, from /proc/stat: user, nice, system, and interrupt
    and softirq time. The last two count because, without IRQ time accounting, the
    loopback softirq work done in a process's context is charged to that process (so to
    our children's rusage) while /proc/stat files it apart: leaving it out made a clean
    keep-alive run read as -0.6 CPUs of others, so a neighbour using up to that much of a
    CPU read as 0.00."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()
    return sum(int(f) for f in fields[1:4] + fields[6:8]) / os.sysconf("SC_CLK_TCK")


def children_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid):
    """utime + stime of one process from /proc/<pid>/stat: every thread of it, the exited
    ones included (the thread model's close-mode threads live one connection each). The
    kernel scales the total to the scheduler's exact runtime; only the unit (a clock tick,
    10 ms) is coarse, against seconds of CPU per run."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_pids(proc):
    """The server's processes: the one started (taskset execs it) and its children, i.e.
    nginx's master and worker; the worker does the serving, the master counts too."""
    children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
    return [proc.pid] + [int(pid) for pid in children.read_text().split()]


def server_cpu_seconds(pids):
    """CPU seconds of all the server's processes so far; read before and after a run (the
    processes outlive it), so only the difference means anything."""
    return sum(process_cpu_seconds(pid) for pid in pids)


def measured_wrk(proc, port, close):
    """The counted wrk run, with what each side spent on it: the server's CPU seconds
    (/proc), wrk's (its rusage: the only child reaped meanwhile) and the wall time, all over
    this run alone (not the warm-up). CPU per request is what compares two servers when
    wrk, on its one CPU, sets the pace: req/s then measures wrk."""
    pids = server_pids(proc)
    server, load, started = server_cpu_seconds(pids), children_seconds(), time.monotonic()
    out = wrk_output(port, SECONDS, close)
    wall = time.monotonic() - started
    server, load = server_cpu_seconds(pids) - server, children_seconds() - load
    rps, requests = wrk_counts(out)
    # Under a quota the server's whole CPU is the quota.
    return {"req/s": rps, "µs/req": server / requests * 1e6,
            "server busy": server / wall / (QUOTA or 1.0), "wrk busy": load / wall}


def measure_once(name, close, workdir):
    """The counted run (`measured_wrk`), and the CPUs other processes used meanwhile (all
    CPU time but ours)."""
    started, machine, ours = time.monotonic(), cpu_seconds(), children_seconds()
    proc, port = start(name, workdir)
    try:
        wrk(port, 1, close)  # warm-up
        run = measured_wrk(proc, port, close)
    finally:
        stop(proc)
    others = (cpu_seconds() - machine) - (children_seconds() - ours)
    return run, max(others, 0.0) / (time.monotonic() - started)


def measure(name, close, workdir):
    """`measure_once`, again (up to BENCH_RETRIES times) while other processes used more
    than BENCH_QUIET of a CPU meanwhile; the least disturbed run counts. Someone else's
    compile on one of the two CPUs moves a ratio by tens of percent."""
    runs = []
    for _ in range(1 + RETRIES):
        runs.append(measure_once(name, close, workdir))
        if runs[-1][1] <= QUIET:
            break
        print(f"  {name}: other processes used {runs[-1][1]:.2f} CPUs; again",
              file=sys.stderr)
    return min(runs, key=lambda run: run[1])


# Counted per process by `perf stat` (software events and tracepoints: no hardware
# counters needed). task-clock includes the kernel's network work done in the process's
# context (on loopback, a send also delivers the segment to the peer's socket).
COST_EVENTS = {
    "task-clock": "µs",
    "raw_syscalls:sys_enter": "syscalls",
    "syscalls:sys_enter_epoll_wait": "epoll_wait",
    "context-switches": "switches",
}


def perf_stat(output, control=None):
    """The `perf stat` prefix of a command; `control`: a folder for its control FIFOs (the
    counters start disabled, see `enable`)."""
    command = ["perf", "stat", "-x,", "-o", str(output), "-e", ",".join(COST_EVENTS)]
    if control:
        for fifo in ("ctl", "ack"):
            os.mkfifo(Path(control) / fifo)
        command += ["-D", "-1", "--control", f"fifo:{control}/ctl,{control}/ack"]
    return command + ["--"]


class PerfControl:
    """The control FIFOs of a `perf stat` started with `control`: `send("enable")`, then
    `send("disable")`, each waiting for perf's ack. (The FIFOs stay open in between: perf
    stops listening once the writer closes.)"""

    def __init__(self, control):
        self.ctl = open(Path(control) / "ctl", "w")
        self.ack = open(Path(control) / "ack")

    def send(self, command):
        self.ctl.write(command + "\n")
        self.ctl.flush()
        self.ack.readline()

    def close(self):
        self.ctl.close()
        self.ack.close()


def perf_counts(output):
    """The counts `perf stat -x,` wrote: `count,unit,event,...` lines."""
    counts = {}
    for line in Path(output).read_text().splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2] in COST_EVENTS:
            value = float(fields[0]) if fields[0][:1].isdigit() else float("nan")
            if fields[2] == "task-clock":
                value *= 1000  # msec -> µs
            counts[COST_EVENTS[fields[2]]] = value
    return counts


def costs_one(name, close, workdir):
    """One run of the server under `perf stat`, counting only while wrk runs (itself under
    `perf stat`); every count divided by the requests wrk completed."""
    control = tempfile.mkdtemp(dir=workdir)
    server_out, wrk_out = Path(control) / "server.csv", Path(control) / "wrk.csv"
    proc, port = start(name, workdir, perf_stat(server_out, control))
    try:
        wrk(port, 1, close)  # warm-up
        perf = PerfControl(control)
        perf.send("enable")
        out = wrk_output(port, SECONDS, close, perf_stat(wrk_out))
        perf.send("disable")
        perf.close()
    finally:
        stop(proc)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    row = {"req/s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for who, output in (("server", server_out), ("wrk", wrk_out)):
        for event, count in perf_counts(output).items():
            row[f"{who} {event}"] = count / requests
        # Which side was the bottleneck: the share of its CPU each process used.
        row[f"{who} busy"] = row[f"{who} µs"] * row["req/s"] / 1e6
    return row


# Where a profile's samples go, by symbol (first match wins); user space is every sample
# outside the kernel. Loopback TCP includes the peer's receive path and waking it up: on
# loopback a send runs the receiving side in the sender's context. (Without hardware
# counters, samples taken with interrupts off land where they are turned back on: most of
# `_raw_spin_unlock_irqrestore` is the wake-up of the peer in the send path.)
PROFILE_GROUPS = [
    ("netfilter (iptables, conntrack)", re.compile(r"^(ipt_|nf_|nft_|__nf_|ipv4_conntrack)")),
    ("scheduler, context switches", re.compile(
        r"(schedule|switch|finish_task|pick_next|(en|de)queue_(task|entity)|ttwu|try_to_wake"
        r"|wake_up_new|update_curr|update_load|sched_|psi_|place_entity|reweight|set_next"
        r"|put_prev)")),
    ("epoll", re.compile(r"(^ep_|epoll)")),
    ("system call entry and exit", re.compile(
        r"(do_syscall|entry_SYSCALL|syscall_exit|syscall_return|__x64_sys|x64_sys_call|^__sys_"
        r"|fdget|fput|__fget|srso|return_thunk|retbleed|import_ubuf|check_object_size"
        r"|virt_addr_valid|__get_user|__put_user|rseq|irqentry_exit)")),
    ("thread and memory management", re.compile(
        r"(clone|copy_process|mmap|munmap|mprotect|vma|^clear_page|alloc_pages|free_pages"
        r"|get_page_from|^folio|^__folio|tlb|^exit_|do_exit|futex|madvise|sigaltstack)")),
]
PROFILE_GROUPS.append(("TCP/IP, sockets (both ends of loopback)", re.compile(
    r"(tcp|^ip|^__ip|inet|skb|sock|^sk_|^__sk|^net|napi|netif|^dev_|^__dev|loopback|copy"
    r"|bbr|^__local_bh|^kfree|^kmem|^__kmalloc|^kmalloc|^__alloc_skb|^dst_|^validate_xmit"
    r"|backlog|local_deliver|eth_type_trans|softirq|_bh$|__wake_up|wait_woken|siphash|slab"
    r"|mod_timer|^_raw_spin_unlock_irqrestore$)")))
# Reading the clock: packet timestamps, TCP's RTT and timers, the server's own clock reads.
PROFILE_GROUPS.append(("clock reads", re.compile(r"(read_tsc|ktime_get|clocksource)")))
KERNEL_REST = "other kernel (interrupts-off time, timers, ...)"
USER = "user space (server, libc)"


def profile_one(name, close, workdir):
    """`perf record` of the server while wrk runs: sample shares by group."""
    control = tempfile.mkdtemp(dir=workdir)
    data = Path(control) / "perf.data"
    for fifo in ("ctl", "ack"):
        os.mkfifo(Path(control) / fifo)
    prefix = ["perf", "record", "-q", "-e", "cpu-clock", "-F", "4000", "-o", str(data),
              "-D", "-1", "--control", f"fifo:{control}/ctl,{control}/ack", "--"]
    proc, port = start(name, workdir, prefix)
    try:
        wrk(port, 1, close)  # warm-up
        perf = PerfControl(control)
        perf.send("enable")
        wrk(port, SECONDS, close)
        perf.send("disable")
        perf.close()
    finally:
        stop(proc)
    report = subprocess.run(
        ["perf", "report", "-i", str(data), "--stdio", "--no-children", "-g", "none",
         "--sort", "dso,sym", "--percent-limit", "0"],
        capture_output=True, text=True, check=True).stdout
    shares = {}
    for line in report.splitlines():
        match = re.match(r"\s+([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(\S+)", line)
        if not match:
            continue
        share, kind, symbol = float(match.group(1)), match.group(3), match.group(4)
        if kind != "k":
            group = USER
        else:
            group = next((g for g, pattern in PROFILE_GROUPS if pattern.search(symbol)),
                         KERNEL_REST)
        shares[group] = shares.get(group, 0.0) + share
    return shares


def profile(names):
    if not shutil.which("perf"):
        sys.exit("bench: `perf` is not on PATH")
    groups = [group for group, _ in PROFILE_GROUPS] + [KERNEL_REST, USER]
    lines = [f"perf record -e cpu-clock -F 4000 of each server (CPU {SERVER_CPU}) while wrk "
             f"-t1 -c100 -d{SECONDS}s runs (CPU {LOAD_CPU}): % of the server's samples; "
             f"load average before {LOAD_BEFORE:.1f}", "",
             "| connections | server | " + " | ".join(groups) + " |",
             "|---|---|" + "---:|" * len(groups)]
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as workdir:
        for close in (False, True):
            for name in names:
                shares = profile_one(name, close, workdir)
                lines.append(f"| {'close' if close else 'keep-alive'} | {name} | "
                             + " | ".join(f"{shares.get(g, 0.0):.0f}" for g in groups) + " |")
                print(lines[-1], file=sys.stderr)
    return "\n".join(lines) + "\n"


def costs(names):
    if not shutil.which("perf"):
        sys.exit("bench: `perf` is not on PATH")
    # Kernel tracepoints (system calls) need root or a permissive perf_event_paranoid.
    results = {}  # (close, name) -> [row per round]
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as workdir:
        for round_ in range(ROUNDS):
            order = names[round_ % len(names):] + names[:round_ % len(names)]
            for close in (False, True):
                for name in order:
                    row = costs_one(name, close, workdir)
                    results.setdefault((close, name), []).append(row)
                    print(f"round {round_ + 1} {'close' if close else 'keep-alive'} {name}: "
                          f"{row['server µs']:.2f} µs/req, {row['server syscalls']:.2f} "
                          f"syscalls/req", file=sys.stderr)
    columns = ["server µs", "server syscalls", "server epoll_wait", "server switches",
               "server busy", "wrk µs", "wrk syscalls", "wrk busy", "req/s"]
    lines = [f"perf stat per process: the server on CPU {SERVER_CPU}, wrk -t1 -c100 -d{SECONDS}s "
             f"on CPU {LOAD_CPU}; counts per request, median of {ROUNDS} interleaved rounds "
             f"(µs: task-clock); load average "
             f"before {LOAD_BEFORE:.1f}, at the end {os.getloadavg()[0]:.1f}", "",
             "| connections | server | " + " | ".join(columns) + " |",
             "|---|---|" + "---:|" * len(columns)]
    for close in (False, True):
        for name in names:
            rows = results[(close, name)]
            cells = [statistics.median(r[c] for r in rows) for c in columns]
            lines.append(f"| {'close' if close else 'keep-alive'} | {name} | "
                         + " | ".join(f"{v:,.0f}" if c == "req/s" else f"{v:.2f}"
                                      for c, v in zip(columns, cells)) + " |")
    return "\n".join(lines) + "\n"


def main():
    unknown = [a for a in sys.argv[1:] if a not in ("--costs", "--profile", "--floor")]
    if unknown == ["--help"]:
        print(__doc__)
        return
    if unknown:
        sys.exit(f"bench: unknown argument {unknown[0]!r} (known: --floor, --costs, --profile, --help)")
    for tool in ("nginx", "wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"bench: `{tool}` is not on PATH")
    for name in ("async", "thread"):
        if not (RELEASE / f"server-{name}").exists():
            sys.exit("bench: build the servers first: cargo build --release -p server")
    names = ["nginx", "async", "thread"] + (["async-base", "thread-base"] if BASELINE else [])
    if "--floor" in sys.argv[1:]:
        if not (RELEASE / "examples" / "floor").exists():
            sys.exit("bench: build the floors first: cargo build --release -p server --examples")
        names += ["async-floor", "tokio-floor", "thread-floor"]
    if QUOTA:
        global QUOTA_CGROUP, QUOTA_PROCS
        if not 0.01 <= QUOTA <= 1:
            sys.exit(f"bench: BENCH_CPU_QUOTA={QUOTA}: give a share of one CPU, 0.01 to 1")
        try:
            QUOTA_CGROUP = quota_cgroup()
        except OSError as err:
            sys.exit(f"bench: cannot make a cgroup for BENCH_CPU_QUOTA (root needed): {err}")
        QUOTA_PROCS = QUOTA_CGROUP / "cgroup.procs"
    try:
        for flag, measure_all, file in (("--costs", costs, "costs.md"),
                                        ("--profile", profile, "profile.md"),
                                        (None, run_rounds, "bench.md")):
            if flag is None or flag in sys.argv[1:]:
                table = measure_all(names)
                out = ROOT / "target" / "bench" / file
                out.parent.mkdir(parents=True, exist_ok=True)
                out.write_text(table)
                print(table)
                return
    finally:
        if QUOTA_CGROUP:
            QUOTA_CGROUP.rmdir()


def run_rounds(names):
    """The interleaved rounds; returns the table."""
    results = {}  # (mode, name) -> [`measured_wrk` run per round]
    disturbed = 0.0  # the most CPU other processes used during a counted run
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as workdir:
        for round_ in range(ROUNDS):
            order = names[round_ % len(names):] + names[:round_ % len(names)]
            for close in (False, True):
                for name in order:
                    run, others = measure(name, close, workdir)
                    results.setdefault((close, name), []).append(run)
                    disturbed = max(disturbed, others)
                    print(f"round {round_ + 1} {'close' if close else 'keep-alive'} "
                          f"{name}: {run['req/s']:,.0f} req/s, {run['µs/req']:.2f} µs/req, "
                          f"busy server {run['server busy']:.2f} wrk {run['wrk busy']:.2f} "
                          f"(others: {others:.2f} CPUs)", file=sys.stderr)
    return render(results, names, disturbed)


# A side using at least this share of its CPU over a run is taken as the one that set the pace.
BUSY = 0.9


def limited_by(runs):
    """What set the pace of a server's runs: `server` when the server was busy (≥ BUSY of
    its CPU) in most rounds, `wrk` when wrk was and the server not, else `neither`; with
    the median busy shares, so the reader can judge a near miss."""
    server = statistics.median(r["server busy"] for r in runs)
    load = statistics.median(r["wrk busy"] for r in runs)
    if sum(r["server busy"] >= BUSY for r in runs) * 2 > len(runs):
        return f"server ({server:.2f} vs wrk {load:.2f})"
    if sum(r["wrk busy"] >= BUSY for r in runs) * 2 > len(runs):
        return f"wrk ({load:.2f} vs server {server:.2f})"
    return f"neither (wrk {load:.2f}, server {server:.2f})"


def ratio_cells(ratios):
    """Median and range of per-round ratios: each round is one sample, taken under the
    same neighbours for every server."""
    return f"{statistics.median(ratios):.2f} | {min(ratios):.2f}–{max(ratios):.2f}"


def render_row(close, name, runs, base):
    """One table row: req/s against nginx's in the same rounds, CPU per request against
    nginx's (nginx's µs ÷ the server's: > 1 is less CPU than nginx), and what limited it."""
    rps = [r["req/s"] / b["req/s"] for r, b in zip(runs, base)]
    cpu = [b["µs/req"] / r["µs/req"] for r, b in zip(runs, base)]
    return (f"| {'close' if close else 'keep-alive'} | {name} | "
            f"{statistics.median(r['req/s'] for r in runs):,.0f} | {ratio_cells(rps)} | "
            f"{statistics.median(r['µs/req'] for r in runs):.2f} | {ratio_cells(cpu)} | "
            f"{limited_by(runs)} |")


def render(results, names, disturbed):
    """The table. The req/s ratio is kept, but on two CPUs wrk needs about as much CPU per
    request as a server, so where wrk is the busy side that ratio compares wrk's runs, not
    the servers; the CPU-per-request ratio holds either way."""
    quota = (f" under a CPU quota of {QUOTA} (cgroup, {PERIOD_US // 1000} ms period; a server's "
             f"busy share is of its quota)" if QUOTA else "")
    lines = [f"wrk -t1 -c100 -d{SECONDS}s on CPU {LOAD_CPU}, each server on CPU {SERVER_CPU}{quota}, "
             f"{ROUNDS} interleaved rounds; load average before {LOAD_BEFORE:.1f}, at the end "
             f"{os.getloadavg()[0]:.1f}; other processes used at most {disturbed:.2f} CPUs "
             f"during a counted run", "",
             f"Where wrk limited a row's runs (wrk busy ≥ {BUSY} of its CPU, the server "
             f"not), that row's req/s measures wrk, not the server, and so does every req/s "
             f"ratio it enters (nginx's row enters all of them); the ratio by CPU per request "
             f"(server CPU seconds from /proc over the counted wrk run ÷ requests wrk "
             f"completed) is the comparison that holds then. \"limited by\": the side busy "
             f"≥ {BUSY} of its CPU in most rounds (median busy shares).", "",
             "| connections | server | req/s (median) | × nginx (median) | × nginx (range) "
             "| server CPU µs/request (median) | × nginx by CPU per request (median) "
             "| × nginx by CPU per request (range) | limited by |",
             "|---|---|---:|---:|---|---:|---:|---|---|"]
    for close in (False, True):
        for name in names:
            lines.append(render_row(close, name, results[(close, name)],
                                    results[(close, "nginx")]))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
