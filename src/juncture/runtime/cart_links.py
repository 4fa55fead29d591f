"""Links that rebuild a shopper's cart: the cart's lines signed (itsdangerous, HMAC) under
the identity secret with a salt of their own, with the time they were made, so that a link
is refused once changed or older than its time to live. The token carries the product ids and
quantities only; the endpoint that redeems it reads today's prices and stock."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import itsdangerous

from juncture.runtime.clock import Clock

TTL: Final = dt.timedelta(days=7)
PATH: Final = "/v1/carts/restore/"
_SALT: Final = "juncture.cart-link"


class LinkRefused(Exception):
    """A token that was changed, made under another secret, or is too old (``expired``)."""

    def __init__(self, expired: bool) -> None:
        super().__init__("expired" if expired else "bad signature")
        self.expired = expired


@dataclass(frozen=True, slots=True)
class Restored:
    """What a link named: the profile whose cart it was and the (product id, quantity)
    lines, and when it stops working."""

    profile_id: str
    lines: list[tuple[str, int]]
    expires_at: dt.datetime


def _serializer(secret: str, clock: Clock) -> itsdangerous.URLSafeTimedSerializer:
    """itsdangerous' serializer, its timestamps read from ``clock`` (so tests and the
    simulator move time) and signed with SHA-256."""

    class Signer(itsdangerous.TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())

    return itsdangerous.URLSafeTimedSerializer(
        secret, salt=_SALT, signer=Signer, signer_kwargs={"digest_method": hashlib.sha256}
    )


class CartLinks:
    """Makes and checks cart links on the runtime's clock."""

    def __init__(self, secret: str, clock: Clock, ttl: dt.timedelta = TTL) -> None:
        self.clock = clock
        self.ttl = ttl
        self._signer = _serializer(secret, clock)

    def link(self, profile_id: str, lines: Sequence[tuple[str, int]]) -> str:
        """The path that rebuilds these lines."""
        return PATH + self._signer.dumps([profile_id, [list(x) for x in lines]])

    def restore(self, token: str) -> Restored:
        """The lines a token names; :class:`LinkRefused` when changed or expired."""
        try:
            body, made = self._signer.loads(
                token, max_age=int(self.ttl.total_seconds()), return_timestamp=True
            )
        except itsdangerous.SignatureExpired as exc:
            raise LinkRefused(expired=True) from exc
        except itsdangerous.BadData as exc:
            raise LinkRefused(expired=False) from exc
        profile_id, lines = body
        found = [(str(pid), int(qty)) for pid, qty in lines]
        return Restored(str(profile_id), found, made + self.ttl)
