"""Accuracy and macro-F1 without scikit-learn."""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.sentiment.config import HARD_KINDS, KINDS, LABELS


def scores(gold: Sequence[str], predicted: Sequence[str]) -> dict[str, object]:
    """Accuracy, macro-F1, per-class F1 and a confusion matrix (rows gold, columns predicted)."""
    if len(gold) != len(predicted):
        raise ValueError("gold and predicted differ in length")
    confusion: dict[str, dict[str, int]] = {g: dict.fromkeys(LABELS, 0) for g in LABELS}
    for g, p in zip(gold, predicted, strict=True):
        confusion[g][p] += 1
    f1: dict[str, float] = {}
    for label in LABELS:
        tp = confusion[label][label]
        fp = sum(confusion[g][label] for g in LABELS) - tp
        fn = sum(confusion[label].values()) - tp
        f1[label] = round(2 * tp / (2 * tp + fp + fn), 4) if tp else 0.0
    correct = sum(confusion[label][label] for label in LABELS)
    # A label neither in the gold nor predicted (a kind with no neutral posts) has no F1.
    seen = [label for label in LABELS if label in gold or label in predicted]
    return {
        "n": len(gold),
        "accuracy": round(correct / len(gold), 4) if gold else 0.0,
        "macro_f1": round(sum(f1[label] for label in seen) / len(seen), 4) if seen else 0.0,
        "f1": f1,
        "confusion": confusion,
    }


def scores_by_kind(
    kinds: Sequence[str], gold: Sequence[str], predicted: Sequence[str]
) -> dict[str, dict[str, object]]:
    """``scores`` for every kind, for all hard kinds together ("hard") and for everything ("all")."""
    groups: dict[str, list[int]] = {"all": list(range(len(gold))), "hard": []}
    groups.update({kind: [] for kind in KINDS})
    for i, kind in enumerate(kinds):
        groups.setdefault(kind, []).append(i)
        if kind in HARD_KINDS:
            groups["hard"].append(i)
    return {
        name: scores([gold[i] for i in rows], [predicted[i] for i in rows])
        for name, rows in groups.items()
        if rows
    }
