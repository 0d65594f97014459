"""Rule evaluation: an EnrichedMention in, the Alerts it earns out, each saying why.

Pure and Faust-free. :class:`RuleEngine` is built once per config version
(phrase automata are compiled then) and :meth:`RuleEngine.route` is a plain
function of the mention and the time. Clause semantics are documented in
:mod:`common.routing.config`.

Duplicates: a mention marked ``duplicate_of`` gets the alert id of the first
copy for the same rule, so the notifier's ledger drops it when the first copy
already alerted, and it still alerts once when only this copy matches (say, it
came from a source the rule listens to).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from common.routing.config import Department, RoutingConfig, Rule
from pipelines.steps.textmatch import Hit, PhraseMatcher, fold
from schemas.ids import alert_id
from schemas.models import Alert, EnrichedMention, MentionSnapshot, Reason, Span

SNAPSHOT_TEXT_MAX = 40_000  # alert.v1 caps the snapshot text
NEAR_BOUNDARY_NOTE = (
    "Check ownership: this place is near a ward or council boundary; "
    "confirm it is ours before acting."
)
CLAUSE_ORDER = (
    "topics.any",
    "topics.all",
    "phrases",
    "councils",
    "wards",
    "community_areas",
    "sentiment",
    "locality.confidence",
    "sources",
    "languages",
)
"""The order reasons are listed in an alert: what it is about, where, then the rest."""
Outcome = Reason | None | bool
"""A clause check: a Reason when it matched, None when it failed, True when not stated."""


def _folded(values: Iterable[str]) -> frozenset[str]:
    return frozenset(fold(v.strip()) for v in values)


def _matcher(phrases: Sequence[str]) -> PhraseMatcher[str] | None:
    return PhraseMatcher((p, p) for p in phrases) if phrases else None


@dataclass(frozen=True)
class Facts:
    """What every rule looks at, computed once per mention."""

    mention: EnrichedMention
    councils: frozenset[str]
    wards: frozenset[str]
    areas: frozenset[str]
    sources: frozenset[str]
    topics: frozenset[str]
    folded_text: str
    folded_title: str | None

    @classmethod
    def of(cls, m: EnrichedMention) -> Facts:
        """The facts of ``m`` every rule needs."""
        loc = m.locality
        wards = {p.ward_code for p in loc.places if p.ward_code}
        return cls(
            mention=m,
            councils=frozenset({loc.council.code} if loc.council else ()),
            wards=frozenset(wards | ({loc.ward.code} if loc.ward else set())),
            areas=_folded(loc.community_areas),
            sources=frozenset({m.source.kind, m.source.instance}),
            topics=frozenset(t.id for t in m.topics),
            folded_text=fold(m.text),
            folded_title=fold(m.title) if m.title else None,
        )

    def find(self, matcher: PhraseMatcher[str]) -> tuple[list[Hit[str]], list[Hit[str]]]:
        """``matcher``'s hits in the text and in the title."""
        m = self.mention
        in_title = matcher.find(m.title, self.folded_title) if m.title else []
        return matcher.find(m.text, self.folded_text), in_title

    def place_spans(
        self, keep: Callable[[str, str | None, str | None, str], bool]
    ) -> tuple[Span, ...]:
        """Spans of the places ``keep(kind, council_code, ward_code, name)`` selects."""
        text = self.mention.text
        return tuple(
            Span(start=p.start, end=p.end, text=text[p.start : p.end])
            for p in self.mention.locality.places
            if p.end <= len(text) and keep(p.kind, p.council_code, p.ward_code, p.name)
        )


@dataclass(frozen=True)
class Exclusion:
    """A rule's ``exclude`` clauses, as sets and one automaton."""

    councils: frozenset[str]
    wards: frozenset[str]
    areas: frozenset[str]
    sources: frozenset[str]
    topics: frozenset[str]
    languages: frozenset[str]
    phrases: PhraseMatcher[str] | None

    @classmethod
    def build(cls, rule: Rule) -> Exclusion:
        x = rule.exclude
        return cls(
            frozenset(x.councils),
            frozenset(x.wards),
            _folded(x.community_areas),
            frozenset(x.sources),
            frozenset(x.topics),
            frozenset(x.languages),
            _matcher(x.phrases),
        )

    def matches(self, f: Facts) -> bool:
        """True when any clause matches."""
        if (
            f.councils & self.councils
            or f.wards & self.wards
            or f.areas & self.areas
            or f.sources & self.sources
            or f.topics & self.topics
            or f.mention.language.code in self.languages
        ):
            return True
        if self.phrases is None:
            return False
        in_text, in_title = f.find(self.phrases)
        return bool(in_text or in_title)


@dataclass(frozen=True)
class CompiledRule:
    """A rule with its phrase automata built and its council scope resolved."""

    rule: Rule
    department: Department
    councils: frozenset[str]
    include: PhraseMatcher[str] | None
    exclude: Exclusion
    topics_any: frozenset[str]
    topics_all: frozenset[str]

    @classmethod
    def build(cls, rule: Rule, department: Department) -> CompiledRule:
        """Compile ``rule``; a department's council scopes rules that name no councils."""
        councils = rule.councils or ((department.council,) if department.council else ())
        return cls(
            rule,
            department,
            frozenset(councils),
            _matcher(rule.phrases),
            Exclusion.build(rule),
            frozenset(rule.topics.any if rule.topics else ()),
            frozenset(rule.topics.all if rule.topics else ()),
        )

    def could_match(self, f: Facts) -> bool:
        """False when a council or topic clause already rules the mention out (most rules)."""
        return (
            (not self.councils or not self.councils.isdisjoint(f.councils))
            and (not self.topics_any or not self.topics_any.isdisjoint(f.topics))
            and self.topics_all <= f.topics
        )

    def reasons(self, facts: Facts) -> tuple[Reason, ...] | None:
        """Why the rule matches, one Reason per stated clause; None when it does not match."""
        if not self.could_match(facts):
            return None
        out: list[Reason] = []
        # Cheap set checks first, the text scans last.
        for check in (
            self._sources,
            self._languages,
            self._councils,
            self._wards,
            self._community_areas,
            self._confidence,
            self._sentiment,
            self._topics_any,
            self._topics_all,
            self._phrases,
        ):
            outcome = check(facts)
            if outcome is None:
                return None
            if isinstance(outcome, Reason):
                out.append(outcome)
        if self.exclude.matches(facts):
            return None
        return tuple(sorted(out, key=lambda r: CLAUSE_ORDER.index(r.clause)))

    def _sources(self, f: Facts) -> Outcome:
        if not self.rule.sources:
            return True
        hit = sorted(f.sources & set(self.rule.sources))
        return Reason(clause="sources", detail=", ".join(hit)) if hit else None

    def _languages(self, f: Facts) -> Outcome:
        if not self.rule.languages:
            return True
        code = f.mention.language.code
        return Reason(clause="languages", detail=code) if code in self.rule.languages else None

    def _councils(self, f: Facts) -> Outcome:
        if not self.councils:
            return True
        hit = sorted(f.councils & self.councils)
        if not hit:
            return None
        council = f.mention.locality.council
        name = council.name if council else ""
        scope = "" if self.rule.councils else " (the department's council)"
        spans = f.place_spans(lambda kind, c, w, n: kind == "council" and c == hit[0])
        return Reason(clause="councils", detail=f"{hit[0]} {name}{scope}", spans=spans)

    def _wards(self, f: Facts) -> Outcome:
        if not self.rule.wards:
            return True
        hit = sorted(f.wards & set(self.rule.wards))
        if not hit:
            return None
        ward = f.mention.locality.ward
        name = f" {ward.name}" if ward and ward.code == hit[0] else ""
        spans = f.place_spans(lambda kind, c, w, n: w == hit[0])
        return Reason(clause="wards", detail=f"{hit[0]}{name}", spans=spans)

    def _community_areas(self, f: Facts) -> Outcome:
        if not self.rule.community_areas:
            return True
        wanted = _folded(self.rule.community_areas)
        hit = [a for a in f.mention.locality.community_areas if fold(a.strip()) in wanted]
        if not hit:
            return None
        spans = f.place_spans(lambda kind, c, w, n: kind == "community_area" and fold(n) in wanted)
        return Reason(clause="community_areas", detail=", ".join(hit), spans=spans)

    def _confidence(self, f: Facts) -> Outcome:
        least = self.rule.min_locality_confidence
        if least is None:
            return True
        have = f.mention.locality.confidence
        if have < least:
            return None
        return Reason(clause="locality.confidence", detail=f"{have:.2f} >= {least:.2f}")

    def _sentiment(self, f: Facts) -> Outcome:
        clause = self.rule.sentiment
        if clause is None:
            return True
        s = f.mention.sentiment
        if s is None:
            if not clause.include_unscored:
                return None
            why = f.mention.sentiment_skipped or "skipped"
            return Reason(clause="sentiment", detail=f"not scored ({why}); rule accepts that")
        if s.label not in clause.labels or s.score < clause.min_score:
            return None
        if clause.skip_mixed and s.mixed:
            return None
        return Reason(
            clause="sentiment", detail=f"{s.label} {s.score:.2f} >= {clause.min_score:.2f}"
        )

    def _topic_reason(
        self, f: Facts, clause: str, wanted: Sequence[str], need_all: bool
    ) -> Outcome:
        if not wanted:
            return True
        hit = [t for t in wanted if t in f.topics]
        if not hit or (need_all and len(hit) < len(wanted)):
            return None
        spans = tuple(s for t in f.mention.topics if t.id in hit for s in t.spans)
        return Reason(clause=clause, detail=", ".join(hit), spans=spans)

    def _topics_any(self, f: Facts) -> Outcome:
        topics = self.rule.topics
        return self._topic_reason(f, "topics.any", topics.any if topics else (), need_all=False)

    def _topics_all(self, f: Facts) -> Outcome:
        topics = self.rule.topics
        return self._topic_reason(f, "topics.all", topics.all if topics else (), need_all=True)

    def _phrases(self, f: Facts) -> Outcome:
        """Phrases in the text (with spans) or the title (named only: spans index the text)."""
        if self.include is None:
            return True
        m = f.mention
        hits, in_title = f.find(self.include)
        found = [f'"{h.payload}"' for h in hits]
        found += [f'"{h.payload}" (title)' for h in in_title]
        if not found:
            return None
        spans = tuple(Span(start=h.start, end=h.end, text=m.text[h.start : h.end]) for h in hits)
        return Reason(clause="phrases", detail=", ".join(dict.fromkeys(found)), spans=spans)


def snapshot(m: EnrichedMention) -> MentionSnapshot:
    """What the notifier needs to write about ``m``, frozen at routing time."""
    return MentionSnapshot(
        mention_id=m.mention_id,
        source_kind=m.source.kind,
        source_instance=m.source.instance,
        url=m.source.url,
        title=m.title,
        text=m.text[:SNAPSHOT_TEXT_MAX],
        created_at=m.created_at,
        edited_at=m.edited_at,
        sentiment_label=m.sentiment.label if m.sentiment else None,
        sentiment_score=m.sentiment.score if m.sentiment else None,
        council=m.locality.council,
        ward=m.locality.ward,
        places=tuple(dict.fromkeys(p.name for p in m.locality.places)),
        topics=tuple(t.id for t in m.topics),
        near_boundary=m.locality.near_boundary,
    )


class RuleEngine:
    """Compiled rules of one config version; :meth:`route` is pure."""

    def __init__(self, config: RoutingConfig) -> None:
        self.config = config
        self.rules: tuple[CompiledRule, ...] = tuple(
            CompiledRule.build(rule, dept)
            for rule in config.rules
            if rule.enabled and (dept := config.department(rule.department)) is not None
        )

    def route(self, mention: EnrichedMention, now: datetime) -> tuple[Alert, ...]:
        """One Alert per department whose first matching rule (file order) matches ``mention``."""
        facts = Facts.of(mention)
        alerts: list[Alert] = []
        served: set[str] = set()
        for compiled in self.rules:
            if compiled.department.id in served:
                continue
            reasons = compiled.reasons(facts)
            if reasons is None:
                continue
            served.add(compiled.department.id)
            alerts.append(_alert(mention, compiled, reasons, now))
        return tuple(alerts)


def _alert(
    m: EnrichedMention, compiled: CompiledRule, reasons: tuple[Reason, ...], now: datetime
) -> Alert:
    notes = [NEAR_BOUNDARY_NOTE] if m.locality.near_boundary else []
    if m.duplicate_of:
        notes.append(f"Same content as mention {m.duplicate_of}, heard earlier; alerted once.")
    return Alert(
        alert_id=alert_id(m.duplicate_of or m.mention_id, compiled.rule.id),
        kind="rule",
        rule_id=compiled.rule.id,
        department=compiled.department.id,
        severity=compiled.rule.severity,
        delivery=compiled.rule.delivery,
        reasons=reasons,
        notes=tuple(notes),
        created_at=now,
        mention=snapshot(m),
    )
