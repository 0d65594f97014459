"""Sentiment throughput: our int8 ONNX micro-batches vs a naive per-message transformers pipeline.

    python -m bench.bench_sentiment --out bench/results/sentiment.json

Both run in one process over the same council-style posts and held-out tweets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# Offline before transformers is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import torch  # noqa: E402
from transformers import pipeline  # noqa: E402

from pipelines.sentiment import default_model_dir  # noqa: E402
from pipelines.sentiment.classifier import SentimentClassifier  # noqa: E402
from pipelines.sentiment.config import DEFAULT_CONFIG, HF_SUBDIR  # noqa: E402
from pipelines.sentiment.datasets import council_eval, council_train, tweet_holdout  # noqa: E402


def bench_texts(n: int) -> list[str]:
    """Council posts (eval and train) then held-out tweets, cycled up to n."""
    pool = [e.text for e in council_eval() + council_train()]
    pool += [e.text for e in tweet_holdout(DEFAULT_CONFIG)]
    return [pool[i % len(pool)] for i in range(n)]


def timed(run: Any, texts: list[str]) -> tuple[list[str], float]:
    """Labels and texts per second of one pass."""
    started = time.perf_counter()
    labels: list[str] = run(texts)
    return labels, len(texts) / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON results")
    parser.add_argument("--n", type=int, default=1000, help="number of texts")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds; medians kept")
    parser.add_argument("--model-dir", type=Path, help="default: the model of the current config")
    args = parser.parse_args(argv)

    torch.set_num_threads(2)
    model_dir = args.model_dir or default_model_dir()
    texts = bench_texts(args.n)
    ours = SentimentClassifier.load(model_dir, batch_size=16)
    naive = pipeline("text-classification", model=str(model_dir / HF_SUBDIR), device=-1)
    paths: dict[str, Any] = {
        "int8_onnx_sorted_microbatch16": lambda ts: [s.label for s in ours.predict(ts)],
        "fp32_transformers_pipeline_per_message": lambda ts: [
            str(naive(t)[0]["label"]) for t in ts
        ],
    }
    for run in paths.values():  # warm-up: first runs allocate and pick kernels
        run(texts[:32])
    load_before = os.getloadavg()[0]
    # Rounds alternate between the paths so that load from other processes hits both alike.
    rates: dict[str, list[float]] = {name: [] for name in paths}
    labels: dict[str, list[str]] = {}
    for round_number in range(1, args.rounds + 1):
        for name, run in paths.items():
            labels[name], rate = timed(run, texts)
            rates[name].append(rate)
            print(f"round {round_number}  {name:<40} {rate:8.1f} texts/s")
    first, second = (statistics.median(rates[name]) for name in paths)
    names = list(paths)
    agree = sum(a == b for a, b in zip(labels[names[0]], labels[names[1]], strict=True))
    ratio = round(first / second, 2)
    print(f"median: {first:.1f} vs {second:.1f} texts/s, speed-up {ratio}x")
    results = {
        "model_id": ours.model_id,
        "n_texts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "texts_per_s_median": {name: round(statistics.median(r), 1) for name, r in rates.items()},
        "texts_per_s_rounds": {name: [round(x, 1) for x in r] for name, r in rates.items()},
        "speedup": ratio,
        "label_agreement": round(agree / len(texts), 4),
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "loadavg_1min_before": round(load_before, 2),
            "loadavg_1min_after": round(os.getloadavg()[0], 2),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
