"""Rule evaluation: clauses, exclusions, thresholds, council scope, reasons, alert ids."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from common.routing.config import RoutingConfig
from common.routing.load import load_routing, taxonomy_topics
from common.yamlconfig import ConfigError
from devkit.events import example_enriched
from pipelines.steps.rules import NEAR_BOUNDARY_NOTE, RuleEngine
from schemas.codec import decode, encode
from schemas.ids import alert_id
from schemas.models import (
    Alert,
    CodedArea,
    EnrichedMention,
    Language,
    Locality,
    Place,
    Sentiment,
    Source,
    Span,
    Topic,
)

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HARINGEY = CodedArea(code="E09000014", name="Haringey")
MONMOUTHSHIRE = CodedArea(code="W06000021", name="Monmouthshire")
WOOD_GREEN = CodedArea(code="E05013605", name="Woodside")


@pytest.fixture(scope="module")
def shipped() -> RuleEngine:
    config = load_routing(
        ROOT / "deploy" / "config" / "departments.yaml", taxonomy_topics(ROOT / "deploy" / "config")
    )
    return RuleEngine(config)


def mention(
    text: str,
    topics: dict[str, str] | None = None,
    *,
    council: CodedArea | None = HARINGEY,
    ward: CodedArea | None = None,
    sentiment: tuple[str, float] | None = ("negative", 0.9),
    **changes: Any,
) -> EnrichedMention:
    """The pothole example re-worded: ``topics`` maps topic id to the word that found it."""
    base = example_enriched()
    found = []
    for topic, word in (topics or {}).items():
        start = text.lower().index(word.lower())
        found.append(
            Topic(
                id=topic,
                spans=(
                    Span(start=start, end=start + len(word), text=text[start : start + len(word)]),
                ),
            )
        )
    locality = Locality(
        council=council,
        ward=ward,
        confidence=changes.pop("confidence", 0.8),
        near_boundary=changes.pop("near_boundary", False),
        community_areas=changes.pop("community_areas", ()),
        places=changes.pop("places", ()),
    )
    label = sentiment
    return base.model_copy(
        update={
            "text": text,
            "topics": tuple(found),
            "locality": locality,
            "sentiment": Sentiment(label=label[0], score=label[1], model="m") if label else None,  # type: ignore[arg-type]
            "sentiment_skipped": None if label else "language cy",
            **changes,
        }
    )


def engine(yaml_text: str, tmp_path: Path) -> RuleEngine:
    path = tmp_path / "departments.yaml"
    path.write_text(yaml_text)
    return RuleEngine(load_routing(path, taxonomy_topics(ROOT / "deploy" / "config")))


DEPT = """
departments:
  - id: roads
    name: Roads
    council: E09000014
    addresses: [roads@haringey.example]
    owns_topics: [highways]
    digest: {every: daily, at: '08:00'}
    kibana_link: "{kibana}/app/discover#/?_a=(query:(language:kuery,query:'{query}'))"
  - id: anywhere
    name: County-wide
    addresses: [all@example.org]
    digest: {every: hourly}
    kibana_link: "https://kibana.example/x?q={query}"
rules:
"""


def one(engine_: RuleEngine, m: EnrichedMention) -> Alert | None:
    alerts = engine_.route(m, NOW)
    assert len(alerts) <= 1
    return alerts[0] if alerts else None


def test_the_shipped_example_routes_the_haringey_pothole_to_highways(shipped: RuleEngine) -> None:
    m = example_enriched()
    (alert,) = shipped.route(m, NOW)
    assert alert.department == "haringey-highways"
    assert alert.rule_id == "haringey.highways.defects"
    assert (alert.severity, alert.delivery) == ("medium", "immediate")
    assert alert.alert_id == alert_id(m.mention_id, "haringey.highways.defects")
    clauses = [r.clause for r in alert.reasons]
    assert clauses[0] == "topics.any"
    assert [s.text for s in alert.reasons[0].spans] == ["pothole"]
    assert "councils" in clauses and "sentiment" in clauses
    assert alert.mention is not None and alert.mention.ward == m.locality.ward
    assert decode(encode(alert), Alert) == alert  # valid against alert.v1
    assert shipped.route(m, NOW) == (alert,)  # deterministic


def test_a_library_course_question_reaches_libraries_and_adult_learning(
    shipped: RuleEngine,
) -> None:
    m = mention(
        "Does anyone know if the ESOL course at Wood Green library is still running?",
        {"libraries": "ESOL"},
        ward=WOOD_GREEN,
        sentiment=("neutral", 0.8),
    )
    (alert,) = shipped.route(m, NOW)
    assert (alert.department, alert.rule_id) == (
        "haringey-libraries",
        "haringey.libraries.questions",
    )
    phrases = next(r for r in alert.reasons if r.clause == "phrases")
    assert '"does anyone"' in phrases.detail and '"still running"' in phrases.detail


def test_praise_is_not_an_immediate_defect_but_lands_in_the_digest(shipped: RuleEngine) -> None:
    m = mention(
        "Credit where due: the potholes on Philip Lane were filled overnight. Thank you!",
        {"highways": "potholes"},
        sentiment=("positive", 0.95),
    )
    (alert,) = shipped.route(m, NOW)
    assert (alert.rule_id, alert.delivery) == ("haringey.highways.all", "digest")


def test_a_monmouthshire_mention_never_reaches_a_haringey_team(shipped: RuleEngine) -> None:
    m = mention("Huge pothole on Monnow Street", {"highways": "pothole"}, council=MONMOUTHSHIRE)
    (alert,) = shipped.route(m, NOW)
    assert alert.department == "monmouthshire-highways"


def test_a_welsh_post_without_sentiment_can_still_match(shipped: RuleEngine) -> None:
    m = mention(
        "Twll mawr yn y ffordd, pothole ar Cross Street",
        {"highways": "pothole"},
        council=MONMOUTHSHIRE,
        sentiment=None,
    )
    m = m.model_copy(update={"language": Language(code="cy", confidence=0.9)})
    (alert,) = shipped.route(m, NOW)
    assert alert.rule_id == "monmouthshire.highways.defects"
    sentiment = next(r for r in alert.reasons if r.clause == "sentiment")
    assert "not scored" in sentiment.detail


def test_exclusions_veto_every_kind_of_clause(tmp_path: Path) -> None:
    e = engine(
        DEPT
        + """
  - id: r
    department: roads
    severity: low
    delivery: immediate
    topics: {any: [highways]}
    exclude:
      phrases: [thank you]
      topics: [parks]
      sources: [rss]
      wards: [E05013590]
      languages: [fr]
""",
        tmp_path,
    )
    text = "Pothole by the park, thank you for nothing"
    assert one(e, mention("Pothole on the road", {"highways": "Pothole"})) is not None
    assert one(e, mention(text, {"highways": "Pothole"})) is None
    assert one(e, mention("Pothole by the park", {"highways": "Pothole", "parks": "park"})) is None
    rss = mention("Pothole", {"highways": "Pothole"}).model_copy(
        update={"source": Source(kind="rss", instance="news", native_id="1")}
    )
    assert one(e, rss) is None
    assert (
        one(
            e,
            mention(
                "Pothole",
                {"highways": "Pothole"},
                ward=CodedArea(code="E05013590", name="Harringay"),
            ),
        )
        is None
    )
    fr = mention("Pothole", {"highways": "Pothole"}).model_copy(
        update={"language": Language(code="fr", confidence=1)}
    )
    assert one(e, fr) is None


def test_exclusion_phrases_in_the_title_count_too(tmp_path: Path) -> None:
    e = engine(
        DEPT
        + "  - {id: r, department: roads, severity: low, delivery: digest, topics: {any: [highways]}, exclude: {phrases: [to be repaired]}}\n",
        tmp_path,
    )
    m = mention(
        "Potholes on Philip Lane",
        {"highways": "Potholes"},
        title="Potholes to be repaired next week",
    )
    assert one(e, m) is None


@pytest.mark.parametrize(
    ("score", "label", "fires"),
    [
        (0.69, "negative", False),
        (0.7, "negative", True),
        (0.99, "neutral", False),
        (0.95, "negative", True),
    ],
)
def test_sentiment_label_and_score_threshold(
    tmp_path: Path, score: float, label: str, fires: bool
) -> None:
    e = engine(
        DEPT
        + "  - {id: r, department: roads, severity: low, delivery: digest, topics: {any: [highways]}, sentiment: {labels: [negative], min_score: 0.7}}\n",
        tmp_path,
    )
    assert (
        one(e, mention("Pothole", {"highways": "Pothole"}, sentiment=(label, score))) is not None
    ) is fires


def _scored(label: str, score: float, *, mixed: bool | None) -> EnrichedMention:
    m = mention("Pothole", {"highways": "Pothole"})
    sentiment = Sentiment(label=label, score=score, model="m", mixed=mixed)  # type: ignore[arg-type]
    return m.model_copy(update={"sentiment": sentiment})


def test_skip_mixed_drops_posts_flagged_mixed_only(tmp_path: Path) -> None:
    rule = "  - {id: r, department: roads, severity: low, delivery: digest, topics: {any: [highways]}, sentiment: {labels: [negative]%s}}\n"
    skipping = engine(DEPT + rule % ", skip_mixed: true", tmp_path)
    keeping = engine(DEPT + rule % "", tmp_path)
    assert one(skipping, _scored("negative", 0.6, mixed=True)) is None
    assert one(keeping, _scored("negative", 0.6, mixed=True)) is not None
    # Not flagged, or scored before the flag existed (None): the rule still fires.
    assert one(skipping, _scored("negative", 0.6, mixed=False)) is not None
    assert one(skipping, _scored("negative", 0.6, mixed=None)) is not None


def test_confidence_floor_and_skip_mixed_combine(tmp_path: Path) -> None:
    e = engine(
        DEPT
        + "  - {id: r, department: roads, severity: low, delivery: digest, topics: {any: [highways]}, sentiment: {labels: [negative], min_score: 0.8, skip_mixed: true}}\n",
        tmp_path,
    )
    assert one(e, _scored("negative", 0.79, mixed=False)) is None
    alert = one(e, _scored("negative", 0.85, mixed=False))
    assert alert is not None
    assert any(r.clause == "sentiment" and "0.85 >= 0.80" in r.detail for r in alert.reasons)


def test_skip_mixed_must_be_a_boolean(tmp_path: Path) -> None:
    rule = "  - {id: r, department: roads, severity: low, delivery: digest, topics: {any: [highways]}, sentiment: {labels: [negative], skip_mixed: sometimes}}\n"
    with pytest.raises(ConfigError, match=r"departments\.yaml:\d+: .*skip_mixed"):
        engine(DEPT + rule, tmp_path)


def test_unscored_mentions_only_match_when_the_rule_says_so(tmp_path: Path) -> None:
    rule = "  - {id: r, department: roads, severity: low, delivery: digest, topics: {any: [highways]}, sentiment: {labels: [negative]%s}}\n"
    m = mention("Pothole", {"highways": "Pothole"}, sentiment=None)
    assert one(engine(DEPT + rule % "", tmp_path), m) is None
    assert one(engine(DEPT + rule % ", include_unscored: true", tmp_path), m) is not None


def test_topics_all_needs_every_topic_and_any_needs_one(tmp_path: Path) -> None:
    e = engine(
        DEPT
        + "  - {id: r, department: roads, severity: high, delivery: immediate, topics: {all: [highways, emergencies]}}\n",
        tmp_path,
    )
    assert one(e, mention("Sinkhole swallowed the road", {"highways": "road"})) is None
    alert = one(
        e, mention("Sinkhole swallowed the road", {"highways": "road", "emergencies": "Sinkhole"})
    )
    assert alert is not None
    assert alert.reasons[0].clause == "topics.all"
    assert {s.text for s in alert.reasons[0].spans} == {"road", "Sinkhole"}


def test_phrases_match_whole_words_with_spans_and_in_titles(tmp_path: Path) -> None:
    e = engine(
        DEPT
        + "  - {id: r, department: roads, severity: low, delivery: digest, phrases: [street light, lamp post]}\n",
        tmp_path,
    )
    assert one(e, mention("Streetlights are fine", {})) is None
    alert = one(e, mention("The Street Light on Park Road is out", {}, title="Lamp post down"))
    assert alert is not None
    (reason,) = [r for r in alert.reasons if r.clause == "phrases"]
    assert [(s.start, s.end, s.text) for s in reason.spans] == [(4, 16, "Street Light")]
    assert '"lamp post" (title)' in reason.detail


def test_wards_community_areas_and_locality_confidence(tmp_path: Path) -> None:
    e = engine(
        DEPT
        + """
  - id: r
    department: roads
    severity: low
    delivery: digest
    topics: {any: [highways]}
    wards: [E05013602]
    community_areas: [Tottenham Hale Village]
    min_locality_confidence: 0.6
""",
        tmp_path,
    )
    hale = CodedArea(code="E05013602", name="Tottenham Hale")
    text = "Pothole by Tottenham Hale Village"
    village = Place(
        name="Tottenham Hale Village",
        kind="community_area",
        start=11,
        end=33,
        council_code="E09000014",
        ward_code="E05013602",
    )
    good = mention(
        text,
        {"highways": "Pothole"},
        ward=hale,
        community_areas=("Tottenham Hale Village",),
        places=(village,),
    )
    alert = one(e, good)
    assert alert is not None
    by = {r.clause: r for r in alert.reasons}
    assert by["wards"].detail == "E05013602 Tottenham Hale"
    assert [s.text for s in by["wards"].spans] == ["Tottenham Hale Village"]
    assert [s.text for s in by["community_areas"].spans] == ["Tottenham Hale Village"]
    assert by["locality.confidence"].detail == "0.80 >= 0.60"
    assert (
        one(
            e,
            good.model_copy(
                update={"locality": good.locality.model_copy(update={"confidence": 0.59})}
            ),
        )
        is None
    )
    assert (
        one(
            e,
            mention(
                text,
                {"highways": "Pothole"},
                ward=WOOD_GREEN,
                community_areas=("Tottenham Hale Village",),
            ),
        )
        is None
    )
    assert one(e, mention(text, {"highways": "Pothole"}, ward=hale)) is None


def test_sources_and_languages(tmp_path: Path) -> None:
    e = engine(
        DEPT
        + "  - {id: r, department: roads, severity: low, delivery: digest, topics: {any: [highways]}, sources: [rss, mastodon.social], languages: [en]}\n",
        tmp_path,
    )
    m = mention("Pothole", {"highways": "Pothole"})  # mastodon, instance mastodon.social
    alert = one(e, m)
    assert (
        alert is not None
        and {r.clause: r.detail for r in alert.reasons}["sources"] == "mastodon.social"
    )
    other = m.model_copy(
        update={"source": Source(kind="mastodon", instance="toot.wales", native_id="9")}
    )
    assert one(e, other) is None


def test_a_departments_council_scopes_its_rules_and_unscoped_teams_see_all(tmp_path: Path) -> None:
    e = engine(
        DEPT
        + "  - {id: a, department: roads, severity: low, delivery: digest, topics: {any: [highways]}}\n"
        + "  - {id: b, department: anywhere, severity: low, delivery: digest, topics: {any: [highways]}}\n",
        tmp_path,
    )
    haringey = e.route(mention("Pothole", {"highways": "Pothole"}), NOW)
    assert [a.department for a in haringey] == ["roads", "anywhere"]
    assert "(the department's council)" in haringey[0].reasons[1].detail
    elsewhere = e.route(mention("Pothole", {"highways": "Pothole"}, council=MONMOUTHSHIRE), NOW)
    assert [a.department for a in elsewhere] == ["anywhere"]
    nowhere = e.route(mention("Pothole", {"highways": "Pothole"}, council=None), NOW)
    assert [a.department for a in nowhere] == ["anywhere"]


def test_first_matching_rule_per_department_wins(tmp_path: Path) -> None:
    e = engine(
        DEPT
        + "  - {id: urgent, department: roads, severity: high, delivery: immediate, phrases: [sinkhole]}\n"
        + "  - {id: all, department: roads, severity: low, delivery: digest, topics: {any: [highways]}}\n",
        tmp_path,
    )
    assert [
        a.rule_id for a in e.route(mention("Sinkhole on the road", {"highways": "road"}), NOW)
    ] == ["urgent"]
    assert [a.rule_id for a in e.route(mention("Bumpy road", {"highways": "road"}), NOW)] == ["all"]


def test_disabled_rules_do_not_fire(tmp_path: Path) -> None:
    e = engine(
        DEPT
        + "  - {id: r, enabled: false, department: roads, severity: low, delivery: digest, topics: {any: [highways]}}\n",
        tmp_path,
    )
    assert e.route(mention("Pothole", {"highways": "Pothole"}), NOW) == ()


def test_near_boundary_mentions_carry_a_check_ownership_note(shipped: RuleEngine) -> None:
    m = mention("Pothole on Philip Lane", {"highways": "Pothole"}, near_boundary=True)
    (alert,) = shipped.route(m, NOW)
    assert alert.notes == (NEAR_BOUNDARY_NOTE,)
    assert alert.mention is not None and alert.mention.near_boundary


def test_a_duplicate_gets_the_alert_id_of_the_first_copy(shipped: RuleEngine) -> None:
    first = example_enriched()
    copy = first.model_copy(update={"mention_id": "0" * 32, "duplicate_of": first.mention_id})
    (a1,) = shipped.route(first, NOW)
    (a2,) = shipped.route(copy, NOW)
    assert a1.alert_id == a2.alert_id  # the notifier's ledger sends it once
    assert a2.mention is not None and a2.mention.mention_id == "0" * 32
    assert any(first.mention_id in n for n in a2.notes)


def test_an_edit_keeps_its_alert_id_and_carries_its_edit_time(shipped: RuleEngine) -> None:
    original = example_enriched()
    edit = original.model_copy(
        update={"text": original.text + " EDIT: still there", "edited_at": NOW}
    )
    (a1,) = shipped.route(original, NOW)
    (a2,) = shipped.route(edit, NOW)
    assert a1.alert_id == a2.alert_id  # the notifier audits it as an edit of the first email
    assert a1.mention is not None and a1.mention.edited_at is None
    assert a2.mention is not None and a2.mention.edited_at == NOW
    assert decode(encode(a2), Alert) == a2  # valid against alert.v1


def test_nothing_matches_an_unrelated_post(shipped: RuleEngine) -> None:
    assert shipped.route(mention("Lovely sunset over Alexandra Palace tonight", {}), NOW) == ()


def test_engine_config_is_kept_for_spikes(shipped: RuleEngine) -> None:
    assert isinstance(shipped.config, RoutingConfig)
    owner = shipped.config.owner_of("E09000014", "waste")
    assert owner is not None and owner.id == "haringey-waste"
    assert shipped.config.owner_of("W06000021", "transport") is not None
    assert shipped.config.owner_of("E09000014", "planning") is None
