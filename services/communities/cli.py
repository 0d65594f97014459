"""``earshot communities list|show|suggest|accept|reject|digest``: the communities that talk about a place.

``list`` and ``show`` read the community records the pipelines worker keeps in
``<prefix>-communities`` (only spaces with at least k distinct authors this week
exist there). ``suggest`` lists those worth following that ``sources.yaml`` does
not follow yet and the register did not reject, with their evidence; ``accept``
adds one to ``sources.yaml`` (comments kept, validated against the ingestion
schema) and ``reject`` records the decision in ``communities.yaml``. ``digest``
sends (or prints) each department's weekly communities email.
Exit codes: 0 done, 1 nothing found or refused, 2 bad config or arguments.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from common.communities import CommunitiesFile, Space, checked, load_communities
from common.elastic import es_client
from common.routing.load import load_routing
from common.settings import load_settings
from common.yamlconfig import ConfigError, Lines, Loaded, validate_data
from common.yamledit import append_item, edit_file
from services.communities.digest import run_digest
from services.communities.settings import CommunitiesSettings
from services.communities.sources import accept, load_sources_file
from services.communities.store import CommunityStore, Doc, Filters
from services.search.render import table


def load_register(settings: CommunitiesSettings) -> CommunitiesFile:
    """The register, with its departments checked against the departments file."""
    departments = frozenset(d.id for d in load_routing(settings.departments_file).departments)
    return load_communities(settings.communities_file, departments).value


def _flags(doc: Doc) -> str:
    foot = doc["footprint"]
    flags = [
        "new" if doc["new_this_week"] else "",
        "growing" if doc["growing"] else "",
        "crosses-councils" if foot["crosses_councils"] else "",
        "crosses-wards" if foot["crosses_wards"] and not foot["crosses_councils"] else "",
    ]
    return ",".join(f for f in flags if f) or "-"


def _wards(doc: Doc, n: int = 3) -> str:
    wards = doc["footprint"]["wards"][:n]
    return ", ".join(f"{w['name']} {w['share']:.0%}" for w in wards) or "not located"


def render_list(docs: Sequence[Doc], width: int) -> str:
    """One line per community, biggest first."""
    if not docs:
        return "no communities match (a space needs k distinct authors this week)"
    rows = [
        [
            d["key"],
            str(d["week"]["mentions"]),
            str(d["week"]["authors"]),
            d["purpose"]["label"],
            (d.get("register") or {}).get("stage", "-"),
            _flags(d),
            _wards(d),
        ]
        for d in docs
    ]
    headers = ["community", "mentions/7d", "authors/7d", "purpose", "stage", "flags", "wards"]
    return table(headers, rows, width) + f"\n{len(docs)} communities"


def render_show(doc: Doc) -> str:
    """Everything known about one community, as text."""
    foot, sent, reg = doc["footprint"], doc["sentiment"], doc.get("register")
    lines = [
        f"{doc['label']}  [{doc['key']}]",
        f"  purpose:    {doc['purpose']['summary']} ({doc['purpose']['label']})",
        f"  this week:  {doc['week']['mentions']} mentions by {doc['week']['authors']} authors; "
        f"today {doc['day']['mentions']}; usual week {doc['baseline_week_mentions']}; "
        f"growth x{doc['growth']}{' (growing)' if doc['growing'] else ''}"
        f"{' (new this week)' if doc['new_this_week'] else ''}",
        f"  seen:       {doc['first_seen'][:16]} to {doc['last_seen'][:16]} (UTC)",
        f"  sentiment:  {sent['negative']} negative, {sent['neutral']} neutral, "
        f"{sent['positive']} positive, {sent['unscored']} unscored"
        + (f"; negative share shift {sent['shift']:+.2f}" if sent["shift"] is not None else ""),
        "  topics:     "
        + (", ".join(f"{t['label']} {t['share']:.0%}" for t in doc["topics"]) or "none"),
        f"  phrases:    {', '.join(doc['phrases']) or 'none'}",
        "  councils:   "
        + (", ".join(f"{c['name']} {c['share']:.0%}" for c in foot["councils"]) or "none"),
        f"  wards:      {_wards(doc, 10)}",
        f"  footprint:  {foot['ward_count']} wards, {foot['council_count']} councils"
        + (" — crosses ward lines" if foot["crosses_wards"] else "")
        + (" — crosses council lines" if foot["crosses_councils"] else ""),
        "  alongside:  "
        + (
            ", ".join(f"{a['key']} ({a['mentions']})" for a in doc["alongside"])
            or "nothing followed"
        ),
        "  register:   "
        + (f"{reg['department']}, {reg['stage']}: {reg['note']}" if reg else "not in the register"),
    ]
    return "\n".join(lines)


def render_suggestions(docs: Sequence[Doc], width: int) -> str:
    """Suggestions, best first, each with its evidence."""
    if not docs:
        return "no suggestions: every community worth following is followed or rejected"
    rows = [
        [
            d["key"],
            f"{d['suggestion_score']:.2f}",
            str(d["week"]["mentions"]),
            str(d["week"]["authors"]),
            ", ".join(a["key"] for a in d["alongside"][:2]) or "-",
            _wards(d),
        ]
        for d in docs
    ]
    headers = ["suggestion", "score", "mentions/7d", "authors/7d", "alongside", "wards"]
    return (
        table(headers, rows, width)
        + "\naccept: earshot communities accept <key>   reject: earshot communities reject <key>"
    )


def reject(path: Path, key: str, note: str, today: date) -> None:
    """Record ``key`` as rejected in the register (comments kept, validated before writing)."""

    def check(data: Any, lines: Lines) -> None:
        checked(Loaded(validate_data(data, lines, CommunitiesFile, path), path, lines))

    if not path.exists():
        path.write_text("version: 1\nrejected: []\n", encoding="utf-8")
    item = {"community": key, "on": today.isoformat(), "note": note}
    edit_file(path, lambda text: append_item(text, (), "rejected", item), check)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="earshot communities", description=__doc__)
    sub = p.add_subparsers(dest="action", required=True)
    ls = sub.add_parser("list", help="communities by council, ward, topic, stage, new, growing")
    sug = sub.add_parser("suggest", help="spaces worth following, with their evidence")
    for q in (ls, sug):
        q.add_argument("--council", help="council code or name")
        q.add_argument("--ward", help="ward code or name")
        q.add_argument("--topic", help="taxonomy topic id")
        q.add_argument("--kind", help="subreddit, hashtag, site, feed, instance, list, form")
        q.add_argument("--json", action="store_true", help="JSON lines for scripts")
    ls.add_argument("--stage", help="identified, participating, engaged, nurtured")
    ls.add_argument("--department", help="department that owns the relationship")
    ls.add_argument("--new", action="store_true", help="first seen this week")
    ls.add_argument("--growing", action="store_true", help="growing against its usual week")
    show = sub.add_parser("show", help="one community in full")
    show.add_argument("key")
    show.add_argument("--json", action="store_true")
    acc = sub.add_parser("accept", help="add a suggestion to sources.yaml")
    acc.add_argument("key")
    acc.add_argument("--instance", help="source instance to add it to (default: the first)")
    acc.add_argument("--feed", help="a website's RSS/Atom feed URL (websites only)")
    rej = sub.add_parser("reject", help="never suggest this community again")
    rej.add_argument("key")
    rej.add_argument("--note", default="", help="why (kept in communities.yaml)")
    dig = sub.add_parser("digest", help="the weekly communities email of each department")
    dig.add_argument("--department", help="only this department")
    dig.add_argument("--dry-run", action="store_true", help="print the emails, send nothing")
    return p


def _filters(args: argparse.Namespace) -> Filters:
    return Filters(
        council=args.council,
        ward=args.ward,
        topic=args.topic,
        kind=args.kind,
        stage=getattr(args, "stage", None),
        department=getattr(args, "department", None),
        new=getattr(args, "new", False),
        growing=getattr(args, "growing", False),
    )


def _print_docs(docs: Sequence[Doc]) -> None:
    for doc in docs:
        print(json.dumps(doc, sort_keys=True, ensure_ascii=False))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``earshot communities``."""
    args = _parser().parse_args(argv)
    settings = load_settings(CommunitiesSettings)
    width = shutil.get_terminal_size((120, 20)).columns
    try:
        key = Space.parse(args.key).key if hasattr(args, "key") else None
        if args.action == "reject":
            reject(settings.communities_file, str(key), args.note, datetime.now(UTC).date())
            print(f"rejected {key}: recorded in {settings.communities_file}")
            return 0
        if args.action == "accept":
            added = accept(settings.sources_file, Space.parse(str(key)), args.instance, args.feed)
            print(f"{settings.sources_file}: {added}")
            print("the ingestion services pick it up on reload (file change or SIGHUP)")
            return 0
        register = load_register(settings)
        if args.action == "digest":
            return run_digest(settings, register, args.department, args.dry_run)
        es = es_client(settings)
        try:
            store = CommunityStore(es, settings.index_prefix)
            return _read(args, settings, store, register, width)
        finally:
            es.close()
    except ConfigError as exc:
        print(f"earshot communities: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"earshot communities: {exc}", file=sys.stderr)
        return 1


def _read(
    args: argparse.Namespace,
    settings: CommunitiesSettings,
    store: CommunityStore,
    register: CommunitiesFile,
    width: int,
) -> int:
    if args.action == "show":
        doc = store.get(args.key)
        if doc is None:
            print(f"no community {args.key} (unknown, or fewer than k authors this week)")
            return 1
        print(json.dumps(doc, indent=2, ensure_ascii=False) if args.json else render_show(doc))
        return 0
    if args.action == "list":
        docs = store.matching(_filters(args))
        _print_docs(docs) if args.json else print(render_list(docs, width))
        return 0
    sources = load_sources_file(settings.sources_file)
    docs = store.suggestions(sources, register, _filters(args))
    _print_docs(docs) if args.json else print(render_suggestions(docs, width))
    return 0
