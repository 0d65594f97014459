"""Every example message beside a schema is checked against it, through the one codec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from schemas.codec import SCHEMA_NAMES, SCHEMA_OF_MODEL, ContractError, decode, encode, validator
from schemas.models import Contract

pytestmark = pytest.mark.contract

EXAMPLES = Path(__file__).parents[2] / "schemas" / "examples"
MODEL_OF_SCHEMA = {name: model for model, name in SCHEMA_OF_MODEL.items()}


def _examples(kind: str) -> list[tuple[str, Path]]:
    return [
        (name, p) for name in SCHEMA_NAMES for p in sorted((EXAMPLES / name / kind).glob("*.json"))
    ]


def test_every_schema_is_valid_and_has_examples() -> None:
    for name in SCHEMA_NAMES:
        validator(name).check_schema(validator(name).schema)
        assert list((EXAMPLES / name / "valid").glob("*.json")), f"{name} has no valid example"
        assert list((EXAMPLES / name / "invalid").glob("*.json")), f"{name} has no invalid example"


@pytest.mark.parametrize(("name", "path"), _examples("valid"), ids=lambda v: getattr(v, "name", v))
def test_valid_example_round_trips(name: str, path: Path) -> None:
    model: type[Contract] = MODEL_OF_SCHEMA[name]
    event = decode(path.read_bytes(), model)
    again = decode(encode(event), model)
    assert again == event


@pytest.mark.parametrize(
    ("name", "path"), _examples("invalid"), ids=lambda v: getattr(v, "name", v)
)
def test_invalid_example_is_rejected_naming_the_field(name: str, path: Path) -> None:
    case = json.loads(path.read_text())
    with pytest.raises(ContractError) as caught:
        decode(json.dumps(case["message"]).encode(), MODEL_OF_SCHEMA[name])
    assert caught.value.field == case["field"], str(caught.value)
    assert f"field '{case['field']}'" in str(caught.value)
