# SPDX-License-Identifier: Apache-2.0
"""Property-based fuzzing of the whole API from its own OpenAPI 3.1 document (schemathesis).

Every operation of ``/openapi.json`` gets generated requests, valid and invalid, with a real API
key; no answer may be a 5xx, and every answer must match the documented status codes, content
types and schemas. The event streams and the long poll are left out: they hold the connection
open by design (their behaviour is tested in ``test_flows.py``).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.server.conftest import ServerHandle

pytestmark = pytest.mark.slow

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    content_type_conformance,
    status_code_conformance,
]


def test_api_conforms_to_its_openapi_document(server: ServerHandle) -> None:
    bank = server.relying_party()
    server.enrol(bank, "alice")
    headers = {"Authorization": f"Bearer {bank.rp.api_key}"}
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [
        result.ok() for result in schema.exclude(path_regex=r"/(events|wait)$").get_all_operations()
    ]
    assert len(operations) >= 14
    failures: list[str] = []
    calls = 0
    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def fuzz(case: Any) -> None:
            nonlocal calls
            calls += 1
            case.call_and_validate(base_url=server.url, headers=headers, checks=CHECKS, timeout=30)

        try:
            fuzz()
        except Unsatisfiable:
            assert mode is GenerationMode.NEGATIVE  # no parameter, so no invalid request
        except Exception as error:
            failures.append(f"{operation.label} ({mode.value}): {error}")
    assert calls > 10 * len(operations)
    assert not failures, "\n\n".join(failures)
