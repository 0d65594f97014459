"""``EARSHOT_LOCALITY_SCOPE``: which councils the tagger knows in detail.

- ``profiles`` (default): the councils with a profile in ``deploy/config/councils``
  are the deployment's own; every other council's name, towns and stations are
  known, and the ward names of councils within 40 km of the deployment's.
- ``nationwide``: every GB council's wards, places, stations and postcode districts
  in one automaton, no council favoured (a national body, a researcher, or a council
  that wants its neighbours' context). Profiles in the folder still add their
  curated names.
"""

from __future__ import annotations

from typing import Literal

from common.settings import EarshotSettings

Scope = Literal["profiles", "nationwide"]


class LocalitySettings(EarshotSettings):
    """Read by :meth:`pipelines.steps.locality.LocalityTagger.from_config`."""

    locality_scope: Scope = "profiles"
