"""Locality: our tagger vs flashgeotext, speed and accuracy, side by side in one run.

    python -m bench.bench_locality --out bench/results/locality.json

Accuracy is on ``pipelines/locality/data/locality_eval.jsonl``. flashgeotext finds
city/country names only; its first GB city is mapped to a council through our
gazetteer (the most populous GeoNames place of that name), so it gets councils
but never wards. Throughput is the text path on the eval texts repeated to
>= ``--n`` texts, wall clock and process CPU time (the machine is shared).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flashgeotext.geotext import GeoText

from pipelines.locality.evalset import EvalItem, Prediction, load_eval, score
from pipelines.locality.normalise import fold_name
from pipelines.locality.tables import Tables, load_tables
from pipelines.steps.locality import LocalityTagger

ROOT = Path(__file__).resolve().parents[1]


def timed_load(build: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = build()
    return value, round(time.perf_counter() - started, 3)


def throughput(label: str, run: Callable[[str], object], texts: list[str]) -> dict[str, float]:
    """Run once over ``texts``; wall and CPU rates."""
    for text in texts[:200]:  # warm-up
        run(text)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for text in texts:
        run(text)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    out = {
        "texts": len(texts),
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "texts_per_s_wall": round(len(texts) / wall, 1),
        "texts_per_s_cpu": round(len(texts) / cpu, 1),
    }
    print(
        f"{label:<14} {len(texts)} texts: {out['texts_per_s_wall']:>9.1f}/s wall {out['texts_per_s_cpu']:>9.1f}/s cpu"
    )
    return out


def flashgeotext_predictor(geotext: GeoText, tables: Tables) -> Callable[[EvalItem], Prediction]:
    """First GB city flashgeotext finds -> council of the biggest GeoNames place of that name."""
    by_name: dict[str, tuple[int, str]] = {}
    for place in tables.places:
        if place.council < 0:
            continue
        key = fold_name(place.name)
        if key not in by_name or place.population > by_name[key][0]:
            by_name[key] = (place.population, tables.councils[place.council].code)

    def predict(item: EvalItem) -> Prediction:
        found = geotext.extract(input_text=item.text, span_info=True)
        cities = sorted(found.get("cities", {}).items(), key=lambda kv: kv[1]["span_info"][0][0])
        for name, _meta in cities:
            hit = by_name.get(fold_name(name))
            if hit is not None:
                return Prediction(hit[1])
        return Prediction(None)

    return predict


def ours_predictor(tagger: LocalityTagger, text_only: bool) -> Callable[[EvalItem], Prediction]:
    def predict(item: EvalItem) -> Prediction:
        if text_only:
            loc = tagger.tag(item.text)
        else:
            loc = tagger.tag(item.text, geo=item.geo, context=item.context)
        return Prediction(
            loc.council.code if loc.council else None, loc.ward.code if loc.ward else None
        )

    return predict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON results")
    parser.add_argument(
        "--n", type=int, default=10_000, help="minimum number of texts for throughput"
    )
    args = parser.parse_args(argv)

    load_before = round(os.getloadavg()[0], 2)
    items = load_eval()
    tables, tables_s = timed_load(load_tables)
    tagger, tagger_s = timed_load(lambda: LocalityTagger.from_config(tables=tables))
    geotext, geotext_s = timed_load(GeoText)
    texts = [it.text for it in items] * (args.n // len(items) + 1)

    speed_ours = throughput("ours", tagger.tag, texts)
    speed_fgt = throughput(
        "flashgeotext", lambda t: geotext.extract(input_text=t, span_info=True), texts
    )
    acc_ours = score(items, ours_predictor(tagger, text_only=False))
    acc_ours_text = score(items, ours_predictor(tagger, text_only=True))
    acc_fgt = score(items, flashgeotext_predictor(geotext, tables))
    for label, acc in (("ours", acc_ours), ("ours text", acc_ours_text), ("flashgeotext", acc_fgt)):
        print(
            f"{label:<14} council {acc.council_accuracy:.3f}  ward {acc.ward_accuracy:.3f} "
            f"({acc.ward_items})  place P {acc.place_precision:.3f} R {acc.place_recall:.3f}"
        )
    results = {
        "benchmark": "locality",
        "command": "python -m bench.bench_locality --out bench/results/locality.json",
        "eval_set": {"path": "pipelines/locality/data/locality_eval.jsonl", "items": len(items)},
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            # Shared machine: the load says how much to trust wall-clock rates.
            "load_average_1m_before": load_before,
            "load_average_1m_after": round(os.getloadavg()[0], 2),
        },
        "load_s": {
            "tables": tables_s,
            "our_tagger_after_tables": tagger_s,
            "flashgeotext": geotext_s,
        },
        "ours": {
            "throughput": speed_ours,
            "accuracy": acc_ours.as_dict(),
            "accuracy_text_only": acc_ours_text.as_dict(),
        },
        "flashgeotext": {
            "throughput": speed_fgt,
            "accuracy": acc_fgt.as_dict(),
            "note": "councils via its GB city; no wards",
        },
        "ratio_ours_to_flashgeotext_cpu": round(
            speed_ours["texts_per_s_cpu"] / speed_fgt["texts_per_s_cpu"], 2
        ),
        "notes": [
            "throughput: text only, eval texts repeated; CPU = process time (less sensitive to "
            "other jobs on the shared machine than wall clock)",
            "ours memoises the outcome of a post that holds exactly one name, per name and "
            "flags (not per text), so repeats of the set hit it as a real stream would",
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
