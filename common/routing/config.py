"""Schema of ``deploy/config/departments.yaml``: departments, routing rules, spike thresholds.

Councils edit this file, so every model forbids unknown keys (a typo is an
error, not a silently ignored clause). Rule semantics, stated once here:

* every clause a rule states must match (AND); inside a clause any listed value
  may match (OR), except ``topics.all``;
* a clause left out does not constrain; a rule must state ``topics`` or ``phrases``;
* any ``exclude`` clause that matches vetoes the rule;
* a rule of a department that has a ``council`` only sees that council's
  mentions, unless it names councils itself;
* per department, the first matching rule in file order wins (one email per
  department per mention), so specific rules go before general ones.
"""

from __future__ import annotations

from datetime import time
from string import Formatter
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from schemas.models import Delivery, SentimentLabel, Severity

Id = Annotated[str, Field(pattern=r"^[a-z0-9_-]+$", max_length=64)]
RuleId = Annotated[str, Field(pattern=r"^[a-z0-9_.-]+$", max_length=120)]
AreaCode = Annotated[str, Field(pattern=r"^[EWSN]\d{8}$")]
Address = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
]
KIBANA_FIELDS = frozenset({"kibana", "query"})


def _clock_time(value: Any) -> Any:
    # YAML 1.1 reads an unquoted 22:00 as the base-60 number 1320: say how to write it.
    if isinstance(value, int):
        raise ValueError(
            "write clock times in quotes, e.g. '22:00' (unquoted, YAML reads a number)"
        )
    return value


ClockTime = Annotated[time, BeforeValidator(_clock_time)]


class Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DigestSchedule(Model):
    """When a department's digest goes out, in the config's local time zone."""

    every: Literal["hourly", "daily"]
    at: ClockTime = time(8, 0)
    """Daily digests: the local clock time."""
    minute: int = Field(default=0, ge=0, le=59)
    """Hourly digests: minutes past each hour."""


class QuietHours(Model):
    """No email goes out between ``start`` and ``end`` (local time) except ``allow`` severities.

    Immediate alerts that arrive then roll into the digest; a digest that falls due
    then waits for ``end``.
    """

    start: ClockTime
    end: ClockTime
    allow: tuple[Severity, ...] = ("critical",)

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet hours start and end at the same time")
        return self

    def contains(self, moment: time) -> bool:
        """True when the local clock time ``moment`` is inside the quiet hours."""
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class Throttle(Model):
    """At most ``max_immediate`` immediate emails per department in any ``window_minutes``."""

    max_immediate: int = Field(default=10, ge=1, le=10_000)
    window_minutes: int = Field(default=60, ge=1, le=24 * 60)


class Department(Model):
    """A team that receives alerts: where to email, when digests go, where its Kibana view is."""

    id: Id
    name: str = Field(min_length=1, max_length=120)
    council: AreaCode | None = None
    """ONS code of the council this team belongs to; its rules then only see that council."""
    addresses: tuple[Address, ...] = Field(min_length=1)
    owns_topics: tuple[Id, ...] = ()
    """Taxonomy topics this team owns in its council: spike alerts for them come here."""
    digest: DigestSchedule
    quiet_hours: QuietHours | None = None
    throttle: Throttle | None = None
    """Overrides the file's default throttle."""
    kibana_link: str = Field(min_length=1)
    """URL template; ``{kibana}`` is the Kibana base URL, ``{query}`` a URL-encoded KQL query."""

    @field_validator("kibana_link")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            fields = {f for _, f, _, _ in Formatter().parse(value) if f is not None}
        except ValueError as exc:
            raise ValueError(f"not a valid link template: {exc}") from exc
        unknown = fields - KIBANA_FIELDS
        if unknown:
            raise ValueError(
                f"unknown placeholder(s) {sorted(unknown)}; use {sorted(KIBANA_FIELDS)}"
            )
        if not value.startswith(("http://", "https://", "{kibana}")):
            raise ValueError("must start with http://, https:// or {kibana}")
        return value


class TopicsClause(Model):
    any: tuple[Id, ...] = ()
    all: tuple[Id, ...] = ()

    @model_validator(mode="after")
    def _something(self) -> TopicsClause:
        if not self.any and not self.all:
            raise ValueError("give topics.any or topics.all (or drop the topics clause)")
        return self


class SentimentClause(Model):
    labels: tuple[SentimentLabel, ...] = Field(min_length=1)
    min_score: float = Field(default=0.0, ge=0, le=1)
    """Confidence floor: the model's calibrated probability of the label must be at least this."""
    skip_mixed: bool = False
    """Do not match posts flagged mixed (praise and complaint in one post)."""
    include_unscored: bool = False
    """Also match mentions the sentiment model skipped (e.g. Welsh text)."""


class Exclusions(Model):
    """Any clause here that matches stops the rule from firing."""

    phrases: tuple[str, ...] = ()
    topics: tuple[Id, ...] = ()
    councils: tuple[AreaCode, ...] = ()
    wards: tuple[AreaCode, ...] = ()
    community_areas: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()


class Rule(Model):
    """One routing rule; see the module docstring for how clauses combine."""

    id: RuleId
    description: str = ""
    enabled: bool = True
    department: Id
    severity: Severity
    delivery: Delivery
    topics: TopicsClause | None = None
    phrases: tuple[str, ...] = ()
    councils: tuple[AreaCode, ...] = ()
    wards: tuple[AreaCode, ...] = ()
    community_areas: tuple[str, ...] = ()
    sentiment: SentimentClause | None = None
    sources: tuple[str, ...] = ()
    """Source kinds (``mastodon``, ``rss``…) or configured instance names."""
    languages: tuple[str, ...] = ()
    min_locality_confidence: float | None = Field(default=None, ge=0, le=1)
    exclude: Exclusions = Exclusions()

    @model_validator(mode="after")
    def _has_content_clause(self) -> Rule:
        if self.topics is None and not self.phrases:
            raise ValueError("a rule needs topics or phrases, or it would match every post")
        return self


class SpikeSettings(Model):
    """Thresholds of hourly spike alerts per (ward, topic); the method is in pipelines.steps.spikes."""

    enabled: bool = True
    baseline_hours: int = Field(default=168, ge=6, le=24 * 30)
    min_count: int = Field(default=5, ge=1)
    min_ratio: float = Field(default=3.0, ge=1)
    max_p_value: float = Field(default=0.001, gt=0, lt=1)
    min_baseline: float = Field(default=1.0, gt=0)
    min_locality_confidence: float = Field(default=0.5, ge=0, le=1)
    max_lateness_hours: float = Field(default=3.0, gt=0, le=48)
    severity: Severity = "high"
    delivery: Delivery = "immediate"


class RoutingConfig(Model):
    """The whole file."""

    version: Literal[1] = 1
    timezone: str = "Europe/London"
    kibana_base_url: str = Field(default="http://127.0.0.1:5601", pattern=r"^https?://")
    throttle: Throttle = Throttle()
    spikes: SpikeSettings = SpikeSettings()
    departments: tuple[Department, ...] = Field(min_length=1)
    rules: tuple[Rule, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The deployment's local time zone (digest times and quiet hours)."""
        return ZoneInfo(self.timezone)

    def department(self, department_id: str) -> Department | None:
        """The department with this id, or None."""
        return next((d for d in self.departments if d.id == department_id), None)

    def throttle_of(self, department: Department) -> Throttle:
        """The department's own throttle, or the file's default."""
        return department.throttle or self.throttle

    def owner_of(self, council: str, topic: str) -> Department | None:
        """The department of ``council`` that owns ``topic`` (spike alerts go there)."""
        owners = [d for d in self.departments if topic in d.owns_topics]
        exact = [d for d in owners if d.council == council]
        anywhere = [d for d in owners if d.council is None]
        found = exact or anywhere
        return found[0] if found else None
