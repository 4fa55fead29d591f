"""The dispatcher: sends what the outbox holds, retries with backoff, dead-letters, records.

Each round (:meth:`Dispatcher.run_once`) claims due rows, renders their templates, sends them
concurrently (at most ``concurrency`` at a time) and records every attempt in
``delivery_attempts``. A failure the channel calls retryable goes back to ``pending`` after an
exponential backoff (:class:`RetryPolicy`); a permanent failure, a template that does not
render, or the last allowed attempt ends ``dead`` with the error, for a person to look at and
retry (``POST /v1/deliveries/retry``). A template that lists the cart's items renders the
cart as it is when the message leaves (:class:`~juncture.store.carts.Carts`: what an order
bought meanwhile is gone); for an empty cart the message ends ``suppressed``, ``empty_cart``.
A send whose node needs recommendations (``recommended: {kind, at_least}``) ends
``suppressed``, ``nothing_to_recommend``, when the recipient has fewer of that kind now.

With ``links`` (the server's public URL and links secret), every marketing email carries
its one-click unsubscribe link: the ``List-Unsubscribe`` and ``List-Unsubscribe-Post``
headers (RFC 8058) and ``unsubscribe_url`` in the template's context (the footer's link).
With ``tracking`` (``clicks``, ``opens``) and ``links``, an email's links go through a signed
redirect that records the click, and an open pixel records opens.
With ``lookups``, templates read the profile's segments and the catalogue's products as
they are when the message leaves (:mod:`juncture.channels.lookups`); its messages are
rendered on a worker thread, since such reads go to the store (without, on the loop: the
demo's dispatcher, whose rendering is part of its minute).
With ``recipients``, a message to an address that is suppressed (a hard bounce, a
complaint, an SMS STOP) ends ``suppressed`` with the reason, ``suppressed:<reason>``.

Crash safety and what "exactly once" means
------------------------------------------

A row is marked ``sending`` (and the attempt counted) in a committed transaction *before* the
send, with a lease. If the process dies after that commit and before the result is recorded,
nobody knows whether the message left: the row is *in doubt*. At start-up
(:meth:`Dispatcher.recover`, called by :meth:`Dispatcher.run_forever`), or whenever a lease
has passed, in-doubt rows are sent again **with the same idempotency key**. So Juncture itself
sends each message *at least once*; what the recipient sees is:

- **Webhooks**: every attempt carries the same ``Idempotency-Key`` header (and the signature
  covers the body, which is the same). A receiver that stores the keys it has handled sees each
  message exactly once.
- **Email**: every attempt carries the same ``Message-ID`` (derived from the key). SMTP has no
  idempotency: a relay that accepted the first copy will deliver the second too, but mail
  clients and archives that deduplicate on ``Message-ID`` (Gmail threads them; many MTAs and
  ESP APIs drop repeats) show one message. A duplicate is only possible in the window between
  the server's ``250`` and our commit of the result.
- **SMS and push (generic JSON providers)**: the same ``Idempotency-Key`` header and
  ``idempotency_key`` field on every attempt; a provider that honours them delivers once.
- **Twilio SMS**: Twilio does not deduplicate message creation, so an in-doubt Twilio message
  may arrive twice. Name such channels in ``at_most_once`` to dead-letter in-doubt rows instead
  of re-sending them (a person decides), trading a possible duplicate for a possible loss.

Retries after an *answered* failure (a 5xx, a 4xx SMTP reply) are not duplicates: the
provider said the message was not taken. Timeouts are in doubt in the same way as crashes and
are retried with the same key.

Several dispatchers may share one table: on PostgreSQL the claim uses ``FOR UPDATE SKIP
LOCKED``, and on both databases it is a compare-and-set on (status, attempts), so a row is
claimed once per attempt. With several dispatchers, start each with ``takeover=False`` so
that one does not re-send rows another is still sending; expired leases still recover them.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import logging
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from juncture.channels.base import Channel, DeliveryResult, OutboundMessage
from juncture.channels.links import Links
from juncture.channels.shelf import Shelf
from juncture.channels.templates import EmptyCart, TemplateError, Templates
from juncture.core.channels import OPT_IN
from juncture.errors import Unavailable
from juncture.runtime.addresses import address, redacted
from juncture.runtime.clock import Clock
from juncture.runtime.composer import Composer
from juncture.runtime.retry_policy import RetryPolicy
from juncture.store.carts import Carts
from juncture.store.outbox import Attempt, Outbox, OutboxRow
from juncture.store.outbox_probe import DueProbe
from juncture.store.recipients import Recipients

log = logging.getLogger("juncture.dispatcher")
NOTHING_TO_RECOMMEND = "nothing_to_recommend"  # a send that needs recommendations had none


@dataclass(slots=True)
class DispatchReport:
    """What one round did. ``in_doubt`` counts rows re-sent after a crash or lost lease."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    dead: int = 0
    in_doubt: int = 0
    suppressed: int = 0

    def add(self, other: DispatchReport) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


class Dispatcher:
    """Sends ``outbox`` (a store's, ``SqlStore.outbox``) through ``channels`` (keyed by
    channel name)."""

    def __init__(
        self,
        outbox: Outbox,
        channels: Mapping[str, Channel],
        clock: Clock,
        policy: RetryPolicy | None = None,
        *,
        templates: Templates | None = None,
        concurrency: int = 16,
        lease: dt.timedelta = dt.timedelta(minutes=5),
        send_timeout: float = 120.0,
        at_most_once: Collection[str] = (),
        links: Links | None = None,
        recipients: Recipients | None = None,
        tracking: Collection[str] = (),
        shelf: Callable[[str], list[Any]] | None = None,
        lookups: Callable[[str], Mapping[str, Any]] | None = None,
    ) -> None:
        self.outbox = outbox
        self.channels = dict(channels)
        self.clock = clock
        self.policy = policy or RetryPolicy()
        self.templates = templates or Templates()
        self.lease = lease
        self.send_timeout = send_timeout
        self.at_most_once = frozenset(at_most_once)
        self.recipients = recipients
        self.shelf = shelf  # a profile's recommendations, read if a template lists them
        self.composer = Composer(self.templates, links, frozenset(tracking), shelf, lookups)
        self._slots = asyncio.Semaphore(concurrency)
        self._carts = Carts(self.outbox)
        self._probe = DueProbe(outbox)

    async def aclose(self) -> None:
        """Close the channels that hold connections (HTTP clients), and the store's."""
        self._probe.close()
        for channel in self.channels.values():
            close = getattr(channel, "aclose", None)
            if close is not None:
                await close()

    async def recover(self) -> int:
        """Make rows left ``sending`` by a dead process due now; they are re-sent with their
        idempotency keys by the next round. Call once at start-up, before any round."""
        count = await asyncio.to_thread(self.outbox.release_in_doubt, self.clock.now())
        if count:
            log.warning("%d outbox rows in doubt after a restart: sending again", count)
        return count

    def anything_due(self) -> bool:
        """Whether a round now may find something to send: one indexed statement, without a
        thread or a transaction (True when unsure; the round's claim decides)."""
        return self._probe.anything_due(self.clock.now())

    async def run_once(self, limit: int = 100) -> DispatchReport:
        """Claim up to ``limit`` due rows, send them, record each attempt."""
        now = self.clock.now()
        if not self._probe.anything_due(now):  # most rounds: see anything_due
            return DispatchReport()
        rows = await asyncio.to_thread(self.outbox.claim, now, limit, self.lease)
        report = DispatchReport(claimed=len(rows))
        for outcome in await asyncio.gather(*(self._bounded(row) for row in rows)):
            report.add(outcome)
        if rows:
            log.info(
                "dispatched: %d claimed, %d sent, %d retried, %d dead, %d in doubt",
                report.claimed,
                report.sent,
                report.retried,
                report.dead,
                report.in_doubt,
            )
        return report

    async def run_forever(
        self,
        stop: asyncio.Event,
        idle_sleep: float = 1.0,
        *,
        limit: int = 100,
        takeover: bool = True,
    ) -> DispatchReport:
        """Rounds until ``stop`` is set, sleeping ``idle_sleep`` seconds when nothing was due.
        ``takeover``: re-send every ``sending`` row at start (the only dispatcher)."""
        total = DispatchReport()
        if takeover:
            await self.recover()
        while not stop.is_set():
            try:
                report = await self.run_once(limit)
            except Unavailable as exc:  # leases bring the claimed rows back later
                log.warning("dispatch round failed, will retry: %s", exc.code)
                report = DispatchReport()
            total.add(report)
            if report.claimed < limit:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), idle_sleep)
        return total

    async def _bounded(self, row: OutboxRow) -> DispatchReport:
        if row.purpose == "marketing" and row.channel in OPT_IN:
            # Consent is checked again at the last moment: a customer may have withdrawn it
            # while the message waited (quiet hours, a retry, a queue).
            refused = await asyncio.to_thread(
                self.outbox.consent_refused, row.profile_id, row.channel
            )
            if refused:
                reason = f"no_consent:{row.channel}:marketing"
                await asyncio.to_thread(self.outbox.suppress, row.id, reason)
                return DispatchReport(suppressed=1)
        if (why := await self._address_suppressed(row)) is not None:
            await asyncio.to_thread(self.outbox.suppress, row.id, f"suppressed:{why}")
            return DispatchReport(suppressed=1)
        if not await asyncio.to_thread(self._recommends_enough, row):
            await asyncio.to_thread(self.outbox.suppress, row.id, NOTHING_TO_RECOMMEND)
            return DispatchReport(suppressed=1)
        if self.templates.lists_cart(row.template, row.payload.get("inline")):
            cart = await asyncio.to_thread(self._carts.at_send, row.profile_id, row.enrollment_id)
            if cart is not None:  # the cart now, not when the message was decided
                row = dataclasses.replace(row, payload={**row.payload, "cart": cart})
        async with self._slots:
            started = time.perf_counter()
            try:
                result = await self._attempt(row)
            except EmptyCart as exc:  # nothing to remind of: never an empty basket
                await asyncio.to_thread(self.outbox.suppress, row.id, exc.code)
                return DispatchReport(suppressed=1)
            elapsed = (time.perf_counter() - started) * 1000
        return await self._record(row, result, elapsed)

    def _recommends_enough(self, row: OutboxRow) -> bool:
        """Whether a send that needs recommendations (its node's ``recommended``) has
        enough of its kind for the recipient now (none without a recommender)."""
        needs = row.payload.get("recommended")
        if not isinstance(needs, dict):
            return True
        found = self.shelf(row.profile_id) if self.shelf is not None else []
        kind = str(needs.get("kind"))
        have = found.kind(kind) if isinstance(found, Shelf) else found
        return len(have) >= int(needs.get("at_least", 1))

    async def _address_suppressed(self, row: OutboxRow) -> str | None:
        """Why the row's address must not be sent to (a bounce, a complaint, a STOP)."""
        found = address(row.channel, row.purpose, row.payload)
        if self.recipients is None or found is None:
            return None
        return await asyncio.to_thread(self.recipients.suppressed, row.channel, found, row.purpose)

    async def _attempt(self, row: OutboxRow) -> DeliveryResult:
        channel = self.channels.get(row.channel)
        if channel is None:
            return DeliveryResult.failed(f"no channel {row.channel!r} configured", retryable=False)
        if row.in_doubt and row.channel in self.at_most_once:
            return DeliveryResult.failed(
                "in doubt after an interrupted send; not sent again (at-most-once channel)",
                retryable=False,
            )
        try:  # with lookups a template may read the store: off the event loop then
            if self.composer.lookups is None:
                message = self.message(row)
            else:
                message = await asyncio.to_thread(self.message, row)
        except EmptyCart:
            raise
        except TemplateError as exc:
            return DeliveryResult.failed(exc.message, retryable=False)
        try:
            result = await asyncio.wait_for(channel.send(message), self.send_timeout)
        except TimeoutError:
            return DeliveryResult.failed(f"{row.channel}: no answer in time", retryable=True)
        except Exception as exc:  # noqa: BLE001 - a channel bug must not leave the row in limbo
            log.error("channel %s raised %s instead of answering", row.channel, type(exc).__name__)
            return DeliveryResult.failed(f"{row.channel}: {type(exc).__name__}", retryable=True)
        return redacted(result, message)

    def message(self, row: OutboxRow) -> OutboundMessage:
        """The message for a row, its template rendered (raises :class:`TemplateError`)."""
        return self.composer.message(row)

    async def _record(self, row: OutboxRow, result: DeliveryResult, ms: float) -> DispatchReport:
        now = self.clock.now()
        later = None
        if not result.ok:
            later = self.policy.next_attempt(row.attempts, result, row.idempotency_key, now)
        attempt = Attempt(
            ok=result.ok, status_code=result.status_code, error=result.error, duration_ms=ms
        )
        dead = not result.ok and later is None
        await asyncio.to_thread(self.outbox.record_attempt, row.id, attempt, now, later, dead=dead)
        return DispatchReport(
            sent=int(result.ok),
            retried=int(later is not None),
            dead=int(dead),
            in_doubt=int(row.in_doubt),
        )
