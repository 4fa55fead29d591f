"""A channel that records what it is asked to send, for tests and dry runs.

Answers come from a script (one :class:`DeliveryResult` per call, then ``default``), so a test
can make the first attempts fail and the next succeed.

>>> import asyncio
>>> ch = RecordingChannel(script=[DeliveryResult.failed("busy", retryable=True)])
>>> msg = OutboundMessage(1, "k1", "email", "marketing", None)
>>> [asyncio.run(ch.send(msg)).ok for _ in range(2)], ch.keys()
([False, True], ['k1', 'k1'])
"""

from __future__ import annotations

from collections.abc import Iterable

from juncture.channels.base import DeliveryResult, OutboundMessage


class RecordingChannel:
    """Keeps every message in :attr:`sent` (attempts included, failed or not)."""

    def __init__(
        self,
        *,
        script: Iterable[DeliveryResult] = (),
        default: DeliveryResult | None = None,
    ) -> None:
        self.sent: list[OutboundMessage] = []
        self._script = list(script)
        self._default = default or DeliveryResult.sent(status_code=200)

    def answer(self, *results: DeliveryResult) -> None:
        """Queue answers for the next calls."""
        self._script.extend(results)

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        self.sent.append(message)
        return self._script.pop(0) if self._script else self._default

    def keys(self) -> list[str]:
        """The idempotency keys in the order they were sent."""
        return [m.idempotency_key for m in self.sent]
