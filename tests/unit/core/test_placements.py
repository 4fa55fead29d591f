from __future__ import annotations

import datetime as dt
import re
from importlib import resources

import pytest

from juncture.core import placements
from juncture.core.placements import ByRule, Decision, FromQueue, Queued, Visitor
from juncture.core.profile.model import Cart, CartItem, Consent, Profile

T0 = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
CAP = 3
WELCOME = ByRule("welcome", "onsite:p1:welcome", "first_visit")


def decide(visitor: Visitor, *queued: Queued, placement: str = "home") -> Decision:
    return placements.decide(visitor, queued, placement, CAP)


def test_an_unknown_visitor_is_offered_a_welcome() -> None:
    assert decide(Visitor("p1")) == Decision((WELCOME,), "already_shown")


def test_a_cart_reminder_comes_before_the_welcome_and_is_once_per_cart() -> None:
    found = decide(Visitor("p1", cart="2026-03-01T10:00:00+00:00"))
    cart = ByRule(
        "cart_recovery", "onsite:p1:cart_recovery:2026-03-01T10:00:00+00:00", "cart_recovery"
    )
    assert found == Decision((cart, WELCOME), "already_shown")


def test_a_returning_visitor_without_a_cart_gets_nothing() -> None:
    assert decide(Visitor("p1", first_visit=False)) == Decision((), "nothing_to_show")


def test_leaving_with_a_cart_is_offered_an_exit_intent_once_per_cart_and_nothing_else() -> None:
    stamp = "2026-03-01T10:00:00+00:00"
    found = decide(Visitor("p1", cart=stamp), placement="exit")
    exit_offer = ByRule("exit_intent", f"onsite:p1:exit_intent:{stamp}", "exit_intent")
    assert found == Decision((exit_offer,), "already_shown")


def test_leaving_without_a_cart_is_offered_nothing_but_what_was_queued_for_it() -> None:
    assert decide(Visitor("p1"), placement="exit") == Decision((), "nothing_to_show")
    queued = Queued(5, "exit", "marketing")
    assert decide(Visitor("p1"), queued, placement="exit").candidates == (FromQueue(5),)


def test_queued_messages_come_first_in_their_order_where_their_placement_fits() -> None:
    queued = (
        Queued(1, "exit", "marketing"),
        Queued(2, "any", "marketing"),
        Queued(3, "home", "marketing"),
        Queued(4, None, "marketing"),
    )
    found = decide(Visitor("p1", first_visit=False), *queued)
    assert found == Decision((FromQueue(2), FromQueue(3)), "nothing_to_show")
    assert [c.reason for c in found.candidates] == ["queued", "queued"]


def test_the_cap_blocks_marketing_and_defaults_but_not_transactional() -> None:
    queued = (Queued(1, "any", "marketing"), Queued(2, "home", "transactional"))
    assert decide(Visitor("p1", shown=CAP), *queued) == Decision((FromQueue(2),), "frequency_cap")
    below = decide(Visitor("p1", shown=CAP - 1), *queued)
    assert below.candidates == (FromQueue(1), FromQueue(2), WELCOME)


def test_a_cap_of_zero_blocks_every_marketing_placement() -> None:
    assert placements.decide(Visitor("p1"), (), "home", 0) == Decision((), "frequency_cap")


@pytest.mark.parametrize(("consent", "blocked"), [(False, True), (True, False), (None, False)])
def test_consent_refused_blocks_marketing(consent: bool | None, blocked: bool) -> None:
    queued = Queued(1, "any", "marketing")
    found = decide(Visitor("p1", consent=consent), queued)
    if blocked:
        assert found == Decision((), "no_consent")
    else:
        assert found.candidates == (FromQueue(1), WELCOME)


def test_consent_refused_is_the_reason_before_the_cap() -> None:
    assert decide(Visitor("p1", consent=False, shown=CAP)).otherwise == "no_consent"


def test_the_cap_counts_a_day() -> None:
    assert placements.cap_since(T0) == T0 - dt.timedelta(days=1)


def test_visitor_facts_of_a_profile() -> None:
    consent = {"onsite:marketing": Consent(False, T0)}
    cart = Cart(items={"P1": CartItem(product_id="P1")}, updated_at=T0)
    profile = Profile(profile_id="p1", consent=consent, cart=cart)
    assert placements.visitor("p1", profile, 2) == Visitor(
        "p1", consent=False, cart=T0.isoformat(), first_visit=True, shown=2
    )


def test_visitor_facts_of_a_returning_customer_and_of_no_profile() -> None:
    sessions = ((T0, T0), (T0, T0))
    profile = Profile(profile_id="p1", sessions=sessions, cart=Cart(items={}))
    assert placements.visitor("p1", profile, 0) == Visitor("p1", first_visit=False)
    assert placements.visitor("p9", None, 1) == Visitor("p9", shown=1)


def test_a_cart_without_a_time_is_still_once() -> None:
    cart = Cart(items={"P1": CartItem(product_id="P1")})
    assert placements.visitor("p1", Profile(profile_id="p1", cart=cart), 0).cart == "cart"


def test_the_reported_events_are_those_the_on_site_script_sends() -> None:
    script = resources.files("juncture.api.onsite").joinpath("juncture.js").read_text()
    sent = set(re.findall(r'report\("([^"]+)"', script))
    assert sent == set(placements.REPORTED)
