"""Source to inbox: replayed posts → real pipelines worker → alerts.v1 → notifier → SMTP inbox.

Everything is real and runs as its own process: the Faust worker
(``faust -A pipelines.app worker``: enrich with the sentiment model and the
gazetteer, dedupe, index, route), the notifier (``python -m services.notifier``)
and an aiosmtpd server on loopback that saves what it receives. The posts are
the replay servers' Mastodon statuses mapped by the real ingestion mapping.
The shipped departments file is used as it is; the notifier ignores quiet
hours (``EARSHOT_QUIET_HOURS=false``) so the test passes at any hour of the day.
"""

from __future__ import annotations

import email
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from elasticsearch import Elasticsearch
from kafka import KafkaProducer
from pydantic import SecretStr

from common.privacy import Pseudonymiser
from common.topics import ensure_topics
from devkit.replay.content import TOPICS, Post
from devkit.replay.mastodon import status_json
from devkit.waiting import wait_for
from devkit.worker import Worker, free_port
from schemas.codec import encode
from schemas.ids import alert_id
from schemas.models import Match, Mention
from services.ingest.mastodon.mapping import map_status
from services.notifier.devmail import MailFolder, SaveHandler

ROOT = Path(__file__).resolve().parents[2]
KIBANA = "https://kibana.haringey.example"
HIGHWAYS = "highways.alerts@haringey.example"
LIBRARIES = ["libraries.alerts@haringey.example", "adult.learning@haringey.example"]


def replayed(index: int, text: str, place: str, street: str, topic: str) -> Mention:
    """A demo post as the Mastodon replay serves it, mapped by the real ingestion code."""
    now = datetime.now(UTC) - timedelta(minutes=2)
    post = Post(
        index,
        "haringey",
        place,
        street,
        51.59,
        -0.06,
        topic,
        text,
        "",
        now,
        f"resident{index}",
        "en",
    )
    pseudonymiser = Pseudonymiser(SecretStr("e2e-pseudonym-secret-0123456789abcdef"))
    mention = map_status(
        status_json(post, "https://social.example"),
        instance="social.example",
        match=Match(kind="hashtag", value="haringey"),
        fetched_at=now + timedelta(seconds=30),
        pseudonymiser=pseudonymiser,
    )
    assert mention is not None
    return mention


def pothole_text() -> str:
    template = next(resident for name, resident, _ in TOPICS if name == "potholes")[0]
    return template.format(street="Philip Lane", place="Tottenham Hale", council="Haringey")


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[tuple[MailFolder, int]]:
    folder = MailFolder(tmp_path / "mail")
    port = free_port()
    controller = Controller(SaveHandler(folder), hostname="127.0.0.1", port=port)
    controller.start()
    yield folder, port
    controller.stop()


def messages(folder: MailFolder) -> list[tuple[dict[str, Any], EmailMessage]]:
    out = []
    for entry in list(folder.entries):
        msg = email.message_from_bytes(
            (folder.folder / entry["file"]).read_bytes(), policy=default_policy
        )
        assert isinstance(msg, EmailMessage)
        out.append((entry, msg))
    return out


def body(msg: EmailMessage, kind: str) -> str:
    part = msg.get_body((kind,))
    assert part is not None
    return str(part.get_content()).replace("\r\n", "\n")


def test_replayed_posts_reach_the_owning_inboxes_once_and_no_one_else(
    kafka_bootstrap: str,
    es_url: str,
    unique_prefix: str,
    tmp_path: Path,
    inbox: tuple[MailFolder, int],
) -> None:
    folder, smtp_port = inbox
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    pothole = replayed(1, pothole_text(), "Tottenham Hale", "Philip Lane", "potholes")
    course = replayed(
        2,
        "Does anyone know if the ESOL course at Wood Green library still runs on Tuesdays?",
        "Wood Green",
        "High Road",
        "libraries",
    )
    coffee = replayed(3, "Just had the best coffee of my life", "Crouch End", "Park Road", "none")
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for m in (pothole, course, coffee, pothole):  # the pothole is fetched twice
        producer.send(f"{unique_prefix}mentions.raw.v1", key=m.mention_id.encode(), value=encode(m))
    producer.flush()
    producer.close()

    worker = Worker(kafka_bootstrap, es_url, unique_prefix, tmp_path)
    notifier_env = {
        **worker.env,
        "EARSHOT_SMTP_HOST": "127.0.0.1",
        "EARSHOT_SMTP_PORT": str(smtp_port),
        "EARSHOT_SMTP_SECURITY": "none",
        "EARSHOT_HTTP_PORT": "0",
        "EARSHOT_KIBANA_URL": KIBANA,
        "EARSHOT_QUIET_HOURS": "false",  # so the test passes at any hour of the day
    }
    with (tmp_path / "notifier.log").open("wb") as notifier_log:
        worker.start()
        notifier = subprocess.Popen(
            [sys.executable, "-m", "services.notifier"],
            env=notifier_env,
            cwd=ROOT,
            stdout=notifier_log,
            stderr=subprocess.STDOUT,
        )
        assert worker.process is not None
        processes = [worker.process, notifier]
        try:
            try:
                wait_for(
                    lambda: (len(messages(folder)), [p.poll() for p in processes]),
                    lambda seen: seen[0] >= 2 or seen[1] != [None, None],
                    300,
                    "two emails (or a process that exited)",
                )
                assert all(p.poll() is None for p in processes), "a process exited"
            except AssertionError as exc:
                logs = "\n".join(
                    p.read_text(errors="replace")[-3000:]
                    for p in (worker.log_path, tmp_path / "notifier.log")
                )
                raise AssertionError(f"{exc}\n{logs}") from exc
            time.sleep(8)  # room for a wrong or repeated email to arrive
            got = messages(folder)
        finally:
            worker.stop()
            notifier.terminate()
            try:
                notifier.wait(timeout=60)
            except subprocess.TimeoutExpired:
                notifier.kill()
                notifier.wait(timeout=30)

    by_rcpt = {tuple(entry["rcpt_tos"]): msg for entry, msg in got}
    assert sorted(by_rcpt) == sorted([(HIGHWAYS,), tuple(LIBRARIES)]), [
        e["rcpt_tos"] for e, _ in got
    ]
    assert len(got) == 2  # once each; the coffee post reached no one

    highways = by_rcpt[(HIGHWAYS,)]
    assert str(highways["Subject"]).startswith(
        "[Earshot alert] Highways and Street Lighting (Haringey): Roads, pavements and street lighting - Tottenham Hale"
    )
    assert (
        highways["Message-ID"]
        == f"<{alert_id(pothole.mention_id, 'haringey.highways.defects')}@earshot.local>"
    )
    text = body(highways, "plain")
    assert "Tottenham Hale ward (E05013602)" in text
    assert (
        "rule haringey.highways.defects" in text
        and "topics.any: highways" in text
        and "“pothole”" in text
    )
    assert (
        f"{KIBANA}/s/haringey-highways/app/discover#/view/" in text
        and f"mention_id%3A%22{pothole.mention_id}%22" in text
    )
    assert "https://social.example/@resident1/" in text

    libraries = by_rcpt[tuple(LIBRARIES)]
    assert "Libraries and Adult Learning (Haringey)" in str(libraries["Subject"])
    assert "haringey.libraries.questions" in body(libraries, "plain")
    assert re.search(r"ESOL course at Wood Green library", body(libraries, "html"))

    es = Elasticsearch(es_url)
    try:
        audits = wait_for(
            lambda: _audits(es, f"{unique_prefix}earshot-alerts"),
            lambda a: len(a) >= 2,
            60,
            "audit docs",
        )
    finally:
        es.close()
    assert sorted(a["department"] for a in audits) == ["haringey-highways", "haringey-libraries"]


def _audits(es: Elasticsearch, alias: str) -> list[dict[str, Any]]:
    if not es.indices.exists_alias(name=alias):
        return []
    es.indices.refresh(index=alias)
    return [h["_source"] for h in es.search(index=alias, size=50)["hits"]["hits"]]
