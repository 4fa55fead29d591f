"""The one exception tree of Juncture, mapped to HTTP in ``api/errors.py``.

::

    JunctureError                 code, message, where; ``retryable`` says if a retry may help
    ├── BadInput                  4xx: the caller sent something we cannot take
    │   ├── MalformedBody         400 malformed_json / bad_encoding / invalid_body
    │   ├── PayloadTooLarge       413 payload_too_large
    │   ├── BodyTimeout           408 body_timeout (the body stalled; the connection is closed)
    │   ├── Unauthorized          401 unauthorized (missing or unknown write key / token)
    │   ├── NotFound              404 not_found
    │   ├── Conflict              409 conflict (the state does not allow it now, e.g. archived)
    │   ├── RateLimited           429 rate_limited (with Retry-After: when to send again)
    │   ├── InvalidDefinition     400/422 a file or definition that does not validate
    │   └── InvalidSettings       a JUNCTURE_* variable or CLI flag that does not validate
    ├── Unprocessable             the store refused what one commit's events made (a value
    │                             no check at the edge caught): never a caller's answer; the
    │                             committer finds the one event and quarantines it
    ├── StoreError                500: the store failed a statement for another reason than
    │                             being unreachable (a schema behind the code, a driver
    │                             error); retrying will not help
    ├── PositionMoved             a log position is not where its consumer left it: another
    │                             process applies the same log (the engine stops)
    └── Unavailable               503: a dependency (the store) cannot be written; retry
        ├── StoreUnavailable
        ├── LogUnavailable        the distributed log did not acknowledge an append or a read
        └── EngineNotReady        the engine behind the log stopped, fails or lags too far
                                  (with the distributed log: which partitions)

Errors from libraries are mapped at the boundary that calls them (``raise ... from exc``), so
the rest of the code and the API see only these.
"""

from __future__ import annotations


class JunctureError(Exception):
    """Base class. ``code`` is stable and machine-readable; ``message`` is for people."""

    status = 500
    code = "internal_error"
    retryable = False

    def __init__(self, message: str, *, code: str | None = None, where: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.where = where

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"code": self.code, "message": self.message}
        if self.where is not None:
            out["where"] = self.where
        return out


class BadInput(JunctureError):
    status = 400
    code = "bad_input"


class MalformedBody(BadInput):
    code = "malformed_json"


class PayloadTooLarge(BadInput):
    status = 413
    code = "payload_too_large"


class BodyTimeout(BadInput):
    status = 408
    code = "body_timeout"


class Unauthorized(BadInput):
    status = 401
    code = "unauthorized"


class Forbidden(BadInput):
    status = 403
    code = "forbidden"


class NotFound(BadInput):
    status = 404
    code = "not_found"


class Conflict(BadInput):
    status = 409
    code = "conflict"


class RateLimited(BadInput):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, where: str) -> None:
        super().__init__(message, where=where)
        self.retry_after = retry_after


class InvalidDefinition(BadInput):
    status = 422
    code = "invalid_definition"


class InvalidSettings(BadInput):
    code = "invalid_settings"


class Unprocessable(JunctureError):
    status = 422
    code = "unprocessable"


class StoreError(JunctureError):
    code = "store_error"


class PositionMoved(JunctureError):
    code = "position_moved"


class Unavailable(JunctureError):
    status = 503
    code = "unavailable"
    retryable = True


class StoreUnavailable(Unavailable):
    code = "store_unavailable"


class LogUnavailable(Unavailable):
    """The distributed log (``JUNCTURE_LOG_URL``) did not acknowledge an append or a read."""

    code = "log_unavailable"


class EngineNotReady(Unavailable):
    """With the distributed log, ``partitions`` says which are behind (each a JSON object:
    partition, events, seconds)."""

    code = "engine_not_ready"

    def __init__(self, message: str, *, partitions: list[dict[str, object]] | None = None):
        super().__init__(message)
        self.partitions = partitions

    def to_json(self) -> dict[str, object]:
        out = super().to_json()
        if self.partitions is not None:
            out["partitions"] = self.partitions
        return out
