"""Audit of every email in Elasticsearch (alias ``<prefix>-alerts``), off the sending path.

The documents (no resident text: ids, people's teams, times) are one per sent
email, one per alert folded into an earlier incident's email (``folded``) and one
per newer edit of an alert already emailed (``edited``, never emailed again).

Emails do not wait for Elasticsearch: a sent email's audit document is already
durable in the ledger, and this writer indexes it in the background (``_id`` =
Message-ID, so a repeat overwrites) with the sink's retry-forever policy, then
tells the ledger it is done. While Elasticsearch is down, audits queue up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from common.bulk import BulkIndexer, Doc
from common.elastic import monthly_index
from schemas.models import Alert
from services.notifier.digest import Held, copies_in
from services.notifier.incidents import Match
from services.notifier.render import Email

log = logging.getLogger(__name__)


def audit_doc(
    email: Email, sent_at: datetime, refused: Mapping[str, Any], held: Sequence[Held]
) -> dict[str, Any]:
    """The audit record of one sent email (no resident text: ids, people's teams, times)."""
    alerts = [h.alert for h in held]
    folded = sorted(copies_in(held))
    return {
        "message_id": email.message_id,
        "kind": email.kind,
        "department": email.department,
        "recipients": list(email.recipients),
        "refused": sorted(refused),
        "alert_ids": list(email.alert_ids),
        "rule_ids": sorted({a.rule_id for a in alerts}),
        "mention_ids": sorted({a.mention.mention_id for a in alerts if a.mention}),
        "alert_count": len(email.alert_ids),
        "held_throttled": sum(h.why == "throttled" for h in held),
        "held_quiet_hours": sum(h.why == "quiet_hours" for h in held),
        "subject": email.subject,
        "sent_at": sent_at.isoformat(),
    } | ({"folded_alert_ids": folded} if folded else {})


def fold_doc(alert: Alert, match: Match, into: str, at: datetime) -> dict[str, Any]:
    """The audit record of an alert folded into the email ``into`` of an earlier incident."""
    return _unsent(alert, f"folded.{alert.alert_id}", "folded", at) | {
        "folded_into": into,
        "incident_of": match.incident.alert_id,
        "similarity": round(match.containment, 3),
        "edited_at": edited_at_of(alert),
    }


def edit_doc(alert: Alert, edited_at: datetime, edit_of: str, at: datetime) -> dict[str, Any]:
    """The audit record of a newer edit of an alert already emailed as ``edit_of`` (not re-sent).

    Its id is the alert's and the edit time's, so a replay of the same edit overwrites it.
    """
    message_id = f"edited.{alert.alert_id}.{int(edited_at.timestamp())}"
    return _unsent(alert, message_id, "edited", at) | {
        "edit_of": edit_of,
        "edited_at": edited_at.isoformat(),
    }


def edited_at(alert: Alert) -> datetime | None:
    """The edit time of the mention version ``alert`` carries (None: unedited, or a spike)."""
    return alert.mention.edited_at if alert.mention else None


def edited_at_of(alert: Alert) -> str | None:
    """:func:`edited_at` as stored in audit documents and ledger entries (ISO, or None)."""
    edited = edited_at(alert)
    return edited.isoformat() if edited else None


def _unsent(alert: Alert, message_id: str, kind: str, at: datetime) -> dict[str, Any]:
    """The fields of an audit record about one alert that no email carried."""
    return {
        "message_id": message_id,
        "kind": kind,
        "department": alert.department,
        "recipients": [],
        "refused": [],
        "alert_ids": [alert.alert_id],
        "rule_ids": [alert.rule_id],
        "mention_ids": [alert.mention.mention_id] if alert.mention else [],
        "alert_count": 1,
        "held_throttled": 0,
        "held_quiet_hours": 0,
        "subject": "",
        "sent_at": at.isoformat(),
    }


class AuditWriter:
    """Queue of audit documents drained into monthly ``alerts`` indices."""

    def __init__(
        self,
        indexer: BulkIndexer,
        index_prefix: str,
        on_indexed: Callable[[str], None],
        batch_max: int = 200,
    ) -> None:
        self._indexer = indexer
        self._prefix = index_prefix
        self._on_indexed = on_indexed
        self._batch_max = batch_max
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.indexed = 0

    def submit(self, doc: dict[str, Any]) -> None:
        """Queue one audit document (from :func:`audit_doc`, :func:`fold_doc` or :func:`edit_doc`)."""
        self._queue.put_nowait(doc)

    def pending(self) -> int:
        """Audit documents not indexed yet."""
        return self._queue.qsize()

    async def run(self) -> None:
        """Index queued documents forever (cancel to stop)."""
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch_max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        docs = [
            Doc(
                monthly_index(self._prefix, "alerts", datetime.fromisoformat(d["sent_at"])),
                d["message_id"],
                d,
                d["message_id"],
            )
            for d in batch
        ]
        outcome = await self._indexer.write(docs)
        for message_id, reason in outcome.rejected:
            log.error("audit of %s rejected by Elasticsearch, not retried: %s", message_id, reason)
        for doc in docs:
            self._on_indexed(doc.id)
        self.indexed += outcome.indexed

    async def drain(self, timeout_s: float) -> bool:
        """Wait until the queue is empty; False when ``timeout_s`` ran out first."""
        try:
            await asyncio.wait_for(self._queue.join(), timeout_s)
        except TimeoutError:
            return False
        return True
