"""LocalityTagger on plain data: postcodes, points, names, Welsh, stop-words, disambiguation.

Needs the gazetteer tables: when they are missing these tests FAIL and say to run
`python -m pipelines.locality build` (make model does it); they never skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.locality.evalset import EvalItem, Prediction, load_eval, score
from pipelines.locality.normalise import fold_name
from pipelines.locality.tables import GazetteerMissingError, Tables, load_tables
from pipelines.steps.locality import LocalityTagger
from schemas.models import Locality, PlaceHint, Point

pytestmark = pytest.mark.unit

HARINGEY = "E09000014"
MONMOUTHSHIRE = "W06000021"
NEWPORT_WALES = "W06000022"
ISLE_OF_WIGHT = "E06000046"
CAMDEN = "E09000007"
TOTTENHAM_HALE = "E05013602"
MUSWELL_HILL = "E05013594"
WEST_GREEN = "E05013603"
HARRINGAY = "E05013590"
LLANBADOC_USK = "W05001777"
PARK_WARD = "W05001789"


@pytest.fixture(scope="module")
def tables() -> Tables:
    try:
        return load_tables()
    except GazetteerMissingError as exc:
        pytest.fail(f"{exc}. Run `python -m pipelines.locality build` first.")


@pytest.fixture(scope="module")
def tagger(tables: Tables) -> LocalityTagger:
    return LocalityTagger.from_config(tables=tables)


def council(loc: Locality) -> str | None:
    return loc.council.code if loc.council else None


def ward(loc: Locality) -> str | None:
    return loc.ward.code if loc.ward else None


@pytest.mark.parametrize(
    "written", ["N17 9LN", "n17 9ln", "N179LN", "n179ln", "N17  9LN", "n17 9LN"]
)
def test_full_postcode_any_spacing_and_case(tagger: LocalityTagger, written: str) -> None:
    text = f"bins not collected at {written} for 3 weeks"
    loc = tagger.tag(text)
    assert council(loc) == HARINGEY
    assert ward(loc) == TOTTENHAM_HALE
    [place] = [p for p in loc.places if p.kind == "postcode"]
    assert text[place.start : place.end] == written
    assert place.name == "N17 9LN"
    assert loc.point is not None and loc.evidence[0].kind == "postcode"
    assert loc.confidence >= 0.9


def test_retired_postcode_falls_back_to_its_sector(tagger: LocalityTagger) -> None:
    loc = tagger.tag("NP7 5ZZ bin day changed")
    assert council(loc) == MONMOUTHSHIRE


def test_district_alone_goes_by_share(tagger: LocalityTagger) -> None:
    assert council(tagger.tag("fly tipping all over N17 again")) == HARINGEY
    # N4 is Haringey 38%, Hackney 32%, Islington 30%: no council dominates, and the
    # deployment's own council gets no favour, so the district alone places nothing...
    assert council(tagger.tag("Flooding in N4 again")) is None
    # ...until the post says more.
    n4 = tagger.tag("Flooding in N4 again, Finsbury Park gates shut")
    assert council(n4) == HARINGEY and n4.near_boundary
    # One letter, one digit, no locative: also a seat or a vitamin, so it needs support.
    assert council(tagger.tag("N17 is fine but N4 flooding")) == HARINGEY


def test_one_letter_districts_that_are_not_places(tagger: LocalityTagger) -> None:
    for text in (
        "Gate B12 at JFK, no agent",
        "vitamin B12 and a coffee",
        "stuck on the M4 again",
        "B4 the meeting",
    ):
        assert council(tagger.tag(text)) is None, text


def test_coordinates_give_ward_and_council(tagger: LocalityTagger) -> None:
    loc = tagger.tag("look at the state of this", geo=Point(lat=51.5905, lon=-0.1430))
    assert (council(loc), ward(loc)) == (HARINGEY, MUSWELL_HILL)
    assert loc.point == Point(lat=51.5905, lon=-0.1430)
    assert loc.evidence[0].kind == "coordinates" and not loc.near_boundary


def test_coordinates_abroad_keep_the_point_but_no_council(tagger: LocalityTagger) -> None:
    loc = tagger.tag("sunset", geo=Point(lat=48.8566, lon=2.3522))
    assert loc.council is None and loc.point == Point(lat=48.8566, lon=2.3522)


def test_near_boundary_from_coordinates(tagger: LocalityTagger) -> None:
    # Green Lanes by Harringay Green Lanes station: Harringay and Hermitage & Gardens meet.
    loc = tagger.tag("", geo=Point(lat=51.5790, lon=-0.0985))
    assert council(loc) == HARINGEY and loc.near_boundary


def test_near_boundary_from_names(tagger: LocalityTagger) -> None:
    green_lanes = tagger.tag("Green Lanes is gridlocked again")
    assert (
        council(green_lanes) == HARINGEY and ward(green_lanes) is None and green_lanes.near_boundary
    )
    assert tagger.tag("Finsbury Park fun run on Sunday").near_boundary
    assert not tagger.tag("Muswell Hill broadway roadworks again").near_boundary


@pytest.mark.parametrize(
    ("text", "expected_council", "expected_ward"),
    [
        ("Traffic chaos in Y Fenni today", MONMOUTHSHIRE, None),
        ("Cas-gwent: gwaith ffordd ar y stryd fawr", MONMOUTHSHIRE, None),
        ("Parcio yn Trefynwy yn hunllef", MONMOUTHSHIRE, None),
        ("Brynbuga yn ei blodau", MONMOUTHSHIRE, LLANBADOC_USK),
        ("Cil-y-coed carnival road closures", MONMOUTHSHIRE, None),
        ("Cyngor Sir Fynwy yn cyhoeddi cyllideb", MONMOUTHSHIRE, None),
        ("Casnewydd: gwaith ffordd ar bont y ddinas", NEWPORT_WALES, None),
    ],
)
def test_welsh_names(
    tagger: LocalityTagger, text: str, expected_council: str, expected_ward: str | None
) -> None:
    loc = tagger.tag(text)
    assert (council(loc), ward(loc)) == (expected_council, expected_ward)


def test_welsh_and_english_names_agree(tagger: LocalityTagger) -> None:
    for english, welsh in (
        ("Abergavenny", "Y Fenni"),
        ("Chepstow", "Cas-gwent"),
        ("Usk", "Brynbuga"),
    ):
        a, b = tagger.tag(f"Road closed in {english}"), tagger.tag(f"Road closed in {welsh}")
        assert (council(a), ward(a), a.places[0].name) == (council(b), ward(b), b.places[0].name)


@pytest.mark.parametrize(
    "text",
    [
        "Reading this report from the council on housing, it's grim",
        "reading a book in the park",
        "Took a long bath after canvassing",
        "The council meeting in March was a shambles",
        "I hope the council sorts the potholes out",
        "Street lights out across the whole road",
        "Big deal, the council finally answered",
        "Sale on at the garden centre this weekend",
        "the ladder roads need bumps",
        "Clint Eastwood film night tonight",
    ],
)
def test_generic_words_are_not_places(tagger: LocalityTagger, text: str) -> None:
    assert council(tagger.tag(text)) is None


def test_generic_words_count_with_capital_and_context(tagger: LocalityTagger) -> None:
    assert council(tagger.tag("Moving to Reading next month")) == "E06000038"
    assert council(tagger.tag("Lovely weekend in Bath")) == "E06000022"
    park = tagger.tag("Park ward councillor resigns in Abergavenny")
    assert (council(park), ward(park)) == (MONMOUTHSHIRE, PARK_WARD)
    ladder = tagger.tag("The Ladder in Harringay needs speed bumps")
    assert (council(ladder), ward(ladder)) == (HARINGEY, HARRINGAY)
    assert ladder.community_areas == ("The Ladder",)


def test_newport_wales_vs_isle_of_wight(tagger: LocalityTagger) -> None:
    assert council(tagger.tag("Newport city centre is dead these days")) == NEWPORT_WALES
    assert council(tagger.tag("Newport council has approved the plan")) == NEWPORT_WALES
    assert council(tagger.tag("newport wales")) == NEWPORT_WALES
    assert council(tagger.tag("Newport, Isle of Wight ferry delays again")) == ISLE_OF_WIGHT
    assert council(tagger.tag("Cowes week traffic through Newport IoW")) == ISLE_OF_WIGHT


def test_tottenham_court_road_is_camden(tagger: LocalityTagger) -> None:
    loc = tagger.tag("Meeting at Tottenham Court Road station at 6")
    assert council(loc) == CAMDEN
    assert all(p.council_code != HARINGEY for p in loc.places)
    assert council(tagger.tag("Tottenham High Road shops boarded up")) == HARINGEY


def test_shared_street_follows_its_neighbour(tagger: LocalityTagger) -> None:
    assert council(tagger.tag("potholes on Lordship Lane N17")) == HARINGEY
    assert council(tagger.tag("East Dulwich market on Lordship Lane")) == "E09000028"


@pytest.mark.parametrize(
    "text",
    [
        "Holiday in Paris was amazing",
        "Moving to Sydney next month",
        "Perth, Australia is so hot this week",
        "Newport, Rhode Island mansions tour",
        "New York subway is filthy",
        "Tottenham in Melbourne has a great market",
    ],
)
def test_places_abroad_are_not_tagged(tagger: LocalityTagger, text: str) -> None:
    assert council(tagger.tag(text)) is None


def test_spans_are_exact_offsets_into_the_original(tagger: LocalityTagger) -> None:
    texts = [
        "Réunion at St.  Ann's   Road, then #CrouchEnd 🎉 and Alexandra   Palace!!",
        "FLY-TIPPING on Philip Lane N17 — again @haringeycouncil",
        "Y Fenni → Cas-gwent → Brynbuga, all in one day",
        "İstanbul trip, then back to Muswell Hill",
    ]
    for text in texts:
        loc = tagger.tag(text)
        assert loc.places, text
        for place in loc.places:
            surface = text[place.start : place.end]
            assert surface.strip() == surface and surface, (text, place)
            assert 0 <= place.start < place.end <= len(text)
        named = {fold_name(text[p.start : p.end]) for p in loc.places}
        assert named, text
    loc = tagger.tag(texts[0])
    assert [text for text in (texts[0][p.start : p.end] for p in loc.places)] == [
        "St.  Ann's   Road",
        "CrouchEnd",
        "Alexandra   Palace",
    ]


def test_community_areas_report_their_wards(tagger: LocalityTagger) -> None:
    loc = tagger.tag("Anyone know why there are police all over Broadwater Farm tonight?")
    assert loc.community_areas == ("Broadwater Farm",)
    assert (council(loc), ward(loc)) == (HARINGEY, WEST_GREEN)
    assert any(e.kind == "community_area" for e in loc.evidence)


def test_context_and_place_hint(tagger: LocalityTagger) -> None:
    assert council(tagger.tag("anyone know a good plumber?", context=["r/haringey"])) == HARINGEY
    assert council(tagger.tag("tip open on monday?", context=["#Abergavenny"])) == MONMOUTHSHIRE
    hinted = tagger.tag(
        "lovely day", place_hint=PlaceHint(name="Abergavenny, Wales", country_code="GB")
    )
    assert council(hinted) == MONMOUTHSHIRE and hinted.evidence[0].kind == "place_hint"
    assert (
        council(tagger.tag("lovely day", place_hint=PlaceHint(name="Paris", country_code="FR")))
        is None
    )
    boxed = tagger.tag(
        "lovely day", place_hint=PlaceHint(name="somewhere", bbox=(-0.16, 51.58, -0.13, 51.60))
    )
    assert council(boxed) == HARINGEY and ward(boxed) is None


def test_handles_and_urls_are_not_places(tagger: LocalityTagger) -> None:
    assert council(tagger.tag("@WhiteHouse please help")) is None
    assert council(tagger.tag("see https://example.org/reading/bath for more")) is None
    assert council(tagger.tag("@haringeycouncil the bins on my road")) == HARINGEY


def test_output_is_a_valid_contract(tagger: LocalityTagger) -> None:
    for text in ("Fly-tipping on Philip Lane N17", "nothing here", "Newport, Isle of Wight"):
        loc = tagger.tag(text)
        assert Locality.model_validate(loc.model_dump()) == loc
        assert 0.0 <= loc.confidence <= 1.0
    assert tagger.tag("") == Locality()


def test_missing_gazetteer_says_how_to_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EARSHOT_CACHE", str(tmp_path))
    with pytest.raises(GazetteerMissingError, match=r"python -m pipelines\.locality build"):
        load_tables()


def test_accuracy_on_the_labelled_set(tagger: LocalityTagger) -> None:
    """Floors: council >= 0.90, ward >= 0.85, place precision >= 0.95, recall >= 0.90.

    The set was written alongside the rules, so it flatters them (they scored
    0.98/0.99 when written); the floors sit well below that to allow rule changes
    while catching regressions, and above the 0.85 a reviewer would accept.
    """

    def predict(item: EvalItem) -> Prediction:
        loc = tagger.tag(item.text, geo=item.geo, context=item.context)
        return Prediction(council(loc), ward(loc))

    result = score(load_eval(), predict)
    assert result.items >= 200 and result.ward_items >= 60
    assert result.council_accuracy >= 0.90, result
    assert result.ward_accuracy >= 0.85, result
    assert result.place_precision >= 0.95, result
    assert result.place_recall >= 0.90, result
