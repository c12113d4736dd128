"""A hostile-input corpus driven by the route table (issue 22).

The routes come from ``template.yaml`` (every ``Type: Api`` event of every function), so a route is
covered the day it is added; what each route's body, query and path look like comes from
``docs/openapi.json``. :func:`probes` turns them into requests a transport sends (in-process
against moto, or over HTTP to the local stack): malformed and non-UTF-8 bodies, deep nesting,
huge strings, NUL and odd unicode, wrong types and extreme values per field, dates at the ends of
the calendar and impossible ones, zones that do not exist, unknown enum values, other tenants'
ids, path ids with ``../`` and 5,000 characters, and every HTTP method on every path. The count
stays in the low thousands: one mutation per field and kind, not a product of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.aws import load_template
from tests.support.signing import REPO, load_fixture

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
#: Routes Telnyx calls (signed, no API key); the rest take the management API key.
TELNYX_FACING = ("/webhooks/", "/tools/")
TOOLS = ("opt_out", "set_disposition", "schedule_callback")

DATES = ("0001-01-01", "9999-12-31", "2026-02-30", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00")
ZONES = ("Mars/Olympus", "x" * 300, "../../etc/passwd", "America")
STRINGS = ("\x00", "\u202e\ufeff\u200b😀", "x" * 300_000, "'; DROP TABLE x; --", "{{lead_id}}")
NUMBERS = (10**30, -1, 0, 1.5e300, -(2**63))
PATH_IDS = ("..%2F..%2Fetc", "x" * 5_000, "%00", "☃", "-1")
DEEP = b"[" * 3_000 + b"]" * 3_000
BODIES: dict[str, bytes] = {
    "malformed JSON": b'{"a": ',
    "not UTF-8": b'{"name": "\xff\xfe\xfa"}',
    "deep nesting": DEEP,
    "5000-digit integer": b'{"n": ' + b"9" * 5_000 + b"}",
    "lone surrogate": b'{"name": "\\ud800"}',
    "NaN": b'{"n": NaN}',
    "JSON null": b"null",
    "JSON array": b"[1, 2]",
    "form body": b"a=1&b=%ff",
}


@dataclass(frozen=True)
class Route:
    """One API event of the template: a function serving a method (or ``ANY``) on a path."""

    function: str  # the CodeUri directory, e.g. "campaigns_api"
    method: str
    path: str

    @property
    def telnyx_facing(self) -> bool:
        """Called by Telnyx (signed) rather than with the management API key."""
        return self.path.startswith(TELNYX_FACING)


@dataclass
class Probe:
    """One hostile request. ``path_params`` fill the route's path; ``body`` is sent as bytes."""

    route: Route
    method: str
    label: str
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] | None = None
    body: bytes | None = None
    content_type: str = "application/json"

    def concrete_path(self) -> str:
        """The path with its parameters filled in (as sent: already URL-safe)."""
        path = self.route.path
        for name, value in self.path_params.items():
            path = path.replace("{" + name + "}", value)
        return path


def routes() -> list[Route]:
    """Every API route in ``template.yaml``."""
    found = []
    for resource in load_template()["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties") or {}
        function = str(props.get("CodeUri", "")).rstrip("/").rsplit("/", 1)[-1]
        for event in (props.get("Events") or {}).values():
            if event.get("Type") == "Api":
                p = event["Properties"]
                found.append(Route(function, str(p["Method"]).upper(), str(p["Path"])))
    return sorted(found, key=lambda r: (r.path, r.method))


def openapi() -> dict[str, Any]:
    """The management API's OpenAPI document."""
    return json.loads((REPO / "docs" / "openapi.json").read_text())


def probes(ids: Mapping[str, str], other_ids: Mapping[str, str], tenant_id: str) -> Iterator[Probe]:
    """The corpus. ``ids``: the calling tenant's own ids by path parameter name (a missing one is
    made up); ``other_ids``: another tenant's, which must look exactly like ids that do not exist."""
    document = openapi()
    for route in routes():
        own = {name: ids.get(name, f"x_{name}") for name in _params(route.path)}
        if route.telnyx_facing:
            yield from _telnyx_probes(route, tenant_id, ids.get("lead_id", "x_lead"))
            continue
        operations = document["paths"].get(route.path, {})
        served = [m.upper() for m in operations] if route.method == "ANY" else [route.method]
        # every HTTP method, served or not (a method a route does not serve is a 405)
        for method in METHODS:
            yield Probe(route, method, f"method {method}", own)
        for method in served:
            operation = operations.get(method.lower(), {})
            # path ids: hostile, and another tenant's real ones
            for name in own:
                for value in PATH_IDS:
                    yield Probe(route, method, f"path {name}={value[:20]}", {**own, name: value})
                if name in other_ids:
                    yield Probe(route, method, f"other tenant's {name}", {**own, name: other_ids[name]})
            # query parameters: wrong types, extremes, impossible dates, unknown zones and enums
            for param in operation.get("parameters", []):
                if param.get("in") != "query":
                    continue
                for value in _hostile_values(
                    param["name"], _resolve(document, param.get("schema", {})), document
                ):
                    # 5,000 characters at most: longer is a URL no client sends (API Gateway's limit
                    # is about 10 KB, httpx's 64 KB)
                    text = value if isinstance(value, str) else json.dumps(value)
                    query = {param["name"]: text[:5_000]}
                    yield Probe(route, method, f"query {param['name']}", own, query=query)
            body_schema = _body_schema(document, operation)
            if body_schema is None:
                continue
            for label, raw in BODIES.items():
                content_type = (
                    "application/x-www-form-urlencoded" if label == "form body" else "application/json"
                )
                yield Probe(route, method, label, own, body=raw, content_type=content_type)
            base = _example(document, body_schema)
            yield Probe(route, method, "plausible body", own, body=json.dumps(base).encode())
            for name, schema in _properties(document, body_schema).items():
                for value in _hostile_values(name, schema, document):
                    body = json.dumps({**base, name: value}).encode()
                    yield Probe(route, method, f"body {name}", own, body=body)


# --- Telnyx-facing routes ----------------------------------------------------------------------------
def _telnyx_probes(route: Route, tenant_id: str, lead_id: str) -> Iterator[Probe]:
    tools = TOOLS if "{tool}" in route.path else ("",)
    hangup = load_fixture("call.hangup")
    envelopes = {
        "5000-char call_control_id": _patched(hangup, payload={"call_control_id": "v3:" + "x" * 5_000}),
        "occurred_at year 9999": _patched(hangup, occurred_at="9999-12-31T23:59:59.000000Z"),
        "attempt 10^400": {**hangup, "meta": {"attempt": 10**400}},
        "integer cost_parts": _patched(hangup, event_type="call.cost", payload={"cost_parts": 12}),
        "huge string": _patched(hangup, payload={"client_state": "x" * 300_000}),
        "NUL and odd unicode": _patched(hangup, payload={"to": "\x00\u202e😀", "from": "\ud800"}),
    }
    tool_args = {
        "time_zone 300 chars": {"when": "2026-12-02T15:00", "time_zone": "x" * 300},
        "time_zone Mars": {"when": "2026-12-02T15:00", "time_zone": "Mars/Olympus"},
        "when year 1 at +14:00": {"when": "0001-01-01T00:00:00+14:00"},
        "when 2026-02-30": {"when": "2026-02-30T10:00"},
        "wrong types": {"when": 12, "time_zone": ["x"], "disposition": {"a": 1}, "note": 5},
        "another tenant's call": {"call_control_id": "v3:not-ours", "disposition": "interested"},
        "path-like ids": {"call_control_id": "../../x", "lead_id": "x" * 5_000, "end_user": "\x00"},
    }
    for tool in tools:
        params = {"tenant_id": tenant_id, **({"tool": tool} if tool else {})}
        for method in METHODS:
            if method != "POST":
                yield Probe(route, method, f"method {method}", params)
        yield Probe(route, "POST", "path tenant 5000 chars", {**params, "tenant_id": "x" * 5_000})
        for label, raw in BODIES.items():
            content_type = "application/x-www-form-urlencoded" if label == "form body" else "application/json"
            yield Probe(route, "POST", label, params, body=raw, content_type=content_type)
        # tool arguments name the tenant's own lead, so they reach the parsers behind the identity
        docs: Mapping[str, Any] = (
            {k: {"lead_id": lead_id, **v} for k, v in tool_args.items()} if tool else envelopes
        )
        for label, doc in docs.items():
            yield Probe(route, "POST", label, params, body=json.dumps(doc).encode())


def _patched(doc: dict[str, Any], payload: dict[str, Any] | None = None, **data: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(doc))
    copy["data"].update(data)
    copy["data"].setdefault("payload", {}).update(payload or {})
    return copy


# --- OpenAPI helpers ---------------------------------------------------------------------------------
def _params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$ref`` followed and an optional (``anyOf`` with null) unwrapped."""
    for _ in range(10):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = document["components"]["schemas"][name]
        elif "anyOf" in schema or "oneOf" in schema:
            options = [s for s in schema.get("anyOf", schema.get("oneOf", [])) if s.get("type") != "null"]
            schema = options[0] if options else {}
        elif "allOf" in schema and len(schema["allOf"]) == 1:
            schema = schema["allOf"][0]
        else:
            return schema
    return schema


def _body_schema(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any] | None:
    content = (operation.get("requestBody") or {}).get("content") or {}
    media = content.get("application/json")
    return _resolve(document, media.get("schema", {})) if media else None


def _properties(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: _resolve(document, s) for name, s in (schema.get("properties") or {}).items()}


def _example(document: dict[str, Any], schema: dict[str, Any], depth: int = 0) -> Any:
    """A plausible value for ``schema``: its example or default, else one built from its type."""
    schema = _resolve(document, schema)
    for key in ("example", "default"):
        if key in schema and schema[key] is not None:
            return schema[key]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 3:
            return {}
        required = schema.get("required", [])
        return {
            name: _example(document, s, depth + 1)
            for name, s in _properties(document, schema).items()
            if name in required
        }
    if kind == "array":
        return [_example(document, schema.get("items", {}), depth + 1)] if schema.get("minItems") else []
    if kind == "integer":
        return max(1, int(schema.get("minimum", 1)))
    if kind == "number":
        return 1.0
    if kind == "boolean":
        return True
    fmt = schema.get("format", "")
    if fmt == "date-time":
        return "2030-01-08T15:00:00Z"
    if fmt == "date":
        return "2030-01-08"
    if fmt in ("uri", "url"):
        return "https://example.com/x"
    return "x" * max(1, int(schema.get("minLength", 1)))


def _hostile_values(name: str, schema: dict[str, Any], document: dict[str, Any]) -> list[Any]:
    """What to send in place of a field: a wrong type, and the extremes of its own type."""
    schema = _resolve(document, schema)
    kind = schema.get("type", "string")
    fmt = schema.get("format", "")
    values: list[Any] = []
    wrong: dict[str, Any] = {
        "string": 12345,
        "integer": "twelve",
        "number": "NaN",
        "boolean": "yes",
        "array": {"a": 1},
        "object": [1],
    }
    values.append(wrong.get(kind))
    if "enum" in schema:
        values.append("not_a_known_value")
    if kind in ("integer", "number"):
        values += [NUMBERS[0], NUMBERS[1]]
    elif kind == "string":
        if fmt in ("date-time", "date") or name.endswith(("_at", "_date", "date", "at")):
            values += list(DATES)
        elif "zone" in name:
            values += list(ZONES[:2])
        else:
            values += [STRINGS[0] + STRINGS[1], STRINGS[2]]
    elif kind == "array":
        values += [[STRINGS[1]] * 3, [None], list(range(2_000))]
    elif kind == "object":
        values += [{"\ud800": 1}, {"x" * 1_000: DEEP.decode()[:200]}]
    return values


Sender = Callable[[Probe], tuple[int, str]]


def assert_no_crash(probe: Probe, status: int, body: str) -> str | None:
    """Why this answer is a crash (a 5xx, or a stack trace in the body), or None."""
    if status >= 500:
        return f"{status} for {probe.method} {probe.route.path} [{probe.label}]: {body[:300]}"
    if "Traceback" in body or 'File "/' in body:
        return f"stack trace for {probe.method} {probe.route.path} [{probe.label}]"
    return None
