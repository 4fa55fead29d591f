"""``juncture demo`` end to end, small: the summary agrees with the store, holdouts get no
messages, and the same seed gives the same run."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from juncture.cli.main import app
from juncture.definitions import journeys as journey_definitions
from juncture.demo import harness
from juncture.store import tables
from juncture.store.journeys import JourneyStore
from tests.conftest import settings_for

CUSTOMERS, DAYS = 150, 7
CLIENT_COLUMNS = (
    "seq", "source", "message_id", "type", "event", "user_id", "anonymous_id", "timestamp",
    "received_at", "body", "profile_id",
)  # fmt: skip


def run_demo(url: str, seed: int = 1, **settings: Any) -> dict[str, Any]:
    juncture, clock = harness.build(settings_for(url, sqlite_synchronous="NORMAL", **settings))
    try:
        summary = harness.run(juncture, clock, seed=seed, customers=CUSTOMERS, days=DAYS)
    finally:
        juncture.close()
    return summary.to_json()


def events_hash(url: str, *, client_only: bool) -> str:
    e = tables.events
    query = sa.select(*(e.c[c] for c in CLIENT_COLUMNS)).order_by(e.c.seq)
    if client_only:
        query = query.where(e.c.source == harness.DEMO_SOURCE)
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
    client = scalar(url, sa.select(count).where(e.c.source == harness.DEMO_SOURCE))
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
    journey = o.c.journey_id.is_not(None)  # the outbox also records on-site impressions
    sent = grouped(
        url,
        sa.select(o.c.channel, count)
        .where(o.c.status != "suppressed", journey)
        .group_by(o.c.channel),
    )
    assert j["messages_by_channel"] == sent
    assert sum(s["delivered"].values()) <= sum(sent.values())
    suppressed = scalar(url, sa.select(count).where(o.c.status == "suppressed", journey))
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
    assert sorted(listed) == sorted(spec.id for spec in journey_definitions.load_library())
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
    assert sorted(line.split()[0] for line in listing.stdout.splitlines()) == sorted(listed)


def rows(url: str, query: Any) -> list[tuple[Any, ...]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        out = [tuple(row) for row in conn.execute(query)]
    engine.dispose()
    return out


def canonical(url: str) -> Callable[[str], str]:
    """Where a profile id ends after merges (its survivor's survivor ...)."""
    p = tables.profiles
    redirects = dict(rows(url, sa.select(p.c.profile_id, p.c.redirect_to)))

    def follow(pid: str) -> str:
        while redirects.get(pid) is not None:
            pid = redirects[pid]
        return pid

    return follow


def utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def test_profiles_and_merges_agree_with_the_store(small_demo: tuple[str, dict[str, Any]]) -> None:
    url, s = small_demo
    e, p, m = tables.events, tables.profiles, tables.merges
    follow = canonical(url)
    client = rows(
        url, sa.select(e.c.user_id, e.c.profile_id).where(e.c.source == harness.DEMO_SOURCE)
    )
    assert s["store"]["profiles"] == len({follow(pid) for _, pid in client})
    merged = rows(url, sa.select(m.c.merged))
    assert s["store"]["merged_profiles"] == len(merged) > 0
    redirected = rows(url, sa.select(p.c.profile_id).where(p.c.redirect_to.is_not(None)))
    assert sorted(redirected) == sorted(merged)
    people: dict[str, set[str]] = {}
    for user_id, pid in client:  # one person, one profile in the end
        if user_id is not None:
            people.setdefault(user_id, set()).add(follow(pid))
    assert people
    assert all(len(found) == 1 for found in people.values())


def test_orders_and_revenue_agree_with_the_store(small_demo: tuple[str, dict[str, Any]]) -> None:
    url, s = small_demo
    e, p = tables.events, tables.profiles
    j, truth = s["journeys"], s["simulation"]
    orders = rows(url, sa.select(e.c.body).where(e.c.event == "Order Completed"))
    assert (s["duplicates"], s["rejected"]) == (0, 0)  # so every order sent is stored
    assert j["orders"] == len(orders) == s["by_event"]["Order Completed"] > 0
    # the simulation may decide an order whose event falls after the end of the run
    assert 0 <= truth["purchases"] - len(orders) <= 2
    by_currency: dict[str, float] = {}
    for (body,) in orders:
        order = orjson.loads(body)["properties"]
        by_currency[order["currency"]] = by_currency.get(order["currency"], 0.0) + order["revenue"]
    assert j["revenue"] == pytest.approx(by_currency, abs=0.01)
    assert "USD" in j["revenue"]
    live = p.c.redirect_to.is_(None)
    counted, revenue = rows(
        url, sa.select(sa.func.sum(p.c.order_count), sa.func.sum(p.c.revenue)).where(live)
    )[0]
    # the profiles' own view, kept event by event (amounts summed whatever the currency)
    assert counted == len(orders)
    assert revenue == pytest.approx(sum(j["revenue"].values()), abs=0.01)


def test_each_journeys_entries_and_conversions_agree_with_the_store(
    small_demo: tuple[str, dict[str, Any]],
) -> None:
    url, s = small_demo
    e, n = tables.enrollments, tables.events
    follow = canonical(url)
    ordered: dict[str, list[dt.datetime]] = {}
    for pid, at in rows(
        url, sa.select(n.c.profile_id, n.c.timestamp).where(n.c.event == "Order Completed")
    ):
        ordered.setdefault(follow(pid), []).append(utc(at))
    first: dict[tuple[str, str], dict[str, dt.datetime]] = {}
    count: dict[str, dict[str, int]] = {}
    for journey, holdout, pid, at in rows(
        url, sa.select(e.c.journey_id, e.c.holdout, e.c.profile_id, e.c.entered_at)
    ):
        arm = "holdout" if holdout else "treatment"
        count.setdefault(journey, {"treatment": 0, "holdout": 0})[arm] += 1
        entered = first.setdefault((journey, arm), {})
        key = follow(pid)
        entered[key] = min(utc(at), entered.get(key, utc(at)))
    assert s["journeys"]["entered"] == count
    converted_somewhere = 0
    for journey, row in s["journeys"]["lift"].items():
        for arm in ("treatment", "holdout"):
            entered = first.get((journey, arm), {})
            converted = sum(
                any(t > at for t in ordered.get(pid, ())) for pid, at in entered.items()
            )
            assert row[arm] == {"profiles": len(entered), "converted": converted}, (journey, arm)
            converted_somewhere += converted
    assert set(s["journeys"]["lift"]) == set(count)
    assert converted_somewhere > 0


def test_cart_messages_went_to_carts_not_bought_and_never_empty(
    small_demo: tuple[str, dict[str, Any]],
) -> None:
    """The summary's cart figures: every sent row of a template that lists the cart, none
    showing an empty basket, none after the customer had bought (the simulation's truth)."""
    url, summary = small_demo
    o = tables.outbox
    cart_templates = ("cart_recovery", "cart_discount_10", "cart_last_call")
    sent = sa.select(sa.func.count()).where(o.c.status == "sent", o.c.template.in_(cart_templates))
    figures = summary["cart_reminders"]
    assert figures["sent"] == scalar(url, sent) > 0
    assert (figures["after_purchase"], figures["empty_basket"]) == (0, 0)


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


def test_the_demo_runs_the_engine_as_the_settings_configure_it(
    small_demo: tuple[str, dict[str, Any]], sqlite_url: str
) -> None:
    """Thresholds and identity choices from the settings reach the demo's engine: carts go
    quiet for longer than the run (no ``Cart Abandoned``) and a store's loyalty card no
    longer names a person (the in-store shopper it named stays a profile of their own)."""
    _, default = small_demo
    assert default["store"]["signals"].get("Cart Abandoned", 0) > 0
    configured = run_demo(sqlite_url, cart_quiet=dt.timedelta(days=30), external_ids="")
    assert configured["store"]["signals"].get("Cart Abandoned", 0) == 0
    assert configured["store"]["profiles"] > default["store"]["profiles"]  # a POS shopper


def printed(output: str, label: str) -> str:
    """The value in the row of a printed table whose first cell is ``label``."""
    found = re.search(rf"^│ {re.escape(label)} +│ (.+?) +│", output, re.MULTILINE)
    assert found is not None, f"no row {label!r} in:\n{output}"
    return found.group(1)


def number(text: str) -> int:
    return int(text.replace(",", ""))


def test_the_demo_command_prints_what_the_store_holds(tmp_path: Path) -> None:
    database, written = tmp_path / "demo.db", tmp_path / "summary.json"
    result = CliRunner().invoke(
        app,
        ["demo", "--no-serve", "--customers", "60", "--days", "3", "--seed", "3",
         "--database", str(database), "--summary-json", str(written)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out, s = result.stdout, orjson.loads(written.read_bytes())
    url = f"sqlite:///{database}"
    e, p, o, n = tables.events, tables.profiles, tables.outbox, tables.enrollments
    count = sa.func.count()
    client = scalar(url, sa.select(count).where(e.c.source == harness.DEMO_SOURCE))
    assert number(printed(out, "stored")) == s["stored"] == client > 0
    assert number(printed(out, "events stored (with derived)")) == s["store"]["events"]
    assert s["store"]["events"] == scalar(url, sa.select(count).select_from(e))
    live = scalar(url, sa.select(count).where(p.c.redirect_to.is_(None)))
    assert number(printed(out, "profiles")) == s["store"]["profiles"] == live
    merged = scalar(url, sa.select(count).select_from(tables.merges))
    assert number(printed(out, "profiles merged into others")) == merged
    orders = scalar(url, sa.select(count).where(e.c.event == "Order Completed"))
    assert number(printed(out, "orders stored")) == s["journeys"]["orders"] == orders
    channels = grouped(
        url, sa.select(o.c.channel, count).where(o.c.status != "suppressed").group_by(o.c.channel)
    )
    assert channels
    for channel, sent in channels.items():
        assert number(printed(out, f"messages on {channel}")) == sent
    by_arm = rows(
        url, sa.select(n.c.journey_id, n.c.holdout, count).group_by(n.c.journey_id, n.c.holdout)
    )
    entered: dict[str, dict[str, int]] = {}
    for journey, holdout, k in by_arm:
        entered.setdefault(journey, {"treatment": 0, "holdout": 0})[
            "holdout" if holdout else "treatment"
        ] = k
    assert s["journeys"]["entered"] == entered
    for journey, row in s["journeys"]["lift"].items():
        t, h = row["treatment"], row["holdout"]
        assert printed(out, journey) == f"{t['profiles']:,} ({h['profiles']:,})"
    listing = CliRunner().invoke(app, ["journeys", "list", "--database-url", url])
    assert len(listing.stdout.splitlines()) == len(journey_definitions.load_library())
