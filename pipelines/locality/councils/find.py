"""Find a council by what a person types: its ONS code, its name, or a common form of it."""

from __future__ import annotations

import difflib
import re

from pipelines.locality.lexicon_build import council_names, short_council_names
from pipelines.locality.normalise import fold_name
from pipelines.locality.tables import Tables

_CODE = re.compile(r"^(E0[6-9]|W06|S12)\d{6}$")
_MAX_CANDIDATES = 10


class CouncilNotFoundError(ValueError):
    """No council, or more than one, answers to the query; ``candidates`` lists the close ones."""

    def __init__(self, query: str, candidates: list[str], ambiguous: bool) -> None:
        self.candidates = candidates
        what = "matches several councils" if ambiguous else "is not a GB council"
        hint = (
            "; did you mean: " + "; ".join(candidates)
            if candidates
            else "; give a name from OS Code-Point Open or an ONS code (E06…, E07…, E08…, E09…, W06…, S12…)"
        )
        super().__init__(f"{query!r} {what}{hint}")


def _label(tables: Tables, index: int) -> str:
    area = tables.councils[index]
    welsh = f" / {area.welsh}" if area.welsh else ""
    return f"{area.name}{welsh} ({area.code})"


def _forms(tables: Tables) -> dict[str, set[int]]:
    """Folded name forms -> councils: names, bare names, Welsh names, "X Council", short names."""
    forms: dict[str, set[int]] = {}
    shorts = short_council_names(tables)
    for i, area in enumerate(tables.councils):
        names = [*council_names(area.name), *([area.welsh] if area.welsh else [])]
        if area.code.startswith("W"):
            names += [f"Cyngor {n}" for n in (area.welsh, council_names(area.name)[1]) if n]
        if i in shorts:
            names.append(shorts[i])
        for name in names:
            forms.setdefault(fold_name(name).removeprefix("the "), set()).add(i)
    return forms


def find_council(tables: Tables, query: str) -> int:
    """Index of the one council ``query`` names; raises :class:`CouncilNotFoundError` otherwise."""
    text = query.strip()
    if _CODE.match(text.upper()):
        index = tables.council_index(text.upper())
        if index >= 0:
            return index
        raise CouncilNotFoundError(text, [], ambiguous=False)
    key = fold_name(text).removeprefix("the ")
    forms = _forms(tables)
    found = sorted(forms.get(key, set()))
    if len(found) == 1:
        return found[0]
    if not found:
        # "Newcastle" -> both Newcastles; "Shefield" -> Sheffield.
        found = sorted(
            {i for form, idx in forms.items() if form.startswith(key + " ") for i in idx}
        )
        close = difflib.get_close_matches(key, list(forms), n=_MAX_CANDIDATES, cutoff=0.75)
        # A near miss is still a guess: it is listed for the person, never acted on.
        found = sorted(set(found) | {i for form in close for i in forms[form]})
    labels = [_label(tables, i) for i in found[:_MAX_CANDIDATES]]
    raise CouncilNotFoundError(text, labels, ambiguous=len(found) > 1)


def slug(tables: Tables, index: int) -> str:
    """File name stem for a council's profile: "kingston-upon-thames", "vale-of-glamorgan"."""
    bare = council_names(tables.councils[index].name)[1]
    return re.sub(r"[^a-z0-9]+", "-", fold_name(bare).removeprefix("the ")).strip("-")
