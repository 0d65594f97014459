"""Faust's box tables in one log line each.

On every rebalance Faust logs the assigned partitions and the changelog offsets as
box-drawn tables, a dozen lines or more each: a broker restart that makes the worker
rejoin wrote ~75 lines, nearly all of them table borders and rows. :class:`OneLineTables`
keeps every row and writes each table on one line instead::

    Setting newly assigned partitions [Topic Partition Set (topic | partitions):
    raw.v1 | {0-3}; alerts.v1 | {0-3}] for group earshot-pipelines

Messages without a table pass unchanged.
"""

from __future__ import annotations

import logging
import re

_BORDER = re.compile(r"^\+(?P<title>.*?)(?:-{3,}|\+)[-+]*(?P<tail>.*)$")


def one_line(text: str) -> str:
    """``text`` with each box table folded to ``[title (header): row; row]`` on one line."""
    out: list[str] = []
    title: str | None = None
    rows: list[str] = []
    separated = False  # the border under the header row has been seen
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("+"):
            border = _BORDER.match(line)
            name = border.group("title").strip() if border else ""
            tail = border.group("tail").strip() if border else ""
            if name:  # top border: a table starts
                title, rows, separated = name, [], False
            elif title is not None and not separated and len(rows) == 1:
                separated = True
            elif title is not None:  # bottom border: the table ends
                header, body = (rows[0], rows[1:]) if rows else ("", [])
                out.append(f"[{title} ({header}): {'; '.join(body)}]")
                title = None
            if tail:
                out.append(tail)
        elif line.startswith("|") and title is not None:
            rows.append(" | ".join(cell.strip() for cell in line.strip("|").split("|")))
        elif line:
            out.append(line)
    if title is not None:  # a table without its bottom border: keep what it had
        out.append(f"[{title}: {'; '.join(rows)}]")
    return " ".join(out)


class OneLineTables(logging.Filter):
    """A handler filter that rewrites records holding box tables as one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "\n+" in message:
            record.msg, record.args = one_line(message), ()
        return True
