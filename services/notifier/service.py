"""The notifier process: a kafka-python consumer of alerts.v1 driving the dispatcher.

Offsets are committed manually and only up to what is done: an alert's offset
moves past only after its email was accepted by the SMTP server and the ledger
recorded it (or it was a duplicate or dead-lettered). Alerts held for a digest
keep the commit position of their partition below them until the digest goes,
so a restart replays them (the ledger skips what was already sent). While the
SMTP server is down the dispatcher retries under the project policy and this
module keeps the consumer in its group with paused polls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient
from kafka.errors import KafkaError

from common.bulk import BulkIndexer
from common.elastic import async_es_client, install_templates_async
from common.kafkaclients import RECONNECT
from common.logsummary import ongoing_outage
from common.retry import Retryable, RetryPolicy, retry_async
from common.routing.load import load_routing
from common.routing.reload import Reloading
from common.taxonomy import Taxonomy
from common.topics import require_topics
from schemas.codec import decode, encode
from schemas.models import Alert
from services.notifier.audit import AuditWriter
from services.notifier.deadletters import DeadLetters
from services.notifier.dispatcher import Dispatcher, Mailer
from services.notifier.health import Metrics, serve
from services.notifier.ledger import KafkaLedger
from services.notifier.offsets import Offsets, Rebalance
from services.notifier.render import Renderer, Style
from services.notifier.settings import NotifierSettings
from services.notifier.smtp import SmtpMailer

log = logging.getLogger(__name__)
ALERTS = "alerts.v1"
LEDGER = "notifier.sent.v1"
TOPICS = (ALERTS, f"{ALERTS}.dlq", LEDGER)
LEDGER_KEEP = timedelta(days=35)  # alerts.v1 keeps 30 days: older ids can never come back
CONNECT_TIMEOUT_MS = 5000  # one connection attempt; a stop request is heard between attempts
SHUTDOWN_STEP_S = 2.0  # each closing step may wait this long: SIGTERM is honoured within 10 s
KAFKA_WAIT_S = 5.0  # longest single wait on Kafka in the loop (commit, ledger write)


class Producer:
    """The notifier's one Kafka producer, created once Kafka answers (a down broker delays the start).

    The ledger and the dead letters hold this from construction; until :meth:`connect`
    succeeded, sending raises Retryable (their callers retry) and closing does nothing.
    """

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._real: KafkaProducer | None = None

    def connect(self) -> None:
        """Build the real producer (raises KafkaError while Kafka does not answer)."""
        if self._real is None:
            self._real = KafkaProducer(
                bootstrap_servers=self._bootstrap,
                acks="all",
                linger_ms=5,
                bootstrap_timeout_ms=CONNECT_TIMEOUT_MS,
                **RECONNECT,
            )

    def send(self, topic: str, **kwargs: Any) -> Any:
        if self._real is None:
            raise Retryable("the Kafka producer is not connected yet")
        return self._real.send(topic, **kwargs)

    def flush(self, timeout: float | None = None) -> None:
        if self._real is not None:
            self._real.flush(timeout=timeout)

    def close(self, timeout: float | None = None) -> None:
        if self._real is not None:
            self._real.close(timeout=timeout)


class Stopping(Exception):
    """The process was asked to stop while it waited; nothing in hand is acknowledged."""


class NotifierService:
    """Wires settings to consumer, dispatcher, ledger, audit and HTTP; :meth:`run` until stopped."""

    def __init__(
        self,
        settings: NotifierSettings,
        *,
        mailer: Mailer | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.s = settings
        self.metrics = Metrics()
        self.stop = asyncio.Event()
        self.http_port: int | None = None
        self._clock = clock
        self.config = self._load_config()  # first: a broken file fails fast, before any connection
        self._mailer = mailer or SmtpMailer(settings)
        self._producer = Producer(settings.kafka_bootstrap)
        self.ledger = KafkaLedger(
            settings.kafka_bootstrap, settings.topic(LEDGER), self._producer, KAFKA_WAIT_S
        )
        self._policy = RetryPolicy(
            base=settings.retry_base_s, cap=settings.retry_cap_s, max_attempts=None
        )
        self._consumer: KafkaConsumer | None = None
        self._backlog: deque[Any] = deque()
        self._offsets = Offsets(settings.topic(ALERTS))
        self._rebalance = Rebalance()
        self._dead = DeadLetters(self._producer, settings.topic(ALERTS), settings.dead_letter_limit)
        self._es = async_es_client(settings)
        self.audit = AuditWriter(BulkIndexer(self._es), settings.index_prefix, self.ledger.audited)
        self.dispatcher = Dispatcher(
            lambda: self.config.current,
            mailer=self._mailer,
            ledger=self.ledger,
            auditor=self.audit,
            dead_letter=self._dead_letter,
            metrics=self.metrics,
            clock=clock,
            policy=self._policy,
            sleep=self._wait,
        )

    def _load_config(self) -> Reloading[Renderer]:
        s = self.s
        labels: dict[str, str] = {}
        known = None
        if s.topics_file.exists():
            taxonomy = Taxonomy.load(s.topics_file)
            labels = {t.id: t.label for t in taxonomy.topics}
            known = frozenset(labels)
        style = Style(
            s.mail_from, s.message_id_domain, s.max_text_chars, s.digest_top_items, s.kibana_url
        )

        def build(path: Path) -> Renderer:
            config = load_routing(path, known)
            if not s.quiet_hours:
                depts = tuple(
                    d.model_copy(update={"quiet_hours": None}) for d in config.departments
                )
                config = config.model_copy(update={"departments": depts})
            return Renderer(config, labels, style)

        return Reloading(s.departments_file, build, "departments file")

    # -- lifecycle -------------------------------------------------------------------------------
    async def run(self) -> None:
        """Run until :attr:`stop` is set; commits what is done and closes everything on the way out.

        Raises TopicsNotReady when a topic it needs is missing or not as declared.
        """
        s = self.s
        runner, self.http_port = await serve(self.metrics, s.http_host, s.http_port)
        self.metrics.kafka_outage = lambda: ongoing_outage("kafka")
        probe = asyncio.create_task(self._probe_smtp())
        try:
            await self._connect()
        except Stopping:
            probe.cancel()
            await runner.cleanup()
            return
        await asyncio.to_thread(self.ledger.load)
        pruned = await asyncio.to_thread(self.ledger.prune, self._clock() - LEDGER_KEEP)
        if pruned:
            log.info("ledger: forgot %d alerts older than alerts.v1 can redeliver", pruned)
        for doc in list(self.ledger.unaudited.values()):
            self.audit.submit(doc)
        self._learn_incidents()
        audit_task = asyncio.create_task(self._run_audit())
        self.dispatcher.restore_throttle()
        self._consumer = await asyncio.to_thread(self._make_consumer)
        self.metrics.kafka.ok()
        log.info(
            "notifier consuming %s; SMTP %s:%d (%s); http :%d",
            s.topic(ALERTS),
            s.smtp_host,
            s.smtp_port,
            s.smtp_security,
            self.http_port,
        )
        last_config_poll = time.monotonic()
        try:
            while not self.stop.is_set():
                await self._step()
                if time.monotonic() - last_config_poll >= s.config_poll_s:
                    last_config_poll = time.monotonic()
                    self.config.poll()
                    self.metrics.config_error = self.config.last_error
        except Stopping:
            log.info("stopping while waiting; the alert in hand stays unacknowledged")
        finally:
            probe.cancel()
            await self._shutdown(audit_task, runner)

    async def _connect(self) -> None:
        """Wait for Kafka (retrying, degraded meanwhile), refuse missing topics, build the producer."""
        s = self.s

        def attempt() -> None:
            try:
                admin = KafkaAdminClient(
                    bootstrap_servers=s.kafka_bootstrap,
                    client_id="earshot-notifier-topics",
                    bootstrap_timeout_ms=CONNECT_TIMEOUT_MS,
                )
                try:
                    require_topics(s.kafka_bootstrap, s.topic_prefix, TOPICS, admin=admin)
                finally:
                    admin.close()
                self._producer.connect()
            except KafkaError as exc:
                raise Retryable(f"Kafka at {s.kafka_bootstrap} not reachable: {exc}") from exc

        def failed(attempt_no: int, exc: Retryable, wait: float) -> None:
            self.metrics.kafka.failed(str(exc))
            log.warning("%s; retrying in %.1fs", exc, wait)

        await retry_async(
            lambda: asyncio.to_thread(attempt), self._policy, sleep=self._wait, on_retry=failed
        )

    async def _probe_smtp(self) -> None:
        """Reach the SMTP server once at start, so health says ok only after it answered."""
        probe = getattr(self._mailer, "probe", None)
        if probe is None:
            self.metrics.smtp_ok(sent=False)
            return
        await retry_async(
            lambda: asyncio.to_thread(probe),
            self._policy,
            on_retry=lambda n, exc, wait: self.metrics.smtp_failed(str(exc)),
        )
        self.metrics.smtp_ok(sent=False)

    def _learn_incidents(self) -> None:
        """Re-learn the recent incidents the ledger records, so copies keep folding after a restart."""
        incidents = self.dispatcher.incidents
        for alert_id, entry in self.ledger.entries():
            incidents.restore(alert_id, entry)
        incidents.expire(self._clock())

    async def _run_audit(self) -> None:
        await retry_async(
            lambda: install_templates_async(self._es, self.s.index_prefix), self._policy
        )
        await self.audit.run()

    async def _shutdown(self, audit_task: asyncio.Task[None], runner: Any) -> None:
        # Every step is bounded (SHUTDOWN_STEP_S), so a stop with Kafka, Elasticsearch or the
        # SMTP server down still ends within seconds; whatever a step could not finish is
        # redone at the next start (uncommitted alerts replay, the ledger skips sent ones).
        step = SHUTDOWN_STEP_S
        consumer = self._consumer
        if consumer is not None:
            await asyncio.to_thread(self._commit, step)
            await asyncio.to_thread(consumer.close, autocommit=False, timeout_ms=int(step * 1000))
            self._consumer = None
        if not await self.audit.drain(step):
            log.warning(
                "%d audits not indexed yet; they stay in the ledger for the next start",
                self.audit.pending(),
            )
        audit_task.cancel()
        await asyncio.gather(audit_task, return_exceptions=True)
        await asyncio.to_thread(self._producer.close, step)
        await asyncio.to_thread(self.ledger.close)
        close = getattr(self._mailer, "close", None)
        if close is not None:
            await asyncio.to_thread(close)
        await self._es.close()
        await runner.cleanup()

    def _make_consumer(self) -> KafkaConsumer:
        s = self.s
        consumer = KafkaConsumer(
            bootstrap_servers=s.kafka_bootstrap,
            group_id=f"{s.topic_prefix}{s.group_id}",
            group_instance_id=s.group_instance_id,
            session_timeout_ms=int(s.session_timeout_s * 1000),
            heartbeat_interval_ms=int(s.session_timeout_s * 1000 / 5),
            client_id="earshot-notifier",
            enable_auto_commit=False,
            **RECONNECT,
            auto_offset_reset="earliest",
            max_poll_records=200,
            metadata_max_age_ms=30_000,
        )
        consumer.subscribe([s.topic(ALERTS)], listener=self._rebalance)
        return consumer

    # -- the loop --------------------------------------------------------------------------------
    async def _step(self) -> None:
        if self._backlog:
            records = list(self._backlog)
            self._backlog.clear()
        else:
            records = await asyncio.to_thread(self._poll)
        revoked, assigned = self._rebalance.take()
        if revoked:
            self.give_up(revoked)
        if assigned:
            # Another instance may have sent alerts of the new partitions: read its ledger writes first.
            await asyncio.to_thread(self.ledger.catch_up)
            self._learn_incidents()
        assert self._consumer is not None
        owned = {tp.partition for tp in self._consumer.assignment()}
        for record in records:
            if self.stop.is_set():
                break
            if record.partition in owned:
                await self._handle(record)
        await self.dispatcher.flush_due()
        await asyncio.to_thread(self._commit, KAFKA_WAIT_S)

    def _poll(self) -> list[Any]:
        assert self._consumer is not None
        batches = self._consumer.poll(timeout_ms=int(self.s.poll_timeout_s * 1000))
        return [r for records in batches.values() for r in records]

    async def _handle(self, record: Any) -> None:
        dead_before = self._dead.total
        try:
            alert = decode(record.value, Alert)
        except Exception as exc:  # an undecodable alert can never be emailed: dead-letter it
            await self._dead.send(record.value, record.key, record.partition, record.offset, exc)
        else:
            await self.dispatcher.handle(alert, record.partition, record.offset)
            if self._dead.total == dead_before:
                self._dead.succeeded()
        self._offsets.done(record.partition, record.offset)

    def _commit(self, timeout_s: float | None = None) -> None:
        """Commit, per partition, the next offset that is done and not held for a digest."""
        offsets = self._offsets.to_commit(self.dispatcher.held_floor())
        if self._consumer is None or not offsets:
            return
        timeout_ms = int(timeout_s * 1000) if timeout_s is not None else None
        try:
            self._consumer.commit(offsets, timeout_ms=timeout_ms)
        except KafkaError as exc:
            # A rebalance took the partitions away, or Kafka is down: the next commit covers
            # these offsets, and whatever is replayed meanwhile the ledger makes harmless.
            self.metrics.kafka.failed(f"offset commit failed: {exc}")
            log.warning("offset commit failed (%s); the ledger keeps redelivery harmless", exc)
            return
        self.metrics.kafka.ok()
        self._offsets.committed(offsets)

    def give_up(self, partitions: set[int]) -> None:
        """Partitions were revoked: forget what is held (their new owner replays it)."""
        self.dispatcher.drop_partitions(partitions)
        self._offsets.forget(partitions)
        self._backlog = deque(r for r in self._backlog if r.partition not in partitions)

    async def _wait(self, seconds: float) -> None:
        """Sleep between SMTP retries while staying in the consumer group (paused polls)."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            if self.stop.is_set():
                raise Stopping
            await asyncio.to_thread(self._paused_poll, min(max(left, 0.5), 1.0))
        if self.stop.is_set():
            raise Stopping

    def _paused_poll(self, seconds: float) -> None:
        consumer = self._consumer
        if consumer is None:
            time.sleep(seconds)
            return
        paused = set(consumer.assignment())
        consumer.pause(*paused)
        try:
            # A rebalance inside this poll may assign new, unpaused partitions: keep their records.
            for records in consumer.poll(timeout_ms=int(seconds * 1000)).values():
                self._backlog.extend(records)
        finally:
            consumer.resume(*(paused & set(consumer.assignment())))

    async def _dead_letter(
        self, alert: Alert, partition: int, offset: int, exc: BaseException
    ) -> None:
        await self._dead.send(encode(alert), alert.alert_id.encode(), partition, offset, exc)
