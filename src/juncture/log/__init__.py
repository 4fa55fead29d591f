"""The distributed event log past one machine: one port (:mod:`juncture.log.base`), one
module per adapter (:mod:`juncture.log.nats`: NATS JetStream, the supported default;
:mod:`juncture.log.redis`: Redis Streams), chosen by the scheme of ``JUNCTURE_LOG_URL``
(``connect``). Unset, the log is the embedded table-log in the SQL store, as before."""

from __future__ import annotations

from urllib.parse import urlsplit

from juncture.errors import InvalidSettings
from juncture.log.base import Appended, Entry, Log, Record, partition_of

__all__ = ["Appended", "Entry", "Log", "Record", "connect", "partition_of"]


def connect(
    url: str, partitions: int, *, name: str = "juncture", dedup_seconds: float = 120.0
) -> Log:
    """The log ``name`` at ``url`` (``nats://`` or ``redis://``), split into
    ``partitions``."""
    scheme = urlsplit(url).scheme
    if scheme in {"nats", "tls"}:
        from juncture.log.nats import JetStreamLog  # noqa: PLC0415 - only the one in use

        return JetStreamLog(url, partitions, name=name, dedup_seconds=dedup_seconds)
    if scheme in {"redis", "rediss"}:
        from juncture.log.redis import RedisStreamLog  # noqa: PLC0415 - only the one in use

        return RedisStreamLog(url, partitions, name=name, dedup_seconds=dedup_seconds)
    raise InvalidSettings(f"JUNCTURE_LOG_URL: unknown scheme {scheme!r} (nats:// or redis://)")
