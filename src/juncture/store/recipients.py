"""Recipients' answers to messages: who a delivery went to, the addresses not to send to,
and what recipients and providers said about each delivery (tables of
:mod:`juncture.store.feedback_tables`).

Addresses are kept as a SHA-256 of the normalized address (:func:`address_key`): a
suppression must outlive the customer's erasure (an address that bounced is still
undeliverable, a STOP still stands), without the store keeping the address itself.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson
import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.store import engagement, tables
from juncture.store.catalog import Repository
from juncture.store.feedback_tables import delivery_feedback as F
from juncture.store.feedback_tables import suppressions as S

OUTBOX = tables.outbox
ADDRESSES: Final = ("user_id:", "anonymous_id:")  # identifiers an event can name, best first
SCOPES: Final = ("marketing", "all")  # narrow to wide: a wider one is never narrowed
# What engagement counts, by the feedback kinds that make it.
RATES: Final = {
    "opened": ("open", "click"),  # a click without the pixel was an open too
    "clicked": ("click",),
    "unsubscribed": ("unsubscribe",),
    "bounced": ("hard_bounce", "soft_bounce"),
    "complained": ("complaint",),
}


def address_key(address: str) -> str:
    """The stored form of a normalized address: its SHA-256, hex."""
    return hashlib.sha256(address.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Addressee:
    """Who one delivery was for: ``identifier`` (``user_id:...`` or ``anonymous_id:...``) is
    what an event names to reach the same profile (None once the profile was erased)."""

    outbox_id: int
    profile_id: str
    channel: str
    purpose: str
    journey_id: str | None
    node_id: str | None
    identifier: str | None


@dataclass(frozen=True, slots=True)
class Feedback:
    outbox_id: int | None
    channel: str
    kind: str
    at: dt.datetime
    detail: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "deliveryId": self.outbox_id,
            "channel": self.channel,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "detail": self.detail,
        }


class Recipients(Repository):
    """Over one store's engine (``Recipients(store.engine)``). Every method is one
    transaction."""

    def addressee(self, outbox_id: int) -> Addressee | None:
        """Who delivery ``outbox_id`` went to; None for no such delivery."""
        ident = tables.identities
        with self._begin("read a delivery's recipient") as conn:
            row = conn.execute(sa.select(OUTBOX).where(OUTBOX.c.id == outbox_id)).first()
            if row is None:
                return None
            names = conn.execute(
                sa.select(ident.c.identifier).where(ident.c.profile_id == row.profile_id)
            ).scalars()
            found = sorted((str(n) for n in names if str(n).startswith(ADDRESSES)), key=_rank)
        return Addressee(
            outbox_id=outbox_id,
            profile_id=str(row.profile_id),
            channel=str(row.channel),
            purpose=str(row.purpose),
            journey_id=row.journey_id,
            node_id=row.node_id,
            identifier=found[0] if found else None,
        )

    def identifiers(self, profile_ids: Sequence[str]) -> dict[str, str]:
        """For each profile, an identifier an event can name to reach it (its user id if it
        has one, else an anonymous id); profiles without one are left out."""
        ident = tables.identities
        found: dict[str, list[str]] = {}
        with self._begin("read profiles' identifiers") as conn:
            for start in range(0, len(profile_ids), 500):
                chunk = list(profile_ids[start : start + 500])
                query = sa.select(ident.c.profile_id, ident.c.identifier).where(
                    ident.c.profile_id.in_(chunk)
                )
                for pid, name in conn.execute(query):
                    if str(name).startswith(ADDRESSES):
                        found.setdefault(str(pid), []).append(str(name))
        return {pid: sorted(names, key=_rank)[0] for pid, names in found.items()}

    def consent_counts(self, profile_ids: Sequence[str], channel: str) -> dict[str, int]:
        """Of these profiles, how many granted marketing on ``channel``, refused it, or never
        said (the resolved consent of each, as the dispatcher reads it)."""
        p = tables.profiles
        counts = {"granted": 0, "refused": 0, "unstated": 0}
        with self._begin("read consent") as conn:
            for start in range(0, len(profile_ids), 500):
                chunk = list(profile_ids[start : start + 500])
                for (consent,) in conn.execute(
                    sa.select(p.c.consent).where(p.c.profile_id.in_(chunk))
                ):
                    given = _consent(consent).get(f"{channel}:marketing")
                    key = "unstated" if given is None else "granted" if given else "refused"
                    counts[key] += 1
        return counts

    def last_delivery_to(self, channel: str, key: str, value: str) -> int | None:
        """The latest delivery on ``channel`` whose payload's ``key`` was ``value`` (an SMS
        reply names the number, not the message it answers); None when there is none."""
        found = self.deliveries_to(channel, key, value, limit=1)
        return found[0][0] if found else None

    def deliveries_to(
        self, channel: str, key: str, value: str, limit: int = 20
    ) -> list[tuple[int, str]]:
        """The latest deliveries (id, idempotency key) on ``channel`` whose payload's ``key``
        was ``value``, newest first."""
        # orjson writes the payload compactly: the pair appears exactly so in the text.
        needle = f'"{key}":"{value}"'.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = (
            sa.select(OUTBOX.c.id, OUTBOX.c.idempotency_key)
            .where(
                OUTBOX.c.channel == channel,
                OUTBOX.c.payload.like(f"%{needle}%", escape="\\"),
            )
            .order_by(OUTBOX.c.id.desc())
            .limit(limit)
        )
        with self._begin("find deliveries by their address") as conn:
            return [(int(i), str(k)) for i, k in conn.execute(query)]

    def suppress(
        self,
        channel: str,
        address: str,
        *,
        scope: str,
        reason: str,
        at: dt.datetime,
        outbox_id: int | None = None,
    ) -> None:
        """Stop ``channel`` to ``address`` (normalized) for ``scope``; a wider scope already
        stated stays."""
        key = address_key(address)
        values = {"scope": scope, "reason": reason, "at": as_utc(at), "outbox_id": outbox_id}
        with self._begin("suppress an address") as conn:
            known = conn.execute(
                sa.select(S.c.scope).where(S.c.channel == channel, S.c.address == key)
            ).scalar()
            if known is None:
                conn.execute(S.insert().values(channel=channel, address=key, **values))
            elif SCOPES.index(scope) >= SCOPES.index(str(known)):
                where = sa.and_(S.c.channel == channel, S.c.address == key)
                conn.execute(S.update().where(where).values(**values))

    def lift(self, channel: str, address: str, *, only: str = "marketing") -> bool:
        """Lift a suppression of scope ``only`` (an SMS START lifts a STOP, not a bounce)."""
        where = sa.and_(
            S.c.channel == channel, S.c.address == address_key(address), S.c.scope == only
        )
        with self._begin("lift a suppression") as conn:
            return bool(conn.execute(S.delete().where(where)).rowcount)

    def suppressed(self, channel: str, address: str, purpose: str) -> str | None:
        """Why ``channel`` must not reach ``address`` for ``purpose``; None when it may."""
        return self.suppressions(channel, [address], purpose).get(address)

    def suppressions(
        self, channel: str, addresses: Collection[str], purpose: str
    ) -> dict[str, str]:
        """Of ``addresses`` (normalized), those ``channel`` must not reach for ``purpose``,
        with why; a statement per 500 addresses."""
        keys = {address_key(a): a for a in addresses}
        found: dict[str, str] = {}
        ordered = sorted(keys)
        with self._begin("read suppressions") as conn:
            for start in range(0, len(ordered), 500):
                query = sa.select(S.c.address, S.c.scope, S.c.reason).where(
                    S.c.channel == channel, S.c.address.in_(ordered[start : start + 500])
                )
                for key, scope, reason in conn.execute(query):
                    if scope != "marketing" or purpose == "marketing":
                        found[keys[key]] = str(reason)
        return found

    def record(
        self, outbox_id: int | None, channel: str, kind: str, at: dt.datetime, detail: str = ""
    ) -> None:
        """One thing said about a delivery (``kind``: unsubscribe, bounce, complaint, stop,
        open, click)."""
        row = {"outbox_id": outbox_id, "channel": channel, "kind": kind, "at": as_utc(at)}
        with self._begin("record delivery feedback") as conn:
            conn.execute(F.insert().values(**row, detail=detail or None))

    def engagement(self, journey_id: str | None = None) -> list[dict[str, Any]]:
        """Per journey and send node, emails sent and how many of them were opened, clicked,
        unsubscribed from, bounced or complained of (each delivery counted once)."""
        o, f = OUTBOX, F
        joined = o.outerjoin(f, f.c.outbox_id == o.c.id)

        def reached(*kinds: str) -> Any:
            return sa.func.count(sa.distinct(sa.case((f.c.kind.in_(kinds), o.c.id))))

        query = (
            sa.select(
                o.c.journey_id,
                o.c.node_id,
                sa.func.count(sa.distinct(o.c.id)).label("sent"),
                *(reached(*kinds).label(name) for name, kinds in RATES.items()),
            )
            .select_from(joined)
            .where(o.c.channel == "email", o.c.status == "sent")
            .group_by(o.c.journey_id, o.c.node_id)
            .order_by(o.c.journey_id, o.c.node_id)
        )
        if journey_id is not None:
            query = query.where(o.c.journey_id == journey_id)
        with self._begin("read engagement") as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def engagement_by_variant(
        self, journey_id: str, splits: Collection[str]
    ) -> list[dict[str, Any]]:
        """:meth:`engagement` of one journey per send node and variant (the branches of
        ``splits`` taken), counting trackers' ``Email Opened`` and ``Email Link Clicked``
        too (:mod:`juncture.store.engagement`)."""
        return engagement.by_variant(self.engine, journey_id, splits)

    def feedback(self, outbox_id: int) -> list[Feedback]:
        """What was said about one delivery, oldest first."""
        query = sa.select(F).where(F.c.outbox_id == outbox_id).order_by(F.c.id)
        with self._begin("read delivery feedback") as conn:
            rows = conn.execute(query).all()
        return [Feedback(r.outbox_id, r.channel, r.kind, as_utc(r.at), r.detail) for r in rows]


def _consent(value: object) -> dict[str, Any]:
    """A stored resolved consent (JSON, text on some drivers) as a mapping."""
    if isinstance(value, str):
        value = orjson.loads(value)
    return value if isinstance(value, dict) else {}


def _rank(identifier: str) -> tuple[int, str]:
    return (0 if identifier.startswith(ADDRESSES[0]) else 1, identifier)
