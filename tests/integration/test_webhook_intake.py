"""webhook_intake in-process against moto: what is accepted is durable; what is refused leaves no trace."""

from __future__ import annotations

import base64
import json
import sys
import time
from urllib.parse import urlencode

import pytest

from tests.integration.conftest import TENANT
from tests.support.aws import LambdaContextStub, drain
from tests.support.signing import api_gateway_event, fixture_paths, load_fixture, new_signer

CONTEXT = LambdaContextStub()


def post(
    handler, raw: bytes, headers: dict[str, str], *, tenant: str = TENANT, base64_body: bool = False
) -> dict:
    response = handler.lambda_handler(
        api_gateway_event(tenant, raw, headers, base64_body=base64_body), CONTEXT
    )
    response["json"] = json.loads(response["body"]) if response.get("body") else None
    return response


def queued(aws, moto_stack) -> list[dict]:
    return [json.loads(m["Body"]) for m in drain(aws["sqs"], moto_stack.events_queue_url)]


@pytest.mark.parametrize("path", fixture_paths(), ids=lambda p: p.stem)
def test_signed_fixture_is_accepted_and_enqueued(intake_handler, aws, moto_stack, signer, path):
    # GIVEN a fixture signed with the tenant's key
    raw = path.read_bytes()
    # WHEN Telnyx posts it
    response = post(intake_handler, raw, signer.headers(raw))
    # THEN it is 200 only because the message is in SQS, carrying the exact signed body
    assert response["statusCode"] == 200, response["body"]
    doc = json.loads(raw)
    assert response["json"] == {"status": "accepted", "event_id": doc["data"]["id"]}
    (message,) = queued(aws, moto_stack)
    assert message["tenant_id"] == TENANT
    assert message["event_id"] == doc["data"]["id"]
    assert message["body"] == raw.decode()


def test_base64_encoded_body_is_handled(intake_handler, aws, moto_stack, signer):
    raw = json.dumps(load_fixture("call.answered")).encode()
    response = post(intake_handler, raw, signer.headers(raw), base64_body=True)
    assert response["statusCode"] == 200
    assert len(queued(aws, moto_stack)) == 1


def test_texml_form_callback_is_accepted(intake_handler, aws, moto_stack, signer):
    raw = urlencode(
        {
            "CallSid": "v3:texml-1",
            "CallStatus": "completed",
            "CallDuration": "12",
            "From": "+15550000100",
            "To": "+15550000200",
        }
    ).encode()
    response = post(
        intake_handler, raw, signer.headers(raw, content_type="application/x-www-form-urlencoded")
    )
    assert response["statusCode"] == 200
    (message,) = queued(aws, moto_stack)
    assert message["event_type"] == "texml.status"
    assert message["content_type"] == "application/x-www-form-urlencoded"


def test_unknown_event_type_is_accepted_never_4xx(intake_handler, aws, moto_stack, signer):
    raw = json.dumps({"data": {"id": "evt-new-1", "event_type": "call.brand_new", "payload": {}}}).encode()
    assert post(intake_handler, raw, signer.headers(raw))["statusCode"] == 200
    assert queued(aws, moto_stack)[0]["event_type"] == "call.brand_new"


def _rejections(signer):
    raw = json.dumps(load_fixture("call.hangup")).encode()
    stale = int(time.time()) - 301
    future = int(time.time()) + 400
    other = new_signer(seed=99)
    return {
        "unsigned": (raw, {"content-type": "application/json"}, TENANT),
        "tampered": (raw.replace(b"normal_clearing", b"user_busy"), signer.headers(raw), TENANT),
        "stale": (raw, signer.headers(raw, timestamp=stale), TENANT),
        "from the future": (raw, signer.headers(raw, timestamp=future), TENANT),
        "wrong key": (raw, other.headers(raw), TENANT),
        "unknown tenant": (raw, signer.headers(raw), "nobody"),
        "malformed tenant id": (raw, signer.headers(raw), "Not_A-Valid%20Tenant"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "unsigned",
        "tampered",
        "stale",
        "from the future",
        "wrong key",
        "unknown tenant",
        "malformed tenant id",
    ],
)
def test_unverifiable_requests_get_401_and_leave_no_trace(intake_handler, aws, moto_stack, signer, case):
    raw, headers, tenant = _rejections(signer)[case]
    response = post(intake_handler, raw, headers, tenant=tenant)
    assert response["statusCode"] == 401
    # The same answer whether the tenant exists or not: no tenant oracle.
    assert response["json"] == {"error": "unauthorized", "message": "signature could not be verified"}
    assert queued(aws, moto_stack) == []


@pytest.mark.parametrize("raw", [b"garbage", b"[1,2,3]", b"{not json"])
def test_signed_but_unparseable_body_is_400(intake_handler, aws, moto_stack, signer, raw):
    response = post(intake_handler, raw, signer.headers(raw))
    assert response["statusCode"] == 400
    assert response["json"]["error"] == "bad_request"
    assert queued(aws, moto_stack) == []


def test_body_over_5_mib_is_413(intake_handler, aws, moto_stack, signer):
    raw = (
        b'{"data":{"id":"big","event_type":"call.conversation.ended","payload":{"x":"'
        + b"a" * (5 * 1024 * 1024)
        + b'"}}}'
    )
    response = post(intake_handler, raw, signer.headers(raw))
    assert response["statusCode"] == 413
    assert queued(aws, moto_stack) == []


def test_large_body_goes_to_s3_and_the_message_points_at_it(intake_handler, aws, moto_stack, signer):
    # GIVEN a long call's conversation.ended with a 1 MiB message history
    doc = load_fixture("call.conversation.ended")
    doc["data"]["id"] = "big-conversation-1"
    doc["data"]["payload"]["messages"] = [{"role": "user", "content": "x" * 1000}] * 1050
    raw = json.dumps(doc).encode()
    assert len(raw) > 1024 * 1024
    # WHEN it is posted
    response = post(intake_handler, raw, signer.headers(raw))
    # THEN it is accepted, stored in S3, and the message carries the pointer
    assert response["statusCode"] == 200
    (message,) = queued(aws, moto_stack)
    assert "body" not in message
    assert message["body_bytes"] == len(raw)
    stored = aws["s3"].get_object(Bucket=moto_stack.bucket, Key=message["body_key"])["Body"].read()
    assert stored == raw


def test_sqs_failure_is_5xx_so_telnyx_retries(intake_handler, aws, moto_stack, signer, monkeypatch):
    # GIVEN the queue is unreachable
    monkeypatch.setenv("EVENTS_QUEUE_URL", moto_stack.events_queue_url + "-missing")
    raw = json.dumps(load_fixture("call.hangup")).encode()
    # WHEN a valid webhook arrives
    response = post(intake_handler, raw, signer.headers(raw))
    # THEN Telnyx is told to retry, and nothing was enqueued anywhere
    assert response["statusCode"] == 503
    assert queued(aws, moto_stack) == []


def test_logs_never_carry_a_full_phone_number(intake_handler, aws, moto_stack, signer, capsys):
    # The shared logger keeps the stream it was created with; point it at this test's capture.
    intake_handler.logger.registered_handler.setStream(sys.stdout)
    raw = json.dumps(load_fixture("call.initiated")).encode()
    post(intake_handler, raw, signer.headers(raw))
    post(intake_handler, raw, {"content-type": "application/json"})
    out = capsys.readouterr()
    logged = out.out + out.err
    assert "webhook accepted" in logged  # the logs were really captured
    assert "webhook rejected" in logged
    assert "+15550000200" not in logged
    assert "+15550000100" not in logged


def test_tenant_key_rotation_does_not_leak_between_tenants(intake_handler, aws, moto_stack, signer):
    # GIVEN a second tenant with its own key
    from tests.support.aws import seed_tenant

    other = new_signer(seed=42)
    seed_tenant(aws["ssm"], "globex", other.public_key_b64)
    raw = json.dumps(load_fixture("call.answered")).encode()
    # THEN each tenant's route accepts only its own key
    assert post(intake_handler, raw, other.headers(raw), tenant="globex")["statusCode"] == 200
    assert post(intake_handler, raw, other.headers(raw), tenant=TENANT)["statusCode"] == 401
    assert post(intake_handler, raw, signer.headers(raw), tenant="globex")["statusCode"] == 401
    assert [m["tenant_id"] for m in queued(aws, moto_stack)] == ["globex"]


def test_base64_flag_with_form_body(intake_handler, aws, moto_stack, signer):
    raw = urlencode({"CallSid": "v3:t2", "AnsweredBy": "human"}).encode()
    headers = signer.headers(raw, content_type="application/x-www-form-urlencoded")
    response = post(intake_handler, raw, headers, base64_body=True)
    assert response["statusCode"] == 200
    assert base64.b64encode(raw)  # the gateway form was exercised above
    assert queued(aws, moto_stack)[0]["event_type"] == "texml.amd"


# --- hostile bodies (issue 22): refused at intake, never a crash, never queued ------------------------
def _envelope(payload: dict | None = None, **data: object) -> dict:
    doc = load_fixture("call.hangup")
    doc["data"].update(data)
    doc["data"]["payload"].update(payload or {})
    return doc


DEEP = b"[" * 2_000 + b"]" * 2_000
HUGE_INTEGER = b'{"data":{"id":"x","event_type":"call.hangup","payload":{"n":' + b"9" * 5_000 + b"}}}"


@pytest.mark.parametrize(
    ("raw", "base64_body"),
    [
        (DEEP, False),
        (HUGE_INTEGER, False),
        (b'{"data":{"id":"\xff\xfe","event_type":"call.hangup"}}', True),  # not UTF-8: sam local's form
        (json.dumps(_envelope({"call_control_id": "\ud800"})).encode(), False),  # a lone surrogate
        (b'{"data":{"id":"x","event_type":"call.hangup","payload":{"n":NaN}}}', False),
    ],
    ids=["deep", "5000-digit integer", "not UTF-8", "lone surrogate", "NaN"],
)
def test_a_signed_body_that_cannot_be_read_is_a_400_and_nothing_is_queued(
    intake_handler, aws, moto_stack, signer, raw, base64_body
):
    # GIVEN a correctly signed body no parser should be trusted with
    response = post(intake_handler, raw, signer.headers(raw), base64_body=base64_body)
    # THEN it is refused as bad input (Telnyx does not retry a 4xx forever), and nothing is durable
    assert response["statusCode"] == 400, response["body"]
    assert response["json"]["error"] == "bad_request"
    assert queued(aws, moto_stack) == []


@pytest.mark.parametrize(
    "doc",
    [
        _envelope({"call_control_id": "v3:" + "x" * 5_000}),
        _envelope(occurred_at="9999-12-31T23:59:59.000000Z"),
        _envelope(occurred_at="0001-01-01T00:00:00+14:00"),
        {**_envelope(), "meta": {"attempt": 10**400, "delivered_to": "https://example.com"}},
        _envelope({"cost_parts": 12}, event_type="call.cost"),
    ],
    ids=["5000-char call id", "year 9999", "year 1 (+14:00)", "attempt 10^400", "integer cost_parts"],
)
def test_a_signed_webhook_that_can_never_be_applied_is_refused_at_intake(
    intake_handler, aws, moto_stack, signer, doc
):
    # GIVEN a signed webhook the processor would fail on every time (and park in its DLQ)
    raw = json.dumps(doc).encode()
    # WHEN it arrives
    response = post(intake_handler, raw, signer.headers(raw))
    # THEN it is refused here, naming why, and never reaches the events queue
    assert response["statusCode"] == 400, response["body"]
    assert queued(aws, moto_stack) == []


def test_an_insights_body_that_cannot_be_read_is_a_400(intake_handler, aws, moto_stack, signer):
    for raw in (DEEP, HUGE_INTEGER):
        event = api_gateway_event(TENANT, raw, signer.headers(raw))
        event["resource"] = event["requestContext"]["resourcePath"] = "/webhooks/telnyx/{tenant_id}/insights"
        event["path"] = f"/webhooks/telnyx/{TENANT}/insights"
        response = intake_handler.lambda_handler(event, CONTEXT)
        assert response["statusCode"] == 400, response["body"]
    assert queued(aws, moto_stack) == []


def test_a_webhook_route_called_with_get_is_a_405(intake_handler):
    event = api_gateway_event(TENANT, b"", {})
    event["httpMethod"] = "GET"
    response = intake_handler.lambda_handler(event, CONTEXT)
    assert response["statusCode"] == 405, response["body"]
    assert (response.get("multiValueHeaders") or {}).get("Allow") == ["POST"]
