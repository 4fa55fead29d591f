"""A large product feed imports in transactions of ``chunk`` rows, so that events keep being
stored while it runs: on SQLite, whose one write lock the import and the ingestion share,
each event waits for one of the import's transactions at most, not for the import."""

from __future__ import annotations

import datetime as dt
import io
import threading
import time
import uuid

import msgspec
import orjson

from juncture import wiring
from juncture.core import messages
from juncture.runtime.catalog_import import import_feed
from tests.conftest import settings_for

PRODUCTS = 4000
CHUNK = 200


def _feed() -> bytes:
    rows = [f"p{n:05}\tProduct {n}\t{n % 90 + 1}.00 USD\tin stock" for n in range(PRODUCTS)]
    return ("id\ttitle\tprice\tavailability\n" + "\n".join(rows) + "\n").encode()


def _view(n: int) -> messages.Envelope:
    body = {
        "type": "track",
        "anonymousId": f"a-{n % 7}",
        "event": "Product Viewed",
        "messageId": str(uuid.uuid4()),
        "properties": {"product_id": f"p{n:05}"},
    }
    return messages.Envelope(messages=[msgspec.Raw(orjson.dumps(body))], single=False)


def test_events_are_stored_between_the_transactions_of_a_large_import(sqlite_url: str) -> None:
    juncture = wiring.build(settings_for(sqlite_url))
    store = juncture.store
    stop = threading.Event()
    waits: list[tuple[float, float]] = []  # (when stored, how long it took)

    def flow() -> None:
        n = 0
        while not stop.is_set():
            started = time.perf_counter()
            assert juncture.ingestor.ingest_sync(_view(n), "web").receipt.stored == 1
            waits.append((time.perf_counter(), time.perf_counter() - started))
            n += 1

    events = threading.Thread(target=flow)
    marks: list[float] = []  # when each transaction of the import was done
    try:
        events.start()
        report = import_feed(
            store.catalog, store.programmes, io.BytesIO(_feed()), "p.tsv", kind="products",
            now=dt.datetime.now(dt.UTC), chunk=CHUNK,
            progress=lambda _rows: marks.append(time.perf_counter()),
        )  # fmt: skip
    finally:
        stop.set()
        events.join()
        juncture.close()
    assert report.new == PRODUCTS
    took = marks[-1] - marks[0]
    during = [wait for at, wait in waits if marks[0] < at < marks[-1]]
    assert len(during) >= 5, (len(waits), took)  # stored while the import ran, not after it
    assert max(during) < took / 2, (max(during), took)  # no event waited for the import
