"""SQLAlchemy's errors as the store's own, at the boundary: callers outside ``store/`` catch
:class:`~juncture.errors.StoreUnavailable` and :class:`~juncture.errors.StoreError`, never a
SQLAlchemy type.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from juncture.errors import StoreError, StoreUnavailable


@contextmanager
def mapped(doing: str) -> Iterator[None]:
    """Run the block; a database that cannot be reached raises StoreUnavailable, any other
    SQLAlchemy error StoreError. ``doing`` completes "the store cannot ..." (``read
    journey stats``)."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        raise StoreUnavailable(f"the store cannot {doing}: {exc.orig}") from exc
    except sa.exc.SQLAlchemyError as exc:
        raise StoreError(f"the store cannot {doing}: {type(exc).__name__}") from exc


@contextmanager
def connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection of ``engine`` for reads; a database that cannot be reached, when
    connecting or while the block runs, raises StoreUnavailable."""
    try:
        with engine.connect() as conn:
            yield conn
    except sa.exc.OperationalError as exc:
        raise StoreUnavailable(f"the store cannot be reached: {exc.orig}") from exc


@contextmanager
def transaction(engine: sa.Engine, doing: str) -> Iterator[sa.Connection]:
    """A connection of ``engine`` in a transaction committed at the end of the block, its
    errors :func:`mapped` (``doing`` completes "the store cannot ...")."""
    with mapped(doing), engine.begin() as conn:
        yield conn


@contextmanager
def writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A connection of ``engine`` in a transaction committed at the end of the block; a
    database that cannot be reached (or is locked, read-only, out of space) raises
    StoreUnavailable, and any other error (an IntegrityError for the caller to retry)
    passes through. The journeys, the outbox, the placements and the event store's
    repositories begin their transactions here."""
    try:
        with engine.begin() as conn:
            yield conn
    except sa.exc.OperationalError as exc:
        raise StoreUnavailable(f"the store is unavailable: {exc.orig}") from exc
