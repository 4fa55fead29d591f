"""Every operation of the OpenAPI document, fuzzed by schemathesis against the real server on
loopback, with the write key and the admin token: no answer is a 5xx.

Bounded: a fixed number of examples per operation and generation mode (data that fits the
schema, and data that does not), derandomized so that a run is repeatable, without
shrinking; well under a minute per store. The operations are driven through schemathesis's
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

pytestmark = pytest.mark.slow
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
        return f"{operation.method.upper()} {operation.path} ({mode}): {exc}"
    return None


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
