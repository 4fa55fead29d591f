"""One journey's email engagement per send node and variant, counting what trackers said
too.

A variant is the branch each split of the journey sent the recipient down (``ab=b``;
several splits joined by ``,``; empty outside splits), read from the message's payload.
Opens and clicks come from Juncture's own pixel and tracked links (``delivery_feedback``)
and from ``Email Opened`` / ``Email Link Clicked`` events that a tracker sent (an email
provider's events through Segment, say): such an event names the delivery in
``properties.email_id``, either as Juncture's own events do (the delivery's id) or by the
``Message-ID`` the email carried (``<digest@domain>``, derived from the delivery's
idempotency key), which is what providers report.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Collection, Iterator
from typing import Any, Final

import orjson
import sqlalchemy as sa

from juncture.store import failures, tables
from juncture.store.feedback_tables import delivery_feedback as F

OUTBOX: Final = tables.outbox
OWN_SOURCE: Final = "messages"  # Juncture's own events (already in delivery_feedback)
TRACKED: Final = {"Email Opened": "open", "Email Link Clicked": "click"}
COUNTS: Final = {
    "opened": ("open", "click"),  # a click without the pixel was an open too
    "clicked": ("click",),
    "unsubscribed": ("unsubscribe",),
    "bounced": ("hard_bounce", "soft_bounce"),
    "complained": ("complaint",),
}
PAGE: Final = 2000


def digest(idempotency_key: str) -> str:
    """The local part of the ``Message-ID`` an email with this key carries."""
    return hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]


def by_variant(engine: sa.Engine, journey_id: str, splits: Collection[str]) -> list[dict[str, Any]]:
    """Rows of ``journey_id``'s sent email per (node, variant): ``sent`` and how many of
    those deliveries were opened, clicked, unsubscribed from, bounced, complained of."""
    with failures.connection(engine) as conn:
        sent = {row.id: row for row in _sent(conn, journey_id)}
        said: dict[int, set[str]] = defaultdict(set)
        for outbox_id, kind in _feedback(conn, journey_id):
            said[outbox_id].add(kind)
        named = {str(i): i for i in sent} | {digest(r.idempotency_key): i for i, r in sent.items()}
        for email_id, kind in _tracked(conn):
            found = named.get(_local(email_id))
            if found is not None:
                said[found].add(kind)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for outbox_id, row in sent.items():
        groups[(row.node_id or "", _variant(row.payload, splits))].append(outbox_id)
    return [
        _row(journey_id, node, variant, ids, said)
        for (node, variant), ids in sorted(groups.items())
    ]


def _sent(conn: sa.Connection, journey_id: str) -> Iterator[Any]:
    o = OUTBOX
    query = sa.select(o.c.id, o.c.node_id, o.c.idempotency_key, o.c.payload).where(
        o.c.journey_id == journey_id, o.c.channel == "email", o.c.status == "sent"
    )
    yield from conn.execution_options(yield_per=PAGE).execute(query)


def _feedback(conn: sa.Connection, journey_id: str) -> Iterator[tuple[int, str]]:
    o = OUTBOX
    ids = sa.select(o.c.id).where(o.c.journey_id == journey_id, o.c.channel == "email")
    query = sa.select(F.c.outbox_id, F.c.kind).where(F.c.outbox_id.in_(ids))
    for outbox_id, kind in conn.execute(query):
        yield int(outbox_id), str(kind)


def _tracked(conn: sa.Connection) -> Iterator[tuple[str, str]]:
    """(email_id, open or click) of each tracker's ``Email Opened``/``Email Link Clicked``."""
    e = tables.events
    query = sa.select(e.c.event, e.c.body).where(
        e.c.event.in_(tuple(TRACKED)), e.c.source != OWN_SOURCE
    )
    for event, body in conn.execution_options(yield_per=PAGE).execute(query):
        properties = _json(body).get("properties")
        email_id = properties.get("email_id") if isinstance(properties, dict) else None
        if isinstance(email_id, str | int) and str(email_id):
            yield str(email_id), TRACKED[str(event)]


def _local(email_id: str) -> str:
    """A delivery id as it is, a ``Message-ID`` as its local part."""
    return email_id.strip().strip("<>").partition("@")[0]


def _variant(payload: object, splits: Collection[str]) -> str:
    branches = _json(payload).get("branches")
    if not isinstance(branches, dict):
        return ""
    return ",".join(f"{n}={b}" for n, b in sorted(branches.items()) if n in splits)


def _json(text: object) -> dict[str, Any]:
    try:
        found = orjson.loads(text) if isinstance(text, str | bytes) else text
    except orjson.JSONDecodeError:
        return {}
    return found if isinstance(found, dict) else {}


def _row(
    journey_id: str, node: str, variant: str, ids: list[int], said: dict[int, set[str]]
) -> dict[str, Any]:
    counts = {name: sum(1 for i in ids if said[i] & set(kinds)) for name, kinds in COUNTS.items()}
    return {"journey_id": journey_id, "node_id": node, "variant": variant, "sent": len(ids),
            **counts}  # fmt: skip
