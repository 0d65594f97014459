"""The fault suite (``make chaos``): every scenario of devkit.chaos on a stack of its own.

    python -m bench.bench_chaos --out bench/results/chaos.json [--only kafka_killed ...]

Starts a second local stack (ports 29092/29200, state under $EARSHOT_CACHE/chaos-stack:
never the shared 19092/19200 one, whose servers scenarios would otherwise kill),
runs each scenario in its own topics and indices, and writes after each one what it
measured and whether the targets held: 0 missing, 0 duplicate documents, 0 duplicate
emails, processing resumed within 15 s. The stack is reset at the end unless
``--keep-stack``. Times depend on machine load (recorded); run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devkit.chaos.rig import Load, StackControl
from devkit.chaos.scenarios import SCENARIOS, run
from devkit.stack import other_stack, parse_env, run_stack

RESUME_TARGET_S = 15.0
# Scenarios whose resume time is the worker's: Faust group join and partition takeover
# are being made fast in the pipeline work of the same issue.
WORKER_SIDE = {
    "worker_killed",
    "worker_killed_twice",
    "one_of_two_workers_killed",
    "elasticsearch_killed",
    "kafka_killed",
}


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    """Which targets the scenario met (a missing figure is not a pass)."""
    resume = result.get("time_to_resume_s")
    if "sigterm" in result:
        checks = {
            "exited_within_10s": result["slowest_exit_s"] <= 10,
            "exit_code_0": result["all_exited_cleanly"],
        }
        return {"targets": checks, "all_targets_met": all(checks.values())}
    checks = {
        "no_missing_documents": result.get("missing", 0) == 0,
        "no_duplicate_documents": result.get("duplicate_documents", 0) == 0,
        "no_duplicate_emails": result.get("duplicate_emails", 0) == 0,
        "no_missing_emails": result.get("missing_emails", 0) == 0,
        "resumed_within_15s": resume is not None and resume <= RESUME_TARGET_S,
    }
    return {"targets": checks, "all_targets_met": all(checks.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/chaos.json"))
    parser.add_argument("--only", nargs="*", choices=sorted(SCENARIOS), default=None)
    parser.add_argument("--mentions", type=int, default=900)
    parser.add_argument("--rate", type=float, default=30.0)
    parser.add_argument("--kafka-port", type=int, default=29092)
    parser.add_argument("--es-port", type=int, default=29200)
    cache = Path(os.environ.get("EARSHOT_CACHE", Path.home() / ".cache" / "earshot"))
    parser.add_argument("--stack-dir", type=Path, default=cache / "chaos-stack")
    parser.add_argument("--workdir", type=Path, default=Path("var/chaos"))
    parser.add_argument(
        "--keep-stack", action="store_true", help="do not reset the stack at the end"
    )
    args = parser.parse_args()
    if {args.kafka_port, args.es_port} & {19092, 19200}:
        parser.error(
            "the fault suite kills servers: give it ports of its own, not the shared stack's"
        )

    environ = other_stack(args.kafka_port, args.es_port, args.stack_dir)
    up = run_stack("up", environ=environ)
    if up.returncode != 0:
        raise SystemExit(f"the suite's stack did not come up:\n{up.stderr[-3000:]}")
    addresses = parse_env(up.stdout)
    kafka, es_url = addresses["EARSHOT_KAFKA_BOOTSTRAP"], addresses["EARSHOT_ES_URL"]
    stack = StackControl(environ)
    load = Load(mentions=args.mentions, rate=args.rate)
    names = args.only or list(SCENARIOS)
    report: dict[str, Any] = {
        "benchmark": "chaos",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_1m_at_start": round(os.getloadavg()[0], 2),
        },
        "load": {"mentions": load.mentions, "rate_per_s": load.rate, "strike_at": load.kill_at},
        "stack": {"kafka": kafka, "elasticsearch": es_url, "dir": str(args.stack_dir)},
        "scenarios": [],
    }
    earlier: list[dict[str, Any]] = []
    fresh: list[dict[str, Any]] = []
    if args.only and args.out.exists():  # a partial run replaces its scenarios, keeps the rest
        earlier = json.loads(args.out.read_text()).get("scenarios", [])
    try:
        for name in names:
            print(f"== {name}", flush=True)
            try:
                result = run(name, kafka, es_url, args.workdir, load, stack)
            except Exception as exc:  # one broken scenario must not hide the others' results
                result = {"scenario": name, "error": f"{type(exc).__name__}: {exc}"[:4000]}
            result |= verdict(result) if "error" not in result else {"all_targets_met": False}
            result["depends_on_pipeline_work"] = name in WORKER_SIDE
            result["load_1m_after"] = round(os.getloadavg()[0], 2)
            result["when"] = datetime.now(UTC).isoformat(timespec="seconds")
            fresh.append(result)
            ran = {r["scenario"] for r in fresh}
            order = list(SCENARIOS)
            report["scenarios"] = sorted(
                [r for r in earlier if r.get("scenario") not in ran] + fresh,
                key=lambda r: order.index(r["scenario"]) if r.get("scenario") in order else 99,
            )
            print(json.dumps({k: v for k, v in result.items() if k != "events"}), flush=True)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(report, indent=1) + "\n")
    finally:
        if not args.keep_stack:
            run_stack("reset", environ=environ)


if __name__ == "__main__":
    main()
