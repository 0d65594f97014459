"""Locality: the default deployment vs flashgeotext, and every GB council loaded at once.

    python -m bench.bench_locality --out bench/results/locality.json

Part 1, the shipped deployment (Haringey, Monmouthshire profiles): accuracy on
``pipelines/locality/data/locality_eval.jsonl``, against flashgeotext (city and
country names only; its first GB city is mapped to a council through our
gazetteer, so it gets councils but never wards).

Part 2, nationwide (``EARSHOT_LOCALITY_SCOPE=nationwide``): load time and resident
memory measured in a fresh process, throughput on one core (one Python thread) on
the multi-council development set's texts repeated to >= ``--n``, and accuracy on
that set by split, evidence kind and council kind, with the share of posts about
no GB council that were given one. Wall clock and process CPU time both: the
machine is shared.

Both parts run the tagger twice, side by side in this one run: as shipped, and
without the name senses (``read_senses=False``: a town's name naming a person, a
team or a thing still counts as the place), so every figure has its before/after.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flashgeotext.geotext import GeoText

from pipelines.locality.devset import DevItem, breakdown, load_devset
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


def rss_mb() -> float:
    """Resident set size of this process now (Linux /proc), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def load_probe() -> int:
    """In a fresh process: time and memory to load the tables and the nationwide tagger."""
    before = rss_mb()
    cpu0 = time.process_time()
    tables, tables_s = timed_load(load_tables)
    tagger, tagger_s = timed_load(
        lambda: LocalityTagger.from_config(tables=tables, scope="nationwide")
    )
    print(
        json.dumps(
            {
                "tables_s": tables_s,
                "tagger_s": tagger_s,
                "total_s": round(tables_s + tagger_s, 3),
                # CPU time says what the load costs when the shared machine is busy.
                "total_cpu_s": round(time.process_time() - cpu0, 3),
                "rss_mb_before": before,
                "rss_mb_after": rss_mb(),
                "rss_mb_added": round(rss_mb() - before, 1),
                "automaton_keys": len(tagger.lexicon.keys),
            }
        )
    )
    return 0


SIDE_BY_SIDE = (
    "all",
    "split:dev",
    "split:test",
    "split:fresh",
    "place:dev",
    "place:test",
    "no_place",
    "no_place:dev",
    "no_place:test",
    "no_place:fresh",
    "kind:london",
    "kind:metropolitan",
    "kind:unitary",
    "kind:shire_district",
    "kind:welsh",
    "kind:scottish",
)


def side_by_side(
    before: dict[str, dict[str, float | int]], after: dict[str, dict[str, float | int]]
) -> dict[str, dict[str, Any]]:
    """The headline groups of two breakdowns next to each other."""
    return {
        key: {"without_senses": before[key], "with_senses": after[key]}
        for key in SIDE_BY_SIDE
        if key in before and key in after
    }


def nationwide(n: int) -> dict[str, Any]:
    """Part 2: load (fresh process), throughput on one core, accuracy on the development set."""
    probe = subprocess.run(
        [sys.executable, "-m", "bench.bench_locality", "--load-probe"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    load = json.loads(probe.stdout.strip().splitlines()[-1])
    tables = load_tables()
    tagger = LocalityTagger.from_config(tables=tables, scope="nationwide")
    baseline = LocalityTagger.from_config(tables=tables, scope="nationwide", read_senses=False)
    default = LocalityTagger.from_config(tables=tables, scope="profiles")
    default_base = LocalityTagger.from_config(tables=tables, scope="profiles", read_senses=False)
    items = load_devset()
    texts = [i.text for i in items] * (n // len(items) + 1)
    # Alternated, so both see the same load on the shared machine.
    runs = [
        throughput(label, t.tag, texts)
        for label, t in (
            ("nw without", baseline),
            ("nw with", tagger),
            ("nw without", baseline),
            ("nw with", tagger),
        )
    ]
    speed = max(runs[1::2], key=lambda r: r["texts_per_s_cpu"])
    speed_base = max(runs[0::2], key=lambda r: r["texts_per_s_cpu"])

    def predictor(t: LocalityTagger) -> Any:
        def predict(item: DevItem) -> tuple[str | None, str | None]:
            loc = t.tag(item.text)
            return (loc.council.code if loc.council else None, loc.ward.code if loc.ward else None)

        return predict

    accuracy = breakdown(items, predictor(tagger))
    accuracy_base = breakdown(items, predictor(baseline))
    for key in ("split:dev", "split:test", "no_place:dev", "no_place:test", "no_place:fresh"):
        print(f"nationwide {key:<15} {accuracy_base.get(key)} -> {accuracy.get(key)}")
    shown = ("all", "split:dev", "split:test", "no_place")
    return {
        "dev_set": {
            "path": "pipelines/locality/data/gb_devset.jsonl",
            "posts": len(items),
            "councils": len({i.council for i in items if i.council}),
        },
        "load_fresh_process": load,
        "throughput_one_core": speed,
        "throughput_one_core_without_senses": speed_base,
        "throughput_runs_alternated": runs,
        "side_by_side": side_by_side(accuracy_base, accuracy),
        "accuracy": accuracy,
        "accuracy_without_senses": accuracy_base,
        "accuracy_default_deployment_on_dev_set": {
            k: v for k, v in breakdown(items, predictor(default)).items() if k in shown
        },
        "accuracy_default_deployment_on_dev_set_without_senses": {
            k: v for k, v in breakdown(items, predictor(default_base)).items() if k in shown
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, help="where to write the JSON results")
    parser.add_argument(
        "--n", type=int, default=10_000, help="minimum number of texts for throughput"
    )
    parser.add_argument("--load-probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_probe:
        return load_probe()
    if args.out is None:
        parser.error("--out is required")

    load_before = round(os.getloadavg()[0], 2)
    items = load_eval()
    tables, tables_s = timed_load(load_tables)
    tagger, tagger_s = timed_load(
        lambda: LocalityTagger.from_config(tables=tables, scope="profiles")
    )
    baseline = LocalityTagger.from_config(tables=tables, scope="profiles", read_senses=False)
    geotext, geotext_s = timed_load(GeoText)
    texts = [it.text for it in items] * (args.n // len(items) + 1)

    speed_base = throughput("ours without", baseline.tag, texts)
    speed_ours = throughput("ours", tagger.tag, texts)
    speed_fgt = throughput(
        "flashgeotext", lambda t: geotext.extract(input_text=t, span_info=True), texts
    )
    acc_ours = score(items, ours_predictor(tagger, text_only=False))
    acc_ours_text = score(items, ours_predictor(tagger, text_only=True))
    acc_base = score(items, ours_predictor(baseline, text_only=False))
    acc_base_text = score(items, ours_predictor(baseline, text_only=True))
    acc_fgt = score(items, flashgeotext_predictor(geotext, tables))
    for label, acc in (
        ("ours without", acc_base),
        ("ours", acc_ours),
        ("ours text", acc_ours_text),
        ("flashgeotext", acc_fgt),
    ):
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
        "ours_without_senses": {
            "throughput": speed_base,
            "accuracy": acc_base.as_dict(),
            "accuracy_text_only": acc_base_text.as_dict(),
        },
        "flashgeotext": {
            "throughput": speed_fgt,
            "accuracy": acc_fgt.as_dict(),
            "note": "councils via its GB city; no wards",
        },
        "ratio_ours_to_flashgeotext_cpu": round(
            speed_ours["texts_per_s_cpu"] / speed_fgt["texts_per_s_cpu"], 2
        ),
        "nationwide": nationwide(args.n),
        "notes": [
            "throughput: text only, eval texts repeated; CPU = process time (less sensitive to "
            "other jobs on the shared machine than wall clock); one Python thread = one core",
            "ours memoises the outcome of a post that holds exactly one name, per name and "
            "flags (not per text), so repeats of the set hit it as a real stream would",
            "nationwide accuracy: split:test is the held-back part (councils never tuned on); "
            "no_place.given_a_council is the share of posts about no GB council given one; "
            "no_place:fresh is the batch written after the name-sense rules and never tuned on",
            "*_without_senses: the same tagger with read_senses=False, measured in this run "
            "(the before of the name-sense rules); throughput runs alternate the two",
        ],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
