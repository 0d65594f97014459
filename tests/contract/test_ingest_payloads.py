"""Mapping of recorded-shape API payloads (tests/contract/payloads) to schema-valid Mentions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devkit.replay.kit import FETCHED_AT, context, drain, files
from schemas.codec import decode, encode
from schemas.ids import mention_id
from schemas.models import Mention
from services.ingest.mastodon.client import MastodonClient
from services.ingest.mastodon.source import MastodonConfig, MastodonSource, TimelineStream
from services.ingest.rss.source import RssConfig, RssSource
from services.ingest.runtime.errors import PayloadError
from services.ingest.webhook.mapping import WebhookPayload
from services.ingest.webhook.source import WebhookConfig, WebhookSource

PAYLOADS = Path(__file__).parent / "payloads"


def roundtrip(m: Mention) -> Mention:
    """Every mention must pass the one codec unchanged."""
    return decode(encode(m), Mention)


async def rss_pass(name: str, ctype: str = "application/rss+xml") -> list[Mention]:
    body = (PAYLOADS / "rss" / name).read_bytes()
    config = RssConfig(
        name="feeds", kind="rss", feeds=[{"url": f"https://feeds.example/{name}", "name": "f"}]
    )
    ctx = context(files({f"/{name}": body}, {"content-type": ctype}))
    (stream,) = RssSource(config, ctx).streams()
    pages = await drain(stream)
    assert len(pages) == 1
    return [roundtrip(m) for m in pages[0].mentions]


async def test_google_alerts_unwrapped_and_html_stripped() -> None:
    first, second = await rss_pass("google_alerts.atom", "application/atom+xml")
    assert first.source.native_id == "tag:google.com,2013:googlealerts/feed:10493617282734523456"
    assert first.mention_id == mention_id("rss", first.source.native_id)
    assert (
        first.source.url
        == "https://www.example-news.co.uk/news/abergavenny-library-saturdays-123456"
    )
    assert first.title == "Abergavenny library to open on Saturdays, Monmouthshire council says"
    assert "<b>" not in first.text and first.text.startswith("Abergavenny library will open")
    assert (
        second.source.url
        == "https://www.example-gazette.co.uk/chepstow/fly-tipping-fines?ref=alert"
    )
    assert "Chepstow & Caldicot" in second.text
    assert first.created_at.isoformat() == "2026-11-18T09:00:00+00:00"
    assert first.author is None


async def test_messy_rss2_entities_cdata_relative_links_dupes_missing_dates_long_text() -> None:
    mentions = await rss_pass("messy_rss2.xml")
    assert len(mentions) == 3  # the repeated item is produced once
    potholes, bins, cafe = mentions
    assert potholes.title == "Potholes on Philip Lane – residents’ petition"
    # relative links resolve against the document URL (xml:base semantics, as feedparser does)
    assert potholes.source.url == "https://feeds.example/haringey/potholes-philip-lane"
    assert "Haringey Council said repairs" in potholes.text and "track()" not in potholes.text
    assert potholes.lang == "en-GB"
    assert potholes.author is not None and potholes.author.scheme == "hmac-sha256"
    assert bins.source.native_id.startswith("urn:earshot:rss:")
    assert bins.created_at == FETCHED_AT
    assert len(cafe.text) <= 40_000 and cafe.text.endswith("…")
    assert cafe.title == "Café in Finsbury Park reopens"


async def test_wrong_declared_encoding_still_maps() -> None:
    (m,) = await rss_pass("latin1_declared_utf8.xml")
    assert "caf" in m.text and "Hornsey library" in m.text


@pytest.mark.parametrize("name", ["rss091.xml", "rdf10.xml"])
async def test_old_rss_versions(name: str) -> None:
    (m,) = await rss_pass(name)
    assert m.source.url and m.text


async def test_georss_point_becomes_geo_and_a_bad_point_is_ignored() -> None:
    good, bad = await rss_pass("georss.xml")
    assert good.geo is not None and (good.geo.lat, good.geo.lon) == (51.824, -3.018)
    assert bad.geo is None


async def test_malformed_feed_is_a_payload_error_with_the_parser_reason() -> None:
    with pytest.raises(PayloadError, match="malformed feed") as info:
        await rss_pass("malformed.xml")
    assert info.value.raw == (PAYLOADS / "rss" / "malformed.xml").read_bytes()


async def test_mastodon_tag_timeline() -> None:
    body = (PAYLOADS / "mastodon" / "tag_timeline.json").read_bytes()
    ctx = context(files({"/api/v1/timelines/tag/haringey": body}))
    config = MastodonConfig(
        name="m", kind="mastodon", servers=["https://mastodon.social"], hashtags=["Haringey"]
    )
    (stream,) = MastodonSource(config, ctx).streams()
    assert isinstance(stream, TimelineStream)
    pages = await drain(stream)
    mentions = [roundtrip(m) for page in pages for m in page.mentions]
    assert [m.source.native_id.rsplit("/", 1)[1] for m in mentions] == [
        "113456789012345677",
        "113456789012345679",
        "113456789012345680",
    ]  # oldest first; the followers-only post is skipped
    pothole, library, bins = mentions
    assert (
        bins.text
        == "Bins not collected on Lordship Lane for two weeks now. Anyone else in #Tottenham? #Haringey"
    )
    assert bins.edited_at is not None
    assert library.title == "libraries" and library.thread and library.thread.parent_id
    assert (
        library.text
        == "Lovely story time at Crouch End library this morning & the staff were fantastic\n#Haringey"
    )
    assert pothole.matched_by[0].value == "haringey"
    assert pages[0].cursor == {"min_id": "113456789012345680"}


async def test_mastodon_boost_is_unwrapped_and_a_broken_status_rejected() -> None:
    body = (PAYLOADS / "mastodon" / "timeline_boost_and_broken.json").read_bytes()
    client = MastodonClient(
        context(files({"/api/v1/timelines/tag/x": body})).http, "https://m.example"
    )
    page = await client.tag_timeline("x", min_id=None)
    config = MastodonConfig(
        name="m", kind="mastodon", servers=["https://m.example"], hashtags=["x"]
    )
    (stream,) = MastodonSource(config, context()).streams()
    assert isinstance(stream, TimelineStream)
    result = stream.page_of(page.statuses, None)
    assert [m.source.native_id for m in result.mentions] == [
        "https://mastodon.social/users/example/statuses/113456789012345677"
    ]
    assert (
        len(result.rejects) == 1 and json.loads(result.rejects[0].raw)["id"] == "113456789012345700"
    )


def test_webhook_valid_payload() -> None:
    data = json.loads((PAYLOADS / "webhook" / "valid.json").read_text())
    source = WebhookSource(
        WebhookConfig(name="report-it-form", kind="webhook", secret_env="S"),
        context(environ={"S": "k" * 32}),
    )
    m = roundtrip(source.to_mention(WebhookPayload.model_validate(data)))
    assert m.source.native_id == "form-2026-000123" and m.source.kind == "webhook"
    assert m.geo is not None and m.place_hint is not None and m.place_hint.name == "Abergavenny"
    assert m.author is not None and m.author.scheme == "hmac-sha256" and m.author.handle is None


@pytest.mark.parametrize(
    "name", sorted(p.name for p in (PAYLOADS / "webhook").glob("invalid_*.json"))
)
def test_webhook_invalid_payloads_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        WebhookPayload.model_validate(json.loads((PAYLOADS / "webhook" / name).read_text()))
