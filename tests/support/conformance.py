"""schemathesis conformance of one management-API operation: no 5xx, no response off the document.

(The schemathesis pytest plugin does not run on pytest 9, so hypothesis drives the cases.)
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [status_code_conformance, content_type_conformance, response_schema_conformance]


def assert_operation_conforms(operation: Any, api_key: str, *, max_examples: int) -> None:
    """Generate cases for ``operation``, call it authenticated, and check every response."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def run(case: Any) -> None:
        response = case.call(headers={"Authorization": f"Bearer {api_key}"})
        assert response.status_code < 500, (
            case.method,
            case.formatted_path,
            response.status_code,
            response.text,
        )
        case.validate_response(response, checks=CHECKS)

    run()
