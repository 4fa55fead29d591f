"""The preference page, end to end: Segment's Python client drives the shipped cart and
post-purchase journeys against the real server, a real SMTP server receives the reminder,
and its recipient follows the footer's link to the page, sees their choices, and turns
email offers off. That is a consent event on their profile, effective before the next send:
the next reminder is suppressed while the order confirmation still arrives; turning it on
again brings reminders back."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest

from tests.conftest import ADMIN, caught_up, slow_engine
from tests.e2e.test_library_segment_client import (
    HOUR,
    MINUTE,
    SHOE,
    SOCKS,
    T0,
    Shop,
)
from tests.e2e.test_unsubscribe_http import consent, customer, on_server
from tests.servers import Mail

LINK = re.compile(r"Choose what we send you: (https://\S+/v1/preferences/\S+)")
SECOND = dt.timedelta(seconds=1)
BOX = re.compile(r'<input type="checkbox" name="(\w+)"( checked)?>')


def boxes(page: httpx.Response) -> dict[str, bool]:
    assert page.status_code == 200, page.text
    return {name: bool(ticked) for name, ticked in BOX.findall(page.text)}


def reminded(shop: Shop, who: str) -> tuple[Mail, str]:
    """``who`` leaves a shoe in the cart; the reminder it brings, and its preference link."""
    shop.track(T0 + MINUTE, who, "Product Added", cart_id="c-1", **SHOE)
    shop.advance(T0 + 2 * HOUR)
    [reminder] = shop.mails(who)
    found = LINK.search(reminder.part("plain"))
    assert found, reminder.part("plain")
    return reminder, found.group(1)


def test_turning_email_offers_off_on_the_page_suppresses_marketing_not_orders(
    shop: Shop,
) -> None:
    ann = customer()
    shop.identify(T0, ann, phone="+4915112345678")  # SMS never consented
    reminder, link = reminded(shop, ann)
    url = on_server(shop, link)
    assert f'href="{link}"' in reminder.part("html")  # not a tracked redirect

    assert boxes(httpx.get(url)) == {"email": True, "sms": False}
    forged = re.sub(r"/(\d+)\.", lambda m: f"/{int(m.group(1)) + 1}.", link)
    assert httpx.get(on_server(shop, forged)).json()["code"] == "invalid_link"
    r = httpx.post(url, data={"channel": ["email", "fax"]})
    assert r.status_code == 400 and r.json()["where"] == "form.fax", r.text
    assert consent(shop, ann) is True  # nothing changed yet

    saved = httpx.post(url, data={"channel": ["email", "sms"]})  # both boxes left empty
    assert boxes(saved) == {"email": False, "sms": False} and "saved" in saved.text
    caught_up(shop.j)  # the consent event is applied to the profile
    assert consent(shop, ann) is False
    assert boxes(httpx.get(url)) == {"email": False, "sms": False}

    shop.track(T0 + 3 * HOUR, ann, "Order Completed", order_id="o-1", total=89.0,
               revenue=89.0, currency="EUR", products=[SHOE])  # fmt: skip
    shop.track(T0 + 4 * HOUR, ann, "Product Added", cart_id="c-2", **SOCKS)
    shop.advance(T0 + 7 * HOUR)
    subjects = [str(m.message["Subject"]) for m in shop.mails(ann)]
    assert len(subjects) == 2 and "order" in subjects[1].lower(), subjects  # transactional
    held = {r["node_id"]: r["reason"] for r in shop.outbox(ann) if r["status"] == "suppressed"}
    assert held.get("reminder") == "no_consent:email:marketing", held

    events = httpx.get(f"{shop.server.url}/v1/events", params={"userId": ann}, headers=ADMIN)
    said = [e["properties"] for e in events.json()["events"] if e.get("event") == "Consent Updated"]
    assert said == [
        {
            "channel": "email",
            "purpose": "marketing",
            "granted": False,
            "source": "preferences",
            "email_id": said[0]["email_id"],
            "journey_id": "cart_abandonment",
        }
    ]  # fmt: skip; sms was off already
    engagement = httpx.get(f"{shop.server.url}/v1/messages/engagement", headers=ADMIN,
                           params={"journeyId": "cart_abandonment"}).json()  # fmt: skip
    assert engagement["engagement"][0]["unsubscribed"] == 1

    assert boxes(httpx.post(url, data={"channel": "email", "email": "on"}))["email"] is True
    caught_up(shop.j)
    assert consent(shop, ann) is True
    shop.track(T0 + 8 * HOUR, ann, "Product Added", cart_id="c-3", **SHOE)
    shop.advance(T0 + 11 * HOUR)
    assert len(shop.mails(ann)) == 3  # reminders again


def test_the_last_choice_wins_though_the_engine_is_behind(
    shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Off, then on again at once, while the engine behind the log is slow to apply the
    first: the page reads the choices after the engine has applied what came before (a
    bounded wait), so the second save is seen as a change and the recipient's last word,
    on, is what the profile ends with."""
    ann = customer()
    shop.identify(T0, ann)
    url = on_server(shop, reminded(shop, ann)[1])
    assert boxes(httpx.get(url))["email"] is True

    slow_engine(monkeypatch, 0.5)
    assert boxes(httpx.post(url, data={"channel": "email"}))["email"] is False
    assert boxes(httpx.get(url))["email"] is False  # a reload shows what was saved
    shop.clock.set(shop.clock.now() + SECOND)  # at equal times a refusal would win
    assert boxes(httpx.post(url, data={"channel": "email", "email": "on"}))["email"] is True
    caught_up(shop.j)
    assert consent(shop, ann) is True
