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
(acks=all); 400 ``{"error", "field"}`` for bad input; 401 bad or missing signature;
413 body too large; 503 (Retry-After) when Kafka is unavailable — the sender retries
and, the id being stable, a retry is the same mention.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from typing import Literal

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, ValidationError

from schemas.models import Match, Mention, PlaceHint, Point, Thread
from services.ingest.runtime.api import Source, SourceContext, Stream
from services.ingest.runtime.config import ENV_NAME, InstanceConfig
from services.ingest.runtime.errors import Retryable
from services.ingest.runtime.mapping import html_to_text, make_mention

SIGNATURE_HEADER = "X-Earshot-Signature"


class WebhookConfig(InstanceConfig):
    """``kind: webhook`` — an intake endpoint; ``secret_env`` names the env var with the HMAC key."""

    kind: Literal["webhook"]
    secret_env: str = Field(pattern=ENV_NAME)
    max_body_bytes: int = Field(default=65_536, ge=256, le=1 << 20)

    def required_env(self) -> tuple[str, ...]:
        return ("secret_env",)


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WebhookAuthor(_Strict):
    id: str = Field(min_length=1, max_length=300)
    handle: str | None = Field(default=None, max_length=300)


class WebhookGeo(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class WebhookPayload(_Strict):
    """The documented POST body (see the module docstring)."""

    id: str = Field(min_length=1, max_length=1000)
    text: str = Field(min_length=1, max_length=40_000)
    created_at: AwareDatetime
    title: str | None = Field(default=None, max_length=2000)
    url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=4000)
    lang: str | None = Field(default=None, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
    author: WebhookAuthor | None = None
    geo: WebhookGeo | None = None
    place: str | None = Field(default=None, min_length=1, max_length=300)
    in_reply_to: str | None = Field(default=None, max_length=1000)


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
        author = payload.author
        return make_mention(
            kind="webhook",
            instance=self._config.name,
            native_id=payload.id,
            text=html_to_text(payload.text) or payload.text,
            title=html_to_text(payload.title) or None,
            url=payload.url,
            lang=payload.lang,
            created_at=payload.created_at,
            fetched_at=self._ctx.now(),
            author=self._ctx.pseudonymiser.author("webhook", author.id, author.handle)
            if author
            else None,
            geo=Point(lat=payload.geo.lat, lon=payload.geo.lon) if payload.geo else None,
            place_hint=PlaceHint(name=payload.place) if payload.place else None,
            thread=Thread(parent_id=payload.in_reply_to) if payload.in_reply_to else None,
            matched_by=(Match(kind="webhook", value=self._config.name),),
        )

    async def handle(self, request: web.Request) -> web.Response:
        limit = self._config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return _bad(413, f"body larger than {limit} bytes")
        body = await request.content.read(limit + 1)
        if len(body) > limit:
            return _bad(413, f"body larger than {limit} bytes")
        expected = sign(self._secret.get_secret_value().encode(), body)
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(expected.encode(), given.encode()):
            return _bad(401, f"missing or wrong {SIGNATURE_HEADER}", SIGNATURE_HEADER)
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return _bad(400, f"body is not JSON: {exc}", "$")
        try:
            payload = WebhookPayload.model_validate(data)
            mention = self.to_mention(payload)
        except ValidationError as exc:
            first = exc.errors()[0]
            return _bad(400, first["msg"], ".".join(str(p) for p in first["loc"]) or "$")
        except ValueError as exc:
            return _bad(400, str(exc), "$")
        try:
            await self._ctx.deliver([mention])
        except Retryable as exc:
            return web.json_response(
                {"error": f"not stored, retry: {exc}"}, status=503, headers={"Retry-After": "5"}
            )
        return web.json_response({"mention_id": mention.mention_id}, status=202)
