"""schemathesis over every operation of docs/openapi.json, in-process (authorizer + handler against moto,
the simulator as Telnyx): no 5xx, every response conforms to the document, and every operation's
success answer is among them (resources are seeded, see tests/support/conformance.py). The same run
goes over HTTP against the local stack in tests/e2e/test_management_api.py."""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest
import schemathesis

from tests.integration.campaigns.conftest import import_env  # noqa: F401 - imports need their bucket
from tests.integration.management.conftest import Tenant
from tests.support.conformance import Seeds, assert_operation_conforms, seed_resources
from tests.support.management import InProcessApi
from tests.support.signing import REPO


class WsgiAdapter:
    """A WSGI app that plays API Gateway in front of the in-process management API."""

    def __init__(self, api: InProcessApi) -> None:
        self.api = api

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        auth = environ.get("HTTP_AUTHORIZATION", "")
        token = auth.split(" ", 1)[1] if auth.lower().startswith("bearer ") else None
        query = environ.get("QUERY_STRING", "")
        path = environ["PATH_INFO"] + (f"?{query}" if query else "")
        # Every other request header reaches the function (Idempotency-Key, ...), as through API Gateway.
        headers = {
            name[5:].replace("_", "-").lower(): value
            for name, value in environ.items()
            if name.startswith("HTTP_") and name != "HTTP_AUTHORIZATION"
        }
        try:
            response = self.api.request(
                environ["REQUEST_METHOD"],
                path,
                token=token,
                body=raw.decode("utf-8", "replace") if raw else None,
                headers=headers,
            )
        except LookupError:
            start_response("403 Forbidden", [("Content-Type", "application/json")])
            return [b'{"message":"Missing Authentication Token"}']
        body = b"" if response.body is None else json.dumps(response.body).encode()
        headers = [(k, v) for k, v in response.headers.items() if k != "content-length"]
        if body and not any(k == "content-type" for k, _ in headers):
            headers.append(("content-type", "application/json"))
        start_response(f"{response.status} X", headers)
        return [body]


@pytest.fixture
def wsgi_schema(api: InProcessApi) -> Any:
    schema = schemathesis.openapi.from_wsgi("/openapi.json", _serve_document(WsgiAdapter(api)))
    return schema


def _serve_document(app: WsgiAdapter) -> Callable[..., Iterable[bytes]]:
    document = (REPO / "docs" / "openapi.json").read_bytes()

    def wrapped(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/openapi.json":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [document]
        environ["wsgi.input"] = environ.get("wsgi.input") or io.BytesIO()
        return app(environ, start_response)

    return wrapped


OPERATIONS = [
    f"{method.upper()} {path}"
    for path, ops in json.loads((REPO / "docs" / "openapi.json").read_text())["paths"].items()
    for method in ops
]


_SUFFIXES = itertools.count(100)


@pytest.fixture
def seeds(
    api: InProcessApi,
    alpha: Tenant,
    import_env: dict[str, str],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Seeds:
    """Fresh resources for each operation (its own DELETE may remove them)."""

    def call(method: str, path: str, body: Any) -> tuple[int, Any]:
        response = api.request(method, path, token=alpha.api_key, body=body)
        return response.status, response.body

    seeds = seed_resources(call, phone_suffix=f"0{next(_SUFFIXES)}")
    seeds.ids["call_id"] = _seed_call(alpha.tenant_id, seeds.ids["campaign_id"], seeds.ids["lead_id"])
    with monkeypatch.context() as m:  # a results export needs a big campaign: make any campaign big
        m.setattr("dialer.services.results_export.INLINE_MAX_LEADS", 0)
        export = api.request("GET", f"/campaigns/{seeds.ids['campaign_id']}/results", token=alpha.api_key)
    assert export.status == 202, export.body
    seeds.ids["export_id"] = export.body["id"]
    return seeds


def _seed_call(tenant_id: str, campaign_id: str, lead_id: str) -> str:
    """A call record of the tenant (no API creates calls: the event processor writes them)."""
    import os

    from dialer.adapters.calls_table import CallsTable

    call_id = f"v3:conformance-{next(_SUFFIXES)}"
    CallsTable(os.environ["TABLE_NAME"]).items.put(
        {
            "pk": f"T#{tenant_id}#CALL#{call_id}",
            "sk": "CALL",
            "entity": "call",
            "tenant_id": tenant_id,
            "call_control_id": call_id,
            "campaign_id": campaign_id,
            "lead_id": lead_id,
            "state": "ended",
            "outcome": "answered_human",
        }
    )
    # Its transcript, as the transcripts function leaves it (S3 object, linked from the call).
    from dialer.adapters.transcripts_store import S3TranscriptStore
    from dialer.domain.transcripts import transcript_document, transcript_key

    key = transcript_key(tenant_id, call_id)
    messages = [{"role": "assistant", "text": "Hello!", "created_at": "2026-11-30T10:00:00Z"}]
    S3TranscriptStore(os.environ["TRANSCRIPT_BUCKET"]).put(
        key, transcript_document(call_id=call_id, conversation_id="conv-conformance", messages=messages)
    )
    CallsTable(os.environ["TABLE_NAME"]).set_transcript(
        tenant_id, call_id, status="stored", fetched_at="2026-11-30T10:01:00Z", key=key, messages=1
    )
    return call_id


@pytest.mark.parametrize("label", OPERATIONS)
def test_management_api_conforms(wsgi_schema: Any, alpha: Tenant, seeds: Seeds, label: str) -> None:
    # The pytest plugin of schemathesis 4.32 does not run on pytest 9, so drive hypothesis directly.
    operation = wsgi_schema.find_operation_by_label(label)
    assert_operation_conforms(operation, alpha.api_key, max_examples=25, seeds=seeds)
