"""SIGKILL the server while clients send: every acknowledged event survives, exactly once."""

from __future__ import annotations

import httpx
import pytest

from juncture.store.sql import SqlStore
from juncture.testing import ServerProcess
from tests import crash
from tests.conftest import WRITE_KEY

pytestmark = pytest.mark.slow


def test_sigkill_mid_stream_loses_no_acknowledged_event(database_url: str) -> None:
    batches = crash.batches(1200, 50, visitors=17)
    env = {"JUNCTURE_WRITE_KEYS": WRITE_KEY}
    server = ServerProcess(database_url, env=env).start()
    acked = crash.kill_mid_stream(server, batches, clients=4, kill_after=range(40, 300))

    # Restart, and let the clients retry what was not acknowledged, as real clients do.
    retry = sorted(set(range(len(batches))) - set(acked))
    with ServerProcess(database_url, env=env) as again, httpx.Client(auth=(WRITE_KEY, "")) as c:
        for index in retry:
            assert c.post(f"{again.url}/v1/batch", json=batches[index]).status_code == 200

    store = SqlStore(database_url)
    try:
        ids = [
            e.message_id
            for a in range(17)
            for e in store.events(anonymous_id=f"a{a}", limit=100_000)
            if e.source != "juncture"  # derived signals are not what the clients sent
        ]
    finally:
        store.close()
    expected = {m["messageId"] for b in batches for m in b["batch"]}
    assert len(ids) == len(set(ids)), "an event was stored twice"
    assert set(ids) == expected
