"""Node's tracking libraries, the real ones (tests/clients/node: RudderStack's
``@rudderstack/rudder-sdk-node`` and Segment's ``@segment/analytics-node``), sending a
historical ``timestamp`` to the real server: RudderStack's stamps ``originalTimestamp`` with
the clock at the call beside it, and the caller's time must still be the event's time.
Skipped, saying why, where Node or the libraries (``npm ci`` in tests/clients/node, which
.ci/run does) are not installed."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import WRITE_KEY, LiveServer, stored

CLIENTS = Path(__file__).parents[1] / "clients" / "node"
HISTORICAL = dt.datetime(2026, 3, 14, 15, 9, 26, 535000, tzinfo=dt.UTC)

pytestmark = [
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
    pytest.mark.skipif(
        not (CLIENTS / "node_modules").is_dir(),
        reason="the Node clients are not installed: npm ci in tests/clients/node",
    ),
]


def _time(event: dict[str, object], field: str) -> dt.datetime:
    return dt.datetime.fromisoformat(str(event[field]))


def test_node_libraries_keep_a_historical_timestamp(live: LiveServer) -> None:
    env = {
        **os.environ,
        "JUNCTURE_URL": live.url,
        "JUNCTURE_WRITE_KEY": WRITE_KEY,
        "HISTORICAL": HISTORICAL.isoformat(),
    }
    done = subprocess.run(
        ["node", "send.mjs"],
        cwd=CLIENTS,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    [rudder] = stored(live, userId="node-rudder")
    assert rudder["context"]["library"]["name"] == "analytics-node"  # RudderStack's, so named
    assert _time(rudder, "timestamp") == HISTORICAL  # exactly: the caller said so
    assert _time(rudder, "originalTimestamp") > HISTORICAL + dt.timedelta(days=1)  # the call
    [segment] = stored(live, userId="node-segment")
    assert segment["context"]["library"]["name"] == "@segment/analytics-node"
    # Segment's library sends the caller's time as `timestamp` alone: corrected by the
    # request's own delay, no more.
    assert abs(_time(segment, "timestamp") - HISTORICAL) < dt.timedelta(seconds=2)
