"""Building the ``juncture`` command imports no heavy library: each command imports what it
runs when it runs, so that ``juncture --help`` (and a typo's answer) comes at once. The
server (``juncture.wiring``) imports the libraries that only a measurement, a training or a
saved model uses when they are first used, so ``juncture serve`` starts seconds sooner."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "fastapi", "uvicorn", "numpy", "sklearn", "httpx", "psycopg")
ON_FIRST_USE = ("scipy", "sklearn", "implicit", "joblib", "pandas", "statsmodels")
PROBE = """
import json, sys
{code}
print(json.dumps(sorted(name for name in {names!r} if name in sys.modules)))
"""


def imported_by(code: str, names: tuple[str, ...]) -> list[str]:
    """Those of ``names`` in ``sys.modules`` after running ``code``, in a fresh interpreter
    (this one has imported them all already)."""
    probe = PROBE.format(code=code, names=names)
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(done.stdout))


def test_building_the_command_imports_no_heavy_library() -> None:
    assert imported_by("import juncture.cli.main", HEAVY) == []


def test_the_server_imports_statistics_and_training_libraries_on_first_use() -> None:
    assert imported_by("import juncture.wiring", ON_FIRST_USE) == []


def test_the_probe_sees_a_heavy_import() -> None:
    """The probe itself works: a module that does import them is seen to."""
    assert "sqlalchemy" in imported_by("import juncture.wiring", HEAVY)
    used = "from juncture.analytics import planning; planning.power(0.2, 400)"
    assert imported_by(used, ON_FIRST_USE) == ["scipy"]
