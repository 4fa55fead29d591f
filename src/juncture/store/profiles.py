"""Reads of the engine's projection for the profile API: profiles, identifiers, merge
history, identity conflicts and the unified timeline of a person.

A merged profile keeps its row with ``redirect_to`` pointing at the survivor (always one hop,
see ``store/state.py``), and its events keep the profile id they were stored with. So a
person is the live profile plus every profile that redirects to it, and their timeline is
the events of all of those ids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final

import msgspec
import sqlalchemy as sa

from juncture.core.events import Event, as_utc
from juncture.core.identity import Conflict, Merge, Node
from juncture.core.profile.model import Profile
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store import dialects, failures, product_views, tables

_P: Final = tables.profiles
_node_decoder: Final = msgspec.json.Decoder(Node)


@dataclass(frozen=True, slots=True)
class StoredProfile:
    """A live profile as stored: the profile (body and product views), the fact columns and
    who was merged into it.

    ``requested`` is the id that was asked for; it differs from ``profile.profile_id`` when
    that id was merged away and the read followed its redirect.
    """

    requested: str
    profile: Profile
    node: Node | None
    stage: str | None
    updated_at: dt.datetime | None
    merged_ids: tuple[str, ...]

    @property
    def profile_id(self) -> str:
        return self.profile.profile_id

    @property
    def ids(self) -> tuple[str, ...]:
        """The live id and every merged id: whose events are this person's."""
        return (self.profile_id, *self.merged_ids)


@dataclass(frozen=True, slots=True)
class Identifier:
    """An identifier (``kind:value``) and the profile id it was first attached to."""

    identifier: str
    attached_to: str

    @property
    def kind(self) -> str:
        return self.identifier.split(":", 1)[0]

    @property
    def value(self) -> str:
        return self.identifier.split(":", 1)[1] if ":" in self.identifier else ""


class ProfileReads:
    """Read-only queries over one SQL store (``SqlStore.profiles``); each is one short
    read transaction."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _connect(self) -> AbstractContextManager[sa.Connection]:
        return failures.connection(self.engine)

    def profile(self, profile_id: str) -> StoredProfile | None:
        """The live profile ``profile_id`` is or was merged into; None if unknown."""
        with self._connect() as conn:
            row = conn.execute(
                sa.select(_P.c.redirect_to).where(_P.c.profile_id == profile_id)
            ).first()
            if row is None:
                return None
            live = row[0] or profile_id
            return self._live(conn, profile_id, live)

    def _live(self, conn: sa.Connection, requested: str, live: str) -> StoredProfile | None:
        row = conn.execute(
            sa.select(_P.c.body, _P.c.node, _P.c.stage, _P.c.updated_at).where(
                _P.c.profile_id == live, _P.c.redirect_to.is_(None)
            )
        ).first()
        if row is None or row.body is None:
            return None
        merged = conn.execute(
            sa.select(_P.c.profile_id).where(_P.c.redirect_to == live).order_by(_P.c.profile_id)
        ).scalars()
        views = product_views.read(conn, [live]).get(live)
        return StoredProfile(
            requested=requested,
            profile=product_views.profile(row.body, views),
            node=_node_decoder.decode(row.node) if row.node else None,
            stage=row.stage,
            updated_at=as_utc(row.updated_at) if row.updated_at else None,
            merged_ids=tuple(merged),
        )

    def by_identifier(self, identifier: str) -> StoredProfile | None:
        """The live profile holding ``identifier`` (``"kind:value"``) in the identity graph."""
        t = tables.identities
        with self._connect() as conn:
            pid = conn.execute(
                sa.select(t.c.profile_id).where(t.c.identifier == identifier)
            ).scalar_one_or_none()
        return None if pid is None else self.profile(pid)

    def by_email_trait(self, email: str) -> list[StoredProfile]:
        """Live profiles whose ``email`` trait is ``email`` (compared lower-cased): the
        look-up when emails do not link profiles and so are not in the graph."""
        query = (
            sa.select(_P.c.profile_id)
            .where(sa.func.lower(_P.c.email) == email, _P.c.redirect_to.is_(None))
            .order_by(_P.c.first_seen, _P.c.profile_id)
            .limit(100)
        )
        with self._connect() as conn:
            ids = list(conn.execute(query).scalars())
        found = [self.profile(pid) for pid in ids]
        return [p for p in found if p is not None]

    def events(
        self,
        profile_ids: Sequence[str],
        *,
        after_seq: int = 0,
        limit: int = 100,
        derived: bool | None = None,
    ) -> list[Event]:
        """Events stored with any of ``profile_ids``, in ``seq`` order."""
        t = tables.events
        query = (
            sa.select(t)
            .where(t.c.profile_id.in_(list(profile_ids)), t.c.seq > after_seq)
            .order_by(t.c.seq)
            .limit(limit)
        )
        if derived is not None:
            is_derived = t.c.source == DERIVED_SOURCE
            query = query.where(is_derived if derived else ~is_derived)
        with self._connect() as conn:
            return [dialects.event_of(row._mapping) for row in conn.execute(query)]

    def identifiers(self, profile_ids: Sequence[str]) -> list[Identifier]:
        t = tables.identities
        query = (
            sa.select(t.c.identifier, t.c.profile_id)
            .where(t.c.profile_id.in_(list(profile_ids)))
            .order_by(t.c.identifier)
        )
        with self._connect() as conn:
            return [Identifier(identifier=i, attached_to=p) for i, p in conn.execute(query)]

    def merges(self, profile_ids: Sequence[str]) -> list[Merge]:
        """Every merge that folded one of ``profile_ids`` into another, oldest first."""
        t = tables.merges
        ids = list(profile_ids)
        query = (
            sa.select(t)
            .where(sa.or_(t.c.survivor.in_(ids), t.c.merged.in_(ids)))
            .order_by(t.c.at, t.c.id)
        )
        with self._connect() as conn:
            return [_merge(row._mapping) for row in conn.execute(query)]

    def conflicts(self, profile_ids: Sequence[str], identifiers: Sequence[str]) -> list[Conflict]:
        """Refused links that touched these profiles, or that one of ``identifiers``
        (the profile's own) asked for."""
        t = tables.identity_conflicts
        query = (
            sa.select(t)
            .where(sa.or_(t.c.profile_id.in_(list(profile_ids)), t.c.other.in_(list(identifiers))))
            .order_by(t.c.at, t.c.id)
            .limit(1000)
        )
        with self._connect() as conn:
            return [_conflict(row._mapping) for row in conn.execute(query)]


def _merge(row: Any) -> Merge:
    return Merge(
        survivor=row["survivor"],
        merged=row["merged"],
        by_message_id=row["by_message_id"],
        at=as_utc(row["at"]),
        reason=row["reason"],
    )


def _conflict(row: Any) -> Conflict:
    return Conflict(
        identifier=row["identifier"],
        profile_id=row["profile_id"],
        other=row["other"],
        by_message_id=row["by_message_id"],
        at=as_utc(row["at"]),
        reason=row["reason"],
    )
