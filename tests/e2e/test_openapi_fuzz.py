"""Every operation of the OpenAPI document, fuzzed by schemathesis against the real server on
loopback, with the write key and the admin token: no answer is a 5xx.

Bounded: a fixed number of examples per operation and generation mode (data that fits the
schema, and data that does not), derandomized so that a run is repeatable, without
shrinking: about 4,600 calls, 90 to 110 s per store on a quiet 2-core machine, three times
that on a loaded one, hence its own timeout. The operations are driven through schemathesis's
strategies rather than its pytest plugin, which needs a pytest older than ours.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode

from tests.conftest import ADMIN, BASIC, LiveServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
log = logging.getLogger(__name__)

EXAMPLES = 20
WRITE_KEY_PATHS = frozenset(
    ["/v1/decide", "/v1/batch", "/v1/import", "/v1/sending"]
    + [f"/v1/{kind}" for kind in ("track", "identify", "page", "screen", "group", "alias")]
)
BOUNDED = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


def fuzz(operation: Any, mode: GenerationMode, statuses: Counter[int]) -> str | None:
    """Run one operation's examples; the first failure as text (with its curl), or None."""
    headers = BASIC if operation.path in WRITE_KEY_PATHS else ADMIN

    @BOUNDED
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=[not_a_server_error], timeout=30)
        statuses[response.status_code] += 1

    try:
        run()
    except Unsatisfiable:
        return None  # nothing of the operation can be made invalid (no parameters, no body)
    except Exception as exc:  # noqa: BLE001 - a FailureGroup, or a broken connection: reported
        return f"{operation.method.upper()} {operation.path} ({mode}): {explained(exc)}"
    return None


def explained(exc: BaseException) -> str:
    """The failure and what it wraps: Hypothesis's "inconsistent results" (a case that failed
    once and then passed) holds the first failure, which says what happened (a timeout, a
    5xx, a broken connection) only among its sub-exceptions."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, BaseExceptionGroup):
        text += "".join(f"\n  - {explained(sub)}" for sub in exc.exceptions)
    elif exc.__cause__ is not None:
        text += f"\n  caused by {explained(exc.__cause__)}"
    return text


def test_no_operation_answers_a_server_error(live: LiveServer, record_property: Any) -> None:
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    schema.config.update(base_url=live.url)
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), "the OpenAPI document has invalid operations"
    assert len(operations) > 30, "the OpenAPI document lost its operations"
    statuses: Counter[int] = Counter()
    failures = [
        failure
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        if (failure := fuzz(operation, mode, statuses)) is not None
    ]
    summary = f"{len(operations)} operations, {sum(statuses.values())} cases: {dict(statuses)}"
    record_property("schemathesis", summary)
    log.info("schemathesis: %s", summary)
    assert not failures, summary + "\n\n" + "\n\n".join(failures)
