"""Hot reload of a config file: poll its stamp, or reload on request (SIGHUP).

The first load happens in the constructor and raises, so a process never
starts without valid config. Later loads that fail keep the previous value
and log why; the error stays readable in :attr:`Reloading.last_error` for
health checks.
"""

from __future__ import annotations

import logging
import os
import signal
from asyncio import AbstractEventLoop
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
Stamp = tuple[int, int, int] | None


def _stamp(path: Path) -> Stamp:
    # inode catches an atomic rename-over, size and mtime an in-place edit.
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


class Reloading(Generic[T]):
    """Holds the value built from a file and rebuilds it when the file changes."""

    def __init__(self, path: Path, build: Callable[[Path], T], what: str = "config") -> None:
        self.path = path
        self._build = build
        self._what = what
        self._stamp = _stamp(path)
        self.current: T = build(path)
        self.last_error: str | None = None
        self.generation = 1
        self._requested = False

    def request(self) -> None:
        """Reload at the next :meth:`poll` even if the file looks unchanged (signal-safe)."""
        self._requested = True

    def poll(self) -> bool:
        """Reload if the file changed or a reload was requested; True when the value changed."""
        stamp = _stamp(self.path)
        if stamp == self._stamp and not self._requested:
            return False
        self._requested = False
        self._stamp = stamp
        try:
            value = self._build(self.path)
        except Exception as exc:  # any fault in the new file must not stop the process
            self.last_error = str(exc)
            log.error(
                "%s %s not reloaded, keeping the previous version (generation %d): %s",
                self._what,
                self.path,
                self.generation,
                exc,
            )
            return False
        self.current = value
        self.last_error = None
        self.generation += 1
        log.warning("%s %s reloaded (generation %d)", self._what, self.path, self.generation)
        return True

    def _on_sighup(self) -> None:
        # The loop runs this callback outside the signal handler, so reloading here is safe.
        self.request()
        self.poll()

    def reload_on_sighup(self, loop: AbstractEventLoop) -> bool:
        """Ask for a reload whenever the process gets SIGHUP; False where signals are unavailable."""
        try:
            loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        except (NotImplementedError, RuntimeError, ValueError) as exc:
            log.info("no SIGHUP reload for %s: %s", self.path, exc)
            return False
        return True
