#!/usr/bin/env python3
"""Refresh FINDINGS.md from the newest run of each example.

For lab.yaml and every examples/<name>.yaml with a run under results/, copy that run's reports, data and
raw ab output into docs/findings/<name>/, then replace the text between
`<!-- results:<name> -->` and `<!-- /results:<name> -->` in FINDINGS.md with the run's
comparison tables (taken verbatim from its report.md) and the machine it ran on. Numbers are
never typed in by hand: rerun `just findings` and they change with the runs.

Lab files with a `tune:` section also have `lab tune` answers: the newest complete tune folder
(`results/<time>-<name>-tune/`) is copied into docs/findings/<name>-tune/ and its answers
(the per-target tables, the limits to paste) replace the text between `<!-- tune:<name> -->`
and `<!-- /tune:<name> -->`.

`--from-docs`: copy nothing; splice FINDINGS.md from docs/findings/ as it stands. For a change
to how reports render (no new measurement): re-render docs/findings in place with
`LAB_RERENDER_FINDINGS=1 cargo test -p loadgen --test findings_render`, then run this.
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


def newest_tune(name: str):
    runs = sorted(p for p in (ROOT / "results").glob(f"*-{name}-tune") if (p / "tune.json").exists())
    complete = [p for p in runs if json.loads((p / "tune.json").read_text()).get("status") == "complete"]
    return complete[-1] if complete else None


def tune_sections(report: str, name: str) -> str:
    """The tune report's target sections (without their probe tables) and its snippets,
    with links and charts pointing into docs/findings/<name>-tune/."""
    parts = re.split(r"(?m)^## ", report)
    keep = []
    for p in parts[1:]:
        p = re.split(r"(?m)^### Probes", p)[0].strip()
        keep.append("#### " + p)
    text = "\n\n".join(keep)
    return re.sub(r"\]\((charts|probes)/", rf"](docs/findings/{name}-tune/\1/", text)


def tune_findings(text: str, lab: pathlib.Path, from_docs: bool) -> str:
    if not re.search(r"(?m)^tune:", lab.read_text()):
        return text
    name = lab_name(lab)
    dest = ROOT / "docs" / "findings" / f"{name}-tune"
    if from_docs:
        return splice_tune(text, name, dest) if (dest / "tune.json").exists() else text
    run = newest_tune(name)
    if run is None:
        print(f"{name}: no complete tune folder under results/, left as is", file=sys.stderr)
        return text
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for f in ["tune.md", "tune.html", "tune.json", "lab.yaml"]:
        if (run / f).exists():
            shutil.copy2(run / f, dest / f)
    if (run / "charts").exists():
        shutil.copytree(run / "charts", dest / "charts")
    # Each probe's evidence, which tune.md links: its report, record and raw ab output.
    for probe in sorted((run / "probes").glob("*")):
        pdest = dest / "probes" / probe.name
        pdest.mkdir(parents=True)
        for f in ["report.md", "results.json", "meta.json"]:
            if (probe / f).exists():
                shutil.copy2(probe / f, pdest / f)
        if (probe / "raw").exists():
            shutil.copytree(probe / "raw", pdest / "raw")
    return splice_tune(text, name, run)


def splice_tune(text: str, name: str, run: pathlib.Path) -> str:
    """Replace the tune:<name> section with the answers of the tune folder `run`."""
    record = json.loads((run / "tune.json").read_text())
    body = (f"Tune `{record.get('id')}`: {record.get('probes_used')} probes in {record.get('elapsed_s', 0):.0f} s. "
            f"Full report with every probe: [tune.md](docs/findings/{name}-tune/tune.md) "
            f"([HTML](docs/findings/{name}-tune/tune.html)).\n\n"
            + tune_sections((run / "tune.md").read_text(), name))
    pattern = re.compile(rf"(<!-- tune:{re.escape(name)} -->\n).*?(<!-- /tune:{re.escape(name)} -->)", re.S)
    if not pattern.search(text):
        print(f"{name}: FINDINGS.md has no tune:{name} markers", file=sys.stderr)
        return text
    print(f"{name}: {run.name}")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def splice_run(text: str, name: str, run: pathlib.Path) -> str:
    """Replace the results:<name> section with the comparison tables of the run folder `run`."""
    meta = json.loads((run / "meta.json").read_text())
    body = (f"{machine(meta)} Full report: [report.md](docs/findings/{name}/report.md) "
            f"([HTML](docs/findings/{name}/report.html)); raw load tool output in "
            f"[docs/findings/{name}/raw/](docs/findings/{name}/raw/).\n\n"
            + comparison_sections((run / "report.md").read_text()))
    pattern = re.compile(rf"(<!-- results:{re.escape(name)} -->\n).*?(<!-- /results:{re.escape(name)} -->)", re.S)
    if not pattern.search(text):
        print(f"{name}: FINDINGS.md has no results:{name} markers", file=sys.stderr)
        return text
    print(f"{name}: {run.name}")
    return pattern.sub(lambda m: m.group(1) + body + "\n" + m.group(2), text)


def main() -> int:
    from_docs = "--from-docs" in sys.argv[1:]
    findings = ROOT / "FINDINGS.md"
    text = findings.read_text()
    for lab in [ROOT / "lab.yaml"] + sorted((ROOT / "examples").glob("*.yaml")):
        text = tune_findings(text, lab, from_docs)
        name = lab_name(lab)
        dest = ROOT / "docs" / "findings" / name
        if from_docs:
            if (dest / "report.md").exists():
                text = splice_run(text, name, dest)
            continue
        run = newest_run(name)
        if run is None:
            print(f"{name}: no complete run under results/, left as is", file=sys.stderr)
            continue
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for f in KEEP:
            if (run / f).exists():
                shutil.copy2(run / f, dest / f)
        for d in ["charts", "raw"]:
            if (run / d).exists():
                shutil.copytree(run / d, dest / d)
        text = splice_run(text, name, run)
    findings.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
