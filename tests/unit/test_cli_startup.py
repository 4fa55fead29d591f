"""Building the ``juncture`` command imports no heavy library: each command imports what it
runs when it runs, so that ``juncture --help`` (and a typo's answer) comes at once."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "fastapi", "uvicorn", "numpy", "sklearn", "httpx", "psycopg")
PROBE = f"""
import json, sys
import juncture.cli.main
print(json.dumps(sorted(name for name in {HEAVY!r} if name in sys.modules)))
"""


def imported_by_building_the_cli() -> list[str]:
    """The heavy libraries in ``sys.modules`` after importing the command, in a fresh
    interpreter (this one has imported them all already)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    return list(json.loads(done.stdout))


def test_building_the_command_imports_no_heavy_library() -> None:
    assert imported_by_building_the_cli() == []


def test_the_probe_sees_a_heavy_import() -> None:
    """The probe itself works: a module that does import them is seen to."""
    probe = PROBE.replace("import juncture.cli.main", "import juncture.wiring")
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert "sqlalchemy" in json.loads(done.stdout)
