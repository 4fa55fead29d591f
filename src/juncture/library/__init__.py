"""What Juncture ships ready to use, in one shape: ``journeys/*.yaml``, ``segments/*.yaml``
and ``templates/<name>/*.liquid``. The readers take these paths from here."""

from __future__ import annotations

from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent
JOURNEYS: Final = ROOT / "journeys"
SEGMENTS: Final = ROOT / "segments"
TEMPLATES: Final = ROOT / "templates"
