#!/usr/bin/env bash
# `make bench`: every benchmark in one run on this machine, results in bench/results/*.json.
# Ratios are always measured side by side inside one script, never across runs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
py="$root/.venv/bin/python"
mkdir -p bench/results
bash deploy/local/stack.sh up >/dev/null
for name in sentiment locality ingest pipeline erasure communities incidents; do
  script="bench/bench_${name}.py"
  [[ -f "$script" ]] || continue
  echo "== $script"
  "$py" -m "bench.bench_${name}" --out "bench/results/${name}.json"
done
echo "results: $root/bench/results/"
