"""Webhook intake on the real Kafka: 202 only once the mention is readable, committed."""

from __future__ import annotations

import json

import httpx
import pytest

from common.dedupe import partition_key
from devkit.replay.kit import Harness
from schemas.codec import decode
from schemas.models import Mention
from services.ingest.webhook.source import SIGNATURE_HEADER, WebhookConfig, sign

pytestmark = pytest.mark.integration
SECRET = "webhook-shared-secret-0123456789"


async def test_signed_post_is_on_kafka_when_202_comes_back(
    kafka_bootstrap: str, unique_prefix: str
) -> None:
    harness = Harness(kafka_bootstrap, unique_prefix, environ={"HOOK_SECRET": SECRET})
    config = WebhookConfig(
        name="report-it", kind="webhook", secret_env="HOOK_SECRET", max_body_bytes=2048
    )
    service = await harness.start([config])
    url = f"http://127.0.0.1:{service.bound_port}/webhook/report-it"
    body = json.dumps(
        {
            "id": "form-1",
            "text": "Fly-tipping on Cross Street, Abergavenny",
            "created_at": "2026-11-21T10:00:00Z",
            "author": {"id": "resident-42"},
            "place": "Abergavenny",
        }
    ).encode()
    try:
        async with httpx.AsyncClient() as client:
            ok = await client.post(
                url, content=body, headers={SIGNATURE_HEADER: sign(SECRET.encode(), body)}
            )
            # Read at once, no waiting: 202 promises the record is committed.
            records = await harness.records(harness.topics.mentions)
            unsigned = await client.post(url, content=body)
            wrong = await client.post(url, content=body, headers={SIGNATURE_HEADER: "sha256=00"})
            bad = b'{"id": "form-2", "text": "x", "created_at": "yesterday"}'
            invalid = await client.post(
                url, content=bad, headers={SIGNATURE_HEADER: sign(SECRET.encode(), bad)}
            )
            big = b"{" + b" " * 4096 + b"}"
            too_big = await client.post(
                url, content=big, headers={SIGNATURE_HEADER: sign(SECRET.encode(), big)}
            )
            health = await client.get(f"http://127.0.0.1:{service.bound_port}/healthz")
    finally:
        await harness.stop()
    assert ok.status_code == 202
    ((key, value, _),) = records
    mention = decode(value, Mention)
    assert ok.json()["mention_id"] == mention.mention_id
    assert key == partition_key(mention)  # copies of this text or link share its partition
    assert mention.source.kind == "webhook" and mention.place_hint and mention.author
    assert mention.author.scheme == "hmac-sha256"
    assert unsigned.status_code == 401 and wrong.status_code == 401
    assert invalid.status_code == 400 and invalid.json()["field"] == "created_at"
    assert too_big.status_code == 413
    assert health.status_code == 200
