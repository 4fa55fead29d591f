"""``juncture bench recs`` runs, bounded: every recommendation answered, the HTTP floor of
the same server beside it, training timed on the server and in process."""

from __future__ import annotations

from juncture.bench import recs


def test_bench_recs_answers_every_request_against_the_http_floor() -> None:
    lines: list[str] = []
    result = recs.run(
        customers=120, days=4, requests=60, concurrency=4, rate=50.0, interactions=3000,
        echo=lines.append,
    )  # fmt: skip
    assert result["closed_loop"]["statuses"] == {"200": 60}
    assert result["paced"]["statuses"] == {"200": 60}
    assert result["healthz_floor"]["statuses"] == {"200": 60}
    assert result["healthz_paced"]["statuses"] == {"200": 60}  # the floor at the same pace
    assert result["ratio"] == result["closed_loop"]["per_s"] / result["healthz_floor"]["per_s"]
    assert result["training"]["interactions"] > 0
    assert result["training"]["server_rss_mb_after"] > 0
    assert result["at_scale"]["interactions"] == 3000
    assert "ratio" in lines[-2]
