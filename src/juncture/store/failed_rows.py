"""Rows of the quarantine (``failed_events``) that both databases take whatever was sent:
text without NUL and within its column (a rejected message's own id or path may be
neither), and the exact bytes beside the text where the text cannot hold them. The writers'
quarantine and the engine's set-aside timers both insert through :func:`row`."""

from __future__ import annotations

from typing import Any, Final

from juncture.store import tables

COLUMNS: Final = (
    "source, received_at, message_id, code, reason, path, payload, raw, status, type_hint"
)

_ID_CHARS: Final = tables.chars(tables.failed_events, "message_id")
_PATH_CHARS: Final = tables.chars(tables.failed_events, "path")
_CODE_CHARS: Final = tables.chars(tables.failed_events, "code")


def row(
    *,
    source: str,
    received_at: Any,
    message_id: str | None,
    code: str,
    reason: str,
    path: str,
    raw: bytes,
    status: str = "failed",
    type_hint: str | None = None,
) -> tuple[Any, ...]:
    """The values of :data:`COLUMNS`, in order; ``received_at`` as the dialect stores it."""
    return (
        source,
        received_at,
        _column(message_id, _ID_CHARS) if message_id else None,
        _column(code, _CODE_CHARS),
        _column(reason, None),
        _column(path, _PATH_CHARS),
        *_payload(raw),
        status,
        type_hint,
    )


def marks(mark: str) -> str:
    """One placeholder per column of :data:`COLUMNS`."""
    return ",".join([mark] * len(COLUMNS.split(",")))


def _column(text: str, limit: int | None) -> str:
    text = text.replace("\x00", "\\u0000")
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "\u2026"


def _payload(raw: bytes) -> tuple[str, bytes | None]:
    """The payload as text, and the exact bytes too when the text is not them."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace").replace("\x00", "\ufffd"), raw
    if "\x00" in text:
        return text.replace("\x00", "\ufffd"), raw
    return text, None
