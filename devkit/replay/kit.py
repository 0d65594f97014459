"""Test kit for sources and the runtime: contexts over httpx transports, draining streams,
an in-process service on the real Kafka, a real service subprocess, committed reads."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import httpx
from kafka import KafkaConsumer, TopicPartition
from pydantic import SecretStr

from common.privacy import Pseudonymiser
from common.retry import RetryPolicy
from common.settings import KafkaSettings
from common.topics import ensure_topics
from devkit.waiting import wait_for_topics
from schemas.models import Mention
from services.ingest.registry import build_source
from services.ingest.runtime.api import Cursor, Page, SourceContext, Stream
from services.ingest.runtime.config import InstanceConfig
from services.ingest.runtime.cursors import load_cursors
from services.ingest.runtime.http import ApiClient, make_client
from services.ingest.runtime.producer import MentionProducer, Topics
from services.ingest.runtime.service import IngestService

ROOT = Path(__file__).resolve().parents[2]
Record = tuple[bytes | None, bytes, dict[str, bytes]]

FETCHED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SECRET = SecretStr("test-pseudonym-secret-0123456789")


async def _nowhere(mentions: Sequence[Mention]) -> None:
    raise AssertionError("this source must not deliver directly")


def context(
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    keep_raw: bool = False,
    environ: dict[str, str] | None = None,
    deliver: Callable[[Sequence[Mention]], Awaitable[None]] | None = None,
) -> SourceContext:
    """A context whose HTTP goes through ``transport`` (MockTransport or real)."""
    api = ApiClient(make_client(contact="tests@earshot.example", transport=transport))
    return SourceContext(
        pseudonymiser=Pseudonymiser(SECRET, keep_raw),
        http=api,
        deliver=deliver or _nowhere,
        now=lambda: FETCHED_AT,
        environ=environ or {},
    )


async def drain(stream: Stream, cursor: Cursor | None = None) -> list[Page]:
    """Every page of one pass of ``stream``."""
    return [page async for page in stream.pages(cursor)]


def files(mapping: dict[str, bytes], headers: dict[str, str] | None = None) -> httpx.MockTransport:
    """A transport answering each path in ``mapping`` with 200 and its bytes, else 404."""

    def handler(request: httpx.Request) -> httpx.Response:
        body = mapping.get(request.url.path)
        if body is None:
            return httpx.Response(404)
        return httpx.Response(200, content=body, headers=headers or {})

    return httpx.MockTransport(handler)


def wait_for_topic(bootstrap: str, topic: str, timeout_s: float = 30.0) -> None:
    """Block until ``topic``'s metadata is visible (a loaded broker publishes new topics late)."""
    wait_for_topics(bootstrap, [topic], timeout_s)


def read_committed(bootstrap: str, topic: str, timeout_s: float = 30.0) -> list[Record]:
    """Every committed record of ``topic`` up to its current end (aborted transactions skipped)."""
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        isolation_level="read_committed",
        auto_offset_reset="earliest",
    )
    out: list[Record] = []
    try:
        deadline = time.monotonic() + timeout_s
        while not consumer.partitions_for_topic(topic):  # a new topic's metadata can lag
            if time.monotonic() > deadline:
                raise AssertionError(f"topic {topic} has no partitions")
            consumer.topics()
            time.sleep(0.2)
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {topic} to its end in {timeout_s}s")
            for records in consumer.poll(timeout_ms=200).values():
                out.extend((r.key, r.value, dict(r.headers or [])) for r in records)
    finally:
        consumer.close()
    return out


class Harness:
    """An in-process ingestion service on the real Kafka, for integration tests.

    Waits the service asks for are recorded in ``waits`` (and really slept, capped
    at ``max_sleep``) so a test can check that a Retry-After was honoured.
    """

    def __init__(self, bootstrap: str, prefix: str, environ: dict[str, str] | None = None) -> None:
        ensure_topics(bootstrap, prefix=prefix)
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.environ = environ or {}
        self.topics = Topics.of(KafkaSettings(kafka_bootstrap=bootstrap, topic_prefix=prefix))
        for topic in (self.topics.mentions, self.topics.dead_letters, self.topics.cursors):
            wait_for_topic(bootstrap, topic)
        self.waits: list[float] = []
        self.max_sleep = 3.0
        self._service: IngestService | None = None
        self._task: asyncio.Task[None] | None = None
        self.api = ApiClient(make_client(contact="tests@earshot.example", timeout=5))

    @property
    def service(self) -> IngestService:
        assert self._service is not None, "start() first"
        return self._service

    async def _sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(min(seconds, self.max_sleep))

    async def start(self, configs: Sequence[InstanceConfig]) -> IngestService:
        producer = await asyncio.to_thread(
            MentionProducer, self.bootstrap, self.topics, transactional_id=self.prefix + "tx"
        )
        cursors = await asyncio.to_thread(load_cursors, self.bootstrap, self.topics.cursors)
        policy = RetryPolicy(base=0.05, cap=0.5, max_attempts=None)
        service = IngestService(producer, cursors, policy=policy, sleep=self._sleep)
        ctx = SourceContext(
            pseudonymiser=Pseudonymiser(SECRET),
            http=self.api,
            deliver=service.deliver,
            now=lambda: datetime.now(UTC),
            environ=self.environ,
        )
        sources = [build_source(c, ctx) for c in configs]
        self._service = service
        self._task = asyncio.create_task(service.run(sources, "127.0.0.1", 0))
        while service.bound_port is None:  # noqa: ASYNC110 - run() sets it once serving
            await asyncio.sleep(0.02)
        return service

    async def stop(self) -> None:
        self.service.request_stop()
        try:
            if self._task is not None:
                await asyncio.wait_for(self._task, timeout=30)
        finally:
            await self.api.aclose()

    async def records(self, topic: str) -> list[Record]:
        return await asyncio.to_thread(read_committed, self.bootstrap, topic)

    async def wait_for_keys(self, count: int, within_s: float = 60) -> list[bytes | None]:
        """Committed mention keys once at least ``count`` distinct ones are on the topic."""
        deadline = time.monotonic() + within_s
        keys: list[bytes | None] = []
        while time.monotonic() < deadline:
            keys = [k for k, _, _ in await self.records(self.topics.mentions)]
            if len(set(keys)) >= count:
                return keys
            await asyncio.sleep(0.3)
        raise AssertionError(f"only {len(set(keys))} of {count} mentions arrived in {within_s}s")


def ingest_process(
    bootstrap: str, prefix: str, sources_file: str, extra: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start ``python -m services.ingest`` as a real subprocess (stdout/stderr to a log file)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "EARSHOT_KAFKA_BOOTSTRAP": bootstrap,
        "EARSHOT_TOPIC_PREFIX": prefix,
        "EARSHOT_SOURCES_FILE": sources_file,
        "EARSHOT_PSEUDONYM_SECRET": SECRET.get_secret_value(),
        "EARSHOT_HTTP_PORT": "0",
        "EARSHOT_RETRY_BASE_S": "0.05",
        "EARSHOT_RETRY_CAP_S": "1",
        **(extra or {}),
    }
    with open(f"{sources_file}.{prefix}.log", "ab") as log:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "services.ingest"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
