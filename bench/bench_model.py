"""Model CPU per text, side by side: export variants and micro-batching of the int8 model.

    python -m bench.bench_model --out bench/results/sentiment_model.json

In one process (``bench_sentiment`` runs it too, so ``make bench`` records it): from the
built model's ``hf/`` weights, the fp32 graph is exported once into a temporary directory
and quantised in several ways (onnxruntime's transformer optimizer first or not,
per-channel, reduce_range, uint8 weights); the built ``model.int8.onnx`` runs with fixed
micro-batches (as before) and with token budgets. Every path is one single-threaded session,
as in each enrichment process, scoring the same short posts in calls of 256 (the worker's
batch); rounds alternate in direction so load from other processes hits all paths alike, and
CPU per text is the median over rounds of ``time.process_time``. Each path's macro-F1 on the
council eval set and the dev split is measured too: a variant is kept only if it lowers CPU
and moves neither by more than 0.5 point.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.transformers.fusion_options import FusionOptions
from onnxruntime.transformers.optimizer import optimize_model
from tokenizers import Tokenizer

from devkit.replay.content import posts
from pipelines.sentiment import default_model_dir
from pipelines.sentiment.build import export_fp32_onnx
from pipelines.sentiment.classifier import (
    BATCH_ROWS,
    BATCH_TOKENS,
    SentimentClassifier,
    length_batches,
    read_manifest,
)
from pipelines.sentiment.config import HF_SUBDIR, ONNX_INT8, TrainingConfig
from pipelines.sentiment.datasets import (
    council_dev,
    council_eval,
    council_train,
    tweet_holdout,
)
from pipelines.sentiment.metrics import scores
from pipelines.sentiment.text import normalise

WORKER_BATCH = 256  # texts per predict call, as the enrichment step receives them
BASELINE = "int8_fixed16"
MAX_F1_MOVE = 0.005  # half a point of macro-F1


@dataclass(frozen=True)
class Variant:
    """One way of running the model: which ONNX file, and how texts are cut into runs."""

    onnx: str  # key into the graphs built for the run
    rows: int
    tokens: int | None  # None: fixed batches of ``rows``


PATHS: dict[str, Variant] = {
    BASELINE: Variant("int8", 16, None),
    "int8_fixed64": Variant("int8", 64, None),
    f"int8_rows{BATCH_ROWS}_budget{BATCH_TOKENS}": Variant("int8", BATCH_ROWS, BATCH_TOKENS),
    "int8_rows16_budget256": Variant("int8", 16, 256),
    "int8_rows64_budget256": Variant("int8", 64, 256),
    "fused_int8_fixed16": Variant("fused_int8", 16, None),
    "fused_no_attention_int8_fixed16": Variant("fused_no_attention_int8", 16, None),
    "per_channel_int8_fixed16": Variant("per_channel_int8", 16, None),
    "reduce_range_int8_fixed16": Variant("reduce_range_int8", 16, None),
    "uint8_weights_fixed16": Variant("uint8_weights", 16, None),
}


def _quantise(fp32: Path, out: Path, **options: Any) -> Path:
    # Fused ops (Attention, SkipLayerNormalization) defeat ONNX shape inference: their outputs
    # are float, which the quantiser needs told.
    options.setdefault("weight_type", QuantType.QInt8)
    extra = {"DefaultTensorType": onnx.TensorProto.FLOAT}
    quantize_dynamic(str(fp32), str(out), extra_options=extra, **options)
    return out


def _fused(fp32: Path, out: Path, hf_config: dict[str, Any], *, attention: bool) -> Path:
    """The transformer optimizer's BERT fusions applied to the fp32 graph (before quantising:
    its patterns do not match a quantised graph)."""
    fusion = FusionOptions("bert")
    fusion.enable_attention = attention
    model = optimize_model(
        str(fp32),
        model_type="bert",
        num_heads=int(hf_config["num_attention_heads"]),
        hidden_size=int(hf_config["hidden_size"]),
        optimization_options=fusion,
        opt_level=0,  # the session applies onnxruntime's own graph optimisations at load
    )
    model.save_model_to_file(str(out))
    return out


def build_graphs(model_dir: Path, work: Path) -> dict[str, Path]:
    """Every ONNX variant, from the model's ``hf/`` weights into ``work``; "int8" is the built one."""
    config = TrainingConfig(**read_manifest(model_dir)["config"])
    hf_config = json.loads((model_dir / HF_SUBDIR / "config.json").read_text(encoding="utf-8"))
    fp32 = work / "model.fp32.onnx"
    export_fp32_onnx(model_dir / HF_SUBDIR, fp32, config.onnx_opset)
    fused = _fused(fp32, work / "fused.fp32.onnx", hf_config, attention=True)
    no_attention = _fused(fp32, work / "fused_no_attention.fp32.onnx", hf_config, attention=False)
    return {
        "int8": model_dir / ONNX_INT8,
        "fused_int8": _quantise(fused, work / "fused_int8.onnx"),
        "fused_no_attention_int8": _quantise(no_attention, work / "fused_no_attention_int8.onnx"),
        "per_channel_int8": _quantise(fp32, work / "per_channel.onnx", per_channel=True),
        "reduce_range_int8": _quantise(fp32, work / "reduce_range.onnx", reduce_range=True),
        "uint8_weights": _quantise(fp32, work / "uint8.onnx", weight_type=QuantType.QUInt8),
    }


def bench_texts(n: int) -> list[str]:
    """Short posts as the worker sees them: council posts, the demo corpus and held-out tweets,
    shuffled with a fixed seed, first n."""
    pool = [e.text for e in council_eval() + council_dev() + council_train()]
    pool += [p.text for p in posts(7, 600)]
    pool += [e.text for e in tweet_holdout(TrainingConfig())]
    random.Random(12).shuffle(pool)
    return pool[:n]


def long_texts(n: int) -> list[str]:
    """News-shaped texts (a headline and up to five sentences, about 20 to 128 tokens): council
    training posts joined, fixed seed. Only the batching paths run on these."""
    base = [e.text for e in council_train()]
    rng = random.Random(3)
    return [". ".join(rng.sample(base, rng.randint(1, 6))) for _ in range(n)]


def cpu_ms_per_text(
    runs: Mapping[str, Callable[[list[str]], object]], texts: list[str], rounds: int
) -> dict[str, list[float]]:
    """CPU ms per text of every path per round, calls of WORKER_BATCH texts, rounds alternating
    in direction."""
    calls = [texts[i : i + WORKER_BATCH] for i in range(0, len(texts), WORKER_BATCH)]
    for run in runs.values():  # warm-up: first runs allocate and pick kernels
        run(texts[:64])
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for round_number in range(rounds):
        names = list(runs) if round_number % 2 == 0 else list(reversed(list(runs)))
        for name in names:
            started = time.process_time()
            for call in calls:
                runs[name](call)
            cpu[name].append((time.process_time() - started) * 1000 / len(texts))
        print(f"round {round_number + 1}: " + "  ".join(f"{n} {cpu[n][-1]:.3f}" for n in runs))
    return cpu


def token_shape(tokenizer_json: Path, texts: list[str]) -> dict[str, Any]:
    """Token lengths of the texts, and the padding each batching adds over the real tokens."""
    tokenizer = Tokenizer.from_file(str(tokenizer_json))
    tokenizer.no_padding()
    lengths = [len(e.ids) for e in tokenizer.encode_batch([normalise(t) for t in texts])]
    calls = [lengths[i : i + WORKER_BATCH] for i in range(0, len(lengths), WORKER_BATCH)]

    def padding(rows: int, tokens: int | None) -> float:
        padded = sum(
            len(batch) * max(call[i] for i in batch)
            for call in calls
            for batch in length_batches(call, max_rows=rows, token_budget=tokens)
        )
        return round(padded / sum(lengths) - 1, 4)

    return {
        "mean_tokens": round(statistics.mean(lengths), 1),
        "max_tokens": max(lengths),
        "share_over_64_tokens": round(sum(n > 64 for n in lengths) / len(lengths), 4),
        "padding_overhead": {name: padding(p.rows, p.tokens) for name, p in PATHS.items()},
    }


def run(model_dir: Path, n: int, rounds: int) -> dict[str, Any]:
    """Measure every path in PATHS; returns the results (CPU, macro-F1, verdicts, load)."""
    load_before = os.getloadavg()[0]
    wall_started, cpu_started = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory(prefix="earshot-bench-model-") as work:
        graphs = build_graphs(model_dir, Path(work))
        manifest = read_manifest(model_dir)
        models = {
            name: SentimentClassifier.open(
                graphs[p.onnx],
                model_dir / HF_SUBDIR / "tokenizer.json",
                model_id=str(manifest["model_id"]),
                max_len=int(manifest["config"]["inference_max_len"]),
                batch_size=p.rows,
                token_budget=p.tokens,
                threads=1,
                temperature=float(manifest["calibration"]["temperature"]),
            )
            for name, p in PATHS.items()
        }
        sets = {"council_eval": council_eval(), "council_dev": council_dev()}
        f1 = {
            name: {
                set_name: float(
                    cast(
                        float,
                        scores(
                            [e.label for e in examples],
                            [s.label for s in model.predict([e.text for e in examples])],
                        )["macro_f1"],
                    )
                )
                for set_name, examples in sets.items()
            }
            for name, model in models.items()
        }
        texts = bench_texts(n)
        cpu = cpu_ms_per_text(
            {name: model.predict for name, model in models.items()}, texts, rounds
        )
        shape = token_shape(model_dir / HF_SUBDIR / "tokenizer.json", texts)
        long = long_texts(max(256, n // 4))
        batchings = {name: models[name].predict for name, p in PATHS.items() if p.onnx == "int8"}
        cpu_long = cpu_ms_per_text(batchings, long, rounds)
    median = {name: statistics.median(values) for name, values in cpu.items()}
    base_f1 = f1[BASELINE]
    verdicts = {
        name: {
            "cpu_over_baseline": round(median[name] / median[BASELINE], 3),
            "f1_points_vs_baseline": {s: round((f1[name][s] - base_f1[s]) * 100, 2) for s in sets},
            "keep_by_the_rule": name != BASELINE
            and median[name] < median[BASELINE]
            and all(abs(f1[name][s] - base_f1[s]) <= MAX_F1_MOVE for s in sets),
        }
        for name in PATHS
    }
    wall = time.perf_counter() - wall_started
    return {
        "model_id": manifest["model_id"],
        "default_batching": {"rows": BATCH_ROWS, "tokens": BATCH_TOKENS},
        "baseline": BASELINE,
        "n_texts": len(texts),
        "rounds": rounds,
        "texts": shape,
        "cpu_ms_per_text_median": {name: round(m, 4) for name, m in median.items()},
        "cpu_ms_per_text_rounds": {name: [round(x, 4) for x in v] for name, v in cpu.items()},
        "long_texts": {
            "n_texts": len(long),
            "shape": token_shape(model_dir / HF_SUBDIR / "tokenizer.json", long),
            "cpu_ms_per_text_median": {
                name: round(statistics.median(v), 4) for name, v in cpu_long.items()
            },
            "cpu_over_baseline": {
                name: round(statistics.median(v) / statistics.median(cpu_long[BASELINE]), 3)
                for name, v in cpu_long.items()
            },
        },
        "macro_f1": {name: {s: round(v, 4) for s, v in r.items()} for name, r in f1.items()},
        "verdicts": verdicts,
        "machine": {
            "cpus": os.cpu_count(),
            "session_threads": 1,
            "loadavg_1min_before": round(load_before, 2),
            "loadavg_1min_after": round(os.getloadavg()[0], 2),
            # Our own CPU over wall time: well under 1 means other processes took the core.
            "own_cpu_share": round((time.process_time() - cpu_started) / wall, 3),
        },
    }


def print_table(results: dict[str, Any]) -> None:
    """One line per path: CPU per text, its ratio to the baseline, macro-F1 moves."""
    for name, verdict in results["verdicts"].items():
        f1 = results["macro_f1"][name]
        moves = verdict["f1_points_vs_baseline"]
        print(
            f"{name:<34} {results['cpu_ms_per_text_median'][name]:.3f} ms/text "
            f"({verdict['cpu_over_baseline']:.3f})  eval F1 {f1['council_eval']:.4f} "
            f"({moves['council_eval']:+.2f})  dev F1 {f1['council_dev']:.4f} "
            f"({moves['council_dev']:+.2f})  keep: {verdict['keep_by_the_rule']}"
        )
    print(f"long texts, CPU over {BASELINE}: {results['long_texts']['cpu_over_baseline']}")
    print(f"machine: {results['machine']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="where to write the JSON results")
    parser.add_argument("--n", type=int, default=2000, help="number of texts")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; medians kept")
    parser.add_argument("--model-dir", type=Path, help="default: the model of the current config")
    args = parser.parse_args(argv)
    results = run(args.model_dir or default_model_dir(), args.n, args.rounds)
    print_table(results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
