# The lab: each recipe is a thin call into cargo or the `lab` binary.
# `just --list` shows them all.

lab_bin := "cargo run -q -p loadgen --bin lab --"

# Run an experiment (default lab.yaml) and write results/<run-id>/report.md
lab file="lab.yaml":
    {{lab_bin}} run {{file}}

# Find the smallest CPU and memory limits that meet the file's `tune:` targets (see README "Tuning limits")
tune file:
    {{lab_bin}} tune {{file}}

# Validate a lab file and print its plan (no Docker needed)
check file="lab.yaml":
    {{lab_bin}} check {{file}}

# Build the server images (and resolve the ab image) the lab file needs, offline
images file="lab.yaml":
    {{lab_bin}} images {{file}}

# Re-render the reports of a run from its results.json
report dir:
    {{lab_bin}} report {{dir}}

# Compare two runs (req/s and p99 per cell)
compare a b *args:
    {{lab_bin}} compare {{a}} {{b}} {{args}}

# Join a split sweep's shard run folders into one run (see README "Big sweeps")
merge output *dirs:
    {{lab_bin}} merge {{dirs}} --output {{output}}

# Each shard's points and wall time, or with `--emit slurm|kubernetes|github` a job definition
shards file count *args:
    {{lab_bin}} shards {{file}} --count {{count}} {{args}}

# Parse a saved ab output into JSON
parse-ab file:
    {{lab_bin}} parse-ab {{file}}

# The lab's own overhead per cell: 40 tiny cells, then the overhead line (see README)
overhead:
    {{lab_bin}} run examples/overhead.yaml

# Remove containers and networks left behind by lab runs
clean:
    {{lab_bin}} clean

# The servers against nginx on loopback, pinned, with and without keep-alive (a benchmark, not a test)
bench *args:
    cargo build -q --release -p server --bins --examples
    python3 scripts/bench.py {{args}}

# Every test: unit, real sockets, real ab, real Docker (CI=true makes missing tools fatal)
test:
    cargo test --workspace --no-fail-fast

# Formatting and lints, as CI expects them
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Exit codes 3 ("some cells failed") and 4 ("a threshold failed") are results: the memory
# example OOM-kills on purpose, and examples/ci.yaml's thresholds are this machine's.
# Run every example lab file
examples:
    for f in examples/*.yaml; do {{lab_bin}} run "$f"; rc=$?; [ $rc -eq 0 ] || [ $rc -eq 3 ] || [ $rc -eq 4 ] || exit $rc; done

# Run lab.yaml and every example, then refresh FINDINGS.md and docs/findings/ from those runs
findings:
    {{lab_bin}} run lab.yaml; rc=$?; [ $rc -eq 0 ] || [ $rc -eq 3 ] || [ $rc -eq 4 ] || exit $rc
    for f in examples/*.yaml; do {{lab_bin}} run "$f"; rc=$?; [ $rc -eq 0 ] || [ $rc -eq 3 ] || [ $rc -eq 4 ] || exit $rc; done
    for f in examples/*.yaml; do if grep -q '^tune:' "$f"; then {{lab_bin}} tune "$f" || exit $?; fi; done
    python3 scripts/findings.py
