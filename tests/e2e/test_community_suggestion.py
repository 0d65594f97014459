"""Replay traffic → ingestion → the whole pipelines worker → a suggestion → accepted → listened to.

Everything is real: the Mastodon replay server playing the demo's posts dated in the last
hour (posts about three Tottenham wards carry ``#N17`` beside the council tag), and, each
in its own process, the ingestion service following only ``#haringey`` and the pipelines worker
(enrichment with the model, then the community agents). ``#n17`` must become a
community and a suggestion with its evidence; ``earshot communities accept`` must add it
to the sources file so that the ingestion service, restarted, reads the ``#n17`` timeline
(the ingestion service does not reload its sources file yet, so the test restarts it).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from elasticsearch import ApiError, Elasticsearch, NotFoundError

from common.topics import ensure_topics
from common.yamlconfig import read_yaml
from devkit.replay import mastodon
from devkit.replay.content import Timeline
from devkit.replay.kit import ingest_process, read_committed
from devkit.waiting import wait_for
from devkit.worker import Worker, free_port
from services.communities.cli import main
from services.ingest.registry import SourcesFile

KEY = "hashtag:mastodon:n17"


@pytest.fixture
def replay() -> Iterator[int]:
    """The Mastodon replay server on a free port, with the demo's posts of seed 2 dated in the
    last hour (fixed content: 9 posts carry #N17, by 8 people, in three wards)."""
    port = free_port()
    state = mastodon.MastodonReplay(
        seed=2,
        total=60,
        timeline=Timeline(epoch=datetime.now(UTC) - timedelta(hours=1), gaps_s=(2, 18)),
        per_request=30,
    )
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(mastodon.make_app(state))

    async def serve() -> None:
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(serve(), loop).result(timeout=30)
    yield port
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=30)
    loop.close()


def community(es: Elasticsearch, prefix: str, key: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = es.get(index=f"{prefix}earshot-communities", id=key)["_source"]
    except NotFoundError:
        return None
    except ApiError as exc:  # the first flush created the index; its shard may still be starting
        if exc.meta.status == 503:
            return None
        raise
    return found


def heard_through(bootstrap: str, topic: str, tag: str) -> int:
    records = read_committed(bootstrap, topic)
    return sum(
        1
        for _, value, _ in records
        if {"kind": "hashtag", "value": tag} in json.loads(value)["matched_by"]
    )


def test_a_new_hashtag_beside_a_followed_one_is_suggested_and_accepting_it_listens_to_it(
    kafka_bootstrap: str,
    es_url: str,
    unique_prefix: str,
    tmp_path: Path,
    replay: int,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "# what this council listens to\nsources:\n"
        "  - name: local-mastodon   # the replay server\n    kind: mastodon\n"
        f"    poll_interval_s: 1\n    servers: [http://127.0.0.1:{replay}]\n"
        "    hashtags: [haringey]   # followed\n"
    )
    register = tmp_path / "communities.yaml"
    register.write_text("version: 1\nk: 5\n")
    worker = Worker(
        kafka_bootstrap,
        es_url,
        unique_prefix,
        tmp_path,
        EARSHOT_COMMUNITIES_FILE=str(register),
        EARSHOT_COMMUNITY_FLUSH_SECONDS="1",
        EARSHOT_ENRICH_PROCESSES="1",
    )
    worker.start()
    ingest = ingest_process(kafka_bootstrap, unique_prefix, str(sources))
    es = Elasticsearch(es_url, request_timeout=60)
    try:
        doc = wait_for(
            lambda: community(es, unique_prefix, KEY),
            lambda d: d is not None and d["week"]["authors"] >= 5,
            600,
            worker.log_tail,
        )
        assert doc is not None
        assert {"key": "hashtag:mastodon:haringey", "mentions": doc["week"]["mentions"]} in doc[
            "alongside"
        ]
        assert doc["heard_via"] == 0 and doc["footprint"]["crosses_wards"] is True
        es.indices.refresh(index=f"{unique_prefix}earshot-communities")  # search sees it now

        for name, value in {
            "EARSHOT_ES_URL": es_url,
            "EARSHOT_INDEX_PREFIX": f"{unique_prefix}earshot",
            "EARSHOT_SOURCES_FILE": str(sources),
            "EARSHOT_COMMUNITIES_FILE": str(register),
        }.items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        assert main(["suggest", "--json"]) == 0
        suggested = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
        assert KEY in [s["key"] for s in suggested]
        assert "hashtag:mastodon:haringey" not in [s["key"] for s in suggested]  # followed

        assert main(["accept", KEY]) == 0
        config = read_yaml(sources, SourcesFile).value
        assert config.sources[0].hashtags == ("haringey", "n17")  # type: ignore[union-attr]
        assert "# followed" in sources.read_text() and "# the replay server" in sources.read_text()
        assert main(["suggest", "--json"]) == 0
        assert KEY not in capsys.readouterr().out

        ingest.terminate()
        ingest.wait(timeout=60)
        ingest = ingest_process(kafka_bootstrap, unique_prefix, str(sources))
        raw = f"{unique_prefix}mentions.raw.v1"
        wait_for(lambda: heard_through(kafka_bootstrap, raw, "n17"), lambda n: n >= 5, 180, "#n17")
    finally:
        ingest.terminate()
        ingest.wait(timeout=60)
        worker.stop()
        es.close()
