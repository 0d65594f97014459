"""A worker with the community agents only (enrichment needs the sentiment model).

Run by test_communities as ``faust -A tests.integration.communities_app worker``; the app
and its topics are declared exactly as the pipeline's own.
"""

from __future__ import annotations

from common.settings import load_settings
from pipelines.agents import communities
from pipelines.settings import PipelineSettings
from pipelines.topology import create_app

settings = load_settings(PipelineSettings)
app, topics = create_app(settings)
communities.register(app, topics, settings)
