"""``earshot search``: the mentions index from a terminal, with the Kibana views' own filters.

Filters combine (AND); repeating one (``--ward A --ward B``) means either.
``--department`` applies exactly the scope of that department's Kibana space,
and ``--stats`` answers the dashboard's questions (volume by sentiment, top
wards, top topics) instead of listing mentions. ``--json`` prints one JSON
document for scripts; the default is a table for people.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from elasticsearch import NotFoundError

from common.elastic import alias, es_client
from common.settings import load_settings
from common.yamlconfig import ConfigError
from services.search.filters import SENTIMENT_LABELS, UNSCORED, SearchFilters, build_query
from services.search.questions import TIME_FIELD, histogram_interval, stats_aggregations
from services.search.render import render_stats, render_table
from services.search.settings import ViewsSettings, load_departments

_RELATIVE = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(value: str, now: datetime | None = None) -> datetime:
    """ISO date or datetime (UTC unless it says otherwise), or a span back from now: 30m, 24h, 7d, 2w."""
    now = now or datetime.now(UTC)
    relative = _RELATIVE.match(value.strip())
    if relative:
        return now - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"not a time: {value!r} (use 2026-11-20, 2026-11-20T08:00, or 7d)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="earshot search", description=__doc__)
    p.add_argument("text", nargs="*", help='free text: words, "a phrase", -excluded')
    p.add_argument("--department", help="a department id: that department's Kibana scope")
    p.add_argument("--council", action="append", default=[], help="ONS code or name")
    p.add_argument("--ward", action="append", default=[], help="ONS code or name")
    p.add_argument("--topic", action="append", default=[], help="topic id (topics.yaml)")
    p.add_argument(
        "--sentiment", action="append", default=[], choices=[*SENTIMENT_LABELS, UNSCORED]
    )
    p.add_argument("--source", action="append", default=[], help="source kind or instance name")
    p.add_argument("--since", type=parse_time, help="from this time (inclusive), e.g. 7d")
    p.add_argument("--until", type=parse_time, help="up to this time (exclusive)")
    p.add_argument("--limit", type=int, default=20, help="mentions to list (default 20)")
    p.add_argument("--stats", action="store_true", help="volume by sentiment, top wards and topics")
    p.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    return p


def filters_from(args: argparse.Namespace) -> SearchFilters:
    return SearchFilters(
        department=args.department,
        councils=tuple(args.council),
        wards=tuple(args.ward),
        topics=tuple(args.topic),
        sentiments=tuple(args.sentiment),
        sources=tuple(args.source),
        since=args.since,
        until=args.until,
        text=" ".join(args.text) or None,
    )


def run(client: Any, index: str, query: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Run the search (or the stats aggregations); returns the JSON document the CLI prints."""
    if args.stats:
        interval = histogram_interval(args.since, args.until or datetime.now(UTC))
        found = client.search(
            index=index,
            query=query,
            size=0,
            aggs=stats_aggregations(interval),
            track_total_hits=True,
        )
        aggs = found["aggregations"]
        return {
            "total": found["hits"]["total"]["value"],
            "interval": interval,
            "volume": [
                {
                    "from": b["key_as_string"],
                    "counts": {s["key"]: s["doc_count"] for s in b["sentiment"]["buckets"]},
                }
                for b in aggs["volume"]["buckets"]
            ],
            "wards": [{"key": b["key"], "count": b["doc_count"]} for b in aggs["wards"]["buckets"]],
            "topics": [
                {"key": b["key"], "count": b["doc_count"]} for b in aggs["topics"]["buckets"]
            ],
        }
    found = client.search(
        index=index,
        query=query,
        size=max(0, args.limit),
        sort=[{TIME_FIELD: "desc"}, {"mention_id": "asc"}],
        track_total_hits=True,
    )
    return {
        "total": found["hits"]["total"]["value"],
        "mentions": [hit["_source"] for hit in found["hits"]["hits"]],
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``earshot search``."""
    args = _parser().parse_args(argv)
    settings = load_settings(ViewsSettings)
    try:
        config = load_departments(settings) if args.department else None
        query = build_query(filters_from(args), config)
    except (ConfigError, KeyError) as exc:
        print(f"earshot search: {exc}", file=sys.stderr)
        return 2
    client = es_client(settings)
    try:
        result = run(client, alias(settings.index_prefix, "mentions"), query, args)
    except NotFoundError:
        print("earshot search: no mentions index yet (nothing indexed)", file=sys.stderr)
        result = {"total": 0, "mentions": []} if not args.stats else {"total": 0}
    finally:
        client.close()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, sort_keys=True))
    elif args.stats:
        print(render_stats(result))
    else:
        print(render_table(result, shutil.get_terminal_size((120, 24)).columns))
    return 0
