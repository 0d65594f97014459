"""HTTP side of Reddit: subreddit, comment and search listings, optional app-only OAuth.

Contract: :meth:`RedditClient.listing` returns a :class:`Listing` (children as
``{"kind", "data"}`` things in listing order, newest first, plus the raw body) or
raises HttpRetryable / HttpPermanent / PayloadError (the body is not a Listing).
With client credentials it fetches an app-only bearer token (``client_credentials``
grant) from ``token_url``, calls ``oauth_url``, renews the token before it expires
and, on a 401, renews it once and repeats the call. ``X-Ratelimit-Remaining/Reset``
pace requests and a 429's ``X-Ratelimit-Reset`` becomes the retry hint (runtime.http).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from services.ingest.runtime.body import parse_json_async
from services.ingest.runtime.errors import HttpPermanent, PayloadError
from services.ingest.runtime.http import ApiClient, QueryParams

Thing = dict[str, Any]


@dataclass(frozen=True)
class Listing:
    children: list[Any]
    """Things (``{"kind": "t3", "data": {...}}``), newest first; the source checks each."""
    raw: bytes


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: SecretStr
    token_url: str


class RedditClient:
    """Listings from ``base_url`` (anonymous) or ``oauth_url`` (with credentials)."""

    def __init__(
        self,
        api: ApiClient,
        *,
        base_url: str,
        oauth_url: str,
        credentials: Credentials | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._credentials = credentials
        self._base = (oauth_url if credentials else base_url).rstrip("/")
        self._clock = clock
        self._token: str | None = None
        self._expires = 0.0

    async def _bearer(self, renew: bool) -> dict[str, str]:
        """The Authorization header (none without credentials), fetching a token when due."""
        creds = self._credentials
        if creds is None:
            return {}
        if renew or self._token is None or self._clock() >= self._expires:
            auth = (creds.client_id, creds.client_secret.get_secret_value())
            response = await self._api.post_form(
                creds.token_url, {"grant_type": "client_credentials"}, auth=auth
            )
            doc = await parse_json_async(creds.token_url, response.content)
            try:
                token, ttl = str(doc["access_token"]), float(doc.get("expires_in", 3600))
                ttl = min(max(ttl, 0.0), 86_400.0) if math.isfinite(ttl) else 3600.0
            except (ValueError, KeyError, TypeError, AttributeError) as exc:
                raise PayloadError(
                    creds.token_url, "no access_token in reply", response.content
                ) from exc
            # Renew a minute early so a token never expires between check and use.
            self._token, self._expires = token, self._clock() + max(0.0, ttl - 60)
        return {"Authorization": f"bearer {self._token}"}

    async def listing(self, path: str, params: QueryParams) -> Listing:
        """GET one listing (``/r/{sub}/new.json``, ``/search.json``...) with ``raw_json=1``."""
        url = self._base + path
        # raw_json=1: without it Reddit HTML-escapes &, < and > inside the JSON strings.
        query: QueryParams = {**params, "raw_json": 1}
        for renew in (False, True):
            headers = {"Accept": "application/json", **await self._bearer(renew)}
            try:
                response = await self._api.get(url, params=query, headers=headers)
                break
            except HttpPermanent as exc:
                if exc.status != 401 or self._credentials is None or renew:
                    raise
        raw = response.content
        data = await parse_json_async(url, raw, self._api.limits.max_json_depth)
        listing = data if isinstance(data, dict) and data.get("kind") == "Listing" else {}
        inner = listing.get("data")
        children = inner.get("children") if isinstance(inner, dict) else None
        if not isinstance(children, list):
            raise PayloadError(
                url, 'expected {"kind": "Listing", "data": {"children": [...]}}', raw
            )
        return Listing(children, raw)
