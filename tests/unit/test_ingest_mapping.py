"""Pure mapping helpers: HTML to text, clipping, URLs, languages, Google links, stable ids."""

from __future__ import annotations

from datetime import UTC, datetime

import feedparser
import pytest

from devkit.replay.kit import FETCHED_AT, context
from schemas.ids import mention_id
from schemas.models import Match
from services.ingest.mastodon.client import id_key, newest
from services.ingest.mastodon.mapping import map_status
from services.ingest.rss.mapping import entry_native_id, unwrap_google
from services.ingest.runtime.mapping import clip, html_to_text, language, safe_url


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>Bins &amp; recycling</p><p>#<span>Haringey</span></p>", "Bins & recycling\n#Haringey"),
        ("Fish &amp; chips &#8211; &pound;5", "Fish & chips – £5"),
        ("&lt;b&gt;Monmouthshire&lt;/b&gt; council", "Monmouthshire council"),
        ("<script>evil()</script><style>p{}</style>Clean", "Clean"),
        ("a<br>b<br/>c", "a\nb\nc"),
        ("  lots   of\t\tspace&nbsp;here ", "lots of space here"),
        ("", ""),
        (None, ""),
        ("2 < 3 and 5 > 4", "2 < 3 and 5 > 4"),
    ],
)
def test_html_to_text(html: str | None, text: str) -> None:
    assert html_to_text(html) == text


def test_clip_keeps_short_text_and_cuts_long_on_a_word() -> None:
    assert clip("short", 10) == "short"
    assert clip(None, 10) is None
    cut = clip("word " * 1000, 300)
    assert cut is not None and len(cut) <= 300 and cut.endswith("…") and "wor…" not in cut


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("/news/1", "https://site.example/feed.xml", "https://site.example/news/1"),
        ("https://a.example/x", None, "https://a.example/x"),
        ("javascript:alert(1)", None, None),
        ("mailto:x@y", None, None),
        ("", None, None),
        ("https://a.example/" + "x" * 5000, None, None),
    ],
)
def test_safe_url(url: str, base: str | None, expected: str | None) -> None:
    assert safe_url(url, base) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", "en"),
        ("en-GB", "en-GB"),
        ("EN_gb", "en-gb"),
        ("cy", "cy"),
        ("english", None),
        (None, None),
    ],
)
def test_language(tag: str | None, expected: str | None) -> None:
    assert language(tag) == expected


@pytest.mark.parametrize(
    ("link", "target"),
    [
        (
            "https://www.google.com/url?rct=j&sa=t&url=https://news.example/a%3Fb%3D1&ct=ga&usg=x",
            "https://news.example/a?b=1",
        ),
        ("https://www.google.co.uk/url?q=https://news.example/b&sa=U", "https://news.example/b"),
        (
            "https://www.google.com/url?url=javascript:alert(1)",
            "https://www.google.com/url?url=javascript:alert(1)",
        ),
        ("https://news.example/c", "https://news.example/c"),
        ("https://www.google.com/search?q=x", "https://www.google.com/search?q=x"),
    ],
)
def test_unwrap_google(link: str, target: str) -> None:
    assert unwrap_google(link) == target


def test_entries_without_an_id_get_a_stable_one_from_link_and_title() -> None:
    a = feedparser.FeedParserDict(link="https://x.example/1", title="Bins")
    b = feedparser.FeedParserDict(link="https://x.example/1", title="Bins")
    c = feedparser.FeedParserDict(link="https://x.example/1", title="Bins again")
    assert entry_native_id(a) == entry_native_id(b) != entry_native_id(c)
    assert entry_native_id(feedparser.FeedParserDict(id=" guid-1 ")) == "guid-1"


def test_mastodon_ids_compare_numerically() -> None:
    assert id_key("99") < id_key("100")
    assert newest("113456789012345679", None, "113456789012345680", "99") == "113456789012345680"
    assert newest(None) is None


def _status(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": "1",
        "uri": "https://a.example/users/u/statuses/1",
        "url": "https://a.example/@u/1",
        "created_at": "2026-11-20T08:00:00.000Z",
        "content": "<p>Potholes on Green Lanes</p>",
        "visibility": "public",
        "account": {"acct": "u@a.example", "url": "https://a.example/@u"},
    }
    base.update(kw)
    return base


def test_same_post_via_two_instances_is_one_mention_and_an_edit_keeps_the_id() -> None:
    ctx = context()
    kw = {
        "instance": "m",
        "match": Match(kind="hashtag", value="x"),
        "fetched_at": FETCHED_AT,
        "pseudonymiser": ctx.pseudonymiser,
    }
    original = map_status(_status(), **kw)  # type: ignore[arg-type]
    seen_elsewhere = map_status(_status(id="999", url="https://b.example/@u@a.example/999"), **kw)  # type: ignore[arg-type]
    edited = map_status(_status(edited_at="2026-11-20T09:00:00Z", content="<p>fixed</p>"), **kw)  # type: ignore[arg-type]
    assert original and seen_elsewhere and edited
    assert original.mention_id == seen_elsewhere.mention_id == edited.mention_id
    assert original.mention_id == mention_id("mastodon", "https://a.example/users/u/statuses/1")
    assert edited.edited_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC) and edited.text == "fixed"


def test_authors_are_pseudonymised_unless_the_deployment_opts_in() -> None:
    kw = {"instance": "m", "match": Match(kind="hashtag", value="x"), "fetched_at": FETCHED_AT}
    hidden = map_status(_status(), pseudonymiser=context().pseudonymiser, **kw)  # type: ignore[arg-type]
    raw = map_status(_status(), pseudonymiser=context(keep_raw=True).pseudonymiser, **kw)  # type: ignore[arg-type]
    assert (
        hidden
        and hidden.author
        and hidden.author.id.startswith("p1:")
        and hidden.author.handle is None
    )
    assert raw and raw.author and raw.author.handle == "u@a.example"


def test_private_or_empty_statuses_are_skipped() -> None:
    ctx = context()
    kw = {
        "instance": "m",
        "match": Match(kind="hashtag", value="x"),
        "fetched_at": FETCHED_AT,
        "pseudonymiser": ctx.pseudonymiser,
    }
    assert map_status(_status(visibility="direct"), **kw) is None  # type: ignore[arg-type]
    assert map_status(_status(content="<p></p>"), **kw) is None  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        map_status({"id": "1", "content": "<p>x</p>"}, **kw)  # type: ignore[arg-type]
