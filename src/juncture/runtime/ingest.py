"""The one ingestion path: HTTP, file import and quarantine replay all come through here.

Parse, validate and normalize (pure, ``core.messages``), then commit events and
quarantined rejections together (``GroupCommitter``), so that nothing is lost between them.
With a distributed log (``JUNCTURE_LOG_URL``) the events are appended to it instead, each
to its person's partition, and the answer waits for the log's acknowledgement; the
rejections still go to the quarantine in the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from juncture.core import cleansing, collection, messages
from juncture.core.events import Event
from juncture.core.messages import Rejection
from juncture.errors import JunctureError
from juncture.log import Log
from juncture.log.base import Appended, Entry, entry
from juncture.metrics import Metrics
from juncture.runtime.clock import Clock
from juncture.runtime.committer import GroupCommitter, Receipt
from juncture.runtime.quality import Tally
from juncture.runtime.tracking_plans import Plans
from juncture.store.base import FailedEvent, Quarantined, Store


@dataclass(frozen=True, slots=True)
class Outcome:
    receipt: Receipt
    accepted: int
    rejected: Sequence[Rejection]


class Ingestor:
    def __init__(
        self,
        committer: GroupCommitter,
        clock: Clock,
        metrics: Metrics | None = None,
        rules: cleansing.Rules = cleansing.DEFAULT_RULES,
        *,
        plans: Plans | None = None,
        tally: Tally | None = None,
        consent: collection.CollectionRules = collection.DEFAULT_RULES,
        log: Log | None = None,
    ) -> None:
        self.committer = committer
        self.clock = clock
        self.metrics = metrics
        self.rules = rules
        self.plans = plans or Plans()
        self.tally = tally or Tally()
        self.consent = consent
        self.log = log  # the distributed log the events go to (None: the table-log)

    def normalize(
        self, envelope: messages.Envelope, source: str, received_at: dt.datetime
    ) -> tuple[list[Event], list[Rejection]]:
        """Valid messages as cleansed events (:mod:`juncture.core.cleansing`), kept as their
        consent to collection allows (:mod:`juncture.core.collection`) and held to the
        source's tracking plan, and the rest; counted for the data-quality report."""
        events, rejected = messages.normalize(envelope, source=source, received_at=received_at)
        rules = self.rules
        cleansed = collection.apply([cleansing.cleanse(e, rules) for e in events], self.consent)
        kept, rejected, checked = self.plans.apply(source, envelope, cleansed, rejected)
        self.tally.record(source, received_at, cleansed, checked)
        return kept, rejected

    def prepare(
        self, envelope: messages.Envelope, source: str, received_at: dt.datetime | None = None
    ) -> tuple[list[Event], list[Quarantined], list[Rejection]]:
        at = received_at or self.clock.now()
        events, rejected = self.normalize(envelope, source, at)
        quarantine = [Quarantined(source, at, rejected, envelope.type_hint)] if rejected else []
        return events, quarantine, rejected

    async def ingest(self, envelope: messages.Envelope, source: str) -> Outcome:
        events, quarantine, rejected = self.prepare(envelope, source)
        if self.log is None:
            receipt = await self.committer.submit(events, quarantine)
        else:
            acks = await self.log.append_async(self.entries(events)) if events else []
            held = await self.committer.submit([], quarantine) if quarantine else None
            receipt = _receipt(acks, held)
        self._count(receipt, rejected, source)
        return Outcome(receipt, len(events), rejected)

    def ingest_sync(
        self,
        envelope: messages.Envelope,
        source: str,
        received_at: dt.datetime | None = None,
    ) -> Outcome:
        events, quarantine, rejected = self.prepare(envelope, source, received_at)
        if self.log is None:
            receipt = self.committer.submit_sync(events, quarantine)
        else:
            acks = self.log.append(self.entries(events)) if events else []
            held = self.committer.submit_sync([], quarantine) if quarantine else None
            receipt = _receipt(acks, held)
        self._count(receipt, rejected, source)
        return Outcome(receipt, len(events), rejected)

    def entries(self, events: Sequence[Event]) -> list[Entry]:
        """``events`` as entries of the distributed log, each in its person's partition."""
        assert self.log is not None
        return [entry(e, self.log.partitions) for e in events]

    def _count(self, receipt: Receipt, rejected: Sequence[Rejection], source: str) -> None:
        self.tally.duplicates(source, self.clock.now(), receipt.duplicates)
        if self.metrics is None:
            return
        self.metrics.accepted.inc(receipt.stored)
        self.metrics.deduplicated.inc(receipt.duplicates)
        for rejection in rejected:
            self.metrics.rejected.labels(rejection.code).inc()


def _receipt(acks: Sequence[Appended], held: Receipt | None) -> Receipt:
    """A request's receipt from the log's acknowledgements and its quarantine's commit."""
    duplicates = sum(1 for a in acks if a.duplicate)
    return Receipt(len(acks) - duplicates, duplicates, held.quarantined if held else 0)


@dataclass(frozen=True, slots=True)
class ReplayResult:
    replayed: list[int]
    still_failing: list[tuple[int, str]]


def replay_failed(
    store: Store,
    ingestor: Ingestor,
    failed: Sequence[FailedEvent],
    payloads: dict[int, bytes] | None = None,
) -> ReplayResult:
    """Validate quarantined messages again (optionally with corrected payloads) and store
    the ones that now pass, keeping their original receive time. Those that still fail stay
    in quarantine with their original reason; the new reason is returned."""
    replayed: list[int] = []
    still: list[tuple[int, str]] = []
    for row in failed:
        body = (payloads or {}).get(row.id) or row.body()
        try:
            envelope = messages.parse_single(body, row.type_hint)
        except JunctureError as exc:
            still.append((row.id, exc.message))
            continue
        events, rejected = ingestor.normalize(envelope, row.source, row.received_at)
        if rejected:
            still.append((row.id, f"{rejected[0].path}: {rejected[0].message}"))
            continue
        if ingestor.log is None:
            ingestor.committer.submit_sync(events)
        else:
            ingestor.log.append(ingestor.entries(events))
        replayed.append(row.id)
    if replayed:
        store.mark_replayed(replayed, ingestor.clock.now())
    return ReplayResult(replayed, still)
