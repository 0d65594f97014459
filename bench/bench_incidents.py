"""Incident folding: precision and recall on the cross-post sets, and matching cost.

    python -m bench.bench_incidents --out bench/results/incidents.json

Each labelled pair of ``devkit/crossposts/{dev,check}.yaml`` is judged by the
notifier's own rule (:func:`services.notifier.incidents.same_incident`, text
only: no ward is given, the harder case). Precision is the share of merged
pairs that are one incident (1.0 = nothing unrelated merged); recall the share
of one-incident pairs merged. Thresholds were chosen on ``dev``; ``check`` was
written apart and only measured. Cost: sketching and matching alerts against a
department window of ``--window`` earlier incidents, CPU time (shared machine).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common.nearcopy import containment, jaccard, sketch
from devkit.crossposts import SETS, Pair, load
from devkit.replay.content import posts
from services.notifier.incidents import RULE, Incident, Incidents, same_incident


def judge(pairs: list[Pair]) -> dict[str, Any]:
    """Confusion counts, precision, recall and every wrong call of the rule on ``pairs``."""
    tp = fp = fn = tn = 0
    wrong = []
    by_kind: Counter[str] = Counter()
    for p in pairs:
        a, b = sketch(p.a), sketch(p.b)
        merged = same_incident(a, b)
        if merged and p.same:
            tp += 1
        elif merged:
            fp += 1
        elif p.same:
            fn += 1
        else:
            tn += 1
        if merged != p.same:
            by_kind[p.kind] += 1
            wrong.append(
                {
                    "kind": p.kind,
                    "same": p.same,
                    "containment": round(containment(a, b), 3),
                    "jaccard": round(jaccard(a, b), 3),
                    "a": p.a,
                    "b": p.b,
                }
            )
    return {
        "pairs": len(pairs),
        "same_pairs": tp + fn,
        "different_pairs": fp + tn,
        "merged_same": tp,
        "merged_different": fp,
        "missed_same": fn,
        "precision": round(tp / (tp + fp), 4) if tp + fp else None,
        "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        "wrong_by_kind": dict(by_kind),
        "wrong": wrong,
    }


def cost(window: int, alerts: int) -> dict[str, float]:
    """CPU per alert to sketch it and match it against ``window`` earlier incidents."""
    texts = [p.text for p in posts(7, window + alerts)]
    now = datetime(2026, 11, 20, tzinfo=UTC)
    index = Incidents()
    for i, text in enumerate(texts[:window]):
        index.add(Incident(f"a{i}", "roads", sketch(text), now, None, f"m{i}"))
    cpu0 = time.process_time()
    folded = 0
    for i, text in enumerate(texts[window:]):
        incident = Incident(f"b{i}", "roads", sketch(text), now + timedelta(minutes=1), None)
        folded += index.match(incident) is not None
    cpu = time.process_time() - cpu0
    return {
        "window_incidents": window,
        "alerts": alerts,
        "cpu_ms_per_alert": round(1000 * cpu / alerts, 3),
        "folded": folded,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/incidents.json"))
    parser.add_argument("--window", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=300)
    args = parser.parse_args()
    sets = {name: judge(load(name)) for name in SETS}
    for name, r in sets.items():
        print(
            f"{name:<6} {r['pairs']} pairs: precision {r['precision']} recall {r['recall']} "
            f"(merged {r['merged_different']} different, missed {r['missed_same']} same)"
        )
    speed = cost(args.window, args.alerts)
    print(f"matching: {speed['cpu_ms_per_alert']} ms CPU per alert against {args.window} incidents")
    result = {
        "benchmark": "incidents",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_1m": round(os.getloadavg()[0], 2),
        },
        "rule": {k: str(v) if isinstance(v, timedelta) else v for k, v in asdict(RULE).items()},
        "sets": sets,
        "matching_cost": speed,
        "note": "text only (no ward); thresholds chosen on dev, check only measured",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
