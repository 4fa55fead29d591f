"""A shop on another origin for browser tests: a small HTTP server on its own loopback port
serves the shop's pages (and the storefront's vendored copy of Segment's browser library),
while everything the page calls on Juncture goes to a real Juncture server on another port:
another origin, as on a real shop, so CORS is exercised. (Both on loopback: Chromium refuses
a page it deems public calling a loopback address, which a real shop never does.)"""

from __future__ import annotations

import contextlib
import http.server
import json
import threading
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from fastapi import FastAPI

from juncture import wiring
from tests.conftest import LiveServer, settings_for

VENDOR = Path(str(resources.files("juncture.demo.storefront").joinpath("vendor")))
BUNDLES = "/cdn/analytics-next/bundles/"  # where the library's cdnURL makes it load chunks


class Shop:
    """The shop's server: ``pages`` maps a path to its HTML, filled in by the test."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlparse(self.path).path
                name = path.removeprefix(BUNDLES).removeprefix("/vendor/")
                if path in pages:
                    self._send("text/html; charset=utf-8", pages[path].encode())
                elif name != path and "/" not in name and (VENDOR / name).is_file():
                    self._send("text/javascript", (VENDOR / name).read_bytes())
                else:
                    self.send_error(404)

            def _send(self, kind: str, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> Shop:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def beside(
    database_url: str, app: Callable[[wiring.Juncture], FastAPI] | None = None, **settings: Any
) -> Iterator[tuple[Shop, LiveServer]]:
    """A shop and a Juncture server that lets the shop's origin call it (``app``: the app
    to serve, from the wiring; default its API)."""
    site = Shop().start()
    juncture = wiring.build(settings_for(database_url, cors_origins=site.url, **settings))
    live = LiveServer(juncture, app(juncture) if app else None).start()
    try:
        yield site, live
    finally:
        live.stop()
        site.stop()


def analytics_next(shop: Shop, api: str, write_key: str, **segmentio: Any) -> str:
    """The script tags that load Segment's browser library as ``window.analytics``, sending
    to Juncture at ``api`` and loading no settings from anywhere (``cdnSettings`` inline);
    ``segmentio`` adds to the Segment.io integration's options (``deliveryStrategy``)."""
    host = urlparse(api)
    integration = {"apiKey": write_key, "apiHost": f"{host.netloc}/v1", "protocol": host.scheme}
    integration.update(segmentio)
    settings = {"writeKey": write_key, "cdnURL": f"{shop.url}/cdn",
                "cdnSettings": {"integrations": {"Segment.io": integration}}}  # fmt: skip
    options = {"integrations": {"Segment.io": integration}}
    return (
        '<script src="/vendor/analytics-next.js"></script>\n'
        "<script>window.analytics = AnalyticsNext.AnalyticsBrowser.load("
        f"{json.dumps(settings)}, {json.dumps(options)});</script>\n"
    )


def html(head: str, body: str = "", title: str = "Shop") -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<link rel="icon" href="data:,">{head}</head><body>{body}</body></html>'
    )
