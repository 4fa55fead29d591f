"""The documentation's settings tables say the defaults the code has, and document every
threshold of the signals, sessions and stages."""

from __future__ import annotations

import re
from pathlib import Path

from juncture.settings import Settings

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
ROW = re.compile(r"\| `JUNCTURE_(\w+)` \| `([^`]+)` \|")
THRESHOLDS = {
    "cart_quiet",
    "checkout_quiet",
    "channel_switch_window",
    "repeat_views",
    "long_view",
    "revisit_gap",
    "strong_cart_value",
    "post_purchase_window",
    "session_gap",
    "lapsed_after",
    "loyalty_orders",
    "engaged_within",
    "max_anonymous_per_device",
}


def documented() -> dict[str, str]:
    text = "\n".join(page.read_text(encoding="utf-8") for page in PAGES)
    return {name.lower(): value for name, value in ROW.findall(text)}


def test_documented_defaults_are_the_settings_defaults() -> None:
    rows = documented()
    assert rows, "the README should have settings tables"
    for field, value in rows.items():
        assert field in Settings.model_fields, f"README documents JUNCTURE_{field.upper()}"
        given = getattr(Settings.model_validate({field: value}), field)
        assert given == Settings.model_fields[field].default, field


def test_every_threshold_is_documented() -> None:
    missing = THRESHOLDS - set(documented())
    assert not missing, missing
