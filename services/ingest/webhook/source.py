"""Webhook intake: forms and other tools POST one JSON mention; 202 once it is durably on Kafka.

``POST /webhook/<instance>`` with header ``X-Earshot-Signature: sha256=<hex>``, the
HMAC-SHA256 of the raw body under the secret in the env var named by
``secret_env``. Body (UTF-8 JSON, at most ``max_body_bytes``)::

    {
      "id": "form-2026-000123",              # required, unique per sender: the native id
      "text": "Fly-tipping behind the shops", # required, plain text (HTML is stripped)
      "created_at": "2026-11-21T10:00:00Z",   # required, with a timezone
      "title": "optional", "url": "https://...", "lang": "en",
      "author": {"id": "resident-42", "handle": "resident-42"},   # pseudonymised by default
      "geo": {"lat": 51.82, "lon": -3.02}, "place": "Abergavenny",
      "in_reply_to": "form-2026-000100"
    }

Answers: 202 ``{"mention_id": ...}`` after the producer's transaction committed
(acks=all); 400 ``{"error", "field"}`` for bad input (not JSON, nested deeper than 64,
a field out of its limits, text or title that is nothing but markup); 401 bad or
missing signature; 413 body too large (checked while reading, chunked bodies too); 503
(Retry-After) when Kafka is unavailable — the sender retries and, the id being stable,
a retry is the same mention. The whole body is read before the signature is checked.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Literal

from aiohttp import web
from pydantic import Field, SecretStr, ValidationError

from schemas.models import Mention
from services.ingest.runtime.api import Source, SourceContext, SourceSpec, Stream
from services.ingest.runtime.body import parse_json
from services.ingest.runtime.config import ENV_NAME, InstanceConfig
from services.ingest.runtime.errors import PayloadError, Retryable
from services.ingest.webhook.mapping import MarkupOnly, WebhookPayload, map_payload

SIGNATURE_HEADER = "X-Earshot-Signature"
MAX_JSON_DEPTH = 64


class WebhookConfig(InstanceConfig):
    """``kind: webhook`` — an intake endpoint; ``secret_env`` names the env var with the HMAC key."""

    kind: Literal["webhook"]
    secret_env: str = Field(pattern=ENV_NAME)
    max_body_bytes: int = Field(default=65_536, ge=256, le=1 << 20)

    def required_env(self) -> tuple[str, ...]:
        return ("secret_env",)


def sign(secret: bytes, body: bytes) -> str:
    """The signature header value a sender computes for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def _bad(status: int, error: str, field: str | None = None) -> web.Response:
    return web.json_response({"error": error, "field": field}, status=status)


class WebhookSource(Source):
    def __init__(self, config: WebhookConfig, ctx: SourceContext) -> None:
        secret = ctx.environ.get(config.secret_env)
        if not secret:
            raise ValueError(
                f"env var {config.secret_env} (secret_env of {config.name}) is not set"
            )
        self._config = config
        self._ctx = ctx
        self._secret = SecretStr(secret)

    def streams(self) -> Sequence[Stream]:
        return ()

    def routes(self) -> Sequence[web.RouteDef]:
        return [web.post(f"/webhook/{self._config.name}", self.handle)]

    def to_mention(self, payload: WebhookPayload) -> Mention:
        """The documented payload as a Mention (author pseudonymised by deployment policy)."""
        return map_payload(
            payload,
            instance=self._config.name,
            fetched_at=self._ctx.now(),
            pseudonymiser=self._ctx.pseudonymiser,
        )

    async def handle(self, request: web.Request) -> web.Response:
        limit = self._config.max_body_bytes
        body = await read_body(request, limit)
        if body is None:
            return _bad(413, f"body larger than {limit} bytes")
        expected = sign(self._secret.get_secret_value().encode(), body)
        given = request.headers.get(SIGNATURE_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(expected.encode(), given):
            return _bad(401, f"missing or wrong {SIGNATURE_HEADER}", SIGNATURE_HEADER)
        try:
            data = parse_json("webhook body", body, MAX_JSON_DEPTH)
        except PayloadError as exc:
            return _bad(400, exc.reason, "$")
        try:
            payload = WebhookPayload.model_validate(data)
            mention = self.to_mention(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            return _bad(400, first["msg"], ".".join(str(p) for p in first["loc"]) or "$")
        except MarkupOnly as exc:
            return _bad(400, str(exc), exc.field)
        except Exception as exc:  # anything else in the sender's data is still the sender's
            return _bad(400, f"payload cannot be stored: {exc}"[:500], "$")
        try:
            await self._ctx.deliver([mention])
        except Retryable as exc:
            return web.json_response(
                {"error": f"not stored, retry: {exc}"}, status=503, headers={"Retry-After": "5"}
            )
        return web.json_response({"mention_id": mention.mention_id}, status=202)


async def read_body(request: web.Request, limit: int) -> bytes | None:
    """The WHOLE body, however many writes it arrives in, or None once it passes ``limit``
    (declared or counted: a chunked body has no length to trust)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


SPEC = SourceSpec("webhook", WebhookConfig, WebhookSource)
