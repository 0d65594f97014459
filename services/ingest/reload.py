"""Following the sources file while running: a changed file, or SIGHUP, re-reads it.

Contract: :meth:`SourcesReloader.run` polls the file's identity (mtime, size, inode) every
``poll_s`` seconds and wakes at once on :meth:`request` (SIGHUP). A file that validates
is applied as a difference: instances that are new or whose settings changed are
(re)started, removed or disabled ones are stopped (their in-flight commits finish; their
cursors stay in Kafka), unchanged ones keep running untouched. A broken file changes
nothing: the previous instances keep running and the error, naming file:line:field, is
logged once per version of the file.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path

from common.yamlconfig import ConfigError
from services.ingest.registry import build_source, load_sources
from services.ingest.runtime.api import SourceContext
from services.ingest.runtime.config import InstanceConfig
from services.ingest.runtime.service import IngestService
from services.ingest.runtime.settings import IngestSettings

log = logging.getLogger(__name__)
FileId = tuple[int, int, int] | None


def file_id(path: Path) -> FileId:
    """What changes when the file is edited or replaced; None when it cannot be read."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def selected_configs(settings: IngestSettings, environ: Mapping[str, str]) -> list[InstanceConfig]:
    """The enabled instances of the sources file this process runs (raises ConfigError)."""
    configs = load_sources(settings.sources_file, environ, settings.instance_names())
    return [c for c in configs if settings.kind_selected(c.kind)]


class SourcesReloader:
    """Keeps the running instances in step with the sources file (see module doc)."""

    def __init__(
        self,
        settings: IngestSettings,
        service: IngestService,
        ctx: SourceContext,
        running: list[InstanceConfig],
    ) -> None:
        self._settings = settings
        self._service = service
        self._ctx = ctx
        self._running = {c.name: c for c in running}
        self._seen = file_id(settings.sources_file)
        self._wake = asyncio.Event()

    def request(self) -> None:
        """Re-read the file now (the SIGHUP handler)."""
        self._wake.set()

    async def run(self) -> None:
        """Poll and apply until cancelled."""
        poll = self._settings.sources_poll_s
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=poll if poll > 0 else None)
            forced = self._wake.is_set()
            self._wake.clear()
            now = file_id(self._settings.sources_file)
            if forced or now != self._seen:
                self._seen = now
                await self.reload()

    async def reload(self) -> bool:
        """Read the file and apply it; False (and the previous instances kept) when it is broken."""
        path = self._settings.sources_file
        try:
            configs = await asyncio.to_thread(selected_configs, self._settings, self._ctx.environ)
        except (ConfigError, OSError) as exc:
            log.error("sources file not applied, the previous instances keep running: %s", exc)
            return False
        wanted = {c.name: c for c in configs}
        for name in sorted(self._running.keys() - wanted.keys()):
            await self._service.detach(name)
            log.info("instance %s stopped (no longer enabled in %s)", name, path)
        applied = dict(self._running)
        for name in sorted(self._running.keys() - wanted.keys()):
            applied.pop(name)
        for name, config in wanted.items():
            if self._running.get(name) == config:
                continue
            try:
                source = build_source(config, self._ctx)
            except Exception as exc:  # a source that cannot start must not stop the others
                log.error("instance %s not (re)started, keeping what ran before: %r", name, exc)
                continue
            await self._service.attach(name, source)
            applied[name] = config
            log.info(
                "instance %s %s from %s",
                name,
                "restarted" if name in self._running else "started",
                path,
            )
        self._running = applied
        if not wanted:
            log.warning("%s enables no instance this process runs: nothing is followed", path)
        return True
