"""The teacher's head and its out-of-fold soft labels, on features with known answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from pipelines.sentiment.datasets import Example, read_soft_labels
from pipelines.sentiment.teacher import fit_head, out_of_fold_proba, write_soft_labels

pytestmark = pytest.mark.unit


def test_the_head_learns_separable_classes() -> None:
    rng = np.random.default_rng(1)
    centres = np.eye(3, 8, dtype=np.float32) * 4
    labels = rng.integers(0, 3, size=300).tolist()
    features = (centres[labels] + rng.normal(0, 0.5, (300, 8))).astype(np.float32)
    head = fit_head(features, labels)
    with torch.inference_mode():
        predicted = head(torch.from_numpy(features)).argmax(dim=1).tolist()
    assert np.mean(np.asarray(predicted) == np.asarray(labels)) > 0.95


def test_out_of_fold_labels_do_not_echo_a_memorised_gold_label() -> None:
    # Every row has its own feature and a random label: a head fitted on a row memorises it,
    # one that never saw the row can only guess. Soft labels must be the guess.
    rng = np.random.default_rng(2)
    n = 150
    features = np.eye(n, dtype=np.float32)
    labels = rng.integers(0, 3, size=n).tolist()
    head = fit_head(features, labels, l2=0.0)
    with torch.inference_mode():
        in_sample = torch.softmax(head(torch.from_numpy(features)), -1).numpy()
    out_of_fold = out_of_fold_proba(features, labels)
    rows = np.arange(n)
    assert np.allclose(out_of_fold.sum(axis=1), 1.0, atol=1e-5)
    assert in_sample[rows, labels].mean() > 0.9
    assert out_of_fold[rows, labels].mean() < 0.5


def test_soft_labels_file_round_trips_by_normalised_text(tmp_path: Path) -> None:
    path = tmp_path / "soft.jsonl"
    examples = [
        Example("Bins STILL not done 🤬", "negative", "council"),
        Example("lovely park", "positive", "crowdflower"),
    ]
    write_soft_labels(path, examples, np.array([[0.8, 0.15, 0.05], [0.1, 0.2, 0.7]]))
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [row["source"] for row in lines] == ["council", "crowdflower"]
    soft = read_soft_labels(path)
    assert soft["Bins still [shouting] not done [furious swearing face]"] == (0.8, 0.15, 0.05)
    assert soft["lovely park"] == (0.1, 0.2, 0.7)
