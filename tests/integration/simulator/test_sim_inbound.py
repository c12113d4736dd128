"""The simulator's inbound calls: a person calls an account number and the assistant behind the
number's TeXML app answers; webhooks, init and tools see the caller as the end user."""

from __future__ import annotations

import json
from typing import Any

import httpx

from local.simulator import Simulator, WebhookReceiver

OUR_NUMBER = "+15550000100"  # an account number by default
CALLER = "+13125550177"


def _assign(sim: Simulator, *, url: str) -> None:
    account = sim.account()
    with account.lock:
        account.assistants["asst-in"] = {
            "id": "asst-in",
            "telephony_settings": {"default_texml_app_id": "texml-in"},
            "dynamic_variables_webhook_url": url,
            "tools": [],
        }
        for number in account.phone_numbers.values():
            if number["phone_number"] == OUR_NUMBER:
                number["connection_id"] = "texml-in"


def test_an_inbound_call_is_incoming_for_the_caller_and_is_not_a_dial(
    sim: Simulator, receiver: WebhookReceiver
) -> None:
    _assign(sim, url=receiver.url + "/init")
    control = httpx.post(
        f"{sim.root_url}/_sim/inbound",
        json={
            "from": CALLER,
            "to": OUR_NUMBER,
            "webhook_url": receiver.url + "/in",
            "disposition": "interested",
        },
    )
    assert control.status_code == 201, control.text
    assert sim.wait_idle(10)
    events: list[dict[str, Any]] = [
        r.json()["data"] for r in receiver.items() if r.path == "/in" and r.verified
    ]
    initiated = next(e for e in events if e["event_type"] == "call.initiated")["payload"]
    assert (initiated["direction"], initiated["from"], initiated["to"]) == ("incoming", CALLER, OUR_NUMBER)
    assert {e["event_type"] for e in events} >= {"call.initiated", "call.answered", "call.hangup"}
    init = next(json.loads(r.body) for r in receiver.items() if r.path == "/init")["data"]["payload"]
    assert (init["telnyx_end_user_target"], init["telnyx_agent_target"]) == (CALLER, OUR_NUMBER)
    assert sim.dials()["count"] == 0
    assert sim.stats()["inbound_calls"] == {CALLER: 1}


def test_a_number_that_is_not_ours_or_not_assigned_is_refused(sim: Simulator) -> None:
    for to in ("+15559999999", OUR_NUMBER):  # not an account number; not assigned to an assistant
        answer = httpx.post(f"{sim.root_url}/_sim/inbound", json={"from": CALLER, "to": to})
        assert answer.status_code == 400, answer.text


def test_outbound_peaks_are_ground_truth_for_the_inbound_reserve(
    sim: Simulator, receiver: WebhookReceiver
) -> None:
    # GIVEN two outbound calls ringing, then a person calling in while they are alive
    _assign(sim, url=receiver.url + "/init")
    account = sim.account()
    with account.lock:
        for to in ("+13125550101", "+13125550102"):
            sim.place_call(
                account, kind="call_control", connection_id="c", from_=OUR_NUMBER, to=to, client_state=None,
                webhook_url=receiver.url + "/out", webhook_urls={}, amd="disabled", assistant=None,
                timeout_secs=30, time_limit=None, texml={},
            )  # fmt: skip
    before = sim.stats()
    sim.place_inbound_call(account, from_=CALLER, to=OUR_NUMBER, webhook_url=receiver.url + "/in")
    # THEN the simulator saw two outbound at most, both alive beside the inbound one
    assert (before["peak_outbound"], before["peak_outbound_with_inbound"]) == (2, 0)
    after = sim.stats()
    assert (after["peak_outbound"], after["peak_outbound_with_inbound"]) == (2, 2)
    assert sim.wait_idle(10)
