"""Routing configuration: departments, rules and spike thresholds, loaded and hot-reloaded.

``config`` is the schema of ``deploy/config/departments.yaml``, ``load`` reads it
with errors naming file, line and field, and ``reload`` swaps it in a running
process when the file changes. Pure: no Faust, no Kafka.
"""
