"""Proof that a browser speaks for a user: the retailer's backend signs the user id.

Write keys are public (every storefront ships one), so a request that names a ``userId``
proves nothing. For on-site decisions, which may show a basket, a name or loyalty points,
the retailer's backend computes ``user_hash`` of the logged-in user with a secret it shares
with Juncture (``JUNCTURE_IDENTITY_SECRET``) and puts it in the page, as chat and
personalisation vendors do; a request without a valid one is answered as for a visitor
nobody knows.

In Python (any language has HMAC-SHA256)::

    hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()
"""

from __future__ import annotations

import hashlib
import hmac


def user_hash(secret: str, user_id: str) -> str:
    """The hex HMAC-SHA256 of ``user_id`` (UTF-8) under ``secret``."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def verified(secret: str | None, user_id: str, proof: str | None) -> bool:
    """Whether ``proof`` is ``user_hash(secret, user_id)`` (never, without a secret).

    >>> verified("s", "u1", user_hash("s", "u1"))
    True
    >>> verified("s", "u1", user_hash("s", "u2")) or verified(None, "u1", "x")
    False
    """
    if not secret or not proof:
        return False
    return hmac.compare_digest(user_hash(secret, user_id), proof.strip().lower())
