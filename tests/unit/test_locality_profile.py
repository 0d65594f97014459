"""Council profiles: the shipped YAML loads, and every mistake names file:line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.yamlconfig import ConfigError
from pipelines.locality.profile import CouncilProfile, load_profile, profile_paths
from pipelines.locality.tables import GazetteerMissingError, Tables, load_tables
from pipelines.steps.locality import DEFAULT_COUNCILS_DIR

pytestmark = pytest.mark.unit

GOOD = """\
code: E09000014
name: Haringey
aliases:
  - name: Tottenham
  - name: Crouch End
    wards: [E05013588]
"""


@pytest.fixture(scope="module")
def tables() -> Tables:
    try:
        return load_tables()
    except GazetteerMissingError as exc:
        pytest.fail(f"{exc}. Run `python -m pipelines.locality build` first.")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "council.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _codes(tables: Tables) -> tuple[dict[str, str], list[str]]:
    wards = {w.code: tables.councils[w.council].code for w in tables.wards if w.council >= 0}
    return wards, [c.code for c in tables.councils]


def test_shipped_profiles_load_and_check_against_the_gazetteer(tables: Tables) -> None:
    wards, councils = _codes(tables)
    paths = profile_paths(DEFAULT_COUNCILS_DIR)
    names = {p.name for p in paths}
    assert {"haringey.yaml", "monmouthshire.yaml"} <= names
    for path in paths:
        profile = load_profile(path, wards, councils)
        assert isinstance(profile, CouncilProfile)
        assert profile.aliases and profile.landmarks and profile.streets and profile.community_areas
    mon = load_profile(DEFAULT_COUNCILS_DIR / "monmouthshire.yaml")
    also = {n for a in mon.aliases for n in a.all_names()}
    assert {"Y Fenni", "Cas-gwent", "Trefynwy", "Brynbuga", "Cil-y-coed"} <= also


def test_good_profile_loads(tmp_path: Path) -> None:
    profile = load_profile(_write(tmp_path, GOOD))
    assert profile.code == "E09000014" and profile.aliases[1].wards == ("E05013588",)


def test_unknown_field_names_file_line_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + "    colour: blue\n")
    with pytest.raises(ConfigError) as err:
        load_profile(path)
    assert err.value.path == str(path) and err.value.line == 7
    assert err.value.field == "aliases.1.colour"
    assert f"{path}:7: aliases.1.colour:" in str(err.value)


def test_bad_ward_code_shape_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("[E05013588]", "[E0501358]"))
    with pytest.raises(ConfigError) as err:
        load_profile(path)
    assert (err.value.line, err.value.field) == (6, "aliases.1.wards.0")


def test_missing_required_field(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_profile(_write(tmp_path, "name: Haringey\n"))
    assert err.value.field == "code"


def test_not_yaml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_profile(_write(tmp_path, "code: [unclosed\n"))
    assert err.value.line is not None and "not valid YAML" in str(err.value)


def test_ward_of_another_council_names_its_line(tmp_path: Path, tables: Tables) -> None:
    wards, councils = _codes(tables)
    # W05001777 (Llanbadoc and Usk) is Monmouthshire's, not Haringey's.
    path = _write(tmp_path, GOOD.replace("[E05013588]", "[E05013588, W05001777]"))
    with pytest.raises(ConfigError) as err:
        load_profile(path, wards, councils)
    assert (err.value.line, err.value.field) == (6, "aliases.1.wards.1")
    assert "belongs to council W06000021" in str(err.value)


def test_unknown_codes_name_their_line(tmp_path: Path, tables: Tables) -> None:
    wards, councils = _codes(tables)
    path = _write(tmp_path, GOOD.replace("[E05013588]", "[E05099999]"))
    with pytest.raises(ConfigError, match="unknown ward code E05099999") as err:
        load_profile(path, wards, councils)
    assert err.value.line == 6
    with pytest.raises(ConfigError, match="not in OS Code-Point Open") as err2:
        load_profile(_write(tmp_path, GOOD.replace("E09000014", "E09000099")), wards, councils)
    assert (err2.value.line, err2.value.field) == (1, "code")
