"""Hostile input against the management API in-process (issue 14): every bad body is a 4xx with the
usual error body, and nothing is left half-done (at Telnyx or in the table)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from local.simulator import Simulator
from tests.integration.management.conftest import MINIMAL_ASSISTANT, Tenant
from tests.support.management import InProcessApi
from tests.support.signing import REPO

_DOCUMENT = json.loads((REPO / "docs" / "openapi.json").read_text())
BODY_OPERATIONS = [
    (method.upper(), path)
    for path, ops in _DOCUMENT["paths"].items()
    for method, op in ops.items()
    if "requestBody" in op
]


def _concrete(path: str) -> str:
    """A path with every id filled in (an id that does not exist is fine: the body is read first)."""
    return path.replace("{", "x").replace("}", "")


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS, ids=[f"{m} {p}" for m, p in BODY_OPERATIONS])
@pytest.mark.parametrize("depth", [65, 1_500, 100_000])
def test_deeply_nested_json_is_a_422_on_every_route_with_a_body(
    api: InProcessApi, alpha: Tenant, method: str, path: str, depth: int
) -> None:
    # GIVEN a small body nested deeper than any document we accept (1,500 levels is 3 KB)
    body = "[" * depth + "]" * depth
    # WHEN it is sent to a route that reads a body
    response = api.request(method, _concrete(path), token=alpha.api_key, body=body)
    # THEN it is refused as bad input, naming the body, with Powertools' 422 body
    assert response.status == 422, (response.status, response.body)
    assert response.body["detail"][0]["loc"] == ["body"]
    assert response.body["detail"][0]["type"] == "json_too_deep"


@pytest.mark.parametrize(("method", "path"), BODY_OPERATIONS, ids=[f"{m} {p}" for m, p in BODY_OPERATIONS])
@pytest.mark.parametrize(
    ("body", "status", "kind"),
    [
        (b'{"name":"\xff\xfe"}', 400, None),  # not UTF-8: the local gateway base64-encodes it
        (b'{"name":"\\ud800"}', 422, "lone_surrogate"),
        (b'{"name":' + b"9" * 5_000 + b"}", 422, "number_out_of_range"),
        (b'{"name":1e400}', 422, "number_out_of_range"),
    ],
    ids=["not UTF-8", "lone surrogate", "5000-digit integer", "1e400"],
)
def test_an_unreadable_body_is_refused_on_every_route_with_a_body(
    api: InProcessApi, alpha: Tenant, method: str, path: str, body: bytes, status: int, kind: str | None
) -> None:
    # GIVEN a body no parser downstream should be trusted with
    response = api.request(method, _concrete(path), token=alpha.api_key, body=body)
    # THEN it is refused before any route runs: 400 when it is not text at all, else a 422 naming it
    assert response.status == status, (response.status, response.body)
    if kind:
        assert response.body["detail"][0] == {
            "loc": ["body"],
            "msg": response.body["detail"][0]["msg"],
            "type": kind,
        }
    else:
        assert response.body["error"] == "bad_request"


# --- no orphans at Telnyx ---------------------------------------------------------------------------
def _upstream_ids(sim: Simulator, tenant: Tenant) -> set[str]:
    account = sim.account(tenant.telnyx_key)
    with account.lock:
        return set(account.assistants)


def _listed_ids(api: InProcessApi, tenant: Tenant) -> set[str]:
    return {a["id"] for a in api.every("/assistants", tenant.api_key)}


MB = "x" * 1_000_000
OVERSIZED = {
    "1 MB name": {**MINIMAL_ASSISTANT, "name": MB},
    "1 MB instructions": {**MINIMAL_ASSISTANT, "instructions": MB},
    "1 MB greeting": {**MINIMAL_ASSISTANT, "greeting": MB},
    "1 MB description": {**MINIMAL_ASSISTANT, "description": MB},
    "1,000 x 1 KB variables": {
        **MINIMAL_ASSISTANT,
        "dynamic_variables": {f"v{i}": "x" * 1024 for i in range(1000)},
    },
    # Every field within its own limit, the whole over the mirror's budget.
    "90 x 3 KB variables": {
        **MINIMAL_ASSISTANT,
        "dynamic_variables": {f"v{i}": "y" * 3072 for i in range(90)},
    },
    "non-ASCII instructions": {**MINIMAL_ASSISTANT, "instructions": "你" * 99_000},
    "1 MB in a settings block": {
        **MINIMAL_ASSISTANT,
        "voice_settings": {"voice": "Telnyx.KokoroTTS.af", "x": MB},
    },
}


@pytest.mark.parametrize("body", OVERSIZED.values(), ids=OVERSIZED.keys())
def test_an_assistant_too_large_for_its_mirror_is_a_422_before_telnyx_is_called(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator, body: dict[str, Any]
) -> None:
    before = _upstream_ids(telnyx_sim, alpha)
    response = api.post("/assistants", alpha.api_key, body)
    assert response.status == 422, (response.status, str(response.body)[:300])
    assert _upstream_ids(telnyx_sim, alpha) == before


def test_the_largest_accepted_assistant_is_mirrored_and_listed(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    # GIVEN instructions at their 100,000-character limit, in a script that needs 3 bytes a character
    body = {**MINIMAL_ASSISTANT, "instructions": "你" * 80_000}
    response = api.post("/assistants", alpha.api_key, body)
    # THEN it is created, mirrored and listed
    assert response.status == 201, str(response.body)[:300]
    assert response.body["id"] in _listed_ids(api, alpha)


def test_a_patch_that_would_outgrow_the_mirror_is_a_422_and_changes_nothing(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    assistant_id = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT).body["id"]
    before = json.dumps(telnyx_sim.account(alpha.telnyx_key).assistants[assistant_id], sort_keys=True)
    big = {f"v{i}": "z" * 3072 for i in range(90)}
    response = api.patch(f"/assistants/{assistant_id}", alpha.api_key, {"dynamic_variables": big})
    assert response.status == 422, str(response.body)[:300]
    assert json.dumps(telnyx_sim.account(alpha.telnyx_key).assistants[assistant_id], sort_keys=True) == before


class MirrorWritesFail:
    """Fault injection at the AWS boundary: the table refuses assistant mirrors with ``code`` (a
    ``ValidationException`` as for an item over 400 KB, or an outage's error) while everything
    else works."""

    def __init__(self, code: str = "ValidationException") -> None:
        from dialer.adapters import aws as aws_clients

        self.client = aws_clients.client("dynamodb")
        self.code = code

    def _refuse(self, params: dict[str, Any], **_: Any) -> None:
        from botocore.exceptions import ClientError

        if "#ASSISTANT#" in params.get("Item", {}).get("pk", {}).get("S", ""):
            raise ClientError({"Error": {"Code": self.code, "Message": "Item size"}}, "PutItem")

    def __enter__(self) -> MirrorWritesFail:
        self.client.meta.events.register("provide-client-params.dynamodb.PutItem", self._refuse)
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.meta.events.unregister("provide-client-params.dynamodb.PutItem", self._refuse)


@pytest.mark.parametrize("operation", ["create", "clone"])
@pytest.mark.parametrize(
    ("code", "status"),
    # A write DynamoDB refuses as invalid would fail again: a 422, not "try again"; an outage is.
    [("ValidationException", 422), ("InternalServerError", 503)],
)
def test_a_create_whose_mirror_write_fails_undoes_itself_at_telnyx(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator, operation: str, code: str, status: int
) -> None:
    source = (
        api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT).body["id"] if operation == "clone" else ""
    )
    before = _upstream_ids(telnyx_sim, alpha)
    # GIVEN the mirror cannot be written after Telnyx accepted the assistant
    with MirrorWritesFail(code):
        if operation == "create":
            response = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT)
        else:
            response = api.post(f"/assistants/{source}/clone", alpha.api_key)
    # THEN the client is told whether to try again, and Telnyx has no assistant the API does not list
    assert response.status == status, response.body
    assert _upstream_ids(telnyx_sim, alpha) == before
    # AND the retry creates exactly one, listed
    retried = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT)
    assert retried.status == 201
    assert _upstream_ids(telnyx_sim, alpha) - before == {retried.body["id"]}
    assert retried.body["id"] in _listed_ids(api, alpha)


# --- validation gaps ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_an_empty_or_blank_name_is_a_422(api: InProcessApi, alpha: Tenant, name: str) -> None:
    created = api.post("/assistants", alpha.api_key, {**MINIMAL_ASSISTANT, "name": name})
    assert created.status == 422
    assert created.body["detail"][0]["loc"] == ["body", "name"]
    assistant_id = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT).body["id"]
    patched = api.patch(f"/assistants/{assistant_id}", alpha.api_key, {"name": name})
    assert patched.status == 422
    assert patched.body["detail"][0]["loc"] == ["body", "name"]


@pytest.mark.parametrize("field", ["instructions", "name"])
def test_patch_with_null_instructions_or_name_is_a_422_and_clears_nothing(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator, field: str
) -> None:
    assistant_id = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT).body["id"]
    response = api.patch(f"/assistants/{assistant_id}", alpha.api_key, {field: None})
    assert response.status == 422, response.body
    assert response.body["detail"][0]["loc"] == ["body", field]
    assert telnyx_sim.account(alpha.telnyx_key).assistants[assistant_id][field] == MINIMAL_ASSISTANT[field]


def test_patch_with_null_greeting_clears_it(api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator) -> None:
    body = {**MINIMAL_ASSISTANT, "greeting": "Hi!"}
    assistant_id = api.post("/assistants", alpha.api_key, body).body["id"]
    response = api.patch(f"/assistants/{assistant_id}", alpha.api_key, {"greeting": None})
    assert response.status == 200, response.body
    assert not telnyx_sim.account(alpha.telnyx_key).assistants[assistant_id].get("greeting")


# --- Idempotency-Key ------------------------------------------------------------------------------------
def test_the_same_idempotency_key_and_body_creates_one_assistant(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    before = _upstream_ids(telnyx_sim, alpha)
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    first = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT, headers=key)
    # The retry's body has its keys in another order: the same request all the same.
    again = api.post("/assistants", alpha.api_key, dict(reversed(MINIMAL_ASSISTANT.items())), headers=key)
    assert (first.status, again.status) == (201, 201)
    assert again.body == first.body
    assert (first.headers.get("idempotent-replayed"), again.headers.get("idempotent-replayed")) == (
        None,
        "true",
    )
    assert _upstream_ids(telnyx_sim, alpha) - before == {first.body["id"]}


def test_the_same_idempotency_key_with_another_body_is_a_422(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    assert api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT, headers=key).status == 201
    before = _upstream_ids(telnyx_sim, alpha)
    other = api.post("/assistants", alpha.api_key, {**MINIMAL_ASSISTANT, "name": "Other"}, headers=key)
    assert other.status == 422, other.body
    assert other.body["detail"][0]["type"] == "idempotency_key_reused"
    assert _upstream_ids(telnyx_sim, alpha) == before


def test_idempotency_keys_are_per_tenant(api: InProcessApi, alpha: Tenant, bravo: Tenant) -> None:
    key = {"Idempotency-Key": f"shared-{uuid.uuid4()}"}
    mine = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT, headers=key)
    theirs = api.post("/assistants", bravo.api_key, MINIMAL_ASSISTANT, headers=key)
    assert (mine.status, theirs.status) == (201, 201)
    assert mine.body["id"] != theirs.body["id"]


def test_a_failed_create_releases_its_idempotency_key(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    key = {"Idempotency-Key": f"retry-{uuid.uuid4()}"}
    before = _upstream_ids(telnyx_sim, alpha)
    with MirrorWritesFail("InternalServerError"):
        assert api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT, headers=key).status == 503
    retried = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT, headers=key)
    assert retried.status == 201
    assert "idempotent-replayed" not in retried.headers
    assert _upstream_ids(telnyx_sim, alpha) - before == {retried.body["id"]}


def test_a_retry_while_the_first_attempt_runs_is_a_409(api: InProcessApi, alpha: Tenant) -> None:
    from datetime import UTC, datetime

    from dialer.adapters.idempotency_table import IdempotencyTable
    from dialer.services.idempotency import KEEP, LEASE, _fingerprint
    from dialer.settings import get_settings

    # GIVEN an attempt holds the key (claimed, not completed: its function is still running)
    key = f"retry-{uuid.uuid4()}"
    request = {**MINIMAL_ASSISTANT}
    table = IdempotencyTable(get_settings().table_name)
    claimed = table.claim(
        alpha.tenant_id,
        "create_assistant",
        key,
        _fingerprint(request),
        now=datetime.now(UTC),
        lease=LEASE,
        keep=KEEP,
    )
    assert claimed
    # WHEN the client retries
    response = api.post("/assistants", alpha.api_key, request, headers={"Idempotency-Key": key})
    # THEN it is told to wait, not given a second assistant
    assert response.status == 409, response.body


@pytest.mark.parametrize("key", ["", "has space", "x" * 256])
def test_a_malformed_idempotency_key_is_a_422(api: InProcessApi, alpha: Tenant, key: str) -> None:
    response = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT, headers={"Idempotency-Key": key})
    assert response.status == 422, response.body


def test_the_same_idempotency_key_creates_one_campaign(api: InProcessApi, alpha: Tenant) -> None:
    assistant_id = api.post("/assistants", alpha.api_key, MINIMAL_ASSISTANT).body["id"]
    caller = api.post("/caller-ids", alpha.api_key, {"phone_number": "+15550001001"}).body["id"]
    body = {"name": "Renewals", "assistant_id": assistant_id, "caller_ids": [caller]}
    key = {"Idempotency-Key": f"campaign-{uuid.uuid4()}"}
    before = api.every("/campaigns", alpha.api_key)
    first = api.post("/campaigns", alpha.api_key, body, headers=key)
    again = api.post("/campaigns", alpha.api_key, body, headers=key)
    assert (first.status, again.status) == (201, 201), (first.body, again.body)
    assert again.body == first.body
    after = api.every("/campaigns", alpha.api_key)
    assert len(after) == len(before) + 1
    other = api.post("/campaigns", alpha.api_key, {**body, "name": "Other"}, headers=key)
    assert other.status == 422


def test_an_assistant_too_large_to_mirror_made_elsewhere_is_still_synced_and_listed(
    api: InProcessApi, alpha: Tenant, telnyx_sim: Simulator
) -> None:
    import httpx

    # GIVEN an assistant made in the Telnyx portal, larger than any mirror item can be
    made = httpx.post(
        f"{telnyx_sim.base_url}/ai/assistants",
        headers={"Authorization": f"Bearer {alpha.telnyx_key}"},
        json={"name": "Portal", "instructions": "p" * 1_000_000, "greeting": "Hi"},
        timeout=30,
    )
    assert made.status_code == 200, made.text[:300]
    assistant_id = made.json()["id"]
    # WHEN the tenant syncs
    synced = api.post("/assistants/sync", alpha.api_key)
    # THEN it is listed, without what did not fit, and answered whole from Telnyx
    assert synced.status == 200, synced.body
    listed = {a["id"]: a for a in api.every("/assistants", alpha.api_key)}
    assert listed[assistant_id]["settings"]["omitted_from_mirror"] == ["instructions"]
    assert listed[assistant_id]["settings"]["greeting"] == "Hi"
    whole = api.get(f"/assistants/{assistant_id}", alpha.api_key)
    assert whole.status == 200
    assert len(whole.body["settings"]["instructions"]) == 1_000_000
    assert api.delete(f"/assistants/{assistant_id}", alpha.api_key).status == 204
