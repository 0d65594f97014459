"""Retention: how long each kind of data is kept, and deleting what is past it.

Mentions and alerts live in monthly indices ``<prefix>-<kind>-YYYY.MM``, so
retention deletes whole indices: with ``keep_months.mentions: 12``, on any day
of May 2026 the indices of April 2025 and older are deleted. Every document is
therefore kept for at least the stated number of whole months and at most one
month more. Only names of exactly that form are touched.

Dead letters live in Kafka's ``*.dlq`` topics, whose ``retention.ms`` (from
their declarations in ``schemas/topics``) does the deleting; a month counts as
30 days there. A unit test keeps the declarations equal to this policy, and
``earshot retention apply`` checks the live brokers' topics against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal

from elasticsearch import ApiError, Elasticsearch
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient
from kafka.errors import KafkaError
from pydantic import BaseModel, ConfigDict, Field

from common.elastic import alias, single_index
from common.topics import declarations
from common.yamlconfig import load_yaml

DAY_MS = 86_400_000
DAYS_PER_MONTH = 30
MONTHLY_KINDS = ("mentions", "alerts")


class KeepMonths(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    mentions: int = Field(ge=1, le=120)
    alerts: int = Field(ge=1, le=120)
    dead_letters: int = Field(ge=1, le=24)
    communities: int = Field(default=1, ge=1, le=120)
    """Community records not updated for this many months (a worker gone for good) are deleted."""


class RetentionPolicy(BaseModel):
    """Schema of ``deploy/config/retention.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    keep_months: KeepMonths

    def months(self, kind: str) -> int:
        return int(getattr(self.keep_months, kind))

    @property
    def dead_letter_ms(self) -> int:
        """The ``retention.ms`` every dead-letter topic should have."""
        return self.keep_months.dead_letters * DAYS_PER_MONTH * DAY_MS


def load_policy(path: Path) -> RetentionPolicy:
    """Read the policy; a mistake is a ConfigError naming file, line and field."""
    return load_yaml(path, RetentionPolicy)


def _month_number(year: int, month: int) -> int:
    return year * 12 + month - 1


def expired(names: list[str], index_prefix: str, kind: str, months: int, today: date) -> list[str]:
    """The monthly indices of ``kind`` among ``names`` whose month is past ``months``, oldest first."""
    pattern = re.compile(rf"^{re.escape(index_prefix)}-{re.escape(kind)}-(\d{{4}})\.(\d{{2}})$")
    cutoff = _month_number(today.year, today.month) - months
    old = []
    for name in names:
        match = pattern.match(name)
        valid = match is not None and 1 <= int(match.group(2)) <= 12
        if valid and match and _month_number(int(match.group(1)), int(match.group(2))) < cutoff:
            old.append(name)
    return sorted(old)


@dataclass(frozen=True)
class Deletion:
    index: str
    kind: str
    docs: int


def plan(
    es: Elasticsearch, index_prefix: str, policy: RetentionPolicy, today: date
) -> list[Deletion]:
    """What :func:`apply` would delete, with each index's document count."""
    out = []
    for kind in MONTHLY_KINDS:
        found = es.indices.get(index=f"{index_prefix}-{kind}-*", expand_wildcards="open,closed")
        for name in expired(list(found), index_prefix, kind, policy.months(kind), today):
            out.append(Deletion(name, kind, _count(es, name)))
    return out


def _count(es: Elasticsearch, index: str) -> int:
    try:
        return int(es.count(index=index)["count"])
    except ApiError:
        return -1  # a closed index cannot be counted; it is deleted all the same


def apply(es: Elasticsearch, deletions: list[Deletion]) -> list[Deletion]:
    """Delete the planned indices one by one (by exact name); returns those deleted."""
    done = []
    for deletion in deletions:
        es.indices.delete(index=deletion.index)
        done.append(deletion)
    return done


def stale_communities(es: Elasticsearch, index_prefix: str, months: int, today: date) -> list[str]:
    """Ids of community records the worker has not updated since the cutoff month began.

    The worker itself deletes a record once its space falls below k authors in the week,
    so only records left behind by a worker that stopped for good are ever stale.
    """
    month = _month_number(today.year, today.month) - months
    cutoff = date(month // 12, month % 12 + 1, 1).isoformat()
    try:
        hits = es.search(
            index=alias(index_prefix, "communities"),
            query={"range": {"updated_at": {"lt": cutoff}}},
            size=10_000,
            source=False,
        )["hits"]["hits"]
    except ApiError as exc:
        if exc.meta.status == 404:
            return []
        raise
    return sorted(h["_id"] for h in hits)


def delete_communities(es: Elasticsearch, index_prefix: str, ids: list[str]) -> int:
    """Delete community records by id (by id, not by query: it works on every Elasticsearch)."""
    if not ids:
        return 0
    index = single_index(index_prefix, "communities")
    operations = [{"delete": {"_index": index, "_id": i}} for i in ids]
    response = es.bulk(operations=operations, refresh=True)
    return sum(1 for item in response["items"] if item["delete"]["status"] in (200, 404))


@dataclass(frozen=True)
class TopicCheck:
    topic: str
    retention_ms: int | None
    wanted_ms: int

    @property
    def ok(self) -> bool:
        return self.retention_ms == self.wanted_ms


def dead_letter_topics() -> list[str]:
    """Declared dead-letter topics (their names end in ``.dlq``)."""
    return sorted(name for name in declarations() if name.endswith(".dlq"))


def check_dead_letters(
    bootstrap: str, topic_prefix: str, policy: RetentionPolicy
) -> list[TopicCheck]:
    """Each live dead-letter topic's ``retention.ms`` against the policy (None: topic missing)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="earshot-retention")
    try:
        checks = []
        for name in dead_letter_topics():
            topic = f"{topic_prefix}{name}"
            try:
                described = admin.describe_configs(
                    [ConfigResource(ConfigResourceType.TOPIC, topic)]
                )
            except KafkaError:
                value = None
            else:
                entries = described.get("topic", {}).get(topic, {})
                value = entries.get("retention.ms", {}).get("value")
            checks.append(
                TopicCheck(topic, int(value) if value is not None else None, policy.dead_letter_ms)
            )
        return checks
    finally:
        admin.close()
