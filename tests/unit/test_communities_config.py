"""communities.yaml validation (file:line:field), and accept/reject editing files that keep their comments."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from common.communities import Space, load_communities
from common.routing.load import load_routing
from common.yamlconfig import ConfigError, read_yaml
from services.communities.cli import reject
from services.communities.sources import accept, addition_for, followed, load_sources_file
from services.ingest.registry import SourcesFile

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "deploy" / "config"


def test_the_shipped_register_is_valid_against_the_shipped_departments() -> None:
    departments = frozenset(d.id for d in load_routing(CONFIG / "departments.yaml").departments)
    loaded = load_communities(CONFIG / "communities.yaml", departments)
    assert loaded.value.k == 5 and loaded.value.entry("subreddit:reddit:haringey") is not None


@pytest.mark.parametrize(
    ("body", "line", "field", "message"),
    [
        ("version: 1\nk: 1\n", 2, "k", "greater than or equal to 2"),
        (
            "version: 1\nregister:\n  - community: subreddit:reddit:n17\n    department: parks\n"
            "    stage: married\n",
            5,
            "register.0.stage",
            "identified",
        ),
        (
            "version: 1\nregister:\n  - community: n17\n    department: parks\n",
            3,
            "register.0.community",
            "not a community key",
        ),
        (
            "version: 1\nrejected:\n  - {community: 'hashtag:x:a'}\n  - {community: 'hashtag:x:a'}\n",
            4,
            "rejected.1.community",
            "hashtag:x:a is listed twice",
        ),
        ("version: 1\nregisterr: []\n", 2, "registerr", "Extra inputs"),
        (
            "version: 1\nregister:\n  - community: subreddit:reddit:n17\n    department: nobody\n",
            4,
            "register.0.department",
            "unknown department 'nobody'",
        ),
    ],
)
def test_mistakes_name_file_line_and_field(
    tmp_path: Path, body: str, line: int, field: str, message: str
) -> None:
    path = tmp_path / "communities.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as caught:
        load_communities(path, frozenset({"parks"}))
    assert (caught.value.line, caught.value.field) == (line, field)
    assert str(caught.value).startswith(f"{path}:{line}: {field}: ")
    assert message in str(caught.value)


def test_a_missing_register_is_empty_with_the_default_k(tmp_path: Path) -> None:
    loaded = load_communities(tmp_path / "none.yaml")
    assert loaded.value.k == 5 and loaded.value.entries == ()


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    path = tmp_path / "sources.yaml"
    shutil.copy(CONFIG / "sources.example.yaml", path)
    return path


def comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


@pytest.mark.parametrize(
    ("key", "instance", "field", "expected"),
    [
        (
            "hashtag:mastodon:tottenham",
            "mastodon-local",
            "hashtags",
            ["haringey", "monmouthshire", "tottenham"],
        ),
        (
            "subreddit:reddit:n17",
            "reddit-local",
            "subreddits",
            ["haringey", "Monmouthshire", "n17"],
        ),
        ("hashtag:bluesky:n17", "bluesky-local", "search", ["haringey", "monmouthshire", "#n17"]),
        (
            "hashtag:x:n17",
            "x-local",
            "queries",
            ["haringey -is:retweet", "monmouthshire -is:retweet", "#n17 -is:retweet"],
        ),
    ],
)
def test_accept_adds_the_space_keeps_every_comment_and_stays_valid(
    sources: Path, key: str, instance: str, field: str, expected: list[str]
) -> None:
    before = sources.read_text()
    added = accept(sources, Space.parse(key), None, None)
    after = sources.read_text()
    assert added.startswith(f"{instance}.{field} += ")
    assert comments(after) == comments(before)
    config = read_yaml(sources, SourcesFile).value
    entry = next(s for s in config.sources if s.name == instance)
    assert list(getattr(entry, field)) == expected
    assert followed(Space.parse(key), config)
    with pytest.raises(ValueError, match="already listened to"):
        accept(sources, Space.parse(key), None, None)
    # Nothing else moved: every other line is as it was.
    assert len(after.splitlines()) == len(before.splitlines())


def test_accept_a_website_adds_its_feed_to_a_block_list(sources: Path) -> None:
    space = Space.parse("site:web:harringayonline.example")
    with pytest.raises(ValueError, match="--feed"):
        accept(sources, space, None, None)
    accept(sources, space, None, "https://harringayonline.example/forum/feed.rss")
    config = load_sources_file(sources)
    feeds = next(s for s in config.sources if s.name == "haringey-news").feeds  # type: ignore[attr-defined]
    assert feeds[-1].url == "https://harringayonline.example/forum/feed.rss"
    assert feeds[-1].name == "harringayonline.example"
    assert followed(space, config)
    text = sources.read_text()
    assert "# Google Alerts: links unwrapped" in text and "# GeoRSS points become geo" in text


def test_accept_adds_a_missing_list_and_refuses_what_cannot_be_followed(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "# mine\nsources:\n  - name: reddit-a   # the first\n    kind: reddit\n"
        "    search: [{q: bins}]\n\n  - name: feeds\n    kind: rss\n    feeds: [https://a.example/f]\n"
    )
    accept(path, Space.parse("subreddit:reddit:n17"), None, None)
    text = path.read_text()
    assert "  - name: reddit-a   # the first\n" in text and "# mine" in text
    assert load_sources_file(path).sources[0].subreddits == ("n17",)  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="no source that can listen"):
        addition_for(Space.parse("instance:mastodon:social.example"))
    with pytest.raises(ValueError, match="no mastodon instance"):
        accept(path, Space.parse("hashtag:mastodon:n17"), None, None)


def test_reject_records_the_decision_keeping_comments(tmp_path: Path) -> None:
    path = tmp_path / "communities.yaml"
    shutil.copy(CONFIG / "communities.yaml", path)
    before = path.read_text()
    reject(path, "hashtag:mastodon:spurs", "football, not local", date(2026, 11, 20))
    reject(path, "site:web:example.org", "", date(2026, 11, 21))
    loaded = load_communities(path).value
    assert [r.community for r in loaded.rejected] == [
        "hashtag:mastodon:spurs",
        "site:web:example.org",
    ]
    assert loaded.is_rejected("hashtag:mastodon:spurs") and loaded.rejected[0].on == date(
        2026, 11, 20
    )
    assert comments(path.read_text()) == comments(before)
    with pytest.raises(ConfigError, match="listed twice"):
        reject(path, "site:web:example.org", "", date(2026, 11, 22))
    assert len(load_communities(path).value.rejected) == 2  # the refused edit left the file alone
