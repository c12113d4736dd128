"""Channels kept for inbound: with ``inbound_reserve = 2`` of 20 channels, outbound dials never
hold more than 18 slots while inbound calls arrive and leave, and inbound calls hold slots of
their own (the real slot counter on moto, many threads, the real InboundSlots reactions)."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.integration.dialing.conftest import Harness

CHANNELS, RESERVE = 20, 2


def inbound_call(ccid: str, *, ended: bool) -> dict[str, Any]:
    """A stored inbound call item as event processing leaves it (its facts, its direction)."""
    from dialer.domain.calls import facts_from_event, merge_facts

    now = datetime.now(UTC)
    facts = facts_from_event("call.initiated", f"{ccid}-i", now, {"direction": "incoming"})
    if ended:
        hangup = facts_from_event(
            "call.hangup", f"{ccid}-h", now + timedelta(seconds=30), {"hangup_cause": "normal_clearing"}
        )
        facts = list(merge_facts({f.kind: f for f in facts}, hangup).values())
    return {
        "call_control_id": ccid,
        "direction": "incoming",
        "facts": {f.kind.value: f.to_item() for f in facts},
    }


def test_outbound_never_takes_the_reserved_channels_while_inbound_calls_come_and_go(
    make_harness: Any,
) -> None:
    from dialer.services.inbound_slots import InboundSlots

    h: Harness = make_harness()
    assert h.dialing.set_tenant_limits(h.tenant, channel_limit=CHANNELS, inbound_reserve=RESERVE)
    limits = h.dialing.tenant_limits(h.tenant, h.defaults)
    assert (limits.channel_limit, limits.outbound_limit) == (CHANNELS, CHANNELS - RESERVE)
    inbound = InboundSlots(h.dialing, h.clock)
    until = time.time() + 600
    stop = threading.Event()
    lock = threading.Lock()
    held_out: set[str] = set()  # outbound slots held (a subset of what the table holds)
    peaks = {"outbound": 0, "with_inbound": 0}
    granted = [0]
    over: list[int] = []  # outbound slot counts above the grant the watcher saw

    def outbound(worker: int) -> None:
        # A dialer that keeps asking for a slot until the run ends (more of them than channels).
        rng = random.Random(worker)
        i = 0
        while not stop.is_set():
            name = f"outbound:{worker}-{i}"  # the counter is the same whatever holds the lease
            if not h.dialing.acquire_slot(h.tenant, name, limits.outbound_limit, until):
                stop.wait(0.05)
                continue
            i += 1
            with lock:
                held_out.add(name)
                granted[0] += 1
            stop.wait(rng.uniform(0.3, 0.8))
            with lock:
                held_out.discard(name)
            h.dialing.release_slot(h.tenant, name)

    def inbound_caller(worker: int) -> None:
        rng = random.Random(100 + worker)
        for i in range(4):
            ccid = f"v3:inbound-{worker}-{i}"
            assert inbound.after_event(h.tenant, "call.initiated", inbound_call(ccid, ended=False))
            inbound.after_event(h.tenant, "call.answered", inbound_call(ccid, ended=False))  # same slot
            time.sleep(rng.uniform(0.5, 1.5))
            assert inbound.after_event(h.tenant, "call.hangup", inbound_call(ccid, ended=True))

    def watch() -> None:
        while not stop.is_set():
            leases = [name for name, _ in h.dialing.held_slots(h.tenant)]
            out = [n for n in leases if not n.startswith("inbound:")]
            if len(out) > CHANNELS - RESERVE:
                over.append(len(out))
            with lock:
                peaks["outbound"] = max(peaks["outbound"], len(held_out))
                if len(out) < len(leases):
                    peaks["with_inbound"] = max(peaks["with_inbound"], len(leases))
            time.sleep(0.05)

    dialers = [threading.Thread(target=outbound, args=(w,)) for w in range(24)]
    callers = [threading.Thread(target=inbound_caller, args=(w,)) for w in range(3)]
    watcher = threading.Thread(target=watch)
    watcher.start()
    for t in dialers + callers:
        t.start()
    for t in callers:
        t.join()  # the dialers keep asking while every inbound call comes and goes
    stop.set()
    for t in [*dialers, watcher]:
        t.join()
    # THEN the table never held more than 18 outbound slots, whatever inbound did
    assert not over, over
    # ... with real contention (the exact count is pinned by the sequential test below)
    assert peaks["outbound"] >= 12, peaks
    assert granted[0] > 30
    assert peaks["with_inbound"] > 0, peaks  # inbound calls held slots beside outbound ones
    assert h.dialing.slots_in_use(h.tenant) == 0  # every slot given back, inbound ones too


def test_the_grant_counts_inbound_calls_which_are_never_refused(make_harness: Any) -> None:
    from dialer.services.inbound_slots import InboundSlots

    h: Harness = make_harness()
    assert h.dialing.set_tenant_limits(h.tenant, channel_limit=CHANNELS, inbound_reserve=RESERVE)
    limits = h.dialing.tenant_limits(h.tenant, h.defaults)
    inbound = InboundSlots(h.dialing, h.clock)
    until = time.time() + 600
    assert inbound.after_event(h.tenant, "call.initiated", inbound_call("v3:in-1", ended=False))
    granted = 0
    while h.dialing.acquire_slot(h.tenant, f"outbound:{granted}", limits.outbound_limit, until):
        granted += 1
    assert granted == CHANNELS - RESERVE - 1  # the inbound call holds one of the 18
    for ccid in ("v3:in-2", "v3:in-3"):  # a full house still takes inbound calls
        assert inbound.after_event(h.tenant, "call.initiated", inbound_call(ccid, ended=False))
    assert h.dialing.slots_in_use(h.tenant) == CHANNELS
    for ccid in ("v3:in-1", "v3:in-2", "v3:in-3"):
        assert inbound.after_event(h.tenant, "call.hangup", inbound_call(ccid, ended=True))
    assert h.dialing.acquire_slot(h.tenant, "outbound:x", limits.outbound_limit, until)
    assert not h.dialing.acquire_slot(h.tenant, "outbound:y", limits.outbound_limit, until)
    in_use = h.dialing.slots_in_use(h.tenant)
    # A reordered call.initiated arriving after the hangup was applied: the call is over.
    assert inbound.after_event(h.tenant, "call.initiated", inbound_call("v3:late", ended=True)) is None
    # An outbound call's events are the dialer's business.
    outbound = {**inbound_call("v3:out", ended=False), "direction": "outgoing"}
    assert inbound.after_event(h.tenant, "call.initiated", outbound) is None
    assert h.dialing.slots_in_use(h.tenant) == in_use


def test_a_claim_never_takes_a_reserved_channel_an_inbound_call_took_after_the_slots_were_read(
    make_harness: Any,
) -> None:
    """The dispatcher sizes its claims from a read of the slots in use; an inbound call that
    takes a slot between that read and the claim must not push outbound into the reserve: the
    claim's own condition is the outbound limit, not the channel limit."""
    from dialer.services.inbound_slots import InboundSlots

    # GIVEN 4 channels, 2 kept for inbound, and 4 due leads
    h: Harness = make_harness()
    assert h.dialing.set_tenant_limits(h.tenant, channel_limit=4, inbound_reserve=2)
    h.campaign(4)
    dispatcher = h.dispatcher(tick_seconds=1.0)
    # AND an inbound call that arrives after the dispatcher read its free slots (2), before it
    # claims: the campaign read comes in between
    campaigns, inbound = dispatcher.campaigns, InboundSlots(h.dialing, h.clock)
    arrived: list[bool] = []

    class _InboundArrivesMeanwhile:
        def __getattr__(self, name: str) -> Any:
            return getattr(campaigns, name)

        def get_campaign(self, tenant_id: str, campaign_id: str) -> Any:
            if not arrived:
                arrived.append(True)
                assert inbound.after_event(
                    tenant_id, "call.initiated", inbound_call("ccid-in-1", ended=False)
                )
            return campaigns.get_campaign(tenant_id, campaign_id)

    dispatcher.campaigns = _InboundArrivesMeanwhile()

    # WHEN it ticks
    report = dispatcher.tick()

    # THEN it claimed one lead, not two: outbound and the inbound call together hold 2 slots,
    # the outbound limit, and the 2 reserved channels stay free
    assert arrived
    assert report.claimed == 1
    assert h.dialing.slots_in_use(h.tenant) == 2
