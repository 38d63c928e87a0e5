#!/usr/bin/env python3
"""`just bench`: the two servers against nginx, on loopback, pinned (issue 24).

Each server (nginx 1.x with one worker and a generated config; server-async; server-thread,
both from target/release) runs on CPU 0 and `wrk -t1 -c100` on CPU 1 against `/`, with
keep-alive and with `Connection: close`. Rounds interleave the servers, so that a noisy
neighbour hits all of them alike; each round's ratio to nginx is one sample. Prints a
Markdown table (median req/s, median ratio to nginx and the range of the per-round ratios)
and writes it to target/bench/bench.md. A benchmark, not a test: nothing is asserted.

Environment: BENCH_ROUNDS (default 3), BENCH_SECONDS (default 5).
"""

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "5"))
SERVER_CPU, LOAD_CPU = "0", "1"

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


def start(name, workdir):
    port = free_port()
    if name == "nginx":
        conf = Path(workdir) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=workdir, port=port))
        command = ["nginx", "-c", str(conf), "-p", workdir]
    else:
        command = [str(RELEASE / f"server-{name}"), "--port", str(port), "--bind", "127.0.0.1"]
    proc = subprocess.Popen(["taskset", "-c", SERVER_CPU] + command,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listening(port, proc)
    return proc, port


def wrk(port, seconds, close):
    command = ["taskset", "-c", LOAD_CPU, "wrk", "-t1", "-c100", f"-d{seconds}s"]
    if close:
        command += ["-H", "Connection: close"]
    out = subprocess.run(command + [f"http://127.0.0.1:{port}/"],
                         capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        sys.exit(f"bench: no Requests/sec in wrk's output:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        sys.exit(f"bench: {errors.group(1)} non-2xx responses")
    return float(match.group(1))


def measure(name, close, workdir):
    proc, port = start(name, workdir)
    try:
        wrk(port, 1, close)  # warm-up
        return wrk(port, SECONDS, close)
    finally:
        proc.terminate()
        proc.wait()


def main():
    for tool in ("nginx", "wrk", "taskset"):
        if not shutil.which(tool):
            sys.exit(f"bench: `{tool}` is not on PATH")
    for name in ("async", "thread"):
        if not (RELEASE / f"server-{name}").exists():
            sys.exit("bench: build the servers first: cargo build --release -p server")
    names = ["nginx", "async", "thread"]
    results = {}  # (mode, name) -> [req/s per round]
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as workdir:
        for round_ in range(ROUNDS):
            order = names[round_ % 3:] + names[:round_ % 3]
            for close in (False, True):
                for name in order:
                    rps = measure(name, close, workdir)
                    results.setdefault((close, name), []).append(rps)
                    print(f"round {round_ + 1} {'close' if close else 'keep-alive'} "
                          f"{name}: {rps:,.0f} req/s", file=sys.stderr)
    table = render(results, names)
    out = ROOT / "target" / "bench" / "bench.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    print(table)


def render(results, names):
    lines = [f"wrk -t1 -c100 -d{SECONDS}s on CPU {LOAD_CPU}, each server on CPU {SERVER_CPU}, "
             f"{ROUNDS} interleaved rounds; load average at the end "
             f"{os.getloadavg()[0]:.1f}", "",
             "| connections | server | req/s (median) | × nginx (median) | × nginx (range) |",
             "|---|---|---:|---:|---|"]
    for close in (False, True):
        base = results[(close, "nginx")]
        for name in names:
            rps = results[(close, name)]
            ratios = [r / b for r, b in zip(rps, base)]
            lines.append(f"| {'close' if close else 'keep-alive'} | {name} | "
                         f"{statistics.median(rps):,.0f} | {statistics.median(ratios):.2f} | "
                         f"{min(ratios):.2f}–{max(ratios):.2f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
