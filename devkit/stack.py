"""The local stack (``deploy/local/stack.sh``) seen from Python: its addresses, pids and state."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STACK_SCRIPT = ROOT / "deploy" / "local" / "stack.sh"
ADDRESS_KEYS = ("EARSHOT_KAFKA_BOOTSTRAP", "EARSHOT_ES_URL")


def run_stack(
    command: str, timeout: float = 900, environ: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``stack.sh <command>`` and return what it printed (never raises on failure).

    ``environ`` (e.g. :func:`other_stack`) targets another stack than the default one.
    """
    return subprocess.run(
        ["bash", str(STACK_SCRIPT), command],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,
        env=dict(os.environ if environ is None else environ),
    )


def other_stack(kafka_port: int, es_port: int, stack_dir: Path) -> dict[str, str]:
    """The environment of a second stack on its own ports and state dir (for fault tests:
    a stack whose servers may be killed without touching the shared one)."""
    return {
        **os.environ,
        "EARSHOT_LOCAL_KAFKA_PORT": str(kafka_port),
        "EARSHOT_LOCAL_ES_PORT": str(es_port),
        "EARSHOT_STACK_DIR": str(stack_dir),
    }


def parse_env(output: str) -> dict[str, str]:
    """The ``EARSHOT_*=value`` lines of ``stack.sh env`` output."""
    pairs = (line.split("=", 1) for line in output.splitlines() if line.startswith("EARSHOT_"))
    return {key: value for key, value in pairs}


def stack_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Kafka's and Elasticsearch's addresses: ``EARSHOT_*`` already set win over ``stack.sh env``."""
    environ = os.environ if environ is None else environ
    given = {k: v for k, v in environ.items() if k.startswith("EARSHOT_")}
    if all(key in given for key in ADDRESS_KEYS):
        return dict(given)
    return {**parse_env(run_stack("env").stdout), **given}


def state_file(environ: Mapping[str, str] | None = None) -> Path:
    """Where ``stack.sh up`` records what it started."""
    environ = os.environ if environ is None else environ
    cache = Path(environ.get("EARSHOT_CACHE", Path.home() / ".cache" / "earshot"))
    return Path(environ.get("EARSHOT_STACK_DIR", cache / "run")) / "stack.state"


def stack_pids(environ: Mapping[str, str] | None = None) -> dict[str, int]:
    """Kafka's and Elasticsearch's pids, from the state file ``stack.sh up`` writes."""
    lines = state_file(environ).read_text().splitlines()
    values = dict(line.split("=", 1) for line in lines if "=" in line)
    return {"kafka": int(values["kafka_pid"]), "elasticsearch": int(values["es_pid"])}
