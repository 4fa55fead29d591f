"""``juncture bench dashboard``: how long the dashboard's heaviest pages take the server, on
the demo's database and on a synthetic store of a million profiles.

Each page is asked ``repeat`` times, one at a time, from a signed-in client over loopback
to ``juncture serve`` in a process of its own (the first answer, which warms caches, is
kept apart), and the median and the slowest are printed beside the raw limit of the same
run: ``GET /healthz`` on the same server and connection, which is what any page costs before
it reads anything.

Pages whose figures read a whole period (funnels and paths, the measurement, customers per
stage) answer from their last result, computed in the background: a page that first says
its figures are being computed is asked again each second until they are there, and the
time that took is kept apart (``ready_ms``). The Overview's activity comes from a summary
of the log; counting the whole log into it (what ``juncture serve`` does once after an
upgrade) is timed apart too (``summary_s``).

The synthetic store is the one ``juncture bench segments`` fills (profiles with facts, two
weeks of views, adds and orders, bulk-inserted, with the ready journeys applied), not the
engine's work, so its journeys have no enrollments.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import httpx

from juncture.bench import segments as synthetic
from juncture.store.sql import SqlStore
from juncture.testing import ServerProcess

Echo = Callable[[str], None]
STARTUP: Final = 180.0  # seconds: a loaded machine imports and migrates slowly
PAGE_TIMEOUT: Final = 120.0  # seconds a page may take before it is reported as timed out
READY_TIMEOUT: Final = 900.0  # seconds figures computed in the background may take
_COMPUTING: Final = ('id="computing"', 'id="measuring"')  # the figures are being computed
TOKEN: Final = "bench-admin-token"  # noqa: S105 - a scratch server on loopback
PAGES: Final = (
    "/app?period=7d", "/app?period=30d", "/app/journeys", "/app/customers", "/app/segments",
    "/app/experiments", "/app/funnels?period=30d", "/app/data", "/app/catalogue",
    "/app/reports?period=30d",
)  # fmt: skip
_CUSTOMER: Final = re.compile(r'href="(/app/customers/[^"/?]+)"')
_JOURNEY: Final = re.compile(r'href="(/app/journeys/(?!new)[^"/?]+)"')


def timed(client: httpx.Client, path: str, repeat: int) -> dict[str, Any]:
    """``path`` asked ``repeat`` times after a first, warming answer: milliseconds. A page
    slower than the client's timeout the first time is not asked again (``timed_out``)."""
    try:
        first, computing = _once(client, path)
    except httpx.TimeoutException:
        return {"path": path, "timed_out": True, "timeout_s": PAGE_TIMEOUT}
    ready = _ready(client, path) if computing else None
    if ready is None and computing:
        return {"path": path, "timed_out": True, "timeout_s": READY_TIMEOUT}
    took = [_once(client, path)[0] for _ in range(repeat)]
    return {
        "path": path, "first_ms": first, "ready_ms": ready,
        "median_ms": statistics.median(took), "max_ms": max(took), "repeat": repeat,
    }  # fmt: skip


def _once(client: httpx.Client, path: str) -> tuple[float, bool]:
    """Milliseconds ``path`` took, and whether it said its figures are being computed."""
    started = time.perf_counter()
    r = client.get(path)
    took = (time.perf_counter() - started) * 1000
    if r.status_code != 200:
        raise RuntimeError(f"{path} answered {r.status_code}: {r.text[:200]}")
    return round(took, 2), any(marker in r.text for marker in _COMPUTING)


def _ready(client: httpx.Client, path: str) -> float | None:
    """Milliseconds until ``path`` shows the figures it was computing (None: not in
    :data:`READY_TIMEOUT`)."""
    started = time.perf_counter()
    while time.perf_counter() - started < READY_TIMEOUT:
        time.sleep(1)
        if not _once(client, path)[1]:
            return round((time.perf_counter() - started) * 1000, 2)
    return None


def pages(url: str, repeat: int, echo: Echo, label: str) -> dict[str, Any]:
    """Every heavy page of the database at ``url``, and the floor, as served."""
    env = {"JUNCTURE_ADMIN_TOKEN": TOKEN, "JUNCTURE_LOG_LEVEL": "warning"}
    server = ServerProcess(url, env=env).start(timeout=STARTUP)
    try:
        with httpx.Client(base_url=server.url, timeout=PAGE_TIMEOUT) as client:
            r = client.post("/app/login", data={"token": TOKEN}, follow_redirects=True)
            r.raise_for_status()
            found = []
            for path in (*PAGES, *_details(client, echo)):
                echo(f"[dashboard] {label}: {path} ...")
                found.append(timed(client, path, repeat))
            # last, when the server's start-up work (training, the outbox) is long done
            found.insert(0, timed(client, "/healthz", repeat))
    finally:
        server.stop()
    floor = found[0]["median_ms"]
    for row in found:
        if not row.get("timed_out"):
            row["ratio_to_floor"] = round(row["median_ms"] / floor, 1) if floor else None
    return {"pages": found}


def _details(client: httpx.Client, echo: Echo) -> list[str]:
    """A customer's page and a journey's page, the first each list links to (the synthetic
    store's profile rows have no stored document, so a customer's page is left out there)."""
    out = []
    for listing, link in (("/app/customers", _CUSTOMER), ("/app/journeys", _JOURNEY)):
        match = link.search(client.get(listing).text)
        if match is None:
            continue
        answer = client.get(match.group(1))
        if answer.status_code == 200:
            out.append(match.group(1))
        else:
            echo(f"[dashboard] {match.group(1)} answered {answer.status_code}: left out")
    return out


def copy_of(url: str, folder: Path) -> str:
    """A copy of a SQLite database to serve (a server's dispatcher would settle the demo's
    pending messages in the original); other databases are served as they are."""
    if not url.startswith("sqlite:///"):
        return url
    copy = folder / "dashboard-demo.db"
    shutil.copy(url[len("sqlite:///") :], copy)
    return f"sqlite:///{copy}"


def scale_database(profiles: int, events: int, folder: Path, echo: Echo) -> str:
    """A scratch SQLite store filled with synthetic profiles and events, journeys applied."""
    url = f"sqlite:///{folder / 'dashboard-scale.db'}"
    store = SqlStore(url)
    try:
        store.migrate()
        store.journeys.apply_library()
    finally:
        store.close()
    echo(f"[dashboard] filling {profiles:,} profiles and {events:,} events ...")
    synthetic.fill(url, profiles, events, seed=7, echo=echo)
    return url


def summarise(url: str, echo: Echo) -> float:
    """Count the whole log into the Overview's summary, as ``juncture serve`` does once
    after an upgrade: seconds."""
    echo("[dashboard] counting the log into the activity summary ...")
    store = SqlStore(url)
    try:
        store.migrate()
        started = time.perf_counter()
        store.activity.refresh(dt.datetime.now(dt.UTC))
        return round(time.perf_counter() - started, 2)
    finally:
        store.close()


def run(
    *, demo_url: str | None, profiles: int, events: int, repeat: int, echo: Echo
) -> dict[str, Any]:
    result: dict[str, Any] = {"cores": os.cpu_count(), "repeat": repeat}
    with tempfile.TemporaryDirectory(prefix="juncture-bench-") as tmp:
        if demo_url is not None:
            url = copy_of(demo_url, Path(tmp))
            summary = summarise(url, echo)
            result["demo"] = {"summary_s": summary, **pages(url, repeat, echo, "demo")}
            show("demo", result["demo"], echo)
        if profiles > 0:
            url = scale_database(profiles, events, Path(tmp), echo)
            summary = summarise(url, echo)
            result["scale"] = {"profiles": profiles, "events": events, "summary_s": summary,
                               **pages(url, repeat, echo, f"{profiles:,} profiles")}  # fmt: skip
            show(f"{profiles:,} profiles", result["scale"], echo)
    return result


def show(label: str, found: dict[str, Any], echo: Echo) -> None:
    echo(f"[dashboard] {label}: median (slowest) ms, and times the floor (GET /healthz)")
    if "summary_s" in found:
        echo(f"  counting the whole log into the activity summary: {found['summary_s']} s")
    for row in found["pages"]:
        if row.get("timed_out"):
            echo(f"  {row['path']:<40} over {row['timeout_s']:.0f} s: not asked again")
            continue
        ready = row.get("ready_ms")
        later = f"; figures computed in the background in {ready / 1000:.1f} s" if ready else ""
        echo(
            f"  {row['path']:<40} {row['median_ms']:>9.1f} ({row['max_ms']:.1f})"
            f"  x{row['ratio_to_floor']}{later}"
        )
