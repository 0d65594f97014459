"""Sentiment: quality by hard kind and inference cost, new model vs the previous one, side by side.

    python -m bench.bench_sentiment --out bench/results/sentiment.json

In one process: (1) our development split by hard kind (plus the council eval set and
held-out tweets) for VADER, the previous model and the current one; (2) texts per
second of the current and the previous int8 model on the same council posts and
tweets, alternating rounds so load from other processes hits both alike, with a
naive per-message fp32 transformers pipeline for scale; (3) ``bench.bench_model``: CPU per
text of export variants and micro-batchings of the current model, single-threaded, side by
side, with their macro-F1 (under "model_cpu" in the results).

The previous model is the one built from recipe 1 (before issue 15); it stays in the
model cache once built. ``--baseline-model-dir`` points elsewhere; where there is no
previous model (a fresh machine) the bench measures VADER and the current model and says
in its results why the previous one is missing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Offline before transformers is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from transformers import pipeline  # noqa: E402

from bench import bench_model  # noqa: E402
from pipelines.sentiment import default_model_dir  # noqa: E402
from pipelines.sentiment.classifier import SentimentClassifier  # noqa: E402
from pipelines.sentiment.config import DEFAULT_CONFIG, HF_SUBDIR, cache_root  # noqa: E402
from pipelines.sentiment.datasets import (  # noqa: E402
    council_dev,
    council_eval,
    council_train,
    tweet_holdout,
)
from pipelines.sentiment.evaluate import by_kind, vader_predictor  # noqa: E402

# The model `make model` built before issue 15 (recipe 1, 345 council posts); its cache
# key covered the training file of that time, so it is named here rather than recomputed.
BASELINE_DIR_NAME = "sentiment-954e9da281044ccf"
Run = Callable[[list[str]], list[str]]


def bench_texts(n: int) -> list[str]:
    """Council posts (eval, dev and train) then held-out tweets, cycled up to n."""
    pool = [e.text for e in council_eval() + council_dev() + council_train()]
    pool += [e.text for e in tweet_holdout(DEFAULT_CONFIG)]
    return [pool[i % len(pool)] for i in range(n)]


def timed(run: Run, texts: list[str]) -> tuple[list[str], float]:
    """Labels and texts per second of one pass."""
    started = time.perf_counter()
    labels = run(texts)
    return labels, len(texts) / (time.perf_counter() - started)


def labels_of(model: SentimentClassifier) -> Run:
    return lambda texts: [s.label for s in model.predict(texts)]


def quality(models: dict[str, Run]) -> dict[str, Any]:
    """Every model on the dev split by kind and on the two older held-out sets."""
    sets = {
        "council_dev": council_dev(),
        "council_eval": council_eval(),
        "tweets_holdout": tweet_holdout(DEFAULT_CONFIG),
    }
    return {
        set_name: {name: by_kind(run, examples) for name, run in models.items()}
        for set_name, examples in sets.items()
    }


def speed(paths: dict[str, Run], texts: list[str], rounds: int) -> dict[str, list[float]]:
    """Texts per second of every path, rounds alternating between paths."""
    for run in paths.values():  # warm-up: first runs allocate and pick kernels
        run(texts[:32])
    rates: dict[str, list[float]] = {name: [] for name in paths}
    for round_number in range(1, rounds + 1):
        for name, run in paths.items():
            _, rate = timed(run, texts)
            rates[name].append(rate)
            print(f"round {round_number}  {name:<40} {rate:8.1f} texts/s")
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON results")
    parser.add_argument("--n", type=int, default=1000, help="number of texts")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians kept")
    parser.add_argument("--model-dir", type=Path, help="default: the model of the current config")
    parser.add_argument(
        "--baseline-model-dir",
        type=Path,
        default=cache_root() / "models" / BASELINE_DIR_NAME,
        help="the previous model (default: recipe 1's dir in the model cache)",
    )
    args = parser.parse_args(argv)
    missing_previous = None
    if not (args.baseline_model_dir / "COMPLETE").is_file():
        missing_previous = (
            f"no previous model at {args.baseline_model_dir}: build it from recipe 1 "
            "(git checkout the commit before issue 15, make model) or pass --baseline-model-dir"
        )
        print(f"{missing_previous}; measuring VADER and the current model only", file=sys.stderr)

    torch.set_num_threads(2)
    model_dir = args.model_dir or default_model_dir()
    current = SentimentClassifier.load(model_dir, batch_size=16)
    previous = (
        None
        if missing_previous
        else SentimentClassifier.load(args.baseline_model_dir, batch_size=16)
    )
    load_before = os.getloadavg()[0]
    predictors: dict[str, Run] = {"vader": vader_predictor(), "current": labels_of(current)}
    if previous is not None:
        predictors["previous"] = labels_of(previous)
    scored = quality(predictors)
    for name in predictors:
        dev = scored["council_dev"][name]
        print(
            f"dev macro-F1 {name:<9} all {dev['all']['macro_f1']:.3f}  "
            f"hard {dev['hard']['macro_f1']:.3f}  "
            + "  ".join(
                f"{k} {v['macro_f1']:.2f}" for k, v in dev.items() if k not in {"all", "hard"}
            )
        )

    texts = bench_texts(args.n)
    naive = pipeline("text-classification", model=str(model_dir / HF_SUBDIR), device=-1)
    paths: dict[str, Run] = {
        "current_int8_onnx_sorted_microbatch16": labels_of(current),
        "fp32_transformers_pipeline_per_message": lambda ts: [
            str(naive(t)[0]["label"]) for t in ts
        ],
    }
    if previous is not None:
        paths["previous_int8_onnx_sorted_microbatch16"] = labels_of(previous)
    rates = speed(paths, texts, args.rounds)
    medians = {name: statistics.median(r) for name, r in rates.items()}
    cost_ratio = (
        round(
            medians["previous_int8_onnx_sorted_microbatch16"]
            / medians["current_int8_onnx_sorted_microbatch16"],
            3,
        )
        if previous is not None
        else None
    )
    print(f"inference cost per text, current / previous: {cost_ratio}")
    results = {
        "model_id": current.model_id,
        "previous_model_id": previous.model_id if previous is not None else None,
        "previous_missing": missing_previous,
        "temperature": current.temperature,
        "quality": scored,
        "n_texts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "texts_per_s_median": {name: round(m, 1) for name, m in medians.items()},
        "texts_per_s_rounds": {name: [round(x, 1) for x in r] for name, r in rates.items()},
        "cost_per_text_current_over_previous": cost_ratio,
        "speedup_over_naive": round(
            medians["current_int8_onnx_sorted_microbatch16"]
            / medians["fp32_transformers_pipeline_per_message"],
            2,
        ),
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "loadavg_1min_before": round(load_before, 2),
            "loadavg_1min_after": round(os.getloadavg()[0], 2),
        },
    }
    model_cpu = bench_model.run(model_dir, args.n, args.rounds + 2)
    bench_model.print_table(model_cpu)
    results["model_cpu"] = model_cpu
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
