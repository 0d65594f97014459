"""Watching progress: which mention ids Elasticsearch holds, sampled twice a second."""

from __future__ import annotations

import threading
import time
from collections import Counter

from elasticsearch import Elasticsearch

MAX_DOCS = 10_000  # one search page; scenarios stay below it


def indexed(es: Elasticsearch, alias: str) -> Counter[str]:
    """How many documents each ``_id`` (the mention id) has across the alias's indices."""
    if not es.indices.exists_alias(name=alias):
        return Counter()
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, size=MAX_DOCS, source=False, track_total_hits=True)["hits"]
    total = int(hits["total"]["value"])
    if total > MAX_DOCS:
        raise RuntimeError(f"{alias} holds {total} documents; the suite counts up to {MAX_DOCS}")
    return Counter(str(h["_id"]) for h in hits["hits"])


class IndexWatch(threading.Thread):
    """Samples ``alias`` until stopped; :attr:`first_seen` maps each id to when it first showed.

    Samples fail while Elasticsearch is down; :attr:`failed_samples` counts them.
    """

    def __init__(self, es_url: str, alias: str, every_s: float = 0.5) -> None:
        super().__init__(name=f"watch-{alias}", daemon=True)
        self._es = Elasticsearch(es_url, request_timeout=5, max_retries=0)
        self.alias = alias
        self.every_s = every_s
        self.first_seen: dict[str, float] = {}
        self.failed_samples = 0
        self._halt = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                ids = indexed(self._es, self.alias)
            except Exception:  # Elasticsearch down or restarting: the next sample will tell
                self.failed_samples += 1
            else:
                now = time.monotonic()
                with self._lock:
                    for i in ids:
                        self.first_seen.setdefault(i, now)
            self._halt.wait(self.every_s)

    def seen(self) -> dict[str, float]:
        with self._lock:
            return dict(self.first_seen)

    def count(self) -> int:
        with self._lock:
            return len(self.first_seen)

    def final(self) -> Counter[str]:
        """Every id and its number of documents, read once more now."""
        return indexed(self._es, self.alias)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=30)
        self._es.close()
