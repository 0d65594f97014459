"""``earshot deadletters``: each dead-letter topic's count and its latest letters, with why."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from common.settings import KafkaSettings, load_settings
from services.deadletters.reader import Letter, TopicLetters, dlq_names, read_all


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="earshot deadletters", description=__doc__)
    p.add_argument("--latest", type=int, default=5, help="letters to show per topic (default 5)")
    p.add_argument("--topic", action="append", default=[], help="only this topic (repeatable)")
    p.add_argument("--json", action="store_true", help="one JSON document for scripts")
    return p


def _as_json(letter: Letter) -> dict[str, object]:
    out: dict[str, object] = {
        "topic": letter.topic,
        "partition": letter.partition,
        "offset": letter.offset,
    }
    if letter.letter is None:
        return {**out, "unreadable": letter.problem}
    d = letter.letter
    return {
        **out,
        "failed_at": d.failed_at.isoformat(),
        "origin": {
            "topic": d.original_topic,
            "partition": d.original_partition,
            "offset": d.original_offset,
            "source": d.source,
        },
        "stage": d.stage,
        "error": f"{d.error_class}: {d.error_message}",
        "excerpt": letter.excerpt(),
    }


def _describe(letter: Letter) -> list[str]:
    if letter.letter is None:
        return [f"  #{letter.partition}@{letter.offset}  (unreadable: {letter.problem})"]
    d = letter.letter
    origin = d.original_topic or d.source or "?"
    if d.original_partition is not None:
        origin += f"[{d.original_partition}]@{d.original_offset}"
    return [
        f"  {d.failed_at:%Y-%m-%d %H:%M:%S}Z  from {origin}  stage {d.stage}",
        f"    why: {d.error_class}: {d.error_message[:300]}",
        f"    was: {letter.excerpt()!r}",
    ]


def render(result: Sequence[TopicLetters]) -> str:
    """A table for people: count per topic, then its latest letters."""
    lines: list[str] = []
    for topic in result:
        lines.append(f"{topic.topic}: {topic.count} letter{'s' if topic.count != 1 else ''}")
        for letter in topic.latest:
            lines.extend(_describe(letter))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``earshot deadletters``."""
    args = _parser().parse_args(argv)
    settings = load_settings(KafkaSettings)
    topics = dlq_names(settings.topic_prefix)
    if args.topic:
        wanted = {
            settings.topic(t) if not t.startswith(settings.topic_prefix) else t for t in args.topic
        }
        unknown = sorted(wanted - set(topics))
        if unknown:
            _parser().error(
                f"not a dead-letter topic: {', '.join(unknown)}; known: {', '.join(topics)}"
            )
        topics = [t for t in topics if t in wanted]
    result = read_all(settings.kafka_bootstrap, topics, max(0, args.latest))
    if args.json:
        print(
            json.dumps(
                [
                    {"topic": t.topic, "count": t.count, "latest": [_as_json(x) for x in t.latest]}
                    for t in result
                ],
                indent=2,
            )
        )
    else:
        print(render(result))
    return 0
