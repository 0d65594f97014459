"""``python -m services.ingest``: run the configured source instance(s) until SIGTERM.

Reads :class:`IngestSettings` from ``EARSHOT_*`` env vars and the sources YAML
(``EARSHOT_SOURCES_FILE``); ``EARSHOT_SOURCE_INSTANCE`` / ``EARSHOT_SOURCE_KINDS`` pick
instances. Refuses to start (exit 2, with the reason) on bad settings or config, or when a
topic it writes is missing or has the wrong partition count. While running, the sources
file is re-read when it changes or on SIGHUP (``services.ingest.reload``). SIGTERM/SIGINT
stop it within ``shutdown_grace_s`` in every state, waiting for Kafka included. Exit 0
after a stop.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

from kafka.errors import KafkaError

from common.logsummary import summarise_outages
from common.privacy import Pseudonymiser
from common.retry import Retryable, RetryPolicy, retry_async
from common.settings import load_settings
from common.topics import TopicsNotReady, require_topics
from common.yamlconfig import ConfigError
from schemas.deadletter import dlq_topic
from services.ingest.registry import build_source
from services.ingest.reload import SourcesReloader, selected_configs
from services.ingest.runtime.api import SourceContext
from services.ingest.runtime.body import BodyLimits
from services.ingest.runtime.cursors import load_cursors
from services.ingest.runtime.http import ApiClient, make_client
from services.ingest.runtime.producer import CURSORS_TOPIC, MENTIONS_TOPIC, MentionProducer, Topics
from services.ingest.runtime.service import IngestService
from services.ingest.runtime.settings import IngestSettings

log = logging.getLogger("services.ingest")
T = TypeVar("T")
TOPICS = (MENTIONS_TOPIC, dlq_topic(MENTIONS_TOPIC), CURSORS_TOPIC)


class Stopped(Exception):
    """SIGTERM arrived before the service was up."""


def transactional_id(settings: IngestSettings, names: Sequence[str]) -> str:
    """Stable per deployment + instance set, so a restarted process fences its predecessor."""
    return (
        settings.transactional_id
        or f"earshot-ingest:{settings.topic_prefix}:{','.join(sorted(names))}"
    )


async def _unless_stopped(step: Awaitable[T], stop: asyncio.Event) -> T:
    """``step``'s result, or Stopped as soon as ``stop`` is set (the step is abandoned)."""
    task = asyncio.ensure_future(step)
    stopper = asyncio.create_task(stop.wait())
    await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    if task.done():
        return task.result()
    task.cancel()
    raise Stopped


def _check_topics(settings: IngestSettings) -> None:
    try:
        require_topics(settings.kafka_bootstrap, settings.topic_prefix, TOPICS)
    except KafkaError as exc:  # the broker is not up yet: wait for it rather than crash-loop
        raise Retryable(f"Kafka not reachable: {exc!r}") from exc


async def _start(
    settings: IngestSettings, names: list[str]
) -> tuple[dict[str, dict[str, object]], MentionProducer]:
    topics = Topics.of(settings)
    wait = RetryPolicy(base=settings.retry_base_s, cap=10.0, max_attempts=None)

    def waiting(_: int, exc: Retryable, delay: float) -> None:
        log.warning("waiting for Kafka (%s), retry in %.1fs", exc, delay)

    await retry_async(lambda: asyncio.to_thread(_check_topics, settings), wait, on_retry=waiting)
    cursors = await retry_async(
        lambda: asyncio.to_thread(load_cursors, settings.kafka_bootstrap, topics.cursors),
        wait,
        on_retry=waiting,
    )
    producer = await asyncio.to_thread(
        MentionProducer,
        settings.kafka_bootstrap,
        topics,
        transactional_id=transactional_id(settings, names),
    )
    return cursors, producer


def _limits(settings: IngestSettings) -> BodyLimits:
    return BodyLimits(
        max_wire_bytes=settings.max_response_bytes,
        max_decoded_bytes=settings.max_decoded_bytes,
        max_json_depth=settings.max_json_depth,
        max_seconds=settings.max_response_s,
    )


async def serve(settings: IngestSettings) -> int:
    """Run until stopped; the exit code (2: refused to start)."""
    loop = asyncio.get_running_loop()
    stop, hangup = asyncio.Event(), asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, hangup.set)
    environ = dict(os.environ)
    try:
        configs = selected_configs(settings, environ)
    except ConfigError as exc:
        sys.stderr.write(f"invalid sources config: {exc}\n")
        return 2
    if not configs:
        sys.stderr.write("no enabled source instance selected\n")
        return 2
    try:
        # The instance set is fixed at start for the transactional id, so a restarted
        # process fences exactly its predecessor; instances added later share it.
        cursors, producer = await _unless_stopped(_start(settings, [c.name for c in configs]), stop)
    except TopicsNotReady as exc:
        sys.stderr.write(f"ingestion cannot start: {exc}\n")
        return 2
    except Stopped:
        log.info("stopped before start")
        logging.shutdown()
        os._exit(0)  # a start-up call may still wait on Kafka in a thread: do not wait for it
    policy = RetryPolicy(base=settings.retry_base_s, cap=settings.retry_cap_s, max_attempts=None)
    service = IngestService(
        producer,
        cursors,
        policy=policy,
        reconnect_pause_s=settings.reconnect_pause_s,
        shutdown_grace_s=settings.shutdown_grace_s,
    )
    api = ApiClient(
        make_client(contact=settings.contact, timeout=settings.http_timeout_s),
        limits=_limits(settings),
    )
    ctx = SourceContext(
        pseudonymiser=Pseudonymiser(settings.pseudonym_secret, settings.keep_raw_handles),
        http=api,
        deliver=service.deliver,
        now=lambda: datetime.now(UTC),
        environ=environ,
    )
    reloader = SourcesReloader(settings, service, ctx, configs)
    stop_task = asyncio.create_task(stop.wait())
    stop_task.add_done_callback(lambda _: service.request_stop())

    async def on_hangup() -> None:
        while True:
            await hangup.wait()
            hangup.clear()
            reloader.request()

    helpers = [asyncio.create_task(reloader.run()), asyncio.create_task(on_hangup())]
    try:
        await service.run(
            {c.name: build_source(c, ctx) for c in configs}, settings.http_host, settings.http_port
        )
    finally:
        for task in [*helpers, stop_task]:
            task.cancel()
        await api.aclose()
    if not service.clean_stop:
        logging.shutdown()
        os._exit(0)  # a producer thread still waits on Kafka: do not let it hold the exit
    log.info("stopped cleanly")
    return 0


def main() -> int:
    settings = load_settings(IngestSettings)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # kafka-python, httpx and aiohttp log every connection / request at INFO: too chatty,
    # and while a broker is down kafka-python repeats each reconnect warning many times a second.
    for noisy in ("kafka", "httpx", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    summarise_outages()  # one line per Kafka outage, not one per reconnect attempt
    return asyncio.run(serve(settings))


if __name__ == "__main__":
    sys.exit(main())
