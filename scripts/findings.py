#!/usr/bin/env python3
"""Refresh FINDINGS.md from the newest run of each example.

For lab.yaml and every examples/<name>.yaml with a run under results/, copy that run's reports, data and
raw ab output into docs/findings/<name>/, then replace the text between
`<!-- results:<name> -->` and `<!-- /results:<name> -->` in FINDINGS.md with the run's
comparison tables (taken verbatim from its report.md) and the machine it ran on. Numbers are
never typed in by hand: rerun `just findings` and they change with the runs.
"""

import json
import pathlib
import re
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
KEEP = ["report.md", "report.html", "results.json", "results.csv", "meta.json", "lab.yaml"]


def lab_name(path: pathlib.Path) -> str:
    for line in path.read_text().splitlines():
        m = re.match(r"^name:\s*(\S+)", line)
        if m:
            return m.group(1)
    raise SystemExit(f"{path}: no name")


def newest_run(name: str):
    runs = sorted(p for p in (ROOT / "results").glob(f"*-{name}") if (p / "results.json").exists())
    complete = [p for p in runs if json.loads((p / "results.json").read_text()).get("status") == "complete"]
    return complete[-1] if complete else None


def comparison_sections(report: str) -> str:
    """The report's comparison tables, then its evidence tables (folded, as in the report)."""
    parts = re.split(r"(?m)^## ", report)
    keep = ["#### " + p.strip() for p in parts if p.startswith("Comparison")]
    evidence = re.findall(r"(?s)<details><summary>Evidence for.*?</details>", report)
    return "\n\n".join(keep + evidence)


def machine(meta: dict) -> str:
    d = meta.get("docker", {})
    return (f"Run `{meta.get('run_id')}` on {meta.get('host_cpus')} CPUs ({meta.get('host_cpu_model')}), "
            f"kernel {meta.get('host_kernel')}, Docker {d.get('version')} (cgroup v{d.get('cgroup_version')}), "
            f"{tool_version(meta.get('ab_version', ''))}; load average {meta.get('load_average_start')} at start.")


def tool_version(line: str) -> str:
    """`ab 2.3` from ab's `-V` line, `oha 1.16.0` from oha's `--version` (open-loop runs)."""
    m = re.match(r"oha (\S+)", line.strip())
    if m:
        return f"oha {m.group(1)}"
    m = re.search(r"Version (\S+)", line)
    return f"ab {m.group(1) if m else '?'}"


def main() -> int:
    findings = ROOT / "FINDINGS.md"
    text = findings.read_text()
    for lab in [ROOT / "lab.yaml"] + sorted((ROOT / "examples").glob("*.yaml")):
        name = lab_name(lab)
        run = newest_run(name)
        if run is None:
            print(f"{name}: no complete run under results/, left as is", file=sys.stderr)
            continue
        dest = ROOT / "docs" / "findings" / name
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for f in KEEP:
            if (run / f).exists():
                shutil.copy2(run / f, dest / f)
        for d in ["charts", "raw"]:
            if (run / d).exists():
                shutil.copytree(run / d, dest / d)
        meta = json.loads((run / "meta.json").read_text())
        body = (f"{machine(meta)} Full report: [report.md](docs/findings/{name}/report.md) "
                f"([HTML](docs/findings/{name}/report.html)); raw load tool output in "
                f"[docs/findings/{name}/raw/](docs/findings/{name}/raw/).\n\n"
                + comparison_sections((run / "report.md").read_text()))
        pattern = re.compile(rf"(<!-- results:{re.escape(name)} -->\n).*?(<!-- /results:{re.escape(name)} -->)", re.S)
        if not pattern.search(text):
            print(f"{name}: FINDINGS.md has no results:{name} markers", file=sys.stderr)
            continue
        text = pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)
        print(f"{name}: {run.name}")
    findings.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
