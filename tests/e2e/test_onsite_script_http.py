"""``GET /v1/juncture.js`` over real HTTP: the packaged script, as JavaScript, cacheable, and
revalidated with its ETag."""

from __future__ import annotations

from importlib import resources

import httpx

from tests.conftest import LiveServer


def test_the_script_is_served_cacheable_and_revalidated(live: LiveServer) -> None:
    r = httpx.get(f"{live.url}/v1/juncture.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert "max-age=" in r.headers["cache-control"]
    shipped = resources.files("juncture.api.onsite").joinpath("juncture.js").read_bytes()
    assert r.content == shipped
    again = httpx.get(f"{live.url}/v1/juncture.js", headers={"If-None-Match": r.headers["etag"]})
    assert (again.status_code, again.content) == (304, b"")
    stale = httpx.get(f"{live.url}/v1/juncture.js", headers={"If-None-Match": '"other"'})
    assert stale.status_code == 200
