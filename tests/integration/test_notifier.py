"""The notifier on the real Kafka and Elasticsearch, mailing a real aiosmtpd server on loopback.

Nothing is patched: alerts are produced to a per-test ``alerts.v1``, the
notifier consumes them with its real consumer, sends through smtplib to an
aiosmtpd server that saves each message (``services.notifier.devmail``), keeps
its ledger in the per-test ``notifier.sent.v1`` and audits into a per-test
``earshot-alerts`` alias.
"""

from __future__ import annotations

import asyncio
import email
import json
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiosmtpd.controller import Controller
from elasticsearch import Elasticsearch
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from common.topics import ensure_topics
from devkit.waiting import wait_for_topics
from schemas.codec import decode, encode
from schemas.ids import alert_id
from schemas.models import Alert, CodedArea, DeadLetter, MentionSnapshot, Reason
from services.notifier.devmail import MailFolder, SaveHandler
from services.notifier.service import NotifierService
from services.notifier.settings import NotifierSettings

DEPARTMENTS = """
departments:
  - id: roads
    name: Roads
    council: E09000014
    addresses: [roads@haringey.example, duty@haringey.example]
    digest: {every: hourly, minute: 0}
    throttle: {max_immediate: %(throttle)d, window_minutes: 60}
    kibana_link: "{kibana}/app/discover#/?_a=(query:(language:kuery,query:'{query}'))"
  - id: parks
    name: Parks
    council: E09000014
    addresses: [parks@haringey.example]
    digest: {every: daily, at: '08:00'}
    kibana_link: "{kibana}/app/discover#/?_a=(query:(language:kuery,query:'{query}'))"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    """A real SMTP server on loopback that can be stopped and started again on its port."""

    def __init__(self, folder: Path, **server_options: Any) -> None:
        self.folder = MailFolder(folder)
        self.port = free_port()
        self._options = server_options
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(
            SaveHandler(self.folder), hostname="127.0.0.1", port=self.port, **self._options
        )
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def messages(self) -> list[tuple[dict[str, Any], EmailMessage]]:
        out = []
        for entry in list(self.folder.entries):
            raw = (self.folder.folder / entry["file"]).read_bytes()
            msg = email.message_from_bytes(raw, policy=default_policy)
            assert isinstance(msg, EmailMessage)
            out.append((entry, msg))
        return out

    async def wait_for(
        self, count: int, within: float = 60.0
    ) -> list[tuple[dict[str, Any], EmailMessage]]:
        deadline = time.monotonic() + within
        while len(self.folder.entries) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{len(self.folder.entries)} of {count} emails arrived in {within}s"
                )
            await asyncio.sleep(0.1)
        return self.messages()


@pytest.fixture
def mailbox(tmp_path: Path) -> Iterator[Mailbox]:
    box = Mailbox(tmp_path / "mail")
    box.start()
    yield box
    box.stop()


class Stack:
    """Per-test topics, index prefix and settings for one notifier deployment."""

    def __init__(self, bootstrap: str, es_url: str, prefix: str, tmp_path: Path) -> None:
        self.bootstrap, self.es_url, self.prefix = bootstrap, es_url, prefix
        self.tmp_path = tmp_path
        names = ["alerts.v1", "alerts.v1.dlq", "notifier.sent.v1"]
        ensure_topics(bootstrap, prefix=prefix, names=names)
        wait_for_topics(bootstrap, [prefix + n for n in names])
        self.departments(throttle=50)

    def departments(self, throttle: int) -> None:
        (self.tmp_path / "departments.yaml").write_text(DEPARTMENTS % {"throttle": throttle})

    def settings(self, port: int, **changes: Any) -> NotifierSettings:
        values: dict[str, Any] = {
            "kafka_bootstrap": self.bootstrap,
            "topic_prefix": self.prefix,
            "es_url": self.es_url,
            "index_prefix": f"{self.prefix}earshot",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "departments_file": self.tmp_path / "departments.yaml",
            "http_port": 0,
            "retry_base_s": 0.2,
            "retry_cap_s": 1.0,
            "poll_timeout_s": 1.0,
            "kibana_url": "https://kibana.haringey.example",
            **changes,
        }
        return NotifierSettings(**values)

    def produce(self, alerts: list[Alert], raw: list[bytes] = ()) -> None:  # type: ignore[assignment]
        producer = KafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        for a in alerts:
            producer.send(f"{self.prefix}alerts.v1", key=a.alert_id.encode(), value=encode(a))
        for value in raw:
            producer.send(f"{self.prefix}alerts.v1", key=b"bad", value=value)
        producer.flush()
        producer.close()

    def committed(self) -> int:
        """Sum over partitions of the notifier group's committed offsets on alerts.v1."""
        reader = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=f"{self.prefix}earshot-notifier",
            enable_auto_commit=False,
        )
        try:
            topic = f"{self.prefix}alerts.v1"
            return sum(reader.committed(TopicPartition(topic, p)) or 0 for p in range(4))
        finally:
            reader.close()

    def audits(self, expected: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        es = Elasticsearch(self.es_url)
        index = f"{self.prefix}earshot-alerts"
        deadline = time.monotonic() + timeout
        try:
            while True:
                if es.indices.exists_alias(name=index):
                    es.indices.refresh(index=index)
                    hits = es.search(index=index, size=100)["hits"]["hits"]
                    if len(hits) >= expected or time.monotonic() > deadline:
                        return [h["_source"] | {"_id": h["_id"]} for h in hits]
                elif time.monotonic() > deadline:
                    return []
                time.sleep(0.3)
        finally:
            es.close()


@pytest.fixture
def stack(kafka_bootstrap: str, es_url: str, unique_prefix: str, tmp_path: Path) -> Stack:
    return Stack(kafka_bootstrap, es_url, unique_prefix, tmp_path)


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


@asynccontextmanager
async def notifier(
    settings: NotifierSettings, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[NotifierService]:
    service = NotifierService(settings, clock=clock or (lambda: datetime.now(UTC)))
    task = asyncio.create_task(service.run())
    try:
        yield service
    finally:
        service.stop.set()
        await asyncio.wait_for(task, 60)


def make_alert(n: int, department: str = "roads", text: str | None = None, **changes: Any) -> Alert:
    mention_id = f"{n:032x}"
    rule = f"{department}.rule"
    return Alert(
        alert_id=alert_id(mention_id, rule),
        kind="rule",
        rule_id=rule,
        department=department,
        severity="medium",
        delivery="immediate",
        reasons=(Reason(clause="topics.any", detail="highways"),),
        created_at=datetime.now(UTC),
        mention=MentionSnapshot(
            mention_id=mention_id,
            source_kind="mastodon",
            source_instance="mastodon.social",
            url=f"https://mastodon.social/@someone/{n}",
            text=text or f"Pothole number {n} on Philip Lane",
            created_at=datetime.now(UTC),
            sentiment_label="negative",
            sentiment_score=0.9,
            council=CodedArea(code="E09000014", name="Haringey"),
            ward=CodedArea(code="E05013602", name="Tottenham Hale"),
            topics=("highways",),
        ),
        **changes,
    )


def alert_ids_of(messages: list[tuple[dict[str, Any], EmailMessage]]) -> list[str]:
    return [str(m["Message-ID"]).strip("<>").split("@")[0] for _, m in messages]


async def test_alerts_reach_the_right_inbox_once_and_every_email_is_audited(
    stack: Stack, mailbox: Mailbox
) -> None:
    roads, parks = make_alert(1, "roads"), make_alert(2, "parks")
    stack.produce([roads, parks, roads], raw=[b"{not json"])  # a redelivered alert and a poison one
    async with notifier(stack.settings(mailbox.port)) as service:
        messages = await mailbox.wait_for(2)
        await asyncio.sleep(1.0)  # room for a wrong third email to show up
        assert service.http_port is not None
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{service.http_port}/metrics") as r:
                metrics = await r.text()
            async with http.get(f"http://127.0.0.1:{service.http_port}/healthz") as r:
                health = await r.json()
    assert len(mailbox.messages()) == 2
    by_id = {alert_ids_of([m])[0]: m for m in messages}
    assert by_id[roads.alert_id][0]["rcpt_tos"] == [
        "roads@haringey.example",
        "duty@haringey.example",
    ]
    assert by_id[parks.alert_id][0]["rcpt_tos"] == ["parks@haringey.example"]
    assert (
        by_id[roads.alert_id][1]["Subject"]
        == "[Earshot alert] Roads: Roads, pavements and street lighting - Tottenham Hale"
    )
    assert health["status"] == "ok"
    assert 'earshot_notifier_emails_total{kind="immediate"} 2.0' in metrics
    assert 'earshot_notifier_alerts_total{outcome="duplicate"} 1.0' in metrics
    assert (
        await asyncio.to_thread(stack.committed) == 4
    )  # all done, including the dead-lettered one

    audits = await asyncio.to_thread(stack.audits, 2)
    assert sorted(a["department"] for a in audits) == ["parks", "roads"]
    roads_audit = next(a for a in audits if a["department"] == "roads")
    assert roads_audit["alert_ids"] == [roads.alert_id]
    assert roads_audit["recipients"] == ["roads@haringey.example", "duty@haringey.example"]
    assert roads_audit["_id"] == roads_audit["message_id"] == f"{roads.alert_id}@earshot.local"
    assert datetime.fromisoformat(roads_audit["sent_at"]) <= datetime.now(UTC)

    dlq = KafkaConsumer(
        f"{stack.prefix}alerts.v1.dlq",
        bootstrap_servers=stack.bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10000,
    )
    letters = [decode(r.value, DeadLetter) for r in dlq]
    dlq.close()
    assert [(d.stage, d.error_class) for d in letters] == [("notifier", "ContractError")]

    # A replay from the start by a new consumer group sends nothing: the ledger remembers.
    async with notifier(stack.settings(mailbox.port, group_id="earshot-notifier-replay")):
        await asyncio.sleep(4)
    assert len(mailbox.messages()) == 2


async def test_smtp_outage_then_restart_every_alert_arrives_none_twice(
    stack: Stack, mailbox: Mailbox
) -> None:
    mailbox.stop()
    alerts = [make_alert(i) for i in range(20)]
    stack.produce(alerts)
    settings = stack.settings(mailbox.port)
    started = time.monotonic()
    async with notifier(settings) as service:
        await asyncio.sleep(3)  # retrying against a closed port
        assert service.metrics.smtp.failing_since is not None
        retries = service.metrics.registry.get_sample_value("earshot_notifier_smtp_retries_total")
        assert retries is not None and retries >= 2
    # The notifier was stopped mid-outage: nothing was acknowledged.
    assert await asyncio.to_thread(stack.committed) == 0
    async with notifier(settings) as service:
        await asyncio.sleep(2)
        mailbox.start()  # the server comes back
        messages = await mailbox.wait_for(20)
        recovered = time.monotonic() - started
        await asyncio.sleep(1.5)
    ids = alert_ids_of(mailbox.messages())
    assert sorted(ids) == sorted(a.alert_id for a in alerts)  # every alert, none twice
    assert len(messages) == 20
    assert await asyncio.to_thread(stack.committed) == 20
    print(f"\nSMTP outage test: 20 alerts delivered {recovered:.1f}s after the first start")


async def test_a_burst_is_throttled_into_the_digest(stack: Stack, mailbox: Mailbox) -> None:
    stack.departments(throttle=3)
    burst = [make_alert(100 + i) for i in range(8)]
    stack.produce(burst)
    clock = Clock()
    async with notifier(stack.settings(mailbox.port), clock=clock):
        immediate = await mailbox.wait_for(3)
        await asyncio.sleep(2)
        assert len(mailbox.messages()) == 3
        assert (
            await asyncio.to_thread(stack.committed) == 3
        )  # the five held alerts keep their offsets uncommitted
        clock.offset = timedelta(hours=1, minutes=1)  # past the next hourly digest slot
        messages = await mailbox.wait_for(4)
        await asyncio.sleep(1.0)
        assert await asyncio.to_thread(stack.committed) == 8
    last_immediate = immediate[2][1].get_body(("plain",))
    assert (
        last_immediate is not None
        and "This is the last immediate email Roads gets" in last_immediate.get_content()
    )
    digest = messages[3][1]
    assert (
        str(digest["Subject"])
        == "[Earshot digest] Roads: 5 alerts - Roads, pavements and street lighting"
    )
    assert digest["X-Earshot-Alert-Count"] == "5"
    body = digest.get_body(("plain",))
    assert (
        body is not None
        and "5 of these were held back from immediate email: 5 by the throttle"
        in body.get_content()
    )
    kinds = sorted(a["kind"] for a in await asyncio.to_thread(stack.audits, 4))
    assert kinds == ["digest", "immediate", "immediate", "immediate"]


async def test_html_script_and_crlf_arrive_escaped_with_headers_intact(
    stack: Stack, mailbox: Mailbox
) -> None:
    text = 'Pothole <script>alert("x")</script> <b>here</b>\r\nBcc: victim@example.org\r\n\r\n.\r\nMAIL FROM:<x@y>'
    hostile = make_alert(7, text=text)
    assert hostile.mention is not None
    ward = CodedArea(code="E05013602", name="Tottenham Hale\r\nBcc: victim@example.org")
    hostile = hostile.model_copy(
        update={"mention": hostile.mention.model_copy(update={"ward": ward})}
    )
    stack.produce([hostile])
    async with notifier(stack.settings(mailbox.port)):
        ((entry, msg),) = await mailbox.wait_for(1)
    assert entry["rcpt_tos"] == ["roads@haringey.example", "duty@haringey.example"]
    assert msg["Bcc"] is None
    assert (
        str(msg["Subject"])
        == "[Earshot alert] Roads: Roads, pavements and street lighting - Tottenham Hale Bcc: victim@example.org"
    )
    html = msg.get_body(("html",))
    assert html is not None
    content = html.get_content()
    assert (
        "<script>" not in content and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in content
    )
    assert "&lt;b&gt;here&lt;/b&gt;" in content
    assert json.loads(json.dumps(entry))["mail_from"] == "earshot@council.example"
