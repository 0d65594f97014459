"""A council onboarded by `earshot council add`, end to end on the real local stack.

The command writes the council's profile and starter departments into a copy of
the deployment's config; a real pipelines worker (enrichment with the gazetteer,
index, route) and the real notifier then run on that config. A post naming one of
the council's villages must land in Elasticsearch with that council and the
village's ward, and reach the highways team the starter rules name, by email to
an SMTP server on loopback.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from elasticsearch import Elasticsearch
from kafka import KafkaProducer
from pydantic import SecretStr

from common.privacy import Pseudonymiser
from common.topics import ensure_topics
from devkit.replay.content import Post
from devkit.replay.mastodon import status_json
from devkit.waiting import wait_for
from devkit.worker import Worker, free_port
from pipelines.locality.profile import load_profile
from schemas.codec import encode
from schemas.models import Match, Mention
from services.ingest.mastodon.source import map_status
from services.notifier.devmail import MailFolder, SaveHandler

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
COUNCIL = "Wealden"  # a shire district nobody shipped a profile for
VILLAGE = "Herstmonceux"


def mention(text: str) -> Mention:
    """A post as the Mastodon replay serves it, mapped by the real ingestion code."""
    now = datetime.now(UTC) - timedelta(minutes=2)
    post = Post(
        1, "wealden", VILLAGE, "", 50.88, 0.32, "potholes", text, "", now, "resident9", "en"
    )
    found = map_status(
        status_json(post, "https://social.example"),
        instance="social.example",
        match=Match(kind="hashtag", value="wealden"),
        fetched_at=now + timedelta(seconds=30),
        pseudonymiser=Pseudonymiser(SecretStr("e2e-pseudonym-secret-0123456789abcdef")),
    )
    assert found is not None
    return found


@pytest.fixture
def inbox(tmp_path: Path) -> Iterator[tuple[MailFolder, int]]:
    folder = MailFolder(tmp_path / "mail")
    port = free_port()
    controller = Controller(SaveHandler(folder), hostname="127.0.0.1", port=port)
    controller.start()
    yield folder, port
    controller.stop()


def _doc(es: Elasticsearch, alias: str, mention_id: str) -> dict[str, Any] | None:
    if not es.indices.exists_alias(name=alias):
        return None
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, query={"ids": {"values": [mention_id]}})["hits"]["hits"]
    return hits[0]["_source"] if hits else None


def test_a_council_added_by_the_command_is_placed_and_routed(
    kafka_bootstrap: str,
    es_url: str,
    unique_prefix: str,
    tmp_path: Path,
    inbox: tuple[MailFolder, int],
) -> None:
    folder, smtp_port = inbox
    config = tmp_path / "config"
    (config / "councils").mkdir(parents=True)
    for name in ("topics.yaml", "departments.yaml"):
        shutil.copy(ROOT / "deploy" / "config" / name, config / name)
    added = subprocess.run(
        [sys.executable, "-m", "services.cli", "council", "add", COUNCIL,
         "--councils-dir", str(config / "councils"), "--departments", str(config / "departments.yaml")],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    profile = load_profile(config / "councils" / "wealden.yaml")
    [village] = [p for p in profile.places if p.name == VILLAGE]
    assert village.ward is not None
    assert "wealden-highways" in added.stdout

    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    post = mention(f"Massive pothole on the main road through {VILLAGE}, nearly lost a wheel")
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    producer.send(
        f"{unique_prefix}mentions.raw.v1", key=post.mention_id.encode(), value=encode(post)
    )
    producer.flush()
    producer.close()

    worker = Worker(
        kafka_bootstrap, es_url, unique_prefix, tmp_path, EARSHOT_CONFIG_DIR=str(config)
    )
    notifier_env = {
        **worker.env,
        "EARSHOT_DEPARTMENTS_FILE": str(config / "departments.yaml"),
        "EARSHOT_TOPICS_FILE": str(config / "topics.yaml"),
        "EARSHOT_SMTP_HOST": "127.0.0.1",
        "EARSHOT_SMTP_PORT": str(smtp_port),
        "EARSHOT_SMTP_SECURITY": "none",
        "EARSHOT_HTTP_PORT": "0",
        "EARSHOT_QUIET_HOURS": "false",  # so the test passes at any hour of the day
    }
    es = Elasticsearch(es_url)
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
                    lambda: (len(folder.entries), [p.poll() for p in processes]),
                    lambda seen: seen[0] >= 1 or seen[1] != [None, None],
                    300,
                    "an email (or a process that exited)",
                )
                assert all(p.poll() is None for p in processes), "a process exited"
                doc = wait_for(
                    lambda: _doc(es, f"{unique_prefix}earshot-mentions", post.mention_id),
                    lambda d: d is not None,
                    60,
                    "the mention in Elasticsearch",
                )
            except AssertionError as exc:
                logs = "\n".join(
                    p.read_text(errors="replace")[-3000:]
                    for p in (worker.log_path, tmp_path / "notifier.log")
                )
                raise AssertionError(f"{exc}\n{logs}") from exc
        finally:
            es.close()
            worker.stop()
            notifier.terminate()
            try:
                notifier.wait(timeout=60)
            except subprocess.TimeoutExpired:
                notifier.kill()
                notifier.wait(timeout=30)

    assert doc is not None
    locality = doc["locality"]
    assert locality["council"]["code"] == profile.code, locality
    assert locality["ward"]["code"] == village.ward, locality
    [entry] = list(folder.entries)  # one email, to the team the starter rules name
    assert entry["rcpt_tos"] == ["highways.alerts@wealden.example"]
    es = Elasticsearch(es_url)
    try:
        audits = wait_for(
            lambda: _audits(es, f"{unique_prefix}earshot-alerts"),
            lambda a: len(a) >= 1,
            60,
            "the alert's audit document",
        )
    finally:
        es.close()
    assert [a["department"] for a in audits] == ["wealden-highways"]


def _audits(es: Elasticsearch, alias: str) -> list[dict[str, Any]]:
    if not es.indices.exists_alias(name=alias):
        return []
    es.indices.refresh(index=alias)
    return [h["_source"] for h in es.search(index=alias, size=50)["hits"]["hits"]]
