"""The suppression list and delivery feedback on every store: a wider suppression is never
narrowed by a later, narrower one; START lifts a STOP but never a bounce; addresses are kept
only as hashes; feedback reads back in order."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from juncture.store import feedback_tables
from juncture.store.recipients import Recipients, address_key
from juncture.store.sql import SqlStore

T0 = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
ANN = "ann@example.com"


def test_scopes_widen_and_never_narrow(store: SqlStore) -> None:
    r = Recipients(store.engine)
    assert r.suppressed("email", ANN, "marketing") is None
    r.suppress("email", ANN, scope="marketing", reason="complaint", at=T0)
    assert r.suppressed("email", ANN, "marketing") == "complaint"
    assert r.suppressed("email", ANN, "transactional") is None
    r.suppress("email", ANN, scope="all", reason="hard_bounce", at=T0)
    r.suppress("email", ANN, scope="marketing", reason="complaint", at=T0)  # narrower: kept all
    assert r.suppressed("email", ANN, "transactional") == "hard_bounce"
    assert r.lift("email", ANN) is False  # START lifts a STOP, not a bounce
    assert r.suppressed("email", ANN, "marketing") == "hard_bounce"
    assert r.suppressed("sms", ANN, "marketing") is None  # per channel


def test_start_lifts_a_stop(store: SqlStore) -> None:
    r = Recipients(store.engine)
    r.suppress("sms", "+4915112345678", scope="marketing", reason="stop", at=T0)
    assert r.lift("sms", "+4915112345678") is True
    assert r.suppressed("sms", "+4915112345678", "marketing") is None


def test_only_a_hash_of_the_address_is_kept(store: SqlStore) -> None:
    r = Recipients(store.engine)
    r.suppress("email", ANN, scope="all", reason="hard_bounce", at=T0)
    with store.engine.connect() as conn:
        kept = conn.execute(sa.select(feedback_tables.suppressions.c.address)).scalars().all()
    assert kept == [address_key(ANN)] and ANN not in kept[0]


def test_feedback_reads_back_in_order(store: SqlStore) -> None:
    r = Recipients(store.engine)
    r.record(7, "email", "open", T0)
    r.record(7, "email", "click", T0 + dt.timedelta(minutes=1), "https://shop.example/p")
    r.record(8, "email", "open", T0)
    said = [(f.kind, f.detail, f.at) for f in r.feedback(7)]
    assert said == [
        ("open", None, T0),
        ("click", "https://shop.example/p", T0 + dt.timedelta(minutes=1)),
    ]
