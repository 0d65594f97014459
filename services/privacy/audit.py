"""The privacy audit: one document per retention run and per erasure, in ``<prefix>-audit``.

A single index rather than monthly ones, so the retention command (which deletes
old monthly indices) can never delete the record of what it deleted. The alerts
index is the notifier's audit of emails, with a strict mapping of its own, so
these records live apart. An audit document holds no resident text: ids,
pseudonyms, counts, index names and who ran the command.
"""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch

AUDIT_MAPPING: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "audit_id": {"type": "keyword"},
        "action": {"type": "keyword"},
        "status": {"type": "keyword"},
        "started_at": {"type": "date"},
        "finished_at": {"type": "date"},
        "operator": {"type": "keyword"},
        "reason": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 512}}},
        "dry_run": {"type": "boolean"},
        "source_kind": {"type": "keyword"},
        "subjects": {"type": "keyword"},
        "indices": {"type": "keyword"},
        "counts": {"type": "object", "dynamic": True},
        "tombstones": {"type": "keyword"},
        "error": {"type": "text"},
        "details": {"type": "object", "enabled": False},
    },
}


def audit_index(index_prefix: str) -> str:
    """The audit index of a deployment (one index, never rolled over by retention)."""
    return f"{index_prefix}-audit"


def operator_name() -> str:
    """Who ran the command: ``EARSHOT_OPERATOR`` if set, else the login name."""
    return os.environ.get("EARSHOT_OPERATOR") or getpass.getuser()


def now_iso() -> str:
    """The current UTC time as ISO 8601, the form audit documents use."""
    return datetime.now(UTC).isoformat()


class AuditLog:
    """Writes audit documents (``_id`` = audit id, so a later status overwrites the first)."""

    def __init__(self, es: Elasticsearch, index_prefix: str) -> None:
        self._es = es
        self.index = audit_index(index_prefix)
        self._ready = False

    def _ensure(self) -> None:
        if self._ready:
            return
        if not self._es.indices.exists(index=self.index):
            try:
                self._es.indices.create(
                    index=self.index,
                    mappings=AUDIT_MAPPING,
                    settings={"number_of_shards": 1, "number_of_replicas": 0},
                )
            except BadRequestError as exc:
                # Two commands racing to create it: the other one won, which is fine.
                if exc.error != "resource_already_exists_exception":
                    raise
        self._ready = True

    def record(self, doc: dict[str, Any]) -> None:
        """Index (or overwrite) one audit document and make it searchable before returning."""
        self._ensure()
        # A forced refresh of this small index: the record is searchable the moment we return.
        self._es.index(index=self.index, id=doc["audit_id"], document=doc, refresh=True)
