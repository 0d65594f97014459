"""The one way to read a YAML file that people edit: typed, and errors name file, line and field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

T = TypeVar("T", bound=BaseModel)
Lines = dict[tuple[str | int, ...], int]
"""Key path in the file (``("rules", 3, "department")``) -> 1-based line number."""


class ConfigError(ValueError):
    """A config file is wrong; the message says where (file:line) and which field."""

    def __init__(self, path: Path | str, line: int | None, field: str, message: str) -> None:
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {field}: {message}")
        self.path = str(path)
        self.line = line
        self.field = field


def _construct(node: yaml.Node, lines: Lines, at: tuple[str | int, ...]) -> Any:
    lines[at] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = (
                yaml.safe_load(yaml.serialize(key_node))
                if key_node.tag != "tag:yaml.org,2002:str"
                else key_node.value
            )
            if key in out:
                raise ConfigError(
                    "",
                    key_node.start_mark.line + 1,
                    ".".join(map(str, (*at, key))),
                    "duplicate key",
                )
            out[key] = _construct(value_node, lines, (*at, key))
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, lines, (*at, i)) for i, item in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def parse_with_lines(text: str, path: Path | str = "<string>") -> tuple[Any, Lines]:
    """Parse YAML text; return the data and a map from key path to 1-based line number."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(path, line, "$", f"not valid YAML: {exc.problem}") from exc
    lines: Lines = {}
    if node is None:
        return {}, lines
    try:
        return _construct(node, lines, ()), lines
    except ConfigError as exc:
        raise ConfigError(path, exc.line, exc.field, "duplicate key") from exc


def _nearest_line(lines: Lines, loc: tuple[str | int, ...]) -> int | None:
    for cut in range(len(loc), -1, -1):
        if loc[:cut] in lines:
            return lines[loc[:cut]]
    return None


def _without_union_tags(
    data: Any, loc: tuple[str | int, ...], missing: bool
) -> tuple[str | int, ...]:
    """Drop the tags pydantic inserts for tagged unions (``sources.0.rss.feeds``):
    the file has no such key, and the line lookup needs the path as written."""
    kept: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        named_missing = missing and i == len(loc) - 1  # a missing field is named last: keep it
        if (
            not named_missing
            and isinstance(node, dict)
            and isinstance(part, str)
            and part not in node
        ):
            continue  # a discriminator tag, not a key of the file
        kept.append(part)
        node = (
            node.get(part)
            if isinstance(node, dict)
            else (
                node[part]
                if isinstance(node, list) and isinstance(part, int) and part < len(node)
                else None
            )
        )
    return tuple(kept)


def validate_data(data: Any, lines: Lines, model: type[T], path: Path | str) -> T:
    """Validate parsed data into ``model``; the first error names its line and field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # An unknown key is usually a typo of a missing one: report it first, it is the fix.
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        loc = _without_union_tags(data, tuple(first["loc"]), first["type"] == "missing")
        field = ".".join(str(p) for p in loc) or "$"
        raise ConfigError(path, _nearest_line(lines, loc), field, first["msg"]) from exc


@dataclass(frozen=True)
class Loaded(Generic[T]):
    """A validated config file with the line of every key, for checks that span entries."""

    value: T
    path: Path
    lines: Lines

    def error(self, loc: tuple[str | int, ...], message: str) -> ConfigError:
        """A ConfigError naming the line of ``loc`` (or of its nearest enclosing key)."""
        return ConfigError(
            self.path, _nearest_line(self.lines, loc), ".".join(map(str, loc)), message
        )


def read_yaml(path: Path | str, model: type[T]) -> Loaded[T]:
    """Read and validate one YAML config file into ``model``, keeping its line numbers."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(p, None, "$", f"cannot read file: {exc.strerror}") from exc
    data, lines = parse_with_lines(text, p)
    return Loaded(validate_data(data, lines, model, p), p, lines)


def load_yaml(path: Path | str, model: type[T]) -> T:
    """Read and validate one YAML config file into ``model``."""
    return read_yaml(path, model).value
