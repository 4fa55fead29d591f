"""The log on NATS JetStream: one stream, ``JUNCTURE``, on file storage, one subject per
partition (``juncture.p.<n>``); another ``name`` gives another stream.

An append is acknowledged once the server has stored the message in the stream (the
publish ack); with file storage that is on disk, though not fsynced per message (the
server syncs its files every two minutes by default: ``sync_interval``, ``sync: always``
to sync each). Duplicates are dropped by the server: each message carries its
``Nats-Msg-Id`` (``source:messageId``) and the stream keeps the ids of its duplicate
window. A position is the stream's sequence number, which grows within each partition.

nats-py is asynchronous; the client lives on an event loop of its own, on a thread of its
own, so that ingestion's loop, a worker's thread and synchronous callers share it alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine, Sequence
from typing import Any, Final, TypeVar

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from juncture.errors import LogUnavailable
from juncture.log.base import Appended, Entry, Pending, Record

_TIMEOUT: Final = 10.0  # seconds an append or a read may wait for the server
T = TypeVar("T")


class JetStreamLog:
    """The :class:`~juncture.log.base.Log` on NATS JetStream (see the module)."""

    def __init__(
        self, url: str, partitions: int, *, name: str = "juncture", dedup_seconds: float = 120.0
    ) -> None:
        self.partitions = partitions
        self.stream = name.upper()
        self._subject = f"{name}.p"
        self._url = url
        self._dedup = dedup_seconds
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="juncture-log", daemon=True
        )
        self._thread.start()
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._subs: dict[int, tuple[int, JetStreamContext.PullSubscription]] = {}
        self._run(self._connect())

    # -- the port ----------------------------------------------------------------------------
    def append(self, entries: Sequence[Entry]) -> list[Appended]:
        return self._run(self._append(entries))

    async def append_async(self, entries: Sequence[Entry]) -> list[Appended]:
        future = asyncio.run_coroutine_threadsafe(self._append(entries), self._loop)
        return await asyncio.wrap_future(future)

    def read(self, partition: int, after: int, limit: int, wait: float) -> list[Record]:
        return self._run(self._read(partition, after, limit, wait))

    def last(self, partition: int) -> int:
        return self._run(self._last(partition))

    def pending(self, partition: int, after: int) -> Pending:
        return self._run(self._pending(partition, after))

    def delete(self) -> None:
        """Delete the stream and everything in it (tests and benches)."""
        self._run(_quietly(self._context().delete_stream(self.stream)))

    def close(self) -> None:
        """Close the connection and its loop (a second call does nothing)."""
        if self._loop.is_closed():
            return
        if self._nc is not None:
            self._run(_quietly(self._nc.close()))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    # -- on the log's loop ---------------------------------------------------------------------
    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result()

    async def _connect(self) -> None:
        try:
            self._nc = await nats.connect(self._url, connect_timeout=5, max_reconnect_attempts=-1)
            self._js = self._nc.jetstream(timeout=_TIMEOUT, publish_async_max_pending=20_000)
            config = api.StreamConfig(
                name=self.stream,
                subjects=[f"{self._subject}.*"],
                storage=api.StorageType.FILE,
                duplicate_window=self._dedup,
            )
            try:
                await self._js.add_stream(config)
            except nats.js.errors.BadRequestError:
                await self._js.update_stream(config)  # another node made it, differently
        except (NatsError, OSError) as exc:
            raise LogUnavailable(f"the log at {self._url} cannot be reached: {exc}") from exc

    def _context(self) -> JetStreamContext:
        assert self._js is not None
        return self._js

    async def _append(self, entries: Sequence[Entry]) -> list[Appended]:
        js = self._context()
        try:
            futures = [
                await js.publish_async(
                    f"{self._subject}.{e.partition}",
                    e.payload,
                    headers={"Nats-Msg-Id": e.msg_id},
                    stream=self.stream,
                )
                for e in entries
            ]
            acks = await asyncio.wait_for(asyncio.gather(*futures), _TIMEOUT)
        except (NatsError, TimeoutError, OSError) as exc:
            raise LogUnavailable(f"the log did not acknowledge an append: {exc}") from exc
        return [Appended(ack.seq, bool(ack.duplicate)) for ack in acks]

    async def _read(self, partition: int, after: int, limit: int, wait: float) -> list[Record]:
        sub = await self._subscription(partition, after)
        try:
            msgs = await sub.fetch(limit, timeout=max(wait, 0.01))
        except TimeoutError:  # nothing came in time (nats-py raises asyncio's or its own)
            return []
        except (NatsError, OSError) as exc:
            self._subs.pop(partition, None)
            raise LogUnavailable(f"the log cannot be read: {exc}") from exc
        records = [
            Record(partition, msg.metadata.sequence.stream, msg.data)
            for msg in msgs
            if msg.metadata.sequence.stream > after
        ]
        if records:
            self._subs[partition] = (records[-1].position, sub)
        return records

    async def _subscription(self, partition: int, after: int) -> JetStreamContext.PullSubscription:
        """An ordered, unacknowledged consumer of the partition from ``after`` on, kept
        while its reader goes on where it left off."""
        held = self._subs.get(partition)
        if held is not None and held[0] == after:
            return held[1]
        if held is not None:
            await _quietly(held[1].unsubscribe())
        config = api.ConsumerConfig(
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=after + 1,
            ack_policy=api.AckPolicy.NONE,
            inactive_threshold=30.0,
            mem_storage=True,
        )
        try:
            sub = await self._context().pull_subscribe(
                f"{self._subject}.{partition}", stream=self.stream, config=config
            )
        except (NatsError, OSError) as exc:
            raise LogUnavailable(f"the log cannot be read: {exc}") from exc
        self._subs[partition] = (after, sub)
        return sub

    async def _last(self, partition: int) -> int:
        try:
            msg = await self._context().get_last_msg(self.stream, f"{self._subject}.{partition}")
        except NotFoundError:
            return 0
        except (NatsError, OSError) as exc:
            raise LogUnavailable(f"the log cannot be read: {exc}") from exc
        return int(msg.seq or 0)

    async def _pending(self, partition: int, after: int) -> Pending:
        """The first message of the partition after ``after`` (the server's next by
        subject), then, when there is one, the count of those from it on: the pending
        count of a short-lived consumer starting there, which the server keeps per
        subject without reading the messages."""
        js, subject = self._context(), f"{self._subject}.{partition}"
        try:
            msg = await js.get_msg(self.stream, seq=after + 1, subject=subject, next=True)
        except NotFoundError:
            return Pending(0, None)
        except (NatsError, OSError) as exc:
            raise LogUnavailable(f"the log cannot be read: {exc}") from exc
        first = Record(partition, int(msg.seq or 0), msg.data or b"")
        config = api.ConsumerConfig(
            filter_subject=subject,
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=first.position,
            ack_policy=api.AckPolicy.NONE,
            inactive_threshold=5.0,
            mem_storage=True,
        )
        try:
            info = await js.add_consumer(self.stream, config)
        except (NatsError, OSError) as exc:
            raise LogUnavailable(f"the log cannot be read: {exc}") from exc
        if info.name is not None:
            await _quietly(js.delete_consumer(self.stream, info.name))
        return Pending(max(1, int(info.num_pending or 0)), first)


async def _quietly(work: Coroutine[Any, Any, object]) -> None:
    with contextlib.suppress(NatsError, OSError):
        await work
