"""Calibration: temperature scaling, expected calibration error, and the mixed threshold.

A fine-tuned classifier's top probability runs high (it says 0.95 where it is right
80% of the time). One temperature ``T`` divides every logit before the softmax; it
is fitted on the development split by minimising the negative log-likelihood,
which leaves every argmax (so every label) unchanged and makes the score a
probability a routing rule can put a floor on.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from pipelines.sentiment.config import LABEL_IDS

Floats = npt.NDArray[np.float32]
_NEGATIVE, _POSITIVE = LABEL_IDS["negative"], LABEL_IDS["positive"]
_GOLDEN = (math.sqrt(5) - 1) / 2


def softmax(logits: npt.NDArray[Any], temperature: float = 1.0) -> Floats:
    """Row-wise softmax of ``logits / temperature``, stable for large logits."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    shifted = np.exp(scaled - scaled.max(axis=1, keepdims=True))
    proba: Floats = (shifted / shifted.sum(axis=1, keepdims=True)).astype(np.float32)
    return proba


def negative_log_likelihood(logits: Floats, gold: Sequence[int], temperature: float) -> float:
    """Mean -log p(gold) under ``softmax(logits / temperature)``."""
    proba = softmax(logits, temperature).astype(np.float64)
    picked = proba[np.arange(len(gold)), np.asarray(gold)]
    return float(-np.log(np.clip(picked, 1e-12, 1.0)).mean())


def fit_temperature(
    logits: Floats, gold: Sequence[int], low: float = 0.2, high: float = 10.0
) -> float:
    """The temperature in [low, high] that minimises the NLL (golden-section search on log T;
    the NLL is unimodal in T for fixed logits)."""
    if len(gold) == 0:
        raise ValueError("cannot fit a temperature on no examples")
    a, b = math.log(low), math.log(high)
    for _ in range(60):
        c, d = b - _GOLDEN * (b - a), a + _GOLDEN * (b - a)
        if negative_log_likelihood(logits, gold, math.exp(c)) <= negative_log_likelihood(
            logits, gold, math.exp(d)
        ):
            b = d
        else:
            a = c
    return round(math.exp((a + b) / 2), 4)


def expected_calibration_error(proba: Floats, gold: Sequence[int], bins: int = 10) -> float:
    """Top-label ECE: the gap between confidence and accuracy, averaged over equal-width
    confidence bins weighted by how many predictions fall in each."""
    if len(gold) == 0:
        return 0.0
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == np.asarray(gold)).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for lower, upper in itertools.pairwise(edges.tolist()):
        inside = (confidence > lower) & (confidence <= upper)
        if inside.any():
            gap = abs(float(confidence[inside].mean()) - float(correct[inside].mean()))
            total += gap * float(inside.mean())
    return round(total, 4)


def mixed_strength(proba: Floats) -> npt.NDArray[np.float32]:
    """How strongly both polarities are present in each row: the smaller of P(neg), P(pos)."""
    return np.minimum(proba[:, _NEGATIVE], proba[:, _POSITIVE]).astype(np.float32)


def fit_mixed_threshold(
    proba: Floats, is_mixed: Sequence[bool], grid: Sequence[float] = (0.1, 0.125, 0.15, 0.2, 0.25)
) -> float:
    """The threshold on ``mixed_strength`` from ``grid`` that best separates the posts labelled
    mixed (F1 of the flag); ties go to the higher, stricter threshold."""
    strength = mixed_strength(proba)
    wanted = np.asarray(is_mixed, dtype=bool)
    best, best_f1 = max(grid), -1.0
    for threshold in sorted(grid, reverse=True):
        flagged = strength >= threshold
        tp = int((flagged & wanted).sum())
        f1 = 2 * tp / (int(flagged.sum()) + int(wanted.sum())) if tp else 0.0
        if f1 > best_f1:
            best, best_f1 = threshold, f1
    return best
