"""The simulator sends a conversation's insights both ways, as configured: the call event
(``call.conversation_insights.generated``, ids only) and the insight group's own webhook (top-level
``conversation.insights.completed`` with names and the conversation id), both signed."""

from __future__ import annotations

import httpx
import pytest

from local.simulator import Simulator, WebhookReceiver
from local.simulator.testing import dial_body, events_for, types_of

HUMAN = "+15550001001"


def _group_with_webhook(client: httpx.Client, url: str) -> tuple[str, dict[str, str]]:
    group = client.post("/ai/conversations/insight-groups", json={"name": "g", "webhook": url}).json()["data"]
    names = {}
    for name, prop in (("disposition", "disposition"), ("summary", "summary")):
        schema = {"type": "object", "properties": {prop: {"type": "string"}}}
        template = client.post(
            "/ai/conversations/insights", json={"name": name, "instructions": name, "json_schema": schema}
        ).json()["data"]
        client.post(f"/ai/conversations/insight-groups/{group['id']}/insights/{template['id']}/assign")
        names[template["id"]] = name
    return group["id"], names


@pytest.mark.parametrize("mode", ["both", "call_event", "group_webhook"])
def test_insights_go_where_configured(make_sim, receiver: WebhookReceiver, mode: str) -> None:
    sim: Simulator = make_sim(number_scenarios={HUMAN: "human"}, insight_delivery=mode)
    with httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {sim.api_key}"}) as client:
        # GIVEN an assistant whose insight group has a webhook URL
        group_id, names = _group_with_webhook(client, receiver.url + "/insights?token=t0k")
        assistant = client.post(
            "/ai/assistants",
            json={"name": "a", "instructions": "i", "insight_settings": {"insight_group_id": group_id}},
        ).json()["id"]
        # WHEN a person answers and the conversation ends
        dialled = client.post("/calls", json=dial_body(HUMAN, assistant={"id": assistant}))
        assert dialled.status_code == 200, dialled.text
        assert sim.wait_idle(10)
    call_control_id = dialled.json()["data"]["call_control_id"]
    events = events_for(receiver, call_control_id)
    conversation_id = next(
        e["data"]["payload"]["conversation_id"]
        for e in events
        if e["data"]["event_type"] == "call.conversation.created"
    )
    group_posts = [r for r in receiver.items() if r.path.startswith("/insights")]
    # THEN the call event is sent unless only the group webhook is wanted
    assert ("call.conversation_insights.generated" in types_of(events)) is (mode != "group_webhook")
    # AND the group webhook is sent unless only the call event is wanted: top-level, signed,
    # to the group's URL (token and all), naming its insights and its conversation
    assert len(group_posts) == (0 if mode == "call_event" else 1)
    for post in group_posts:
        assert post.path == "/insights?token=t0k"
        assert post.verified
        body = post.json()
        assert "data" not in body
        assert body["event_type"] == "conversation.insights.completed"
        assert (body["conversation_id"], body["insight_group_id"]) == (conversation_id, group_id)
        assert {i["insight_id"]: i["insight_name"] for i in body["insights"]} == names
