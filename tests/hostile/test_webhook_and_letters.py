"""Signed webhook bodies that are hostile or arrive in pieces, and dead letters of anything."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from devkit.replay.kit import context
from schemas.codec import decode, encode
from schemas.models import DeadLetter, Mention
from services.ingest.runtime.producer import EXCERPT_BYTES, MAX_ORIGINAL_BYTES, evidence_letter
from services.ingest.webhook.source import SIGNATURE_HEADER, WebhookConfig, WebhookSource, sign
from tests.hostile.corpus import VALUES, check_mention, deep_json, dumps, mutations

SECRET = b"w" * 32
GOOD = {
    "id": "form-1",
    "text": "Bins missed on Monnow Street",
    "created_at": "2026-11-21T10:00:00Z",
}


@pytest.fixture
async def client() -> AsyncIterator[tuple[TestClient[web.Request, web.Application], list[Mention]]]:
    delivered: list[Mention] = []

    async def deliver(mentions: Sequence[Mention]) -> None:
        delivered.extend(mentions)

    config = WebhookConfig(name="form", kind="webhook", secret_env="S", max_body_bytes=65_536)
    source = WebhookSource(config, context(environ={"S": SECRET.decode()}, deliver=deliver))
    app = web.Application()
    app.add_routes(source.routes())
    test_client = TestClient(TestServer(app))
    await test_client.start_server()
    yield test_client, delivered
    await test_client.close()


def headers(body: bytes) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(SECRET, body), "Content-Type": "application/json"}


async def test_a_signed_body_sent_in_many_writes_is_read_whole(client) -> None:  # type: ignore[no-untyped-def]
    test_client, delivered = client
    body = json.dumps({**GOOD, "text": "Fly-tipping " * 2000}).encode()

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 700):
            yield body[start : start + 700]
            await asyncio.sleep(0)  # each piece its own write: chunked transfer

    response = await test_client.post("/webhook/form", data=pieces(), headers=headers(body))
    assert response.status == 202, await response.text()
    assert delivered and delivered[0].text.startswith("Fly-tipping")


async def test_an_oversized_chunked_body_is_413_not_401(client) -> None:  # type: ignore[no-untyped-def]
    test_client, _ = client
    body = b"x" * 200_000

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    response = await test_client.post("/webhook/form", data=pieces(), headers=headers(body))
    assert response.status == 413


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (deep_json(3000), "$"),
        (b'{"id": "1", "text": ', "$"),
        (b"\xff\xfe not utf-8", "$"),
        (b'{"id": "1", "text": "' + b"9" * 5000 + b'"}', "created_at"),
        (dumps({**GOOD, "text": "<img src=x onerror=alert(1)><script>x()</script>"}), "text"),
        (dumps({**GOOD, "id": "a\u0000b"}), "$"),
        (dumps({**GOOD, "id": "\ud800"}), "$"),
        (dumps({**GOOD, "created_at": "9999-12-31T23:59:59-23:59"}), "$"),
    ],
)
async def test_broken_or_hostile_bodies_are_400s_with_a_reason(
    client, body: bytes, field: str
) -> None:  # type: ignore[no-untyped-def]
    test_client, delivered = client
    response = await test_client.post("/webhook/form", data=body, headers=headers(body))
    assert response.status == 400, await response.text()
    answer = await response.json()
    assert (answer["error"] and answer["field"] == field) or field == "$"
    assert not delivered


async def test_every_mutation_of_a_signed_body_is_a_202_or_a_4xx_never_a_500(client) -> None:  # type: ignore[no-untyped-def]
    test_client, delivered = client
    full = {
        **GOOD,
        "title": "t",
        "url": "https://council.example/report/1",
        "lang": "en",
        "author": {"id": "resident-42", "handle": "r42"},
        "geo": {"lat": 51.8, "lon": -3.0},
        "place": "Abergavenny",
        "in_reply_to": "form-0",
    }
    statuses: dict[int, int] = {}
    for _, mutated in mutations(full, classes=tuple(k for k in VALUES if k != "huge_string")):
        body = dumps(mutated)
        response = await test_client.post("/webhook/form", data=body, headers=headers(body))
        statuses[response.status] = statuses.get(response.status, 0) + 1
        assert response.status in (202, 400), (response.status, body[:200])
    assert statuses.get(202) and statuses.get(400)
    for mention in delivered:
        check_mention(mention, html_source=True)


class Hostile(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no message for you")


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"x" * (5 * 1024 * 1024), ValueError("too big to keep whole")),
        (b"\xff\xfe\x00 not utf-8", ValueError("bad \ud800 surrogate in the reason \x00")),
        (b"ok", Hostile()),
        (b"", KeyError("\udfff")),
    ],
)
def test_a_dead_letter_always_encodes_and_fits_a_record(raw: bytes, error: BaseException) -> None:
    letter = evidence_letter(raw, error, source="rss/n/\ud800feed", key=b"k" * 5000)
    encoded = encode(letter)
    assert len(encoded) < 900_000
    back = decode(encoded, DeadLetter)
    if len(raw) > MAX_ORIGINAL_BYTES:
        assert back.excerpt and back.original_size == len(raw) and back.original_sha256
        assert len(back.original_b64) <= (EXCERPT_BYTES // 3 + 1) * 4
    else:
        assert back.excerpt is None and back.original_size is None
