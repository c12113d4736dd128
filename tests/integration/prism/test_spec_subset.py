"""The Telnyx spec subset in the repository is enough, whole, and what its provenance note says.

``tests/fixtures/telnyx/openapi.yml`` is cut from Telnyx's whole spec by
``scripts/telnyx_spec_subset.py``. A client method on a path the subset lacks would make the
conformance suite fail with a bare ``LookupError``; this says which path to add to the script.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
from openapi_walk import _merged, find_operation, resolve

from tests.support.telnyx_fixtures import EVENTS_DIR, OPENAPI_SUBSET, TELNYX_FIXTURES, load_openapi_spec

REPO = Path(__file__).resolve().parents[3]
CLIENT_API = REPO / "layers" / "telnyx_client" / "telnyx_client" / "api"
SOURCE_NOTE = TELNYX_FIXTURES / "SOURCE.md"


@pytest.fixture(scope="module")
def subset(pytestconfig: pytest.Config) -> dict[str, Any]:
    return load_openapi_spec(pytestconfig.cache.mkdir("telnyx-openapi"), OPENAPI_SUBSET)


def _path_of(node: ast.expr, class_paths: list[str], where: str) -> list[str]:
    """The request path(s) a call site's path argument stands for (ids become ``x``)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        # ``f"{self.path}/{id}"`` in a generic collection: one path per subclass's ``path``.
        prefixes = [""]
        for part in node.values:
            if isinstance(part, ast.Constant):
                prefixes = [p + str(part.value) for p in prefixes]
            elif (
                isinstance(part, ast.FormattedValue)
                and isinstance(part.value, ast.Attribute)
                and part.value.attr == "path"
                and class_paths
            ):
                prefixes = [p + c for p in prefixes for c in class_paths]
            else:
                prefixes = [p + "x" for p in prefixes]
        return prefixes
    if isinstance(node, ast.Attribute) and node.attr == "path" and class_paths:
        return class_paths  # a generic collection: ``self.path`` is each subclass's ``path``
    raise AssertionError(f"{where}: cannot read the request path statically; extend this test")


def client_operations() -> list[tuple[str, str, str]]:
    """(method, path, file:line) of every request the client layer makes, read from its source."""
    found: list[tuple[str, str, str]] = []
    for source in sorted(CLIENT_API.glob("*.py")):
        tree = ast.parse(source.read_text())
        class_paths = [
            node.value.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "path" for t in node.targets)
            and isinstance(node.value, ast.Constant)
        ]
        for call in ast.walk(tree):
            if not (
                isinstance(call, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in {"request", "request_json"}
                and isinstance(call.func.value, ast.Attribute)
                and call.func.value.attr == "_core"
            ):
                continue
            where = f"{source.relative_to(REPO)}:{call.lineno}"
            method, path_arg = call.args[:2]
            assert isinstance(method, ast.Constant), f"{where}: method is not a literal"
            found.extend((str(method.value), path, where) for path in _path_of(path_arg, class_paths, where))
    return found


def test_the_client_layer_is_read_completely() -> None:
    # Guards the reader: literal, f-string and ``self.path`` (one per subclass) call sites all seen.
    operations = {(method, path) for method, path, _ in client_operations()}
    assert len(operations) >= 30
    assert {
        ("GET", "/calls/x"),
        ("POST", "/calls/x/actions/hangup"),
        ("POST", "/ai/conversations/insights"),
        ("GET", "/ai/conversations/insight-groups"),
        ("GET", "/ai/conversations/insight-groups/x"),
        ("GET", "/ai/conversations/insights/x"),
        ("PATCH", "/phone_numbers/x"),
    } <= operations


def test_every_operation_the_client_calls_is_in_the_subset(subset: dict[str, Any]) -> None:
    missing = []
    for method, path, where in client_operations():
        try:
            find_operation(subset, method, path)
        except LookupError:
            missing.append(f"{method} {path} ({where})")
    assert not missing, (
        "operations missing from tests/fixtures/telnyx/openapi.yml; add their paths to KEEP_PATHS in "
        "scripts/telnyx_spec_subset.py and regenerate:\n" + "\n".join(missing)
    )


def local_pointers(node: Any) -> set[str]:
    """Every string in the document that is a local JSON pointer (``$ref``, discriminator mappings …),
    found without knowing where the spec puts them (independent of the subset script)."""
    if isinstance(node, dict):
        return set().union(*(local_pointers(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(local_pointers(v) for v in node))
    return {node} if isinstance(node, str) and node.startswith("#/") else set()


def test_every_reference_in_the_subset_resolves_inside_it(subset: dict[str, Any]) -> None:
    refs = local_pointers(subset)
    assert len(refs) > 300
    dangling = []
    for ref in sorted(refs):
        try:
            resolve(subset, {"$ref": ref})
        except (KeyError, ValueError):
            dangling.append(ref)
    assert not dangling, f"references the subset does not define: {dangling}"


def documented_event_types(spec: dict[str, Any]) -> set[str]:
    """Every ``data.event_type`` value the spec's webhooks declare."""
    found: set[str] = set()
    for item in spec.get("webhooks", {}).values():
        schema = item["post"]["requestBody"]["content"]["application/json"]["schema"]
        data = _merged(spec, _merged(spec, schema).get("properties", {}).get("data", {}))
        event_type = resolve(spec, data.get("properties", {}).get("event_type", {}))
        found.update(event_type.get("enum", []))
    return found


def test_the_subset_documents_every_example_event(subset: dict[str, Any]) -> None:
    # GIVEN the example events (the simulator plays the same types; their schemas validate them)
    examples = {
        json.loads(p.read_text())["data"]["event_type"]
        for p in EVENTS_DIR.glob("*.json")
        if not p.name.endswith(".response.json")
    }
    # THEN the subset documents each one the whole spec documents (three have no schema there)
    undocumented_upstream = {
        "call.conversation.created",
        "call.conversation.start_failed",
        "assistant.initialization",
    }
    assert examples - documented_event_types(subset) == undocumented_upstream
    assert len(documented_event_types(subset)) >= 40  # every Call Control event, not only ours


def _noted_sha256(name: str) -> str:
    """The sha256 SOURCE.md gives for ``name`` (a table row or list line naming the file)."""
    for line in SOURCE_NOTE.read_text().splitlines():
        if f"`{name}`" in line:
            digest = re.search(r"\b[0-9a-f]{64}\b", line)
            if digest:
                return digest.group(0)
    raise AssertionError(f"SOURCE.md gives no sha256 for {name}")


def test_provenance_note_matches_the_files() -> None:
    # A hand edit of a fixture (or a regeneration without updating the note) fails here.
    files = [OPENAPI_SUBSET, *sorted(EVENTS_DIR.glob("*.json"))]
    assert len(files) > 10
    for path in files:
        rel = path.relative_to(TELNYX_FIXTURES).as_posix()
        assert hashlib.sha256(path.read_bytes()).hexdigest() == _noted_sha256(rel), rel
