"""The simulator's hand-rolled formatting equals what the standard library writes."""

from __future__ import annotations

import datetime as dt
import random
import uuid

from juncture.sim import wire


def _strftime_iso(ms: int) -> str:
    moment = dt.datetime.fromtimestamp(ms // 1000, dt.UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def test_iso_equals_strftime_across_days_and_boundaries() -> None:
    rng = random.Random(3)
    edges = [0, 999, 1000, 86_399_999, 86_400_000, -1, -86_400_001, 1_700_000_000_123]
    samples = edges + [rng.randrange(-(10**12), 4 * 10**12) for _ in range(20_000)]
    for ms in samples:
        assert wire.iso(ms) == _strftime_iso(ms), ms


def test_uuid4_text_equals_uuid_module() -> None:
    rng = random.Random(5)
    edges = [0, 2**128 - 1, 0xC000 << 48, 0xF000 << 64, 1 << 127]
    for bits in edges + [rng.getrandbits(128) for _ in range(20_000)]:
        assert wire.uuid4_text(bits) == str(uuid.UUID(int=bits, version=4))
