"""The topic taxonomy: whole words, acronyms, masks, spans, departments and config errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.taxonomy import Taxonomy
from common.yamlconfig import ConfigError
from pipelines.steps.textmatch import PhraseMatcher, fold
from pipelines.steps.topics import TopicTagger

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tagger() -> TopicTagger:
    return TopicTagger(Taxonomy.load(ROOT / "deploy" / "config" / "topics.yaml"))


def ids(tagger: TopicTagger, text: str) -> list[str]:
    return [t.id for t in tagger.tag(text)]


def test_service_words_find_their_topics(tagger: TopicTagger) -> None:
    assert ids(tagger, "Massive pothole on Philip Lane again") == ["highways"]
    assert ids(tagger, "Fly-tipping behind the shops, mattresses everywhere") == ["waste"]
    assert ids(tagger, "Is the ESOL course at Wood Green library still running?") == ["libraries"]
    assert "housing" in ids(tagger, "Damp and mould in our council flat for months")


def test_spans_point_into_the_original_text(tagger: TopicTagger) -> None:
    text = "Our BINS weren't collected – again!"
    (topic,) = tagger.tag(text)
    assert [(s.start, s.end, s.text) for s in topic.spans] == [(4, 8, "BINS")]
    assert text[4:8] == "BINS"


def test_whole_words_only_and_masks(tagger: TopicTagger) -> None:
    assert ids(tagger, "Cabinet meeting tonight") == []  # "bin" inside a word
    assert ids(tagger, "Of course I'll be there") == []
    assert ids(tagger, "Car park by the station is full") == []
    assert ids(tagger, "Fire sale at the furniture shop") == []
    assert ids(tagger, "Fire on the high road, smoke everywhere") == ["emergencies"]


def test_acronyms_match_only_in_capitals(tagger: TopicTagger) -> None:
    assert ids(tagger, "please send me the link") == []
    assert ids(tagger, "Waiting 18 months for a SEND assessment") == ["social_care"]


def test_departments_follow_topic_owners(tagger: TopicTagger) -> None:
    topics = tagger.tag("Bus stop flooded and bins everywhere")
    assert [t.id for t in topics] == ["waste", "emergencies", "transport"]
    assert tagger.departments(topics) == ("waste", "emergencies", "highways")


def test_matcher_prefers_leftmost_longest() -> None:
    m = PhraseMatcher([("bin", "a"), ("bin collection", "b"), ("collection day", "c")])
    assert [(h.start, h.end, h.payload) for h in m.find("bin collection day")] == [(0, 14, "b")]
    assert fold("İstanbul").__len__() == len("İstanbul")


def test_bad_taxonomy_names_file_line_and_field(tmp_path: Path) -> None:
    path = tmp_path / "topics.yaml"
    path.write_text(
        "topics:\n  - id: waste\n    label: Waste\n    department: Waste Team\n    phrases: [bin]\n"
    )
    with pytest.raises(ConfigError) as caught:
        Taxonomy.load(path)
    assert caught.value.line == 4 and caught.value.field == "topics.0.department"
