"""Sentiment inference on the int8 ONNX model: offline, CPU, micro-batched by length."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast

import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from tokenizers import Tokenizer

from pipelines.sentiment.calibrate import mixed_strength, softmax
from pipelines.sentiment.config import (
    COMPLETE_MARKER,
    HF_SUBDIR,
    LABELS,
    MANIFEST,
    ONNX_INT8,
    ModelNotBuiltError,
    SentimentLabel,
)
from pipelines.sentiment.text import normalise

# Models built before calibration existed (recipe 1) have no calibration in their manifest:
# they run uncalibrated, and flag as mixed only what is close to an even split.
UNCALIBRATED: Final = {"temperature": 1.0, "mixed_at": 0.25}
# Micro-batches hold at most BATCH_ROWS texts and BATCH_TOKENS padded tokens (rows × longest).
# Single-threaded, CPU per text rises with bigger runs (64 rows of short posts: +21% over 16;
# the activations outgrow the core's cache) and with padding, so long texts go in fewer rows:
# on news-shaped texts (20-128 tokens) -6% CPU against fixed batches of 16, on short posts no
# measurable change (fixed, sorted batches pad them only ~5%), macro-F1 unchanged on the council
# eval set and the dev split (bench/bench_model.py).
BATCH_ROWS: Final = 16
BATCH_TOKENS: Final = 384


@dataclass(frozen=True)
class SentimentScore:
    """The predicted label, its calibrated probability, every class's probability, and
    whether both polarities are strongly present (``mixed``)."""

    label: SentimentLabel
    score: float
    probabilities: Mapping[SentimentLabel, float]
    mixed: bool = False


def pad_batch(ids: Sequence[Sequence[int]]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Right-pad token ids with 0 to the longest in the batch; returns ids and attention mask."""
    width = max(len(row) for row in ids)
    input_ids = np.zeros((len(ids), width), dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return input_ids, mask


def length_batches(
    lengths: Sequence[int], *, max_rows: int, token_budget: int | None
) -> list[list[int]]:
    """Indices of ``lengths`` sorted by length, cut into micro-batches of at most ``max_rows``
    rows whose padded size (rows × longest) stays within ``token_budget``; a row longer than
    the budget goes alone. ``token_budget=None``: fixed batches of ``max_rows``."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    budget = token_budget if token_budget is not None else max_rows * max(lengths, default=0)
    batches: list[list[int]] = []
    batch: list[int] = []
    for i in order:
        # Sorted ascending, so the row being added is the batch's widest: its padded size
        # if it joined is (rows + 1) × its own length.
        if batch and (len(batch) >= max_rows or (len(batch) + 1) * lengths[i] > budget):
            batches.append(batch)
            batch = []
        batch.append(i)
    if batch:
        batches.append(batch)
    return batches


def read_manifest(model_dir: Path) -> dict[str, Any]:
    """The build manifest of a complete model dir, or ModelNotBuiltError saying how to build it."""
    if not (model_dir / COMPLETE_MARKER).is_file():
        raise ModelNotBuiltError(
            f"no complete sentiment model at {model_dir}: run `make model` "
            "(python -m pipelines.sentiment build) first"
        )
    return cast(dict[str, Any], json.loads((model_dir / MANIFEST).read_text(encoding="utf-8")))


class SentimentClassifier:
    """negative / neutral / positive for short posts, from a model dir made by ``build``."""

    def __init__(
        self,
        session: Any,
        tokenizer: Tokenizer,
        model_id: str,
        *,
        batch_size: int = BATCH_ROWS,
        token_budget: int | None = BATCH_TOKENS,
        temperature: float = 1.0,
        mixed_at: float = UNCALIBRATED["mixed_at"],
    ) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._model_id = model_id
        self._batch_size = batch_size
        self._token_budget = token_budget
        self._temperature = temperature
        self._mixed_at = mixed_at

    @classmethod
    def load(
        cls,
        model_dir: Path,
        *,
        batch_size: int = BATCH_ROWS,
        token_budget: int | None = BATCH_TOKENS,
        threads: int = 0,
    ) -> SentimentClassifier:
        """Open a built model dir: int8 ONNX model and tokenizer (threads=0: onnxruntime chooses;
        micro-batches of at most ``batch_size`` rows and ``token_budget`` padded tokens)."""
        manifest = read_manifest(model_dir)
        calibration = manifest.get("calibration", UNCALIBRATED)
        return cls.open(
            model_dir / ONNX_INT8,
            model_dir / HF_SUBDIR / "tokenizer.json",
            model_id=str(manifest["model_id"]),
            max_len=int(manifest["config"]["inference_max_len"]),
            batch_size=batch_size,
            token_budget=token_budget,
            threads=threads,
            temperature=float(calibration["temperature"]),
            mixed_at=float(calibration["mixed_at"]),
        )

    @classmethod
    def open(
        cls,
        onnx_path: Path,
        tokenizer_path: Path,
        *,
        model_id: str,
        max_len: int,
        batch_size: int = BATCH_ROWS,
        token_budget: int | None = BATCH_TOKENS,
        threads: int = 0,
        temperature: float = 1.0,
        mixed_at: float = UNCALIBRATED["mixed_at"],
    ) -> SentimentClassifier:
        """Open an ONNX model and tokenizer.json directly (used while building)."""
        tokenizer = Tokenizer.from_file(str(tokenizer_path))
        tokenizer.no_padding()
        tokenizer.enable_truncation(max_length=max_len)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle onnxruntime threads sleep instead of spinning: in a worker the model shares two
        # cores with Kafka, Elasticsearch and the event loop, and spinning starves them
        # (make bench: end-to-end +20%, the model alone -15%).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = ort.InferenceSession(
            str(onnx_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        return cls(
            session,
            tokenizer,
            model_id,
            batch_size=batch_size,
            token_budget=token_budget,
            temperature=temperature,
            mixed_at=mixed_at,
        )

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def temperature(self) -> float:
        return self._temperature

    def predict_proba(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Calibrated class probabilities (rows in input order, columns in LABELS order)."""
        return softmax(self.predict_logits(texts), self._temperature)

    def predict_logits(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """Raw logits (rows in input order, columns in LABELS order): what calibration fits."""
        out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch([normalise(t) for t in texts])
        ids = [e.ids for e in encodings]
        # Sorting by length keeps padding, and so wasted work, small in each micro-batch.
        lengths = [len(row) for row in ids]
        for chunk in length_batches(
            lengths, max_rows=self._batch_size, token_budget=self._token_budget
        ):
            input_ids, mask = pad_batch([ids[i] for i in chunk])
            logits = self._session.run(None, {"input_ids": input_ids, "attention_mask": mask})[0]
            out[chunk] = np.asarray(logits, dtype=np.float32)
        return out

    def predict(self, texts: Sequence[str]) -> list[SentimentScore]:
        """One SentimentScore per text, in input order."""
        proba = self.predict_proba(texts)
        mixed = mixed_strength(proba) >= self._mixed_at
        return [scores_from_row(row, bool(m)) for row, m in zip(proba, mixed, strict=True)]


def scores_from_row(row: npt.NDArray[np.float32], mixed: bool = False) -> SentimentScore:
    """The SentimentScore for one row of class probabilities."""
    best = int(row.argmax())
    probabilities = {label: round(float(p), 6) for label, p in zip(LABELS, row, strict=True)}
    return SentimentScore(
        label=LABELS[best], score=float(row[best]), probabilities=probabilities, mixed=mixed
    )
