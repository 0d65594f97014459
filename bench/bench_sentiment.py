"""Sentiment throughput: our int8 ONNX micro-batches vs a naive per-message transformers pipeline.

    python bench/bench_sentiment.py --out bench/results/sentiment.json

Both run in one process over the same council-style posts and held-out tweets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Imports follow the path and offline setup above, so a bare `python bench/...` works.
import torch  # noqa: E402
from transformers import pipeline  # noqa: E402

from pipelines.sentiment import default_model_dir  # noqa: E402
from pipelines.sentiment.classifier import SentimentClassifier  # noqa: E402
from pipelines.sentiment.config import DEFAULT_CONFIG, HF_SUBDIR  # noqa: E402
from pipelines.sentiment.data import council_eval, council_train, tweet_holdout  # noqa: E402


def bench_texts(n: int) -> list[str]:
    """Council posts (eval and train) then held-out tweets, cycled up to n."""
    pool = [e.text for e in council_eval() + council_train()]
    pool += [e.text for e in tweet_holdout(DEFAULT_CONFIG)]
    return [pool[i % len(pool)] for i in range(n)]


def timed(label: str, run: Any, texts: list[str]) -> tuple[list[str], dict[str, float]]:
    started = time.perf_counter()
    labels: list[str] = run(texts)
    seconds = time.perf_counter() - started
    rate = len(texts) / seconds
    print(f"{label:<44} {len(texts)} texts in {seconds:6.2f}s = {rate:7.1f} texts/s")
    return labels, {"seconds": round(seconds, 3), "texts_per_s": round(rate, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON results")
    parser.add_argument("--n", type=int, default=1500, help="number of texts")
    parser.add_argument("--model-dir", type=Path, help="default: the model of the current config")
    args = parser.parse_args(argv)

    torch.set_num_threads(2)
    model_dir = args.model_dir or default_model_dir()
    texts = bench_texts(args.n)
    ours = SentimentClassifier.load(model_dir, batch_size=16)
    naive = pipeline("text-classification", model=str(model_dir / HF_SUBDIR), device=-1)
    ours.predict(texts[:64])  # warm-up: first runs allocate and pick kernels
    for text in texts[:16]:
        naive(text)

    onnx_labels, onnx = timed(
        "int8 ONNX, micro-batches of 16 by length",
        lambda ts: [s.label for s in ours.predict(ts)],
        texts,
    )
    naive_labels, plain = timed(
        "fp32 transformers pipeline, one per call",
        lambda ts: [str(naive(t)[0]["label"]) for t in ts],
        texts,
    )
    agree = sum(a == b for a, b in zip(onnx_labels, naive_labels, strict=True)) / len(texts)
    ratio = round(onnx["texts_per_s"] / plain["texts_per_s"], 2)
    print(f"speed-up {ratio}x; labels agree on {agree:.1%}")
    results = {
        "model_id": ours.model_id,
        "n_texts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "int8_onnx_sorted_microbatch16": onnx,
        "fp32_transformers_pipeline_per_message": plain,
        "speedup": ratio,
        "label_agreement": round(agree, 4),
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
