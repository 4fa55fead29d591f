"""The shoppers of ``juncture bench scale``: the share of sign-ins, the merges that cross
partitions, and the people their identifiers make."""

from __future__ import annotations

from typing import Any

from juncture.bench import scale_people
from juncture.log.base import partition_of


def _ids(message: dict[str, Any]) -> tuple[str | None, str | None]:
    return message.get("anonymousId"), message.get("userId")


def test_the_run_signs_shoppers_in_at_the_share_asked() -> None:
    found = scale_people.workload(4000, 0.05, 16)
    assert len(found.run) == 4000
    assert 150 < found.identifies() < 250  # 5% of 4,000
    signed = {_ids(m) for m in found.run if m["type"] == "identify"}
    users = {user for _, user in signed}
    assert any(sum(1 for _, u in signed if u == user) == 2 for user in users)  # two devices
    anonymous = [m for m in found.run if "userId" not in m]
    assert len(anonymous) > len(found.run) / 2  # most views stay anonymous
    first: dict[str, int] = {}
    for n, m in enumerate(found.run):
        if m["type"] == "identify":
            first.setdefault(m["anonymousId"], n)
    for n, m in enumerate(found.run):  # a device's views carry the user id once signed in
        device, user = _ids(m)
        if m["type"] == "track" and device in first:
            assert (user is not None) == (n > first[device])


def test_each_joining_device_merges_into_a_customer_signed_in_during_the_run() -> None:
    found = scale_people.workload(4000, 0.05, 16)
    signed_users = {m["userId"] for m in found.run if m["type"] == "identify"}
    run_devices = {m["anonymousId"] for m in found.run}
    signed_devices = {m["anonymousId"] for m in found.run if "userId" in m}
    anonymous_only = run_devices - signed_devices  # some of them meant to sign in later
    joining = {m["anonymousId"] for m in found.merges}
    assert len(joining) == len(found.merges) == len(found.views) > 0.8 * len(anonymous_only)
    assert joining <= anonymous_only
    for view, merge in zip(found.views, found.merges, strict=True):
        assert merge["type"] == "identify" and merge["userId"] == view["userId"]
        assert "anonymousId" not in view and merge["userId"] in signed_users
    crossing = [
        m
        for m in found.merges
        if partition_of(m["anonymousId"], 16) != partition_of(m["userId"], 16)
    ]
    assert found.crossing == len(crossing) > len(found.merges) / 2


def test_people_joins_the_ids_that_meet_in_one_event() -> None:
    messages = [
        {"anonymousId": "a1"},
        {"anonymousId": "a2"},
        {"anonymousId": "a1", "userId": "u1"},
        {"anonymousId": "a3", "userId": "u1"},
        {"userId": "u1"},
        {"anonymousId": "a4"},
    ]
    assert sorted(scale_people.people(messages)) == [
        (["anonymous_id:a1", "anonymous_id:a3", "user_id:u1"], 4),
        (["anonymous_id:a2"], 1),
        (["anonymous_id:a4"], 1),
    ]


def test_no_sign_ins_leaves_anonymous_views_only() -> None:
    found = scale_people.workload(500, 0.0, 4)
    assert found.identifies() == 0 and not found.merges and not found.views
    assert all("userId" not in m for m in found.run)


def test_a_run_that_lost_an_event_or_a_person_is_a_failure_the_command_exits_on() -> None:
    from juncture.bench.scale import failures

    right = {"workers": 2, "stored": 900, "appended": 900, "people_wrong": 0}
    assert failures([right]) == []
    lost = {**right, "stored": 899}
    wrong = {**right, "workers": 4, "people_wrong": 3}
    assert failures([right, lost, wrong]) == [
        "2 worker(s): 899 events stored of 900",
        "4 worker(s): 3 people with a wrong profile",
    ]
