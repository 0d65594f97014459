"""Constructed hostile feeds and bodies: character references, encodings, markup injection,
compression bombs, lying headers, huge and deep bodies, a 10,000-item feed's cursor."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest

from devkit.replay.kit import context, drain
from services.ingest.rss.source import RssConfig, RssSource
from services.ingest.runtime.body import BodyLimits, BodyTooLarge, json_depth
from services.ingest.runtime.errors import HttpRetryable, PayloadError
from services.ingest.runtime.http import ApiClient, make_client
from services.ingest.runtime.mapping import safe_url
from services.ingest.runtime.seen import SeenSet
from services.ingest.runtime.text import html_to_text, normalise_text
from tests.hostile.corpus import HANDLER, MARKUP, SCRIPT_LINK, TAG, check_page

GOOD = "<item><guid>good-{n}</guid><title>Pothole on Green Lanes {n}</title><link>https://news.example/{n}</link><description>Reported today.</description></item>"


def feed(*items: str, encoding: str = "utf-8") -> bytes:
    body = "".join(items)
    head = (
        f'<?xml version="1.0" encoding="{encoding}"?><rss version="2.0"><channel><title>t</title>'
    )
    return (head + body + "</channel></rss>").encode(encoding, "xmlcharrefreplace")


def rss_stream(transport: httpx.AsyncBaseTransport, limits: BodyLimits | None = None):  # type: ignore[no-untyped-def]
    config = RssConfig(name="n", kind="rss", feeds=["https://feeds.example/f.xml"])
    ctx = context(transport)
    if limits is not None:
        ctx.http.limits = limits  # type: ignore[misc]
    (stream,) = RssSource(config, ctx).streams()
    return stream


def serve(body: bytes, headers: dict[str, str] | None = None) -> httpx.MockTransport:
    return httpx.MockTransport(lambda r: httpx.Response(200, content=body, headers=headers or {}))


def streamed(chunks: AsyncIterator[bytes], headers: dict[str, str]) -> httpx.MockTransport:
    """A transport whose body really streams (is read chunk by chunk by the client)."""
    return httpx.MockTransport(lambda r: httpx.Response(200, content=chunks, headers=headers))


BAD_ITEMS = {
    "surrogate_charref": "<item><guid>b1</guid><title>bad &#xD800; ref</title><description>x</description></item>",
    "decimal_surrogate": "<item><guid>b2</guid><title>bad &#55296;</title><description>x</description></item>",
    "beyond_unicode": "<item><guid>b3</guid><title>&#x110000;</title><description>x</description></item>",
    "absurd_charref": "<item><guid>b4</guid><title>&#" + "9" * 3000 + ";</title></item>",
    "nul_and_bidi": "<item><guid>b5</guid><title>a&#0;b \u202eevil</title><description>c\u200bd</description></item>",
    "markup_cdata": f"<item><guid>b6</guid><title>t</title><description><![CDATA[{MARKUP} unclosed <img src=x onerror=alert(1)]]></description></item>",
    "escaped_markup": "<item><guid>b7</guid><title>&lt;svg/onload=alert(1)&gt;x</title><description>&amp;lt;b onclick=1&amp;gt;y</description></item>",
    "js_link": "<item><guid>b8</guid><title>t</title><link>javascript:alert(1)</link><description>x</description></item>",
    "markup_link": '<item><guid>b9</guid><title>t</title><link>https://x.example/&lt;img src=x onerror=alert(1)&gt;"</link><description>x</description></item>',
    "huge_guid": "<item><guid>" + "g" * 5000 + "</guid><title>t</title></item>",
    "no_text": "<item><guid>b10</guid></item>",
    "quadratic_tags": "<item><guid>b11</guid><title>t</title><description><![CDATA["
    + "<a " * 20000
    + "]]></description></item>",
    "deep_nesting": "<item><guid>b12</guid><title>t</title><description><![CDATA["
    + "<ul>" * 20000
    + "deep]]></description></item>",
}


@pytest.mark.parametrize("case", sorted(BAD_ITEMS))
async def test_one_bad_entry_never_costs_the_good_ones(case: str) -> None:
    body = feed(GOOD.format(n=1), BAD_ITEMS[case], GOOD.format(n=2))
    (page,) = await drain(rss_stream(serve(body)))
    check_page(page, html_source=True, key="rss/n/f")
    ids = {m.source.native_id.rsplit("/", 1)[-1] for m in page.mentions}
    assert {"good-1", "good-2"} <= ids


@pytest.mark.parametrize("encoding", ["utf-16", "iso-8859-1", "windows-1252", "utf-8"])
async def test_feeds_in_other_encodings_and_with_lies_in_their_declaration(encoding: str) -> None:
    body = feed(
        GOOD.format(n=1),
        "<item><guid>é</guid><title>Café &#xD800;</title></item>",
        encoding=encoding,
    )
    pages = await drain(rss_stream(serve(body, {"content-type": "text/xml; charset=utf-8"})))
    for page in pages:
        check_page(page, html_source=True)


async def test_a_body_that_is_not_the_gzip_its_header_claims_is_a_payload_error() -> None:
    with pytest.raises(PayloadError, match="not valid gzip"):
        await drain(
            rss_stream(streamed(_chunks(b"plain text, not gzip"), {"content-encoding": "gzip"}))
        )


async def test_a_gzip_bomb_stops_at_the_decoded_cap_without_inflating_it() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)  # 64 MiB in ~64 KB
    limits = BodyLimits(max_decoded_bytes=1024 * 1024)
    with pytest.raises(BodyTooLarge, match="once decoded") as info:
        await drain(rss_stream(streamed(_chunks(bomb, 8192), {"content-encoding": "gzip"}), limits))
    assert len(info.value.raw) <= 64 * 1024  # evidence kept is bounded too


async def test_a_body_over_the_wire_cap_stops_there_chunked_or_declared() -> None:
    limits = BodyLimits(max_wire_bytes=100_000)
    with pytest.raises(BodyTooLarge, match="on the wire"):
        await drain(rss_stream(streamed(_chunks(b"x" * 300_000, 10_000), {}), limits))
    declared = {"content-length": "999999999"}
    with pytest.raises(BodyTooLarge, match="Content-Length"):
        await drain(rss_stream(streamed(_chunks(b"x" * 10), declared), limits))


async def test_unsupported_or_stacked_encodings_are_refused_not_guessed() -> None:
    for header in ("br", "zstd", "gzip, gzip, gzip", "compress"):
        with pytest.raises(PayloadError, match="Content-Encoding"):
            await drain(rss_stream(streamed(_chunks(b"x"), {"content-encoding": header})))


async def test_deflate_raw_or_zlib_wrapped_is_read() -> None:
    raw = zlib.compressobj(wbits=-15)
    body = raw.compress(feed(GOOD.format(n=1))) + raw.flush()
    (page,) = await drain(rss_stream(streamed(_chunks(body), {"content-encoding": "deflate"})))
    assert [m.source.native_id.rsplit("/", 1)[-1] for m in page.mentions] == ["good-1"]


async def test_a_transport_failure_mid_body_is_retryable() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"<rss>"
        raise httpx.ReadError("connection reset")

    with pytest.raises(HttpRetryable):
        await drain(
            rss_stream(httpx.MockTransport(lambda r: httpx.Response(200, content=broken())))
        )


async def test_a_feed_of_10000_items_restarts_without_producing_anything_twice() -> None:
    body = feed(*(GOOD.format(n=n) for n in range(10_000)))
    stream = rss_stream(serve(body))
    (first,) = await drain(stream)
    assert len(first.mentions) == 10_000
    stored = json.loads(json.dumps(first.cursor))  # as the cursor topic keeps it
    assert len(json.dumps(stored)) < 300_000
    assert len(SeenSet.load(stored)) >= 10_000
    (again,) = await drain(stream, stored)
    assert again.mentions == [] and again.fetched == 10_000


MARKUP_CASES = [
    MARKUP,
    "<svg/onload=alert(1)>",
    "<img/src=x/onerror=alert(1)>",
    "<x-custom onmouseover=alert(1)>hi</x-custom>",
    "trailing <img src=x onerror=alert(1)",
    "&lt;img src=x onerror=alert(1)&gt;",
    "&amp;lt;script&amp;gt;alert(1)&amp;lt;/script&amp;gt;",
    "<iframe srcdoc='<script>alert(1)</script>'></iframe>",
    "<textarea><img src=x onerror=alert(1)></textarea>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<a href=' javascript:alert(1)'>x</a><a href=data:text/html,<script>y</script>>y</a>",
    "<!--><img src=x onerror=alert(1)>-->",
    "<<script>script>alert(1)<</script>/script>",
]


@pytest.mark.parametrize("fragment", MARKUP_CASES)
def test_html_to_text_leaves_no_markup(fragment: str) -> None:
    text = html_to_text(fragment)
    assert not TAG.search(text), text
    assert not HANDLER.search(text), text
    assert not SCRIPT_LINK.search(text), text


@pytest.mark.timeout(60)  # a hang guard, not a speed target (bench_ingest measures speed)
@pytest.mark.parametrize("unit", ["<a ", "<ul>", "<dl><dd>", "<div>", "&#", "<!--", "<b><i>"])
def test_html_to_text_finishes_on_pathological_nesting(unit: str) -> None:
    html_to_text(unit * (400_000 // len(unit)))


def test_normalisation_keeps_what_people_write_and_drops_what_hides_it() -> None:
    assert normalise_text("Caf\u00e9 \U0001f6a7 \u0634\u200c\u0645 \U0001f468\u200d\U0001f469") == (
        "Caf\u00e9 \U0001f6a7 \u0634\u200c\u0645 \U0001f468\u200d\U0001f469"
    )  # ZWNJ/ZWJ stay: scripts and emoji need them
    assert normalise_text("a\x00b\u202ec\u2066d\u200be\ufeff\u00adf\r\ng") == "abcdef\ng"
    assert normalise_text("lone \ud800 and \udfff") == "lone \ufffd and \ufffd"
    assert normalise_text("\ud83d\ude00") == "\U0001f600"  # a pair split in two is one emoji
    "x".join([normalise_text("\ud800")]).encode("utf-8")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            'https://x.com/i/web/status/<img src=x onerror=alert(1)>"',
            "https://x.com/i/web/status/%3Cimg%20src=x%20onerror=alert(1)%3E%22",
        ),
        ("https://bücher.example/a b", "https://xn--bcher-kva.example/a%20b"),
        ("https://x.example:99999/", None),
        ("https://[::1/", None),
        ("https://user:pw@x.example/p", "https://x.example/p"),
        ("http://x.example/%zz", "http://x.example/%25zz"),
        ("data:text/html,<b>", None),
        (" javascript:alert(1)", None),
        ("https://exa mple.com/", None),
        ("https://x.example/\ud800", "https://x.example/%EF%BF%BD"),
    ],
)
def test_urls_are_absolute_http_uris_or_nothing(url: str, expected: str | None) -> None:
    assert safe_url(url) == expected


async def _chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_json_depth_is_measured_past_strings_and_escapes() -> None:
    assert json_depth(b'{"a": "[[[[\\"[[", "b": [[1]]}') == 3
    assert json_depth(b"[" * 100_000) == 100_000
    assert json_depth(b"") == 0


async def test_api_client_limits_apply_to_every_request() -> None:
    api = ApiClient(
        make_client(contact="t@e", transport=serve(b"y" * 5000)),
        limits=BodyLimits(max_decoded_bytes=1024),
    )
    with pytest.raises(BodyTooLarge):
        await api.get("https://feeds.example/x")
