"""The retailer's own templates over the admin API, end to end: an upload that does not parse
is refused with its part and line and changes nothing; a good one overrides the shipped
template of its name in the very next email a journey sends (Segment's Python client drives
the shipped welcome journey, a real SMTP server receives it); deleting it brings the shipped
one back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from segment.analytics import client as segment_client
from segment.analytics import request as segment_request

from tests.conftest import ADMIN, LiveServer
from tests.e2e.test_library_segment_client import (
    DAY,
    LIBRARY,
    MINUTE,
    T0,
    DeviceClock,
    Shop,
    outside_holdout,
)

GOOD = {
    "subject": "Hello {{ profile.first_name | default: 'you' }}, from the Trailside team",
    "text": "Hi {{ profile.first_name }},\nWelcome to Trailside.\n",
    "html": "<p>Hi {{ profile.first_name }},</p>\n<p>Welcome to <b>Trailside</b>.</p>\n",
}


@pytest.fixture
def shop(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    monkeypatch.setattr(segment_client, "datetime", DeviceClock)
    monkeypatch.setattr(segment_request, "datetime", DeviceClock)
    s = Shop(database_url, [LIBRARY["welcome_series"]], templates_dir=str(tmp_path / "mine"))
    yield s
    s.close()


def api(shop: Shop, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{shop.server.url}/v1/templates{path}", headers=ADMIN, **kwargs)


def welcome(shop: Shop, user: str, at: Any) -> str:
    shop.identify(at, user)
    shop.track(at + MINUTE, user, "Signed Up", type="organic")
    shop.advance(at + 5 * MINUTE)
    [mail] = shop.mails(user)
    return str(mail.message["Subject"])


def test_an_uploaded_template_overrides_the_shipped_one_until_deleted(shop: Shop) -> None:
    listed = {t["name"]: t for t in api(shop, "GET", "").json()["templates"]}
    assert listed["welcome"] == {"name": "welcome", "source": "shipped", "overrides": False}

    broken = {**GOOD, "html": "<p>Hi</p>\n<p>\n{% if profile.vip %}VIP\n"}
    r = api(shop, "PUT", "/welcome", json=broken)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "invalid_template"
    assert r.json()["where"].startswith("welcome/body.html.liquid")
    r = api(shop, "PUT", "/welcome", json={**GOOD, "text": "Hi\n{{ profile.first_name | }}\n"})
    assert r.status_code == 422 and r.json()["where"] == "welcome/body.txt.liquid:2", r.text
    assert api(shop, "GET", "/welcome").json()["source"] == "shipped"  # nothing written

    ann = outside_holdout("welcome_series", "ann")
    assert welcome(shop, ann, T0) == f"Welcome, {ann.title()}!"  # the shipped one

    assert api(shop, "PUT", "/welcome", json=GOOD).status_code == 200
    got = api(shop, "GET", "/welcome").json()
    assert got == {"name": "welcome", "source": "yours", **GOOD}
    listed = {t["name"]: t for t in api(shop, "GET", "").json()["templates"]}
    assert listed["welcome"] == {"name": "welcome", "source": "yours", "overrides": True}
    bob = outside_holdout("welcome_series", "bob")
    assert welcome(shop, bob, T0 + DAY) == f"Hello {bob.title()}, from the Trailside team"
    [mail] = shop.mails(bob)
    assert mail.part("plain").splitlines()[:2] == [f"Hi {bob.title()},", "Welcome to Trailside."]
    way_out = str(mail.message["List-Unsubscribe"]).strip()[1:-1]  # not in the template:
    assert f"Unsubscribe: {way_out}" in mail.part("plain")  # a footer is added
    assert f'<a href="{way_out}">Unsubscribe</a>' in mail.part("html")

    assert api(shop, "DELETE", "/welcome").status_code == 204
    assert api(shop, "DELETE", "/welcome").status_code == 404
    cy = outside_holdout("welcome_series", "cy")
    assert welcome(shop, cy, T0 + 2 * DAY) == f"Welcome, {cy.title()}!"


def test_new_templates_bad_names_and_bad_bodies(shop: Shop) -> None:
    assert api(shop, "PUT", "/spring_sale", json={"subject": "Spring"}).status_code == 200
    assert "spring_sale" in {t["name"] for t in api(shop, "GET", "").json()["templates"]}
    assert api(shop, "PUT", "/..%2Fescape", json=GOOD).status_code in (400, 404)
    assert api(shop, "PUT", "/Spring", json=GOOD).status_code == 400  # names are lower case
    assert api(shop, "PUT", "/x", json={}).status_code == 400
    assert api(shop, "PUT", "/x", json={"subject": "a", "body": "b"}).status_code == 400
    assert api(shop, "GET", "/nope").status_code == 404
    r = httpx.put(f"{shop.server.url}/v1/templates/x", json=GOOD)
    assert r.status_code == 401


def test_uploading_needs_a_templates_folder(live: LiveServer) -> None:
    r = httpx.put(f"{live.url}/v1/templates/welcome", json=GOOD, headers=ADMIN)
    assert r.status_code == 409 and r.json()["code"] == "no_templates_dir"
    r = httpx.get(f"{live.url}/v1/templates/welcome", headers=ADMIN)
    assert r.status_code == 200 and r.json()["source"] == "shipped"


SALE_JOURNEY = """\
id: spring
version: 1
name: Spring sale
nodes:
  - id: signed
    type: trigger
    event: Signed Up
    next: mail
  - id: mail
    type: send
    channel: email
    template: spring_sale
    next: done
  - id: done
    type: exit
"""


def test_a_journey_naming_a_template_that_does_not_exist_is_refused_until_uploaded(
    shop: Shop,
) -> None:
    url = f"{shop.server.url}/v1/journeys"
    yaml = {**ADMIN, "Content-Type": "application/yaml"}
    for endpoint in (f"{url}/validate", url):
        r = httpx.post(endpoint, params={"filename": "spring.yaml"}, content=SALE_JOURNEY,
                       headers=yaml)  # fmt: skip
        assert r.status_code == 422, r.text
        [problem] = r.json()["problems"]
        assert (problem["where"], problem["path"]) == ("spring.yaml:12", "nodes[1].template")
        assert "no template 'spring_sale'" in problem["message"]
    typo = SALE_JOURNEY.replace("spring_sale", "welcom")
    r = httpx.post(f"{url}/validate", content=typo, headers=yaml)
    assert "did you mean 'welcome'?" in r.json()["problems"][0]["message"], r.text
    assert httpx.get(f"{url}/spring", headers=ADMIN).status_code == 404  # nothing stored

    assert api(shop, "PUT", "/spring_sale", json=GOOD).status_code == 200  # uploaded: known
    assert httpx.post(url, content=SALE_JOURNEY, headers=yaml).status_code == 201
    assert (
        httpx.post(
            url,
            content=SALE_JOURNEY.replace("spring_sale", "welcome").replace(
                "version: 1", "version: 2"
            ),
            headers=yaml,
        ).status_code
        == 201
    )  # shipped: known too
