"""A call's ``client_state`` only *names* an attempt: when the call record carries no link (the
dialer died after its POST, or a webhook beat its write), the event processor acts on the
attempt it names only if our own record confirms it. A client_state naming another campaign,
a call from a number the attempt was not dialled from, or a second call claiming an attempt
another call already holds (a forged or stale client_state) must neither link nor settle it;
the attempt's own call still does.

Each call's webhooks are applied on their own (the wrong call's first), so what each one did to
the attempt and its lead can be seen apart.
"""

from __future__ import annotations

import contextlib
from typing import Any

from tests.integration.dialing.conftest import CALLER_IDS, Harness

NO_ANSWER = {"scenario_mix": {"no_answer": 1.0}}
RETRY = {"max_attempts": 3}


class _DiedAfterPost(Exception):
    """The dialer's process died right after Telnyx accepted its POST (before its own write)."""


class DiesAfterPost:
    """The tenant's Telnyx accounts, whose dialer dies right after each dial Telnyx accepted."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls = self
        self.texml = client.texml
        self.placed: list[str] = []

    def client_for(self, tenant_id: str) -> Any:
        return self

    def dial(self, body: Any, **kwargs: Any) -> Any:
        call = self.client.calls.dial(body, **kwargs)
        self.placed.append(str(call.call_control_id))
        raise _DiedAfterPost(str(body["command_id"]))


def dial_one(h: Harness, telnyx: Any = None) -> None:
    """One dispatcher tick and its one dial job, handled once by a dialer (one that may die)."""
    from dialer.services.dialer import DialJob

    h.dispatcher().tick()
    got = h.sqs.receive_message(QueueUrl=h.dials_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    messages = got.get("Messages", [])
    assert len(messages) == 1, messages
    with contextlib.suppress(_DiedAfterPost):
        h.dialer(telnyx=telnyx).handle(DialJob.from_json(messages[0]["Body"]))
    h.sqs.delete_message(QueueUrl=h.dials_url, ReceiptHandle=messages[0]["ReceiptHandle"])


def place(h: Harness, to: str, *, from_: str, state: dict[str, Any]) -> str:
    """A call placed with a client_state of our own making (to our tenant's webhook route)."""
    call = h.telnyx.client.calls.dial(
        {
            "connection_id": "conn-1",
            "to": to,
            "from": from_,
            "client_state": state,
            "webhook_url": f"{h.receiver.url.rstrip('/')}/webhooks/telnyx/{h.tenant}",
        }
    )
    return str(call.call_control_id)


def deliver(h: Harness, call_control_id: str) -> int:
    """Apply, once every call has played out, the webhooks of one call only."""
    assert h.sim.wait_idle(20)
    applied = 0
    for item in h.receiver.items():
        if not item.verified or not 200 <= item.status < 300 or item.is_form:
            continue
        data = item.json().get("data")
        if not isinstance(data, dict) or data.get("payload", {}).get("call_control_id") != call_control_id:
            continue
        h.process(item)
        applied += 1
    assert applied, f"no webhook of {call_control_id} arrived"
    return applied


def attempt_of(h: Harness, lead_id: str) -> Any:
    attempt = h.dialing.get_attempt(h.tenant, lead_id, 1)
    assert attempt is not None
    return attempt


def lead_of(h: Harness, campaign_id: str) -> dict[str, Any]:
    (lead,) = h.leads(campaign_id)
    return lead


def assert_untouched_by(h: Harness, campaign_id: str, lead_id: str, call_control_id: str) -> None:
    """The wrong call was not linked to the attempt, and its end did not settle the lead."""
    attempt = attempt_of(h, lead_id)
    assert attempt.call_control_id != call_control_id, attempt
    assert attempt.state.value in ("posting", "accepted"), attempt
    lead = lead_of(h, campaign_id)
    assert lead["status"] == "dialing", lead
    assert int(lead.get("attempts", 0)) == 0, lead
    call = h.calls.get_call_item(h.tenant, call_control_id) or {}
    assert call.get("state") == "ended", call  # its webhooks were applied to its record
    assert call.get("attempt_n") is None, call


def assert_settled_by(h: Harness, campaign_id: str, lead_id: str, call_control_id: str) -> None:
    """The attempt's own call linked it, and its end settled the lead (one attempt counted)."""
    attempt = attempt_of(h, lead_id)
    assert attempt.call_control_id == call_control_id, attempt
    assert attempt.state.value == "ended", attempt
    assert attempt.outcome == "no_answer", attempt
    lead = lead_of(h, campaign_id)
    assert lead["status"] == "pending", lead
    assert int(lead["attempts"]) == 1, lead
    assert lead["last_outcome"] == "no_answer", lead


def died_after_post(h: Harness, campaign_id: str) -> tuple[dict[str, Any], Any, str]:
    """The campaign's one lead dialled by a dialer that died after Telnyx accepted the call:
    (lead, its attempt still ``posting`` and unlinked, the real call's id)."""
    telnyx = DiesAfterPost(h.telnyx.client)
    dial_one(h, telnyx)
    (real,) = telnyx.placed
    lead = lead_of(h, campaign_id)
    attempt = attempt_of(h, lead["lead_id"])
    assert attempt.state.value == "posting", attempt
    assert attempt.call_control_id is None, attempt
    assert attempt.from_number, attempt
    return lead, attempt, real


def forged_then_real(
    h: Harness,
    campaign_id: str,
    lead: dict[str, Any],
    real: str,
    *,
    from_: str,
    state: dict[str, Any],
    linked: str | None = None,
) -> str:
    """A call to the lead from ``from_`` with ``state`` as its client_state ends first: it neither
    links the attempt (which stays linked to ``linked``) nor settles the lead. Then the attempt's
    own call (``real``) settles it. Returns the forged call's id."""
    forged = place(h, lead["phone"], from_=from_, state=state)
    assert forged != real
    deliver(h, forged)
    assert_untouched_by(h, campaign_id, lead["lead_id"], forged)
    assert attempt_of(h, lead["lead_id"]).call_control_id == linked
    deliver(h, real)
    assert_settled_by(h, campaign_id, lead["lead_id"], real)
    return forged


def test_a_client_state_naming_another_campaign_neither_links_nor_settles_the_attempt(
    make_harness: Any,
) -> None:
    # GIVEN a lead whose dialer died after Telnyx accepted its call (the attempt is unlinked)
    h: Harness = make_harness(**NO_ANSWER)
    campaign_id = h.campaign(1, retry=RETRY)
    lead, attempt, real = died_after_post(h, campaign_id)
    # AND another campaign of the same tenant
    other_campaign = h.campaign(1, start=1, status="draft", retry=RETRY)

    # WHEN a call from the attempt's number, whose client_state names that lead and attempt but
    # the other campaign, ends first, THEN it neither links the attempt nor settles the lead; the
    # attempt's own call, applied next, does both
    forged_then_real(
        h,
        campaign_id,
        lead,
        real,
        from_=str(attempt.from_number),
        state={"t": h.tenant, "c": other_campaign, "l": lead["lead_id"], "n": 1},
    )


def test_a_call_from_another_number_than_the_attempts_neither_links_nor_settles_it(
    make_harness: Any,
) -> None:
    # GIVEN a lead whose dialer died after Telnyx accepted its call (the attempt is unlinked)
    h: Harness = make_harness(**NO_ANSWER)
    campaign_id = h.campaign(1, retry=RETRY)
    lead, attempt, real = died_after_post(h, campaign_id)

    # WHEN a call whose client_state names exactly that attempt, but placed from another of the
    # tenant's caller IDs than the one the attempt was dialled from, ends first, THEN it neither
    # links the attempt nor settles the lead; the attempt's own call, applied next, does both
    other_number = next(n for _, n in CALLER_IDS if n != attempt.from_number)
    forged_then_real(
        h,
        campaign_id,
        lead,
        real,
        from_=other_number,
        state={"t": h.tenant, "c": campaign_id, "l": lead["lead_id"], "n": 1},
    )


def test_a_second_call_claiming_an_attempt_another_call_holds_does_not_settle_it(
    make_harness: Any,
) -> None:
    # GIVEN a lead dialled, its attempt accepted and linked to its call by the dialer
    h: Harness = make_harness(**NO_ANSWER)
    campaign_id = h.campaign(1, retry=RETRY)
    dial_one(h)
    lead = lead_of(h, campaign_id)
    attempt = attempt_of(h, lead["lead_id"])
    assert attempt.state.value == "accepted", attempt
    assert attempt.call_control_id, attempt
    real = str(attempt.call_control_id)

    # WHEN a second call with the very same client_state and caller ID (a stale or forged
    # copy) ends before the attempt's own call is heard of, THEN the attempt stays with its own
    # call and the other one does not settle the lead; the attempt's own call then settles it
    forged_then_real(
        h,
        campaign_id,
        lead,
        real,
        from_=str(attempt.from_number),
        state={"t": h.tenant, "c": campaign_id, "l": lead["lead_id"], "n": 1},
        linked=real,
    )


def test_a_client_state_naming_another_tenant_neither_links_nor_settles_the_attempt(
    make_harness: Any,
) -> None:
    # GIVEN a lead whose dialer died after Telnyx accepted its call (the attempt is unlinked)
    h: Harness = make_harness(**NO_ANSWER)
    campaign_id = h.campaign(1, retry=RETRY)
    lead, attempt, real = died_after_post(h, campaign_id)

    # WHEN a call on this tenant's webhook route, whose client_state names that campaign, lead
    # and attempt but another tenant, ends first, THEN it neither links the attempt nor settles
    # the lead; the attempt's own call, applied next, does both
    forged_then_real(
        h,
        campaign_id,
        lead,
        real,
        from_=str(attempt.from_number),
        state={"t": f"{h.tenant}-other", "c": campaign_id, "l": lead["lead_id"], "n": 1},
    )
