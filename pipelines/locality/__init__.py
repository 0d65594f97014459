"""Locality: gazetteer tables built from packaged open data, council profiles, matching.

The pure step that uses them is :mod:`pipelines.steps.locality`.
"""
