"""Starter departments and routing rules for a newly onboarded council, added to departments.yaml.

The same six teams Haringey and Monmouthshire start from (highways, waste, parks,
libraries, housing, emergencies), with placeholder addresses on the reserved
``.example`` domain, each department's own Kibana space link, and rules from
specific (immediate) to general (digest). Welsh councils' rules also take Welsh
posts, which are not sentiment-scored. The text is inserted at the end of the
``departments:`` and ``rules:`` lists; nothing already in the file is rewritten,
and a council that already has a department is left alone (its rules are people's).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from common.routing.load import load_routing, taxonomy_topics
from common.yamlconfig import ConfigError
from services.kibana.views import SpaceViews, links

# (id suffix, team name, topics owned, digest, quiet hours)
TEAMS: tuple[tuple[str, str, tuple[str, ...], str, str], ...] = (
    (
        "highways",
        "Highways and Transport",
        ("highways", "transport"),
        "{every: daily, at: '08:00'}",
        "{start: '20:00', end: '07:00', allow: [critical, high]}",
    ),
    (
        "waste",
        "Waste and Street Cleansing",
        ("waste",),
        "{every: hourly, minute: 5}",
        "{start: '19:00', end: '07:00'}",
    ),
    (
        "parks",
        "Parks and Open Spaces",
        ("parks",),
        "{every: daily, at: '09:00'}",
        "{start: '19:00', end: '08:00', allow: [critical]}",
    ),
    (
        "libraries",
        "Libraries and Community Hubs",
        ("libraries",),
        "{every: daily, at: '10:00'}",
        "{start: '18:00', end: '09:00', allow: [critical]}",
    ),
    (
        "housing",
        "Housing Services",
        ("housing",),
        "{every: daily, at: '08:00'}",
        "{start: '20:00', end: '07:30', allow: [critical]}",
    ),
    (
        "emergencies",
        "Emergency Planning",
        ("emergencies",),
        "{every: hourly, minute: 0}",
        "{start: '23:00', end: '06:00', allow: [critical, high]}",
    ),
)


def _kibana_link(dept_id: str) -> str:
    """The department space's saved-search link, exactly as ``earshot kibana generate`` writes it."""
    return links([SpaceViews(dept_id, None, [], None)])[dept_id]["kibana_link"]


def _departments(code: str, slug: str, name: str) -> str:
    out = [
        f"\n  # ---------------------------------------------------------------- {name}, {code}\n"
    ]
    out.append(
        "  # Starter teams from `earshot council add`: replace the addresses with the teams' mailboxes.\n"
    )
    for suffix, team, topics, digest, quiet in TEAMS:
        dept = f"{slug}-{suffix}"
        out.append(
            f"  - id: {dept}\n"
            f"    name: {team} ({name})\n"
            f"    council: {code}\n"
            f"    addresses: [{suffix}.alerts@{slug}.example]\n"
            f"    owns_topics: [{', '.join(topics)}]\n"
            f"    digest: {digest}\n"
            f"    quiet_hours: {quiet}\n"
            f'    kibana_link: "{_kibana_link(dept)}"\n'
        )
    return "".join(out)


def _rules(code: str, slug: str, name: str, welsh: bool) -> str:
    lang = "    languages: [en, cy]\n" if welsh else ""
    unscored = ", include_unscored: true" if welsh else ""
    rules = [
        (
            "emergencies.incident",
            "emergencies",
            "critical",
            "immediate",
            "Fires, floods, collapses and power cuts reported in the area.",
            "    topics: {any: [emergencies]}\n    min_locality_confidence: 0.3\n    exclude:\n      phrases: [fire drill, fire alarm test, flood risk assessment, bonfire night, fireworks display]\n",
        ),
        (
            "highways.defects",
            "highways",
            "medium",
            "immediate",
            "Residents reporting road, pavement or street-light defects.",
            f"    topics: {{any: [highways]}}\n{lang}    sentiment: {{labels: [negative, neutral]{unscored}}}\n    min_locality_confidence: 0.3\n    exclude:\n      phrases: [thank you, thanks, well done, fixed, resurfacing starts]\n",
        ),
        (
            "highways.all",
            "highways",
            "low",
            "digest",
            "",
            "    topics: {any: [highways, transport]}\n",
        ),
        (
            "waste.flytipping",
            "waste",
            "medium",
            "immediate",
            "Fly-tipping reports; crews can clear them the same day.",
            f"    phrases: [fly-tipping, fly tipping, flytipping, fly-tipped, dumped rubbish, dumped mattress]\n    sentiment: {{labels: [negative, neutral]{unscored}}}\n    exclude:\n      phrases: [fined, cleared within, clean-up]\n",
        ),
        ("waste.all", "waste", "low", "digest", "", "    topics: {any: [waste]}\n"),
        (
            "parks.safety",
            "parks",
            "high",
            "immediate",
            "Hazards in parks and play areas.",
            "    topics: {any: [parks]}\n    phrases: [broken glass, needles, syringe, fenced off, unsafe, dangerous, vandalised, fallen tree]\n",
        ),
        ("parks.all", "parks", "low", "digest", "", "    topics: {any: [parks]}\n"),
        ("libraries.all", "libraries", "low", "digest", "", "    topics: {any: [libraries]}\n"),
        (
            "housing.disrepair",
            "housing",
            "high",
            "immediate",
            "Damp, mould, leaks and no heating or hot water in council homes.",
            "    topics: {any: [housing]}\n    phrases: [damp, mould, mold, leak, leaking, no heating, no hot water, boiler, broken lift]\n    sentiment: {labels: [negative, neutral], include_unscored: true}\n",
        ),
        ("housing.all", "housing", "low", "digest", "", "    topics: {any: [housing]}\n"),
    ]
    out = [
        f"\n  # ================================================================ {name} (starter rules)\n"
    ]
    for rule_id, team, severity, delivery, description, body in rules:
        out.append(f"  - id: {slug}.{rule_id}\n")
        if description:
            out.append(f"    description: {description}\n")
        out.append(
            f"    department: {slug}-{team}\n    severity: {severity}\n    delivery: {delivery}\n{body}"
        )
    return "".join(out)


def _end_line(lines: list[str], node: yaml.Node) -> int:
    """Line index just after a block sequence's last item."""
    last = (
        node.value[-1].end_mark
        if isinstance(node, yaml.SequenceNode) and node.value
        else node.end_mark
    )
    return last.line if last.column == 0 else last.line + 1


def add_starter_departments(path: Path, code: str, slug: str, name: str, welsh: bool) -> list[str]:
    """Insert the starter teams and rules for ``code``; return the department ids added.

    Returns [] (and changes nothing) when the file already has a department of that
    council. Raises :class:`ConfigError` if the result would not load.
    """
    text = path.read_text(encoding="utf-8")
    config = load_routing(path, taxonomy_topics(path.parent))
    if any(d.council == code for d in config.departments):
        return []
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    top = {k.value: v for k, v in root.value} if isinstance(root, yaml.MappingNode) else {}
    if not isinstance(top.get("departments"), yaml.SequenceNode):
        raise ConfigError(path, None, "departments", "expected a list of departments")
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    inserts = [(_end_line(lines, top["departments"]), _departments(code, slug, name))]
    rules = top.get("rules")
    if rules is None:
        inserts.append((len(lines), "rules:" + _rules(code, slug, name, welsh)))
    elif isinstance(rules, yaml.SequenceNode) and rules.value and not rules.flow_style:
        inserts.append((_end_line(lines, rules), _rules(code, slug, name, welsh)))
    else:
        raise ConfigError(path, rules.start_mark.line + 1, "rules", "write rules as a block list")
    for row, block in sorted(inserts, reverse=True):
        lines[row:row] = [block]
    candidate = path.with_name(f".{path.name}.new")
    candidate.write_text("".join(lines), encoding="utf-8")
    try:
        load_routing(candidate, taxonomy_topics(path.parent))
    except ConfigError:
        candidate.unlink()
        raise
    candidate.replace(path)
    return [f"{slug}-{suffix}" for suffix, *_ in TEAMS]
