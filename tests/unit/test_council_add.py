"""`earshot council add`: profiles of every kind of GB council from open data, edits kept.

Runs the command's code on the real gazetteer tables against a copy of the
deployment's config in a temporary folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from common.routing.load import load_routing, taxonomy_topics
from pipelines.locality.councils.find import CouncilNotFoundError, find_council
from pipelines.locality.profile import CouncilProfile, load_profile
from pipelines.locality.tables import GazetteerMissingError, Tables, load_tables
from pipelines.steps.locality import LocalityTagger
from services.councils.cli import add_council, main
from services.kibana.generate import build
from services.kibana.views import links

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
KINDS = [
    ("Hackney", "E09000012", "london"),
    ("Sheffield", "E08000019", "metropolitan"),
    ("Cornwall", "E06000052", "unitary"),
    ("Waverley", "E07000216", "shire_district"),
    ("Cyngor Gwynedd", "W06000002", "welsh"),
    ("Highland", "S12000017", "scottish"),
]


@pytest.fixture(scope="module")
def tables() -> Tables:
    try:
        return load_tables()
    except GazetteerMissingError as exc:
        pytest.fail(f"{exc}. Run `python -m pipelines.locality build` first.")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "councils").mkdir()
    for name in ("departments.yaml", "topics.yaml"):
        shutil.copy(ROOT / "deploy" / "config" / name, tmp_path / name)
    return tmp_path


def _checked(tables: Tables, path: Path) -> CouncilProfile:
    wards = {w.code: tables.councils[w.council].code for w in tables.wards if w.council >= 0}
    return load_profile(path, wards, [c.code for c in tables.councils])


@pytest.mark.parametrize(("query", "code", "kind"), KINDS)
def test_profiles_of_every_kind_validate_against_the_gazetteer(
    tables: Tables, config: Path, query: str, code: str, kind: str
) -> None:
    path, report = add_council(tables, query, config / "councils", None)
    profile = _checked(tables, path)
    assert (profile.code, profile.kind) == (code, kind)
    index = tables.council_index(code)
    assert {w.code for w in profile.wards} == {
        w.code for w in tables.wards if w.council == index
    }, "every ward of the council, with its code"
    assert profile.postcode_districts and all(0 < d.share <= 1 for d in profile.postcode_districts)
    assert profile.places and profile.neighbours
    assert not (profile.aliases or profile.landmarks or profile.streets or profile.community_areas)
    text = path.read_text(encoding="utf-8")
    assert "# landmarks: parks, stadiums" in text  # the people-only sections say what goes there
    assert report == [f"{path}: new profile"]


def test_welsh_council_has_its_welsh_names(tables: Tables, config: Path) -> None:
    path, _ = add_council(tables, "Sir Fynwy", config / "councils", None)
    profile = _checked(tables, path)
    assert profile.name == "Monmouthshire"
    assert {"Sir Fynwy", "Cyngor Sir Fynwy"} <= set(profile.names)
    usk = next(p for p in profile.places if p.name == "Usk")
    assert "Brynbuga" in usk.also
    gwynedd = _checked(tables, add_council(tables, "Gwynedd", config / "councils", None)[0])
    # Gwynedd's electoral divisions carry their Welsh names in Code-Point Open.
    assert {"De Dolgellau", "Canol Bangor", "Abersoch gyda Llanengan"} <= {
        w.name for w in gwynedd.wards
    }


def test_regeneration_keeps_every_edit(tables: Tables, config: Path) -> None:
    path, _ = add_council(tables, "Waverley", config / "councils", None)
    text = path.read_text(encoding="utf-8")
    first_place = text.split("\nplaces:\n", 1)[1].splitlines()[0]
    edited = (
        text.replace(
            "aliases: []",
            "aliases:\n  # the officer's note stays\n  - name: Hog's Back\n    also: [Hogs Back]",
        )
        .replace("stopwords: []", "stopwords: [Milford]")
        .replace(first_place + "\n", "")  # an officer removes a place
    )
    path.write_text(edited, encoding="utf-8")
    _, report = add_council(tables, "E07000216", config / "councils", None)
    assert path.read_text(encoding="utf-8") == edited, "same open data: nothing changes"
    assert report == [f"{path}: up to date, your edits kept"]
    profile = _checked(tables, path)
    assert profile.aliases[0].also == ("Hogs Back",) and profile.stopwords == ("Milford",)

    # New open data (recorded version differs): the lists gain what is missing, nothing else moves.
    stale = edited.replace("  data: ", "  data: old-", 1)
    path.write_text(stale, encoding="utf-8")
    _, report = add_council(tables, "Waverley", config / "councils", None)
    after = path.read_text(encoding="utf-8")
    assert report == [f"{path}: places: {first_place.split(chr(34))[1]}"]
    kept = [line for line in stale.splitlines() if "data: old-" not in line]
    assert [line for line in after.splitlines() if line in set(kept)] == kept
    assert "# the officer's note stays" in after and first_place in after


def test_starter_departments_are_added_once_and_kibana_picks_them_up(
    tables: Tables, config: Path
) -> None:
    departments = config / "departments.yaml"
    _, report = add_council(tables, "Sheffield", config / "councils", departments)
    added = [line.rsplit(" ", 1)[1] for line in report if " department " in line]
    assert added == [
        f"sheffield-{team}"
        for team in ("highways", "waste", "parks", "libraries", "housing", "emergencies")
    ]
    routing = load_routing(departments, taxonomy_topics(config))
    ours = [d for d in routing.departments if d.council == "E08000019"]
    assert {d.id for d in ours} == set(added)
    assert {r.department for r in routing.rules if r.id.startswith("sheffield.")} == set(added)
    assert routing.owner_of("E08000019", "highways") is not None
    before = departments.read_text(encoding="utf-8")
    _, report = add_council(tables, "Sheffield", config / "councils", departments)
    assert departments.read_text(encoding="utf-8") == before
    assert any("already has departments" in line for line in report)
    bundle = build(routing, "earshot")
    paths = links(bundle.spaces)
    for dept in ours:
        assert f"objects/{dept.id}.ndjson" in bundle.files()
        assert dept.kibana_link == paths[dept.id]["kibana_link"]


def test_unknown_or_ambiguous_names_list_the_candidates(tables: Tables) -> None:
    with pytest.raises(CouncilNotFoundError, match="several councils") as ambiguous:
        find_council(tables, "Newcastle")
    assert any("Newcastle upon Tyne" in c for c in ambiguous.value.candidates)
    assert any("Newcastle-under-Lyme" in c for c in ambiguous.value.candidates)
    with pytest.raises(CouncilNotFoundError) as misspelt:
        find_council(tables, "Shefield")
    assert any("Sheffield (E08000019)" in c for c in misspelt.value.candidates)
    with pytest.raises(CouncilNotFoundError, match="not a GB council"):
        find_council(tables, "Atlantis")
    with pytest.raises(CouncilNotFoundError):
        find_council(tables, "E09999999")


def test_the_command_reports_errors_without_writing(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["add", "Kingston", "--councils-dir", str(config / "councils"), "--no-departments"])
    assert code == 2
    err = capsys.readouterr().err
    assert "Kingston upon Thames (E09000021)" in err and "Kingston upon Hull" in err
    assert not list((config / "councils").iterdir())


def test_the_generated_profile_places_its_villages(tables: Tables, config: Path) -> None:
    path, _ = add_council(tables, "Wealden", config / "councils", None)
    profile = _checked(tables, path)
    tagger = LocalityTagger.from_config(config / "councils", tables=tables, scope="profiles")
    villages = [p for p in profile.places if p.ward and p.name in ("Herstmonceux", "Wadhurst")]
    assert len(villages) == 2
    for place in villages:
        loc = tagger.tag(f"Road closed through {place.name} again")
        assert loc.council is not None and loc.council.code == profile.code, place
        assert loc.ward is not None and loc.ward.code == place.ward, place
