"""TelnyxClient over httpx.MockTransport: errors, retries, deadlines, wire details."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest
from telnyx_fakes import FakeClock, ok

from telnyx_client.api.calls import ALREADY_ENDED
from telnyx_client.errors import (
    TelnyxAuthError,
    TelnyxConnectionError,
    TelnyxError,
    TelnyxNotFound,
    TelnyxRateLimited,
    TelnyxServerError,
    TelnyxTimeout,
    TelnyxValidationError,
)

CALL = {
    "data": {
        "call_control_id": "v3:abc",
        "call_leg_id": "leg",
        "call_session_id": "sess",
        "is_alive": False,
        "record_type": "call",
    }
}
DIAL = {"connection_id": "1", "to": "+15550000200", "from": "+15550000100"}
TEXML = {"From": "+15550000100", "To": "+15550000200", "AIAssistantId": "assistant-1"}


def rate_limited(code: str, **headers: str) -> httpx.Response:
    return httpx.Response(
        429, json={"errors": [{"code": code, "title": "Too many requests"}]}, headers=headers or None
    )


# --- error shapes -------------------------------------------------------------------------------
def test_errors_envelope_is_parsed(make_client: Any) -> None:
    body = {
        "errors": [
            {
                "code": "90015",
                "title": "Invalid Call Control ID",
                "detail": "The call_control_id provided was not valid.",
                "source": {"pointer": "/call_control_id"},
                "meta": {"url": "https://developers.telnyx.com/docs/overview/errors/90015"},
            },
            {"code": "10004", "title": "Missing required parameter"},
        ]
    }
    client, _ = make_client(httpx.Response(422, json=body, headers={"x-request-id": "req-1"}))
    with pytest.raises(TelnyxValidationError) as info:
        client.calls.retrieve("v3:bad")
    err = info.value
    assert (err.status, err.code, err.title, err.request_id) == (
        422,
        "90015",
        "Invalid Call Control ID",
        "req-1",
    )
    assert err.detail == "The call_control_id provided was not valid."
    assert err.errors[0].source == {"pointer": "/call_control_id"}
    assert err.errors[0].meta["url"].endswith("90015")
    assert err.codes == ("90015", "10004")


def test_fastapi_detail_list_is_parsed(make_client: Any) -> None:
    body = {
        "detail": [
            {
                "loc": ["body", "dynamic_variables_webhook_timeout_ms"],
                "msg": "Input should be less than or equal to 10000",
                "type": "less_than_equal",
            }
        ]
    }
    client, _ = make_client(httpx.Response(422, json=body))
    with pytest.raises(TelnyxValidationError) as info:
        client.assistants.list()
    entry = info.value.errors[0]
    assert info.value.code is None
    assert entry.loc == ("body", "dynamic_variables_webhook_timeout_ms")
    assert entry.type == "less_than_equal"
    assert entry.source == {"pointer": "/dynamic_variables_webhook_timeout_ms"}
    assert info.value.title == "Input should be less than or equal to 10000"


def test_fastapi_detail_string_is_parsed(make_client: Any) -> None:
    client, _ = make_client(httpx.Response(404, json={"detail": "Conversation not found"}))
    with pytest.raises(TelnyxNotFound) as info:
        client.conversations.retrieve("00000000-0000-4000-8000-000000000000")
    assert info.value.detail == "Conversation not found"


def test_non_json_error_body_keeps_an_excerpt(make_client: Any) -> None:
    client, _ = make_client(httpx.Response(502, text="<html>Bad gateway</html>" + "x" * 2000), max_retries=0)
    with pytest.raises(TelnyxServerError) as info:
        client.assistants.list()
    assert info.value.status == 502
    assert info.value.errors == ()
    assert info.value.body_excerpt is not None
    assert info.value.body_excerpt.startswith("<html>Bad gateway")
    assert len(info.value.body_excerpt) == 500


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, TelnyxValidationError),
        (401, TelnyxAuthError),
        (403, TelnyxAuthError),
        (404, TelnyxNotFound),
        (409, TelnyxError),
        (503, TelnyxServerError),
    ],
)
def test_status_maps_to_error_class(make_client: Any, status: int, cls: type[TelnyxError]) -> None:
    client, _ = make_client(
        httpx.Response(status, json={"errors": [{"code": "1", "title": "t"}]}), max_retries=0
    )
    with pytest.raises(cls) as info:
        client.assistants.list()
    assert type(info.value) is cls


# --- rate limits ----------------------------------------------------------------------------------
def test_429_dials_per_second_vs_generic(make_client: Any) -> None:
    client, _ = make_client(rate_limited("90103", **{"Retry-After": "2"}), max_retries=0)
    with pytest.raises(TelnyxRateLimited) as dps:
        client.calls.dial({**DIAL, "command_id": "a-1"})
    assert dps.value.is_dial_rate_limit
    assert dps.value.retry_after == 2.0

    client, _ = make_client(rate_limited("10011", **{"x-ratelimit-reset": "7"}), max_retries=0)
    with pytest.raises(TelnyxRateLimited) as generic:
        client.assistants.list()
    assert not generic.value.is_dial_rate_limit
    assert generic.value.code == "10011"
    assert generic.value.retry_after == 7.0


def test_429_reset_as_unix_time_becomes_a_delay(make_client: Any) -> None:
    # wall_clock is pinned at 1_700_000_000 by the fixture
    client, _ = make_client(rate_limited("10011", **{"x-ratelimit-reset": "1700000003"}), max_retries=0)
    with pytest.raises(TelnyxRateLimited) as info:
        client.assistants.list()
    assert info.value.retry_after == pytest.approx(3.0)


def test_429_retry_waits_at_least_the_hint(make_client: Any, clock: FakeClock) -> None:
    client, script = make_client(rate_limited("90103", **{"Retry-After": "1.5"}), ok(CALL))
    call = client.calls.dial({**DIAL, "command_id": "a-1"})
    assert call.call_control_id == "v3:abc"
    assert len(script.requests) == 2
    assert clock.sleeps == [1.5]


# --- retries ----------------------------------------------------------------------------------------
def test_5xx_is_retried_then_succeeds(make_client: Any, clock: FakeClock) -> None:
    client, script = make_client(
        httpx.Response(503, json={"errors": [{"code": "0", "title": "unavailable"}]}),
        httpx.Response(500, text="oops"),
        ok({"data": []}),
        retry_base_delay=0.25,
    )
    assert client.assistants.list() == []
    assert len(script.requests) == 3
    # full jitter pinned to its ceiling: 0.25 * 2**0, 0.25 * 2**1
    assert clock.sleeps == [0.25, 0.5]


def test_retries_are_bounded(make_client: Any) -> None:
    client, script = make_client(httpx.Response(500, text="down"), max_retries=2)
    with pytest.raises(TelnyxServerError):
        client.assistants.list()
    assert len(script.requests) == 3


def test_timeout_maps_to_telnyx_timeout_and_is_retried_for_reads(make_client: Any) -> None:
    client, script = make_client(httpx.ReadTimeout("slow"), ok({"data": []}))
    assert client.assistants.list() == []
    assert len(script.requests) == 2

    client, _ = make_client(httpx.ReadTimeout("slow"), max_retries=0)
    with pytest.raises(TelnyxTimeout) as info:
        client.calls.retrieve("v3:abc")
    assert isinstance(info.value.__cause__, httpx.ReadTimeout)
    assert info.value.status is None


def test_connection_error_maps(make_client: Any) -> None:
    client, _ = make_client(httpx.ConnectError("refused"), max_retries=0)
    with pytest.raises(TelnyxConnectionError):
        client.assistants.list()


def test_per_call_timeout_reaches_httpx(make_client: Any) -> None:
    client, script = make_client(ok({"data": []}))
    client.assistants.list(timeout=0.7)
    assert script.requests[0].extensions["timeout"]["read"] == pytest.approx(0.7)


def test_retry_never_sleeps_past_the_deadline(make_client: Any, clock: FakeClock) -> None:
    # GIVEN a Lambda with 1 s left and a server asking for 5 s
    client, script = make_client(rate_limited("10011", **{"Retry-After": "5"}), ok({"data": []}))
    # WHEN a retry-safe read is rate limited
    with pytest.raises(TelnyxRateLimited):
        client.assistants.list(deadline=client.deadline_in(1.0))
    # THEN it gives up at once, with the hint for the caller, instead of sleeping past the deadline
    assert clock.sleeps == []
    assert len(script.requests) == 1


def test_deadline_caps_the_attempt_timeout(make_client: Any, clock: FakeClock) -> None:
    client, script = make_client(ok({"data": []}), timeout=10.0)
    client.assistants.list(deadline=clock.now + 0.4)
    assert script.requests[0].extensions["timeout"]["read"] == pytest.approx(0.4)


def test_expired_deadline_sends_nothing(make_client: Any, clock: FakeClock) -> None:
    client, script = make_client(ok({"data": []}))
    with pytest.raises(TelnyxTimeout):
        client.assistants.list(deadline=clock.now - 0.01)
    assert script.requests == []


def test_texml_ai_call_is_never_retried(make_client: Any, clock: FakeClock) -> None:
    for failure in (httpx.Response(503, text="busy"), httpx.ReadTimeout("slow"), rate_limited("90103")):
        client, script = make_client(failure, ok({"call_sid": "v3:x"}), max_retries=5)
        with pytest.raises(TelnyxError):
            client.texml.ai_call("texml-app-1", TEXML)
        assert len(script.requests) == 1
    assert clock.sleeps == []


def test_dial_with_command_id_is_retried(make_client: Any) -> None:
    client, script = make_client(httpx.ReadTimeout("slow"), httpx.Response(503, text="x"), ok(CALL))
    call = client.calls.dial({**DIAL, "command_id": "attempt-42"})
    assert call.call_control_id == "v3:abc"
    # every attempt carries the same command_id, so Telnyx places at most one call
    assert [b["command_id"] for b in script.bodies()] == ["attempt-42"] * 3


def test_dial_without_command_id_is_not_retried(make_client: Any) -> None:
    client, script = make_client(httpx.Response(503, text="x"), ok(CALL))
    with pytest.raises(TelnyxServerError):
        client.calls.dial(DIAL)
    assert len(script.requests) == 1


def test_creates_are_not_retried(make_client: Any) -> None:
    client, script = make_client(httpx.Response(500, text="x"), ok({"id": "a"}))
    with pytest.raises(TelnyxServerError):
        client.assistants.create({"name": "n", "instructions": "i"})
    assert len(script.requests) == 1

    client, script = make_client(httpx.Response(500, text="x"), ok({"scheduled_event_id": "e"}))
    with pytest.raises(TelnyxServerError):
        client.assistants.scheduled_events.create(
            "a",
            {
                "telnyx_conversation_channel": "phone_call",
                "telnyx_end_user_target": "+15550000200",
                "telnyx_agent_target": "+15550000100",
                "scheduled_at_fixed_datetime": "2026-12-01T15:00:00Z",
            },
        )
    assert len(script.requests) == 1


def test_hangup_retries_with_one_generated_command_id(make_client: Any) -> None:
    client, script = make_client(httpx.ReadTimeout("slow"), ok())
    assert client.calls.hangup("v3:abc").result == "ok"
    ids = [b["command_id"] for b in script.bodies()]
    assert len(ids) == 2
    assert ids[0] == ids[1]


# --- wire details -------------------------------------------------------------------------------------
def test_hangup_on_ended_call_is_success(make_client: Any) -> None:
    ended = {"errors": [{"code": "90018", "title": "Call has already ended"}]}
    client, _ = make_client(httpx.Response(422, json=ended))
    assert client.calls.hangup("v3:abc").result == ALREADY_ENDED


def test_other_hangup_errors_still_raise(make_client: Any) -> None:
    client, _ = make_client(httpx.Response(422, json={"errors": [{"code": "90015", "title": "Invalid"}]}))
    with pytest.raises(TelnyxValidationError):
        client.calls.hangup("v3:abc")


def test_client_state_is_base64_encoded(make_client: Any) -> None:
    client, script = make_client(ok(CALL))
    client.calls.dial({**DIAL, "client_state": {"lead_id": "lead_1", "attempt": 1}})
    sent = script.bodies()[0]["client_state"]
    assert json.loads(base64.b64decode(sent)) == {"attempt": 1, "lead_id": "lead_1"}

    client, script = make_client(ok())
    client.calls.hangup("v3:abc", client_state=b"\x00raw")
    assert base64.b64decode(script.bodies()[0]["client_state"]) == b"\x00raw"


def test_auth_header_base_url_and_paths(make_client: Any) -> None:
    client, script = make_client(ok({"data": {"result": "ok"}}))
    client.calls.transfer("v3:abc/def", {"to": "+15550000300"})
    request = script.requests[0]
    assert request.headers["authorization"] == "Bearer KEY_TEST"
    assert request.url.raw_path.decode() == "/v2/calls/v3:abc%2Fdef/actions/transfer"
    assert request.url.host == "api.telnyx.com"


def test_update_sends_only_set_fields(make_client: Any) -> None:
    client, script = make_client(ok({"id": "a"}))
    client.assistants.update(
        "a", {"greeting": "Hi", "telephony_settings": {"time_limit_secs": 600}}, promote_to_main=False
    )
    assert script.requests[0].method == "POST"
    assert script.bodies()[0] == {
        "greeting": "Hi",
        "telephony_settings": {"time_limit_secs": 600},
        "promote_to_main": False,
    }


def test_texml_body_is_pascal_case_and_unwrapped_response(make_client: Any) -> None:
    client, script = make_client(ok({"call_sid": "v3:x", "from": "+1", "status": "queued", "to": "+2"}))
    result = client.texml.ai_call(
        "app-1",
        {**TEXML, "AIAssistantDynamicVariables": {"attempt": 2, "vip": True}, "machine_detection": "Enable"},
    )
    assert result.call_sid == "v3:x"
    assert result.from_ == "+1"
    assert script.bodies()[0] == {
        **TEXML,
        "AIAssistantDynamicVariables": {"attempt": "2", "vip": "true"},
        "MachineDetection": "Enable",
    }


def test_conversation_filters_are_postgrest_strings(make_client: Any) -> None:
    client, script = make_client(ok({"data": [{"id": "c1", "metadata": {"call_control_id": "v3:abc"}}]}))
    conversations = client.conversations.list(call_control_id="v3:abc", limit=1, order="created_at.desc")
    assert conversations[0].id == "c1"
    params = dict(script.requests[0].url.params)
    assert params == {"metadata->call_control_id": "eq.v3:abc", "limit": "1", "order": "created_at.desc"}


def test_pagination_walks_every_page(make_client: Any) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page[number]"])
        meta = {"page_number": number, "page_size": 2, "total_pages": 3, "total_results": 5}
        items = [{"role": "user", "text": f"m{number}-{i}"} for i in range(2 if number < 3 else 1)]
        return httpx.Response(200, json={"data": items, "meta": meta})

    client, script = make_client(page)
    texts = [m.text for m in client.conversations.iter_messages("c1", page_size=2)]
    assert texts == ["m1-0", "m1-1", "m2-0", "m2-1", "m3-0"]
    assert [r.url.params["page[size]"] for r in script.requests] == ["2", "2", "2"]


def test_pagination_stops_on_stale_page_number(make_client: Any) -> None:
    stale = {"data": [{"id": "p"}], "meta": {"page_number": 1, "total_pages": 2}}
    client, script = make_client(ok(stale))
    assert len(list(client.phone_numbers.iter_all())) == 2
    assert len(script.requests) == 2


def test_responses_tolerate_unknown_keys_and_nulls(make_client: Any) -> None:
    body = {
        "data": {
            "call_control_id": "v3:abc",
            "call_leg_id": None,
            "call_session_id": None,
            "is_alive": None,
            "record_type": "call",
            "client_state": None,
            "brand_new_field": {"nested": [1, 2]},
        }
    }
    client, _ = make_client(ok(body))
    call = client.calls.retrieve("v3:abc")
    assert call.call_control_id == "v3:abc"
    assert call.client_state is None
    assert call.model_extra == {"brand_new_field": {"nested": [1, 2]}}


def test_delete_version_accepts_204(make_client: Any) -> None:
    client, _ = make_client(httpx.Response(204))
    assert client.assistants.versions.delete("a", "v") is None
