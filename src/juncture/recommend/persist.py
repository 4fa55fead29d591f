"""Trained models as bytes and back (joblib's pickle, compressed), so they outlive the
process that trained them.

The bytes start with :data:`FORMAT`: models saved by a version of Juncture whose models
differ are not loaded (the caller trains instead). Only bytes this package wrote, read back
from the retailer's own database, are ever loaded: unpickling runs code, so never load
bytes from anywhere else.
"""

from __future__ import annotations

import io
import logging
from typing import Final

from juncture.recommend.models import Models

FORMAT: Final = b"juncture-recs-2\n"  # raise when Models or a model's fields change
log = logging.getLogger("juncture.recommend")


def dumps(models: Models) -> bytes:
    """``models`` as bytes."""
    out = io.BytesIO()
    out.write(FORMAT)
    import joblib  # noqa: PLC0415 - slow to import, paid by a save

    joblib.dump(models, out, compress=3)
    return out.getvalue()


def loads(body: bytes) -> Models | None:
    """The models in ``body``; None when another format wrote them or they cannot be read."""
    if not body.startswith(FORMAT):
        return None
    import joblib  # noqa: PLC0415 - slow to import, paid by a load

    try:
        found = joblib.load(io.BytesIO(body[len(FORMAT) :]))
    except Exception:  # noqa: BLE001 - a model that cannot be read is trained again
        log.warning("recommendations: the saved models cannot be read; training again")
        return None
    return found if isinstance(found, Models) else None
