"""Webhook intake answers: signature, size limit, failing field, 503 when Kafka is unavailable."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from devkit.replay.kit import context
from schemas.models import Mention
from services.ingest.runtime.errors import Retryable
from services.ingest.webhook.source import SIGNATURE_HEADER, WebhookConfig, WebhookSource, sign

SECRET = b"s" * 32


async def client_for(
    delivered: list[Mention], fail: bool = False
) -> TestClient[web.Request, web.Application]:
    async def deliver(mentions: Sequence[Mention]) -> None:
        if fail:
            raise Retryable("broker unavailable")
        delivered.extend(mentions)

    config = WebhookConfig(name="form", kind="webhook", secret_env="S", max_body_bytes=512)
    source = WebhookSource(config, context(environ={"S": SECRET.decode()}, deliver=deliver))
    app = web.Application()
    app.add_routes(source.routes())
    client = TestClient(TestServer(app))
    await client.start_server()
    return client


def signed(data: object) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(data).encode()
    return body, {SIGNATURE_HEADER: sign(SECRET, body)}


GOOD = {
    "id": "f-1",
    "text": "Bins missed on <b>Monnow Street</b>",
    "created_at": "2026-11-21T10:00:00+00:00",
}


async def test_accepts_a_signed_valid_body_after_delivery() -> None:
    delivered: list[Mention] = []
    client = await client_for(delivered)
    try:
        body, headers = signed(GOOD)
        response = await client.post("/webhook/form", data=body, headers=headers)
        assert response.status == 202
        assert (await response.json())["mention_id"] == delivered[0].mention_id
        assert delivered[0].text == "Bins missed on Monnow Street"
    finally:
        await client.close()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({**GOOD, "text": ""}, "text"),
        ({**GOOD, "created_at": "2026-11-21T10:00:00"}, "created_at"),
        ({**GOOD, "geo": {"lat": 1, "lon": 500}}, "geo.lon"),
        ({**GOOD, "url": "javascript:alert(1)"}, "url"),
        ({**GOOD, "extra": 1}, "extra"),
        ({"text": "x", "created_at": "2026-11-21T10:00:00Z"}, "id"),
        ([1, 2], "$"),
    ],
)
async def test_bad_input_is_400_naming_the_field(data: object, field: str) -> None:
    client = await client_for([])
    try:
        body, headers = signed(data)
        response = await client.post("/webhook/form", data=body, headers=headers)
        assert response.status == 400
        assert (await response.json())["field"] == field
    finally:
        await client.close()


async def test_not_json_signature_and_size() -> None:
    client = await client_for([])
    try:
        raw = b"not json"
        r1 = await client.post(
            "/webhook/form", data=raw, headers={SIGNATURE_HEADER: sign(SECRET, raw)}
        )
        body, _ = signed(GOOD)
        r2 = await client.post(
            "/webhook/form", data=body, headers={SIGNATURE_HEADER: sign(b"x" * 32, body)}
        )
        big = b'{"id": "' + b"x" * 600 + b'"}'
        r3 = await client.post(
            "/webhook/form", data=big, headers={SIGNATURE_HEADER: sign(SECRET, big)}
        )
        assert (r1.status, (await r1.json())["field"]) == (400, "$")
        assert r2.status == 401
        assert r3.status == 413
    finally:
        await client.close()


async def test_kafka_unavailable_is_503_with_retry_after() -> None:
    client = await client_for([], fail=True)
    try:
        body, headers = signed(GOOD)
        response = await client.post("/webhook/form", data=body, headers=headers)
        assert response.status == 503 and response.headers["Retry-After"] == "5"
    finally:
        await client.close()


def test_missing_secret_env_refuses_to_start() -> None:
    config = WebhookConfig(name="form", kind="webhook", secret_env="UNSET_SECRET")
    with pytest.raises(ValueError, match="UNSET_SECRET"):
        WebhookSource(config, context())
