"""Envelope parsing: every fixture, the real-capture quirks, TeXML forms, and what is refused."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from telnyx_client.webhooks import (
    TEXML_AMD,
    TEXML_STATUS,
    WebhookFormat,
    WebhookParseError,
    parse_timestamp,
    parse_webhook,
)
from tests.support.signing import fixture_paths, load_fixture

FORM = "application/x-www-form-urlencoded"


@pytest.mark.parametrize("path", fixture_paths(), ids=lambda p: p.stem)
def test_every_fixture_parses_with_its_id_and_type(path):
    doc = json.loads(path.read_text())
    parsed = parse_webhook(path.read_bytes(), "application/json")
    assert parsed.event_id == doc["data"]["id"]
    assert parsed.event_type == doc["data"]["event_type"]
    assert parsed.format is WebhookFormat.JSON
    assert parsed.occurred_at is not None


def test_undocumented_fields_variant_with_null_client_state():
    doc = load_fixture("call.initiated--undocumented_fields")
    assert doc["data"]["payload"]["client_state"] is None
    parsed = parse_webhook(json.dumps(doc).encode(), "application/json")
    assert parsed.event_type == "call.initiated"
    assert parsed.payload["client_state"] is None
    assert parsed.payload["calling_party_type"] == "pstn"
    assert parsed.attempt == doc["meta"]["attempt"]
    assert parsed.call_control_id == doc["data"]["payload"]["call_control_id"]


def test_unknown_event_type_is_parsed_not_refused():
    body = json.dumps(
        {"data": {"id": "x1", "event_type": "call.something.new", "payload": {"a": 1}}}
    ).encode()
    parsed = parse_webhook(body, "application/json")
    assert (parsed.event_id, parsed.event_type) == ("x1", "call.something.new")


def test_top_level_insight_group_webhook_gets_a_content_id():
    doc = {"event_type": "conversation.insights.completed", "conversation_id": "c1", "insights": []}
    first = parse_webhook(json.dumps(doc).encode(), "application/json")
    again = parse_webhook(json.dumps(doc).encode(), "application/json")
    other = parse_webhook(json.dumps({**doc, "conversation_id": "c2"}).encode(), "application/json")
    assert first.event_type == "conversation.insights.completed"
    assert first.event_id == again.event_id != other.event_id


def test_content_type_with_charset_is_still_json_or_form():
    body = urlencode({"CallSid": "v3:abc", "CallStatus": "completed"}).encode()
    assert (
        parse_webhook(body, "application/x-www-form-urlencoded; charset=utf-8").format
        is WebhookFormat.TEXML_FORM
    )


def test_texml_status_callback():
    fields = {
        "AccountSid": "acc",
        "CallSid": "v3:texml-call-1",
        "CallStatus": "no-answer",
        "CallbackSource": "call-progress-events",
        "From": "+15550000100",
        "To": "+15550000200",
        "SequenceNumber": "3",
        "Timestamp": "2026-11-24 15:00:31.731479Z",
    }
    parsed = parse_webhook(urlencode(fields).encode(), FORM)
    assert parsed.format is WebhookFormat.TEXML_FORM
    assert parsed.event_type == TEXML_STATUS
    assert parsed.call_control_id == "v3:texml-call-1"
    assert parsed.occurred_at is not None
    assert parsed.occurred_at.year == 2026
    assert parsed.event_id.startswith("texml-")
    # Field order on the wire does not change the identity of a callback.
    reordered = urlencode(dict(reversed(list(fields.items())))).encode()
    assert parse_webhook(reordered, FORM).event_id == parsed.event_id


def test_texml_amd_callback():
    parsed = parse_webhook(urlencode({"CallSid": "v3:c", "AnsweredBy": "machine_end_beep"}).encode(), FORM)
    assert parsed.event_type == TEXML_AMD


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"garbage", "application/json"),
        (b"", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"just a string"', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"", FORM),
        (b"\xff=\xfe", FORM),
    ],
)
def test_unparseable_bodies_are_refused(body, content_type):
    with pytest.raises(WebhookParseError):
        parse_webhook(body, content_type)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2026-11-24T15:02:04.900000Z", "2026-11-24T15:02:04.900000+00:00"),
        ("2021-04-28 21:51:18.731479Z", "2021-04-28T21:51:18.731479+00:00"),
        ("2026-11-24T15:02:04+01:00", "2026-11-24T15:02:04+01:00"),
        ("2026-11-24T15:02:04", "2026-11-24T15:02:04+00:00"),
    ],
)
def test_timestamps_are_parsed_leniently(text, iso):
    assert parse_timestamp(text).isoformat() == iso


@pytest.mark.parametrize("value", [None, "", "yesterday", 12345])
def test_bad_timestamps_are_none(value):
    assert parse_timestamp(value) is None
