"""Strict unknown-key walk of outbound JSON bodies against the OpenAPI request schemas.

Prism validates types, enums and required fields, but the Telnyx schemas do not set
``additionalProperties: false``, so a misspelled key (``voicemail_detecton``) passes Prism and is
silently ignored by Telnyx. This walk closes that gap: every key we send must be declared by the
schema. It resolves ``$ref``, merges ``allOf``, recurses into ``properties``/``items``/
``additionalProperties``, and for ``oneOf``/``anyOf`` picks the branch that fits best (a matching
``type`` discriminator first, then the fewest unknown keys).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

Spec = dict[str, Any]


def resolve(spec: Spec, node: Any) -> Any:
    """Follow ``$ref`` chains (local refs only, as in the Telnyx spec)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise ValueError(f"external $ref not supported: {ref}")
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
        seen += 1
        if seen > 50:
            raise ValueError(f"$ref loop at {ref}")
    return node


def _merged(spec: Spec, schema: Any) -> dict[str, Any]:
    """Resolve a schema and fold ``allOf`` members into one dict (properties and flags merged)."""
    schema = resolve(spec, schema)
    if not isinstance(schema, dict):
        return {}
    if "allOf" not in schema:
        return schema
    out: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    props: dict[str, Any] = dict(out.get("properties", {}))
    for member in schema["allOf"]:
        sub = _merged(spec, member)
        props.update(sub.get("properties", {}))
        for key in ("oneOf", "anyOf", "items", "additionalProperties", "type", "enum"):
            if key in sub and key not in out:
                out[key] = sub[key]
    if props or "properties" in out:
        out["properties"] = props
    return out


def unknown_keys(spec: Spec, schema: Any, value: Any, path: str = "$") -> list[str]:
    """JSON paths of keys in ``value`` that ``schema`` does not define (empty list = clean)."""
    schema = _merged(spec, schema)
    if not schema:
        return []
    branches = schema.get("oneOf") or schema.get("anyOf")
    if branches:
        return _best_branch(spec, schema, branches, value, path)
    if isinstance(value, dict):
        return _walk_object(spec, schema, value, path)
    if isinstance(value, list):
        items = schema.get("items")
        if items is None:
            return []
        found: list[str] = []
        for i, item in enumerate(value):
            found.extend(unknown_keys(spec, items, item, f"{path}[{i}]"))
        return found
    return []


def _walk_object(spec: Spec, schema: dict[str, Any], value: dict[str, Any], path: str) -> list[str]:
    props: dict[str, Any] | None = schema.get("properties")
    additional = schema.get("additionalProperties")
    found: list[str] = []
    for key, item in value.items():
        child = f"{path}.{key}"
        if props is not None and key in props:
            found.extend(unknown_keys(spec, props[key], item, child))
        elif isinstance(additional, dict):
            found.extend(unknown_keys(spec, additional, item, child))
        elif additional is True or props is None:
            # Declared free-form (additionalProperties: true, or an object schema with no
            # properties at all): any key is legitimate.
            continue
        else:
            found.append(child)
    return found


def _best_branch(spec: Spec, schema: dict[str, Any], branches: list[Any], value: Any, path: str) -> list[str]:
    # Properties declared next to oneOf/anyOf apply to every branch.
    shared = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
    candidates: list[tuple[int, int, list[str]]] = []
    for index, branch in enumerate(branches):
        merged = _merged(spec, branch)
        if shared.get("properties"):
            merged = {**merged, "properties": {**shared["properties"], **merged.get("properties", {})}}
        if not _type_fits(merged, value):
            continue
        mismatch = 0 if _discriminator_fits(spec, merged, value) else 1
        candidates.append((mismatch, index, unknown_keys(spec, merged, value, path)))
    if not candidates:
        return []
    candidates.sort(key=lambda c: (c[0], len(c[2]), c[1]))
    return candidates[0][2]


def _type_fits(schema: dict[str, Any], value: Any) -> bool:
    declared = schema.get("type")
    if declared is None:
        return True
    types = declared if isinstance(declared, list) else [declared]
    checks = {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "null": value is None,
    }
    return any(checks.get(t, False) for t in types)


def _discriminator_fits(spec: Spec, schema: dict[str, Any], value: Any) -> bool:
    """For tagged unions: does the branch's ``type`` enum accept the value's ``type``?"""
    if not isinstance(value, dict) or "type" not in value:
        return True
    prop = resolve(spec, (schema.get("properties") or {}).get("type"))
    if not isinstance(prop, dict) or "enum" not in prop:
        return True
    return value["type"] in prop["enum"]


@lru_cache(maxsize=4)
def _templates(spec_id: int, paths: tuple[str, ...]) -> list[tuple[re.Pattern[str], str]]:
    compiled = [(re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(p)) + "$"), p) for p in paths]
    # Literal segments beat parameters (/ai/assistants/tags before /ai/assistants/{id}).
    compiled.sort(key=lambda cp: cp[1].count("{"))
    return compiled


def find_operation(spec: Spec, method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The spec's (template, operation) for a concrete request path (no ``/v2`` prefix)."""
    paths = spec["paths"]
    for pattern, template in _templates(id(spec), tuple(paths)):
        if pattern.match(path) and method.lower() in paths[template]:
            return template, paths[template][method.lower()]
    raise LookupError(f"no operation for {method} {path} in the spec")


def request_schema(spec: Spec, operation: dict[str, Any]) -> Any | None:
    """The JSON request-body schema of an operation, if it has one."""
    body = resolve(spec, operation.get("requestBody"))
    if not body:
        return None
    content = body.get("content", {})
    media = content.get("application/json")
    return media.get("schema") if media else None


def unknown_body_keys(spec: Spec, method: str, path: str, body: Any) -> list[str]:
    """Unknown keys of ``body`` sent as ``method path``; a body where none is defined is one violation."""
    _, operation = find_operation(spec, method, path)
    schema = request_schema(spec, operation)
    if schema is None:
        return [] if body is None else ["$ (operation defines no JSON body)"]
    return unknown_keys(spec, schema, body)


def query_problems(spec: Spec, method: str, path: str, params: list[tuple[str, str]]) -> list[str]:
    """Query parameters the operation does not declare, or whose value its schema refuses
    (Prism does not check bracketed names such as ``page[size]`` against their bounds). A
    ``deepObject`` parameter (``filter``) accepts any ``filter[...]`` name; values are checked
    for declared names only, with the schema's ``type``, ``enum``, ``minimum`` and ``maximum``."""
    template, operation = find_operation(spec, method, path)
    declared: dict[str, dict[str, Any]] = {}
    for raw in [*spec["paths"][template].get("parameters", []), *operation.get("parameters", [])]:
        param = resolve(spec, raw)
        if param.get("in") == "query":
            declared[param["name"]] = param
    deep = {name for name, p in declared.items() if p.get("style") == "deepObject"}
    found: list[str] = []
    for name, value in params:
        param = declared.get(name)
        if param is None:
            if name.split("[", 1)[0] not in deep:
                found.append(f"query {name}: not a parameter of this operation")
            continue
        schema = _merged(spec, param.get("schema", {}))
        kind = schema.get("type")
        typed: Any = value
        if kind == "integer":
            if not re.fullmatch(r"-?\d+", value):
                found.append(f"query {name}={value}: not an integer")
                continue
            typed = int(value)
        elif kind == "boolean" and value not in ("true", "false"):
            found.append(f"query {name}={value}: not a boolean")
            continue
        if "enum" in schema and typed not in schema["enum"]:
            found.append(f"query {name}={value}: not one of {schema['enum']}")
        if "minimum" in schema and isinstance(typed, int) and typed < schema["minimum"]:
            found.append(f"query {name}={value}: below the minimum {schema['minimum']}")
        if "maximum" in schema and isinstance(typed, int) and typed > schema["maximum"]:
            found.append(f"query {name}={value}: above the maximum {schema['maximum']}")
    return found
