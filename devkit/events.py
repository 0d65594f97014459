"""Builders of real-shaped events for tests, from the contract examples."""

from __future__ import annotations

from pathlib import Path

from schemas.codec import decode
from schemas.ids import mention_id
from schemas.models import EnrichedMention, Mention, Source

EXAMPLES = Path(__file__).resolve().parents[1] / "schemas" / "examples"


def example_mention(name: str = "mastodon_pothole") -> Mention:
    return decode((EXAMPLES / "mention.v1" / "valid" / f"{name}.json").read_bytes(), Mention)


def example_enriched(name: str = "pothole_haringey") -> EnrichedMention:
    path = EXAMPLES / "enriched_mention.v1" / "valid" / f"{name}.json"
    return decode(path.read_bytes(), EnrichedMention)


def numbered_mentions(count: int, kind: str = "rss") -> list[Mention]:
    """``count`` distinct mentions with stable ids, for throughput and exactly-once checks."""
    base = example_mention()
    out = []
    for i in range(count):
        native = f"demo-{i}"
        out.append(
            base.model_copy(
                update={
                    "mention_id": mention_id(kind, native),
                    "source": Source(kind=kind, instance="demo", native_id=native),
                    "text": f"{base.text} (report {i})",
                }
            )
        )
    return out
