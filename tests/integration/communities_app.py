"""A worker with the community agents only (enrichment needs the sentiment model).

Run by test_communities as ``faust -A tests.integration.communities_app worker``; the app
and its topics are declared exactly as the pipeline's own.
"""

from __future__ import annotations

from common.settings import load_settings
from pipelines.agents import communities
from pipelines.settings import PipelineSettings
from pipelines.steps.erasure import TombstoneSettings, tombstone_guard
from pipelines.topology import create_app

settings = load_settings(PipelineSettings)
pipeline = create_app(settings)
app = pipeline.app
communities.register(
    app, pipeline.topics, settings, tombstone_guard(load_settings(TombstoneSettings))
)
