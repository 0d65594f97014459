"""Ingestion: one shared runtime (services.ingest.runtime) and one package per source kind."""
