"""HTTP classification, wait hints from each API's headers, pacing and the User-Agent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.ingest.runtime.errors import HttpPermanent, HttpRetryable
from services.ingest.runtime.http import (
    ApiClient,
    RateLimitPacer,
    make_client,
    retry_after_hint,
    user_agent,
)

NOW = 1_800_000_000.0


def api(handler: httpx.MockTransport) -> ApiClient:
    return ApiClient(make_client(contact="ops@haringey.example", transport=handler))


def test_retry_after_in_seconds_and_as_http_date() -> None:
    assert retry_after_hint(httpx.Headers({"Retry-After": "7"}), NOW) == 7.0
    date = datetime.fromtimestamp(NOW + 30, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    assert retry_after_hint(httpx.Headers({"Retry-After": date}), NOW) == pytest.approx(30.0)


def test_rate_limit_reset_headers_of_each_api() -> None:
    iso = (datetime.fromtimestamp(NOW, UTC) + timedelta(seconds=42)).isoformat()
    assert retry_after_hint(httpx.Headers({"X-RateLimit-Reset": iso}), NOW) == pytest.approx(42)
    assert retry_after_hint(httpx.Headers({"X-Ratelimit-Reset": "12"}), NOW) == 12.0  # reddit
    epoch = str(int(NOW + 90))
    assert retry_after_hint(httpx.Headers({"x-rate-limit-reset": epoch}), NOW) == 90.0  # X
    assert retry_after_hint(httpx.Headers({"x-rate-limit-reset": str(int(NOW - 5))}), NOW) == 0.0
    assert retry_after_hint(httpx.Headers({"Retry-After": "soon"}), NOW) is None
    assert retry_after_hint(httpx.Headers({}), NOW) is None


async def test_a_quota_reset_header_on_a_5xx_is_not_a_wait_hint() -> None:
    reset = datetime.fromtimestamp(NOW + 300, UTC).isoformat()
    client = api(
        httpx.MockTransport(lambda r: httpx.Response(503, headers={"X-RateLimit-Reset": reset}))
    )
    with pytest.raises(HttpRetryable) as info:
        await client.get("https://m.example/x")
    assert info.value.retry_after is None


@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_retryable_statuses(status: int) -> None:
    client = api(
        httpx.MockTransport(lambda r: httpx.Response(status, headers={"Retry-After": "3"}))
    )
    with pytest.raises(HttpRetryable) as info:
        await client.get("https://feeds.example/x")
    assert info.value.status == status
    assert info.value.retry_after == 3.0


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
async def test_permanent_statuses(status: int) -> None:
    client = api(httpx.MockTransport(lambda r: httpx.Response(status)))
    with pytest.raises(HttpPermanent) as info:
        await client.get("https://feeds.example/x")
    assert info.value.status == status


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), httpx.RemoteProtocolError("x")],
)
async def test_transport_errors_and_timeouts_are_retryable(error: Exception) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    with pytest.raises(HttpRetryable) as info:
        await api(httpx.MockTransport(handler)).get("https://feeds.example/x")
    assert info.value.status == 0


async def test_304_passes_and_user_agent_names_the_contact() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["User-Agent"])
        return httpx.Response(304)

    response = await api(httpx.MockTransport(handler)).get("https://feeds.example/x")
    assert response.status_code == 304
    assert seen == [user_agent("ops@haringey.example")]
    assert seen[0] == "Earshot/0.1 (+council social listening; contact: ops@haringey.example)"


async def test_pacer_slows_down_when_quota_is_low() -> None:
    clock = [NOW]
    slept: list[float] = []

    async def sleep(d: float) -> None:
        slept.append(d)

    pacer = RateLimitPacer(low_water=5, max_wait=60, clock=lambda: clock[0], sleep=sleep)
    reset = datetime.fromtimestamp(NOW + 40, UTC).isoformat()
    pacer.observe(
        "m.example", httpx.Headers({"X-RateLimit-Remaining": "100", "X-RateLimit-Reset": reset})
    )
    assert pacer.wait_for("m.example") == 0.0
    pacer.observe(
        "m.example", httpx.Headers({"X-RateLimit-Remaining": "3", "X-RateLimit-Reset": reset})
    )
    assert pacer.wait_for("m.example") == pytest.approx(10.0)  # 40 s over 3 + 1 requests
    await pacer.pace("m.example")
    assert slept == [pytest.approx(10.0)]
    clock[0] += 41
    assert pacer.wait_for("m.example") == 0.0
    assert pacer.wait_for("other.example") == 0.0


async def test_unset_optional_parameters_are_not_sent() -> None:
    seen: list[httpx.QueryParams] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params)
        return httpx.Response(200, json=[])

    await api(httpx.MockTransport(handler)).get(
        "https://m.example/api", params={"limit": 4, "min_id": None, "q": "", "max_id": "9"}
    )
    assert dict(seen[0]) == {"limit": "4", "q": "", "max_id": "9"}
