"""Values read from an event's properties: ids (:func:`id_text`, :func:`product_key`),
finite numbers (:func:`number`) and non-empty strings (:func:`str_or`)."""

from __future__ import annotations

import math
from typing import Any


def product_key(props: dict[str, Any]) -> str | None:
    """A product's id in Segment ecommerce properties: ``product_id``, else ``sku``."""
    return id_text(props.get("product_id") or props.get("sku"))


def id_text(value: object) -> str | None:
    """A JSON string or integer (never a bool) as an id's text; None for anything else."""
    if type(value) is str:  # the usual case, checked first: it runs for every event
        return value
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value)
    return None


def number(value: object) -> float | None:
    """A finite number from a JSON value (numeric strings too; never a bool)."""
    if type(value) is float:  # the usual case, checked first
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        result = float(value)
    elif isinstance(value, str):
        try:
            result = float(value)
        except ValueError:
            return None
    else:
        return None
    return result if math.isfinite(result) else None


def str_or(value: object, default: str | None) -> str | None:
    return value if isinstance(value, str) and value else default
