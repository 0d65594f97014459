"""Small edits to a YAML file people also edit by hand: add one item to a list, keep every comment.

PyYAML cannot write a file back with its comments, so edits are made to the text,
guided by the line numbers :func:`common.yamlconfig.parse_with_lines` gives each
key. The result is parsed and validated before it is written (atomically), so an
edit can never leave a broken file behind.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from common.yamlconfig import ConfigError, Lines, parse_with_lines

Path_ = tuple[str | int, ...]


def flow(value: Any) -> str:
    """``value`` as one line of YAML (quoted where YAML needs it: ``'#tag'``)."""
    text: str = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    return text.removesuffix("\n...").strip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _key_column(line: str, key: str) -> int:
    found = re.search(rf"(^|[\s-]){re.escape(key)}\s*:", line)
    if found is None:
        raise ValueError(f"cannot find {key!r} on line {line!r}")
    return found.start() + (1 if found.group(1) else 0)


def _key_row(rows: list[str], row: int, key: str) -> int:
    """The row of ``key:`` (the parser gives the row of its value, which for a block
    list is the first item's)."""
    pattern = re.compile(rf"(^|[\s-]){re.escape(key)}\s*:")
    for i in range(row, -1, -1):
        if pattern.search(rows[i].split(" #", 1)[0]):
            return i
    raise ValueError(f"cannot find {key!r} above line {row + 1}")


def _end_of_block(text_lines: list[str], start: int, indent: int) -> int:
    """Index of the last content line of the block that starts at ``start`` (0-based)."""
    last = start
    for i in range(start + 1, len(text_lines)):
        line = text_lines[i]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if _indent(line) <= indent:
            break
        last = i
    return last


def append_item(text: str, at: Path_, key: str, item: Any) -> str:
    """``text`` with ``item`` appended to the list ``key`` of the mapping at ``at``.

    Handles a flow list on one line (``hashtags: [a, b]``), a block list (``- a``) and
    a missing key (added as a flow list after the mapping's first key). Raises
    ValueError when the file is laid out in a way this cannot edit safely.
    """
    data, lines = parse_with_lines(text)
    mapping: Any = data
    for part in at:
        mapping = mapping[part]
    rows = text.splitlines()
    if key not in mapping:
        first = next(iter(mapping))
        row = _key_row(rows, lines[(*at, first)] - 1, str(first))
        column = _key_column(rows[row], str(first))
        end = _end_of_block(rows, row, column)
        rows.insert(end + 1, " " * column + f"{key}: [{flow(item)}]")
        return "\n".join(rows) + "\n"
    row = _key_row(rows, lines[(*at, key)] - 1, key)
    items = mapping[key] or []
    line = rows[row]
    after = line[_key_column(line, key) :].split(":", 1)[1]
    if after.strip().startswith("["):
        if "]" not in after:
            raise ValueError(f"line {row + 1}: a list over several lines; add {item!r} by hand")
        close = line.rindex("]")
        sep = ", " if items else ""
        rows[row] = line[:close].rstrip() + sep + flow(item) + line[close:]
        return "\n".join(rows) + "\n"
    if not items:
        rows[row] = line.split(":", 1)[0] + ":"
        column = _key_column(line, key)
        rows.insert(row + 1, " " * (column + 2) + f"- {flow(item)}")
        return "\n".join(rows) + "\n"
    last = lines[(*at, key, len(items) - 1)] - 1
    dash = rows[last].index("-") if rows[last].lstrip().startswith("-") else _indent(rows[last])
    end = _end_of_block(rows, last, dash)
    rows.insert(end + 1, " " * dash + f"- {flow(item)}")
    return "\n".join(rows) + "\n"


def edit_file(path: Path, edit: Callable[[str], str], check: Callable[[Any, Lines], None]) -> str:
    """Apply ``edit`` to the file's text, ``check`` the parsed result, then replace the file.

    Returns the new text. ``check`` raises (a ConfigError) to refuse the edit.
    """
    try:
        old = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, None, "$", f"cannot read file: {exc.strerror}") from exc
    new = edit(old)
    data, lines = parse_with_lines(new, path)
    check(data, lines)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, path)
    return new
