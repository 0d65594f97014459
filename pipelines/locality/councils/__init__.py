"""Onboarding a council: find it by name or ONS code, generate its profile from open data.

:func:`find.find_council` resolves what a person typed; :func:`generate.council_data`
gathers the council's wards, postcode districts, places and neighbours from the
gazetteer; :mod:`render` writes the profile YAML and merges a regeneration into a
file an officer has edited without losing the edit.
"""
