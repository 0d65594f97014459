"""The one codec: JSON bytes <-> frozen models, validated against the JSON Schema both ways.

Every producer calls :func:`encode` and every consumer :func:`decode`; a failure
raises :class:`ContractError` naming the schema and the offending field, so a
dead letter says exactly what was wrong.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources
from typing import Any, Final, TypeVar

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from pydantic import ValidationError as ModelValidationError
from referencing import Registry, Resource

from schemas.models import Alert, Contract, DeadLetter, EnrichedMention, Mention

SCHEMA_NAMES: Final[tuple[str, ...]] = (
    "mention.v1",
    "enriched_mention.v1",
    "alert.v1",
    "dead_letter.v1",
)
SCHEMA_OF_MODEL: Final[dict[type[Contract], str]] = {
    Mention: "mention.v1",
    EnrichedMention: "enriched_mention.v1",
    Alert: "alert.v1",
    DeadLetter: "dead_letter.v1",
}
_UNEXPECTED = re.compile(r"'([^']+)' (?:was|were) unexpected")

M = TypeVar("M", bound=Contract)


class ContractError(ValueError):
    """An event does not satisfy its schema; ``field`` is a dotted path ("$" for the whole)."""

    def __init__(self, schema: str, field: str, message: str) -> None:
        super().__init__(f"{schema}: field '{field}': {message}")
        self.schema = schema
        self.field = field
        self.message = message


def load_schema(name: str) -> dict[str, Any]:
    """Return the parsed JSON Schema ``<name>.schema.json`` shipped in ``schemas/contracts``."""
    text = resources.files("schemas").joinpath("contracts", f"{name}.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _registry() -> Registry[Any]:
    pairs = [
        (f"urn:earshot:schema:{n}", Resource.from_contents(load_schema(n))) for n in SCHEMA_NAMES
    ]
    return Registry().with_resources(pairs)


@cache
def validator(name: str) -> Draft202012Validator:
    """The reference validator for one schema (used to explain a failure, field by field)."""
    return Draft202012Validator(load_schema(name), registry=_registry())


@cache
def _fast_validator(name: str) -> jsonschema_rs.Validator:
    # The same schemas compiled by a native validator: every message takes this path,
    # the reference validator only runs to name the field when a message is invalid.
    resources = [(f"urn:earshot:schema:{n}", load_schema(n)) for n in SCHEMA_NAMES]
    return jsonschema_rs.validator_for(
        load_schema(name), registry=jsonschema_rs.Registry(resources)
    )


def _field_of(error: ValidationError) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.instance, dict):
        required: list[str] = (
            list(error.schema.get("required", [])) if isinstance(error.schema, dict) else []
        )
        missing = [r for r in required if r not in error.instance]
        path += missing[:1]
    elif error.validator in ("additionalProperties", "unevaluatedProperties"):
        found = _UNEXPECTED.search(error.message)
        if found:
            path.append(found.group(1))
    return ".".join(path) or "$"


def validate(name: str, data: object) -> None:
    """Raise :class:`ContractError` for the most relevant violation of schema ``name``."""
    if _fast_validator(name).is_valid(data):
        return
    error = best_match(validator(name).iter_errors(data))
    if error is not None:
        raise ContractError(name, _field_of(error), error.message)
    raise ContractError(name, "$", "rejected by the schema")


def to_json(event: Contract) -> dict[str, Any]:
    """The event as JSON-ready data, exactly what :func:`encode` writes."""
    data: dict[str, Any] = event.model_dump(mode="json")
    return data


def encode(event: Contract) -> bytes:
    """Validate ``event`` against its schema and return compact UTF-8 JSON."""
    name = SCHEMA_OF_MODEL[type(event)]
    data = to_json(event)
    validate(name, data)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def decode(raw: bytes | str, model: type[M]) -> M:
    """Parse and validate one message of ``model``'s schema; raise ContractError on any fault."""
    name = SCHEMA_OF_MODEL[model]
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContractError(name, "$", f"not valid JSON: {exc}") from exc
    validate(name, data)
    try:
        return model.model_validate(data)
    except ModelValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "$"
        raise ContractError(name, field, first["msg"]) from exc
