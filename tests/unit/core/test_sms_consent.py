"""An SMS reply that is a carrier keyword states SMS marketing consent on the profile: STOP
refuses it, START grants it again, anything else says nothing; the latest reply wins."""

from __future__ import annotations

import datetime as dt

from juncture.core.events import Event
from juncture.core.profile.consent import consent_for
from tests.unit.core.test_profile import T0, ev, run

MINUTE = dt.timedelta(minutes=1)
GRANTED = ev(type="identify", traits={"consent": {"sms": {"marketing": True}}})


def reply(text: str, at: dt.datetime, key: str = "body") -> Event:
    return ev("SMS Replied", at, mid=f"r-{at.isoformat()}", props={key: text})


def test_stop_refuses_and_start_grants_again() -> None:
    stopped = run([GRANTED, reply("Stop.", T0 + MINUTE)])
    assert consent_for(stopped, "sms", "marketing") is False
    assert consent_for(stopped, "email", "marketing") is None  # SMS only
    back = run([GRANTED, reply("STOP", T0 + MINUTE), reply("start", T0 + 2 * MINUTE, "text")])
    assert consent_for(back, "sms", "marketing") is True


def test_other_replies_say_nothing() -> None:
    chatty = run([GRANTED, reply("please stop by the store", T0 + MINUTE)])
    assert consent_for(chatty, "sms", "marketing") is True
