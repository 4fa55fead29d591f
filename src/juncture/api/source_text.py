"""Definitions sent as text (segments, journeys) are refused with the line of the first
character that no definition may hold (the control characters, which YAML does not read)
before they are parsed."""

from __future__ import annotations

import re
from typing import Final

from juncture.errors import BadInput

# YAML 1.1's printable set (PyYAML's Reader): tab, newlines and the printable planes.
_UNPRINTABLE: Final = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def check(text: str, filename: str) -> None:
    """Raise :class:`BadInput` ``invalid_character`` at ``filename:line`` if ``text`` holds a
    character outside YAML's printable set."""
    found = _UNPRINTABLE.search(text)
    if found is None:
        return
    line = text.count("\n", 0, found.start()) + 1
    where = f"{filename}:{line}"
    raise BadInput(
        f"{where}: character U+{ord(found.group()):04X} is not allowed in a definition",
        code="invalid_character",
        where=where,
    )
