"""``python -m services.ingest``: run the configured source instance(s) until SIGTERM.

Reads :class:`IngestSettings` from ``EARSHOT_*`` env vars and the sources YAML
(``EARSHOT_SOURCES_FILE``); ``EARSHOT_SOURCE_INSTANCE`` picks instances. Exit 0
after a clean stop, 2 on bad settings or config.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from common.privacy import Pseudonymiser
from common.retry import RetryPolicy, retry_async
from common.settings import load_settings
from common.yamlconfig import ConfigError
from services.ingest.registry import build_source, load_sources
from services.ingest.runtime.api import SourceContext
from services.ingest.runtime.cursors import load_cursors
from services.ingest.runtime.http import ApiClient, make_client
from services.ingest.runtime.producer import MentionProducer, Topics
from services.ingest.runtime.service import IngestService
from services.ingest.runtime.settings import IngestSettings

log = logging.getLogger("services.ingest")


def transactional_id(settings: IngestSettings, names: Sequence[str]) -> str:
    """Stable per deployment + instance set, so a restarted process fences its predecessor."""
    return (
        settings.transactional_id
        or f"earshot-ingest:{settings.topic_prefix}:{','.join(sorted(names))}"
    )


async def serve(settings: IngestSettings) -> int:
    environ = dict(os.environ)
    try:
        configs = load_sources(settings.sources_file, environ, settings.instance_names())
    except ConfigError as exc:
        sys.stderr.write(f"invalid sources config: {exc}\n")
        return 2
    configs = [c for c in configs if settings.kind_selected(c.kind)]
    if not configs:
        sys.stderr.write("no enabled source instance selected\n")
        return 2
    topics = Topics.of(settings)
    policy = RetryPolicy(base=settings.retry_base_s, cap=settings.retry_cap_s, max_attempts=None)
    # The broker may still be starting (compose, CI): wait for it rather than crash-loop.
    cursors = await retry_async(
        lambda: asyncio.to_thread(load_cursors, settings.kafka_bootstrap, topics.cursors),
        RetryPolicy(base=settings.retry_base_s, cap=10.0, max_attempts=12),
        on_retry=lambda n, exc, wait: log.warning(
            "cursors not readable (%s), retry in %.1fs", exc, wait
        ),
    )
    producer = await asyncio.to_thread(
        MentionProducer,
        settings.kafka_bootstrap,
        topics,
        transactional_id=transactional_id(settings, [c.name for c in configs]),
    )
    service = IngestService(producer, cursors, policy=policy)
    api = ApiClient(make_client(contact=settings.contact, timeout=settings.http_timeout_s))
    ctx = SourceContext(
        pseudonymiser=Pseudonymiser(settings.pseudonym_secret, settings.keep_raw_handles),
        http=api,
        deliver=service.deliver,
        now=lambda: datetime.now(UTC),
        environ=environ,
    )
    sources = [build_source(c, ctx) for c in configs]
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.request_stop)
    try:
        await service.run(sources, settings.http_host, settings.http_port)
    finally:
        await api.aclose()
    log.info("stopped cleanly")
    return 0


def main() -> int:
    settings = load_settings(IngestSettings)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # kafka-python and httpx log every connection / request at INFO: too chatty for operators.
    for noisy in ("kafka", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    return asyncio.run(serve(settings))


if __name__ == "__main__":
    sys.exit(main())
