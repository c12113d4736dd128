"""moto's DynamoDB wire format at the cost of ``json``: the item operations' requests and answers.

moto 5.2 reads every DynamoDB request through botocore's service model (a recursive walk over
every attribute value of every item) and writes every answer the same way. For the 100,000-row
import that walk was a quarter of the run (py-spy: request parsing 14 %, answer serialising 3 %,
the model lookups around them most of the rest), and every dial of the local stack pays it on each
of its requests.

DynamoDB's protocol is plain JSON, and for the item operations the walk changes nothing but
binary values (base64 on the wire, bytes inside moto). So for those operations, a request without
a binary-typed value is read with :func:`json.loads` and an answer that is plain JSON is written
with :func:`json.dumps`; anything else (a ``B``/``BS`` value, an error, a table description with
its datetimes) takes moto's own path. ``tests/unit/local/test_local_moto_wire.py`` runs the same
operations against vanilla moto and checks that every answer a client parses is the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

#: The operations whose requests and answers are item data (attribute-value maps), nothing else.
ITEM_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
#: A ``"B"`` or ``"BS"`` key anywhere in the body: maybe a binary value, which moto's parser decodes
#: from base64 (an attribute that happens to be named ``B`` only costs the slow path).
_BINARY = re.compile(rb'"BS?"\s*:')
_JSON_CONTENT_TYPE = "application/x-amz-json-1.0"


def fast_parse_parameters(original: Callable[..., None]) -> Callable[..., None]:
    """``BaseResponse.parse_parameters`` reading an item operation's body with ``json.loads``."""

    def parse_parameters(self: Any, request: Any) -> None:
        body = request.data
        if (
            self.service_name == "dynamodb"
            and self._get_action() in ITEM_OPERATIONS
            and not _BINARY.search(body)
        ):
            self.params = json.loads(body)
            return
        original(self, request)

    return parse_parameters


def fast_serialized(original: Callable[..., Any], plain_execute: Any) -> Callable[..., Any]:
    """``BaseResponse.serialized`` writing an item operation's answer with ``json.dumps``
    (``plain_execute``: ``ActionResult.execute_result``; a result class with its own way out,
    such as an empty answer, keeps it)."""

    def serialized(self: Any, action_result: Any) -> Any:
        result = action_result.result
        if (
            self.service_name == "dynamodb"
            and isinstance(result, dict)
            and type(action_result).execute_result is plain_execute
            and self._get_action() in ITEM_OPERATIONS
        ):
            try:
                body = json.dumps(result)
            except TypeError:  # bytes (a binary value) or a datetime: moto's serializer encodes them
                return original(self, action_result)
            return 200, {"Content-Type": _JSON_CONTENT_TYPE, **self.response_headers}, body
        return original(self, action_result)

    return serialized


@contextmanager
def json_wire() -> Iterator[None]:
    """Within the block, moto reads and writes the item operations' JSON with ``json`` (moto's
    serializer, and :mod:`local.moto_serialize` inside it, still write everything else)."""
    from moto.core.responses import ActionResult, BaseResponse

    originals = (BaseResponse.parse_parameters, BaseResponse.serialized)
    BaseResponse.parse_parameters = fast_parse_parameters(originals[0])  # type: ignore[method-assign]
    BaseResponse.serialized = fast_serialized(originals[1], ActionResult.execute_result)  # type: ignore[method-assign]
    try:
        yield
    finally:
        BaseResponse.parse_parameters, BaseResponse.serialized = originals  # type: ignore[method-assign]
