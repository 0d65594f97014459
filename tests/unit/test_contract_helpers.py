"""Ids, pseudonyms, dead letters, settings and YAML errors: the small shared contracts."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict, SecretStr

from common.privacy import Pseudonymiser
from common.settings import KafkaSettings, settings_error_message
from common.yamlconfig import ConfigError, load_yaml
from schemas.codec import ContractError, decode
from schemas.deadletter import dead_letter, dead_letter_headers, dlq_topic, encode_dead_letter
from schemas.ids import alert_id, mention_id
from schemas.models import DeadLetter, Mention


def test_mention_id_is_stable_and_distinct_across_sources() -> None:
    assert mention_id("mastodon", "https://a.example/1") == mention_id(
        "mastodon", "https://a.example/1"
    )
    assert mention_id("mastodon", "1") != mention_id("x", "1")
    assert len(mention_id("x", "1")) == 32
    with pytest.raises(ValueError, match="native_id"):
        mention_id("x", "")


def test_alert_id_one_per_rule_per_mention() -> None:
    m = mention_id("x", "1")
    assert alert_id(m, "r1") == alert_id(m, "r1")
    assert alert_id(m, "r1") != alert_id(m, "r2")


def test_pseudonym_is_keyed_and_hides_the_handle() -> None:
    a = Pseudonymiser(SecretStr("a-deployment-secret-1"))
    b = Pseudonymiser(SecretStr("another-secret-value"))
    author = a.author("mastodon", "https://m.example/users/alice", handle="@alice")
    assert author.scheme == "hmac-sha256" and author.handle is None
    assert "alice" not in author.id
    assert author.id == a.author("mastodon", "https://m.example/users/alice").id
    assert author.id != b.author("mastodon", "https://m.example/users/alice").id
    raw = Pseudonymiser(SecretStr("a-deployment-secret-1"), keep_raw_handles=True)
    assert raw.author("x", "123", "alice").handle == "alice"
    with pytest.raises(ValueError, match="at least"):
        Pseudonymiser(SecretStr("short"))


def test_dead_letter_keeps_bytes_and_origin() -> None:
    original = b"\xff not json"
    try:
        decode(original, Mention)
    except ContractError as exc:
        letter = dead_letter(
            original, stage="enrich.decode", error=exc, key=b"k", topic="t", partition=1, offset=9
        )
    assert base64.b64decode(letter.original_b64) == original
    assert letter.error_class == "ContractError" and "field '$'" in letter.error_message
    assert decode(encode_dead_letter(letter), DeadLetter) == letter
    headers = dict(dead_letter_headers(letter))
    assert headers["earshot.origin.offset"] == b"9" and headers["earshot.stage"] == b"enrich.decode"
    assert dlq_topic("mentions.raw.v1") == "mentions.raw.v1.dlq"


def test_settings_error_names_the_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    class Needs(KafkaSettings):
        poll_seconds: int

    monkeypatch.setenv("EARSHOT_POLL_SECONDS", "often")
    with pytest.raises(Exception) as caught:
        Needs()
    message = settings_error_message(Needs, caught.value)  # type: ignore[arg-type]
    assert "EARSHOT_POLL_SECONDS" in message


class _Dept(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    emails: list[str]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")
    departments: list[_Dept]


def test_yaml_error_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "departments.yaml"
    path.write_text(
        "departments:\n  - name: highways\n    emails: [a@b]\n  - name: waste\n    emial: [c@d]\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_yaml(path, _Config)
    assert caught.value.line == 5
    assert caught.value.field == "departments.1.emial"
    assert str(path) in str(caught.value)


def test_yaml_syntax_and_duplicate_keys_are_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("departments:\n  - name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_yaml(bad, _Config)
    dup = tmp_path / "dup.yaml"
    dup.write_text("departments: []\ndepartments: []\n")
    with pytest.raises(ConfigError) as caught:
        load_yaml(dup, _Config)
    assert caught.value.line == 2 and "duplicate key" in str(caught.value)
