"""HTTP side of X API v2: ``GET /2/tweets/search/recent`` with an app bearer token.

Contract: :meth:`XClient.search_recent` returns one :class:`SearchPage` (tweets newest
first; ``includes.places`` and ``includes.users`` by id; ``meta.newest_id`` and
``meta.next_token``) or raises HttpRetryable (429, whose wait comes from
``x-rate-limit-reset`` in epoch seconds; 5xx; transport), HttpPermanent (401/403, a
rejected query's 400) or PayloadError (the body is not a search response).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from pydantic import SecretStr

from services.ingest.runtime.errors import PayloadError
from services.ingest.runtime.http import ApiClient, QueryParams

SEARCH_PATH: Final = "/2/tweets/search/recent"
TWEET_FIELDS: Final = "created_at,lang,geo,conversation_id,referenced_tweets,author_id,note_tweet"
EXPANSIONS: Final = "geo.place_id,author_id"
PLACE_FIELDS: Final = "full_name,country_code,geo,place_type"
USER_FIELDS: Final = "username"
Obj = dict[str, Any]


@dataclass(frozen=True)
class SearchPage:
    tweets: list[Any]
    """Tweet objects as sent (the source checks each)."""
    places: dict[str, Obj]
    users: dict[str, Obj]
    raw: bytes
    newest_id: str | None
    next_token: str | None


def _by_id(items: Any) -> dict[str, Obj]:
    if not isinstance(items, list):
        return {}
    return {str(i["id"]): i for i in items if isinstance(i, dict) and "id" in i}


class XClient:
    """Recent search on one API base URL with the bearer token of a project app."""

    def __init__(self, api: ApiClient, base_url: str, token: SecretStr) -> None:
        self._api = api
        self.base_url = base_url.rstrip("/")
        self._headers = {
            "Accept": "application/json",
            "Authorization": f"Bearer {token.get_secret_value()}",
        }

    async def search_recent(
        self, query: str, *, since_id: str | None, next_token: str | None, max_results: int
    ) -> SearchPage:
        """One page of tweets newer than ``since_id`` matching ``query`` (newest first)."""
        params: QueryParams = {
            "query": query,
            "max_results": max_results,
            "expansions": EXPANSIONS,
            "tweet.fields": TWEET_FIELDS,
            "place.fields": PLACE_FIELDS,
            "user.fields": USER_FIELDS,
            "since_id": since_id or None,
            "next_token": next_token or None,
        }
        url = self.base_url + SEARCH_PATH
        doc, response = await self._api.get_json(url, params=params, headers=self._headers)
        raw = response.content
        meta = doc.get("meta") if isinstance(doc, dict) else None
        tweets = doc.get("data", []) if isinstance(doc, dict) else None
        if not isinstance(meta, dict) or not isinstance(tweets, list):
            raise PayloadError(url, 'expected {"data": [tweets], "meta": {...}}', raw)
        includes = doc.get("includes") or {}
        newest, token = meta.get("newest_id"), meta.get("next_token")
        return SearchPage(
            tweets=tweets,
            places=_by_id(includes.get("places")) if isinstance(includes, dict) else {},
            users=_by_id(includes.get("users")) if isinstance(includes, dict) else {},
            raw=raw,
            newest_id=str(newest) if newest else None,
            next_token=str(token) if token else None,
        )
