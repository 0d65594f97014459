"""The sources YAML: typed per kind, and every mistake names file:line: field."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from common.yamlconfig import ConfigError
from schemas.codec import load_schema
from schemas.models import SourceKind
from services.ingest.registry import REGISTRY, AnySourceConfig, load_sources
from services.ingest.runtime.settings import IngestSettings

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "config" / "sources.example.yaml"
ENV = {"EARSHOT_WEBHOOK_SECRET": "s" * 32, "MASTODON_TOKEN": "t"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sources.yaml"
    path.write_text(text)
    return path


def test_the_example_file_is_valid() -> None:
    configs = load_sources(EXAMPLE, ENV)
    assert [c.name for c in configs] == ["haringey-news", "mastodon-local", "report-it-form"]


def test_registry_and_union_agree() -> None:
    union = typing.get_args(typing.get_args(AnySourceConfig)[0])
    assert {m.model_fields["kind"].annotation.__args__[0] for m in union} == set(REGISTRY)
    assert {spec.config for spec in REGISTRY.values()} == set(union)


def test_source_kinds_the_schema_and_the_registry_agree() -> None:
    kinds = set(typing.get_args(SourceKind))
    enum = load_schema("mention.v1")["$defs"]["source"]["properties"]["kind"]["enum"]
    assert set(enum) == kinds and len(enum) == len(kinds)
    assert set(REGISTRY) == kinds
    assert all(spec.kind == kind for kind, spec in REGISTRY.items())


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("sources:\n  - name: a\n    kind: telegraph\n", 2, "sources.0"),
        ("sources:\n  - name: a\n    kind: rss\n", 2, "sources.0.feeds"),
        (
            "sources:\n  - name: a\n    kind: rss\n    poll_interval_s: -3\n    feeds: [http://x/f]\n",
            4,
            "sources.0.poll_interval_s",
        ),
        (
            "sources:\n  - name: a\n    kind: rss\n    feeds:\n      - ftp://x/f\n",
            5,
            "sources.0.feeds.0.url",
        ),
        (
            "sources:\n  - name: Bad Name\n    kind: rss\n    feeds: [http://x/f]\n",
            2,
            "sources.0.name",
        ),
        (
            "sources:\n  - name: m\n    kind: mastodon\n    servers: [https://m.example]\n"
            "    hashtags: [x]\n    search: [bins]\n",
            2,
            "sources.0",
        ),
        (
            "sources:\n  - name: w\n    kind: webhook\n    secret_env: W\n    tokenn: x\n",
            5,
            "sources.0.tokenn",
        ),
    ],
)
def test_errors_name_file_line_and_field(tmp_path: Path, text: str, line: int, field: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_sources(path, ENV)
    assert info.value.path == str(path)
    assert info.value.field == field
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: {field}: ")


def test_a_missing_token_env_var_is_reported_where_it_is_named(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "sources:\n  - name: m\n    kind: mastodon\n    servers: [https://m.example]\n"
        "    hashtags: [x]\n    streaming: true\n    token_env: NOT_SET_ANYWHERE\n",
    )
    with pytest.raises(ConfigError, match=r":7: sources\.0\.token_env: env var NOT_SET_ANYWHERE"):
        load_sources(path, ENV)


def test_duplicate_names_and_unknown_selection(tmp_path: Path) -> None:
    dupe = "sources:\n  - {name: a, kind: rss, feeds: [http://x/1]}\n  - {name: a, kind: rss, feeds: [http://x/2]}\n"
    with pytest.raises(ConfigError, match="repeated: a"):
        load_sources(write(tmp_path, dupe), ENV)
    with pytest.raises(ConfigError, match="unknown instance"):
        load_sources(EXAMPLE, ENV, frozenset({"nope"}))


def test_selection_and_disabled_instances(tmp_path: Path) -> None:
    text = "sources:\n  - {name: a, kind: rss, feeds: [http://x/1]}\n  - {name: b, kind: rss, enabled: false, feeds: [http://x/2]}\n  - {name: c, kind: rss, feeds: [http://x/3]}\n"
    path = write(tmp_path, text)
    assert [c.name for c in load_sources(path, ENV)] == ["a", "c"]
    assert [c.name for c in load_sources(path, ENV, frozenset({"c"}))] == ["c"]


def test_settings_are_frozen_and_pick_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EARSHOT_PSEUDONYM_SECRET", "x" * 20)
    monkeypatch.setenv("EARSHOT_SOURCE_INSTANCE", "a, b")
    settings = IngestSettings()
    assert settings.instance_names() == frozenset({"a", "b"})
    assert settings.pseudonym_secret.get_secret_value() == "x" * 20
    assert "x" * 20 not in repr(settings)
    with pytest.raises(Exception, match="frozen"):
        settings.http_port = 1  # type: ignore[misc]
