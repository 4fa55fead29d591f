"""``juncture demo`` end to end, small: the summary agrees with the store, holdouts get no
messages, and the same seed gives the same run."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from juncture import definitions, demo
from juncture.cli import app
from juncture.store import tables
from juncture.store.journeys import JourneyStore
from tests.conftest import settings_for

CUSTOMERS, DAYS = 150, 7
CLIENT_COLUMNS = (
    "seq", "source", "message_id", "type", "event", "user_id", "anonymous_id", "timestamp",
    "received_at", "body", "profile_id",
)  # fmt: skip


def run_demo(url: str, seed: int = 1) -> dict[str, Any]:
    juncture, clock = demo.build(settings_for(url, sqlite_synchronous="NORMAL"))
    try:
        summary = demo.run(juncture, clock, seed=seed, customers=CUSTOMERS, days=DAYS)
    finally:
        juncture.close()
    return summary.to_json()


def events_hash(url: str, *, client_only: bool) -> str:
    e = tables.events
    query = sa.select(*(e.c[c] for c in CLIENT_COLUMNS)).order_by(e.c.seq)
    if client_only:
        query = query.where(e.c.source == demo.DEMO_SOURCE)
    digest = hashlib.sha256()
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        for row in conn.execute(query):
            digest.update(repr(tuple(row)).encode())
    engine.dispose()
    return digest.hexdigest()


@pytest.fixture(scope="module")
def small_demo(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Any]]:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    return url, run_demo(url)


def scalar(url: str, query: Any) -> Any:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(query).scalar_one()
    engine.dispose()
    return value


def grouped(url: str, query: Any) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = {str(k): int(v) for k, v in conn.execute(query)}
    engine.dispose()
    return out


def test_summary_counts_agree_with_the_store(small_demo: tuple[str, dict[str, Any]]) -> None:
    url, s = small_demo
    e, o, n = tables.events, tables.outbox, tables.enrollments
    count = sa.func.count()
    assert s["messages_sent"] > 1000
    assert s["messages_sent"] == s["stored"] + s["duplicates"] + s["rejected"]
    assert sum(s["by_event"].values()) == s["messages_sent"]
    client = scalar(url, sa.select(count).where(e.c.source == demo.DEMO_SOURCE))
    assert client == s["stored"]
    assert scalar(url, sa.select(count).select_from(e)) == s["store"]["events"]
    derived = grouped(
        url,
        sa.select(e.c.event, count).where(e.c.source == "juncture").group_by(e.c.event),
    )
    assert derived == s["store"]["signals"]
    j = s["journeys"]
    entered = sum(arm for row in j["entered"].values() for arm in row.values())
    assert entered > 0
    assert entered == scalar(url, sa.select(count).select_from(n))
    for journey, row in j["lift"].items():  # distinct profiles never exceed enrollments
        assert row["treatment"]["profiles"] <= j["entered"][journey]["treatment"]
        assert row["holdout"]["profiles"] <= j["entered"][journey]["holdout"]
    sent = grouped(
        url, sa.select(o.c.channel, count).where(o.c.status != "suppressed").group_by(o.c.channel)
    )
    assert j["messages_by_channel"] == sent
    assert sum(s["delivered"].values()) <= sum(sent.values())
    suppressed = scalar(url, sa.select(count).where(o.c.status == "suppressed"))
    assert sum(j["suppressions_by_reason"].values()) == suppressed
    assert j["orders"] == scalar(url, sa.select(count).where(e.c.event == "Order Completed"))


def test_the_store_holds_the_journeys_that_ran(small_demo: tuple[str, dict[str, Any]]) -> None:
    url, s = small_demo
    engine = sa.create_engine(url)
    journeys = JourneyStore(engine)
    try:
        listed = {j.spec.id: j.summary() for j in journeys.list()}
        stats = {st.journey_id: st for st in journeys.all_stats()}
    finally:
        journeys.close()
        engine.dispose()
    assert sorted(listed) == sorted(spec.id for spec in definitions.load_library())
    assert {row["status"] for row in listed.values()} == {"active"}
    entered = s["journeys"]["entered"]
    assert entered, "the run must have enrollments for this test to mean anything"
    for journey, arms in entered.items():
        assert stats[journey].entered == arms["treatment"] + arms["holdout"]
        assert stats[journey].holdout == arms["holdout"]
    outgoing = sum(
        count for st in stats.values() for status, count in st.messages.items()
        if status != "suppressed"
    )  # fmt: skip
    assert outgoing == sum(s["journeys"]["messages_by_channel"].values())
    n, j = tables.enrollments, tables.journeys
    ran_stored = n.join(j, (n.c.journey_id == j.c.journey_id) & (n.c.version == j.c.version))
    every = scalar(url, sa.select(sa.func.count()).select_from(n))
    assert scalar(url, sa.select(sa.func.count()).select_from(ran_stored)) == every
    listing = CliRunner().invoke(app, ["journeys", "list", "--database-url", url])
    assert listing.exit_code == 0, listing.output
    assert sorted(line.split()[0] for line in listing.output.splitlines()) == sorted(listed)


def test_holdout_enrollments_get_no_messages(small_demo: tuple[str, dict[str, Any]]) -> None:
    url, s = small_demo
    o, n = tables.outbox, tables.enrollments
    holdout = sum(row["holdout"] for row in s["journeys"]["entered"].values())
    assert holdout > 0, "the run must have holdout enrollments for this test to mean anything"
    statuses = grouped(
        url,
        sa.select(o.c.status, sa.func.count())
        .select_from(o.join(n, o.c.enrollment_id == n.c.enrollment_id))
        .where(n.c.holdout.is_(True))
        .group_by(o.c.status),
    )
    assert set(statuses) <= {"suppressed"}
    treated = scalar(
        url,
        sa.select(sa.func.count())
        .select_from(o.join(n, o.c.enrollment_id == n.c.enrollment_id))
        .where(n.c.holdout.is_(False), o.c.status != "suppressed"),
    )
    assert treated > 0  # the join finds messages where there are some


def test_same_seed_same_run(
    small_demo: tuple[str, dict[str, Any]], sqlite_url: str, tmp_path: Path
) -> None:
    url, first = small_demo
    second = run_demo(sqlite_url)
    assert second == first
    assert events_hash(sqlite_url, client_only=True) == events_hash(url, client_only=True)
    assert events_hash(sqlite_url, client_only=False) == events_hash(url, client_only=False)
    other_path = tmp_path / "other.db"
    shutil.copy(Path(sqlite_url.removeprefix("sqlite:///")), other_path)
    other = f"sqlite:///{other_path}"
    engine = sa.create_engine(other)
    with engine.begin() as conn:  # an emptied copy of the migrated database
        for table in reversed(tables.metadata.sorted_tables):
            conn.execute(sa.delete(table))
    engine.dispose()
    different = run_demo(other, seed=2)
    assert different != first
    assert events_hash(other, client_only=True) != events_hash(url, client_only=True)
