"""The one store writer a thread that commits holds (the committer, the engine behind the
log, a worker): opened when first needed, and dropped after a failure so that the next try
gets a fresh connection and cache."""

from __future__ import annotations

import logging
from collections.abc import Callable

from juncture.store.base import Writer

log = logging.getLogger("juncture.writer")


class WriterSlot:
    """Holds the writer ``open`` makes. Not thread-safe: one thread owns it."""

    def __init__(self, open_writer: Callable[[], Writer]) -> None:
        self._open = open_writer
        self._writer: Writer | None = None

    def get(self) -> Writer:
        """The writer, opened if there is none."""
        if self._writer is None:
            self._writer = self._open()
        return self._writer

    def drop(self) -> None:
        """Close the writer, if any, quietly (its connection may be broken)."""
        if self._writer is not None:
            try:
                self._writer.close()
            except Exception:
                log.debug("closing a broken writer failed", exc_info=True)
            self._writer = None

    def close(self) -> None:
        """Close the writer, if any, at the end of its thread."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
