"""The local stack's AWS transport: a botocore client plugin for the function processes and the runner.

A DynamoDB or SQS client's data-plane requests to the local (moto) endpoint are sent over a
kept-alive ``http.client`` connection and their answers read with ``json``, instead of going
through botocore's HTTP stack (urllib3, SigV4 signing, retry bookkeeping) and its shape-walking
response parser. The request body is still botocore's own serialisation, and error answers are
still read by botocore's parser, so a caller sees the same values and the same ``ClientError``
(its ``CancellationReasons``, a failed condition's ``Item``, SQS's query-compatible error codes)
either way.

Why: on the local stack every function shares the machine's cores with moto, and a botocore
client spent ~0.68 ms of CPU on a DynamoDB request (~0.89 ms on an SQS one) where this path spends
~0.24 ms (measured against the local moto server; numbers and the demo's before/after in
docs/decisions.md, "Issue 20: the local stack's DynamoDB and SQS requests without botocore's HTTP
stack").

How it loads: the local runner puts this directory on the function processes' ``PYTHONPATH`` and
names the module in ``BOTOCORE_EXPERIMENTAL__PLUGINS``; botocore then calls
:func:`initialize_client_plugin` for every client it creates (the runner calls it for its own
queue pollers' client). Nothing deployed loads it. It answers botocore's ``before-call`` event (as
botocore's own ``Stubber`` does), registered last, so the hooks registered before it (the
product's request counter) see every request and the ``after-call`` hooks run as usual (SQS's
error-code mapping among them). It answers only for a loopback endpoint; anything else (a
control-plane call, another host, a connection that fails, a server error) takes botocore's
normal path, with its timeouts and retries.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import HeadersDict
from botocore.parsers import create_parser

#: DynamoDB's operations this transport sends; the rest (tables, TTL, backups) go botocore's way.
#: The same set as ``local.moto_wire.ITEM_OPERATIONS`` (a test keeps them equal): this module runs
#: in the function processes, which cannot import ``local``.
DATA_PLANE = frozenset(
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
#: SQS's message operations (queues' creation and attributes go botocore's way).
MESSAGES = frozenset(
    {
        "SendMessage",
        "SendMessageBatch",
        "ReceiveMessage",
        "DeleteMessage",
        "DeleteMessageBatch",
        "ChangeMessageVisibility",
        "ChangeMessageVisibilityBatch",
    }
)
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class Wire:
    """What the transport sends for one service, and which answers it leaves to botocore."""

    operations: frozenset[str]
    #: A key that may hold a blob (base64 on the wire, bytes to a botocore caller): an answer
    #: holding one is read by botocore's parser (a string that happens to match only costs that).
    binary: re.Pattern[bytes]
    #: The request headers botocore's serialiser set that the server reads.
    headers: tuple[str, ...]


SERVICES = {
    # ``"B"``/``"BS"`` attribute values (``local.moto_wire``'s rule).
    "dynamodb": Wire(DATA_PLANE, re.compile(rb'"BS?"\s*:'), ("X-Amz-Target",)),
    # Binary message attributes; ``x-amzn-query-mode`` asks for the query-compatible error header.
    "sqs": Wire(
        MESSAGES, re.compile(rb'"Binary(?:Value|ListValues)"\s*:'), ("X-Amz-Target", "x-amzn-query-mode")
    ),
}


class Answer:
    """What botocore reads of an HTTP response after ``before-call`` was answered."""

    def __init__(self, url: str, status_code: int, headers: Any, content: bytes) -> None:
        self.url = url
        self.status_code = status_code
        self.headers = headers
        self.content = content
        self.raw = None


class Transport:
    """Sends one client's requests: a connection per thread, opened on first use."""

    def __init__(self, service: str, host: str, port: int, region: str, timeout: float) -> None:
        self.wire = SERVICES[service]
        self.host = host
        self.port = port
        self.timeout = timeout
        key = os.environ.get("AWS_ACCESS_KEY_ID", "testing")
        # moto reads the account and region from the credential scope; nothing checks a signature.
        self.authorization = (
            f"AWS4-HMAC-SHA256 Credential={key}/20200101/{region}/{service}/aws4_request, "
            "SignedHeaders=host;x-amz-target, Signature=0"
        )
        self._local = threading.local()

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[Answer, dict[str, Any]] | None:
        if model.name not in self.wire.operations:
            return None
        url = str(params.get("url") or "")
        parts = urlsplit(url)
        if parts.hostname != self.host or (parts.port or 80) != self.port:
            return None
        body = params.get("body") or b""
        sent = params["headers"]
        headers = {name: sent[name] for name in self.wire.headers if name in sent}
        headers["Content-Type"] = "application/x-amz-json-1.0"
        headers["Authorization"] = self.authorization
        try:
            status, header_items, content = self._send(body, headers)
        except (OSError, http.client.HTTPException):
            self._drop()
            return None  # botocore sends it again its own way, as its retry would
        if status >= 500:
            return None
        answer = Answer(url, status, HeadersDict(header_items), content)
        return answer, self._parse(model, answer)

    def _send(self, body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
        conn.request("POST", "/", body, headers)
        response = conn.getresponse()
        content = response.read()
        if response.will_close:
            self._drop()
        return response.status, response.getheaders(), content

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def _parse(self, model: Any, answer: Answer) -> dict[str, Any]:
        metadata = {
            "RequestId": answer.headers.get("x-amzn-requestid", ""),
            "HTTPStatusCode": answer.status_code,
            "HTTPHeaders": {k.lower(): v for k, v in answer.headers.items()},
            "RetryAttempts": 0,
        }
        # A blob is base64 on the wire and bytes to a botocore caller: such an answer (and any
        # error) is read by botocore's own parser.
        if answer.status_code < 300 and not self.wire.binary.search(answer.content):
            raw = json.loads(answer.content) if answer.content else {}
            # botocore keeps only the output shape's members (moto adds a few of its own).
            members = model.output_shape.members if model.output_shape is not None else {}
            parsed: dict[str, Any] = {k: v for k, v in raw.items() if k in members}
            parsed["ResponseMetadata"] = metadata
            return parsed
        parser = create_parser("json")
        response = {
            "headers": answer.headers,
            "status_code": answer.status_code,
            "body": answer.content,
            "context": {"operation_name": model.name},
        }
        parsed = parser.parse(response, model.output_shape)
        if answer.status_code >= 300:
            # As botocore's endpoint does: the error's modelled fields (CancellationReasons, Item).
            code = parsed.get("Error", {}).get("Code")
            shape = model.service_model.shape_for_error_code(code) if code else None
            if shape is not None:
                parsed.update(parser.parse(response, shape))
        return parsed


def initialize_client_plugin(client: Any) -> None:
    """botocore's plugin entry point: give a DynamoDB or SQS client on a loopback endpoint the
    transport."""
    service = client.meta.service_model.service_name
    if service not in SERVICES:
        return
    parts = urlsplit(client.meta.endpoint_url)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK:
        return
    config = client.meta.config
    timeout = float(config.read_timeout or 60) + float(config.connect_timeout or 60)
    transport = Transport(service, parts.hostname, parts.port or 80, client.meta.region_name, timeout)
    client.meta.events.register_last(f"before-call.{service}", transport)
