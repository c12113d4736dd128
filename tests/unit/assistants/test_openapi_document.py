"""docs/openapi.json is what the resolvers generate (CI fails when it is stale)."""

from __future__ import annotations

import json

from scripts.openapi import DOCUMENT, build, render


def test_checked_in_document_is_current() -> None:
    assert DOCUMENT.read_text() == render(build()), "docs/openapi.json is stale: run scripts/openapi.py"


def test_every_operation_is_authenticated_and_documents_its_errors() -> None:
    doc = json.loads(DOCUMENT.read_text())
    assert doc["security"] == [{"bearer": []}]
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            assert {"401", "422"} <= set(operation["responses"]), (method, path)
            assert any(code.startswith("2") for code in operation["responses"]), (method, path)
