"""The retailer's templates folder (``JUNCTURE_TEMPLATES_DIR``): the templates uploaded over
the admin API, one folder per template as the shipped ones are
(``<name>/subject.liquid``, ``body.html.liquid``, ``body.txt.liquid``).

A template is replaced whole: each part is written to a temporary file in the template's
folder and moved over the old one (``os.replace``), so a reader sees the old part or the new
one, never half of one; a part left out of an upload is removed. The renderer
(:class:`~juncture.channels.templates.Templates`) sees the change by the folder's
modification time.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from juncture.channels.templates import PARTS

NAME: Final = re.compile(r"^[a-z0-9_][a-z0-9_-]{0,99}$")


class TemplateFolder:
    """Reads and writes the templates under ``root`` (created on the first write)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and NAME.match(p.name))

    def read(self, name: str, folder: Path | None = None) -> dict[str, str] | None:
        """The parts of template ``name`` (in ``folder``, else here); None when absent."""
        where = (folder or self.root) / name
        if not where.is_dir():
            return None
        found = {part: where / file for part, file in PARTS.items()}
        return {p: f.read_text(encoding="utf-8") for p, f in found.items() if f.is_file()}

    def write(self, name: str, parts: Mapping[str, str]) -> None:
        """Replace template ``name`` with ``parts`` (checked by the caller)."""
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        for part, file in PARTS.items():
            target = folder / file
            if part not in parts:
                target.unlink(missing_ok=True)
                continue
            handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(parts[part])
            os.replace(temporary, target)
        os.utime(folder)  # the renderer reads it again: its stamp is the folder's time

    def delete(self, name: str) -> bool:
        """Remove the retailer's template ``name``; False when there was none."""
        folder = self.root / name
        if not folder.is_dir():
            return False
        shutil.rmtree(folder)
        return True
