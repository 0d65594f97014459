"""The ledger of sent alerts: a compacted Kafka topic (``notifier.sent.v1``) mirrored in memory.

Keys and values (JSON):

* ``alert:<alert_id>`` → ``{department, kind, message_id, sent_at}``: this alert's
  email was accepted by the SMTP server. Never sent again. An alert that opened an
  incident also carries ``incident`` (its text's sketch, posting time and ward, no
  readable text) so copies after a restart still fold into it; ``kind: folded``
  marks a copy recorded against the email ``message_id`` of its incident
  (``incident_of``), never emailed itself. ``edited_at`` is the edit time of the
  mention's version last emailed, folded or audited as an edit (null: the unedited
  post), so a replayed edit or an older version is not audited twice.
* ``audit:<message_id>`` → the email's audit document, written with the alert keys
  and deleted (tombstone) once Elasticsearch holds it, so an audit that could not
  be indexed before a crash is indexed at the next start.

The notifier reads the whole topic at start (and again whenever it is given
partitions of ``alerts.v1``, to see what another instance sent), then keeps the
in-memory view up to date with its own writes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.errors import KafkaError

from common.kafkaclients import RECONNECT
from common.retry import Retryable
from services.notifier.render import Email

log = logging.getLogger(__name__)
THROTTLE_MEMORY = timedelta(days=1)


class LedgerUnavailable(RuntimeError):
    """The ledger topic does not exist: run ``python -m services.cli topics`` first."""


class KafkaLedger:
    """Which alert ids were emailed, durably; see the module docstring for the record layout."""

    def __init__(
        self, bootstrap: str, topic: str, producer: KafkaProducer, timeout_s: float = 30.0
    ) -> None:
        self._bootstrap = bootstrap
        self._topic = topic
        self._producer = producer
        self._timeout_s = timeout_s
        self._reader: KafkaConsumer | None = None
        self._sent: dict[str, dict[str, Any]] = {}
        self._immediate: list[tuple[str, datetime]] = []
        self.unaudited: dict[str, dict[str, Any]] = {}

    def __len__(self) -> int:
        return len(self._sent)

    def load(self) -> None:
        """Read the whole ledger topic (blocking; call once at start)."""
        reader = KafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id="earshot-notifier-ledger",
            **RECONNECT,
        )
        partitions = reader.partitions_for_topic(self._topic)
        if not partitions:
            reader.close()
            raise LedgerUnavailable(
                f"ledger topic {self._topic} does not exist; create the topics first"
            )
        tps = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        reader.assign(tps)
        reader.seek_to_beginning(*tps)
        self._reader = reader
        self.catch_up()
        log.info("ledger: %d sent alerts, %d audits to redo", len(self._sent), len(self.unaudited))

    def catch_up(self) -> None:
        """Apply every ledger record written so far (by this or any other instance)."""
        reader = self._reader
        if reader is None:
            return
        tps = list(reader.assignment())
        ends = reader.end_offsets(tps)
        while any(reader.position(tp) < ends[tp] for tp in tps):
            for records in reader.poll(timeout_ms=500, max_records=5000).values():
                for record in records:
                    self._apply(record.key.decode(), record.value)

    def _apply(self, key: str, value: bytes | None) -> None:
        kind, _, ident = key.partition(":")
        data = json.loads(value) if value is not None else None
        if kind == "alert":
            if data is None:
                self._sent.pop(ident, None)
                return
            self._sent[ident] = data
            if data.get("kind") == "immediate":
                at = datetime.fromisoformat(data["sent_at"])
                self._immediate.append((data["department"], at))
                if len(self._immediate) > 50_000:  # only the last day matters (throttle restore)
                    self._immediate = [x for x in self._immediate if x[1] >= at - THROTTLE_MEMORY]
        elif kind == "audit":
            if data is None:
                self.unaudited.pop(ident, None)
            else:
                self.unaudited[ident] = data

    def has(self, alert_id: str) -> bool:
        """True when an email carrying ``alert_id`` was accepted by the SMTP server."""
        return alert_id in self._sent

    def carried(self, alert_id: str) -> tuple[str, datetime | None] | None:
        """(Message-ID that carried ``alert_id``, edit time of that version), or None if unrecorded."""
        entry = self._sent.get(alert_id)
        if entry is None:
            return None
        edited = entry.get("edited_at")
        return str(entry["message_id"]), datetime.fromisoformat(edited) if edited else None

    def record(
        self,
        email: Email,
        sent_at: datetime,
        audit: dict[str, Any],
        notes: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        """Write the audit document and one entry per alert id (plus its ``notes``); wait for acks."""
        entry = {
            "department": email.department,
            "kind": email.kind,
            "message_id": email.message_id,
            "sent_at": sent_at.isoformat(),
        }
        notes = notes or {}
        self._write(
            email.message_id,
            audit,
            {a: {"alert_id": a, **entry, **notes.get(a, {})} for a in email.alert_ids},
        )

    def fold(self, alert_id: str, department: str, into: str, audit: dict[str, Any]) -> None:
        """Record ``alert_id`` as a copy of the incident emailed as ``into``; wait for acks."""
        entry = {
            "alert_id": alert_id,
            "department": department,
            "kind": "folded",
            "message_id": into,
            "incident_of": audit.get("incident_of"),
            "sent_at": audit["sent_at"],
            "edited_at": audit.get("edited_at"),
        }
        self._write(str(audit["message_id"]), audit, {alert_id: entry})

    def edit(self, alert_id: str, audit: dict[str, Any]) -> None:
        """Record the edit audited by ``audit`` as the version ``alert_id`` is at; wait for acks."""
        entry = {**self._sent[alert_id], "edited_at": audit["edited_at"]}
        self._write(str(audit["message_id"]), audit, {alert_id: entry})

    def _write(
        self, audit_id: str, audit: dict[str, Any], entries: dict[str, dict[str, Any]]
    ) -> None:
        pending = [self._send(f"audit:{audit_id}", audit)]
        pending += [self._send(f"alert:{a}", e) for a, e in entries.items()]
        try:
            self._producer.flush(timeout=self._timeout_s)
            for future in pending:
                future.get(timeout=self._timeout_s)
        except KafkaError as exc:
            raise Retryable(f"ledger topic {self._topic} not writable: {exc}") from exc
        self._apply(f"audit:{audit_id}", json.dumps(audit).encode())
        for a, e in entries.items():
            self._apply(f"alert:{a}", json.dumps(e).encode())

    def entries(self) -> Iterable[tuple[str, dict[str, Any]]]:
        """(alert id, ledger entry) of every alert recorded (for rebuilding the incidents)."""
        return list(self._sent.items())

    def audited(self, message_id: str) -> None:
        """Elasticsearch holds the audit document: drop it from the ledger (no wait needed)."""
        self.unaudited.pop(message_id, None)
        self._producer.send(self._topic, key=f"audit:{message_id}".encode(), value=None)

    def immediate_sends(self, since: datetime) -> Iterable[tuple[str, datetime]]:
        """(department, sent_at) of immediate emails read at start, for the throttle."""
        return [(d, at) for d, at in self._immediate if at >= since]

    def prune(self, before: datetime) -> int:
        """Tombstone alert entries sent before ``before`` (older than alerts.v1 can redeliver)."""
        old = [a for a, e in self._sent.items() if datetime.fromisoformat(e["sent_at"]) < before]
        for alert_id in old:
            del self._sent[alert_id]
            self._producer.send(self._topic, key=f"alert:{alert_id}".encode(), value=None)
        self._producer.flush(timeout=self._timeout_s)
        return len(old)

    def _send(self, key: str, value: dict[str, Any]) -> Any:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return self._producer.send(self._topic, key=key.encode(), value=raw)

    def close(self) -> None:
        """Close the reader (the producer belongs to the caller)."""
        if self._reader is not None:
            self._reader.close()
            self._reader = None
