"""What the simulator emits checked by peers nobody on the team wrote.

* every event type validates with the ``telnyx`` SDK's pydantic models and passes the SDK's
  signed ``webhooks.unwrap`` (WIRE §10.2);
* events and REST answers validate against the Telnyx OpenAPI spec's JSON Schemas;
* the SDK client itself talks to the simulator and parses what it gets.

The oracles (the ``telnyx`` SDK, ``jsonschema``) and the spec are required: when one is missing the
suite FAILS with what to install or where the spec should be, rather than skipping. A conformance
suite that silently skips proves nothing. The spec is found exactly as the Prism suite finds it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from local.simulator import AccountConfig
from local.simulator.testing import dial_body, events_for, types_of
from tests.support.telnyx_fixtures import load_openapi_spec

try:
    import jsonschema
    import referencing
    import referencing.jsonschema
    import telnyx
except ImportError as exc:  # pragma: no cover - the point is the message
    pytest.fail(
        f"{exc.name} is missing: the simulator conformance suite needs its oracles "
        "(pip install -r requirements/dev.txt)",
        pytrace=False,
    )

SCENARIOS = {
    "+15550006001": "human",
    "+15550006002": "voicemail",
    "+15550006003": "start_failed",
    "+15550006004": "busy",
    "+15550006005": "no_answer",
    "+15550006006": "invalid_number",
    "+15550006007": "failed",
    "+15550006008": "voicemail",
}
EXPECTED_TYPES = {
    "call.initiated",
    "call.answered",
    "call.hangup",
    "call.cost",
    "call.conversation.created",
    "call.conversation.ended",
    "call.conversation.start_failed",
    "call.conversation_insights.generated",
    "call.machine.premium.detection.ended",
    "call.machine.premium.greeting.ended",
    "call.machine.detection.ended",
    "call.machine.greeting.ended",
}
# Keys the SDK models do not declare but real traffic carries (WIRE §7.1).
UNDOCUMENTED = {
    "$.meta",
    "$.data.payload.calling_party_type",
    "$.data.payload.from_sip_uri",
    "$.data.payload.to_sip_uri",
    "$.data.payload.codec",
    "$.data.payload.sampling_rate",
}


def _model_name(event_type: str) -> str:
    words = event_type.replace("_", ".").split(".")
    return "".join(w.capitalize() for w in words) + "WebhookEvent"


def _undeclared(model: BaseModel, path: str = "$") -> set[str]:
    """Keys the model accepted without declaring them (extra="allow"), recursively."""
    found = {f"{path}.{k}" for k in (model.model_extra or {})}
    for name in type(model).model_fields:
        value = getattr(model, name, None)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, BaseModel):
                found |= _undeclared(item, f"{path}.{name}")
    return found


@pytest.fixture(scope="module")
def spec(pytestconfig: pytest.Config) -> dict[str, Any]:
    cache = getattr(pytestconfig, "cache", None)  # absent under -p no:cacheprovider
    return load_openapi_spec(cache.mkdir("telnyx-openapi") if cache is not None else None)


@pytest.fixture(scope="module")
def validator(spec):
    resource = referencing.Resource.from_contents(
        spec, default_specification=referencing.jsonschema.DRAFT202012
    )
    registry = referencing.Registry().with_resource("urn:telnyx", resource)

    def validate(instance: Any, pointer: str) -> None:
        schema = {"$ref": f"urn:telnyx#{pointer}"}
        jsonschema.Draft202012Validator(schema, registry=registry).validate(instance)

    return validate


@pytest.fixture
def played(make_sim, receiver):
    """Every event type the simulator emits, from one run (Call Control)."""
    sim = make_sim(number_scenarios=SCENARIOS)
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {sim.api_key}"}) as api:
        aid = api.post("/ai/assistants", json={"name": "A", "instructions": "i", "greeting": "Hi"}).json()[
            "id"
        ]
        for to in SCENARIOS:
            amd = "detect_beep" if to == "+15550006008" else "premium"
            api.post("/calls", json=dial_body(to, assistant={"id": aid}, answering_machine_detection=amd))
    assert sim.wait_idle(10)
    return sim, receiver.items()


def test_every_event_type_validates_with_the_sdk_models_and_unwraps(played):
    sim, items = played
    seen = set()
    client = telnyx.Telnyx(api_key="KEY_A", base_url=sim.base_url, max_retries=0)
    for item in items:
        doc = json.loads(item.body)
        event_type = doc["data"]["event_type"]
        seen.add(event_type)
        model = getattr(telnyx.types, _model_name(event_type))
        parsed = model.model_validate(doc)
        assert parsed.data.event_type == event_type
        assert _undeclared(parsed) <= UNDOCUMENTED, event_type
        unwrapped = client.webhooks.unwrap(item.body.decode(), headers=item.headers, key=sim.public_key_b64)
        assert type(unwrapped).__name__ == _model_name(event_type)
    assert seen == EXPECTED_TYPES


def test_documented_events_validate_against_the_spec_schemas(played, spec, validator):
    _, items = played
    checked = 0
    for item in items:
        doc = json.loads(item.body)
        name = _model_name(doc["data"]["event_type"]).replace("WebhookEvent", "Event")
        if name in spec["components"]["schemas"]:
            validator(doc, f"/components/schemas/{name}")
            checked += 1
    assert checked >= 6


def test_rest_answers_validate_against_the_spec(api, sim, spec, validator):
    def check(response: httpx.Response, path: str, method: str, status: str) -> None:
        assert response.status_code == int(status), response.text
        documented = spec["paths"][path][method]["responses"][status]
        if "$ref" in documented:  # a shared response (e.g. the 422 of Call Control)
            pointer = documented["$ref"].split("#", 1)[1]
        else:
            pointer = "/paths/" + path.replace("~", "~0").replace("/", "~1") + f"/{method}/responses/{status}"
        validator(response.json(), pointer + "/content/application~1json/schema")

    assistant = api.post("/ai/assistants", json={"name": "A", "instructions": "i"})
    check(assistant, "/ai/assistants", "post", "200")
    aid = assistant.json()["id"]
    check(api.get("/ai/assistants"), "/ai/assistants", "get", "200")
    check(
        api.post(
            f"/ai/assistants/{aid}/scheduled_events",
            json={
                "telnyx_conversation_channel": "phone_call",
                "telnyx_agent_target": "+15550000100",
                "telnyx_end_user_target": "+15550000200",
                "scheduled_at_fixed_datetime": "2099-01-01T00:00:00Z",
            },
        ),
        "/ai/assistants/{assistant_id}/scheduled_events",
        "post",
        "201",
    )
    check(
        api.get(f"/ai/assistants/{aid}/scheduled_events"),
        "/ai/assistants/{assistant_id}/scheduled_events",
        "get",
        "200",
    )
    dialled = api.post("/calls", json=dial_body("+15550006101"))
    check(dialled, "/calls", "post", "200")
    ccid = dialled.json()["data"]["call_control_id"]
    check(api.get(f"/calls/{ccid}"), "/calls/{call_control_id}", "get", "200")
    check(api.post("/calls", json={"to": "+15550006101"}), "/calls", "post", "422")
    app_id = assistant.json()["telephony_settings"]["default_texml_app_id"]
    check(
        api.post(
            f"/texml/ai_calls/{app_id}",
            json={"From": "+15550000100", "To": "+15550006102", "AIAssistantId": aid},
        ),
        "/texml/ai_calls/{connection_id}",
        "post",
        "200",
    )
    check(api.get("/ai/conversations"), "/ai/conversations", "get", "200")
    check(
        api.post("/ai/conversations/insights", json={"name": "n", "instructions": "i"}),
        "/ai/conversations/insights",
        "post",
        "200",
    )
    check(
        api.post("/ai/conversations/insight-groups", json={"name": "g"}),
        "/ai/conversations/insight-groups",
        "post",
        "200",
    )
    check(api.get("/phone_numbers"), "/phone_numbers", "get", "200")
    check(api.post("/ai/assistants", json={"name": "x"}), "/ai/assistants", "post", "422")


def test_the_sdk_client_works_against_the_simulator(sim):
    # GIVEN the official SDK pointed at the simulator (no retries: we want to see every answer)
    client = telnyx.Telnyx(api_key=sim.api_key, base_url=sim.base_url, max_retries=0)
    # WHEN it drives the main flows, THEN its response models parse what we return
    assistant = client.ai.assistants.create(
        name="SDK", instructions="Be brief.", model="moonshotai/Kimi-K2.6"
    )
    assert assistant.id.startswith("assistant-")
    event = client.ai.assistants.scheduled_events.create(
        assistant.id,
        telnyx_conversation_channel="phone_call",
        telnyx_agent_target="+15550000100",
        telnyx_end_user_target="+15550000200",
        scheduled_at_fixed_datetime="2099-01-01T00:00:00Z",
    )
    assert event.scheduled_event_id
    dialled = client.calls.dial(
        connection_id="1",
        to="+15550006201",
        from_="+15550000100",
        assistant={"id": assistant.id},
        command_id="sdk-1",
    )
    assert dialled.data.call_control_id.startswith("v3:")
    status = client.calls.retrieve_status(dialled.data.call_control_id)
    assert status.data.is_alive is True
    texml = client.texml.initiate_ai_call(
        assistant.telephony_settings.default_texml_app_id,
        ai_assistant_id=assistant.id,
        from_="+15550000100",
        to="+15550006202",
    )
    assert texml.call_sid.startswith("v3:")
    assert client.calls.actions.hangup(dialled.data.call_control_id).data.result == "ok"
    assert isinstance(client.ai.conversations.list().data, list)
    with pytest.raises(telnyx.UnprocessableEntityError):
        client.calls.dial(connection_id="1", to="not-a-number", from_="+15550000100")
    with pytest.raises(telnyx.AuthenticationError):
        telnyx.Telnyx(api_key="wrong", base_url=sim.base_url, max_retries=0).ai.assistants.list()


def test_a_spoken_message_lands_in_the_mailbox_and_its_events_match_the_spec(
    make_sim, receiver, validator
) -> None:
    """Voicemail drop's simulator side: speak after the greeting is recorded word for word (and
    its events validate against the spec); a mailbox nobody speaks into records nothing; greetings
    come in several lengths, with and without a beep."""
    numbers = {f"+1555000{7000 + i}": "voicemail" for i in range(24)}
    account = AccountConfig(api_key="KEY_A", webhook_url=receiver.url + "/a", channel_limit=len(numbers))
    sim = make_sim(accounts=(account,), number_scenarios=numbers, time_scale=0.02)
    message = "Hello, this is Ava from Acme. Please call us back at 555 000 0100."
    spoken: set[str] = set()
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {sim.api_key}"}) as api:
        ids = [
            api.post("/calls", json=dial_body(to, answering_machine_detection="premium")).json()["data"][
                "call_control_id"
            ]
            for to in numbers
        ]
        speakers = set(ids[:3])
        deadline = time.monotonic() + 30
        while len(spoken) < len(speakers) and time.monotonic() < deadline:
            for ccid in speakers - spoken:
                if "call.machine.premium.greeting.ended" in types_of(events_for(receiver, ccid)):
                    answer = api.post(
                        f"/calls/{ccid}/actions/speak",
                        json={"payload": message, "voice": "Telnyx.KokoroTTS.af"},
                    )
                    assert answer.status_code == 200, answer.text
                    spoken.add(ccid)
            time.sleep(0.005)
        missing = api.post(f"/calls/{ids[0]}/actions/speak", json={"voice": "Telnyx.KokoroTTS.af"})
        assert missing.status_code in (422,), missing.text  # payload is required (or the call ended)
    assert spoken == speakers
    assert sim.wait_idle(30)
    boxes = {m["call_control_id"]: m for m in sim.mailboxes()["mailboxes"]}
    for ccid in speakers:
        assert boxes[ccid]["heard"] == [message], boxes[ccid]
        assert boxes[ccid]["complete"], boxes[ccid]
        kinds = types_of(events_for(receiver, ccid))
        assert (
            kinds.index("call.speak.started") < kinds.index("call.speak.ended") < kinds.index("call.hangup")
        )
        for event in events_for(receiver, ccid):
            name = _model_name(event["data"]["event_type"]).replace("WebhookEvent", "Event")
            if event["data"]["event_type"].startswith("call.speak."):
                validator(event, f"/components/schemas/{name}")
    for ccid in set(ids) - speakers:
        assert boxes[ccid]["heard"] == []
        assert not boxes[ccid]["complete"]
    lengths = {round(m["greeting_seconds"] / 4) for m in boxes.values()}
    assert len(lengths) >= 3, lengths  # short, medium and long greetings
    assert {m["beep"] for m in boxes.values()} == {True, False}


def test_number_reputation_answers_validate_against_the_spec(make_sim, validator) -> None:
    """The reputation list (paged), one number, and an enterprise without reputation, in the
    spec's shapes; the account's ``spam_risk`` knob is what the list says."""
    enterprise = "4a6192a4-573d-446d-b3ce-aff9117272a6"
    risks = {"+15550000100": "high", "+15550000101": "low", "+15550000102": None}
    account = AccountConfig(api_key="KEY_A", spam_risk=risks, reputation_enterprise_id=enterprise)
    sim = make_sim(accounts=(account,))
    base = f"/enterprises/{enterprise}/reputation/numbers"
    responses = "/paths/" + base.replace("/", "~1").replace(enterprise, "{enterprise_id}") + "/get/responses"
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {sim.api_key}"}) as api:
        first = api.get(base, params={"page[number]": 1, "page[size]": 2})
        second = api.get(base, params={"page[number]": 2, "page[size]": 2})
        one = api.get(f"{base}/%2B15550000100")
        other = api.get("/enterprises/00000000-0000-4000-8000-000000000000/reputation/numbers")
    for page in (first, second):
        assert page.status_code == 200, page.text
        validator(page.json(), responses + "/200/content/application~1json/schema")
    assert first.json()["meta"] == {"page_number": 1, "page_size": 2, "total_pages": 2, "total_results": 3}
    listed = {
        n["phone_number"]: n.get("reputation_data") for n in first.json()["data"] + second.json()["data"]
    }
    assert {n: (d or {}).get("spam_risk") for n, d in listed.items()} == risks
    assert listed["+15550000102"] is None  # registered, no data collected yet
    assert one.status_code == 200, one.text
    validator(
        one.json(),
        responses.replace("~1numbers/", "~1numbers~1{phone_number}/")
        + "/200/content/application~1json/schema",
    )
    assert one.json()["data"]["reputation_data"]["spam_risk"] == "high"
    assert other.status_code == 404
    validator(other.json(), "/components/schemas/number-reputation_Errors")
