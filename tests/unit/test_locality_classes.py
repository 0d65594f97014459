"""Each failure class of text locality, from examples written for these tests.

Most run with every GB council loaded (``EARSHOT_LOCALITY_SCOPE=nationwide``); the
ones about the deployment's own councils run on the shipped default deployment
(Haringey and Monmouthshire profiles).
"""

from __future__ import annotations

import pytest

from pipelines.locality.tables import GazetteerMissingError, Tables, load_tables
from pipelines.steps.locality import LocalityTagger
from schemas.models import Locality

pytestmark = pytest.mark.unit

HARINGEY, MONMOUTHSHIRE = "E09000014", "W06000021"
SHEFFIELD, MANCHESTER, BIRMINGHAM, GLASGOW = "E08000019", "E08000003", "E08000025", "S12000049"
EDINBURGH, WAVERLEY, CALDERDALE, BOSTON = "S12000036", "E07000216", "E08000033", "E07000136"
CEREDIGION, CORNWALL, NORTH_YORKSHIRE = "W06000008", "E06000052", "E06000065"


@pytest.fixture(scope="module")
def tables() -> Tables:
    try:
        return load_tables()
    except GazetteerMissingError as exc:
        pytest.fail(f"{exc}. Run `python -m pipelines.locality build` first.")


@pytest.fixture(scope="module")
def nation(tables: Tables) -> LocalityTagger:
    return LocalityTagger.from_config(tables=tables, scope="nationwide")


@pytest.fixture(scope="module")
def default(tables: Tables) -> LocalityTagger:
    return LocalityTagger.from_config(tables=tables, scope="profiles")


def council(loc: Locality) -> str | None:
    return loc.council.code if loc.council else None


def ward(loc: Locality) -> str | None:
    return loc.ward.code if loc.ward else None


def test_wards_and_places_far_from_the_deployment(
    nation: LocalityTagger, default: LocalityTagger, tables: Tables
) -> None:
    loc = nation.tag("Crookes & Crosspool ward has a new councillor")
    assert council(loc) == SHEFFIELD and loc.ward is not None
    assert loc.ward.name == "Crookes & Crosspool"
    # The default deployment still knows every town and village by name.
    assert council(default.tag("Tighnabruaich road closed by a landslip")) == "S12000035"
    assert council(default.tag("Castlethorpe village is cut off by the flooding")) == "E06000042"


def test_stations_stops_and_hill_tops(nation: LocalityTagger, tables: Tables) -> None:
    hebden = nation.tag("Hebden Bridge station cafe is the best in the north")
    assert council(hebden) == CALDERDALE and hebden.ward is not None
    assert any(p.kind == "landmark" for p in hebden.places)
    assert council(nation.tag("Seaburn metro station has been vandalised again")) == "E08000024"
    assert council(nation.tag("Oxford Road station platform is packed")) == MANCHESTER
    assert council(nation.tag("Lifts out at Gospel Oak station again")) == "E09000007"
    assert council(nation.tag("Walked up Roseberry Topping this morning")) == "E06000003"
    assert council(nation.tag("Queue at the summit of Scafell Pike")) == "E06000063"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Oxford Road in Manchester is closed for the marathon", MANCHESTER),
        ("Chester Road closed in Sutton Coldfield, traffic at a standstill", BIRMINGHAM),
        ("London Road in Sheffield has the best takeaways", SHEFFIELD),
        ("Lime Street in Liverpool gridlocked", "E08000012"),
        ("Oxford Road is shut again, avoid", None),
        ("Potholes all along Chester Road", None),
    ],
)
def test_a_town_name_before_a_street_word_is_a_street(
    nation: LocalityTagger, text: str, expected: str | None
) -> None:
    assert council(nation.tag(text)) == expected


def test_the_place_the_post_is_about_not_the_one_named_most(
    nation: LocalityTagger, default: LocalityTagger
) -> None:
    text = "Everyone goes on about Haringey and Haringey's bins, but here in Chepstow the roads are worse"
    assert council(default.tag(text)) == MONMOUTHSHIRE
    text = (
        "Leeds this, Leeds that, Leeds gets the money, we live in Harrogate and the buses are worse"
    )
    assert council(nation.tag(text)) == NORTH_YORKSHIRE


@pytest.mark.parametrize(
    "text",
    [
        "Boston, Massachusetts is freezing this week",
        "Halifax, Nova Scotia harbour looks beautiful",
        "Perth, Western Australia is baking at 40 degrees",
        "Plymouth Rock in Massachusetts is tiny in real life",
        "Richmond, Virginia traffic is nothing on London",
    ],
)
def test_context_that_sets_a_place_abroad(nation: LocalityTagger, text: str) -> None:
    assert council(nation.tag(text)) is None


def test_gb_namesakes_without_abroad_context_stay_in_gb(nation: LocalityTagger) -> None:
    assert council(nation.tag("Boston market place is getting resurfaced")) == BOSTON
    assert council(nation.tag("Halifax Piece Hall is lovely this evening")) == CALDERDALE


def test_hashtag_forms_only_match_names_written_that_way(
    nation: LocalityTagger, default: LocalityTagger
) -> None:
    # How Wood (St Albans) is two words, Howwood (Renfrewshire) one.
    assert council(nation.tag("Station car park full again #HowWood")) == "E07000240"
    assert council(nation.tag("Station car park full again #Howwood")) == "S12000038"
    assert council(nation.tag("Howwood station car park full again")) == "S12000038"
    # New Quay (Ceredigion) is two generic words, Newquay (Cornwall) one: "#NewQuay" is
    # never Newquay, and alone too generic to place.
    assert council(nation.tag("Harbour packed today #NewQuay")) != CORNWALL
    assert council(nation.tag("Harbour packed today #Newquay")) == CORNWALL
    assert council(nation.tag("Harbour packed #NewQuay, Ceredigion at its best")) == CEREDIGION
    assert council(nation.tag("Surf is up in Newquay")) == CORNWALL
    assert council(default.tag("Great litter pick this morning #WoodGreen")) == HARINGEY
    # A squashed multi-word name outside a hashtag is not that name.
    assert council(nation.tag("the newquay lads were out again")) == CORNWALL
    assert council(nation.tag("saw the hebdenbridge lot at the pub")) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bins not collected for a fortnight in G12", GLASGOW),
        ("M14 fly tipping hotspot behind the shops again", MANCHESTER),
        ("HU5 bins left out for a week", "E06000010"),
        ("Flooding in N4 again", None),  # Haringey 38%, Hackney 32%, Islington 30%
        ("My Galaxy S10 battery is dying", None),
        ("Vitamin B12 injections running late at the GP", None),
    ],
)
def test_district_only_postcodes_by_share_everywhere(
    default: LocalityTagger, text: str, expected: str | None
) -> None:
    # The default deployment (Haringey, Monmouthshire) places far districts too,
    # and a split district gets no favour towards its own council.
    assert council(default.tag(text)) == expected


def test_station_names_against_council_names(nation: LocalityTagger) -> None:
    assert (
        council(nation.tag("Train stuck outside Waverley again, Edinburgh is a mess")) == EDINBURGH
    )
    assert council(nation.tag("Waverley station is heaving with festival crowds")) == EDINBURGH
    assert council(nation.tag("Waverley Borough Council approves the local plan")) == WAVERLEY
    assert council(nation.tag("Farnham and Godalming: Waverley bins collected late")) == WAVERLEY


def test_a_river_is_not_its_town(nation: LocalityTagger) -> None:
    loc = nation.tag("Yalding flooded again, the river Medway has burst its banks")
    assert council(loc) == "E07000110"


def test_scope_comes_from_the_environment(
    tables: Tables, monkeypatch: pytest.MonkeyPatch, nation: LocalityTagger
) -> None:
    monkeypatch.setenv("EARSHOT_LOCALITY_SCOPE", "nationwide")
    tagger = LocalityTagger.from_config(tables=tables)
    assert tagger.nationwide and len(tagger.lexicon.keys) == len(nation.lexicon.keys)
    monkeypatch.delenv("EARSHOT_LOCALITY_SCOPE")
    default = LocalityTagger.from_config(tables=tables)
    assert not default.nationwide and len(default.lexicon.keys) < len(tagger.lexicon.keys)
    # Nationwide knows far-off ward names the default deployment does not.
    assert tagger.tag("Crookes & Crosspool ward meeting").ward is not None
    assert default.tag("Crookes & Crosspool ward meeting").ward is None
