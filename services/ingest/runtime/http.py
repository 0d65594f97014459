"""The one HTTP client factory and response classifier every source client uses.

Contract: :meth:`ApiClient.get` returns a 2xx/304 :class:`Fetched` (the body read whole,
within :class:`BodyLimits`) or raises :class:`HttpRetryable` (transport errors, timeouts,
408/425/429, 5xx, any other failure of the HTTP library; carrying the server's wait hint),
:class:`HttpPermanent` (every other 4xx) or PayloadError (a body over a size cap, or not
the encoding its header claims). It also paces itself when a rate-limit header says the
remaining quota is low, so a source slows down before the server starts answering 429.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final

import httpx

from services.ingest.runtime.body import (
    ACCEPT_ENCODING,
    BodyLimits,
    lines_capped,
    parse_json_async,
    read_capped,
)
from services.ingest.runtime.errors import HttpPermanent, HttpRetryable

RETRYABLE_STATUS: Final = frozenset({408, 425, 429})
# Above this a bare number in a reset header is an epoch time, below it a delay in seconds.
_EPOCH_THRESHOLD: Final = 1_000_000_000.0


def user_agent(contact: str) -> str:
    """The User-Agent every Earshot request carries, so an API owner can reach the operator."""
    return f"Earshot/0.1 (+council social listening; contact: {contact})"


def make_client(
    *,
    contact: str,
    timeout: float = 20.0,
    connect_timeout: float = 5.0,
    transport: httpx.AsyncBaseTransport | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.AsyncClient:
    """A configured ``httpx.AsyncClient``; tests pass ``transport`` (e.g. ``httpx.MockTransport``)."""
    merged = {
        "User-Agent": user_agent(contact),
        "Accept-Encoding": ACCEPT_ENCODING,
        **(headers or {}),
    }
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=connect_timeout),
        headers=merged,
        transport=transport,
        follow_redirects=True,
        limits=httpx.Limits(max_connections=10, max_keepalive_connections=5),
    )


def _parse_reset(value: str, now: float) -> float | None:
    """Seconds until a rate-limit reset given as ISO time, HTTP date, epoch or delta seconds."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        return max(0.0, number - now) if number > _EPOCH_THRESHOLD else max(0.0, number)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def retry_after_hint(
    headers: httpx.Headers, now: float | None = None, *, rate_limited: bool = True
) -> float | None:
    """The server's wait hint in seconds, from the first header that parses.

    ``Retry-After`` (seconds or HTTP date); Mastodon ``X-RateLimit-Reset`` (ISO time);
    Reddit ``X-Ratelimit-Reset`` (seconds; same name case-insensitively, told apart by
    its value); X ``x-rate-limit-reset`` and Bluesky ``RateLimit-Reset`` (epoch seconds).
    Reset headers are quota bookkeeping sent on every response, so they count only
    when ``rate_limited`` (429).
    """
    now = time.time() if now is None else now
    names = (
        ("retry-after", "x-ratelimit-reset", "x-rate-limit-reset", "ratelimit-reset")
        if rate_limited
        else ("retry-after",)
    )
    for name in names:
        value = headers.get(name)
        if value:
            hint = _parse_reset(value, now)
            if hint is not None:
                return hint
    return None


def classify(response: httpx.Response, now: float | None = None) -> None:
    """Raise the typed error a non-success response stands for; return for 2xx and 304."""
    status = response.status_code
    if status < 300 or status == 304:
        return
    try:
        url = str(response.request.url)
    except RuntimeError:  # a response built by hand (tests) has no request
        url = "?"
    detail = response.reason_phrase or "error"
    if status in RETRYABLE_STATUS or status >= 500:
        raise HttpRetryable(
            url,
            status,
            detail,
            retry_after=retry_after_hint(response.headers, now, rate_limited=status == 429),
        )
    raise HttpPermanent(url, status, detail)


class RateLimitPacer:
    """Spreads the remaining quota over the time left before reset, per host.

    When ``remaining`` falls to ``low_water`` or below, each request waits
    ``reset_in / (remaining + 1)`` (capped) so the quota is not exhausted early.
    """

    def __init__(
        self,
        *,
        low_water: int = 5,
        max_wait: float = 60.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._low_water = low_water
        self._max_wait = max_wait
        self._clock = clock
        self._sleep = sleep
        self._state: dict[str, tuple[int, float]] = {}

    def observe(self, host: str, headers: httpx.Headers) -> None:
        """Remember the quota a response announced (``X-RateLimit-Remaining`` + reset)."""
        remaining = (
            headers.get("x-ratelimit-remaining")
            or headers.get("x-rate-limit-remaining")
            or headers.get("ratelimit-remaining")
        )
        reset = (
            headers.get("x-ratelimit-reset")
            or headers.get("x-rate-limit-reset")
            or headers.get("ratelimit-reset")
        )
        if remaining is None or reset is None:
            return
        try:
            left = int(float(remaining))
        except ValueError:
            return
        now = self._clock()
        reset_in = _parse_reset(reset, now)
        if reset_in is not None:
            self._state[host] = (left, now + reset_in)

    def wait_for(self, host: str) -> float:
        """Seconds to wait before the next request to ``host`` (0 when quota is healthy)."""
        left, reset_at = self._state.get(host, (self._low_water + 1, 0.0))
        if left > self._low_water:
            return 0.0
        reset_in = reset_at - self._clock()
        if reset_in <= 0:
            return 0.0
        return min(self._max_wait, reset_in / (left + 1))

    async def pace(self, host: str) -> None:
        """Sleep as :meth:`wait_for` says."""
        wait = self.wait_for(host)
        if wait > 0:
            await self._sleep(wait)


QueryParams = Mapping[str, str | int | None]
"""Query parameters; a None value is an optional parameter left unset, and is not sent."""


def _set_only(params: QueryParams | None) -> dict[str, str | int] | None:
    if params is None:
        return None
    return {name: value for name, value in params.items() if value is not None}


@dataclass(frozen=True)
class Fetched:
    """A response read whole: status, final URL (after redirects), headers and decoded body."""

    status_code: int
    url: str
    headers: httpx.Headers
    content: bytes

    @property
    def links(self) -> dict[str | None, dict[str, str]]:
        """The ``Link`` header by rel, as httpx parses it."""
        link = self.headers.get("link")
        return httpx.Response(200, headers={"link": link}).links if link else {}


class ApiClient:
    """An ``httpx.AsyncClient`` plus the pacer, the body limits and the typed error mapping."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        pacer: RateLimitPacer | None = None,
        limits: BodyLimits | None = None,
    ) -> None:
        self.http = client
        self.pacer = pacer or RateLimitPacer()
        self.limits = limits or BodyLimits()

    async def _request(self, method: str, url: str, **kwargs: Any) -> Fetched:
        host = httpx.URL(url).host
        await self.pacer.pace(host)
        try:
            async with asyncio.timeout(self.limits.max_seconds):
                async with self.http.stream(method, url, **kwargs) as response:
                    self.pacer.observe(host, response.headers)
                    classify(response)
                    body = await read_capped(response, self.limits)
                    return Fetched(response.status_code, str(response.url), response.headers, body)
        except TimeoutError as exc:
            raise HttpRetryable(
                url, 0, f"no whole answer in {self.limits.max_seconds:.0f}s"
            ) from exc
        except httpx.TimeoutException as exc:
            raise HttpRetryable(url, 0, f"timeout ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise HttpRetryable(url, 0, f"transport error: {exc!r}") from exc
        except httpx.HTTPError as exc:  # redirect loops, bad redirect URLs, protocol oddities
            raise HttpRetryable(url, 0, f"{type(exc).__name__}: {exc}") from exc

    async def get(
        self,
        url: str,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Fetched:
        """GET ``url``; the response is 2xx or 304, anything else raises a typed error."""
        return await self._request("GET", url, params=_set_only(params), headers=headers)

    async def get_json(
        self,
        url: str,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[Any, Fetched]:
        """GET ``url`` as :meth:`get` does and parse its JSON off the event loop (depth-capped);
        returns the parsed document and the response (its raw body is the evidence)."""
        response = await self.get(url, params=params, headers=headers)
        return await parse_json_async(url, response.content, self.limits.max_json_depth), response

    async def post_form(
        self, url: str, data: Mapping[str, str], *, auth: tuple[str, str] | None = None
    ) -> Fetched:
        """POST a form (an OAuth token request); errors map exactly as :meth:`get`'s do."""
        return await self._request("POST", url, data=dict(data), auth=auth)

    async def stream_lines(
        self,
        url: str,
        *,
        params: QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        read_timeout: float = 90.0,
    ) -> AsyncIterator[str]:
        """Lines of a long-lived response (SSE); errors map exactly as :meth:`get`'s do."""
        host = httpx.URL(url).host
        await self.pacer.pace(host)
        timeout = httpx.Timeout(read_timeout, connect=self.http.timeout.connect)
        try:
            async with self.http.stream(
                "GET", url, params=_set_only(params), headers=headers, timeout=timeout
            ) as response:
                self.pacer.observe(host, response.headers)
                classify(response)
                async for line in lines_capped(response, self.limits):
                    yield line
        except httpx.TimeoutException as exc:
            raise HttpRetryable(url, 0, f"stream timeout ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            raise HttpRetryable(url, 0, f"stream broken: {exc!r}") from exc
        except httpx.HTTPError as exc:
            raise HttpRetryable(url, 0, f"{type(exc).__name__}: {exc}") from exc

    async def aclose(self) -> None:
        await self.http.aclose()
