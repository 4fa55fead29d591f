"""Signing in to the dashboard over plain HTTP: pages send a visitor without a session to
the login form, a wrong token is refused, the right one gives an HttpOnly, SameSite=Strict
cookie that opens the pages, and nothing else (a forged cookie, the token in a URL) does."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from juncture import wiring
from juncture.settings import Settings
from tests.conftest import ADMIN, ADMIN_TOKEN, WRITE_KEY, LiveServer

PAGES = (
    "/app", "/app/journeys", "/app/journeys/new", "/app/customers", "/app/segments", "/app/data",
    "/app/experiments", "/app/funnels", "/app/catalogue", "/app/reports",
)  # fmt: skip


@pytest.fixture
def client(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, follow_redirects=False) as c:
        yield c


def sign_in(client: httpx.Client, token: str) -> httpx.Response:
    return client.post("/app/login", data={"token": token, "next": "/app/journeys"})


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_a_visitor_without_a_session_to_the_login(
    client: httpx.Client, path: str
) -> None:
    r = client.get(path)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/app/login?next=")
    login = client.get(r.headers["location"])
    assert login.status_code == 200
    assert 'name="token"' in login.text


def test_the_dashboards_data_needs_a_session_too(client: httpx.Client) -> None:
    r = client.get("/app/api/overview")
    assert r.status_code == 401
    assert r.json()["code"] == "unauthorized"
    # the admin API's bearer token is for the API, not a way around the dashboard's login
    assert client.get("/app/api/overview", headers=ADMIN).status_code == 401


def test_a_wrong_token_is_refused_and_gets_no_cookie(client: httpx.Client) -> None:
    r = sign_in(client, ADMIN_TOKEN + "x")
    assert r.status_code == 401
    assert "do not sign in" in r.text
    assert "set-cookie" not in r.headers
    assert client.get("/app").status_code == 303


def test_the_admin_token_opens_the_pages_with_a_strict_cookie(client: httpx.Client) -> None:
    r = sign_in(client, ADMIN_TOKEN)
    assert r.status_code == 303
    assert r.headers["location"] == "/app/journeys"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "path=/app" in cookie
    assert ADMIN_TOKEN not in r.headers["set-cookie"]
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:300])
        assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/v1/journeys").status_code == 401  # the cookie is not the API's key
    client.post("/app/logout")
    assert client.get("/app").status_code == 303


def test_a_forged_or_altered_cookie_is_refused(client: httpx.Client) -> None:
    sign_in(client, ADMIN_TOKEN)
    good = client.cookies["juncture_session"]
    expires, mac = good.split(".", 1)
    for forged in (f"{int(expires) + 3600}.{mac}", f"{expires}.{'0' * len(mac)}", "1.2", ""):
        client.cookies.set("juncture_session", forged, path="/app")
        assert client.get("/app").status_code == 303, forged


def test_the_token_in_a_url_opens_nothing(client: httpx.Client) -> None:
    assert client.get("/app", params={"token": ADMIN_TOKEN}).status_code == 303
    r = client.get("/app/login", params={"token": ADMIN_TOKEN})
    assert "set-cookie" not in r.headers


def test_after_signing_in_the_visitor_goes_only_to_a_dashboard_page(client: httpx.Client) -> None:
    for elsewhere in ("https://evil.example/", "//evil.example/app", "/v1/journeys"):
        r = client.post("/app/login", data={"token": ADMIN_TOKEN, "next": elsewhere})
        assert r.headers["location"] == "/app", elsewhere


def test_without_an_admin_token_the_dashboard_is_off(sqlite_url: str) -> None:
    settings = Settings(database_url=sqlite_url, write_keys=WRITE_KEY, auto_migrate=False)
    server = LiveServer(wiring.build(settings)).start()
    try:
        with httpx.Client(base_url=server.url) as client:
            form = client.get("/app/login")
            assert "The dashboard is off" in form.text
            assert 'name="token"' not in form.text
            refused = client.post("/app/login", data={"token": ""})
            assert refused.status_code == 401
            assert "set-cookie" not in refused.headers
    finally:
        server.stop()


def add_user(live: LiveServer, name: str, role: str) -> None:
    body = {"role": role, "password": f"{name}-password"}
    r = httpx.put(f"{live.url}/v1/users/{name}", json=body, headers=ADMIN)
    assert r.status_code == 200, r.text


def as_user(client: httpx.Client, name: str, password: str | None = None) -> httpx.Response:
    form = {"name": name, "password": password or f"{name}-password", "next": "/app/segments"}
    return client.post("/app/login", data=form)


def test_a_dashboard_user_signs_in_with_a_password(live: LiveServer, client: httpx.Client) -> None:
    add_user(live, "ada", "marketer")
    assert as_user(client, "ada", "wrong").status_code == 401
    assert as_user(client, "nobody").status_code == 401
    r = as_user(client, "ada")
    assert r.status_code == 303
    assert r.headers["location"] == "/app/segments"
    assert "ada-password" not in r.headers["set-cookie"]
    assert client.get("/app/segments").status_code == 200


@pytest.mark.parametrize(
    ("role", "write", "privacy"),
    [("analyst", 403, 403), ("marketer", 200, 403), ("support", 403, 404), ("admin", 200, 404)],
)
def test_each_role_does_what_its_scopes_allow(
    live: LiveServer, client: httpx.Client, role: str, write: int, privacy: int
) -> None:
    add_user(live, f"u-{role}", role)
    as_user(client, f"u-{role}")
    assert client.get("/app/journeys").status_code == 200  # every role reads
    preview = client.post(
        "/app/api/segments/preview",
        json={"text": "id: x\nname: X\nwhere: {fact: revenue, gte: 1}\n"},
    )
    assert preview.status_code == 200  # counting a draft changes nothing
    retry = client.post("/app/api/deliveries/retry", json={})
    assert retry.status_code == write, retry.text
    if write == 403:
        assert retry.json()["code"] == "forbidden"
    export = client.get("/app/api/customers/p-none/export")  # 404: allowed, no such person
    assert export.status_code == privacy, export.text
