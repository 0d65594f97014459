"""The weekly communities email: community records in the real Elasticsearch, sent to a real
aiosmtpd server on loopback by ``earshot communities digest``."""

from __future__ import annotations

import email
import shutil
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from elasticsearch import Elasticsearch

from common.communities import Space
from common.elastic import install_templates, single_index
from devkit.worker import ROOT, free_port
from pipelines.steps.communities import Record
from pipelines.steps.communities_book import DAY
from pipelines.steps.communities_doc import community_doc
from services.communities.cli import main
from services.notifier.devmail import MailFolder, SaveHandler

NOW = time.time()
HARINGEY = ("E09000014", "Haringey")
WASTE = ["cleansing.alerts@haringey.example", "veolia.contract@haringey.example"]


def records(n: int, authors: int, *, topic: str, ago: float, via: str = "") -> list[Record]:
    return [
        Record(
            f"{topic}{i}",
            int(NOW - ago - i * 60),
            i % authors,
            HARINGEY,
            ("E05013602", "Tottenham Hale") if i % 2 else ("E05013587", "Bruce Castle"),
            (topic,),
            "negative" if i % 3 else "neutral",
            ("fly-tipping",),
            (via,) if via else (),
        )
        for i in range(n)
    ]


@pytest.fixture
def inbox() -> Iterator[tuple[MailFolder, int, Path]]:
    folder = MailFolder(Path(f"/tmp/earshot-digest-{free_port()}"))
    port = free_port()
    controller = Controller(SaveHandler(folder), hostname="127.0.0.1", port=port)
    controller.start()
    yield folder, port, folder.folder
    controller.stop()
    shutil.rmtree(folder.folder, ignore_errors=True)


def test_each_department_gets_its_weekly_communities_email_over_smtp(
    es_url: str,
    unique_prefix: str,
    tmp_path: Path,
    inbox: tuple[MailFolder, int, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder, port, _ = inbox
    prefix = f"{unique_prefix}earshot"
    es = Elasticsearch(es_url, request_timeout=60)
    install_templates(es, prefix)
    haringey = "hashtag:mastodon:haringey"
    made = {
        "hashtag:mastodon:tottenham": records(12, 6, topic="waste", ago=DAY, via=haringey),
        "hashtag:mastodon:spurs": records(8, 5, topic="waste", ago=DAY, via=haringey),
        "subreddit:reddit:haringey": [
            *records(30, 8, topic="waste", ago=10 * DAY),
            *records(20, 8, topic="waste", ago=DAY),
        ],
        "subreddit:reddit:libraries": records(9, 5, topic="libraries", ago=DAY),
    }
    for key, held in made.items():
        doc = community_doc(
            Space.parse(key), held, now=NOW, k=5, horizon_days=28, labels={"waste": "Waste"}
        )
        assert doc is not None
        es.index(index=single_index(prefix, "communities"), id=key, document=doc, refresh=True)
    es.close()
    sources = tmp_path / "sources.yaml"
    shutil.copy(ROOT / "deploy" / "config" / "sources.example.yaml", sources)
    register = tmp_path / "communities.yaml"
    register.write_text(
        "version: 1\nregister:\n  - community: subreddit:reddit:haringey\n"
        "    department: haringey-waste\n    stage: engaged\nrejected:\n"
        "  - {community: 'hashtag:mastodon:spurs', note: football}\n"
    )
    env = {
        "EARSHOT_ES_URL": es_url,
        "EARSHOT_INDEX_PREFIX": prefix,
        "EARSHOT_SOURCES_FILE": str(sources),
        "EARSHOT_COMMUNITIES_FILE": str(register),
        "EARSHOT_SMTP_HOST": "127.0.0.1",
        "EARSHOT_SMTP_PORT": str(port),
        "EARSHOT_SMTP_SECURITY": "none",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert main(["digest", "--department", "haringey-waste"]) == 0

    assert len(folder.entries) == 1
    entry = folder.entries[0]
    assert sorted(entry["rcpt_tos"]) == sorted(WASTE)
    msg = email.message_from_bytes(
        (folder.folder / entry["file"]).read_bytes(), policy=default_policy
    )
    assert isinstance(msg, EmailMessage)
    assert str(msg["Subject"]).startswith("[Earshot communities] Waste, Recycling and Street")
    html_part, text_part = msg.get_body(("html",)), msg.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html, text = str(html_part.get_content()), str(text_part.get_content())
    assert html.count("<h1>") == 1 and '<html lang="en">' in html
    assert "<h2>New communities this week</h2>" in html and '<th scope="col">' in html
    assert "<caption>Relationships you own</caption>" in html
    assert "<h2>Growing fast</h2>" in html  # r/haringey: 20 this week against 10 a week before
    assert (
        "#tottenham (Mastodon)" in text
        and "earshot communities accept hashtag:mastodon:tottenham" in text
    )
    waiting = text.split("Suggestions waiting for a decision", 1)[1]
    assert "#tottenham" in waiting and "spurs" not in waiting  # rejected: never suggested again
    assert "r/libraries" not in text  # not the waste team's topic
    assert "Tottenham Hale" in text and "crosses ward lines" in text
