"""``evaluate``: int8 ONNX vs fp32 PyTorch vs VADER on held-out tweets and council posts,
and on our development split by hard kind."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from pipelines.sentiment.classifier import SentimentClassifier, read_manifest
from pipelines.sentiment.config import HF_SUBDIR, LABELS, TrainingConfig
from pipelines.sentiment.datasets import Example, council_dev, council_eval, tweet_holdout
from pipelines.sentiment.metrics import scores, scores_by_kind
from pipelines.sentiment.text import normalise
from pipelines.sentiment.train import torch_proba

VADER_POSITIVE_AT = 0.05
Predict = Callable[[Sequence[str]], list[str]]


def vader_predictor() -> Callable[[Sequence[str]], list[str]]:
    """The usual VADER rule: compound >= 0.05 positive, <= -0.05 negative, else neutral."""
    analyzer = SentimentIntensityAnalyzer()

    def predict(texts: Sequence[str]) -> list[str]:
        labels = []
        for text in texts:
            compound = float(analyzer.polarity_scores(text)["compound"])
            if compound >= VADER_POSITIVE_AT:
                labels.append("positive")
            elif compound <= -VADER_POSITIVE_AT:
                labels.append("negative")
            else:
                labels.append("neutral")
        return labels

    return predict


def fp32_predictor(model_dir: Path, max_len: int) -> Callable[[Sequence[str]], list[str]]:
    """The fine-tuned PyTorch model before export and quantisation."""
    torch.set_num_threads(2)
    hf = str(model_dir / HF_SUBDIR)
    model = AutoModelForSequenceClassification.from_pretrained(hf, local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(hf, local_files_only=True)

    def predict(texts: Sequence[str]) -> list[str]:
        proba = torch_proba(model, tokenizer, [normalise(t) for t in texts], max_len)
        return [LABELS[int(row.argmax())] for row in proba]

    return predict


def by_kind(predict: Predict, examples: Sequence[Example]) -> dict[str, dict[str, float]]:
    """Accuracy and macro-F1 of ``predict`` per kind of ``examples`` (plus "hard" and "all")."""
    predicted = predict([e.text for e in examples])
    results = scores_by_kind([e.kind for e in examples], [e.label for e in examples], predicted)
    return {
        kind: {"n": r["n"], "accuracy": r["accuracy"], "macro_f1": r["macro_f1"]}  # type: ignore[dict-item]
        for kind, r in results.items()
    }


def int8_predictor(model_dir: Path) -> Predict:
    """Labels from the built int8 model in ``model_dir``."""
    model = SentimentClassifier.load(model_dir)
    return lambda texts: [s.label for s in model.predict(texts)]


def evaluate(model_dir: Path) -> dict[str, Any]:
    """Scores of every model on every held-out set, with timings."""
    manifest = read_manifest(model_dir)
    config = TrainingConfig(**manifest["config"])
    models: dict[str, Predict] = {
        "int8_onnx": int8_predictor(model_dir),
        "fp32_torch": fp32_predictor(model_dir, config.inference_max_len),
        "vader": vader_predictor(),
    }
    sets: dict[str, list[Example]] = {
        "tweets_holdout": tweet_holdout(config),
        "council_eval": council_eval(),
        "council_dev": council_dev(),
    }
    results: dict[str, Any] = {"model_id": manifest["model_id"], "model_dir": str(model_dir)}
    for set_name, examples in sets.items():
        texts, gold = [e.text for e in examples], [e.label for e in examples]
        per_model: dict[str, Any] = {}
        predictions: dict[str, list[str]] = {}
        for model_name, predict in models.items():
            started = time.monotonic()
            predictions[model_name] = predict(texts)
            per_model[model_name] = scores(gold, predictions[model_name])
            per_model[model_name]["seconds"] = round(time.monotonic() - started, 2)
        same = sum(
            a == b for a, b in zip(predictions["int8_onnx"], predictions["fp32_torch"], strict=True)
        )
        per_model["int8_fp32_agreement"] = round(same / len(texts), 4)
        results[set_name] = per_model
    results["council_dev_by_kind"] = {
        name: by_kind(predict, sets["council_dev"]) for name, predict in models.items()
    }
    return results


def table(results: dict[str, Any]) -> str:
    """The results as a fixed-width text table."""
    lines = [f"{'set':<16}{'model':<12}{'n':>6}{'accuracy':>10}{'macro-F1':>10}"]
    for set_name in ("tweets_holdout", "council_eval", "council_dev"):
        for model_name in ("int8_onnx", "fp32_torch", "vader"):
            r = results[set_name][model_name]
            lines.append(
                f"{set_name:<16}{model_name:<12}{r['n']:>6}{r['accuracy']:>10.3f}{r['macro_f1']:>10.3f}"
            )
        agreement = results[set_name]["int8_fp32_agreement"]
        lines.append(f"{'':<16}int8 and fp32 agree on {agreement:.1%} of {set_name}")
    lines.append(kind_table(results["council_dev_by_kind"]))
    return "\n".join(lines)


def kind_table(per_model: dict[str, dict[str, dict[str, float]]]) -> str:
    """Macro-F1 (accuracy) per kind of the dev split, one column per model."""
    names = list(per_model)
    kinds = list(next(iter(per_model.values())))
    lines = [f"{'dev kind':<16}{'n':>5}" + "".join(f"{name:>22}" for name in names)]
    for kind in kinds:
        cells = "".join(
            f"{per_model[m][kind]['macro_f1']:>13.3f} ({per_model[m][kind]['accuracy']:.2f})"
            for m in names
        )
        lines.append(f"{kind:<16}{per_model[names[0]][kind]['n']:>5}{cells}")
    return "\n".join(lines)


def run(model_dir: Path, out: Path | None) -> dict[str, Any]:
    """Evaluate, print the table, and write JSON to ``out`` when given."""
    results = evaluate(model_dir)
    print(f"model {results['model_id']} ({model_dir})")
    print(table(results))
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {out}")
    return results
