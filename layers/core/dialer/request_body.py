"""The one reader of HTTP request bodies: bytes, text, JSON and forms, bounded and checked.

Every HTTP handler reads its body through here (the management API through
:func:`dialer.http_api.resolve`, the Telnyx-facing routes directly), so a hostile body is refused
the same way everywhere and never reaches code that would crash on it: a body that is not UTF-8,
JSON nested deeper than :data:`MAX_JSON_DEPTH`, a number longer than :data:`MAX_NUMBER_DIGITS`
digits or not finite, a lone surrogate (``"\\ud800"``: valid JSON, but no UTF-8 encoder, DynamoDB
or Telnyx accepts it), or a base64 body that is not base64. Each raises
:class:`~dialer.errors.UnreadableBody` (a ``BadRequest``) with a message naming what is wrong and a
stable ``kind``; nothing else.

API Gateway (REST, no ``binaryMediaTypes``, as our template) treats every body as UTF-8 text and
passes it as a string; the local gateway (``sam local``) base64-encodes a body that is not UTF-8
(``isBase64Encoded: true``). Both forms are read here. Stdlib only: the Telnyx-facing routes import
this on their cold start.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from typing import Any
from urllib.parse import parse_qsl

from dialer.errors import UnreadableBody

#: Deepest JSON body accepted. Far beyond any real document (assistant tools with JSON-schema
#: parameters nest about ten levels) and far below Python's recursion limit, so a body of brackets
#: is refused before json, pydantic or our own merge code recurse on it.
MAX_JSON_DEPTH = 64

#: Longest JSON number accepted, in digits: DynamoDB keeps 38 significant digits, so a longer
#: number could never be stored as sent (and Python refuses ints over 4,300 digits with a
#: ValueError, which is how a 5,000-digit integer used to crash the webhook routes).
MAX_NUMBER_DIGITS = 38

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def event_body(event: dict[str, Any]) -> bytes:
    """The request body of an API Gateway (REST, proxy) event as sent; ``b""`` when there is none.

    UnreadableBody when API Gateway said base64 and the body is not base64."""
    body = event.get("body")
    if not body:
        return b""
    if not isinstance(body, str):
        raise UnreadableBody("the body is not text", kind="body_invalid")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise UnreadableBody("the body is marked base64 but is not", kind="body_invalid") from exc
    return _utf8(body)


def text_of(raw: bytes) -> str:
    """``raw`` as text; UnreadableBody when it is not UTF-8 (or holds a lone surrogate)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableBody(f"the body is not UTF-8 (byte {exc.start})", kind="not_utf8") from exc


def read_json(raw: bytes | str) -> Any:
    """Parse a JSON body within the bounds above; UnreadableBody names what is wrong otherwise.

    An empty body is UnreadableBody too: callers that allow one check before calling."""
    text = raw if isinstance(raw, str) else text_of(raw)
    try:
        doc = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except UnreadableBody:
        raise
    except RecursionError:  # the C parser's own guard, thousands of levels deep
        raise _too_deep() from None
    except ValueError as exc:  # JSONDecodeError is a ValueError
        raise UnreadableBody(f"the body is not valid JSON: {exc}", kind="json_invalid") from None
    # Text decoded from UTF-8 holds no surrogate, so one can only come from a \uD800-style
    # escape: walk the strings only when the text has one.
    _check_tree(doc, strings=_SURROGATE_ESCAPE.search(text) is not None)
    return doc


def read_form(raw: bytes) -> list[tuple[str, str]]:
    """Parse an ``application/x-www-form-urlencoded`` body (blank values kept, order kept)."""
    text = text_of(raw)
    try:
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise UnreadableBody("the body is not a valid form-encoded document", kind="form_invalid") from exc
    for key, value in pairs:
        _check_text(key)
        _check_text(value)
    return pairs


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate in an already-decoded string
        raise UnreadableBody("the body holds a lone surrogate", kind="lone_surrogate") from exc


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise UnreadableBody(
            f"a number in the body is longer than {MAX_NUMBER_DIGITS} digits", kind="number_out_of_range"
        )
    return int(text)


def _float(text: str) -> float:
    mantissa = text.lstrip("-").split("e")[0].split("E")[0].replace(".", "").lstrip("0")
    value = float(text)
    if len(mantissa) > MAX_NUMBER_DIGITS or not math.isfinite(value):
        raise UnreadableBody(f"a number in the body is out of range: {text[:40]}", kind="number_out_of_range")
    return value


def _constant(name: str) -> Any:
    raise UnreadableBody(f"{name} is not a JSON number", kind="json_invalid")


def _check_tree(doc: Any, *, strings: bool) -> None:
    """Refuse nesting deeper than :data:`MAX_JSON_DEPTH` and (``strings``) lone surrogates in any
    key or value. Iterative on purpose: the point is that nothing downstream recurses deeply."""
    pending: list[tuple[Any, int]] = [(doc, 0)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, str):
            if strings:
                _check_text(node)
        elif isinstance(node, dict | list):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            if isinstance(node, dict):
                if strings:
                    for key in node:
                        _check_text(key)
                pending.extend((child, depth) for child in node.values())
            else:
                pending.extend((child, depth) for child in node)


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise UnreadableBody(
            "the body holds a lone surrogate (\\ud800-\\udfff)", kind="lone_surrogate"
        ) from exc


def _too_deep() -> UnreadableBody:
    return UnreadableBody(f"JSON nested deeper than {MAX_JSON_DEPTH} levels", kind="json_too_deep")
