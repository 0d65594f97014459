"""The departments/rules file: schema errors name file, line and field; hot reload keeps good rules."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest

from common.routing.config import RoutingConfig
from common.routing.load import load_routing, taxonomy_topics
from common.routing.reload import Reloading
from common.yamlconfig import ConfigError
from pipelines.steps.rules import RuleEngine

ROOT = Path(__file__).resolve().parents[2]
TOPICS = taxonomy_topics(ROOT / "deploy" / "config")
GOOD = """version: 1
departments:
  - id: roads
    name: Roads
    council: E09000014
    addresses: [roads@haringey.example]
    owns_topics: [highways]
    digest: {every: daily, at: '08:00'}
    quiet_hours: {start: '20:00', end: '07:00'}
    kibana_link: "{kibana}/app/discover#/?_a=(query:(language:kuery,query:'{query}'))"
rules:
  - id: roads.potholes
    department: roads
    severity: medium
    delivery: immediate
    topics: {any: [highways]}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "departments.yaml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_routing(write(tmp_path, text), TOPICS)
    return caught.value


def test_the_shipped_file_is_valid_and_covers_both_councils_and_every_service() -> None:
    config = load_routing(ROOT / "deploy" / "config" / "departments.yaml", TOPICS)
    for council in ("E09000014", "W06000021"):
        owned = {t for d in config.departments if d.council == council for t in d.owns_topics}
        assert {"waste", "highways", "parks", "libraries", "housing", "emergencies"} <= owned
        teams = {d.id for d in config.departments if d.council == council}
        assert teams <= {r.department for r in config.rules}, "a team without rules"
    assert config.zone.key == "Europe/London"


def test_a_good_file_loads(tmp_path: Path) -> None:
    config = load_routing(write(tmp_path, GOOD), TOPICS)
    assert isinstance(config, RoutingConfig)
    assert config.rules[0].topics is not None and config.rules[0].topics.any == ("highways",)


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "words"),
    [
        ("    severity: medium", "    severty: medium", 14, "rules.0.severty", "Extra inputs"),
        (
            "    department: roads\n",
            "    department: road\n",
            13,
            "rules.0.department",
            "unknown department 'road'",
        ),
        (
            "{any: [highways]}",
            "{any: [highway]}",
            16,
            "rules.0.topics.any.0",
            "unknown topic 'highway'",
        ),
        ("start: '20:00'", "start: 20:00", 9, "departments.0.quiet_hours.start", "in quotes"),
        (
            "[roads@haringey.example]",
            "[roads at haringey]",
            6,
            "departments.0.addresses.0",
            "pattern",
        ),
        ("'{query}'", "'{mention}'", 10, "departments.0.kibana_link", "unknown placeholder"),
        ("    topics: {any: [highways]}\n", "", 12, "rules.0", "needs topics or phrases"),
        ("delivery: immediate", "delivery: sometimes", 15, "rules.0.delivery", "immediate"),
        ("council: E09000014", "council: Haringey", 5, "departments.0.council", "pattern"),
    ],
)
def test_mistakes_name_file_line_and_field(
    tmp_path: Path, old: str, new: str, line: int, field: str, words: str
) -> None:
    assert old in GOOD
    err = error_of(tmp_path, GOOD.replace(old, new, 1))
    assert (err.line, err.field) == (line, field), str(err)
    assert words in str(err)
    assert str(err).startswith(f"{tmp_path / 'departments.yaml'}:{line}: {field}: ")


def test_cross_entry_mistakes(tmp_path: Path) -> None:
    twice = GOOD + GOOD.split("rules:\n")[1]
    err = error_of(tmp_path, twice)
    assert (err.field, err.line) == ("rules.1.id", 17)
    assert "defined twice" in str(err)
    other_council = GOOD.replace(
        "    topics: {any: [highways]}", "    topics: {any: [highways]}\n    councils: [W06000021]"
    )
    err = error_of(tmp_path, other_council)
    assert err.field == "rules.0.councils.0" and "not the council of department 'roads'" in str(err)


def test_unreadable_and_broken_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read file"):
        load_routing(tmp_path / "missing.yaml")
    err = error_of(tmp_path, GOOD + "  - id: [unclosed\n")
    assert err.field == "$" and "not valid YAML" in str(err)


def build(path: Path) -> RuleEngine:
    return RuleEngine(load_routing(path, TOPICS))


def bump_mtime(path: Path) -> None:
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def test_reload_picks_up_a_change_and_keeps_the_old_rules_when_broken(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write(tmp_path, GOOD)
    rules = Reloading(path, build, "routing rules")
    assert not rules.poll()  # unchanged
    path.write_text(GOOD.replace("severity: medium", "severity: high"))
    bump_mtime(path)
    assert rules.poll()
    assert rules.current.rules[0].rule.severity == "high" and rules.generation == 2
    path.write_text(GOOD.replace("department: roads\n", "department: nobody\n"))
    bump_mtime(path)
    with caplog.at_level(logging.ERROR):
        assert not rules.poll()
    assert rules.current.rules[0].rule.severity == "high"  # previous rules still in force
    assert rules.last_error is not None and "unknown department 'nobody'" in rules.last_error
    assert "not reloaded, keeping the previous version" in caplog.text
    assert "departments.yaml:13: rules.0.department" in caplog.text
    path.unlink()
    assert not rules.poll()
    assert "cannot read file" in (rules.last_error or "")
    write(tmp_path, GOOD)
    assert rules.poll() and rules.last_error is None


def test_an_atomic_rename_over_the_file_is_seen(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    rules = Reloading(path, build)
    new = tmp_path / "new.yaml"
    new.write_text(GOOD.replace("severity: medium", "severity: low"))
    new.replace(path)
    assert rules.poll() and rules.current.rules[0].rule.severity == "low"


def test_the_first_load_raises(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        Reloading(write(tmp_path, "departments: []\n"), build)


def test_sighup_reloads_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    rules = Reloading(path, build)

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        assert rules.reload_on_sighup(loop)
        try:
            # Same size, same mtime: only the signal can tell the holder to look again.
            stat = path.stat()
            path.write_text(GOOD.replace("medium", "high  "))
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
            assert rules.current.rules[0].rule.severity == "medium"
            os.kill(os.getpid(), signal.SIGHUP)
            for _ in range(100):
                await asyncio.sleep(0.01)
                if rules.generation == 2:
                    break
        finally:
            loop.remove_signal_handler(signal.SIGHUP)

    asyncio.run(scenario())
    assert rules.current.rules[0].rule.severity == "high"
