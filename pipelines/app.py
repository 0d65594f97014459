"""The Faust app: declared once, with its topics; agents live in ``pipelines.agents``.

Run a worker with ``faust -A pipelines.app worker -l info``. Every agent is
registered here, so one worker process runs enrichment, dedupe, indexing and
routing; more workers share the partitions.
"""

from __future__ import annotations

from common.logsummary import summarise_outages
from common.settings import load_settings
from pipelines.agents import communities, enrich, index, route
from pipelines.settings import PipelineSettings
from pipelines.topology import create_app

settings = load_settings(PipelineSettings)
summarise_outages()  # one line per Kafka/Elasticsearch outage, not one per reconnect attempt
app, topics = create_app(settings)

enrich.register(app, topics, settings)
index.register(app, topics, settings)
route.register(app, topics, settings)
communities.register(app, topics, settings)
