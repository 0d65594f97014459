"""Elasticsearch operations for erasure that work on every cluster: scan, then ``_bulk`` by id.

``_delete_by_query`` lives in the reindex module, which some clusters (the
local integ-test server among them) lack, so deletes are a point-in-time scan
followed by ``_bulk`` deletes of the ids found. Every bulk item is checked: a
404 means the document is already gone (fine for a delete); 429 and 5xx are
retried under the project policy; anything else stops with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from elasticsearch import ApiError, ConnectionError, ConnectionTimeout, Elasticsearch, NotFoundError

from common.retry import Retryable, RetryPolicy, retry_sync

BULK_POLICY = RetryPolicy(base=0.5, cap=30.0, max_attempts=10)
PAGE = 1000


class BulkItemFailed(Exception):
    """Elasticsearch refused an item for a reason retrying will not fix."""


@dataclass(frozen=True)
class Hit:
    index: str
    id: str
    source: dict[str, Any]


def scan(
    es: Elasticsearch,
    index: str,
    query: dict[str, Any],
    fields: Sequence[str] = (),
    page: int = PAGE,
) -> Iterator[Hit]:
    """Every document matching ``query`` in ``index`` (an alias is fine), from a point in time.

    The point in time freezes what is scanned, so deleting while scanning is safe.
    A missing index or alias yields nothing.
    """
    try:
        pit = es.open_point_in_time(index=index, keep_alive="2m")["id"]
    except NotFoundError:
        return
    after: list[Any] | None = None
    try:
        while True:
            found = es.search(
                pit={"id": pit, "keep_alive": "2m"},
                query=query,
                size=page,
                sort=[{"_shard_doc": "asc"}],
                search_after=after,
                source={"includes": list(fields)} if fields else False,
                track_total_hits=False,
            )
            pit = found.get("pit_id", pit)
            hits = found["hits"]["hits"]
            for hit in hits:
                yield Hit(hit["_index"], hit["_id"], hit.get("_source") or {})
            if len(hits) < page:
                return
            after = hits[-1]["sort"]
    finally:
        es.close_point_in_time(id=pit)


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


def bulk(
    es: Elasticsearch,
    actions: Sequence[tuple[dict[str, Any], dict[str, Any] | None]],
    policy: RetryPolicy = BULK_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[int, int]:
    """Run (action, body) pairs through ``_bulk`` until each is done; returns (done, already gone)."""
    pending = list(actions)
    done = gone = 0

    def attempt() -> None:
        nonlocal pending, done, gone
        operations: list[dict[str, Any]] = []
        for action, body in pending:
            operations.append(action)
            if body is not None:
                operations.append(body)
        try:
            response = es.bulk(operations=operations)
        except (ConnectionError, ConnectionTimeout) as exc:
            raise Retryable(f"Elasticsearch unreachable: {exc}") from exc
        except ApiError as exc:
            if _retryable(exc.meta.status):
                raise Retryable(f"bulk refused with {exc.meta.status}") from exc
            raise
        retry = []
        for pair, item in zip(pending, response["items"], strict=True):
            op, result = next(iter(item.items()))
            status = int(result.get("status", 500))
            if status < 300:
                done += 1
            elif status == 404:
                gone += 1
            elif _retryable(status):
                retry.append(pair)
            else:
                error = result.get("error") or {}
                raise BulkItemFailed(
                    f"{op} {result.get('_index')}/{result.get('_id')}: {status} "
                    f"{error.get('type', 'error')}: {error.get('reason', '')}"
                )
        pending = retry
        if pending:
            raise Retryable(f"{len(pending)} bulk items refused for now (429/5xx)")

    if pending:
        retry_sync(attempt, policy, sleep=sleep)
    return done, gone


def delete_hits(
    es: Elasticsearch, hits: Sequence[Hit], sleep: Callable[[float], None] = time.sleep
) -> int:
    """Delete ``hits`` by index and id; returns how many are gone now (deleted or already absent)."""
    done, gone = bulk(
        es, [({"delete": {"_index": h.index, "_id": h.id}}, None) for h in hits], sleep=sleep
    )
    return done + gone
