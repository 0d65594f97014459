"""Town names that name something else: people, pets, titles, teams, things, films, ships.

Written for these tests (none of them is in the development set). Every GB council is
loaded (``EARSHOT_LOCALITY_SCOPE=nationwide``): the hardest setting, where every town
in the country is a candidate. The contrast tests check that the same names, written
as places, still are places.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.locality.codepoint import SourceDataError
from pipelines.locality.normalise import fold
from pipelines.locality.sense_words import read_sections
from pipelines.locality.senses import SENSES, Senses
from pipelines.locality.tables import GazetteerMissingError, Tables, load_tables
from pipelines.steps.locality import LocalityTagger

pytestmark = pytest.mark.unit


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
def without(tables: Tables) -> LocalityTagger:
    return LocalityTagger.from_config(tables=tables, scope="nationwide", read_senses=False)


def council_name(tagger: LocalityTagger, text: str) -> str | None:
    loc = tagger.tag(text)
    return loc.council.name if loc.council else None


def sense_of(tagger: LocalityTagger, text: str, name: str) -> str:
    assert tagger.senses is not None
    matches = tagger.lexicon.find(text, fold(text))
    senses = tagger.senses.mark(text, fold(text).text, matches)
    found = [s for m, s in zip(matches, senses, strict=True) if text[m.start : m.end] == name]
    assert found, f"{name!r} is not matched in {text!r}"
    return found[0]


NOT_PLACES = [
    # people: honorific, given name before, relation, apposition, copula, verbs, possessive
    ("person", "Mrs Barnsley has run the lollipop crossing for twenty years", "Barnsley"),
    ("person", "Dr. Bolton says the flu jabs are in", "Bolton"),
    ("person", "Kevin Morley has been picked for the darts final", "Morley"),
    ("person", "My nephew Preston wants a trampoline for Christmas", "Preston"),
    ("person", "Lincoln the labrador passed his puppy class", "Lincoln"),
    ("person", "Chester is my favourite footballer", "Chester"),
    ("person", "Dudley has gone missing again, black and white collie", "Dudley"),
    ("person", "Selby's owner says he is fine after the op", "Selby"),
    ("person", "Ask Wigan about the fishing trip, he organised it", "Wigan"),
    ("person", "Shout out to Buxton on the till for being so patient", "Buxton"),
    # titles and history
    ("title", "The Earl of Lincoln's portrait is being restored", "Lincoln"),
    ("title", "The Siege of Newark is on the GCSE syllabus", "Newark"),
    # ships
    ("ship", "HMS Cornwall was the frigate my uncle served on", "Cornwall"),
    # teams
    ("team", "Rotherham United need a win on Saturday", "Rotherham"),
    ("team", "Oxford City are top of the table", "Oxford"),
    ("team", "Barnsley 3-0 Bolton, comfortable in the end", "Barnsley"),
    ("team", "Fulham v Everton on Sunday, who's going?", "Fulham"),
    ("team", "Halifax fans were brilliant, the manager said so", "Halifax"),
    # things: food, breeds, objects, events, brands
    ("thing", "Chorley cakes with butter, nothing better", "Chorley"),
    ("thing", "Border collies and Bedlington terriers at the dog show", "Bedlington"),
    ("thing", "Kendal mint cake in my rucksack for the walk", "Kendal"),
    ("thing", "Chesterfield sofas are half price this weekend", "Chesterfield"),
    ("thing", "Derby day sweepstake at work, I've drawn a donkey", "Derby"),
    ("thing", "The Merseyside derby is the best fixture of the year", "Merseyside"),
    ("thing", "Halifax mortgage app keeps crashing", "Halifax"),
    ("name", "Vauxhall Mokka on the drive at last", "Vauxhall"),
    # films, programmes, books
    ("fiction", "Watching Grantchester on a Sunday night", "Grantchester"),
    ("fiction", "Notting Hill is on ITV2 tonight, again", "Notting Hill"),
]


@pytest.mark.parametrize(("sense", "text", "name"), NOT_PLACES)
def test_town_named_things_are_not_places(
    nation: LocalityTagger, without: LocalityTagger, sense: str, text: str, name: str
) -> None:
    if name != "Merseyside":  # a region: backs councils, never tags one by itself
        assert council_name(without, text) is not None, "the example must be a hard one"
    assert sense_of(nation, text, name) == sense
    assert council_name(nation, text) is None


PLACES = [
    ("Mrs Khan from Barnsley says the market hall roof is leaking", "Barnsley"),
    ("Kevin lives in Morley and the bins have not been emptied", "Leeds"),
    ("Rotherham United fans blocked the roads round Rotherham town centre", "Rotherham"),
    ("Derby day at Epsom means the roads round the racecourse are shut", "Epsom and Ewell"),
    ("The Duke of York pub in Whitby has closed down", "North Yorkshire"),
    ("Chester Zoo car park is flooded again", "Cheshire West and Chester"),
    ("Lincoln Christmas market opens on Thursday, expect traffic", "Lincoln"),
    ("Halifax Piece Hall is hosting a vintage fair", "Calderdale"),
    ("Kendal mint cake factory in Kendal is closing", "Westmorland and Furness"),
    ("Whitstable oyster festival parking is a nightmare", "Canterbury"),
    ("Preston is gridlocked because of the roadworks", "Preston"),
    ("Bolton council has approved the new library", "Bolton"),
    ("Dudley zoo is open late on Fridays", "Dudley"),
    ("Bristol City Council has raised parking charges", "City of Bristol"),
    ("Shetland ferry cancelled, the Northlink boat stays in Lerwick", "Shetland Islands"),
    ("Highland cows blocking the road near Aviemore", "Highland"),
]


@pytest.mark.parametrize(("text", "council"), PLACES)
def test_the_same_names_written_as_places_are_places(
    nation: LocalityTagger, text: str, council: str
) -> None:
    assert council_name(nation, text) == council


def test_a_name_used_as_a_team_still_helps_settle_another_name(nation: LocalityTagger) -> None:
    # "Wednesday" makes Sheffield a team, but the post is still round Sheffield:
    # Darnall (a Sheffield ward) wins over its namesakes.
    loc = nation.tag("Sheffield Wednesday fans parked on every verge in Darnall")
    assert loc.council is not None and loc.council.name == "Sheffield"
    assert all(p.name != "Sheffield" for p in loc.places)


def test_two_uses_of_one_name_keep_one_sense(nation: LocalityTagger) -> None:
    assert council_name(nation, "Oxford shoes or brogues? Oxford look smarter") is None
    # Written as a place the second time, the place counts.
    assert council_name(nation, "Oxford shoes from a shop in Oxford city centre") == "Oxford"


def test_title_case_headlines_do_not_make_names_people(nation: LocalityTagger) -> None:
    assert council_name(nation, "Grimsby Fish Market Building Is Up For Sale Again") == (
        "North East Lincolnshire"
    )


def test_given_names_come_from_the_package_and_the_shipped_list() -> None:
    senses = Senses()
    assert {"harrison", "emma", "chester"} <= senses.first_names  # the names package
    assert {"gareth", "rhys", "eilidh"} <= senses.first_names  # written for Britain
    assert "may" not in senses.first_names  # an everyday word first


def test_the_word_lists_file_names_its_line_on_a_mistake(tmp_path: Path) -> None:
    bad = tmp_path / "senses.txt"
    bad.write_text("# lists\nwords before a heading\n[things]\ncake\n", encoding="utf-8")
    with pytest.raises(SourceDataError, match=r"senses\.txt:2"):
        read_sections(bad)
    assert "things" in read_sections(SENSES)
