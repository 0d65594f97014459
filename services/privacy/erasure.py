"""Erasure on request: remove one person's mentions everywhere and keep them out for good.

Contract of :meth:`Eraser.erase`, in this order:

1. an audit document is written with status ``started`` (so even a crash leaves a trace);
2. the person's mentions are found in every monthly mentions index: by the
   pseudonym of (source kind, id) computed with the deployment's secret, by the
   raw ``kind:id`` of deployments that keep raw ids, and by handle where handles
   are kept; every pseudonym found is an erased *subject*;
3. a tombstone per subject goes to ``privacy.tombstones.v1`` and is durable
   before anything is deleted, so workers stop indexing the person first;
4. the mentions are deleted (``_bulk`` by id, every item checked);
5. after ``settle_s`` (time for every worker to refresh its tombstones) the
   search runs again and deletes what was in flight during step 4;
6. the erased mention ids are removed from the alerts audit (``mention_ids``);
   the email audit itself (who was emailed, when, under which rule) stays;
7. the audit document is completed with counts, subjects and tombstone offsets.

What it cannot reach is reported, not hidden: Kafka topics with a delete
policy (mentions, alerts, dead letters) keep the posts until their retention
ends; the tombstone stops those copies from being indexed again.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from common.elastic import alias
from common.privacy import Pseudonymiser
from services.privacy.audit import AuditLog, now_iso, operator_name
from services.privacy.esops import Hit, bulk, delete_hits, scan
from services.privacy.tombstones import TombstoneWriter

AUTHOR_FIELDS = ("author.id", "author.scheme")
CHUNK = 1000


@dataclass(frozen=True)
class ErasureRequest:
    """Who to erase, as ops were given it: a source kind and the author's id or handle there."""

    source_kind: str
    author: str
    reason: str | None = None


@dataclass
class ErasureReport:
    audit_id: str
    subjects: list[str] = field(default_factory=list)
    mentions_deleted: int = 0
    late_deleted: int = 0
    alerts_scrubbed: int = 0
    tombstones: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class _Target:
    """What identifies the person in stored documents; grows as matches reveal raw ids."""

    kind: str
    subjects: set[str]
    raw_ids: set[str]
    handles: set[str]

    def query(self) -> dict[str, Any]:
        ids = sorted(self.subjects | self.raw_ids)
        return {
            "bool": {
                "filter": [{"term": {"source.kind": self.kind}}],
                "should": [
                    {"terms": {"author.id": ids}},
                    {"terms": {"author.handle": sorted(self.handles)}},
                ],
                "minimum_should_match": 1,
            }
        }


def _chunks(values: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class Eraser:
    """Erases authors from the mentions and alerts indices of one deployment (see module doc)."""

    def __init__(
        self,
        es: Elasticsearch,
        index_prefix: str,
        pseudonymiser: Pseudonymiser,
        tombstones: TombstoneWriter,
        audit: AuditLog,
        *,
        settle_s: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._es = es
        self._mentions = alias(index_prefix, "mentions")
        self._alerts = alias(index_prefix, "alerts")
        self._p = pseudonymiser
        self._tombstones = tombstones
        self._audit = audit
        self._settle_s = settle_s
        self._sleep = sleep
        self._clock = clock

    def erase(self, request: ErasureRequest) -> ErasureReport:
        """Run the erasure; the audit record says ``done`` or ``failed`` (then it re-raises)."""
        started = self._clock()
        report = ErasureReport(audit_id=uuid.uuid4().hex)
        value = request.author.strip()
        target = _Target(
            kind=request.source_kind,
            subjects={self._p.pseudonym(request.source_kind, value)},
            raw_ids={f"{request.source_kind}:{value}"},
            handles={value, value.lstrip("@")},
        )
        doc: dict[str, Any] = {
            "audit_id": report.audit_id,
            "action": "privacy.erase",
            "status": "started",
            "started_at": now_iso(),
            "operator": operator_name(),
            "reason": request.reason,
            "dry_run": False,
            "source_kind": request.source_kind,
            "subjects": sorted(target.subjects),
        }
        self._audit.record(doc)
        try:
            hits = self._find(target)
            self._tombstone(target, report)
            report.mentions_deleted = self._delete(hits)
            self._sleep(self._settle_s)
            late = self._find(target)
            self._tombstone(target, report)
            report.late_deleted = self._delete(late)
            erased = sorted({h.id for h in (*hits, *late)})
            report.alerts_scrubbed = self._scrub_alerts(erased)
        except Exception as exc:
            doc.update(
                status="failed", finished_at=now_iso(), error=f"{type(exc).__name__}: {exc}"[:2000]
            )
            self._audit.record(doc)
            raise
        report.subjects = sorted(target.subjects)
        report.seconds = self._clock() - started
        doc.update(
            status="done",
            finished_at=now_iso(),
            subjects=report.subjects,
            tombstones=report.tombstones,
            counts={
                "mentions_deleted": report.mentions_deleted,
                "mentions_deleted_late": report.late_deleted,
                "alerts_scrubbed": report.alerts_scrubbed,
            },
        )
        self._audit.record(doc)
        return report

    def _find(self, target: _Target) -> list[Hit]:
        # A refresh first, so posts indexed in the last second are searchable (and found) too.
        self._refresh(self._mentions)
        hits = list(scan(self._es, self._mentions, target.query(), AUTHOR_FIELDS))
        for hit in hits:
            author = hit.source.get("author") or {}
            if author.get("scheme") == "raw":
                # A handle match reveals the native id: erase (and tombstone) that identity too.
                raw = str(author["id"])
                target.raw_ids.add(raw)
                kind, _, native = raw.partition(":")
                target.subjects.add(self._p.pseudonym(kind, native))
            elif author.get("id"):
                target.subjects.add(str(author["id"]))
        return hits

    def _tombstone(self, target: _Target, report: ErasureReport) -> None:
        done = {t.split("=", 1)[0] for t in report.tombstones}
        for subject in sorted(target.subjects - done):
            record = {
                "v": 1,
                "erased_at": now_iso(),
                "source_kind": target.kind,
                "audit_id": report.audit_id,
            }
            written = self._tombstones.write(subject, record)
            report.tombstones.append(f"{subject}={written}")

    def _refresh(self, index: str) -> None:
        with contextlib.suppress(NotFoundError):
            self._es.indices.refresh(index=index)

    def _delete(self, hits: list[Hit]) -> int:
        if not hits:
            return 0
        gone = delete_hits(self._es, hits, sleep=self._sleep)
        self._refresh(self._mentions)
        return gone

    def _scrub_alerts(self, erased_ids: list[str]) -> int:
        """Drop erased mention ids from email audit documents; returns documents changed."""
        if not erased_ids:
            return 0
        erased = set(erased_ids)
        self._refresh(self._alerts)
        updates: dict[tuple[str, str], list[str]] = {}
        for chunk in _chunks(erased_ids, CHUNK):
            for hit in scan(
                self._es, self._alerts, {"terms": {"mention_ids": chunk}}, ["mention_ids"]
            ):
                kept = [m for m in hit.source.get("mention_ids", []) if m not in erased]
                updates[(hit.index, hit.id)] = kept
        actions = [
            ({"update": {"_index": index, "_id": doc_id}}, {"doc": {"mention_ids": kept}})
            for (index, doc_id), kept in sorted(updates.items())
        ]
        done, _ = bulk(self._es, actions, sleep=self._sleep)
        self._refresh(self._alerts)
        return done
