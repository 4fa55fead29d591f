"""The log on Redis Streams: one stream per partition (``<name>:{<n>}:log``).

An append is acknowledged once Redis has added the entry in memory: what that survives is
Redis's persistence, not this module's. Without AOF (``appendonly no``, as on the machine
these figures come from) a Redis that restarts has lost every entry since its last RDB
snapshot, acknowledged or not; with ``appendfsync everysec`` up to a second of them; only
``appendfsync always`` (or ``WAIT``/``WAITAOF`` on replicas) makes the 200 durable.
Duplicates are dropped by a Lua script that adds an entry only when its id
(``source:messageId``) has no marker yet, and keeps the marker for the dedup window, in
the same slot as the partition's stream. A position is the entry's stream id
``<ms>-<n>`` as one integer (``ms << 20 | n``), which grows within each partition.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Final

import redis
from redis.exceptions import RedisError

from juncture.errors import LogUnavailable
from juncture.log.base import PENDING_LIMIT, Appended, Entry, Pending, Record

_SHIFT: Final = 20
_APPEND: Final = """
local known = redis.call('GET', KEYS[2])
if known then return {known, 1} end
local id = redis.call('XADD', KEYS[1], '*', 'e', ARGV[1])
redis.call('SET', KEYS[2], id, 'EX', ARGV[2])
return {id, 0}
"""

_PENDING: Final = """
local found = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', ARGV[2])
if #found == 0 then return {0} end
return {#found, found[1][1], found[1][2][2]}
"""


def position(stream_id: bytes | str) -> int:
    """A stream id as an integer that keeps its order."""
    text = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
    ms, _, n = text.partition("-")
    return int(ms) << _SHIFT | int(n or 0)


def stream_id(position: int) -> str:
    return f"{position >> _SHIFT}-{position & ((1 << _SHIFT) - 1)}"


class RedisStreamLog:
    """The :class:`~juncture.log.base.Log` on Redis Streams (see the module)."""

    def __init__(
        self, url: str, partitions: int, *, name: str = "juncture", dedup_seconds: float = 120.0
    ) -> None:
        self.partitions = partitions
        self._name = name
        self._dedup = max(1, round(dedup_seconds))
        self._redis = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
        try:
            self._script = self._redis.register_script(_APPEND)
            self._count = self._redis.register_script(_PENDING)
            self._redis.ping()
        except RedisError as exc:
            raise LogUnavailable(f"the log at {url} cannot be reached: {exc}") from exc

    def _key(self, partition: int) -> str:
        return f"{self._name}:{{{partition}}}:log"

    def append(self, entries: Sequence[Entry]) -> list[Appended]:
        try:
            pipe = self._redis.pipeline(transaction=False)
            for e in entries:
                keys = [self._key(e.partition), f"{self._name}:{{{e.partition}}}:id:{e.msg_id}"]
                self._script(keys=keys, args=[e.payload, self._dedup], client=pipe)
            replies = pipe.execute()
        except RedisError as exc:
            raise LogUnavailable(f"the log did not acknowledge an append: {exc}") from exc
        return [Appended(position(sid), bool(dup)) for sid, dup in replies]

    async def append_async(self, entries: Sequence[Entry]) -> list[Appended]:
        return await asyncio.to_thread(self.append, entries)

    def read(self, partition: int, after: int, limit: int, wait: float) -> list[Record]:
        key = self._key(partition)
        block = max(1, round(wait * 1000)) if wait > 0 else None
        try:
            reply: Any = self._redis.xread({key: stream_id(after)}, count=limit, block=block)
        except RedisError as exc:
            raise LogUnavailable(f"the log cannot be read: {exc}") from exc
        return [
            Record(partition, position(sid), fields[b"e"])
            for _key, items in reply or []
            for sid, fields in items
        ]

    def last(self, partition: int) -> int:
        try:
            found: Any = self._redis.xrevrange(self._key(partition), count=1)
        except RedisError as exc:
            raise LogUnavailable(f"the log cannot be read: {exc}") from exc
        return position(found[0][0]) if found else 0

    def pending(self, partition: int, after: int) -> Pending:
        """Counted in Redis by a script (Redis Streams keep no count between two ids), up
        to :data:`~juncture.log.base.PENDING_LIMIT`; only the count and the first entry
        come back."""
        start = f"({stream_id(after)}"
        try:
            reply: Any = self._count(keys=[self._key(partition)], args=[start, PENDING_LIMIT])
        except RedisError as exc:
            raise LogUnavailable(f"the log cannot be read: {exc}") from exc
        if not reply[0]:
            return Pending(0, None)
        return Pending(int(reply[0]), Record(partition, position(reply[1]), reply[2]))

    def delete(self) -> None:
        """Delete every partition's stream and dedup marker (tests and benches)."""
        keys = list(self._redis.scan_iter(match=f"{self._name}:*", count=1000))
        for start in range(0, len(keys), 500):
            self._redis.delete(*keys[start : start + 500])

    def close(self) -> None:
        self._redis.close()
