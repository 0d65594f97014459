"""Processes that talk to the outside world: ingestion services and the notifier."""
