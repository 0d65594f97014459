"""``build``: train, export to int8 ONNX and cache the sentiment model, once per recipe."""

from __future__ import annotations

import json
import logging
import platform
import shutil
import time
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import onnxruntime
import torch
import transformers
from onnxruntime.quantization import QuantType, quantize_dynamic
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from pipelines.sentiment.calibrate import (
    expected_calibration_error,
    fit_mixed_threshold,
    fit_temperature,
    softmax,
)
from pipelines.sentiment.classifier import SentimentClassifier
from pipelines.sentiment.config import (
    COMPLETE_MARKER,
    DEFAULT_CONFIG,
    HF_SUBDIR,
    LABEL_IDS,
    LABELS,
    MANIFEST,
    ONNX_INT8,
    TEACHER_SOFT_LABELS,
    TrainingConfig,
    cache_key,
    model_dir_for,
    model_id_for,
)
from pipelines.sentiment.datasets import (
    council_dev,
    council_eval,
    read_soft_labels,
    training_set,
    tweet_holdout,
)
from pipelines.sentiment.metrics import scores_by_kind
from pipelines.sentiment.train import fine_tune

log = logging.getLogger(__name__)


class _Logits(torch.nn.Module):
    """The classifier with plain tensor inputs and the logits as its only output."""

    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Any:
        return self.inner(input_ids=input_ids, attention_mask=attention_mask).logits


def export_fp32_onnx(hf_dir: Path, target: Path, opset: int) -> None:
    """Trace the saved fp32 model to ONNX at ``target``, dynamic in batch and length."""
    # Eager attention traces to plain MatMul/Softmax, which dynamic quantisation handles.
    model = AutoModelForSequenceClassification.from_pretrained(
        str(hf_dir), local_files_only=True, attn_implementation="eager"
    ).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(hf_dir), local_files_only=True)

    sample = tokenizer(["a short one", "and a somewhat longer example text"], padding=True)
    args = tuple(torch.tensor(sample[k]) for k in ("input_ids", "attention_mask"))
    dynamic = {0: "batch", 1: "sequence"}
    with torch.inference_mode():
        torch.onnx.export(
            _Logits(model),
            args,
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "logits": {0: "batch"}},
            opset_version=opset,
            dynamo=False,
        )


def export_int8_onnx(hf_dir: Path, target: Path, opset: int) -> None:
    """Trace the saved fp32 model to ONNX (dynamic batch and length), then quantise to int8.

    The graph is quantised as traced: onnxruntime's transformer optimizer (fused attention,
    SkipLayerNorm, BiasGelu) made it 15-17% slower here (bench/bench_model.py)."""
    fp32 = target.with_name("model.fp32.onnx")
    export_fp32_onnx(hf_dir, fp32, opset)
    quantize_dynamic(str(fp32), str(target), weight_type=QuantType.QInt8)
    fp32.unlink()


def calibrate(model_dir: Path, model_id: str, config: TrainingConfig) -> dict[str, Any]:
    """Fit the temperature and the mixed threshold on the dev split with the int8 model."""
    classifier = _open_int8(model_dir, model_id, config)
    dev = council_dev()
    logits = classifier.predict_logits([e.text for e in dev])
    gold = [LABEL_IDS[e.label] for e in dev]
    temperature = fit_temperature(logits, gold)
    proba = softmax(logits, temperature)
    return {
        "temperature": temperature,
        "mixed_at": fit_mixed_threshold(proba, [e.kind == "mixed" for e in dev]),
        "fitted_on": "council_dev",
        "ece_before": expected_calibration_error(softmax(logits), gold),
        "ece_after": expected_calibration_error(proba, gold),
    }


def _open_int8(
    model_dir: Path, model_id: str, config: TrainingConfig, temperature: float = 1.0
) -> SentimentClassifier:
    return SentimentClassifier.open(
        model_dir / ONNX_INT8,
        model_dir / HF_SUBDIR / "tokenizer.json",
        model_id=model_id,
        max_len=config.inference_max_len,
        temperature=temperature,
    )


def int8_metrics(
    model_dir: Path, model_id: str, config: TrainingConfig, temperature: float
) -> dict[str, Any]:
    """Quick held-out scores of the int8 model, recorded in the manifest (dev split by kind)."""
    classifier = _open_int8(model_dir, model_id, config, temperature)
    results: dict[str, Any] = {}
    for name, examples in (
        ("tweets_holdout", tweet_holdout(config)),
        ("council_eval", council_eval()),
        ("council_dev", council_dev()),
    ):
        predicted = [s.label for s in classifier.predict([e.text for e in examples])]
        by_kind = scores_by_kind([e.kind for e in examples], [e.label for e in examples], predicted)
        keep = ("n", "accuracy", "macro_f1", "f1")
        results[name] = {k: by_kind["all"][k] for k in keep}
        if name == "council_dev":
            results[name]["by_kind"] = {
                kind: {k: result[k] for k in ("n", "accuracy", "macro_f1")}
                for kind, result in by_kind.items()
                if kind != "all"
            }
    return results


def _versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def build(config: TrainingConfig = DEFAULT_CONFIG, *, force: bool = False) -> Path:
    """Build the model for ``config`` unless a complete one is cached; returns its directory."""
    key = cache_key(config)
    final = model_dir_for(key)
    if (final / COMPLETE_MARKER).is_file() and not force:
        print(f"sentiment model up to date: {final}")
        return final
    # A dir without the marker is a killed or failed build: start again from nothing.
    partial = final.with_name(final.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(final, ignore_errors=True)
    partial.mkdir(parents=True)
    started = time.monotonic()
    examples = training_set(config)
    log.info(
        "training on %d examples: %s", len(examples), dict(Counter(e.source for e in examples))
    )
    teacher = read_soft_labels(TEACHER_SOFT_LABELS) if config.distil_weight else {}
    taught = sum(e.text in teacher for e in examples)
    log.info("teacher soft labels for %d of %d training examples", taught, len(examples))
    train_started = time.monotonic()
    tokenizer, model = fine_tune(config, examples, teacher)
    train_seconds = time.monotonic() - train_started
    model.save_pretrained(str(partial / HF_SUBDIR))
    tokenizer.save_pretrained(str(partial / HF_SUBDIR))
    log.info("exporting int8 ONNX")
    export_int8_onnx(partial / HF_SUBDIR, partial / ONNX_INT8, config.onnx_opset)
    model_id = model_id_for(key)
    calibration = calibrate(partial, model_id, config)
    log.info("calibration on the dev split: %s", calibration)
    metrics = int8_metrics(partial, model_id, config, calibration["temperature"])
    manifest = {
        "model_id": model_id,
        "hash": key,
        "config": asdict(config),
        "labels": dict(enumerate(LABELS)),
        "training_examples": dict(Counter(f"{e.source}/{e.label}" for e in examples)),
        "teacher_labelled_examples": taught,
        "calibration": calibration,
        "metrics_int8": metrics,
        "training_seconds": round(train_seconds, 1),
        "build_seconds": round(time.monotonic() - started, 1),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": _versions(),
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (partial / COMPLETE_MARKER).write_text(model_id + "\n", encoding="utf-8")
    partial.rename(final)
    print(
        f"sentiment model built in {manifest['build_seconds']:.0f}s: {final}\n"
        f"  council_eval macro-F1 {metrics['council_eval']['macro_f1']}, "
        f"council_dev macro-F1 {metrics['council_dev']['macro_f1']} "
        f"(hard kinds {metrics['council_dev']['by_kind']['hard']['macro_f1']}), "
        f"tweets_holdout macro-F1 {metrics['tweets_holdout']['macro_f1']}"
    )
    return final
